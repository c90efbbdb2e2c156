/*
 * kernel-guest/pk_bank.c: space banks (see pk_bank.h) -- quotas charged up
 * the tree, allocation, child banks, and destroying a subtree.
 */
#include "kernel-guest/pk_bank.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_cap.h"

#define PK_BANK_DYING 2          /* PkBank.live during pk_bank_kill */

void pk_bank_init_prime(PkStore *s)
{
    PkBank *b = &s->bank[PK_BANK_PRIME];
    int r;

    memset(b, 0, sizeof(*b));
    for (r = 0; r < PK_RES_COUNT; r++) {
        b->quota[r] = PK_QUOTA_UNLIMITED;
    }
    b->parent = -1;
    b->live = 1;
}

static bool pk_bank_is_live(const PkStore *s, int32_t bank)
{
    return bank >= 0 && (uint32_t)bank < s->cfg.max_banks && s->bank[bank].live == 1;
}

/* Whether n more units of res fit in bank and every ancestor. */
static int pk_bank_check(const PkStore *s, int32_t bank, PkBankRes res, uint64_t n)
{
    const PkBank *b;

    if (!pk_bank_is_live(s, bank) || (unsigned)res >= PK_RES_COUNT) {
        return -EINVAL;
    }
    for (; bank >= 0; bank = b->parent) {
        b = &s->bank[bank];
        if (b->used[res] + n < b->used[res] ||
            (b->quota[res] != PK_QUOTA_UNLIMITED && b->used[res] + n > b->quota[res])) {
            return -EDQUOT;
        }
    }
    return 0;
}

static void pk_bank_add(PkStore *s, int32_t bank, PkBankRes res, uint64_t n)
{
    for (; bank >= 0; bank = s->bank[bank].parent) {
        s->bank[bank].used[res] += n;
    }
}

int pk_bank_charge(PkStore *s, int32_t bank, PkBankRes res, uint64_t n)
{
    int err = pk_bank_check(s, bank, res, n);

    if (err) {
        return err;
    }
    pk_bank_add(s, bank, res, n);
    return 0;
}

void pk_bank_uncharge(PkStore *s, int32_t bank, PkBankRes res, uint64_t n)
{
    for (; bank >= 0; bank = s->bank[bank].parent) {
        assert(s->bank[bank].used[res] >= n && "uncharge returns what a charge took");
        s->bank[bank].used[res] -= n;
    }
}

uint64_t pk_bank_used(const PkStore *s, int32_t bank, PkBankRes res)
{
    assert(bank >= 0 && (uint32_t)bank < s->cfg.max_banks && res < PK_RES_COUNT);
    return s->bank[bank].used[res];
}

PkCap pk_bank_cap(const PkStore *s, int32_t bank)
{
    PkCap c = { PK_CAP_BANK, PK_RIGHTS_ALL, 0, s->bank[bank].count, (PkOid)bank };

    return c;
}

int pk_bank_decode(const PkStore *s, const PkCap *c, uint8_t rights, int32_t *bank)
{
    if (c->type != PK_CAP_BANK) {
        return -EBADF;
    }
    if (c->oid >= s->cfg.max_banks || s->bank[c->oid].live != 1 ||
        s->bank[c->oid].count != c->count) {
        return -ESTALE;
    }
    *bank = (int32_t)c->oid;
    return (c->rights & rights) == rights ? 0 : -EACCES;
}

/* --- objects ------------------------------------------------------------- */

/* Whether bank may allocate one object of type (writes nothing). */
static int pk_bank_check_new(PkStore *s, int32_t bank, PkObjType type)
{
    int err;

    if (type != PK_OBJ_PAGE && type != PK_OBJ_NODE) {
        return -EINVAL;
    }
    err = pk_bank_check(s, bank, PK_RES_OBJECTS, 1);
    if (err) {
        return err;
    }
    return s->sc.nobj >= s->cfg.max_objects ? -ENOSPC : 0;
}

