/*
 * kernel-guest/pk_object.c: the object table (see pk_object.h) -- store
 * creation, the OID hash and counter, placed OIDs, the dirty list, destroy,
 * and the state blob.
 */
#include "kernel-guest/pk_object.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"

#define PK_STATE_MAGIC 0x54534b50u   /* "PKST" */
#define PK_STATE_VERSION 2u         /* 2: placed frames in the geometry */

/* Geometry written ahead of the state: restore refuses another geometry. */
typedef struct PkStateHeader {
    uint32_t magic, version;
    uint32_t nframes, max_objects, max_banks, nbuckets;
    uint32_t nplaced, pad;
    PkOid placed_oid;
} PkStateHeader;

static uint32_t pk_object_hash(const PkStore *s, PkOid oid)
{
    /* Fibonacci hashing: the top bits of the product, so consecutive OIDs
     * land in distinct buckets. */
    return (uint32_t)((oid * 0x9e3779b97f4a7c15ull) >> s->hash_shift);
}

int32_t pk_object_placed_frame(const PkStore *s, PkOid oid)
{
    if (oid < s->cfg.placed_oid || oid - s->cfg.placed_oid >= s->cfg.nplaced) {
        return -1;
    }
    return (int32_t)(oid - s->cfg.placed_oid);
}

/* oid, or the first OID past the placed range if oid is in it. */
static PkOid pk_object_skip_placed(const PkStore *s, PkOid oid)
{
    return pk_object_placed_frame(s, oid) >= 0 ? s->cfg.placed_oid + s->cfg.nplaced : oid;
}

/* The clock's first position: the first general frame (0 if none). */
static uint32_t pk_object_clock_start(const PkStore *s)
{
    return s->cfg.nplaced < s->cfg.nframes ? s->cfg.nplaced : 0;
}

static void pk_object_reset(PkStore *s)
{
    uint32_t ngeneral = s->cfg.nframes - s->cfg.nplaced, i;

    memset(&s->sc, 0, sizeof(s->sc));
    s->sc.next_oid = pk_object_skip_placed(s, PK_OID_FIRST);
    s->sc.clock = pk_object_clock_start(s);
    for (i = 0; i < s->nbuckets; i++) {
        s->bucket[i] = -1;
    }
    for (i = 0; i < s->cfg.nframes; i++) {
        s->frame_owner[i] = PK_FRAME_FREE;
    }
    /* Only general frames are stacked; the stack pops the lowest first:
     * allocation order is deterministic. */
    for (i = 0; i < ngeneral; i++) {
        s->frame_free[i] = (int32_t)(s->cfg.nframes - 1 - i);
    }
    s->sc.nfree = ngeneral;
    s->nsorted = UINT32_MAX;
}

