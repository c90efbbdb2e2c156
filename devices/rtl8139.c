/*
 * devices/rtl8139.c: RealTek RTL8139 Fast Ethernet controller, register
 * level, after the RTL8139C(L) datasheet §5 "Register Descriptions" (the
 * operational registers at BAR offsets 00h-6Bh) and §6 (93C46 EEPROM).
 *
 * Models: PCI function 10ec:8139, class 020000, revision from the config
 * (0x10 by default: 8139too hands revisions >= 0x20 to 8139cp), BAR0 = 256
 * bytes of I/O and BAR1 = 256 bytes of memory decoding the same registers,
 * INTA# driven from (IntrStatus & IntrMask) != 0.  The register file:
 * IDR0-5 (loaded from the EEPROM, writable only in Cfg9346 config-write
 * mode), MAR0-7, TSD0-3/TSAD0-3, RBSTART, ChipCmd (RST self-clears at
 * once, RE/TE, BUFE), CAPR/CBR, IMR, ISR (write 1 to clear), TCR with the
 * hardware version bits of a plain "RTL-8139" (TCR bit 30, the entry
 * 8139too's rtl_chip_info[] maps to "RTL-8139"), RCR, TCTR, MPC, Cfg9346
 * (normal / autoload / programming / config-write; programming mode
 * bit-bangs the 93C46 in rtl8139_eeprom.c), Config0/1/3/4, TimerInt,
 * MediaStatus, HltClk, MultiIntr, TSAD summary, and the internal PHY's
 * BMCR/BMSR/ANAR/ANLPAR/ANER at 62h-6Ah, which 8139too's mdio_read() maps
 * MII registers 0,1,4,5,6 onto for the built-in transceiver (phy id 32).
 * The link is always up at 100 Mb/s full duplex, autonegotiation done.
 *
 * Reset: power-on and Cfg9346 autoload restore every register and reload
 * IDR0-5 from the EEPROM; ChipCmd.RST does the same except IDR0-5 and
 * MAR0-7, which the datasheet says a software reset leaves unchanged.
 *
 * Not modelled yet: receive and transmit DMA (no DMA port is wired in this
 * step).  A transmit the driver starts therefore ends the way a device with
 * no path to memory ends it: the descriptor completes with TABT, ISR.TER
 * is raised and the PCI status records a received master abort.  Also not
 * modelled: the timer (TCTR does not count: no virtual clock wired yet),
 * early rx/tx, wake-on-LAN, the C+ mode registers, CSCR and the twister
 * parameters (read 0, writes ignored, like every unknown offset).
 */
#include "devices/rtl8139.h"

#include <stdlib.h>
#include <string.h>

#include "devices/rtl8139_eeprom.h"

#define RTL8139_VENDOR_ID 0x10ec
#define RTL8139_DEVICE_ID 0x8139
#define RTL8139_CLASS 0x020000       /* network, Ethernet */
#define RTL8139_DEFAULT_REVISION 0x10
#define RTL8139_REG_SPACE 256

/* Register offsets (datasheet §5). */
enum {
    RTL8139_IDR0 = 0x00,
    RTL8139_MAR0 = 0x08,
    RTL8139_TSD0 = 0x10,
    RTL8139_TSAD0 = 0x20,
    RTL8139_RBSTART = 0x30,
    RTL8139_ERBCR = 0x34,
    RTL8139_ERSR = 0x36,
    RTL8139_CR = 0x37,
    RTL8139_CAPR = 0x38,
    RTL8139_CBR = 0x3a,
    RTL8139_IMR = 0x3c,
    RTL8139_ISR = 0x3e,
    RTL8139_TCR = 0x40,
    RTL8139_RCR = 0x44,
    RTL8139_TCTR = 0x48,
    RTL8139_MPC = 0x4c,
    RTL8139_9346CR = 0x50,
    RTL8139_CONFIG0 = 0x51,
    RTL8139_CONFIG1 = 0x52,
    RTL8139_TIMERINT = 0x54,
    RTL8139_MSR = 0x58,
    RTL8139_CONFIG3 = 0x59,
    RTL8139_CONFIG4 = 0x5a,
    RTL8139_HLTCLK = 0x5b,
    RTL8139_MULINT = 0x5c,
    RTL8139_TSAD = 0x60,
    RTL8139_BMCR = 0x62,
    RTL8139_BMSR = 0x64,
    RTL8139_ANAR = 0x66,
    RTL8139_ANLPAR = 0x68,
    RTL8139_ANER = 0x6a,
};

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

