/*
 * devices/e1000_eeprom.c: the serial EEPROM of an Intel 82540EM, after the
 * PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's
 * Manual (8254x SDM) §5 "EEPROM Interface" (the image layout, table 5-1)
 * and the Microwire protocol of a 93C46-class part (64 x 16 bits, 6-bit
 * addresses) that e1000.ko bit-bangs through EECD for the 82540.
 *
 * Models: READ with the dummy 0 before D15 and sequential reads past the
 * word, WRITE, ERASE, EWEN/EWDS, ERAL/WRAL; a write completes at once and
 * shows READY (DO high) when CS is raised again.
 *
 * Not modelled: programming time, the 256-word part (EECD.SIZE stays 0),
 * SPI EEPROMs.
 */
#include "devices/e1000_eeprom.h"

#include <string.h>

#define E1000_EEPROM_ADDR_BITS 6

/* Word offsets of the image (SDM table 5-1). */
enum {
    E1000_EE_MAC = 0x00,             /* 0-2: Ethernet address */
    E1000_EE_COMPAT = 0x03,
    E1000_EE_ID_LED = 0x04,          /* 0xffff: "use the defaults" */
    E1000_EE_VERSION = 0x05,
    E1000_EE_PBA = 0x08,             /* 8-9: board part number */
    E1000_EE_INIT1 = 0x0a,
    E1000_EE_SUBSYS_ID = 0x0b,
    E1000_EE_SUBSYS_VENDOR = 0x0c,
    E1000_EE_DEVICE_ID = 0x0d,
    E1000_EE_VENDOR_ID = 0x0e,
    E1000_EE_INIT2 = 0x0f,           /* flow-control advertisement */
    E1000_EE_INIT3 = 0x24,           /* port A: APM (wake) enable */
};

/* INIT1: signature 01b in bits 15:14 marks a valid image; bit 1 loads the
 * subsystem ids from the image. */
#define E1000_EE_INIT1_VALUE 0x4402
/* INIT2: PAUSE and ASM_DIR (bits 13:12) both set -- the driver then asks
 * for symmetric flow control ("Flow Control: RX/TX"). */
#define E1000_EE_INIT2_VALUE 0x3000
/* INIT3: APM enable (bit 10) clear, so the driver leaves wake-on-LAN off
 * and powers the PHY down at close. */
#define E1000_EE_INIT3_VALUE 0x0000

typedef enum E1000EepromPhase {
    E1000_EEPROM_IDLE = 0,           /* selected, waiting for the start bit */
    E1000_EEPROM_OPCODE,
    E1000_EEPROM_ADDRESS,
    E1000_EEPROM_READING,
    E1000_EEPROM_DATA_IN,            /* WRITE / WRAL data */
    E1000_EEPROM_DONE,               /* command taken; acts when CS falls */
} E1000EepromPhase;

/* Microwire opcodes (after the start bit). */
enum {
    E1000_EEPROM_OP_EXT = 0,         /* EWEN/EWDS/ERAL/WRAL by address bits */
    E1000_EEPROM_OP_WRITE = 1,
    E1000_EEPROM_OP_READ = 2,
    E1000_EEPROM_OP_ERASE = 3,
};

/* Top two address bits of an OP_EXT command. */
enum {
    E1000_EEPROM_EXT_EWDS = 0,
    E1000_EEPROM_EXT_WRAL = 1,
    E1000_EEPROM_EXT_ERAL = 2,
    E1000_EEPROM_EXT_EWEN = 3,
};

void e1000_eeprom_init(E1000Eeprom *e, const uint8_t mac[6], uint16_t vendor_id,
                       uint16_t device_id, uint16_t subsystem_vendor_id,
                       uint16_t subsystem_id)
{
    uint16_t sum = 0;

    memset(e, 0, sizeof(*e));
    for (int i = 0; i < E1000_EEPROM_WORDS; i++) {
        e->word[i] = 0xffff;         /* erased cells */
    }
    for (int i = 0; i < 3; i++) {
        e->word[E1000_EE_MAC + i] = (uint16_t)(mac[2 * i] | mac[2 * i + 1] << 8);
    }
    e->word[E1000_EE_COMPAT] = 0x0000;
    e->word[E1000_EE_ID_LED] = 0xffff;
    e->word[E1000_EE_VERSION] = 0x2010;
    e->word[E1000_EE_PBA] = 0x0000;
    e->word[E1000_EE_PBA + 1] = 0x0000;
    e->word[E1000_EE_INIT1] = E1000_EE_INIT1_VALUE;
    e->word[E1000_EE_SUBSYS_ID] = subsystem_id;
    e->word[E1000_EE_SUBSYS_VENDOR] = subsystem_vendor_id;
    e->word[E1000_EE_DEVICE_ID] = device_id;
    e->word[E1000_EE_VENDOR_ID] = vendor_id;
    e->word[E1000_EE_INIT2] = E1000_EE_INIT2_VALUE;
    e->word[E1000_EE_INIT3] = E1000_EE_INIT3_VALUE;
    for (int i = 0; i < E1000_EEPROM_CHECKSUM_WORD; i++) {
        sum = (uint16_t)(sum + e->word[i]);
    }
    e->word[E1000_EEPROM_CHECKSUM_WORD] = (uint16_t)(E1000_EEPROM_SUM - sum);
    e1000_eeprom_reset_wire(e);
}

void e1000_eeprom_reset_wire(E1000Eeprom *e)
{
    memset(&e->wire, 0, sizeof(e->wire));
}

