/*
 * tests/pk_test_store.h: a small fake PkStore for the checkpoint tests
 * (test_kernel_pk_ckpt.c, test_kernel_pk_crash.c).  It keeps the
 * pk_store.h contract -- copy-on-write snapshots, install, clear, a backing
 * for misses, iteration in OID order -- so the disk side is tested against
 * the header, not against one store's internals.  Header-only: it defines
 * the pk_store_* functions pk_ckpt.c calls, so include it in exactly one
 * file of a test executable.
 */
#ifndef TESTS_PK_TEST_STORE_H
#define TESTS_PK_TEST_STORE_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel-guest/pk_disk_format.h"
#include "kernel-guest/pk_store.h"


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

#endif
