/*
 * emu/machine.c: the machine, read top to bottom like a board schematic:
 *
 *   PCI bus 0 --- 00:02.0  the device model (RTL8139), INTA# -> IRQ 11
 *      |
 *   software IOMMU (a domain per requester id) --- guest RAM
 *      |
 *   emulated kernel (loader, served API) --- vCPU (Unicorn)
 *
 * Firmware places I/O BARs from 0xc000 and memory BARs from 0xfebf0000,
 * as a PC's BIOS would, and routes INTx of slot N to IRQ 9 + N % 4.
 */
#include "emu/machine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/cdma.h"
#include "devices/pci.h"
#include "emu/netsim.h"
#include "emu/nic.h"
#include "images/kexports.h"
#include "iommu/dma_port.h"
#include "iommu/iommu.h"
#include "kernel-guest/kernel.h"
#include "translator/vcpu.h"

#define MACHINE_DEVFN 0x10            /* 00:02.0 */
#define MACHINE_IO_BASE 0xc000u
#define MACHINE_MEM_BASE 0xfebf0000u
#define MACHINE_IRQ_BASE 9
#define MACHINE_MAX_MODULES 16

struct Machine {
    MachineConfig cfg;
    PciBus *bus;
    const NicModel *nic;
    void *nic_dev;
    NetSim *net;
    Cdma *cdma;
    DmaPort dma;                 /* the device on 00:02.0's way to guest RAM */
    Iommu *iommu;
    Kernel *kernel;
    KExports *exports;
    bool iommu_off;
    FILE *diag;                  /* sluice's own lines */
    int modules[MACHINE_MAX_MODULES];  /* kernel module slots, load order */
    unsigned nmodules;
    /* JSON objects for --report, in the order things happened. */
    char **json;
    unsigned njson, cap_json;
};

static void machine_add_json(Machine *m, const char *obj)
{
    if (m->njson == m->cap_json) {
        unsigned cap = m->cap_json ? m->cap_json * 2 : 16;
        char **v = realloc(m->json, cap * sizeof(*v));

        if (!v) {
            return;
        }
        m->json = v;
        m->cap_json = cap;
    }
    m->json[m->njson] = strdup(obj);
    if (m->json[m->njson]) {
        m->njson++;
    }
}

/* Every IOMMU fault: a report line now, a JSON record for --report. */
static IommuAction machine_iommu_fault(void *opaque, const IommuFault *f)
{
    Machine *m = opaque;
    char line[512], json[1024];

    iommu_fault_format(f, line, sizeof(line));
    fprintf(m->diag, "sluice: %s\n", line);
    if (m->kernel && (f->reason == IOMMU_REASON_NOT_MAPPED ||
                      f->reason == IOMMU_REASON_PERMISSION ||
                      f->reason == IOMMU_REASON_STALE_IOTLB)) {
        /* A device access: the DMA-API checker tells a use after unmap
         * or a write to a DMA_TO_DEVICE mapping from a wild address. */
        kernel_dma_device_access(m->kernel, f->rid, f->iova, f->len, f->dir == IOMMU_DIR_WRITE);
    }
    if (iommu_fault_format_json(f, json, sizeof(json)) > 0) {
        machine_add_json(m, json);
    }
    return IOMMU_ACTION_ABORT;
}

static const char *const machine_trace_kinds[] = {
    [PCI_ACCESS_BAR_READ] = "R", [PCI_ACCESS_BAR_WRITE] = "W",
    [PCI_ACCESS_CONFIG_READ] = "CR", [PCI_ACCESS_CONFIG_WRITE] = "CW",
};

/* --trace-mmio: phase kind bar offset size value instruction */
static void machine_trace(void *opaque, const PciAccess *a)
{
    Machine *m = opaque;
    char insn[256], bar[16];

    if (!m->cfg.trace || !m->kernel || kernel_phase(m->kernel) == KERNEL_PHASE_BOOT) {
        return;
    }
    kernel_current_insn(m->kernel, insn, sizeof(insn));
    if (a->bar < 0) {
        snprintf(bar, sizeof(bar), "cfg");
    } else {
        snprintf(bar, sizeof(bar), "%d", a->bar);
    }
    fprintf(m->cfg.trace, "%s %s %s 0x%02llx %u 0x%0*x %s\n",
            kernel_phase_name(kernel_phase(m->kernel)), machine_trace_kinds[a->kind], bar,
            (unsigned long long)a->offset, a->size, (int)a->size * 2, a->value, insn);
}

