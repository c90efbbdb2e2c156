/*
 * kernel-guest/kdma.h: the DMA API's state (kapi_dma.c and its helpers
 * kdma_iova.c, kdma_pool.c, kdma_check.c) -- one KDma in the Kernel.
 *
 * Every DMA mapping the kernel made for a driver -- coherent buffers, pool
 * pages, streaming single/page and scatter-gather entries -- is one KDmaMap
 * in one table sorted by (device, IOVA).  That table is also the IOVA
 * allocator's picture of each device's IOVA space: an IOVA page is free
 * when no entry (live, or quarantined while a lazy IOMMU may still hold a
 * stale IOTLB entry for it) covers it.
 *
 * Plain data throughout (indices, guest addresses, fixed arrays), so the
 * machine can save and restore it with the rest of the kernel; the only
 * host pointers are the DmaDebug sink wiring.
 */
#ifndef KERNEL_GUEST_KDMA_H
#define KERNEL_GUEST_KDMA_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "kernel-guest/dma_debug.h"

typedef struct Kernel Kernel;

#define KDMA_MAX_MAPS 4096
#define KDMA_MAX_POOLS 32
#define KDMA_MAX_POOL_PAGES 256
#define KDMA_POOL_MAX_BLOCKS 1024    /* a page of 4-byte blocks */
#define KDMA_MAX_SITES 256
#define KDMA_MAX_REPORTS 256
#define KDMA_QUARANTINE_MAX 64
#define KDMA_MAPPING_ERROR UINT64_MAX   /* DMA_MAPPING_ERROR, (dma_addr_t)~0 */

typedef enum KDmaState {
    KDMA_STATE_FREE = 0,
    KDMA_STATE_LIVE,
    KDMA_STATE_QUARANTINED,      /* unmapped in lazy mode: IOVA held back */
} KDmaState;

/* One mapping the kernel made (or an IOVA range held back after one). */
typedef struct KDmaMap {
    uint8_t dev;                 /* index into Kernel.pci_devices */
    uint8_t state;               /* KDmaState */
    uint8_t type;                /* DmaDbgType */
    uint8_t dir;                 /* DmaDbgDir */
    uint8_t owns_frames;         /* quarantined coherent: frames freed at reap */
    uint8_t charged;             /* its IOMMU entries are charged to bank */
    int16_t pool;                /* pool page: index into KDma.pools, else -1 */
    int32_t bank;                /* (laid out without padding: saved whole) */
    int32_t sg_nents;            /* sg: the nents the driver passed to map_sg */
    uint64_t iova;               /* first IOVA page */
    uint64_t npages;             /* IOVA pages covered (mapped while live) */
    uint64_t handle;             /* device address handed out (iova + offset) */
    uint64_t len;                /* bytes the driver asked for */
    uint64_t pa;                 /* guest-physical address of handle */
    uint64_t va;                 /* coherent: the CPU address; else 0 */
    uint64_t seq;                /* quarantined: order of the unmap */
    uint32_t watch;              /* CPU-store watch while the device owns it
                                  * (a vCPU handle: wiring, 0 = none) */
} KDmaMap;

/* A dma_pool; the driver holds token, a small kmalloc'd object. */
typedef struct KDmaPool {
    uint64_t token;              /* 0: slot free */
    uint8_t dev;
    uint32_t size, align, boundary, allocation;
    char name[32];
} KDmaPool;

/* One coherent allocation of a pool, carved into blocks. */
typedef struct KDmaPoolPage {
    int16_t pool;                /* -1: slot free */
    uint64_t va, iova;
    uint32_t nused;
    uint64_t busy[KDMA_POOL_MAX_BLOCKS / 64];
} KDmaPoolPage;

/* The verdict of the "is the mapping error checked" scan at one return
 * address (see kdma_check.c). */
typedef struct KDmaSite {
    uint64_t ret;
    uint8_t checked;
} KDmaSite;

/* A DMA-API report, with the names it was printed with. */
typedef struct KDmaReport {
    DmaDbgReport r;
    char driver[32];
    char device[16];
} KDmaReport;

