/*
 * tests/test_kernel_btf_vs_code.c: BTF layouts against the real driver code.
 *
 * The compiler baked struct offsets into Debian's 8139too.ko as instruction
 * displacements.  These tests read them back -- libelf finds a function by
 * its symbol, Capstone decodes it -- and check that kernel-guest/btf_layout
 * computes the same numbers from vmlinux's BTF and the module's split BTF.
 * No offset is written down here: the expected value comes from BTF, the
 * actual one from the machine code, so the tests hold for any 6.1 ABI and
 * fail the day the two disagree (wrong BTF, wrong field path, wrong
 * netdev_priv() rule).
 *
 * The instruction shapes matched are those of the 6.1 builds (see
 * notes/driver-survey/asm-evidence.txt); a shape that is not found fails
 * loudly with the function's disassembly.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <capstone/capstone.h>

#include "kernel-guest/btf_layout.h"
#include "tests/support.h"

/* include/linux/netdevice.h: netdev_priv(dev) is dev + ALIGN(sizeof(struct
 * net_device), NETDEV_ALIGN).  A kernel constant, not a BTF fact. */
#define CODE_NETDEV_ALIGN 32

typedef struct CodeFunction {
    const char *name;
    cs_insn *insn;
    size_t count;
} CodeFunction;

typedef struct CodeTestState {
    BtfLayout *kernel;    /* vmlinux */
    BtfLayout *rtl8139;   /* 8139too.ko split on vmlinux */
    csh cs;
    long priv;            /* netdev_priv(dev) - dev */
} CodeTestState;

/* ---- reading a function out of the .ko -------------------------------- */

/* Copies the bytes of function SYM (an STT_FUNC in .symtab) out of the
 * relocatable file KO.  Call sites still hold their unrelocated zeros, which
 * does not matter for the displacements looked at here. */
static uint8_t *code_read_function(const char *ko, const char *sym, size_t *len)
{
    Elf_Scn *scn = NULL;
    uint8_t *bytes = NULL;
    Elf *elf;
    int fd;

    elf_version(EV_CURRENT);
    fd = open(ko, O_RDONLY);
    if (fd < 0) {
        fail_msg("%s: %s", ko, strerror(errno));
    }
    elf = elf_begin(fd, ELF_C_READ, NULL);
    if (!elf) {
        fail_msg("%s: %s", ko, elf_errmsg(-1));
    }
    while (!bytes && (scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        Elf_Data *syms;

        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB ||
            !(syms = elf_getdata(scn, NULL))) {
            continue;
        }
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym s;
            const char *name;
            Elf_Data *text;

            if (!gelf_getsym(syms, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
                !(name = elf_strptr(elf, sh.sh_link, s.st_name)) || strcmp(name, sym)) {
                continue;
            }
            text = elf_getdata(elf_getscn(elf, s.st_shndx), NULL);
            if (!text || !text->d_buf || s.st_size == 0 ||
                s.st_value + s.st_size > text->d_size) {
                fail_msg("%s: %s: [value=0x%llx] [size=0x%llx] outside its section", ko, sym,
                         (unsigned long long)s.st_value, (unsigned long long)s.st_size);
            }
            bytes = malloc(s.st_size);
            assert_non_null(bytes);
            memcpy(bytes, (const uint8_t *)text->d_buf + s.st_value, s.st_size);
            *len = s.st_size;
            break;
        }
    }
    elf_end(elf);
    close(fd);
    if (!bytes) {
        fail_msg("%s: no function symbol %s", ko, sym);
    }
    return bytes;
}

static CodeFunction code_disassemble(void **state, const char *sym)
{
    CodeTestState *s = *state;
    CodeFunction f = {.name = sym};
    size_t len = 0;
    uint8_t *bytes = code_read_function(test_real_module_path("8139too"), sym, &len);

    f.count = cs_disasm(s->cs, bytes, len, 0, 0, &f.insn);
    free(bytes);
    if (f.count == 0) {
        fail_msg("8139too.ko: %s: Capstone decodes nothing: %s", sym,
                 cs_strerror(cs_errno(s->cs)));
    }
    return f;
}

static void code_free(CodeFunction *f)
{
    cs_free(f->insn, f->count);
}

/* Fails the test with the whole function, so a changed code shape is
 * diagnosable from the test log alone. */
