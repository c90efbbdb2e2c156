/*
 * devices/net_port.h: a NIC model's Ethernet side.
 *
 * Transmit: the device hands each frame it sent (without FCS) to its port's
 * tx callback -- a pcap writer, the built-in peer, a loopback -- wired by
 * the machine.  Receive: the machine offers a frame to the device model's
 * own receive function (e.g. rtl8139_receive), which DMAs it into the
 * driver's buffers and raises the interrupt, or refuses it (-EAGAIN: no
 * buffer now, offer it again later; -EINVAL: not a frame this device can
 * take), exactly as the hardware would drop or accept it.  All of it runs
 * on the machine's virtual time; the port never blocks.
 */
#ifndef DEVICES_NET_PORT_H
#define DEVICES_NET_PORT_H

#include <stddef.h>
#include <stdint.h>

#define NET_PORT_MIN_FRAME 60    /* without FCS: shorter frames are padded */
#define NET_PORT_MAX_FRAME 1514  /* without FCS, no VLAN tag */

typedef struct NetPort {
    void (*tx)(void *opaque, const uint8_t *frame, size_t len);
    void *opaque;
} NetPort;

static inline void net_port_tx(const NetPort *p, const uint8_t *frame, size_t len)
{
    if (p && p->tx) {
        p->tx(p->opaque, frame, len);
    }
}

#endif
