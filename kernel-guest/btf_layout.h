/*
 * kernel-guest/btf_layout.h: kernel struct layouts from BTF, by name.
 *
 * Every struct offset the emulated kernel uses comes from here: read from
 * the .BTF of the kernel the drivers were built for (vmlinux, or the raw
 * BTF blob the image cache extracts from it), plus a module's split BTF for
 * its private types.  Nothing is hard-coded, so one build of sluice serves
 * every Debian 6.1.x kernel.
 *
 * Field paths name members through nested structs, anonymous unions and
 * arrays: "dev.parent", "stats.rx_errors", "resource[1].start",
 * "dev.power.can_wakeup" (a bitfield).  Lookups are cached.
 */
#ifndef KERNEL_GUEST_BTF_LAYOUT_H
#define KERNEL_GUEST_BTF_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct BtfLayout BtfLayout;

typedef struct BtfField {
    uint64_t offset;       /* byte offset of the field (of its storage unit
                            * for bitfields) from the start of the type */
    uint32_t size;         /* bytes; for bitfields the storage unit size */
    uint32_t bit_offset;   /* for bitfields: bit position within offset's
                            * byte onwards; 0 otherwise */
    uint32_t bit_size;     /* 0 for ordinary fields */
    uint32_t elem_count;   /* for arrays: number of elements; else 0 */
} BtfField;

/* Opens BTF from an ELF file's .BTF section or a raw BTF blob (detected by
 * magic).  On error fills e with "PATH: .BTF: <what was expected>". */
int btf_layout_open(const char *path, BtfLayout **out, SlError *e);
/* Opens a module's split BTF (its .BTF section) on top of base, which must
 * stay open until this layout is closed.  Names are looked up in the
 * module's own types first, then in base. */
int btf_layout_open_split(const char *ko_path, const BtfLayout *base,
                          BtfLayout **out, SlError *e);
void btf_layout_close(BtfLayout *l);

/* sizeof(struct/union/typedef NAME); negative -ENOENT if unknown.
 * Names may be given as "net_device" or "struct net_device". */
long btf_layout_sizeof(BtfLayout *l, const char *type);
/* Byte offset of a field path; negative -ENOENT if type or path unknown. */
long btf_layout_offsetof(BtfLayout *l, const char *type, const char *path);
/* Full description of a field; 0 or -ENOENT. */
int btf_layout_field(BtfLayout *l, const char *type, const char *path, BtfField *f);
/* Value of an enumerator (e.g. "NETREG_REGISTERED"); 0 or -ENOENT. */
int btf_layout_enum_value(BtfLayout *l, const char *name, int64_t *value);

#endif