/* ISR/IMR bits. */
#define RTL8139_INT_TER 0x0008
#define RTL8139_INT_MASK 0xe07f      /* SERR TimeOut LenChg, FOVW..ROK */

/* TCR: IFG, LBK, CRC, MXDMA, TXRR are writable; bits 30:26 and 23:22 hold
 * the hardware version.  HW_REVID(1,0,0,0,0,0,0) = bit 30 = "RTL-8139". */
#define RTL8139_TCR_WMASK 0x03070770u
#define RTL8139_TCR_HWVERID 0x40000000u
#define RTL8139_RCR_WMASK 0x0f03ffbfu
#define RTL8139_RCR_RBLEN_SHIFT 11

/* Cfg9346: operating mode in bits 7:6, the EEPROM pins below. */
#define RTL8139_9346_MODE 0xc0
#define RTL8139_9346_NORMAL 0x00
#define RTL8139_9346_AUTOLOAD 0x40
#define RTL8139_9346_PROGRAM 0x80
#define RTL8139_9346_CONFIG_WRITE 0xc0
#define RTL8139_9346_EECS 0x08
#define RTL8139_9346_EESK 0x04
#define RTL8139_9346_EEDI 0x02
#define RTL8139_9346_EEDO 0x01

#define RTL8139_CONFIG1_IOMAP 0x04
#define RTL8139_CONFIG1_MEMMAP 0x08
#define RTL8139_CONFIG1_WMASK 0xf3   /* IOMAP/MEMMAP are read-only */

/* MediaStatus: LINKB (bit 2) = 1 means link fail, SPEED_10 (bit 3) = 1
 * means 10 Mb/s; both clear is "link OK at 100 Mb/s". */
#define RTL8139_MSR_LINK_OK_100M 0x00

#define RTL8139_MULINT_WMASK 0x0fff

/* The internal PHY (IEEE 802.3 clause 22 register layouts). */
#define RTL8139_BMCR_RESET 0x8000
#define RTL8139_BMCR_ANE 0x1000
#define RTL8139_BMCR_WMASK 0x3300    /* speed, ANE, duplex; restart self-clears */
#define RTL8139_BMSR_VALUE 0x782d    /* 100FD/100HD/10FD/10HD, AN done, AN
                                      * able, link up, extended regs */
#define RTL8139_ANAR_DEFAULT 0x01e1  /* all four modes, selector 802.3 */
#define RTL8139_ANAR_WMASK 0x2de0
#define RTL8139_ANAR_SELECTOR 0x0001
#define RTL8139_ANLPAR_VALUE 0x41e1  /* partner: ack, all four modes */
#define RTL8139_ANER_VALUE 0x0001    /* partner can autonegotiate */

/*
 * Everything reset restores.  Fields are ordered widest first so the struct
 * has no padding: it is saved as raw bytes and must compare bit-identical.
 */
typedef struct Rtl8139Regs {
    uint32_t tsd[4];
    uint32_t tsad[4];
    uint32_t rbstart;
    uint32_t tcr;                /* writable bits only; version ORed on read */
    uint32_t rcr;
    uint32_t tctr;
    uint32_t mpc;
    uint32_t timer_int;
    uint16_t capr, cbr;
    uint16_t imr, isr;
    uint16_t mulint;
    uint16_t bmcr, anar;
    uint8_t idr[6];
    uint8_t mar[8];
    uint8_t cr;                  /* RE and TE; RST completes at once */
    uint8_t cfg9346;             /* mode, and the pins written in program mode */
    uint8_t config0, config1, config3, config4;
    uint8_t hltclk;
    uint8_t pad[5];              /* explicit, always zero */
} Rtl8139Regs;

