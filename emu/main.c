/*
 * emu/main.c: the sluice command line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu/disk_cmd.h"
#include "emu/machine.h"
#include "emu/nic.h"
#include "emu/persist.h"
#include "images/kimage.h"

#define SLUICE_VERSION "0.1.0"

/* Exit codes (also in --help). */
enum {
    EXIT_HOST = 1,               /* bad file, missing image, ... */
    EXIT_USAGE = 2,              /* bad command line */
    EXIT_GUEST = 3,              /* the driver stopped: see the report */
    EXIT_DRIVER = 4,             /* module init returned an error */
};

static const char sluice_usage[] =
    "usage: sluice <command> [options]\n"
    "\n"
    "Runs unmodified Linux driver binaries (Debian's .ko files) on emulated\n"
    "devices behind a software IOMMU, with the kernel API served by sluice.\n"
    "\n"
    "commands:\n"
    "  run --driver NAME|PATH   load the driver (and what it depends on), run its\n"
    "                           init (which probes the emulated device), then\n"
    "                           remove it and run its exit\n"
    "  images fetch             download and unpack a Debian kernel image into\n"
    "                           the cache (idempotent)\n"
    "  images info              show the cached image\n"
    "  restart --disk IMG       boot the machine of the last checkpoint on IMG\n"
    "                           again (RAM, kernel, IOMMU; the device is reset),\n"
    "                           then run on (--run, --ping) and unload\n"
    "  disk create IMG --size N create a checkpointing-disk image (see\n"
    "                           sluice disk --help)\n"
    "  disk check IMG           fsck: explain every inconsistency, change nothing\n"
    "  disk info IMG            superblock, ranges, checkpoint headers\n"
    "\n"
    "run options:\n"
    "  --driver NAME|PATH       a module name from the cached kernel (8139too) or\n"
    "                           a path to any .ko file\n"
    "  --param NAME=VALUE       a module parameter for the driver (repeatable)\n"
    "  --abi ABI                kernel ABI to use, e.g. 6.1.0-56 (default: the\n"
    "                           newest fetched); fetched first if missing\n"
    "  --device MODEL           device on PCI 00:02.0: rtl8139, ne2000, pcnet,\n"
    "                           e1000, cdma (a toy DMA engine for tests) or none;\n"
    "                           default: the model the driver drives, else rtl8139\n"
    "  --trace-mmio FILE        write one line per device register access:\n"
    "                           phase kind bar offset size value instruction\n"
    "                           (kind: R/W = BAR read/write, CR/CW = config space)\n"
    "  --allow-unserved         load drivers whose imports sluice does not serve;\n"
    "                           calling one is then a report\n"
    "  --block-budget N         translated blocks one host->guest call may run\n"
    "                           before it is reported as a runaway loop\n"
    "                           (default 20000000)\n"
    "  --ram MIB                guest RAM in MiB (default 128)\n"
    "  --iommu MODE             strict (default: unmap invalidates at once),\n"
    "                           lazy (deferred invalidation, like Linux's flush\n"
    "                           queue) or off (DMA addresses are guest-physical)\n"
    "  --pin-limit BYTES        bytes of guest memory one device may have pinned\n"
    "                           for DMA (K/M/G suffixes; default unbounded)\n"
    "  --pin-limit-global BYTES\n"
    "                           the same bound over all devices\n"
    "  --mem-limit BYTES        quota of each driver module's space bank: its\n"
    "                           image, kmalloc arenas and DMA buffers (K/M/G;\n"
    "                           default unbounded); beyond it kmalloc and\n"
    "                           dma_alloc_coherent return NULL\n"
    "  --map-limit N            quota of each driver module's space bank in IOMMU\n"
    "                           mapping entries (pages mapped for DMA; default\n"
    "                           unbounded); beyond it a DMA map fails\n"
    "  --report FILE.json       write every report of the run (IOMMU faults,\n"
    "                           DMA-API misuse, a guest stop) and a summary as JSON\n"
    "  --ifup                   after probe, bring the interfaces up (ndo_open),\n"
    "                           then down again (ndo_stop) before remove\n"
    "  --run MS                 with the interface up, run the machine this many\n"
    "                           milliseconds of virtual time (timers, watchdogs)\n"
    "                           before any --ping or --send traffic\n"
    "  --ping N                 ping the built-in peer 10.0.2.2 N times through\n"
    "                           the driver (implies --ifup)\n"
    "  --send FILE.pcap         frames the host sends through the driver, at their\n"
    "                           timestamps (implies --ifup)\n"
    "  --pcap-in FILE.pcap      frames arriving on the wire, at their timestamps\n"
    "                           (implies --ifup)\n"
    "  --pcap-out FILE.pcap     record the frames the device put on the wire\n"
    "  --pcap-stack FILE.pcap   record the frames the driver passed to the stack\n"
    "  --disk IMG               checkpoint the machine to IMG (made with sluice\n"
    "                           disk create): after probe, after ifup, and every\n"
    "                           --checkpoint-every MS of --run\n"
    "  --checkpoint-every MS    virtual milliseconds between checkpoints (1000)\n"
    "  -v, --verbose            also print the kernel's debug-level lines\n"
    "  -h, --help               this text\n"
    "\n"
    "images options:\n"
    "  --abi ABI                which kernel (default: the newest 6.1 in apt)\n"
    "  --quiet                  no progress lines\n"
    "\n"
    "environment:\n"
    "  SLUICE_CACHE             image cache (default ~/.cache/sluice)\n"
    "\n"
    "exit status: 0 ok, 1 host error (bad file, missing image), 2 bad command\n"
    "line, 3 the driver stopped (a report was printed), 4 the driver's init\n"
    "failed.\n";

