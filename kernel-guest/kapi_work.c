/*
 * kernel-guest/kapi_work.c: work items and timers on the virtual clock
 * (kernel/workqueue.c, kernel/time/timer.c): queue_work_on,
 * queue_delayed_work_on, cancel_work_sync, cancel_delayed_work_sync,
 * delayed_work_timer_fn, mod_timer, add_timer, del_timer,
 * timer_delete_sync.
 *
 * A queued item is a row {work, delayed_work, workqueue, due jiffy,
 * queueing order, module}; the driver sees what Linux shows it: the
 * WORK_STRUCT_PENDING bit in work.data while queued, dwork->timer.expires
 * for delayed work.  kernel_run_due_work() runs the items whose jiffy has
 * come as a worker would: in process context (phase RUN), pending bit
 * cleared first, earliest due first, then in queueing order.
 *
 * Timers are recorded the same way (timer->expires, and entry.pprev
 * non-NULL so the inline timer_pending() is true); kwork_run_due_timers()
 * fires them in softirq context from the event loop (ksched.c).
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>

/* Items run per kernel_run_due_work(): a work item that requeues itself
 * with no delay would otherwise keep the caller forever; the rest stays
 * due for the next call, as it would stay on a busy worker's list. */
#define KWORK_MAX_RUNS_PER_CALL 256

uint64_t kwork_jiffies(Kernel *k)
{
    return kernel_read_u64(k, k->jiffies_va);
}

static bool kwork_due(uint64_t due, uint64_t now)
{
    return (int64_t)(now - due) >= 0;         /* time_after_eq(now, due) */
}

static uint64_t kwork_data_va(Kernel *k, uint64_t work)
{
    long off = kernel_offsetof(k, "work_struct", "data.counter");

    return off < 0 ? 0 : work + (uint64_t)off;
}

static int64_t kwork_pending_bit(Kernel *k)
{
    return kernel_enum(k, "WORK_STRUCT_PENDING_BIT");
}

static KWork *kwork_find(Kernel *k, uint64_t work)
{
    for (unsigned i = 0; i < KWORK_MAX; i++) {
        if (k->work.items[i].used && k->work.items[i].work == work) {
            return &k->work.items[i];
        }
    }
    return NULL;
}

/* test_and_set_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(work)) */
static bool kwork_claim(Kernel *k, uint64_t work)
{
    uint64_t va = kwork_data_va(k, work);
    int64_t bit = kwork_pending_bit(k);

    return va && bit >= 0 ? knet_assign_bit(k, va, bit, true) : true;
}

static void kwork_add(Kernel *k, VcpuCall *c, uint64_t work, uint64_t dwork, uint64_t wq,
                      uint64_t due)
{
    for (unsigned i = 0; i < KWORK_MAX; i++) {
        KWork *w = &k->work.items[i];

        if (!w->used) {
            *w = (KWork){.used = true, .seq = k->work.next_seq++, .module = k->current_module,
                         .work = work, .dwork = dwork, .wq = wq, .due = due};
            k->work.queued_total++;
            return;
        }
    }
    vcpu_raise(c->cpu, "sluice: more than %d work items pending at once", KWORK_MAX);
}

/* queue_work_on(cpu, wq, work): false if it was already pending. */
static uint64_t kapi_queue_work_on(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    if (kwork_claim(k, c->arg[2])) {
        return 0;
    }
    kwork_add(k, c, c->arg[2], 0, c->arg[1], kwork_jiffies(k));
    return 1;
}

/* queue_delayed_work_on(cpu, wq, dwork, delay) */
static uint64_t kapi_queue_delayed_work_on(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t dwork = c->arg[2];
    long woff = kernel_offsetof(k, "delayed_work", "work");
    long toff = kernel_offsetof(k, "delayed_work", "timer");
    const KSym *fn = ksyms_find(&k->syms, "delayed_work_timer_fn");
    uint64_t work, due;

    if (woff < 0 || toff < 0) {
        return 0;
    }
    work = dwork + (uint64_t)woff;
    if (kwork_claim(k, work)) {
        return 0;
    }
    if (fn && kernel_field_read(k, dwork, "delayed_work", "timer.function") != fn->addr) {
        knet_warn(k, "kernel/workqueue.c", "__queue_delayed_work",
                  "delayed work 0x%llx whose timer function is not delayed_work_timer_fn "
                  "(INIT_DELAYED_WORK missing?)", (unsigned long long)dwork);
    }
    due = kwork_jiffies(k) + c->arg[3];
    if (c->arg[3]) {
        kernel_field_write(k, dwork, "delayed_work", "wq", c->arg[1]);
        kernel_field_write(k, dwork, "delayed_work", "cpu", c->arg[0] & 0xffffffffu);
        kernel_field_write(k, dwork, "delayed_work", "timer.expires", due);
    }
    kwork_add(k, c, work, dwork, c->arg[1], due);
    return 1;
}

