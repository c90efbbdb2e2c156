/*
 * devices/pcnet.c: AMD PCnet-PCI II (Am79C970A) single-chip Ethernet
 * controller, after the Am79C970A data sheet (PCnet-PCI II): "Software
 * Access" (I/O resources, APROM, RAP/RDP/BDP/RESET, word and double-word I/O),
 * "Initialization Block", "Descriptor Rings" (SWSTYLE 0, 2, 3), "Transmit
 * and Receive Operation", "Interrupts", the CSR and BCR register
 * descriptions, and the EEPROM map (station address, hardware id 11h,
 * checksum, "WW").
 *
 * Models: PCI function 1022:2000, class 020000, BAR0 = 32 bytes of I/O and
 * BAR1 = 32 bytes of memory decoding the same registers, INTA# high while
 * CSR0.IENA and CSR0.INTR.  The APROM (16 bytes at 00h-0Fh); word I/O
 * (RDP 10h, RAP 12h, RESET 14h, BDP 16h; 16-bit accesses only) until a
 * 32-bit write to RDP switches to double-word I/O (RDP 10h, RAP 14h, RESET
 * 18h, BDP 1Ch; 32-bit accesses only) until H_RESET.  A read of RESET is
 * S_RESET.  CSR0 with its write-1-to-clear status bits, STOP overriding
 * everything, INIT (the init block read by DMA from IADR, 16- or 32-bit
 * layout as SSIZE32 says), STRT, TDMD; CSR1-6, 8-15, 24/25, 30/31, 58
 * (alias of BCR20), 76/78, 80, 88/89 (chip id 2621h: "PCnet/PCI II
 * 79C970A"), 112 (missed frames, MFCO on wrap), 114, 124; CSR3 masks, CSR4
 * (APAD_XMT, TXDPOLL, UINTCMD, TXSTRT and the other masked sources), CSR5
 * (SPND takes effect at once, LTINTEN, TOKINTD).  BCR0-22 as storage with
 * the defaults of the data sheet; BCR4 LEDOUT reports the link (the driver's
 * "link up" test, BCR4 != 00C0h) whenever LNKSTE is set; BCR18.DWIO;
 * BCR20 SWSTYLE with SSIZE32/CSRPCNET.
 *
 * Transmit: on TDMD, STRT, leaving suspend and every PCNET_POLL_INTERVAL_NS
 * of virtual time (pcnet_advance) unless TXDPOLL, the chip walks the
 * transmit ring from its current descriptor, gathers each STP..ENP chain by
 * DMA, hands the frame to the NetPort without FCS (stripping the last four
 * bytes when DXMTFCS is set and ADD_FCS is not; APAD_XMT pads to 60
 * bytes), writes back each descriptor with OWN clear (the STP one last),
 * sets TINT (LTINTEN/TOKINTD rules).  A chain whose next descriptor is not
 * the chip's ends in BUFF+UFLO and turns the transmitter off unless
 * DXSUFLO.  With CSR15.LOOP or INTL set the frame is received by the chip
 * itself instead of going to the wire.
 * Receive: the address filter (PROM, physical with DRCVPA, broadcast with
 * DRCVBC, logical address filter LADRF hashed with the CRC-32 of the
 * destination); the frame plus its FCS go into the next STP..ENP chain of
 * receive descriptors; MCNT in the last, PAM/LAFM/BAM, OWN cleared (STP
 * last), RINT.  No descriptor: MISS, CSR112 counts.
 *
 * A failed DMA (the IOMMU refused, or bus mastering is off) sets CSR0.MERR
 * and "received master abort" in the PCI status; the operation is
 * abandoned and the chip runs on, as pcnet32's handler expects ("no
 * restart needed").
 *
 * Timing: everything a register write starts completes before the write
 * returns (INIT, a transmit poll); there is no FIFO, no latency.
 *
 * Not modelled: an MII PHY (the Am79C970A has none; BCR32-35 read 0),
 * 100 Mb/s (this chip is 10BASE-T/AUI only: pcnet32 reports 10 Mb/s, link
 * up), collisions, SQE test (CERR), jabber, the EEPROM serial port
 * (BCR19 reads PVALID only), SWSTYLE 1 (ILACC; INIT in that style or a
 * reserved one ends in MERR), ASTRP_RCV, runt accept, look-ahead packet
 * processing, magic packet, LED pins, the bus timer, CSR72/74 (read 0),
 * BABL beyond refusing to send a frame longer than 1518 bytes.
 *
 * This file: registers, resets, the bus interface and the snapshot; the
 * init block, the rings, transmit and receive are in pcnet_ring.c.
 */