static void code_fail(const CodeFunction *f, const char *what)
{
    for (size_t i = 0; i < f->count; i++) {
        print_message("  %4llx: %s %s\n", (unsigned long long)f->insn[i].address,
                      f->insn[i].mnemonic, f->insn[i].op_str);
    }
    fail_msg("8139too.ko: %s: no %s (disassembly above)", f->name, what);
}

/* ---- instruction shapes ----------------------------------------------- */

static const cs_x86_op *code_mem_operand(const cs_insn *in)
{
    const cs_x86 *x = &in->detail->x86;

    for (uint8_t i = 0; i < x->op_count; i++) {
        if (x->operands[i].type == X86_OP_MEM) {
            return &x->operands[i];
        }
    }
    return NULL;
}

/* Index of the first instruction at or after FROM with id ID (0: any) and a
 * memory operand [BASE + disp] without an index register; -1 if none. */
static long code_find_mem(const CodeFunction *f, size_t from, unsigned id, x86_reg base)
{
    for (size_t i = from; i < f->count; i++) {
        const cs_x86_op *m = code_mem_operand(&f->insn[i]);

        if (m && (id == 0 || f->insn[i].id == id) && m->mem.base == base &&
            m->mem.index == X86_REG_INVALID) {
            return (long)i;
        }
    }
    return -1;
}

static int64_t code_disp(const CodeFunction *f, long i)
{
    return code_mem_operand(&f->insn[i])->mem.disp;
}

static int code_op_is_reg(const cs_insn *in, int n, x86_reg reg)
{
    const cs_x86 *x = &in->detail->x86;

    return n < x->op_count && x->operands[n].type == X86_OP_REG && x->operands[n].reg == reg;
}

/* ---- expected values, from BTF ---------------------------------------- */

static long btf_priv_field(void **state, const char *path)
{
    CodeTestState *s = *state;
    long off = btf_layout_offsetof(s->rtl8139, "rtl8139_private", path);

    if (off < 0) {
        fail_msg("BTF: rtl8139_private.%s: %ld", path, off);
    }
    return s->priv + off;
}

static long btf_kernel_field(void **state, const char *type, const char *path)
{
    CodeTestState *s = *state;
    long off = btf_layout_offsetof(s->kernel, type, path);

    if (off < 0) {
        fail_msg("BTF: %s.%s: %ld", type, path, off);
    }
    return off;
}

static int code_setup(void **state)
{
    static CodeTestState s;
    SlError e = {{0}};
    long size;

    if (btf_layout_open(test_kimage()->vmlinux, &s.kernel, &e) != 0) {
        fail_msg("%s", e.msg);
    }
    if (btf_layout_open_split(test_real_module_path("8139too"), s.kernel, &s.rtl8139, &e) != 0) {
        fail_msg("%s", e.msg);
    }
    size = btf_layout_sizeof(s.kernel, "net_device");
    if (size <= 0) {
        fail_msg("BTF: sizeof(struct net_device) = %ld", size);
    }
    s.priv = (size + CODE_NETDEV_ALIGN - 1) & ~(long)(CODE_NETDEV_ALIGN - 1);
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &s.cs) != CS_ERR_OK ||
        cs_option(s.cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK) {
        fail_msg("Capstone: cannot open an x86-64 decoder with detail");
    }
    *state = &s;
    return 0;
}

static int code_teardown(void **state)
{
    CodeTestState *s = *state;

    cs_close(&s->cs);
    btf_layout_close(s->rtl8139);
    btf_layout_close(s->kernel);
    return 0;
}

/* ---- the checks ------------------------------------------------------- */

static void test_btf_vs_code__get_msglevel_load__is_netdev_priv_plus_msg_enable(void **state)
{
    /* return netdev_priv(dev)->msg_enable: one 4-byte load off %rdi. */
    CodeFunction f = code_disassemble(state, "rtl8139_get_msglevel");
    long i = code_find_mem(&f, 0, X86_INS_MOV, X86_REG_RDI);

    if (i < 0 || !code_op_is_reg(&f.insn[i], 0, X86_REG_EAX)) {
        code_fail(&f, "mov eax, dword ptr [rdi + disp]");
    }
    assert_int_equal(code_disp(&f, i), btf_priv_field(state, "msg_enable"));
    assert_int_equal(code_mem_operand(&f.insn[i])->size, 4);
    code_free(&f);
}

