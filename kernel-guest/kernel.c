/*
 * kernel-guest/kernel.c: boot of the emulated kernel (address space, per-CPU
 * area, stack, served API, PCI enumeration) and the life of modules: load,
 * init, exit.
 */
#include "kernel-guest/kernel_internal.h"
#include "kernel-guest/kvmemmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL_DEFAULT_RAM (128ull << 20)
#define KERNEL_DEFAULT_BUDGET 20000000ull
#define KERNEL_STUB_BYTES (64ull << 10)      /* 4096 import slots */
#define KERNEL_DATA_BYTES (1ull << 20)
#define KERNEL_PERCPU_BYTES (64ull << 10)
#define KERNEL_STACK_BYTES (32ull << 10)
/* The stack canary at %gs:0x28: fixed, so runs are deterministic. */
#define KERNEL_STACK_CANARY 0x5a17c3d2e1f00d00ull

/* bug_entry.flags (include/asm-generic/bug.h) */
#define KERNEL_BUGFLAG_WARNING 1
#define KERNEL_BUGFLAG_ONCE 2
#define KERNEL_BUGFLAG_DONE 4

static const char *const kernel_phase_names[] = {
    [KERNEL_PHASE_BOOT] = "boot", [KERNEL_PHASE_INIT] = "init",
    [KERNEL_PHASE_PROBE] = "probe", [KERNEL_PHASE_RUN] = "run",
    [KERNEL_PHASE_REMOVE] = "remove", [KERNEL_PHASE_EXIT] = "exit",
};

const char *kernel_phase_name(KernelPhase p)
{
    return (unsigned)p <= KERNEL_PHASE_EXIT ? kernel_phase_names[p] : "?";
}

void kernel_log(Kernel *k, int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (k->host.log) {
        k->host.log(k->host.opaque, level, line);
    }
}

/* ---- registration of served symbols ---- */

int kapi_fn(Kernel *k, const char *name, VcpuHostFn fn, SlError *e)
{
    uint64_t addr;
    int err = vcpu_gateway_add(k->cpu, name, fn, k, &addr, e);

    return err ? err : ksyms_add(&k->syms, name, addr, KSYM_FUNC, e);
}

int kapi_code(Kernel *k, const char *name, const uint8_t *code, size_t len, SlError *e)
{
    uint64_t addr;
    int err = vcpu_gateway_add_code(k->cpu, name, code, len, &addr, e);

    return err ? err : ksyms_add(&k->syms, name, addr, KSYM_FUNC, e);
}

uint64_t kapi_data(Kernel *k, const char *name, uint64_t size, uint64_t align, SlError *e)
{
    uint64_t va = (k->data_va + k->data_used + align - 1) & ~(align - 1);

    if (va + size > k->data_va + k->data_size) {
        sl_error(e, -ENOSPC, "kernel: data area full adding %s", name);
        return 0;
    }
    k->data_used = va + size - k->data_va;
    return ksyms_add(&k->syms, name, va, KSYM_DATA, e) ? 0 : va;
}

uint64_t kapi_percpu(Kernel *k, const char *name, uint64_t size, uint64_t align, SlError *e)
{
    uint64_t off = (k->percpu_used + align - 1) & ~(align - 1);

    if (off + size > k->percpu_size) {
        sl_error(e, -ENOSPC, "kernel: per-CPU area full adding %s", name);
        return 0;
    }
    k->percpu_used = off + size;
    return ksyms_add(&k->syms, name, off, KSYM_PERCPU, e) ? 0 : off;
}

uint64_t kernel_percpu_va(const Kernel *k, uint64_t off)
{
    return k->percpu_va + off;
}

/* The slot of an import sluice does not serve (a "todo" symbol, or any
 * import under --allow-unserved): calling it is a report. */
static uint64_t kernel_unserved_call(void *opaque, VcpuCall *c)
{
    vcpu_raise(c->cpu, "call to unserved import %s (exported by Linux, not served by sluice)",
               vcpu_call_name(c));
    return 0;
}

int kapi_todo(Kernel *k, const char *name, SlError *e)
{
    uint64_t addr;
    int err = vcpu_gateway_add(k->cpu, name, kernel_unserved_call, k, &addr, e);

    return err ? err : ksyms_add(&k->syms, name, addr, KSYM_TODO, e);
}

/* ---- boot ---- */

