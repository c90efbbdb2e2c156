/*
 * kernel-guest/kapi_dma.c: the Linux DMA API on the software IOMMU, with
 * the DMA-API checks of kernel/dma/debug.c (dma_debug.h).
 *
 * Served: dma_alloc_attrs/dma_free_attrs (coherent), dma_map_page_attrs/
 * dma_unmap_page_attrs (dma_map_single is inline in drivers: virt_to_page
 * through the vmemmap, then dma_map_page_attrs), dma_map_sg_attrs/
 * dma_unmap_sg_attrs, dma_sync_single_for_cpu/_for_device, dma_set_mask,
 * dma_set_coherent_mask; dma_pool_* in kdma_pool.c.
 *
 * Every mapping gets an IOVA of its own in the device's IOMMU domain
 * (requester id = devfn), below the device's mask (the DMA mask for
 * streaming, the coherent mask for coherent memory and pools), from the
 * allocator in kdma_iova.c.  Permissions follow the direction: TO_DEVICE
 * lets the device read, FROM_DEVICE write, BIDIRECTIONAL both; coherent
 * memory is read/write.  A map the IOMMU refuses (the pin bound) fails as
 * Linux fails -- DMA_MAPPING_ERROR, NULL, or 0 entries -- after the refusal
 * is recorded as a fault (iommu_fault_report_map); nothing is left behind.
 *
 * Checks: each map, unmap, free and sync is told to the checker with the
 * driver instruction that made it (vcpu_current_rip); a mapping whose CPU
 * address lies in the kernel stack is reported as stack memory; the leak
 * check runs when the PCI core has removed a driver (kdma_unbind).
 *
 * "Mapping error never checked": dma_mapping_error() is inline in 6.1
 * drivers (a compare with ~0), so the kernel never sees it.  Instead, the
 * first time a map call returns to a given address, kdma_check.c
 * disassembles the driver forward from there and follows the returned
 * value (RAX, the registers and stack slots it is copied to) over up to 32
 * instructions, following direct jmps, until a ret or indirect jump, or
 * until no copy of the value is left (a call clobbers the caller-saved
 * ones).  A `cmp $-1` of a copy (or a compare with a register holding -1,
 * or `inc`/`add $1` of a copy followed by a conditional jump) is taken as
 * the check.  The verdict is cached per return address; when it is
 * "checked", the mapping is marked checked right after it is made.  The
 * heuristic misses checks done out of line (a helper called with the
 * value) and then reports a check that was made -- a false positive to
 * keep in mind, never a missed misuse of the kind the scan can see.
 */
#include "kernel-guest/kernel_internal.h"
#include "kernel-guest/kvmemmap.h"

#include <errno.h>
#include <string.h>

#define KDMA_BIT_MASK_24 0xffffffull
#define KDMA_BIT_MASK_32 0xffffffffull
#define KDMA_SG_CHAIN 0x1ull
#define KDMA_SG_END 0x2ull
#define KDMA_SG_MAX_WALK 65536       /* entries: a longer walk is a loop */

void kernel_ram(Kernel *k, void **ram, uint64_t *size)
{
    *ram = k->mem.ram;
    *size = k->mem.ram_size;
}

int kernel_set_iommu(Kernel *k, Iommu *mmu, SlError *e)
{
    k->iommu = mmu;
    iommu_set_pin_hook(mmu, kernel_iommu_pin_hook, k);
    iommu_set_write_hook(mmu, kernel_iommu_write_hook, k);
    for (unsigned i = 0; i < k->npci_devices; i++) {
        KPciDevice *d = &k->pci_devices[i];
        int err = iommu_attach(mmu, (uint16_t)d->devfn, d->name);

        if (err && err != -EEXIST) {
            return sl_error(e, err, "kernel: cannot attach %s to the IOMMU", d->name);
        }
    }
    return 0;
}

int kdma_dev(Kernel *k, uint64_t dev)
{
    long off = btf_layout_offsetof(k->btf, "pci_dev", "dev");

    for (unsigned i = 0; off >= 0 && i < k->npci_devices; i++) {
        if (k->pci_devices[i].pdev + (uint64_t)off == dev) {
            return (int)i;
        }
    }
    return -1;
}