/* delayed_work_timer_fn(timer): the timer of a delayed work expired; its
 * work is due now.  (Delayed work is kept as one row, so this only runs
 * when a driver calls it itself.) */
static uint64_t kapi_delayed_work_timer_fn(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    long toff = kernel_offsetof(k, "delayed_work", "timer");
    KWork *w;

    if (toff < 0) {
        return 0;
    }
    for (unsigned i = 0; i < KWORK_MAX; i++) {
        w = &k->work.items[i];
        if (w->used && w->dwork && w->dwork + (uint64_t)toff == c->arg[0]) {
            w->due = kwork_jiffies(k);
        }
    }
    return 0;
}

/* __cancel_work_timer(work, is_dwork): dequeues, clears PENDING, and
 * returns whether it was pending.  Waiting for a running instance is
 * where it sleeps; on one CPU only the work itself can be running, and
 * waiting for yourself never ends. */
static uint64_t kwork_cancel_sync(Kernel *k, VcpuCall *c, uint64_t work)
{
    KWork *w;
    uint64_t va = kwork_data_va(k, work);
    int64_t bit = kwork_pending_bit(k);
    bool pending;

    kernel_might_sleep(k, vcpu_call_name(c));
    if (!va || bit < 0 || vcpu_dead(c->cpu)) {
        return 0;
    }
    if (k->work.running == work) {
        vcpu_raise(c->cpu, "deadlock: %s of the work item that is running now waits for itself "
                   "[work=0x%llx]", vcpu_call_name(c), (unsigned long long)work);
        return 0;
    }
    pending = knet_assign_bit(k, va, bit, false);
    w = kwork_find(k, work);
    if (w) {
        *w = (KWork){0};
        k->work.cancelled_total++;
    }
    return pending;
}

static uint64_t kapi_cancel_work_sync(void *opaque, VcpuCall *c)
{
    return kwork_cancel_sync(opaque, c, c->arg[0]);
}

static uint64_t kapi_cancel_delayed_work_sync(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    long woff = kernel_offsetof(k, "delayed_work", "work");

    return woff < 0 ? 0 : kwork_cancel_sync(k, c, c->arg[0] + (uint64_t)woff);
}

static KWork *kwork_next_due(Kernel *k, uint64_t now)
{
    KWork *best = NULL;

    for (unsigned i = 0; i < KWORK_MAX; i++) {
        KWork *w = &k->work.items[i];

        if (w->used && kwork_due(w->due, now) &&
            (!best || (int64_t)(w->due - best->due) < 0 ||
             (w->due == best->due && w->seq < best->seq))) {
            best = w;
        }
    }
    return best;
}

void kernel_run_due_work(Kernel *k)
{
    uint64_t va;
    int64_t bit = kwork_pending_bit(k);

    for (unsigned n = 0; n < KWORK_MAX_RUNS_PER_CALL && !vcpu_dead(k->cpu); n++) {
        KWork *w = kwork_next_due(k, kwork_jiffies(k));
        KWork item;
        uint64_t fn;
        int err;

        if (!w || bit < 0) {
            return;
        }
        item = *w;
        *w = (KWork){0};
        /* set_work_pool_and_clear_pending(): the item may requeue itself. */
        va = kwork_data_va(k, item.work);
        if (va) {
            knet_assign_bit(k, va, bit, false);
        }
        fn = kernel_field_read(k, item.work, "work_struct", "func");
        k->work.running = item.work;
        k->work.run_total++;
        err = kernel_call(k, item.module, KERNEL_PHASE_RUN, fn, &item.work, 1, NULL);
        k->work.running = 0;
        if (err) {
            return;
        }
    }
}

/* ---- timers ---- */

unsigned kwork_run_due_timers(Kernel *k)
{
    unsigned ran = 0;

    while (ran < KWORK_MAX_RUNS_PER_CALL && !vcpu_dead(k->cpu)) {
        KTimer *best = NULL, t;
        uint64_t now = kwork_jiffies(k), fn;

        for (unsigned i = 0; i < KWORK_MAX_TIMERS; i++) {
            KTimer *x = &k->work.timers[i];

            if (x->used && kwork_due(x->expires, now) &&
                (!best || (int64_t)(x->expires - best->expires) < 0 ||
                 (x->expires == best->expires && x->seq < best->seq))) {
                best = x;
            }
        }
        if (!best) {
            break;
        }
        t = *best;
        *best = (KTimer){0};
        /* detach_timer(): not pending while its function runs. */
        kernel_field_write(k, t.timer, "timer_list", "entry.pprev", 0);
        fn = kernel_field_read(k, t.timer, "timer_list", "function");
        ran++;
        if (ksched_call_softirq(k, t.module, fn, &t.timer, 1, NULL) != 0) {
            break;
        }
    }
    return ran;
}

