/*
 * iommu/iommu.c: creation, virtual time, domains and the map/unmap requests
 * of the kernel side.
 *
 * Requests follow seL4's decode/invoke split: decode checks every argument
 * and the bounds and writes nothing; invoke cannot fail (table capacity is
 * reserved beforehand -- growing capacity is not a state change).  So a
 * refused request leaves the saved state byte for byte as it was.
 */
#include "iommu/iommu_internal.h"

#include <stdlib.h>
#include <string.h>

#define IOMMU_RID_COUNT 65536u

void iommu_config_default(IommuConfig *cfg, void *ram, uint64_t ram_size)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ram = ram;
    cfg->ram_size = ram_size;
    cfg->mode = IOMMU_MODE_STRICT;
    cfg->flush_queue_max = IOMMU_FLUSH_QUEUE_DEFAULT;
    cfg->flush_window_ns = IOMMU_FLUSH_WINDOW_DEFAULT_NS;
    cfg->fault_queue_max = IOMMU_FAULT_QUEUE_DEFAULT;
    cfg->pin_bound_global = IOMMU_PIN_UNBOUNDED;
    cfg->pin_bound_domain = IOMMU_PIN_UNBOUNDED;
}

static int iommu_check_config(const IommuConfig *cfg, SlError *err)
{
    if (!cfg->ram) {
        return sl_error(err, -EINVAL, "iommu: config field ram: expected guest RAM, got NULL");
    }
    if (cfg->ram_size == 0 || cfg->ram_size % IOMMU_PAGE_SIZE != 0 ||
        (cfg->ram_size >> IOMMU_PAGE_SHIFT) > UINT32_MAX) {
        return sl_error(err, -EINVAL,
                        "iommu: config field ram_size: expected a non-zero multiple of "
                        "4096 below 16 TiB, got 0x%llx",
                        (unsigned long long)cfg->ram_size);
    }
    if (cfg->mode != IOMMU_MODE_STRICT && cfg->mode != IOMMU_MODE_LAZY) {
        return sl_error(err, -EINVAL, "iommu: config field mode: expected strict or lazy, got %d",
                        (int)cfg->mode);
    }
    if (cfg->flush_queue_max > (1u << 20) || cfg->fault_queue_max > (1u << 20)) {
        return sl_error(err, -EINVAL,
                        "iommu: config fields flush_queue_max/fault_queue_max: expected at "
                        "most 1048576, got %u/%u",
                        cfg->flush_queue_max, cfg->fault_queue_max);
    }
    return 0;
}

int iommu_new(const IommuConfig *cfg, Iommu **out, SlError *err)
{
    Iommu *mmu;
    int rc = iommu_check_config(cfg, err);

    *out = NULL;
    if (rc) {
        return rc;
    }
    mmu = calloc(1, sizeof(*mmu));
    if (!mmu) {
        return sl_error(err, -ENOMEM, "iommu: out of memory creating the IOMMU");
    }
    mmu->ram = cfg->ram;
    mmu->ram_size = cfg->ram_size;
    mmu->ram_frames = cfg->ram_size >> IOMMU_PAGE_SHIFT;
    mmu->mode = cfg->mode;
    mmu->fq_max = cfg->flush_queue_max ? cfg->flush_queue_max : IOMMU_FLUSH_QUEUE_DEFAULT;
    mmu->fq_window_ns = cfg->flush_window_ns ? cfg->flush_window_ns
                                             : IOMMU_FLUSH_WINDOW_DEFAULT_NS;
    mmu->fault_max = cfg->fault_queue_max ? cfg->fault_queue_max : IOMMU_FAULT_QUEUE_DEFAULT;
    mmu->bound_global = cfg->pin_bound_global;
    mmu->bound_domain_default = cfg->pin_bound_domain;
    mmu->table_free = IOMMU_TABLE_NONE;
    mmu->rid_slot = calloc(IOMMU_RID_COUNT, sizeof(*mmu->rid_slot));
    mmu->pin = calloc(mmu->ram_frames, sizeof(*mmu->pin));
    mmu->fq = calloc(mmu->fq_max, sizeof(*mmu->fq));
    mmu->faults = calloc(mmu->fault_max, sizeof(*mmu->faults));
    if (!mmu->rid_slot || !mmu->pin || !mmu->fq || !mmu->faults) {
        iommu_free(mmu);
        return sl_error(err, -ENOMEM, "iommu: out of memory creating the IOMMU");
    }
    *out = mmu;
    return 0;
}

void iommu_free(Iommu *mmu)
{
    if (!mmu) {
        return;
    }
    free(mmu->rid_slot);
    free(mmu->pin);
    free(mmu->fq);
    free(mmu->faults);
    free(mmu->domains);
    free(mmu->tables);
    free(mmu);
}

