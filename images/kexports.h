/*
 * images/kexports.h: the symbols a real vmlinux exports to modules.
 *
 * Read from the kernel's own export tables (__ksymtab, __ksymtab_gpl,
 * __ksymtab_strings, __kcrctab, __kcrctab_gpl) -- the System.map in the
 * Debian package is a placeholder.  Used to tell an import the kernel does
 * not export at all ("Unknown symbol") from one it exports but sluice does
 * not serve, and to check a module's modversions CRCs against the kernel.
 */
#ifndef IMAGES_KEXPORTS_H
#define IMAGES_KEXPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef enum KExportKind {
    KEXPORTS_FUNC,          /* value lies in an executable section */
    KEXPORTS_DATA,          /* anywhere else (per-cpu variables included) */
} KExportKind;

typedef struct KExport {
    const char *name;       /* owned by the KExports */
    const char *ns;         /* symbol namespace, "" when none */
    const char *section;    /* vmlinux section of the value: ".text", ".data..percpu";
                               "*ABS*" when it lies in none */
    uint64_t addr;          /* link-time address (per-cpu: offset in the area) */
    uint32_t crc;           /* modversions CRC; 0 when the kernel has no __kcrctab */
    uint8_t gpl;            /* from __ksymtab_gpl: only GPL modules may import it */
    uint8_t kind;           /* KExportKind */
} KExport;

typedef struct KExports KExports;

/* Reads the export tables of the vmlinux ELF at path.  On error *out stays
 * NULL and e names the file and the section that is wrong. */
int kexports_load(const char *vmlinux, KExports **out, SlError *e);

/* The export named name, or NULL when the kernel does not export it. */
const KExport *kexports_find(const KExports *x, const char *name);

/* Number of exports and the i-th in name order (i < count). */
size_t kexports_count(const KExports *x);
const KExport *kexports_at(const KExports *x, size_t i);

/* Whether the kernel carries CRCs (CONFIG_MODVERSIONS: __kcrctab present). */
int kexports_has_crcs(const KExports *x);

void kexports_free(KExports *x);

#endif
