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
 * on the bytes, and that can fail its n-th write or flush, so a commit can
 * be made to fail at every step.
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
    unsigned fail_in;            /* > 0: the fail_in-th write or flush from now fails */
} MemDev;

/* Whether this write or flush is the one set to fail. */
static bool mem_fails(MemDev *m)
{
    return m->fail_in > 0 && --m->fail_in == 0;
}

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
    if (mem_fails(m)) {
        return -EIO;
    }
    m->writes++;
    memcpy(m->img + lba * PK_DISK_BLOCK, buf, (size_t)count * PK_DISK_BLOCK);
    return 0;
}

static int mem_flush(void *opaque)
{
    return mem_fails(opaque) ? -EIO : 0;
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

/* 16 frames for a graph of up to 120 objects, on a store that was never
 * restarted -- pk_ckpt_open alone makes the disk its backing: the cache
 * evicts clean objects and reloads them from the disk, and every time the
 * pool is full of dirty objects a checkpoint makes room.  The running store
 * and a restarted one (lazily and eagerly, in as small a pool -- an eager
 * restart evicts its own installs and reloads them) still equal the
 * model. */
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
    ck = ckpt_open_ok(m, g.s);
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
    assert_restart_equals(m, &want, PK_CKPT_EAGER, 16);
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

/* ---- OIDs and counts across restarts ----------------------------------------------- */

/* After a restart, lazy or eager, a new object gets an OID above every OID
 * the checkpoint knew -- live or destroyed, the highest one destroyed just
 * before it -- and above one handed out during the snapshot (in no
 * checkpoint: only the saved OID counter knows it); the checkpoint's
 * objects are all still there, and the next checkpoint keeps both. */
static void test_pk_ckpt__restart_then_new_object__gets_an_oid_never_handed_out(void **state)
{
    MemDev *m = mem_new(1024, 0);
    PkTestGraph g;
    PkTestSnap want;
    PkOid top, late;
    PkCkpt *ck;
    uint8_t *image;
    SlError e;

    pk_test_graph_new(&g, 256, 512, 60, 77);
    ck = ckpt_open_ok(m, g.s);
    for (int i = 0; i < 120; i++) {
        graph_step_ok(&g, ck);
    }
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &top), 0);
    ckpt_ok(ck);
    assert_int_equal(pk_test_graph_destroy(&g, top), 0);
    pk_test_graph_snap(&g, &want);
    assert_int_equal(pk_test_snap_last_oid(&want), top);
    assert_int_equal(pk_ckpt_begin(ck, &e), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_NODE, &late), 0);
    assert_int_equal(pk_ckpt_commit(ck, &e), 0);
    pk_ckpt_free(ck);
    image = malloc(m->nblocks * PK_DISK_BLOCK);
    assert_non_null(image);
    memcpy(image, m->img, m->nblocks * PK_DISK_BLOCK);
    for (int mode = 0; mode < 2; mode++) {
        uint8_t *frames;
        PkStore *got = pk_test_store_new(256, 512, &frames);
        PkCkptRestartInfo ri;
        PkTestSnap more;
        PkOid x;

        memcpy(m->img, image, m->nblocks * PK_DISK_BLOCK);
        ck = ckpt_open_ok(m, got);
        if (pk_ckpt_restart(ck, mode ? PK_CKPT_EAGER : PK_CKPT_LAZY, &ri, &e) != 0) {
            fail_msg("restart: %s", e.msg);
        }
        assert_int_equal(pk_bank_new_object(got, PK_BANK_PRIME, PK_OBJ_PAGE, &x), 0);
        if (x <= late) {
            fail_msg("%s restart: new object 0x%" PRIx64 ", but 0x%" PRIx64 " (destroyed) and 0x%"
                     PRIx64 " were handed out before", mode ? "eager" : "lazy", x, top, late);
        }
        more = want;
        more.obj = malloc(want.n * sizeof(*want.obj));
        assert_non_null(more.obj);
        memcpy(more.obj, want.obj, want.n * sizeof(*want.obj));
        pk_test_snap_add(&more, x, PK_OBJ_PAGE, PK_BANK_PRIME);
        pk_test_snap_assert(&more, got, mode ? "eager restart" : "lazy restart");
        ckpt_ok(ck);
        assert_restart_equals(m, &more, PK_CKPT_EAGER, 256);
        assert_int_equal(check_image(m), 0);
        pk_test_snap_free(&more);
        pk_ckpt_free(ck);
        pk_store_free(got);
        free(frames);
    }
    free(image);
    pk_test_snap_free(&want);
    pk_test_graph_free(&g);
    mem_free(m);
}

