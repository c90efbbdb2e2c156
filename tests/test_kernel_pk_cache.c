/*
 * tests/test_kernel_pk_cache.c: the object cache and the checkpoint side of
 * pk_store.h -- eviction and reload through a fake PkBacking (a table the
 * snapshot is written into, standing in for the disk), -EBUSY when full of
 * dirty objects, I/O pins blocking eviction and deferring destroy, the
 * copy-on-write snapshot, abort, a randomized object graph round-trip
 * (snapshot -> clear -> install, byte-identical via iterate), lazy
 * loading after clear, and the state blob.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_cap.h"
#include "tests/pk_test_fix.h"

/* A fixture of nframes frames and max_objects objects, the fake disk its
 * backing. */
static PkTestFix *fix_new(uint32_t nframes, uint32_t max_objects)
{
    PkStoreConfig cfg = {.nframes = nframes, .max_objects = max_objects, .max_banks = 8};

    return pk_test_fix_new(&cfg, true);
}

/* The first byte of a page, through the cache (loads on a miss). */
static int page_byte(PkTestFix *f, PkOid oid)
{
    int32_t frame;
    int b;

    if (pk_cache_pin(f->s, oid, &frame) != 0) {
        return -1;
    }
    b = f->frames[(size_t)frame * PK_PAGE_SIZE + 17];
    assert_int_equal(pk_cache_unpin(f->s, oid), 0);
    return b;
}

static void test_cache__full_of_dirty_objects__asks_for_a_checkpoint(void **state)
{
    PkTestFix *f = fix_new(4, 64);
    PkOid oid;

    (void)state;
    pk_test_fix_new_page(f, 1);
    pk_test_fix_new_page(f, 2);
    pk_test_fix_new_page(f, 3);
    assert_int_equal(pk_bank_new_object(f->s, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), -EBUSY);
    assert_int_equal(pk_test_fix_checkpoint(f, 1), 4);
    assert_int_equal(pk_bank_new_object(f->s, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), 0);
    pk_test_fix_free(f);
}

static void test_cache__evicted_clean_objects__reload_through_the_backing(void **state)
{
    PkTestFix *f = fix_new(6, 64);
    PkOid oid[20];
    uint32_t i, resident = 0;

    (void)state;
    for (i = 0; i < 20; i++) {
        oid[i] = pk_test_fix_new_page(f, (uint8_t)(0x40 + i));
        if (i % 4 == 3) {
            pk_test_fix_checkpoint(f, i); /* cleans them: evictable */
        }
    }
    for (i = 0; i < 20; i++) {
        resident += pk_cache_is_resident(f->s, oid[i]);
    }
    assert_true(resident <= 6);          /* 6 frames for 20 pages and the CSpace */
    f->disk.loads = 0;
    for (i = 0; i < 20; i++) {
        assert_int_equal(page_byte(f, oid[i]), 0x40 + i);
    }
    assert_true(f->disk.loads >= 14);
    /* The same sequence again: deterministic clock, same number of loads. */
    {
        uint32_t first = f->disk.loads;

        f->disk.loads = 0;
        for (i = 0; i < 20; i++) {
            assert_int_equal(page_byte(f, oid[i]), 0x40 + i);
        }
        assert_int_equal(f->disk.loads, first);
    }
    pk_test_fix_free(f);
}

