/*
 * tests/test_kernel_dma_api.c: the DMA API as a driver sees it, on the
 * software IOMMU, with the DMA-API checks.
 *
 * The kernel has no machine here: its config-space hook emulates one PCI
 * function (tests/kernel_test_pci.h: 1234:d3a0 at devfn 0x10, no BARs), so
 * the PCI core creates a pci_dev and probes tests/modules/dma_api.c against
 * it.  The module does
 * one thing per `mode` in probe (a clean run, or one misuse) and the test
 * checks the report Linux's CONFIG_DMA_API_DEBUG would print -- as a log
 * line and as a JSON record -- and what is left in the IOMMU.
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

#include "kernel-guest/kernel_internal.h"
#include "kernel-guest/kvmemmap.h"
#include "tests/kernel_test_pci.h"
#include "tests/support.h"

#define TEST_DEVFN KERNEL_TEST_DEVFN
#define TEST_DEVICE KERNEL_TEST_DEVICE
#define TEST_MIB (1ull << 20)

/* dma_api.c's modes */
enum {
    DMAT_CLEAN, DMAT_NOT_ALLOCATED, DMAT_INVALID_ADDR, DMAT_WRONG_SIZE, DMAT_WRONG_DIR,
    DMAT_WRONG_FUNCTION, DMAT_UNCHECKED, DMAT_STACK, DMAT_SYNC_NOT_MAPPED,
    DMAT_SYNC_OUTSIDE, DMAT_SYNC_WRONG_DIR, DMAT_SG_NENTS, DMAT_LEAK, DMAT_MASK24,
    DMAT_PIN_BOUND, DMAT_VMEMMAP, DMAT_REUSE,
};

typedef struct TestFx {
    Kernel *k;
    Iommu *mmu;
    int mod;
    uint64_t pages_at_load;      /* guest frames in use before module init */
    KernelTestHost host;         /* the fake function, the log */
    char json[16384];
} TestFx;

static KernelExportKind test_export_kind(void *opaque, const char *name, uint32_t *crc)
{
    return KERNEL_EXPORT_NONE;
}

static uint64_t test_pages_used(const TestFx *f);
static void test_expect_no_reports(TestFx *f);

/* A kernel with the fake function on an IOMMU (pin bound in pages, 0 for
 * none), and dma_api.ko loaded in mode; probe has run. */
static void test_start(TestFx *f, int mode, IommuMode imode, uint64_t pin_bound)
{
    KernelConfig cfg = {.btf_path = test_kimage()->vmlinux};
    KernelHostOps ops = kernel_test_host_ops(&f->host);
    SlError e = {{0}};
    char p_mode[32], p_off[48];
    const char *params[2] = {p_mode, p_off};

    ops.export_kind = test_export_kind;
    kernel_test_boot(&cfg, &ops, imode, pin_bound, &f->k, &f->mmu);
    snprintf(p_mode, sizeof(p_mode), "mode=%d", mode);
    kernel_test_devoff_param(f->k, p_off, sizeof(p_off));
    f->mod = kernel_load_module(f->k, test_module_path("dma_api"), params, 2, &e);
    if (f->mod < 0) {
        fail_msg("load dma_api: %s", e.msg);
    }
    f->pages_at_load = test_pages_used(f);
    if (kernel_init_module(f->k, f->mod) != 0) {
        char report[8192] = "";
        FILE *out = fmemopen(report, sizeof(report) - 1, "w");

        kernel_report_print(f->k, out);
        fclose(out);
        fail_msg("dma_api mode %d: init failed\n%s", mode, report);
    }
    assert_int_equal(f->k->pci_devices[0].driver, 0);
}

static uint64_t test_pages_used(const TestFx *f)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < f->k->mem.npages; i++) {
        n += f->k->mem.store->frame_owner[i] != PK_FRAME_FREE;
    }
    return n;
}

static uint64_t test_u64(TestFx *f, const char *sym, unsigned idx)
{
    uint64_t va = ko_symbol_va(f->k->modules[f->mod], sym), v = 0;

    if (!va) {
        fail_msg("dma_api.ko has no symbol %s", sym);
    }
    assert_int_equal(vcpu_read(kernel_vcpu(f->k), va + 8ull * idx, &v, 8), 0);
    return v;
}

