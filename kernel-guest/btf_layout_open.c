/*
 * kernel-guest/btf_layout_open.c: opening BTF for btf_layout.c -- find the
 * .BTF bytes in an ELF file (libelf) or take a raw blob, check the
 * container well enough to say in one line what is wrong with a bad file,
 * and hand the bytes to libbpf.
 */
#include "kernel-guest/btf_layout_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define BTF_LAYOUT_MAGIC 0xeB9F
#define BTF_LAYOUT_HDR_MIN 24          /* struct btf_header, version 1 */
#define BTF_LAYOUT_MAX_BLOB (1u << 30) /* libbpf takes a __u32 size */

static uint32_t btf_layout_u32(const uint8_t *p, bool swap)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

/* The header checks libbpf would also make, done first so the error says
 * "truncated" with the numbers instead of a bare -EINVAL. */
static int btf_layout_check_header(const char *path, const uint8_t *d, size_t n,
                                   SlError *e)
{
    bool swap;
    uint32_t hdr_len, type_off, type_len, str_off, str_len;
    uint64_t body;

    if (n < BTF_LAYOUT_HDR_MIN) {
        return sl_error(e, -EINVAL, "%s: .BTF: truncated: %zu bytes, expected at "
                        "least a %d-byte header", path, n, BTF_LAYOUT_HDR_MIN);
    }
    if (d[0] == 0x9f && d[1] == 0xeb) {
        swap = false;
    } else if (d[0] == 0xeb && d[1] == 0x9f) {
        swap = true;
    } else {
        return sl_error(e, -EINVAL, "%s: .BTF: bad magic [bytes=0x%02x%02x], "
                        "expected 0x%x", path, d[0], d[1], BTF_LAYOUT_MAGIC);
    }
    if (d[2] != 1) {
        return sl_error(e, -EINVAL, "%s: .BTF: unsupported version [version=%u], "
                        "expected 1", path, d[2]);
    }
    hdr_len = btf_layout_u32(d + 4, swap);
    type_off = btf_layout_u32(d + 8, swap);
    type_len = btf_layout_u32(d + 12, swap);
    str_off = btf_layout_u32(d + 16, swap);
    str_len = btf_layout_u32(d + 20, swap);
    if (hdr_len < BTF_LAYOUT_HDR_MIN || hdr_len > n) {
        return sl_error(e, -EINVAL, "%s: .BTF: truncated: header length 0x%x "
                        "does not fit in the 0x%zx-byte blob", path, hdr_len, n);
    }
    body = n - hdr_len;
    if ((uint64_t)type_off + type_len > body || (uint64_t)str_off + str_len > body) {
        return sl_error(e, -EINVAL, "%s: .BTF: truncated: header says types end at "
                        "0x%llx and strings at 0x%llx, blob body has 0x%llx bytes",
                        path, (unsigned long long)type_off + type_len,
                        (unsigned long long)str_off + str_len,
                        (unsigned long long)body);
    }
    return 0;
}

/* libbpf reports why it rejected BTF through a process-wide print hook, as
 * several lines on stderr.  While this file calls libbpf, the hook keeps the
 * first warning (else the first debug line) here instead, to end our
 * one-line error.  Transient host text, never machine state. */
static _Thread_local char btf_layout_libbpf_msg[160];
static _Thread_local bool btf_layout_libbpf_warned;

static int btf_layout_libbpf_print(enum libbpf_print_level level, const char *fmt,
                                   va_list ap)
{
    size_t n;

    if (!btf_layout_libbpf_warned &&
        (level == LIBBPF_WARN || btf_layout_libbpf_msg[0] == '\0')) {
        btf_layout_libbpf_warned = level == LIBBPF_WARN;
        vsnprintf(btf_layout_libbpf_msg, sizeof(btf_layout_libbpf_msg), fmt, ap);
        n = strcspn(btf_layout_libbpf_msg, "\n");
        btf_layout_libbpf_msg[n] = '\0';
    }
    return 0;
}

/* Hands a checked blob to libbpf and wraps the result.  Debian's libbpf 1.1
 * does not export btf__new_split, so split BTF is parsed again from the file
 * (a module's .BTF is small) once the checks here have passed. */
