/*
 * tests/test_devices_pcap.c: the pcap writer byte for byte (file header,
 * record layout, virtual timestamps), its write-then-rename discipline, the
 * reader on both byte orders and both resolutions, one-line errors naming
 * file, offset and field for every malformed case, random corruptions that
 * never crash, and the deterministic test-frame generator.
 *
 * That tshark reads the writer's files is checked by hand (tshark is not a
 * build dependency); the byte-exact test here pins the format it reads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cmocka.h>

#include "base/error.h"
#include "devices/net_frames.h"
#include "devices/net_port.h"
#include "devices/pcap.h"

#define NAME "in.pcap"

/* --- helpers ------------------------------------------------------------------ */

static char tmpdir[64];

static int setup_dir(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-pcap-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tpath(const char *name)
{
    static char buf[4][160];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
    return buf[i];
}

static const char *tmp_of(const char *path)
{
    static char buf[200];

    snprintf(buf, sizeof(buf), "%s.tmp.%ld", path, (long)getpid());
    return buf;
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 20);

    assert_non_null(fp);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, fp);
    fclose(fp);
    return buf;
}

static void write_all(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    fclose(fp);
}

/* A pcap file assembled field by field, in either byte order. */
typedef struct Img {
    uint8_t b[4096];
    size_t n;
    int be;
} Img;

static void img_u16(Img *m, uint16_t v)
{
    m->b[m->n++] = (uint8_t)(m->be ? v >> 8 : v);
    m->b[m->n++] = (uint8_t)(m->be ? v : v >> 8);
}

static void img_u32(Img *m, uint32_t v)
{
    img_u16(m, (uint16_t)(m->be ? v >> 16 : v));
    img_u16(m, (uint16_t)(m->be ? v : v >> 16));
}

static void img_header(Img *m, int be, uint32_t magic, uint16_t major, uint16_t minor,
                       uint32_t snaplen, uint32_t linktype)
{
    memset(m, 0, sizeof(*m));
    m->be = be;
    img_u32(m, magic);
    img_u16(m, major);
    img_u16(m, minor);
    img_u32(m, 0);
    img_u32(m, 0);
    img_u32(m, snaplen);
    img_u32(m, linktype);
}

static void img_std(Img *m, int be)
{
    img_header(m, be, PCAP_MAGIC_USEC, 2, 4, 65535, 1);
}

/* A record of incl bytes (value k at offset k) claiming orig bytes. */
static void img_record(Img *m, uint32_t sec, uint32_t frac, uint32_t incl, uint32_t orig)
{
    img_u32(m, sec);
    img_u32(m, frac);
    img_u32(m, incl);
    img_u32(m, orig);
    for (uint32_t k = 0; k < incl && m->n < sizeof(m->b); k++) {
        m->b[m->n++] = (uint8_t)k;
    }
}

/* Parses m and returns the error line ("" if it loaded). */
static const char *img_error(const Img *m)
{
    static SlError e;
    PcapFile *f;

    memset(&e, 0, sizeof(e));
    if (pcap_file_parse(NAME, m->b, m->n, &f, &e) == 0) {
        pcap_file_free(f);
        return "";
    }
    assert_null(f);
    assert_null(strchr(e.msg, '\n'));
    return e.msg;
}

static void assert_contains(const char *s, const char *part)
{
    if (!strstr(s, part)) {
        fail_msg("\"%s\" does not contain \"%s\"", s, part);
    }
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

static const NetFramesGen gen = {
    .dst = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
    .src = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 },
    .seed = 0x5eed,
};

/* --- writer ------------------------------------------------------------------- */

