/*
 * kernel-guest/kapi_printk.c: printk and the dev_* / netdev_* loggers,
 * with the prefixes Linux 6.1 puts on them (drivers/base/core.c
 * dev_printk_emit, net/core/dev.c __netdev_printk):
 *
 *   dev_info(&pdev->dev, ...)    "8139too 0000:00:02.0: ..."
 *   netdev_info(dev, ...)        "8139too 0000:00:02.0 eth0: ..."
 *   netdev_info before register  "8139too 0000:00:02.0 (unnamed net_device) (uninitialized): ..."
 */
#include "kernel-guest/kernel_internal.h"

#include <string.h>

#include "kernel-guest/kfmt.h"

typedef struct KArgs {
    KfmtSource src;
    Kernel *k;
    VcpuCall *c;
    unsigned next;
} KArgs;

static uint64_t kargs_next(KfmtSource *s)
{
    KArgs *a = (KArgs *)s;

    return vcpu_call_arg(a->c, a->next++);
}

static int kargs_read(KfmtSource *s, uint64_t gva, void *buf, size_t len)
{
    KArgs *a = (KArgs *)s;
    const void *p = kmem_host_ro(&a->k->mem, gva, len);

    if (p) {
        memcpy(buf, p, len);
        return 0;
    }
    return vcpu_read(a->k->cpu, gva, buf, len);
}

static size_t kargs_symbolize(KfmtSource *s, uint64_t addr, int with_offset, char *buf,
                              size_t cap)
{
    KArgs *a = (KArgs *)s;
    char *plus;

    kernel_symbolize(a->k, addr, buf, cap);
    if (buf[0] == '0' && buf[1] == 'x') {
        return 0;
    }
    if (!with_offset && (plus = strchr(buf, '+')) != NULL) {
        char *mod = strstr(plus, " [");

        if (mod) {
            memmove(plus, mod, strlen(mod) + 1);
        } else {
            *plus = 0;
        }
    }
    return strlen(buf);
}

/* Formats the guest format string at argument fmt_arg with the arguments
 * after it. */
static void kapi_format(Kernel *k, VcpuCall *c, unsigned fmt_arg, char *out, size_t cap)
{
    KArgs a = {
        .src = {.next_arg = kargs_next, .read_mem = kargs_read, .symbolize = kargs_symbolize},
        .k = k, .c = c, .next = fmt_arg + 1,
    };

    kfmt_format(out, cap, vcpu_call_arg(c, fmt_arg), &a.src);
}

/* Emits text line by line with a level and a prefix on each line. */
static void kapi_emit(Kernel *k, int level, const char *prefix, char *text)
{
    int lv = kfmt_strip_level(text);
    char *line = text, *nl;

    if (lv && lv != 'c') {
        level = lv;
    }
    if (!level) {
        level = '4';             /* MESSAGE_LOGLEVEL_DEFAULT */
    }
    /* A message without a final newline leaves its line open; KERN_CONT
     * (pr_cont) continues it, anything else ends it first (printk.c). */
    if (k->cont_open && lv != 'c') {
        kernel_log(k, k->cont_level, "%s", k->cont_line);
        k->cont_open = false;
    }
    if (!k->cont_open) {
        snprintf(k->cont_line, sizeof(k->cont_line), "%s", prefix);
        k->cont_level = level;
    }
    for (;;) {
        size_t used = strlen(k->cont_line);

        nl = strchr(line, '\n');
        if (nl) {
            *nl = 0;
        }
        snprintf(k->cont_line + used, sizeof(k->cont_line) - used, "%s", line);
        if (!nl) {
            k->cont_open = k->cont_line[0] != 0;
            return;
        }
        kernel_log(k, k->cont_level, "%s", k->cont_line);
        k->cont_open = false;
        line = nl + 1;
        if (!*line) {
            return;
        }
        snprintf(k->cont_line, sizeof(k->cont_line), "%s", prefix);
    }
}

/* dev_name(): init_name, else the kobject's name. */
static void kdev_name(Kernel *k, uint64_t dev, char *buf, size_t cap)
{
    uint64_t n = kernel_field_read(k, dev, "device", "init_name");

    if (!n) {
        n = kernel_field_read(k, dev, "device", "kobj.name");
    }
    buf[0] = 0;
    if (n) {
        kernel_read_str(k, n, buf, cap);
    }
}

/* dev_driver_string(): the bound driver's name, else the bus's name. */
static void kdev_driver_string(Kernel *k, uint64_t dev, char *buf, size_t cap)
{
    uint64_t drv = kernel_field_read(k, dev, "device", "driver");
    uint64_t bus = kernel_field_read(k, dev, "device", "bus");
    uint64_t n = drv ? kernel_field_read(k, drv, "device_driver", "name")
                     : bus ? kernel_field_read(k, bus, "bus_type", "name") : 0;

    buf[0] = 0;
    if (n) {
        kernel_read_str(k, n, buf, cap);
    }
}

