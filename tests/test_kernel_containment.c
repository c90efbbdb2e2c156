/*
 * tests/test_kernel_containment.c: a module that misbehaves on purpose
 * (tests/modules/crashers.c, one misbehaviour per value of its `mode`
 * parameter) is stopped with a report of the right kind -- wild and
 * non-canonical accesses, BUG, WARN, runaway loops, unserved imports,
 * executing data, stack overflow, double kfree, writing its own code --
 * and the test process goes on: the same kernel runs the module again
 * after vcpu_revive, and a fresh kernel runs it too.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel-guest/kernel_internal.h"
#include "tests/support.h"

#define TEST_LOG_LINES 64
#define TEST_BUDGET 100000       /* blocks: small, so a hang ends quickly */
#define CRASHERS_OK 42           /* init_module's return when it survives */
#define TEST_UNSERVED "sluice_test_unserved"

/* crashers.c's modes */
enum {
    CRASH_NONE,
    CRASH_WILD_WRITE,
    CRASH_NONCANONICAL_READ,
    CRASH_BUG,
    CRASH_BUG_TABLE,
    CRASH_WARN,
    CRASH_LOOP,
    CRASH_UNSERVED,
    CRASH_EXEC_DATA,
    CRASH_STACK_OVERFLOW,
    CRASH_DOUBLE_FREE,
    CRASH_WRITE_TEXT,
};

typedef struct TestFx {
    Kernel *k;
    int mod;                     /* the crashers module */
    char log[TEST_LOG_LINES][512];
    unsigned nlog;
    char report[16384];          /* kernel_report_print's output */
} TestFx;

static void test_log(void *opaque, int level, const char *line)
{
    TestFx *f = opaque;

    if (f->nlog < TEST_LOG_LINES) {
        snprintf(f->log[f->nlog++], sizeof(f->log[0]), "%s", line);
    }
}

/* The real kernel's export list, as far as these tests need it. */
static KernelExportKind test_export_kind(void *opaque, const char *name, uint32_t *crc)
{
    return strcmp(name, TEST_UNSERVED) == 0 ? KERNEL_EXPORT_FUNC : KERNEL_EXPORT_NONE;
}

static unsigned test_count_log(const TestFx *f, const char *needle)
{
    unsigned n = 0;

    for (unsigned i = 0; i < f->nlog; i++) {
        n += strstr(f->log[i], needle) != NULL;
    }
    return n;
}

/* A fresh kernel with the crashers module loaded in the given mode. */
static void test_start(TestFx *f, int mode)
{
    KernelConfig cfg = {
        .btf_path = test_kimage()->vmlinux, .block_budget = TEST_BUDGET,
        .allow_unserved = true,
    };
    KernelHostOps ops = {.log = test_log, .export_kind = test_export_kind, .opaque = f};
    SlError e = {{0}};
    char param[32];
    const char *p = param;

    kernel_free(f->k);
    f->k = NULL;
    f->nlog = 0;
    if (kernel_new(&cfg, &ops, &f->k, &e) != 0) {
        fail_msg("kernel_new: %s", e.msg);
    }
    snprintf(param, sizeof(param), "mode=%d", mode);
    f->mod = kernel_load_module(f->k, test_module_path("crashers"), &p, 1, &e);
    if (f->mod < 0) {
        fail_msg("load crashers: %s", e.msg);
    }
}

static int setup(void **state)
{
    TestFx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    TestFx *f = *state;

    kernel_free(f->k);
    free(f);
    return 0;
}

static uint64_t test_sym(TestFx *f, const char *name)
{
    uint64_t va = ko_symbol_va(f->k->modules[f->mod], name);

    if (!va) {
        fail_msg("crashers.ko has no symbol %s", name);
    }
    return va;
}

static void test_symbolize(TestFx *f, uint64_t addr, char *buf, size_t cap)
{
    kernel_symbolize(f->k, addr, buf, cap);
}

/* True if some backtrace entry symbolizes to fn+0x... in crashers. */
static bool test_backtrace_has(TestFx *f, const VcpuReport *r, const char *fn)
{
    char want[128], sym[256];

    snprintf(want, sizeof(want), "%s+0x", fn);
    for (unsigned i = 0; i < r->depth; i++) {
        test_symbolize(f, r->backtrace[i], sym, sizeof(sym));
        if (strncmp(sym, want, strlen(want)) == 0 && strstr(sym, " [crashers]")) {
            return true;
        }
    }
    return false;
}

