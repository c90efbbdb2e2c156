/*
 * tests/test_kernel_pk_ckpt.c: checkpoint, migration and restart of the
 * persistent kernel's real object store on the checkpointing disk
 * (pk_ckpt.h): byte-identical round trips, eager and lazy; a frame pool
 * smaller than the graph (eviction and reload through the disk); the
 * copy-on-write snapshot; migration home and a full checkpoint area; OIDs
 * and counts across restarts (the saved OID counter, placed pages); the
 * disk as the store's backing.  What becomes of the disk itself --
 * tombstones on it, failed commits, flipped bits, malformed images, the
 * fsck -- is test_kernel_pk_disk.c's.
 *
 * The workload is the randomized object graph of tests/pk_test_graph.h on
 * kernel-guest's PkStore (banks, capabilities, the cache's write protocol,
 * tombstones), with a model of what the store must hold; "the restarted
 * store equals the checkpoint" compares live objects (OID, type, count,
 * bytes) through pk_store_iterate with the model as of the checkpoint, and
 * checks every destroyed object stays destroyed.  One case runs the graph
 * in a frame pool smaller than the graph, so the cache evicts and reloads
 * through the disk and checkpoints make room.  The disk is the in-memory
 * one of tests/pk_test_memdev.h.
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
#include "tests/pk_test_memdev.h"

/* ---- round trips ------------------------------------------------------------- */

static void round_trip(PkCkptLoad mode)
{
    PkTestMemDev *m = pk_test_mem_new(2048, 0);
    PkTestGraph g;
    PkTestSnap want;
    PkCkpt *ck;
    uint64_t moved;
    SlError e;

    pk_test_graph_new(&g, 512, 1024, 400, 42);
    ck = pk_test_ckpt_open(m, g.s);
    pk_test_graph_snap(&g, &want);
    pk_test_restart_assert(m, &want, mode, 512);      /* the fresh image: empty */
    pk_test_snap_free(&want);
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 60; i++) {
            assert_int_equal(pk_test_ckpt_graph_step(&g, ck), 0);   /* the pool holds it all */
        }
        if (round == 3) {
            assert_int_equal(pk_test_graph_destroy(&g, pk_test_graph_pick(&g, PK_OBJ_PAGE)), 0);
            assert_int_equal(pk_test_graph_destroy(&g, pk_test_graph_pick(&g, PK_OBJ_NODE)), 0);
        }
        pk_test_ckpt_take(ck);
        pk_test_graph_snap(&g, &want);
        pk_test_snap_assert(&want, g.s, "the running store");
        pk_test_restart_assert(m, &want, mode, 512);
        assert_int_equal(pk_test_mem_check(m), 0);
        if (round % 2) {
            assert_int_equal(pk_ckpt_migrate(ck, round == 1 ? 10 : 0, &moved, &e), 0);
            assert_true(moved > 0);
            pk_test_restart_assert(m, &want, mode, 512);
            assert_int_equal(pk_test_mem_check(m), 0);
        }
        pk_test_snap_free(&want);
    }
    /* The workload did what it is for. */
    assert_true(g.creates > 50 && g.destroys > 10 && g.revokes > 10 && g.kills > 0);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    pk_test_mem_free(m);
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
    PkTestMemDev *m = pk_test_mem_new(1024, 0);
    PkTestGraph g;
    PkTestSnap want;
    unsigned forced = 0, evicted = 0;
    uint64_t moved;
    PkCkpt *ck;
    SlError e;

    pk_test_graph_new(&g, 16, 1024, 120, 1234);
    ck = pk_test_ckpt_open(m, g.s);
    for (int i = 0; i < 600; i++) {
        forced += pk_test_ckpt_graph_step(&g, ck);
        if (i % 150 == 149) {
            pk_test_ckpt_take(ck);
            pk_test_graph_snap(&g, &want);
            pk_test_snap_assert(&want, g.s, "the running store");   /* reloads through the disk */
            pk_test_snap_free(&want);
            assert_int_equal(pk_ckpt_migrate(ck, 0, &moved, &e), 0);
        }
    }
    pk_test_ckpt_take(ck);
    for (uint32_t i = 0; i < g.nobj; i++) {
        evicted += g.obj[i].type != PK_OBJ_NONE && !pk_cache_is_resident(g.s, g.obj[i].oid);
    }
    assert_true(forced > 5);
    assert_true(g.nlive > 16 && evicted > 0);
    pk_test_graph_snap(&g, &want);
    pk_test_snap_assert(&want, g.s, "the running store");
    pk_test_restart_assert(m, &want, PK_CKPT_LAZY, 16);
    pk_test_restart_assert(m, &want, PK_CKPT_EAGER, 16);
    pk_test_restart_assert(m, &want, PK_CKPT_EAGER, 256);
    assert_int_equal(pk_test_mem_check(m), 0);
    pk_test_snap_free(&want);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    pk_test_mem_free(m);
}

