/*
 * kernel-guest/kfmt_ptr.c: the %p extensions of Linux 6.1's vsprintf, with
 * every pointed-to object read from guest memory.
 *
 * A pointer that is NULL, in the first page or an ERR_PTR prints "(null)" /
 * "(efault)" as Linux's check_pointer() does; one that is unmapped prints
 * "(efault)" too (where Linux would oops).  Plain %p, %pK (kptr_restrict=0,
 * Debian's default) and %pe of a non-error pointer print the low 32 bits of
 * SipHash-2-4 of the pointer, zero-extended to 16 digits, as Linux does once
 * its random key is ready; here the key is fixed (the SipHash reference
 * key) so runs are deterministic.  NULL and ERR_PTR values print unhashed.
 *
 * Not modelled: %pB is looked up like %pS (no return-address adjustment),
 * and the extensions that walk kernel objects (%pR %pr %pb %pd %pD %pt %pC
 * %pg %pG %pO %pf %p4cc %pA %pIS) print "(%pX?)" instead of their text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kernel-guest/kfmt_ptr.h"

#define KFMT_PTR_KEY0 0x0706050403020100ull
#define KFMT_PTR_KEY1 0x0f0e0d0c0b0a0908ull
#define KFMT_PTR_HEX_MAX 64         /* %ph prints at most 64 bytes */
#define KFMT_PTR_SYM_MAX 600        /* Linux's KSYM_SYMBOL_LEN is about this */
#define KFMT_PTR_CHUNK 256
#define KFMT_PTR_MAX_ERRNO 4095u

/* lib/errname.c for x86: index is the errno; aliases (EWOULDBLOCK,
 * EDEADLOCK) print their primary name. */
static const char *const kfmt_ptr_errnames[] = {
    NULL,
    "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC",
    "EBADF", "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK",
    "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR", "EISDIR", "EINVAL",
    "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE",
    "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG",
    "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", NULL, "ENOMSG", "EIDRM",
    "ECHRNG", "EL2NSYNC", "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH", "ENOCSI",
    "EL2HLT", "EBADE", "EBADR", "EXFULL", "ENOANO", "EBADRQC", "EBADSLT",
    NULL, "EBFONT", "ENOSTR", "ENODATA", "ETIME", "ENOSR", "ENONET", "ENOPKG",
    "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO", "EMULTIHOP",
    "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG",
    "ELIBACC", "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ",
    "ERESTART", "ESTRPIPE", "EUSERS", "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE",
    "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT", "ESOCKTNOSUPPORT",
    "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE",
    "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED",
    "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN",
    "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH",
    "EALREADY", "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM", "ENAVAIL",
    "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED",
    "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED", "EOWNERDEAD",
    "ENOTRECOVERABLE", "ERFKILL", "EHWPOISON",
};

/* The kernel-internal errnos from 512 (include/linux/errno.h). */
static const char *const kfmt_ptr_errnames_512[] = {
    "ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD",
    "ERESTART_RESTARTBLOCK", "EPROBE_DEFER", "EOPENSTALE", "ENOPARAM", NULL,
    "EBADHANDLE", "ENOTSYNC", "EBADCOOKIE", "ENOTSUPP", "ETOOSMALL",
    "ESERVERFAULT", "EBADTYPE", "EJUKEBOX", "EIOCBQUEUED", "ERECALLCONFLICT",
};

static const char kfmt_ptr_hex[] = "0123456789abcdef";

static int kfmt_ptr_is_err(uint64_t ptr)
{
    return ptr > UINT64_MAX - KFMT_PTR_MAX_ERRNO;
}

