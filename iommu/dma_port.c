/*
 * iommu/dma_port.c: device accesses to guest memory (see dma_port.h).
 *
 * An access is checked whole before a byte moves: every page is translated
 * first, then the copy runs.  On real PCIe a write that faults on its second
 * page may already have landed its first; the model chooses all-or-nothing
 * so that a device model's error path never has to reason about half a
 * descriptor.  Only one fault is recorded per access: the first page that
 * failed, or -- if the access completed -- the first page it completed on
 * only through a stale IOTLB entry.
 *
 * A write that moved bytes is then reported to the write hook (iommu.h), one
 * call per physically contiguous piece.  With no hook the cost is one NULL
 * test after the copy: the hit path stays a translation and a memcpy.
 */
#include "iommu/dma_port.h"
#include "iommu/iommu_internal.h"

#include <stdlib.h>
#include <string.h>

/* Pages translated on the stack; longer accesses use the heap. */
#define DMA_PORT_STACK_PAGES 16

void dma_port_init(DmaPort *port, Iommu *iommu, uint16_t rid, DmaPortMode mode)
{
    port->iommu = iommu;
    port->rid = rid;
    port->mode = mode;
}

static int dma_port_fail(Iommu *mmu, uint16_t rid, uint64_t iova, uint64_t len,
                         IommuDir dir, IommuReason why)
{
    iommu_fault_record(mmu, rid, iova, len, dir, why);
    return why == IOMMU_REASON_PERMISSION ? -EACCES : -EFAULT;
}

void iommu_set_write_hook(Iommu *mmu, IommuWriteHook fn, void *opaque)
{
    mmu->write_hook = fn;
    mmu->write_hook_opaque = opaque;
}

/* --iommu off: IOVA is guest physical, bounded by RAM. */
static int dma_port_off(DmaPort *port, uint64_t iova, void *buf, size_t len, IommuDir dir)
{
    Iommu *mmu = port->iommu;

    if (iova >= mmu->ram_size || len > mmu->ram_size - iova) {
        return dma_port_fail(mmu, port->rid, iova < mmu->ram_size ? mmu->ram_size : iova,
                             len - (iova < mmu->ram_size ? mmu->ram_size - iova : 0), dir,
                             IOMMU_REASON_OUT_OF_RANGE);
    }
    if (dir == IOMMU_DIR_WRITE) {
        memcpy(mmu->ram + iova, buf, len);
        if (mmu->write_hook) {
            mmu->write_hook(mmu->write_hook_opaque, iova, len);
        }
    } else {
        memcpy(buf, mmu->ram + iova, len);
    }
    return 0;
}

static void dma_port_copy(Iommu *mmu, uint64_t phys, uint8_t *buf, size_t n, IommuDir dir)
{
    if (dir == IOMMU_DIR_WRITE) {
        memcpy(mmu->ram + phys, buf, n);
    } else {
        memcpy(buf, mmu->ram + phys, n);
    }
}

/* Reports a completed multi-page write of len bytes whose pages were
 * translated to phys[0..npages): adjacent frames are merged into one piece. */
static void dma_port_report_write(Iommu *mmu, const uint64_t *phys, size_t npages, size_t len)
{
    uint64_t start = 0, end = 0; /* the piece so far; empty before page 0 */
    size_t i, n, done;

    for (i = 0, done = 0; i < npages; i++, done += n) {
        n = IOMMU_PAGE_SIZE - (phys[i] & (IOMMU_PAGE_SIZE - 1));
        n = n < len - done ? n : len - done;
        if (phys[i] != end) {
            if (end != start) {
                mmu->write_hook(mmu->write_hook_opaque, start, end - start);
            }
            start = phys[i];
        }
        end = phys[i] + n;
    }
    mmu->write_hook(mmu->write_hook_opaque, start, end - start);
}

