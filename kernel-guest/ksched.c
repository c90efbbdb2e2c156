/*
 * kernel-guest/ksched.c: execution contexts and the event loop.
 *
 * One CPU.  Four contexts, as Linux has them:
 *  - process context: module init/exit, probe/remove, ndo_open/stop, work
 *    items (kernel_call from the top level);
 *  - hardirq: a device's handlers, run when its line is asserted and
 *    interrupts are enabled -- at a block boundary of running guest code
 *    (the vCPU's interrupt hook, handlers nest as calls) or from the event
 *    loop; interrupts stay disabled while they run;
 *  - softirq: NAPI polls (net_rx_action, budget 300, weight per
 *    instance), timer functions, and the host's held transmits, run on the
 *    way out of a hardirq and from the event loop, never while bottom
 *    halves are disabled;
 *  - the event loop itself (kernel_run_until), which jumps the virtual
 *    clock to the next timer, work item or machine event when every
 *    context is idle.
 * __preempt_count (per CPU, read inline by drivers) carries HARDIRQ_OFFSET
 * and SOFTIRQ_OFFSET accordingly.  Nothing here reads host time.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <string.h>

#define KSCHED_HARDIRQ_OFFSET (1u << 16)
#define KSCHED_SOFTIRQ_OFFSET (1u << 8)
#define KSCHED_NETDEV_BUDGET 300      /* net.core.netdev_budget */
#define KSCHED_IRQ_ROUNDS 64          /* handler rounds per delivery */
#define KSCHED_NOBODY_CARED 100000    /* unhandled in a row: disable the line */
#define KSCHED_SPIN_LIMIT 100000      /* busy rounds before time is forced on */
#define KSCHED_IRQ_HANDLED 1          /* IRQ_HANDLED (irqreturn_t) */
#define KSCHED_IRQ_WAKE_THREAD 2      /* IRQ_WAKE_THREAD */
/* Guest code costs virtual time too: 5 ns per translated block run (a
 * block is a handful of instructions), counted by the vCPU, so the clock
 * stays a function of what ran and nothing else. */
#define KSCHED_NS_PER_BLOCK 5ull

static void ksched_preempt_add(Kernel *k, int32_t delta)
{
    const KSym *s = ksyms_find(&k->syms, "__preempt_count");

    if (s) {
        uint64_t va = kernel_percpu_va(k, s->addr);

        kernel_write_u32(k, va, kernel_read_u32(k, va) + (uint32_t)delta);
    }
}

static uint32_t ksched_preempt_count(Kernel *k)
{
    const KSym *s = ksyms_find(&k->syms, "__preempt_count");

    return s ? kernel_read_u32(k, kernel_percpu_va(k, s->addr)) : 0;
}

int ksched_call_softirq(Kernel *k, int module, uint64_t fn, const uint64_t *args,
                        unsigned nargs, uint64_t *ret)
{
    bool was = k->sched.in_softirq;
    int err;

    k->sched.in_softirq = true;
    ksched_preempt_add(k, KSCHED_SOFTIRQ_OFFSET);
    err = kernel_call(k, module, KERNEL_PHASE_RUN, fn, args, nargs, ret);
    if (!err) {
        ksched_preempt_add(k, -(int32_t)KSCHED_SOFTIRQ_OFFSET);
        k->sched.in_softirq = was;
    }
    return err;
}

/* Softirqs may run: not inside one, not in a hardirq, bottom halves on. */
static bool ksched_softirq_allowed(Kernel *k)
{
    return !k->sched.in_softirq && !k->sched.in_hardirq && !k->bh_depth &&
           (ksched_preempt_count(k) & 0xffff00u) == 0;
}

/* The module whose code a guest address is (for calls of driver
 * callbacks the kernel found in driver data). */
int kernel_module_of(Kernel *k, uint64_t fn)
{
    for (int i = 0; i < KERNEL_MAX_MODULES; i++) {
        if (k->modules[i] && ko_contains(k->modules[i], fn)) {
            return i;
        }
    }
    return k->current_module;
}

/* net_rx_action: poll scheduled instances in order, weight each, until the
 * budget is spent or none is left; an instance that used its whole
 * weight is polled again later. */