static void test_capture_report(TestFx *f)
{
    FILE *out = fmemopen(f->report, sizeof(f->report) - 1, "w");

    assert_non_null(out);
    kernel_report_print(f->k, out);
    fclose(out);
}

/* Whether the crashers module still runs: mode 0 through the same init. */
static void test_assert_runs_again(TestFx *f)
{
    uint32_t none = CRASH_NONE;
    unsigned before = test_count_log(f, "crashers: mode 0 survived");

    assert_int_equal(vcpu_write(kernel_vcpu(f->k), test_sym(f, "mode"), &none, 4), 0);
    assert_int_equal(kernel_init_module(f->k, f->mod), CRASHERS_OK);
    assert_false(kernel_dead(f->k));
    assert_int_equal(test_count_log(f, "crashers: mode 0 survived"), before + 1);
}

/*
 * Runs mode; expects the guest stopped with stop, a report saying what,
 * the instruction inside fn (symbolized "fn+0x.. [crashers]"), and the
 * kernel's printed report naming the module.  Then revives the same
 * kernel and runs the module again, and does the same on a fresh kernel.
 * Returns the report (valid until the next call) for further checks.
 */
static const VcpuReport *test_expect_stop(TestFx *f, int mode, VcpuStop stop,
                                          const char *what, const char *fn)
{
    static VcpuReport r;
    char sym[256], want[128];
    int ret;

    test_start(f, mode);
    ret = kernel_init_module(f->k, f->mod);
    assert_int_equal(ret, -EFAULT);
    assert_true(kernel_dead(f->k));
    r = *vcpu_report(kernel_vcpu(f->k));
    test_capture_report(f);
    if (r.stop != stop || !strstr(r.what, what)) {
        fail_msg("mode %d: got stop=%s \"%s\", want stop=%s \"%s\"\n%s", mode,
                 vcpu_stop_name(r.stop), r.what, vcpu_stop_name(stop), what, f->report);
    }
    test_symbolize(f, r.rip, sym, sizeof(sym));
    snprintf(want, sizeof(want), "%s+0x", fn);
    if (strncmp(sym, want, strlen(want)) != 0 || !strstr(sym, " [crashers]")) {
        fail_msg("mode %d: instruction at %s, want %s... [crashers]\n%s", mode, sym, want,
                 f->report);
    }
    assert_non_null(strstr(f->report, "sluice: crashers: guest stopped during init"));
    assert_non_null(strstr(f->report, r.what));
    assert_non_null(strstr(f->report, sym));
    assert_int_equal(test_count_log(f, "survived"), 0);     /* init never finished */

    /* A dead machine refuses calls until revived. */
    assert_int_equal(kernel_init_module(f->k, f->mod), -EFAULT);
    vcpu_revive(kernel_vcpu(f->k));
    test_assert_runs_again(f);

    test_start(f, CRASH_NONE);
    assert_int_equal(kernel_init_module(f->k, f->mod), CRASHERS_OK);
    assert_int_equal(test_count_log(f, "crashers: mode 0 survived"), 1);
    return &r;
}

static void test_containment__well_behaved_mode__returns_and_prints(void **state)
{
    TestFx *f = *state;

    test_start(f, CRASH_NONE);
    assert_int_equal(kernel_init_module(f->k, f->mod), CRASHERS_OK);
    assert_false(kernel_dead(f->k));
    assert_int_equal(test_count_log(f, "crashers: mode 0 survived"), 1);
}

static void test_containment__wild_write__stops_at_the_store_with_a_symbolized_backtrace(void **state)
{
    TestFx *f = *state;
    const VcpuReport *r;

    r = test_expect_stop(f, CRASH_WILD_WRITE, VCPU_STOP_WRITE_UNMAPPED,
                         "write to unmapped kernel address 0xffff800000001000 (8 bytes)",
                         "crash_wild_write");
    assert_int_equal(r->addr, 0xffff800000001000ull);
    assert_int_equal(r->size, 8);
    assert_int_equal(r->value, 0x5a5a);
    assert_true(test_backtrace_has(f, r, "init_module"));
}

