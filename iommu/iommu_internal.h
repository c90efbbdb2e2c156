/*
 * iommu/iommu_internal.h: the IOMMU's state, shared by the files of iommu/.
 * Not for other folders: they use iommu/iommu.h and iommu/dma_port.h.
 *
 * Everything below "state" is plain data addressed by indexes, never by host
 * pointers, so iommu_state.c can save it as it is.  Saved structs are laid
 * out without padding (checked by static asserts) so blobs compare bytewise.
 */
#ifndef IOMMU_IOMMU_INTERNAL_H
#define IOMMU_IOMMU_INTERNAL_H

#include <assert.h>

#include "iommu/iommu.h"

#define IOMMU_PT_LEVELS   4
#define IOMMU_PT_BITS     9
#define IOMMU_PT_ENTRIES  (1u << IOMMU_PT_BITS)
#define IOMMU_TABLE_NONE  UINT32_MAX

/* A page-table entry.  Levels 3..1: PRESENT and the child table's index in
 * bits 12 and up.  Level 0 (leaf): PRESENT, READ, WRITE and the frame's
 * guest-physical address. */
#define IOMMU_PTE_PRESENT 0x1ull
#define IOMMU_PTE_READ    0x2ull
#define IOMMU_PTE_WRITE   0x4ull
#define IOMMU_PTE_ADDR    0x000ffffffffff000ull

#define IOMMU_TLB_SETS    512u  /* x 2 ways */
#define IOMMU_TLB_WAYS    2u
#define IOMMU_TLB_VALID   0x1u
#define IOMMU_TLB_STALE   0x2u  /* unmapped, invalidation still queued */

typedef struct IommuTable {
    uint64_t e[IOMMU_PT_ENTRIES];
} IommuTable;

typedef struct IommuNote {
    uint64_t value, len, rip;
} IommuNote;

typedef struct IommuDomain {
    uint64_t pin_bound;      /* pages */
    uint64_t pins;           /* pages charged, deferred ones included */
    uint64_t pins_deferred;  /* of which still in the flush queue */
    uint32_t root;           /* level-3 table */
    uint16_t rid;
    uint8_t used;            /* slot holds a domain */
    uint8_t note_count;
    uint32_t note_next;      /* ring position of the next note */
    uint32_t pad;
    char name[IOMMU_NAME_MAX];
    IommuNote notes[IOMMU_NOTES_PER_DOMAIN];
} IommuDomain;

typedef struct IommuTlbEntry {
    uint64_t iova_pfn;
    uint64_t phys_pfn;
    uint16_t rid;
    uint8_t perms;
    uint8_t flags;           /* IOMMU_TLB_VALID | IOMMU_TLB_STALE */
    uint32_t pad;
} IommuTlbEntry;

/* One deferred invalidation: a page unmapped in lazy mode. */
typedef struct IommuFlushEntry {
    uint64_t iova_pfn;
    uint64_t phys_pfn;
    uint64_t time_ns;        /* when it was queued */
    uint16_t rid;
    uint16_t pad[3];
} IommuFlushEntry;

static_assert(sizeof(IommuDomain) == 40 + IOMMU_NAME_MAX +
              IOMMU_NOTES_PER_DOMAIN * sizeof(IommuNote),
              "IommuDomain has no padding");
static_assert(sizeof(IommuTlbEntry) == 24, "IommuTlbEntry has no padding");
static_assert(sizeof(IommuFlushEntry) == 32, "IommuFlushEntry has no padding");
static_assert(sizeof(IommuFault) == 56 + IOMMU_NAME_MAX, "IommuFault has no padding");
static_assert(sizeof(IommuStats) % 8 == 0, "IommuStats is all uint64_t");

struct Iommu {
    /* Wiring: set by iommu_new() and the iommu_set_*_hook() calls, never
     * saved, kept by iommu_state_restore(). */
    uint8_t *ram;
    uint64_t ram_size;
    uint64_t ram_frames;
    IommuFaultHook hook;
    void *hook_opaque;
    IommuFramePinHook pin_hook; /* NULL = none; run by iommu_pins.c */
    void *pin_hook_opaque;
    IommuWriteHook write_hook; /* NULL = none; run by dma_port.c */
    void *write_hook_opaque;
    uint16_t *rid_slot;      /* [65536]: domain index + 1, 0 = none; derived */
    uint32_t tables_cap;     /* allocated tables (capacity, not state) */
    uint32_t domains_cap;

    /* Configuration (saved with the state). */
    uint32_t mode;           /* IommuMode */
    uint32_t fq_max;
    uint64_t fq_window_ns;
    uint32_t fault_max;
    uint64_t bound_global;
    uint64_t bound_domain_default;

