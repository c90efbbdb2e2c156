/*
 * tests/pk_test_graph.h: a randomized object graph on the persistent
 * kernel's real store, and a model of it, for the checkpoint tests
 * (test_kernel_pk_ckpt.c, test_kernel_pk_disk.c, test_kernel_pk_crash.c).
 * Header-only.
 *
 * The store is kernel-guest's own (pk_object, pk_bank, pk_cap, pk_cache):
 * objects are made by banks, counts change by revoke and by destroy (which
 * keeps a tombstone with the bumped count), and bytes change only through
 * the store's write protocol -- pk_cache_begin_op, pk_cache_resolve,
 * pk_cache_prepare_write, then the frame's bytes and pk_object_mark_dirty
 * -- so a copy-on-write snapshot sees every write.  The frame pool is host
 * memory the graph owns; it may be smaller than the graph, and then the
 * cache evicts clean objects and reloads them through the store's backing.
 *
 * Beside the store the graph keeps a model: for every OID it was handed,
 * the type, count and bytes the store must hold (a destroyed object: type
 * NONE and its bumped count).  Every store call either succeeds, and the
 * model follows, or changes nothing (decode-then-invoke), so the model is
 * the store's logical state at every point whatever the cache did.  A call
 * that needs a frame when the pool is full of dirty objects answers -EBUSY
 * ("take a checkpoint and retry"); the graph hands that back to the test.
 *
 * A PkTestSnap is a copy of the model: what a checkpoint taken at that
 * point must restart to.  pk_test_snap_diff compares a store with one:
 * live objects (OID, type, count, bytes) through pk_store_iterate, and
 * every tombstone: the object never loads again, a capability with an
 * older count is void, and a record the store keeps for it never has a
 * lower count.
 */
#ifndef TESTS_PK_TEST_GRAPH_H
#define TESTS_PK_TEST_GRAPH_H

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

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_cap.h"
#include "kernel-guest/pk_object.h"

#define PK_TEST_SLOT_BANK 0u     /* the CSpace's prime bank capability */
#define PK_TEST_SLOT_SCRATCH 1u  /* where revoke and destroy put their target */

/* One object of the model. */
typedef struct PkTestObj {
    PkOid oid;
    uint8_t type;                /* PK_OBJ_NONE: destroyed */
    uint8_t was;                 /* the type it had while live */
    uint32_t count;
    int32_t bank;                /* allocating bank */
    uint8_t bytes[PK_PAGE_SIZE]; /* its image: pk_object_image_len(was) bytes */
} PkTestObj;

typedef struct PkTestSnap {
    PkTestObj *obj;              /* OID order */
    uint32_t n;
    uint64_t live;
} PkTestSnap;

typedef struct PkTestGraph {
    uint8_t *frames;
    PkStore *s;
    PkOid cs;                    /* the CSpace node, 0 before pk_test_graph_start */
    int32_t child;               /* a child bank of the prime bank, or -1 */
    uint32_t max_live;           /* the workload keeps at most this many objects */
    uint64_t rng;
    /* The model, in OID order (the store hands OIDs out increasing). */
    PkTestObj *obj;
    uint32_t nobj, cap, nlive;
    /* What the workload did, so a test can assert it was exercised. */
    unsigned creates, writes, revokes, destroys, kills, busy;
} PkTestGraph;

static inline uint64_t pk_test_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A store of *cfg's geometry over cfg->nframes frames of zeroed host
 * memory (*frames: the caller frees it after pk_store_free). */
static inline PkStore *pk_test_store_new_config(const PkStoreConfig *cfg, uint8_t **frames)
{
    PkStoreConfig c = *cfg;
    PkStore *s;
    SlError e;

    *frames = calloc(c.nframes, PK_PAGE_SIZE);
    assert_non_null(*frames);
    c.frames = *frames;
    if (pk_store_new(&c, &s, &e) != 0) {
        fail_msg("pk_store_new: %s", e.msg);
    }
    return s;
}

/* A store over nframes frames of host memory (*frames: the caller frees
 * it after pk_store_free) with room for max_objects records, tombstones
 * included, and 4 banks.  For restarts, and for tests that need no graph. */
static inline PkStore *pk_test_store_new(uint32_t nframes, uint32_t max_objects,
                                         uint8_t **frames)
{
    PkStoreConfig cfg = {.nframes = nframes, .max_objects = max_objects, .max_banks = 4};

    return pk_test_store_new_config(&cfg, frames);
}