/* The entry of OID oid in the newest directory of m (fails if none). */
static PkDiskDirent dir_entry(MemDev *m, PkOid oid, PkDiskHeader *h)
{
    PkBlockDev dev = mem_dev(m);
    PkDiskLayout l;
    PkDiskDirent *d, found = {0};
    uint64_t n;
    bool seen = false;
    SlError e;

    assert_int_equal(pk_disk_format_open(&dev, &l, &e), 0);
    assert_int_equal(pk_disk_format_read_dir(&dev, &l, &l.hdr[l.newest], &d, &n, &e), 0);
    for (uint64_t i = 0; i < n; i++) {
        if (d[i].oid == oid) {
            found = d[i];
            seen = true;
        }
    }
    free(d);
    if (!seen) {
        fail_msg("OID 0x%" PRIx64 ": no directory entry", oid);
    }
    if (h) {
        *h = l.hdr[l.newest];
    }
    return found;
}

/* A destroyed object's entry stays in the directory as a tombstone -- type
 * NONE, the bumped count, no block -- through later checkpoints that merge
 * the directory and through migration; the header saves the OID counter.
 * A restart installs the tombstone back (eager) or answers for it from the
 * disk (lazy): a capability made before the destroy stays void. */
static void test_pk_ckpt__destroyed_object__stays_a_tombstone_on_disk(void **state)
{
    MemDev *m = mem_new(256, 0);
    uint8_t bytes[PK_PAGE_SIZE];
    PkTestGraph g;
    PkTestSnap want;
    PkDiskDirent d;
    PkDiskHeader h;
    PkCkptStats st;
    PkOid a, b, c;
    uint64_t moved;
    PkCkpt *ck;
    SlError e;

    memset(bytes, 0x5a, sizeof(bytes));
    pk_test_graph_new(&g, 64, 256, 64, 11);
    ck = ckpt_open_ok(m, g.s);
    assert_int_equal(pk_test_graph_start(&g), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &a), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_NODE, &b), 0);
    assert_int_equal(pk_test_graph_write(&g, a, 0, bytes, sizeof(bytes)), 0);
    ckpt_ok(ck);
    assert_int_equal(pk_test_graph_revoke(&g, a), 0);
    assert_int_equal(pk_test_graph_destroy(&g, a), 0);   /* count 2 now */
    ckpt_ok(ck);
    assert_int_equal(pk_ckpt_migrate(ck, 0, &moved, &e), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &c), 0);
    ckpt_ok(ck);                                 /* merges the directory again */
    d = dir_entry(m, a, &h);
    assert_int_equal(d.type, PK_OBJ_NONE);
    assert_int_equal(d.count, 2);
    assert_int_equal(d.lba, 0);
    assert_int_equal(d.len, 0);
    assert_int_equal(d.sum, 0);
    assert_int_equal(dir_entry(m, b, NULL).type, PK_OBJ_NODE);
    assert_int_equal(h.next_oid, g.s->sc.next_oid);
    assert_true(h.next_oid > c);
    pk_ckpt_stats(ck, &st);
    assert_int_equal(st.objects, g.nlive);
    assert_int_equal(st.tombstones, 1);
    assert_int_equal(st.next_oid, h.next_oid);
    assert_int_equal(check_image(m), 0);
    pk_test_graph_snap(&g, &want);
    assert_restart_equals(m, &want, PK_CKPT_LAZY, 64);
    assert_restart_equals(m, &want, PK_CKPT_EAGER, 64);
    {
        uint8_t *frames;
        PkStore *got = pk_test_store_new(64, 256, &frames);
        PkCkpt *ck2 = ckpt_open_ok(m, got);
        PkCkptRestartInfo ri;
        int32_t idx;

        assert_int_equal(pk_ckpt_restart(ck2, PK_CKPT_EAGER, &ri, &e), 0);
        assert_int_equal(ri.tombstones, 1);
        idx = pk_object_find(got, a);
        assert_true(idx >= 0);                   /* the tombstone, installed back */
        assert_int_equal(got->obj[idx].type, PK_OBJ_NONE);
        assert_int_equal(got->obj[idx].count, 2);
        pk_ckpt_free(ck2);
        pk_store_free(got);
        free(frames);
    }
    pk_test_snap_free(&want);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    mem_free(m);
}

