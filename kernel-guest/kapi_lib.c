/*
 * kernel-guest/kapi_lib.c: the string and library functions modules import
 * (lib/string.c, lib/crc32.c, lib/bitrev.c), on guest memory.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <string.h>

/* Host view of a guest range the driver passed; a bad range stops the
 * guest with a report (Linux would oops on it). */
static uint8_t *klib_range(Kernel *k, const char *fn, uint64_t va, uint64_t len)
{
    uint8_t *p = kmem_host(&k->mem, va, len ? len : 1);

    if (!p) {
        vcpu_raise(k->cpu, "%s on bad guest range 0x%llx+0x%llx", fn,
                   (unsigned long long)va, (unsigned long long)len);
    }
    return p;
}

static uint64_t kapi_memcpy(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint8_t *d, *s;

    if (c->arg[2] == 0) {
        return c->arg[0];
    }
    d = klib_range(k, "memcpy", c->arg[0], c->arg[2]);
    s = d ? klib_range(k, "memcpy", c->arg[1], c->arg[2]) : NULL;
    if (s) {
        memmove(d, s, c->arg[2]);
    }
    return c->arg[0];
}

static uint64_t kapi_memset(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint8_t *d = c->arg[2] ? klib_range(k, "memset", c->arg[0], c->arg[2]) : NULL;

    if (d) {
        memset(d, (int)c->arg[1], c->arg[2]);
    }
    return c->arg[0];
}

static uint64_t kapi_memcmp(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint8_t *a, *b;

    if (c->arg[2] == 0) {
        return 0;
    }
    a = klib_range(k, "memcmp", c->arg[0], c->arg[2]);
    b = a ? klib_range(k, "memcmp", c->arg[1], c->arg[2]) : NULL;
    return b ? (uint64_t)(int64_t)memcmp(a, b, c->arg[2]) : 0;
}

static uint64_t kapi_strnlen(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t n = 0;

    while (n < c->arg[1]) {
        uint8_t *p = klib_range(k, "strnlen", c->arg[0] + n, 1);

        if (!p || !*p) {
            break;
        }
        n++;
    }
    return n;
}

/* strscpy(dst, src, size): copies at most size-1 bytes, always
 * terminates, returns the length or -E2BIG if truncated. */
static uint64_t kapi_strscpy(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t size = c->arg[2], i;
    uint8_t *d, *s;

    if (size == 0) {
        return (uint64_t)-E2BIG;
    }
    for (i = 0; i < size; i++) {
        s = klib_range(k, "strscpy", c->arg[1] + i, 1);
        d = s ? klib_range(k, "strscpy", c->arg[0] + i, 1) : NULL;
        if (!d) {
            return (uint64_t)-EFAULT;
        }
        if (i == size - 1) {
            *d = 0;
            return *s ? (uint64_t)-E2BIG : i;
        }
        *d = *s;
        if (!*s) {
            return i;
        }
    }
    return i;
}

static uint64_t kapi_strncpy(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint8_t *d = c->arg[2] ? klib_range(k, "strncpy", c->arg[0], c->arg[2]) : NULL;
    int ended = 0;

    for (uint64_t i = 0; d && i < c->arg[2]; i++) {
        uint8_t *s = ended ? NULL : klib_range(k, "strncpy", c->arg[1] + i, 1);

        if (!ended && !s) {
            break;
        }
        d[i] = ended ? 0 : *s;
        ended = ended || !*s;
    }
    return c->arg[0];
}

static uint64_t kapi_strchr(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    for (uint64_t i = 0;; i++) {
        uint8_t *p = klib_range(k, "strchr", c->arg[0] + i, 1);

        if (!p) {
            return 0;
        }
        if (*p == (uint8_t)c->arg[1]) {
            return c->arg[0] + i;
        }
        if (!*p) {
            return 0;
        }
    }
}

/* crc32_le(crc, p, len): the reflected CRC-32 (polynomial 0xedb88320),
 * without the final inversion, as lib/crc32.c computes it. */
static uint64_t kapi_crc32_le(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint32_t crc = (uint32_t)c->arg[0];
    uint8_t *p = c->arg[2] ? klib_range(k, "crc32_le", c->arg[1], c->arg[2]) : NULL;

    for (uint64_t i = 0; p && i < c->arg[2]; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
        }
    }
    return crc;
}

/* _find_next_bit(addr, size, offset): the first set bit at or after
 * offset in a bitmap of size bits, or size (lib/find_bit.c). */
static uint64_t kapi_find_next_bit(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t size = c->arg[1];

    for (uint64_t i = c->arg[2]; i < size; i++) {
        uint8_t *b = klib_range(k, "_find_next_bit", c->arg[0] + i / 8, 1);

        if (!b) {
            return size;
        }
        if ((*b >> (i % 8)) & 1) {
            return i;
        }
    }
    return size;
}

/* _find_first_bit(addr, size) */
static uint64_t kapi_find_first_bit(void *opaque, VcpuCall *c)
{
    VcpuCall c2 = *c;

    c2.arg[2] = 0;
    return kapi_find_next_bit(opaque, &c2);
}

int kapi_lib_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"memcpy", kapi_memcpy}, {"memmove", kapi_memcpy}, {"memset", kapi_memset},
        {"memcmp", kapi_memcmp}, {"strnlen", kapi_strnlen}, {"strscpy", kapi_strscpy},
        {"strncpy", kapi_strncpy}, {"strchr", kapi_strchr}, {"crc32_le", kapi_crc32_le},
        {"_find_next_bit", kapi_find_next_bit}, {"_find_first_bit", kapi_find_first_bit},
    };
    uint64_t rev;
    uint8_t *t;

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    /* byte_rev_table[256]: each byte with its bits reversed. */
    rev = kapi_data(k, "byte_rev_table", 256, 64, e);
    t = rev ? kmem_host(&k->mem, rev, 256) : NULL;
    if (!t) {
        return -ENOMEM;
    }
    for (unsigned i = 0; i < 256; i++) {
        unsigned r = 0;

        for (int b = 0; b < 8; b++) {
            r |= ((i >> b) & 1u) << (7 - b);
        }
        t[i] = (uint8_t)r;
    }
    return 0;
}
