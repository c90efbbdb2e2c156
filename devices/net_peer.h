/*
 * devices/net_peer.h: the other machine on the emulated wire, and the
 * sluice-side helper that talks to it for --ping.
 *
 * The peer plays QEMU's user-mode ("slirp") gateway: MAC 52:55:0a:00:02:02,
 * IPv4 10.0.2.2.  It answers ARP requests for its own address and ICMP echo
 * requests sent to it, and ignores (and counts) everything else -- in
 * particular it never answers what the integration tests' generated frames
 * carry.  It has no timers and no queue: one frame in, at most one reply out,
 * at the virtual time the machine chooses to deliver it.  Its state (the
 * counters and the IP id of the next reply) is saved and restored as a flat
 * blob with the rest of the machine.
 *
 * The host side (NetPeerHost, NetPeerPing) is what `sluice run --ping N`
 * uses on the sluice side of the interface, as the address 10.0.2.15 with
 * the driver's own MAC: an ARP request for the peer, ICMP echo requests shaped
 * like Linux ping's (56 data bytes: a timeval of the virtual send time, then
 * bytes 0x10, 0x11, ...), parsing the replies, and iputils ping's output
 * lines.  All times are virtual, given by the caller in ns.
 */
#ifndef DEVICES_NET_PEER_H
#define DEVICES_NET_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net_frames.h"

#define NET_PEER_IP 0x0a000202u               /* 10.0.2.2 */
#define NET_PEER_MAC_INIT { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 }
#define NET_PEER_TTL 64

/* --- the peer ------------------------------------------------------------- */

typedef struct NetPeerConfig {
    uint8_t mac[NET_FRAMES_ALEN];
    uint32_t ip;
} NetPeerConfig;

/* Counters; every frame offered lands in exactly one of the last four. */
typedef struct NetPeerStats {
    uint64_t frames;                          /* offered to net_peer_input */
    uint64_t arp_replies;                     /* ARP requests answered */
    uint64_t echo_replies;                    /* echo requests answered */
    uint64_t ignored;                         /* not for the peer, or nothing it answers */
    uint64_t malformed;                       /* echo requests with a bad length or checksum */
} NetPeerStats;

typedef struct NetPeer NetPeer;

/* MAC 52:55:0a:00:02:02, IP 10.0.2.2. */
void net_peer_config_default(NetPeerConfig *c);

/* NULL config means the default.  NULL on out of memory. */
NetPeer *net_peer_new(const NetPeerConfig *c);
void net_peer_free(NetPeer *p);

/* Offers the peer one frame (without FCS) from the wire.  If it answers,
 * the reply frame (at most NET_PORT_MAX_FRAME bytes, padded to 60) is written
 * to reply and its length returned; otherwise 0.  cap must be at least
 * NET_PORT_MAX_FRAME.  Any bytes are safe input. */
int net_peer_input(NetPeer *p, const uint8_t *frame, size_t len,
                   uint8_t *reply, size_t cap);

void net_peer_get_stats(const NetPeer *p, NetPeerStats *out);

/* Snapshot: counters and the next IP id; the config is wiring. */
size_t net_peer_state_size(void);
void net_peer_state_save(const NetPeer *p, void *buf);
void net_peer_state_restore(NetPeer *p, const void *buf);

/* --- the host side, for --ping -------------------------------------------- */

#define NET_PEER_HOST_IP 0x0a00020fu          /* 10.0.2.15 */
#define NET_PEER_PING_DATA_LEN 56             /* ping -s default: 64 bytes of ICMP */
#define NET_PEER_PING_TIMEVAL_LEN 16          /* struct timeval on x86-64 */

typedef struct NetPeerHost {
    uint8_t mac[NET_FRAMES_ALEN];             /* the driver's MAC */
    uint32_t ip;                              /* NET_PEER_HOST_IP */
    uint32_t peer_ip;                         /* NET_PEER_IP */
    uint8_t peer_mac[NET_FRAMES_ALEN];        /* learnt from the ARP reply */
    bool peer_known;
    uint16_t ip_id;                           /* of the next echo request */
} NetPeerHost;

/* One echo reply, as ping reports it. */
typedef struct NetPeerEchoReply {
    uint16_t seq;
    uint8_t ttl;
    size_t icmp_len;                          /* ping's "64 bytes" */
    uint64_t rtt_us;                          /* receive time - the payload's send time */
    bool data_ok;                             /* payload after the timeval as sent */
} NetPeerEchoReply;

void net_peer_host_init(NetPeerHost *h, const uint8_t mac[NET_FRAMES_ALEN]);

/* Broadcast "who has 10.0.2.2? tell 10.0.2.15".  Length (60), or 0 if cap
 * is too small. */
size_t net_peer_host_build_arp_request(const NetPeerHost *h, uint8_t *buf, size_t cap);

/* 1 if frame is an ARP reply from peer_ip to us (the peer's MAC is learnt),
 * 0 otherwise. */
int net_peer_host_input_arp(NetPeerHost *h, const uint8_t *frame, size_t len);

/* An echo request to the peer (whose MAC must be known) with ping's payload
 * stamped with now_ns.  The frame is 98 bytes; 0 if cap is too small or the
 * peer's MAC is not known yet. */
size_t net_peer_host_build_echo_request(NetPeerHost *h, uint16_t id, uint16_t seq,
                                        uint64_t now_ns, uint8_t *buf, size_t cap);

/* 1 if frame is a well-formed echo reply from the peer to us with
 * identifier id (r filled, rtt measured against now_ns as ping does: in
 * whole microseconds, never negative), 0 otherwise. */
int net_peer_host_parse_echo_reply(const NetPeerHost *h, uint16_t id,
                                   const uint8_t *frame, size_t len,
                                   uint64_t now_ns, NetPeerEchoReply *r);

/* ping's statistics, kept in microseconds like iputils. */
typedef struct NetPeerPing {
    uint64_t transmitted, received;
    uint64_t tsum_us, tsum2_us, tmin_us, tmax_us;
} NetPeerPing;

void net_peer_ping_init(NetPeerPing *s);
void net_peer_ping_count_sent(NetPeerPing *s);
void net_peer_ping_count_reply(NetPeerPing *s, const NetPeerEchoReply *r);

/* The formatters write one or more '\n'-terminated lines into buf (cut to
 * cap, always NUL-terminated) and return snprintf's would-be length. */

/* "PING 10.0.2.2 (10.0.2.2) 56(84) bytes of data." */
int net_peer_format_ping_start(char *buf, size_t cap, uint32_t ip, size_t data_len);

/* "64 bytes from 10.0.2.2: icmp_seq=1 ttl=64 time=0.123 ms" -- the time with
 * iputils' precision: 3 decimals under 1 ms, 2 under 10, 1 under 100, none
 * above; " (wrong data)" is appended when the payload is not what was sent. */
int net_peer_format_ping_reply(char *buf, size_t cap, uint32_t from,
                               const NetPeerEchoReply *r);

/* "--- 10.0.2.2 ping statistics ---",
 * "5 packets transmitted, 5 received, 0% packet loss, time 4004ms",
 * "rtt min/avg/max/mdev = 0.095/0.110/0.123/0.010 ms" (only if any reply
 * came).  ping prints an empty line before them.  elapsed_ns: from the first
 * request to the end, as ping measures "time". */
int net_peer_format_ping_summary(char *buf, size_t cap, uint32_t ip,
                                 const NetPeerPing *s, uint64_t elapsed_ns);

#endif
