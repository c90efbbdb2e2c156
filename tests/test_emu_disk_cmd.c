/*
 * tests/test_emu_disk_cmd.c: `sluice disk create|check|info` through
 * disk_cmd_main, as the command line calls it, and the ckdisk device
 * under it (read-only opens, the write recorder).
 *
 * Output is captured by pointing fds 1 and 2 at files for the call.  Bad
 * command lines must exit 2 with one line; bad images exit 1 with one line
 * naming the field, and the image's bytes are compared before and after.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/ckdisk.h"
#include "emu/disk_cmd.h"
#include "kernel-guest/pk_disk_format.h"

typedef struct DiskRun {
    int status;
    char out[8192];
    char err[8192];
} DiskRun;

static char disk_dir[256];

static void disk_slurp(int fd, char *buf, size_t cap)
{
    ssize_t n;

    lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

/* Runs `sluice disk ARGS...` (NULL-terminated) in-process. */
static void disk_run(DiskRun *r, ...)
{
    char *argv[16] = {"disk"};
    int argc = 1, o, e, so, se;
    char po[300], pe[300];
    va_list ap;

    va_start(ap, r);
    while ((argv[argc] = va_arg(ap, char *)) != NULL) {
        argc++;
    }
    va_end(ap);
    snprintf(po, sizeof(po), "%s/out", disk_dir);
    snprintf(pe, sizeof(pe), "%s/err", disk_dir);
    o = open(po, O_RDWR | O_CREAT | O_TRUNC, 0600);
    e = open(pe, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(o >= 0 && e >= 0);
    fflush(stdout);
    fflush(stderr);
    so = dup(1);
    se = dup(2);
    dup2(o, 1);
    dup2(e, 2);
    r->status = disk_cmd_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    disk_slurp(o, r->out, sizeof(r->out));
    disk_slurp(e, r->err, sizeof(r->err));
}

static int disk_lines(const char *s)
{
    int n = 0;

    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

static char *disk_path(const char *name)
{
    static char buf[4][300];
    static int k;
    char *p = buf[k++ % 4];

    snprintf(p, 300, "%s/%s", disk_dir, name);
    return p;
}

static uint8_t *disk_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void disk_write_all(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static uint64_t disk_hash(const char *path)
{
    size_t len;
    uint8_t *b = disk_read_all(path, &len);
    uint64_t h = pk_disk_format_checksum(b, len, len);

    free(b);
    return h;
}

static void disk_fresh(const char *name, const char *size)
{
    DiskRun r;

    unlink(disk_path(name));
    disk_run(&r, "create", disk_path(name), "--size", size, NULL);
    if (r.status != 0) {
        fail_msg("create: %s", r.err);
    }
}

static int disk_setup(void **state)
{
    snprintf(disk_dir, sizeof(disk_dir), "/tmp/sluice-disk-test-XXXXXX");
    assert_non_null(mkdtemp(disk_dir));
    return 0;
}

static int disk_teardown(void **state)
{
    char cmd[400];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", disk_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- happy paths ------------------------------------------------------------- */

static void test_disk_cmd__create_then_check_and_info__describe_a_clean_image(void **state)
{
    DiskRun r;
    struct stat st;

    disk_fresh("a.img", "1M");
    assert_int_equal(stat(disk_path("a.img"), &st), 0);
    assert_int_equal(st.st_size, 1 << 20);
    disk_run(&r, "check", disk_path("a.img"), NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "clean [checkpoint seq=0] [objects=0]"));
    assert_string_equal(r.err, "");
    disk_run(&r, "info", disk_path("a.img"), NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "blocks: 256 x 4096 bytes"));
    assert_non_null(strstr(r.out, "checkpoint area: LBA 0x4 +126 blocks"));
    assert_non_null(strstr(r.out, "range 0: OID 0x0-0x1f drive 0 LBA 0x82"));
    assert_non_null(strstr(r.out, "range 1: OID 0x100000000-0x10000005f drive 0 LBA 0xa1"));
    assert_non_null(strstr(r.out, "header A: seq 0 (newest)"));
    assert_non_null(strstr(r.out, "header B: never written"));
}

static void test_disk_cmd__create_with_ranges__lays_them_out(void **state)
{
    DiskRun r;

    unlink(disk_path("r.img"));
    disk_run(&r, "create", disk_path("r.img"), "--size", "512K", "--ckpt-blocks", "40",
             "--ranges", "0x100-0x120,0x1000-0x1010@0x70", NULL);
    if (r.status != 0) {
        fail_msg("%s", r.err);
    }
    disk_run(&r, "info", disk_path("r.img"), NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "range 0: OID 0x100-0x120 drive 0 LBA 0x2c"));
    assert_non_null(strstr(r.out, "range 1: OID 0x1000-0x1010 drive 0 LBA 0x70"));
    disk_run(&r, "check", disk_path("r.img"), NULL);
    assert_int_equal(r.status, 0);
}

static void test_disk_cmd__create_over_a_file__refuses_and_keeps_it(void **state)
{
    DiskRun r;
    uint64_t h;

    disk_fresh("keep.img", "64K");
    h = disk_hash(disk_path("keep.img"));
    disk_run(&r, "create", disk_path("keep.img"), "--size", "128K", NULL);
    assert_int_equal(r.status, 1);
    assert_int_equal(disk_lines(r.err), 1);
    assert_non_null(strstr(r.err, "never overwrites"));
    assert_int_equal(disk_hash(disk_path("keep.img")), h);
}

static void test_disk_cmd__create_with_bad_geometry__leaves_no_file(void **state)
{
    DiskRun r;

    unlink(disk_path("bad.img"));
    disk_run(&r, "create", disk_path("bad.img"), "--size", "1M", "--ranges", "0-10,5-8", NULL);
    assert_int_equal(r.status, 1);
    assert_int_equal(disk_lines(r.err), 1);
    assert_non_null(strstr(r.err, "range table entry 1: OIDs"));
    assert_int_equal(access(disk_path("bad.img"), F_OK), -1);
}

/* ---- bad command lines ---------------------------------------------------------- */

static void disk_expect_usage(DiskRun *r, const char *needle)
{
    assert_int_equal(r->status, 2);
    assert_int_equal(disk_lines(r->err), 1);
    if (!strstr(r->err, needle)) {
        fail_msg("\"%s\" does not say \"%s\"", r->err, needle);
    }
}

static void test_disk_cmd__bad_arguments__exit_2_with_one_line(void **state)
{
    DiskRun r;

    disk_run(&r, NULL);
    disk_expect_usage(&r, "expected create, check or info");
    disk_run(&r, "format", "x", NULL);
    disk_expect_usage(&r, "unknown subcommand format");
    disk_run(&r, "check", NULL);
    disk_expect_usage(&r, "expected an image path");
    disk_run(&r, "info", "a", "b", NULL);
    disk_expect_usage(&r, "unexpected argument b");
    disk_run(&r, "create", disk_path("n.img"), NULL);
    disk_expect_usage(&r, "expected --size");
    disk_run(&r, "create", disk_path("n.img"), "--size", "lots", NULL);
    disk_expect_usage(&r, "--size: expected bytes");
    disk_run(&r, "create", disk_path("n.img"), "--size", "1000", NULL);
    disk_expect_usage(&r, "multiple of 4096");
    disk_run(&r, "create", disk_path("n.img"), "--size", "1M", "--ranges", "7", NULL);
    disk_expect_usage(&r, "--ranges: expected");
    disk_run(&r, "create", disk_path("n.img"), "--size", NULL);
    disk_expect_usage(&r, "needs a value");
    disk_run(&r, "create", disk_path("n.img"), "--size", "1M", "--frob", NULL);
    disk_expect_usage(&r, "unknown option --frob");
    assert_int_equal(access(disk_path("n.img"), F_OK), -1);
}

/* ---- bad images ------------------------------------------------------------------ */

typedef void (*DiskDamage)(uint8_t *img, size_t *len);

static void dmg_truncate_odd(uint8_t *img, size_t *len)
{
    *len -= 100;
}

static void dmg_truncate_blocks(uint8_t *img, size_t *len)
{
    *len -= 4 * PK_DISK_BLOCK;
}

static void dmg_magic(uint8_t *img, size_t *len)
{
    memcpy(img, "NOTADISK", 8);
}

static void dmg_super_bit(uint8_t *img, size_t *len)
{
    img[17] ^= 0x40;
}

static void dmg_header_bit(uint8_t *img, size_t *len)
{
    img[2 * PK_DISK_BLOCK + 100] ^= 1;
}

static void reseal(uint8_t *block)
{
    uint64_t sum = pk_disk_format_checksum(block, PK_DISK_BLOCK - 8, 0);

    memcpy(block + PK_DISK_BLOCK - 8, &sum, 8);
}

/* Range 1 [0x8, 0x10) over range 0's OIDs, every checksum resealed. */
static void dmg_overlap(uint8_t *img, size_t *len)
{
    uint8_t *rt = img + PK_DISK_BLOCK;
    uint64_t start = 8, end = 0x10, lba, first_end = 16, l0;
    uint32_t two = 2;

    memcpy(&l0, rt + 16 + 24, 8);
    lba = l0 + 16;
    memcpy(rt + 16 + 8, &first_end, 8);
    memcpy(rt + 48, &start, 8);
    memcpy(rt + 56, &end, 8);
    memcpy(rt + 72, &lba, 8);
    memcpy(rt + 8, &two, 4);
    reseal(rt);
    memcpy(img + 32, &two, 4);
    memcpy(img + 64, rt + PK_DISK_BLOCK - 8, 8);
    reseal(img);
}

static void disk_expect_bad(DiskDamage dmg, const char *field)
{
    const char *p = disk_path("dmg.img");
    static const char *const subs[2] = {"check", "info"};
    uint8_t *img;
    size_t len;
    uint64_t h;

    disk_fresh("dmg.img", "256K");
    img = disk_read_all(p, &len);
    dmg(img, &len);
    disk_write_all(p, img, len);
    free(img);
    h = disk_hash(p);
    for (int i = 0; i < 2; i++) {
        DiskRun r;

        disk_run(&r, subs[i], p, NULL);
        assert_int_equal(r.status, 1);
        if (disk_lines(r.err) != 1 || !strstr(r.err, field)) {
            fail_msg("disk %s: expected one line naming \"%s\", got \"%s\"", subs[i], field, r.err);
        }
        assert_non_null(strstr(r.err, "dmg.img"));
        assert_int_equal(disk_hash(p), h);
    }
}

static void test_disk_cmd__truncated_image__exits_1_naming_the_size(void **state)
{
    disk_expect_bad(dmg_truncate_odd, "size: ");
    disk_expect_bad(dmg_truncate_blocks, "superblock size");
}

static void test_disk_cmd__wrong_magic__exits_1_naming_the_magic(void **state)
{
    disk_expect_bad(dmg_magic, "superblock magic");
}

static void test_disk_cmd__bit_flips__exit_1_naming_the_checksum(void **state)
{
    disk_expect_bad(dmg_super_bit, "superblock checksum");
    disk_expect_bad(dmg_header_bit, "no valid checkpoint header");
}

static void test_disk_cmd__overlapping_ranges__exit_1_naming_the_entry(void **state)
{
    disk_expect_bad(dmg_overlap, "range table entry 1: OIDs");
}

static void test_disk_cmd__missing_image__exits_1(void **state)
{
    DiskRun r;

    disk_run(&r, "check", disk_path("nope.img"), NULL);
    assert_int_equal(r.status, 1);
    assert_int_equal(disk_lines(r.err), 1);
    assert_non_null(strstr(r.err, "No such file"));
}

/* ---- the device ------------------------------------------------------------------ */

typedef struct Rec {
    int writes, flushes;
    uint64_t last_lba;
    uint8_t first_byte;
} Rec;

static void rec_fn(void *opaque, CkdiskEvent ev, uint64_t lba, const uint8_t *block)
{
    Rec *r = opaque;

    if (ev == CKDISK_EV_WRITE) {
        r->writes++;
        r->last_lba = lba;
        r->first_byte = block[0];
    } else {
        r->flushes++;
    }
}

static void test_ckdisk__recorder__sees_every_block_and_flush(void **state)
{
    CkDisk *d;
    SlError e;
    Rec rec = {0};
    uint8_t buf[3 * CKDISK_BLOCK], back[CKDISK_BLOCK];

    unlink(disk_path("dev.img"));
    assert_int_equal(ckdisk_create(disk_path("dev.img"), 8, &d, &e), 0);
    ckdisk_set_recorder(d, rec_fn, &rec);
    memset(buf, 0x11, sizeof(buf));
    buf[2 * CKDISK_BLOCK] = 0x77;
    assert_int_equal(ckdisk_write(d, 5, 3, buf), 0);
    assert_int_equal(ckdisk_flush(d), 0);
    assert_int_equal(rec.writes, 3);
    assert_int_equal(rec.flushes, 1);
    assert_int_equal(rec.last_lba, 7);
    assert_int_equal(rec.first_byte, 0x77);
    assert_int_equal(ckdisk_write(d, 6, 3, buf), -EINVAL);   /* past the end */
    assert_int_equal(rec.writes, 3);
    ckdisk_close(d);
    assert_int_equal(ckdisk_open(disk_path("dev.img"), false, &d, &e), 0);
    assert_int_equal(ckdisk_blocks(d), 8);
    assert_int_equal(ckdisk_read(d, 7, 1, back), 0);
    assert_int_equal(back[0], 0x77);
    assert_int_equal(ckdisk_write(d, 0, 1, buf), -EROFS);
    ckdisk_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_cmd__create_then_check_and_info__describe_a_clean_image),
        cmocka_unit_test(test_disk_cmd__create_with_ranges__lays_them_out),
        cmocka_unit_test(test_disk_cmd__create_over_a_file__refuses_and_keeps_it),
        cmocka_unit_test(test_disk_cmd__create_with_bad_geometry__leaves_no_file),
        cmocka_unit_test(test_disk_cmd__bad_arguments__exit_2_with_one_line),
        cmocka_unit_test(test_disk_cmd__truncated_image__exits_1_naming_the_size),
        cmocka_unit_test(test_disk_cmd__wrong_magic__exits_1_naming_the_magic),
        cmocka_unit_test(test_disk_cmd__bit_flips__exit_1_naming_the_checksum),
        cmocka_unit_test(test_disk_cmd__overlapping_ranges__exit_1_naming_the_entry),
        cmocka_unit_test(test_disk_cmd__missing_image__exits_1),
        cmocka_unit_test(test_ckdisk__recorder__sees_every_block_and_flush),
    };

    return cmocka_run_group_tests(tests, disk_setup, disk_teardown);
}
