/*
 * kernel-guest/loader.c: lays a .ko out in the module area, resolves its
 * symbols and applies its relocations (see loader.h).
 *
 * Allocated sections are grouped like the kernel's module layout: code
 * (RX), read-only data (R), writable data (RW), each group page-aligned and
 * mapped with its permissions, so a driver writing its own code or running
 * its data is caught.  Relocation types are those a 6.1 x86-64 module uses
 * (shared/notes/driver-survey): R_X86_64_64, PC32, PLT32, 32S, 32, PC64.
 */
#include "kernel-guest/loader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-guest/loader_elf.h"

enum { KO_GROUP_TEXT, KO_GROUP_RO, KO_GROUP_RW, KO_NGROUPS };

typedef struct KoLoad {
    const KoLoadEnv *env;
    KoElf f;
    KoModule *m;
    uint64_t *sec_va;            /* per ELF section; 0 if not allocated */
    uint8_t **sec_host;          /* host view of each allocated section */
    size_t symtab;               /* section index of .symtab */
    uint64_t *sym_va;            /* per symbol: resolved address */
    size_t nsyms;
    SlError *e;
} KoLoad;

static int ko_group_of(const GElf_Shdr *sh)
{
    if (sh->sh_flags & SHF_EXECINSTR) {
        return KO_GROUP_TEXT;
    }
    return sh->sh_flags & SHF_WRITE ? KO_GROUP_RW : KO_GROUP_RO;
}

static unsigned ko_group_prot(int g)
{
    switch (g) {
    case KO_GROUP_TEXT: return VCPU_PROT_READ | VCPU_PROT_EXEC;
    case KO_GROUP_RO: return VCPU_PROT_READ;
    default: return VCPU_PROT_READ | VCPU_PROT_WRITE;
    }
}

