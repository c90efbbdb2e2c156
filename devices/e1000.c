/*
 * devices/e1000.c: Intel 82540EM Gigabit Ethernet controller, register
 * level, after the PCI/PCI-X Family of Gigabit Ethernet Controllers
 * Software Developer's Manual (8254x SDM): §3 "Receive and Transmit
 * Description" (legacy receive descriptors, legacy and extended transmit
 * descriptors, checksum offload, TCP segmentation), §13 "Register
 * Descriptions", §5 (EEPROM, in e1000_eeprom.c) and §8 (PHY, in
 * e1000_phy.c).
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
#include "devices/e1000.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/e1000_eeprom.h"
#include "devices/e1000_phy.h"

#define E1000_CLASS 0x020000
#define E1000_REVISION 0x02
#define E1000_SUBSYS_VENDOR_ID 0x8086
#define E1000_SUBSYS_ID 0x001e

/* Register offsets in BAR0 (SDM table 13-2). */
enum {
    E1000_CTRL = 0x0000, E1000_STATUS = 0x0008, E1000_EECD = 0x0010,
    E1000_EERD = 0x0014, E1000_CTRL_EXT = 0x0018, E1000_MDIC = 0x0020,
    E1000_VET = 0x0038, E1000_ICR = 0x00c0, E1000_ICS = 0x00c8, E1000_IMS = 0x00d0,
    E1000_IMC = 0x00d8, E1000_RCTL = 0x0100, E1000_TCTL = 0x0400,
    E1000_PBA = 0x1000,
    E1000_RDBAL = 0x2800, E1000_RDBAH = 0x2804, E1000_RDLEN = 0x2808,
    E1000_RDH = 0x2810, E1000_RDT = 0x2818,
    E1000_TDBAL = 0x3800, E1000_TDBAH = 0x3804, E1000_TDLEN = 0x3808,
    E1000_TDH = 0x3810, E1000_TDT = 0x3818,
    E1000_STATS = 0x4000, E1000_MTA = 0x5200, E1000_RA = 0x5400,
    E1000_VFTA = 0x5600,
};

/* Statistics (offsets in BAR0). */
enum {
    E1000_RNBC = 0x40a0, E1000_PRC64 = 0x405c, E1000_GPRC = 0x4074,
    E1000_BPRC = 0x4078, E1000_MPRC = 0x407c, E1000_GPTC = 0x4080,
    E1000_GORCL = 0x4088, E1000_GOTCL = 0x4090, E1000_TORL = 0x40c0,
    E1000_TOTL = 0x40c8, E1000_TPR = 0x40d0, E1000_TPT = 0x40d4,
    E1000_PTC64 = 0x40d8, E1000_MPTC = 0x40f0, E1000_BPTC = 0x40f4,
};

#define E1000_STATS_COUNT 64
#define E1000_MTA_COUNT 128
#define E1000_RA_COUNT 32                /* 16 RAL/RAH pairs */
#define E1000_VFTA_COUNT 128

#define E1000_CTRL_FD 0x00000001u
#define E1000_CTRL_ASDE 0x00000020u
#define E1000_CTRL_SLU 0x00000040u
#define E1000_CTRL_RST 0x04000000u
#define E1000_CTRL_VME 0x40000000u
#define E1000_CTRL_PHY_RST 0x80000000u
/* After reset the init control words leave auto speed detection on. */
#define E1000_CTRL_RESET (E1000_CTRL_FD | E1000_CTRL_ASDE)

#define E1000_STATUS_FD 0x01u
#define E1000_STATUS_LU 0x02u
#define E1000_STATUS_SPEED_100 0x40u
#define E1000_STATUS_SPEED_1000 0x80u

#define E1000_EECD_SK 0x001u
#define E1000_EECD_CS 0x002u
#define E1000_EECD_DI 0x004u
#define E1000_EECD_DO 0x008u
#define E1000_EECD_FWE 0x030u
#define E1000_EECD_FWE_DISABLED 0x010u
#define E1000_EECD_REQ 0x040u
#define E1000_EECD_GNT 0x080u
#define E1000_EECD_PRES 0x100u
#define E1000_EECD_WMASK (E1000_EECD_SK | E1000_EECD_CS | E1000_EECD_DI | \
                          E1000_EECD_FWE | E1000_EECD_REQ)

