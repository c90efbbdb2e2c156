/*
 * devices/rtl8139.h: RealTek RTL8139 Fast Ethernet controller model.
 * See rtl8139.c for what is and is not modelled.
 */
#ifndef DEVICES_RTL8139_H
#define DEVICES_RTL8139_H

#include <stdint.h>
#include <stddef.h>

#include "base/irq_line.h"
#include "devices/net_port.h"
#include "devices/pci.h"
#include "iommu/dma_port.h"

typedef struct Rtl8139 Rtl8139;

/* Which silicon the transmit-config version bits (TCR 30:26, 23:22) name.
 * 8139too treats both alike except that for rev K it runs its media
 * thread (rtl8139_thread) and tunes the "twister" every few ticks. */
typedef enum Rtl8139Chip {
    RTL8139_CHIP_8139 = 0,   /* "RTL-8139": the default */
    RTL8139_CHIP_8139K,      /* "RTL-8139 rev K" */
} Rtl8139Chip;

typedef struct Rtl8139Config {
    uint8_t mac[6];          /* stored in the 93C46 EEPROM and IDR0-5 */
    uint8_t revision;        /* PCI revision; 0 or 0x10 for a plain 8139 */
    uint8_t chip;            /* Rtl8139Chip */
    IrqLine irq;
    /* All bus-master traffic (tx fetch, rx ring writes) goes through dma,
     * which must outlive the device.  NULL: the chip has no path to
     * memory and every transfer ends in a master abort. */
    DmaPort *dma;
    NetPort net;             /* transmitted frames (without FCS); {0}: dropped */
} Rtl8139Config;

/* Creates the device and plugs it into bus at devfn.  BAR0 = 256 bytes of
 * I/O, BAR1 = 256 bytes of memory, INTA#. */
Rtl8139 *rtl8139_new(PciBus *bus, unsigned devfn, const Rtl8139Config *cfg);
void rtl8139_free(Rtl8139 *s);
/* Hardware reset: what power-on and ChipCmd.RST restore. */
void rtl8139_reset(Rtl8139 *s);

/*
 * A frame arrives from the wire (len bytes, destination MAC first, no FCS;
 * a frame shorter than 60 bytes is padded with zeros as the sender's MAC
 * pads it).  Returns
 *   0        consumed: written into the driver's ring with its header and
 *            FCS and ROK raised -- or dropped by the address filter, as
 *            the chip drops a frame not addressed to it;
 *   -EAGAIN  no room now: receiver disabled (ChipCmd.RE clear) or the ring
 *            would overrun CAPR (RxOverflow is raised); offer it again later;
 *   -EINVAL  len < 14 or len > 1514;
 *   -EFAULT  the ring write failed (IOMMU fault, bus mastering off): the
 *            frame is lost as on the chip, ISR.SERR and the PCI status
 *            record it; do not offer it again.
 */
int rtl8139_receive(Rtl8139 *s, const uint8_t *frame, size_t len);

/* Virtual time.  The machine calls this as its clock moves (time never
 * goes back; an earlier now_ns is ignored).  The general-purpose timer TCTR
 * counts at the 33 MHz PCI clock from it, and ISR.TimeOut is raised when
 * TCTR passes a non-zero TimerInt. */
void rtl8139_advance(Rtl8139 *s, uint64_t now_ns);
/* The virtual time at which the timer next raises ISR.TimeOut, or
 * UINT64_MAX when TimerInt is 0 (8139too never programs it). */
uint64_t rtl8139_next_deadline_ns(const Rtl8139 *s);

/* Snapshot: EEPROM, registers and the device's clock as one flat blob.
 * Restore the PCI bus first: the device re-reads its command register
 * (bus mastering) from it. */
size_t rtl8139_state_size(void);
void rtl8139_state_save(const Rtl8139 *s, void *buf);
void rtl8139_state_restore(Rtl8139 *s, const void *buf);

#endif
