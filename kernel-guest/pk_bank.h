/*
 * kernel-guest/pk_bank.h: space banks -- every object, and every piece of
 * storage the kernel allocates on a client's behalf, is charged to one.
 *
 * Banks form a tree under the prime bank (index 0, unlimited).  A bank
 * meters each PkBankRes against its quota; a charge to a bank counts
 * against the bank and every ancestor, and fails (-EDQUOT, nothing charged)
 * if any of them would go over.  Destroying a bank destroys its children
 * and every object any of them allocated: their counts are bumped, so
 * every capability to them -- and to the banks -- turns void, and their
 * frames go back to the pool (a pinned object's frame at its last unpin,
 * pk_cache.h; its quota comes back at once).
 *
 * The IOMMU side charges its mapping entries with pk_bank_charge(bank,
 * PK_RES_MAP_ENTRIES, n) before it allocates them and uncharges them when
 * it frees them: no kernel allocation is implicit or unbounded (seed 002).
 */
#ifndef KERNEL_GUEST_PK_BANK_H
#define KERNEL_GUEST_PK_BANK_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel-guest/pk_object.h"

#define PK_BANK_PRIME 0
#define PK_QUOTA_UNLIMITED UINT64_MAX

/* --- kernel side -------------------------------------------------------- */

/* Sets up the prime bank (pk_store_new). */
void pk_bank_init_prime(PkStore *s);
/* Charges n units of res to bank and its ancestors: 0; -EINVAL (no such
 * live bank, bad res); -EDQUOT (some bank on the way would exceed its
 * quota; nothing charged). */
int pk_bank_charge(PkStore *s, int32_t bank, PkBankRes res, uint64_t n);
/* Returns n units to bank and its ancestors (what an earlier charge took). */
void pk_bank_uncharge(PkStore *s, int32_t bank, PkBankRes res, uint64_t n);
/* A new zeroed object charged to bank, dirty: 0 and *oid; -EINVAL (bad bank
 * or type), -EDQUOT, -ENOSPC (object table full), -EBUSY/-ENOMEM (no frame). */
int pk_bank_new_object(PkStore *s, int32_t bank, PkObjType type, PkOid *oid);
/* A new zeroed page in placed frame `frame` (pk_object.h), OID
 * placed_oid + frame, charged to bank as pk_bank_new_object, dirty: 0 and
 * *oid.  If the OID has a tombstone (allocated and destroyed before), the
 * record is reused with its bumped count, so capabilities to the earlier
 * page stay void.  Errors, nothing changed: -EINVAL (not a placed frame, bad
 * bank), -EBUSY (the frame is held: a live object, a destroyed object whose
 * last I/O pin has not dropped, a running snapshot's copy), -EDQUOT,
 * -ENOSPC (object table full).  The backing is not consulted: a placed
 * object the disk holds must be installed (pk_store_install) before its
 * frame is allocated again, or it is taken as never allocated. */
int pk_bank_new_placed(PkStore *s, int32_t bank, int32_t frame, PkOid *oid);
/* pk_bank_new_placed for frames [first, first + n), all or nothing (n >= 1,
 * -EINVAL if the range leaves the placed frames; -EDQUOT unless all n fit):
 * 0 and *oid_first = placed_oid + first. */
int pk_bank_new_placed_range(PkStore *s, int32_t bank, int32_t first, uint32_t n,
                             PkOid *oid_first);
/* A child bank with the given quotas: 0 and *child; -EINVAL, -ENOSPC. */
int pk_bank_new_child(PkStore *s, int32_t parent, const uint64_t quota[PK_RES_COUNT],
                      int32_t *child);
/* Destroys bank, its descendants and their objects: 0, or PK_PENDING when
 * some pinned objects' frames wait for their last unpin; -EINVAL (not a
 * live bank), -EPERM (the prime bank). */
int pk_bank_kill(PkStore *s, int32_t bank);
/* Resolves a bank capability: 0 and *bank, or -EBADF/-ESTALE/-EACCES. */
int pk_bank_decode(const PkStore *s, const PkCap *c, uint8_t rights, int32_t *bank);
/* Units of res charged to bank (its descendants included). */
uint64_t pk_bank_used(const PkStore *s, int32_t bank, PkBankRes res);
/* A capability to bank with all rights (for pk_cap_mint). */
PkCap pk_bank_cap(const PkStore *s, int32_t bank);

/* --- invocations through a CSpace (errors as pk_cap.h, plus -EDQUOT and
 * -ENOSPC) ---------------------------------------------------------------- */

/* Needs ALLOC.  A new page or node; a capability with all rights in cs[dst]. */
int pk_bank_alloc(PkStore *s, PkOid cs, uint32_t bank_slot, PkObjType type, uint32_t dst);
/* Needs ALLOC.  A child bank of cs[bank_slot] with the given quotas
 * (PK_QUOTA_UNLIMITED: bounded by the ancestors only) in cs[dst]. */
int pk_bank_create(PkStore *s, PkOid cs, uint32_t bank_slot, uint64_t quota_objects,
                   uint64_t quota_map_entries, uint32_t dst);
/* Needs DESTROY.  pk_bank_kill on cs[bank_slot]: 0 or PK_PENDING. */
int pk_bank_destroy(PkStore *s, PkOid cs, uint32_t bank_slot);
/* Needs ALLOC on the bank.  Destroys the object cs[obj_slot] names, which
 * that bank or one of its descendants allocated: 0 or PK_PENDING (pinned:
 * capabilities void now, frame freed at the last unpin). */
int pk_bank_free(PkStore *s, PkOid cs, uint32_t bank_slot, uint32_t obj_slot);

#endif
