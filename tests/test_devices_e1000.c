/*
 * tests/test_devices_e1000.c: the 82540EM model driven through the PCI bus
 * the way e1000.ko drives it (qtest style): firmware assigns BARs, the test
 * enables decode and mastering, then only does MMIO/port accesses, with
 * the descriptor rings and buffers in a RAM buffer behind a real IOMMU.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/e1000.h"
#include "devices/pci.h"
#include "iommu/dma_port.h"
#include "iommu/iommu.h"

#define NIC_DEVFN (3u << 3)
#define RID DMA_PORT_RID(0, NIC_DEVFN)
#define IO_BASE 0xc000u
#define MEM_BASE 0xfeb00000u
#define RAM_SIZE (4u << 20)
#define IOVA_BASE 0x100000000ull         /* above 4 GiB: the BAH registers matter */
#define MAP_LEN (2u << 20)
#define IOVA(phys) (IOVA_BASE + (phys))
#define IOVA_UNMAPPED 0x200000000ull

/* Guest-physical layout of the test's rings and buffers. */
#define TX_RING 0x1000u
#define RX_RING 0x2000u
#define TX_BUF 0x10000u                  /* 4 KiB per slot */
#define RX_BUF 0x80000u                  /* 2 KiB per slot */
#define NDESC 8u                         /* descriptors per ring */

/* Registers and bits, as the SDM and e1000_hw.h name them. */
enum {
    CTRL = 0x0000, STATUS = 0x0008, EECD = 0x0010, EERD = 0x0014, MDIC = 0x0020,
    ICR = 0x00c0, ICS = 0x00c8, IMS = 0x00d0, IMC = 0x00d8, RCTL = 0x0100,
    TCTL = 0x0400, RDBAL = 0x2800, RDBAH = 0x2804, RDLEN = 0x2808, RDH = 0x2810,
    RDT = 0x2818, TDBAL = 0x3800, TDBAH = 0x3804, TDLEN = 0x3808, TDH = 0x3810,
    TDT = 0x3818, GPRC = 0x4074, GPTC = 0x4080, GOTCL = 0x4090, RAL0 = 0x5400,
    RAH0 = 0x5404, MTA = 0x5200,
};
#define CTRL_SLU 0x40u
#define CTRL_RST 0x04000000u
#define STATUS_FD 0x1u
#define STATUS_LU 0x2u
#define STATUS_SPEED_1000 0x80u
#define EECD_SK 0x1u
#define EECD_CS 0x2u
#define EECD_DI 0x4u
#define EECD_DO 0x8u
#define EECD_REQ 0x40u
#define EECD_GNT 0x80u
#define EECD_PRES 0x100u
#define ICR_TXDW 0x1u
#define ICR_TXQE 0x2u
#define ICR_LSC 0x4u
#define ICR_RXDMT0 0x10u
#define ICR_RXT0 0x80u
#define RCTL_EN 0x2u
#define RCTL_UPE 0x8u
#define RCTL_BAM 0x8000u
#define RCTL_SECRC 0x04000000u
#define RCTL_BSIZE_256 0x00030000u
#define TCTL_EN 0x2u
#define TCTL_PSP 0x8u
#define TXD_EOP 0x01u
#define TXD_IFCS 0x02u
#define TXD_RS 0x08u
#define TXD_DEXT 0x20u
#define TXD_TSE 0x04u
#define TXD_DTYP_D 0x00100000u
#define POPTS_IXSM 0x01u
#define POPTS_TXSM 0x02u
#define TUCMD_TCP 0x01u
#define TUCMD_IP 0x02u
#define RXD_DD 0x01u
#define RXD_EOP 0x02u
#define MDIC_READ 0x08000000u
#define MDIC_WRITE 0x04000000u
#define MDIC_READY 0x10000000u
#define MDIC_ERROR 0x40000000u
#define PHY(addr) ((uint32_t)(addr) << 21)
#define PHYREG(r) ((uint32_t)(r) << 16)

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x59 };

#define MAX_SENT 64

typedef struct Fix {
    uint8_t *ram;
    Iommu *mmu;
    DmaPort port;
    PciBus *bus;
    E1000 *nic;
    uint64_t bar0;
    int irq_level;
    unsigned nsent;
    size_t sent_len[MAX_SENT];
    uint8_t *sent[MAX_SENT];
} Fix;

static void fix_set_irq(void *opaque, int line, int level)
{
    (void)line;
    ((Fix *)opaque)->irq_level = level;
}

static void fix_tx(void *opaque, const uint8_t *frame, size_t len)
{
    Fix *f = opaque;

    assert_true(f->nsent < MAX_SENT);
    f->sent[f->nsent] = malloc(len);
    memcpy(f->sent[f->nsent], frame, len);
    f->sent_len[f->nsent++] = len;
}

