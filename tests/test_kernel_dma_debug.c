/*
 * tests/test_kernel_dma_debug.c: the DMA-API checker driven the way the
 * DMA API (map/unmap/sync/unbind) and the machine (device accesses, CPU
 * stores) drive it.  Every finding is checked as text -- Linux 6.1's words
 * for the Linux checks -- and as JSON, which a small parser here must
 * accept and in which the expected keys and values must appear.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel-guest/dma_debug.h"

#define RID 0x0010                /* 00:02.0 */
#define RID2 0x0018               /* 00:03.0 */
#define IOVA 0x100000ull
#define PA 0x2345000ull
#define VA(pa) (0xffff888000000000ull + (pa))
#define SITE 0xffffffffa0001234ull
#define MAX_REPORTS 64

typedef struct Fix {
    DmaDebug dbg;
    DmaDbgReport got[MAX_REPORTS];
    unsigned ngot;
} Fix;

static void fix_sink(void *opaque, const DmaDbgReport *r)
{
    Fix *f = opaque;

    assert_true(f->ngot < MAX_REPORTS);
    f->got[f->ngot++] = *r;
}

static int fix_setup(void **state)
{
    Fix *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    dma_debug_init(&f->dbg, fix_sink, f);
    *state = f;
    return 0;
}

static int fix_teardown(void **state)
{
    free(*state);
    return 0;
}

static DmaDbgMap mapping(uint16_t rid, uint64_t iova, uint64_t len, DmaDbgType type,
                         DmaDbgDir dir)
{
    DmaDbgMap m = {0};

    m.rid = rid;
    m.type = (uint8_t)type;
    m.dir = (uint8_t)dir;
    m.iova = iova;
    m.len = len;
    m.pa = PA + (iova - IOVA);
    m.cpu_addr = VA(m.pa);
    m.sg_nents = type == DMA_DBG_TYPE_SG ? 1 : 0;
    m.site = SITE;
    return m;
}

/* Maps m and, for single/page, checks the mapping error as a careful driver does. */
static void map_checked(Fix *f, const DmaDbgMap *m)
{
    assert_int_equal(dma_debug_map(&f->dbg, m, false), 0);
    dma_debug_mapping_error(&f->dbg, m->rid, m->iova);
}

/* ---- a minimal JSON parser: accepts exactly one well-formed object ---- */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
        p++;
    }
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"') {
        return NULL;
    }
    while (*p != '"') {
        if ((unsigned char)*p < 0x20) {
            return NULL;             /* raw control characters are invalid */
        }
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++) {
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i]) {
                        return NULL;
                    }
                }
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}

static const char *json_value(const char *p);

static const char *json_object(const char *p)
{
    if (*p++ != '{') {
        return NULL;
    }
    p = json_ws(p);
    if (*p == '}') {
        return p + 1;
    }
    for (;;) {
        p = json_string(json_ws(p));
        if (!p || *(p = json_ws(p)) != ':') {
            return NULL;
        }
        p = json_value(json_ws(p + 1));
        if (!p) {
            return NULL;
        }
        p = json_ws(p);
        if (*p == '}') {
            return p + 1;
        }
        if (*p++ != ',') {
            return NULL;
        }
    }
}

static const char *json_value(const char *p)
{
    if (*p == '"') {
        return json_string(p);
    }
    if (*p == '{') {
        return json_object(p);
    }
    if (!strncmp(p, "null", 4) || !strncmp(p, "true", 4)) {
        return p + 4;
    }
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        p += *p == '-';
        if (!(*p >= '0' && *p <= '9')) {
            return NULL;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
        return p;
    }
    return NULL;
}

static void assert_json_object(const char *s)
{
    const char *end = json_object(json_ws(s));

    if (!end || *json_ws(end)) {
        fail_msg("not one JSON object: %s", s);
    }
}

/* ---- expectations ------------------------------------------------------- */

/* Exactly one finding so far, with this error, this text, and a JSON
 * object holding every key:value fragment given (NULL-terminated). */
static void expect_only(Fix *f, DmaDbgError error, const char *text, ...)
{
    char buf[1024], json[2048];
    const char *frag;
    va_list ap;
    int n;

    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].error, error);
    assert_int_equal(f->dbg.counts[error], 1);
    n = dma_debug_format(&f->got[0], buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(text));
    assert_string_equal(buf, text);
    assert_null(strchr(buf, '\n'));
    n = dma_debug_format_json(&f->got[0], "8139too", "0000:00:02.0", json, sizeof(json));
    assert_true(n > 0 && (size_t)n < sizeof(json));
    assert_json_object(json);
    assert_non_null(strstr(json, "{\"kind\":\"dma-api\","));
    assert_non_null(strstr(json, "\"driver\":\"8139too\""));
    assert_non_null(strstr(json, "\"device\":\"0000:00:02.0\""));
    snprintf(buf, sizeof(buf), "\"error\":\"%s\"", dma_debug_error_name(error));
    assert_non_null(strstr(json, buf));
    va_start(ap, text);
    while ((frag = va_arg(ap, const char *)) != NULL) {
        if (!strstr(json, frag)) {
            fail_msg("JSON lacks %s: %s", frag, json);
        }
    }
    va_end(ap);
}

static void expect_none(Fix *f)
{
    char buf[512];

    if (f->ngot) {
        dma_debug_format(&f->got[0], buf, sizeof(buf));
        fail_msg("unexpected report (%u): %s", f->ngot, buf);
    }
    for (unsigned e = 0; e < DMA_DBG_ERROR_COUNT; e++) {
        assert_int_equal(f->dbg.counts[e], 0);
    }
}

