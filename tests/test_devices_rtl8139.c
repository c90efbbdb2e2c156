/*
 * tests/test_devices_rtl8139.c: the RTL8139 model driven through the PCI
 * bus as a driver drives it (qtest style): firmware assigns resources, the
 * test enables decode and bus mastering and then only does port/memory
 * accesses; the rings live in a RAM buffer behind a real IOMMU, and what
 * the chip transmits is captured at its NetPort.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/pci.h"
#include "devices/rtl8139.h"
#include "iommu/dma_port.h"
#include "iommu/iommu.h"

#define NIC_DEVFN (3u << 3)
#define IO_BASE 0xc000u
#define MEM_BASE 0xfebf0000u
#define IRQ_BASE 10u
#define RID DMA_PORT_RID(0, NIC_DEVFN)

/* Guest memory: the rx ring (64K + 16 + 2K of slack, as 8139too allocates
 * for its largest ring) and four 1536-byte tx buffers, each at an IOVA of
 * its own. */
#define RAM_SIZE (1u << 20)
#define RX_IOVA 0x40000000u
#define RX_PHYS 0x10000u
#define RX_MAP (72u * 1024u)
#define TX_IOVA 0x50000000u
#define TX_PHYS 0x40000u
#define TX_BUF 1536u
#define TX_MAP (8u * 1024u)
#define UNMAPPED_IOVA 0x60000000u
#define MAX_CAPTURE 8

/* Register offsets as the datasheet and 8139too name them. */
#define R_IDR0 0x00
#define R_MAR0 0x08
#define R_TSD0 0x10
#define R_TSAD0 0x20
#define R_RBSTART 0x30
#define R_CR 0x37
#define R_CAPR 0x38
#define R_CBR 0x3a
#define R_IMR 0x3c
#define R_ISR 0x3e
#define R_TCR 0x40
#define R_RCR 0x44
#define R_TCTR 0x48
#define R_MPC 0x4c
#define R_9346 0x50
#define R_CONFIG1 0x52
#define R_TIMERINT 0x54
#define R_MSR 0x58
#define R_HLTCLK 0x5b
#define R_TSAD 0x60
#define R_BMCR 0x62
#define R_BMSR 0x64
#define R_ANAR 0x66
#define R_ANLPAR 0x68
#define R_ANER 0x6a
#define R_CSCR 0x74

#define CR_RST 0x10
#define CR_RE 0x08
#define CR_TE 0x04
#define CR_BUFE 0x01
#define INT_ROK 0x0001
#define INT_TOK 0x0004
#define INT_TER 0x0008
#define INT_RXOVW 0x0010
#define INT_TIMEOUT 0x4000
#define INT_SERR 0x8000
#define INTR_MASK_8139TOO 0xc07f       /* rtl8139_intr_mask */
#define TSD_OWN 0x2000
#define TSD_TOK 0x8000
#define TSD_TABT 0x40000000u
#define TSD_ERTXTH_256 0x00080000u     /* 8139too's tx_flag */

/* RxConfig as 8139too's rtl8139_hw_start programs it: 32K ring, WRAP (no
 * wrap at the end of the ring), no FIFO threshold, unlimited burst, AB|APM. */
#define RCR_AAP 0x01
#define RCR_APM 0x02
#define RCR_AM 0x04
#define RCR_AB 0x08
#define RCR_WRAP 0x80
#define RCR_8K 0x0000
#define RCR_32K 0x1000
#define RCR_8139TOO (RCR_32K | RCR_WRAP | 0xe000 | 0x0700 | RCR_AB | RCR_APM)
#define RXS_ROK 0x0001
#define RXS_BAR 0x2000
#define RXS_PAM 0x4000
#define RXS_MAR 0x8000
#define HW_REVID_MASK 0x7cc00000u       /* TCR bits 30:26 and 23:22 */

#define EE_PROGRAM 0x80
#define EE_CS 0x08
#define EE_SK 0x04
#define EE_DI 0x02
#define EE_DO 0x01

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

typedef struct Fixture {
    PciBus *bus;
    Rtl8139 *nic;
    int irq_level;
    int irq_line;
    int irq_calls;
    uint8_t *ram;
    Iommu *mmu;
    DmaPort port;
    /* What reached the wire, oldest first (the last MAX_CAPTURE frames). */
    uint8_t tx[MAX_CAPTURE][2048];
    size_t tx_len[MAX_CAPTURE];
    unsigned tx_count;
    unsigned cur_rx;                   /* the driver's read position */
} Fixture;

static void fixture_net_tx(void *opaque, const uint8_t *frame, size_t len)
{
    Fixture *f = opaque;
    unsigned i = f->tx_count++ % MAX_CAPTURE;

    assert_true(len <= sizeof(f->tx[0]));
    memcpy(f->tx[i], frame, len);
    f->tx_len[i] = len;
}

static void fixture_set_irq(void *opaque, int line, int level)
{
    Fixture *f = opaque;

    f->irq_line = line;
    f->irq_level = level;
    f->irq_calls++;
}