static void test_writer__two_frames__give_the_exact_file_bytes(void **state)
{
    static const uint8_t expect_head[24 + 16] = {
        0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00,   /* magic, version 2.4 */
        0, 0, 0, 0, 0, 0, 0, 0,                           /* thiszone, sigfigs */
        0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,   /* snaplen, ETHERNET */
        0x01, 0x00, 0x00, 0x00, 0x27, 0xa1, 0x07, 0x00,   /* 1 s, 500007 = 0x7a127 us */
        0x3c, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00,   /* 60 of 60 bytes */
    };
    static const uint8_t expect_tail[16 + 3] = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 'a', 'b', 'c',
    };
    const char *path = tpath("exact.pcap");
    uint8_t frame[60], *got;
    PcapWriter *w;
    SlError e;
    size_t len;

    for (int i = 0; i < 60; i++) {
        frame[i] = (uint8_t)i;
    }
    assert_int_equal(pcap_writer_open(path, &w, &e), 0);
    /* 1.500007999 s: the sub-microsecond part is dropped, not rounded. */
    assert_int_equal(pcap_writer_write(w, 1500007999ull, frame, 60, &e), 0);
    assert_int_equal(pcap_writer_write(w, 2000000000ull, (const uint8_t *)"abc", 3, &e), 0);
    assert_int_equal(pcap_writer_count(w), 2);
    assert_int_equal(pcap_writer_close(w, &e), 0);
    got = read_all(path, &len);
    assert_int_equal(len, 24 + 16 + 60 + 16 + 3);
    assert_memory_equal(got, expect_head, sizeof(expect_head));
    assert_memory_equal(got + 40, frame, 60);
    assert_memory_equal(got + 100, expect_tail, sizeof(expect_tail));
    free(got);
}

static void test_writer__until_close__only_the_temporary_file_exists(void **state)
{
    const char *path = tpath("atomic.pcap");
    uint8_t frame[60] = { 0 };
    PcapWriter *w;
    SlError e;

    assert_int_equal(pcap_writer_open(path, &w, &e), 0);
    assert_int_equal(pcap_writer_write(w, 0, frame, sizeof(frame), &e), 0);
    assert_false(exists(path));
    assert_true(exists(tmp_of(path)));
    assert_int_equal(pcap_writer_close(w, &e), 0);
    assert_true(exists(path));
    assert_false(exists(tmp_of(path)));
}

