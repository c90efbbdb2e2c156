/*
 * tests/test_emu_dma_device.c: the DMA-API checks Linux's dma-debug cannot
 * make, on the real machine -- `--device cdma` on 00:02.0 behind the
 * software IOMMU, the emulated kernel, the vCPU -- driven by
 * tests/modules/dma_device.c, a PCI driver for the toy DMA engine:
 *
 *   - the device using an IOVA after the driver unmapped it: a strict
 *     IOMMU faults it (the engine sees a master abort), a lazy one lets it
 *     complete through the stale IOTLB entry and records that; both times
 *     the DMA-API checker reports it;
 *   - the device writing a mapping the driver made DMA_TO_DEVICE: a
 *     permission fault, a master abort and a report;
 *   - the CPU storing to a streaming buffer while the device owns it:
 *     reported (naming the storing instruction) after the map and after
 *     sync_for_device, not after sync_for_cpu or the unmap;
 *   - a clean run: no report, no fault, nothing pinned at the end.
 *
 * What is asserted on is what the driver printed (the engine's STATUS as
 * it read it back), the kernel's log lines and the --report JSON.
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

#include "emu/machine.h"
#include "kernel-guest/btf_layout.h"
#include "kernel-guest/kmem.h"
#include "tests/support.h"

#define TEST_PREFIX "DMA-API: dma_device 0000:00:02.0: "
#define TEST_LEN 256             /* bytes each of the module's DMAs moves */
#define TEST_STATUS_DONE 0x1u
#define TEST_STATUS_MASTER_ABORT 0x2u
#define TEST_FN_SPAN 0x400       /* bytes: bound on the module function's size */

/* dma_device.c's modes */
enum {
    DMAD_CLEAN, DMAD_AFTER_UNMAP, DMAD_WRITE_TO_DEVICE, DMAD_CPU_STORE,
};

typedef struct TestRun {
    Machine *m;
    FILE *out;                   /* the kernel's log */
    char *log;
    size_t loglen;
    char *json;                  /* machine_write_report */
    size_t jsonlen;
    char *summary;               /* machine_summary */
    size_t summarylen;
} TestRun;

static int setup(void **state)
{
    TestRun *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    TestRun *r = *state;

    machine_free(r->m);
    if (r->out) {
        fclose(r->out);
    }
    free(r->log);
    free(r->json);
    free(r->summary);
    free(r);
    return 0;
}

/* What the run printed, for a failing test's output (print_message would
 * cut it short). */
static void test_dump(const TestRun *r)
{
    fprintf(stderr, "--- log\n%s--- report\n%s--- summary\n%s", r->log ? r->log : "",
            r->json ? r->json : "", r->summary ? r->summary : "");
}

/* offsetof(struct pci_dev, dev) from the kernel's BTF: the module's
 * devoff parameter. */
static long test_devoff(void)
{
    BtfLayout *b;
    SlError e = {0};
    long off;

    if (btf_layout_open(test_kimage()->vmlinux, &b, &e) != 0) {
        fail_msg("BTF: %s", e.msg);
    }
    off = btf_layout_offsetof(b, "pci_dev", "dev");
    btf_layout_close(b);
    assert_true(off > 0);
    return off;
}

/* A machine with cdma on 00:02.0 and the IOMMU in iommu_mode runs
 * dma_device.ko in mode: load, init (probe), exit (remove); then the
 * report and the summary are taken. */
