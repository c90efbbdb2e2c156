/*
 * bench/bench_persist.c: checkpoints of a machine running a real driver
 * (8139too on its RTL8139 model), guest RAM being the persistent store.
 *
 * Prints, best of three where it is a time:
 *  - the cost of dirty tracking: N received frames (--pcap-in) through the
 *    driver with the vCPU write tracker off and on, same run: the ratio is
 *    what every guest store pays once --disk is given;
 *  - the first checkpoint (every live page object), then one after the N
 *    frames (only the pages written since): pause (marking) and total,
 *    objects written;
 *  - restart: the store back from the disk into a fresh machine and the
 *    state restored (boot and module load excluded);
 *  - baseline: a memcpy of all guest RAM, what copying the machine would
 *    cost at the least.
 *
 * usage: bench_persist [FRAMES]   (needs the image cache: sluice images fetch)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/net_frames.h"
#include "devices/pcap.h"
#include "emu/disk_cmd.h"
#include "emu/machine.h"
#include "emu/persist.h"
#include "images/kimage.h"
#include "kernel-guest/kernel.h"

#define BENCH_RAM (128ull << 20)

static double bench_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 8139too loaded, probed and up; rx frames from pcap if not NULL. */
static Machine *bench_machine(const KImage *img, const char *pcap, FILE *devnull, bool live)
{
    MachineConfig mc = {.image = img, .device = "rtl8139", .out = devnull, .diag = devnull,
                        .iommu_mode = "strict", .pcap_in = pcap, .ram_bytes = BENCH_RAM};
    char path[4096];
    SlError e = {{0}};
    Machine *m;

    if (kimage_module_path(img, "8139too", path, sizeof(path), &e) != 0 ||
        machine_new(&mc, &m, &e) != 0) {
        fprintf(stderr, "bench_persist: %s\n", e.msg);
        return NULL;
    }
    if (machine_load_driver(m, path, NULL, 0, &e) < 0 ||
        (live && (machine_init_modules(m) != 0 || machine_ifup(m) != 0))) {
        fprintf(stderr, "bench_persist: 8139too did not come up %s\n", e.msg);
        machine_free(m);
        return NULL;
    }
    return m;
}

/* Seconds to receive the pcap with the write tracker on or off. */
static double bench_rx(const KImage *img, const char *pcap, bool track, FILE *devnull)
{
    Machine *m = bench_machine(img, pcap, devnull, true);
    SlError e = {{0}};
    double t0, t;

    if (!m || kernel_track_writes(machine_kernel(m), track, &e) != 0) {
        return -1;
    }
    t0 = bench_now_s();
    if (machine_net_run(m, 600ull * 1000000000ull) != 0) {
        machine_free(m);
        return -1;
    }
    t = bench_now_s() - t0;
    machine_free(m);
    return t;
}

static double bench_min(double a, double b)
{
    return a < 0 || b < 0 ? -1 : a < b ? a : b;
}

static int bench_disk(const char *img)
{
    char *argv[] = {"disk", "create", (char *)img, "--size", "1G", NULL};

    return disk_cmd_main(5, argv);
}

