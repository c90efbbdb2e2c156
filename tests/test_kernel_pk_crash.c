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
 * The store is the small fake PkStore of tests/pk_test_store.h (shared
 * with test_kernel_pk_ckpt.c), keeping the pk_store.h contract.
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
#include "kernel-guest/pk_store.h"
#include "tests/pk_test_store.h"

/* ---- recording disk ---------------------------------------------------------- */

#define CRASH_BLOCKS 96u
#define CRASH_CKPT_BLOCKS 24u   /* small: blocks are reused within the run */
#define CRASH_HOMED 16u            /* OIDs [0, 16) have a home; the rest never leave the area */
#define CRASH_SPAN 24u             /* OIDs [0, 24) */
#define CRASH_MAX_WRITES 1024u
#define CRASH_MAX_STATES 40u
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
    uint8_t *bytes;
    size_t len;
    uint64_t objects;
} CrashState;

typedef struct Crash {
    RecDev dev;
    CrashState st[CRASH_MAX_STATES];
    unsigned nst;
} Crash;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void crash_mutate(PkStore *s, uint64_t *rng)
{
    PkOid oid = rng_next(rng) % CRASH_SPAN;
    uint8_t buf[PK_PAGE_SIZE];
    uint8_t type = rng_next(rng) % 3 == 0 ? PK_OBJ_NODE : PK_OBJ_PAGE;

    for (unsigned i = 0; i < PK_PAGE_SIZE; i += 8) {
        uint64_t v = rng_next(rng);

        memcpy(buf + i, &v, 8);
    }
    if (rng_next(rng) % 8 == 0 && fake_find(s, oid)) {
        fake_destroy(s, oid);
    } else {
        fake_put(s, oid, type, (uint32_t)(rng_next(rng) % 4), buf);
    }
}

static void crash_keep(Crash *c, PkStore *s)
{
    CrashState *st = &c->st[c->nst++];
    uint64_t cur = 0;
    PkObjImage img;

    assert_true(c->nst <= CRASH_MAX_STATES);
    st->writes = c->dev.nwrites;
    st->len = fake_serialize(s, &st->bytes);
    st->objects = 0;
    while (pk_store_iterate(s, &cur, &img) == 1) {
        st->objects++;
    }
}

/* Runs the workload, recording every write and every committed state. */
static void crash_run(Crash *c)
{
    PkDiskGeometry g = {.nblocks = CRASH_BLOCKS, .ckpt_blocks = CRASH_CKPT_BLOCKS, .nranges = 1};
    PkStore *s = fake_new();
    PkBlockDev dev;
    uint64_t rng = 2024, moved;
    PkCkpt *ck;
    SlError e;

    g.ranges[0] = (PkDiskRange){0, CRASH_HOMED, 0, PK_DISK_LBA_AUTO};
    memset(c, 0, sizeof(*c));
    c->dev.nblocks = CRASH_BLOCKS;
    c->dev.img = calloc(CRASH_BLOCKS, PK_DISK_BLOCK);
    c->dev.record = true;
    dev = rec_dev(&c->dev);
    assert_int_equal(pk_disk_format_create(&dev, &g, &e), 0);
    crash_keep(c, s);                           /* the empty store, seq 0 */
    assert_int_equal(pk_ckpt_open(&dev, s, &ck, &e), 0);
    for (int round = 1; round <= CRASH_ROUNDS; round++) {
        for (int i = 0; i < 3; i++) {
            crash_mutate(s, &rng);
        }
        if (round == 3) {
            /* A write during the snapshot belongs to the next checkpoint. */
            crash_keep(c, s);
            assert_int_equal(pk_ckpt_begin(ck, &e), 0);
            crash_mutate(s, &rng);
            crash_mutate(s, &rng);
            if (pk_ckpt_commit(ck, &e) != 0) {
                fail_msg("commit: %s", e.msg);
            }
            c->st[c->nst - 1].writes = c->dev.nwrites;
        } else {
            if (pk_ckpt_checkpoint(ck, &e) != 0) {
                fail_msg("checkpoint %d: %s", round, e.msg);
            }
            crash_keep(c, s);
        }
        /* Migrate a little after most checkpoints, all of it now and then. */
        assert_int_equal(pk_ckpt_migrate(ck, round % 4 ? 2 : 0, &moved, &e), 0);
    }
    pk_ckpt_free(ck);
    fake_free(s);
    c->dev.record = false;
}

static void crash_free(Crash *c)
{
    for (uint32_t i = 0; i < c->dev.nwrites; i++) {
        free(c->dev.block[i]);
    }
    for (unsigned i = 0; i < c->nst; i++) {
        free(c->st[i].bytes);
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
        PkStore *got = fake_new();
        PkCkptRestartInfo ri;
        PkCkpt *ck;
        uint8_t *bytes;
        size_t len;
        SlError e;
        int rc = pk_ckpt_open(&dev, got, &ck, &e);

        if (!want) {
            /* Cut before the superblock: there is no image, and it says so. */
            assert_true(rc < 0);
            assert_non_null(strstr(e.msg, "superblock"));
            fake_free(got);
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
        if (mode) {
            for (PkOid oid = 0; oid < CRASH_SPAN; oid++) {
                fake_get(got, oid);
            }
        }
        assert_int_equal(ri.objects, want->objects);
        len = fake_serialize(got, &bytes);
        if (len != want->len || memcmp(bytes, want->bytes, len) != 0) {
            fail_msg("cut after %u writes (%s, %s): state differs from checkpoint seq %" PRIu64,
                     cut, how, mode ? "lazy" : "eager", ri.seq);
        }
        free(bytes);
        pk_ckpt_free(ck);
        fake_free(got);
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
                    uint64_t v = rng_next(&rng);

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
