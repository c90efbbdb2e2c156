/*
 * tests/test_devices_ne2000.c: the RTL8029AS (NE2000) model driven through
 * the PCI bus the way ne2k-pci + lib8390 (Linux 6.1) drive it: firmware
 * assigns BAR0, the test enables I/O decode, then only does port I/O --
 * the probe's 8390 check, reset and PROM read, NS8390_init, block output
 * with outsl/outw, trigger_send, get_8390_hdr with inl, block input with
 * insl/inw/inb, ei_receive's ring walk.  The chip has no bus-master DMA, so
 * there is no IOMMU in this fixture and no DMA-fault case to test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/ne2000.h"
#include "devices/pci.h"

#define NIC_DEVFN (5u << 3)
#define IO_BASE 0xc000u
#define MEM_BASE 0xfeb00000u
#define IRQ_BASE 10u

/* Register offsets as 8390.h names them. */
#define E8390_CMD 0x00
#define EN0_CLDALO 0x01
#define EN0_STARTPG 0x01
#define EN0_STOPPG 0x02
#define EN0_BOUNDARY 0x03
#define EN0_TSR 0x04
#define EN0_TPSR 0x04
#define EN0_TCNTLO 0x05
#define EN0_TCNTHI 0x06
#define EN0_ISR 0x07
#define EN0_RSARLO 0x08
#define EN0_RSARHI 0x09
#define EN0_RCNTLO 0x0a
#define EN0_RCNTHI 0x0b
#define EN0_RSR 0x0c
#define EN0_RXCR 0x0c
#define EN0_COUNTER0 0x0d
#define EN0_TXCR 0x0d
#define EN0_DCFG 0x0e
#define EN0_IMR 0x0f
#define EN1_PHYS 0x01
#define EN1_CURPAG 0x07
#define EN1_MULT 0x08
#define NE_DATAPORT 0x10
#define NE_RESET 0x1f

#define E8390_STOP 0x01
#define E8390_START 0x02
#define E8390_TRANS 0x04
#define E8390_RREAD 0x08
#define E8390_RWRITE 0x10
#define E8390_NODMA 0x20
#define E8390_PAGE0 0x00
#define E8390_PAGE1 0x40
#define E8390_PAGE2 0x80
#define E8390_PAGE3 0xc0
#define E8390_RXCONFIG 0x04
#define E8390_RXOFF 0x20
#define E8390_TXCONFIG 0x00
#define E8390_TXOFF 0x02

#define ENISR_RX 0x01
#define ENISR_TX 0x02
#define ENISR_OVER 0x10
#define ENISR_RDC 0x40
#define ENISR_RESET 0x80
#define ENISR_ALL 0x3f
#define ENTSR_PTX 0x01
#define ENRSR_RXOK 0x01
#define ENRSR_PHY 0x20

/* ne2k-pci's layout: 12 tx pages, then the receive ring up to 0x80. */
#define TX_START 0x40
#define RX_START 0x4c
#define RX_STOP 0x80
#define RX_PAGES (RX_STOP - RX_START)

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };

typedef struct Fixture {
    PciBus *bus;
    Ne2000 *nic;
    uint32_t io;
    int irq_level;
    int irq_line;
    unsigned tx_count;
    size_t tx_len;
    uint8_t tx_frame[NET_PORT_MAX_FRAME];
} Fixture;

static void fixture_set_irq(void *opaque, int line, int level)
{
    Fixture *f = opaque;

    f->irq_line = line;
    f->irq_level = level;
}

static void fixture_tx(void *opaque, const uint8_t *frame, size_t len)
{
    Fixture *f = opaque;

    assert_true(len <= sizeof(f->tx_frame));
    memcpy(f->tx_frame, frame, len);
    f->tx_len = len;
    f->tx_count++;
}