/* ---- unmap / free checks ----------------------------------------------- */

static void test_unmap__never_mapped__reports_not_allocated(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);

    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_FREE_NOT_ALLOCATED,
                "device driver tries to free DMA memory it has not allocated "
                "[device address=0x0000000000100000] [size=4096 bytes]",
                "\"device_address\":\"0x0000000000100000\"", "\"size\":4096",
                "\"rid\":16", NULL);
}

static void test_unmap__of_other_device__reports_not_allocated(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);
    DmaDbgMap other = m;

    map_checked(f, &m);
    other.rid = RID2;
    dma_debug_unmap(&f->dbg, &other);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].error, DMA_DBG_FREE_NOT_ALLOCATED);
    assert_int_equal(dma_debug_live(&f->dbg, RID), 1);
}

static void test_unmap__twice__second_reports_not_allocated(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_PAGE, DMA_DBG_FROM_DEVICE);

    map_checked(f, &m);
    dma_debug_unmap(&f->dbg, &m);
    assert_int_equal(f->ngot, 0);
    dma_debug_unmap(&f->dbg, &m);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].error, DMA_DBG_FREE_NOT_ALLOCATED);
}

static void test_unmap__mapping_error_address__reports_invalid_address(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, UINT64_MAX, 1514, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);

    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_FREE_INVALID_ADDR,
                "device driver tries to free an invalid DMA memory address",
                "\"device_address\":\"0xffffffffffffffff\"", "\"size\":1514", NULL);
}

static void test_unmap__different_size__reports_sizes(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);

    map_checked(f, &m);
    m.len = 2048;
    m.site = SITE + 0x40;
    dma_debug_set_time(&f->dbg, 777);
    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_FREE_WRONG_SIZE,
                "device driver frees DMA memory with different size "
                "[device address=0x0000000000100000] [map size=4096 bytes] "
                "[unmap size=2048 bytes]",
                "\"map_size\":4096", "\"unmap_size\":2048",
                "\"site\":\"0xffffffffa0001274\"", "\"map_site\":\"0xffffffffa0001234\"",
                "\"time_ns\":777", NULL);
    assert_int_equal(f->got[0].time_ns, 777);
    assert_int_equal(dma_debug_live(&f->dbg, RID), 0);   /* forgotten all the same */
}

static void test_unmap__wrong_function__reports_types(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_BIDIRECTIONAL);

    map_checked(f, &m);
    m.type = DMA_DBG_TYPE_PAGE;
    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_FREE_WRONG_TYPE,
                "device driver frees DMA memory with wrong function "
                "[device address=0x0000000000100000] [size=4096 bytes] "
                "[mapped as single] [unmapped as page]",
                "\"mapped_as\":\"single\"", "\"unmapped_as\":\"page\"", "\"size\":4096", NULL);
}

static void test_unmap__coherent_freed_as_sg__reports_types(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 8192, DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL);

    map_checked(f, &m);
    m.type = DMA_DBG_TYPE_SG;
    m.sg_nents = 0;
    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_FREE_WRONG_TYPE,
                "device driver frees DMA memory with wrong function "
                "[device address=0x0000000000100000] [size=8192 bytes] "
                "[mapped as coherent] [unmapped as scatter-gather]",
                "\"mapped_as\":\"coherent\"", "\"unmapped_as\":\"scatter-gather\"", NULL);
}

static void test_unmap__different_direction__reports_directions(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA + 0x2000, 1536, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);

    map_checked(f, &m);
    m.dir = DMA_DBG_TO_DEVICE;
    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_FREE_WRONG_DIR,
                "device driver frees DMA memory with different direction "
                "[device address=0x0000000000102000] [size=1536 bytes] "
                "[mapped with DMA_FROM_DEVICE] [unmapped with DMA_TO_DEVICE]",
                "\"mapped_with\":\"DMA_FROM_DEVICE\"", "\"unmapped_with\":\"DMA_TO_DEVICE\"",
                "\"size\":1536", NULL);
}

static void test_free_coherent__different_cpu_address__reports_both(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL);

    map_checked(f, &m);
    m.cpu_addr += 0x40;
    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_FREE_WRONG_CPU_ADDR,
                "device driver frees DMA memory with different CPU address "
                "[device address=0x0000000000100000] [size=4096 bytes] "
                "[cpu alloc address=0xffff888002345000] [cpu free address=0xffff888002345040]",
                "\"cpu_alloc_address\":\"0xffff888002345000\"",
                "\"cpu_free_address\":\"0xffff888002345040\"", NULL);
}

static void test_unmap_single__different_cpu_address__is_not_checked(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);

    map_checked(f, &m);
    m.cpu_addr = 0;              /* dma_unmap_page never sees the CPU address */
    dma_debug_unmap(&f->dbg, &m);
    expect_none(f);
}

static void test_unmap_sg__different_entry_count__reports_counts(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SG, DMA_DBG_TO_DEVICE);

    m.sg_nents = 3;
    map_checked(f, &m);      /* dma_mapping_error() does not apply to sg */
    m.sg_nents = 2;
    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_SG_WRONG_NENTS,
                "device driver frees DMA sg list with different entry count "
                "[map count=3] [unmap count=2]",
                "\"map_count\":3", "\"unmap_count\":2", NULL);
}