static int32_t test_i32(TestFx *f, const char *sym, unsigned idx)
{
    uint64_t va = ko_symbol_va(f->k->modules[f->mod], sym);
    int32_t v = 0;

    if (!va) {
        fail_msg("dma_api.ko has no symbol %s", sym);
    }
    assert_int_equal(vcpu_read(kernel_vcpu(f->k), va + 4ull * idx, &v, 4), 0);
    return v;
}

/* Module exit: pci_unregister_driver runs remove (and the leak check). */
static void test_stop(TestFx *f)
{
    FILE *out = fmemopen(f->json, sizeof(f->json) - 1, "w");

    assert_int_equal(kernel_exit_module(f->k, f->mod), 0);
    assert_false(kernel_dead(f->k));
    assert_non_null(out);
    assert_int_equal(kernel_dma_reports_json(f->k, out), 0);
    fclose(out);
}

static unsigned test_count_log(const TestFx *f, const char *needle)
{
    unsigned n = 0;

    for (unsigned i = 0; i < f->host.nlog; i++) {
        n += strstr(f->host.log[i], needle) != NULL;
    }
    return n;
}

static void test_dump(const TestFx *f)
{
    kernel_test_dump_log(&f->host);
    print_message("  json: %s\n", f->json);
}

/* The run made exactly one report, of error, whose line contains text
 * and whose JSON record names the error, driver and device. */
static void test_expect_one(TestFx *f, DmaDbgError error, const char *text)
{
    char want[512], jerr[64];
    KernelStats s;

    snprintf(want, sizeof(want), "3 DMA-API: dma_api " TEST_DEVICE ": %s", text);
    snprintf(jerr, sizeof(jerr), "\"%s\"", dma_debug_error_name(error));
    kernel_stats(f->k, &s);
    if (s.dma_api_reports != 1 || test_count_log(f, want) != 1 || !strstr(f->json, jerr) ||
        !strstr(f->json, "\"dma_api\"") || !strstr(f->json, "\"" TEST_DEVICE "\"") ||
        strchr(f->json, '\n') != f->json + strlen(f->json) - 1) {
        test_dump(f);
        fail_msg("want one report %s: \"%s\" (got %u)", jerr, want, s.dma_api_reports);
    }
}

/* The run made no report: every mapping error was checked (two maps in a
 * row, their results kept in globals and tested after both calls). */
static void test_expect_no_reports(TestFx *f)
{
    KernelStats s;

    kernel_stats(f->k, &s);
    if (s.dma_api_reports || f->json[0]) {
        test_dump(f);
        fail_msg("want no DMA-API report, got %u", s.dma_api_reports);
    }
}

static void test_finish(TestFx *f)
{
    kernel_free(f->k);
    iommu_free(f->mmu);
    f->k = NULL;
    f->mmu = NULL;
}

static int setup(void **state)
{
    TestFx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    TestFx *f = *state;

    test_finish(f);
    free(f);
    return 0;
}

/* Runs mode to the end and expects one report. */
static void test_misuse(void **state, int mode, DmaDbgError error, const char *text)
{
    TestFx *f = *state;

    test_start(f, mode, IOMMU_MODE_STRICT, 0);
    assert_int_equal(test_i32(f, "result", 0), 0);
    test_stop(f);
    test_expect_one(f, error, text);
    assert_int_equal(iommu_pins(f->mmu), 0);
}

static void test_dma_api__module_structs__match_the_kernel_btf(void **state)
{
    TestFx *f = *state;
    BtfLayout *b;

    test_start(f, DMAT_NOT_ALLOCATED, IOMMU_MODE_STRICT, 0);
    b = f->k->btf;
    assert_int_equal(btf_layout_sizeof(b, "pci_device_id"), 40);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "class_mask"), 20);
    assert_int_equal(btf_layout_offsetof(b, "pci_device_id", "driver_data"), 24);
    assert_int_equal(btf_layout_offsetof(b, "pci_driver", "name"), 16);
    assert_int_equal(btf_layout_offsetof(b, "pci_driver", "id_table"), 24);
    assert_int_equal(btf_layout_offsetof(b, "pci_driver", "probe"), 32);
    assert_int_equal(btf_layout_offsetof(b, "pci_driver", "remove"), 40);
    assert_true(btf_layout_sizeof(b, "pci_driver") <= 512);
    assert_int_equal(btf_layout_sizeof(b, "scatterlist"), 32);
    assert_int_equal(btf_layout_offsetof(b, "scatterlist", "offset"), 8);
    assert_int_equal(btf_layout_offsetof(b, "scatterlist", "length"), 12);
    assert_int_equal(btf_layout_offsetof(b, "scatterlist", "dma_address"), 16);
    assert_int_equal(btf_layout_offsetof(b, "scatterlist", "dma_length"), 24);
    assert_int_equal(btf_layout_sizeof(b, "page"), 64);
    assert_int_equal(btf_layout_offsetof(b, "page", "_refcount"), 0x34);
    test_stop(f);
}

