/*
 * kernel-guest/kmem.c: guest RAM as page objects of the persistent store,
 * virtual areas, and kmalloc.  See kmem.h for the layout and the rules.
 *
 * kmalloc is first-fit inside the arenas of the charged bank, with the
 * live allocations kept sorted by address on the host side (they are the
 * leak report and the check that kfree gets a real allocation).  Its cost
 * is linear in a bank's arenas and their allocations, fine for drivers'
 * few hundred.
 */
#include "kernel-guest/kmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_store.h"

/* Physical memory below 1 MiB is never handed out: a stray physical 0 in a
 * DMA descriptor then hits nothing. */
#define KMEM_RESERVED_LOW (1ull << 20)
#define KMEM_FIRST_PFN (KMEM_RESERVED_LOW / KMEM_PAGE_SIZE)

static uint8_t *kmem_frame(const KMem *m, uint64_t pfn)
{
    return m->ram + pfn * KMEM_PAGE_SIZE;
}

/* The live page object in frame pfn, or -1. */
static int32_t kmem_object_at(const KMem *m, uint64_t pfn)
{
    int32_t idx = m->store->frame_owner[pfn];

    return idx >= 0 && m->store->obj[idx].oid == KMEM_RAM_OID + pfn &&
           m->store->obj[idx].type == PK_OBJ_PAGE ? idx : -1;
}

int kmem_init(KMem *m, Vcpu *cpu, uint64_t ram_size, SlError *e)
{
    PkStoreConfig sc;
    uint64_t frames;
    int err;

    memset(m, 0, sizeof(*m));
    if (ram_size < (32ull << 20) || ram_size % KMEM_PAGE_SIZE || ram_size > (64ull << 30)) {
        return sl_error(e, -EINVAL, "kernel: guest RAM of %llu bytes: expected 32 MiB to 64 GiB "
                        "in whole pages", (unsigned long long)ram_size);
    }
    m->npages = ram_size / KMEM_PAGE_SIZE;
    /* Room for the store's own pages: the machine state a checkpoint
     * writes is about 1/60 of RAM. */
    m->ngeneral = (uint32_t)(m->npages / 32 + 1024);
    frames = m->npages + m->ngeneral;
    m->ram = mmap(NULL, frames * KMEM_PAGE_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m->ram == MAP_FAILED) {
        m->ram = NULL;
        return sl_error(e, -ENOMEM, "kernel: cannot allocate %llu bytes of guest RAM",
                        (unsigned long long)ram_size);
    }
    m->cpu = cpu;
    m->ram_size = ram_size;
    m->dirty = calloc(m->npages, 1);
    m->touched = calloc(m->npages, 1);
    if (!m->dirty || !m->touched) {
        return sl_error(e, -ENOMEM, "kernel: out of memory");
    }
    sc = (PkStoreConfig){.frames = m->ram, .nframes = (uint32_t)frames,
                         .max_objects = (uint32_t)(frames + 256), .max_banks = KMEM_MAX_BANKS,
                         .nplaced = (uint32_t)m->npages, .placed_oid = KMEM_RAM_OID};
    err = pk_store_new(&sc, &m->store, e);
    if (err) {
        return err;
    }
    m->bank_now = KMEM_BANK_KERNEL;
    m->vmalloc_next = KMEM_VMALLOC_BASE;
    m->modules_next = KMEM_MODULES_BASE;
    return vcpu_map_ram(cpu, KMEM_PAGE_OFFSET, m->ram, ram_size,
                        VCPU_PROT_READ | VCPU_PROT_WRITE, e);
}

void kmem_fini(KMem *m)
{
    if (m->tracking) {
        vcpu_track_writes(m->cpu, 0, 0, NULL, NULL);
    }
    if (m->ram) {
        munmap(m->ram, (m->npages + m->ngeneral) * KMEM_PAGE_SIZE);
    }
    pk_store_free(m->store);
    free(m->dirty);
    free(m->touched);
    free(m->allocs);
    memset(m, 0, sizeof(*m));
}

