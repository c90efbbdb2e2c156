/*
 * iommu/iommu_state.c: the IOMMU's state as one flat blob.
 *
 * Layout (host byte order; a blob is for this build, not an exchange format):
 *   IommuStateHeader, IommuStats,
 *   IommuDomain[ndomains], IommuTable[ntables],
 *   IOTLB entries [sets][ways], victim bytes [sets],
 *   IommuFlushEntry[fq_count] oldest first, IommuFault[fault_count] oldest
 *   first, IommuPinPair[frames_pinned] by frame.
 * No host pointers: tables and domains are indexes.  The IOTLB is saved, not
 * invalidated, so a restored run sees the same hits, misses and stale
 * entries as the original (deterministic replay).  The rid -> domain index
 * is derived and rebuilt.  Pin counts are stored sparsely (frame, count).
 *
 * Restore checks everything it reads -- indexes in range, every table
 * reached once, pin counts equal to what the tables and flush queue imply --
 * builds the new state aside and swaps it in only when all is well.
 */
#include "iommu/iommu_internal.h"

#include <stdlib.h>
#include <string.h>

#define IOMMU_STATE_MAGIC 0x31554d4d4f494c53ull /* "SLIOMMU1" */

typedef struct IommuStateHeader {
    uint64_t magic, size, ram_frames;
    uint64_t mode, fq_max, fq_window_ns, fault_max, bound_global, bound_domain_default;
    uint64_t now_ns, ndomains, ntables, table_free;
    uint64_t pins, pins_deferred, frames_pinned;
    uint64_t fq_count, fault_count, fault_seq, stop_requested;
} IommuStateHeader;

typedef struct IommuPinPair {
    uint32_t frame, count;
} IommuPinPair;

size_t iommu_state_size(const Iommu *mmu)
{
    return sizeof(IommuStateHeader) + sizeof(IommuStats) +
           (size_t)mmu->ndomains * sizeof(IommuDomain) +
           (size_t)mmu->ntables * sizeof(IommuTable) + sizeof(mmu->tlb) +
           sizeof(mmu->tlb_victim) + (size_t)mmu->fq_count * sizeof(IommuFlushEntry) +
           (size_t)mmu->fault_count * sizeof(IommuFault) +
           (size_t)mmu->frames_pinned * sizeof(IommuPinPair);
}

static void iommu_state_put(uint8_t **p, const void *src, size_t n)
{
    if (n) {
        memcpy(*p, src, n);
    }
    *p += n;
}

long iommu_state_save(const Iommu *mmu, void *buf, size_t size)
{
    size_t need = iommu_state_size(mmu);
    IommuStateHeader h;
    IommuPinPair pp;
    uint8_t *p = buf;
    uint64_t f;
    uint32_t i;

    if (size < need) {
        return -ENOSPC;
    }
    memset(&h, 0, sizeof(h));
    h.magic = IOMMU_STATE_MAGIC;
    h.size = need;
    h.ram_frames = mmu->ram_frames;
    h.mode = mmu->mode;
    h.fq_max = mmu->fq_max;
    h.fq_window_ns = mmu->fq_window_ns;
    h.fault_max = mmu->fault_max;
    h.bound_global = mmu->bound_global;
    h.bound_domain_default = mmu->bound_domain_default;
    h.now_ns = mmu->now_ns;
    h.ndomains = mmu->ndomains;
    h.ntables = mmu->ntables;
    h.table_free = mmu->table_free;
    h.pins = mmu->pins;
    h.pins_deferred = mmu->pins_deferred;
    h.frames_pinned = mmu->frames_pinned;
    h.fq_count = mmu->fq_count;
    h.fault_count = mmu->fault_count;
    h.fault_seq = mmu->fault_seq;
    h.stop_requested = mmu->stop_requested;
    iommu_state_put(&p, &h, sizeof(h));
    iommu_state_put(&p, &mmu->stats, sizeof(mmu->stats));
    iommu_state_put(&p, mmu->domains, (size_t)mmu->ndomains * sizeof(IommuDomain));
    iommu_state_put(&p, mmu->tables, (size_t)mmu->ntables * sizeof(IommuTable));
    iommu_state_put(&p, mmu->tlb, sizeof(mmu->tlb));
    iommu_state_put(&p, mmu->tlb_victim, sizeof(mmu->tlb_victim));
    for (i = 0; i < mmu->fq_count; i++) {
        iommu_state_put(&p, &mmu->fq[(mmu->fq_head + i) % mmu->fq_max], sizeof(IommuFlushEntry));
    }
    for (i = 0; i < mmu->fault_count; i++) {
        iommu_state_put(&p, &mmu->faults[(mmu->fault_head + i) % mmu->fault_max],
                        sizeof(IommuFault));
    }
    for (f = 0; f < mmu->ram_frames; f++) {
        if (mmu->pin[f]) {
            pp.frame = (uint32_t)f;
            pp.count = mmu->pin[f];
            iommu_state_put(&p, &pp, sizeof(pp));
        }
    }
    assert((size_t)(p - (uint8_t *)buf) == need && "state_size and state_save agree");
    return (long)need;
}