/* Record idx (live, type set) gets its zeroed frame, charged to bank. */
static void pk_bank_invoke_place(PkStore *s, int32_t idx, int32_t bank, int32_t frame)
{
    memset(pk_object_frame_data(s, frame), 0, PK_PAGE_SIZE);
    s->obj[idx].frame = frame;
    s->obj[idx].bank = bank;
    s->frame_owner[frame] = idx;
    s->held[idx] = s->op_seq;
    pk_bank_add(s, bank, PK_RES_OBJECTS, 1);
    pk_cache_touch(s, idx);
    pk_object_mark_dirty(s, idx);        /* the next checkpoint must hold it */
}

static PkOid pk_bank_invoke_new(PkStore *s, int32_t bank, PkObjType type, int32_t frame)
{
    PkOid oid = pk_object_take_oid(s);
    int32_t idx = pk_object_insert(s, oid, (uint8_t)type, 0);

    assert(idx >= 0 && "decode checked the table has room");
    pk_bank_invoke_place(s, idx, bank, frame);
    return oid;
}

int pk_bank_new_object(PkStore *s, int32_t bank, PkObjType type, PkOid *oid)
{
    int32_t frame;
    int err;

    pk_cache_begin_op(s);
    err = pk_bank_check_new(s, bank, type);
    if (!err) {
        err = pk_cache_frame_get(s, &frame);   /* the frame last */
    }
    if (err) {
        return err;
    }
    *oid = pk_bank_invoke_new(s, bank, type, frame);
    return 0;
}

/* Whether placed frame `frame` may take a new page (writes nothing): 0
 * and *idx, the OID's tombstone to reuse or -1 for a new record; -EINVAL
 * (not a placed frame), -EBUSY (anything holds the frame, or the OID's
 * record is not a plain tombstone). */
static int pk_bank_check_placed(const PkStore *s, int64_t frame, int32_t *idx)
{
    const PkObj *o;
    int32_t i;

    if (frame < 0 || frame >= (int64_t)s->cfg.nplaced) {
        return -EINVAL;
    }
    if (s->frame_owner[frame] != PK_FRAME_FREE) {
        return -EBUSY;                   /* live, DOOMED, or a snapshot copy */
    }
    i = pk_object_find(s, s->cfg.placed_oid + (PkOid)frame);
    if (i >= 0) {
        o = &s->obj[i];
        /* Cannot happen with a free frame; a restored blob is not trusted. */
        if (o->type != PK_OBJ_NONE || o->frame >= 0 || o->pins > 0 ||
            (o->flags & PK_OBJF_DOOMED)) {
            return -EBUSY;
        }
    }
    *idx = i;
    return 0;
}

int pk_bank_new_placed_range(PkStore *s, int32_t bank, int32_t first, uint32_t n,
                             PkOid *oid_first)
{
    uint32_t i, fresh = 0;
    int32_t idx;
    int err;

    pk_cache_begin_op(s);
    if (!pk_bank_is_live(s, bank) || n == 0 || first < 0 ||
        (uint64_t)first + n > s->cfg.nplaced) {
        return -EINVAL;
    }
    /* Decode: every frame first, then quota, then records. */
    for (i = 0; i < n; i++) {
        err = pk_bank_check_placed(s, (int64_t)first + i, &idx);
        if (err) {
            return err;
        }
        fresh += idx < 0;
    }
    err = pk_bank_check(s, bank, PK_RES_OBJECTS, n);
    if (err) {
        return err;
    }
    if (fresh > s->cfg.max_objects - s->sc.nobj) {
        return -ENOSPC;
    }
    /* Invoke: nothing below fails. */
    for (i = 0; i < n; i++) {
        PkOid oid = s->cfg.placed_oid + (PkOid)first + i;

        idx = pk_object_find(s, oid);
        if (idx < 0) {
            idx = pk_object_insert(s, oid, PK_OBJ_PAGE, 0);
            assert(idx >= 0 && "decode checked the table has room");
        } else {
            s->obj[idx].type = PK_OBJ_PAGE;  /* the tombstone's bumped count stays */
        }
        pk_bank_invoke_place(s, idx, bank, first + (int32_t)i);
    }
    *oid_first = s->cfg.placed_oid + (PkOid)first;
    return 0;
}

