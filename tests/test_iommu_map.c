/*
 * tests/test_iommu_map.c: map, translate, unmap, permissions, alignment and
 * overlap rules, and device accesses through the DMA port (page crossing,
 * off mode).  Driven the way the kernel side (map/unmap) and a device model
 * (dma_read/dma_write) would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iommu/dma_port.h"
#include "iommu/iommu.h"
#include "tests/iommu_test_fix.h"

#define RAM_SIZE IOMMU_TEST_RAM_SIZE
#define RID IOMMU_TEST_RID_A
#define PG IOMMU_PAGE_SIZE

typedef IommuTestFix Fix;

static int fix_setup(void **state)
{
    return iommu_test_fix_setup(state, IOMMU_MODE_STRICT, NULL, "rtl8139", NULL);
}

static void test_map__then_translate__gives_phys_with_offset(void **state)
{
    Fix *f = *state;
    uint64_t phys = 0;
    unsigned perms = 0;

    assert_int_equal(iommu_map(f->mmu, RID, 0x7000000, 0x5000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_translate(f->mmu, RID, 0x7000123, IOMMU_DIR_READ, &phys), 0);
    assert_int_equal(phys, 0x5123);
    assert_int_equal(iommu_lookup(f->mmu, RID, 0x7000fff, &phys, &perms), 0);
    assert_int_equal(phys, 0x5fff);
    assert_int_equal(perms, IOMMU_PERM_READ);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
}

static void test_unmap__then_translate__faults_not_mapped(void **state)
{
    Fix *f = *state;
    uint64_t phys;
    IommuFault flt;

    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_translate(f->mmu, RID, 0x1000, IOMMU_DIR_READ, &phys), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), 0);
    assert_int_equal(iommu_translate(f->mmu, RID, 0x1000, IOMMU_DIR_READ, &phys), -EFAULT);
    flt = iommu_test_pop_fault(f->mmu);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
    assert_int_equal(iommu_lookup(f->mmu, RID, 0x1000, &phys, &(unsigned){0}), -ENOENT);
}

static void test_write__to_read_only__faults_permission(void **state)
{
    Fix *f = *state;
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    IommuFault flt;

    assert_int_equal(iommu_map(f->mmu, RID, 0x10000, 0x3000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_write(&f->port, 0x10010, buf, sizeof(buf)), -EACCES);
    assert_int_equal(f->ram[0x3010], 0); /* nothing landed */
    flt = iommu_test_pop_fault(f->mmu);
    assert_int_equal(flt.reason, IOMMU_REASON_PERMISSION);
    assert_int_equal(flt.dir, IOMMU_DIR_WRITE);
    assert_int_equal(flt.iova, 0x10010);
    assert_int_equal(flt.len, 8);
    /* Reading it is allowed. */
    assert_int_equal(dma_read(&f->port, 0x10010, buf, sizeof(buf)), 0);
}

static void test_read__from_write_only__faults_permission(void **state)
{
    Fix *f = *state;
    uint8_t buf[4];

    assert_int_equal(iommu_map(f->mmu, RID, 0x10000, 0x3000, IOMMU_PERM_WRITE), 0);
    assert_int_equal(dma_read(&f->port, 0x10000, buf, sizeof(buf)), -EACCES);
    assert_int_equal(iommu_test_pop_fault(f->mmu).reason, IOMMU_REASON_PERMISSION);
}

static void test_overlapping_map__returns_eexist__and_changes_nothing(void **state)
{
    Fix *f = *state;
    uint8_t *before, *after;
    size_t nb, na;

    assert_int_equal(iommu_map_range(f->mmu, RID, 0x20000, 0x8000, 4 * PG,
                                     IOMMU_PERM_READ | IOMMU_PERM_WRITE), 0);
    before = iommu_test_blob(f->mmu, &nb);
    /* Overlaps only the last page of the existing range. */
    assert_int_equal(iommu_map_range(f->mmu, RID, 0x23000, 0x40000, 3 * PG, IOMMU_PERM_READ),
                     -EEXIST);
    after = iommu_test_blob(f->mmu, &na);
    assert_int_equal(nb, na);
    assert_memory_equal(before, after, nb);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x40000));
    free(before);
    free(after);
}

