/*
 * tests/test_translator_vcpu.c: the vCPU on hand-assembled guest code:
 * gateway calls with six arguments, host -> guest -> host nesting, and
 * containment of wild writes, ud2, runaway loops and executing data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "translator/vcpu.h"

#define TEXT_VA  0xffffffffa0000000ull
#define STUB_VA  0xffffffff81000000ull
#define TRAMP_VA 0xffffffff81010000ull
#define DATA_VA  0xffff888000000000ull
#define STACK_VA 0xffffc90000000000ull
#define PAGE 4096

typedef struct Fixture {
    Vcpu *cpu;
    uint8_t *text, *stub, *tramp, *data, *stack;
    size_t text_used;
    uint64_t h1, h2, sum6;
    uint64_t guest_b;
    unsigned warns;
} Fixture;

static Fixture *fx;

static uint64_t host_sum6(void *opaque, VcpuCall *c)
{
    uint64_t s = 0;

    for (unsigned i = 0; i < 6; i++) {
        s = s * 10 + vcpu_call_arg(c, i);
    }
    return s;
}

static uint64_t host_h2(void *opaque, VcpuCall *c)
{
    return c->arg[0] + 1;
}

/* H1 calls guest B(x) and adds 100 to what it returns. */
static uint64_t host_h1(void *opaque, VcpuCall *c)
{
    uint64_t arg = c->arg[0], ret = 0;

    if (vcpu_call(c->cpu, fx->guest_b, &arg, 1, &ret) != 0) {
        return 0;
    }
    return ret + 100;
}

static uint64_t host_raise(void *opaque, VcpuCall *c)
{
    vcpu_raise(c->cpu, "call to unserved import %s", "not_served");
    return 0;
}

static bool warn_handler(void *opaque, uint64_t rip, char *what, size_t cap)
{
    fx->warns++;
    return *(bool *)opaque;
}

