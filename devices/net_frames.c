/* devices/net_frames.c: see net_frames.h. */
#include "devices/net_frames.h"

#include <errno.h>
#include <string.h>

#include "devices/net_port.h"

/* ARP over Ethernet for IPv4: htype 1, ptype 0x0800, hlen 6, plen 4. */
#define NET_FRAMES_ARP_HTYPE_ETHER 1
#define NET_FRAMES_IPV4_FLAG_DF 0x4000
#define NET_FRAMES_IPV4_FLAG_MF 0x2000
#define NET_FRAMES_IPV4_FRAG_MASK 0x1fff

/* The generator's LCG (Knuth's MMIX constants); only the top byte of each
 * state is used, the low bits of a power-of-two LCG being short-period. */
#define NET_FRAMES_LCG_MUL 6364136223846793005ull
#define NET_FRAMES_LCG_ADD 1442695040888963407ull
#define NET_FRAMES_GEN_SPAN (NET_PORT_MAX_FRAME - NET_PORT_MIN_FRAME + 1)

uint16_t net_frames_checksum(const uint8_t *p, size_t len)
{
    uint64_t sum = 0;
    size_t i;

    for (i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (i < len) {
        sum += (uint32_t)p[i] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

uint32_t net_frames_crc32(const uint8_t *p, size_t len)
{
    /* Four bits at a time: a 16-entry table of the reflected polynomial
     * 0xedb88320 -- small enough to hold in one's head, fast enough for
     * 1514-byte frames. */
    static const uint32_t nibble[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
        0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
        0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
    };
    uint32_t crc = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nibble[crc & 0xf];
        crc = (crc >> 4) ^ nibble[crc & 0xf];
    }
    return ~crc;
}

unsigned net_frames_mcast_hash(const uint8_t addr[NET_FRAMES_ALEN])
{
    uint32_t reg = ~net_frames_crc32(addr, NET_FRAMES_ALEN);   /* the reflected register */
    unsigned h = 0;

    for (int i = 0; i < 6; i++) {
        h |= ((reg >> i) & 1u) << (5 - i);
    }
    return h;
}

void net_frames_put_eth(uint8_t *buf, const uint8_t dst[NET_FRAMES_ALEN],
                        const uint8_t src[NET_FRAMES_ALEN], uint16_t ethertype)
{
    memcpy(buf, dst, NET_FRAMES_ALEN);
    memcpy(buf + NET_FRAMES_ALEN, src, NET_FRAMES_ALEN);
    net_frames_put_be16(buf + 2 * NET_FRAMES_ALEN, ethertype);
}

/* Zero-pads buf[len..NET_PORT_MIN_FRAME) and returns the padded length. */
static size_t net_frames_pad(uint8_t *buf, size_t len)
{
    if (len < NET_PORT_MIN_FRAME) {
        memset(buf + len, 0, NET_PORT_MIN_FRAME - len);
        return NET_PORT_MIN_FRAME;
    }
    return len;
}

/* --- ARP ----------------------------------------------------------------- */

size_t net_frames_build_arp(uint8_t *buf, size_t cap,
                            const uint8_t eth_dst[NET_FRAMES_ALEN],
                            const NetFramesArp *a)
{
    uint8_t *p = buf + NET_FRAMES_ETH_HLEN;

    if (cap < NET_PORT_MIN_FRAME) {
        return 0;
    }
    net_frames_put_eth(buf, eth_dst, a->sha, NET_FRAMES_ETHERTYPE_ARP);
    net_frames_put_be16(p + 0, NET_FRAMES_ARP_HTYPE_ETHER);
    net_frames_put_be16(p + 2, NET_FRAMES_ETHERTYPE_IPV4);
    p[4] = NET_FRAMES_ALEN;
    p[5] = 4;
    net_frames_put_be16(p + 6, a->op);
    memcpy(p + 8, a->sha, NET_FRAMES_ALEN);
    net_frames_put_be32(p + 14, a->spa);
    memcpy(p + 18, a->tha, NET_FRAMES_ALEN);
    net_frames_put_be32(p + 24, a->tpa);
    return net_frames_pad(buf, NET_FRAMES_ETH_HLEN + NET_FRAMES_ARP_LEN);
}

int net_frames_parse_arp(const uint8_t *frame, size_t len, NetFramesArp *a)
{
    const uint8_t *p = frame + NET_FRAMES_ETH_HLEN;

    if (len < NET_FRAMES_ETH_HLEN + NET_FRAMES_ARP_LEN ||
        net_frames_get_be16(frame + 12) != NET_FRAMES_ETHERTYPE_ARP ||
        net_frames_get_be16(p + 0) != NET_FRAMES_ARP_HTYPE_ETHER ||
        net_frames_get_be16(p + 2) != NET_FRAMES_ETHERTYPE_IPV4 ||
        p[4] != NET_FRAMES_ALEN || p[5] != 4) {
        return -EINVAL;
    }
    a->op = net_frames_get_be16(p + 6);
    memcpy(a->sha, p + 8, NET_FRAMES_ALEN);
    a->spa = net_frames_get_be32(p + 14);
    memcpy(a->tha, p + 18, NET_FRAMES_ALEN);
    a->tpa = net_frames_get_be32(p + 24);
    return 0;
}

/* --- IPv4 + ICMP echo ------------------------------------------------------ */

size_t net_frames_build_echo(uint8_t *buf, size_t cap, const NetFramesEcho *e)
{
    size_t icmp_len = NET_FRAMES_ICMP_HLEN + e->data_len;
    size_t ip_len = NET_FRAMES_IPV4_HLEN + icmp_len;
    size_t len = NET_FRAMES_ETH_HLEN + ip_len;
    uint8_t *ip = buf + NET_FRAMES_ETH_HLEN;
    uint8_t *icmp = ip + NET_FRAMES_IPV4_HLEN;

    if (e->data_len > NET_PORT_MAX_FRAME || len > NET_PORT_MAX_FRAME ||
        cap < len || cap < NET_PORT_MIN_FRAME) {
        return 0;
    }
    net_frames_put_eth(buf, e->eth_dst, e->eth_src, NET_FRAMES_ETHERTYPE_IPV4);
    ip[0] = 0x45;                         /* version 4, 5 words of header */
    ip[1] = 0;
    net_frames_put_be16(ip + 2, (uint16_t)ip_len);
    net_frames_put_be16(ip + 4, e->ip_id);
    net_frames_put_be16(ip + 6, e->ip_df ? NET_FRAMES_IPV4_FLAG_DF : 0);
    ip[8] = e->ip_ttl;
    ip[9] = NET_FRAMES_IPPROTO_ICMP;
    net_frames_put_be16(ip + 10, 0);
    net_frames_put_be32(ip + 12, e->ip_src);
    net_frames_put_be32(ip + 16, e->ip_dst);
    net_frames_put_be16(ip + 10, net_frames_checksum(ip, NET_FRAMES_IPV4_HLEN));

    icmp[0] = e->type;
    icmp[1] = 0;                          /* code */
    net_frames_put_be16(icmp + 2, 0);
    net_frames_put_be16(icmp + 4, e->id);
    net_frames_put_be16(icmp + 6, e->seq);
    if (e->data_len) {
        memmove(icmp + NET_FRAMES_ICMP_HLEN, e->data, e->data_len);
    }
    net_frames_put_be16(icmp + 2, net_frames_checksum(icmp, icmp_len));
    return net_frames_pad(buf, len);
}

int net_frames_parse_echo(const uint8_t *frame, size_t len, NetFramesEcho *e)
{
    const uint8_t *ip = frame + NET_FRAMES_ETH_HLEN;
    const uint8_t *icmp;
    size_t ihl, total;

    if (len < NET_FRAMES_ETH_HLEN + NET_FRAMES_IPV4_HLEN ||
        net_frames_get_be16(frame + 12) != NET_FRAMES_ETHERTYPE_IPV4 ||
        ip[0] >> 4 != 4 || ip[9] != NET_FRAMES_IPPROTO_ICMP ||
        (net_frames_get_be16(ip + 6) & (NET_FRAMES_IPV4_FLAG_MF | NET_FRAMES_IPV4_FRAG_MASK))) {
        return -EINVAL;
    }
    ihl = (size_t)(ip[0] & 0xf) * 4;
    total = net_frames_get_be16(ip + 2);
    if (ihl < NET_FRAMES_IPV4_HLEN || total < ihl + NET_FRAMES_ICMP_HLEN ||
        NET_FRAMES_ETH_HLEN + total > len ||
        net_frames_checksum(ip, ihl) != 0) {
        return -EBADMSG;
    }
    icmp = ip + ihl;
    if ((icmp[0] != NET_FRAMES_ICMP_ECHO_REQUEST && icmp[0] != NET_FRAMES_ICMP_ECHO_REPLY) ||
        icmp[1] != 0) {
        return -EINVAL;
    }
    if (net_frames_checksum(icmp, total - ihl) != 0) {
        return -EBADMSG;
    }
    memcpy(e->eth_dst, frame, NET_FRAMES_ALEN);
    memcpy(e->eth_src, frame + NET_FRAMES_ALEN, NET_FRAMES_ALEN);
    e->ip_src = net_frames_get_be32(ip + 12);
    e->ip_dst = net_frames_get_be32(ip + 16);
    e->ip_id = net_frames_get_be16(ip + 4);
    e->ip_ttl = ip[8];
    e->ip_df = (net_frames_get_be16(ip + 6) & NET_FRAMES_IPV4_FLAG_DF) != 0;
    e->type = icmp[0];
    e->id = net_frames_get_be16(icmp + 4);
    e->seq = net_frames_get_be16(icmp + 6);
    e->data = icmp + NET_FRAMES_ICMP_HLEN;
    e->data_len = total - ihl - NET_FRAMES_ICMP_HLEN;
    return 0;
}

/* --- test frames ------------------------------------------------------------ */

size_t net_frames_gen_len(uint64_t index)
{
    return NET_PORT_MIN_FRAME + (size_t)((index * 2) % NET_FRAMES_GEN_SPAN);
}

size_t net_frames_gen_frame(const NetFramesGen *g, uint64_t index,
                            uint8_t *buf, size_t cap)
{
    size_t len = net_frames_gen_len(index);
    /* The index enters through a multiply by an odd constant, so frames with
     * neighbouring indices start from unrelated LCG states. */
    uint64_t x = g->seed ^ (index * 0x9e3779b97f4a7c15ull);

    if (cap < len) {
        return 0;
    }
    net_frames_put_eth(buf, g->dst, g->src, NET_FRAMES_ETHERTYPE_EXPERIMENTAL);
    net_frames_put_be32(buf + NET_FRAMES_ETH_HLEN, (uint32_t)index);
    for (size_t i = NET_FRAMES_ETH_HLEN + 4; i < len; i++) {
        x = x * NET_FRAMES_LCG_MUL + NET_FRAMES_LCG_ADD;
        buf[i] = (uint8_t)(x >> 56);
    }
    return len;
}
