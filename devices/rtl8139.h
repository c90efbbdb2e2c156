/*
 * devices/rtl8139.h: RealTek RTL8139 Fast Ethernet controller model.
 * See rtl8139.c for what is and is not modelled.
 */
#ifndef DEVICES_RTL8139_H
#define DEVICES_RTL8139_H

#include <stdint.h>
#include <stddef.h>

#include "base/irq_line.h"
#include "devices/pci.h"

typedef struct Rtl8139 Rtl8139;

typedef struct Rtl8139Config {
    uint8_t mac[6];          /* stored in the 93C46 EEPROM and IDR0-5 */
    uint8_t revision;        /* PCI revision; 0x10 for a plain 8139 */
    IrqLine irq;
} Rtl8139Config;

/* Creates the device and plugs it into bus at devfn.  BAR0 = 256 bytes of
 * I/O, BAR1 = 256 bytes of memory, INTA#. */
Rtl8139 *rtl8139_new(PciBus *bus, unsigned devfn, const Rtl8139Config *cfg);
void rtl8139_free(Rtl8139 *s);
/* Hardware reset: what power-on and ChipCmd.RST restore. */
void rtl8139_reset(Rtl8139 *s);

size_t rtl8139_state_size(void);
void rtl8139_state_save(const Rtl8139 *s, void *buf);
void rtl8139_state_restore(Rtl8139 *s, const void *buf);

#endif
