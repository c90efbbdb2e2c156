/*
 * emu/persist.h: the machine on the persistent kernel's checkpointing disk.
 *
 * A checkpoint captures the whole non-device machine as objects of the
 * persistent store (kernel-guest/pk_*): every guest RAM page that is not
 * all zeros as a page object (OID PERSIST_RAM_OID + pfn), the emulated
 * kernel's bookkeeping, the IOMMU and the PCI configuration spaces as
 * state pages, and the run's configuration; the disk commits it with a
 * header write as the last act (pk_ckpt).  Pages are compared with the
 * previous checkpoint, so only changed pages are written.
 *
 * A restart boots a machine with the same configuration, loads the same
 * modules (not run), and puts RAM and state back.  A device does not
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
#define PERSIST_RAM_OID 0x1000ull

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

/* Takes a checkpoint of m (at the top level: no guest code running). */
int persist_checkpoint(Persist *p, Machine *m, const PersistConfig *cfg, SlError *e);
/* Reads the last committed checkpoint: its configuration. */
int persist_restart_config(Persist *p, PersistConfig *cfg, uint64_t *seq, SlError *e);
/* Puts RAM and state of the checkpoint into m, which was made from the
 * same configuration and has loaded (not run) the same modules; reports on
 * out what could not be restored. */
int persist_restart_machine(Persist *p, Machine *m, FILE *out, SlError *e);

#endif
