/*
 * tests/test_kernel_pk_crash.c: crash consistency of the checkpointing
 * disk, CrashMonkey-style.
 *
 * A workload -- create the image, then several checkpoints with
 * migrations between them and a write during a snapshot -- runs on an
 * in-memory disk that records every block write.  Then, for EVERY prefix of
 * that write sequence, and for torn versions of each write (first half new
 * and second half old, the reverse, and random bytes), the test builds the
 * image a power cut would have left, restarts from it (eagerly and lazily)
 * and asserts the store equals the last checkpoint whose header write was
 * complete before the cut -- and that fsck finds nothing wrong except a
 * torn header.  Writes are replayed in issue order (the checkpoint flushes
 * before and after its header, so that order is the one a device that
 * honours flushes could expose at the commit point).
 *
 * The store is kernel-guest's real PkStore running the randomized object
 * graph of tests/pk_test_graph.h (creates, writes, revokes, destroys, a
 * bank killed) in a frame pool smaller than the graph, booted lazily from
 * the disk (its backing from pk_ckpt_open on) so the cache evicts and
 * reloads through it; when the pool is full of dirty objects a checkpoint
 * makes room, and that commit is one more state to restart to.  "Equals
 * the checkpoint" compares the restarted store with the graph's model as of
 * that checkpoint (pk_test_snap_diff): live objects, and destroyed ones
 * staying destroyed -- and the restarted store's next new object gets an
 * OID that checkpoint never knew (the tombstones and the saved OID
 * counter).  The eager restart is into a pool smaller than the graph too.
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

#include "kernel-guest/pk_ckpt.h"
#include "kernel-guest/pk_disk_format.h"
#include "kernel-guest/pk_object.h"
#include "tests/pk_test_graph.h"

/* ---- recording disk ---------------------------------------------------------- */

#define CRASH_BLOCKS 96u
#define CRASH_CKPT_BLOCKS 24u   /* small: blocks are reused within the run */
#define CRASH_HOMED 24u         /* the first 24 OIDs have a home; later ones never leave the area */
#define CRASH_LIVE 16u          /* objects the graph keeps at most */
#define CRASH_FRAMES 6u         /* the workload's pool: smaller than the graph */
#define CRASH_MAX_WRITES 1024u
#define CRASH_MAX_STATES 64u
#define CRASH_ROUNDS 30

typedef struct RecDev {
    uint8_t *img;
    uint64_t nblocks;
    bool record, read_only;
    uint32_t nwrites;
    uint64_t lba[CRASH_MAX_WRITES];
    uint8_t *block[CRASH_MAX_WRITES];
    unsigned refused;
} RecDev;

static int rec_read(void *opaque, uint64_t lba, uint32_t count, void *buf)
{
    RecDev *d = opaque;

    if (lba > d->nblocks || count > d->nblocks - lba) {
        return -EINVAL;
    }
    memcpy(buf, d->img + lba * PK_DISK_BLOCK, (size_t)count * PK_DISK_BLOCK);
    return 0;
}

/* Records a multi-block write as single-block writes: a power cut can land
 * between any two blocks of one request. */
static int rec_write(void *opaque, uint64_t lba, uint32_t count, const void *buf)
{
    RecDev *d = opaque;

    if (d->read_only) {
        d->refused++;
        return -EROFS;
    }
    if (lba > d->nblocks || count > d->nblocks - lba) {
        return -EINVAL;
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *b = (const uint8_t *)buf + (size_t)i * PK_DISK_BLOCK;

        memcpy(d->img + (lba + i) * PK_DISK_BLOCK, b, PK_DISK_BLOCK);
        if (d->record) {
            assert_true(d->nwrites < CRASH_MAX_WRITES);
            d->lba[d->nwrites] = lba + i;
            d->block[d->nwrites] = malloc(PK_DISK_BLOCK);
            assert_non_null(d->block[d->nwrites]);
            memcpy(d->block[d->nwrites], b, PK_DISK_BLOCK);
            d->nwrites++;
        }
    }
    return 0;
}

static int rec_flush(void *opaque)
{
    return 0;
}

