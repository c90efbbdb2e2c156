/*
 * tests/test_kernel_pk_ckpt.c: checkpoint, migration and restart on the
 * checkpointing disk's format, and the fsck.
 *
 * The store is the small fake PkStore of tests/pk_test_store.h, which
 * keeps the pk_store.h contract -- copy-on-write snapshots, install, clear,
 * a backing for misses, iteration in OID order -- so the disk side is tested
 * against the header, not against one store's internals.  The disk is an
 * in-memory PkBlockDev that counts writes, so "the image is not modified"
 * is checked on the bytes.
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

/* A fresh image: nblocks, checkpoint area ckpt (0 = default), one range. */
static MemDev *mem_new(uint64_t nblocks, uint64_t ckpt)
{
    MemDev *m = calloc(1, sizeof(*m));
    PkDiskGeometry g = {.nblocks = nblocks, .ckpt_blocks = ckpt};
    PkBlockDev dev;
    SlError e;

    assert_non_null(m);
    m->nblocks = nblocks;
    m->img = calloc(nblocks, PK_DISK_BLOCK);
    assert_non_null(m->img);
    dev = mem_dev(m);
    if (pk_disk_format_create(&dev, &g, &e) != 0) {
        fail_msg("create: %s", e.msg);
    }
    return m;
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

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Writes or rewrites a random object among OIDs [0, span): pages of random
 * bytes, nodes of capabilities naming other objects of the graph. */
static void graph_mutate(PkStore *s, uint64_t *rng, PkOid span)
{
    PkOid oid = rng_next(rng) % span;
    uint8_t buf[PK_PAGE_SIZE];
    uint8_t type = (rng_next(rng) % 4) == 0 ? PK_OBJ_NODE : PK_OBJ_PAGE;

    if (type == PK_OBJ_PAGE) {
        for (unsigned i = 0; i < PK_PAGE_SIZE; i += 8) {
            uint64_t v = rng_next(rng);

            memcpy(buf + i, &v, 8);
        }
    } else {
        memset(buf, 0, sizeof(buf));
        for (unsigned i = 0; i < PK_NODE_SLOTS; i++) {
            PkCap c = {.type = (uint8_t)(1 + rng_next(rng) % 3),
                       .rights = (uint8_t)rng_next(rng),
                       .count = (uint32_t)(rng_next(rng) % 5),
                       .oid = rng_next(rng) % span};

            /* Explicit layout: the 16-byte capability of pk_store.h. */
            buf[i * 16] = c.type;
            buf[i * 16 + 1] = c.rights;
            memcpy(buf + i * 16 + 4, &c.count, 4);
            memcpy(buf + i * 16 + 8, &c.oid, 8);
        }
    }
    fake_put(s, oid, type, (uint32_t)(rng_next(rng) % 3), buf);
}

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

/* Restarts a new store from m and compares it with want. */
static void assert_restart_equals(MemDev *m, PkStore *want, PkCkptLoad mode)
{
    PkStore *got = fake_new();
    PkCkpt *ck = ckpt_open_ok(m, got);
    PkCkptRestartInfo ri;
    uint8_t *a, *b;
    size_t la, lb;
    SlError e;

    if (pk_ckpt_restart(ck, mode, &ri, &e) != 0) {
        fail_msg("restart: %s", e.msg);
    }
    assert_int_equal(ri.bad_headers, 0);
    {
        uint64_t live = 0;

        for (uint32_t i = 0; i < want->n; i++) {
            live += want->o[i]->type != PK_OBJ_NONE;
        }
        assert_int_equal(ri.objects, live);
    }
    if (mode == PK_CKPT_LAZY) {
        assert_int_equal(ri.loaded, 0);
        for (uint32_t i = 0; i < want->n; i++) {
            if (want->o[i]->type != PK_OBJ_NONE) {
                assert_non_null(fake_get(got, want->o[i]->oid));
            }
        }
    }
    la = fake_serialize(want, &a);
    lb = fake_serialize(got, &b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    pk_ckpt_free(ck);
    fake_free(got);
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
    PkStore *s = fake_new();
    PkCkpt *ck = ckpt_open_ok(m, s);
    uint64_t rng = 42, moved;
    SlError e;

    assert_restart_equals(m, s, mode);          /* the fresh image: empty */
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 60; i++) {
            graph_mutate(s, &rng, 200);
        }
        if (round == 3) {
            fake_destroy(s, s->o[0]->oid);
            fake_destroy(s, s->o[s->n / 2]->oid);
        }
        ckpt_ok(ck);
        assert_restart_equals(m, s, mode);
        assert_int_equal(check_image(m), 0);
        if (round % 2) {
            assert_int_equal(pk_ckpt_migrate(ck, round == 1 ? 10 : 0, &moved, &e), 0);
            assert_true(moved > 0);
            assert_restart_equals(m, s, mode);
            assert_int_equal(check_image(m), 0);
        }
    }
    pk_ckpt_free(ck);
    fake_free(s);
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

static void test_pk_ckpt__write_after_begin__keeps_the_snapshot_copy(void **state)
{
    MemDev *m = mem_new(256, 0);
    PkStore *s = fake_new(), *want = fake_new();
    PkCkpt *ck = ckpt_open_ok(m, s);
    uint8_t a[PK_PAGE_SIZE], b[PK_PAGE_SIZE];
    SlError e;

    memset(a, 0xaa, sizeof(a));
    memset(b, 0xbb, sizeof(b));
    fake_put(s, 5, PK_OBJ_PAGE, 1, a);
    fake_put(want, 5, PK_OBJ_PAGE, 1, a);
    assert_int_equal(pk_ckpt_begin(ck, &e), 0);
    fake_put(s, 5, PK_OBJ_PAGE, 1, b);          /* the machine runs on */
    assert_int_equal(pk_ckpt_commit(ck, &e), 0);
    assert_restart_equals(m, want, PK_CKPT_EAGER);
    ckpt_ok(ck);                                /* the write is dirty again */
    fake_put(want, 5, PK_OBJ_PAGE, 1, b);
    assert_restart_equals(m, want, PK_CKPT_EAGER);
    pk_ckpt_free(ck);
    fake_free(s);
    fake_free(want);
    mem_free(m);
}

static void test_pk_ckpt__migration__moves_objects_home_and_frees_the_area(void **state)
{
    MemDev *m = mem_new(512, 200);
    PkStore *s = fake_new();
    PkCkpt *ck = ckpt_open_ok(m, s);
    uint64_t rng = 7, moved;
    PkCkptStats before, after;
    SlError e;

    for (int i = 0; i < 100; i++) {
        graph_mutate(s, &rng, 80);
    }
    ckpt_ok(ck);
    pk_ckpt_stats(ck, &before);
    assert_int_equal(before.unmigrated, before.objects);
    assert_int_equal(pk_ckpt_migrate(ck, 0, &moved, &e), 0);
    assert_int_equal(moved, before.objects);
    ckpt_ok(ck);                                /* commits "home"; frees the area */
    pk_ckpt_stats(ck, &after);
    assert_int_equal(after.unmigrated, 0);
    assert_int_equal(after.ckpt_free, 200 - 1);   /* only the directory remains */
    assert_restart_equals(m, s, PK_CKPT_LAZY);
    pk_ckpt_free(ck);
    fake_free(s);
    mem_free(m);
}

static void test_pk_ckpt__full_area__fails_and_keeps_the_last_checkpoint(void **state)
{
    MemDev *m = mem_new(256, 20);
    PkStore *s = fake_new(), *want = fake_new();
    PkCkpt *ck = ckpt_open_ok(m, s);
    uint8_t page[PK_PAGE_SIZE] = {1};
    SlError e;

    fake_put(s, 1, PK_OBJ_PAGE, 0, page);
    fake_put(want, 1, PK_OBJ_PAGE, 0, page);
    ckpt_ok(ck);
    for (PkOid oid = 2; oid < 40; oid++) {
        fake_put(s, oid, PK_OBJ_PAGE, 0, page);
    }
    assert_int_equal(pk_ckpt_checkpoint(ck, &e), -ENOSPC);
    assert_non_null(strstr(e.msg, "checkpoint area full"));
    assert_restart_equals(m, want, PK_CKPT_EAGER);
    pk_ckpt_free(ck);
    fake_free(s);
    fake_free(want);
    mem_free(m);
}

/* ---- bit flips ------------------------------------------------------------------ */

/* Every block the newest checkpoint relies on, flipped one bit at a time at
 * several places: check counts an inconsistency, and restart either fails
 * or says a header was bad -- never loads the flipped bytes. */
static void test_pk_ckpt__bit_flip_anywhere__is_detected_by_check_and_restart(void **state)
{
    MemDev *m = mem_new(256, 100);
    PkStore *s = fake_new();
    PkCkpt *ck = ckpt_open_ok(m, s);
    uint64_t rng = 99, moved, blocks[64];
    unsigned nb = 0;
    uint8_t *clean;
    SlError e;

    for (int i = 0; i < 30; i++) {
        graph_mutate(s, &rng, 20);
    }
    ckpt_ok(ck);
    assert_int_equal(pk_ckpt_migrate(ck, 5, &moved, &e), 0);   /* some objects home */
    for (int i = 0; i < 10; i++) {
        graph_mutate(s, &rng, 20);
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
        for (uint64_t i = 0; i < n && nb < 64; i++) {
            blocks[nb++] = d[i].lba;
        }
        free(d);
    }
    for (unsigned k = 0; k < nb; k++) {
        for (int t = 0; t < 6; t++) {
            uint64_t bit = (t == 0 ? 0 : t == 1 ? PK_DISK_BLOCK * 8 - 1 : rng_next(&rng) % (PK_DISK_BLOCK * 8));
            PkStore *got = fake_new();
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
            fake_free(got);
        }
    }
    free(clean);
    fake_free(s);
    mem_free(m);
}

static void test_pk_ckpt__bit_flip_in_an_object__fails_its_lazy_load(void **state)
{
    MemDev *m = mem_new(256, 0);
    PkStore *s = fake_new(), *got = fake_new();
    PkCkpt *ck = ckpt_open_ok(m, s);
    uint8_t page[PK_PAGE_SIZE] = {3};
    PkCkptRestartInfo ri;
    SlError e;

    fake_put(s, 9, PK_OBJ_PAGE, 0, page);
    fake_put(s, 10, PK_OBJ_PAGE, 0, page);
    ckpt_ok(ck);
    pk_ckpt_free(ck);
    ck = ckpt_open_ok(m, got);
    assert_int_equal(pk_ckpt_restart(ck, PK_CKPT_LAZY, &ri, &e), 0);
    /* Object 9 is the first block the checkpoint wrote. */
    m->img[(size_t)PK_DISK_META_BLOCKS * PK_DISK_BLOCK + 4095] ^= 0x10;
    assert_null(fake_get(got, 9));
    assert_non_null(fake_get(got, 10));
    pk_ckpt_free(ck);
    fake_free(got);
    fake_free(s);
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
    MemDev *m = mem_new(64, 20);
    PkStore *s = fake_new();
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
    fake_free(s);
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