int pk_bank_new_placed(PkStore *s, int32_t bank, int32_t frame, PkOid *oid)
{
    return pk_bank_new_placed_range(s, bank, frame, 1, oid);
}

/* --- banks --------------------------------------------------------------- */

/* The lowest free bank index, or -ENOSPC. */
static int32_t pk_bank_find_free(const PkStore *s)
{
    uint32_t i;

    for (i = 1; i < s->cfg.max_banks; i++) {
        if (!s->bank[i].live) {
            return (int32_t)i;
        }
    }
    return -ENOSPC;
}

static void pk_bank_invoke_child(PkStore *s, int32_t parent, int32_t child,
                                 const uint64_t quota[PK_RES_COUNT])
{
    PkBank *b = &s->bank[child];
    uint32_t count = b->count;           /* kept: old capabilities stay void */

    memset(b, 0, sizeof(*b));
    memcpy(b->quota, quota, sizeof(b->quota));
    b->count = count;
    b->parent = parent;
    b->live = 1;
}

int pk_bank_new_child(PkStore *s, int32_t parent, const uint64_t quota[PK_RES_COUNT],
                      int32_t *child)
{
    int32_t c;

    if (!pk_bank_is_live(s, parent)) {
        return -EINVAL;
    }
    c = pk_bank_find_free(s);
    if (c < 0) {
        return c;
    }
    pk_bank_invoke_child(s, parent, c, quota);
    *child = c;
    return 0;
}

static bool pk_bank_in_subtree(const PkStore *s, int32_t bank, int32_t root)
{
    for (; bank >= 0; bank = s->bank[bank].parent) {
        if (bank == root) {
            return true;
        }
    }
    return false;
}

int pk_bank_kill(PkStore *s, int32_t bank)
{
    int32_t parent;
    uint32_t i;
    int ret = 0;
    PkObj *o;

    if (bank == PK_BANK_PRIME) {
        return -EPERM;
    }
    if (!pk_bank_is_live(s, bank)) {
        return -EINVAL;
    }
    for (i = 0; i < s->cfg.max_banks; i++) {
        if (s->bank[i].live == 1 && pk_bank_in_subtree(s, (int32_t)i, bank)) {
            s->bank[i].live = PK_BANK_DYING;
        }
    }
    /* Destroy time is O(records): a bank does not list its objects. */
    for (i = 0; i < s->sc.nobj; i++) {
        o = &s->obj[i];
        if (o->type != PK_OBJ_NONE && o->bank >= 0 &&
            s->bank[o->bank].live == PK_BANK_DYING &&
            pk_object_destroy(s, (int32_t)i) == PK_PENDING) {
            ret = PK_PENDING;
        }
    }
    /* What the subtree still holds (mapping entries) leaves the ancestors. */
    parent = s->bank[bank].parent;
    for (i = 0; i < PK_RES_COUNT; i++) {
        pk_bank_uncharge(s, parent, (PkBankRes)i, s->bank[bank].used[i]);
    }
    for (i = 0; i < s->cfg.max_banks; i++) {
        if (s->bank[i].live == PK_BANK_DYING) {
            s->bank[i].live = 0;
            s->bank[i].count++;          /* every capability to it turns void */
            memset(s->bank[i].used, 0, sizeof(s->bank[i].used));
        }
    }
    return ret;
}

/* --- invocations --------------------------------------------------------- */

