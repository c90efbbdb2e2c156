/*
 * images/kimage.h: the cache of real Debian kernel images.
 *
 * Layout of the cache (default ~/.cache/sluice, or $SLUICE_CACHE):
 *   <cache>/kernels/<abi>/pkg.deb            linux-image-<abi>-amd64-unsigned
 *   <cache>/kernels/<abi>/root/              dpkg -x of it
 *   <cache>/kernels/<abi>/vmlinux            decompressed from vmlinuz
 *   <cache>/kernels/<abi>/modules.index      "name<TAB>relative path" per .ko
 *   <cache>/kernels/<abi>/version            the package version
 *   <cache>/kernels/<abi>/complete           written last: the entry is whole
 *   <cache>/current                          abi of the newest fetch
 *
 * The ABI is "6.1.0-56" style (what uname -r shows, less "-amd64").
 */
#ifndef IMAGES_KIMAGE_H
#define IMAGES_KIMAGE_H

#include <stddef.h>

#include "base/error.h"

typedef struct KImage {
    char cache[4096];        /* cache root */
    char dir[4096];          /* <cache>/kernels/<abi> */
    char abi[64];
    char vmlinux[4096];      /* path to vmlinux (ELF, has .BTF, __ksymtab) */
} KImage;

/* The cache root: $SLUICE_CACHE, else $HOME/.cache/sluice. */
int kimage_cache_root(char *buf, size_t cap, SlError *e);

/* Runs the fetch script: downloads and unpacks abi (NULL: newest available
 * 6.1 ABI), idempotently.  Progress goes to stderr unless quiet. */
int kimage_fetch(const char *abi, int quiet, SlError *e);

/* Opens a complete cache entry: abi NULL means the one named by <cache>/current. */
int kimage_open(const char *abi, KImage *img, SlError *e);

/* Path of module NAME ("8139too", "ne2k_pci" == "ne2k-pci") in the image. */
int kimage_module_path(const KImage *img, const char *name, char *buf, size_t cap,
                       SlError *e);

#endif
