/*
 * kernel-guest/kapi_lock.c: spinlocks, mutexes, the RTNL, RCU -- on one
 * CPU, where a lock already held when taken again is a certain deadlock
 * and sleeping with a spinlock held is Linux's "sleeping function called
 * from invalid context".  Lock words live in guest memory (the driver
 * initialises them inline); the kernel's context state is in Kernel.
 */
#include "kernel-guest/kernel_internal.h"

#define KAPI_EFLAGS_IF 0x200ull

void kernel_might_sleep(Kernel *k, const char *fn)
{
    if (k->atomic_depth || k->irqs_off) {
        vcpu_raise(k->cpu, "BUG: sleeping function %s called from invalid context "
                   "[spinlocks_held=%u] [irqs_disabled=%d]", fn, k->atomic_depth, k->irqs_off);
    }
}

static void klock_take(Kernel *k, VcpuCall *c)
{
    uint64_t lock = c->arg[0];
    long off = kernel_offsetof(k, "raw_spinlock", "raw_lock.val.counter");

    if (off < 0) {
        return;
    }
    if (kernel_read_u32(k, lock + (uint64_t)off) != 0) {
        vcpu_raise(c->cpu, "spinlock recursion: %s of lock 0x%llx already held (deadlock on one CPU)",
                   vcpu_call_name(c), (unsigned long long)lock);
        return;
    }
    kernel_write_u32(k, lock + (uint64_t)off, 1);
    k->atomic_depth++;
}

static void klock_release(Kernel *k, VcpuCall *c)
{
    uint64_t lock = c->arg[0];
    long off = kernel_offsetof(k, "raw_spinlock", "raw_lock.val.counter");

    if (off < 0) {
        return;
    }
    if (kernel_read_u32(k, lock + (uint64_t)off) == 0 || k->atomic_depth == 0) {
        vcpu_raise(c->cpu, "spinlock bad unlock: %s of lock 0x%llx that is not held",
                   vcpu_call_name(c), (unsigned long long)lock);
        return;
    }
    kernel_write_u32(k, lock + (uint64_t)off, 0);
    k->atomic_depth--;
}

static uint64_t kapi_spin_lock(void *opaque, VcpuCall *c)
{
    klock_take(opaque, c);
    return 0;
}

static uint64_t kapi_spin_unlock(void *opaque, VcpuCall *c)
{
    klock_release(opaque, c);
    return 0;
}

static uint64_t kapi_spin_lock_bh(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    k->bh_depth++;
    klock_take(k, c);
    return 0;
}

static uint64_t kapi_spin_unlock_bh(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    klock_release(k, c);
    if (k->bh_depth) {
        k->bh_depth--;
    }
    ksched_irqs_enabled(k);
    return 0;
}

static uint64_t kapi_spin_lock_irq(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    k->irqs_off = true;
    klock_take(k, c);
    return 0;
}

static uint64_t kapi_spin_unlock_irq(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    klock_release(k, c);
    k->irqs_off = false;
    ksched_irqs_enabled(k);
    return 0;
}

static uint64_t kapi_spin_lock_irqsave(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t flags = k->irqs_off ? 0 : KAPI_EFLAGS_IF;

    k->irqs_off = true;
    klock_take(k, c);
    return flags;
}

/* _raw_spin_unlock_irqrestore(lock, flags) */
static uint64_t kapi_spin_unlock_irqrestore(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    klock_release(k, c);
    k->irqs_off = !(c->arg[1] & KAPI_EFLAGS_IF);
    if (!k->irqs_off) {
        ksched_irqs_enabled(k);
    }
    return 0;
}

static uint64_t kapi_local_bh_enable_ip(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    if (k->bh_depth) {
        k->bh_depth--;
    }
    return 0;
}

static uint64_t kapi_mutex_lock(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    long off = kernel_offsetof(k, "mutex", "owner.counter");

    kernel_might_sleep(k, vcpu_call_name(c));
    if (off < 0 || vcpu_dead(c->cpu)) {
        return 0;
    }
    if (kernel_read_u64(k, c->arg[0] + (uint64_t)off) != 0) {
        vcpu_raise(c->cpu, "mutex deadlock: %s of mutex 0x%llx already held",
                   vcpu_call_name(c), (unsigned long long)c->arg[0]);
        return 0;
    }
    /* The owner is the current task. */
    kernel_write_u64(k, c->arg[0] + (uint64_t)off, 1);
    return 0;
}

static uint64_t kapi_mutex_unlock(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    long off = kernel_offsetof(k, "mutex", "owner.counter");

    if (off >= 0) {
        kernel_write_u64(k, c->arg[0] + (uint64_t)off, 0);
    }
    return 0;
}

static uint64_t kapi_rtnl_lock(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    kernel_might_sleep(k, "rtnl_lock");
    if (k->rtnl_depth) {
        vcpu_raise(c->cpu, "RTNL deadlock: rtnl_lock while the RTNL is already held");
        return 0;
    }
    k->rtnl_depth++;
    return 0;
}

static uint64_t kapi_rtnl_unlock(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    if (!k->rtnl_depth) {
        vcpu_raise(c->cpu, "rtnl_unlock without rtnl_lock");
        return 0;
    }
    k->rtnl_depth--;
    return 0;
}

/* One CPU, and the emulated kernel holds no RCU readers across calls:
 * a grace period has always passed. */
static uint64_t kapi_synchronize_rcu(void *opaque, VcpuCall *c)
{
    kernel_might_sleep(opaque, "synchronize_rcu");
    return 0;
}

int kapi_lock_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"_raw_spin_lock", kapi_spin_lock}, {"_raw_spin_unlock", kapi_spin_unlock},
        {"_raw_spin_lock_bh", kapi_spin_lock_bh}, {"_raw_spin_unlock_bh", kapi_spin_unlock_bh},
        {"_raw_spin_lock_irq", kapi_spin_lock_irq}, {"_raw_spin_unlock_irq", kapi_spin_unlock_irq},
        {"_raw_spin_lock_irqsave", kapi_spin_lock_irqsave},
        {"_raw_spin_unlock_irqrestore", kapi_spin_unlock_irqrestore},
        {"__local_bh_enable_ip", kapi_local_bh_enable_ip},
        {"mutex_lock", kapi_mutex_lock}, {"mutex_unlock", kapi_mutex_unlock},
        {"rtnl_lock", kapi_rtnl_lock}, {"rtnl_unlock", kapi_rtnl_unlock},
        {"synchronize_rcu", kapi_synchronize_rcu},
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return 0;
}
