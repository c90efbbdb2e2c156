/*
 * tests/test_kernel_ifup.c: the served API an interface needs to go up,
 * called the way a driver calls it -- through its gateway slot, with its
 * structs in guest memory laid out by the real 6.1 BTF: the IRQ handler
 * table (request_threaded_irq, free_irq, enable/disable_irq), NAPI state
 * bits, work items and timers on the virtual clock, carrier and tx queue
 * state.  A work function is a host function behind a gateway slot of the
 * test's own, so the test sees when, how and with what it is called.
 * (The real 8139too going up and down is tests/test_emu_ifup.c.)
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
#define TEST_IRQ 11
#define TEST_IRQF_SHARED 0x80
#define TEST_WORK_CPU_UNBOUND 8192   /* NR_CPUS of Debian's build: any value is accepted */

typedef enum TestWorkAction {
    TEST_WORK_RETURN,
    TEST_WORK_REQUEUE,           /* queue_work_on(itself) */
    TEST_WORK_CANCEL_SELF,       /* cancel_work_sync(itself) */
} TestWorkAction;

typedef struct TestFx {
    Kernel *k;
    char log[TEST_LOG_LINES][256];
    unsigned nlog;
    /* What the work function saw. */
    TestWorkAction action;
    unsigned runs;
    uint64_t args[8];
    KernelPhase phase;
    bool pending_when_run;
} TestFx;

static TestFx *test_fx;          /* the gateway passes the Kernel, not the test */

static void test_log(void *opaque, int level, const char *line)
{
    TestFx *f = opaque;

    if (f->nlog < TEST_LOG_LINES) {
        snprintf(f->log[f->nlog++], sizeof(f->log[0]), "%s", line);
    }
}

static unsigned test_count(const TestFx *f, const char *needle)
{
    unsigned n = 0;

    for (unsigned i = 0; i < f->nlog; i++) {
        n += strstr(f->log[i], needle) != NULL;
    }
    return n;
}

static uint64_t test_sym(TestFx *f, const char *name)
{
    const KSym *s = ksyms_find(&f->k->syms, name);

    if (!s) {
        fail_msg("no served symbol %s", name);
    }
    return s->addr;
}

/* Calls the served function name as guest code would; returns RAX. */
static uint64_t test_call(TestFx *f, const char *name, unsigned n, ...)
{
    uint64_t args[6] = {0}, ret = 0;
    va_list ap;

    va_start(ap, n);
    for (unsigned i = 0; i < n; i++) {
        args[i] = va_arg(ap, uint64_t);
    }
    va_end(ap);
    if (kernel_call(f->k, -1, KERNEL_PHASE_RUN, test_sym(f, name), args, n, &ret) != 0) {
        return (uint64_t)-EFAULT;
    }
    return ret;
}

static bool test_pending(TestFx *f, uint64_t work)
{
    return kernel_field_read(f->k, work, "work_struct", "data.counter") &
           (1ull << kernel_enum(f->k, "WORK_STRUCT_PENDING_BIT"));
}

/* The work function: work_struct * in RDI. */
static uint64_t test_work_fn(void *opaque, VcpuCall *c)
{
    TestFx *f = test_fx;
    uint64_t wq = kernel_read_u64(f->k, test_sym(f, "system_wq"));

    if (f->runs < 8) {
        f->args[f->runs] = c->arg[0];
    }
    f->runs++;
    f->phase = kernel_phase(f->k);
    f->pending_when_run = test_pending(f, c->arg[0]);
    if (f->action == TEST_WORK_REQUEUE) {
        test_call(f, "queue_work_on", 3, (uint64_t)TEST_WORK_CPU_UNBOUND, wq, c->arg[0]);
    } else if (f->action == TEST_WORK_CANCEL_SELF) {
        test_call(f, "cancel_work_sync", 1, c->arg[0]);
    }
    return 0;
}

