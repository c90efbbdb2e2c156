/*
 * kernel-guest/pk_store.c: the checkpoint's view of the store (pk_store.h)
 * -- the copy-on-write snapshot, installing objects at restart, and
 * iterating everything in OID order.
 *
 * A snapshot's life, per object: dirty --begin--> MARKED (count and type
 * captured; bytes stay in the live frame) --a write before it is consumed-->
 * MARKED|COPIED (old bytes in snap_frame) --snapshot_next yields it and is
 * called again--> INFLIGHT (consumed: writes no longer copy, but it stays
 * resident because the disk has not committed it yet) --end--> clean, unless
 * written meanwhile (then dirty again, for the next epoch).
 *
 * Install puts a placed OID (pk_object.h) back into its own frame; every
 * other object into a general frame.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_object.h"

int pk_store_snapshot_begin(PkStore *s, uint64_t epoch)
{
    int32_t *t;
    uint32_t i;
    PkObj *o;

    if (s->sc.snap_active) {
        return -EBUSY;
    }
    /* The pause: O(dirty objects), a few stores each, no bytes copied. */
    for (i = 0; i < s->sc.ndirty; i++) {
        o = &s->obj[s->dirty[i]];
        o->flags = (uint8_t)((o->flags & ~PK_OBJF_DIRTY) | PK_OBJF_MARKED);
        o->dirty_pos = -1;
        o->snap_count = o->count;
        o->snap_type = o->type;
    }
    t = s->snap;
    s->snap = s->dirty;
    s->dirty = t;
    s->sc.nsnap = s->sc.ndirty;
    s->sc.ndirty = 0;
    s->sc.snap_pos = 0;
    s->sc.snap_active = 1;
    s->sc.snap_epoch = epoch;
    return 0;
}

/* The checkpoint has read idx: drop its copy; it stays resident
 * (INFLIGHT) until the snapshot ends. */
static void pk_store_consume(PkStore *s, int32_t idx)
{
    PkObj *o = &s->obj[idx];

    if (!(o->flags & PK_OBJF_MARKED)) {
        return;
    }
    if (o->flags & PK_OBJF_COPIED) {
        pk_cache_frame_put(s, o->snap_frame);
        o->snap_frame = -1;
    }
    o->flags = (uint8_t)((o->flags & ~(PK_OBJF_MARKED | PK_OBJF_COPIED)) | PK_OBJF_INFLIGHT);
}

int pk_store_snapshot_next(PkStore *s, PkObjImage *img)
{
    const PkObj *o;
    int32_t idx;

    if (!s->sc.snap_active) {
        return -EINVAL;
    }
    if (s->sc.snap_pos > 0) {
        pk_store_consume(s, s->snap[s->sc.snap_pos - 1]);
    }
    if (s->sc.snap_pos == s->sc.nsnap) {
        return 0;
    }
    idx = s->snap[s->sc.snap_pos++];
    o = &s->obj[idx];
    memset(img, 0, sizeof(*img));
    img->oid = o->oid;
    img->type = o->snap_type;
    img->count = o->snap_count;
    img->len = pk_object_image_len(o->snap_type);
    if (img->len > 0) {
        img->data = pk_object_frame_data(s, (o->flags & PK_OBJF_COPIED) ? o->snap_frame
                                                                         : o->frame);
    }
    return 1;
}

static void pk_store_snapshot_finish(PkStore *s, bool redirty)
{
    uint32_t i;
    int32_t idx;

    if (!s->sc.snap_active) {
        return;
    }
    for (i = 0; i < s->sc.nsnap; i++) {
        idx = s->snap[i];
        pk_store_consume(s, idx);
        s->obj[idx].flags &= (uint8_t)~PK_OBJF_INFLIGHT;
        if (redirty) {
            pk_object_mark_dirty(s, idx);
        }
    }
    s->sc.nsnap = 0;
    s->sc.snap_pos = 0;
    s->sc.snap_active = 0;
}

void pk_store_snapshot_end(PkStore *s)
{
    pk_store_snapshot_finish(s, false);
}

void pk_store_snapshot_abort(PkStore *s)
{
    pk_store_snapshot_finish(s, true);
}

