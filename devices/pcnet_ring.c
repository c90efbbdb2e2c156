/*
 * devices/pcnet_ring.c: the Am79C970A's descriptor rings -- the
 * initialization block, descriptor layouts (SWSTYLE 0, 2, 3), transmit and
 * receive with the address filter (data sheet, "Initialization Block",
 * "Descriptor Rings", "Transmit and Receive Operation").  See pcnet.c for
 * what the model covers as a whole.
 */
#include "devices/pcnet_internal.h"

#include <errno.h>
#include <string.h>

#include "devices/net_frames.h"

/* --- helpers ------------------------------------------------------------ */

/* Byte count of a BCNT word: 12-bit two's complement, 0 meaning 4096. */
static unsigned pcnet_bcnt_len(uint16_t bcnt)
{
    unsigned n = (0x1000u - (bcnt & 0xfffu)) & 0xfffu;

    return n ? n : 0x1000u;
}

/* --- descriptors -------------------------------------------------------- */

static uint32_t pcnet_desc_addr(const Pcnet *s, uint32_t base, unsigned idx)
{
    return base + idx * (pcnet_ssize32(s) ? 16u : 8u);
}

/* Reads one descriptor.  Layouts (data sheet, "Descriptor Rings"):
 *   style 2: addr, bcnt, flags, misc;   style 3: misc, bcnt, flags, addr;
 *   style 0: addr[15:0], addr[23:16] + flags[15:8], bcnt, misc[15:0]. */
static int pcnet_desc_read(Pcnet *s, uint32_t at, PcnetDesc *d)
{
    uint8_t b[16];

    if (pcnet_dma(s, 0, at, b, pcnet_ssize32(s) ? 16 : 8)) {
        return -EIO;
    }
    if (!pcnet_ssize32(s)) {
        d->addr = (s->r.iadr & 0xff000000u) | pcnet_le16(b) | (uint32_t)b[2] << 16;
        d->flags = (uint16_t)(b[3] << 8);
        d->bcnt = pcnet_le16(b + 4);
        d->misc = pcnet_le16(b + 6);
        return 0;
    }
    d->bcnt = pcnet_le16(b + 4);
    d->flags = pcnet_le16(b + 6);
    d->addr = pcnet_le32(b + (pcnet_style(s) == 3 ? 8 : 0));
    d->misc = pcnet_le32(b + (pcnet_style(s) == 3 ? 0 : 8));
    return 0;
}

/* Writes back what the chip owns in a descriptor: misc (when asked) before
 * the flags, so the driver never sees OWN clear with a stale count. */
static int pcnet_desc_write(Pcnet *s, uint32_t at, const PcnetDesc *d, int with_misc, int tx)
{
    uint8_t b[4];

    if (!pcnet_ssize32(s)) {
        uint8_t f = (uint8_t)(d->flags >> 8);

        /* 16-bit TMD3 holds the error bits 31:16 of the 32-bit TMD2. */
        pcnet_put16(b, (uint16_t)(tx ? d->misc >> 16 : d->misc));
        if (with_misc && pcnet_dma(s, 1, at + 6, b, 2)) {
            return -EIO;
        }
        return pcnet_dma(s, 1, at + 3, &f, 1);
    }
    pcnet_put32(b, d->misc);
    if (with_misc && pcnet_dma(s, 1, at + (pcnet_style(s) == 3 ? 0 : 8), b, 4)) {
        return -EIO;
    }
    pcnet_put16(b, d->flags);
    return pcnet_dma(s, 1, at + 6, b, 2);
}

/* --- initialization ----------------------------------------------------- */

static unsigned pcnet_ring_len(unsigned log2, unsigned max)
{
    unsigned n = 1u << (log2 > 9 ? 9 : log2);

    return n > max ? max : n;
}

/* INIT: the initialization block at IADR (data sheet, "Initialization
 * Block"), 28 bytes with SSIZE32, else 24 with 24-bit ring addresses. */