static int setup(void **state)
{
    TestFx *f = calloc(1, sizeof(*f));
    KernelConfig cfg = {.btf_path = test_kimage()->vmlinux};
    KernelHostOps ops = {.log = test_log};
    SlError e = {{0}};

    assert_non_null(f);
    ops.opaque = f;
    if (kernel_new(&cfg, &ops, &f->k, &e) != 0 || kapi_fn(f->k, "sluice_test_work", test_work_fn, &e)) {
        fail_msg("kernel: %s", e.msg);
    }
    test_fx = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    TestFx *f = *state;

    kernel_free(f->k);
    free(f);
    test_fx = NULL;
    return 0;
}

static uint64_t test_alloc(TestFx *f, const char *type)
{
    uint64_t va = kmem_kmalloc(&f->k->mem, (uint64_t)kernel_sizeof(f->k, type), 64, true);

    assert_true(va != 0);
    return va;
}

static const char *test_what(TestFx *f)
{
    return vcpu_report(f->k->cpu)->what;
}

/* ---- IRQ ---- */

static void test_irq__request_then_free__records_handler_and_returns_name(void **state)
{
    TestFx *f = *state;
    uint64_t name = kernel_strdup(f->k, "eth0"), dev = test_alloc(f, "net_device");
    uint64_t handler = test_sym(f, "sluice_test_work");
    const KIrqAction *a = NULL;

    assert_int_equal(f->k->irq.depth[TEST_IRQ], 1);       /* no handler: shut down */
    assert_int_equal(test_call(f, "request_threaded_irq", 6, (uint64_t)TEST_IRQ, handler,
                               (uint64_t)0, (uint64_t)TEST_IRQF_SHARED, name, dev), 0);
    for (unsigned i = 0; i < KIRQ_MAX_ACTIONS; i++) {
        a = f->k->irq.actions[i].used ? &f->k->irq.actions[i] : a;
    }
    assert_non_null(a);
    assert_int_equal(a->irq, TEST_IRQ);
    assert_int_equal(a->handler, handler);
    assert_int_equal(a->dev_id, dev);
    assert_int_equal(a->name, name);
    assert_int_equal(a->flags, TEST_IRQF_SHARED);
    assert_int_equal(f->k->irq.depth[TEST_IRQ], 0);       /* started */
    assert_int_equal(test_call(f, "free_irq", 2, (uint64_t)TEST_IRQ, dev), name);
    assert_false(a->used);
    assert_int_equal(f->k->irq.depth[TEST_IRQ], 1);
    assert_int_equal(f->k->warnings, 0);
}

static void test_irq__shared_and_exclusive_on_one_line__ebusy_with_flags_mismatch(void **state)
{
    TestFx *f = *state;
    uint64_t h = test_sym(f, "sluice_test_work");
    uint64_t a = kernel_strdup(f->k, "a"), b = kernel_strdup(f->k, "b");

    assert_int_equal(test_call(f, "request_threaded_irq", 6, (uint64_t)TEST_IRQ, h, (uint64_t)0,
                               (uint64_t)TEST_IRQF_SHARED, a, (uint64_t)1), 0);
    assert_int_equal(test_call(f, "request_threaded_irq", 6, (uint64_t)TEST_IRQ, h, (uint64_t)0,
                               (uint64_t)TEST_IRQF_SHARED, b, (uint64_t)2), 0);
    assert_int_equal((int)test_call(f, "request_threaded_irq", 6, (uint64_t)TEST_IRQ, h,
                                    (uint64_t)0, (uint64_t)0, b, (uint64_t)3), -EBUSY);
    assert_int_equal(test_count(f, "genirq: Flags mismatch irq 11. 00000000 (b) vs. 00000080 (a)"), 1);
    /* Shared needs a dev_id; a line beyond the table does not exist. */
    assert_int_equal((int)test_call(f, "request_threaded_irq", 6, (uint64_t)TEST_IRQ, h,
                                    (uint64_t)0, (uint64_t)TEST_IRQF_SHARED, b, (uint64_t)0), -EINVAL);
    assert_int_equal((int)test_call(f, "request_threaded_irq", 6, (uint64_t)KIRQ_NR, h,
                                    (uint64_t)0, (uint64_t)0, b, (uint64_t)4), -EINVAL);
    assert_int_equal(f->k->irq.requested_total, 2);
}