static void test_cache__pinned_object__is_never_evicted_or_moved(void **state)
{
    PkTestFix *f = fix_new(4, 64);
    PkOid pinned, other[8];
    int32_t frame, again;
    uint32_t i;

    (void)state;
    pinned = pk_test_fix_new_page(f, 0x77);
    pk_test_fix_checkpoint(f, 1);
    assert_int_equal(pk_cache_pin(f->s, pinned, &frame), 0);
    for (i = 0; i < 8; i++) {
        other[i] = pk_test_fix_new_page(f, (uint8_t)i);
        pk_test_fix_checkpoint(f, 2 + i);
    }
    for (i = 0; i < 8; i++) {
        assert_int_equal(page_byte(f, other[i]), i);
        assert_true(pk_cache_is_resident(f->s, pinned));
    }
    assert_int_equal(pk_cache_pin(f->s, pinned, &again), 0);
    assert_int_equal(again, frame);
    assert_int_equal(pk_cache_pins(f->s, pinned), 2);
    assert_int_equal(pk_cache_unpin(f->s, pinned), 0);
    assert_int_equal(pk_cache_unpin(f->s, pinned), 0);
    assert_int_equal(pk_cache_unpin(f->s, pinned), -EINVAL);
    /* Every frame pinned: no frame to give, and not a checkpoint's fault. */
    assert_int_equal(pk_cache_pin(f->s, pinned, &frame), 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(pk_cache_pin(f->s, other[i], &frame), 0);
    }
    assert_int_equal(pk_cache_pin(f->s, other[5], &frame), -ENOMEM);
    pk_test_fix_free(f);
}

static void test_cache__destroying_a_pinned_object__completes_at_last_unpin(void **state)
{
    PkTestFix *f = fix_new(16, 64);
    uint32_t free_before;
    int32_t frame;
    char buf[1];
    PkOid oid;
    PkCap c;

    (void)state;
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1), 0);
    assert_int_equal(pk_cap_read_slot(f->s, f->cs, 1, &c), 0);
    oid = c.oid;
    assert_int_equal(pk_cache_pin(f->s, oid, &frame), 0);
    assert_int_equal(pk_cache_pin(f->s, oid, &frame), 0);
    free_before = pk_cache_free_frames(f->s);

    assert_int_equal(pk_bank_free(f->s, f->cs, 0, 1), PK_PENDING);
    /* Gone for every capability holder at once ... */
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 1, 0, buf, 1), -ESTALE);
    assert_int_equal(pk_cache_pin(f->s, oid, &frame), -ENOENT);
    /* ... but the frame a device may be writing stays until the pins drop. */
    assert_int_equal(pk_cache_free_frames(f->s), free_before);
    assert_true(pk_cache_is_resident(f->s, oid));
    assert_int_equal(pk_cache_unpin(f->s, oid), 0);
    assert_int_equal(pk_cache_free_frames(f->s), free_before);
    assert_int_equal(pk_cache_unpin(f->s, oid), PK_PENDING);
    assert_int_equal(pk_cache_free_frames(f->s), free_before + 1);
    assert_false(pk_cache_is_resident(f->s, oid));

    /* Through a bank destroy as well. */
    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 10, 0, 2), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 2, PK_OBJ_PAGE, 3), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 2, PK_OBJ_PAGE, 4), 0);
    assert_int_equal(pk_cap_read_slot(f->s, f->cs, 3, &c), 0);
    assert_int_equal(pk_cache_pin(f->s, c.oid, &frame), 0);
    free_before = pk_cache_free_frames(f->s);
    assert_int_equal(pk_bank_destroy(f->s, f->cs, 2), PK_PENDING);
    assert_int_equal(pk_cache_free_frames(f->s), free_before + 1);
    assert_int_equal(pk_cache_unpin(f->s, c.oid), PK_PENDING);
    assert_int_equal(pk_cache_free_frames(f->s), free_before + 2);
    pk_test_fix_free(f);
}

/* The snapshot image of oid, walking the whole snapshot. */
static int snapshot_find(PkTestFix *f, PkOid oid, uint8_t *out, uint32_t *count)
{
    PkObjImage img;
    int found = 0;

    while (pk_store_snapshot_next(f->s, &img) == 1) {
        if (img.oid == oid) {
            memcpy(out, img.data, img.len);
            *count = img.count;
            found = 1;
        }
    }
    return found;
}

