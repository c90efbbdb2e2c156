/*
 * tests/test_kernel_loader.c: the .ko loader on modules this project
 * builds (tests/modules/) and on the real 8139too: every relocation type
 * a 6.1 module uses, module parameters, "Unknown symbol" lines, and bad
 * files -- truncated, corrupted field by field, not ELF, wrong machine --
 * each refused with one line naming the file and the field, never a crash,
 * with nothing left loaded.
 *
 * Corrupted copies are made by patching the built module with <elf.h>
 * structures at the offsets its own headers give.
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "kernel-guest/kernel_internal.h"
#include "tests/support.h"

#define TEST_LOG_LINES 64
#define RELOCS_MAGIC 0x1122334455667788ull
#define RELOCS_ALL 0x3f          /* init_module's bit per reference followed */

typedef struct TestFx {
    Kernel *k;
    char log[TEST_LOG_LINES][512];
    int log_level[TEST_LOG_LINES];
    unsigned nlog;
    const char *exported;        /* export_kind says FUNC for this name */
    char dir[64];                /* temp dir for corrupted copies */
} TestFx;

/* ---- a Kernel with a captured log ---- */

static void test_log(void *opaque, int level, const char *line)
{
    TestFx *f = opaque;

    if (f->nlog < TEST_LOG_LINES) {
        f->log_level[f->nlog] = level;
        snprintf(f->log[f->nlog++], sizeof(f->log[0]), "%s", line);
    }
}

static KernelExportKind test_export_kind(void *opaque, const char *name, uint32_t *crc)
{
    TestFx *f = opaque;

    return f->exported && strcmp(name, f->exported) == 0 ? KERNEL_EXPORT_FUNC
                                                         : KERNEL_EXPORT_NONE;
}

static void test_kernel_start(TestFx *f, bool allow_unserved)
{
    KernelConfig cfg = {.btf_path = test_kimage()->vmlinux, .allow_unserved = allow_unserved};
    KernelHostOps ops = {.log = test_log, .export_kind = test_export_kind, .opaque = f};
    SlError e = {{0}};

    kernel_free(f->k);
    f->k = NULL;
    f->nlog = 0;
    if (kernel_new(&cfg, &ops, &f->k, &e) != 0) {
        fail_msg("kernel_new: %s", e.msg);
    }
}

