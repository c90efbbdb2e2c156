/*
 * emu/persist.c: checkpoints of the machine on the checkpointing disk and
 * restarts from them (see persist.h).
 */
#include "emu/persist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/ckdisk.h"
#include "devices/pci.h"
#include "emu/disk_cmd.h"
#include "iommu/iommu.h"
#include "kernel-guest/kernel.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_ckpt.h"
#include "kernel-guest/pk_object.h"
#include "kernel-guest/pk_store.h"

#define PERSIST_STATE_MAGIC 0x54534c53u   /* "SLST" */
#define PERSIST_CONFIG_FRAMES 64u         /* the small store a restart reads its config with */

struct Persist {
    CkDisk *disk;
    PkBlockDev dev;
    PkStore *store;              /* the store ck works on (a machine's, once bound) */
    PkCkpt *ck;
    PkStore *own;                /* persist's own small store (config reading) */
    uint8_t *own_frames;
    uint64_t state_pages;        /* state pages written by the last checkpoint */
    uint8_t *last_state;         /* the state blob on disk now (page-padded), or NULL */
    size_t last_len;
};

static uint64_t persist_now_ns(void)
{
    struct timespec ts;

    /* Host time for the user's figures only; it never reaches the machine. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int persist_open(const char *img, Persist **out, SlError *e)
{
    Persist *p = calloc(1, sizeof(*p));
    int err;

    *out = NULL;
    if (!p) {
        return sl_error(e, -ENOMEM, "persist: out of memory");
    }
    err = ckdisk_open(img, true, &p->disk, e);
    if (err) {
        free(p);
        return err;
    }
    disk_cmd_blockdev(p->disk, &p->dev);
    *out = p;
    return 0;
}

void persist_close(Persist *p)
{
    if (!p) {
        return;
    }
    pk_ckpt_free(p->ck);
    pk_store_free(p->own);
    free(p->own_frames);
    free(p->last_state);
    if (p->disk) {
        ckdisk_close(p->disk);
    }
    free(p);
}

/* Points the checkpointer at store (reading the disk's newest directory). */
static int persist_bind(Persist *p, PkStore *store, SlError *e)
{
    if (p->ck && p->store == store) {
        return 0;
    }
    pk_ckpt_free(p->ck);
    p->ck = NULL;
    p->store = store;
    return pk_ckpt_open(&p->dev, store, &p->ck, e);
}

/* Binds the disk to m's store and turns on write tracking: from here on
 * every change to a page object is seen. */
static int persist_bind_machine(Persist *p, Machine *m, SlError *e)
{
    Kernel *k = machine_kernel(m);
    bool bound = p->ck && p->store == kernel_store(k);
    int err = persist_bind(p, kernel_store(k), e);

    return err || bound ? err : kernel_track_writes(k, true, e);
}

/* The disk's copy of the state is unknown (a failed checkpoint): the next
 * checkpoint writes every state page. */
static void persist_forget_state(Persist *p)
{
    free(p->last_state);
    p->last_state = NULL;
    p->last_len = 0;
}

/* Writes one page object (dirty), replacing what the store had. */
static int persist_put(Persist *p, PkOid oid, const uint8_t *page)
{
    PkObjImage img = {.oid = oid, .type = PK_OBJ_PAGE, .count = 0, .data = page,
                      .len = PK_PAGE_SIZE};
    int32_t idx;
    int err = pk_store_install(p->store, &img);

    if (err) {
        return err;
    }
    idx = pk_object_find(p->store, oid);
    if (idx < 0) {
        return -EIO;
    }
    pk_object_mark_dirty(p->store, idx);
    return 0;
}

/* The state blob: kernel, IOMMU, PCI configuration spaces. */
static int persist_state(Machine *m, uint8_t **out, size_t *len)
{
    Kernel *k = machine_kernel(m);
    Iommu *mmu = machine_iommu(m);
    PciBus *bus = machine_bus(m);
    size_t ks = kernel_state_size(k), is = iommu_state_size(mmu), ps = pci_bus_state_size(bus);
    uint64_t hdr[4];
    uint8_t *buf = malloc(sizeof(hdr) + ks + is + ps);
    long kl, il;

    if (!buf) {
        return -ENOMEM;
    }
    kl = kernel_state_save(k, buf + sizeof(hdr), ks);
    il = iommu_state_save(mmu, buf + sizeof(hdr) + (size_t)(kl > 0 ? kl : 0), is);
    if (kl < 0 || il < 0) {
        free(buf);
        return -EIO;
    }
    pci_bus_state_save(bus, buf + sizeof(hdr) + (size_t)kl + (size_t)il);
    hdr[0] = PERSIST_STATE_MAGIC;
    hdr[1] = (uint64_t)kl;
    hdr[2] = (uint64_t)il;
    hdr[3] = ps;
    memcpy(buf, hdr, sizeof(hdr));
    *out = buf;
    *len = sizeof(hdr) + (size_t)kl + (size_t)il + ps;
    return 0;
}

static void persist_config_text(const PersistConfig *c, uint8_t page[PK_PAGE_SIZE])
{
    char *t = (char *)page;
    int n;

    memset(page, 0, PK_PAGE_SIZE);
    n = snprintf(t, PK_PAGE_SIZE, "sluice-checkpoint 1\nabi=%.63s\ndevice=%.31s\niommu=%.15s\n"
                 "ram_mib=%llu\nifup=%d\n", c->abi, c->device, c->iommu,
                 (unsigned long long)c->ram_mib, c->ifup);
    if (n > 0 && (size_t)n + strlen(c->driver) + 9 < PK_PAGE_SIZE) {
        memcpy(t + n, "driver=", 7);
        memcpy(t + n + 7, c->driver, strlen(c->driver));
        t[n + 7 + strlen(c->driver)] = '\n';
    }
}

int persist_checkpoint(Persist *p, Machine *m, const PersistConfig *cfg, PersistStats *st,
                       SlError *e)
{
    static const uint8_t zero[PK_PAGE_SIZE];
    Kernel *k = machine_kernel(m);
    uint8_t page[PK_PAGE_SIZE], *state = NULL;
    uint64_t t0 = persist_now_ns(), t1, npages, nput = 1;    /* the configuration page */
    uint64_t moved = 0;
    PkCkptStats cs;
    size_t slen;
    int err;

    err = persist_bind_machine(p, m, e);
    if (err) {
        return err;
    }
    /* The machine state first: the store's table in it is as of now,
     * before the state pages below change it (they are persist's own and
     * rewritten by every checkpoint). */
    err = persist_state(m, &state, &slen);
    if (err) {
        return sl_error(e, err, "checkpoint: cannot save the machine state");
    }
    npages = (slen + PK_PAGE_SIZE - 1) / PK_PAGE_SIZE;
    if (npages > PERSIST_MAX_STATE_PAGES) {
        free(state);
        return sl_error(e, -E2BIG, "checkpoint: machine state of %zu bytes is too large", slen);
    }
    /* Only the state pages that changed since the disk's copy: most of the
     * blob (the store's table, say) is the same from one checkpoint to the
     * next. */
    for (size_t off = 0, i = 0; off < slen; off += PK_PAGE_SIZE, i++) {
        size_t n = slen - off < PK_PAGE_SIZE ? slen - off : PK_PAGE_SIZE;

        memset(page, 0, sizeof(page));
        memcpy(page, state + off, n);
        if (p->last_state && off + PK_PAGE_SIZE <= p->last_len &&
            !memcmp(p->last_state + off, page, PK_PAGE_SIZE)) {
            continue;
        }
        err = persist_put(p, PERSIST_STATE_OID + i, page);
        nput++;
        if (err) {
            free(state);
            persist_forget_state(p);
            return sl_error(e, err, "checkpoint: cannot store state page %zu (%s)", i,
                            strerror(-err));
        }
    }
    free(p->last_state);
    p->last_state = state;
    p->last_len = slen;
    state = NULL;
    /* State pages past the end of a shorter blob become zero. */
    for (uint64_t i = npages; i < p->state_pages; i++) {
        persist_put(p, PERSIST_STATE_OID + i, zero);
        nput++;
    }
    p->state_pages = npages;
    persist_config_text(cfg, page);
    err = persist_put(p, PERSIST_CONFIG_OID, page);
    if (err) {
        return sl_error(e, err, "checkpoint: cannot store the configuration");
    }
    /* The pause: written pages become dirty objects, marked copy-on-write. */
    t1 = persist_now_ns();
    kernel_collect_dirty(k);
    err = pk_ckpt_begin(p->ck, e);
    if (st) {
        st->pause_ns = persist_now_ns() - t1;
    }
    err = err ? err : pk_ckpt_commit(p->ck, e);
    if (err) {
        persist_forget_state(p);
        return err;
    }
    t1 = persist_now_ns();
    if (st) {
        st->total_ns = t1 - t0;
    }
    /* Migration: committed objects go to their home locations, so the
     * checkpoint area keeps room for the next checkpoints. */
    err = pk_ckpt_migrate(p->ck, 0, &moved, e);
    if (err) {
        return err;
    }
    pk_ckpt_stats(p->ck, &cs);
    if (st) {
        st->migrated = moved;
        st->migrate_ns = persist_now_ns() - t1;
        st->seq = cs.seq;
        st->objects = cs.last_written;
        st->ram_pages = cs.last_written > nput ? cs.last_written - nput : 0;
    }
    return 0;
}

/* A page object's bytes from the store, loaded from the disk if it is not
 * in memory (0, or -ENOENT). */
static int persist_get(Persist *p, PkOid oid, uint8_t *out)
{
    int32_t idx;

    pk_cache_begin_op(p->store);
    if (pk_cache_resolve(p->store, oid, &idx) != 0 || p->store->obj[idx].type != PK_OBJ_PAGE) {
        return -ENOENT;
    }
    memcpy(out, pk_object_frame_data(p->store, p->store->obj[idx].frame), PK_PAGE_SIZE);
    return 0;
}

int persist_restart_config(Persist *p, PersistConfig *cfg, uint64_t *seq, SlError *e)
{
    PkCkptRestartInfo info;
    uint8_t page[PK_PAGE_SIZE + 1];
    char *line, *save = NULL;
    PkStoreConfig sc = {.nframes = PERSIST_CONFIG_FRAMES, .max_objects = PERSIST_CONFIG_FRAMES * 4,
                        .max_banks = 2};
    int err;

    /* Only the configuration is read, into a small store of persist's own:
     * the machine it describes does not exist yet. */
    if (!p->own) {
        p->own_frames = calloc(PERSIST_CONFIG_FRAMES, PK_PAGE_SIZE);
        sc.frames = p->own_frames;
        err = p->own_frames ? pk_store_new(&sc, &p->own, e)
                            : sl_error(e, -ENOMEM, "restart: out of memory");
        if (err) {
            return err;
        }
    }
    err = persist_bind(p, p->own, e);
    err = err ? err : pk_ckpt_restart(p->ck, PK_CKPT_LAZY, &info, e);
    if (err) {
        return err;
    }
    *seq = info.seq;
    if (persist_get(p, PERSIST_CONFIG_OID, page) != 0) {
        return sl_error(e, -ENOENT, "%s: no checkpoint of a sluice run in it (seq %llu)",
                        ckdisk_path(p->disk), (unsigned long long)info.seq);
    }
    page[PK_PAGE_SIZE] = 0;
    memset(cfg, 0, sizeof(*cfg));
    for (line = strtok_r((char *)page, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "abi=", 4)) {
            snprintf(cfg->abi, sizeof(cfg->abi), "%s", line + 4);
        } else if (!strncmp(line, "driver=", 7)) {
            snprintf(cfg->driver, sizeof(cfg->driver), "%s", line + 7);
        } else if (!strncmp(line, "device=", 7)) {
            snprintf(cfg->device, sizeof(cfg->device), "%s", line + 7);
        } else if (!strncmp(line, "iommu=", 6)) {
            snprintf(cfg->iommu, sizeof(cfg->iommu), "%s", line + 6);
        } else if (!strncmp(line, "ram_mib=", 8)) {
            cfg->ram_mib = strtoull(line + 8, NULL, 10);
        } else if (!strncmp(line, "ifup=", 5)) {
            cfg->ifup = atoi(line + 5);
        }
    }
    if (!cfg->driver[0] || !cfg->ram_mib) {
        return sl_error(e, -EINVAL, "%s: checkpoint configuration: expected driver= and ram_mib=",
                        ckdisk_path(p->disk));
    }
    return 0;
}

