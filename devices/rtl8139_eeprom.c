/*
 * devices/rtl8139_eeprom.c: a 93C46 serial EEPROM in x16 organisation, as
 * wired to the RTL8139's EECS/EESK/EEDI/EEDO pins (RTL8139C(L) datasheet
 * §6 "EEPROM (93C46) Contents" and the Cfg9346 register; the protocol is
 * the Microwire one of the 93C46 datasheets).
 *
 * Protocol, per rising SK edge while CS is high: leading 0s are ignored
 * until a start bit 1, then a 2-bit opcode and a 6-bit address, MSB first.
 *   READ  (10 a): DO drives a dummy 0 right after the last address bit,
 *                 then D15..D0 on the following rising edges; while CS
 *                 stays high the next word follows (sequential read).
 *   WRITE (01 a) + 16 data bits; ERASE (11 a); and the 00 group chosen by
 *   the top two address bits: EWEN (11), EWDS (00), ERAL (10), WRAL (01).
 * Writes and erases need EWEN first (power-on state is write-disabled).
 * Programming is instantaneous: once CS falls and rises again DO shows
 * READY (1) until the next start bit.
 *
 * 8139too's read_eeprom() fits this: it sends two leading 0s, start, 10,
 * the address, then reads DO after each rising edge; its 8-bit-address
 * probe read of word 0 therefore sees the data two bits early (!= 0x8129),
 * which is how it tells a 93C46 (6-bit addresses) from a 93C56.
 *
 * Not modelled: programming time (BUSY), the 93C56, x8 organisation.
 */
#include "devices/rtl8139_eeprom.h"

#include <string.h>

typedef enum Rtl8139EepromPhase {
    RTL8139_EEPROM_IDLE = 0,     /* waiting for a start bit */
    RTL8139_EEPROM_READY,        /* idle, and DO shows READY after programming */
    RTL8139_EEPROM_COMMAND,      /* shifting in opcode and address */
    RTL8139_EEPROM_READ,         /* shifting out data */
    RTL8139_EEPROM_WRITE_DATA,   /* shifting in the data of WRITE */
    RTL8139_EEPROM_WRAL_DATA,    /* shifting in the data of WRAL */
    RTL8139_EEPROM_DONE,         /* command complete, waiting for CS low */
    RTL8139_EEPROM_PROGRAMMED,   /* as DONE, after a write or erase */
} Rtl8139EepromPhase;

#define RTL8139_EEPROM_COMMAND_BITS 8    /* opcode (2) + address (6) */
#define RTL8139_EEPROM_ADDR_MASK 0x3f
#define RTL8139_EEPROM_MIN_GNT 0x20
#define RTL8139_EEPROM_MAX_LAT 0x40

void rtl8139_eeprom_init(Rtl8139Eeprom *e, const uint8_t mac[6],
                         uint16_t vendor_id, uint16_t device_id,
                         uint16_t subsystem_vendor_id, uint16_t subsystem_id)
{
    memset(e->word, 0, sizeof(e->word));
    /* Byte layout of the datasheet: 00h ID code, 02h VID, 04h DID, 06h SVID,
     * 08h SMID, 0Ah MIN_GNT, 0Bh MAX_LAT, 0Eh-13h Ethernet ID. */
    e->word[0] = RTL8139_EEPROM_SIGNATURE;
    e->word[1] = vendor_id;
    e->word[2] = device_id;
    e->word[3] = subsystem_vendor_id;
    e->word[4] = subsystem_id;
    e->word[5] = RTL8139_EEPROM_MIN_GNT | RTL8139_EEPROM_MAX_LAT << 8;
    for (int i = 0; i < 3; i++) {
        e->word[RTL8139_EEPROM_MAC_WORD + i] =
            (uint16_t)(mac[2 * i] | mac[2 * i + 1] << 8);
    }
    rtl8139_eeprom_reset_wire(e);
}

void rtl8139_eeprom_reset_wire(Rtl8139Eeprom *e)
{
    memset(&e->wire, 0, sizeof(e->wire));
}

void rtl8139_eeprom_read_mac(const Rtl8139Eeprom *e, uint8_t mac[6])
{
    for (int i = 0; i < 3; i++) {
        uint16_t w = e->word[RTL8139_EEPROM_MAC_WORD + i];

        mac[2 * i] = (uint8_t)w;
        mac[2 * i + 1] = (uint8_t)(w >> 8);
    }
}

