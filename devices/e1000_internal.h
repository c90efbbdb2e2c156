/*
 * devices/e1000_internal.h: what the parts of the 82540EM model share --
 * the state struct, register and descriptor constants, and the few
 * functions e1000.c, e1000_tx.c and e1000_rx.c call across.  Not for use
 * outside the model; see e1000.c for what it models.
 */
#ifndef DEVICES_E1000_INTERNAL_H
#define DEVICES_E1000_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/e1000.h"
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

/* Storage-only registers (e1000_plain_regs[] in e1000.c). */
#define E1000_PLAIN_COUNT 38

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
    uint32_t plain[E1000_PLAIN_COUNT];  /* e1000_plain_regs[], in order */
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

/* Field access: descriptors are little-endian, packet headers big-endian. */
static inline uint16_t e1000_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t e1000_le32(const uint8_t *p) { return e1000_le16(p) | (uint32_t)e1000_le16(p + 2) << 16; }
static inline uint64_t e1000_le64(const uint8_t *p) { return e1000_le32(p) | (uint64_t)e1000_le32(p + 4) << 32; }
static inline uint16_t e1000_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t e1000_be32(const uint8_t *p) { return (uint32_t)e1000_be16(p) << 16 | e1000_be16(p + 2); }

static inline void e1000_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void e1000_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void e1000_put_be32(uint8_t *p, uint32_t v)
{
    e1000_put_be16(p, (uint16_t)(v >> 16));
    e1000_put_be16(p + 2, (uint16_t)v);
}

/* Interrupts, statistics, DMA failure (e1000.c). */
void e1000_update_irq(E1000 *s);
void e1000_raise(E1000 *s, uint32_t causes);
uint32_t *e1000_stat(E1000 *s, uint32_t offset);
/* Frame counts, octets (wire_len: DA through FCS) and size bins. */
void e1000_stat_frame(E1000 *s, const uint8_t *frame, size_t wire_len, bool rx);
void e1000_master_abort(E1000 *s);
/* The VLAN ethertype the chip inserts and recognises. */
uint16_t e1000_vet(const E1000 *s);

/* The transmit doorbell: sends every complete packet from TDH to TDT
 * (e1000_tx.c). */
void e1000_tx_run(E1000 *s);

#endif