static uint64_t kfmt_ptr_rol(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void kfmt_ptr_sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = kfmt_ptr_rol(v[1], 13) ^ v[0];
    v[0] = kfmt_ptr_rol(v[0], 32);
    v[2] += v[3];
    v[3] = kfmt_ptr_rol(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = kfmt_ptr_rol(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = kfmt_ptr_rol(v[1], 17) ^ v[2];
    v[2] = kfmt_ptr_rol(v[2], 32);
}

/* SipHash-2-4 of one 64-bit word, what Linux's siphash_1u64() computes. */
static uint64_t kfmt_ptr_siphash(uint64_t m)
{
    uint64_t v[4] = {
        0x736f6d6570736575ull ^ KFMT_PTR_KEY0, 0x646f72616e646f6dull ^ KFMT_PTR_KEY1,
        0x6c7967656e657261ull ^ KFMT_PTR_KEY0, 0x7465646279746573ull ^ KFMT_PTR_KEY1,
    };
    uint64_t b = 8ull << 56;  /* message length in the top byte */

    v[3] ^= m;
    kfmt_ptr_sipround(v);
    kfmt_ptr_sipround(v);
    v[0] ^= m;
    v[3] ^= b;
    kfmt_ptr_sipround(v);
    kfmt_ptr_sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++) {
        kfmt_ptr_sipround(v);
    }
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Linux's pointer_string(): 16 zero-padded digits unless a width is given. */
static void kfmt_ptr_put_raw(KfmtOut *o, uint64_t ptr, KfmtSpec spec)
{
    spec.base = 16;
    spec.flags |= KFMT_SMALL;
    if (spec.width == -1) {
        spec.width = 16;
        spec.flags |= KFMT_ZEROPAD;
    }
    kfmt_put_number(o, ptr, spec);
}

static void kfmt_ptr_put_hashed(KfmtOut *o, uint64_t ptr, KfmtSpec spec)
{
    if (ptr == 0 || kfmt_ptr_is_err(ptr)) {
        kfmt_ptr_put_raw(o, ptr, spec);   /* not addresses: nothing to hide */
        return;
    }
    kfmt_ptr_put_raw(o, kfmt_ptr_siphash(ptr) & 0xffffffffu, spec);
}

/* Linux's special_hex_number(): "0x" and 2*size digits, whatever the spec. */
static void kfmt_ptr_put_special_hex(KfmtOut *o, uint64_t num, int size)
{
    KfmtSpec spec = {
        .width = 2 + 2 * size, .prec = -1, .base = 16,
        .flags = KFMT_SPECIAL | KFMT_SMALL | KFMT_ZEROPAD,
    };

    kfmt_put_number(o, num, spec);
}

static char *kfmt_ptr_hex_byte(char *p, uint8_t b)
{
    *p++ = kfmt_ptr_hex[b >> 4];
    *p++ = kfmt_ptr_hex[b & 0xf];
    return p;
}

static void kfmt_ptr_put_symbol(KfmtOut *o, const char *ext, uint64_t ptr,
                                KfmtSpec spec, KfmtSource *src)
{
    char sym[KFMT_PTR_SYM_MAX];
    size_t n = 0;

    if (src->symbolize) {
        n = src->symbolize(src, ptr, ext[0] != 's', sym, sizeof(sym));
    }
    if (n == 0) {
        /* kallsyms' answer for an address it does not know */
        n = (size_t)snprintf(sym, sizeof(sym), "0x%" PRIx64, ptr);
    }
    kfmt_put_string(o, sym, n < sizeof(sym) ? n : sizeof(sym) - 1, spec);
}

static void kfmt_ptr_put_hex_bytes(KfmtOut *o, const char *ext, uint64_t ptr,
                                   KfmtSpec spec, KfmtSource *src)
{
    uint8_t bytes[KFMT_PTR_HEX_MAX];
    char sep = ext[1] == 'C' ? ':' : ext[1] == 'D' ? '-' : ext[1] == 'N' ? 0 : ' ';
    int len = 1;  /* no width: one byte, as Linux does */

    if (spec.width == 0) {
        return;
    }
    if (spec.width > 0) {
        len = spec.width < KFMT_PTR_HEX_MAX ? spec.width : KFMT_PTR_HEX_MAX;
    }
    if (kfmt_read_arg(o, src, ptr, bytes, (size_t)len, spec)) {
        return;
    }
    for (int i = 0; i < len; i++) {
        kfmt_put(o, kfmt_ptr_hex[bytes[i] >> 4]);
        kfmt_put(o, kfmt_ptr_hex[bytes[i] & 0xf]);
        if (sep && i != len - 1) {
            kfmt_put(o, sep);
        }
    }
}

static void kfmt_ptr_put_mac(KfmtOut *o, const char *ext, uint64_t ptr,
                             KfmtSpec spec, KfmtSource *src)
{
    uint8_t mac[6];
    char text[sizeof("xx:xx:xx:xx:xx:xx")];
    char *p = text;
    char sep = ext[1] == 'F' ? '-' : ':';
    int reversed = ext[1] == 'R';

    if (kfmt_read_arg(o, src, ptr, mac, sizeof(mac), spec)) {
        return;
    }
    for (int i = 0; i < 6; i++) {
        p = kfmt_ptr_hex_byte(p, mac[reversed ? 5 - i : i]);
        if (ext[0] == 'M' && i != 5) {
            *p++ = sep;
        }
    }
    *p = '\0';
    kfmt_put_string(o, text, sizeof(text), spec);
}

/* Dotted quad; 'i' pads each part to three digits; byte order from the
 * optional h/n/b/l after the '4' (x86 is little-endian, so 'h' is 'l'). */
static char *kfmt_ptr_ip4(char *p, const uint8_t *addr, char kind, char order)
{
    int reversed = order == 'h' || order == 'l';

    for (int i = 0; i < 4; i++) {
        unsigned v = addr[reversed ? 3 - i : i];

        if (kind == 'i' || v >= 100) {
            *p++ = (char)('0' + v / 100);
        }
        if (kind == 'i' || v >= 10) {
            *p++ = (char)('0' + v / 10 % 10);
        }
        *p++ = (char)('0' + v % 10);
        if (i < 3) {
            *p++ = '.';
        }
    }
    *p = '\0';
    return p;
}

/* RFC 5952-style text of Linux's ip6_compressed_string(): the first longest
 * run of two or more zero words becomes "::", IPv4-mapped and ISATAP
 * addresses end in a dotted quad. */
static void kfmt_ptr_ip6_compressed(char *p, const uint8_t *a)
{
    static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
    int use_v4 = memcmp(a, mapped, 12) == 0 ||
                 ((a[8] | 0x02) == 0x02 && a[9] == 0 && a[10] == 0x5e && a[11] == 0xfe);
    int range = use_v4 ? 6 : 8;
    int longest = 0, colonpos = -1, needcolon = 0;

    for (int i = 0; i < range; i++) {
        int run = 0;

        while (i + run < range && a[2 * (i + run)] == 0 && a[2 * (i + run) + 1] == 0) {
            run++;
        }
        if (run > longest) {
            longest = run;
            colonpos = i;
        }
    }
    if (longest < 2) {
        colonpos = -1;
    }
    for (int i = 0; i < range; i++) {
        unsigned word = (unsigned)a[2 * i] << 8 | a[2 * i + 1];

        if (i == colonpos) {
            if (needcolon || i == 0) {
                *p++ = ':';
            }
            *p++ = ':';
            needcolon = 0;
            i += longest - 1;
            continue;
        }
        if (needcolon) {
            *p++ = ':';
        }
        p += sprintf(p, "%x", word);
        needcolon = 1;
    }
    if (use_v4) {
        if (needcolon) {
            *p++ = ':';
        }
        p = kfmt_ptr_ip4(p, a + 12, 'I', 0);
    }
    *p = '\0';
}

static void kfmt_ptr_put_ip(KfmtOut *o, const char *ext, uint64_t ptr,
                            KfmtSpec spec, KfmtSource *src)
{
    uint8_t a[16];
    char text[sizeof("xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:255.255.255.255")];
    char *p = text;

    if (kfmt_check_pointer(o, ptr, spec)) {
        return;
    }
    if (ext[1] == '4') {
        if (kfmt_read_arg(o, src, ptr, a, 4, spec)) {
            return;
        }
        kfmt_ptr_ip4(text, a, ext[0], ext[2]);
    } else if (ext[1] == '6') {
        if (kfmt_read_arg(o, src, ptr, a, 16, spec)) {
            return;
        }
        if (ext[0] == 'I' && ext[2] == 'c') {
            kfmt_ptr_ip6_compressed(text, a);
        } else {
            for (int i = 0; i < 16; i++) {
                p = kfmt_ptr_hex_byte(p, a[i]);
                if (ext[0] == 'I' && (i & 1) && i != 15) {
                    *p++ = ':';
                }
            }
            *p = '\0';
        }
    } else {
        kfmt_put_error(o, ext[0] == 'i' ? "(%pi?)" : "(%pI?)", spec);
        return;
    }
    kfmt_put_string(o, text, sizeof(text), spec);
}

/* string_escape_mem() classes, as %pE's letters select them. */
#define KFMT_PTR_ESC_SPACE 0x01u
#define KFMT_PTR_ESC_SPECIAL 0x02u
#define KFMT_PTR_ESC_NULL 0x04u
#define KFMT_PTR_ESC_OCTAL 0x08u
#define KFMT_PTR_ESC_HEX 0x10u
#define KFMT_PTR_ESC_NP 0x20u
#define KFMT_PTR_ESC_ANY \
    (KFMT_PTR_ESC_SPACE | KFMT_PTR_ESC_SPECIAL | KFMT_PTR_ESC_NULL | KFMT_PTR_ESC_OCTAL)

/* The kernel's isprint(): its ctype table is Latin-1, so 0xa0-0xff print. */
static int kfmt_ptr_is_print(uint8_t c)
{
    return (c >= 0x20 && c < 0x7f) || c >= 0xa0;
}

/* The letter after the backslash for the space and special classes. */
static char kfmt_ptr_escape_letter(uint8_t c, unsigned flags)
{
    if (flags & KFMT_PTR_ESC_SPACE) {
        switch (c) {
        case '\n': return 'n';
        case '\r': return 'r';
        case '\t': return 't';
        case '\v': return 'v';
        case '\f': return 'f';
        }
    }
    if (flags & KFMT_PTR_ESC_SPECIAL) {
        switch (c) {
        case '\\': return '\\';
        case '\a': return 'a';
        case 0x1b: return 'e';
        case '"': return '"';
        }
    }
    return 0;
}

/* string_escape_mem()'s rules for one byte, in its order. */
static void kfmt_ptr_put_escaped_char(KfmtOut *o, uint8_t c, unsigned flags)
{
    char letter = kfmt_ptr_escape_letter(c, flags);

    if ((flags & KFMT_PTR_ESC_NP) && kfmt_ptr_is_print(c)) {
        kfmt_put(o, (char)c);
    } else if (letter) {
        kfmt_put(o, '\\');
        kfmt_put(o, letter);
    } else if ((flags & KFMT_PTR_ESC_NULL) && c == 0) {
        kfmt_put(o, '\\');
        kfmt_put(o, '0');
    } else if (flags & KFMT_PTR_ESC_OCTAL) {
        kfmt_put(o, '\\');
        kfmt_put(o, (char)('0' + (c >> 6)));
        kfmt_put(o, (char)('0' + ((c >> 3) & 7)));
        kfmt_put(o, (char)('0' + (c & 7)));
    } else if (flags & KFMT_PTR_ESC_HEX) {
        kfmt_put(o, '\\');
        kfmt_put(o, 'x');
        kfmt_put(o, kfmt_ptr_hex[c >> 4]);
        kfmt_put(o, kfmt_ptr_hex[c & 0xf]);
    } else {
        kfmt_put(o, (char)c);
    }
}

/* %pE: the width is the byte count (default 1), not a padding. */
static void kfmt_ptr_put_escaped(KfmtOut *o, const char *ext, uint64_t ptr,
                                 KfmtSpec spec, KfmtSource *src)
{
    static const char letters[] = "achnops";
    static const unsigned classes[] = {
        KFMT_PTR_ESC_ANY, KFMT_PTR_ESC_SPECIAL, KFMT_PTR_ESC_HEX, KFMT_PTR_ESC_NULL,
        KFMT_PTR_ESC_OCTAL, KFMT_PTR_ESC_NP, KFMT_PTR_ESC_SPACE,
    };
    unsigned flags = 0;
    size_t len = spec.width < 0 ? 1 : (size_t)spec.width;
    const char *hit;

    if (spec.width == 0 || kfmt_check_pointer(o, ptr, spec)) {
        return;
    }
    for (const char *f = ext + 1; *f && (hit = strchr(letters, *f)) != NULL; f++) {
        flags |= classes[hit - letters];
    }
    if (!flags) {
        flags = KFMT_PTR_ESC_ANY | KFMT_PTR_ESC_NP;
    }
    for (size_t done = 0; done < len;) {
        uint8_t chunk[KFMT_PTR_CHUNK];
        size_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);

        if (src->read_mem(src, ptr + done, chunk, n) != 0) {
            if (done == 0) {
                kfmt_put_error(o, "(efault)", spec);
            }
            return;
        }
        for (size_t i = 0; i < n; i++) {
            kfmt_ptr_put_escaped_char(o, chunk[i], flags);
        }
        done += n;
    }
}

static void kfmt_ptr_put_uuid(KfmtOut *o, const char *ext, uint64_t ptr,
                              KfmtSpec spec, KfmtSource *src)
{
    static const uint8_t guid_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
                                            8, 9, 10, 11, 12, 13, 14, 15 };
    uint8_t u[16];
    char text[sizeof("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")];
    char *p = text;
    int guid = ext[1] == 'l' || ext[1] == 'L';
    int upper = ext[1] == 'B' || ext[1] == 'L';

    if (kfmt_read_arg(o, src, ptr, u, sizeof(u), spec)) {
        return;
    }
    for (int i = 0; i < 16; i++) {
        p = kfmt_ptr_hex_byte(p, u[guid ? guid_order[i] : i]);
        if (i == 3 || i == 5 || i == 7 || i == 9) {
            *p++ = '-';
        }
    }
    *p = '\0';
    for (p = text; upper && *p; p++) {
        if (*p >= 'a' && *p <= 'f') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    kfmt_put_string(o, text, sizeof(text), spec);
}

/* %pa[p] (phys_addr_t *), %pad (dma_addr_t *), %pNF (netdev_features_t *):
 * all 64 bits on x86-64, all printed as "0x" and 16 digits. */
static void kfmt_ptr_put_u64_at(KfmtOut *o, uint64_t ptr, KfmtSpec spec,
                                KfmtSource *src)
{
    uint8_t raw[8];
    uint64_t v;

    if (kfmt_read_arg(o, src, ptr, raw, sizeof(raw), spec)) {
        return;
    }
    memcpy(&v, raw, sizeof(v));
    kfmt_ptr_put_special_hex(o, v, 8);
}

static void kfmt_ptr_put_err(KfmtOut *o, uint64_t ptr, KfmtSpec spec)
{
    int err = (int)(int64_t)ptr;
    unsigned e = (unsigned)(0 - (uint64_t)ptr);
    const char *name = NULL;
    char text[32];
    size_t n_0 = sizeof(kfmt_ptr_errnames) / sizeof(kfmt_ptr_errnames[0]);
    size_t n_512 = sizeof(kfmt_ptr_errnames_512) / sizeof(kfmt_ptr_errnames_512[0]);

    if (!kfmt_ptr_is_err(ptr)) {
        kfmt_ptr_put_hashed(o, ptr, spec);  /* %pe of a real pointer is %p */
        return;
    }
    if (e < n_0) {
        name = kfmt_ptr_errnames[e];
    } else if (e >= 512 && e - 512 < n_512) {
        name = kfmt_ptr_errnames_512[e - 512];
    }
    if (name) {
        snprintf(text, sizeof(text), "-%s", name);
        kfmt_put_string(o, text, sizeof(text), spec);
        return;
    }
    spec.flags |= KFMT_SIGN;
    spec.base = 10;
    kfmt_put_number(o, (uint64_t)(int64_t)err, spec);
}

/* %pV: struct va_format { const char *fmt; va_list *va; } in guest memory;
 * the nested output continues the outer one, ignoring width/precision. */
static void kfmt_ptr_put_va_format(KfmtOut *o, uint64_t ptr, KfmtSpec spec,
                                   KfmtSource *src)
{
    uint8_t raw[16];
    uint64_t fmt, va_gva;
    KfmtVaList va;

    if (kfmt_read_arg(o, src, ptr, raw, sizeof(raw), spec)) {
        return;
    }
    memcpy(&fmt, raw, 8);
    memcpy(&va_gva, raw + 8, 8);
    if (kfmt_check_pointer(o, va_gva, spec)) {
        return;
    }
    if (kfmt_va_list_init(&va, src, va_gva) != 0) {
        kfmt_put_error(o, "(efault)", spec);
        return;
    }
    kfmt_format_into(o, fmt, &va.src);
}

void kfmt_ptr_format(KfmtOut *o, const char *ext, uint64_t ptr,
                     KfmtSpec spec, KfmtSource *src)
{
    char unsupported[8];

    switch (ext[0]) {
    case 'S':
    case 's':
    case 'B':
        kfmt_ptr_put_symbol(o, ext, ptr, spec, src);
        return;
    case 'h':
        kfmt_ptr_put_hex_bytes(o, ext, ptr, spec, src);
        return;
    case 'M':
    case 'm':
        kfmt_ptr_put_mac(o, ext, ptr, spec, src);
        return;
    case 'I':
    case 'i':
        kfmt_ptr_put_ip(o, ext, ptr, spec, src);
        return;
    case 'E':
        kfmt_ptr_put_escaped(o, ext, ptr, spec, src);
        return;
    case 'U':
        kfmt_ptr_put_uuid(o, ext, ptr, spec, src);
        return;
    case 'V':
        kfmt_ptr_put_va_format(o, ptr, spec, src);
        return;
    case 'a':
        kfmt_ptr_put_u64_at(o, ptr, spec, src);
        return;
    case 'N':
        if (ext[1] == 'F') {
            kfmt_ptr_put_u64_at(o, ptr, spec, src);
        } else if (!kfmt_check_pointer(o, ptr, spec)) {
            kfmt_put_error(o, "(%pN?)", spec);
        }
        return;
    case 'x':
        kfmt_ptr_put_raw(o, ptr, spec);
        return;
    case 'e':
        kfmt_ptr_put_err(o, ptr, spec);
        return;
    case 'k':
    case 'u':
        if (ext[1] == 's') {
            kfmt_put_guest_string(o, src, ptr, spec);
        } else {
            kfmt_put_error(o, "(einval)", spec);
        }
        return;
    case 'R': case 'r': case 'b': case 'd': case 'D': case 't': case 'C':
    case 'g': case 'G': case 'O': case 'f': case '4': case 'A':
        snprintf(unsupported, sizeof(unsupported), "(%%p%c?)", ext[0]);
        kfmt_put_error(o, unsupported, spec);
        return;
    default:   /* %p, %pK and every unknown letter: the hashed value */
        kfmt_ptr_put_hashed(o, ptr, spec);
        return;
    }
}