static void test_unmap_sg__unknown_entry_count__is_not_compared(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SG, DMA_DBG_TO_DEVICE);

    m.sg_nents = 3;
    assert_int_equal(dma_debug_map(&f->dbg, &m, false), 0);
    m.sg_nents = 0;              /* Linux compares only a non-zero count */
    dma_debug_unmap(&f->dbg, &m);
    expect_none(f);
}

static void test_unmap__mapping_error_never_checked__reports_it(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 1514, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);

    assert_int_equal(dma_debug_map(&f->dbg, &m, false), 0);
    dma_debug_mapping_error(&f->dbg, RID2, IOVA);      /* another device's check */
    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_MAP_ERROR_UNCHECKED,
                "device driver failed to check map error"
                "[device address=0x0000000000100000] [size=1514 bytes] [mapped as single]",
                "\"size\":1514", "\"mapped_as\":\"single\"", NULL);
}

static void test_unmap_page__mapping_error_never_checked__reports_page(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_PAGE, DMA_DBG_FROM_DEVICE);

    assert_int_equal(dma_debug_map(&f->dbg, &m, false), 0);
    dma_debug_unmap(&f->dbg, &m);
    expect_only(f, DMA_DBG_MAP_ERROR_UNCHECKED,
                "device driver failed to check map error"
                "[device address=0x0000000000100000] [size=4096 bytes] [mapped as page]",
                "\"mapped_as\":\"page\"", NULL);
}

static void test_unmap__coherent_and_sg__need_no_mapping_error_check(void **state)
{
    Fix *f = *state;
    DmaDbgMap c = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL);
    DmaDbgMap s = mapping(RID, IOVA + 0x1000, 4096, DMA_DBG_TYPE_SG, DMA_DBG_FROM_DEVICE);

    assert_int_equal(dma_debug_map(&f->dbg, &c, false), 0);
    assert_int_equal(dma_debug_map(&f->dbg, &s, false), 0);
    dma_debug_unmap(&f->dbg, &c);
    dma_debug_unmap(&f->dbg, &s);
    expect_none(f);
}

static void test_unmap__several_mistakes__reports_each_in_linux_order(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);

    assert_int_equal(dma_debug_map(&f->dbg, &m, false), 0);
    m.len = 100;
    m.type = DMA_DBG_TYPE_PAGE;
    m.dir = DMA_DBG_FROM_DEVICE;
    dma_debug_unmap(&f->dbg, &m);
    assert_int_equal(f->ngot, 4);
    assert_int_equal(f->got[0].error, DMA_DBG_FREE_WRONG_SIZE);
    assert_int_equal(f->got[1].error, DMA_DBG_FREE_WRONG_TYPE);
    assert_int_equal(f->got[2].error, DMA_DBG_FREE_WRONG_DIR);
    assert_int_equal(f->got[3].error, DMA_DBG_MAP_ERROR_UNCHECKED);
}

static void test_unmap__same_address_twice__picks_the_fitting_mapping(void **state)
{
    Fix *f = *state;
    DmaDbgMap a = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);
    DmaDbgMap b = mapping(RID, IOVA, 2048, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);
    DmaDbgMap neither = a;

    map_checked(f, &a);
    map_checked(f, &b);
    dma_debug_unmap(&f->dbg, &b);          /* the second one, exactly */
    expect_none(f);
    assert_int_equal(dma_debug_live(&f->dbg, RID), 1);
    assert_int_equal(f->dbg.entries[0].map.len, 4096);
    /* Two candidates and no perfect fit: Linux finds none. */
    map_checked(f, &b);
    neither.len = 1000;
    dma_debug_unmap(&f->dbg, &neither);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].error, DMA_DBG_FREE_NOT_ALLOCATED);
    assert_int_equal(dma_debug_live(&f->dbg, RID), 2);
}

/* ---- map checks ---------------------------------------------------------- */

static void test_map__stack_memory__reports_address_and_keeps_mapping(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 64, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);

    m.cpu_addr = 0xffffc90000003f00ull;
    assert_int_equal(dma_debug_map(&f->dbg, &m, true), 0);
    expect_only(f, DMA_DBG_MAP_STACK,
                "device driver maps memory from stack [addr=0xffffc90000003f00]",
                "\"addr\":\"0xffffc90000003f00\"", "\"size\":64",
                "\"mapped_with\":\"DMA_FROM_DEVICE\"", NULL);
    assert_int_equal(dma_debug_live(&f->dbg, RID), 1);
}

/* ---- sync checks --------------------------------------------------------- */

static void test_sync__never_mapped__reports_not_allocated(void **state)
{
    Fix *f = *state;

    dma_debug_sync(&f->dbg, RID, IOVA + 0x80, 256, DMA_DBG_FROM_DEVICE, true, SITE);
    expect_only(f, DMA_DBG_SYNC_NOT_MAPPED,
                "device driver tries to sync DMA memory it has not allocated "
                "[device address=0x0000000000100080] [size=256 bytes]",
                "\"device_address\":\"0x0000000000100080\"", "\"size\":256", NULL);
}

static void test_sync__just_past_the_mapping__reports_not_allocated(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);

    map_checked(f, &m);
    dma_debug_sync(&f->dbg, RID, IOVA + 4096, 4, DMA_DBG_FROM_DEVICE, true, SITE);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].error, DMA_DBG_SYNC_NOT_MAPPED);
}

