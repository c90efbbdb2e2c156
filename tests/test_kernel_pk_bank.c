/*
 * tests/test_kernel_pk_bank.c: space banks -- quotas, nesting (a child's
 * allocation counts against every ancestor), destroy (objects of the bank
 * and its children destroyed, their capabilities void, their frames free),
 * the charge hook the IOMMU side uses for mapping entries, and freeing one
 * object.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_cap.h"
#include "tests/pk_test_fix.h"

static int fix_setup(void **state)
{
    return pk_test_fix_setup(state, 8);
}

static int32_t slot_bank(PkTestFix *f, uint32_t slot)
{
    PkCap c;
    int32_t b;

    assert_int_equal(pk_cap_read_slot(f->s, f->cs, slot, &c), 0);
    assert_int_equal(pk_bank_decode(f->s, &c, 0, &b), 0);
    return b;
}

static void test_bank__allocation_beyond_quota__fails_and_charges_nothing(void **state)
{
    PkTestFix *f = *state;
    uint32_t free_before;
    int32_t b;

    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 3, 0, 1), 0);
    b = slot_bank(f, 1);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_PAGE, 2), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_NODE, 3), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_PAGE, 4), 0);
    assert_int_equal(pk_bank_used(f->s, b, PK_RES_OBJECTS), 3);
    free_before = pk_cache_free_frames(f->s);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_PAGE, 5), -EDQUOT);
    assert_int_equal(pk_bank_used(f->s, b, PK_RES_OBJECTS), 3);
    assert_int_equal(pk_cache_free_frames(f->s), free_before);
    /* The prime bank counts the child's three and the CSpace. */
    assert_int_equal(pk_bank_used(f->s, PK_BANK_PRIME, PK_RES_OBJECTS), 4);
    /* Freeing one makes room again. */
    assert_int_equal(pk_bank_free(f->s, f->cs, 1, 2), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_PAGE, 5), 0);
}

static void test_bank__child_allocations__count_against_every_ancestor(void **state)
{
    PkTestFix *f = *state;
    int32_t parent, child, grandchild;
    int i;

    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 5, 0, 1), 0);        /* parent: 5 */
    assert_int_equal(pk_bank_create(f->s, f->cs, 1, 100, 0, 2), 0);      /* child: 100 */
    assert_int_equal(pk_bank_create(f->s, f->cs, 2, PK_QUOTA_UNLIMITED, 0, 3), 0);
    parent = slot_bank(f, 1);
    child = slot_bank(f, 2);
    grandchild = slot_bank(f, 3);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_PAGE, 10), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 2, PK_OBJ_PAGE, 11), 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(pk_bank_alloc(f->s, f->cs, 3, PK_OBJ_PAGE, 12 + i), 0);
    }
    /* The child's own quota (100) is far away; the parent's 5 is reached. */
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 3, PK_OBJ_PAGE, 20), -EDQUOT);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 2, PK_OBJ_NODE, 20), -EDQUOT);
    assert_int_equal(pk_bank_used(f->s, parent, PK_RES_OBJECTS), 5);
    assert_int_equal(pk_bank_used(f->s, child, PK_RES_OBJECTS), 4);
    assert_int_equal(pk_bank_used(f->s, grandchild, PK_RES_OBJECTS), 3);
    assert_int_equal(pk_bank_used(f->s, PK_BANK_PRIME, PK_RES_OBJECTS), 6);
}

static void test_bank__destroy__voids_capabilities_frees_frames_children_too(void **state)
{
    PkTestFix *f = *state;
    uint32_t free_before = pk_cache_free_frames(f->s);
    uint64_t prime_before = pk_bank_used(f->s, PK_BANK_PRIME, PK_RES_OBJECTS);
    char buf[4];
    uint32_t slot;
    PkCap c;

    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 50, 50, 1), 0);
    assert_int_equal(pk_bank_create(f->s, f->cs, 1, 50, 50, 2), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_PAGE, 3), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_NODE, 4), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 2, PK_OBJ_PAGE, 5), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 6), 0);  /* survives */
    assert_int_equal(pk_cap_copy(f->s, f->cs, 5, 7, PK_RIGHT_READ), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 2, 8, PK_RIGHTS_ALL), 0);
    assert_int_equal(pk_bank_charge(f->s, slot_bank(f, 2), PK_RES_MAP_ENTRIES, 7), 0);
    assert_int_equal(pk_cache_free_frames(f->s), free_before - 4);

    assert_int_equal(pk_bank_destroy(f->s, f->cs, 1), 0);

    assert_int_equal(pk_cache_free_frames(f->s), free_before - 1);
    assert_int_equal(pk_bank_used(f->s, PK_BANK_PRIME, PK_RES_OBJECTS), prime_before + 1);
    assert_int_equal(pk_bank_used(f->s, PK_BANK_PRIME, PK_RES_MAP_ENTRIES), 0);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 3, 0, buf, 4), -ESTALE);
    assert_int_equal(pk_cap_node_fetch(f->s, f->cs, 4, 0, 9), -ESTALE);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 5, 0, buf, 4), -ESTALE);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 7, 0, buf, 4), -ESTALE);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 6, 0, buf, 4), 0);
    for (slot = 1; slot <= 8; slot++) {
        assert_int_equal(pk_cap_read_slot(f->s, f->cs, slot, &c), 0);
        assert_true(pk_cap_is_void(f->s, &c) == (slot != 6));
    }
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 8, PK_OBJ_PAGE, 9), -ESTALE);
    /* A new bank may take the old one's index; the old capabilities stay void. */
    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 50, 50, 10), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_PAGE, 9), -ESTALE);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 10, PK_OBJ_PAGE, 9), 0);
}

