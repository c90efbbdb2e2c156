/*
 * kernel-guest/kfmt.c: the printk/vsnprintf format loop of Linux 6.1
 * (lib/vsprintf.c semantics), numbers, strings, guest va_lists and level
 * prefixes.  The %p extensions are in kfmt_ptr.c.
 *
 * Linux behaviours kept on purpose, since drivers' logs must read exactly as
 * on a real kernel:
 *  - an unsupported conversion (also %n, %j, a lone trailing '%') ends the
 *    output there: the arguments after it can no longer be matched;
 *  - '0' is not cancelled by a precision ("%08.3d" of 5 is "00000005") and
 *    "%#x" of 0 is "0x0"; "%.d" (no digits) means no precision;
 *  - "%s" of NULL is "(null)", of the first page or an ERR_PTR "(efault)".
 * Not modelled: strings longer than KFMT_STR_MAX bytes are cut there, and
 * a format string longer than KFMT_FMT_MAX is read only that far (printk's
 * own line limit is 1024).
 */
#include "kernel-guest/kfmt.h"

#include <string.h>

#include "kernel-guest/kfmt_ptr.h"

#define KFMT_FMT_MAX 4096
#define KFMT_STR_MAX 4096
#define KFMT_CHUNK 256              /* guest reads never cross this alignment */
#define KFMT_WIDTH_MAX ((1 << 23) - 1)  /* Linux's FIELD_WIDTH_MAX */
#define KFMT_PREC_MAX ((1 << 15) - 1)   /* Linux's PRECISION_MAX */
#define KFMT_DEPTH_MAX 8            /* real drivers nest %pV twice at most */
#define KFMT_PAGE_SIZE 4096u
#define KFMT_MAX_ERRNO 4095u
#define KFMT_SOH '\001'

void kfmt_put(KfmtOut *o, char c)
{
    if (o->len < o->cap) {
        o->buf[o->len] = c;
    }
    o->len++;
}

static void kfmt_put_repeat(KfmtOut *o, char c, int n)
{
    while (n-- > 0) {
        kfmt_put(o, c);
    }
}

void kfmt_put_number(KfmtOut *o, uint64_t num, KfmtSpec spec)
{
    static const char digits[] = "0123456789ABCDEF";
    char tmp[24];
    char sign = 0;
    int need_pfx = (spec.flags & KFMT_SPECIAL) && spec.base != 10;
    int is_zero = num == 0;
    int width = spec.width;
    int prec = spec.prec;
    char locase = (spec.flags & KFMT_SMALL) ? 0x20 : 0;
    int i = 0;

    if (spec.flags & KFMT_LEFT) {
        spec.flags &= ~KFMT_ZEROPAD;
    }
    if (spec.flags & KFMT_SIGN) {
        if ((int64_t)num < 0) {
            sign = '-';
            num = 0 - num;
            width--;
        } else if (spec.flags & KFMT_PLUS) {
            sign = '+';
            width--;
        } else if (spec.flags & KFMT_SPACE) {
            sign = ' ';
            width--;
        }
    }
    if (need_pfx) {
        width -= spec.base == 16 ? 2 : !is_zero;
    }
    do {
        tmp[i++] = digits[num % spec.base] | locase;
        num /= spec.base;
    } while (num != 0);

    /* the digits always win over the precision: "%.0d" of 0 is "0" */
    if (i > prec) {
        prec = i;
    }
    width -= prec;
    if (!(spec.flags & (KFMT_ZEROPAD | KFMT_LEFT))) {
        kfmt_put_repeat(o, ' ', width);
        width = 0;
    }
    if (sign) {
        kfmt_put(o, sign);
    }
    if (need_pfx) {
        if (spec.base == 16 || !is_zero) {
            kfmt_put(o, '0');
        }
        if (spec.base == 16) {
            kfmt_put(o, 'X' | locase);
        }
    }
    if (!(spec.flags & KFMT_LEFT)) {
        kfmt_put_repeat(o, (spec.flags & KFMT_ZEROPAD) ? '0' : ' ', width);
        width = 0;
    }
    kfmt_put_repeat(o, '0', prec - i);
    while (--i >= 0) {
        kfmt_put(o, tmp[i]);
    }
    kfmt_put_repeat(o, ' ', width);
}

