/*
 * tests/test_kernel_pk_cap.c: capabilities of the persistent kernel --
 * copy with reduced rights, revoke (copies made before are void, copies
 * made after are valid), node slots, and decode-then-invoke: a rejected
 * invocation leaves the state blob and the frames byte-identical.
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
    return pk_test_fix_setup(state, 16);
}

static PkCap slot_cap(PkTestFix *f, uint32_t slot)
{
    PkCap c;

    assert_int_equal(pk_cap_read_slot(f->s, f->cs, slot, &c), 0);
    return c;
}

static void test_cap__copy_with_read_only__reads_but_cannot_write(void **state)
{
    PkTestFix *f = *state;
    char buf[8] = { 0 };

    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1), 0);
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 1, 100, "hello", 6), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 1, 2, PK_RIGHT_READ), 0);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 2, 100, buf, 6), 0);
    assert_string_equal(buf, "hello");
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 2, 100, "HELLO", 6), -EACCES);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 1, 100, buf, 6), 0);
    assert_string_equal(buf, "hello");
    assert_int_equal(slot_cap(f, 2).rights, PK_RIGHT_READ);
    assert_int_equal(slot_cap(f, 2).oid, slot_cap(f, 1).oid);
}

static void test_cap__chains_of_copies__never_grow_rights(void **state)
{
    PkTestFix *f = *state;
    uint32_t seed = 12345, i, src, dst;
    uint8_t mask, before;

    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1), 0);
    for (i = 0; i < 2000; i++) {
        seed = seed * 1103515245u + 12345u;
        src = 1 + (seed >> 8) % 8;
        dst = 2 + (seed >> 12) % 7;     /* slot 1 keeps all rights */
        mask = (uint8_t)((seed >> 16) & PK_RIGHTS_ALL);
        if (slot_cap(f, src).type == PK_CAP_NULL) {
            continue;
        }
        before = slot_cap(f, src).rights;
        assert_int_equal(pk_cap_copy(f->s, f->cs, src, dst, mask), 0);
        assert_int_equal(slot_cap(f, dst).rights, before & mask);
        assert_int_equal(slot_cap(f, dst).rights & ~before, 0);
    }
    /* Whatever lost WRITE on the way cannot write. */
    assert_int_equal(pk_cap_copy(f->s, f->cs, 1, 9, PK_RIGHT_READ), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 9, 10, PK_RIGHTS_ALL), 0);
    assert_int_equal(slot_cap(f, 10).rights, PK_RIGHT_READ);
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 10, 0, "x", 1), -EACCES);
}

static void test_cap__revoke__voids_copies_made_before_and_not_after(void **state)
{
    PkTestFix *f = *state;
    char buf[4];

    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_NODE, 5), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 1, 2, PK_RIGHTS_ALL), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 1, 3, PK_RIGHT_READ), 0);
    assert_int_equal(pk_cap_node_store(f->s, f->cs, 5, 7, 1, PK_RIGHTS_ALL), 0);
    assert_false(pk_cap_is_void(f->s, &(PkCap){ 0 }));
    assert_false(pk_cap_is_void(f->s, &(PkCap){ .type = PK_CAP_PAGE,
                                                .count = slot_cap(f, 2).count,
                                                .oid = slot_cap(f, 2).oid }));

    assert_int_equal(pk_cap_revoke(f->s, f->cs, 1), 0);

    assert_int_equal(pk_cap_page_read(f->s, f->cs, 2, 0, buf, 4), -ESTALE);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 3, 0, buf, 4), -ESTALE);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 2, 4, PK_RIGHTS_ALL), -ESTALE);
    assert_true(pk_cap_is_void(f->s, &(PkCap){ .type = PK_CAP_PAGE,
                                               .count = slot_cap(f, 2).count,
                                               .oid = slot_cap(f, 2).oid }));
    /* The copy stored in another node is void too, though nothing tracked it. */
    assert_int_equal(pk_cap_node_fetch(f->s, f->cs, 5, 7, 6), 0);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 6, 0, buf, 4), -ESTALE);
    /* The revoker keeps access; copies made from it now are valid. */
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 1, 0, "abc", 4), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 1, 4, PK_RIGHT_READ), 0);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 4, 0, buf, 4), 0);
    assert_string_equal(buf, "abc");
    assert_int_equal(slot_cap(f, 4).count, slot_cap(f, 2).count + 1);
}

