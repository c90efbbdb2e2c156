/*
 * devices/e1000_rx.c: the 82540EM's receive unit -- address filter, FCS,
 * descriptor write-back, thresholds (8254x SDM §3.2).  See e1000.c for
 * what the model covers as a whole.
 */
#include "devices/e1000_internal.h"

#include <errno.h>
#include <string.h>

#include "devices/net_frames.h"

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
        uint32_t fcs = net_frames_crc32(f, len);

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
