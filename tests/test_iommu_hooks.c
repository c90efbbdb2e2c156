/*
 * tests/test_iommu_hooks.c: the two notification hooks of the IOMMU.
 *
 * The pin hook must see a frame's pin count cross 0 in either direction
 * exactly once -- however many mappings share the frame, and whenever the
 * release really happens (strict unmap, lazy drain, detach) -- and never for
 * a refused request or a restore.  The write hook must see every device
 * write that landed in guest RAM as its guest-physical pieces, and nothing
 * else.
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
#define WINDOW_NS 1000u
#define FQ_MAX 4u
#define EVENTS_MAX 64

typedef struct Event {
    uint64_t a, b; /* pin: pfn, pinned; write: phys, len */
} Event;

typedef struct Fix {
    uint8_t *ram;
    Iommu *mmu;
    DmaPort port;
    Event ev[EVENTS_MAX];
    unsigned nev;
} Fix;

static void fix_pin_hook(void *opaque, uint64_t pfn, bool pinned)
{
    Fix *f = opaque;

    assert_true(f->nev < EVENTS_MAX);
    /* The count has already changed when the hook runs. */
    assert_int_equal(iommu_frame_is_pinned(f->mmu, pfn << IOMMU_PAGE_SHIFT), pinned);
    f->ev[f->nev].a = pfn;
    f->ev[f->nev].b = pinned;
    f->nev++;
}

static void fix_write_hook(void *opaque, uint64_t phys, uint64_t len)
{
    Fix *f = opaque;

    assert_true(f->nev < EVENTS_MAX);
    f->ev[f->nev].a = phys;
    f->ev[f->nev].b = len;
    f->nev++;
}

static void fix_tune(IommuConfig *cfg)
{
    cfg->pin_bound_domain = 8;
    cfg->pin_bound_global = 12;
    cfg->flush_queue_max = FQ_MAX;
    cfg->flush_window_ns = WINDOW_NS;
}

static int fix_setup_mode(void **state, IommuMode mode)
{
    Fix *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    iommu_test_start(&f->ram, &f->mmu, &f->port, mode, fix_tune, "rtl8139", "ne2000");
    *state = f;
    return 0;
}

static int fix_setup_strict(void **state)
{
    return fix_setup_mode(state, IOMMU_MODE_STRICT);
}

static int fix_setup_lazy(void **state)
{
    return fix_setup_mode(state, IOMMU_MODE_LAZY);
}

static int fix_teardown(void **state)
{
    Fix *f = *state;

    iommu_test_stop(f->ram, f->mmu);
    free(f);
    return 0;
}

static void pins_watch(Fix *f)
{
    iommu_set_pin_hook(f->mmu, fix_pin_hook, f);
}

static void writes_watch(Fix *f)
{
    iommu_set_write_hook(f->mmu, fix_write_hook, f);
}

static void assert_event(const Fix *f, unsigned i, uint64_t a, uint64_t b)
{
    assert_true(i < f->nev);
    assert_int_equal(f->ev[i].a, a);
    assert_int_equal(f->ev[i].b, b);
}

/* --- pin hook ------------------------------------------------------------ */

static void test_pin_hook__frame_mapped_in_two_domains__pinned_once_unpinned_after_both(
    void **state)
{
    Fix *f = *state;

    pins_watch(f);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x1000, 0x5000, IOMMU_PERM_READ), 0);
    assert_int_equal(f->nev, 1);
    assert_event(f, 0, 0x5, true);
    assert_int_equal(iommu_map(f->mmu, RID_B, 0x9000, 0x5000, IOMMU_PERM_READ), 0);
    assert_int_equal(f->nev, 1);
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x1000), 0);
    assert_int_equal(f->nev, 1);
    assert_int_equal(iommu_unmap(f->mmu, RID_B, 0x9000), 0);
    assert_int_equal(f->nev, 2);
    assert_event(f, 1, 0x5, false);
}