/* cs, its bank capability in cs[bank_slot] with `rights`, dst in range. */
static int pk_bank_decode_call(PkStore *s, PkOid cs, uint32_t bank_slot, uint32_t other,
                               uint8_t rights, int32_t *node, int32_t *bank)
{
    int err = pk_cap_decode_cspace(s, cs, node);

    if (err) {
        return err;
    }
    if (bank_slot >= PK_NODE_SLOTS || other >= PK_NODE_SLOTS) {
        return -EINVAL;
    }
    return pk_bank_decode(s, pk_cap_slot(s, *node, bank_slot), rights, bank);
}

int pk_bank_alloc(PkStore *s, PkOid cs, uint32_t bank_slot, PkObjType type, uint32_t dst)
{
    int32_t node, bank, frame;
    PkCap c;
    int err;

    pk_cache_begin_op(s);
    err = pk_bank_decode_call(s, cs, bank_slot, dst, PK_RIGHT_ALLOC, &node, &bank);
    if (!err) {
        err = pk_bank_check_new(s, bank, type);
    }
    /* Frames last: a copy of cs for a running snapshot, then the object's.
     * (Should the second fail, the first stays: a snapshot copy of
     * unchanged bytes, which nothing can observe.) */
    if (!err) {
        err = pk_cache_prepare_write(s, node);
    }
    if (!err) {
        err = pk_cache_frame_get(s, &frame);
    }
    if (err) {
        return err;
    }
    memset(&c, 0, sizeof(c));
    c.type = type == PK_OBJ_PAGE ? PK_CAP_PAGE : PK_CAP_NODE;
    c.rights = PK_RIGHTS_ALL;
    c.oid = pk_bank_invoke_new(s, bank, type, frame);
    *pk_cap_slot(s, node, dst) = c;
    pk_cache_touch(s, node);
    pk_object_mark_dirty(s, node);
    return 0;
}

int pk_bank_create(PkStore *s, PkOid cs, uint32_t bank_slot, uint64_t quota_objects,
                   uint64_t quota_map_entries, uint32_t dst)
{
    uint64_t quota[PK_RES_COUNT] = { quota_objects, quota_map_entries };
    int32_t node, bank, child;
    PkCap c;
    int err;

    pk_cache_begin_op(s);
    err = pk_bank_decode_call(s, cs, bank_slot, dst, PK_RIGHT_ALLOC, &node, &bank);
    child = err ? err : pk_bank_find_free(s);
    if (!err && child < 0) {
        err = child;
    }
    if (!err) {
        err = pk_cache_prepare_write(s, node);
    }
    if (err) {
        return err;
    }
    pk_bank_invoke_child(s, bank, child, quota);
    c = pk_bank_cap(s, child);
    *pk_cap_slot(s, node, dst) = c;
    pk_cache_touch(s, node);
    pk_object_mark_dirty(s, node);
    return 0;
}

int pk_bank_destroy(PkStore *s, PkOid cs, uint32_t bank_slot)
{
    int32_t node, bank;
    int err;

    pk_cache_begin_op(s);
    err = pk_bank_decode_call(s, cs, bank_slot, 0, PK_RIGHT_DESTROY, &node, &bank);
    if (!err && bank == PK_BANK_PRIME) {
        err = -EPERM;
    }
    if (err) {
        return err;
    }
    return pk_bank_kill(s, bank);
}

int pk_bank_free(PkStore *s, PkOid cs, uint32_t bank_slot, uint32_t obj_slot)
{
    int32_t node, bank, obj;
    PkCap c;
    int err;

    pk_cache_begin_op(s);
    err = pk_bank_decode_call(s, cs, bank_slot, obj_slot, PK_RIGHT_ALLOC, &node, &bank);
    if (!err) {
        c = *pk_cap_slot(s, node, obj_slot);
        err = pk_cap_decode_object(s, &c, c.type == PK_CAP_NODE ? PK_CAP_NODE : PK_CAP_PAGE,
                                   0, &obj);
    }
    if (!err && !pk_bank_in_subtree(s, s->obj[obj].bank, bank)) {
        err = -EACCES;                   /* not this bank's to free */
    }
    if (err) {
        return err;
    }
    return pk_object_destroy(s, obj);
}
