/*
 * devices/rtl8139.c: RealTek RTL8139 Fast Ethernet controller after the
 * RTL8139C(L) datasheet: §5 "Register Descriptions" (the operational
 * registers at BAR offsets 00h-7Fh), §6 (93C46 EEPROM, in
 * rtl8139_eeprom.c), §7 "Functional Description" (the receive ring buffer,
 * the four transmit descriptors, interrupts).
 *
 * PCI function 10ec:8139, class 020000, revision from the config (0x10 by
 * default: 8139too hands revisions >= 0x20 to 8139cp), BAR0 = 256 bytes of
 * I/O and BAR1 = 256 bytes of memory decoding the same registers, INTA#
 * driven from (IntrStatus & IntrMask) != 0.  Registers: IDR0-5 (from the
 * EEPROM, writable only in Cfg9346 config-write mode), MAR0-7, TSD0-3 /
 * TSAD0-3, RBSTART, ChipCmd (RST self-clears at once, RE/TE, BUFE),
 * CAPR/CBR, IMR, ISR (write 1 to clear), TCR with the version bits of the
 * configured chip, RCR, TCTR, MPC, Cfg9346 (normal / autoload / programming
 * / config-write), Config0/1/3/4, TimerInt, MediaStatus, HltClk,
 * MultiIntr, TSAD summary, the internal PHY's BMCR/BMSR/ANAR/ANLPAR/ANER at
 * 62h-6Ah (8139too's mdio_read() maps MII registers 0,1,4,5,6 onto them for
 * phy id 32), and the undocumented FIFOTMS/CSCR/PARA78/PARA7C that
 * 8139too's rtl8139_tune_twister() uses.  The link is always up at 100 Mb/s
 * full duplex with autonegotiation done.
 *
 * Transmit (§7.1): writing TSDn with OWN = 0 hands descriptor n to the
 * chip.  The chip serves descriptors in ring order 0,1,2,3,0... from its
 * own pointer (a descriptor handed over out of turn waits for its turn);
 * with ChipCmd.TE set it fetches SIZE bytes at TSADn by DMA, sends them
 * (the chip does not pad: 8139too pads to 60 itself; with TCR.CRC set the
 * buffer already ends in an FCS, which is stripped before the NetPort),
 * then sets OWN and TOK and raises ISR.TOK -- all at once in virtual
 * time.  A failed fetch ends the descriptor with OWN | TABT and raises
 * ISR.TER.  SIZE 0 completes without a frame; SIZE over 1792 (the chip's
 * early-transmit limit, beyond what a 1514-byte port carries) is aborted.
 *
 * Receive (§7.2): rtl8139_receive() applies the RCR address filter (AAP
 * all unicast, APM our IDR, AM multicast whose hash bit is set in MAR --
 * bit = the top 6 bits of the bit-reversed CRC-32 of the destination, as
 * 8139too's __set_rx_mode() computes it -- AB broadcast), then writes at
 * RBSTART + CBR a 4-byte header (status: ROK, PAM/MAR/BAR; length including
 * the 4-byte FCS) followed by the frame and its FCS (Ethernet CRC-32), and
 * moves CBR to the next 32-bit boundary modulo the ring length (8K << RBLEN).
 * A frame crossing the end of the ring continues at its start when
 * RCR.WRAP = 0 (and always with the 64K ring, where WRAP is void), or runs
 * on past the end (the driver reserves the slack) when WRAP = 1.  The ring
 * is full when the write would reach CAPR + 16, the driver's read position:
 * then ISR.RxOverflow is raised and the frame is refused (-EAGAIN).
 * Clearing ChipCmd.RE resets the receive pointers (CBR = 0, ring empty):
 * 8139too's rtl8139_rx_err() restarts at offset 0 after toggling RE,
 * without writing CAPR, which only works if the chip does this.
 *
 * DMA goes only through the DmaPort given at creation.  A transfer fails
 * when the port refuses it (the IOMMU records why), when there is no port,
 * or when PCI bus mastering is off; the chip then shows what a bus master
 * shows for an aborted cycle: "received master abort" in the PCI status
 * and ISR.SERR (8139too's PCIErr, which it reports as "PCI Bus error").
 *
 * Timer: TCTR counts at the 33 MHz PCI clock from the virtual time the
 * machine passes to rtl8139_advance(); any write restarts it at 0.  With a
 * non-zero TimerInt, ISR.TimeOut is raised whenever TCTR passes it.
 *
 * Reset: power-on and Cfg9346 autoload restore every register and reload
 * IDR0-5 from the EEPROM; ChipCmd.RST does the same except IDR0-5 and
 * MAR0-7, which the datasheet says a software reset leaves unchanged.
 *
 * Not modelled: early receive/transmit (ERBCR/ERSR read 0, no early
 * interrupts), receive errors (CRC, runts: the wire never delivers them,
 * so AER/AR have nothing to accept), loopback (TCR.LBK frames go to the
 * wire), the transmitter halting after an abort (TCR.CLRABT is accepted
 * and has nothing to restart), collisions and the FIFO thresholds, flow
 * control, wake-on-LAN, Config5, the C+ mode registers, the MII
 * bit-bang interface of the RTL8129 (Config4 MDIO bits), link changes
 * (LinkChg and CSCR.LinkChange never rise).  CSCR is undocumented for
 * this chip: it reads the written control bits plus Con_status (bit 3)
 * and the LinkOK bit 8139too tests (bit 10), with the cable-length bits
 * 15:12 at 0, the short-cable case that 8139too's twister tuning finishes
 * in four steps.
 *
 * This file: registers, resets, the timer, the PCI function and the
 * snapshot; DMA, receive and transmit are in rtl8139_rxtx.c.
 */
