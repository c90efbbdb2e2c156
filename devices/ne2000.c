/*
 * devices/ne2000.c: RealTek RTL8029AS, the PCI NE2000 clone -- a National
 * DP8390D network interface controller core with 16 KiB of buffer RAM and a
 * station address PROM behind its remote DMA port.  After the DP8390D
 * datasheet (register pages 0-2, the receive buffer ring, remote DMA,
 * packet transmission, the receive header) and the RTL8029AS datasheet
 * (PCI function, data port, reset port, page 3, the "PC" id bytes), held
 * against what Linux 6.1's ne2k-pci.c and lib8390.c program.
 *
 * Models: PCI function 10ec:8029, class 020000, BAR0 = 32 bytes of I/O,
 * INTA# high while (ISR & IMR) != 0.  BAR0 0x00-0x0f are the 8390 byte
 * registers, paged by CR.PS (page 0: CLDA, BNRY, TSR, ISR, CRDA, RSR, tally
 * counters read; PSTART, PSTOP, BNRY, TPSR, TBCR, ISR, RSAR, RBCR, RCR,
 * TCR, DCR, IMR write.  Page 1: PAR0-5, CURR, MAR0-7.  Page 2: the
 * read-back of the page-0 write registers.  Page 3, RTL8029AS: 9346CR and
 * CONFIG3, whose full-duplex bit ne2k-pci may set).  0x10-0x17 is the data
 * port: each access runs remote DMA transfers at CRDA -- one 16-bit word
 * per transfer when DCR.WTS is set, one byte otherwise; an access of 1, 2
 * or 4 bytes moves max(size, transfer) bytes, so `rep insw/insl` and the
 * odd-byte `inb` at the end of a packet work as the driver expects, and
 * a byte access in word mode moves a whole word (the PROM read relies on
 * it).  The remote address wraps from PSTOP to PSTART, so reads of a frame
 * that straddles the ring's end come out in order.  RDC is raised when the
 * byte count reaches zero (at once for a zero count).  0x18-0x1f is the
 * reset port: a read resets the 8390 (CR = stop + abort DMA, ISR = RST,
 * IMR = 0, loopback), a write does nothing more.
 *
 * Remote address space: 0x0000-0x3fff the station address PROM (16 bytes,
 * each on both byte lanes of its word, so a word-mode byte read at 2i gives
 * byte i; repeated every 32 bytes), 0x4000-0x7fff the buffer RAM, above
 * that nothing (reads 0xff, writes dropped).  PROM: MAC, eight zero bytes,
 * then 0x57 0x57, the NE2000 word-wide signature.
 *
 * Transmit: CR.TXP with the chip started sends TBCR bytes from page TPSR
 * at once: the frame goes to the NetPort (unless TCR selects loopback),
 * TSR = PTX, ISR.PTX.  The chip neither pads nor strips (ei_start_xmit
 * pads to 60); the FCS it would append is not part of what the port gets.
 *
 * Receive: while started, RCR not in monitor mode and TCR not in loopback,
 * a frame that passes the address filter (PAR match, or RCR.PRO; broadcast
 * with RCR.AB; multicast with RCR.AM and its bit set in MAR0-7, indexed by
 * the top six bits of the Ethernet CRC of the destination) is stored at
 * page CURR: the 4-byte header (RSR status PRX, +PHY for multicast and
 * broadcast; next page; byte count = frame + header, little-endian), then
 * the frame, wrapping from PSTOP to PSTART.  The frame takes
 * 1 + count / 256 pages -- the next-page value lib8390's ei_receive checks
 * for -- and CURR moves past them; ISR.PRX.  The chip never writes into the
 * BNRY page: a frame that does not fit raises ISR.OVW (and RST, as the
 * datasheet says for a ring overflow) and is refused with -EAGAIN, so the
 * machine offers it again after the driver's overrun recovery drained the
 * ring; it is not lost, so the missed-packet counter does not count it.
 *
 * Not modelled: the FCS in the ring (frames arrive without one; count
 * covers frame and header only), collisions, CRC/alignment errors, runts
 * and the tally counters' increments (CNTR0-2 read 0; CNT never raises),
 * RXE/TXE, the "send packet" remote command (RD = 011 does nothing),
 * loopback reception (a looped-back frame is neither sent nor received),
 * DCR byte order and FIFO threshold, page 2 writes, the 93C46 EEPROM
 * behind 9346CR, CONFIG0-2 beyond reading 0, power management, and time:
 * every operation completes within the access that starts it, so TXP never
 * reads back set.  The RTL8029 is 10 Mb/s with no MII: there is no link
 * state to report.
 */
