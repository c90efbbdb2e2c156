/*
 * emu/persist.h: the machine on the persistent kernel's checkpointing disk.
 *
 * Guest RAM is the placed part of the kernel's object store (kmem.h): every
 * page a driver or the kernel uses is a page object of a space bank, OID
 * KMEM_RAM_OID + pfn.  A checkpoint is a checkpoint of that store
 * (kernel-guest/pk_ckpt.h): the pause hands the pages written since the
 * last checkpoint (the write tracker, host and device writes) to the store
 * as dirty objects and marks them copy-on-write; the store's dirty objects,
 * the emulated kernel's bookkeeping (its store table, banks included), the
 * IOMMU and the PCI configuration spaces (as state pages, OIDs from
 * PERSIST_STATE_OID) and the run's configuration (PERSIST_CONFIG_OID) are
 * written, and the disk commits with a header write as the last act; then
 * the committed objects migrate to their home locations (the range table).
 *
 * A restart boots a machine with the same configuration, loads the same
 * modules (not run), brings the store back to the checkpoint -- each page
 * object into its own frame -- and puts the state back.  A device does not
 * checkpoint (seed 000): the device model starts from reset, and the pages
 * that were pinned for its DMA are listed -- their contents are as of the
 * checkpoint, but the device has forgotten the rings in them; what the
 * driver does about it is its own recovery path.
 */
#ifndef EMU_PERSIST_H
#define EMU_PERSIST_H

#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "emu/machine.h"

#define PERSIST_CONFIG_OID 0x100ull
#define PERSIST_STATE_OID 0x200ull
#define PERSIST_MAX_STATE_PAGES 0x100000u

typedef struct Persist Persist;

/* The run's configuration, stored with every checkpoint (text lines). */
typedef struct PersistConfig {
    char abi[64];
    char driver[4096];           /* path of the .ko */
    char device[32];
    char iommu[16];
    uint64_t ram_mib;
    int ifup;
} PersistConfig;

/* Opens a disk image made by `sluice disk create` (one-line errors). */
int persist_open(const char *img, Persist **out, SlError *e);
void persist_close(Persist *p);

/* What a checkpoint did. */
typedef struct PersistStats {
    uint64_t seq;                /* the checkpoint committed */
    uint64_t ram_pages;          /* page objects of guest RAM written */
    uint64_t objects;            /* objects written, state pages included */
    uint64_t pause_ns;           /* host time of the pause (marking) */
    uint64_t total_ns;           /* host time of the checkpoint, up to its commit */
    uint64_t migrated;           /* objects then copied to their home locations */
    uint64_t migrate_ns;         /* host time of that migration */
} PersistStats;

/* Takes a checkpoint of m (at the top level: no guest code running); the
 * first one binds the disk to m's store and turns on write tracking.
 * st may be NULL. */
int persist_checkpoint(Persist *p, Machine *m, const PersistConfig *cfg, PersistStats *st,
                       SlError *e);
/* Reads the last committed checkpoint: its configuration. */
int persist_restart_config(Persist *p, PersistConfig *cfg, uint64_t *seq, SlError *e);
/* Puts RAM and state of the checkpoint into m, which was made from the
 * same configuration and has loaded (not run) the same modules; reports on
 * out what could not be restored. */
int persist_restart_machine(Persist *p, Machine *m, FILE *out, SlError *e);

#endif