static void test_dma_api__clean_driver__no_reports_and_no_pins(void **state)
{
    TestFx *f = *state;
    KernelStats s;
    uint64_t phys;
    unsigned perms;

    test_start(f, DMAT_CLEAN, IOMMU_MODE_STRICT, 0);
    assert_int_equal(test_i32(f, "result", 0), 0);
    assert_int_equal(test_u64(f, "nhandles", 0), 6);
    for (unsigned i = 0; i < 6; i++) {
        uint64_t h = test_u64(f, "handles", i);

        assert_int_not_equal(h, 0);
        assert_true(h < (1ull << 32));     /* SAC first, then the mask */
        assert_int_equal(iommu_lookup(f->mmu, TEST_DEVFN, h, &phys, &perms), 0);
    }
    /* sg entries are mapped FROM_DEVICE: the device may write only. */
    assert_int_equal(iommu_lookup(f->mmu, TEST_DEVFN, test_u64(f, "handles", 3), &phys, &perms), 0);
    assert_int_equal(perms, IOMMU_PERM_WRITE);
    assert_int_equal(iommu_lookup(f->mmu, TEST_DEVFN, test_u64(f, "handles", 0), &phys, &perms), 0);
    assert_int_equal(perms, IOMMU_PERM_READ);
    kernel_stats(f->k, &s);
    assert_int_equal(s.coherent_live, 2);      /* the buffer and one pool page */
    assert_true(iommu_pins(f->mmu) > 0);
    test_stop(f);
    kernel_stats(f->k, &s);
    if (s.dma_api_reports) {
        test_dump(f);
    }
    assert_int_equal(s.dma_api_reports, 0);
    assert_int_equal(s.coherent_live, 0);
    assert_int_equal(f->json[0], 0);
    assert_int_equal(iommu_pins(f->mmu), 0);
    assert_int_equal(f->k->dma.nmaps, 0);
}

static void test_dma_api__lazy_iommu__coherent_frames_freed_after_the_flush(void **state)
{
    TestFx *f = *state;
    uint64_t used;

    test_start(f, DMAT_CLEAN, IOMMU_MODE_LAZY, 0);
    assert_int_equal(test_i32(f, "result", 0), 0);
    test_stop(f);
    test_expect_no_reports(f);
    /* Unmapped, but the deferred invalidations still pin the frames: the
     * IOVAs and the coherent frames are held back. */
    assert_true(iommu_flush_pending(f->mmu) > 0);
    assert_true(f->k->dma.nmaps > 0);
    used = test_pages_used(f);
    iommu_flush(f->mmu);
    assert_int_equal(iommu_pins(f->mmu), 0);
    kdma_reap(f->k);
    assert_int_equal(f->k->dma.nmaps, 0);
    /* 8 KiB buffer + one pool page, and the 3 pages of the module's own
     * buf: the module was unloaded while lazily unmapped streaming
     * mappings still pinned them, so they were freed at the last unpin
     * (seed 001), not when the image went. */
    assert_int_equal(test_pages_used(f), used - 3 - 3);
}

static void test_dma_api__unmap_never_mapped__reports_not_allocated(void **state)
{
    test_misuse(state, DMAT_NOT_ALLOCATED, DMA_DBG_FREE_NOT_ALLOCATED,
                "device driver tries to free DMA memory it has not allocated "
                "[device address=0x0000000012345000] [size=64 bytes]");
}

static void test_dma_api__unmap_of_mapping_error__reports_invalid_address(void **state)
{
    test_misuse(state, DMAT_INVALID_ADDR, DMA_DBG_FREE_INVALID_ADDR,
                "device driver tries to free an invalid DMA memory address");
}

