/*
 * kernel-guest/pk_ckpt.h: checkpoint, migration and restart of the
 * persistent kernel's object store on a checkpointing disk (BRIEF §4,
 * seed 004; layout in pk_disk_format.h).
 *
 * A checkpoint is two steps so the pause can be told apart from the rest:
 *   pk_ckpt_begin   the pause -- pk_store_snapshot_begin marks the dirty
 *                   objects copy-on-write; nothing is copied or written;
 *   pk_ckpt_commit  while the machine runs: writes the snapshot's objects
 *                   and a new directory to checkpoint-area blocks that the
 *                   committed checkpoint does not use, flushes, then writes
 *                   the header (the last act) and flushes again; only then
 *                   ends the snapshot (pk_store_snapshot_end), so the
 *                   snapshot's objects stay resident until they are on disk.
 * A power cut anywhere leaves the previous header and everything it
 * references intact.  Migration then copies committed objects from the
 * checkpoint area to their home locations (the range table); the blocks
 * they leave become free when the next checkpoint commits a directory that
 * points home.
 *
 * What a checkpoint keeps: every object of the snapshot, and for a
 * destroyed one its tombstone (type PK_OBJ_NONE, the bumped count, no data
 * block; it never migrates); the header keeps the store's OID counter.  So
 * no OID the store handed out comes back after a restart, and a destroyed
 * object's count never goes back (pk_store.h).
 *
 * The disk is the store's backing from pk_ckpt_open on: an object the
 * store does not have in memory loads from the committed directory (the
 * checkpoint area, or its home once migrated) -- so a store may evict a
 * clean object after a checkpoint, and a restart (eager or lazy) may be
 * into a pool smaller than the checkpoint.  Open also moves the store's
 * OID counter past every OID the disk holds.  Free the checkpointer before
 * its store: pk_ckpt_free clears the store's backing.
 *
 * Restart reads the newest valid header and its directory, forgets the
 * store's objects, moves the OID counter past the header's and the
 * directory's, and either installs every object and tombstone (eager) or
 * only the placed ones (lazy; pk_object.h: a placed OID is allocated into
 * its frame without asking the backing, so it must be there); everything
 * else loads on first touch (lazy: for a store with no placed frames only
 * headers and the directory are read).  Every object is checked against
 * the checksum in the directory when it is read: a corrupt object is an
 * error, never loaded.
 *
 * Single-threaded: the caller does not call migrate or restart between
 * begin and commit.  If commit fails, the disk still holds the previous
 * checkpoint and the snapshot is aborted (pk_store_snapshot_abort): its
 * objects are dirty again, and the next checkpoint writes them.  (If the
 * failure came after the header was sent -- its flush failed -- the disk
 * may hold the new checkpoint after all; its blocks stay reserved until
 * the next commit replaces it.)
 */
#ifndef KERNEL_GUEST_PK_CKPT_H
#define KERNEL_GUEST_PK_CKPT_H

#include <stdint.h>

#include "base/error.h"
#include "kernel-guest/pk_disk_format.h"
#include "kernel-guest/pk_store.h"

typedef struct PkCkpt PkCkpt;

typedef enum PkCkptLoad {
    PK_CKPT_LAZY = 0,   /* read headers and the directory (and placed objects);
                         * the rest on demand */
    PK_CKPT_EAGER = 1,  /* read and install every object and tombstone now */
} PkCkptLoad;

/* What a restart found. */
typedef struct PkCkptRestartInfo {
    uint64_t seq;          /* the checkpoint restarted from */
    uint64_t objects;      /* live objects in its directory */
    uint64_t tombstones;   /* destroyed objects' entries in its directory */
    uint64_t loaded;       /* live objects installed now (all when eager; the
                            * placed ones when lazy) */
    int bad_headers;       /* header slots that did not decode (torn/corrupt) */
    char note[200];        /* why, when bad_headers != 0 */
} PkCkptRestartInfo;

typedef struct PkCkptStats {
    uint64_t seq;              /* last committed checkpoint */
    uint64_t objects;          /* live objects in the directory */
    uint64_t tombstones;       /* destroyed objects' entries in the directory */
    uint64_t unmigrated;       /* live objects still in the checkpoint area */
    uint64_t ckpt_free;        /* free checkpoint-area blocks */
    uint64_t last_written;     /* objects (data blocks) written by the last commit */
    PkOid next_oid;            /* the OID counter the last commit saved */
} PkCkptStats;

/* Opens an image (pk_disk_format_open) and reads the newest directory;
 * makes the disk the store's backing and moves the store's OID counter
 * past the disk's (nothing else of the store changes; nothing is
 * written).  dev is copied. */
int pk_ckpt_open(const PkBlockDev *dev, PkStore *store, PkCkpt **out, SlError *e);
/* Clears the store's backing if this checkpointer is still it.  The store
 * must still exist. */
void pk_ckpt_free(PkCkpt *ck);

/* Brings the store back to the newest committed checkpoint.  On failure
 * the store is left empty (its OID counter still moved). */
int pk_ckpt_restart(PkCkpt *ck, PkCkptLoad mode, PkCkptRestartInfo *info, SlError *e);

int pk_ckpt_begin(PkCkpt *ck, SlError *e);
/* Commits the snapshot begin took, or fails and aborts it (the previous
 * checkpoint stays; the snapshot's objects are dirty again). */
int pk_ckpt_commit(PkCkpt *ck, SlError *e);
/* begin + commit. */
int pk_ckpt_checkpoint(PkCkpt *ck, SlError *e);

/* Copies up to max committed objects home (0 = all); *moved says how many.
 * Objects with no home range stay in the checkpoint area; tombstones have
 * nothing to copy. */
int pk_ckpt_migrate(PkCkpt *ck, uint64_t max, uint64_t *moved, SlError *e);

void pk_ckpt_stats(const PkCkpt *ck, PkCkptStats *st);

#endif