/* --- restore ------------------------------------------------------------ */

/* The new state, built aside.  Freed unless swapped into the IOMMU. */
typedef struct IommuStateNew {
    IommuDomain *domains;
    IommuTable *tables;
    uint32_t *pin, *calc;    /* calc: pin counts implied by tables + queue */
    uint8_t *seen;           /* tables reached */
    uint16_t *rid_slot;
    IommuFlushEntry *fq;
    IommuFault *faults;
} IommuStateNew;

static void iommu_state_new_free(IommuStateNew *n)
{
    free(n->domains);
    free(n->tables);
    free(n->pin);
    free(n->calc);
    free(n->seen);
    free(n->rid_slot);
    free(n->fq);
    free(n->faults);
}

static int iommu_state_bad(SlError *err, const char *field, const char *expected)
{
    return sl_error(err, -EINVAL, "iommu state: field %s: expected %s", field, expected);
}

/* Walks one table of a saved tree: marks it seen, checks children and leaves
 * and counts leaf pins into calc.  Returns leaves, or -1 when malformed. */
static int64_t iommu_state_walk(IommuStateNew *n, const IommuStateHeader *h,
                                uint64_t t, int level)
{
    uint64_t e, child, frame;
    int64_t leaves = 0, sub;
    unsigned i;

    if (t >= h->ntables || n->seen[t]) {
        return -1;
    }
    n->seen[t] = 1;
    for (i = 0; i < IOMMU_PT_ENTRIES; i++) {
        e = n->tables[t].e[i];
        if (!(e & IOMMU_PTE_PRESENT)) {
            if (e) {
                return -1;
            }
            continue;
        }
        if (level > 0) {
            child = e >> IOMMU_PAGE_SHIFT;
            if (e & ~(IOMMU_PTE_PRESENT | (child << IOMMU_PAGE_SHIFT))) {
                return -1;
            }
            sub = iommu_state_walk(n, h, child, level - 1);
            if (sub < 0) {
                return -1;
            }
            leaves += sub;
            continue;
        }
        frame = (e & IOMMU_PTE_ADDR) >> IOMMU_PAGE_SHIFT;
        if ((e & ~(IOMMU_PTE_ADDR | IOMMU_PTE_PRESENT | IOMMU_PTE_READ | IOMMU_PTE_WRITE)) ||
            !(e & (IOMMU_PTE_READ | IOMMU_PTE_WRITE)) || frame >= h->ram_frames) {
            return -1;
        }
        n->calc[frame]++;
        leaves++;
    }
    return leaves;
}

