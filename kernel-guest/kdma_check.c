/*
 * kernel-guest/kdma_check.c: the DMA-API checker's sink (Linux's
 * "DMA-API: <driver> <device>: ..." lines and JSON records) and the scan
 * that sees an inline dma_mapping_error() in driver code (the heuristic is
 * described at the top of kapi_dma.c).
 */
#include "kernel-guest/kernel_internal.h"

#include <capstone/capstone.h>
#include <string.h>

#define KDMA_SCAN_INSNS 32
#define KDMA_SCAN_JMPS 4
#define KDMA_SCAN_BYTES 256
#define KDMA_SCAN_SLOTS 8

void kdma_sink(void *opaque, const DmaDbgReport *r)
{
    Kernel *k = opaque;
    const char *driver = "pci", *device = "?";
    char text[1024];

    for (unsigned i = 0; i < k->npci_devices; i++) {
        const KPciDevice *d = &k->pci_devices[i];

        if (d->devfn == r->rid) {
            device = d->name;
            driver = d->driver >= 0 ? k->pci_drivers[d->driver].name : "pci";
        }
    }
    if (dma_debug_format(r, text, sizeof(text)) < 0) {
        snprintf(text, sizeof(text), "%s", dma_debug_error_name((DmaDbgError)r->error));
    }
    kernel_log(k, '3', "DMA-API: %s %s: %s", driver, device, text);
    k->dma.reports_total++;
    if (k->dma.nreports < KDMA_MAX_REPORTS) {
        KDmaReport *s = &k->dma.reports[k->dma.nreports++];

        s->r = *r;
        snprintf(s->driver, sizeof(s->driver), "%.31s", driver);
        snprintf(s->device, sizeof(s->device), "%.15s", device);
    }
}

/* ---- the mapping-error scan ---- */

/* A memory operand the value was stored to. */
typedef struct KDmaSlot {
    unsigned base, index;
    int64_t disp;
    int scale;
} KDmaSlot;

typedef struct KDmaScan {
    uint32_t regs;               /* GPRs (0..15) holding the value */
    uint32_t minus1;             /* GPRs holding -1 */
    KDmaSlot slots[KDMA_SCAN_SLOTS];
    unsigned nslots;
    bool pending_inc;            /* inc/add $1 of the value: a jcc next checks it */
    bool escaped;                /* stored through a pointer the scan cannot
                                  * follow (into the driver's data) */
} KDmaScan;

/* The GPR number (rax=0 .. r15=15) of a 64-bit register, or -1. */
static int kdma_gpr64(unsigned reg)
{
    static const unsigned r64[16] = {
        X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP,
        X86_REG_RSI, X86_REG_RDI, X86_REG_R8, X86_REG_R9, X86_REG_R10, X86_REG_R11,
        X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15,
    };

    for (int i = 0; i < 16; i++) {
        if (r64[i] == reg) {
            return i;
        }
    }
    return -1;
}

/* The GPR a register of any width belongs to, or -1. */
static int kdma_gpr(csh h, unsigned reg)
{
    static const char *const names[16][5] = {
        {"rax", "eax", "ax", "al", "ah"}, {"rcx", "ecx", "cx", "cl", "ch"},
        {"rdx", "edx", "dx", "dl", "dh"}, {"rbx", "ebx", "bx", "bl", "bh"},
        {"rsp", "esp", "sp", "spl", ""}, {"rbp", "ebp", "bp", "bpl", ""},
        {"rsi", "esi", "si", "sil", ""}, {"rdi", "edi", "di", "dil", ""},
        {"r8", "r8d", "r8w", "r8b", ""}, {"r9", "r9d", "r9w", "r9b", ""},
        {"r10", "r10d", "r10w", "r10b", ""}, {"r11", "r11d", "r11w", "r11b", ""},
        {"r12", "r12d", "r12w", "r12b", ""}, {"r13", "r13d", "r13w", "r13b", ""},
        {"r14", "r14d", "r14w", "r14b", ""}, {"r15", "r15d", "r15w", "r15b", ""},
    };
    const char *n = cs_reg_name(h, reg);

    for (int i = 0; n && i < 16; i++) {
        for (int j = 0; j < 5; j++) {
            if (names[i][j][0] && !strcmp(n, names[i][j])) {
                return i;
            }
        }
    }
    return -1;
}

/* The slot a memory operand names; RIP-relative ones by absolute address,
 * so a store and a later load of the same global match. */
static KDmaSlot kdma_slot_of(const cs_insn *insn, const x86_op_mem *m)
{
    KDmaSlot s = {.base = (unsigned)m->base, .index = (unsigned)m->index, .disp = m->disp,
                  .scale = m->scale};

    if (m->base == X86_REG_RIP) {
        s.base = X86_REG_INVALID;
        s.disp = (int64_t)(insn->address + insn->size) + m->disp;
    }
    return s;
}