IommuMode iommu_mode(const Iommu *mmu)
{
    return (IommuMode)mmu->mode;
}

uint64_t iommu_ram_size(const Iommu *mmu)
{
    return mmu->ram_size;
}

void iommu_set_time(Iommu *mmu, uint64_t ns)
{
    if (ns > mmu->now_ns) {
        mmu->now_ns = ns;
    }
    iommu_flushq_tick(mmu);
}

void iommu_advance_time(Iommu *mmu, uint64_t delta_ns)
{
    iommu_set_time(mmu, mmu->now_ns + delta_ns);
}

uint64_t iommu_time(const Iommu *mmu)
{
    return mmu->now_ns;
}

/* --- domains ---------------------------------------------------------- */

static int iommu_domain_slot(Iommu *mmu, uint32_t *slot)
{
    uint32_t i, cap;
    IommuDomain *d;

    for (i = 0; i < mmu->ndomains; i++) {
        if (!mmu->domains[i].used) {
            *slot = i;
            return 0;
        }
    }
    if (mmu->ndomains == mmu->domains_cap) {
        cap = mmu->domains_cap ? mmu->domains_cap * 2 : 8;
        d = realloc(mmu->domains, cap * sizeof(*d));
        if (!d) {
            return -ENOMEM;
        }
        mmu->domains = d;
        mmu->domains_cap = cap;
    }
    *slot = mmu->ndomains;
    return 0;
}

int iommu_attach(Iommu *mmu, uint16_t rid, const char *name)
{
    uint32_t slot;
    IommuDomain *dom;
    int rc;

    if (!name || !name[0] || strlen(name) >= IOMMU_NAME_MAX) {
        return -EINVAL;
    }
    if (mmu->rid_slot[rid]) {
        return -EEXIST;
    }
    rc = iommu_domain_slot(mmu, &slot);
    if (rc == 0) {
        rc = iommu_pgtable_reserve(mmu, 0, 1);
    }
    if (rc) {
        return rc;
    }
    if (slot == mmu->ndomains) {
        mmu->ndomains++;
    }
    dom = &mmu->domains[slot];
    memset(dom, 0, sizeof(*dom));
    dom->used = 1;
    dom->rid = rid;
    dom->pin_bound = mmu->bound_domain_default;
    dom->root = iommu_pgtable_alloc(mmu);
    memcpy(dom->name, name, strlen(name));
    mmu->rid_slot[rid] = (uint16_t)(slot + 1);
    return 0;
}

static void iommu_detach_leaf(Iommu *mmu, uint64_t iova, uint64_t pte, void *opaque)
{
    iommu_pins_drop(mmu, opaque, (pte & IOMMU_PTE_ADDR) >> IOMMU_PAGE_SHIFT);
    mmu->stats.pages_unmapped++;
}

int iommu_detach(Iommu *mmu, uint16_t rid)
{
    IommuDomain *dom = iommu_domain_find(mmu, rid);

    if (!dom) {
        return -ENOENT;
    }
    /* Deferred invalidations of this domain must complete before its frames
     * are released; draining all of them is simpler and also correct. */
    iommu_flushq_drain(mmu);
    iommu_iotlb_invalidate_domain(mmu, rid);
    iommu_pgtable_destroy(mmu, dom->root, iommu_detach_leaf, dom);
    assert(dom->pins == 0 && "a detached domain holds no pins");
    memset(dom, 0, sizeof(*dom));
    mmu->rid_slot[rid] = 0;
    while (mmu->ndomains > 0 && !mmu->domains[mmu->ndomains - 1].used) {
        mmu->ndomains--;
    }
    return 0;
}

bool iommu_is_attached(const Iommu *mmu, uint16_t rid)
{
    return iommu_domain_find(mmu, rid) != NULL;
}

const char *iommu_domain_name(const Iommu *mmu, uint16_t rid)
{
    const IommuDomain *dom = iommu_domain_find(mmu, rid);

    return dom ? dom->name : NULL;
}

/* --- map / unmap -------------------------------------------------------- */

static int iommu_decode_range(const Iommu *mmu, uint64_t iova, uint64_t len)
{
    if (len == 0 || iova % IOMMU_PAGE_SIZE || len % IOMMU_PAGE_SIZE) {
        return -EINVAL;
    }
    if (iova >= IOMMU_IOVA_LIMIT || len > IOMMU_IOVA_LIMIT - iova) {
        return -ERANGE;
    }
    return 0;
}

