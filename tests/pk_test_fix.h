/*
 * tests/pk_test_fix.h: the fixture the persistent kernel's object tests
 * share (test_kernel_pk_bank.c, test_kernel_pk_cap.c): a real store over
 * PK_TEST_NFRAMES frames of host memory and a client CSpace node whose
 * slot 0 holds a capability to the prime bank.  Header-only.
 */
#ifndef TESTS_PK_TEST_FIX_H
#define TESTS_PK_TEST_FIX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cap.h"

#define PK_TEST_NFRAMES 64u

typedef struct PkTestFix {
    uint8_t *frames;
    PkStore *s;
    PkOid cs;                    /* the client's CSpace; slot 0: prime bank */
} PkTestFix;

/* A cmocka setup body: *state becomes a PkTestFix whose store has room
 * for 256 objects and max_banks banks. */
static inline int pk_test_fix_setup(void **state, uint32_t max_banks)
{
    PkTestFix *f = calloc(1, sizeof(*f));
    PkStoreConfig cfg = { 0 };
    PkCap bank;

    f->frames = calloc(PK_TEST_NFRAMES, PK_PAGE_SIZE);
    cfg.frames = f->frames;
    cfg.nframes = PK_TEST_NFRAMES;
    cfg.max_objects = 256;
    cfg.max_banks = max_banks;
    assert_int_equal(pk_store_new(&cfg, &f->s, NULL), 0);
    assert_int_equal(pk_bank_new_object(f->s, PK_BANK_PRIME, PK_OBJ_NODE, &f->cs), 0);
    bank = pk_bank_cap(f->s, PK_BANK_PRIME);
    assert_int_equal(pk_cap_mint(f->s, f->cs, 0, &bank), 0);
    *state = f;
    return 0;
}

static inline int pk_test_fix_teardown(void **state)
{
    PkTestFix *f = *state;

    pk_store_free(f->s);
    free(f->frames);
    free(f);
    return 0;
}

#endif