static void test_btf_vs_code__set_msglevel_store__is_netdev_priv_plus_msg_enable(void **state)
{
    /* netdev_priv(dev)->msg_enable = datum (%esi). */
    CodeFunction f = code_disassemble(state, "rtl8139_set_msglevel");
    long i = code_find_mem(&f, 0, X86_INS_MOV, X86_REG_RDI);

    if (i < 0 || !code_op_is_reg(&f.insn[i], 1, X86_REG_ESI)) {
        code_fail(&f, "mov dword ptr [rdi + disp], esi");
    }
    assert_int_equal(code_disp(&f, i), btf_priv_field(state, "msg_enable"));
    code_free(&f);
}

static void test_btf_vs_code__get_regs_len_load__is_netdev_priv_plus_regs_len(void **state)
{
    /* return use_io ? 0 : tp->regs_len -- the only load off %rdi. */
    CodeFunction f = code_disassemble(state, "rtl8139_get_regs_len");
    long i = code_find_mem(&f, 0, X86_INS_MOV, X86_REG_RDI);

    if (i < 0) {
        code_fail(&f, "mov eax, dword ptr [rdi + disp]");
    }
    assert_int_equal(code_disp(&f, i), btf_priv_field(state, "regs_len"));
    assert_int_equal(code_mem_operand(&f.insn[i])->size, 4);
    code_free(&f);
}

/* rtl8139_get_link and rtl8139_nway_reset tail-call into mii.ko with
 * &tp->mii: add rdi, imm. */
static void check_mii_argument(void **state, const char *sym)
{
    CodeFunction f = code_disassemble(state, sym);

    for (size_t i = 0; i < f.count; i++) {
        const cs_x86 *x = &f.insn[i].detail->x86;

        if (f.insn[i].id == X86_INS_ADD && code_op_is_reg(&f.insn[i], 0, X86_REG_RDI) &&
            x->op_count == 2 && x->operands[1].type == X86_OP_IMM) {
            assert_int_equal(x->operands[1].imm, btf_priv_field(state, "mii"));
            code_free(&f);
            return;
        }
    }
    code_fail(&f, "add rdi, imm");
}

static void test_btf_vs_code__mii_calls__pass_netdev_priv_plus_mii(void **state)
{
    check_mii_argument(state, "rtl8139_get_link");
    check_mii_argument(state, "rtl8139_nway_reset");
}

static void test_btf_vs_code__get_wol_spin_lock__takes_netdev_priv_plus_lock(void **state)
{
    /* spin_lock_irq(&tp->lock): lea reg, [rdi + disp] before the call. */
    CodeFunction f = code_disassemble(state, "rtl8139_get_wol");
    long i = code_find_mem(&f, 0, X86_INS_LEA, X86_REG_RDI);

    if (i < 0) {
        code_fail(&f, "lea reg, [rdi + disp]");
    }
    assert_int_equal(code_disp(&f, i), btf_priv_field(state, "lock"));
    code_free(&f);
}

static void test_btf_vs_code__start_xmit_first_load__is_skb_len(void **state)
{
    /* ndo_start_xmit(skb = %rdi, dev = %rsi): "if (likely(len < TX_BUF_SIZE))"
     * reads skb->len before anything else off %rdi. */
    CodeFunction f = code_disassemble(state, "rtl8139_start_xmit");
    long i = code_find_mem(&f, 0, X86_INS_MOV, X86_REG_RDI);

    if (i < 0) {
        code_fail(&f, "mov reg32, dword ptr [rdi + disp]");
    }
    assert_int_equal(code_disp(&f, i), btf_kernel_field(state, "sk_buff", "len"));
    assert_int_equal(code_mem_operand(&f.insn[i])->size, 4);
    code_free(&f);
}

/* The register dev (%rsi) was copied to in FN, or X86_REG_INVALID. */
static x86_reg code_copy_of_rsi(const CodeFunction *f)
{
    for (size_t i = 0; i < f->count; i++) {
        const cs_x86 *x = &f->insn[i].detail->x86;

        if (f->insn[i].id == X86_INS_MOV && x->op_count == 2 &&
            x->operands[0].type == X86_OP_REG && code_op_is_reg(&f->insn[i], 1, X86_REG_RSI)) {
            return x->operands[0].reg;
        }
    }
    return X86_REG_INVALID;
}

