/*
 * tests/modules/testmod_pci.h: a test module that is a PCI driver --
 * struct pci_device_id / pci_driver as Linux 6.1 lays them out (the tests
 * check these offsets against the kernel's BTF), and the glue that
 * registers the driver at module init and removes it at exit.
 */
#ifndef TESTMOD_PCI_H
#define TESTMOD_PCI_H

#include "testmod.h"

#define STRUCT_PAGE_SIZE 64      /* sizeof(struct page) on 6.1 x86-64 */

struct device;
struct pci_dev;

/* struct pci_device_id: 40 bytes */
struct tm_pci_device_id {
    u32 vendor, device, subvendor, subdevice, class, class_mask;
    u64 driver_data;
    u32 override_only;
};

/* struct pci_driver up to remove; the rest (struct device_driver ...) is
 * written by the PCI core, so room is left for it. */
struct tm_pci_driver {
    u64 node[2];
    const char *name;
    const struct tm_pci_device_id *id_table;
    int (*probe)(struct pci_dev *pdev, const struct tm_pci_device_id *id);
    void (*remove)(struct pci_dev *pdev);
    u8 rest[512 - 48];
};

extern u64 page_offset_base, vmemmap_base;
int __pci_register_driver(struct tm_pci_driver *drv, void *owner, const char *mod_name);
void pci_unregister_driver(struct tm_pci_driver *drv);

/* The driver NAME for vendor:device, with probe and remove; init_module
 * registers it, cleanup_module unregisters it. */
#define TM_PCI_MODULE(NAME, VENDOR, DEVICE, PROBE, REMOVE)                   \
    static const struct tm_pci_device_id tm_ids[] = {                        \
        {VENDOR, DEVICE, ~0u, ~0u, 0, 0, 0, 0},                              \
        {0, 0, 0, 0, 0, 0, 0, 0},                                            \
    };                                                                       \
    static struct tm_pci_driver tm_driver = {                                \
        .name = NAME, .id_table = tm_ids, .probe = PROBE, .remove = REMOVE,  \
    };                                                                       \
    int init_module(void)                                                    \
    {                                                                        \
        return __pci_register_driver(&tm_driver, 0, NAME);                   \
    }                                                                        \
    void cleanup_module(void)                                                \
    {                                                                        \
        pci_unregister_driver(&tm_driver);                                   \
    }

#endif