static Fixture *fixture_new(void)
{
    Fixture *f = calloc(1, sizeof(*f));
    Ne2000Config cfg;

    assert_non_null(f);
    memset(&cfg, 0, sizeof(cfg));
    memcpy(cfg.mac, test_mac, 6);
    cfg.irq = (IrqLine){ fixture_set_irq, f, 0 };
    cfg.net = (NetPort){ fixture_tx, f };
    f->bus = pci_bus_new();
    assert_non_null(f->bus);
    f->nic = ne2000_new(f->bus, NIC_DEVFN, &cfg);
    assert_non_null(f->nic);
    pci_bus_assign_resources(f->bus, IO_BASE, MEM_BASE, IRQ_BASE);
    f->io = (uint32_t)pci_bus_bar_base(f->bus, NIC_DEVFN, 0);
    assert_int_not_equal(f->io, 0);
    pci_config_write(f->bus, NIC_DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    return f;
}

static void fixture_free(Fixture *f)
{
    pci_bus_free(f->bus);
    ne2000_free(f->nic);
    free(f);
}

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

static uint32_t in_n(Fixture *f, unsigned off, unsigned size)
{
    uint32_t v = 0;

    assert_int_equal(pci_bus_io_read(f->bus, f->io + off, size, &v), 0);
    return v;
}

static void out_n(Fixture *f, unsigned off, uint32_t v, unsigned size)
{
    assert_int_equal(pci_bus_io_write(f->bus, f->io + off, size, v), 0);
}

static uint8_t inb(Fixture *f, unsigned off) { return (uint8_t)in_n(f, off, 1); }
static uint16_t inw(Fixture *f, unsigned off) { return (uint16_t)in_n(f, off, 2); }
static uint32_t inl(Fixture *f, unsigned off) { return in_n(f, off, 4); }
static void outb(Fixture *f, uint8_t v, unsigned off) { out_n(f, off, v, 1); }
static void outw(Fixture *f, uint16_t v, unsigned off) { out_n(f, off, v, 2); }
static void outl(Fixture *f, uint32_t v, unsigned off) { out_n(f, off, v, 4); }

/* ---- what the driver does, step by step as ne2k-pci.c / lib8390.c ---- */

static void drv_hw_reset(Fixture *f)
{
    outb(f, inb(f, NE_RESET), NE_RESET);
    assert_true(inb(f, EN0_ISR) & ENISR_RESET);
    outb(f, 0xff, EN0_ISR);
}

static void drv_set_rx_mode(Fixture *f, uint8_t rxcr, const uint8_t mar[8])
{
    outb(f, E8390_RXCONFIG, EN0_RXCR);
    outb(f, E8390_NODMA | E8390_PAGE1, E8390_CMD);
    for (int i = 0; i < 8; i++) {
        outb(f, mar ? mar[i] : 0, EN1_MULT + i);
    }
    outb(f, E8390_NODMA | E8390_PAGE0, E8390_CMD);
    outb(f, rxcr, EN0_RXCR);
}

/* NS8390_init(dev, startp) with word16 = 1. */
static void drv_ns8390_init(Fixture *f, int startp)
{
    outb(f, E8390_NODMA | E8390_PAGE0 | E8390_STOP, E8390_CMD);
    outb(f, 0x49, EN0_DCFG);
    outb(f, 0, EN0_RCNTLO);
    outb(f, 0, EN0_RCNTHI);
    outb(f, E8390_RXOFF, EN0_RXCR);
    outb(f, E8390_TXOFF, EN0_TXCR);
    outb(f, TX_START, EN0_TPSR);
    outb(f, RX_START, EN0_STARTPG);
    outb(f, RX_STOP - 1, EN0_BOUNDARY);
    outb(f, RX_STOP, EN0_STOPPG);
    outb(f, 0xff, EN0_ISR);
    outb(f, 0, EN0_IMR);
    outb(f, E8390_NODMA | E8390_PAGE1 | E8390_STOP, E8390_CMD);
    for (int i = 0; i < 6; i++) {
        outb(f, test_mac[i], EN1_PHYS + i);
    }
    outb(f, RX_START, EN1_CURPAG);
    outb(f, E8390_NODMA | E8390_PAGE0 | E8390_STOP, E8390_CMD);
    if (startp) {
        outb(f, 0xff, EN0_ISR);
        outb(f, ENISR_ALL, EN0_IMR);
        outb(f, E8390_NODMA | E8390_PAGE0 | E8390_START, E8390_CMD);
        outb(f, E8390_TXCONFIG, EN0_TXCR);
        outb(f, E8390_RXCONFIG, EN0_RXCR);
        drv_set_rx_mode(f, E8390_RXCONFIG, NULL);
    }
}

static void drv_remote_setup(Fixture *f, unsigned count, unsigned addr, uint8_t cmd)
{
    outb(f, E8390_NODMA | E8390_PAGE0 | E8390_START, E8390_CMD);
    outb(f, (uint8_t)count, EN0_RCNTLO);
    outb(f, (uint8_t)(count >> 8), EN0_RCNTHI);
    outb(f, (uint8_t)addr, EN0_RSARLO);
    outb(f, (uint8_t)(addr >> 8), EN0_RSARHI);
    outb(f, cmd | E8390_START, E8390_CMD);
}

/* ne2k_pci_block_output: outsl, then outw for a 2-byte tail; RDC must be
 * up when the last word went in. */
static void drv_block_output(Fixture *f, const uint8_t *buf, unsigned count, uint8_t page)
{
    unsigned i;

    if (count & 1) {
        count++;
    }
    outb(f, E8390_PAGE0 | E8390_START | E8390_NODMA, E8390_CMD);
    outb(f, ENISR_RDC, EN0_ISR);
    outb(f, (uint8_t)count, EN0_RCNTLO);
    outb(f, (uint8_t)(count >> 8), EN0_RCNTHI);
    outb(f, 0, EN0_RSARLO);
    outb(f, page, EN0_RSARHI);
    outb(f, E8390_RWRITE | E8390_START, E8390_CMD);
    for (i = 0; i + 4 <= count; i += 4) {
        uint32_t v;

        memcpy(&v, buf + i, 4);
        assert_int_equal(inb(f, EN0_ISR) & ENISR_RDC, 0);
        outl(f, v, NE_DATAPORT);
    }
    if (count & 2) {
        uint16_t v;

        memcpy(&v, buf + i, 2);
        outw(f, v, NE_DATAPORT);
    }
    assert_true(inb(f, EN0_ISR) & ENISR_RDC);
    outb(f, ENISR_RDC, EN0_ISR);
}

static void drv_trigger_send(Fixture *f, unsigned len, uint8_t page)
{
    outb(f, E8390_NODMA | E8390_PAGE0, E8390_CMD);
    assert_int_equal(inb(f, E8390_CMD) & E8390_TRANS, 0);
    outb(f, (uint8_t)len, EN0_TCNTLO);
    outb(f, (uint8_t)(len >> 8), EN0_TCNTHI);
    outb(f, page, EN0_TPSR);
    outb(f, E8390_NODMA | E8390_TRANS | E8390_START, E8390_CMD);
}

static void drv_get_hdr(Fixture *f, uint8_t page, uint8_t hdr[4])
{
    uint32_t v;

    drv_remote_setup(f, 4, (unsigned)page << 8, E8390_RREAD);
    v = inl(f, NE_DATAPORT);
    memcpy(hdr, &v, 4);
    outb(f, ENISR_RDC, EN0_ISR);
}

/* ne2k_pci_block_input: insl, then inw and inb for the tail. */
static void drv_block_input(Fixture *f, uint8_t *buf, unsigned count, unsigned offset)
{
    unsigned i;

    drv_remote_setup(f, count, offset, E8390_RREAD);
    for (i = 0; i + 4 <= count; i += 4) {
        uint32_t v = inl(f, NE_DATAPORT);

        memcpy(buf + i, &v, 4);
    }
    if (count & 2) {
        uint16_t v = inw(f, NE_DATAPORT);

        memcpy(buf + i, &v, 2);
        i += 2;
    }
    if (count & 1) {
        buf[i] = inb(f, NE_DATAPORT);
    }
    assert_true(inb(f, EN0_ISR) & ENISR_RDC);
    outb(f, ENISR_RDC, EN0_ISR);
}

static uint8_t drv_curr(Fixture *f)
{
    uint8_t curr;

    outb(f, E8390_NODMA | E8390_PAGE1, E8390_CMD);
    curr = inb(f, EN1_CURPAG);
    outb(f, E8390_NODMA | E8390_PAGE0, E8390_CMD);
    return curr;
}

/* One turn of ei_receive's loop: 0 when the ring is empty, else the frame
 * length, with the frame in buf, after checking the header the way
 * ei_receive does and moving BNRY on.  *wrapped tells whether the frame
 * straddled the ring's end. */
static int drv_receive_one(Fixture *f, uint8_t *buf, uint8_t *status, int *wrapped)
{
    uint8_t curr = drv_curr(f), hdr[4];
    uint8_t this_frame = (uint8_t)(inb(f, EN0_BOUNDARY) + 1);
    unsigned count, pkt_len, next_frame;

    if (this_frame >= RX_STOP) {
        this_frame = RX_START;
    }
    if (this_frame == curr) {
        return 0;
    }
    drv_get_hdr(f, this_frame, hdr);
    count = hdr[2] | hdr[3] << 8;
    pkt_len = count - 4;
    next_frame = this_frame + 1u + ((pkt_len + 4) >> 8);
    assert_true(hdr[1] == next_frame || hdr[1] == next_frame + 1 ||
                hdr[1] == next_frame - RX_PAGES || hdr[1] == next_frame + 1 - RX_PAGES);
    assert_true(pkt_len >= 60 && pkt_len <= 1518);
    assert_int_equal(hdr[0] & 0x0f, ENRSR_RXOK);
    *status = hdr[0];
    *wrapped = ((unsigned)this_frame << 8) + count > (unsigned)RX_STOP << 8;
    drv_block_input(f, buf, pkt_len, ((unsigned)this_frame << 8) + 4);
    assert_true(hdr[1] >= RX_START && hdr[1] < RX_STOP);
    outb(f, (uint8_t)(hdr[1] - 1), EN0_BOUNDARY);
    return (int)pkt_len;
}

static void fill_frame(uint8_t *buf, size_t len, const uint8_t *dst, unsigned seed)
{
    memcpy(buf, dst, 6);
    memcpy(buf + 6, "\x02\x00\x00\x00\x00\x02", 6);
    buf[12] = 0x08;
    buf[13] = 0x00;
    for (size_t i = 14; i < len; i++) {
        buf[i] = (uint8_t)(seed * 7u + i * 13u + (i >> 8));
    }
}

/* ---- tests ---- */

static void test_ne2000__pci_config__identifies_rtl8029_with_32_byte_io_bar(void **state)
{
    Fixture *f = *state;
    uint32_t bar;

    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_VENDOR_ID, 2), 0x10ec);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_DEVICE_ID, 2), 0x8029);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_CLASS_PROG, 4) & 0xffffff,
                     0x020000);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
    bar = pci_config_read(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0, 4);
    assert_int_equal(bar & 1, 1);                           /* I/O space */
    pci_config_write(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0, 4) & ~3u,
                     0xffffffe0u);                          /* 32 bytes */
    pci_config_write(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0, bar, 4);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_BASE_ADDRESS_0 + 4, 4), 0);
}

