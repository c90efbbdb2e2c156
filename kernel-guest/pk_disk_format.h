/*
 * kernel-guest/pk_disk_format.h: the checkpointing disk's on-disk layout
 * (seed 004, BRIEF §4), the block interface the kernel reaches a disk
 * through, and the fsck that explains every inconsistency of an image.
 *
 * Layout, 4 KiB blocks, every field little-endian at a fixed offset
 * (written byte by byte, never as a struct):
 *
 *   LBA 0          superblock: geometry, where everything else is, the
 *                  range table's checksum; written once, by create
 *   LBA 1          range table: (start OID, end OID, drive, start LBA) --
 *                  object OID lives at home LBA start + (OID - start OID)
 *   LBA 2, 3       checkpoint headers A and B; checkpoint number seq goes to
 *                  header seq % 2, so the newest committed header survives
 *                  while the other is being written
 *   ckpt area      objects written by checkpoints, and the directories
 *   home area      the home locations the range table describes
 *
 * A header names its checkpoint's directory: one 32-byte entry per object
 * of the store as of that checkpoint, sorted by OID, saying where the
 * object is (a block of the checkpoint area, or its home location) and its
 * checksum.  A destroyed object keeps its entry as a tombstone: type
 * PK_OBJ_NONE, its bumped allocation count, no data block (LBA, length and
 * checksum 0), so a restart never hands the OID out again with a lower
 * count.  The header also keeps the store's OID counter as of the commit
 * (next_oid; never lower than the previous header's), so no OID the store
 * handed out -- even one that never reached the disk -- is handed out again
 * after a restart.  Every block-sized record (superblock, range table,
 * header) carries a checksum of the whole block in its last 8 bytes, so a
 * torn or bit-flipped write never decodes.
 *
 * Version 2 added the tombstones and next_oid; an image of version 1 is
 * refused (its directory dropped destroyed objects' counts).
 *
 * Crash safety rests on one order (pk_ckpt.c): objects and directory go to
 * blocks that no committed checkpoint references, then a flush, then the
 * header, the last act.  Migration copies an object home only while the
 * committed directory still points into the checkpoint area.
 */
#ifndef KERNEL_GUEST_PK_DISK_FORMAT_H
#define KERNEL_GUEST_PK_DISK_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "kernel-guest/pk_store.h"

#define PK_DISK_BLOCK 4096u
#define PK_DISK_VERSION 2u
#define PK_DISK_SUPER_LBA 0u
#define PK_DISK_RANGES_LBA 1u
#define PK_DISK_HEADER_LBA 2u          /* header A; header B is the next block */
#define PK_DISK_META_BLOCKS 4u         /* superblock, ranges, two headers */
#define PK_DISK_MAX_RANGES 126u        /* what fits in the range table block */
#define PK_DISK_DIRENT_SIZE 32u
#define PK_DISK_DIRENTS_PER_BLOCK (PK_DISK_BLOCK / PK_DISK_DIRENT_SIZE)
#define PK_DISK_NODE_LEN (PK_NODE_SLOTS * 16u)

/* The kernel's view of a disk: whole blocks, synchronous.  read/write
 * return 0 or a negative errno; flush returns once every write issued
 * before it is durable (the order barrier the header write relies on). */
typedef struct PkBlockDev {
    int (*read)(void *opaque, uint64_t lba, uint32_t count, void *buf);
    int (*write)(void *opaque, uint64_t lba, uint32_t count, const void *buf);
    int (*flush)(void *opaque);
    void *opaque;
    uint64_t nblocks;
} PkBlockDev;

/* One entry of the range table.  end is exclusive; drive is 0 (one disk). */
typedef struct PkDiskRange {
    PkOid start, end;
    uint32_t drive;
    uint64_t lba;
} PkDiskRange;

typedef struct PkDiskSuper {
    uint64_t nblocks;              /* the image's size */
    uint64_t ckpt_lba, ckpt_blocks; /* the checkpoint area */
    uint32_t nranges;
    uint64_t ranges_sum;           /* checksum of the range table block */
} PkDiskSuper;

typedef struct PkDiskHeader {
    uint64_t seq;                  /* checkpoint number; 0 = the empty store */
    uint64_t dir_lba;              /* first block of the directory (ckpt area) */
    uint32_t dir_blocks;
    uint64_t dir_entries;
    uint64_t dir_sum;              /* checksum of the directory's entry bytes */
    /* The store's OID counter at the commit (PkStore.sc.next_oid): every
     * OID the counter had handed out is below it (placed OIDs, pk_object.h,
     * are not the counter's and may lie above).  0 in the seq-0 header; at
     * least PK_OID_FIRST in any other. */
    PkOid next_oid;
} PkDiskHeader;

