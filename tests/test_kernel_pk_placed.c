/*
 * tests/test_kernel_pk_placed.c: placed frames of the object store
 * (pk_object.h) -- a page allocated into a fixed frame with a fixed OID
 * (guest RAM), refused without side effects when the frame is held or the
 * quota is spent, destroyed and reallocated with a bumped count, deferred
 * by I/O pins, never evicted, never issued by the OID counter, carried by
 * snapshots, installed back into its frame at restart, and part of the
 * state blob's geometry.
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

#define PLACED_OID 0x1000u

/* A fixture of nframes frames, the first nplaced of them placed (OIDs from
 * PLACED_OID), max_objects objects, the fake disk its backing. */
static PkTestFix *fix_new(uint32_t nframes, uint32_t nplaced, uint32_t max_objects)
{
    PkStoreConfig cfg = {.nframes = nframes, .max_objects = max_objects, .max_banks = 8,
                         .nplaced = nplaced, .placed_oid = PLACED_OID};

    return pk_test_fix_new(&cfg, true);
}

/* A placed page in frame, filled with `fill` (as a device or the guest
 * would: straight into the frame). */
static PkOid new_placed(PkTestFix *f, int32_t bank, int32_t frame, uint8_t fill)
{
    PkOid oid;

    assert_int_equal(pk_bank_new_placed(f->s, bank, frame, &oid), 0);
    memset(pk_test_fix_frame(f, frame), fill, PK_PAGE_SIZE);
    return oid;
}

/* A page capability with all rights to oid, at its current count, in cs[slot]. */
static PkCap mint_page(PkTestFix *f, PkOid oid, uint32_t slot)
{
    int32_t idx = pk_object_find(f->s, oid);
    PkCap c = { PK_CAP_PAGE, PK_RIGHTS_ALL, 0, 0, oid };

    assert_true(idx >= 0);
    c.count = f->s->obj[idx].count;
    assert_int_equal(pk_cap_mint(f->s, f->cs, slot, &c), 0);
    return c;
}

/* The state blob (caller frees); *size its length. */
static uint8_t *blob_take(PkTestFix *f, size_t *size)
{
    uint8_t *b;

    *size = pk_store_state_size(f->s);
    b = malloc(*size);
    assert_non_null(b);
    assert_int_equal(pk_store_state_save(f->s, b, *size), (long)*size);
    return b;
}

/* Asserts the state blob is byte-identical to (before, size). */
static void blob_assert_same(PkTestFix *f, const uint8_t *before, size_t size)
{
    size_t now_size;
    uint8_t *now = blob_take(f, &now_size);

    assert_int_equal(now_size, size);
    assert_memory_equal(now, before, size);
    free(now);
}

static bool bytes_are(const uint8_t *p, uint32_t len, uint8_t v)
{
    uint32_t i;

    for (i = 0; i < len; i++) {
        if (p[i] != v) {
            return false;
        }
    }
    return true;
}

static bool all_bytes(const uint8_t *p, uint8_t v)
{
    return bytes_are(p, PK_PAGE_SIZE, v);
}

/* --- tests ---------------------------------------------------------------- */

static void test_placed__bad_config__refused_naming_the_field(void **state)
{
    uint8_t frames[4 * PK_PAGE_SIZE];
    PkStoreConfig cfg = { .frames = frames, .nframes = 4, .max_objects = 8, .max_banks = 2 };
    SlError err = { { 0 } };
    PkStore *s;

    (void)state;
    cfg.nplaced = 5;
    cfg.placed_oid = PLACED_OID;
    assert_int_equal(pk_store_new(&cfg, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "nplaced"));
    cfg.nplaced = 2;
    cfg.placed_oid = PK_OID_FIRST - 1;
    assert_int_equal(pk_store_new(&cfg, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "placed_oid"));
    cfg.placed_oid = UINT64_MAX - 1;     /* the range would pass 2^64 */
    assert_int_equal(pk_store_new(&cfg, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "placed_oid"));
    /* Every frame placed is a valid (if allocation-poor) store. */
    cfg.nplaced = 4;
    cfg.placed_oid = PLACED_OID;
    assert_int_equal(pk_store_new(&cfg, &s, &err), 0);
    assert_int_equal(pk_cache_free_frames(s), 0);
    pk_store_free(s);
    /* No placed frames: placed_oid is ignored. */
    cfg.nplaced = 0;
    cfg.placed_oid = 1;
    assert_int_equal(pk_store_new(&cfg, &s, &err), 0);
    assert_int_equal(pk_object_placed_frame(s, 1), -1);
    assert_int_equal(pk_cache_free_frames(s), 4);
    pk_store_free(s);
}

