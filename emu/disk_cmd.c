/*
 * emu/disk_cmd.c: `sluice disk` -- create, check and describe checkpointing
 * disk images (layout: kernel-guest/pk_disk_format.h).
 *
 *   sluice disk create IMG --size BYTES [--ckpt-blocks N]
 *                          [--ranges START-END[@LBA][,...]]
 *   sluice disk check IMG     fsck: one line per inconsistency
 *   sluice disk info IMG      geometry, ranges, headers, directory
 *
 * check and info open the image read-only (O_RDONLY): whatever is wrong
 * with it, they cannot change it.  create never overwrites an existing
 * file and removes what it created if it fails.
 */
#include "emu/disk_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-guest/kmem.h"

enum { DISK_EXIT_IMAGE = 1, DISK_EXIT_USAGE = 2 };

static const char disk_cmd_usage[] =
    "usage: sluice disk create IMG --size BYTES [--ckpt-blocks N] [--ranges SPEC]\n"
    "       sluice disk check IMG\n"
    "       sluice disk info IMG\n"
    "  --size BYTES        image size, a multiple of 4096 (K/M/G suffixes)\n"
    "  --ckpt-blocks N     checkpoint area in 4 KiB blocks (default: half)\n"
    "  --ranges SPEC       home locations: START-END[@LBA],... OIDs START to\n"
    "                      END-1 at LBA (default: after the previous range).\n"
    "                      Default: a quarter of the home area for OIDs from 0\n"
    "                      (the machine's state), the rest for guest RAM's page\n"
    "                      objects from OID 0x100000000 (one per 4 KiB frame)\n";

static int disk_cmd_bd_read(void *opaque, uint64_t lba, uint32_t count, void *buf)
{
    return ckdisk_read(opaque, lba, count, buf);
}

static int disk_cmd_bd_write(void *opaque, uint64_t lba, uint32_t count, const void *buf)
{
    return ckdisk_write(opaque, lba, count, buf);
}

static int disk_cmd_bd_flush(void *opaque)
{
    return ckdisk_flush(opaque);
}

void disk_cmd_blockdev(CkDisk *d, PkBlockDev *out)
{
    *out = (PkBlockDev){disk_cmd_bd_read, disk_cmd_bd_write, disk_cmd_bd_flush, d,
                        ckdisk_blocks(d)};
}

static int disk_cmd_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "sluice: disk: %s%s (see sluice disk --help)\n", what, arg ? arg : "");
    return DISK_EXIT_USAGE;
}

static int disk_cmd_parse_u64(const char *s, uint64_t *v, bool suffix)
{
    char *end;
    unsigned long long x;

    if (!*s || *s == '-') {
        return -1;
    }
    errno = 0;
    x = strtoull(s, &end, 0);
    if (errno || end == s) {
        return -1;
    }
    if (suffix && *end) {
        unsigned shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20
                       : *end == 'G' || *end == 'g' ? 30 : 0;

        if (!shift || end[1] || x > (UINT64_MAX >> shift)) {
            return -1;
        }
        x <<= shift;
        end++;
    }
    if (*end) {
        return -1;
    }
    *v = x;
    return 0;
}

/* START-END[@LBA][,...] into g->ranges. */
static int disk_cmd_parse_ranges(const char *spec, PkDiskGeometry *g)
{
    char *copy = strdup(spec), *save = NULL, *tok;
    int rc = 0;

    if (!copy) {
        return -1;
    }
    g->nranges = 0;
    for (tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        PkDiskRange *r = &g->ranges[g->nranges];
        char *dash = strchr(tok, '-'), *at = strchr(tok, '@');

        if (g->nranges == PK_DISK_MAX_RANGES || !dash || (at && at < dash)) {
            rc = -1;
            break;
        }
        *dash = 0;
        if (at) {
            *at = 0;
        }
        r->drive = 0;
        r->lba = PK_DISK_LBA_AUTO;
        rc = disk_cmd_parse_u64(tok, &r->start, false) || disk_cmd_parse_u64(dash + 1, &r->end, false) ||
             (at && disk_cmd_parse_u64(at + 1, &r->lba, false));
        g->nranges++;
    }
    free(copy);
    return rc || g->nranges == 0 ? -1 : 0;
}