#include "devices/pcnet_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCNET_CLASS 0x020000
#define PCNET_REVISION 0x10
#define PCNET_CHIP_ID 0x02621003u     /* CSR89:CSR88: part 2621h, AMD 003h */

/* I/O offsets. */
enum {
    PCNET_APROM_END = 0x10,
    PCNET_WIO_RDP = 0x10, PCNET_WIO_RAP = 0x12, PCNET_WIO_RESET = 0x14, PCNET_WIO_BDP = 0x16,
    PCNET_DWIO_RDP = 0x10, PCNET_DWIO_RAP = 0x14, PCNET_DWIO_RESET = 0x18,
    PCNET_DWIO_BDP = 0x1c,
};

#define BCR2_DEFAULT 0x0002           /* ASEL */
#define BCR4_LNKSTE 0x0040
#define BCR4_LEDOUT 0x8000
#define BCR18_DWIO 0x0080
#define BCR19_PVALID 0x8000
#define BCR20_SSIZE32 0x0100
#define BCR20_CSRPCNET 0x0200

/* --- helpers ------------------------------------------------------------ */

static uint16_t pcnet_intr_sources(const Pcnet *s)
{
    const PcnetRegs *r = &s->r;
    uint16_t c0 = r->csr0 & (CSR0_BABL | CSR0_MISS | CSR0_MERR | CSR0_RINT | CSR0_TINT |
                             CSR0_IDON);
    /* CSR4: each source sits one bit above its mask; UINT has none. */
    uint16_t c4 = r->csr4 & (uint16_t)~(r->csr4 << 1) & (CSR4_W1C & ~CSR4_UINT);

    return (uint16_t)((c0 & ~r->csr3) | c4 | (r->csr4 & CSR4_UINT));
}

static uint16_t pcnet_csr0(const Pcnet *s)
{
    uint16_t v = s->r.csr0;

    if (v & (CSR0_BABL | CSR0_CERR | CSR0_MISS | CSR0_MERR)) {
        v |= CSR0_ERR;
    }
    if (pcnet_intr_sources(s)) {
        v |= CSR0_INTR;
    }
    return v;
}

void pcnet_update_irq(Pcnet *s)
{
    irq_line_set(&s->irq, (s->r.csr0 & CSR0_IENA) && pcnet_intr_sources(s));
}

/* Bus-master DMA.  A refusal is the chip's memory error: MERR, and the PCI
 * status says the transaction ended in a master abort. */
int pcnet_dma(Pcnet *s, int write, uint32_t addr, void *buf, size_t len)
{
    int err = -EIO;

    if (s->master) {
        err = write ? dma_write(s->dma, addr, buf, len) : dma_read(s->dma, addr, buf, len);
    }
    if (err) {
        s->r.csr0 |= CSR0_MERR;
        pci_bus_set_status(s->bus, s->devfn, PCI_STATUS_REC_MASTER_ABORT);
        return -EIO;
    }
    return 0;
}

/* --- registers ---------------------------------------------------------- */

static uint16_t pcnet_bcr20(unsigned style)
{
    style &= 0xff;
    return (uint16_t)(style | (style >= 1 && style <= 3 ? BCR20_SSIZE32 : 0) |
                      (style != 1 ? BCR20_CSRPCNET : 0));
}

static unsigned pcnet_log2(unsigned n)
{
    unsigned l = 0;

    while ((1u << l) < n) {
        l++;
    }
    return l;
}

/* The whole CSR n; reads have no side effects. */
static uint16_t pcnet_csr_read(const Pcnet *s, unsigned n)
{
    const PcnetRegs *r = &s->r;

    switch (n) {
    case 0:   return pcnet_csr0(s);
    case 1:   return (uint16_t)r->iadr;
    case 2:   return (uint16_t)(r->iadr >> 16);
    case 3:   return r->csr3;
    case 4:   return r->csr4;
    case 5:   return r->csr5;
    case 6:   return (uint16_t)(pcnet_log2(r->tlen) << 12 | pcnet_log2(r->rlen) << 8);
    case 8: case 9: case 10: case 11:
        return r->ladrf[n - 8];
    case 12: case 13: case 14:
        return r->padr[n - 12];
    case 15:  return r->csr15;
    case 24:  return (uint16_t)r->rdra;
    case 25:  return (uint16_t)(r->rdra >> 16);
    case 30:  return (uint16_t)r->tdra;
    case 31:  return (uint16_t)(r->tdra >> 16);
    case 58:  return r->bcr[20];
    case 76:  return (uint16_t)(0x10000u - r->rlen);
    case 78:  return (uint16_t)(0x10000u - r->tlen);
    case 80:  return r->csr80;
    case 88:  return (uint16_t)PCNET_CHIP_ID;
    case 89:  return (uint16_t)(PCNET_CHIP_ID >> 16);
    case 112: return r->csr112;
    case 114: return r->csr114;
    case 124: return r->csr124;
    default:  return 0;
    }
}