static void test_placed__alloc__gives_frame_oid_and_zeroed_bytes_in_that_frame(void **state)
{
    PkTestFix *f = fix_new(12, 4, 64);
    uint32_t free_before = pk_cache_free_frames(f->s);
    int32_t idx, frame;
    PkOid oid;

    (void)state;
    assert_int_equal(free_before, 7);    /* 8 general frames, one holds cs */
    memset(pk_test_fix_frame(f, 2), 0xee, PK_PAGE_SIZE);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 2, &oid), 0);
    assert_int_equal(oid, PLACED_OID + 2);
    assert_int_equal(pk_object_placed_frame(f->s, oid), 2);
    assert_int_equal(pk_object_placed_frame(f->s, PLACED_OID + 4), -1);
    assert_int_equal(pk_object_placed_frame(f->s, PLACED_OID - 1), -1);
    assert_int_equal(pk_object_placed_frame(f->s, f->cs), -1);
    idx = pk_object_find(f->s, oid);
    assert_true(idx >= 0);
    assert_int_equal(f->s->obj[idx].type, PK_OBJ_PAGE);
    assert_int_equal(f->s->obj[idx].frame, 2);
    assert_int_equal(f->s->frame_owner[2], idx);
    assert_true(all_bytes(pk_test_fix_frame(f, 2), 0));
    assert_true(f->s->obj[idx].flags & PK_OBJF_DIRTY);
    /* No general frame was taken; the object is charged to its bank. */
    assert_int_equal(pk_cache_free_frames(f->s), free_before);
    assert_int_equal(pk_bank_used(f->s, PK_BANK_PRIME, PK_RES_OBJECTS), 2);
    /* A pin gives that frame, and writes there are the page's bytes. */
    assert_int_equal(pk_cache_pin(f->s, oid, &frame), 0);
    assert_int_equal(frame, 2);
    memcpy(pk_test_fix_frame(f, frame), "guest", 6);
    assert_int_equal(pk_cache_unpin(f->s, oid), 0);
    {
        char buf[6];

        mint_page(f, oid, 1);
        assert_int_equal(pk_cap_page_read(f->s, f->cs, 1, 0, buf, 6), 0);
        assert_string_equal(buf, "guest");
    }
    /* The batch form: all of frames 0, 1, 3 at once (2 is taken: refused). */
    assert_int_equal(pk_bank_new_placed_range(f->s, PK_BANK_PRIME, 1, 3, &oid), -EBUSY);
    assert_int_equal(pk_bank_new_placed_range(f->s, PK_BANK_PRIME, 0, 2, &oid), 0);
    assert_int_equal(oid, PLACED_OID);
    assert_int_equal(f->s->frame_owner[0], pk_object_find(f->s, PLACED_OID));
    assert_int_equal(f->s->frame_owner[1], pk_object_find(f->s, PLACED_OID + 1));
    assert_int_equal(pk_bank_new_placed_range(f->s, PK_BANK_PRIME, 3, 2, &oid), -EINVAL);
    assert_int_equal(pk_bank_new_placed_range(f->s, PK_BANK_PRIME, 3, 1, &oid), 0);
    assert_int_equal(oid, PLACED_OID + 3);
    assert_int_equal(pk_cache_free_frames(f->s), free_before);
    pk_test_fix_free(f);
}