static void test_writer__discard__leaves_an_existing_file_untouched(void **state)
{
    const char *path = tpath("keep.pcap");
    uint8_t frame[60] = { 0 }, *got;
    PcapWriter *w;
    SlError e;
    size_t len;

    write_all(path, "old", 3);
    assert_int_equal(pcap_writer_open(path, &w, &e), 0);
    assert_int_equal(pcap_writer_write(w, 0, frame, sizeof(frame), &e), 0);
    pcap_writer_discard(w);
    assert_false(exists(tmp_of(path)));
    got = read_all(path, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(got, "old", 3);
    free(got);
    pcap_writer_discard(NULL);
}

static void test_writer__into_a_missing_directory__fails_with_one_line(void **state)
{
    const char *path = tpath("no/such/dir/out.pcap");
    PcapWriter *w = (PcapWriter *)&w;
    SlError e;

    assert_true(pcap_writer_open(path, &w, &e) < 0);
    assert_null(w);
    assert_contains(e.msg, path);
    assert_contains(e.msg, "cannot create");
    assert_contains(e.msg, "No such file or directory");
    assert_null(strchr(e.msg, '\n'));
}

static void test_writer__rename_over_a_directory__fails_and_removes_the_temporary(void **state)
{
    const char *path = tpath("isdir.pcap");
    PcapWriter *w;
    SlError e;

    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(pcap_writer_open(path, &w, &e), 0);
    assert_true(pcap_writer_close(w, &e) < 0);
    assert_contains(e.msg, "cannot rename");
    assert_contains(e.msg, path);
    assert_false(exists(tmp_of(path)));
}

static void test_writer__time_past_2106__is_refused_and_nothing_is_renamed(void **state)
{
    const char *path = tpath("late.pcap");
    uint8_t frame[60] = { 0 };
    PcapWriter *w;
    SlError e;

    assert_int_equal(pcap_writer_open(path, &w, &e), 0);
    assert_int_equal(pcap_writer_write(w, (1ull << 32) * 1000000000ull, frame, 60, &e), -ERANGE);
    assert_contains(e.msg, "time_ns");
    /* Sticky: later writes and the close report the same failure. */
    assert_int_equal(pcap_writer_write(w, 0, frame, 60, &e), -ERANGE);
    assert_int_equal(pcap_writer_close(w, &e), -ERANGE);
    assert_contains(e.msg, "record 0");
    assert_false(exists(path));
    assert_false(exists(tmp_of(path)));
}

static void test_writer__frame_over_snaplen__is_cut_and_keeps_its_length(void **state)
{
    const char *path = tpath("big.pcap");
    const size_t big = 70000;
    uint8_t *frame = calloc(1, big);
    PcapWriter *w;
    PcapFile *f;
    PcapRecord r;
    SlError e;

    assert_int_equal(pcap_writer_open(path, &w, &e), 0);
    assert_int_equal(pcap_writer_write(w, 0, frame, big, &e), 0);
    assert_int_equal(pcap_writer_close(w, &e), 0);
    assert_int_equal(pcap_file_load(path, &f, &e), 0);
    assert_int_equal(pcap_file_count(f), 1);
    pcap_file_record(f, 0, &r);
    assert_int_equal(r.len, PCAP_SNAPLEN);
    assert_int_equal(r.orig_len, big);
    pcap_file_free(f);
    free(frame);
}

/* --- reader ------------------------------------------------------------------- */

static void test_reader__writer_output__round_trips_frames_and_microsecond_times(void **state)
{
    const char *path = tpath("round.pcap");
    uint8_t want[NET_PORT_MAX_FRAME];
    const uint64_t t0 = 5000000123ull, step = 1000999ull;
    PcapFile *f;
    PcapRecord r;
    SlError e;

    assert_int_equal(pcap_write_generated(path, &gen, 300, t0, step, &e), 0);
    assert_int_equal(pcap_file_load(path, &f, &e), 0);
    assert_int_equal(pcap_file_count(f), 300);
    assert_false(pcap_file_is_nanosecond(f));
    assert_false(pcap_file_is_big_endian(f));
    assert_int_equal(pcap_file_snaplen(f), 65535);
    for (size_t i = 0; i < 300; i++) {
        size_t n = net_frames_gen_frame(&gen, i, want, sizeof(want));

        pcap_file_record(f, i, &r);
        assert_int_equal(r.len, n);
        assert_int_equal(r.orig_len, n);
        assert_memory_equal(r.data, want, n);
        assert_int_equal(r.time_ns, (t0 + i * step) / 1000 * 1000);
    }
    pcap_file_free(f);
}

static void test_reader__big_endian_and_nanosecond_files__give_the_same_records(void **state)
{
    static const struct { int be; uint32_t magic; uint32_t frac; uint64_t ns; } kinds[] = {
        { 0, PCAP_MAGIC_USEC, 250000, 7250000000ull },
        { 1, PCAP_MAGIC_USEC, 250000, 7250000000ull },
        { 0, PCAP_MAGIC_NSEC, 250000001, 7250000001ull },
        { 1, PCAP_MAGIC_NSEC, 999999999, 7999999999ull },
    };

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        Img m;
        PcapFile *f;
        PcapRecord r;
        SlError e;

        img_header(&m, kinds[k].be, kinds[k].magic, 2, 4, 1514, 1);
        img_record(&m, 7, kinds[k].frac, 64, 64);
        img_record(&m, 8, 0, 60, 1514);              /* cut by the snaplen */
        assert_int_equal(pcap_file_parse(NAME, m.b, m.n, &f, &e), 0);
        assert_int_equal(pcap_file_is_big_endian(f), kinds[k].be);
        assert_int_equal(pcap_file_is_nanosecond(f), kinds[k].magic == PCAP_MAGIC_NSEC);
        assert_int_equal(pcap_file_snaplen(f), 1514);
        assert_int_equal(pcap_file_count(f), 2);
        pcap_file_record(f, 0, &r);
        assert_int_equal(r.time_ns, kinds[k].ns);
        assert_int_equal(r.len, 64);
        assert_int_equal(r.data[63], 63);
        pcap_file_record(f, 1, &r);
        assert_int_equal(r.time_ns, 8000000000ull);
        assert_int_equal(r.len, 60);
        assert_int_equal(r.orig_len, 1514);
        assert_int_equal(r.data[0], 0);
        assert_int_equal(r.data[59], 59);
        pcap_file_free(f);
    }
}

static void test_reader__header_only_file__has_no_records(void **state)
{
    Img m;
    PcapFile *f;
    SlError e;

    img_std(&m, 0);
    assert_int_equal(pcap_file_parse(NAME, m.b, m.n, &f, &e), 0);
    assert_int_equal(pcap_file_count(f), 0);
    pcap_file_free(f);
}