static void test_pin_hook__frame_mapped_at_two_iovas__pinned_once_unpinned_after_both(
    void **state)
{
    Fix *f = *state;

    pins_watch(f);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x1000, 0x7000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x2000, 0x7000, IOMMU_PERM_WRITE), 0);
    assert_int_equal(f->nev, 1);
    assert_event(f, 0, 0x7, true);
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x2000), 0);
    assert_int_equal(f->nev, 1);
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x1000), 0);
    assert_int_equal(f->nev, 2);
    assert_event(f, 1, 0x7, false);
}

static void test_pin_hook__range_map_and_strict_unmap__report_each_frame_at_once(void **state)
{
    Fix *f = *state;

    pins_watch(f);
    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x20000, 3 * PG,
                                     IOMMU_PERM_READ), 0);
    assert_int_equal(f->nev, 3);
    assert_event(f, 0, 0x20, true);
    assert_event(f, 1, 0x21, true);
    assert_event(f, 2, 0x22, true);
    assert_int_equal(iommu_unmap_range(f->mmu, RID_A, 0x11000, 2 * PG), 0);
    assert_int_equal(f->nev, 5);
    assert_event(f, 3, 0x21, false);
    assert_event(f, 4, 0x22, false);
}

static void test_pin_hook__lazy_unmap__reports_unpin_only_when_the_window_drains(void **state)
{
    Fix *f = *state;

    pins_watch(f);
    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x30000, 2 * PG,
                                     IOMMU_PERM_READ), 0);
    assert_int_equal(f->nev, 2);
    assert_int_equal(iommu_unmap_range(f->mmu, RID_A, 0x10000, 2 * PG), 0);
    assert_int_equal(f->nev, 2); /* deferred: the device can still reach them */
    iommu_advance_time(f->mmu, WINDOW_NS - 1);
    assert_int_equal(f->nev, 2);
    iommu_advance_time(f->mmu, 1);
    assert_int_equal(f->nev, 4);
    assert_event(f, 2, 0x30, false);
    assert_event(f, 3, 0x31, false);
}

static void test_pin_hook__lazy_unmap__reports_unpin_when_the_queue_fills(void **state)
{
    Fix *f = *state;
    unsigned i;

    pins_watch(f);
    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x40000, FQ_MAX * PG,
                                     IOMMU_PERM_READ), 0);
    assert_int_equal(f->nev, FQ_MAX);
    for (i = 0; i + 1 < FQ_MAX; i++) {
        assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x10000 + i * PG), 0);
    }
    assert_int_equal(f->nev, FQ_MAX);
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x10000 + i * PG), 0); /* fills it */
    assert_int_equal(iommu_flush_pending(f->mmu), 0);
    assert_int_equal(f->nev, 2 * FQ_MAX);
    for (i = 0; i < FQ_MAX; i++) {
        assert_event(f, FQ_MAX + i, 0x40 + i, false);
    }
}

static void test_pin_hook__lazy_frame_remapped_before_the_drain__stays_pinned(void **state)
{
    Fix *f = *state;

    pins_watch(f);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x50000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x10000), 0);
    /* The deferred pin still holds the frame: no 0 -> 1 for the new mapping. */
    assert_int_equal(iommu_map(f->mmu, RID_B, 0x10000, 0x50000, IOMMU_PERM_READ), 0);
    iommu_flush(f->mmu);
    assert_int_equal(f->nev, 1);
    assert_int_equal(iommu_unmap(f->mmu, RID_B, 0x10000), 0);
    iommu_flush(f->mmu);
    assert_int_equal(f->nev, 2);
    assert_event(f, 1, 0x50, false);
}

static void test_pin_hook__detach__reports_unpin_of_live_and_deferred_frames(void **state)
{
    Fix *f = *state;

    pins_watch(f);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x60000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x11000, 0x61000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x12000, 0x62000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_map(f->mmu, RID_B, 0x11000, 0x61000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x10000), 0);
    assert_int_equal(iommu_flush_pending(f->mmu), 1);
    f->nev = 0;
    assert_int_equal(iommu_detach(f->mmu, RID_A), 0);
    /* The deferred 0x60 (drained first) and the live 0x62 lose their last
     * pin; 0x61 is still held by RID_B. */
    assert_int_equal(f->nev, 2);
    assert_event(f, 0, 0x60, false);
    assert_event(f, 1, 0x62, false);
    assert_int_equal(iommu_detach(f->mmu, RID_B), 0);
    assert_int_equal(f->nev, 3);
    assert_event(f, 2, 0x61, false);
}

