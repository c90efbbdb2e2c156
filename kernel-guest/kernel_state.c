/*
 * kernel-guest/kernel_state.c: the emulated kernel's bookkeeping as one
 * blob, for checkpoints (and later fuzzing resets and reverse debugging).
 *
 * What is saved: every state field of struct Kernel (plain data by
 * design: indices, guest addresses, counters), the memory allocator's
 * page map, live allocations and areas, and the paths of the loaded
 * modules.  What is not: guest RAM (the caller saves it page by page),
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
#define KSTATE_VERSION 1u

/* The state part of struct Kernel: from phase to the end. */
#define KSTATE_FIRST offsetof(Kernel, phase)
#define KSTATE_BYTES (sizeof(Kernel) - KSTATE_FIRST)

typedef struct KStateHeader {
    uint32_t magic, version;
    uint64_t kernel_bytes;       /* sizeof(Kernel): same build only */
    uint64_t ram_size, npages, nallocs;
    uint32_t nregions, nmodules;
    uint64_t vmalloc_next, modules_next, heap_pa, heap_size, live_bytes;
} KStateHeader;

size_t kernel_state_size(const Kernel *k)
{
    return sizeof(KStateHeader) + KSTATE_BYTES + k->mem.npages +
           (size_t)k->mem.nallocs * sizeof(KMemAlloc) +
           (size_t)k->mem.nregions * sizeof(KMemRegion) + KERNEL_MAX_MODULES * 4096u;
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
        .heap_pa = k->mem.heap_pa, .heap_size = k->mem.heap_size,
        .live_bytes = k->mem.live_bytes,
    };
    uint8_t *p = buf;

    if (cap < kernel_state_size(k)) {
        return -ENOSPC;
    }
    kstate_put(&p, &h, sizeof(h));
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
    kstate_put(&p, k->mem.page_used, k->mem.npages);
    kstate_put(&p, k->mem.allocs, (size_t)k->mem.nallocs * sizeof(KMemAlloc));
    kstate_put(&p, k->mem.regions, (size_t)k->mem.nregions * sizeof(KMemRegion));
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
        h.nmodules != KERNEL_MAX_MODULES) {
        return sl_error(e, -EINVAL, "kernel state: saved by another build or RAM size "
                        "[state kernel=%llu ram=%llu] [this kernel=%zu ram=%llu]",
                        (unsigned long long)h.kernel_bytes, (unsigned long long)h.ram_size,
                        sizeof(Kernel), (unsigned long long)k->mem.ram_size);
    }
    need = sizeof(h) + KSTATE_BYTES + h.npages + h.nallocs * sizeof(KMemAlloc) +
           h.nregions * sizeof(KMemRegion) + KERNEL_MAX_MODULES * 4096u;
    if (len < need) {
        return sl_error(e, -EINVAL, "kernel state: truncated [bytes=%zu] [expected=%zu]", len, need);
    }
    p += sizeof(h) + KSTATE_BYTES + h.npages + h.nallocs * sizeof(KMemAlloc) +
         h.nregions * sizeof(KMemRegion);
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
    /* Nothing can fail from here on. */
    p = (const uint8_t *)buf + sizeof(h);
    memcpy((uint8_t *)k + KSTATE_FIRST, p, KSTATE_BYTES);
    p += KSTATE_BYTES;
    memcpy(k->mem.page_used, p, h.npages);
    p += h.npages;
    memcpy(k->mem.allocs, p, h.nallocs * sizeof(KMemAlloc));
    p += h.nallocs * sizeof(KMemAlloc);
    memcpy(k->mem.regions, p, h.nregions * sizeof(KMemRegion));
    k->mem.nallocs = (unsigned)h.nallocs;
    k->mem.nregions = h.nregions;
    k->mem.vmalloc_next = h.vmalloc_next;
    k->mem.modules_next = h.modules_next;
    k->mem.heap_pa = h.heap_pa;
    k->mem.heap_size = h.heap_size;
    k->mem.live_bytes = h.live_bytes;
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
