/*
 * tests/test_kernel_pk_ckpt.c: checkpoint, migration and restart of the
 * persistent kernel's real object store on the checkpointing disk's
 * format, and the fsck.
 *
 * The workload is the randomized object graph of tests/pk_test_graph.h on
 * kernel-guest's PkStore (banks, capabilities, the cache's write protocol,
 * tombstones), with a model of what the store must hold; "the restarted
 * store equals the checkpoint" compares live objects (OID, type, count,
 * bytes) through pk_store_iterate with the model as of the checkpoint, and
 * checks every destroyed object stays destroyed.  One case runs the graph
 * in a frame pool smaller than the graph, so the cache evicts and reloads
 * through the disk and checkpoints make room.  The disk is an in-memory
 * PkBlockDev that counts writes, so "the image is not modified" is checked
 * on the bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_ckpt.h"
#include "kernel-guest/pk_disk_format.h"
#include "kernel-guest/pk_object.h"
#include "tests/pk_test_graph.h"

/* ---- in-memory disk --------------------------------------------------------- */

typedef struct MemDev {
    uint8_t *img;
    uint64_t nblocks;
    bool read_only;
    unsigned writes, refused;
} MemDev;

static int mem_read(void *opaque, uint64_t lba, uint32_t count, void *buf)
{
    MemDev *m = opaque;

    if (lba > m->nblocks || count > m->nblocks - lba) {
        return -EINVAL;
    }
    memcpy(buf, m->img + lba * PK_DISK_BLOCK, (size_t)count * PK_DISK_BLOCK);
    return 0;
}

static int mem_write(void *opaque, uint64_t lba, uint32_t count, const void *buf)
{
    MemDev *m = opaque;

    if (m->read_only) {
        m->refused++;
        return -EROFS;
    }
    if (lba > m->nblocks || count > m->nblocks - lba) {
        return -EINVAL;
    }
    m->writes++;
    memcpy(m->img + lba * PK_DISK_BLOCK, buf, (size_t)count * PK_DISK_BLOCK);
    return 0;
}

static int mem_flush(void *opaque)
{
    return 0;
}

static PkBlockDev mem_dev(MemDev *m)
{
    return (PkBlockDev){mem_read, mem_write, mem_flush, m, m->nblocks};
}

/* A fresh image of geometry g. */
static MemDev *mem_new_geometry(const PkDiskGeometry *g)
{
    MemDev *m = calloc(1, sizeof(*m));
    PkBlockDev dev;
    SlError e;

    assert_non_null(m);
    m->nblocks = g->nblocks;
    m->img = calloc(g->nblocks, PK_DISK_BLOCK);
    assert_non_null(m->img);
    dev = mem_dev(m);
    if (pk_disk_format_create(&dev, g, &e) != 0) {
        fail_msg("create: %s", e.msg);
    }
    return m;
}

/* A fresh image: nblocks, checkpoint area ckpt (0 = half), and one range
 * giving the store's OIDs (from PK_OID_FIRST) the whole home area. */
static MemDev *mem_new(uint64_t nblocks, uint64_t ckpt)
{
    PkDiskGeometry g = {.nblocks = nblocks, .nranges = 1};

    g.ckpt_blocks = ckpt ? ckpt : (nblocks - PK_DISK_META_BLOCKS) / 2;
    g.ranges[0] = (PkDiskRange){PK_OID_FIRST,
                                PK_OID_FIRST + nblocks - PK_DISK_META_BLOCKS - g.ckpt_blocks, 0,
                                PK_DISK_LBA_AUTO};
    return mem_new_geometry(&g);
}

static void mem_free(MemDev *m)
{
    free(m->img);
    free(m);
}

static uint64_t mem_hash(const MemDev *m)
{
    return pk_disk_format_checksum(m->img, m->nblocks * PK_DISK_BLOCK, 7);
}

/* ---- helpers -------------------------------------------------------------- */