static void test_ne2000__power_on__is_stopped_with_reset_status_and_line_low(void **state)
{
    Fixture *f = *state;

    assert_int_equal(inb(f, E8390_CMD), 0x21);              /* page 0, abort DMA, stop */
    assert_int_equal(inb(f, EN0_ISR), ENISR_RESET);
    assert_int_equal(f->irq_level, 0);
    outb(f, E8390_NODMA | E8390_PAGE2 | E8390_STOP, E8390_CMD);
    assert_int_equal(inb(f, EN0_IMR), 0);
    assert_int_equal(inb(f, EN0_TXCR) & 0x06, 0x02);        /* internal loopback */
    outb(f, E8390_NODMA | E8390_PAGE0 | E8390_STOP, E8390_CMD);
    /* RTL8029AS id bytes "PC" at page 0 0x0a/0x0b. */
    assert_int_equal(inb(f, 0x0a), 0x50);
    assert_int_equal(inb(f, 0x0b), 0x43);
}

/* ne2k_pci_init_one's "preliminary verification that we have a 8390". */
static void test_ne2000__probe_check__sees_paged_registers_and_clear_on_read_counter(void **state)
{
    Fixture *f = *state;
    uint8_t reg0 = inb(f, E8390_CMD);

    assert_int_not_equal(reg0, 0xff);
    outb(f, E8390_NODMA | E8390_PAGE1 | E8390_STOP, E8390_CMD);
    assert_int_equal(inb(f, 0x0d), 0);                      /* MAR5 */
    outb(f, 0xff, 0x0d);
    outb(f, E8390_NODMA | E8390_PAGE0, E8390_CMD);
    inb(f, EN0_COUNTER0);
    assert_int_equal(inb(f, EN0_COUNTER0), 0);
    outb(f, E8390_NODMA | E8390_PAGE1, E8390_CMD);
    assert_int_equal(inb(f, 0x0d), 0xff);                   /* MAR5 kept it */
}

