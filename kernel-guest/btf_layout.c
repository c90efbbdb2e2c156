/*
 * kernel-guest/btf_layout.c: kernel struct layouts from BTF, by name.
 *
 * libbpf does all BTF parsing and validation (btf__new, btf__new_split);
 * btf_layout_open.c only finds the .BTF bytes (libelf) and checks the
 * container well enough to say in one line what is wrong with a bad file;
 * this file walks field paths over the parsed types.
 *
 * Two hash tables make run-time lookups cheap:
 *   - a name index (struct/union/typedef names and enumerator names -> type
 *     id), built on the first lookup by one pass over the types, so a cold
 *     lookup does not scan the ~100k vmlinux types the way
 *     btf__find_by_name_kind would;
 *   - a result cache keyed by "kind type\0path", which also remembers misses,
 *     so a repeated lookup costs one hash of the key and one compare.
 * Both are memos of the read-only BTF, not machine state: nothing here needs
 * to be saved with a snapshot.  Not thread-safe (the machine is one thread).
 */
#include "kernel-guest/btf_layout_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

/* Bounds on chains of typedefs/modifiers and on nesting of anonymous
 * members: real kernels need a handful; a corrupt file may loop forever. */
#define BTF_LAYOUT_MAX_DEPTH 32

enum {
    BTF_LAYOUT_CLS_STRUCT,
    BTF_LAYOUT_CLS_UNION,
    BTF_LAYOUT_CLS_TYPEDEF,
    BTF_LAYOUT_CLS_ENUMERATOR,
};

/* Result-cache entry kinds (first byte of the key). */
enum {
    BTF_LAYOUT_Q_SIZEOF = 'S',
    BTF_LAYOUT_Q_FIELD = 'F',
    BTF_LAYOUT_Q_ENUM = 'E',
};

/* ---- hashing ---------------------------------------------------------- */

static uint32_t btf_layout_hash_bytes(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)s[i]) * 16777619u;   /* FNV-1a */
    }
    return h;
}

static uint32_t btf_layout_hash_name(const char *s, size_t n, uint32_t cls)
{
    return btf_layout_hash_bytes(2166136261u ^ cls, s, n);
}

void btf_layout_close(BtfLayout *l)
{
    if (!l) {
        return;
    }
    for (size_t i = 0; i < l->results_cap; i++) {
        free(l->results[i].key);
    }
    free(l->results);
    free(l->names);
    btf__free(l->btf);
    free(l);
}

/* ---- name index ------------------------------------------------------- */

static void btf_layout_names_put(BtfLayout *l, const char *name, uint32_t cls,
                                 uint32_t id, uint32_t idx)
{
    size_t len, mask = l->names_cap - 1;
    uint32_t h;
    size_t i;

    if (!name || !*name) {
        return;
    }
    len = strlen(name);
    h = btf_layout_hash_name(name, len, cls);
    for (i = h & mask; l->names[i].name; i = (i + 1) & mask) {
        if (l->names[i].hash == h && l->names[i].cls == cls &&
            strcmp(l->names[i].name, name) == 0) {
            return;   /* the first (lowest id) wins, as in libbpf's lookups */
        }
    }
    l->names[i] = (BtfLayoutName){name, h, id, idx, cls};
}

/* One pass over this layout's own types.  Returns -ENOMEM or 0. */
static int btf_layout_names_build(BtfLayout *l)
{
    const struct btf *base = btf__base_btf(l->btf);
    uint32_t first = base ? btf__type_cnt(base) : 1;
    uint32_t end = btf__type_cnt(l->btf);
    size_t want = 16, count = 0;

    for (uint32_t id = first; id < end; id++) {
        const struct btf_type *t = btf__type_by_id(l->btf, id);

        count += btf_is_any_enum(t) ? btf_vlen(t) : 1;
    }
    while (want < 2 * count) {
        want *= 2;
    }
    l->names = calloc(want, sizeof(*l->names));
    if (!l->names) {
        return -ENOMEM;
    }
    l->names_cap = want;
    for (uint32_t id = first; id < end; id++) {
        const struct btf_type *t = btf__type_by_id(l->btf, id);
        const char *name = btf__name_by_offset(l->btf, t->name_off);

        if (btf_is_struct(t)) {
            btf_layout_names_put(l, name, BTF_LAYOUT_CLS_STRUCT, id, 0);
        } else if (btf_is_union(t)) {
            btf_layout_names_put(l, name, BTF_LAYOUT_CLS_UNION, id, 0);
        } else if (btf_is_typedef(t)) {
            btf_layout_names_put(l, name, BTF_LAYOUT_CLS_TYPEDEF, id, 0);
        } else if (btf_is_enum(t) || btf_is_enum64(t)) {
            for (uint32_t k = 0; k < btf_vlen(t); k++) {
                uint32_t off = btf_is_enum(t) ? btf_enum(t)[k].name_off
                                              : btf_enum64(t)[k].name_off;
                btf_layout_names_put(l, btf__name_by_offset(l->btf, off),
                                     BTF_LAYOUT_CLS_ENUMERATOR, id, k);
            }
        }
    }
    return 0;
}