static void test_dma_api__unmap_with_other_size__reports_different_size(void **state)
{
    TestFx *f = *state;
    char text[256];

    test_start(f, DMAT_WRONG_SIZE, IOMMU_MODE_STRICT, 0);
    snprintf(text, sizeof(text), "device driver frees DMA memory with different size "
             "[device address=0x%016llx] [map size=256 bytes] [unmap size=128 bytes]",
             (unsigned long long)test_u64(f, "handles", 0));
    test_stop(f);
    test_expect_one(f, DMA_DBG_FREE_WRONG_SIZE, text);
    assert_int_equal(iommu_pins(f->mmu), 0);
}

static void test_dma_api__unmap_with_other_direction__reports_different_direction(void **state)
{
    TestFx *f = *state;
    char text[256];

    test_start(f, DMAT_WRONG_DIR, IOMMU_MODE_STRICT, 0);
    snprintf(text, sizeof(text), "device driver frees DMA memory with different direction "
             "[device address=0x%016llx] [size=256 bytes] [mapped with DMA_TO_DEVICE] "
             "[unmapped with DMA_FROM_DEVICE]", (unsigned long long)test_u64(f, "handles", 0));
    test_stop(f);
    test_expect_one(f, DMA_DBG_FREE_WRONG_DIR, text);
}

static void test_dma_api__free_coherent_of_single_mapping__reports_wrong_function(void **state)
{
    TestFx *f = *state;
    char text[256];

    test_start(f, DMAT_WRONG_FUNCTION, IOMMU_MODE_STRICT, 0);
    snprintf(text, sizeof(text), "device driver frees DMA memory with wrong function "
             "[device address=0x%016llx] [size=256 bytes] [mapped as single] "
             "[unmapped as coherent]", (unsigned long long)test_u64(f, "handles", 0));
    test_stop(f);
    test_expect_one(f, DMA_DBG_FREE_WRONG_TYPE, text);
    assert_int_equal(iommu_pins(f->mmu), 0);
}

static void test_dma_api__mapping_error_not_checked__reports_at_unmap(void **state)
{
    TestFx *f = *state;
    char text[256];

    test_start(f, DMAT_UNCHECKED, IOMMU_MODE_STRICT, 0);
    snprintf(text, sizeof(text), "device driver failed to check map error"
             "[device address=0x%016llx] [size=256 bytes] [mapped as single]",
             (unsigned long long)test_u64(f, "handles", 0));
    test_stop(f);
    test_expect_one(f, DMA_DBG_MAP_ERROR_UNCHECKED, text);
}

static void test_dma_api__stack_buffer__reports_stack_mapping(void **state)
{
    TestFx *f = *state;
    char text[256];
    uint64_t addr;

    test_start(f, DMAT_STACK, IOMMU_MODE_STRICT, 0);
    addr = test_u64(f, "bufs", 0);
    assert_true(addr < f->k->stack_top && addr >= f->k->stack_top - (32u << 10));
    snprintf(text, sizeof(text), "device driver maps memory from stack [addr=0x%016llx]",
             (unsigned long long)addr);
    test_stop(f);
    test_expect_one(f, DMA_DBG_MAP_STACK, text);
    assert_int_equal(iommu_pins(f->mmu), 0);
}

static void test_dma_api__sync_of_unmapped_address__reports_not_allocated(void **state)
{
    test_misuse(state, DMAT_SYNC_NOT_MAPPED, DMA_DBG_SYNC_NOT_MAPPED,
                "device driver tries to sync DMA memory it has not allocated "
                "[device address=0x0000000000005000] [size=16 bytes]");
}

static void test_dma_api__sync_past_the_mapping__reports_outside(void **state)
{
    TestFx *f = *state;
    char text[256];

    test_start(f, DMAT_SYNC_OUTSIDE, IOMMU_MODE_STRICT, 0);
    snprintf(text, sizeof(text), "device driver syncs DMA memory outside allocated range "
             "[device address=0x%016llx] [allocation size=256 bytes] [sync offset+size=384]",
             (unsigned long long)test_u64(f, "handles", 0));
    test_stop(f);
    test_expect_one(f, DMA_DBG_SYNC_OUTSIDE, text);
}

static void test_dma_api__sync_with_other_direction__reports_different_direction(void **state)
{
    TestFx *f = *state;
    char text[256];

    test_start(f, DMAT_SYNC_WRONG_DIR, IOMMU_MODE_STRICT, 0);
    snprintf(text, sizeof(text), "device driver syncs DMA memory with different direction "
             "[device address=0x%016llx] [size=256 bytes] [mapped with DMA_TO_DEVICE] "
             "[synced with DMA_FROM_DEVICE]", (unsigned long long)test_u64(f, "handles", 0));
    test_stop(f);
    test_expect_one(f, DMA_DBG_SYNC_WRONG_DIR, text);
}