static bool kdma_slot_eq(const KDmaSlot *a, const KDmaSlot *b)
{
    return a->base == b->base && a->index == b->index && a->disp == b->disp &&
           a->scale == b->scale;
}

static bool kdma_scan_has_slot(const KDmaScan *s, const KDmaSlot *m)
{
    for (unsigned i = 0; i < s->nslots; i++) {
        if (kdma_slot_eq(&s->slots[i], m)) {
            return true;
        }
    }
    return false;
}

/* Whether operand o of insn holds the value (a tracked register or slot). */
static bool kdma_scan_holds(const KDmaScan *s, const cs_insn *insn, const cs_x86_op *o)
{
    KDmaSlot slot;
    int g;

    if (o->type == X86_OP_REG) {
        g = kdma_gpr64(o->reg);
        return g >= 0 && (s->regs >> g) & 1;
    }
    if (o->type != X86_OP_MEM || o->size != 8) {
        return false;
    }
    slot = kdma_slot_of(insn, &o->mem);
    return kdma_scan_has_slot(s, &slot);
}

static bool kdma_scan_is_minus1(const KDmaScan *s, const cs_x86_op *o)
{
    int g;

    if (o->type == X86_OP_IMM) {
        return o->imm == -1;
    }
    g = o->type == X86_OP_REG ? kdma_gpr64(o->reg) : -1;
    return g >= 0 && (s->minus1 >> g) & 1;
}

/* Whether insn tests the value against DMA_MAPPING_ERROR. */
static bool kdma_scan_is_check(csh h, KDmaScan *s, const cs_insn *insn)
{
    const cs_x86 *x = &insn->detail->x86;

    if (s->pending_inc && cs_insn_group(h, insn, X86_GRP_JUMP) && insn->id != X86_INS_JMP) {
        return true;
    }
    s->pending_inc = false;
    if (insn->id == X86_INS_CMP && x->op_count == 2) {
        /* Once the value went into the driver's data (lp->tx_dma_addr[i] =
         * dma_map_single(...)), a 64-bit compare of memory with -1 is
         * taken as the check of it: drivers test the stored copy. */
        bool mem_check = s->escaped && x->operands[0].type == X86_OP_MEM &&
                         x->operands[0].size == 8 && x->operands[1].type == X86_OP_IMM &&
                         x->operands[1].imm == -1;

        return mem_check ||
               (kdma_scan_holds(s, insn, &x->operands[0]) && kdma_scan_is_minus1(s, &x->operands[1])) ||
               (kdma_scan_holds(s, insn, &x->operands[1]) && kdma_scan_is_minus1(s, &x->operands[0]));
    }
    if ((insn->id == X86_INS_INC && x->op_count == 1 && kdma_scan_holds(s, insn, &x->operands[0])) ||
        (insn->id == X86_INS_ADD && x->op_count == 2 && kdma_scan_holds(s, insn, &x->operands[0]) &&
         x->operands[1].type == X86_OP_IMM && x->operands[1].imm == 1)) {
        s->pending_inc = true;
    }
    return false;
}

/* Forgets slots whose address depends on GPR g. */
static void kdma_scan_kill_slots(csh h, KDmaScan *s, int g)
{
    for (unsigned i = 0; i < s->nslots;) {
        if (kdma_gpr(h, s->slots[i].base) == g || kdma_gpr(h, s->slots[i].index) == g) {
            s->slots[i] = s->slots[--s->nslots];
            continue;
        }
        i++;
    }
}