static uint32_t machine_config_read(void *o, unsigned devfn, unsigned off, unsigned size)
{
    return pci_config_read(((Machine *)o)->bus, devfn, off, size);
}

static void machine_config_write(void *o, unsigned devfn, unsigned off, uint32_t v,
                                 unsigned size)
{
    pci_config_write(((Machine *)o)->bus, devfn, off, v, size);
}

static uint32_t machine_bar_read(void *o, unsigned devfn, int bar, uint64_t off, unsigned size)
{
    return pci_bus_bar_read(((Machine *)o)->bus, devfn, bar, off, size);
}

static void machine_bar_write(void *o, unsigned devfn, int bar, uint64_t off, uint32_t v,
                              unsigned size)
{
    pci_bus_bar_write(((Machine *)o)->bus, devfn, bar, off, v, size);
}

static uint32_t machine_pio_read(void *o, uint16_t port, unsigned size)
{
    uint32_t v = 0xffffffffu;

    pci_bus_io_read(((Machine *)o)->bus, port, size, &v);
    return v;
}

static void machine_pio_write(void *o, uint16_t port, unsigned size, uint32_t v)
{
    pci_bus_io_write(((Machine *)o)->bus, port, size, v);
}

static KernelExportKind machine_export_kind(void *o, const char *name, uint32_t *crc)
{
    Machine *m = o;
    const KExport *x = m->exports ? kexports_find(m->exports, name) : NULL;

    if (!x) {
        return KERNEL_EXPORT_NONE;
    }
    if (crc) {
        *crc = x->crc;
    }
    return x->kind == KEXPORTS_FUNC ? KERNEL_EXPORT_FUNC : KERNEL_EXPORT_DATA;
}

static void machine_log(void *o, int level, const char *line)
{
    Machine *m = o;

    if (level == '7' && !m->cfg.verbose) {
        return;
    }
    fprintf(m->cfg.out ? m->cfg.out : stdout, "%s\n", line);
    fflush(m->cfg.out ? m->cfg.out : stdout);
}

static void machine_irq(void *opaque, int line, int level)
{
    Machine *m = opaque;

    if (m->kernel) {
        kernel_irq_line(m->kernel, (unsigned)line, level);
    }
}

static void machine_netrx(void *opaque, const char *ifname, const uint8_t *frame, size_t len)
{
    Machine *m = opaque;

    if (m->net) {
        netsim_stack_rx(m->net, frame, len);
    }
}

static uint64_t machine_poll(void *opaque, uint64_t now_ns)
{
    Machine *m = opaque;

    return m->net ? netsim_poll(m->net, now_ns) : UINT64_MAX;
}

static uint64_t machine_now(void *opaque)
{
    Machine *m = opaque;

    return m->kernel ? kernel_time_ns(m->kernel) : 0;
}

static int machine_host_xmit(void *opaque, const uint8_t *frame, size_t len)
{
    Machine *m = opaque;

    return kernel_netdev_xmit(m->kernel, "eth0", frame, len);
}

/* 00:02.0: a NIC model (its interrupt line is the one firmware routes
 * slot 2 to), the cdma test engine, or nothing. */
static int machine_add_devices(Machine *m, SlError *e)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    IrqLine irq = {.set_level = machine_irq, .opaque = m,
                   .line = MACHINE_IRQ_BASE + (MACHINE_DEVFN >> 3) % 4};
    const char *name = m->cfg.device ? m->cfg.device : "rtl8139";
    NetSimConfig nc = {
        .pcap_out = m->cfg.pcap_out, .pcap_in = m->cfg.pcap_in,
        .pcap_stack = m->cfg.pcap_stack, .send = m->cfg.send, .out = m->cfg.out,
    };
    NetSimHost nh = {.now = machine_now, .xmit = machine_host_xmit, .opaque = m};
    NetPort port;
    int err;

    if (!strcmp(name, "cdma")) {
        /* The DMA port is wired to the IOMMU once it exists (machine_new). */
        m->cdma = cdma_new(m->bus, MACHINE_DEVFN, &m->dma, &irq);
        if (!m->cdma) {
            return sl_error(e, -ENOMEM, "machine: cannot create the cdma device");
        }
    } else if (strcmp(name, "none") != 0) {
        m->nic = nic_model_find(name);
        if (!m->nic) {
            return sl_error(e, -EINVAL, "--device %s: unknown device model (known: %s, cdma, none)",
                            name, nic_model_names());
        }
        err = netsim_new(&nc, &nh, &m->net, e);
        if (err) {
            return err;
        }
        port = netsim_port(m->net);
        m->nic_dev = m->nic->create(m->bus, MACHINE_DEVFN, &m->dma, &irq, &port, mac);
        if (!m->nic_dev) {
            return sl_error(e, -ENOMEM, "machine: cannot create the %s device", name);
        }
        netsim_attach(m->net, m->nic, m->nic_dev);
    }
    pci_bus_assign_resources(m->bus, MACHINE_IO_BASE, MACHINE_MEM_BASE, MACHINE_IRQ_BASE);
    return 0;
}