static int setup(void **state)
{
    TestFx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/sluice-loader-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    test_kernel_start(f, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    TestFx *f = *state;
    char cmd[128];

    kernel_free(f->k);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* The printk level of the first line containing needle, or -1. */
static int test_log_level(const TestFx *f, const char *needle)
{
    for (unsigned i = 0; i < f->nlog; i++) {
        if (strstr(f->log[i], needle)) {
            return f->log_level[i];
        }
    }
    return -1;
}

static unsigned test_count_log(const TestFx *f, const char *needle)
{
    unsigned n = 0;

    for (unsigned i = 0; i < f->nlog; i++) {
        n += strstr(f->log[i], needle) != NULL;
    }
    return n;
}

static KoModule *test_module(TestFx *f, int mod)
{
    assert_true(mod >= 0 && mod < KERNEL_MAX_MODULES);
    assert_non_null(f->k->modules[mod]);
    return f->k->modules[mod];
}

static uint64_t test_sym(TestFx *f, int mod, const char *name)
{
    uint64_t va = ko_symbol_va(test_module(f, mod), name);

    if (!va) {
        fail_msg("symbol %s not found in %s", name, test_module(f, mod)->name);
    }
    return va;
}

static uint64_t test_read(TestFx *f, uint64_t va, unsigned size)
{
    uint64_t v = 0;

    assert_int_equal(vcpu_read(kernel_vcpu(f->k), va, &v, size), 0);
    return v;
}

/* What a failed load must leave behind: nothing.  The count of RAM pages
 * in use and of mapped regions go back to what they were. */
typedef struct TestMemMark {
    unsigned nregions;
    uint64_t pages_used;
} TestMemMark;

static TestMemMark test_mem_mark(const TestFx *f)
{
    TestMemMark m = {.nregions = f->k->mem.nregions};

    for (uint64_t i = 0; i < f->k->mem.npages; i++) {
        m.pages_used += f->k->mem.store->frame_owner[i] != PK_FRAME_FREE;
    }
    return m;
}

static void test_assert_nothing_loaded(const TestFx *f, TestMemMark before)
{
    TestMemMark now = test_mem_mark(f);

    for (unsigned i = 0; i < KERNEL_MAX_MODULES; i++) {
        assert_null(f->k->modules[i]);
    }
    assert_int_equal(now.nregions, before.nregions);
    assert_int_equal(now.pages_used, before.pages_used);
}

/* One line, naming the file, and saying each of the given things. */
static void test_assert_error_line(const char *msg, const char *path, const char *what1,
                                   const char *what2)
{
    if (strchr(msg, '\n') || !strstr(msg, path) || (what1 && !strstr(msg, what1)) ||
        (what2 && !strstr(msg, what2)) || strlen(msg) >= sizeof(((SlError *)0)->msg) - 1) {
        fail_msg("bad error line: \"%s\" (want one line with \"%s\", \"%s\", \"%s\")", msg,
                 path, what1 ? what1 : "", what2 ? what2 : "");
    }
}

/* ---- ELF images in memory, patched through <elf.h> ---- */

typedef struct TestElf {
    uint8_t *b;
    size_t n;
} TestElf;

static TestElf test_elf_read(const char *path)
{
    TestElf f = {0};
    FILE *fp = fopen(path, "rb");

    if (!fp) {
        fail_msg("%s: cannot open (was test_modules built?)", path);
    }
    fseek(fp, 0, SEEK_END);
    f.n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f.b = malloc(f.n);
    assert_non_null(f.b);
    assert_int_equal(fread(f.b, 1, f.n, fp), f.n);
    fclose(fp);
    return f;
}

static void test_write_file(const char *path, const void *b, size_t n)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static Elf64_Ehdr *test_eh(const TestElf *f)
{
    return (Elf64_Ehdr *)f->b;
}

static Elf64_Shdr *test_sh(const TestElf *f, unsigned i)
{
    assert_true(i < test_eh(f)->e_shnum);
    return (Elf64_Shdr *)(f->b + test_eh(f)->e_shoff + (uint64_t)i * test_eh(f)->e_shentsize);
}

static const char *test_sec_name(const TestElf *f, unsigned i)
{
    return (const char *)f->b + test_sh(f, test_eh(f)->e_shstrndx)->sh_offset +
           test_sh(f, i)->sh_name;
}

static unsigned test_sec(const TestElf *f, const char *name)
{
    for (unsigned i = 1; i < test_eh(f)->e_shnum; i++) {
        if (strcmp(test_sec_name(f, i), name) == 0) {
            return i;
        }
    }
    fail_msg("no section %s", name);
    return 0;
}

static Elf64_Sym *test_syms(const TestElf *f, unsigned *n)
{
    Elf64_Shdr *sh = test_sh(f, test_sec(f, ".symtab"));

    *n = (unsigned)(sh->sh_size / sizeof(Elf64_Sym));
    return (Elf64_Sym *)(f->b + sh->sh_offset);
}

static unsigned test_sym_index(const TestElf *f, const char *name)
{
    unsigned n;
    Elf64_Sym *s = test_syms(f, &n);
    const char *str = (const char *)f->b + test_sh(f, test_sec(f, ".strtab"))->sh_offset;

    for (unsigned i = 1; i < n; i++) {
        if (strcmp(str + s[i].st_name, name) == 0) {
            return i;
        }
    }
    fail_msg("no symbol %s", name);
    return 0;
}

/* Calls fn on every RELA entry of the file. */
static void test_each_rela(const TestElf *f, void (*fn)(void *ctx, unsigned sec, Elf64_Rela *r),
                           void *ctx)
{
    for (unsigned i = 1; i < test_eh(f)->e_shnum; i++) {
        Elf64_Shdr *sh = test_sh(f, i);

        if (sh->sh_type != SHT_RELA) {
            continue;
        }
        for (uint64_t j = 0; j < sh->sh_size / sizeof(Elf64_Rela); j++) {
            fn(ctx, i, (Elf64_Rela *)(f->b + sh->sh_offset) + j);
        }
    }
}

typedef struct TestFind {
    unsigned type;
    Elf64_Rela *found;
    unsigned sec;
} TestFind;

static void test_find_cb(void *ctx, unsigned sec, Elf64_Rela *r)
{
    TestFind *t = ctx;

    if (!t->found && ELF64_R_TYPE(r->r_info) == t->type) {
        t->found = r;
        t->sec = sec;
    }
}

/* The first relocation of a type, and its section. */
static Elf64_Rela *test_rela(const TestElf *f, unsigned type, unsigned *sec)
{
    TestFind t = {.type = type};

    test_each_rela(f, test_find_cb, &t);
    if (!t.found) {
        fail_msg("no relocation of type %u", type);
    }
    if (sec) {
        *sec = t.sec;
    }
    return t.found;
}

static void test_count_cb(void *ctx, unsigned sec, Elf64_Rela *r)
{
    unsigned *counts = ctx;
    unsigned type = (unsigned)ELF64_R_TYPE(r->r_info);

    if (type < 64) {
        counts[type]++;
    }
}

/* ---- relocations ---- */

static void test_loader__relocs_module__contains_every_relocation_type(void **state)
{
    static const struct { unsigned type; const char *name; } want[] = {
        {R_X86_64_64, "R_X86_64_64"}, {R_X86_64_PC32, "R_X86_64_PC32"},
        {R_X86_64_PLT32, "R_X86_64_PLT32"}, {R_X86_64_32S, "R_X86_64_32S"},
        {R_X86_64_PC64, "R_X86_64_PC64"}, {R_X86_64_32, "R_X86_64_32"},
    };
    TestElf elf = test_elf_read(test_module_path("relocs"));
    unsigned counts[64] = {0};

    (void)state;
    test_each_rela(&elf, test_count_cb, counts);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (counts[want[i].type] == 0) {
            fail_msg("relocs.ko has no %s: the compiler no longer emits it", want[i].name);
        }
    }
    free(elf.b);
}

static void test_loader__each_relocation_type__holds_the_value_its_formula_gives(void **state)
{
    TestFx *f = *state;
    SlError e = {{0}};
    int mod = kernel_load_module(f->k, test_module_path("relocs"), NULL, 0, &e);
    uint64_t var, fn, p, slot;
    const KSym *cpu_number;
    int32_t rel32;

    if (mod < 0) {
        fail_msg("load: %s", e.msg);
    }
    var = test_sym(f, mod, "target_var");
    fn = test_sym(f, mod, "target_fn");
    assert_int_equal(test_read(f, var, 8), RELOCS_MAGIC);
    /* R_X86_64_64: S + A */
    assert_int_equal(test_read(f, test_sym(f, mod, "rel_64"), 8), var + 8);
    assert_int_equal(test_read(f, test_sym(f, mod, "rel_64_fn"), 8), fn);
    /* R_X86_64_PC64: S + A - P */
    p = test_sym(f, mod, "rel_pc64");
    assert_int_equal(test_read(f, p, 8), var - p);
    /* R_X86_64_PC32: S + A - P, 32 bits signed */
    p = test_sym(f, mod, "rel_pc32");
    assert_int_equal((int64_t)(int32_t)test_read(f, p, 4), (int64_t)(var - p));
    /* R_X86_64_32: S + A zero-extended; S is a per-CPU offset */
    cpu_number = ksyms_find(&f->k->syms, "cpu_number");
    assert_non_null(cpu_number);
    assert_int_equal(test_read(f, test_sym(f, mod, "rel_32"), 4), cpu_number->addr + 4);
    /* R_X86_64_32S: movq $target_var+16, %rax: the imm32 sign-extends to it */
    p = test_sym(f, mod, "rel_32s");
    assert_int_equal(test_read(f, p, 3), 0xc0c748);           /* 48 c7 c0 */
    assert_int_equal((uint64_t)(int64_t)(int32_t)test_read(f, p + 3, 4), var + 16);
    /* R_X86_64_PLT32: call _printk lands on the gateway slot of _printk */
    p = test_sym(f, mod, "rel_plt32");
    assert_int_equal(test_read(f, p, 1), 0xe8);
    rel32 = (int32_t)test_read(f, p + 1, 4);
    slot = p + 5 + (uint64_t)(int64_t)rel32;
    assert_non_null(vcpu_gateway_name(kernel_vcpu(f->k), slot));
    assert_string_equal(vcpu_gateway_name(kernel_vcpu(f->k), slot), "_printk");
}

static void test_loader__relocs_init__follows_every_reference_to_its_target(void **state)
{
    TestFx *f = *state;
    SlError e = {{0}};
    int mod = kernel_load_module(f->k, test_module_path("relocs"), NULL, 0, &e);
    int ret;

    if (mod < 0) {
        fail_msg("load: %s", e.msg);
    }
    ret = kernel_init_module(f->k, mod);
    if (ret != RELOCS_ALL) {
        if (kernel_dead(f->k)) {
            kernel_report_print(f->k, stderr);
        }
        fail_msg("init_module returned 0x%x, want 0x%x (a clear bit is a reference "
                 "that missed: 1=64 2=PC32 4=PC64 8=32S 16=64/PLT32 to a function 32=_printk)",
                 ret, RELOCS_ALL);
    }
    assert_int_equal(test_count_log(f, "relocs: target_fn(2)=7"), 1);
    assert_int_equal(test_log_level(f, "relocs: target_fn(2)=7"), '6');    /* KERN_INFO */
    assert_int_equal(kernel_exit_module(f->k, mod), 0);
}

/* ---- parameters ---- */

static void test_loader__params__name_value_sets_each_kind(void **state)
{
    static const char *const params[] = {
        "count=-3", "mask=0xff", "verbose=y", "port=0x2f8", "size=65536", "media=0x10",
    };
    TestFx *f = *state;
    SlError e = {{0}};
    int mod = kernel_load_module(f->k, test_module_path("params"), params, 6, &e);

    if (mod < 0) {
        fail_msg("load: %s", e.msg);
    }
    assert_int_equal((int32_t)test_read(f, test_sym(f, mod, "count"), 4), -3);
    assert_int_equal(test_read(f, test_sym(f, mod, "mask"), 4), 0xff);
    assert_int_equal(test_read(f, test_sym(f, mod, "verbose"), 1), 1);
    assert_int_equal(test_read(f, test_sym(f, mod, "port"), 2), 0x2f8);
    assert_int_equal(test_read(f, test_sym(f, mod, "size"), 8), 65536);
    assert_int_equal(test_read(f, test_sym(f, mod, "media"), 4), 0x10);
    assert_int_equal(test_read(f, test_sym(f, mod, "media") + 4, 4), 0xffffffff);
    assert_int_equal(kernel_init_module(f->k, mod), 0);
    assert_int_equal(test_count_log(f, "params: count=-3 mask=0xff verbose=1 port=0x2f8 "
                                       "size=65536 media[0]=16 nmedia=1"), 1);
}

static void test_loader__params__keep_their_defaults_when_none_are_given(void **state)
{
    TestFx *f = *state;
    SlError e = {{0}};
    int mod = kernel_load_module(f->k, test_module_path("params"), NULL, 0, &e);

    if (mod < 0) {
        fail_msg("load: %s", e.msg);
    }
    assert_int_equal(kernel_init_module(f->k, mod), 0);
    assert_int_equal(test_count_log(f, "params: count=7 mask=0x10 verbose=0 port=0x300 "
                                       "size=4096 media[0]=-1 nmedia=0"), 1);
}

static void test_loader__bad_params__fail_the_load_with_one_line_and_leave_nothing(void **state)
{
    static const struct { const char *param, *what; int err; } cases[] = {
        {"nosuch=1", "unknown parameter 'nosuch'", -ENOENT},
        {"count=12abc", "expected a number", -EINVAL},
        {"count=", "expected a number", -EINVAL},
        {"verbose=maybe", "expected a boolean", -EINVAL},
        {"count", "expected name=value", -EINVAL},
        {"=3", "expected name=value", -EINVAL},
    };
    TestFx *f = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TestMemMark before = test_mem_mark(f);
        const char *p = cases[i].param;
        SlError e = {{0}};
        int ret = kernel_load_module(f->k, test_module_path("params"), &p, 1, &e);

        if (ret != cases[i].err || strchr(e.msg, '\n') || !strstr(e.msg, cases[i].what)) {
            fail_msg("param \"%s\": got %d \"%s\", want %d and \"%s\"", p, ret, e.msg,
                     cases[i].err, cases[i].what);
        }
        test_assert_nothing_loaded(f, before);
    }
}

