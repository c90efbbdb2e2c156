/*
 * kernel-guest/loader_elf.c: opening a .ko with libelf and checking it is
 * whole before anything is trusted: header, section table, every section's
 * bytes inside the file.  Errors name the file, the section and what was
 * expected.
 */
#include "kernel-guest/loader_elf.h"

#include "kernel-guest/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int ko_read_file(const char *path, KoElf *f, SlError *e)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    size_t done = 0;

    if (fd < 0) {
        return sl_error(e, -errno, "%s: cannot open: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sl_error(e, -EINVAL, "%s: not a regular file", path);
    }
    f->size = (size_t)st.st_size;
    f->data = malloc(f->size ? f->size : 1);
    if (!f->data) {
        close(fd);
        return sl_error(e, -ENOMEM, "%s: out of memory reading the file", path);
    }
    while (done < f->size) {
        ssize_t n = read(fd, f->data + done, f->size - done);

        if (n <= 0) {
            close(fd);
            return sl_error(e, -EIO, "%s: read error", path);
        }
        done += (size_t)n;
    }
    close(fd);
    return 0;
}

int ko_elf_open(const char *path, KoElf *f, SlError *e)
{
    GElf_Ehdr eh;
    int err;

    memset(f, 0, sizeof(*f));
    f->path = path;
    err = ko_read_file(path, f, e);
    if (err) {
        return err;
    }
    if (elf_version(EV_CURRENT) == EV_NONE) {
        return sl_error(e, -EIO, "libelf: version mismatch");
    }
    if (f->size < EI_NIDENT || memcmp(f->data, ELFMAG, SELFMAG) != 0) {
        return sl_error(e, -ENOEXEC, "%s: ELF header: bad magic, expected a .ko (ELF) file", path);
    }
    f->elf = elf_memory((char *)f->data, f->size);
    if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &eh)) {
        return sl_error(e, -ENOEXEC, "%s: ELF header: %s", path,
                        f->elf ? elf_errmsg(-1) : "unreadable");
    }
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 || eh.e_type != ET_REL) {
        return sl_error(e, -ENOEXEC,
                        "%s: ELF header: expected a relocatable x86-64 ELF64 object (a .ko) "
                        "[class=%u] [machine=%u] [type=%u]",
                        path, eh.e_ident[EI_CLASS], eh.e_machine, eh.e_type);
    }
    if (eh.e_shoff > f->size) {
        return sl_error(e, -ENOEXEC, "%s: ELF header: section table at 0x%llx lies past the end of the file (size 0x%zx; truncated?)",
                        path, (unsigned long long)eh.e_shoff, f->size);
    }
    if (eh.e_shnum && eh.e_shentsize &&
        (f->size - eh.e_shoff) / eh.e_shentsize < eh.e_shnum) {
        return sl_error(e, -ENOEXEC, "%s: ELF header: section table of %u entries at 0x%llx runs past the end of the file (size 0x%zx; truncated?)",
                        path, eh.e_shnum, (unsigned long long)eh.e_shoff, f->size);
    }
    if (elf_getshdrnum(f->elf, &f->nsec) != 0 || elf_getshdrstrndx(f->elf, &f->shstrndx) != 0) {
        return sl_error(e, -ENOEXEC, "%s: section table: %s (truncated?)", path, elf_errmsg(-1));
    }
    if (f->shstrndx >= f->nsec) {
        return sl_error(e, -ENOEXEC, "%s: ELF header: section-name table index %zu out of range (%zu sections)",
                        path, f->shstrndx, f->nsec);
    }
    for (size_t i = 0; i < f->nsec; i++) {
        GElf_Shdr sh;
        Elf_Scn *scn = elf_getscn(f->elf, i);

        if (!scn || !gelf_getshdr(scn, &sh)) {
            return sl_error(e, -ENOEXEC, "%s: section %zu: unreadable header (truncated?)", path, i);
        }
        if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL &&
            (sh.sh_offset > f->size || sh.sh_size > f->size - sh.sh_offset)) {
            return sl_error(e, -ENOEXEC,
                            "%s: section %zu (%s): bytes 0x%llx+0x%llx lie past the end of the file (size 0x%zx; truncated?)",
                            path, i, ko_elf_section_name(f, i),
                            (unsigned long long)sh.sh_offset, (unsigned long long)sh.sh_size, f->size);
        }
        if (sh.sh_addralign > 4096) {
            return sl_error(e, -ENOEXEC, "%s: section %zu (%s): alignment %llu, expected at most 4096",
                            path, i, ko_elf_section_name(f, i), (unsigned long long)sh.sh_addralign);
        }
    }
    return 0;
}

void ko_elf_close(KoElf *f)
{
    if (f->elf) {
        elf_end(f->elf);
    }
    free(f->data);
    memset(f, 0, sizeof(*f));
}

const char *ko_elf_section_name(const KoElf *f, size_t i)
{
    GElf_Shdr sh;
    Elf_Scn *scn = elf_getscn(f->elf, i);
    const char *n;

    if (!scn || !gelf_getshdr(scn, &sh)) {
        return "?";
    }
    n = elf_strptr(f->elf, f->shstrndx, sh.sh_name);
    return n ? n : "?";
}

int ko_elf_shdr(const KoElf *f, size_t i, GElf_Shdr *sh)
{
    Elf_Scn *scn = elf_getscn(f->elf, i);

    return scn && gelf_getshdr(scn, sh) ? 0 : -1;
}

const uint8_t *ko_elf_section_bytes(const KoElf *f, size_t i)
{
    GElf_Shdr sh;

    if (ko_elf_shdr(f, i, &sh) != 0 || sh.sh_type == SHT_NOBITS) {
        return NULL;
    }
    return f->data + sh.sh_offset;
}

int ko_elf_find_section(const KoElf *f, const char *name)
{
    for (size_t i = 1; i < f->nsec; i++) {
        if (strcmp(ko_elf_section_name(f, i), name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int ko_modinfo(const char *path, const char *key, char *buf, size_t cap, SlError *e)
{
    KoElf f;
    GElf_Shdr sh;
    size_t klen = strlen(key);
    int idx, err = ko_elf_open(path, &f, e);

    if (err) {
        ko_elf_close(&f);
        return err;
    }
    idx = ko_elf_find_section(&f, ".modinfo");
    err = -ENOENT;
    if (idx > 0 && ko_elf_shdr(&f, (size_t)idx, &sh) == 0) {
        const char *p = (const char *)ko_elf_section_bytes(&f, (size_t)idx);
        const char *end = p + sh.sh_size;

        while (p && p < end) {
            size_t n = strnlen(p, (size_t)(end - p));

            if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
                snprintf(buf, cap, "%.*s", (int)(n - klen - 1), p + klen + 1);
                err = 0;
                break;
            }
            p += n + 1;
        }
    }
    ko_elf_close(&f);
    if (err) {
        buf[0] = 0;
        sl_error(e, err, "%s: .modinfo: no %s= entry", path, key);
    }
    return err;
}
