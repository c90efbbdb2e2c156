/*
 * tests/test_emu_ifup.c: Debian's real 8139too goes up and down.
 *
 * A machine of the test's own -- the RTL8139 model on a PCI bus at
 * 00:02.0, the software IOMMU, the emulated kernel wired to them through
 * KernelHostOps, as emu/machine.c wires them -- loads mii.ko and
 * 8139too.ko, probes, opens eth0 (dev_open -> rtl8139_open: request_irq,
 * two coherent DMA buffers, napi_enable, hw start, mii_check_media),
 * closes it, removes the driver and unloads it.  What is asserted on is
 * what the driver did: its printk lines, the IRQ handler it registered,
 * its DMA buffers and IOMMU pins, and that nothing stays behind.
 *
 * The model is a plain "RTL-8139" (TxConfig version bits), whose board
 * entry has HAS_LNK_CHNG: rtl8139_start_thread() then queues no media
 * thread (Linux 6.1 8139too.c), so open queues no work item -- asserted,
 * since a queued one would be a divergence from Linux.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/pci.h"
#include "devices/rtl8139.h"
#include "iommu/iommu.h"
#include "kernel-guest/kernel.h"
#include "tests/support.h"

#define TEST_DEVFN 0x10          /* 00:02.0 */
#define TEST_LOG_LINES 128
/* mii_check_media's line at open: the model's link partner (ANLPAR
 * 0x41e1) and advertisement give 100 Mb/s full duplex. */
#define TEST_LINK_UP "8139too 0000:00:02.0 eth0: link up, 100Mbps, full-duplex, lpa 0x41E1"

typedef struct TestFx {
    PciBus *bus;
    Rtl8139 *nic;
    Iommu *mmu;
    Kernel *k;
    int mods[2];                 /* mii, 8139too */
    char log[TEST_LOG_LINES][256];
    unsigned nlog;
} TestFx;

static uint32_t test_config_read(void *o, unsigned devfn, unsigned off, unsigned size)
{
    return pci_config_read(((TestFx *)o)->bus, devfn, off, size);
}

static void test_config_write(void *o, unsigned devfn, unsigned off, uint32_t v, unsigned size)
{
    pci_config_write(((TestFx *)o)->bus, devfn, off, v, size);
}

static uint32_t test_bar_read(void *o, unsigned devfn, int bar, uint64_t off, unsigned size)
{
    return pci_bus_bar_read(((TestFx *)o)->bus, devfn, bar, off, size);
}

static void test_bar_write(void *o, unsigned devfn, int bar, uint64_t off, uint32_t v,
                           unsigned size)
{
    pci_bus_bar_write(((TestFx *)o)->bus, devfn, bar, off, v, size);
}

static uint32_t test_pio_read(void *o, uint16_t port, unsigned size)
{
    uint32_t v = 0xffffffffu;

    pci_bus_io_read(((TestFx *)o)->bus, port, size, &v);
    return v;
}

static void test_pio_write(void *o, uint16_t port, unsigned size, uint32_t v)
{
    pci_bus_io_write(((TestFx *)o)->bus, port, size, v);
}

static void test_log(void *o, int level, const char *line)
{
    TestFx *f = o;

    if (f->nlog < TEST_LOG_LINES) {
        snprintf(f->log[f->nlog++], sizeof(f->log[0]), "%s", line);
    }
}

static unsigned test_count(const TestFx *f, const char *needle)
{
    unsigned n = 0;

    for (unsigned i = 0; i < f->nlog; i++) {
        n += strstr(f->log[i], needle) != NULL;
    }
    return n;
}

static void test_dump_log(const TestFx *f)
{
    for (unsigned i = 0; i < f->nlog; i++) {
        print_message("log: %s\n", f->log[i]);
    }
}

/* The machine, with at most pin_bound pages pinned for DMA (0: no bound),
 * and both modules loaded and initialised (the probe has run). */
