/*
 * kernel-guest/kapi_netdev.c: net_device allocation, registration and the
 * small netdev helpers probe and remove use (net/core/dev.c,
 * net/ethernet/eth.c): unregister closing an interface that is still up,
 * carrier and queue state.  An interface's life between them (dev_open,
 * dev_close, stats, ethtool) is in kapi_netdev_ops.c.  Every field is
 * written through BTF names.
 *
 * Not modelled: qdiscs (dev_activate/dev_deactivate attach and detach
 * them; no packet leaves through one yet), netdev notifiers, the link
 * watch (carrier changes are counted, no event is sent), netpoll.
 */
#include "kernel-guest/kapi_netdev.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define KNET_ALIGN 32                 /* NETDEV_ALIGN */
#define KNET_MAX_ADDR_LEN 32
#define KNET_ARPHRD_ETHER 1
#define KNET_ETH_HLEN 14
#define KNET_IFF_BROADCAST 0x2
#define KNET_IFF_MULTICAST 0x1000
#define KNET_EADDRNOTAVAIL 99

void knet_warn(Kernel *k, const char *file, const char *func, const char *fmt, ...)
{
    char msg[512], insn[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    kernel_current_insn(k, insn, sizeof(insn));
    kernel_log(k, '4', "------------[ cut here ]------------");
    kernel_log(k, '4', "%s", msg);
    kernel_log(k, '4', "WARNING: CPU: 0 PID: 1 at %s %s (called from %s)", file, func, insn);
    k->warnings++;
}

bool knet_assign_bit(Kernel *k, uint64_t va, int64_t bit, bool on)
{
    uint64_t w = kernel_read_u64(k, va);
    bool old = (w >> bit) & 1;

    kernel_write_u64(k, va, on ? w | (1ull << bit) : w & ~(1ull << bit));
    return old;
}

const char *knet_errname(int err)
{
    const char *n = err < 0 ? strerrorname_np(-err) : NULL;

    return n ? n : "E?";
}

static KNetdev *knet_find(Kernel *k, uint64_t dev)
{
    for (unsigned i = 0; i < k->nnetdevs; i++) {
        if (k->netdevs[i].dev == dev) {
            return &k->netdevs[i];
        }
    }
    return NULL;
}

/* An empty list_head at va: both pointers to itself. */
static void knet_list_init(Kernel *k, uint64_t dev, const char *path)
{
    char next[96], prev[96];
    long off = kernel_offsetof(k, "net_device", path);

    if (off < 0) {
        return;
    }
    snprintf(next, sizeof(next), "%s.next", path);
    snprintf(prev, sizeof(prev), "%s.prev", path);
    kernel_field_write(k, dev, "net_device", next, dev + (uint64_t)off);
    kernel_field_write(k, dev, "net_device", prev, dev + (uint64_t)off);
}

/* ether_setup(dev): the Ethernet defaults (net/ethernet/eth.c). */
static void knet_ether_setup(Kernel *k, uint64_t dev)
{
    long bcast = kernel_offsetof(k, "net_device", "broadcast");
    uint8_t *b = bcast < 0 ? NULL : kmem_host(&k->mem, dev + (uint64_t)bcast, 6);

    if (b) {
        memset(b, 0xff, 6);
    }
    kernel_field_write(k, dev, "net_device", "type", KNET_ARPHRD_ETHER);
    kernel_field_write(k, dev, "net_device", "hard_header_len", KNET_ETH_HLEN);
    kernel_field_write(k, dev, "net_device", "min_header_len", KNET_ETH_HLEN);
    kernel_field_write(k, dev, "net_device", "mtu", 1500);
    kernel_field_write(k, dev, "net_device", "min_mtu", 68);
    kernel_field_write(k, dev, "net_device", "max_mtu", 1500);
    kernel_field_write(k, dev, "net_device", "addr_len", 6);
    kernel_field_write(k, dev, "net_device", "tx_queue_len", 1000);
    kernel_field_write(k, dev, "net_device", "flags", KNET_IFF_BROADCAST | KNET_IFF_MULTICAST);
}

static uint64_t kapi_ether_setup(void *opaque, VcpuCall *c)
{
    knet_ether_setup(opaque, c->arg[0]);
    return 0;
}

/* alloc_netdev_mqs(): the net_device with its private area after it
 * (netdev_priv), queues, address buffer and empty lists, named name
 * ("eth%d"), then the driver's setup(dev) callback -- or ether_setup for
 * alloc_etherdev_mqs.  0 on failure. */
static uint64_t knet_alloc(Kernel *k, uint64_t priv, const char *name_str, uint64_t name_va,
                           uint64_t setup, uint64_t txqs, uint64_t rxqs)
{
    long nsz = kernel_sizeof(k, "net_device");
    long qsz = kernel_sizeof(k, "netdev_queue");
    long rsz = kernel_sizeof(k, "netdev_rx_queue");
    long name = kernel_offsetof(k, "net_device", "name");
    uint64_t dev, tx, rx, addr;
    char nm[16] = "";

    if (nsz < 0 || qsz < 0 || rsz < 0 || name < 0 || k->nnetdevs == KERNEL_MAX_NETDEVS) {
        return 0;
    }
    txqs = txqs ? txqs : 1;
    rxqs = rxqs ? rxqs : 1;
    dev = kmem_kmalloc(&k->mem, (((uint64_t)nsz + KNET_ALIGN - 1) & ~(uint64_t)(KNET_ALIGN - 1)) +
                                    priv, KNET_ALIGN, true);
    tx = kmem_kmalloc(&k->mem, txqs * (uint64_t)qsz, 64, true);
    rx = kmem_kmalloc(&k->mem, rxqs * (uint64_t)rsz, 64, true);
    addr = kmem_kmalloc(&k->mem, KNET_MAX_ADDR_LEN, 16, true);
    if (!dev || !tx || !rx || !addr) {
        kmem_kfree(&k->mem, dev);
        kmem_kfree(&k->mem, tx);
        kmem_kfree(&k->mem, rx);
        kmem_kfree(&k->mem, addr);
        return 0;
    }
    if (name_str) {
        snprintf(nm, sizeof(nm), "%s", name_str);
    } else if (name_va) {
        kernel_read_str(k, name_va, nm, sizeof(nm));
    }
    memcpy(kmem_host(&k->mem, dev + (uint64_t)name, 16), nm, sizeof(nm));
    kernel_field_write(k, dev, "net_device", "_tx", tx);
    kernel_field_write(k, dev, "net_device", "num_tx_queues", txqs);
    kernel_field_write(k, dev, "net_device", "real_num_tx_queues", txqs);
    kernel_field_write(k, dev, "net_device", "_rx", rx);
    kernel_field_write(k, dev, "net_device", "num_rx_queues", rxqs);
    kernel_field_write(k, dev, "net_device", "real_num_rx_queues", rxqs);
    for (uint64_t i = 0; i < txqs; i++) {
        kernel_field_write(k, tx + i * (uint64_t)qsz, "netdev_queue", "dev", dev);
    }
    for (uint64_t i = 0; i < rxqs; i++) {
        kernel_field_write(k, rx + i * (uint64_t)rsz, "netdev_rx_queue", "dev", dev);
    }
    kernel_field_write(k, dev, "net_device", "dev_addr", addr);
    kernel_field_write(k, dev, "net_device", "reg_state", (uint64_t)knet_enum(k, "NETREG_UNINITIALIZED"));
    knet_list_init(k, dev, "mc.list");
    knet_list_init(k, dev, "uc.list");
    knet_list_init(k, dev, "napi_list");
    knet_list_init(k, dev, "dev_list");
    knet_list_init(k, dev, "unreg_list");
    knet_list_init(k, dev, "close_list");
    if (vcpu_dead(k->cpu)) {
        return 0;
    }
    k->netdevs[k->nnetdevs++] = (KNetdev){.dev = dev};
    if (!setup) {
        knet_ether_setup(k, dev);
    } else if (kernel_call(k, kernel_module_of(k, setup), k->phase, setup, &dev, 1, NULL) != 0) {
        return 0;
    }
    return dev;
}

/* alloc_etherdev_mqs(sizeof_priv, txqs, rxqs) */
static uint64_t kapi_alloc_etherdev_mqs(void *opaque, VcpuCall *c)
{
    return knet_alloc(opaque, c->arg[0], "eth%d", 0, 0, c->arg[1], c->arg[2]);
}

/* alloc_netdev_mqs(sizeof_priv, name, name_assign_type, setup, txqs, rxqs) */
static uint64_t kapi_alloc_netdev_mqs(void *opaque, VcpuCall *c)
{
    return knet_alloc(opaque, c->arg[0], NULL, c->arg[1], c->arg[3], c->arg[4], c->arg[5]);
}

/* register_netdev(dev): a unique name for "eth%d", ndo_init, registered
 * and present. */
static uint64_t kapi_register_netdev(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t dev = c->arg[0];
    KNetdev *n = knet_find(k, dev);
    long name_off = kernel_offsetof(k, "net_device", "name");
    uint64_t ops, init, ret = 0;
    char name[16];

    if (!n || name_off < 0) {
        vcpu_raise(c->cpu, "register_netdev of 0x%llx, which alloc_netdev did not return",
                   (unsigned long long)dev);
        return (uint64_t)-EINVAL;
    }
    kernel_read_str(k, dev + (uint64_t)name_off, name, sizeof(name));
    if (strchr(name, '%')) {
        unsigned unit = 0;
        char *pct = strchr(name, '%');
        bool taken;

        *pct = 0;
        do {
            char cand[32], other[16];

            taken = false;
            snprintf(cand, sizeof(cand), "%.8s%u", name, unit);
            for (unsigned i = 0; i < k->nnetdevs; i++) {
                if (k->netdevs[i].registered) {
                    kernel_read_str(k, k->netdevs[i].dev + (uint64_t)name_off, other, sizeof(other));
                    taken = taken || !strcmp(other, cand);
                }
            }
            if (!taken) {
                memcpy(kmem_host(&k->mem, dev + (uint64_t)name_off, 16), cand, strlen(cand) + 1);
            }
            unit++;
        } while (taken);
    }
    ops = kernel_field_read(k, dev, "net_device", "netdev_ops");
    init = ops ? kernel_field_read(k, ops, "net_device_ops", "ndo_init") : 0;
    if (init && (kernel_call(k, k->current_module, k->phase, init, &dev, 1, &ret) != 0 ||
                 (int32_t)ret != 0)) {
        return ret;
    }
    kernel_field_write(k, dev, "net_device", "ifindex", 2 + (uint64_t)(n - k->netdevs));
    kernel_field_write(k, dev, "net_device", "reg_state", (uint64_t)knet_enum(k, "NETREG_REGISTERED"));
    knet_set_bit(k, knet_state_va(k, dev), knet_enum(k, "__LINK_STATE_PRESENT"), true);
    n->registered = true;
    k->netdevs_registered_total++;
    return 0;
}

static uint64_t kapi_unregister_netdev(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t dev = c->arg[0], ops, uninit;
    KNetdev *n = knet_find(k, dev);

    if (!n || !n->registered) {
        vcpu_raise(c->cpu, "unregister_netdev of 0x%llx, which is not registered",
                   (unsigned long long)dev);
        return 0;
    }
    /* unregister_netdevice_many() closes an interface that is still up
     * (dev_close_many) before anything else, all under the RTNL. */
    kernel_might_sleep(k, vcpu_call_name(c));
    if (k->rtnl_depth) {
        vcpu_raise(c->cpu, "RTNL deadlock: unregister_netdev takes the RTNL, which is already held");
        return 0;
    }
    if (vcpu_dead(c->cpu) || knet_dev_close(k, n, k->phase) != 0) {
        return 0;
    }
    ops = kernel_field_read(k, dev, "net_device", "netdev_ops");
    uninit = ops ? kernel_field_read(k, ops, "net_device_ops", "ndo_uninit") : 0;
    k->rtnl_depth++;
    if (uninit && kernel_call(k, k->current_module, k->phase, uninit, &dev, 1, NULL) != 0) {
        return 0;
    }
    k->rtnl_depth--;
    kernel_field_write(k, dev, "net_device", "reg_state", (uint64_t)knet_enum(k, "NETREG_UNREGISTERED"));
    n->registered = false;
    return 0;
}

static uint64_t kapi_free_netdev(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t dev = c->arg[0];
    KNetdev *n = knet_find(k, dev);
    uint64_t st;

    if (!n) {
        vcpu_raise(c->cpu, "free_netdev of 0x%llx, which alloc_netdev did not return",
                   (unsigned long long)dev);
        return 0;
    }
    st = kernel_field_read(k, dev, "net_device", "reg_state");
    if (st != (uint64_t)knet_enum(k, "NETREG_UNINITIALIZED") &&
        st != (uint64_t)knet_enum(k, "NETREG_UNREGISTERED")) {
        vcpu_raise(c->cpu, "kernel BUG: free_netdev of a registered net_device (BUG_ON in net/core/dev.c)");
        return 0;
    }
    knapi_forget_dev(k, dev);
    kmem_kfree(&k->mem, kernel_field_read(k, dev, "net_device", "_tx"));
    kmem_kfree(&k->mem, kernel_field_read(k, dev, "net_device", "_rx"));
    kmem_kfree(&k->mem, kernel_field_read(k, dev, "net_device", "dev_addr"));
    kmem_kfree(&k->mem, dev);
    *n = k->netdevs[--k->nnetdevs];
    return 0;
}

/* dev_addr_mod(dev, offset, addr, len) */
static uint64_t kapi_dev_addr_mod(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t dst = kernel_field_read(k, c->arg[0], "net_device", "dev_addr") + c->arg[1];
    uint8_t *d = kmem_host(&k->mem, dst, c->arg[3]);
    uint8_t *s = kmem_host(&k->mem, c->arg[2], c->arg[3]);

    if (!d || !s || c->arg[1] + c->arg[3] > KNET_MAX_ADDR_LEN) {
        vcpu_raise(c->cpu, "dev_addr_mod out of range [offset=%llu] [len=%llu]",
                   (unsigned long long)c->arg[1], (unsigned long long)c->arg[3]);
        return 0;
    }
    memmove(d, s, c->arg[3]);
    return 0;
}

/* eth_validate_addr(dev): -EADDRNOTAVAIL unless a unicast, non-zero MAC. */
static uint64_t kapi_eth_validate_addr(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    const uint8_t *a = kmem_host(&k->mem, kernel_field_read(k, c->arg[0], "net_device", "dev_addr"), 6);
    bool zero = a && !(a[0] | a[1] | a[2] | a[3] | a[4] | a[5]);

    return !a || zero || (a[0] & 1) ? (uint64_t)-KNET_EADDRNOTAVAIL : 0;
}

static uint64_t kapi_netif_device_attach(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    knet_set_bit(k, knet_state_va(k, c->arg[0]), knet_enum(k, "__LINK_STATE_PRESENT"), true);
    return 0;
}

static uint64_t kapi_netif_device_detach(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    knet_set_bit(k, knet_state_va(k, c->arg[0]), knet_enum(k, "__LINK_STATE_PRESENT"), false);
    return 0;
}

/* netif_carrier_on(dev) / netif_carrier_off(dev): the __LINK_STATE_NOCARRIER
 * bit, and the carrier_up/down counts a change bumps once the device is
 * registered (Linux prints nothing itself; mii and drivers do). */
static void knet_carrier(Kernel *k, uint64_t dev, bool on)
{
    int64_t bit = knet_enum(k, "__LINK_STATE_NOCARRIER");
    const char *count = on ? "carrier_up_count.counter" : "carrier_down_count.counter";

    if (bit < 0 || bit > 63 || knet_assign_bit(k, knet_state_va(k, dev), bit, !on) != on) {
        return;                  /* on: NOCARRIER was clear; off: it was set */
    }
    if (kernel_field_read(k, dev, "net_device", "reg_state") ==
        (uint64_t)knet_enum(k, "NETREG_UNINITIALIZED")) {
        return;
    }
    kernel_field_write(k, dev, "net_device", count,
                       (uint32_t)(kernel_field_read(k, dev, "net_device", count) + 1));
}

static uint64_t kapi_netif_carrier_on(void *opaque, VcpuCall *c)
{
    knet_carrier(opaque, c->arg[0], true);
    return 0;
}

static uint64_t kapi_netif_carrier_off(void *opaque, VcpuCall *c)
{
    knet_carrier(opaque, c->arg[0], false);
    return 0;
}

/* netif_tx_wake_queue(dev_queue): the stack may hand the queue packets
 * again (clears __QUEUE_STATE_DRV_XOFF; rescheduling its qdisc is not
 * modelled). */
static uint64_t kapi_netif_tx_wake_queue(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    long off = kernel_offsetof(k, "netdev_queue", "state");

    if (off >= 0) {
        knet_set_bit(k, c->arg[0] + (uint64_t)off, knet_enum(k, "__QUEUE_STATE_DRV_XOFF"), false);
    }
    return 0;
}

/* netif_napi_add_weight(dev, napi, poll, weight): the instance starts
 * disabled (SCHED set) until napi_enable, as in Linux. */
static uint64_t kapi_netif_napi_add_weight(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t napi = c->arg[1];
    long st = kernel_offsetof(k, "napi_struct", "state");

    kernel_field_write(k, napi, "napi_struct", "dev", c->arg[0]);
    kernel_field_write(k, napi, "napi_struct", "poll", c->arg[2]);
    kernel_field_write(k, napi, "napi_struct", "weight", c->arg[3]);
    if (st >= 0) {
        knet_set_bit(k, napi + (uint64_t)st, knet_enum(k, "NAPI_STATE_SCHED"), true);
        knet_set_bit(k, napi + (uint64_t)st, knet_enum(k, "NAPI_STATE_NPSVC"), true);
    }
    return 0;
}

/* netdev_stats_to_stats64(stats64, netdev_stats): unsigned longs to u64s,
 * the rest zeroed. */
static uint64_t kapi_netdev_stats_to_stats64(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    long n = kernel_sizeof(k, "net_device_stats") / 8;
    long m = kernel_sizeof(k, "rtnl_link_stats64") / 8;

    for (long i = 0; i < m && n > 0; i++) {
        kernel_write_u64(k, c->arg[0] + 8 * (uint64_t)i,
                         i < n ? kernel_read_u64(k, c->arg[1] + 8 * (uint64_t)i) : 0);
    }
    return 0;
}

int kapi_netdev_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"alloc_etherdev_mqs", kapi_alloc_etherdev_mqs},
        {"alloc_netdev_mqs", kapi_alloc_netdev_mqs},
        {"ether_setup", kapi_ether_setup},
        {"register_netdev", kapi_register_netdev},
        {"unregister_netdev", kapi_unregister_netdev},
        {"free_netdev", kapi_free_netdev},
        {"dev_addr_mod", kapi_dev_addr_mod},
        {"eth_validate_addr", kapi_eth_validate_addr},
        {"netif_device_attach", kapi_netif_device_attach},
        {"netif_device_detach", kapi_netif_device_detach},
        {"netif_napi_add_weight", kapi_netif_napi_add_weight},
        {"netdev_stats_to_stats64", kapi_netdev_stats_to_stats64},
        {"netif_carrier_on", kapi_netif_carrier_on},
        {"netif_carrier_off", kapi_netif_carrier_off},
        {"netif_tx_wake_queue", kapi_netif_tx_wake_queue},
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return 0;
}