static void test_run(TestRun *r, int mode, const char *iommu_mode)
{
    MachineConfig cfg = {.image = test_kimage(), .device = "cdma", .iommu_mode = iommu_mode};
    SlError e = {0};
    char p_mode[32], p_off[48];
    const char *params[2] = {p_mode, p_off};
    FILE *json, *summary;
    int rc;

    r->out = open_memstream(&r->log, &r->loglen);
    assert_non_null(r->out);
    cfg.out = r->out;
    snprintf(p_mode, sizeof(p_mode), "mode=%d", mode);
    snprintf(p_off, sizeof(p_off), "devoff=%ld", test_devoff());
    if (machine_new(&cfg, &r->m, &e) != 0) {
        fail_msg("machine_new: %s", e.msg);
    }
    rc = machine_load_driver(r->m, test_module_path("dma_device"), params, 2, &e);
    if (rc != 1) {
        fail_msg("load dma_device: %d %s", rc, e.msg);
    }
    rc = machine_init_modules(r->m);
    if (rc != 0 || machine_guest_stopped(r->m)) {
        machine_report(r->m, stderr);
        fflush(r->out);
        test_dump(r);
        fail_msg("dma_device mode %d: init returned %d", mode, rc);
    }
    rc = machine_exit_modules(r->m);
    if (rc != 0 || machine_guest_stopped(r->m)) {
        machine_report(r->m, stderr);
        fflush(r->out);
        test_dump(r);
        fail_msg("dma_device mode %d: exit returned %d", mode, rc);
    }
    json = open_memstream(&r->json, &r->jsonlen);
    assert_non_null(json);
    assert_int_equal(machine_write_report(r->m, json, "dma_device"), 0);
    fclose(json);
    summary = open_memstream(&r->summary, &r->summarylen);
    assert_non_null(summary);
    machine_summary(r->m, summary);
    fclose(summary);
    fflush(r->out);
}

static unsigned test_count(const char *hay, const char *needle)
{
    unsigned n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

/* Where the first log line starting with prefix begins; fails if none. */
static const char *test_find_line(const TestRun *r, const char *prefix)
{
    for (const char *p = r->log; p && *p;) {
        const char *end = strchr(p, '\n');

        if (!strncmp(p, prefix, strlen(prefix))) {
            return p;
        }
        p = end ? end + 1 : NULL;
    }
    test_dump(r);
    fail_msg("no log line starts with \"%s\"", prefix);
    return NULL;
}

static void test_copy_line(const char *p, char *line, size_t cap)
{
    const char *end = strchr(p, '\n');

    snprintf(line, cap, "%.*s", (int)(end ? (size_t)(end - p) : strlen(p)), p);
}

/* The first log line that starts with prefix. */
static void test_line(const TestRun *r, const char *prefix, char *line, size_t cap)
{
    test_copy_line(test_find_line(r, prefix), line, cap);
}

/* The log line right after the first one that starts with prefix ("" if
 * that one is the last). */
static void test_next_line(const TestRun *r, const char *prefix, char *line, size_t cap)
{
    const char *p = strchr(test_find_line(r, prefix), '\n');

    test_copy_line(p ? p + 1 : "", line, cap);
}

/* The hex string value of "key":"0x..." in the first JSON record holding
 * marker. */
static uint64_t test_json_hex(const TestRun *r, const char *marker, const char *key)
{
    const char *rec = strstr(r->json, marker), *p, *end;
    char k[64];

    if (!rec) {
        test_dump(r);
        fail_msg("no JSON record with %s", marker);
    }
    while (rec > r->json && rec[-1] != '{') {
        rec--;
    }
    end = strchr(rec, '}');
    snprintf(k, sizeof(k), "\"%s\":\"0x", key);
    p = strstr(rec, k);
    if (!p || (end && p > end)) {
        test_dump(r);
        fail_msg("the JSON record with %s has no %s", marker, key);
    }
    return strtoull(p + strlen(k), NULL, 16);
}

/* The log has want as one whole line, once. */
static void test_expect_log_line(const TestRun *r, const char *want)
{
    char line[600];

    snprintf(line, sizeof(line), "%s\n", want);
    if (test_count(r->log, line) != 1) {
        test_dump(r);
        fail_msg("want the log line \"%s\"", want);
    }
}

/* The run's JSON summary counts. */
static void test_expect_summary(const TestRun *r, unsigned faults, unsigned reports)
{
    char want[128];

    snprintf(want, sizeof(want), "\"pins_now\":0,");
    if (!strstr(r->json, want)) {
        test_dump(r);
        fail_msg("pages still pinned at the end: want %s", want);
    }
    snprintf(want, sizeof(want), "\"iommu_faults\":%u,\"dma_api_reports\":%u}", faults, reports);
    if (!strstr(r->json, want)) {
        test_dump(r);
        fail_msg("want %s", want);
    }
    if (!strstr(r->json, "\"probes\":1,\"removes\":1,")) {
        test_dump(r);
        fail_msg("want one probe and one remove");
    }
    if (test_count(r->log, "DMA-API: ") != reports) {
        test_dump(r);
        fail_msg("want %u DMA-API lines in the log", reports);
    }
}

static void test_dma_device__module_structs__match_the_kernel_btf(void **state)
{
    BtfLayout *b;
    SlError e = {0};

    (void)state;
    if (btf_layout_open(test_kimage()->vmlinux, &b, &e) != 0) {
        fail_msg("BTF: %s", e.msg);
    }
    assert_int_equal(btf_layout_sizeof(b, "pci_device_id"), 40);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "vendor"), 0);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "device"), 4);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "subvendor"), 8);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "subdevice"), 12);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "class"), 16);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "class_mask"), 20);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "driver_data"), 24);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "override_only"), 32);
    assert_int_equal(btf_layout_offsetof(b, "pci_driver", "node"), 0);
    assert_int_equal(btf_layout_offsetof(b, "pci_driver", "name"), 16);
    assert_int_equal(btf_layout_offsetof(b, "pci_driver", "id_table"), 24);
    assert_int_equal(btf_layout_offsetof(b, "pci_driver", "probe"), 32);
    assert_int_equal(btf_layout_offsetof(b, "pci_driver", "remove"), 40);
    assert_true(btf_layout_sizeof(b, "pci_driver") <= 512);
    assert_int_equal(btf_layout_sizeof(b, "page"), 64);   /* the inline virt_to_page */
    assert_true(btf_layout_offsetof(b, "pci_dev", "dev") > 0);
    btf_layout_close(b);
}