void pcnet_ring_init(Pcnet *s)
{
    PcnetRegs *r = &s->r;
    uint8_t b[28];
    unsigned st = pcnet_style(s);

    r->csr0 = (uint16_t)((r->csr0 & ~CSR0_STOP) | CSR0_INIT);
    if (st != 0 && st != 2 && st != 3) {
        r->csr0 |= CSR0_MERR;      /* ILACC or reserved: not modelled */
        return;
    }
    if (pcnet_ssize32(s)) {
        if (pcnet_dma(s, 0, r->iadr, b, 28)) {
            return;
        }
        r->rlen = (uint16_t)pcnet_ring_len(b[2] >> 4, PCNET_RING_MAX);
        r->tlen = (uint16_t)pcnet_ring_len(b[3] >> 4, PCNET_RING_MAX);
        for (int i = 0; i < 3; i++) {
            r->padr[i] = pcnet_le16(b + 4 + 2 * i);
        }
        for (int i = 0; i < 4; i++) {
            r->ladrf[i] = pcnet_le16(b + 12 + 2 * i);
        }
        r->rdra = pcnet_le32(b + 20);
        r->tdra = pcnet_le32(b + 24);
    } else {
        uint32_t hi = r->iadr & 0xff000000u;

        if (pcnet_dma(s, 0, r->iadr, b, 24)) {
            return;
        }
        for (int i = 0; i < 3; i++) {
            r->padr[i] = pcnet_le16(b + 2 + 2 * i);
        }
        for (int i = 0; i < 4; i++) {
            r->ladrf[i] = pcnet_le16(b + 8 + 2 * i);
        }
        r->rdra = hi | pcnet_le16(b + 16) | (uint32_t)b[18] << 16;
        r->rlen = (uint16_t)pcnet_ring_len(b[19] >> 5, 128);
        r->tdra = hi | pcnet_le16(b + 20) | (uint32_t)b[22] << 16;
        r->tlen = (uint16_t)pcnet_ring_len(b[23] >> 5, 128);
    }
    r->csr15 = pcnet_le16(b);
    r->rx_idx = 0;
    r->tx_idx = 0;
    r->csr0 |= CSR0_IDON;
}

/* --- transmit ----------------------------------------------------------- */

static int pcnet_rx_frame(Pcnet *s, const uint8_t *frame, size_t len);

static int pcnet_tx_active(const Pcnet *s)
{
    return (s->r.csr0 & CSR0_TXON) && !(s->r.csr5 & CSR5_SPND);
}

static int pcnet_rx_active(const Pcnet *s)
{
    return (s->r.csr0 & CSR0_RXON) && !(s->r.csr5 & CSR5_SPND);
}

/* The frame leaves (or loops back): the NetPort gets it without FCS. */
static void pcnet_tx_send(Pcnet *s, uint8_t *frame, size_t len, uint16_t stp_flags)
{
    int fcs_in_buffer = (s->r.csr15 & CSR15_DXMTFCS) && !(stp_flags & TMD_ADD_FCS);

    s->r.csr4 |= CSR4_TXSTRT;
    if (fcs_in_buffer) {
        len = len >= 4 ? len - 4 : 0;
    } else if ((s->r.csr4 & CSR4_APAD_XMT) && len < NET_PORT_MIN_FRAME) {
        memset(frame + len, 0, NET_PORT_MIN_FRAME - len);
        len = NET_PORT_MIN_FRAME;
    }
    if (len + 4 > PCNET_FRAME_MAX) {
        s->r.csr0 |= CSR0_BABL;    /* babble: no station takes it */
        return;
    }
    if (len == 0) {
        return;                    /* nothing but an FCS: nothing to see */
    }
    if (s->r.csr15 & (CSR15_LOOP | CSR15_INTL)) {
        (void)pcnet_rx_frame(s, frame, len);
        return;
    }
    net_port_tx(&s->net, frame, len);
}

/* Transmits the frame at the current descriptor.  Returns 1 when the chip
 * should go on to the next descriptor, 0 when the poll ends. */