static void test_cap__revoke_without_the_right__is_refused(void **state)
{
    PkTestFix *f = *state;
    char buf[1];

    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 1, 2, PK_RIGHT_READ | PK_RIGHT_WRITE), 0);
    assert_int_equal(pk_cap_revoke(f->s, f->cs, 2), -EACCES);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 1, 0, buf, 1), 0);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 2, 0, buf, 1), 0);
    assert_int_equal(pk_cap_revoke(f->s, f->cs, 9), -EBADF);
}

static void test_cap__bank_revoke__voids_other_bank_copies(void **state)
{
    PkTestFix *f = *state;

    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 10, 10, 1), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 1, 2, PK_RIGHT_ALLOC), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 2, PK_OBJ_PAGE, 3), 0);
    assert_int_equal(pk_cap_revoke(f->s, f->cs, 1), 0);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 2, PK_OBJ_PAGE, 4), -ESTALE);
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_PAGE, 4), 0);
    /* Revoking a bank capability does not destroy what it allocated. */
    assert_int_equal(pk_cap_page_write(f->s, f->cs, 3, 0, "k", 1), 0);
}

static void test_cap__number_capability__copies_and_is_never_void(void **state)
{
    PkTestFix *f = *state;
    PkCap n = { .type = PK_CAP_NUMBER, .rights = PK_RIGHT_READ, .oid = 0x1234 };

    assert_int_equal(pk_cap_mint(f->s, f->cs, 3, &n), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 3, 4, PK_RIGHTS_ALL), 0);
    assert_int_equal(slot_cap(f, 4).oid, 0x1234);
    assert_false(pk_cap_is_void(f->s, &n));
    assert_int_equal(pk_cap_revoke(f->s, f->cs, 3), -EBADF);
    assert_int_equal(pk_cap_page_read(f->s, f->cs, 3, 0, NULL, 0), -EBADF);
}

/* The whole observable state: the blob and every frame's bytes. */
typedef struct Image {
    uint8_t *blob;
    size_t size;
    uint8_t *frames;
} Image;

static Image image_take(PkTestFix *f)
{
    Image im;

    im.size = pk_store_state_size(f->s);
    im.blob = malloc(im.size);
    assert_int_equal(pk_store_state_save(f->s, im.blob, im.size), (long)im.size);
    im.frames = malloc((size_t)PK_TEST_NFRAMES * PK_PAGE_SIZE);
    memcpy(im.frames, f->frames, (size_t)PK_TEST_NFRAMES * PK_PAGE_SIZE);
    return im;
}

static void image_assert_same(PkTestFix *f, const Image *a, int line)
{
    Image b = image_take(f);

    if (b.size != a->size || memcmp(a->blob, b.blob, a->size) != 0 ||
        memcmp(a->frames, b.frames, (size_t)PK_TEST_NFRAMES * PK_PAGE_SIZE) != 0) {
        fail_msg("the rejected call at line %d changed the state", line);
    }
    free(b.blob);
    free(b.frames);
}

#define REJECT(call, code)                                                                  \
    do {                                                                                    \
        assert_int_equal((call), (code));                                                   \
        image_assert_same(f, &before, __LINE__);                                            \
    } while (0)