static void kdev_prefix(Kernel *k, uint64_t dev, char *buf, size_t cap)
{
    char drv[64], name[64];

    if (!dev) {
        snprintf(buf, cap, "(NULL device *): ");
        return;
    }
    kdev_driver_string(k, dev, drv, sizeof(drv));
    kdev_name(k, dev, name, sizeof(name));
    snprintf(buf, cap, "%s %s: ", drv, name);
}

static const char *knetdev_reg_state(Kernel *k, uint64_t dev)
{
    static const struct { const char *name, *text; } states[] = {
        {"NETREG_UNINITIALIZED", " (uninitialized)"}, {"NETREG_REGISTERED", ""},
        {"NETREG_UNREGISTERING", " (unregistering)"}, {"NETREG_UNREGISTERED", " (unregistered)"},
        {"NETREG_RELEASED", " (released)"}, {"NETREG_DUMMY", " (dummy)"},
    };
    uint64_t st = kernel_field_read(k, dev, "net_device", "reg_state");

    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        int64_t v;

        if (btf_layout_enum_value(k->btf, states[i].name, &v) == 0 && (uint64_t)v == st) {
            return states[i].text;
        }
    }
    return " (unknown)";
}

static void knetdev_prefix(Kernel *k, uint64_t dev, char *buf, size_t cap)
{
    char name[32], drv[64], pname[64];
    long off = btf_layout_offsetof(k->btf, "net_device", "name");
    uint64_t parent;

    if (!dev) {
        snprintf(buf, cap, "(NULL net_device): ");
        return;
    }
    kernel_read_str(k, dev + (uint64_t)(off < 0 ? 0 : off), name, sizeof(name));
    if (!name[0] || strchr(name, '%')) {
        snprintf(name, sizeof(name), "(unnamed net_device)");
    }
    parent = kernel_field_read(k, dev, "net_device", "dev.parent");
    if (parent) {
        kdev_driver_string(k, parent, drv, sizeof(drv));
        kdev_name(k, parent, pname, sizeof(pname));
        snprintf(buf, cap, "%s %s %s%s: ", drv, pname, name, knetdev_reg_state(k, dev));
    } else {
        snprintf(buf, cap, "%s%s: ", name, knetdev_reg_state(k, dev));
    }
}

static uint64_t kapi_printk(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    char text[2048];

    kapi_format(k, c, 0, text, sizeof(text));
    kapi_emit(k, 0, "", text);
    return strlen(text);
}

static uint64_t kapi_dev_log(Kernel *k, VcpuCall *c, int level)
{
    char text[2048], prefix[160];

    kapi_format(k, c, 1, text, sizeof(text));
    kdev_prefix(k, c->arg[0], prefix, sizeof(prefix));
    kapi_emit(k, level, prefix, text);
    return 0;
}

static uint64_t kapi_netdev_log(Kernel *k, VcpuCall *c, int level, unsigned dev_arg)
{
    char text[2048], prefix[200];

    kapi_format(k, c, dev_arg + 1, text, sizeof(text));
    knetdev_prefix(k, vcpu_call_arg(c, dev_arg), prefix, sizeof(prefix));
    kapi_emit(k, level, prefix, text);
    return 0;
}

#define KAPI_LEVELED(fn, call)                                     \
    static uint64_t fn(void *opaque, VcpuCall *c) { return call; }

KAPI_LEVELED(kapi_dev_emerg, kapi_dev_log(opaque, c, '0'))
KAPI_LEVELED(kapi_dev_alert, kapi_dev_log(opaque, c, '1'))
KAPI_LEVELED(kapi_dev_crit, kapi_dev_log(opaque, c, '2'))
KAPI_LEVELED(kapi_dev_err, kapi_dev_log(opaque, c, '3'))
KAPI_LEVELED(kapi_dev_warn, kapi_dev_log(opaque, c, '4'))
KAPI_LEVELED(kapi_dev_notice, kapi_dev_log(opaque, c, '5'))
KAPI_LEVELED(kapi_dev_info, kapi_dev_log(opaque, c, '6'))
KAPI_LEVELED(kapi_netdev_emerg, kapi_netdev_log(opaque, c, '0', 0))
KAPI_LEVELED(kapi_netdev_alert, kapi_netdev_log(opaque, c, '1', 0))
KAPI_LEVELED(kapi_netdev_crit, kapi_netdev_log(opaque, c, '2', 0))
KAPI_LEVELED(kapi_netdev_err, kapi_netdev_log(opaque, c, '3', 0))
KAPI_LEVELED(kapi_netdev_warn, kapi_netdev_log(opaque, c, '4', 0))
KAPI_LEVELED(kapi_netdev_notice, kapi_netdev_log(opaque, c, '5', 0))
KAPI_LEVELED(kapi_netdev_info, kapi_netdev_log(opaque, c, '6', 0))