/* Mutations of every kind between begin and commit -- a page write, a node
 * write, a revoke, a destroy, a new object -- belong to the next
 * checkpoint, not to the one being written. */
static void test_pk_ckpt__write_after_begin__keeps_the_snapshot_copy(void **state)
{
    PkTestMemDev *m = pk_test_mem_new(256, 0);
    PkTestGraph g;
    PkTestSnap want;
    uint8_t a[PK_PAGE_SIZE], b[PK_PAGE_SIZE];
    PkOid page, gone, node, late;
    PkCkpt *ck;
    SlError e;

    memset(a, 0xaa, sizeof(a));
    memset(b, 0xbb, sizeof(b));
    pk_test_graph_new(&g, 64, 256, 64, 5);
    ck = pk_test_ckpt_open(m, g.s);
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
    pk_test_restart_assert(m, &want, PK_CKPT_EAGER, 64);
    pk_test_restart_assert(m, &want, PK_CKPT_LAZY, 64);
    pk_test_snap_free(&want);
    pk_test_ckpt_take(ck);                      /* the writes are dirty again */
    pk_test_graph_snap(&g, &want);
    assert_int_equal(want.obj[2].type, PK_OBJ_NONE);
    pk_test_restart_assert(m, &want, PK_CKPT_EAGER, 64);
    pk_test_restart_assert(m, &want, PK_CKPT_LAZY, 64);
    pk_test_snap_free(&want);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    pk_test_mem_free(m);
}

static void test_pk_ckpt__migration__moves_objects_home_and_frees_the_area(void **state)
{
    PkTestMemDev *m = pk_test_mem_new(512, 200);
    PkTestGraph g;
    PkTestSnap want;
    uint64_t moved;
    PkCkptStats before, after;
    PkCkpt *ck;
    SlError e;

    pk_test_graph_new(&g, 128, 512, 80, 7);
    ck = pk_test_ckpt_open(m, g.s);
    for (int i = 0; i < 100; i++) {
        pk_test_ckpt_graph_step(&g, ck);
    }
    pk_test_ckpt_take(ck);
    pk_ckpt_stats(ck, &before);
    assert_int_equal(before.objects, g.nlive);
    assert_int_equal(before.unmigrated, before.objects);
    assert_int_equal(pk_ckpt_migrate(ck, 0, &moved, &e), 0);
    assert_int_equal(moved, before.objects);
    pk_test_ckpt_take(ck);                      /* commits "home"; frees the area */
    pk_ckpt_stats(ck, &after);
    assert_int_equal(after.unmigrated, 0);
    assert_int_equal(after.ckpt_free, 200 - 1);   /* only the directory remains */
    pk_test_graph_snap(&g, &want);
    pk_test_restart_assert(m, &want, PK_CKPT_LAZY, 128);
    pk_test_snap_free(&want);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    pk_test_mem_free(m);
}

static void test_pk_ckpt__full_area__fails_and_keeps_the_last_checkpoint(void **state)
{
    PkTestMemDev *m = pk_test_mem_new(256, 20);
    PkTestGraph g;
    PkTestSnap want;
    uint8_t page[PK_PAGE_SIZE] = {1};
    PkCkpt *ck;
    PkOid oid;
    SlError e;

    pk_test_graph_new(&g, 64, 256, 64, 9);
    ck = pk_test_ckpt_open(m, g.s);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), 0);
    assert_int_equal(pk_test_graph_write(&g, oid, 0, page, sizeof(page)), 0);
    pk_test_ckpt_take(ck);
    pk_test_graph_snap(&g, &want);
    for (int i = 0; i < 38; i++) {
        assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), 0);
        assert_int_equal(pk_test_graph_write(&g, oid, 0, page, sizeof(page)), 0);
    }
    assert_int_equal(pk_ckpt_checkpoint(ck, &e), -ENOSPC);
    assert_non_null(strstr(e.msg, "checkpoint area full"));
    pk_test_restart_assert(m, &want, PK_CKPT_EAGER, 64);
    pk_test_snap_free(&want);
    pk_ckpt_free(ck);
    pk_test_graph_free(&g);
    pk_test_mem_free(m);
}

/* ---- OIDs and counts across restarts ----------------------------------------------- */

/* After a restart, lazy or eager, a new object gets an OID above every OID
 * the checkpoint knew -- live or destroyed, the highest one destroyed just
 * before it -- and above one handed out during the snapshot (in no
 * checkpoint: only the saved OID counter knows it); the checkpoint's
 * objects are all still there, and the next checkpoint keeps both. */