static int pcnet_tx_one(Pcnet *s)
{
    PcnetRegs *r = &s->r;
    uint8_t frame[PCNET_TX_BUF];
    PcnetDesc d[PCNET_RING_MAX + 1];   /* + the one past a full ring */
    size_t total = 0;
    unsigned n = 0;

    for (;;) {
        PcnetDesc *cur = &d[n];
        size_t len;

        if (n < r->tlen &&
            pcnet_desc_read(s, pcnet_desc_addr(s, r->tdra, (r->tx_idx + n) % r->tlen), cur)) {
            return 0;
        }
        /* The next descriptor is not the chip's (or the whole ring is one
         * unfinished frame): before ENP, the FIFO runs dry mid-frame. */
        if (n == r->tlen || !(cur->flags & DESC_OWN)) {
            if (n == 0) {
                return 0;          /* nothing queued */
            }
            d[n - 1].flags |= DESC_ERR;
            d[n - 1].misc |= TMD2_BUFF | TMD2_UFLO;
            if (!(r->csr3 & CSR3_DXSUFLO)) {
                r->csr0 &= (uint16_t)~CSR0_TXON;
            }
            break;
        }
        n++;
        if (n == 1 && !(cur->flags & DESC_STP)) {
            break;                 /* not a frame start: handed back unsent */
        }
        len = pcnet_bcnt_len(cur->bcnt);
        if (total < sizeof(frame) &&
            pcnet_dma(s, 0, cur->addr, frame + total,
                      len < sizeof(frame) - total ? len : sizeof(frame) - total)) {
            return 0;
        }
        total += len;
        if (cur->flags & DESC_ENP) {
            if (total > sizeof(frame)) {
                r->csr0 |= CSR0_BABL;
            } else {
                pcnet_tx_send(s, frame, total, d[0].flags);
            }
            break;
        }
    }
    /* Write back, the STP descriptor last: the driver looks at it first. */
    uint16_t last = d[n - 1].flags;
    uint16_t keep = (r->csr5 & CSR5_LTINTEN) ? TMD_LTINT : 0;

    for (unsigned i = 1; i <= n; i++) {
        unsigned k = i % n;        /* 1, 2, ..., n-1, then 0 */

        d[k].flags &= (uint16_t)(~(DESC_OWN | TMD_LTINT | TMD_ONE | TMD_DEF) | keep);
        if (pcnet_desc_write(s, pcnet_desc_addr(s, r->tdra, (r->tx_idx + k) % r->tlen),
                             &d[k], (d[k].flags & DESC_ERR) != 0, 1)) {
            return 0;
        }
    }
    r->tx_idx = (uint16_t)((r->tx_idx + n) % r->tlen);
    if ((last & DESC_ERR) || ((r->csr5 & CSR5_LTINTEN) ? (last & TMD_LTINT) != 0
                                                      : !(r->csr5 & CSR5_TOKINTD))) {
        r->csr0 |= CSR0_TINT;
    }
    return pcnet_tx_active(s);
}

/* One pass over the ring: at most one look at each descriptor. */
void pcnet_ring_tx_poll(Pcnet *s)
{
    for (unsigned i = 0; i < s->r.tlen && pcnet_tx_active(s); i++) {
        if (!pcnet_tx_one(s)) {
            break;
        }
    }
}

/* --- receive ------------------------------------------------------------ */

/* The address filter: the match flags for RMD1, or -1 to discard. */
static int pcnet_rx_match(const Pcnet *s, const uint8_t *dst)
{
    const PcnetRegs *r = &s->r;
    uint8_t padr[6];
    int m = 0;

    for (int i = 0; i < 3; i++) {
        pcnet_put16(padr + 2 * i, r->padr[i]);
    }
    if (!(r->csr15 & CSR15_DRCVPA) && memcmp(dst, padr, 6) == 0) {
        m = RMD_PAM;
    } else if (dst[0] & 1) {
        static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        /* LADRF: the top six bits of the reflected CRC-32 register over
         * the destination (preset all ones, not inverted: ~FCS). */
        unsigned h = ~net_frames_crc32(dst, 6) >> 26;

        if (memcmp(dst, bcast, 6) == 0 && !(r->csr15 & CSR15_DRCVBC)) {
            m = RMD_BAM;
        } else if (r->ladrf[h >> 4] >> (h & 15) & 1) {
            m = RMD_LAFM;
        }
    }
    return m || (r->csr15 & CSR15_PROM) ? m : -1;
}

