/*
 * tests/test_translator_watch.c: write watches on hand-assembled guest code:
 * what a watch reports (va, size, value, the storing instruction), what it
 * must not report (stores elsewhere, host-side writes), and adding and
 * removing watches while the guest is stopped in a host function -- the
 * Unicorn 2.0.1 behaviour watch.c relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "translator/vcpu.h"

#define TEXT_VA  0xffffffffa0000000ull
#define STUB_VA  0xffffffff81000000ull
#define TRAMP_VA 0xffffffff81010000ull
#define DATA_VA  0xffff888000000000ull
#define STACK_VA 0xffffc90000000000ull
#define PAGE 4096
#define DATA_PAGES 2
#define TEXT_PAGES 4
#define HITS_MAX 16

typedef struct Hit {
    uint64_t va, value, rip;
    unsigned size;
    void *opaque;
} Hit;

typedef struct Fixture {
    Vcpu *cpu;
    uint8_t *text, *stub, *tramp, *data, *stack;
    size_t text_used;
    uint64_t watch_now, unwatch_now;   /* gateway slots */
    uint64_t nested_start, nested_len;
    unsigned nested_handle;
    Hit hit[HITS_MAX];
    unsigned nhits;
    unsigned self_handle;              /* for a watch that removes itself */
} Fixture;

static Fixture *fx;

static void on_write(void *opaque, uint64_t va, unsigned size, uint64_t value, uint64_t rip)
{
    if (fx->nhits < HITS_MAX) {
        fx->hit[fx->nhits] = (Hit){ va, value, rip, size, opaque };
    }
    fx->nhits++;
}

static void on_write_once(void *opaque, uint64_t va, unsigned size, uint64_t value,
                          uint64_t rip)
{
    on_write(opaque, va, size, value, rip);
    vcpu_unwatch_writes(fx->cpu, fx->self_handle);
}

/* Host functions the guest calls: add or remove a watch mid-run. */
static uint64_t host_watch_now(void *opaque, VcpuCall *c)
{
    return (uint64_t)vcpu_watch_writes(c->cpu, fx->nested_start, fx->nested_len, on_write,
                                       NULL, &fx->nested_handle);
}

static uint64_t host_unwatch_now(void *opaque, VcpuCall *c)
{
    vcpu_unwatch_writes(c->cpu, fx->nested_handle);
    return 0;
}

