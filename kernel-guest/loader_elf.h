/*
 * kernel-guest/loader_elf.h: a .ko read into memory and opened with libelf,
 * with every section checked to lie inside the file.  Loader-internal.
 */
#ifndef KERNEL_GUEST_LOADER_ELF_H
#define KERNEL_GUEST_LOADER_ELF_H

#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct KoElf {
    const char *path;
    uint8_t *data;
    size_t size;
    Elf *elf;
    size_t nsec, shstrndx;
} KoElf;

int ko_elf_open(const char *path, KoElf *f, SlError *e);
void ko_elf_close(KoElf *f);
const char *ko_elf_section_name(const KoElf *f, size_t i);
int ko_elf_shdr(const KoElf *f, size_t i, GElf_Shdr *sh);
/* File bytes of section i (NULL for SHT_NOBITS). */
const uint8_t *ko_elf_section_bytes(const KoElf *f, size_t i);
int ko_elf_find_section(const KoElf *f, const char *name);

#endif
