/*
 * tests/modules/dma_api.c: a PCI driver for the test's fake device
 * (vendor 0x1234, device 0xd3a0) that uses the DMA API in probe -- cleanly
 * (mode 0) or with one misuse per mode, as tests/test_kernel_dma_api.c
 * lists them -- and undoes what the mode says in remove.
 *
 * Structures are laid out as Linux 6.1's (the test checks each offset
 * against the kernel's BTF, so a mismatch fails loudly); the offset of
 * struct device inside struct pci_dev comes in as the parameter devoff.
 * dma_map_single and dma_mapping_error are inline, as in Linux.
 */
#include "testmod_pci.h"

#define DMA_BIDIRECTIONAL 0
#define DMA_TO_DEVICE 1
#define DMA_FROM_DEVICE 2
#define DMA_MAPPING_ERROR (~0ul)
#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ul
#define PAGE_REFCOUNT 0x34       /* offsetof(struct page, _refcount) */
#define SG_END 0x2ul
#define SG_CHAIN 0x1ul
#define GFP_ZERO 0x100u
#define EIO 5

struct dma_pool;
/* struct scatterlist: 32 bytes */
struct scatterlist {
    u64 page_link;
    u32 offset, length;
    u64 dma_address;
    u32 dma_length, dma_flags;
};

void *dma_alloc_attrs(struct device *dev, u64 size, u64 *handle, u32 gfp, u64 attrs);
void dma_free_attrs(struct device *dev, u64 size, void *cpu, u64 handle, u64 attrs);
u64 dma_map_page_attrs(struct device *dev, void *page, u64 off, u64 size, int dir, u64 attrs);
void dma_unmap_page_attrs(struct device *dev, u64 addr, u64 size, int dir, u64 attrs);
int dma_map_sg_attrs(struct device *dev, struct scatterlist *sg, int nents, int dir, u64 attrs);
void dma_unmap_sg_attrs(struct device *dev, struct scatterlist *sg, int nents, int dir, u64 attrs);
void dma_sync_single_for_cpu(struct device *dev, u64 addr, u64 size, int dir);
void dma_sync_single_for_device(struct device *dev, u64 addr, u64 size, int dir);
int dma_set_mask(struct device *dev, u64 mask);
int dma_set_coherent_mask(struct device *dev, u64 mask);
struct dma_pool *dma_pool_create(const char *name, struct device *dev, u64 size, u64 align,
                                 u64 boundary);
void *dma_pool_alloc(struct dma_pool *pool, u32 gfp, u64 *handle);
void dma_pool_free(struct dma_pool *pool, void *vaddr, u64 addr);
void dma_pool_destroy(struct dma_pool *pool);

enum {
    DMAT_CLEAN, DMAT_NOT_ALLOCATED, DMAT_INVALID_ADDR, DMAT_WRONG_SIZE, DMAT_WRONG_DIR,
    DMAT_WRONG_FUNCTION, DMAT_UNCHECKED, DMAT_STACK, DMAT_SYNC_NOT_MAPPED,
    DMAT_SYNC_OUTSIDE, DMAT_SYNC_WRONG_DIR, DMAT_SG_NENTS, DMAT_LEAK, DMAT_MASK24,
    DMAT_PIN_BOUND, DMAT_VMEMMAP, DMAT_REUSE,
};

static int mode;
static u64 devoff;
TESTMOD_PARAM(mode, param_ops_int);
TESTMOD_PARAM(devoff, param_ops_ulong);

/* What probe saw, for the test to read. */
int result = -1;                 /* 0: probe's own checks passed */
u64 handles[32];
u64 nhandles;
u64 bufs[4];
int mask_rc[4];

static struct device *dev;
static void *buf, *coh, *blk;
static u64 h0, h1, hcoh, hblk;
static struct dma_pool *pool;
static struct scatterlist sg[4];

static inline void *virt_to_page(const void *p)
{
    return (void *)(vmemmap_base + (((u64)p - page_offset_base) >> PAGE_SHIFT) * STRUCT_PAGE_SIZE);
}

