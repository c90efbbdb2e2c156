/*
 * bench/bench_probe.c: how long a real driver takes to come up in sluice.
 *
 * Measures, in one run and one process:
 *   boot   machine_new: BTF and export tables of the real vmlinux, guest
 *          RAM, served API, PCI enumeration (the baseline);
 *   probe  boot + load mii and 8139too + module init (which probes) +
 *          remove + module exit -- the whole `sluice run --driver 8139too`.
 * and prints each figure and the ratio probe/boot.  BRIEF §6's target: a
 * driver probes in tens of milliseconds from process start (booting Linux
 * in QEMU to the same point takes ~8 s).
 *
 * usage: bench_probe [ITERATIONS]   (needs the image cache: sluice images fetch)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "emu/machine.h"
#include "images/kimage.h"

static double bench_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int bench_cycle(const KImage *img, const char *path, int drive, FILE *devnull)
{
    MachineConfig mc = {.image = img, .device = "rtl8139", .out = devnull, .diag = devnull};
    SlError e = {{0}};
    Machine *m;
    int err = 0;

    if (machine_new(&mc, &m, &e) != 0) {
        fprintf(stderr, "bench_probe: %s\n", e.msg);
        return -1;
    }
    if (drive) {
        err = machine_load_driver(m, path, NULL, 0, &e) < 0 ? -1 : 0;
        err = err ? err : machine_init_modules(m);
        err = err ? err : machine_exit_modules(m);
        if (err) {
            fprintf(stderr, "bench_probe: the driver did not come up and go down cleanly (%d) %s\n",
                    err, e.msg);
        }
    }
    machine_free(m);
    return err;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 20;
    double t0, boot_ms = 0, probe_ms = 0;
    char path[4096];
    SlError e = {{0}};
    KImage img;
    FILE *devnull = fopen("/dev/null", "w");

    if (iters < 1 || !devnull) {
        fprintf(stderr, "usage: bench_probe [ITERATIONS >= 1]\n");
        return 2;
    }
    if (kimage_open(NULL, &img, &e) != 0 ||
        kimage_module_path(&img, "8139too", path, sizeof(path), &e) != 0) {
        fprintf(stderr, "bench_probe: %s\n", e.msg);
        return 1;
    }
    /* One untimed cycle warms the page cache. */
    if (bench_cycle(&img, path, 1, devnull) != 0) {
        return 1;
    }
    for (int i = 0; i < iters; i++) {
        t0 = bench_now_ms();
        if (bench_cycle(&img, path, 0, devnull) != 0) {
            return 1;
        }
        boot_ms += bench_now_ms() - t0;
        t0 = bench_now_ms();
        if (bench_cycle(&img, path, 1, devnull) != 0) {
            return 1;
        }
        probe_ms += bench_now_ms() - t0;
    }
    boot_ms /= iters;
    probe_ms /= iters;
    printf("kernel %s, %d iterations\n", img.abi, iters);
    printf("boot (baseline): machine with real vmlinux BTF + exports   %8.2f ms\n", boot_ms);
    printf("boot + load mii,8139too + init/probe + remove/exit       %8.2f ms\n", probe_ms);
    printf("driver part alone                                        %8.2f ms\n", probe_ms - boot_ms);
    printf("ratio probe/boot                                         %8.2fx\n", probe_ms / boot_ms);
    fclose(devnull);
    return 0;
}