static Fixture *fixture_new_chip(uint8_t revision, Rtl8139Chip chip)
{
    Fixture *f = calloc(1, sizeof(*f));
    Rtl8139Config cfg = { .revision = revision, .chip = (uint8_t)chip };
    IommuConfig ic;

    assert_non_null(f);
    f->ram = calloc(1, RAM_SIZE);
    assert_non_null(f->ram);
    iommu_config_default(&ic, f->ram, RAM_SIZE);
    assert_int_equal(iommu_new(&ic, &f->mmu, NULL), 0);
    assert_int_equal(iommu_attach(f->mmu, RID, "rtl8139"), 0);
    assert_int_equal(iommu_map_range(f->mmu, RID, RX_IOVA, RX_PHYS, RX_MAP,
                                     IOMMU_PERM_READ | IOMMU_PERM_WRITE), 0);
    assert_int_equal(iommu_map_range(f->mmu, RID, TX_IOVA, TX_PHYS, TX_MAP,
                                     IOMMU_PERM_READ), 0);
    dma_port_init(&f->port, f->mmu, RID, DMA_PORT_TRANSLATED);
    memcpy(cfg.mac, test_mac, 6);
    cfg.irq = (IrqLine){ fixture_set_irq, f, 11 };
    cfg.dma = &f->port;
    cfg.net = (NetPort){ fixture_net_tx, f };
    f->irq_level = -1;
    f->bus = pci_bus_new();
    f->nic = rtl8139_new(f->bus, NIC_DEVFN, &cfg);
    assert_non_null(f->nic);
    pci_bus_assign_resources(f->bus, IO_BASE, MEM_BASE, IRQ_BASE);
    pci_config_write(f->bus, NIC_DEVFN, PCI_COMMAND,
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    return f;
}

static Fixture *fixture_new(uint8_t revision)
{
    return fixture_new_chip(revision, RTL8139_CHIP_8139);
}

static int setup(void **state)
{
    *state = fixture_new(0);
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;

    pci_bus_free(f->bus);
    rtl8139_free(f->nic);
    iommu_free(f->mmu);
    free(f->ram);
    free(f);
    return 0;
}

static uint32_t in(Fixture *f, unsigned reg, unsigned size)
{
    uint32_t v = 0;

    assert_int_equal(pci_bus_io_read(f->bus, IO_BASE + reg, size, &v), 0);
    return v;
}

static void out(Fixture *f, unsigned reg, uint32_t v, unsigned size)
{
    assert_int_equal(pci_bus_io_write(f->bus, IO_BASE + reg, size, v), 0);
}

/*
 * A 93C46 read, written from the EEPROM's protocol: select, start bit 1,
 * opcode 10, address MSB first (addr_bits of it), then read DO after each
 * rising clock edge.  Checks the dummy 0 that precedes D15.
 */
static void ee_pins(Fixture *f, int cs, int sk, int di)
{
    out(f, R_9346, EE_PROGRAM | (cs ? EE_CS : 0) | (sk ? EE_SK : 0) | (di ? EE_DI : 0), 1);
}

static void ee_send(Fixture *f, int bit)
{
    ee_pins(f, 1, 0, bit);
    ee_pins(f, 1, 1, bit);
}

static void ee_command(Fixture *f, unsigned opcode, unsigned addr, unsigned addr_bits)
{
    ee_pins(f, 0, 0, 0);
    ee_pins(f, 1, 0, 0);
    ee_send(f, 1);
    ee_send(f, opcode >> 1 & 1);
    ee_send(f, opcode & 1);
    for (int i = (int)addr_bits - 1; i >= 0; i--) {
        ee_send(f, addr >> i & 1);
    }
}

static void ee_end(Fixture *f)
{
    ee_pins(f, 0, 0, 0);
    out(f, R_9346, 0, 1);
}

static uint16_t ee_read(Fixture *f, unsigned addr)
{
    uint16_t v = 0;

    ee_command(f, 2, addr, 6);
    assert_int_equal(in(f, R_9346, 1) & EE_DO, 0);      /* the dummy 0 */
    for (int i = 0; i < 16; i++) {
        ee_pins(f, 1, 0, 0);
        ee_pins(f, 1, 1, 0);
        v = (uint16_t)(v << 1 | (in(f, R_9346, 1) & EE_DO));
    }
    ee_end(f);
    return v;
}

static void ee_write(Fixture *f, unsigned addr, uint16_t value)
{
    ee_command(f, 1, addr, 6);
    for (int i = 15; i >= 0; i--) {
        ee_send(f, value >> i & 1);
    }
    ee_pins(f, 0, 0, 0);
    ee_pins(f, 1, 0, 0);
    assert_int_equal(in(f, R_9346, 1) & EE_DO, EE_DO);  /* READY */
    ee_end(f);
}

static void ee_write_enable(Fixture *f, int enable)
{
    ee_command(f, 0, enable ? 0x30 : 0x00, 6);
    ee_end(f);
}

static void test_rtl8139__pci_config__identifies_a_plain_8139(void **state)
{
    Fixture *f = *state;

    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_VENDOR_ID, 4), 0x813910ec);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_REVISION_ID, 4), 0x02000010);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_INTERRUPT_LINE, 1),
                     IRQ_BASE + 3);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x10ec);
}

static void test_rtl8139__revision__comes_from_the_config(void **state)
{
    Fixture *f = fixture_new(0x20);

    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_REVISION_ID, 1), 0x20);
    teardown((void **)&f);
}

static void test_rtl8139__bars__size_as_256_bytes_io_and_memory(void **state)
{
    Fixture *f = *state;
    uint32_t bar0 = pci_config_read(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0, 4);
    uint32_t bar1 = pci_config_read(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0 + 4, 4);

    assert_int_equal(bar0, IO_BASE | 1);
    assert_int_equal(bar1, MEM_BASE);
    pci_config_write(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
    pci_config_write(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0, 4), 0xffffff01);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0 + 4, 4),
                     0xffffff00);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0 + 8, 4), 0);
}

static void test_rtl8139__io_and_memory_bars__decode_the_same_registers(void **state)
{
    Fixture *f = *state;
    uint32_t v = 0;

    out(f, R_RCR, 0x0000f00f, 4);
    assert_int_equal(pci_bus_mem_read(f->bus, MEM_BASE + R_RCR, 4, &v), 0);
    assert_int_equal(v, 0x0000f00f);
    assert_int_equal(pci_bus_mem_write(f->bus, MEM_BASE + R_IMR, 2, INT_ROK), 0);
    assert_int_equal(in(f, R_IMR, 2), INT_ROK);
}

static void test_rtl8139__tx_config__reports_the_rtl8139_hardware_version(void **state)
{
    Fixture *f = *state;

    assert_int_equal(in(f, R_TCR, 4) & HW_REVID_MASK, 0x40000000);
    /* Version bits are read-only; the DMA burst field is not. */
    out(f, R_TCR, 0x00000600, 4);
    assert_int_equal(in(f, R_TCR, 4), 0x40000600);
    out(f, R_TCR, 0, 4);
    assert_int_equal(in(f, R_TCR, 4), 0x40000000);
}

static void test_rtl8139__idr__holds_the_eeprom_mac_after_reset(void **state)
{
    Fixture *f = *state;

    for (int i = 0; i < 6; i++) {
        assert_int_equal(in(f, R_IDR0 + i, 1), test_mac[i]);
    }
    assert_int_equal(in(f, R_IDR0, 4), 0x12005452);
    assert_int_equal(in(f, R_IDR0 + 4, 2), 0x5634);
}