/* --- page frames ------------------------------------------------------- */

/* A free frame back to zero (as a checkpoint takes it: never stored). */
static void kmem_zero_frame(KMem *m, uint64_t pfn)
{
    memset(kmem_frame(m, pfn), 0, KMEM_PAGE_SIZE);
    m->touched[pfn] = 0;
}

/* Destroys the object in pfn (if any) and zeroes the frame unless the
 * IOMMU still pins it (then kmem_frame_pin zeroes it at the last unpin). */
static void kmem_free_frame(KMem *m, uint64_t pfn)
{
    int32_t idx = kmem_object_at(m, pfn);

    if (idx >= 0 && pk_object_destroy(m->store, idx) != PK_PENDING) {
        kmem_zero_frame(m, pfn);
    }
}

uint64_t kmem_zero_free_frames(KMem *m)
{
    uint64_t live = 0;

    for (uint64_t pfn = 0; pfn < m->npages; pfn++) {
        if (m->store->frame_owner[pfn] != PK_FRAME_FREE) {
            live += kmem_object_at(m, pfn) >= 0;
        } else if (m->touched[pfn]) {
            kmem_zero_frame(m, pfn);
        }
    }
    return live;
}

int32_t kmem_page_bank(const KMem *m, uint64_t pa)
{
    int32_t idx = pa / KMEM_PAGE_SIZE < m->npages ? kmem_object_at(m, pa / KMEM_PAGE_SIZE) : -1;

    return idx >= 0 ? m->store->obj[idx].bank : -1;
}

static uint64_t kmem_alloc_run(KMem *m, uint64_t npages, uint64_t tell);

uint64_t kmem_alloc_pages(KMem *m, uint64_t npages)
{
    return kmem_alloc_run(m, npages, npages * KMEM_PAGE_SIZE);
}

/* kmem_alloc_pages; a quota refusal is reported (m->refused) as one of
 * tell bytes, or not at all for 0. */
static uint64_t kmem_alloc_run(KMem *m, uint64_t npages, uint64_t tell)
{
    const int32_t *owner = m->store->frame_owner;
    uint64_t run = 0, first;
    PkOid oid;
    int err;

    if (npages == 0 || npages > m->npages) {
        m->last_error = -ENOMEM;
        return UINT64_MAX;
    }
    /* The quota first: a refusal costs no scan. */
    err = pk_bank_charge(m->store, m->bank_now, PK_RES_OBJECTS, npages);
    if (err) {
        m->last_error = err == -EDQUOT ? -EDQUOT : -ENOMEM;
        if (err == -EDQUOT && tell && m->refused) {
            m->refused(m->refused_opaque, tell);
        }
        return UINT64_MAX;
    }
    pk_bank_uncharge(m->store, m->bank_now, PK_RES_OBJECTS, npages);
    first = UINT64_MAX;
    for (uint64_t pfn = KMEM_FIRST_PFN; pfn < m->npages; pfn++) {
        run = owner[pfn] == PK_FRAME_FREE ? run + 1 : 0;
        if (run == npages) {
            first = pfn + 1 - npages;
            break;
        }
    }
    if (first == UINT64_MAX) {
        m->last_error = -ENOMEM;
        return UINT64_MAX;
    }
    err = pk_bank_new_placed_range(m->store, m->bank_now, (int32_t)first, (uint32_t)npages, &oid);
    if (err) {
        m->last_error = err == -EDQUOT ? -EDQUOT : -ENOMEM;
        return UINT64_MAX;
    }
    memset(kmem_frame(m, first), 0, npages * KMEM_PAGE_SIZE);
    memset(m->touched + first, 1, npages);
    return first * KMEM_PAGE_SIZE;
}

void kmem_free_pages(KMem *m, uint64_t pa, uint64_t npages)
{
    uint64_t first = pa / KMEM_PAGE_SIZE;

    for (uint64_t pfn = first; pfn < first + npages && pfn < m->npages; pfn++) {
        kmem_free_frame(m, pfn);
    }
}

