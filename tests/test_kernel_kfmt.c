/*
 * tests/test_kernel_kfmt.c: the printk formatter against the text Linux
 * 6.1's vsnprintf prints, with the format string and every pointed-to
 * object in a fake guest memory (a byte array at a kernel direct-map
 * address) and the integer arguments in an array, as a caller's ABI
 * decoder would hand them over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel-guest/kfmt.h"

#define GUEST_BASE 0xffff888000100000ull
#define GUEST_SIZE 0x10000u
#define GUEST_UNMAPPED 0xffff888000900000ull
#define OUT_SIZE 1024

typedef struct TestGuest {
    KfmtSource src;          /* first: the callbacks get &g->src */
    uint8_t mem[GUEST_SIZE];
    size_t used;             /* bump allocator over mem */
    uint64_t args[32];
    size_t nargs, next;
    int with_symbols;
    char out[OUT_SIZE];
    size_t len;              /* what kfmt_format returned */
} TestGuest;

static uint64_t test_next_arg(KfmtSource *src)
{
    TestGuest *g = (TestGuest *)src;

    assert_true(g->next < g->nargs);   /* the formatter took too many */
    return g->args[g->next++];
}

static int test_read_mem(KfmtSource *src, uint64_t gva, void *buf, size_t len)
{
    TestGuest *g = (TestGuest *)src;

    if (gva < GUEST_BASE || gva - GUEST_BASE > GUEST_SIZE ||
        len > GUEST_SIZE - (gva - GUEST_BASE)) {
        return -1;
    }
    memcpy(buf, g->mem + (gva - GUEST_BASE), len);
    return 0;
}

static size_t test_symbolize(KfmtSource *src, uint64_t addr, int with_offset,
                             char *buf, size_t cap)
{
    TestGuest *g = (TestGuest *)src;
    const uint64_t start = 0xffffffffc0001000ull, size = 0x400;

    if (!g->with_symbols || addr < start || addr >= start + size) {
        return 0;
    }
    if (!with_offset) {
        return (size_t)snprintf(buf, cap, "rtl8139_init_one");
    }
    return (size_t)snprintf(buf, cap, "rtl8139_init_one+0x%llx/0x%llx [8139too]",
                            (unsigned long long)(addr - start),
                            (unsigned long long)size);
}

static int test_setup(void **state)
{
    TestGuest *g = calloc(1, sizeof(*g));

    assert_non_null(g);
    g->src.next_arg = test_next_arg;
    g->src.read_mem = test_read_mem;
    g->src.symbolize = test_symbolize;
    g->with_symbols = 1;
    *state = g;
    return 0;
}

static int test_teardown(void **state)
{
    free(*state);
    return 0;
}

/* Copies data into guest memory (16-byte aligned) and returns its address. */
static uint64_t guest_put(TestGuest *g, const void *data, size_t len)
{
    uint64_t gva = GUEST_BASE + g->used;

    assert_true(g->used + len <= GUEST_SIZE);
    memcpy(g->mem + g->used, data, len);
    g->used = (g->used + len + 15) & ~(size_t)15;
    return gva;
}

static uint64_t guest_str(TestGuest *g, const char *s)
{
    return guest_put(g, s, strlen(s) + 1);
}

static uint64_t guest_u64(TestGuest *g, uint64_t v)
{
    return guest_put(g, &v, sizeof(v));
}

/* Formats fmt (copied into guest memory) with the given arguments into a
 * buffer of cap bytes; checks every argument was consumed. */
static const char *format_cap(TestGuest *g, size_t cap, const char *fmt,
                              const uint64_t *args, size_t nargs)
{
    uint64_t fmt_gva = guest_str(g, fmt);

    assert_true(nargs <= 32 && cap <= OUT_SIZE);
    memcpy(g->args, args, nargs * sizeof(uint64_t));
    g->nargs = nargs;
    g->next = 0;
    memset(g->out, 'X', sizeof(g->out));
    g->len = kfmt_format(g->out, cap, fmt_gva, &g->src);
    return g->out;
}

/* FMT(g, "fmt", args...): the first array element is a placeholder so an
 * empty argument list still makes an array. */