/* A graph over a new, empty store.  No object exists yet: a test that
 * boots the store from a disk does so before pk_test_graph_start. */
static inline void pk_test_graph_new(PkTestGraph *g, uint32_t nframes, uint32_t max_objects,
                                     uint32_t max_live, uint64_t seed)
{
    memset(g, 0, sizeof(*g));
    g->s = pk_test_store_new(nframes, max_objects, &g->frames);
    g->child = -1;
    g->max_live = max_live;
    g->rng = seed;
}

static inline void pk_test_graph_free(PkTestGraph *g)
{
    pk_store_free(g->s);
    free(g->frames);
    free(g->obj);
    memset(g, 0, sizeof(*g));
}

static inline PkTestObj *pk_test_graph_find(const PkTestGraph *g, PkOid oid)
{
    uint32_t lo = 0, hi = g->nobj;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (g->obj[mid].oid < oid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < g->nobj && g->obj[lo].oid == oid ? &g->obj[lo] : NULL;
}

/* 0, or the "no room" answers a workload hands back (-EBUSY: checkpoint
 * and retry; -ENOMEM: no frame at all, e.g. during a snapshot).  Anything
 * else is a failure of the store. */
static inline int pk_test_graph_rc(PkTestGraph *g, int rc, const char *what)
{
    if (rc == -EBUSY || rc == -ENOMEM) {
        g->busy++;
        return rc;
    }
    if (rc != 0) {
        fail_msg("%s: %d", what, rc);
    }
    return 0;
}

/* ---- operations: each a store call, then the model ---------------------- */

/* A new zeroed object of bank: 0 and *oid, or -EBUSY/-ENOMEM. */
static inline int pk_test_graph_create(PkTestGraph *g, int32_t bank, PkObjType type, PkOid *oid)
{
    PkTestObj *o;
    int rc = pk_test_graph_rc(g, pk_bank_new_object(g->s, bank, type, oid), "new object");

    if (rc) {
        return rc;
    }
    assert_true(g->nobj == 0 || *oid > g->obj[g->nobj - 1].oid);
    if (g->nobj == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->obj = realloc(g->obj, g->cap * sizeof(*g->obj));
        assert_non_null(g->obj);
    }
    o = &g->obj[g->nobj++];
    memset(o, 0, sizeof(*o));
    o->oid = *oid;
    o->type = o->was = (uint8_t)type;
    o->bank = bank;
    g->nlive++;
    g->creates++;
    return 0;
}

/* Bytes [off, off+len) of a live object, through the write protocol. */
static inline int pk_test_graph_write(PkTestGraph *g, PkOid oid, uint32_t off, const void *buf,
                                      uint32_t len)
{
    PkTestObj *o = pk_test_graph_find(g, oid);
    PkStore *s = g->s;
    int32_t idx;
    int rc;

    assert_true(o && o->type != PK_OBJ_NONE && off + len <= pk_object_image_len(o->type));
    pk_cache_begin_op(s);
    rc = pk_cache_resolve(s, oid, &idx);
    if (rc == 0) {
        rc = pk_cache_prepare_write(s, idx);    /* the snapshot's copy, if it needs one */
    }
    if (pk_test_graph_rc(g, rc, "write")) {
        return rc;
    }
    memcpy(pk_object_frame_data(s, s->obj[idx].frame) + off, buf, len);
    pk_cache_touch(s, idx);
    pk_object_mark_dirty(s, idx);
    memcpy(o->bytes + off, buf, len);
    g->writes++;
    return 0;
}

/* The CSpace node, slot 0 holding the prime bank. */
static inline int pk_test_graph_start(PkTestGraph *g)
{
    PkCap bank = pk_bank_cap(g->s, PK_BANK_PRIME);
    int rc = pk_test_graph_create(g, PK_BANK_PRIME, PK_OBJ_NODE, &g->cs);

    if (rc) {
        return rc;
    }
    return pk_test_graph_write(g, g->cs, PK_TEST_SLOT_BANK * sizeof(PkCap), &bank,
                               sizeof(bank));
}

/* A capability with all rights to the model's object o, as it is now. */
static inline PkCap pk_test_graph_cap(const PkTestObj *o)
{
    PkCap c = {0};

    c.type = o->was == PK_OBJ_PAGE ? PK_CAP_PAGE : PK_CAP_NODE;
    c.rights = PK_RIGHTS_ALL;
    c.count = o->count;
    c.oid = o->oid;
    return c;
}

/* cs[scratch] = a capability to oid (pk_cap_mint: the kernel's own write). */
static inline int pk_test_graph_mint(PkTestGraph *g, PkOid oid, PkCap *c)
{
    PkTestObj *cs = pk_test_graph_find(g, g->cs);
    int rc;

    *c = pk_test_graph_cap(pk_test_graph_find(g, oid));
    rc = pk_test_graph_rc(g, pk_cap_mint(g->s, g->cs, PK_TEST_SLOT_SCRATCH, c), "mint");
    if (rc == 0) {
        memcpy(cs->bytes + PK_TEST_SLOT_SCRATCH * sizeof(PkCap), c, sizeof(*c));
    }
    return rc;
}

/* Bumps oid's count through a capability in the CSpace (pk_cap_revoke). */
static inline int pk_test_graph_revoke(PkTestGraph *g, PkOid oid)
{
    PkTestObj *cs, *o;
    PkCap c;
    int rc = pk_test_graph_mint(g, oid, &c);

    if (rc == 0) {
        rc = pk_test_graph_rc(g, pk_cap_revoke(g->s, g->cs, PK_TEST_SLOT_SCRATCH), "revoke");
    }
    if (rc) {
        return rc;
    }
    cs = pk_test_graph_find(g, g->cs);
    o = pk_test_graph_find(g, oid);
    o->count++;
    c.count = o->count;                          /* the revoker's copy is reissued */
    memcpy(cs->bytes + PK_TEST_SLOT_SCRATCH * sizeof(PkCap), &c, sizeof(c));
    g->revokes++;
    return 0;
}

/* The model's side of a destroy: a tombstone with the bumped count. */
static inline void pk_test_graph_bury(PkTestGraph *g, PkTestObj *o)
{
    o->type = PK_OBJ_NONE;
    o->count++;
    g->nlive--;
    g->destroys++;
}

/* Destroys oid through the prime bank in the CSpace (pk_bank_free). */
static inline int pk_test_graph_destroy(PkTestGraph *g, PkOid oid)
{
    PkCap c;
    int rc = pk_test_graph_mint(g, oid, &c);

    if (rc == 0) {
        rc = pk_test_graph_rc(g, pk_bank_free(g->s, g->cs, PK_TEST_SLOT_BANK,
                                              PK_TEST_SLOT_SCRATCH), "free");
    }
    if (rc == 0) {
        pk_test_graph_bury(g, pk_test_graph_find(g, oid));
    }
    return rc;
}

/* A child bank of the prime bank, unlimited: a third of the creates go
 * to it while it lives. */
static inline void pk_test_graph_new_child(PkTestGraph *g)
{
    uint64_t quota[PK_RES_COUNT] = {PK_QUOTA_UNLIMITED, PK_QUOTA_UNLIMITED};

    assert_int_equal(g->child, -1);
    assert_int_equal(pk_bank_new_child(g->s, PK_BANK_PRIME, quota, &g->child), 0);
}

/* Kills the child bank and every object it allocated. */
static inline void pk_test_graph_kill(PkTestGraph *g)
{
    assert_int_equal(pk_bank_kill(g->s, g->child), 0);
    for (uint32_t i = 0; i < g->nobj; i++) {
        if (g->obj[i].type != PK_OBJ_NONE && g->obj[i].bank == g->child) {
            pk_test_graph_bury(g, &g->obj[i]);
        }
    }
    g->child = -1;
    g->kills++;
}

/* ---- the random workload -------------------------------------------------- */

/* A random live object other than the CSpace, of type (NONE: any), or 0. */
static inline PkOid pk_test_graph_pick(PkTestGraph *g, uint8_t type)
{
    uint32_t start = g->nobj ? (uint32_t)(pk_test_rng(&g->rng) % g->nobj) : 0;

    for (uint32_t k = 0; k < g->nobj; k++) {
        const PkTestObj *o = &g->obj[(start + k) % g->nobj];

        if (o->type != PK_OBJ_NONE && o->oid != g->cs && (type == PK_OBJ_NONE || o->type == type)) {
            return o->oid;
        }
    }
    return 0;
}

/* Random bytes over a random part of a page (a whole page one time in four). */
static inline int pk_test_graph_write_page(PkTestGraph *g, PkOid oid)
{
    uint8_t buf[PK_PAGE_SIZE];
    uint32_t off = 0, len = PK_PAGE_SIZE;

    if (pk_test_rng(&g->rng) % 4) {
        off = (uint32_t)(pk_test_rng(&g->rng) % PK_PAGE_SIZE);
        len = 1 + (uint32_t)(pk_test_rng(&g->rng) % (PK_PAGE_SIZE - off));
    }
    for (uint32_t i = 0; i < len; i += 8) {
        uint64_t v = pk_test_rng(&g->rng);

        memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
    }
    return pk_test_graph_write(g, oid, off, buf, len);
}

/* A few slots of a node: capabilities to objects of the graph -- live
 * ones, destroyed ones, stale counts -- to banks, and numbers. */
static inline int pk_test_graph_write_node(PkTestGraph *g, PkOid oid)
{
    PkCap caps[4];
    uint32_t n = 1 + (uint32_t)(pk_test_rng(&g->rng) % 4);
    uint32_t first = (uint32_t)(pk_test_rng(&g->rng) % (PK_NODE_SLOTS - n + 1));

    memset(caps, 0, sizeof(caps));
    for (uint32_t i = 0; i < n; i++) {
        const PkTestObj *t = &g->obj[pk_test_rng(&g->rng) % g->nobj];
        uint64_t r = pk_test_rng(&g->rng);

        switch (r % 5) {
        case 0:
            caps[i] = pk_bank_cap(g->s, PK_BANK_PRIME);
            break;
        case 1:
            caps[i].type = PK_CAP_NUMBER;
            caps[i].oid = r;
            break;
        default:
            caps[i] = pk_test_graph_cap(t);
            caps[i].rights = (uint8_t)(r >> 8) & PK_RIGHTS_ALL;
            caps[i].count -= (uint32_t)(r >> 16) % 2;   /* now and then, a stale one */
            break;
        }
    }
    return pk_test_graph_write(g, oid, first * (uint32_t)sizeof(PkCap), caps,
                               n * (uint32_t)sizeof(PkCap));
}

/* One random step (the first makes the CSpace): create (pages and nodes,
 * from the prime bank or a child bank), write a page or node slots,
 * revoke, destroy, create or kill the child bank.  0, or -EBUSY/-ENOMEM
 * with the store and the model as they were before the failed call (a
 * step is one to three calls). */
static inline int pk_test_graph_step(PkTestGraph *g)
{
    uint64_t r = pk_test_rng(&g->rng) % 100;
    PkOid oid;

    if (!g->cs) {
        return pk_test_graph_start(g);
    }
    if (g->nlive >= g->max_live && r < 30) {
        r = 90;                                  /* full: destroy instead */
    }
    if (r < 30 || g->nlive < 3) {
        int32_t bank = g->child >= 0 && r % 3 == 0 ? g->child : PK_BANK_PRIME;

        return pk_test_graph_create(g, bank, r % 4 == 1 ? PK_OBJ_NODE : PK_OBJ_PAGE, &oid);
    }
    if (r < 60 && (oid = pk_test_graph_pick(g, PK_OBJ_PAGE)) != 0) {
        return pk_test_graph_write_page(g, oid);
    }
    if (r < 74 && (oid = pk_test_graph_pick(g, PK_OBJ_NODE)) != 0) {
        return pk_test_graph_write_node(g, oid);
    }
    if (r < 84 && (oid = pk_test_graph_pick(g, PK_OBJ_NONE)) != 0) {
        return pk_test_graph_revoke(g, oid);
    }
    if (r < 95 && (oid = pk_test_graph_pick(g, PK_OBJ_NONE)) != 0) {
        return pk_test_graph_destroy(g, oid);
    }
    if (g->child >= 0) {
        pk_test_graph_kill(g);
    } else {
        pk_test_graph_new_child(g);
    }
    return 0;
}

/* ---- snapshots of the model, and comparing a store with one ------------------ */

static inline void pk_test_graph_snap(const PkTestGraph *g, PkTestSnap *snap)
{
    snap->n = g->nobj;
    snap->live = g->nlive;
    snap->obj = malloc((g->nobj ? g->nobj : 1) * sizeof(*snap->obj));
    assert_non_null(snap->obj);
    memcpy(snap->obj, g->obj, g->nobj * sizeof(*snap->obj));
}

static inline void pk_test_snap_free(PkTestSnap *snap)
{
    free(snap->obj);
    memset(snap, 0, sizeof(*snap));
}

/* The highest OID snap knows, live or destroyed (0 for an empty one): a
 * store restarted from snap's checkpoint must never hand it out again. */
static inline PkOid pk_test_snap_last_oid(const PkTestSnap *snap)
{
    return snap->n ? snap->obj[snap->n - 1].oid : 0;
}

/* snap plus one new, zeroed, live object of bank with count 0 (its OID
 * above all of snap's): what a store restarted from snap's checkpoint holds
 * after one more create. */
static inline void pk_test_snap_add(PkTestSnap *snap, PkOid oid, uint8_t type, int32_t bank)
{
    PkTestObj *o;

    assert_true(oid > pk_test_snap_last_oid(snap));
    snap->obj = realloc(snap->obj, (snap->n + 1) * sizeof(*snap->obj));
    assert_non_null(snap->obj);
    o = &snap->obj[snap->n++];
    memset(o, 0, sizeof(*o));
    o->oid = oid;
    o->type = o->was = type;
    o->bank = bank;
    snap->live++;
}

/* 0 if got holds exactly want's live objects and none of want's destroyed
 * ones, else 1 and why (one line).  First resolves every OID want knows:
 * a lazily restarted store has records only for what it has loaded (and
 * for placed OIDs).  Live
 * objects the store has and want does not are caught by iterate only when
 * loaded: after a restart, compare the directory's size too. */
static inline int pk_test_snap_diff(const PkTestSnap *want, PkStore *got, char *why, size_t n)
{
    uint64_t cur = 0;
    uint32_t i = 0;
    PkObjImage img;
    int32_t idx;
    int rc;

    for (uint32_t k = 0; k < want->n; k++) {
        const PkTestObj *o = &want->obj[k];

        pk_cache_begin_op(got);
        rc = pk_cache_resolve(got, o->oid, &idx);
        if (o->type != PK_OBJ_NONE && rc != 0) {
            snprintf(why, n, "object 0x%" PRIx64 ": does not load (%d)", o->oid, rc);
            return 1;
        }
        if (o->type == PK_OBJ_NONE && rc != -ENOENT) {
            snprintf(why, n, "destroyed object 0x%" PRIx64 ": resolves (%d)", o->oid, rc);
            return 1;
        }
    }
    while ((rc = pk_store_iterate(got, &cur, &img)) == 1) {
        const PkTestObj *o;

        while (i < want->n && want->obj[i].type == PK_OBJ_NONE) {
            i++;
        }
        o = i < want->n ? &want->obj[i++] : NULL;
        if (!o || o->oid != img.oid) {
            snprintf(why, n, "object 0x%" PRIx64 ": not expected (next expected: 0x%" PRIx64 ")",
                     img.oid, o ? o->oid : 0);
            return 1;
        }
        if (img.type != o->type || img.count != o->count ||
            img.len != pk_object_image_len(o->type) || memcmp(img.data, o->bytes, img.len)) {
            snprintf(why, n, "object 0x%" PRIx64 ": [type=%u] [count=%u] [len=%u] or bytes; "
                     "expected [type=%u] [count=%u]", img.oid, img.type, img.count, img.len,
                     o->type, o->count);
            return 1;
        }
    }
    if (rc < 0) {
        snprintf(why, n, "iterate: %d", rc);
        return 1;
    }
    while (i < want->n && want->obj[i].type == PK_OBJ_NONE) {
        i++;
    }
    if (i < want->n) {
        snprintf(why, n, "object 0x%" PRIx64 ": missing", want->obj[i].oid);
        return 1;
    }
    /* Tombstones: a capability made before the destroy stays void, and a
     * record kept for the OID never has a lower count. */
    for (uint32_t k = 0; k < want->n; k++) {
        const PkTestObj *o = &want->obj[k];
        PkCap stale;

        if (o->type != PK_OBJ_NONE) {
            continue;
        }
        stale = pk_test_graph_cap(o);
        stale.count = o->count - 1;
        idx = pk_object_find(got, o->oid);
        if (!pk_cap_is_void(got, &stale) || (idx >= 0 && got->obj[idx].count < o->count)) {
            snprintf(why, n, "destroyed object 0x%" PRIx64 ": a capability of count %u is "
                     "valid again", o->oid, stale.count);
            return 1;
        }
    }
    return 0;
}

static inline void pk_test_snap_assert(const PkTestSnap *want, PkStore *got, const char *what)
{
    char why[200];

    if (pk_test_snap_diff(want, got, why, sizeof(why))) {
        fail_msg("%s: %s", what, why);
    }
}

#endif