static int btf_layout_make(const char *path, bool is_elf, const void *d, size_t n,
                           BtfLayout *base, BtfLayout **out, SlError *e)
{
    libbpf_print_fn_t old_print;
    struct btf *btf;
    BtfLayout *l;
    int rc = btf_layout_check_header(path, d, n, e);

    if (rc) {
        return rc;
    }
    btf_layout_libbpf_msg[0] = '\0';
    btf_layout_libbpf_warned = false;
    old_print = libbpf_set_print(btf_layout_libbpf_print);
    errno = 0;
    if (!base) {
        btf = btf__new(d, (uint32_t)n);
    } else if (is_elf) {
        btf = btf__parse_elf_split(path, base->btf);
    } else {
        btf = btf__parse_raw_split(path, base->btf);
    }
    rc = errno ? -errno : -EINVAL;
    libbpf_set_print(old_print);
    if (!btf) {
        return sl_error(e, rc, "%s: .BTF: type data rejected by libbpf [err=%d]%s%s%s",
                        path, rc, base ? " (expected split BTF of the base kernel)" : "",
                        btf_layout_libbpf_msg[0] ? ": " : "", btf_layout_libbpf_msg);
    }
    l = calloc(1, sizeof(*l));
    if (!l) {
        btf__free(btf);
        return sl_error(e, -ENOMEM, "%s: .BTF: out of memory", path);
    }
    l->btf = btf;
    l->base = base;
    *out = l;
    return 0;
}

/* ELF file size checks: libelf maps the file and trusts its headers; a file
 * cut short must be reported, not read past. */
static int btf_layout_check_shdrs(const char *path, Elf *elf, uint64_t fsize,
                                  SlError *e)
{
    GElf_Ehdr eh;
    size_t shnum;

    if (!gelf_getehdr(elf, &eh)) {
        return sl_error(e, -EINVAL, "%s: .BTF: truncated or bad ELF header: %s",
                        path, elf_errmsg(-1));
    }
    if (eh.e_shoff == 0 || eh.e_shentsize == 0 ||
        eh.e_shoff + eh.e_shentsize > fsize) {
        return sl_error(e, -EINVAL, "%s: .BTF: truncated: section header table "
                        "[e_shoff=0x%llx] is past the end of the file [size=0x%llx]",
                        path, (unsigned long long)eh.e_shoff,
                        (unsigned long long)fsize);
    }
    if (elf_getshdrnum(elf, &shnum) != 0) {
        return sl_error(e, -EINVAL, "%s: .BTF: bad ELF section count: %s",
                        path, elf_errmsg(-1));
    }
    if (eh.e_shoff + (uint64_t)shnum * eh.e_shentsize > fsize) {
        return sl_error(e, -EINVAL, "%s: .BTF: truncated: %zu section headers at "
                        "0x%llx end past the end of the file [size=0x%llx]",
                        path, shnum, (unsigned long long)eh.e_shoff,
                        (unsigned long long)fsize);
    }
    return 0;
}

static int btf_layout_find_section(const char *path, Elf *elf, uint64_t fsize,
                                   Elf_Data **data, SlError *e)
{
    size_t shstrndx;
    Elf_Scn *scn = NULL;
    GElf_Shdr sh;
    const char *name;
    int rc = btf_layout_check_shdrs(path, elf, fsize, e);

    if (rc) {
        return rc;
    }
    if (elf_getshdrstrndx(elf, &shstrndx) != 0) {
        return sl_error(e, -EINVAL, "%s: .BTF: bad section name table: %s",
                        path, elf_errmsg(-1));
    }
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        if (!gelf_getshdr(scn, &sh)) {
            continue;
        }
        name = elf_strptr(elf, shstrndx, sh.sh_name);
        if (name && strcmp(name, ".BTF") == 0) {
            break;
        }
    }
    if (!scn) {
        return sl_error(e, -ENODATA, "%s: .BTF: no .BTF section, expected a kernel "
                        "or module built with CONFIG_DEBUG_INFO_BTF", path);
    }
    if (sh.sh_type == SHT_NOBITS || (sh.sh_flags & SHF_COMPRESSED)) {
        return sl_error(e, -EINVAL, "%s: .BTF: section has no plain contents "
                        "[sh_type=0x%x] [sh_flags=0x%llx]", path, sh.sh_type,
                        (unsigned long long)sh.sh_flags);
    }
    if (sh.sh_offset > fsize || sh.sh_size > fsize - sh.sh_offset) {
        return sl_error(e, -EINVAL, "%s: .BTF: truncated: section [offset=0x%llx] "
                        "[size=0x%llx] ends past the end of the file [size=0x%llx]",
                        path, (unsigned long long)sh.sh_offset,
                        (unsigned long long)sh.sh_size, (unsigned long long)fsize);
    }
    if (sh.sh_size > BTF_LAYOUT_MAX_BLOB) {
        return sl_error(e, -EINVAL, "%s: .BTF: section too large [size=0x%llx]",
                        path, (unsigned long long)sh.sh_size);
    }
    *data = elf_getdata(scn, NULL);
    if (!*data || (*data)->d_size != sh.sh_size) {
        return sl_error(e, -EINVAL, "%s: .BTF: cannot read section: %s",
                        path, elf_errmsg(-1));
    }
    return 0;
}