uint16_t kdma_rid(const Kernel *k, int dev)
{
    return (uint16_t)k->pci_devices[dev].devfn;
}

DmaDebug *kdma_debug(Kernel *k)
{
    dma_debug_set_time(&k->dma.debug, k->time_ns);
    return &k->dma.debug;
}

unsigned kdma_coherent_live(const Kernel *k)
{
    unsigned n = 0;

    for (unsigned i = 0; i < k->dma.nmaps; i++) {
        n += k->dma.maps[i].state == KDMA_STATE_LIVE &&
             k->dma.maps[i].type == DMA_DBG_TYPE_COHERENT;
    }
    return n;
}

/* Undoes a mapping found by device address, whatever function made it:
 * the checker has reported a mismatch already, and the mapping is gone
 * for it too. */
static void kdma_release(Kernel *k, KDmaMap *m)
{
    kdma_unmap_frames(k, m, m->type == DMA_DBG_TYPE_COHERENT);
}

/* The checker forgets what leaked at unbind; the kernel reclaims it, so
 * the device's domain holds no pins for a driver that is gone. */
void kdma_unbind(Kernel *k, int dev)
{
    dma_debug_unbind(kdma_debug(k), kdma_rid(k, dev), vcpu_current_rip(k->cpu));
    for (unsigned i = 0; i < KDMA_MAX_POOL_PAGES; i++) {
        KDmaPoolPage *pg = &k->dma.pool_pages[i];

        if (pg->pool >= 0 && k->dma.pools[pg->pool].dev == dev) {
            pg->pool = -1;
        }
    }
    for (unsigned i = 0; i < k->dma.nmaps;) {
        KDmaMap *m = &k->dma.maps[i];
        unsigned before = k->dma.nmaps;

        if (m->dev == dev && m->state == KDMA_STATE_LIVE) {
            kdma_release(k, m);
            if (k->dma.nmaps < before) {
                continue;        /* removed: the next one moved into slot i */
            }
        }
        i++;
    }
}

int kdma_map(Kernel *k, int dev, uint64_t pa, uint64_t len, uint64_t mask, unsigned perms,
             KDmaMap *m)
{
    uint16_t rid = kdma_rid(k, dev);
    uint64_t first = pa & ~(KMEM_PAGE_SIZE - 1);
    uint64_t npages = (pa + len - first + KMEM_PAGE_SIZE - 1) / KMEM_PAGE_SIZE;
    uint64_t iova;
    int rc;

    kdma_reap(k);
    if (k->dma.nmaps == KDMA_MAX_MAPS) {
        return -ENOSPC;
    }
    if (k->cfg.iommu_off) {
        /* --iommu off: the device uses guest-physical addresses (what
         * dma-direct hands out); a buffer above its mask is unreachable
         * (Linux would bounce it through swiotlb; sluice fails the map). */
        if (first + npages * KMEM_PAGE_SIZE - 1 > mask) {
            return -ENOSPC;
        }
        iova = first;
        goto mapped;
    }
    /* dma-iommu tries below 4 GiB first for PCI devices (SAC addressing). */
    rc = -ENOSPC;
    if (mask > KDMA_BIT_MASK_32) {
        rc = kdma_iova_alloc(&k->dma, dev, npages, KDMA_BIT_MASK_32, &iova);
    }
    if (rc) {
        rc = kdma_iova_alloc(&k->dma, dev, npages, mask, &iova);
    }
    if (rc) {
        return rc;
    }
    /* The mapping entries are kernel memory made on the driver's behalf:
     * charged to its bank first (seed 002: nothing implicit). */
    rc = kmem_charge_maps(&k->mem, k->mem.bank_now, npages);
    if (rc == -EDQUOT && iommu_mode(k->iommu) == IOMMU_MODE_LAZY &&
        iommu_flush_pending(k->iommu) != 0) {
        /* Entries of lazily unmapped ranges are charged until the flush:
         * drain, as Linux drains its flush queue when space runs short,
         * and try once more. */
        iommu_flush(k->iommu);
        kdma_reap(k);
        rc = kmem_charge_maps(&k->mem, k->mem.bank_now, npages);
    }
    if (rc) {
        kernel_log(k, '4', "sluice: %s: DMA mapping of %llu page%s refused: the space bank of "
                   "%s is at its quota of IOMMU mapping entries", k->pci_devices[dev].name,
                   (unsigned long long)npages, npages == 1 ? "" : "s",
                   k->current_module >= 0 ? kernel_module_name(k, k->current_module) : "the kernel");
        return rc;
    }
    rc = iommu_map_range(k->iommu, rid, iova, first, npages * KMEM_PAGE_SIZE, perms);
    if (rc) {
        kmem_uncharge_maps(&k->mem, k->mem.bank_now, npages);
        iommu_fault_report_map(k->iommu, rid, iova, npages * KMEM_PAGE_SIZE, rc);
        return rc;
    }
    m->charged = 1;
    m->bank = k->mem.bank_now;
mapped:
    m->dev = (uint8_t)dev;
    m->state = KDMA_STATE_LIVE;
    m->iova = iova;
    m->npages = npages;
    m->handle = iova + (pa - first);
    m->pa = pa;
    kdma_table_insert(&k->dma, m);
    return 0;
}