static void test_rtl8139__idr_write__needs_cfg9346_config_write_mode(void **state)
{
    Fixture *f = *state;

    out(f, R_IDR0, 0xaabbccdd, 4);
    assert_int_equal(in(f, R_IDR0, 4), 0x12005452);
    out(f, R_9346, 0xc0, 1);
    assert_int_equal(in(f, R_9346, 1), 0xc0);
    out(f, R_IDR0, 0xaabbccdd, 4);
    out(f, R_IDR0 + 4, 0x00001122, 4);
    out(f, R_9346, 0x00, 1);
    assert_int_equal(in(f, R_IDR0, 4), 0xaabbccdd);
    assert_int_equal(in(f, R_IDR0 + 4, 2), 0x1122);
    out(f, R_IDR0, 0, 4);
    assert_int_equal(in(f, R_IDR0, 4), 0xaabbccdd);
}

static void test_rtl8139__chipcmd_reset__clears_registers_and_self_clears(void **state)
{
    Fixture *f = *state;

    out(f, R_9346, 0xc0, 1);
    out(f, R_IDR0, 0x04030201, 4);
    out(f, R_9346, 0x00, 1);
    out(f, R_MAR0, 0xffffffff, 4);
    out(f, R_CR, CR_RE | CR_TE, 1);
    out(f, R_IMR, 0xffff, 2);
    out(f, R_RCR, 0x0000f00f, 4);
    out(f, R_TSAD0, 0x12345678, 4);
    out(f, R_CAPR, 0x1230, 2);
    assert_int_equal(in(f, R_CR, 1) & (CR_RE | CR_TE), CR_RE | CR_TE);
    assert_int_equal(in(f, R_IMR, 2), 0xe07f);

    out(f, R_CR, CR_RST, 1);
    assert_int_equal(in(f, R_CR, 1), CR_BUFE);          /* RST gone, ring empty */
    assert_int_equal(in(f, R_IMR, 2), 0);
    assert_int_equal(in(f, R_RCR, 4), 0);
    assert_int_equal(in(f, R_TSAD0, 4), 0);
    assert_int_equal(in(f, R_CAPR, 2), 0xfff0);
    assert_int_equal(in(f, R_CBR, 2), 0);
    assert_int_equal(in(f, R_TSD0, 4), TSD_OWN);
    assert_int_equal(in(f, R_TSAD, 2), 0x000f);
    assert_int_equal(in(f, R_TCR, 4), 0x40000000);
    /* The datasheet: a software reset leaves IDR0-5 and MAR0-7 alone. */
    assert_int_equal(in(f, R_IDR0, 4), 0x04030201);
    assert_int_equal(in(f, R_MAR0, 4), 0xffffffff);
}

static void test_rtl8139__cfg9346_autoload__reloads_idr_from_eeprom(void **state)
{
    Fixture *f = *state;

    out(f, R_9346, 0xc0, 1);
    out(f, R_IDR0, 0x04030201, 4);
    out(f, R_9346, 0x40, 1);
    assert_int_equal(in(f, R_9346, 1), 0x00);           /* back to normal */
    assert_int_equal(in(f, R_IDR0, 4), 0x12005452);
}

static void test_rtl8139__eeprom_bitbang__reads_signature_ids_and_mac(void **state)
{
    Fixture *f = *state;

    assert_int_equal(ee_read(f, 0), 0x8129);
    assert_int_equal(ee_read(f, 1), 0x10ec);
    assert_int_equal(ee_read(f, 2), 0x8139);
    assert_int_equal(ee_read(f, 7), 0x5452);
    assert_int_equal(ee_read(f, 8), 0x1200);
    assert_int_equal(ee_read(f, 9), 0x5634);
    assert_int_equal(in(f, R_9346, 1), 0);
}

/* 8139too sizes the EEPROM by reading word 0 with 8 address bits: a 93C46
 * takes the last two as data clocks, so the answer is NOT the signature. */
static void test_rtl8139__eeprom_read_with_8_address_bits__misses_the_signature(void **state)
{
    Fixture *f = *state;
    uint16_t v = 0;

    ee_pins(f, 0, 0, 0);
    ee_pins(f, 1, 0, 0);
    ee_send(f, 0);                                      /* leading zeros are */
    ee_send(f, 0);                                      /* ignored before start */
    ee_send(f, 1);
    ee_send(f, 1);
    ee_send(f, 0);
    for (int i = 0; i < 8; i++) {
        ee_send(f, 0);
    }
    for (int i = 0; i < 16; i++) {
        ee_pins(f, 1, 0, 0);
        ee_pins(f, 1, 1, 0);
        v = (uint16_t)(v << 1 | (in(f, R_9346, 1) & EE_DO));
    }
    ee_end(f);
    assert_int_not_equal(v, 0x8129);
    assert_int_equal(v, (uint16_t)(0x8129 << 2) | (0x10ec >> 14));
}

static void test_rtl8139__eeprom_write__needs_ewen_and_then_reads_back(void **state)
{
    Fixture *f = *state;

    ee_write(f, 0x3f, 0xbeef);
    assert_int_equal(ee_read(f, 0x3f), 0x0000);
    ee_write_enable(f, 1);
    ee_write(f, 0x3f, 0xbeef);
    ee_write_enable(f, 0);
    assert_int_equal(ee_read(f, 0x3f), 0xbeef);
    ee_write(f, 0x3f, 0x1234);
    assert_int_equal(ee_read(f, 0x3f), 0xbeef);
}

static void test_rtl8139__isr__is_write_one_to_clear_and_irq_follows_mask(void **state)
{
    Fixture *f = *state;

    /* A fetch from an IOVA the IOMMU does not map ends in a master abort. */
    out(f, R_CR, CR_TE, 1);
    out(f, R_TSAD0, UNMAPPED_IOVA, 4);
    out(f, R_TSD0, 60, 4);
    assert_int_equal(in(f, R_TSD0, 4), TSD_TABT | TSD_OWN | 60);
    assert_int_equal(in(f, R_TSAD, 2), 0x001f);
    assert_int_equal(in(f, R_ISR, 2), INT_TER | INT_SERR);
    assert_int_equal(iommu_fault_count(f->mmu), 1);
    assert_int_equal(f->tx_count, 0);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_STATUS, 2) &
                     PCI_STATUS_REC_MASTER_ABORT, PCI_STATUS_REC_MASTER_ABORT);
    assert_int_equal(f->irq_level, 0);                  /* masked */

    out(f, R_IMR, INT_ROK, 2);
    assert_int_equal(f->irq_level, 0);
    out(f, R_IMR, INT_ROK | INT_TER, 2);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(f->irq_line, 11);

    out(f, R_ISR, INT_ROK, 2);                          /* other bits: no effect */
    assert_int_equal(in(f, R_ISR, 2), INT_TER | INT_SERR);
    assert_int_equal(f->irq_level, 1);
    out(f, R_ISR, INT_TER, 2);
    assert_int_equal(in(f, R_ISR, 2), INT_SERR);
    assert_int_equal(f->irq_level, 0);                  /* SERR is masked */
    out(f, R_ISR, INT_SERR, 2);
    assert_int_equal(in(f, R_ISR, 2), 0);
}

