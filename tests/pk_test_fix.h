/*
 * tests/pk_test_fix.h: the fixture the persistent kernel's object tests
 * share (test_kernel_pk_bank.c, test_kernel_pk_cap.c, test_kernel_pk_cache.c,
 * test_kernel_pk_placed.c): a real store over frames of host memory and a
 * client CSpace node whose slot 0 holds a capability to the prime bank.
 * Header-only.
 *
 * For the cache's tests the store can have a fake disk as its backing: a
 * table of the last image written for each OID (pk_test_fix_checkpoint
 * writes a whole snapshot into it), from which the store loads what it
 * evicted.  It counts its loads, so a test can tell a miss from a hit.
 */
#ifndef TESTS_PK_TEST_FIX_H
#define TESTS_PK_TEST_FIX_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_cap.h"

#define PK_TEST_NFRAMES 64u
#define PK_TEST_DISK_MAX 512u        /* OIDs the fake disk holds */

/* The fake disk: the last image written for each OID, in write order. */
typedef struct PkTestDiskEnt {
    PkOid oid;
    uint8_t type;
    uint32_t count;
    uint8_t data[PK_PAGE_SIZE];
} PkTestDiskEnt;

typedef struct PkTestDisk {
    PkTestDiskEnt ent[PK_TEST_DISK_MAX];
    uint32_t n;
    uint32_t loads;              /* images the store loaded back */
} PkTestDisk;

typedef struct PkTestFix {
    uint8_t *frames;
    uint32_t nframes;
    PkStore *s;
    PkOid cs;                    /* the client's CSpace; slot 0: prime bank */
    PkTestDisk disk;             /* the store's backing, if it was given one */
} PkTestFix;

static inline PkTestDiskEnt *pk_test_disk_find(PkTestDisk *d, PkOid oid)
{
    uint32_t i;

    for (i = 0; i < d->n; i++) {
        if (d->ent[i].oid == oid) {
            return &d->ent[i];
        }
    }
    return NULL;
}

/* PkBacking.load over a PkTestDisk. */
static inline int pk_test_disk_load(void *opaque, PkOid oid, uint8_t *type, uint32_t *count,
                                    uint8_t *buf, uint32_t cap)
{
    PkTestDisk *d = opaque;
    PkTestDiskEnt *e = pk_test_disk_find(d, oid);
    uint32_t len;

    if (!e) {
        return -ENOENT;
    }
    d->loads++;
    *type = e->type;
    *count = e->count;
    len = pk_object_image_len(e->type);
    memcpy(buf, e->data, len < cap ? len : cap);
    return 0;
}

/* Writes img over the disk's image of its OID (or adds one). */
static inline void pk_test_disk_put(PkTestDisk *d, const PkObjImage *img)
{
    PkTestDiskEnt *e = pk_test_disk_find(d, img->oid);

    if (!e) {
        assert_true(d->n < PK_TEST_DISK_MAX);
        e = &d->ent[d->n++];
    }
    memset(e, 0, sizeof(*e));
    e->oid = img->oid;
    e->type = img->type;
    e->count = img->count;
    if (img->len) {
        memcpy(e->data, img->data, img->len);
    }
}

/* A fixture whose store has *cfg's geometry (its frames: cfg->nframes
 * frames of zeroed host memory the fixture owns) and, if backed, f->disk
 * as its backing. */
static inline PkTestFix *pk_test_fix_new(const PkStoreConfig *cfg, bool backed)
{
    PkTestFix *f = calloc(1, sizeof(*f));
    PkStoreConfig c = *cfg;
    PkCap bank;

    assert_non_null(f);
    f->nframes = c.nframes;
    f->frames = calloc(c.nframes, PK_PAGE_SIZE);
    assert_non_null(f->frames);
    c.frames = f->frames;
    assert_int_equal(pk_store_new(&c, &f->s, NULL), 0);
    if (backed) {
        PkBacking b = {.load = pk_test_disk_load, .opaque = &f->disk};

        pk_store_set_backing(f->s, &b);
    }
    assert_int_equal(pk_bank_new_object(f->s, PK_BANK_PRIME, PK_OBJ_NODE, &f->cs), 0);
    bank = pk_bank_cap(f->s, PK_BANK_PRIME);
    assert_int_equal(pk_cap_mint(f->s, f->cs, 0, &bank), 0);
    return f;
}

static inline void pk_test_fix_free(PkTestFix *f)
{
    pk_store_free(f->s);
    free(f->frames);
    free(f);
}

/* A cmocka setup body: *state becomes a PkTestFix whose store has
 * PK_TEST_NFRAMES frames, room for 256 objects and max_banks banks, and
 * no backing. */
static inline int pk_test_fix_setup(void **state, uint32_t max_banks)
{
    PkStoreConfig cfg = {.nframes = PK_TEST_NFRAMES, .max_objects = 256,
                         .max_banks = max_banks};

    *state = pk_test_fix_new(&cfg, false);
    return 0;
}

static inline int pk_test_fix_teardown(void **state)
{
    pk_test_fix_free(*state);
    return 0;
}

/* Host memory of the store's frame. */
static inline uint8_t *pk_test_fix_frame(PkTestFix *f, int32_t frame)
{
    return f->frames + (size_t)frame * PK_PAGE_SIZE;
}

/* A whole checkpoint into the fake disk; returns the images written. */
static inline uint32_t pk_test_fix_checkpoint(PkTestFix *f, uint64_t epoch)
{
    PkObjImage img;
    uint32_t n = 0;
    int r;

    assert_int_equal(pk_store_snapshot_begin(f->s, epoch), 0);
    while ((r = pk_store_snapshot_next(f->s, &img)) == 1) {
        pk_test_disk_put(&f->disk, &img);
        n++;
    }
    assert_int_equal(r, 0);
    pk_store_snapshot_end(f->s);
    return n;
}

/* A page of the prime bank whose bytes are all `fill`, written through a
 * pin (as a device would). */
static inline PkOid pk_test_fix_new_page(PkTestFix *f, uint8_t fill)
{
    PkOid oid;
    int32_t frame;

    assert_int_equal(pk_bank_new_object(f->s, PK_BANK_PRIME, PK_OBJ_PAGE, &oid), 0);
    assert_int_equal(pk_cache_pin(f->s, oid, &frame), 0);
    memset(pk_test_fix_frame(f, frame), fill, PK_PAGE_SIZE);
    assert_int_equal(pk_cache_unpin(f->s, oid), 0);
    return oid;
}

#endif