static void test_dma_device__clean_run__no_reports_no_faults_no_pins(const TestRun *r)
{
    char line[512];

    test_line(r, "dma_device: clean:", line, sizeof(line));
    if (strcmp(line, "dma_device: clean: copy status=0x1 copied=1 fill status=0x1 filled=1 "
                     "coherent status=0x1 filled=1") != 0) {
        test_dump(r);
        fail_msg("the engine did not move the data: %s", line);
    }
    test_line(r, "dma_device: probe mode 0: 0", line, sizeof(line));
    test_expect_summary(r, 0, 0);
    if (!strstr(r->summary, "nothing left behind") || !strstr(r->summary, "[now=0]")) {
        test_dump(r);
        fail_msg("the clean run left something behind");
    }
}

static void test_dma_device__clean_run_strict__no_reports_no_faults_no_pins(void **state)
{
    TestRun *r = *state;

    test_run(r, DMAD_CLEAN, "strict");
    test_dma_device__clean_run__no_reports_no_faults_no_pins(r);
}

static void test_dma_device__clean_run_lazy__no_reports_no_faults_no_pins(void **state)
{
    TestRun *r = *state;

    test_run(r, DMAD_CLEAN, "lazy");
    test_dma_device__clean_run__no_reports_no_faults_no_pins(r);
}

/* After-unmap: the engine's second READ ends with second_status, the IOMMU
 * records reason, and the checker names the unmapped IOVA and the unmap. */