#define E1000_EERD_START 0x01u
#define E1000_EERD_DONE 0x10u

#define E1000_MDIC_OP_WRITE 1u
#define E1000_MDIC_OP_READ 2u
#define E1000_MDIC_READY 0x10000000u
#define E1000_MDIC_INT_EN 0x20000000u
#define E1000_MDIC_ERROR 0x40000000u

#define E1000_ICR_TXDW 0x0001u
#define E1000_ICR_TXQE 0x0002u
#define E1000_ICR_LSC 0x0004u
#define E1000_ICR_RXDMT0 0x0010u
#define E1000_ICR_RXT0 0x0080u
#define E1000_ICR_MDAC 0x0200u
#define E1000_ICR_VALID 0x0001f6dfu      /* the 82540's interrupt causes */

#define E1000_RCTL_EN 0x00000002u
#define E1000_RCTL_UPE 0x00000008u
#define E1000_RCTL_MPE 0x00000010u
#define E1000_RCTL_LPE 0x00000020u
#define E1000_RCTL_RDMTS_SHIFT 8
#define E1000_RCTL_MO_SHIFT 12
#define E1000_RCTL_BAM 0x00008000u
#define E1000_RCTL_BSIZE_SHIFT 16
#define E1000_RCTL_BSEX 0x02000000u
#define E1000_RCTL_SECRC 0x04000000u

#define E1000_TCTL_EN 0x00000002u
#define E1000_TCTL_PSP 0x00000008u
#define E1000_TCTL_RESET E1000_TCTL_PSP

#define E1000_RAH_AV 0x80000000u
#define E1000_PBA_RESET 0x00000030u      /* 48 KiB receive, 16 KiB transmit */
#define E1000_PBA_TOTAL_KB 64u

/* Descriptor fields (SDM §3.2.3, §3.3.3-3.3.7). */
#define E1000_DESC_SIZE 16u
#define E1000_TXD_CMD_EOP 0x01u
#define E1000_TXD_CMD_IC 0x04u           /* legacy: insert checksum */
#define E1000_TXD_CMD_TSE 0x04u          /* extended data: segmentation */
#define E1000_TXD_CMD_RS 0x08u
#define E1000_TXD_CMD_RPS 0x10u
#define E1000_TXD_CMD_DEXT 0x20u
#define E1000_TXD_CMD_VLE 0x40u
#define E1000_TXD_DTYP_CONTEXT 0u
#define E1000_TXD_STA_DD 0x01u
#define E1000_TXD_POPTS_IXSM 0x01u
#define E1000_TXD_POPTS_TXSM 0x02u
#define E1000_TUCMD_TCP 0x01u
#define E1000_TUCMD_IP 0x02u
#define E1000_RXD_STA_DD 0x01u
#define E1000_RXD_STA_EOP 0x02u
#define E1000_RXD_STA_IXSM 0x04u
#define E1000_RXD_STA_VP 0x08u

#define E1000_MIN_FRAME 60u              /* without FCS */
#define E1000_FCS_LEN 4u
#define E1000_MAX_STD_FRAME 1518u        /* without FCS, VLAN-tagged */
#define E1000_VLAN_LEN 4u
#define E1000_TX_MAX_DESCS 64u           /* descriptors one packet may use */
#define E1000_TX_BUF_SIZE (65536u + 256u) /* a TSO packet: 64 KiB + headers */
#define E1000_FRAME_BUF_SIZE (16384u + 16u)
#define E1000_IO_ADDR_MASK 0x1fffcu

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

#define E1000_PLAIN_COUNT (sizeof(e1000_plain_regs) / sizeof(e1000_plain_regs[0]))
/* Offload parameters of the last context descriptor; they persist across
 * packets until the next one, so they are chip state. */
