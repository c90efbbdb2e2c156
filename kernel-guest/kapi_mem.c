/*
 * kernel-guest/kapi_mem.c: kmalloc, vmalloc and the memory-model variables
 * drivers read inline (page_offset_base, vmemmap_base, phys_base).
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>

/* include/linux/slab.h: ZERO_SIZE_PTR, what kmalloc(0) returns. */
#define KAPI_ZERO_SIZE_PTR 16ull
#define KAPI_GFP_ZERO 0x100u     /* ___GFP_ZERO in 6.1 */

static uint64_t kapi_alloc(Kernel *k, uint64_t size, uint64_t flags)
{
    if (size == 0) {
        return KAPI_ZERO_SIZE_PTR;
    }
    return kmem_kmalloc(&k->mem, size, 16, (flags & KAPI_GFP_ZERO) != 0);
}

/* __kmalloc(size, flags) */
static uint64_t kapi_kmalloc(void *opaque, VcpuCall *c)
{
    return kapi_alloc(opaque, c->arg[0], c->arg[1]);
}

/* kmalloc_trace(cache, flags, size): the cache only picks a size class. */
static uint64_t kapi_kmalloc_trace(void *opaque, VcpuCall *c)
{
    return kapi_alloc(opaque, c->arg[2], c->arg[1]);
}

static uint64_t kapi_vzalloc(void *opaque, VcpuCall *c)
{
    return kapi_alloc(opaque, c->arg[0], KAPI_GFP_ZERO);
}

static uint64_t kapi_kfree(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t p = c->arg[0];

    if (p <= KAPI_ZERO_SIZE_PTR) {
        return 0;
    }
    if (kmem_kfree(&k->mem, p) != 0) {
        vcpu_raise(c->cpu, "%s of 0x%llx, which is not a live allocation (double free or bad pointer)",
                   vcpu_call_name(c), (unsigned long long)p);
    }
    return 0;
}

static uint64_t kapi_is_vmalloc_addr(void *opaque, VcpuCall *c)
{
    return c->arg[0] >= KMEM_VMALLOC_BASE && c->arg[0] < KMEM_VMEMMAP_BASE;
}

int kapi_mem_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"__kmalloc", kapi_kmalloc}, {"kmalloc_trace", kapi_kmalloc_trace},
        {"kfree", kapi_kfree}, {"vzalloc", kapi_vzalloc}, {"vfree", kapi_kfree},
        {"kvfree", kapi_kfree}, {"is_vmalloc_addr", kapi_is_vmalloc_addr},
    };
    static const struct { const char *name; uint64_t value; } vars[] = {
        {"page_offset_base", KMEM_PAGE_OFFSET},
        {"vmemmap_base", KMEM_VMEMMAP_BASE},
        {"phys_base", 0},
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        uint64_t va = kapi_data(k, vars[i].name, 8, 8, e);

        if (!va) {
            return -ENOSPC;
        }
        kernel_write_u64(k, va, vars[i].value);
    }
    /* kmalloc_caches[types][sizes]: drivers only pass entries back to
     * kmalloc_trace, which ignores them. */
    return kapi_data(k, "kmalloc_caches", 4096, 64, e) ? 0 : -ENOSPC;
}