void kfmt_put_string(KfmtOut *o, const char *s, size_t n, KfmtSpec spec)
{
    size_t len = strnlen(s, n);

    if (spec.prec >= 0 && len > (size_t)spec.prec) {
        len = (size_t)spec.prec;
    }
    if (!(spec.flags & KFMT_LEFT) && spec.width > (int)len) {
        kfmt_put_repeat(o, ' ', spec.width - (int)len);
    }
    for (size_t i = 0; i < len; i++) {
        kfmt_put(o, s[i]);
    }
    if ((spec.flags & KFMT_LEFT) && spec.width > (int)len) {
        kfmt_put_repeat(o, ' ', spec.width - (int)len);
    }
}

void kfmt_put_error(KfmtOut *o, const char *msg, KfmtSpec spec)
{
    if (spec.prec == -1) {
        spec.prec = 2 * (int)sizeof(uint64_t);
    }
    kfmt_put_string(o, msg, strlen(msg), spec);
}

int kfmt_check_pointer(KfmtOut *o, uint64_t gva, KfmtSpec spec)
{
    if (gva == 0) {
        kfmt_put_error(o, "(null)", spec);
        return 1;
    }
    if (gva < KFMT_PAGE_SIZE || gva > UINT64_MAX - KFMT_MAX_ERRNO) {
        kfmt_put_error(o, "(efault)", spec);
        return 1;
    }
    return 0;
}

int kfmt_read_arg(KfmtOut *o, KfmtSource *src, uint64_t gva, void *buf,
                  size_t len, KfmtSpec spec)
{
    if (kfmt_check_pointer(o, gva, spec)) {
        return 1;
    }
    if (src->read_mem(src, gva, buf, len) != 0) {
        kfmt_put_error(o, "(efault)", spec);
        return 1;
    }
    return 0;
}

/*
 * Reads a NUL-terminated guest string of at most max bytes into buf (not
 * terminated).  Returns its length, the length of the readable prefix if
 * it runs into unmapped memory, or -1 if its first byte is unmapped.
 */
static long kfmt_read_string(KfmtSource *src, uint64_t gva, char *buf,
                             size_t max)
{
    size_t n = 0;

    while (n < max) {
        size_t chunk = KFMT_CHUNK - (size_t)((gva + n) % KFMT_CHUNK);
        const char *nul;

        if (chunk > max - n) {
            chunk = max - n;
        }
        if (src->read_mem(src, gva + n, buf + n, chunk) != 0) {
            size_t k = 0;
            int faulted = 0;

            /* the readable prefix of this chunk, byte by byte */
            while (k < chunk) {
                if (src->read_mem(src, gva + n + k, buf + n + k, 1) != 0) {
                    faulted = 1;
                    break;
                }
                if (buf[n + k] == '\0') {
                    break;
                }
                k++;
            }
            return faulted && n + k == 0 ? -1 : (long)(n + k);
        }
        nul = memchr(buf + n, '\0', chunk);
        if (nul) {
            return nul - buf;
        }
        n += chunk;
    }
    return (long)n;
}

void kfmt_put_guest_string(KfmtOut *o, KfmtSource *src, uint64_t gva,
                           KfmtSpec spec)
{
    char buf[KFMT_STR_MAX];
    size_t max = sizeof(buf);
    long n;

    if (kfmt_check_pointer(o, gva, spec)) {
        return;
    }
    if (spec.prec >= 0 && (size_t)spec.prec < max) {
        max = (size_t)spec.prec;
    }
    n = kfmt_read_string(src, gva, buf, max);
    if (n < 0) {
        kfmt_put_error(o, "(efault)", spec);
        return;
    }
    kfmt_put_string(o, buf, (size_t)n, spec);
}

