/*
 * bench/bench_ckpt.c: what a checkpoint costs the machine, and what a
 * restart costs.
 *
 * For 1, 16 and 64 MiB of dirty pages: the pause (pk_ckpt_begin -- the
 * store marks its dirty objects copy-on-write) and the total (begin +
 * commit: objects, directory, header, with the flushes, to an image file
 * through devices/ckdisk), each beside a baseline measured in the same
 * run: a memcpy of the same bytes (the pause a stop-and-copy checkpoint
 * would take) and a plain write + fdatasync of the same bytes to a file.
 * Then a restart of the 64 MiB store, lazy (headers and directory only)
 * and eager, beside reading the image's checkpoint area.  BRIEF §6
 * targets: pause <= 1 ms for 16 MiB dirty; restart <= 20 ms for 64 MiB.
 *
 * The store is kernel-guest's real PkStore: every page an object of the
 * prime bank, its bytes written through the cache's write protocol, in a
 * frame pool (host memory here) that holds them all.  The restarts go into
 * that same store, which pk_ckpt_restart clears first.  Host time is read
 * here only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/ckdisk.h"
#include "emu/disk_cmd.h"
#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_ckpt.h"
#include "kernel-guest/pk_object.h"

static volatile uint64_t bench_sink;

static double bench_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void bench_die(const char *what, const SlError *e)
{
    fprintf(stderr, "bench_ckpt: %s: %s\n", what, e->msg);
    exit(1);
}

static void bench_oom(void)
{
    fprintf(stderr, "bench_ckpt: out of memory\n");
    exit(1);
}

/* ---- the store: n dirty pages ------------------------------------------------ */

typedef struct BenchStore {
    uint8_t *frames;             /* the pool: n frames, the pages' bytes */
    PkStore *s;
} BenchStore;

/* n pages of the prime bank, page i filled with the byte i * 7 + 1, all
 * dirty: what a checkpoint of n dirty pages writes. */
static void bench_store(BenchStore *b, uint32_t n)
{
    PkStoreConfig cfg = {.nframes = n, .max_objects = n, .max_banks = 1};
    SlError e;

    b->frames = malloc((size_t)n * PK_PAGE_SIZE);
    if (!b->frames) {
        bench_oom();
    }
    cfg.frames = b->frames;
    if (pk_store_new(&cfg, &b->s, &e) != 0) {
        bench_die("store", &e);
    }
    for (uint32_t i = 0; i < n; i++) {
        int32_t idx;
        PkOid oid;

        pk_cache_begin_op(b->s);
        if (pk_bank_new_object(b->s, PK_BANK_PRIME, PK_OBJ_PAGE, &oid) != 0 ||
            pk_cache_resolve(b->s, oid, &idx) != 0 || pk_cache_prepare_write(b->s, idx) != 0) {
            fprintf(stderr, "bench_ckpt: the store refused page %u\n", i);
            exit(1);
        }
        memset(pk_object_frame_data(b->s, b->s->obj[idx].frame), (int)(i * 7 + 1), PK_PAGE_SIZE);
        pk_object_mark_dirty(b->s, idx);
    }
}

static void bench_store_free(BenchStore *b)
{
    pk_store_free(b->s);
    free(b->frames);
}

/* ---- runs ----------------------------------------------------------------- */

