/*
 * kernel-guest/kfmt_ptr.h: what kfmt.c (the format loop, numbers, strings)
 * and kfmt_ptr.c (the %p extensions) share.  Private to the formatter:
 * callers use kfmt.h.
 *
 * The output model is vsnprintf's: every character is counted, only those
 * that fit are stored, so the returned length is the untruncated one.
 */
#ifndef KERNEL_GUEST_KFMT_PTR_H
#define KERNEL_GUEST_KFMT_PTR_H

#include <stddef.h>
#include <stdint.h>

#include "kernel-guest/kfmt.h"

typedef struct KfmtOut {
    char *buf;
    size_t cap;
    size_t len;   /* characters produced so far, stored or not */
    int depth;    /* %pV nesting, bounded so a self-referencing guest
                     va_format cannot recurse forever */
} KfmtOut;

/* Flags of one conversion (Linux's printf_spec flags). */
#define KFMT_ZEROPAD 0x01u
#define KFMT_SIGN 0x02u
#define KFMT_PLUS 0x04u
#define KFMT_SPACE 0x08u
#define KFMT_LEFT 0x10u
#define KFMT_SMALL 0x20u    /* lower-case hex digits */
#define KFMT_SPECIAL 0x40u  /* '#': 0x prefix for hex, 0 for octal */

/* One parsed conversion; width and precision are -1 when not given. */
typedef struct KfmtSpec {
    int width;
    int prec;
    unsigned flags;
    unsigned base;
} KfmtSpec;

/* Appends one character (counted even when it does not fit). */
void kfmt_put(KfmtOut *o, char c);
/* Linux's number(): sign, 0x/0 prefix, precision and padding rules. */
void kfmt_put_number(KfmtOut *o, uint64_t num, KfmtSpec spec);
/* Linux's string_nocheck()+widen_string(): at most n bytes of s (stops at
 * NUL), cut to the precision, space-padded to the width. */
void kfmt_put_string(KfmtOut *o, const char *s, size_t n, KfmtSpec spec);
/* Linux's error_string(): like kfmt_put_string, precision defaults to 16. */
void kfmt_put_error(KfmtOut *o, const char *msg, KfmtSpec spec);
/* Linux's check_pointer(): prints "(null)" or "(efault)" and returns
 * nonzero for NULL, the first page and ERR_PTR values. */
int kfmt_check_pointer(KfmtOut *o, uint64_t gva, KfmtSpec spec);
/* Copies exactly len guest bytes for a %p extension; on a bad pointer or
 * an unmapped byte prints the error text and returns nonzero. */
int kfmt_read_arg(KfmtOut *o, KfmtSource *src, uint64_t gva, void *buf,
                  size_t len, KfmtSpec spec);
/* %s of a guest string (NUL-terminated, bounded). */
void kfmt_put_guest_string(KfmtOut *o, KfmtSource *src, uint64_t gva,
                           KfmtSpec spec);
/* Formats the guest format string at fmt_gva into o (used by %pV). */
void kfmt_format_into(KfmtOut *o, uint64_t fmt_gva, KfmtSource *src);

/* Renders one %p conversion: ext points just past the 'p' in the host copy
 * of the format string (the caller skips the alphanumerics after it). */
void kfmt_ptr_format(KfmtOut *o, const char *ext, uint64_t ptr,
                     KfmtSpec spec, KfmtSource *src);

#endif