typedef struct RunArgs {
    const char *driver;
    const char *abi;
    const char *device;
    const char *trace_path;
    const char *params[64];
    unsigned nparams;
    int allow_unserved, verbose, ifup, restart;
    uint64_t block_budget, ram_mib;
    const char *iommu_mode;
    uint64_t pin_limit, pin_limit_global;
    uint64_t mem_limit, map_limit;
    const char *report_path;
    const char *pcap_in, *pcap_out, *pcap_stack, *send;
    uint64_t run_ms, ping;
    const char *disk;
    uint64_t ckpt_ms;
    Persist *persist;
    PersistConfig pcfg;
} RunArgs;

/* A checkpoint if --disk: one line when it commits, one when it fails. */
static int checkpoint(RunArgs *a, Machine *m, const char *when)
{
    SlError e = {{0}};
    PersistStats st;

    if (!a->persist) {
        return 0;
    }
    if (persist_checkpoint(a->persist, m, &a->pcfg, &st, &e) != 0) {
        fprintf(stderr, "sluice: checkpoint %s: %s\n", when, e.msg);
        return -1;
    }
    fprintf(stderr, "sluice: checkpoint %llu committed %s: %llu objects written, %llu of them "
            "RAM pages", (unsigned long long)st.seq, when, (unsigned long long)st.objects,
            (unsigned long long)st.ram_pages);
    if (a->verbose) {
        /* Host time: only on request, so default output stays reproducible. */
        fprintf(stderr, " (pause %.3f ms, total %.3f ms; %llu migrated home in %.3f ms)",
                st.pause_ns / 1e6, st.total_ns / 1e6, (unsigned long long)st.migrated,
                st.migrate_ns / 1e6);
    }
    fputc('\n', stderr);
    return 0;
}

/* --run MS with a checkpoint every --checkpoint-every MS. */
static void run_with_checkpoints(RunArgs *a, Machine *m)
{
    uint64_t left = a->run_ms, step = a->ckpt_ms ? a->ckpt_ms : 1000;

    while (left && !machine_guest_stopped(m)) {
        uint64_t n = left < step ? left : step;
        char when[64];

        machine_run_for(m, n * 1000000ull);
        left -= n;
        if (a->persist && !machine_guest_stopped(m)) {
            snprintf(when, sizeof(when), "at %llu ms of --run",
                     (unsigned long long)(a->run_ms - left));
            checkpoint(a, m, when);
        }
    }
}

