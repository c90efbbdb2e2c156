/*
 * tests/pk_test_memdev.h: an in-memory disk for the checkpointer's tests
 * (test_kernel_pk_ckpt.c, test_kernel_pk_disk.c), and the steps those tests
 * repeat on it: open, checkpoint, a graph step that makes room, a restart
 * compared with the model, the fsck.  Header-only.
 *
 * PkTestMemDev is a PkBlockDev over host memory formatted by
 * pk_disk_format_create.  It counts writes, so "the image is not modified"
 * can be checked on the bytes (pk_test_mem_hash) and a read-only device
 * counts the writes it refused; and it can fail its n-th write or flush
 * from now (fail_in), so a commit can be made to fail at every step.  The
 * graph, the model and the stores are tests/pk_test_graph.h's.
 */
#ifndef TESTS_PK_TEST_MEMDEV_H
#define TESTS_PK_TEST_MEMDEV_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel-guest/pk_ckpt.h"
#include "kernel-guest/pk_disk_format.h"
#include "tests/pk_test_graph.h"

typedef struct PkTestMemDev {
    uint8_t *img;
    uint64_t nblocks;
    bool read_only;
    unsigned writes, refused;
    unsigned fail_in;            /* > 0: the fail_in-th write or flush from now fails */
} PkTestMemDev;

/* Whether this write or flush is the one set to fail. */
static inline bool pk_test_mem_fails(PkTestMemDev *m)
{
    return m->fail_in > 0 && --m->fail_in == 0;
}

static inline int pk_test_mem_read(void *opaque, uint64_t lba, uint32_t count, void *buf)
{
    PkTestMemDev *m = opaque;

    if (lba > m->nblocks || count > m->nblocks - lba) {
        return -EINVAL;
    }
    memcpy(buf, m->img + lba * PK_DISK_BLOCK, (size_t)count * PK_DISK_BLOCK);
    return 0;
}

static inline int pk_test_mem_write(void *opaque, uint64_t lba, uint32_t count,
                                    const void *buf)
{
    PkTestMemDev *m = opaque;

    if (m->read_only) {
        m->refused++;
        return -EROFS;
    }
    if (lba > m->nblocks || count > m->nblocks - lba) {
        return -EINVAL;
    }
    if (pk_test_mem_fails(m)) {
        return -EIO;
    }
    m->writes++;
    memcpy(m->img + lba * PK_DISK_BLOCK, buf, (size_t)count * PK_DISK_BLOCK);
    return 0;
}

static inline int pk_test_mem_flush(void *opaque)
{
    return pk_test_mem_fails(opaque) ? -EIO : 0;
}

static inline PkBlockDev pk_test_mem_dev(PkTestMemDev *m)
{
    return (PkBlockDev){pk_test_mem_read, pk_test_mem_write, pk_test_mem_flush, m, m->nblocks};
}

/* A fresh image of geometry g. */
static inline PkTestMemDev *pk_test_mem_new_geometry(const PkDiskGeometry *g)
{
    PkTestMemDev *m = calloc(1, sizeof(*m));
    PkBlockDev dev;
    SlError e;

    assert_non_null(m);
    m->nblocks = g->nblocks;
    m->img = calloc(g->nblocks, PK_DISK_BLOCK);
    assert_non_null(m->img);
    dev = pk_test_mem_dev(m);
    if (pk_disk_format_create(&dev, g, &e) != 0) {
        fail_msg("create: %s", e.msg);
    }
    return m;
}

/* A fresh image: nblocks, checkpoint area ckpt (0 = half), and one range
 * giving the store's OIDs (from PK_OID_FIRST) the whole home area. */
static inline PkTestMemDev *pk_test_mem_new(uint64_t nblocks, uint64_t ckpt)
{
    PkDiskGeometry g = {.nblocks = nblocks, .nranges = 1};

    g.ckpt_blocks = ckpt ? ckpt : (nblocks - PK_DISK_META_BLOCKS) / 2;
    g.ranges[0] = (PkDiskRange){PK_OID_FIRST,
                                PK_OID_FIRST + nblocks - PK_DISK_META_BLOCKS - g.ckpt_blocks, 0,
                                PK_DISK_LBA_AUTO};
    return pk_test_mem_new_geometry(&g);
}

