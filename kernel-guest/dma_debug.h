/*
 * kernel-guest/dma_debug.h: checking drivers' use of the DMA API, the way
 * Linux's CONFIG_DMA_API_DEBUG (kernel/dma/debug.c) does -- and beyond it,
 * because sluice also sees the device side and the CPU's stores.
 *
 * The DMA API (kapi_dma.c) tells the checker about every map, unmap, sync
 * and free; the machine tells it about device accesses and CPU writes to
 * streaming buffers.  Each misuse becomes a DmaDbgReport, handed to a sink,
 * which can be printed as Linux prints it:
 *
 *   DMA-API: 8139too 0000:00:02.0: device driver frees DMA memory with
 *   different size [device address=0x0000000000100000] [map size=4096 bytes]
 *   [unmap size=2048 bytes]
 *
 * (one line), or as a JSON object with the same fields.
 *
 * State is plain data (fixed arrays, no host pointers but the sink wiring),
 * so the machine can save and restore it with the rest of the kernel.
 */
#ifndef KERNEL_GUEST_DMA_DEBUG_H
#define KERNEL_GUEST_DMA_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMA_DEBUG_MAX_ENTRIES 4096
#define DMA_DEBUG_RECENT_UNMAPS 64

/* How a mapping was made; Linux's names in reports: "single", "page",
 * "scatter-gather", "coherent". */
typedef enum DmaDbgType {
    DMA_DBG_TYPE_SINGLE = 0,
    DMA_DBG_TYPE_PAGE,
    DMA_DBG_TYPE_SG,
    DMA_DBG_TYPE_COHERENT,
} DmaDbgType;

/* enum dma_data_direction, with Linux's values and report names
 * "DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE". */
typedef enum DmaDbgDir {
    DMA_DBG_BIDIRECTIONAL = 0,
    DMA_DBG_TO_DEVICE = 1,
    DMA_DBG_FROM_DEVICE = 2,
    DMA_DBG_NONE = 3,
} DmaDbgDir;

typedef enum DmaDbgError {
    DMA_DBG_FREE_NOT_ALLOCATED = 0,  /* unmap/free of memory never mapped */
    DMA_DBG_FREE_INVALID_ADDR,       /* unmap of DMA_MAPPING_ERROR */
    DMA_DBG_FREE_WRONG_SIZE,
    DMA_DBG_FREE_WRONG_TYPE,         /* wrong function: single/page/sg/coherent */
    DMA_DBG_FREE_WRONG_DIR,
    DMA_DBG_FREE_WRONG_CPU_ADDR,     /* coherent: cpu address differs */
    DMA_DBG_SG_WRONG_NENTS,          /* unmap_sg with another entry count */
    DMA_DBG_MAP_ERROR_UNCHECKED,     /* dma_mapping_error() never called */
    DMA_DBG_MAP_STACK,               /* mapping stack memory */
    DMA_DBG_SYNC_NOT_MAPPED,
    DMA_DBG_SYNC_OUTSIDE,            /* sync range outside the mapping */
    DMA_DBG_SYNC_WRONG_DIR,
    DMA_DBG_LEAKED_AT_UNBIND,        /* mappings live when the driver unbinds */
    /* Beyond Linux: */
    DMA_DBG_DEVICE_AFTER_UNMAP,      /* device touched an IOVA after its unmap */
    DMA_DBG_DEVICE_WROTE_TO_DEVICE,  /* device wrote a DMA_TO_DEVICE mapping */
    DMA_DBG_CPU_WROTE_DEVICE_OWNED,  /* CPU wrote a streaming buffer the device owns */
    DMA_DBG_ERROR_COUNT
} DmaDbgError;

/* One live mapping, as the DMA API describes it. */
typedef struct DmaDbgMap {
    uint16_t rid;                /* requester id (bus << 8 | devfn) */
    uint8_t type;                /* DmaDbgType */
    uint8_t dir;                 /* DmaDbgDir */
    uint32_t pad0;               /* explicit: the record is saved whole */
    uint64_t iova;               /* device address handed to the driver */
    uint64_t len;                /* bytes as the driver asked */
    uint64_t cpu_addr;           /* kernel virtual address (coherent, single) */
    uint64_t pa;                 /* guest-physical start */
    int32_t sg_nents;            /* sg: entries the driver passed to map_sg */
    uint32_t pad1;
    uint64_t site;               /* driver instruction that mapped it */
} DmaDbgMap;

