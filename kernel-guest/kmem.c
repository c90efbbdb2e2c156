/*
 * kernel-guest/kmem.c: guest RAM, page frames, virtual areas and kmalloc.
 * See kmem.h for the layout.
 *
 * The kmalloc heap is a first-fit allocator over one direct-mapped region,
 * with the live allocations kept sorted by address on the host side (they
 * are the leak report and the check that kfree gets a real allocation).
 * Its cost is linear in live allocations, fine for drivers' few hundred.
 */
#include "kernel-guest/kmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Physical memory below 1 MiB is never handed out: a stray physical 0 in a
 * DMA descriptor then hits nothing. */
#define KMEM_RESERVED_LOW (1ull << 20)

int kmem_init(KMem *m, Vcpu *cpu, uint64_t ram_size, SlError *e)
{
    int err;

    memset(m, 0, sizeof(*m));
    if (ram_size < (32ull << 20) || ram_size % KMEM_PAGE_SIZE) {
        return sl_error(e, -EINVAL, "kernel: guest RAM of %llu bytes: expected at least 32 MiB in whole pages",
                        (unsigned long long)ram_size);
    }
    m->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m->ram == MAP_FAILED) {
        m->ram = NULL;
        return sl_error(e, -ENOMEM, "kernel: cannot allocate %llu bytes of guest RAM",
                        (unsigned long long)ram_size);
    }
    m->cpu = cpu;
    m->ram_size = ram_size;
    m->npages = ram_size / KMEM_PAGE_SIZE;
    m->page_used = calloc(m->npages, 1);
    if (!m->page_used) {
        return sl_error(e, -ENOMEM, "kernel: out of memory");
    }
    memset(m->page_used, 1, KMEM_RESERVED_LOW / KMEM_PAGE_SIZE);
    m->vmalloc_next = KMEM_VMALLOC_BASE;
    m->modules_next = KMEM_MODULES_BASE;
    err = vcpu_map_ram(cpu, KMEM_PAGE_OFFSET, m->ram, ram_size,
                       VCPU_PROT_READ | VCPU_PROT_WRITE, e);
    if (err) {
        return err;
    }
    m->heap_size = KMEM_HEAP_BYTES;
    m->heap_pa = kmem_alloc_pages(m, m->heap_size / KMEM_PAGE_SIZE);
    if (m->heap_pa == UINT64_MAX) {
        return sl_error(e, -ENOMEM, "kernel: guest RAM too small for the kmalloc heap");
    }
    return 0;
}

void kmem_fini(KMem *m)
{
    if (m->ram) {
        munmap(m->ram, m->ram_size);
    }
    free(m->page_used);
    free(m->allocs);
    memset(m, 0, sizeof(*m));
}

uint64_t kmem_alloc_pages(KMem *m, uint64_t npages)
{
    uint64_t run = 0;

    if (npages == 0) {
        return UINT64_MAX;
    }
    for (uint64_t i = 0; i < m->npages; i++) {
        run = m->page_used[i] ? 0 : run + 1;
        if (run == npages) {
            uint64_t first = i + 1 - npages;

            memset(m->page_used + first, 1, npages);
            memset(m->ram + first * KMEM_PAGE_SIZE, 0, npages * KMEM_PAGE_SIZE);
            return first * KMEM_PAGE_SIZE;
        }
    }
    return UINT64_MAX;
}

void kmem_free_pages(KMem *m, uint64_t pa, uint64_t npages)
{
    uint64_t first = pa / KMEM_PAGE_SIZE;

    if (first + npages <= m->npages) {
        memset(m->page_used + first, 0, npages);
    }
}

int kmem_map(KMem *m, uint64_t va, uint64_t pa, uint64_t len, unsigned prot,
             SlError *e)
{
    int err;

    if (m->nregions == KMEM_MAX_REGIONS) {
        return sl_error(e, -ENOSPC, "kernel: more than %d memory regions", KMEM_MAX_REGIONS);
    }
    if (pa + len > m->ram_size) {
        return sl_error(e, -EINVAL, "kernel: mapping beyond guest RAM");
    }
    err = vcpu_map_ram(m->cpu, va, m->ram + pa, len, prot, e);
    if (err) {
        return err;
    }
    m->regions[m->nregions++] = (KMemRegion){.va = va, .pa = pa, .len = len, .prot = prot};
    return 0;
}