_Static_assert(sizeof(Rtl8139Regs) == 96, "Rtl8139Regs has no hidden padding");
_Static_assert(sizeof(Rtl8139Eeprom) == 2 * RTL8139_EEPROM_WORDS + 10,
               "Rtl8139Eeprom has no hidden padding");

struct Rtl8139 {
    /* Wiring: set by rtl8139_new(), never touched by the guest. */
    PciBus *bus;
    unsigned devfn;
    IrqLine irq;
    /* Non-volatile: the EEPROM contents survive every reset; its serial
     * interface is put back to idle by a hardware reset. */
    Rtl8139Eeprom eeprom;
    /* Guest-visible registers: exactly what rtl8139_reset() restores. */
    Rtl8139Regs r;
};

/* Access widths as data: registers wider than a byte.  Every other offset
 * is a byte register (IDR, MAR, ChipCmd, Cfg9346, Config*, ...) or unknown. */
static const struct {
    uint8_t offset, width;
} rtl8139_wide_regs[] = {
    { RTL8139_TSD0, 4 }, { RTL8139_TSD0 + 4, 4 }, { RTL8139_TSD0 + 8, 4 },
    { RTL8139_TSD0 + 12, 4 }, { RTL8139_TSAD0, 4 }, { RTL8139_TSAD0 + 4, 4 },
    { RTL8139_TSAD0 + 8, 4 }, { RTL8139_TSAD0 + 12, 4 }, { RTL8139_RBSTART, 4 },
    { RTL8139_ERBCR, 2 }, { RTL8139_CAPR, 2 }, { RTL8139_CBR, 2 },
    { RTL8139_IMR, 2 }, { RTL8139_ISR, 2 }, { RTL8139_TCR, 4 },
    { RTL8139_RCR, 4 }, { RTL8139_TCTR, 4 }, { RTL8139_MPC, 4 },
    { RTL8139_TIMERINT, 4 }, { RTL8139_MULINT, 2 }, { RTL8139_TSAD, 2 },
    { RTL8139_BMCR, 2 }, { RTL8139_BMSR, 2 }, { RTL8139_ANAR, 2 },
    { RTL8139_ANLPAR, 2 }, { RTL8139_ANER, 2 },
};

static void rtl8139_reg_span(unsigned off, unsigned *base, unsigned *width)
{
    for (size_t i = 0; i < sizeof(rtl8139_wide_regs) / sizeof(rtl8139_wide_regs[0]); i++) {
        unsigned b = rtl8139_wide_regs[i].offset;

        if (off >= b && off < b + rtl8139_wide_regs[i].width) {
            *base = b;
            *width = rtl8139_wide_regs[i].width;
            return;
        }
    }
    *base = off;
    *width = 1;
}

static void rtl8139_update_irq(Rtl8139 *s)
{
    irq_line_set(&s->irq, (s->r.isr & s->r.imr) != 0);
}

static int rtl8139_config_unlocked(const Rtl8139 *s)
{
    return (s->r.cfg9346 & RTL8139_9346_MODE) == RTL8139_9346_CONFIG_WRITE;
}

/* Power-on values of everything but IDR0-5 and MAR0-7. */
static void rtl8139_reset_registers(Rtl8139Regs *r)
{
    uint8_t idr[6], mar[8];

    memcpy(idr, r->idr, sizeof(idr));
    memcpy(mar, r->mar, sizeof(mar));
    memset(r, 0, sizeof(*r));
    memcpy(r->idr, idr, sizeof(idr));
    memcpy(r->mar, mar, sizeof(mar));
    for (int i = 0; i < 4; i++) {
        r->tsd[i] = RTL8139_TSD_OWN;     /* all descriptors owned by the host */
    }
    r->capr = 0xfff0;                    /* CAPR + 16 == CBR: ring empty */
    r->config1 = RTL8139_CONFIG1_IOMAP | RTL8139_CONFIG1_MEMMAP;
    r->bmcr = RTL8139_BMCR_ANE;
    r->anar = RTL8139_ANAR_DEFAULT;
}

