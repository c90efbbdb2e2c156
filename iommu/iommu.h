/*
 * iommu/iommu.h: the software IOMMU (BRIEF §4 "IOMMU").
 *
 * One domain per PCI requester id (bus << 8 | devfn).  A domain owns a
 * 4-level radix page table (512 entries a level, 4 KiB granule, 48-bit IOVA
 * space) mapping IOVA pages to guest-physical frames with read/write
 * permission.  Guest RAM is one host buffer handed over at creation; every
 * mapped frame lies inside it and is pinned while any mapping (or any
 * deferred invalidation) can still reach it.
 *
 * Device accesses go through iommu/dma_port.h.  They are translated by an
 * IOTLB (2-way set associative, tagged by requester id) and then by the page
 * table; a failed check becomes a fault record, never a silent zero.
 *
 * Invalidation modes:
 *   strict  unmap invalidates the IOTLB at once; a later access faults
 *           IOMMU_REASON_NOT_MAPPED.
 *   lazy    unmap clears the page table and queues the invalidation (a model
 *           of Linux's dma-iommu flush queue).  The queue drains when it holds
 *           flush_queue_max pages or when flush_window_ns of virtual time has
 *           passed since its oldest entry.  Until then a cached translation
 *           still works -- as on hardware -- and each such access is recorded
 *           as IOMMU_REASON_STALE_IOTLB.  The frames stay pinned (and charged
 *           to the bounds) until the drain, because the device can still
 *           reach them.
 *
 * Requests from the kernel side (map/unmap) are decode-then-invoke: a call
 * that returns an error changed nothing, not even a report.  Turning such a
 * failure into a fault record is the caller's decision: see
 * iommu_fault_report_map().
 *
 * Alignment rule: IOVA, phys and len of map/unmap must be multiples of
 * IOMMU_PAGE_SIZE and len non-zero; anything else is -EINVAL (never rounded,
 * so a caller's arithmetic error is not silently widened into a mapping).
 *
 * Time is virtual: the caller sets it (iommu_set_time/iommu_advance_time);
 * the IOMMU never reads a host clock.
 */
#ifndef IOMMU_IOMMU_H
#define IOMMU_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>

#include "base/error.h"

#define IOMMU_PAGE_SHIFT     12
#define IOMMU_PAGE_SIZE      (1ull << IOMMU_PAGE_SHIFT)
#define IOMMU_IOVA_BITS      48
#define IOMMU_IOVA_LIMIT     (1ull << IOMMU_IOVA_BITS)
#define IOMMU_NAME_MAX       32   /* domain name, NUL included */
#define IOMMU_NOTES_PER_DOMAIN 16 /* recent "register got address" notes */

/* Linux's IOVA_FQ_SIZE and IOVA_FQ_TIMEOUT (drivers/iommu/dma-iommu.c). */
#define IOMMU_FLUSH_QUEUE_DEFAULT 256
#define IOMMU_FLUSH_WINDOW_DEFAULT_NS 10000000ull
#define IOMMU_FAULT_QUEUE_DEFAULT 64
#define IOMMU_PIN_UNBOUNDED  UINT64_MAX

/* Error codes of map requests that exceed a pin bound (the driver sees
 * dma_mapping_error()). */
#define IOMMU_ERR_DOMAIN_BOUND (-ENOSPC)
#define IOMMU_ERR_GLOBAL_BOUND (-EDQUOT)

typedef struct Iommu Iommu;

typedef enum IommuMode {
    IOMMU_MODE_STRICT = 0,
    IOMMU_MODE_LAZY,
} IommuMode;

/* Permission bits of a mapping. */
enum {
    IOMMU_PERM_READ = 1u,  /* the device may read the frame (DMA to device) */
    IOMMU_PERM_WRITE = 2u, /* the device may write the frame */
};

/* Direction of a device access, from the device's point of view. */
typedef enum IommuDir {
    IOMMU_DIR_READ = 0,
    IOMMU_DIR_WRITE,
} IommuDir;

