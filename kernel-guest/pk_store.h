/*
 * kernel-guest/pk_store.h: the persistent kernel's object store -- the
 * boundary between the objects (pk_object/pk_cap/pk_bank/pk_cache) and the
 * checkpointing disk (pk_ckpt, pk_disk_format, devices/ckdisk).
 *
 * Vocabulary (shared/seeds/002, 004; BRIEF §4): every object is a page
 * (4 KiB of data) or a node (PK_NODE_SLOTS capabilities), named by a
 * 64-bit OID, with an allocation count.  A capability (type, OID, count,
 * rights) whose count differs from its object's is void; revoking bumps
 * the count, O(1) however many copies exist.  Space banks allocate objects
 * under quotas.  The object cache holds objects in frames of a pool; a
 * miss loads from disk; an I/O-pinned object is never evicted or moved.
 * Placed frames (pk_object.h) are the part of the pool that is guest RAM:
 * each holds one fixed OID, forever, and gets it back at restart.
 *
 * The checkpoint sees the store through this header only: a consistent
 * snapshot (copy-on-write: marking is all the pause does), the objects
 * dirty since the last checkpoint, and -- at restart -- installing objects
 * read back from disk.
 */
#ifndef KERNEL_GUEST_PK_STORE_H
#define KERNEL_GUEST_PK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PK_PAGE_SIZE 4096u
#define PK_NODE_SLOTS 32u

typedef uint64_t PkOid;

typedef enum PkObjType {
    PK_OBJ_NONE = 0,
    PK_OBJ_PAGE = 1,
    PK_OBJ_NODE = 2,
} PkObjType;

/* A capability, as stored in a node slot: 16 bytes, little-endian. */
typedef struct PkCap {
    uint8_t type;                /* PkCapType (pk_cap.h); 0 = null cap */
    uint8_t rights;              /* PK_RIGHT_* bits */
    uint16_t reserved;
    uint32_t count;              /* allocation count it was made against */
    PkOid oid;
} PkCap;

/* The on-disk and in-checkpoint image of one object. */
typedef struct PkObjImage {
    PkOid oid;
    uint8_t type;                /* PkObjType */
    uint32_t count;              /* allocation count */
    /* PK_PAGE_SIZE bytes for a page; PK_NODE_SLOTS * sizeof(PkCap) for a
     * node.  Points into the store (valid until the next store call). */
    const uint8_t *data;
    uint32_t len;
} PkObjImage;

typedef struct PkStore PkStore;

/* Checkpoint side -----------------------------------------------------
 * pk_store_snapshot_begin: the pause.  Marks every dirty object as part of
 * checkpoint `epoch` and write-protects it copy-on-write: a mutation
 * before the checkpoint has read the object first keeps the snapshot copy.
 * Costs time in the number of dirty objects, not their bytes.
 * pk_store_snapshot_next: the snapshot's objects one by one (the copy if
 * one was made), 1 and *img, or 0 at the end.
 * pk_store_snapshot_end: releases the snapshot copies; objects written
 * since begin stay dirty for the next checkpoint.  Call it once the
 * checkpoint has committed: until then the snapshot's objects stay resident.
 * pk_store_snapshot_abort: the checkpoint failed: releases the snapshot and
 * makes all its objects dirty again.
 * An image of type PK_OBJ_NONE (len 0, data NULL) is a destroyed object:
 * its count is the bumped one; the disk must forget its contents but may
 * keep (and install back) the tombstone so the count is never reused. */
int pk_store_snapshot_begin(PkStore *s, uint64_t epoch);
int pk_store_snapshot_next(PkStore *s, PkObjImage *img);
void pk_store_snapshot_end(PkStore *s);
void pk_store_snapshot_abort(PkStore *s);

/* Restart side ----------------------------------------------------------
 * Installs an object read from disk (replacing any in-memory copy), clean.
 * A placed OID goes into its own frame.  0; -EBUSY (a snapshot is running,
 * the object is I/O-pinned, or a placed OID's frame is held by another
 * record or a snapshot copy); -EINVAL (malformed image); -ENOSPC (table
 * full); the cache's -EBUSY/-ENOMEM (no general frame). */
int pk_store_install(PkStore *s, const PkObjImage *img);
/* Forgets every object, placed ones too: every frame becomes free (before
 * a restart reads the disk). */
void pk_store_clear(PkStore *s);
/* Empties the dirty list: every object is taken to be on disk as it is.
 * For a machine restart, whose store table comes from a blob saved just
 * before the checkpoint that wrote those objects.  0, or -EBUSY (nothing
 * changed) while a snapshot is running: its objects' state belongs to that
 * checkpoint. */
int pk_store_mark_all_clean(PkStore *s);

/* Backing store -----------------------------------------------------------
 * Where the object cache loads a miss from (the checkpoint area for objects
 * not yet migrated, else their home location): 0 and the object, -ENOENT
 * if the disk has never held it, or another negative error. */
typedef struct PkBacking {
    int (*load)(void *opaque, PkOid oid, uint8_t *type, uint32_t *count, uint8_t *buf,
                uint32_t cap);
    void *opaque;
} PkBacking;
void pk_store_set_backing(PkStore *s, const PkBacking *b);

/* Iterates all objects, dirty or clean (for a full image compare in
 * tests and for fsck), in OID order: 1 and *img, or 0 at the end.
 * *cursor starts at 0. */
int pk_store_iterate(PkStore *s, uint64_t *cursor, PkObjImage *img);

#endif