static inline u64 page_address(const void *page)
{
    return page_offset_base + (((u64)page - vmemmap_base) / STRUCT_PAGE_SIZE << PAGE_SHIFT);
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

static void sg_set(struct scatterlist *s, const void *p, u32 len, int last)
{
    s->page_link = (u64)virt_to_page(p) | (last ? SG_END : 0);
    s->offset = (u64)p & (PAGE_SIZE - 1);
    s->length = len;
}

/* The clean run: every kind of mapping, synced and undone correctly. */
static noinline int dmat_clean(void)
{
    int n;

    if (dma_set_mask(dev, ~0ul) || dma_set_coherent_mask(dev, 0xfffffffful)) {
        return -1;
    }
    h0 = dma_map_single(dev, buf, 1500, DMA_TO_DEVICE);
    if (dma_mapping_error(h0)) {
        return -2;
    }
    dma_sync_single_for_cpu(dev, h0, 1500, DMA_TO_DEVICE);
    dma_sync_single_for_device(dev, h0, 1500, DMA_TO_DEVICE);
    coh = dma_alloc_attrs(dev, 8192, &hcoh, GFP_KERNEL, 0);
    if (!coh) {
        return -3;
    }
    pool = dma_pool_create("dmat", dev, 64, 16, 0);
    if (!pool) {
        return -4;
    }
    blk = dma_pool_alloc(pool, GFP_KERNEL | GFP_ZERO, &hblk);
    if (!blk) {
        return -5;
    }
    sg_set(&sg[0], buf, 100, 0);
    sg_set(&sg[1], (char *)buf + 2048, 3000, 0);
    sg_set(&sg[2], (char *)buf + 8192, 10, 1);
    n = dma_map_sg_attrs(dev, sg, 3, DMA_FROM_DEVICE, 0);
    if (n != 3) {
        return -6;
    }
    handles[0] = h0;
    handles[1] = hcoh;
    handles[2] = hblk;
    handles[3] = sg[0].dma_address;
    handles[4] = sg[1].dma_address;
    handles[5] = sg[2].dma_address;
    nhandles = 6;
    return 0;
}

static noinline void dmat_clean_remove(void)
{
    dma_unmap_sg_attrs(dev, sg, 3, DMA_FROM_DEVICE, 0);
    dma_pool_free(pool, blk, hblk);
    dma_pool_destroy(pool);
    dma_free_attrs(dev, 8192, coh, hcoh, 0);
    dma_unmap_single(dev, h0, 1500, DMA_TO_DEVICE);
}

/* One misuse per mode; returns 0 when the calls went as planned. */
static noinline int dmat_misuse(void)
{
    char stackbuf[64];
    int i;

    switch (mode) {
    case DMAT_NOT_ALLOCATED:
        dma_unmap_single(dev, 0x12345000ul, 64, DMA_TO_DEVICE);
        return 0;
    case DMAT_INVALID_ADDR:
        dma_unmap_single(dev, DMA_MAPPING_ERROR, 64, DMA_TO_DEVICE);
        return 0;
    case DMAT_WRONG_SIZE:
    case DMAT_WRONG_DIR:
    case DMAT_WRONG_FUNCTION:
    case DMAT_SYNC_OUTSIDE:
    case DMAT_SYNC_WRONG_DIR:
        /* dma_free_attrs passes DMA_BIDIRECTIONAL: map so, to see only
         * the wrong function */
        h0 = dma_map_single(dev, buf, 256,
                            mode == DMAT_WRONG_FUNCTION ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE);
        if (dma_mapping_error(h0)) {
            return -1;
        }
        handles[0] = h0;
        if (mode == DMAT_WRONG_SIZE) {
            dma_unmap_single(dev, h0, 128, DMA_TO_DEVICE);
        } else if (mode == DMAT_WRONG_DIR) {
            dma_unmap_single(dev, h0, 256, DMA_FROM_DEVICE);
        } else if (mode == DMAT_WRONG_FUNCTION) {
            dma_free_attrs(dev, 256, buf, h0, 0);
        } else if (mode == DMAT_SYNC_OUTSIDE) {
            dma_sync_single_for_cpu(dev, h0 + 128, 256, DMA_TO_DEVICE);
            dma_unmap_single(dev, h0, 256, DMA_TO_DEVICE);
        } else {
            dma_sync_single_for_cpu(dev, h0, 256, DMA_FROM_DEVICE);
            dma_unmap_single(dev, h0, 256, DMA_TO_DEVICE);
        }
        return 0;
    case DMAT_UNCHECKED:
        h0 = dma_map_single(dev, buf, 256, DMA_TO_DEVICE);
        handles[0] = h0;
        barrier();
        dma_unmap_single(dev, h0, 256, DMA_TO_DEVICE);
        return 0;
    case DMAT_STACK:
        stackbuf[0] = 1;
        h0 = dma_map_single(dev, stackbuf, sizeof(stackbuf), DMA_TO_DEVICE);
        if (dma_mapping_error(h0)) {
            return -1;
        }
        handles[0] = h0;
        bufs[0] = (u64)stackbuf;
        dma_unmap_single(dev, h0, sizeof(stackbuf), DMA_TO_DEVICE);
        return 0;
    case DMAT_SYNC_NOT_MAPPED:
        dma_sync_single_for_cpu(dev, 0x5000, 16, DMA_FROM_DEVICE);
        return 0;
    case DMAT_SG_NENTS:
        sg_set(&sg[0], buf, 100, 0);
        sg_set(&sg[1], (char *)buf + 4096, 100, 0);
        sg_set(&sg[2], (char *)buf + 8192, 100, 1);
        if (dma_map_sg_attrs(dev, sg, 3, DMA_TO_DEVICE, 0) != 3) {
            return -1;
        }
        dma_unmap_sg_attrs(dev, sg, 4, DMA_TO_DEVICE, 0);
        return 0;
    case DMAT_LEAK:
        h0 = dma_map_single(dev, buf, 256, DMA_TO_DEVICE);
        if (dma_mapping_error(h0)) {
            return -1;
        }
        coh = dma_alloc_attrs(dev, 4096, &hcoh, GFP_KERNEL, 0);
        return coh ? 0 : -2;
    case DMAT_MASK24:
        mask_rc[0] = dma_set_mask(dev, 0xffffful);
        mask_rc[1] = dma_set_mask(dev, 0xfffffful);
        mask_rc[2] = dma_set_coherent_mask(dev, 0xfffffful);
        for (i = 0; i < 32; i++) {
            u64 h = dma_map_single(dev, buf, 1 << 20, DMA_BIDIRECTIONAL);

            if (dma_mapping_error(h)) {
                break;
            }
            handles[i] = h;
        }
        nhandles = i;
        coh = dma_alloc_attrs(dev, 4096, &hcoh, GFP_KERNEL, 0);
        bufs[0] = (u64)coh;
        bufs[1] = hcoh;
        return 0;
    case DMAT_PIN_BOUND:
        coh = dma_alloc_attrs(dev, 8 * PAGE_SIZE, &hcoh, GFP_KERNEL, 0);
        bufs[0] = (u64)coh;
        h0 = dma_map_single(dev, buf, 8 * PAGE_SIZE, DMA_TO_DEVICE);
        bufs[1] = h0;
        if (!dma_mapping_error(h0)) {
            dma_unmap_single(dev, h0, 8 * PAGE_SIZE, DMA_TO_DEVICE);
        }
        return 0;
    case DMAT_VMEMMAP: {
        char *p = (char *)buf + 100;
        void *page = virt_to_page(p);

        bufs[0] = (u64)p;
        bufs[1] = page_address(page) + ((u64)p & (PAGE_SIZE - 1));
        bufs[2] = *(u32 *)((char *)page + PAGE_REFCOUNT);
        h0 = dma_map_page_attrs(dev, page, (u64)p & (PAGE_SIZE - 1), 100, DMA_TO_DEVICE, 0);
        if (dma_mapping_error(h0)) {
            return -1;
        }
        handles[0] = h0;
        return 0;
    }
    case DMAT_REUSE:
        for (i = 0; i < 3; i++) {
            h0 = dma_map_single(dev, buf, 4096, DMA_TO_DEVICE);
            if (dma_mapping_error(h0)) {
                return -1;
            }
            handles[i] = h0;
            dma_unmap_single(dev, h0, 4096, DMA_TO_DEVICE);
        }
        h0 = dma_map_single(dev, buf, 4096, DMA_TO_DEVICE);
        h1 = dma_map_single(dev, buf, 4096, DMA_TO_DEVICE);
        if (dma_mapping_error(h0) || dma_mapping_error(h1)) {
            return -2;
        }
        handles[3] = h0;
        handles[4] = h1;
        dma_unmap_single(dev, h0, 4096, DMA_TO_DEVICE);
        dma_unmap_single(dev, h1, 4096, DMA_TO_DEVICE);
        return 0;
    }
    return -99;
}

static int dmat_probe(struct pci_dev *pdev, const struct tm_pci_device_id *id)
{
    dev = (struct device *)((char *)pdev + devoff);
    buf = __kmalloc(3 * PAGE_SIZE, GFP_KERNEL);
    if (!buf) {
        return -12;
    }
    result = mode == DMAT_CLEAN ? dmat_clean() : dmat_misuse();
    barrier();
    return 0;
}

static void dmat_remove(struct pci_dev *pdev)
{
    int i;

    if (mode == DMAT_CLEAN && result == 0) {
        dmat_clean_remove();
    } else if (mode == DMAT_MASK24) {
        for (i = 0; i < (int)nhandles; i++) {
            dma_unmap_single(dev, handles[i], 1 << 20, DMA_BIDIRECTIONAL);
        }
        if (coh) {
            dma_free_attrs(dev, 4096, coh, hcoh, 0);
        }
    } else if (mode == DMAT_VMEMMAP && result == 0) {
        dma_unmap_page_attrs(dev, h0, 100, DMA_TO_DEVICE, 0);
    }
    kfree(buf);
    barrier();
}

TM_PCI_MODULE("dma_api", 0x1234, 0xd3a0, dmat_probe, dmat_remove)