/* Looks name up in l's own types, then in its base's. */
static const BtfLayoutName *btf_layout_names_get(BtfLayout *l, const char *name,
                                                 size_t len, uint32_t cls)
{
    for (; l; l = l->base) {
        size_t mask;
        uint32_t h = btf_layout_hash_name(name, len, cls);

        if (!l->names_cap && btf_layout_names_build(l) != 0) {
            continue;   /* out of memory: this layout answers "unknown" */
        }
        mask = l->names_cap - 1;
        for (size_t i = h & mask; l->names[i].name; i = (i + 1) & mask) {
            const BtfLayoutName *n = &l->names[i];

            if (n->hash == h && n->cls == cls && strncmp(n->name, name, len) == 0 &&
                n->name[len] == '\0') {
                return n;
            }
        }
    }
    return NULL;
}

/* ---- result cache ----------------------------------------------------- */

static BtfLayoutResult *btf_layout_cache_slot(BtfLayout *l, const char *key,
                                              size_t key_len, uint32_t h)
{
    size_t mask = l->results_cap - 1;
    size_t i;

    for (i = h & mask; l->results[i].key; i = (i + 1) & mask) {
        BtfLayoutResult *r = &l->results[i];

        if (r->hash == h && r->key_len == key_len && memcmp(r->key, key, key_len) == 0) {
            break;
        }
    }
    return &l->results[i];
}

static int btf_layout_cache_grow(BtfLayout *l)
{
    size_t old_cap = l->results_cap, cap = old_cap ? old_cap * 2 : 64;
    BtfLayoutResult *old = l->results;

    l->results = calloc(cap, sizeof(*l->results));
    if (!l->results) {
        l->results = old;
        return -ENOMEM;
    }
    l->results_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key) {
            *btf_layout_cache_slot(l, old[i].key, old[i].key_len, old[i].hash) = old[i];
        }
    }
    free(old);
    return 0;
}

/* Builds the key into buf (kind, a, '\0', b) and returns its length, or 0
 * if it does not fit (such a lookup is simply not cached). */
static size_t btf_layout_cache_key(char *buf, size_t cap, int kind, const char *a,
                                   const char *b)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0;

    if (la + lb + 3 > cap) {
        return 0;
    }
    buf[0] = (char)kind;
    memcpy(buf + 1, a, la + 1);
    memcpy(buf + la + 2, b ? b : "", lb + 1);
    return la + lb + 3;
}

/* Stores r under key; losing it to out-of-memory only costs speed. */
static void btf_layout_cache_put(BtfLayout *l, const char *key, size_t key_len,
                                 uint32_t h, const BtfLayoutResult *r)
{
    BtfLayoutResult *slot;
    char *copy;

    if ((l->results_used + 1) * 2 > l->results_cap && btf_layout_cache_grow(l) != 0) {
        return;
    }
    copy = malloc(key_len);
    if (!copy) {
        return;
    }
    memcpy(copy, key, key_len);
    slot = btf_layout_cache_slot(l, key, key_len, h);
    *slot = *r;
    slot->key = copy;
    slot->key_len = key_len;
    slot->hash = h;
    l->results_used++;
}

/* ---- types and field paths -------------------------------------------- */

/* Follows typedefs and const/volatile/restrict/type tags to the real type. */
static const struct btf_type *btf_layout_skip(const struct btf *btf, uint32_t *id)
{
    for (int i = 0; i < BTF_LAYOUT_MAX_DEPTH; i++) {
        const struct btf_type *t = btf__type_by_id(btf, *id);

        if (!t || !(btf_is_mod(t) || btf_is_typedef(t))) {
            return t;
        }
        *id = t->type;
    }
    return NULL;
}

/* "struct x" / "union x" / "x" (struct, then union, then typedef). */
static int btf_layout_type_id(BtfLayout *l, const char *type, uint32_t *id)
{
    static const struct {
        const char *prefix;
        uint32_t cls;
    } kw[] = {{"struct ", BTF_LAYOUT_CLS_STRUCT}, {"union ", BTF_LAYOUT_CLS_UNION}};
    const BtfLayoutName *n = NULL;

    for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
        size_t plen = strlen(kw[i].prefix);

        if (strncmp(type, kw[i].prefix, plen) == 0) {
            n = btf_layout_names_get(l, type + plen, strlen(type + plen), kw[i].cls);
            goto done;
        }
    }
    for (uint32_t cls = BTF_LAYOUT_CLS_STRUCT; cls <= BTF_LAYOUT_CLS_TYPEDEF && !n; cls++) {
        n = btf_layout_names_get(l, type, strlen(type), cls);
    }
