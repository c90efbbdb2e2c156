/*
 * kernel-guest/kdma_pool.c: dma_pool_create/alloc/free/destroy
 * (mm/dmapool.c's contract).
 *
 * A pool carves fixed-size blocks out of coherent allocations ("pages" of
 * max(size, PAGE_SIZE) bytes, made and checked like dma_alloc_attrs
 * buffers, below the coherent mask); a block never crosses the pool's
 * boundary.  struct dma_pool is private to the kernel: the pool lives in
 * KDma and the driver holds a small kmalloc'd token for it.  As in Linux,
 * pages are returned only by dma_pool_destroy, and a page with blocks
 * still in use is then reported and leaked (left mapped).
 */
#include "kernel-guest/kernel_internal.h"

#include <string.h>

#define KDMA_POOL_TOKEN_BYTES 64
#define KDMA_GFP_ZERO 0x100u     /* ___GFP_ZERO in 6.1 */

static const char *kdma_pool_driver(Kernel *k, int dev)
{
    int drv = k->pci_devices[dev].driver;

    return drv >= 0 ? k->pci_drivers[drv].name : "pci";
}

/* The pool whose token is t, or NULL after a report. */
static KDmaPool *kdma_pool_find(Kernel *k, VcpuCall *c, uint64_t t)
{
    for (unsigned i = 0; t && i < KDMA_MAX_POOLS; i++) {
        if (k->dma.pools[i].token == t) {
            return &k->dma.pools[i];
        }
    }
    vcpu_raise(c->cpu, "%s: 0x%llx is not a dma_pool", vcpu_call_name(c), (unsigned long long)t);
    return NULL;
}

/* Offset of block b in a page, or -1 past the last block. */
static long kdma_pool_block(const KDmaPool *p, unsigned b)
{
    uint64_t off = 0;

    for (unsigned i = 0; off + p->size <= p->allocation && i < KDMA_POOL_MAX_BLOCKS;) {
        if (off % p->boundary + p->size > p->boundary) {
            off = (off / p->boundary + 1) * p->boundary;
            continue;
        }
        if (i++ == b) {
            return (long)off;
        }
        off += p->size;
    }
    return -1;
}

/* dma_pool_create(name, dev, size, align, boundary) */
static uint64_t kapi_dma_pool_create(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int d = kdma_dev(k, c->arg[1]);
    uint64_t size = c->arg[2], align = c->arg[3] ? c->arg[3] : 1, boundary = c->arg[4];
    uint64_t allocation;
    KDmaPool *p = NULL;

    if (d < 0) {
        vcpu_raise(c->cpu, "dma_pool_create for a device sluice does not know [dev=0x%llx]",
                   (unsigned long long)c->arg[1]);
        return 0;
    }
    if ((align & (align - 1)) || size == 0 || size > (1u << 30)) {
        return 0;
    }
    size = size < 4 ? 4 : size;
    size = (size + align - 1) & ~(align - 1);
    allocation = size > KMEM_PAGE_SIZE ? size : KMEM_PAGE_SIZE;
    if (!boundary) {
        boundary = allocation;
    } else if (boundary < size || (boundary & (boundary - 1))) {
        return 0;
    }
    for (unsigned i = 0; i < KDMA_MAX_POOLS && !p; i++) {
        p = k->dma.pools[i].token ? NULL : &k->dma.pools[i];
    }
    if (!p) {
        return 0;
    }
    p->token = kmem_kmalloc(&k->mem, KDMA_POOL_TOKEN_BYTES, 16, true);
    if (!p->token) {
        return 0;
    }
    p->dev = (uint8_t)d;
    p->size = (uint32_t)size;
    p->align = (uint32_t)align;
    p->boundary = (uint32_t)boundary;
    p->allocation = (uint32_t)allocation;
    kernel_read_str(k, c->arg[0], p->name, sizeof(p->name));
    return p->token;
}

/* A new page for pool pi: a coherent allocation; NULL when it fails. */
static KDmaPoolPage *kdma_pool_grow(Kernel *k, int pi)
{
    KDmaPool *p = &k->dma.pools[pi];
    uint64_t npages = (p->allocation + KMEM_PAGE_SIZE - 1) / KMEM_PAGE_SIZE, pa;
    uint64_t dev = k->pci_devices[p->dev].pdev + (uint64_t)kernel_offsetof(k, "pci_dev", "dev");
    uint64_t mask = kernel_field_read(k, dev, "device", "coherent_dma_mask");
    KDmaMap m = {.type = DMA_DBG_TYPE_COHERENT, .dir = DMA_DBG_BIDIRECTIONAL, .pool = (int16_t)pi,
                 .len = p->allocation};
    KDmaPoolPage *pg = NULL;

    for (unsigned i = 0; i < KDMA_MAX_POOL_PAGES && !pg; i++) {
        pg = k->dma.pool_pages[i].pool < 0 ? &k->dma.pool_pages[i] : NULL;
    }
    if (!pg || !mask || (pa = kmem_alloc_pages(&k->mem, npages)) == UINT64_MAX) {
        return NULL;
    }
    m.va = KMEM_PAGE_OFFSET + pa;
    if (kdma_map(k, p->dev, pa, npages * KMEM_PAGE_SIZE, mask, IOMMU_PERM_READ | IOMMU_PERM_WRITE,
                 &m) != 0) {
        kmem_free_pages(&k->mem, pa, npages);
        return NULL;
    }
    {
        DmaDbgMap dm = {.rid = kdma_rid(k, p->dev), .type = DMA_DBG_TYPE_COHERENT,
                        .dir = DMA_DBG_BIDIRECTIONAL, .iova = m.handle, .len = m.len,
                        .cpu_addr = m.va, .pa = pa, .site = vcpu_current_rip(k->cpu)};

        dma_debug_map(kdma_debug(k), &dm, false);
    }
    memset(pg, 0, sizeof(*pg));
    pg->pool = (int16_t)pi;
    pg->va = m.va;
    pg->iova = m.handle;
    return pg;
}