static int disk_cmd_create(int argc, char **argv)
{
    PkDiskGeometry *g = calloc(1, sizeof(*g));
    const char *path = NULL;
    uint64_t size = 0;
    PkBlockDev bd;
    CkDisk *d;
    SlError e;
    int rc = 0;

    if (!g) {
        return DISK_EXIT_IMAGE;
    }
    for (int i = 2; i < argc && !rc; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(argv[i], "--size") || !strcmp(argv[i], "--ckpt-blocks") ||
            !strcmp(argv[i], "--ranges")) {
            if (!val) {
                rc = disk_cmd_usage_error("needs a value: ", argv[i]);
            } else if (!strcmp(argv[i], "--size") && disk_cmd_parse_u64(val, &size, true)) {
                rc = disk_cmd_usage_error("--size: expected bytes (K/M/G suffix), got ", val);
            } else if (!strcmp(argv[i], "--ckpt-blocks") &&
                       (disk_cmd_parse_u64(val, &g->ckpt_blocks, false) || !g->ckpt_blocks)) {
                rc = disk_cmd_usage_error("--ckpt-blocks: expected a block count, got ", val);
            } else if (!strcmp(argv[i], "--ranges") && disk_cmd_parse_ranges(val, g)) {
                rc = disk_cmd_usage_error("--ranges: expected START-END[@LBA],..., got ", val);
            }
            i++;
        } else if (argv[i][0] == '-') {
            rc = disk_cmd_usage_error("create: unknown option ", argv[i]);
        } else if (path) {
            rc = disk_cmd_usage_error("create: unexpected argument ", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!rc && !path) {
        rc = disk_cmd_usage_error("create: expected an image path", NULL);
    }
    if (!rc && !size) {
        rc = disk_cmd_usage_error("create: expected --size BYTES", NULL);
    }
    if (!rc && size % CKDISK_BLOCK) {
        rc = disk_cmd_usage_error("--size: expected a multiple of 4096", NULL);
    }
    if (rc) {
        free(g);
        return rc;
    }
    g->nblocks = size / CKDISK_BLOCK;
    if (g->nranges == 0 && g->nblocks > PK_DISK_META_BLOCKS + 2) {
        /* Homes for the machine's own objects and for guest RAM's pages
         * (kmem.h: OID KMEM_RAM_OID + pfn). */
        uint64_t left = g->nblocks - PK_DISK_META_BLOCKS;
        uint64_t ckpt = g->ckpt_blocks && g->ckpt_blocks < left ? g->ckpt_blocks : left / 2;
        uint64_t home = left - ckpt, low = home / 4 ? home / 4 : 1;

        if (home > low) {
            g->ranges[0] = (PkDiskRange){.start = 0, .end = low, .lba = PK_DISK_LBA_AUTO};
            g->ranges[1] = (PkDiskRange){.start = KMEM_RAM_OID, .end = KMEM_RAM_OID + home - low,
                                         .lba = PK_DISK_LBA_AUTO};
            g->nranges = 2;
        }
    }
    if (ckdisk_create(path, g->nblocks, &d, &e) != 0) {
        fprintf(stderr, "sluice: %s\n", e.msg);
        free(g);
        return DISK_EXIT_IMAGE;
    }
    disk_cmd_blockdev(d, &bd);
    rc = pk_disk_format_create(&bd, g, &e);
    ckdisk_close(d);
    free(g);
    if (rc) {
        unlink(path);
        fprintf(stderr, "sluice: %s: %s\n", path, e.msg);
        return DISK_EXIT_IMAGE;
    }
    return 0;
}

static void disk_cmd_note(void *opaque, const char *line)
{
    fprintf(stderr, "sluice: %s: %s\n", (const char *)opaque, line);
}

static int disk_cmd_check(const char *path, CkDisk *d)
{
    PkBlockDev bd;
    PkDiskLayout *l = malloc(sizeof(*l));
    long n;
    SlError e;

    disk_cmd_blockdev(d, &bd);
    n = pk_disk_format_check(&bd, disk_cmd_note, (void *)path);
    if (n == 0 && l && pk_disk_format_open(&bd, l, &e) == 0) {
        printf("%s: clean [checkpoint seq=%" PRIu64 "] [objects=%" PRIu64 "]\n", path,
               l->hdr[l->newest].seq, l->hdr[l->newest].dir_entries);
    }
    free(l);
    return n ? DISK_EXIT_IMAGE : 0;
}

static int disk_cmd_info(const char *path, CkDisk *d)
{
    PkDiskLayout *l = malloc(sizeof(*l));
    PkDiskDirent *dir = NULL;
    uint64_t n = 0, in_area = 0, dead = 0;
    PkBlockDev bd;
    SlError e;

    disk_cmd_blockdev(d, &bd);
    if (!l || pk_disk_format_open(&bd, l, &e) != 0 ||
        pk_disk_format_read_dir(&bd, l, &l->hdr[l->newest], &dir, &n, &e) != 0) {
        fprintf(stderr, "sluice: %s: %s\n", path, l ? e.msg : "out of memory");
        free(l);
        return DISK_EXIT_IMAGE;
    }
    for (uint64_t i = 0; i < n; i++) {
        in_area += dir[i].type != PK_OBJ_NONE && dir[i].lba >= l->sb.ckpt_lba &&
                   dir[i].lba < l->sb.ckpt_lba + l->sb.ckpt_blocks;
    }
    printf("image: %s\nblocks: %" PRIu64 " x %u bytes\n", path, l->sb.nblocks, PK_DISK_BLOCK);
    printf("checkpoint area: LBA 0x%" PRIx64 " +%" PRIu64 " blocks\n", l->sb.ckpt_lba,
           l->sb.ckpt_blocks);
    for (uint32_t i = 0; i < l->sb.nranges; i++) {
        const PkDiskRange *r = &l->ranges[i];

        printf("range %u: OID 0x%" PRIx64 "-0x%" PRIx64 " drive %u LBA 0x%" PRIx64 "\n", i,
               r->start, r->end, r->drive, r->lba);
    }
    for (int i = 0; i < 2; i++) {
        if (l->valid[i]) {
            printf("header %c: seq %" PRIu64 "%s\n", 'A' + i, l->hdr[i].seq,
                   i == l->newest ? " (newest)" : "");
        } else {
            printf("header %c: %s\n", 'A' + i, l->why[i][0] ? l->why[i] : "never written");
        }
    }
    for (uint64_t i = 0; i < n; i++) {
        dead += dir[i].type == PK_OBJ_NONE;
    }
    printf("objects: %" PRIu64 " (%" PRIu64 " in the checkpoint area, %" PRIu64 " at home), "
           "%" PRIu64 " destroyed (their counts kept)\n", n - dead, in_area, n - dead - in_area,
           dead);
    free(dir);
    free(l);
    return 0;
}

int disk_cmd_main(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    CkDisk *d;
    SlError e;
    int rc;

    if (!sub) {
        return disk_cmd_usage_error("expected create, check or info", NULL);
    }
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
        fputs(disk_cmd_usage, stdout);
        return 0;
    }
    if (!strcmp(sub, "create")) {
        return disk_cmd_create(argc, argv);
    }
    if (strcmp(sub, "check") != 0 && strcmp(sub, "info") != 0) {
        return disk_cmd_usage_error("unknown subcommand ", sub);
    }
    if (argc != 3 || argv[2][0] == '-') {
        return disk_cmd_usage_error(argc < 3 ? "expected an image path after " : "unexpected argument ",
                                    argc < 3 ? sub : argv[argc - 1]);
    }
    if (ckdisk_open(argv[2], false, &d, &e) != 0) {
        fprintf(stderr, "sluice: %s\n", e.msg);
        return DISK_EXIT_IMAGE;
    }
    rc = !strcmp(sub, "check") ? disk_cmd_check(argv[2], d) : disk_cmd_info(argv[2], d);
    ckdisk_close(d);
    return rc;
}
