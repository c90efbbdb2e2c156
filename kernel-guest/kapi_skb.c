/*
 * kernel-guest/kapi_skb.c: socket buffers as drivers use them (the
 * out-of-line part of net/core/skbuff.c and net/ethernet/eth.c), the
 * receive hand-off (netif_receive_skb, napi_gro_receive, netif_rx) and the
 * host's transmit (an skb built from a host frame, ndo_start_xmit).
 *
 * Layout from BTF: head/data are pointers, tail/end offsets from head
 * (NET_SKBUFF_DATA_USES_OFFSET on 64-bit), mac/network/transport headers
 * u16 offsets from head (~0 unset); struct skb_shared_info sits at
 * head + end.  Drivers reach most of it inline (skb->data, skb->len,
 * skb_reserve, skb_tail_pointer); the kernel side keeps it consistent.
 * Only linear skbs are made (nr_frags 0): what the host sends is small.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <string.h>

#define KSKB_NET_SKB_PAD 64           /* max(32, L1_CACHE_BYTES) */
#define KSKB_DATA_ALIGN 64            /* SKB_DATA_ALIGN: SMP_CACHE_BYTES */
#define KSKB_ETH_HLEN 14
#define KSKB_ETH_P_802_3_MIN 0x0600
#define KSKB_PACKET_HOST 0
#define KSKB_PACKET_BROADCAST 1
#define KSKB_PACKET_MULTICAST 2
#define KSKB_PACKET_OTHERHOST 3
#define KSKB_NETDEV_TX_BUSY 0x10

static uint64_t kskb_rd(Kernel *k, uint64_t skb, const char *f)
{
    return kernel_field_read(k, skb, "sk_buff", f);
}

static void kskb_wr(Kernel *k, uint64_t skb, const char *f, uint64_t v)
{
    kernel_field_write(k, skb, "sk_buff", f, v);
}

/* __alloc_skb(): a zeroed sk_buff and size bytes of linear data followed
 * by skb_shared_info; 0 when memory is exhausted. */
static uint64_t kskb_alloc(Kernel *k, uint64_t size)
{
    long ssz = kernel_sizeof(k, "sk_buff"), isz = kernel_sizeof(k, "skb_shared_info");
    uint64_t data = (size + KSKB_DATA_ALIGN - 1) & ~(uint64_t)(KSKB_DATA_ALIGN - 1);
    uint64_t skb, head;

    if (ssz < 0 || isz < 0 || size > (1u << 24)) {
        return 0;
    }
    skb = kmem_kmalloc(&k->mem, (uint64_t)ssz, 64, true);
    head = kmem_kmalloc(&k->mem, data + (uint64_t)isz, 64, false);
    if (!skb || !head) {
        kmem_kfree(&k->mem, skb);
        kmem_kfree(&k->mem, head);
        return 0;
    }
    memset(kmem_host(&k->mem, head + data, (uint64_t)isz), 0, (size_t)isz);
    kskb_wr(k, skb, "head", head);
    kskb_wr(k, skb, "data", head);
    kskb_wr(k, skb, "tail", 0);
    kskb_wr(k, skb, "end", data);
    kskb_wr(k, skb, "truesize", data + (uint64_t)ssz + (uint64_t)isz);
    kskb_wr(k, skb, "users.refs.counter", 1);
    kskb_wr(k, skb, "mac_header", 0xffff);
    kskb_wr(k, skb, "network_header", 0xffff);
    kskb_wr(k, skb, "transport_header", 0xffff);
    kernel_field_write(k, head + data, "skb_shared_info", "dataref.counter", 1);
    return skb;
}

static void kskb_reserve(Kernel *k, uint64_t skb, uint64_t n)
{
    kskb_wr(k, skb, "data", kskb_rd(k, skb, "data") + n);
    kskb_wr(k, skb, "tail", kskb_rd(k, skb, "tail") + n);
}

