/*
 * tests/test_images_kexports.c: the export tables of vmlinux
 * (images/kexports.h), on the real cached Debian kernel and on small ELF
 * files written here with libelf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>
#include <cmocka.h>

#include "images/kexports.h"
#include "images/kimage.h"
#include "tests/support.h"

/* The real kernel's exports, loaded once for the group. */
static KExports *real;

static int group_setup(void **state)
{
    SlError e = {{0}};

    if (kexports_load(test_kimage()->vmlinux, &real, &e) != 0) {
        fprintf(stderr, "kexports_load: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    kexports_free(real);
    return 0;
}

static const KExport *must_find(const char *name)
{
    const KExport *k = kexports_find(real, name);

    if (!k) {
        fail_msg("vmlinux does not export %s", name);
    }
    return k;
}

static void assert_one_line(const SlError *e, const char *needle)
{
    assert_true(strncmp(e->msg, "sluice: ", 8) == 0);
    assert_null(strchr(e->msg, '\n'));
    if (!strstr(e->msg, needle)) {
        fail_msg("error '%s' does not mention '%s'", e->msg, needle);
    }
}

/* ---- the real vmlinux ---- */

static void test_kexports_load__real_vmlinux__has_thousands_sorted(void **state)
{
    size_t n = kexports_count(real);

    assert_in_range(n, 5000, 50000);
    for (size_t i = 1; i < n; i++) {
        assert_true(strcmp(kexports_at(real, i - 1)->name, kexports_at(real, i)->name) < 0);
    }
    assert_null(kexports_at(real, n));
    assert_true(kexports_has_crcs(real));
}

static void test_kexports_find__printk__is_a_non_gpl_function_in_text(void **state)
{
    const KExport *k = must_find("_printk");

    assert_int_equal(k->kind, KEXPORTS_FUNC);
    assert_int_equal(k->gpl, 0);
    assert_string_equal(k->section, ".text");
    assert_string_equal(k->ns, "");
}

static void test_kexports_find__jiffies__is_data_in_data(void **state)
{
    const KExport *k = must_find("jiffies");

    assert_int_equal(k->kind, KEXPORTS_DATA);
    assert_string_equal(k->section, ".data");
}

static void test_kexports_find__preempt_count__is_per_cpu_data(void **state)
{
    const KExport *k = must_find("__preempt_count");

    assert_int_equal(k->kind, KEXPORTS_DATA);
    assert_string_equal(k->section, ".data..percpu");
}

static void test_kexports_find__synchronize_rcu__is_gpl_only(void **state)
{
    const KExport *k = must_find("synchronize_rcu");

    assert_int_equal(k->kind, KEXPORTS_FUNC);
    assert_int_equal(k->gpl, 1);
}

static void test_kexports_find__not_exported__is_null(void **state)
{
    assert_null(kexports_find(real, "no_such_kernel_symbol"));
    assert_null(kexports_find(real, ""));
    /* Static in the kernel, never exported. */
    assert_null(kexports_find(real, "start_kernel"));
}

static void test_kexports_find__pci_register_driver__crc_of_6_1_0_56(void **state)
{
    const KExport *k = must_find("__pci_register_driver");

    if (strcmp(test_kimage()->abi, "6.1.0-56") != 0) {
        /* The CRC is a fact of that one build; the __versions test below
         * checks every kernel. */
        fprintf(stderr, "note: kernel %s is not 6.1.0-56: CRC value not checked\n",
                test_kimage()->abi);
        assert_int_equal(k->kind, KEXPORTS_FUNC);
        return;
    }
    assert_int_equal(k->crc, 0x0515d769);
    assert_int_equal(k->gpl, 0);
}

/* Data of the section named name in the ELF at path (malloc'd copy). */
static uint8_t *read_section(const char *path, const char *name, size_t *size)
{
    int fd = open(path, O_RDONLY);
    Elf *elf;
    Elf_Scn *scn = NULL;
    size_t shstrndx;
    uint8_t *copy = NULL;

    assert_true(fd >= 0);
    elf_version(EV_CURRENT);
    elf = elf_begin(fd, ELF_C_READ, NULL);
    assert_non_null(elf);
    assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        Elf_Data *d;

        assert_non_null(gelf_getshdr(scn, &sh));
        if (strcmp(elf_strptr(elf, shstrndx, sh.sh_name), name) != 0) {
            continue;
        }
        d = elf_getdata(scn, NULL);
        assert_non_null(d);
        copy = malloc(d->d_size + 1);
        memcpy(copy, d->d_buf, d->d_size);
        copy[d->d_size] = 0;
        *size = d->d_size;
        break;
    }
    elf_end(elf);
    close(fd);
    if (!copy) {
        fail_msg("%s has no section %s", path, name);
    }
    return copy;
}

static int strings_contain(const uint8_t *s, size_t size, const char *name)
{
    size_t n = strlen(name) + 1;

    for (size_t off = 0; off + n <= size; off += strlen((const char *)s + off) + 1) {
        if (memcmp(s + off, name, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* modpost recorded, in the driver's __versions, the CRC of every import as
 * the kernel it was built against exported it: vmlinux must agree on each,
 * and what vmlinux lacks must be mii's (8139too's one module dependency). */
static void test_kexports_crc__8139too_versions__match_vmlinux_except_mii(void **state)
{
    size_t vsize, msize, matched = 0, from_mii = 0;
    uint8_t *ver = read_section(test_real_module_path("8139too"), "__versions", &vsize);
    uint8_t *mii = read_section(test_real_module_path("mii"), "__ksymtab_strings", &msize);

    /* struct modversion_info { unsigned long crc; char name[56]; } */
    assert_int_equal(vsize % 64, 0);
    for (size_t off = 0; off < vsize; off += 64) {
        uint64_t crc;
        char name[57];
        const KExport *k;

        memcpy(&crc, ver + off, 8);
        memcpy(name, ver + off + 8, 56);
        name[56] = '\0';
        k = kexports_find(real, name);
        if (!k) {
            if (!strings_contain(mii, msize, name)) {
                fail_msg("8139too imports %s: neither vmlinux nor mii exports it", name);
            }
            from_mii++;
            continue;
        }
        if (k->crc != (uint32_t)crc) {
            fail_msg("%s: vmlinux CRC 0x%08x, 8139too's __versions 0x%08x", name,
                     k->crc, (uint32_t)crc);
        }
        matched++;
    }
    free(ver);
    free(mii);
    assert_true(matched >= 50);
    assert_true(from_mii >= 1);
}

/* ---- malformed files ---- */

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];

    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-test-kexports.XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
    }
    snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
    return p;
}

static void load_fails(const char *path, const char *needle)
{
    KExports *x = (KExports *)&x;   /* must come back NULL */
    SlError e = {{0}};

    assert_true(kexports_load(path, &x, &e) < 0);
    assert_null(x);
    assert_one_line(&e, path);
    assert_one_line(&e, needle);
}

static void test_kexports_load__missing_file__one_line_error(void **state)
{
    load_fails("/nonexistent/vmlinux", "cannot open");
}

static void test_kexports_load__text_file__not_an_elf(void **state)
{
    const char *p = tmp_path("text");
    FILE *f = fopen(p, "w");

    fputs("this is not a kernel\n", f);
    fclose(f);
    load_fails(p, "not an ELF file");
}

static void test_kexports_load__empty_file__not_an_elf(void **state)
{
    const char *p = tmp_path("empty");
    FILE *f = fopen(p, "w");

    fclose(f);
    load_fails(p, "not an ELF file");
}

static void test_kexports_load__truncated_vmlinux__one_line_error(void **state)
{
    const char *p = tmp_path("truncated");
    FILE *in = fopen(test_kimage()->vmlinux, "rb");
    FILE *out = fopen(p, "wb");
    static uint8_t buf[1 << 20];
    size_t n;

    assert_non_null(in);
    assert_non_null(out);
    n = fread(buf, 1, sizeof(buf), in);
    assert_int_equal(n, sizeof(buf));
    fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    /* The section headers sit at the end of the file: all gone. */
    load_fails(p, "");
}

/* ---- small ELF files written here ---- */

#define T_TEXT 0xffffffff81000000ull
#define T_DATA 0xffffffff82000000ull
#define T_SYM 0xffffffff83000000ull
#define T_SYM_GPL 0xffffffff83001000ull
#define T_CRC 0xffffffff83002000ull
#define T_CRC_GPL 0xffffffff83003000ull
#define T_STR 0xffffffff83004000ull

static const char t_strings[] = "foo\0bar\0NS\0baz_gpl\0";
enum { T_FOO = 0, T_BAR = 4, T_NS = 8, T_BAZ = 11 };

typedef struct TElf {
    uint8_t sym[24], sym_gpl[12];
    uint8_t crc[8], crc_gpl[4];
    size_t sym_size;           /* what the __ksymtab section claims */
    int machine;
} TElf;

static void t_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Entry i of a table at tab: each field an offset from its own address. */
static void t_entry(uint8_t *tab, uint64_t tab_addr, int i, uint64_t value, int name, int ns)
{
    uint64_t field = tab_addr + 12 * (uint64_t)i;

    t_put32(tab + 12 * i, (uint32_t)(value - field));
    t_put32(tab + 12 * i + 4, (uint32_t)(T_STR + (uint64_t)name - (field + 4)));
    t_put32(tab + 12 * i + 8, ns < 0 ? 0 : (uint32_t)(T_STR + (uint64_t)ns - (field + 8)));
}

static void t_default(TElf *t)
{
    memset(t, 0, sizeof(*t));
    t_entry(t->sym, T_SYM, 0, T_TEXT + 4, T_FOO, -1);
    t_entry(t->sym, T_SYM, 1, T_DATA + 8, T_BAR, T_NS);
    t_entry(t->sym_gpl, T_SYM_GPL, 0, T_TEXT + 8, T_BAZ, -1);
    t_put32(t->crc, 0x11111111);
    t_put32(t->crc + 4, 0x22222222);
    t_put32(t->crc_gpl, 0x33333333);
    t->sym_size = sizeof(t->sym);
    t->machine = EM_X86_64;
}

static void t_section(Elf *elf, const char *shstr, const char *name, uint32_t type,
                      uint64_t flags, uint64_t addr, const void *buf, size_t size)
{
    Elf_Scn *scn = elf_newscn(elf);
    Elf_Data *d = elf_newdata(scn);
    GElf_Shdr sh;

    assert_non_null(d);
    d->d_buf = (void *)buf;
    d->d_size = size;
    d->d_type = ELF_T_BYTE;
    d->d_align = 1;
    d->d_version = EV_CURRENT;
    assert_non_null(gelf_getshdr(scn, &sh));
    sh.sh_name = 1;
    while (strcmp(shstr + sh.sh_name, name) != 0) {
        sh.sh_name += (uint32_t)strlen(shstr + sh.sh_name) + 1;
    }
    sh.sh_type = type;
    sh.sh_flags = flags;
    sh.sh_addr = addr;
    sh.sh_addralign = 1;
    assert_true(gelf_update_shdr(scn, &sh));
}

static const char *t_write(const char *file, const TElf *t)
{
    static const char shstr[] = "\0.text\0.data\0__ksymtab_gpl\0__ksymtab\0"
                                "__kcrctab_gpl\0__kcrctab\0__ksymtab_strings\0.shstrtab";
    static const uint8_t zero[16];
    const char *p = tmp_path(file);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    Elf *elf;
    GElf_Ehdr eh;

    assert_true(fd >= 0);
    assert_true(elf_version(EV_CURRENT) != EV_NONE);
    elf = elf_begin(fd, ELF_C_WRITE, NULL);
    assert_non_null(elf);
    assert_non_null(gelf_newehdr(elf, ELFCLASS64));
    assert_non_null(gelf_getehdr(elf, &eh));
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_type = ET_EXEC;
    eh.e_machine = (GElf_Half)t->machine;
    eh.e_version = EV_CURRENT;
    assert_true(gelf_update_ehdr(elf, &eh));
    t_section(elf, shstr, ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, T_TEXT, zero, 16);
    t_section(elf, shstr, ".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, T_DATA, zero, 16);
    t_section(elf, shstr, "__ksymtab", SHT_PROGBITS, SHF_ALLOC, T_SYM, t->sym, t->sym_size);
    t_section(elf, shstr, "__ksymtab_gpl", SHT_PROGBITS, SHF_ALLOC, T_SYM_GPL, t->sym_gpl, 12);
    t_section(elf, shstr, "__kcrctab", SHT_PROGBITS, SHF_ALLOC, T_CRC, t->crc, 8);
    t_section(elf, shstr, "__kcrctab_gpl", SHT_PROGBITS, SHF_ALLOC, T_CRC_GPL, t->crc_gpl, 4);
    t_section(elf, shstr, "__ksymtab_strings", SHT_PROGBITS, SHF_ALLOC, T_STR, t_strings,
              sizeof(t_strings) - 1);
    t_section(elf, shstr, ".shstrtab", SHT_STRTAB, 0, 0, shstr, sizeof(shstr));
    eh.e_shstrndx = 8;
    assert_true(gelf_update_ehdr(elf, &eh));
    assert_true(elf_update(elf, ELF_C_WRITE) > 0);
    elf_end(elf);
    close(fd);
    return p;
}

static void test_kexports_load__small_elf__decodes_every_field(void **state)
{
    TElf t;
    KExports *x;
    SlError e = {{0}};
    const KExport *foo, *bar, *baz;

    t_default(&t);
    if (kexports_load(t_write("good", &t), &x, &e) != 0) {
        fail_msg("%s", e.msg);
    }
    assert_int_equal(kexports_count(x), 3);
    foo = kexports_find(x, "foo");
    bar = kexports_find(x, "bar");
    baz = kexports_find(x, "baz_gpl");
    assert_non_null(foo);
    assert_non_null(bar);
    assert_non_null(baz);
    assert_true(foo->addr == T_TEXT + 4 && foo->kind == KEXPORTS_FUNC && !foo->gpl);
    assert_string_equal(foo->section, ".text");
    assert_string_equal(foo->ns, "");
    assert_int_equal(foo->crc, 0x11111111);
    assert_true(bar->addr == T_DATA + 8 && bar->kind == KEXPORTS_DATA && !bar->gpl);
    assert_string_equal(bar->section, ".data");
    assert_string_equal(bar->ns, "NS");
    assert_int_equal(bar->crc, 0x22222222);
    assert_true(baz->addr == T_TEXT + 8 && baz->gpl);
    assert_int_equal(baz->crc, 0x33333333);
    assert_null(kexports_find(x, "fo"));
    kexports_free(x);
}

static void test_kexports_load__value_outside_sections__is_absolute_data(void **state)
{
    TElf t;
    KExports *x;
    SlError e = {{0}};

    t_default(&t);
    t_entry(t.sym, T_SYM, 0, 0x1234, T_FOO, -1);
    assert_int_equal(kexports_load(t_write("abs", &t), &x, &e), 0);
    assert_string_equal(kexports_find(x, "foo")->section, "*ABS*");
    assert_int_equal(kexports_find(x, "foo")->kind, KEXPORTS_DATA);
    kexports_free(x);
}

static void test_kexports_load__ksymtab_not_multiple_of_12__names_section(void **state)
{
    TElf t;

    t_default(&t);
    t.sym_size = 13;
    load_fails(t_write("odd", &t), "section __ksymtab [size=0xd] is not a multiple of 12");
}

static void test_kexports_load__name_outside_strings__names_entry(void **state)
{
    TElf t;

    t_default(&t);
    t_entry(t.sym_gpl, T_SYM_GPL, 0, T_TEXT, 4096, -1);
    load_fails(t_write("badname", &t), "section __ksymtab_gpl entry 0 [offset=0x0]: name offset");
}

static void test_kexports_load__crc_table_short__names_section(void **state)
{
    TElf t;

    t_default(&t);
    t.sym_size = 12;   /* one symbol, but __kcrctab holds two CRCs */
    load_fails(t_write("crcs", &t), "section __kcrctab [size=0x8] does not match __ksymtab");
}

/* Moves section ndx's data far past the end of the file (a vmlinux cut short
 * but for its headers): the offset field is patched in place, at the
 * position libelf reports for the section header table. */
static void t_move_section_past_eof(const char *path, size_t ndx)
{
    int fd = open(path, O_RDWR);
    Elf *elf;
    GElf_Ehdr eh;
    uint64_t off = 0x40000000;

    assert_true(fd >= 0);
    elf = elf_begin(fd, ELF_C_READ, NULL);
    assert_non_null(elf);
    assert_non_null(gelf_getehdr(elf, &eh));
    elf_end(elf);
    /* Elf64_Shdr: sh_offset at byte 24 of each 64-byte header. */
    assert_int_equal(eh.e_shentsize, 64);
    assert_int_equal(pwrite(fd, &off, 8, (off_t)(eh.e_shoff + ndx * 64 + 24)), 8);
    close(fd);
}

static void test_kexports_load__section_past_end_of_file__names_section(void **state)
{
    TElf t;
    const char *p;

    t_default(&t);
    p = t_write("cut", &t);
    t_move_section_past_eof(p, 7);   /* __ksymtab_strings */
    load_fails(p, "section __ksymtab_strings [offset=0x40000000]");
}

static void test_kexports_load__other_machine__is_refused(void **state)
{
    TElf t;

    t_default(&t);
    t.machine = EM_AARCH64;
    load_fails(t_write("arm", &t), "expected a 64-bit x86-64 vmlinux");
}

static int cleanup_tmp(void **state)
{
    char cmd[128];

    group_teardown(state);
    if (tmpdir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kexports_load__real_vmlinux__has_thousands_sorted),
        cmocka_unit_test(test_kexports_find__printk__is_a_non_gpl_function_in_text),
        cmocka_unit_test(test_kexports_find__jiffies__is_data_in_data),
        cmocka_unit_test(test_kexports_find__preempt_count__is_per_cpu_data),
        cmocka_unit_test(test_kexports_find__synchronize_rcu__is_gpl_only),
        cmocka_unit_test(test_kexports_find__not_exported__is_null),
        cmocka_unit_test(test_kexports_find__pci_register_driver__crc_of_6_1_0_56),
        cmocka_unit_test(test_kexports_crc__8139too_versions__match_vmlinux_except_mii),
        cmocka_unit_test(test_kexports_load__missing_file__one_line_error),
        cmocka_unit_test(test_kexports_load__text_file__not_an_elf),
        cmocka_unit_test(test_kexports_load__empty_file__not_an_elf),
        cmocka_unit_test(test_kexports_load__truncated_vmlinux__one_line_error),
        cmocka_unit_test(test_kexports_load__small_elf__decodes_every_field),
        cmocka_unit_test(test_kexports_load__value_outside_sections__is_absolute_data),
        cmocka_unit_test(test_kexports_load__ksymtab_not_multiple_of_12__names_section),
        cmocka_unit_test(test_kexports_load__name_outside_strings__names_entry),
        cmocka_unit_test(test_kexports_load__crc_table_short__names_section),
        cmocka_unit_test(test_kexports_load__section_past_end_of_file__names_section),
        cmocka_unit_test(test_kexports_load__other_machine__is_refused),
    };

    return cmocka_run_group_tests(tests, group_setup, cleanup_tmp);
}