static uint64_t emit(const uint8_t *code, size_t len)
{
    uint64_t va = TEXT_VA + fx->text_used;

    assert_true(fx->text_used + len <= TEXT_PAGES * PAGE);
    memcpy(fx->text + fx->text_used, code, len);
    fx->text_used += (len + 15) & ~15u;
    vcpu_code_changed(fx->cpu, va, len);
    return va;
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

/* movabs $va,%rax; mov %rdi,(%rax) with the operand size given; ret.
 * The store instruction is at the returned address + 10. */
static uint64_t emit_store(uint64_t va, unsigned size)
{
    uint8_t code[16] = {0x48, 0xb8};
    size_t n = 10;

    put64(code + 2, va);
    switch (size) {
    case 1: code[n++] = 0x40; code[n++] = 0x88; code[n++] = 0x38; break; /* mov %dil,(%rax) */
    case 2: code[n++] = 0x66; code[n++] = 0x89; code[n++] = 0x38; break; /* mov %di,(%rax) */
    case 4: code[n++] = 0x89; code[n++] = 0x38; break;                   /* mov %edi,(%rax) */
    default: code[n++] = 0x48; code[n++] = 0x89; code[n++] = 0x38; break; /* mov %rdi,(%rax) */
    }
    code[n++] = 0xc3;
    return emit(code, n);
}

static void call_ok(uint64_t fn, uint64_t arg)
{
    uint64_t ret = 0;

    assert_int_equal(vcpu_call(fx->cpu, fn, &arg, 1, &ret), 0);
}

static int setup(void **state)
{
    SlError e = {{0}};

    fx = calloc(1, sizeof(*fx));
    fx->text = aligned_alloc(PAGE, TEXT_PAGES * PAGE);
    fx->stub = aligned_alloc(PAGE, PAGE);
    fx->tramp = aligned_alloc(PAGE, PAGE);
    fx->data = aligned_alloc(PAGE, DATA_PAGES * PAGE);
    fx->stack = aligned_alloc(PAGE, 4 * PAGE);
    memset(fx->text, 0xcc, TEXT_PAGES * PAGE);
    memset(fx->tramp, 0xf4, PAGE);       /* hlt */
    memset(fx->data, 0, DATA_PAGES * PAGE);
    fx->cpu = vcpu_new(&e);
    assert_non_null(fx->cpu);
    assert_int_equal(vcpu_map_ram(fx->cpu, TEXT_VA, fx->text, TEXT_PAGES * PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_EXEC, &e), 0);
    assert_int_equal(vcpu_map_ram(fx->cpu, STUB_VA, fx->stub, PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_EXEC, &e), 0);
    assert_int_equal(vcpu_map_ram(fx->cpu, TRAMP_VA, fx->tramp, PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_EXEC, &e), 0);
    assert_int_equal(vcpu_map_ram(fx->cpu, DATA_VA, fx->data, DATA_PAGES * PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_WRITE, &e), 0);
    assert_int_equal(vcpu_map_ram(fx->cpu, STACK_VA, fx->stack, 4 * PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_WRITE, &e), 0);
    assert_int_equal(vcpu_gateway_init(fx->cpu, STUB_VA, fx->stub, PAGE, &e), 0);
    vcpu_set_stack(fx->cpu, STACK_VA + 4 * PAGE);
    vcpu_set_trampoline(fx->cpu, TRAMP_VA);
    vcpu_set_block_budget(fx->cpu, 1000000);
    assert_int_equal(vcpu_gateway_add(fx->cpu, "watch_now", host_watch_now, NULL,
                                      &fx->watch_now, &e), 0);
    assert_int_equal(vcpu_gateway_add(fx->cpu, "unwatch_now", host_unwatch_now, NULL,
                                      &fx->unwatch_now, &e), 0);
    return 0;
}

static int teardown(void **state)
{
    vcpu_free(fx->cpu);
    free(fx->text);
    free(fx->stub);
    free(fx->tramp);
    free(fx->data);
    free(fx->stack);
    free(fx);
    return 0;
}

/* Each test starts with no hits; it removes the watches it adds. */
static int reset_hits(void **state)
{
    memset(fx->hit, 0, sizeof(fx->hit));
    fx->nhits = 0;
    return 0;
}

static void test_watch__store_inside__reports_va_size_value_and_rip(void **state)
{
    uint64_t fn = emit_store(DATA_VA + 0x104, 4);
    unsigned h = 0;
    int tag;

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x100, 16, on_write, &tag, &h), 0);
    assert_int_not_equal(h, 0);
    call_ok(fn, 0xa1b2c3d4e5f60718ull);
    assert_int_equal(fx->nhits, 1);
    assert_int_equal(fx->hit[0].va, DATA_VA + 0x104);
    assert_int_equal(fx->hit[0].size, 4);
    assert_int_equal(fx->hit[0].value, 0xe5f60718u);
    assert_int_equal(fx->hit[0].rip, fn + 10);
    assert_ptr_equal(fx->hit[0].opaque, &tag);
    assert_int_equal((uint32_t)load64(fx->data + 0x104), 0xe5f60718u);  /* it landed */
    vcpu_unwatch_writes(fx->cpu, h);
}

