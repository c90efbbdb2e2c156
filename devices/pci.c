/*
 * devices/pci.c: PCI bus 0 with type-0 config space (PCI Local Bus spec 3.0,
 * §6.1 "Configuration Space Organization", §6.2.5 "Base Addresses").
 *
 * Each function owns 256 bytes of config space, kept as the bytes the guest
 * reads.  Writes go through per-byte masks built from the device's declared
 * info: `wmask` says which bits software may write, `w1cmask` which bits a
 * written 1 clears (status error bits).  A BAR's low bits -- the size mask
 * and the type bits -- are simply absent from wmask, so writing 0xffffffff
 * and reading back gives the sizing answer with no extra latch: the config
 * bytes ARE the sizing state, and saving them saves it.
 *
 * Decode: a BAR claims an access only when its command bit (I/O or memory)
 * is set, its base is not 0 (0 means "not assigned"; firmware never places
 * a BAR there), and the whole access lies inside the BAR.  Misaligned BAR
 * accesses reach the device as single bytes, the way a bridge splits them
 * into byte-enabled transactions.
 *
 * Not modelled: see pci.h (bridges, extended config, MSI, ROMs, 64-bit BARs).
 */
#include "devices/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Command bits software may set: I/O, memory, bus master, parity error
 * response, SERR# enable, INTx disable. */
#define PCI_COMMAND_WMASK 0x0547u
/* Status bits that are RW1C: detected parity, signalled SERR, received
 * master/target abort, signalled target abort, master data parity error. */
#define PCI_STATUS_W1CMASK 0xf900u
#define PCI_HEADER_TYPE_NORMAL 0x00
#define PCI_BAR_IO_TYPE_BITS 0x1u
#define PCI_IO_BAR_MIN 4u
#define PCI_MEM_BAR_MIN 16u

typedef struct PciFunction {
    /* Wiring: set by pci_bus_add(), never touched by the guest. */
    PciDeviceInfo info;
    const PciDeviceOps *ops;
    void *opaque;
    uint8_t wmask[PCI_CONFIG_SIZE];
    uint8_t w1cmask[PCI_CONFIG_SIZE];
    /* Guest-visible: the config space, BAR sizing state included. */
    uint8_t config[PCI_CONFIG_SIZE];
} PciFunction;

struct PciBus {
    PciFunction *fn[PCI_MAX_DEVFN];
    PciTraceFn trace;
    void *trace_opaque;
};

static void pci_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void pci_put32(uint8_t *p, uint32_t v)
{
    pci_put16(p, (uint16_t)v);
    pci_put16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t pci_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void pci_bus_trace(const PciBus *bus, PciAccessKind kind, unsigned devfn,
                          int bar, uint64_t offset, unsigned size, uint32_t value)
{
    PciAccess a = { kind, devfn, bar, offset, size, value };

    if (bus->trace) {
        bus->trace(bus->trace_opaque, &a);
    }
}

static int pci_size_valid(unsigned size)
{
    return size == 1 || size == 2 || size == 4;
}

static uint32_t pci_ones(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

PciBus *pci_bus_new(void)
{
    return calloc(1, sizeof(PciBus));
}

void pci_bus_free(PciBus *bus)
{
    if (!bus) {
        return;
    }
    for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
        free(bus->fn[i]);
    }
    free(bus);
}

static int pci_info_check(const PciDeviceInfo *info)
{
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        uint32_t size = info->bar[i].size;
        uint32_t min = info->bar[i].type == PCI_BAR_IO ? PCI_IO_BAR_MIN
                                                       : PCI_MEM_BAR_MIN;

        if (info->bar[i].type == PCI_BAR_NONE) {
            continue;
        }
        if (info->bar[i].type != PCI_BAR_IO && info->bar[i].type != PCI_BAR_MEM32) {
            return -EINVAL;
        }
        if (size < min || (size & (size - 1)) != 0) {
            return -EINVAL;
        }
    }
    return 0;
}