#define PLACED_OID (PK_OID_FIRST + 2)   /* the counter hands out 0x100, 0x101, then 0x106 */

static PkStore *placed_store_new(uint8_t **frames)
{
    PkStoreConfig cfg = {.nframes = 16, .max_objects = 64, .max_banks = 2, .nplaced = 4,
                         .placed_oid = PLACED_OID};

    return pk_test_store_new_config(&cfg, frames);
}

/* Placed OIDs (guest RAM, kmem.h) are allocated again into their own
 * frame, without asking the disk.  After a restart, eager or lazy, a
 * destroyed placed page comes back with its tombstone's count (a
 * capability from before the destroy stays void), and a live placed page
 * is in its frame, not allocated over.  The counter's OIDs lie on both
 * sides of the placed ones: a new object still gets one above all. */
static void test_pk_ckpt__placed_pages__keep_counts_and_bytes_across_restarts(void **state)
{
    MemDev *m = mem_new(256, 0);
    uint8_t *frames, bytes[PK_PAGE_SIZE];
    PkStore *s = placed_store_new(&frames);
    PkCkpt *ck = ckpt_open_ok(m, s);
    PkOid p1, p2, oid, q[3];
    int32_t idx;

    memset(bytes, 0x3c, sizeof(bytes));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_NODE, &q[i]), 0);
    }
    assert_int_equal(q[2], PLACED_OID + 4);
    assert_int_equal(pk_bank_new_placed(s, PK_BANK_PRIME, 1, &p1), 0);
    assert_int_equal(pk_bank_new_placed(s, PK_BANK_PRIME, 2, &p2), 0);
    pk_cache_begin_op(s);
    assert_int_equal(pk_cache_resolve(s, p2, &idx), 0);
    memcpy(pk_object_frame_data(s, s->obj[idx].frame), bytes, sizeof(bytes));
    pk_object_mark_dirty(s, idx);
    ckpt_ok(ck);
    pk_object_destroy(s, pk_object_find(s, p1));
    ckpt_ok(ck);
    pk_ckpt_free(ck);
    pk_store_free(s);
    free(frames);
    for (int mode = 0; mode < 2; mode++) {
        PkCap stale = {.type = PK_CAP_PAGE, .rights = PK_RIGHTS_ALL, .count = 0, .oid = p1};
        PkCkptRestartInfo ri;
        SlError e;

        s = placed_store_new(&frames);
        ck = ckpt_open_ok(m, s);
        assert_int_equal(pk_ckpt_restart(ck, mode ? PK_CKPT_EAGER : PK_CKPT_LAZY, &ri, &e), 0);
        assert_int_equal(ri.objects, 4);
        assert_int_equal(ri.tombstones, 1);
        assert_int_equal(ri.loaded, mode ? 4 : 1);   /* lazily, p2 only: it is placed */
        assert_int_equal(pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), 0);
        assert_true(oid > q[2]);
        assert_int_equal(pk_bank_new_placed(s, PK_BANK_PRIME, 1, &oid), 0);
        assert_int_equal(oid, p1);
        idx = pk_object_find(s, p1);
        assert_int_equal(s->obj[idx].count, 1);
        assert_true(pk_cap_is_void(s, &stale));
        assert_int_equal(pk_bank_new_placed(s, PK_BANK_PRIME, 2, &oid), -EBUSY);
        pk_cache_begin_op(s);
        assert_int_equal(pk_cache_resolve(s, p2, &idx), 0);
        assert_memory_equal(pk_object_frame_data(s, s->obj[idx].frame), bytes, sizeof(bytes));
        pk_ckpt_free(ck);
        pk_store_free(s);
        free(frames);
    }
    mem_free(m);
}

