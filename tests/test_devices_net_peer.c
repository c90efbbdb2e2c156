/*
 * tests/test_devices_net_peer.c: the built-in peer (10.0.2.2) answering ARP
 * and ICMP echo byte-exactly, ignoring and counting the rest; the --ping
 * host side (ARP request, echo request, reply parsing) and iputils ping's
 * output lines; the frame helpers' checksums against known vectors and an
 * independent checksum routine written here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/net_frames.h"
#include "devices/net_peer.h"
#include "devices/net_port.h"

#define HOST_MAC 0x52, 0x54, 0x00, 0x12, 0x34, 0x56   /* QEMU's default NIC MAC */
#define PEER_MAC 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02
#define HOST_IP 0x0a, 0x00, 0x02, 0x0f
#define PEER_IP 0x0a, 0x00, 0x02, 0x02
#define PING_ID 0x1234
/* 1.123456789 s of virtual time: the request's timeval is {1, 123456}. */
#define T_SEND 1123456789ull

static const uint8_t host_mac[6] = { HOST_MAC };
static const uint8_t peer_mac[6] = { PEER_MAC };

/* Frames written out byte by byte (checksums computed by hand, outside this
 * code base), so a wrong field order or byte order in the builders shows. */
#define PING_PAYLOAD                                                         \
    0x01, 0, 0, 0, 0, 0, 0, 0, 0x40, 0xe2, 0x01, 0, 0, 0, 0, 0,              \
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,  \
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,  \
    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,  \
    0x34, 0x35, 0x36, 0x37

static const uint8_t arp_request[60] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, HOST_MAC, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
    HOST_MAC, HOST_IP, 0, 0, 0, 0, 0, 0, PEER_IP,
};

static const uint8_t arp_reply[60] = {
    HOST_MAC, PEER_MAC, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02,
    PEER_MAC, PEER_IP, HOST_MAC, HOST_IP,
};

static const uint8_t echo_request[98] = {
    PEER_MAC, HOST_MAC, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0x22, 0x99,
    HOST_IP, PEER_IP,
    0x08, 0x00, 0xe4, 0x15, 0x12, 0x34, 0x00, 0x01, PING_PAYLOAD,
};

static const uint8_t echo_reply[98] = {
    HOST_MAC, PEER_MAC, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x62, 0x99,
    PEER_IP, HOST_IP,
    0x00, 0x00, 0xec, 0x15, 0x12, 0x34, 0x00, 0x01, PING_PAYLOAD,
};

/* RFC 1071 computed another way: 32-bit little-endian word sums, folded
 * and byte-swapped at the end (RFC 1071 section 2(B), byte order
 * independence), so it shares no code path with net_frames_checksum. */