#include "devices/ne2000.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net_frames.h"

#define NE2000_REVISION 0x00
#define NE2000_PROM_SIZE 32u          /* bytes of remote address space */
#define NE2000_PAGE_SIZE 256u
#define NE2000_HDR_SIZE 4u            /* status, next page, count lo, count hi */
#define NE2000_ETH_HLEN 14u

/* CR, every page. */
#define NE2000_CR_STP 0x01
#define NE2000_CR_STA 0x02
#define NE2000_CR_TXP 0x04
#define NE2000_CR_RD_SHIFT 3
#define NE2000_CR_RD 0x38
#define NE2000_CR_PS_SHIFT 6
#define NE2000_CR_PS 0xc0
enum {
    NE2000_RD_READ = 1,
    NE2000_RD_WRITE = 2,
    NE2000_RD_SEND = 3,
    NE2000_RD_ABORT = 4,              /* 1xx: abort / complete */
};

/* ISR and IMR. */
#define NE2000_ISR_PRX 0x01
#define NE2000_ISR_PTX 0x02
#define NE2000_ISR_OVW 0x10
#define NE2000_ISR_RDC 0x40
#define NE2000_ISR_RST 0x80           /* status only: not maskable, not W1C */
#define NE2000_ISR_EVENTS 0x7f

/* RCR, TCR, DCR. */
#define NE2000_RCR_AB 0x04
#define NE2000_RCR_AM 0x08
#define NE2000_RCR_PRO 0x10
#define NE2000_RCR_MON 0x20
#define NE2000_RCR_WMASK 0x3f
#define NE2000_TCR_LB 0x06
#define NE2000_TCR_WMASK 0x1f
#define NE2000_DCR_WTS 0x01
#define NE2000_DCR_LAS 0x04
#define NE2000_DCR_WMASK 0x7f

#define NE2000_TSR_PTX 0x01
#define NE2000_RSR_PRX 0x01
#define NE2000_RSR_PHY 0x20

/* RTL8029AS page 0 reads 0x0a/0x0b: the chip id "PC". */
#define NE2000_RTL_ID0 0x50
#define NE2000_RTL_ID1 0x43
/* RTL8029AS page 3: CONFIG3 is writable only with 9346CR in config mode. */
#define NE2000_9346_MODE 0xc0
#define NE2000_9346_CONFIG_WRITE 0xc0