static void test_watch__one_and_two_byte_stores__report_their_own_width(void **state)
{
    uint64_t f1 = emit_store(DATA_VA + 0x10f, 1), f2 = emit_store(DATA_VA + 0x100, 2);
    unsigned h = 0;

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x100, 16, on_write, NULL, &h), 0);
    call_ok(f1, 0xfffe);
    call_ok(f2, 0xfffffffd);
    assert_int_equal(fx->nhits, 2);
    assert_int_equal(fx->hit[0].size, 1);
    assert_int_equal(fx->hit[0].value, 0xfe);
    assert_int_equal(fx->hit[0].rip, f1 + 10);
    assert_int_equal(fx->hit[1].size, 2);
    assert_int_equal(fx->hit[1].value, 0xfffd);
    vcpu_unwatch_writes(fx->cpu, h);
}

static void test_watch__stores_just_outside__are_not_reported(void **state)
{
    unsigned h = 0;

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x100, 16, on_write, NULL, &h), 0);
    call_ok(emit_store(DATA_VA + 0xf8, 8), 1);     /* ends at start - 1 */
    call_ok(emit_store(DATA_VA + 0xff, 1), 1);
    call_ok(emit_store(DATA_VA + 0x110, 8), 1);    /* begins at end + 1 */
    call_ok(emit_store(DATA_VA + 0x800, 8), 1);
    assert_int_equal(fx->nhits, 0);
    vcpu_unwatch_writes(fx->cpu, h);
}

static void test_watch__eight_byte_stores_straddling_either_end__are_reported_whole(void **state)
{
    uint64_t lo = emit_store(DATA_VA + 0xfd, 8), hi = emit_store(DATA_VA + 0x10f, 8);
    unsigned h = 0;

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x100, 16, on_write, NULL, &h), 0);
    call_ok(lo, 0x8877665544332211ull);
    call_ok(hi, 0x0102030405060708ull);
    assert_int_equal(fx->nhits, 2);
    assert_int_equal(fx->hit[0].va, DATA_VA + 0xfd);
    assert_int_equal(fx->hit[0].size, 8);
    assert_int_equal(fx->hit[0].value, 0x8877665544332211ull);
    assert_int_equal(fx->hit[0].rip, lo + 10);
    assert_int_equal(fx->hit[1].va, DATA_VA + 0x10f);
    assert_int_equal(fx->hit[1].value, 0x0102030405060708ull);
    vcpu_unwatch_writes(fx->cpu, h);
}

static void test_watch__range_starting_at_a_page__catches_a_store_from_the_page_before(void **state)
{
    uint64_t fn = emit_store(DATA_VA + PAGE - 2, 8);
    unsigned h = 0;

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + PAGE, 8, on_write, NULL, &h), 0);
    call_ok(fn, 0x1122334455667788ull);
    assert_int_equal(fx->nhits, 1);     /* once, not again per byte of the split */
    assert_int_equal(fx->hit[0].va, DATA_VA + PAGE - 2);
    assert_int_equal(fx->hit[0].rip, fn + 10);
    assert_int_equal(load64(fx->data + PAGE - 2), 0x1122334455667788ull);
    vcpu_unwatch_writes(fx->cpu, h);
}

static void test_watch__unwatch__stops_reports(void **state)
{
    uint64_t fn = emit_store(DATA_VA + 0x200, 8);
    unsigned h = 0;

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x200, 8, on_write, NULL, &h), 0);
    call_ok(fn, 1);
    vcpu_unwatch_writes(fx->cpu, h);
    call_ok(fn, 2);
    assert_int_equal(fx->nhits, 1);
    assert_int_equal(fx->hit[0].value, 1);
    vcpu_unwatch_writes(fx->cpu, h);               /* twice: ignored */
    vcpu_unwatch_writes(fx->cpu, 0);
}

static void test_watch__block_translated_before_the_watch__is_still_watched(void **state)
{
    uint64_t fn = emit_store(DATA_VA + 0x300, 8);
    unsigned h = 0;

    call_ok(fn, 1);                                 /* translated, cached */
    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x300, 8, on_write, NULL, &h), 0);
    call_ok(fn, 2);
    assert_int_equal(fx->nhits, 1);
    assert_int_equal(fx->hit[0].value, 2);
    vcpu_unwatch_writes(fx->cpu, h);
}