static PkBlockDev rec_dev(RecDev *d)
{
    return (PkBlockDev){rec_read, rec_write, rec_flush, d, d->nblocks};
}

/* ---- the workload ------------------------------------------------------------- */

/* A committed state: valid once the first `writes` writes are on disk. */
typedef struct CrashState {
    uint32_t writes;
    PkTestSnap snap;
} CrashState;

typedef struct Crash {
    RecDev dev;
    CrashState st[CRASH_MAX_STATES];
    unsigned nst;
    unsigned forced;             /* checkpoints the pool asked for */
    unsigned evicted;            /* live objects out of the pool at the end */
} Crash;

/* The state a commit made durable, once it is on disk. */
static void crash_keep(Crash *c, const PkTestSnap *snap)
{
    CrashState *st = &c->st[c->nst++];

    assert_true(c->nst <= CRASH_MAX_STATES);
    st->writes = c->dev.nwrites;
    st->snap = *snap;
}

static void crash_checkpoint(Crash *c, PkCkpt *ck, PkTestGraph *g)
{
    PkTestSnap snap;
    SlError e;

    pk_test_graph_snap(g, &snap);
    if (pk_ckpt_checkpoint(ck, &e) != 0) {
        fail_msg("checkpoint %u: %s", c->nst, e.msg);
    }
    crash_keep(c, &snap);
}

/* One graph step; a pool full of dirty objects is one more checkpoint. */
static void crash_step(Crash *c, PkCkpt *ck, PkTestGraph *g)
{
    int rc;

    while ((rc = pk_test_graph_step(g)) == -EBUSY) {
        crash_checkpoint(c, ck, g);
        c->forced++;
    }
    assert_int_equal(rc, 0);
}

/* Runs the workload, recording every write and every committed state. */
static void crash_run(Crash *c)
{
    PkDiskGeometry g = {.nblocks = CRASH_BLOCKS, .ckpt_blocks = CRASH_CKPT_BLOCKS, .nranges = 1};
    PkCkptRestartInfo ri;
    PkTestGraph graph;
    PkTestSnap snap;
    PkBlockDev dev;
    uint64_t moved;
    PkCkpt *ck;
    SlError e;

    g.ranges[0] = (PkDiskRange){PK_OID_FIRST, PK_OID_FIRST + CRASH_HOMED, 0, PK_DISK_LBA_AUTO};
    memset(c, 0, sizeof(*c));
    c->dev.nblocks = CRASH_BLOCKS;
    c->dev.img = calloc(CRASH_BLOCKS, PK_DISK_BLOCK);
    c->dev.record = true;
    dev = rec_dev(&c->dev);
    pk_test_graph_new(&graph, CRASH_FRAMES, 256, CRASH_LIVE, 2024);
    assert_int_equal(pk_disk_format_create(&dev, &g, &e), 0);
    pk_test_graph_snap(&graph, &snap);
    crash_keep(c, &snap);                       /* the empty store, seq 0 */
    /* The disk is the store's backing from the open on: evicted objects
     * reload from there. */
    assert_int_equal(pk_ckpt_open(&dev, graph.s, &ck, &e), 0);
    assert_int_equal(pk_ckpt_restart(ck, PK_CKPT_LAZY, &ri, &e), 0);
    for (int round = 1; round <= CRASH_ROUNDS; round++) {
        /* A bank lives from round 8 to 16; its objects die with it. */
        if (round == 8 && graph.child < 0) {
            pk_test_graph_new_child(&graph);
        }
        if (round == 16 && graph.child >= 0) {
            pk_test_graph_kill(&graph);
        }
        /* Now and then a longer stretch, to fill the pool with dirty objects. */
        for (int i = 0; i < (round % 6 == 5 ? 8 : 3); i++) {
            crash_step(c, ck, &graph);
        }
        if (round == 3) {
            /* Steps during the snapshot belong to the next checkpoint.  The
             * pool may have no frame for them then: such a step does
             * nothing, which the model knows. */
            unsigned done = 0;

            pk_test_graph_snap(&graph, &snap);
            assert_int_equal(pk_ckpt_begin(ck, &e), 0);
            for (int i = 0; i < 3; i++) {
                int rc = i ? pk_test_graph_step(&graph)
                           : pk_test_graph_write_page(&graph, pk_test_graph_pick(&graph,
                                                                                 PK_OBJ_PAGE));

                assert_true(rc == 0 || rc == -EBUSY || rc == -ENOMEM);
                done += rc == 0;
            }
            assert_true(done > 0);
            if (pk_ckpt_commit(ck, &e) != 0) {
                fail_msg("commit: %s", e.msg);
            }
            crash_keep(c, &snap);
        } else {
            crash_checkpoint(c, ck, &graph);
        }
        /* Migrate a little after most checkpoints, all of it now and then. */
        assert_int_equal(pk_ckpt_migrate(ck, round % 4 ? 2 : 0, &moved, &e), 0);
    }
    for (uint32_t i = 0; i < graph.nobj; i++) {
        c->evicted += graph.obj[i].type != PK_OBJ_NONE &&
                      !pk_cache_is_resident(graph.s, graph.obj[i].oid);
    }
    pk_ckpt_free(ck);
    pk_test_graph_free(&graph);
    c->dev.record = false;
}