static PkCkpt *ckpt_open_ok(MemDev *m, PkStore *s)
{
    PkBlockDev dev = mem_dev(m);
    PkCkpt *ck;
    SlError e;

    if (pk_ckpt_open(&dev, s, &ck, &e) != 0) {
        fail_msg("open: %s", e.msg);
    }
    return ck;
}

/* Opens m and boots s from it lazily, which makes the disk the store's
 * backing: what a store whose pool cannot hold the graph needs, since the
 * cache reloads what it evicted from there.  (pk_ckpt_open alone does not
 * install the backing.) */
static PkCkpt *ckpt_boot_ok(MemDev *m, PkStore *s)
{
    PkCkpt *ck = ckpt_open_ok(m, s);
    PkCkptRestartInfo ri;
    SlError e;

    if (pk_ckpt_restart(ck, PK_CKPT_LAZY, &ri, &e) != 0) {
        fail_msg("boot: %s", e.msg);
    }
    return ck;
}

static void ckpt_ok(PkCkpt *ck)
{
    SlError e;

    if (pk_ckpt_checkpoint(ck, &e) != 0) {
        fail_msg("checkpoint: %s", e.msg);
    }
}

/* One graph step; when the pool is full of dirty objects, a checkpoint
 * makes room and the step is retried.  Returns the checkpoints it took. */
static unsigned graph_step_ok(PkTestGraph *g, PkCkpt *ck)
{
    unsigned taken = 0;
    int rc;

    while ((rc = pk_test_graph_step(g)) == -EBUSY) {
        ckpt_ok(ck);
        taken++;
        assert_true(taken < 3);
    }
    assert_int_equal(rc, 0);
    return taken;
}

/* Restarts a new store of nframes frames from m and compares it with want. */
static void assert_restart_equals(MemDev *m, const PkTestSnap *want, PkCkptLoad mode,
                                  uint32_t nframes)
{
    uint8_t *frames;
    PkStore *got = pk_test_store_new(nframes, 1024, &frames);
    PkCkpt *ck = ckpt_open_ok(m, got);
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

static void note_count(void *opaque, const char *line)
{
    (*(int *)opaque)++;
    assert_null(strchr(line, '\n'));
}

static long check_image(MemDev *m)
{
    PkBlockDev dev = mem_dev(m);
    bool ro = m->read_only;
    int lines = 0;
    long n;

    m->read_only = true;
    n = pk_disk_format_check(&dev, note_count, &lines);
    assert_int_equal(m->refused, 0);
    m->read_only = ro;
    assert_int_equal(lines, n);
    return n;
}

/* ---- round trips ------------------------------------------------------------- */

static void round_trip(PkCkptLoad mode)
{
    MemDev *m = mem_new(2048, 0);
    PkTestGraph g;
    PkTestSnap want;
    PkCkpt *ck;
    uint64_t moved;
    SlError e;

    pk_test_graph_new(&g, 512, 1024, 400, 42);
    ck = ckpt_open_ok(m, g.s);
    pk_test_graph_snap(&g, &want);
    assert_restart_equals(m, &want, mode, 512);       /* the fresh image: empty */
    pk_test_snap_free(&want);
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 60; i++) {
            assert_int_equal(graph_step_ok(&g, ck), 0);   /* the pool holds it all */
        }
        if (round == 3) {
            assert_int_equal(pk_test_graph_destroy(&g, pk_test_graph_pick(&g, PK_OBJ_PAGE)), 0);
            assert_int_equal(pk_test_graph_destroy(&g, pk_test_graph_pick(&g, PK_OBJ_NODE)), 0);
        }
        ckpt_ok(ck);
        pk_test_graph_snap(&g, &want);
        pk_test_snap_assert(&want, g.s, "the running store");
        assert_restart_equals(m, &want, mode, 512);
        assert_int_equal(check_image(m), 0);
        if (round % 2) {
            assert_int_equal(pk_ckpt_migrate(ck, round == 1 ? 10 : 0, &moved, &e), 0);
            assert_true(moved > 0);
            assert_restart_equals(m, &want, mode, 512);
            assert_int_equal(check_image(m), 0);
        }
        pk_test_snap_free(&want);
    }
    /* The workload did what it is for. */
    assert_true(g.creates > 50 && g.destroys > 10 && g.revokes > 10 && g.kills > 0);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    mem_free(m);
}