static size_t kernel_vcpu_symbolize(void *opaque, uint64_t addr, char *buf, size_t cap)
{
    Kernel *k = opaque;
    const KSym *s;

    for (unsigned i = 0; i < KERNEL_MAX_MODULES; i++) {
        size_t n = k->modules[i] ? ko_symbolize(k->modules[i], addr, buf, cap) : 0;

        if (n) {
            return n;
        }
    }
    if (addr >= k->data_va && addr < k->data_va + k->data_size &&
        (s = ksyms_lookup_addr(&k->syms, addr)) != NULL) {
        int n = snprintf(buf, cap, "%s+0x%llx [kernel data]", s->name,
                         (unsigned long long)(addr - s->addr));
        return n > 0 ? (size_t)n : 0;
    }
    return 0;
}

void kernel_symbolize(const Kernel *k, uint64_t addr, char *buf, size_t cap)
{
    vcpu_symbolize(k->cpu, addr, buf, cap);
}

void kernel_current_insn(Kernel *k, char *buf, size_t cap)
{
    uint64_t rip = vcpu_current_rip(k->cpu);

    if (!rip) {
        snprintf(buf, cap, "-");
        return;
    }
    vcpu_symbolize(k->cpu, rip, buf, cap);
    if (vcpu_current_is_tail_call(k->cpu)) {
        size_t n = strlen(buf);

        snprintf(buf + n, cap - n, " (tail call)");
    }
}

/* ud2: a WARN() continues after printing its warning, a BUG() stops. */
static bool kernel_ud2(void *opaque, uint64_t rip, char *what, size_t cap)
{
    Kernel *k = opaque;
    long esz = btf_layout_sizeof(k->btf, "bug_entry");
    long o_addr = btf_layout_offsetof(k->btf, "bug_entry", "bug_addr_disp");
    long o_file = btf_layout_offsetof(k->btf, "bug_entry", "file_disp");
    long o_line = btf_layout_offsetof(k->btf, "bug_entry", "line");
    long o_flags = btf_layout_offsetof(k->btf, "bug_entry", "flags");
    char sym[256], file[256] = "?";

    if (esz <= 0 || o_addr < 0 || o_file < 0 || o_line < 0 || o_flags < 0) {
        return false;
    }
    for (unsigned i = 0; i < KERNEL_MAX_MODULES; i++) {
        KoModule *m = k->modules[i];

        if (!m || !ko_contains(m, rip)) {
            continue;
        }
        for (unsigned b = 0; b < m->nbugs; b++) {
            uint64_t e = m->bugs + (uint64_t)b * (uint64_t)esz;
            int32_t ad = (int32_t)kernel_read_u32(k, e + (uint64_t)o_addr);
            int32_t fd = (int32_t)kernel_read_u32(k, e + (uint64_t)o_file);
            uint16_t line = kernel_read_u16(k, e + (uint64_t)o_line);
            uint16_t flags = kernel_read_u16(k, e + (uint64_t)o_flags);

            if (e + (uint64_t)o_addr + (uint64_t)(int64_t)ad != rip) {
                continue;
            }
            kernel_read_str(k, e + (uint64_t)o_file + (uint64_t)(int64_t)fd, file, sizeof(file));
            vcpu_symbolize(k->cpu, rip, sym, sizeof(sym));
            if (!(flags & KERNEL_BUGFLAG_WARNING)) {
                snprintf(what, cap, "kernel BUG at %s:%u! (%s)", file, line, sym);
                return false;
            }
            k->warnings++;
            if (flags & KERNEL_BUGFLAG_ONCE) {
                if (flags & KERNEL_BUGFLAG_DONE) {
                    return true;
                }
                kernel_write_u16(k, e + (uint64_t)o_flags, flags | KERNEL_BUGFLAG_DONE);
            }
            kernel_log(k, '4', "WARNING: CPU: 0 PID: 1 at %s:%u %s", file, line, sym);
            return true;
        }
    }
    return false;
}

static int kernel_map_area(Kernel *k, uint64_t va, uint64_t len, unsigned prot,
                           uint64_t *pa, SlError *e)
{
    *pa = kmem_alloc_pages(&k->mem, len / KMEM_PAGE_SIZE);
    if (*pa == UINT64_MAX) {
        return sl_error(e, -ENOMEM, "kernel: guest RAM too small");
    }
    return kmem_map(&k->mem, va, *pa, len, prot, e);
}

/* Kernel text (gateway stubs, host-call trampoline), kernel data, the
 * per-CPU area behind %gs and the process stack (guard page below it). */