/* ---- the disk as the store's backing ----------------------------------------------------- */

/* pk_ckpt_open makes the disk the store's backing (a store that was never
 * restarted reloads what it evicted after a checkpoint); pk_ckpt_free
 * clears it, but only while it is still its own. */
static void test_pk_ckpt__open__makes_the_disk_the_backing_until_free(void **state)
{
    MemDev *m = mem_new(256, 0);
    uint8_t *frames, bytes[PK_PAGE_SIZE];
    PkStore *s = pk_test_store_new(4, 64, &frames);
    PkCkpt *ck = ckpt_open_ok(m, s), *other;
    PkOid o[8];
    int32_t idx;

    for (int i = 0; i < 8; i++) {
        int rc = pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &o[i]);

        if (rc == -EBUSY) {
            ckpt_ok(ck);                         /* a full pool of dirty pages: make room */
            rc = pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &o[i]);
        }
        assert_int_equal(rc, 0);
        pk_cache_begin_op(s);
        assert_int_equal(pk_cache_resolve(s, o[i], &idx), 0);
        memset(pk_object_frame_data(s, s->obj[idx].frame), i + 1, PK_PAGE_SIZE);
        pk_object_mark_dirty(s, idx);
    }
    ckpt_ok(ck);
    assert_false(pk_cache_is_resident(s, o[0]));
    for (int i = 0; i < 8; i++) {
        memset(bytes, i + 1, sizeof(bytes));
        pk_cache_begin_op(s);
        assert_int_equal(pk_cache_resolve(s, o[i], &idx), 0);
        assert_memory_equal(pk_object_frame_data(s, s->obj[idx].frame), bytes, sizeof(bytes));
    }
    other = ckpt_open_ok(m, s);                  /* the newer one is the backing now */
    pk_ckpt_free(ck);
    assert_true(s->backing.load != NULL && s->backing.opaque == other);
    pk_ckpt_free(other);
    assert_null(s->backing.load);
    pk_store_free(s);
    free(frames);
    mem_free(m);
}

/* ---- failed commits ------------------------------------------------------------------ */

/* A commit that fails at any of its writes or flushes aborts the snapshot:
 * the store keeps every change, dirty, and the next checkpoint writes them
 * all.  The disk keeps the previous checkpoint -- or the new one, when
 * only the last flush failed and the header is there after all; then the
 * retry must not overwrite that checkpoint's blocks before its own header
 * replaces it (checked on the image a power cut just before the retry's
 * header would leave). */
