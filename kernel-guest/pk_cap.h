/*
 * kernel-guest/pk_cap.h: capabilities (PkCap, pk_store.h) and the
 * invocations on pages and nodes.
 *
 * A capability names an object (page, node), a space bank (its OID is the
 * bank's index) or carries a number; it holds the allocation count it was
 * made against and its rights.  It is void when the count no longer matches
 * the object's (or the object is gone): revoking bumps the count, so every
 * outstanding copy turns void at once, in O(1), wherever it is stored --
 * nothing in the kernel tracks the copies (Coyotos, seed 002).
 *
 * A client's CSpace is a node: its PK_NODE_SLOTS slots hold the
 * capabilities it can name in an invocation.  Every invocation here is
 * decode-then-invoke (seL4): decode checks every argument and changes
 * nothing (it may load a missing object into the cache, which is not
 * state a client can see); invoke cannot fail.  Errors:
 *   -EINVAL  a bad argument (slot or index out of range, unknown rights
 *            bits, offset/length outside the page, cs is not a node)
 *   -EBADF   the slot holds the null capability or one of another type
 *   -ESTALE  the capability is void
 *   -EACCES  the capability lacks a right the invocation needs
 *   -EBUSY/-ENOMEM/-EIO  the cache could not bring an object in (pk_cache.h)
 */
#ifndef KERNEL_GUEST_PK_CAP_H
#define KERNEL_GUEST_PK_CAP_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel-guest/pk_object.h"

typedef enum PkCapType {
    PK_CAP_NULL = 0,
    PK_CAP_PAGE = 1,
    PK_CAP_NODE = 2,
    PK_CAP_BANK = 3,
    PK_CAP_NUMBER = 4,           /* oid carries a value; never void */
} PkCapType;

#define PK_RIGHT_READ 0x01u      /* page bytes; node slots (fetch); bank queries */
#define PK_RIGHT_WRITE 0x02u     /* page bytes; node slots (store) */
#define PK_RIGHT_REVOKE 0x04u    /* bump the count: void every other copy */
#define PK_RIGHT_ALLOC 0x08u     /* bank: allocate, create children, free */
#define PK_RIGHT_DESTROY 0x10u   /* bank: destroy it and everything under it */
#define PK_RIGHTS_ALL 0x1fu

/* --- kernel side (no authority checks: the kernel's own use) ----------- */

/* A CSpace node resolved and held for the running call: 0 and *idx. */
int pk_cap_decode_cspace(PkStore *s, PkOid cs, int32_t *idx);
/* Slot `slot` of a resident node (slot < PK_NODE_SLOTS). */
PkCap *pk_cap_slot(const PkStore *s, int32_t node, uint32_t slot);
/* Resolves an object capability: 0 and *idx (held), or -EBADF (null or
 * not of cap_type), -ESTALE (void), -EACCES (lacks rights), cache errors. */
int pk_cap_decode_object(PkStore *s, const PkCap *c, uint8_t cap_type, uint8_t rights,
                         int32_t *idx);
/* Whether c is void now (a null or number capability never is). */
bool pk_cap_is_void(PkStore *s, const PkCap *c);
/* Writes c into cs's slot: how the kernel hands out first capabilities
 * (a process's prime bank).  -EINVAL on a bad cs or slot. */
int pk_cap_mint(PkStore *s, PkOid cs, uint32_t slot, const PkCap *c);
/* Reads cs's slot into *c. */
int pk_cap_read_slot(PkStore *s, PkOid cs, uint32_t slot, PkCap *c);

/* --- invocations ------------------------------------------------------ */

/* cs[dst] = cs[src] with rights & `rights`: rights never grow. */
int pk_cap_copy(PkStore *s, PkOid cs, uint32_t src, uint32_t dst, uint8_t rights);
/* Needs REVOKE.  Bumps the count of the object (or bank) cs[slot] names:
 * every copy turns void, except cs[slot] itself, which is reissued against
 * the new count so the revoker keeps its access. */
int pk_cap_revoke(PkStore *s, PkOid cs, uint32_t slot);
/* Page bytes [off, off+len) through the page capability in cs[slot]. */
int pk_cap_page_read(PkStore *s, PkOid cs, uint32_t slot, uint32_t off, void *buf,
                     uint32_t len);
int pk_cap_page_write(PkStore *s, PkOid cs, uint32_t slot, uint32_t off, const void *buf,
                      uint32_t len);
/* node[index] = cs[src] with rights & `rights`, through the node
 * capability in cs[node_slot] (needs WRITE). */
int pk_cap_node_store(PkStore *s, PkOid cs, uint32_t node_slot, uint32_t index, uint32_t src,
                      uint8_t rights);
/* cs[dst] = node[index], through cs[node_slot] (needs READ). */
int pk_cap_node_fetch(PkStore *s, PkOid cs, uint32_t node_slot, uint32_t index, uint32_t dst);

#endif
