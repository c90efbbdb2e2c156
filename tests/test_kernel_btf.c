/*
 * tests/test_kernel_btf.c: struct layouts from BTF (kernel-guest/btf_layout).
 *
 * The real kernel's numbers are checked against constants the compiler baked
 * into Debian's own 8139too.ko and e1000.ko (notes/driver-survey/
 * asm-evidence.txt): if BTF and the binaries ever disagree, these fail.
 * A small BTF blob built with libbpf's writer covers raw files, edge cases
 * and malformed input.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/btf.h>

#include "kernel-guest/btf_layout.h"
#include "tests/support.h"

typedef struct BtfTestState {
    BtfLayout *kernel;    /* vmlinux */
    BtfLayout *rtl8139;   /* 8139too.ko split on kernel */
} BtfTestState;

static int btf_test_setup(void **state)
{
    static BtfTestState s;
    SlError e = {{0}};

    if (btf_layout_open(test_kimage()->vmlinux, &s.kernel, &e) != 0) {
        fail_msg("%s", e.msg);
    }
    if (btf_layout_open_split(test_real_module_path("8139too"), s.kernel,
                              &s.rtl8139, &e) != 0) {
        fail_msg("%s", e.msg);
    }
    *state = &s;
    return 0;
}

static int btf_test_teardown(void **state)
{
    BtfTestState *s = *state;

    btf_layout_close(s->rtl8139);
    btf_layout_close(s->kernel);
    return 0;
}

static BtfLayout *kernel(void **state)
{
    return ((BtfTestState *)*state)->kernel;
}

static BtfField field(BtfLayout *l, const char *type, const char *path)
{
    BtfField f;
    int rc = btf_layout_field(l, type, path, &f);

    if (rc != 0) {
        fail_msg("btf_layout_field(%s, %s) = %d", type, path, rc);
    }
    return f;
}

/* ---- the real kernel, checked against the real drivers' code ---------- */

static void test_btf__net_device_size__rounds_to_8139too_priv_offset(void **state)
{
    long size = btf_layout_sizeof(kernel(state), "net_device");

    /* netdev_priv() = dev + ALIGN(sizeof(struct net_device), NETDEV_ALIGN=32);
     * 8139too: mov 0x980(%rdi),%rbp. */
    assert_true(size > 0);
    assert_int_equal((size + 31) & ~31L, 0x980);
    assert_int_equal(btf_layout_sizeof(kernel(state), "struct net_device"), size);
}

static void test_btf__netif_stop_queue_fields__match_8139too_code(void **state)
{
    /* mov 0x3c0(%rdi),%rax; mov %rdx,0x88(%rax); lock orb $1,0x90(%rax) */
    assert_int_equal(btf_layout_offsetof(kernel(state), "net_device", "_tx"), 0x3c0);
    assert_int_equal(btf_layout_offsetof(kernel(state), "netdev_queue", "trans_start"),
                     0x88);
    assert_int_equal(btf_layout_offsetof(kernel(state), "netdev_queue", "state"), 0x90);
}

static void test_btf__task_struct_pagefault_disabled__matches_8139too_code(void **state)
{
    /* addl $0x1,0x1418(%rax) with rax = current */
    assert_int_equal(btf_layout_offsetof(kernel(state), "task_struct",
                                         "pagefault_disabled"), 0x1418);
}

static void test_btf__page_fields_in_anonymous_unions__match_e1000_code(void **state)
{
    /* put_page(): page->compound_head (+8), lock decl page->_refcount (+0x34);
     * compound_head sits in an anonymous struct inside an anonymous union. */
    assert_int_equal(btf_layout_offsetof(kernel(state), "page", "compound_head"), 8);
    assert_int_equal(btf_layout_offsetof(kernel(state), "page", "_refcount"), 0x34);
    /* _refcount is an atomic_t: a typedef'd anonymous struct. */
    assert_int_equal(btf_layout_offsetof(kernel(state), "page", "_refcount.counter"),
                     0x34);
}

