/* devices/net_peer.c: see net_peer.h. */
#include "devices/net_peer.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net_port.h"

static const uint8_t net_peer_broadcast[NET_FRAMES_ALEN] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* Everything a snapshot holds: plain integers, no pointers. */
typedef struct NetPeerState {
    NetPeerStats stats;
    uint16_t ip_id;                  /* IP id of the next reply */
} NetPeerState;

struct NetPeer {
    /* Wiring: set by net_peer_new(). */
    NetPeerConfig cfg;
    /* State: what net_peer_state_save() captures. */
    NetPeerState s;
};

void net_peer_config_default(NetPeerConfig *c)
{
    static const uint8_t mac[NET_FRAMES_ALEN] = NET_PEER_MAC_INIT;

    memcpy(c->mac, mac, sizeof(mac));
    c->ip = NET_PEER_IP;
}

NetPeer *net_peer_new(const NetPeerConfig *c)
{
    NetPeer *p = calloc(1, sizeof(*p));

    if (!p) {
        return NULL;
    }
    if (c) {
        p->cfg = *c;
    } else {
        net_peer_config_default(&p->cfg);
    }
    return p;
}

void net_peer_free(NetPeer *p)
{
    free(p);
}

/* "Who has cfg.ip?" asked by broadcast or directly -> "cfg.ip is at cfg.mac",
 * sent to the asker. */
static size_t net_peer_answer_arp(NetPeer *p, const uint8_t *frame, size_t len,
                                  uint8_t *reply, size_t cap)
{
    NetFramesArp q, a;

    if (net_frames_parse_arp(frame, len, &q) != 0 || q.op != NET_FRAMES_ARP_REQUEST ||
        q.tpa != p->cfg.ip ||
        (memcmp(frame, net_peer_broadcast, NET_FRAMES_ALEN) != 0 &&
         memcmp(frame, p->cfg.mac, NET_FRAMES_ALEN) != 0)) {
        return 0;
    }
    a.op = NET_FRAMES_ARP_REPLY;
    memcpy(a.sha, p->cfg.mac, NET_FRAMES_ALEN);
    a.spa = p->cfg.ip;
    memcpy(a.tha, q.sha, NET_FRAMES_ALEN);
    a.tpa = q.spa;
    return net_frames_build_arp(reply, cap, q.sha, &a);
}

/* An echo request to cfg.mac/cfg.ip -> an echo reply with the same id, seq
 * and data.  *bad is set for a request the peer cannot trust. */
static size_t net_peer_answer_echo(NetPeer *p, const uint8_t *frame, size_t len,
                                   uint8_t *reply, size_t cap, bool *bad)
{
    NetFramesEcho q, a;
    int err;

    if (len < NET_FRAMES_ETH_HLEN || memcmp(frame, p->cfg.mac, NET_FRAMES_ALEN) != 0) {
        return 0;
    }
    err = net_frames_parse_echo(frame, len, &q);
    if (err != 0) {
        /* Only a frame that claims to be ICMP to us counts as malformed. */
        *bad = err != -EINVAL && len >= NET_FRAMES_ETH_HLEN + NET_FRAMES_IPV4_HLEN &&
               net_frames_get_be32(frame + NET_FRAMES_ETH_HLEN + 16) == p->cfg.ip;
        return 0;
    }
    if (q.type != NET_FRAMES_ICMP_ECHO_REQUEST || q.ip_dst != p->cfg.ip) {
        return 0;
    }
    memcpy(a.eth_dst, q.eth_src, NET_FRAMES_ALEN);
    memcpy(a.eth_src, p->cfg.mac, NET_FRAMES_ALEN);
    a.ip_src = p->cfg.ip;
    a.ip_dst = q.ip_src;
    a.ip_id = p->s.ip_id;
    a.ip_ttl = NET_PEER_TTL;
    a.ip_df = 0;
    a.type = NET_FRAMES_ICMP_ECHO_REPLY;
    a.id = q.id;
    a.seq = q.seq;
    a.data = q.data;
    a.data_len = q.data_len;
    len = net_frames_build_echo(reply, cap, &a);
    if (len) {
        p->s.ip_id++;
    }
    return len;
}

