/*
 * devices/e1000_eeprom.h: the 93C46-class Microwire serial EEPROM beside an
 * Intel 82540EM (64 x 16-bit words, 6-bit addresses), as the chip's EECD
 * register exposes its pins to software.  See e1000_eeprom.c.
 */
#ifndef DEVICES_E1000_EEPROM_H
#define DEVICES_E1000_EEPROM_H

#include <stdint.h>

#define E1000_EEPROM_WORDS 64
#define E1000_EEPROM_CHECKSUM_WORD 0x3f  /* makes words 0..63 sum to 0xbaba */
#define E1000_EEPROM_SUM 0xbaba

/* The serial interface; a hardware reset puts it back to idle.  Bytes only,
 * so the struct has no padding and saves bit-identically. */
typedef struct E1000EepromWire {
    uint8_t cs, sk;              /* pin levels last driven */
    uint8_t phase;               /* E1000EepromPhase (e1000_eeprom.c) */
    uint8_t bits;                /* bits shifted in or out in this phase */
    uint8_t addr;                /* word being read or written */
    uint8_t dout;                /* level on DO */
    uint8_t write_enabled;       /* after EWEN, until EWDS */
    uint8_t opcode;              /* the command's two opcode bits */
    uint16_t shift;              /* bits shifted in */
    uint16_t pad;                /* explicit, always zero */
} E1000EepromWire;

typedef struct E1000Eeprom {
    uint16_t word[E1000_EEPROM_WORDS];   /* non-volatile contents */
    E1000EepromWire wire;
} E1000Eeprom;

/* Fills the contents as Intel's reference image for a copper 82540EM
 * would: MAC in words 0-2, ids, init control words, checksum. */
void e1000_eeprom_init(E1000Eeprom *e, const uint8_t mac[6], uint16_t vendor_id,
                       uint16_t device_id, uint16_t subsystem_vendor_id,
                       uint16_t subsystem_id);
/* Power-on state of the serial interface (contents untouched). */
void e1000_eeprom_reset_wire(E1000Eeprom *e);
/* Drives the pins: chip select, shift clock, data in.  Acts on SK edges
 * while selected and on the falling edge of CS. */
void e1000_eeprom_drive(E1000Eeprom *e, int cs, int sk, int di);
/* Level of the data-out pin. */
int e1000_eeprom_dout(const E1000Eeprom *e);
/* One word, as the chip's EERD read engine and its reset autoload fetch it
 * (addresses wrap at the EEPROM's size, like its address counter). */
uint16_t e1000_eeprom_read_word(const E1000Eeprom *e, unsigned addr);
/* Puts a restored blob's indices back in range. */
void e1000_eeprom_sanitize(E1000Eeprom *e);

#endif