static void test_unaligned_requests__are_rejected_einval(void **state)
{
    Fix *f = *state;
    uint8_t *before, *after;
    size_t nb, na;

    before = iommu_test_blob(f->mmu, &nb);
    assert_int_equal(iommu_map_range(f->mmu, RID, 0x1001, 0x2000, PG, IOMMU_PERM_READ), -EINVAL);
    assert_int_equal(iommu_map_range(f->mmu, RID, 0x1000, 0x2010, PG, IOMMU_PERM_READ), -EINVAL);
    assert_int_equal(iommu_map_range(f->mmu, RID, 0x1000, 0x2000, 100, IOMMU_PERM_READ), -EINVAL);
    assert_int_equal(iommu_map_range(f->mmu, RID, 0x1000, 0x2000, 0, IOMMU_PERM_READ), -EINVAL);
    assert_int_equal(iommu_map_range(f->mmu, RID, 0x1000, 0x2000, PG, 0), -EINVAL);
    assert_int_equal(iommu_map_range(f->mmu, RID, 0x1000, 0x2000, PG, 8), -EINVAL);
    after = iommu_test_blob(f->mmu, &na);
    assert_int_equal(nb, na);
    assert_memory_equal(before, after, nb);
    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap_range(f->mmu, RID, 0x1800, PG), -EINVAL);
    free(before);
    free(after);
}

static void test_map_beyond_48_bits_or_ram__is_rejected_erange(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_map(f->mmu, RID, IOMMU_IOVA_LIMIT, 0x2000, IOMMU_PERM_READ), -ERANGE);
    assert_int_equal(iommu_map_range(f->mmu, RID, IOMMU_IOVA_LIMIT - PG, 0x2000, 2 * PG,
                                     IOMMU_PERM_READ), -ERANGE);
    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, RAM_SIZE, IOMMU_PERM_READ), -ERANGE);
    /* The very top page of the space is fine. */
    assert_int_equal(iommu_map(f->mmu, RID, IOMMU_IOVA_LIMIT - PG, 0x2000, IOMMU_PERM_READ), 0);
}

static void test_map_range__maps_every_page__and_unmap_range_removes_all(void **state)
{
    Fix *f = *state;
    uint64_t phys, i;
    unsigned perms;

    /* Crosses a level-1 table boundary (2 MiB) and a level-2 one (1 GiB). */
    assert_int_equal(iommu_map_range(f->mmu, RID, 0x3fffe000, 0x10000, 4 * PG, IOMMU_PERM_READ),
                     0);
    for (i = 0; i < 4; i++) {
        assert_int_equal(iommu_lookup(f->mmu, RID, 0x3fffe000 + i * PG, &phys, &perms), 0);
        assert_int_equal(phys, 0x10000 + i * PG);
    }
    assert_int_equal(iommu_unmap_range(f->mmu, RID, 0x3fffe000, 4 * PG), 0);
    for (i = 0; i < 4; i++) {
        assert_int_equal(iommu_lookup(f->mmu, RID, 0x3fffe000 + i * PG, &phys, &perms), -ENOENT);
        assert_false(iommu_frame_is_pinned(f->mmu, 0x10000 + i * PG));
    }
}

static void test_unmap_range_over_a_hole__returns_enoent__and_unmaps_nothing(void **state)
{
    Fix *f = *state;
    uint64_t phys;
    unsigned perms;

    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap_range(f->mmu, RID, 0x1000, 2 * PG), -ENOENT);
    assert_int_equal(iommu_lookup(f->mmu, RID, 0x1000, &phys, &perms), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), -ENOENT); /* double unmap */
}

static void test_dma__across_pages__goes_to_each_pages_frame(void **state)
{
    Fix *f = *state;
    uint8_t out[2 * PG], in[2 * PG];
    size_t i;

    for (i = 0; i < sizeof(out); i++) {
        out[i] = (uint8_t)(i * 7 + 1);
    }
    /* Two consecutive IOVA pages backed by non-adjacent frames. */
    assert_int_equal(iommu_map(f->mmu, RID, 0x40000, 0x9000, IOMMU_PERM_READ | IOMMU_PERM_WRITE),
                     0);
    assert_int_equal(iommu_map(f->mmu, RID, 0x41000, 0x3000, IOMMU_PERM_READ | IOMMU_PERM_WRITE),
                     0);
    assert_int_equal(dma_write(&f->port, 0x40800, out, PG), 0);
    assert_memory_equal(f->ram + 0x9800, out, PG / 2);
    assert_memory_equal(f->ram + 0x3000, out + PG / 2, PG / 2);
    memset(in, 0, sizeof(in));
    assert_int_equal(dma_read(&f->port, 0x40800, in, PG), 0);
    assert_memory_equal(in, out, PG);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
}