int net_peer_input(NetPeer *p, const uint8_t *frame, size_t len,
                   uint8_t *reply, size_t cap)
{
    size_t n = 0;
    bool bad = false;

    assert(cap >= NET_PORT_MAX_FRAME && "net_peer_input: reply holds any frame");
    p->s.stats.frames++;
    if (len >= NET_FRAMES_ETH_HLEN) {
        switch (net_frames_get_be16(frame + 12)) {
        case NET_FRAMES_ETHERTYPE_ARP:
            n = net_peer_answer_arp(p, frame, len, reply, cap);
            p->s.stats.arp_replies += n != 0;
            break;
        case NET_FRAMES_ETHERTYPE_IPV4:
            n = net_peer_answer_echo(p, frame, len, reply, cap, &bad);
            p->s.stats.echo_replies += n != 0;
            break;
        default:
            break;
        }
    }
    if (!n) {
        if (bad) {
            p->s.stats.malformed++;
        } else {
            p->s.stats.ignored++;
        }
    }
    return (int)n;
}

void net_peer_get_stats(const NetPeer *p, NetPeerStats *out)
{
    *out = p->s.stats;
}

size_t net_peer_state_size(void)
{
    return sizeof(NetPeerState);
}

void net_peer_state_save(const NetPeer *p, void *buf)
{
    memcpy(buf, &p->s, sizeof(p->s));
}

void net_peer_state_restore(NetPeer *p, const void *buf)
{
    memcpy(&p->s, buf, sizeof(p->s));
}

/* --- the host side ---------------------------------------------------------- */

void net_peer_host_init(NetPeerHost *h, const uint8_t mac[NET_FRAMES_ALEN])
{
    memset(h, 0, sizeof(*h));
    memcpy(h->mac, mac, NET_FRAMES_ALEN);
    h->ip = NET_PEER_HOST_IP;
    h->peer_ip = NET_PEER_IP;
}

size_t net_peer_host_build_arp_request(const NetPeerHost *h, uint8_t *buf, size_t cap)
{
    NetFramesArp a;

    a.op = NET_FRAMES_ARP_REQUEST;
    memcpy(a.sha, h->mac, NET_FRAMES_ALEN);
    a.spa = h->ip;
    memset(a.tha, 0, NET_FRAMES_ALEN);   /* unknown: what is asked */
    a.tpa = h->peer_ip;
    return net_frames_build_arp(buf, cap, net_peer_broadcast, &a);
}

int net_peer_host_input_arp(NetPeerHost *h, const uint8_t *frame, size_t len)
{
    NetFramesArp a;

    if (net_frames_parse_arp(frame, len, &a) != 0 || a.op != NET_FRAMES_ARP_REPLY ||
        a.spa != h->peer_ip || a.tpa != h->ip ||
        memcmp(frame, h->mac, NET_FRAMES_ALEN) != 0) {
        return 0;
    }
    memcpy(h->peer_mac, a.sha, NET_FRAMES_ALEN);
    h->peer_known = true;
    return 1;
}

/* ping's payload: a struct timeval (x86-64: two little-endian 64-bit
 * fields) of the send time, then each byte equal to its offset. */
static void net_peer_host_fill_payload(uint8_t *d, uint64_t now_ns)
{
    uint64_t us = now_ns / 1000;
    uint64_t tv[2] = { us / 1000000, us % 1000000 };

    for (size_t i = 0; i < NET_PEER_PING_TIMEVAL_LEN; i++) {
        d[i] = (uint8_t)(tv[i / 8] >> (8 * (i % 8)));
    }
    for (size_t i = NET_PEER_PING_TIMEVAL_LEN; i < NET_PEER_PING_DATA_LEN; i++) {
        d[i] = (uint8_t)i;
    }
}