#define ARGS(...) ((const uint64_t[]){ 0, __VA_ARGS__ }) + 1, \
                  sizeof((const uint64_t[]){ 0, __VA_ARGS__ }) / 8 - 1
#define FMT(g, fmt, ...) format_cap(g, OUT_SIZE, fmt, ARGS(__VA_ARGS__))
#define FMT_CAP(g, cap, fmt, ...) format_cap(g, cap, fmt, ARGS(__VA_ARGS__))
#define ERR(e) ((uint64_t)(int64_t)-(e))

static void test_kfmt__plain_text_and_percent__are_copied(void **state)
{
    TestGuest *g = *state;

    assert_string_equal(FMT(g, "8139too: 100%% ok\n"), "8139too: 100% ok\n");
    assert_int_equal(g->len, 17);
    assert_string_equal(FMT(g, "%5%|%-%"), "%|%");
}

static void test_kfmt__integers__are_narrowed_by_length_modifier(void **state)
{
    TestGuest *g = *state;

    assert_string_equal(FMT(g, "%d %i %u", 0xffffffffull, 0x1ffffffffull, 0xffffffffull),
                        "-1 -1 4294967295");
    assert_string_equal(FMT(g, "%hhd %hhu %hd %hu", 0x1ff, 0x1ff, 0x18000, 0x12345),
                        "-1 255 -32768 9029");
    assert_string_equal(FMT(g, "%ld %lu %lld %Lu", ERR(5), ERR(1), ERR(7), 18ull),
                        "-5 18446744073709551615 -7 18");
    assert_string_equal(FMT(g, "%zu %zd %td %tx", 4096, ERR(22), ERR(1), ERR(1)),
                        "4096 -22 -1 ffffffffffffffff");
    assert_string_equal(FMT(g, "%x %X %lx %o", 0xdeadBEEFull, 0xabcdef, 0x123456789abcull, 8),
                        "deadbeef ABCDEF 123456789abc 10");
    assert_string_equal(FMT(g, "%d", 0x80000000ull), "-2147483648");
    assert_string_equal(FMT(g, "%lld", 0x8000000000000000ull), "-9223372036854775808");
}

static void test_kfmt__flags_width_and_precision__follow_linux_not_glibc(void **state)
{
    TestGuest *g = *state;

    assert_string_equal(FMT(g, "[%5d][%-5d][%05d][%+d][% d][%+u]", 42, 42, ERR(42), 7, 7, 7),
                        "[   42][42   ][-0042][+7][ 7][7]");
    /* Linux: "0x0" for zero, and a precision does not cancel '0' */
    assert_string_equal(FMT(g, "[%#x][%#o][%#o][%#X][%#08x]", 0, 0, 8, 0xab, 0x1f),
                        "[0x0][0][010][0XAB][0x00001f]");
    assert_string_equal(FMT(g, "[%08.3d][%8.3d][%-8.3d][%.0d][%.d]", 5, 5, 5, 0, 3),
                        "[00000005][     005][005     ][0][3]");
    assert_string_equal(FMT(g, "[%02x:%02x]", 0x5, 0xab), "[05:ab]");
}

static void test_kfmt__star_width_and_precision__come_from_arguments(void **state)
{
    TestGuest *g = *state;
    uint64_t s = guest_str(g, "eth0");

    assert_string_equal(FMT(g, "[%*d][%*d][%.*d]", 4, 7, ERR(4), 7, 3, 7),
                        "[   7][7   ][007]");
    assert_string_equal(FMT(g, "[%.*s][%*.*s]", 2, s, 6, 3, s), "[et][   eth]");
    assert_int_equal(g->next, 5);
}

static void test_kfmt__chars__are_padded_like_linux(void **state)
{
    TestGuest *g = *state;

    assert_string_equal(FMT(g, "[%c][%3c][%-3c][%lc]", 'a', 'b', 'c', 0x141), "[a][  b][c  ][A]");
}

static void test_kfmt__strings__read_from_guest_with_width_and_precision(void **state)
{
    TestGuest *g = *state;
    uint64_t s = guest_str(g, "rtl8139");

    assert_string_equal(FMT(g, "[%s][%10s][%-10s][%.3s]", s, s, s, s),
                        "[rtl8139][   rtl8139][rtl8139   ][rtl]");
    assert_string_equal(FMT(g, "[%s][%.3s][%8s]", 0, 0, 0), "[(null)][(nu][  (null)]");
    assert_string_equal(FMT(g, "[%s][%s][%s]", 0x10, GUEST_UNMAPPED, ERR(12)),
                        "[(efault)][(efault)][(efault)]");
}