static int iommu_decode_map(Iommu *mmu, IommuDomain *dom, uint64_t iova, uint64_t phys,
                            uint64_t len, unsigned perms, bool *need_drain)
{
    uint64_t off;
    int rc = iommu_decode_range(mmu, iova, len);

    if (rc) {
        return rc;
    }
    if (phys % IOMMU_PAGE_SIZE || perms == 0 ||
        (perms & ~(unsigned)(IOMMU_PERM_READ | IOMMU_PERM_WRITE))) {
        return -EINVAL;
    }
    if (phys >= mmu->ram_size || len > mmu->ram_size - phys) {
        return -ERANGE;
    }
    for (off = 0; off < len; off += IOMMU_PAGE_SIZE) {
        if (iommu_pgtable_get(mmu, dom->root, iova + off) & IOMMU_PTE_PRESENT) {
            return -EEXIST;
        }
    }
    rc = iommu_pins_check(mmu, dom, len >> IOMMU_PAGE_SHIFT, need_drain);
    if (rc) {
        return rc;
    }
    return iommu_pgtable_reserve(mmu, iova, len >> IOMMU_PAGE_SHIFT);
}

int iommu_map_range(Iommu *mmu, uint16_t rid, uint64_t iova, uint64_t phys,
                    uint64_t len, unsigned perms)
{
    IommuDomain *dom = iommu_domain_find(mmu, rid);
    bool need_drain;
    uint64_t off, pte, *slot;
    int rc;

    if (!dom) {
        return -ENOENT;
    }
    rc = iommu_decode_map(mmu, dom, iova, phys, len, perms, &need_drain);
    if (rc) {
        return rc;
    }
    if (need_drain) {
        iommu_flushq_drain(mmu);
    }
    for (off = 0; off < len; off += IOMMU_PAGE_SIZE) {
        pte = (phys + off) | IOMMU_PTE_PRESENT;
        pte |= (perms & IOMMU_PERM_READ) ? IOMMU_PTE_READ : 0;
        pte |= (perms & IOMMU_PERM_WRITE) ? IOMMU_PTE_WRITE : 0;
        slot = iommu_pgtable_slot(mmu, dom->root, iova + off, true);
        *slot = pte;
        iommu_pins_take(mmu, dom, (phys + off) >> IOMMU_PAGE_SHIFT);
        /* A stale entry for this page (lazy unmap, not yet flushed) would
         * shadow the new mapping; VT-d requires no invalidation for
         * not-present -> present, but the model must not keep the old one. */
        if (iommu_iotlb_lookup(mmu, rid, (iova + off) >> IOMMU_PAGE_SHIFT)) {
            iommu_iotlb_invalidate_page(mmu, rid, (iova + off) >> IOMMU_PAGE_SHIFT);
        }
    }
    mmu->stats.map_calls++;
    mmu->stats.pages_mapped += len >> IOMMU_PAGE_SHIFT;
    return 0;
}

int iommu_map(Iommu *mmu, uint16_t rid, uint64_t iova, uint64_t phys, unsigned perms)
{
    return iommu_map_range(mmu, rid, iova, phys, IOMMU_PAGE_SIZE, perms);
}

int iommu_unmap_range(Iommu *mmu, uint16_t rid, uint64_t iova, uint64_t len)
{
    IommuDomain *dom = iommu_domain_find(mmu, rid);
    uint64_t off, *slot, phys_pfn, iova_pfn;
    int rc;

    if (!dom) {
        return -ENOENT;
    }
    rc = iommu_decode_range(mmu, iova, len);
    if (rc) {
        return rc;
    }
    for (off = 0; off < len; off += IOMMU_PAGE_SIZE) {
        if (!(iommu_pgtable_get(mmu, dom->root, iova + off) & IOMMU_PTE_PRESENT)) {
            return -ENOENT;
        }
    }
    for (off = 0; off < len; off += IOMMU_PAGE_SIZE) {
        slot = iommu_pgtable_slot(mmu, dom->root, iova + off, false);
        phys_pfn = (*slot & IOMMU_PTE_ADDR) >> IOMMU_PAGE_SHIFT;
        iova_pfn = (iova + off) >> IOMMU_PAGE_SHIFT;
        *slot = 0;
        if (mmu->mode == IOMMU_MODE_LAZY) {
            iommu_flushq_push(mmu, rid, iova_pfn, phys_pfn);
        } else {
            iommu_iotlb_invalidate_page(mmu, rid, iova_pfn);
            iommu_pins_drop(mmu, dom, phys_pfn);
        }
    }
    mmu->stats.unmap_calls++;
    mmu->stats.pages_unmapped += len >> IOMMU_PAGE_SHIFT;
    return 0;
}

int iommu_unmap(Iommu *mmu, uint16_t rid, uint64_t iova)
{
    return iommu_unmap_range(mmu, rid, iova, IOMMU_PAGE_SIZE);
}