static Fix *fix_new(void)
{
    Fix *f = calloc(1, sizeof(*f));
    IommuConfig cfg;
    E1000Config nc = { .irq = { fix_set_irq, NULL, 11 } };

    assert_non_null(f);
    nc.irq.opaque = f;
    nc.net = (NetPort){ fix_tx, f };
    memcpy(nc.mac, test_mac, 6);
    f->ram = calloc(1, RAM_SIZE);
    iommu_config_default(&cfg, f->ram, RAM_SIZE);
    assert_int_equal(iommu_new(&cfg, &f->mmu, NULL), 0);
    assert_int_equal(iommu_attach(f->mmu, RID, "e1000"), 0);
    assert_int_equal(iommu_map_range(f->mmu, RID, IOVA_BASE, 0, MAP_LEN,
                                     IOMMU_PERM_READ | IOMMU_PERM_WRITE), 0);
    dma_port_init(&f->port, f->mmu, RID, DMA_PORT_TRANSLATED);
    f->bus = pci_bus_new();
    f->nic = e1000_new(f->bus, NIC_DEVFN, &f->port, &nc);
    assert_non_null(f->nic);
    pci_bus_assign_resources(f->bus, IO_BASE, MEM_BASE, 10);
    f->bar0 = pci_bus_bar_base(f->bus, NIC_DEVFN, 0);
    assert_int_not_equal(f->bar0, 0);
    pci_config_write(f->bus, NIC_DEVFN, PCI_COMMAND,
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    return f;
}

static void fix_free(Fix *f)
{
    pci_bus_free(f->bus);
    e1000_free(f->nic);
    iommu_free(f->mmu);
    for (unsigned i = 0; i < f->nsent; i++) {
        free(f->sent[i]);
    }
    free(f->ram);
    free(f);
}

static void wr(Fix *f, unsigned reg, uint32_t v)
{
    assert_int_equal(pci_bus_mem_write(f->bus, f->bar0 + reg, 4, v), 0);
}

static uint32_t rd(Fix *f, unsigned reg)
{
    uint32_t v = 0;

    assert_int_equal(pci_bus_mem_read(f->bus, f->bar0 + reg, 4, &v), 0);
    return v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* A transmit descriptor in RAM: buffer (IOVA), dword 2, dword 3. */
static void txd(Fix *f, unsigned i, uint64_t addr, uint32_t lower, uint32_t upper)
{
    uint8_t *d = f->ram + TX_RING + 16 * i;

    put64(d, addr);
    put32(d + 8, lower);
    put32(d + 12, upper);
}

static uint16_t mdic_read(Fix *f, unsigned reg)
{
    uint32_t v;

    wr(f, MDIC, MDIC_READ | PHY(1) | PHYREG(reg));
    v = rd(f, MDIC);
    assert_true(v & MDIC_READY);
    assert_false(v & MDIC_ERROR);
    return (uint16_t)v;
}

/* What e1000_reset_hw + e1000_init_hw + e1000_configure leave behind. */
static void bring_up(Fix *f, uint32_t rctl_extra)
{
    wr(f, CTRL, rd(f, CTRL) | CTRL_SLU);
    wr(f, TDBAL, (uint32_t)IOVA(TX_RING));
    wr(f, TDBAH, (uint32_t)(IOVA(TX_RING) >> 32));
    wr(f, TDLEN, NDESC * 16);
    wr(f, TDH, 0);
    wr(f, TDT, 0);
    wr(f, TCTL, TCTL_EN | TCTL_PSP);
    wr(f, RDBAL, (uint32_t)IOVA(RX_RING));
    wr(f, RDBAH, (uint32_t)(IOVA(RX_RING) >> 32));
    wr(f, RDLEN, NDESC * 16);
    for (unsigned i = 0; i < NDESC; i++) {
        uint8_t *d = f->ram + RX_RING + 16 * i;

        memset(d, 0, 16);
        put64(d, IOVA(RX_BUF + 2048 * i));
    }
    wr(f, RDH, 0);
    wr(f, RDT, NDESC - 1);               /* e1000.ko leaves one unused */
    wr(f, RCTL, RCTL_EN | RCTL_BAM | rctl_extra);
    rd(f, ICR);
    wr(f, IMS, ICR_TXDW | ICR_LSC | ICR_RXT0 | ICR_RXDMT0);
}

static void fill_frame(uint8_t *p, size_t len, const uint8_t *dst, unsigned seed)
{
    memcpy(p, dst, 6);
    memcpy(p + 6, "\x02\x00\x00\x00\x00\x01", 6);
    p[12] = 0x88;
    p[13] = 0xb5;
    for (size_t i = 14; i < len; i++) {
        p[i] = (uint8_t)(i * 13 + seed);
    }
}

/* Queues one frame as e1000_tx_queue does (one descriptor, EOP|IFCS|RS)
 * at slot i and rings the doorbell. */
static void send_one(Fix *f, unsigned i, const uint8_t *frame, size_t len)
{
    memcpy(f->ram + TX_BUF + 4096 * (i % NDESC), frame, len);
    txd(f, i % NDESC, IOVA(TX_BUF + 4096 * (i % NDESC)),
        (uint32_t)len | (TXD_EOP | TXD_IFCS | TXD_RS) << 24, 0);
    wr(f, TDT, (i + 1) % NDESC);
}

static uint32_t crc32_ref(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ ((crc & 1) ? 0xedb88320u : 0);
        }
    }
    return ~crc;
}