done:
    if (!n) {
        return -ENOENT;
    }
    *id = n->id;
    return 0;
}

typedef struct BtfLayoutHit {
    uint32_t type_id;
    uint64_t bit_off;   /* from the start of the struct searched */
    uint32_t bit_size;  /* 0 unless a bitfield */
} BtfLayoutHit;

/* Finds member name[0..len) of composite t, looking through anonymous
 * struct/union members (Linux nests many of them). */
static bool btf_layout_member(const struct btf *btf, const struct btf_type *t,
                              const char *name, size_t len, int depth,
                              BtfLayoutHit *hit)
{
    const struct btf_member *m = btf_members(t);

    for (uint32_t i = 0; i < btf_vlen(t); i++) {
        const char *mname = btf__name_by_offset(btf, m[i].name_off);
        uint32_t bits = btf_member_bit_offset(t, i);

        if (mname && *mname) {
            if (strncmp(mname, name, len) == 0 && mname[len] == '\0') {
                hit->type_id = m[i].type;
                hit->bit_off = bits;
                hit->bit_size = btf_member_bitfield_size(t, i);
                return true;
            }
        } else if (depth < BTF_LAYOUT_MAX_DEPTH) {
            uint32_t id = m[i].type;
            const struct btf_type *mt = btf_layout_skip(btf, &id);

            if (mt && btf_is_composite(mt) &&
                btf_layout_member(btf, mt, name, len, depth + 1, hit)) {
                hit->bit_off += bits;
                return true;
            }
        }
    }
    return false;
}

/* Parses "[N]" at *p; advances past it. */
static bool btf_layout_parse_index(const char **p, uint64_t *index)
{
    char *end;

    if (**p != '[' || (*p)[1] < '0' || (*p)[1] > '9') {
        return false;
    }
    errno = 0;
    *index = strtoull(*p + 1, &end, 0);
    if (errno || *end != ']') {
        return false;
    }
    *p = end + 1;
    return true;
}

/* Applies one "[N]" to the array *id; bits accumulates the offset. */
static bool btf_layout_subscript(const struct btf *btf, uint32_t *id, uint64_t index,
                                 uint64_t *bits)
{
    const struct btf_type *t = btf_layout_skip(btf, id);
    const struct btf_array *a;
    int64_t elem;

    if (!t || !btf_is_array(t)) {
        return false;
    }
    a = btf_array(t);
    /* nelems == 0 is a flexible array member: any index is a layout. */
    if (a->nelems != 0 && index >= a->nelems) {
        return false;
    }
    elem = btf__resolve_size(btf, a->type);
    if (elem < 0 || (elem != 0 && index > (UINT64_MAX / 8 - *bits / 8) / (uint64_t)elem)) {
        return false;
    }
    *bits += index * (uint64_t)elem * 8;
    *id = a->type;
    return true;
}

/* A bitfield's storage unit: the naturally aligned unit of its declared
 * type that holds it (what the compiler loads), else its first byte. */
static void btf_layout_bitfield(uint64_t bits, uint32_t bit_size, BtfField *f)
{
    uint64_t unit_bits = (uint64_t)f->size * 8;
    uint64_t start = unit_bits && (unit_bits & (unit_bits - 1)) == 0
                         ? bits / unit_bits * unit_bits : bits / 8 * 8;

    if (bits - start + bit_size > unit_bits) {
        start = bits / 8 * 8;
    }
    f->offset = start / 8;
    f->bit_offset = (uint32_t)(bits - start);
    f->bit_size = bit_size;
}

/* Walks "a.b[2].c" from type id. */
static int btf_layout_walk(const struct btf *btf, uint32_t id, const char *path,
                           BtfField *f)
{
    const char *p = path;
    uint64_t bits = 0;
    uint32_t bit_size = 0;
    const struct btf_type *t;
    int64_t size;

    do {
        size_t len = strcspn(p, ".[");
        BtfLayoutHit hit;
        uint64_t index;

        t = btf_layout_skip(btf, &id);
        if (len == 0 || bit_size || !t || !btf_is_composite(t) ||
            !btf_layout_member(btf, t, p, len, 0, &hit)) {
            return -ENOENT;
        }
        id = hit.type_id;
        bits += hit.bit_off;
        bit_size = hit.bit_size;
        p += len;
        while (*p == '[') {
            if (bit_size || !btf_layout_parse_index(&p, &index) ||
                !btf_layout_subscript(btf, &id, index, &bits)) {
                return -ENOENT;
            }
        }
        if (*p != '\0' && *p != '.') {
            return -ENOENT;
        }
    } while (*p++ == '.');

    t = btf_layout_skip(btf, &id);
    size = btf__resolve_size(btf, id);
    if (!t || size < 0 || size > UINT32_MAX) {
        return -ENOENT;
    }
    *f = (BtfField){.size = (uint32_t)size};
    f->elem_count = btf_is_array(t) ? btf_array(t)->nelems : 0;
    /* Old-style (kflag 0) bitfields carry their width in the int type. */
    if (!bit_size && btf_is_int(t) &&
        (btf_int_offset(t) || btf_int_bits(t) != (uint32_t)size * 8)) {
        bits += btf_int_offset(t);
        bit_size = btf_int_bits(t);
    }
    if (bit_size) {
        btf_layout_bitfield(bits, bit_size, f);
    } else if (bits % 8) {
        return -ENOENT;   /* a non-bitfield member off a byte boundary */
    } else {
        f->offset = bits / 8;
    }
    return 0;
}

