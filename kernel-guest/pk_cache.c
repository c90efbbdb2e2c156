/*
 * kernel-guest/pk_cache.c: the object cache (see pk_cache.h) -- frames,
 * the clock evictor, loading a miss through the PkBacking (a placed OID
 * into its own frame), copy-on-write for a running snapshot, and I/O pins
 * with deferred destroy.
 */
#include "kernel-guest/pk_cache.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

void pk_cache_frame_put(PkStore *s, int32_t frame)
{
    assert(frame >= 0 && (uint32_t)frame < s->cfg.nframes && "a frame of the pool");
    s->frame_owner[frame] = PK_FRAME_FREE;
    if ((uint32_t)frame < s->cfg.nplaced) {
        return;                          /* placed: free, but never stacked */
    }
    assert(s->sc.nfree < s->cfg.nframes - s->cfg.nplaced && "a frame is freed once");
    s->frame_free[s->sc.nfree++] = frame;
}

/* One clean, unpinned, unused object loses its frame.  Two turns of the
 * hand over the general frames [nplaced, nframes) -- a placed frame is
 * never a candidate: the first turn may only clear reference bits.  On
 * failure nothing has changed -- a reference bit is cleared only on a
 * candidate, and any candidate is taken by the second turn; the hand ends
 * where it began. */
static int pk_cache_evict(PkStore *s, int32_t *frame)
{
    uint32_t first = s->cfg.nplaced, n = s->cfg.nframes - first, step, f;
    bool saw_dirty = false;
    PkObj *o;

    for (step = 0; step < 2 * n; step++) {
        f = s->sc.clock;
        assert(f >= first && f < s->cfg.nframes && "the hand stays on general frames");
        s->sc.clock = f + 1 == s->cfg.nframes ? first : f + 1;
        if (s->frame_owner[f] < 0) {
            continue;                    /* free, just taken, or a snapshot copy */
        }
        o = &s->obj[s->frame_owner[f]];
        if (o->pins > 0 || s->held[s->frame_owner[f]] == s->op_seq ||
            (o->flags & (PK_OBJF_MARKED | PK_OBJF_DOOMED | PK_OBJF_INFLIGHT))) {
            continue;
        }
        if (o->flags & PK_OBJF_DIRTY) {
            saw_dirty = true;            /* only a checkpoint can clean it */
            continue;
        }
        if (o->ref) {
            o->ref = 0;
            continue;
        }
        o->frame = -1;
        s->frame_owner[f] = PK_FRAME_FREE;
        *frame = (int32_t)f;
        return 0;
    }
    return saw_dirty ? -EBUSY : -ENOMEM;
}

int pk_cache_frame_get(PkStore *s, int32_t *frame)
{
    if (s->sc.nfree > 0) {
        *frame = s->frame_free[--s->sc.nfree];
        return 0;
    }
    return pk_cache_evict(s, frame);
}

void pk_cache_release(PkStore *s, int32_t idx)
{
    PkObj *o = &s->obj[idx];
    int32_t f = o->frame, c;

    if (f < 0) {
        return;
    }
    o->frame = -1;
    if ((o->flags & (PK_OBJF_MARKED | PK_OBJF_COPIED)) == PK_OBJF_MARKED &&
        o->snap_type != PK_OBJ_NONE) {
        /* The snapshot still needs these bytes.  A placed frame should be
         * free for its OID's next allocation: the bytes move to a free
         * general frame if there is one (no eviction here: this cannot
         * fail).  Otherwise -- and always for a general frame -- the frame
         * itself becomes the copy until the snapshot consumes it. */
        if ((uint32_t)f < s->cfg.nplaced && s->sc.nfree > 0) {
            c = s->frame_free[--s->sc.nfree];
            memcpy(pk_object_frame_data(s, c), pk_object_frame_data(s, f), PK_PAGE_SIZE);
            pk_cache_frame_put(s, f);
            f = c;
        }
        o->snap_frame = f;
        o->flags |= PK_OBJF_COPIED;
        s->frame_owner[f] = PK_FRAME_SNAP_BASE - idx;
        return;
    }
    pk_cache_frame_put(s, f);
}

void pk_cache_touch(PkStore *s, int32_t idx)
{
    s->obj[idx].ref = 1;
}

void pk_cache_begin_op(PkStore *s)
{
    s->op_seq++;
}

/* Reads oid from the backing into a fresh frame (a placed OID: its own
 * frame, -EBUSY if something holds it): 0 and *frame, type and count as
 * the disk has them. */