typedef struct KDma {
    KDmaMap maps[KDMA_MAX_MAPS];   /* sorted by (dev, iova); nmaps used */
    unsigned nmaps;
    uint64_t unmap_seq;
    KDmaPool pools[KDMA_MAX_POOLS];
    KDmaPoolPage pool_pages[KDMA_MAX_POOL_PAGES];
    KDmaSite sites[KDMA_MAX_SITES];
    unsigned nsites;
    KDmaReport reports[KDMA_MAX_REPORTS];   /* the first KDMA_MAX_REPORTS */
    unsigned nreports;
    uint64_t reports_total;
    DmaDebug debug;
} KDma;

/* kapi_dma.c */
/* The driver bound to device index dev has been removed: what it left
 * mapped is a leak (dma_debug_unbind). */
void kdma_unbind(Kernel *k, int dev);
/* Coherent buffers (dma_alloc_attrs and pool pages) still allocated. */
unsigned kdma_coherent_live(const Kernel *k);
/* Maps [pa, pa+len) for device dev (frames rounded to pages) at an IOVA
 * below mask with perms; fills m's iova/npages/handle/pa and inserts it.
 * 0, -ENOSPC (no IOVA below the mask, table full) or the IOMMU's error
 * (recorded with iommu_fault_report_map).  Nothing changes on failure. */
int kdma_map(Kernel *k, int dev, uint64_t pa, uint64_t len, uint64_t mask, unsigned perms,
             KDmaMap *m);
/* Removes a mapping: IOMMU unmap, and (lazy mode) the IOVA quarantined.
 * With frames, its frames go back to the kernel too -- in lazy mode only
 * when the quarantine is released, since the IOMMU pins them until its
 * deferred invalidation is done. */
void kdma_unmap(Kernel *k, KDmaMap *m);
void kdma_unmap_frames(Kernel *k, KDmaMap *m, bool frames);
/* Releases quarantined IOVA ranges (and their frames) once the IOMMU's
 * flush queue is empty, flushing it when more than KDMA_QUARANTINE_MAX
 * are held. */
void kdma_reap(Kernel *k);
/* bank is about to be destroyed: mappings stop pointing at it (their
 * charge and, for held-back ranges, their frames go with the bank). */
void kdma_bank_gone(Kernel *k, int32_t bank);
/* Index of the device whose struct device is at dev, or -1. */
int kdma_dev(Kernel *k, uint64_t dev);
/* Requester id of device index dev. */
uint16_t kdma_rid(const Kernel *k, int dev);
/* Sets the checker's clock; call before each dma_debug_* call. */
DmaDebug *kdma_debug(Kernel *k);

/* kdma_iova.c: the table and the IOVA allocator. */
/* Highest free, size-aligned IOVA range of npages below limit (inclusive
 * last byte) for dev, never page 0: 0 and *iova, or -ENOSPC. */
int kdma_iova_alloc(const KDma *d, int dev, uint64_t npages, uint64_t limit, uint64_t *iova);
/* Inserts m in order; the table slot, or NULL when full. */
KDmaMap *kdma_table_insert(KDma *d, const KDmaMap *m);
void kdma_table_remove(KDma *d, KDmaMap *m);
/* The live mapping of dev handed out as handle, or NULL. */
KDmaMap *kdma_table_find(KDma *d, int dev, uint64_t handle);

/* kdma_pool.c: dma_pool_create/alloc/free/destroy. */
int kdma_pool_register(Kernel *k, SlError *e);

/* kdma_check.c: the sink and the mapping-error scan. */
void kdma_sink(void *opaque, const DmaDbgReport *r);
/* Whether the driver code returning to ret tests the result against
 * DMA_MAPPING_ERROR (scanned once per return address, then cached). */
bool kdma_site_checked(Kernel *k, uint64_t ret);

/* kdma_watch.c: streaming buffers the device owns are watched for CPU
 * stores (DMA_DBG_CPU_WROTE_DEVICE_OWNED).  Sets the ownership of the
 * mapping of device d that contains device address addr. */
void kdma_watch_set(Kernel *k, int d, uint64_t addr, bool device_owned);
void kdma_watch_drop(Kernel *k, KDmaMap *m);

#endif
