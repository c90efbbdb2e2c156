/*
 * iommu/iommu_flushq.c: deferred invalidation (lazy mode).
 *
 * A model of the flush queue of Linux's drivers/iommu/dma-iommu.c: an unmap
 * clears the page table at once but its IOTLB invalidation -- and the
 * release of the frame -- waits until the queue is full (flush_queue_max
 * pages) or its oldest entry is flush_window_ns old on the virtual clock.
 * Between the two, a device that kept a cached translation can still reach
 * the frame; the frame therefore stays pinned until the drain, exactly as
 * Linux keeps the pages on its freelist until the flush completes.
 */
#include "iommu/iommu_internal.h"

static void iommu_flushq_complete(Iommu *mmu, const IommuFlushEntry *fe)
{
    IommuDomain *dom = iommu_domain_find(mmu, fe->rid);

    iommu_iotlb_invalidate_page(mmu, fe->rid, fe->iova_pfn);
    /* Invariant: detach drains the queue first, so the domain exists. */
    assert(dom && "a queued invalidation belongs to an attached domain");
    dom->pins_deferred--;
    mmu->pins_deferred--;
    iommu_pins_drop(mmu, dom, fe->phys_pfn);
}

void iommu_flushq_drain(Iommu *mmu)
{
    if (mmu->fq_count == 0) {
        return;
    }
    while (mmu->fq_count > 0) {
        iommu_flushq_complete(mmu, &mmu->fq[mmu->fq_head]);
        mmu->fq_head = (mmu->fq_head + 1) % mmu->fq_max;
        mmu->fq_count--;
    }
    mmu->fq_head = 0;
    mmu->stats.flushes++;
}

/* Queues one unmapped page; the caller already cleared the page table and
 * still holds the page's pin, which now counts as deferred. */
void iommu_flushq_push(Iommu *mmu, uint16_t rid, uint64_t iova_pfn, uint64_t phys_pfn)
{
    IommuFlushEntry *fe;
    IommuDomain *dom = iommu_domain_find(mmu, rid);

    fe = &mmu->fq[(mmu->fq_head + mmu->fq_count) % mmu->fq_max];
    fe->iova_pfn = iova_pfn;
    fe->phys_pfn = phys_pfn;
    fe->time_ns = mmu->now_ns;
    fe->rid = rid;
    mmu->fq_count++;
    dom->pins_deferred++;
    mmu->pins_deferred++;
    iommu_iotlb_mark_stale(mmu, rid, iova_pfn);
    /* Invariant: the queue is never left full, so the slot above was free. */
    if (mmu->fq_count == mmu->fq_max) {
        iommu_flushq_drain(mmu);
    }
}

/* Drains the queue when its oldest entry has waited out the window. */
void iommu_flushq_tick(Iommu *mmu)
{
    if (mmu->fq_count > 0 &&
        mmu->now_ns - mmu->fq[mmu->fq_head].time_ns >= mmu->fq_window_ns) {
        iommu_flushq_drain(mmu);
    }
}

void iommu_flush(Iommu *mmu)
{
    iommu_flushq_drain(mmu);
}

uint32_t iommu_flush_pending(const Iommu *mmu)
{
    return mmu->fq_count;
}