/* Drops a mapping's record and gives its entries back to the bank. */
static void kdma_forget(Kernel *k, KDmaMap *m)
{
    if (m->charged) {
        kmem_uncharge_maps(&k->mem, m->bank, m->npages);
    }
    kdma_table_remove(&k->dma, m);
}

void kdma_unmap_frames(Kernel *k, KDmaMap *m, bool frames)
{
    uint64_t pa = m->pa & ~(KMEM_PAGE_SIZE - 1), npages = m->npages;

    kdma_watch_drop(k, m);
    if (k->cfg.iommu_off) {
        kdma_forget(k, m);
        if (frames) {
            kmem_free_pages(&k->mem, pa, npages);
        }
        return;
    }
    iommu_unmap_range(k->iommu, kdma_rid(k, m->dev), m->iova, m->npages * KMEM_PAGE_SIZE);
    if (iommu_mode(k->iommu) == IOMMU_MODE_LAZY) {
        /* Linux frees a lazily unmapped IOVA only when the flush queue
         * drains; reusing it earlier would hide a use after unmap.  The
         * frames stay pinned by the deferred invalidation until then, so
         * they are freed then too. */
        m->state = KDMA_STATE_QUARANTINED;
        m->owns_frames = frames;
        m->seq = k->dma.unmap_seq++;
        return;
    }
    kdma_forget(k, m);
    if (frames) {
        kmem_free_pages(&k->mem, pa, npages);
    }
}

void kdma_unmap(Kernel *k, KDmaMap *m)
{
    kdma_unmap_frames(k, m, false);
}

void kernel_dma_quiesce(Kernel *k)
{
    if (k->iommu && !k->cfg.iommu_off) {
        iommu_flush(k->iommu);
        kdma_reap(k);
    }
}

void kernel_dma_device_access(Kernel *k, uint16_t rid, uint64_t iova, uint64_t len, bool write)
{
    dma_debug_device_access(kdma_debug(k), rid, iova, len, write);
}

void kdma_bank_gone(Kernel *k, int32_t bank)
{
    for (unsigned i = 0; i < k->dma.nmaps; i++) {
        KDmaMap *m = &k->dma.maps[i];

        if (m->charged && m->bank == bank) {
            m->charged = 0;      /* the entries' charge went with the bank */
        }
        if (m->state == KDMA_STATE_QUARANTINED && m->owns_frames &&
            kmem_page_bank(&k->mem, m->pa) == bank) {
            m->owns_frames = 0;  /* freed with the bank, at their last unpin */
        }
    }
}