static void test_btf__sk_buff_bitfields__sit_at_the_kernels_marker_fields(void **state)
{
    /* Linux marks the bytes holding these bitfields with zero-length arrays
     * (__cloned_offset, __pkt_type_offset) for its BPF code generator. */
    BtfLayout *l = kernel(state);
    BtfField cloned = field(l, "sk_buff", "cloned");
    BtfField pkt_type = field(l, "sk_buff", "pkt_type");

    assert_int_equal(cloned.offset, btf_layout_offsetof(l, "sk_buff", "__cloned_offset"));
    /* e1000_xmit_frame: testb $0x1,0x7e(%r9) -- skb_cloned(skb) */
    assert_int_equal(cloned.offset, 0x7e);
    assert_int_equal(cloned.bit_offset, 0);
    assert_int_equal(cloned.bit_size, 1);
    assert_int_equal(cloned.size, 1);
    assert_int_equal(pkt_type.offset,
                     btf_layout_offsetof(l, "sk_buff", "__pkt_type_offset"));
    assert_int_equal(pkt_type.bit_offset, 0);
    assert_int_equal(pkt_type.bit_size, 3);
    /* The same bitfield reached through the named struct_group. */
    assert_int_equal(field(l, "sk_buff", "headers.pkt_type").offset, pkt_type.offset);
}

static void test_btf__nested_bitfield_path__composes_member_offsets(void **state)
{
    BtfLayout *l = kernel(state);
    BtfField wake = field(l, "pci_dev", "dev.power.can_wakeup");
    BtfField inner = field(l, "dev_pm_info", "can_wakeup");
    uint64_t base = (uint64_t)btf_layout_offsetof(l, "pci_dev", "dev") +
                    (uint64_t)btf_layout_offsetof(l, "device", "power");

    assert_int_equal(wake.bit_size, 1);
    /* e1000: testb $0x1,0x1ac(%rdi) -- device_can_wakeup(&pdev->dev) */
    assert_int_equal(wake.offset * 8 + wake.bit_offset, 0x1ac * 8);
    assert_int_equal(wake.offset * 8 + wake.bit_offset,
                     (base + inner.offset) * 8 + inner.bit_offset);
    assert_true(wake.bit_offset + wake.bit_size <= wake.size * 8);
    assert_int_equal(field(l, "pci_dev", "msi_enabled").bit_size, 1);
}

static void test_btf__array_subscript__adds_element_size(void **state)
{
    BtfLayout *l = kernel(state);
    long res = btf_layout_offsetof(l, "pci_dev", "resource");
    long rsize = btf_layout_sizeof(l, "resource");
    BtfField all = field(l, "pci_dev", "resource");
    BtfField one = field(l, "pci_dev", "resource[1]");

    assert_true(res > 0 && rsize == 64);
    assert_int_equal(btf_layout_offsetof(l, "pci_dev", "resource[1].start"), res + rsize);
    assert_int_equal(btf_layout_offsetof(l, "pci_dev", "resource[2].flags"),
                     res + 2 * rsize + btf_layout_offsetof(l, "resource", "flags"));
    assert_true(all.elem_count >= 7);   /* 6 BARs + ROM at least */
    assert_int_equal(all.size, all.elem_count * rsize);
    assert_int_equal(one.size, rsize);
    assert_int_equal(one.elem_count, 0);
    assert_int_equal(btf_layout_offsetof(l, "pci_dev", "resource[0x1].start"), res + rsize);
}

static void test_btf__array_subscript_out_of_range__is_unknown(void **state)
{
    BtfLayout *l = kernel(state);
    BtfField all = field(l, "pci_dev", "resource");
    char path[64];

    snprintf(path, sizeof(path), "resource[%u].start", all.elem_count);
    assert_int_equal(btf_layout_offsetof(l, "pci_dev", path), -ENOENT);
    snprintf(path, sizeof(path), "resource[%u].start", all.elem_count - 1);
    assert_true(btf_layout_offsetof(l, "pci_dev", path) > 0);
}

