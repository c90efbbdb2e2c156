/*
 * kernel-guest/kernel.h: the kernel that driver code sees.
 *
 * No Linux kernel runs.  The emulated kernel owns the guest address space
 * (a direct map of guest RAM at page_offset_base, a vmemmap, modules in the
 * top 2 GiB, a per-CPU area behind %gs), loads .ko files, and serves the
 * kernel API they import from host C, with every struct layout read from
 * the kernel's BTF.  It reaches devices only through KernelHostOps, which
 * the machine wires (kernel-guest never includes devices/).
 */
#ifndef KERNEL_GUEST_KERNEL_H
#define KERNEL_GUEST_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "translator/vcpu.h"

typedef struct Kernel Kernel;

/* What the real kernel exports, for telling "Unknown symbol" from
 * "exported by Linux but not served by sluice". */
typedef enum KernelExportKind {
    KERNEL_EXPORT_NONE = 0,
    KERNEL_EXPORT_FUNC,
    KERNEL_EXPORT_DATA,
} KernelExportKind;

/* Phases of a driver's life, for traces and reports. */
typedef enum KernelPhase {
    KERNEL_PHASE_BOOT = 0,
    KERNEL_PHASE_INIT,           /* module init */
    KERNEL_PHASE_PROBE,
    KERNEL_PHASE_RUN,
    KERNEL_PHASE_REMOVE,
    KERNEL_PHASE_EXIT,           /* module exit */
} KernelPhase;

/* The machine's side: devices, the real kernel's export list, output. */
typedef struct KernelHostOps {
    /* PCI configuration space (bus 0); all-ones for an empty devfn. */
    uint32_t (*pci_config_read)(void *opaque, unsigned devfn, unsigned off, unsigned size);
    void (*pci_config_write)(void *opaque, unsigned devfn, unsigned off, uint32_t v,
                             unsigned size);
    /* BAR accesses by device and BAR (iomap cookies, MMIO mappings). */
    uint32_t (*pci_bar_read)(void *opaque, unsigned devfn, int bar, uint64_t off,
                             unsigned size);
    void (*pci_bar_write)(void *opaque, unsigned devfn, int bar, uint64_t off,
                          uint32_t v, unsigned size);
    /* Port I/O by port number (in/out instructions, inb/outb). */
    uint32_t (*pio_read)(void *opaque, uint16_t port, unsigned size);
    void (*pio_write)(void *opaque, uint16_t port, unsigned size, uint32_t v);
    /* Whether the real kernel exports name, and its modversions CRC. */
    KernelExportKind (*export_kind)(void *opaque, const char *name, uint32_t *crc);
    /* One line the kernel printed (no newline), with its printk level
     * ('0'..'7', or 'd' for debug). */
    void (*log)(void *opaque, int level, const char *line);
    /* A frame the network stack received from a driver (netif_receive_skb,
     * napi_gro_receive, netif_rx): Ethernet header included, no FCS. */
    void (*netrx)(void *opaque, const char *ifname, const uint8_t *frame, size_t len);
    /* The machine's own events (device timers, frames to inject): runs
     * what is due at now_ns and returns when it next has something to do
     * (UINT64_MAX: nothing planned). */
    uint64_t (*poll)(void *opaque, uint64_t now_ns);
    void *opaque;
} KernelHostOps;

typedef struct KernelConfig {
    const char *btf_path;        /* vmlinux (or raw BTF) of the drivers' kernel */
    size_t ram_bytes;            /* guest RAM; 0 = 128 MiB */
    uint64_t block_budget;       /* per host -> guest call; 0 = default */
    bool iommu_off;              /* --iommu off: DMA addresses are guest-physical */
    bool allow_unserved;         /* load modules whose imports sluice does not
                                  * serve; calling one is then a report */
    unsigned hz;                 /* CONFIG_HZ of that kernel (250 on Debian) */
    /* Quotas of each module's space bank: pages (module image, kmalloc
     * arenas, DMA buffers) and IOMMU mapping entries; 0 = unlimited. */
    uint64_t bank_pages;
    uint64_t bank_map_entries;
} KernelConfig;

int kernel_new(const KernelConfig *cfg, const KernelHostOps *host, Kernel **out,
               SlError *e);
void kernel_free(Kernel *k);

Vcpu *kernel_vcpu(Kernel *k);
/* Guest RAM (guest-physical 0 .. size), for the IOMMU and DMA ports. */
void kernel_ram(Kernel *k, void **ram, uint64_t *size);
/* The IOMMU through which the DMA API maps device memory; each PCI device
 * gets a domain (requester id = devfn on bus 0) when this is called. */