/* ---- public lookups --------------------------------------------------- */

/* Looks up (kind, a, b) in the cache; on a miss, computes it with fill and
 * remembers the outcome. */
static int btf_layout_cached(BtfLayout *l, int kind, const char *a, const char *b,
                             void (*fill)(BtfLayout *, const char *, const char *,
                                          BtfLayoutResult *),
                             BtfLayoutResult *out)
{
    char key[512];
    size_t key_len = btf_layout_cache_key(key, sizeof(key), kind, a, b);
    uint32_t h;
    BtfLayoutResult *slot;

    h = btf_layout_hash_bytes(2166136261u, key, key_len);
    if (key_len && l->results_cap) {
        slot = btf_layout_cache_slot(l, key, key_len, h);
        if (slot->key) {
            *out = *slot;
            return out->rc;
        }
    }
    *out = (BtfLayoutResult){0};
    fill(l, a, b, out);
    if (key_len) {
        btf_layout_cache_put(l, key, key_len, h, out);
    }
    return out->rc;
}

static void btf_layout_fill_sizeof(BtfLayout *l, const char *type, const char *unused,
                                   BtfLayoutResult *r)
{
    uint32_t id;

    r->rc = btf_layout_type_id(l, type, &id);
    if (r->rc == 0) {
        r->value = btf__resolve_size(l->btf, id);
        r->rc = r->value < 0 ? -ENOENT : 0;
    }
}

static void btf_layout_fill_field(BtfLayout *l, const char *type, const char *path,
                                  BtfLayoutResult *r)
{
    uint32_t id;

    r->rc = btf_layout_type_id(l, type, &id);
    if (r->rc == 0) {
        r->rc = btf_layout_walk(l->btf, id, path, &r->field);
    }
}

static void btf_layout_fill_enum(BtfLayout *l, const char *name, const char *unused,
                                 BtfLayoutResult *r)
{
    const BtfLayoutName *n = btf_layout_names_get(l, name, strlen(name),
                                                  BTF_LAYOUT_CLS_ENUMERATOR);
    const struct btf_type *t;

    r->rc = -ENOENT;
    if (!n) {
        return;
    }
    t = btf__type_by_id(l->btf, n->id);
    /* kflag set means a signed enum (BTF since Linux 6.0). */
    if (btf_is_enum(t)) {
        int32_t v = btf_enum(t)[n->idx].val;
        r->value = btf_kflag(t) ? (int64_t)v : (int64_t)(uint32_t)v;
    } else {
        r->value = (int64_t)btf_enum64_value(&btf_enum64(t)[n->idx]);
    }
    r->rc = 0;
}

long btf_layout_sizeof(BtfLayout *l, const char *type)
{
    BtfLayoutResult r;
    int rc = btf_layout_cached(l, BTF_LAYOUT_Q_SIZEOF, type, NULL,
                               btf_layout_fill_sizeof, &r);

    return rc ? rc : (long)r.value;
}

long btf_layout_offsetof(BtfLayout *l, const char *type, const char *path)
{
    BtfField f;
    int rc = btf_layout_field(l, type, path, &f);

    return rc ? rc : (long)f.offset;
}

int btf_layout_field(BtfLayout *l, const char *type, const char *path, BtfField *f)
{
    BtfLayoutResult r;
    int rc;

    if (!path) {
        return -ENOENT;
    }
    rc = btf_layout_cached(l, BTF_LAYOUT_Q_FIELD, type, path,
                           btf_layout_fill_field, &r);

    if (rc == 0) {
        *f = r.field;
    }
    return rc;
}

int btf_layout_enum_value(BtfLayout *l, const char *name, int64_t *value)
{
    BtfLayoutResult r;
    int rc = btf_layout_cached(l, BTF_LAYOUT_Q_ENUM, name, NULL,
                               btf_layout_fill_enum, &r);

    if (rc == 0) {
        *value = r.value;
    }
    return rc;
}