/* Register keys for the switches: page << 4 | offset. */
#define NE2000_KEY(page, off) ((page) << 4 | (off))
enum {
    NE2000_P0_CLDA0 = NE2000_KEY(0, 0x1), NE2000_P0_CLDA1 = NE2000_KEY(0, 0x2),
    NE2000_P0_BNRY = NE2000_KEY(0, 0x3), NE2000_P0_TSR = NE2000_KEY(0, 0x4),
    NE2000_P0_NCR = NE2000_KEY(0, 0x5), NE2000_P0_FIFO = NE2000_KEY(0, 0x6),
    NE2000_P0_ISR = NE2000_KEY(0, 0x7), NE2000_P0_CRDA0 = NE2000_KEY(0, 0x8),
    NE2000_P0_CRDA1 = NE2000_KEY(0, 0x9), NE2000_P0_ID0 = NE2000_KEY(0, 0xa),
    NE2000_P0_ID1 = NE2000_KEY(0, 0xb), NE2000_P0_RSR = NE2000_KEY(0, 0xc),
    NE2000_P0_CNTR0 = NE2000_KEY(0, 0xd), NE2000_P0_CNTR1 = NE2000_KEY(0, 0xe),
    NE2000_P0_CNTR2 = NE2000_KEY(0, 0xf),
    /* page 0 write names of the same offsets */
    NE2000_P0_PSTART = NE2000_KEY(0, 0x1), NE2000_P0_PSTOP = NE2000_KEY(0, 0x2),
    NE2000_P0_TPSR = NE2000_KEY(0, 0x4), NE2000_P0_TBCR0 = NE2000_KEY(0, 0x5),
    NE2000_P0_TBCR1 = NE2000_KEY(0, 0x6), NE2000_P0_RSAR0 = NE2000_KEY(0, 0x8),
    NE2000_P0_RSAR1 = NE2000_KEY(0, 0x9), NE2000_P0_RBCR0 = NE2000_KEY(0, 0xa),
    NE2000_P0_RBCR1 = NE2000_KEY(0, 0xb), NE2000_P0_RCR = NE2000_KEY(0, 0xc),
    NE2000_P0_TCR = NE2000_KEY(0, 0xd), NE2000_P0_DCR = NE2000_KEY(0, 0xe),
    NE2000_P0_IMR = NE2000_KEY(0, 0xf),
    NE2000_P1_PAR0 = NE2000_KEY(1, 0x1), NE2000_P1_CURR = NE2000_KEY(1, 0x7),
    NE2000_P1_MAR0 = NE2000_KEY(1, 0x8),
    NE2000_P2_PSTART = NE2000_KEY(2, 0x1), NE2000_P2_PSTOP = NE2000_KEY(2, 0x2),
    NE2000_P2_RNPP = NE2000_KEY(2, 0x3), NE2000_P2_TPSR = NE2000_KEY(2, 0x4),
    NE2000_P2_LNPP = NE2000_KEY(2, 0x5), NE2000_P2_ACU = NE2000_KEY(2, 0x6),
    NE2000_P2_ACL = NE2000_KEY(2, 0x7), NE2000_P2_RCR = NE2000_KEY(2, 0xc),
    NE2000_P2_TCR = NE2000_KEY(2, 0xd), NE2000_P2_DCR = NE2000_KEY(2, 0xe),
    NE2000_P2_IMR = NE2000_KEY(2, 0xf),
    NE2000_P3_9346CR = NE2000_KEY(3, 0x1), NE2000_P3_CONFIG3 = NE2000_KEY(3, 0x6),
};

/* BAR0 as data: which window an offset falls in and the access sizes it
 * decodes.  Register accesses wider than a byte are split into bytes at
 * successive offsets (the 8390 is an 8-bit register file). */
typedef enum Ne2000Window {
    NE2000_WIN_REGS,
    NE2000_WIN_DATA,
    NE2000_WIN_RESET,
} Ne2000Window;

static const struct {
    uint8_t first, last;
    Ne2000Window window;
    uint8_t sizes;                    /* bit n set: an access of n bytes */
} ne2000_windows[] = {
    { 0x00, 0x0f, NE2000_WIN_REGS, 0x16 },    /* 1; 2 and 4 split into bytes */
    { 0x10, 0x17, NE2000_WIN_DATA, 0x16 },    /* 1, 2, 4: rep ins/outs b/w/l */
    { 0x18, 0x1f, NE2000_WIN_RESET, 0x16 },
};

/*
 * Everything reset restores.  Widest first, no padding: saved as raw bytes.
 * rsar/rbcr hold what the driver wrote; crda/rcnt are the running remote
 * DMA address and bytes left, loaded from them by a remote read or write
 * command.
 */
typedef struct Ne2000Regs {
    uint16_t rsar, rbcr;
    uint16_t crda, rcnt;
    uint16_t tbcr;
    uint16_t clda;                    /* current local DMA address */
    uint8_t cr;                       /* PS, RD, STA or STP; TXP never kept */
    uint8_t pstart, pstop, bnry, tpsr, curr;
    uint8_t isr, imr, rcr, tcr, dcr, tsr, rsr;
    uint8_t cntr[3];
    uint8_t par[6];
    uint8_t mar[8];
    uint8_t cfg9346, config3;         /* RTL8029AS page 3 */
} Ne2000Regs;

_Static_assert(sizeof(Ne2000Regs) == 44, "Ne2000Regs has no hidden padding");

struct Ne2000 {
    /* Wiring: set by ne2000_new(), never touched by the guest. */
    PciBus *bus;
    unsigned devfn;
    IrqLine irq;
    NetPort net;
    /* Non-volatile: the station address PROM, as the remote DMA sees it. */
    uint8_t prom[NE2000_PROM_SIZE];
    /* Buffer RAM: kept across chip resets, cleared at power-on. */
    uint8_t ram[NE2000_RAM_SIZE];
    /* Guest-visible registers: exactly what ne2000_reset() restores. */
    Ne2000Regs r;
};

static void ne2000_update_irq(Ne2000 *s)
{
    irq_line_set(&s->irq, (s->r.isr & s->r.imr & NE2000_ISR_EVENTS) != 0);
}