/* Builds the power-on config bytes and the write masks from the info. */
static void pci_function_init(PciFunction *f)
{
    const PciDeviceInfo *info = &f->info;
    uint8_t *c = f->config;

    pci_put16(c + PCI_VENDOR_ID, info->vendor_id);
    pci_put16(c + PCI_DEVICE_ID, info->device_id);
    c[PCI_REVISION_ID] = info->revision;
    c[PCI_CLASS_PROG] = (uint8_t)info->class_code;
    pci_put16(c + PCI_CLASS_DEVICE, (uint16_t)(info->class_code >> 8));
    c[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
    pci_put16(c + PCI_SUBSYSTEM_VENDOR_ID, info->subsystem_vendor_id);
    pci_put16(c + PCI_SUBSYSTEM_ID, info->subsystem_id);
    c[PCI_INTERRUPT_PIN] = info->interrupt_pin;

    pci_put16(f->wmask + PCI_COMMAND, PCI_COMMAND_WMASK);
    pci_put16(f->w1cmask + PCI_STATUS, PCI_STATUS_W1CMASK);
    f->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    f->wmask[PCI_LATENCY_TIMER] = 0xff;
    f->wmask[PCI_INTERRUPT_LINE] = 0xff;
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        unsigned off = PCI_BASE_ADDRESS_0 + 4 * (unsigned)i;

        if (info->bar[i].type == PCI_BAR_NONE) {
            continue;
        }
        /* The address bits above the size are writable; the rest read back
         * as the type bits, which is what makes sizing work. */
        pci_put32(f->wmask + off, ~(info->bar[i].size - 1));
        pci_put32(c + off, info->bar[i].type == PCI_BAR_IO ? PCI_BAR_IO_TYPE_BITS : 0);
    }
}

int pci_bus_add(PciBus *bus, unsigned devfn, const PciDeviceInfo *info,
                const PciDeviceOps *ops, void *opaque)
{
    PciFunction *f;
    int err;

    if (devfn >= PCI_MAX_DEVFN || !info || !ops) {
        return -EINVAL;
    }
    if (bus->fn[devfn]) {
        return -EEXIST;
    }
    err = pci_info_check(info);
    if (err) {
        return err;
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        return -ENOMEM;
    }
    f->info = *info;
    f->ops = ops;
    f->opaque = opaque;
    pci_function_init(f);
    bus->fn[devfn] = f;
    return 0;
}

static PciFunction *pci_bus_fn(const PciBus *bus, unsigned devfn)
{
    return devfn < PCI_MAX_DEVFN ? bus->fn[devfn] : NULL;
}

static uint32_t pci_bar_reg(const PciFunction *f, int bar)
{
    return pci_get32(f->config + PCI_BASE_ADDRESS_0 + 4 * bar);
}

static uint64_t pci_function_bar_base(const PciFunction *f, int bar)
{
    uint32_t reg = pci_bar_reg(f, bar);

    switch (f->info.bar[bar].type) {
    case PCI_BAR_IO:
        return reg & ~(f->info.bar[bar].size - 1) & ~0x3u;
    case PCI_BAR_MEM32:
        return reg & ~(f->info.bar[bar].size - 1) & ~0xfu;
    default:
        return 0;
    }
}

/* Assigns one address space, walking functions and BARs in order so the
 * layout is a pure function of what is plugged in (determinism). */
static void pci_bus_assign_space(PciBus *bus, PciBarType type, uint64_t base)
{
    uint64_t next = base;
    uint64_t limit = type == PCI_BAR_IO ? 0x10000u : 0x100000000ull;

    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        PciFunction *f = bus->fn[devfn];

        for (int i = 0; f && i < PCI_NUM_BARS; i++) {
            uint64_t size = f->info.bar[i].size;
            uint64_t addr = (next + size - 1) & ~(size - 1);
            unsigned off = PCI_BASE_ADDRESS_0 + 4 * (unsigned)i;

            if (f->info.bar[i].type != type) {
                continue;
            }
            if (addr == 0) {
                addr = size;             /* 0 means unassigned: skip it */
            }
            if (addr + size > limit) {
                continue;                /* does not fit: left unassigned */
            }
            pci_put32(f->config + off,
                      (uint32_t)addr | (type == PCI_BAR_IO ? PCI_BAR_IO_TYPE_BITS : 0));
            next = addr + size;
        }
    }
}

