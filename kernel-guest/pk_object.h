/*
 * kernel-guest/pk_object.h: the persistent kernel's object table -- the
 * PkStore itself (pk_store.h) and the records every other pk_* file works on.
 *
 * One PkObj record per OID the store knows: resident or not, live or
 * destroyed (a destroyed object keeps its record as a tombstone, type
 * PK_OBJ_NONE, so its bumped allocation count survives and a stale
 * capability can never match a later object).  Records are found through a
 * chained hash table keyed by OID; everything is indices into fixed arrays
 * sized at pk_store_new(), so the whole table saves and restores as a flat
 * blob (pk_store_state_save).  The frame pool's bytes are not in that blob:
 * they are the caller's memory (guest RAM, saved with it).
 *
 * Placed frames.  The first cfg.nplaced frames of the pool are "placed":
 * frame f can hold only the object with OID cfg.placed_oid + f (a guest-
 * physical page the guest addresses by frame number).  A placed frame is
 * never on the free stack, never chosen by eviction and never taken for a
 * snapshot copy (except as the last resort of pk_cache_release, pk_cache.h);
 * its object is allocated into it (pk_bank_new_placed), loaded or installed
 * back into it, and when the object goes the frame is simply marked free
 * (frame_owner PK_FRAME_FREE) until that OID is allocated again.  General
 * frames [nplaced, nframes) work as before.  Nothing derived is kept: the
 * frame of a placed OID is arithmetic, its owner is frame_owner[].
 *
 * OIDs come from a deterministic counter (never reused in a run) starting
 * at PK_OID_FIRST; objects installed from disk push it past their OIDs.
 * The counter never hands out a placed OID: it jumps over the placed range
 * (a placed OID installed or allocated does not move it).
 */
#ifndef KERNEL_GUEST_PK_OBJECT_H
#define KERNEL_GUEST_PK_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "kernel-guest/pk_store.h"

#define PK_OID_FIRST 0x100u          /* below: reserved for the disk's own use */
#define PK_NODE_BYTES (PK_NODE_SLOTS * 16u)
#define PK_PENDING 1                 /* destroy deferred until the last I/O pin drops */
#define PK_FRAME_FREE (-1)           /* frame_owner: free (general frames: on the
                                      * free stack; placed frames: just unowned) */
/* frame_owner <= PK_FRAME_SNAP_BASE: a snapshot copy of object
 * (PK_FRAME_SNAP_BASE - owner); >= 0: the live frame of that object. */
#define PK_FRAME_SNAP_BASE (-2)

/* Resources a bank meters (pk_bank.h); in the store because records and
 * banks are one table. */
typedef enum PkBankRes {
    PK_RES_OBJECTS = 0,          /* pages and nodes */
    PK_RES_MAP_ENTRIES = 1,      /* IOMMU mapping entries made for a client */
    PK_RES_COUNT = 2,
} PkBankRes;

enum {
    PK_OBJF_DIRTY = 1,           /* changed since the last snapshot: in dirty[] */
    PK_OBJF_MARKED = 2,          /* in the running snapshot, not yet consumed */
    PK_OBJF_COPIED = 4,          /* MARKED and the snapshot's bytes are in snap_frame */
    PK_OBJF_DOOMED = 8,          /* destroyed while pinned: frame goes at last unpin */
    PK_OBJF_INFLIGHT = 16,       /* consumed by the running snapshot, not committed:
                                  * stays resident until snapshot_end */
};

/* One entry of the OID-ordered index iterate uses. */
typedef struct PkSortEnt {
    PkOid oid;
    int32_t idx;
    uint32_t pad;
} PkSortEnt;

typedef struct PkObj {
    PkOid oid;
    uint32_t count;              /* allocation count */
    uint32_t snap_count;         /* MARKED: count as of snapshot_begin */
    int32_t frame;               /* live frame, -1 when not resident */
    int32_t snap_frame;          /* COPIED: the snapshot's bytes */
    int32_t bank;                /* allocating bank, -1 unknown (from disk) */
    int32_t hnext;               /* next record in the hash chain, -1 */
    int32_t dirty_pos;           /* index in dirty[], -1 when clean */
    uint32_t pins;               /* I/O pins */
    uint8_t type;                /* PkObjType; NONE = tombstone */
    uint8_t snap_type;           /* MARKED: type as of snapshot_begin */
    uint8_t flags;               /* PK_OBJF_* */
    uint8_t ref;                 /* clock reference bit: set by a call that used it */
} PkObj;

typedef struct PkBank {
    uint64_t quota[PK_RES_COUNT];    /* UINT64_MAX: unlimited */
    uint64_t used[PK_RES_COUNT];     /* this bank and all its descendants */
    uint32_t count;                  /* bank capabilities made against this */
    int32_t parent;                  /* -1: the prime bank */
    uint8_t live;
    uint8_t pad[7];
} PkBank;