static void test_placed__alloc_of_a_held_frame_or_bad_args__fails_changing_nothing(void **state)
{
    PkTestFix *f = fix_new(12, 4, 64);
    uint8_t *before;
    size_t size;
    PkOid oid = 0;

    (void)state;
    new_placed(f, PK_BANK_PRIME, 1, 0x11);
    before = blob_take(f, &size);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 1, &oid), -EBUSY);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 4, &oid), -EINVAL);   /* general */
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, -1, &oid), -EINVAL);
    assert_int_equal(pk_bank_new_placed(f->s, 5, 2, &oid), -EINVAL);   /* no such bank */
    assert_int_equal(pk_bank_new_placed(f->s, -1, 2, &oid), -EINVAL);
    assert_int_equal(oid, 0);
    blob_assert_same(f, before, size);
    assert_true(all_bytes(pk_test_fix_frame(f, 1), 0x11));   /* the live page's bytes untouched */
    free(before);
    pk_test_fix_free(f);
}

static void test_placed__alloc_beyond_quota__edquot_changing_nothing(void **state)
{
    const uint64_t quota[PK_RES_COUNT] = { 1, PK_QUOTA_UNLIMITED };
    PkTestFix *f = fix_new(12, 4, 64);
    uint8_t *before;
    size_t size;
    int32_t child;
    PkOid oid;

    (void)state;
    assert_int_equal(pk_bank_new_child(f->s, PK_BANK_PRIME, quota, &child), 0);
    new_placed(f, child, 0, 0x22);
    assert_int_equal(pk_bank_used(f->s, child, PK_RES_OBJECTS), 1);
    assert_int_equal(pk_bank_used(f->s, PK_BANK_PRIME, PK_RES_OBJECTS), 2);
    before = blob_take(f, &size);
    assert_int_equal(pk_bank_new_placed(f->s, child, 1, &oid), -EDQUOT);
    assert_int_equal(pk_bank_new_placed_range(f->s, child, 1, 2, &oid), -EDQUOT);
    blob_assert_same(f, before, size);
    assert_int_equal(f->s->frame_owner[1], PK_FRAME_FREE);
    /* The record table full: -ENOSPC, nothing changed either. */
    free(before);
    pk_test_fix_free(f);

    f = fix_new(12, 4, 2);               /* cs and one more record */
    new_placed(f, PK_BANK_PRIME, 0, 0x33);
    before = blob_take(f, &size);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 1, &oid), -ENOSPC);
    blob_assert_same(f, before, size);
    free(before);
    pk_test_fix_free(f);
}

static void test_placed__destroy_then_realloc__same_oid_higher_count_old_cap_void(void **state)
{
    PkTestFix *f = fix_new(12, 4, 64);
    uint32_t free_before;
    PkCap old, fresh;
    PkOid oid, again;
    int32_t idx;
    char buf[4];

    (void)state;
    oid = new_placed(f, PK_BANK_PRIME, 3, 0x44);
    old = mint_page(f, oid, 1);
    free_before = pk_cache_free_frames(f->s);
    assert_int_equal(pk_bank_free(f->s, f->cs, 0, 1), 0);
    /* The frame is free, but not stacked for general use. */
    assert_int_equal(f->s->frame_owner[3], PK_FRAME_FREE);
    assert_int_equal(pk_cache_free_frames(f->s), free_before);
    assert_false(pk_cache_is_resident(f->s, oid));
    assert_int_equal(pk_bank_used(f->s, PK_BANK_PRIME, PK_RES_OBJECTS), 1);
    assert_true(pk_cap_is_void(f->s, &old));

    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 3, &again), 0);
    assert_int_equal(again, oid);
    idx = pk_object_find(f->s, oid);
    assert_int_equal(f->s->obj[idx].count, old.count + 1);
    assert_true(all_bytes(pk_test_fix_frame(f, 3), 0));     /* the old bytes are gone */
    /* The old capability stays void against the new page. */
    assert_true(pk_cap_is_void(f->s, &old));
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 1, 0, buf, 4), -ESTALE);
    fresh = mint_page(f, oid, 2);
    assert_int_equal(fresh.count, old.count + 1);
    assert_false(pk_cap_is_void(f->s, &fresh));
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 2, 0, buf, 4), 0);
    /* A second life and death: the count keeps climbing. */
    assert_int_equal(pk_bank_free(f->s, f->cs, 0, 2), 0);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 3, &again), 0);
    assert_int_equal(f->s->obj[pk_object_find(f->s, oid)].count, old.count + 2);
    assert_true(pk_cap_is_void(f->s, &fresh));
    pk_test_fix_free(f);
}