static unsigned ksched_napi(Kernel *k)
{
    int budget = KSCHED_NETDEV_BUDGET;
    unsigned polls = 0;

    while (budget > 0 && !vcpu_dead(k->cpu)) {
        uint64_t napi = knapi_first(k), work = 0;
        uint64_t poll, weight;

        if (!napi) {
            break;
        }
        knapi_list_del(k, napi);
        poll = kernel_field_read(k, napi, "napi_struct", "poll");
        weight = kernel_field_read(k, napi, "napi_struct", "weight");
        if (!poll) {
            continue;
        }
        {
            uint64_t args[2] = {napi, weight};

            if (ksched_call_softirq(k, kernel_module_of(k, poll), poll, args, 2, &work) != 0) {
                break;
            }
        }
        polls++;
        budget -= (int)(work < weight ? work : weight);
        /* The whole weight used and still scheduled: poll again. */
        if ((int64_t)work >= (int64_t)weight) {
            knapi_list_add(k, napi);
        }
    }
    return polls;
}

/* A frame the host queued: xmit it when the driver's queue is awake. */
static unsigned ksched_transmit(Kernel *k);

unsigned ksched_softirq(Kernel *k)
{
    if (k->sched.in_softirq || vcpu_dead(k->cpu)) {
        return 0;
    }
    return ksched_napi(k) + ksched_transmit(k);
}

/* Runs the handlers of every asserted, enabled line (hardirq context). */
static unsigned ksched_hardirq(Kernel *k)
{
    unsigned ran = 0;

    for (unsigned round = 0; round < KSCHED_IRQ_ROUNDS && !vcpu_dead(k->cpu); round++) {
        bool any = false;

        for (unsigned irq = 0; irq < KIRQ_NR && !vcpu_dead(k->cpu); irq++) {
            bool handled = false, have = false;
            KIrqAction *order[KIRQ_MAX_ACTIONS];
            unsigned nact;

            if (!((k->sched.level >> irq) & 1) || k->irq.depth[irq]) {
                continue;
            }
            /* Shared handlers run in registration order. */
            nact = 0;
            for (unsigned a = 0; a < KIRQ_MAX_ACTIONS; a++) {
                KIrqAction *act = &k->irq.actions[a];
                unsigned j;

                if (!act->used || act->irq != irq) {
                    continue;
                }
                for (j = nact++; j > 0 && order[j - 1]->seq > act->seq; j--) {
                    order[j] = order[j - 1];
                }
                order[j] = act;
            }
            for (unsigned a = 0; a < nact; a++) {
                KIrqAction act = *order[a];
                uint64_t args[2] = {irq, act.dev_id}, ret = KSCHED_IRQ_WAKE_THREAD;

                have = true;
                if (act.handler) {  /* NULL: irq_default_primary_handler */
                    k->sched.in_hardirq = true;
                    k->irqs_off = true;
                    ksched_preempt_add(k, KSCHED_HARDIRQ_OFFSET);
                    if (kernel_call(k, act.module, KERNEL_PHASE_RUN, act.handler, args, 2,
                                    &ret) != 0) {
                        return ran;
                    }
                    ksched_preempt_add(k, -(int32_t)KSCHED_HARDIRQ_OFFSET);
                    k->irqs_off = false;
                    k->sched.in_hardirq = false;
                }
                /* IRQ_WAKE_THREAD: the irq thread runs thread_fn, in process
                 * context, before the line is looked at again. */
                if ((ret & KSCHED_IRQ_WAKE_THREAD) && act.thread_fn &&
                    kernel_call(k, act.module, KERNEL_PHASE_RUN, act.thread_fn, args, 2,
                                &ret) != 0) {
                    return ran;
                }
                handled |= (ret & (KSCHED_IRQ_HANDLED | KSCHED_IRQ_WAKE_THREAD)) != 0;
                ran++;
            }
            if (!have) {
                continue;
            }
            any = true;
            if (handled) {
                k->sched.unhandled[irq] = 0;
            } else if (++k->sched.unhandled[irq] >= KSCHED_NOBODY_CARED) {
                kernel_log(k, '3', "irq %u: nobody cared (try booting with the \"irqpoll\" option)", irq);
                kernel_log(k, '0', "Disabling IRQ #%u", irq);
                k->irq.depth[irq]++;
            }
        }
        if (!any) {
            break;
        }
    }
    return ran;
}

