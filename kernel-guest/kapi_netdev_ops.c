/*
 * kernel-guest/kapi_netdev_ops.c: an interface's life between register
 * and unregister, as the host drives it: dev_open and dev_close as `ip
 * link set up/down` run them (kernel_netdev_open/close), the counters
 * `ip -s link` shows (dev_get_stats) and what `ethtool` asks the driver.
 * Allocation and registration are in kapi_netdev.c.
 */
#include "kernel-guest/kapi_netdev.h"

#include <errno.h>
#include <string.h>


static bool knet_test_flag(Kernel *k, uint64_t dev, uint64_t flag)
{
    return (kernel_field_read(k, dev, "net_device", "flags") & flag) != 0;
}

static bool knet_test_state(Kernel *k, uint64_t dev, const char *bit)
{
    int64_t b = knet_enum(k, bit);

    return b >= 0 && b < 64 && ((kernel_read_u64(k, knet_state_va(k, dev)) >> b) & 1);
}

static void knet_name(Kernel *k, uint64_t dev, char *buf, size_t cap)
{
    long off = kernel_offsetof(k, "net_device", "name");

    buf[0] = 0;
    if (off >= 0) {
        kernel_read_str(k, dev + (uint64_t)off, buf, cap);
    }
}

/* Calls ndo `op` of dev, if the driver has one, in phase ph; *has says
 * whether it had.  Returns 0 and the ndo's int result in *ret, or -EFAULT
 * when the guest stopped. */
static int knet_call_ndo(Kernel *k, uint64_t dev, const char *op, KernelPhase ph, bool *has,
                         int *ret)
{
    uint64_t ops = kernel_field_read(k, dev, "net_device", "netdev_ops");
    uint64_t fn = ops ? kernel_field_read(k, ops, "net_device_ops", op) : 0, r = 0;

    *has = fn != 0;
    *ret = 0;
    if (vcpu_dead(k->cpu)) {
        return -EFAULT;
    }
    if (!fn) {
        return 0;
    }
    if (kernel_call(k, kernel_module_of(k, fn), ph, fn, &dev, 1, &r) != 0) {
        return -EFAULT;
    }
    *ret = (int)(int32_t)r;
    return 0;
}

/* __dev_open (net/core/dev.c) under the RTNL: present, __LINK_STATE_START,
 * ndo_validate_addr, ndo_open; on success IFF_UP and the receive filter
 * (dev_set_rx_mode, under netif_addr_lock_bh).  A failure is reported
 * the way `ip link set up` would see it, and leaves the device down. */
static int knet_dev_open(Kernel *k, KNetdev *n, KernelPhase ph)
{
    uint64_t dev = n->dev;
    int64_t start = knet_enum(k, "__LINK_STATE_START");
    char name[16];
    int ret = 0, err;
    bool has;

    if (knet_test_flag(k, dev, KNET_IFF_UP)) {
        return 0;
    }
    knet_name(k, dev, name, sizeof(name));
    if (!knet_test_state(k, dev, "__LINK_STATE_PRESENT")) {
        kernel_log(k, '3', "sluice: %s: cannot open: device not present: %d (%s)", name,
                   -ENODEV, knet_errname(-ENODEV));
        return -ENODEV;
    }
    k->rtnl_depth++;
    knet_set_bit(k, knet_state_va(k, dev), start, true);
    err = knet_call_ndo(k, dev, "ndo_validate_addr", ph, &has, &ret);
    if (!err && ret) {
        kernel_log(k, '3', "sluice: %s: ndo_validate_addr failed: %d (%s)", name, ret,
                   knet_errname(ret));
    }
    if (!err && !ret) {
        err = knet_call_ndo(k, dev, "ndo_open", ph, &has, &ret);
        if (!err && ret) {
            kernel_log(k, '3', "sluice: %s: ndo_open failed: %d (%s)", name, ret,
                       knet_errname(ret));
        }
    }
    if (!err && !ret) {
        kernel_field_write(k, dev, "net_device", "flags",
                           kernel_field_read(k, dev, "net_device", "flags") | KNET_IFF_UP);
        k->atomic_depth++;
        k->bh_depth++;
        err = knet_call_ndo(k, dev, "ndo_set_rx_mode", ph, &has, &ret);
        k->atomic_depth--;
        k->bh_depth--;
    } else if (!err) {
        knet_set_bit(k, knet_state_va(k, dev), start, false);
    }
    k->rtnl_depth--;
    return err ? err : ret;
}

/* __dev_close_many (net/core/dev.c) for one device, under the RTNL:
 * __LINK_STATE_START cleared (netif_running() false from here on),
 * ndo_stop, IFF_UP cleared. */
