/*
 * tests/test_iommu_pins.c: pin counts per frame, the per-domain and global
 * pin bounds, and the rule that a refused request changes nothing (the
 * state blob before equals the blob after).
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
#define RID_A IOMMU_TEST_RID_A
#define RID_B IOMMU_TEST_RID_B
#define PG IOMMU_PAGE_SIZE

typedef IommuTestFix Fix;

static void fix_tune(IommuConfig *cfg)
{
    cfg->pin_bound_domain = 8;
    cfg->pin_bound_global = 12;
    cfg->flush_queue_max = 64;
}

static int fix_setup_strict(void **state)
{
    return iommu_test_fix_setup(state, IOMMU_MODE_STRICT, fix_tune, "rtl8139", "ne2000");
}

static int fix_setup_lazy(void **state)
{
    return iommu_test_fix_setup(state, IOMMU_MODE_LAZY, fix_tune, "rtl8139", "ne2000");
}

/* Runs req (which must fail with want) and checks the blob is unchanged. */
#define assert_refused_unchanged(mmu, req, want)                   \
    do {                                                           \
        size_t nb_, na_;                                           \
        uint8_t *b_ = iommu_test_blob(mmu, &nb_), *a_;                     \
        assert_int_equal((req), (want));                           \
        a_ = iommu_test_blob(mmu, &na_);                                   \
        assert_int_equal(nb_, na_);                                \
        assert_memory_equal(b_, a_, nb_);                          \
        free(b_);                                                  \
        free(a_);                                                  \
    } while (0)

static void test_each_mapping__pins_its_frame_once(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_map(f->mmu, RID_A, 0x1000, 0x5000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_map(f->mmu, RID_B, 0x9000, 0x5000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_frame_pin_count(f->mmu, 0x5000), 2);
    assert_int_equal(iommu_frame_pin_count(f->mmu, 0x5fff), 2);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x6000));
    assert_false(iommu_frame_is_pinned(f->mmu, 0xffffffff000ull)); /* beyond RAM */
    assert_int_equal(iommu_pins(f->mmu), 2);
    assert_int_equal(iommu_domain_pins(f->mmu, RID_A), 1);
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x1000), 0);
    assert_int_equal(iommu_frame_pin_count(f->mmu, 0x5000), 1);
    assert_true(iommu_frame_is_pinned(f->mmu, 0x5000));
    assert_int_equal(iommu_unmap(f->mmu, RID_B, 0x9000), 0);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x5000));
}

static void test_map_over_domain_bound__fails_and_changes_nothing(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x10000, 6 * PG, IOMMU_PERM_READ), 0);
    /* 6 + 3 > 8: the whole range is refused, not its first two pages. */
    assert_refused_unchanged(f->mmu,
                             iommu_map_range(f->mmu, RID_A, 0x20000, 0x20000, 3 * PG,
                                             IOMMU_PERM_READ),
                             IOMMU_ERR_DOMAIN_BOUND);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x20000));
    assert_int_equal(iommu_domain_pins(f->mmu, RID_A), 6);
    /* Exactly up to the bound is fine. */
    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x20000, 0x20000, 2 * PG, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_domain_pins(f->mmu, RID_A), 8);
}

static void test_map_over_global_bound__fails_and_changes_nothing(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x10000, 8 * PG, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_map_range(f->mmu, RID_B, 0x10000, 0x30000, 3 * PG, IOMMU_PERM_READ), 0);
    /* B is within its own bound (3 + 2 <= 8) but 11 + 2 > 12 globally. */
    assert_refused_unchanged(f->mmu,
                             iommu_map_range(f->mmu, RID_B, 0x20000, 0x40000, 2 * PG,
                                             IOMMU_PERM_READ),
                             IOMMU_ERR_GLOBAL_BOUND);
    assert_int_equal(iommu_pins(f->mmu), 11);
    assert_int_equal(iommu_map(f->mmu, RID_B, 0x20000, 0x40000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_pins(f->mmu), 12);
    assert_int_equal(iommu_map(f->mmu, RID_B, 0x21000, 0x41000, IOMMU_PERM_READ),
                     IOMMU_ERR_GLOBAL_BOUND);
}

static void test_range_map_failing_part_way__changes_nothing(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_map(f->mmu, RID_A, 0x13000, 0x9000, IOMMU_PERM_READ), 0);
    /* Pages 0..2 are free, page 3 is taken. */
    assert_refused_unchanged(f->mmu,
                             iommu_map_range(f->mmu, RID_A, 0x10000, 0x50000, 5 * PG,
                                             IOMMU_PERM_READ),
                             -EEXIST);
    /* The range reaches beyond RAM at its end. */
    assert_refused_unchanged(f->mmu,
                             iommu_map_range(f->mmu, RID_A, 0x40000, RAM_SIZE - 2 * PG, 3 * PG,
                                             IOMMU_PERM_READ),
                             -ERANGE);
}

