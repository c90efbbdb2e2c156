/*
 * iommu/iommu_fault.c: fault records, the bounded fault queue, the policy
 * hook, and the notes that name the driver instruction behind an address.
 *
 * The queue keeps the oldest records and drops new ones when full (like
 * VT-d's primary fault overflow): the first fault of a run is the one worth
 * debugging.  Counters and the hook see every fault, dropped or not.
 *
 * Notes: the machine tells us "the instruction at rip wrote value into a
 * register of device rid" for every register write that may carry an
 * address.  A fault is matched against the newest notes first: either the
 * IOVA lies in [value, value+len) (a ring base and its size) or in the page
 * of value (a buffer address whose length we were not told).
 */
#include "iommu/iommu_internal.h"

#include <string.h>

int iommu_note_address(Iommu *mmu, uint16_t rid, uint64_t value, uint64_t len,
                       uint64_t rip)
{
    IommuDomain *dom = iommu_domain_find(mmu, rid);
    IommuNote *n;

    if (!dom) {
        return -ENOENT;
    }
    n = &dom->notes[dom->note_next];
    n->value = value;
    n->len = len;
    n->rip = rip;
    dom->note_next = (dom->note_next + 1) % IOMMU_NOTES_PER_DOMAIN;
    if (dom->note_count < IOMMU_NOTES_PER_DOMAIN) {
        dom->note_count++;
    }
    return 0;
}

static bool iommu_fault_note_matches(const IommuNote *n, uint64_t iova)
{
    if (n->len && iova >= n->value && iova - n->value < n->len) {
        return true;
    }
    return (n->value >> IOMMU_PAGE_SHIFT) == (iova >> IOMMU_PAGE_SHIFT);
}

static void iommu_fault_find_rip(const IommuDomain *dom, IommuFault *f)
{
    unsigned i, pos;
    const IommuNote *n;

    for (i = 0; i < dom->note_count; i++) {
        pos = (dom->note_next + IOMMU_NOTES_PER_DOMAIN - 1 - i) % IOMMU_NOTES_PER_DOMAIN;
        n = &dom->notes[pos];
        if (iommu_fault_note_matches(n, f->iova)) {
            f->rip = n->rip;
            f->rip_value = n->value;
            f->rip_known = 1;
            return;
        }
    }
}

IommuAction iommu_fault_record(Iommu *mmu, uint16_t rid, uint64_t iova,
                               uint64_t len, IommuDir dir, IommuReason why)
{
    const IommuDomain *dom = iommu_domain_find(mmu, rid);
    IommuFault f;
    IommuAction act = IOMMU_ACTION_ABORT;

    memset(&f, 0, sizeof(f));
    f.seq = mmu->fault_seq++;
    f.time_ns = mmu->now_ns;
    f.iova = iova;
    f.len = len;
    f.rid = rid;
    f.dir = (uint8_t)dir;
    f.reason = (uint8_t)why;
    if (dom) {
        memcpy(f.name, dom->name, sizeof(f.name));
        iommu_fault_find_rip(dom, &f);
    }
    mmu->stats.faults[why]++;
    if (mmu->fault_count < mmu->fault_max) {
        mmu->faults[(mmu->fault_head + mmu->fault_count) % mmu->fault_max] = f;
        mmu->fault_count++;
    } else {
        mmu->stats.faults_dropped++;
    }
    if (mmu->hook) {
        act = mmu->hook(mmu->hook_opaque, &f);
    }
    if (act == IOMMU_ACTION_STOP) {
        mmu->stop_requested = 1;
    }
    return act;
}

IommuAction iommu_fault_report_map(Iommu *mmu, uint16_t rid, uint64_t iova,
                                   uint64_t len, int err)
{
    IommuReason why;

    switch (err) {
    case IOMMU_ERR_DOMAIN_BOUND:
        why = IOMMU_REASON_DOMAIN_BOUND;
        break;
    case IOMMU_ERR_GLOBAL_BOUND:
        why = IOMMU_REASON_GLOBAL_BOUND;
        break;
    case -ERANGE:
        why = IOMMU_REASON_OUT_OF_RANGE;
        break;
    case -ENOENT:
        why = iommu_domain_find(mmu, rid) ? IOMMU_REASON_BAD_MAP : IOMMU_REASON_NO_DOMAIN;
        break;
    default:
        why = IOMMU_REASON_BAD_MAP;
        break;
    }
    /* A map request is the driver granting the device access: direction is
     * reported as write, the stronger of the two. */
    return iommu_fault_record(mmu, rid, iova, len, IOMMU_DIR_WRITE, why);
}

void iommu_set_fault_hook(Iommu *mmu, IommuFaultHook hook, void *opaque)
{
    mmu->hook = hook;
    mmu->hook_opaque = opaque;
}

int iommu_fault_pop(Iommu *mmu, IommuFault *out)
{
    if (mmu->fault_count == 0) {
        return 0;
    }
    *out = mmu->faults[mmu->fault_head];
    mmu->fault_head = (mmu->fault_head + 1) % mmu->fault_max;
    mmu->fault_count--;
    return 1;
}

uint32_t iommu_fault_count(const Iommu *mmu)
{
    return mmu->fault_count;
}

bool iommu_take_stop_request(Iommu *mmu)
{
    bool stop = mmu->stop_requested != 0;

    mmu->stop_requested = 0;
    return stop;
}
