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
 * State (page map, heap records, area cursors) is plain data: indices and
 * guest addresses only.
 */
#ifndef KERNEL_GUEST_KMEM_H
#define KERNEL_GUEST_KMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
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
#define KMEM_HEAP_BYTES (16ull << 20)

/* A VA range backed by guest RAM (besides the direct map). */
typedef struct KMemRegion {
    uint64_t va, pa, len;
    unsigned prot;
} KMemRegion;

/* One live kmalloc allocation. */
typedef struct KMemAlloc {
    uint64_t va;
    uint64_t size;
} KMemAlloc;

typedef struct KMem {
    /* Wiring. */
    Vcpu *cpu;
    uint8_t *ram;
    uint64_t ram_size;
    /* State. */
    uint8_t *page_used;          /* one byte per guest-physical page */
    uint64_t npages;
    KMemRegion regions[KMEM_MAX_REGIONS];
    unsigned nregions;
    uint64_t vmalloc_next;       /* bump cursors of the virtual areas */
    uint64_t modules_next;
    uint64_t heap_pa, heap_size;
    KMemAlloc *allocs;           /* sorted by va */
    unsigned nallocs, cap_allocs;
    uint64_t live_bytes;
} KMem;

int kmem_init(KMem *m, Vcpu *cpu, uint64_t ram_size, SlError *e);
void kmem_fini(KMem *m);

/* Contiguous guest-physical pages; returns the physical address or
 * UINT64_MAX when RAM is exhausted.  Pages come zeroed. */
uint64_t kmem_alloc_pages(KMem *m, uint64_t npages);
void kmem_free_pages(KMem *m, uint64_t pa, uint64_t npages);

/* Maps [pa, pa+len) at va with prot (VCPU_PROT_*) and records the alias. */
int kmem_map(KMem *m, uint64_t va, uint64_t pa, uint64_t len, unsigned prot,
             SlError *e);
/* Drops a mapping made by kmem_map (the frames stay allocated). */
void kmem_unmap(KMem *m, uint64_t va, uint64_t len);

/* Reserves a range of the vmalloc or module area (page-aligned, with a
 * guard page after it in the vmalloc area). */
uint64_t kmem_reserve_vmalloc(KMem *m, uint64_t len);
uint64_t kmem_reserve_module(KMem *m, uint64_t len);

/* Host pointer for guest range [va, va+len) if it lies in RAM, else NULL. */
void *kmem_host(const KMem *m, uint64_t va, uint64_t len);

/* kmalloc: direct-mapped heap memory, zeroed when zero is set.  Returns the
 * guest address or 0 when the heap is exhausted. */
uint64_t kmem_kmalloc(KMem *m, uint64_t size, uint64_t align, bool zero);
/* Returns 0, or -EINVAL if va is not the start of a live allocation. */
int kmem_kfree(KMem *m, uint64_t va);
/* Start of the live allocation containing va, or 0. */
uint64_t kmem_containing(const KMem *m, uint64_t va);

#endif
