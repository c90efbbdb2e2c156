/*
 * kernel-guest/dma_debug.c: the DMA-API checker (see dma_debug.h).
 *
 * The checks and their texts follow Linux 6.1 kernel/dma/debug.c
 * (check_unmap, check_sync, check_for_stack, the unbind notifier); the
 * code is sluice's own.  Where sluice differs from Linux it says so below:
 *
 *  - The live table is entries[], kept dense and sorted by (rid, iova):
 *    entries[0..n) are used, the rest zero.  Exact lookups (unmap,
 *    dma_mapping_error) and "which mapping holds this address" lookups
 *    (sync, device access) are binary searches; map and unmap move the
 *    tail, which for the few hundred mappings of a NIC's rings is a short
 *    memmove.  Sorted plain data also saves and restores as it is.
 *  - Linux's sync lookup only finds a mapping that contains the whole
 *    synced range, so its "outside allocated range" check can never fire
 *    (such a sync is reported as "not allocated").  Here the mapping that
 *    holds the first synced byte is found, and a range running past its
 *    end is DMA_DBG_SYNC_OUTSIDE with [sync offset+size] as Linux means it.
 *  - Linux prints the stack address with %p (hashed); sluice has nothing
 *    to hide from itself and prints it as 0x%016llx.
 *  - "different CPU address": Linux compares and prints the physical
 *    addresses behind the two CPU pointers; sluice compares and prints the
 *    CPU (direct-map) addresses the driver passed, which in a direct map
 *    is the same comparison and names what the driver actually wrote.
 *  - Linux follows a wrong sync direction with a second warning ("syncs
 *    device read-only DMA memory for cpu" / "write-only ... to device").
 *    Both only fire together with "different direction" for any mapping
 *    the DMA API accepts (it refuses DMA_NONE), so one report is made.
 *  - At unbind Linux only reports the leaked entries.  Here they are also
 *    forgotten (the kernel reclaims them) and moved to the recent-unmap
 *    ring, so a device still using them is reported as use after unmap.
 *
 * The sink must not call back into the checker: it runs while an entry
 * is being examined.  Reports become text and JSON in dma_debug_format.c.
 */
#include "kernel-guest/dma_debug.h"

#include <errno.h>
#include <string.h>

#define DMA_DEBUG_ADDR_ERROR UINT64_MAX     /* DMA_MAPPING_ERROR, ~(dma_addr_t)0 */
#define DMA_DEBUG_ALL_RIDS 0xffffu

/* ---- the live table ---------------------------------------------------- */

static bool dma_debug_is_streaming(unsigned type)
{
    return type != DMA_DBG_TYPE_COHERENT;
}

/* Linux tracks dma_mapping_error() only for dma_map_single/page. */
static bool dma_debug_needs_map_check(unsigned type)
{
    return type == DMA_DBG_TYPE_SINGLE || type == DMA_DBG_TYPE_PAGE;
}