#include "devices/rtl8139_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RTL8139_VENDOR_ID 0x10ec
#define RTL8139_DEVICE_ID 0x8139
#define RTL8139_CLASS 0x020000       /* network, Ethernet */
#define RTL8139_DEFAULT_REVISION 0x10
#define RTL8139_REG_SPACE 256

/* Register offsets (datasheet §5; 70h-7Fh from 8139too). */
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
    RTL8139_FIFOTMS = 0x70,
    RTL8139_CSCR = 0x74,
    RTL8139_PARA78 = 0x78,
    RTL8139_PARA7C = 0x7c,
};

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

/* CSCR (see the header comment): control bits kept as written, status
 * bits computed from the link. */
#define RTL8139_CSCR_WMASK 0x03f5
#define RTL8139_CSCR_CON_STATUS 0x0008
#define RTL8139_CSCR_LINK_OK 0x0400

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

#define RTL8139_PCI_HZ 33000000u     /* TCTR's clock */
#define RTL8139_NS_PER_S 1000000000u

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
    { RTL8139_ANLPAR, 2 }, { RTL8139_ANER, 2 }, { RTL8139_FIFOTMS, 4 },
    { RTL8139_CSCR, 2 }, { RTL8139_PARA78, 4 }, { RTL8139_PARA7C, 4 },
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

void rtl8139_update_irq(Rtl8139 *s)
{
    irq_line_set(&s->irq, (s->r.isr & s->r.imr) != 0);
}

static int rtl8139_config_unlocked(const Rtl8139 *s)
{
    return (s->r.cfg9346 & RTL8139_9346_MODE) == RTL8139_9346_CONFIG_WRITE;
}

/* Power-on values of everything but IDR0-5 and MAR0-7. */
static void rtl8139_reset_registers(Rtl8139 *s)
{
    Rtl8139Regs *r = &s->r;
    uint8_t idr[6], mar[8];

    memcpy(idr, r->idr, sizeof(idr));
    memcpy(mar, r->mar, sizeof(mar));
    memset(r, 0, sizeof(*r));
    memcpy(r->idr, idr, sizeof(idr));
    memcpy(r->mar, mar, sizeof(mar));
    r->tctr_zero_ns = s->now_ns;
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
    rtl8139_reset_registers(s);
    rtl8139_eeprom_reset_wire(&s->eeprom);
    rtl8139_eeprom_read_mac(&s->eeprom, s->r.idr);   /* the autoload */
    rtl8139_update_irq(s);
}

static void rtl8139_soft_reset(Rtl8139 *s)
{
    rtl8139_reset_registers(s);
    rtl8139_eeprom_drive(&s->eeprom, 0, 0, 0);       /* Cfg9346 back to normal */
    rtl8139_update_irq(s);
}

/* --- the timer ----------------------------------------------------------- */

/* PCI clocks since TCTR was last 0 (64 bits: TCTR is the low 32). */
static uint64_t rtl8139_timer_ticks(const Rtl8139 *s, uint64_t now_ns)
{
    uint64_t d = now_ns - s->r.tctr_zero_ns;

    return d / RTL8139_NS_PER_S * RTL8139_PCI_HZ +
           d % RTL8139_NS_PER_S * RTL8139_PCI_HZ / RTL8139_NS_PER_S;
}

/* The first tick count after `ticks` at which TCTR equals TimerInt. */
static uint64_t rtl8139_timer_next_match(const Rtl8139 *s, uint64_t ticks)
{
    uint64_t m = (ticks & ~0xffffffffull) | s->r.timer_int;

    return m > ticks ? m : m + (1ull << 32);
}

void rtl8139_advance(Rtl8139 *s, uint64_t now_ns)
{
    if (now_ns <= s->now_ns) {
        return;
    }
    if (s->r.timer_int &&
        rtl8139_timer_next_match(s, rtl8139_timer_ticks(s, s->now_ns)) <=
            rtl8139_timer_ticks(s, now_ns)) {
        s->r.isr |= RTL8139_INT_TIMEOUT;
    }
    s->now_ns = now_ns;
    rtl8139_update_irq(s);
}