/* Delivers what is pending now: hardirqs if enabled, then softirqs if
 * allowed.  Returns how much ran. */
static unsigned ksched_deliver(Kernel *k)
{
    unsigned ran = 0;

    if (!k->irqs_off && !k->sched.in_hardirq) {
        ran += ksched_hardirq(k);
    }
    if (!vcpu_dead(k->cpu) && ksched_softirq_allowed(k) && !k->irqs_off) {
        ran += ksched_softirq(k);
    }
    return ran;
}

/* The vCPU's interrupt hook: guest code is between two blocks. */
static void ksched_interrupt(void *opaque)
{
    ksched_deliver(opaque);
}

void kernel_irq_line(Kernel *k, unsigned irq, int level)
{
    if (irq >= KIRQ_NR) {
        return;
    }
    if (level) {
        k->sched.level |= 1ull << irq;
        vcpu_set_interrupt_handler(k->cpu, ksched_interrupt, k);
        vcpu_interrupt_request(k->cpu);
    } else {
        k->sched.level &= ~(1ull << irq);
    }
}

void ksched_irqs_enabled(Kernel *k)
{
    if (k->sched.level || knapi_first(k) || k->sched.tx_count) {
        vcpu_set_interrupt_handler(k->cpu, ksched_interrupt, k);
        vcpu_interrupt_request(k->cpu);
    }
}

uint64_t kernel_time_ns(const Kernel *k)
{
    /* Including the guest code run since the event loop last looked. */
    return k->time_ns + (vcpu_blocks_executed(k->cpu) - k->sched.blocks_seen) * KSCHED_NS_PER_BLOCK;
}

/* ---- the host's transmit queue ---- */

static uint64_t ksched_netdev_by_index(Kernel *k, unsigned ifindex)
{
    for (unsigned i = 0; i < k->nnetdevs; i++) {
        if (k->netdevs[i].registered &&
            kernel_field_read(k, k->netdevs[i].dev, "net_device", "ifindex") == ifindex) {
            return k->netdevs[i].dev;
        }
    }
    return 0;
}

static uint64_t ksched_netdev_by_name(Kernel *k, const char *ifname)
{
    long off = btf_layout_offsetof(k->btf, "net_device", "name");
    char name[16];

    for (unsigned i = 0; off >= 0 && i < k->nnetdevs; i++) {
        if (!k->netdevs[i].registered) {
            continue;
        }
        kernel_read_str(k, k->netdevs[i].dev + (uint64_t)off, name, sizeof(name));
        if (!strcmp(name, ifname)) {
            return k->netdevs[i].dev;
        }
    }
    return 0;
}

int kernel_netdev_mac(Kernel *k, const char *ifname, uint8_t mac[6])
{
    uint64_t dev = ksched_netdev_by_name(k, ifname);
    const uint8_t *a;

    if (!dev) {
        return -ENODEV;
    }
    a = kmem_host_ro(&k->mem, kernel_field_read(k, dev, "net_device", "dev_addr"), 6);
    if (!a) {
        return -ENODEV;
    }
    memcpy(mac, a, 6);
    return 0;
}

int kernel_netdev_xmit(Kernel *k, const char *ifname, const uint8_t *frame, size_t len)
{
    uint64_t dev = ksched_netdev_by_name(k, ifname);
    KTxFrame *f;

    if (!dev) {
        return -ENODEV;
    }
    if (len < 14 || len > KSCHED_FRAME_MAX) {
        return -EINVAL;
    }
    if (k->sched.tx_count == KSCHED_TXQ) {
        return -ENOSPC;
    }
    f = &k->sched.txq[(k->sched.tx_head + k->sched.tx_count) % KSCHED_TXQ];
    f->len = (uint16_t)len;
    f->ifindex = (uint8_t)kernel_field_read(k, dev, "net_device", "ifindex");
    memcpy(f->data, frame, len);
    k->sched.tx_count++;
    return 0;
}