/* Places every SHF_ALLOC section, maps the groups, copies the bytes. */
static int ko_layout(KoLoad *l)
{
    uint64_t off[KO_NGROUPS] = {0}, start[KO_NGROUPS], total = 0, pages;
    uint64_t *sec_off = calloc(l->f.nsec, sizeof(uint64_t));
    int *sec_group = calloc(l->f.nsec, sizeof(int));
    KoModule *m = l->m;
    int err = 0;

    if (!sec_off || !sec_group) {
        free(sec_off);
        free(sec_group);
        return sl_error(l->e, -ENOMEM, "%s: out of memory", l->f.path);
    }
    for (size_t i = 1; i < l->f.nsec; i++) {
        GElf_Shdr sh;
        uint64_t a;
        int g;

        ko_elf_shdr(&l->f, i, &sh);
        if (!(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NULL) {
            continue;
        }
        if (sh.sh_size > KMEM_MODULES_END - KMEM_MODULES_BASE) {
            free(sec_off);
            free(sec_group);
            return sl_error(l->e, -ENOEXEC, "%s: section %zu (%s): size 0x%llx is larger than the module area",
                            l->f.path, i, ko_elf_section_name(&l->f, i),
                            (unsigned long long)sh.sh_size);
        }
        g = ko_group_of(&sh);
        a = sh.sh_addralign ? sh.sh_addralign : 1;
        off[g] = (off[g] + a - 1) & ~(a - 1);
        sec_off[i] = off[g];
        sec_group[i] = g;
        off[g] += sh.sh_size;
    }
    for (int g = 0; g < KO_NGROUPS; g++) {
        start[g] = total;
        total += (off[g] + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);
    }
    if (total == 0) {
        total = KMEM_PAGE_SIZE;
    }
    pages = total / KMEM_PAGE_SIZE;
    m->size = total;
    m->base = kmem_reserve_module(l->env->mem, total);
    m->pa = kmem_alloc_pages(l->env->mem, pages);
    if (m->base && m->pa == UINT64_MAX && l->env->mem->last_error == -EDQUOT) {
        const KMem *mem = l->env->mem;

        err = sl_error(l->e, -ENOMEM, "%s: the %llu-page module image does not fit its space "
                       "bank's quota of %llu pages (--mem-limit)", l->f.path,
                       (unsigned long long)pages,
                       (unsigned long long)mem->store->bank[mem->bank_now].quota[PK_RES_OBJECTS]);
        m->pa = 0;
        goto out;
    }
    if (!m->base || m->pa == UINT64_MAX) {
        err = sl_error(l->e, -ENOMEM, "%s: no room for a %llu-byte module image", l->f.path,
                       (unsigned long long)total);
        m->pa = 0;
        goto out;
    }
    for (int g = 0; g < KO_NGROUPS && !err; g++) {
        uint64_t len = (off[g] + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);

        if (len) {
            err = kmem_map(l->env->mem, m->base + start[g], m->pa + start[g], len,
                           ko_group_prot(g), l->e);
        }
    }
    m->text_start = m->base + start[KO_GROUP_TEXT];
    m->text_end = m->text_start + off[KO_GROUP_TEXT];
    for (size_t i = 1; i < l->f.nsec && !err; i++) {
        GElf_Shdr sh;
        const uint8_t *bytes;

        ko_elf_shdr(&l->f, i, &sh);
        if (!(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NULL) {
            continue;
        }
        l->sec_va[i] = m->base + start[sec_group[i]] + sec_off[i];
        l->sec_host[i] = kmem_host(l->env->mem, l->sec_va[i], sh.sh_size ? sh.sh_size : 1);
        bytes = ko_elf_section_bytes(&l->f, i);
        if (bytes && sh.sh_size) {
            memcpy(l->sec_host[i], bytes, sh.sh_size);
        }
    }
out:
    free(sec_off);
    free(sec_group);
    return err;
}

static const char *ko_sym_name(const KoLoad *l, const GElf_Sym *s)
{
    GElf_Shdr sh;
    const char *n;

    ko_elf_shdr(&l->f, l->symtab, &sh);
    n = elf_strptr(l->f.elf, sh.sh_link, s->st_name);
    return n ? n : "?";
}

static int ko_get_sym(const KoLoad *l, size_t i, GElf_Sym *s)
{
    Elf_Data *d = elf_getdata(elf_getscn(l->f.elf, l->symtab), NULL);

    return d && gelf_getsym(d, (int)i, s) ? 0 : -1;
}

/* Gives every symbol an address; undefined ones through env->resolve. */
static int ko_symbols(KoLoad *l)
{
    GElf_Shdr sh;
    unsigned unknown = 0;
    int idx = -1;

    for (size_t i = 1; i < l->f.nsec; i++) {
        if (ko_elf_shdr(&l->f, i, &sh) == 0 && sh.sh_type == SHT_SYMTAB) {
            idx = (int)i;
        }
    }
    if (idx < 0) {
        return sl_error(l->e, -ENOEXEC, "%s: no .symtab section; expected a module with symbols", l->f.path);
    }
    l->symtab = (size_t)idx;
    ko_elf_shdr(&l->f, l->symtab, &sh);
    if (sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_link >= l->f.nsec) {
        return sl_error(l->e, -ENOEXEC, "%s: .symtab: entry size %llu or string table %u is wrong",
                        l->f.path, (unsigned long long)sh.sh_entsize, sh.sh_link);
    }
    l->nsyms = sh.sh_size / sizeof(Elf64_Sym);
    l->sym_va = calloc(l->nsyms ? l->nsyms : 1, sizeof(uint64_t));
    if (!l->sym_va) {
        return sl_error(l->e, -ENOMEM, "%s: out of memory", l->f.path);
    }
    for (size_t i = 1; i < l->nsyms; i++) {
        GElf_Sym s;
        const char *name;

        if (ko_get_sym(l, i, &s) != 0) {
            return sl_error(l->e, -ENOEXEC, "%s: .symtab: entry %zu unreadable", l->f.path, i);
        }
        name = ko_sym_name(l, &s);
        if (s.st_shndx == SHN_UNDEF) {
            if (!name[0]) {
                continue;
            }
            if (l->env->resolve(l->env->opaque, name, &l->sym_va[i]) != 0) {
                if (GELF_ST_BIND(s.st_info) == STB_WEAK) {
                    l->sym_va[i] = 0;
                    continue;
                }
                l->env->unknown(l->env->opaque, name);
                unknown++;
            }
        } else if (s.st_shndx == SHN_ABS) {
            l->sym_va[i] = s.st_value;
        } else if (s.st_shndx == SHN_COMMON || s.st_shndx >= l->f.nsec) {
            return sl_error(l->e, -ENOEXEC, "%s: .symtab: symbol %zu (%s): bad section index %u (%zu sections)",
                            l->f.path, i, name, s.st_shndx, l->f.nsec);
        } else {
            l->sym_va[i] = l->sec_va[s.st_shndx] ? l->sec_va[s.st_shndx] + s.st_value : 0;
        }
    }
    if (unknown) {
        return sl_error(l->e, -ENOENT, "%s: %u unknown symbol%s (see above)", l->f.path,
                        unknown, unknown == 1 ? "" : "s");
    }
    return 0;
}

static int ko_apply_one(KoLoad *l, size_t rsec, size_t n, const GElf_Rela *r,
                        size_t target, const GElf_Shdr *tsh)
{
    uint64_t sym = GELF_R_SYM(r->r_info), type = GELF_R_TYPE(r->r_info);
    uint64_t s, p = l->sec_va[target] + r->r_offset;
    uint8_t *where;
    unsigned width;
    int64_t v;

    switch (type) {
    case R_X86_64_64: case R_X86_64_PC64: width = 8; break;
    case R_X86_64_PC32: case R_X86_64_PLT32: case R_X86_64_32S: case R_X86_64_32: width = 4; break;
    case R_X86_64_NONE: return 0;
    default:
        return sl_error(l->e, -ENOEXEC, "%s: %s entry %zu: unsupported relocation type %llu",
                        l->f.path, ko_elf_section_name(&l->f, rsec), n, (unsigned long long)type);
    }
    if (r->r_offset > tsh->sh_size || width > tsh->sh_size - r->r_offset) {
        return sl_error(l->e, -ENOEXEC,
                        "%s: %s entry %zu: offset 0x%llx lies outside section %s (size 0x%llx)",
                        l->f.path, ko_elf_section_name(&l->f, rsec), n,
                        (unsigned long long)r->r_offset, ko_elf_section_name(&l->f, target),
                        (unsigned long long)tsh->sh_size);
    }
    if (sym >= l->nsyms) {
        return sl_error(l->e, -ENOEXEC, "%s: %s entry %zu: symbol index %llu out of range (%zu symbols)",
                        l->f.path, ko_elf_section_name(&l->f, rsec), n,
                        (unsigned long long)sym, l->nsyms);
    }
    where = l->sec_host[target] + r->r_offset;
    s = l->sym_va[sym] + (uint64_t)r->r_addend;
    switch (type) {
    case R_X86_64_64:
        memcpy(where, &s, 8);
        return 0;
    case R_X86_64_PC64:
        v = (int64_t)(s - p);
        memcpy(where, &v, 8);
        return 0;
    case R_X86_64_PC32: case R_X86_64_PLT32:
        v = (int64_t)(s - p);
        break;
    case R_X86_64_32S:
        v = (int64_t)s;
        break;
    default: /* R_X86_64_32 */
        if (s > UINT32_MAX) {
            goto overflow;
        }
        memcpy(where, &(uint32_t){(uint32_t)s}, 4);
        return 0;
    }
    if (v < INT32_MIN || v > INT32_MAX) {
        goto overflow;
    }
    memcpy(where, &(int32_t){(int32_t)v}, 4);
    return 0;
overflow:
    {
        GElf_Sym es;

        ko_get_sym(l, sym, &es);
        return sl_error(l->e, -ENOEXEC, "%s: %s entry %zu: relocation type %llu against %s overflows 32 bits",
                        l->f.path, ko_elf_section_name(&l->f, rsec), n,
                        (unsigned long long)type, ko_sym_name(l, &es));
    }
}

static int ko_relocate(KoLoad *l)
{
    for (size_t i = 1; i < l->f.nsec; i++) {
        GElf_Shdr sh, tsh;
        Elf_Data *d;
        size_t n;

        ko_elf_shdr(&l->f, i, &sh);
        if (sh.sh_type == SHT_REL) {
            return sl_error(l->e, -ENOEXEC, "%s: %s: REL relocations without addends, expected RELA",
                            l->f.path, ko_elf_section_name(&l->f, i));
        }
        if (sh.sh_type != SHT_RELA) {
            continue;
        }
        if (sh.sh_info >= l->f.nsec || ko_elf_shdr(&l->f, sh.sh_info, &tsh) != 0) {
            return sl_error(l->e, -ENOEXEC, "%s: %s: target section index %u out of range",
                            l->f.path, ko_elf_section_name(&l->f, i), sh.sh_info);
        }
        if (!(tsh.sh_flags & SHF_ALLOC) || !l->sec_host[sh.sh_info]) {
            continue;            /* debug info and the like: not loaded */
        }
        if (sh.sh_link != l->symtab || sh.sh_entsize != sizeof(Elf64_Rela)) {
            return sl_error(l->e, -ENOEXEC, "%s: %s: expected RELA entries against .symtab",
                            l->f.path, ko_elf_section_name(&l->f, i));
        }
        d = elf_getdata(elf_getscn(l->f.elf, i), NULL);
        n = sh.sh_size / sizeof(Elf64_Rela);
        for (size_t j = 0; j < n; j++) {
            GElf_Rela r;
            int err;

            if (!d || !gelf_getrela(d, (int)j, &r)) {
                return sl_error(l->e, -ENOEXEC, "%s: %s entry %zu: unreadable",
                                l->f.path, ko_elf_section_name(&l->f, i), j);
            }
            err = ko_apply_one(l, i, j, &r, sh.sh_info, &tsh);
            if (err) {
                return err;
            }
        }
    }
    return 0;
}

static int ko_sym_cmp(const void *a, const void *b)
{
    const KoSymbol *x = a, *y = b;

    return x->va < y->va ? -1 : x->va > y->va;
}

/* Sections and defined symbols, kept for lookups and symbolization. */
static int ko_record(KoLoad *l)
{
    KoModule *m = l->m;

    m->secs = calloc(l->f.nsec, sizeof(KoSection));
    m->syms = calloc(l->nsyms ? l->nsyms : 1, sizeof(KoSymbol));
    if (!m->secs || !m->syms) {
        return sl_error(l->e, -ENOMEM, "%s: out of memory", l->f.path);
    }
    for (size_t i = 1; i < l->f.nsec; i++) {
        GElf_Shdr sh;

        ko_elf_shdr(&l->f, i, &sh);
        if (l->sec_va[i]) {
            KoSection *s = &m->secs[m->nsecs++];

            snprintf(s->name, sizeof(s->name), "%s", ko_elf_section_name(&l->f, i));
            s->va = l->sec_va[i];
            s->size = sh.sh_size;
            s->flags = sh.sh_flags;
        }
    }
    for (size_t i = 1; i < l->nsyms; i++) {
        GElf_Sym s;
        int t;

        ko_get_sym(l, i, &s);
        t = GELF_ST_TYPE(s.st_info);
        if (s.st_shndx == SHN_UNDEF || s.st_shndx >= l->f.nsec || !l->sec_va[s.st_shndx] ||
            (t != STT_FUNC && t != STT_OBJECT && t != STT_NOTYPE) || !ko_sym_name(l, &s)[0]) {
            continue;
        }
        m->syms[m->nsyms].name = strdup(ko_sym_name(l, &s));
        m->syms[m->nsyms].va = l->sym_va[i];
        m->syms[m->nsyms].size = s.st_size;
        m->nsyms++;
    }
    qsort(m->syms, m->nsyms, sizeof(KoSymbol), ko_sym_cmp);
    return 0;
}

static uint64_t ko_read_u64(KoLoad *l, uint64_t va)
{
    uint64_t v = 0;
    void *p = kmem_host(l->env->mem, va, 8);

    if (p) {
        memcpy(&v, p, 8);
    }
    return v;
}

/* The module's own exports (mii's mii_link_ok, ...): struct kernel_symbol
 * entries hold place-relative offsets to the value and the name. */
static void ko_exports(KoLoad *l, const char *secname, bool gpl)
{
    const KoSection *s = ko_section(l->m, secname);
    long esz = btf_layout_sizeof(l->env->btf, "kernel_symbol");
    long voff = btf_layout_offsetof(l->env->btf, "kernel_symbol", "value_offset");
    long noff = btf_layout_offsetof(l->env->btf, "kernel_symbol", "name_offset");
    KoModule *m = l->m;

    if (!s || esz <= 0 || voff < 0 || noff < 0) {
        return;
    }
    for (uint64_t a = s->va; a + (uint64_t)esz <= s->va + s->size; a += (uint64_t)esz) {
        int32_t vo, no;
        const char *name;
        KoExport *x;

        memcpy(&vo, kmem_host(l->env->mem, a + (uint64_t)voff, 4), 4);
        memcpy(&no, kmem_host(l->env->mem, a + (uint64_t)noff, 4), 4);
        name = kmem_host(l->env->mem, a + (uint64_t)noff + (uint64_t)(int64_t)no, 1);
        x = realloc(m->exports, (m->nexports + 1) * sizeof(*x));
        if (!name || !x) {
            return;
        }
        m->exports = x;
        x = &m->exports[m->nexports++];
        x->name = strndup(name, 255);
        x->va = a + (uint64_t)voff + (uint64_t)(int64_t)vo;
        x->gpl = gpl;
    }
}

static void ko_modinfo_from_image(KoLoad *l)
{
    const KoSection *s = ko_section(l->m, ".modinfo");
    const char *p, *end;

    if (!s) {
        return;
    }
    p = kmem_host(l->env->mem, s->va, s->size);
    end = p + s->size;
    while (p && p < end) {
        size_t n = strnlen(p, (size_t)(end - p));

        if (strncmp(p, "depends=", 8) == 0) {
            snprintf(l->m->depends, sizeof(l->m->depends), "%.*s", (int)n - 8, p + 8);
        } else if (strncmp(p, "license=", 8) == 0) {
            snprintf(l->m->license, sizeof(l->m->license), "%.*s", (int)n - 8, p + 8);
        } else if (strncmp(p, "name=", 5) == 0 && !l->m->name[0]) {
            snprintf(l->m->name, sizeof(l->m->name), "%.*s", (int)n - 5, p + 5);
        }
        p += n + 1;
    }
}

/* struct module (.gnu.linkonce.this_module): name, init and exit, at BTF
 * offsets; test modules without one name init_module/cleanup_module. */
static void ko_entry_points(KoLoad *l)
{
    KoModule *m = l->m;
    const KoSection *s = ko_section(m, ".gnu.linkonce.this_module");
    const KoSection *bug = ko_section(m, "__bug_table");
    const KoSection *par = ko_section(m, "__param");
    long init = btf_layout_offsetof(l->env->btf, "module", "init");
    long exit = btf_layout_offsetof(l->env->btf, "module", "exit");
    long name = btf_layout_offsetof(l->env->btf, "module", "name");
    long bsz = btf_layout_sizeof(l->env->btf, "bug_entry");
    long psz = btf_layout_sizeof(l->env->btf, "kernel_param");

    if (s && init >= 0 && exit >= 0 && (uint64_t)exit + 8 <= s->size) {
        const char *n = kmem_host(l->env->mem, s->va + (uint64_t)name, 56);

        m->this_module = s->va;
        m->init = ko_read_u64(l, s->va + (uint64_t)init);
        m->exit = ko_read_u64(l, s->va + (uint64_t)exit);
        if (n && name >= 0 && n[0]) {
            snprintf(m->name, sizeof(m->name), "%.55s", n);
        }
    } else {
        m->init = ko_symbol_va(m, "init_module");
        m->exit = ko_symbol_va(m, "cleanup_module");
    }
    if (bug && bsz > 0) {
        m->bugs = bug->va;
        m->nbugs = (unsigned)(bug->size / (uint64_t)bsz);
    }
    if (par && psz > 0) {
        m->params = par->va;
        m->nparams = (unsigned)(par->size / (uint64_t)psz);
    }
}

int ko_load(const KoLoadEnv *env, const char *path, KoModule **out, SlError *e)
{
    KoLoad l = {.env = env, .e = e};
    const char *base;
    int err;

    *out = NULL;
    l.m = calloc(1, sizeof(KoModule));
    if (!l.m) {
        return sl_error(e, -ENOMEM, "%s: out of memory", path);
    }
    snprintf(l.m->path, sizeof(l.m->path), "%s", path);
    err = ko_elf_open(path, &l.f, e);
    if (!err) {
        l.sec_va = calloc(l.f.nsec, sizeof(uint64_t));
        l.sec_host = calloc(l.f.nsec, sizeof(uint8_t *));
        err = l.sec_va && l.sec_host ? 0 : sl_error(e, -ENOMEM, "%s: out of memory", path);
    }
    err = err ? err : ko_layout(&l);
    err = err ? err : ko_symbols(&l);
    err = err ? err : ko_relocate(&l);
    err = err ? err : ko_record(&l);
    if (!err) {
        ko_entry_points(&l);
        ko_modinfo_from_image(&l);
        ko_exports(&l, "__ksymtab", false);
        ko_exports(&l, "__ksymtab_gpl", true);
        if (!l.m->name[0]) {
            base = strrchr(path, '/');
            snprintf(l.m->name, sizeof(l.m->name), "%s", base ? base + 1 : path);
            if (strlen(l.m->name) > 3 && strcmp(l.m->name + strlen(l.m->name) - 3, ".ko") == 0) {
                l.m->name[strlen(l.m->name) - 3] = 0;
            }
        }
    }
    free(l.sec_va);
    free(l.sec_host);
    free(l.sym_va);
    ko_elf_close(&l.f);
    if (err) {
        ko_unload(l.m, env->mem);
        return err;
    }
    *out = l.m;
    return 0;
}

void ko_unload(KoModule *m, KMem *mem)
{
    if (!m) {
        return;
    }
    if (m->pa) {
        for (unsigned i = 0; i < mem->nregions;) {
            KMemRegion *r = &mem->regions[i];

            if (r->va >= m->base && r->va < m->base + m->size) {
                kmem_unmap(mem, r->va, r->len);
            } else {
                i++;
            }
        }
        kmem_free_pages(mem, m->pa, m->size / KMEM_PAGE_SIZE);
    }
    for (unsigned i = 0; i < m->nsyms; i++) {
        free(m->syms[i].name);
    }
    for (unsigned i = 0; i < m->nexports; i++) {
        free(m->exports[i].name);
    }
    free(m->syms);
    free(m->secs);
    free(m->exports);
    free(m);
}

const KoSection *ko_section(const KoModule *m, const char *name)
{
    for (unsigned i = 0; i < m->nsecs; i++) {
        if (strcmp(m->secs[i].name, name) == 0) {
            return &m->secs[i];
        }
    }
    return NULL;
}

uint64_t ko_symbol_va(const KoModule *m, const char *name)
{
    for (unsigned i = 0; i < m->nsyms; i++) {
        if (strcmp(m->syms[i].name, name) == 0) {
            return m->syms[i].va;
        }
    }
    return 0;
}

bool ko_contains(const KoModule *m, uint64_t addr)
{
    return addr >= m->base && addr < m->base + m->size;
}

size_t ko_symbolize(const KoModule *m, uint64_t addr, char *buf, size_t cap)
{
    const KoSymbol *best = NULL;
    unsigned lo = 0, hi = m->nsyms;
    int n;

    if (!ko_contains(m, addr)) {
        return 0;
    }
    while (lo < hi) {            /* last symbol with va <= addr */
        unsigned mid = (lo + hi) / 2;

        if (m->syms[mid].va <= addr) {
            best = &m->syms[mid];
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (!best) {
        n = snprintf(buf, cap, "0x%llx [%s]", (unsigned long long)addr, m->name);
    } else {
        n = snprintf(buf, cap, "%s+0x%llx/0x%llx [%s]", best->name,
                     (unsigned long long)(addr - best->va), (unsigned long long)best->size,
                     m->name);
    }
    return n > 0 ? (size_t)n : 0;
}
