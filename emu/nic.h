/*
 * emu/nic.h: the NIC models a machine can have on 00:02.0, behind one
 * table -- how to create each, offer it a received frame, and advance its
 * clock -- so the machine and the wire (netsim.c) need not know which.
 */
#ifndef EMU_NIC_H
#define EMU_NIC_H

#include <stddef.h>
#include <stdint.h>

#include "base/irq_line.h"
#include "devices/net_port.h"
#include "devices/pci.h"
#include "iommu/dma_port.h"

typedef struct NicModel {
    const char *name;            /* --device NAME */
    const char *driver;          /* the Debian module that drives it */
    void *(*create)(PciBus *bus, unsigned devfn, DmaPort *dma, const IrqLine *irq,
                    const NetPort *net, const uint8_t mac[6]);
    /* 0 accepted, -EAGAIN no buffer now, -EINVAL refused. */
    int (*receive)(void *dev, const uint8_t *frame, size_t len);
    /* Runs the chip's own timers up to now; NULL if it has none. */
    void (*advance)(void *dev, uint64_t now_ns);
    void (*destroy)(void *dev);
} NicModel;

/* The model named name, or NULL. */
const NicModel *nic_model_find(const char *name);
/* The model a driver module drives ("8139too" -> rtl8139), or NULL. */
const NicModel *nic_model_for_driver(const char *driver);
/* "rtl8139, ne2000, ..." for messages. */
const char *nic_model_names(void);

#endif