typedef enum IommuReason {
    IOMMU_REASON_NONE = 0,
    IOMMU_REASON_NO_DOMAIN,     /* requester has no domain attached */
    IOMMU_REASON_NOT_MAPPED,    /* no translation for the IOVA page */
    IOMMU_REASON_PERMISSION,    /* mapped, but not for this direction */
    IOMMU_REASON_STALE_IOTLB,   /* completed only through a stale IOTLB entry */
    IOMMU_REASON_OUT_OF_RANGE,  /* IOVA beyond the 48-bit space, or (off
                                   mode) beyond guest RAM */
    IOMMU_REASON_DOMAIN_BOUND,  /* map refused: domain pin bound */
    IOMMU_REASON_GLOBAL_BOUND,  /* map refused: global pin bound */
    IOMMU_REASON_BAD_MAP,       /* map/unmap refused for another reason */
    IOMMU_REASON_COUNT
} IommuReason;

/* What the fault hook wants done.  Either way the faulting access itself is
 * aborted (a stale-IOTLB access has already completed). */
typedef enum IommuAction {
    IOMMU_ACTION_ABORT = 0, /* report, abort the DMA, run on */
    IOMMU_ACTION_STOP,      /* also ask the machine to stop for a debugger */
} IommuAction;

/* One fault record.  Plain data: no host pointers, saved with the state. */
typedef struct IommuFault {
    uint64_t seq;        /* 0, 1, 2 ... over the IOMMU's life */
    uint64_t time_ns;    /* virtual time of the access */
    uint64_t iova;       /* first byte that faulted */
    uint64_t len;        /* bytes of the access from iova on */
    uint64_t rip;        /* driver instruction that supplied the address */
    uint64_t rip_value;  /* the value that instruction wrote */
    uint16_t rid;        /* requester id: bus << 8 | devfn */
    uint8_t dir;         /* IommuDir */
    uint8_t reason;      /* IommuReason */
    uint8_t rip_known;   /* rip/rip_value are valid */
    uint8_t pad[3];
    char name[IOMMU_NAME_MAX]; /* domain name at the time, "" if none */
} IommuFault;

typedef IommuAction (*IommuFaultHook)(void *opaque, const IommuFault *f);
/* See iommu_set_pin_hook() and iommu_set_write_hook(). */
typedef void (*IommuFramePinHook)(void *opaque, uint64_t pfn, bool pinned);
typedef void (*IommuWriteHook)(void *opaque, uint64_t phys, uint64_t len);

typedef struct IommuConfig {
    void *ram;                  /* guest RAM, host side; not owned */
    uint64_t ram_size;          /* bytes, a multiple of IOMMU_PAGE_SIZE */
    IommuMode mode;
    uint32_t flush_queue_max;   /* lazy: pages queued before a drain; 0 = default */
    uint64_t flush_window_ns;   /* lazy: drain age; 0 = default */
    uint32_t fault_queue_max;   /* records kept before dropping; 0 = default */
    uint64_t pin_bound_global;  /* pinned pages, all domains; IOMMU_PIN_UNBOUNDED */
    uint64_t pin_bound_domain;  /* default bound for iommu_attach() */
} IommuConfig;

typedef struct IommuStats {
    uint64_t map_calls, unmap_calls;
    uint64_t pages_mapped, pages_unmapped;
    uint64_t pins_now, pins_peak;     /* pinned pages, deferred ones included */
    uint64_t iotlb_hits, iotlb_misses, iotlb_invalidations;
    uint64_t flushes;                 /* flush-queue drains */
    uint64_t faults[IOMMU_REASON_COUNT];
    uint64_t faults_dropped;          /* recorded while the queue was full */
} IommuStats;

/* --- lifetime, time ----------------------------------------------------- */

/* Fills cfg with defaults (strict, unbounded, Linux's flush-queue sizes). */
void iommu_config_default(IommuConfig *cfg, void *ram, uint64_t ram_size);
/* Creates an IOMMU; a bad config is a host error: -EINVAL and a message. */
int iommu_new(const IommuConfig *cfg, Iommu **out, SlError *err);
void iommu_free(Iommu *mmu);
IommuMode iommu_mode(const Iommu *mmu);
uint64_t iommu_ram_size(const Iommu *mmu);

/* Virtual time.  Time never goes back (an earlier ns is ignored).  Either
 * call may drain the lazy flush queue when its window has passed. */
void iommu_set_time(Iommu *mmu, uint64_t ns);
void iommu_advance_time(Iommu *mmu, uint64_t delta_ns);
uint64_t iommu_time(const Iommu *mmu);

/* --- domains ------------------------------------------------------------- */

/* Gives requester rid a fresh empty domain named name (for reports) with the
 * config's default pin bound.  -EEXIST if rid already has one, -EINVAL if
 * name is empty or too long. */
