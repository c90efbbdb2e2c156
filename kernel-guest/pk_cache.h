/*
 * kernel-guest/pk_cache.h: the object cache -- which objects have a frame,
 * loading a miss through the PkBacking, eviction, and I/O pins.
 *
 * Frames come from the pool given to pk_store_new(), one object per frame
 * (a node uses the first PK_NODE_BYTES of its frame).  The pool has two
 * parts (pk_object.h): placed frames [0, nplaced), each reserved for one
 * OID (placed_oid + f) -- a page the guest addresses by frame number -- and
 * general frames [nplaced, nframes), which hold every other object and the
 * snapshot's copies.  A placed object never leaves its frame: it is never
 * evicted, a miss on it loads into that frame, and when it is destroyed
 * the frame is marked free (not stacked) for the OID's next allocation.
 *
 * Eviction is a clock over the general frames: a frame whose object was
 * used since the hand last passed gets a second chance.  Only clean objects
 * are evicted: a dirty object's only copy is its frame until a checkpoint
 * has written it, so it stays resident until then (that is the "write
 * back": the next checkpoint does it, never the evictor).  When every
 * candidate is dirty the cache answers -EBUSY, which means "take a
 * checkpoint and retry"; when every general frame is pinned (or in use by
 * the running call, or a snapshot copy) it answers -ENOMEM.
 *
 * An I/O-pinned object is never evicted and never moved: copy-on-write
 * for a snapshot copies the old bytes aside and leaves the live frame in
 * place.  Destroying a pinned object is deferred (PK_PENDING): the object
 * is gone at once (count bumped, capabilities void) but its frame -- which a
 * device may still be writing -- is freed only when the last pin drops.
 */
#ifndef KERNEL_GUEST_PK_CACHE_H
#define KERNEL_GUEST_PK_CACHE_H

#include <stdint.h>

#include "kernel-guest/pk_object.h"

/* A free general frame, evicting one clean object if none is free: 0 and
 * *frame, -EBUSY (full of dirty objects: checkpoint), -ENOMEM (full of
 * pinned, or no general frames at all).  Never a placed frame. */
int pk_cache_frame_get(PkStore *s, int32_t *frame);
/* Frees a frame: owner PK_FRAME_FREE; a general frame goes back on the
 * free stack, a placed one is only marked. */
void pk_cache_frame_put(PkStore *s, int32_t frame);

/* The object loses its live frame (destroy, last unpin of a destroyed
 * object): if a running snapshot still needs its bytes and has no copy,
 * they become that copy -- a general frame itself; a placed frame's bytes
 * are copied to a free general frame when the free stack has one (the
 * placed frame is then free at once), else the placed frame is the copy
 * (owned by the snapshot, so not allocatable until the snapshot consumes
 * it).  Otherwise the frame is freed. */
void pk_cache_release(PkStore *s, int32_t idx);

/* Starts a kernel call: objects resolved from now on are held (not
 * evictable) until the next pk_cache_begin_op(). */
void pk_cache_begin_op(PkStore *s);
/* The live object oid, resident and held: 0 and *idx; -ENOENT if it does
 * not exist (never did, or destroyed); -EBUSY/-ENOMEM if no frame (a placed
 * OID: -EBUSY if its own frame is held by something else); -ENOSPC if a
 * new record does not fit; -EIO if the backing failed or disagrees with the
 * record. */
int pk_cache_resolve(PkStore *s, PkOid oid, int32_t *idx);
/* The running call used idx (invoke step): the clock's reference bit.
 * Decode does not set it, so a rejected call leaves the state as it was. */
void pk_cache_touch(PkStore *s, int32_t idx);
/* Before mutating a resolved object: if a running snapshot has not yet
 * consumed it, copies its bytes aside.  Fallible (needs a frame): call it
 * in decode.  0 or -EBUSY/-ENOMEM. */
int pk_cache_prepare_write(PkStore *s, int32_t idx);

/* I/O pin: the object is loaded if needed and stays in *frame, unmoved,
 * until unpinned.  0, or -ENOENT/-EBUSY/-ENOMEM/-EIO as resolve, or
 * -EOVERFLOW at UINT32_MAX pins. */
int pk_cache_pin(PkStore *s, PkOid oid, int32_t *frame);
/* Drops one pin: 0, or PK_PENDING when this was the last pin of a destroyed
 * object and its deferred destroy has now completed; -EINVAL if oid holds
 * no pin. */
int pk_cache_unpin(PkStore *s, PkOid oid);
/* Pins held on oid (0 for an unknown OID). */
uint32_t pk_cache_pins(const PkStore *s, PkOid oid);
/* Whether oid is in a frame right now. */
bool pk_cache_is_resident(const PkStore *s, PkOid oid);
/* Frames on the free stack (general frames only). */
uint32_t pk_cache_free_frames(const PkStore *s);

#endif