/* Live entries: the used prefix, found by bisection. */
static unsigned dma_debug_count(const DmaDebug *d)
{
    unsigned lo = 0, hi = DMA_DEBUG_MAX_ENTRIES;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (d->entries[mid].used) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* m's key is before (rid, iova), or with or_equal, not after it. */
static bool dma_debug_key_before(const DmaDbgMap *m, uint16_t rid, uint64_t iova, bool or_equal)
{
    return m->rid < rid || (m->rid == rid && (m->iova < iova || (or_equal && m->iova == iova)));
}

/* First index in [0, n) whose key is >= (rid, iova), or with strict, > it. */
static unsigned dma_debug_bound(const DmaDebug *d, unsigned n, uint16_t rid, uint64_t iova,
                                bool strict)
{
    unsigned lo = 0, hi = n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const DmaDbgMap *m = &d->entries[mid].map;

        if (dma_debug_key_before(m, rid, iova, strict)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/*
 * The entry an unmap refers to, as Linux's bucket_find_exact: among the
 * live mappings at (rid, iova), the only one, or else the one that agrees
 * on size, type, direction and sg count; several without such a perfect
 * fit mean none (Linux then reports "not allocated").
 */
static int dma_debug_find_exact(const DmaDebug *d, unsigned n, const DmaDbgMap *ref)
{
    unsigned lo = dma_debug_bound(d, n, ref->rid, ref->iova, false);
    unsigned hi = dma_debug_bound(d, n, ref->rid, ref->iova, true);

    if (hi - lo == 1) {
        return (int)lo;
    }
    for (unsigned i = lo; i < hi; i++) {
        const DmaDbgMap *m = &d->entries[i].map;

        if (m->len == ref->len && m->type == ref->type && m->dir == ref->dir &&
            m->sg_nents == ref->sg_nents) {
            return (int)i;
        }
    }
    return -1;
}

/* The live mapping of rid holding the byte at iova (nearest start first). */
static int dma_debug_find_holding(const DmaDebug *d, unsigned n, uint16_t rid, uint64_t iova)
{
    unsigned i = dma_debug_bound(d, n, rid, iova, true);

    while (i > 0 && d->entries[i - 1].map.rid == rid) {
        const DmaDbgMap *m = &d->entries[--i].map;

        if (iova - m->iova < m->len) {
            return (int)i;
        }
    }
    return -1;
}

static void dma_debug_remember_unmap(DmaDebug *d, const DmaDbgMap *m, uint64_t site)
{
    DmaDbgMap *slot = &d->recent_unmaps[d->recent_next % DMA_DEBUG_RECENT_UNMAPS];

    *slot = *m;
    slot->site = site;           /* the ring keeps who unmapped it */
    d->recent_next = (d->recent_next + 1) % DMA_DEBUG_RECENT_UNMAPS;
}

/* Drops entries [lo, hi), keeping the table dense and the tail zero. */
static void dma_debug_remove(DmaDebug *d, unsigned n, unsigned lo, unsigned hi)
{
    memmove(&d->entries[lo], &d->entries[hi], (n - hi) * sizeof(d->entries[0]));
    memset(&d->entries[n - (hi - lo)], 0, (hi - lo) * sizeof(d->entries[0]));
}

/* ---- reports ----------------------------------------------------------- */

static void dma_debug_emit(DmaDebug *d, const DmaDbgReport *base, DmaDbgError error)
{
    DmaDbgReport r = *base;

    r.error = (uint8_t)error;
    r.time_ns = d->time_ns;
    d->counts[error]++;
    if (d->sink) {
        d->sink(d->opaque, &r);
    }
}

/* The caller's side of a report: the address, size and direction the
 * driver passed (or the device used), and the driver's instruction. */
static void dma_debug_report_call(DmaDbgReport *r, uint16_t rid, uint64_t iova, uint64_t len,
                                  uint8_t dir, uint64_t site)
{
    r->rid = rid;
    r->iova = iova;
    r->other_size = len;
    r->other_dir = dir;
    r->site = site;
}

/* The mapping's side of a report. */
static void dma_debug_report_mapping(DmaDbgReport *r, const DmaDbgMap *m)
{
    r->rid = m->rid;
    r->map_size = m->len;
    r->map_type = m->type;
    r->map_dir = m->dir;
    r->map_cpu_addr = m->cpu_addr;
    r->map_nents = m->sg_nents;
    r->map_site = m->site;
}

void dma_debug_init(DmaDebug *d, DmaDbgSink sink, void *opaque)
{
    memset(d, 0, sizeof(*d));
    d->sink = sink;
    d->opaque = opaque;
}

void dma_debug_set_time(DmaDebug *d, uint64_t ns)
{
    d->time_ns = ns;
}

int dma_debug_map(DmaDebug *d, const DmaDbgMap *m, bool on_stack)
{
    unsigned n = dma_debug_count(d);
    unsigned pos;
    DmaDebugEntry *e;

    if (n == DMA_DEBUG_MAX_ENTRIES) {
        return -ENOSPC;
    }
    if (on_stack) {
        DmaDbgReport r = {0};

        dma_debug_report_mapping(&r, m);
        r.iova = m->iova;
        r.addr = m->cpu_addr;
        r.site = m->site;
        dma_debug_emit(d, &r, DMA_DBG_MAP_STACK);
    }
    /* After equal keys: a remapped address is unmapped in the same order. */
    pos = dma_debug_bound(d, n, m->rid, m->iova, true);
    memmove(&d->entries[pos + 1], &d->entries[pos], (n - pos) * sizeof(d->entries[0]));
    e = &d->entries[pos];
    memset(e, 0, sizeof(*e));
    e->map = *m;
    e->used = 1;
    e->device_owned = dma_debug_is_streaming(m->type);
    return 0;
}

void dma_debug_mapping_error(DmaDebug *d, uint16_t rid, uint64_t iova)
{
    unsigned n = dma_debug_count(d);
    unsigned hi = dma_debug_bound(d, n, rid, iova, true);

    /* Like Linux: the first mapping at that address still unchecked. */
    for (unsigned i = dma_debug_bound(d, n, rid, iova, false); i < hi; i++) {
        DmaDebugEntry *e = &d->entries[i];

        if (dma_debug_needs_map_check(e->map.type) && !e->map_err_checked) {
            e->map_err_checked = 1;
            return;
        }
    }
}

void dma_debug_unmap(DmaDebug *d, const DmaDbgMap *ref)
{
    unsigned n = dma_debug_count(d);
    int i = dma_debug_find_exact(d, n, ref);
    DmaDbgReport r = {0};
    const DmaDebugEntry *e;

    dma_debug_report_call(&r, ref->rid, ref->iova, ref->len, ref->dir, ref->site);
    r.other_type = ref->type;
    r.other_cpu_addr = ref->cpu_addr;
    r.other_nents = ref->sg_nents;
    if (i < 0) {
        dma_debug_emit(d, &r, ref->iova == DMA_DEBUG_ADDR_ERROR
                                  ? DMA_DBG_FREE_INVALID_ADDR : DMA_DBG_FREE_NOT_ALLOCATED);
        return;
    }
    e = &d->entries[i];
    dma_debug_report_mapping(&r, &e->map);
    /* The order of Linux's check_unmap. */
    if (ref->len != e->map.len) {
        dma_debug_emit(d, &r, DMA_DBG_FREE_WRONG_SIZE);
    }
    if (ref->type != e->map.type) {
        dma_debug_emit(d, &r, DMA_DBG_FREE_WRONG_TYPE);
    } else if (e->map.type == DMA_DBG_TYPE_COHERENT && ref->cpu_addr != e->map.cpu_addr) {
        dma_debug_emit(d, &r, DMA_DBG_FREE_WRONG_CPU_ADDR);
    }
    if (ref->sg_nents && ref->type == DMA_DBG_TYPE_SG && ref->sg_nents != e->map.sg_nents) {
        dma_debug_emit(d, &r, DMA_DBG_SG_WRONG_NENTS);
    }
    if (ref->dir != e->map.dir) {
        dma_debug_emit(d, &r, DMA_DBG_FREE_WRONG_DIR);
    }
    if (dma_debug_needs_map_check(e->map.type) && !e->map_err_checked) {
        dma_debug_emit(d, &r, DMA_DBG_MAP_ERROR_UNCHECKED);
    }
    dma_debug_remember_unmap(d, &e->map, ref->site);
    dma_debug_remove(d, n, (unsigned)i, (unsigned)i + 1);
}

void dma_debug_sync(DmaDebug *d, uint16_t rid, uint64_t iova, uint64_t len, uint8_t dir,
                    bool for_cpu, uint64_t site)
{
    unsigned n = dma_debug_count(d);
    int i = dma_debug_find_holding(d, n, rid, iova);
    DmaDbgReport r = {0};
    DmaDebugEntry *e;
    uint64_t end;

    dma_debug_report_call(&r, rid, iova, len, dir, site);
    if (i < 0) {
        dma_debug_emit(d, &r, DMA_DBG_SYNC_NOT_MAPPED);
        return;
    }
    e = &d->entries[i];
    dma_debug_report_mapping(&r, &e->map);
    end = iova - e->map.iova + len;
    if (end < len) {
        end = UINT64_MAX;        /* offset + size wrapped: surely outside */
    }
    if (end > e->map.len) {
        DmaDbgReport o = r;

        o.iova = e->map.iova;    /* Linux names the mapping here */
        o.other_size = end;
        dma_debug_emit(d, &o, DMA_DBG_SYNC_OUTSIDE);
    }
    if (e->map.dir != DMA_DBG_BIDIRECTIONAL && dir != e->map.dir) {
        dma_debug_emit(d, &r, DMA_DBG_SYNC_WRONG_DIR);
    }
    if (dma_debug_is_streaming(e->map.type)) {
        e->device_owned = !for_cpu;
    }
}

void dma_debug_unbind(DmaDebug *d, uint16_t rid, uint64_t site)
{
    unsigned n = dma_debug_count(d);
    unsigned lo = dma_debug_bound(d, n, rid, 0, false);
    unsigned hi = dma_debug_bound(d, n, rid, UINT64_MAX, true);
    DmaDbgReport r = {0};

    if (lo == hi) {
        return;
    }
    dma_debug_report_mapping(&r, &d->entries[lo].map);
    r.iova = d->entries[lo].map.iova;
    r.count = hi - lo;
    r.site = site;
    dma_debug_emit(d, &r, DMA_DBG_LEAKED_AT_UNBIND);
    for (unsigned i = lo; i < hi; i++) {
        dma_debug_remember_unmap(d, &d->entries[i].map, site);
    }
    dma_debug_remove(d, n, lo, hi);
}

void dma_debug_device_access(DmaDebug *d, uint16_t rid, uint64_t iova, uint64_t len,
                             bool write)
{
    unsigned n = dma_debug_count(d);
    int i = dma_debug_find_holding(d, n, rid, iova);
    DmaDbgReport r = {0};

    /* The access as a transfer: a device read moves data to the device.
     * No driver instruction made it. */
    dma_debug_report_call(&r, rid, iova, len, write ? DMA_DBG_FROM_DEVICE : DMA_DBG_TO_DEVICE,
                          0);
    if (i >= 0) {
        const DmaDbgMap *m = &d->entries[i].map;

        if (write && m->dir == DMA_DBG_TO_DEVICE) {
            dma_debug_report_mapping(&r, m);
            dma_debug_emit(d, &r, DMA_DBG_DEVICE_WROTE_TO_DEVICE);
        }
        return;
    }
    for (unsigned k = 1; k <= DMA_DEBUG_RECENT_UNMAPS; k++) {
        const DmaDbgMap *m = &d->recent_unmaps[(d->recent_next + DMA_DEBUG_RECENT_UNMAPS - k) %
                                               DMA_DEBUG_RECENT_UNMAPS];

        if (m->rid == rid && iova - m->iova < m->len) {
            dma_debug_report_mapping(&r, m);
            r.map_site = 0;      /* the ring keeps the unmapping site only */
            r.site = m->site;
            dma_debug_emit(d, &r, DMA_DBG_DEVICE_AFTER_UNMAP);
            return;
        }
    }
}

void dma_debug_cpu_write(DmaDebug *d, uint64_t pa, uint64_t len, uint64_t site)
{
    unsigned n = dma_debug_count(d);

    for (unsigned i = 0; i < n; i++) {
        const DmaDebugEntry *e = &d->entries[i];
        uint64_t start = pa > e->map.pa ? pa : e->map.pa;
        DmaDbgReport r = {0};

        if (!e->device_owned || !len || !e->map.len ||
            (pa - e->map.pa >= e->map.len && e->map.pa - pa >= len)) {
            continue;            /* not owned, or the ranges do not meet */
        }
        dma_debug_report_mapping(&r, &e->map);
        r.iova = e->map.iova + (start - e->map.pa);
        r.addr = pa;
        r.other_size = len;
        r.site = site;
        dma_debug_emit(d, &r, DMA_DBG_CPU_WROTE_DEVICE_OWNED);
        return;                  /* one store, one report */
    }
}

unsigned dma_debug_device_owned(const DmaDebug *d,
                                void (*fn)(void *opaque, uint64_t pa, uint64_t len),
                                void *opaque)
{
    unsigned n = dma_debug_count(d), found = 0;

    for (unsigned i = 0; i < n; i++) {
        if (d->entries[i].device_owned) {
            if (fn) {
                fn(opaque, d->entries[i].map.pa, d->entries[i].map.len);
            }
            found++;
        }
    }
    return found;
}

unsigned dma_debug_live(const DmaDebug *d, uint16_t rid)
{
    unsigned n = dma_debug_count(d);

    if (rid == DMA_DEBUG_ALL_RIDS) {
        return n;
    }
    return dma_debug_bound(d, n, rid, UINT64_MAX, true) - dma_debug_bound(d, n, rid, 0, false);
}