static void test_sync__running_past_the_mapping__reports_outside(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);

    map_checked(f, &m);
    dma_debug_sync(&f->dbg, RID, IOVA + 0x800, 4096, DMA_DBG_FROM_DEVICE, true, SITE);
    expect_only(f, DMA_DBG_SYNC_OUTSIDE,
                "device driver syncs DMA memory outside allocated range "
                "[device address=0x0000000000100000] [allocation size=4096 bytes] "
                "[sync offset+size=6144]",
                "\"allocation_size\":4096", "\"sync_offset_size\":6144", NULL);
}

static void test_sync__different_direction__reports_directions(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);

    map_checked(f, &m);
    dma_debug_sync(&f->dbg, RID, IOVA + 0x100, 64, DMA_DBG_TO_DEVICE, true, SITE);
    expect_only(f, DMA_DBG_SYNC_WRONG_DIR,
                "device driver syncs DMA memory with different direction "
                "[device address=0x0000000000100100] [size=4096 bytes] "
                "[mapped with DMA_FROM_DEVICE] [synced with DMA_TO_DEVICE]",
                "\"mapped_with\":\"DMA_FROM_DEVICE\"", "\"synced_with\":\"DMA_TO_DEVICE\"",
                "\"size\":4096", "\"sync_size\":64", NULL);
}

static void test_sync__to_device_mapping_synced_bidirectional__reports_direction(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_PAGE, DMA_DBG_TO_DEVICE);

    map_checked(f, &m);
    dma_debug_sync(&f->dbg, RID, IOVA, 4096, DMA_DBG_BIDIRECTIONAL, false, SITE);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].error, DMA_DBG_SYNC_WRONG_DIR);
    assert_int_equal(f->got[0].other_dir, DMA_DBG_BIDIRECTIONAL);
}

/* ---- unbind -------------------------------------------------------------- */

static void test_unbind__live_mappings__reports_count_and_one_entry(void **state)
{
    Fix *f = *state;
    DmaDbgMap a = mapping(RID, IOVA + 0x3000, 1536, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);
    DmaDbgMap b = mapping(RID, IOVA, 0x8000, DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL);
    DmaDbgMap c = mapping(RID, IOVA + 0x9000, 4096, DMA_DBG_TYPE_SG, DMA_DBG_TO_DEVICE);
    DmaDbgMap other = mapping(RID2, IOVA, 4096, DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL);

    map_checked(f, &a);
    map_checked(f, &b);
    map_checked(f, &c);
    map_checked(f, &other);
    dma_debug_unbind(&f->dbg, RID, SITE + 8);
    expect_only(f, DMA_DBG_LEAKED_AT_UNBIND,
                "device driver has pending DMA allocations while released from device "
                "[count=3] One of leaked entries details: "
                "[device address=0x0000000000100000] [size=32768 bytes] "
                "[mapped with DMA_BIDIRECTIONAL] [mapped as coherent]",
                "\"count\":3", "\"size\":32768", "\"mapped_as\":\"coherent\"",
                "\"mapped_with\":\"DMA_BIDIRECTIONAL\"", NULL);
    assert_int_equal(dma_debug_live(&f->dbg, RID), 0);
    assert_int_equal(dma_debug_live(&f->dbg, RID2), 1);
    assert_int_equal(dma_debug_live(&f->dbg, 0xffff), 1);
    /* The other device keeps its mapping; a clean device reports nothing. */
    dma_debug_unmap(&f->dbg, &other);
    dma_debug_unbind(&f->dbg, RID2, SITE);
    assert_int_equal(f->ngot, 1);
}

/* ---- beyond Linux: the device side and the CPU's stores ------------------ */

static void test_device_access__after_unmap__reports_mapping_and_unmapper(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 2048, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);
    DmaDbgMap unmap = m;

    map_checked(f, &m);
    unmap.site = SITE + 0x99;
    dma_debug_unmap(&f->dbg, &unmap);
    dma_debug_device_access(&f->dbg, RID, IOVA + 0x10, 60, true);
    expect_only(f, DMA_DBG_DEVICE_AFTER_UNMAP,
                "device accessed DMA memory after the driver unmapped it "
                "[device address=0x0000000000100010] [size=60 bytes] "
                "[was mapped with DMA_FROM_DEVICE] [unmapped by 0xffffffffa00012cd]",
                "\"access\":\"write\"", "\"unmapped_by\":\"0xffffffffa00012cd\"",
                "\"map_size\":2048", "\"size\":60", NULL);
}

static void test_device_access__remapped_or_never_mapped__reports_nothing(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 2048, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);

    map_checked(f, &m);
    dma_debug_unmap(&f->dbg, &m);
    map_checked(f, &m);                          /* the same IOVA again */
    dma_debug_device_access(&f->dbg, RID, IOVA, 64, true);
    dma_debug_device_access(&f->dbg, RID, IOVA + 0x10000, 64, false);  /* the IOMMU's job */
    dma_debug_device_access(&f->dbg, RID2, IOVA, 64, false);          /* other domain */
    expect_none(f);
}

static void test_device_access__after_unbind__reports_after_unmap(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL);

    map_checked(f, &m);
    dma_debug_unbind(&f->dbg, RID, SITE + 4);
    dma_debug_device_access(&f->dbg, RID, IOVA + 0x20, 4, false);
    assert_int_equal(f->ngot, 2);
    assert_int_equal(f->got[1].error, DMA_DBG_DEVICE_AFTER_UNMAP);
    assert_int_equal(f->got[1].site, SITE + 4);
    assert_int_equal(f->got[1].other_dir, DMA_DBG_TO_DEVICE);    /* a device read */
}