void kmem_frame_pin(KMem *m, uint64_t pfn, bool pinned)
{
    int32_t frame;

    if (pfn >= m->npages) {
        return;
    }
    /* A frame with no page object (never allocated) has nothing to keep. */
    if (pinned) {
        (void)pk_cache_pin(m->store, KMEM_RAM_OID + pfn, &frame);
    } else if (pk_cache_unpin(m->store, KMEM_RAM_OID + pfn) == PK_PENDING) {
        kmem_zero_frame(m, pfn);                           /* freed while pinned: now free */
    }
}

/* --- banks --------------------------------------------------------------- */

int32_t kmem_bank_new(KMem *m, uint64_t quota_pages, uint64_t quota_maps)
{
    uint64_t quota[PK_RES_COUNT] = {[PK_RES_OBJECTS] = quota_pages,
                                    [PK_RES_MAP_ENTRIES] = quota_maps};
    int32_t bank;
    int err = pk_bank_new_child(m->store, KMEM_BANK_KERNEL, quota, &bank);

    return err ? err : bank;
}

static void kmem_drop_allocs(KMem *m, uint64_t start, uint64_t end);

int kmem_bank_destroy(KMem *m, int32_t bank)
{
    int err;

    if (bank <= KMEM_BANK_KERNEL || (uint32_t)bank >= m->store->cfg.max_banks ||
        !m->store->bank[bank].live) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < m->narenas;) {
        KMemArena *a = &m->arenas[i];

        if (a->bank != bank) {
            i++;
            continue;
        }
        kmem_drop_allocs(m, KMEM_PAGE_OFFSET + a->pa, KMEM_PAGE_OFFSET + a->pa + a->len);
        *a = m->arenas[--m->narenas];
    }
    err = pk_bank_kill(m->store, bank);
    /* The frames it freed (a pinned one waits for its last unpin). */
    kmem_zero_free_frames(m);
    if (m->bank_now == bank) {
        m->bank_now = KMEM_BANK_KERNEL;
    }
    return err < 0 ? err : 0;
}

int kmem_charge_maps(KMem *m, int32_t bank, uint64_t n)
{
    return pk_bank_charge(m->store, bank, PK_RES_MAP_ENTRIES, n);
}

void kmem_uncharge_maps(KMem *m, int32_t bank, uint64_t n)
{
    if (bank >= 0 && (uint32_t)bank < m->store->cfg.max_banks && m->store->bank[bank].live) {
        pk_bank_uncharge(m->store, bank, PK_RES_MAP_ENTRIES, n);
    }
}

/* --- dirty tracking ------------------------------------------------------ */

void kmem_mark_dirty(KMem *m, uint64_t pa, uint64_t len)
{
    uint64_t first = pa / KMEM_PAGE_SIZE, last;

    if (len == 0 || first >= m->npages) {
        return;
    }
    last = (pa + len - 1) / KMEM_PAGE_SIZE;
    if (last >= m->npages || last < first) {
        last = m->npages - 1;
    }
    memset(m->dirty + first, 1, last - first + 1);
    memset(m->touched + first, 1, last - first + 1);
}

/* Guest-physical address of va in RAM, or UINT64_MAX. */
static uint64_t kmem_pa_of(const KMem *m, uint64_t va)
{
    if (va - KMEM_PAGE_OFFSET < m->ram_size) {
        return va - KMEM_PAGE_OFFSET;
    }
    for (unsigned i = 0; i < m->nregions; i++) {
        const KMemRegion *r = &m->regions[i];

        if (va - r->va < r->len) {
            return r->pa + (va - r->va);
        }
    }
    return UINT64_MAX;
}