static void test_btf__typedef__resolves_to_its_type(void **state)
{
    BtfLayout *l = kernel(state);

    assert_int_equal(btf_layout_sizeof(l, "dma_addr_t"), 8);
    assert_int_equal(btf_layout_sizeof(l, "u8"), 1);
    assert_int_equal(btf_layout_sizeof(l, "spinlock_t"), btf_layout_sizeof(l, "struct spinlock"));
    assert_int_equal(btf_layout_sizeof(l, "atomic_t"), 4);
    assert_int_equal(btf_layout_offsetof(l, "atomic_t", "counter"), 0);
}

static void test_btf__enumerator__has_its_value(void **state)
{
    int64_t v = -1;

    assert_int_equal(btf_layout_enum_value(kernel(state), "NETREG_REGISTERED", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(btf_layout_enum_value(kernel(state), "NETREG_UNINITIALIZED", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(btf_layout_enum_value(kernel(state), "NO_SUCH_ENUMERATOR_XYZ", &v),
                     -ENOENT);
}

static void test_btf__module_private_type__comes_from_split_btf(void **state)
{
    BtfTestState *s = *state;

    /* 8139too: mov 0x998(%rdi),%eax = netdev_priv(dev)->msg_enable. */
    assert_true(btf_layout_sizeof(s->rtl8139, "rtl8139_private") > 0);
    assert_int_equal(btf_layout_offsetof(s->rtl8139, "struct rtl8139_private",
                                         "msg_enable"), 0x18);
    assert_int_equal(btf_layout_sizeof(s->kernel, "rtl8139_private"), -ENOENT);
    /* Kernel types are still there through the module's layout. */
    assert_int_equal(btf_layout_sizeof(s->rtl8139, "net_device"),
                     btf_layout_sizeof(s->kernel, "net_device"));
    assert_int_equal(btf_layout_offsetof(s->rtl8139, "net_device", "_tx"), 0x3c0);
}

static void test_btf__unknown_type_or_path__is_enoent(void **state)
{
    BtfLayout *l = kernel(state);
    static const char *bad_paths[] = {
        "no_such_field", "", "dev..parent", "dev.", ".dev", "_tx[0]",
        "resource[", "resource[]", "resource[x]", "resource[1", "resource[1]x",
        "dev.power.can_wakeup.x", "dev.power.can_wakeup[0]", "dev parent",
    };

    assert_int_equal(btf_layout_sizeof(l, "no_such_type_xyz"), -ENOENT);
    assert_int_equal(btf_layout_sizeof(l, "union net_device"), -ENOENT);
    assert_int_equal(btf_layout_offsetof(l, "no_such_type_xyz", "x"), -ENOENT);
    for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
        /* twice: the second answer comes from the cache */
        for (int k = 0; k < 2; k++) {
            if (btf_layout_offsetof(l, "pci_dev", bad_paths[i]) != -ENOENT) {
                fail_msg("path \"%s\" should be unknown", bad_paths[i]);
            }
        }
    }
    assert_int_equal(btf_layout_offsetof(l, "pci_dev", NULL), -ENOENT);
}

static void test_btf__repeated_lookups__give_the_same_answer(void **state)
{
    BtfLayout *l = kernel(state);
    BtfField first = field(l, "pci_dev", "dev.power.can_wakeup");
    BtfField again;
    char type[32], path[64];

    /* Enough distinct lookups to make the cache grow several times. */
    for (int i = 0; i < 300; i++) {
        snprintf(type, sizeof(type), "pci_dev");
        snprintf(path, sizeof(path), "resource[%d].end", i % 7);
        assert_int_equal(btf_layout_offsetof(l, type, path),
                         btf_layout_offsetof(l, "pci_dev", "resource") +
                             (i % 7) * 64 + 8);
        snprintf(path, sizeof(path), "no_such_%d", i);
        assert_int_equal(btf_layout_offsetof(l, type, path), -ENOENT);
    }
    again = field(l, "pci_dev", "dev.power.can_wakeup");
    assert_memory_equal(&first, &again, sizeof(first));
}

/* ---- a synthetic blob: raw files and edge cases ------------------------ */

static void write_file(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    void *d;
    long len;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    d = malloc((size_t)len);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return d;
}

static const char *temp_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    const char *dir = getenv("TMPDIR");

    snprintf(p, sizeof(buf[0]), "%s/sluice-btf-%d-%s", dir ? dir : "/tmp",
             (int)getpid(), name);
    return p;
}

/* struct demo { u32 a; struct { u16 inner, inner2; }; u8 arr[4];
 *               u32 lo:3, hi:5; u32 tail[]; };          size 16
 * struct packed_demo { u8 x; u32 odd:4 at bit 30; };    packed, size 5
 * typedef struct demo demo_t;  enum color { RED, GREEN = 7, NEG = -5 }; */
static struct btf *demo_btf(void)
{
    struct btf *b = btf__new_empty();
    int u32, u16, u8, anon, arr, flex, demo, packed, en;

    assert_non_null(b);
    u32 = btf__add_int(b, "unsigned int", 4, 0);
    u16 = btf__add_int(b, "short unsigned int", 2, 0);
    u8 = btf__add_int(b, "unsigned char", 1, 0);
    anon = btf__add_struct(b, NULL, 4);
    assert_int_equal(btf__add_field(b, "inner", u16, 0, 0), 0);
    assert_int_equal(btf__add_field(b, "inner2", u16, 16, 0), 0);
    arr = btf__add_array(b, u32, u8, 4);
    flex = btf__add_array(b, u32, u32, 0);
    demo = btf__add_struct(b, "demo", 16);
    assert_int_equal(btf__add_field(b, "a", u32, 0, 0), 0);
    assert_int_equal(btf__add_field(b, NULL, anon, 32, 0), 0);
    assert_int_equal(btf__add_field(b, "arr", arr, 64, 0), 0);
    assert_int_equal(btf__add_field(b, "lo", u32, 96, 3), 0);
    assert_int_equal(btf__add_field(b, "hi", u32, 99, 5), 0);
    assert_int_equal(btf__add_field(b, "tail", flex, 128, 0), 0);
    packed = btf__add_struct(b, "packed_demo", 5);
    assert_int_equal(btf__add_field(b, "x", u8, 0, 0), 0);
    assert_int_equal(btf__add_field(b, "odd", u32, 30, 4), 0);
    assert_true(btf__add_typedef(b, "demo_t", demo) > 0);
    en = btf__add_enum(b, "color", 4);
    assert_true(en > 0 && packed > 0);
    assert_int_equal(btf__add_enum_value(b, "RED", 0), 0);
    assert_int_equal(btf__add_enum_value(b, "GREEN", 7), 0);
    assert_int_equal(btf__add_enum_value(b, "NEG", -5), 0);
    return b;
}

static const void *demo_raw(uint32_t *n)
{
    static struct btf *b;

    if (!b) {
        b = demo_btf();
    }
    return btf__raw_data(b, n);
}

static BtfLayout *open_demo(void)
{
    uint32_t n;
    const void *raw = demo_raw(&n);
    const char *path = temp_path("demo.btf");
    BtfLayout *l = NULL;
    SlError e = {{0}};

    write_file(path, raw, n);
    if (btf_layout_open(path, &l, &e) != 0) {
        fail_msg("%s", e.msg);
    }
    unlink(path);
    return l;
}

static void test_btf__raw_blob__opens_and_answers(void **state)
{
    BtfLayout *l = open_demo();
    BtfField f;
    int64_t v;

    assert_int_equal(btf_layout_sizeof(l, "demo"), 16);
    assert_int_equal(btf_layout_sizeof(l, "demo_t"), 16);
    assert_int_equal(btf_layout_offsetof(l, "demo_t", "inner2"), 6);
    assert_int_equal(btf_layout_offsetof(l, "demo", "arr[3]"), 11);
    f = field(l, "demo", "arr");
    assert_int_equal(f.size, 4);
    assert_int_equal(f.elem_count, 4);
    f = field(l, "demo", "hi");
    assert_int_equal(f.offset, 12);
    assert_int_equal(f.size, 4);
    assert_int_equal(f.bit_offset, 3);
    assert_int_equal(f.bit_size, 5);
    /* A flexible array member takes any index. */
    assert_int_equal(btf_layout_offsetof(l, "demo", "tail[5]"), 16 + 5 * 4);
    assert_int_equal(btf_layout_enum_value(l, "GREEN", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(btf_layout_enum_value(l, "NEG", &v), 0);
    assert_int_equal(v, -5);
    btf_layout_close(l);
}

static void test_btf__bitfield_straddling_its_unit__is_given_from_its_byte(void **state)
{
    BtfLayout *l = open_demo();
    BtfField f = field(l, "packed_demo", "odd");

    assert_int_equal(f.offset, 3);
    assert_int_equal(f.bit_offset, 6);
    assert_int_equal(f.bit_size, 4);
    btf_layout_close(l);
}

/* ---- malformed files --------------------------------------------------- */

/* Opens path expecting failure; checks the message is one line naming the
 * file and containing what. */
static void expect_open_error(const char *path, const BtfLayout *base, const char *what)
{
    BtfLayout *l = (BtfLayout *)0x1;
    SlError e = {{0}};
    int rc = base ? btf_layout_open_split(path, base, &l, &e)
                  : btf_layout_open(path, &l, &e);

    if (rc >= 0) {
        fail_msg("%s opened, expected an error with \"%s\"", path, what);
    }
    assert_null(l);
    if (strncmp(e.msg, path, strlen(path)) != 0 || strchr(e.msg, '\n') ||
        (what && !strstr(e.msg, what))) {
        fail_msg("bad error line for %s (want \"%s\"): %s", path, what, e.msg);
    }
}

static void test_btf__non_elf_file__is_bad_magic(void **state)
{
    const char *path = temp_path("text");

    write_file(path, "hello, world\n", 13);
    expect_open_error(path, NULL, "bad magic");
    write_file(path, "", 0);
    expect_open_error(path, NULL, "bad magic");
    unlink(path);
    expect_open_error(temp_path("does-not-exist"), NULL, "cannot open");
}

static void test_btf__elf_without_btf__says_so(void **state)
{
    expect_open_error("/proc/self/exe", NULL, "no .BTF section");
}

static void test_btf__truncated_raw_blob__is_truncated_at_every_length(void **state)
{
    uint32_t n;
    const uint8_t *raw = demo_raw(&n);
    const char *path = temp_path("cut.btf");

    for (uint32_t len = 2; len < n; len++) {
        write_file(path, raw, len);
        expect_open_error(path, NULL, "truncated");
    }
    unlink(path);
}

static void test_btf__truncated_module__is_truncated(void **state)
{
    BtfTestState *s = *state;
    size_t n;
    uint8_t *ko = read_file(test_real_module_path("8139too"), &n);
    const char *path = temp_path("cut.ko");

    for (int k = 1; k < 16; k++) {
        write_file(path, ko, n * k / 16);
        expect_open_error(path, s->kernel, "truncated");
    }
    unlink(path);
    free(ko);
}

/* Finds the .BTF section header of an in-memory ELF64 file. */
static Elf64_Shdr *find_btf_shdr(uint8_t *d, size_t n)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)d;
    Elf64_Shdr *sh = (Elf64_Shdr *)(d + eh->e_shoff);
    const char *names = (const char *)d + sh[eh->e_shstrndx].sh_offset;

    assert_true(eh->e_shoff + (size_t)eh->e_shnum * sizeof(*sh) <= n);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (strcmp(names + sh[i].sh_name, ".BTF") == 0) {
            return &sh[i];
        }
    }
    fail_msg("no .BTF in test module");
    return NULL;
}

static void test_btf__btf_section_past_end_of_file__is_truncated(void **state)
{
    BtfTestState *s = *state;
    size_t n;
    uint8_t *ko = read_file(test_real_module_path("8139too"), &n);
    const char *path = temp_path("long.ko");
    Elf64_Shdr *sh = find_btf_shdr(ko, n);
    Elf64_Shdr saved = *sh;

    sh->sh_size = n;
    write_file(path, ko, n);
    expect_open_error(path, s->kernel, "truncated");
    *sh = saved;
    ((uint8_t *)ko + sh->sh_offset)[0] ^= 0xff;   /* BTF magic */
    write_file(path, ko, n);
    expect_open_error(path, s->kernel, "bad magic");
    unlink(path);
    free(ko);
}

static void test_btf__corrupted_blobs__never_crash(void **state)
{
    uint32_t n;
    const uint8_t *raw = demo_raw(&n);
    uint8_t *copy = malloc(n);
    const char *path = temp_path("flip.btf");
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int opened = 0, failed = 0, by_libbpf = 0;

    assert_non_null(copy);
    for (int iter = 0; iter < 1500; iter++) {
        BtfLayout *l = NULL;
        SlError e = {{0}};
        BtfField f;
        int64_t v;

        memcpy(copy, raw, n);
        for (int k = 0; k < 1 + iter % 4; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            /* keep the magic so libbpf's parser, not ours, sees the damage */
            copy[4 + (rng >> 33) % (n - 4)] ^= (uint8_t)(1u << ((rng >> 29) & 7));
        }
        write_file(path, copy, n);
        if (btf_layout_open(path, &l, &e) != 0) {
            assert_true(strncmp(e.msg, path, strlen(path)) == 0 && !strchr(e.msg, '\n'));
            by_libbpf += strstr(e.msg, "rejected by libbpf [err=-22]: ") != NULL;
            failed++;
            continue;
        }
        opened++;
        (void)btf_layout_sizeof(l, "demo");
        (void)btf_layout_field(l, "demo_t", "hi", &f);
        (void)btf_layout_field(l, "demo", "tail[3]", &f);
        (void)btf_layout_field(l, "packed_demo", "odd", &f);
        (void)btf_layout_enum_value(l, "NEG", &v);
        btf_layout_close(l);
    }
    unlink(path);
    free(copy);
    /* Both outcomes happen, or the corruption was not exercising anything. */
    assert_true(opened > 0 && failed > 0 && by_libbpf > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_btf__net_device_size__rounds_to_8139too_priv_offset),
        cmocka_unit_test(test_btf__netif_stop_queue_fields__match_8139too_code),
        cmocka_unit_test(test_btf__task_struct_pagefault_disabled__matches_8139too_code),
        cmocka_unit_test(test_btf__page_fields_in_anonymous_unions__match_e1000_code),
        cmocka_unit_test(test_btf__sk_buff_bitfields__sit_at_the_kernels_marker_fields),
        cmocka_unit_test(test_btf__nested_bitfield_path__composes_member_offsets),
        cmocka_unit_test(test_btf__array_subscript__adds_element_size),
        cmocka_unit_test(test_btf__array_subscript_out_of_range__is_unknown),
        cmocka_unit_test(test_btf__typedef__resolves_to_its_type),
        cmocka_unit_test(test_btf__enumerator__has_its_value),
        cmocka_unit_test(test_btf__module_private_type__comes_from_split_btf),
        cmocka_unit_test(test_btf__unknown_type_or_path__is_enoent),
        cmocka_unit_test(test_btf__repeated_lookups__give_the_same_answer),
        cmocka_unit_test(test_btf__raw_blob__opens_and_answers),
        cmocka_unit_test(test_btf__bitfield_straddling_its_unit__is_given_from_its_byte),
        cmocka_unit_test(test_btf__non_elf_file__is_bad_magic),
        cmocka_unit_test(test_btf__elf_without_btf__says_so),
        cmocka_unit_test(test_btf__truncated_raw_blob__is_truncated_at_every_length),
        cmocka_unit_test(test_btf__truncated_module__is_truncated),
        cmocka_unit_test(test_btf__btf_section_past_end_of_file__is_truncated),
        cmocka_unit_test(test_btf__corrupted_blobs__never_crash),
    };

    return cmocka_run_group_tests(tests, btf_test_setup, btf_test_teardown);
}