/* The 8390's RESET input (the board's reset port): what the datasheet's
 * initialization section lists; the ring, address and filter registers
 * keep their values. */
static void ne2000_chip_reset(Ne2000 *s)
{
    Ne2000Regs *r = &s->r;

    r->cr = NE2000_CR_STP | NE2000_RD_ABORT << NE2000_CR_RD_SHIFT;
    r->isr = NE2000_ISR_RST;
    r->imr = 0;
    r->dcr = NE2000_DCR_LAS;
    r->tcr = 0x02;                    /* LB = 01: internal loopback */
    r->rcnt = 0;
    ne2000_update_irq(s);
}

void ne2000_reset(Ne2000 *s)
{
    memset(&s->r, 0, sizeof(s->r));
    memset(s->ram, 0, sizeof(s->ram));
    ne2000_chip_reset(s);
}

static int ne2000_started(const Ne2000 *s)
{
    return (s->r.cr & (NE2000_CR_STA | NE2000_CR_STP)) == NE2000_CR_STA;
}

/* The remote/local address space. */
static uint8_t ne2000_mem_read(const Ne2000 *s, uint16_t addr)
{
    if (addr < NE2000_RAM_START) {
        return s->prom[addr % NE2000_PROM_SIZE];
    }
    if (addr < NE2000_RAM_START + NE2000_RAM_SIZE) {
        return s->ram[addr - NE2000_RAM_START];
    }
    return 0xff;
}

static void ne2000_mem_write(Ne2000 *s, uint16_t addr, uint8_t v)
{
    if (addr >= NE2000_RAM_START && addr < NE2000_RAM_START + NE2000_RAM_SIZE) {
        s->ram[addr - NE2000_RAM_START] = v;
    }
}

/* One byte of remote DMA done: CRDA moves on, wrapping at the ring end. */
static void ne2000_remote_step(Ne2000 *s)
{
    s->r.crda++;
    if (s->r.crda == (uint16_t)(s->r.pstop << 8)) {
        s->r.crda = (uint16_t)(s->r.pstart << 8);
    }
}

static void ne2000_remote_count(Ne2000 *s, unsigned unit)
{
    s->r.rcnt = s->r.rcnt > unit ? (uint16_t)(s->r.rcnt - unit) : 0;
    if (s->r.rcnt == 0) {
        s->r.isr |= NE2000_ISR_RDC;
    }
}

static int ne2000_remote_active(const Ne2000 *s, unsigned rd)
{
    return ((s->r.cr & NE2000_CR_RD) >> NE2000_CR_RD_SHIFT) == rd && s->r.rcnt != 0;
}

static unsigned ne2000_transfer_unit(const Ne2000 *s)
{
    return (s->r.dcr & NE2000_DCR_WTS) ? 2 : 1;
}

/* A data port read of size bytes.  With no remote read in progress the
 * port returns all-ones and nothing moves. */
static uint32_t ne2000_data_read(Ne2000 *s, unsigned size)
{
    unsigned unit = ne2000_transfer_unit(s);
    unsigned moved = size < unit ? unit : size;
    uint32_t v = 0;

    for (unsigned i = 0; i < moved; i += unit) {
        int active = ne2000_remote_active(s, NE2000_RD_READ);

        for (unsigned j = i; j < i + unit; j++) {
            uint8_t b = 0xff;

            if (active) {
                b = ne2000_mem_read(s, s->r.crda);
                ne2000_remote_step(s);
            }
            if (j < size) {
                v |= (uint32_t)b << (8 * j);
            }
        }
        if (active) {
            ne2000_remote_count(s, unit);
        }
    }
    ne2000_update_irq(s);
    return v;
}

/* A data port write.  A byte access in word mode still moves a word; the
 * byte lane the CPU did not drive leaves the buffer byte as it was. */
static void ne2000_data_write(Ne2000 *s, uint32_t value, unsigned size)
{
    unsigned unit = ne2000_transfer_unit(s);
    unsigned moved = size < unit ? unit : size;

    for (unsigned i = 0; i < moved; i += unit) {
        if (!ne2000_remote_active(s, NE2000_RD_WRITE)) {
            break;
        }
        for (unsigned j = i; j < i + unit; j++) {
            if (j < size) {
                ne2000_mem_write(s, s->r.crda, (uint8_t)(value >> (8 * j)));
            }
            ne2000_remote_step(s);
        }
        ne2000_remote_count(s, unit);
    }
    ne2000_update_irq(s);
}

