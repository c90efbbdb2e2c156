/*
 * kernel-guest/kapi_pci.c: the PCI core a driver sees (drivers/pci/):
 * enumeration of bus 0 through config space at boot, struct pci_dev in
 * guest memory, driver registration with id-table matching and probe,
 * unregistration with remove, enable/disable, bus mastering, regions and
 * config accessors.
 */
#include "kernel-guest/kernel_internal.h"

#include <errno.h>
#include <string.h>

#define KPCI_ANY_ID 0xffffffffu
#define KPCI_COMMAND 0x04
#define KPCI_COMMAND_IO 0x1
#define KPCI_COMMAND_MEMORY 0x2
#define KPCI_COMMAND_MASTER 0x4
/* include/linux/ioport.h */
#define KPCI_IORESOURCE_IO 0x00000100u
#define KPCI_IORESOURCE_MEM 0x00000200u
#define KPCI_IORESOURCE_SIZEALIGN 0x00040000u

static uint32_t kpci_cfg_read(Kernel *k, unsigned devfn, unsigned off, unsigned size)
{
    return k->host.pci_config_read(k->host.opaque, devfn, off, size);
}

static void kpci_cfg_write(Kernel *k, unsigned devfn, unsigned off, uint32_t v, unsigned size)
{
    k->host.pci_config_write(k->host.opaque, devfn, off, v, size);
}

/* The KPciDevice whose struct pci_dev is at pdev, or NULL (and a report:
 * a driver handed the PCI core something that is not a pci_dev). */
static KPciDevice *kpci_dev(Kernel *k, VcpuCall *c, uint64_t pdev)
{
    for (unsigned i = 0; i < k->npci_devices; i++) {
        if (k->pci_devices[i].pdev == pdev) {
            return &k->pci_devices[i];
        }
    }
    vcpu_raise(c->cpu, "%s: 0x%llx is not a struct pci_dev", vcpu_call_name(c),
               (unsigned long long)pdev);
    return NULL;
}

/* Sizes BAR i the way the PCI core does: write all-ones, read the mask
 * back, restore. */
static void kpci_size_bar(Kernel *k, KPciDevice *d, int i)
{
    unsigned off = 0x10 + 4u * (unsigned)i;
    uint32_t orig = kpci_cfg_read(k, d->devfn, off, 4), mask;

    kpci_cfg_write(k, d->devfn, off, 0xffffffffu, 4);
    mask = kpci_cfg_read(k, d->devfn, off, 4);
    kpci_cfg_write(k, d->devfn, off, orig, 4);
    if (mask == 0 || mask == 0xffffffffu) {
        return;
    }
    d->bar_is_io[i] = mask & 1;
    if (d->bar_is_io[i]) {
        d->bar_size[i] = (~(mask & ~3u) & 0xffffu) + 1;
        d->bar_base[i] = orig & ~3u;
    } else {
        d->bar_size[i] = ~(mask & ~0xfu) + 1;
        d->bar_base[i] = orig & ~0xfu;
    }
}

