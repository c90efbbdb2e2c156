/*
 * devices/pcnet.h: AMD PCnet-PCI II (Am79C970A) Ethernet controller model,
 * the chip Debian's pcnet32.ko drives.  See pcnet.c for what is and is not
 * modelled.
 */
#ifndef DEVICES_PCNET_H
#define DEVICES_PCNET_H

#include <stddef.h>
#include <stdint.h>

#include "base/irq_line.h"
#include "devices/net_port.h"
#include "devices/pci.h"
#include "iommu/dma_port.h"

#define PCNET_VENDOR_ID 0x1022       /* AMD */
#define PCNET_DEVICE_ID 0x2000       /* PCnet-PCI family (pcnet32: "LANCE") */
#define PCNET_REG_SPACE 32u          /* BAR0 I/O and BAR1 memory, each */

/* The transmit demand poll the chip runs on its own (CSR4 TXDPOLL clear):
 * every 1.6 ms of virtual time, see pcnet_advance(). */
#define PCNET_POLL_INTERVAL_NS 1600000ull

typedef struct Pcnet Pcnet;

typedef struct PcnetConfig {
    uint8_t mac[6];          /* the station address in the APROM/EEPROM */
    DmaPort *dma;            /* every access to guest memory; must outlive
                              * the device */
    IrqLine irq;             /* INTA# */
    NetPort net;             /* where transmitted frames go (tx may be NULL) */
} PcnetConfig;

/* Creates the device (in the H_RESET state) and plugs it into bus at devfn:
 * BAR0 = 32 bytes of I/O, BAR1 = 32 bytes of memory decoding the same
 * registers, INTA#.  NULL when cfg->dma is NULL, on out of memory or when
 * devfn is taken. */
Pcnet *pcnet_new(PciBus *bus, unsigned devfn, const PcnetConfig *cfg);
/* The bus keeps a pointer to the device: free the bus first or together. */
void pcnet_free(Pcnet *s);
/* H_RESET (PCI RST#): every CSR and BCR to its default, word I/O mode, the
 * station address reloaded from the EEPROM into CSR12-14. */
void pcnet_reset(Pcnet *s);

/*
 * A frame from the wire (without FCS, NET_PORT_MIN_FRAME..MAX_FRAME bytes;
 * shorter ones of at least a header are zero-padded to the minimum, as the
 * sending station does).  The chip appends the FCS and DMAs both into the
 * receive ring.  Returns
 *   0        accepted: in the ring (RINT), or discarded by the address
 *            filter or by a descriptor chain too short for it (BUFF), as
 *            the hardware would discard it;
 *   -EAGAIN  no buffer now: the receiver is off (stopped, suspended, DRX)
 *            or the next descriptor is not the chip's (MISS counted);
 *            offer the frame again later;
 *   -EINVAL  not a frame this chip can take (size);
 *   -EIO     a DMA of the frame failed (MERR, master abort): lost.
 */
int pcnet_receive(Pcnet *s, const uint8_t *frame, size_t len);

/* The machine's virtual clock, in ns, never going back: runs the chip's own
 * transmit demand poll when PCNET_POLL_INTERVAL_NS has passed since the
 * last one. */
void pcnet_advance(Pcnet *s, uint64_t now_ns);

/* Snapshot: registers, ring positions and the EEPROM contents as a flat
 * blob (no host pointers).  Restore refuses (-EINVAL) a blob whose ring
 * geometry is impossible and leaves the device as it was.  The PCI command
 * register is the bus's state: restore the bus first, then the device
 * (which re-reads whether it may master). */
size_t pcnet_state_size(void);
void pcnet_state_save(const Pcnet *s, void *buf);
int pcnet_state_restore(Pcnet *s, const void *buf);

#endif
