/*
 * kernel-guest/pk_cap.c: capabilities and the page/node invocations (see
 * pk_cap.h).  Each invocation is a decode_* that checks everything and
 * writes nothing, then a few lines that cannot fail.
 */
#include "kernel-guest/pk_cap.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"

_Static_assert(sizeof(PkCap) == 16, "a capability is 16 bytes in a node slot");
_Static_assert(PK_NODE_BYTES == PK_NODE_SLOTS * sizeof(PkCap), "a node is its slots");

int pk_cap_decode_cspace(PkStore *s, PkOid cs, int32_t *idx)
{
    int err = pk_cache_resolve(s, cs, idx);

    if (err == -ENOENT) {
        return -EINVAL;
    }
    if (err) {
        return err;
    }
    return s->obj[*idx].type == PK_OBJ_NODE ? 0 : -EINVAL;
}

PkCap *pk_cap_slot(const PkStore *s, int32_t node, uint32_t slot)
{
    assert(slot < PK_NODE_SLOTS && s->obj[node].frame >= 0 && "a slot of a resident node");
    return (PkCap *)pk_object_frame_data(s, s->obj[node].frame) + slot;
}

static uint8_t pk_cap_obj_type(uint8_t cap_type)
{
    return cap_type == PK_CAP_PAGE ? PK_OBJ_PAGE : cap_type == PK_CAP_NODE ? PK_OBJ_NODE
                                                                           : PK_OBJ_NONE;
}

int pk_cap_decode_object(PkStore *s, const PkCap *c, uint8_t cap_type, uint8_t rights,
                         int32_t *idx)
{
    int err;

    if (c->type == PK_CAP_NULL || c->type != cap_type) {
        return -EBADF;
    }
    err = pk_cache_resolve(s, c->oid, idx);
    if (err == -ENOENT) {
        return -ESTALE;
    }
    if (err) {
        return err;
    }
    if (s->obj[*idx].count != c->count || s->obj[*idx].type != pk_cap_obj_type(cap_type)) {
        return -ESTALE;
    }
    return (c->rights & rights) == rights ? 0 : -EACCES;
}

/* Any capability type: 0 if it may be used (or copied), else why not. */
static int pk_cap_decode_any(PkStore *s, const PkCap *c, uint8_t rights)
{
    int32_t idx;

    switch (c->type) {
    case PK_CAP_PAGE:
    case PK_CAP_NODE:
        return pk_cap_decode_object(s, c, c->type, rights, &idx);
    case PK_CAP_BANK:
        return pk_bank_decode(s, c, rights, &idx);
    case PK_CAP_NUMBER:
        return 0;
    default:
        return -EBADF;
    }
}

bool pk_cap_is_void(PkStore *s, const PkCap *c)
{
    int err;

    if (c->type == PK_CAP_NULL || c->type == PK_CAP_NUMBER) {
        return false;
    }
    pk_cache_begin_op(s);
    err = pk_cap_decode_any(s, c, 0);
    return err == -ESTALE || err == -EBADF;
}

int pk_cap_mint(PkStore *s, PkOid cs, uint32_t slot, const PkCap *c)
{
    int32_t node;
    int err;

    pk_cache_begin_op(s);
    err = pk_cap_decode_cspace(s, cs, &node);
    if (err || slot >= PK_NODE_SLOTS) {
        return err ? err : -EINVAL;
    }
    err = pk_cache_prepare_write(s, node);
    if (err) {
        return err;
    }
    *pk_cap_slot(s, node, slot) = *c;
    pk_cache_touch(s, node);
    pk_object_mark_dirty(s, node);
    return 0;
}

int pk_cap_read_slot(PkStore *s, PkOid cs, uint32_t slot, PkCap *c)
{
    int32_t node;
    int err;

    pk_cache_begin_op(s);
    err = pk_cap_decode_cspace(s, cs, &node);
    if (err || slot >= PK_NODE_SLOTS) {
        return err ? err : -EINVAL;
    }
    *c = *pk_cap_slot(s, node, slot);
    return 0;
}

/* Writes c into a node slot (decode called pk_cache_prepare_write). */
static void pk_cap_put(PkStore *s, int32_t node, uint32_t slot, const PkCap *c)
{
    *pk_cap_slot(s, node, slot) = *c;
    pk_cache_touch(s, node);
    pk_object_mark_dirty(s, node);
}

/* --- copy ---------------------------------------------------------------- */

static int pk_cap_decode_copy(PkStore *s, PkOid cs, uint32_t src, uint32_t dst,
                              uint8_t rights, int32_t *node, PkCap *c)
{
    int err = pk_cap_decode_cspace(s, cs, node);

    if (err) {
        return err;
    }
    if (src >= PK_NODE_SLOTS || dst >= PK_NODE_SLOTS || (rights & ~PK_RIGHTS_ALL)) {
        return -EINVAL;
    }
    *c = *pk_cap_slot(s, *node, src);
    err = pk_cap_decode_any(s, c, 0);
    if (err) {
        return err;
    }
    return pk_cache_prepare_write(s, *node);
}

int pk_cap_copy(PkStore *s, PkOid cs, uint32_t src, uint32_t dst, uint8_t rights)
{
    int32_t node;
    PkCap c;
    int err;

    pk_cache_begin_op(s);
    err = pk_cap_decode_copy(s, cs, src, dst, rights, &node, &c);
    if (err) {
        return err;
    }
    c.rights &= rights;
    pk_cap_put(s, node, dst, &c);
    return 0;
}

/* --- revoke -------------------------------------------------------------- */