void rtl8139_reset(Rtl8139 *s)
{
    memset(&s->r, 0, sizeof(s->r));
    rtl8139_reset_registers(&s->r);
    rtl8139_eeprom_reset_wire(&s->eeprom);
    rtl8139_eeprom_read_mac(&s->eeprom, s->r.idr);   /* the autoload */
    rtl8139_update_irq(s);
}

static void rtl8139_soft_reset(Rtl8139 *s)
{
    rtl8139_reset_registers(&s->r);
    rtl8139_eeprom_drive(&s->eeprom, 0, 0, 0);       /* Cfg9346 back to normal */
    rtl8139_update_irq(s);
}

/* The receive ring is empty when the driver has read up to where the chip
 * wrote: CAPR trails the read position by 16 (8139too writes cur_rx - 16). */
static int rtl8139_rx_empty(const Rtl8139 *s)
{
    unsigned len = 8192u << ((s->r.rcr >> RTL8139_RCR_RBLEN_SHIFT) & 3);

    return ((s->r.capr + 16u) & (len - 1)) == (s->r.cbr & (len - 1));
}

static uint16_t rtl8139_tx_summary(const Rtl8139 *s)
{
    uint16_t v = 0;

    for (int i = 0; i < 4; i++) {
        uint32_t tsd = s->r.tsd[i];

        v |= (uint16_t)(!!(tsd & RTL8139_TSD_OWN) << i);
        v |= (uint16_t)(!!(tsd & RTL8139_TSD_TABT) << (4 + i));
        v |= (uint16_t)(!!(tsd & RTL8139_TSD_TUN) << (8 + i));
        v |= (uint16_t)(!!(tsd & RTL8139_TSD_TOK) << (12 + i));
    }
    return v;
}

static uint8_t rtl8139_cfg9346_read(const Rtl8139 *s)
{
    uint8_t v = s->r.cfg9346;

    if ((v & RTL8139_9346_MODE) != RTL8139_9346_PROGRAM) {
        return v & RTL8139_9346_MODE;
    }
    return (uint8_t)((v & ~RTL8139_9346_EEDO) |
                     (rtl8139_eeprom_dout(&s->eeprom) ? RTL8139_9346_EEDO : 0));
}

/* The whole register at base; reads have no side effects. */
static uint32_t rtl8139_reg_read(const Rtl8139 *s, unsigned base)
{
    const Rtl8139Regs *r = &s->r;

    if (base < RTL8139_IDR0 + 6) {
        return r->idr[base];
    }
    if (base >= RTL8139_MAR0 && base < RTL8139_MAR0 + 8) {
        return r->mar[base - RTL8139_MAR0];
    }
    switch (base) {
    case RTL8139_TSD0: case RTL8139_TSD0 + 4: case RTL8139_TSD0 + 8: case RTL8139_TSD0 + 12:
        return r->tsd[(base - RTL8139_TSD0) / 4];
    case RTL8139_TSAD0: case RTL8139_TSAD0 + 4: case RTL8139_TSAD0 + 8: case RTL8139_TSAD0 + 12:
        return r->tsad[(base - RTL8139_TSAD0) / 4];
    case RTL8139_RBSTART:  return r->rbstart;
    case RTL8139_CR:       return r->cr | (rtl8139_rx_empty(s) ? RTL8139_CR_BUFE : 0);
    case RTL8139_CAPR:     return r->capr;
    case RTL8139_CBR:      return r->cbr;
    case RTL8139_IMR:      return r->imr;
    case RTL8139_ISR:      return r->isr;
    case RTL8139_TCR:      return r->tcr | RTL8139_TCR_HWVERID;
    case RTL8139_RCR:      return r->rcr;
    case RTL8139_TCTR:     return r->tctr;
    case RTL8139_MPC:      return r->mpc;
    case RTL8139_9346CR:   return rtl8139_cfg9346_read(s);
    case RTL8139_CONFIG0:  return r->config0;
    case RTL8139_CONFIG1:  return r->config1;
    case RTL8139_TIMERINT: return r->timer_int;
    case RTL8139_MSR:      return RTL8139_MSR_LINK_OK_100M;
    case RTL8139_CONFIG3:  return r->config3;
    case RTL8139_CONFIG4:  return r->config4;
    case RTL8139_HLTCLK:   return r->hltclk;
    case RTL8139_MULINT:   return r->mulint;
    case RTL8139_TSAD:     return rtl8139_tx_summary(s);
    case RTL8139_BMCR:     return r->bmcr;
    case RTL8139_BMSR:     return RTL8139_BMSR_VALUE;
    case RTL8139_ANAR:     return r->anar;
    case RTL8139_ANLPAR:   return RTL8139_ANLPAR_VALUE;
    case RTL8139_ANER:     return RTL8139_ANER_VALUE;
    default:               return 0;     /* ERBCR, ERSR, reserved, unknown */
    }
}