static void test_placed__pinned_destroy__frame_held_until_last_unpin(void **state)
{
    PkTestFix *f = fix_new(12, 4, 64);
    uint8_t *before;
    size_t size;
    int32_t frame;
    PkOid oid, again;

    (void)state;
    oid = new_placed(f, PK_BANK_PRIME, 2, 0x55);
    mint_page(f, oid, 1);
    assert_int_equal(pk_cache_pin(f->s, oid, &frame), 0);
    assert_int_equal(frame, 2);
    assert_int_equal(pk_cache_pin(f->s, oid, &frame), 0);
    assert_int_equal(pk_bank_free(f->s, f->cs, 0, 1), PK_PENDING);
    assert_int_equal(pk_cache_pin(f->s, oid, &frame), -ENOENT);
    assert_true(f->s->frame_owner[2] >= 0);           /* a device may still write it */
    before = blob_take(f, &size);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 2, &again), -EBUSY);
    blob_assert_same(f, before, size);
    assert_int_equal(pk_cache_unpin(f->s, oid), 0);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 2, &again), -EBUSY);
    assert_int_equal(pk_cache_unpin(f->s, oid), PK_PENDING);
    assert_int_equal(f->s->frame_owner[2], PK_FRAME_FREE);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 2, &again), 0);
    assert_int_equal(again, oid);
    free(before);
    pk_test_fix_free(f);
}

static void test_placed__frame_pressure__never_evicts_a_placed_object(void **state)
{
    PkTestFix *f = fix_new(8, 4, 64);          /* 4 general frames: cs and 3 more */
    PkOid placed[4], other[12];
    int32_t idx[4], frame;
    uint32_t i, k;

    (void)state;
    for (k = 0; k < 4; k++) {
        placed[k] = new_placed(f, PK_BANK_PRIME, (int32_t)k, (uint8_t)(0xa0 + k));
        idx[k] = pk_object_find(f->s, placed[k]);
    }
    pk_test_fix_checkpoint(f, 1);        /* clean: they would be candidates */
    for (i = 0; i < 12; i++) {
        other[i] = pk_test_fix_new_page(f, (uint8_t)i);
        pk_test_fix_checkpoint(f, 2 + i);
    }
    f->disk.loads = 0;
    for (i = 0; i < 12; i++) {
        assert_int_equal(pk_cache_pin(f->s, other[i], &frame), 0);
        assert_true(frame >= 4);         /* general objects stay in general frames */
        assert_true(all_bytes(pk_test_fix_frame(f, frame), (uint8_t)i));
        assert_int_equal(pk_cache_unpin(f->s, other[i]), 0);
        for (k = 0; k < 4; k++) {
            assert_true(pk_cache_is_resident(f->s, placed[k]));
            assert_int_equal(f->s->obj[idx[k]].frame, (int32_t)k);
            assert_int_equal(f->s->frame_owner[k], idx[k]);
            assert_true(all_bytes(pk_test_fix_frame(f, (int32_t)k), (uint8_t)(0xa0 + k)));
        }
    }
    assert_true(f->disk.loads >= 8);     /* the pressure was real */
    /* Every general frame pinned: nothing to evict, the placed ones included. */
    for (i = 0; i < 4; i++) {
        assert_int_equal(pk_cache_pin(f->s, other[i], &frame), 0);
    }
    assert_int_equal(pk_cache_pin(f->s, other[5], &frame), -ENOMEM);
    for (k = 0; k < 4; k++) {
        assert_int_equal(f->s->frame_owner[k], idx[k]);
    }
    pk_test_fix_free(f);
}

