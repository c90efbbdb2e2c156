/*
 * tests/test_kernel_pk_disk.c: the checkpointing disk's image under the
 * persistent kernel's real object store (pk_ckpt.h, pk_disk_format.h), and
 * what goes wrong with it: a destroyed object stays a tombstone on disk,
 * and the header keeps the OID counter; a commit that fails at any write
 * or flush keeps the changes for the next checkpoint; a bit flipped
 * anywhere is found by the fsck and by restart; a malformed image is
 * refused naming the field, and nothing is written to it; the fsck
 * explains a bent OID counter or tombstone in one line.  Round trips,
 * copy-on-write, restarts and eviction are test_kernel_pk_ckpt.c's.
 *
 * The workload is the randomized object graph of tests/pk_test_graph.h with
 * its model of what the store must hold.  The disk is the in-memory one of
 * tests/pk_test_memdev.h: it counts writes, so "the image is not modified"
 * is checked on the bytes, and it can fail its n-th write or flush, so a
 * commit can be made to fail at every step.
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

/* ---- tombstones and the OID counter on disk ------------------------------------------ */

/* The entry of OID oid in the newest directory of m (fails if none). */
static PkDiskDirent dir_entry(PkTestMemDev *m, PkOid oid, PkDiskHeader *h)
{
    PkBlockDev dev = pk_test_mem_dev(m);
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
    PkTestMemDev *m = pk_test_mem_new(256, 0);
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
    ck = pk_test_ckpt_open(m, g.s);
    assert_int_equal(pk_test_graph_start(&g), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &a), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_NODE, &b), 0);
    assert_int_equal(pk_test_graph_write(&g, a, 0, bytes, sizeof(bytes)), 0);
    pk_test_ckpt_take(ck);
    assert_int_equal(pk_test_graph_revoke(&g, a), 0);
    assert_int_equal(pk_test_graph_destroy(&g, a), 0);   /* count 2 now */
    pk_test_ckpt_take(ck);
    assert_int_equal(pk_ckpt_migrate(ck, 0, &moved, &e), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &c), 0);
    pk_test_ckpt_take(ck);                       /* merges the directory again */
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
    assert_int_equal(pk_test_mem_check(m), 0);
    pk_test_graph_snap(&g, &want);
    pk_test_restart_assert(m, &want, PK_CKPT_LAZY, 64);
    pk_test_restart_assert(m, &want, PK_CKPT_EAGER, 64);
    {
        uint8_t *frames;
        PkStore *got = pk_test_store_new(64, 256, &frames);
        PkCkpt *ck2 = pk_test_ckpt_open(m, got);
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
    pk_test_mem_free(m);
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
        PkTestMemDev *m = pk_test_mem_new(512, 0);
        PkBlockDev dev = pk_test_mem_dev(m);
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
        ck = pk_test_ckpt_open(m, g.s);
        for (int i = 0; i < 80; i++) {
            assert_int_equal(pk_test_ckpt_graph_step(&g, ck), 0);
        }
        pk_test_ckpt_take(ck);
        pk_test_graph_snap(&g, &prev);
        for (int i = 0; i < 40; i++) {
            assert_int_equal(pk_test_ckpt_graph_step(&g, ck), 0);
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
            pk_test_mem_free(m);
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
            pk_test_restart_assert(m, &want, PK_CKPT_EAGER, 128);
        } else {
            pk_test_restart_assert(m, &prev, PK_CKPT_EAGER, 128);
        }
        /* The retry writes everything the failed commit had, and more. */
        for (int i = 0; i < 10; i++) {
            assert_int_equal(pk_test_ckpt_graph_step(&g, ck), 0);
        }
        pk_test_graph_snap(&g, &next);
        pk_test_ckpt_take(ck);
        pk_test_restart_assert(m, &next, PK_CKPT_EAGER, 128);
        pk_test_restart_assert(m, &next, PK_CKPT_LAZY, 128);
        assert_int_equal(pk_test_mem_check(m), 0);
        if (l.hdr[l.newest].seq == 2) {
            /* The retry's header went to the same slot: put the landed one
             * back, as if the power failed just before the retry's. */
            memcpy(m->img + slot * PK_DISK_BLOCK, landed_header, PK_DISK_BLOCK);
            pk_test_restart_assert(m, &want, PK_CKPT_EAGER, 128);
            assert_int_equal(pk_test_mem_check(m), 0);
        }
        pk_test_snap_free(&prev);
        pk_test_snap_free(&want);
        pk_test_snap_free(&next);
        pk_ckpt_free(ck);
        pk_test_graph_free(&g);
        pk_test_mem_free(m);
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
    PkTestMemDev *m = pk_test_mem_new(256, 100);
    PkTestGraph g;
    uint64_t rng = 99, moved, blocks[64];
    unsigned nb = 0;
    uint8_t *clean;
    PkCkpt *ck;
    SlError e;

    pk_test_graph_new(&g, 64, 256, 20, 99);
    ck = pk_test_ckpt_open(m, g.s);
    for (int i = 0; i < 50; i++) {
        pk_test_ckpt_graph_step(&g, ck);
    }
    pk_test_ckpt_take(ck);
    assert_int_equal(pk_ckpt_migrate(ck, 5, &moved, &e), 0);   /* some objects home */
    assert_int_equal(moved, 5);
    for (int i = 0; i < 15; i++) {
        pk_test_ckpt_graph_step(&g, ck);
    }
    pk_test_ckpt_take(ck);
    pk_ckpt_free(ck);
    clean = malloc(m->nblocks * PK_DISK_BLOCK);
    memcpy(clean, m->img, m->nblocks * PK_DISK_BLOCK);
    /* The blocks in use: metadata, the directory, every object. */
    {
        PkBlockDev dev = pk_test_mem_dev(m);
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
            PkBlockDev dev = pk_test_mem_dev(m);
            PkCkptRestartInfo ri;
            int rc;

            memcpy(m->img, clean, m->nblocks * PK_DISK_BLOCK);
            m->img[blocks[k] * PK_DISK_BLOCK + bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (pk_test_mem_check(m) == 0) {
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
    pk_test_mem_free(m);
}

/* A lazily restarted store loads an object whose block was flipped after
 * the restart: the load fails with -EIO and nothing is installed. */
static void test_pk_ckpt__bit_flip_in_an_object__fails_its_lazy_load(void **state)
{
    PkTestMemDev *m = pk_test_mem_new(256, 0);
    PkTestGraph g;
    uint8_t page[PK_PAGE_SIZE] = {3}, *frames;
    PkStore *got = pk_test_store_new(16, 64, &frames);
    PkOid first, second;
    PkCkptRestartInfo ri;
    PkCkpt *ck;
    int32_t idx;
    SlError e;

    pk_test_graph_new(&g, 16, 64, 8, 3);
    ck = pk_test_ckpt_open(m, g.s);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &first), 0);
    assert_int_equal(pk_test_graph_create(&g, PK_BANK_PRIME, PK_OBJ_PAGE, &second), 0);
    assert_int_equal(pk_test_graph_write(&g, first, 0, page, sizeof(page)), 0);
    assert_int_equal(pk_test_graph_write(&g, second, 0, page, sizeof(page)), 0);
    pk_test_ckpt_take(ck);
    pk_ckpt_free(ck);
    ck = pk_test_ckpt_open(m, got);
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
    pk_test_mem_free(m);
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
    PkTestMemDev *m = pk_test_mem_new_geometry(&geo);
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
    h = pk_test_mem_hash(m);
    dev = pk_test_mem_dev(m);
    assert_true(pk_disk_format_open(&dev, &l, &e) < 0);
    assert_null(strchr(e.msg, '\n'));
    if (!strstr(e.msg, field)) {
        fail_msg("error \"%s\" does not name \"%s\"", e.msg, field);
    }
    assert_true(pk_ckpt_open(&dev, s, &ck, &e) < 0);
    assert_true(pk_disk_format_check(&dev, pk_test_note_count, &lines) >= 1);
    assert_int_equal(lines, 1);
    assert_int_equal(m->refused, 0);
    assert_int_equal(pk_test_mem_hash(m), h);
    pk_store_free(s);
    free(frames);
    pk_test_mem_free(m);
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
    PkTestMemDev m = {.nblocks = 64};
    PkBlockDev dev;
    PkDiskGeometry g = {.nblocks = 64, .ckpt_blocks = 20, .nranges = 2};
    SlError e;

    m.img = calloc(64, PK_DISK_BLOCK);
    dev = pk_test_mem_dev(&m);
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
    PkTestMemDev *m = pk_test_mem_new(256, 0);
    PkBlockDev dev = pk_test_mem_dev(m);
    uint8_t *frames;
    PkStore *s = pk_test_store_new(16, 64, &frames);
    PkCkpt *ck = pk_test_ckpt_open(m, s);
    PkCkptRestartInfo ri;
    PkDiskLayout l;
    PkDiskHeader h;
    PkOid a, b;
    Notes notes = {0};
    SlError e;
    int rc;

    assert_int_equal(pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &a), 0);
    assert_int_equal(pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &b), 0);
    pk_test_ckpt_take(ck);
    pk_object_destroy(s, pk_object_find(s, a));
    pk_test_ckpt_take(ck);
    pk_ckpt_free(ck);
    assert_int_equal(pk_test_mem_check(m), 0);
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
    pk_test_mem_free(m);
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
        cmocka_unit_test(test_pk_ckpt__destroyed_object__stays_a_tombstone_on_disk),
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
