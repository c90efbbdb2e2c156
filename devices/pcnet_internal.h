/*
 * devices/pcnet_internal.h: what the two halves of the Am79C970A model
 * share -- the state struct, CSR and descriptor constants, byte-order
 * helpers, and the few functions pcnet.c and pcnet_ring.c call across.
 * Not for use outside the model; see pcnet.c for what it models.
 */
#ifndef DEVICES_PCNET_INTERNAL_H
#define DEVICES_PCNET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "devices/pcnet.h"


#define PCNET_NUM_BCRS 40
#define PCNET_FRAME_MAX 1518          /* with FCS */
#define PCNET_TX_BUF 2048
#define PCNET_RING_MAX 512            /* 32-bit styles; 128 in style 0 */

/* CSR0. */
#define CSR0_ERR 0x8000
#define CSR0_BABL 0x4000
#define CSR0_CERR 0x2000
#define CSR0_MISS 0x1000
#define CSR0_MERR 0x0800
#define CSR0_RINT 0x0400
#define CSR0_TINT 0x0200
#define CSR0_IDON 0x0100
#define CSR0_INTR 0x0080
#define CSR0_IENA 0x0040
#define CSR0_RXON 0x0020
#define CSR0_TXON 0x0010
#define CSR0_TDMD 0x0008
#define CSR0_STOP 0x0004
#define CSR0_STRT 0x0002
#define CSR0_INIT 0x0001
#define CSR0_W1C 0x7f00

#define CSR3_WMASK 0x5f7c             /* masks, DXSUFLO, LAPPEN, DXMT2PD, EMBA, BSWP */
#define CSR3_DXSUFLO 0x0040

#define CSR4_TXDPOLL 0x1000
#define CSR4_APAD_XMT 0x0800
#define CSR4_MFCO 0x0200
#define CSR4_MFCOM 0x0100
#define CSR4_UINTCMD 0x0080
#define CSR4_UINT 0x0040
#define CSR4_TXSTRT 0x0008
#define CSR4_W1C 0x026a               /* MFCO UINT RCVCCO TXSTRT JAB */
#define CSR4_WMASK 0x7d15
#define CSR4_DEFAULT 0x0115

#define CSR5_TOKINTD 0x8000
#define CSR5_LTINTEN 0x4000
#define CSR5_SPND 0x0001
#define CSR5_WMASK 0xc46f
#define CSR5_W1C 0x0890               /* SINT EXDINT MPINT: never set here */

#define CSR15_PROM 0x8000
#define CSR15_DRCVBC 0x4000
#define CSR15_DRCVPA 0x2000
#define CSR15_INTL 0x0040
#define CSR15_DXMTFCS 0x0008
#define CSR15_LOOP 0x0004
#define CSR15_DTX 0x0002
#define CSR15_DRX 0x0001

#define CSR80_DEFAULT 0x1410

/* Descriptor flags: the upper 16 bits of TMD1/RMD1. */
#define DESC_OWN 0x8000
#define DESC_ERR 0x4000
#define TMD_ADD_FCS 0x2000
#define TMD_LTINT 0x1000              /* MORE when LTINTEN is clear */
#define TMD_ONE 0x0800
#define TMD_DEF 0x0400
#define RMD_BUFF 0x0400
#define DESC_STP 0x0200
#define DESC_ENP 0x0100
#define RMD_PAM 0x0040
#define RMD_LAFM 0x0020
#define RMD_BAM 0x0010
#define TMD2_BUFF 0x80000000u
#define TMD2_UFLO 0x40000000u

/*
 * Everything the two resets restore and the snapshot carries.  Widest
 * first, explicit padding: saved as raw bytes, must compare bit-identical.
 */
typedef struct PcnetRegs {
    uint64_t next_poll_ns;        /* virtual time of the next transmit poll */
    uint32_t iadr;                /* CSR2:CSR1 */
    uint32_t rdra, tdra;          /* ring bases from the init block */
    uint16_t csr0;                /* without ERR and INTR (computed) */
    uint16_t csr3, csr4, csr5, csr15, csr80, csr112, csr114, csr124;
    uint16_t ladrf[4];            /* CSR8-11 */
    uint16_t padr[3];             /* CSR12-14 */
    uint16_t rlen, tlen;          /* descriptors in each ring */
    uint16_t rx_idx, tx_idx;      /* the chip's current descriptors */
    uint16_t rap;
    uint16_t bcr[PCNET_NUM_BCRS];
    uint8_t dwio;                 /* double-word I/O mode */
    uint8_t pad[9];               /* explicit, always zero */
} PcnetRegs;

_Static_assert(sizeof(PcnetRegs) == 8 + 12 + 2 * (9 + 4 + 3 + 5 + PCNET_NUM_BCRS) + 10,
               "PcnetRegs has no hidden padding");

struct Pcnet {
    /* Wiring: set by pcnet_new(), never touched by the guest. */
    PciBus *bus;
    unsigned devfn;
    DmaPort *dma;
    IrqLine irq;
    NetPort net;
    /* PCI_COMMAND_MASTER as config space last said (the command register
     * lives in the function itself): latched on every config write and on
     * restore, so a DMA needs no traced config read. */
    int master;
    /* Non-volatile: the EEPROM image the APROM shows; survives resets. */
    uint8_t aprom[16];
    /* Guest-visible registers: exactly what pcnet_reset() restores. */
    PcnetRegs r;
};

/* One descriptor in the 32-bit (SWSTYLE 2) view, whatever the style. */
typedef struct PcnetDesc {
    uint32_t addr;                /* buffer */
    uint16_t bcnt;                /* ONES | two's complement byte count */
    uint16_t flags;               /* OWN ERR ... STP ENP ... */
    uint32_t misc;                /* TMD2 errors / RMD2 MCNT */
} PcnetDesc;

static inline unsigned pcnet_style(const Pcnet *s)
{
    return s->r.bcr[20] & 0xff;
}

static inline int pcnet_ssize32(const Pcnet *s)
{
    unsigned st = pcnet_style(s);

    return st == 1 || st == 2 || st == 3;
}

static inline uint16_t pcnet_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t pcnet_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void pcnet_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void pcnet_put32(uint8_t *p, uint32_t v)
{
    pcnet_put16(p, (uint16_t)v);
    pcnet_put16(p + 2, (uint16_t)(v >> 16));
}

/* INTA# from CSR0.IENA and the unmasked sources (pcnet.c). */
void pcnet_update_irq(Pcnet *s);
/* Bus-master DMA; a refusal sets MERR and the PCI master-abort status and
 * returns -EIO (pcnet.c). */
int pcnet_dma(Pcnet *s, int write, uint32_t addr, void *buf, size_t len);

/* INIT: reads the initialization block at IADR (pcnet_ring.c). */
void pcnet_ring_init(Pcnet *s);
/* One pass over the transmit ring: at most one look at each descriptor
 * (pcnet_ring.c). */
void pcnet_ring_tx_poll(Pcnet *s);

#endif