static void test_ne2000__reset_port_read__resets_the_8390(void **state)
{
    Fixture *f = *state;

    drv_hw_reset(f);
    drv_ns8390_init(f, 1);
    assert_int_equal(inb(f, EN0_ISR) & ENISR_RESET, 0);    /* START cleared it */
    assert_int_equal(inb(f, E8390_CMD) & (E8390_START | E8390_STOP), E8390_START);

    inb(f, NE_RESET);
    assert_int_equal(inb(f, E8390_CMD), 0x21);
    assert_int_equal(inb(f, EN0_ISR), ENISR_RESET);
    outb(f, ENISR_RESET, EN0_ISR);                          /* RST is not W1C */
    assert_int_equal(inb(f, EN0_ISR), ENISR_RESET);
    outb(f, E8390_NODMA | E8390_PAGE2 | E8390_STOP, E8390_CMD);
    assert_int_equal(inb(f, EN0_IMR), 0);
    assert_int_equal(inb(f, EN0_STARTPG), RX_START);        /* ring kept */
    outb(f, E8390_NODMA | E8390_PAGE1 | E8390_STOP, E8390_CMD);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(inb(f, EN1_PHYS + i), test_mac[i]);
    }
    assert_int_equal(ne2000_receive(f->nic, (const uint8_t *)"\xff\xff\xff\xff\xff\xff"
                                    "abcdefgh", 14), -EAGAIN);
}

/* ne2k_pci_init_one's program_seq and 32 inb of the data port. */
static void test_ne2000__prom_read_in_word_mode__gives_the_station_address(void **state)
{
    Fixture *f = *state;
    static const uint8_t seq[][2] = {
        { E8390_NODMA | E8390_PAGE0 | E8390_STOP, E8390_CMD }, { 0x49, EN0_DCFG },
        { 0x00, EN0_RCNTLO }, { 0x00, EN0_RCNTHI }, { 0x00, EN0_IMR }, { 0xff, EN0_ISR },
        { E8390_RXOFF, EN0_RXCR }, { E8390_TXOFF, EN0_TXCR }, { 32, EN0_RCNTLO },
        { 0x00, EN0_RCNTHI }, { 0x00, EN0_RSARLO }, { 0x00, EN0_RSARHI },
        { E8390_RREAD | E8390_START, E8390_CMD },
    };
    uint8_t sa[32];

    drv_hw_reset(f);
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        outb(f, seq[i][0], seq[i][1]);
    }
    for (int i = 0; i < 32; i++) {
        sa[i] = inb(f, NE_DATAPORT);
        /* 32 bytes in word mode are 16 words: done after the 16th read. */
        assert_int_equal(!!(inb(f, EN0_ISR) & ENISR_RDC), i >= 15);
    }
    assert_memory_equal(sa, test_mac, 6);
    assert_int_equal(sa[14], 0x57);
    assert_int_equal(sa[15], 0x57);

    /* Byte mode shows each PROM byte doubled, as ne.c's comment says. */
    outb(f, 0x48, EN0_DCFG);
    drv_remote_setup(f, 12, 0, E8390_RREAD);
    for (int i = 0; i < 12; i++) {
        sa[i] = inb(f, NE_DATAPORT);
    }
    for (int i = 0; i < 6; i++) {
        assert_int_equal(sa[2 * i], test_mac[i]);
        assert_int_equal(sa[2 * i + 1], test_mac[i]);
    }
}