/* Drops a reference; the last one frees data and struct. */
static void kskb_free(Kernel *k, VcpuCall *c, uint64_t skb)
{
    uint64_t users;

    if (!skb) {
        return;
    }
    users = kskb_rd(k, skb, "users.refs.counter");
    if (users > 1) {
        kskb_wr(k, skb, "users.refs.counter", users - 1);
        return;
    }
    if (users == 0 || kmem_kfree(&k->mem, kskb_rd(k, skb, "head")) != 0 ||
        kmem_kfree(&k->mem, skb) != 0) {
        vcpu_raise(k->cpu, "%s of skb 0x%llx, which is not a live socket buffer (double free?)",
                   c ? vcpu_call_name(c) : "kfree_skb", (unsigned long long)skb);
    }
}

/* __netdev_alloc_skb(dev, len, gfp) */
static uint64_t kapi_netdev_alloc_skb(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t skb = kskb_alloc(k, c->arg[1] + KSKB_NET_SKB_PAD);

    if (skb) {
        kskb_reserve(k, skb, KSKB_NET_SKB_PAD);
        kskb_wr(k, skb, "dev", c->arg[0]);
    }
    return skb;
}

/* __napi_alloc_skb(napi, len, gfp) */
static uint64_t kapi_napi_alloc_skb(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t skb = kskb_alloc(k, c->arg[1] + KSKB_NET_SKB_PAD);

    if (skb) {
        kskb_reserve(k, skb, KSKB_NET_SKB_PAD);
        kskb_wr(k, skb, "dev", kernel_field_read(k, c->arg[0], "napi_struct", "dev"));
    }
    return skb;
}

/* __alloc_skb(size, gfp, flags, node) */
static uint64_t kapi_alloc_skb(void *opaque, VcpuCall *c)
{
    return kskb_alloc(opaque, c->arg[0]);
}

/* skb_put(skb, len): extends the data; past the end is skb_over_panic. */
static uint64_t kapi_skb_put(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t skb = c->arg[0], len = (uint32_t)c->arg[1];
    uint64_t tail = kskb_rd(k, skb, "tail"), head = kskb_rd(k, skb, "head");

    if (tail + len > kskb_rd(k, skb, "end")) {
        vcpu_raise(c->cpu, "kernel BUG at net/core/skbuff.c: skb_over_panic: skb_put of %llu "
                   "bytes past the end [len=%llu] [tail=%llu] [end=%llu]",
                   (unsigned long long)len, (unsigned long long)kskb_rd(k, skb, "len"),
                   (unsigned long long)tail, (unsigned long long)kskb_rd(k, skb, "end"));
        return 0;
    }
    kskb_wr(k, skb, "tail", tail + len);
    kskb_wr(k, skb, "len", kskb_rd(k, skb, "len") + len);
    return head + tail;
}

static uint64_t kapi_skb_free(void *opaque, VcpuCall *c)
{
    kskb_free(opaque, c, c->arg[0]);
    return 0;
}

/* eth_type_trans(skb, dev): mac header, pull 14 bytes, pkt_type, protocol. */
static uint64_t kapi_eth_type_trans(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t skb = c->arg[0], dev = c->arg[1];
    uint64_t data = kskb_rd(k, skb, "data"), head = kskb_rd(k, skb, "head");
    const uint8_t *eth = kmem_host(&k->mem, data, KSKB_ETH_HLEN);
    const uint8_t *mine = kmem_host(&k->mem, kernel_field_read(k, dev, "net_device", "dev_addr"), 6);
    uint64_t len = kskb_rd(k, skb, "len");
    uint16_t proto;
    int type;

    if (!eth || !mine || len < KSKB_ETH_HLEN) {
        vcpu_raise(c->cpu, "eth_type_trans of an skb without an Ethernet header [len=%llu]",
                   (unsigned long long)len);
        return 0;
    }
    kskb_wr(k, skb, "dev", dev);
    kskb_wr(k, skb, "mac_header", data - head);
    kskb_wr(k, skb, "data", data + KSKB_ETH_HLEN);
    kskb_wr(k, skb, "len", len - KSKB_ETH_HLEN);
    if (eth[0] & 1) {
        type = memcmp(eth, "\xff\xff\xff\xff\xff\xff", 6) ? KSKB_PACKET_MULTICAST
                                                           : KSKB_PACKET_BROADCAST;
    } else {
        type = memcmp(eth, mine, 6) ? KSKB_PACKET_OTHERHOST : KSKB_PACKET_HOST;
    }
    kskb_wr(k, skb, "pkt_type", (uint64_t)type);
    /* Big-endian on the wire; returned as __be16 (the raw two bytes). */
    proto = (uint16_t)(eth[12] | eth[13] << 8);
    if ((eth[12] << 8 | eth[13]) < KSKB_ETH_P_802_3_MIN) {
        proto = 0x0400;          /* htons(ETH_P_802_2) */
    }
    kskb_wr(k, skb, "protocol", proto);
    return proto;
}

