/*
 * kernel-guest/kernel_module.c: modules' life as insmod/rmmod see it:
 * resolving imports against loaded modules and the served kernel API,
 * module parameters, init and exit.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct KernelResolve {
    Kernel *k;
    const char *modname;
} KernelResolve;

static int kernel_resolve(void *opaque, const char *name, uint64_t *addr)
{
    KernelResolve *r = opaque;
    Kernel *k = r->k;
    const KSym *s;
    SlError e;

    for (unsigned i = 0; i < KERNEL_MAX_MODULES; i++) {
        KoModule *m = k->modules[i];

        for (unsigned j = 0; m && j < m->nexports; j++) {
            if (strcmp(m->exports[j].name, name) == 0) {
                *addr = m->exports[j].va;
                return 0;
            }
        }
    }
    s = ksyms_find(&k->syms, name);
    if (s) {
        *addr = s->addr;     /* per-CPU symbols are offsets in the %gs area */
        return 0;
    }
    /* Under --allow-unserved an exported function gets a reporting slot. */
    if (k->cfg.allow_unserved && k->host.export_kind &&
        k->host.export_kind(k->host.opaque, name, NULL) == KERNEL_EXPORT_FUNC &&
        kapi_todo(k, name, &e) == 0 && (s = ksyms_find(&k->syms, name)) != NULL) {
        *addr = s->addr;
        return 0;
    }
    return -ENOENT;
}

static void kernel_unknown(void *opaque, const char *name)
{
    KernelResolve *r = opaque;
    KernelExportKind kind = KERNEL_EXPORT_NONE;

    if (r->k->host.export_kind) {
        kind = r->k->host.export_kind(r->k->host.opaque, name, NULL);
    }
    if (kind == KERNEL_EXPORT_NONE) {
        kernel_log(r->k, '4', "%s: Unknown symbol %s (err -2)", r->modname, name);
    } else {
        kernel_log(r->k, '4', "%s: Unknown symbol %s (err -2) [exported by Linux as %s; not served by sluice%s]",
                   r->modname, name, kind == KERNEL_EXPORT_FUNC ? "a function" : "data",
                   kind == KERNEL_EXPORT_FUNC ? "; --allow-unserved loads it anyway" : "");
    }
}

/* Applies "name=value" to the module's __param entries whose ops are the
 * kernel's param_ops_int/uint/bool/... (or arrays of them). */
static int kernel_apply_param(Kernel *k, KoModule *m, const char *arg, SlError *e)
{
    long psz = btf_layout_sizeof(k->btf, "kernel_param");
    const char *eq = strchr(arg, '=');
    char want[64], name[64];
    size_t nlen;

    if (!eq || eq == arg || (nlen = (size_t)(eq - arg)) >= sizeof(want)) {
        return sl_error(e, -EINVAL, "--param %s: expected name=value", arg);
    }
    memcpy(want, arg, nlen);
    want[nlen] = 0;
    for (unsigned i = 0; i < m->nparams && psz > 0; i++) {
        uint64_t p = m->params + (uint64_t)i * (uint64_t)psz;
        uint64_t ops = kernel_field_read(k, p, "kernel_param", "ops");
        uint64_t argp = kernel_field_read(k, p, "kernel_param", "arg");
        const KSym *s;
        char *end;
        long long v;

        kernel_read_str(k, kernel_field_read(k, p, "kernel_param", "name"), name, sizeof(name));
        if (strcmp(name, want) != 0) {
            continue;
        }
        for (unsigned j = 0; j < k->syms.n; j++) {
            s = &k->syms.v[j];
            if (s->addr != ops || s->kind != KSYM_DATA) {
                continue;
            }
            if (strcmp(s->name, "param_array_ops") == 0) {
                /* struct kparam_array { max, elemsize, *num, ops, elem }: set element 0. */
                uint64_t arr = argp;
                uint64_t elem = kernel_field_read(k, arr, "kparam_array", "elem");
                uint64_t num = kernel_field_read(k, arr, "kparam_array", "num");

                v = strtoll(eq + 1, &end, 0);
                if (*end) {
                    return sl_error(e, -EINVAL, "%s: parameter %s: expected a number, got '%s'",
                                    m->name, want, eq + 1);
                }
                kernel_write_u32(k, elem, (uint32_t)v);
                if (num) {
                    kernel_write_u32(k, num, 1);
                }
                return 0;
            }
            if (strcmp(s->name, "param_ops_bool") == 0) {
                const char *val = eq + 1;
                int b = !strcmp(val, "1") || !strcmp(val, "y") || !strcmp(val, "Y") || !*val;

                if (!b && strcmp(val, "0") && strcmp(val, "n") && strcmp(val, "N")) {
                    return sl_error(e, -EINVAL, "%s: parameter %s: expected a boolean (0/1/y/n), got '%s'",
                                    m->name, want, val);
                }
                kernel_write_u8(k, argp, (uint8_t)b);
                return 0;
            }
            v = strtoll(eq + 1, &end, 0);
            if (*end || !eq[1]) {
                return sl_error(e, -EINVAL, "%s: parameter %s: expected a number, got '%s'",
                                m->name, want, eq + 1);
            }
            if (!strcmp(s->name, "param_ops_int") || !strcmp(s->name, "param_ops_uint")) {
                kernel_write_u32(k, argp, (uint32_t)v);
            } else if (!strcmp(s->name, "param_ops_ushort") || !strcmp(s->name, "param_ops_short")) {
                kernel_write_u16(k, argp, (uint16_t)v);
            } else if (!strcmp(s->name, "param_ops_byte")) {
                kernel_write_u8(k, argp, (uint8_t)v);
            } else {
                kernel_write_u64(k, argp, (uint64_t)v);
            }
            return 0;
        }
        return sl_error(e, -EINVAL, "%s: parameter %s has a type sluice cannot set", m->name, want);
    }
    return sl_error(e, -ENOENT, "%s: unknown parameter '%s'", m->name, want);
}