static int iommu_state_check_domains(IommuStateNew *n, const IommuStateHeader *h,
                                     SlError *err)
{
    uint64_t i, q, deferred;
    int64_t leaves;
    IommuDomain *d;

    for (i = 0; i < h->ndomains; i++) {
        d = &n->domains[i];
        if (d->used == 0) {
            continue;
        }
        if (d->used != 1 || d->name[0] == '\0' || d->name[IOMMU_NAME_MAX - 1] != '\0' ||
            d->note_count > IOMMU_NOTES_PER_DOMAIN || d->note_next >= IOMMU_NOTES_PER_DOMAIN) {
            return iommu_state_bad(err, "domains", "well-formed domain records");
        }
        if (n->rid_slot[d->rid]) {
            return iommu_state_bad(err, "domains.rid", "one domain per requester id");
        }
        n->rid_slot[d->rid] = (uint16_t)(i + 1);
        leaves = iommu_state_walk(n, h, d->root, IOMMU_PT_LEVELS - 1);
        if (leaves < 0) {
            return iommu_state_bad(err, "tables", "a tree of in-range tables and leaves in RAM");
        }
        for (q = 0, deferred = 0; q < h->fq_count; q++) {
            deferred += n->fq[q].rid == d->rid;
        }
        if (d->pins_deferred != deferred || d->pins != (uint64_t)leaves + deferred) {
            return iommu_state_bad(err, "domains.pins", "the pins its tables and queue hold");
        }
    }
    return 0;
}

static int iommu_state_check_rest(IommuStateNew *n, const IommuStateHeader *h,
                                  const IommuTlbEntry *tlb, const uint8_t *victim,
                                  const IommuPinPair *pairs, SlError *err)
{
    uint64_t i, t, sum = 0, prev = 0;
    const IommuTlbEntry *e;

    for (i = 0; i < h->fq_count; i++) {
        if (!n->rid_slot[n->fq[i].rid] || n->fq[i].phys_pfn >= h->ram_frames) {
            return iommu_state_bad(err, "flush queue", "entries of attached domains in RAM");
        }
        n->calc[n->fq[i].phys_pfn]++;
    }
    for (i = 0; i < h->fault_count; i++) {
        if (n->faults[i].reason >= IOMMU_REASON_COUNT || n->faults[i].dir > IOMMU_DIR_WRITE ||
            n->faults[i].name[IOMMU_NAME_MAX - 1] != '\0') {
            return iommu_state_bad(err, "faults", "well-formed fault records");
        }
    }
    for (i = 0; i < (uint64_t)IOMMU_TLB_SETS * IOMMU_TLB_WAYS; i++) {
        e = &tlb[i];
        if ((e->flags & ~(IOMMU_TLB_VALID | IOMMU_TLB_STALE)) || e->perms > 3 ||
            ((e->flags & IOMMU_TLB_VALID) && e->phys_pfn >= h->ram_frames)) {
            return iommu_state_bad(err, "iotlb", "entries of frames in RAM");
        }
    }
    for (i = 0; i < IOMMU_TLB_SETS; i++) {
        if (victim[i] >= IOMMU_TLB_WAYS) {
            return iommu_state_bad(err, "iotlb victim", "a way number");
        }
    }
    for (t = h->table_free, i = 0; t != IOMMU_TABLE_NONE; t = n->tables[t].e[0], i++) {
        if (t >= h->ntables || n->seen[t] || i > h->ntables) {
            return iommu_state_bad(err, "table_free", "a free list of unused tables");
        }
        n->seen[t] = 1;
    }
    for (i = 0; i < h->frames_pinned; i++) {
        if (pairs[i].frame >= h->ram_frames || pairs[i].count == 0 ||
            (i > 0 && pairs[i].frame <= prev)) {
            return iommu_state_bad(err, "pins", "ascending frames in RAM with counts");
        }
        prev = pairs[i].frame;
        n->pin[pairs[i].frame] = pairs[i].count;
        sum += pairs[i].count;
    }
    if (sum != h->pins || memcmp(n->pin, n->calc, h->ram_frames * sizeof(uint32_t)) != 0) {
        return iommu_state_bad(err, "pins", "pin counts equal to the mappings that hold them");
    }
    return 0;
}

