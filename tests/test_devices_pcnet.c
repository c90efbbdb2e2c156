/*
 * tests/test_devices_pcnet.c: the Am79C970A model driven through the PCI
 * bus the way pcnet32.ko drives it (qtest style): firmware assigns the
 * BARs, the test enables decode and mastering, then only does word port
 * I/O (RAP/RDP/BDP/RESET, the APROM) and keeps its init block, rings and
 * buffers in a RAM buffer behind a real IOMMU.
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
#include "devices/pcnet.h"
#include "iommu/dma_port.h"
#include "iommu/iommu.h"

#define NIC_DEVFN (5u << 3)
#define RID DMA_PORT_RID(0, NIC_DEVFN)
#define IO_BASE 0xc000u
#define MEM_BASE 0xfeb00000u
#define RAM_SIZE (1u << 20)
#define IOVA_BASE 0x10000000u      /* the chip is 32-bit: IOVAs below 4 GiB */
#define IOVA_UNMAPPED 0x20000000u

/* Guest-physical layout of the driver's memory. */
#define P_INIT 0x1000u
#define P_RX_RING 0x2000u
#define P_TX_RING 0x3000u
#define P_RX_BUF 0x10000u          /* + i * BUF_STRIDE */
#define P_TX_BUF 0x40000u
#define BUF_STRIDE 0x800u
#define LOG_RX 3
#define LOG_TX 3
#define RX_RING (1u << LOG_RX)
#define TX_RING (1u << LOG_TX)
#define PKT_BUF 1544               /* pcnet32's PKT_BUF_SKB, NET_IP_ALIGN 0 */

/* Word I/O ports and register bits, as pcnet32 and the data sheet name them. */
#define WIO_RDP 0x10
#define WIO_RAP 0x12
#define WIO_RESET 0x14
#define WIO_BDP 0x16
#define CSR0_ERR 0x8000
#define CSR0_MISS 0x1000
#define CSR0_MERR 0x0800
#define CSR0_RINT 0x0400
#define CSR0_TINT 0x0200
#define CSR0_IDON 0x0100
#define CSR0_INTR 0x0080
#define CSR0_IENA 0x0040
#define CSR0_RXON 0x0020
#define CSR0_TXON 0x0010
#define CSR0_TDMD 0x0008
#define CSR0_STOP 0x0004
#define CSR0_STRT 0x0002
#define CSR0_INIT 0x0001
#define ST_OWN 0x8000
#define ST_ERR 0x4000
#define ST_BUFF 0x0400
#define ST_STP 0x0200
#define ST_ENP 0x0100
#define ST_PAM 0x0040
#define ST_LAFM 0x0020
#define ST_BAM 0x0010
#define TMD2_BUFF 0x80000000u
#define TMD2_UFLO 0x40000000u

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x58 };

#define MAX_SENT 32

typedef struct Fix {
    uint8_t *ram;
    Iommu *mmu;
    DmaPort port;
    PciBus *bus;
    Pcnet *nic;
    int irq_level;
    unsigned sent;
    size_t sent_len[MAX_SENT];
    uint8_t sent_frame[MAX_SENT][NET_PORT_MAX_FRAME];
    unsigned rx_next, tx_next;     /* the "driver's" cur_rx / cur_tx */
} Fix;

static void fix_set_irq(void *opaque, int line, int level)
{
    Fix *f = opaque;

    (void)line;
    f->irq_level = level;
}

static void fix_tx(void *opaque, const uint8_t *frame, size_t len)
{
    Fix *f = opaque;

    assert_true(len <= NET_PORT_MAX_FRAME);
    if (f->sent < MAX_SENT) {
        memcpy(f->sent_frame[f->sent], frame, len);
        f->sent_len[f->sent] = len;
    }
    f->sent++;
}