static void test_cache__write_during_snapshot__snapshot_keeps_old_bytes(void **state)
{
    PkTestFix *f = fix_new(16, 64);
    uint8_t got[PK_PAGE_SIZE];
    uint32_t free_before, count, old_count;
    PkObjImage img;
    PkCap c;

    (void)state;
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1), 0);
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 1, 0, "old", 4), 0);
    assert_int_equal(pk_cap_read_slot(f->s, f->cs, 1, &c), 0);
    old_count = c.count;
    free_before = pk_cache_free_frames(f->s);

    assert_int_equal(pk_store_snapshot_begin(f->s, 7), 0);
    assert_int_equal(pk_store_snapshot_begin(f->s, 8), -EBUSY);
    assert_int_equal(pk_cache_free_frames(f->s), free_before);   /* marking copied nothing */
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 1, 0, "new", 4), 0);
    assert_int_equal(pk_cache_free_frames(f->s), free_before - 1);   /* the page copied */
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 1, 0, "new", 4), 0);
    assert_int_equal(pk_cache_free_frames(f->s), free_before - 1);   /* once */
    assert_int_equal(pk_cap_revoke(f->s, f->cs, 1), 0);              /* writes a cs slot */
    assert_int_equal(pk_cache_free_frames(f->s), free_before - 2);
    assert_int_equal(snapshot_find(f, c.oid, got, &count), 1);
    assert_string_equal((char *)got, "old");
    assert_int_equal(count, old_count);
    pk_store_snapshot_end(f->s);
    assert_int_equal(pk_cache_free_frames(f->s), free_before);

    /* The new bytes and count are the next epoch's. */
    assert_int_equal(pk_store_snapshot_begin(f->s, 8), 0);
    assert_int_equal(snapshot_find(f, c.oid, got, &count), 1);
    assert_string_equal((char *)got, "new");
    assert_int_equal(count, old_count + 1);
    pk_store_snapshot_end(f->s);
    /* Nothing changed since: an empty snapshot. */
    assert_int_equal(pk_store_snapshot_begin(f->s, 9), 0);
    assert_int_equal(pk_store_snapshot_next(f->s, &img), 0);
    pk_store_snapshot_end(f->s);
    pk_test_fix_free(f);
}

static void test_cache__destroy_during_snapshot__snapshot_keeps_the_object(void **state)
{
    PkTestFix *f = fix_new(16, 64);
    uint8_t got[PK_PAGE_SIZE];
    uint32_t count;
    PkObjImage img;
    int tombstone = 0;
    PkCap c;

    (void)state;
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1), 0);
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 1, 0, "kept", 5), 0);
    assert_int_equal(pk_cap_read_slot(f->s, f->cs, 1, &c), 0);
    assert_int_equal(pk_store_snapshot_begin(f->s, 1), 0);
    assert_int_equal(pk_bank_free(f->s, f->cs, 0, 1), 0);
    assert_int_equal(snapshot_find(f, c.oid, got, &count), 1);
    assert_string_equal((char *)got, "kept");
    pk_store_snapshot_end(f->s);
    /* The next checkpoint records the destruction (a PK_OBJ_NONE image). */
    assert_int_equal(pk_store_snapshot_begin(f->s, 2), 0);
    while (pk_store_snapshot_next(f->s, &img) == 1) {
        if (img.oid == c.oid) {
            tombstone = img.type == PK_OBJ_NONE && img.len == 0 && img.count == c.count + 1;
        }
    }
    pk_store_snapshot_end(f->s);
    assert_true(tombstone);
    pk_test_fix_free(f);
}

static void test_cache__aborted_snapshot__objects_stay_dirty(void **state)
{
    PkTestFix *f = fix_new(16, 64);
    PkObjImage img;
    uint32_t n = 0;

    (void)state;
    pk_test_fix_new_page(f, 1);
    pk_test_fix_new_page(f, 2);
    assert_int_equal(pk_store_snapshot_begin(f->s, 1), 0);
    assert_int_equal(pk_store_snapshot_next(f->s, &img), 1);
    pk_store_snapshot_abort(f->s);
    assert_int_equal(pk_store_snapshot_begin(f->s, 1), 0);
    while (pk_store_snapshot_next(f->s, &img) == 1) {
        n++;
    }
    pk_store_snapshot_end(f->s);
    assert_int_equal(n, 3);              /* cs and two pages */
    pk_test_fix_free(f);
}

