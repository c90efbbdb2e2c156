/*
 * iommu/iommu_pgtable.c: the IOVA page tables.
 *
 * A 4-level radix tree of 512-entry tables over the 48-bit IOVA space, the
 * shape of VT-d's and x86's second-level tables.  All tables of all domains
 * live in one pool addressed by index (so the state saves as it is); freed
 * tables go on a free list threaded through their first entry.  Tables are
 * freed when their domain is detached, not when they empty out: unmap stays
 * O(pages) and a driver's working set of tables is small.
 */
#include "iommu/iommu_internal.h"

#include <stdlib.h>
#include <string.h>

static unsigned iommu_pgtable_index(uint64_t iova, int level)
{
    return (unsigned)(iova >> (IOMMU_PAGE_SHIFT + IOMMU_PT_BITS * level)) &
           (IOMMU_PT_ENTRIES - 1);
}

/* Distinct tables of one level that [iova, iova + npages pages) touches. */
static uint64_t iommu_pgtable_span(uint64_t iova, uint64_t npages, int level)
{
    unsigned shift = IOMMU_PAGE_SHIFT + IOMMU_PT_BITS * (level + 1);
    uint64_t last = iova + (npages << IOMMU_PAGE_SHIFT) - 1;

    return (last >> shift) - (iova >> shift) + 1;
}

/*
 * Makes sure enough tables can be handed out, without failing, to map the
 * range: the worst case is a missing table for every level-0..2 table the
 * range touches.  Only capacity grows; the state is unchanged.
 */
int iommu_pgtable_reserve(Iommu *mmu, uint64_t iova, uint64_t npages)
{
    uint64_t need = mmu->ntables;
    uint64_t cap;
    IommuTable *t;
    int level;

    for (level = 0; level < IOMMU_PT_LEVELS - 1; level++) {
        need += iommu_pgtable_span(iova, npages, level);
    }
    if (need <= mmu->tables_cap) {
        return 0;
    }
    if (need >= IOMMU_TABLE_NONE) {
        return -ENOMEM;
    }
    cap = mmu->tables_cap ? mmu->tables_cap : 16;
    while (cap < need) {
        cap *= 2;
    }
    if (cap >= IOMMU_TABLE_NONE) {
        cap = IOMMU_TABLE_NONE - 1;
    }
    t = realloc(mmu->tables, cap * sizeof(*t));
    if (!t) {
        return -ENOMEM;
    }
    mmu->tables = t;
    mmu->tables_cap = (uint32_t)cap;
    return 0;
}

/* A zeroed table.  The caller reserved capacity (invariant: never fails). */
uint32_t iommu_pgtable_alloc(Iommu *mmu)
{
    uint32_t idx = mmu->table_free;

    if (idx != IOMMU_TABLE_NONE) {
        mmu->table_free = (uint32_t)mmu->tables[idx].e[0];
    } else {
        assert(mmu->ntables < mmu->tables_cap && "table capacity was reserved");
        idx = mmu->ntables++;
    }
    memset(&mmu->tables[idx], 0, sizeof(mmu->tables[idx]));
    return idx;
}

static void iommu_pgtable_release(Iommu *mmu, uint32_t idx)
{
    memset(&mmu->tables[idx], 0, sizeof(mmu->tables[idx]));
    mmu->tables[idx].e[0] = mmu->table_free;
    mmu->table_free = idx;
}

/* The leaf entry for iova, or 0 when any level is absent. */
uint64_t iommu_pgtable_get(const Iommu *mmu, uint32_t root, uint64_t iova)
{
    uint32_t t = root;
    int level;
    uint64_t e;

    for (level = IOMMU_PT_LEVELS - 1; level > 0; level--) {
        e = mmu->tables[t].e[iommu_pgtable_index(iova, level)];
        if (!(e & IOMMU_PTE_PRESENT)) {
            return 0;
        }
        t = (uint32_t)(e >> IOMMU_PAGE_SHIFT);
    }
    return mmu->tables[t].e[iommu_pgtable_index(iova, 0)];
}

/* Pointer to the leaf entry for iova; missing tables are created when
 * create is set (capacity reserved by the caller), else NULL. */
uint64_t *iommu_pgtable_slot(Iommu *mmu, uint32_t root, uint64_t iova, bool create)
{
    uint32_t t = root;
    int level;
    uint64_t *e;
    uint32_t child;

    for (level = IOMMU_PT_LEVELS - 1; level > 0; level--) {
        e = &mmu->tables[t].e[iommu_pgtable_index(iova, level)];
        if (!(*e & IOMMU_PTE_PRESENT)) {
            if (!create) {
                return NULL;
            }
            child = iommu_pgtable_alloc(mmu);
            /* alloc may not move the pool (capacity was reserved), so e is
             * still valid here. */
            *e = ((uint64_t)child << IOMMU_PAGE_SHIFT) | IOMMU_PTE_PRESENT;
        }
        t = (uint32_t)(*e >> IOMMU_PAGE_SHIFT);
    }
    return &mmu->tables[t].e[iommu_pgtable_index(iova, 0)];
}

static void iommu_pgtable_destroy_level(Iommu *mmu, uint32_t t, int level,
                                        uint64_t base, IommuLeafFn *leaf,
                                        void *opaque)
{
    unsigned i;
    uint64_t e, iova;

    for (i = 0; i < IOMMU_PT_ENTRIES; i++) {
        e = mmu->tables[t].e[i];
        if (!(e & IOMMU_PTE_PRESENT)) {
            continue;
        }
        iova = base | ((uint64_t)i << (IOMMU_PAGE_SHIFT + IOMMU_PT_BITS * level));
        if (level == 0) {
            leaf(mmu, iova, e, opaque);
        } else {
            iommu_pgtable_destroy_level(mmu, (uint32_t)(e >> IOMMU_PAGE_SHIFT),
                                        level - 1, iova, leaf, opaque);
        }
    }
    iommu_pgtable_release(mmu, t);
}

/* Calls leaf for every present leaf entry, then frees the whole tree. */
void iommu_pgtable_destroy(Iommu *mmu, uint32_t root, IommuLeafFn *leaf, void *opaque)
{
    iommu_pgtable_destroy_level(mmu, root, IOMMU_PT_LEVELS - 1, 0, leaf, opaque);
}