static int setup(void **state)
{
    Fix *f = calloc(1, sizeof(*f));
    IommuConfig cfg;
    PcnetConfig pc = { .dma = &f->port };

    assert_non_null(f);
    f->ram = calloc(1, RAM_SIZE);
    assert_non_null(f->ram);
    iommu_config_default(&cfg, f->ram, RAM_SIZE);
    assert_int_equal(iommu_new(&cfg, &f->mmu, NULL), 0);
    assert_int_equal(iommu_attach(f->mmu, RID, "pcnet"), 0);
    assert_int_equal(iommu_map_range(f->mmu, RID, IOVA_BASE, 0, RAM_SIZE,
                                     IOMMU_PERM_READ | IOMMU_PERM_WRITE), 0);
    dma_port_init(&f->port, f->mmu, RID, DMA_PORT_TRANSLATED);
    memcpy(pc.mac, test_mac, 6);
    pc.irq = (IrqLine){ fix_set_irq, f, 11 };
    pc.net = (NetPort){ fix_tx, f };
    f->irq_level = -1;
    f->bus = pci_bus_new();
    f->nic = pcnet_new(f->bus, NIC_DEVFN, &pc);
    assert_non_null(f->nic);
    pci_bus_assign_resources(f->bus, IO_BASE, MEM_BASE, 10);
    assert_int_equal(pci_bus_bar_base(f->bus, NIC_DEVFN, 0), IO_BASE);
    pci_config_write(f->bus, NIC_DEVFN, PCI_COMMAND,
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fix *f = *state;

    pci_bus_free(f->bus);
    pcnet_free(f->nic);
    iommu_free(f->mmu);
    free(f->ram);
    free(f);
    return 0;
}

/* --- port I/O as pcnet32's pcnet32_wio_* helpers do it --------------------- */

static uint32_t in(Fix *f, unsigned port, unsigned size)
{
    uint32_t v = 0;

    assert_int_equal(pci_bus_io_read(f->bus, IO_BASE + port, size, &v), 0);
    return v;
}

static void out(Fix *f, unsigned port, uint32_t v, unsigned size)
{
    assert_int_equal(pci_bus_io_write(f->bus, IO_BASE + port, size, v), 0);
}

static uint16_t csr_r(Fix *f, unsigned n)
{
    out(f, WIO_RAP, n, 2);
    return (uint16_t)in(f, WIO_RDP, 2);
}

static void csr_w(Fix *f, unsigned n, uint16_t v)
{
    out(f, WIO_RAP, n, 2);
    out(f, WIO_RDP, v, 2);
}

static uint16_t bcr_r(Fix *f, unsigned n)
{
    out(f, WIO_RAP, n, 2);
    return (uint16_t)in(f, WIO_BDP, 2);
}

static void bcr_w(Fix *f, unsigned n, uint16_t v)
{
    out(f, WIO_RAP, n, 2);
    out(f, WIO_BDP, v, 2);
}

/* --- guest memory -------------------------------------------------------- */

static void w16(Fix *f, uint32_t p, uint16_t v)
{
    f->ram[p] = (uint8_t)v;
    f->ram[p + 1] = (uint8_t)(v >> 8);
}

static void w32(Fix *f, uint32_t p, uint32_t v)
{
    w16(f, p, (uint16_t)v);
    w16(f, p + 2, (uint16_t)(v >> 16));
}

static uint16_t r16(Fix *f, uint32_t p)
{
    return (uint16_t)(f->ram[p] | f->ram[p + 1] << 8);
}

static uint32_t r32(Fix *f, uint32_t p)
{
    return r16(f, p) | (uint32_t)r16(f, p + 2) << 16;
}

static uint32_t rx_desc(unsigned i)
{
    return P_RX_RING + 16 * (i % RX_RING);
}

static uint32_t tx_desc(unsigned i)
{
    return P_TX_RING + 16 * (i % TX_RING);
}

/* Reflected CRC-32 register after p[0..len), preset all ones, no final xor. */
static uint32_t crc_le(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
        }
    }
    return crc;
}

static void make_frame(uint8_t *p, size_t len, const uint8_t *dst, unsigned seed)
{
    memcpy(p, dst, 6);
    memcpy(p + 6, "\x02\x00\x00\x00\x00\x01", 6);
    p[12] = 0x88;
    p[13] = 0xb5;
    for (size_t i = 14; i < len; i++) {
        p[i] = (uint8_t)(seed * 31 + i * 7);
    }
}

/* --- the driver's steps -------------------------------------------------- */

/* pcnet32_init_ring: every rx descriptor owned by the chip, tx by the host. */
static void driver_init_ring(Fix *f, unsigned rx_bcnt)
{
    for (unsigned i = 0; i < RX_RING; i++) {
        w32(f, rx_desc(i), IOVA_BASE + P_RX_BUF + i * BUF_STRIDE);
        w16(f, rx_desc(i) + 4, (uint16_t)-(int)rx_bcnt);
        w32(f, rx_desc(i) + 8, 0);
        w16(f, rx_desc(i) + 6, ST_OWN);
    }
    for (unsigned i = 0; i < TX_RING; i++) {
        w16(f, tx_desc(i) + 6, 0);
        w32(f, tx_desc(i), 0);
    }
    f->rx_next = f->tx_next = 0;
}

/* pcnet32_open: reset, SWSTYLE 2, init block, INIT, wait for IDON, then
 * STRT|IENA. */
static void driver_open_mode(Fix *f, uint16_t mode, unsigned rx_bcnt)
{
    (void)in(f, WIO_RESET, 2);
    bcr_w(f, 20, 2);
    w16(f, P_INIT, mode);
    w16(f, P_INIT + 2, (uint16_t)(LOG_TX << 12 | LOG_RX << 4));
    memcpy(f->ram + P_INIT + 4, test_mac, 6);
    w16(f, P_INIT + 10, 0);
    w32(f, P_INIT + 12, 0);
    w32(f, P_INIT + 16, 0);
    w32(f, P_INIT + 20, IOVA_BASE + P_RX_RING);
    w32(f, P_INIT + 24, IOVA_BASE + P_TX_RING);
    driver_init_ring(f, rx_bcnt);
    csr_w(f, 1, (uint16_t)(IOVA_BASE + P_INIT));
    csr_w(f, 2, (uint16_t)((IOVA_BASE + P_INIT) >> 16));
    csr_w(f, 4, 0x0915);
    csr_w(f, 0, CSR0_INIT);
    assert_true(csr_r(f, 0) & CSR0_IDON);
    csr_w(f, 0, CSR0_STRT | CSR0_IENA);
    /* The handler's acknowledgement of IDON. */
    csr_w(f, 0, (uint16_t)(csr_r(f, 0) & ~0x004f));
    csr_w(f, 0, CSR0_IENA);
}

static void driver_open(Fix *f)
{
    driver_open_mode(f, 0x0080, PKT_BUF);
}