void kdma_reap(Kernel *k)
{
    unsigned held = 0;

    for (unsigned i = 0; i < k->dma.nmaps; i++) {
        held += k->dma.maps[i].state == KDMA_STATE_QUARANTINED;
    }
    if (held > KDMA_QUARANTINE_MAX) {
        iommu_flush(k->iommu);   /* as Linux flushes when its queue is full */
    }
    if (!held || iommu_flush_pending(k->iommu) != 0) {
        return;
    }
    for (unsigned i = 0; i < k->dma.nmaps;) {
        KDmaMap *m = &k->dma.maps[i];
        uint64_t pa = m->pa & ~(KMEM_PAGE_SIZE - 1), npages = m->npages;
        bool frames = m->owns_frames;

        if (m->state != KDMA_STATE_QUARANTINED) {
            i++;
            continue;
        }
        kdma_forget(k, m);
        if (frames) {
            kmem_free_pages(&k->mem, pa, npages);
        }
    }
}

/* The device of a DMA call, or -1 after a report (unknown device, or no
 * IOMMU wired: the machine's mistake, stopped loudly). */
static int kdma_call_dev(Kernel *k, VcpuCall *c)
{
    int d = kdma_dev(k, c->arg[0]);

    if (d < 0 || !k->iommu) {
        vcpu_raise(c->cpu, "%s for a device sluice does not know [dev=0x%llx]",
                   vcpu_call_name(c), (unsigned long long)c->arg[0]);
        return -1;
    }
    return d;
}

/* BUG_ON(!valid_dma_direction(dir)) */
static bool kdma_dir_ok(VcpuCall *c, uint64_t dir)
{
    if (dir > DMA_DBG_FROM_DEVICE) {
        vcpu_raise(c->cpu, "kernel BUG: %s with invalid DMA direction %llu", vcpu_call_name(c),
                   (unsigned long long)dir);
        return false;
    }
    return true;
}

static unsigned kdma_perms(uint64_t dir)
{
    switch (dir) {
    case DMA_DBG_TO_DEVICE:
        return IOMMU_PERM_READ;
    case DMA_DBG_FROM_DEVICE:
        return IOMMU_PERM_WRITE;
    default:
        return IOMMU_PERM_READ | IOMMU_PERM_WRITE;
    }
}

/* dma_get_mask(): *dev->dma_mask, or 32 bits when there is none. */
static uint64_t kdma_mask(Kernel *k, uint64_t dev)
{
    uint64_t p = kernel_field_read(k, dev, "device", "dma_mask");
    uint64_t mask = p ? kernel_read_u64(k, p) : 0;

    return mask ? mask : KDMA_BIT_MASK_32;
}

/* Guest-physical address of a kernel virtual address: the direct map, or
 * an alias the kernel mapped (stack, module image). */
static bool kdma_va_to_pa(Kernel *k, uint64_t va, uint64_t *pa)
{
    if (va >= KMEM_PAGE_OFFSET && va - KMEM_PAGE_OFFSET < k->mem.ram_size) {
        *pa = va - KMEM_PAGE_OFFSET;
        return true;
    }
    for (unsigned i = 0; i < k->mem.nregions; i++) {
        const KMemRegion *r = &k->mem.regions[i];

        if (va >= r->va && va - r->va < r->len) {
            *pa = r->pa + (va - r->va);
            return true;
        }
    }
    return false;
}

/* Resolves a struct page pointer plus offset: the physical address and
 * the virtual address the driver meant (page_address() + offset, computed
 * as the driver's inline code would, so virt_to_page() of a stack or
 * module address comes back to that address). */
static bool kdma_page(Kernel *k, uint64_t page, uint64_t off, uint64_t *pa, uint64_t *va)
{
    uint64_t frame;

    if (kvmemmap_page_to_pa(k, page, &frame) == 0) {
        *pa = frame + off;
        *va = KMEM_PAGE_OFFSET + frame + off;
        return *pa >= frame;
    }
    *va = kvmemmap_page_address(k, page) + off;
    return kdma_va_to_pa(k, *va, pa);
}

/* Whether guest-physical [pa, pa+len) touches the kernel stack's frames. */
static bool kdma_on_stack(Kernel *k, uint64_t pa, uint64_t len)
{
    for (unsigned i = 0; i < k->mem.nregions; i++) {
        const KMemRegion *r = &k->mem.regions[i];

        if (r->va + r->len == k->stack_top && pa < r->pa + r->len && pa + len > r->pa) {
            return true;
        }
    }
    return false;
}

