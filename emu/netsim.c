/*
 * emu/netsim.c: the wire and the host side of the interface (netsim.h).
 */
#include "emu/netsim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net_peer.h"
#include "devices/pcap.h"

#define NETSIM_WIRE_NS 10000ull      /* a peer answers 10 µs later */
#define NETSIM_RETRY_NS 20000ull     /* a device without buffers is asked again */
#define NETSIM_QUEUE 4096
#define NETSIM_PING_ID 0x5c1c

typedef struct NetSimFrame {
    uint64_t at;
    uint16_t len;
    uint8_t data[NET_PORT_MAX_FRAME + 4];
} NetSimFrame;

struct NetSim {
    /* Wiring. */
    NetSimConfig cfg;
    NetSimHost host;
    const NicModel *model;
    void *dev;
    PcapWriter *out, *stack;
    PcapFile *in, *send;
    NetPeer *peer;
    /* State. */
    NetSimFrame *rxq;            /* to the device, in time order (ring) */
    unsigned rx_head, rx_count;
    size_t in_next, send_next;
    uint64_t start_ns;
    bool started;
    NetPeerHost ping_host;
    NetPeerPing ping;
    bool pinging;
    NetSimStats stats;
};

int netsim_new(const NetSimConfig *cfg, const NetSimHost *host, NetSim **out, SlError *e)
{
    NetSim *n = calloc(1, sizeof(*n));
    NetPeerConfig pc;
    int err = 0;

    *out = NULL;
    if (!n || !(n->rxq = calloc(NETSIM_QUEUE, sizeof(NetSimFrame)))) {
        free(n);
        return sl_error(e, -ENOMEM, "netsim: out of memory");
    }
    n->cfg = *cfg;
    n->host = *host;
    net_peer_config_default(&pc);
    n->peer = net_peer_new(&pc);
    if (!n->peer) {
        err = sl_error(e, -ENOMEM, "netsim: out of memory");
    }
    if (!err && cfg->pcap_in) {
        err = pcap_file_load(cfg->pcap_in, &n->in, e);
    }
    if (!err && cfg->send) {
        err = pcap_file_load(cfg->send, &n->send, e);
    }
    if (!err && cfg->pcap_out) {
        err = pcap_writer_open(cfg->pcap_out, &n->out, e);
    }
    if (!err && cfg->pcap_stack) {
        err = pcap_writer_open(cfg->pcap_stack, &n->stack, e);
    }
    if (err) {
        netsim_free(n);
        return err;
    }
    *out = n;
    return 0;
}

void netsim_attach(NetSim *n, const NicModel *model, void *dev)
{
    n->model = model;
    n->dev = dev;
}

/* Queues a frame for the device at time at (kept in time order: frames
 * come from the peer and from --pcap-in, both in order). */
static void netsim_queue_rx(NetSim *n, uint64_t at, const uint8_t *frame, size_t len)
{
    NetSimFrame *f;
    unsigned i;

    if (n->rx_count == NETSIM_QUEUE || len > NET_PORT_MAX_FRAME + 4) {
        return;                  /* the wire drops it, as a full switch would */
    }
    i = n->rx_count;
    while (i > 0 && n->rxq[(n->rx_head + i - 1) % NETSIM_QUEUE].at > at) {
        n->rxq[(n->rx_head + i) % NETSIM_QUEUE] = n->rxq[(n->rx_head + i - 1) % NETSIM_QUEUE];
        i--;
    }
    f = &n->rxq[(n->rx_head + i) % NETSIM_QUEUE];
    f->at = at;
    f->len = (uint16_t)len;
    memcpy(f->data, frame, len);
    n->rx_count++;
}

static void netsim_wire_tx(void *opaque, const uint8_t *frame, size_t len)
{
    NetSim *n = opaque;
    uint64_t now = n->host.now(n->host.opaque);
    uint8_t reply[NET_PORT_MAX_FRAME + 4];
    size_t rlen;
    SlError e;

    n->stats.wire_tx++;
    if (n->out) {
        pcap_writer_write(n->out, now, frame, len, &e);
    }
    rlen = (size_t)net_peer_input(n->peer, frame, len, reply, sizeof(reply));
    if (rlen > 0) {
        netsim_queue_rx(n, now + NETSIM_WIRE_NS, reply, rlen);
    }
}

NetPort netsim_port(NetSim *n)
{
    return (NetPort){.tx = netsim_wire_tx, .opaque = n};
}

void netsim_start(NetSim *n, uint64_t now_ns)
{
    n->start_ns = now_ns;
    n->started = true;
}

/* Frames of --pcap-in keep their spacing, starting at netsim_start. */
static uint64_t netsim_at(NetSim *n, const PcapFile *f, size_t i)
{
    PcapRecord r0, r;

    pcap_file_record(f, 0, &r0);
    pcap_file_record(f, i, &r);
    return n->start_ns + (r.time_ns - r0.time_ns);
}

