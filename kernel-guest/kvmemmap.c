/*
 * kernel-guest/kvmemmap.c: the vmemmap (see kvmemmap.h).
 *
 * Only what drivers read inline is initialised: _refcount (an inline
 * put_page() decrements it), compound_head 0 (not a tail page) and flags 0
 * (no PG_ bits; zone bits 0, i.e. not ZONE_DEVICE).  The kernel does not
 * manage frames through struct pages, so every frame looks allocated.
 */
#include "kernel-guest/kvmemmap.h"

#include <errno.h>
#include <string.h>

#include "kernel-guest/kernel_internal.h"

int kvmemmap_init(Kernel *k, SlError *e)
{
    long psz = btf_layout_sizeof(k->btf, "page");
    long ref = btf_layout_offsetof(k->btf, "page", "_refcount");
    uint64_t bytes, pa;
    uint8_t *base;
    int err;

    if (psz <= 0 || ref < 0 || (uint64_t)ref + 4 > (uint64_t)psz) {
        return sl_error(e, -ENOENT, "%s: .BTF: struct page or page._refcount missing",
                        k->cfg.btf_path);
    }
    bytes = (k->mem.npages * (uint64_t)psz + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);
    pa = kmem_alloc_pages(&k->mem, bytes / KMEM_PAGE_SIZE);
    if (pa == UINT64_MAX) {
        return sl_error(e, -ENOMEM, "kernel: guest RAM too small for the vmemmap");
    }
    err = kmem_map(&k->mem, KMEM_VMEMMAP_BASE, pa, bytes, VCPU_PROT_READ | VCPU_PROT_WRITE, e);
    if (err) {
        return err;
    }
    base = k->mem.ram + pa;
    for (uint64_t i = 0; i < k->mem.npages; i++) {
        uint32_t one = 1;

        memcpy(base + i * (uint64_t)psz + (uint64_t)ref, &one, 4);
    }
    return 0;
}

int kvmemmap_page_to_pa(Kernel *k, uint64_t page, uint64_t *pa)
{
    long psz = btf_layout_sizeof(k->btf, "page");
    uint64_t off = page - KMEM_VMEMMAP_BASE;

    if (psz <= 0 || page < KMEM_VMEMMAP_BASE || off % (uint64_t)psz ||
        off / (uint64_t)psz >= k->mem.npages) {
        return -EINVAL;
    }
    *pa = off / (uint64_t)psz * KMEM_PAGE_SIZE;
    return 0;
}

uint64_t kvmemmap_pa_to_page(Kernel *k, uint64_t pa)
{
    long psz = btf_layout_sizeof(k->btf, "page");

    return KMEM_VMEMMAP_BASE + pa / KMEM_PAGE_SIZE * (uint64_t)(psz > 0 ? psz : 0);
}

uint64_t kvmemmap_page_address(Kernel *k, uint64_t page)
{
    long psz = btf_layout_sizeof(k->btf, "page");
    int64_t idx = psz > 0 ? (int64_t)(page - KMEM_VMEMMAP_BASE) / psz : 0;

    return KMEM_PAGE_OFFSET + (uint64_t)idx * KMEM_PAGE_SIZE;
}