/* Appends code to the text page; returns its guest address. */
static uint64_t emit(const uint8_t *code, size_t len)
{
    uint64_t va = TEXT_VA + fx->text_used;

    memcpy(fx->text + fx->text_used, code, len);
    fx->text_used += (len + 15) & ~15u;
    vcpu_code_changed(fx->cpu, va, len);
    return va;
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* movabs $target,%rax; call *%rax; ret */
static uint64_t emit_call_through_rax(uint64_t target)
{
    uint8_t code[] = {0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd0, 0xc3};

    put64(code + 2, target);
    return emit(code, sizeof(code));
}

static int setup(void **state)
{
    SlError e = {{0}};
    bool *cont = calloc(1, sizeof(bool));

    fx = calloc(1, sizeof(*fx));
    fx->text = aligned_alloc(PAGE, PAGE);
    fx->stub = aligned_alloc(PAGE, PAGE);
    fx->tramp = aligned_alloc(PAGE, PAGE);
    fx->data = aligned_alloc(PAGE, PAGE);
    fx->stack = aligned_alloc(PAGE, 4 * PAGE);
    memset(fx->text, 0xcc, PAGE);
    memset(fx->tramp, 0xf4, PAGE);       /* hlt */
    fx->cpu = vcpu_new(&e);
    assert_non_null(fx->cpu);
    assert_int_equal(vcpu_map_ram(fx->cpu, TEXT_VA, fx->text, PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_EXEC, &e), 0);
    assert_int_equal(vcpu_map_ram(fx->cpu, STUB_VA, fx->stub, PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_EXEC, &e), 0);
    assert_int_equal(vcpu_map_ram(fx->cpu, TRAMP_VA, fx->tramp, PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_EXEC, &e), 0);
    assert_int_equal(vcpu_map_ram(fx->cpu, DATA_VA, fx->data, PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_WRITE, &e), 0);
    assert_int_equal(vcpu_map_ram(fx->cpu, STACK_VA, fx->stack, 4 * PAGE,
                                  VCPU_PROT_READ | VCPU_PROT_WRITE, &e), 0);
    assert_int_equal(vcpu_gateway_init(fx->cpu, STUB_VA, fx->stub, PAGE, &e), 0);
    vcpu_set_stack(fx->cpu, STACK_VA + 4 * PAGE);
    vcpu_set_trampoline(fx->cpu, TRAMP_VA);
    vcpu_set_block_budget(fx->cpu, 100000);
    vcpu_add_code_range(fx->cpu, TEXT_VA, TEXT_VA + PAGE);
    vcpu_set_ud2_handler(fx->cpu, warn_handler, cont);
    assert_int_equal(vcpu_gateway_add(fx->cpu, "sum6", host_sum6, NULL, &fx->sum6, &e), 0);
    assert_int_equal(vcpu_gateway_add(fx->cpu, "h1", host_h1, NULL, &fx->h1, &e), 0);
    assert_int_equal(vcpu_gateway_add(fx->cpu, "h2", host_h2, NULL, &fx->h2, &e), 0);
    *state = cont;
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
    free(*state);
    return 0;
}

static void test_gateway__six_register_args__reach_host_in_order(void **state)
{
    uint8_t code[] = {
        0xbf, 1, 0, 0, 0,             /* mov $1,%edi */
        0xbe, 2, 0, 0, 0,             /* mov $2,%esi */
        0xba, 3, 0, 0, 0,             /* mov $3,%edx */
        0xb9, 4, 0, 0, 0,             /* mov $4,%ecx */
        0x41, 0xb8, 5, 0, 0, 0,       /* mov $5,%r8d */
        0x41, 0xb9, 6, 0, 0, 0,       /* mov $6,%r9d */
        0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* movabs $sum6,%rax */
        0xff, 0xd0,                   /* call *%rax */
        0xc3,
    };
    uint64_t fn, ret = 0;

    put64(code + 34, fx->sum6);
    fn = emit(code, sizeof(code));
    assert_int_equal(vcpu_call(fx->cpu, fn, NULL, 0, &ret), 0);
    assert_int_equal(ret, 123456);
}

static void test_gateway__host_args_reach_guest_and_back(void **state)
{
    uint64_t args[6] = {9, 8, 7, 6, 5, 4}, ret = 0;

    /* The guest function is the gateway slot itself: host -> guest -> host. */
    assert_int_equal(vcpu_call(fx->cpu, emit_call_through_rax(fx->sum6), args, 6, &ret), 0);
    assert_int_equal(ret, 987654);
}

static void test_call__host_guest_host_nesting__returns_through_every_level(void **state)
{
    uint8_t b[] = {
        0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* movabs $h2,%rax */
        0xff, 0xd0,                         /* call *%rax: rax = x + 1 */
        0x48, 0x01, 0xc0,                   /* add %rax,%rax */
        0xc3,
    };
    uint64_t arg = 20, ret = 0, a;

    put64(b + 2, fx->h2);
    fx->guest_b = emit(b, sizeof(b));
    a = emit_call_through_rax(fx->h1);
    assert_int_equal(vcpu_call(fx->cpu, a, &arg, 1, &ret), 0);
    assert_int_equal(ret, (20 + 1) * 2 + 100);
    assert_int_equal(vcpu_depth(fx->cpu), 0);
}

static void test_containment__wild_write__is_a_report_and_cpu_stays_usable(void **state)
{
    uint8_t code[] = {
        0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* movabs $addr,%rax */
        0xc6, 0x00, 0x2a,                   /* movb $0x2a,(%rax) */
        0xc3,
    };
    uint64_t fn, ret;
    const VcpuReport *r;

    put64(code + 2, 0xffff888000100000ull);
    fn = emit(code, sizeof(code));
    assert_int_equal(vcpu_call(fx->cpu, fn, NULL, 0, &ret), -14);
    r = vcpu_report(fx->cpu);
    assert_int_equal(r->stop, VCPU_STOP_WRITE_UNMAPPED);
    assert_int_equal(r->rip, fn + 10);
    assert_int_equal(r->addr, 0xffff888000100000ull);
    assert_int_equal(r->value, 0x2a);
    assert_int_equal(r->size, 1);
    vcpu_revive(fx->cpu);
    assert_int_equal(vcpu_call(fx->cpu, emit_call_through_rax(fx->h2), &ret, 1, &ret), 0);
}

static void test_containment__non_canonical_read__is_named_so(void **state)
{
    uint8_t code[] = {
        0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* movabs $addr,%rax */
        0x48, 0x8b, 0x00,                   /* mov (%rax),%rax */
        0xc3,
    };
    uint64_t ret;

    put64(code + 2, 0xdead000000000100ull);
    assert_int_equal(vcpu_call(fx->cpu, emit(code, sizeof(code)), NULL, 0, &ret), -14);
    assert_int_equal(vcpu_report(fx->cpu)->stop, VCPU_STOP_READ_UNMAPPED);
    assert_non_null(strstr(vcpu_report(fx->cpu)->what, "non-canonical"));
    vcpu_revive(fx->cpu);
}

static void test_containment__ud2_bug__stops_with_report(void **state)
{
    uint8_t code[] = {0x90, 0x0f, 0x0b, 0xc3};
    uint64_t fn = emit(code, sizeof(code)), ret;

    *(bool *)*state = false;
    assert_int_equal(vcpu_call(fx->cpu, fn, NULL, 0, &ret), -14);
    assert_int_equal(vcpu_report(fx->cpu)->stop, VCPU_STOP_INVALID_INSN);
    assert_int_equal(vcpu_report(fx->cpu)->rip, fn + 1);
    vcpu_revive(fx->cpu);
}

static void test_containment__ud2_warn__continues_after_it(void **state)
{
    uint8_t code[] = {0x0f, 0x0b, 0xb8, 7, 0, 0, 0, 0xc3}; /* ud2; mov $7,%eax */
    uint64_t ret = 0;
    unsigned before = fx->warns;

    *(bool *)*state = true;
    assert_int_equal(vcpu_call(fx->cpu, emit(code, sizeof(code)), NULL, 0, &ret), 0);
    assert_int_equal(ret, 7);
    assert_int_equal(fx->warns, before + 1);
}

static void test_containment__infinite_loop__exhausts_block_budget(void **state)
{
    uint8_t code[] = {0xeb, 0xfe};   /* jmp . */
    uint64_t fn = emit(code, sizeof(code)), ret;

    assert_int_equal(vcpu_call(fx->cpu, fn, NULL, 0, &ret), -14);
    assert_int_equal(vcpu_report(fx->cpu)->stop, VCPU_STOP_BUDGET);
    assert_int_equal(vcpu_report(fx->cpu)->rip, fn);
    vcpu_revive(fx->cpu);
}

static void test_containment__executing_data__is_a_report(void **state)
{
    uint64_t ret;

    fx->data[0] = 0xc3;
    assert_int_equal(vcpu_call(fx->cpu, emit_call_through_rax(DATA_VA), NULL, 0, &ret), -14);
    assert_int_equal(vcpu_report(fx->cpu)->stop, VCPU_STOP_FETCH_PROT);
    assert_int_equal(vcpu_report(fx->cpu)->rip, DATA_VA);
    vcpu_revive(fx->cpu);
}

static void test_containment__fault_in_nested_call__unwinds_every_level(void **state)
{
    uint8_t b[] = {0x0f, 0x0b};  /* B hits a BUG */
    uint64_t ret, arg = 1;

    *(bool *)*state = false;
    fx->guest_b = emit(b, sizeof(b));
    assert_int_equal(vcpu_call(fx->cpu, emit_call_through_rax(fx->h1), &arg, 1, &ret), -14);
    assert_int_equal(vcpu_report(fx->cpu)->stop, VCPU_STOP_INVALID_INSN);
    assert_int_equal(vcpu_report(fx->cpu)->rip, fx->guest_b);
    assert_int_equal(vcpu_depth(fx->cpu), 0);
    vcpu_revive(fx->cpu);
}

static void test_containment__host_raise__names_the_calling_instruction(void **state)
{
    SlError e = {{0}};
    uint64_t slot, fn, ret;

    assert_int_equal(vcpu_gateway_add(fx->cpu, "not_served", host_raise, NULL, &slot, &e), 0);
    fn = emit_call_through_rax(slot);
    assert_int_equal(vcpu_call(fx->cpu, fn, NULL, 0, &ret), -14);
    assert_int_equal(vcpu_report(fx->cpu)->stop, VCPU_STOP_HOST);
    /* call *%rax is 2 bytes, not a call rel32: the return address is kept. */
    assert_int_equal(vcpu_report(fx->cpu)->rip, fn + 12);
    assert_non_null(strstr(vcpu_report(fx->cpu)->what, "not_served"));
    vcpu_revive(fx->cpu);
}

static void test_report__disassembles_the_stopping_instruction(void **state)
{
    uint8_t code[] = {0x8b, 0x87, 0x98, 0x09, 0, 0}; /* mov 0x998(%rdi),%eax */
    uint64_t fn = emit(code, sizeof(code));
    char buf[128];

    assert_int_equal(vcpu_disassemble(fx->cpu, fn, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "movl 0x998(%rdi), %eax");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gateway__six_register_args__reach_host_in_order),
        cmocka_unit_test(test_gateway__host_args_reach_guest_and_back),
        cmocka_unit_test(test_call__host_guest_host_nesting__returns_through_every_level),
        cmocka_unit_test(test_containment__wild_write__is_a_report_and_cpu_stays_usable),
        cmocka_unit_test(test_containment__non_canonical_read__is_named_so),
        cmocka_unit_test(test_containment__ud2_bug__stops_with_report),
        cmocka_unit_test(test_containment__ud2_warn__continues_after_it),
        cmocka_unit_test(test_containment__infinite_loop__exhausts_block_budget),
        cmocka_unit_test(test_containment__executing_data__is_a_report),
        cmocka_unit_test(test_containment__fault_in_nested_call__unwinds_every_level),
        cmocka_unit_test(test_containment__host_raise__names_the_calling_instruction),
        cmocka_unit_test(test_report__disassembles_the_stopping_instruction),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