static void test_pk_ckpt__random_graph__restarts_byte_identical_eagerly(void **state)
{
    round_trip(PK_CKPT_EAGER);
}

static void test_pk_ckpt__random_graph__restarts_byte_identical_lazily(void **state)
{
    round_trip(PK_CKPT_LAZY);
}

/* 16 frames for a graph of up to 120 objects: the cache evicts clean
 * objects and reloads them from the disk, and every time the pool is full
 * of dirty objects a checkpoint makes room.  The running store and a
 * restarted one (lazily in as small a pool, eagerly in a big one) still
 * equal the model. */
static void test_pk_ckpt__pool_smaller_than_the_graph__evicts_and_restarts_identically(
    void **state)
{
    MemDev *m = mem_new(1024, 0);
    PkTestGraph g;
    PkTestSnap want;
    unsigned forced = 0, evicted = 0;
    uint64_t moved;
    PkCkpt *ck;
    SlError e;

    pk_test_graph_new(&g, 16, 1024, 120, 1234);
    ck = ckpt_boot_ok(m, g.s);
    for (int i = 0; i < 600; i++) {
        forced += graph_step_ok(&g, ck);
        if (i % 150 == 149) {
            ckpt_ok(ck);
            pk_test_graph_snap(&g, &want);
            pk_test_snap_assert(&want, g.s, "the running store");   /* reloads through the disk */
            pk_test_snap_free(&want);
            assert_int_equal(pk_ckpt_migrate(ck, 0, &moved, &e), 0);
        }
    }
    ckpt_ok(ck);
    for (uint32_t i = 0; i < g.nobj; i++) {
        evicted += g.obj[i].type != PK_OBJ_NONE && !pk_cache_is_resident(g.s, g.obj[i].oid);
    }
    assert_true(forced > 5);
    assert_true(g.nlive > 16 && evicted > 0);
    pk_test_graph_snap(&g, &want);
    pk_test_snap_assert(&want, g.s, "the running store");
    assert_restart_equals(m, &want, PK_CKPT_LAZY, 16);
    assert_restart_equals(m, &want, PK_CKPT_EAGER, 256);
    assert_int_equal(check_image(m), 0);
    pk_test_snap_free(&want);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    mem_free(m);
}

/* Mutations of every kind between begin and commit -- a page write, a node
 * write, a revoke, a destroy, a new object -- belong to the next
 * checkpoint, not to the one being written. */