/* The real driver: 8139too's debug (int) and media (int array) parameters. */
static void test_loader__real_8139too__takes_debug_and_media_parameters(void **state)
{
    static const char *const params[] = {"debug=3", "media=0x21", "multicast_filter_limit=5"};
    TestFx *f = *state;
    SlError e = {{0}};
    int mii = kernel_load_module(f->k, test_real_module_path("mii"), NULL, 0, &e);
    int mod;

    if (mii < 0) {
        fail_msg("load mii: %s", e.msg);
    }
    mod = kernel_load_module(f->k, test_real_module_path("8139too"), params, 3, &e);
    if (mod < 0) {
        fail_msg("load 8139too: %s", e.msg);
    }
    assert_string_equal(kernel_module_name(f->k, mod), "8139too");
    assert_int_equal(test_read(f, test_sym(f, mod, "debug"), 4), 3);
    assert_int_equal(test_read(f, test_sym(f, mod, "media"), 4), 0x21);
    assert_int_equal(test_read(f, test_sym(f, mod, "multicast_filter_limit"), 4), 5);
}

/* ---- unknown symbols ---- */

static void test_loader__unknown_imports__give_one_line_each_and_enoent(void **state)
{
    TestFx *f = *state;
    TestMemMark before = test_mem_mark(f);
    SlError e = {{0}};
    const char *path = test_module_path("unknown_syms");
    int ret = kernel_load_module(f->k, path, NULL, 0, &e);

    assert_int_equal(ret, -ENOENT);
    test_assert_error_line(e.msg, path, "2 unknown symbols", NULL);
    assert_int_equal(test_count_log(f, "Unknown symbol"), 2);
    assert_int_equal(test_count_log(f, "unknown_syms: Unknown symbol sluice_test_missing_a (err -2)"), 1);
    assert_int_equal(test_count_log(f, "unknown_syms: Unknown symbol sluice_test_missing_b (err -2)"), 1);
    assert_int_equal(test_count_log(f, "_printk"), 0);          /* served: not listed */
    assert_int_equal(test_count_log(f, "must never run"), 0);
    test_assert_nothing_loaded(f, before);
}