size_t net_peer_host_build_echo_request(NetPeerHost *h, uint16_t id, uint16_t seq,
                                        uint64_t now_ns, uint8_t *buf, size_t cap)
{
    uint8_t data[NET_PEER_PING_DATA_LEN];
    NetFramesEcho e;
    size_t n;

    if (!h->peer_known) {
        return 0;
    }
    net_peer_host_fill_payload(data, now_ns);
    memcpy(e.eth_dst, h->peer_mac, NET_FRAMES_ALEN);
    memcpy(e.eth_src, h->mac, NET_FRAMES_ALEN);
    e.ip_src = h->ip;
    e.ip_dst = h->peer_ip;
    e.ip_id = h->ip_id;
    e.ip_ttl = 64;
    e.ip_df = 1;                         /* Linux ping: path MTU discovery on */
    e.type = NET_FRAMES_ICMP_ECHO_REQUEST;
    e.id = id;
    e.seq = seq;
    e.data = data;
    e.data_len = sizeof(data);
    n = net_frames_build_echo(buf, cap, &e);
    if (n) {
        h->ip_id++;
    }
    return n;
}

static uint64_t net_peer_get_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

int net_peer_host_parse_echo_reply(const NetPeerHost *h, uint16_t id,
                                   const uint8_t *frame, size_t len,
                                   uint64_t now_ns, NetPeerEchoReply *r)
{
    NetFramesEcho e;
    uint64_t sent_us, now_us = now_ns / 1000;

    if (net_frames_parse_echo(frame, len, &e) != 0 ||
        e.type != NET_FRAMES_ICMP_ECHO_REPLY || e.id != id ||
        e.ip_src != h->peer_ip || e.ip_dst != h->ip ||
        memcmp(e.eth_dst, h->mac, NET_FRAMES_ALEN) != 0) {
        return 0;
    }
    r->seq = e.seq;
    r->ttl = e.ip_ttl;
    r->icmp_len = NET_FRAMES_ICMP_HLEN + e.data_len;
    r->rtt_us = 0;
    r->data_ok = e.data_len == NET_PEER_PING_DATA_LEN;
    if (e.data_len >= NET_PEER_PING_TIMEVAL_LEN) {
        sent_us = net_peer_get_le64(e.data) * 1000000 + net_peer_get_le64(e.data + 8);
        r->rtt_us = now_us > sent_us ? now_us - sent_us : 0;
    }
    for (size_t i = NET_PEER_PING_TIMEVAL_LEN; r->data_ok && i < e.data_len; i++) {
        r->data_ok = e.data[i] == (uint8_t)i;
    }
    return 1;
}

void net_peer_ping_init(NetPeerPing *s)
{
    memset(s, 0, sizeof(*s));
    s->tmin_us = UINT64_MAX;
}

void net_peer_ping_count_sent(NetPeerPing *s)
{
    s->transmitted++;
}

void net_peer_ping_count_reply(NetPeerPing *s, const NetPeerEchoReply *r)
{
    s->received++;
    s->tsum_us += r->rtt_us;
    s->tsum2_us += r->rtt_us * r->rtt_us;
    if (r->rtt_us < s->tmin_us) {
        s->tmin_us = r->rtt_us;
    }
    if (r->rtt_us > s->tmax_us) {
        s->tmax_us = r->rtt_us;
    }
}

/* floor(sqrt(a)) by Newton's iteration from above. */
static uint64_t net_peer_isqrt(uint64_t a)
{
    uint64_t x = a, y;

    if (a < 2) {
        return a;
    }
    y = (x + 1) / 2;
    while (y < x) {
        x = y;
        y = (x + a / x) / 2;
    }
    return x;
}

#define NET_PEER_IP_FMT "%u.%u.%u.%u"
#define NET_PEER_IP_ARGS(ip) (unsigned)((ip) >> 24), (unsigned)((ip) >> 16 & 0xff), \
                             (unsigned)((ip) >> 8 & 0xff), (unsigned)((ip) & 0xff)

