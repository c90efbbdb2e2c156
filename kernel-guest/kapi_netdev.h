/*
 * kernel-guest/kapi_netdev.h: what kapi_netdev.c (net_device allocation,
 * registration, carrier and queue state) and kapi_netdev_ops.c (an
 * interface's life as `ip link` and `ethtool` drive it) share.  Internal
 * to kernel-guest.
 */
#ifndef KERNEL_GUEST_KAPI_NETDEV_H
#define KERNEL_GUEST_KAPI_NETDEV_H

#include "kernel-guest/kernel_internal.h"

#define KNET_IFF_UP 0x1

static inline int64_t knet_enum(Kernel *k, const char *name)
{
    return kernel_enum(k, name);
}

static inline void knet_set_bit(Kernel *k, uint64_t va, int64_t bit, bool on)
{
    if (bit >= 0 && bit < 64) {
        knet_assign_bit(k, va, bit, on);
    }
}

static inline uint64_t knet_state_va(Kernel *k, uint64_t dev)
{
    return dev + (uint64_t)kernel_offsetof(k, "net_device", "state");
}

/* __dev_close_many for one device (kapi_netdev_ops.c); unregister_netdev
 * closes an interface that is still up with it. */
int knet_dev_close(Kernel *k, KNetdev *n, KernelPhase ph);

#endif