/* The stack receives skb: the frame goes to the host, the skb is consumed. */
static void kskb_receive(Kernel *k, VcpuCall *c, uint64_t skb)
{
    uint64_t head = kskb_rd(k, skb, "head"), data = kskb_rd(k, skb, "data");
    uint64_t mac = kskb_rd(k, skb, "mac_header"), len = kskb_rd(k, skb, "len");
    uint64_t start = mac == 0xffff ? data : head + mac;
    uint64_t total = len + (data - start);
    uint64_t dev = kskb_rd(k, skb, "dev");
    long noff = btf_layout_offsetof(k->btf, "net_device", "name");
    const uint8_t *frame = kmem_host(&k->mem, start, total);
    char name[16] = "?";

    if (kskb_rd(k, skb, "data_len")) {
        vcpu_raise(c->cpu, "%s of a non-linear skb: sluice takes linear ones only",
                   vcpu_call_name(c));
        return;
    }
    if (dev && noff >= 0) {
        kernel_read_str(k, dev + (uint64_t)noff, name, sizeof(name));
    }
    if (frame && k->host.netrx) {
        k->host.netrx(k->host.opaque, name, frame, total);
    }
    k->sched.rx_delivered++;
    kskb_free(k, c, skb);
}

static uint64_t kapi_netif_receive_skb(void *opaque, VcpuCall *c)
{
    kskb_receive(opaque, c, c->arg[0]);
    return 0;                    /* NET_RX_SUCCESS */
}

/* napi_gro_receive(napi, skb): no GRO in sluice, straight to the stack. */
static uint64_t kapi_napi_gro_receive(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int64_t normal = kernel_enum(k, "GRO_NORMAL");

    kskb_receive(k, c, c->arg[1]);
    return (uint64_t)normal;
}

/* skb_copy_and_csum_dev(skb, to): the whole frame into a driver buffer.
 * The host sends no CHECKSUM_PARTIAL skbs, so no checksum to fold in. */
static uint64_t kapi_skb_copy_and_csum_dev(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t len = kskb_rd(k, c->arg[0], "len");
    uint8_t *src = kmem_host(&k->mem, kskb_rd(k, c->arg[0], "data"), len);
    uint8_t *dst = kmem_host(&k->mem, c->arg[1], len);

    if (!src || !dst) {
        vcpu_raise(c->cpu, "skb_copy_and_csum_dev into a bad buffer [to=0x%llx] [len=%llu]",
                   (unsigned long long)c->arg[1], (unsigned long long)len);
        return 0;
    }
    memmove(dst, src, len);
    return 0;
}

/* __netdev_alloc_frag_align(fragsz, align_mask): a buffer for build_skb;
 * page_frag_free(addr) returns it. */
static uint64_t kapi_netdev_alloc_frag(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    /* align_mask is an unsigned int: ~0u means no extra alignment. */
    uint64_t align = (uint32_t)(~(uint32_t)c->arg[1] + 1u);

    if (align > 4096 || (align & (align - 1))) {
        return 0;
    }
    return kmem_kmalloc(&k->mem, c->arg[0] ? c->arg[0] : 1, align > 64 ? align : 64, false);
}

