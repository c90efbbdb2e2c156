/*
 * iommu/iommu_iotlb.c: the IOTLB, one per IOMMU, tagged by requester id.
 *
 * 512 sets x 2 ways of IOVA page -> {frame, perms}; the set is picked by the
 * IOVA page mixed with the requester id so that two devices using the same
 * IOVAs (common: every domain starts allocating at the same place) do not
 * fight over one set.  Replacement alternates between the two ways of a set
 * (a one-bit "not recently filled"), which is deterministic.
 *
 * A STALE entry is one whose page was unmapped in lazy mode while the
 * invalidation waits in the flush queue: hardware would keep using it, so
 * the model does too, and only remembers that it should not have.
 */
#include "iommu/iommu_internal.h"

#include <string.h>

void iommu_iotlb_fill(Iommu *mmu, uint16_t rid, uint64_t iova_pfn,
                      uint64_t phys_pfn, unsigned perms)
{
    unsigned s = iommu_iotlb_set_of(rid, iova_pfn);
    unsigned way = mmu->tlb_victim[s];
    IommuTlbEntry *e = &mmu->tlb[s][way];

    e->iova_pfn = iova_pfn;
    e->phys_pfn = phys_pfn;
    e->rid = rid;
    e->perms = (uint8_t)perms;
    e->flags = IOMMU_TLB_VALID;
    mmu->tlb_victim[s] = (uint8_t)(way ^ 1u);
}

void iommu_iotlb_invalidate_page(Iommu *mmu, uint16_t rid, uint64_t iova_pfn)
{
    IommuTlbEntry *e = iommu_iotlb_lookup(mmu, rid, iova_pfn);

    mmu->stats.iotlb_invalidations++;
    if (e) {
        memset(e, 0, sizeof(*e));
    }
}

void iommu_iotlb_invalidate_domain(Iommu *mmu, uint16_t rid)
{
    unsigned s, w;

    mmu->stats.iotlb_invalidations++;
    for (s = 0; s < IOMMU_TLB_SETS; s++) {
        for (w = 0; w < IOMMU_TLB_WAYS; w++) {
            if (mmu->tlb[s][w].rid == rid) {
                memset(&mmu->tlb[s][w], 0, sizeof(mmu->tlb[s][w]));
            }
        }
    }
}

void iommu_iotlb_mark_stale(Iommu *mmu, uint16_t rid, uint64_t iova_pfn)
{
    IommuTlbEntry *e = iommu_iotlb_lookup(mmu, rid, iova_pfn);

    if (e) {
        e->flags |= IOMMU_TLB_STALE;
    }
}

void iommu_invalidate_all(Iommu *mmu)
{
    mmu->stats.iotlb_invalidations++;
    memset(mmu->tlb, 0, sizeof(mmu->tlb));
    memset(mmu->tlb_victim, 0, sizeof(mmu->tlb_victim));
}
