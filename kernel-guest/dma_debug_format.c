/*
 * kernel-guest/dma_debug_format.c: a DmaDbgReport as Linux's one-line text
 * and as a JSON object with the same fields (see dma_debug.h).  The texts
 * follow Linux 6.1 kernel/dma/debug.c; dma_debug.c says where and why
 * sluice differs.
 */
#include "kernel-guest/dma_debug.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#define DMA_DEBUG_TEXT_MAX 512


static const char *const dma_debug_error_names[DMA_DBG_ERROR_COUNT] = {
    [DMA_DBG_FREE_NOT_ALLOCATED] = "free-not-allocated",
    [DMA_DBG_FREE_INVALID_ADDR] = "free-invalid-addr",
    [DMA_DBG_FREE_WRONG_SIZE] = "free-wrong-size",
    [DMA_DBG_FREE_WRONG_TYPE] = "free-wrong-type",
    [DMA_DBG_FREE_WRONG_DIR] = "free-wrong-dir",
    [DMA_DBG_FREE_WRONG_CPU_ADDR] = "free-wrong-cpu-addr",
    [DMA_DBG_SG_WRONG_NENTS] = "sg-wrong-nents",
    [DMA_DBG_MAP_ERROR_UNCHECKED] = "map-error-unchecked",
    [DMA_DBG_MAP_STACK] = "map-stack",
    [DMA_DBG_SYNC_NOT_MAPPED] = "sync-not-mapped",
    [DMA_DBG_SYNC_OUTSIDE] = "sync-outside",
    [DMA_DBG_SYNC_WRONG_DIR] = "sync-wrong-dir",
    [DMA_DBG_LEAKED_AT_UNBIND] = "leaked-at-unbind",
    [DMA_DBG_DEVICE_AFTER_UNMAP] = "device-after-unmap",
    [DMA_DBG_DEVICE_WROTE_TO_DEVICE] = "device-wrote-to-device",
    [DMA_DBG_CPU_WROTE_DEVICE_OWNED] = "cpu-wrote-device-owned",
};

/* Linux's type2name (6.1 has no "page"; sluice keeps the function apart). */
static const char *dma_debug_type_name(unsigned t)
{
    static const char *const names[] = {
        [DMA_DBG_TYPE_SINGLE] = "single",
        [DMA_DBG_TYPE_PAGE] = "page",
        [DMA_DBG_TYPE_SG] = "scatter-gather",
        [DMA_DBG_TYPE_COHERENT] = "coherent",
    };
    return t < sizeof(names) / sizeof(names[0]) ? names[t] : "invalid";
}

/* Linux's dir2name. */
static const char *dma_debug_dir_name(unsigned dir)
{
    static const char *const names[] = {
        [DMA_DBG_BIDIRECTIONAL] = "DMA_BIDIRECTIONAL",
        [DMA_DBG_TO_DEVICE] = "DMA_TO_DEVICE",
        [DMA_DBG_FROM_DEVICE] = "DMA_FROM_DEVICE",
        [DMA_DBG_NONE] = "DMA_NONE",
    };
    return dir < sizeof(names) / sizeof(names[0]) ? names[dir] : "invalid";
}

const char *dma_debug_error_name(DmaDbgError e)
{
    return (unsigned)e < DMA_DBG_ERROR_COUNT ? dma_debug_error_names[e] : "invalid";
}

/* An snprintf-style sink: len counts what would have been written. */
typedef struct DmaDbgOut {
    char *buf;
    size_t cap;
    size_t len;
} DmaDbgOut;

__attribute__((format(printf, 2, 3)))
static void dma_debug_out(DmaDbgOut *o, const char *fmt, ...)
{
    char *dst = o->len < o->cap ? o->buf + o->len : NULL;
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0) {
        o->len += (size_t)n;
    }
}

/* The start most texts share: what happened, then the device address and
 * a size.  head carries its own separator (Linux leaves it out once). */
static void dma_debug_out_at(DmaDbgOut *o, const char *head, unsigned long long iova,
                             unsigned long long size)
{
    dma_debug_out(o, "%s[device address=0x%016llx] [size=%llu bytes]", head, iova, size);
}

