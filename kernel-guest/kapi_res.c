/*
 * kernel-guest/kapi_res.c: resource regions (kernel/resource.c) and the
 * PCI power-management calls drivers make at probe and remove.
 *
 * __request_region hands out a struct resource for a range of a parent
 * (ioport_resource / iomem_resource); a range that overlaps one already
 * requested is busy (NULL), as in Linux.  Regions are plain data.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <string.h>

static KRegion *kres_find(Kernel *k, uint64_t parent, uint64_t start, uint64_t n)
{
    for (unsigned i = 0; i < KERNEL_MAX_REGIONS; i++) {
        KRegion *r = &k->regions[i];

        if (r->res && r->parent == parent && start < r->start + r->len && r->start < start + n) {
            return r;
        }
    }
    return NULL;
}

/* __request_region(parent, start, n, name, flags) */
static uint64_t kapi_request_region(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t parent = c->arg[0], start = c->arg[1], n = c->arg[2];
    long sz = kernel_sizeof(k, "resource");
    uint64_t res;

    if (sz < 0 || n == 0 || kres_find(k, parent, start, n)) {
        return 0;
    }
    for (unsigned i = 0; i < KERNEL_MAX_REGIONS; i++) {
        KRegion *r = &k->regions[i];

        if (r->res) {
            continue;
        }
        res = kmem_kmalloc(&k->mem, (uint64_t)sz, 16, true);
        if (!res) {
            return 0;
        }
        kernel_field_write(k, res, "resource", "start", start);
        kernel_field_write(k, res, "resource", "end", start + n - 1);
        kernel_field_write(k, res, "resource", "name", c->arg[3]);
        kernel_field_write(k, res, "resource", "flags",
                           kernel_field_read(k, parent, "resource", "flags") | 0x80000000u);
        kernel_field_write(k, res, "resource", "parent", parent);
        *r = (KRegion){.res = res, .parent = parent, .start = start, .len = n};
        return res;
    }
    return 0;
}

/* __release_region(parent, start, n) */
static uint64_t kapi_release_region(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;

    for (unsigned i = 0; i < KERNEL_MAX_REGIONS; i++) {
        KRegion *r = &k->regions[i];

        if (r->res && r->parent == c->arg[0] && r->start == c->arg[1] && r->len == c->arg[2]) {
            kmem_kfree(&k->mem, r->res);
            *r = (KRegion){0};
            return 0;
        }
    }
    kernel_log(k, '4', "Trying to free nonexistent resource <%016llx-%016llx>",
               (unsigned long long)c->arg[1], (unsigned long long)(c->arg[1] + c->arg[2] - 1));
    return 0;
}

/* PCI power management: the emulated device is always in D0 and has no
 * wake-up; the calls succeed as on a machine without PME. */
static uint64_t kapi_pci_ok(void *opaque, VcpuCall *c)
{
    return 0;
}

/* pci_set_power_state(dev, state): records the state. */
static uint64_t kapi_pci_set_power_state(void *opaque, VcpuCall *c)
{
    kernel_field_write(opaque, c->arg[0], "pci_dev", "current_state", c->arg[1]);
    return 0;
}

static uint64_t kapi_device_set_wakeup_enable(void *opaque, VcpuCall *c)
{
    return (uint64_t)-EINVAL;    /* the device cannot wake the system */
}

int kapi_res_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"__request_region", kapi_request_region},
        {"__release_region", kapi_release_region},
        {"pci_save_state", kapi_pci_ok},
        {"pci_restore_state", kapi_pci_ok},
        {"pci_enable_wake", kapi_pci_ok},
        {"pci_wake_from_d3", kapi_pci_ok},
        {"pci_pme_active", kapi_pci_ok},
        {"pci_prepare_to_sleep", kapi_pci_ok},
        {"pci_set_power_state", kapi_pci_set_power_state},
        {"device_set_wakeup_enable", kapi_device_set_wakeup_enable},
    };
    long sz = btf_layout_sizeof(k->btf, "resource");
    uint64_t iomem;

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    /* iomem_resource next to ioport_resource (kapi_runtime.c). */
    iomem = sz > 0 ? kapi_data(k, "iomem_resource", (uint64_t)sz, 8, e) : 0;
    if (!iomem) {
        return sl_error(e, -ENOENT, "%s: .BTF: no struct resource", k->cfg.btf_path);
    }
    kernel_field_write(k, iomem, "resource", "end", ~0ull);
    kernel_field_write(k, iomem, "resource", "flags", 0x200);      /* IORESOURCE_MEM */
    {
        const KSym *io = ksyms_find(&k->syms, "ioport_resource");

        if (io) {
            kernel_field_write(k, io->addr, "resource", "end", 0xffff);
            kernel_field_write(k, io->addr, "resource", "flags", 0x100);   /* IORESOURCE_IO */
        }
    }
    return 0;
}
