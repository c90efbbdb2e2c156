/*
 * kernel-guest/kdma_iova.c: the table of DMA mappings and the per-device
 * IOVA allocator over it.
 *
 * Allocation follows Linux's dma-iommu + iova.c: top-down, the highest
 * free range below the limit, aligned to the size rounded up to a power
 * of two (size_aligned), IOVA page 0 never handed out.  Freed ranges are
 * reused (first fit from the top), which makes the allocator a plain
 * function of the live set: deterministic across save/restore.
 *
 * Invariant: within one device, entries never overlap, and the table is
 * sorted by (dev, iova).
 */
#include "kernel-guest/kdma.h"

#include <errno.h>
#include <string.h>

#include "iommu/iommu.h"

static uint64_t kdma_iova_pow2(uint64_t n)
{
    uint64_t p = 1;

    while (p < n) {
        p <<= 1;
    }
    return p;
}

int kdma_iova_alloc(const KDma *d, int dev, uint64_t npages, uint64_t limit, uint64_t *iova)
{
    uint64_t align = kdma_iova_pow2(npages), hi, cand;
    int i;

    if (limit > IOMMU_IOVA_LIMIT - 1) {
        limit = IOMMU_IOVA_LIMIT - 1;
    }
    hi = (limit >> IOMMU_PAGE_SHIFT) + 1;    /* exclusive top page */
    if (npages == 0) {
        return -ENOSPC;
    }
    for (i = (int)d->nmaps - 1; i >= 0; i--) {
        const KDmaMap *m = &d->maps[i];
        uint64_t start = m->iova >> IOMMU_PAGE_SHIFT, end = start + m->npages;

        if (m->dev != dev) {
            continue;
        }
        if (end <= hi && hi - end >= npages) {
            cand = (hi - npages) & ~(align - 1);
            if (cand >= end) {
                *iova = cand << IOMMU_PAGE_SHIFT;
                return 0;
            }
        }
        if (start < hi) {
            hi = start;
        }
    }
    if (hi > npages) {
        cand = (hi - npages) & ~(align - 1);
        if (cand >= 1) {
            *iova = cand << IOMMU_PAGE_SHIFT;
            return 0;
        }
    }
    return -ENOSPC;
}

KDmaMap *kdma_table_insert(KDma *d, const KDmaMap *m)
{
    unsigned i = 0;

    if (d->nmaps == KDMA_MAX_MAPS) {
        return NULL;
    }
    while (i < d->nmaps && (d->maps[i].dev < m->dev ||
                            (d->maps[i].dev == m->dev && d->maps[i].iova < m->iova))) {
        i++;
    }
    memmove(&d->maps[i + 1], &d->maps[i], (d->nmaps - i) * sizeof(KDmaMap));
    d->maps[i] = *m;
    d->nmaps++;
    return &d->maps[i];
}

void kdma_table_remove(KDma *d, KDmaMap *m)
{
    unsigned i = (unsigned)(m - d->maps);

    memmove(&d->maps[i], &d->maps[i + 1], (d->nmaps - i - 1) * sizeof(KDmaMap));
    d->nmaps--;
    memset(&d->maps[d->nmaps], 0, sizeof(KDmaMap));
}

KDmaMap *kdma_table_find(KDma *d, int dev, uint64_t handle)
{
    for (unsigned i = 0; i < d->nmaps; i++) {
        KDmaMap *m = &d->maps[i];

        if (m->state == KDMA_STATE_LIVE && m->dev == dev && m->handle == handle) {
            return m;
        }
    }
    return NULL;
}