static void test_containment__wild_write__report_names_function_module_and_caller(void **state)
{
    TestFx *f = *state;

    test_start(f, CRASH_WILD_WRITE);
    assert_int_equal(kernel_init_module(f->k, f->mod), -EFAULT);
    test_capture_report(f);
    /* "at crash_wild_write+0xa/0x12 [crashers]: movq $0x5a5a, (%rax)" */
    if (!strstr(f->report, "at crash_wild_write+0x") || !strstr(f->report, "[crashers]: movq") ||
        !strstr(f->report, "[stop=write-unmapped]") || !strstr(f->report, "call trace:") ||
        !strstr(f->report, "    init_module+0x")) {
        fail_msg("report lacks the instruction or the caller:\n%s", f->report);
    }
}

static void test_containment__non_canonical_read__is_reported_as_such(void **state)
{
    TestFx *f = *state;
    const VcpuReport *r;

    r = test_expect_stop(f, CRASH_NONCANONICAL_READ, VCPU_STOP_READ_UNMAPPED,
                         "read of unmapped non-canonical address 0xdead000000000100",
                         "crash_noncanonical_read");
    assert_int_equal(r->addr, 0xdead000000000100ull);
}

static void test_containment__ud2_without_bug_table_entry__is_a_bug(void **state)
{
    TestFx *f = *state;
    const VcpuReport *r;

    r = test_expect_stop(f, CRASH_BUG, VCPU_STOP_INVALID_INSN,
                         "ud2 (BUG) with no __bug_table entry", "crash_bug");
    assert_int_equal(r->rip, test_sym(f, "crash_bug"));
}

static void test_containment__ud2_listed_as_bug__names_file_and_line(void **state)
{
    TestFx *f = *state;

    test_expect_stop(f, CRASH_BUG_TABLE, VCPU_STOP_INVALID_INSN,
                     "kernel BUG at tests/modules/crashers.c:101!", "crash_bug_table");
}

static void test_containment__ud2_listed_as_warn__warns_and_goes_on(void **state)
{
    TestFx *f = *state;
    KernelStats s;

    test_start(f, CRASH_WARN);
    assert_int_equal(kernel_init_module(f->k, f->mod), CRASHERS_OK);
    assert_false(kernel_dead(f->k));
    assert_int_equal(test_count_log(f, "WARNING: CPU: 0 PID: 1 at tests/modules/crashers.c:202 "
                                       "crash_warn+0x0/"), 1);
    assert_int_equal(test_count_log(f, "crashers: mode 5 survived"), 1);
    kernel_stats(f->k, &s);
    assert_int_equal(s.warnings, 1);
}

static void test_containment__infinite_loop__ends_on_the_block_budget(void **state)
{
    TestFx *f = *state;
    uint64_t blocks;

    test_start(f, CRASH_LOOP);
    assert_int_equal(kernel_init_module(f->k, f->mod), -EFAULT);
    /* Stopped by the budget, right after spending it. */
    blocks = vcpu_blocks_executed(kernel_vcpu(f->k));
    assert_true(blocks > TEST_BUDGET && blocks < TEST_BUDGET + 100);
    test_expect_stop(f, CRASH_LOOP, VCPU_STOP_BUDGET, "block budget exhausted [budget=100000 blocks]",
                     "crash_loop");
}

static void test_containment__call_of_unserved_import__names_the_import(void **state)
{
    TestFx *f = *state;

    /* The report points at the call instruction in init_module. */
    test_expect_stop(f, CRASH_UNSERVED, VCPU_STOP_HOST,
                     "call to unserved import " TEST_UNSERVED, "init_module");
}

