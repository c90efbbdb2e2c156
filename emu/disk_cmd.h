/*
 * emu/disk_cmd.h: `sluice disk create|check|info` -- the checkpointing
 * disk's image tools -- and the adapter that lets kernel-guest's
 * checkpoint code reach devices/ckdisk through its PkBlockDev interface.
 */
#ifndef EMU_DISK_CMD_H
#define EMU_DISK_CMD_H

#include "devices/ckdisk.h"
#include "kernel-guest/pk_disk_format.h"

/* argv[0] is "disk", argv[1] the subcommand.  Returns the exit code:
 * 0 done (check: the image is clean), 1 bad or inconsistent image or host
 * error (one line per finding on stderr), 2 bad command line (one line). */
int disk_cmd_main(int argc, char **argv);

/* A PkBlockDev over d (valid while d is open). */
void disk_cmd_blockdev(CkDisk *d, PkBlockDev *out);

#endif