static void test_kfmt__string_running_into_unmapped_memory__stops_there(void **state)
{
    TestGuest *g = *state;
    uint64_t tail = GUEST_BASE + GUEST_SIZE - 5;

    memcpy(g->mem + GUEST_SIZE - 5, "abcde", 5);   /* no NUL before the end */
    assert_string_equal(FMT(g, "[%s]", tail), "[abcde]");
}

static void test_kfmt__long_string__is_read_across_chunks(void **state)
{
    TestGuest *g = *state;
    char s[700];

    memset(s, 'q', sizeof(s) - 1);
    s[sizeof(s) - 1] = '\0';
    FMT(g, "%s!", guest_str(g, s));
    assert_int_equal(g->len, 700);
    assert_int_equal(g->out[698], 'q');
    assert_int_equal(g->out[699], '!');
}

static void test_kfmt__unsupported_conversion__ends_the_output(void **state)
{
    TestGuest *g = *state;

    assert_string_equal(FMT(g, "a%d %jd b", 1, 2), "a1 ");
    assert_int_equal(g->len, 3);
    assert_string_equal(FMT(g, "x%ny", 0), "x");
    assert_string_equal(FMT(g, "abc%"), "abc");
    assert_string_equal(FMT(g, "%*5d", 3, 4), "");
}

static void test_kfmt__small_buffer__truncates_and_returns_full_length(void **state)
{
    TestGuest *g = *state;

    assert_string_equal(FMT_CAP(g, 8, "hello world %d", 42), "hello w");
    assert_int_equal(g->len, 14);
    assert_int_equal(g->out[8], 'X');           /* nothing past cap */
    assert_string_equal(FMT_CAP(g, 1, "hello"), "");
    assert_int_equal(g->len, 5);
    FMT_CAP(g, 0, "hello %s", guest_str(g, "there"));
    assert_int_equal(g->len, 11);
    assert_int_equal(g->out[0], 'X');
    assert_string_equal(FMT_CAP(g, 10, "%*phC", 8, guest_str(g, "\x01\x02\x03\x04\x05\x06\x07")),
                        "01:02:03:");
    assert_int_equal(g->len, 23);
}

static void test_kfmt__mac_addresses__print_like_linux(void **state)
{
    TestGuest *g = *state;
    uint64_t mac = guest_put(g, "\x52\x54\x00\x12\x34\x56", 6);

    assert_string_equal(FMT(g, "%pM", mac), "52:54:00:12:34:56");
    assert_string_equal(FMT(g, "%pMR", mac), "56:34:12:00:54:52");
    assert_string_equal(FMT(g, "%pMF", mac), "52-54-00-12-34-56");
    assert_string_equal(FMT(g, "%pm", mac), "525400123456");
    assert_string_equal(FMT(g, "%pmR", mac), "563412005452");
    assert_string_equal(FMT(g, "[%20pM]", mac), "[   52:54:00:12:34:56]");
    assert_string_equal(FMT(g, "%pM %pM", 0, GUEST_UNMAPPED), "(null) (efault)");
}

static void test_kfmt__hex_bytes__take_their_length_from_the_width(void **state)
{
    TestGuest *g = *state;
    uint64_t b = guest_put(g, "\xde\xad\xbe\xef", 4);
    uint8_t many[80];
    char expect[64 * 2 + 1];

    assert_string_equal(FMT(g, "%*ph", 4, b), "de ad be ef");
    assert_string_equal(FMT(g, "%4phC", b), "de:ad:be:ef");
    assert_string_equal(FMT(g, "%*phD", 4, b), "de-ad-be-ef");
    assert_string_equal(FMT(g, "%*phN", 4, b), "deadbeef");
    assert_string_equal(FMT(g, "%ph", b), "de");
    assert_string_equal(FMT(g, "[%*ph]", 0, b), "[]");
    for (size_t i = 0; i < sizeof(many); i++) {
        many[i] = 0xa5;
    }
    for (size_t i = 0; i < 64; i++) {
        memcpy(expect + 2 * i, "a5", 2);
    }
    expect[128] = '\0';
    assert_string_equal(FMT(g, "%*phN", 80, guest_put(g, many, sizeof(many))), expect);
    assert_string_equal(FMT(g, "%*ph", 4, GUEST_UNMAPPED), "(efault)");
}

