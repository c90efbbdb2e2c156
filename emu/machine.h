/*
 * emu/machine.h: one machine -- a PCI bus with its devices, the software
 * IOMMU, the emulated kernel and the vCPU -- wired in one place
 * (machine.c is the only file that sees every layer).
 */
#ifndef EMU_MACHINE_H
#define EMU_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "images/kimage.h"

typedef struct Machine Machine;

typedef struct MachineConfig {
    const KImage *image;         /* the real kernel the drivers belong to */
    const char *device;          /* device model on 00:02.0: "rtl8139", "none" */
    bool allow_unserved;
    uint64_t block_budget;       /* 0 = default */
    uint64_t ram_bytes;          /* 0 = default */
    FILE *trace;                 /* --trace-mmio: one line per register access, or NULL */
    bool verbose;                /* print the kernel's debug-level lines too */
    FILE *out;                   /* where the kernel's log goes (stdout) */
    FILE *diag;                  /* sluice's own lines (faults, stats); NULL: stderr */
    const char *iommu_mode;      /* "strict" (default), "lazy", "off" */
    uint64_t pin_limit_device;   /* bytes a device may pin; 0 = unbounded */
    uint64_t pin_limit_global;   /* bytes all devices may pin; 0 = unbounded */
    uint64_t bank_mem_limit;     /* bytes of pages each module's space bank may
                                  * hold (image, kmalloc, DMA); 0 = unbounded */
    uint64_t bank_map_limit;     /* IOMMU mapping entries per module bank; 0 = unbounded */
    const char *pcap_out;        /* frames the device transmitted */
    const char *pcap_in;         /* frames arriving on the wire */
    const char *pcap_stack;      /* frames the driver handed to the stack */
    const char *send;            /* a pcap of frames the host sends through the driver */
} MachineConfig;

int machine_new(const MachineConfig *cfg, Machine **out, SlError *e);
/* The parts, for checkpoints (persist.c) and tests. */
struct Kernel *machine_kernel(Machine *m);
struct Iommu *machine_iommu(Machine *m);
struct PciBus *machine_bus(Machine *m);
void machine_free(Machine *m);

/* Loads a module and, first, what its .modinfo depends= names (from the
 * image), like modprobe.  params apply to this module only.  Returns the
 * number of modules now loaded by this call, or a negative error (an
 * "Unknown symbol" load has printed one line per missing import). */
int machine_load_driver(Machine *m, const char *path, const char *const *params,
                        unsigned nparams, SlError *e);
/* Runs every loaded module's init, in load order.  0, a module's negative
 * errno, or -EFAULT if the guest stopped (machine_report prints why). */
int machine_init_modules(Machine *m);
/* Brings every registered interface up (ndo_open) / down (ndo_stop), as
 * `ip link set up/down` does.  0, the first driver error, or -EFAULT. */
int machine_ifup(Machine *m);
int machine_ifdown(Machine *m);
/* Runs the machine (interrupts, NAPI, timers, work, the wire) for ns of
 * virtual time.  0, or -EFAULT if the guest stopped. */
int machine_run_for(Machine *m, uint64_t ns);
/* Runs until --send and --pcap-in are played out (at most max_ns). */
int machine_net_run(Machine *m, uint64_t max_ns);
/* ping 10.0.2.2 count times, printing Linux ping's lines. */
int machine_ping(Machine *m, unsigned count);
/* Runs module exit (the driver's remove comes from pci_unregister_driver)
 * in reverse load order. */
int machine_exit_modules(Machine *m);
bool machine_guest_stopped(const Machine *m);
void machine_report(Machine *m, FILE *out);
/* The summary at exit: drivers, devices, netdevs, leaks, IOMMU. */
void machine_summary(Machine *m, FILE *out);
/* Everything reported during the run as one JSON document (--report):
 * {"sluice":..., "kernel":..., "reports":[...], "summary":{...}}. */
int machine_write_report(Machine *m, FILE *out, const char *driver);

#endif