int pk_store_new(const PkStoreConfig *cfg, PkStore **out, SlError *err)
{
    PkStore *s;

    *out = NULL;
    if (!cfg->frames || cfg->nframes == 0 || cfg->nframes > INT32_MAX / 2) {
        return sl_error(err, -EINVAL, "pk_store: frame pool [nframes=%u]: expected a "
                        "buffer of 1..2^30 frames", cfg->nframes);
    }
    if (cfg->max_objects == 0 || cfg->max_objects > (1u << 28)) {
        return sl_error(err, -EINVAL, "pk_store: max_objects=%u: expected 1..2^28",
                        cfg->max_objects);
    }
    if (cfg->max_banks == 0 || cfg->max_banks > (1u << 20)) {
        return sl_error(err, -EINVAL, "pk_store: max_banks=%u: expected 1..2^20",
                        cfg->max_banks);
    }
    if (cfg->nplaced > cfg->nframes) {
        return sl_error(err, -EINVAL, "pk_store: nplaced=%u: expected at most nframes=%u",
                        cfg->nplaced, cfg->nframes);
    }
    if (cfg->nplaced > 0 && (cfg->placed_oid < PK_OID_FIRST ||
                             cfg->placed_oid > UINT64_MAX - cfg->nplaced)) {
        return sl_error(err, -EINVAL, "pk_store: placed_oid=0x%llx [nplaced=%u]: expected "
                        "a range in [0x%x, 2^64)", (unsigned long long)cfg->placed_oid,
                        cfg->nplaced, PK_OID_FIRST);
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return sl_error(err, -ENOMEM, "pk_store: out of host memory");
    }
    s->frames = cfg->frames;
    s->cfg = *cfg;
    if (cfg->nplaced == 0) {
        s->cfg.placed_oid = 0;           /* one geometry for "no placed frames" */
    }
    s->nbuckets = 2;
    s->hash_shift = 63;
    while (s->nbuckets < cfg->max_objects) {
        s->nbuckets <<= 1;
        s->hash_shift--;
    }
    s->obj = calloc(cfg->max_objects, sizeof(*s->obj));
    s->bucket = calloc(s->nbuckets, sizeof(*s->bucket));
    s->dirty = calloc(cfg->max_objects, sizeof(*s->dirty));
    s->snap = calloc(cfg->max_objects, sizeof(*s->snap));
    s->sorted = calloc(cfg->max_objects, sizeof(*s->sorted));
    s->frame_owner = calloc(cfg->nframes, sizeof(*s->frame_owner));
    s->frame_free = calloc(cfg->nframes, sizeof(*s->frame_free));
    s->bank = calloc(cfg->max_banks, sizeof(*s->bank));
    s->held = calloc(cfg->max_objects, sizeof(*s->held));
    s->op_seq = 1;                   /* held[] starts at 0: nothing held */
    if (!s->obj || !s->bucket || !s->dirty || !s->snap || !s->sorted || !s->frame_owner ||
        !s->frame_free || !s->bank || !s->held) {
        pk_store_free(s);
        return sl_error(err, -ENOMEM, "pk_store: out of host memory");
    }
    pk_object_reset(s);
    pk_bank_init_prime(s);
    *out = s;
    return 0;
}

void pk_store_free(PkStore *s)
{
    if (!s) {
        return;
    }
    free(s->obj);
    free(s->bucket);
    free(s->dirty);
    free(s->snap);
    free(s->sorted);
    free(s->frame_owner);
    free(s->frame_free);
    free(s->bank);
    free(s->held);
    free(s);
}

void pk_store_clear(PkStore *s)
{
    PkOid next = s->sc.next_oid;
    uint32_t i;

    /* Banks stay (they are not yet on disk); their objects are forgotten,
     * placed ones too (their frames become free).  The OID counter never
     * goes back: a forgotten OID is not reissued. */
    pk_object_reset(s);
    s->sc.next_oid = next;
    for (i = 0; i < s->cfg.max_banks; i++) {
        s->bank[i].used[PK_RES_OBJECTS] = 0;
    }
}

void pk_store_set_backing(PkStore *s, const PkBacking *b)
{
    if (b) {
        s->backing = *b;
    } else {
        memset(&s->backing, 0, sizeof(s->backing));
    }
}

int32_t pk_object_find(const PkStore *s, PkOid oid)
{
    int32_t i = s->bucket[pk_object_hash(s, oid)];

    while (i >= 0 && s->obj[i].oid != oid) {
        i = s->obj[i].hnext;
    }
    return i;
}