static int dma_debug_text(const DmaDbgReport *r, DmaDbgOut *o)
{
    unsigned long long iova = r->iova, msize = r->map_size, osize = r->other_size;
    const char *mtype = dma_debug_type_name(r->map_type);
    const char *otype = dma_debug_type_name(r->other_type);
    const char *mdir = dma_debug_dir_name(r->map_dir);
    const char *odir = dma_debug_dir_name(r->other_dir);

    switch (r->error) {
    case DMA_DBG_FREE_NOT_ALLOCATED:
        dma_debug_out_at(o, "device driver tries to free DMA memory it has not allocated ",
                         iova, osize);
        return 0;
    case DMA_DBG_FREE_INVALID_ADDR:
        dma_debug_out(o, "device driver tries to free an invalid DMA memory address");
        return 0;
    case DMA_DBG_FREE_WRONG_SIZE:
        dma_debug_out(o, "device driver frees DMA memory with different size "
                      "[device address=0x%016llx] [map size=%llu bytes] "
                      "[unmap size=%llu bytes]", iova, msize, osize);
        return 0;
    case DMA_DBG_FREE_WRONG_TYPE:
        dma_debug_out_at(o, "device driver frees DMA memory with wrong function ", iova, osize);
        dma_debug_out(o, " [mapped as %s] [unmapped as %s]", mtype, otype);
        return 0;
    case DMA_DBG_FREE_WRONG_DIR:
        dma_debug_out_at(o, "device driver frees DMA memory with different direction ", iova,
                         osize);
        dma_debug_out(o, " [mapped with %s] [unmapped with %s]", mdir, odir);
        return 0;
    case DMA_DBG_FREE_WRONG_CPU_ADDR:
        dma_debug_out_at(o, "device driver frees DMA memory with different CPU address ", iova,
                         osize);
        dma_debug_out(o, " [cpu alloc address=0x%016llx] [cpu free address=0x%016llx]",
                      (unsigned long long)r->map_cpu_addr,
                      (unsigned long long)r->other_cpu_addr);
        return 0;
    case DMA_DBG_SG_WRONG_NENTS:
        dma_debug_out(o, "device driver frees DMA sg list with different entry count "
                      "[map count=%d] [unmap count=%d]", (int)r->map_nents,
                      (int)r->other_nents);
        return 0;
    case DMA_DBG_MAP_ERROR_UNCHECKED:
        /* (sic: Linux has no space before the first bracket) */
        dma_debug_out_at(o, "device driver failed to check map error", iova, osize);
        dma_debug_out(o, " [mapped as %s]", mtype);
        return 0;
    case DMA_DBG_MAP_STACK:
        dma_debug_out(o, "device driver maps memory from stack [addr=0x%016llx]",
                      (unsigned long long)r->addr);
        return 0;
    case DMA_DBG_SYNC_NOT_MAPPED:
        dma_debug_out_at(o, "device driver tries to sync DMA memory it has not allocated ",
                         iova, osize);
        return 0;
    case DMA_DBG_SYNC_OUTSIDE:
        dma_debug_out(o, "device driver syncs DMA memory outside allocated range "
                      "[device address=0x%016llx] [allocation size=%llu bytes] "
                      "[sync offset+size=%llu]", iova, msize, osize);
        return 0;
    case DMA_DBG_SYNC_WRONG_DIR:
        dma_debug_out_at(o, "device driver syncs DMA memory with different direction ", iova,
                         msize);
        dma_debug_out(o, " [mapped with %s] [synced with %s]", mdir, odir);
        return 0;
    case DMA_DBG_LEAKED_AT_UNBIND:
        dma_debug_out(o, "device driver has pending DMA allocations while released from "
                      "device [count=%d] One of leaked entries details: ", (int)r->count);
        dma_debug_out_at(o, "", iova, msize);
        dma_debug_out(o, " [mapped with %s] [mapped as %s]", mdir, mtype);
        return 0;
    case DMA_DBG_DEVICE_AFTER_UNMAP:
        dma_debug_out_at(o, "device accessed DMA memory after the driver unmapped it ", iova,
                         osize);
        dma_debug_out(o, " [was mapped with %s] [unmapped by 0x%016llx]", mdir,
                      (unsigned long long)r->site);
        return 0;
    case DMA_DBG_DEVICE_WROTE_TO_DEVICE:
        dma_debug_out_at(o, "device wrote DMA memory mapped DMA_TO_DEVICE ", iova, osize);
        return 0;
    case DMA_DBG_CPU_WROTE_DEVICE_OWNED:
        dma_debug_out(o, "CPU wrote a streaming DMA buffer the device owns "
                      "[device address=0x%016llx] [cpu address=0x%016llx] [size=%llu bytes]",
                      iova, (unsigned long long)r->addr, osize);
        return 0;
    default:
        return -EINVAL;
    }
}

