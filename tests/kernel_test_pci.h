/*
 * tests/kernel_test_pci.h: the host side the kernel's DMA tests share
 * (test_kernel_banks.c, test_kernel_dma_api.c): a kernel with no machine
 * whose config-space hook emulates one PCI function -- 1234:d3a0, class
 * 0x020000, at devfn 0x10 ("0000:00:02.0"), no BARs, no interrupt, only
 * its command register writable -- so the PCI core creates a pci_dev and
 * probes a test module against it, behind the software IOMMU; and the
 * kernel's log lines, kept as "<level> <line>".  Header-only.
 */
#ifndef TESTS_KERNEL_TEST_PCI_H
#define TESTS_KERNEL_TEST_PCI_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "iommu/iommu.h"
#include "kernel-guest/kernel_internal.h"

#define KERNEL_TEST_DEVFN 0x10
#define KERNEL_TEST_DEVICE "0000:00:02.0"
#define KERNEL_TEST_LOG_LINES 128   /* lines kept; later ones are dropped */

/* What the host hooks see and keep (the hooks' opaque). */
typedef struct KernelTestHost {
    uint16_t command;            /* the fake function's command register */
    char log[KERNEL_TEST_LOG_LINES][512];
    unsigned nlog;
} KernelTestHost;

static inline void kernel_test_log(void *opaque, int level, const char *line)
{
    KernelTestHost *h = opaque;

    if (h->nlog < KERNEL_TEST_LOG_LINES) {
        snprintf(h->log[h->nlog++], sizeof(h->log[0]), "%c %s", level, line);
    }
}

static inline uint32_t kernel_test_cfg_read(void *opaque, unsigned devfn, unsigned off,
                                            unsigned size)
{
    KernelTestHost *h = opaque;
    uint8_t cfg[256] = {0};
    uint32_t v = 0;

    if (devfn != KERNEL_TEST_DEVFN) {
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    }
    cfg[0x00] = 0x34, cfg[0x01] = 0x12, cfg[0x02] = 0xa0, cfg[0x03] = 0xd3;
    cfg[0x04] = (uint8_t)h->command, cfg[0x05] = (uint8_t)(h->command >> 8);
    cfg[0x0b] = 0x02;
    cfg[0x2c] = 0x34, cfg[0x2d] = 0x12, cfg[0x2e] = 0x01;
    memcpy(&v, cfg + (off & 0xff), size);
    return v;
}

static inline void kernel_test_cfg_write(void *opaque, unsigned devfn, unsigned off, uint32_t v,
                                         unsigned size)
{
    KernelTestHost *h = opaque;

    if (devfn == KERNEL_TEST_DEVFN && off == 0x04 && size >= 2) {
        h->command = (uint16_t)v;
    }
}

/* The hooks of h: config space and log; a test adds what else it needs. */
static inline KernelHostOps kernel_test_host_ops(KernelTestHost *h)
{
    return (KernelHostOps){
        .pci_config_read = kernel_test_cfg_read, .pci_config_write = kernel_test_cfg_write,
        .log = kernel_test_log, .opaque = h,
    };
}

/* A kernel of cfg and ops with the fake function on an IOMMU in imode
 * (pin_bound: its per-domain pin bound in pages, 0 for the default);
 * nothing loaded. */
static inline void kernel_test_boot(const KernelConfig *cfg, const KernelHostOps *ops,
                                    IommuMode imode, uint64_t pin_bound, Kernel **k,
                                    Iommu **mmu)
{
    IommuConfig icfg;
    SlError e = {{0}};
    void *ram;
    uint64_t ram_size;

    if (kernel_new(cfg, ops, k, &e) != 0) {
        fail_msg("kernel_new: %s", e.msg);
    }
    assert_int_equal((*k)->npci_devices, 1);
    kernel_ram(*k, &ram, &ram_size);
    iommu_config_default(&icfg, ram, ram_size);
    icfg.mode = imode;
    if (pin_bound) {
        icfg.pin_bound_domain = pin_bound;
    }
    if (iommu_new(&icfg, mmu, &e) != 0 || kernel_set_iommu(*k, *mmu, &e) != 0) {
        fail_msg("iommu: %s", e.msg);
    }
}

/* The "devoff=N" parameter of the test modules: where struct pci_dev
 * holds its struct device, from the kernel's BTF. */
static inline void kernel_test_devoff_param(Kernel *k, char *buf, size_t cap)
{
    long devoff = btf_layout_offsetof(k->btf, "pci_dev", "dev");

    assert_true(devoff > 0);
    snprintf(buf, cap, "devoff=%ld", devoff);
}

static inline void kernel_test_dump_log(const KernelTestHost *h)
{
    for (unsigned i = 0; i < h->nlog; i++) {
        print_message("  log: %s\n", h->log[i]);
    }
}

#endif