int knet_dev_close(Kernel *k, KNetdev *n, KernelPhase ph)
{
    uint64_t dev = n->dev;
    int ret, err;
    bool has;

    if (!knet_test_flag(k, dev, KNET_IFF_UP)) {
        return 0;
    }
    k->rtnl_depth++;
    knet_set_bit(k, knet_state_va(k, dev), knet_enum(k, "__LINK_STATE_START"), false);
    err = knet_call_ndo(k, dev, "ndo_stop", ph, &has, &ret);
    k->rtnl_depth--;
    if (err) {
        return err;
    }
    kernel_field_write(k, dev, "net_device", "flags",
                       kernel_field_read(k, dev, "net_device", "flags") & ~(uint64_t)KNET_IFF_UP);
    return 0;
}

static KNetdev *knet_find_name(Kernel *k, const char *ifname)
{
    char name[16];

    for (unsigned i = 0; i < k->nnetdevs; i++) {
        if (k->netdevs[i].registered) {
            knet_name(k, k->netdevs[i].dev, name, sizeof(name));
            if (!strcmp(name, ifname)) {
                return &k->netdevs[i];
            }
        }
    }
    return NULL;
}

/* What the host may ask: the guest must be alive and idle. */
static int knet_host_check(Kernel *k)
{
    if (vcpu_dead(k->cpu)) {
        return -EFAULT;
    }
    return vcpu_depth(k->cpu) ? -EBUSY : 0;
}

int kernel_netdev_open(Kernel *k, const char *ifname)
{
    KNetdev *n;
    int err = knet_host_check(k);

    if (err) {
        return err;
    }
    n = knet_find_name(k, ifname);
    return n ? knet_dev_open(k, n, KERNEL_PHASE_RUN) : -ENODEV;
}

int kernel_netdev_close(Kernel *k, const char *ifname)
{
    KNetdev *n;
    int err = knet_host_check(k);

    if (err) {
        return err;
    }
    n = knet_find_name(k, ifname);
    return n ? knet_dev_close(k, n, KERNEL_PHASE_RUN) : -ENODEV;
}

int kernel_netdev_open_all(Kernel *k)
{
    int err = knet_host_check(k), first = 0;

    for (unsigned i = 0; !err && i < k->nnetdevs; i++) {
        if (k->netdevs[i].registered) {
            int r = knet_dev_open(k, &k->netdevs[i], KERNEL_PHASE_RUN);

            first = first ? first : r;
            err = r == -EFAULT ? r : 0;
        }
    }
    return err ? err : first;
}

int kernel_netdev_close_all(Kernel *k)
{
    int err = knet_host_check(k);

    for (unsigned i = 0; !err && i < k->nnetdevs; i++) {
        if (k->netdevs[i].registered) {
            err = knet_dev_close(k, &k->netdevs[i], KERNEL_PHASE_RUN);
        }
    }
    return err;
}

void kernel_net_stats(Kernel *k, KernelNetStats *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < k->nnetdevs && !vcpu_dead(k->cpu); i++) {
        uint64_t dev = k->netdevs[i].dev;

        s->netdevs_up += knet_test_flag(k, dev, KNET_IFF_UP);
        s->netdevs_carrier += k->netdevs[i].registered &&
                              !knet_test_state(k, dev, "__LINK_STATE_NOCARRIER");
    }
    for (unsigned i = 0; i < KIRQ_MAX_ACTIONS; i++) {
        s->irq_handlers += k->irq.actions[i].used;
    }
    s->irqs_requested_total = k->irq.requested_total;
    s->irqs_freed_total = k->irq.freed_total;
    for (unsigned i = 0; i < KNAPI_MAX_SCHEDULED; i++) {
        s->napi_scheduled += k->napi.sched[i].used;
    }
    s->napi_scheduled_total = k->napi.scheduled_total;
    for (unsigned i = 0; i < KWORK_MAX; i++) {
        s->work_pending += k->work.items[i].used;
    }
    for (unsigned i = 0; i < KWORK_MAX_TIMERS; i++) {
        s->timers_pending += k->work.timers[i].used;
    }
    s->work_queued_total = k->work.queued_total;
    s->work_run_total = k->work.run_total;
    s->work_cancelled_total = k->work.cancelled_total;
}

/* dev_get_stats (net/core/dev.c): the driver's ndo_get_stats64, else its
 * ndo_get_stats, else dev->stats -- as `ip -s link` shows them. */