/* A finding: the error and every bracketed fact Linux would print. */
typedef struct DmaDbgReport {
    uint8_t error;               /* DmaDbgError */
    uint8_t pad0;                /* explicit padding: reports are saved whole */
    uint16_t rid;
    uint32_t pad1;
    uint64_t iova;
    uint64_t map_size, other_size;     /* unmap/sync size, or sync offset+size */
    uint8_t map_type, other_type;      /* DmaDbgType */
    uint8_t map_dir, other_dir;        /* DmaDbgDir */
    uint32_t pad2;
    uint64_t map_cpu_addr, other_cpu_addr;
    int32_t map_nents, other_nents;
    uint32_t count;              /* leaked entries */
    uint32_t pad3;
    uint64_t addr;               /* stack address, CPU-written address */
    uint64_t site;               /* driver instruction of the misuse (0: unknown) */
    uint64_t map_site;           /* driver instruction that made the mapping */
    uint64_t time_ns;            /* virtual time */
} DmaDbgReport;

typedef void (*DmaDbgSink)(void *opaque, const DmaDbgReport *r);

typedef struct DmaDebugEntry {
    DmaDbgMap map;
    uint8_t used;
    uint8_t map_err_checked;
    uint8_t device_owned;        /* streaming: between map/sync_for_device
                                  * and unmap/sync_for_cpu */
} DmaDebugEntry;

typedef struct DmaDebug {
    /* Wiring. */
    DmaDbgSink sink;
    void *opaque;
    /* State. */
    DmaDebugEntry entries[DMA_DEBUG_MAX_ENTRIES];
    DmaDbgMap recent_unmaps[DMA_DEBUG_RECENT_UNMAPS];  /* ring */
    uint32_t recent_next;
    uint64_t counts[DMA_DBG_ERROR_COUNT];
    uint64_t time_ns;
} DmaDebug;

void dma_debug_init(DmaDebug *d, DmaDbgSink sink, void *opaque);
void dma_debug_set_time(DmaDebug *d, uint64_t ns);

/* A successful map (or dma_alloc).  on_stack: the CPU address lies in a
 * kernel stack (reported as DMA_DBG_MAP_STACK, the mapping still recorded).
 * Returns 0, or -ENOSPC when the table is full (nothing checked then). */
int dma_debug_map(DmaDebug *d, const DmaDbgMap *m, bool on_stack);
/* dma_mapping_error() was called on this device address. */
void dma_debug_mapping_error(DmaDebug *d, uint16_t rid, uint64_t iova);
/* An unmap or free as the driver called it (site = its instruction).
 * Checks size, type, direction, cpu address (coherent), sg entry count and
 * whether the mapping error was checked; then forgets the entry. */
void dma_debug_unmap(DmaDebug *d, const DmaDbgMap *as_called);
/* dma_sync_single_for_cpu (for_cpu) or _for_device. */
void dma_debug_sync(DmaDebug *d, uint16_t rid, uint64_t iova, uint64_t len, uint8_t dir,
                    bool for_cpu, uint64_t site);
/* The driver unbinds from rid: every live mapping of rid is a leak (one
 * report with the count, naming one entry). */
void dma_debug_unbind(DmaDebug *d, uint16_t rid, uint64_t site);
/* Device rid read (write=false) or wrote guest memory at [iova, iova+len). */
void dma_debug_device_access(DmaDebug *d, uint16_t rid, uint64_t iova, uint64_t len,
                             bool write);
/* The CPU stored len bytes at guest-physical pa (from instruction site). */
void dma_debug_cpu_write(DmaDebug *d, uint64_t pa, uint64_t len, uint64_t site);
/* Guest-physical ranges of device-owned streaming buffers, for a write
 * watch: calls fn for each; returns how many. */
unsigned dma_debug_device_owned(const DmaDebug *d,
                                void (*fn)(void *opaque, uint64_t pa, uint64_t len),
                                void *opaque);
/* Live mappings of rid (all devices if rid is 0xffff). */
unsigned dma_debug_live(const DmaDebug *d, uint16_t rid);

const char *dma_debug_error_name(DmaDbgError e);   /* "free-wrong-size", ... */
/* Linux's text (without the "DMA-API: driver device: " prefix, which the
 * caller adds), one line. */
int dma_debug_format(const DmaDbgReport *r, char *buf, size_t cap);
/* A JSON object with the same fields: {"kind":"dma-api","error":...}. */
int dma_debug_format_json(const DmaDbgReport *r, const char *driver, const char *device,
                          char *buf, size_t cap);

#endif