/* ------------------------------------------------------------------------- */

static void test_e1000__pci_config__identifies_an_82540em_with_mmio_and_io_bars(void **state)
{
    Fix *f = fix_new();

    (void)state;
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_VENDOR_ID, 4), 0x100e8086);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_CLASS_DEVICE, 2), 0x0200);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0 + 4, 4) & 1, 1);
    assert_int_equal(f->bar0 & (E1000_MMIO_SIZE - 1), 0);
    fix_free(f);
}

static void test_e1000__reset__no_link_until_slu_then_1000_full_and_lsc(void **state)
{
    Fix *f = fix_new();

    (void)state;
    assert_int_equal(rd(f, STATUS) & STATUS_LU, 0);
    assert_int_equal(rd(f, ICR), 0);
    assert_int_equal(rd(f, RAL0), 0x12005452);
    assert_int_equal(rd(f, RAH0), 0x80005934);   /* AV | 59:34 */
    wr(f, IMS, ICR_LSC);
    assert_int_equal(f->irq_level, 0);
    wr(f, CTRL, rd(f, CTRL) | CTRL_SLU);
    assert_int_equal(rd(f, STATUS) & 0xc3, STATUS_LU | STATUS_FD | STATUS_SPEED_1000);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(rd(f, ICR), ICR_LSC);       /* read clears */
    assert_int_equal(rd(f, ICR), 0);
    assert_int_equal(f->irq_level, 0);
    fix_free(f);
}

/* The Microwire read of e1000_do_read_eeprom(): REQ/GNT, CS, opcode 110,
 * six address bits, then 16 data bits read after each rising clock. */
static void ee_shift_out(Fix *f, uint32_t *eecd, unsigned data, unsigned count)
{
    for (int i = (int)count - 1; i >= 0; i--) {
        *eecd = (*eecd & ~EECD_DI) | ((data >> i) & 1 ? EECD_DI : 0);
        wr(f, EECD, *eecd);
        wr(f, EECD, *eecd | EECD_SK);
        wr(f, EECD, *eecd);
    }
    *eecd &= ~EECD_DI;
    wr(f, EECD, *eecd);
}

static uint16_t ee_read_bitbang(Fix *f, unsigned addr)
{
    uint32_t eecd = rd(f, EECD) | EECD_REQ;
    uint16_t v = 0;

    wr(f, EECD, eecd);
    assert_true(rd(f, EECD) & EECD_GNT);
    eecd &= ~(EECD_DI | EECD_SK);
    wr(f, EECD, eecd);
    eecd |= EECD_CS;
    wr(f, EECD, eecd);
    ee_shift_out(f, &eecd, 0x6, 3);
    ee_shift_out(f, &eecd, addr, 6);
    for (int i = 0; i < 16; i++) {
        wr(f, EECD, eecd | EECD_SK);
        v = (uint16_t)(v << 1 | ((rd(f, EECD) & EECD_DO) ? 1 : 0));
        wr(f, EECD, eecd);
    }
    eecd &= ~(EECD_CS | EECD_DI);        /* release */
    wr(f, EECD, eecd);
    wr(f, EECD, eecd | EECD_SK);
    wr(f, EECD, eecd);
    wr(f, EECD, eecd & ~EECD_REQ);
    return v;
}

static void test_e1000__eeprom__bitbanged_and_eerd_reads_give_mac_and_checksum(void **state)
{
    Fix *f = fix_new();
    uint16_t sum = 0;

    (void)state;
    assert_true(rd(f, EECD) & EECD_PRES);
    assert_int_equal(ee_read_bitbang(f, 0), 0x5452);
    assert_int_equal(ee_read_bitbang(f, 1), 0x1200);
    assert_int_equal(ee_read_bitbang(f, 2), 0x5934);
    for (unsigned i = 0; i < 64; i++) {
        uint16_t w = ee_read_bitbang(f, i);

        wr(f, EERD, i << 8 | 1);
        assert_int_equal(rd(f, EERD), (uint32_t)w << 16 | i << 8 | 0x10);
        sum = (uint16_t)(sum + w);
    }
    assert_int_equal(sum, 0xbaba);
    assert_int_equal(ee_read_bitbang(f, 0x0f) & 0x3000, 0x3000);   /* PAUSE + ASM_DIR */
    fix_free(f);
}

