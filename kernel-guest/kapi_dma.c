/*
 * kernel-guest/kapi_dma.c: the coherent DMA API on the software IOMMU.
 *
 * dma_alloc_attrs takes zeroed guest frames, maps them read/write in the
 * device's IOMMU domain at an IOVA below the device's coherent DMA mask,
 * and returns the direct-map address and the IOVA; dma_free_attrs undoes
 * it.  (Streaming mappings and the DMA-API checks build on this.)
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <string.h>

#define KDMA_IOVA_BASE 0x100000ull   /* IOVA 0 is never handed out */

void kernel_ram(Kernel *k, void **ram, uint64_t *size)
{
    *ram = k->mem.ram;
    *size = k->mem.ram_size;
}

int kernel_set_iommu(Kernel *k, Iommu *mmu, SlError *e)
{
    k->iommu = mmu;
    for (unsigned i = 0; i < k->npci_devices; i++) {
        KPciDevice *d = &k->pci_devices[i];
        char name[48];
        int err;

        snprintf(name, sizeof(name), "%s", d->name);
        err = iommu_attach(mmu, (uint16_t)d->devfn, name);
        if (err && err != -EEXIST) {
            return sl_error(e, err, "kernel: cannot attach %s to the IOMMU", d->name);
        }
        k->iova_next[i] = KDMA_IOVA_BASE;
    }
    return 0;
}

/* The PCI device whose struct device is at dev, or -1. */
static int kdma_dev(Kernel *k, uint64_t dev)
{
    long off = btf_layout_offsetof(k->btf, "pci_dev", "dev");

    for (unsigned i = 0; off >= 0 && i < k->npci_devices; i++) {
        if (k->pci_devices[i].pdev + (uint64_t)off == dev) {
            return (int)i;
        }
    }
    return -1;
}

/* dma_alloc_attrs(dev, size, &dma_handle, gfp, attrs) */
static uint64_t kapi_dma_alloc_attrs(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int d = kdma_dev(k, c->arg[0]);
    uint64_t len = (c->arg[1] + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);
    uint64_t mask, pa, iova;
    KCoherent *b;

    if (d < 0 || !k->iommu) {
        vcpu_raise(c->cpu, "dma_alloc_attrs for a device sluice does not know [dev=0x%llx]",
                   (unsigned long long)c->arg[0]);
        return 0;
    }
    if (!len || k->ncoherent == KERNEL_MAX_COHERENT) {
        return 0;
    }
    mask = kernel_field_read(k, c->arg[0], "device", "coherent_dma_mask");
    iova = k->iova_next[d];
    if (iova + len - 1 > mask) {
        return 0;                /* no IOVA space below the device's mask */
    }
    pa = kmem_alloc_pages(&k->mem, len / KMEM_PAGE_SIZE);
    if (pa == UINT64_MAX) {
        return 0;
    }
    if (iommu_map_range(k->iommu, (uint16_t)k->pci_devices[d].devfn, iova, pa, len,
                               IOMMU_PERM_READ | IOMMU_PERM_WRITE) != 0) {
        kmem_free_pages(&k->mem, pa, len / KMEM_PAGE_SIZE);
        return 0;                /* e.g. the pin bound: NULL, like Linux */
    }
    k->iova_next[d] = iova + len;
    b = &k->coherent[k->ncoherent++];
    *b = (KCoherent){.va = KMEM_PAGE_OFFSET + pa, .iova = iova, .pa = pa, .len = len, .dev = d};
    kernel_write_u64(k, c->arg[2], iova);
    return b->va;
}

/* dma_free_attrs(dev, size, cpu_addr, dma_handle, attrs) */
static uint64_t kapi_dma_free_attrs(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    for (unsigned i = 0; i < k->ncoherent; i++) {
        KCoherent *b = &k->coherent[i];

        if (b->va != c->arg[2] || b->iova != c->arg[3]) {
            continue;
        }
        iommu_unmap_range(k->iommu, (uint16_t)k->pci_devices[b->dev].devfn, b->iova, b->len);
        kmem_free_pages(&k->mem, b->pa, b->len / KMEM_PAGE_SIZE);
        *b = k->coherent[--k->ncoherent];
        return 0;
    }
    vcpu_raise(c->cpu, "DMA-API: dma_free_attrs of memory never allocated [cpu_addr=0x%llx] [device address=0x%llx]",
               (unsigned long long)c->arg[2], (unsigned long long)c->arg[3]);
    return 0;
}

int kapi_dma_register(Kernel *k, SlError *e)
{
    int err = kapi_fn(k, "dma_alloc_attrs", kapi_dma_alloc_attrs, e);

    return err ? err : kapi_fn(k, "dma_free_attrs", kapi_dma_free_attrs, e);
}