static void test_device_write__to_device_mapping__reports_it(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 1514, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);

    map_checked(f, &m);
    dma_debug_device_access(&f->dbg, RID, IOVA, 1514, false);    /* reading is its job */
    assert_int_equal(f->ngot, 0);
    dma_debug_device_access(&f->dbg, RID, IOVA + 0x100, 16, true);
    expect_only(f, DMA_DBG_DEVICE_WROTE_TO_DEVICE,
                "device wrote DMA memory mapped DMA_TO_DEVICE "
                "[device address=0x0000000000100100] [size=16 bytes]",
                "\"device_address\":\"0x0000000000100100\"", "\"size\":16",
                "\"mapped_with\":\"DMA_TO_DEVICE\"", "\"access\":\"write\"", NULL);
}

static void test_cpu_write__device_owned_buffer__reports_addresses(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 2048, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);

    map_checked(f, &m);
    dma_debug_cpu_write(&f->dbg, PA + 0x10, 4, SITE + 0x77);
    expect_only(f, DMA_DBG_CPU_WROTE_DEVICE_OWNED,
                "CPU wrote a streaming DMA buffer the device owns "
                "[device address=0x0000000000100010] [cpu address=0x0000000002345010] "
                "[size=4 bytes]",
                "\"cpu_address\":\"0x0000000002345010\"", "\"size\":4",
                "\"site\":\"0xffffffffa00012ab\"", NULL);
}

static void test_cpu_write__store_straddling_the_start__names_first_byte(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 2048, DMA_DBG_TYPE_PAGE, DMA_DBG_TO_DEVICE);

    map_checked(f, &m);
    dma_debug_cpu_write(&f->dbg, PA - 4, 8, SITE);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].iova, IOVA);
    dma_debug_cpu_write(&f->dbg, PA - 4, 4, SITE);       /* just before */
    dma_debug_cpu_write(&f->dbg, PA + 2048, 8, SITE);    /* just after */
    assert_int_equal(f->ngot, 1);
}

static unsigned owned_calls;
static uint64_t owned_pa, owned_len;

static void owned_fn(void *opaque, uint64_t pa, uint64_t len)
{
    (void)opaque;
    owned_calls++;
    owned_pa = pa;
    owned_len = len;
}

static void test_device_owned__follows_map_sync_and_unmap(void **state)
{
    Fix *f = *state;
    DmaDbgMap s = mapping(RID, IOVA, 2048, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);
    DmaDbgMap c = mapping(RID, IOVA + 0x1000, 4096, DMA_DBG_TYPE_COHERENT,
                          DMA_DBG_BIDIRECTIONAL);

    map_checked(f, &c);
    assert_int_equal(dma_debug_device_owned(&f->dbg, NULL, NULL), 0);  /* never coherent */
    map_checked(f, &s);
    owned_calls = 0;
    assert_int_equal(dma_debug_device_owned(&f->dbg, owned_fn, NULL), 1);
    assert_int_equal(owned_calls, 1);
    assert_int_equal(owned_pa, PA);
    assert_int_equal(owned_len, 2048);

    dma_debug_sync(&f->dbg, RID, IOVA, 2048, DMA_DBG_FROM_DEVICE, true, SITE);
    assert_int_equal(dma_debug_device_owned(&f->dbg, NULL, NULL), 0);
    dma_debug_cpu_write(&f->dbg, PA, 64, SITE);            /* the CPU owns it now */
    dma_debug_cpu_write(&f->dbg, PA + 0x1000, 64, SITE);   /* coherent: always fine */
    assert_int_equal(f->ngot, 0);

    dma_debug_sync(&f->dbg, RID, IOVA, 2048, DMA_DBG_FROM_DEVICE, false, SITE);
    assert_int_equal(dma_debug_device_owned(&f->dbg, NULL, NULL), 1);
    dma_debug_cpu_write(&f->dbg, PA, 64, SITE);
    assert_int_equal(f->ngot, 1);

    dma_debug_unmap(&f->dbg, &s);
    assert_int_equal(dma_debug_device_owned(&f->dbg, NULL, NULL), 0);
    dma_debug_cpu_write(&f->dbg, PA, 64, SITE);
    assert_int_equal(f->ngot, 1);
}

/* ---- clean use ------------------------------------------------------------ */