/* A transmit needs the packet from guest memory; with no DMA port wired
 * the fetch cannot happen, so it ends as a master abort the guest sees. */
static void rtl8139_tx_start(Rtl8139 *s, int slot)
{
    s->r.tsd[slot] |= RTL8139_TSD_OWN | RTL8139_TSD_TABT;
    s->r.isr |= RTL8139_INT_TER;
    pci_bus_set_status(s->bus, s->devfn, PCI_STATUS_REC_MASTER_ABORT);
}

static void rtl8139_tx_kick(Rtl8139 *s)
{
    if (!(s->r.cr & RTL8139_CR_TE)) {
        return;
    }
    for (int i = 0; i < 4; i++) {
        if (!(s->r.tsd[i] & RTL8139_TSD_OWN)) {
            rtl8139_tx_start(s, i);
        }
    }
}

static void rtl8139_cfg9346_write(Rtl8139 *s, uint8_t v)
{
    switch (v & RTL8139_9346_MODE) {
    case RTL8139_9346_PROGRAM:
        s->r.cfg9346 = v & (RTL8139_9346_MODE | RTL8139_9346_EECS |
                            RTL8139_9346_EESK | RTL8139_9346_EEDI);
        rtl8139_eeprom_drive(&s->eeprom, v & RTL8139_9346_EECS, v & RTL8139_9346_EESK,
                             v & RTL8139_9346_EEDI);
        break;
    case RTL8139_9346_AUTOLOAD:
        /* Datasheet: loads the EEPROM as at power-on, resets the other
         * registers, then returns to normal mode by itself. */
        rtl8139_reset(s);
        break;
    default:                             /* normal, config-write enable */
        s->r.cfg9346 = v & RTL8139_9346_MODE;
        rtl8139_eeprom_drive(&s->eeprom, 0, 0, 0);
        break;
    }
}

static void rtl8139_bmcr_write(Rtl8139 *s, uint16_t v)
{
    if (v & RTL8139_BMCR_RESET) {
        s->r.bmcr = RTL8139_BMCR_ANE;
        s->r.anar = RTL8139_ANAR_DEFAULT;
        return;
    }
    /* Restart-autonegotiation completes at once: the partner is fixed. */
    s->r.bmcr = v & RTL8139_BMCR_WMASK;
}

static uint32_t rtl8139_merge(uint32_t old, uint32_t v, uint32_t mask, uint32_t wmask)
{
    return (old & ~(mask & wmask)) | (v & mask & wmask);
}

/* Writes the bytes of the register at base selected by mask (v is already
 * shifted into register position).  One call per register per access, so
 * a 32-bit TSD write starts one transmit, not four. */
