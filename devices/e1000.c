/*
 * devices/e1000.c: Intel 82540EM Gigabit Ethernet controller, register
 * level, after the PCI/PCI-X Family of Gigabit Ethernet Controllers
 * Software Developer's Manual (8254x SDM): §3 "Receive and Transmit
 * Description" (legacy receive descriptors, in e1000_rx.c; legacy and
 * extended transmit descriptors, checksum offload, TCP segmentation, in
 * e1000_tx.c), §13 "Register Descriptions" (here), §5 (EEPROM, in
 * e1000_eeprom.c) and §8 (PHY, in e1000_phy.c).
 *
 * Models: PCI function 8086:100e, class 020000, BAR0 = 128 KiB of memory
 * (32-bit registers), BAR1 = 64 bytes of I/O holding IOADDR/IODATA (e1000.ko
 * issues CTRL.RST through it for the 82540), INTA# driven from
 * (ICR & IMS) != 0.  CTRL (RST resets the MAC at once and reloads RAL0/RAH0
 * from the EEPROM; SLU lets the PHY's link through; PHY_RST holds the PHY
 * in reset), STATUS (LU, FD, speed from the PHY), EECD (REQ granted at
 * once, then SK/CS/DI drive the Microwire EEPROM and DO reads it), EERD
 * (reads complete at once), MDIC (PHY reads/writes complete at once; a PHY
 * address other than 1 answers with MDIC.E), ICR (read clears, write 1
 * clears), ICS/IMS/IMC, RCTL (EN, UPE, MPE, BAM, MO, LPE, BSIZE/BSEX,
 * SECRC, RDMTS), TCTL (EN, PSP), the descriptor ring registers, MTA, RA
 * (with AV), VFTA, the statistics block (read clears; the frame, octet,
 * size-bin, broadcast/multicast and no-buffer counts are kept, the error
 * counters stay 0), and plain storage for the registers e1000_reset_hw and
 * e1000_init_hw program (flow control, TIPG, delay timers, LEDCTL, PBA,
 * MANC, WUC/WUFC, ...).
 *
 * Transmit: a write to TDT (or setting TCTL.EN) sends every complete
 * packet between TDH and TDT: the chip fetches descriptors until one with
 * EOP (a packet whose EOP is not yet behind TDT waits, leaving TDH at its
 * start), gathers the buffers by DMA, applies the offloads (legacy CSO/CSS
 * insertion; context descriptors with IP and TCP/UDP checksum insertion;
 * TCP segmentation with per-segment IP length/id, TCP sequence, flags and
 * checksums), inserts the VLAN tag (VLE with CTRL.VME), pads to 60 bytes
 * when TCTL.PSP is set, and hands each frame without FCS to the NetPort.
 * Descriptors with RS get DD written back; TXDW then, TXQE when the ring is
 * empty.  e1000.ko turns checksum offload and TSO on for the 82540 by
 * default, so both are modelled rather than assumed unused.
 *
 * Receive (e1000_receive): address filter (RA exact matches with AV, UPE,
 * broadcast with BAM, multicast by MTA hash with RCTL.MO or MPE), VLAN tag
 * stripped into the descriptor when CTRL.VME is set, FCS appended (a real
 * CRC-32) unless RCTL.SECRC, spread over as many buffers as BSIZE needs
 * with EOP on the last, length/status (DD, EOP, IXSM) written back, RXT0
 * raised, RXDMT0 when the free descriptors fall to the RDMTS threshold.  A
 * frame that does not fit in the free descriptors is refused (-EAGAIN),
 * with RNBC counted and RXDMT0 raised so the driver refills.
 *
 * DMA failures: the IOMMU has already recorded a fault; the chip records a
 * received master abort in the PCI status register and stops the transfer
 * where it failed: a transmit leaves TDH at the packet (the driver's Tx
 * hang detection then resets the chip, as on hardware), a receive drops
 * the frame.  The 8254x has no interrupt cause for it.
 *
 * Time: nothing in this model waits.  Interrupt moderation (ITR, RDTR,
 * RADV, TIDV, TADV) is stored but interrupts are raised at once; the EEPROM
 * and PHY complete every operation at once.  No clock is wired.
 *
 * Not modelled: receive checksum offload (every descriptor carries IXSM,
 * so the driver verifies in software), VLAN filtering (VFTA is storage),
 * wake-up and manageability filters, flow-control frames, the packet
 * buffer FIFOs (TDFH etc. are storage), loopback, sub-dword register
 * accesses (the 8254x supports 32-bit accesses only: narrower reads return
 * the bytes of the register without side effects, narrower writes are
 * ignored), jumbo receives into chained descriptors beyond 16 KiB.
 */