static int kernel_boot_areas(Kernel *k, SlError *e)
{
    uint64_t pa, stack_va;
    uint8_t *tramp;
    long canary;
    int err;

    err = kernel_map_area(k, KMEM_KERNEL_TEXT, KERNEL_STUB_BYTES + KMEM_PAGE_SIZE,
                          VCPU_PROT_READ | VCPU_PROT_EXEC, &pa, e);
    if (err) {
        return err;
    }
    err = vcpu_gateway_init(k->cpu, KMEM_KERNEL_TEXT, k->mem.ram + pa, KERNEL_STUB_BYTES, e);
    if (err) {
        return err;
    }
    tramp = k->mem.ram + pa + KERNEL_STUB_BYTES;
    memset(tramp, 0xf4, KMEM_PAGE_SIZE);                     /* hlt */
    vcpu_set_trampoline(k->cpu, KMEM_KERNEL_TEXT + KERNEL_STUB_BYTES);

    k->data_size = KERNEL_DATA_BYTES;
    k->data_va = KMEM_KERNEL_DATA;
    err = kernel_map_area(k, k->data_va, k->data_size, VCPU_PROT_READ | VCPU_PROT_WRITE, &pa, e);
    if (err) {
        return err;
    }

    pa = kmem_alloc_pages(&k->mem, KERNEL_PERCPU_BYTES / KMEM_PAGE_SIZE);
    if (pa == UINT64_MAX) {
        return sl_error(e, -ENOMEM, "kernel: guest RAM too small");
    }
    k->percpu_va = KMEM_PAGE_OFFSET + pa;
    k->percpu_size = KERNEL_PERCPU_BYTES;
    /* fixed_percpu_data sits at offset 0: the stack canary is %gs:0x28. */
    canary = btf_layout_offsetof(k->btf, "fixed_percpu_data", "stack_canary");
    if (canary < 0) {
        return sl_error(e, -ENOENT, "%s: .BTF: no fixed_percpu_data.stack_canary", k->cfg.btf_path);
    }
    kernel_write_u64(k, k->percpu_va + (uint64_t)canary, KERNEL_STACK_CANARY);
    k->percpu_used = (uint64_t)btf_layout_sizeof(k->btf, "fixed_percpu_data");
    vcpu_set_gs_base(k->cpu, k->percpu_va);

    stack_va = kmem_reserve_vmalloc(&k->mem, KMEM_PAGE_SIZE + KERNEL_STACK_BYTES) + KMEM_PAGE_SIZE;
    err = kernel_map_area(k, stack_va, KERNEL_STACK_BYTES, VCPU_PROT_READ | VCPU_PROT_WRITE, &pa, e);
    if (err) {
        return err;
    }
    k->stack_top = stack_va + KERNEL_STACK_BYTES;
    vcpu_set_stack(k->cpu, k->stack_top);
    return 0;
}

static int (*const kernel_apis[])(Kernel *, SlError *) = {
    kapi_runtime_register, kapi_printk_register, kapi_mem_register,
    kapi_lock_register, kapi_time_register, kapi_pci_register,
    kapi_io_register, kapi_netdev_register, kapi_dma_register,
    kapi_irq_register, kapi_napi_register, kapi_work_register,
    kapi_skb_register, kapi_res_register, kapi_lib_register, kapi_todo_register,
};

int kernel_new(const KernelConfig *cfg, const KernelHostOps *host, Kernel **out,
               SlError *e)
{
    Kernel *k = calloc(1, sizeof(*k));
    int err;

    *out = NULL;
    if (!k) {
        return sl_error(e, -ENOMEM, "kernel: out of memory");
    }
    k->cfg = *cfg;
    k->host = *host;
    k->current_module = -1;
    k->hash_key = 0x736c75696365ull;    /* "sluice": %p hashes are stable */
    if (!k->cfg.ram_bytes) {
        k->cfg.ram_bytes = KERNEL_DEFAULT_RAM;
    }
    if (!k->cfg.block_budget) {
        k->cfg.block_budget = KERNEL_DEFAULT_BUDGET;
    }
    if (!k->cfg.hz) {
        k->cfg.hz = 250;
    }
    err = btf_layout_open(cfg->btf_path, &k->btf, e);
    if (!err) {
        k->cpu = vcpu_new(e);
        err = k->cpu ? 0 : -EIO;
    }
    err = err ? err : kmem_init(&k->mem, k->cpu, k->cfg.ram_bytes, e);
    k->mem.refused = kernel_quota_refused;
    k->mem.refused_opaque = k;
    err = err ? err : kernel_boot_areas(k, e);
    err = err ? err : kvmemmap_init(k, e);
    for (size_t i = 0; !err && i < sizeof(kernel_apis) / sizeof(kernel_apis[0]); i++) {
        err = kernel_apis[i](k, e);
    }
    if (!err) {
        vcpu_set_block_budget(k->cpu, k->cfg.block_budget);
        vcpu_set_symbolizer(k->cpu, kernel_vcpu_symbolize, k);
        vcpu_set_ud2_handler(k->cpu, kernel_ud2, k);
        vcpu_set_pio(k->cpu, host->pio_read, host->pio_write, host->opaque);
        err = kpci_enumerate(k, e);
    }
    k->boot_live_bytes = k->mem.live_bytes;
    k->boot_live_objects = k->mem.nallocs;
    if (err) {
        kernel_free(k);
        return err;
    }
    *out = k;
    return 0;
}