static void test_pk_ckpt__write_after_begin__keeps_the_snapshot_copy(void **state)
{
    MemDev *m = mem_new(256, 0);
    PkTestGraph g;
    PkTestSnap want;
    uint8_t a[PK_PAGE_SIZE], b[PK_PAGE_SIZE];
    PkOid page, gone, node, late;
    PkCkpt *ck;
    SlError e;

    memset(a, 0xaa, sizeof(a));
    memset(b, 0xbb, sizeof(b));
    pk_test_graph_new(&g, 64, 256, 64, 5);
    ck = ckpt_open_ok(m, g.s);
    assert_int_equal(pk_test_graph_start(&g), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &page), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &gone), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_NODE, &node), 0);
    assert_int_equal(pk_test_graph_write(&g, page, 0, a, sizeof(a)), 0);
    assert_int_equal(pk_test_graph_write(&g, gone, 0, a, sizeof(a)), 0);
    pk_test_graph_snap(&g, &want);
    assert_int_equal(pk_ckpt_begin(ck, &e), 0);
    /* The machine runs on. */
    assert_int_equal(pk_test_graph_write(&g, page, 0, b, sizeof(b)), 0);
    assert_int_equal(pk_test_graph_write(&g, node, 0, b, 48), 0);
    assert_int_equal(pk_test_graph_revoke(&g, page), 0);
    assert_int_equal(pk_test_graph_destroy(&g, gone), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &late), 0);
    assert_int_equal(pk_ckpt_commit(ck, &e), 0);
    assert_restart_equals(m, &want, PK_CKPT_EAGER, 64);
    assert_restart_equals(m, &want, PK_CKPT_LAZY, 64);
    pk_test_snap_free(&want);
    ckpt_ok(ck);                                /* the writes are dirty again */
    pk_test_graph_snap(&g, &want);
    assert_int_equal(want.obj[2].type, PK_OBJ_NONE);
    assert_restart_equals(m, &want, PK_CKPT_EAGER, 64);
    assert_restart_equals(m, &want, PK_CKPT_LAZY, 64);
    pk_test_snap_free(&want);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    mem_free(m);
}

static void test_pk_ckpt__migration__moves_objects_home_and_frees_the_area(void **state)
{
    MemDev *m = mem_new(512, 200);
    PkTestGraph g;
    PkTestSnap want;
    uint64_t moved;
    PkCkptStats before, after;
    PkCkpt *ck;
    SlError e;

    pk_test_graph_new(&g, 128, 512, 80, 7);
    ck = ckpt_open_ok(m, g.s);
    for (int i = 0; i < 100; i++) {
        graph_step_ok(&g, ck);
    }
    ckpt_ok(ck);
    pk_ckpt_stats(ck, &before);
    assert_int_equal(before.objects, g.nlive);
    assert_int_equal(before.unmigrated, before.objects);
    assert_int_equal(pk_ckpt_migrate(ck, 0, &moved, &e), 0);
    assert_int_equal(moved, before.objects);
    ckpt_ok(ck);                                /* commits "home"; frees the area */
    pk_ckpt_stats(ck, &after);
    assert_int_equal(after.unmigrated, 0);
    assert_int_equal(after.ckpt_free, 200 - 1);   /* only the directory remains */
    pk_test_graph_snap(&g, &want);
    assert_restart_equals(m, &want, PK_CKPT_LAZY, 128);
    pk_test_snap_free(&want);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    mem_free(m);
}

static void test_pk_ckpt__full_area__fails_and_keeps_the_last_checkpoint(void **state)
{
    MemDev *m = mem_new(256, 20);
    PkTestGraph g;
    PkTestSnap want;
    uint8_t page[PK_PAGE_SIZE] = {1};
    PkCkpt *ck;
    PkOid oid;
    SlError e;

    pk_test_graph_new(&g, 64, 256, 64, 9);
    ck = ckpt_open_ok(m, g.s);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), 0);
    assert_int_equal(pk_test_graph_write(&g, oid, 0, page, sizeof(page)), 0);
    ckpt_ok(ck);
    pk_test_graph_snap(&g, &want);
    for (int i = 0; i < 38; i++) {
        assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), 0);
        assert_int_equal(pk_test_graph_write(&g, oid, 0, page, sizeof(page)), 0);
    }
    assert_int_equal(pk_ckpt_checkpoint(ck, &e), -ENOSPC);
    assert_non_null(strstr(e.msg, "checkpoint area full"));
    assert_restart_equals(m, &want, PK_CKPT_EAGER, 64);
    pk_test_snap_free(&want);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    mem_free(m);
}

/* ---- bit flips ------------------------------------------------------------------ */

/* Every block the newest checkpoint relies on, flipped one bit at a time at
 * several places: check counts an inconsistency, and restart either fails
 * or says a header was bad -- never loads the flipped bytes. */
