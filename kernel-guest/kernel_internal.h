/*
 * kernel-guest/kernel_internal.h: the Kernel struct and what the files of
 * kernel-guest share.  Not for other layers.
 *
 * Snapshot rule (BRIEF §4): the kernel's bookkeeping is plain data --
 * guest addresses and indices, never host pointers into guest state -- so
 * the machine can save and restore it as flat blobs.  Host pointers here
 * are wiring (vcpu, btf, ram) or caches rebuilt from files (module
 * symbol tables).
 */
#ifndef KERNEL_GUEST_KERNEL_INTERNAL_H
#define KERNEL_GUEST_KERNEL_INTERNAL_H

#include "kernel-guest/btf_layout.h"
#include "kernel-guest/kdma.h"
#include "kernel-guest/kernel.h"
#include "kernel-guest/kmem.h"
#include "kernel-guest/knet.h"
#include "kernel-guest/ksyms.h"
#include "kernel-guest/loader.h"
#include "iommu/iommu.h"
#include "translator/vcpu.h"

typedef struct Kernel Kernel;

#define KERNEL_MAX_MODULES 16
#define KERNEL_MAX_PCI_DEVICES 32
#define KERNEL_MAX_PCI_DRIVERS 16
#define KERNEL_MAX_IOMAPS 64
#define KERNEL_MAX_NETDEVS 16

/* Linux's iomap cookies: port numbers are handed out as PIO_OFFSET + port,
 * anything below PIO_RESERVED is a port (lib/iomap.c). */
#define KERNEL_PIO_OFFSET 0x10000ull
#define KERNEL_PIO_RESERVED 0x40000ull

typedef struct KPciDevice {
    unsigned devfn;
    uint64_t pdev;               /* struct pci_dev in guest memory */
    int driver;                  /* index into pci_drivers, -1 if unbound */
    uint32_t bar_base[6];
    uint32_t bar_size[6];
    uint8_t bar_is_io[6];
    uint8_t bar_requested;       /* bit per BAR: pci_request_regions */
    uint8_t irq;
    char name[16];               /* "0000:00:02.0" */
} KPciDevice;

typedef struct KPciDriver {
    uint64_t drv;                /* struct pci_driver in guest memory */
    int module;
    char name[64];
} KPciDriver;

typedef struct KIomap {
    uint64_t va;                 /* mapped MMIO address handed to the driver */
    uint64_t len;
    int dev;                     /* index into pci_devices */
    int bar;
} KIomap;

/* What an MMIO callback needs to find its iomap (wiring). */
typedef struct KIomapWire {
    Kernel *k;
    unsigned idx;
} KIomapWire;

/* A region __request_region handed out (kapi_res.c). */
#define KERNEL_MAX_REGIONS 32
typedef struct KRegion {
    uint64_t res;                /* the struct resource given to the driver */
    uint64_t parent, start, len;
} KRegion;

typedef struct KNetdev {
    uint64_t dev;                /* struct net_device */
    bool registered;
    uint64_t watchdog_due;       /* jiffy of the next dev_watchdog check, 0 = off */
} KNetdev;

struct Kernel {
    /* Wiring. */
    KernelConfig cfg;
    KernelHostOps host;
    Vcpu *cpu;
    BtfLayout *btf;
    KMem mem;
    KSyms syms;
    KoModule *modules[KERNEL_MAX_MODULES];

    /* State. */
    KernelPhase phase;
    int current_module;          /* whose code runs now, -1 for none */
    int32_t module_bank[KERNEL_MAX_MODULES];  /* each module's space bank */
    KPciDevice pci_devices[KERNEL_MAX_PCI_DEVICES];
    unsigned npci_devices;
    KPciDriver pci_drivers[KERNEL_MAX_PCI_DRIVERS];
    unsigned npci_drivers;
    KIomap iomaps[KERNEL_MAX_IOMAPS];
    KIomapWire iomap_wires[KERNEL_MAX_IOMAPS];
    unsigned niomaps;
    Iommu *iommu;                /* wiring: set by the machine */
    KDma dma;                    /* kdma.h: mappings, IOVAs, pools, checks */
    KNetdev netdevs[KERNEL_MAX_NETDEVS];
    unsigned nnetdevs;
    unsigned warnings;
    /* printk's open line (a message without a newline, KERN_CONT). */
    char cont_line[1024];
    int cont_level;
    bool cont_open;
    unsigned probes, removes;    /* successful probe and remove calls */
    unsigned netdevs_registered_total;
    uint64_t boot_live_bytes;    /* the kernel's own heap after boot */
    unsigned boot_live_objects;
    unsigned rtnl_depth;
    KIrqState irq;               /* knet.h: IRQ handlers (kapi_irq.c) */
    KNapiState napi;             /* knet.h: scheduled NAPI (kapi_napi.c) */
    KWorkState work;             /* knet.h: work items, timers (kapi_work.c) */
    KSchedState sched;           /* knet.h: IRQ lines, host transmits (ksched.c) */
    KRegion regions[KERNEL_MAX_REGIONS];   /* __request_region (kapi_res.c) */
    /* Execution context: one CPU; what Linux tracks in preempt_count. */
    bool irqs_off;
    unsigned atomic_depth;       /* spinlocks held */
    unsigned bh_depth;
    uint64_t time_ns;            /* the virtual clock */
    uint64_t jiffies_va;         /* where the exported jiffies lives */
    uint64_t data_va, data_used, data_size;   /* kernel data area */
    uint64_t percpu_va, percpu_used, percpu_size;
    uint64_t stack_top;
    uint64_t hash_key;           /* fixed: %p hashing is deterministic */
};