#include "devices/e1000_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Registers that are storage only: offset, power-on value, writable bits.
 * Access widths as data: every register is 32 bits wide. */
static const struct {
    uint32_t offset, reset, wmask;
} e1000_plain_regs[] = {
    { 0x001c, 0x00000000u, 0xffffffffu },   /* FLA */
    { 0x0028, 0x00000000u, 0xffffffffu },   /* FCAL */
    { 0x002c, 0x00000000u, 0x0000ffffu },   /* FCAH */
    { 0x0030, 0x00000000u, 0x0000ffffu },   /* FCT */
    { 0x0038, 0x00008100u, 0x0000ffffu },   /* VET */
    { 0x00c4, 0x00000000u, 0x0000ffffu },   /* ITR */
    { 0x0170, 0x00000000u, 0x0000ffffu },   /* FCTTV */
    { 0x0178, 0x00000000u, 0xc00001ffu },   /* TXCW */
    { 0x0180, 0x00000000u, 0x00000000u },   /* RXCW */
    { 0x0410, 0x00000000u, 0x3fffffffu },   /* TIPG */
    { 0x0458, 0x00000000u, 0x0000ffffu },   /* AIT */
    { 0x0e00, 0x07068302u, 0xffffffffu },   /* LEDCTL */
    { 0x2160, 0x00000000u, 0x8000fff8u },   /* FCRTL */
    { 0x2168, 0x00000000u, 0x0000fff8u },   /* FCRTH */
    { 0x2410, 0x00000000u, 0x00001fffu },   /* RDFH */
    { 0x2418, 0x00000000u, 0x00001fffu },   /* RDFT */
    { 0x2420, 0x00000000u, 0x00001fffu },   /* RDFHS */
    { 0x2428, 0x00000000u, 0x00001fffu },   /* RDFTS */
    { 0x2430, 0x00000000u, 0x00001fffu },   /* RDFPC */
    { 0x2820, 0x00000000u, 0x0000ffffu },   /* RDTR */
    { 0x2828, 0x00000000u, 0x003f3f3fu },   /* RXDCTL */
    { 0x282c, 0x00000000u, 0x0000ffffu },   /* RADV */
    { 0x2c00, 0x00000000u, 0x00000fffu },   /* RSRPD */
    { 0x3410, 0x00000000u, 0x00001fffu },   /* TDFH */
    { 0x3418, 0x00000000u, 0x00001fffu },   /* TDFT */
    { 0x3420, 0x00000000u, 0x00001fffu },   /* TDFHS */
    { 0x3428, 0x00000000u, 0x00001fffu },   /* TDFTS */
    { 0x3430, 0x00000000u, 0x00001fffu },   /* TDFPC */
    { 0x3820, 0x00000000u, 0x0000ffffu },   /* TIDV */
    { 0x3828, 0x00000000u, 0x003f3f3fu },   /* TXDCTL */
    { 0x382c, 0x00000000u, 0x0000ffffu },   /* TADV */
    { 0x3830, 0x01000400u, 0xffffffffu },   /* TSPMT */
    { 0x5000, 0x00000000u, 0x000007ffu },   /* RXCSUM */
    { 0x5800, 0x00000000u, 0x0000001fu },   /* WUC */
    { 0x5808, 0x00000000u, 0x000000ffu },   /* WUFC */
    { 0x5810, 0x00000000u, 0x00000000u },   /* WUS */
    { 0x5820, 0x00000000u, 0xffffffffu },   /* MANC */
    { 0x5838, 0x00000000u, 0xffffffffu },   /* IPAV */
};


