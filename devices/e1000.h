/*
 * devices/e1000.h: Intel 82540EM Gigabit Ethernet controller model (the
 * "e1000" of QEMU and of Linux's e1000.ko).  See e1000.c for what is and is
 * not modelled.
 */
#ifndef DEVICES_E1000_H
#define DEVICES_E1000_H

#include <stddef.h>
#include <stdint.h>

#include "base/irq_line.h"
#include "devices/net_port.h"
#include "devices/pci.h"
#include "iommu/dma_port.h"

#define E1000_VENDOR_ID 0x8086
#define E1000_DEVICE_ID 0x100e       /* 82540EM desktop */
#define E1000_MMIO_SIZE 0x20000u     /* BAR0: 128 KiB of registers */
#define E1000_IO_SIZE 64u            /* BAR1: IOADDR/IODATA window */

/* Largest frame e1000_receive() takes (without FCS): the chip's 16 KiB
 * long-packet limit less the 4 FCS bytes it appends. */
#define E1000_RX_MAX_FRAME (16384u - 4u)

typedef struct E1000 E1000;

typedef struct E1000Config {
    uint8_t mac[6];          /* stored in the EEPROM, autoloaded into RAL0/RAH0 */
    IrqLine irq;             /* INTA#; a zero IrqLine means none wired */
    NetPort net;             /* where transmitted frames go; may be empty */
} E1000Config;

/* Creates the device and plugs it into bus at devfn: BAR0 = 128 KiB of
 * memory, BAR1 = 64 bytes of I/O, INTA#.  All DMA goes through dma, which
 * must outlive the device.  NULL on out of memory or a taken devfn. */
E1000 *e1000_new(PciBus *bus, unsigned devfn, DmaPort *dma, const E1000Config *cfg);
/* The bus keeps a pointer to the device: free the bus first or together. */
void e1000_free(E1000 *s);
/* Power-on reset: every register, the PHY and the EEPROM's serial
 * interface (its contents stay). */
void e1000_reset(E1000 *s);

/*
 * A frame arrives from the wire (len bytes, without FCS; shorter than 60
 * is padded as the sender's MAC would have).  Returns
 *   0        the frame left the wire: DMA'd into the driver's receive
 *            buffers with status written and the interrupt raised -- or
 *            dropped by the chip's address filter or a failed DMA, as the
 *            hardware would drop it;
 *   -EAGAIN  the chip cannot take it now (receiver disabled, link down,
 *            not enough free receive descriptors): offer it again later;
 *   -EINVAL  len is 0, above E1000_RX_MAX_FRAME, or a long frame while
 *            RCTL.LPE is off.
 */
int e1000_receive(E1000 *s, const uint8_t *frame, size_t len);

/* Snapshot: registers, PHY and EEPROM (contents and serial state) as a
 * flat blob.  The wiring (bus, DMA port, IRQ, NetPort) is not in it. */
size_t e1000_state_size(void);
void e1000_state_save(const E1000 *s, void *buf);
void e1000_state_restore(E1000 *s, const void *buf);

#endif