static int kpci_build_pdev(Kernel *k, KPciDevice *d, uint64_t bus, uint64_t bus_type,
                           SlError *e)
{
    long sz = btf_layout_sizeof(k->btf, "pci_dev");
    long res_sz = btf_layout_sizeof(k->btf, "resource");
    long res = btf_layout_offsetof(k->btf, "pci_dev", "resource");
    long dma_mask = btf_layout_offsetof(k->btf, "pci_dev", "dma_mask");
    uint32_t cls = kpci_cfg_read(k, d->devfn, 0x08, 4);
    uint64_t p;

    if (sz <= 0 || res_sz <= 0 || res < 0 || dma_mask < 0) {
        return sl_error(e, -ENOENT, "%s: .BTF: struct pci_dev or struct resource missing",
                        k->cfg.btf_path);
    }
    p = kmem_kmalloc(&k->mem, (uint64_t)sz, 64, true);
    if (!p) {
        return sl_error(e, -ENOMEM, "kernel: out of memory for a pci_dev");
    }
    d->pdev = p;
    kernel_field_write(k, p, "pci_dev", "bus", bus);
    kernel_field_write(k, p, "pci_dev", "devfn", d->devfn);
    kernel_field_write(k, p, "pci_dev", "vendor", kpci_cfg_read(k, d->devfn, 0x00, 2));
    kernel_field_write(k, p, "pci_dev", "device", kpci_cfg_read(k, d->devfn, 0x02, 2));
    kernel_field_write(k, p, "pci_dev", "subsystem_vendor", kpci_cfg_read(k, d->devfn, 0x2c, 2));
    kernel_field_write(k, p, "pci_dev", "subsystem_device", kpci_cfg_read(k, d->devfn, 0x2e, 2));
    kernel_field_write(k, p, "pci_dev", "class", cls >> 8);
    kernel_field_write(k, p, "pci_dev", "revision", cls & 0xff);
    kernel_field_write(k, p, "pci_dev", "hdr_type", kpci_cfg_read(k, d->devfn, 0x0e, 1) & 0x7f);
    kernel_field_write(k, p, "pci_dev", "pin", kpci_cfg_read(k, d->devfn, 0x3d, 1));
    kernel_field_write(k, p, "pci_dev", "irq", d->irq);
    kernel_field_write(k, p, "pci_dev", "dma_mask", 0xffffffffull);
    kernel_field_write(k, p, "pci_dev", "cfg_size", 256);
    kernel_field_write(k, p, "pci_dev", "error_state", 1);   /* pci_channel_io_normal */
    kernel_field_write(k, p, "pci_dev", "dev.dma_mask", p + (uint64_t)dma_mask);
    kernel_field_write(k, p, "pci_dev", "dev.coherent_dma_mask", 0xffffffffull);
    kernel_field_write(k, p, "pci_dev", "dev.bus", bus_type);
    kernel_field_write(k, p, "pci_dev", "dev.kobj.name", kernel_strdup(k, d->name));
    for (int i = 0; i < 6; i++) {
        uint64_t r = p + (uint64_t)res + (uint64_t)i * (uint64_t)res_sz;

        if (!d->bar_size[i]) {
            continue;
        }
        kernel_field_write(k, r, "resource", "start", d->bar_base[i]);
        kernel_field_write(k, r, "resource", "end", d->bar_base[i] + d->bar_size[i] - 1);
        kernel_field_write(k, r, "resource", "flags",
                           (d->bar_is_io[i] ? KPCI_IORESOURCE_IO | 1u : KPCI_IORESOURCE_MEM) |
                               KPCI_IORESOURCE_SIZEALIGN);
        kernel_field_write(k, r, "resource", "name", kernel_field_read(k, p, "pci_dev", "dev.kobj.name"));
    }
    return vcpu_dead(k->cpu) ? sl_error(e, -ENOENT, "%s: .BTF: %s", k->cfg.btf_path,
                                        vcpu_report(k->cpu)->what) : 0;
}

int kpci_enumerate(Kernel *k, SlError *e)
{
    long bsz = btf_layout_sizeof(k->btf, "pci_bus");
    long tsz = btf_layout_sizeof(k->btf, "bus_type");
    uint64_t bus, bus_type;

    if (!k->host.pci_config_read) {
        return 0;                /* a machine without PCI */
    }
    if (bsz <= 0 || tsz <= 0) {
        return sl_error(e, -ENOENT, "%s: .BTF: struct pci_bus or bus_type missing", k->cfg.btf_path);
    }
    bus = kmem_kmalloc(&k->mem, (uint64_t)bsz, 64, true);
    bus_type = kapi_data(k, "pci_bus_type", (uint64_t)tsz, 64, e);
    if (!bus || !bus_type) {
        return sl_error(e, -ENOMEM, "kernel: out of memory for the PCI bus");
    }
    kernel_field_write(k, bus_type, "bus_type", "name", kernel_strdup(k, "pci"));
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        KPciDevice *d;
        int err;

        if ((kpci_cfg_read(k, devfn, 0x00, 2) & 0xffff) == 0xffff) {
            continue;
        }
        if (k->npci_devices == KERNEL_MAX_PCI_DEVICES) {
            return sl_error(e, -ENOSPC, "kernel: more than %d PCI devices", KERNEL_MAX_PCI_DEVICES);
        }
        d = &k->pci_devices[k->npci_devices++];
        memset(d, 0, sizeof(*d));
        d->devfn = devfn;
        d->driver = -1;
        d->irq = (uint8_t)kpci_cfg_read(k, devfn, 0x3c, 1);
        snprintf(d->name, sizeof(d->name), "0000:00:%02x.%x", devfn >> 3, devfn & 7);
        for (int i = 0; i < 6; i++) {
            kpci_size_bar(k, d, i);
        }
        err = kpci_build_pdev(k, d, bus, bus_type, e);
        if (err) {
            return err;
        }
    }
    return 0;
}