/* A directory entry: where one object of a checkpoint is, or a tombstone. */
typedef struct PkDiskDirent {
    PkOid oid;
    uint32_t count;                /* a tombstone: the count bumped by the destroy */
    uint8_t type;                  /* PK_OBJ_PAGE, PK_OBJ_NODE, or PK_OBJ_NONE (tombstone) */
    uint16_t len;                  /* PK_PAGE_SIZE or PK_DISK_NODE_LEN; 0 for a tombstone */
    uint64_t lba;                  /* in the ckpt area, or the home location; 0 for a tombstone */
    uint64_t sum;                  /* pk_disk_format_object_sum(); 0 for a tombstone */
} PkDiskDirent;

/* Everything a reader learns from the metadata blocks of an image. */
typedef struct PkDiskLayout {
    PkDiskSuper sb;
    PkDiskRange ranges[PK_DISK_MAX_RANGES];
    /* Header slots: valid[i] says whether hdr[i] decoded; why[i] says why
     * not ("" for a never-written slot). */
    PkDiskHeader hdr[2];
    bool valid[2];
    char why[2][160];
    int newest;                    /* index of the newest valid header, or -1 */
} PkDiskLayout;

/* What `sluice disk create` asks for.  nranges 0: one range from OID 0 over
 * the whole home area.  ckpt_blocks 0: half of what is left after the
 * metadata (the rest is home area).  A range whose lba is PK_DISK_LBA_AUTO
 * gets the home blocks right after the previous range's (or the area's
 * start). */
#define PK_DISK_LBA_AUTO UINT64_MAX
typedef struct PkDiskGeometry {
    uint64_t nblocks;
    uint64_t ckpt_blocks;
    uint32_t nranges;
    PkDiskRange ranges[PK_DISK_MAX_RANGES];
} PkDiskGeometry;

/* A 64-bit checksum (four multiply-rotate lanes, then an avalanche). */
uint64_t pk_disk_format_checksum(const void *p, size_t n, uint64_t seed);
/* An object's checksum covers its whole block (the bytes after its length
 * are zero) and binds its identity (OID, count, type), so a block read
 * from the wrong place fails too. */
uint64_t pk_disk_format_object_sum(PkOid oid, uint32_t count, uint8_t type, const uint8_t *block);

/* Home location of oid: 0 and *lba, or -ENOENT if no range holds it. */
int pk_disk_format_home_lba(const PkDiskLayout *l, PkOid oid, uint64_t *lba);

/* Block records.  encode_* fill a whole PK_DISK_BLOCK buffer (checksum
 * included); decode_* check everything and fail with one line naming the
 * field: -EINVAL (malformed), -EIO (bad checksum), -ENODATA (all zeros: a
 * header slot never written). */
void pk_disk_format_encode_header(const PkDiskHeader *h, uint8_t *block);
int pk_disk_format_decode_header(const uint8_t *block, const PkDiskSuper *sb, PkDiskHeader *h,
                                 SlError *e);
void pk_disk_format_encode_dirent(const PkDiskDirent *d, uint8_t *p);
void pk_disk_format_decode_dirent(const uint8_t *p, PkDiskDirent *d);
/* Checks one decoded entry against the layout (type, len, where it is; a
 * tombstone has no block, length or checksum). */
int pk_disk_format_check_dirent(const PkDiskLayout *l, const PkDiskDirent *d, SlError *e);

/* Writes a fresh image: superblock, range table, header A (seq 0, empty
 * directory), header B zero.  Checks the geometry first and writes nothing
 * if it is wrong. */
int pk_disk_format_create(const PkBlockDev *dev, const PkDiskGeometry *g, SlError *e);
/* Reads and checks superblock, range table and both headers.  Fails (one
 * line) on a malformed superblock or range table, or when no header is
 * valid; a single bad header is recorded in l->why, not an error.  Never
 * writes. */
int pk_disk_format_open(const PkBlockDev *dev, PkDiskLayout *l, SlError *e);
/* Reads the directory of header h into a malloc'd array (*out, *n),
 * checking its checksum, order and every entry. */
int pk_disk_format_read_dir(const PkBlockDev *dev, const PkDiskLayout *l, const PkDiskHeader *h,
                            PkDiskDirent **out, uint64_t *n, SlError *e);

/* fsck: checks everything a restart relies on -- superblock, range table,
 * both headers (and that the OID counter did not go back from the older to
 * the newer), the newest directory (tombstones included), every object's
 * checksum, blocks claimed twice -- and calls note() with one line per
 * inconsistency.
 * Returns the number of inconsistencies (0 = clean).  Never writes. */
typedef void (*PkDiskNoteFn)(void *opaque, const char *line);
long pk_disk_format_check(const PkBlockDev *dev, PkDiskNoteFn note, void *opaque);

#endif