static void test_ne2000__transmit__sends_every_size_60_to_1514_byte_exact(void **state)
{
    Fixture *f = *state;
    uint8_t frame[NET_PORT_MAX_FRAME];
    static const uint8_t peer[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

    drv_hw_reset(f);
    drv_ns8390_init(f, 1);
    for (unsigned len = 60; len <= NET_PORT_MAX_FRAME; len++) {
        uint8_t page = (len & 1) ? TX_START : TX_START + 6;

        fill_frame(frame, len, peer, len);
        outb(f, 0, EN0_IMR);                                /* ei_start_xmit */
        drv_block_output(f, frame, len, page);
        drv_trigger_send(f, len, page);
        assert_int_equal(f->irq_level, 0);                  /* masked */
        outb(f, ENISR_ALL, EN0_IMR);
        assert_int_equal(f->irq_level, 1);
        assert_int_equal(inb(f, EN0_ISR), ENISR_TX);
        assert_int_equal(inb(f, EN0_TSR), ENTSR_PTX);       /* ei_tx_intr */
        outb(f, ENISR_TX, EN0_ISR);
        assert_int_equal(f->irq_level, 0);
        assert_int_equal(f->tx_count, len - 59);
        assert_int_equal(f->tx_len, len);
        assert_memory_equal(f->tx_frame, frame, len);
    }
}

static void test_ne2000__receive__stores_every_size_60_to_1514_byte_exact(void **state)
{
    Fixture *f = *state;
    uint8_t frame[NET_PORT_MAX_FRAME], got[NET_PORT_MAX_FRAME + 4];
    unsigned wraps = 0;

    drv_hw_reset(f);
    drv_ns8390_init(f, 1);
    for (unsigned len = 60; len <= NET_PORT_MAX_FRAME; len++) {
        uint8_t status;
        int wrapped;

        fill_frame(frame, len, test_mac, len);
        assert_int_equal(ne2000_receive(f->nic, frame, len), 0);
        assert_int_equal(f->irq_level, 1);
        assert_int_equal(inb(f, EN0_ISR), ENISR_RX);
        assert_int_equal(drv_receive_one(f, got, &status, &wrapped), (int)len);
        assert_memory_equal(got, frame, len);
        assert_int_equal(status, ENRSR_RXOK);               /* unicast: no PHY bit */
        assert_int_equal(inb(f, EN0_RSR), status);
        wraps += (unsigned)wrapped;
        assert_int_equal(drv_receive_one(f, got, &status, &wrapped), 0);
        outb(f, ENISR_RX, EN0_ISR);
        assert_int_equal(f->irq_level, 0);
    }
    assert_true(wraps >= 40);          /* frames straddled PSTOP (49 times) */
}

static void test_ne2000__receive_ring_full__raises_ovw_and_refuses_until_drained(void **state)
{
    Fixture *f = *state;
    uint8_t frame[1000], got[1000], status;
    int wrapped, n = 0, rc;

    drv_hw_reset(f);
    drv_ns8390_init(f, 1);
    /* A 1000-byte frame takes 4 pages: 12 fit in the 51 free pages. */
    while ((rc = ne2000_receive(f->nic, (fill_frame(frame, sizeof(frame), test_mac, (unsigned)n),
                                         frame), sizeof(frame))) == 0) {
        n++;
        assert_true(n <= RX_PAGES);
    }
    assert_int_equal(rc, -EAGAIN);
    assert_int_equal(n, 12);
    assert_int_equal(inb(f, EN0_ISR), ENISR_RESET | ENISR_OVER | ENISR_RX);
    assert_int_equal(f->irq_level, 1);

    /* ei_rx_overrun: stop, clear RBCR, loopback, start, drain, ack. */
    assert_int_equal(inb(f, E8390_CMD) & E8390_TRANS, 0);
    outb(f, E8390_NODMA | E8390_PAGE0 | E8390_STOP, E8390_CMD);
    outb(f, 0, EN0_RCNTLO);
    outb(f, 0, EN0_RCNTHI);
    outb(f, E8390_TXOFF, EN0_TXCR);
    outb(f, E8390_NODMA | E8390_PAGE0 | E8390_START, E8390_CMD);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), -EAGAIN);  /* loopback */
    for (int i = 0; i < n; i++) {
        fill_frame(frame, sizeof(frame), test_mac, (unsigned)i);
        assert_int_equal(drv_receive_one(f, got, &status, &wrapped), (int)sizeof(frame));
        assert_memory_equal(got, frame, sizeof(frame));
    }
    assert_int_equal(drv_receive_one(f, got, &status, &wrapped), 0);
    outb(f, ENISR_RX, EN0_ISR);
    outb(f, ENISR_OVER, EN0_ISR);
    outb(f, E8390_TXCONFIG, EN0_TXCR);
    assert_int_equal(inb(f, EN0_ISR), 0);
    assert_int_equal(f->irq_level, 0);
    /* The refused frame is offered again and now fits. */
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(drv_receive_one(f, got, &status, &wrapped), (int)sizeof(frame));
    assert_memory_equal(got, frame, sizeof(frame));
}

