/*
 * tests/test_iommu_faults.c: fault records (every field, including the
 * driver instruction that supplied the address), the bounded queue, the
 * policy hook, the report line and JSON formats, and the exit summary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iommu/dma_port.h"
#include "iommu/iommu.h"
#include "tests/iommu_test_fix.h"

#define RAM_SIZE IOMMU_TEST_RAM_SIZE
#define RID IOMMU_TEST_RID_A
#define PG IOMMU_PAGE_SIZE
#define FAULT_MAX 4

typedef IommuTestFix Fix;

static void fix_tune(IommuConfig *cfg)
{
    cfg->fault_queue_max = FAULT_MAX;
}

static int fix_setup(void **state)
{
    return iommu_test_fix_setup(state, IOMMU_MODE_STRICT, fix_tune, "rtl8139", NULL);
}

/* What the fault hook saw, and what it answers. */
typedef struct HookLog {
    int calls;
    IommuAction answer;
    IommuFault seen;
} HookLog;

static IommuAction hook_log(void *opaque, const IommuFault *flt)
{
    HookLog *h = opaque;

    h->calls++;
    h->seen = *flt;
    return h->answer;
}

static void test_fault__carries_device_iova_len_dir_reason_time(void **state)
{
    Fix *f = *state;
    uint8_t buf[100];
    IommuFault flt;

    memset(buf, 0, sizeof(buf));
    iommu_set_time(f->mmu, 123456);
    assert_int_equal(dma_write(&f->port, 0xfee000, buf, sizeof(buf)), -EFAULT);
    flt = iommu_test_pop_fault(f->mmu);
    assert_int_equal(flt.rid, RID);
    assert_string_equal(flt.name, "rtl8139");
    assert_int_equal(flt.iova, 0xfee000);
    assert_int_equal(flt.len, 100);
    assert_int_equal(flt.dir, IOMMU_DIR_WRITE);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
    assert_int_equal(flt.time_ns, 123456);
    assert_int_equal(flt.seq, 0);
    assert_false(flt.rip_known);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 0);
}

static void test_fault__in_the_page_of_a_noted_address__names_the_instruction(void **state)
{
    Fix *f = *state;
    uint8_t b = 0;
    IommuFault flt;

    /* The driver wrote 0x345000 into a buffer-address register at rip. */
    assert_int_equal(iommu_note_address(f->mmu, RID, 0x345000, 0, 0xffffffffc0012345ull), 0);
    assert_int_equal(iommu_note_address(f->mmu, RID, 0x900000, 0, 0xffffffffc0019999ull), 0);
    assert_int_equal(dma_read(&f->port, 0x345ff0, &b, 1), -EFAULT);
    flt = iommu_test_pop_fault(f->mmu);
    assert_true(flt.rip_known);
    assert_int_equal(flt.rip, 0xffffffffc0012345ull);
    assert_int_equal(flt.rip_value, 0x345000);
    /* An unrelated page has no instruction. */
    assert_int_equal(dma_read(&f->port, 0x777000, &b, 1), -EFAULT);
    assert_false(iommu_test_pop_fault(f->mmu).rip_known);
}

static void test_fault__inside_a_noted_ring__names_the_instruction(void **state)
{
    Fix *f = *state;
    uint8_t desc[16];
    IommuFault flt;

    /* A 64 KiB ring base: the faulting descriptor is 9 pages in. */
    assert_int_equal(iommu_note_address(f->mmu, RID, 0x200000, 0x10000, 0xffffffffc0001000ull), 0);
    assert_int_equal(dma_read(&f->port, 0x209010, desc, sizeof(desc)), -EFAULT);
    flt = iommu_test_pop_fault(f->mmu);
    assert_true(flt.rip_known);
    assert_int_equal(flt.rip, 0xffffffffc0001000ull);
    /* Just past the ring's end is not the ring's. */
    assert_int_equal(dma_read(&f->port, 0x210000, desc, sizeof(desc)), -EFAULT);
    assert_false(iommu_test_pop_fault(f->mmu).rip_known);
}

static void test_newest_note__wins_over_older_ones(void **state)
{
    Fix *f = *state;
    uint8_t b;
    int i;

    for (i = 0; i < 20; i++) { /* wraps the 16-note ring */
        assert_int_equal(iommu_note_address(f->mmu, RID, 0x5000, 0, 0x1000 + (uint64_t)i), 0);
    }
    assert_int_equal(dma_read(&f->port, 0x5000, &b, 1), -EFAULT);
    assert_int_equal(iommu_test_pop_fault(f->mmu).rip, 0x1000 + 19);
    assert_int_equal(iommu_note_address(f->mmu, 0x0100, 0x5000, 0, 1), -ENOENT);
}