/* A byte count with an optional K/M/G suffix (powers of 1024). */
static int parse_bytes(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (*end == 'K' || *end == 'k') {
        shift = 10, end++;
    } else if (*end == 'M' || *end == 'm') {
        shift = 20, end++;
    } else if (*end == 'G' || *end == 'g') {
        shift = 30, end++;
    }
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > (UINT64_MAX >> shift) ||
        (v << shift) < 4096) {
        fprintf(stderr, "sluice: %s %s: expected a byte count of at least 4096, "
                "optionally with K, M or G\n", flag, s);
        return -1;
    }
    *out = (uint64_t)v << shift;
    return 0;
}

/* Prints an error message once, with one "sluice: " prefix. */
static void print_error(const char *context, const SlError *e)
{
    const char *msg = strncmp(e->msg, "sluice: ", 8) ? e->msg : e->msg + 8;

    if (context) {
        fprintf(stderr, "sluice: %s: %s\n", context, msg);
    } else {
        fprintf(stderr, "sluice: %s\n", msg);
    }
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "sluice: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see sluice --help)\n");
    return EXIT_USAGE;
}

static int parse_u64(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "sluice: %s %s: expected a number from %llu to %llu\n", flag, s,
                (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

/* The cached image, fetched first if absent. */
static int open_image(const char *abi, KImage *img)
{
    SlError e = {{0}};

    if (kimage_open(abi, img, &e) == 0) {
        return 0;
    }
    fprintf(stderr, "sluice: no cached kernel image%s%s; fetching it\n", abi ? " " : "",
            abi ? abi : "");
    if (kimage_fetch(abi, 0, &e) != 0 || kimage_open(abi, img, &e) != 0) {
        print_error(NULL, &e);
        return -1;
    }
    return 0;
}

static int resolve_driver(const KImage *img, const char *driver, char *path, size_t cap)
{
    SlError e = {{0}};
    size_t n = strlen(driver);

    if (strchr(driver, '/') || (n > 3 && !strcmp(driver + n - 3, ".ko"))) {
        if (access(driver, R_OK) != 0) {
            fprintf(stderr, "sluice: --driver %s: %s\n", driver, strerror(errno));
            return -1;
        }
        snprintf(path, cap, "%s", driver);
        return 0;
    }
    if (kimage_module_path(img, driver, path, cap, &e) != 0) {
        char ctx[300];

        snprintf(ctx, sizeof(ctx), "--driver %s", driver);
        print_error(ctx, &e);
        return -1;
    }
    return 0;
}

/* --report: written beside the target and renamed, never half-written. */
static int write_report(Machine *m, const RunArgs *a)
{
    char tmp[4200];
    FILE *f;
    int err;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", a->report_path, (int)getpid());
    f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "sluice: --report %s: %s\n", a->report_path, strerror(errno));
        return -1;
    }
    err = machine_write_report(m, f, a->driver);
    if (fclose(f) != 0 || err || rename(tmp, a->report_path) != 0) {
        fprintf(stderr, "sluice: --report %s: %s\n", a->report_path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int run_machine(RunArgs *a, const KImage *img, const char *path, FILE *trace)
{
    MachineConfig mc = {
        .image = img, .device = a->device, .allow_unserved = a->allow_unserved,
        .block_budget = a->block_budget, .ram_bytes = a->ram_mib << 20,
        .trace = trace, .verbose = a->verbose, .out = stdout,
        .iommu_mode = a->iommu_mode, .pin_limit_device = a->pin_limit,
        .pin_limit_global = a->pin_limit_global,
        .bank_mem_limit = a->mem_limit, .bank_map_limit = a->map_limit,
        .pcap_in = a->pcap_in, .pcap_out = a->pcap_out, .pcap_stack = a->pcap_stack,
        .send = a->send,
    };
    SlError e = {{0}};
    Machine *m;
    int err, rc = 0;

    if (machine_new(&mc, &m, &e) != 0) {
        print_error(NULL, &e);
        return EXIT_HOST;
    }
    err = machine_load_driver(m, path, a->params, a->nparams, &e);
    if (err < 0) {
        print_error(NULL, &e);
        machine_free(m);
        return EXIT_HOST;
    }
    if (a->restart && persist_restart_machine(a->persist, m, stderr, &e) != 0) {
        print_error(NULL, &e);
        persist_close(a->persist);       /* its checkpointer is the store's backing */
        a->persist = NULL;
        machine_free(m);
        return EXIT_HOST;
    }
    err = a->restart ? 0 : machine_init_modules(m);
    if (!err && !a->restart && !machine_guest_stopped(m)) {
        checkpoint(a, m, "after probe");
    }
    if (!err && a->ifup && !machine_guest_stopped(m)) {
        /* A failing ndo_open is the driver's own error path at work: it
         * printed why; the run goes on to remove and exit. */
        if (a->restart || machine_ifup(m) == 0) {
            if (!a->restart) {
                checkpoint(a, m, "after ifup");
            }
            /* --run first (timers, watchdogs, a restarted driver's
             * recovery), then the traffic. */
            if (a->run_ms) {
                run_with_checkpoints(a, m);
            }
            if (!machine_guest_stopped(m) && a->ping) {
                machine_ping(m, (unsigned)a->ping);
            }
            if (!machine_guest_stopped(m) && (a->send || a->pcap_in)) {
                machine_net_run(m, 600ull * 1000000000ull);
            }
        }
        if (!machine_guest_stopped(m)) {
            machine_ifdown(m);
        }
    }
    if (machine_guest_stopped(m)) {
        machine_report(m, stderr);
        rc = EXIT_GUEST;
    } else if (err) {
        fprintf(stderr, "sluice: module init failed with error %d\n", err);
        rc = EXIT_DRIVER;
    }
    if (!machine_guest_stopped(m)) {
        machine_exit_modules(m);
        if (machine_guest_stopped(m)) {
            machine_report(m, stderr);
            rc = EXIT_GUEST;
        }
    }
    machine_summary(m, stderr);
    if (a->report_path && write_report(m, a) != 0 && !rc) {
        rc = EXIT_HOST;
    }
    /* The disk's checkpointer is the store's backing: it goes first. */
    persist_close(a->persist);
    a->persist = NULL;
    machine_free(m);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"driver", required_argument, NULL, 'd'}, {"param", required_argument, NULL, 'p'},
        {"abi", required_argument, NULL, 'a'}, {"device", required_argument, NULL, 'D'},
        {"trace-mmio", required_argument, NULL, 't'},
        {"allow-unserved", no_argument, NULL, 'u'},
        {"block-budget", required_argument, NULL, 'b'}, {"ram", required_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {"iommu", required_argument, NULL, 'i'}, {"pin-limit", required_argument, NULL, 'l'},
        {"pin-limit-global", required_argument, NULL, 'g'},
        {"mem-limit", required_argument, NULL, 'M'}, {"map-limit", required_argument, NULL, 'E'},
        {"report", required_argument, NULL, 'R'}, {"ifup", no_argument, NULL, 'I'},
        {"run", required_argument, NULL, 'T'}, {"ping", required_argument, NULL, 'P'},
        {"send", required_argument, NULL, 'S'}, {"pcap-in", required_argument, NULL, 'N'},
        {"pcap-out", required_argument, NULL, 'O'},
        {"pcap-stack", required_argument, NULL, 'K'},
        {"disk", required_argument, NULL, 'k'},
        {"checkpoint-every", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    RunArgs a = {.ram_mib = 128, .iommu_mode = "strict"};
    char path[4096], tmp[4200];
    FILE *trace = NULL;
    KImage img;
    int c, rc;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a.driver = optarg; break;
        case 'a': a.abi = optarg; break;
        case 'D': a.device = optarg; break;
        case 't': a.trace_path = optarg; break;
        case 'u': a.allow_unserved = 1; break;
        case 'v': a.verbose = 1; break;
        case 'p':
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                return usage_error("--param %s: expected NAME=VALUE", optarg);
            }
            if (a.nparams == sizeof(a.params) / sizeof(a.params[0])) {
                return usage_error("--param %s: too many parameters", optarg);
            }
            a.params[a.nparams++] = optarg;
            break;
        case 'b':
            if (parse_u64("--block-budget", optarg, 1000, UINT64_MAX >> 1, &a.block_budget)) {
                return EXIT_USAGE;
            }
            break;
        case 'r':
            if (parse_u64("--ram", optarg, 32, 4096, &a.ram_mib)) {
                return EXIT_USAGE;
            }
            break;
        case 'i':
            if (strcmp(optarg, "strict") && strcmp(optarg, "lazy") && strcmp(optarg, "off")) {
                return usage_error("--iommu %s: expected strict, lazy or off", optarg);
            }
            a.iommu_mode = optarg;
            break;
        case 'l':
            if (parse_bytes("--pin-limit", optarg, &a.pin_limit)) {
                return EXIT_USAGE;
            }
            break;
        case 'g':
            if (parse_bytes("--pin-limit-global", optarg, &a.pin_limit_global)) {
                return EXIT_USAGE;
            }
            break;
        case 'M':
            if (parse_bytes("--mem-limit", optarg, &a.mem_limit)) {
                return EXIT_USAGE;
            }
            if (a.mem_limit < 4096) {
                return usage_error("--mem-limit %s: expected at least one page (4K)", optarg);
            }
            break;
        case 'E':
            if (parse_u64("--map-limit", optarg, 1, UINT32_MAX, &a.map_limit)) {
                return EXIT_USAGE;
            }
            break;
                case 'R': a.report_path = optarg; break;
        case 'I': a.ifup = 1; break;
        case 'T':
            if (parse_u64("--run", optarg, 1, 3600000, &a.run_ms)) {
                return EXIT_USAGE;
            }
            break;
        case 'P':
            if (parse_u64("--ping", optarg, 1, 10000, &a.ping)) {
                return EXIT_USAGE;
            }
            a.ifup = 1;
            break;
        case 'S': a.send = optarg; a.ifup = 1; break;
        case 'N': a.pcap_in = optarg; a.ifup = 1; break;
        case 'O': a.pcap_out = optarg; break;
        case 'K': a.pcap_stack = optarg; break;
        case 'k': a.disk = optarg; break;
        case 'C':
            if (parse_u64("--checkpoint-every", optarg, 1, 3600000, &a.ckpt_ms)) {
                return EXIT_USAGE;
            }
            break;
        case 'h': fputs(sluice_usage, stdout); return 0;
        case ':': return usage_error("%s: needs a value", argv[optind - 1]);
        default: return usage_error("run: unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return usage_error("run: unexpected argument %s", argv[optind]);
    }
    a.restart = !strcmp(argv[0], "restart");
    if (a.restart) {
        SlError e = {{0}};
        uint64_t seq = 0;

        if (!a.disk) {
            return usage_error("%s", "restart: --disk IMG is required");
        }
        if (a.driver || a.send || a.pcap_in) {
            return usage_error("%s", "restart: the driver and its traffic come from the checkpoint "
                               "(no --driver, --send or --pcap-in)");
        }
        if (persist_open(a.disk, &a.persist, &e) != 0 ||
            persist_restart_config(a.persist, &a.pcfg, &seq, &e) != 0) {
            print_error(NULL, &e);
            persist_close(a.persist);
            return EXIT_HOST;
        }
        fprintf(stderr, "sluice: restart: from checkpoint %llu of %s (driver %s on %s)\n",
                (unsigned long long)seq, a.disk, a.pcfg.driver, a.pcfg.device);
        a.driver = a.pcfg.driver;
        a.device = a.pcfg.device[0] ? a.pcfg.device : NULL;
        a.iommu_mode = a.pcfg.iommu[0] ? a.pcfg.iommu : "strict";
        a.ram_mib = a.pcfg.ram_mib;
        a.ifup = a.pcfg.ifup;
        a.abi = a.pcfg.abi[0] ? a.pcfg.abi : NULL;
    }
    if (!a.driver) {
        return usage_error("%s", "run: --driver NAME|PATH is required");
    }
    if (a.device && !nic_model_find(a.device) && strcmp(a.device, "cdma") &&
        strcmp(a.device, "none")) {
        fprintf(stderr, "sluice: --device %s: unknown model (known: %s, cdma, none)\n",
                a.device, nic_model_names());
        return EXIT_USAGE;
    }
    if (!a.device) {
        /* The model the driver drives: --driver e1000 gets an e1000. */
        const char *base = strrchr(a.driver, '/') ? strrchr(a.driver, '/') + 1 : a.driver;
        char name[64];
        const NicModel *nm;

        snprintf(name, sizeof(name), "%s", base);
        if (strlen(name) > 3 && !strcmp(name + strlen(name) - 3, ".ko")) {
            name[strlen(name) - 3] = 0;
        }
        nm = nic_model_for_driver(name);
        a.device = nm ? nm->name : "rtl8139";
    }
    if (open_image(a.abi, &img) != 0 || resolve_driver(&img, a.driver, path, sizeof(path)) != 0) {
        persist_close(a.persist);
        return EXIT_HOST;
    }
    if (a.disk && !a.restart) {
        SlError e = {{0}};

        if (persist_open(a.disk, &a.persist, &e) != 0) {
            print_error("--disk", &e);
            return EXIT_HOST;
        }
        snprintf(a.pcfg.abi, sizeof(a.pcfg.abi), "%s", img.abi);
        snprintf(a.pcfg.driver, sizeof(a.pcfg.driver), "%s", path);
        snprintf(a.pcfg.device, sizeof(a.pcfg.device), "%s", a.device);
        snprintf(a.pcfg.iommu, sizeof(a.pcfg.iommu), "%s", a.iommu_mode);
        a.pcfg.ram_mib = a.ram_mib;
        a.pcfg.ifup = a.ifup;
    }
    if (a.trace_path) {
        /* Written beside the target and renamed at the end: the user never
         * sees a half-written trace. */
        snprintf(tmp, sizeof(tmp), "%s.tmp.%d", a.trace_path, (int)getpid());
        trace = fopen(tmp, "w");
        if (!trace) {
            fprintf(stderr, "sluice: --trace-mmio %s: %s\n", a.trace_path, strerror(errno));
            return EXIT_HOST;
        }
    }
    rc = run_machine(&a, &img, path, trace);
    persist_close(a.persist);
    if (trace) {
        /* A run that stopped in the guest keeps its trace (it leads to the
         * stop); a host error leaves nothing behind. */
        if (rc == EXIT_HOST) {
            fclose(trace);
            unlink(tmp);
            return rc;
        }
        if (fclose(trace) != 0 || rename(tmp, a.trace_path) != 0) {
            fprintf(stderr, "sluice: --trace-mmio %s: %s\n", a.trace_path, strerror(errno));
            unlink(tmp);
            return rc ? rc : EXIT_HOST;
        }
    }
    return rc;
}

static int cmd_images(int argc, char **argv)
{
    static const struct option opts[] = {
        {"abi", required_argument, NULL, 'a'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *abi = NULL, *sub;
    int quiet = 0, c;
    SlError e = {{0}};
    KImage img;

    if (argc < 2) {
        return usage_error("%s", "images: expected fetch or info");
    }
    sub = argv[1];
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
        switch (c) {
        case 'a': abi = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(sluice_usage, stdout); return 0;
        case ':': return usage_error("%s: needs a value", argv[optind - 1]);
        default: return usage_error("images: unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return usage_error("images: unexpected argument %s", argv[optind]);
    }
    if (!strcmp(sub, "fetch")) {
        if (kimage_fetch(abi, quiet, &e) != 0) {
            print_error(NULL, &e);
            return EXIT_HOST;
        }
        return 0;
    }
    if (!strcmp(sub, "info")) {
        if (kimage_open(abi, &img, &e) != 0) {
            print_error(NULL, &e);
            return EXIT_HOST;
        }
        printf("abi: %s\ndir: %s\nvmlinux: %s\n", img.abi, img.dir, img.vmlinux);
        return 0;
    }
    return usage_error("images %s: expected fetch or info", sub);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(sluice_usage, stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(sluice_usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("sluice %s\n", SLUICE_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "run")) {
        return cmd_run(argc - 1, argv + 1);
    }
    if (!strcmp(argv[1], "images")) {
        return cmd_images(argc - 1, argv + 1);
    }
    if (!strcmp(argv[1], "restart")) {
        return cmd_run(argc - 1, argv + 1);
    }
    if (!strcmp(argv[1], "disk")) {
        return disk_cmd_main(argc - 1, argv + 1);
    }
    return usage_error("unknown command %s", argv[1]);
}