/* CONFIG_HZ of the image's kernel, from the package's boot/config-*
 * (jiffies must tick at the rate the drivers were built for). */
static int machine_kernel_hz(const KImage *img, unsigned *hz, SlError *e)
{
    char path[4200], line[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/root/boot/config-%s-amd64", img->dir, img->abi);
    f = fopen(path, "r");
    if (!f) {
        return sl_error(e, -ENOENT, "%s: cannot read the kernel's configuration (for CONFIG_HZ)", path);
    }
    *hz = 0;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "CONFIG_HZ=", 10)) {
            *hz = (unsigned)strtoul(line + 10, NULL, 10);
        }
    }
    fclose(f);
    if (*hz < 24 || *hz > 10000) {
        return sl_error(e, -EINVAL, "%s: CONFIG_HZ: expected a tick rate from 24 to 10000", path);
    }
    return 0;
}

int machine_new(const MachineConfig *cfg, Machine **out, SlError *e)
{
    Machine *m = calloc(1, sizeof(*m));
    KernelHostOps ops = {
        .pci_config_read = machine_config_read, .pci_config_write = machine_config_write,
        .pci_bar_read = machine_bar_read, .pci_bar_write = machine_bar_write,
        .pio_read = machine_pio_read, .pio_write = machine_pio_write,
        .export_kind = machine_export_kind, .log = machine_log,
        .netrx = machine_netrx, .poll = machine_poll,
    };
    KernelConfig kc = {0};
    IommuConfig ic;
    void *ram;
    uint64_t ram_size;
    int err;

    *out = NULL;
    if (!m) {
        return sl_error(e, -ENOMEM, "machine: out of memory");
    }
    m->cfg = *cfg;
    m->iommu_off = cfg->iommu_mode && !strcmp(cfg->iommu_mode, "off");
    m->diag = cfg->diag ? cfg->diag : stderr;
    ops.opaque = m;
    m->bus = pci_bus_new();
    err = m->bus ? machine_add_devices(m, e) : sl_error(e, -ENOMEM, "machine: out of memory");
    err = err ? err : kexports_load(cfg->image->vmlinux, &m->exports, e);
    if (!err) {
        kc.btf_path = cfg->image->vmlinux;
        kc.ram_bytes = cfg->ram_bytes;
        kc.block_budget = cfg->block_budget;
        kc.allow_unserved = cfg->allow_unserved;
        kc.iommu_off = m->iommu_off;
        kc.bank_pages = (cfg->bank_mem_limit + 4095) / 4096;
        kc.bank_map_entries = cfg->bank_map_limit;
        err = machine_kernel_hz(cfg->image, &kc.hz, e);
        err = err ? err : kernel_new(&kc, &ops, &m->kernel, e);
    }
    if (!err) {
        kernel_ram(m->kernel, &ram, &ram_size);
        iommu_config_default(&ic, ram, ram_size);
        ic.mode = cfg->iommu_mode && !strcmp(cfg->iommu_mode, "lazy") ? IOMMU_MODE_LAZY
                                                                       : IOMMU_MODE_STRICT;
        if (cfg->pin_limit_device) {
            ic.pin_bound_domain = cfg->pin_limit_device / IOMMU_PAGE_SIZE;
        }
        if (cfg->pin_limit_global) {
            ic.pin_bound_global = cfg->pin_limit_global / IOMMU_PAGE_SIZE;
        }
        err = iommu_new(&ic, &m->iommu, e);
    }
    if (!err) {
        dma_port_init(&m->dma, m->iommu, DMA_PORT_RID(0, MACHINE_DEVFN),
                      m->iommu_off ? DMA_PORT_OFF : DMA_PORT_TRANSLATED);
        iommu_set_fault_hook(m->iommu, machine_iommu_fault, m);
        err = kernel_set_iommu(m->kernel, m->iommu, e);
    }
    if (err) {
        machine_free(m);
        return err;
    }
    pci_bus_set_trace(m->bus, machine_trace, m);
    *out = m;
    return 0;
}

