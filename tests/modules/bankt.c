/*
 * tests/modules/bankt.c: a PCI driver for the test's fake device (vendor
 * 0x1234, device 0xd3a0) whose probe only keeps the device and sets its DMA
 * masks.  Everything else is done by the bankt_* functions below, which
 * tests/test_kernel_banks.c calls as this module's code (kernel_call on
 * the module's behalf), so every page they make the kernel allocate --
 * kmalloc arenas, coherent buffers, IOMMU mapping entries -- is charged to
 * the module's space bank.
 *
 * The offset of struct device inside struct pci_dev comes in as the
 * parameter devoff; dma_map_single and dma_mapping_error are inline, as in
 * Linux, and every mapping result is checked (no DMA-API report).
 */
#include "testmod_pci.h"

#define DMA_MAPPING_ERROR (~0ul)
#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ul

void *dma_alloc_attrs(struct device *dev, u64 size, u64 *handle, u32 gfp, u64 attrs);
void dma_free_attrs(struct device *dev, u64 size, void *cpu, u64 handle, u64 attrs);
u64 dma_map_page_attrs(struct device *dev, void *page, u64 off, u64 size, int dir, u64 attrs);
void dma_unmap_page_attrs(struct device *dev, u64 addr, u64 size, int dir, u64 attrs);
int dma_set_mask(struct device *dev, u64 mask);
int dma_set_coherent_mask(struct device *dev, u64 mask);

static u64 devoff;
TESTMOD_PARAM(devoff, param_ops_ulong);

/* What the test reads back. */
int probed;                      /* 1: probe ran and the masks were taken */
u64 map_errors;                  /* maps that came back DMA_MAPPING_ERROR */
u64 coh_handle;                  /* device address of the last coherent buffer */

static struct device *dev;

static inline void *virt_to_page(const void *p)
{
    return (void *)(vmemmap_base + (((u64)p - page_offset_base) >> PAGE_SHIFT) * STRUCT_PAGE_SIZE);
}

u64 bankt_kmalloc(u64 size)
{
    return (u64)__kmalloc(size, GFP_KERNEL);
}

void bankt_kfree(u64 p)
{
    kfree((void *)p);
    barrier();
}

/* dma_map_single(dev, p, size, dir): the handle, or DMA_MAPPING_ERROR. */
u64 bankt_map(u64 p, u64 size, u64 dir)
{
    u64 h = dma_map_page_attrs(dev, virt_to_page((void *)p), p & (PAGE_SIZE - 1), size,
                               (int)dir, 0);

    if (h == DMA_MAPPING_ERROR) {
        map_errors++;
        return DMA_MAPPING_ERROR;
    }
    return h;
}

void bankt_unmap(u64 h, u64 size, u64 dir)
{
    dma_unmap_page_attrs(dev, h, size, (int)dir, 0);
    barrier();
}

/* dma_alloc_coherent: the CPU address (handle in coh_handle), or 0. */
u64 bankt_alloc_coherent(u64 size)
{
    return (u64)dma_alloc_attrs(dev, size, &coh_handle, GFP_KERNEL, 0);
}

void bankt_free_coherent(u64 size, u64 cpu, u64 h)
{
    dma_free_attrs(dev, size, (void *)cpu, h, 0);
    barrier();
}

static int bankt_probe(struct pci_dev *pdev, const struct tm_pci_device_id *id)
{
    dev = (struct device *)((char *)pdev + devoff);
    if (dma_set_mask(dev, ~0ul) || dma_set_coherent_mask(dev, 0xfffffffful)) {
        return -5;
    }
    probed = 1;
    return 0;
}

static void bankt_remove(struct pci_dev *pdev)
{
    /* Leaves whatever the test left: the kernel reclaims it. */
    barrier();
}

TM_PCI_MODULE("bankt", 0x1234, 0xd3a0, bankt_probe, bankt_remove)