static int pk_cache_load(PkStore *s, PkOid oid, int32_t *frame, uint8_t *type,
                         uint32_t *count)
{
    uint8_t *buf;
    int32_t f;
    int err;

    if (!s->backing.load) {
        return -ENOENT;
    }
    f = pk_object_placed_frame(s, oid);
    if (f >= 0) {
        if (s->frame_owner[f] != PK_FRAME_FREE) {
            return -EBUSY;
        }
    } else {
        err = pk_cache_frame_get(s, &f);
        if (err) {
            return err;
        }
    }
    buf = pk_object_frame_data(s, f);
    memset(buf, 0, PK_PAGE_SIZE);
    err = s->backing.load(s->backing.opaque, oid, type, count, buf, PK_PAGE_SIZE);
    if (err == 0 && *type != PK_OBJ_PAGE && *type != PK_OBJ_NODE) {
        err = *type == PK_OBJ_NONE ? -ENOENT : -EIO;
    }
    if (err) {
        pk_cache_frame_put(s, f);
        return err == -ENOENT ? -ENOENT : err < 0 ? err : -EIO;
    }
    *frame = f;
    return 0;
}

int pk_cache_resolve(PkStore *s, PkOid oid, int32_t *out)
{
    int32_t idx = pk_object_find(s, oid), f;
    uint32_t count;
    uint8_t type;
    int err;

    if (idx >= 0 && s->obj[idx].type == PK_OBJ_NONE) {
        return -ENOENT;
    }
    if (idx < 0 && s->sc.nobj >= s->cfg.max_objects) {
        return -ENOSPC;
    }
    if (idx < 0 || s->obj[idx].frame < 0) {
        err = pk_cache_load(s, oid, &f, &type, &count);
        if (err) {
            /* A known object the disk cannot give back is an I/O error. */
            return idx >= 0 && err == -ENOENT ? -EIO : err;
        }
        if (idx >= 0 && (type != s->obj[idx].type || count != s->obj[idx].count)) {
            pk_cache_frame_put(s, f);
            return -EIO;                 /* the disk disagrees with the table */
        }
        if (idx < 0) {
            idx = pk_object_insert(s, oid, type, count);   /* room checked above */
        }
        s->obj[idx].frame = f;
        s->frame_owner[f] = idx;
    }
    s->held[idx] = s->op_seq;
    *out = idx;
    return 0;
}

int pk_cache_prepare_write(PkStore *s, int32_t idx)
{
    PkObj *o = &s->obj[idx];
    int32_t f;
    int err;

    if ((o->flags & (PK_OBJF_MARKED | PK_OBJF_COPIED)) != PK_OBJF_MARKED ||
        o->snap_type == PK_OBJ_NONE) {
        return 0;
    }
    assert(o->frame >= 0 && "a marked object stays resident until consumed");
    err = pk_cache_frame_get(s, &f);
    if (err) {
        return err;
    }
    memcpy(pk_object_frame_data(s, f), pk_object_frame_data(s, o->frame), PK_PAGE_SIZE);
    o->snap_frame = f;
    o->flags |= PK_OBJF_COPIED;
    s->frame_owner[f] = PK_FRAME_SNAP_BASE - idx;
    return 0;
}

int pk_cache_pin(PkStore *s, PkOid oid, int32_t *frame)
{
    int32_t idx;
    int err;

    pk_cache_begin_op(s);
    err = pk_cache_resolve(s, oid, &idx);
    if (err) {
        return err;
    }
    if (s->obj[idx].pins == UINT32_MAX) {
        return -EOVERFLOW;
    }
    s->obj[idx].pins++;
    pk_cache_touch(s, idx);
    *frame = s->obj[idx].frame;
    return 0;
}

int pk_cache_unpin(PkStore *s, PkOid oid)
{
    int32_t idx = pk_object_find(s, oid);
    PkObj *o;

    if (idx < 0 || s->obj[idx].pins == 0) {
        return -EINVAL;
    }
    o = &s->obj[idx];
    if (--o->pins > 0 || !(o->flags & PK_OBJF_DOOMED)) {
        return 0;
    }
    o->flags &= (uint8_t)~PK_OBJF_DOOMED;
    pk_cache_release(s, idx);
    return PK_PENDING;
}

uint32_t pk_cache_pins(const PkStore *s, PkOid oid)
{
    int32_t idx = pk_object_find(s, oid);

    return idx < 0 ? 0 : s->obj[idx].pins;
}

bool pk_cache_is_resident(const PkStore *s, PkOid oid)
{
    int32_t idx = pk_object_find(s, oid);

    return idx >= 0 && s->obj[idx].frame >= 0;
}

uint32_t pk_cache_free_frames(const PkStore *s)
{
    return s->sc.nfree;
}