Kernel *machine_kernel(Machine *m)
{
    return m->kernel;
}

Iommu *machine_iommu(Machine *m)
{
    return m->iommu;
}

PciBus *machine_bus(Machine *m)
{
    return m->bus;
}

void machine_free(Machine *m)
{
    if (!m) {
        return;
    }
    kernel_free(m->kernel);
    iommu_free(m->iommu);
    pci_bus_free(m->bus);        /* before the device it points at */
    if (m->nic_dev) {
        m->nic->destroy(m->nic_dev);
    }
    netsim_free(m->net);
    cdma_free(m->cdma);
    kexports_free(m->exports);
    for (unsigned i = 0; i < m->njson; i++) {
        free(m->json[i]);
    }
    free(m->json);
    free(m);
}

static bool machine_has_module(Machine *m, const char *name)
{
    for (unsigned i = 0; i < m->nmodules; i++) {
        const char *n = kernel_module_name(m->kernel, m->modules[i]);
        size_t j;

        for (j = 0; n[j] && name[j]; j++) {
            char a = n[j] == '-' ? '_' : n[j], b = name[j] == '-' ? '_' : name[j];

            if (a != b) {
                break;
            }
        }
        if (!n[j] && !name[j]) {
            return true;
        }
    }
    return false;
}

static int machine_load_one(Machine *m, const char *path, const char *const *params,
                            unsigned nparams, unsigned depth, SlError *e)
{
    char deps[256], *save = NULL, *dep;
    int mod, err, loaded = 0;

    if (depth > 8) {
        return sl_error(e, -ELOOP, "%s: module dependencies nest too deep", path);
    }
    err = kernel_module_depends(path, deps, sizeof(deps), e);
    if (err) {
        return err;
    }
    for (dep = strtok_r(deps, ",", &save); dep; dep = strtok_r(NULL, ",", &save)) {
        char dpath[4096];

        if (!*dep || machine_has_module(m, dep)) {
            continue;
        }
        err = kimage_module_path(m->cfg.image, dep, dpath, sizeof(dpath), e);
        err = err ? err : machine_load_one(m, dpath, NULL, 0, depth + 1, e);
        if (err < 0) {
            return err;
        }
        loaded += err;
    }
    if (m->nmodules == MACHINE_MAX_MODULES) {
        return sl_error(e, -ENOSPC, "%s: too many modules", path);
    }
    mod = kernel_load_module(m->kernel, path, params, nparams, e);
    if (mod < 0) {
        return mod;
    }
    m->modules[m->nmodules++] = mod;
    return loaded + 1;
}

int machine_load_driver(Machine *m, const char *path, const char *const *params,
                        unsigned nparams, SlError *e)
{
    return machine_load_one(m, path, params, nparams, 0, e);
}

int machine_init_modules(Machine *m)
{
    for (unsigned i = 0; i < m->nmodules; i++) {
        int err = kernel_init_module(m->kernel, m->modules[i]);

        if (err) {
            return err;
        }
    }
    return 0;
}

int machine_ifup(Machine *m)
{
    int err = kernel_netdev_open_all(m->kernel);
    KernelEthtool et;

    if (!err && m->net) {
        netsim_start(m->net, kernel_time_ns(m->kernel));
    }
    /* What ethtool would say about it, from the driver's ethtool_ops. */
    if (!err && kernel_netdev_ethtool(m->kernel, "eth0", &et) == 0) {
        fprintf(m->diag, "sluice: eth0: ethtool: driver %s version %s bus-info %s link %s\n",
                et.driver[0] ? et.driver : "?", et.version[0] ? et.version : "?",
                et.bus_info[0] ? et.bus_info : "?",
                et.link < 0 ? "unknown" : et.link ? "yes" : "no");
    }
    return err;
}

int machine_run_for(Machine *m, uint64_t ns)
{
    return kernel_run_until(m->kernel, kernel_time_ns(m->kernel) + ns);
}