static void test_e1000__mdic__m88e1011_phy_with_link_and_power_down_drops_it(void **state)
{
    Fix *f = fix_new();
    uint32_t v;

    (void)state;
    assert_int_equal(mdic_read(f, 2), 0x0141);
    assert_int_equal(mdic_read(f, 3) & 0xfff0, 0x0c20);
    assert_int_equal(mdic_read(f, 1) & 0x0024, 0x0024);   /* link, AN complete */
    assert_int_equal(mdic_read(f, 17) & 0xec00, 0xac00);  /* 1000, FD, resolved, link */
    assert_true(mdic_read(f, 5) & 0x0400);                /* partner PAUSE */
    wr(f, MDIC, MDIC_READ | PHY(2) | PHYREG(1));
    v = rd(f, MDIC);
    assert_true(v & MDIC_READY);
    assert_true(v & MDIC_ERROR);
    wr(f, CTRL, rd(f, CTRL) | CTRL_SLU);
    rd(f, ICR);
    wr(f, MDIC, MDIC_WRITE | PHY(1) | PHYREG(0) | (mdic_read(f, 0) | 0x0800));
    assert_int_equal(rd(f, STATUS) & STATUS_LU, 0);
    assert_int_equal(rd(f, ICR) & ICR_LSC, ICR_LSC);
    assert_int_equal(mdic_read(f, 1) & 0x0004, 0);
    wr(f, MDIC, MDIC_WRITE | PHY(1) | PHYREG(0) | (mdic_read(f, 0) & ~0x0800u));
    assert_true(rd(f, STATUS) & STATUS_LU);
    fix_free(f);
}

static void test_e1000__io_bar_reset__restores_registers_through_ioaddr_iodata(void **state)
{
    Fix *f = fix_new();
    uint32_t v = 0;

    (void)state;
    wr(f, IMS, 0xffffffffu);
    wr(f, RCTL, RCTL_EN);
    assert_int_not_equal(rd(f, IMS), 0);
    assert_int_equal(pci_bus_io_write(f->bus, IO_BASE + 0, 4, CTRL), 0);
    assert_int_equal(pci_bus_io_read(f->bus, IO_BASE + 4, 4, &v), 0);
    assert_int_equal(pci_bus_io_write(f->bus, IO_BASE + 4, 4, v | CTRL_RST), 0);
    assert_int_equal(rd(f, CTRL) & CTRL_RST, 0);
    assert_int_equal(rd(f, IMS), 0);
    assert_int_equal(rd(f, RCTL), 0);
    assert_int_equal(rd(f, RAH0), 0x80005934);
    fix_free(f);
}

static void test_e1000__transmit__frames_60_to_1514_byte_exact_across_ring_wrap(void **state)
{
    Fix *f = fix_new();
    static const size_t sizes[] = { 60, 61, 64, 127, 128, 500, 1023, 1024, 1513, 1514,
                                    60, 1514, 777, 99, 1200, 600, 60, 1514, 321, 1000 };
    uint8_t frame[1514];
    uint64_t octets = 0;

    (void)state;
    bring_up(f, 0);
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fill_frame(frame, sizes[i], (const uint8_t *)"\x02\x00\x00\x00\x00\x02", i);
        send_one(f, i, frame, sizes[i]);
        assert_int_equal(f->nsent, i + 1);
        assert_int_equal(f->sent_len[i], sizes[i]);
        assert_memory_equal(f->sent[i], frame, sizes[i]);
        assert_int_equal(rd(f, TDH), (i + 1) % NDESC);
        assert_true(f->ram[TX_RING + 16 * (i % NDESC) + 12] & 1);   /* DD */
        assert_int_equal(f->irq_level, 1);
        assert_int_equal(rd(f, ICR) & (ICR_TXDW | ICR_TXQE), ICR_TXDW | ICR_TXQE);
        assert_int_equal(f->irq_level, 0);
        octets += sizes[i] + 4;
    }
    assert_int_equal(rd(f, GPTC), 20);
    assert_int_equal(rd(f, GPTC), 0);                 /* read clears */
    assert_int_equal(rd(f, GOTCL), octets);
    fix_free(f);
}

