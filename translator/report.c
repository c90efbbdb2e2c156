/*
 * translator/report.c: what the user sees when guest code stops: the
 * instruction (symbolized, disassembled with Capstone), registers, and a
 * backtrace found by scanning the stack for return addresses into known
 * code that follow a call instruction (driver code has no frame pointers;
 * this is the "guess" unwinder Linux itself falls back to).
 */
#include "translator/vcpu_internal.h"

#include <inttypes.h>
#include <string.h>

#define VCPU_STACK_SCAN_WORDS 2048

static const char *const vcpu_stop_names[] = {
    [VCPU_STOP_NONE] = "none",
    [VCPU_STOP_READ_UNMAPPED] = "read-unmapped",
    [VCPU_STOP_WRITE_UNMAPPED] = "write-unmapped",
    [VCPU_STOP_FETCH_UNMAPPED] = "fetch-unmapped",
    [VCPU_STOP_READ_PROT] = "read-protection",
    [VCPU_STOP_WRITE_PROT] = "write-protection",
    [VCPU_STOP_FETCH_PROT] = "execute-data",
    [VCPU_STOP_INVALID_INSN] = "invalid-instruction",
    [VCPU_STOP_BUDGET] = "runaway-loop",
    [VCPU_STOP_HOST] = "host",
    [VCPU_STOP_INTERNAL] = "internal",
};

const char *vcpu_stop_name(VcpuStop stop)
{
    if ((unsigned)stop < sizeof(vcpu_stop_names) / sizeof(vcpu_stop_names[0])) {
        return vcpu_stop_names[stop];
    }
    return "unknown";
}

static bool vcpu_in_code(const Vcpu *cpu, uint64_t a)
{
    for (unsigned i = 0; i < cpu->ncode; i++) {
        if (a >= cpu->code[i].start && a < cpu->code[i].end) {
            return true;
        }
    }
    return false;
}

/* True if the bytes before ret end with a call instruction. */
static bool vcpu_follows_call(const Vcpu *cpu, uint64_t ret)
{
    uint8_t b[7];

    if (uc_mem_read(cpu->uc, ret - 7, b, 7) != UC_ERR_OK) {
        return false;
    }
    if (b[2] == 0xe8) {                              /* call rel32 */
        return true;
    }
    if (b[5] == 0xff && (b[6] & 0x38) == 0x10) {     /* call *%reg */
        return true;
    }
    if (b[1] == 0xff && b[2] == 0x15) {              /* call *disp32(%rip) */
        return true;
    }
    return b[0] == 0xff && (b[1] & 0x38) == 0x10;    /* call *disp32(...) */
}

static void vcpu_backtrace(Vcpu *cpu, VcpuReport *r)
{
    uint64_t sp = r->rsp & ~7ull;

    r->depth = 0;
    for (unsigned i = 0; i < VCPU_STACK_SCAN_WORDS && r->depth < VCPU_BACKTRACE_MAX; i++) {
        uint64_t w;

        if (cpu->stack_top && sp + 8ull * i >= cpu->stack_top) {
            break;
        }
        if (uc_mem_read(cpu->uc, sp + 8ull * i, &w, 8) != UC_ERR_OK) {
            break;
        }
        if (vcpu_in_code(cpu, w) && vcpu_follows_call(cpu, w)) {
            r->backtrace[r->depth++] = w;
        }
    }
}

void vcpu_report_fill(Vcpu *cpu, VcpuStop stop, uint64_t rip, const char *what)
{
    static const int regs[16] = {
        UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX,
        UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_RBP, UC_X86_REG_RSP,
        UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
        UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
    };
    VcpuReport *r = &cpu->report;
    void *ptrs[16];

    if (cpu->dead) {
        return;                  /* the first stop is the one that matters */
    }
    memset(r, 0, sizeof(*r));
    r->stop = stop;
    r->rip = rip;
    snprintf(r->what, sizeof(r->what), "%s", what);
    for (int i = 0; i < 16; i++) {
        ptrs[i] = &r->gpr[i];
    }
    uc_reg_read_batch(cpu->uc, (int *)regs, ptrs, 16);
    r->rsp = r->gpr[7];
    vcpu_backtrace(cpu, r);
    cpu->dead = true;
}

void vcpu_symbolize(const Vcpu *cpu, uint64_t addr, char *buf, size_t cap)
{
    const char *stub = vcpu_gateway_name(cpu, addr);

    if (stub) {
        snprintf(buf, cap, "%s [sluice gateway]", stub);
        return;
    }
    if (cpu->symbolizer && cpu->symbolizer(cpu->symbolizer_opaque, addr, buf, cap)) {
        return;
    }
    snprintf(buf, cap, "0x%016" PRIx64, addr);
}

int vcpu_disassemble(Vcpu *cpu, uint64_t addr, char *buf, size_t cap)
{
    uint8_t code[16];
    size_t n = sizeof(code);
    cs_insn *insn;

    /* Near the end of a mapping fewer bytes are readable. */
    while (n > 0 && uc_mem_read(cpu->uc, addr, code, n) != UC_ERR_OK) {
        n--;
    }
    if (n == 0 || !cpu->cs_open || cs_disasm(cpu->cs, code, n, addr, 1, &insn) != 1) {
        snprintf(buf, cap, "(unreadable)");
        return -1;
    }
    snprintf(buf, cap, "%s%s%s", insn[0].mnemonic, insn[0].op_str[0] ? " " : "",
             insn[0].op_str);
    cs_free(insn, 1);
    return 0;
}

void vcpu_report_print(Vcpu *cpu, const VcpuReport *r, const char *prefix, FILE *out)
{
    static const char *const names[16] = {
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    };
    char sym[256], dis[128];

    vcpu_symbolize(cpu, r->rip, sym, sizeof(sym));
    vcpu_disassemble(cpu, r->rip, dis, sizeof(dis));
    fprintf(out, "%s%s [stop=%s]\n", prefix, r->what, vcpu_stop_name(r->stop));
    fprintf(out, "%s  at %s: %s [rip=0x%016" PRIx64 "]\n", prefix, sym, dis, r->rip);
    for (int i = 0; i < 16; i += 4) {
        fprintf(out, "%s  %-3s=%016" PRIx64 " %-3s=%016" PRIx64 " %-3s=%016" PRIx64
                " %-3s=%016" PRIx64 "\n", prefix,
                names[i], r->gpr[i], names[i + 1], r->gpr[i + 1],
                names[i + 2], r->gpr[i + 2], names[i + 3], r->gpr[i + 3]);
    }
    if (r->depth) {
        fprintf(out, "%s  call trace:\n", prefix);
    }
    for (unsigned i = 0; i < r->depth; i++) {
        vcpu_symbolize(cpu, r->backtrace[i], sym, sizeof(sym));
        fprintf(out, "%s    %s\n", prefix, sym);
    }
}