typedef struct E1000TxContext {
    uint32_t ipcss, ipcso, ipcse;
    uint32_t tucss, tucso, tucse;
    uint32_t tucmd, hdrlen, mss;
} E1000TxContext;

/* Registers with behaviour; everything reset restores.  All uint32_t so
 * the struct has no padding and saves bit-identically. */
typedef struct E1000Regs {
    uint32_t ctrl, eecd, eerd, ctrl_ext, mdic;
    uint32_t icr, ims, rctl, tctl, pba;
    uint32_t rdbal, rdbah, rdlen, rdh, rdt;
    uint32_t tdbal, tdbah, tdlen, tdh, tdt;
    uint32_t ioaddr;
    uint32_t link_up;                /* STATUS.LU as last reported (LSC edge) */
    E1000TxContext ctx;
    uint32_t mta[E1000_MTA_COUNT];
    uint32_t ra[E1000_RA_COUNT];
    uint32_t vfta[E1000_VFTA_COUNT];
    uint32_t stats[E1000_STATS_COUNT];
    uint32_t plain[E1000_PLAIN_COUNT];  /* e1000_plain_regs, in order */
} E1000Regs;


struct E1000 {
    /* Wiring: set by e1000_new(), never touched by the guest. */
    PciBus *bus;
    unsigned devfn;
    DmaPort *dma;
    IrqLine irq;
    NetPort net;
    /* Scratch for one packet or frame; meaningless between calls. */
    uint8_t *txbuf, *frame;
    /* Non-volatile: the EEPROM contents survive every reset. */
    E1000Eeprom eeprom;
    /* Guest-visible state: the PHY (power-on and CTRL.PHY_RST reset it)
     * and the MAC registers (every reset restores them). */
    E1000Phy phy;
    E1000Regs r;
};

_Static_assert(sizeof(E1000Regs) % sizeof(uint32_t) == 0 &&
               sizeof(E1000TxContext) == 9 * sizeof(uint32_t),
               "E1000Regs is uint32_t words only");
_Static_assert(sizeof(E1000Phy) == 2 * E1000_PHY_REGS, "E1000Phy has no padding");
_Static_assert(sizeof(E1000Eeprom) == 2 * E1000_EEPROM_WORDS + 12,
               "E1000Eeprom has no padding");

/* --- little helpers --------------------------------------------------- */

static uint16_t e1000_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t e1000_le32(const uint8_t *p) { return e1000_le16(p) | (uint32_t)e1000_le16(p + 2) << 16; }
static uint64_t e1000_le64(const uint8_t *p) { return e1000_le32(p) | (uint64_t)e1000_le32(p + 4) << 32; }
static uint16_t e1000_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t e1000_be32(const uint8_t *p) { return (uint32_t)e1000_be16(p) << 16 | e1000_be16(p + 2); }

static void e1000_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void e1000_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void e1000_put_be32(uint8_t *p, uint32_t v)
{
    e1000_put_be16(p, (uint16_t)(v >> 16));
    e1000_put_be16(p + 2, (uint16_t)v);
}

/* Ethernet FCS: CRC-32 (IEEE 802.3), reflected, four bits a step. */
static uint32_t e1000_crc32(const uint8_t *p, size_t len)
{
    static const uint32_t nibble[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
        0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
    };
    uint32_t crc = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nibble[crc & 15];
        crc = (crc >> 4) ^ nibble[crc & 15];
    }
    return ~crc;
}

/* Internet checksum: one's-complement sum of big-endian 16-bit words. */
static uint32_t e1000_csum_add(const uint8_t *p, size_t len, uint32_t sum)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2) {
        sum += e1000_be16(p + i);
    }
    if (i < len) {
        sum += (uint32_t)p[i] << 8;
    }
    return sum;
}

static uint16_t e1000_csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

/* --- interrupts, link, statistics ------------------------------------ */

static void e1000_update_irq(E1000 *s)
{
    irq_line_set(&s->irq, (s->r.icr & s->r.ims) != 0);
}