/* Whether id (a struct pci_device_id) matches the device. */
static bool kpci_id_matches(Kernel *k, uint64_t id, uint64_t pdev)
{
    static const char *const f[4][2] = {
        {"vendor", "vendor"}, {"device", "device"},
        {"subvendor", "subsystem_vendor"}, {"subdevice", "subsystem_device"},
    };
    uint32_t cls = (uint32_t)kernel_field_read(k, id, "pci_device_id", "class");
    uint32_t mask = (uint32_t)kernel_field_read(k, id, "pci_device_id", "class_mask");

    for (int i = 0; i < 4; i++) {
        uint32_t want = (uint32_t)kernel_field_read(k, id, "pci_device_id", f[i][0]);

        if (want != KPCI_ANY_ID && want != kernel_field_read(k, pdev, "pci_dev", f[i][1])) {
            return false;
        }
    }
    return ((cls ^ (uint32_t)kernel_field_read(k, pdev, "pci_dev", "class")) & mask) == 0;
}

/* The first id-table entry matching pdev, or 0.  The table ends with an
 * entry whose vendor, subvendor and class_mask are all zero. */
static uint64_t kpci_match(Kernel *k, uint64_t drv, uint64_t pdev)
{
    uint64_t id = kernel_field_read(k, drv, "pci_driver", "id_table");
    long isz = btf_layout_sizeof(k->btf, "pci_device_id");

    for (unsigned n = 0; id && isz > 0 && n < 4096; n++, id += (uint64_t)isz) {
        if (!kernel_field_read(k, id, "pci_device_id", "vendor") &&
            !kernel_field_read(k, id, "pci_device_id", "subvendor") &&
            !kernel_field_read(k, id, "pci_device_id", "class_mask")) {
            break;
        }
        if (kpci_id_matches(k, id, pdev)) {
            return id;
        }
    }
    return 0;
}

/* Binds driver di to device d if it matches: really_probe(). */
static void kpci_try_probe(Kernel *k, int di, KPciDevice *d)
{
    KPciDriver *drv = &k->pci_drivers[di];
    long doff = btf_layout_offsetof(k->btf, "pci_driver", "driver");
    uint64_t id = kpci_match(k, drv->drv, d->pdev), ret = 0;
    uint64_t probe = kernel_field_read(k, drv->drv, "pci_driver", "probe");
    uint64_t args[2] = {d->pdev, id};
    int err;

    if (!id || !probe || doff < 0) {
        return;
    }
    kernel_field_write(k, d->pdev, "pci_dev", "dev.driver", drv->drv + (uint64_t)doff);
    d->driver = di;
    err = kernel_call(k, drv->module, KERNEL_PHASE_PROBE, probe, args, 2, &ret);
    if (err) {
        return;                  /* the guest stopped; the report says why */
    }
    k->probes++;
    if ((int32_t)ret != 0) {
        d->driver = -1;
        kernel_field_write(k, d->pdev, "pci_dev", "dev.driver", 0);
        kernel_field_write(k, d->pdev, "pci_dev", "dev.driver_data", 0);
        if ((int32_t)ret != -ENODEV && (int32_t)ret != -ENXIO) {
            kernel_log(k, '4', "%s: probe of %s failed with error %d", drv->name, d->name,
                       (int32_t)ret);
        }
    }
}