int machine_net_run(Machine *m, uint64_t max_ns)
{
    uint64_t end = kernel_time_ns(m->kernel) + max_ns;
    int err = 0;

    /* In 1 ms slices until the wire is quiet, then 10 ms more for the
     * driver to finish (completions, NAPI). */
    while (!err && m->net && netsim_busy(m->net) && kernel_time_ns(m->kernel) < end) {
        err = machine_run_for(m, 1000000);
    }
    return err ? err : machine_run_for(m, 10000000);
}

int machine_ping(Machine *m, unsigned count)
{
    uint8_t mac[6];
    uint64_t t0;
    int err;

    if (!m->net || kernel_netdev_mac(m->kernel, "eth0", mac) != 0) {
        fprintf(m->diag, "sluice: --ping: no eth0 interface up\n");
        return -ENODEV;
    }
    netsim_ping_begin(m->net, mac);
    t0 = kernel_time_ns(m->kernel);
    netsim_ping_send(m->net, 0);             /* ARP for the peer first */
    err = machine_run_for(m, 10000000);
    for (unsigned seq = 1; !err && seq <= count; seq++) {
        netsim_ping_send(m->net, (uint16_t)seq);
        err = machine_run_for(m, seq < count ? 1000000000ull : 10000000ull);
    }
    netsim_ping_end(m->net, kernel_time_ns(m->kernel) - t0);
    return err;
}

int machine_ifdown(Machine *m)
{
    KernelIfStats st;

    /* What `ip -s link` would show before the interface goes down. */
    if (m->net && kernel_netdev_stats(m->kernel, "eth0", &st) == 0) {
        fprintf(m->diag, "sluice: eth0: rx %llu packets %llu bytes %llu errors %llu dropped, "
                "tx %llu packets %llu bytes %llu errors %llu dropped\n",
                (unsigned long long)st.rx_packets, (unsigned long long)st.rx_bytes,
                (unsigned long long)st.rx_errors, (unsigned long long)st.rx_dropped,
                (unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes,
                (unsigned long long)st.tx_errors, (unsigned long long)st.tx_dropped);
    }
    return kernel_netdev_close_all(m->kernel);
}

int machine_exit_modules(Machine *m)
{
    while (m->nmodules) {
        int mod = m->modules[m->nmodules - 1], err;
        KernelBankUsage u;

        if (kernel_bank_usage(m->kernel, mod, &u) == 0) {
            char qp[48] = "unbounded", qm[48] = "unbounded";

            if (u.quota_pages != UINT64_MAX) {
                snprintf(qp, sizeof(qp), "%llu", (unsigned long long)u.quota_pages);
            }
            if (u.quota_map_entries != UINT64_MAX) {
                snprintf(qm, sizeof(qm), "%llu", (unsigned long long)u.quota_map_entries);
            }
            fprintf(m->diag, "sluice: %s: space bank at unload: %llu pages (%llu KiB, quota %s), "
                    "%llu IOMMU mapping entries (quota %s); destroyed with the module\n",
                    kernel_module_name(m->kernel, mod), (unsigned long long)u.pages,
                    (unsigned long long)u.pages * 4, qp, (unsigned long long)u.map_entries, qm);
        }
        err = kernel_exit_module(m->kernel, mod);

        if (err) {
            return err;
        }
        m->nmodules--;
    }
    kernel_dma_quiesce(m->kernel);
    if (m->net) {
        SlError e = {{0}};

        if (netsim_close(m->net, &e) != 0) {
            fprintf(m->diag, "sluice: %s\n", e.msg);
            return -EIO;
        }
    }
    return 0;
}

bool machine_guest_stopped(const Machine *m)
{
    return kernel_dead(m->kernel);
}

void machine_report(Machine *m, FILE *out)
{
    kernel_report_print(m->kernel, out);
}

/* A JSON string literal of s (quotes included). */
static void machine_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            fprintf(out, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(out, "\\u%04x", c);
        } else {
            fputc(c, out);
        }
    }
    fputc('"', out);
}