void pci_bus_assign_resources(PciBus *bus, uint32_t io_base, uint32_t mem_base,
                              unsigned irq_base)
{
    pci_bus_assign_space(bus, PCI_BAR_IO, io_base);
    pci_bus_assign_space(bus, PCI_BAR_MEM32, mem_base);
    for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        PciFunction *f = bus->fn[devfn];

        if (!f) {
            continue;
        }
        pci_put16(f->config + PCI_COMMAND, 0);
        /* Interrupt routing: the four INTx lines rotate over the slots,
         * irq_base + slot % 4.  Functions without a pin keep line 0. */
        if (f->config[PCI_INTERRUPT_PIN] != 0) {
            f->config[PCI_INTERRUPT_LINE] = (uint8_t)(irq_base + ((devfn >> 3) % 4));
        }
    }
}

static uint32_t pci_config_read_bytes(const PciFunction *f, unsigned offset,
                                      unsigned size)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint32_t)f->config[offset + i] << (8 * i);
    }
    return v;
}

static void pci_config_write_bytes(PciFunction *f, unsigned offset, uint32_t value,
                                   unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        unsigned o = offset + i;
        uint8_t b = (uint8_t)(value >> (8 * i));

        f->config[o] = (uint8_t)((f->config[o] & ~f->wmask[o]) | (b & f->wmask[o]));
        f->config[o] &= (uint8_t)~(b & f->w1cmask[o]);
    }
}

uint32_t pci_config_read(PciBus *bus, unsigned devfn, unsigned offset, unsigned size)
{
    PciFunction *f = pci_bus_fn(bus, devfn);
    uint32_t v;

    if (!pci_size_valid(size) || offset >= PCI_CONFIG_SIZE ||
        offset + size > PCI_CONFIG_SIZE) {
        v = pci_ones(pci_size_valid(size) ? size : 4);
    } else if (!f) {
        v = pci_ones(size);
    } else {
        /* A read that straddles a dword is two reads stitched together;
         * config space has no read side effects, so bytes compose. */
        v = pci_config_read_bytes(f, offset, size);
    }
    pci_bus_trace(bus, PCI_ACCESS_CONFIG_READ, devfn, -1, offset, size, v);
    return v;
}

void pci_config_write(PciBus *bus, unsigned devfn, unsigned offset, uint32_t value,
                      unsigned size)
{
    PciFunction *f = pci_bus_fn(bus, devfn);

    pci_bus_trace(bus, PCI_ACCESS_CONFIG_WRITE, devfn, -1, offset, size, value);
    if (!f || !pci_size_valid(size) || offset >= PCI_CONFIG_SIZE ||
        offset + size > PCI_CONFIG_SIZE) {
        return;                          /* master abort: the write is dropped */
    }
    value &= pci_ones(size);
    while (size > 0) {
        /* Split at dword boundaries: each piece is one config transaction,
         * and the device hears about each one. */
        unsigned piece = 4 - (offset & 3);

        if (piece > size) {
            piece = size;
        }
        pci_config_write_bytes(f, offset, value, piece);
        if (f->ops->config_written) {
            f->ops->config_written(f->opaque, offset, piece);
        }
        value = piece < 4 ? value >> (8 * piece) : 0;
        offset += piece;
        size -= piece;
    }
}