static void test_dma__whose_second_page_is_unmapped__copies_nothing(void **state)
{
    Fix *f = *state;
    uint8_t out[64];
    IommuFault flt;

    memset(out, 0xab, sizeof(out));
    assert_int_equal(iommu_map(f->mmu, RID, 0x40000, 0x9000, IOMMU_PERM_WRITE), 0);
    assert_int_equal(dma_write(&f->port, 0x40fe0, out, sizeof(out)), -EFAULT);
    assert_int_equal(f->ram[0x9fe0], 0);
    flt = iommu_test_pop_fault(f->mmu);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
    assert_int_equal(flt.iova, 0x41000); /* the first byte that faulted */
    assert_int_equal(flt.len, 32);
}

static void test_dma__of_a_large_buffer__uses_many_pages(void **state)
{
    Fix *f = *state;
    size_t len = 40 * PG;
    uint8_t *out = malloc(len), *in = calloc(1, len);
    size_t i;

    for (i = 0; i < len; i++) {
        out[i] = (uint8_t)(i ^ (i >> 8));
    }
    assert_int_equal(iommu_map_range(f->mmu, RID, 0x800000, 0x20000, len,
                                     IOMMU_PERM_READ | IOMMU_PERM_WRITE), 0);
    assert_int_equal(dma_write(&f->port, 0x800000, out, len), 0);
    assert_memory_equal(f->ram + 0x20000, out, len);
    assert_int_equal(dma_read(&f->port, 0x800000, in, len), 0);
    assert_memory_equal(in, out, len);
    free(out);
    free(in);
}

static void test_dma__without_a_domain__faults_no_domain(void **state)
{
    Fix *f = *state;
    DmaPort other;
    uint8_t b = 0;

    dma_port_init(&other, f->mmu, 0x0020, DMA_PORT_TRANSLATED);
    assert_int_equal(dma_read(&other, 0x1000, &b, 1), -EFAULT);
    assert_int_equal(iommu_test_pop_fault(f->mmu).reason, IOMMU_REASON_NO_DOMAIN);
}

static void test_dma__beyond_48_bits__faults_out_of_range(void **state)
{
    Fix *f = *state;
    uint8_t b[16] = {0};
    IommuFault flt;

    assert_int_equal(dma_read(&f->port, 0xffff800000001000ull, b, 16), -EFAULT);
    flt = iommu_test_pop_fault(f->mmu);
    assert_int_equal(flt.reason, IOMMU_REASON_OUT_OF_RANGE);
    assert_int_equal(flt.iova, 0xffff800000001000ull);
}

static void test_off_mode__maps_iova_to_phys__and_bounds_checks_ram(void **state)
{
    Fix *f = *state;
    DmaPort off;
    uint8_t buf[32];
    IommuFault flt;

    memset(buf, 0x5a, sizeof(buf));
    dma_port_init(&off, f->mmu, RID, DMA_PORT_OFF);
    assert_int_equal(dma_write(&off, 0x1ff0, buf, sizeof(buf)), 0);
    assert_int_equal(f->ram[0x1ff0], 0x5a);
    assert_int_equal(f->ram[0x200f], 0x5a);
    assert_int_equal(dma_write(&off, RAM_SIZE - 16, buf, sizeof(buf)), -EFAULT);
    assert_int_equal(f->ram[RAM_SIZE - 16], 0);
    flt = iommu_test_pop_fault(f->mmu);
    assert_int_equal(flt.reason, IOMMU_REASON_OUT_OF_RANGE);
    assert_int_equal(flt.iova, RAM_SIZE);
    assert_int_equal(flt.len, 16);
    assert_string_equal(flt.name, "rtl8139");
}

