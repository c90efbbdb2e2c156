/*
 * kernel-guest/kapi_napi.c: NAPI instance states as net/core/dev.c moves
 * them: napi_enable, napi_disable, napi_schedule_prep, __napi_schedule,
 * napi_complete_done.  The state word lives in the driver's napi_struct
 * (drivers test it inline); the bit numbers come from the kernel's BTF
 * (enum NAPI_STATE_*).
 *
 * __napi_schedule() records the instance on the CPU's poll list (the
 * table in KNapiState); ksched.c runs the polls in softirq context
 * (net_rx_action), and napi_disable() of a scheduled instance runs the
 * pending poll first, as Linux waits for it.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>

typedef struct KNapiBits {
    uint64_t sched, missed, disable, npsvc, threaded, sched_threaded, prefer_busy, in_busy;
} KNapiBits;

static bool knapi_bits(Kernel *k, KNapiBits *b)
{
    static const char *const names[] = {
        "NAPI_STATE_SCHED", "NAPI_STATE_MISSED", "NAPI_STATE_DISABLE", "NAPI_STATE_NPSVC",
        "NAPI_STATE_THREADED", "NAPI_STATE_SCHED_THREADED", "NAPI_STATE_PREFER_BUSY_POLL",
        "NAPI_STATE_IN_BUSY_POLL",
    };
    uint64_t *out[] = {&b->sched, &b->missed, &b->disable, &b->npsvc, &b->threaded,
                       &b->sched_threaded, &b->prefer_busy, &b->in_busy};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int64_t v = kernel_enum(k, names[i]);

        if (v < 0 || v > 63) {
            return false;
        }
        *out[i] = 1ull << v;
    }
    return true;
}

static uint64_t knapi_state_va(Kernel *k, uint64_t napi)
{
    long off = kernel_offsetof(k, "napi_struct", "state");

    return off < 0 ? 0 : napi + (uint64_t)off;
}

static KNapiSched *knapi_find(Kernel *k, uint64_t napi)
{
    for (unsigned i = 0; i < KNAPI_MAX_SCHEDULED; i++) {
        if (k->napi.sched[i].used && k->napi.sched[i].napi == napi) {
            return &k->napi.sched[i];
        }
    }
    return NULL;
}

/* ____napi_schedule: onto the poll list, once. */
void knapi_list_add(Kernel *k, uint64_t napi)
{
    if (knapi_find(k, napi)) {
        return;
    }
    for (unsigned i = 0; i < KNAPI_MAX_SCHEDULED; i++) {
        KNapiSched *s = &k->napi.sched[i];

        if (!s->used) {
            *s = (KNapiSched){.used = true, .seq = k->napi.next_seq++, .napi = napi};
            k->napi.scheduled_total++;
            return;
        }
    }
    vcpu_raise(k->cpu, "sluice: more than %d NAPI instances scheduled at once", KNAPI_MAX_SCHEDULED);
}

void knapi_list_del(Kernel *k, uint64_t napi)
{
    KNapiSched *s = knapi_find(k, napi);

    if (s) {
        *s = (KNapiSched){0};
    }
}

uint64_t knapi_first(Kernel *k)
{
    KNapiSched *best = NULL;

    for (unsigned i = 0; i < KNAPI_MAX_SCHEDULED; i++) {
        KNapiSched *s = &k->napi.sched[i];

        if (s->used && (!best || s->seq < best->seq)) {
            best = s;
        }
    }
    return best ? best->napi : 0;
}

void knapi_forget_dev(Kernel *k, uint64_t dev)
{
    for (unsigned i = 0; i < KNAPI_MAX_SCHEDULED; i++) {
        KNapiSched *s = &k->napi.sched[i];

        if (s->used && kernel_field_read(k, s->napi, "napi_struct", "dev") == dev) {
            *s = (KNapiSched){0};
        }
    }
}

/* napi_enable(n): the instance may be scheduled from now on.  Linux
 * BUG()s when it was not disabled (SCHED clear). */
