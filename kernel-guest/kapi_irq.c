/*
 * kernel-guest/kapi_irq.c: interrupt handlers as drivers register them
 * (kernel/irq/manage.c): request_threaded_irq, free_irq, enable_irq,
 * disable_irq(_nosync), synchronize_irq.
 *
 * The table is Linux's irq_desc reduced to what a driver can observe:
 * per line the actions (handler, thread_fn, dev_id, name, flags) in
 * registration order and the disable depth.  A line with no action is
 * shut down (depth 1); the first request starts it (depth 0) unless
 * IRQF_NO_AUTOEN; freeing the last action shuts it down again.
 *
 * Delivery -- the handlers in hardirq context while a device holds its
 * line up, a thread_fn after a handler that returns IRQ_WAKE_THREAD -- is
 * ksched.c's.  Handlers never run concurrently with the caller on one CPU,
 * so synchronize_irq has nothing to wait for.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>

/* include/linux/interrupt.h */
#define KIRQ_IRQF_TRIGGER_MASK 0xfull
#define KIRQ_IRQF_SHARED 0x80ull
#define KIRQ_IRQF_PROBE_SHARED 0x100ull
#define KIRQ_IRQF_ONESHOT 0x2000ull
#define KIRQ_IRQF_NO_SUSPEND 0x4000ull
#define KIRQ_IRQF_COND_SUSPEND 0x40000ull
#define KIRQ_IRQF_NO_AUTOEN 0x80000ull
/* include/linux/irq.h: IRQ_NOTCONNECTED, never a valid line. */
#define KIRQ_NOTCONNECTED (1u << 31)

static KIrqAction *kirq_first(Kernel *k, uint32_t irq)
{
    KIrqAction *best = NULL;

    for (unsigned i = 0; i < KIRQ_MAX_ACTIONS; i++) {
        KIrqAction *a = &k->irq.actions[i];

        if (a->used && a->irq == irq && (!best || a->seq < best->seq)) {
            best = a;
        }
    }
    return best;
}

static KIrqAction *kirq_find(Kernel *k, uint32_t irq, uint64_t dev_id)
{
    for (unsigned i = 0; i < KIRQ_MAX_ACTIONS; i++) {
        KIrqAction *a = &k->irq.actions[i];

        if (a->used && a->irq == irq && a->dev_id == dev_id) {
            return a;
        }
    }
    return NULL;
}

static void kirq_name(Kernel *k, uint64_t va, char *buf, size_t cap)
{
    buf[0] = 0;
    if (va) {
        kernel_read_str(k, va, buf, cap);
    }
}

/* Decode: everything request_threaded_irq and __setup_irq refuse, without
 * changing anything.  0, or the negative errno Linux returns. */
static int kirq_check_request(Kernel *k, uint32_t irq, uint64_t handler, uint64_t thread_fn,
                              uint64_t flags, uint64_t name, uint64_t dev_id)
{
    KIrqAction *old;

    if (irq == KIRQ_NOTCONNECTED) {
        return -ENOTCONN;
    }
    if (((flags & KIRQ_IRQF_SHARED) && !dev_id) ||
        ((flags & KIRQ_IRQF_SHARED) && (flags & KIRQ_IRQF_NO_AUTOEN)) ||
        (!(flags & KIRQ_IRQF_SHARED) && (flags & KIRQ_IRQF_COND_SUSPEND)) ||
        ((flags & KIRQ_IRQF_NO_SUSPEND) && (flags & KIRQ_IRQF_COND_SUSPEND))) {
        return -EINVAL;
    }
    if (irq >= KIRQ_NR || (!handler && !thread_fn)) {
        return -EINVAL;
    }
    if (!handler && !(flags & KIRQ_IRQF_ONESHOT)) {
        char n[64];

        kirq_name(k, name, n, sizeof(n));
        kernel_log(k, '3', "genirq: Threaded irq requested with handler=NULL and !ONESHOT "
                   "for %s (irq %u)", n, irq);
        return -EINVAL;
    }
    old = kirq_first(k, irq);
    if (old && (!((old->flags & flags) & KIRQ_IRQF_SHARED) ||
                (old->flags & KIRQ_IRQF_TRIGGER_MASK) != (flags & KIRQ_IRQF_TRIGGER_MASK) ||
                ((old->flags ^ flags) & KIRQ_IRQF_ONESHOT))) {
        if (!(flags & KIRQ_IRQF_PROBE_SHARED)) {
            char n[64], o[64];

            kirq_name(k, name, n, sizeof(n));
            kirq_name(k, old->name, o, sizeof(o));
            kernel_log(k, '3', "genirq: Flags mismatch irq %u. %08x (%s) vs. %08x (%s)", irq,
                       (unsigned)flags, n, (unsigned)old->flags, o);
        }
        return -EBUSY;
    }
    return 0;
}