/* Whether the driver stopped transmit queue 0 (__QUEUE_STATE_DRV_XOFF or
 * the stack's XOFF). */
static bool ksched_queue_stopped(Kernel *k, uint64_t dev)
{
    uint64_t txq = kernel_field_read(k, dev, "net_device", "_tx");
    uint64_t st = kernel_field_read(k, txq, "netdev_queue", "state");
    int64_t drv = kernel_enum(k, "__QUEUE_STATE_DRV_XOFF");
    int64_t stack = kernel_enum(k, "__QUEUE_STATE_STACK_XOFF");

    return (drv >= 0 && ((st >> drv) & 1)) || (stack >= 0 && ((st >> stack) & 1)) ||
           !(kernel_field_read(k, dev, "net_device", "flags") & 1);    /* IFF_UP */
}

static unsigned ksched_transmit(Kernel *k)
{
    unsigned sent = 0;

    while (k->sched.tx_count && !vcpu_dead(k->cpu) && sent < KSCHED_TXQ) {
        KTxFrame *f = &k->sched.txq[k->sched.tx_head];
        uint64_t dev = ksched_netdev_by_index(k, f->ifindex);
        int rc;

        if (dev && ksched_queue_stopped(k, dev)) {
            break;               /* the driver wakes the queue when it can */
        }
        rc = dev ? kskb_xmit_frame(k, dev, f->data, f->len) : 0;
        if (rc > 0) {
            k->sched.tx_busy++;  /* NETDEV_TX_BUSY: try again later */
            break;
        }
        k->sched.tx_head = (k->sched.tx_head + 1) % KSCHED_TXQ;
        k->sched.tx_count--;
        k->sched.tx_sent += dev != 0;
        sent++;
    }
    return sent;
}

/* ---- the transmit watchdog ---- */

static uint64_t ksched_watchdog_timeo(Kernel *k, uint64_t dev)
{
    int64_t t = (int32_t)kernel_field_read(k, dev, "net_device", "watchdog_timeo");

    return t > 0 ? (uint64_t)t : 5ull * k->cfg.hz;   /* __netdev_watchdog_up: 5 s */
}

/* Whether dev runs with a carrier (netif_running && netif_carrier_ok &&
 * netif_device_present). */
static bool ksched_watchdog_armed(Kernel *k, uint64_t dev)
{
    uint64_t st = kernel_field_read(k, dev, "net_device", "state");
    int64_t start = kernel_enum(k, "__LINK_STATE_START");
    int64_t nocarrier = kernel_enum(k, "__LINK_STATE_NOCARRIER");
    int64_t present = kernel_enum(k, "__LINK_STATE_PRESENT");

    return start >= 0 && nocarrier >= 0 && present >= 0 && ((st >> start) & 1) &&
           !((st >> nocarrier) & 1) && ((st >> present) & 1);
}

/* dev_watchdog (net/sched/sch_generic.c): every watchdog_timeo jiffies
 * while an interface runs with carrier, a transmit queue the driver has
 * kept stopped for longer than that has timed out: the kernel says so and
 * calls the driver's ndo_tx_timeout. */
