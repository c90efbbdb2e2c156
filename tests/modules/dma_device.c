/*
 * tests/modules/dma_device.c: a PCI driver for sluice's toy DMA engine
 * (devices/cdma.h, 1b36:00f0) that makes the device and the CPU touch DMA
 * memory at the moments the DMA-API checks beyond Linux are about -- the
 * device using an IOVA after the unmap, the device writing a DMA_TO_DEVICE
 * mapping, the CPU storing to a buffer the device owns -- or uses the API
 * cleanly (mode 0).  tests/test_emu_dma_device.c runs it on the real
 * machine (emu/machine.h, --device cdma) and asserts on what it prints.
 *
 * Probe enables the function, requests and maps BAR0 (readl/writel are
 * inline volatile accesses, as in Linux, reaching the device through the
 * vCPU's MMIO mapping), turns bus mastering on and runs the mode; remove
 * undoes all of it.  Structures are laid out as Linux 6.1's (the test
 * checks each offset against the kernel's BTF); the offset of struct
 * device inside struct pci_dev comes in as the parameter devoff.
 * dma_map_single and dma_mapping_error are inline, as in Linux.
 */
#include "testmod_pci.h"

#define DMA_TO_DEVICE 1
#define DMA_FROM_DEVICE 2
#define DMA_MAPPING_ERROR (~0ul)
#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ul

/* cdma registers and bits (devices/cdma.h) */
#define CDMA_SRC_LO 0x00
#define CDMA_SRC_HI 0x04
#define CDMA_DST_LO 0x08
#define CDMA_DST_HI 0x0c
#define CDMA_LEN 0x10
#define CDMA_CMD 0x14
#define CDMA_STATUS 0x18
#define CDMA_PATTERN 0x1c
#define CDMA_COPY 1
#define CDMA_FILL 2
#define CDMA_READ 3
#define CDMA_WRITE 4
#define CDMA_STATUS_ALL 0x7u

#define DMAD_LEN 256u            /* bytes each DMA moves (cdma's READ/WRITE max) */
#define DMAD_FILL 0xa5a5a5a5u

int pci_enable_device(struct pci_dev *pdev);
void pci_disable_device(struct pci_dev *pdev);
void pci_set_master(struct pci_dev *pdev);
void pci_clear_master(struct pci_dev *pdev);
int pci_request_regions(struct pci_dev *pdev, const char *name);
void pci_release_regions(struct pci_dev *pdev);
void *pci_iomap(struct pci_dev *pdev, int bar, u64 maxlen);
void pci_iounmap(struct pci_dev *pdev, void *addr);
void *dma_alloc_attrs(struct device *dev, u64 size, u64 *handle, u32 gfp, u64 attrs);
void dma_free_attrs(struct device *dev, u64 size, void *cpu, u64 handle, u64 attrs);
u64 dma_map_page_attrs(struct device *dev, void *page, u64 off, u64 size, int dir, u64 attrs);
void dma_unmap_page_attrs(struct device *dev, u64 addr, u64 size, int dir, u64 attrs);
void dma_sync_single_for_cpu(struct device *dev, u64 addr, u64 size, int dir);
void dma_sync_single_for_device(struct device *dev, u64 addr, u64 size, int dir);
int dma_set_mask(struct device *dev, u64 mask);
int dma_set_coherent_mask(struct device *dev, u64 mask);

/* The modes; the test has the same list. */
enum {
    DMAD_CLEAN, DMAD_AFTER_UNMAP, DMAD_WRITE_TO_DEVICE, DMAD_CPU_STORE,
};

static int mode;
static u64 devoff;
TESTMOD_PARAM(mode, param_ops_int);
TESTMOD_PARAM(devoff, param_ops_ulong);

static struct device *dev;
static volatile u8 *regs;
static u8 *src, *dst;
static int enabled, regions;

static inline void *virt_to_page(const void *p)
{
    return (void *)(vmemmap_base + (((u64)p - page_offset_base) >> PAGE_SHIFT) * STRUCT_PAGE_SIZE);
}

static inline u64 dma_map_single(struct device *d, const void *p, u64 size, int dir)
{
    return dma_map_page_attrs(d, virt_to_page(p), (u64)p & (PAGE_SIZE - 1), size, dir, 0);
}

static inline void dma_unmap_single(struct device *d, u64 addr, u64 size, int dir)
{
    dma_unmap_page_attrs(d, addr, size, dir, 0);
}

static inline int dma_mapping_error(u64 addr)
{
    return addr == DMA_MAPPING_ERROR;
}

static inline u32 readl(u32 off)
{
    return *(volatile u32 *)(regs + off);
}

static inline void writel(u32 v, u32 off)
{
    *(volatile u32 *)(regs + off) = v;
}