typedef struct PersistPinned {
    FILE *out;
    uint64_t first_iova, first_pfn, run;
    char dev[16];
} PersistPinned;

static void persist_pinned_flush(PersistPinned *pp)
{
    if (pp->run) {
        fprintf(pp->out, "sluice: restart:   %s: IOVA 0x%llx -> pfn 0x%llx, %llu page%s\n", pp->dev,
                (unsigned long long)pp->first_iova, (unsigned long long)pp->first_pfn,
                (unsigned long long)pp->run, pp->run == 1 ? "" : "s");
    }
    pp->run = 0;
}

static void persist_pinned(void *opaque, const char *dev, uint64_t iova, uint64_t pfn)
{
    PersistPinned *pp = opaque;

    if (pp->run && !strcmp(pp->dev, dev) && iova == pp->first_iova + pp->run * PK_PAGE_SIZE &&
        pfn == pp->first_pfn + pp->run) {
        pp->run++;
    } else {
        persist_pinned_flush(pp);
        snprintf(pp->dev, sizeof(pp->dev), "%s", dev);
        pp->first_iova = iova;
        pp->first_pfn = pfn;
        pp->run = 1;
    }
}

static void persist_count(void *opaque, const char *dev, uint64_t iova, uint64_t pfn)
{
}

int persist_restart_machine(Persist *p, Machine *m, FILE *out, SlError *e)
{
    Kernel *k = machine_kernel(m);
    PciBus *bus = machine_bus(m);
    PkStore *store = kernel_store(k);
    PkCkptRestartInfo info;
    uint8_t *state = NULL, page[PK_PAGE_SIZE];
    uint64_t hdr[4], restored = 0;
    size_t cap = 0, len = 0;
    PersistPinned pp = {.out = out};
    unsigned pinned;
    int err;

    /* Every object back, each RAM page into its own frame. */
    err = persist_bind_machine(p, m, e);
    err = err ? err : pk_ckpt_restart(p->ck, PK_CKPT_EAGER, &info, e);
    if (err) {
        return err;
    }
    for (uint64_t i = 0; i < PERSIST_MAX_STATE_PAGES; i++) {
        if (persist_get(p, PERSIST_STATE_OID + i, page) != 0) {
            break;
        }
        if (len + PK_PAGE_SIZE > cap) {
            uint8_t *n = realloc(state, cap = cap ? cap * 2 : 1u << 20);

            if (!n) {
                free(state);
                return sl_error(e, -ENOMEM, "restart: out of memory");
            }
            state = n;
        }
        memcpy(state + len, page, PK_PAGE_SIZE);
        len += PK_PAGE_SIZE;
    }
    if (len < sizeof(hdr)) {
        free(state);
        return sl_error(e, -EINVAL, "restart: the checkpoint has no machine state");
    }
    memcpy(hdr, state, sizeof(hdr));
    if (hdr[0] != PERSIST_STATE_MAGIC || sizeof(hdr) + hdr[1] + hdr[2] + hdr[3] > len ||
        hdr[3] != pci_bus_state_size(bus)) {
        free(state);
        return sl_error(e, -EINVAL, "restart: machine state: bad header or sizes");
    }
    err = kernel_state_restore(k, state + sizeof(hdr), hdr[1], e);
    err = err ? err : iommu_state_restore(machine_iommu(m), state + sizeof(hdr) + hdr[1], hdr[2], e);
    if (err) {
        free(state);
        return err;
    }
    pci_bus_state_restore(bus, state + sizeof(hdr) + hdr[1] + hdr[2]);
    /* The restored table predates persist's own pages of that checkpoint
     * (the blob is saved before them): put them back as the disk has them,
     * clean, so store and disk agree. */
    for (size_t off = 0; off < len; off += PK_PAGE_SIZE) {
        PkObjImage img = {.oid = PERSIST_STATE_OID + off / PK_PAGE_SIZE, .type = PK_OBJ_PAGE,
                          .data = state + off, .len = PK_PAGE_SIZE};

        err = pk_store_install(store, &img);
        if (err) {
            free(state);
            return sl_error(e, err, "restart: cannot reinstall state page %zu (%s)",
                            off / PK_PAGE_SIZE, strerror(-err));
        }
    }
    /* What the disk holds now: the next checkpoint writes what differs. */
    free(p->last_state);
    p->last_state = state;
    p->last_len = len;
    p->state_pages = len / PK_PAGE_SIZE;
    /* The table is the checkpoint's now: nothing dirty, free frames zero. */
    restored = kernel_store_restarted(k);
    err = kernel_state_remap(k, e);
    if (err) {
        return err;
    }
    /* The device starts from reset; it learns bus mastering and decode
     * again from its command register, as after firmware set it up. */
    for (int devfn = pci_bus_next_devfn(bus, 0); devfn >= 0;
         devfn = pci_bus_next_devfn(bus, (unsigned)devfn + 1)) {
        pci_config_write(bus, (unsigned)devfn, PCI_COMMAND,
                         pci_config_read(bus, (unsigned)devfn, PCI_COMMAND, 2), 2);
    }
    fprintf(out, "sluice: restart: %llu RAM pages (page objects of %llu in the checkpoint), the "
            "kernel's bookkeeping and space banks, the IOMMU and PCI configuration restored; the "
            "device was reset (a device does not checkpoint)\n",
            (unsigned long long)restored, (unsigned long long)info.objects);
    /* How many first (the heading), then the ranges. */
    pinned = kernel_dma_pinned_frames(k, persist_count, NULL);
    if (pinned) {
        fprintf(out, "sluice: restart: %u page%s pinned for device DMA at the checkpoint could "
                "not be restored for the device (their bytes are as of the checkpoint; the device "
                "has forgotten them):\n", pinned, pinned == 1 ? " was" : "s were");
        kernel_dma_pinned_frames(k, persist_pinned, &pp);
        persist_pinned_flush(&pp);
    }
    return 0;
}