/* request_threaded_irq(irq, handler, thread_fn, irqflags, devname, dev_id) */
static uint64_t kapi_request_threaded_irq(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint32_t irq = (uint32_t)c->arg[0];
    uint64_t flags = c->arg[3] & 0xffffffffull;
    KIrqAction *a = NULL;
    bool shared;
    int err;

    kernel_might_sleep(k, vcpu_call_name(c));     /* it allocates with GFP_KERNEL */
    err = kirq_check_request(k, irq, c->arg[1], c->arg[2], flags, c->arg[4], c->arg[5]);
    if (err) {
        return (uint64_t)(int64_t)err;
    }
    for (unsigned i = 0; i < KIRQ_MAX_ACTIONS && !a; i++) {
        a = k->irq.actions[i].used ? NULL : &k->irq.actions[i];
    }
    if (!a) {
        return (uint64_t)-ENOMEM;
    }
    shared = kirq_first(k, irq) != NULL;
    *a = (KIrqAction){
        .used = true, .irq = irq, .seq = k->irq.next_seq++, .module = k->current_module,
        .handler = c->arg[1], .thread_fn = c->arg[2], .dev_id = c->arg[5],
        .name = c->arg[4], .flags = flags,
    };
    if (!shared) {
        k->irq.depth[irq] = (flags & KIRQ_IRQF_NO_AUTOEN) ? 1 : 0;
    }
    k->irq.requested_total++;
    return 0;
}

/* free_irq(irq, dev_id): returns the devname given to request_irq. */
static uint64_t kapi_free_irq(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint32_t irq = (uint32_t)c->arg[0];
    KIrqAction *a;
    uint64_t name;

    if (irq >= KIRQ_NR) {
        return 0;
    }
    kernel_might_sleep(k, vcpu_call_name(c));
    a = kirq_find(k, irq, c->arg[1]);
    if (!a) {
        knet_warn(k, "kernel/irq/manage.c", "__free_irq", "Trying to free already-free IRQ %u",
                  irq);
        return 0;
    }
    name = a->name;
    *a = (KIrqAction){0};
    if (!kirq_first(k, irq)) {
        k->irq.depth[irq] = 1;                     /* irq_shutdown() */
    }
    k->irq.freed_total++;
    return name;
}

static uint64_t kapi_disable_irq_nosync(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint32_t irq = (uint32_t)c->arg[0];

    if (irq < KIRQ_NR) {
        k->irq.depth[irq]++;
    }
    return 0;
}

/* disable_irq(irq): disables, then waits for running handlers
 * (synchronize_irq), so it may sleep. */
static uint64_t kapi_disable_irq(void *opaque, VcpuCall *c)
{
    kernel_might_sleep(opaque, vcpu_call_name(c));
    return kapi_disable_irq_nosync(opaque, c);
}

static uint64_t kapi_enable_irq(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint32_t irq = (uint32_t)c->arg[0];

    if (irq >= KIRQ_NR) {
        return 0;
    }
    if (k->irq.depth[irq] == 0) {
        knet_warn(k, "kernel/irq/manage.c", "__enable_irq", "Unbalanced enable for IRQ %u", irq);
        return 0;
    }
    k->irq.depth[irq]--;
    return 0;
}

/* synchronize_irq(irq): waits until no handler of irq runs.  None runs
 * while the driver's own code does (one CPU, no delivery yet). */
static uint64_t kapi_synchronize_irq(void *opaque, VcpuCall *c)
{
    kernel_might_sleep(opaque, vcpu_call_name(c));
    return 0;
}

int kapi_irq_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"request_threaded_irq", kapi_request_threaded_irq},
        {"free_irq", kapi_free_irq},
        {"enable_irq", kapi_enable_irq},
        {"disable_irq", kapi_disable_irq},
        {"disable_irq_nosync", kapi_disable_irq_nosync},
        {"synchronize_irq", kapi_synchronize_irq},
    };

    for (unsigned i = 0; i < KIRQ_NR; i++) {
        k->irq.depth[i] = 1;
    }
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return 0;
}
