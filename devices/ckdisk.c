/*
 * devices/ckdisk.c: the checkpointing disk (seed 004's "drive"): an image
 * file seen as an array of 4 KiB blocks, read and written whole and
 * synchronously, with a flush that makes earlier writes durable
 * (fdatasync) -- the ordering barrier a checkpoint's header write needs.
 *
 * The kernel reaches it directly through a small block interface (the
 * emulator adapts it to kernel-guest's PkBlockDev); there are no guest
 * registers, no DMA and no virtual time yet.  A recorder hook sees every
 * block written and every flush, for crash testing.
 *
 * Not modelled: request queues, write caching and reordering below the
 * flush (a recorded write sequence is replayed in order), partial-block
 * writes (a torn write is built by the crash test, not by the disk).
 */
#include "devices/ckdisk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct CkDisk {
    int fd;
    bool writable;
    uint64_t nblocks;
    char *path;
    CkdiskRecordFn record;
    void *record_opaque;
};

static int ckdisk_wrap(int fd, const char *path, bool writable, uint64_t nblocks, CkDisk **out,
                       SlError *e)
{
    CkDisk *d = calloc(1, sizeof(*d));

    if (!d || !(d->path = strdup(path))) {
        free(d);
        close(fd);
        return sl_error(e, -ENOMEM, "%s: out of memory", path);
    }
    d->fd = fd;
    d->writable = writable;
    d->nblocks = nblocks;
    *out = d;
    return 0;
}

int ckdisk_open(const char *path, bool writable, CkDisk **out, SlError *e)
{
    struct stat st;
    int fd = open(path, writable ? O_RDWR : O_RDONLY);
    int err;

    *out = NULL;
    if (fd < 0) {
        return sl_error(e, -errno, "%s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        err = errno;
        close(fd);
        return sl_error(e, -err, "%s: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size % CKDISK_BLOCK != 0) {
        close(fd);
        return sl_error(e, -EINVAL,
                        "%s: size: %" PRIu64 " bytes, expected a non-zero multiple of %u "
                        "(truncated image?)",
                        path, (uint64_t)st.st_size, CKDISK_BLOCK);
    }
    return ckdisk_wrap(fd, path, writable, (uint64_t)st.st_size / CKDISK_BLOCK, out, e);
}

int ckdisk_create(const char *path, uint64_t nblocks, CkDisk **out, SlError *e)
{
    int fd, err;

    *out = NULL;
    if (nblocks == 0 || nblocks > (UINT64_MAX >> 13) / CKDISK_BLOCK) {
        return sl_error(e, -EINVAL, "%s: size: %" PRIu64 " blocks is out of range", path, nblocks);
    }
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        err = errno;
        return sl_error(e, -err, "%s: %s%s", path, strerror(err),
                        err == EEXIST ? " (create never overwrites an image)" : "");
    }
    if (ftruncate(fd, (off_t)(nblocks * CKDISK_BLOCK)) != 0) {
        err = errno;
        close(fd);
        unlink(path);
        return sl_error(e, -err, "%s: size: %s", path, strerror(err));
    }
    return ckdisk_wrap(fd, path, true, nblocks, out, e);
}

void ckdisk_close(CkDisk *d)
{
    if (d) {
        close(d->fd);
        free(d->path);
        free(d);
    }
}

uint64_t ckdisk_blocks(const CkDisk *d)
{
    return d->nblocks;
}

const char *ckdisk_path(const CkDisk *d)
{
    return d->path;
}

static bool ckdisk_in_range(const CkDisk *d, uint64_t lba, uint32_t count)
{
    return lba <= d->nblocks && count <= d->nblocks - lba;
}

int ckdisk_read(CkDisk *d, uint64_t lba, uint32_t count, void *buf)
{
    size_t len = (size_t)count * CKDISK_BLOCK, done = 0;

    if (!ckdisk_in_range(d, lba, count)) {
        return -EINVAL;
    }
    while (done < len) {
        ssize_t n = pread(d->fd, (uint8_t *)buf + done, len - done,
                          (off_t)(lba * CKDISK_BLOCK + done));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -EIO;
        }
        done += (size_t)n;
    }
    return 0;
}

int ckdisk_write(CkDisk *d, uint64_t lba, uint32_t count, const void *buf)
{
    size_t len = (size_t)count * CKDISK_BLOCK, done = 0;

    if (!ckdisk_in_range(d, lba, count)) {
        return -EINVAL;
    }
    if (!d->writable) {
        return -EROFS;
    }
    if (d->record) {
        for (uint32_t i = 0; i < count; i++) {
            d->record(d->record_opaque, CKDISK_EV_WRITE, lba + i,
                      (const uint8_t *)buf + (size_t)i * CKDISK_BLOCK);
        }
    }
    while (done < len) {
        ssize_t n = pwrite(d->fd, (const uint8_t *)buf + done, len - done,
                           (off_t)(lba * CKDISK_BLOCK + done));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -EIO;
        }
        done += (size_t)n;
    }
    return 0;
}

int ckdisk_flush(CkDisk *d)
{
    if (!d->writable) {
        return 0;
    }
    if (d->record) {
        d->record(d->record_opaque, CKDISK_EV_FLUSH, 0, NULL);
    }
    return fdatasync(d->fd) != 0 ? -errno : 0;
}

void ckdisk_set_recorder(CkDisk *d, CkdiskRecordFn fn, void *opaque)
{
    d->record = fn;
    d->record_opaque = opaque;
}
