/* devices/pcap.c: see pcap.h. */
#include "devices/pcap.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "devices/net_port.h"

#define PCAP_MAGIC_PCAPNG 0x0a0d0d0au    /* a pcapng section header block */
#define PCAP_NS_PER_US 1000u
#define PCAP_NS_PER_S 1000000000ull

/* --- writer ----------------------------------------------------------------- */

struct PcapWriter {
    FILE *fp;
    char *path;                      /* what the user named */
    char *tmp;                       /* PATH.tmp.PID until close renames it */
    uint64_t count;
    int err;                         /* first failure, 0 if none */
    SlError err_msg;
};

static void pcap_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void pcap_put_le32(uint8_t *p, uint32_t v)
{
    pcap_put_le16(p, (uint16_t)v);
    pcap_put_le16(p + 2, (uint16_t)(v >> 16));
}

/* Records the first failure of w (later ones are consequences) and returns
 * its code, with e filled like the sticky message. */
static int pcap_writer_fail(PcapWriter *w, int code, const char *what, SlError *e)
{
    if (!w->err) {
        w->err = code;
        sl_error(&w->err_msg, code, "%s: %s %s (%s)", w->path, what, w->tmp,
                 strerror(-code));
    }
    if (e) {
        *e = w->err_msg;
    }
    return w->err;
}

static int pcap_writer_put(PcapWriter *w, const void *buf, size_t len, SlError *e)
{
    errno = 0;
    if (len && fwrite(buf, 1, len, w->fp) != len) {
        return pcap_writer_fail(w, errno ? -errno : -EIO, "cannot write", e);
    }
    return 0;
}

static void pcap_writer_free(PcapWriter *w)
{
    free(w->path);
    free(w->tmp);
    free(w);
}

int pcap_writer_open(const char *path, PcapWriter **out, SlError *e)
{
    PcapWriter *w = calloc(1, sizeof(*w));
    uint8_t hdr[PCAP_FILE_HEADER_LEN];
    size_t n;
    int fd, err;

    *out = NULL;
    if (!w) {
        return sl_error(e, -ENOMEM, "%s: out of memory opening the pcap writer", path);
    }
    n = strlen(path) + 32;
    w->path = strdup(path);
    w->tmp = malloc(n);
    if (!w->path || !w->tmp) {
        pcap_writer_free(w);
        return sl_error(e, -ENOMEM, "%s: out of memory opening the pcap writer", path);
    }
    snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || !(w->fp = fdopen(fd, "wb"))) {
        int code = -errno;

        if (fd >= 0) {
            close(fd);
            unlink(w->tmp);
        }
        sl_error(e, code, "%s: cannot create %s (%s)", path, w->tmp, strerror(-code));
        pcap_writer_free(w);
        return code;
    }
    pcap_put_le32(hdr + 0, PCAP_MAGIC_USEC);
    pcap_put_le16(hdr + 4, PCAP_VERSION_MAJOR);
    pcap_put_le16(hdr + 6, PCAP_VERSION_MINOR);
    pcap_put_le32(hdr + 8, 0);                  /* thiszone: timestamps are UTC */
    pcap_put_le32(hdr + 12, 0);                 /* sigfigs: always 0 in practice */
    pcap_put_le32(hdr + 16, PCAP_SNAPLEN);
    pcap_put_le32(hdr + 20, PCAP_LINKTYPE_ETHERNET);
    err = pcap_writer_put(w, hdr, sizeof(hdr), e);
    if (err) {
        pcap_writer_discard(w);
        return err;
    }
    *out = w;
    return 0;
}