static void test_rtl8139__tsd_write__waits_for_transmit_enable(void **state)
{
    Fixture *f = *state;

    out(f, R_TSAD0, TX_IOVA, 4);
    out(f, R_TSD0, 100, 4);
    assert_int_equal(in(f, R_TSD0, 4), 100);            /* owned by the chip */
    assert_int_equal(in(f, R_ISR, 2), 0);
    assert_int_equal(f->tx_count, 0);
    out(f, R_IMR, INT_TOK, 2);
    assert_int_equal(f->irq_level, 0);
    out(f, R_CR, CR_TE, 1);
    assert_int_equal(in(f, R_ISR, 2), INT_TOK);
    assert_int_equal(f->irq_level, 1);                  /* raised by the CR write */
    assert_int_equal(in(f, R_TSD0, 4), TSD_TOK | TSD_OWN | 100);
    assert_int_equal(f->tx_count, 1);
}

static void test_rtl8139__mii_registers__show_link_up_100_full_duplex(void **state)
{
    Fixture *f = *state;
    uint16_t bmsr = (uint16_t)in(f, R_BMSR, 2);

    assert_int_equal(bmsr & 0x0004, 0x0004);            /* link up */
    assert_int_equal(bmsr & 0x0020, 0x0020);            /* autoneg complete */
    assert_int_equal(bmsr & 0x4000, 0x4000);            /* 100BASE-TX FD */
    assert_int_equal(in(f, R_BMCR, 2) & 0x1000, 0x1000);
    assert_int_equal(in(f, R_ANAR, 2), 0x01e1);
    assert_int_equal(in(f, R_ANLPAR, 2) & 0x0100, 0x0100);
    assert_int_equal(in(f, R_ANER, 2) & 1, 1);
    assert_int_equal(in(f, R_MSR, 1) & 0x0c, 0);        /* link OK, 100 Mb/s */
    out(f, R_BMCR, 0x8000, 2);                          /* PHY reset */
    assert_int_equal(in(f, R_BMCR, 2) & 0x8000, 0);
    out(f, R_BMSR, 0, 2);
    assert_int_equal(in(f, R_BMSR, 2), bmsr);
}

static void test_rtl8139__unknown_offsets__read_zero_and_ignore_writes(void **state)
{
    Fixture *f = *state;

    out(f, 0x6c, 0xffffffff, 4);
    assert_int_equal(in(f, 0x6c, 4), 0);
    for (unsigned off = 0x80; off < 0x100; off += 4) {
        out(f, off, 0xffffffff, 4);
        assert_int_equal(in(f, off, 4), 0);
    }
    out(f, 0x06, 0xffff, 2);
    assert_int_equal(in(f, 0x06, 2), 0);
}

static void test_rtl8139__state_restore__gives_identical_register_reads(void **state)
{
    Fixture *f = *state;
    size_t n = rtl8139_state_size();
    uint8_t *blob = malloc(n);
    uint8_t before[256];
    uint16_t word;

    out(f, R_MAR0, 0x11223344, 4);
    out(f, R_RBSTART, 0x00100000, 4);
    out(f, R_RCR, 0x0000070f, 4);
    out(f, R_CAPR, 0x0100, 2);
    out(f, R_IMR, INT_TER, 2);
    out(f, R_CR, CR_RE | CR_TE, 1);
    out(f, R_TSD0, 42, 4);                              /* IOVA 0 unmapped: TER */
    out(f, R_HLTCLK, 'R', 1);
    assert_int_equal(f->irq_level, 1);
    /* Stop half-way through an EEPROM read of word 9. */
    ee_command(f, 2, 9, 6);
    for (unsigned off = 0; off < 256; off++) {
        if (off != R_9346) {
            before[off] = (uint8_t)in(f, off, 1);
        }
    }
    rtl8139_state_save(f->nic, blob);

    out(f, R_CR, CR_RST, 1);
    out(f, R_MAR0, 0, 4);
    out(f, R_9346, 0x40, 1);
    assert_int_equal(f->irq_level, 0);

    rtl8139_state_restore(f->nic, blob);
    assert_int_equal(f->irq_level, 1);
    for (unsigned off = 0; off < 256; off++) {
        if (off != R_9346) {
            assert_int_equal(in(f, off, 1), before[off]);
        }
    }
    word = 0;
    for (int i = 0; i < 16; i++) {                      /* finish the read */
        ee_pins(f, 1, 0, 0);
        ee_pins(f, 1, 1, 0);
        word = (uint16_t)(word << 1 | (in(f, R_9346, 1) & EE_DO));
    }
    ee_end(f);
    assert_int_equal(word, 0x5634);
    free(blob);
}

/* --- transmit and receive through the IOMMU ------------------------------ */

static const uint8_t other_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast_all_hosts[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t mcast_mdns[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };

/* IEEE 802.3 CRC-32, one bit at a time (independent of the model's table). */
static uint32_t ref_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++) {
            c = (c >> 1) ^ (c & 1 ? 0xedb88320u : 0);
        }
    }
    return ~c;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What 8139too's rtl8139_hw_start() does, in its order. */
static void nic_open(Fixture *f, uint32_t rcr)
{
    out(f, R_HLTCLK, 'R', 1);
    out(f, R_CR, CR_RST, 1);
    assert_int_equal(in(f, R_CR, 1) & CR_RST, 0);
    out(f, R_9346, 0xc0, 1);
    out(f, R_RBSTART, RX_IOVA, 4);
    out(f, R_CR, CR_RE | CR_TE, 1);
    out(f, R_RCR, rcr, 4);
    out(f, R_TCR, 0x03000680, 4);
    out(f, R_9346, 0x00, 1);
    for (unsigned i = 0; i < 4; i++) {
        out(f, R_TSAD0 + 4 * i, TX_IOVA + i * TX_BUF, 4);
    }
    out(f, R_MPC, 0, 4);
    out(f, R_IMR, INTR_MASK_8139TOO, 2);
    f->cur_rx = 0;
}

static void make_frame(uint8_t *buf, size_t len, const uint8_t dst[6], unsigned seed)
{
    memcpy(buf, dst, 6);
    memcpy(buf + 6, other_mac, 6);
    for (size_t i = 12; i < len; i++) {
        buf[i] = (uint8_t)(seed * 31 + i * 7);
    }
}

