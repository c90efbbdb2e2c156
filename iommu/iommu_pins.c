/*
 * iommu/iommu_pins.c: I/O pin accounting (BRIEF §4, seeds 000 and 001).
 *
 * Every mapped page pins its frame once: a frame mapped twice has a pin
 * count of 2 and costs 2 pages of bound.  Bounds are counted in pinned pages,
 * per domain (the authority to pin comes with the device) and over the whole
 * IOMMU (seed 001: a bound on the total number of frames).  A page whose
 * invalidation is still deferred keeps its pin and its charge.
 *
 * Every pin and unpin goes through iommu_pins_take/iommu_pins_drop, so the
 * pin hook (a frame's count crossing 0) is run here and only here; restore
 * rewrites pin[] directly and so runs no hook, as iommu.h promises.
 */
#include "iommu/iommu_internal.h"

/*
 * Whether npages more pins fit rid's and the global bound.  If they fit only
 * once the deferred invalidations are done, *need_drain is set: the caller
 * drains the flush queue first (as Linux flushes when IOVA allocation runs
 * dry).  On failure nothing should be drained: the request changes nothing.
 */
int iommu_pins_check(const Iommu *mmu, const IommuDomain *dom, uint64_t npages,
                     bool *need_drain)
{
    bool dom_now = dom->pins + npages <= dom->pin_bound && dom->pins + npages >= npages;
    bool glob_now = mmu->pins + npages <= mmu->bound_global && mmu->pins + npages >= npages;
    uint64_t dom_after = dom->pins - dom->pins_deferred;
    uint64_t glob_after = mmu->pins - mmu->pins_deferred;

    *need_drain = false;
    if (dom_now && glob_now) {
        return 0;
    }
    if (dom_after + npages > dom->pin_bound || dom_after + npages < npages) {
        return IOMMU_ERR_DOMAIN_BOUND;
    }
    if (glob_after + npages > mmu->bound_global || glob_after + npages < npages) {
        return IOMMU_ERR_GLOBAL_BOUND;
    }
    *need_drain = true;
    return 0;
}

void iommu_pins_take(Iommu *mmu, IommuDomain *dom, uint64_t phys_pfn)
{
    assert(phys_pfn < mmu->ram_frames && "a pinned frame lies in guest RAM");
    assert(mmu->pin[phys_pfn] < UINT32_MAX && "pin count does not overflow");
    dom->pins++;
    mmu->pins++;
    if (mmu->pins > mmu->stats.pins_peak) {
        mmu->stats.pins_peak = mmu->pins;
    }
    if (mmu->pin[phys_pfn]++ == 0) {
        mmu->frames_pinned++;
        if (mmu->pin_hook) {
            mmu->pin_hook(mmu->pin_hook_opaque, phys_pfn, true);
        }
    }
}

void iommu_pins_drop(Iommu *mmu, IommuDomain *dom, uint64_t phys_pfn)
{
    assert(phys_pfn < mmu->ram_frames && mmu->pin[phys_pfn] > 0 &&
           "only a pinned frame is unpinned");
    dom->pins--;
    mmu->pins--;
    if (--mmu->pin[phys_pfn] == 0) {
        mmu->frames_pinned--;
        if (mmu->pin_hook) {
            mmu->pin_hook(mmu->pin_hook_opaque, phys_pfn, false);
        }
    }
}

void iommu_set_pin_hook(Iommu *mmu, IommuFramePinHook fn, void *opaque)
{
    mmu->pin_hook = fn;
    mmu->pin_hook_opaque = opaque;
}

bool iommu_frame_is_pinned(const Iommu *mmu, uint64_t phys)
{
    return iommu_frame_pin_count(mmu, phys) > 0;
}

uint32_t iommu_frame_pin_count(const Iommu *mmu, uint64_t phys)
{
    uint64_t pfn = phys >> IOMMU_PAGE_SHIFT;

    return pfn < mmu->ram_frames ? mmu->pin[pfn] : 0;
}

uint64_t iommu_pins(const Iommu *mmu)
{
    return mmu->pins;
}

uint64_t iommu_domain_pins(const Iommu *mmu, uint16_t rid)
{
    const IommuDomain *dom = iommu_domain_find(mmu, rid);

    return dom ? dom->pins : 0;
}

int iommu_set_domain_bound(Iommu *mmu, uint16_t rid, uint64_t pages)
{
    IommuDomain *dom = iommu_domain_find(mmu, rid);

    if (!dom) {
        return -ENOENT;
    }
    if (dom->pins > pages) {
        return -EBUSY;
    }
    dom->pin_bound = pages;
    return 0;
}