static void test_pk_ckpt__restart_then_new_object__gets_an_oid_never_handed_out(void **state)
{
    PkTestMemDev *m = pk_test_mem_new(1024, 0);
    PkTestGraph g;
    PkTestSnap want;
    PkOid top, late;
    PkCkpt *ck;
    uint8_t *image;
    SlError e;

    pk_test_graph_new(&g, 256, 512, 60, 77);
    ck = pk_test_ckpt_open(m, g.s);
    for (int i = 0; i < 120; i++) {
        pk_test_ckpt_graph_step(&g, ck);
    }
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &top), 0);
    pk_test_ckpt_take(ck);
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
        ck = pk_test_ckpt_open(m, got);
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
        pk_test_ckpt_take(ck);
        pk_test_restart_assert(m, &more, PK_CKPT_EAGER, 256);
        assert_int_equal(pk_test_mem_check(m), 0);
        pk_test_snap_free(&more);
        pk_ckpt_free(ck);
        pk_store_free(got);
        free(frames);
    }
    free(image);
    pk_test_snap_free(&want);
    pk_test_graph_free(&g);
    pk_test_mem_free(m);
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
    PkTestMemDev *m = pk_test_mem_new(256, 0);
    uint8_t *frames, bytes[PK_PAGE_SIZE];
    PkStore *s = placed_store_new(&frames);
    PkCkpt *ck = pk_test_ckpt_open(m, s);
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
    pk_test_ckpt_take(ck);
    pk_object_destroy(s, pk_object_find(s, p1));
    pk_test_ckpt_take(ck);
    pk_ckpt_free(ck);
    pk_store_free(s);
    free(frames);
    for (int mode = 0; mode < 2; mode++) {
        PkCap stale = {.type = PK_CAP_PAGE, .rights = PK_RIGHTS_ALL, .count = 0, .oid = p1};
        PkCkptRestartInfo ri;
        SlError e;

        s = placed_store_new(&frames);
        ck = pk_test_ckpt_open(m, s);
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
    pk_test_mem_free(m);
}

/* ---- the disk as the store's backing ----------------------------------------------------- */

/* pk_ckpt_open makes the disk the store's backing (a store that was never
 * restarted reloads what it evicted after a checkpoint); pk_ckpt_free
 * clears it, but only while it is still its own. */
static void test_pk_ckpt__open__makes_the_disk_the_backing_until_free(void **state)
{
    PkTestMemDev *m = pk_test_mem_new(256, 0);
    uint8_t *frames, bytes[PK_PAGE_SIZE];
    PkStore *s = pk_test_store_new(4, 64, &frames);
    PkCkpt *ck = pk_test_ckpt_open(m, s), *other;
    PkOid o[8];
    int32_t idx;

    for (int i = 0; i < 8; i++) {
        int rc = pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &o[i]);

        if (rc == -EBUSY) {
            pk_test_ckpt_take(ck);               /* a full pool of dirty pages: make room */
            rc = pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &o[i]);
        }
        assert_int_equal(rc, 0);
        pk_cache_begin_op(s);
        assert_int_equal(pk_cache_resolve(s, o[i], &idx), 0);
        memset(pk_object_frame_data(s, s->obj[idx].frame), i + 1, PK_PAGE_SIZE);
        pk_object_mark_dirty(s, idx);
    }
    pk_test_ckpt_take(ck);
    assert_false(pk_cache_is_resident(s, o[0]));
    for (int i = 0; i < 8; i++) {
        memset(bytes, i + 1, sizeof(bytes));
        pk_cache_begin_op(s);
        assert_int_equal(pk_cache_resolve(s, o[i], &idx), 0);
        assert_memory_equal(pk_object_frame_data(s, s->obj[idx].frame), bytes, sizeof(bytes));
    }
    other = pk_test_ckpt_open(m, s);             /* the newer one is the backing now */
    pk_ckpt_free(ck);
    assert_true(s->backing.load != NULL && s->backing.opaque == other);
    pk_ckpt_free(other);
    assert_null(s->backing.load);
    pk_store_free(s);
    free(frames);
    pk_test_mem_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pk_ckpt__random_graph__restarts_byte_identical_eagerly),
        cmocka_unit_test(test_pk_ckpt__random_graph__restarts_byte_identical_lazily),
        cmocka_unit_test(
            test_pk_ckpt__pool_smaller_than_the_graph__evicts_and_restarts_identically),
        cmocka_unit_test(test_pk_ckpt__write_after_begin__keeps_the_snapshot_copy),
        cmocka_unit_test(test_pk_ckpt__migration__moves_objects_home_and_frees_the_area),
        cmocka_unit_test(test_pk_ckpt__full_area__fails_and_keeps_the_last_checkpoint),
        cmocka_unit_test(test_pk_ckpt__restart_then_new_object__gets_an_oid_never_handed_out),
        cmocka_unit_test(test_pk_ckpt__placed_pages__keep_counts_and_bytes_across_restarts),
        cmocka_unit_test(test_pk_ckpt__open__makes_the_disk_the_backing_until_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
