/*
 * devices/rtl8139_rxtx.c: the RTL8139's data path -- bus-master DMA, the
 * receive ring buffer with its address filter and FCS (datasheet §7.2) and
 * the four transmit descriptors (§7.1).  See rtl8139.c for what the model
 * covers as a whole.
 */
#include "devices/rtl8139_internal.h"

#include <errno.h>
#include <string.h>

#include "devices/net_frames.h"

/* --- DMA ----------------------------------------------------------------- */

/* An aborted bus cycle, as the guest sees it; the IOMMU (if it was asked)
 * has recorded why. */
static void rtl8139_dma_abort(Rtl8139 *s)
{
    s->r.isr |= RTL8139_INT_SERR;
    pci_bus_set_status(s->bus, s->devfn, PCI_STATUS_REC_MASTER_ABORT);
}

static int rtl8139_dma_read(Rtl8139 *s, uint64_t addr, void *buf, size_t len)
{
    if (!s->dma || !s->bus_master || dma_read(s->dma, addr, buf, len) != 0) {
        rtl8139_dma_abort(s);
        return -EFAULT;
    }
    return 0;
}

static int rtl8139_dma_write(Rtl8139 *s, uint64_t addr, const void *buf, size_t len)
{
    if (!s->dma || !s->bus_master || dma_write(s->dma, addr, buf, len) != 0) {
        rtl8139_dma_abort(s);
        return -EFAULT;
    }
    return 0;
}

/* --- receive ------------------------------------------------------------- */

/* The header status bits if RCR accepts a frame for dst, else 0. */
static uint16_t rtl8139_rx_filter(const Rtl8139 *s, const uint8_t *dst)
{
    static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint32_t rcr = s->r.rcr;

    if (!memcmp(dst, broadcast, 6)) {
        return (rcr & RTL8139_RCR_AB) ? RTL8139_RXS_BAR | RTL8139_RXS_ROK : 0;
    }
    if (dst[0] & 1) {
        /* 8139too: ether_crc(ETH_ALEN, addr) >> 26 */
        unsigned bit = net_frames_mcast_hash(dst);

        return (rcr & RTL8139_RCR_AM) && (s->r.mar[bit >> 3] >> (bit & 7) & 1)
                   ? RTL8139_RXS_MAR | RTL8139_RXS_ROK : 0;
    }
    if (!memcmp(dst, s->r.idr, 6) && (rcr & RTL8139_RCR_APM)) {
        return RTL8139_RXS_PAM | RTL8139_RXS_ROK;
    }
    return (rcr & RTL8139_RCR_AAP) ? RTL8139_RXS_ROK : 0;
}

/* Writes n bytes at ring offset off: split at the end of the ring when the
 * chip wraps, one run past the end when RCR.WRAP says so. */
static int rtl8139_rx_write(Rtl8139 *s, unsigned off, const uint8_t *p, unsigned n)
{
    unsigned ring = rtl8139_ring_len(s);
    int wrap = !(s->r.rcr & RTL8139_RCR_WRAP) || ring == 65536;
    unsigned first = (wrap && off + n > ring) ? ring - off : n;

    if (rtl8139_dma_write(s, s->r.rbstart + (uint64_t)off, p, first) != 0) {
        return -EFAULT;
    }
    if (first < n && rtl8139_dma_write(s, s->r.rbstart, p + first, n - first) != 0) {
        return -EFAULT;
    }
    return 0;
}

int rtl8139_receive(Rtl8139 *s, const uint8_t *frame, size_t len)
{
    unsigned ring = rtl8139_ring_len(s), wire, need, used;
    uint16_t status;
    uint8_t *p = s->frame;
    uint32_t fcs;

    if (len < RTL8139_ETH_HDR || len > NET_PORT_MAX_FRAME) {
        return -EINVAL;
    }
    if (!(s->r.cr & RTL8139_CR_RE)) {
        return -EAGAIN;
    }
    status = rtl8139_rx_filter(s, frame);
    if (!status) {
        return 0;
    }
    wire = (len < RTL8139_ETH_MIN ? RTL8139_ETH_MIN : (unsigned)len) + RTL8139_FCS;
    need = (RTL8139_RX_HDR + wire + 3) & ~3u;
    /* Filling the ring completely would make it look empty (CBR equal to
     * the read position), so the last 4 bytes before it stay free. */
    used = (s->r.cbr - rtl8139_rx_read_pos(s)) & (ring - 1);
    if (need >= ring - used) {
        s->r.isr |= RTL8139_INT_RXOVW;
        rtl8139_update_irq(s);
        return -EAGAIN;
    }
    memset(p, 0, need);
    p[0] = (uint8_t)status;
    p[1] = (uint8_t)(status >> 8);
    p[2] = (uint8_t)wire;
    p[3] = (uint8_t)(wire >> 8);
    memcpy(p + RTL8139_RX_HDR, frame, len);
    fcs = net_frames_crc32(p + RTL8139_RX_HDR, wire - RTL8139_FCS);
    for (int i = 0; i < 4; i++) {
        p[RTL8139_RX_HDR + wire - RTL8139_FCS + i] = (uint8_t)(fcs >> (8 * i));
    }
    if (rtl8139_rx_write(s, s->r.cbr, p, RTL8139_RX_HDR + wire) != 0) {
        rtl8139_update_irq(s);
        return -EFAULT;
    }
    s->r.cbr = (uint16_t)((s->r.cbr + need) & (ring - 1));
    s->r.isr |= RTL8139_INT_ROK;
    rtl8139_update_irq(s);
    return 0;
}

/* --- transmit ------------------------------------------------------------ */

/* Fetches and sends the frame of descriptor slot; ends it as the chip does. */
static void rtl8139_tx_one(Rtl8139 *s, int slot)
{
    uint32_t size = s->r.tsd[slot] & RTL8139_TSD_SIZE;

    if (size > RTL8139_TX_MAX ||
        (size && rtl8139_dma_read(s, s->r.tsad[slot], s->frame, size) != 0)) {
        s->r.tsd[slot] |= RTL8139_TSD_OWN | RTL8139_TSD_TABT;
        s->r.isr |= RTL8139_INT_TER;
        return;
    }
    s->r.tsd[slot] |= RTL8139_TSD_OWN;            /* the buffer is back */
    if (s->r.tcr & RTL8139_TCR_NOCRC) {
        /* The driver supplied the FCS; the port carries frames without. */
        size = size > RTL8139_FCS ? size - RTL8139_FCS : 0;
    }
    if (size) {
        net_port_tx(&s->net, s->frame, size);
    }
    s->r.tsd[slot] |= RTL8139_TSD_TOK;
    s->r.isr |= RTL8139_INT_TOK;
}

/* Serves the descriptors handed to the chip, in ring order from tx_next. */
void rtl8139_rxtx_kick(Rtl8139 *s)
{
    if (!(s->r.cr & RTL8139_CR_TE)) {
        return;
    }
    while (!(s->r.tsd[s->r.tx_next] & RTL8139_TSD_OWN)) {
        rtl8139_tx_one(s, s->r.tx_next);
        s->r.tx_next = (s->r.tx_next + 1) & 3;
    }
}