struct Iommu;
int kernel_set_iommu(Kernel *k, struct Iommu *mmu, SlError *e);
KernelPhase kernel_phase(const Kernel *k);
const char *kernel_phase_name(KernelPhase p);

/* Loads a .ko (relocates, resolves imports, applies "name=value"
 * parameters) without running its init.  Every import that cannot be
 * resolved gives one line "Unknown symbol NAME" on the log, and the load
 * fails with -ENOENT, like insmod.  Returns the module index. */
int kernel_load_module(Kernel *k, const char *path, const char *const *params,
                       unsigned nparams, SlError *e);
/* Runs module init; 0, or the init's negative errno, or -EFAULT if the
 * guest stopped (kernel_report says why). */
int kernel_init_module(Kernel *k, int mod);
/* Runs module exit and frees the module. */
int kernel_exit_module(Kernel *k, int mod);
const char *kernel_module_name(const Kernel *k, int mod);
/* The module's "depends=" list from .modinfo ("mii" or "" ), read from the
 * file before loading. */
int kernel_module_depends(const char *path, char *buf, size_t cap, SlError *e);

/* Symbolizes a guest address ("rtl8139_init_one+0x1c/0x5a0 [8139too]"). */
void kernel_symbolize(const Kernel *k, uint64_t addr, char *buf, size_t cap);
/* The driver instruction running now (for traces): symbolized. */
void kernel_current_insn(Kernel *k, char *buf, size_t cap);

/* The guest stopped: prints the report (driver, instruction, backtrace). */
bool kernel_dead(const Kernel *k);
void kernel_report_print(Kernel *k, FILE *out);

/* Counts for the exit summary and tests.  "live" counts are what drivers
 * hold now (the kernel's own boot-time objects are not counted): after
 * every module's exit they are leaks. */
typedef struct KernelStats {
    unsigned drivers_registered;
    unsigned devices_bound;
    unsigned probes, removes;    /* successful, over the run */
    unsigned netdevs_registered; /* now */
    unsigned netdevs_registered_total;
    unsigned netdevs_live;       /* allocated and not freed */
    unsigned devices_enabled;    /* pci_enable_device without disable */
    unsigned regions_requested;  /* BARs requested and not released */
    unsigned iomaps_live;        /* MMIO mappings not unmapped */
    unsigned coherent_live;      /* dma_alloc_attrs buffers not freed */
    unsigned dma_api_reports;    /* DMA-API misuse reports over the run */
    unsigned warnings;           /* WARN()s hit */
    uint64_t heap_live_bytes;    /* kmalloc'd by drivers and not freed by them
                                  * (what a destroyed bank reclaimed included) */
    unsigned heap_live_objects;
} KernelStats;
void kernel_stats(const Kernel *k, KernelStats *s);

/* The persistent store behind guest RAM (kernel_store.c) ------------------
 * Every page of guest RAM a module or the kernel uses is a page object of
 * this store, allocated from a space bank (kmem.h). */
struct PkStore;
struct PkStore *kernel_store(Kernel *k);
/* Dirty tracking for checkpoints: the vCPU write tracker on or off. */
int kernel_track_writes(Kernel *k, bool on, SlError *e);
/* Hands the pages written since the last call to the store as dirty
 * objects (a checkpoint's pause); returns how many. */
uint64_t kernel_collect_dirty(Kernel *k);
/* After the store was brought back to a checkpoint and the kernel state
 * restored: nothing is dirty, and every frame no page object holds is
 * zero (as it was at the checkpoint: freed frames are zeroed).  Returns
 * how many frames hold page objects (the RAM pages restored). */
uint64_t kernel_store_restarted(Kernel *k);
/* A module's space bank: pages and IOMMU mapping entries charged now, and
 * the quotas (UINT64_MAX: unlimited); -ENOENT for no such module. */
typedef struct KernelBankUsage {
    uint64_t pages, map_entries;
    uint64_t quota_pages, quota_map_entries;
} KernelBankUsage;
int kernel_bank_usage(const Kernel *k, int mod, KernelBankUsage *u);

/* The device on requester id rid touched [iova, iova+len) and the IOMMU
 * objected (not mapped, permission, stale IOTLB): the DMA-API checker
 * tells a use after unmap or a write to a DMA_TO_DEVICE mapping. */
void kernel_dma_device_access(Kernel *k, uint16_t rid, uint64_t iova, uint64_t len,
                              bool write);
/* Drains the IOMMU's deferred invalidations (lazy mode) and gives the
 * frames held back for them to the kernel again, as Linux's flush queue
 * does when its timer fires; the machine calls it at the end of a run. */
void kernel_dma_quiesce(Kernel *k);

/* Every DMA-API report so far, one JSON object a line
 * ({"kind":"dma-api","error":...}); 0 or -EIO. */