_Static_assert(sizeof(e1000_plain_regs) / sizeof(e1000_plain_regs[0]) == E1000_PLAIN_COUNT,
               "E1000_PLAIN_COUNT matches the table");
_Static_assert(sizeof(E1000Regs) % sizeof(uint32_t) == 0 &&
               sizeof(E1000TxContext) == 9 * sizeof(uint32_t),
               "E1000Regs is uint32_t words only");
_Static_assert(sizeof(E1000Phy) == 2 * E1000_PHY_REGS, "E1000Phy has no padding");
_Static_assert(sizeof(E1000Eeprom) == 2 * E1000_EEPROM_WORDS + 12,
               "E1000Eeprom has no padding");

/* --- interrupts, link, statistics ------------------------------------ */

void e1000_update_irq(E1000 *s)
{
    irq_line_set(&s->irq, (s->r.icr & s->r.ims) != 0);
}

void e1000_raise(E1000 *s, uint32_t causes)
{
    s->r.icr |= causes;
    e1000_update_irq(s);
}

/* STATUS.LU follows the PHY while CTRL.SLU lets it through; a change is a
 * link status change interrupt. */
static void e1000_link_update(E1000 *s)
{
    uint32_t up = (s->r.ctrl & E1000_CTRL_SLU) && !(s->r.ctrl & E1000_CTRL_PHY_RST) &&
                  e1000_phy_link(&s->phy);

    if (up != s->r.link_up) {
        s->r.link_up = up;
        s->r.icr |= E1000_ICR_LSC;
    }
}

static uint32_t e1000_status(const E1000 *s)
{
    uint32_t v = 0;
    unsigned speed;

    if (!s->r.link_up) {
        return 0;
    }
    speed = e1000_phy_speed(&s->phy);
    v |= E1000_STATUS_LU;
    v |= e1000_phy_full_duplex(&s->phy) ? E1000_STATUS_FD : 0;
    v |= speed == 1000 ? E1000_STATUS_SPEED_1000 : speed == 100 ? E1000_STATUS_SPEED_100 : 0;
    return v;
}

uint32_t *e1000_stat(E1000 *s, uint32_t offset)
{
    return &s->r.stats[(offset - E1000_STATS) / 4];
}

/* A 64-bit counter kept as a low/high register pair. */
static void e1000_stat_add64(E1000 *s, uint32_t low_offset, uint32_t v)
{
    uint32_t *lo = e1000_stat(s, low_offset);

    if (*lo + v < *lo) {
        (*e1000_stat(s, low_offset + 4))++;
    }
    *lo += v;
}

/* Frame counts, octets (DA through FCS) and size bins of one frame. */
void e1000_stat_frame(E1000 *s, const uint8_t *frame, size_t wire_len, bool rx)
{
    static const uint32_t bin_limit[] = { 64, 127, 255, 511, 1023 };
    uint32_t bin0 = rx ? E1000_PRC64 : E1000_PTC64;
    unsigned bin = 5;

    for (unsigned i = 0; i < 5; i++) {
        if (wire_len <= bin_limit[i]) {
            bin = i;
            break;
        }
    }
    (*e1000_stat(s, bin0 + 4 * bin))++;
    (*e1000_stat(s, rx ? E1000_GPRC : E1000_GPTC))++;
    (*e1000_stat(s, rx ? E1000_TPR : E1000_TPT))++;
    e1000_stat_add64(s, rx ? E1000_GORCL : E1000_GOTCL, (uint32_t)wire_len);
    e1000_stat_add64(s, rx ? E1000_TORL : E1000_TOTL, (uint32_t)wire_len);
    if (frame[0] & 1) {
        bool bcast = memcmp(frame, "\xff\xff\xff\xff\xff\xff", 6) == 0;

        (*e1000_stat(s, bcast ? (rx ? E1000_BPRC : E1000_BPTC)
                              : (rx ? E1000_MPRC : E1000_MPTC)))++;
    }
}

