/*
 * images/kexports.c: the export tables of a real x86-64 vmlinux (kexports.h).
 *
 * Layout read here (Linux 6.1, include/linux/export.h, x86-64 has
 * CONFIG_HAVE_ARCH_PREL32_RELOCATIONS): __ksymtab and __ksymtab_gpl hold
 * 12-byte entries {s32 value, s32 name, s32 namespace}, each an offset from
 * the address of that field itself; names and namespaces are NUL-terminated
 * strings in __ksymtab_strings.  __kcrctab and __kcrctab_gpl run parallel
 * to the two tables, one u32 CRC per entry (since 5.19 the CRC values
 * themselves, not offsets).  All ELF access goes through libelf.
 */
#include "images/kexports.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEXPORTS_ENTRY_SIZE 12
#define KEXPORTS_MAX_SECTIONS 4096

struct KExports {
    KExport *v;              /* sorted by name */
    size_t n;
    char *strings;           /* copy of __ksymtab_strings: names point here */
    char *shstr;             /* copy of the section-name table */
    int has_crcs;
};

/* An allocated vmlinux section: where an exported value may point. */
typedef struct KExportsSec {
    uint64_t addr, size;
    const char *name;        /* into the Elf's own string table while loading */
    int exec;
} KExportsSec;

/* One of the five tables, located and checked. */
typedef struct KExportsTable {
    const char *name;
    uint64_t addr;
    const uint8_t *data;
    size_t size;
    int present;
} KExportsTable;

typedef struct KExportsLoad {
    const char *path;
    Elf *elf;
    KExportsSec *secs;
    size_t nsecs;
    KExportsTable sym, sym_gpl, crc, crc_gpl, strings;
} KExportsLoad;

static uint32_t kexports_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static KExportsTable *kexports_table_named(KExportsLoad *ld, const char *name)
{
    KExportsTable *t[] = {&ld->sym, &ld->sym_gpl, &ld->crc, &ld->crc_gpl, &ld->strings};

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcmp(t[i]->name, name) == 0) {
            return t[i];
        }
    }
    return NULL;
}

/* Fills the section list and finds the five tables; checks each table's data
 * lies inside the file. */
static int kexports_scan_sections(KExportsLoad *ld, SlError *e)
{
    size_t shnum, shstrndx;
    Elf_Scn *scn = NULL;

    if (elf_getshdrnum(ld->elf, &shnum) != 0 || elf_getshdrstrndx(ld->elf, &shstrndx) != 0) {
        return sl_error(e, -EINVAL, "sluice: %s: section headers unreadable (%s); "
                        "expected a vmlinux ELF", ld->path, elf_errmsg(-1));
    }
    if (shnum == 0 || shnum > KEXPORTS_MAX_SECTIONS) {
        return sl_error(e, -EINVAL, "sluice: %s: %zu section headers (expected 1..%d; "
                        "a truncated file?)", ld->path, shnum, KEXPORTS_MAX_SECTIONS);
    }
    ld->secs = calloc(shnum, sizeof(*ld->secs));
    if (!ld->secs) {
        return sl_error(e, -ENOMEM, "sluice: %s: out of memory", ld->path);
    }
    while ((scn = elf_nextscn(ld->elf, scn)) != NULL) {
        GElf_Shdr sh;
        const char *name;
        KExportsTable *t;
        Elf_Data *d;

        if (!gelf_getshdr(scn, &sh) ||
            !(name = elf_strptr(ld->elf, shstrndx, sh.sh_name))) {
            return sl_error(e, -EINVAL, "sluice: %s: section %zu: header or name "
                            "unreadable (%s)", ld->path, elf_ndxscn(scn), elf_errmsg(-1));
        }
        if ((sh.sh_flags & SHF_ALLOC) && sh.sh_size > 0 && ld->nsecs < shnum) {
            ld->secs[ld->nsecs++] = (KExportsSec){sh.sh_addr, sh.sh_size, name,
                                                  (sh.sh_flags & SHF_EXECINSTR) != 0};
        }
        t = kexports_table_named(ld, name);
        if (!t) {
            continue;
        }
        if (sh.sh_type != SHT_PROGBITS) {
            return sl_error(e, -EINVAL, "sluice: %s: section %s has type %u (expected "
                            "PROGBITS)", ld->path, name, (unsigned)sh.sh_type);
        }
        d = elf_getdata(scn, NULL);
        if (!d || d->d_size != sh.sh_size || (sh.sh_size && !d->d_buf)) {
            return sl_error(e, -EINVAL, "sluice: %s: section %s [offset=0x%llx] [size=0x%llx] "
                            "unreadable (%s; a truncated file?)", ld->path, name,
                            (unsigned long long)sh.sh_offset, (unsigned long long)sh.sh_size,
                            d ? "short data" : elf_errmsg(-1));
        }
        *t = (KExportsTable){name, sh.sh_addr, d->d_buf, d->d_size, 1};
    }
    return 0;
}