static void pcnet_csr0_write(Pcnet *s, uint16_t v)
{
    PcnetRegs *r = &s->r;

    if (v & CSR0_STOP) {
        r->csr0 = CSR0_STOP;       /* overrides INIT and STRT, clears the rest */
        return;
    }
    r->csr0 &= (uint16_t)~(v & CSR0_W1C);
    r->csr0 = (uint16_t)((r->csr0 & ~CSR0_IENA) | (v & CSR0_IENA));
    if (v & CSR0_INIT) {
        pcnet_ring_init(s);
    }
    if (v & CSR0_STRT) {
        r->csr0 = (uint16_t)((r->csr0 & ~(CSR0_STOP | CSR0_RXON | CSR0_TXON)) | CSR0_STRT |
                             ((r->csr15 & CSR15_DRX) ? 0 : CSR0_RXON) |
                             ((r->csr15 & CSR15_DTX) ? 0 : CSR0_TXON));
    }
    if (v & (CSR0_STRT | CSR0_TDMD)) {
        pcnet_ring_tx_poll(s);          /* TDMD reads back 0: the poll is done */
    }
}

static void pcnet_csr_write(Pcnet *s, unsigned n, uint16_t v)
{
    PcnetRegs *r = &s->r;
    int stopped = (r->csr0 & CSR0_STOP) != 0;
    /* The address and mode registers change only while the chip is
     * stopped or suspended (data sheet, CSR8-15). */
    int quiet = stopped || (r->csr5 & CSR5_SPND);

    switch (n) {
    case 0: pcnet_csr0_write(s, v); break;
    case 1:
        if (stopped) {
            r->iadr = (r->iadr & 0xffff0000u) | v;
        }
        break;
    case 2:
        if (stopped) {
            r->iadr = (r->iadr & 0xffffu) | (uint32_t)v << 16;
        }
        break;
    case 3: r->csr3 = v & CSR3_WMASK; break;
    case 4:
        r->csr4 = (uint16_t)((r->csr4 & CSR4_W1C & ~v) | (v & CSR4_WMASK) |
                             ((v & CSR4_UINTCMD) ? CSR4_UINT : 0));
        break;
    case 5: {
        int resumed = (r->csr5 & CSR5_SPND) && !(v & CSR5_SPND);

        r->csr5 = (uint16_t)((r->csr5 & CSR5_W1C & ~v) | (v & CSR5_WMASK));
        if (resumed) {
            pcnet_ring_tx_poll(s);
        }
        break;
    }
    case 8: case 9: case 10: case 11:
        if (quiet) {
            r->ladrf[n - 8] = v;
        }
        break;
    case 12: case 13: case 14:
        if (quiet) {
            r->padr[n - 12] = v;
        }
        break;
    case 15:
        if (quiet) {
            r->csr15 = v;
        }
        break;
    case 58:  r->bcr[20] = pcnet_bcr20(v); break;
    case 80:  r->csr80 = v; break;
    case 112:
        if (stopped) {
            r->csr112 = v;
        }
        break;
    case 114:
        if (stopped) {
            r->csr114 = v;
        }
        break;
    case 124: r->csr124 = v; break;
    default:  break;           /* read-only or not modelled */
    }
}

static uint16_t pcnet_bcr_read(const Pcnet *s, unsigned n)
{
    uint16_t v = n < PCNET_NUM_BCRS ? s->r.bcr[n] : 0;

    switch (n) {
    case 4: case 5: case 6: case 7:
        /* LEDOUT: the OR of the enabled status signals; the link is up. */
        return (uint16_t)(v | ((v & BCR4_LNKSTE) ? BCR4_LEDOUT : 0));
    case 18:
        return (uint16_t)(v | (s->r.dwio ? BCR18_DWIO : 0));
    default:
        return v;
    }
}

static void pcnet_bcr_write(Pcnet *s, unsigned n, uint16_t v)
{
    uint16_t *b = s->r.bcr;

    switch (n) {
    case 2: case 9: case 16: case 17: case 21: case 22:
        b[n] = v;
        break;
    case 4: case 5: case 6: case 7:
        b[n] = v & (uint16_t)~BCR4_LEDOUT;
        break;
    case 18:
        b[n] = v & (uint16_t)~BCR18_DWIO;
        break;
    case 20:
        b[n] = pcnet_bcr20(v);
        break;
    default:
        break;                 /* BCR0/1/19 read-only; MII and reserved absent */
    }
}