static void test_loader__unknown_import_that_linux_exports__says_it_is_unserved(void **state)
{
    TestFx *f = *state;
    SlError e = {{0}};
    int ret;

    f->exported = "sluice_test_missing_a";
    ret = kernel_load_module(f->k, test_module_path("unknown_syms"), NULL, 0, &e);
    assert_int_equal(ret, -ENOENT);
    assert_int_equal(test_count_log(f, "Unknown symbol"), 2);
    assert_int_equal(test_count_log(f, "Unknown symbol sluice_test_missing_a (err -2) "
                                       "[exported by Linux as a function; not served by sluice"), 1);
}

static void test_loader__allow_unserved__resolves_exported_functions_only(void **state)
{
    TestFx *f = *state;
    TestMemMark before;
    SlError e = {{0}};
    int ret;

    f->exported = "sluice_test_missing_a";
    test_kernel_start(f, true);
    before = test_mem_mark(f);
    ret = kernel_load_module(f->k, test_module_path("unknown_syms"), NULL, 0, &e);
    assert_int_equal(ret, -ENOENT);
    test_assert_error_line(e.msg, test_module_path("unknown_syms"), "1 unknown symbol ", NULL);
    assert_int_equal(test_count_log(f, "Unknown symbol"), 1);
    assert_int_equal(test_count_log(f, "Unknown symbol sluice_test_missing_b (err -2)"), 1);
    test_assert_nothing_loaded(f, before);
}