static void test_pk_ckpt__bit_flip_anywhere__is_detected_by_check_and_restart(void **state)
{
    MemDev *m = mem_new(256, 100);
    PkTestGraph g;
    uint64_t rng = 99, moved, blocks[64];
    unsigned nb = 0;
    uint8_t *clean;
    PkCkpt *ck;
    SlError e;

    pk_test_graph_new(&g, 64, 256, 20, 99);
    ck = ckpt_open_ok(m, g.s);
    for (int i = 0; i < 50; i++) {
        graph_step_ok(&g, ck);
    }
    ckpt_ok(ck);
    assert_int_equal(pk_ckpt_migrate(ck, 5, &moved, &e), 0);   /* some objects home */
    assert_int_equal(moved, 5);
    for (int i = 0; i < 15; i++) {
        graph_step_ok(&g, ck);
    }
    ckpt_ok(ck);
    pk_ckpt_free(ck);
    clean = malloc(m->nblocks * PK_DISK_BLOCK);
    memcpy(clean, m->img, m->nblocks * PK_DISK_BLOCK);
    /* The blocks in use: metadata, the directory, every object. */
    {
        PkBlockDev dev = mem_dev(m);
        PkDiskLayout l;
        PkDiskDirent *d;
        uint64_t n;

        assert_int_equal(pk_disk_format_open(&dev, &l, &e), 0);
        for (unsigned i = 0; i < PK_DISK_META_BLOCKS; i++) {
            blocks[nb++] = i;
        }
        for (unsigned i = 0; i < l.hdr[l.newest].dir_blocks; i++) {
            blocks[nb++] = l.hdr[l.newest].dir_lba + i;
        }
        assert_int_equal(pk_disk_format_read_dir(&dev, &l, &l.hdr[l.newest], &d, &n, &e), 0);
        assert_true(n > 5);
        for (uint64_t i = 0; i < n && nb < 64; i++) {
            blocks[nb++] = d[i].lba;
        }
        free(d);
    }
    for (unsigned k = 0; k < nb; k++) {
        for (int t = 0; t < 6; t++) {
            uint64_t bit = t == 0 ? 0
                           : t == 1 ? PK_DISK_BLOCK * 8 - 1
                                    : pk_test_rng(&rng) % (PK_DISK_BLOCK * 8);
            uint8_t *frames;
            PkStore *got = pk_test_store_new(64, 256, &frames);
            PkBlockDev dev = mem_dev(m);
            PkCkptRestartInfo ri;
            int rc;

            memcpy(m->img, clean, m->nblocks * PK_DISK_BLOCK);
            m->img[blocks[k] * PK_DISK_BLOCK + bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (check_image(m) == 0) {
                fail_msg("flip of bit %" PRIu64 " in LBA %" PRIu64 " not found by check", bit,
                         blocks[k]);
            }
            rc = pk_ckpt_open(&dev, got, &ck, &e);
            if (rc == 0) {
                rc = pk_ckpt_restart(ck, PK_CKPT_EAGER, &ri, &e);
                assert_true(rc != 0 || ri.bad_headers == 1);
                pk_ckpt_free(ck);
            }
            pk_store_free(got);
            free(frames);
        }
    }
    free(clean);
    pk_test_graph_free(&g);
    mem_free(m);
}

/* A lazily restarted store loads an object whose block was flipped after
 * the restart: the load fails with -EIO and nothing is installed. */
static void test_pk_ckpt__bit_flip_in_an_object__fails_its_lazy_load(void **state)
{
    MemDev *m = mem_new(256, 0);
    PkTestGraph g;
    uint8_t page[PK_PAGE_SIZE] = {3}, *frames;
    PkStore *got = pk_test_store_new(16, 64, &frames);
    PkOid first, second;
    PkCkptRestartInfo ri;
    PkCkpt *ck;
    int32_t idx;
    SlError e;

    pk_test_graph_new(&g, 16, 64, 8, 3);
    ck = ckpt_open_ok(m, g.s);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &first), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &second), 0);
    assert_int_equal(pk_test_graph_write(&g, first, 0, page, sizeof(page)), 0);
    assert_int_equal(pk_test_graph_write(&g, second, 0, page, sizeof(page)), 0);
    ckpt_ok(ck);
    pk_ckpt_free(ck);
    ck = ckpt_open_ok(m, got);
    assert_int_equal(pk_ckpt_restart(ck, PK_CKPT_LAZY, &ri, &e), 0);
    /* The first object made is the first block the checkpoint wrote. */
    m->img[(size_t)PK_DISK_META_BLOCKS * PK_DISK_BLOCK + 4095] ^= 0x10;
    pk_cache_begin_op(got);
    assert_int_equal(pk_cache_resolve(got, first, &idx), -EIO);
    assert_int_equal(pk_object_find(got, first), -1);
    pk_cache_begin_op(got);
    assert_int_equal(pk_cache_resolve(got, second, &idx), 0);
    assert_memory_equal(pk_object_frame_data(got, got->obj[idx].frame), page, sizeof(page));
    pk_ckpt_free(ck);
    pk_store_free(got);
    free(frames);
    pk_test_graph_free(&g);
    mem_free(m);
}