static const char *bench_dir(void)
{
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

/* A fresh image for n pages: a checkpoint area and a home area of n each. */
static CkDisk *bench_image(const char *path, uint32_t n, PkBlockDev *bd)
{
    PkDiskGeometry g = {0};
    CkDisk *d;
    SlError e;

    unlink(path);
    g.ckpt_blocks = n + n / PK_DISK_DIRENTS_PER_BLOCK + 8;
    g.nblocks = PK_DISK_META_BLOCKS + g.ckpt_blocks + n;
    if (ckdisk_create(path, g.nblocks, &d, &e) != 0) {
        bench_die("create", &e);
    }
    disk_cmd_blockdev(d, bd);
    if (pk_disk_format_create(bd, &g, &e) != 0) {
        bench_die("format", &e);
    }
    return d;
}

/* The baseline for the total: the same bytes written and synced. */
static double bench_write_baseline(const char *path, const uint8_t *bytes, size_t len)
{
    double t0 = bench_now_ms();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t done = 0;

    while (fd >= 0 && done < len) {
        ssize_t k = write(fd, bytes + done, len - done);

        if (k <= 0) {
            break;
        }
        done += (size_t)k;
    }
    if (fd >= 0) {
        fdatasync(fd);
        close(fd);
    }
    unlink(path);
    return bench_now_ms() - t0;
}

static void bench_checkpoint(uint32_t mib, const char *img, const char *raw)
{
    uint32_t n = (mib << 20) / PK_PAGE_SIZE;
    BenchStore b;
    uint8_t *copy = malloc((size_t)n * PK_PAGE_SIZE);
    double t0, pause, total, memcpy_ms, write_ms;
    PkBlockDev bd;
    CkDisk *d = bench_image(img, n, &bd);
    PkCkpt *ck;
    SlError e;

    if (!copy) {
        bench_oom();
    }
    bench_store(&b, n);
    if (pk_ckpt_open(&bd, b.s, &ck, &e) != 0) {
        bench_die("open", &e);
    }
    /* Fault the copy's pages in first (volatile: a memset here is a dead
     * store the compiler may drop, leaving the faults in the baseline). */
    for (size_t i = 0; i < (size_t)n * PK_PAGE_SIZE; i += PK_PAGE_SIZE) {
        ((volatile uint8_t *)copy)[i] = 0;
    }
    t0 = bench_now_ms();
    memcpy(copy, b.frames, (size_t)n * PK_PAGE_SIZE);
    memcpy_ms = bench_now_ms() - t0;
    bench_sink += copy[n];
    t0 = bench_now_ms();
    if (pk_ckpt_begin(ck, &e) != 0) {
        bench_die("begin", &e);
    }
    pause = bench_now_ms() - t0;
    if (pk_ckpt_commit(ck, &e) != 0) {
        bench_die("commit", &e);
    }
    total = bench_now_ms() - t0;
    write_ms = bench_write_baseline(raw, b.frames, (size_t)n * PK_PAGE_SIZE);
    printf("checkpoint %2u MiB dirty: pause %8.3f ms (memcpy of the bytes %8.3f ms, ratio %.4f)"
           "  total %8.2f ms (write+sync of the bytes %8.2f ms, ratio %.2f)\n",
           mib, pause, memcpy_ms, pause / memcpy_ms, total, write_ms, total / write_ms);
    pk_ckpt_free(ck);
    ckdisk_close(d);
    free(copy);
    bench_store_free(&b);
    unlink(img);
}

static void bench_restart(const char *img)
{
    uint32_t n = (64u << 20) / PK_PAGE_SIZE;
    BenchStore b;
    PkCkptRestartInfo ri;
    double t0, lazy = 0, eager = 0, read_ms;
    uint8_t *buf;
    PkBlockDev bd;
    CkDisk *d = bench_image(img, n, &bd);
    PkCkpt *ck;
    SlError e;

    bench_store(&b, n);
    if (pk_ckpt_open(&bd, b.s, &ck, &e) != 0 || pk_ckpt_checkpoint(ck, &e) != 0) {
        bench_die("checkpoint", &e);
    }
    pk_ckpt_free(ck);
    ckdisk_close(d);
    for (int mode = 0; mode < 2; mode++) {
        t0 = bench_now_ms();
        if (ckdisk_open(img, false, &d, &e) != 0) {
            bench_die("reopen", &e);
        }
        disk_cmd_blockdev(d, &bd);
        if (pk_ckpt_open(&bd, b.s, &ck, &e) != 0 ||
            pk_ckpt_restart(ck, mode ? PK_CKPT_EAGER : PK_CKPT_LAZY, &ri, &e) != 0) {
            bench_die("restart", &e);
        }
        if (ri.objects != n || ri.loaded != (mode ? n : 0)) {
            fprintf(stderr, "bench_ckpt: restart found %" PRIu64 " objects, loaded %" PRIu64
                    "; expected %u\n", ri.objects, ri.loaded, n);
            exit(1);
        }
        *(mode ? &eager : &lazy) = bench_now_ms() - t0;
        pk_ckpt_free(ck);
        ckdisk_close(d);
    }
    /* Baseline: reading the checkpoint area's object blocks. */
    buf = malloc((size_t)n * PK_PAGE_SIZE);
    t0 = bench_now_ms();
    if (!buf || ckdisk_open(img, false, &d, &e) != 0 ||
        ckdisk_read(d, PK_DISK_META_BLOCKS, n, buf) != 0) {
        fprintf(stderr, "bench_ckpt: baseline read failed\n");
        exit(1);
    }
    read_ms = bench_now_ms() - t0;
    ckdisk_close(d);
    bench_sink += buf[0];
    printf("restart 64 MiB store (%u objects): lazy %8.3f ms, eager %8.2f ms "
           "(reading the 64 MiB %8.2f ms; ratios %.4f, %.2f)\n",
           n, lazy, eager, read_ms, lazy / read_ms, eager / read_ms);
    free(buf);
    bench_store_free(&b);
    unlink(img);
}

int main(void)
{
    static const uint32_t sizes[] = {1, 16, 64};
    char img[256], raw[256];

    snprintf(img, sizeof(img), "%s/bench_ckpt.%d.img", bench_dir(), (int)getpid());
    snprintf(raw, sizeof(raw), "%s/bench_ckpt.%d.raw", bench_dir(), (int)getpid());
    printf("image files in %s; targets: pause <= 1 ms at 16 MiB dirty, restart <= 20 ms at 64 MiB\n",
           bench_dir());
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        bench_checkpoint(sizes[i], img, raw);
    }
    bench_restart(img);
    return 0;
}