/* The driver's transmit: copy into the slot's bounce buffer, write TSD. */
static void drv_tx(Fixture *f, unsigned slot, const uint8_t *frame, size_t len)
{
    memcpy(f->ram + TX_PHYS + slot * TX_BUF, frame, len);
    out(f, R_TSD0 + 4 * slot, TSD_ERTXTH_256 | (uint32_t)len, 4);
}

/* The driver's rtl8139_rx() for one packet of a WRAP ring: 0 when the chip
 * says the ring is empty, else the frame length (FCS checked, stripped). */
static size_t drv_rx(Fixture *f, unsigned ring_len, uint8_t *frame, uint16_t *status)
{
    const uint8_t *p;
    uint32_t hdr;
    size_t size;

    if (in(f, R_CR, 1) & CR_BUFE) {
        return 0;
    }
    p = f->ram + RX_PHYS + f->cur_rx % ring_len;
    hdr = le32(p);
    size = hdr >> 16;
    assert_true(size >= 64 && size <= 1518);
    assert_int_equal(le32(p + 4 + size - 4), ref_crc32(p + 4, size - 4));
    memcpy(frame, p + 4, size - 4);
    *status = (uint16_t)hdr;
    f->cur_rx = (f->cur_rx + (unsigned)size + 4 + 3) & ~3u;
    out(f, R_CAPR, (uint16_t)(f->cur_rx - 16), 2);
    out(f, R_ISR, INT_ROK | INT_RXOVW | 0x40, 2);
    return size - 4;
}

static void test_rtl8139__transmit_60_to_1514__reaches_the_port_byte_exact(void **state)
{
    Fixture *f = *state;
    uint8_t frame[1514];

    nic_open(f, RCR_8139TOO);
    for (size_t len = 60; len <= 1514; len++) {
        unsigned slot = (unsigned)(len - 60) % 4;
        unsigned last = f->tx_count % MAX_CAPTURE;

        make_frame(frame, len, other_mac, (unsigned)len);
        drv_tx(f, slot, frame, len);
        assert_int_equal(in(f, R_TSD0 + 4 * slot, 4),
                         TSD_TOK | TSD_OWN | TSD_ERTXTH_256 | len);
        assert_int_equal(in(f, R_ISR, 2), INT_TOK);
        assert_int_equal(f->irq_level, 1);
        assert_int_equal(f->tx_len[last], len);
        assert_memory_equal(f->tx[last], frame, len);
        out(f, R_ISR, INT_TOK, 2);
        assert_int_equal(f->irq_level, 0);
    }
    assert_int_equal(f->tx_count, 1514 - 60 + 1);
    assert_int_equal(in(f, R_TSAD, 2), 0xf00f);         /* all TOK, all OWN */
    assert_int_equal(iommu_fault_count(f->mmu), 0);
}

static void test_rtl8139__transmit__serves_descriptors_in_ring_order(void **state)
{
    Fixture *f = *state;
    uint8_t a[60], b[80];

    nic_open(f, RCR_8139TOO);
    make_frame(a, sizeof(a), other_mac, 1);
    make_frame(b, sizeof(b), other_mac, 2);
    drv_tx(f, 1, b, sizeof(b));
    assert_int_equal(f->tx_count, 0);                   /* waits for slot 0 */
    assert_int_equal(in(f, R_TSD0 + 4, 4) & (TSD_OWN | TSD_TOK), 0);
    drv_tx(f, 0, a, sizeof(a));
    assert_int_equal(f->tx_count, 2);
    assert_int_equal(f->tx_len[0], sizeof(a));
    assert_memory_equal(f->tx[0], a, sizeof(a));
    assert_int_equal(f->tx_len[1], sizeof(b));
    assert_memory_equal(f->tx[1], b, sizeof(b));
    assert_int_equal(in(f, R_TSAD, 2), 0x300f);
}

static void test_rtl8139__transmit_with_tcr_crc__strips_the_drivers_fcs(void **state)
{
    Fixture *f = *state;
    uint8_t frame[64];
    uint32_t fcs;

    nic_open(f, RCR_8139TOO);
    out(f, R_TCR, 0x03010680, 4);                       /* CRC: no append */
    make_frame(frame, 60, other_mac, 3);
    fcs = ref_crc32(frame, 60);
    for (int i = 0; i < 4; i++) {
        frame[60 + i] = (uint8_t)(fcs >> (8 * i));
    }
    drv_tx(f, 0, frame, sizeof(frame));
    assert_int_equal(f->tx_count, 1);
    assert_int_equal(f->tx_len[0], 60);
    assert_memory_equal(f->tx[0], frame, 60);
}

static void test_rtl8139__receive__writes_header_frame_and_fcs_into_the_ring(void **state)
{
    Fixture *f = *state;
    uint8_t frame[100];
    const uint8_t *ring = f->ram + RX_PHYS;

    nic_open(f, RCR_8139TOO);
    assert_int_equal(in(f, R_CR, 1), CR_RE | CR_TE | CR_BUFE);
    make_frame(frame, sizeof(frame), test_mac, 7);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(le32(ring), (104u << 16) | RXS_PAM | RXS_ROK);
    assert_memory_equal(ring + 4, frame, sizeof(frame));
    assert_int_equal(le32(ring + 104), ref_crc32(frame, sizeof(frame)));
    assert_int_equal(in(f, R_CBR, 2), 108);             /* 4 + 104, 32-bit aligned */
    assert_int_equal(in(f, R_CR, 1), CR_RE | CR_TE);    /* BUFE clear */
    assert_int_equal(in(f, R_ISR, 2), INT_ROK);
    assert_int_equal(f->irq_level, 1);

    /* The driver reads it, moves CAPR to its read position - 16, acks. */
    out(f, R_CAPR, 108 - 16, 2);
    out(f, R_ISR, INT_ROK, 2);
    assert_int_equal(in(f, R_CR, 1), CR_RE | CR_TE | CR_BUFE);
    assert_int_equal(f->irq_level, 0);
}

static void test_rtl8139__receive_short_frame__pads_it_to_60_bytes(void **state)
{
    Fixture *f = *state;
    uint8_t frame[42], got[1514];
    uint16_t status;

    nic_open(f, RCR_8139TOO);
    make_frame(frame, sizeof(frame), bcast_mac, 9);     /* an ARP request */
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(drv_rx(f, 32768, got, &status), 60);
    assert_int_equal(status, RXS_BAR | RXS_ROK);
    assert_memory_equal(got, frame, sizeof(frame));
    for (size_t i = sizeof(frame); i < 60; i++) {
        assert_int_equal(got[i], 0);
    }
}