static void test_bank__charge_hook__bounded_by_every_ancestor(void **state)
{
    PkTestFix *f = *state;
    uint64_t q[PK_RES_COUNT] = { 10, 8 };
    int32_t parent, child;

    assert_int_equal(pk_bank_new_child(f->s, PK_BANK_PRIME, q, &parent), 0);
    q[PK_RES_MAP_ENTRIES] = PK_QUOTA_UNLIMITED;
    assert_int_equal(pk_bank_new_child(f->s, parent, q, &child), 0);
    assert_int_equal(pk_bank_charge(f->s, child, PK_RES_MAP_ENTRIES, 5), 0);
    assert_int_equal(pk_bank_charge(f->s, parent, PK_RES_MAP_ENTRIES, 3), 0);
    assert_int_equal(pk_bank_charge(f->s, child, PK_RES_MAP_ENTRIES, 1), -EDQUOT);
    assert_int_equal(pk_bank_charge(f->s, child, PK_RES_MAP_ENTRIES, UINT64_MAX), -EDQUOT);
    assert_int_equal(pk_bank_used(f->s, child, PK_RES_MAP_ENTRIES), 5);
    assert_int_equal(pk_bank_used(f->s, parent, PK_RES_MAP_ENTRIES), 8);
    pk_bank_uncharge(f->s, child, PK_RES_MAP_ENTRIES, 2);
    assert_int_equal(pk_bank_charge(f->s, child, PK_RES_MAP_ENTRIES, 2), 0);
    assert_int_equal(pk_bank_charge(f->s, 99, PK_RES_MAP_ENTRIES, 1), -EINVAL);
    assert_int_equal(pk_bank_charge(f->s, child, PK_RES_COUNT, 1), -EINVAL);
    /* Destroying the child hands its entries back to the parent. */
    assert_int_equal(pk_bank_kill(f->s, child), 0);
    assert_int_equal(pk_bank_used(f->s, parent, PK_RES_MAP_ENTRIES), 3);
    assert_int_equal(pk_bank_charge(f->s, child, PK_RES_MAP_ENTRIES, 1), -EINVAL);
    assert_int_equal(pk_bank_kill(f->s, PK_BANK_PRIME), -EPERM);
}

static void test_bank__free__only_what_the_bank_or_its_children_allocated(void **state)
{
    PkTestFix *f = *state;
    uint32_t free_before;
    char buf[1];

    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 10, 0, 1), 0);
    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 10, 0, 2), 0);
    assert_int_equal(pk_bank_create(f->s, f->cs, 1, 10, 0, 3), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 3, PK_OBJ_PAGE, 4), 0);
    assert_int_equal(pk_bank_free(f->s, f->cs, 2, 4), -EACCES);   /* a sibling */
    free_before = pk_cache_free_frames(f->s);
    assert_int_equal(pk_bank_free(f->s, f->cs, 1, 4), 0);         /* an ancestor */
    assert_int_equal(pk_cache_free_frames(f->s), free_before + 1);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 4, 0, buf, 1), -ESTALE);
    assert_int_equal(pk_bank_used(f->s, slot_bank(f, 1), PK_RES_OBJECTS), 0);
}

static void test_bank__table_full__is_refused(void **state)
{
    PkTestFix *f = *state;
    uint32_t i;

    for (i = 1; i < 8; i++) {
        assert_int_equal(pk_bank_create(f->s, f->cs, 0, 1, 1, i), 0);
    }
    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 1, 1, 9), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_bank__allocation_beyond_quota__fails_and_charges_nothing, fix_setup,
            pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(
            test_bank__child_allocations__count_against_every_ancestor, fix_setup,
            pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(
            test_bank__destroy__voids_capabilities_frees_frames_children_too, fix_setup,
            pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(test_bank__charge_hook__bounded_by_every_ancestor,
                                        fix_setup, pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(
            test_bank__free__only_what_the_bank_or_its_children_allocated, fix_setup,
            pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(test_bank__table_full__is_refused, fix_setup,
                                        pk_test_fix_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