int kernel_dma_reports_json(Kernel *k, FILE *out);

/* Interfaces up and down, as `ip link set IF up/down` does it (dev_open /
 * dev_close under the RTNL): ndo_open or ndo_stop of the driver runs.
 * Opening an interface that is up, or closing one that is down, does
 * nothing and returns 0, like Linux.  0, the driver's negative errno
 * (printed as "sluice: eth0: ndo_open failed: -12 (ENOMEM)"), -ENODEV for
 * no such registered interface, -EBUSY while guest code runs, or -EFAULT
 * if the guest stopped (kernel_report_print says why).  The _all forms
 * act on every registered interface and return the first failure. */
int kernel_netdev_open(Kernel *k, const char *ifname);
int kernel_netdev_close(Kernel *k, const char *ifname);
int kernel_netdev_open_all(Kernel *k);
int kernel_netdev_close_all(Kernel *k);

/* Runs the work items whose jiffy has come (queue_work_on now,
 * queue_delayed_work_on after its delay) as a kernel worker would: in
 * process context, earliest first.  The guest may have stopped after it
 * (kernel_dead). */
void kernel_run_due_work(Kernel *k);

/* A device's interrupt line (PCI INTx, level-triggered) changed.  The
 * handlers registered for irq run in hardirq context as soon as interrupts
 * are enabled: at the next block boundary of running guest code, or in
 * kernel_run_until. */
void kernel_irq_line(Kernel *k, unsigned irq, int level);

/* The event loop: runs interrupts, softirqs (NAPI polls, timers), work
 * items, held transmits and the machine's events (host.poll) in virtual
 * time until until_ns, jumping over idle time.  0, or -EFAULT if the guest
 * stopped. */
int kernel_run_until(Kernel *k, uint64_t until_ns);
uint64_t kernel_time_ns(const Kernel *k);

/* The host side sends a frame (Ethernet header included) through
 * interface ifname: ndo_start_xmit runs when the queue is awake.  0,
 * -ENODEV, -EINVAL (size) or -ENOSPC (the host's queue is full). */
int kernel_netdev_xmit(Kernel *k, const char *ifname, const uint8_t *frame, size_t len);
/* The kernel's bookkeeping as one blob (kernel_state.c): everything but
 * guest RAM and wiring.  Restore into a kernel booted with the same
 * configuration that has loaded the same modules in the same order and
 * not run them; then kernel_state_remap() maps device memory again. */
size_t kernel_state_size(const Kernel *k);
long kernel_state_save(const Kernel *k, void *buf, size_t cap);
int kernel_state_restore(Kernel *k, const void *buf, size_t len, SlError *e);
int kernel_state_remap(Kernel *k, SlError *e);
/* Frames pinned for a device's DMA now (IOMMU mappings), as
 * (device index, pfn) pairs through fn; returns how many. */
unsigned kernel_dma_pinned_frames(Kernel *k, void (*fn)(void *opaque, const char *dev,
                                                        uint64_t iova, uint64_t pfn),
                                  void *opaque);

/* The interface's counters as its driver keeps them (dev_get_stats:
 * ndo_get_stats64, ndo_get_stats or dev->stats). */
typedef struct KernelIfStats {
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
    uint64_t rx_errors, tx_errors, rx_dropped, tx_dropped;
} KernelIfStats;
int kernel_netdev_stats(Kernel *k, const char *ifname, KernelIfStats *out);

/* The driver's own answers to `ethtool -i` and `ethtool` (get_drvinfo,
 * get_link); link is -1 when the driver has no get_link. */
typedef struct KernelEthtool {
    char driver[32], version[32], bus_info[32];
    int link;
} KernelEthtool;
int kernel_netdev_ethtool(Kernel *k, const char *ifname, KernelEthtool *out);

/* The MAC address of interface ifname (0, or -ENODEV). */
int kernel_netdev_mac(Kernel *k, const char *ifname, uint8_t mac[6]);

/* Interrupt handlers, NAPI, work and timers drivers hold now ("now"), and
 * counts over the run ("total"). */
typedef struct KernelNetStats {
    unsigned netdevs_up;         /* IFF_UP */
    unsigned netdevs_carrier;    /* registered, carrier on */
    unsigned irq_handlers;       /* requested and not freed */
    unsigned irqs_requested_total, irqs_freed_total;
    unsigned napi_scheduled;     /* on the poll list */
    unsigned napi_scheduled_total;
    unsigned work_pending, timers_pending;
    unsigned work_queued_total, work_run_total, work_cancelled_total;
} KernelNetStats;
void kernel_net_stats(Kernel *k, KernelNetStats *s);

#endif