/* Runs one cdma command and returns the STATUS it ended with, cleared. */
static noinline u32 dmad_run(u32 cmd, u64 from, u64 to, u32 len)
{
    u32 st;

    writel((u32)from, CDMA_SRC_LO);
    writel((u32)(from >> 32), CDMA_SRC_HI);
    writel((u32)to, CDMA_DST_LO);
    writel((u32)(to >> 32), CDMA_DST_HI);
    writel(len, CDMA_LEN);
    writel(cmd, CDMA_CMD);
    st = readl(CDMA_STATUS);
    writel(CDMA_STATUS_ALL, CDMA_STATUS);
    return st;
}

/* One CPU store of v at p; returns the address of the storing instruction,
 * which the checker's report must name. */
static noinline u64 dmad_store(volatile u8 *p, u8 v)
{
    u64 site;

    __asm__ __volatile__("lea 1f(%%rip), %0\n1:\tmovb %2, (%1)"
                         : "=&r"(site) : "r"(p), "q"(v) : "memory");
    return site;
}

static int dmad_equal(const u8 *a, u8 v, u32 len)
{
    for (u32 i = 0; i < len; i++) {
        if (a[i] != v) {
            return 0;
        }
    }
    return 1;
}

/* Map, DMA, sync and unmap as the API says: a COPY between two streaming
 * buffers, a FILL after handing one back with sync_for_device, a FILL of a
 * coherent buffer. */
static noinline int dmad_clean(void)
{
    u64 hs, hd, hc;
    u32 st_copy, st_fill, st_coh;
    int copied, filled, coh_ok;
    u8 *coh;

    if (dma_set_mask(dev, ~0ul) || dma_set_coherent_mask(dev, 0xfffffffful)) {
        return -5;
    }
    for (u32 i = 0; i < DMAD_LEN; i++) {
        src[i] = (u8)(i ^ 0x5a);
    }
    hs = dma_map_single(dev, src, DMAD_LEN, DMA_TO_DEVICE);
    if (dma_mapping_error(hs)) {
        return -12;
    }
    hd = dma_map_single(dev, dst, DMAD_LEN, DMA_FROM_DEVICE);
    if (dma_mapping_error(hd)) {
        dma_unmap_single(dev, hs, DMAD_LEN, DMA_TO_DEVICE);
        return -12;
    }
    st_copy = dmad_run(CDMA_COPY, hs, hd, DMAD_LEN);
    dma_sync_single_for_cpu(dev, hd, DMAD_LEN, DMA_FROM_DEVICE);
    copied = 1;
    for (u32 i = 0; i < DMAD_LEN; i++) {
        copied &= dst[i] == (u8)(i ^ 0x5a);
    }
    dma_sync_single_for_device(dev, hd, DMAD_LEN, DMA_FROM_DEVICE);
    writel(DMAD_FILL, CDMA_PATTERN);
    st_fill = dmad_run(CDMA_FILL, 0, hd, DMAD_LEN);
    dma_unmap_single(dev, hd, DMAD_LEN, DMA_FROM_DEVICE);
    filled = dmad_equal(dst, 0xa5, DMAD_LEN);
    dma_unmap_single(dev, hs, DMAD_LEN, DMA_TO_DEVICE);

    coh = dma_alloc_attrs(dev, PAGE_SIZE, &hc, GFP_KERNEL, 0);
    if (!coh) {
        return -12;
    }
    st_coh = dmad_run(CDMA_FILL, 0, hc, DMAD_LEN);
    coh_ok = dmad_equal(coh, 0xa5, DMAD_LEN);
    dma_free_attrs(dev, PAGE_SIZE, coh, hc, 0);
    _printk(KERN_INFO "dma_device: clean: copy status=0x%x copied=%d fill status=0x%x "
            "filled=%d coherent status=0x%x filled=%d\n",
            st_copy, copied, st_fill, filled, st_coh, coh_ok);
    return 0;
}

/* The device reads a buffer, the driver unmaps it, the device reads the
 * same IOVA again (a strict IOMMU faults; a lazy one still has the IOTLB
 * entry the first read made). */
static noinline int dmad_after_unmap(void)
{
    u64 h;
    u32 first, second;

    for (u32 i = 0; i < DMAD_LEN; i++) {
        src[i] = (u8)i;
    }
    h = dma_map_single(dev, src, DMAD_LEN, DMA_TO_DEVICE);
    if (dma_mapping_error(h)) {
        return -12;
    }
    first = dmad_run(CDMA_READ, h, 0, DMAD_LEN);
    dma_unmap_single(dev, h, DMAD_LEN, DMA_TO_DEVICE);
    second = dmad_run(CDMA_READ, h, 0, DMAD_LEN);
    _printk(KERN_INFO "dma_device: after-unmap: iova=0x%lx first status=0x%x "
            "second status=0x%x unmapper=0x%lx\n", h, first, second, (u64)dmad_after_unmap);
    return 0;
}