/* CR.TXP: the whole frame leaves at once.  TBCR beyond the largest frame
 * the port carries completes as sent but reaches no one (a giant no
 * receiver takes). */
static void ne2000_transmit(Ne2000 *s)
{
    uint8_t frame[NET_PORT_MAX_FRAME];
    uint16_t addr = (uint16_t)(s->r.tpsr << 8);
    unsigned len = s->r.tbcr;

    if (len <= sizeof(frame)) {
        for (unsigned i = 0; i < len; i++) {
            frame[i] = ne2000_mem_read(s, (uint16_t)(addr + i));
        }
        if (len > 0 && !(s->r.tcr & NE2000_TCR_LB)) {
            net_port_tx(&s->net, frame, len);
        }
    }
    s->r.clda = (uint16_t)(addr + len);
    s->r.tsr = NE2000_TSR_PTX;
    s->r.isr |= NE2000_ISR_PTX;
}

static void ne2000_cr_write(Ne2000 *s, uint8_t v)
{
    Ne2000Regs *r = &s->r;
    uint8_t run = r->cr & (NE2000_CR_STA | NE2000_CR_STP);
    unsigned rd = (v & NE2000_CR_RD) >> NE2000_CR_RD_SHIFT;

    /* STP wins over STA; a write with neither (lib8390 writes 0x20 to
     * select page 0) leaves the chip running or stopped as it was. */
    if (v & NE2000_CR_STP) {
        run = NE2000_CR_STP;
        r->isr |= NE2000_ISR_RST;
    } else if (v & NE2000_CR_STA) {
        run = NE2000_CR_STA;
        r->isr &= (uint8_t)~NE2000_ISR_RST;
    }
    r->cr = (uint8_t)((v & (NE2000_CR_PS | NE2000_CR_RD)) | run);

    if (rd == NE2000_RD_READ || rd == NE2000_RD_WRITE) {
        r->crda = r->rsar;
        r->rcnt = r->rbcr;
        if (r->rcnt == 0) {
            r->isr |= NE2000_ISR_RDC;     /* nothing to move: done at once */
        }
    } else if (rd >= NE2000_RD_ABORT) {
        r->rcnt = 0;
    }
    if ((v & NE2000_CR_TXP) && ne2000_started(s)) {
        ne2000_transmit(s);
    }
}

static uint8_t ne2000_reg_read(Ne2000 *s, unsigned off)
{
    Ne2000Regs *r = &s->r;
    unsigned page = (r->cr & NE2000_CR_PS) >> NE2000_CR_PS_SHIFT;
    unsigned key = NE2000_KEY(page, off);
    uint8_t v;

    if (off == NE2000_REG_CR) {
        return r->cr;
    }
    if (key >= NE2000_P1_PAR0 && key < NE2000_P1_PAR0 + 6) {
        return r->par[key - NE2000_P1_PAR0];
    }
    if (key >= NE2000_P1_MAR0 && key < NE2000_P1_MAR0 + 8) {
        return r->mar[key - NE2000_P1_MAR0];
    }
    switch (key) {
    case NE2000_P0_CLDA0:  return (uint8_t)r->clda;
    case NE2000_P0_CLDA1:  return (uint8_t)(r->clda >> 8);
    case NE2000_P0_BNRY:   return r->bnry;
    case NE2000_P0_TSR:    return r->tsr;
    case NE2000_P0_ISR:    return r->isr;
    case NE2000_P0_CRDA0:  return (uint8_t)r->crda;
    case NE2000_P0_CRDA1:  return (uint8_t)(r->crda >> 8);
    case NE2000_P0_ID0:    return NE2000_RTL_ID0;
    case NE2000_P0_ID1:    return NE2000_RTL_ID1;
    case NE2000_P0_RSR:    return r->rsr;
    case NE2000_P0_CNTR0: case NE2000_P0_CNTR1: case NE2000_P0_CNTR2:
        /* Tally counters clear when read. */
        v = r->cntr[key - NE2000_P0_CNTR0];
        r->cntr[key - NE2000_P0_CNTR0] = 0;
        return v;
    case NE2000_P1_CURR:   return r->curr;
    case NE2000_P2_PSTART: return r->pstart;
    case NE2000_P2_PSTOP:  return r->pstop;
    case NE2000_P2_TPSR:   return r->tpsr;
    case NE2000_P2_LNPP:   return r->curr;
    case NE2000_P2_ACU:    return (uint8_t)(r->clda >> 8);
    case NE2000_P2_ACL:    return (uint8_t)r->clda;
    case NE2000_P2_RCR:    return r->rcr;
    case NE2000_P2_TCR:    return r->tcr;
    case NE2000_P2_DCR:    return r->dcr;
    case NE2000_P2_IMR:    return r->imr;
    case NE2000_P3_9346CR: return r->cfg9346;
    case NE2000_P3_CONFIG3: return r->config3;
    default:               return 0;  /* NCR, FIFO, RNPP, reserved, CONFIG0-2 */
    }
}

