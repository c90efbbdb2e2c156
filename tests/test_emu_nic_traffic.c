/*
 * tests/test_emu_nic_traffic.c: real Debian NIC drivers through their
 * whole life on the emulated machine -- up, 1,000 frames of sizes 60..1514
 * transmitted and 1,000 received (byte-exact against pcap files), ping,
 * down, remove, exit -- with zero leaks, zero IOMMU faults and zero
 * DMA-API reports, and the same register trace on every run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/net_frames.h"
#include "devices/pcap.h"
#include "emu/machine.h"
#include "tests/support.h"

#define TRAFFIC_FRAMES 1000
#define TRAFFIC_STEP_NS 200000ull     /* 200 µs apart: 1514 bytes take 121 µs at 100 Mb/s */

static const uint8_t nic_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t far_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x03};

typedef struct Nic {
    const char *driver, *device;
} Nic;

typedef struct Run {
    char dir[64];
    char in[128], send[128], out[128], stack[128], trace[128], report[128];
    char *log;
    size_t log_len;
    char *json;
} Run;

static void run_paths(Run *r)
{
    snprintf(r->dir, sizeof(r->dir), "/tmp/sluice-traffic-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->in, sizeof(r->in), "%s/in.pcap", r->dir);
    snprintf(r->send, sizeof(r->send), "%s/send.pcap", r->dir);
    snprintf(r->out, sizeof(r->out), "%s/out.pcap", r->dir);
    snprintf(r->stack, sizeof(r->stack), "%s/stack.pcap", r->dir);
    snprintf(r->trace, sizeof(r->trace), "%s/trace.txt", r->dir);
    snprintf(r->report, sizeof(r->report), "%s/report.json", r->dir);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    if (len) {
        *len = (size_t)n;
    }
    return buf;
}

/* Runs driver on its device with the given traffic; fills the run's log
 * and JSON report. */
static void run_machine(const Nic *nic, Run *r, bool traffic, unsigned ping, bool trace)
{
    char driver_path[4096];
    SlError e = {{0}};
    FILE *log = open_memstream(&r->log, &r->log_len);
    FILE *tr = trace ? fopen(r->trace, "w") : NULL;
    FILE *rep;
    MachineConfig mc = {
        .image = test_kimage(), .device = nic->device, .out = log, .trace = tr,
        .iommu_mode = "strict",
        .send = traffic ? r->send : NULL, .pcap_in = traffic ? r->in : NULL,
        .pcap_out = traffic ? r->out : NULL, .pcap_stack = traffic ? r->stack : NULL,
    };
    Machine *m;

    assert_non_null(log);
    if (kimage_module_path(test_kimage(), nic->driver, driver_path, sizeof(driver_path), &e)) {
        fail_msg("%s", e.msg);
    }
    if (machine_new(&mc, &m, &e) != 0) {
        fail_msg("machine_new: %s", e.msg);
    }
    assert_true(machine_load_driver(m, driver_path, NULL, 0, &e) > 0);
    assert_int_equal(machine_init_modules(m), 0);
    assert_int_equal(machine_ifup(m), 0);
    if (ping) {
        assert_int_equal(machine_ping(m, ping), 0);
    }
    if (traffic) {
        assert_int_equal(machine_net_run(m, 60ull * 1000000000ull), 0);
    }
    assert_int_equal(machine_run_for(m, 100000000ull), 0);    /* timers, watchdog */
    assert_int_equal(machine_ifdown(m), 0);
    assert_int_equal(machine_exit_modules(m), 0);
    if (machine_guest_stopped(m)) {
        machine_report(m, stderr);
        fail_msg("the guest stopped");
    }
    rep = fopen(r->report, "w");
    assert_non_null(rep);
    assert_int_equal(machine_write_report(m, rep, nic->driver), 0);
    fclose(rep);
    machine_free(m);
    fclose(log);
    if (tr) {
        fclose(tr);
    }
    r->json = slurp(r->report, NULL);
}

static void run_free(Run *r)
{
    char cmd[160];

    free(r->log);
    free(r->json);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
    assert_int_equal(system(cmd), 0);
}

static void assert_clean(const Run *r)
{
    if (!strstr(r->json, "\"pins_now\":0,") || !strstr(r->json, "\"iommu_faults\":0,") ||
        !strstr(r->json, "\"dma_api_reports\":0}") || !strstr(r->json, "\"heap_live_bytes\":0,") ||
        !strstr(r->json, "\"warnings\":0,")) {
        fail_msg("the run left something behind or reported misuse:\n%s\nlog:\n%s", r->json, r->log);
    }
    if (strstr(r->log, "WARNING") || strstr(r->log, "DMA-API")) {
        fail_msg("the driver warned:\n%s", r->log);
    }
}

/* The records of two pcap files carry the same frames. */
static void assert_same_frames(const char *expected, const char *got, uint64_t n)
{
    PcapFile *a, *b;
    SlError e = {{0}};

    if (pcap_file_load(expected, &a, &e) || pcap_file_load(got, &b, &e)) {
        fail_msg("%s", e.msg);
    }
    if (pcap_file_count(b) != n) {
        fail_msg("%s: %zu frames, expected %llu", got, pcap_file_count(b), (unsigned long long)n);
    }
    for (size_t i = 0; i < n; i++) {
        PcapRecord x, y;

        pcap_file_record(a, i, &x);
        pcap_file_record(b, i, &y);
        if (x.len != y.len || memcmp(x.data, y.data, x.len)) {
            fail_msg("%s: frame %zu differs from %s (len %u vs %u)", got, i, expected, y.len, x.len);
        }
    }
    pcap_file_free(a);
    pcap_file_free(b);
}

static void traffic(const Nic *nic)
{
    NetFramesGen rx = {.seed = 1}, tx = {.seed = 2};
    SlError e = {{0}};
    Run r;

    run_paths(&r);
    memcpy(rx.dst, nic_mac, 6);
    memcpy(rx.src, far_mac, 6);
    memcpy(tx.dst, far_mac, 6);
    memcpy(tx.src, nic_mac, 6);
    if (pcap_write_generated(r.in, &rx, TRAFFIC_FRAMES, 0, TRAFFIC_STEP_NS, &e) ||
        pcap_write_generated(r.send, &tx, TRAFFIC_FRAMES, 0, TRAFFIC_STEP_NS, &e)) {
        fail_msg("%s", e.msg);
    }
    run_machine(nic, &r, true, 0, false);
    assert_same_frames(r.send, r.out, TRAFFIC_FRAMES);
    assert_same_frames(r.in, r.stack, TRAFFIC_FRAMES);
    assert_clean(&r);
    run_free(&r);
}

static void ping(const Nic *nic)
{
    Run r;

    run_paths(&r);
    run_machine(nic, &r, false, 5, false);
    for (int seq = 1; seq <= 5; seq++) {
        char want[64];

        snprintf(want, sizeof(want), "64 bytes from 10.0.2.2: icmp_seq=%d ttl=64 time=", seq);
        if (!strstr(r.log, want)) {
            fail_msg("no reply %d in:\n%s", seq, r.log);
        }
    }
    assert_non_null(strstr(r.log, "5 packets transmitted, 5 received, 0% packet loss"));
    assert_clean(&r);
    run_free(&r);
}

/* The driver's own periodic code runs on virtual time: after 10 s up, the
 * register trace has accesses made from fn (its media thread / watchdog).
 * (pcnet32 arms its watchdog only with an MII PHY, which the 79C970A lacks;
 * ne2k-pci has none.) */
static void timer_paths(const Nic *nic, const char *fn)
{
    char driver_path[4096];
    SlError e = {{0}};
    Run r;
    FILE *tr, *log;
    MachineConfig mc = {.image = test_kimage(), .device = nic->device, .iommu_mode = "strict"};
    Machine *m;
    char *trace;

    run_paths(&r);
    tr = fopen(r.trace, "w");
    log = open_memstream(&r.log, &r.log_len);
    mc.trace = tr;
    mc.out = log;
    if (kimage_module_path(test_kimage(), nic->driver, driver_path, sizeof(driver_path), &e) ||
        machine_new(&mc, &m, &e)) {
        fail_msg("%s", e.msg);
    }
    assert_true(machine_load_driver(m, driver_path, NULL, 0, &e) > 0);
    assert_int_equal(machine_init_modules(m), 0);
    assert_int_equal(machine_ifup(m), 0);
    assert_int_equal(machine_run_for(m, 10000000000ull), 0);
    assert_int_equal(machine_ifdown(m), 0);
    assert_int_equal(machine_exit_modules(m), 0);
    machine_free(m);
    fclose(tr);
    fclose(log);
    trace = slurp(r.trace, NULL);
    if (!strstr(trace, fn)) {
        fail_msg("no register access from %s in 10 s of virtual time", fn);
    }
    free(trace);
    r.json = NULL;
    run_free(&r);
}

static void deterministic(const Nic *nic)
{
    Run a, b;
    char *ta, *tb;
    size_t la, lb;

    run_paths(&a);
    run_paths(&b);
    run_machine(nic, &a, false, 3, true);
    run_machine(nic, &b, false, 3, true);
    ta = slurp(a.trace, &la);
    tb = slurp(b.trace, &lb);
    assert_true(la > 1000);
    assert_int_equal(la, lb);
    assert_memory_equal(ta, tb, la);
    assert_string_equal(a.log, b.log);
    free(ta);
    free(tb);
    run_free(&a);
    run_free(&b);
}

static const Nic rtl8139 = {"8139too", "rtl8139"};
static const Nic ne2000 = {"ne2k-pci", "ne2000"};
static const Nic pcnet = {"pcnet32", "pcnet"};
static const Nic e1000 = {"e1000", "e1000"};

#define NIC_TESTS(nic, var)                                                              \
    static void test_##nic##__1000_frames_each_way__byte_exact_and_clean(void **s)      \
    {                                                                                    \
        traffic(&var);                                                                   \
    }                                                                                    \
    static void test_##nic##__ping_5__five_replies(void **s)                            \
    {                                                                                    \
        ping(&var);                                                                      \
    }                                                                                    \
    static void test_##nic##__two_runs__identical_register_traces(void **s)             \
    {                                                                                    \
        deterministic(&var);                                                             \
    }

static void test_rtl8139_8139too__10s_up__media_thread_runs(void **s)
{
    timer_paths(&rtl8139, "rtl8139_thread");
}

static void test_e1000_e1000__10s_up__watchdog_task_runs(void **s)
{
    timer_paths(&e1000, "e1000_watchdog");
}

NIC_TESTS(rtl8139_8139too, rtl8139)
NIC_TESTS(ne2000_ne2k_pci, ne2000)
NIC_TESTS(pcnet_pcnet32, pcnet)
NIC_TESTS(e1000_e1000, e1000)

#define NIC_ENTRIES(nic)                                                                 \
    cmocka_unit_test(test_##nic##__1000_frames_each_way__byte_exact_and_clean),          \
    cmocka_unit_test(test_##nic##__ping_5__five_replies),                                \
    cmocka_unit_test(test_##nic##__two_runs__identical_register_traces)

int main(void)
{
    const struct CMUnitTest tests[] = {
        NIC_ENTRIES(rtl8139_8139too),
        NIC_ENTRIES(ne2000_ne2k_pci),
        NIC_ENTRIES(pcnet_pcnet32),
        NIC_ENTRIES(e1000_e1000),
        cmocka_unit_test(test_rtl8139_8139too__10s_up__media_thread_runs),
        cmocka_unit_test(test_e1000_e1000__10s_up__watchdog_task_runs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