static void test_pin_hook__map_refused_by_a_pin_bound__reports_nothing(void **state)
{
    Fix *f = *state;

    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x10000, 0x10000, 6 * PG,
                                     IOMMU_PERM_READ), 0);
    pins_watch(f);
    /* Domain bound: 6 + 3 > 8. */
    assert_int_equal(iommu_map_range(f->mmu, RID_A, 0x20000, 0x20000, 3 * PG,
                                     IOMMU_PERM_READ), IOMMU_ERR_DOMAIN_BOUND);
    assert_int_equal(iommu_map_range(f->mmu, RID_B, 0x10000, 0x30000, 6 * PG,
                                     IOMMU_PERM_READ), 0);
    assert_int_equal(f->nev, 6);
    /* Global bound: 12 + 1 > 12. */
    assert_int_equal(iommu_map(f->mmu, RID_B, 0x20000, 0x40000, IOMMU_PERM_READ),
                     IOMMU_ERR_GLOBAL_BOUND);
    assert_int_equal(f->nev, 6);
    assert_false(iommu_frame_is_pinned(f->mmu, 0x20000));
    assert_false(iommu_frame_is_pinned(f->mmu, 0x40000));
}

static void test_pin_hook__restore__reports_nothing_and_keeps_the_hook(void **state)
{
    Fix *f = *state;
    size_t n = 0;
    uint8_t *blob;

    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x70000, IOMMU_PERM_READ), 0);
    n = iommu_state_size(f->mmu);
    blob = malloc(n);
    assert_int_equal(iommu_state_save(f->mmu, blob, n), (long)n);
    pins_watch(f);
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x10000), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x71000, IOMMU_PERM_READ), 0);
    assert_int_equal(f->nev, 2);
    /* Restore brings back 0x70 and drops 0x71 wholesale: no hook. */
    assert_int_equal(iommu_state_restore(f->mmu, blob, n, NULL), 0);
    free(blob);
    assert_int_equal(f->nev, 2);
    assert_true(iommu_frame_is_pinned(f->mmu, 0x70000));
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x10000), 0);
    assert_int_equal(f->nev, 3);
    assert_event(f, 2, 0x70, false);
}

static void test_pin_hook__cleared__is_not_called(void **state)
{
    Fix *f = *state;

    pins_watch(f);
    iommu_set_pin_hook(f->mmu, NULL, NULL);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x70000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x10000), 0);
    assert_int_equal(f->nev, 0);
}

/* --- write hook ---------------------------------------------------------- */

static void test_write_hook__write_across_pages_on_scattered_frames__one_call_a_piece(
    void **state)
{
    Fix *f = *state;
    static uint8_t big[2 * 4096];
    uint8_t buf[0x300];

    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x5000, IOMMU_PERM_WRITE), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x11000, 0x9000, IOMMU_PERM_WRITE), 0);
    writes_watch(f);
    assert_int_equal(dma_write(&f->port, 0x10f00, buf, sizeof(buf)), 0);
    assert_int_equal(f->nev, 2);
    assert_event(f, 0, 0x5f00, 0x100);
    assert_event(f, 1, 0x9000, 0x200);
    assert_int_equal(f->ram[0x5f00], 0xa5);
    assert_int_equal(f->ram[0x91ff], 0xa5);
    assert_int_equal(f->ram[0x9200], 0);
    /* A piece starting at guest-physical 0 is a piece like any other. */
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x30000, 0x0, IOMMU_PERM_WRITE), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x31000, 0x2000, IOMMU_PERM_WRITE), 0);
    assert_int_equal(dma_write(&f->port, 0x30000, big, PG + 0x100), 0);
    assert_int_equal(f->nev, 4);
    assert_event(f, 2, 0x0, PG);
    assert_event(f, 3, 0x2000, 0x100);
}