int net_peer_format_ping_start(char *buf, size_t cap, uint32_t ip, size_t data_len)
{
    return snprintf(buf, cap, "PING " NET_PEER_IP_FMT " (" NET_PEER_IP_FMT ") %zu(%zu) "
                    "bytes of data.\n", NET_PEER_IP_ARGS(ip), NET_PEER_IP_ARGS(ip),
                    data_len, data_len + NET_FRAMES_ICMP_HLEN + NET_FRAMES_IPV4_HLEN);
}

int net_peer_format_ping_reply(char *buf, size_t cap, uint32_t from,
                               const NetPeerEchoReply *r)
{
    uint64_t t = r->rtt_us;
    char ms[48];

    /* iputils rounds to the shown precision once a digit is dropped. */
    if (t >= 100000 - 50) {
        snprintf(ms, sizeof(ms), "%llu", (unsigned long long)((t + 500) / 1000));
    } else if (t >= 10000 - 5) {
        snprintf(ms, sizeof(ms), "%llu.%01llu", (unsigned long long)((t + 50) / 1000),
                 (unsigned long long)((t + 50) % 1000 / 100));
    } else if (t >= 1000) {
        snprintf(ms, sizeof(ms), "%llu.%02llu", (unsigned long long)((t + 5) / 1000),
                 (unsigned long long)((t + 5) % 1000 / 10));
    } else {
        snprintf(ms, sizeof(ms), "%llu.%03llu", (unsigned long long)(t / 1000),
                 (unsigned long long)(t % 1000));
    }
    return snprintf(buf, cap, "%zu bytes from " NET_PEER_IP_FMT ": icmp_seq=%u ttl=%u "
                    "time=%s ms%s\n", r->icmp_len, NET_PEER_IP_ARGS(from), r->seq,
                    r->ttl, ms, r->data_ok ? "" : " (wrong data)");
}

/* "a.bcd" milliseconds from microseconds. */
#define NET_PEER_MS_FMT "%llu.%03llu"
#define NET_PEER_MS_ARGS(us) (unsigned long long)((us) / 1000), \
                             (unsigned long long)((us) % 1000)

int net_peer_format_ping_summary(char *buf, size_t cap, uint32_t ip,
                                 const NetPeerPing *s, uint64_t elapsed_ns)
{
    uint64_t n = s->received, avg, var;
    uint64_t elapsed_ms = (elapsed_ns / 1000 + 500) / 1000;
    float loss = s->transmitted ? (float)((double)(s->transmitted - s->received) * 100.0 /
                                          (double)s->transmitted) : 0.0f;
    int len, more;

    len = snprintf(buf, cap, "--- " NET_PEER_IP_FMT " ping statistics ---\n"
                   "%llu packets transmitted, %llu received, %g%% packet loss, "
                   "time %llums\n", NET_PEER_IP_ARGS(ip),
                   (unsigned long long)s->transmitted, (unsigned long long)n,
                   (double)loss, (unsigned long long)elapsed_ms);
    if (n == 0 || len < 0) {
        return len;
    }
    avg = s->tsum_us / n;
    /* iputils' order, which keeps small times from rounding to a zero
     * deviation. */
    if (s->tsum_us < INT_MAX) {
        var = (s->tsum2_us - s->tsum_us * s->tsum_us / n) / n;
    } else {
        var = s->tsum2_us / n - avg * avg;
    }
    more = snprintf((size_t)len < cap ? buf + len : NULL,
                    (size_t)len < cap ? cap - (size_t)len : 0,
                    "rtt min/avg/max/mdev = " NET_PEER_MS_FMT "/" NET_PEER_MS_FMT "/"
                    NET_PEER_MS_FMT "/" NET_PEER_MS_FMT " ms\n",
                    NET_PEER_MS_ARGS(s->tmin_us), NET_PEER_MS_ARGS(avg),
                    NET_PEER_MS_ARGS(s->tmax_us), NET_PEER_MS_ARGS(net_peer_isqrt(var)));
    return more < 0 ? more : len + more;
}
