/*
 * tests/test_devices_rtl8139.c: the RTL8139 model driven through the PCI
 * bus as a driver drives it (qtest style): firmware assigns resources, the
 * test enables decode and then only does port/memory accesses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/pci.h"
#include "devices/rtl8139.h"

#define NIC_DEVFN (3u << 3)
#define IO_BASE 0xc000u
#define MEM_BASE 0xfebf0000u
#define IRQ_BASE 10u

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
#define R_9346 0x50
#define R_CONFIG1 0x52
#define R_MSR 0x58
#define R_HLTCLK 0x5b
#define R_TSAD 0x60
#define R_BMCR 0x62
#define R_BMSR 0x64
#define R_ANAR 0x66
#define R_ANLPAR 0x68
#define R_ANER 0x6a

#define CR_RST 0x10
#define CR_RE 0x08
#define CR_TE 0x04
#define CR_BUFE 0x01
#define INT_TER 0x0008
#define INT_ROK 0x0001
#define TSD_OWN 0x2000
#define TSD_TABT 0x40000000u
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
} Fixture;

static void fixture_set_irq(void *opaque, int line, int level)
{
    Fixture *f = opaque;

    f->irq_line = line;
    f->irq_level = level;
    f->irq_calls++;
}

static Fixture *fixture_new(uint8_t revision)
{
    Fixture *f = calloc(1, sizeof(*f));
    Rtl8139Config cfg = { .revision = revision };

    memcpy(cfg.mac, test_mac, 6);
    cfg.irq = (IrqLine){ fixture_set_irq, f, 11 };
    f->irq_level = -1;
    f->bus = pci_bus_new();
    f->nic = rtl8139_new(f->bus, NIC_DEVFN, &cfg);
    assert_non_null(f->nic);
    pci_bus_assign_resources(f->bus, IO_BASE, MEM_BASE, IRQ_BASE);
    pci_config_write(f->bus, NIC_DEVFN, PCI_COMMAND,
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    return f;
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

    /* With no DMA wired, a started transmit ends in a master abort. */
    out(f, R_CR, CR_TE, 1);
    out(f, R_TSAD0, 0x1000, 4);
    out(f, R_TSD0, 60, 4);
    assert_int_equal(in(f, R_TSD0, 4), TSD_TABT | TSD_OWN | 60);
    assert_int_equal(in(f, R_TSAD, 2), 0x001f);
    assert_int_equal(in(f, R_ISR, 2), INT_TER);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_STATUS, 2) &
                     PCI_STATUS_REC_MASTER_ABORT, PCI_STATUS_REC_MASTER_ABORT);
    assert_int_equal(f->irq_level, 0);                  /* masked */

    out(f, R_IMR, INT_ROK, 2);
    assert_int_equal(f->irq_level, 0);
    out(f, R_IMR, INT_ROK | INT_TER, 2);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(f->irq_line, 11);

    out(f, R_ISR, INT_ROK, 2);                          /* other bits: no effect */
    assert_int_equal(in(f, R_ISR, 2), INT_TER);
    assert_int_equal(f->irq_level, 1);
    out(f, R_ISR, INT_TER, 2);
    assert_int_equal(in(f, R_ISR, 2), 0);
    assert_int_equal(f->irq_level, 0);
}

static void test_rtl8139__tsd_write__waits_for_transmit_enable(void **state)
{
    Fixture *f = *state;

    out(f, R_TSD0 + 4, 100, 4);
    assert_int_equal(in(f, R_TSD0 + 4, 4), 100);        /* owned by the chip */
    assert_int_equal(in(f, R_ISR, 2), 0);
    out(f, R_CR, CR_TE, 1);
    assert_int_equal(in(f, R_ISR, 2), INT_TER);
    assert_int_equal(in(f, R_TSD0 + 4, 4), TSD_TABT | TSD_OWN | 100);
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

    for (unsigned off = 0x6c; off < 0x100; off += 4) {
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
    out(f, R_TSD0 + 8, 42, 4);                          /* ISR.TER, IRQ high */
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