/* The common case, an access within one page: no translation array. */
static int dma_port_one_page(DmaPort *port, uint64_t iova, uint8_t *buf, size_t len,
                             IommuDir dir)
{
    Iommu *mmu = port->iommu;
    uint64_t phys;
    IommuReason why = iommu_translate_page(mmu, port->rid, iova, dir, &phys);

    if (why != IOMMU_REASON_NONE && why != IOMMU_REASON_STALE_IOTLB) {
        return dma_port_fail(mmu, port->rid, iova, len, dir, why);
    }
    dma_port_copy(mmu, phys, buf, len, dir);
    if (dir == IOMMU_DIR_WRITE && mmu->write_hook) {
        mmu->write_hook(mmu->write_hook_opaque, phys, len);
    }
    if (why == IOMMU_REASON_STALE_IOTLB) {
        iommu_fault_record(mmu, port->rid, iova, len, dir, why);
    }
    return 0;
}

static int dma_port_access(DmaPort *port, uint64_t iova, uint8_t *buf, size_t len,
                           IommuDir dir)
{
    Iommu *mmu = port->iommu;
    uint64_t stack[DMA_PORT_STACK_PAGES], *phys = stack;
    uint64_t a, stale_at = 0, end;
    size_t npages, i, n, done;
    IommuReason why;
    bool stale = false;
    int rc = 0;

    if (len == 0) {
        return 0;
    }
    if (port->mode == DMA_PORT_OFF) {
        return dma_port_off(port, iova, buf, len, dir);
    }
    if (iova >= IOMMU_IOVA_LIMIT || len > IOMMU_IOVA_LIMIT - iova) {
        end = iova < IOMMU_IOVA_LIMIT ? IOMMU_IOVA_LIMIT : iova;
        return dma_port_fail(mmu, port->rid, end, len - (end - iova), dir,
                             IOMMU_REASON_OUT_OF_RANGE);
    }
    if ((iova & (IOMMU_PAGE_SIZE - 1)) + len <= IOMMU_PAGE_SIZE) {
        return dma_port_one_page(port, iova, buf, len, dir);
    }
    npages = (size_t)((((iova + len - 1) >> IOMMU_PAGE_SHIFT) - (iova >> IOMMU_PAGE_SHIFT)) + 1);
    if (npages > DMA_PORT_STACK_PAGES) {
        phys = malloc(npages * sizeof(*phys));
        if (!phys) {
            /* Host out of memory is not the guest's fault; nothing moved. */
            return -ENOMEM;
        }
    }
    for (i = 0, a = iova; i < npages; i++, a = (a | (IOMMU_PAGE_SIZE - 1)) + 1) {
        why = iommu_translate_page(mmu, port->rid, a, dir, &phys[i]);
        if (why == IOMMU_REASON_STALE_IOTLB && !stale) {
            stale = true;
            stale_at = a;
        } else if (why != IOMMU_REASON_NONE && why != IOMMU_REASON_STALE_IOTLB) {
            rc = dma_port_fail(mmu, port->rid, a, len - (a - iova), dir, why);
            goto out;
        }
    }
    for (i = 0, done = 0; i < npages; i++, done += n) {
        n = IOMMU_PAGE_SIZE - (phys[i] & (IOMMU_PAGE_SIZE - 1));
        n = n < len - done ? n : len - done;
        dma_port_copy(mmu, phys[i], buf + done, n, dir);
    }
    if (dir == IOMMU_DIR_WRITE && mmu->write_hook) {
        dma_port_report_write(mmu, phys, npages, len);
    }
    if (stale) {
        iommu_fault_record(mmu, port->rid, stale_at, len - (stale_at - iova), dir,
                           IOMMU_REASON_STALE_IOTLB);
    }
out:
    if (phys != stack) {
        free(phys);
    }
    return rc;
}

int dma_read(DmaPort *port, uint64_t iova, void *buf, size_t len)
{
    return dma_port_access(port, iova, buf, len, IOMMU_DIR_READ);
}

int dma_write(DmaPort *port, uint64_t iova, const void *buf, size_t len)
{
    /* dma_port_access only reads buf when dir is WRITE. */
    return dma_port_access(port, iova, (uint8_t *)(uintptr_t)buf, len, IOMMU_DIR_WRITE);
}