static void test_ne2000__receive__is_refused_while_stopped_monitoring_or_looping_back(void **state)
{
    Fixture *f = *state;
    uint8_t frame[100];

    fill_frame(frame, sizeof(frame), test_mac, 1);
    drv_hw_reset(f);
    drv_ns8390_init(f, 0);                                  /* probe: not started */
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), -EAGAIN);
    drv_ns8390_init(f, 1);
    outb(f, E8390_RXOFF, EN0_RXCR);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), -EAGAIN);
    outb(f, E8390_RXCONFIG, EN0_RXCR);
    outb(f, E8390_TXOFF, EN0_TXCR);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), -EAGAIN);
    outb(f, E8390_TXCONFIG, EN0_TXCR);
    assert_int_equal(drv_curr(f), RX_START);                /* nothing stored */
    assert_int_equal(inb(f, EN0_ISR), 0);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(drv_curr(f), RX_START + 1);
    /* ei_close: NS8390_init(dev, 0) stops the chip again. */
    drv_ns8390_init(f, 0);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), -EAGAIN);
}

static void test_ne2000__receive__bad_sizes_are_einval(void **state)
{
    Fixture *f = *state;
    uint8_t frame[NET_PORT_MAX_FRAME + 1];

    drv_hw_reset(f);
    drv_ns8390_init(f, 1);
    fill_frame(frame, sizeof(frame), test_mac, 3);
    assert_int_equal(ne2000_receive(f->nic, frame, NET_PORT_MAX_FRAME + 1), -EINVAL);
    assert_int_equal(ne2000_receive(f->nic, frame, 13), -EINVAL);
    assert_int_equal(ne2000_receive(f->nic, NULL, 60), -EINVAL);
    assert_int_equal(drv_curr(f), RX_START);
    assert_int_equal(ne2000_receive(f->nic, frame, NET_PORT_MAX_FRAME), 0);
}

static void test_ne2000__short_frame__is_stored_padded_to_60(void **state)
{
    Fixture *f = *state;
    uint8_t frame[42], got[64], status, want[60] = { 0 };
    int wrapped;

    drv_hw_reset(f);
    drv_ns8390_init(f, 1);
    fill_frame(frame, sizeof(frame), test_mac, 9);
    memcpy(want, frame, sizeof(frame));
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(drv_receive_one(f, got, &status, &wrapped), 60);
    assert_memory_equal(got, want, 60);
}

/* Linux's ether_crc, written the other way round: the reflected CRC-32
 * (crc32_le, preset ~0) then bit-reversed. */
static uint32_t ref_ether_crc(const uint8_t *p, int len)
{
    uint32_t crc = 0xffffffffu, rev = 0;

    for (int i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ ((crc & 1) ? 0xedb88320u : 0);
        }
    }
    for (int b = 0; b < 32; b++) {
        rev |= ((crc >> b) & 1u) << (31 - b);
    }
    return rev;
}

static void test_ne2000__address_filter__follows_rcr_par_and_multicast_hash(void **state)
{
    Fixture *f = *state;
    static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x58 };
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t mc_in[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    static const uint8_t mc_out[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
    uint8_t frame[64], got[64], status, mar[8] = { 0 };
    uint32_t crc_in = ref_ether_crc(mc_in, 6), crc_out = ref_ether_crc(mc_out, 6);
    int wrapped;

    /* lib8390's make_mc_bits for the one group the driver joined. */
    mar[crc_in >> 29] |= (uint8_t)(1u << ((crc_in >> 26) & 7));
    assert_int_equal(mar[crc_out >> 29] & (1u << ((crc_out >> 26) & 7)), 0);
    drv_hw_reset(f);
    drv_ns8390_init(f, 1);

    fill_frame(frame, sizeof(frame), other, 1);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);   /* dropped */
    fill_frame(frame, sizeof(frame), mc_in, 1);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);   /* AM off */
    assert_int_equal(drv_curr(f), RX_START);
    assert_int_equal(inb(f, EN0_ISR), 0);

    fill_frame(frame, sizeof(frame), bcast, 2);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(drv_receive_one(f, got, &status, &wrapped), 64);
    assert_int_equal(status, ENRSR_RXOK | ENRSR_PHY);

    drv_set_rx_mode(f, E8390_RXCONFIG | 0x08, mar);          /* multicast list */
    fill_frame(frame, sizeof(frame), mc_out, 3);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(drv_receive_one(f, got, &status, &wrapped), 0);
    fill_frame(frame, sizeof(frame), mc_in, 3);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(drv_receive_one(f, got, &status, &wrapped), 64);
    assert_memory_equal(got, frame, 64);
    assert_int_equal(status, ENRSR_RXOK | ENRSR_PHY);

    drv_set_rx_mode(f, 0, mar);                             /* no AB: broadcast dropped */
    fill_frame(frame, sizeof(frame), bcast, 4);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(drv_receive_one(f, got, &status, &wrapped), 0);

    memset(mar, 0xff, sizeof(mar));
    drv_set_rx_mode(f, E8390_RXCONFIG | 0x18, mar);          /* IFF_PROMISC */
    fill_frame(frame, sizeof(frame), other, 5);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(drv_receive_one(f, got, &status, &wrapped), 64);
    assert_memory_equal(got, frame, 64);
    assert_int_equal(status, ENRSR_RXOK);
}