uint64_t kwork_next_due_jiffy(Kernel *k)
{
    uint64_t best = UINT64_MAX, now = kwork_jiffies(k);

    for (unsigned i = 0; i < KWORK_MAX_TIMERS; i++) {
        const KTimer *x = &k->work.timers[i];

        if (x->used) {
            uint64_t due = kwork_due(x->expires, now) ? now : x->expires;

            best = due < best ? due : best;
        }
    }
    for (unsigned i = 0; i < KWORK_MAX; i++) {
        const KWork *w = &k->work.items[i];

        if (w->used) {
            uint64_t due = kwork_due(w->due, now) ? now : w->due;

            best = due < best ? due : best;
        }
    }
    return best;
}

static KTimer *ktimer_find(Kernel *k, uint64_t timer)
{
    for (unsigned i = 0; i < KWORK_MAX_TIMERS; i++) {
        if (k->work.timers[i].used && k->work.timers[i].timer == timer) {
            return &k->work.timers[i];
        }
    }
    return NULL;
}

/* Arms timer for expires; returns whether it was pending before. */
static bool ktimer_arm(Kernel *k, VcpuCall *c, uint64_t timer, uint64_t expires)
{
    KTimer *t = ktimer_find(k, timer);
    bool was = t != NULL;

    for (unsigned i = 0; i < KWORK_MAX_TIMERS && !t; i++) {
        t = k->work.timers[i].used ? NULL : &k->work.timers[i];
    }
    if (!t) {
        vcpu_raise(c->cpu, "sluice: more than %d timers pending at once", KWORK_MAX_TIMERS);
        return false;
    }
    *t = (KTimer){.used = true, .seq = k->work.next_seq++, .module = k->current_module,
                  .timer = timer, .expires = expires};
    kernel_field_write(k, timer, "timer_list", "expires", expires);
    kernel_field_write(k, timer, "timer_list", "entry.pprev", k->work.timer_base);
    return was;
}

static bool ktimer_disarm(Kernel *k, uint64_t timer)
{
    KTimer *t = ktimer_find(k, timer);

    if (!t) {
        return false;
    }
    *t = (KTimer){0};
    kernel_field_write(k, timer, "timer_list", "entry.pprev", 0);
    kernel_field_write(k, timer, "timer_list", "entry.next", 0);
    return true;
}

/* mod_timer(timer, expires): 1 if it was pending, 0 if not. */
static uint64_t kapi_mod_timer(void *opaque, VcpuCall *c)
{
    return ktimer_arm(opaque, c, c->arg[0], c->arg[1]);
}

/* add_timer(timer): arms it for the expires the driver set.  Linux BUGs
 * when it is already pending. */
static uint64_t kapi_add_timer(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    if (ktimer_find(k, c->arg[0])) {
        vcpu_raise(c->cpu, "kernel BUG at kernel/time/timer.c: add_timer of a pending timer "
                   "[timer=0x%llx]", (unsigned long long)c->arg[0]);
        return 0;
    }
    ktimer_arm(k, c, c->arg[0], kernel_field_read(k, c->arg[0], "timer_list", "expires"));
    return 0;
}

/* del_timer(timer): 1 if it was pending. */
static uint64_t kapi_del_timer(void *opaque, VcpuCall *c)
{
    return ktimer_disarm(opaque, c->arg[0]);
}

/* timer_delete_sync(timer): also waits for a running callback, so it may
 * sleep; on one CPU a callback is never running while its caller is. */
static uint64_t kapi_timer_delete_sync(void *opaque, VcpuCall *c)
{
    kernel_might_sleep(opaque, vcpu_call_name(c));
    return ktimer_disarm(opaque, c->arg[0]);
}

int kapi_work_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"queue_work_on", kapi_queue_work_on},
        {"queue_delayed_work_on", kapi_queue_delayed_work_on},
        {"delayed_work_timer_fn", kapi_delayed_work_timer_fn},
        {"cancel_work_sync", kapi_cancel_work_sync},
        {"cancel_delayed_work_sync", kapi_cancel_delayed_work_sync},
        {"mod_timer", kapi_mod_timer},
        {"add_timer", kapi_add_timer},
        {"del_timer", kapi_del_timer},
        {"timer_delete_sync", kapi_timer_delete_sync},
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    k->work.timer_base = kapi_data(k, "sluice_timer_base", 8, 8, e);
    return k->work.timer_base ? 0 : -ENOSPC;
}