static void test_pk_ckpt__failed_commit__keeps_the_changes_for_the_next(void **state)
{
    unsigned landed = 0, failed = 0;

    for (unsigned k = 1;; k++) {
        MemDev *m = mem_new(512, 0);
        PkBlockDev dev = mem_dev(m);
        PkTestGraph g;
        PkTestSnap prev, want, next;
        PkDiskLayout l;
        PkCkpt *ck;
        uint8_t landed_header[PK_DISK_BLOCK];
        uint64_t slot;
        SlError e;
        int rc;

        assert_true(k < 20);
        pk_test_graph_new(&g, 128, 512, 60, 31 + k);
        ck = ckpt_open_ok(m, g.s);
        for (int i = 0; i < 80; i++) {
            assert_int_equal(graph_step_ok(&g, ck), 0);
        }
        ckpt_ok(ck);
        pk_test_graph_snap(&g, &prev);
        for (int i = 0; i < 40; i++) {
            assert_int_equal(graph_step_ok(&g, ck), 0);
        }
        pk_test_graph_snap(&g, &want);
        m->fail_in = k;
        rc = pk_ckpt_checkpoint(ck, &e);
        m->fail_in = 0;
        if (rc == 0) {
            /* k is past the commit's last I/O: every step has been failed. */
            pk_test_snap_free(&prev);
            pk_test_snap_free(&want);
            pk_ckpt_free(ck);
            pk_test_graph_free(&g);
            mem_free(m);
            break;
        }
        failed++;
        assert_int_equal(rc, -EIO);
        assert_null(strchr(e.msg, '\n'));
        pk_test_snap_assert(&want, g.s, "the store after a failed commit");
        assert_int_equal(pk_disk_format_open(&dev, &l, &e), 0);
        slot = PK_DISK_HEADER_LBA + (uint64_t)l.newest;
        if (l.hdr[l.newest].seq == 2) {
            landed++;                            /* the header got there before the failure */
            memcpy(landed_header, m->img + slot * PK_DISK_BLOCK, PK_DISK_BLOCK);
            assert_restart_equals(m, &want, PK_CKPT_EAGER, 128);
        } else {
            assert_restart_equals(m, &prev, PK_CKPT_EAGER, 128);
        }
        /* The retry writes everything the failed commit had, and more. */
        for (int i = 0; i < 10; i++) {
            assert_int_equal(graph_step_ok(&g, ck), 0);
        }
        pk_test_graph_snap(&g, &next);
        ckpt_ok(ck);
        assert_restart_equals(m, &next, PK_CKPT_EAGER, 128);
        assert_restart_equals(m, &next, PK_CKPT_LAZY, 128);
        assert_int_equal(check_image(m), 0);
        if (l.hdr[l.newest].seq == 2) {
            /* The retry's header went to the same slot: put the landed one
             * back, as if the power failed just before the retry's. */
            memcpy(m->img + slot * PK_DISK_BLOCK, landed_header, PK_DISK_BLOCK);
            assert_restart_equals(m, &want, PK_CKPT_EAGER, 128);
            assert_int_equal(check_image(m), 0);
        }
        pk_test_snap_free(&prev);
        pk_test_snap_free(&want);
        pk_test_snap_free(&next);
        pk_ckpt_free(ck);
        pk_test_graph_free(&g);
        mem_free(m);
    }
    assert_true(failed >= 4);                    /* objects, directory, flush, header, flush */
    assert_int_equal(landed, 1);
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

/* ---- the fsck of tombstones and the OID counter ---------------------------------------- */

typedef struct Notes {
    int lines;
    char text[1024];
} Notes;

static void note_keep(void *opaque, const char *line)
{
    Notes *n = opaque;
    size_t len = strlen(n->text);

    n->lines++;
    assert_null(strchr(line, '\n'));
    snprintf(n->text + len, sizeof(n->text) - len, "%s|", line);
}

typedef enum Bent { BENT_LOW_NEXT_OID, BENT_COUNTER_BACK, BENT_TOMBSTONE_LBA } Bent;

/* An image of two checkpoints (the second with a tombstone), then one
 * field bent and re-sealed so only that field is wrong: check explains it
 * in one line naming it, and restart falls back to the other header or
 * refuses the directory. */
static void bent(Bent how, const char *says)
{
    MemDev *m = mem_new(256, 0);
    PkBlockDev dev = mem_dev(m);
    uint8_t *frames;
    PkStore *s = pk_test_store_new(16, 64, &frames);
    PkCkpt *ck = ckpt_open_ok(m, s);
    PkCkptRestartInfo ri;
    PkDiskLayout l;
    PkDiskHeader h;
    PkOid a, b;
    Notes notes = {0};
    SlError e;
    int rc;

    assert_int_equal(pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &a), 0);
    assert_int_equal(pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &b), 0);
    ckpt_ok(ck);
    pk_object_destroy(s, pk_object_find(s, a));
    ckpt_ok(ck);
    pk_ckpt_free(ck);
    assert_int_equal(check_image(m), 0);
    assert_int_equal(pk_disk_format_open(&dev, &l, &e), 0);
    assert_int_equal(l.hdr[l.newest].seq, 2);
    switch (how) {
    case BENT_LOW_NEXT_OID:
        h = l.hdr[l.newest];
        h.next_oid = 0x10;
        pk_disk_format_encode_header(&h, m->img + (PK_DISK_HEADER_LBA + 0) * PK_DISK_BLOCK);
        break;
    case BENT_COUNTER_BACK:
        h = l.hdr[1 - l.newest];                 /* seq 1 */
        h.next_oid = l.hdr[l.newest].next_oid + 5;
        pk_disk_format_encode_header(&h, m->img + (PK_DISK_HEADER_LBA + 1) * PK_DISK_BLOCK);
        break;
    case BENT_TOMBSTONE_LBA: {
        /* a's entry is the first of the directory: give it a block. */
        uint8_t *raw = m->img + l.hdr[l.newest].dir_lba * PK_DISK_BLOCK;
        PkDiskDirent d;

        pk_disk_format_decode_dirent(raw, &d);
        assert_int_equal(d.oid, a);
        assert_int_equal(d.type, PK_OBJ_NONE);
        d.lba = l.sb.ckpt_lba + 50;
        pk_disk_format_encode_dirent(&d, raw);
        h = l.hdr[l.newest];
        h.dir_sum = pk_disk_format_checksum(raw, (size_t)h.dir_blocks * PK_DISK_BLOCK, 0);
        pk_disk_format_encode_header(&h, m->img + (PK_DISK_HEADER_LBA + 0) * PK_DISK_BLOCK);
        break;
    }
    }
    m->read_only = true;
    assert_int_equal(pk_disk_format_check(&dev, note_keep, &notes), 1);
    assert_int_equal(notes.lines, 1);
    if (!strstr(notes.text, says)) {
        fail_msg("check said \"%s\", not \"%s\"", notes.text, says);
    }
    rc = pk_ckpt_open(&dev, s, &ck, &e);
    if (how == BENT_TOMBSTONE_LBA) {
        assert_true(rc < 0);
        assert_non_null(strstr(e.msg, "tombstone"));
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(pk_ckpt_restart(ck, PK_CKPT_EAGER, &ri, &e), 0);
        assert_int_equal(ri.bad_headers, how == BENT_LOW_NEXT_OID);
        assert_int_equal(ri.seq, how == BENT_LOW_NEXT_OID ? 1 : 2);
        pk_ckpt_free(ck);
    }
    assert_int_equal(m->refused, 0);
    pk_store_free(s);
    free(frames);
    mem_free(m);
}