void kernel_free(Kernel *k)
{
    if (!k) {
        return;
    }
    for (unsigned i = 0; i < KERNEL_MAX_MODULES; i++) {
        ko_unload(k->modules[i], &k->mem);
    }
    kmem_fini(&k->mem);
    vcpu_free(k->cpu);
    btf_layout_close(k->btf);
    ksyms_fini(&k->syms);
    free(k);
}

Vcpu *kernel_vcpu(Kernel *k)
{
    return k->cpu;
}

KernelPhase kernel_phase(const Kernel *k)
{
    return k->phase;
}

bool kernel_dead(const Kernel *k)
{
    return vcpu_dead(k->cpu);
}

void kernel_report_print(Kernel *k, FILE *out)
{
    const VcpuReport *r = vcpu_report(k->cpu);
    const char *mod = "kernel";
    char prefix[96];

    for (unsigned i = 0; i < KERNEL_MAX_MODULES; i++) {
        if (k->modules[i] && ko_contains(k->modules[i], r->rip)) {
            mod = k->modules[i]->name;
        }
    }
    if (k->current_module >= 0 && k->modules[k->current_module] && !strcmp(mod, "kernel")) {
        mod = k->modules[k->current_module]->name;
    }
    snprintf(prefix, sizeof(prefix), "sluice: %s: ", mod);
    fprintf(out, "sluice: %s: guest stopped during %s\n", mod, kernel_phase_name(k->phase));
    vcpu_report_print(k->cpu, r, prefix, out);
}

void kernel_stats(const Kernel *k, KernelStats *s)
{
    memset(s, 0, sizeof(*s));
    s->drivers_registered = k->npci_drivers;
    for (unsigned i = 0; i < k->npci_devices; i++) {
        s->devices_bound += k->pci_devices[i].driver >= 0;
    }
    for (unsigned i = 0; i < k->nnetdevs; i++) {
        s->netdevs_registered += k->netdevs[i].registered;
    }
    s->warnings = k->warnings;
    s->probes = k->probes;
    s->removes = k->removes;
    s->netdevs_registered_total = k->netdevs_registered_total;
    s->netdevs_live = k->nnetdevs;
    for (unsigned i = 0; i < k->npci_devices; i++) {
        const KPciDevice *d = &k->pci_devices[i];
        long off = btf_layout_offsetof(k->btf, "pci_dev", "enable_cnt");
        uint32_t cnt = 0;
        const void *p = off >= 0 ? kmem_host_ro(&k->mem, d->pdev + (uint64_t)off, 4) : NULL;

        if (p) {
            memcpy(&cnt, p, 4);
        }
        s->devices_enabled += cnt != 0;
        s->regions_requested += (unsigned)__builtin_popcount(d->bar_requested);
    }
    for (unsigned i = 0; i < k->niomaps; i++) {
        s->iomaps_live += k->iomaps[i].len != 0;
    }
    s->coherent_live = kdma_coherent_live(k);
    s->dma_api_reports = (unsigned)k->dma.reports_total;
    s->heap_live_bytes = k->mem.live_bytes - k->boot_live_bytes + k->mem.reclaimed_bytes;
    s->heap_live_objects = k->mem.nallocs - k->boot_live_objects + k->mem.reclaimed_objects;
}

int kernel_call(Kernel *k, int mod, KernelPhase ph, uint64_t fn,
                const uint64_t *args, unsigned nargs, uint64_t *ret)
{
    KernelPhase old_phase = k->phase;
    int old_mod = k->current_module, err;
    int32_t old_bank = k->mem.bank_now;

    k->phase = ph;
    k->current_module = mod;
    /* What the module's code allocates is charged to its bank. */
    if (mod >= 0 && mod < KERNEL_MAX_MODULES && k->modules[mod]) {
        k->mem.bank_now = k->module_bank[mod];
    }
    err = vcpu_call(k->cpu, fn, args, nargs, ret);
    if (!err) {
        k->phase = old_phase;
        k->current_module = old_mod;
        k->mem.bank_now = old_bank;
    }
    return err;
}
