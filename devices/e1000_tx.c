/*
 * devices/e1000_tx.c: the 82540EM's transmit unit -- descriptor fetch,
 * checksum insertion, TCP segmentation, write-back (8254x SDM §3.3-3.5).
 * See e1000.c for what the model covers as a whole.
 */
#include "devices/e1000_internal.h"

#include <string.h>

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
void e1000_tx_run(E1000 *s)
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