static void test_containment__executing_kmalloc_memory__is_executing_data(void **state)
{
    TestFx *f = *state;
    const VcpuReport *r;
    char sym[256];

    test_start(f, CRASH_EXEC_DATA);
    assert_int_equal(kernel_init_module(f->k, f->mod), -EFAULT);
    r = vcpu_report(kernel_vcpu(f->k));
    assert_int_equal(r->stop, VCPU_STOP_FETCH_PROT);
    assert_non_null(strstr(r->what, "execution of non-executable (data)"));
    /* The stop is at the buffer itself, in the direct map... */
    assert_int_equal(r->rip, r->addr);
    assert_true(r->addr >= KMEM_PAGE_OFFSET && r->addr < KMEM_VMALLOC_BASE);
    /* ...and the caller that jumped there is the first frame. */
    assert_true(r->depth >= 1);
    test_symbolize(f, r->backtrace[0], sym, sizeof(sym));
    assert_non_null(strstr(sym, "crash_exec_data+0x"));
    assert_true(test_backtrace_has(f, r, "init_module"));
    vcpu_revive(kernel_vcpu(f->k));
    test_assert_runs_again(f);
}

static void test_containment__stack_overflow__writes_into_the_guard_page(void **state)
{
    TestFx *f = *state;
    const VcpuReport *r;
    uint64_t top;

    test_start(f, CRASH_NONE);
    top = f->k->stack_top;       /* the same in every kernel: no randomness */
    r = test_expect_stop(f, CRASH_STACK_OVERFLOW, VCPU_STOP_WRITE_UNMAPPED,
                         "write to unmapped kernel address", "crash_recurse");
    /* Just below the 32 KiB stack: the guard page, not some wild address. */
    assert_true(r->addr < top - 0x8000 && r->addr >= top - 0x9000);
    assert_true(r->rsp - r->addr < 0x200);
}

static void test_containment__double_kfree__is_reported_by_kfree(void **state)
{
    TestFx *f = *state;
    const VcpuReport *r;

    r = test_expect_stop(f, CRASH_DOUBLE_FREE, VCPU_STOP_HOST, "kfree of 0x",
                         "crash_double_free");
    assert_non_null(strstr(r->what, "not a live allocation (double free or bad pointer)"));
}

static void test_containment__write_to_own_code__is_a_protection_fault(void **state)
{
    TestFx *f = *state;
    const VcpuReport *r;

    r = test_expect_stop(f, CRASH_WRITE_TEXT, VCPU_STOP_WRITE_PROT,
                         "write to read-only kernel address", "crash_write_text");
    assert_int_equal(r->addr, test_sym(f, "crash_bug"));
}

/* Fault after fault on one kernel, each followed by vcpu_revive: the
 * kernel keeps serving the module (no state left half-done). */
static void test_containment__one_kernel__survives_every_fault_in_turn(void **state)
{
    static const int modes[] = {
        CRASH_WILD_WRITE, CRASH_NONCANONICAL_READ, CRASH_BUG, CRASH_BUG_TABLE, CRASH_LOOP,
        CRASH_UNSERVED, CRASH_EXEC_DATA, CRASH_STACK_OVERFLOW, CRASH_DOUBLE_FREE,
        CRASH_WRITE_TEXT,
    };
    TestFx *f = *state;
    uint64_t mode_va;

    test_start(f, CRASH_NONE);
    mode_va = test_sym(f, "mode");
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        uint32_t m = (uint32_t)modes[i];

        assert_int_equal(vcpu_write(kernel_vcpu(f->k), mode_va, &m, 4), 0);
        assert_int_equal(kernel_init_module(f->k, f->mod), -EFAULT);
        assert_true(kernel_dead(f->k));
        vcpu_revive(kernel_vcpu(f->k));
        test_assert_runs_again(f);
    }
    assert_int_equal(kernel_exit_module(f->k, f->mod), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_containment__well_behaved_mode__returns_and_prints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__wild_write__stops_at_the_store_with_a_symbolized_backtrace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__wild_write__report_names_function_module_and_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__non_canonical_read__is_reported_as_such, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__ud2_without_bug_table_entry__is_a_bug, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__ud2_listed_as_bug__names_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__ud2_listed_as_warn__warns_and_goes_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__infinite_loop__ends_on_the_block_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__call_of_unserved_import__names_the_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__executing_kmalloc_memory__is_executing_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__stack_overflow__writes_into_the_guard_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__double_kfree__is_reported_by_kfree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__write_to_own_code__is_a_protection_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containment__one_kernel__survives_every_fault_in_turn, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