static void test_stale_fault__also_names_the_instruction(void **state)
{
    IommuConfig cfg;
    Iommu *mmu;
    DmaPort port;
    uint8_t *ram = calloc(1, RAM_SIZE), b;
    IommuFault flt;

    (void)state;
    iommu_config_default(&cfg, ram, RAM_SIZE);
    cfg.mode = IOMMU_MODE_LAZY;
    assert_int_equal(iommu_new(&cfg, &mmu, NULL), 0);
    assert_int_equal(iommu_attach(mmu, RID, "e1000"), 0);
    dma_port_init(&port, mmu, RID, DMA_PORT_TRANSLATED);
    assert_int_equal(iommu_map(mmu, RID, 0x1000, 0x2000, IOMMU_PERM_WRITE), 0);
    assert_int_equal(iommu_note_address(mmu, RID, 0x1000, PG, 0xffffffffc0abcdefull), 0);
    assert_int_equal(dma_write(&port, 0x1000, "x", 1), 0);
    assert_int_equal(iommu_unmap(mmu, RID, 0x1000), 0);
    assert_int_equal(dma_write(&port, 0x1004, "y", 1), 0);
    assert_int_equal(iommu_fault_pop(mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_STALE_IOTLB);
    assert_int_equal(flt.iova, 0x1004);
    assert_int_equal(flt.rip, 0xffffffffc0abcdefull);
    b = ram[0x2004];
    assert_int_equal(b, 'y'); /* the access completed, as on hardware */
    iommu_free(mmu);
    free(ram);
}

static void test_full_queue__drops_new_records__and_counts_them(void **state)
{
    Fix *f = *state;
    uint8_t b;
    IommuStats s;
    IommuFault flt;
    int i;

    for (i = 0; i < FAULT_MAX + 3; i++) {
        assert_int_equal(dma_read(&f->port, 0x1000 * (uint64_t)(i + 1), &b, 1), -EFAULT);
    }
    assert_int_equal(iommu_fault_count(f->mmu), FAULT_MAX);
    iommu_stats(f->mmu, &s);
    assert_int_equal(s.faults_dropped, 3);
    assert_int_equal(s.faults[IOMMU_REASON_NOT_MAPPED], FAULT_MAX + 3);
    flt = iommu_test_pop_fault(f->mmu);
    assert_int_equal(flt.iova, 0x1000); /* the oldest are kept */
    /* Room again: the next fault is queued, with the next sequence number. */
    assert_int_equal(dma_read(&f->port, 0x99000, &b, 1), -EFAULT);
    assert_int_equal(iommu_fault_count(f->mmu), FAULT_MAX);
    for (i = 0; i < FAULT_MAX - 1; i++) {
        iommu_test_pop_fault(f->mmu);
    }
    flt = iommu_test_pop_fault(f->mmu);
    assert_int_equal(flt.iova, 0x99000);
    assert_int_equal(flt.seq, FAULT_MAX + 3);
}

static void test_hook__sees_each_fault__and_stop_sets_a_request(void **state)
{
    Fix *f = *state;
    HookLog h = {0};
    uint8_t b;

    iommu_set_fault_hook(f->mmu, hook_log, &h);
    h.answer = IOMMU_ACTION_ABORT;
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), -EFAULT);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.seen.iova, 0x1000);
    assert_false(iommu_take_stop_request(f->mmu));
    h.answer = IOMMU_ACTION_STOP;
    assert_int_equal(dma_read(&f->port, 0x2000, &b, 1), -EFAULT);
    assert_int_equal(h.calls, 2);
    assert_true(iommu_take_stop_request(f->mmu));
    assert_false(iommu_take_stop_request(f->mmu));
}

static IommuFault sample_fault(void)
{
    IommuFault flt;

    memset(&flt, 0, sizeof(flt));
    flt.seq = 7;
    flt.time_ns = 1500;
    flt.iova = 0xdead000;
    flt.len = 64;
    flt.rid = RID;
    flt.dir = IOMMU_DIR_WRITE;
    flt.reason = IOMMU_REASON_STALE_IOTLB;
    flt.rip_known = 1;
    flt.rip = 0xffffffffc0012345ull;
    flt.rip_value = 0xdead000;
    strcpy(flt.name, "rtl\"8139");
    return flt;
}

