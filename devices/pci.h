/*
 * devices/pci.h: a PCI bus (one segment, bus 0) with type-0 config space.
 *
 * What the firmware and the kernel's PCI core see: 256 bytes of config space
 * per function (vendor/device, command/status, revision, class, BARs with
 * sizing, subsystem ids, interrupt line/pin), BAR decoding of port I/O and
 * memory accesses to the owning device, and a trace hook that sees every
 * access (config and BAR) for --trace-mmio.
 *
 * Not modelled: bridges, extended config space, MSI/MSI-X, expansion ROMs,
 * 64-bit BARs.
 */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include <stdint.h>
#include <stddef.h>

#define PCI_MAX_DEVFN     256
#define PCI_NUM_BARS      6
#define PCI_CONFIG_SIZE   256

/* Standard config-space offsets (PCI Local Bus spec 3.0, §6.1). */
#define PCI_VENDOR_ID       0x00
#define PCI_DEVICE_ID       0x02
#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_REVISION_ID     0x08
#define PCI_CLASS_PROG      0x09
#define PCI_CLASS_DEVICE    0x0a
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER   0x0d
#define PCI_HEADER_TYPE     0x0e
#define PCI_BASE_ADDRESS_0  0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID    0x2e
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_INTERRUPT_PIN   0x3d

#define PCI_COMMAND_IO      0x1
#define PCI_COMMAND_MEMORY  0x2
#define PCI_COMMAND_MASTER  0x4

#define PCI_STATUS_SIG_TARGET_ABORT 0x0800
#define PCI_STATUS_REC_TARGET_ABORT 0x1000
#define PCI_STATUS_REC_MASTER_ABORT 0x2000

typedef enum PciBarType {
    PCI_BAR_NONE = 0,
    PCI_BAR_IO,
    PCI_BAR_MEM32,
} PciBarType;

/*
 * A device model's register interface.  Offsets are relative to the BAR;
 * size is 1, 2 or 4.  Reads return the value (zero-extended).
 * Accesses the device does not decode read as all-ones, like a real bus.
 */
typedef struct PciDeviceOps {
    uint32_t (*bar_read)(void *opaque, int bar, uint64_t offset, unsigned size);
    void (*bar_write)(void *opaque, int bar, uint64_t offset, uint32_t value,
                      unsigned size);
    /* Optional: called after a config write (e.g. command register). */
    void (*config_written)(void *opaque, unsigned offset, unsigned size);
} PciDeviceOps;

/* What a device model declares about itself when it plugs into the bus. */
typedef struct PciDeviceInfo {
    const char *name;            /* model name for reports: "rtl8139" */
    uint16_t vendor_id, device_id;
    uint16_t subsystem_vendor_id, subsystem_id;
    uint8_t revision;
    uint32_t class_code;         /* 24 bits: class, subclass, prog-if */
    uint8_t interrupt_pin;       /* 1 = INTA#, 0 = none */
    struct {
        PciBarType type;
        uint32_t size;           /* power of two; I/O >= 4, memory >= 16 */
    } bar[PCI_NUM_BARS];
} PciDeviceInfo;

/* The kinds of access the trace hook sees. */
typedef enum PciAccessKind {
    PCI_ACCESS_BAR_READ,         /* "R"  */
    PCI_ACCESS_BAR_WRITE,        /* "W"  */
    PCI_ACCESS_CONFIG_READ,      /* "CR" */
    PCI_ACCESS_CONFIG_WRITE,     /* "CW" */
} PciAccessKind;

typedef struct PciAccess {
    PciAccessKind kind;
    unsigned devfn;
    int bar;                     /* -1 for config space */
    uint64_t offset;             /* within the BAR, or config offset */
    unsigned size;
    uint32_t value;
} PciAccess;

typedef void (*PciTraceFn)(void *opaque, const PciAccess *a);

typedef struct PciBus PciBus;

PciBus *pci_bus_new(void);
void pci_bus_free(PciBus *bus);

/* Plugs a function in at devfn (device << 3 | function).  Returns 0, or
 * -EEXIST / -EINVAL (devfn taken, BAR size not a power of two). */
int pci_bus_add(PciBus *bus, unsigned devfn, const PciDeviceInfo *info,
                const PciDeviceOps *ops, void *opaque);

/* What firmware does at boot: assign BAR addresses (I/O from io_base,
 * memory from mem_base, each aligned to its size), set the interrupt line
 * from irq_base + slot, and leave decoding disabled (command = 0). */
void pci_bus_assign_resources(PciBus *bus, uint32_t io_base, uint32_t mem_base,
                              unsigned irq_base);

/* Config space, as through CF8/CFC.  Reads of an empty devfn give all-ones. */
uint32_t pci_config_read(PciBus *bus, unsigned devfn, unsigned offset, unsigned size);
void pci_config_write(PciBus *bus, unsigned devfn, unsigned offset, uint32_t value,
                      unsigned size);

/* Port I/O and memory accesses, decoded against the enabled BARs.  Return 0
 * when a BAR claimed the access, -1 when none did (reads then give all-ones). */
int pci_bus_io_read(PciBus *bus, uint32_t port, unsigned size, uint32_t *value);
int pci_bus_io_write(PciBus *bus, uint32_t port, unsigned size, uint32_t value);
int pci_bus_mem_read(PciBus *bus, uint64_t addr, unsigned size, uint32_t *value);
int pci_bus_mem_write(PciBus *bus, uint64_t addr, unsigned size, uint32_t value);

/* Direct BAR access by index, bypassing address decode (used by the
 * kernel's iomap cookies, which already know device and BAR).  Traced. */
uint32_t pci_bus_bar_read(PciBus *bus, unsigned devfn, int bar, uint64_t offset,
                          unsigned size);
void pci_bus_bar_write(PciBus *bus, unsigned devfn, int bar, uint64_t offset,
                       uint32_t value, unsigned size);

/* Lookups for the kernel side's PCI core. */
const PciDeviceInfo *pci_bus_device_info(const PciBus *bus, unsigned devfn);
/* Next populated devfn >= from, or -1. */
int pci_bus_next_devfn(const PciBus *bus, unsigned from);
/* Assigned base address of a BAR (0 if none) and its type/size. */
uint64_t pci_bus_bar_base(const PciBus *bus, unsigned devfn, int bar);
/* Sets bits in the status register (master abort etc.; RW1C by software). */
void pci_bus_set_status(PciBus *bus, unsigned devfn, uint16_t bits);

void pci_bus_set_trace(PciBus *bus, PciTraceFn fn, void *opaque);

/* Snapshot: the bus's guest-visible state (config spaces) in a flat blob. */
size_t pci_bus_state_size(const PciBus *bus);
void pci_bus_state_save(const PciBus *bus, void *buf);
void pci_bus_state_restore(PciBus *bus, const void *buf);

#endif