static void ne2000_reg_write(Ne2000 *s, unsigned off, uint8_t v)
{
    Ne2000Regs *r = &s->r;
    unsigned page = (r->cr & NE2000_CR_PS) >> NE2000_CR_PS_SHIFT;
    unsigned key = NE2000_KEY(page, off);

    if (off == NE2000_REG_CR) {
        ne2000_cr_write(s, v);
    } else if (key >= NE2000_P1_PAR0 && key < NE2000_P1_PAR0 + 6) {
        r->par[key - NE2000_P1_PAR0] = v;
    } else if (key >= NE2000_P1_MAR0 && key < NE2000_P1_MAR0 + 8) {
        r->mar[key - NE2000_P1_MAR0] = v;
    } else {
        switch (key) {
        case NE2000_P0_PSTART: r->pstart = v; break;
        case NE2000_P0_PSTOP:  r->pstop = v; break;
        case NE2000_P0_BNRY:   r->bnry = v; break;
        case NE2000_P0_TPSR:   r->tpsr = v; break;
        case NE2000_P0_TBCR0:  r->tbcr = (uint16_t)((r->tbcr & 0xff00) | v); break;
        case NE2000_P0_TBCR1:  r->tbcr = (uint16_t)((r->tbcr & 0x00ff) | v << 8); break;
        case NE2000_P0_ISR:    r->isr &= (uint8_t)~(v & NE2000_ISR_EVENTS); break;
        case NE2000_P0_RSAR0:  r->rsar = (uint16_t)((r->rsar & 0xff00) | v); break;
        case NE2000_P0_RSAR1:  r->rsar = (uint16_t)((r->rsar & 0x00ff) | v << 8); break;
        case NE2000_P0_RBCR0:  r->rbcr = (uint16_t)((r->rbcr & 0xff00) | v); break;
        case NE2000_P0_RBCR1:  r->rbcr = (uint16_t)((r->rbcr & 0x00ff) | v << 8); break;
        case NE2000_P0_RCR:    r->rcr = v & NE2000_RCR_WMASK; break;
        case NE2000_P0_TCR:    r->tcr = v & NE2000_TCR_WMASK; break;
        case NE2000_P0_DCR:    r->dcr = v & NE2000_DCR_WMASK; break;
        case NE2000_P0_IMR:    r->imr = v & NE2000_ISR_EVENTS; break;
        case NE2000_P1_CURR:   r->curr = v; break;
        case NE2000_P3_9346CR: r->cfg9346 = v & NE2000_9346_MODE; break;
        case NE2000_P3_CONFIG3:
            if ((r->cfg9346 & NE2000_9346_MODE) == NE2000_9346_CONFIG_WRITE) {
                r->config3 = v;
            }
            break;
        default:
            break;            /* page 2 (diagnostic writes), page 3 others */
        }
    }
    ne2000_update_irq(s);
}

/* The window an access falls in, or -1 when BAR0 does not decode it
 * (beyond 32 bytes, or a size the window does not take). */
static int ne2000_window_of(uint64_t offset, unsigned size)
{
    for (size_t i = 0; i < sizeof(ne2000_windows) / sizeof(ne2000_windows[0]); i++) {
        if (offset >= ne2000_windows[i].first && offset <= ne2000_windows[i].last) {
            return size <= 4 && (ne2000_windows[i].sizes & (1u << size))
                       ? (int)ne2000_windows[i].window
                       : -1;
        }
    }
    return -1;
}

