/*
 * emu/netsim.h: the wire outside the emulated NIC, and the host side of
 * its interface.
 *
 *   device tx  -> --pcap-out file, and the built-in peer (10.0.2.2), whose
 *                 answers come back as received frames a few µs later
 *   device rx  <- frames of --pcap-in at their timestamps, peer answers;
 *                 a device with no buffer (-EAGAIN) is offered the frame
 *                 again later, so nothing is lost
 *   stack rx   -> --pcap-stack file; ping's echo replies
 *   stack tx   <- frames of --send (their timestamps), ping's requests
 *
 * All on the machine's virtual clock; nothing here reads host time.
 */
#ifndef EMU_NETSIM_H
#define EMU_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "emu/nic.h"

typedef struct NetSimConfig {
    const char *pcap_out;        /* what the device put on the wire */
    const char *pcap_in;         /* what arrives on the wire */
    const char *pcap_stack;      /* what the driver handed to the stack */
    const char *send;            /* frames the host sends through the driver */
    FILE *out;                   /* ping's lines */
} NetSimConfig;

typedef struct NetSim NetSim;

/* How the wire reaches the rest of the machine (wiring). */
typedef struct NetSimHost {
    uint64_t (*now)(void *opaque);
    /* The host side sends a frame through the interface: 0, or -ENOSPC
     * (queue full: try again later), or another error (dropped). */
    int (*xmit)(void *opaque, const uint8_t *frame, size_t len);
    void *opaque;
} NetSimHost;

int netsim_new(const NetSimConfig *cfg, const NetSimHost *host, NetSim **out, SlError *e);
/* Connects the NIC: its received frames go to model->receive(dev). */
void netsim_attach(NetSim *n, const NicModel *model, void *dev);
/* The NetPort a device model transmits into. */
NetPort netsim_port(NetSim *n);
/* Runs what is due at now (device clock, frames to the device and to the
 * host's transmit); returns when something is next due (UINT64_MAX none). */
uint64_t netsim_poll(NetSim *n, uint64_t now_ns);
/* A frame the stack received from the driver. */
void netsim_stack_rx(NetSim *n, const uint8_t *frame, size_t len);
/* Whether frames are still waiting (to the device or to the host's xmit). */
bool netsim_busy(const NetSim *n);
/* Starts the --send and --pcap-in schedules at now_ns (after ifup). */
void netsim_start(NetSim *n, uint64_t now_ns);

/* ping: ARP for the peer, then an echo request per second. */
void netsim_ping_begin(NetSim *n, const uint8_t mac[6]);
/* Sends echo request seq (ARPs first if the peer is unknown). */
void netsim_ping_send(NetSim *n, uint16_t seq);
void netsim_ping_end(NetSim *n, uint64_t elapsed_ns);

typedef struct NetSimStats {
    uint64_t wire_tx, wire_rx, stack_rx, stack_tx, rx_retries;
} NetSimStats;
void netsim_stats(const NetSim *n, NetSimStats *s);

/* Writes the pcap files (renamed into place); 0 or a host error. */
int netsim_close(NetSim *n, SlError *e);
void netsim_free(NetSim *n);

#endif