int dma_debug_format(const DmaDbgReport *r, char *buf, size_t cap)
{
    DmaDbgOut o = {buf, cap, 0};
    int err;

    if (!r || (!buf && cap)) {
        return -EINVAL;
    }
    if (cap) {
        buf[0] = '\0';
    }
    err = dma_debug_text(r, &o);
    return err ? err : (int)o.len;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t dma_debug_utf8_len(const unsigned char *s)
{
    size_t need, i;
    uint32_t cp;

    if (s[0] < 0x80) {
        return 1;
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 1, cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 2, cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 3, cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;            /* also stops at the terminating NUL */
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;                /* overlong, surrogate or beyond Unicode */
    }
    return need + 1;
}

/* A JSON string; strings from the guest may hold anything, so bytes that
 * are not valid UTF-8 become U+FFFD. */
static void dma_debug_out_jstr(DmaDbgOut *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s) {
        dma_debug_out(o, "null");
        return;
    }
    dma_debug_out(o, "\"");
    while (*p) {
        size_t n = dma_debug_utf8_len(p);

        if (*p == '"' || *p == '\\') {
            dma_debug_out(o, "\\%c", *p);
        } else if (*p < 0x20 || *p == 0x7f) {
            dma_debug_out(o, "\\u%04x", *p);
        } else if (n == 0) {
            dma_debug_out(o, "\\ufffd");
        } else {
            dma_debug_out(o, "%.*s", (int)n, (const char *)p);
        }
        p += n ? n : 1;
    }
    dma_debug_out(o, "\"");
}

static void dma_debug_out_hex(DmaDbgOut *o, const char *key, uint64_t v)
{
    dma_debug_out(o, ",\"%s\":\"0x%016llx\"", key, (unsigned long long)v);
}

static void dma_debug_out_num(DmaDbgOut *o, const char *key, long long v)
{
    dma_debug_out(o, ",\"%s\":%lld", key, v);
}

static void dma_debug_out_name(DmaDbgOut *o, const char *key, const char *name)
{
    dma_debug_out(o, ",\"%s\":\"%s\"", key, name);
}

/* The mapping's facts: its size (under size_key), direction and type. */
static void dma_debug_json_mapping(const DmaDbgReport *r, DmaDbgOut *o, const char *size_key)
{
    dma_debug_out_num(o, size_key, (long long)r->map_size);
    dma_debug_out_name(o, "mapped_with", dma_debug_dir_name(r->map_dir));
    dma_debug_out_name(o, "mapped_as", dma_debug_type_name(r->map_type));
}

