/*
 * iommu/iommu_translate.c: the device-path translation of one address.
 *
 * IOTLB first; on a miss, the domain's page table, and the result is cached
 * (permission included, so a permission fault is cached like hardware's).
 * The hit path is a set index, two tag compares and a flag test: it is the
 * cost every DMA'd byte of a packet pays (BRIEF §6: ~10 ns).
 */
#include "iommu/iommu_internal.h"

IommuReason iommu_translate_page(Iommu *mmu, uint16_t rid, uint64_t iova,
                                 IommuDir dir, uint64_t *phys)
{
    unsigned need = dir == IOMMU_DIR_WRITE ? IOMMU_PERM_WRITE : IOMMU_PERM_READ;
    uint64_t pfn = iova >> IOMMU_PAGE_SHIFT;
    IommuTlbEntry *e;
    IommuDomain *dom;
    uint64_t pte;
    unsigned perms;

    if (iova >= IOMMU_IOVA_LIMIT) {
        return IOMMU_REASON_OUT_OF_RANGE;
    }
    e = iommu_iotlb_lookup(mmu, rid, pfn);
    if (e) {
        mmu->stats.iotlb_hits++;
        if (!(e->perms & need)) {
            return IOMMU_REASON_PERMISSION;
        }
        *phys = (e->phys_pfn << IOMMU_PAGE_SHIFT) | (iova & (IOMMU_PAGE_SIZE - 1));
        return (e->flags & IOMMU_TLB_STALE) ? IOMMU_REASON_STALE_IOTLB : IOMMU_REASON_NONE;
    }
    mmu->stats.iotlb_misses++;
    dom = iommu_domain_find(mmu, rid);
    if (!dom) {
        return IOMMU_REASON_NO_DOMAIN;
    }
    pte = iommu_pgtable_get(mmu, dom->root, iova);
    if (!(pte & IOMMU_PTE_PRESENT)) {
        return IOMMU_REASON_NOT_MAPPED;
    }
    perms = ((pte & IOMMU_PTE_READ) ? IOMMU_PERM_READ : 0) |
            ((pte & IOMMU_PTE_WRITE) ? IOMMU_PERM_WRITE : 0);
    iommu_iotlb_fill(mmu, rid, pfn, (pte & IOMMU_PTE_ADDR) >> IOMMU_PAGE_SHIFT, perms);
    if (!(perms & need)) {
        return IOMMU_REASON_PERMISSION;
    }
    *phys = (pte & IOMMU_PTE_ADDR) | (iova & (IOMMU_PAGE_SIZE - 1));
    return IOMMU_REASON_NONE;
}

int iommu_translate(Iommu *mmu, uint16_t rid, uint64_t iova, IommuDir dir,
                    uint64_t *phys)
{
    IommuReason why = iommu_translate_page(mmu, rid, iova, dir, phys);

    if (why == IOMMU_REASON_NONE) {
        return 0;
    }
    iommu_fault_record(mmu, rid, iova, 1, dir, why);
    if (why == IOMMU_REASON_STALE_IOTLB) {
        return 0;
    }
    return why == IOMMU_REASON_PERMISSION ? -EACCES : -EFAULT;
}

int iommu_lookup(const Iommu *mmu, uint16_t rid, uint64_t iova,
                 uint64_t *phys, unsigned *perms)
{
    const IommuDomain *dom = iommu_domain_find(mmu, rid);
    uint64_t pte;

    if (iova >= IOMMU_IOVA_LIMIT) {
        return -ERANGE;
    }
    if (!dom) {
        return -ENOENT;
    }
    pte = iommu_pgtable_get(mmu, dom->root, iova);
    if (!(pte & IOMMU_PTE_PRESENT)) {
        return -ENOENT;
    }
    *phys = (pte & IOMMU_PTE_ADDR) | (iova & (IOMMU_PAGE_SIZE - 1));
    *perms = ((pte & IOMMU_PTE_READ) ? IOMMU_PERM_READ : 0) |
             ((pte & IOMMU_PTE_WRITE) ? IOMMU_PERM_WRITE : 0);
    return 0;
}