uint64_t rtl8139_next_deadline_ns(const Rtl8139 *s)
{
    uint64_t t, ns;

    if (!s->r.timer_int) {
        return UINT64_MAX;
    }
    t = rtl8139_timer_next_match(s, rtl8139_timer_ticks(s, s->now_ns));
    /* The first ns whose tick count reaches t: ceil(t * 1e9 / 33e6). */
    ns = t / RTL8139_PCI_HZ * RTL8139_NS_PER_S +
         ((t % RTL8139_PCI_HZ) * RTL8139_NS_PER_S + RTL8139_PCI_HZ - 1) / RTL8139_PCI_HZ;
    return s->r.tctr_zero_ns + ns;
}

/* --- registers ----------------------------------------------------------- */

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
    case RTL8139_TCR:      return r->tcr | s->hw_version;
    case RTL8139_RCR:      return r->rcr;
    case RTL8139_TCTR:     return (uint32_t)rtl8139_timer_ticks(s, s->now_ns);
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
    case RTL8139_FIFOTMS:  return r->fifotms;
    case RTL8139_CSCR:     return r->cscr | RTL8139_CSCR_LINK_OK | RTL8139_CSCR_CON_STATUS;
    case RTL8139_PARA78:   return r->para78;
    case RTL8139_PARA7C:   return r->para7c;
    default:               return 0;     /* ERBCR, ERSR, reserved, unknown */
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

static void rtl8139_cr_write(Rtl8139 *s, uint8_t v)
{
    if (v & RTL8139_CR_RST) {
        rtl8139_soft_reset(s);
        return;
    }
    if (!(v & RTL8139_CR_RE)) {
        /* A stopped receiver starts again at the top of an empty ring. */
        s->r.cbr = 0;
        s->r.capr = 0xfff0;
    }
    s->r.cr = (uint8_t)(v & (RTL8139_CR_RE | RTL8139_CR_TE));
    rtl8139_rxtx_kick(s);
}

static uint32_t rtl8139_merge(uint32_t old, uint32_t v, uint32_t mask, uint32_t wmask)
{
    return (old & ~(mask & wmask)) | (v & mask & wmask);
}

static void rtl8139_tsd_write(Rtl8139 *s, int slot, uint32_t v, uint32_t mask)
{
    uint32_t *tsd = &s->r.tsd[slot];

    *tsd = rtl8139_merge(*tsd, v, mask, RTL8139_TSD_WMASK);
    if (!(*tsd & RTL8139_TSD_OWN)) {
        /* OWN = 0 hands the buffer to the chip: old status goes. */
        *tsd &= RTL8139_TSD_WMASK;
        rtl8139_rxtx_kick(s);
    }
}

/* A write to a config register that Cfg9346 locks. */
static void rtl8139_locked_write(Rtl8139 *s, uint8_t *reg, uint32_t v, uint8_t wmask)
{
    if (rtl8139_config_unlocked(s)) {
        *reg = (uint8_t)rtl8139_merge(*reg, v, 0xff, wmask);
    }
}

/* Writes the bytes of the register at base selected by mask (v is already
 * shifted into register position).  One call per register per access, so
 * a 32-bit TSD write starts one transmit, not four. */