static void test_after_unmap(TestRun *r, const char *iommu_mode, unsigned second_status,
                             const char *reason)
{
    unsigned long long iova, fn, unmapped_by;
    unsigned first, second;
    char line[512], want[512], fault[512];

    test_run(r, DMAD_AFTER_UNMAP, iommu_mode);
    test_line(r, "dma_device: after-unmap:", line, sizeof(line));
    if (sscanf(line, "dma_device: after-unmap: iova=0x%llx first status=0x%x second status=0x%x "
                     "unmapper=0x%llx", &iova, &first, &second, &fn) != 4) {
        fail_msg("cannot read \"%s\"", line);
    }
    assert_int_equal(first, TEST_STATUS_DONE);
    if (second != second_status) {
        test_dump(r);
        fail_msg("%s: the second READ ended with STATUS 0x%x, want 0x%x", iommu_mode, second,
                 second_status);
    }
    /* The IOMMU's record of the access. */
    snprintf(fault, sizeof(fault), "\"iova\":\"0x%llx\",\"len\":%u,\"dir\":\"read\",\"reason\":\"%s\"",
             iova, TEST_LEN, reason);
    if (test_count(r->json, fault) != 1) {
        test_dump(r);
        fail_msg("want one IOMMU fault record with %s", fault);
    }
    /* The checker's: the text, and the unmap it blames lies in the
     * module's function that made it. */
    unmapped_by = test_json_hex(r, "\"error\":\"device-after-unmap\"", "unmapped_by");
    snprintf(want, sizeof(want), TEST_PREFIX "device accessed DMA memory after the driver "
             "unmapped it [device address=0x%016llx] [size=%u bytes] [was mapped with "
             "DMA_TO_DEVICE] [unmapped by 0x%016llx]", iova, TEST_LEN, unmapped_by);
    test_expect_log_line(r, want);
    if (unmapped_by < fn || unmapped_by >= fn + TEST_FN_SPAN) {
        test_dump(r);
        fail_msg("the unmap is blamed on 0x%llx, not on dmad_after_unmap (0x%llx)", unmapped_by,
                 fn);
    }
    test_expect_summary(r, 1, 1);
}

static void test_dma_device__strict__device_after_unmap__faults_and_is_reported(void **state)
{
    test_after_unmap(*state, "strict", TEST_STATUS_MASTER_ABORT, "not-mapped");
}

static void test_dma_device__lazy__device_after_unmap__completes_stale_and_is_reported(void **state)
{
    test_after_unmap(*state, "lazy", TEST_STATUS_DONE, "stale-iotlb");
}

static void test_dma_device__device_writes_to_device_mapping__faults_and_is_reported(void **state)
{
    TestRun *r = *state;
    unsigned long long iova;
    unsigned wrote, read;
    int intact;
    char line[512], want[512], fault[512];

    test_run(r, DMAD_WRITE_TO_DEVICE, "strict");
    test_line(r, "dma_device: write-to-device:", line, sizeof(line));
    if (sscanf(line, "dma_device: write-to-device: iova=0x%llx write status=0x%x "
                     "read status=0x%x intact=%d", &iova, &wrote, &read, &intact) != 4) {
        fail_msg("cannot read \"%s\"", line);
    }
    if (wrote != TEST_STATUS_MASTER_ABORT || read != TEST_STATUS_DONE || intact != 1) {
        test_dump(r);
        fail_msg("want the write aborted and the buffer intact, the read done: %s", line);
    }
    snprintf(fault, sizeof(fault), "\"iova\":\"0x%llx\",\"len\":%u,\"dir\":\"write\","
             "\"reason\":\"permission\"", iova, TEST_LEN);
    if (test_count(r->json, fault) != 1) {
        test_dump(r);
        fail_msg("want one IOMMU fault record with %s", fault);
    }
    snprintf(want, sizeof(want), TEST_PREFIX "device wrote DMA memory mapped DMA_TO_DEVICE "
             "[device address=0x%016llx] [size=%u bytes]", iova, TEST_LEN);
    test_expect_log_line(r, want);
    assert_int_equal(test_count(r->json, "\"error\":\"device-wrote-to-device\""), 1);
    test_expect_summary(r, 1, 1);
}