static uint32_t ne2000_bar_read(void *opaque, int bar, uint64_t offset, unsigned size)
{
    Ne2000 *s = opaque;
    uint32_t v = 0;

    (void)bar;
    switch (ne2000_window_of(offset, size)) {
    case NE2000_WIN_DATA:
        return ne2000_data_read(s, size);
    case NE2000_WIN_RESET:
        ne2000_chip_reset(s);
        return 0;
    case NE2000_WIN_REGS:
        for (unsigned i = 0; i < size; i++) {
            uint64_t off = offset + i;
            uint8_t b = off <= ne2000_windows[0].last ? ne2000_reg_read(s, (unsigned)off)
                                                       : 0xff;

            v |= (uint32_t)b << (8 * i);
        }
        return v;
    default:
        return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    }
}

static void ne2000_bar_write(void *opaque, int bar, uint64_t offset, uint32_t value,
                             unsigned size)
{
    Ne2000 *s = opaque;

    (void)bar;
    switch (ne2000_window_of(offset, size)) {
    case NE2000_WIN_DATA:
        ne2000_data_write(s, value, size);
        break;
    case NE2000_WIN_RESET:
        break;                        /* the read did the reset */
    case NE2000_WIN_REGS:
        for (unsigned i = 0; i < size && offset + i <= ne2000_windows[0].last; i++) {
            ne2000_reg_write(s, (unsigned)offset + i, (uint8_t)(value >> (8 * i)));
        }
        break;
    default:
        break;                        /* not decoded */
    }
}

static int ne2000_rx_accepts(const Ne2000 *s, const uint8_t *dst)
{
    static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    unsigned index;

    if (memcmp(dst, broadcast, 6) == 0) {
        return (s->r.rcr & NE2000_RCR_AB) != 0;
    }
    if (dst[0] & 1) {
        if (!(s->r.rcr & NE2000_RCR_AM)) {
            return 0;
        }
        index = net_frames_mcast_hash(dst);        /* the 8390's CRC, top six bits */
        return (s->r.mar[index >> 3] >> (index & 7)) & 1;
    }
    return (s->r.rcr & NE2000_RCR_PRO) || memcmp(dst, s->r.par, 6) == 0;
}

/* A page's place in the ring, 0..pages-1; out-of-ring values a driver may
 * have written are taken modulo the ring so the chip stays in its RAM. */
static unsigned ne2000_ring_index(const Ne2000 *s, uint8_t page)
{
    int n = s->r.pstop - s->r.pstart;

    return (unsigned)((((int)page - s->r.pstart) % n + n) % n);
}

/* Stores the header and frame at CURR and moves CURR past them.  The caller
 * checked that the ring is valid and has room. */
static void ne2000_rx_store(Ne2000 *s, const uint8_t *frame, unsigned len)
{
    Ne2000Regs *r = &s->r;
    unsigned ring_pages = (unsigned)(r->pstop - r->pstart);
    unsigned ring_bytes = ring_pages * NE2000_PAGE_SIZE;
    unsigned first = ne2000_ring_index(s, r->curr);
    unsigned count = len + NE2000_HDR_SIZE;
    unsigned pages = 1 + count / NE2000_PAGE_SIZE;
    uint8_t next = (uint8_t)(r->pstart + (first + pages) % ring_pages);
    uint8_t status = NE2000_RSR_PRX | ((frame[0] & 1) ? NE2000_RSR_PHY : 0);
    uint8_t hdr[NE2000_HDR_SIZE] = { status, next, (uint8_t)count, (uint8_t)(count >> 8) };
    unsigned pos = first * NE2000_PAGE_SIZE;
    uint16_t addr = 0;

    for (unsigned i = 0; i < count; i++) {
        addr = (uint16_t)((r->pstart << 8) + pos);
        ne2000_mem_write(s, addr, i < NE2000_HDR_SIZE ? hdr[i] : frame[i - NE2000_HDR_SIZE]);
        pos = (pos + 1) % ring_bytes;
    }
    r->clda = (uint16_t)(addr + 1);
    r->curr = next;
    r->rsr = status;
    r->isr |= NE2000_ISR_PRX;
}