/* 8139too's own ring (32K, WRAP): a thousand frames go round it ~25 times. */
static void test_rtl8139__receive_60_to_1514__round_trips_through_the_driver_loop(void **state)
{
    Fixture *f = *state;
    uint8_t frame[1514], got[1514];
    uint16_t status;
    unsigned wrapped = 0;

    nic_open(f, RCR_8139TOO);
    for (unsigned i = 0; i < 1000; i++) {
        size_t len = 60 + (i * 397) % (1514 - 60 + 1);
        unsigned before = f->cur_rx % 32768;

        make_frame(frame, len, test_mac, i);
        assert_int_equal(rtl8139_receive(f->nic, frame, len), 0);
        if (i % 3 == 2) {
            continue;                                   /* let a few queue up */
        }
        while (f->cur_rx % 32768 != in(f, R_CBR, 2)) {
            size_t n = drv_rx(f, 32768, got, &status);

            assert_true(n >= 60);
            assert_int_equal(status, RXS_PAM | RXS_ROK);
        }
        assert_memory_equal(got, frame, len);
        wrapped += f->cur_rx % 32768 < before;
    }
    assert_true(wrapped >= 20);
    assert_int_equal(in(f, R_CR, 1) & CR_BUFE, CR_BUFE);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
}

/* Fills and drains an 8K ring until the chip's write position is at pos. */
static void rx_move_to(Fixture *f, unsigned pos)
{
    uint8_t frame[1514], got[1514];
    uint16_t status;

    while (in(f, R_CBR, 2) != pos) {
        unsigned cbr = in(f, R_CBR, 2);
        unsigned gap = (pos - cbr) & 8191;
        size_t len = gap >= 1522 + 64 ? 1514 : gap - 8 - 64 < 1514 && gap >= 72 ? gap - 8 : 60;

        make_frame(frame, len, test_mac, cbr);
        assert_int_equal(rtl8139_receive(f->nic, frame, len), 0);
        assert_true(drv_rx(f, 8192, got, &status) > 0);
    }
}

static void test_rtl8139__receive_without_wrap__continues_at_the_top_of_the_ring(void **state)
{
    Fixture *f = *state;
    uint8_t frame[200];
    const uint8_t *ring = f->ram + RX_PHYS;

    nic_open(f, RCR_8K | RCR_AB | RCR_APM);             /* WRAP = 0 */
    rx_move_to(f, 8192 - 96);
    memset(f->ram + RX_PHYS + 8192, 0xee, 256);         /* the slack beyond */
    make_frame(frame, sizeof(frame), test_mac, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(le32(ring + 8192 - 96), (204u << 16) | RXS_PAM | RXS_ROK);
    assert_memory_equal(ring + 8192 - 92, frame, 92);
    assert_memory_equal(ring, frame + 92, sizeof(frame) - 92);
    assert_int_equal(le32(ring + sizeof(frame) - 92), ref_crc32(frame, sizeof(frame)));
    assert_int_equal(ring[8192], 0xee);                 /* nothing past the end */
    assert_int_equal(in(f, R_CBR, 2), (8192 - 96 + 208) % 8192);
}

static void test_rtl8139__receive_with_wrap__runs_on_past_the_end(void **state)
{
    Fixture *f = *state;
    uint8_t frame[200], got[1514];
    uint16_t status;
    const uint8_t *ring = f->ram + RX_PHYS;

    nic_open(f, RCR_8K | RCR_WRAP | RCR_AB | RCR_APM);
    rx_move_to(f, 8192 - 96);
    memset(f->ram + RX_PHYS, 0xee, 256);                /* the top of the ring */
    make_frame(frame, sizeof(frame), test_mac, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    assert_memory_equal(ring + 8192 - 92, frame, sizeof(frame));
    assert_int_equal(ring[0], 0xee);
    /* The next frame starts where the spill ended, taken modulo 8K. */
    assert_int_equal(in(f, R_CBR, 2), 208 - 96);
    assert_int_equal(drv_rx(f, 8192, got, &status), sizeof(frame));
    assert_memory_equal(got, frame, sizeof(frame));
    make_frame(frame, 60, test_mac, 2);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    assert_int_equal(le32(ring + 208 - 96) >> 16, 64);
}

static void test_rtl8139__receive_into_full_ring__overflows_and_says_eagain(void **state)
{
    Fixture *f = *state;
    uint8_t frame[1514], got[1514];
    uint16_t status;
    unsigned accepted = 0, cbr;

    nic_open(f, RCR_8K | RCR_WRAP | RCR_AB | RCR_APM);
    make_frame(frame, sizeof(frame), test_mac, 5);
    while (rtl8139_receive(f->nic, frame, sizeof(frame)) == 0) {
        accepted++;
        assert_true(accepted < 8);
    }
    assert_int_equal(accepted, 5);                      /* 5 * 1524 < 8192 - 4 */
    cbr = in(f, R_CBR, 2);
    assert_int_equal(cbr, 5 * 1524);
    assert_int_equal(in(f, R_ISR, 2), INT_ROK | INT_RXOVW);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), -EAGAIN);
    assert_int_equal(in(f, R_CBR, 2), cbr);
    assert_int_equal(in(f, R_MPC, 4), 0);               /* deferred, not lost */
    /* 572 bytes are left: a frame taking all of them would bring CBR onto
     * the read position, which means "empty", so the chip stops 4 short. */
    assert_int_equal(rtl8139_receive(f->nic, frame, 564), -EAGAIN);
    assert_int_equal(rtl8139_receive(f->nic, frame, 560), 0);
    assert_int_equal(in(f, R_CBR, 2), 8188);
    assert_int_equal(in(f, R_CR, 1) & CR_BUFE, 0);

    assert_int_equal(drv_rx(f, 8192, got, &status), sizeof(frame));
    out(f, R_ISR, INT_RXOVW, 2);
    assert_int_equal(in(f, R_ISR, 2), 0);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    for (unsigned i = 0; i < 6; i++) {
        size_t want = i == 4 ? 560 : sizeof(frame);

        assert_int_equal(drv_rx(f, 8192, got, &status), want);
        assert_memory_equal(got, frame, want);
    }
    assert_int_equal(drv_rx(f, 8192, got, &status), 0);
}