static void test_reader__bad_file_header__names_file_offset_and_field(void **state)
{
    Img m;

    img_header(&m, 0, 0x38464947, 2, 4, 65535, 1);   /* "GIF8" */
    assert_string_equal(img_error(&m), NAME ": offset 0x0: magic bytes 0x47494638 are not "
                        "a pcap file (expected 0xa1b2c3d4 or 0xa1b23c4d, either byte order)");
    img_header(&m, 0, 0x0a0d0d0a, 2, 4, 65535, 1);
    assert_contains(img_error(&m), "magic bytes 0x0a0d0d0a are pcapng, not classic pcap");

    img_std(&m, 0);
    m.n = 10;
    assert_string_equal(img_error(&m), NAME ": offset 0x0: file header truncated at 10 "
                        "bytes (expected 24)");
    m.n = 0;
    assert_contains(img_error(&m), "file header truncated at 0 bytes");
    m.n = 2;
    assert_contains(img_error(&m), "file header truncated at 2 bytes");

    img_header(&m, 0, PCAP_MAGIC_USEC, 3, 0, 65535, 1);
    assert_string_equal(img_error(&m), NAME ": offset 0x4: version 3.0 (expected 2.4 or "
                        "an older 2.x)");
    img_header(&m, 1, PCAP_MAGIC_USEC, 2, 5, 65535, 1);
    assert_contains(img_error(&m), "offset 0x4: version 2.5");

    img_header(&m, 0, PCAP_MAGIC_USEC, 2, 4, 0, 1);
    assert_string_equal(img_error(&m), NAME ": offset 0x10: snaplen 0 (expected 1..262144)");
    img_header(&m, 1, PCAP_MAGIC_NSEC, 2, 4, 262145, 1);
    assert_contains(img_error(&m), "offset 0x10: snaplen 262145");
    img_header(&m, 0, PCAP_MAGIC_USEC, 2, 4, 262144, 1);
    assert_string_equal(img_error(&m), "");

    img_header(&m, 0, PCAP_MAGIC_USEC, 2, 4, 65535, 105);
    assert_string_equal(img_error(&m), NAME ": offset 0x14: link type 0x69 is not "
                        "supported (expected 1, LINKTYPE_ETHERNET, without FCS)");
    /* Ethernet with an FCS length in the upper bits (draft: bit 28 + length). */
    img_header(&m, 1, PCAP_MAGIC_USEC, 2, 4, 65535, 0x10000000u | 0x80000000u | 1);
    assert_contains(img_error(&m), "offset 0x14: link type 0x90000001");
}

static void test_reader__bad_records__name_file_record_offset_and_field(void **state)
{
    Img m;

    img_std(&m, 0);
    img_record(&m, 0, 0, 60, 60);
    m.n -= 60 + 6;                                   /* 10 of 16 header bytes */
    assert_string_equal(img_error(&m), NAME ": record 0 at offset 0x18: record header "
                        "truncated at 10 bytes (expected 16)");

    img_std(&m, 0);
    img_record(&m, 0, 0, 60, 60);
    img_record(&m, 0, 0, 60, 59);
    assert_string_equal(img_error(&m), NAME ": record 1 at offset 0x64: incl_len 60 > "
                        "orig_len 59 (expected incl_len <= orig_len)");

    img_std(&m, 1);
    img_record(&m, 0, 0, 70000, 70000);
    assert_string_equal(img_error(&m), NAME ": record 0 at offset 0x18: incl_len 70000 "
                        "(expected <= 65535)");

    img_std(&m, 0);
    img_record(&m, 0, 0, 60, 60);
    m.n--;
    assert_string_equal(img_error(&m), NAME ": record 0 at offset 0x18: incl_len 60 runs "
                        "past the end of the file (expected <= 59)");

    img_std(&m, 0);
    img_record(&m, 0, 1000000, 60, 60);
    assert_string_equal(img_error(&m), NAME ": record 0 at offset 0x18: ts_usec 1000000 "
                        "(expected < 1000000)");
    img_header(&m, 1, PCAP_MAGIC_NSEC, 2, 4, 65535, 1);
    img_record(&m, 0, 999999999, 60, 60);
    img_record(&m, 0, 1000000000, 60, 60);
    assert_string_equal(img_error(&m), NAME ": record 1 at offset 0x64: ts_nsec 1000000000 "
                        "(expected < 1000000000)");
}

static void test_reader__missing_or_irregular_file__fails_with_one_line(void **state)
{
    PcapFile *f;
    SlError e;

    assert_int_equal(pcap_file_load(tpath("none.pcap"), &f, &e), -ENOENT);
    assert_null(f);
    assert_contains(e.msg, tpath("none.pcap"));
    assert_contains(e.msg, "cannot open (No such file or directory)");
    assert_true(pcap_file_load(tmpdir, &f, &e) < 0);
    assert_contains(e.msg, "not a regular file");
}