/* The device writes a buffer mapped DMA_TO_DEVICE (the IOMMU mapping lets
 * it read only), then reads it (allowed). */
static noinline int dmad_write_to_device(void)
{
    u64 h;
    u32 wrote, read;

    for (u32 i = 0; i < DMAD_LEN; i++) {
        src[i] = 0x11;
    }
    h = dma_map_single(dev, src, DMAD_LEN, DMA_TO_DEVICE);
    if (dma_mapping_error(h)) {
        return -12;
    }
    wrote = dmad_run(CDMA_WRITE, 0, h, DMAD_LEN);
    read = dmad_run(CDMA_READ, h, 0, DMAD_LEN);
    dma_unmap_single(dev, h, DMAD_LEN, DMA_TO_DEVICE);
    _printk(KERN_INFO "dma_device: write-to-device: iova=0x%lx write status=0x%x "
            "read status=0x%x intact=%d\n", h, wrote, read, dmad_equal(src, 0x11, DMAD_LEN));
    return 0;
}

/* CPU stores to a DMA_FROM_DEVICE buffer: while the device owns it (after
 * the map, after sync_for_device) and while the CPU does (after
 * sync_for_cpu, after the unmap).  Each step's line comes before its
 * store, so a report of the store follows the line that announced it. */
static noinline int dmad_cpu_store(void)
{
    u64 h, site;

    h = dma_map_single(dev, dst, DMAD_LEN, DMA_FROM_DEVICE);
    if (dma_mapping_error(h)) {
        return -12;
    }
    _printk(KERN_INFO "dma_device: cpu-store: buffer=0x%lx iova=0x%lx\n", (u64)dst, h);
    _printk(KERN_INFO "dma_device: cpu-store: step 1, device owns, store at +8\n");
    site = dmad_store(dst + 8, 1);
    dma_sync_single_for_cpu(dev, h, DMAD_LEN, DMA_FROM_DEVICE);
    _printk(KERN_INFO "dma_device: cpu-store: step 2, cpu owns, store at +8\n");
    dmad_store(dst + 8, 2);
    dma_sync_single_for_device(dev, h, DMAD_LEN, DMA_FROM_DEVICE);
    _printk(KERN_INFO "dma_device: cpu-store: step 3, device owns, store at +16\n");
    dmad_store(dst + 16, 3);
    dma_unmap_single(dev, h, DMAD_LEN, DMA_FROM_DEVICE);
    _printk(KERN_INFO "dma_device: cpu-store: step 4, unmapped, store at +16\n");
    dmad_store(dst + 16, 4);
    _printk(KERN_INFO "dma_device: cpu-store: done, store instruction 0x%lx %pS\n",
            site, (void *)site);
    return 0;
}

static void dmad_remove(struct pci_dev *pdev);

static int dmad_probe(struct pci_dev *pdev, const struct tm_pci_device_id *id)
{
    int rc;

    dev = (struct device *)((char *)pdev + devoff);
    rc = pci_enable_device(pdev);
    enabled = rc == 0;
    rc = rc ? rc : pci_request_regions(pdev, "dma_device");
    regions = enabled && rc == 0;
    if (!rc) {
        regs = pci_iomap(pdev, 0, 0);
        src = __kmalloc(PAGE_SIZE, GFP_KERNEL);
        dst = __kmalloc(PAGE_SIZE, GFP_KERNEL);
        rc = regs && src && dst ? 0 : -12;
    }
    if (rc) {
        _printk(KERN_INFO "dma_device: probe failed: %d\n", rc);
        dmad_remove(pdev);       /* remove is not called after a failed probe */
        return rc;
    }
    pci_set_master(pdev);
    switch (mode) {
    case DMAD_CLEAN:
        rc = dmad_clean();
        break;
    case DMAD_AFTER_UNMAP:
        rc = dmad_after_unmap();
        break;
    case DMAD_WRITE_TO_DEVICE:
        rc = dmad_write_to_device();
        break;
    case DMAD_CPU_STORE:
        rc = dmad_cpu_store();
        break;
    default:
        rc = -22;
    }
    _printk(KERN_INFO "dma_device: probe mode %d: %d\n", mode, rc);
    barrier();
    return 0;
}

static void dmad_remove(struct pci_dev *pdev)
{
    if (regs) {
        pci_clear_master(pdev);
        pci_iounmap(pdev, (void *)regs);
        regs = 0;
    }
    kfree(src);
    kfree(dst);
    src = dst = 0;
    if (regions) {
        pci_release_regions(pdev);
        regions = 0;
    }
    if (enabled) {
        pci_disable_device(pdev);
        enabled = 0;
    }
    barrier();
}

TM_PCI_MODULE("dma_device", 0x1b36, 0x00f0, dmad_probe, dmad_remove)