    /* State. */
    uint64_t now_ns;
    IommuDomain *domains;    /* [ndomains], slots with used == 0 are free */
    uint32_t ndomains;
    IommuTable *tables;      /* [ntables] */
    uint32_t ntables;
    uint32_t table_free;     /* free list through e[0], IOMMU_TABLE_NONE */
    uint32_t *pin;           /* [ram_frames] pin count per frame */
    uint64_t pins;           /* sum of pin[] */
    uint64_t frames_pinned;  /* entries of pin[] that are non-zero */
    uint64_t pins_deferred;  /* of which held by the flush queue */
    IommuTlbEntry tlb[IOMMU_TLB_SETS][IOMMU_TLB_WAYS];
    uint8_t tlb_victim[IOMMU_TLB_SETS]; /* way the next fill replaces */
    IommuFlushEntry *fq;     /* ring [fq_max] */
    uint32_t fq_head, fq_count;
    IommuFault *faults;      /* ring [fault_max] */
    uint32_t fault_head, fault_count;
    uint64_t fault_seq;
    uint32_t stop_requested;
    IommuStats stats;
};

static inline IommuDomain *iommu_domain_find(const Iommu *mmu, uint16_t rid)
{
    uint16_t slot = mmu->rid_slot[rid];

    return slot ? &mmu->domains[slot - 1] : NULL;
}

/* iommu_pgtable.c */
int iommu_pgtable_reserve(Iommu *mmu, uint64_t iova, uint64_t npages);
uint32_t iommu_pgtable_alloc(Iommu *mmu);
uint64_t iommu_pgtable_get(const Iommu *mmu, uint32_t root, uint64_t iova);
uint64_t *iommu_pgtable_slot(Iommu *mmu, uint32_t root, uint64_t iova, bool create);
typedef void IommuLeafFn(Iommu *mmu, uint64_t iova, uint64_t pte, void *opaque);
void iommu_pgtable_destroy(Iommu *mmu, uint32_t root, IommuLeafFn *leaf, void *opaque);

/* iommu_iotlb.c.  The set index and the lookup are inline: they are the
 * hit path of every DMA. */
static inline unsigned iommu_iotlb_set_of(uint16_t rid, uint64_t iova_pfn)
{
    return (unsigned)(iova_pfn ^ ((uint64_t)rid * 0x9e5u)) & (IOMMU_TLB_SETS - 1);
}

static inline IommuTlbEntry *iommu_iotlb_lookup(Iommu *mmu, uint16_t rid, uint64_t iova_pfn)
{
    IommuTlbEntry *set = mmu->tlb[iommu_iotlb_set_of(rid, iova_pfn)];

    if ((set[0].flags & IOMMU_TLB_VALID) && set[0].iova_pfn == iova_pfn &&
        set[0].rid == rid) {
        return &set[0];
    }
    if ((set[1].flags & IOMMU_TLB_VALID) && set[1].iova_pfn == iova_pfn &&
        set[1].rid == rid) {
        return &set[1];
    }
    return NULL;
}

void iommu_iotlb_fill(Iommu *mmu, uint16_t rid, uint64_t iova_pfn,
                      uint64_t phys_pfn, unsigned perms);
void iommu_iotlb_invalidate_page(Iommu *mmu, uint16_t rid, uint64_t iova_pfn);
void iommu_iotlb_invalidate_domain(Iommu *mmu, uint16_t rid);
void iommu_iotlb_mark_stale(Iommu *mmu, uint16_t rid, uint64_t iova_pfn);

/* iommu_flushq.c */
void iommu_flushq_push(Iommu *mmu, uint16_t rid, uint64_t iova_pfn, uint64_t phys_pfn);
void iommu_flushq_drain(Iommu *mmu);
void iommu_flushq_tick(Iommu *mmu);

/* iommu_pins.c */
int iommu_pins_check(const Iommu *mmu, const IommuDomain *dom, uint64_t npages,
                     bool *need_drain);
void iommu_pins_take(Iommu *mmu, IommuDomain *dom, uint64_t phys_pfn);
void iommu_pins_drop(Iommu *mmu, IommuDomain *dom, uint64_t phys_pfn);

/* iommu_translate.c: one address on the device path; counts IOTLB
 * hits/misses, records nothing.  IOMMU_REASON_NONE or STALE_IOTLB mean
 * *phys is valid. */
IommuReason iommu_translate_page(Iommu *mmu, uint16_t rid, uint64_t iova,
                                 IommuDir dir, uint64_t *phys);

/* iommu_fault.c: completes f (seq, time, name, rip), queues it, counts it,
 * runs the hook. */
IommuAction iommu_fault_record(Iommu *mmu, uint16_t rid, uint64_t iova,
                               uint64_t len, IommuDir dir, IommuReason why);

#endif