/* The bracketed facts of the text, under the names Linux prints. */
static void dma_debug_json_fields(const DmaDbgReport *r, DmaDbgOut *o)
{
    const char *mtype = dma_debug_type_name(r->map_type);
    const char *otype = dma_debug_type_name(r->other_type);
    const char *mdir = dma_debug_dir_name(r->map_dir);
    const char *odir = dma_debug_dir_name(r->other_dir);
    long long msize = (long long)r->map_size, osize = (long long)r->other_size;

    dma_debug_out_hex(o, "device_address", r->iova);
    switch (r->error) {
    case DMA_DBG_FREE_NOT_ALLOCATED:
    case DMA_DBG_FREE_INVALID_ADDR:
    case DMA_DBG_SYNC_NOT_MAPPED:
        dma_debug_out_num(o, "size", osize);
        break;
    case DMA_DBG_FREE_WRONG_SIZE:
        dma_debug_out_num(o, "map_size", msize);
        dma_debug_out_num(o, "unmap_size", osize);
        break;
    case DMA_DBG_FREE_WRONG_TYPE:
        dma_debug_out_num(o, "size", osize);
        dma_debug_out_name(o, "mapped_as", mtype);
        dma_debug_out_name(o, "unmapped_as", otype);
        break;
    case DMA_DBG_FREE_WRONG_DIR:
        dma_debug_out_num(o, "size", osize);
        dma_debug_out_name(o, "mapped_with", mdir);
        dma_debug_out_name(o, "unmapped_with", odir);
        break;
    case DMA_DBG_FREE_WRONG_CPU_ADDR:
        dma_debug_out_num(o, "size", osize);
        dma_debug_out_hex(o, "cpu_alloc_address", r->map_cpu_addr);
        dma_debug_out_hex(o, "cpu_free_address", r->other_cpu_addr);
        break;
    case DMA_DBG_SG_WRONG_NENTS:
        dma_debug_out_num(o, "map_count", r->map_nents);
        dma_debug_out_num(o, "unmap_count", r->other_nents);
        break;
    case DMA_DBG_MAP_ERROR_UNCHECKED:
        dma_debug_out_num(o, "size", osize);
        dma_debug_out_name(o, "mapped_as", mtype);
        break;
    case DMA_DBG_MAP_STACK:
        dma_debug_out_hex(o, "addr", r->addr);
        dma_debug_json_mapping(r, o, "size");
        break;
    case DMA_DBG_SYNC_OUTSIDE:
        dma_debug_out_num(o, "allocation_size", msize);
        dma_debug_out_num(o, "sync_offset_size", osize);
        break;
    case DMA_DBG_SYNC_WRONG_DIR:
        dma_debug_out_num(o, "size", msize);
        dma_debug_out_num(o, "sync_size", osize);
        dma_debug_out_name(o, "mapped_with", mdir);
        dma_debug_out_name(o, "synced_with", odir);
        break;
    case DMA_DBG_LEAKED_AT_UNBIND:
        dma_debug_out_num(o, "count", r->count);
        dma_debug_json_mapping(r, o, "size");
        break;
    case DMA_DBG_DEVICE_AFTER_UNMAP:
    case DMA_DBG_DEVICE_WROTE_TO_DEVICE:
        dma_debug_out_num(o, "size", osize);
        dma_debug_out_name(o, "access", r->other_dir == DMA_DBG_FROM_DEVICE ? "write" : "read");
        dma_debug_json_mapping(r, o, "map_size");
        if (r->error == DMA_DBG_DEVICE_AFTER_UNMAP) {
            dma_debug_out_hex(o, "unmapped_by", r->site);
        }
        break;
    case DMA_DBG_CPU_WROTE_DEVICE_OWNED:
        dma_debug_out_hex(o, "cpu_address", r->addr);
        dma_debug_out_num(o, "size", osize);
        dma_debug_json_mapping(r, o, "map_size");
        break;
    default:
        break;
    }
}

int dma_debug_format_json(const DmaDbgReport *r, const char *driver, const char *device,
                          char *buf, size_t cap)
{
    char text[DMA_DEBUG_TEXT_MAX];
    DmaDbgOut o = {buf, cap, 0};
    int err;

    if (!r || (!buf && cap)) {
        return -EINVAL;
    }
    if (cap) {
        buf[0] = '\0';
    }
    err = dma_debug_format(r, text, sizeof(text));
    if (err < 0) {
        return err;
    }
    dma_debug_out(&o, "{\"kind\":\"dma-api\",\"error\":\"%s\",\"driver\":",
                  dma_debug_error_name((DmaDbgError)r->error));
    dma_debug_out_jstr(&o, driver);
    dma_debug_out(&o, ",\"device\":");
    dma_debug_out_jstr(&o, device);
    dma_debug_out_num(&o, "rid", r->rid);
    dma_debug_json_fields(r, &o);
    if (r->site && r->error != DMA_DBG_DEVICE_AFTER_UNMAP) {
        dma_debug_out_hex(&o, "site", r->site);
    }
    if (r->map_site) {
        dma_debug_out_hex(&o, "map_site", r->map_site);
    }
    dma_debug_out(&o, ",\"time_ns\":%llu,\"message\":", (unsigned long long)r->time_ns);
    dma_debug_out_jstr(&o, text);
    dma_debug_out(&o, "}");
    return (int)o.len;
}