static void e1000_raise(E1000 *s, uint32_t causes)
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

static uint32_t *e1000_stat(E1000 *s, uint32_t offset)
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
static void e1000_stat_frame(E1000 *s, const uint8_t *frame, size_t wire_len, bool rx)
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
static void e1000_master_abort(E1000 *s)
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
static uint16_t e1000_vet(const E1000 *s)
{
    return (uint16_t)s->r.plain[e1000_plain_index(E1000_VET)];
}

/* --- transmit ---------------------------------------------------------- */

/* One descriptor as fetched: buffer address (or the context's checksum
 * fields), then the command/length and status/option dwords. */
typedef struct E1000TxDesc {
    uint8_t raw[E1000_DESC_SIZE];
    uint64_t addr;
    uint32_t lower, upper;
    uint8_t cmd;
} E1000TxDesc;

/* How a packet is to be finished, from its first data descriptor. */
typedef struct E1000TxPacket {
    bool legacy_ic;                  /* legacy: insert checksum at CSO */
    uint32_t css, cso;
    uint8_t popts;                   /* extended: IXSM/TXSM */
    bool tse;
    bool vle;                        /* from the EOP descriptor */
    uint16_t special;
} E1000TxPacket;

static bool e1000_txd_is_context(const E1000TxDesc *d)
{
    return (d->cmd & E1000_TXD_CMD_DEXT) && ((d->lower >> 20) & 0xf) == E1000_TXD_DTYP_CONTEXT;
}

static uint64_t e1000_tx_desc_addr(const E1000 *s, uint32_t index)
{
    return ((uint64_t)s->r.tdbah << 32 | s->r.tdbal) + (uint64_t)index * E1000_DESC_SIZE;
}

static void e1000_tx_load_context(E1000 *s, const E1000TxDesc *d)
{
    E1000TxContext *c = &s->r.ctx;

    c->ipcss = d->raw[0];
    c->ipcso = d->raw[1];
    c->ipcse = e1000_le16(d->raw + 2);
    c->tucss = d->raw[4];
    c->tucso = d->raw[5];
    c->tucse = e1000_le16(d->raw + 6);
    c->tucmd = d->cmd;
    c->hdrlen = (d->upper >> 8) & 0xff;
    c->mss = d->upper >> 16;
}

/* Inserts the checksum of p[css..cse] (cse 0: to the end) at cso.  Offsets
 * outside the frame are a driver error the chip simply does not act on. */
static void e1000_tx_insert_csum(uint8_t *p, size_t len, uint32_t css, uint32_t cso,
                                 uint32_t cse, uint32_t extra)
{
    size_t end = (cse == 0 || cse >= len) ? len - 1 : cse;

    if (len == 0 || css > end || cso + 2 > len) {
        return;
    }
    e1000_put_be16(p + cso, e1000_csum_fold(e1000_csum_add(p + css, end - css + 1, extra)));
}

/* Puts one frame on the wire: VLAN tag, padding, statistics, NetPort. */
static void e1000_tx_emit(E1000 *s, uint8_t *f, size_t len, const E1000TxPacket *pk)
{
    if (pk->vle && (s->r.ctrl & E1000_CTRL_VME) && len >= 12 &&
        len + E1000_VLAN_LEN <= E1000_FRAME_BUF_SIZE) {
        memmove(f + 12 + E1000_VLAN_LEN, f + 12, len - 12);
        e1000_put_be16(f + 12, e1000_vet(s));   /* VET */
        e1000_put_be16(f + 14, pk->special);
        len += E1000_VLAN_LEN;
    }
    if ((s->r.tctl & E1000_TCTL_PSP) && len < E1000_MIN_FRAME) {
        memset(f + len, 0, E1000_MIN_FRAME - len);
        len = E1000_MIN_FRAME;
    }
    if (len == 0) {
        return;
    }
    e1000_stat_frame(s, f, len + E1000_FCS_LEN, false);
    net_port_tx(&s->net, f, len);
}