static void test_dma_api__unmap_sg_with_other_count__reports_entry_count(void **state)
{
    TestFx *f = *state;
    unsigned n;

    test_start(f, DMAT_SG_NENTS, IOMMU_MODE_STRICT, 0);
    assert_int_equal(test_i32(f, "result", 0), 0);
    test_stop(f);
    /* Linux checks each of the entries it unmaps: one report each. */
    n = test_count_log(f, "3 DMA-API: dma_api " TEST_DEVICE ": device driver frees DMA sg list "
                          "with different entry count [map count=3] [unmap count=4]");
    if (n != 3 || !strstr(f->json, "\"sg-wrong-nents\"")) {
        test_dump(f);
        fail_msg("want 3 sg-wrong-nents reports, got %u", n);
    }
    assert_int_equal(iommu_pins(f->mmu), 0);
}

static void test_dma_api__mappings_left_at_unbind__reports_leak_and_reclaims(void **state)
{
    TestFx *f = *state;
    KernelStats s;

    test_start(f, DMAT_LEAK, IOMMU_MODE_STRICT, 0);
    assert_int_equal(test_i32(f, "result", 0), 0);
    assert_true(iommu_pins(f->mmu) >= 2);
    test_stop(f);
    test_expect_one(f, DMA_DBG_LEAKED_AT_UNBIND,
                    "device driver has pending DMA allocations while released from device "
                    "[count=2] One of leaked entries details: ");
    kernel_stats(f->k, &s);
    assert_int_equal(s.coherent_live, 0);
    assert_int_equal(iommu_pins(f->mmu), 0);
}

static void test_dma_api__24_bit_mask__iovas_below_16_mib_until_exhausted(void **state)
{
    TestFx *f = *state;
    uint64_t n, buf_off, want;

    test_start(f, DMAT_MASK24, IOMMU_MODE_STRICT, 0);
    assert_int_equal(test_i32(f, "mask_rc", 0), -EIO);
    assert_int_equal(test_i32(f, "mask_rc", 1), 0);
    assert_int_equal(test_i32(f, "mask_rc", 2), 0);
    n = test_u64(f, "nhandles", 0);
    /* 1 MiB maps are size-aligned: 256 pages, or 257 rounded to 512 when
     * the buffer does not start a page; IOVA page 0 is never used. */
    buf_off = ko_symbol_va(f->k->modules[f->mod], "buf");
    assert_int_equal(vcpu_read(kernel_vcpu(f->k), buf_off, &buf_off, 8), 0);
    want = (buf_off & 0xfff) ? 7 : 15;
    assert_int_equal(n, want);
    for (unsigned i = 0; i < n; i++) {
        assert_true(test_u64(f, "handles", i) + TEST_MIB <= 16 * TEST_MIB);
    }
    /* The coherent mask is 24 bits too, and IOVA space is used up: NULL,
     * or a buffer below 16 MiB. */
    if (test_u64(f, "bufs", 0)) {
        assert_true(test_u64(f, "bufs", 1) < 16 * TEST_MIB);
    }
    test_stop(f);
    assert_int_equal(iommu_pins(f->mmu), 0);
    assert_int_equal(f->k->dma.nmaps, 0);
}

static void test_dma_api__pin_bound__map_fails_and_is_recorded(void **state)
{
    TestFx *f = *state;
    IommuFault fault;
    KernelStats s;
    unsigned nfaults = 0;

    test_start(f, DMAT_PIN_BOUND, IOMMU_MODE_STRICT, 4);
    assert_int_equal(test_u64(f, "bufs", 0), 0);                  /* NULL */
    assert_int_equal(test_u64(f, "bufs", 1), UINT64_MAX);         /* DMA_MAPPING_ERROR */
    while (iommu_fault_pop(f->mmu, &fault)) {
        assert_int_equal(fault.reason, IOMMU_REASON_DOMAIN_BOUND);
        assert_int_equal(fault.rid, TEST_DEVFN);
        nfaults++;
    }
    assert_int_equal(nfaults, 2);
    assert_int_equal(iommu_pins(f->mmu), 0);
    assert_int_equal(f->k->dma.nmaps, 0);
    kernel_stats(f->k, &s);
    assert_int_equal(s.coherent_live, 0);
    /* The coherent attempt gave its frames back; what the module holds
     * besides its image is its first kmalloc arena (its bank's pages). */
    assert_int_equal(test_pages_used(f), f->pages_at_load + KMEM_ARENA_BYTES / KMEM_PAGE_SIZE);
    test_stop(f);
    kernel_stats(f->k, &s);
    assert_int_equal(s.dma_api_reports, 0);
}