/* ---- bad files ---- */

/* Loads path expecting failure: one line naming path and what; nothing
 * left loaded. */
static void test_expect_refused(TestFx *f, const char *path, const char *what1,
                                const char *what2)
{
    TestMemMark before = test_mem_mark(f);
    SlError e = {{0}};
    int ret = kernel_load_module(f->k, path, NULL, 0, &e);

    if (ret >= 0) {
        fail_msg("%s: loaded, expected a refusal saying \"%s\"", path, what1 ? what1 : "");
    }
    test_assert_error_line(e.msg, path, what1, what2);
    test_assert_nothing_loaded(f, before);
}

/* After refusals, the kernel still loads and runs a good module. */
static void test_assert_kernel_still_loads(TestFx *f)
{
    SlError e = {{0}};
    int mod = kernel_load_module(f->k, test_module_path("relocs"), NULL, 0, &e);

    if (mod < 0) {
        fail_msg("good module refused after bad ones: %s", e.msg);
    }
    assert_int_equal(kernel_init_module(f->k, mod), RELOCS_ALL);
    assert_int_equal(kernel_exit_module(f->k, mod), 0);
}

static void test_loader__every_truncation__is_refused_with_one_line(void **state)
{
    TestFx *f = *state;
    TestElf elf = test_elf_read(test_module_path("relocs"));
    char path[128];

    snprintf(path, sizeof(path), "%s/truncated.ko", f->dir);
    for (size_t len = 0; len < elf.n; len++) {
        test_write_file(path, elf.b, len);
        test_expect_refused(f, path, NULL, NULL);
    }
    free(elf.b);
    test_assert_kernel_still_loads(f);
}