static int iommu_state_check_header(const Iommu *mmu, const IommuStateHeader *h,
                                    size_t size, SlError *err)
{
    uint64_t need;

    if (h->magic != IOMMU_STATE_MAGIC) {
        return iommu_state_bad(err, "magic", "\"SLIOMMU1\"");
    }
    if (h->ram_frames != mmu->ram_frames) {
        return iommu_state_bad(err, "ram_frames", "the RAM size this IOMMU was created with");
    }
    if (h->mode > IOMMU_MODE_LAZY || h->fq_max == 0 || h->fq_max > (1u << 20) ||
        h->fault_max == 0 || h->fault_max > (1u << 20) || h->fq_count >= h->fq_max ||
        h->fault_count > h->fault_max || h->ndomains > 65536 ||
        h->ntables >= IOMMU_TABLE_NONE || h->frames_pinned > h->ram_frames ||
        h->stop_requested > 1 || h->fq_window_ns == 0 || h->pins_deferred != h->fq_count ||
        (h->table_free != IOMMU_TABLE_NONE && h->table_free >= h->ntables)) {
        return iommu_state_bad(err, "header", "counts within their bounds");
    }
    need = sizeof(*h) + sizeof(IommuStats) + h->ndomains * sizeof(IommuDomain) +
           h->ntables * sizeof(IommuTable) + sizeof(mmu->tlb) + sizeof(mmu->tlb_victim) +
           h->fq_count * sizeof(IommuFlushEntry) + h->fault_count * sizeof(IommuFault) +
           h->frames_pinned * sizeof(IommuPinPair);
    if (h->size != need || size != need) {
        return iommu_state_bad(err, "size", "the size its header implies");
    }
    return 0;
}

static int iommu_state_alloc(IommuStateNew *n, const IommuStateHeader *h)
{
    n->domains = malloc((h->ndomains ? h->ndomains : 1) * sizeof(IommuDomain));
    n->tables = malloc((h->ntables ? h->ntables : 1) * sizeof(IommuTable));
    n->pin = calloc(h->ram_frames, sizeof(uint32_t));
    n->calc = calloc(h->ram_frames, sizeof(uint32_t));
    n->seen = calloc(h->ntables ? h->ntables : 1, 1);
    n->rid_slot = calloc(65536, sizeof(uint16_t));
    n->fq = calloc(h->fq_max, sizeof(IommuFlushEntry));
    n->faults = calloc(h->fault_max, sizeof(IommuFault));
    return n->domains && n->tables && n->pin && n->calc && n->seen && n->rid_slot && n->fq &&
                   n->faults
               ? 0
               : -ENOMEM;
}

static void iommu_state_get(const uint8_t **p, void *dst, size_t n)
{
    if (n) {
        memcpy(dst, *p, n);
    }
    *p += n;
}