static void test_placed__oid_counter__never_issues_a_placed_oid(void **state)
{
    uint8_t frames[8 * PK_PAGE_SIZE];
    PkStoreConfig cfg = { .frames = frames, .nframes = 8, .max_objects = 64, .max_banks = 2,
                          .nplaced = 3, .placed_oid = PK_OID_FIRST };
    PkObjImage img = { 0 };
    PkStore *s;
    PkOid oid;
    uint32_t i;

    (void)state;
    /* The range at the counter's start: it starts past the range. */
    assert_int_equal(pk_store_new(&cfg, &s, NULL), 0);
    assert_int_equal(pk_object_take_oid(s), PK_OID_FIRST + 3);
    assert_int_equal(pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), 0);
    assert_int_equal(oid, PK_OID_FIRST + 4);
    pk_store_free(s);

    /* The range ahead of the counter: it is skipped when reached. */
    cfg.placed_oid = PK_OID_FIRST + 5;
    assert_int_equal(pk_store_new(&cfg, &s, NULL), 0);
    /* Installing a placed OID does not drag the counter up to it. */
    img.oid = PK_OID_FIRST + 6;
    img.type = PK_OBJ_NONE;
    assert_int_equal(pk_store_install(s, &img), 0);
    for (i = 0; i < 5; i++) {
        assert_int_equal(pk_object_take_oid(s), PK_OID_FIRST + i);
    }
    for (i = 0; i < 20; i++) {
        oid = pk_object_take_oid(s);
        assert_int_equal(pk_object_placed_frame(s, oid), -1);
        assert_int_equal(oid, PK_OID_FIRST + 8 + i);
    }
    /* Nor after a clear. */
    pk_store_clear(s);
    assert_int_equal(pk_object_placed_frame(s, pk_object_take_oid(s)), -1);
    pk_store_free(s);
}

/* The snapshot's images, by OID, into a fake disk (the caller's). */
static uint32_t snapshot_take(PkTestFix *f, PkTestDisk *d, uint64_t epoch)
{
    PkObjImage img;
    uint32_t n = 0;

    assert_int_equal(pk_store_snapshot_begin(f->s, epoch), 0);
    while (pk_store_snapshot_next(f->s, &img) == 1) {
        pk_test_disk_put(d, &img);
        n++;
    }
    return n;
}

static void test_placed__snapshot__yields_placed_bytes_as_of_begin(void **state)
{
    static PkTestDisk d;
    PkTestFix *f = fix_new(12, 4, 64);
    PkOid a, b, again;
    PkObjImage img;
    int32_t idx;

    (void)state;
    a = new_placed(f, PK_BANK_PRIME, 0, 0x61);
    b = new_placed(f, PK_BANK_PRIME, 3, 0x62);
    memset(&d, 0, sizeof(d));
    assert_int_equal(snapshot_take(f, &d, 1), 3);    /* cs, a, b */
    pk_store_snapshot_end(f->s);
    assert_non_null(pk_test_disk_find(&d, a));
    assert_true(all_bytes(pk_test_disk_find(&d, a)->data, 0x61));
    assert_true(all_bytes(pk_test_disk_find(&d, b)->data, 0x62));
    assert_int_equal(pk_test_disk_find(&d, a)->type, PK_OBJ_PAGE);

    /* A write during the snapshot: the old bytes are copied to a general
     * frame, the page stays in its own. */
    mint_page(f, a, 1);
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 1, 0, "new", 4), 0);   /* dirty again */
    mint_page(f, b, 2);
    memset(&d, 0, sizeof(d));
    assert_int_equal(pk_store_snapshot_begin(f->s, 2), 0);
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 1, 0, "NEW", 4), 0);
    idx = pk_object_find(f->s, a);
    assert_int_equal(f->s->obj[idx].frame, 0);
    assert_true(f->s->obj[idx].snap_frame >= 4);
    assert_memory_equal(pk_test_fix_frame(f, 0), "NEW", 4);
    while (pk_store_snapshot_next(f->s, &img) == 1) {
        pk_test_disk_put(&d, &img);
    }
    pk_store_snapshot_end(f->s);
    assert_memory_equal(pk_test_disk_find(&d, a)->data, "new", 4);
    assert_true(bytes_are(pk_test_disk_find(&d, a)->data + 4, PK_PAGE_SIZE - 4, 0x61));

    /* A destroy during the snapshot: the bytes move to a general frame and
     * the placed frame is free at once. */
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 2, 0, "bb", 3), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(pk_store_snapshot_begin(f->s, 3), 0);
    assert_int_equal(pk_bank_free(f->s, f->cs, 0, 2), 0);
    assert_int_equal(f->s->frame_owner[3], PK_FRAME_FREE);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 3, &again), 0);
    assert_int_equal(again, b);
    while (pk_store_snapshot_next(f->s, &img) == 1) {
        pk_test_disk_put(&d, &img);
    }
    pk_store_snapshot_end(f->s);
    assert_memory_equal(pk_test_disk_find(&d, a)->data, "NEW", 4);
    assert_memory_equal(pk_test_disk_find(&d, b)->data, "bb", 3);
    assert_int_equal(pk_test_disk_find(&d, b)->type, PK_OBJ_PAGE);
    assert_int_equal(pk_test_disk_find(&d, b)->count, 0);
    /* The next snapshot: b's new life, zeroed, with a higher count. */
    memset(&d, 0, sizeof(d));
    snapshot_take(f, &d, 4);
    pk_store_snapshot_end(f->s);
    assert_true(all_bytes(pk_test_disk_find(&d, b)->data, 0));
    assert_int_equal(pk_test_disk_find(&d, b)->type, PK_OBJ_PAGE);
    assert_int_equal(pk_test_disk_find(&d, b)->count, 1);
    pk_test_fix_free(f);
}