int iommu_attach(Iommu *mmu, uint16_t rid, const char *name);
/* Removes rid's domain: every mapping goes (deferred invalidations of this
 * domain are completed), its pins are released, its IOTLB entries
 * invalidated.  Later accesses fault IOMMU_REASON_NO_DOMAIN.  -ENOENT if
 * none. */
int iommu_detach(Iommu *mmu, uint16_t rid);
bool iommu_is_attached(const Iommu *mmu, uint16_t rid);
/* Name of rid's domain, or NULL. */
const char *iommu_domain_name(const Iommu *mmu, uint16_t rid);
/* Changes rid's pin bound (pages).  -EBUSY if rid already holds more. */
int iommu_set_domain_bound(Iommu *mmu, uint16_t rid, uint64_t pages);
/* Pinned pages charged to rid (deferred ones included), 0 if none. */
uint64_t iommu_domain_pins(const Iommu *mmu, uint16_t rid);

/* --- mappings (kernel side) ---------------------------------------------- */

/* Maps [iova, iova+len) to [phys, phys+len) with perms, pinning each frame.
 * All or nothing.  Errors: -EINVAL (alignment, len 0, perms empty or
 * unknown), -ERANGE (IOVA beyond 48 bits, phys beyond RAM), -ENOENT (no
 * domain), -EEXIST (a page already mapped), IOMMU_ERR_DOMAIN_BOUND,
 * IOMMU_ERR_GLOBAL_BOUND, -ENOMEM. */
int iommu_map_range(Iommu *mmu, uint16_t rid, uint64_t iova, uint64_t phys,
                    uint64_t len, unsigned perms);
int iommu_map(Iommu *mmu, uint16_t rid, uint64_t iova, uint64_t phys, unsigned perms);
/* Unmaps [iova, iova+len).  All or nothing: -ENOENT if any page is not
 * mapped (or no domain), -EINVAL/-ERANGE as for map. */
int iommu_unmap_range(Iommu *mmu, uint16_t rid, uint64_t iova, uint64_t len);
int iommu_unmap(Iommu *mmu, uint16_t rid, uint64_t iova);

/* Page-table lookup without side effects (debugger, tests): 0 and phys (with
 * the page offset) and perms, or -ENOENT / -ERANGE. */
int iommu_lookup(const Iommu *mmu, uint16_t rid, uint64_t iova,
                 uint64_t *phys, unsigned *perms);

/* Device-path translation of one address: IOTLB, then page table; counts
 * hits/misses and records a fault as a one-byte access would.  Returns 0 with
 * phys (a stale-IOTLB hit also returns 0, and is recorded), -EFAULT or
 * -EACCES. */
int iommu_translate(Iommu *mmu, uint16_t rid, uint64_t iova, IommuDir dir,
                    uint64_t *phys);

/* --- invalidation -------------------------------------------------------- */

/* Completes every deferred invalidation now (lazy mode), releasing their
 * pins. */
void iommu_flush(Iommu *mmu);
/* Drops every IOTLB entry (deferred invalidations stay queued: their pins
 * are still released only by the drain). */
void iommu_invalidate_all(Iommu *mmu);
/* Pages waiting in the flush queue. */
uint32_t iommu_flush_pending(const Iommu *mmu);

/* --- pins ---------------------------------------------------------------- */

/* Whether any mapping, live or awaiting invalidation, pins the frame holding
 * phys.  The kernel's allocator must not free or reuse such a frame. */
bool iommu_frame_is_pinned(const Iommu *mmu, uint64_t phys);
uint32_t iommu_frame_pin_count(const Iommu *mmu, uint64_t phys);
uint64_t iommu_pins(const Iommu *mmu);

/* --- notification hooks (wiring for the kernel layer) ------------------- */

/*
 * Both hooks are wiring, like the fault hook: NULL (the default) means none,
 * setting one replaces the previous one, neither is saved, and
 * iommu_state_restore() keeps them.  A hook runs synchronously inside the
 * IOMMU call that caused it and must not call back into the IOMMU or a
 * DmaPort (reading iommu_frame_pin_count() is fine).
 */