static void test_irq__free_twice__warns_already_free(void **state)
{
    TestFx *f = *state;
    uint64_t h = test_sym(f, "sluice_test_work"), n = kernel_strdup(f->k, "x");

    assert_int_equal(test_call(f, "request_threaded_irq", 6, (uint64_t)TEST_IRQ, h, (uint64_t)0,
                               (uint64_t)0, n, (uint64_t)7), 0);
    assert_int_equal(test_call(f, "free_irq", 2, (uint64_t)TEST_IRQ, (uint64_t)7), n);
    assert_int_equal(test_call(f, "free_irq", 2, (uint64_t)TEST_IRQ, (uint64_t)7), 0);
    assert_int_equal(test_count(f, "Trying to free already-free IRQ 11"), 1);
    assert_int_equal(test_count(f, "WARNING: CPU: 0 PID: 1 at kernel/irq/manage.c __free_irq"), 1);
    assert_int_equal(f->k->warnings, 1);
    assert_false(kernel_dead(f->k));
}

static void test_irq__disable_enable__depth_counts_and_unbalanced_enable_warns(void **state)
{
    TestFx *f = *state;
    uint64_t h = test_sym(f, "sluice_test_work"), n = kernel_strdup(f->k, "x");

    assert_int_equal(test_call(f, "request_threaded_irq", 6, (uint64_t)TEST_IRQ, h, (uint64_t)0,
                               (uint64_t)0, n, (uint64_t)7), 0);
    test_call(f, "disable_irq_nosync", 1, (uint64_t)TEST_IRQ);
    test_call(f, "disable_irq", 1, (uint64_t)TEST_IRQ);
    assert_int_equal(f->k->irq.depth[TEST_IRQ], 2);
    test_call(f, "enable_irq", 1, (uint64_t)TEST_IRQ);
    test_call(f, "enable_irq", 1, (uint64_t)TEST_IRQ);
    assert_int_equal(f->k->irq.depth[TEST_IRQ], 0);
    assert_int_equal(f->k->warnings, 0);
    test_call(f, "enable_irq", 1, (uint64_t)TEST_IRQ);
    assert_int_equal(f->k->irq.depth[TEST_IRQ], 0);
    assert_int_equal(test_count(f, "Unbalanced enable for IRQ 11"), 1);
    assert_int_equal(f->k->warnings, 1);
}

static void test_irq__disable_irq_holding_a_spinlock__sleeping_report(void **state)
{
    TestFx *f = *state;

    f->k->atomic_depth = 1;      /* as if the driver held a spinlock */
    assert_int_equal((int)test_call(f, "disable_irq", 1, (uint64_t)TEST_IRQ), -EFAULT);
    assert_non_null(strstr(test_what(f), "sleeping function disable_irq called from invalid context"));
}

/* ---- NAPI ---- */

static uint64_t test_napi_bit(TestFx *f, const char *name)
{
    return 1ull << kernel_enum(f->k, name);
}

static uint64_t test_napi_state(TestFx *f, uint64_t napi)
{
    return kernel_field_read(f->k, napi, "napi_struct", "state");
}

static uint64_t test_napi_new(TestFx *f)
{
    uint64_t napi = test_alloc(f, "napi_struct"), dev = test_alloc(f, "net_device");

    test_call(f, "netif_napi_add_weight", 4, dev, napi, test_sym(f, "sluice_test_work"),
              (uint64_t)64);
    return napi;
}