/* TCP segmentation (SDM §3.5): each segment is the header followed by up
 * to MSS bytes of payload, with IP length/id, TCP sequence and flags, and
 * the checksums the packet options ask for recomputed. */
static void e1000_tx_tso(E1000 *s, const uint8_t *pkt, size_t len, const E1000TxPacket *pk)
{
    const E1000TxContext *c = &s->r.ctx;
    size_t hdr = c->hdrlen, payload, off = 0;
    uint16_t ip_id;
    uint32_t seq;

    if (hdr == 0 || hdr > len || c->mss == 0 || c->ipcss + 20 > hdr ||
        c->tucss + 20 > hdr || hdr + c->mss + E1000_VLAN_LEN > E1000_FRAME_BUF_SIZE) {
        return;                      /* a context no segment can follow: dropped */
    }
    payload = len - hdr;
    ip_id = e1000_be16(pkt + c->ipcss + 4);
    seq = e1000_be32(pkt + c->tucss + 4);
    for (unsigned n = 0;; n++) {
        size_t seg = payload - off < c->mss ? payload - off : c->mss;
        bool last = off + seg >= payload;
        uint8_t *f = s->frame;
        size_t flen = hdr + seg;

        memcpy(f, pkt, hdr);
        memcpy(f + hdr, pkt + hdr + off, seg);
        if (c->tucmd & E1000_TUCMD_IP) {
            e1000_put_be16(f + c->ipcss + 2, (uint16_t)(flen - c->ipcss));
            e1000_put_be16(f + c->ipcss + 4, (uint16_t)(ip_id + n));
        } else {                     /* IPv6: payload length */
            e1000_put_be16(f + c->ipcss + 4, (uint16_t)(flen - c->ipcss - 40));
        }
        if (c->tucmd & E1000_TUCMD_TCP) {
            e1000_put_be32(f + c->tucss + 4, seq + (uint32_t)off);
            if (!last) {
                f[c->tucss + 13] &= (uint8_t)~0x09;   /* FIN, PSH: last only */
            }
        } else {
            e1000_put_be16(f + c->tucss + 4, (uint16_t)(flen - c->tucss));
        }
        if (pk->popts & E1000_TXD_POPTS_IXSM) {
            e1000_tx_insert_csum(f, flen, c->ipcss, c->ipcso, c->ipcse, 0);
        }
        if (pk->popts & E1000_TXD_POPTS_TXSM) {
            /* The driver seeded the field with the pseudo-header sum
             * without the length; the chip adds each segment's. */
            e1000_tx_insert_csum(f, flen, c->tucss, c->tucso, 0, (uint32_t)(flen - c->tucss));
        }
        e1000_tx_emit(s, f, flen, pk);
        off += seg;
        if (last) {
            return;
        }
    }
}

/* A whole packet is in txbuf: finish it as its descriptors asked. */
static void e1000_tx_finish(E1000 *s, size_t len, const E1000TxPacket *pk)
{
    const E1000TxContext *c = &s->r.ctx;

    if (pk->tse) {
        e1000_tx_tso(s, s->txbuf, len, pk);
        return;
    }
    if (len > E1000_FRAME_BUF_SIZE - E1000_VLAN_LEN) {
        return;                      /* longer than the chip's frame limit */
    }
    memcpy(s->frame, s->txbuf, len);
    if (pk->legacy_ic) {
        e1000_tx_insert_csum(s->frame, len, pk->css, pk->cso, 0, 0);
    }
    if (pk->popts & E1000_TXD_POPTS_IXSM) {
        e1000_tx_insert_csum(s->frame, len, c->ipcss, c->ipcso, c->ipcse, 0);
    }
    if (pk->popts & E1000_TXD_POPTS_TXSM) {
        e1000_tx_insert_csum(s->frame, len, c->tucss, c->tucso, c->tucse, 0);
    }
    e1000_tx_emit(s, s->frame, len, pk);
}

/*
 * Fetches descriptors from TDH up to the next EOP (at most
 * E1000_TX_MAX_DESCS; a run that long without EOP is dropped as a whole).
 * Returns the number fetched, 0 when the packet is not complete before TDT
 * yet, -1 on a failed DMA.
 */