int kernel_netdev_stats(Kernel *k, const char *ifname, KernelIfStats *out)
{
    KNetdev *n = knet_find_name(k, ifname);
    long ssz = btf_layout_sizeof(k->btf, "rtnl_link_stats64");
    uint64_t dev, ops, fn, buf, src = 0;
    long nsz = btf_layout_sizeof(k->btf, "net_device_stats");

    memset(out, 0, sizeof(*out));
    if (!n || ssz <= 0 || nsz <= 0) {
        return -ENODEV;
    }
    dev = n->dev;
    ops = kernel_field_read(k, dev, "net_device", "netdev_ops");
    buf = kmem_kmalloc(&k->mem, (uint64_t)ssz, 16, true);
    if (!buf) {
        return -ENOMEM;
    }
    fn = ops ? kernel_field_read(k, ops, "net_device_ops", "ndo_get_stats64") : 0;
    if (fn) {
        uint64_t args[2] = {dev, buf};

        if (kernel_call(k, kernel_module_of(k, fn), KERNEL_PHASE_RUN, fn, args, 2, NULL) != 0) {
            return -EFAULT;
        }
    } else {
        fn = ops ? kernel_field_read(k, ops, "net_device_ops", "ndo_get_stats") : 0;
        if (fn && kernel_call(k, kernel_module_of(k, fn), KERNEL_PHASE_RUN, fn, &dev, 1, &src) != 0) {
            return -EFAULT;
        }
        if (!src) {
            src = dev + (uint64_t)btf_layout_offsetof(k->btf, "net_device", "stats");
        }
        /* netdev_stats_to_stats64: unsigned longs into u64s, in order. */
        for (long i = 0; i < nsz / 8 && i < ssz / 8; i++) {
            kernel_write_u64(k, buf + 8 * (uint64_t)i, kernel_read_u64(k, src + 8 * (uint64_t)i));
        }
    }
    out->rx_packets = kernel_field_read(k, buf, "rtnl_link_stats64", "rx_packets");
    out->tx_packets = kernel_field_read(k, buf, "rtnl_link_stats64", "tx_packets");
    out->rx_bytes = kernel_field_read(k, buf, "rtnl_link_stats64", "rx_bytes");
    out->tx_bytes = kernel_field_read(k, buf, "rtnl_link_stats64", "tx_bytes");
    out->rx_errors = kernel_field_read(k, buf, "rtnl_link_stats64", "rx_errors");
    out->tx_errors = kernel_field_read(k, buf, "rtnl_link_stats64", "tx_errors");
    out->rx_dropped = kernel_field_read(k, buf, "rtnl_link_stats64", "rx_dropped");
    out->tx_dropped = kernel_field_read(k, buf, "rtnl_link_stats64", "tx_dropped");
    kmem_kfree(&k->mem, buf);
    return 0;
}

/* What `ethtool -i IF` and `ethtool IF` show, through the driver's own
 * ethtool_ops: get_drvinfo, get_link (each if the driver has it). */
int kernel_netdev_ethtool(Kernel *k, const char *ifname, KernelEthtool *out)
{
    KNetdev *n = knet_find_name(k, ifname);
    long sz = btf_layout_sizeof(k->btf, "ethtool_drvinfo");
    uint64_t dev, ops, fn, buf, link = 0;
    int mod;

    memset(out, 0, sizeof(*out));
    out->link = -1;
    if (!n || sz <= 0) {
        return -ENODEV;
    }
    dev = n->dev;
    ops = kernel_field_read(k, dev, "net_device", "ethtool_ops");
    if (!ops) {
        return -EOPNOTSUPP;
    }
    fn = kernel_field_read(k, ops, "ethtool_ops", "get_drvinfo");
    if (fn && (buf = kmem_kmalloc(&k->mem, (uint64_t)sz, 16, true)) != 0) {
        uint64_t args[2] = {dev, buf};

        mod = kernel_module_of(k, fn);
        k->rtnl_depth++;
        if (kernel_call(k, mod, KERNEL_PHASE_RUN, fn, args, 2, NULL) != 0) {
            return -EFAULT;
        }
        k->rtnl_depth--;
        kernel_read_str(k, buf + (uint64_t)btf_layout_offsetof(k->btf, "ethtool_drvinfo", "driver"),
                        out->driver, sizeof(out->driver));
        kernel_read_str(k, buf + (uint64_t)btf_layout_offsetof(k->btf, "ethtool_drvinfo", "version"),
                        out->version, sizeof(out->version));
        kernel_read_str(k, buf + (uint64_t)btf_layout_offsetof(k->btf, "ethtool_drvinfo", "bus_info"),
                        out->bus_info, sizeof(out->bus_info));
        kmem_kfree(&k->mem, buf);
    }
    fn = kernel_field_read(k, ops, "ethtool_ops", "get_link");
    if (fn) {
        k->rtnl_depth++;
        if (kernel_call(k, kernel_module_of(k, fn), KERNEL_PHASE_RUN, fn, &dev, 1, &link) != 0) {
            return -EFAULT;
        }
        k->rtnl_depth--;
        out->link = (int)(uint32_t)link != 0;
    }
    return 0;
}