/* A streaming map of [pa, pa+len) for dma_map_page_attrs or one sg entry:
 * 0 with *out filled, or an error (nothing changed). */
static int kdma_map_streaming(Kernel *k, int d, uint64_t dev, uint64_t pa, uint64_t len,
                              uint64_t dir, uint8_t type, int32_t nents, KDmaMap *out)
{
    KDmaMap m = {.type = type, .dir = (uint8_t)dir, .pool = -1, .len = len, .sg_nents = nents};

    if (len == 0 || pa > k->mem.ram_size || len > k->mem.ram_size - pa) {
        return -EINVAL;
    }
    if (kdma_map(k, d, pa, len, kdma_mask(k, dev), kdma_perms(dir), &m)) {
        return -ENOSPC;
    }
    *out = m;
    return 0;
}

static void kdma_debug_map(Kernel *k, const KDmaMap *m, uint64_t va, uint64_t site)
{
    DmaDbgMap dm = {
        .rid = kdma_rid(k, m->dev), .type = m->type, .dir = m->dir, .iova = m->handle,
        .len = m->len, .cpu_addr = va, .pa = m->pa, .sg_nents = m->sg_nents, .site = site,
    };

    dma_debug_map(kdma_debug(k), &dm, kdma_on_stack(k, m->pa, m->len));
}

static void kdma_debug_unmap(Kernel *k, int d, uint8_t type, uint64_t dir, uint64_t iova,
                             uint64_t len, uint64_t cpu_addr, int32_t nents)
{
    DmaDbgMap dm = {
        .rid = kdma_rid(k, d), .type = type, .dir = (uint8_t)dir, .iova = iova, .len = len,
        .cpu_addr = cpu_addr, .sg_nents = nents, .site = vcpu_current_rip(k->cpu),
    };

    dma_debug_unmap(kdma_debug(k), &dm);
}

/* dma_alloc_attrs(dev, size, &dma_handle, gfp, attrs) */
static uint64_t kapi_dma_alloc_attrs(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int d = kdma_call_dev(k, c);
    uint64_t size = c->arg[1];
    uint64_t len = (size + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);
    uint64_t mask, pa;
    KDmaMap m = {.type = DMA_DBG_TYPE_COHERENT, .dir = DMA_DBG_BIDIRECTIONAL, .pool = -1,
                 .len = size};

    if (d < 0 || size == 0 || len < size) {
        return 0;
    }
    mask = kernel_field_read(k, c->arg[0], "device", "coherent_dma_mask");
    if (!mask) {
        return 0;                /* Linux WARNs and fails: no coherent mask */
    }
    pa = kmem_alloc_pages(&k->mem, len / KMEM_PAGE_SIZE);
    if (pa == UINT64_MAX) {
        return 0;
    }
    m.va = KMEM_PAGE_OFFSET + pa;
    if (kdma_map(k, d, pa, len, mask, IOMMU_PERM_READ | IOMMU_PERM_WRITE, &m) != 0) {
        kmem_free_pages(&k->mem, pa, len / KMEM_PAGE_SIZE);
        return 0;                /* e.g. the pin bound: NULL, like Linux */
    }
    m.len = size;
    kdma_debug_map(k, &m, m.va, vcpu_current_rip(k->cpu));
    kernel_write_u64(k, c->arg[2], m.handle);
    return m.va;
}

/* dma_free_attrs(dev, size, cpu_addr, dma_handle, attrs) */
static uint64_t kapi_dma_free_attrs(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int d = kdma_call_dev(k, c);
    KDmaMap *m;

    if (d < 0 || !c->arg[2]) {
        return 0;                /* freeing NULL is a no-op in Linux */
    }
    kdma_debug_unmap(k, d, DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL, c->arg[3], c->arg[1],
                     c->arg[2], 0);
    m = kdma_table_find(&k->dma, d, c->arg[3]);
    if (m && m->pool < 0) {
        kdma_release(k, m);
    }
    return 0;
}