static uint64_t kapi_page_frag_free(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    /* Any address inside the fragment frees it, as virt_to_head_page(). */
    uint64_t start = c->arg[0] ? kmem_containing(&k->mem, c->arg[0]) : 0;

    if (c->arg[0] && (!start || kmem_kfree(&k->mem, start) != 0)) {
        vcpu_raise(c->cpu, "page_frag_free of 0x%llx, which no fragment allocation returned",
                   (unsigned long long)c->arg[0]);
    }
    return 0;
}

/* napi_build_skb(data, frag_size): an sk_buff around a buffer the driver
 * filled; skb_shared_info at its end. */
static uint64_t kapi_napi_build_skb(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    long ssz = kernel_sizeof(k, "sk_buff"), isz = kernel_sizeof(k, "skb_shared_info");
    uint64_t data = c->arg[0], size = c->arg[1];
    uint64_t shinfo = ((uint64_t)isz + KSKB_DATA_ALIGN - 1) & ~(uint64_t)(KSKB_DATA_ALIGN - 1);
    uint64_t skb;
    void *si;

    if (ssz < 0 || isz < 0 || size <= shinfo) {
        return 0;
    }
    skb = kmem_kmalloc(&k->mem, (uint64_t)ssz, 64, true);
    si = kmem_host(&k->mem, data + size - shinfo, (uint64_t)isz);
    if (!skb || !si) {
        kmem_kfree(&k->mem, skb);
        return 0;
    }
    memset(si, 0, (size_t)isz);
    kskb_wr(k, skb, "head", data);
    kskb_wr(k, skb, "data", data);
    kskb_wr(k, skb, "tail", 0);
    kskb_wr(k, skb, "end", size - shinfo);
    kskb_wr(k, skb, "truesize", size + (uint64_t)ssz);
    kskb_wr(k, skb, "users.refs.counter", 1);
    kskb_wr(k, skb, "head_frag", 1);
    kskb_wr(k, skb, "mac_header", 0xffff);
    kskb_wr(k, skb, "network_header", 0xffff);
    kskb_wr(k, skb, "transport_header", 0xffff);
    kernel_field_write(k, data + size - shinfo, "skb_shared_info", "dataref.counter", 1);
    return skb;
}

/* skb_trim(skb, len) on a linear skb. */
static uint64_t kapi_skb_trim(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t skb = c->arg[0], len = (uint32_t)c->arg[1];

    if (len < kskb_rd(k, skb, "len") && !kskb_rd(k, skb, "data_len")) {
        kskb_wr(k, skb, "len", len);
        kskb_wr(k, skb, "tail", kskb_rd(k, skb, "data") - kskb_rd(k, skb, "head") + len);
    }
    return 0;
}

/* __skb_pad(skb, pad, free_on_error): zero the tailroom after the data
 * (the host's skbs have room: they are allocated at least 60 + headroom). */
static uint64_t kapi_skb_pad(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t skb = c->arg[0], pad = (uint32_t)c->arg[1];
    uint64_t tail = kskb_rd(k, skb, "head") + kskb_rd(k, skb, "tail");
    uint8_t *p;

    if (kskb_rd(k, skb, "tail") + pad > kskb_rd(k, skb, "end") ||
        !(p = kmem_host(&k->mem, tail, pad))) {
        if (c->arg[2]) {
            kskb_free(k, c, skb);
        }
        return (uint64_t)-ENOMEM;
    }
    memset(p, 0, pad);
    return 0;
}

/* Byte queue limits (lib/dynamic_queue_limits.c), as a queue that never
 * needs limiting: drivers call them around every batch. */
static uint64_t kapi_dql_reset(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t q = c->arg[0];

    kernel_field_write(k, q, "dql", "num_queued", 0);
    kernel_field_write(k, q, "dql", "num_completed", 0);
    kernel_field_write(k, q, "dql", "adj_limit", 1u << 30);
    kernel_field_write(k, q, "dql", "limit", 1u << 30);
    return 0;
}

