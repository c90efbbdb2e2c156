/*
 * kernel-guest/kapi_io.c: the iomap layer (lib/iomap.c, ioremap): cookies
 * for port and memory BARs, ioread/iowrite on them, and MMIO mappings
 * that inline readl/writel reach through the vCPU.
 *
 * Cookies follow Linux: a port BAR is PIO_OFFSET + port (below
 * PIO_RESERVED), a memory BAR is a mapped virtual address.  Every access
 * goes to the device as (device, BAR, offset), so traces name the BAR.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <string.h>

int kio_decode(Kernel *k, uint64_t addr, int *dev, int *bar, uint64_t *off, uint16_t *port)
{
    *port = 0;
    if (addr >= KERNEL_PIO_OFFSET && addr < KERNEL_PIO_RESERVED) {
        uint32_t p = (uint32_t)(addr - KERNEL_PIO_OFFSET);

        *port = (uint16_t)p;
        for (unsigned i = 0; i < k->npci_devices; i++) {
            KPciDevice *d = &k->pci_devices[i];

            for (int b = 0; b < 6; b++) {
                if (d->bar_is_io[b] && d->bar_size[b] && p >= d->bar_base[b] &&
                    p < d->bar_base[b] + d->bar_size[b]) {
                    *dev = (int)i;
                    *bar = b;
                    *off = p - d->bar_base[b];
                    return 0;
                }
            }
        }
        *dev = -1;
        return 0;                /* a port no BAR claims: plain port I/O */
    }
    for (unsigned i = 0; i < k->niomaps; i++) {
        KIomap *m = &k->iomaps[i];

        if (m->len && addr >= m->va && addr < m->va + m->len) {
            *dev = m->dev;
            *bar = m->bar;
            *off = addr - m->va;
            return 0;
        }
    }
    return -EINVAL;
}

static uint64_t kio_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    KIomapWire *w = opaque;
    KIomap *m = &w->k->iomaps[w->idx];

    return w->k->host.pci_bar_read(w->k->host.opaque, w->k->pci_devices[m->dev].devfn,
                                   m->bar, offset, size);
}

static void kio_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    KIomapWire *w = opaque;
    KIomap *m = &w->k->iomaps[w->idx];

    w->k->host.pci_bar_write(w->k->host.opaque, w->k->pci_devices[m->dev].devfn, m->bar,
                             offset, (uint32_t)value, size);
}

/* Maps a memory BAR into the ioremap area; returns the address or 0. */
static uint64_t kio_map_bar(Kernel *k, unsigned dev, int bar, uint64_t len)
{
    KPciDevice *d = &k->pci_devices[dev];
    uint64_t maplen, va;
    KIomap *m;
    SlError e;

    if (k->niomaps == KERNEL_MAX_IOMAPS || !d->bar_size[bar] || d->bar_is_io[bar]) {
        return 0;
    }
    if (!len || len > d->bar_size[bar]) {
        len = d->bar_size[bar];
    }
    maplen = (len + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);
    va = kmem_reserve_vmalloc(&k->mem, maplen);
    m = &k->iomaps[k->niomaps];
    k->iomap_wires[k->niomaps] = (KIomapWire){.k = k, .idx = k->niomaps};
    if (vcpu_map_mmio(k->cpu, va, maplen, kio_mmio_read, kio_mmio_write,
                      &k->iomap_wires[k->niomaps], &e) != 0) {
        return 0;
    }
    *m = (KIomap){.va = va, .len = len, .dev = (int)dev, .bar = bar};
    k->niomaps++;
    return va;
}

int kio_remap(Kernel *k, unsigned idx, SlError *e)
{
    KIomap *m = &k->iomaps[idx];
    uint64_t maplen = (m->len + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);

    k->iomap_wires[idx] = (KIomapWire){.k = k, .idx = idx};
    return vcpu_map_mmio(k->cpu, m->va, maplen, kio_mmio_read, kio_mmio_write,
                         &k->iomap_wires[idx], e);
}

static int kio_dev_index(Kernel *k, uint64_t pdev)
{
    for (unsigned i = 0; i < k->npci_devices; i++) {
        if (k->pci_devices[i].pdev == pdev) {
            return (int)i;
        }
    }
    return -1;
}

/* pci_iomap(pdev, bar, maxlen) */
static uint64_t kapi_pci_iomap(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int dev = kio_dev_index(k, c->arg[0]);
    unsigned bar = (unsigned)c->arg[1];
    KPciDevice *d;

    if (dev < 0 || bar >= 6) {
        return 0;
    }
    d = &k->pci_devices[dev];
    if (!d->bar_size[bar]) {
        return 0;
    }
    if (d->bar_is_io[bar]) {
        return KERNEL_PIO_OFFSET + d->bar_base[bar];
    }
    return kio_map_bar(k, (unsigned)dev, (int)bar, c->arg[2]);
}