static void test_clean_driver__streaming_sg_and_coherent__reports_nothing(void **state)
{
    Fix *f = *state;
    DmaDbgMap ring = mapping(RID, IOVA, 0x8000, DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL);
    DmaDbgMap rx = mapping(RID, IOVA + 0x8000, 1536, DMA_DBG_TYPE_SINGLE, DMA_DBG_FROM_DEVICE);
    DmaDbgMap tx = mapping(RID, IOVA + 0x9000, 60, DMA_DBG_TYPE_PAGE, DMA_DBG_TO_DEVICE);
    DmaDbgMap bidi = mapping(RID, IOVA + 0xa000, 512, DMA_DBG_TYPE_SINGLE,
                             DMA_DBG_BIDIRECTIONAL);
    DmaDbgMap sg[3];

    map_checked(f, &ring);
    for (int round = 0; round < 3; round++) {
        map_checked(f, &rx);
        map_checked(f, &tx);
        map_checked(f, &bidi);
        dma_debug_device_access(&f->dbg, RID, IOVA + 0x100, 64, true);   /* ring */
        dma_debug_device_access(&f->dbg, RID, rx.iova, 1514, true);
        dma_debug_device_access(&f->dbg, RID, tx.iova, 60, false);
        dma_debug_sync(&f->dbg, RID, rx.iova, 1514, DMA_DBG_FROM_DEVICE, true, SITE);
        dma_debug_sync(&f->dbg, RID, rx.iova + 14, 100, DMA_DBG_FROM_DEVICE, false, SITE);
        dma_debug_sync(&f->dbg, RID, tx.iova, 60, DMA_DBG_TO_DEVICE, true, SITE);
        dma_debug_sync(&f->dbg, RID, tx.iova, 60, DMA_DBG_TO_DEVICE, false, SITE);
        /* A bidirectional mapping may be synced either way, for either side. */
        dma_debug_sync(&f->dbg, RID, bidi.iova, 512, DMA_DBG_TO_DEVICE, false, SITE);
        dma_debug_sync(&f->dbg, RID, bidi.iova, 512, DMA_DBG_FROM_DEVICE, true, SITE);
        dma_debug_sync(&f->dbg, RID, ring.iova + 0x40, 64, DMA_DBG_FROM_DEVICE, true, SITE);
        dma_debug_sync(&f->dbg, RID, rx.iova, 1514, DMA_DBG_FROM_DEVICE, true, SITE);
        dma_debug_cpu_write(&f->dbg, rx.pa, 1514, SITE);
        dma_debug_unmap(&f->dbg, &rx);
        dma_debug_unmap(&f->dbg, &tx);
        dma_debug_unmap(&f->dbg, &bidi);
    }
    for (int i = 0; i < 3; i++) {
        sg[i] = mapping(RID, IOVA + 0x10000 + (uint64_t)i * 0x1000, 4096, DMA_DBG_TYPE_SG,
                        DMA_DBG_TO_DEVICE);
        sg[i].sg_nents = 3;
        assert_int_equal(dma_debug_map(&f->dbg, &sg[i], false), 0);
    }
    for (int i = 0; i < 3; i++) {
        dma_debug_unmap(&f->dbg, &sg[i]);
    }
    dma_debug_unmap(&f->dbg, &ring);
    dma_debug_unbind(&f->dbg, RID, SITE);
    expect_none(f);
    assert_int_equal(dma_debug_live(&f->dbg, 0xffff), 0);
}

/* ---- capacity and consistency ------------------------------------------- */

static void test_map__table_full__returns_enospc_and_checks_nothing(void **state)
{
    Fix *f = *state;
    DmaDbgMap m;

    /* Descending addresses: every insert lands at the front. */
    for (unsigned i = 0; i < DMA_DEBUG_MAX_ENTRIES; i++) {
        m = mapping(RID, IOVA + (uint64_t)(DMA_DEBUG_MAX_ENTRIES - i) * 0x1000, 4096,
                    DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL);
        assert_int_equal(dma_debug_map(&f->dbg, &m, false), 0);
    }
    m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);
    assert_int_equal(dma_debug_map(&f->dbg, &m, true), -ENOSPC);
    assert_int_equal(f->ngot, 0);
    assert_int_equal(dma_debug_live(&f->dbg, 0xffff), DMA_DEBUG_MAX_ENTRIES);
    /* Lookups in a full table still work and stay in range. */
    dma_debug_sync(&f->dbg, RID, IOVA + 0x1000 + 5, 4, DMA_DBG_TO_DEVICE, true, SITE);
    dma_debug_device_access(&f->dbg, RID, IOVA + DMA_DEBUG_MAX_ENTRIES * 0x1000ull + 4095,
                            1, true);
    assert_int_equal(f->ngot, 0);
    dma_debug_sync(&f->dbg, RID, IOVA, 4, DMA_DBG_TO_DEVICE, true, SITE);
    assert_int_equal(f->ngot, 1);               /* below every mapping */
    m = mapping(RID, IOVA + 0x5000, 4096, DMA_DBG_TYPE_COHERENT, DMA_DBG_BIDIRECTIONAL);
    dma_debug_unmap(&f->dbg, &m);
    assert_int_equal(f->ngot, 1);
    m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);
    assert_int_equal(dma_debug_map(&f->dbg, &m, false), 0);
    assert_int_equal(dma_debug_map(&f->dbg, &m, false), -ENOSPC);
}

/* The reference: live mappings in the order they were made. */
typedef struct RefMap {
    DmaDbgMap m;
    int checked;
} RefMap;

#define REF_MAX 96

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;       /* fixed seed: the same run every time */
    return *s >> 8;
}

