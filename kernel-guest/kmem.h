/*
 * kernel-guest/kmem.h: guest RAM and the kernel's address-space layout.
 *
 * Guest RAM is one host buffer holding guest-physical memory.  It is seen
 * at the Linux x86-64 virtual addresses a driver expects (no KASLR):
 *
 *   0xffff888000000000  page_offset_base: the direct map of all RAM (RW)
 *   0xffffc90000000000  vmalloc area: stacks (with guard pages), iomaps
 *   0xffffea0000000000  vmemmap_base: struct page array (kvmemmap.c)
 *   0xffffffff81000000  kernel image: gateway stubs (RX), exported data (RW)
 *   0xffffffffa0000000  modules: text RX, rodata R, data RW
 *
 * Aliases are views of the same frames (a module's data is also in the
 * direct map), so device DMA, driver access and snapshots agree.
 *
 * Page frames are objects of the persistent kernel (pk_*.h, BRIEF §4):
 * guest RAM is the placed part of the store's frame pool, and every page
 * handed out is a page object with OID KMEM_RAM_OID + pfn, allocated from
 * a space bank -- the bank of the module whose code runs (kmem.bank_now),
 * or the prime bank for the kernel's own memory -- and destroyed when the
 * page is freed.  So a module's image, its kmalloc arenas and its DMA
 * buffers are charged to its bank, bounded by its quota, reclaimed when
 * the bank is destroyed, and captured by a checkpoint of the store.  A
 * placed object never moves or leaves RAM (the guest holds its address);
 * frames the IOMMU pins are I/O-pinned objects, so freeing one waits for
 * the last unpin.  Behind RAM the pool has general frames, never mapped
 * into the guest, for the store's own pages (checkpoint copies, state).
 *
 * kmalloc carves allocations out of arenas: runs of pages of one bank.
 *
 * Which pages changed since the last checkpoint: guest stores (a vCPU
 * write tracker, on while kmem_track_writes() says so), host writes
 * through kmem_host() and the vCPU, and device writes (the IOMMU's write
 * hook) mark a dirty byte per page; kmem_collect_dirty() hands the marked
 * pages to the store as dirty objects.
 *
 * State (the store's table, heap records, arenas, area cursors) is plain
 * data: indices and guest addresses only.
 */
#ifndef KERNEL_GUEST_KMEM_H
#define KERNEL_GUEST_KMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "kernel-guest/pk_object.h"
#include "translator/vcpu.h"

#define KMEM_PAGE_SIZE 4096ull
#define KMEM_PAGE_OFFSET 0xffff888000000000ull
#define KMEM_VMALLOC_BASE 0xffffc90000000000ull
#define KMEM_VMEMMAP_BASE 0xffffea0000000000ull
#define KMEM_KERNEL_TEXT 0xffffffff81000000ull
#define KMEM_KERNEL_DATA 0xffffffff82000000ull
#define KMEM_MODULES_BASE 0xffffffffa0000000ull
#define KMEM_MODULES_END 0xffffffffff000000ull

#define KMEM_MAX_REGIONS 256
#define KMEM_MAX_ARENAS 1024
#define KMEM_ARENA_BYTES (64ull << 10)   /* a bank's kmalloc arenas grow by this */
#define KMEM_MAX_BANKS 64
/* The page object in frame pfn is OID KMEM_RAM_OID + pfn. */
#define KMEM_RAM_OID (1ull << 32)
#define KMEM_BANK_KERNEL 0               /* the prime bank (pk_bank.h) */

/* A VA range backed by guest RAM (besides the direct map). */
typedef struct KMemRegion {
    uint64_t va, pa, len;
    unsigned prot;
} KMemRegion;

/* A kmalloc arena: pages [pa, pa+len) of one bank. */
typedef struct KMemArena {
    uint64_t pa, len;
    int32_t bank;
    uint32_t live;               /* allocations in it */
} KMemArena;

/* One live kmalloc allocation. */
typedef struct KMemAlloc {
    uint64_t va;
    uint64_t size;
} KMemAlloc;

typedef struct KMem {
    /* Wiring. */
    Vcpu *cpu;
    uint8_t *ram;                /* guest RAM, then the general frames */
    uint64_t ram_size;
    uint64_t npages;             /* of guest RAM */
    uint32_t ngeneral;           /* general frames behind RAM */
    PkStore *store;              /* its table is state (kernel_state.c) */
    /* Told when an allocation is refused for the bank's quota. */
    void (*refused)(void *opaque, uint64_t bytes);
    void *refused_opaque;
    /* Dirty tracking (not state): a byte per page written since the last
     * kmem_collect_dirty(). */
    uint8_t *dirty;
    uint8_t *touched;            /* a byte per page that may hold non-zero bytes:
                                  * allocated or written since last zeroed */
    bool tracking;
    /* State. */
    KMemRegion regions[KMEM_MAX_REGIONS];
    unsigned nregions;
    uint64_t vmalloc_next;       /* bump cursors of the virtual areas */
    uint64_t modules_next;
    int32_t bank_now;            /* allocations are charged here */
    int last_error;              /* why the last allocation failed */
    KMemArena arenas[KMEM_MAX_ARENAS];
    unsigned narenas;
    KMemAlloc *allocs;           /* sorted by va */
    unsigned nallocs, cap_allocs;
    uint64_t live_bytes;
    uint64_t reclaimed_bytes;    /* kmalloc'd, never freed, reclaimed with a bank */
    unsigned reclaimed_objects;
} KMem;