static void test_dma_device__cpu_store_while_device_owns__reported_until_sync_for_cpu(void **state)
{
    TestRun *r = *state;
    unsigned long long buf, iova, site, json_site;
    char line[512], want[512], sym[256];

    test_run(r, DMAD_CPU_STORE, "strict");
    test_line(r, "dma_device: cpu-store: buffer=", line, sizeof(line));
    if (sscanf(line, "dma_device: cpu-store: buffer=0x%llx iova=0x%llx", &buf, &iova) != 2) {
        fail_msg("cannot read \"%s\"", line);
    }
    test_line(r, "dma_device: cpu-store: done, store instruction ", line, sizeof(line));
    if (sscanf(line, "dma_device: cpu-store: done, store instruction 0x%llx %255s", &site,
               sym) != 2) {
        fail_msg("cannot read \"%s\"", line);
    }
    /* The kernel symbolizes the storing instruction (%pS) in the module. */
    if (strncmp(sym, "dmad_store+0x", 13) != 0 || !strstr(line, " [dma_device]")) {
        test_dump(r);
        fail_msg("the store is not symbolized in dma_device: %s", line);
    }
    /* After the map: the device owns the buffer, the store is reported. */
    test_next_line(r, "dma_device: cpu-store: step 1,", line, sizeof(line));
    snprintf(want, sizeof(want), TEST_PREFIX "CPU wrote a streaming DMA buffer the device owns "
             "[device address=0x%016llx] [cpu address=0x%016llx] [size=1 bytes]",
             iova + 8, buf + 8 - KMEM_PAGE_OFFSET);
    if (strcmp(line, want) != 0) {
        test_dump(r);
        fail_msg("after the map, want \"%s\", got \"%s\"", want, line);
    }
    /* After sync_for_cpu: the CPU owns it, nothing to report. */
    test_next_line(r, "dma_device: cpu-store: step 2,", line, sizeof(line));
    if (strncmp(line, "dma_device: cpu-store: step 3,", 30) != 0) {
        test_dump(r);
        fail_msg("after sync_for_cpu the store was reported: %s", line);
    }
    /* After sync_for_device: the device owns it again. */
    test_next_line(r, "dma_device: cpu-store: step 3,", line, sizeof(line));
    snprintf(want, sizeof(want), TEST_PREFIX "CPU wrote a streaming DMA buffer the device owns "
             "[device address=0x%016llx] [cpu address=0x%016llx] [size=1 bytes]",
             iova + 16, buf + 16 - KMEM_PAGE_OFFSET);
    if (strcmp(line, want) != 0) {
        test_dump(r);
        fail_msg("after sync_for_device, want \"%s\", got \"%s\"", want, line);
    }
    /* After the unmap: the CPU's again. */
    test_next_line(r, "dma_device: cpu-store: step 4,", line, sizeof(line));
    if (strncmp(line, "dma_device: cpu-store: done,", 28) != 0) {
        test_dump(r);
        fail_msg("after the unmap the store was reported: %s", line);
    }
    /* Both JSON records name the storing instruction. */
    assert_int_equal(test_count(r->json, "\"error\":\"cpu-wrote-device-owned\""), 2);
    json_site = test_json_hex(r, "\"error\":\"cpu-wrote-device-owned\"", "site");
    snprintf(want, sizeof(want), "\"site\":\"0x%016llx\"", site);
    if (json_site != site || test_count(r->json, want) != 2) {
        test_dump(r);
        fail_msg("the reports name 0x%llx, the store is at 0x%llx", json_site, site);
    }
    test_expect_summary(r, 0, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dma_device__module_structs__match_the_kernel_btf,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_device__clean_run_strict__no_reports_no_faults_no_pins,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_device__clean_run_lazy__no_reports_no_faults_no_pins,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_device__strict__device_after_unmap__faults_and_is_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_device__lazy__device_after_unmap__completes_stale_and_is_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_device__device_writes_to_device_mapping__faults_and_is_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_device__cpu_store_while_device_owns__reported_until_sync_for_cpu,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
