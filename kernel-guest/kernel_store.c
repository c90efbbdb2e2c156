/*
 * kernel-guest/kernel_store.c: the kernel's side of the persistent store
 * behind guest RAM (kernel.h, kmem.h): space banks per module, the IOMMU's
 * pins as the store's I/O pins, and dirty tracking for checkpoints.
 */
#include "kernel-guest/kernel_internal.h"

#include <string.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_store.h"

struct PkStore *kernel_store(Kernel *k)
{
    return k->mem.store;
}

int kernel_track_writes(Kernel *k, bool on, SlError *e)
{
    return kmem_track_writes(&k->mem, on, e);
}

uint64_t kernel_collect_dirty(Kernel *k)
{
    return kmem_collect_dirty(&k->mem);
}

uint64_t kernel_store_restarted(Kernel *k)
{
    pk_store_mark_all_clean(k->mem.store);
    memset(k->mem.dirty, 0, k->mem.npages);
    return kmem_zero_free_frames(&k->mem);
}

int kernel_bank_usage(const Kernel *k, int mod, KernelBankUsage *u)
{
    const PkBank *b;

    if (mod < 0 || mod >= KERNEL_MAX_MODULES || !k->modules[mod]) {
        return -ENOENT;
    }
    b = &k->mem.store->bank[k->module_bank[mod]];
    u->pages = b->used[PK_RES_OBJECTS];
    u->map_entries = b->used[PK_RES_MAP_ENTRIES];
    u->quota_pages = b->quota[PK_RES_OBJECTS];
    u->quota_map_entries = b->quota[PK_RES_MAP_ENTRIES];
    return 0;
}

/* A new module's bank (kernel_load_module): its index, or an error. */
int32_t kernel_bank_new(Kernel *k)
{
    return kmem_bank_new(&k->mem, k->cfg.bank_pages ? k->cfg.bank_pages : PK_QUOTA_UNLIMITED,
                         k->cfg.bank_map_entries ? k->cfg.bank_map_entries : PK_QUOTA_UNLIMITED);
}

/* IOMMU wiring (kernel_set_iommu): its frame pins are the store's I/O
 * pins; what devices write is dirty. */
void kernel_iommu_pin_hook(void *opaque, uint64_t pfn, bool pinned)
{
    Kernel *k = opaque;

    kmem_frame_pin(&k->mem, pfn, pinned);
}

void kernel_iommu_write_hook(void *opaque, uint64_t phys, uint64_t len)
{
    Kernel *k = opaque;

    kmem_mark_dirty(&k->mem, phys, len);
}

/* kmem's quota refusals, as Linux prints an allocation failure. */
void kernel_quota_refused(void *opaque, uint64_t bytes)
{
    Kernel *k = opaque;
    const PkBank *b = &k->mem.store->bank[k->mem.bank_now];

    if (k->current_module < 0) {
        return;                  /* loading: the loader's error says it */
    }
    kernel_log(k, '4', "sluice: %s: allocation of %llu bytes refused: its space bank is at its "
               "quota of %llu pages (%llu in use)",
               kernel_module_name(k, k->current_module), (unsigned long long)bytes,
               (unsigned long long)b->quota[PK_RES_OBJECTS],
               (unsigned long long)b->used[PK_RES_OBJECTS]);
}
