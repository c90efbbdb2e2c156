/*
 * devices/cdma.h: "cdma", a toy PCI DMA engine that exists only so tests can
 * make a device read and write guest memory on command (the DMA-API checks
 * need a device that touches an IOVA exactly when the test says so).
 * See cdma.c for what it models.
 */
#ifndef DEVICES_CDMA_H
#define DEVICES_CDMA_H

#include <stddef.h>
#include <stdint.h>

#include "base/irq_line.h"
#include "devices/pci.h"
#include "iommu/dma_port.h"

/* Sluice's own test device: no Linux driver binds to it (see cdma.c). */
#define CDMA_VENDOR_ID 0x1b36
#define CDMA_DEVICE_ID 0x00f0
#define CDMA_CLASS 0xff0000        /* "unassigned class" */
#define CDMA_BAR_SIZE 4096u        /* BAR0, MEM32 */

/* BAR0 registers: 32 bits each, naturally aligned accesses only. */
enum {
    CDMA_REG_SRC_LO = 0x00,        /* source IOVA */
    CDMA_REG_SRC_HI = 0x04,
    CDMA_REG_DST_LO = 0x08,        /* destination IOVA */
    CDMA_REG_DST_HI = 0x0c,
    CDMA_REG_LEN = 0x10,           /* bytes */
    CDMA_REG_CMD = 0x14,           /* write-only: a write runs the command */
    CDMA_REG_STATUS = 0x18,        /* write 1 to clear */
    CDMA_REG_PATTERN = 0x1c,       /* fill value, little-endian, repeated */
    CDMA_REG_INTMASK = 0x20,       /* STATUS bits that raise INTA# */
};

/* CMD values. */
enum {
    CDMA_CMD_COPY = 1,             /* SRC -> DST, LEN bytes */
    CDMA_CMD_FILL = 2,             /* DST <- PATTERN repeated, LEN bytes */
    CDMA_CMD_READ = 3,             /* SRC -> internal buffer (device reads) */
    CDMA_CMD_WRITE = 4,            /* internal buffer -> DST (device writes) */
};

/* STATUS (and INTMASK) bits. */
#define CDMA_STATUS_DONE 0x1u
#define CDMA_STATUS_MASTER_ABORT 0x2u
#define CDMA_STATUS_ERR_LEN 0x4u
#define CDMA_STATUS_ALL 0x7u

#define CDMA_MAX_LEN (64u * 1024u)   /* COPY and FILL */
#define CDMA_BUF_SIZE 256u           /* READ and WRITE */

typedef struct Cdma Cdma;

/* Creates the device and plugs it into bus at devfn (BAR0 = 4 KiB of memory,
 * INTA#).  All DMA goes through dma, which must outlive the device; irq may
 * be NULL (no line wired).  NULL on out of memory or a taken devfn. */
Cdma *cdma_new(PciBus *bus, unsigned devfn, DmaPort *dma, const IrqLine *irq);
/* The bus keeps a pointer to the device: free the bus first or together. */
void cdma_free(Cdma *s);
/* Power-on state: every register and the internal buffer zero, line low. */
void cdma_reset(Cdma *s);

size_t cdma_state_size(void);
void cdma_state_save(const Cdma *s, void *buf);
void cdma_state_restore(Cdma *s, const void *buf);

#endif