static void test_ne2000__isr__write_one_clears_and_irq_follows_imr(void **state)
{
    Fixture *f = *state;
    uint8_t frame[60];

    drv_hw_reset(f);
    drv_ns8390_init(f, 1);
    fill_frame(frame, sizeof(frame), test_mac, 1);
    outb(f, 0, EN0_IMR);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(f->irq_level, 0);
    outb(f, ENISR_TX, EN0_IMR);                             /* other source only */
    assert_int_equal(f->irq_level, 0);
    outb(f, ENISR_ALL, EN0_IMR);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(f->irq_line, 0);
    outb(f, ENISR_TX, EN0_ISR);                             /* not PRX: stays */
    assert_int_equal(inb(f, EN0_ISR), ENISR_RX);
    assert_int_equal(f->irq_level, 1);
    outb(f, ENISR_RX, EN0_ISR);
    assert_int_equal(inb(f, EN0_ISR), 0);
    assert_int_equal(f->irq_level, 0);
    /* RDC is not in ENISR_ALL: a remote DMA never interrupts the driver. */
    drv_remote_setup(f, 2, 0x4000, E8390_RREAD);
    inw(f, NE_DATAPORT);
    assert_int_equal(inb(f, EN0_ISR), ENISR_RDC);
    assert_int_equal(f->irq_level, 0);
    outb(f, ENISR_RDC, EN0_IMR);
    assert_int_equal(f->irq_level, 1);
}

static void test_ne2000__remote_dma__wraps_from_pstop_to_pstart_and_counts_down(void **state)
{
    Fixture *f = *state;
    uint8_t got[8];

    drv_hw_reset(f);
    drv_ns8390_init(f, 1);
    /* Mark the last word of the ring and the first one. */
    drv_remote_setup(f, 2, 0x7ffe, E8390_RWRITE);
    outw(f, 0xbbaa, NE_DATAPORT);
    drv_remote_setup(f, 2, RX_START << 8, E8390_RWRITE);
    outw(f, 0xddcc, NE_DATAPORT);
    drv_remote_setup(f, 4, 0x7ffe, E8390_RREAD);
    memcpy(got, &(uint32_t){ inl(f, NE_DATAPORT) }, 4);
    assert_memory_equal(got, "\xaa\xbb\xcc\xdd", 4);
    assert_int_equal(inb(f, 0x08), 0x02);                   /* CRDA = 0x4c02 */
    assert_int_equal(inb(f, 0x09), RX_START);
    /* Past the count the port reads all-ones and CRDA stays. */
    assert_int_equal(inw(f, NE_DATAPORT), 0xffff);
    assert_int_equal(inb(f, 0x08), 0x02);
    /* A zero count is done at once; writes with no remote write drop. */
    outb(f, ENISR_RDC, EN0_ISR);
    drv_remote_setup(f, 0, 0x4100, E8390_RWRITE);
    assert_true(inb(f, EN0_ISR) & ENISR_RDC);
    outw(f, 0x1234, NE_DATAPORT);
    drv_remote_setup(f, 2, 0x4100, E8390_RREAD);
    assert_int_equal(inw(f, NE_DATAPORT), 0);
}

static void test_ne2000__hostile_values__stay_inside_the_chip(void **state)
{
    Fixture *f = *state;
    uint8_t frame[NET_PORT_MAX_FRAME];

    drv_hw_reset(f);
    drv_ns8390_init(f, 1);
    fill_frame(frame, sizeof(frame), test_mac, 7);
    /* An empty or inverted ring takes nothing. */
    outb(f, 0x60, EN0_STARTPG);
    outb(f, 0x60, EN0_STOPPG);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), -EAGAIN);
    outb(f, 0x70, EN0_STOPPG);
    assert_int_equal(ne2000_receive(f->nic, frame, sizeof(frame)), -EAGAIN);
    /* A ring beyond the RAM, CURR and BNRY outside it. */
    outb(f, 0xf0, EN0_STARTPG);
    outb(f, 0xff, EN0_STOPPG);
    outb(f, 0x01, EN0_BOUNDARY);
    outb(f, E8390_NODMA | E8390_PAGE1 | E8390_START, E8390_CMD);
    outb(f, 0x20, EN1_CURPAG);
    outb(f, E8390_NODMA | E8390_PAGE0 | E8390_START, E8390_CMD);
    for (int i = 0; i < 8; i++) {
        int rc = ne2000_receive(f->nic, frame, sizeof(frame));

        assert_true(rc == 0 || rc == -EAGAIN);
    }
    /* Remote DMA and transmit at the top of the address space. */
    drv_remote_setup(f, 0xffff, 0xfff0, E8390_RWRITE);
    for (int i = 0; i < 64; i++) {
        outl(f, 0xdeadbeef, NE_DATAPORT);
    }
    drv_remote_setup(f, 0xffff, 0xfff0, E8390_RREAD);
    for (int i = 0; i < 64; i++) {
        inl(f, NE_DATAPORT);
    }
    drv_trigger_send(f, 0xffff, 0xff);
    drv_trigger_send(f, 1514, 0xff);
    assert_int_equal(f->tx_len, 1514);
    /* The reset port answers any size. */
    assert_int_equal(in_n(f, 0x1c, 4), 0);
    assert_int_equal(inb(f, E8390_CMD), 0x21);
}