typedef struct TestCorruption {
    const char *label;
    void (*patch)(TestElf *f);
    const char *what1, *what2;   /* the message must say these */
} TestCorruption;

static void patch_sym_shndx(TestElf *f)
{
    unsigned n;

    test_syms(f, &n)[test_sym_index(f, "init_module")].st_shndx = 0x7ff0;
}

static void patch_sym_common(TestElf *f)
{
    unsigned n;

    test_syms(f, &n)[test_sym_index(f, "target_var")].st_shndx = SHN_COMMON;
}

static void patch_rela_offset(TestElf *f)
{
    test_rela(f, R_X86_64_64, NULL)->r_offset = 0x10000;
}

static void patch_rela_offset_at_end(TestElf *f)
{
    unsigned sec;
    Elf64_Rela *r = test_rela(f, R_X86_64_64, &sec);

    /* Inside the section, but the 8 bytes written would cross its end. */
    r->r_offset = test_sh(f, test_sh(f, sec)->sh_info)->sh_size - 4;
}

static void patch_rela_symbol(TestElf *f)
{
    Elf64_Rela *r = test_rela(f, R_X86_64_64, NULL);

    r->r_info = ELF64_R_INFO(9999, ELF64_R_TYPE(r->r_info));
}

static void patch_rela_type(TestElf *f)
{
    Elf64_Rela *r = test_rela(f, R_X86_64_64, NULL);

    r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), R_X86_64_GOTPCREL);
}

static void patch_rela_overflow(TestElf *f)
{
    Elf64_Rela *r = test_rela(f, R_X86_64_32, NULL);

    /* A module address does not fit a zero-extended 32-bit field. */
    r->r_info = ELF64_R_INFO(test_sym_index(f, "target_var"), R_X86_64_32);
    r->r_addend = 0;
}

static void patch_pc32_overflow(TestElf *f)
{
    Elf64_Rela *r = test_rela(f, R_X86_64_PC32, NULL);

    r->r_addend = 0x100000000ll;  /* 4 GiB away: not a signed 32-bit distance */
}

static void patch_rela_target(TestElf *f)
{
    test_sh(f, test_sec(f, ".rela.text"))->sh_info = 200;
}

static void patch_rela_link(TestElf *f)
{
    test_sh(f, test_sec(f, ".rela.text"))->sh_link = test_sec(f, ".strtab");
}

static void patch_rela_to_rel(TestElf *f)
{
    test_sh(f, test_sec(f, ".rela.text"))->sh_type = SHT_REL;
}

static void patch_no_symtab(TestElf *f)
{
    test_sh(f, test_sec(f, ".symtab"))->sh_type = SHT_PROGBITS;
}

static void patch_symtab_entsize(TestElf *f)
{
    test_sh(f, test_sec(f, ".symtab"))->sh_entsize = 16;
}