static uint64_t kapi_pci_ioremap_bar(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int dev = kio_dev_index(k, c->arg[0]);

    if (dev < 0 || c->arg[1] >= 6) {
        return 0;
    }
    return kio_map_bar(k, (unsigned)dev, (int)c->arg[1], 0);
}

/* ioremap(phys, size): finds the memory BAR holding phys. */
static uint64_t kapi_ioremap(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    for (unsigned i = 0; i < k->npci_devices; i++) {
        KPciDevice *d = &k->pci_devices[i];

        for (int b = 0; b < 6; b++) {
            if (!d->bar_is_io[b] && d->bar_size[b] && c->arg[0] == d->bar_base[b]) {
                return kio_map_bar(k, i, b, c->arg[1]);
            }
        }
    }
    kernel_log(k, '3', "sluice: ioremap of 0x%llx: no device memory there",
               (unsigned long long)c->arg[0]);
    return 0;
}

/* pci_iounmap(pdev, addr) / iounmap(addr) */
static uint64_t kio_unmap(Kernel *k, VcpuCall *c, uint64_t addr)
{
    if (addr >= KERNEL_PIO_OFFSET && addr < KERNEL_PIO_RESERVED) {
        return 0;
    }
    for (unsigned i = 0; i < k->niomaps; i++) {
        KIomap *m = &k->iomaps[i];

        if (m->len && m->va == addr) {
            vcpu_unmap(k->cpu, m->va, (m->len + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1));
            m->len = 0;
            return 0;
        }
    }
    vcpu_raise(c->cpu, "%s of 0x%llx, which is not mapped", vcpu_call_name(c),
               (unsigned long long)addr);
    return 0;
}

static uint64_t kapi_pci_iounmap(void *opaque, VcpuCall *c)
{
    return kio_unmap(opaque, c, c->arg[1]);
}

static uint64_t kapi_iounmap(void *opaque, VcpuCall *c)
{
    return kio_unmap(opaque, c, c->arg[0]);
}

static uint32_t kio_read(Kernel *k, VcpuCall *c, uint64_t addr, unsigned size)
{
    int dev, bar;
    uint64_t off;
    uint16_t port;

    if (kio_decode(k, addr, &dev, &bar, &off, &port) != 0) {
        vcpu_raise(c->cpu, "%s of bad iomem cookie 0x%llx", vcpu_call_name(c),
                   (unsigned long long)addr);
        return 0;
    }
    if (dev < 0) {
        return k->host.pio_read(k->host.opaque, port, size);
    }
    return k->host.pci_bar_read(k->host.opaque, k->pci_devices[dev].devfn, bar, off, size);
}

static void kio_write(Kernel *k, VcpuCall *c, uint64_t addr, uint32_t v, unsigned size)
{
    int dev, bar;
    uint64_t off;
    uint16_t port;

    if (kio_decode(k, addr, &dev, &bar, &off, &port) != 0) {
        vcpu_raise(c->cpu, "%s of bad iomem cookie 0x%llx", vcpu_call_name(c),
                   (unsigned long long)addr);
        return;
    }
    if (dev < 0) {
        k->host.pio_write(k->host.opaque, port, size, v);
        return;
    }
    k->host.pci_bar_write(k->host.opaque, k->pci_devices[dev].devfn, bar, off, v, size);
}

#define KIO_RW(rd, wr, size)                                                   \
    static uint64_t rd(void *opaque, VcpuCall *c)                              \
    {                                                                          \
        return kio_read(opaque, c, c->arg[0], size);                           \
    }                                                                          \
    static uint64_t wr(void *opaque, VcpuCall *c)                              \
    {                                                                          \
        kio_write(opaque, c, c->arg[1], (uint32_t)c->arg[0], size);            \
        return 0;                                                              \
    }
KIO_RW(kapi_ioread8, kapi_iowrite8, 1)
KIO_RW(kapi_ioread16, kapi_iowrite16, 2)
KIO_RW(kapi_ioread32, kapi_iowrite32, 4)

/* memcpy_fromio(dst, src, count): bytewise reads of device memory. */
static uint64_t kapi_memcpy_fromio(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    for (uint64_t i = 0; i < c->arg[2] && !vcpu_dead(c->cpu); i++) {
        kernel_write_u8(k, c->arg[0] + i, (uint8_t)kio_read(k, c, c->arg[1] + i, 1));
    }
    return 0;
}

int kapi_io_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"pci_iomap", kapi_pci_iomap}, {"pci_iounmap", kapi_pci_iounmap},
        {"pci_ioremap_bar", kapi_pci_ioremap_bar},
        {"ioremap", kapi_ioremap}, {"iounmap", kapi_iounmap},
        {"ioread8", kapi_ioread8}, {"ioread16", kapi_ioread16}, {"ioread32", kapi_ioread32},
        {"iowrite8", kapi_iowrite8}, {"iowrite16", kapi_iowrite16},
        {"iowrite32", kapi_iowrite32}, {"memcpy_fromio", kapi_memcpy_fromio},
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return 0;
}