static void test_placed__destroy_in_snapshot_without_free_frame__frame_is_the_copy(void **state)
{
    static PkTestDisk d;
    PkTestFix *f = fix_new(6, 4, 64);          /* 2 general frames: cs and one page */
    PkOid p, g, again;
    PkObjImage img;

    (void)state;
    p = new_placed(f, PK_BANK_PRIME, 1, 0x71);
    g = pk_test_fix_new_page(f, 0x72);
    assert_int_equal(pk_cache_free_frames(f->s), 0);
    mint_page(f, p, 1);
    assert_int_equal(pk_store_snapshot_begin(f->s, 1), 0);
    assert_int_equal(pk_bank_free(f->s, f->cs, 0, 1), 0);
    /* No general frame to copy into: the placed frame is the snapshot's
     * copy, held until the snapshot has read it. */
    assert_true(f->s->frame_owner[1] <= PK_FRAME_SNAP_BASE);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 1, &again), -EBUSY);
    memset(&d, 0, sizeof(d));
    while (pk_store_snapshot_next(f->s, &img) == 1) {
        pk_test_disk_put(&d, &img);
    }
    pk_store_snapshot_end(f->s);
    assert_true(all_bytes(pk_test_disk_find(&d, p)->data, 0x71));
    assert_true(all_bytes(pk_test_disk_find(&d, g)->data, 0x72));
    assert_int_equal(f->s->frame_owner[1], PK_FRAME_FREE);
    assert_int_equal(pk_cache_free_frames(f->s), 0);  /* the placed frame was not stacked */
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 1, &again), 0);
    pk_test_fix_free(f);
}