static void test_pk_disk_format__next_oid_below_the_first__names_the_field(void **state)
{
    bent(BENT_LOW_NEXT_OID, "next OID: 0x10 at seq 2 is below");
}

static void test_pk_disk_format__oid_counter_gone_back__is_explained(void **state)
{
    bent(BENT_COUNTER_BACK, "the OID counter went back");
}

static void test_pk_disk_format__tombstone_with_a_block__is_explained(void **state)
{
    bent(BENT_TOMBSTONE_LBA, "a tombstone [count=1] with length 0, LBA 0x36");
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
        cmocka_unit_test(test_pk_ckpt__restart_then_new_object__gets_an_oid_never_handed_out),
        cmocka_unit_test(test_pk_ckpt__destroyed_object__stays_a_tombstone_on_disk),
        cmocka_unit_test(test_pk_ckpt__placed_pages__keep_counts_and_bytes_across_restarts),
        cmocka_unit_test(test_pk_ckpt__open__makes_the_disk_the_backing_until_free),
        cmocka_unit_test(test_pk_ckpt__failed_commit__keeps_the_changes_for_the_next),
        cmocka_unit_test(test_pk_ckpt__bit_flip_anywhere__is_detected_by_check_and_restart),
        cmocka_unit_test(test_pk_ckpt__bit_flip_in_an_object__fails_its_lazy_load),
        cmocka_unit_test(test_pk_disk_format__truncated_image__names_the_size),
        cmocka_unit_test(test_pk_disk_format__wrong_magic__names_the_magic),
        cmocka_unit_test(test_pk_disk_format__bad_superblock_checksum__names_the_checksum),
        cmocka_unit_test(test_pk_disk_format__overlapping_ranges__names_the_entry),
        cmocka_unit_test(test_pk_disk_format__bad_range_table_checksum__names_the_checksum),
        cmocka_unit_test(test_pk_disk_format__no_valid_header__names_the_headers),
        cmocka_unit_test(test_pk_disk_format__bad_geometry__writes_nothing),
        cmocka_unit_test(test_pk_disk_format__next_oid_below_the_first__names_the_field),
        cmocka_unit_test(test_pk_disk_format__oid_counter_gone_back__is_explained),
        cmocka_unit_test(test_pk_disk_format__tombstone_with_a_block__is_explained),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