typedef struct PkStoreConfig {
    uint8_t *frames;             /* nframes * PK_PAGE_SIZE bytes, caller-owned */
    uint32_t nframes;
    uint32_t max_objects;        /* records, tombstones included */
    uint32_t max_banks;          /* the prime bank included */
    /* Frames [0, nplaced) are placed: frame f holds only OID placed_oid + f.
     * 0 (the default): none.  The range [placed_oid, placed_oid + nplaced)
     * must lie at or above PK_OID_FIRST. */
    uint32_t nplaced;
    PkOid placed_oid;
} PkStoreConfig;

/* Scalars of the state; saved as they are. */
typedef struct PkStoreScalars {
    PkOid next_oid;
    uint64_t snap_epoch;
    uint32_t nobj;               /* records 0..nobj-1 in use */
    uint32_t nfree;              /* depth of frame_free[] */
    uint32_t clock;              /* eviction hand over the general frames
                                  * (0 when every frame is placed) */
    uint32_t ndirty;
    uint32_t nsnap;              /* entries of snap[] */
    uint32_t snap_pos;           /* next to yield */
    uint32_t snap_active;
} PkStoreScalars;

struct PkStore {
    /* Wiring: set by pk_store_new()/pk_store_set_backing(), never saved. */
    uint8_t *frames;
    PkBacking backing;
    PkStoreConfig cfg;
    uint32_t nbuckets;           /* power of two, >= 2 */
    uint32_t hash_shift;         /* 64 - log2(nbuckets) */
    /* Per-call scratch, not state: a rejected call must leave the saved
     * state as it was, so which objects the running call holds (and may
     * not be evicted) is kept apart from the records. */
    uint64_t op_seq;             /* bumped per call */
    uint64_t *held;              /* [max_objects]: == op_seq while in use */
    /* State: plain data, what pk_store_state_save() writes. */
    PkStoreScalars sc;
    PkObj *obj;                  /* [max_objects] */
    int32_t *bucket;             /* [nbuckets] first record, -1 */
    int32_t *dirty;              /* [max_objects] record indices */
    int32_t *snap;               /* [max_objects] record indices */
    int32_t *frame_owner;        /* [nframes] */
    int32_t *frame_free;         /* [nframes] stack of general frames (>= nplaced);
                                  * top is frame_free[nfree-1] */
    PkBank *bank;                /* [max_banks]; 0 is the prime bank */
    /* Derived, rebuilt on demand: records sorted by OID for iterate. */
    PkSortEnt *sorted;           /* [max_objects] */
    uint32_t nsorted;            /* == nobj when valid */
};

/* Creates a store over cfg's frame pool; the prime bank (0) has unlimited
 * quotas.  -EINVAL with a message naming the field for a bad config
 * (including nplaced > nframes, a placed OID range below PK_OID_FIRST or
 * past 2^64). */
int pk_store_new(const PkStoreConfig *cfg, PkStore **out, SlError *err);
void pk_store_free(PkStore *s);

/* Whole-state snapshot (machine snapshots, fuzz resets): the table, banks,
 * frame ownership, dirty and snapshot lists.  Not the frames' bytes.  The
 * geometry (nframes, max_objects, max_banks, nplaced, placed_oid) is part
 * of the blob: restore refuses a blob of another geometry. */
size_t pk_store_state_size(const PkStore *s);
/* Writes the blob; returns its size or -ENOSPC if size is too small. */
long pk_store_state_save(const PkStore *s, void *buf, size_t size);
/* Replaces the state; a malformed blob (or one for another geometry) is
 * refused with a message naming the field and leaves the store as it was. */
int pk_store_state_restore(PkStore *s, const void *buf, size_t size, SlError *err);

/* The record for oid, or -1. */
int32_t pk_object_find(const PkStore *s, PkOid oid);
/* Adds a record (no frame, clean, bank -1): its index, or -ENOSPC. */
int32_t pk_object_insert(PkStore *s, PkOid oid, uint8_t type, uint32_t count);
/* The next OID the allocator will hand out, and taking it (never a
 * placed OID). */
PkOid pk_object_take_oid(PkStore *s);
/* The placed frame of oid (oid - placed_oid), or -1 if oid is not placed. */
int32_t pk_object_placed_frame(const PkStore *s, PkOid oid);
/* Puts a record on the dirty list (idempotent). */
void pk_object_mark_dirty(PkStore *s, int32_t idx);
/* Takes a record off the dirty list (idempotent). */
void pk_object_mark_clean(PkStore *s, int32_t idx);
/* Destroys a live object: count bumped, type NONE, dirty (the checkpoint
 * must learn of it), quota returned to its banks.  Returns PK_PENDING when
 * the object is I/O-pinned: its frame is then freed by the last unpin.
 * A placed object's frame is marked free, not stacked; the tombstone keeps
 * the bumped count for the OID's next allocation.  Cannot fail (callers
 * decode first). */
int pk_object_destroy(PkStore *s, int32_t idx);
/* Bytes of a frame. */
uint8_t *pk_object_frame_data(const PkStore *s, int32_t frame);
/* Bytes of an object's image (PK_PAGE_SIZE, PK_NODE_BYTES, 0 for NONE). */
uint32_t pk_object_image_len(uint8_t type);

#endif