/* fn(opaque, pfn, pinned) runs when guest frame pfn (phys >> IOMMU_PAGE_SHIFT)
 * becomes pinned -- its pin count over all domains goes 0 -> 1, pinned=true
 * -- and when it stops being pinned -- 1 -> 0, pinned=false; the count has
 * already changed when fn runs.  A frame mapped twice is reported once each
 * way.  Unpinning is reported wherever it happens: a strict unmap, the drain
 * of the lazy flush queue (full queue, window passed on iommu_set_time /
 * iommu_advance_time, iommu_flush, a map that needed room, a detach) and a
 * detach's own mappings.  So in lazy mode an unmapped frame is reported
 * unpinned only at the drain, when the device can no longer reach it.
 * Not called for a refused request (it changed nothing), nor by
 * iommu_state_restore() (the state is replaced wholesale: the caller restores
 * its own side of the pins from its own snapshot, or rebuilds it with
 * iommu_frame_pin_count()), nor by iommu_free(). */
void iommu_set_pin_hook(Iommu *mmu, IommuFramePinHook fn, void *opaque);

/* fn(opaque, phys, len) runs after a device write through a DmaPort
 * (dma_write(), translated or DMA_PORT_OFF) has put bytes in guest RAM, with
 * the guest-physical range written: one call per physically contiguous piece,
 * in IOVA order (a write across IOVA pages mapped to non-adjacent frames gives
 * one call per run of adjacent frames).  len is never 0.  A write completed
 * through a stale IOTLB entry (lazy mode) did reach RAM and is reported.  Not
 * called for reads, for faulted writes (nothing moved: see dma_port.h), for
 * zero-length writes, nor for guest RAM written other than by a device
 * (the caller's own stores, iommu_state_restore()).  Meant for dirty
 * tracking; the hit path pays one NULL test when no hook is set. */
void iommu_set_write_hook(Iommu *mmu, IommuWriteHook fn, void *opaque);

/* --- faults -------------------------------------------------------------- */

/* Notes that a driver instruction at rip wrote value (an address the device
 * will use; len bytes from it, 0 if unknown) into a device register of rid.
 * Kept in a small per-domain ring; a later fault whose IOVA lies in
 * [value, value+len) or in value's page names rip.  -ENOENT if no domain. */
int iommu_note_address(Iommu *mmu, uint16_t rid, uint64_t value, uint64_t len,
                       uint64_t rip);
/* Records that a map request of rid failed with err (a code returned by
 * iommu_map_range).  Returns the hook's action. */
IommuAction iommu_fault_report_map(Iommu *mmu, uint16_t rid, uint64_t iova,
                                   uint64_t len, int err);
/* The hook sees every fault as it is recorded (dropped ones included). */
void iommu_set_fault_hook(Iommu *mmu, IommuFaultHook hook, void *opaque);
/* Oldest record not yet popped: 1 and *out, or 0 when the queue is empty. */
int iommu_fault_pop(Iommu *mmu, IommuFault *out);
uint32_t iommu_fault_count(const Iommu *mmu);
/* Whether a hook asked to stop since the last call; clears the request. */
bool iommu_take_stop_request(Iommu *mmu);

/* "not-mapped", "stale-iotlb", ... */
const char *iommu_reason_name(IommuReason r);
/* `iommu: <what happened> [key=...] ...`, no newline.  Returns the length
 * snprintf would have written. */
int iommu_fault_format(const IommuFault *f, char *buf, size_t size);
/* The same fields as one JSON object. */
int iommu_fault_format_json(const IommuFault *f, char *buf, size_t size);

/* --- statistics ---------------------------------------------------------- */

void iommu_stats(const Iommu *mmu, IommuStats *out);
/* The exit summary: a few `iommu: ...` lines. */
void iommu_print_summary(const Iommu *mmu, FILE *out);

/* --- snapshot ------------------------------------------------------------ */

/* The whole state as a flat blob without host pointers: domains (names,
 * bounds, notes), page tables, pin counts, IOTLB contents (saved, not
 * invalidated, so a restored run replays hit for hit), flush queue, time,
 * counters, fault queue, pending stop request, and the config values
 * (mode, bounds, queue sizes) -- restore adopts them.  Only the RAM size must
 * match.  Wiring (RAM pointer, fault, pin and write hooks) is kept, never
 * saved; restore runs none of the hooks.  Saving scans one pin counter per
 * RAM frame. */
size_t iommu_state_size(const Iommu *mmu);
/* Writes the blob; returns its size or -ENOSPC if size is too small. */
long iommu_state_save(const Iommu *mmu, void *buf, size_t size);
/* Replaces the state with a saved one.  A malformed blob is refused with a
 * message and leaves the IOMMU as it was. */
int iommu_state_restore(Iommu *mmu, const void *buf, size_t size, SlError *err);

#endif