/* Calls guest code at fn on behalf of module mod in phase ph; returns 0
 * and RAX, or -EFAULT when the guest stopped. */
int kernel_call(Kernel *k, int mod, KernelPhase ph, uint64_t fn,
                const uint64_t *args, unsigned nargs, uint64_t *ret);

/* kernel_store.c: a new module's space bank; the IOMMU's hooks. */
int32_t kernel_bank_new(Kernel *k);
void kernel_iommu_pin_hook(void *opaque, uint64_t pfn, bool pinned);
void kernel_iommu_write_hook(void *opaque, uint64_t phys, uint64_t len);
void kernel_quota_refused(void *opaque, uint64_t bytes);

/* Struct layout lookups that must succeed: a missing type or field is a
 * mismatch between sluice and the kernel's BTF, reported once and fatal
 * for the guest (vcpu_raise), and -1 returned. */
long kernel_sizeof(Kernel *k, const char *type);
long kernel_offsetof(Kernel *k, const char *type, const char *path);
int64_t kernel_enum(Kernel *k, const char *name);

/* Guest memory helpers on kernel-owned memory. */
uint64_t kernel_read_u64(Kernel *k, uint64_t va);
uint32_t kernel_read_u32(Kernel *k, uint64_t va);
uint16_t kernel_read_u16(Kernel *k, uint64_t va);
uint8_t kernel_read_u8(Kernel *k, uint64_t va);
void kernel_write_u64(Kernel *k, uint64_t va, uint64_t v);
void kernel_write_u32(Kernel *k, uint64_t va, uint32_t v);
void kernel_write_u16(Kernel *k, uint64_t va, uint16_t v);
void kernel_write_u8(Kernel *k, uint64_t va, uint8_t v);
/* Field access by BTF name: kernel_field_*(k, va, "net_device", "mtu"). */
uint64_t kernel_field_read(Kernel *k, uint64_t va, const char *type, const char *path);
void kernel_field_write(Kernel *k, uint64_t va, const char *type, const char *path,
                        uint64_t v);
/* Reads a NUL-terminated guest string (truncated to cap-1). */
int kernel_read_str(Kernel *k, uint64_t va, char *buf, size_t cap);
/* Copies a host string into new kmalloc memory; returns its address. */
uint64_t kernel_strdup(Kernel *k, const char *s);

/* Logging as printk: level '0'..'7', one line (no newline). */
void kernel_log(Kernel *k, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Registration of served symbols (boot only). */
/* A function: a gateway slot calling fn with the Kernel as opaque. */
int kapi_fn(Kernel *k, const char *name, VcpuHostFn fn, SlError *e);
/* A data object of size bytes in the kernel data area; returns its
 * address (0 on error). */
uint64_t kapi_data(Kernel *k, const char *name, uint64_t size, uint64_t align, SlError *e);
/* A per-CPU variable: its offset in the per-CPU area (0 on error). */
uint64_t kapi_percpu(Kernel *k, const char *name, uint64_t size, uint64_t align, SlError *e);
/* Known to be exported by Linux, not served yet: calling it is a report. */
int kapi_todo(Kernel *k, const char *name, SlError *e);
/* Raw bytes of guest code in a slot (thunks). */
int kapi_code(Kernel *k, const char *name, const uint8_t *code, size_t len, SlError *e);
/* Host address of the per-CPU area's offset off. */
uint64_t kernel_percpu_va(const Kernel *k, uint64_t off);

/* The registration entry points of each served-API file. */
int kapi_runtime_register(Kernel *k, SlError *e);
int kapi_printk_register(Kernel *k, SlError *e);
int kapi_mem_register(Kernel *k, SlError *e);
int kapi_lock_register(Kernel *k, SlError *e);
int kapi_time_register(Kernel *k, SlError *e);
int kapi_pci_register(Kernel *k, SlError *e);
int kapi_io_register(Kernel *k, SlError *e);
int kapi_netdev_register(Kernel *k, SlError *e);
int kapi_dma_register(Kernel *k, SlError *e);
int kapi_irq_register(Kernel *k, SlError *e);
int kapi_napi_register(Kernel *k, SlError *e);
int kapi_work_register(Kernel *k, SlError *e);
int kapi_lib_register(Kernel *k, SlError *e);
int kapi_todo_register(Kernel *k, SlError *e);

/* ksched.c: the module whose code addr is (else the current one). */
int kernel_module_of(Kernel *k, uint64_t addr);
/* kapi_skb.c: builds an skb from a host frame and calls ndo_start_xmit:
 * 0 sent (the driver owns the skb), 1 busy (try again), or -EFAULT. */
int kskb_xmit_frame(Kernel *k, uint64_t dev, const uint8_t *frame, size_t len);
int kapi_skb_register(Kernel *k, SlError *e);
int kapi_res_register(Kernel *k, SlError *e);

/* kapi_time.c: advances the virtual clock (and jiffies with it). */
void kernel_advance_time(Kernel *k, uint64_t ns);
/* kapi_lock.c: reports sleeping while atomic, as Linux's might_sleep(). */
void kernel_might_sleep(Kernel *k, const char *fn);

/* kapi_io.c: maps live iomap idx into the vCPU again (after a restore). */
int kio_remap(Kernel *k, unsigned idx, SlError *e);

/* kapi_pci.c: enumerate the bus at boot (reads config space like Linux). */
int kpci_enumerate(Kernel *k, SlError *e);
/* kapi_pci.c: unbinds everything a module's drivers bound (module exit). */
/* kapi_io.c: resolves an iomap cookie to device and BAR. */
int kio_decode(Kernel *k, uint64_t addr, int *dev, int *bar, uint64_t *off,
               uint16_t *port);

#endif