static void kmem_track_hook(void *opaque, uint64_t va, unsigned size)
{
    KMem *m = opaque;
    uint64_t pa = kmem_pa_of(m, va);

    if (pa != UINT64_MAX) {
        /* A store never crosses an alias region's end on a page boundary
         * it does not also cross in RAM: regions are page-granular. */
        kmem_mark_dirty(m, pa, size);
    }
}

int kmem_track_writes(KMem *m, bool on, SlError *e)
{
    int err = vcpu_track_writes(m->cpu, KMEM_PAGE_OFFSET, UINT64_MAX,
                                on ? kmem_track_hook : NULL, m);

    if (err) {
        return sl_error(e, err, "kernel: cannot track guest writes (Unicorn refused the hook)");
    }
    m->tracking = on;
    return 0;
}

uint64_t kmem_collect_dirty(KMem *m)
{
    uint64_t n = 0;
    const uint8_t *p = m->dirty, *end = m->dirty + m->npages;

    while ((p = memchr(p, 1, (size_t)(end - p))) != NULL) {
        uint64_t pfn = (uint64_t)(p - m->dirty);
        int32_t idx = kmem_object_at(m, pfn);

        if (idx >= 0) {
            pk_object_mark_dirty(m->store, idx);
            n++;
        }
        p++;
    }
    memset(m->dirty, 0, m->npages);
    return n;
}

/* --- virtual areas --------------------------------------------------------- */

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

const void *kmem_host_ro(const KMem *m, uint64_t va, uint64_t len)
{
    uint64_t pa = kmem_pa_of(m, va);

    if (pa == UINT64_MAX || len > m->ram_size - pa) {
        return NULL;
    }
    /* An alias region must hold the whole range. */
    if (va - KMEM_PAGE_OFFSET >= m->ram_size) {
        for (unsigned i = 0; i < m->nregions; i++) {
            const KMemRegion *r = &m->regions[i];

            if (va - r->va < r->len) {
                return len <= r->len - (va - r->va) ? m->ram + pa : NULL;
            }
        }
    }
    return m->ram + pa;
}

void *kmem_host(KMem *m, uint64_t va, uint64_t len)
{
    const void *p = kmem_host_ro(m, va, len);

    if (p) {
        kmem_mark_dirty(m, (uint64_t)((const uint8_t *)p - m->ram), len);
    }
    return (void *)p;
}

/* --- kmalloc ----------------------------------------------------------- */

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

/* The arena holding va, or -1. */
static int kmem_arena_of(const KMem *m, uint64_t va)
{
    for (unsigned i = 0; i < m->narenas; i++) {
        if (va - (KMEM_PAGE_OFFSET + m->arenas[i].pa) < m->arenas[i].len) {
            return (int)i;
        }
    }
    return -1;
}

/* First fit of size bytes at align in arena a: the address and where its
 * record goes, or 0. */
static uint64_t kmem_arena_fit(const KMem *m, const KMemArena *a, uint64_t size, uint64_t align,
                               unsigned *pos)
{
    uint64_t cur = KMEM_PAGE_OFFSET + a->pa, end = cur + a->len;

    for (unsigned i = kmem_lower_bound(m, cur);; i++) {
        uint64_t start = (cur + align - 1) & ~(align - 1);
        uint64_t limit = i < m->nallocs && m->allocs[i].va < end ? m->allocs[i].va : end;

        if (start >= cur && start + size <= limit && start + size > start) {
            *pos = i;
            return start;
        }
        if (limit == end) {
            return 0;
        }
        cur = m->allocs[i].va + m->allocs[i].size;
    }
}

/* A new arena of bank_now with room for size at align: its index, or -1. */
static int kmem_arena_new(KMem *m, uint64_t size, uint64_t align)
{
    uint64_t need = (size + align + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1), len = need, pa;

    if (len < KMEM_ARENA_BYTES) {
        len = KMEM_ARENA_BYTES;
    }
    if (m->narenas == KMEM_MAX_ARENAS) {
        m->last_error = -ENOMEM;
        return -1;
    }
    /* A whole arena if the bank has room, else just what this takes. */
    pa = kmem_alloc_run(m, len / KMEM_PAGE_SIZE, len == need ? size : 0);
    if (pa == UINT64_MAX && m->last_error == -EDQUOT && len > need) {
        len = need;
        pa = kmem_alloc_run(m, len / KMEM_PAGE_SIZE, size);
    }
    if (pa == UINT64_MAX) {
        return -1;
    }
    m->arenas[m->narenas] = (KMemArena){.pa = pa, .len = len, .bank = m->bank_now};
    return (int)m->narenas++;
}