static void test_btf_vs_code__inlined_netif_stop_queue__uses_tx_trans_start_and_state(
    void **state)
{
    /* netif_stop_queue(dev) inlined: txq = dev->_tx (queue 0);
     * txq->trans_start = jiffies; set_bit(__QUEUE_STATE_DRV_XOFF, &txq->state)
     * as "lock or byte ptr [txq + state], 1". */
    CodeFunction f = code_disassemble(state, "rtl8139_start_xmit");
    x86_reg dev = code_copy_of_rsi(&f);
    long lock_or = -1, load_tx = -1, store_trans = -1;
    x86_reg txq;

    for (size_t i = 0; i < f.count && lock_or < 0; i++) {
        if (f.insn[i].id == X86_INS_OR && f.insn[i].detail->x86.prefix[0] == X86_PREFIX_LOCK &&
            code_mem_operand(&f.insn[i])) {
            lock_or = (long)i;
        }
    }
    if (lock_or < 0 || dev == X86_REG_INVALID) {
        code_fail(&f, "lock or byte ptr [txq + disp], 1 with dev copied from rsi");
    }
    txq = code_mem_operand(&f.insn[lock_or])->mem.base;
    /* The nearest load of txq before the lock or, and the store between. */
    for (long i = lock_or - 1; i >= 0 && load_tx < 0; i--) {
        const cs_x86_op *m = code_mem_operand(&f.insn[i]);

        if (!m || m->mem.index != X86_REG_INVALID) {
            continue;
        }
        if (f.insn[i].id == X86_INS_MOV && code_op_is_reg(&f.insn[i], 0, txq)) {
            load_tx = i;
        } else if (f.insn[i].id == X86_INS_MOV && m->mem.base == txq && m->size == 8) {
            store_trans = i;
        }
    }
    if (load_tx < 0 || store_trans < 0 || code_mem_operand(&f.insn[load_tx])->mem.base != dev) {
        code_fail(&f, "mov txq, [dev + disp]; mov qword ptr [txq + disp], reg before lock or");
    }
    assert_int_equal(code_disp(&f, load_tx), btf_kernel_field(state, "net_device", "_tx"));
    assert_int_equal(code_disp(&f, store_trans),
                     btf_kernel_field(state, "netdev_queue", "trans_start"));
    assert_int_equal(code_disp(&f, lock_or), btf_kernel_field(state, "netdev_queue", "state"));
    code_free(&f);
}

static void test_btf_vs_code__start_xmit_drop__counts_dev_stats_tx_dropped(void **state)
{
    /* Oversized frame: dev_kfree_skb_any(skb); dev->stats.tx_dropped++ as
     * "add qword ptr [dev + disp], 1". */
    CodeFunction f = code_disassemble(state, "rtl8139_start_xmit");
    x86_reg dev = code_copy_of_rsi(&f);
    long i = dev == X86_REG_INVALID ? -1 : code_find_mem(&f, 0, X86_INS_ADD, dev);

    while (i >= 0 && !(f.insn[i].detail->x86.op_count == 2 &&
                       f.insn[i].detail->x86.operands[1].type == X86_OP_IMM &&
                       f.insn[i].detail->x86.operands[1].imm == 1)) {
        i = code_find_mem(&f, (size_t)i + 1, X86_INS_ADD, dev);
    }
    if (i < 0) {
        code_fail(&f, "add qword ptr [dev + disp], 1");
    }
    assert_int_equal(code_disp(&f, i),
                     btf_kernel_field(state, "net_device", "stats.tx_dropped"));
    code_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_btf_vs_code__get_msglevel_load__is_netdev_priv_plus_msg_enable),
        cmocka_unit_test(test_btf_vs_code__set_msglevel_store__is_netdev_priv_plus_msg_enable),
        cmocka_unit_test(test_btf_vs_code__get_regs_len_load__is_netdev_priv_plus_regs_len),
        cmocka_unit_test(test_btf_vs_code__mii_calls__pass_netdev_priv_plus_mii),
        cmocka_unit_test(test_btf_vs_code__get_wol_spin_lock__takes_netdev_priv_plus_lock),
        cmocka_unit_test(test_btf_vs_code__start_xmit_first_load__is_skb_len),
        cmocka_unit_test(test_btf_vs_code__inlined_netif_stop_queue__uses_tx_trans_start_and_state),
        cmocka_unit_test(test_btf_vs_code__start_xmit_drop__counts_dev_stats_tx_dropped),
    };

    return cmocka_run_group_tests(tests, code_setup, code_teardown);
}
