/*
 * kernel-guest/kapi_time.c: jiffies, delays and timer/work initialisation
 * on the virtual clock.  No host time: a delay advances the clock by what
 * the driver asked for, so a run is the same every time.
 *
 * Timers and work items are initialised here; queueing, cancelling and
 * running them is kapi_work.c.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>

/* include/linux/jiffies.h: jiffies start 5 minutes before wrapping 32 bits. */
static uint64_t ktime_initial_jiffies(const Kernel *k)
{
    return (uint64_t)(uint32_t)(-300 * (int32_t)k->cfg.hz);
}

void kernel_advance_time(Kernel *k, uint64_t ns)
{
    k->time_ns += ns;
    if (k->iommu) {
        iommu_set_time(k->iommu, k->time_ns);    /* lazy flush windows, fault times */
    }
    kernel_write_u64(k, k->jiffies_va,
                     ktime_initial_jiffies(k) + k->time_ns * k->cfg.hz / 1000000000ull);
}

/* __const_udelay(xloops): xloops = usecs * 2^32 / 10^6 (0x10c7 per us). */
static uint64_t kapi_const_udelay(void *opaque, VcpuCall *c)
{
    kernel_advance_time(opaque, (c->arg[0] * 1000ull + 4294) / 4295);
    return 0;
}

static uint64_t kapi_udelay(void *opaque, VcpuCall *c)
{
    kernel_advance_time(opaque, c->arg[0] * 1000ull);
    return 0;
}

static uint64_t kapi_ndelay(void *opaque, VcpuCall *c)
{
    kernel_advance_time(opaque, c->arg[0]);
    return 0;
}

/* msleep(ms): at least msecs_to_jiffies(ms) + 1 jiffies pass. */
static uint64_t kapi_msleep(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t jiffy_ns = 1000000000ull / k->cfg.hz;
    uint64_t j = (c->arg[0] * 1000000ull + jiffy_ns - 1) / jiffy_ns + 1;

    kernel_might_sleep(k, vcpu_call_name(c));
    kernel_advance_time(k, j * jiffy_ns);
    return 0;
}

/* usleep_range_state(min, max, state) */
static uint64_t kapi_usleep_range(void *opaque, VcpuCall *c)
{
    kernel_might_sleep(opaque, "usleep_range");
    kernel_advance_time(opaque, c->arg[0] * 1000ull);
    return 0;
}

/* round_jiffies(j) on CPU 0 (kernel/time/timer.c round_jiffies_common). */
static uint64_t kapi_round_jiffies(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t j = c->arg[0], rem = j % k->cfg.hz;

    return rem < k->cfg.hz / 4 ? j - rem : j - rem + k->cfg.hz;
}

/* init_timer_key(timer, func, flags, name, key) */
static uint64_t kapi_init_timer_key(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t t = c->arg[0];

    kernel_field_write(k, t, "timer_list", "entry.next", 0);
    kernel_field_write(k, t, "timer_list", "entry.pprev", 0);
    kernel_field_write(k, t, "timer_list", "function", c->arg[1]);
    kernel_field_write(k, t, "timer_list", "flags", c->arg[2] & 0xffffffffu);
    return 0;
}

int kapi_time_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"__const_udelay", kapi_const_udelay}, {"__udelay", kapi_udelay},
        {"__ndelay", kapi_ndelay}, {"msleep", kapi_msleep},
        {"msleep_interruptible", kapi_msleep}, {"usleep_range_state", kapi_usleep_range},
        {"round_jiffies", kapi_round_jiffies}, {"init_timer_key", kapi_init_timer_key},
    };
    long wq;

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    k->jiffies_va = kapi_data(k, "jiffies", 8, 8, e);
    if (!k->jiffies_va || ksyms_add(&k->syms, "jiffies_64", k->jiffies_va, KSYM_DATA, e)) {
        return -ENOSPC;
    }
    kernel_advance_time(k, 0);
    /* system_wq: a workqueue the driver passes back to queue_*_work. */
    wq = btf_layout_sizeof(k->btf, "workqueue_struct");
    {
        uint64_t p = kapi_data(k, "system_wq", 8, 8, e);
        uint64_t q = kmem_kmalloc(&k->mem, wq > 0 ? (uint64_t)wq : 512, 64, true);

        if (!p || !q) {
            return -ENOSPC;
        }
        kernel_write_u64(k, p, q);
    }
    return 0;
}
