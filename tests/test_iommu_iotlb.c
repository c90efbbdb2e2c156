/*
 * tests/test_iommu_iotlb.c: IOTLB hits, misses and invalidation in strict
 * and lazy mode, and the lazy flush queue (drain by count, by virtual time,
 * on demand) with the stale-entry fault it exists to expose.
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
#define FQ_MAX 4
#define WINDOW_NS 1000

typedef IommuTestFix Fix;

static void fix_tune(IommuConfig *cfg)
{
    cfg->flush_queue_max = FQ_MAX;
    cfg->flush_window_ns = WINDOW_NS;
}

static int fix_setup_strict(void **state)
{
    return iommu_test_fix_setup(state, IOMMU_MODE_STRICT, fix_tune, "e1000", NULL);
}

static int fix_setup_lazy(void **state)
{
    return iommu_test_fix_setup(state, IOMMU_MODE_LAZY, fix_tune, "e1000", NULL);
}

static IommuStats stats_of(const Iommu *mmu)
{
    IommuStats s;

    iommu_stats(mmu, &s);
    return s;
}

static void test_first_access__misses__second__hits(void **state)
{
    Fix *f = *state;
    uint8_t b[8];

    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, b, 8), 0);
    assert_int_equal(stats_of(f->mmu).iotlb_misses, 1);
    assert_int_equal(stats_of(f->mmu).iotlb_hits, 0);
    assert_int_equal(dma_read(&f->port, 0x1100, b, 8), 0);
    assert_int_equal(dma_read(&f->port, 0x1ff8, b, 8), 0);
    assert_int_equal(stats_of(f->mmu).iotlb_misses, 1);
    assert_int_equal(stats_of(f->mmu).iotlb_hits, 2);
}

static void test_strict_unmap__invalidates_at_once__next_access_not_mapped(void **state)
{
    Fix *f = *state;
    uint8_t b[8];
    IommuFault flt;
    IommuStats s;

    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, b, 8), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), 0);
    s = stats_of(f->mmu);
    assert_int_equal(s.iotlb_invalidations, 1);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x2000));
    assert_int_equal(dma_read(&f->port, 0x1000, b, 8), -EFAULT);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
    s = stats_of(f->mmu);
    assert_int_equal(s.iotlb_misses, 2); /* the entry really was dropped */
    assert_int_equal(s.faults[IOMMU_REASON_STALE_IOTLB], 0);
}

/* The scenario the lazy mode exists for: map, device reads (IOTLB filled),
 * unmap, device reads again -> completes through the stale entry and is
 * recorded; after the queue drains -> not mapped. */
static void test_lazy_unmap__then_access__completes_with_stale_fault__then_not_mapped(void **state)
{
    Fix *f = *state;
    uint8_t b[4] = {0};
    IommuFault flt;
    IommuStats s;

    memcpy(f->ram + 0x2000, "\xde\xad\xbe\xef", 4);
    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, b, 4), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), 0);
    assert_int_equal(stats_of(f->mmu).iotlb_invalidations, 0);
    assert_int_equal(iommu_flush_pending(f->mmu), 1);
    assert_true(iommu_frame_is_pinned(f->mmu, 0x2000)); /* still reachable */

    memset(b, 0, sizeof(b));
    assert_int_equal(dma_read(&f->port, 0x1000, b, 4), 0);
    assert_memory_equal(b, "\xde\xad\xbe\xef", 4);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_STALE_IOTLB);
    assert_int_equal(flt.iova, 0x1000);
    assert_int_equal(flt.len, 4);
    assert_int_equal(flt.dir, IOMMU_DIR_READ);

    iommu_flush(f->mmu);
    s = stats_of(f->mmu);
    assert_int_equal(s.flushes, 1);
    assert_int_equal(s.iotlb_invalidations, 1);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x2000));
    assert_int_equal(dma_read(&f->port, 0x1000, b, 4), -EFAULT);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
}

static void test_strict_mode__same_sequence__faults_not_mapped_not_stale(void **state)
{
    Fix *f = *state;
    uint8_t b[4];
    IommuFault flt;

    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, b, 4), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, b, 4), -EFAULT);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
    assert_int_equal(iommu_flush_pending(f->mmu), 0);
}

static void test_lazy_unmap_of_uncached_page__faults_not_mapped(void **state)
{
    Fix *f = *state;
    uint8_t b[4];
    IommuFault flt;

    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), 0);
    /* Never cached, so no stale entry can serve it. */
    assert_int_equal(dma_read(&f->port, 0x1000, b, 4), -EFAULT);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
}