int32_t pk_object_insert(PkStore *s, PkOid oid, uint8_t type, uint32_t count)
{
    uint32_t h = pk_object_hash(s, oid);
    int32_t idx;
    PkObj *o;

    assert(pk_object_find(s, oid) < 0 && "an OID has at most one record");
    if (s->sc.nobj >= s->cfg.max_objects) {
        return -ENOSPC;
    }
    idx = (int32_t)s->sc.nobj++;
    o = &s->obj[idx];
    memset(o, 0, sizeof(*o));
    o->oid = oid;
    o->type = type;
    o->count = count;
    o->frame = -1;
    o->snap_frame = -1;
    o->bank = -1;
    o->dirty_pos = -1;
    s->held[idx] = 0;
    o->hnext = s->bucket[h];
    s->bucket[h] = idx;
    if (oid >= s->sc.next_oid && pk_object_placed_frame(s, oid) < 0) {
        s->sc.next_oid = oid + 1;
    }
    s->nsorted = UINT32_MAX;
    return idx;
}

PkOid pk_object_take_oid(PkStore *s)
{
    PkOid oid = pk_object_skip_placed(s, s->sc.next_oid);

    s->sc.next_oid = oid + 1;
    return oid;
}

void pk_object_mark_dirty(PkStore *s, int32_t idx)
{
    PkObj *o = &s->obj[idx];

    if (o->flags & PK_OBJF_DIRTY) {
        return;
    }
    o->flags |= PK_OBJF_DIRTY;
    o->dirty_pos = (int32_t)s->sc.ndirty;
    s->dirty[s->sc.ndirty++] = idx;
}

void pk_object_mark_clean(PkStore *s, int32_t idx)
{
    PkObj *o = &s->obj[idx];
    int32_t last;

    if (!(o->flags & PK_OBJF_DIRTY)) {
        return;
    }
    /* Swap-remove: the last entry takes the hole. */
    last = s->dirty[--s->sc.ndirty];
    s->dirty[o->dirty_pos] = last;
    s->obj[last].dirty_pos = o->dirty_pos;
    o->dirty_pos = -1;
    o->flags &= (uint8_t)~PK_OBJF_DIRTY;
}

int pk_object_destroy(PkStore *s, int32_t idx)
{
    PkObj *o = &s->obj[idx];

    assert(o->type != PK_OBJ_NONE && "only a live object is destroyed");
    if (o->bank >= 0) {
        pk_bank_uncharge(s, o->bank, PK_RES_OBJECTS, 1);
    }
    o->type = PK_OBJ_NONE;
    o->count++;
    pk_object_mark_dirty(s, idx);
    if (o->pins > 0) {
        o->flags |= PK_OBJF_DOOMED;
        return PK_PENDING;
    }
    pk_cache_release(s, idx);
    return 0;
}

uint8_t *pk_object_frame_data(const PkStore *s, int32_t frame)
{
    assert(frame >= 0 && (uint32_t)frame < s->cfg.nframes && "a frame of the pool");
    return s->frames + (size_t)frame * PK_PAGE_SIZE;
}

uint32_t pk_object_image_len(uint8_t type)
{
    return type == PK_OBJ_PAGE ? PK_PAGE_SIZE : type == PK_OBJ_NODE ? PK_NODE_BYTES : 0;
}

/* --- state blob --------------------------------------------------------- */

/* The blob: header, scalars, then obj[nobj], bucket[], dirty[ndirty],
 * snap[nsnap], frame_owner[], frame_free[nfree], bank[]. */
static size_t pk_object_blob_size(const PkStore *s, const PkStoreScalars *sc)
{
    return sizeof(PkStateHeader) + sizeof(PkStoreScalars) + sc->nobj * sizeof(PkObj) +
           s->nbuckets * sizeof(int32_t) + (sc->ndirty + sc->nsnap) * sizeof(int32_t) +
           (s->cfg.nframes + sc->nfree) * sizeof(int32_t) + s->cfg.max_banks * sizeof(PkBank);
}

size_t pk_store_state_size(const PkStore *s)
{
    return pk_object_blob_size(s, &s->sc);
}