/* Errors check_unmap should report, in order; -1 if none match. */
static int ref_unmap(RefMap *ref, int *nref, const DmaDbgMap *u, uint8_t *errs, int *nerrs)
{
    int first = -1, matches = 0, hit = -1;

    *nerrs = 0;
    for (int i = 0; i < *nref; i++) {
        const DmaDbgMap *m = &ref[i].m;

        if (m->rid != u->rid || m->iova != u->iova) {
            continue;
        }
        matches++;
        if (first < 0) {
            first = i;
        }
        if (hit < 0 && m->len == u->len && m->type == u->type && m->dir == u->dir &&
            m->sg_nents == u->sg_nents) {
            hit = i;
        }
    }
    if (matches == 1) {
        hit = first;
    }
    if (hit < 0) {
        errs[(*nerrs)++] = DMA_DBG_FREE_NOT_ALLOCATED;
        return -1;
    }
    const DmaDbgMap *m = &ref[hit].m;
    if (u->len != m->len) {
        errs[(*nerrs)++] = DMA_DBG_FREE_WRONG_SIZE;
    }
    if (u->type != m->type) {
        errs[(*nerrs)++] = DMA_DBG_FREE_WRONG_TYPE;
    } else if (m->type == DMA_DBG_TYPE_COHERENT && u->cpu_addr != m->cpu_addr) {
        errs[(*nerrs)++] = DMA_DBG_FREE_WRONG_CPU_ADDR;
    }
    if (u->type == DMA_DBG_TYPE_SG && u->sg_nents && u->sg_nents != m->sg_nents) {
        errs[(*nerrs)++] = DMA_DBG_SG_WRONG_NENTS;
    }
    if (u->dir != m->dir) {
        errs[(*nerrs)++] = DMA_DBG_FREE_WRONG_DIR;
    }
    if ((m->type == DMA_DBG_TYPE_SINGLE || m->type == DMA_DBG_TYPE_PAGE) && !ref[hit].checked) {
        errs[(*nerrs)++] = DMA_DBG_MAP_ERROR_UNCHECKED;
    }
    memmove(&ref[hit], &ref[hit + 1], (size_t)(*nref - hit - 1) * sizeof(ref[0]));
    (*nref)--;
    return hit;
}

static void check_table_against(const Fix *f, const RefMap *ref, int nref)
{
    unsigned n = dma_debug_live(&f->dbg, 0xffff);
    int per_rid[2] = {0, 0};

    assert_int_equal(n, (unsigned)nref);
    for (unsigned i = 0; i < DMA_DEBUG_MAX_ENTRIES; i++) {
        assert_int_equal(f->dbg.entries[i].used, i < n);
        if (i >= n) {
            break;
        }
        if (i > 0) {              /* sorted by (rid, iova) */
            const DmaDbgMap *a = &f->dbg.entries[i - 1].map, *b = &f->dbg.entries[i].map;

            assert_true(a->rid < b->rid || (a->rid == b->rid && a->iova <= b->iova));
        }
    }
    for (int i = 0; i < nref; i++) {
        per_rid[ref[i].m.rid == RID2]++;
    }
    assert_int_equal(dma_debug_live(&f->dbg, RID), per_rid[0]);
    assert_int_equal(dma_debug_live(&f->dbg, RID2), per_rid[1]);
}

static void test_map_unmap__random_cycles__agree_with_reference_model(void **state)
{
    Fix *f = *state;
    RefMap ref[REF_MAX];
    int nref = 0;
    uint32_t seed = 0x5eed1234u;

    for (int step = 0; step < 30000; step++) {
        uint32_t op = rng_next(&seed) % 10;
        uint16_t rid = rng_next(&seed) & 1 ? RID2 : RID;
        uint64_t iova = IOVA + (rng_next(&seed) % 24) * 0x1000ull;

        f->ngot = 0;
        if (op < 4 && nref < REF_MAX) {
            DmaDbgMap m = mapping(rid, iova, 1 + rng_next(&seed) % 0x2000,
                                  (DmaDbgType)(rng_next(&seed) % 4),
                                  (DmaDbgDir)(rng_next(&seed) % 3));

            m.sg_nents = m.type == DMA_DBG_TYPE_SG ? 1 + (int)(rng_next(&seed) % 3) : 0;
            assert_int_equal(dma_debug_map(&f->dbg, &m, false), 0);
            ref[nref].m = m;
            ref[nref++].checked = 0;
            assert_int_equal(f->ngot, 0);
        } else if (op < 6) {
            dma_debug_mapping_error(&f->dbg, rid, iova);
            for (int i = 0; i < nref; i++) {
                DmaDbgMap *m = &ref[i].m;

                if (m->rid == rid && m->iova == iova && !ref[i].checked &&
                    (m->type == DMA_DBG_TYPE_SINGLE || m->type == DMA_DBG_TYPE_PAGE)) {
                    ref[i].checked = 1;
                    break;
                }
            }
        } else {
            DmaDbgMap u = mapping(rid, iova, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);
            uint8_t errs[8];
            int nerrs;

            if (nref && rng_next(&seed) % 4) {
                u = ref[rng_next(&seed) % (uint32_t)nref].m;    /* a real one ... */
                switch (rng_next(&seed) % 8) {                   /* ... sometimes wrong */
                case 0: u.len += 1; break;
                case 1: u.dir = (u.dir + 1) % 3; break;
                case 2: u.type = (u.type + 1) % 4; break;
                case 3: u.cpu_addr += 8; break;
                case 4: u.sg_nents += 1; break;
                default: break;
                }
            }
            ref_unmap(ref, &nref, &u, errs, &nerrs);
            dma_debug_unmap(&f->dbg, &u);
            assert_int_equal(f->ngot, nerrs);
            for (int i = 0; i < nerrs; i++) {
                assert_int_equal(f->got[i].error, errs[i]);
            }
        }
        check_table_against(f, ref, nref);
    }
}

/* ---- formatting ----------------------------------------------------------- */

