/*
 * kernel-guest/kernel_state.c: the emulated kernel's bookkeeping as one
 * blob, for checkpoints (and later fuzzing resets and reverse debugging).
 *
 * What is saved: every state field of struct Kernel (plain data by
 * design: indices, guest addresses, counters), the persistent store's
 * table (which page objects -- and so which frames -- are live, their
 * banks, counts, pins and dirty list), the memory allocator's live
 * allocations, arenas and areas, and the paths of the loaded modules.
 * What is not: guest RAM (the frames' bytes: a checkpoint writes them as
 * the store's objects),
 * wiring (vCPU, BTF, host callbacks, the IOMMU, which saves itself), and
 * what is rebuilt identically by booting the same kernel and loading the
 * same modules in the same order (served symbols, gateway slots, module
 * symbol tables).  A restore therefore goes into a kernel booted with the
 * same configuration that has loaded the same modules -- and not run them.
 *
 * Write watches on device-owned DMA buffers are vCPU wiring and are not
 * re-armed by a restore (the CPU-write check restarts with the next sync).
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define KSTATE_MAGIC 0x534b4c53u      /* "SLKS" */
#define KSTATE_VERSION 2u

/* The state part of struct Kernel: from phase to the end. */
#define KSTATE_FIRST offsetof(Kernel, phase)
#define KSTATE_BYTES (sizeof(Kernel) - KSTATE_FIRST)

typedef struct KStateHeader {
    uint32_t magic, version;
    uint64_t kernel_bytes;       /* sizeof(Kernel): same build only */
    uint64_t ram_size, npages, nallocs;
    uint32_t nregions, nmodules;
    uint64_t vmalloc_next, modules_next, live_bytes, reclaimed_bytes;
    uint64_t store_bytes;
    uint32_t narenas, reclaimed_objects;
    int32_t bank_now, last_error;
} KStateHeader;

/* Everything after the header but the store's table. */
static size_t kstate_rest(uint64_t nallocs, uint32_t nregions, uint32_t narenas)
{
    return KSTATE_BYTES + nallocs * sizeof(KMemAlloc) + nregions * sizeof(KMemRegion) +
           narenas * sizeof(KMemArena) + KERNEL_MAX_MODULES * 4096u;
}

size_t kernel_state_size(const Kernel *k)
{
    return sizeof(KStateHeader) + pk_store_state_size(k->mem.store) +
           kstate_rest(k->mem.nallocs, k->mem.nregions, k->mem.narenas);
}

static void kstate_put(uint8_t **p, const void *src, size_t n)
{
    memcpy(*p, src, n);
    *p += n;
}

long kernel_state_save(const Kernel *k, void *buf, size_t cap)
{
    KStateHeader h = {
        .magic = KSTATE_MAGIC, .version = KSTATE_VERSION, .kernel_bytes = sizeof(Kernel),
        .ram_size = k->mem.ram_size, .npages = k->mem.npages, .nallocs = k->mem.nallocs,
        .nregions = k->mem.nregions, .nmodules = KERNEL_MAX_MODULES,
        .vmalloc_next = k->mem.vmalloc_next, .modules_next = k->mem.modules_next,
        .live_bytes = k->mem.live_bytes, .reclaimed_bytes = k->mem.reclaimed_bytes,
        .store_bytes = pk_store_state_size(k->mem.store), .narenas = k->mem.narenas,
        .reclaimed_objects = k->mem.reclaimed_objects, .bank_now = k->mem.bank_now,
        .last_error = k->mem.last_error,
    };
    uint8_t *p = buf;
    long n;

    if (cap < kernel_state_size(k)) {
        return -ENOSPC;
    }
    kstate_put(&p, &h, sizeof(h));
    n = pk_store_state_save(k->mem.store, p, h.store_bytes);
    if (n < 0) {
        return n;
    }
    p += h.store_bytes;
    {
        /* The state part, with the wiring it holds scrubbed: a blob says
         * the same for the same machine state, in any process. */
        Kernel *c = (Kernel *)(p - KSTATE_FIRST);

        kstate_put(&p, (const uint8_t *)k + KSTATE_FIRST, KSTATE_BYTES);
        c->iommu = NULL;
        memset(c->iomap_wires, 0, sizeof(c->iomap_wires));
        c->dma.debug.sink = NULL;
        c->dma.debug.opaque = NULL;
        for (unsigned i = 0; i < KDMA_MAX_MAPS; i++) {
            c->dma.maps[i].watch = 0;
        }
    }
    kstate_put(&p, k->mem.allocs, (size_t)k->mem.nallocs * sizeof(KMemAlloc));
    kstate_put(&p, k->mem.regions, (size_t)k->mem.nregions * sizeof(KMemRegion));
    kstate_put(&p, k->mem.arenas, (size_t)k->mem.narenas * sizeof(KMemArena));
    for (unsigned i = 0; i < KERNEL_MAX_MODULES; i++) {
        char path[4096] = "";

        if (k->modules[i]) {
            snprintf(path, sizeof(path), "%s", k->modules[i]->path);
        }
        kstate_put(&p, path, sizeof(path));
    }
    return (long)(p - (uint8_t *)buf);
}