static uint8_t *pk_object_put(uint8_t *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

long pk_store_state_save(const PkStore *s, void *buf, size_t size)
{
    PkStateHeader h = { PK_STATE_MAGIC, PK_STATE_VERSION, s->cfg.nframes,
                        s->cfg.max_objects, s->cfg.max_banks, s->nbuckets,
                        s->cfg.nplaced, 0, s->cfg.placed_oid };
    size_t need = pk_store_state_size(s);
    uint8_t *p = buf;

    if (size < need) {
        return -ENOSPC;
    }
    p = pk_object_put(p, &h, sizeof(h));
    p = pk_object_put(p, &s->sc, sizeof(s->sc));
    p = pk_object_put(p, s->obj, s->sc.nobj * sizeof(PkObj));
    p = pk_object_put(p, s->bucket, s->nbuckets * sizeof(int32_t));
    p = pk_object_put(p, s->dirty, s->sc.ndirty * sizeof(int32_t));
    p = pk_object_put(p, s->snap, s->sc.nsnap * sizeof(int32_t));
    p = pk_object_put(p, s->frame_owner, s->cfg.nframes * sizeof(int32_t));
    p = pk_object_put(p, s->frame_free, s->sc.nfree * sizeof(int32_t));
    p = pk_object_put(p, s->bank, s->cfg.max_banks * sizeof(PkBank));
    assert((size_t)(p - (uint8_t *)buf) == need && "the blob is exactly its size");
    return (long)need;
}

/* Whether every int32 in a[0..n) is in [lo, hi). */
static bool pk_object_in_range(const uint8_t *a, uint32_t n, int64_t lo, int64_t hi)
{
    uint32_t i;
    int32_t v;

    for (i = 0; i < n; i++) {
        memcpy(&v, a + (size_t)i * sizeof(v), sizeof(v));
        if (v < lo || v >= hi) {
            return false;
        }
    }
    return true;
}

static int pk_object_check_records(const PkStore *s, const uint8_t *p, uint32_t nobj,
                                   SlError *err)
{
    int64_t np = s->cfg.nplaced;
    int32_t pf;
    PkObj o;
    uint32_t i;

    for (i = 0; i < nobj; i++) {
        memcpy(&o, p + (size_t)i * sizeof(o), sizeof(o));
        if (o.frame < -1 || o.frame >= (int64_t)s->cfg.nframes || o.snap_frame < -1 ||
            o.snap_frame >= (int64_t)s->cfg.nframes || o.hnext < -1 || o.hnext >= (int64_t)nobj ||
            o.bank < -1 || o.bank >= (int64_t)s->cfg.max_banks || o.type > PK_OBJ_NODE) {
            return sl_error(err, -EINVAL, "pk_store state: record %u [oid=0x%llx]: an index "
                            "is out of range", i, (unsigned long long)o.oid);
        }
        /* A placed OID lives only in its own frame (its snapshot copy may be
         * there or in a general frame); any other OID only in general ones. */
        pf = pk_object_placed_frame(s, o.oid);
        if ((o.frame >= 0 && (pf >= 0 ? o.frame != pf : o.frame < np)) ||
            (o.snap_frame >= 0 && o.snap_frame < np && o.snap_frame != pf)) {
            return sl_error(err, -EINVAL, "pk_store state: record %u [oid=0x%llx] [frame=%d] "
                            "[snap_frame=%d]: breaks the placed-frame rule [nplaced=%u]", i,
                            (unsigned long long)o.oid, o.frame, o.snap_frame,
                            s->cfg.nplaced);
        }
    }
    return 0;
}

int pk_store_state_restore(PkStore *s, const void *buf, size_t size, SlError *err)
{
    const uint8_t *p = buf;
    PkStateHeader h;
    PkStoreScalars sc;
    const uint8_t *recs, *arrays;
    uint32_t nobj;

    if (size < sizeof(h) + sizeof(sc)) {
        return sl_error(err, -EINVAL, "pk_store state: %zu bytes: shorter than its header",
                        size);
    }
    memcpy(&h, p, sizeof(h));
    memcpy(&sc, p + sizeof(h), sizeof(sc));
    if (h.magic != PK_STATE_MAGIC || h.version != PK_STATE_VERSION) {
        return sl_error(err, -EINVAL, "pk_store state: magic/version [0x%x/%u]: expected "
                        "0x%x/%u", h.magic, h.version, PK_STATE_MAGIC, PK_STATE_VERSION);
    }
    if (h.nframes != s->cfg.nframes || h.max_objects != s->cfg.max_objects ||
        h.max_banks != s->cfg.max_banks || h.nbuckets != s->nbuckets ||
        h.nplaced != s->cfg.nplaced || h.placed_oid != s->cfg.placed_oid) {
        return sl_error(err, -EINVAL, "pk_store state: geometry [nframes=%u] [max_objects=%u] "
                        "[max_banks=%u] [nplaced=%u] [placed_oid=0x%llx]: expected this "
                        "store's", h.nframes, h.max_objects, h.max_banks, h.nplaced,
                        (unsigned long long)h.placed_oid);
    }
    nobj = sc.nobj;
    if (nobj > s->cfg.max_objects || sc.nfree > s->cfg.nframes - s->cfg.nplaced ||
        sc.ndirty > nobj || sc.nsnap > nobj || sc.snap_pos > sc.nsnap ||
        sc.clock >= s->cfg.nframes || sc.clock < pk_object_clock_start(s)) {
        return sl_error(err, -EINVAL, "pk_store state: counters [nobj=%u] [nfree=%u] "
                        "[ndirty=%u] [nsnap=%u] [clock=%u]: out of range", nobj, sc.nfree,
                        sc.ndirty, sc.nsnap, sc.clock);
    }
    if (size != pk_object_blob_size(s, &sc)) {
        return sl_error(err, -EINVAL, "pk_store state: size %zu: expected %zu", size,
                        pk_object_blob_size(s, &sc));
    }
    recs = p + sizeof(h) + sizeof(sc);
    if (pk_object_check_records(s, recs, nobj, err)) {
        return -EINVAL;
    }
    arrays = recs + (size_t)nobj * sizeof(PkObj);
    if (!pk_object_in_range(arrays, s->nbuckets, -1, nobj) ||
        !pk_object_in_range(arrays + s->nbuckets * 4u, sc.ndirty + sc.nsnap, 0, nobj) ||
        !pk_object_in_range(arrays + (s->nbuckets + sc.ndirty + sc.nsnap) * 4u,
                            s->cfg.nframes, PK_FRAME_SNAP_BASE - (int64_t)nobj + 1, nobj) ||
        !pk_object_in_range(arrays + (s->nbuckets + sc.ndirty + sc.nsnap + s->cfg.nframes) * 4u,
                            sc.nfree, s->cfg.nplaced, s->cfg.nframes)) {
        return sl_error(err, -EINVAL, "pk_store state: bucket/dirty/snapshot/frame tables: "
                        "an index is out of range");
    }
    s->sc = sc;
    memcpy(s->obj, recs, (size_t)nobj * sizeof(PkObj));
    p = arrays;
    memcpy(s->bucket, p, s->nbuckets * sizeof(int32_t));
    p += s->nbuckets * sizeof(int32_t);
    memcpy(s->dirty, p, sc.ndirty * sizeof(int32_t));
    p += sc.ndirty * sizeof(int32_t);
    memcpy(s->snap, p, sc.nsnap * sizeof(int32_t));
    p += sc.nsnap * sizeof(int32_t);
    memcpy(s->frame_owner, p, s->cfg.nframes * sizeof(int32_t));
    p += s->cfg.nframes * sizeof(int32_t);
    memcpy(s->frame_free, p, sc.nfree * sizeof(int32_t));
    p += sc.nfree * sizeof(int32_t);
    memcpy(s->bank, p, s->cfg.max_banks * sizeof(PkBank));
    s->nsorted = UINT32_MAX;
    return 0;
}