int main(int argc, char **argv)
{
    long frames = argc > 1 ? atol(argv[1]) : 2000;
    char dir[] = "/tmp/bench-persist-XXXXXX", rx[64], disk[64];
    NetFramesGen grx = {.dst = {0x52, 0x54, 0, 0x12, 0x34, 0x56}, .src = {0x52, 0x55, 0x0a, 0, 2, 3},
                        .seed = 1};
    PersistConfig pc = {.device = "rtl8139", .iommu = "strict", .ram_mib = BENCH_RAM >> 20,
                        .ifup = 1};
    PersistStats full = {0}, incr = {0};
    FILE *devnull = fopen("/dev/null", "w");
    double off = -1, on = -1, restart = -1, copy = -1;
    SlError e = {{0}};
    KImage img;

    if (frames < 10 || !devnull || !mkdtemp(dir)) {
        fprintf(stderr, "usage: bench_persist [FRAMES >= 10]\n");
        return 2;
    }
    snprintf(rx, sizeof(rx), "%s/rx.pcap", dir);
    snprintf(disk, sizeof(disk), "%s/disk.img", dir);
    if (kimage_open(NULL, &img, &e) != 0 ||
        pcap_write_generated(rx, &grx, (uint64_t)frames, 0, 20000, &e) != 0 ||
        kimage_module_path(&img, "8139too", pc.driver, sizeof(pc.driver), &e) != 0) {
        fprintf(stderr, "bench_persist: %s\n", e.msg);
        return 1;
    }
    snprintf(pc.abi, sizeof(pc.abi), "%s", img.abi);
    for (int i = 0; i < 3; i++) {
        off = i ? bench_min(off, bench_rx(&img, rx, false, devnull)) : bench_rx(&img, rx, false, devnull);
        on = i ? bench_min(on, bench_rx(&img, rx, true, devnull)) : bench_rx(&img, rx, true, devnull);
    }
    for (int i = 0; i < 3; i++) {
        Machine *a = bench_machine(&img, rx, devnull, true), *b;
        PersistStats f, n;
        Persist *p = NULL;
        double t0;
        void *ram, *dst;
        uint64_t size;

        unlink(disk);
        if (!a || bench_disk(disk) != 0 || persist_open(disk, &p, &e) != 0 ||
            persist_checkpoint(p, a, &pc, &f, &e) != 0 || machine_net_run(a, 600ull * 1000000000ull) ||
            persist_checkpoint(p, a, &pc, &n, &e) != 0) {
            fprintf(stderr, "bench_persist: checkpoint: %s\n", e.msg);
            return 1;
        }
        persist_close(p);
        if (!i || f.total_ns < full.total_ns) {
            full = f;
        }
        if (!i || n.total_ns < incr.total_ns) {
            incr = n;
        }
        b = bench_machine(&img, NULL, devnull, false);
        if (!b || persist_open(disk, &p, &e) != 0 ||
            persist_restart_config(p, &pc, &size, &e) != 0) {
            fprintf(stderr, "bench_persist: restart: %s\n", e.msg);
            return 1;
        }
        t0 = bench_now_s();
        if (persist_restart_machine(p, b, devnull, &e) != 0) {
            fprintf(stderr, "bench_persist: restart: %s\n", e.msg);
            return 1;
        }
        restart = bench_min(i ? restart : 1e9, bench_now_s() - t0);
        persist_close(p);
        kernel_ram(machine_kernel(a), &ram, &size);
        dst = malloc(size);
        memset(dst, 1, size);                /* fault it in: time the copy only */
        t0 = bench_now_s();
        memcpy(dst, ram, size);
        copy = bench_min(i ? copy : 1e9, bench_now_s() - t0);
        if (((volatile unsigned char *)dst)[size / 2] == 0x5a) {
            fputc(' ', devnull);             /* keeps the copy from being elided */
        }
        free(dst);
        machine_free(a);
        machine_free(b);
    }
    if (off <= 0 || on <= 0) {
        return 1;
    }
    printf("kernel %s, 8139too, %llu MiB guest RAM, %ld frames received between checkpoints\n",
           img.abi, (unsigned long long)(BENCH_RAM >> 20), frames);
    printf("dirty tracking: rx %.0f pkt/s off, %.0f pkt/s on: %.2fx the time\n", frames / off,
           frames / on, on / off);
    printf("first checkpoint:       %6llu objects, pause %8.3f ms, total %8.3f ms\n",
           (unsigned long long)full.objects, full.pause_ns / 1e6, full.total_ns / 1e6);
    printf("after the frames:       %6llu objects, pause %8.3f ms, total %8.3f ms\n",
           (unsigned long long)incr.objects, incr.pause_ns / 1e6, incr.total_ns / 1e6);
    printf("restart (store + state):                           %8.3f ms\n", restart * 1e3);
    printf("baseline: memcpy of all guest RAM                  %8.3f ms\n", copy * 1e3);
    printf("ratio incremental checkpoint / RAM copy            %8.2fx\n",
           incr.total_ns / 1e9 / copy);
    unlink(rx);
    unlink(disk);
    rmdir(dir);
    return 0;
}
