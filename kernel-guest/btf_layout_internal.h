/*
 * kernel-guest/btf_layout_internal.h: what btf_layout.c (the name index,
 * the result cache and field-path walks) and btf_layout_open.c (finding,
 * checking and parsing the .BTF bytes) share: the BtfLayout struct and its
 * two tables.  Not for use outside these files; see btf_layout.c.
 */
#ifndef KERNEL_GUEST_BTF_LAYOUT_INTERNAL_H
#define KERNEL_GUEST_BTF_LAYOUT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kernel-guest/btf_layout.h"

struct btf;

typedef struct BtfLayoutName {
    const char *name;  /* points into the BTF string section; NULL = empty */
    uint32_t hash;
    uint32_t id;       /* type id (for enumerators: the enum's id) */
    uint32_t idx;      /* enumerator index within the enum */
    uint32_t cls;
} BtfLayoutName;

typedef struct BtfLayoutResult {
    char *key;         /* kind byte, type, '\0', path, '\0'; NULL = empty */
    size_t key_len;
    uint32_t hash;
    int rc;            /* 0 or -ENOENT: misses are cached too */
    int64_t value;     /* sizeof or enumerator value */
    BtfField field;
} BtfLayoutResult;

struct BtfLayout {
    struct btf *btf;
    /* The base layout of a split one.  The caller keeps it open for as long
     * as this one; its lazily built name index is a memo, so filling it in
     * through this pointer does not change what it answers. */
    BtfLayout *base;
    BtfLayoutName *names;   /* own types only; base types via base */
    size_t names_cap;       /* power of two; 0 until built */
    BtfLayoutResult *results;
    size_t results_cap;     /* power of two */
    size_t results_used;
};

#endif