static void test_dma_api__inline_page_address__agrees_with_the_kernel(void **state)
{
    TestFx *f = *state;
    uint64_t va, phys;
    unsigned perms;

    test_start(f, DMAT_VMEMMAP, IOMMU_MODE_STRICT, 0);
    assert_int_equal(test_i32(f, "result", 0), 0);
    va = test_u64(f, "bufs", 0);
    assert_int_equal(test_u64(f, "bufs", 1), va);        /* page_address(virt_to_page(p)) */
    assert_int_equal(test_u64(f, "bufs", 2), 1);         /* page->_refcount */
    assert_int_equal(iommu_lookup(f->mmu, TEST_DEVFN, test_u64(f, "handles", 0), &phys, &perms), 0);
    assert_int_equal(phys, va - KMEM_PAGE_OFFSET);
    assert_int_equal(perms, IOMMU_PERM_READ);
    assert_int_equal(kvmemmap_pa_to_page(f->k, phys & ~0xfffull),
                     KMEM_VMEMMAP_BASE + (phys >> 12) * 64);
    test_stop(f);
    assert_int_equal(iommu_pins(f->mmu), 0);
}

static void test_dma_api__strict_unmap__iova_reused_top_down(void **state)
{
    TestFx *f = *state;
    uint64_t h[5];

    test_start(f, DMAT_REUSE, IOMMU_MODE_STRICT, 0);
    assert_int_equal(test_i32(f, "result", 0), 0);
    for (unsigned i = 0; i < 5; i++) {
        h[i] = test_u64(f, "handles", i);
    }
    assert_int_equal(h[0], h[1]);
    assert_int_equal(h[1], h[2]);
    assert_int_equal(h[3], h[0]);
    assert_true(h[4] < h[3]);
    test_stop(f);
    test_expect_no_reports(f);
}

static void test_dma_api__lazy_unmap__iova_held_until_flush(void **state)
{
    TestFx *f = *state;
    uint64_t h[3];

    test_start(f, DMAT_REUSE, IOMMU_MODE_LAZY, 0);
    assert_int_equal(test_i32(f, "result", 0), 0);
    for (unsigned i = 0; i < 3; i++) {
        h[i] = test_u64(f, "handles", i);
    }
    assert_true(h[1] < h[0]);
    assert_true(h[2] < h[1]);
    test_stop(f);
    test_expect_no_reports(f);
    iommu_flush(f->mmu);
    assert_int_equal(iommu_pins(f->mmu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_dma_api__module_structs__match_the_kernel_btf),
        T(test_dma_api__clean_driver__no_reports_and_no_pins),
        T(test_dma_api__lazy_iommu__coherent_frames_freed_after_the_flush),
        T(test_dma_api__unmap_never_mapped__reports_not_allocated),
        T(test_dma_api__unmap_of_mapping_error__reports_invalid_address),
        T(test_dma_api__unmap_with_other_size__reports_different_size),
        T(test_dma_api__unmap_with_other_direction__reports_different_direction),
        T(test_dma_api__free_coherent_of_single_mapping__reports_wrong_function),
        T(test_dma_api__mapping_error_not_checked__reports_at_unmap),
        T(test_dma_api__stack_buffer__reports_stack_mapping),
        T(test_dma_api__sync_of_unmapped_address__reports_not_allocated),
        T(test_dma_api__sync_past_the_mapping__reports_outside),
        T(test_dma_api__sync_with_other_direction__reports_different_direction),
        T(test_dma_api__unmap_sg_with_other_count__reports_entry_count),
        T(test_dma_api__mappings_left_at_unbind__reports_leak_and_reclaims),
        T(test_dma_api__24_bit_mask__iovas_below_16_mib_until_exhausted),
        T(test_dma_api__pin_bound__map_fails_and_is_recorded),
        T(test_dma_api__inline_page_address__agrees_with_the_kernel),
        T(test_dma_api__strict_unmap__iova_reused_top_down),
        T(test_dma_api__lazy_unmap__iova_held_until_flush),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
