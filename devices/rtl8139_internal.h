/*
 * devices/rtl8139_internal.h: what the two halves of the RTL8139 model
 * share -- the state struct, the ChipCmd/TSD/ISR/TCR/RCR bits, the ring
 * geometry, and the few functions rtl8139.c and rtl8139_rxtx.c call
 * across.  Not for use outside the model; see rtl8139.c for what it models.
 */
#ifndef DEVICES_RTL8139_INTERNAL_H
#define DEVICES_RTL8139_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "devices/rtl8139.h"
#include "devices/rtl8139_eeprom.h"


/* ChipCmd bits. */
#define RTL8139_CR_RST 0x10
#define RTL8139_CR_RE 0x08
#define RTL8139_CR_TE 0x04
#define RTL8139_CR_BUFE 0x01

/* TSD bits. */
#define RTL8139_TSD_SIZE 0x00001fffu
#define RTL8139_TSD_OWN 0x00002000u
#define RTL8139_TSD_TUN 0x00004000u
#define RTL8139_TSD_TOK 0x00008000u
#define RTL8139_TSD_ERTXTH 0x003f0000u
#define RTL8139_TSD_TABT 0x40000000u
#define RTL8139_TSD_WMASK (RTL8139_TSD_SIZE | RTL8139_TSD_OWN | RTL8139_TSD_ERTXTH)
#define RTL8139_TX_MAX 1792u         /* datasheet: TSD.SIZE limit of the FIFO */

/* ISR/IMR bits. */
#define RTL8139_INT_ROK 0x0001
#define RTL8139_INT_TOK 0x0004
#define RTL8139_INT_TER 0x0008
#define RTL8139_INT_RXOVW 0x0010
#define RTL8139_INT_TIMEOUT 0x4000
#define RTL8139_INT_SERR 0x8000
#define RTL8139_INT_MASK 0xe07f      /* SERR TimeOut LenChg, FOVW..ROK */

/* TCR: IFG, LBK, CRC, MXDMA, TXRR are writable; bits 30:26 and 23:22 hold
 * the hardware version (8139too's HW_REVID). */
#define RTL8139_TCR_WMASK 0x03070770u
#define RTL8139_TCR_NOCRC 0x00010000u
#define RTL8139_TCR_HWVER_8139 0x40000000u    /* HW_REVID(1,0,0,0,0,0,0) */
#define RTL8139_TCR_HWVER_8139K 0x60000000u   /* HW_REVID(1,1,0,0,0,0,0) */

/* RCR: accept bits, WRAP, RBLEN and the thresholds. */
#define RTL8139_RCR_WMASK 0x0f03ffbfu
#define RTL8139_RCR_AAP 0x01
#define RTL8139_RCR_APM 0x02
#define RTL8139_RCR_AM 0x04
#define RTL8139_RCR_AB 0x08
#define RTL8139_RCR_WRAP 0x80
#define RTL8139_RCR_RBLEN_SHIFT 11

/* The receive header's status word (datasheet Table "Rx status"). */
#define RTL8139_RXS_ROK 0x0001
#define RTL8139_RXS_BAR 0x2000
#define RTL8139_RXS_PAM 0x4000
#define RTL8139_RXS_MAR 0x8000

#define RTL8139_ETH_MIN 60           /* without FCS */
#define RTL8139_ETH_HDR 14
#define RTL8139_FCS 4
#define RTL8139_RX_HDR 4

/*
 * Everything reset restores.  Fields are ordered widest first so the struct
 * has no padding: it is saved as raw bytes and must compare bit-identical.
 */
typedef struct Rtl8139Regs {
    uint64_t tctr_zero_ns;       /* virtual time at which TCTR was 0 */
    uint32_t tsd[4];
    uint32_t tsad[4];
    uint32_t rbstart;
    uint32_t tcr;                /* writable bits only; version ORed on read */
    uint32_t rcr;
    uint32_t mpc;
    uint32_t timer_int;
    uint32_t fifotms, para78, para7c;
    uint16_t capr, cbr;          /* cbr: always below the ring length */
    uint16_t imr, isr;
    uint16_t mulint;
    uint16_t bmcr, anar;
    uint16_t cscr;               /* writable bits only */
    uint8_t idr[6];
    uint8_t mar[8];
    uint8_t cr;                  /* RE and TE; RST completes at once */
    uint8_t cfg9346;             /* mode, and the pins written in program mode */
    uint8_t config0, config1, config3, config4;
    uint8_t hltclk;
    uint8_t tx_next;             /* the descriptor the transmitter serves next */
    uint8_t pad[2];              /* explicit, always zero */
} Rtl8139Regs;

_Static_assert(sizeof(Rtl8139Regs) == 112, "Rtl8139Regs has no hidden padding");
_Static_assert(sizeof(Rtl8139Eeprom) == 2 * RTL8139_EEPROM_WORDS + 10,
               "Rtl8139Eeprom has no hidden padding");

struct Rtl8139 {
    /* Wiring: set by rtl8139_new(), never touched by the guest. */
    PciBus *bus;
    unsigned devfn;
    IrqLine irq;
    DmaPort *dma;
    NetPort net;
    uint32_t hw_version;         /* TCR version bits of the configured chip */
    /* Mirror of PCI_COMMAND.MASTER, refreshed on every config write and at
     * restore, so a DMA does not show up as a config read in traces. */
    int bus_master;
    /* Virtual time: survives every reset; saved. */
    uint64_t now_ns;
    /* Non-volatile: the EEPROM contents survive every reset; its serial
     * interface is put back to idle by a hardware reset. */
    Rtl8139Eeprom eeprom;
    /* Guest-visible registers: exactly what rtl8139_reset() restores. */
    Rtl8139Regs r;
    /* Scratch for one frame, header and FCS; contents never state. */
    uint8_t frame[RTL8139_RX_HDR + RTL8139_TX_MAX + RTL8139_FCS];
};

static inline unsigned rtl8139_ring_len(const Rtl8139 *s)
{
    return 8192u << ((s->r.rcr >> RTL8139_RCR_RBLEN_SHIFT) & 3);
}

/* The driver's read position: CAPR trails it by 16 (8139too writes
 * cur_rx - 16). */
static inline unsigned rtl8139_rx_read_pos(const Rtl8139 *s)
{
    return (s->r.capr + 16u) & (rtl8139_ring_len(s) - 1);
}

static inline int rtl8139_rx_empty(const Rtl8139 *s)
{
    return rtl8139_rx_read_pos(s) == s->r.cbr;
}

/* INTA# from (IntrStatus & IntrMask) (rtl8139.c). */
void rtl8139_update_irq(Rtl8139 *s);

/* Serves the transmit descriptors handed to the chip, in ring order from
 * tx_next, while ChipCmd.TE is set (rtl8139_rxtx.c). */
void rtl8139_rxtx_kick(Rtl8139 *s);

#endif