/* Updates what holds the value after insn. */
static void kdma_scan_step(csh h, KDmaScan *s, const cs_insn *insn)
{
    const cs_x86 *x = &insn->detail->x86;
    const cs_x86_op *dst = &x->operands[0], *src = &x->operands[1];
    bool copy = insn->id == X86_INS_MOV && x->op_count == 2 && kdma_scan_holds(s, insn, src);
    bool store_minus1 = insn->id == X86_INS_MOV && x->op_count == 2 &&
                        src->type == X86_OP_IMM && src->imm == -1;
    cs_regs rd, wr;
    uint8_t nrd = 0, nwr = 0;
    KDmaSlot dslot = {0};

    if (copy && dst->type == X86_OP_MEM && dst->size == 8) {
        s->escaped = true;
    }
    /* A store over a slot ends it (unless it stores the value again). */
    if (x->op_count >= 1 && dst->type == X86_OP_MEM) {
        dslot = kdma_slot_of(insn, &dst->mem);
        for (unsigned i = 0; i < s->nslots; i++) {
            if (kdma_slot_eq(&s->slots[i], &dslot) && !copy) {
                s->slots[i] = s->slots[--s->nslots];
                break;
            }
        }
    }
    if (insn->id == X86_INS_CALL) {
        /* rax rcx rdx rsi rdi r8-r11: caller-saved in the System V ABI;
         * the callee returns with rsp as it was, so stack slots stay. */
        s->regs &= ~0x0fc7u;
        s->minus1 &= ~0x0fc7u;
    } else if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr) == CS_ERR_OK) {
        for (unsigned i = 0; i < nwr; i++) {
            int g = kdma_gpr(h, wr[i]);

            if (g >= 0) {
                s->regs &= ~(1u << g);
                s->minus1 &= ~(1u << g);
                kdma_scan_kill_slots(h, s, g);
            }
        }
    }
    /* After the value went into the driver's data, a 64-bit load from
     * memory is taken as reloading it (lp->rx_dma_addr[i] read back). */
    if (!copy && s->escaped && insn->id == X86_INS_MOV && x->op_count == 2 &&
        dst->type == X86_OP_REG && src->type == X86_OP_MEM && src->size == 8 &&
        kdma_gpr64(dst->reg) >= 0) {
        s->regs |= 1u << kdma_gpr64(dst->reg);
    }
    if (copy && dst->type == X86_OP_REG && kdma_gpr64(dst->reg) >= 0) {
        s->regs |= 1u << kdma_gpr64(dst->reg);
    } else if (copy && dst->type == X86_OP_MEM && dst->size == 8 && s->nslots < KDMA_SCAN_SLOTS &&
               !kdma_scan_has_slot(s, &dslot)) {
        s->slots[s->nslots++] = dslot;
    }
    if (store_minus1 && dst->type == X86_OP_REG && kdma_gpr64(dst->reg) >= 0) {
        s->minus1 |= 1u << kdma_gpr64(dst->reg);
    }
}

/* Follows the value from ret on; true when a check is found. */
static bool kdma_scan(Kernel *k, csh h, uint64_t ret)
{
    KDmaScan s = {.regs = 1u};   /* rax */
    uint8_t code[KDMA_SCAN_BYTES];
    unsigned insns = 0, jmps = 0;
    uint64_t pc = ret;
    cs_insn *insn = cs_malloc(h);
    bool found = false, stop = false;

    while (insn && !stop && !found && insns < KDMA_SCAN_INSNS) {
        size_t n = KDMA_SCAN_BYTES;
        const uint8_t *p = code;
        uint64_t addr = pc, start = pc;
        bool jumped = false;

        while (n > 16 && vcpu_read(k->cpu, pc, code, n) != 0) {
            n /= 2;              /* the code may end before a full window */
        }
        if (n <= 16 && vcpu_read(k->cpu, pc, code, n) != 0) {
            break;
        }
        while (!stop && !jumped && insns < KDMA_SCAN_INSNS && cs_disasm_iter(h, &p, &n, &addr, insn)) {
            const cs_x86 *x = &insn->detail->x86;
            bool direct = x->op_count == 1 && x->operands[0].type == X86_OP_IMM;

            insns++;
            if (kdma_scan_is_check(h, &s, insn)) {
                found = true;
                break;
            }
            if (insn->id == X86_INS_RET || insn->id == X86_INS_UD2 ||
                (insn->id == X86_INS_JMP && !direct)) {
                stop = true;
            } else if (insn->id == X86_INS_JMP) {
                pc = (uint64_t)x->operands[0].imm;
                jumped = true;
                stop = ++jmps > KDMA_SCAN_JMPS;
            } else {
                kdma_scan_step(h, &s, insn);
                stop = !s.regs && !s.nslots && !s.pending_inc;   /* no copy is left */
                pc = addr;
            }
        }
        if (!jumped && pc == start) {
            break;               /* undecodable */
        }
    }
    if (insn) {
        cs_free(insn, 1);
    }
    return found;
}

bool kdma_site_checked(Kernel *k, uint64_t ret)
{
    KDmaSite *site;
    csh h;
    bool checked = false;

    for (unsigned i = 0; i < k->dma.nsites; i++) {
        if (k->dma.sites[i].ret == ret) {
            return k->dma.sites[i].checked;
        }
    }
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) == CS_ERR_OK) {
        cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
        checked = kdma_scan(k, h, ret);
        cs_close(&h);
    }
    if (k->dma.nsites < KDMA_MAX_SITES) {
        site = &k->dma.sites[k->dma.nsites++];
        site->ret = ret;
        site->checked = checked;
    }
    return checked;
}