static void test_reader__load_from_disk__reports_under_the_path(void **state)
{
    const char *path = tpath("bad.pcap");
    Img m;
    PcapFile *f;
    SlError e;

    img_std(&m, 0);
    img_record(&m, 0, 0, 60, 59);
    write_all(path, m.b, m.n);
    assert_int_equal(pcap_file_load(path, &f, &e), -EINVAL);
    assert_non_null(strstr(e.msg, path));
    assert_contains(e.msg, ": record 0 at offset 0x18: incl_len 60 > orig_len 59");
    assert_ptr_equal(strstr(e.msg, path), e.msg);
}

static void test_reader__random_corruptions__never_crash_and_give_one_line_or_load(void **state)
{
    const char *path = tpath("fuzz-base.pcap");
    uint8_t *base, *buf;
    size_t base_len;
    uint64_t x = 2024;
    int loaded = 0, refused = 0;
    SlError e;

    assert_int_equal(pcap_write_generated(path, &gen, 8, 0, 1000, &e), 0);
    base = read_all(path, &base_len);
    for (int round = 0; round < 20000; round++) {
        size_t len = base_len;
        PcapFile *f;
        int rc;

        buf = malloc(base_len + 64);
        memcpy(buf, base, base_len);
        switch (lcg(&x) % 4) {
        case 0:                                      /* bit flips */
            for (int k = 1 + (int)(lcg(&x) % 8); k > 0; k--) {
                buf[lcg(&x) % len] ^= (uint8_t)(1u << (lcg(&x) % 8));
            }
            break;
        case 1:                                      /* truncation */
            len = (size_t)(lcg(&x) % (base_len + 1));
            break;
        case 2: {                                    /* an interesting 32-bit value */
            static const uint32_t v[] = { 0, 1, 59, 60, 65535, 65536, 262144, 262145,
                                          999999, 1000000, 0x7fffffff, 0xffffffff };
            size_t at = (size_t)(lcg(&x) % (len - 3));

            memcpy(buf + at, &v[lcg(&x) % (sizeof(v) / sizeof(v[0]))], 4);
            break;
        }
        default:                                     /* random tail bytes */
            len = (size_t)(lcg(&x) % base_len);
            for (size_t k = lcg(&x) % 64; k > 0; k--) {
                buf[len++] = (uint8_t)lcg(&x);
            }
            break;
        }
        memset(&e, 0, sizeof(e));
        rc = pcap_file_parse("fuzz.pcap", buf, len, &f, &e);
        /* The reader kept its own copy: scribbling on ours must not matter. */
        memset(buf, 0xa5, len);
        free(buf);
        if (rc == 0) {
            unsigned sum = 0;

            for (size_t i = 0; i < pcap_file_count(f); i++) {
                PcapRecord r;

                pcap_file_record(f, i, &r);
                assert_true(r.len <= r.orig_len && r.len <= PCAP_RECORD_MAX);
                for (uint32_t k = 0; k < r.len; k++) {
                    sum += r.data[k];                /* ASan: every byte is in bounds */
                }
            }
            (void)sum;
            pcap_file_free(f);
            loaded++;
        } else {
            assert_true(rc < 0);
            assert_null(f);
            assert_ptr_equal(strstr(e.msg, "fuzz.pcap: "), e.msg);
            assert_null(strchr(e.msg, '\n'));
            assert_contains(e.msg, "expected");
            refused++;
        }
    }
    assert_true(loaded > 1000 && refused > 1000);
    free(base);
}

/* --- generator ------------------------------------------------------------------ */

static void test_gen__sizes__step_by_two_over_60_to_1514_and_cover_all(void **state)
{
    static uint8_t seen[NET_PORT_MAX_FRAME + 1];

    assert_int_equal(net_frames_gen_len(0), 60);
    assert_int_equal(net_frames_gen_len(1), 62);
    assert_int_equal(net_frames_gen_len(727), 1514);
    assert_int_equal(net_frames_gen_len(728), 61);
    assert_int_equal(net_frames_gen_len(1454), 1513);
    assert_int_equal(net_frames_gen_len(1455), 60);
    memset(seen, 0, sizeof(seen));
    for (uint64_t i = 5000; i < 5000 + 1455; i++) {
        size_t n = net_frames_gen_len(i);

        assert_in_range(n, 60, 1514);
        assert_int_equal(seen[n]++, 0);
    }
}

