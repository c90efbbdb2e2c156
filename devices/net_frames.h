/*
 * devices/net_frames.h: the few wire formats the packet backends speak --
 * Ethernet II headers, ARP for IPv4 over Ethernet (RFC 826), IPv4 (RFC 791)
 * carrying ICMP echo (RFC 792) -- built into and parsed from caller buffers,
 * plus the Internet checksum (RFC 1071), the Ethernet FCS (CRC-32, IEEE
 * 802.3 clause 3.2.9) and a deterministic test-frame generator.
 *
 * Frames are without FCS, as in devices/net_port.h.  Builders pad to
 * NET_PORT_MIN_FRAME with zeros, as a NIC does on transmit.  Parsers take
 * frames from the guest and the wire: they check every length and checksum
 * and never read outside [frame, frame + len).  IPv4 addresses are host-order
 * uint32_t (10.0.2.2 is 0x0a000202).  No state, no host time or randomness.
 */
#ifndef DEVICES_NET_FRAMES_H
#define DEVICES_NET_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define NET_FRAMES_ALEN 6                 /* MAC address bytes */
#define NET_FRAMES_ETH_HLEN 14
#define NET_FRAMES_ETHERTYPE_IPV4 0x0800
#define NET_FRAMES_ETHERTYPE_ARP 0x0806
/* IEEE 802 "local experimental ethertype 1": no stack answers it. */
#define NET_FRAMES_ETHERTYPE_EXPERIMENTAL 0x88b5

#define NET_FRAMES_ARP_REQUEST 1
#define NET_FRAMES_ARP_REPLY 2
#define NET_FRAMES_ARP_LEN 28             /* Ethernet/IPv4 ARP body */

#define NET_FRAMES_IPV4_HLEN 20           /* without options */
#define NET_FRAMES_IPPROTO_ICMP 1
#define NET_FRAMES_ICMP_HLEN 8
#define NET_FRAMES_ICMP_ECHO_REPLY 0
#define NET_FRAMES_ICMP_ECHO_REQUEST 8

/* Big-endian (network order) field access. */
static inline uint16_t net_frames_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t net_frames_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void net_frames_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void net_frames_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The Internet checksum of p[0..len): the ones' complement of the ones'
 * complement sum of big-endian 16-bit words (an odd last byte is the high
 * half of a word).  Store it big-endian in a zeroed checksum field; over data
 * that includes a correct checksum it returns 0. */
uint16_t net_frames_checksum(const uint8_t *p, size_t len);

/* The Ethernet FCS of p[0..len) (reflected CRC-32, polynomial 0x04c11db7,
 * preset and final inversion).  On the wire it follows the frame least
 * significant byte first. */
uint32_t net_frames_crc32(const uint8_t *p, size_t len);

/* The 6-bit multicast filter index of the 8390 and RTL8139 (Linux's
 * ether_crc(ETH_ALEN, addr) >> 26): the top six bits of the CRC-32 register
 * (preset all ones, not inverted) over the address fed least significant
 * bit first into a left-shifting register -- equivalently the low six bits
 * of the reflected register, reversed.  (PCnet's and e1000's filters hash
 * differently.) */
unsigned net_frames_mcast_hash(const uint8_t addr[NET_FRAMES_ALEN]);

/* Writes the 14-byte Ethernet header at buf (which holds at least 14). */
void net_frames_put_eth(uint8_t *buf, const uint8_t dst[NET_FRAMES_ALEN],
                        const uint8_t src[NET_FRAMES_ALEN], uint16_t ethertype);

/* --- ARP ----------------------------------------------------------------- */

typedef struct NetFramesArp {
    uint16_t op;                          /* NET_FRAMES_ARP_REQUEST / _REPLY */
    uint8_t sha[NET_FRAMES_ALEN];         /* sender hardware address */
    uint32_t spa;                         /* sender protocol address */
    uint8_t tha[NET_FRAMES_ALEN];         /* target hardware address */
    uint32_t tpa;                         /* target protocol address */
} NetFramesArp;

/* Builds an ARP frame (Ethernet source = a->sha) padded to 60 bytes.
 * Returns its length, or 0 if cap is too small. */
size_t net_frames_build_arp(uint8_t *buf, size_t cap,
                            const uint8_t eth_dst[NET_FRAMES_ALEN],
                            const NetFramesArp *a);

/* Parses an Ethernet/IPv4 ARP frame into a (the Ethernet addresses are in
 * the frame's first 12 bytes).  0, or -EINVAL if it is not one: wrong
 * ethertype, hardware or protocol type or address lengths, or too short. */
int net_frames_parse_arp(const uint8_t *frame, size_t len, NetFramesArp *a);

/* --- IPv4 + ICMP echo ------------------------------------------------------ */

typedef struct NetFramesEcho {
    uint8_t eth_dst[NET_FRAMES_ALEN];
    uint8_t eth_src[NET_FRAMES_ALEN];
    uint32_t ip_src, ip_dst;
    uint16_t ip_id;
    uint8_t ip_ttl;
    uint8_t ip_df;                        /* 1: the don't-fragment bit */
    uint8_t type;                         /* NET_FRAMES_ICMP_ECHO_REQUEST / _REPLY */
    uint16_t id, seq;                     /* ICMP identifier and sequence */
    const uint8_t *data;                  /* echo payload (parse: into frame) */
    size_t data_len;
} NetFramesEcho;

/* Builds an Ethernet + IPv4 (no options, TOS 0) + ICMP echo frame with both
 * checksums, padded to 60 bytes.  Returns its length, or 0 if cap is too
 * small or the datagram would exceed NET_PORT_MAX_FRAME. */
size_t net_frames_build_echo(uint8_t *buf, size_t cap, const NetFramesEcho *e);

/* Parses an ICMP echo request or reply in an IPv4 frame (options skipped,
 * Ethernet padding ignored).  0 on success; -EINVAL if the frame is not an
 * unfragmented IPv4 ICMP echo at all; -EBADMSG if it claims to be one but a
 * length or either checksum is wrong. */
int net_frames_parse_echo(const uint8_t *frame, size_t len, NetFramesEcho *e);

/* --- test frames ------------------------------------------------------------ */

/* Frames for driving a NIC's receive and transmit paths: frame i is
 * net_frames_gen_len(i) bytes, Ethernet dst/src as given, ethertype
 * NET_FRAMES_ETHERTYPE_EXPERIMENTAL, then i as a big-endian 32-bit number,
 * then bytes of a 64-bit LCG seeded from (seed, i).  Frame i depends on
 * nothing but (g, i). */
typedef struct NetFramesGen {
    uint8_t dst[NET_FRAMES_ALEN];         /* the receiving NIC's MAC */
    uint8_t src[NET_FRAMES_ALEN];
    uint64_t seed;
} NetFramesGen;

/* Sizes step by 2 over 60..1514 and wrap (60, 62, ..., 1514, 61, 63, ...,
 * 1513, 60, ...): both ends and both parities come early, and every size
 * appears once in each 1455 frames. */
size_t net_frames_gen_len(uint64_t index);

/* Writes frame index into buf; returns its length, 0 if cap is too small. */
size_t net_frames_gen_frame(const NetFramesGen *g, uint64_t index,
                            uint8_t *buf, size_t cap);

#endif