static int e1000_tx_fetch(E1000 *s, uint32_t n, E1000TxDesc *d)
{
    uint32_t i = s->r.tdh;
    int count = 0;

    while (i != s->r.tdt && count < (int)E1000_TX_MAX_DESCS) {
        E1000TxDesc *x = &d[count++];

        if (dma_read(s->dma, e1000_tx_desc_addr(s, i), x->raw, E1000_DESC_SIZE) != 0) {
            return -1;
        }
        x->addr = e1000_le64(x->raw);
        x->lower = e1000_le32(x->raw + 8);
        x->upper = e1000_le32(x->raw + 12);
        x->cmd = (uint8_t)(x->lower >> 24);
        i = (i + 1) % n;
        if (!e1000_txd_is_context(x) && (x->cmd & E1000_TXD_CMD_EOP)) {
            return count;
        }
    }
    return count == (int)E1000_TX_MAX_DESCS ? count : 0;
}

/* Sends the packet at TDH.  1 when done (TDH moved), 0 when it must wait
 * for more descriptors, -1 on a failed DMA (TDH stays). */
static int e1000_tx_packet(E1000 *s, uint32_t n, bool *wrote_back)
{
    E1000TxDesc d[E1000_TX_MAX_DESCS];
    E1000TxPacket pk = { 0 };
    bool first = true, too_long = false, complete;
    size_t len = 0;
    int count = e1000_tx_fetch(s, n, d);

    if (count <= 0) {
        return count;
    }
    complete = !e1000_txd_is_context(&d[count - 1]) && (d[count - 1].cmd & E1000_TXD_CMD_EOP);
    for (int i = 0; i < count; i++) {
        const E1000TxDesc *x = &d[i];
        uint32_t blen;

        if (e1000_txd_is_context(x)) {
            e1000_tx_load_context(s, x);
            continue;
        }
        blen = (x->cmd & E1000_TXD_CMD_DEXT) ? (x->lower & 0xfffff) : (x->lower & 0xffff);
        if (first) {
            first = false;
            if (x->cmd & E1000_TXD_CMD_DEXT) {
                pk.popts = (uint8_t)(x->upper >> 8);
                pk.tse = (x->cmd & E1000_TXD_CMD_TSE) != 0;
            } else {
                pk.legacy_ic = (x->cmd & E1000_TXD_CMD_IC) != 0;
                pk.cso = (x->lower >> 16) & 0xff;
                pk.css = (x->upper >> 8) & 0xff;
            }
        }
        if (len + blen > E1000_TX_BUF_SIZE) {
            too_long = true;
        } else if (blen && dma_read(s->dma, x->addr, s->txbuf + len, blen) != 0) {
            return -1;
        } else {
            len += blen;
        }
        pk.vle = (x->cmd & E1000_TXD_CMD_VLE) != 0;
        pk.special = (uint16_t)(x->upper >> 16);
    }
    if (complete && !too_long) {
        e1000_tx_finish(s, len, &pk);
    }
    /* Write back DD where the driver asked for a report. */
    for (int i = 0; i < count; i++) {
        uint32_t index = (s->r.tdh + (uint32_t)i) % n;
        uint8_t sta = (uint8_t)((d[i].upper & 0xff) | E1000_TXD_STA_DD);

        if (!(d[i].cmd & (E1000_TXD_CMD_RS | E1000_TXD_CMD_RPS))) {
            continue;
        }
        if (dma_write(s->dma, e1000_tx_desc_addr(s, index) + 12, &sta, 1) != 0) {
            return -1;
        }
        *wrote_back = true;
    }
    s->r.tdh = (s->r.tdh + (uint32_t)count) % n;
    return 1;
}

