/*
 * kernel-guest/kapi_runtime.c: what the compiler and the build make every
 * module import: ftrace's __fentry__, retpoline and return thunks, static
 * call trampolines, the stack protector, fortify, per-CPU basics.
 *
 * The thunks are real guest code in gateway slots (no host call): a return
 * thunk is `ret`, an indirect thunk is `jmp *%reg`, as the kernel patches
 * them on CPUs without the mitigations.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <string.h>

static uint64_t kapi_stack_chk_fail(void *opaque, VcpuCall *c)
{
    vcpu_raise(c->cpu, "stack-protector: kernel stack is corrupted (canary at %%gs:0x28 overwritten)");
    return 0;
}

static uint64_t kapi_fortify_panic(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    char name[64] = "?";

    kernel_read_str(k, c->arg[0], name, sizeof(name));
    vcpu_raise(c->cpu, "detected buffer overflow in %s (fortify_panic)", name);
    return 0;
}

static uint64_t kapi_cc_platform_has(void *opaque, VcpuCall *c)
{
    return 0;                    /* no memory encryption, no TDX */
}

int kapi_runtime_register(Kernel *k, SlError *e)
{
    static const char *const regs[] = {
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    };
    static const uint8_t ret[] = {0xc3};
    static const uint8_t ret0[] = {0x31, 0xc0, 0xc3};   /* xor %eax,%eax; ret */
    uint64_t task, off;
    int64_t running = 0;
    long tsz;
    int err = 0;

    err = err ? err : kapi_code(k, "__fentry__", ret, sizeof(ret), e);
    err = err ? err : kapi_code(k, "__x86_return_thunk", ret, sizeof(ret), e);
    err = err ? err : kapi_code(k, "__SCT__cond_resched", ret0, sizeof(ret0), e);
    err = err ? err : kapi_code(k, "__SCT__preempt_schedule", ret, sizeof(ret), e);
    err = err ? err : kapi_code(k, "__SCT__might_resched", ret0, sizeof(ret0), e);
    for (unsigned i = 0; !err && i < 16; i++) {
        char name[64];
        uint8_t jmp[3];
        size_t n = 0;

        if (i == 4) {
            continue;            /* no thunk for %rsp */
        }
        if (i >= 8) {
            jmp[n++] = 0x41;     /* REX.B */
        }
        jmp[n++] = 0xff;
        jmp[n++] = (uint8_t)(0xe0 | (i & 7));          /* jmp *%reg */
        snprintf(name, sizeof(name), "__x86_indirect_thunk_%s", regs[i]);
        err = kapi_code(k, name, jmp, n, e);
    }
    err = err ? err : kapi_fn(k, "__stack_chk_fail", kapi_stack_chk_fail, e);
    err = err ? err : kapi_fn(k, "fortify_panic", kapi_fortify_panic, e);
    err = err ? err : kapi_fn(k, "cc_platform_has", kapi_cc_platform_has, e);
    if (err) {
        return err;
    }
    /* Per-CPU variables drivers read through %gs. */
    if (!kapi_percpu(k, "__preempt_count", 4, 4, e) ||
        !kapi_percpu(k, "cpu_number", 4, 4, e)) {
        return -1;
    }
    off = kapi_percpu(k, "current_task", 8, 8, e);
    tsz = btf_layout_sizeof(k->btf, "task_struct");
    task = tsz > 0 ? kmem_kmalloc(&k->mem, (uint64_t)tsz, 64, true) : 0;
    if (!off || !task) {
        return sl_error(e, -ENOENT, "%s: .BTF: cannot set up current_task (struct task_struct)",
                        k->cfg.btf_path);
    }
    kernel_write_u64(k, kernel_percpu_va(k, off), task);
    tsz = btf_layout_sizeof(k->btf, "softnet_data");
    if (tsz <= 0 || !kapi_percpu(k, "softnet_data", (uint64_t)tsz, 64, e)) {
        return sl_error(e, -ENOENT, "%s: .BTF: no struct softnet_data", k->cfg.btf_path);
    }
    /* Data objects drivers only take the address of: parameter ops (the
     * kernel side sets parameters itself), static keys (zero: disabled),
     * the root of the I/O-port resource tree. */
    {
        static const struct { const char *name, *type; } objs[] = {
            {"param_ops_int", "kernel_param_ops"}, {"param_ops_uint", "kernel_param_ops"},
            {"param_ops_bool", "kernel_param_ops"}, {"param_ops_ushort", "kernel_param_ops"},
            {"param_ops_short", "kernel_param_ops"}, {"param_ops_byte", "kernel_param_ops"},
            {"param_ops_long", "kernel_param_ops"}, {"param_ops_ulong", "kernel_param_ops"},
            {"param_ops_charp", "kernel_param_ops"}, {"param_array_ops", "kernel_param_ops"},
            {"devmap_managed_key", "static_key_false"},
            {"hugetlb_optimize_vmemmap_key", "static_key_false"},
            {"ioport_resource", "resource"},
        };

        for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
            long sz = btf_layout_sizeof(k->btf, objs[i].type);

            if (sz <= 0 || !kapi_data(k, objs[i].name, (uint64_t)sz, 8, e)) {
                return sl_error(e, -ENOENT, "%s: .BTF: no struct %s", k->cfg.btf_path, objs[i].type);
            }
        }
    }
    off = kapi_data(k, "system_state", 4, 4, e);
    if (!off || btf_layout_enum_value(k->btf, "SYSTEM_RUNNING", &running) != 0) {
        return sl_error(e, -ENOENT, "%s: .BTF: no enum system_states", k->cfg.btf_path);
    }
    kernel_write_u32(k, off, (uint32_t)running);
    return 0;
}