int pcap_writer_write(PcapWriter *w, uint64_t time_ns, const uint8_t *frame,
                      size_t len, SlError *e)
{
    uint8_t rec[PCAP_RECORD_HEADER_LEN];
    uint64_t sec = time_ns / PCAP_NS_PER_S;
    uint32_t incl = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : (uint32_t)len;
    int err;

    if (w->err) {
        if (e) {
            *e = w->err_msg;
        }
        return w->err;
    }
    if (sec > UINT32_MAX || len > UINT32_MAX) {
        /* Year 2106 of virtual time, or a 4 GiB frame: a caller bug, but a
         * wrapped field in the file would be worse. */
        w->err = sl_error(&w->err_msg, -ERANGE, "%s: record %llu: time_ns %llu or "
                          "length %zu does not fit the 32-bit fields", w->path,
                          (unsigned long long)w->count, (unsigned long long)time_ns, len);
        return pcap_writer_fail(w, w->err, "", e);
    }
    pcap_put_le32(rec + 0, (uint32_t)sec);
    pcap_put_le32(rec + 4, (uint32_t)(time_ns % PCAP_NS_PER_S / PCAP_NS_PER_US));
    pcap_put_le32(rec + 8, incl);
    pcap_put_le32(rec + 12, (uint32_t)len);
    err = pcap_writer_put(w, rec, sizeof(rec), e);
    if (!err) {
        err = pcap_writer_put(w, frame, incl, e);
    }
    if (!err) {
        w->count++;
    }
    return err;
}

uint64_t pcap_writer_count(const PcapWriter *w)
{
    return w->count;
}

int pcap_writer_close(PcapWriter *w, SlError *e)
{
    int err = w->err;

    if (!err && fflush(w->fp) != 0) {
        err = pcap_writer_fail(w, errno ? -errno : -EIO, "cannot write", NULL);
    }
    /* fsync before rename: after a crash PATH is the old file or the whole
     * new one, never a name for blocks that did not reach the disk. */
    if (!err && fsync(fileno(w->fp)) != 0) {
        err = pcap_writer_fail(w, -errno, "cannot sync", NULL);
    }
    if (fclose(w->fp) != 0 && !err) {
        err = pcap_writer_fail(w, errno ? -errno : -EIO, "cannot close", NULL);
    }
    w->fp = NULL;
    if (!err && rename(w->tmp, w->path) != 0) {
        err = pcap_writer_fail(w, -errno, "cannot rename", NULL);
    }
    if (err) {
        unlink(w->tmp);
        if (e) {
            *e = w->err_msg;
        }
    }
    pcap_writer_free(w);
    return err;
}

void pcap_writer_discard(PcapWriter *w)
{
    if (!w) {
        return;
    }
    if (w->fp) {
        fclose(w->fp);
    }
    unlink(w->tmp);
    pcap_writer_free(w);
}

int pcap_write_generated(const char *path, const NetFramesGen *g, uint64_t n,
                         uint64_t t0_ns, uint64_t step_ns, SlError *e)
{
    uint8_t frame[NET_PORT_MAX_FRAME];
    PcapWriter *w;
    int err = pcap_writer_open(path, &w, e);

    for (uint64_t i = 0; !err && i < n; i++) {
        size_t len = net_frames_gen_frame(g, i, frame, sizeof(frame));

        err = pcap_writer_write(w, t0_ns + i * step_ns, frame, len, e);
    }
    if (err) {
        pcap_writer_discard(w);
        return err;
    }
    return pcap_writer_close(w, e);
}

/* --- reader ------------------------------------------------------------------ */

typedef struct PcapIndex {
    uint64_t time_ns;
    uint32_t len, orig_len;
    size_t off;                      /* of the frame bytes in buf */
} PcapIndex;

struct PcapFile {
    uint8_t *buf;
    size_t size;
    bool big_endian, nanosecond;
    uint32_t snaplen;
    PcapIndex *recs;
    size_t count, cap;
};