static void test_write_hook__write_across_adjacent_frames__merges_them(void **state)
{
    Fix *f = *state;
    static uint8_t buf[20 * 4096]; /* more pages than dma_port keeps on its stack */
    IommuConfig cfg;
    Iommu *mmu;

    /* An unbounded IOMMU of its own: 20 pins exceed the fixture's bounds. */
    iommu_config_default(&cfg, f->ram, RAM_SIZE);
    assert_int_equal(iommu_new(&cfg, &mmu, NULL), 0);
    assert_int_equal(iommu_attach(mmu, RID_A, "rtl8139"), 0);
    dma_port_init(&f->port, mmu, RID_A, DMA_PORT_TRANSLATED);
    /* IOVA pages 0..2 -> frames 0x20..0x22, 3 -> 0x80, 4..19 -> 0x24..0x33. */
    assert_int_equal(iommu_map_range(mmu, RID_A, 0x10000, 0x20000, 3 * PG, IOMMU_PERM_WRITE), 0);
    assert_int_equal(iommu_map(mmu, RID_A, 0x13000, 0x80000, IOMMU_PERM_WRITE), 0);
    assert_int_equal(iommu_map_range(mmu, RID_A, 0x14000, 0x24000, 16 * PG, IOMMU_PERM_WRITE), 0);
    iommu_set_write_hook(mmu, fix_write_hook, f);
    assert_int_equal(dma_write(&f->port, 0x10010, buf, 20 * PG - 0x20), 0);
    assert_int_equal(f->nev, 3);
    assert_event(f, 0, 0x20010, 3 * PG - 0x10);
    assert_event(f, 1, 0x80000, PG);
    assert_event(f, 2, 0x24000, 16 * PG - 0x10);
    iommu_free(mmu);
}

static void test_write_hook__single_page_write__one_call(void **state)
{
    Fix *f = *state;
    uint8_t buf[64] = { 1 };

    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x6000, IOMMU_PERM_WRITE), 0);
    writes_watch(f);
    assert_int_equal(dma_write(&f->port, 0x10040, buf, sizeof(buf)), 0);
    assert_int_equal(f->nev, 1);
    assert_event(f, 0, 0x6040, 64);
    assert_int_equal(dma_write(&f->port, 0x10040, buf, 0), 0); /* zero length */
    assert_int_equal(f->nev, 1);
}

static void test_write_hook__reads__are_not_reported(void **state)
{
    Fix *f = *state;
    uint8_t buf[0x300];

    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x5000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x11000, 0x9000, IOMMU_PERM_READ), 0);
    writes_watch(f);
    assert_int_equal(dma_read(&f->port, 0x10f00, buf, sizeof(buf)), 0);
    assert_int_equal(dma_read(&f->port, 0x10000, buf, 16), 0);
    assert_int_equal(f->nev, 0);
}

static void test_write_hook__faulting_writes__are_not_reported(void **state)
{
    Fix *f = *state;
    uint8_t buf[0x300] = { 0 };

    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x5000, IOMMU_PERM_WRITE), 0);
    assert_int_equal(iommu_map(f->mmu, RID_A, 0x20000, 0x6000, IOMMU_PERM_READ), 0);
    writes_watch(f);
    /* Second page not mapped: nothing moves, nothing is reported. */
    assert_int_equal(dma_write(&f->port, 0x10f00, buf, sizeof(buf)), -EFAULT);
    /* Read-only page. */
    assert_int_equal(dma_write(&f->port, 0x20000, buf, 16), -EACCES);
    /* No mapping at all, and no domain. */
    assert_int_equal(dma_write(&f->port, 0x90000, buf, 16), -EFAULT);
    dma_port_init(&f->port, f->mmu, 0x0100, DMA_PORT_TRANSLATED);
    assert_int_equal(dma_write(&f->port, 0x10000, buf, 16), -EFAULT);
    assert_int_equal(f->nev, 0);
}