static void test_lazy_queue__drains_when_it_holds_n_pages(void **state)
{
    Fix *f = *state;
    uint8_t b;
    uint64_t i;

    for (i = 0; i < FQ_MAX; i++) {
        assert_int_equal(iommu_map(f->mmu, RID, 0x10000 + i * PG, 0x2000 + i * PG,
                                   IOMMU_PERM_READ), 0);
        assert_int_equal(dma_read(&f->port, 0x10000 + i * PG, &b, 1), 0);
    }
    for (i = 0; i < FQ_MAX - 1; i++) {
        assert_int_equal(iommu_unmap(f->mmu, RID, 0x10000 + i * PG), 0);
    }
    assert_int_equal(iommu_flush_pending(f->mmu), FQ_MAX - 1);
    assert_int_equal(stats_of(f->mmu).flushes, 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x10000 + (FQ_MAX - 1) * PG), 0);
    assert_int_equal(iommu_flush_pending(f->mmu), 0);
    assert_int_equal(stats_of(f->mmu).flushes, 1);
    assert_int_equal(stats_of(f->mmu).iotlb_invalidations, FQ_MAX);
    assert_int_equal(iommu_pins(f->mmu), 0);
    assert_int_equal(dma_read(&f->port, 0x10000, &b, 1), -EFAULT);
}

static void test_lazy_queue__drains_when_the_time_window_passes(void **state)
{
    Fix *f = *state;
    uint8_t b;

    iommu_set_time(f->mmu, 5000);
    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), 0);
    iommu_advance_time(f->mmu, WINDOW_NS - 1);
    assert_int_equal(iommu_flush_pending(f->mmu), 1);
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), 0); /* stale, completes */
    iommu_advance_time(f->mmu, 1);
    assert_int_equal(iommu_flush_pending(f->mmu), 0);
    assert_int_equal(iommu_time(f->mmu), 5000 + WINDOW_NS);
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), -EFAULT);
    assert_int_equal(stats_of(f->mmu).faults[IOMMU_REASON_STALE_IOTLB], 1);
    assert_int_equal(stats_of(f->mmu).faults[IOMMU_REASON_NOT_MAPPED], 1);
}

static void test_time__never_goes_back(void **state)
{
    Fix *f = *state;

    iommu_set_time(f->mmu, 100);
    iommu_set_time(f->mmu, 50);
    assert_int_equal(iommu_time(f->mmu), 100);
}

static void test_lazy_remap_of_queued_iova__uses_new_frame(void **state)
{
    Fix *f = *state;
    uint8_t b = 0;

    f->ram[0x2000] = 1;
    f->ram[0x5000] = 2;
    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID, 0x1000), 0);
    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x5000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), 0);
    assert_int_equal(b, 2);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
    /* The old frame stays pinned until the queued invalidation completes. */
    assert_true(iommu_frame_is_pinned(f->mmu, 0x2000));
    iommu_flush(f->mmu);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x2000));
    assert_true(iommu_frame_is_pinned(f->mmu, 0x5000));
}

static void test_invalidate_all__forces_misses(void **state)
{
    Fix *f = *state;
    uint8_t b;

    assert_int_equal(iommu_map(f->mmu, RID, 0x1000, 0x2000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), 0);
    iommu_invalidate_all(f->mmu);
    assert_int_equal(dma_read(&f->port, 0x1000, &b, 1), 0);
    assert_int_equal(stats_of(f->mmu).iotlb_misses, 2);
    assert_int_equal(stats_of(f->mmu).iotlb_hits, 0);
}

static void test_many_pages__conflict_in_the_iotlb__and_still_translate(void **state)
{
    Fix *f = *state;
    uint8_t b;
    uint64_t i;

    /* 3 IOVAs that share a set (set index ignores bits above 9 of the page
     * number); a 2-way set keeps only two of them. */
    for (i = 0; i < 3; i++) {
        assert_int_equal(iommu_map(f->mmu, RID, (i << 21), 0x2000 + i * PG, IOMMU_PERM_READ), 0);
        f->ram[0x2000 + i * PG] = (uint8_t)(i + 1);
    }
    for (i = 0; i < 3; i++) {
        assert_int_equal(dma_read(&f->port, i << 21, &b, 1), 0);
        assert_int_equal(b, i + 1);
    }
    assert_int_equal(dma_read(&f->port, 0, &b, 1), 0); /* evicted, misses again */
    assert_int_equal(stats_of(f->mmu).iotlb_misses, 4);
    assert_int_equal(dma_read(&f->port, 2 << 21, &b, 1), 0);
    assert_int_equal(stats_of(f->mmu).iotlb_hits, 1);
}

#define TS(fn) cmocka_unit_test_setup_teardown(fn, fix_setup_strict, iommu_test_fix_teardown)
#define TL(fn) cmocka_unit_test_setup_teardown(fn, fix_setup_lazy, iommu_test_fix_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS(test_first_access__misses__second__hits),
        TL(test_first_access__misses__second__hits),
        TS(test_strict_unmap__invalidates_at_once__next_access_not_mapped),
        TL(test_lazy_unmap__then_access__completes_with_stale_fault__then_not_mapped),
        TS(test_strict_mode__same_sequence__faults_not_mapped_not_stale),
        TL(test_lazy_unmap_of_uncached_page__faults_not_mapped),
        TL(test_lazy_queue__drains_when_it_holds_n_pages),
        TL(test_lazy_queue__drains_when_the_time_window_passes),
        TL(test_time__never_goes_back),
        TL(test_lazy_remap_of_queued_iova__uses_new_frame),
        TS(test_invalidate_all__forces_misses),
        TS(test_many_pages__conflict_in_the_iotlb__and_still_translate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