static void test_format__is_one_report_line_with_bracketed_facts(void **state)
{
    IommuFault flt = sample_fault();
    char line[512];
    int n;

    (void)state;
    n = iommu_fault_format(&flt, line, sizeof(line));
    assert_true(n > 0 && (size_t)n < sizeof(line));
    assert_non_null(strstr(line, "iommu: dma after unmap"));
    assert_int_equal(strncmp(line, "iommu: ", 7), 0);
    assert_non_null(strstr(line, "[rid=0x0018]"));
    assert_non_null(strstr(line, "[bdf=00:03.0]"));
    assert_non_null(strstr(line, "[iova=0xdead000]"));
    assert_non_null(strstr(line, "[len=64]"));
    assert_non_null(strstr(line, "[dir=write]"));
    assert_non_null(strstr(line, "[reason=stale-iotlb]"));
    assert_non_null(strstr(line, "[time=1500]"));
    assert_non_null(strstr(line, "[rip=0xffffffffc0012345]"));
    assert_null(strchr(line, '\n'));
}

static void test_format_json__carries_the_same_fields(void **state)
{
    IommuFault flt = sample_fault();
    char js[512];

    (void)state;
    iommu_fault_format_json(&flt, js, sizeof(js));
    assert_int_equal(js[0], '{');
    assert_int_equal(js[strlen(js) - 1], '}');
    assert_non_null(strstr(js, "\"rid\":\"0x0018\""));
    assert_non_null(strstr(js, "\"name\":\"rtl\\\"8139\""));
    assert_non_null(strstr(js, "\"iova\":\"0xdead000\""));
    assert_non_null(strstr(js, "\"len\":64"));
    assert_non_null(strstr(js, "\"dir\":\"write\""));
    assert_non_null(strstr(js, "\"reason\":\"stale-iotlb\""));
    assert_non_null(strstr(js, "\"time\":1500"));
    assert_non_null(strstr(js, "\"rip\":\"0xffffffffc0012345\""));
    flt.rip_known = 0;
    iommu_fault_format_json(&flt, js, sizeof(js));
    assert_non_null(strstr(js, "\"rip\":null"));
}

static void test_summary__prints_mappings_pins_and_faults_by_kind(void **state)
{
    Fix *f = *state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    uint8_t b;

    assert_int_equal(iommu_map_range(f->mmu, RID, 0x1000, 0x1000, 3 * PG, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), -EFAULT);
    assert_int_equal(dma_write(&f->port, 0x2000, &b, 1), -EACCES);
    iommu_print_summary(f->mmu, out);
    fclose(out);
    assert_non_null(strstr(text, "iommu: mappings [map_calls=1] [pages_mapped=3] [unmap_calls=1] "
                                 "[pages_unmapped=1]"));
    assert_non_null(strstr(text, "iommu: pins [now=2] [peak=3]"));
    assert_non_null(strstr(text, "[not-mapped=1]"));
    assert_non_null(strstr(text, "[permission=1]"));
    assert_non_null(strstr(text, "iommu: faults [total=2] [dropped=0]"));
    free(text);
}

static void test_reason_names__are_distinct_words(void **state)
{
    int a, b;

    (void)state;
    for (a = 0; a < IOMMU_REASON_COUNT; a++) {
        assert_non_null(iommu_reason_name((IommuReason)a));
        for (b = 0; b < a; b++) {
            assert_string_not_equal(iommu_reason_name((IommuReason)a),
                                    iommu_reason_name((IommuReason)b));
        }
    }
    assert_string_equal(iommu_reason_name(IOMMU_REASON_COUNT), "unknown");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fix_setup, iommu_test_fix_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fault__carries_device_iova_len_dir_reason_time),
        T(test_fault__in_the_page_of_a_noted_address__names_the_instruction),
        T(test_fault__inside_a_noted_ring__names_the_instruction),
        T(test_newest_note__wins_over_older_ones),
        cmocka_unit_test(test_stale_fault__also_names_the_instruction),
        T(test_full_queue__drops_new_records__and_counts_them),
        T(test_hook__sees_each_fault__and_stop_sets_a_request),
        cmocka_unit_test(test_format__is_one_report_line_with_bracketed_facts),
        cmocka_unit_test(test_format_json__carries_the_same_fields),
        T(test_summary__prints_mappings_pins_and_faults_by_kind),
        cmocka_unit_test(test_reason_names__are_distinct_words),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