static void test_e1000__transmit__packet_over_three_descriptors_waits_for_eop(void **state)
{
    Fix *f = fix_new();
    uint8_t frame[1400];

    (void)state;
    bring_up(f, 0);
    fill_frame(frame, sizeof(frame), test_mac, 7);
    memcpy(f->ram + TX_BUF, frame, sizeof(frame));
    txd(f, 0, IOVA(TX_BUF), 100 | TXD_IFCS << 24, 0);
    txd(f, 1, IOVA(TX_BUF + 100), 1000 | TXD_IFCS << 24, 0);
    txd(f, 2, IOVA(TX_BUF + 1100), 300 | (TXD_EOP | TXD_IFCS | TXD_RS) << 24, 0);
    wr(f, TDT, 2);                        /* EOP not yet handed over */
    assert_int_equal(f->nsent, 0);
    assert_int_equal(rd(f, TDH), 0);
    wr(f, TDT, 3);
    assert_int_equal(f->nsent, 1);
    assert_int_equal(f->sent_len[0], sizeof(frame));
    assert_memory_equal(f->sent[0], frame, sizeof(frame));
    assert_int_equal(rd(f, TDH), 3);
    assert_int_equal(f->ram[TX_RING + 12] & 1, 0);         /* no RS: no DD */
    assert_int_equal(f->ram[TX_RING + 32 + 12] & 1, 1);
    fix_free(f);
}

static void test_e1000__transmit__short_frame_is_padded_with_psp(void **state)
{
    Fix *f = fix_new();
    uint8_t frame[42], want[60] = { 0 };

    (void)state;
    bring_up(f, 0);
    fill_frame(frame, sizeof(frame), test_mac, 1);
    memcpy(want, frame, sizeof(frame));
    send_one(f, 0, frame, sizeof(frame));
    assert_int_equal(f->sent_len[0], 60);
    assert_memory_equal(f->sent[0], want, 60);
    fix_free(f);
}

/* A UDP/IPv4 frame with the checksum field holding the pseudo-header sum,
 * as the stack leaves a CHECKSUM_PARTIAL skb. */
static size_t udp_frame(uint8_t *p, size_t payload)
{
    size_t len = 14 + 20 + 8 + payload;
    uint32_t sum = 0;

    memset(p, 0, len);
    fill_frame(p, 14, test_mac, 0);
    p[12] = 0x08;
    p[13] = 0x00;
    p[14] = 0x45;
    p[16] = (uint8_t)((20 + 8 + payload) >> 8);
    p[17] = (uint8_t)(20 + 8 + payload);
    p[22] = 64;
    p[23] = 17;
    memcpy(p + 26, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
    p[34] = 0x12; p[35] = 0x34; p[36] = 0x00; p[37] = 0x35;
    p[38] = (uint8_t)((8 + payload) >> 8);
    p[39] = (uint8_t)(8 + payload);
    for (size_t i = 0; i < payload; i++) {
        p[42 + i] = (uint8_t)(i * 7 + 3);
    }
    sum = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 17 + (uint32_t)(8 + payload);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[40] = (uint8_t)(sum >> 8);
    p[41] = (uint8_t)sum;
    return len;
}

static uint16_t csum_check(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)sum;
}

static void test_e1000__transmit__context_descriptor_inserts_udp_checksum(void **state)
{
    Fix *f = fix_new();
    uint8_t frame[200];
    size_t len = udp_frame(frame, 101);
    uint32_t pseudo = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 17 + 109;

    (void)state;
    bring_up(f, 0);
    memcpy(f->ram + TX_BUF, frame, len);
    /* e1000_tx_csum: TUCSS = 34, TUCSO = 34 + 6, TUCSE = 0. */
    put64(f->ram + TX_RING, (uint64_t)34 << 32 | (uint64_t)40 << 40);
    put32(f->ram + TX_RING + 8, TXD_DEXT << 24);
    put32(f->ram + TX_RING + 12, 0);
    txd(f, 1, IOVA(TX_BUF), (uint32_t)len | TXD_DTYP_D | (TXD_EOP | TXD_IFCS | TXD_RS | TXD_DEXT) << 24,
        POPTS_TXSM << 8);
    wr(f, TDT, 2);
    assert_int_equal(f->nsent, 1);
    assert_int_equal(f->sent_len[0], len);
    assert_memory_equal(f->sent[0], frame, 40);             /* headers untouched */
    assert_memory_equal(f->sent[0] + 42, frame + 42, 101);
    assert_int_equal(csum_check(f->sent[0] + 34, len - 34, pseudo), 0xffff);
    fix_free(f);
}