static uint64_t kapi_napi_enable(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t st = knapi_state_va(k, c->arg[0]), v;
    KNapiBits b;

    if (!st || !knapi_bits(k, &b)) {
        return 0;
    }
    v = kernel_read_u64(k, st);
    if (!(v & b.sched)) {
        vcpu_raise(c->cpu, "kernel BUG at net/core/dev.c: napi_enable of an instance that is "
                   "not disabled (NAPI_STATE_SCHED clear) [napi=0x%llx]",
                   (unsigned long long)c->arg[0]);
        return 0;
    }
    kernel_write_u64(k, st, v & ~(b.sched | b.npsvc));
    return 0;
}

/* napi_disable(n): waits until the instance is idle, then owns it (SCHED
 * and NPSVC set).  Sleeps. */
static uint64_t kapi_napi_disable(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t napi = c->arg[0], st = knapi_state_va(k, napi), v;
    KNapiBits b;

    kernel_might_sleep(k, vcpu_call_name(c));
    if (!st || !knapi_bits(k, &b) || vcpu_dead(c->cpu)) {
        return 0;
    }
    kernel_write_u64(k, st, kernel_read_u64(k, st) | b.disable);
    if (knapi_find(k, napi)) {
        /* Linux waits for the pending poll (run by the softirq, which sees
         * DISABLE and completes the instance); the poll runs here. */
        ksched_softirq(k);
    }
    v = kernel_read_u64(k, st) | b.disable;
    if (v & (b.sched | b.npsvc)) {
        {
            vcpu_raise(c->cpu, "deadlock: napi_disable of an instance that is already disabled "
                       "waits forever [napi=0x%llx]", (unsigned long long)napi);
        }
        return 0;
    }
    v |= b.sched | b.npsvc;
    v &= ~(b.threaded | b.prefer_busy | b.disable);
    kernel_write_u64(k, st, v);
    return 0;
}

/* napi_schedule_prep(n): claims the instance for scheduling; a second
 * claim while scheduled sets MISSED so the poll runs once more. */
static uint64_t kapi_napi_schedule_prep(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t st = knapi_state_va(k, c->arg[0]), v;
    KNapiBits b;

    if (!st || !knapi_bits(k, &b)) {
        return 0;
    }
    v = kernel_read_u64(k, st);
    if (v & b.disable) {
        return 0;
    }
    kernel_write_u64(k, st, v | b.sched | ((v & b.sched) ? b.missed : 0));
    return !(v & b.sched);
}

static uint64_t kapi_napi_schedule(void *opaque, VcpuCall *c)
{
    knapi_list_add(opaque, c->arg[0]);
    return 0;
}

/* napi_complete_done(n, work_done): off the poll list and idle, unless a
 * schedule was missed meanwhile (then it is rescheduled and false is
 * returned, so the driver keeps its interrupts masked). */
static uint64_t kapi_napi_complete_done(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t napi = c->arg[0], st = knapi_state_va(k, napi), v, nv;
    KNapiBits b;

    if (!st || !knapi_bits(k, &b)) {
        return 0;
    }
    v = kernel_read_u64(k, st);
    if (v & (b.npsvc | b.in_busy)) {
        return 0;
    }
    knapi_list_del(k, napi);
    if (!(v & b.sched)) {
        knet_warn(k, "net/core/dev.c", "napi_complete_done",
                  "napi_complete_done of an instance that is not scheduled [napi=0x%llx]",
                  (unsigned long long)napi);
    }
    nv = v & ~(b.missed | b.sched | b.sched_threaded | b.prefer_busy);
    if (v & b.missed) {
        nv |= b.sched;
    }
    kernel_write_u64(k, st, nv);
    if (v & b.missed) {
        knapi_list_add(k, napi);
        return 0;
    }
    return 1;
}

int kapi_napi_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"napi_enable", kapi_napi_enable},
        {"napi_disable", kapi_napi_disable},
        {"napi_schedule_prep", kapi_napi_schedule_prep},
        {"__napi_schedule", kapi_napi_schedule},
        {"__napi_schedule_irqoff", kapi_napi_schedule},
        {"napi_complete_done", kapi_napi_complete_done},
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return 0;
}