static void rtl8139_reg_write(Rtl8139 *s, unsigned base, uint32_t v, uint32_t mask)
{
    Rtl8139Regs *r = &s->r;

    if (base < RTL8139_IDR0 + 6) {
        if (rtl8139_config_unlocked(s)) {
            r->idr[base] = (uint8_t)v;
        }
        return;
    }
    if (base >= RTL8139_MAR0 && base < RTL8139_MAR0 + 8) {
        r->mar[base - RTL8139_MAR0] = (uint8_t)v;
        return;
    }
    switch (base) {
    case RTL8139_TSD0: case RTL8139_TSD0 + 4: case RTL8139_TSD0 + 8: case RTL8139_TSD0 + 12: {
        int slot = (int)(base - RTL8139_TSD0) / 4;

        r->tsd[slot] = rtl8139_merge(r->tsd[slot], v, mask, RTL8139_TSD_WMASK);
        if (!(r->tsd[slot] & RTL8139_TSD_OWN)) {
            /* OWN = 0 hands the buffer to the chip: old status goes. */
            r->tsd[slot] &= RTL8139_TSD_WMASK;
            rtl8139_tx_kick(s);
        }
        break;
    }
    case RTL8139_TSAD0: case RTL8139_TSAD0 + 4: case RTL8139_TSAD0 + 8: case RTL8139_TSAD0 + 12:
        r->tsad[(base - RTL8139_TSAD0) / 4] =
            rtl8139_merge(r->tsad[(base - RTL8139_TSAD0) / 4], v, mask, ~0u);
        break;
    case RTL8139_RBSTART:  r->rbstart = rtl8139_merge(r->rbstart, v, mask, ~0u); break;
    case RTL8139_CR:
        if (v & RTL8139_CR_RST) {
            rtl8139_soft_reset(s);
            return;
        }
        r->cr = (uint8_t)(v & (RTL8139_CR_RE | RTL8139_CR_TE));
        rtl8139_tx_kick(s);
        break;
    case RTL8139_CAPR:     r->capr = (uint16_t)rtl8139_merge(r->capr, v, mask, 0xffff); break;
    case RTL8139_IMR:
        r->imr = (uint16_t)rtl8139_merge(r->imr, v, mask, RTL8139_INT_MASK);
        break;
    case RTL8139_ISR:      r->isr &= (uint16_t)~(v & mask); break;
    case RTL8139_TCR:      r->tcr = rtl8139_merge(r->tcr, v, mask, RTL8139_TCR_WMASK); break;
    case RTL8139_RCR:      r->rcr = rtl8139_merge(r->rcr, v, mask, RTL8139_RCR_WMASK); break;
    case RTL8139_TCTR:     r->tctr = 0; break;  /* any write restarts the count */
    case RTL8139_MPC:      r->mpc = 0; break;   /* any write clears the count */
    case RTL8139_9346CR:   rtl8139_cfg9346_write(s, (uint8_t)v); return;
    case RTL8139_CONFIG1:
        if (rtl8139_config_unlocked(s)) {
            r->config1 = (uint8_t)rtl8139_merge(r->config1, v, 0xff, RTL8139_CONFIG1_WMASK);
        }
        break;
    case RTL8139_CONFIG3:
        if (rtl8139_config_unlocked(s)) {
            r->config3 = (uint8_t)v;
        }
        break;
    case RTL8139_CONFIG4:
        if (rtl8139_config_unlocked(s)) {
            r->config4 = (uint8_t)v;
        }
        break;
    case RTL8139_TIMERINT: r->timer_int = rtl8139_merge(r->timer_int, v, mask, ~0u); break;
    case RTL8139_HLTCLK:   r->hltclk = (uint8_t)v; break;  /* 'R' run, 'H' halt */
    case RTL8139_MULINT:
        r->mulint = (uint16_t)rtl8139_merge(r->mulint, v, mask, RTL8139_MULINT_WMASK);
        break;
    case RTL8139_BMCR:
        rtl8139_bmcr_write(s, (uint16_t)rtl8139_merge(r->bmcr, v, mask, 0xffff));
        break;
    case RTL8139_ANAR:
        r->anar = (uint16_t)(rtl8139_merge(r->anar, v, mask, RTL8139_ANAR_WMASK) |
                             RTL8139_ANAR_SELECTOR);
        break;
    default:
        break;     /* read-only (CBR, Config0, MSR, TSAD, BMSR, ...) or unknown */
    }
    rtl8139_update_irq(s);
}