static void test_watch__host_side_writes__are_not_reported(void **state)
{
    uint64_t v = 5;
    unsigned h = 0;

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x400, 8, on_write, NULL, &h), 0);
    assert_int_equal(vcpu_write(fx->cpu, DATA_VA + 0x400, &v, 8), 0);
    fx->data[0x401] = 9;
    assert_int_equal(fx->nhits, 0);
    vcpu_unwatch_writes(fx->cpu, h);
}

/*
 * The guest calls watch_now (a host function adds a watch), stores, calls
 * unwatch_now (the host function removes it), stores again:
 *   movabs $watch_now,%rax; call *%rax
 *   movabs $va,%rcx; movq $7,(%rcx)
 *   movabs $unwatch_now,%rax; call *%rax
 *   movabs $va,%rcx; movq $8,(%rcx)
 *   ret
 */
static void test_watch__added_and_removed_inside_a_host_call__takes_effect_at_once(void **state)
{
    uint8_t code[] = {
        0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd0,
        0x48, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0xc7, 0x01, 7, 0, 0, 0,
        0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd0,
        0x48, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0xc7, 0x01, 8, 0, 0, 0,
        0xc3,
    };
    uint64_t fn, ret = 1;

    put64(code + 2, fx->watch_now);
    put64(code + 14, DATA_VA + 0x500);
    put64(code + 31, fx->unwatch_now);
    put64(code + 43, DATA_VA + 0x500);
    fx->nested_start = DATA_VA + 0x500;
    fx->nested_len = 8;
    fn = emit(code, sizeof(code));
    assert_int_equal(vcpu_call(fx->cpu, fn, NULL, 0, &ret), 0);
    assert_int_equal(fx->nhits, 1);
    assert_int_equal(fx->hit[0].va, DATA_VA + 0x500);
    assert_int_equal(fx->hit[0].size, 8);
    assert_int_equal(fx->hit[0].value, 7);
    assert_int_equal(fx->hit[0].rip, fn + 22);
    assert_int_equal(load64(fx->data + 0x500), 8);
    /* Once more: the blocks are cached now, the watch comes and goes again. */
    assert_int_equal(vcpu_call(fx->cpu, fn, NULL, 0, &ret), 0);
    assert_int_equal(fx->nhits, 2);
    assert_int_equal(fx->hit[1].value, 7);
}

static void test_watch__callback_removing_its_own_watch__sees_one_store(void **state)
{
    uint64_t fn = emit_store(DATA_VA + 0x600, 8);

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x600, 8, on_write_once, NULL,
                                       &fx->self_handle), 0);
    call_ok(fn, 1);
    call_ok(fn, 2);
    assert_int_equal(fx->nhits, 1);
}

static void test_watch__reused_slot__forgets_the_old_range_and_handle(void **state)
{
    uint64_t fa = emit_store(DATA_VA + 0x700, 8), fb = emit_store(DATA_VA + 0x780, 8);
    unsigned ha = 0, hb = 0;

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x700, 8, on_write, NULL, &ha), 0);
    vcpu_unwatch_writes(fx->cpu, ha);
    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x780, 8, on_write, NULL, &hb), 0);
    assert_int_equal(hb & 0xffff, ha & 0xffff);     /* the same slot ... */
    assert_int_not_equal(hb, ha);                   /* ... a new handle */
    vcpu_unwatch_writes(fx->cpu, ha);               /* stale: must not remove b */
    call_ok(fa, 1);
    call_ok(fb, 2);
    assert_int_equal(fx->nhits, 1);
    assert_int_equal(fx->hit[0].va, DATA_VA + 0x780);
    vcpu_unwatch_writes(fx->cpu, hb);
}