/* pcnet32_start_xmit for one buffer (or a chain when nbuf > 1). */
static void driver_queue(Fix *f, const uint8_t *frame, size_t len, unsigned nbuf)
{
    size_t off = 0;
    unsigned first = f->tx_next;

    for (unsigned b = 0; b < nbuf; b++) {
        unsigned i = f->tx_next++;
        size_t part = b + 1 == nbuf ? len - off : len / nbuf;
        uint32_t buf = P_TX_BUF + (i % TX_RING) * BUF_STRIDE;
        uint16_t st = ST_OWN | (b == 0 ? ST_STP : 0) | (b + 1 == nbuf ? ST_ENP : 0);

        memcpy(f->ram + buf, frame + off, part);
        w32(f, tx_desc(i), IOVA_BASE + buf);
        w16(f, tx_desc(i) + 4, (uint16_t)-(int)part);
        w32(f, tx_desc(i) + 8, 0);
        if (i != first) {
            w16(f, tx_desc(i) + 6, st);
        }
        off += part;
    }
    w16(f, tx_desc(first) + 6, ST_OWN | ST_STP | (nbuf == 1 ? ST_ENP : 0));
}

/* pcnet32_rx for one entry: checks it, hands it back, returns its length. */
static size_t driver_rx_one(Fix *f, uint8_t *out_frame)
{
    unsigned i = f->rx_next;
    uint16_t st = r16(f, rx_desc(i) + 6);
    size_t len = (r32(f, rx_desc(i) + 8) & 0xfff) - 4;

    assert_false(st & ST_OWN);
    assert_int_equal(st >> 8, 0x03);              /* STP|ENP, no error */
    memcpy(out_frame, f->ram + P_RX_BUF + (i % RX_RING) * BUF_STRIDE, len + 4);
    w16(f, rx_desc(i) + 4, (uint16_t)-PKT_BUF);
    w16(f, rx_desc(i) + 6, ST_OWN);
    f->rx_next++;
    return len;
}

/* --- tests --------------------------------------------------------------- */

static void test_pcnet__config_space__identifies_am79c970a(void **state)
{
    Fix *f = *state;

    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_VENDOR_ID, 2), 0x1022);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_DEVICE_ID, 2), 0x2000);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_REVISION_ID, 4) >> 8, 0x020000);
    assert_int_equal(pci_config_read(f->bus, NIC_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(pci_bus_bar_base(f->bus, NIC_DEVFN, 1) & 0xfff00000u, MEM_BASE);
}

static void test_pcnet__probe__sees_word_io_chip_id_and_aprom(void **state)
{
    Fix *f = *state;
    uint32_t id;
    uint16_t sum = 0;

    /* pcnet32_probe1: reset, CSR0 == 4, RAP reads back 88. */
    (void)in(f, WIO_RESET, 2);
    assert_int_equal(csr_r(f, 0), CSR0_STOP);
    out(f, WIO_RAP, 88, 2);
    assert_int_equal(in(f, WIO_RAP, 2), 88);
    id = csr_r(f, 88) | (uint32_t)csr_r(f, 89) << 16;
    assert_int_equal(id & 0xfff, 0x003);
    assert_int_equal((id >> 12) & 0xffff, 0x2621);        /* "PCnet/PCI II 79C970A" */
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(in(f, i, 1), test_mac[i]);
    }
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(csr_r(f, 12 + i), test_mac[2 * i] | test_mac[2 * i + 1] << 8);
    }
    assert_int_equal(in(f, 0x0e, 1), 'W');
    assert_int_equal(in(f, 0x0f, 1), 'W');
    assert_int_equal(in(f, 9, 1), 0x11);
    for (unsigned i = 0; i < 16; i++) {
        sum = (uint16_t)(sum + (i == 12 || i == 13 ? 0 : in(f, i, 1)));
    }
    assert_int_equal(in(f, 0x0c, 2), sum);
    /* A byte access to RDP is not a word-I/O access: not decoded. */
    assert_int_equal(in(f, WIO_RDP, 1), 0xff);
}

static void test_pcnet__dword_write_to_rdp__switches_to_dwio(void **state)
{
    Fix *f = *state;

    out(f, 0x10, 0, 4);                           /* RAP is 0: writes CSR0 */
    assert_true(bcr_r(f, 18) == 0xffff);          /* word I/O no longer decodes */
    out(f, 0x14, 88, 4);
    assert_int_equal(in(f, 0x14, 4) & 0xffff, 88);
    out(f, 0x14, 18, 4);
    assert_true(in(f, 0x1c, 4) & 0x0080);         /* BCR18.DWIO */
    pcnet_reset(f->nic);
    assert_int_equal(csr_r(f, 0), CSR0_STOP);
}