static void test_kfmt__ipv4_addresses__print_dotted(void **state)
{
    TestGuest *g = *state;
    uint64_t ip = guest_put(g, "\x0a\x00\x02\x02", 4);
    uint64_t ip2 = guest_put(g, "\xc0\xa8\x01\x64", 4);

    assert_string_equal(FMT(g, "%pI4", ip), "10.0.2.2");
    assert_string_equal(FMT(g, "%pi4", ip), "010.000.002.002");
    assert_string_equal(FMT(g, "%pI4", ip2), "192.168.1.100");
    assert_string_equal(FMT(g, "%pI4h %pI4n", ip2, ip2), "100.1.168.192 192.168.1.100");
    assert_string_equal(FMT(g, "[%-10pI4]", ip), "[10.0.2.2  ]");
    assert_string_equal(FMT(g, "%pIx", ip), "(%pI?)");
}

static void test_kfmt__ipv6_addresses__print_full_or_compressed(void **state)
{
    TestGuest *g = *state;
    uint64_t ll = guest_put(g, "\xfe\x80\0\0\0\0\0\0\x50\x54\x00\xff\xfe\x12\x34\x56", 16);
    uint64_t lo = guest_put(g, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    uint64_t v4 = guest_put(g, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\x00\x02\x02", 16);
    uint64_t two = guest_put(g, "\x20\x01\x0d\xb8\0\0\0\x01\0\0\0\0\0\x01\0\0", 16);
    uint64_t one = guest_put(g, "\x20\x01\x0d\xb8\0\0\0\x01\0\x01\0\x01\0\x01\0\x01", 16);

    assert_string_equal(FMT(g, "%pI6", ll), "fe80:0000:0000:0000:5054:00ff:fe12:3456");
    assert_string_equal(FMT(g, "%pi6", ll), "fe80000000000000505400fffe123456");
    assert_string_equal(FMT(g, "%pI6c", ll), "fe80::5054:ff:fe12:3456");
    assert_string_equal(FMT(g, "%pI6c", lo), "::1");
    assert_string_equal(FMT(g, "%pI6c", v4), "::ffff:10.0.2.2");
    /* a single zero word is not compressed; the first longest run is */
    assert_string_equal(FMT(g, "%pI6c", two), "2001:db8:0:1::1:0");
    assert_string_equal(FMT(g, "%pI6c", one), "2001:db8:0:1:1:1:1:1");
}

static void test_kfmt__escaped_strings__escape_non_printables(void **state)
{
    TestGuest *g = *state;
    uint64_t s = guest_put(g, "a\n\x01\x1b\x7f\xe9\"\0z", 9);

    assert_string_equal(FMT(g, "%*pE", 9, s), "a\\n\\001\\e\\177\xe9\"\\0z");
    assert_string_equal(FMT(g, "%pE", s), "a");
    assert_string_equal(FMT(g, "%*pEh", 3, s), "\\x61\\x0a\\x01");
    assert_string_equal(FMT(g, "%*pEn", 9, s), "a\n\x01\x1b\x7f\xe9\"\\0z");
}

static void test_kfmt__symbols__come_from_the_callback_or_hex(void **state)
{
    TestGuest *g = *state;

    assert_string_equal(FMT(g, "%pS", 0xffffffffc000101cull),
                        "rtl8139_init_one+0x1c/0x400 [8139too]");
    assert_string_equal(FMT(g, "%ps", 0xffffffffc000101cull), "rtl8139_init_one");
    assert_string_equal(FMT(g, "%pSR|%pB", 0xffffffffc0001020ull, 0xffffffffc0001020ull),
                        "rtl8139_init_one+0x20/0x400 [8139too]|"
                        "rtl8139_init_one+0x20/0x400 [8139too]");
    assert_string_equal(FMT(g, "%pS", 0xffffffff81000000ull), "0xffffffff81000000");
    g->src.symbolize = NULL;
    assert_string_equal(FMT(g, "[%pS][%ps]", 0xffffffffc000101cull, 0x1234),
                        "[0xffffffffc000101c][0x1234]");
}

static void test_kfmt__plain_pointers__are_hashed_deterministically(void **state)
{
    TestGuest *g = *state;

    /* the hash is SipHash-2-4 keyed 00..0f: its reference vector for the
     * message 00..07 is 0x93f5f5799a932462, of which Linux keeps 32 bits */
    assert_string_equal(FMT(g, "%p", 0x0706050403020100ull), "000000009a932462");
    assert_string_equal(FMT(g, "%p %pK", GUEST_BASE, GUEST_BASE),
                        "000000007f44725e 000000007f44725e");
    assert_string_equal(FMT(g, "%p|%p", 0, ERR(12)), "0000000000000000|fffffffffffffff4");
    assert_string_equal(FMT(g, "%px", GUEST_BASE), "ffff888000100000");
    assert_string_equal(FMT(g, "[%20px][%-6px]", 0x1234, 0xab),
                        "[                1234][ab    ]");
    /* letters after %p are part of the conversion; the rest is text */
    assert_string_equal(FMT(g, "%pZq7!", 0), "0000000000000000!");
}

static void test_kfmt__error_pointers__print_errno_names(void **state)
{
    TestGuest *g = *state;

    assert_string_equal(FMT(g, "%pe", ERR(12)), "-ENOMEM");
    assert_string_equal(FMT(g, "%pe %pe %pe", ERR(11), ERR(517), ERR(110)),
                        "-EAGAIN -EPROBE_DEFER -ETIMEDOUT");
    assert_string_equal(FMT(g, "%pe %pe", ERR(1234), ERR(520)), "-1234 -520");
    assert_string_equal(FMT(g, "[%10pe]", ERR(19)), "[   -ENODEV]");
    assert_string_equal(FMT(g, "%pe", 0x0706050403020100ull), "000000009a932462");
}

static void test_kfmt__address_pointers__print_the_value_behind_them(void **state)
{
    TestGuest *g = *state;
    uint64_t phys = guest_u64(g, 0xfebf1000ull);
    uint64_t dma = guest_u64(g, 0x12345678ull);

    assert_string_equal(FMT(g, "%pa %pap %pad", phys, phys, dma),
                        "0x00000000febf1000 0x00000000febf1000 0x0000000012345678");
    /* the width is ignored, as special_hex_number() does */
    assert_string_equal(FMT(g, "[%4pad]", dma), "[0x0000000012345678]");
    assert_string_equal(FMT(g, "%pNF", guest_u64(g, 0x4000ull)), "0x0000000000004000");
    assert_string_equal(FMT(g, "%pad", GUEST_UNMAPPED), "(efault)");
}

static void test_kfmt__uuids_and_kernel_strings__print_like_linux(void **state)
{
    TestGuest *g = *state;
    uint64_t u = guest_put(g, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", 16);

    assert_string_equal(FMT(g, "%pU", u), "00010203-0405-0607-0809-0a0b0c0d0e0f");
    assert_string_equal(FMT(g, "%pUl", u), "03020100-0504-0706-0809-0a0b0c0d0e0f");
    assert_string_equal(FMT(g, "%pUB", u), "00010203-0405-0607-0809-0A0B0C0D0E0F");
    assert_string_equal(FMT(g, "%pks %pkx", guest_str(g, "fw"), 0), "fw (einval)");
    assert_string_equal(FMT(g, "%pR", u), "(%pR?)");
}

/* A guest va_list: gp_offset, fp_offset, overflow_arg_area, reg_save_area. */
static uint64_t guest_va_list(TestGuest *g, uint32_t gp_offset,
                              const uint64_t regs[6], const uint64_t *stack,
                              size_t nstack)
{
    uint8_t va[24] = { 0 };
    uint64_t reg_area = guest_put(g, regs, 6 * sizeof(uint64_t));
    uint64_t stack_area = guest_put(g, stack, nstack * sizeof(uint64_t));

    memcpy(va, &gp_offset, 4);
    memcpy(va + 8, &stack_area, 8);
    memcpy(va + 16, &reg_area, 8);
    return guest_put(g, va, sizeof(va));
}

static uint64_t guest_va_format(TestGuest *g, uint64_t fmt, uint64_t va)
{
    uint64_t vf[2] = { fmt, va };

    return guest_put(g, vf, sizeof(vf));
}

static void test_kfmt__va_format__recurses_through_registers_then_stack(void **state)
{
    TestGuest *g = *state;
    /* _dev_err(dev, fmt, ...): dev and fmt used rdi and rsi, so the
     * variadic part starts at rdx (gp_offset 16) and spills to the stack
     * after r9 */
    uint64_t name = guest_str(g, "eth0");
    uint64_t regs[6] = { 0xdead, 0xdead, name, 10, 20, 30 };
    uint64_t stack[3] = { 40, ERR(5), 0x55 };
    uint64_t va = guest_va_list(g, 16, regs, stack, 3);
    uint64_t inner = guest_str(g, "%s: %d %d %d %d %d %c");
    uint64_t vf = guest_va_format(g, inner, va);
    uint8_t before[24];

    memcpy(before, g->mem + (va - GUEST_BASE), sizeof(before));
    assert_string_equal(FMT(g, "8139too 0000:00:03.0: %pV!", vf),
                        "8139too 0000:00:03.0: eth0: 10 20 30 40 -5 U!");
    assert_memory_equal(before, g->mem + (va - GUEST_BASE), sizeof(before));
    /* the same va_list formats the same again: guest memory untouched */
    assert_string_equal(FMT(g, "[%20pV]", vf), "[eth0: 10 20 30 40 -5 U]");
}

static void test_kfmt__va_format__with_registers_used_up__reads_the_stack(void **state)
{
    TestGuest *g = *state;
    uint64_t regs[6] = { 1, 2, 3, 4, 5, 6 };
    uint64_t stack[2] = { 77, 0x4142 };
    uint64_t va = guest_va_list(g, 48, regs, stack, 2);
    uint64_t vf = guest_va_format(g, guest_str(g, "%u %hx"), va);

    assert_string_equal(FMT(g, "<%pV>", vf), "<77 4142>");
}

static void test_kfmt__va_format__nested_and_truncated__continues_the_outer_text(void **state)
{
    TestGuest *g = *state;
    uint64_t regs[6] = { 0 };
    uint64_t stack[1] = { 0 };
    uint64_t va, vf, outer_vf;

    regs[0] = guest_str(g, "link up");
    va = guest_va_list(g, 0, regs, stack, 0);
    vf = guest_va_format(g, guest_str(g, "%s"), va);
    regs[0] = vf;
    outer_vf = guest_va_format(g, guest_str(g, "eth0: %pV"),
                               guest_va_list(g, 0, regs, stack, 0));
    assert_string_equal(FMT(g, "%pV.", outer_vf), "eth0: link up.");
    assert_string_equal(FMT_CAP(g, 9, "%pV.", outer_vf), "eth0: li");
    assert_int_equal(g->len, 14);
}

static void test_kfmt__va_format__bad_pointers__print_efault(void **state)
{
    TestGuest *g = *state;
    uint64_t fmt = guest_str(g, "%d");
    uint64_t self_fmt = guest_str(g, "<%pV>");
    uint64_t regs[6] = { 0 };
    uint64_t self_va, self_vf;

    assert_string_equal(FMT(g, "%pV|%pV", GUEST_UNMAPPED, 0), "(efault)|(null)");
    assert_string_equal(FMT(g, "%pV", guest_va_format(g, fmt, GUEST_UNMAPPED)), "(efault)");
    /* a va_format whose argument is itself: bounded, not a host crash */
    self_vf = GUEST_BASE + g->used + 6 * 8 + 32;  /* after regs and va_list */
    regs[0] = self_vf;
    self_va = guest_va_list(g, 0, regs, regs, 0);
    assert_int_equal(guest_va_format(g, self_fmt, self_va), self_vf);
    FMT(g, "%pV", self_vf);
    assert_int_equal(strncmp(g->out, "<<<<", 4), 0);
    assert_true(g->len < 40 && g->len % 2 == 0);
}

static void test_kfmt__va_list_init__reads_the_sysv_layout(void **state)
{
    TestGuest *g = *state;
    uint64_t regs[6] = { 11, 22, 33, 44, 55, 66 };
    uint64_t stack[2] = { 77, 88 };
    uint64_t va_gva = guest_va_list(g, 32, regs, stack, 2);
    KfmtVaList va;

    assert_int_equal(kfmt_va_list_init(&va, &g->src, va_gva), 0);
    assert_int_equal(va.gp_offset, 32);
    assert_ptr_equal(va.parent, &g->src);
    assert_int_equal(va.src.next_arg(&va.src), 55);
    assert_int_equal(va.src.next_arg(&va.src), 66);
    assert_int_equal(va.src.next_arg(&va.src), 77);
    assert_int_equal(va.src.next_arg(&va.src), 88);
    assert_int_equal(kfmt_va_list_init(&va, &g->src, GUEST_UNMAPPED), -1);
}

static void test_kfmt__unmapped_format_string__prints_efault(void **state)
{
    TestGuest *g = *state;
    char out[32];

    assert_int_equal(kfmt_format(out, sizeof(out), GUEST_UNMAPPED, &g->src), 8);
    assert_string_equal(out, "(efault)");
}

static void test_kfmt__strip_level__removes_every_prefix(void **state)
{
    char a[] = "\0013rtl8139: probe\n";
    char b[] = "\001c\0014 more";
    char c[] = "\001ccontinued";
    char d[] = "plain";
    char e[] = "\001zodd";
    char f[] = "\0016\0012x";

    (void)state;
    assert_int_equal(kfmt_strip_level(a), '3');
    assert_string_equal(a, "rtl8139: probe\n");
    assert_int_equal(kfmt_strip_level(b), '4');
    assert_string_equal(b, " more");
    assert_int_equal(kfmt_strip_level(c), 'c');
    assert_string_equal(c, "continued");
    assert_int_equal(kfmt_strip_level(d), 0);
    assert_string_equal(d, "plain");
    assert_int_equal(kfmt_strip_level(e), 0);
    assert_string_equal(e, "\001zodd");
    assert_int_equal(kfmt_strip_level(f), '6');
    assert_string_equal(f, "x");
}

#define T(name) cmocka_unit_test_setup_teardown(name, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_kfmt__plain_text_and_percent__are_copied),
        T(test_kfmt__integers__are_narrowed_by_length_modifier),
        T(test_kfmt__flags_width_and_precision__follow_linux_not_glibc),
        T(test_kfmt__star_width_and_precision__come_from_arguments),
        T(test_kfmt__chars__are_padded_like_linux),
        T(test_kfmt__strings__read_from_guest_with_width_and_precision),
        T(test_kfmt__string_running_into_unmapped_memory__stops_there),
        T(test_kfmt__long_string__is_read_across_chunks),
        T(test_kfmt__unsupported_conversion__ends_the_output),
        T(test_kfmt__small_buffer__truncates_and_returns_full_length),
        T(test_kfmt__mac_addresses__print_like_linux),
        T(test_kfmt__hex_bytes__take_their_length_from_the_width),
        T(test_kfmt__ipv4_addresses__print_dotted),
        T(test_kfmt__ipv6_addresses__print_full_or_compressed),
        T(test_kfmt__escaped_strings__escape_non_printables),
        T(test_kfmt__symbols__come_from_the_callback_or_hex),
        T(test_kfmt__plain_pointers__are_hashed_deterministically),
        T(test_kfmt__error_pointers__print_errno_names),
        T(test_kfmt__address_pointers__print_the_value_behind_them),
        T(test_kfmt__uuids_and_kernel_strings__print_like_linux),
        T(test_kfmt__va_format__recurses_through_registers_then_stack),
        T(test_kfmt__va_format__with_registers_used_up__reads_the_stack),
        T(test_kfmt__va_format__nested_and_truncated__continues_the_outer_text),
        T(test_kfmt__va_format__bad_pointers__print_efault),
        T(test_kfmt__va_list_init__reads_the_sysv_layout),
        T(test_kfmt__unmapped_format_string__prints_efault),
        T(test_kfmt__strip_level__removes_every_prefix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