static void test_detach__removes_mappings_and_pins(void **state)
{
    Fix *f = *state;
    uint8_t b;

    assert_int_equal(iommu_map_range(f->mmu, RID, 0x1000, 0x4000, 3 * PG, IOMMU_PERM_READ), 0);
    assert_true(iommu_frame_is_pinned(f->mmu, 0x5000));
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), 0);
    assert_int_equal(iommu_detach(f->mmu, RID), 0);
    assert_false(iommu_is_attached(f->mmu, RID));
    assert_int_equal(iommu_pins(f->mmu), 0);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x5000));
    /* The cached translation went with the domain. */
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), -EFAULT);
    assert_int_equal(iommu_test_pop_fault(f->mmu).reason, IOMMU_REASON_NO_DOMAIN);
    assert_int_equal(iommu_detach(f->mmu, RID), -ENOENT);
    /* Re-attaching gives an empty domain. */
    assert_int_equal(iommu_attach(f->mmu, RID, "rtl8139"), 0);
    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x4000, IOMMU_PERM_READ), 0);
}

static void test_attach__twice_or_without_name__is_refused(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_attach(f->mmu, RID, "again"), -EEXIST);
    assert_int_equal(iommu_attach(f->mmu, 0x0030, ""), -EINVAL);
    assert_int_equal(iommu_attach(f->mmu, 0x0030, "a-name-that-is-far-too-long-for-the-field"),
                     -EINVAL);
    assert_int_equal(iommu_map(f->mmu, 0x0030, 0x1000, 0x1000, IOMMU_PERM_READ), -ENOENT);
    assert_string_equal(iommu_domain_name(f->mmu, RID), "rtl8139");
}

static void test_two_domains__same_iova__translate_separately(void **state)
{
    Fix *f = *state;
    DmaPort p2;
    uint8_t a = 0x11, b = 0x22, r = 0;

    assert_int_equal(iommu_attach(f->mmu, 0x0020, "ne2000"), 0);
    dma_port_init(&p2, f->mmu, 0x0020, DMA_PORT_TRANSLATED);
    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x4000, IOMMU_PERM_READ | IOMMU_PERM_WRITE), 0);
    assert_int_equal(iommu_map(f->mmu, 0x0020, 0x1000, 0x6000, IOMMU_PERM_READ | IOMMU_PERM_WRITE),
                     0);
    assert_int_equal(dma_write(&f->port, 0x1000, &a, 1), 0);
    assert_int_equal(dma_write(&p2, 0x1000, &b, 1), 0);
    assert_int_equal(f->ram[0x4000], 0x11);
    assert_int_equal(f->ram[0x6000], 0x22);
    assert_int_equal(dma_read(&f->port, 0x1000, &r, 1), 0);
    assert_int_equal(r, 0x11);
}

static void test_new__with_bad_config__fails_with_a_message(void **state)
{
    IommuConfig cfg;
    Iommu *mmu;
    SlError err;
    uint8_t ram[PG];

    (void)state;
    iommu_config_default(&cfg, ram, 1000);
    assert_int_equal(iommu_new(&cfg, &mmu, &err), -EINVAL);
    assert_null(mmu);
    assert_non_null(strstr(err.msg, "ram_size"));
    iommu_config_default(&cfg, NULL, PG);
    assert_int_equal(iommu_new(&cfg, &mmu, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ram"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fix_setup, iommu_test_fix_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_map__then_translate__gives_phys_with_offset),
        T(test_unmap__then_translate__faults_not_mapped),
        T(test_write__to_read_only__faults_permission),
        T(test_read__from_write_only__faults_permission),
        T(test_overlapping_map__returns_eexist__and_changes_nothing),
        T(test_unaligned_requests__are_rejected_einval),
        T(test_map_beyond_48_bits_or_ram__is_rejected_erange),
        T(test_map_range__maps_every_page__and_unmap_range_removes_all),
        T(test_unmap_range_over_a_hole__returns_enoent__and_unmaps_nothing),
        T(test_dma__across_pages__goes_to_each_pages_frame),
        T(test_dma__whose_second_page_is_unmapped__copies_nothing),
        T(test_dma__of_a_large_buffer__uses_many_pages),
        T(test_dma__without_a_domain__faults_no_domain),
        T(test_dma__beyond_48_bits__faults_out_of_range),
        T(test_off_mode__maps_iova_to_phys__and_bounds_checks_ram),
        T(test_detach__removes_mappings_and_pins),
        T(test_attach__twice_or_without_name__is_refused),
        T(test_two_domains__same_iova__translate_separately),
        cmocka_unit_test(test_new__with_bad_config__fails_with_a_message),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