static void test_napi__enable_schedule_complete_disable__state_bits_as_linux(void **state)
{
    TestFx *f = *state;
    uint64_t napi = test_napi_new(f);
    uint64_t sched = test_napi_bit(f, "NAPI_STATE_SCHED"), missed = test_napi_bit(f, "NAPI_STATE_MISSED");
    uint64_t npsvc = test_napi_bit(f, "NAPI_STATE_NPSVC");

    assert_int_equal(test_napi_state(f, napi), sched | npsvc);   /* added disabled */
    test_call(f, "napi_enable", 1, napi);
    assert_int_equal(test_napi_state(f, napi), 0);
    assert_int_equal(test_call(f, "napi_schedule_prep", 1, napi), 1);
    test_call(f, "__napi_schedule", 1, napi);
    assert_int_equal(test_call(f, "napi_schedule_prep", 1, napi), 0);   /* missed */
    assert_int_equal(test_napi_state(f, napi), sched | missed);
    assert_int_equal(f->k->napi.scheduled_total, 1);
    /* The missed schedule keeps it scheduled once more. */
    assert_int_equal(test_call(f, "napi_complete_done", 2, napi, (uint64_t)3), 0);
    assert_int_equal(test_napi_state(f, napi), sched);
    assert_int_equal(test_call(f, "napi_complete_done", 2, napi, (uint64_t)0), 1);
    assert_int_equal(test_napi_state(f, napi), 0);
    for (unsigned i = 0; i < KNAPI_MAX_SCHEDULED; i++) {
        assert_false(f->k->napi.sched[i].used);
    }
    test_call(f, "napi_disable", 1, napi);
    assert_int_equal(test_napi_state(f, napi), sched | npsvc);
    assert_false(kernel_dead(f->k));
}

static void test_napi__enable_twice__bug(void **state)
{
    TestFx *f = *state;
    uint64_t napi = test_napi_new(f);

    test_call(f, "napi_enable", 1, napi);
    assert_int_equal((int)test_call(f, "napi_enable", 1, napi), -EFAULT);
    assert_non_null(strstr(test_what(f), "kernel BUG at net/core/dev.c: napi_enable"));
}

static void test_napi__disable_twice__deadlock_report(void **state)
{
    TestFx *f = *state;
    uint64_t napi = test_napi_new(f);

    test_call(f, "napi_enable", 1, napi);
    test_call(f, "napi_disable", 1, napi);
    assert_false(kernel_dead(f->k));
    assert_int_equal((int)test_call(f, "napi_disable", 1, napi), -EFAULT);
    assert_non_null(strstr(test_what(f), "deadlock: napi_disable"));
}

/* ---- work ---- */

/* INIT_DELAYED_WORK, as the driver does it inline. */
static uint64_t test_dwork_new(TestFx *f)
{
    uint64_t dwork = test_alloc(f, "delayed_work");
    long t = kernel_offsetof(f->k, "delayed_work", "timer");

    kernel_field_write(f->k, dwork, "delayed_work", "work.func", test_sym(f, "sluice_test_work"));
    test_call(f, "init_timer_key", 5, dwork + (uint64_t)t, test_sym(f, "delayed_work_timer_fn"),
              (uint64_t)0, (uint64_t)0, (uint64_t)0);
    return dwork;
}

static uint64_t test_wq(TestFx *f)
{
    return kernel_read_u64(f->k, test_sym(f, "system_wq"));
}

static void test_advance_jiffies(TestFx *f, unsigned j)
{
    kernel_advance_time(f->k, (uint64_t)j * 1000000000ull / f->k->cfg.hz);
}

static void test_work__delayed__runs_when_due_in_process_context(void **state)
{
    TestFx *f = *state;
    uint64_t dwork = test_dwork_new(f), work = dwork + (uint64_t)kernel_offsetof(f->k, "delayed_work", "work");
    uint64_t now = kwork_jiffies(f->k);

    assert_int_equal(test_call(f, "queue_delayed_work_on", 4, (uint64_t)TEST_WORK_CPU_UNBOUND,
                               test_wq(f), dwork, (uint64_t)10), 1);
    assert_true(test_pending(f, work));
    assert_int_equal(kernel_field_read(f->k, dwork, "delayed_work", "timer.expires"), now + 10);
    assert_int_equal(test_call(f, "queue_delayed_work_on", 4, (uint64_t)TEST_WORK_CPU_UNBOUND,
                               test_wq(f), dwork, (uint64_t)1), 0);        /* already pending */
    kernel_run_due_work(f->k);
    test_advance_jiffies(f, 9);
    kernel_run_due_work(f->k);
    assert_int_equal(f->runs, 0);
    test_advance_jiffies(f, 1);
    kernel_run_due_work(f->k);
    assert_int_equal(f->runs, 1);
    assert_int_equal(f->args[0], work);
    assert_int_equal(f->phase, KERNEL_PHASE_RUN);
    assert_false(f->pending_when_run);
    assert_false(test_pending(f, work));
    kernel_run_due_work(f->k);
    assert_int_equal(f->runs, 1);
    assert_int_equal(f->k->warnings, 0);
}