static void test_placed__clear_then_install__bytes_back_in_their_frames(void **state)
{
    PkTestFix *f = fix_new(16, 6, 64);
    PkOid p[3], g;
    uint32_t i, k;
    int32_t idx, frame;

    (void)state;
    p[0] = new_placed(f, PK_BANK_PRIME, 5, 0x81);
    p[1] = new_placed(f, PK_BANK_PRIME, 0, 0x82);
    p[2] = new_placed(f, PK_BANK_PRIME, 2, 0x83);
    g = pk_test_fix_new_page(f, 0x84);
    f->disk.n = 0;
    pk_test_fix_checkpoint(f, 1);
    assert_int_equal(f->disk.n, 5);

    pk_store_clear(f->s);
    for (i = 0; i < f->nframes; i++) {
        assert_int_equal(f->s->frame_owner[i], PK_FRAME_FREE);
    }
    assert_int_equal(pk_cache_free_frames(f->s), 10);
    memset(f->frames, 0xdd, (size_t)f->nframes * PK_PAGE_SIZE);
    /* Restart: install in disk order (general and placed mixed). */
    for (i = 0; i < f->disk.n; i++) {
        PkObjImage img = { f->disk.ent[i].oid, f->disk.ent[i].type, f->disk.ent[i].count,
                           f->disk.ent[i].data, pk_object_image_len(f->disk.ent[i].type) };

        assert_int_equal(pk_store_install(f->s, &img), 0);
    }
    for (k = 0; k < 3; k++) {
        frame = pk_object_placed_frame(f->s, p[k]);
        idx = pk_object_find(f->s, p[k]);
        assert_int_equal(f->s->obj[idx].frame, frame);
        assert_int_equal(f->s->frame_owner[frame], idx);
        assert_true(all_bytes(pk_test_fix_frame(f, frame), (uint8_t)(0x81 + k)));
    }
    /* Free placed frames stay out of general use. */
    idx = pk_object_find(f->s, g);
    assert_true(f->s->obj[idx].frame >= 6);
    assert_int_equal(f->s->frame_owner[1], PK_FRAME_FREE);
    /* Installing again replaces the bytes in place. */
    {
        uint8_t page[PK_PAGE_SIZE];
        PkObjImage img = { p[1], PK_OBJ_PAGE, 0, page, PK_PAGE_SIZE };

        memset(page, 0x99, sizeof(page));
        assert_int_equal(pk_store_install(f->s, &img), 0);
        assert_true(all_bytes(pk_test_fix_frame(f, 0), 0x99));
        assert_int_equal(f->s->frame_owner[0], pk_object_find(f->s, p[1]));
    }
    /* Installed objects are clean: nothing to checkpoint. */
    assert_int_equal(pk_test_fix_checkpoint(f, 2), 0);

    /* Lazy restart: a miss on a placed OID loads into its own frame. */
    pk_store_clear(f->s);
    memset(f->frames, 0xdd, (size_t)f->nframes * PK_PAGE_SIZE);
    assert_int_equal(pk_cache_pin(f->s, p[2], &frame), 0);
    assert_int_equal(frame, 2);
    assert_true(all_bytes(pk_test_fix_frame(f, 2), 0x83));
    assert_int_equal(pk_cache_unpin(f->s, p[2]), 0);
    assert_int_equal(pk_cache_pin(f->s, g, &frame), 0);
    assert_true(frame >= 6);
    assert_int_equal(pk_cache_unpin(f->s, g), 0);
    pk_test_fix_free(f);
}