/* Save in the middle of a driver's receive (header read, frame not yet),
 * restore into a second chip, finish on both: same bytes, same registers. */
static void test_ne2000__state_restore__mid_traffic_continues_identically(void **state)
{
    Fixture *a = *state, *b = fixture_new();
    uint8_t frame[700], got_a[700], got_b[700], hdr[4], status;
    uint8_t *blob = malloc(ne2000_state_size());
    int wrapped;

    assert_non_null(blob);
    drv_hw_reset(a);
    drv_ns8390_init(a, 1);
    for (unsigned i = 0; i < 5; i++) {
        fill_frame(frame, sizeof(frame), test_mac, i);
        assert_int_equal(ne2000_receive(a->nic, frame, sizeof(frame)), 0);
    }
    drv_get_hdr(a, RX_START, hdr);
    drv_remote_setup(a, sizeof(frame), (RX_START << 8) + 4, E8390_RREAD);
    for (unsigned i = 0; i < 100; i += 4) {
        uint32_t v = inl(a, NE_DATAPORT);

        memcpy(got_a + i, &v, 4);
    }
    memcpy(got_b, got_a, 100);
    ne2000_state_save(a->nic, blob);
    ne2000_state_restore(b->nic, blob);
    assert_int_equal(b->irq_level, a->irq_level);
    for (unsigned i = 100; i < sizeof(frame); i += 4) {
        uint32_t va = inl(a, NE_DATAPORT), vb = inl(b, NE_DATAPORT);

        memcpy(got_a + i, &va, 4);
        memcpy(got_b + i, &vb, 4);
    }
    fill_frame(frame, sizeof(frame), test_mac, 0);
    assert_memory_equal(got_a, frame, sizeof(frame));
    assert_memory_equal(got_b, frame, sizeof(frame));
    outb(a, hdr[1] - 1, EN0_BOUNDARY);
    outb(b, hdr[1] - 1, EN0_BOUNDARY);
    for (unsigned i = 1; i < 5; i++) {
        fill_frame(frame, sizeof(frame), test_mac, i);
        assert_int_equal(drv_receive_one(a, got_a, &status, &wrapped), (int)sizeof(frame));
        assert_int_equal(drv_receive_one(b, got_b, &status, &wrapped), (int)sizeof(frame));
        assert_memory_equal(got_a, frame, sizeof(frame));
        assert_memory_equal(got_b, frame, sizeof(frame));
    }
    for (unsigned page = 0; page < 4; page++) {
        outb(a, (uint8_t)(E8390_NODMA | page << 6 | E8390_START), E8390_CMD);
        outb(b, (uint8_t)(E8390_NODMA | page << 6 | E8390_START), E8390_CMD);
        for (unsigned off = 1; off < 16; off++) {
            assert_int_equal(inb(a, off), inb(b, off));
        }
    }
    /* And the two blobs agree byte for byte. */
    {
        uint8_t *blob_b = malloc(ne2000_state_size());

        assert_non_null(blob_b);
        ne2000_state_save(a->nic, blob);
        ne2000_state_save(b->nic, blob_b);
        assert_memory_equal(blob, blob_b, ne2000_state_size());
        free(blob_b);
    }
    free(blob);
    fixture_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ne2000__pci_config__identifies_rtl8029_with_32_byte_io_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__power_on__is_stopped_with_reset_status_and_line_low, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__probe_check__sees_paged_registers_and_clear_on_read_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__reset_port_read__resets_the_8390, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__prom_read_in_word_mode__gives_the_station_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__transmit__sends_every_size_60_to_1514_byte_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__receive__stores_every_size_60_to_1514_byte_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__receive_ring_full__raises_ovw_and_refuses_until_drained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__receive__is_refused_while_stopped_monitoring_or_looping_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__receive__bad_sizes_are_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__short_frame__is_stored_padded_to_60, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__address_filter__follows_rcr_par_and_multicast_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__isr__write_one_clears_and_irq_follows_imr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__remote_dma__wraps_from_pstop_to_pstart_and_counts_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__hostile_values__stay_inside_the_chip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ne2000__state_restore__mid_traffic_continues_identically, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