static void crash_free(Crash *c)
{
    for (uint32_t i = 0; i < c->dev.nwrites; i++) {
        free(c->dev.block[i]);
    }
    for (unsigned i = 0; i < c->nst; i++) {
        pk_test_snap_free(&c->st[i].snap);
    }
    free(c->dev.img);
}

/* The newest state committed once `writes` writes are on disk; NULL if
 * the image was not even created. */
static const CrashState *crash_expected(const Crash *c, uint32_t writes)
{
    const CrashState *best = NULL;

    for (unsigned i = 0; i < c->nst; i++) {
        if (c->st[i].writes <= writes) {
            best = &c->st[i];
        }
    }
    return best;
}

static void note_line(void *opaque, const char *line)
{
    (*(int *)opaque)++;
    assert_null(strchr(line, '\n'));
    if (!strstr(line, "header")) {
        fail_msg("fsck after a power cut: %s", line);
    }
}

/* Restarts from img (both ways) and compares with want. */
static void crash_check(uint8_t *img, const CrashState *want, uint32_t cut, const char *how,
                        bool torn_header_ok)
{
    RecDev d = {.img = img, .nblocks = CRASH_BLOCKS, .read_only = true};
    PkBlockDev dev = rec_dev(&d);
    int lines = 0;

    for (int mode = 0; mode < 2; mode++) {
        /* Eager: into a pool smaller than the graph (installs evict earlier
         * installs, which reload from the disk).  Lazy: a pool that holds
         * the graph, which keeps the run time of ~4 restarts per recorded
         * write down. */
        uint8_t *frames;
        PkStore *got = pk_test_store_new(mode ? 2 * CRASH_LIVE : CRASH_FRAMES, 128, &frames);
        PkCkptRestartInfo ri;
        PkCkpt *ck;
        char why[200];
        SlError e;
        PkOid oid;
        int rc = pk_ckpt_open(&dev, got, &ck, &e);

        if (!want) {
            /* Cut before the superblock: there is no image, and it says so. */
            assert_true(rc < 0);
            assert_non_null(strstr(e.msg, "superblock"));
            pk_store_free(got);
            free(frames);
            return;
        }
        if (rc == 0) {
            rc = pk_ckpt_restart(ck, mode ? PK_CKPT_LAZY : PK_CKPT_EAGER, &ri, &e);
        }
        if (rc != 0) {
            fail_msg("cut after %u writes (%s): restart: %s", cut, how, e.msg);
        }
        if (!torn_header_ok) {
            assert_int_equal(ri.bad_headers, 0);
        }
        assert_int_equal(ri.objects, want->snap.live);
        if (pk_test_snap_diff(&want->snap, got, why, sizeof(why))) {
            fail_msg("cut after %u writes (%s, %s): state differs from checkpoint seq %" PRIu64
                     ": %s", cut, how, mode ? "lazy" : "eager", ri.seq, why);
        }
        /* Nothing that checkpoint knew, live or destroyed, comes back. */
        assert_int_equal(pk_bank_new_object(got, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), 0);
        if (oid <= pk_test_snap_last_oid(&want->snap)) {
            fail_msg("cut after %u writes (%s, %s): new object 0x%" PRIx64 ", but checkpoint seq %"
                     PRIu64 " knew OIDs up to 0x%" PRIx64, cut, how, mode ? "lazy" : "eager", oid,
                     ri.seq, pk_test_snap_last_oid(&want->snap));
        }
        pk_ckpt_free(ck);
        pk_store_free(got);
        free(frames);
    }
    pk_disk_format_check(&dev, note_line, &lines);
    assert_true(torn_header_ok || lines == 0);
    assert_int_equal(d.refused, 0);
}