/* Reads a 32-bit field in the file's byte order. */
static uint32_t pcap_get32(const PcapFile *f, size_t off)
{
    const uint8_t *p = f->buf + off;

    if (f->big_endian) {
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t pcap_get16(const PcapFile *f, size_t off)
{
    const uint8_t *p = f->buf + off;

    return f->big_endian ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

/* The file header: magic (which fixes byte order and resolution), version,
 * snaplen, link type.  Reports at offset 0 of name. */
static int pcap_file_check_header(PcapFile *f, const char *name, SlError *e)
{
    uint32_t magic, major, minor, linktype;

    if (f->size >= 4) {
        magic = (uint32_t)f->buf[0] | (uint32_t)f->buf[1] << 8 |
                (uint32_t)f->buf[2] << 16 | (uint32_t)f->buf[3] << 24;
        if (magic == PCAP_MAGIC_USEC || magic == PCAP_MAGIC_NSEC) {
            f->big_endian = false;
        } else if (__builtin_bswap32(magic) == PCAP_MAGIC_USEC ||
                   __builtin_bswap32(magic) == PCAP_MAGIC_NSEC) {
            f->big_endian = true;
            magic = __builtin_bswap32(magic);
        } else {
            return sl_error(e, -EINVAL, "%s: offset 0x0: magic bytes 0x%08x are %s (expected "
                            "0xa1b2c3d4 or 0xa1b23c4d, either byte order)", name,
                            __builtin_bswap32(magic),
                            magic == PCAP_MAGIC_PCAPNG ? "pcapng, not classic pcap"
                                                       : "not a pcap file");
        }
        f->nanosecond = magic == PCAP_MAGIC_NSEC;
    }
    if (f->size < PCAP_FILE_HEADER_LEN) {
        return sl_error(e, -EINVAL, "%s: offset 0x0: file header truncated at %zu bytes "
                        "(expected %u)", name, f->size, PCAP_FILE_HEADER_LEN);
    }
    major = pcap_get16(f, 4);
    minor = pcap_get16(f, 6);
    if (major != PCAP_VERSION_MAJOR || minor > PCAP_VERSION_MINOR) {
        return sl_error(e, -EINVAL, "%s: offset 0x4: version %u.%u (expected 2.4 or an "
                        "older 2.x)", name, major, minor);
    }
    f->snaplen = pcap_get32(f, 16);
    if (f->snaplen == 0 || f->snaplen > PCAP_SNAPLEN_MAX) {
        return sl_error(e, -EINVAL, "%s: offset 0x10: snaplen %u (expected 1..%u)",
                        name, f->snaplen, PCAP_SNAPLEN_MAX);
    }
    linktype = pcap_get32(f, 20);
    if (linktype != PCAP_LINKTYPE_ETHERNET) {
        return sl_error(e, -EINVAL, "%s: offset 0x14: link type 0x%x is not supported "
                        "(expected 1, LINKTYPE_ETHERNET, without FCS)", name, linktype);
    }
    return 0;
}

/* One record header at off; on success appends it and sets *next. */
static int pcap_file_check_record(PcapFile *f, const char *name, size_t off,
                                  size_t *next, SlError *e)
{
    size_t left = f->size - off;
    uint32_t sec, frac, incl, orig;
    uint32_t frac_max = f->nanosecond ? 1000000000u : 1000000u;

    if (left < PCAP_RECORD_HEADER_LEN) {
        return sl_error(e, -EINVAL, "%s: record %zu at offset 0x%zx: record header "
                        "truncated at %zu bytes (expected %u)", name, f->count, off,
                        left, PCAP_RECORD_HEADER_LEN);
    }
    sec = pcap_get32(f, off);
    frac = pcap_get32(f, off + 4);
    incl = pcap_get32(f, off + 8);
    orig = pcap_get32(f, off + 12);
    if (frac >= frac_max) {
        return sl_error(e, -EINVAL, "%s: record %zu at offset 0x%zx: %s %u (expected "
                        "< %u)", name, f->count, off,
                        f->nanosecond ? "ts_nsec" : "ts_usec", frac, frac_max);
    }
    if (incl > PCAP_RECORD_MAX) {
        return sl_error(e, -EINVAL, "%s: record %zu at offset 0x%zx: incl_len %u "
                        "(expected <= %u)", name, f->count, off, incl, PCAP_RECORD_MAX);
    }
    if (incl > orig) {
        return sl_error(e, -EINVAL, "%s: record %zu at offset 0x%zx: incl_len %u > "
                        "orig_len %u (expected incl_len <= orig_len)", name, f->count,
                        off, incl, orig);
    }
    if (incl > left - PCAP_RECORD_HEADER_LEN) {
        return sl_error(e, -EINVAL, "%s: record %zu at offset 0x%zx: incl_len %u runs "
                        "past the end of the file (expected <= %zu)", name, f->count,
                        off, incl, left - PCAP_RECORD_HEADER_LEN);
    }
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        PcapIndex *r = realloc(f->recs, cap * sizeof(*r));

        if (!r) {
            return sl_error(e, -ENOMEM, "%s: record %zu at offset 0x%zx: out of memory",
                            name, f->count, off);
        }
        f->recs = r;
        f->cap = cap;
    }
    f->recs[f->count++] = (PcapIndex){
        .time_ns = sec * PCAP_NS_PER_S + (f->nanosecond ? frac : (uint64_t)frac * PCAP_NS_PER_US),
        .len = incl,
        .orig_len = orig,
        .off = off + PCAP_RECORD_HEADER_LEN,
    };
    *next = off + PCAP_RECORD_HEADER_LEN + incl;
    return 0;
}

/* Takes ownership of buf (malloc'd, size bytes). */
static int pcap_file_take(const char *name, uint8_t *buf, size_t size,
                          PcapFile **out, SlError *e)
{
    PcapFile *f = calloc(1, sizeof(*f));
    size_t off = PCAP_FILE_HEADER_LEN;
    int err;

    *out = NULL;
    if (!f) {
        free(buf);
        return sl_error(e, -ENOMEM, "%s: out of memory", name);
    }
    f->buf = buf;
    f->size = size;
    err = pcap_file_check_header(f, name, e);
    while (!err && off < size) {
        err = pcap_file_check_record(f, name, off, &off, e);
    }
    if (err) {
        pcap_file_free(f);
        return err;
    }
    *out = f;
    return 0;
}

int pcap_file_parse(const char *name, const uint8_t *buf, size_t len,
                    PcapFile **out, SlError *e)
{
    uint8_t *copy = malloc(len ? len : 1);

    *out = NULL;
    if (!copy) {
        return sl_error(e, -ENOMEM, "%s: out of memory", name);
    }
    if (len) {
        memcpy(copy, buf, len);
    }
    return pcap_file_take(name, copy, len, out, e);
}

int pcap_file_load(const char *path, PcapFile **out, SlError *e)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int code;

    *out = NULL;
    if (fd < 0) {
        code = -errno;
        return sl_error(e, code, "%s: cannot open (%s)", path, strerror(-code));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sl_error(e, -EINVAL, "%s: not a regular file (expected a pcap file)", path);
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        close(fd);
        return sl_error(e, -ENOMEM, "%s: out of memory for %lld bytes", path,
                        (long long)st.st_size);
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            code = r < 0 ? -errno : -EIO;
            close(fd);
            free(buf);
            return sl_error(e, code, "%s: offset 0x%zx: cannot read (%s)", path, got,
                            r < 0 ? strerror(-code) : "file shrank while reading");
        }
        got += (size_t)r;
    }
    close(fd);
    return pcap_file_take(path, buf, got, out, e);
}

void pcap_file_free(PcapFile *f)
{
    if (f) {
        free(f->buf);
        free(f->recs);
        free(f);
    }
}

size_t pcap_file_count(const PcapFile *f)
{
    return f->count;
}

void pcap_file_record(const PcapFile *f, size_t i, PcapRecord *out)
{
    const PcapIndex *r;

    assert(i < f->count && "pcap_file_record: index below pcap_file_count()");
    r = &f->recs[i];
    out->time_ns = r->time_ns;
    out->len = r->len;
    out->orig_len = r->orig_len;
    out->data = f->buf + r->off;
}

bool pcap_file_is_nanosecond(const PcapFile *f)
{
    return f->nanosecond;
}

bool pcap_file_is_big_endian(const PcapFile *f)
{
    return f->big_endian;
}

uint32_t pcap_file_snaplen(const PcapFile *f)
{
    return f->snaplen;
}