/* Finds the enabled BAR of the given type covering [addr, addr+size). */
static int pci_bus_decode(const PciBus *bus, PciBarType type, uint64_t addr,
                          unsigned size, unsigned *devfn, int *bar, uint64_t *offset)
{
    uint16_t enable = type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;

    for (unsigned d = 0; d < PCI_MAX_DEVFN; d++) {
        const PciFunction *f = bus->fn[d];

        if (!f || !(f->config[PCI_COMMAND] & enable)) {
            continue;
        }
        for (int i = 0; i < PCI_NUM_BARS; i++) {
            uint64_t base = pci_function_bar_base(f, i);

            if (f->info.bar[i].type != type || base == 0) {
                continue;
            }
            if (addr >= base && addr + size <= base + f->info.bar[i].size) {
                *devfn = d;
                *bar = i;
                *offset = addr - base;
                return 0;
            }
        }
    }
    return -1;
}

static uint32_t pci_function_bar_read(PciFunction *f, int bar, uint64_t offset,
                                      unsigned size)
{
    uint32_t v = 0;

    if (!f->ops->bar_read) {
        return pci_ones(size);
    }
    if ((offset & (size - 1)) == 0) {
        return f->ops->bar_read(f->opaque, bar, offset, size) & pci_ones(size);
    }
    for (unsigned i = 0; i < size; i++) {
        v |= (f->ops->bar_read(f->opaque, bar, offset + i, 1) & 0xff) << (8 * i);
    }
    return v;
}

static void pci_function_bar_write(PciFunction *f, int bar, uint64_t offset,
                                   uint32_t value, unsigned size)
{
    if (!f->ops->bar_write) {
        return;
    }
    value &= pci_ones(size);
    if ((offset & (size - 1)) == 0) {
        f->ops->bar_write(f->opaque, bar, offset, value, size);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        f->ops->bar_write(f->opaque, bar, offset + i, (value >> (8 * i)) & 0xff, 1);
    }
}

static int pci_bus_space_read(PciBus *bus, PciBarType type, uint64_t addr,
                              unsigned size, uint32_t *value)
{
    unsigned devfn;
    int bar;
    uint64_t offset;

    if (!pci_size_valid(size) ||
        pci_bus_decode(bus, type, addr, size, &devfn, &bar, &offset) != 0) {
        *value = pci_ones(pci_size_valid(size) ? size : 4);
        return -1;
    }
    *value = pci_function_bar_read(bus->fn[devfn], bar, offset, size);
    pci_bus_trace(bus, PCI_ACCESS_BAR_READ, devfn, bar, offset, size, *value);
    return 0;
}

static int pci_bus_space_write(PciBus *bus, PciBarType type, uint64_t addr,
                               unsigned size, uint32_t value)
{
    unsigned devfn;
    int bar;
    uint64_t offset;

    if (!pci_size_valid(size) ||
        pci_bus_decode(bus, type, addr, size, &devfn, &bar, &offset) != 0) {
        return -1;
    }
    value &= pci_ones(size);
    pci_bus_trace(bus, PCI_ACCESS_BAR_WRITE, devfn, bar, offset, size, value);
    pci_function_bar_write(bus->fn[devfn], bar, offset, value, size);
    return 0;
}

int pci_bus_io_read(PciBus *bus, uint32_t port, unsigned size, uint32_t *value)
{
    return pci_bus_space_read(bus, PCI_BAR_IO, port, size, value);
}

int pci_bus_io_write(PciBus *bus, uint32_t port, unsigned size, uint32_t value)
{
    return pci_bus_space_write(bus, PCI_BAR_IO, port, size, value);
}

int pci_bus_mem_read(PciBus *bus, uint64_t addr, unsigned size, uint32_t *value)
{
    return pci_bus_space_read(bus, PCI_BAR_MEM32, addr, size, value);
}

int pci_bus_mem_write(PciBus *bus, uint64_t addr, unsigned size, uint32_t value)
{
    return pci_bus_space_write(bus, PCI_BAR_MEM32, addr, size, value);
}

/* A direct access is valid when the BAR exists and the access fits in it;
 * it does not depend on the command register (the iomap cookie was made
 * when decoding was on, and the driver owns the device). */