/* The image after the first n recorded writes. */
static void crash_build(const Crash *c, uint32_t n, uint8_t *img)
{
    memset(img, 0, (size_t)CRASH_BLOCKS * PK_DISK_BLOCK);
    for (uint32_t i = 0; i < n; i++) {
        memcpy(img + c->dev.lba[i] * PK_DISK_BLOCK, c->dev.block[i], PK_DISK_BLOCK);
    }
}

static bool crash_is_header(uint64_t lba)
{
    return lba == PK_DISK_HEADER_LBA || lba == PK_DISK_HEADER_LBA + 1;
}

static void test_pk_crash__every_prefix_of_the_writes__restarts_the_last_commit(void **state)
{
    Crash *c = malloc(sizeof(*c));
    uint8_t *img = malloc((size_t)CRASH_BLOCKS * PK_DISK_BLOCK);
    unsigned commits_seen = 0;

    crash_run(c);
    assert_true(c->dev.nwrites > 100);
    /* The run exercised what it is for: the pool asked for checkpoints and
     * some objects were out of it at the end. */
    assert_true(c->forced > 0 && c->evicted > 0);
    for (uint32_t n = 0; n <= c->dev.nwrites; n++) {
        const CrashState *want = crash_expected(c, n);

        crash_build(c, n, img);
        crash_check(img, want, n, "whole writes", false);
        commits_seen += n > 0 && want && want->writes == n;
    }
    assert_int_equal(commits_seen, c->nst);    /* every commit point was cut at */
    crash_free(c);
    free(c);
    free(img);
}

static void test_pk_crash__torn_last_write__restarts_the_last_commit(void **state)
{
    Crash *c = malloc(sizeof(*c));
    uint8_t *img = malloc((size_t)CRASH_BLOCKS * PK_DISK_BLOCK);
    uint64_t rng = 5;
    const char *hows[3] = {"torn: new half, old half", "torn: old half, new half",
                           "torn: random bytes"};

    crash_run(c);
    for (uint32_t n = 1; n <= c->dev.nwrites; n++) {
        const CrashState *want = crash_expected(c, n - 1);
        uint64_t lba = c->dev.lba[n - 1];
        const uint8_t *nb = c->dev.block[n - 1];

        for (int how = 0; how < 3; how++) {
            uint8_t *b;

            crash_build(c, n - 1, img);
            b = img + lba * PK_DISK_BLOCK;
            if (how == 0) {
                memcpy(b, nb, PK_DISK_BLOCK / 2);
            } else if (how == 1) {
                memcpy(b + PK_DISK_BLOCK / 2, nb + PK_DISK_BLOCK / 2, PK_DISK_BLOCK / 2);
            } else {
                for (unsigned i = 0; i < PK_DISK_BLOCK; i += 8) {
                    uint64_t v = pk_test_rng(&rng);

                    memcpy(b + i, &v, 8);
                }
            }
            crash_check(img, want, n - 1, hows[how], crash_is_header(lba));
        }
    }
    crash_free(c);
    free(c);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pk_crash__every_prefix_of_the_writes__restarts_the_last_commit),
        cmocka_unit_test(test_pk_crash__torn_last_write__restarts_the_last_commit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