/* dma_map_page_attrs(dev, page, offset, size, dir, attrs) */
static uint64_t kapi_dma_map_page_attrs(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int d = kdma_call_dev(k, c);
    uint64_t pa, va, site = vcpu_current_rip(k->cpu);
    KDmaMap m;

    if (d < 0 || !kdma_dir_ok(c, c->arg[4])) {
        return KDMA_MAPPING_ERROR;
    }
    if (!kdma_page(k, c->arg[1], c->arg[2], &pa, &va)) {
        vcpu_raise(c->cpu, "dma_map_page_attrs of a page that is not guest memory [page=0x%llx] [offset=0x%llx]",
                   (unsigned long long)c->arg[1], (unsigned long long)c->arg[2]);
        return KDMA_MAPPING_ERROR;
    }
    if (kdma_map_streaming(k, d, c->arg[0], pa, c->arg[3], c->arg[4], DMA_DBG_TYPE_SINGLE, 0,
                           &m) != 0) {
        return KDMA_MAPPING_ERROR;
    }
    kdma_debug_map(k, &m, va, site);
    if (kdma_site_checked(k, c->return_address)) {
        dma_debug_mapping_error(kdma_debug(k), kdma_rid(k, d), m.handle);
    }
    kdma_watch_set(k, d, m.handle, true);
    return m.handle;
}

/* dma_unmap_page_attrs(dev, addr, size, dir, attrs) */
static uint64_t kapi_dma_unmap_page_attrs(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int d = kdma_call_dev(k, c);
    KDmaMap *m;

    if (d < 0 || !kdma_dir_ok(c, c->arg[3])) {
        return 0;
    }
    kdma_debug_unmap(k, d, DMA_DBG_TYPE_SINGLE, c->arg[3], c->arg[1], c->arg[2], 0, 0);
    m = kdma_table_find(&k->dma, d, c->arg[1]);
    if (m && m->type != DMA_DBG_TYPE_COHERENT) {
        kdma_release(k, m);
    }
    return 0;
}

/* Layout of struct scatterlist, from BTF. */
typedef struct KDmaSgLayout {
    long size, page_link, offset, length, dma_address, dma_length;
} KDmaSgLayout;

static bool kdma_sg_layout(Kernel *k, KDmaSgLayout *l)
{
    l->size = kernel_sizeof(k, "scatterlist");
    l->page_link = kernel_offsetof(k, "scatterlist", "page_link");
    l->offset = kernel_offsetof(k, "scatterlist", "offset");
    l->length = kernel_offsetof(k, "scatterlist", "length");
    l->dma_address = kernel_offsetof(k, "scatterlist", "dma_address");
    l->dma_length = kernel_offsetof(k, "scatterlist", "dma_length");
    return l->size > 0 && l->page_link >= 0 && l->offset >= 0 && l->length >= 0 &&
           l->dma_address >= 0 && l->dma_length >= 0;
}

/* sg_next(): the entry after sg (following a chain link), or 0 at the end. */
static uint64_t kdma_sg_next(Kernel *k, const KDmaSgLayout *l, uint64_t sg)
{
    uint64_t link = kernel_read_u64(k, sg + (uint64_t)l->page_link);

    if (link & KDMA_SG_END) {
        return 0;
    }
    sg += (uint64_t)l->size;
    link = kernel_read_u64(k, sg + (uint64_t)l->page_link);
    if (link & KDMA_SG_CHAIN) {
        sg = link & ~(KDMA_SG_CHAIN | KDMA_SG_END);
    }
    return sg;
}

/* Undoes the first n entries a failed dma_map_sg_attrs mapped. */
static void kdma_sg_undo(Kernel *k, int d, const KDmaSgLayout *l, uint64_t sg, int n)
{
    for (int i = 0; i < n && sg; i++, sg = kdma_sg_next(k, l, sg)) {
        KDmaMap *m = kdma_table_find(&k->dma, d, kernel_read_u64(k, sg + (uint64_t)l->dma_address));

        if (m) {                 /* never handed out: no quarantine */
            iommu_unmap_range(k->iommu, kdma_rid(k, d), m->iova, m->npages * KMEM_PAGE_SIZE);
            kdma_forget(k, m);
        }
    }
}