/* The tables' sizes must fit their entry sizes and each other. */
static int kexports_check_tables(KExportsLoad *ld, SlError *e)
{
    const KExportsTable *syms[] = {&ld->sym, &ld->sym_gpl};
    const KExportsTable *crcs[] = {&ld->crc, &ld->crc_gpl};

    if (!ld->sym.present || !ld->strings.present) {
        return sl_error(e, -EINVAL, "sluice: %s: no %s section (expected a vmlinux with "
                        "exported symbols)", ld->path,
                        ld->sym.present ? "__ksymtab_strings" : "__ksymtab");
    }
    if (ld->crc.present != ld->crc_gpl.present && (ld->crc.size || ld->crc_gpl.size)) {
        return sl_error(e, -EINVAL, "sluice: %s: section %s missing while %s exists",
                        ld->path, ld->crc.present ? "__kcrctab_gpl" : "__kcrctab",
                        ld->crc.present ? "__kcrctab" : "__kcrctab_gpl");
    }
    for (int i = 0; i < 2; i++) {
        size_t n = syms[i]->size / KEXPORTS_ENTRY_SIZE;

        if (syms[i]->size % KEXPORTS_ENTRY_SIZE) {
            return sl_error(e, -EINVAL, "sluice: %s: section %s [size=0x%zx] is not a "
                            "multiple of %d (expected x86-64 PREL32 struct kernel_symbol)",
                            ld->path, syms[i]->name, syms[i]->size, KEXPORTS_ENTRY_SIZE);
        }
        if (crcs[i]->present && crcs[i]->size != n * 4) {
            return sl_error(e, -EINVAL, "sluice: %s: section %s [size=0x%zx] does not match "
                            "%s (expected %zu CRCs of 4 bytes)", ld->path, crcs[i]->name,
                            crcs[i]->size, syms[i]->name, n);
        }
    }
    return 0;
}

static const KExportsSec *kexports_section_of(const KExportsLoad *ld, uint64_t addr)
{
    for (size_t i = 0; i < ld->nsecs; i++) {
        if (addr - ld->secs[i].addr < ld->secs[i].size) {
            return &ld->secs[i];
        }
    }
    return NULL;
}

/* The string at link address addr in __ksymtab_strings (offset into it), or
 * -1 when it lies outside or is not NUL-terminated there. */
static long kexports_string_at(const KExportsLoad *ld, uint64_t addr)
{
    uint64_t off = addr - ld->strings.addr;

    if (off >= ld->strings.size ||
        !memchr(ld->strings.data + off, '\0', ld->strings.size - off)) {
        return -1;
    }
    return (long)off;
}

/* Copies __ksymtab_strings and the section names out of the mapping, which
 * is closed after load: the exports' names point into these copies. */
static int kexports_copy_names(KExportsLoad *ld, KExports *x, SlError *e)
{
    size_t shlen = sizeof("*ABS*");
    char *w;

    for (size_t i = 0; i < ld->nsecs; i++) {
        shlen += strlen(ld->secs[i].name) + 1;
    }
    x->strings = malloc(ld->strings.size + 1);
    x->shstr = malloc(shlen);
    if (!x->strings || !x->shstr) {
        return sl_error(e, -ENOMEM, "sluice: %s: out of memory", ld->path);
    }
    memcpy(x->strings, ld->strings.data, ld->strings.size);
    x->strings[ld->strings.size] = '\0';   /* "" for exports without namespace */
    w = stpcpy(x->shstr, "*ABS*") + 1;
    for (size_t i = 0; i < ld->nsecs; i++) {
        const char *name = ld->secs[i].name;

        ld->secs[i].name = w;
        w = stpcpy(w, name) + 1;
    }
    return 0;
}

/* Appends the entries of table t (with its parallel CRC table) to x->v. */
static int kexports_decode(KExportsLoad *ld, const KExportsTable *t, const KExportsTable *crc,
                           int gpl, KExports *x, SlError *e)
{
    size_t n = t->size / KEXPORTS_ENTRY_SIZE;

    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = t->data + i * KEXPORTS_ENTRY_SIZE;
        uint64_t field = t->addr + i * KEXPORTS_ENTRY_SIZE;
        int32_t value_off = (int32_t)kexports_le32(p);
        int32_t name_off = (int32_t)kexports_le32(p + 4);
        int32_t ns_off = (int32_t)kexports_le32(p + 8);
        KExport *k = &x->v[x->n++];
        const KExportsSec *sec;
        long name, ns = (long)ld->strings.size;

        k->addr = field + (uint64_t)(int64_t)value_off;
        name = kexports_string_at(ld, field + 4 + (uint64_t)(int64_t)name_off);
        if (ns_off != 0) {
            ns = kexports_string_at(ld, field + 8 + (uint64_t)(int64_t)ns_off);
        }
        if (name < 0 || ns < 0) {
            return sl_error(e, -EINVAL, "sluice: %s: section %s entry %zu [offset=0x%zx]: "
                            "%s offset points outside __ksymtab_strings", ld->path, t->name,
                            i, i * KEXPORTS_ENTRY_SIZE, name < 0 ? "name" : "namespace");
        }
        k->name = x->strings + name;
        k->ns = x->strings + ns;
        sec = kexports_section_of(ld, k->addr);
        k->section = sec ? sec->name : x->shstr;
        k->kind = sec && sec->exec ? KEXPORTS_FUNC : KEXPORTS_DATA;
        k->gpl = (uint8_t)gpl;
        k->crc = crc->present ? kexports_le32(crc->data + i * 4) : 0;
    }
    return 0;
}