static TestFx *test_boot(uint64_t pin_bound)
{
    TestFx *f = calloc(1, sizeof(*f));
    KernelHostOps ops = {
        .pci_config_read = test_config_read, .pci_config_write = test_config_write,
        .pci_bar_read = test_bar_read, .pci_bar_write = test_bar_write,
        .pio_read = test_pio_read, .pio_write = test_pio_write, .log = test_log,
    };
    Rtl8139Config rc = {.mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, .revision = 0x10};
    KernelConfig kc = {0};
    IommuConfig ic;
    SlError e = {0};
    void *ram;
    uint64_t ram_size;

    assert_non_null(f);
    ops.opaque = f;
    f->bus = pci_bus_new();
    f->nic = rtl8139_new(f->bus, TEST_DEVFN, &rc);
    assert_non_null(f->nic);
    pci_bus_assign_resources(f->bus, 0xc000u, 0xfebf0000u, 9);
    kc.btf_path = test_kimage()->vmlinux;
    assert_int_equal(kernel_new(&kc, &ops, &f->k, &e), 0);
    kernel_ram(f->k, &ram, &ram_size);
    iommu_config_default(&ic, ram, ram_size);
    if (pin_bound) {
        ic.pin_bound_global = pin_bound;
    }
    assert_int_equal(iommu_new(&ic, &f->mmu, &e), 0);
    assert_int_equal(kernel_set_iommu(f->k, f->mmu, &e), 0);
    f->mods[0] = kernel_load_module(f->k, test_real_module_path("mii"), NULL, 0, &e);
    f->mods[1] = kernel_load_module(f->k, test_real_module_path("8139too"), NULL, 0, &e);
    assert_true(f->mods[0] >= 0 && f->mods[1] >= 0);
    assert_int_equal(kernel_init_module(f->k, f->mods[0]), 0);
    assert_int_equal(kernel_init_module(f->k, f->mods[1]), 0);
    assert_int_equal(test_count(f, "eth0: RealTek RTL8139 at 0x"), 1);
    return f;
}

/* Module exit (remove runs from pci_unregister_driver), in reverse order. */
static void test_unload(TestFx *f)
{
    int err = kernel_exit_module(f->k, f->mods[1]);

    if (err) {
        test_dump_log(f);
        kernel_report_print(f->k, stderr);
    }
    assert_int_equal(err, 0);
    assert_int_equal(kernel_exit_module(f->k, f->mods[0]), 0);
}

/* Nothing the driver held is left, and nothing went wrong on the way. */
static void test_assert_clean(TestFx *f)
{
    KernelStats s;
    KernelNetStats n;
    IommuStats is;

    kernel_stats(f->k, &s);
    kernel_net_stats(f->k, &n);
    iommu_stats(f->mmu, &is);
    assert_false(kernel_dead(f->k));
    assert_int_equal(s.probes, 1);
    assert_int_equal(s.removes, 1);
    assert_int_equal(s.warnings, 0);
    assert_int_equal(s.netdevs_live, 0);
    assert_int_equal(s.coherent_live, 0);
    assert_int_equal(s.iomaps_live, 0);
    assert_int_equal(s.heap_live_objects, 0);
    assert_int_equal(is.pins_now, 0);
    assert_int_equal(n.irq_handlers, 0);
    assert_int_equal(n.irqs_freed_total, n.irqs_requested_total);
    assert_int_equal(n.napi_scheduled, 0);
    assert_int_equal(n.work_pending, 0);
    assert_int_equal(n.timers_pending, 0);
    assert_int_equal(test_count(f, "WARNING"), 0);
}

static void test_shutdown(TestFx *f)
{
    kernel_free(f->k);
    iommu_free(f->mmu);
    pci_bus_free(f->bus);
    rtl8139_free(f->nic);
    free(f);
}

static void test_ifup__open__requests_irq_allocates_rings_and_reports_link(void **state)
{
    TestFx *f = test_boot(0);
    KernelStats s;
    KernelNetStats n;
    IommuStats is;
    int err = kernel_netdev_open_all(f->k);

    if (err) {
        test_dump_log(f);
        kernel_report_print(f->k, stderr);
    }
    assert_int_equal(err, 0);
    kernel_stats(f->k, &s);
    kernel_net_stats(f->k, &n);
    iommu_stats(f->mmu, &is);
    assert_int_equal(test_count(f, TEST_LINK_UP), 1);
    assert_int_equal(n.netdevs_up, 1);
    assert_int_equal(n.netdevs_carrier, 1);
    assert_int_equal(n.irq_handlers, 1);
    assert_int_equal(n.irqs_requested_total, 1);
    assert_int_equal(s.coherent_live, 2);          /* Tx buffers and the Rx ring */
    assert_true(is.pins_now > 0);
    assert_int_equal(n.work_pending, 0);           /* plain RTL-8139: no media thread */
    assert_int_equal(n.work_queued_total, 0);
    assert_int_equal(s.warnings, 0);

    assert_int_equal(kernel_netdev_close_all(f->k), 0);
    kernel_stats(f->k, &s);
    kernel_net_stats(f->k, &n);
    iommu_stats(f->mmu, &is);
    assert_int_equal(n.netdevs_up, 0);
    assert_int_equal(n.irq_handlers, 0);
    assert_int_equal(n.irqs_freed_total, 1);
    assert_int_equal(s.coherent_live, 0);
    assert_int_equal(is.pins_now, 0);

    test_unload(f);
    test_assert_clean(f);
    test_shutdown(f);
}