static void test_placed__state_blob__round_trips_and_refuses_other_placement(void **state)
{
    PkTestFix *f = fix_new(12, 4, 64), *other;
    uint8_t frames[12 * PK_PAGE_SIZE];
    SlError err = { { 0 } };
    uint8_t *blob, *tmp;
    size_t size, tsize;
    PkOid p0, p2, oid;

    (void)state;
    p0 = new_placed(f, PK_BANK_PRIME, 0, 0x91);
    p2 = new_placed(f, PK_BANK_PRIME, 2, 0x92);
    mint_page(f, p2, 1);
    assert_int_equal(pk_bank_free(f->s, f->cs, 0, 1), 0);      /* p2: a tombstone */
    blob = blob_take(f, &size);
    memcpy(frames, f->frames, sizeof(frames));

    /* Change things, then go back. */
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 2, &oid), 0);
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 3, &oid), 0);
    pk_test_fix_new_page(f, 0x93);
    memcpy(f->frames, frames, sizeof(frames));
    assert_int_equal(pk_store_state_restore(f->s, blob, size, &err), 0);
    blob_assert_same(f, blob, size);
    assert_true(pk_cache_is_resident(f->s, p0));
    assert_int_equal(f->s->frame_owner[0], pk_object_find(f->s, p0));
    assert_int_equal(f->s->frame_owner[2], PK_FRAME_FREE);
    assert_int_equal(f->s->frame_owner[3], PK_FRAME_FREE);
    /* The restored tombstone keeps its count for the next life. */
    assert_int_equal(pk_bank_new_placed(f->s, PK_BANK_PRIME, 2, &oid), 0);
    assert_int_equal(f->s->obj[pk_object_find(f->s, p2)].count, 1);

    /* Another placement is another geometry: refused, nothing changed. */
    tmp = blob_take(f, &tsize);
    other = fix_new(12, 3, 64);
    assert_int_equal(pk_store_state_restore(other->s, blob, size, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "nplaced"));
    pk_test_fix_free(other);
    {
        PkStoreConfig cfg = { .frames = frames, .nframes = 12, .max_objects = 64,
                              .max_banks = 8, .nplaced = 4, .placed_oid = PLACED_OID + 1 };
        PkStore *s2;

        assert_int_equal(pk_store_new(&cfg, &s2, NULL), 0);
        assert_int_equal(pk_store_state_restore(s2, blob, size, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "placed_oid"));
        pk_store_free(s2);
    }
    /* A blob whose free stack holds a placed frame is malformed. */
    {
        int32_t bad = 0;
        size_t at = size - 8 * sizeof(PkBank) - sizeof(int32_t);   /* top of frame_free[] */

        memcpy(blob + at, &bad, sizeof(bad));
        assert_int_equal(pk_store_state_restore(f->s, blob, size, &err), -EINVAL);
    }
    blob_assert_same(f, tmp, tsize);
    free(tmp);
    free(blob);
    pk_test_fix_free(f);
}

static void test_placed__mark_all_clean__empties_dirty_list_outside_snapshots(void **state)
{
    PkTestFix *f = fix_new(12, 4, 64);
    PkObjImage img;

    (void)state;
    new_placed(f, PK_BANK_PRIME, 1, 0xa1);
    pk_test_fix_new_page(f, 0xa2);
    assert_int_equal(pk_store_snapshot_begin(f->s, 1), 0);
    assert_int_equal(pk_store_mark_all_clean(f->s), -EBUSY);
    pk_store_snapshot_abort(f->s);       /* all three dirty again */
    assert_int_equal(pk_store_mark_all_clean(f->s), 0);
    assert_int_equal(f->s->sc.ndirty, 0);
    assert_false(f->s->obj[pk_object_find(f->s, f->cs)].flags & PK_OBJF_DIRTY);
    assert_int_equal(pk_store_snapshot_begin(f->s, 2), 0);
    assert_int_equal(pk_store_snapshot_next(f->s, &img), 0);
    pk_store_snapshot_end(f->s);
    /* Marking again later works: the list is consistent. */
    pk_test_fix_new_page(f, 0xa3);
    assert_int_equal(pk_test_fix_checkpoint(f, 3), 1);
    pk_test_fix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placed__bad_config__refused_naming_the_field),
        cmocka_unit_test(test_placed__alloc__gives_frame_oid_and_zeroed_bytes_in_that_frame),
        cmocka_unit_test(test_placed__alloc_of_a_held_frame_or_bad_args__fails_changing_nothing),
        cmocka_unit_test(test_placed__alloc_beyond_quota__edquot_changing_nothing),
        cmocka_unit_test(test_placed__destroy_then_realloc__same_oid_higher_count_old_cap_void),
        cmocka_unit_test(test_placed__pinned_destroy__frame_held_until_last_unpin),
        cmocka_unit_test(test_placed__frame_pressure__never_evicts_a_placed_object),
        cmocka_unit_test(test_placed__oid_counter__never_issues_a_placed_oid),
        cmocka_unit_test(test_placed__snapshot__yields_placed_bytes_as_of_begin),
        cmocka_unit_test(test_placed__destroy_in_snapshot_without_free_frame__frame_is_the_copy),
        cmocka_unit_test(test_placed__clear_then_install__bytes_back_in_their_frames),
        cmocka_unit_test(test_placed__state_blob__round_trips_and_refuses_other_placement),
        cmocka_unit_test(test_placed__mark_all_clean__empties_dirty_list_outside_snapshots),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
