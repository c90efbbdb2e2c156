/*
 * tests/test_iommu_state.c: iommu_state_size/save/restore.  A restored IOMMU
 * behaves exactly like the one saved (same IOTLB hits, same stale entries,
 * same queued invalidations, same fault queue); a malformed blob is refused
 * and leaves the IOMMU as it was.
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

static Iommu *new_mmu(uint8_t *ram, uint64_t ram_size, IommuMode mode)
{
    IommuConfig cfg;
    Iommu *mmu;

    iommu_config_default(&cfg, ram, ram_size);
    cfg.mode = mode;
    cfg.flush_queue_max = 32;
    cfg.fault_queue_max = 8;
    cfg.pin_bound_domain = 64;
    assert_int_equal(iommu_new(&cfg, &mmu, NULL), 0);
    return mmu;
}

static void assert_same_state(const Iommu *a, const Iommu *b)
{
    size_t na, nb;
    uint8_t *ba = iommu_test_blob(a, &na), *bb = iommu_test_blob(b, &nb);

    assert_int_equal(na, nb);
    assert_memory_equal(ba, bb, na);
    free(ba);
    free(bb);
}

/* Lazy mode, two domains, live and queued mappings, a stale IOTLB entry,
 * notes, faults and a bound that was changed. */
static void build_rich_state(Iommu *mmu)
{
    DmaPort pa, pb;
    uint8_t b[16] = {0};

    iommu_set_time(mmu, 777);
    assert_int_equal(iommu_attach(mmu, RID_A, "rtl8139"), 0);
    assert_int_equal(iommu_attach(mmu, RID_B, "ne2000"), 0);
    assert_int_equal(iommu_set_domain_bound(mmu, RID_B, 20), 0);
    dma_port_init(&pa, mmu, RID_A, DMA_PORT_TRANSLATED);
    dma_port_init(&pb, mmu, RID_B, DMA_PORT_TRANSLATED);
    assert_int_equal(iommu_map_range(mmu, RID_A, 0x100000, 0x10000, 8 * PG,
                                     IOMMU_PERM_READ | IOMMU_PERM_WRITE), 0);
    assert_int_equal(iommu_map_range(mmu, RID_B, 0x7fff0000000ull, 0x10000, 2 * PG,
                                     IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_note_address(mmu, RID_A, 0x100000, 8 * PG, 0xffffffffc0000abcull), 0);
    assert_int_equal(dma_read(&pa, 0x100000, b, sizeof(b)), 0);
    assert_int_equal(dma_read(&pb, 0x7fff0001000ull, b, sizeof(b)), 0);
    /* Attach and detach a third, so a free table list and a free slot exist
     * (before the unmap below: a detach completes all queued invalidations). */
    assert_int_equal(iommu_attach(mmu, 0x0028, "pcnet"), 0);
    assert_int_equal(iommu_map(mmu, 0x0028, 0x1000, 0x3000, IOMMU_PERM_READ), 0);
    assert_int_equal(iommu_detach(mmu, 0x0028), 0);
    assert_int_equal(iommu_unmap_range(mmu, RID_A, 0x100000, 2 * PG), 0); /* queued */
    assert_int_equal(dma_write(&pb, 0x7fff0000000ull, b, 4), -EACCES);
    assert_int_equal(dma_read(&pa, 0x900000, b, 4), -EFAULT);
}

/* The same steps on any IOMMU: their results must not depend on whether the
 * state was restored. */
static void continue_run(Iommu *mmu, IommuFault *last)
{
    DmaPort pa;
    uint8_t b[4];

    dma_port_init(&pa, mmu, RID_A, DMA_PORT_TRANSLATED);
    assert_int_equal(dma_read(&pa, 0x100000, b, 4), 0); /* stale, completes */
    iommu_advance_time(mmu, IOMMU_FLUSH_WINDOW_DEFAULT_NS);
    assert_int_equal(dma_read(&pa, 0x100000, b, 4), -EFAULT);
    assert_int_equal(iommu_map(mmu, RID_A, 0x100000, 0x50000, IOMMU_PERM_READ), 0);
    assert_int_equal(dma_read(&pa, 0x102000, b, 4), 0);
    while (iommu_fault_pop(mmu, last)) {
    }
}

static void test_round_trip__restored_iommu_saves_the_same_blob(void **state)
{
    uint8_t *ram = calloc(1, RAM_SIZE);
    Iommu *a = new_mmu(ram, RAM_SIZE, IOMMU_MODE_LAZY);
    Iommu *b = new_mmu(ram, RAM_SIZE, IOMMU_MODE_STRICT); /* config comes with the state */
    size_t n;
    uint8_t *blob;
    SlError err;

    (void)state;
    build_rich_state(a);
    blob = iommu_test_blob(a, &n);
    assert_int_equal(iommu_state_restore(b, blob, n, &err), 0);
    assert_same_state(a, b);
    assert_int_equal(iommu_mode(b), IOMMU_MODE_LAZY);
    assert_int_equal(iommu_time(b), 777);
    assert_int_equal(iommu_flush_pending(b), 2);
    assert_string_equal(iommu_domain_name(b, RID_B), "ne2000");
    assert_int_equal(iommu_domain_pins(b, RID_A), 8);
    assert_true(iommu_frame_is_pinned(b, 0x10000));
    free(blob);
    iommu_free(a);
    iommu_free(b);
    free(ram);
}

static void test_restored_iommu__continues_exactly_like_the_original(void **state)
{
    uint8_t *ram = calloc(1, RAM_SIZE);
    Iommu *a = new_mmu(ram, RAM_SIZE, IOMMU_MODE_LAZY);
    Iommu *b = new_mmu(ram, RAM_SIZE, IOMMU_MODE_LAZY);
    IommuFault fa, fb;
    IommuStats sa, sb;
    size_t n;
    uint8_t *blob;

    (void)state;
    build_rich_state(a);
    blob = iommu_test_blob(a, &n);
    assert_int_equal(iommu_state_restore(b, blob, n, NULL), 0);
    continue_run(a, &fa);
    continue_run(b, &fb);
    assert_same_state(a, b);
    assert_memory_equal(&fa, &fb, sizeof(fa));
    iommu_stats(a, &sa);
    iommu_stats(b, &sb);
    assert_int_equal(sa.faults[IOMMU_REASON_STALE_IOTLB], 1);
    assert_memory_equal(&sa, &sb, sizeof(sa));
    free(blob);
    iommu_free(a);
    iommu_free(b);
    free(ram);
}

static void test_restore__rewinds_the_same_iommu(void **state)
{
    uint8_t *ram = calloc(1, RAM_SIZE);
    Iommu *a = new_mmu(ram, RAM_SIZE, IOMMU_MODE_LAZY);
    IommuFault last;
    size_t n, n2;
    uint8_t *blob, *again;

    (void)state;
    build_rich_state(a);
    blob = iommu_test_blob(a, &n);
    continue_run(a, &last);
    assert_int_equal(iommu_detach(a, RID_B), 0);
    assert_int_equal(iommu_state_restore(a, blob, n, NULL), 0);
    again = iommu_test_blob(a, &n2);
    assert_int_equal(n, n2);
    assert_memory_equal(blob, again, n);
    assert_true(iommu_is_attached(a, RID_B));
    free(blob);
    free(again);
    iommu_free(a);
    free(ram);
}

static void test_restore__of_another_ram_size__is_refused(void **state)
{
    uint8_t *ram = calloc(1, RAM_SIZE);
    Iommu *a = new_mmu(ram, RAM_SIZE, IOMMU_MODE_LAZY);
    Iommu *small = new_mmu(ram, RAM_SIZE / 2, IOMMU_MODE_LAZY);
    size_t n;
    uint8_t *blob;
    SlError err;

    (void)state;
    build_rich_state(a);
    blob = iommu_test_blob(a, &n);
    assert_int_equal(iommu_state_restore(small, blob, n, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ram_frames"));
    assert_false(iommu_is_attached(small, RID_A));
    free(blob);
    iommu_free(a);
    iommu_free(small);
    free(ram);
}

static void test_save__into_a_short_buffer__is_enospc(void **state)
{
    uint8_t *ram = calloc(1, RAM_SIZE);
    Iommu *a = new_mmu(ram, RAM_SIZE, IOMMU_MODE_STRICT);
    uint8_t small[16];

    (void)state;
    assert_int_equal(iommu_state_save(a, small, sizeof(small)), -ENOSPC);
    iommu_free(a);
    free(ram);
}

/* Every truncation and many single-byte corruptions: each restore either
 * refuses (and leaves the IOMMU unchanged) or yields a state the IOMMU can
 * keep running on -- never a crash, never a broken invariant. */
static void test_corrupt_blobs__are_refused_or_harmless(void **state)
{
    uint8_t *ram = calloc(1, RAM_SIZE);
    Iommu *a = new_mmu(ram, RAM_SIZE, IOMMU_MODE_LAZY);
    Iommu *b = new_mmu(ram, RAM_SIZE, IOMMU_MODE_LAZY);
    size_t n, i, before_n, refused = 0;
    uint8_t *blob, *bad, *before, v;
    DmaPort pa;
    SlError err;
    int rc;

    (void)state;
    build_rich_state(a);
    blob = iommu_test_blob(a, &n);
    bad = malloc(n);
    before = iommu_test_blob(b, &before_n);
    for (i = 0; i < n; i += 64) {
        assert_int_equal(iommu_state_restore(b, blob, i, &err), -EINVAL);
    }
    {
        size_t now_n;
        uint8_t *now = iommu_test_blob(b, &now_n);

        assert_int_equal(now_n, before_n);
        assert_memory_equal(now, before, now_n);
        free(now);
    }
    for (i = 0; i < n; i += 3) {
        memcpy(bad, blob, n);
        v = bad[i];
        bad[i] = (uint8_t)(v ^ (1u << (i % 8)));
        rc = iommu_state_restore(b, bad, n, &err);
        if (rc) {
            size_t now_n;
            uint8_t *now = iommu_test_blob(b, &now_n);

            assert_int_equal(rc, -EINVAL);
            assert_int_equal(now_n, before_n);
            assert_memory_equal(now, before, now_n);
            free(now);
            refused++;
            continue;
        }
        /* Accepted: run on it, then go back to the clean empty state. */
        dma_port_init(&pa, b, RID_A, DMA_PORT_TRANSLATED);
        dma_read(&pa, 0x100000, &v, 1);
        dma_write(&pa, 0x104000, &v, 1);
        iommu_flush(b);
        iommu_detach(b, RID_A);
        iommu_detach(b, RID_B);
        assert_int_equal(iommu_state_restore(b, before, before_n, NULL), 0);
    }
    assert_true(refused > 0);
    free(before);
    free(bad);
    free(blob);
    iommu_free(a);
    iommu_free(b);
    free(ram);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip__restored_iommu_saves_the_same_blob),
        cmocka_unit_test(test_restored_iommu__continues_exactly_like_the_original),
        cmocka_unit_test(test_restore__rewinds_the_same_iommu),
        cmocka_unit_test(test_restore__of_another_ram_size__is_refused),
        cmocka_unit_test(test_save__into_a_short_buffer__is_enospc),
        cmocka_unit_test(test_corrupt_blobs__are_refused_or_harmless),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