/* S_RESET (a read of RESET): the CSRs back to their defaults; the BCRs,
 * the I/O mode, the addresses and the ring geometry stay. */
static void pcnet_soft_reset(Pcnet *s)
{
    PcnetRegs *r = &s->r;

    r->csr0 = CSR0_STOP;
    r->csr3 = 0;
    r->csr4 = CSR4_DEFAULT;
    r->csr5 = 0;
    r->csr15 = 0;
    r->csr80 = CSR80_DEFAULT;
    r->csr112 = 0;
    r->csr114 = 0;
    r->csr124 = 0;
    r->rap = 0;
    r->rx_idx = 0;
    r->tx_idx = 0;
}

void pcnet_reset(Pcnet *s)
{
    PcnetRegs *r = &s->r;

    memset(r, 0, sizeof(*r));
    r->rlen = 1;
    r->tlen = 1;
    r->bcr[0] = 0x0005;            /* MSRDA */
    r->bcr[1] = 0x0005;            /* MSWRA */
    r->bcr[2] = BCR2_DEFAULT;
    r->bcr[4] = 0x00c0;            /* LED0: link status, pulse stretch */
    r->bcr[5] = 0x0084;
    r->bcr[6] = 0x0088;
    r->bcr[7] = 0x0090;
    r->bcr[18] = 0x9001;
    r->bcr[19] = BCR19_PVALID;     /* the EEPROM read at reset was valid */
    r->bcr[20] = pcnet_bcr20(0);
    r->bcr[22] = 0xff06;
    pcnet_soft_reset(s);
    /* The EEPROM load: the station address into CSR12-14. */
    for (int i = 0; i < 3; i++) {
        r->padr[i] = pcnet_le16(s->aprom + 2 * i);
    }
    pcnet_update_irq(s);
}

/* --- bus interface ------------------------------------------------------ */

enum { PCNET_PORT_NONE, PCNET_PORT_RDP, PCNET_PORT_RAP, PCNET_PORT_RESET, PCNET_PORT_BDP };

/* Access widths as data: the register ports behind 10h-1Fh, by I/O mode,
 * indexed by (offset - 10h) / 2. */
static const struct {
    unsigned width;
    uint8_t port[8];
} pcnet_ports[2] = {
    { 2, { PCNET_PORT_RDP, PCNET_PORT_RAP, PCNET_PORT_RESET, PCNET_PORT_BDP } },
    { 4, { PCNET_PORT_RDP, 0, PCNET_PORT_RAP, 0, PCNET_PORT_RESET, 0, PCNET_PORT_BDP, 0 } },
};

static unsigned pcnet_port(const Pcnet *s, uint64_t offset, unsigned size)
{
    unsigned mode = s->r.dwio;

    if (offset < PCNET_APROM_END || offset >= PCNET_REG_SPACE ||
        size != pcnet_ports[mode].width || (offset & (size - 1))) {
        return PCNET_PORT_NONE;
    }
    return pcnet_ports[mode].port[(offset - PCNET_APROM_END) / 2];
}

static uint32_t pcnet_bar_read(void *opaque, int bar, uint64_t offset, unsigned size)
{
    Pcnet *s = opaque;
    uint32_t v = 0;

    (void)bar;                     /* both BARs decode the same registers */
    if (offset < PCNET_APROM_END && offset + size <= PCNET_APROM_END) {
        for (unsigned i = 0; i < size; i++) {
            v |= (uint32_t)s->aprom[offset + i] << (8 * i);
        }
        return v;
    }
    switch (pcnet_port(s, offset, size)) {
    case PCNET_PORT_RDP: return pcnet_csr_read(s, s->r.rap);
    case PCNET_PORT_RAP: return s->r.rap;
    case PCNET_PORT_BDP: return pcnet_bcr_read(s, s->r.rap);
    case PCNET_PORT_RESET:
        pcnet_soft_reset(s);
        pcnet_update_irq(s);
        return 0;
    default:
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    }
}

static void pcnet_bar_write(void *opaque, int bar, uint64_t offset, uint32_t value,
                            unsigned size)
{
    Pcnet *s = opaque;

    (void)bar;
    /* A double-word write to RDP switches to DWIO until H_RESET. */
    if (!s->r.dwio && size == 4 && offset == PCNET_WIO_RDP) {
        s->r.dwio = 1;
    }
    switch (pcnet_port(s, offset, size)) {
    case PCNET_PORT_RDP: pcnet_csr_write(s, s->r.rap, (uint16_t)value); break;
    case PCNET_PORT_RAP: s->r.rap = (uint16_t)(value & 0x7f); break;
    case PCNET_PORT_BDP: pcnet_bcr_write(s, s->r.rap, (uint16_t)value); break;
    default:             break;    /* APROM (write-protected), RESET, unknown */
    }
    pcnet_update_irq(s);
}