static void test_gen__frames__are_deterministic_and_addressed_as_asked(void **state)
{
    uint8_t a[NET_PORT_MAX_FRAME], b[NET_PORT_MAX_FRAME];
    NetFramesGen other = gen;
    uint32_t crc = 0;

    for (uint64_t i = 0; i < 1000; i++) {
        size_t n = net_frames_gen_frame(&gen, i, a, sizeof(a));

        assert_int_equal(n, net_frames_gen_len(i));
        assert_int_equal(net_frames_gen_frame(&gen, i, b, sizeof(b)), n);
        assert_memory_equal(a, b, n);
        assert_memory_equal(a, gen.dst, 6);
        assert_memory_equal(a + 6, gen.src, 6);
        assert_int_equal(net_frames_get_be16(a + 12), 0x88b5);
        assert_int_equal(net_frames_get_be32(a + 14), i);
        crc = net_frames_crc32(a, n) ^ (crc * 31);
    }
    /* Pinned (computed by an independent script from net_frames.h's
     * description): a change in the generator changes every integration
     * trace, so it must be deliberate. */
    assert_int_equal(crc, 0x5f184c71u);
    /* Frames differ from each other and with the seed. */
    net_frames_gen_frame(&gen, 10, a, sizeof(a));
    net_frames_gen_frame(&gen, 10 + 1455, b, sizeof(b));
    assert_memory_not_equal(a + 18, b + 18, 60 - 18);
    other.seed++;
    net_frames_gen_frame(&other, 10, b, sizeof(b));
    assert_memory_equal(a, b, 18);
    assert_memory_not_equal(a + 18, b + 18, 60 - 18);
    assert_int_equal(net_frames_gen_frame(&gen, 1, a, 61), 0);
}

static void test_gen__pcap_of_1000_frames__loads_back_frame_for_frame(void **state)
{
    const char *path = tpath("gen.pcap");
    uint8_t want[NET_PORT_MAX_FRAME];
    PcapFile *f;
    PcapRecord r;
    SlError e;

    assert_int_equal(pcap_write_generated(path, &gen, 1000, 1000000, 20000, &e), 0);
    assert_int_equal(pcap_file_load(path, &f, &e), 0);
    assert_int_equal(pcap_file_count(f), 1000);
    for (size_t i = 0; i < 1000; i++) {
        size_t n = net_frames_gen_frame(&gen, i, want, sizeof(want));

        pcap_file_record(f, i, &r);
        assert_int_equal(r.time_ns, 1000000 + i * 20000);
        assert_int_equal(r.len, n);
        assert_memory_equal(r.data, want, n);
    }
    pcap_file_free(f);
    assert_true(pcap_write_generated(tpath("no/dir.pcap"), &gen, 1, 0, 0, &e) < 0);
    assert_contains(e.msg, "cannot create");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer__two_frames__give_the_exact_file_bytes),
        cmocka_unit_test(test_writer__until_close__only_the_temporary_file_exists),
        cmocka_unit_test(test_writer__discard__leaves_an_existing_file_untouched),
        cmocka_unit_test(test_writer__into_a_missing_directory__fails_with_one_line),
        cmocka_unit_test(test_writer__rename_over_a_directory__fails_and_removes_the_temporary),
        cmocka_unit_test(test_writer__time_past_2106__is_refused_and_nothing_is_renamed),
        cmocka_unit_test(test_writer__frame_over_snaplen__is_cut_and_keeps_its_length),
        cmocka_unit_test(test_reader__writer_output__round_trips_frames_and_microsecond_times),
        cmocka_unit_test(test_reader__big_endian_and_nanosecond_files__give_the_same_records),
        cmocka_unit_test(test_reader__header_only_file__has_no_records),
        cmocka_unit_test(test_reader__bad_file_header__names_file_offset_and_field),
        cmocka_unit_test(test_reader__bad_records__name_file_record_offset_and_field),
        cmocka_unit_test(test_reader__missing_or_irregular_file__fails_with_one_line),
        cmocka_unit_test(test_reader__load_from_disk__reports_under_the_path),
        cmocka_unit_test(test_reader__random_corruptions__never_crash_and_give_one_line_or_load),
        cmocka_unit_test(test_gen__sizes__step_by_two_over_60_to_1514_and_cover_all),
        cmocka_unit_test(test_gen__frames__are_deterministic_and_addressed_as_asked),
        cmocka_unit_test(test_gen__pcap_of_1000_frames__loads_back_frame_for_frame),
    };

    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