/* The chip lost a DMA: PCI status records it (the IOMMU recorded why). */
void e1000_master_abort(E1000 *s)
{
    pci_bus_set_status(s->bus, s->devfn, PCI_STATUS_REC_MASTER_ABORT);
}

static int e1000_plain_index(uint32_t offset)
{
    for (size_t i = 0; i < E1000_PLAIN_COUNT; i++) {
        if (e1000_plain_regs[i].offset == offset) {
            return (int)i;
        }
    }
    return -1;
}

/* The VLAN ethertype the chip inserts and recognises. */
uint16_t e1000_vet(const E1000 *s)
{
    return (uint16_t)s->r.plain[e1000_plain_index(E1000_VET)];
}
/* --- registers ---------------------------------------------------------- */

static uint32_t e1000_eecd_read(const E1000 *s)
{
    uint32_t v = s->r.eecd | E1000_EECD_PRES;

    if (v & E1000_EECD_REQ) {
        v |= E1000_EECD_GNT;         /* no firmware competes for the EEPROM */
    }
    return v | (e1000_eeprom_dout(&s->eeprom) ? E1000_EECD_DO : 0);
}

static void e1000_eecd_write(E1000 *s, uint32_t v)
{
    s->r.eecd = v & E1000_EECD_WMASK;
    if (s->r.eecd & E1000_EECD_REQ) {   /* pins reach the EEPROM once granted */
        e1000_eeprom_drive(&s->eeprom, v & E1000_EECD_CS, v & E1000_EECD_SK,
                           v & E1000_EECD_DI);
    }
}

static void e1000_eerd_write(E1000 *s, uint32_t v)
{
    uint32_t addr = (v >> 8) & 0xff;

    if (!(v & E1000_EERD_START)) {
        s->r.eerd = v & 0xff00;
        return;
    }
    s->r.eerd = (uint32_t)e1000_eeprom_read_word(&s->eeprom, addr) << 16 | addr << 8 |
                E1000_EERD_DONE;
}

static void e1000_mdic_write(E1000 *s, uint32_t v)
{
    unsigned op = (v >> 26) & 3, phy = (v >> 21) & 31, reg = (v >> 16) & 31;

    v &= ~(E1000_MDIC_READY | E1000_MDIC_ERROR);
    if (phy != E1000_PHY_ADDR || (op != E1000_MDIC_OP_READ && op != E1000_MDIC_OP_WRITE)) {
        s->r.mdic = v | E1000_MDIC_READY | E1000_MDIC_ERROR;   /* nobody answers */
    } else if (op == E1000_MDIC_OP_READ) {
        s->r.mdic = (v & 0xffff0000u) | e1000_phy_read(&s->phy, reg) | E1000_MDIC_READY;
    } else {
        e1000_phy_write(&s->phy, reg, (uint16_t)v);
        s->r.mdic = v | E1000_MDIC_READY;
        e1000_link_update(s);        /* power-down, restart, forced modes */
    }
    if (v & E1000_MDIC_INT_EN) {
        s->r.icr |= E1000_ICR_MDAC;
    }
}

