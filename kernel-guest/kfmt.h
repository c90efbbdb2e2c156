/*
 * kernel-guest/kfmt.h: Linux's printk format language, rendered on the host.
 *
 * The format string and every %s / %p argument live in guest memory; the
 * integer arguments come from wherever the caller's ABI put them (argument
 * registers, then the stack, or a guest va_list).  KfmtSource abstracts both
 * so one formatter serves printk, dev_*, netdev_*, snprintf and %pV.
 *
 * Covered: flags (-+ #0), width and precision (also '*'), length modifiers
 * hh h l ll L z t, conversions d i u x X o c s p %; like Linux, %n, %j and
 * any other unsupported conversion end the output at that point.
 * Pointer extensions %pM %pMR %pMF %pm %pI4 %pi4 %pI6 %pI6c %pi6 %pE %ph
 * %phC %phD %phN (with '*' length) %pS %ps %pB (symbolized by a callback)
 * %pK %px %pa %pad %pap %pe %pV %pU %pNF %pks; plain %p prints a hashed
 * value as Linux does after boot (the low 32 bits of a keyed SipHash,
 * as 16 hex digits), with a fixed key so runs are deterministic; NULL
 * prints "(null)" for %s and "0000000000000000" for %p.
 */
#ifndef KERNEL_GUEST_KFMT_H
#define KERNEL_GUEST_KFMT_H

#include <stddef.h>
#include <stdint.h>

typedef struct KfmtSource KfmtSource;
struct KfmtSource {
    /* Next integer-class argument (64 bits; the formatter truncates). */
    uint64_t (*next_arg)(KfmtSource *src);
    /* Copies len bytes of guest memory at gva; 0 on success, -1 if any
     * byte is unmapped.  The formatter prints "(efault)" then. */
    int (*read_mem)(KfmtSource *src, uint64_t gva, void *buf, size_t len);
    /* Optional: symbol name for an address ("rtl8139_init_one+0x1c/0x400
     * [8139too]" for %pS, without the offset for %ps).  Returns length
     * written, or 0 if unknown (the formatter prints the hex address). */
    size_t (*symbolize)(KfmtSource *src, uint64_t addr, int with_offset,
                        char *buf, size_t cap);
    /* The caller's own state; copied into the KfmtSource that
     * kfmt_va_list_init() makes for %pV. */
    void *opaque;
};

/*
 * Formats guest format string fmt_gva into out (always NUL-terminated when
 * cap > 0).  Returns the length the full output would have had, like
 * vsnprintf.  Guest memory errors never fail the call; they show in the text.
 */
size_t kfmt_format(char *out, size_t cap, uint64_t fmt_gva, KfmtSource *src);

/*
 * A KfmtSource over a guest va_list (System V x86-64: struct { u32 gp_offset;
 * u32 fp_offset; void *overflow_arg_area; void *reg_save_area; }) at
 * va_list_gva.  read_mem/symbolize/opaque are taken from parent.  The
 * va_list in guest memory is not modified.
 */
typedef struct KfmtVaList {
    KfmtSource src;
    KfmtSource *parent;
    uint32_t gp_offset;
    uint64_t overflow_arg_area, reg_save_area;
} KfmtVaList;

int kfmt_va_list_init(KfmtVaList *va, KfmtSource *parent, uint64_t va_list_gva);

/* The printk level of a message: "\001" + '0'..'7' or 'c' prefixes are
 * stripped from text in place; returns the level ('0'..'7'), 'c' for
 * KERN_CONT, or 0 for none. */
int kfmt_strip_level(char *text);

#endif