static PciFunction *pci_bus_bar_target(const PciBus *bus, unsigned devfn, int bar,
                                       uint64_t offset, unsigned size)
{
    PciFunction *f = pci_bus_fn(bus, devfn);

    if (!f || bar < 0 || bar >= PCI_NUM_BARS || !pci_size_valid(size) ||
        f->info.bar[bar].type == PCI_BAR_NONE ||
        offset + size > f->info.bar[bar].size) {
        return NULL;
    }
    return f;
}

uint32_t pci_bus_bar_read(PciBus *bus, unsigned devfn, int bar, uint64_t offset,
                          unsigned size)
{
    PciFunction *f = pci_bus_bar_target(bus, devfn, bar, offset, size);
    uint32_t v = f ? pci_function_bar_read(f, bar, offset, size)
                   : pci_ones(pci_size_valid(size) ? size : 4);

    pci_bus_trace(bus, PCI_ACCESS_BAR_READ, devfn, bar, offset, size, v);
    return v;
}

void pci_bus_bar_write(PciBus *bus, unsigned devfn, int bar, uint64_t offset,
                       uint32_t value, unsigned size)
{
    PciFunction *f = pci_bus_bar_target(bus, devfn, bar, offset, size);

    if (pci_size_valid(size)) {
        value &= pci_ones(size);
    }
    pci_bus_trace(bus, PCI_ACCESS_BAR_WRITE, devfn, bar, offset, size, value);
    if (f) {
        pci_function_bar_write(f, bar, offset, value, size);
    }
}

const PciDeviceInfo *pci_bus_device_info(const PciBus *bus, unsigned devfn)
{
    const PciFunction *f = pci_bus_fn(bus, devfn);

    return f ? &f->info : NULL;
}

int pci_bus_next_devfn(const PciBus *bus, unsigned from)
{
    for (unsigned d = from; d < PCI_MAX_DEVFN; d++) {
        if (bus->fn[d]) {
            return (int)d;
        }
    }
    return -1;
}

uint64_t pci_bus_bar_base(const PciBus *bus, unsigned devfn, int bar)
{
    const PciFunction *f = pci_bus_fn(bus, devfn);

    if (!f || bar < 0 || bar >= PCI_NUM_BARS) {
        return 0;
    }
    return pci_function_bar_base(f, bar);
}

void pci_bus_set_status(PciBus *bus, unsigned devfn, uint16_t bits)
{
    PciFunction *f = pci_bus_fn(bus, devfn);

    if (f) {
        f->config[PCI_STATUS] |= (uint8_t)bits;
        f->config[PCI_STATUS + 1] |= (uint8_t)(bits >> 8);
    }
}

void pci_bus_set_trace(PciBus *bus, PciTraceFn fn, void *opaque)
{
    bus->trace = fn;
    bus->trace_opaque = opaque;
}

/*
 * Snapshot blob: for each populated devfn in ascending order, its 256
 * config bytes.  The wiring (which devices sit where) is not in the blob:
 * the machine rebuilds it, and restore requires the same population.
 */
size_t pci_bus_state_size(const PciBus *bus)
{
    size_t n = 0;

    for (unsigned d = 0; d < PCI_MAX_DEVFN; d++) {
        n += bus->fn[d] ? PCI_CONFIG_SIZE : 0;
    }
    return n;
}

void pci_bus_state_save(const PciBus *bus, void *buf)
{
    uint8_t *p = buf;

    for (unsigned d = 0; d < PCI_MAX_DEVFN; d++) {
        if (bus->fn[d]) {
            memcpy(p, bus->fn[d]->config, PCI_CONFIG_SIZE);
            p += PCI_CONFIG_SIZE;
        }
    }
}

void pci_bus_state_restore(PciBus *bus, const void *buf)
{
    const uint8_t *p = buf;

    for (unsigned d = 0; d < PCI_MAX_DEVFN; d++) {
        if (bus->fn[d]) {
            memcpy(bus->fn[d]->config, p, PCI_CONFIG_SIZE);
            p += PCI_CONFIG_SIZE;
        }
    }
}