int kernel_state_restore(Kernel *k, const void *buf, size_t len, SlError *e)
{
    const uint8_t *p = buf;
    KStateHeader h;
    Iommu *iommu = k->iommu;
    DmaDbgSink sink = k->dma.debug.sink;
    void *sink_opaque = k->dma.debug.opaque;
    KMemAlloc *allocs;
    size_t need;

    if (len < sizeof(h)) {
        return sl_error(e, -EINVAL, "kernel state: %zu bytes, expected a header of %zu", len,
                        sizeof(h));
    }
    memcpy(&h, p, sizeof(h));
    if (h.magic != KSTATE_MAGIC || h.version != KSTATE_VERSION) {
        return sl_error(e, -EINVAL, "kernel state: bad magic or version [magic=0x%08x] [version=%u]",
                        h.magic, h.version);
    }
    if (h.kernel_bytes != sizeof(Kernel) || h.ram_size != k->mem.ram_size ||
        h.npages != k->mem.npages || h.nregions > KMEM_MAX_REGIONS ||
        h.narenas > KMEM_MAX_ARENAS || h.nmodules != KERNEL_MAX_MODULES ||
        h.nallocs > UINT32_MAX || h.store_bytes > len) {
        return sl_error(e, -EINVAL, "kernel state: saved by another build or RAM size "
                        "[state kernel=%llu ram=%llu] [this kernel=%zu ram=%llu]",
                        (unsigned long long)h.kernel_bytes, (unsigned long long)h.ram_size,
                        sizeof(Kernel), (unsigned long long)k->mem.ram_size);
    }
    need = sizeof(h) + h.store_bytes + kstate_rest(h.nallocs, h.nregions, h.narenas);
    if (len < need) {
        return sl_error(e, -EINVAL, "kernel state: truncated [bytes=%zu] [expected=%zu]", len, need);
    }
    p += need - KERNEL_MAX_MODULES * 4096u;
    /* The same modules must be loaded, in the same slots. */
    for (unsigned i = 0; i < KERNEL_MAX_MODULES; i++, p += 4096) {
        const char *path = (const char *)p;

        if ((k->modules[i] ? strcmp(k->modules[i]->path, path) : path[0]) != 0) {
            return sl_error(e, -EINVAL, "kernel state: module slot %u held %s, this kernel has %s",
                            i, path[0] ? path : "nothing",
                            k->modules[i] ? k->modules[i]->path : "nothing");
        }
    }
    allocs = realloc(k->mem.allocs, (h.nallocs ? h.nallocs : 1) * sizeof(KMemAlloc));
    if (!allocs) {
        return sl_error(e, -ENOMEM, "kernel state: out of memory");
    }
    k->mem.allocs = allocs;
    k->mem.cap_allocs = (unsigned)(h.nallocs ? h.nallocs : 1);
    p = (const uint8_t *)buf + sizeof(h);
    /* The store checks its table and changes nothing if it is bad. */
    if (pk_store_state_restore(k->mem.store, p, h.store_bytes, e) != 0) {
        return -EINVAL;
    }
    /* Nothing can fail from here on. */
    p += h.store_bytes;
    memcpy((uint8_t *)k + KSTATE_FIRST, p, KSTATE_BYTES);
    p += KSTATE_BYTES;
    memcpy(k->mem.allocs, p, h.nallocs * sizeof(KMemAlloc));
    p += h.nallocs * sizeof(KMemAlloc);
    memcpy(k->mem.regions, p, h.nregions * sizeof(KMemRegion));
    p += h.nregions * sizeof(KMemRegion);
    memcpy(k->mem.arenas, p, h.narenas * sizeof(KMemArena));
    k->mem.nallocs = (unsigned)h.nallocs;
    k->mem.nregions = h.nregions;
    k->mem.narenas = h.narenas;
    k->mem.vmalloc_next = h.vmalloc_next;
    k->mem.modules_next = h.modules_next;
    k->mem.live_bytes = h.live_bytes;
    k->mem.reclaimed_bytes = h.reclaimed_bytes;
    k->mem.reclaimed_objects = h.reclaimed_objects;
    k->mem.bank_now = h.bank_now;
    k->mem.last_error = h.last_error;
    /* Wiring the blob carried but cannot be trusted: put back. */
    k->iommu = iommu;
    k->dma.debug.sink = sink;
    k->dma.debug.opaque = sink_opaque;
    for (unsigned i = 0; i < k->dma.nmaps; i++) {
        k->dma.maps[i].watch = 0;
    }
    for (unsigned i = 0; i < KERNEL_MAX_IOMAPS; i++) {
        k->iomap_wires[i] = (KIomapWire){.k = k, .idx = i};
    }
    return 0;
}

/* The MMIO mappings of live iomaps, made again in a vCPU that has none
 * (after a restore into a fresh kernel). */
int kernel_state_remap(Kernel *k, SlError *e)
{
    for (unsigned i = 0; i < k->niomaps; i++) {
        KIomap *m = &k->iomaps[i];
        int err;

        if (!m->len) {
            continue;
        }
        err = kio_remap(k, i, e);
        if (err) {
            return err;
        }
    }
    return 0;
}

unsigned kernel_dma_pinned_frames(Kernel *k, void (*fn)(void *opaque, const char *dev,
                                                        uint64_t iova, uint64_t pfn),
                                  void *opaque)
{
    unsigned n = 0;

    for (unsigned i = 0; i < k->dma.nmaps; i++) {
        const KDmaMap *m = &k->dma.maps[i];

        if (m->state != KDMA_STATE_LIVE) {
            continue;
        }
        for (uint64_t p = 0; p < m->npages; p++) {
            fn(opaque, k->pci_devices[m->dev].name, m->iova + p * KMEM_PAGE_SIZE,
               (m->pa >> 12) + p);
            n++;
        }
    }
    return n;
}