int kernel_load_module(Kernel *k, const char *path, const char *const *params,
                       unsigned nparams, SlError *e)
{
    KernelResolve r = {.k = k};
    KoLoadEnv env = {
        .mem = &k->mem, .btf = k->btf, .resolve = kernel_resolve,
        .unknown = kernel_unknown, .opaque = &r,
    };
    char modname[64];
    const char *base = strrchr(path, '/');
    KoModule *m;
    int slot = -1, err;
    int32_t bank, old_bank;

    snprintf(modname, sizeof(modname), "%s", base ? base + 1 : path);
    if (strlen(modname) > 3 && !strcmp(modname + strlen(modname) - 3, ".ko")) {
        modname[strlen(modname) - 3] = 0;
    }
    r.modname = modname;
    for (int i = 0; i < KERNEL_MAX_MODULES; i++) {
        if (!k->modules[i]) {
            slot = i;
            break;
        }
    }
    if (slot < 0) {
        return sl_error(e, -ENOSPC, "%s: more than %d modules loaded", path, KERNEL_MAX_MODULES);
    }
    /* The module's image, and everything its code allocates later, comes
     * from its own space bank. */
    bank = kernel_bank_new(k);
    if (bank < 0) {
        return sl_error(e, bank, "%s: no space bank left for another module", path);
    }
    old_bank = k->mem.bank_now;
    k->mem.bank_now = bank;
    err = ko_load(&env, path, &m, e);
    k->mem.bank_now = old_bank;
    if (err) {
        kmem_bank_destroy(&k->mem, bank);
        return err;
    }
    for (int i = 0; i < KERNEL_MAX_MODULES; i++) {
        if (k->modules[i] && !strcmp(k->modules[i]->name, m->name)) {
            sl_error(e, -EEXIST, "%s: module %s is already loaded", path, m->name);
            ko_unload(m, &k->mem);
            kmem_bank_destroy(&k->mem, bank);
            return -EEXIST;
        }
    }
    k->modules[slot] = m;
    k->module_bank[slot] = bank;
    if (m->text_end > m->text_start) {
        vcpu_add_code_range(k->cpu, m->text_start, m->text_end);
    }
    for (unsigned i = 0; i < nparams; i++) {
        err = kernel_apply_param(k, m, params[i], e);
        if (err) {
            vcpu_remove_code_range(k->cpu, m->text_start, m->text_end);
            ko_unload(m, &k->mem);
            kmem_bank_destroy(&k->mem, bank);
            k->modules[slot] = NULL;
            return err;
        }
    }
    return slot;
}

const char *kernel_module_name(const Kernel *k, int mod)
{
    return mod >= 0 && mod < KERNEL_MAX_MODULES && k->modules[mod] ? k->modules[mod]->name : "?";
}

int kernel_module_depends(const char *path, char *buf, size_t cap, SlError *e)
{
    int err = ko_modinfo(path, "depends", buf, cap, e);

    if (err == -ENOENT) {
        buf[0] = 0;
        return 0;
    }
    return err;
}

int kernel_init_module(Kernel *k, int mod)
{
    KoModule *m = k->modules[mod];
    uint64_t ret = 0;
    int err;

    if (!m->init) {
        return 0;
    }
    err = kernel_call(k, mod, KERNEL_PHASE_INIT, m->init, NULL, 0, &ret);
    if (err) {
        return err;
    }
    return (int)(int32_t)ret;
}

int kernel_exit_module(Kernel *k, int mod)
{
    KoModule *m = k->modules[mod];
    int err = 0;

    if (m->exit) {
        err = kernel_call(k, mod, KERNEL_PHASE_EXIT, m->exit, NULL, 0, NULL);
    }
    if (!err) {
        vcpu_remove_code_range(k->cpu, m->text_start, m->text_end);
        ko_unload(m, &k->mem);
        /* What the module left allocated goes with its bank (the leak
         * counts keep it); a page a device still pins, at its unpin. */
        kdma_bank_gone(k, k->module_bank[mod]);
        kmem_bank_destroy(&k->mem, k->module_bank[mod]);
        k->modules[mod] = NULL;
    }
    return err;
}