/* The transmit doorbell: send every complete packet from TDH to TDT. */
static void e1000_tx_run(E1000 *s)
{
    uint32_t n = s->r.tdlen / E1000_DESC_SIZE;
    bool wrote_back = false;
    int rc = 1;

    if (!(s->r.tctl & E1000_TCTL_EN) || n == 0 || s->r.tdh >= n || s->r.tdt >= n) {
        return;                      /* disabled, or a ring the chip cannot walk */
    }
    while (s->r.tdh != s->r.tdt && rc > 0) {
        rc = e1000_tx_packet(s, n, &wrote_back);
    }
    if (rc < 0) {
        e1000_master_abort(s);
    }
    s->r.icr |= (wrote_back ? E1000_ICR_TXDW : 0) |
                (s->r.tdh == s->r.tdt ? E1000_ICR_TXQE : 0);
    e1000_update_irq(s);
}

/* --- receive ----------------------------------------------------------- */

static uint32_t e1000_rx_buffer_size(uint32_t rctl)
{
    unsigned bsize = (rctl >> E1000_RCTL_BSIZE_SHIFT) & 3;

    if (rctl & E1000_RCTL_BSEX) {
        return bsize == 0 ? 2048u : 32768u >> bsize;   /* 00 is reserved */
    }
    return 2048u >> bsize;
}

/* The multicast table is indexed by 12 bits of the address, chosen by
 * RCTL.MO (SDM §13.5.1). */
static bool e1000_rx_mta_hit(const E1000 *s, const uint8_t *da)
{
    unsigned mo = (s->r.rctl >> E1000_RCTL_MO_SHIFT) & 3;
    uint32_t hash = ((uint32_t)da[4] >> (4 - mo) | (uint32_t)da[5] << (4 + mo)) & 0xfff;

    if (mo == 3) {
        hash = ((uint32_t)da[4] | (uint32_t)da[5] << 8) & 0xfff;
    }
    return (s->r.mta[hash >> 5] >> (hash & 31)) & 1;
}

static bool e1000_rx_ra_hit(const E1000 *s, const uint8_t *da)
{
    for (unsigned i = 0; i < E1000_RA_COUNT; i += 2) {
        uint32_t lo = s->r.ra[i], hi = s->r.ra[i + 1];
        uint8_t a[6] = { (uint8_t)lo, (uint8_t)(lo >> 8), (uint8_t)(lo >> 16),
                         (uint8_t)(lo >> 24), (uint8_t)hi, (uint8_t)(hi >> 8) };

        if ((hi & E1000_RAH_AV) && memcmp(a, da, 6) == 0) {
            return true;
        }
    }
    return false;
}

/* The destination address filter (SDM §3.2.1). */
static bool e1000_rx_accept(const E1000 *s, const uint8_t *da)
{
    uint32_t rctl = s->r.rctl;

    if (memcmp(da, "\xff\xff\xff\xff\xff\xff", 6) == 0) {
        return (rctl & (E1000_RCTL_BAM | E1000_RCTL_MPE)) != 0 || e1000_rx_ra_hit(s, da);
    }
    if (da[0] & 1) {
        return (rctl & E1000_RCTL_MPE) || e1000_rx_ra_hit(s, da) || e1000_rx_mta_hit(s, da);
    }
    return (rctl & E1000_RCTL_UPE) || e1000_rx_ra_hit(s, da);
}

/* Builds what the chip stores: padded, VLAN tag stripped into *special
 * when CTRL.VME, FCS appended unless SECRC.  Returns the stored length. */
static size_t e1000_rx_build(E1000 *s, const uint8_t *frame, size_t len, uint8_t *status,
                             uint16_t *special)
{
    uint8_t *f = s->frame;

    memcpy(f, frame, len);
    if (len < E1000_MIN_FRAME) {
        memset(f + len, 0, E1000_MIN_FRAME - len);
        len = E1000_MIN_FRAME;
    }
    if ((s->r.ctrl & E1000_CTRL_VME) && len >= 18 &&
        e1000_be16(f + 12) == e1000_vet(s)) {
        *special = e1000_be16(f + 14);
        *status |= E1000_RXD_STA_VP;
        memmove(f + 12, f + 16, len - 16);
        len -= E1000_VLAN_LEN;
    }
    if (!(s->r.rctl & E1000_RCTL_SECRC)) {
        uint32_t fcs = e1000_crc32(f, len);

        for (unsigned i = 0; i < E1000_FCS_LEN; i++) {
            f[len++] = (uint8_t)(fcs >> (8 * i));   /* sent LSB first */
        }
    }
    return len;
}