static void test_format_json__hostile_names__stay_valid_json(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);
    char json[2048];

    dma_debug_unmap(&f->dbg, &m);
    assert_int_equal(f->ngot, 1);
    assert_true(dma_debug_format_json(&f->got[0], "bad\"drv\\\n\x01", "caf\xc3\xa9\xff\xc0\xaf",
                                      json, sizeof(json)) > 0);
    assert_json_object(json);
    assert_non_null(strstr(json, "\"driver\":\"bad\\\"drv\\\\\\u000a\\u0001\""));
    assert_non_null(strstr(json, "\"device\":\"caf\xc3\xa9\\ufffd\\ufffd\\ufffd\""));
    assert_true(dma_debug_format_json(&f->got[0], NULL, NULL, json, sizeof(json)) > 0);
    assert_json_object(json);
    assert_non_null(strstr(json, "\"driver\":null,\"device\":null"));
}

static void test_format__small_buffer__truncates_and_returns_full_length(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);
    char full[512], small[16], json[2048], jsmall[32];
    int n, nj;

    dma_debug_unmap(&f->dbg, &m);
    n = dma_debug_format(&f->got[0], full, sizeof(full));
    assert_int_equal(dma_debug_format(&f->got[0], small, sizeof(small)), n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, full, sizeof(small) - 1);
    assert_int_equal(dma_debug_format(&f->got[0], NULL, 0), n);
    nj = dma_debug_format_json(&f->got[0], "d", "e", json, sizeof(json));
    assert_int_equal(dma_debug_format_json(&f->got[0], "d", "e", jsmall, sizeof(jsmall)), nj);
    assert_int_equal(strlen(jsmall), sizeof(jsmall) - 1);
}

static void test_format__unknown_error__is_rejected(void **state)
{
    DmaDbgReport r = {0};
    char buf[64];

    (void)state;
    r.error = DMA_DBG_ERROR_COUNT;
    assert_int_equal(dma_debug_format(&r, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(dma_debug_format_json(&r, "a", "b", buf, sizeof(buf)), -EINVAL);
    assert_string_equal(dma_debug_error_name(DMA_DBG_ERROR_COUNT), "invalid");
    assert_string_equal(dma_debug_error_name(DMA_DBG_FREE_WRONG_SIZE), "free-wrong-size");
}

static void test_counts__count_every_report_per_error(void **state)
{
    Fix *f = *state;
    DmaDbgMap m = mapping(RID, IOVA, 4096, DMA_DBG_TYPE_SINGLE, DMA_DBG_TO_DEVICE);

    dma_debug_unmap(&f->dbg, &m);
    dma_debug_unmap(&f->dbg, &m);
    dma_debug_sync(&f->dbg, RID, IOVA, 4, DMA_DBG_TO_DEVICE, true, SITE);
    assert_int_equal(f->dbg.counts[DMA_DBG_FREE_NOT_ALLOCATED], 2);
    assert_int_equal(f->dbg.counts[DMA_DBG_SYNC_NOT_MAPPED], 1);
    /* Without a sink the checker still counts. */
    dma_debug_init(&f->dbg, NULL, NULL);
    dma_debug_unmap(&f->dbg, &m);
    assert_int_equal(f->dbg.counts[DMA_DBG_FREE_NOT_ALLOCATED], 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fix_setup, fix_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_unmap__never_mapped__reports_not_allocated),
        T(test_unmap__of_other_device__reports_not_allocated),
        T(test_unmap__twice__second_reports_not_allocated),
        T(test_unmap__mapping_error_address__reports_invalid_address),
        T(test_unmap__different_size__reports_sizes),
        T(test_unmap__wrong_function__reports_types),
        T(test_unmap__coherent_freed_as_sg__reports_types),
        T(test_unmap__different_direction__reports_directions),
        T(test_free_coherent__different_cpu_address__reports_both),
        T(test_unmap_single__different_cpu_address__is_not_checked),
        T(test_unmap_sg__different_entry_count__reports_counts),
        T(test_unmap_sg__unknown_entry_count__is_not_compared),
        T(test_unmap__mapping_error_never_checked__reports_it),
        T(test_unmap_page__mapping_error_never_checked__reports_page),
        T(test_unmap__coherent_and_sg__need_no_mapping_error_check),
        T(test_unmap__several_mistakes__reports_each_in_linux_order),
        T(test_unmap__same_address_twice__picks_the_fitting_mapping),
        T(test_map__stack_memory__reports_address_and_keeps_mapping),
        T(test_sync__never_mapped__reports_not_allocated),
        T(test_sync__just_past_the_mapping__reports_not_allocated),
        T(test_sync__running_past_the_mapping__reports_outside),
        T(test_sync__different_direction__reports_directions),
        T(test_sync__to_device_mapping_synced_bidirectional__reports_direction),
        T(test_unbind__live_mappings__reports_count_and_one_entry),
        T(test_device_access__after_unmap__reports_mapping_and_unmapper),
        T(test_device_access__remapped_or_never_mapped__reports_nothing),
        T(test_device_access__after_unbind__reports_after_unmap),
        T(test_device_write__to_device_mapping__reports_it),
        T(test_cpu_write__device_owned_buffer__reports_addresses),
        T(test_cpu_write__store_straddling_the_start__names_first_byte),
        T(test_device_owned__follows_map_sync_and_unmap),
        T(test_clean_driver__streaming_sg_and_coherent__reports_nothing),
        T(test_map__table_full__returns_enospc_and_checks_nothing),
        T(test_map_unmap__random_cycles__agree_with_reference_model),
        T(test_format_json__hostile_names__stay_valid_json),
        T(test_format__small_buffer__truncates_and_returns_full_length),
        T(test_format__unknown_error__is_rejected),
        T(test_counts__count_every_report_per_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