static void test_work__cancel_sync__dequeues_and_says_whether_pending(void **state)
{
    TestFx *f = *state;
    uint64_t dwork = test_dwork_new(f);

    test_call(f, "queue_delayed_work_on", 4, (uint64_t)TEST_WORK_CPU_UNBOUND, test_wq(f), dwork,
              (uint64_t)5);
    assert_int_equal(test_call(f, "cancel_delayed_work_sync", 1, dwork), 1);
    assert_int_equal(test_call(f, "cancel_delayed_work_sync", 1, dwork), 0);
    test_advance_jiffies(f, 10);
    kernel_run_due_work(f->k);
    assert_int_equal(f->runs, 0);
    assert_int_equal(f->k->work.cancelled_total, 1);
}

static void test_work__due_together__run_earliest_first_then_in_queue_order(void **state)
{
    TestFx *f = *state;
    uint64_t w1 = test_alloc(f, "work_struct"), w2 = test_alloc(f, "work_struct");
    uint64_t d3 = test_dwork_new(f), fn = test_sym(f, "sluice_test_work");

    kernel_field_write(f->k, w1, "work_struct", "func", fn);
    kernel_field_write(f->k, w2, "work_struct", "func", fn);
    test_call(f, "queue_delayed_work_on", 4, (uint64_t)TEST_WORK_CPU_UNBOUND, test_wq(f), d3,
              (uint64_t)2);
    test_advance_jiffies(f, 3);
    assert_int_equal(test_call(f, "queue_work_on", 3, (uint64_t)0, test_wq(f), w2), 1);
    assert_int_equal(test_call(f, "queue_work_on", 3, (uint64_t)0, test_wq(f), w1), 1);
    kernel_run_due_work(f->k);
    assert_int_equal(f->runs, 3);
    assert_int_equal(f->args[0], d3 + (uint64_t)kernel_offsetof(f->k, "delayed_work", "work"));
    assert_int_equal(f->args[1], w2);
    assert_int_equal(f->args[2], w1);
}

static void test_work__requeues_itself_forever__bounded_per_call(void **state)
{
    TestFx *f = *state;
    uint64_t w = test_alloc(f, "work_struct");

    kernel_field_write(f->k, w, "work_struct", "func", test_sym(f, "sluice_test_work"));
    f->action = TEST_WORK_REQUEUE;
    test_call(f, "queue_work_on", 3, (uint64_t)0, test_wq(f), w);
    kernel_run_due_work(f->k);
    assert_false(kernel_dead(f->k));
    assert_int_equal(f->runs, 256);
    assert_true(test_pending(f, w));                    /* still queued for the next call */
}

static void test_work__cancel_sync_of_itself__deadlock_report(void **state)
{
    TestFx *f = *state;
    uint64_t w = test_alloc(f, "work_struct");

    kernel_field_write(f->k, w, "work_struct", "func", test_sym(f, "sluice_test_work"));
    f->action = TEST_WORK_CANCEL_SELF;
    test_call(f, "queue_work_on", 3, (uint64_t)0, test_wq(f), w);
    kernel_run_due_work(f->k);
    assert_true(kernel_dead(f->k));
    assert_non_null(strstr(test_what(f), "deadlock: cancel_work_sync of the work item that is running"));
}

/* ---- timers ---- */