/* __pci_register_driver(drv, owner, mod_name) */
static uint64_t kapi_pci_register_driver(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t drv = c->arg[0];
    const KSym *bus_type;
    KPciDriver *d;
    int di;

    if (k->npci_drivers == KERNEL_MAX_PCI_DRIVERS) {
        return (uint64_t)-ENOMEM;
    }
    di = (int)k->npci_drivers++;
    d = &k->pci_drivers[di];
    memset(d, 0, sizeof(*d));
    d->drv = drv;
    d->module = k->current_module;
    kernel_read_str(k, kernel_field_read(k, drv, "pci_driver", "name"), d->name, sizeof(d->name));
    kernel_field_write(k, drv, "pci_driver", "driver.name",
                       kernel_field_read(k, drv, "pci_driver", "name"));
    kernel_field_write(k, drv, "pci_driver", "driver.owner", c->arg[1]);
    kernel_field_write(k, drv, "pci_driver", "driver.mod_name", c->arg[2]);
    bus_type = ksyms_find(&k->syms, "pci_bus_type");
    kernel_field_write(k, drv, "pci_driver", "driver.bus", bus_type ? bus_type->addr : 0);
    for (unsigned i = 0; i < k->npci_devices && !vcpu_dead(c->cpu); i++) {
        if (k->pci_devices[i].driver < 0) {
            kpci_try_probe(k, di, &k->pci_devices[i]);
        }
    }
    return 0;
}

static uint64_t kapi_pci_unregister_driver(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    int di = -1;

    for (unsigned i = 0; i < k->npci_drivers; i++) {
        if (k->pci_drivers[i].drv == c->arg[0]) {
            di = (int)i;
        }
    }
    if (di < 0) {
        vcpu_raise(c->cpu, "pci_unregister_driver of a driver never registered [drv=0x%llx]",
                   (unsigned long long)c->arg[0]);
        return 0;
    }
    for (unsigned i = 0; i < k->npci_devices && !vcpu_dead(c->cpu); i++) {
        KPciDevice *d = &k->pci_devices[i];
        uint64_t remove = kernel_field_read(k, c->arg[0], "pci_driver", "remove");

        if (d->driver != di) {
            continue;
        }
        if (remove && kernel_call(k, k->pci_drivers[di].module, KERNEL_PHASE_REMOVE, remove,
                                  &d->pdev, 1, NULL) != 0) {
            return 0;
        }
        kdma_unbind(k, (int)i);  /* what the driver left mapped is a leak */
        d->driver = -1;
        k->removes++;
        kernel_field_write(k, d->pdev, "pci_dev", "dev.driver", 0);
        kernel_field_write(k, d->pdev, "pci_dev", "dev.driver_data", 0);
    }
    k->pci_drivers[di] = k->pci_drivers[--k->npci_drivers];
    for (unsigned i = 0; i < k->npci_devices; i++) {
        if (k->pci_devices[i].driver == (int)k->npci_drivers) {
            k->pci_devices[i].driver = di;
        }
    }
    return 0;
}

/* Sets or clears command-register bits with a read-modify-write. */
static void kpci_command(Kernel *k, KPciDevice *d, uint16_t set, uint16_t clear)
{
    uint16_t cmd = (uint16_t)kpci_cfg_read(k, d->devfn, KPCI_COMMAND, 2);
    uint16_t v = (uint16_t)((cmd | set) & ~clear);

    if (v != cmd) {
        kpci_cfg_write(k, d->devfn, KPCI_COMMAND, v, 2);
    }
}

