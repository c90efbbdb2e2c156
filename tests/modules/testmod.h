/* tests/modules/testmod.h: the little a freestanding test module needs. */
#ifndef TESTMOD_H
#define TESTMOD_H
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define noinline __attribute__((noinline))
/* After a call, keeps the compiler from turning it into a tail jump, so
 * the caller's return address stays on the stack for backtraces. */
#define barrier() __asm__ __volatile__("" ::: "memory")

#define KERN_SOH "\001"
#define KERN_INFO KERN_SOH "6"
#define GFP_KERNEL 0xcc0u        /* what the 6.1 kernel's GFP_KERNEL is */

/* Imports, served by the emulated kernel. */
int _printk(const char *fmt, ...);
void *__kmalloc(u64 size, u32 flags);
void kfree(const void *p);

/*
 * Module parameters, laid out as Linux 6.1's struct kernel_param
 * (include/linux/moduleparam.h): name, mod, ops, perm, level, flags, arg;
 * 40 bytes, arg at offset 32.  The loader reads it through BTF, so a
 * mismatch shows up as a failing parameter test.
 */
struct testmod_kernel_param {
    const char *name;
    void *mod;
    const void *ops;
    u16 perm;
    signed char level;
    u8 flags;
    void *arg;
};

/* struct kparam_array: what param_array_ops' arg points at. */
struct testmod_kparam_array {
    u32 max;
    u32 elemsize;
    u32 *num;
    const void *ops;
    void *elem;
};

extern const char param_ops_int[], param_ops_uint[], param_ops_bool[];
extern const char param_ops_ushort[], param_ops_ulong[], param_array_ops[];

#define TESTMOD_PARAM(var, ops_sym)                                             \
    static const char testmod_param_name_##var[] = #var;                        \
    static const struct testmod_kernel_param testmod_param_##var                \
        __attribute__((used, section("__param"), aligned(8))) = {               \
            testmod_param_name_##var, 0, ops_sym, 0644, -1, 0, &var}

/* module_param_array(var, int, &num, 0) */
#define TESTMOD_PARAM_ARRAY_INT(var, num)                                       \
    static const struct testmod_kparam_array testmod_arr_##var = {              \
        sizeof(var) / sizeof(var[0]), sizeof(var[0]), &num, param_ops_int, var}; \
    static const char testmod_param_name_##var[] = #var;                        \
    static const struct testmod_kernel_param testmod_param_##var                \
        __attribute__((used, section("__param"), aligned(8))) = {               \
            testmod_param_name_##var, 0, param_array_ops, 0644, -1, 0,          \
            (void *)&testmod_arr_##var}

#endif