uint16_t e1000_eeprom_read_word(const E1000Eeprom *e, unsigned addr)
{
    return e->word[addr % E1000_EEPROM_WORDS];
}

void e1000_eeprom_sanitize(E1000Eeprom *e)
{
    E1000EepromWire *w = &e->wire;

    w->addr %= E1000_EEPROM_WORDS;
    w->opcode &= 3;
    if (w->phase > E1000_EEPROM_DONE) {
        w->phase = E1000_EEPROM_IDLE;
    }
    if (w->bits > 16) {
        w->bits = 0;
    }
    w->pad = 0;
}

/* The command's address bits are complete: decide what follows. */
static void e1000_eeprom_address_done(E1000EepromWire *w)
{
    w->addr = (uint8_t)(w->shift & (E1000_EEPROM_WORDS - 1));
    w->bits = 0;
    w->shift = 0;
    switch (w->opcode) {
    case E1000_EEPROM_OP_READ:
        w->phase = E1000_EEPROM_READING;
        w->dout = 0;                 /* the dummy bit before D15 */
        break;
    case E1000_EEPROM_OP_WRITE:
        w->phase = E1000_EEPROM_DATA_IN;
        break;
    case E1000_EEPROM_OP_EXT:
        w->phase = (w->addr >> 4) == E1000_EEPROM_EXT_WRAL ? E1000_EEPROM_DATA_IN
                                                            : E1000_EEPROM_DONE;
        break;
    default:
        w->phase = E1000_EEPROM_DONE;
        break;
    }
}

/* One rising SK edge while selected, with DI at level di. */
static void e1000_eeprom_clock(E1000Eeprom *e, int di)
{
    E1000EepromWire *w = &e->wire;

    switch (w->phase) {
    case E1000_EEPROM_IDLE:
        if (di) {                    /* leading zeros are not a start bit */
            w->phase = E1000_EEPROM_OPCODE;
            w->bits = 0;
            w->shift = 0;
            w->dout = 0;
        }
        break;
    case E1000_EEPROM_OPCODE:
        w->shift = (uint16_t)(w->shift << 1 | (di != 0));
        if (++w->bits == 2) {
            w->opcode = (uint8_t)(w->shift & 3);
            w->phase = E1000_EEPROM_ADDRESS;
            w->bits = 0;
            w->shift = 0;
        }
        break;
    case E1000_EEPROM_ADDRESS:
        w->shift = (uint16_t)(w->shift << 1 | (di != 0));
        if (++w->bits == E1000_EEPROM_ADDR_BITS) {
            e1000_eeprom_address_done(w);
        }
        break;
    case E1000_EEPROM_READING:
        if (w->bits == 16) {         /* sequential read: next word, no dummy */
            w->addr = (uint8_t)((w->addr + 1) % E1000_EEPROM_WORDS);
            w->bits = 0;
        }
        w->dout = (uint8_t)(e->word[w->addr] >> (15 - w->bits) & 1);
        w->bits++;
        break;
    case E1000_EEPROM_DATA_IN:
        w->shift = (uint16_t)(w->shift << 1 | (di != 0));
        if (++w->bits == 16) {
            w->phase = E1000_EEPROM_DONE;
        }
        break;
    default:
        break;                       /* DONE: extra clocks are ignored */
    }
}

/* CS fell: a complete programming command executes now (and at once). */
static void e1000_eeprom_execute(E1000Eeprom *e)
{
    E1000EepromWire *w = &e->wire;
    int programmed = 0;

    if (w->phase != E1000_EEPROM_DONE) {
        w->dout = 0;                 /* DO floats low once deselected */
        return;
    }
    switch (w->opcode) {
    case E1000_EEPROM_OP_WRITE:
    case E1000_EEPROM_OP_ERASE:
        if (w->write_enabled) {
            e->word[w->addr] = w->opcode == E1000_EEPROM_OP_WRITE ? w->shift : 0xffff;
            programmed = 1;
        }
        break;
    case E1000_EEPROM_OP_EXT:
        switch (w->addr >> 4) {
        case E1000_EEPROM_EXT_EWEN: w->write_enabled = 1; break;
        case E1000_EEPROM_EXT_EWDS: w->write_enabled = 0; break;
        default:                     /* ERAL, WRAL */
            if (w->write_enabled) {
                for (int i = 0; i < E1000_EEPROM_WORDS; i++) {
                    e->word[i] = (w->addr >> 4) == E1000_EEPROM_EXT_ERAL ? 0xffff
                                                                          : w->shift;
                }
                programmed = 1;
            }
            break;
        }
        break;
    default:
        break;
    }
    /* READY shows on DO once CS is raised again, until the next start bit. */
    w->dout = (uint8_t)programmed;
}

void e1000_eeprom_drive(E1000Eeprom *e, int cs, int sk, int di)
{
    E1000EepromWire *w = &e->wire;

    cs = cs != 0;
    sk = sk != 0;
    if (w->cs && !cs) {
        e1000_eeprom_execute(e);
        w->phase = E1000_EEPROM_IDLE;
        w->bits = 0;
        w->shift = 0;
    } else if (cs && w->cs && sk && !w->sk) {
        e1000_eeprom_clock(e, di);
    }
    w->cs = (uint8_t)cs;
    w->sk = (uint8_t)sk;
}

int e1000_eeprom_dout(const E1000Eeprom *e)
{
    return e->wire.cs && e->wire.dout;
}