static void pcnet_latch_command(Pcnet *s)
{
    s->master = (pci_config_read(s->bus, s->devfn, PCI_COMMAND, 2) & PCI_COMMAND_MASTER) != 0;
}

static void pcnet_config_written(void *opaque, unsigned offset, unsigned size)
{
    if (offset <= PCI_COMMAND && PCI_COMMAND < offset + size) {
        pcnet_latch_command(opaque);
    }
}

static const PciDeviceOps pcnet_pci_ops = {
    .bar_read = pcnet_bar_read,
    .bar_write = pcnet_bar_write,
    .config_written = pcnet_config_written,
};

/* The EEPROM's first 16 bytes as the APROM shows them: station address,
 * hardware id 11h at byte 9, the checksum of bytes 0-11 and 14-15 at
 * 12-13, and "WW" at 14-15. */
static void pcnet_make_aprom(uint8_t *p, const uint8_t *mac)
{
    uint16_t sum = 0;

    memset(p, 0, 16);
    memcpy(p, mac, 6);
    p[9] = 0x11;
    p[14] = 'W';
    p[15] = 'W';
    for (int i = 0; i < 16; i++) {
        sum = (uint16_t)(sum + (i == 12 || i == 13 ? 0 : p[i]));
    }
    pcnet_put16(p + 12, sum);
}

Pcnet *pcnet_new(PciBus *bus, unsigned devfn, const PcnetConfig *cfg)
{
    const PciDeviceInfo info = {
        .name = "pcnet",
        .vendor_id = PCNET_VENDOR_ID,
        .device_id = PCNET_DEVICE_ID,
        .subsystem_vendor_id = PCNET_VENDOR_ID,
        .subsystem_id = PCNET_DEVICE_ID,
        .revision = PCNET_REVISION,
        .class_code = PCNET_CLASS,
        .interrupt_pin = 1,
        .bar = { { PCI_BAR_IO, PCNET_REG_SPACE }, { PCI_BAR_MEM32, PCNET_REG_SPACE } },
    };
    Pcnet *s;

    if (!bus || !cfg || !cfg->dma) {
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    s->bus = bus;
    s->devfn = devfn;
    s->dma = cfg->dma;
    s->irq = cfg->irq;
    s->net = cfg->net;
    pcnet_make_aprom(s->aprom, cfg->mac);
    if (pci_bus_add(bus, devfn, &info, &pcnet_pci_ops, s) != 0) {
        free(s);
        return NULL;
    }
    pcnet_reset(s);
    return s;
}

void pcnet_free(Pcnet *s)
{
    free(s);
}

void pcnet_advance(Pcnet *s, uint64_t now_ns)
{
    if (now_ns < s->r.next_poll_ns) {
        return;
    }
    s->r.next_poll_ns = now_ns + PCNET_POLL_INTERVAL_NS;
    if (!(s->r.csr4 & CSR4_TXDPOLL)) {
        pcnet_ring_tx_poll(s);
        pcnet_update_irq(s);
    }
}

/* --- snapshot ----------------------------------------------------------- */

size_t pcnet_state_size(void)
{
    return sizeof(((Pcnet *)0)->aprom) + sizeof(PcnetRegs);
}

void pcnet_state_save(const Pcnet *s, void *buf)
{
    uint8_t *p = buf;

    memcpy(p, s->aprom, sizeof(s->aprom));
    memcpy(p + sizeof(s->aprom), &s->r, sizeof(s->r));
}

static int pcnet_ring_ok(unsigned len, unsigned idx)
{
    return len >= 1 && len <= PCNET_RING_MAX && (len & (len - 1)) == 0 && idx < len;
}

int pcnet_state_restore(Pcnet *s, const void *buf)
{
    const uint8_t *p = buf;
    PcnetRegs r;

    memcpy(&r, p + sizeof(s->aprom), sizeof(r));
    /* A blob from disk is not trusted to hold in-range indices. */
    if (!pcnet_ring_ok(r.rlen, r.rx_idx) || !pcnet_ring_ok(r.tlen, r.tx_idx) ||
        r.rap > 0x7f || r.dwio > 1) {
        return -EINVAL;
    }
    memcpy(s->aprom, p, sizeof(s->aprom));
    s->r = r;
    pcnet_latch_command(s);
    pcnet_update_irq(s);
    return 0;
}