static void test_watch__bad_ranges_and_too_many__are_refused(void **state)
{
    unsigned h[VCPU_MAX_WATCHES], extra = 0;

    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA, 0, on_write, NULL, &extra), -EINVAL);
    assert_int_equal(vcpu_watch_writes(fx->cpu, UINT64_MAX - 3, 8, on_write, NULL, &extra),
                     -EINVAL);
    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA, 8, NULL, NULL, &extra), -EINVAL);
    for (unsigned i = 0; i < VCPU_MAX_WATCHES; i++) {
        assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0xf00, 8, on_write, NULL, &h[i]), 0);
    }
    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA, 8, on_write, NULL, &extra), -ENOSPC);
    call_ok(emit_store(DATA_VA + 0xf00, 8), 3);
    assert_int_equal(fx->nhits, VCPU_MAX_WATCHES);
    for (unsigned i = 0; i < VCPU_MAX_WATCHES; i++) {
        vcpu_unwatch_writes(fx->cpu, h[i]);
    }
    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA, 8, on_write, NULL, &extra), 0);
    vcpu_unwatch_writes(fx->cpu, extra);
}

static void on_write_raise(void *opaque, uint64_t va, unsigned size, uint64_t value,
                           uint64_t rip)
{
    on_write(opaque, va, size, value, rip);
    vcpu_raise(fx->cpu, "CPU wrote a buffer the device owns [va=0x%llx]",
               (unsigned long long)va);
}

static void test_watch__raise_from_callback__stops_the_guest_after_the_store(void **state)
{
    /* movabs $va,%rax; mov %rdi,(%rax); jmp next; next: movq $9,(%rax); ret */
    uint8_t code[] = {
        0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x89, 0x38,
        0xeb, 0x00, 0x48, 0xc7, 0x00, 9, 0, 0, 0, 0xc3,
    };
    uint64_t fn, arg = 4, ret;
    unsigned h = 0;

    put64(code + 2, DATA_VA + 0x880);
    fn = emit(code, sizeof(code));
    assert_int_equal(vcpu_watch_writes(fx->cpu, DATA_VA + 0x880, 8, on_write_raise, NULL, &h), 0);
    assert_int_equal(vcpu_call(fx->cpu, fn, &arg, 1, &ret), -EFAULT);
    assert_int_equal(vcpu_report(fx->cpu)->stop, VCPU_STOP_HOST);
    assert_int_equal(vcpu_report(fx->cpu)->rip, fn + 10);
    assert_int_equal(load64(fx->data + 0x880), 4);   /* the store landed, */
    assert_int_equal(fx->nhits, 1);                        /* the next did not run */
    vcpu_revive(fx->cpu);
    vcpu_unwatch_writes(fx->cpu, h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_watch__store_inside__reports_va_size_value_and_rip, reset_hits),
        cmocka_unit_test_setup(test_watch__one_and_two_byte_stores__report_their_own_width, reset_hits),
        cmocka_unit_test_setup(test_watch__stores_just_outside__are_not_reported, reset_hits),
        cmocka_unit_test_setup(test_watch__eight_byte_stores_straddling_either_end__are_reported_whole, reset_hits),
        cmocka_unit_test_setup(test_watch__range_starting_at_a_page__catches_a_store_from_the_page_before, reset_hits),
        cmocka_unit_test_setup(test_watch__unwatch__stops_reports, reset_hits),
        cmocka_unit_test_setup(test_watch__block_translated_before_the_watch__is_still_watched, reset_hits),
        cmocka_unit_test_setup(test_watch__host_side_writes__are_not_reported, reset_hits),
        cmocka_unit_test_setup(test_watch__added_and_removed_inside_a_host_call__takes_effect_at_once, reset_hits),
        cmocka_unit_test_setup(test_watch__callback_removing_its_own_watch__sees_one_store, reset_hits),
        cmocka_unit_test_setup(test_watch__reused_slot__forgets_the_old_range_and_handle, reset_hits),
        cmocka_unit_test_setup(test_watch__bad_ranges_and_too_many__are_refused, reset_hits),
        cmocka_unit_test_setup(test_watch__raise_from_callback__stops_the_guest_after_the_store, reset_hits),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