uint64_t kmem_kmalloc(KMem *m, uint64_t size, uint64_t align, bool zero)
{
    uint64_t va = 0;
    unsigned pos = 0;
    int a;

    if (size == 0) {
        size = 1;
    }
    if (align < 16) {
        align = 16;              /* ARCH_KMALLOC_MINALIGN on x86-64 is 8; 16 is safe */
    }
    if (size > m->ram_size || (align & (align - 1)) || align > KMEM_ARENA_BYTES) {
        m->last_error = -ENOMEM;
        return 0;
    }
    if (m->nallocs == m->cap_allocs) {
        unsigned cap = m->cap_allocs ? m->cap_allocs * 2 : 256;
        KMemAlloc *n = realloc(m->allocs, cap * sizeof(*n));

        if (!n) {
            m->last_error = -ENOMEM;
            return 0;
        }
        m->allocs = n;
        m->cap_allocs = cap;
    }
    for (a = 0; a < (int)m->narenas; a++) {
        if (m->arenas[a].bank == m->bank_now &&
            (va = kmem_arena_fit(m, &m->arenas[a], size, align, &pos)) != 0) {
            break;
        }
    }
    if (!va) {
        a = kmem_arena_new(m, size, align);
        if (a < 0) {
            return 0;
        }
        va = kmem_arena_fit(m, &m->arenas[a], size, align, &pos);
    }
    memmove(&m->allocs[pos + 1], &m->allocs[pos], (m->nallocs - pos) * sizeof(KMemAlloc));
    m->allocs[pos] = (KMemAlloc){.va = va, .size = size};
    m->nallocs++;
    m->arenas[a].live++;
    m->live_bytes += size;
    if (zero) {
        memset(m->ram + (va - KMEM_PAGE_OFFSET), 0, size);
    }
    kmem_mark_dirty(m, va - KMEM_PAGE_OFFSET, size);
    return va;
}

int kmem_kfree(KMem *m, uint64_t va)
{
    unsigned i = kmem_lower_bound(m, va);
    int a;

    if (i == m->nallocs || m->allocs[i].va != va) {
        return -EINVAL;
    }
    m->live_bytes -= m->allocs[i].size;
    memmove(&m->allocs[i], &m->allocs[i + 1], (m->nallocs - i - 1) * sizeof(KMemAlloc));
    m->nallocs--;
    a = kmem_arena_of(m, va);
    if (a >= 0 && --m->arenas[a].live == 0 && m->arenas[a].len > KMEM_ARENA_BYTES) {
        /* An arena made for one large allocation goes with it. */
        KMemArena gone = m->arenas[a];

        m->arenas[a] = m->arenas[--m->narenas];
        kmem_free_pages(m, gone.pa, gone.len / KMEM_PAGE_SIZE);
    }
    return 0;
}

/* Drops the live allocations in [start, end) (their bank is destroyed). */
static void kmem_drop_allocs(KMem *m, uint64_t start, uint64_t end)
{
    unsigned lo = kmem_lower_bound(m, start), hi = kmem_lower_bound(m, end);

    for (unsigned i = lo; i < hi; i++) {
        m->live_bytes -= m->allocs[i].size;
        m->reclaimed_bytes += m->allocs[i].size;
        m->reclaimed_objects++;
    }
    memmove(&m->allocs[lo], &m->allocs[hi], (m->nallocs - hi) * sizeof(KMemAlloc));
    m->nallocs -= hi - lo;
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
