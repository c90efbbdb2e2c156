/*
 * kernel-guest/kernel_access.c: the emulated kernel touching guest memory
 * and guest structs.  Struct fields are always named, and their offsets
 * come from BTF; a name sluice expects but the kernel's BTF lacks is a
 * sluice/kernel mismatch, reported as a guest stop rather than guessed.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <string.h>

long kernel_sizeof(Kernel *k, const char *type)
{
    long v = btf_layout_sizeof(k->btf, type);

    if (v < 0) {
        vcpu_raise(k->cpu, "kernel BTF has no type %s", type);
    }
    return v;
}

long kernel_offsetof(Kernel *k, const char *type, const char *path)
{
    long v = btf_layout_offsetof(k->btf, type, path);

    if (v < 0) {
        vcpu_raise(k->cpu, "kernel BTF has no field %s.%s", type, path);
    }
    return v;
}

int64_t kernel_enum(Kernel *k, const char *name)
{
    int64_t v = -1;

    if (btf_layout_enum_value(k->btf, name, &v) != 0) {
        vcpu_raise(k->cpu, "kernel BTF has no enumerator %s", name);
    }
    return v;
}

static void kernel_copy_in(Kernel *k, uint64_t va, void *buf, size_t len)
{
    const void *p = kmem_host_ro(&k->mem, va, len);

    if (p) {
        memcpy(buf, p, len);
    } else if (vcpu_read(k->cpu, va, buf, len) != 0) {
        memset(buf, 0, len);
        vcpu_raise(k->cpu, "kernel read of bad guest address 0x%llx (%zu bytes)",
                   (unsigned long long)va, len);
    }
}

static void kernel_copy_out(Kernel *k, uint64_t va, const void *buf, size_t len)
{
    void *p = kmem_host(&k->mem, va, len);

    if (p) {
        memcpy(p, buf, len);
    } else if (vcpu_write(k->cpu, va, buf, len) != 0) {
        vcpu_raise(k->cpu, "kernel write to bad guest address 0x%llx (%zu bytes)",
                   (unsigned long long)va, len);
    }
}

uint64_t kernel_read_u64(Kernel *k, uint64_t va)
{
    uint64_t v;

    kernel_copy_in(k, va, &v, 8);
    return v;
}

uint32_t kernel_read_u32(Kernel *k, uint64_t va)
{
    uint32_t v;

    kernel_copy_in(k, va, &v, 4);
    return v;
}

uint16_t kernel_read_u16(Kernel *k, uint64_t va)
{
    uint16_t v;

    kernel_copy_in(k, va, &v, 2);
    return v;
}

uint8_t kernel_read_u8(Kernel *k, uint64_t va)
{
    uint8_t v;

    kernel_copy_in(k, va, &v, 1);
    return v;
}

void kernel_write_u64(Kernel *k, uint64_t va, uint64_t v)
{
    kernel_copy_out(k, va, &v, 8);
}

void kernel_write_u32(Kernel *k, uint64_t va, uint32_t v)
{
    kernel_copy_out(k, va, &v, 4);
}

void kernel_write_u16(Kernel *k, uint64_t va, uint16_t v)
{
    kernel_copy_out(k, va, &v, 2);
}

void kernel_write_u8(Kernel *k, uint64_t va, uint8_t v)
{
    kernel_copy_out(k, va, &v, 1);
}

uint64_t kernel_field_read(Kernel *k, uint64_t va, const char *type, const char *path)
{
    BtfField f;
    uint64_t v = 0;

    if (btf_layout_field(k->btf, type, path, &f) != 0) {
        vcpu_raise(k->cpu, "kernel BTF has no field %s.%s", type, path);
        return 0;
    }
    kernel_copy_in(k, va + f.offset, &v, f.size > 8 ? 8 : f.size);
    if (f.bit_size) {
        v = (v >> f.bit_offset) & ((1ull << f.bit_size) - 1);
    }
    return v;
}

void kernel_field_write(Kernel *k, uint64_t va, const char *type, const char *path,
                        uint64_t v)
{
    BtfField f;
    uint64_t old = 0;
    unsigned size;

    if (btf_layout_field(k->btf, type, path, &f) != 0) {
        vcpu_raise(k->cpu, "kernel BTF has no field %s.%s", type, path);
        return;
    }
    size = f.size > 8 ? 8 : f.size;
    if (f.bit_size) {
        uint64_t mask = ((1ull << f.bit_size) - 1) << f.bit_offset;

        kernel_copy_in(k, va + f.offset, &old, size);
        v = (old & ~mask) | ((v << f.bit_offset) & mask);
    }
    kernel_copy_out(k, va + f.offset, &v, size);
}

int kernel_read_str(Kernel *k, uint64_t va, char *buf, size_t cap)
{
    size_t i;

    for (i = 0; i + 1 < cap; i++) {
        char c;
        const char *p = kmem_host_ro(&k->mem, va + i, 1);

        if (p) {
            c = *p;
        } else if (vcpu_read(k->cpu, va + i, &c, 1) != 0) {
            buf[i] = 0;
            return -EFAULT;
        }
        buf[i] = c;
        if (!c) {
            return 0;
        }
    }
    if (cap) {
        buf[i] = 0;
    }
    return 0;
}

uint64_t kernel_strdup(Kernel *k, const char *s)
{
    size_t n = strlen(s) + 1;
    uint64_t va = kmem_kmalloc(&k->mem, n, 8, false);

    if (va) {
        kernel_copy_out(k, va, s, n);
    }
    return va;
}
