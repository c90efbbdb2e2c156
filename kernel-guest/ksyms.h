/*
 * kernel-guest/ksyms.h: the symbols the emulated kernel serves to modules.
 *
 * Functions are gateway slots (host C), data objects live in the kernel
 * data area, per-CPU variables are offsets into the per-CPU area (%gs).
 * A "todo" symbol is one the legacy NIC drivers import that sluice does
 * not serve yet (kapi_todo.c): it resolves, and calling it is a report
 * naming it.
 */
#ifndef KERNEL_GUEST_KSYMS_H
#define KERNEL_GUEST_KSYMS_H

#include <stdint.h>

#include "base/error.h"

typedef enum KSymKind {
    KSYM_FUNC,
    KSYM_DATA,
    KSYM_PERCPU,
    KSYM_TODO,
} KSymKind;

typedef struct KSym {
    char name[64];
    uint64_t addr;
    KSymKind kind;
} KSym;

typedef struct KSyms {
    KSym *v;
    unsigned n, cap;
    int sorted;
} KSyms;

int ksyms_add(KSyms *s, const char *name, uint64_t addr, KSymKind kind, SlError *e);
const KSym *ksyms_find(KSyms *s, const char *name);
/* Nearest symbol at or below addr among functions and data, or NULL. */
const KSym *ksyms_lookup_addr(KSyms *s, uint64_t addr);
void ksyms_fini(KSyms *s);

#endif