int kmem_init(KMem *m, Vcpu *cpu, uint64_t ram_size, SlError *e);
void kmem_fini(KMem *m);

/* Contiguous guest-physical pages, page objects of bank_now; returns the
 * physical address, or UINT64_MAX with last_error -EDQUOT (the bank's
 * quota) or -ENOMEM (no run of free frames, or the store's table is full).
 * Pages come zeroed. */
uint64_t kmem_alloc_pages(KMem *m, uint64_t npages);
/* Destroys the page objects; their frames are zeroed and free again at
 * once, or at the last unpin for a frame the IOMMU still pins. */
void kmem_free_pages(KMem *m, uint64_t pa, uint64_t npages);

/* Space banks -------------------------------------------------------------
 * A child bank of the prime bank with quota_pages pages and quota_maps
 * IOMMU mapping entries (PK_QUOTA_UNLIMITED for none): its index, or
 * -ENOSPC. */
int32_t kmem_bank_new(KMem *m, uint64_t quota_pages, uint64_t quota_maps);
/* Destroys a bank and everything allocated from it: its arenas' live
 * allocations are dropped (counted in reclaimed_*), its pages freed (a
 * pinned one at its last unpin).  0, or -EINVAL. */
int kmem_bank_destroy(KMem *m, int32_t bank);
/* Charges bank_now n IOMMU mapping entries: 0, -EDQUOT; and gives them
 * back to bank. */
int kmem_charge_maps(KMem *m, int32_t bank, uint64_t n);
void kmem_uncharge_maps(KMem *m, int32_t bank, uint64_t n);

/* The IOMMU pinned (pinned=true) or released a frame: the page object in
 * it is I/O-pinned or unpinned (pk_cache.h). */
void kmem_frame_pin(KMem *m, uint64_t pfn, bool pinned);
/* The bank of the live page object holding guest-physical pa, or -1. */
int32_t kmem_page_bank(const KMem *m, uint64_t pa);
/* Zeroes every frame no page object holds that may not be zero (after a
 * bank's destruction or a restore freed frames wholesale); returns how many
 * frames hold page objects. */
uint64_t kmem_zero_free_frames(KMem *m);

/* Dirty tracking ----------------------------------------------------------
 * Turns the vCPU write tracker on or off (off by default: it costs every
 * guest store a hook call); host and device writes are marked either way. */
int kmem_track_writes(KMem *m, bool on, SlError *e);
/* Marks the pages of guest-physical [pa, pa+len) written. */
void kmem_mark_dirty(KMem *m, uint64_t pa, uint64_t len);
/* Hands every marked page that holds a page object to the store as dirty
 * and clears the marks; returns how many. */
uint64_t kmem_collect_dirty(KMem *m);

/* Maps [pa, pa+len) at va with prot (VCPU_PROT_*) and records the alias. */
int kmem_map(KMem *m, uint64_t va, uint64_t pa, uint64_t len, unsigned prot,
             SlError *e);
/* Drops a mapping made by kmem_map (the frames stay allocated). */
void kmem_unmap(KMem *m, uint64_t va, uint64_t len);

/* Reserves a range of the vmalloc or module area (page-aligned, with a
 * guard page after it in the vmalloc area). */
uint64_t kmem_reserve_vmalloc(KMem *m, uint64_t len);
uint64_t kmem_reserve_module(KMem *m, uint64_t len);

/* Host pointer for guest range [va, va+len) if it lies in RAM, else NULL.
 * kmem_host is for writing (the pages are marked dirty), kmem_host_ro for
 * reading only. */
void *kmem_host(KMem *m, uint64_t va, uint64_t len);
const void *kmem_host_ro(const KMem *m, uint64_t va, uint64_t len);

/* kmalloc: direct-mapped memory from bank_now's arenas, zeroed when zero
 * is set.  Returns the guest address, or 0 with last_error set. */
uint64_t kmem_kmalloc(KMem *m, uint64_t size, uint64_t align, bool zero);
/* Returns 0, or -EINVAL if va is not the start of a live allocation. */
int kmem_kfree(KMem *m, uint64_t va);
/* Start of the live allocation containing va, or 0. */
uint64_t kmem_containing(const KMem *m, uint64_t va);

#endif