static void test_rtl8139__receive_disabled_or_bad_size__is_refused(void **state)
{
    Fixture *f = *state;
    uint8_t frame[1515];

    make_frame(frame, sizeof(frame), test_mac, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), -EAGAIN);    /* reset: RE off */
    nic_open(f, RCR_8139TOO);
    assert_int_equal(rtl8139_receive(f->nic, frame, 13), -EINVAL);
    assert_int_equal(rtl8139_receive(f->nic, frame, 1515), -EINVAL);
    out(f, R_CR, CR_TE, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), -EAGAIN);
    assert_int_equal(in(f, R_CBR, 2), 0);
    assert_int_equal(in(f, R_ISR, 2), 0);
}

static void test_rtl8139__receiver_stop__resets_the_ring_pointers(void **state)
{
    Fixture *f = *state;
    uint8_t frame[100];

    nic_open(f, RCR_8139TOO);
    make_frame(frame, sizeof(frame), test_mac, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    out(f, R_CAPR, 108 - 16, 2);
    /* 8139too's rtl8139_rx_err(): RE off, RE on, RxConfig, cur_rx = 0. */
    out(f, R_CR, CR_TE, 1);
    out(f, R_CR, CR_RE | CR_TE, 1);
    out(f, R_RCR, RCR_8139TOO, 4);
    assert_int_equal(in(f, R_CBR, 2), 0);
    assert_int_equal(in(f, R_CAPR, 2), 0xfff0);
    assert_int_equal(in(f, R_CR, 1) & CR_BUFE, CR_BUFE);
    memset(f->ram + RX_PHYS, 0, 256);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(le32(f->ram + RX_PHYS) >> 16, 104);
}

static void test_rtl8139__address_filter__follows_rcr_and_the_multicast_hash(void **state)
{
    Fixture *f = *state;
    uint8_t frame[60];
    const uint8_t *ring = f->ram + RX_PHYS;

    nic_open(f, RCR_8139TOO & ~RCR_AB);
    make_frame(frame, 60, other_mac, 1);                /* not ours */
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    make_frame(frame, 60, bcast_mac, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    make_frame(frame, 60, mcast_all_hosts, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    assert_int_equal(in(f, R_CBR, 2), 0);               /* all dropped */
    assert_int_equal(in(f, R_ISR, 2), 0);

    out(f, R_RCR, RCR_8139TOO | RCR_AAP | RCR_AM, 4);
    make_frame(frame, 60, other_mac, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    assert_int_equal(le32(ring), (64u << 16) | RXS_ROK);
    make_frame(frame, 60, bcast_mac, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    assert_int_equal(le32(ring + 68), (64u << 16) | RXS_BAR | RXS_ROK);

    /* ether_crc(01:00:5e:00:00:01) >> 26 == 31: MAR3 bit 7; mDNS's is 15. */
    make_frame(frame, 60, mcast_all_hosts, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    assert_int_equal(in(f, R_CBR, 2), 136);             /* empty hash: dropped */
    out(f, R_MAR0, 0x80000000u, 4);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    assert_int_equal(le32(ring + 136), (64u << 16) | RXS_MAR | RXS_ROK);
    make_frame(frame, 60, mcast_mdns, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    assert_int_equal(in(f, R_CBR, 2), 204);             /* bit 15 not set */
    out(f, R_MAR0, 0x00008000u, 4);
    assert_int_equal(rtl8139_receive(f->nic, frame, 60), 0);
    assert_int_equal(in(f, R_CBR, 2), 272);
}

static void test_rtl8139__rx_dma_to_unmapped_ring__aborts_with_serr_and_a_fault(void **state)
{
    Fixture *f = *state;
    uint8_t frame[100];
    IommuFault fault;

    nic_open(f, RCR_8139TOO);
    out(f, R_RBSTART, UNMAPPED_IOVA, 4);
    make_frame(frame, sizeof(frame), test_mac, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), -EFAULT);
    assert_int_equal(in(f, R_ISR, 2), INT_SERR);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(in(f, R_CBR, 2), 0);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_STATUS, 2) &
                     PCI_STATUS_REC_MASTER_ABORT, PCI_STATUS_REC_MASTER_ABORT);
    assert_int_equal(iommu_fault_count(f->mmu), 1);
    assert_int_equal(iommu_fault_pop(f->mmu, &fault), 1);
    assert_int_equal(fault.iova, UNMAPPED_IOVA);
}

static void test_rtl8139__dma_without_bus_mastering__aborts_before_the_iommu(void **state)
{
    Fixture *f = *state;
    uint8_t frame[100];

    nic_open(f, RCR_8139TOO);
    pci_config_write(f->bus, NIC_DEVFN, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    make_frame(frame, sizeof(frame), test_mac, 1);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), -EFAULT);
    drv_tx(f, 0, frame, sizeof(frame));
    assert_int_equal(in(f, R_TSD0, 4) & (TSD_TABT | TSD_TOK), TSD_TABT);
    assert_int_equal(in(f, R_ISR, 2), INT_SERR | INT_TER);
    assert_int_equal(f->tx_count, 0);
    assert_int_equal(iommu_fault_count(f->mmu), 0);

    pci_config_write(f->bus, NIC_DEVFN, PCI_COMMAND,
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    drv_tx(f, 1, frame, sizeof(frame));
    assert_int_equal(f->tx_count, 1);
}

static void test_rtl8139__timer__counts_pci_clocks_and_raises_timeout(void **state)
{
    Fixture *f = *state;

    out(f, R_IMR, INT_TIMEOUT, 2);
    assert_int_equal(rtl8139_next_deadline_ns(f->nic), UINT64_MAX);
    rtl8139_advance(f->nic, 1000000);                   /* 1 ms */
    assert_int_equal(in(f, R_TCTR, 4), 33000);
    rtl8139_advance(f->nic, 500000);                    /* time never goes back */
    assert_int_equal(in(f, R_TCTR, 4), 33000);
    out(f, R_TCTR, 0, 4);                               /* restart */
    assert_int_equal(in(f, R_TCTR, 4), 0);
    out(f, R_TIMERINT, 66000, 4);
    assert_int_equal(rtl8139_next_deadline_ns(f->nic), 3000000);
    rtl8139_advance(f->nic, 2999999);
    assert_int_equal(in(f, R_ISR, 2), 0);
    assert_int_equal(f->irq_level, 0);
    rtl8139_advance(f->nic, 3000000);
    assert_int_equal(in(f, R_ISR, 2), INT_TIMEOUT);
    assert_int_equal(f->irq_level, 1);
    out(f, R_ISR, INT_TIMEOUT, 2);
    /* Next match after the 32-bit counter wraps: 2^32 clocks later. */
    assert_int_equal(rtl8139_next_deadline_ns(f->nic),
                     1000000 + ((66000ull + (1ull << 32)) * 1000000000ull + 32999999) / 33000000);
    out(f, R_TIMERINT, 0, 4);
    rtl8139_advance(f->nic, 400000000000ull);
    assert_int_equal(in(f, R_ISR, 2), 0);
}

static void test_rtl8139__chip_8139k__reports_rev_k_and_a_short_linked_cable(void **state)
{
    Fixture *f = fixture_new_chip(0, RTL8139_CHIP_8139K);
    uint16_t cscr;

    (void)state;
    assert_int_equal(in(f, R_TCR, 4) & HW_REVID_MASK, 0x60000000);
    /* 8139too's rtl8139_tune_twister(): LinkOK, then the cable length. */
    cscr = (uint16_t)in(f, R_CSCR, 2);
    assert_int_equal(cscr & 0x0400, 0x0400);
    out(f, R_CSCR, 0x03c0, 2);                          /* CSCR_LinkDownOffCmd */
    cscr = (uint16_t)in(f, R_CSCR, 2);
    assert_int_equal(cscr & 0xf000, 0);
    assert_int_equal(cscr & 0x0800, 0);                 /* no link change */
    assert_int_equal(cscr & 0x03c0, 0x03c0);
    out(f, 0x7c, 0xcb39de43, 4);                        /* PARA7c */
    assert_int_equal(in(f, 0x7c, 4), 0xcb39de43);
    teardown((void **)&f);
}

static void test_rtl8139__state_restore_mid_traffic__replays_identically(void **state)
{
    Fixture *f = *state;
    size_t n = rtl8139_state_size();
    uint8_t *blob = malloc(n), *ram = malloc(RAM_SIZE);
    uint8_t frame[700], got[1514], before[256];
    uint16_t status;
    unsigned cur_rx;

    assert_non_null(blob);
    assert_non_null(ram);
    nic_open(f, RCR_8139TOO);
    out(f, R_TIMERINT, 1000000, 4);
    rtl8139_advance(f->nic, 12345);
    for (unsigned i = 0; i < 3; i++) {
        make_frame(frame, sizeof(frame), test_mac, i);
        assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    }
    assert_int_equal(drv_rx(f, 32768, got, &status), sizeof(frame));
    drv_tx(f, 0, frame, 60);
    for (unsigned off = 0; off < 256; off++) {
        before[off] = (uint8_t)in(f, off, 1);
    }
    rtl8139_state_save(f->nic, blob);
    memcpy(ram, f->ram, RAM_SIZE);
    cur_rx = f->cur_rx;

    /* More traffic, a reset and time, all of which the restore undoes. */
    make_frame(frame, sizeof(frame), test_mac, 9);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    drv_tx(f, 1, frame, 60);
    rtl8139_advance(f->nic, 99999999);
    out(f, R_CR, CR_RST, 1);

    rtl8139_state_restore(f->nic, blob);
    memcpy(f->ram, ram, RAM_SIZE);
    f->cur_rx = cur_rx;
    for (unsigned off = 0; off < 256; off++) {
        assert_int_equal(in(f, off, 1), before[off]);
    }
    assert_int_equal(f->irq_level, 1);
    /* The ring carries on where it was: two queued frames, then a new one. */
    make_frame(frame, sizeof(frame), test_mac, 3);
    assert_int_equal(rtl8139_receive(f->nic, frame, sizeof(frame)), 0);
    for (unsigned i = 1; i < 4; i++) {
        assert_int_equal(drv_rx(f, 32768, got, &status), sizeof(frame));
        make_frame(frame, sizeof(frame), test_mac, i);
        assert_memory_equal(got, frame, sizeof(frame));
    }
    assert_int_equal(drv_rx(f, 32768, got, &status), 0);
    /* The transmitter serves slot 1 next, as it would have. */
    drv_tx(f, 1, frame, 60);
    assert_int_equal(in(f, R_TSD0 + 4, 4) & TSD_TOK, TSD_TOK);
    /* And the timer counts from the saved time. */
    assert_int_equal(rtl8139_next_deadline_ns(f->nic),
                     12345 - 12345 + (1000000ull * 1000000000ull + 32999999) / 33000000);
    free(ram);
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rtl8139__pci_config__identifies_a_plain_8139, setup, teardown),
        cmocka_unit_test(test_rtl8139__revision__comes_from_the_config),
        cmocka_unit_test_setup_teardown(test_rtl8139__bars__size_as_256_bytes_io_and_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__io_and_memory_bars__decode_the_same_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__tx_config__reports_the_rtl8139_hardware_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__idr__holds_the_eeprom_mac_after_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__idr_write__needs_cfg9346_config_write_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__chipcmd_reset__clears_registers_and_self_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__cfg9346_autoload__reloads_idr_from_eeprom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__eeprom_bitbang__reads_signature_ids_and_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__eeprom_read_with_8_address_bits__misses_the_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__eeprom_write__needs_ewen_and_then_reads_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__isr__is_write_one_to_clear_and_irq_follows_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__tsd_write__waits_for_transmit_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__mii_registers__show_link_up_100_full_duplex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__unknown_offsets__read_zero_and_ignore_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__state_restore__gives_identical_register_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__transmit_60_to_1514__reaches_the_port_byte_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__transmit__serves_descriptors_in_ring_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__transmit_with_tcr_crc__strips_the_drivers_fcs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__receive__writes_header_frame_and_fcs_into_the_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__receive_short_frame__pads_it_to_60_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__receive_60_to_1514__round_trips_through_the_driver_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__receive_without_wrap__continues_at_the_top_of_the_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__receive_with_wrap__runs_on_past_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__receive_into_full_ring__overflows_and_says_eagain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__receive_disabled_or_bad_size__is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__receiver_stop__resets_the_ring_pointers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__address_filter__follows_rcr_and_the_multicast_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__rx_dma_to_unmapped_ring__aborts_with_serr_and_a_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__dma_without_bus_mastering__aborts_before_the_iommu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__timer__counts_pci_clocks_and_raises_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtl8139__state_restore_mid_traffic__replays_identically, setup, teardown),
        cmocka_unit_test(test_rtl8139__chip_8139k__reports_rev_k_and_a_short_linked_cable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