uint64_t netsim_poll(NetSim *n, uint64_t now)
{
    uint64_t next = UINT64_MAX;

    if (n->model && n->model->advance) {
        n->model->advance(n->dev, now);
    }
    if (n->started) {
        while (n->in && n->in_next < pcap_file_count(n->in) &&
               netsim_at(n, n->in, n->in_next) <= now + NETSIM_WIRE_NS) {
            PcapRecord r;

            pcap_file_record(n->in, n->in_next, &r);
            netsim_queue_rx(n, netsim_at(n, n->in, n->in_next), r.data, r.len);
            n->in_next++;
        }
        if (n->in && n->in_next < pcap_file_count(n->in)) {
            uint64_t at = netsim_at(n, n->in, n->in_next) - NETSIM_WIRE_NS;

            next = at < next ? at : next;
        }
        while (n->send && n->send_next < pcap_file_count(n->send)) {
            PcapRecord r;
            uint64_t at = netsim_at(n, n->send, n->send_next);
            int rc;

            if (at > now) {
                next = at < next ? at : next;
                break;
            }
            pcap_file_record(n->send, n->send_next, &r);
            rc = n->host.xmit(n->host.opaque, r.data, r.len);
            if (rc == -ENOSPC) {
                next = now + NETSIM_RETRY_NS < next ? now + NETSIM_RETRY_NS : next;
                break;
            }
            n->stats.stack_tx++;
            n->send_next++;
        }
    }
    while (n->rx_count && n->model) {
        NetSimFrame *f = &n->rxq[n->rx_head];
        int rc;

        if (f->at > now) {
            next = f->at < next ? f->at : next;
            break;
        }
        rc = n->model->receive(n->dev, f->data, f->len);
        if (rc == -EAGAIN) {
            /* No buffer in the device: the frame waits on the wire. */
            n->stats.rx_retries++;
            f->at = now + NETSIM_RETRY_NS;
            next = f->at < next ? f->at : next;
            break;
        }
        n->stats.wire_rx += rc == 0;
        n->rx_head = (n->rx_head + 1) % NETSIM_QUEUE;
        n->rx_count--;
    }
    return next;
}

bool netsim_busy(const NetSim *n)
{
    return n->rx_count || (n->started && ((n->in && n->in_next < pcap_file_count(n->in)) ||
                                          (n->send && n->send_next < pcap_file_count(n->send))));
}

/* ping's lines, each ending in one newline. */
static void netsim_print(NetSim *n, const char *text)
{
    FILE *out = n->cfg.out ? n->cfg.out : stdout;
    size_t len = strlen(text);

    fputs(text, out);
    if (!len || text[len - 1] != '\n') {
        fputc('\n', out);
    }
    fflush(out);
}

void netsim_stack_rx(NetSim *n, const uint8_t *frame, size_t len)
{
    uint64_t now = n->host.now(n->host.opaque);
    NetPeerEchoReply r;
    SlError e;

    n->stats.stack_rx++;
    if (n->stack) {
        pcap_writer_write(n->stack, now, frame, len, &e);
    }
    if (!n->pinging) {
        return;
    }
    if (net_peer_host_input_arp(&n->ping_host, frame, len) > 0) {
        return;
    }
    if (net_peer_host_parse_echo_reply(&n->ping_host, NETSIM_PING_ID, frame, len, now, &r) == 1) {
        char line[256];

        net_peer_ping_count_reply(&n->ping, &r);
        net_peer_format_ping_reply(line, sizeof(line), NET_PEER_IP, &r);
        netsim_print(n, line);
    }
}

void netsim_ping_begin(NetSim *n, const uint8_t mac[6])
{
    char line[128];

    net_peer_host_init(&n->ping_host, mac);
    net_peer_ping_init(&n->ping);
    n->pinging = true;
    net_peer_format_ping_start(line, sizeof(line), NET_PEER_IP, NET_PEER_PING_DATA_LEN);
    netsim_print(n, line);
}

void netsim_ping_send(NetSim *n, uint16_t seq)
{
    uint8_t frame[NET_PORT_MAX_FRAME];
    size_t len;

    if (!n->ping_host.peer_known) {
        len = net_peer_host_build_arp_request(&n->ping_host, frame, sizeof(frame));
    } else {
        len = net_peer_host_build_echo_request(&n->ping_host, NETSIM_PING_ID, seq,
                                               n->host.now(n->host.opaque), frame, sizeof(frame));
        net_peer_ping_count_sent(&n->ping);
    }
    if (len && n->host.xmit(n->host.opaque, frame, len) == 0) {
        n->stats.stack_tx++;
    }
}

void netsim_ping_end(NetSim *n, uint64_t elapsed_ns)
{
    char buf[512];

    net_peer_format_ping_summary(buf, sizeof(buf), NET_PEER_IP, &n->ping, elapsed_ns);
    netsim_print(n, "");         /* ping's blank line before its summary */
    netsim_print(n, buf);
    n->pinging = false;
}

void netsim_stats(const NetSim *n, NetSimStats *s)
{
    *s = n->stats;
}

int netsim_close(NetSim *n, SlError *e)
{
    int err = 0;

    if (n->out) {
        err = pcap_writer_close(n->out, e);
        n->out = NULL;
    }
    if (n->stack) {
        int e2 = pcap_writer_close(n->stack, err ? NULL : e);

        err = err ? err : e2;
        n->stack = NULL;
    }
    return err;
}

void netsim_free(NetSim *n)
{
    if (!n) {
        return;
    }
    if (n->out) {
        pcap_writer_discard(n->out);
    }
    if (n->stack) {
        pcap_writer_discard(n->stack);
    }
    pcap_file_free(n->in);
    pcap_file_free(n->send);
    net_peer_free(n->peer);
    free(n->rxq);
    free(n);
}