/* Maps entry sg; 0 and the map, or an error. */
static int kdma_sg_map_one(Kernel *k, VcpuCall *c, int d, const KDmaSgLayout *l, uint64_t sg,
                           KDmaMap *m, uint64_t *va)
{
    uint64_t page = kernel_read_u64(k, sg + (uint64_t)l->page_link) & ~(KDMA_SG_CHAIN | KDMA_SG_END);
    uint64_t off = kernel_read_u32(k, sg + (uint64_t)l->offset);
    uint64_t len = kernel_read_u32(k, sg + (uint64_t)l->length);
    uint64_t pa;

    if (!kdma_page(k, page, off, &pa, va)) {
        vcpu_raise(c->cpu, "dma_map_sg_attrs: an entry's page is not guest memory [sg=0x%llx] [page=0x%llx]",
                   (unsigned long long)sg, (unsigned long long)page);
        return -EFAULT;
    }
    return kdma_map_streaming(k, d, c->arg[0], pa, len, c->arg[3], DMA_DBG_TYPE_SG,
                              (int32_t)c->arg[2], m);
}

/* dma_map_sg_attrs(dev, sg, nents, dir, attrs): one IOVA range per entry
 * (no merging), so the count returned is nents; 0 on failure with every
 * entry already mapped undone. */
static uint64_t kapi_dma_map_sg_attrs(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int d = kdma_call_dev(k, c), nents = (int)c->arg[2], i;
    uint64_t sg = c->arg[1], site = vcpu_current_rip(k->cpu);
    KDmaSgLayout l;

    if (d < 0 || !kdma_dir_ok(c, c->arg[3]) || !kdma_sg_layout(k, &l)) {
        return 0;
    }
    if (nents <= 0 || nents > KDMA_SG_MAX_WALK) {
        return 0;
    }
    for (i = 0; i < nents; i++, sg = kdma_sg_next(k, &l, sg)) {
        KDmaMap m;
        uint64_t va;

        if (!sg) {
            vcpu_raise(c->cpu, "dma_map_sg_attrs: the list ends after %d of %d entries", i, nents);
            kdma_sg_undo(k, d, &l, c->arg[1], i);
            return 0;
        }
        if (kdma_sg_map_one(k, c, d, &l, sg, &m, &va) != 0) {
            kdma_sg_undo(k, d, &l, c->arg[1], i);
            return 0;
        }
        kernel_write_u64(k, sg + (uint64_t)l.dma_address, m.handle);
        kernel_write_u32(k, sg + (uint64_t)l.dma_length, (uint32_t)m.len);
    }
    for (i = 0, sg = c->arg[1]; i < nents; i++, sg = kdma_sg_next(k, &l, sg)) {
        KDmaMap *m = kdma_table_find(&k->dma, d, kernel_read_u64(k, sg + (uint64_t)l.dma_address));
        uint64_t pa, va;

        kdma_page(k, kernel_read_u64(k, sg + (uint64_t)l.page_link) & ~(KDMA_SG_CHAIN | KDMA_SG_END),
                  kernel_read_u32(k, sg + (uint64_t)l.offset), &pa, &va);
        if (m) {
            kdma_debug_map(k, m, va, site);
            kdma_watch_set(k, d, m->handle, true);
        }
    }
    return (uint64_t)nents;
}

/* dma_unmap_sg_attrs(dev, sg, nents, dir, attrs): like debug.c, walks
 * min(nents, entries mapped) entries, each checked and unmapped. */
static uint64_t kapi_dma_unmap_sg_attrs(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int d = kdma_call_dev(k, c), nents = (int)c->arg[2], mapped = nents;
    uint64_t sg = c->arg[1];
    KDmaSgLayout l;

    if (d < 0 || !kdma_dir_ok(c, c->arg[3]) || !kdma_sg_layout(k, &l)) {
        return 0;
    }
    for (int i = 0; i < nents && i < mapped && sg && i < KDMA_SG_MAX_WALK;
         i++, sg = kdma_sg_next(k, &l, sg)) {
        uint64_t addr = kernel_read_u64(k, sg + (uint64_t)l.dma_address);
        uint64_t len = kernel_read_u32(k, sg + (uint64_t)l.dma_length);
        KDmaMap *m = kdma_table_find(&k->dma, d, addr);

        if (i == 0 && m && m->type == DMA_DBG_TYPE_SG) {
            mapped = m->sg_nents;
        }
        kdma_debug_unmap(k, d, DMA_DBG_TYPE_SG, c->arg[3], addr, len, 0, nents);
        if (m && m->type != DMA_DBG_TYPE_COHERENT) {
            kdma_release(k, m);
        }
    }
    return 0;
}