static void patch_section_past_end(TestElf *f)
{
    test_sh(f, test_sec(f, ".text"))->sh_offset = f->n - 4;
}

static void patch_section_huge(TestElf *f)
{
    test_sh(f, test_sec(f, ".data"))->sh_size = 0x7fffffffffffull;
}

static void patch_section_align(TestElf *f)
{
    test_sh(f, test_sec(f, ".text"))->sh_addralign = 1u << 20;
}

static void patch_shstrndx(TestElf *f)
{
    test_eh(f)->e_shstrndx = 200;
}

static void patch_shoff(TestElf *f)
{
    test_eh(f)->e_shoff = f->n + 0x1000;
}

static void patch_machine(TestElf *f)
{
    test_eh(f)->e_machine = EM_AARCH64;
}

static void patch_type_exec(TestElf *f)
{
    test_eh(f)->e_type = ET_EXEC;
}

static void patch_type_dyn(TestElf *f)
{
    test_eh(f)->e_type = ET_DYN;
}

static void patch_class32(TestElf *f)
{
    f->b[EI_CLASS] = ELFCLASS32;
}

static void patch_magic(TestElf *f)
{
    f->b[1] = 'X';
}

static const TestCorruption test_corruptions[] = {
    {"symbol-bad-shndx", patch_sym_shndx, ".symtab", "init_module): bad section index 32752"},
    {"symbol-common", patch_sym_common, ".symtab", "target_var): bad section index"},
    {"rela-offset-outside", patch_rela_offset, ".rela.data.relocs entry 0",
     "offset 0x10000 lies outside section .data.relocs"},
    {"rela-offset-crossing-end", patch_rela_offset_at_end, ".rela.data.relocs entry 0",
     "lies outside section .data.relocs"},
    {"rela-symbol-range", patch_rela_symbol, ".rela.data.relocs entry 0",
     "symbol index 9999 out of range"},
    {"rela-type", patch_rela_type, ".rela.data.relocs entry 0", "unsupported relocation type 9"},
    {"rela-32-overflow", patch_rela_overflow, ".rela.data.relocs entry 4",
     "against target_var overflows 32 bits"},
    {"rela-pc32-overflow", patch_pc32_overflow, ".rela.text entry", "overflows 32 bits"},
    {"rela-target", patch_rela_target, ".rela.text", "target section index 200 out of range"},
    {"rela-link", patch_rela_link, ".rela.text", "against .symtab"},
    {"rela-as-rel", patch_rela_to_rel, ".rela.text", "expected RELA"},
    {"no-symtab", patch_no_symtab, "no .symtab", NULL},
    {"symtab-entsize", patch_symtab_entsize, ".symtab", "entry size 16"},
    {"section-past-end", patch_section_past_end, "(.text)", "past the end of the file"},
    {"section-huge", patch_section_huge, "(.data)", "past the end of the file"},
    {"section-align", patch_section_align, "(.text)", "alignment 1048576"},
    {"shstrndx", patch_shstrndx, "section-name table index 200", NULL},
    {"section-table-past-end", patch_shoff, "section table", NULL},
    {"machine", patch_machine, "ELF header", "[machine=183]"},
    {"type-exec", patch_type_exec, "ELF header", "[type=2]"},
    {"type-dyn", patch_type_dyn, "ELF header", "[type=3]"},
    {"class32", patch_class32, "ELF header", NULL},
    {"magic", patch_magic, "ELF header: bad magic", NULL},
};

static void test_loader__each_corrupted_field__is_refused_naming_it(void **state)
{
    TestFx *f = *state;

    for (size_t i = 0; i < sizeof(test_corruptions) / sizeof(test_corruptions[0]); i++) {
        const TestCorruption *c = &test_corruptions[i];
        TestElf elf = test_elf_read(test_module_path("relocs"));
        char path[128];

        snprintf(path, sizeof(path), "%s/%s.ko", f->dir, c->label);
        c->patch(&elf);
        test_write_file(path, elf.b, elf.n);
        free(elf.b);
        test_expect_refused(f, path, c->what1, c->what2);
    }
    test_assert_kernel_still_loads(f);
}