static void test_pcnet__init__loads_the_32bit_init_block(void **state)
{
    Fix *f = *state;

    bcr_w(f, 20, 2);
    assert_int_equal(bcr_r(f, 20) & 0x01ff, 0x0102);       /* SSIZE32 */
    assert_int_equal(csr_r(f, 58) & 0xff, 2);
    w16(f, P_INIT, 0x0080);
    w16(f, P_INIT + 2, (uint16_t)(4 << 12 | 5 << 4));
    memcpy(f->ram + P_INIT + 4, "\x02\x11\x22\x33\x44\x55", 6);
    w32(f, P_INIT + 12, 0x89abcdefu);
    w32(f, P_INIT + 16, 0x01234567u);
    w32(f, P_INIT + 20, IOVA_BASE + P_RX_RING);
    w32(f, P_INIT + 24, IOVA_BASE + P_TX_RING);
    csr_w(f, 1, (uint16_t)(IOVA_BASE + P_INIT));
    csr_w(f, 2, (uint16_t)((IOVA_BASE + P_INIT) >> 16));
    csr_w(f, 0, CSR0_INIT);
    assert_int_equal(csr_r(f, 0), CSR0_IDON | CSR0_INTR | CSR0_INIT);
    assert_int_equal(f->irq_level, 0);                     /* IENA clear */
    assert_int_equal(csr_r(f, 15), 0x0080);
    assert_int_equal(csr_r(f, 12), 0x1102);
    assert_int_equal(csr_r(f, 14), 0x5544);
    assert_int_equal(csr_r(f, 8), 0xcdef);
    assert_int_equal(csr_r(f, 11), 0x0123);
    assert_int_equal(csr_r(f, 6), 4 << 12 | 5 << 8);
    assert_int_equal(csr_r(f, 76), (uint16_t)-32);
    assert_int_equal(csr_r(f, 24) | (uint32_t)csr_r(f, 25) << 16, IOVA_BASE + P_RX_RING);
    /* IDON is write-1-to-clear; with IENA the line follows INTR. */
    csr_w(f, 0, CSR0_STRT | CSR0_IENA);
    assert_int_equal(f->irq_level, 1);
    assert_true(csr_r(f, 0) & (CSR0_RXON | CSR0_TXON));
    csr_w(f, 0, CSR0_IDON | CSR0_IENA);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(csr_r(f, 0), CSR0_IENA | CSR0_RXON | CSR0_TXON | CSR0_STRT | CSR0_INIT);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
}

static void test_pcnet__transmit__frames_60_to_1514_are_byte_exact_across_wraps(void **state)
{
    Fix *f = *state;
    uint8_t frame[NET_PORT_MAX_FRAME];
    static const uint8_t peer[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
    unsigned n = 0;

    driver_open(f);
    for (size_t len = 60; len <= 1514; len += 83, n++) {
        size_t want = len;

        make_frame(frame, want, peer, (unsigned)want);
        driver_queue(f, frame, want, 1);
        csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
        assert_int_equal(f->sent, n + 1);
        assert_int_equal(f->sent_len[n], want);
        assert_memory_equal(f->sent_frame[n], frame, want);
        /* Handed back, no error, TINT raised the line; the handler acks. */
        assert_int_equal(r16(f, tx_desc(n) + 6), ST_STP | ST_ENP);
        assert_true(csr_r(f, 0) & CSR0_TINT);
        assert_int_equal(f->irq_level, 1);
        csr_w(f, 0, CSR0_TINT | CSR0_IENA);
        assert_int_equal(f->irq_level, 0);
    }
    assert_true(n > 2 * TX_RING);
    make_frame(frame, 1514, peer, 1);
    driver_queue(f, frame, 1514, 1);
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    assert_int_equal(f->sent_len[n], 1514);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
}

static void test_pcnet__transmit__short_frame_is_padded_to_60(void **state)
{
    Fix *f = *state;
    uint8_t frame[60];

    driver_open(f);
    make_frame(frame, 42, test_mac, 3);
    memset(f->ram + P_TX_BUF + 42, 0xee, 64);     /* what lies after the data */
    driver_queue(f, frame, 42, 1);
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    assert_int_equal(f->sent, 1);
    assert_int_equal(f->sent_len[0], 60);
    memset(frame + 42, 0, 18);
    assert_memory_equal(f->sent_frame[0], frame, 60);
}

static void test_pcnet__transmit__chained_descriptors_make_one_frame(void **state)
{
    Fix *f = *state;
    uint8_t frame[1000];

    driver_open(f);
    make_frame(frame, sizeof(frame), test_mac, 9);
    driver_queue(f, frame, sizeof(frame), 3);
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    assert_int_equal(f->sent, 1);
    assert_int_equal(f->sent_len[0], sizeof(frame));
    assert_memory_equal(f->sent_frame[0], frame, sizeof(frame));
    for (unsigned i = 0; i < 3; i++) {
        assert_false(r16(f, tx_desc(i) + 6) & ST_OWN);
    }
}

static void test_pcnet__transmit__chain_without_enp__underflows_and_stops(void **state)
{
    Fix *f = *state;
    uint8_t frame[200];

    driver_open(f);
    make_frame(frame, sizeof(frame), test_mac, 1);
    driver_queue(f, frame, sizeof(frame), 2);
    w16(f, tx_desc(1) + 6, 0);                     /* the ENP part not yet given */
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    assert_int_equal(f->sent, 0);
    assert_int_equal(r16(f, tx_desc(0) + 6), ST_ERR | ST_STP);
    assert_int_equal(r32(f, tx_desc(0) + 8), TMD2_BUFF | TMD2_UFLO);
    assert_false(csr_r(f, 0) & CSR0_TXON);
    assert_true(csr_r(f, 0) & CSR0_TINT);
}

static void test_pcnet__transmit__demand_poll_runs_on_virtual_time(void **state)
{
    Fix *f = *state;
    uint8_t frame[100];

    driver_open(f);
    pcnet_advance(f->nic, 1000);                   /* nothing queued yet */
    make_frame(frame, sizeof(frame), test_mac, 2);
    driver_queue(f, frame, sizeof(frame), 1);      /* no TDMD */
    pcnet_advance(f->nic, 1000 + PCNET_POLL_INTERVAL_NS - 1);
    assert_int_equal(f->sent, 0);
    pcnet_advance(f->nic, 1000 + PCNET_POLL_INTERVAL_NS);
    assert_int_equal(f->sent, 1);
    assert_int_equal(f->irq_level, 1);
}

static void test_pcnet__receive__lands_byte_exact_with_fcs_and_status(void **state)
{
    Fix *f = *state;
    uint8_t frame[1514], got[1518];

    driver_open(f);
    for (size_t len = 60; len <= 1514; len += 1454) {
        make_frame(frame, len, test_mac, (unsigned)len);
        assert_int_equal(pcnet_receive(f->nic, frame, len), 0);
        assert_int_equal(f->irq_level, 1);
        assert_true(csr_r(f, 0) & CSR0_RINT);
        assert_int_equal(r16(f, rx_desc(f->rx_next) + 6), ST_STP | ST_ENP | ST_PAM);
        assert_int_equal(driver_rx_one(f, got), len);
        assert_memory_equal(got, frame, len);
        /* A correct FCS leaves the CRC register at the 802.3 residue. */
        assert_int_equal(crc_le(got, len + 4), 0xdebb20e3u);
        csr_w(f, 0, CSR0_RINT | CSR0_IENA);
        assert_int_equal(f->irq_level, 0);
    }
    assert_int_equal(iommu_fault_count(f->mmu), 0);
}

static void test_pcnet__receive__wraps_the_ring(void **state)
{
    Fix *f = *state;
    uint8_t frame[300], got[1518];

    driver_open(f);
    for (unsigned k = 0; k < 3 * RX_RING + 1; k++) {
        make_frame(frame, sizeof(frame), test_mac, k);
        assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
        assert_int_equal(driver_rx_one(f, got), sizeof(frame));
        assert_memory_equal(got, frame, sizeof(frame));
    }
}

static void test_pcnet__receive__full_ring__misses_and_asks_again(void **state)
{
    Fix *f = *state;
    uint8_t frame[64], got[1518];

    driver_open(f);
    make_frame(frame, sizeof(frame), test_mac, 0);
    for (unsigned k = 0; k < RX_RING; k++) {
        assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    }
    csr_w(f, 0, CSR0_RINT | CSR0_IENA);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), -EAGAIN);
    assert_int_equal(csr_r(f, 0) & (CSR0_MISS | CSR0_ERR), CSR0_MISS | CSR0_ERR);
    assert_int_equal(csr_r(f, 112), 1);
    assert_int_equal(f->irq_level, 1);
    /* NAPI masks MISS while it polls: no line for the next refusal. */
    csr_w(f, 0, CSR0_MISS | CSR0_IENA);
    csr_w(f, 3, 0x5f00);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), -EAGAIN);
    assert_int_equal(f->irq_level, 0);
    (void)driver_rx_one(f, got);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(csr_r(f, 112), 2);
}