/* dma_pool_alloc(pool, gfp, &handle) */
static uint64_t kapi_dma_pool_alloc(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    KDmaPool *p = kdma_pool_find(k, c, c->arg[0]);
    int pi = p ? (int)(p - k->dma.pools) : -1;

    if (!p) {
        return 0;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < KDMA_MAX_POOL_PAGES; i++) {
            KDmaPoolPage *pg = &k->dma.pool_pages[i];
            long off;

            if (pg->pool != pi) {
                continue;
            }
            for (unsigned b = 0; (off = kdma_pool_block(p, b)) >= 0; b++) {
                if ((pg->busy[b / 64] >> (b % 64)) & 1) {
                    continue;
                }
                pg->busy[b / 64] |= 1ull << (b % 64);
                pg->nused++;
                if (c->arg[1] & KDMA_GFP_ZERO) {
                    memset(kmem_host(&k->mem, pg->va + (uint64_t)off, p->size), 0, p->size);
                }
                kernel_write_u64(k, c->arg[2], pg->iova + (uint64_t)off);
                return pg->va + (uint64_t)off;
            }
        }
        if (pass == 0 && !kdma_pool_grow(k, pi)) {
            return 0;
        }
    }
    return 0;
}

/* dma_pool_free(pool, vaddr, dma) */
static uint64_t kapi_dma_pool_free(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    KDmaPool *p = kdma_pool_find(k, c, c->arg[0]);
    int pi = p ? (int)(p - k->dma.pools) : -1;
    uint64_t va = c->arg[1], dma = c->arg[2];

    if (!p) {
        return 0;
    }
    for (unsigned i = 0; i < KDMA_MAX_POOL_PAGES; i++) {
        KDmaPoolPage *pg = &k->dma.pool_pages[i];
        long off;

        if (pg->pool != pi || dma < pg->iova || dma - pg->iova >= p->allocation) {
            continue;
        }
        if (va != pg->va + (dma - pg->iova)) {
            kernel_log(k, '3', "%s %s: dma_pool_free %s, 0x%llx (bad vaddr)/0x%llx",
                       kdma_pool_driver(k, p->dev), k->pci_devices[p->dev].name, p->name,
                       (unsigned long long)va, (unsigned long long)dma);
            return 0;
        }
        for (unsigned b = 0; (off = kdma_pool_block(p, b)) >= 0; b++) {
            if ((uint64_t)off == dma - pg->iova && ((pg->busy[b / 64] >> (b % 64)) & 1)) {
                pg->busy[b / 64] &= ~(1ull << (b % 64));
                pg->nused--;
                return 0;
            }
        }
        break;
    }
    kernel_log(k, '3', "%s %s: dma_pool_free %s, 0x%llx/0x%llx (bad dma)",
               kdma_pool_driver(k, p->dev), k->pci_devices[p->dev].name, p->name,
               (unsigned long long)va, (unsigned long long)dma);
    return 0;
}

/* dma_pool_destroy(pool) */
static uint64_t kapi_dma_pool_destroy(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    KDmaPool *p;
    int pi;

    if (!c->arg[0]) {
        return 0;
    }
    p = kdma_pool_find(k, c, c->arg[0]);
    if (!p) {
        return 0;
    }
    pi = (int)(p - k->dma.pools);
    for (unsigned i = 0; i < KDMA_MAX_POOL_PAGES; i++) {
        KDmaPoolPage *pg = &k->dma.pool_pages[i];
        KDmaMap *m;

        if (pg->pool != pi) {
            continue;
        }
        m = kdma_table_find(&k->dma, p->dev, pg->iova);
        pg->pool = -1;
        if (pg->nused) {
            kernel_log(k, '3', "%s %s: dma_pool_destroy %s, 0x%llx busy",
                       kdma_pool_driver(k, p->dev), k->pci_devices[p->dev].name, p->name,
                       (unsigned long long)pg->va);
            if (m) {
                m->pool = -1;    /* leaked, as Linux leaks it */
            }
            continue;
        }
        {
            DmaDbgMap dm = {.rid = kdma_rid(k, p->dev), .type = DMA_DBG_TYPE_COHERENT,
                            .dir = DMA_DBG_BIDIRECTIONAL, .iova = pg->iova,
                            .len = p->allocation, .cpu_addr = pg->va,
                            .site = vcpu_current_rip(k->cpu)};

            dma_debug_unmap(kdma_debug(k), &dm);
        }
        if (m) {
            kdma_unmap_frames(k, m, true);
        }
    }
    kmem_kfree(&k->mem, p->token);
    memset(p, 0, sizeof(*p));
    return 0;
}

int kdma_pool_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"dma_pool_create", kapi_dma_pool_create},
        {"dma_pool_alloc", kapi_dma_pool_alloc},
        {"dma_pool_free", kapi_dma_pool_free},
        {"dma_pool_destroy", kapi_dma_pool_destroy},
    };

    for (unsigned i = 0; i < KDMA_MAX_POOL_PAGES; i++) {
        k->dma.pool_pages[i].pool = -1;
    }
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return 0;
}