/* ---- malformed images ------------------------------------------------------------- */

/* Re-seals a block record after a deliberate edit. */
static void reseal(uint8_t *block)
{
    uint64_t sum = pk_disk_format_checksum(block, PK_DISK_BLOCK - 8, 0);

    memcpy(block + PK_DISK_BLOCK - 8, &sum, 8);
}

typedef enum Malform { MAL_TRUNCATED, MAL_MAGIC, MAL_SUPER_SUM, MAL_OVERLAP, MAL_RANGE_SUM,
                       MAL_HEADERS } Malform;

static void malformed(Malform how, const char *field)
{
    PkDiskGeometry geo = {.nblocks = 64, .ckpt_blocks = 20};    /* one range from OID 0 */
    MemDev *m = mem_new_geometry(&geo);
    uint8_t *frames;
    PkStore *s = pk_test_store_new(4, 16, &frames);
    PkBlockDev dev;
    PkDiskLayout l;
    PkCkpt *ck;
    uint64_t h;
    SlError e;
    int lines = 0;

    switch (how) {
    case MAL_TRUNCATED: m->nblocks = 50; break;
    case MAL_MAGIC: m->img[0] = 'X'; break;
    case MAL_SUPER_SUM: m->img[20] ^= 1; break;
    case MAL_OVERLAP: {
        /* A second range [0x8, 0x18) over the first's OIDs, sealed so only
         * the overlap is wrong. */
        uint8_t *rt = m->img + PK_DISK_BLOCK, *sb = m->img;
        uint64_t v[4] = {0x8, 0x18, 0, 40};
        uint32_t two = 2;

        memcpy(rt + 16 + 32, &v[0], 8);
        memcpy(rt + 16 + 40, &v[1], 8);
        memcpy(rt + 16 + 56, &v[3], 8);
        memcpy(rt + 8, &two, 4);
        /* Give the first range only 16 home blocks so LBAs do not overlap. */
        v[2] = 16;
        memcpy(rt + 16 + 8, &v[2], 8);
        reseal(rt);
        memcpy(sb + 32, &two, 4);
        memcpy(sb + 64, rt + PK_DISK_BLOCK - 8, 8);
        reseal(sb);
        break;
    }
    case MAL_RANGE_SUM: m->img[PK_DISK_BLOCK + 17] ^= 4; break;
    case MAL_HEADERS:
        m->img[2 * PK_DISK_BLOCK + 9] ^= 1;
        break;
    }
    m->read_only = true;
    h = mem_hash(m);
    dev = mem_dev(m);
    assert_true(pk_disk_format_open(&dev, &l, &e) < 0);
    assert_null(strchr(e.msg, '\n'));
    if (!strstr(e.msg, field)) {
        fail_msg("error \"%s\" does not name \"%s\"", e.msg, field);
    }
    assert_true(pk_ckpt_open(&dev, s, &ck, &e) < 0);
    assert_true(pk_disk_format_check(&dev, note_count, &lines) >= 1);
    assert_int_equal(lines, 1);
    assert_int_equal(m->refused, 0);
    assert_int_equal(mem_hash(m), h);
    pk_store_free(s);
    free(frames);
    mem_free(m);
}