static void test_cap__rejected_invocations__change_nothing(void **state)
{
    PkTestFix *f = *state;
    PkCap n = { .type = PK_CAP_NUMBER, .oid = 7 };
    char buf[64] = { 0 };
    Image before;
    PkOid page_oid;
    int pass;

    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 1), 0);   /* page */
    assert_int_equal(pk_cap_copy(f->s, f->cs, 1, 2, PK_RIGHT_READ), 0);   /* read-only */
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_NODE, 3), 0);   /* node */
    assert_int_equal(pk_cap_copy(f->s, f->cs, 3, 4, PK_RIGHT_WRITE), 0);  /* write-only */
    assert_int_equal(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 5), 0);
    assert_int_equal(pk_cap_copy(f->s, f->cs, 5, 6, PK_RIGHTS_ALL), 0);
    assert_int_equal(pk_cap_revoke(f->s, f->cs, 5), 0);                  /* 6 is void */
    assert_int_equal(pk_bank_create(f->s, f->cs, 0, 0, 0, 7), 0);         /* empty quota */
    assert_int_equal(pk_cap_copy(f->s, f->cs, 0, 8, PK_RIGHT_READ), 0);   /* bank, no ALLOC */
    assert_int_equal(pk_cap_mint(f->s, f->cs, 9, &n), 0);
    page_oid = slot_cap(f, 1).oid;

    /* Twice: with no checkpoint running, and inside a snapshot where a
     * write would first copy the page aside -- a rejected one must not. */
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            assert_int_equal(pk_store_snapshot_begin(f->s, 1), 0);
        }
        before = image_take(f);
        REJECT(pk_cap_copy(f->s, f->cs, 32, 10, PK_RIGHTS_ALL), -EINVAL);
        REJECT(pk_cap_copy(f->s, f->cs, 1, 32, PK_RIGHTS_ALL), -EINVAL);
        REJECT(pk_cap_copy(f->s, f->cs, 1, 10, 0x80), -EINVAL);
        REJECT(pk_cap_copy(f->s, f->cs, 20, 10, PK_RIGHTS_ALL), -EBADF);
        REJECT(pk_cap_copy(f->s, f->cs, 6, 10, PK_RIGHTS_ALL), -ESTALE);
        REJECT(pk_cap_copy(f->s, page_oid, 0, 1, PK_RIGHTS_ALL), -EINVAL);
        REJECT(pk_cap_copy(f->s, 0xdead0000, 0, 1, PK_RIGHTS_ALL), -EINVAL);
        REJECT(pk_cap_page_write(f->s, f->cs, 1, 4000, buf, 97), -EINVAL);
        REJECT(pk_cap_page_write(f->s, f->cs, 1, 4097, buf, 0), -EINVAL);
        REJECT(pk_cap_page_write(f->s, f->cs, 1, 0, NULL, 4), -EINVAL);
        REJECT(pk_cap_page_write(f->s, f->cs, 2, 0, buf, 4), -EACCES);
        REJECT(pk_cap_page_write(f->s, f->cs, 3, 0, buf, 4), -EBADF);
        REJECT(pk_cap_page_write(f->s, f->cs, 6, 0, buf, 4), -ESTALE);
        REJECT(pk_cap_page_read(f->s, f->cs, 9, 0, buf, 4), -EBADF);
        REJECT(pk_cap_node_store(f->s, f->cs, 3, 32, 1, PK_RIGHTS_ALL), -EINVAL);
        REJECT(pk_cap_node_store(f->s, f->cs, 3, 0, 6, PK_RIGHTS_ALL), -ESTALE);
        REJECT(pk_cap_node_store(f->s, f->cs, 3, 0, 1, 0xff), -EINVAL);
        REJECT(pk_cap_node_store(f->s, f->cs, 1, 0, 1, PK_RIGHTS_ALL), -EBADF);
        REJECT(pk_cap_node_fetch(f->s, f->cs, 4, 0, 10), -EACCES);
        REJECT(pk_cap_node_fetch(f->s, f->cs, 3, 0, 40), -EINVAL);
        REJECT(pk_cap_revoke(f->s, f->cs, 2), -EACCES);
        REJECT(pk_cap_revoke(f->s, f->cs, 6), -ESTALE);
        REJECT(pk_cap_revoke(f->s, f->cs, 33), -EINVAL);
        REJECT(pk_bank_alloc(f->s, f->cs, 0, (PkObjType)7, 10), -EINVAL);
        REJECT(pk_bank_alloc(f->s, f->cs, 0, PK_OBJ_PAGE, 99), -EINVAL);
        REJECT(pk_bank_alloc(f->s, f->cs, 7, PK_OBJ_PAGE, 10), -EDQUOT);
        REJECT(pk_bank_alloc(f->s, f->cs, 8, PK_OBJ_PAGE, 10), -EACCES);
        REJECT(pk_bank_alloc(f->s, f->cs, 1, PK_OBJ_PAGE, 10), -EBADF);
        REJECT(pk_bank_create(f->s, f->cs, 8, 1, 1, 10), -EACCES);
        REJECT(pk_bank_destroy(f->s, f->cs, 0), -EPERM);
        REJECT(pk_bank_destroy(f->s, f->cs, 8), -EACCES);
        REJECT(pk_bank_free(f->s, f->cs, 7, 1), -EACCES);
        REJECT(pk_bank_free(f->s, f->cs, 0, 6), -ESTALE);
        free(before.blob);
        free(before.frames);
    }
    pk_store_snapshot_end(f->s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cap__copy_with_read_only__reads_but_cannot_write,
                                        fix_setup, pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(test_cap__chains_of_copies__never_grow_rights,
                                        fix_setup, pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(
            test_cap__revoke__voids_copies_made_before_and_not_after, fix_setup,
            pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(test_cap__revoke_without_the_right__is_refused,
                                        fix_setup, pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(test_cap__bank_revoke__voids_other_bank_copies,
                                        fix_setup, pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(test_cap__number_capability__copies_and_is_never_void,
                                        fix_setup, pk_test_fix_teardown),
        cmocka_unit_test_setup_teardown(test_cap__rejected_invocations__change_nothing,
                                        fix_setup, pk_test_fix_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
