/*
 * kernel-guest/loader.h: loading a .ko into guest memory, as insmod and
 * kernel/module/main.c do: allocated sections laid out by kind (text RX,
 * read-only data R, data RW), relocations applied, imports resolved,
 * struct module's init/exit found through its relocations.
 *
 * ELF is read with libelf; the layouts of struct module, kernel_param,
 * bug_entry and kernel_symbol come from BTF.
 */
#ifndef KERNEL_GUEST_LOADER_H
#define KERNEL_GUEST_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "kernel-guest/btf_layout.h"
#include "kernel-guest/kmem.h"

typedef struct KoSection {
    char name[64];
    uint64_t va;
    uint64_t size;
    uint64_t flags;              /* ELF SHF_* */
} KoSection;

typedef struct KoSymbol {
    char *name;
    uint64_t va;
    uint64_t size;
} KoSymbol;

typedef struct KoExport {
    char *name;
    uint64_t va;
    bool gpl;
} KoExport;

typedef struct KoModule {
    char name[64];
    char path[4096];
    uint64_t base, size;         /* reserved module-area range */
    uint64_t pa;                 /* backing frames (contiguous) */
    KoSection *secs;
    unsigned nsecs;
    KoSymbol *syms;              /* defined symbols, sorted by address */
    unsigned nsyms;
    KoExport *exports;
    unsigned nexports;
    uint64_t init, exit;         /* 0 when the module has none */
    uint64_t this_module;        /* struct module, 0 for test modules */
    uint64_t params;             /* __param: array of struct kernel_param */
    unsigned nparams;
    uint64_t bugs;               /* __bug_table */
    unsigned nbugs;
    uint64_t text_start, text_end;
    char depends[256];
    char license[64];
} KoModule;

/* Resolution of an undefined symbol: 0 and *addr, or -ENOENT (the loader
 * then calls unknown() once per name and fails the load). */
typedef struct KoLoadEnv {
    KMem *mem;
    BtfLayout *btf;
    int (*resolve)(void *opaque, const char *name, uint64_t *addr);
    void (*unknown)(void *opaque, const char *name);
    void *opaque;
} KoLoadEnv;

int ko_load(const KoLoadEnv *env, const char *path, KoModule **out, SlError *e);
/* Frees the module's memory and metadata. */
void ko_unload(KoModule *m, KMem *mem);

/* The module's own section/symbol lookups. */
const KoSection *ko_section(const KoModule *m, const char *name);
uint64_t ko_symbol_va(const KoModule *m, const char *name);
/* "sym+0xoff/0xsize [mod]" if addr lies in the module; else 0. */
size_t ko_symbolize(const KoModule *m, uint64_t addr, char *buf, size_t cap);
bool ko_contains(const KoModule *m, uint64_t addr);

/* Reads one key of a .ko's .modinfo ("depends", "license", "name") without
 * loading it.  0 and the value, -ENOENT if absent. */
int ko_modinfo(const char *path, const char *key, char *buf, size_t cap, SlError *e);

#endif