static inline void pk_test_mem_free(PkTestMemDev *m)
{
    free(m->img);
    free(m);
}

/* A checksum of the whole image, to tell it was not modified. */
static inline uint64_t pk_test_mem_hash(const PkTestMemDev *m)
{
    return pk_disk_format_checksum(m->img, m->nblocks * PK_DISK_BLOCK, 7);
}

/* ---- checkpoints and restarts on it ---------------------------------------- */

/* pk_ckpt_open on m for s (fails the test if it fails). */
static inline PkCkpt *pk_test_ckpt_open(PkTestMemDev *m, PkStore *s)
{
    PkBlockDev dev = pk_test_mem_dev(m);
    PkCkpt *ck;
    SlError e;

    if (pk_ckpt_open(&dev, s, &ck, &e) != 0) {
        fail_msg("open: %s", e.msg);
    }
    return ck;
}

/* A whole checkpoint, which must succeed. */
static inline void pk_test_ckpt_take(PkCkpt *ck)
{
    SlError e;

    if (pk_ckpt_checkpoint(ck, &e) != 0) {
        fail_msg("checkpoint: %s", e.msg);
    }
}

/* One graph step; when the pool is full of dirty objects, a checkpoint
 * makes room and the step is retried.  Returns the checkpoints it took. */
static inline unsigned pk_test_ckpt_graph_step(PkTestGraph *g, PkCkpt *ck)
{
    unsigned taken = 0;
    int rc;

    while ((rc = pk_test_graph_step(g)) == -EBUSY) {
        pk_test_ckpt_take(ck);
        taken++;
        assert_true(taken < 3);
    }
    assert_int_equal(rc, 0);
    return taken;
}

/* Restarts a new store of nframes frames from m and compares it with want. */
static inline void pk_test_restart_assert(PkTestMemDev *m, const PkTestSnap *want,
                                          PkCkptLoad mode, uint32_t nframes)
{
    uint8_t *frames;
    PkStore *got = pk_test_store_new(nframes, 1024, &frames);
    PkCkpt *ck = pk_test_ckpt_open(m, got);
    PkCkptRestartInfo ri;
    PkObjImage img;
    uint64_t cur = 0;
    SlError e;

    if (pk_ckpt_restart(ck, mode, &ri, &e) != 0) {
        fail_msg("restart: %s", e.msg);
    }
    assert_int_equal(ri.bad_headers, 0);
    assert_int_equal(ri.objects, want->live);
    if (mode == PK_CKPT_LAZY) {
        assert_int_equal(ri.loaded, 0);
        assert_int_equal(pk_store_iterate(got, &cur, &img), 0);   /* nothing read yet */
    } else {
        assert_int_equal(ri.loaded, want->live);
    }
    pk_test_snap_assert(want, got, mode == PK_CKPT_LAZY ? "lazy restart" : "eager restart");
    pk_ckpt_free(ck);
    pk_store_free(got);
    free(frames);
}

/* A pk_disk_format_check note sink: counts the lines, each one line. */
static inline void pk_test_note_count(void *opaque, const char *line)
{
    (*(int *)opaque)++;
    assert_null(strchr(line, '\n'));
}

/* The fsck of m, read-only (it must write nothing): its count of
 * inconsistencies, one note line each. */
static inline long pk_test_mem_check(PkTestMemDev *m)
{
    PkBlockDev dev = pk_test_mem_dev(m);
    bool ro = m->read_only;
    int lines = 0;
    long n;

    m->read_only = true;
    n = pk_disk_format_check(&dev, pk_test_note_count, &lines);
    assert_int_equal(m->refused, 0);
    m->read_only = ro;
    assert_int_equal(lines, n);
    return n;
}

#endif