int pk_store_install(PkStore *s, const PkObjImage *img)
{
    int32_t idx = pk_object_find(s, img->oid), f = -1, pf = pk_object_placed_frame(s, img->oid);
    uint8_t *buf;
    int err;

    if (s->sc.snap_active) {
        return -EBUSY;
    }
    if (img->type > PK_OBJ_NODE || img->len != pk_object_image_len(img->type) ||
        (img->len > 0 && !img->data)) {
        return -EINVAL;
    }
    if (idx >= 0 && s->obj[idx].pins > 0) {
        return -EBUSY;                   /* a device owns its frame */
    }
    if (idx < 0 && s->sc.nobj >= s->cfg.max_objects) {
        return -ENOSPC;
    }
    assert((idx < 0 || s->obj[idx].frame < 0 || pf < 0 || s->obj[idx].frame == pf) &&
           "a resident placed object is in its own frame");
    if (img->type != PK_OBJ_NONE && pf >= 0 && (idx < 0 || s->obj[idx].frame < 0) &&
        s->frame_owner[pf] != PK_FRAME_FREE) {
        return -EBUSY;                   /* its frame is held by something else */
    }
    pk_cache_begin_op(s);
    if (img->type != PK_OBJ_NONE && (idx < 0 || s->obj[idx].frame < 0)) {
        if (pf >= 0) {
            f = pf;                      /* a placed object: its own frame, checked free */
        } else {
            err = pk_cache_frame_get(s, &f);
            if (err) {
                return err;
            }
        }
    }
    /* Invoke: nothing below fails. */
    if (idx < 0) {
        idx = pk_object_insert(s, img->oid, img->type, img->count);
    } else if (s->obj[idx].type != PK_OBJ_NONE && s->obj[idx].bank >= 0 &&
               img->type == PK_OBJ_NONE) {
        pk_bank_uncharge(s, s->obj[idx].bank, PK_RES_OBJECTS, 1);
        s->obj[idx].bank = -1;
    }
    s->obj[idx].type = img->type;
    s->obj[idx].count = img->count;
    if (f >= 0) {
        s->obj[idx].frame = f;
        s->frame_owner[f] = idx;
    }
    if (img->type == PK_OBJ_NONE) {
        pk_cache_release(s, idx);
    } else {
        buf = pk_object_frame_data(s, s->obj[idx].frame);
        memcpy(buf, img->data, img->len);
        memset(buf + img->len, 0, PK_PAGE_SIZE - img->len);
    }
    pk_cache_touch(s, idx);
    pk_object_mark_clean(s, idx);
    return 0;
}

int pk_store_mark_all_clean(PkStore *s)
{
    uint32_t i;
    PkObj *o;

    if (s->sc.snap_active) {
        return -EBUSY;
    }
    for (i = 0; i < s->sc.ndirty; i++) {
        o = &s->obj[s->dirty[i]];
        o->flags &= (uint8_t)~PK_OBJF_DIRTY;
        o->dirty_pos = -1;
    }
    s->sc.ndirty = 0;
    return 0;
}

static int pk_store_cmp_oid(const void *a, const void *b)
{
    PkOid x = ((const PkSortEnt *)a)->oid, y = ((const PkSortEnt *)b)->oid;

    return x < y ? -1 : x > y;
}

/* sorted[] is derived state (records by OID), rebuilt after inserts. */
static void pk_store_sort(PkStore *s)
{
    uint32_t i;

    if (s->nsorted == s->sc.nobj) {
        return;
    }
    for (i = 0; i < s->sc.nobj; i++) {
        s->sorted[i].oid = s->obj[i].oid;
        s->sorted[i].idx = (int32_t)i;
    }
    qsort(s->sorted, s->sc.nobj, sizeof(*s->sorted), pk_store_cmp_oid);
    s->nsorted = s->sc.nobj;
}

int pk_store_iterate(PkStore *s, uint64_t *cursor, PkObjImage *img)
{
    uint32_t lo, hi, mid;
    int32_t idx;
    int err;

    pk_store_sort(s);
    lo = 0;
    hi = s->nsorted;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (s->sorted[mid].oid < *cursor) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    while (lo < s->nsorted && s->obj[s->sorted[lo].idx].type == PK_OBJ_NONE) {
        lo++;
    }
    if (lo == s->nsorted) {
        return 0;
    }
    idx = s->sorted[lo].idx;
    pk_cache_begin_op(s);
    err = pk_cache_resolve(s, s->obj[idx].oid, &idx);
    if (err) {
        return err;
    }
    pk_cache_touch(s, idx);
    memset(img, 0, sizeof(*img));
    img->oid = s->obj[idx].oid;
    img->type = s->obj[idx].type;
    img->count = s->obj[idx].count;
    img->len = pk_object_image_len(img->type);
    img->data = pk_object_frame_data(s, s->obj[idx].frame);
    *cursor = img->oid + 1;
    return 1;
}