/* What the MAC reset (power-on or CTRL.RST) restores; the PHY is apart. */
static void e1000_mac_reset(E1000 *s)
{
    E1000Regs *r = &s->r;

    memset(r, 0, sizeof(*r));
    r->ctrl = E1000_CTRL_RESET;
    r->eecd = E1000_EECD_FWE_DISABLED;
    r->tctl = E1000_TCTL_RESET;
    r->pba = E1000_PBA_RESET;
    for (size_t i = 0; i < E1000_PLAIN_COUNT; i++) {
        r->plain[i] = e1000_plain_regs[i].reset;
    }
    /* The reset autoload puts the EEPROM's address in RAL0/RAH0, valid. */
    r->ra[0] = e1000_eeprom_read_word(&s->eeprom, 0) |
               (uint32_t)e1000_eeprom_read_word(&s->eeprom, 1) << 16;
    r->ra[1] = e1000_eeprom_read_word(&s->eeprom, 2) | E1000_RAH_AV;
    e1000_eeprom_reset_wire(&s->eeprom);
    e1000_update_irq(s);
}

static void e1000_ctrl_write(E1000 *s, uint32_t v)
{
    uint32_t old = s->r.ctrl;

    if (v & E1000_CTRL_RST) {
        e1000_mac_reset(s);          /* self-clearing: done before any read */
        return;
    }
    s->r.ctrl = v;
    if ((old & E1000_CTRL_PHY_RST) && !(v & E1000_CTRL_PHY_RST)) {
        e1000_phy_reset(&s->phy);    /* the PHY leaves reset with defaults */
    }
    e1000_link_update(s);
}

/* The whole register at offset.  peek: no read side effects (ICR and the
 * statistics clear when read). */
static uint32_t e1000_reg_read(E1000 *s, uint32_t offset, bool peek)
{
    E1000Regs *r = &s->r;
    uint32_t v;
    int plain;

    if (offset >= E1000_STATS && offset < E1000_STATS + 4 * E1000_STATS_COUNT) {
        uint32_t *c = e1000_stat(s, offset);

        v = *c;
        *c = peek ? v : 0;
        return v;
    }
    if (offset >= E1000_MTA && offset < E1000_MTA + 4 * E1000_MTA_COUNT) {
        return r->mta[(offset - E1000_MTA) / 4];
    }
    if (offset >= E1000_RA && offset < E1000_RA + 4 * E1000_RA_COUNT) {
        return r->ra[(offset - E1000_RA) / 4];
    }
    if (offset >= E1000_VFTA && offset < E1000_VFTA + 4 * E1000_VFTA_COUNT) {
        return r->vfta[(offset - E1000_VFTA) / 4];
    }
    switch (offset) {
    case E1000_CTRL:     return r->ctrl;
    case E1000_STATUS:   return e1000_status(s);
    case E1000_EECD:     return e1000_eecd_read(s);
    case E1000_EERD:     return r->eerd;
    case E1000_CTRL_EXT: return r->ctrl_ext;
    case E1000_MDIC:     return r->mdic;
    case E1000_ICR:
        v = r->icr;
        if (!peek) {
            r->icr = 0;
            e1000_update_irq(s);
        }
        return v;
    case E1000_IMS:      return r->ims;
    case E1000_RCTL:     return r->rctl;
    case E1000_TCTL:     return r->tctl;
    case E1000_PBA:      return (E1000_PBA_TOTAL_KB - (r->pba & 0x3f)) << 16 | r->pba;
    case E1000_RDBAL:    return r->rdbal;
    case E1000_RDBAH:    return r->rdbah;
    case E1000_RDLEN:    return r->rdlen;
    case E1000_RDH:      return r->rdh;
    case E1000_RDT:      return r->rdt;
    case E1000_TDBAL:    return r->tdbal;
    case E1000_TDBAH:    return r->tdbah;
    case E1000_TDLEN:    return r->tdlen;
    case E1000_TDH:      return r->tdh;
    case E1000_TDT:      return r->tdt;
    default:
        plain = e1000_plain_index(offset);
        return plain < 0 ? 0 : r->plain[plain];   /* ICS, IMC: write-only */
    }
}