static void test_pk_disk_format__truncated_image__names_the_size(void **state)
{
    malformed(MAL_TRUNCATED, "superblock size");
}

static void test_pk_disk_format__wrong_magic__names_the_magic(void **state)
{
    malformed(MAL_MAGIC, "superblock magic");
}

static void test_pk_disk_format__bad_superblock_checksum__names_the_checksum(void **state)
{
    malformed(MAL_SUPER_SUM, "superblock checksum");
}

static void test_pk_disk_format__overlapping_ranges__names_the_entry(void **state)
{
    malformed(MAL_OVERLAP, "range table entry 1: OIDs");
}

static void test_pk_disk_format__bad_range_table_checksum__names_the_checksum(void **state)
{
    malformed(MAL_RANGE_SUM, "range table checksum");
}

static void test_pk_disk_format__no_valid_header__names_the_headers(void **state)
{
    malformed(MAL_HEADERS, "headers: no valid checkpoint header");
}

static void test_pk_disk_format__bad_geometry__writes_nothing(void **state)
{
    MemDev m = {.nblocks = 64};
    PkBlockDev dev;
    PkDiskGeometry g = {.nblocks = 64, .ckpt_blocks = 20, .nranges = 2};
    SlError e;

    m.img = calloc(64, PK_DISK_BLOCK);
    dev = mem_dev(&m);
    g.ranges[0] = (PkDiskRange){0, 10, 0, PK_DISK_LBA_AUTO};
    g.ranges[1] = (PkDiskRange){5, 8, 0, PK_DISK_LBA_AUTO};
    assert_int_equal(pk_disk_format_create(&dev, &g, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "range table entry 1: OIDs"));
    g.ranges[1] = (PkDiskRange){10, 100, 0, PK_DISK_LBA_AUTO};   /* past the disk */
    assert_int_equal(pk_disk_format_create(&dev, &g, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "outside the home area"));
    assert_int_equal(m.writes, 0);
    free(m.img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pk_ckpt__random_graph__restarts_byte_identical_eagerly),
        cmocka_unit_test(test_pk_ckpt__random_graph__restarts_byte_identical_lazily),
        cmocka_unit_test(test_pk_ckpt__pool_smaller_than_the_graph__evicts_and_restarts_identically),
        cmocka_unit_test(test_pk_ckpt__write_after_begin__keeps_the_snapshot_copy),
        cmocka_unit_test(test_pk_ckpt__migration__moves_objects_home_and_frees_the_area),
        cmocka_unit_test(test_pk_ckpt__full_area__fails_and_keeps_the_last_checkpoint),
        cmocka_unit_test(test_pk_ckpt__bit_flip_anywhere__is_detected_by_check_and_restart),
        cmocka_unit_test(test_pk_ckpt__bit_flip_in_an_object__fails_its_lazy_load),
        cmocka_unit_test(test_pk_disk_format__truncated_image__names_the_size),
        cmocka_unit_test(test_pk_disk_format__wrong_magic__names_the_magic),
        cmocka_unit_test(test_pk_disk_format__bad_superblock_checksum__names_the_checksum),
        cmocka_unit_test(test_pk_disk_format__overlapping_ranges__names_the_entry),
        cmocka_unit_test(test_pk_disk_format__bad_range_table_checksum__names_the_checksum),
        cmocka_unit_test(test_pk_disk_format__no_valid_header__names_the_headers),
        cmocka_unit_test(test_pk_disk_format__bad_geometry__writes_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
