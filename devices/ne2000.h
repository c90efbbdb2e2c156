/*
 * devices/ne2000.h: an NE2000-compatible PCI NIC, the RealTek RTL8029AS
 * (a DP8390 core with 16 KiB of on-chip buffer RAM), as Linux's ne2k-pci and
 * 8390 modules drive it.  See ne2000.c for what is and is not modelled.
 *
 * The chip has no bus-master DMA: the driver moves every byte through the
 * data port by port I/O, so the model takes no DmaPort.  It has no timers
 * either: a transmit, a remote DMA and a reset complete within the port
 * access that starts them, so there is no ne2000_advance().
 */
#ifndef DEVICES_NE2000_H
#define DEVICES_NE2000_H

#include <stddef.h>
#include <stdint.h>

#include "base/irq_line.h"
#include "devices/net_port.h"
#include "devices/pci.h"

#define NE2000_VENDOR_ID 0x10ec      /* RealTek */
#define NE2000_DEVICE_ID 0x8029      /* RTL8029(AS) */
#define NE2000_CLASS 0x020000        /* network, Ethernet */
#define NE2000_IO_SIZE 32u           /* BAR0: registers, data port, reset port */

/* BAR0 layout (NE2000 convention). */
#define NE2000_REG_CR 0x00           /* DP8390 command register, every page */
#define NE2000_DATA_PORT 0x10        /* remote DMA window: 0x10-0x17 */
#define NE2000_RESET_PORT 0x1f       /* a read resets the chip: 0x18-0x1f */

/* The on-chip buffer: 16 KiB at remote/local addresses 0x4000-0x7fff,
 * pages 0x40-0x7f; the station address PROM answers below 0x4000. */
#define NE2000_RAM_START 0x4000u
#define NE2000_RAM_SIZE 0x4000u

typedef struct Ne2000 Ne2000;

typedef struct Ne2000Config {
    uint8_t mac[6];          /* burnt into the station address PROM */
    IrqLine irq;             /* INTA# */
    NetPort net;             /* where transmitted frames go */
} Ne2000Config;

/* Creates the chip in its power-on state and plugs it into bus at devfn
 * (BAR0 = 32 bytes of I/O, INTA#).  NULL on out of memory or a taken devfn.
 * The bus keeps a pointer to the device: free the bus first or together. */
Ne2000 *ne2000_new(PciBus *bus, unsigned devfn, const Ne2000Config *cfg);
void ne2000_free(Ne2000 *s);
/* Power-on: every register to its reset value, the buffer RAM cleared
 * (power-on contents are undefined; zero keeps runs identical). */
void ne2000_reset(Ne2000 *s);

/* A frame from the wire, without FCS.  0: the chip took it off the wire --
 * stored in the receive ring (PRX raised) or dropped by its address filter,
 * as the hardware drops frames not addressed to it.  -EAGAIN: no room now
 * (chip stopped, receiver in monitor or loopback mode, ring full -- the last
 * also raises OVW), offer it again later.  -EINVAL: shorter than an
 * Ethernet header or longer than NET_PORT_MAX_FRAME.  Frames shorter than
 * NET_PORT_MIN_FRAME are stored padded with zeros to it, as they would
 * arrive on the wire. */
int ne2000_receive(Ne2000 *s, const uint8_t *frame, size_t len);

/* Snapshot: registers, PROM and buffer RAM as one flat blob. */
size_t ne2000_state_size(void);
void ne2000_state_save(const Ne2000 *s, void *buf);
void ne2000_state_restore(Ne2000 *s, const void *buf);

#endif