static uint64_t kpci_enable(Kernel *k, VcpuCall *c, bool io_too)
{
    KPciDevice *d = kpci_dev(k, c, c->arg[0]);
    uint64_t cnt;
    uint16_t bits = 0;

    if (!d) {
        return (uint64_t)-EINVAL;
    }
    cnt = kernel_field_read(k, d->pdev, "pci_dev", "enable_cnt.counter");
    kernel_field_write(k, d->pdev, "pci_dev", "enable_cnt.counter", cnt + 1);
    if (cnt) {
        return 0;
    }
    for (int i = 0; i < 6; i++) {
        if (d->bar_size[i]) {
            bits |= d->bar_is_io[i] ? (io_too ? KPCI_COMMAND_IO : 0) : KPCI_COMMAND_MEMORY;
        }
    }
    {
        uint16_t old = (uint16_t)kpci_cfg_read(k, d->devfn, KPCI_COMMAND, 2);

        if ((old | bits) != old) {
            /* drivers/pci/setup-res.c pci_enable_resources() says so. */
            kernel_log(k, '6', "%s %s: enabling device (%04x -> %04x)",
                       d->driver >= 0 ? k->pci_drivers[d->driver].name : "pci", d->name,
                       old, old | bits);
        }
    }
    kpci_command(k, d, bits, 0);
    kernel_field_write(k, d->pdev, "pci_dev", "current_state", 0);   /* PCI_D0 */
    return 0;
}

static uint64_t kapi_pci_enable_device(void *opaque, VcpuCall *c)
{
    return kpci_enable(opaque, c, true);
}

static uint64_t kapi_pci_enable_device_mem(void *opaque, VcpuCall *c)
{
    return kpci_enable(opaque, c, false);
}

/* pci_disable_device(): the last disable turns bus mastering off (decode
 * stays on, as in Linux). */
static uint64_t kapi_pci_disable_device(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    KPciDevice *d = kpci_dev(k, c, c->arg[0]);
    uint64_t cnt;

    if (!d) {
        return 0;
    }
    cnt = kernel_field_read(k, d->pdev, "pci_dev", "enable_cnt.counter");
    if (cnt == 0) {
        kernel_log(k, '4', "%s %s: disabling already-disabled device", d->driver >= 0 ?
                   k->pci_drivers[d->driver].name : "pci", d->name);
        return 0;
    }
    kernel_field_write(k, d->pdev, "pci_dev", "enable_cnt.counter", cnt - 1);
    if (cnt == 1) {
        kpci_command(k, d, 0, KPCI_COMMAND_MASTER);
        kernel_field_write(k, d->pdev, "pci_dev", "is_busmaster", 0);
    }
    return 0;
}

static uint64_t kapi_pci_set_master(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    KPciDevice *d = kpci_dev(k, c, c->arg[0]);

    if (d) {
        kpci_command(k, d, KPCI_COMMAND_MASTER, 0);
        kernel_field_write(k, d->pdev, "pci_dev", "is_busmaster", 1);
    }
    return 0;
}

static uint64_t kapi_pci_clear_master(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    KPciDevice *d = kpci_dev(k, c, c->arg[0]);

    if (d) {
        kpci_command(k, d, 0, KPCI_COMMAND_MASTER);
        kernel_field_write(k, d->pdev, "pci_dev", "is_busmaster", 0);
    }
    return 0;
}

/* pci_select_bars(pdev, flags): mask of BARs whose resource has flags. */
static uint64_t kapi_pci_select_bars(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    KPciDevice *d = kpci_dev(k, c, c->arg[0]);
    uint64_t mask = 0;

    for (int i = 0; d && i < 6; i++) {
        uint32_t fl = d->bar_size[i] ? (d->bar_is_io[i] ? KPCI_IORESOURCE_IO : KPCI_IORESOURCE_MEM) : 0;

        if (fl & c->arg[1]) {
            mask |= 1u << i;
        }
    }
    return mask;
}

/* Regions are bookkeeping only: a second request of a BAR is -EBUSY. */
static uint64_t kpci_request(Kernel *k, VcpuCall *c, uint64_t mask)
{
    KPciDevice *d = kpci_dev(k, c, c->arg[0]);

    if (!d) {
        return (uint64_t)-EINVAL;
    }
    mask &= 0x3f;
    for (int i = 0; i < 6; i++) {
        if ((mask >> i) & 1 && d->bar_size[i] && (d->bar_requested >> i) & 1) {
            kernel_log(k, '4', "%s %s: BAR %d: can't reserve region (already requested)",
                       d->driver >= 0 ? k->pci_drivers[d->driver].name : "pci", d->name, i);
            return (uint64_t)-EBUSY;
        }
    }
    for (int i = 0; i < 6; i++) {
        if ((mask >> i) & 1 && d->bar_size[i]) {
            d->bar_requested |= (uint8_t)(1u << i);
        }
    }
    return 0;
}