static void rtl8139_eeprom_decode(Rtl8139Eeprom *e)
{
    Rtl8139EepromWire *w = &e->wire;
    unsigned opcode = w->shift >> 6 & 3;
    unsigned addr = w->shift & RTL8139_EEPROM_ADDR_MASK;

    w->addr = (uint8_t)addr;
    w->bits = 0;
    w->shift = 0;
    switch (opcode) {
    case 2:                                  /* READ */
        w->phase = RTL8139_EEPROM_READ;
        w->bits = 16;
        w->dout = 0;                         /* the dummy 0 before D15 */
        break;
    case 1:                                  /* WRITE */
        w->phase = RTL8139_EEPROM_WRITE_DATA;
        break;
    case 3:                                  /* ERASE */
        if (w->write_enabled) {
            e->word[addr] = 0xffff;
        }
        w->phase = RTL8139_EEPROM_PROGRAMMED;
        break;
    default:                                 /* 00: by address bits 5:4 */
        switch (addr >> 4) {
        case 3:
            w->write_enabled = 1;            /* EWEN */
            w->phase = RTL8139_EEPROM_DONE;
            break;
        case 0:
            w->write_enabled = 0;            /* EWDS */
            w->phase = RTL8139_EEPROM_DONE;
            break;
        case 2:                              /* ERAL */
            if (w->write_enabled) {
                memset(e->word, 0xff, sizeof(e->word));
            }
            w->phase = RTL8139_EEPROM_PROGRAMMED;
            break;
        default:                             /* WRAL */
            w->phase = RTL8139_EEPROM_WRAL_DATA;
            break;
        }
        break;
    }
}

static void rtl8139_eeprom_program(Rtl8139Eeprom *e)
{
    Rtl8139EepromWire *w = &e->wire;

    if (w->write_enabled) {
        if (w->phase == RTL8139_EEPROM_WRAL_DATA) {
            for (int i = 0; i < RTL8139_EEPROM_WORDS; i++) {
                e->word[i] = w->shift;
            }
        } else {
            e->word[w->addr] = w->shift;
        }
    }
    w->phase = RTL8139_EEPROM_PROGRAMMED;
}

static void rtl8139_eeprom_clock(Rtl8139Eeprom *e, int di)
{
    Rtl8139EepromWire *w = &e->wire;

    switch ((Rtl8139EepromPhase)w->phase) {
    case RTL8139_EEPROM_IDLE:
    case RTL8139_EEPROM_READY:
        if (di) {
            w->phase = RTL8139_EEPROM_COMMAND;
            w->shift = 0;
            w->bits = 0;
        }
        break;
    case RTL8139_EEPROM_COMMAND:
        w->shift = (uint16_t)(w->shift << 1 | di);
        if (++w->bits == RTL8139_EEPROM_COMMAND_BITS) {
            rtl8139_eeprom_decode(e);
        }
        break;
    case RTL8139_EEPROM_READ:
        if (w->bits == 0) {
            w->addr = (w->addr + 1) & RTL8139_EEPROM_ADDR_MASK;
            w->bits = 16;
        }
        w->bits--;
        w->dout = e->word[w->addr] >> w->bits & 1;
        break;
    case RTL8139_EEPROM_WRITE_DATA:
    case RTL8139_EEPROM_WRAL_DATA:
        w->shift = (uint16_t)(w->shift << 1 | di);
        if (++w->bits == 16) {
            rtl8139_eeprom_program(e);
        }
        break;
    case RTL8139_EEPROM_DONE:
    case RTL8139_EEPROM_PROGRAMMED:
        break;                               /* extra clocks are ignored */
    }
}

void rtl8139_eeprom_drive(Rtl8139Eeprom *e, int cs, int sk, int di)
{
    Rtl8139EepromWire *w = &e->wire;

    cs = !!cs;
    sk = !!sk;
    if (!cs) {
        if (w->cs) {
            /* Deselect ends any command; a finished programming cycle
             * leaves READY to be seen at the next select. */
            w->phase = w->phase == RTL8139_EEPROM_PROGRAMMED ? RTL8139_EEPROM_READY
                                                               : RTL8139_EEPROM_IDLE;
            w->bits = 0;
            w->shift = 0;
            w->dout = 0;
        }
    } else if (sk && !w->sk) {
        rtl8139_eeprom_clock(e, !!di);
    }
    w->cs = (uint8_t)cs;
    w->sk = (uint8_t)sk;
}

int rtl8139_eeprom_dout(const Rtl8139Eeprom *e)
{
    const Rtl8139EepromWire *w = &e->wire;

    if (!w->cs) {
        return 0;                            /* DO floats; the chip sees 0 */
    }
    switch ((Rtl8139EepromPhase)w->phase) {
    case RTL8139_EEPROM_READ:
        return w->dout;
    case RTL8139_EEPROM_READY:
        return 1;
    default:
        return 0;
    }
}