/* Moves the checked new state into mmu and leaves the old one in n. */
static void iommu_state_swap(Iommu *mmu, IommuStateNew *n, const IommuStateHeader *h,
                             const IommuStats *stats, const IommuTlbEntry *tlb,
                             const uint8_t *victim)
{
    IommuDomain *d = mmu->domains;
    IommuTable *t = mmu->tables;
    uint32_t *pin = mmu->pin;
    uint16_t *rs = mmu->rid_slot;
    IommuFlushEntry *fq = mmu->fq;
    IommuFault *faults = mmu->faults;

    mmu->domains = n->domains;
    mmu->domains_cap = h->ndomains ? (uint32_t)h->ndomains : 1;
    mmu->tables = n->tables;
    mmu->tables_cap = h->ntables ? (uint32_t)h->ntables : 1;
    mmu->pin = n->pin;
    mmu->rid_slot = n->rid_slot;
    mmu->fq = n->fq;
    mmu->faults = n->faults;
    n->domains = d;
    n->tables = t;
    n->pin = pin;
    n->rid_slot = rs;
    n->fq = fq;
    n->faults = faults;
    mmu->mode = (uint32_t)h->mode;
    mmu->fq_max = (uint32_t)h->fq_max;
    mmu->fq_window_ns = h->fq_window_ns;
    mmu->fault_max = (uint32_t)h->fault_max;
    mmu->bound_global = h->bound_global;
    mmu->bound_domain_default = h->bound_domain_default;
    mmu->now_ns = h->now_ns;
    mmu->ndomains = (uint32_t)h->ndomains;
    mmu->ntables = (uint32_t)h->ntables;
    mmu->table_free = (uint32_t)h->table_free;
    mmu->pins = h->pins;
    mmu->pins_deferred = h->pins_deferred;
    mmu->frames_pinned = h->frames_pinned;
    mmu->fq_head = 0;
    mmu->fq_count = (uint32_t)h->fq_count;
    mmu->fault_head = 0;
    mmu->fault_count = (uint32_t)h->fault_count;
    mmu->fault_seq = h->fault_seq;
    mmu->stop_requested = (uint32_t)h->stop_requested;
    mmu->stats = *stats;
    memcpy(mmu->tlb, tlb, sizeof(mmu->tlb));
    memcpy(mmu->tlb_victim, victim, sizeof(mmu->tlb_victim));
}

int iommu_state_restore(Iommu *mmu, const void *buf, size_t size, SlError *err)
{
    const uint8_t *p = buf;
    IommuStateHeader h;
    IommuStats stats;
    const uint8_t *tlb, *victim;
    const IommuPinPair *pairs;
    IommuPinPair *pair_copy = NULL;
    IommuStateNew n;
    int rc;

    memset(&n, 0, sizeof(n));
    if (size < sizeof(h)) {
        return iommu_state_bad(err, "size", "at least a header");
    }
    iommu_state_get(&p, &h, sizeof(h));
    rc = iommu_state_check_header(mmu, &h, size, err);
    if (rc) {
        return rc;
    }
    rc = iommu_state_alloc(&n, &h);
    pair_copy = malloc((h.frames_pinned ? h.frames_pinned : 1) * sizeof(*pair_copy));
    if (rc || !pair_copy) {
        rc = sl_error(err, -ENOMEM, "iommu state: out of memory restoring");
        goto out;
    }
    iommu_state_get(&p, &stats, sizeof(stats));
    iommu_state_get(&p, n.domains, h.ndomains * sizeof(IommuDomain));
    iommu_state_get(&p, n.tables, h.ntables * sizeof(IommuTable));
    /* The blob may be unaligned: the IOTLB is copied out below, before any
     * field of it is read. */
    tlb = p;
    p += sizeof(mmu->tlb);
    victim = p;
    p += sizeof(mmu->tlb_victim);
    iommu_state_get(&p, n.fq, h.fq_count * sizeof(IommuFlushEntry));
    iommu_state_get(&p, n.faults, h.fault_count * sizeof(IommuFault));
    iommu_state_get(&p, pair_copy, h.frames_pinned * sizeof(IommuPinPair));
    pairs = pair_copy;
    {
        IommuTlbEntry tlb_copy[IOMMU_TLB_SETS * IOMMU_TLB_WAYS];

        memcpy(tlb_copy, tlb, sizeof(tlb_copy));
        rc = iommu_state_check_domains(&n, &h, err);
        if (rc == 0) {
            rc = iommu_state_check_rest(&n, &h, tlb_copy, victim, pairs, err);
        }
        if (rc == 0) {
            iommu_state_swap(mmu, &n, &h, &stats, tlb_copy, victim);
        }
    }
out:
    free(pair_copy);
    iommu_state_new_free(&n);
    return rc;
}