static uint64_t kapi_dql_completed(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t q = c->arg[0];
    uint64_t done = kernel_field_read(k, q, "dql", "num_completed") + (uint32_t)c->arg[1];

    kernel_field_write(k, q, "dql", "num_completed", done);
    kernel_field_write(k, q, "dql", "limit", 1u << 30);
    kernel_field_write(k, q, "dql", "adj_limit", done + (1u << 30));
    return 0;
}

/* netif_schedule_queue(txq): the stack may transmit again. */
static uint64_t kapi_netif_schedule_queue(void *opaque, VcpuCall *c)
{
    ksched_irqs_enabled(opaque);
    return 0;
}

static uint64_t kapi_skb_noop(void *opaque, VcpuCall *c)
{
    return 0;
}

int kskb_xmit_frame(Kernel *k, uint64_t dev, const uint8_t *frame, size_t len)
{
    uint64_t ops = kernel_field_read(k, dev, "net_device", "netdev_ops");
    uint64_t xmit = ops ? kernel_field_read(k, ops, "net_device_ops", "ndo_start_xmit") : 0;
    uint64_t skb = kskb_alloc(k, len + KSKB_NET_SKB_PAD), head, args[2], rc = 0;
    uint8_t *dst;

    if (!xmit || !skb) {
        if (skb) {
            kskb_free(k, NULL, skb);
        }
        return 0;                /* dropped, as Linux drops on no memory */
    }
    kskb_reserve(k, skb, KSKB_NET_SKB_PAD);
    head = kskb_rd(k, skb, "head");
    dst = kmem_host(&k->mem, head + KSKB_NET_SKB_PAD, len);
    memcpy(dst, frame, len);
    kskb_wr(k, skb, "tail", KSKB_NET_SKB_PAD + len);
    kskb_wr(k, skb, "len", len);
    kskb_wr(k, skb, "dev", dev);
    kskb_wr(k, skb, "protocol", (uint64_t)(frame[12] | frame[13] << 8));
    kskb_wr(k, skb, "mac_header", KSKB_NET_SKB_PAD);
    kskb_wr(k, skb, "network_header", KSKB_NET_SKB_PAD + KSKB_ETH_HLEN);
    args[0] = skb;
    args[1] = dev;
    /* dev_hard_start_xmit: softirq context (bottom halves off). */
    if (ksched_call_softirq(k, kernel_module_of(k, xmit), xmit, args, 2, &rc) != 0) {
        return -EFAULT;
    }
    if ((uint32_t)rc == KSKB_NETDEV_TX_BUSY) {
        kskb_free(k, NULL, skb);
        return 1;
    }
    return 0;
}

int kapi_skb_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"__netdev_alloc_skb", kapi_netdev_alloc_skb},
        {"__napi_alloc_skb", kapi_napi_alloc_skb},
        {"__alloc_skb", kapi_alloc_skb},
        {"skb_put", kapi_skb_put},
        {"__dev_kfree_skb_any", kapi_skb_free},
        {"__dev_kfree_skb_irq", kapi_skb_free},
        {"consume_skb", kapi_skb_free},
        {"kfree_skb_reason", kapi_skb_free},
        {"napi_consume_skb", kapi_skb_free},
        {"eth_type_trans", kapi_eth_type_trans},
        {"netif_receive_skb", kapi_netif_receive_skb},
        {"netif_rx", kapi_netif_receive_skb},
        {"napi_gro_receive", kapi_napi_gro_receive},
        {"skb_copy_and_csum_dev", kapi_skb_copy_and_csum_dev},
        {"skb_tstamp_tx", kapi_skb_noop},
        {"skb_clone_tx_timestamp", kapi_skb_noop},
        {"skb_defer_rx_timestamp", kapi_skb_noop},
        {"__netdev_alloc_frag_align", kapi_netdev_alloc_frag},
        {"page_frag_free", kapi_page_frag_free},
        {"napi_build_skb", kapi_napi_build_skb},
        {"skb_trim", kapi_skb_trim},
        {"__skb_pad", kapi_skb_pad},
        {"dql_reset", kapi_dql_reset},
        {"dql_completed", kapi_dql_completed},
        {"netif_schedule_queue", kapi_netif_schedule_queue},
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return 0;
}