static void pcnet_rx_missed(Pcnet *s)
{
    s->r.csr0 |= CSR0_MISS;
    if (++s->r.csr112 == 0) {
        s->r.csr4 |= CSR4_MFCO;
    }
}

/* Receives one frame (without FCS, at least a header) into the ring. */
static int pcnet_rx_frame(Pcnet *s, const uint8_t *frame, size_t len)
{
    PcnetRegs *r = &s->r;
    uint8_t buf[PCNET_FRAME_MAX];
    PcnetDesc d[PCNET_RING_MAX];
    int match = pcnet_rx_match(s, frame);
    size_t need, cap = 0, done = 0;
    unsigned n = 0;

    if (match < 0) {
        return 0;
    }
    memcpy(buf, frame, len);
    if (len < NET_PORT_MIN_FRAME) {
        memset(buf + len, 0, NET_PORT_MIN_FRAME - len);
        len = NET_PORT_MIN_FRAME;
    }
    pcnet_put32(buf + len, net_frames_crc32(buf, len));
    need = len + 4;
    /* Every descriptor of the chain is read before anything is written. */
    while (cap < need && n < r->rlen) {
        if (pcnet_desc_read(s, pcnet_desc_addr(s, r->rdra, (r->rx_idx + n) % r->rlen), &d[n])) {
            return -EIO;
        }
        if (!(d[n].flags & DESC_OWN)) {
            break;
        }
        cap += pcnet_bcnt_len(d[n++].bcnt);
    }
    if (n == 0) {
        pcnet_rx_missed(s);
        return -EAGAIN;
    }
    for (unsigned i = 0; i < n; i++) {
        size_t chunk = pcnet_bcnt_len(d[i].bcnt);

        chunk = chunk < need - done ? chunk : need - done;
        if (chunk && pcnet_dma(s, 1, d[i].addr, buf + done, chunk)) {
            return -EIO;
        }
        done += chunk;
    }
    for (unsigned i = 0; i < n; i++) {
        d[i].flags = i == 0 ? DESC_STP : 0;
    }
    if (cap < need) {
        /* The next descriptor is not the chip's: the frame is lost. */
        d[n - 1].flags |= DESC_ERR | RMD_BUFF;
    } else {
        d[n - 1].flags |= (uint16_t)(DESC_ENP | match);
        d[n - 1].misc = (uint32_t)need;        /* MCNT, FCS included */
    }
    for (unsigned i = 1; i <= n; i++) {
        unsigned k = i % n;        /* the STP descriptor last */

        if (pcnet_desc_write(s, pcnet_desc_addr(s, r->rdra, (r->rx_idx + k) % r->rlen), &d[k],
                             k == n - 1 && cap >= need, 0)) {
            return -EIO;
        }
    }
    r->rx_idx = (uint16_t)((r->rx_idx + n) % r->rlen);
    r->csr0 |= CSR0_RINT;
    return 0;
}

int pcnet_receive(Pcnet *s, const uint8_t *frame, size_t len)
{
    int err;

    if (!frame || len < 14 || len > NET_PORT_MAX_FRAME) {
        return -EINVAL;
    }
    if (!pcnet_rx_active(s)) {
        return -EAGAIN;
    }
    if (s->r.csr15 & (CSR15_LOOP | CSR15_INTL)) {
        return 0;                  /* in loopback the receiver hears only itself */
    }
    err = pcnet_rx_frame(s, frame, len);
    pcnet_update_irq(s);
    return err;
}