static uint32_t rtl8139_bar_read(void *opaque, int bar, uint64_t offset, unsigned size)
{
    const Rtl8139 *s = opaque;
    uint32_t v = 0;
    unsigned i = 0;

    while (i < size && offset + i < RTL8139_REG_SPACE) {
        unsigned off = (unsigned)offset + i, base, width;
        uint32_t reg;

        rtl8139_reg_span(off, &base, &width);
        reg = rtl8139_reg_read(s, base);
        for (; i < size && off < base + width; i++, off++) {
            v |= (reg >> (8 * (off - base)) & 0xff) << (8 * i);
        }
    }
    return v;
}

static void rtl8139_bar_write(void *opaque, int bar, uint64_t offset, uint32_t value,
                              unsigned size)
{
    Rtl8139 *s = opaque;
    unsigned i = 0;

    while (i < size && offset + i < RTL8139_REG_SPACE) {
        unsigned off = (unsigned)offset + i, base, width;
        uint32_t v = 0, mask = 0;

        rtl8139_reg_span(off, &base, &width);
        for (; i < size && off < base + width; i++, off++) {
            v |= (value >> (8 * i) & 0xff) << (8 * (off - base));
            mask |= 0xffu << (8 * (off - base));
        }
        rtl8139_reg_write(s, base, v, mask);
    }
}

static const PciDeviceOps rtl8139_pci_ops = {
    .bar_read = rtl8139_bar_read,
    .bar_write = rtl8139_bar_write,
};

Rtl8139 *rtl8139_new(PciBus *bus, unsigned devfn, const Rtl8139Config *cfg)
{
    PciDeviceInfo info = {
        .name = "rtl8139",
        .vendor_id = RTL8139_VENDOR_ID,
        .device_id = RTL8139_DEVICE_ID,
        .subsystem_vendor_id = RTL8139_VENDOR_ID,
        .subsystem_id = RTL8139_DEVICE_ID,
        /* 0 means "not given": a plain 8139 is revision 0x10. */
        .revision = cfg->revision ? cfg->revision : RTL8139_DEFAULT_REVISION,
        .class_code = RTL8139_CLASS,
        .interrupt_pin = 1,
        .bar = { { PCI_BAR_IO, RTL8139_REG_SPACE }, { PCI_BAR_MEM32, RTL8139_REG_SPACE } },
    };
    Rtl8139 *s = calloc(1, sizeof(*s));

    if (!s) {
        return NULL;
    }
    s->bus = bus;
    s->devfn = devfn;
    s->irq = cfg->irq;
    rtl8139_eeprom_init(&s->eeprom, cfg->mac, info.vendor_id, info.device_id,
                        info.subsystem_vendor_id, info.subsystem_id);
    if (pci_bus_add(bus, devfn, &info, &rtl8139_pci_ops, s) != 0) {
        free(s);
        return NULL;
    }
    rtl8139_reset(s);
    return s;
}

/* The bus keeps a pointer to the device (pci.h has no unplug): free the
 * bus before or together with the device, never access it after. */
void rtl8139_free(Rtl8139 *s)
{
    free(s);
}

size_t rtl8139_state_size(void)
{
    return sizeof(Rtl8139Eeprom) + sizeof(Rtl8139Regs);
}

void rtl8139_state_save(const Rtl8139 *s, void *buf)
{
    uint8_t *p = buf;

    memcpy(p, &s->eeprom, sizeof(s->eeprom));
    memcpy(p + sizeof(s->eeprom), &s->r, sizeof(s->r));
}

void rtl8139_state_restore(Rtl8139 *s, const void *buf)
{
    const uint8_t *p = buf;
    Rtl8139EepromWire *w = &s->eeprom.wire;

    memcpy(&s->eeprom, p, sizeof(s->eeprom));
    memcpy(&s->r, p + sizeof(s->eeprom), sizeof(s->r));
    /* A blob from disk is not trusted to hold in-range indices. */
    w->addr &= RTL8139_EEPROM_WORDS - 1;
    if (w->bits > 16) {
        w->bits = 16;
    }
    rtl8139_update_irq(s);
}
