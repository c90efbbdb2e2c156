/*
 * devices/cdma.c: "cdma", a sluice test device -- a toy PCI DMA engine with
 * no datasheet, after the shape STYLE.md sketches.  It exists so that tests
 * (and the DMA-API checks' test modules) can make a device read or write an
 * IOVA at a moment of their choosing and see what the IOMMU made of it.
 *
 * PCI function 1b36:00f0 (Red Hat's QEMU vendor id; no Debian 6.1 driver
 * matches this pair -- it is ours, not QEMU's), class ff0000, INTA#, BAR0 =
 * 4 KiB of 32-bit memory registers (layout in cdma.h; only naturally
 * aligned 4-byte accesses decode, anything else reads all-ones and writes
 * are dropped).  A CMD write runs the command to completion before the
 * write returns:
 *   COPY   dma_read LEN bytes at SRC, then dma_write them at DST;
 *   FILL   dma_write LEN bytes of PATTERN (little-endian, repeated) at DST;
 *   READ   dma_read LEN bytes at SRC into a 256-byte internal buffer;
 *   WRITE  dma_write LEN bytes of the internal buffer at DST.
 * Each access is all-or-nothing (dma_port.h), so a COPY whose read faults
 * writes nothing.  Outcomes land in STATUS (sticky, write 1 to clear):
 * DONE on success; ERR_LEN when LEN exceeds 64 KiB (256 bytes for READ and
 * WRITE) -- nothing moves; MASTER_ABORT when an access failed -- the IOMMU
 * has recorded why, and the function's PCI status gets "received master
 * abort", as a real bus master's would.  INTA# is high while
 * (STATUS & INTMASK) != 0.  Unknown commands are ignored.
 *
 * Bus mastering: with PCI_COMMAND_MASTER clear the engine cannot issue a
 * transaction, so a command ends with MASTER_ABORT at once and the IOMMU
 * sees nothing (it is the device, not the IOMMU, that refused).
 *
 * Not modelled: anything asynchronous (commands take no virtual time),
 * queues or descriptors, 64-bit BARs, MSI.
 */
#include "devices/cdma.h"

#include <stdlib.h>
#include <string.h>

/* Everything cdma_reset() restores and the snapshot carries.  Widest first,
 * no padding: saved as raw bytes. */
typedef struct CdmaRegs {
    uint64_t src, dst;
    uint32_t len;
    uint32_t status;
    uint32_t pattern;
    uint32_t intmask;
    uint8_t buf[CDMA_BUF_SIZE];   /* what the last READ fetched */
} CdmaRegs;

_Static_assert(sizeof(CdmaRegs) == 32 + CDMA_BUF_SIZE, "CdmaRegs has no hidden padding");

struct Cdma {
    /* Wiring: set by cdma_new(), never touched by the guest. */
    PciBus *bus;
    unsigned devfn;
    DmaPort *dma;
    IrqLine irq;
    uint8_t *scratch;             /* CDMA_MAX_LEN bytes; contents never state */
    /* Guest-visible registers: exactly what cdma_reset() restores. */
    CdmaRegs r;
};

static void cdma_update_irq(Cdma *s)
{
    irq_line_set(&s->irq, (s->r.status & s->r.intmask & CDMA_STATUS_ALL) != 0);
}

void cdma_reset(Cdma *s)
{
    memset(&s->r, 0, sizeof(s->r));
    cdma_update_irq(s);
}

/* A failed access: visible in the engine's STATUS and in the function's PCI
 * status.  The reason is in the IOMMU's fault record. */
static void cdma_abort(Cdma *s)
{
    s->r.status |= CDMA_STATUS_MASTER_ABORT;
    pci_bus_set_status(s->bus, s->devfn, PCI_STATUS_REC_MASTER_ABORT);
}

static void cdma_fill_pattern(uint8_t *p, uint32_t len, uint32_t pattern)
{
    for (uint32_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(pattern >> (8 * (i & 3)));
    }
}

/* Runs one command.  Returns the STATUS bit it ends with (0 if unknown). */
static uint32_t cdma_execute(Cdma *s, uint32_t cmd)
{
    CdmaRegs *r = &s->r;
    uint32_t limit = (cmd == CDMA_CMD_READ || cmd == CDMA_CMD_WRITE) ? CDMA_BUF_SIZE
                                                                    : CDMA_MAX_LEN;

    if (cmd < CDMA_CMD_COPY || cmd > CDMA_CMD_WRITE) {
        return 0;
    }
    if (r->len > limit) {
        return CDMA_STATUS_ERR_LEN;
    }
    if (!(pci_config_read(s->bus, s->devfn, PCI_COMMAND, 2) & PCI_COMMAND_MASTER)) {
        return CDMA_STATUS_MASTER_ABORT;
    }
    switch (cmd) {
    case CDMA_CMD_COPY:
        if (dma_read(s->dma, r->src, s->scratch, r->len) != 0 ||
            dma_write(s->dma, r->dst, s->scratch, r->len) != 0) {
            cdma_abort(s);
            return CDMA_STATUS_MASTER_ABORT;
        }
        break;
    case CDMA_CMD_FILL:
        cdma_fill_pattern(s->scratch, r->len, r->pattern);
        if (dma_write(s->dma, r->dst, s->scratch, r->len) != 0) {
            cdma_abort(s);
            return CDMA_STATUS_MASTER_ABORT;
        }
        break;
    case CDMA_CMD_READ:
        /* Through scratch: a failed read leaves the buffer as it was. */
        if (dma_read(s->dma, r->src, s->scratch, r->len) != 0) {
            cdma_abort(s);
            return CDMA_STATUS_MASTER_ABORT;
        }
        memcpy(r->buf, s->scratch, r->len);
        break;
    case CDMA_CMD_WRITE:
        if (dma_write(s->dma, r->dst, r->buf, r->len) != 0) {
            cdma_abort(s);
            return CDMA_STATUS_MASTER_ABORT;
        }
        break;
    }
    return CDMA_STATUS_DONE;
}