static void test_e1000__transmit__tso_cuts_tcp_segments_with_fixed_headers(void **state)
{
    Fix *f = fix_new();
    uint8_t pkt[14 + 20 + 20 + 2500];
    const size_t hdr = 54, payload = 2500, mss = 1000;
    uint32_t pseudo0 = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 6;

    (void)state;
    bring_up(f, 0);
    memset(pkt, 0, sizeof(pkt));
    fill_frame(pkt, 14, test_mac, 0);
    pkt[12] = 0x08; pkt[13] = 0x00;
    pkt[14] = 0x45; pkt[18] = 0x12; pkt[19] = 0x34; pkt[22] = 64; pkt[23] = 6;
    memcpy(pkt + 26, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
    pkt[34] = 0x30; pkt[35] = 0x39; pkt[36] = 0x00; pkt[37] = 0x50;
    memcpy(pkt + 38, "\x00\x00\x10\x00", 4);                 /* seq 0x1000 */
    pkt[46] = 0x50; pkt[47] = 0x19;                          /* FIN PSH ACK */
    pkt[50] = (uint8_t)(pseudo0 >> 8); pkt[51] = (uint8_t)pseudo0;
    for (size_t i = 0; i < payload; i++) {
        pkt[hdr + i] = (uint8_t)(i * 31 + 5);
    }
    memcpy(f->ram + TX_BUF, pkt, sizeof(pkt));
    /* e1000_tso: IPCSS 14, IPCSO 24, IPCSE 33, TUCSS 34, TUCSO 50. */
    put64(f->ram + TX_RING, 14 | 24 << 8 | (uint64_t)33 << 16 | (uint64_t)34 << 32 |
                            (uint64_t)50 << 40);
    put32(f->ram + TX_RING + 8, (uint32_t)payload | (TXD_DEXT | TXD_TSE | TUCMD_TCP | TUCMD_IP) << 24);
    put32(f->ram + TX_RING + 12, (uint32_t)hdr << 8 | (uint32_t)mss << 16);
    txd(f, 1, IOVA(TX_BUF), (uint32_t)sizeof(pkt) | TXD_DTYP_D |
        (TXD_EOP | TXD_IFCS | TXD_RS | TXD_DEXT | TXD_TSE) << 24,
        (POPTS_TXSM | POPTS_IXSM) << 8);
    wr(f, TDT, 2);
    assert_int_equal(f->nsent, 3);
    for (unsigned n = 0; n < 3; n++) {
        const uint8_t *s = f->sent[n];
        size_t seg = n < 2 ? mss : payload - 2 * mss;
        uint32_t seq = 0x1000 + n * (uint32_t)mss;

        assert_int_equal(f->sent_len[n], hdr + seg);
        assert_int_equal(s[16] << 8 | s[17], 40 + seg);             /* IP length */
        assert_int_equal(s[18] << 8 | s[19], 0x1234 + n);           /* IP id */
        assert_int_equal(csum_check(s + 14, 20, 0), 0xffff);        /* IP checksum */
        assert_int_equal((uint32_t)(s[38] << 24 | s[39] << 16 | s[40] << 8 | s[41]), seq);
        assert_int_equal(s[47], n < 2 ? 0x10 : 0x19);               /* FIN/PSH on last */
        assert_int_equal(csum_check(s + 34, 20 + seg, pseudo0 + 20 + (uint32_t)seg),
                         0xffff);
        assert_memory_equal(s + hdr, pkt + hdr + n * mss, seg);
    }
    fix_free(f);
}

static void test_e1000__receive__frames_byte_exact_with_fcs_across_ring_wrap(void **state)
{
    Fix *f = fix_new();
    uint8_t frame[1514];

    (void)state;
    bring_up(f, 0);
    for (unsigned i = 0; i < 20; i++) {
        size_t len = 60 + (i * 211) % 1455;
        unsigned slot = i % NDESC;
        const uint8_t *d = f->ram + RX_RING + 16 * slot;
        uint32_t fcs;

        fill_frame(frame, len, test_mac, i);
        assert_int_equal(e1000_receive(f->nic, frame, len), 0);
        assert_int_equal(get16(d + 8), len + 4);
        assert_int_equal(d[12], RXD_DD | RXD_EOP | 0x04);   /* IXSM: no rx csum */
        assert_int_equal(d[13], 0);
        assert_memory_equal(f->ram + RX_BUF + 2048 * slot, frame, len);
        fcs = get32(f->ram + RX_BUF + 2048 * slot + len);
        assert_int_equal(fcs, crc32_ref(frame, len));
        assert_int_equal(rd(f, RDH), (slot + 1) % NDESC);
        assert_int_equal(f->irq_level, 1);
        assert_true(rd(f, ICR) & ICR_RXT0);
        assert_int_equal(f->irq_level, 0);
        /* The driver takes the buffer back and returns the descriptor. */
        memset((uint8_t *)d + 8, 0, 8);
        wr(f, RDT, slot);
    }
    assert_int_equal(rd(f, GPRC), 20);
    fix_free(f);
}

static void test_e1000__receive__secrc_strips_fcs_and_short_frames_are_padded(void **state)
{
    Fix *f = fix_new();
    uint8_t frame[42], want[60] = { 0 };

    (void)state;
    bring_up(f, RCTL_SECRC);
    fill_frame(frame, sizeof(frame), test_mac, 9);
    memcpy(want, frame, sizeof(frame));
    assert_int_equal(e1000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(get16(f->ram + RX_RING + 8), 60);
    assert_memory_equal(f->ram + RX_BUF, want, 60);
    fix_free(f);
}

static void test_e1000__receive__address_filter_follows_ra_bam_upe_and_mta(void **state)
{
    Fix *f = fix_new();
    uint8_t frame[60];
    const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x77 };
    const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
    uint32_t hash = (mcast[4] >> 4 | (uint32_t)mcast[5] << 4) & 0xfff;   /* MO = 0 */

    (void)state;
    bring_up(f, 0);
    fill_frame(frame, sizeof(frame), other, 0);
    assert_int_equal(e1000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(rd(f, RDH), 0);                      /* dropped by the filter */
    fill_frame(frame, sizeof(frame), mcast, 0);
    assert_int_equal(e1000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(rd(f, RDH), 0);
    wr(f, MTA + 4 * (hash >> 5), 1u << (hash & 31));
    assert_int_equal(e1000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(rd(f, RDH), 1);
    fill_frame(frame, sizeof(frame), (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 0);
    assert_int_equal(e1000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(rd(f, RDH), 2);
    wr(f, RCTL, rd(f, RCTL) | RCTL_UPE);
    fill_frame(frame, sizeof(frame), other, 0);
    assert_int_equal(e1000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(rd(f, RDH), 3);
    fix_free(f);
}

static void test_e1000__receive__eagain_when_disabled_or_ring_full_einval_on_bad_size(void **state)
{
    Fix *f = fix_new();
    uint8_t frame[1600];

    (void)state;
    fill_frame(frame, sizeof(frame), test_mac, 0);
    assert_int_equal(e1000_receive(f->nic, frame, 100), -EAGAIN);   /* RCTL.EN off */
    bring_up(f, 0);
    assert_int_equal(e1000_receive(f->nic, frame, 0), -EINVAL);
    assert_int_equal(e1000_receive(f->nic, frame, 1600), -EINVAL); /* no LPE */
    for (unsigned i = 0; i < NDESC - 1; i++) {
        assert_int_equal(e1000_receive(f->nic, frame, 100), 0);
    }
    rd(f, ICR);
    assert_int_equal(e1000_receive(f->nic, frame, 100), -EAGAIN);  /* RDH == RDT */
    assert_true(rd(f, ICR) & ICR_RXDMT0);                           /* refill, driver */
    wr(f, RDT, 0);                                                   /* one more buffer */
    assert_int_equal(e1000_receive(f->nic, frame, 100), 0);
    assert_int_equal(rd(f, RDH), 0);
    wr(f, RCTL, rd(f, RCTL) & ~RCTL_EN);
    assert_int_equal(e1000_receive(f->nic, frame, 100), -EAGAIN);
    fix_free(f);
}

static void test_e1000__receive__frame_larger_than_buffer_spans_descriptors(void **state)
{
    Fix *f = fix_new();
    uint8_t frame[600];

    (void)state;
    bring_up(f, RCTL_BSIZE_256);
    fill_frame(frame, sizeof(frame), test_mac, 3);
    assert_int_equal(e1000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(rd(f, RDH), 3);                      /* 604 bytes in 256s */
    assert_int_equal(get16(f->ram + RX_RING + 8), 256);
    assert_int_equal(f->ram[RX_RING + 12], RXD_DD | 0x04);
    assert_int_equal(get16(f->ram + RX_RING + 32 + 8), 604 - 512);
    assert_int_equal(f->ram[RX_RING + 32 + 12], RXD_DD | RXD_EOP | 0x04);
    assert_memory_equal(f->ram + RX_BUF, frame, 256);
    assert_memory_equal(f->ram + RX_BUF + 2048, frame + 256, 256);
    assert_memory_equal(f->ram + RX_BUF + 4096, frame + 512, 88);
    fix_free(f);
}

static void test_e1000__dma_to_unmapped_iova__master_abort_and_iommu_fault(void **state)
{
    Fix *f = fix_new();
    uint8_t frame[100];
    IommuFault fault;

    (void)state;
    bring_up(f, 0);
    fill_frame(frame, sizeof(frame), test_mac, 0);
    /* Transmit buffer outside every mapping. */
    txd(f, 0, IOVA_UNMAPPED, 100 | (TXD_EOP | TXD_IFCS | TXD_RS) << 24, 0);
    wr(f, TDT, 1);
    assert_int_equal(f->nsent, 0);
    assert_int_equal(rd(f, TDH), 0);                      /* the chip stalls there */
    assert_true(pci_config_read(f->bus, NIC_DEVFN, PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT);
    assert_int_equal(iommu_fault_pop(f->mmu, &fault), 1);
    assert_int_equal(fault.iova, IOVA_UNMAPPED);
    assert_int_equal(fault.dir, IOMMU_DIR_READ);
    pci_config_write(f->bus, NIC_DEVFN, PCI_STATUS, PCI_STATUS_REC_MASTER_ABORT, 2);
    /* Receive buffer outside every mapping: the frame is lost. */
    put64(f->ram + RX_RING, IOVA_UNMAPPED + 0x1000);
    assert_int_equal(e1000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(rd(f, RDH), 0);
    assert_true(pci_config_read(f->bus, NIC_DEVFN, PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT);
    assert_int_equal(iommu_fault_pop(f->mmu, &fault), 1);
    assert_int_equal(fault.dir, IOMMU_DIR_WRITE);
    fix_free(f);
}

static void test_e1000__save_restore__round_trip_mid_traffic_continues_identically(void **state)
{
    Fix *a = fix_new(), *b = fix_new();
    size_t size = e1000_state_size();
    uint8_t *blob = malloc(size), *again = malloc(size);
    uint8_t frame[300];

    (void)state;
    bring_up(a, 0);
    for (unsigned i = 0; i < 5; i++) {
        fill_frame(frame, 100 + i, test_mac, i);
        send_one(a, i, frame, 100 + i);
        assert_int_equal(e1000_receive(a->nic, frame, 100 + i), 0);
    }
    wr(a, ICS, ICR_LSC);                                  /* an interrupt pending */
    e1000_state_save(a->nic, blob);
    memcpy(b->ram, a->ram, RAM_SIZE);
    e1000_state_restore(b->nic, blob);
    e1000_state_save(b->nic, again);
    assert_memory_equal(blob, again, size);
    assert_int_equal(b->irq_level, 1);
    assert_int_equal(rd(b, TDH), 5);
    assert_int_equal(rd(b, RDH), 5);
    for (unsigned i = 5; i < 9; i++) {
        fill_frame(frame, 200 + i, test_mac, i);
        send_one(a, i, frame, 200 + i);
        send_one(b, i, frame, 200 + i);
        assert_int_equal(e1000_receive(a->nic, frame, 200 + i), e1000_receive(b->nic, frame, 200 + i));
    }
    assert_int_equal(b->nsent, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(b->sent_len[i], a->sent_len[5 + i]);
        assert_memory_equal(b->sent[i], a->sent[5 + i], b->sent_len[i]);
    }
    e1000_state_save(a->nic, blob);
    e1000_state_save(b->nic, again);
    assert_memory_equal(blob, again, size);
    assert_memory_equal(a->ram, b->ram, RAM_SIZE);
    free(blob);
    free(again);
    fix_free(a);
    fix_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e1000__pci_config__identifies_an_82540em_with_mmio_and_io_bars),
        cmocka_unit_test(test_e1000__reset__no_link_until_slu_then_1000_full_and_lsc),
        cmocka_unit_test(test_e1000__eeprom__bitbanged_and_eerd_reads_give_mac_and_checksum),
        cmocka_unit_test(test_e1000__mdic__m88e1011_phy_with_link_and_power_down_drops_it),
        cmocka_unit_test(test_e1000__io_bar_reset__restores_registers_through_ioaddr_iodata),
        cmocka_unit_test(test_e1000__transmit__frames_60_to_1514_byte_exact_across_ring_wrap),
        cmocka_unit_test(test_e1000__transmit__packet_over_three_descriptors_waits_for_eop),
        cmocka_unit_test(test_e1000__transmit__short_frame_is_padded_with_psp),
        cmocka_unit_test(test_e1000__transmit__context_descriptor_inserts_udp_checksum),
        cmocka_unit_test(test_e1000__transmit__tso_cuts_tcp_segments_with_fixed_headers),
        cmocka_unit_test(test_e1000__receive__frames_byte_exact_with_fcs_across_ring_wrap),
        cmocka_unit_test(test_e1000__receive__secrc_strips_fcs_and_short_frames_are_padded),
        cmocka_unit_test(test_e1000__receive__address_filter_follows_ra_bam_upe_and_mta),
        cmocka_unit_test(test_e1000__receive__eagain_when_disabled_or_ring_full_einval_on_bad_size),
        cmocka_unit_test(test_e1000__receive__frame_larger_than_buffer_spans_descriptors),
        cmocka_unit_test(test_e1000__dma_to_unmapped_iova__master_abort_and_iommu_fault),
        cmocka_unit_test(test_e1000__save_restore__round_trip_mid_traffic_continues_identically),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
