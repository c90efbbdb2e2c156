/*
 * iommu/dma_port.h: how a device model reaches guest memory.
 *
 * Every guest-memory access of a device goes through its DmaPort, which
 * carries the device's PCI requester id.  A device never sees the IOMMU's
 * tables or guest RAM directly, only 0 or a negative code; when the code is
 * negative the IOMMU has already recorded why (a fault record), and the
 * device turns it into a guest-visible status (master abort, error bit).
 *
 * An access is translated page by page and checked whole before any byte
 * moves: it either completes or copies nothing.  (A stale-IOTLB access in
 * lazy mode completes, as it would on hardware, and is recorded.)
 *
 * DMA_PORT_OFF models --iommu off: IOVA == guest physical, still
 * bounds-checked against guest RAM (IOMMU_REASON_OUT_OF_RANGE).
 *
 * The port is wiring (host pointers): the machine builds it and hands it to
 * the device; it is not part of any saved state.
 */
#ifndef IOMMU_DMA_PORT_H
#define IOMMU_DMA_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "iommu/iommu.h"

typedef enum DmaPortMode {
    DMA_PORT_TRANSLATED = 0, /* through the device's IOMMU domain */
    DMA_PORT_OFF,            /* identity, bounds-checked against RAM */
} DmaPortMode;

typedef struct DmaPort {
    Iommu *iommu;
    uint16_t rid;          /* bus << 8 | devfn */
    DmaPortMode mode;
} DmaPort;

#define DMA_PORT_RID(bus, devfn) ((uint16_t)(((bus) << 8) | ((devfn) & 0xff)))

void dma_port_init(DmaPort *port, Iommu *iommu, uint16_t rid, DmaPortMode mode);

/* The device reads len bytes of guest memory at iova into buf.  0, or
 * -EFAULT (not mapped, no domain, out of range) / -EACCES (permission). */
int dma_read(DmaPort *port, uint64_t iova, void *buf, size_t len);
/* The device writes len bytes from buf to guest memory at iova. */
int dma_write(DmaPort *port, uint64_t iova, const void *buf, size_t len);

#endif