int ne2000_receive(Ne2000 *s, const uint8_t *frame, size_t len)
{
    Ne2000Regs *r = &s->r;
    uint8_t padded[NET_PORT_MIN_FRAME];
    unsigned pages, free_pages, ring_pages;

    if (!frame || len < NE2000_ETH_HLEN || len > NET_PORT_MAX_FRAME) {
        return -EINVAL;
    }
    if (!ne2000_started(s) || (r->rcr & NE2000_RCR_MON) || (r->tcr & NE2000_TCR_LB) ||
        r->pstart >= r->pstop) {
        return -EAGAIN;
    }
    if (!ne2000_rx_accepts(s, frame)) {
        return 0;
    }
    if (len < NET_PORT_MIN_FRAME) {
        memset(padded, 0, sizeof(padded));
        memcpy(padded, frame, len);
        frame = padded;
        len = NET_PORT_MIN_FRAME;
    }
    ring_pages = (unsigned)(r->pstop - r->pstart);
    pages = 1 + (unsigned)(len + NE2000_HDR_SIZE) / NE2000_PAGE_SIZE;
    /* Pages from CURR up to, not including, the BNRY page. */
    free_pages = (ne2000_ring_index(s, r->bnry) + ring_pages - ne2000_ring_index(s, r->curr)) %
                 ring_pages;
    if (pages > free_pages) {
        r->isr |= NE2000_ISR_OVW | NE2000_ISR_RST;
        ne2000_update_irq(s);
        return -EAGAIN;
    }
    ne2000_rx_store(s, frame, (unsigned)len);
    ne2000_update_irq(s);
    return 0;
}

static const PciDeviceOps ne2000_pci_ops = {
    .bar_read = ne2000_bar_read,
    .bar_write = ne2000_bar_write,
};

/* The PROM as the remote DMA reads it: 16 bytes, each on both lanes. */
static void ne2000_build_prom(Ne2000 *s, const uint8_t *mac)
{
    uint8_t bytes[NE2000_PROM_SIZE / 2] = { 0 };

    memcpy(bytes, mac, 6);
    bytes[14] = 0x57;
    bytes[15] = 0x57;
    for (unsigned i = 0; i < NE2000_PROM_SIZE / 2; i++) {
        s->prom[2 * i] = bytes[i];
        s->prom[2 * i + 1] = bytes[i];
    }
}

Ne2000 *ne2000_new(PciBus *bus, unsigned devfn, const Ne2000Config *cfg)
{
    const PciDeviceInfo info = {
        .name = "ne2000",
        .vendor_id = NE2000_VENDOR_ID,
        .device_id = NE2000_DEVICE_ID,
        .subsystem_vendor_id = NE2000_VENDOR_ID,
        .subsystem_id = NE2000_DEVICE_ID,
        .revision = NE2000_REVISION,
        .class_code = NE2000_CLASS,
        .interrupt_pin = 1,
        .bar = { { PCI_BAR_IO, NE2000_IO_SIZE } },
    };
    Ne2000 *s;

    if (!bus || !cfg) {
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    s->bus = bus;
    s->devfn = devfn;
    s->irq = cfg->irq;
    s->net = cfg->net;
    ne2000_build_prom(s, cfg->mac);
    if (pci_bus_add(bus, devfn, &info, &ne2000_pci_ops, s) != 0) {
        free(s);
        return NULL;
    }
    ne2000_reset(s);
    return s;
}

void ne2000_free(Ne2000 *s)
{
    free(s);
}

size_t ne2000_state_size(void)
{
    return NE2000_PROM_SIZE + sizeof(Ne2000Regs) + NE2000_RAM_SIZE;
}

void ne2000_state_save(const Ne2000 *s, void *buf)
{
    uint8_t *p = buf;

    memcpy(p, s->prom, NE2000_PROM_SIZE);
    memcpy(p + NE2000_PROM_SIZE, &s->r, sizeof(s->r));
    memcpy(p + NE2000_PROM_SIZE + sizeof(s->r), s->ram, NE2000_RAM_SIZE);
}

void ne2000_state_restore(Ne2000 *s, const void *buf)
{
    const uint8_t *p = buf;

    memcpy(s->prom, p, NE2000_PROM_SIZE);
    memcpy(&s->r, p + NE2000_PROM_SIZE, sizeof(s->r));
    memcpy(s->ram, p + NE2000_PROM_SIZE + sizeof(s->r), NE2000_RAM_SIZE);
    /* A blob from disk is not trusted to hold only bits the chip keeps. */
    s->r.cr &= (uint8_t)~NE2000_CR_TXP;
    s->r.imr &= NE2000_ISR_EVENTS;
    ne2000_update_irq(s);
}
