/*
 * kernel-guest/kvmemmap.h: the struct page array (vmemmap) of x86-64
 * Linux's SPARSEMEM_VMEMMAP model, so that what drivers compute inline
 *
 *   virt_to_page(x)    = vmemmap_base + ((x - page_offset_base) >> 12)
 *   page_address(page) = page_offset_base + ((page - vmemmap_base) << 12)
 *
 * (pointer arithmetic in units of sizeof(struct page), read from BTF)
 * lands on real, readable struct pages for every guest RAM frame, and
 * agrees with what the kernel hands out.
 */
#ifndef KERNEL_GUEST_KVMEMMAP_H
#define KERNEL_GUEST_KVMEMMAP_H

#include <stdint.h>

#include "base/error.h"

typedef struct Kernel Kernel;

/* Boot: backs the array with guest RAM frames, maps it read/write at
 * KMEM_VMEMMAP_BASE and initialises each struct page as an allocated,
 * order-0, non-compound page (_refcount 1). */
int kvmemmap_init(Kernel *k, SlError *e);
/* The guest-physical address of the frame described by the struct page at
 * page: 0, or -EINVAL when page is not a struct page of a RAM frame. */
int kvmemmap_page_to_pa(Kernel *k, uint64_t page, uint64_t *pa);
/* The struct page of the frame holding pa. */
uint64_t kvmemmap_pa_to_page(Kernel *k, uint64_t pa);
/* What an inline page_address() makes of any page pointer, even one that
 * is not in the vmemmap (virt_to_page() of a vmalloc or stack address). */
uint64_t kvmemmap_page_address(Kernel *k, uint64_t page);

#endif