static void test_write_hook__lazy_stale_iotlb_write__landed_and_is_reported(void **state)
{
    Fix *f = *state;
    uint8_t buf[16] = { 0 };

    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x5000, IOMMU_PERM_WRITE), 0);
    assert_int_equal(dma_write(&f->port, 0x10000, buf, 16), 0); /* fills the IOTLB */
    assert_int_equal(iommu_unmap(f->mmu, RID_A, 0x10000), 0);
    writes_watch(f);
    assert_int_equal(dma_write(&f->port, 0x10008, buf, 8), 0);
    assert_int_equal(iommu_fault_count(f->mmu), 1);
    assert_int_equal(f->nev, 1);
    assert_event(f, 0, 0x5008, 8);
}

static void test_write_hook__iommu_off__one_call_for_the_write_none_else(void **state)
{
    Fix *f = *state;
    uint8_t buf[3 * 4096];

    memset(buf, 0x3c, sizeof(buf));
    dma_port_init(&f->port, f->mmu, RID_A, DMA_PORT_OFF);
    writes_watch(f);
    assert_int_equal(dma_write(&f->port, 0x7f00, buf, sizeof(buf)), 0);
    assert_int_equal(f->nev, 1);
    assert_event(f, 0, 0x7f00, sizeof(buf));
    assert_int_equal(f->ram[0x7f00 + sizeof(buf) - 1], 0x3c);
    assert_int_equal(dma_read(&f->port, 0x7f00, buf, sizeof(buf)), 0);
    assert_int_equal(dma_write(&f->port, RAM_SIZE - 8, buf, 16), -EFAULT);
    assert_int_equal(f->nev, 1);
}

static void test_write_hook__cleared__is_not_called(void **state)
{
    Fix *f = *state;
    uint8_t buf[16] = { 0 };

    assert_int_equal(iommu_map(f->mmu, RID_A, 0x10000, 0x5000, IOMMU_PERM_WRITE), 0);
    writes_watch(f);
    iommu_set_write_hook(f->mmu, NULL, NULL);
    assert_int_equal(dma_write(&f->port, 0x10000, buf, 16), 0);
    assert_int_equal(f->nev, 0);
}

#define TS(fn) cmocka_unit_test_setup_teardown(fn, fix_setup_strict, fix_teardown)
#define TL(fn) cmocka_unit_test_setup_teardown(fn, fix_setup_lazy, fix_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS(test_pin_hook__frame_mapped_in_two_domains__pinned_once_unpinned_after_both),
        TS(test_pin_hook__frame_mapped_at_two_iovas__pinned_once_unpinned_after_both),
        TS(test_pin_hook__range_map_and_strict_unmap__report_each_frame_at_once),
        TL(test_pin_hook__lazy_unmap__reports_unpin_only_when_the_window_drains),
        TL(test_pin_hook__lazy_unmap__reports_unpin_when_the_queue_fills),
        TL(test_pin_hook__lazy_frame_remapped_before_the_drain__stays_pinned),
        TL(test_pin_hook__detach__reports_unpin_of_live_and_deferred_frames),
        TS(test_pin_hook__map_refused_by_a_pin_bound__reports_nothing),
        TL(test_pin_hook__map_refused_by_a_pin_bound__reports_nothing),
        TS(test_pin_hook__restore__reports_nothing_and_keeps_the_hook),
        TS(test_pin_hook__cleared__is_not_called),
        TS(test_write_hook__write_across_pages_on_scattered_frames__one_call_a_piece),
        TS(test_write_hook__write_across_adjacent_frames__merges_them),
        TS(test_write_hook__single_page_write__one_call),
        TS(test_write_hook__reads__are_not_reported),
        TS(test_write_hook__faulting_writes__are_not_reported),
        TL(test_write_hook__lazy_stale_iotlb_write__landed_and_is_reported),
        TS(test_write_hook__iommu_off__one_call_for_the_write_none_else),
        TS(test_write_hook__cleared__is_not_called),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
