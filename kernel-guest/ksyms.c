/* kernel-guest/ksyms.c: see ksyms.h.  Sorted once after boot registration,
 * then looked up by binary search. */
#include "kernel-guest/ksyms.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ksyms_add(KSyms *s, const char *name, uint64_t addr, KSymKind kind, SlError *e)
{
    if (strlen(name) >= sizeof(s->v[0].name)) {
        return sl_error(e, -EINVAL, "kernel: symbol name too long: %s", name);
    }
    if (s->n == s->cap) {
        unsigned cap = s->cap ? s->cap * 2 : 256;
        KSym *v = realloc(s->v, cap * sizeof(*v));

        if (!v) {
            return sl_error(e, -ENOMEM, "kernel: out of memory");
        }
        s->v = v;
        s->cap = cap;
    }
    memset(&s->v[s->n], 0, sizeof(s->v[0]));
    strcpy(s->v[s->n].name, name);
    s->v[s->n].addr = addr;
    s->v[s->n].kind = kind;
    s->n++;
    s->sorted = 0;
    return 0;
}

static int ksyms_cmp(const void *a, const void *b)
{
    return strcmp(((const KSym *)a)->name, ((const KSym *)b)->name);
}

const KSym *ksyms_find(KSyms *s, const char *name)
{
    KSym key;

    if (!s->sorted) {
        qsort(s->v, s->n, sizeof(KSym), ksyms_cmp);
        s->sorted = 1;
    }
    if (strlen(name) >= sizeof(key.name)) {
        return NULL;
    }
    strcpy(key.name, name);
    return bsearch(&key, s->v, s->n, sizeof(KSym), ksyms_cmp);
}

const KSym *ksyms_lookup_addr(KSyms *s, uint64_t addr)
{
    const KSym *best = NULL;

    for (unsigned i = 0; i < s->n; i++) {
        if (s->v[i].kind != KSYM_PERCPU && s->v[i].addr <= addr &&
            (!best || s->v[i].addr > best->addr)) {
            best = &s->v[i];
        }
    }
    return best;
}

void ksyms_fini(KSyms *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}