/* netdev_printk(const char *level, dev, fmt, ...): level is a KERN_ string. */
static uint64_t kapi_netdev_printk(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    char lv[4] = "";

    kernel_read_str(k, c->arg[0], lv, sizeof(lv));
    return kapi_netdev_log(k, c, lv[0] == 1 && lv[1] ? lv[1] : '4', 1);
}

/* The dynamic-debug hooks run only when a pr_debug site is enabled (its
 * jump label patched); the first argument is the descriptor. */
static uint64_t kapi_dynamic_pr_debug(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    char text[2048];

    kapi_format(k, c, 1, text, sizeof(text));
    kapi_emit(k, '7', "", text);
    return 0;
}

static uint64_t kapi_dynamic_dev_dbg(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    char text[2048], prefix[160];

    kapi_format(k, c, 2, text, sizeof(text));
    kdev_prefix(k, c->arg[1], prefix, sizeof(prefix));
    kapi_emit(k, '7', prefix, text);
    return 0;
}

static uint64_t kapi_dynamic_netdev_dbg(void *opaque, VcpuCall *c)
{
    return kapi_netdev_log(opaque, c, '7', 1);
}

static uint64_t kapi_warn_printk(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    char text[2048];

    kapi_format(k, c, 0, text, sizeof(text));
    kapi_emit(k, '4', "", text);
    return 0;
}

/* snprintf(buf, size, fmt, ...) into guest memory. */
static uint64_t kapi_snprintf(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    char text[4096];
    size_t n, size = c->arg[1];
    void *dst;

    kapi_format(k, c, 2, text, sizeof(text));
    n = strlen(text);
    if (size) {
        size_t w = n < size - 1 ? n : size - 1;

        dst = kmem_host(&k->mem, c->arg[0], w + 1);
        if (!dst) {
            vcpu_raise(c->cpu, "snprintf into bad buffer 0x%llx", (unsigned long long)c->arg[0]);
            return 0;
        }
        memcpy(dst, text, w);
        ((char *)dst)[w] = 0;
    }
    return n;
}

/* dev_driver_string(dev): a guest pointer to the name. */
static uint64_t kapi_dev_driver_string(void *opaque, VcpuCall *c)
{
    Kernel *k = opaque;
    uint64_t drv = kernel_field_read(k, c->arg[0], "device", "driver");
    uint64_t bus = kernel_field_read(k, c->arg[0], "device", "bus");

    if (drv) {
        return kernel_field_read(k, drv, "device_driver", "name");
    }
    return bus ? kernel_field_read(k, bus, "bus_type", "name") : kernel_strdup(k, "");
}

static uint64_t kapi_net_ratelimit(void *opaque, VcpuCall *c)
{
    return 1;
}

int kapi_printk_register(Kernel *k, SlError *e)
{
    static const struct { const char *name; VcpuHostFn fn; } fns[] = {
        {"_printk", kapi_printk},
        {"_dev_emerg", kapi_dev_emerg}, {"_dev_alert", kapi_dev_alert},
        {"_dev_crit", kapi_dev_crit}, {"_dev_err", kapi_dev_err},
        {"_dev_warn", kapi_dev_warn}, {"_dev_notice", kapi_dev_notice},
        {"_dev_info", kapi_dev_info},
        {"netdev_emerg", kapi_netdev_emerg}, {"netdev_alert", kapi_netdev_alert},
        {"netdev_crit", kapi_netdev_crit}, {"netdev_err", kapi_netdev_err},
        {"netdev_warn", kapi_netdev_warn}, {"netdev_notice", kapi_netdev_notice},
        {"netdev_info", kapi_netdev_info}, {"netdev_printk", kapi_netdev_printk},
        {"__dynamic_pr_debug", kapi_dynamic_pr_debug},
        {"__dynamic_dev_dbg", kapi_dynamic_dev_dbg},
        {"__dynamic_netdev_dbg", kapi_dynamic_netdev_dbg},
        {"__warn_printk", kapi_warn_printk},
        {"snprintf", kapi_snprintf},
        {"dev_driver_string", kapi_dev_driver_string},
        {"net_ratelimit", kapi_net_ratelimit},
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int err = kapi_fn(k, fns[i].name, fns[i].fn, e);

        if (err) {
            return err;
        }
    }
    return 0;
}
