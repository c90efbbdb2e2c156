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
 * The store is the same small fake PkStore as test_kernel_pk_ckpt.c's,
 * keeping the pk_store.h contract.
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

/* ---- fake store (as in test_kernel_pk_ckpt.c) ------------------------------- */

typedef struct FakeObj {
    PkOid oid;
    uint8_t type;                /* PK_OBJ_NONE: destroyed, not yet checkpointed */
    uint32_t count, len;
    uint8_t data[PK_PAGE_SIZE];
    bool dirty, marked;
    uint8_t *copy;               /* snapshot copy, made by a write while marked */
    uint8_t snap_type;
    uint32_t snap_count;
} FakeObj;

struct PkStore {
    FakeObj **o;                 /* sorted by OID */
    uint32_t n, cap;
    PkBacking backing;
    bool has_backing;
    uint32_t snap_pos;
    bool snap_active;
};

static PkStore *fake_new(void)
{
    PkStore *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    return s;
}

static uint32_t fake_lower(const PkStore *s, PkOid oid)
{
    uint32_t lo = 0, hi = s->n;

    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;

        if (s->o[mid]->oid < oid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static FakeObj *fake_find(const PkStore *s, PkOid oid)
{
    uint32_t i = fake_lower(s, oid);

    return i < s->n && s->o[i]->oid == oid ? s->o[i] : NULL;
}

static FakeObj *fake_insert(PkStore *s, PkOid oid)
{
    uint32_t i = fake_lower(s, oid);
    FakeObj *o;

    if (i < s->n && s->o[i]->oid == oid) {
        return s->o[i];
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->o = realloc(s->o, s->cap * sizeof(*s->o));
        assert_non_null(s->o);
    }
    o = calloc(1, sizeof(*o));
    assert_non_null(o);
    o->oid = oid;
    memmove(&s->o[i + 1], &s->o[i], (s->n - i) * sizeof(*s->o));
    s->o[i] = o;
    s->n++;
    return o;
}

static void fake_remove_at(PkStore *s, uint32_t i)
{
    free(s->o[i]->copy);
    free(s->o[i]);
    memmove(&s->o[i], &s->o[i + 1], (s->n - i - 1) * sizeof(*s->o));
    s->n--;
}

void pk_store_clear(PkStore *s)
{
    while (s->n) {
        fake_remove_at(s, s->n - 1);
    }
}

static void fake_free(PkStore *s)
{
    pk_store_clear(s);
    free(s->o);
    free(s);
}

/* A mutation: copy-on-write if the snapshot still needs the old bytes. */
static FakeObj *fake_prepare_write(PkStore *s, PkOid oid)
{
    FakeObj *o = fake_insert(s, oid);

    if (o->marked && !o->copy) {
        o->copy = malloc(PK_PAGE_SIZE);
        assert_non_null(o->copy);
        memcpy(o->copy, o->data, PK_PAGE_SIZE);
    }
    o->dirty = true;
    return o;
}

static void fake_put(PkStore *s, PkOid oid, uint8_t type, uint32_t count, const void *data)
{
    FakeObj *o = fake_prepare_write(s, oid);

    o->type = type;
    o->count = count;
    o->len = type == PK_OBJ_PAGE ? PK_PAGE_SIZE : PK_DISK_NODE_LEN;
    memset(o->data, 0, sizeof(o->data));
    memcpy(o->data, data, o->len);
}

static void fake_destroy(PkStore *s, PkOid oid)
{
    FakeObj *o = fake_prepare_write(s, oid);

    o->type = PK_OBJ_NONE;
}

/* The object, loaded through the backing on a miss; NULL if it cannot be. */
static const FakeObj *fake_get(PkStore *s, PkOid oid)
{
    FakeObj *o = fake_find(s, oid);
    uint8_t buf[PK_PAGE_SIZE], type;
    uint32_t count;

    if (o) {
        return o->type == PK_OBJ_NONE ? NULL : o;
    }
    if (!s->has_backing || s->backing.load(s->backing.opaque, oid, &type, &count, buf, sizeof(buf))) {
        return NULL;
    }
    o = fake_insert(s, oid);
    o->type = type;
    o->count = count;
    o->len = type == PK_OBJ_PAGE ? PK_PAGE_SIZE : PK_DISK_NODE_LEN;
    memcpy(o->data, buf, o->len);
    return o;
}

int pk_store_snapshot_begin(PkStore *s, uint64_t epoch)
{
    if (s->snap_active) {
        return -EBUSY;
    }
    for (uint32_t i = 0; i < s->n; i++) {
        FakeObj *o = s->o[i];

        o->marked = o->dirty;
        o->dirty = false;
        o->snap_type = o->type;
        o->snap_count = o->count;
    }
    s->snap_pos = 0;
    s->snap_active = true;
    return 0;
}

int pk_store_snapshot_next(PkStore *s, PkObjImage *img)
{
    for (; s->snap_pos < s->n; s->snap_pos++) {
        FakeObj *o = s->o[s->snap_pos];

        if (o->marked) {
            img->oid = o->oid;
            img->type = o->snap_type;
            img->count = o->snap_count;
            img->data = o->copy ? o->copy : o->data;
            img->len = o->snap_type == PK_OBJ_PAGE ? PK_PAGE_SIZE
                       : o->snap_type == PK_OBJ_NODE ? PK_DISK_NODE_LEN : 0;
            s->snap_pos++;
            return 1;
        }
    }
    return 0;
}

void pk_store_snapshot_end(PkStore *s)
{
    for (uint32_t i = s->n; i-- > 0;) {
        FakeObj *o = s->o[i];

        free(o->copy);
        o->copy = NULL;
        o->marked = false;
        if (o->type == PK_OBJ_NONE && !o->dirty) {
            fake_remove_at(s, i);
        }
    }
    s->snap_active = false;
}

int pk_store_install(PkStore *s, const PkObjImage *img)
{
    FakeObj *o = fake_insert(s, img->oid);

    o->type = img->type;
    o->count = img->count;
    o->len = img->len;
    o->dirty = false;
    memset(o->data, 0, sizeof(o->data));
    memcpy(o->data, img->data, img->len);
    return 0;
}

void pk_store_set_backing(PkStore *s, const PkBacking *b)
{
    s->has_backing = b != NULL;
    if (b) {
        s->backing = *b;
    }
}

int pk_store_iterate(PkStore *s, uint64_t *cursor, PkObjImage *img)
{
    while (*cursor < s->n) {
        FakeObj *o = s->o[(*cursor)++];

        if (o->type != PK_OBJ_NONE) {
            *img = (PkObjImage){o->oid, o->type, o->count, o->data, o->len};
            return 1;
        }
    }
    return 0;
}

/* Everything in the store, as one comparable byte string. */
static size_t fake_serialize(PkStore *s, uint8_t **out)
{
    size_t len = 0, cap = 1024;
    uint8_t *buf = malloc(cap);
    uint64_t cur = 0;
    PkObjImage img;

    assert_non_null(buf);
    while (pk_store_iterate(s, &cur, &img) == 1) {
        size_t need = 17 + img.len;

        while (len + need > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        memcpy(buf + len, &img.oid, 8);
        memcpy(buf + len + 8, &img.count, 4);
        memcpy(buf + len + 12, &img.len, 4);
        buf[len + 16] = img.type;
        memcpy(buf + len + 17, img.data, img.len);
        len += need;
    }
    *out = buf;
    return len;
}

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