/* --- randomized object graph -------------------------------------------- */

static uint32_t rng_next(uint64_t *st)
{
    *st = *st * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*st >> 33);
}

/* Builds a graph: pages of random bytes, nodes holding capabilities to
 * random objects (some reduced, some revoked, some destroyed). */
static void graph_build(PkTestFix *f, uint64_t seed, uint32_t nobj)
{
    uint8_t buf[256];
    uint32_t i, k, op;

    for (i = 0; i < nobj; i++) {
        op = rng_next(&seed) % 10;
        if (op < 5) {
            assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1 + i % 30), 0);
            for (k = 0; k < sizeof(buf); k++) {
                buf[k] = (uint8_t)rng_next(&seed);
            }
            assert_int_equal(pk_cap_page_write(f->s, f->cs, 1 + i % 30,
                                               rng_next(&seed) % (PK_PAGE_SIZE - 256), buf, 256),
                             0);
        } else if (op < 8) {
            assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_NODE, 1 + i % 30), 0);
            for (k = 0; k < 8; k++) {
                uint32_t src = 1 + rng_next(&seed) % 30;
                PkCap c;

                assert_int_equal(pk_cap_read_slot(f->s, f->cs, src, &c), 0);
                if (c.type == PK_CAP_NULL || pk_cap_is_void(f->s, &c)) {
                    continue;
                }
                assert_int_equal(pk_cap_node_store(f->s, f->cs, 1 + i % 30,
                                                   rng_next(&seed) % PK_NODE_SLOTS, src,
                                                   (uint8_t)(rng_next(&seed) & PK_RIGHTS_ALL)), 0);
            }
        } else if (op == 8) {
            (void)pk_cap_revoke(f->s, f->cs, 1 + rng_next(&seed) % 30);
        } else {
            (void)pk_bank_free(f->s, f->cs, 0, 1 + rng_next(&seed) % 30);
        }
    }
}

typedef struct Listing {
    PkObjImage img[PK_TEST_DISK_MAX];
    uint8_t data[PK_TEST_DISK_MAX][PK_PAGE_SIZE];
    uint32_t n;
} Listing;

static void listing_take(PkTestFix *f, Listing *l)
{
    uint64_t cursor = 0;
    PkObjImage img;
    int r;

    l->n = 0;
    while ((r = pk_store_iterate(f->s, &cursor, &img)) == 1) {
        assert_true(l->n < PK_TEST_DISK_MAX);
        l->img[l->n] = img;
        memcpy(l->data[l->n], img.data, img.len);
        l->img[l->n].data = l->data[l->n];
        l->n++;
    }
    assert_int_equal(r, 0);
}

static void listing_assert_equal(const Listing *a, const Listing *b)
{
    uint32_t i;

    assert_int_equal(a->n, b->n);
    for (i = 0; i < a->n; i++) {
        assert_int_equal(a->img[i].oid, b->img[i].oid);
        assert_int_equal(a->img[i].type, b->img[i].type);
        assert_int_equal(a->img[i].count, b->img[i].count);
        assert_int_equal(a->img[i].len, b->img[i].len);
        assert_memory_equal(a->data[i], b->data[i], a->img[i].len);
        if (i > 0) {
            assert_true(a->img[i - 1].oid < a->img[i].oid);   /* OID order */
        }
    }
}