static void e1000_reg_write(E1000 *s, uint32_t offset, uint32_t v)
{
    E1000Regs *r = &s->r;
    int plain;

    if (offset >= E1000_STATS && offset < E1000_STATS + 4 * E1000_STATS_COUNT) {
        return;                      /* read-only */
    }
    if (offset >= E1000_MTA && offset < E1000_MTA + 4 * E1000_MTA_COUNT) {
        r->mta[(offset - E1000_MTA) / 4] = v;
        return;
    }
    if (offset >= E1000_RA && offset < E1000_RA + 4 * E1000_RA_COUNT) {
        r->ra[(offset - E1000_RA) / 4] = (offset & 4) ? (v & 0x8003ffffu) : v;
        return;
    }
    if (offset >= E1000_VFTA && offset < E1000_VFTA + 4 * E1000_VFTA_COUNT) {
        r->vfta[(offset - E1000_VFTA) / 4] = v;
        return;
    }
    switch (offset) {
    case E1000_CTRL:     e1000_ctrl_write(s, v); break;
    case E1000_EECD:     e1000_eecd_write(s, v); break;
    case E1000_EERD:     e1000_eerd_write(s, v); break;
    case E1000_CTRL_EXT: r->ctrl_ext = v & ~0x2000u; break;  /* EE_RST self-clears */
    case E1000_MDIC:     e1000_mdic_write(s, v); break;
    case E1000_ICR:      r->icr &= ~v; break;
    case E1000_ICS:      r->icr |= v & E1000_ICR_VALID; break;
    case E1000_IMS:      r->ims |= v & E1000_ICR_VALID; break;
    case E1000_IMC:      r->ims &= ~v; break;
    case E1000_RCTL:     r->rctl = v & 0x07fffffeu; break;
    case E1000_TCTL:
        r->tctl = v & 0x03fffffeu;
        e1000_tx_run(s);
        break;
    case E1000_PBA:      r->pba = v & 0x3f; break;
    case E1000_RDBAL:    r->rdbal = v & ~0xfu; break;
    case E1000_RDBAH:    r->rdbah = v; break;
    case E1000_RDLEN:    r->rdlen = v & 0xfff80u; break;
    case E1000_RDH:      r->rdh = v & 0xffff; break;
    case E1000_RDT:      r->rdt = v & 0xffff; break;
    case E1000_TDBAL:    r->tdbal = v & ~0xfu; break;
    case E1000_TDBAH:    r->tdbah = v; break;
    case E1000_TDLEN:    r->tdlen = v & 0xfff80u; break;
    case E1000_TDH:      r->tdh = v & 0xffff; break;
    case E1000_TDT:
        r->tdt = v & 0xffff;
        e1000_tx_run(s);
        break;
    default:
        plain = e1000_plain_index(offset);
        if (plain >= 0) {
            r->plain[plain] = (r->plain[plain] & ~e1000_plain_regs[plain].wmask) |
                              (v & e1000_plain_regs[plain].wmask);
        }
        break;                       /* STATUS and unknown offsets: ignored */
    }
    e1000_update_irq(s);
}

/* --- PCI ------------------------------------------------------------------ */

/* BAR0 is the register file; BAR1 holds IOADDR (0) and IODATA (4), a window
 * onto the same registers. */
static uint32_t e1000_bar_read(void *opaque, int bar, uint64_t offset, unsigned size)
{
    E1000 *s = opaque;
    uint32_t base = (uint32_t)offset & ~3u, v;
    bool whole = size == 4 && base == offset;

    if (bar == 1) {
        if (base == 0) {
            v = s->r.ioaddr;
        } else if (base == 4) {
            v = e1000_reg_read(s, s->r.ioaddr & E1000_IO_ADDR_MASK, !whole);
        } else {
            v = 0;
        }
    } else {
        v = e1000_reg_read(s, base, !whole);
    }
    if (!whole) {
        v >>= 8 * (offset & 3);
        v &= size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    }
    return v;
}