static int btf_layout_open_elf(const char *path, int fd, uint64_t fsize,
                               BtfLayout *base, BtfLayout **out, SlError *e)
{
    Elf *elf;
    Elf_Data *data = NULL;
    int rc;

    if (elf_version(EV_CURRENT) == EV_NONE) {
        return sl_error(e, -EINVAL, "%s: .BTF: libelf is unusable: %s",
                        path, elf_errmsg(-1));
    }
    elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf || elf_kind(elf) != ELF_K_ELF) {
        rc = sl_error(e, -EINVAL, "%s: .BTF: not a readable ELF file: %s",
                      path, elf_errmsg(-1));
    } else {
        rc = btf_layout_find_section(path, elf, fsize, &data, e);
        if (rc == 0) {
            rc = btf_layout_make(path, true, data->d_buf, data->d_size, base, out, e);
        }
    }
    elf_end(elf);
    return rc;
}

static int btf_layout_open_raw(const char *path, int fd, uint64_t fsize,
                               BtfLayout *base, BtfLayout **out, SlError *e)
{
    uint8_t *buf;
    size_t got = 0;
    ssize_t n;
    int rc;

    if (fsize > BTF_LAYOUT_MAX_BLOB) {
        return sl_error(e, -EINVAL, "%s: .BTF: raw blob too large [size=0x%llx]",
                        path, (unsigned long long)fsize);
    }
    buf = malloc(fsize ? fsize : 1);
    if (!buf) {
        return sl_error(e, -ENOMEM, "%s: .BTF: out of memory", path);
    }
    while (got < fsize && (n = pread(fd, buf + got, fsize - got, (off_t)got)) > 0) {
        got += (size_t)n;
    }
    if (got != fsize) {
        rc = sl_error(e, -EIO, "%s: .BTF: read error at 0x%zx: %s",
                      path, got, strerror(errno));
    } else {
        rc = btf_layout_make(path, false, buf, fsize, base, out, e);
    }
    free(buf);
    return rc;
}

/* Dispatches on the first bytes: ELF, raw BTF (either byte order), or an
 * error naming what was found. */
static int btf_layout_open_any(const char *path, BtfLayout *base, BtfLayout **out,
                               SlError *e)
{
    uint8_t magic[4] = {0};
    struct stat st;
    ssize_t n;
    int fd, rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return sl_error(e, -errno, "%s: .BTF: cannot open: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sl_error(e, -EINVAL, "%s: .BTF: expected a regular file", path);
    }
    n = pread(fd, magic, sizeof(magic), 0);
    if (n >= 4 && memcmp(magic, ELFMAG, SELFMAG) == 0) {
        rc = btf_layout_open_elf(path, fd, (uint64_t)st.st_size, base, out, e);
    } else if (n >= 2 && ((magic[0] == 0x9f && magic[1] == 0xeb) ||
                          (magic[0] == 0xeb && magic[1] == 0x9f))) {
        rc = btf_layout_open_raw(path, fd, (uint64_t)st.st_size, base, out, e);
    } else {
        rc = sl_error(e, -EINVAL, "%s: .BTF: bad magic [bytes=%02x %02x %02x %02x] "
                      "[size=%lld], expected an ELF file or raw BTF (magic 0x%x)",
                      path, magic[0], magic[1], magic[2], magic[3],
                      (long long)st.st_size, BTF_LAYOUT_MAGIC);
    }
    close(fd);
    return rc;
}

int btf_layout_open(const char *path, BtfLayout **out, SlError *e)
{
    return btf_layout_open_any(path, NULL, out, e);
}

int btf_layout_open_split(const char *ko_path, const BtfLayout *base,
                          BtfLayout **out, SlError *e)
{
    return btf_layout_open_any(ko_path, (BtfLayout *)base, out, e);
}