static void test_refused_map__reported_by_the_caller__is_a_bound_fault(void **state)
{
    Fix *f = *state;
    IommuFault flt;
    IommuStats s;
    int rc;

    rc = iommu_map_range(f->mmu, RID_A, 0x10000, 0x10000, 9 * PG, IOMMU_PERM_READ);
    assert_int_equal(rc, IOMMU_ERR_DOMAIN_BOUND);
    assert_int_equal(iommu_fault_count(f->mmu), 0); /* the request itself wrote nothing */
    iommu_fault_report_map(f->mmu, RID_A, 0x10000, 9 * PG, rc);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_DOMAIN_BOUND);
    assert_int_equal(flt.len, 9 * PG);
    assert_string_equal(flt.name, "rtl8139");
    iommu_fault_report_map(f->mmu, RID_A, 0, PG, IOMMU_ERR_GLOBAL_BOUND);
    iommu_stats(f->mmu, &s);
    assert_int_equal(s.faults[IOMMU_REASON_DOMAIN_BOUND], 1);
    assert_int_equal(s.faults[IOMMU_REASON_GLOBAL_BOUND], 1);
}

static void test_set_domain_bound__below_current_pins__is_busy(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x10000, 4 * PG, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_set_domain_bound(f->mmu, RID_A, 3), -EBUSY);
    assert_int_equal(iommu_set_domain_bound(f->mmu, RID_A, 4), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x20000, 0x20000, IOMMU_PERM_READ),
                     IOMMU_ERR_DOMAIN_BOUND);
    assert_int_equal(iommu_set_domain_bound(f->mmu, 0x0100, 4), -ENOENT);
}

static void test_peak_pins__are_remembered(void **state)
{
    Fix *f = *state;
    IommuStats s;

    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x10000, 5 * PG, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap_range(f->mmu, RID_A, 0x10000, 5 * PG), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x10000, IOMMU_PERM_READ), 0);
    iommu_stats(f->mmu, &s);
    assert_int_equal(s.pins_now, 1);
    assert_int_equal(s.pins_peak, 5);
}

/* Lazy mode: an unmapped page keeps its pin until its invalidation is done,
 * and keeps counting against the bound. */
static void test_lazy_unmapped_pages__stay_pinned_until_the_drain(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x10000, 3 * PG, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap_range(f->mmu, RID_A, 0x10000, 3 * PG), 0);
    assert_true(iommu_frame_is_pinned(f->mmu, 0x11000));
    assert_int_equal(iommu_domain_pins(f->mmu, RID_A), 3);
    iommu_flush(f->mmu);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x11000));
    assert_int_equal(iommu_domain_pins(f->mmu, RID_A), 0);
}

static void test_lazy_map_that_fits_only_after_a_drain__drains_and_succeeds(void **state)
{
    Fix *f = *state;
    IommuStats s;

    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x10000, 8 * PG, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap_range(f->mmu, RID_A, 0x10000, 4 * PG), 0);
    assert_int_equal(iommu_flush_pending(f->mmu), 4);
    /* 8 charged, 4 of them deferred: 4 more fit once the queue drains. */
    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x40000, 0x40000, 4 * PG, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_flush_pending(f->mmu), 0);
    iommu_stats(f->mmu, &s);
    assert_int_equal(s.flushes, 1);
    assert_int_equal(iommu_domain_pins(f->mmu, RID_A), 8);
}

static void test_lazy_map_that_fits_not_even_after_a_drain__changes_nothing(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x10000, 8 * PG, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap_range(f->mmu, RID_A, 0x10000, 2 * PG), 0);
    /* 6 live + 3 > 8 even after the drain: nothing drained, nothing mapped. */
    assert_refused_unchanged(f->mmu,
                             iommu_map_range(f->mmu, RID_A, 0x40000, 0x40000, 3 * PG,
                                             IOMMU_PERM_READ),
                             IOMMU_ERR_DOMAIN_BOUND);
    assert_int_equal(iommu_flush_pending(f->mmu), 2);
}

#define TS(fn) cmocka_unit_test_setup_teardown(fn, fix_setup_strict, iommu_test_fix_teardown)
#define TL(fn) cmocka_unit_test_setup_teardown(fn, fix_setup_lazy, iommu_test_fix_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS(test_each_mapping__pins_its_frame_once),
        TS(test_map_over_domain_bound__fails_and_changes_nothing),
        TL(test_map_over_domain_bound__fails_and_changes_nothing),
        TS(test_map_over_global_bound__fails_and_changes_nothing),
        TS(test_range_map_failing_part_way__changes_nothing),
        TS(test_refused_map__reported_by_the_caller__is_a_bound_fault),
        TS(test_set_domain_bound__below_current_pins__is_busy),
        TS(test_peak_pins__are_remembered),
        TL(test_lazy_unmapped_pages__stay_pinned_until_the_drain),
        TL(test_lazy_map_that_fits_only_after_a_drain__drains_and_succeeds),
        TL(test_lazy_map_that_fits_not_even_after_a_drain__changes_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
