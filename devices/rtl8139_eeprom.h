/*
 * devices/rtl8139_eeprom.h: the 93C46 serial EEPROM beside an RTL8139
 * (64 x 16-bit words, 6-bit addresses), driven bit by bit through the
 * chip's Cfg9346 register in programming mode.  See rtl8139_eeprom.c.
 */
#ifndef DEVICES_RTL8139_EEPROM_H
#define DEVICES_RTL8139_EEPROM_H

#include <stdint.h>

#define RTL8139_EEPROM_WORDS 64
#define RTL8139_EEPROM_SIGNATURE 0x8129  /* word 0: what 8139too checks */
#define RTL8139_EEPROM_MAC_WORD 7        /* words 7..9: MAC, little-endian */

/* The part the serial protocol changes; reset puts it back to idle. */
typedef struct Rtl8139EepromWire {
    uint16_t shift;                  /* bits shifted in */
    uint8_t cs, sk;                  /* pin levels last driven */
    uint8_t phase;                   /* Rtl8139EepromPhase */
    uint8_t addr;                    /* word being read or written */
    uint8_t bits;                    /* bits shifted in or out so far */
    uint8_t dout;                    /* level on DO */
    uint8_t write_enabled;           /* after EWEN, until EWDS */
    uint8_t pad;                     /* explicit, always zero: saved as bytes */
} Rtl8139EepromWire;

typedef struct Rtl8139Eeprom {
    uint16_t word[RTL8139_EEPROM_WORDS];  /* non-volatile contents */
    Rtl8139EepromWire wire;
} Rtl8139Eeprom;

/* Fills the contents as a board vendor would program them. */
void rtl8139_eeprom_init(Rtl8139Eeprom *e, const uint8_t mac[6],
                         uint16_t vendor_id, uint16_t device_id,
                         uint16_t subsystem_vendor_id, uint16_t subsystem_id);
/* Power-on state of the serial interface (contents untouched). */
void rtl8139_eeprom_reset_wire(Rtl8139Eeprom *e);
/* Drives the pins: chip select, shift clock, data in.  Acts on SK edges. */
void rtl8139_eeprom_drive(Rtl8139Eeprom *e, int cs, int sk, int di);
/* Level of the data-out pin (EEDO). */
int rtl8139_eeprom_dout(const Rtl8139Eeprom *e);
/* Copies the MAC out of words 7..9, as the chip's autoload does. */
void rtl8139_eeprom_read_mac(const Rtl8139Eeprom *e, uint8_t mac[6]);

#endif
