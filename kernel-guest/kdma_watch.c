/*
 * kernel-guest/kdma_watch.c: the CPU writing a streaming DMA buffer while
 * the device owns it (between map or sync_for_device and unmap or
 * sync_for_cpu) -- a check Linux's dma-debug cannot make, because it does
 * not see the CPU's stores.  sluice does: each device-owned buffer gets a
 * vCPU write watch on its direct-map range, and a store there is told to
 * the checker with the storing instruction.
 *
 * Only the direct-map alias is watched; a driver writing the same frames
 * through another alias (its module image) is not seen.  Each live watch
 * costs every guest store ~3 ns (translator/watch.c), so only device-owned
 * buffers are watched, and only while they are.
 */
#include "kernel-guest/kernel_internal.h"

static void kdma_watch_hit(void *opaque, uint64_t va, unsigned size, uint64_t value,
                           uint64_t rip)
{
    Kernel *k = opaque;

    dma_debug_cpu_write(kdma_debug(k), va - KMEM_PAGE_OFFSET, size, rip);
}

void kdma_watch_drop(Kernel *k, KDmaMap *m)
{
    if (m->watch) {
        vcpu_unwatch_writes(k->cpu, m->watch);
        m->watch = 0;
    }
}

void kdma_watch_set(Kernel *k, int d, uint64_t addr, bool device_owned)
{
    for (unsigned i = 0; i < k->dma.nmaps; i++) {
        KDmaMap *m = &k->dma.maps[i];
        unsigned handle = 0;

        if (m->dev != d || m->state != KDMA_STATE_LIVE || m->type == DMA_DBG_TYPE_COHERENT ||
            addr < m->handle || addr - m->handle >= m->len) {
            continue;
        }
        if (!device_owned) {
            kdma_watch_drop(k, m);
        } else if (!m->watch &&
                   vcpu_watch_writes(k->cpu, KMEM_PAGE_OFFSET + m->pa, m->len, kdma_watch_hit, k,
                                     &handle) == 0) {
            m->watch = handle;   /* out of watches: the check is skipped */
        }
        return;
    }
}