static uint64_t e1000_rx_desc_addr(const E1000 *s, uint32_t index)
{
    return ((uint64_t)s->r.rdbah << 32 | s->r.rdbal) + (uint64_t)index * E1000_DESC_SIZE;
}

/* DMAs total bytes of s->frame into descriptors from RDH on.  false on a
 * failed DMA (RDH stays at the descriptor that failed). */
static bool e1000_rx_store(E1000 *s, uint32_t n, size_t total, uint32_t bufsize,
                           uint8_t status, uint16_t special)
{
    for (size_t off = 0; off < total;) {
        size_t chunk = total - off < bufsize ? total - off : bufsize;
        uint64_t desc = e1000_rx_desc_addr(s, s->r.rdh);
        uint8_t addr[8], wb[8];

        if (dma_read(s->dma, desc, addr, sizeof(addr)) != 0 ||
            dma_write(s->dma, e1000_le64(addr), s->frame + off, chunk) != 0) {
            return false;
        }
        off += chunk;
        e1000_put_le16(wb, (uint16_t)chunk);
        e1000_put_le16(wb + 2, 0);                         /* packet checksum */
        wb[4] = (uint8_t)(status | E1000_RXD_STA_DD | (off == total ? E1000_RXD_STA_EOP : 0));
        wb[5] = 0;                                         /* errors */
        e1000_put_le16(wb + 6, special);
        if (dma_write(s->dma, desc + 8, wb, sizeof(wb)) != 0) {
            return false;
        }
        s->r.rdh = (s->r.rdh + 1) % n;
    }
    return true;
}

int e1000_receive(E1000 *s, const uint8_t *frame, size_t len)
{
    uint32_t n = s->r.rdlen / E1000_DESC_SIZE, bufsize, avail, need, free_after;
    uint8_t status = E1000_RXD_STA_IXSM;
    uint16_t special = 0;
    size_t total;

    if (!frame || len == 0 || len > E1000_RX_MAX_FRAME ||
        (!(s->r.rctl & E1000_RCTL_LPE) && len > E1000_MAX_STD_FRAME)) {
        return -EINVAL;
    }
    if (!(s->r.rctl & E1000_RCTL_EN) || !s->r.link_up ||
        n == 0 || s->r.rdh >= n || s->r.rdt >= n) {
        return -EAGAIN;
    }
    if (!e1000_rx_accept(s, frame)) {
        return 0;                    /* not for us: the chip ignores it */
    }
    total = e1000_rx_build(s, frame, len, &status, &special);
    bufsize = e1000_rx_buffer_size(s->r.rctl);
    need = (uint32_t)((total + bufsize - 1) / bufsize);
    avail = (s->r.rdt + n - s->r.rdh) % n;
    if (avail < need) {
        (*e1000_stat(s, E1000_RNBC))++;
        e1000_raise(s, E1000_ICR_RXDMT0);
        return -EAGAIN;
    }
    if (!e1000_rx_store(s, n, total, bufsize, status, special)) {
        e1000_master_abort(s);
        return 0;                    /* the frame is lost, as on hardware */
    }
    e1000_stat_frame(s, s->frame, total + ((s->r.rctl & E1000_RCTL_SECRC) ? E1000_FCS_LEN : 0),
                     true);
    free_after = (s->r.rdt + n - s->r.rdh) % n;
    s->r.icr |= E1000_ICR_RXT0;
    if (free_after <= n >> (((s->r.rctl >> E1000_RCTL_RDMTS_SHIFT) & 3) + 1)) {
        s->r.icr |= E1000_ICR_RXDMT0;
    }
    e1000_update_irq(s);
    return 0;
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