static void rtl8139_reg_write(Rtl8139 *s, unsigned base, uint32_t v, uint32_t mask)
{
    Rtl8139Regs *r = &s->r;

    if (base < RTL8139_IDR0 + 6) {
        rtl8139_locked_write(s, &r->idr[base], v, 0xff);
        return;
    }
    if (base >= RTL8139_MAR0 && base < RTL8139_MAR0 + 8) {
        r->mar[base - RTL8139_MAR0] = (uint8_t)v;
        return;
    }
    switch (base) {
    case RTL8139_TSD0: case RTL8139_TSD0 + 4: case RTL8139_TSD0 + 8: case RTL8139_TSD0 + 12:
        rtl8139_tsd_write(s, (int)(base - RTL8139_TSD0) / 4, v, mask);
        break;
    case RTL8139_TSAD0: case RTL8139_TSAD0 + 4: case RTL8139_TSAD0 + 8: case RTL8139_TSAD0 + 12:
        r->tsad[(base - RTL8139_TSAD0) / 4] =
            rtl8139_merge(r->tsad[(base - RTL8139_TSAD0) / 4], v, mask, ~0u);
        break;
    case RTL8139_RBSTART:  r->rbstart = rtl8139_merge(r->rbstart, v, mask, ~0u); break;
    case RTL8139_CR:       rtl8139_cr_write(s, (uint8_t)v); break;
    case RTL8139_CAPR:     r->capr = (uint16_t)rtl8139_merge(r->capr, v, mask, 0xffff); break;
    case RTL8139_IMR:
        r->imr = (uint16_t)rtl8139_merge(r->imr, v, mask, RTL8139_INT_MASK);
        break;
    case RTL8139_ISR:      r->isr &= (uint16_t)~(v & mask); break;
    case RTL8139_TCR:      r->tcr = rtl8139_merge(r->tcr, v, mask, RTL8139_TCR_WMASK); break;
    case RTL8139_RCR:
        r->rcr = rtl8139_merge(r->rcr, v, mask, RTL8139_RCR_WMASK);
        r->cbr &= (uint16_t)(rtl8139_ring_len(s) - 1);   /* a smaller ring */
        break;
    case RTL8139_TCTR:     r->tctr_zero_ns = s->now_ns; break;  /* restarts at 0 */
    case RTL8139_MPC:      r->mpc = 0; break;   /* any write clears the count */
    case RTL8139_9346CR:   rtl8139_cfg9346_write(s, (uint8_t)v); return;
    case RTL8139_CONFIG1:  rtl8139_locked_write(s, &r->config1, v, RTL8139_CONFIG1_WMASK); break;
    case RTL8139_CONFIG3:  rtl8139_locked_write(s, &r->config3, v, 0xff); break;
    case RTL8139_CONFIG4:  rtl8139_locked_write(s, &r->config4, v, 0xff); break;
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
    case RTL8139_FIFOTMS:  r->fifotms = rtl8139_merge(r->fifotms, v, mask, ~0u); break;
    case RTL8139_CSCR:
        r->cscr = (uint16_t)rtl8139_merge(r->cscr, v, mask, RTL8139_CSCR_WMASK);
        break;
    case RTL8139_PARA78:   r->para78 = rtl8139_merge(r->para78, v, mask, ~0u); break;
    case RTL8139_PARA7C:   r->para7c = rtl8139_merge(r->para7c, v, mask, ~0u); break;
    default:
        break;     /* read-only (CBR, Config0, MSR, TSAD, BMSR, ...) or unknown */
    }
    rtl8139_update_irq(s);
}

/* --- the PCI function ---------------------------------------------------- */

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

static void rtl8139_read_bus_master(Rtl8139 *s)
{
    s->bus_master = !!(pci_config_read(s->bus, s->devfn, PCI_COMMAND, 2) & PCI_COMMAND_MASTER);
}

static void rtl8139_config_written(void *opaque, unsigned offset, unsigned size)
{
    if (offset <= PCI_COMMAND && offset + size > PCI_COMMAND) {
        rtl8139_read_bus_master(opaque);
    }
}

static const PciDeviceOps rtl8139_pci_ops = {
    .bar_read = rtl8139_bar_read,
    .bar_write = rtl8139_bar_write,
    .config_written = rtl8139_config_written,
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
    Rtl8139 *s;

    if (cfg->chip > RTL8139_CHIP_8139K) {
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    s->bus = bus;
    s->devfn = devfn;
    s->irq = cfg->irq;
    s->dma = cfg->dma;
    s->net = cfg->net;
    s->hw_version = cfg->chip == RTL8139_CHIP_8139K ? RTL8139_TCR_HWVER_8139K
                                                    : RTL8139_TCR_HWVER_8139;
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

/* --- snapshot ------------------------------------------------------------ */

size_t rtl8139_state_size(void)
{
    return sizeof(uint64_t) + sizeof(Rtl8139Eeprom) + sizeof(Rtl8139Regs);
}

void rtl8139_state_save(const Rtl8139 *s, void *buf)
{
    uint8_t *p = buf;

    memcpy(p, &s->now_ns, sizeof(s->now_ns));
    memcpy(p + sizeof(uint64_t), &s->eeprom, sizeof(s->eeprom));
    memcpy(p + sizeof(uint64_t) + sizeof(s->eeprom), &s->r, sizeof(s->r));
}

void rtl8139_state_restore(Rtl8139 *s, const void *buf)
{
    const uint8_t *p = buf;
    Rtl8139EepromWire *w = &s->eeprom.wire;

    memcpy(&s->now_ns, p, sizeof(s->now_ns));
    memcpy(&s->eeprom, p + sizeof(uint64_t), sizeof(s->eeprom));
    memcpy(&s->r, p + sizeof(uint64_t) + sizeof(s->eeprom), sizeof(s->r));
    /* A blob from disk is not trusted to hold in-range indices. */
    w->addr &= RTL8139_EEPROM_WORDS - 1;
    if (w->bits > 16) {
        w->bits = 16;
    }
    s->r.tx_next &= 3;
    s->r.cbr &= (uint16_t)(rtl8139_ring_len(s) - 1);
    rtl8139_read_bus_master(s);
    rtl8139_update_irq(s);
}