/* dma_sync_single_for_{cpu,device}(dev, addr, size, dir): x86 is cache
 * coherent, so a sync is ownership bookkeeping and the checks. */
static uint64_t kdma_sync(Kernel *k, VcpuCall *c, bool for_cpu)
{
    int d = kdma_call_dev(k, c);

    if (d < 0 || !kdma_dir_ok(c, c->arg[3])) {
        return 0;
    }
    dma_debug_sync(kdma_debug(k), kdma_rid(k, d), c->arg[1], c->arg[2], (uint8_t)c->arg[3],
                   for_cpu, vcpu_current_rip(k->cpu));
    kdma_watch_set(k, d, c->arg[1], !for_cpu);
    return 0;
}

static uint64_t kapi_dma_sync_single_for_cpu(void *opaque, VcpuCall *c)
{
    return kdma_sync(opaque, c, true);
}

static uint64_t kapi_dma_sync_single_for_device(void *opaque, VcpuCall *c)
{
    return kdma_sync(opaque, c, false);
}

/*
 * dma_set_mask(dev, mask) / dma_set_coherent_mask(dev, mask).  Linux asks
 * dma_supported(); with dma-iommu's ops that accepts any mask, but a mask
 * that cannot reach the lowest memory the kernel could hand out fails
 * dma-direct's test (mask >= DMA_BIT_MASK(24), x86's ZONE_DMA) -- and such
 * a mask leaves the IOVA allocator nearly nothing -- so, as for a device
 * without an IOMMU, a mask below 24 bits is -EIO and changes nothing.
 */
static uint64_t kapi_dma_set_mask(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t p;

    if (kdma_call_dev(k, c) < 0) {
        return (uint64_t)-EIO;
    }
    p = kernel_field_read(k, c->arg[0], "device", "dma_mask");
    if (!p || c->arg[1] < KDMA_BIT_MASK_24) {
        return (uint64_t)-EIO;
    }
    kernel_write_u64(k, p, c->arg[1]);
    return 0;
}

static uint64_t kapi_dma_set_coherent_mask(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    if (kdma_call_dev(k, c) < 0 || c->arg[1] < KDMA_BIT_MASK_24) {
        return (uint64_t)-EIO;
    }
    kernel_field_write(k, c->arg[0], "device", "coherent_dma_mask", c->arg[1]);
    return 0;
}

int kernel_dma_reports_json(Kernel *k, FILE *out)
{
    char line[2048];

    for (unsigned i = 0; i < k->dma.nreports; i++) {
        const KDmaReport *r = &k->dma.reports[i];

        if (dma_debug_format_json(&r->r, r->driver, r->device, line, sizeof(line)) < 0 ||
            fprintf(out, "%s\n", line) < 0) {
            return -EIO;
        }
    }
    return 0;
}

int kapi_dma_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"dma_alloc_attrs", kapi_dma_alloc_attrs},
        {"dma_free_attrs", kapi_dma_free_attrs},
        {"dma_map_page_attrs", kapi_dma_map_page_attrs},
        {"dma_unmap_page_attrs", kapi_dma_unmap_page_attrs},
        {"dma_map_sg_attrs", kapi_dma_map_sg_attrs},
        {"dma_unmap_sg_attrs", kapi_dma_unmap_sg_attrs},
        {"dma_sync_single_for_cpu", kapi_dma_sync_single_for_cpu},
        {"dma_sync_single_for_device", kapi_dma_sync_single_for_device},
        {"dma_set_mask", kapi_dma_set_mask},
        {"dma_set_coherent_mask", kapi_dma_set_coherent_mask},
    };

    dma_debug_init(&k->dma.debug, kdma_sink, k);
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return kdma_pool_register(k, e);
}