static void e1000_bar_write(void *opaque, int bar, uint64_t offset, uint32_t value,
                            unsigned size)
{
    E1000 *s = opaque;

    if (size != 4 || (offset & 3)) {
        return;                      /* the 8254x decodes dword accesses only */
    }
    if (bar == 1) {
        if (offset == 0) {
            s->r.ioaddr = value & E1000_IO_ADDR_MASK;
        } else if (offset == 4) {
            e1000_reg_write(s, s->r.ioaddr, value);
        }
        return;
    }
    e1000_reg_write(s, (uint32_t)offset, value);
}

static const PciDeviceOps e1000_pci_ops = {
    .bar_read = e1000_bar_read,
    .bar_write = e1000_bar_write,
};

void e1000_reset(E1000 *s)
{
    e1000_phy_reset(&s->phy);
    e1000_mac_reset(s);
}

E1000 *e1000_new(PciBus *bus, unsigned devfn, DmaPort *dma, const E1000Config *cfg)
{
    PciDeviceInfo info = {
        .name = "e1000",
        .vendor_id = E1000_VENDOR_ID,
        .device_id = E1000_DEVICE_ID,
        .subsystem_vendor_id = E1000_SUBSYS_VENDOR_ID,
        .subsystem_id = E1000_SUBSYS_ID,
        .revision = E1000_REVISION,
        .class_code = E1000_CLASS,
        .interrupt_pin = 1,
        .bar = { { PCI_BAR_MEM32, E1000_MMIO_SIZE }, { PCI_BAR_IO, E1000_IO_SIZE } },
    };
    E1000 *s = calloc(1, sizeof(*s));

    if (!s) {
        return NULL;
    }
    s->txbuf = malloc(E1000_TX_BUF_SIZE);
    s->frame = malloc(E1000_FRAME_BUF_SIZE);
    if (!s->txbuf || !s->frame) {
        e1000_free(s);
        return NULL;
    }
    s->bus = bus;
    s->devfn = devfn;
    s->dma = dma;
    s->irq = cfg->irq;
    s->net = cfg->net;
    e1000_eeprom_init(&s->eeprom, cfg->mac, info.vendor_id, info.device_id,
                      info.subsystem_vendor_id, info.subsystem_id);
    if (pci_bus_add(bus, devfn, &info, &e1000_pci_ops, s) != 0) {
        e1000_free(s);
        return NULL;
    }
    e1000_reset(s);
    return s;
}

void e1000_free(E1000 *s)
{
    if (s) {
        free(s->txbuf);
        free(s->frame);
        free(s);
    }
}

/* --- snapshot ------------------------------------------------------------ */

size_t e1000_state_size(void)
{
    return sizeof(E1000Eeprom) + sizeof(E1000Phy) + sizeof(E1000Regs);
}

void e1000_state_save(const E1000 *s, void *buf)
{
    uint8_t *p = buf;

    memcpy(p, &s->eeprom, sizeof(s->eeprom));
    memcpy(p + sizeof(s->eeprom), &s->phy, sizeof(s->phy));
    memcpy(p + sizeof(s->eeprom) + sizeof(s->phy), &s->r, sizeof(s->r));
}

void e1000_state_restore(E1000 *s, const void *buf)
{
    const uint8_t *p = buf;

    memcpy(&s->eeprom, p, sizeof(s->eeprom));
    memcpy(&s->phy, p + sizeof(s->eeprom), sizeof(s->phy));
    memcpy(&s->r, p + sizeof(s->eeprom) + sizeof(s->phy), sizeof(s->r));
    /* A blob from disk is not trusted to hold in-range indices. */
    e1000_eeprom_sanitize(&s->eeprom);
    s->r.link_up = s->r.link_up != 0;
    e1000_update_irq(s);
}