static int kexports_cmp(const void *a, const void *b)
{
    return strcmp(((const KExport *)a)->name, ((const KExport *)b)->name);
}

static int kexports_load_elf(KExportsLoad *ld, KExports *x, SlError *e)
{
    GElf_Ehdr eh;
    size_t total;
    int rc;

    if (elf_kind(ld->elf) != ELF_K_ELF || !gelf_getehdr(ld->elf, &eh)) {
        return sl_error(e, -EINVAL, "sluice: %s: not an ELF file (expected a vmlinux)",
                        ld->path);
    }
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_machine != EM_X86_64) {
        return sl_error(e, -EINVAL, "sluice: %s: ELF header [class=%u] [machine=%u] "
                        "(expected a 64-bit x86-64 vmlinux)", ld->path,
                        eh.e_ident[EI_CLASS], eh.e_machine);
    }
    rc = kexports_scan_sections(ld, e);
    if (rc == 0) {
        rc = kexports_check_tables(ld, e);
    }
    if (rc) {
        return rc;
    }
    total = (ld->sym.size + ld->sym_gpl.size) / KEXPORTS_ENTRY_SIZE;
    x->v = calloc(total ? total : 1, sizeof(*x->v));
    if (!x->v) {
        return sl_error(e, -ENOMEM, "sluice: %s: out of memory", ld->path);
    }
    x->has_crcs = ld->crc.present;
    rc = kexports_copy_names(ld, x, e);
    if (rc == 0) {
        rc = kexports_decode(ld, &ld->sym, &ld->crc, 0, x, e);
    }
    if (rc == 0 && ld->sym_gpl.present) {
        rc = kexports_decode(ld, &ld->sym_gpl, &ld->crc_gpl, 1, x, e);
    }
    if (rc == 0) {
        qsort(x->v, x->n, sizeof(*x->v), kexports_cmp);
    }
    return rc;
}

int kexports_load(const char *vmlinux, KExports **out, SlError *e)
{
    KExportsLoad ld = {.path = vmlinux};
    KExports *x;
    int fd, rc;

    *out = NULL;
    ld.sym.name = "__ksymtab";
    ld.sym_gpl.name = "__ksymtab_gpl";
    ld.crc.name = "__kcrctab";
    ld.crc_gpl.name = "__kcrctab_gpl";
    ld.strings.name = "__ksymtab_strings";
    if (elf_version(EV_CURRENT) == EV_NONE) {
        return sl_error(e, -EINVAL, "sluice: libelf is out of date (%s)", elf_errmsg(-1));
    }
    fd = open(vmlinux, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return sl_error(e, -errno, "sluice: %s: cannot open: %s", vmlinux, strerror(errno));
    }
    x = calloc(1, sizeof(*x));
    ld.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!x || !ld.elf) {
        rc = x ? sl_error(e, -EINVAL, "sluice: %s: not readable as ELF (%s)", vmlinux,
                          elf_errmsg(-1))
               : sl_error(e, -ENOMEM, "sluice: %s: out of memory", vmlinux);
    } else {
        rc = kexports_load_elf(&ld, x, e);
    }
    if (ld.elf) {
        elf_end(ld.elf);
    }
    close(fd);
    free(ld.secs);
    if (rc) {
        kexports_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

const KExport *kexports_find(const KExports *x, const char *name)
{
    size_t lo = 0, hi = x->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, x->v[mid].name);

        if (c == 0) {
            return &x->v[mid];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

size_t kexports_count(const KExports *x)
{
    return x->n;
}

const KExport *kexports_at(const KExports *x, size_t i)
{
    return i < x->n ? &x->v[i] : NULL;
}

int kexports_has_crcs(const KExports *x)
{
    return x->has_crcs;
}

void kexports_free(KExports *x)
{
    if (!x) {
        return;
    }
    free(x->v);
    free(x->strings);
    free(x->shstr);
    free(x);
}