static void test_cache__random_graph__survives_snapshot_clear_install(void **state)
{
    static Listing before, after;
    PkTestFix *f = fix_new(400, 512);
    PkObjImage img;
    uint32_t i;
    int r;

    (void)state;
    graph_build(f, 0x5eed, 300);
    listing_take(f, &before);
    assert_true(before.n > 100);
    f->disk.n = 0;
    pk_test_fix_checkpoint(f, 1);
    /* Every live object went to the disk (all were dirty since creation). */
    for (i = 0; i < before.n; i++) {
        assert_non_null(pk_test_disk_find(&f->disk, before.img[i].oid));
    }
    pk_store_clear(f->s);
    assert_int_equal(pk_cache_free_frames(f->s), 400);
    for (i = 0; i < f->disk.n; i++) {
        img.oid = f->disk.ent[i].oid;
        img.type = f->disk.ent[i].type;
        img.count = f->disk.ent[i].count;
        img.len = pk_object_image_len(img.type);
        img.data = img.len ? f->disk.ent[i].data : NULL;
        assert_int_equal(pk_store_install(f->s, &img), 0);
    }
    listing_take(f, &after);
    listing_assert_equal(&before, &after);
    /* Installed objects are clean: nothing to checkpoint. */
    assert_int_equal(pk_store_snapshot_begin(f->s, 2), 0);
    assert_int_equal(pk_store_snapshot_next(f->s, &img), 0);
    pk_store_snapshot_end(f->s);

    /* Lazy restart: forget everything and let misses load from the disk. */
    pk_store_clear(f->s);
    for (i = 0; i < before.n; i++) {
        int32_t frame;

        r = pk_cache_pin(f->s, before.img[i].oid, &frame);
        assert_int_equal(r, 0);
        assert_memory_equal(f->frames + (size_t)frame * PK_PAGE_SIZE, before.data[i],
                            before.img[i].len);
        assert_int_equal(pk_cache_unpin(f->s, before.img[i].oid), 0);
    }
    listing_take(f, &after);
    listing_assert_equal(&before, &after);
    pk_test_fix_free(f);
}

static void test_cache__state_blob__restores_and_refuses_garbage(void **state)
{
    PkTestFix *f = fix_new(16, 64);
    size_t size;
    uint8_t *blob, *blob2;
    uint8_t frames[16 * PK_PAGE_SIZE];
    char buf[4];
    SlError err = { { 0 } };

    (void)state;
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1), 0);
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 1, 0, "one", 4), 0);
    size = pk_store_state_size(f->s);
    blob = malloc(size);
    blob2 = malloc(size + 4096);
    assert_int_equal(pk_store_state_save(f->s, blob, size), (long)size);
    assert_int_equal(pk_store_state_save(f->s, blob, size - 1), -ENOSPC);
    memcpy(frames, f->frames, sizeof(frames));

    assert_int_equal(pk_cap_revoke(f->s, f->cs, 1), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_NODE, 2), 0);
    /* Garbage is refused and changes nothing. */
    blob[0] ^= 1;
    assert_int_equal(pk_store_state_restore(f->s, blob, size, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "magic"));
    blob[0] ^= 1;
    assert_int_equal(pk_store_state_restore(f->s, blob, size - 4, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "size"));
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 2, 0, buf, 4), -EBADF);   /* still a node */

    memcpy(f->frames, frames, sizeof(frames));
    assert_int_equal(pk_store_state_restore(f->s, blob, size, &err), 0);
    assert_int_equal(pk_store_state_save(f->s, blob2, size + 4096), (long)size);
    assert_memory_equal(blob, blob2, size);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 1, 0, buf, 4), 0);
    assert_string_equal(buf, "one");
    free(blob);
    free(blob2);
    pk_test_fix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache__full_of_dirty_objects__asks_for_a_checkpoint),
        cmocka_unit_test(test_cache__evicted_clean_objects__reload_through_the_backing),
        cmocka_unit_test(test_cache__pinned_object__is_never_evicted_or_moved),
        cmocka_unit_test(test_cache__destroying_a_pinned_object__completes_at_last_unpin),
        cmocka_unit_test(test_cache__write_during_snapshot__snapshot_keeps_old_bytes),
        cmocka_unit_test(test_cache__destroy_during_snapshot__snapshot_keeps_the_object),
        cmocka_unit_test(test_cache__aborted_snapshot__objects_stay_dirty),
        cmocka_unit_test(test_cache__random_graph__survives_snapshot_clear_install),
        cmocka_unit_test(test_cache__state_blob__restores_and_refuses_garbage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