static int kfmt_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int kfmt_is_alnum(char c)
{
    return kfmt_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Linux's skip_atoi(), saturating instead of overflowing. */
static int kfmt_parse_int(const char **p, int max)
{
    int v = 0;

    while (kfmt_is_digit(**p)) {
        v = v > (max - 9) / 10 ? max : v * 10 + (*(*p)++ - '0');
        if (v == max) {
            while (kfmt_is_digit(**p)) {
                (*p)++;
            }
        }
    }
    return v;
}

static int kfmt_clamp(int64_t v, int64_t lo, int64_t hi)
{
    return (int)(v < lo ? lo : v > hi ? hi : v);
}

/* Flags, width, precision and length modifier; returns the modifier
 * ('H' for hh, 'L' for ll, else the letter or 0).  *p ends on the
 * conversion character. */
static int kfmt_parse_spec(const char **p, KfmtSpec *spec, KfmtSource *src)
{
    const char *f = *p;
    int qual = 0;

    for (;; f++) {
        if (*f == '-') {
            spec->flags |= KFMT_LEFT;
        } else if (*f == '+') {
            spec->flags |= KFMT_PLUS;
        } else if (*f == ' ') {
            spec->flags |= KFMT_SPACE;
        } else if (*f == '#') {
            spec->flags |= KFMT_SPECIAL;
        } else if (*f == '0') {
            spec->flags |= KFMT_ZEROPAD;
        } else {
            break;
        }
    }
    if (kfmt_is_digit(*f)) {
        spec->width = kfmt_parse_int(&f, KFMT_WIDTH_MAX);
    } else if (*f == '*') {
        int w = kfmt_clamp((int32_t)src->next_arg(src), -KFMT_WIDTH_MAX,
                           KFMT_WIDTH_MAX);

        f++;
        if (w < 0) {
            spec->flags |= KFMT_LEFT;
            w = -w;
        }
        spec->width = w;
    }
    if (*f == '.') {
        f++;
        if (kfmt_is_digit(*f)) {
            spec->prec = kfmt_parse_int(&f, KFMT_PREC_MAX);
        } else if (*f == '*') {
            f++;
            spec->prec = kfmt_clamp((int32_t)src->next_arg(src), 0,
                                    KFMT_PREC_MAX);
        }
    }
    if (*f == 'h' || *f == 'l' || *f == 'L' || *f == 'z' || *f == 't') {
        qual = *f++;
        if (qual == 'l' && *f == 'l') {
            qual = 'L';
            f++;
        } else if (qual == 'h' && *f == 'h') {
            qual = 'H';
            f++;
        }
    }
    *p = f;
    return qual;
}

/* An integer argument narrowed to what the length modifier says it was. */
static uint64_t kfmt_narrow(uint64_t v, int qual, int is_signed)
{
    switch (qual) {
    case 'H':
        return is_signed ? (uint64_t)(int64_t)(int8_t)v : (uint8_t)v;
    case 'h':
        return is_signed ? (uint64_t)(int64_t)(int16_t)v : (uint16_t)v;
    case 'l':
    case 'L':
    case 'z':
    case 't':
        return v;
    default:
        return is_signed ? (uint64_t)(int64_t)(int32_t)v : (uint32_t)v;
    }
}

static void kfmt_put_char(KfmtOut *o, char c, KfmtSpec spec)
{
    int pad = spec.width > 1 ? spec.width - 1 : 0;

    if (!(spec.flags & KFMT_LEFT)) {
        kfmt_put_repeat(o, ' ', pad);
        pad = 0;
    }
    kfmt_put(o, c);
    kfmt_put_repeat(o, ' ', pad);
}

/* One conversion at *p (just past the '%'); returns 0 if the output must
 * stop there, as Linux does on an unsupported conversion. */
static int kfmt_convert(KfmtOut *o, const char **p, KfmtSource *src)
{
    KfmtSpec spec = { .width = -1, .prec = -1, .flags = 0, .base = 10 };
    int qual = kfmt_parse_spec(p, &spec, src);
    char conv = **p;

    switch (conv) {
    case 'c':
        (*p)++;
        kfmt_put_char(o, (char)src->next_arg(src), spec);
        return 1;
    case 's':
        (*p)++;
        kfmt_put_guest_string(o, src, src->next_arg(src), spec);
        return 1;
    case 'p': {
        uint64_t ptr = src->next_arg(src);

        (*p)++;
        kfmt_ptr_format(o, *p, ptr, spec, src);
        while (kfmt_is_alnum(**p)) {
            (*p)++;
        }
        return 1;
    }
    case '%':
        (*p)++;
        kfmt_put(o, '%');
        return 1;
    case 'o':
        spec.base = 8;
        break;
    case 'x':
        spec.flags |= KFMT_SMALL;
        spec.base = 16;
        break;
    case 'X':
        spec.base = 16;
        break;
    case 'd':
    case 'i':
        spec.flags |= KFMT_SIGN;
        break;
    case 'u':
        break;
    default:
        return 0;
    }
    (*p)++;
    kfmt_put_number(o, kfmt_narrow(src->next_arg(src), qual,
                                   (spec.flags & KFMT_SIGN) != 0), spec);
    return 1;
}

void kfmt_format_into(KfmtOut *o, uint64_t fmt_gva, KfmtSource *src)
{
    static const KfmtSpec plain = { .width = -1, .prec = -1, .base = 10 };
    char fmt[KFMT_FMT_MAX];
    const char *p = fmt;
    long n;

    if (o->depth >= KFMT_DEPTH_MAX || kfmt_check_pointer(o, fmt_gva, plain)) {
        return;
    }
    n = kfmt_read_string(src, fmt_gva, fmt, sizeof(fmt) - 1);
    if (n < 0) {
        kfmt_put_error(o, "(efault)", plain);
        return;
    }
    fmt[n] = '\0';
    o->depth++;
    while (*p) {
        if (*p != '%') {
            kfmt_put(o, *p++);
            continue;
        }
        p++;
        if (!kfmt_convert(o, &p, src)) {
            break;
        }
    }
    o->depth--;
}

size_t kfmt_format(char *out, size_t cap, uint64_t fmt_gva, KfmtSource *src)
{
    KfmtOut o = { .buf = out, .cap = cap, .len = 0, .depth = 0 };

    kfmt_format_into(&o, fmt_gva, src);
    if (cap > 0) {
        out[o.len < cap ? o.len : cap - 1] = '\0';
    }
    return o.len;
}

static uint64_t kfmt_va_next_arg(KfmtSource *s)
{
    KfmtVaList *va = (KfmtVaList *)s;
    uint64_t at, v = 0;

    /* System V x86-64: six argument registers (48 bytes) in the register
     * save area, then 8-byte stack slots; -mno-sse kernels have no FP. */
    if (va->gp_offset < 48) {
        at = va->reg_save_area + va->gp_offset;
        va->gp_offset += 8;
    } else {
        at = va->overflow_arg_area;
        va->overflow_arg_area += 8;
    }
    if (va->parent->read_mem(va->parent, at, &v, sizeof(v)) != 0) {
        v = 0;
    }
    return v;
}

/* The parent's callbacks may find their state from the KfmtSource pointer
 * they get, so they are always called with the parent's. */
static int kfmt_va_read_mem(KfmtSource *s, uint64_t gva, void *buf, size_t len)
{
    KfmtSource *parent = ((KfmtVaList *)s)->parent;

    return parent->read_mem(parent, gva, buf, len);
}

static size_t kfmt_va_symbolize(KfmtSource *s, uint64_t addr, int with_offset,
                                char *buf, size_t cap)
{
    KfmtSource *parent = ((KfmtVaList *)s)->parent;

    return parent->symbolize(parent, addr, with_offset, buf, cap);
}

int kfmt_va_list_init(KfmtVaList *va, KfmtSource *parent, uint64_t va_list_gva)
{
    uint8_t raw[24];

    memset(va, 0, sizeof(*va));
    va->parent = parent;
    va->src.next_arg = kfmt_va_next_arg;
    va->src.read_mem = kfmt_va_read_mem;
    va->src.symbolize = parent->symbolize ? kfmt_va_symbolize : NULL;
    va->src.opaque = parent->opaque;
    if (parent->read_mem(parent, va_list_gva, raw, sizeof(raw)) != 0) {
        return -1;
    }
    memcpy(&va->gp_offset, raw, 4);
    memcpy(&va->overflow_arg_area, raw + 8, 8);
    memcpy(&va->reg_save_area, raw + 16, 8);
    return 0;
}

int kfmt_strip_level(char *text)
{
    size_t skip = 0;
    int level = 0, cont = 0;

    /* Like vprintk_store(): every prefix goes, the first numeric one wins. */
    while (text[skip] == KFMT_SOH) {
        char c = text[skip + 1];

        if (c >= '0' && c <= '7') {
            if (!level) {
                level = c;
            }
        } else if (c == 'c') {
            cont = 1;
        } else {
            break;
        }
        skip += 2;
    }
    if (skip) {
        memmove(text, text + skip, strlen(text + skip) + 1);
    }
    return level ? level : cont ? 'c' : 0;
}