static unsigned ksched_tx_watchdog(Kernel *k, uint64_t *next_jiffy)
{
    uint64_t now = kwork_jiffies(k);
    int64_t drv_xoff = kernel_enum(k, "__QUEUE_STATE_DRV_XOFF");
    unsigned ran = 0;

    for (unsigned i = 0; i < k->nnetdevs && !vcpu_dead(k->cpu); i++) {
        KNetdev *n = &k->netdevs[i];
        uint64_t dev = n->dev, txq, trans, timeo, ops, fn;

        if (!n->registered || !ksched_watchdog_armed(k, dev)) {
            n->watchdog_due = 0;
            continue;
        }
        timeo = ksched_watchdog_timeo(k, dev);
        if (!n->watchdog_due) {
            n->watchdog_due = now + timeo;
        }
        if ((int64_t)(now - n->watchdog_due) < 0) {
            *next_jiffy = n->watchdog_due < *next_jiffy ? n->watchdog_due : *next_jiffy;
            continue;
        }
        n->watchdog_due = now + timeo;
        *next_jiffy = n->watchdog_due < *next_jiffy ? n->watchdog_due : *next_jiffy;
        txq = kernel_field_read(k, dev, "net_device", "_tx");
        trans = kernel_field_read(k, txq, "netdev_queue", "trans_start");
        if (drv_xoff < 0 || !((kernel_field_read(k, txq, "netdev_queue", "state") >> drv_xoff) & 1) ||
            (int64_t)(now - (trans + timeo)) <= 0) {
            continue;
        }
        ops = kernel_field_read(k, dev, "net_device", "netdev_ops");
        fn = ops ? kernel_field_read(k, ops, "net_device_ops", "ndo_tx_timeout") : 0;
        {
            long off = btf_layout_offsetof(k->btf, "net_device", "name");
            char name[16] = "?";
            int mod = fn ? kernel_module_of(k, fn) : -1;
            uint64_t args[2] = {dev, 0};

            if (off >= 0) {
                kernel_read_str(k, dev + (uint64_t)off, name, sizeof(name));
            }
            kernel_log(k, '2', "NETDEV WATCHDOG: %s (%s): transmit queue 0 timed out", name,
                       mod >= 0 ? kernel_module_name(k, mod) : "?");
            k->warnings++;
            kernel_field_write(k, txq, "netdev_queue", "trans_start", now);
            if (fn && ksched_call_softirq(k, mod, fn, args, 2, NULL) == 0) {
                ran++;
            }
        }
    }
    return ran;
}

/* ---- the event loop ---- */

int kernel_run_until(Kernel *k, uint64_t until_ns)
{
    uint64_t jiffy_ns = 1000000000ull / k->cfg.hz;
    unsigned spins = 0;

    vcpu_set_interrupt_handler(k->cpu, ksched_interrupt, k);
    while (!vcpu_dead(k->cpu)) {
        uint64_t next = until_ns, host_next = UINT64_MAX, due, wd_next;
        uint64_t blocks = vcpu_blocks_executed(k->cpu);
        unsigned ran = 0;

        if (blocks > k->sched.blocks_seen) {
            kernel_advance_time(k, (blocks - k->sched.blocks_seen) * KSCHED_NS_PER_BLOCK);
            k->sched.blocks_seen = blocks;
        }

        if (k->host.poll) {
            host_next = k->host.poll(k->host.opaque, k->time_ns);
        }
        ran += ksched_deliver(k);
        if (!vcpu_dead(k->cpu) && ksched_softirq_allowed(k)) {
            ran += kwork_run_due_timers(k);
        }
        wd_next = UINT64_MAX;
        if (!vcpu_dead(k->cpu) && ksched_softirq_allowed(k)) {
            ran += ksched_tx_watchdog(k, &wd_next);
        }
        if (!vcpu_dead(k->cpu)) {
            unsigned before = k->work.run_total;

            kernel_run_due_work(k);
            ran += k->work.run_total - before;
        }
        if (!vcpu_dead(k->cpu) && ksched_softirq_allowed(k)) {
            ran += ksched_transmit(k);
        }
        if (vcpu_dead(k->cpu)) {
            break;
        }
        if (ran && ++spins < KSCHED_SPIN_LIMIT) {
            continue;            /* something ran: look again at the same time */
        }
        spins = 0;
        /* Idle (or busy for too long): on to the next event. */
        due = kwork_next_due_jiffy(k);
        due = wd_next < due ? wd_next : due;
        if (due != UINT64_MAX) {
            uint64_t initial = (uint64_t)(uint32_t)(-300 * (int32_t)k->cfg.hz);
            uint64_t at = (due - initial) * jiffy_ns;

            next = at < next ? at : next;
        }
        next = host_next < next ? host_next : next;
        if (next <= k->time_ns) {
            next = k->time_ns + 1000;    /* always move on: no livelock */
        }
        if (next >= until_ns) {
            if (until_ns > k->time_ns) {
                kernel_advance_time(k, until_ns - k->time_ns);
            }
            break;
        }
        kernel_advance_time(k, next - k->time_ns);
    }
    return vcpu_dead(k->cpu) ? -EFAULT : 0;
}
