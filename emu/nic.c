/*
 * emu/nic.c: the NIC model table (see nic.h).  Each entry adapts one
 * device model's own API; the MACs differ per model so traces tell them
 * apart (52:54:00:12:34:56 is QEMU's first, the rest follow it).
 */
#include "emu/nic.h"

#include <string.h>

#include "devices/e1000.h"
#include "devices/ne2000.h"
#include "devices/pcnet.h"
#include "devices/rtl8139.h"

static void *nic_rtl8139_create(PciBus *bus, unsigned devfn, DmaPort *dma, const IrqLine *irq,
                                const NetPort *net, const uint8_t mac[6])
{
    /* Rev K: the chip 8139too runs its media thread (rtl8139_thread) for. */
    Rtl8139Config c = {.revision = 0x10, .chip = RTL8139_CHIP_8139K, .irq = *irq, .dma = dma,
                       .net = *net};

    memcpy(c.mac, mac, 6);
    return rtl8139_new(bus, devfn, &c);
}

static int nic_rtl8139_receive(void *dev, const uint8_t *frame, size_t len)
{
    return rtl8139_receive(dev, frame, len);
}

static void nic_rtl8139_advance(void *dev, uint64_t now_ns)
{
    rtl8139_advance(dev, now_ns);
}

static void nic_rtl8139_destroy(void *dev)
{
    rtl8139_free(dev);
}

/* NE2000 (RTL8029AS): no bus mastering, so no DMA port; no timers. */
static void *nic_ne2000_create(PciBus *bus, unsigned devfn, DmaPort *dma, const IrqLine *irq,
                               const NetPort *net, const uint8_t mac[6])
{
    Ne2000Config c = {.irq = *irq, .net = *net};

    memcpy(c.mac, mac, 6);
    return ne2000_new(bus, devfn, &c);
}

static int nic_ne2000_receive(void *dev, const uint8_t *frame, size_t len)
{
    return ne2000_receive(dev, frame, len);
}

static void nic_ne2000_destroy(void *dev)
{
    ne2000_free(dev);
}

static void *nic_pcnet_create(PciBus *bus, unsigned devfn, DmaPort *dma, const IrqLine *irq,
                              const NetPort *net, const uint8_t mac[6])
{
    PcnetConfig c = {.dma = dma, .irq = *irq, .net = *net};

    memcpy(c.mac, mac, 6);
    return pcnet_new(bus, devfn, &c);
}

static int nic_pcnet_receive(void *dev, const uint8_t *frame, size_t len)
{
    return pcnet_receive(dev, frame, len);
}

static void nic_pcnet_advance(void *dev, uint64_t now_ns)
{
    pcnet_advance(dev, now_ns);
}

static void nic_pcnet_destroy(void *dev)
{
    pcnet_free(dev);
}

static void *nic_e1000_create(PciBus *bus, unsigned devfn, DmaPort *dma, const IrqLine *irq,
                              const NetPort *net, const uint8_t mac[6])
{
    E1000Config c = {.irq = *irq, .net = *net};

    memcpy(c.mac, mac, 6);
    return e1000_new(bus, devfn, dma, &c);
}

static int nic_e1000_receive(void *dev, const uint8_t *frame, size_t len)
{
    return e1000_receive(dev, frame, len);
}

static void nic_e1000_destroy(void *dev)
{
    e1000_free(dev);
}

static const NicModel nic_models[] = {
    {"rtl8139", "8139too", nic_rtl8139_create, nic_rtl8139_receive, nic_rtl8139_advance,
     nic_rtl8139_destroy},
    {"ne2000", "ne2k-pci", nic_ne2000_create, nic_ne2000_receive, NULL, nic_ne2000_destroy},
    {"pcnet", "pcnet32", nic_pcnet_create, nic_pcnet_receive, nic_pcnet_advance,
     nic_pcnet_destroy},
    {"e1000", "e1000", nic_e1000_create, nic_e1000_receive, NULL, nic_e1000_destroy},
};

const NicModel *nic_model_find(const char *name)
{
    for (size_t i = 0; i < sizeof(nic_models) / sizeof(nic_models[0]); i++) {
        if (!strcmp(nic_models[i].name, name)) {
            return &nic_models[i];
        }
    }
    return NULL;
}

const NicModel *nic_model_for_driver(const char *driver)
{
    for (size_t i = 0; i < sizeof(nic_models) / sizeof(nic_models[0]); i++) {
        if (!strcmp(nic_models[i].driver, driver)) {
            return &nic_models[i];
        }
    }
    return NULL;
}

const char *nic_model_names(void)
{
    return "rtl8139, ne2000, pcnet, e1000";
}
