/*
 * devices/ckdisk.h: the emulated checkpointing disk -- a block device of
 * 4 KiB blocks over an image file.  See ckdisk.c for what it models.
 */
#ifndef DEVICES_CKDISK_H
#define DEVICES_CKDISK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

#define CKDISK_BLOCK 4096u

typedef struct CkDisk CkDisk;

/* What the write recorder sees: every block as it is written (before it
 * reaches the file), and every flush -- the raw material of a crash test
 * (the image a power cut leaves is the base image plus a prefix of these
 * writes, the last one possibly torn). */
typedef enum CkdiskEvent {
    CKDISK_EV_WRITE = 1,
    CKDISK_EV_FLUSH = 2,
} CkdiskEvent;
typedef void (*CkdiskRecordFn)(void *opaque, CkdiskEvent ev, uint64_t lba, const uint8_t *block);

/* Opens an existing image; writable false opens it O_RDONLY, so nothing
 * this disk does can modify the file.  Fails (one line naming the file)
 * when it cannot be opened or its size is not a whole number of blocks. */
int ckdisk_open(const char *path, bool writable, CkDisk **out, SlError *e);
/* Creates a new image of nblocks zero blocks; never overwrites a file
 * that exists. */
int ckdisk_create(const char *path, uint64_t nblocks, CkDisk **out, SlError *e);
void ckdisk_close(CkDisk *d);

uint64_t ckdisk_blocks(const CkDisk *d);
const char *ckdisk_path(const CkDisk *d);

/* count blocks at lba: 0, -EINVAL outside the disk, -EROFS writing a
 * read-only disk, or -errno from the host file. */
int ckdisk_read(CkDisk *d, uint64_t lba, uint32_t count, void *buf);
int ckdisk_write(CkDisk *d, uint64_t lba, uint32_t count, const void *buf);
/* Every write before it is durable in the host file when it returns. */
int ckdisk_flush(CkDisk *d);

/* Calls fn for every block written and every flush (NULL: stop). */
void ckdisk_set_recorder(CkDisk *d, CkdiskRecordFn fn, void *opaque);

#endif