static void test_timer__mod_and_del__expires_and_pending_as_linux(void **state)
{
    TestFx *f = *state;
    uint64_t t = test_alloc(f, "timer_list"), now = kwork_jiffies(f->k);

    test_call(f, "init_timer_key", 5, t, test_sym(f, "sluice_test_work"), (uint64_t)0,
              (uint64_t)0, (uint64_t)0);
    assert_int_equal(test_call(f, "mod_timer", 2, t, now + 5), 0);
    assert_int_equal(kernel_field_read(f->k, t, "timer_list", "expires"), now + 5);
    assert_true(kernel_field_read(f->k, t, "timer_list", "entry.pprev") != 0);   /* timer_pending */
    assert_int_equal(test_call(f, "mod_timer", 2, t, now + 7), 1);
    assert_int_equal(kernel_field_read(f->k, t, "timer_list", "expires"), now + 7);
    assert_int_equal(test_call(f, "del_timer", 1, t), 1);
    assert_int_equal(kernel_field_read(f->k, t, "timer_list", "entry.pprev"), 0);
    assert_int_equal(test_call(f, "timer_delete_sync", 1, t), 0);
    f->k->atomic_depth = 1;
    assert_int_equal((int)test_call(f, "timer_delete_sync", 1, t), -EFAULT);
    assert_non_null(strstr(test_what(f), "sleeping function timer_delete_sync"));
}

/* ---- carrier, tx queue ---- */

static void test_netif__carrier_and_tx_wake__bits_and_counts(void **state)
{
    TestFx *f = *state;
    uint64_t dev = test_alloc(f, "net_device"), q = test_alloc(f, "netdev_queue");
    uint64_t nocarrier = 1ull << kernel_enum(f->k, "__LINK_STATE_NOCARRIER");
    uint64_t xoff = 1ull << kernel_enum(f->k, "__QUEUE_STATE_DRV_XOFF");
    uint64_t stack_xoff = 1ull << kernel_enum(f->k, "__QUEUE_STATE_STACK_XOFF");

    kernel_field_write(f->k, dev, "net_device", "reg_state",
                       (uint64_t)kernel_enum(f->k, "NETREG_REGISTERED"));
    test_call(f, "netif_carrier_off", 1, dev);
    test_call(f, "netif_carrier_off", 1, dev);
    assert_true(kernel_field_read(f->k, dev, "net_device", "state") & nocarrier);
    assert_int_equal(kernel_field_read(f->k, dev, "net_device", "carrier_down_count.counter"), 1);
    test_call(f, "netif_carrier_on", 1, dev);
    assert_false(kernel_field_read(f->k, dev, "net_device", "state") & nocarrier);
    assert_int_equal(kernel_field_read(f->k, dev, "net_device", "carrier_up_count.counter"), 1);

    /* Only DRV_XOFF is the driver's: the stack's bits stay. */
    kernel_field_write(f->k, q, "netdev_queue", "state", xoff | stack_xoff);
    test_call(f, "netif_tx_wake_queue", 1, q);
    assert_int_equal(kernel_field_read(f->k, q, "netdev_queue", "state"), stack_xoff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_irq__request_then_free__records_handler_and_returns_name),
        T(test_irq__shared_and_exclusive_on_one_line__ebusy_with_flags_mismatch),
        T(test_irq__free_twice__warns_already_free),
        T(test_irq__disable_enable__depth_counts_and_unbalanced_enable_warns),
        T(test_irq__disable_irq_holding_a_spinlock__sleeping_report),
        T(test_napi__enable_schedule_complete_disable__state_bits_as_linux),
        T(test_napi__enable_twice__bug),
        T(test_napi__disable_twice__deadlock_report),
        T(test_work__delayed__runs_when_due_in_process_context),
        T(test_work__cancel_sync__dequeues_and_says_whether_pending),
        T(test_work__due_together__run_earliest_first_then_in_queue_order),
        T(test_work__requeues_itself_forever__bounded_per_call),
        T(test_work__cancel_sync_of_itself__deadlock_report),
        T(test_timer__mod_and_del__expires_and_pending_as_linux),
        T(test_netif__carrier_and_tx_wake__bits_and_counts),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