static uint32_t cdma_reg_read(const Cdma *s, unsigned off)
{
    const CdmaRegs *r = &s->r;

    switch (off) {
    case CDMA_REG_SRC_LO:  return (uint32_t)r->src;
    case CDMA_REG_SRC_HI:  return (uint32_t)(r->src >> 32);
    case CDMA_REG_DST_LO:  return (uint32_t)r->dst;
    case CDMA_REG_DST_HI:  return (uint32_t)(r->dst >> 32);
    case CDMA_REG_LEN:     return r->len;
    case CDMA_REG_STATUS:  return r->status;
    case CDMA_REG_PATTERN: return r->pattern;
    case CDMA_REG_INTMASK: return r->intmask;
    default:               return 0;    /* CMD and unused offsets */
    }
}

static void cdma_reg_write(Cdma *s, unsigned off, uint32_t v)
{
    CdmaRegs *r = &s->r;

    switch (off) {
    case CDMA_REG_SRC_LO:  r->src = (r->src & ~0xffffffffull) | v; break;
    case CDMA_REG_SRC_HI:  r->src = (r->src & 0xffffffffull) | (uint64_t)v << 32; break;
    case CDMA_REG_DST_LO:  r->dst = (r->dst & ~0xffffffffull) | v; break;
    case CDMA_REG_DST_HI:  r->dst = (r->dst & 0xffffffffull) | (uint64_t)v << 32; break;
    case CDMA_REG_LEN:     r->len = v; break;
    case CDMA_REG_CMD:     r->status |= cdma_execute(s, v); break;
    case CDMA_REG_STATUS:  r->status &= ~(v & CDMA_STATUS_ALL); break;
    case CDMA_REG_PATTERN: r->pattern = v; break;
    case CDMA_REG_INTMASK: r->intmask = v & CDMA_STATUS_ALL; break;
    default:               break;
    }
    cdma_update_irq(s);
}

static uint32_t cdma_bar_read(void *opaque, int bar, uint64_t offset, unsigned size)
{
    if (size != 4 || (offset & 3) || offset >= CDMA_BAR_SIZE) {
        return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
    }
    return cdma_reg_read(opaque, (unsigned)offset);
}

static void cdma_bar_write(void *opaque, int bar, uint64_t offset, uint32_t value,
                           unsigned size)
{
    if (size == 4 && !(offset & 3) && offset < CDMA_BAR_SIZE) {
        cdma_reg_write(opaque, (unsigned)offset, value);
    }
}

static const PciDeviceOps cdma_pci_ops = {
    .bar_read = cdma_bar_read,
    .bar_write = cdma_bar_write,
};

Cdma *cdma_new(PciBus *bus, unsigned devfn, DmaPort *dma, const IrqLine *irq)
{
    const PciDeviceInfo info = {
        .name = "cdma",
        .vendor_id = CDMA_VENDOR_ID,
        .device_id = CDMA_DEVICE_ID,
        .subsystem_vendor_id = CDMA_VENDOR_ID,
        .subsystem_id = CDMA_DEVICE_ID,
        .revision = 1,
        .class_code = CDMA_CLASS,
        .interrupt_pin = 1,
        .bar = { { PCI_BAR_MEM32, CDMA_BAR_SIZE } },
    };
    Cdma *s;

    if (!dma) {
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    s->scratch = malloc(CDMA_MAX_LEN);
    if (!s->scratch) {
        free(s);
        return NULL;
    }
    s->bus = bus;
    s->devfn = devfn;
    s->dma = dma;
    if (irq) {
        s->irq = *irq;
    }
    if (pci_bus_add(bus, devfn, &info, &cdma_pci_ops, s) != 0) {
        free(s->scratch);
        free(s);
        return NULL;
    }
    cdma_reset(s);
    return s;
}

void cdma_free(Cdma *s)
{
    if (s) {
        free(s->scratch);
        free(s);
    }
}

size_t cdma_state_size(void)
{
    return sizeof(CdmaRegs);
}

void cdma_state_save(const Cdma *s, void *buf)
{
    memcpy(buf, &s->r, sizeof(s->r));
}

void cdma_state_restore(Cdma *s, const void *buf)
{
    memcpy(&s->r, buf, sizeof(s->r));
    /* A blob from disk is not trusted to hold only defined bits. */
    s->r.status &= CDMA_STATUS_ALL;
    s->r.intmask &= CDMA_STATUS_ALL;
    cdma_update_irq(s);
}