int machine_write_report(Machine *m, FILE *out, const char *driver)
{
    KernelStats s;
    IommuStats is;
    const char *sep = "";

    kernel_stats(m->kernel, &s);
    iommu_stats(m->iommu, &is);
    fprintf(out, "{\"sluice\":\"report\",\"kernel\":");
    machine_json_str(out, m->cfg.image->abi);
    fprintf(out, ",\"driver\":");
    machine_json_str(out, driver);
    fprintf(out, ",\"iommu\":\"%s\",\n\"reports\":[",
            m->iommu_off ? "off" : iommu_mode(m->iommu) == IOMMU_MODE_LAZY ? "lazy" : "strict");
    for (unsigned i = 0; i < m->njson; i++) {
        fprintf(out, "%s\n%s", sep, m->json[i]);
        sep = ",";
    }
    {
        char *buf = NULL, *line, *save = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);

        if (mem) {
            kernel_dma_reports_json(m->kernel, mem);
            fclose(mem);
            for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                fprintf(out, "%s\n%s", sep, line);
                sep = ",";
            }
            free(buf);
        }
    }
    if (kernel_dead(m->kernel)) {
        const VcpuReport *r = vcpu_report(kernel_vcpu(m->kernel));
        char sym[256];

        kernel_symbolize(m->kernel, r->rip, sym, sizeof(sym));
        fprintf(out, "%s\n{\"kind\":\"guest-stop\",\"stop\":\"%s\",\"rip\":\"0x%016llx\",\"at\":",
                sep, vcpu_stop_name(r->stop), (unsigned long long)r->rip);
        machine_json_str(out, sym);
        fprintf(out, ",\"what\":");
        machine_json_str(out, r->what);
        fprintf(out, ",\"phase\":\"%s\"}", kernel_phase_name(kernel_phase(m->kernel)));
    }
    fprintf(out, "],\n\"summary\":{\"probes\":%u,\"removes\":%u,\"netdevs_registered\":%u,"
            "\"warnings\":%u,\"heap_live_bytes\":%llu,\"heap_live_objects\":%u,"
            "\"iommu_map_calls\":%llu,\"iommu_unmap_calls\":%llu,\"pins_now\":%llu,"
            "\"pins_peak\":%llu,\"iommu_faults\":%u,\"dma_api_reports\":%u}}\n",
            s.probes, s.removes, s.netdevs_registered_total, s.warnings,
            (unsigned long long)s.heap_live_bytes, s.heap_live_objects,
            (unsigned long long)is.map_calls, (unsigned long long)is.unmap_calls,
            (unsigned long long)is.pins_now, (unsigned long long)is.pins_peak,
            iommu_fault_count(m->iommu), s.dma_api_reports);
    return ferror(out) ? -EIO : 0;
}

void machine_summary(Machine *m, FILE *out)
{
    KernelStats s;
    KernelNetStats ns;
    IommuStats is;
    char leaks[512] = "";
    size_t n = 0;

    kernel_stats(m->kernel, &s);
    kernel_net_stats(m->kernel, &ns);
    iommu_stats(m->iommu, &is);
#define LEAK(cond, ...)                                                        \
    if (cond) {                                                                \
        n += (size_t)snprintf(leaks + n, sizeof(leaks) - n, __VA_ARGS__);     \
    }
    LEAK(s.heap_live_objects, " [heap=%llu bytes in %u objects]",
         (unsigned long long)s.heap_live_bytes, s.heap_live_objects)
    LEAK(s.netdevs_live, " [netdevs=%u]", s.netdevs_live)
    LEAK(s.devices_enabled, " [enabled devices=%u]", s.devices_enabled)
    LEAK(s.regions_requested, " [requested BARs=%u]", s.regions_requested)
    LEAK(s.iomaps_live, " [iomaps=%u]", s.iomaps_live)
    LEAK(s.coherent_live, " [coherent DMA buffers=%u]", s.coherent_live)
    LEAK(is.pins_now, " [pinned DMA pages=%llu]", (unsigned long long)is.pins_now)
    LEAK(ns.irq_handlers, " [IRQ handlers=%u]", ns.irq_handlers)
    LEAK(ns.work_pending, " [work items=%u]", ns.work_pending)
    LEAK(ns.timers_pending, " [timers=%u]", ns.timers_pending)
#undef LEAK
    fprintf(out, "sluice: summary: %u probe%s, %u remove%s, %u netdev%s registered, "
            "%u warning%s; %s%s\n",
            s.probes, s.probes == 1 ? "" : "s", s.removes, s.removes == 1 ? "" : "s",
            s.netdevs_registered_total, s.netdevs_registered_total == 1 ? "" : "s",
            s.warnings, s.warnings == 1 ? "" : "s",
            m->nmodules ? "modules still loaded (not unloaded after the stop)"
                        : n ? "left behind:" : "nothing left behind",
            m->nmodules ? "" : leaks);
    if (!m->iommu_off) {
        iommu_print_summary(m->iommu, out);
    }
}