static uint64_t kapi_pci_request_regions(void *opaque, VcpuCall *c)
{
    return kpci_request(opaque, c, 0x3f);
}

static uint64_t kapi_pci_request_selected_regions(void *opaque, VcpuCall *c)
{
    return kpci_request(opaque, c, c->arg[1]);
}

static uint64_t kpci_release(Kernel *k, VcpuCall *c, uint64_t mask)
{
    KPciDevice *d = kpci_dev(k, c, c->arg[0]);

    if (d) {
        d->bar_requested &= (uint8_t)~mask;
    }
    return 0;
}

static uint64_t kapi_pci_release_regions(void *opaque, VcpuCall *c)
{
    return kpci_release(opaque, c, 0x3f);
}

static uint64_t kapi_pci_release_selected_regions(void *opaque, VcpuCall *c)
{
    return kpci_release(opaque, c, c->arg[1]);
}

/* pci_{read,write}_config_{byte,word,dword}(pdev, where, val/&val) */
static uint64_t kpci_config(Kernel *k, VcpuCall *c, unsigned size, bool write)
{
    KPciDevice *d = kpci_dev(k, c, c->arg[0]);
    unsigned where = (unsigned)c->arg[1] & 0xff;

    if (!d) {
        return (uint64_t)-EINVAL;
    }
    if (where & (size - 1)) {
        return 0x87;             /* PCIBIOS_BAD_REGISTER_NUMBER */
    }
    if (write) {
        kpci_cfg_write(k, d->devfn, where, (uint32_t)c->arg[2], size);
        return 0;
    }
    {
        uint32_t v = kpci_cfg_read(k, d->devfn, where, size);

        if (size == 1) {
            kernel_write_u8(k, c->arg[2], (uint8_t)v);
        } else if (size == 2) {
            kernel_write_u16(k, c->arg[2], (uint16_t)v);
        } else {
            kernel_write_u32(k, c->arg[2], v);
        }
    }
    return 0;
}

#define KPCI_CONFIG_FN(name, size, write)                                              \
    static uint64_t name(void *opaque, VcpuCall *c) { return kpci_config(opaque, c, size, write); }
KPCI_CONFIG_FN(kapi_pci_read_config_byte, 1, false)
KPCI_CONFIG_FN(kapi_pci_read_config_word, 2, false)
KPCI_CONFIG_FN(kapi_pci_read_config_dword, 4, false)
KPCI_CONFIG_FN(kapi_pci_write_config_byte, 1, true)
KPCI_CONFIG_FN(kapi_pci_write_config_word, 2, true)
KPCI_CONFIG_FN(kapi_pci_write_config_dword, 4, true)

int kapi_pci_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"__pci_register_driver", kapi_pci_register_driver},
        {"pci_unregister_driver", kapi_pci_unregister_driver},
        {"pci_enable_device", kapi_pci_enable_device},
        {"pci_enable_device_mem", kapi_pci_enable_device_mem},
        {"pci_disable_device", kapi_pci_disable_device},
        {"pci_set_master", kapi_pci_set_master},
        {"pci_clear_master", kapi_pci_clear_master},
        {"pci_select_bars", kapi_pci_select_bars},
        {"pci_request_regions", kapi_pci_request_regions},
        {"pci_request_selected_regions", kapi_pci_request_selected_regions},
        {"pci_release_regions", kapi_pci_release_regions},
        {"pci_release_selected_regions", kapi_pci_release_selected_regions},
        {"pci_read_config_byte", kapi_pci_read_config_byte},
        {"pci_read_config_word", kapi_pci_read_config_word},
        {"pci_read_config_dword", kapi_pci_read_config_dword},
        {"pci_write_config_byte", kapi_pci_write_config_byte},
        {"pci_write_config_word", kapi_pci_write_config_word},
        {"pci_write_config_dword", kapi_pci_write_config_dword},
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return 0;
}