static void test_loader__files_that_are_not_modules__are_refused(void **state)
{
    TestFx *f = *state;
    char path[128];

    snprintf(path, sizeof(path), "%s/empty.ko", f->dir);
    test_write_file(path, "", 0);
    test_expect_refused(f, path, "bad magic", NULL);
    snprintf(path, sizeof(path), "%s/text.ko", f->dir);
    test_write_file(path, "obj-m += hello.o\n", 17);
    test_expect_refused(f, path, "ELF header: bad magic", "expected a .ko");
    snprintf(path, sizeof(path), "%s/missing.ko", f->dir);
    test_expect_refused(f, path, "cannot open", NULL);
    test_expect_refused(f, f->dir, "not a regular file", NULL);
    /* A real ELF of the wrong type: this test program (ET_DYN or ET_EXEC). */
    test_expect_refused(f, "/proc/self/exe", NULL, NULL);
    test_assert_kernel_still_loads(f);
}

/* Every byte of the headers, the symbol table and the relocations set to
 * 0x00, 0xff and flipped: each copy loads or is refused with one line;
 * the host never crashes. */
static void test_loader__byte_corruptions_of_the_metadata__never_crash(void **state)
{
    static const char *const secs[] = {".symtab", ".rela.text", ".rela.data.relocs"};
    TestFx *f = *state;
    TestElf good = test_elf_read(test_module_path("relocs"));
    TestElf bad = {malloc(good.n), good.n};
    Elf64_Ehdr *eh = test_eh(&good);
    struct { uint64_t off, len; } ranges[8];
    unsigned nranges = 0, loaded = 0, refused = 0;
    char path[128];

    assert_non_null(bad.b);
    snprintf(path, sizeof(path), "%s/bytes.ko", f->dir);
    ranges[nranges].off = 0;
    ranges[nranges++].len = sizeof(Elf64_Ehdr);
    ranges[nranges].off = eh->e_shoff;
    ranges[nranges++].len = (uint64_t)eh->e_shnum * eh->e_shentsize;
    for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
        Elf64_Shdr *sh = test_sh(&good, test_sec(&good, secs[i]));

        ranges[nranges].off = sh->sh_offset;
        ranges[nranges++].len = sh->sh_size;
    }
    for (unsigned r = 0; r < nranges; r++) {
        for (uint64_t off = ranges[r].off; off < ranges[r].off + ranges[r].len; off++) {
            uint8_t vals[3] = {0x00, 0xff, (uint8_t)(good.b[off] ^ 0x80)};

            for (unsigned v = 0; v < 3; v++) {
                SlError e = {{0}};
                int mod;

                if (vals[v] == good.b[off]) {
                    continue;
                }
                memcpy(bad.b, good.b, good.n);
                bad.b[off] = vals[v];
                test_write_file(path, bad.b, bad.n);
                mod = kernel_load_module(f->k, path, NULL, 0, &e);
                if (mod >= 0) {
                    loaded++;
                    assert_int_equal(kernel_exit_module(f->k, mod), 0);
                    continue;
                }
                refused++;
                if (strchr(e.msg, '\n') || !strstr(e.msg, path)) {
                    fail_msg("byte 0x%llx = 0x%02x: bad error line \"%s\"",
                             (unsigned long long)off, vals[v], e.msg);
                }
            }
        }
    }
    /* Both outcomes occur: many fields are checked, some do not matter. */
    assert_true(refused > 100);
    assert_true(loaded > 100);
    free(good.b);
    free(bad.b);
    test_assert_kernel_still_loads(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loader__relocs_module__contains_every_relocation_type),
        cmocka_unit_test_setup_teardown(test_loader__each_relocation_type__holds_the_value_its_formula_gives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__relocs_init__follows_every_reference_to_its_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__params__name_value_sets_each_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__params__keep_their_defaults_when_none_are_given, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__bad_params__fail_the_load_with_one_line_and_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__real_8139too__takes_debug_and_media_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__unknown_imports__give_one_line_each_and_enoent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__unknown_import_that_linux_exports__says_it_is_unserved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__allow_unserved__resolves_exported_functions_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__every_truncation__is_refused_with_one_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__each_corrupted_field__is_refused_naming_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__files_that_are_not_modules__are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader__byte_corruptions_of_the_metadata__never_crash, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