static uint16_t ref_checksum(const uint8_t *p, size_t len)
{
    uint64_t sum = 0;
    size_t i = 0;

    for (; i + 4 <= len; i += 4) {
        sum += (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 |
               (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
    }
    for (; i < len; i++) {
        sum += (uint64_t)p[i] << (8 * (i % 2));
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum = ~sum & 0xffff;
    return (uint16_t)((sum >> 8) | (sum << 8 & 0xff00));
}

/* Both checksums of an IPv4/ICMP frame verify with ref_checksum. */
static void assert_ip_icmp_checksums(const uint8_t *f)
{
    const uint8_t *ip = f + 14;
    size_t ihl = (size_t)(ip[0] & 0xf) * 4, total = (size_t)(ip[2] << 8 | ip[3]);

    assert_int_equal(ref_checksum(ip, ihl), 0);
    assert_int_equal(ref_checksum(ip + ihl, total - ihl), 0);
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

/* The host side with the peer's MAC already learnt. */
static void host_ready(NetPeerHost *h)
{
    net_peer_host_init(h, host_mac);
    memcpy(h->peer_mac, peer_mac, 6);
    h->peer_known = true;
}

static void assert_stats(NetPeer *p, uint64_t frames, uint64_t arp, uint64_t echo,
                         uint64_t ignored, uint64_t malformed)
{
    NetPeerStats s;

    net_peer_get_stats(p, &s);
    assert_int_equal(s.frames, frames);
    assert_int_equal(s.arp_replies, arp);
    assert_int_equal(s.echo_replies, echo);
    assert_int_equal(s.ignored, ignored);
    assert_int_equal(s.malformed, malformed);
}

/* --- frame helpers -------------------------------------------------------- */

static void test_checksum__known_vectors__match_rfc1071_and_an_ip_header(void **state)
{
    static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    static const uint8_t ip[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

    assert_int_equal(net_frames_checksum(rfc, sizeof(rfc)), 0x220d);   /* ~0xddf2 */
    assert_int_equal(net_frames_checksum(ip, sizeof(ip)), 0xb861);
    assert_int_equal(net_frames_checksum(rfc, 3), 0xffff & ~(0x0001 + 0xf200));
}

static void test_checksum__random_buffers__agree_with_the_reference(void **state)
{
    uint8_t buf[301];
    uint64_t x = 7;

    for (int round = 0; round < 500; round++) {
        size_t len = (size_t)lcg(&x) % sizeof(buf);

        for (size_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)lcg(&x);
        }
        assert_int_equal(net_frames_checksum(buf, len), ref_checksum(buf, len));
    }
}

static void test_crc32__check_string__is_the_ieee_check_value(void **state)
{
    assert_int_equal(net_frames_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
    assert_int_equal(net_frames_crc32(NULL, 0), 0);
}

static void test_parse_echo__every_truncation__is_refused_without_reading_past_the_end(void **state)
{
    NetFramesEcho e;

    for (size_t len = 0; len < sizeof(echo_request); len++) {
        uint8_t *copy = malloc(len ? len : 1);   /* exact size: ASan sees overreads */

        memcpy(copy, echo_request, len);
        assert_true(net_frames_parse_echo(copy, len, &e) < 0);
        free(copy);
    }
    assert_int_equal(net_frames_parse_echo(echo_request, sizeof(echo_request), &e), 0);
    assert_int_equal(e.type, NET_FRAMES_ICMP_ECHO_REQUEST);
    assert_int_equal(e.id, PING_ID);
    assert_int_equal(e.seq, 1);
    assert_int_equal(e.data_len, 56);
    assert_int_equal(e.ip_src, NET_PEER_HOST_IP);
    assert_int_equal(e.ip_dst, NET_PEER_IP);
}

/* --- the peer --------------------------------------------------------------- */

static void test_peer__arp_request_for_10_0_2_2__gets_the_exact_reply(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    uint8_t reply[NET_PORT_MAX_FRAME];

    assert_non_null(p);
    assert_int_equal(net_peer_input(p, arp_request, sizeof(arp_request), reply, sizeof(reply)), 60);
    assert_memory_equal(reply, arp_reply, 60);
    assert_stats(p, 1, 1, 0, 0, 0);
    net_peer_free(p);
}

static void test_peer__arp_request_sent_to_its_mac__is_answered_too(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    uint8_t req[60], reply[NET_PORT_MAX_FRAME];

    memcpy(req, arp_request, sizeof(req));
    memcpy(req, peer_mac, 6);                       /* unicast refresh, as Linux sends */
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 60);
    assert_memory_equal(reply, arp_reply, 60);
    net_peer_free(p);
}

static void test_peer__arp_not_asking_for_its_address__is_ignored(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    uint8_t req[60], reply[NET_PORT_MAX_FRAME];

    memcpy(req, arp_request, sizeof(req));
    req[41] = 3;                                     /* who has 10.0.2.3? */
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    memcpy(req, arp_request, sizeof(req));
    req[21] = 2;                                     /* a reply, not a request */
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    memcpy(req, arp_request, sizeof(req));
    req[0] = 0x02;                                   /* sent to someone else's MAC */
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    memcpy(req, arp_request, sizeof(req));
    req[18] = 8;                                     /* hlen 8: not Ethernet ARP */
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    assert_int_equal(net_peer_input(p, arp_request, 41, reply, sizeof(reply)), 0);
    assert_stats(p, 5, 0, 0, 5, 0);
    net_peer_free(p);
}

static void test_peer__echo_request__gets_the_exact_reply_with_valid_checksums(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    uint8_t reply[NET_PORT_MAX_FRAME];

    assert_int_equal(net_peer_input(p, echo_request, sizeof(echo_request), reply,
                                    sizeof(reply)), 98);
    assert_memory_equal(reply, echo_reply, 98);
    assert_ip_icmp_checksums(reply);
    assert_stats(p, 1, 0, 1, 0, 0);
    /* The next reply carries the next IP id (and a checksum to match). */
    assert_int_equal(net_peer_input(p, echo_request, sizeof(echo_request), reply,
                                    sizeof(reply)), 98);
    assert_int_equal(reply[18], 0x00);
    assert_int_equal(reply[19], 0x01);
    assert_ip_icmp_checksums(reply);
    net_peer_free(p);
}

static void test_peer__echo_with_options_odd_payload_and_padding__is_echoed_exactly(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    uint8_t req[NET_PORT_MAX_FRAME], reply[NET_PORT_MAX_FRAME];
    const size_t data_len = 3;                       /* odd: the checksum's tail byte */
    uint8_t *ip = req + 14, *icmp = ip + 24;

    /* Built here by hand: an IP header with a 4-byte option (NOP x4). */
    memset(req, 0, sizeof(req));
    memcpy(req, peer_mac, 6);
    memcpy(req + 6, host_mac, 6);
    req[12] = 0x08;
    ip[0] = 0x46;
    ip[3] = (uint8_t)(24 + 8 + data_len);
    ip[8] = 17;                                      /* any TTL */
    ip[9] = 1;
    memcpy(ip + 12, (uint8_t[]){ HOST_IP, PEER_IP }, 8);
    memset(ip + 20, 1, 4);
    icmp[0] = 8;
    icmp[4] = 0xab;
    icmp[5] = 0xcd;
    icmp[7] = 9;
    memcpy(icmp + 8, "xyz", data_len);
    {
        uint16_t c = ref_checksum(ip, 24);
        ip[10] = (uint8_t)(c >> 8);
        ip[11] = (uint8_t)c;
        c = ref_checksum(icmp, 8 + data_len);
        icmp[2] = (uint8_t)(c >> 8);
        icmp[3] = (uint8_t)c;
    }
    /* 60 bytes on the wire: the tail is Ethernet padding, not ICMP data. */
    req[14 + 24 + 8 + data_len] = 0xee;
    assert_int_equal(net_peer_input(p, req, 60, reply, sizeof(reply)), 60);
    assert_ip_icmp_checksums(reply);
    assert_int_equal(reply[14], 0x45);               /* options are not echoed */
    assert_int_equal(reply[16 + 1], 20 + 8 + data_len);
    assert_int_equal(reply[22], NET_PEER_TTL);
    assert_int_equal(reply[34], 0);                  /* echo reply */
    assert_memory_equal(reply + 38, "\xab\xcd\x00\x09xyz", 7);
    assert_int_equal(reply[45], 0);                  /* padded with zeros */
    assert_memory_equal(reply, host_mac, 6);
    net_peer_free(p);
}

static void test_peer__echo_with_bad_checksums__counts_malformed_and_stays_silent(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    uint8_t req[98], reply[NET_PORT_MAX_FRAME];

    memcpy(req, echo_request, sizeof(req));
    req[14 + 20 + 3] ^= 1;                           /* ICMP checksum */
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    memcpy(req, echo_request, sizeof(req));
    req[14 + 11] ^= 1;                               /* IP header checksum */
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    memcpy(req, echo_request, sizeof(req));
    req[14 + 3] = 200;                               /* total length past the frame */
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    assert_stats(p, 3, 0, 0, 0, 3);
    net_peer_free(p);
}

static void test_peer__echo_not_for_it__is_ignored(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    NetPeerHost h;
    uint8_t req[98], reply[NET_PORT_MAX_FRAME];

    /* To 10.0.2.3, through the peer's MAC (correct checksums). */
    host_ready(&h);
    h.peer_ip = 0x0a000203;
    assert_int_equal(net_peer_host_build_echo_request(&h, 1, 1, 0, req, sizeof(req)), 98);
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    /* To 10.0.2.2 but another MAC. */
    memcpy(req, echo_request, sizeof(req));
    req[5] = 0x03;
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    /* An echo reply, not a request. */
    assert_int_equal(net_peer_input(p, echo_reply, sizeof(echo_reply), reply, sizeof(reply)), 0);
    memcpy(req, echo_reply, sizeof(req));
    memcpy(req, peer_mac, 6);
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    /* A fragment. */
    memcpy(req, echo_request, sizeof(req));
    req[14 + 6] |= 0x20;
    assert_int_equal(net_peer_input(p, req, sizeof(req), reply, sizeof(reply)), 0);
    assert_stats(p, 5, 0, 0, 5, 0);
    net_peer_free(p);
}

static void test_peer__generated_and_tiny_frames__are_ignored(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    NetFramesGen g = { .seed = 1 };
    uint8_t f[NET_PORT_MAX_FRAME], reply[NET_PORT_MAX_FRAME];

    memcpy(g.dst, peer_mac, 6);                      /* even addressed to it */
    memcpy(g.src, host_mac, 6);
    for (uint64_t i = 0; i < 20; i++) {
        size_t n = net_frames_gen_frame(&g, i, f, sizeof(f));

        assert_int_equal(net_peer_input(p, f, n, reply, sizeof(reply)), 0);
    }
    assert_int_equal(net_peer_input(p, f, 0, reply, sizeof(reply)), 0);
    assert_int_equal(net_peer_input(p, f, 13, reply, sizeof(reply)), 0);
    assert_stats(p, 22, 0, 0, 22, 0);
    net_peer_free(p);
}

static void test_peer__random_corruptions__never_crash_and_every_frame_is_counted(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    uint8_t reply[NET_PORT_MAX_FRAME];
    NetPeerStats s;
    uint64_t x = 42;
    const int rounds = 20000;

    for (int i = 0; i < rounds; i++) {
        const uint8_t *src = (i & 1) ? echo_request : arp_request;
        size_t len = (i & 1) ? sizeof(echo_request) : sizeof(arp_request);
        size_t cut = (size_t)lcg(&x) % (len + 1);
        uint8_t *f = malloc(cut ? cut : 1);          /* exact size for ASan */
        int n;

        memcpy(f, src, cut);
        for (int k = (int)(lcg(&x) % 4); k > 0 && cut; k--) {
            f[lcg(&x) % cut] ^= (uint8_t)(1u << (lcg(&x) % 8));
        }
        n = net_peer_input(p, f, cut, reply, sizeof(reply));
        if (n) {
            assert_in_range(n, 60, 98);
            if (reply[12] == 0x08 && reply[13] == 0x00) {
                assert_ip_icmp_checksums(reply);
            }
        }
        free(f);
    }
    net_peer_get_stats(p, &s);
    assert_int_equal(s.frames, rounds);
    assert_int_equal(s.arp_replies + s.echo_replies + s.ignored + s.malformed, rounds);
    assert_true(s.arp_replies > 0 && s.echo_replies > 0 && s.malformed > 0);
    net_peer_free(p);
}

static void test_peer__state_restore__brings_back_counters_and_ip_id(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    uint8_t reply[NET_PORT_MAX_FRAME];
    void *blob = malloc(net_peer_state_size());

    assert_non_null(blob);
    net_peer_state_save(p, blob);
    assert_int_equal(net_peer_input(p, echo_request, 98, reply, sizeof(reply)), 98);
    net_peer_state_restore(p, blob);
    assert_stats(p, 0, 0, 0, 0, 0);
    assert_int_equal(net_peer_input(p, echo_request, 98, reply, sizeof(reply)), 98);
    assert_memory_equal(reply, echo_reply, 98);     /* IP id 0 again */
    free(blob);
    net_peer_free(p);
}

/* --- the host side ------------------------------------------------------------ */

static void test_host__arp_request_and_reply__learn_the_peer_mac(void **state)
{
    NetPeerHost h;
    uint8_t f[NET_PORT_MAX_FRAME];
    uint8_t bad[60];

    net_peer_host_init(&h, host_mac);
    assert_false(h.peer_known);
    assert_int_equal(net_peer_host_build_echo_request(&h, 1, 1, 0, f, sizeof(f)), 0);
    assert_int_equal(net_peer_host_build_arp_request(&h, f, sizeof(f)), 60);
    assert_memory_equal(f, arp_request, 60);
    assert_int_equal(net_peer_host_build_arp_request(&h, f, 59), 0);
    /* A reply from someone else is not the peer's. */
    memcpy(bad, arp_reply, 60);
    bad[31] = 9;
    assert_int_equal(net_peer_host_input_arp(&h, bad, 60), 0);
    assert_int_equal(net_peer_host_input_arp(&h, arp_request, 60), 0);
    assert_false(h.peer_known);
    assert_int_equal(net_peer_host_input_arp(&h, arp_reply, 60), 1);
    assert_true(h.peer_known);
    assert_memory_equal(h.peer_mac, peer_mac, 6);
}

static void test_host__echo_request__is_pings_98_byte_frame(void **state)
{
    NetPeerHost h;
    uint8_t f[NET_PORT_MAX_FRAME];

    host_ready(&h);
    assert_int_equal(net_peer_host_build_echo_request(&h, PING_ID, 1, T_SEND, f, sizeof(f)), 98);
    assert_memory_equal(f, echo_request, 98);
    assert_ip_icmp_checksums(f);
    assert_int_equal(net_peer_host_build_echo_request(&h, PING_ID, 2, T_SEND, f, 97), 0);
    assert_int_equal(net_peer_host_build_echo_request(&h, PING_ID, 2, T_SEND, f, sizeof(f)), 98);
    assert_int_equal(f[19], 1);                      /* next IP id */
}

static void test_host__round_trip_through_the_peer__gives_seq_ttl_len_and_rtt(void **state)
{
    NetPeer *p = net_peer_new(NULL);
    NetPeerHost h;
    NetPeerEchoReply r;
    uint8_t req[NET_PORT_MAX_FRAME], reply[NET_PORT_MAX_FRAME];
    size_t n;
    int len;

    net_peer_host_init(&h, host_mac);
    n = net_peer_host_build_arp_request(&h, req, sizeof(req));
    len = net_peer_input(p, req, n, reply, sizeof(reply));
    assert_int_equal(net_peer_host_input_arp(&h, reply, (size_t)len), 1);

    n = net_peer_host_build_echo_request(&h, PING_ID, 7, T_SEND, req, sizeof(req));
    len = net_peer_input(p, req, n, reply, sizeof(reply));
    assert_int_equal(len, 98);
    /* Received 123.211 us after the send, at 1.123580000 s; ping's timevals
     * are whole us, so the send counts as 1.123456 s. */
    assert_int_equal(net_peer_host_parse_echo_reply(&h, PING_ID, reply, (size_t)len,
                                                    T_SEND + 123211, &r), 1);
    assert_int_equal(r.seq, 7);
    assert_int_equal(r.ttl, 64);
    assert_int_equal(r.icmp_len, 64);
    assert_int_equal(r.rtt_us, 124);
    assert_true(r.data_ok);
    /* Another ping's id, or a request, is not ours. */
    assert_int_equal(net_peer_host_parse_echo_reply(&h, PING_ID + 1, reply, (size_t)len,
                                                    T_SEND, &r), 0);
    assert_int_equal(net_peer_host_parse_echo_reply(&h, PING_ID, req, n, T_SEND, &r), 0);
    /* A reply whose payload was changed (checksum fixed up) is flagged. */
    reply[14 + 20 + 8 + 30] ^= 0xff;
    reply[14 + 20 + 2] = reply[14 + 20 + 3] = 0;
    {
        uint16_t c = ref_checksum(reply + 34, 64);
        reply[36] = (uint8_t)(c >> 8);
        reply[37] = (uint8_t)c;
    }
    assert_int_equal(net_peer_host_parse_echo_reply(&h, PING_ID, reply, (size_t)len,
                                                    T_SEND, &r), 1);
    assert_false(r.data_ok);
    assert_int_equal(r.rtt_us, 0);
    net_peer_free(p);
}

/* --- ping's output --------------------------------------------------------------- */

static const char *reply_line(uint16_t seq, uint64_t rtt_us)
{
    static char buf[128];
    NetPeerEchoReply r = { .seq = seq, .ttl = 64, .icmp_len = 64, .rtt_us = rtt_us,
                           .data_ok = true };

    net_peer_format_ping_reply(buf, sizeof(buf), NET_PEER_IP, &r);
    return buf;
}

static void test_format__ping_lines__match_iputils(void **state)
{
    char buf[128];

    net_peer_format_ping_start(buf, sizeof(buf), NET_PEER_IP, 56);
    assert_string_equal(buf, "PING 10.0.2.2 (10.0.2.2) 56(84) bytes of data.\n");
    assert_string_equal(reply_line(1, 123),
                        "64 bytes from 10.0.2.2: icmp_seq=1 ttl=64 time=0.123 ms\n");
    assert_string_equal(reply_line(2, 999), "64 bytes from 10.0.2.2: icmp_seq=2 ttl=64 time=0.999 ms\n");
    assert_string_equal(reply_line(3, 1234), "64 bytes from 10.0.2.2: icmp_seq=3 ttl=64 time=1.23 ms\n");
    assert_string_equal(reply_line(3, 1235), "64 bytes from 10.0.2.2: icmp_seq=3 ttl=64 time=1.24 ms\n");
    assert_string_equal(reply_line(4, 9994), "64 bytes from 10.0.2.2: icmp_seq=4 ttl=64 time=9.99 ms\n");
    assert_string_equal(reply_line(4, 9995), "64 bytes from 10.0.2.2: icmp_seq=4 ttl=64 time=10.0 ms\n");
    assert_string_equal(reply_line(5, 12345), "64 bytes from 10.0.2.2: icmp_seq=5 ttl=64 time=12.3 ms\n");
    assert_string_equal(reply_line(6, 99950), "64 bytes from 10.0.2.2: icmp_seq=6 ttl=64 time=100 ms\n");
    assert_string_equal(reply_line(65535, 0), "64 bytes from 10.0.2.2: icmp_seq=65535 ttl=64 time=0.000 ms\n");
}

static void test_format__summary__matches_iputils_lines(void **state)
{
    static const uint64_t rtts[] = { 123, 95, 110, 101, 121 };
    NetPeerPing s;
    char buf[512];
    int n;

    net_peer_ping_init(&s);
    for (size_t i = 0; i < 5; i++) {
        NetPeerEchoReply r = { .rtt_us = rtts[i] };

        net_peer_ping_count_sent(&s);
        net_peer_ping_count_reply(&s, &r);
    }
    /* avg 550/5 = 110 us; variance (61096 - 550*550/5) / 5 = 119 (integer
     * division, iputils' order); mdev floor(sqrt(119)) = 10 us. */
    n = net_peer_format_ping_summary(buf, sizeof(buf), NET_PEER_IP, &s, 4003600000ull);
    assert_string_equal(buf,
                        "--- 10.0.2.2 ping statistics ---\n"
                        "5 packets transmitted, 5 received, 0% packet loss, time 4004ms\n"
                        "rtt min/avg/max/mdev = 0.095/0.110/0.123/0.010 ms\n");
    assert_int_equal(n, (int)strlen(buf));
    /* Cut short: still NUL-terminated, and the full length is returned. */
    assert_int_equal(net_peer_format_ping_summary(buf, 40, NET_PEER_IP, &s, 4003600000ull), n);
    assert_int_equal(strlen(buf), 39);
}

static void test_format__summary_with_losses__prints_ping_percentages(void **state)
{
    NetPeerPing s;
    NetPeerEchoReply r = { .rtt_us = 2500 };
    char buf[512];

    net_peer_ping_init(&s);
    for (int i = 0; i < 3; i++) {
        net_peer_ping_count_sent(&s);
    }
    net_peer_ping_count_reply(&s, &r);
    net_peer_ping_count_reply(&s, &r);
    net_peer_format_ping_summary(buf, sizeof(buf), NET_PEER_IP, &s, 2000499999ull);
    assert_string_equal(buf,
                        "--- 10.0.2.2 ping statistics ---\n"
                        "3 packets transmitted, 2 received, 33.3333% packet loss, time 2000ms\n"
                        "rtt min/avg/max/mdev = 2.500/2.500/2.500/0.000 ms\n");

    net_peer_ping_init(&s);
    for (int i = 0; i < 5; i++) {
        net_peer_ping_count_sent(&s);
    }
    net_peer_format_ping_summary(buf, sizeof(buf), NET_PEER_IP, &s, 4000000000ull);
    assert_string_equal(buf,
                        "--- 10.0.2.2 ping statistics ---\n"
                        "5 packets transmitted, 0 received, 100% packet loss, time 4000ms\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum__known_vectors__match_rfc1071_and_an_ip_header),
        cmocka_unit_test(test_checksum__random_buffers__agree_with_the_reference),
        cmocka_unit_test(test_crc32__check_string__is_the_ieee_check_value),
        cmocka_unit_test(test_parse_echo__every_truncation__is_refused_without_reading_past_the_end),
        cmocka_unit_test(test_peer__arp_request_for_10_0_2_2__gets_the_exact_reply),
        cmocka_unit_test(test_peer__arp_request_sent_to_its_mac__is_answered_too),
        cmocka_unit_test(test_peer__arp_not_asking_for_its_address__is_ignored),
        cmocka_unit_test(test_peer__echo_request__gets_the_exact_reply_with_valid_checksums),
        cmocka_unit_test(test_peer__echo_with_options_odd_payload_and_padding__is_echoed_exactly),
        cmocka_unit_test(test_peer__echo_with_bad_checksums__counts_malformed_and_stays_silent),
        cmocka_unit_test(test_peer__echo_not_for_it__is_ignored),
        cmocka_unit_test(test_peer__generated_and_tiny_frames__are_ignored),
        cmocka_unit_test(test_peer__random_corruptions__never_crash_and_every_frame_is_counted),
        cmocka_unit_test(test_peer__state_restore__brings_back_counters_and_ip_id),
        cmocka_unit_test(test_host__arp_request_and_reply__learn_the_peer_mac),
        cmocka_unit_test(test_host__echo_request__is_pings_98_byte_frame),
        cmocka_unit_test(test_host__round_trip_through_the_peer__gives_seq_ttl_len_and_rtt),
        cmocka_unit_test(test_format__ping_lines__match_iputils),
        cmocka_unit_test(test_format__summary__matches_iputils_lines),
        cmocka_unit_test(test_format__summary_with_losses__prints_ping_percentages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
