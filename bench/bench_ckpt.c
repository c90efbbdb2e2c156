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
 * The store is a minimal PkStore kept here (pages indexed by OID) until
 * the object store of kernel-guest can stand in; it keeps the pk_store.h
 * contract the checkpoint relies on.  Host time is read here only.
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
#include "kernel-guest/pk_ckpt.h"
#include "kernel-guest/pk_store.h"

#define BENCH_MAX_PAGES (64u << 20) / PK_PAGE_SIZE

static volatile uint64_t bench_sink;

static double bench_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- a minimal store: page OID i is pages[i] ---------------------------- */

struct PkStore {
    uint8_t *pages;
    uint32_t n;
    uint8_t *dirty, *marked, *present;
    uint32_t *snap;
    uint32_t nsnap, pos;
    PkBacking backing;
    bool has_backing;
};

int pk_store_snapshot_begin(PkStore *s, uint64_t epoch)
{
    s->nsnap = 0;
    s->pos = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->dirty[i]) {
            s->dirty[i] = 0;
            s->marked[i] = 1;
            s->snap[s->nsnap++] = i;
        }
    }
    return 0;
}

int pk_store_snapshot_next(PkStore *s, PkObjImage *img)
{
    uint32_t i;

    if (s->pos == s->nsnap) {
        return 0;
    }
    i = s->snap[s->pos++];
    s->marked[i] = 0;
    *img = (PkObjImage){i, PK_OBJ_PAGE, 0, s->pages + (size_t)i * PK_PAGE_SIZE, PK_PAGE_SIZE};
    return 1;
}

void pk_store_snapshot_end(PkStore *s)
{
    s->nsnap = s->pos = 0;
}

int pk_store_install(PkStore *s, const PkObjImage *img)
{
    if (img->oid >= s->n || img->len != PK_PAGE_SIZE) {
        return -EINVAL;
    }
    memcpy(s->pages + img->oid * PK_PAGE_SIZE, img->data, PK_PAGE_SIZE);
    s->present[img->oid] = 1;
    return 0;
}

void pk_store_clear(PkStore *s)
{
    memset(s->present, 0, s->n);
    memset(s->dirty, 0, s->n);
}

void pk_store_set_backing(PkStore *s, const PkBacking *b)
{
    s->has_backing = b != NULL;
    if (b) {
        s->backing = *b;
    }
}

int pk_store_iterate(PkStore *s, uint64_t *cursor, PkObjImage *img)
{
    while (*cursor < s->n) {
        uint32_t i = (uint32_t)(*cursor)++;

        if (s->present[i]) {
            *img = (PkObjImage){i, PK_OBJ_PAGE, 0, s->pages + (size_t)i * PK_PAGE_SIZE,
                                PK_PAGE_SIZE};
            return 1;
        }
    }
    return 0;
}

static PkStore *bench_store(uint32_t n)
{
    PkStore *s = calloc(1, sizeof(*s));

    if (!s || !(s->pages = malloc((size_t)n * PK_PAGE_SIZE)) || !(s->dirty = calloc(n, 1)) ||
        !(s->marked = calloc(n, 1)) || !(s->present = calloc(n, 1)) ||
        !(s->snap = calloc(n, sizeof(uint32_t)))) {
        fprintf(stderr, "bench_ckpt: out of memory\n");
        exit(1);
    }
    s->n = n;
    for (uint32_t i = 0; i < n; i++) {
        memset(s->pages + (size_t)i * PK_PAGE_SIZE, (int)(i * 7 + 1), PK_PAGE_SIZE);
        s->dirty[i] = s->present[i] = 1;
    }
    return s;
}

static void bench_store_free(PkStore *s)
{
    free(s->pages);
    free(s->dirty);
    free(s->marked);
    free(s->present);
    free(s->snap);
    free(s);
}

/* ---- runs ----------------------------------------------------------------- */

static const char *bench_dir(void)
{
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

static void bench_die(const char *what, const SlError *e)
{
    fprintf(stderr, "bench_ckpt: %s: %s\n", what, e->msg);
    exit(1);
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
    PkStore *s = bench_store(n);
    uint8_t *copy = malloc((size_t)n * PK_PAGE_SIZE);
    double t0, pause, total, memcpy_ms, write_ms;
    PkBlockDev bd;
    CkDisk *d = bench_image(img, n, &bd);
    PkCkpt *ck;
    SlError e;

    if (!copy || pk_ckpt_open(&bd, s, &ck, &e) != 0) {
        bench_die("open", &e);
    }
    memset(copy, 0, (size_t)n * PK_PAGE_SIZE);   /* fault the pages in first */
    t0 = bench_now_ms();
    memcpy(copy, s->pages, (size_t)n * PK_PAGE_SIZE);
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
    write_ms = bench_write_baseline(raw, s->pages, (size_t)n * PK_PAGE_SIZE);
    printf("checkpoint %2u MiB dirty: pause %8.3f ms (memcpy of the bytes %8.3f ms, ratio %.4f)"
           "  total %8.2f ms (write+sync of the bytes %8.2f ms, ratio %.2f)\n",
           mib, pause, memcpy_ms, pause / memcpy_ms, total, write_ms, total / write_ms);
    pk_ckpt_free(ck);
    ckdisk_close(d);
    free(copy);
    bench_store_free(s);
    unlink(img);
}

static void bench_restart(const char *img)
{
    uint32_t n = (64u << 20) / PK_PAGE_SIZE;
    PkStore *s = bench_store(n);
    PkCkptRestartInfo ri;
    double t0, lazy = 0, eager = 0, read_ms;
    uint8_t *buf;
    PkBlockDev bd;
    CkDisk *d = bench_image(img, n, &bd);
    PkCkpt *ck;
    SlError e;

    if (pk_ckpt_open(&bd, s, &ck, &e) != 0 || pk_ckpt_checkpoint(ck, &e) != 0) {
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
        if (pk_ckpt_open(&bd, s, &ck, &e) != 0 ||
            pk_ckpt_restart(ck, mode ? PK_CKPT_EAGER : PK_CKPT_LAZY, &ri, &e) != 0) {
            bench_die("restart", &e);
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
    bench_store_free(s);
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
