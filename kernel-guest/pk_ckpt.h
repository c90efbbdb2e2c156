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
 *                   the header (the last act) and flushes again.
 * A power cut anywhere leaves the previous header and everything it
 * references intact.  Migration then copies committed objects from the
 * checkpoint area to their home locations (the range table); the blocks
 * they leave become free when the next checkpoint commits a directory that
 * points home.
 *
 * Restart reads the newest valid header and its directory, and either
 * installs every object (eager) or makes the disk the store's backing so
 * objects load on first touch (lazy: only headers and the directory are
 * read).  Every object is checked against the checksum in the directory
 * when it is read: a corrupt object is an error, never loaded.
 *
 * Single-threaded: the caller does not call migrate or restart between
 * begin and commit.  If commit fails, the disk still holds the previous
 * checkpoint; the failed snapshot's objects are no longer dirty in the
 * store (pk_store.h has no way to mark them again), so a caller that goes
 * on after a failed commit must treat the disk as stale.
 */
#ifndef KERNEL_GUEST_PK_CKPT_H
#define KERNEL_GUEST_PK_CKPT_H

#include <stdint.h>

#include "base/error.h"
#include "kernel-guest/pk_disk_format.h"
#include "kernel-guest/pk_store.h"

typedef struct PkCkpt PkCkpt;

typedef enum PkCkptLoad {
    PK_CKPT_LAZY = 0,   /* read headers and the directory; objects on demand */
    PK_CKPT_EAGER = 1,  /* read and install every object now */
} PkCkptLoad;

/* What a restart found. */
typedef struct PkCkptRestartInfo {
    uint64_t seq;          /* the checkpoint restarted from */
    uint64_t objects;      /* objects in its directory */
    uint64_t loaded;       /* installed now (all of them when eager) */
    int bad_headers;       /* header slots that did not decode (torn/corrupt) */
    char note[200];        /* why, when bad_headers != 0 */
} PkCkptRestartInfo;

typedef struct PkCkptStats {
    uint64_t seq;              /* last committed checkpoint */
    uint64_t objects;          /* directory entries */
    uint64_t unmigrated;       /* of them, still in the checkpoint area */
    uint64_t ckpt_free;        /* free checkpoint-area blocks */
    uint64_t last_written;     /* objects written by the last commit */
} PkCkptStats;

/* Opens an image (pk_disk_format_open) and reads the newest directory.
 * Touches neither the disk nor the store.  dev is copied. */
int pk_ckpt_open(const PkBlockDev *dev, PkStore *store, PkCkpt **out, SlError *e);
/* Clears the store's backing if this checkpointer was it. */
void pk_ckpt_free(PkCkpt *ck);

/* Brings the store back to the newest committed checkpoint. */
int pk_ckpt_restart(PkCkpt *ck, PkCkptLoad mode, PkCkptRestartInfo *info, SlError *e);

int pk_ckpt_begin(PkCkpt *ck, SlError *e);
int pk_ckpt_commit(PkCkpt *ck, SlError *e);
/* begin + commit. */
int pk_ckpt_checkpoint(PkCkpt *ck, SlError *e);

/* Copies up to max committed objects home (0 = all); *moved says how many.
 * Objects with no home range stay in the checkpoint area. */
int pk_ckpt_migrate(PkCkpt *ck, uint64_t max, uint64_t *moved, SlError *e);

void pk_ckpt_stats(const PkCkpt *ck, PkCkptStats *st);

#endif