int pk_cap_revoke(PkStore *s, PkOid cs, uint32_t slot)
{
    int32_t node, target;
    PkCap c;
    int err;

    pk_cache_begin_op(s);
    err = pk_cap_decode_cspace(s, cs, &node);
    if (err || slot >= PK_NODE_SLOTS) {
        return err ? err : -EINVAL;
    }
    c = *pk_cap_slot(s, node, slot);
    if (c.type == PK_CAP_BANK) {
        err = pk_bank_decode(s, &c, PK_RIGHT_REVOKE, &target);
    } else if (c.type == PK_CAP_PAGE || c.type == PK_CAP_NODE) {
        err = pk_cap_decode_object(s, &c, c.type, PK_RIGHT_REVOKE, &target);
    } else {
        err = -EBADF;
    }
    if (!err && (c.count == UINT32_MAX)) {
        err = -EOVERFLOW;                /* the count would wrap to old copies */
    }
    if (!err) {
        err = pk_cache_prepare_write(s, node);
    }
    if (err) {
        return err;
    }
    /* Invoke.  A count bump needs no snapshot copy: begin captured it. */
    if (c.type == PK_CAP_BANK) {
        c.count = ++s->bank[target].count;
    } else {
        c.count = ++s->obj[target].count;
        pk_cache_touch(s, target);
        pk_object_mark_dirty(s, target);
    }
    pk_cap_put(s, node, slot, &c);
    return 0;
}

/* --- pages --------------------------------------------------------------- */

static int pk_cap_decode_page(PkStore *s, PkOid cs, uint32_t slot, uint32_t off,
                              const void *buf, uint32_t len, uint8_t rights, int32_t *page)
{
    int32_t node;
    PkCap c;
    int err = pk_cap_decode_cspace(s, cs, &node);

    if (err) {
        return err;
    }
    if (slot >= PK_NODE_SLOTS || off > PK_PAGE_SIZE || len > PK_PAGE_SIZE - off ||
        (len > 0 && !buf)) {
        return -EINVAL;
    }
    c = *pk_cap_slot(s, node, slot);
    err = pk_cap_decode_object(s, &c, PK_CAP_PAGE, rights, page);
    if (err) {
        return err;
    }
    return rights & PK_RIGHT_WRITE ? pk_cache_prepare_write(s, *page) : 0;
}

int pk_cap_page_read(PkStore *s, PkOid cs, uint32_t slot, uint32_t off, void *buf,
                     uint32_t len)
{
    int32_t page;
    int err;

    pk_cache_begin_op(s);
    err = pk_cap_decode_page(s, cs, slot, off, buf, len, PK_RIGHT_READ, &page);
    if (err) {
        return err;
    }
    if (len > 0) {
        memcpy(buf, pk_object_frame_data(s, s->obj[page].frame) + off, len);
    }
    pk_cache_touch(s, page);
    return 0;
}

int pk_cap_page_write(PkStore *s, PkOid cs, uint32_t slot, uint32_t off, const void *buf,
                      uint32_t len)
{
    int32_t page;
    int err;

    pk_cache_begin_op(s);
    err = pk_cap_decode_page(s, cs, slot, off, buf, len, PK_RIGHT_WRITE, &page);
    if (err) {
        return err;
    }
    if (len > 0) {
        memcpy(pk_object_frame_data(s, s->obj[page].frame) + off, buf, len);
    }
    pk_cache_touch(s, page);
    pk_object_mark_dirty(s, page);
    return 0;
}

/* --- nodes --------------------------------------------------------------- */

/* cs and the node capability in cs[node_slot], index checked. */
static int pk_cap_decode_node(PkStore *s, PkOid cs, uint32_t node_slot, uint32_t index,
                              uint32_t cs_slot, uint8_t rights, int32_t *csn, int32_t *node)
{
    PkCap c;
    int err = pk_cap_decode_cspace(s, cs, csn);

    if (err) {
        return err;
    }
    if (node_slot >= PK_NODE_SLOTS || index >= PK_NODE_SLOTS || cs_slot >= PK_NODE_SLOTS) {
        return -EINVAL;
    }
    c = *pk_cap_slot(s, *csn, node_slot);
    return pk_cap_decode_object(s, &c, PK_CAP_NODE, rights, node);
}

int pk_cap_node_store(PkStore *s, PkOid cs, uint32_t node_slot, uint32_t index, uint32_t src,
                      uint8_t rights)
{
    int32_t csn, node;
    PkCap c;
    int err;

    pk_cache_begin_op(s);
    err = pk_cap_decode_node(s, cs, node_slot, index, src, PK_RIGHT_WRITE, &csn, &node);
    if (!err && (rights & ~PK_RIGHTS_ALL)) {
        err = -EINVAL;
    }
    if (!err) {
        c = *pk_cap_slot(s, csn, src);
        err = pk_cap_decode_any(s, &c, 0);
    }
    if (!err) {
        err = pk_cache_prepare_write(s, node);
    }
    if (err) {
        return err;
    }
    c.rights &= rights;
    pk_cache_touch(s, csn);
    pk_cap_put(s, node, index, &c);
    return 0;
}

int pk_cap_node_fetch(PkStore *s, PkOid cs, uint32_t node_slot, uint32_t index, uint32_t dst)
{
    int32_t csn, node;
    PkCap c;
    int err;

    pk_cache_begin_op(s);
    err = pk_cap_decode_node(s, cs, node_slot, index, dst, PK_RIGHT_READ, &csn, &node);
    if (!err) {
        err = pk_cache_prepare_write(s, csn);
    }
    if (err) {
        return err;
    }
    c = *pk_cap_slot(s, node, index);
    pk_cache_touch(s, node);
    pk_cap_put(s, csn, dst, &c);
    return 0;
}