void kmem_unmap(KMem *m, uint64_t va, uint64_t len)
{
    for (unsigned i = 0; i < m->nregions; i++) {
        if (m->regions[i].va == va && m->regions[i].len == len) {
            vcpu_unmap(m->cpu, va, len);
            m->regions[i] = m->regions[--m->nregions];
            return;
        }
    }
}

uint64_t kmem_reserve_vmalloc(KMem *m, uint64_t len)
{
    uint64_t va = m->vmalloc_next;

    len = (len + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);
    m->vmalloc_next += len + KMEM_PAGE_SIZE;     /* guard page */
    return va;
}

uint64_t kmem_reserve_module(KMem *m, uint64_t len)
{
    uint64_t va = m->modules_next;

    len = (len + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);
    if (va > KMEM_MODULES_END || len > KMEM_MODULES_END - va) {
        return 0;
    }
    m->modules_next += len + KMEM_PAGE_SIZE;
    return va;
}

void *kmem_host(const KMem *m, uint64_t va, uint64_t len)
{
    if (va >= KMEM_PAGE_OFFSET && va - KMEM_PAGE_OFFSET < m->ram_size &&
        len <= m->ram_size - (va - KMEM_PAGE_OFFSET)) {
        return m->ram + (va - KMEM_PAGE_OFFSET);
    }
    for (unsigned i = 0; i < m->nregions; i++) {
        const KMemRegion *r = &m->regions[i];

        if (va >= r->va && va - r->va < r->len && len <= r->len - (va - r->va)) {
            return m->ram + r->pa + (va - r->va);
        }
    }
    return NULL;
}

/* Index of the first allocation with va >= key. */
static unsigned kmem_lower_bound(const KMem *m, uint64_t key)
{
    unsigned lo = 0, hi = m->nallocs;

    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;

        if (m->allocs[mid].va < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

uint64_t kmem_kmalloc(KMem *m, uint64_t size, uint64_t align, bool zero)
{
    uint64_t base = KMEM_PAGE_OFFSET + m->heap_pa, end = base + m->heap_size;
    uint64_t cur = base;
    unsigned i;

    if (size == 0) {
        size = 1;
    }
    if (align < 16) {
        align = 16;              /* ARCH_KMALLOC_MINALIGN on x86-64 is 8; 16 is safe */
    }
    if (m->nallocs == m->cap_allocs) {
        unsigned cap = m->cap_allocs ? m->cap_allocs * 2 : 256;
        KMemAlloc *a = realloc(m->allocs, cap * sizeof(*a));

        if (!a) {
            return 0;
        }
        m->allocs = a;
        m->cap_allocs = cap;
    }
    for (i = 0; i <= m->nallocs; i++) {
        uint64_t start = (cur + align - 1) & ~(align - 1);
        uint64_t limit = i < m->nallocs ? m->allocs[i].va : end;

        if (start + size <= limit) {
            memmove(&m->allocs[i + 1], &m->allocs[i], (m->nallocs - i) * sizeof(KMemAlloc));
            m->allocs[i] = (KMemAlloc){.va = start, .size = size};
            m->nallocs++;
            m->live_bytes += size;
            if (zero) {
                memset(m->ram + (start - KMEM_PAGE_OFFSET), 0, size);
            }
            return start;
        }
        if (i < m->nallocs) {
            cur = m->allocs[i].va + m->allocs[i].size;
        }
    }
    return 0;
}

int kmem_kfree(KMem *m, uint64_t va)
{
    unsigned i = kmem_lower_bound(m, va);

    if (i == m->nallocs || m->allocs[i].va != va) {
        return -EINVAL;
    }
    m->live_bytes -= m->allocs[i].size;
    memmove(&m->allocs[i], &m->allocs[i + 1], (m->nallocs - i - 1) * sizeof(KMemAlloc));
    m->nallocs--;
    return 0;
}


uint64_t kmem_containing(const KMem *m, uint64_t va)
{
    unsigned i = kmem_lower_bound(m, va + 1);     /* first allocation past va */

    if (i == 0) {
        return 0;
    }
    i--;
    return va - m->allocs[i].va < m->allocs[i].size ? m->allocs[i].va : 0;
}