static void test_ifup__open_and_close_twice__second_calls_do_nothing(void **state)
{
    TestFx *f = test_boot(0);
    KernelNetStats n;
    KernelStats s;

    assert_int_equal(kernel_netdev_open(f->k, "eth0"), 0);
    assert_int_equal(kernel_netdev_open(f->k, "eth0"), 0);
    kernel_net_stats(f->k, &n);
    kernel_stats(f->k, &s);
    assert_int_equal(n.irqs_requested_total, 1);   /* ndo_open ran once */
    assert_int_equal(s.coherent_live, 2);
    assert_int_equal(test_count(f, TEST_LINK_UP), 1);

    assert_int_equal(kernel_netdev_close(f->k, "eth0"), 0);
    assert_int_equal(kernel_netdev_close(f->k, "eth0"), 0);
    kernel_net_stats(f->k, &n);
    assert_int_equal(n.irqs_freed_total, 1);       /* ndo_stop ran once */
    assert_int_equal(test_count(f, "already-free IRQ"), 0);

    /* And up again after down: a second, full open. */
    assert_int_equal(kernel_netdev_open(f->k, "eth0"), 0);
    kernel_net_stats(f->k, &n);
    assert_int_equal(n.irqs_requested_total, 2);
    assert_int_equal(test_count(f, TEST_LINK_UP), 2);
    assert_int_equal(kernel_netdev_close(f->k, "eth0"), 0);

    assert_int_equal(kernel_netdev_open(f->k, "eth9"), -ENODEV);
    test_unload(f);
    test_assert_clean(f);
    test_shutdown(f);
}

static void test_ifup__remove_while_up__unregister_closes_first(void **state)
{
    TestFx *f = test_boot(0);
    KernelNetStats n;

    assert_int_equal(kernel_netdev_open_all(f->k), 0);
    kernel_net_stats(f->k, &n);
    assert_int_equal(n.irq_handlers, 1);
    test_unload(f);                 /* remove: cancel work, unregister_netdev, free */
    test_assert_clean(f);
    kernel_net_stats(f->k, &n);
    assert_int_equal(n.irqs_freed_total, 1);
    test_shutdown(f);
}

static void test_ifup__rx_ring_over_pin_bound__open_fails_with_enomem(void **state)
{
    /* Room for the 6 KiB of Tx buffers (2 pages), not for the 33 KiB ring. */
    TestFx *f = test_boot(4);
    KernelNetStats n;
    KernelStats s;

    assert_int_equal(kernel_netdev_open_all(f->k), -ENOMEM);
    assert_int_equal(test_count(f, "sluice: eth0: ndo_open failed: -12 (ENOMEM)"), 1);
    kernel_net_stats(f->k, &n);
    kernel_stats(f->k, &s);
    assert_int_equal(n.netdevs_up, 0);
    assert_int_equal(n.irqs_requested_total, 1);   /* the driver undid its request_irq */
    assert_int_equal(n.irq_handlers, 0);
    assert_int_equal(s.coherent_live, 0);
    assert_false(kernel_dead(f->k));
    test_unload(f);
    test_assert_clean(f);
    test_shutdown(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ifup__open__requests_irq_allocates_rings_and_reports_link),
        cmocka_unit_test(test_ifup__open_and_close_twice__second_calls_do_nothing),
        cmocka_unit_test(test_ifup__remove_while_up__unregister_closes_first),
        cmocka_unit_test(test_ifup__rx_ring_over_pin_bound__open_fails_with_enomem),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