static void test_pcnet__receive__off_or_bad_size__refused_without_miss(void **state)
{
    Fix *f = *state;
    uint8_t frame[1600];

    make_frame(frame, 100, test_mac, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, 100), -EAGAIN);      /* stopped */
    driver_open(f);
    assert_int_equal(pcnet_receive(f->nic, frame, 13), -EINVAL);
    assert_int_equal(pcnet_receive(f->nic, frame, 1515), -EINVAL);
    csr_w(f, 5, 0x0001);                                               /* SPND */
    assert_int_equal(csr_r(f, 5) & 1, 1);
    assert_int_equal(pcnet_receive(f->nic, frame, 100), -EAGAIN);
    csr_w(f, 5, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, 100), 0);
    assert_false(csr_r(f, 0) & CSR0_MISS);
    csr_w(f, 0, CSR0_STOP);
    assert_int_equal(pcnet_receive(f->nic, frame, 100), -EAGAIN);
    assert_int_equal(csr_r(f, 0), CSR0_STOP);
}

static void test_pcnet__receive__applies_the_address_filter(void **state)
{
    Fix *f = *state;
    static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0x99, 0x99, 0x99 };
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    uint8_t frame[100];
    unsigned h = crc_le(mcast, 6) >> 26;

    driver_open(f);
    make_frame(frame, sizeof(frame), other, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_true(r16(f, rx_desc(0) + 6) & ST_OWN);               /* discarded */
    make_frame(frame, sizeof(frame), mcast, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_true(r16(f, rx_desc(0) + 6) & ST_OWN);               /* not in LADRF */
    make_frame(frame, sizeof(frame), bcast, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(r16(f, rx_desc(0) + 6), ST_STP | ST_ENP | ST_BAM);
    /* pcnet32_load_multicast under suspend: the hash bit of the group. */
    csr_w(f, 5, 1);
    csr_w(f, 8 + (h >> 4), (uint16_t)(1u << (h & 15)));
    csr_w(f, 5, 0);
    make_frame(frame, sizeof(frame), mcast, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(r16(f, rx_desc(1) + 6), ST_STP | ST_ENP | ST_LAFM);
    /* Promiscuous: everything, with no match flag. */
    csr_w(f, 5, 1);
    csr_w(f, 15, 0x8080);
    csr_w(f, 5, 0);
    make_frame(frame, sizeof(frame), other, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(r16(f, rx_desc(2) + 6), ST_STP | ST_ENP);
}

static void test_pcnet__receive__chains_small_buffers(void **state)
{
    Fix *f = *state;
    uint8_t frame[300];

    driver_open_mode(f, 0x0080, 128);
    make_frame(frame, sizeof(frame), test_mac, 5);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(r16(f, rx_desc(0) + 6), ST_STP);
    assert_int_equal(r16(f, rx_desc(1) + 6), 0);
    assert_int_equal(r16(f, rx_desc(2) + 6), ST_ENP | ST_PAM);
    assert_int_equal(r32(f, rx_desc(2) + 8), sizeof(frame) + 4);
    assert_memory_equal(f->ram + P_RX_BUF, frame, 128);
    assert_memory_equal(f->ram + P_RX_BUF + BUF_STRIDE, frame + 128, 128);
    assert_memory_equal(f->ram + P_RX_BUF + 2 * BUF_STRIDE, frame + 256, 44);
    assert_true(r16(f, rx_desc(3) + 6) & ST_OWN);
    /* A chain that runs out: BUFF in the last descriptor the chip had. */
    for (unsigned i = 5; i < RX_RING; i++) {
        w16(f, rx_desc(i) + 6, 0);
    }
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(r16(f, rx_desc(3) + 6), ST_STP);
    assert_int_equal(r16(f, rx_desc(4) + 6), ST_ERR | ST_BUFF);
}

static void test_pcnet__interrupts__follow_masks_and_iena(void **state)
{
    Fix *f = *state;
    uint8_t frame[64];
    uint16_t csr0;

    driver_open(f);
    make_frame(frame, sizeof(frame), test_mac, 0);
    csr_w(f, 3, 0x0400);                           /* RINTM */
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_true(csr_r(f, 0) & CSR0_RINT);
    assert_false(csr_r(f, 0) & CSR0_INTR);
    assert_int_equal(f->irq_level, 0);
    csr_w(f, 3, 0);                                /* pcnet32_poll unmasks */
    assert_int_equal(f->irq_level, 1);
    /* pcnet32_interrupt: ack with csr0 & ~0x004f, which also drops IENA. */
    csr0 = csr_r(f, 0);
    csr_w(f, 0, (uint16_t)(csr0 & ~0x004f));
    assert_int_equal(f->irq_level, 0);
    assert_false(csr_r(f, 0) & (CSR0_RINT | CSR0_IENA));
    assert_true(csr_r(f, 0) & CSR0_RXON);
    /* A source while IENA is clear waits for IENA. */
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(f->irq_level, 0);
    csr_w(f, 0, CSR0_IENA);
    assert_int_equal(f->irq_level, 1);
    /* UINTCMD: the user interrupt. */
    csr_w(f, 0, CSR0_RINT | CSR0_IENA);
    csr_w(f, 4, 0x0915 | 0x0080);
    assert_true(csr_r(f, 4) & 0x0040);
    assert_int_equal(f->irq_level, 1);
    csr_w(f, 4, 0x0915 | 0x0040);
    assert_int_equal(f->irq_level, 0);
}

static void test_pcnet__rx_buffer_unmapped__merr_master_abort_and_fault(void **state)
{
    Fix *f = *state;
    uint8_t frame[100];
    IommuFault flt;

    driver_open(f);
    w32(f, rx_desc(0), IOVA_UNMAPPED);
    make_frame(frame, sizeof(frame), test_mac, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), -EIO);
    assert_int_equal(csr_r(f, 0) & (CSR0_MERR | CSR0_ERR), CSR0_MERR | CSR0_ERR);
    assert_int_equal(f->irq_level, 1);
    assert_true(pci_config_read(f->bus, NIC_DEVFN, PCI_STATUS, 2) &
                PCI_STATUS_REC_MASTER_ABORT);
    assert_true(r16(f, rx_desc(0) + 6) & ST_OWN);   /* nothing written back */
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.iova, IOVA_UNMAPPED);
    assert_int_equal(flt.dir, IOMMU_DIR_WRITE);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
}

static void test_pcnet__tx_ring_unmapped__merr_and_fault(void **state)
{
    Fix *f = *state;
    IommuFault flt;

    driver_open(f);
    assert_int_equal(iommu_unmap_range(f->mmu, RID, IOVA_BASE + P_TX_RING, IOMMU_PAGE_SIZE), 0);
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    assert_true(csr_r(f, 0) & CSR0_MERR);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.iova, IOVA_BASE + P_TX_RING);
    assert_int_equal(flt.dir, IOMMU_DIR_READ);
    /* Bus mastering off: the chip cannot even try; the IOMMU sees nothing. */
    pci_config_write(f->bus, NIC_DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    csr_w(f, 0, CSR0_MERR | CSR0_IENA | CSR0_TDMD);
    assert_true(csr_r(f, 0) & CSR0_MERR);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
}

static void test_pcnet__stop__clears_csr0_and_halts(void **state)
{
    Fix *f = *state;
    uint8_t frame[64];

    driver_open(f);
    make_frame(frame, sizeof(frame), test_mac, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(f->irq_level, 1);
    csr_w(f, 0, CSR0_STOP | CSR0_STRT | CSR0_INIT);
    assert_int_equal(csr_r(f, 0), CSR0_STOP);
    assert_int_equal(f->irq_level, 0);
    driver_queue(f, frame, sizeof(frame), 1);
    csr_w(f, 0, CSR0_TDMD);
    assert_int_equal(f->sent, 0);
    bcr_w(f, 20, 4);                               /* pcnet32_close */
    assert_int_equal(bcr_r(f, 20) & 0xff, 4);
}

static void test_pcnet__link__bcr4_reports_link_up(void **state)
{
    Fix *f = *state;

    /* pcnet32_check_media on a 79C970A with the TP port: BCR4 != 0xc0. */
    assert_int_equal(bcr_r(f, 4), 0x80c0);
    bcr_w(f, 4, 0x00c0 ^ 0x4000);                  /* ethtool blink: LEDPOL */
    assert_int_equal(bcr_r(f, 4), 0xc0c0);
    bcr_w(f, 4, 0x0000);                           /* link status not shown */
    assert_int_equal(bcr_r(f, 4), 0x0000);
    assert_int_equal(bcr_r(f, 2), 0x0002);         /* ASEL */
    bcr_w(f, 2, bcr_r(f, 2) | 0x1000);
    assert_int_equal(bcr_r(f, 2), 0x1002);
    assert_int_equal(bcr_r(f, 34), 0);             /* no MII PHY */
}

static void test_pcnet__save_restore__round_trips_mid_traffic(void **state)
{
    Fix *f = *state;
    uint8_t frame[200], got[1518];
    size_t n = pcnet_state_size();
    uint8_t *blob = malloc(n), *again = malloc(n);

    driver_open(f);
    for (unsigned k = 0; k < 5; k++) {
        make_frame(frame, sizeof(frame), test_mac, k);
        assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
        (void)driver_rx_one(f, got);
        driver_queue(f, frame, sizeof(frame), 1);
        csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    }
    csr_w(f, 3, 0x0200);                           /* TINTM: state to keep */
    pcnet_state_save(f->nic, blob);
    pcnet_reset(f->nic);
    assert_int_equal(csr_r(f, 0), CSR0_STOP);
    assert_int_equal(pcnet_state_restore(f->nic, blob), 0);
    pcnet_state_save(f->nic, again);
    assert_memory_equal(blob, again, n);
    assert_int_equal(csr_r(f, 3), 0x0200);
    /* The ring positions came back: traffic continues where it was. */
    make_frame(frame, sizeof(frame), test_mac, 77);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(driver_rx_one(f, got), sizeof(frame));
    assert_memory_equal(got, frame, sizeof(frame));
    driver_queue(f, frame, sizeof(frame), 1);
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    assert_int_equal(f->sent, 6);
    assert_memory_equal(f->sent_frame[5], frame, sizeof(frame));
    /* A blob with an impossible ring is refused and changes nothing. */
    memset(again, 0xff, n);                        /* ring of 65535 */
    assert_int_equal(pcnet_state_restore(f->nic, again), -EINVAL);
    assert_true(csr_r(f, 0) & CSR0_RXON);
    free(blob);
    free(again);
}

static void test_pcnet__loopback__frame_comes_back_to_the_ring(void **state)
{
    Fix *f = *state;
    uint8_t frame[100], got[1518];

    driver_open_mode(f, 0x0044, PKT_BUF);          /* INTL | LOOP */
    make_frame(frame, sizeof(frame), test_mac, 4);
    driver_queue(f, frame, sizeof(frame), 1);
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    assert_int_equal(f->sent, 0);
    assert_int_equal(driver_rx_one(f, got), sizeof(frame));
    assert_memory_equal(got, frame, sizeof(frame));
}

static void test_pcnet__transmit__ring_without_enp__underflows_once(void **state)
{
    Fix *f = *state;
    uint8_t frame[TX_RING * 64];

    driver_open(f);
    make_frame(frame, sizeof(frame), test_mac, 1);
    driver_queue(f, frame, sizeof(frame), TX_RING);
    w16(f, tx_desc(TX_RING - 1) + 6, ST_OWN);      /* ENP never comes */
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    assert_int_equal(f->sent, 0);
    assert_int_equal(r16(f, tx_desc(TX_RING - 1) + 6), ST_ERR);
    assert_int_equal(r32(f, tx_desc(TX_RING - 1) + 8), TMD2_BUFF | TMD2_UFLO);
    assert_int_equal(r16(f, tx_desc(0) + 6), ST_STP);
}

/* SWSTYLE 0 (LANCE): 24-byte init block, 8-byte descriptors, 24-bit
 * addresses whose top byte comes from IADR[31:24]. */
static void test_pcnet__swstyle0__16bit_init_block_and_descriptors_work(void **state)
{
    Fix *f = *state;
    uint8_t frame[100];
    const uint32_t rx = 0x5000, tx = 0x5100, rxbuf = 0x6000, txbuf = 0x7000;

    bcr_w(f, 20, 0);
    assert_int_equal(bcr_r(f, 20) & 0x0300, 0x0200);        /* CSRPCNET, no SSIZE32 */
    w16(f, P_INIT, 0x0000);
    memcpy(f->ram + P_INIT + 2, test_mac, 6);
    memset(f->ram + P_INIT + 8, 0, 8);
    w16(f, P_INIT + 16, (uint16_t)rx);
    w16(f, P_INIT + 18, (uint16_t)(1u << 13 | (rx >> 16)));  /* RLEN 2 */
    w16(f, P_INIT + 20, (uint16_t)tx);
    w16(f, P_INIT + 22, (uint16_t)(1u << 13 | (tx >> 16)));
    for (unsigned i = 0; i < 2; i++) {
        w16(f, rx + 8 * i, (uint16_t)(rxbuf + i * BUF_STRIDE));
        w16(f, rx + 8 * i + 2, 0x8000);                     /* OWN, addr 23:16 = 0 */
        w16(f, rx + 8 * i + 4, (uint16_t)-PKT_BUF);
        w16(f, rx + 8 * i + 6, 0);
    }
    csr_w(f, 1, (uint16_t)(IOVA_BASE + P_INIT));
    csr_w(f, 2, (uint16_t)((IOVA_BASE + P_INIT) >> 16));
    csr_w(f, 0, CSR0_INIT | CSR0_STRT | CSR0_IENA);
    assert_true(csr_r(f, 0) & CSR0_IDON);
    assert_int_equal(csr_r(f, 76), (uint16_t)-2);
    make_frame(frame, sizeof(frame), test_mac, 8);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    assert_int_equal(r16(f, rx + 2), 0x0300);                /* STP|ENP, OWN clear */
    assert_int_equal(r16(f, rx + 6), sizeof(frame) + 4);
    assert_memory_equal(f->ram + rxbuf, frame, sizeof(frame));
    memcpy(f->ram + txbuf, frame, sizeof(frame));
    w16(f, tx, (uint16_t)txbuf);
    w16(f, tx + 4, (uint16_t)-(int)sizeof(frame));
    w16(f, tx + 6, 0);
    w16(f, tx + 2, 0x8300);                                 /* OWN|STP|ENP */
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    assert_int_equal(f->sent, 1);
    assert_memory_equal(f->sent_frame[0], frame, sizeof(frame));
    assert_int_equal(r16(f, tx + 2), 0x0300);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
}

static void count_config_reads(void *opaque, const PciAccess *a)
{
    if (a->kind == PCI_ACCESS_CONFIG_READ) {
        ++*(unsigned *)opaque;
    }
}

/* The register trace shows the driver's accesses only: the chip knows its
 * own command register, it does not read config space to DMA. */
static void test_pcnet__traffic__adds_no_config_reads_to_the_trace(void **state)
{
    Fix *f = *state;
    uint8_t frame[100], got[1518];
    unsigned reads = 0;

    driver_open(f);
    pci_bus_set_trace(f->bus, count_config_reads, &reads);
    make_frame(frame, sizeof(frame), test_mac, 0);
    assert_int_equal(pcnet_receive(f->nic, frame, sizeof(frame)), 0);
    (void)driver_rx_one(f, got);
    driver_queue(f, frame, sizeof(frame), 1);
    csr_w(f, 0, CSR0_IENA | CSR0_TDMD);
    pcnet_advance(f->nic, PCNET_POLL_INTERVAL_NS);
    assert_int_equal(f->sent, 1);
    assert_int_equal(reads, 0);
    pci_bus_set_trace(f->bus, NULL, NULL);
}

static void test_pcnet__crc_helper__matches_the_check_value(void **state)
{
    (void)state;
    /* The CRC-32 check value of "123456789" keeps the tests' own CRC honest. */
    assert_int_equal(~crc_le((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcnet__crc_helper__matches_the_check_value),
        T(test_pcnet__config_space__identifies_am79c970a),
        T(test_pcnet__probe__sees_word_io_chip_id_and_aprom),
        T(test_pcnet__dword_write_to_rdp__switches_to_dwio),
        T(test_pcnet__init__loads_the_32bit_init_block),
        T(test_pcnet__transmit__frames_60_to_1514_are_byte_exact_across_wraps),
        T(test_pcnet__transmit__short_frame_is_padded_to_60),
        T(test_pcnet__transmit__chained_descriptors_make_one_frame),
        T(test_pcnet__transmit__chain_without_enp__underflows_and_stops),
        T(test_pcnet__transmit__demand_poll_runs_on_virtual_time),
        T(test_pcnet__receive__lands_byte_exact_with_fcs_and_status),
        T(test_pcnet__receive__wraps_the_ring),
        T(test_pcnet__receive__full_ring__misses_and_asks_again),
        T(test_pcnet__receive__off_or_bad_size__refused_without_miss),
        T(test_pcnet__receive__applies_the_address_filter),
        T(test_pcnet__receive__chains_small_buffers),
        T(test_pcnet__interrupts__follow_masks_and_iena),
        T(test_pcnet__rx_buffer_unmapped__merr_master_abort_and_fault),
        T(test_pcnet__tx_ring_unmapped__merr_and_fault),
        T(test_pcnet__stop__clears_csr0_and_halts),
        T(test_pcnet__link__bcr4_reports_link_up),
        T(test_pcnet__save_restore__round_trips_mid_traffic),
        T(test_pcnet__loopback__frame_comes_back_to_the_ring),
        T(test_pcnet__transmit__ring_without_enp__underflows_once),
        T(test_pcnet__swstyle0__16bit_init_block_and_descriptors_work),
        T(test_pcnet__traffic__adds_no_config_reads_to_the_trace),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
