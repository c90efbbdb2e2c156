/*
 * tests/test_devices_pci.c: the PCI bus driven the way firmware and the
 * kernel's PCI core drive it -- config cycles, BAR sizing, resource
 * assignment, then port and memory accesses -- against a toy function
 * whose registers are a plain byte array that records what reached it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/pci.h"

#define TOY_DEVFN (2u << 3)
#define TOY2_DEVFN (5u << 3 | 1)
#define MAX_LOG 64

typedef struct ToyAccess {
    int write;
    int bar;
    uint64_t offset;
    unsigned size;
    uint32_t value;
} ToyAccess;

typedef struct Toy {
    uint8_t regs[4096];
    ToyAccess log[MAX_LOG];
    int nlog;
    unsigned config_written[MAX_LOG][2];
    int nconfig;
} Toy;

typedef struct Fixture {
    PciBus *bus;
    Toy toy, toy2;
    PciAccess trace[MAX_LOG];
    int ntrace;
} Fixture;

static void toy_log(Toy *t, int write, int bar, uint64_t offset, unsigned size,
                    uint32_t value)
{
    if (t->nlog < MAX_LOG) {
        t->log[t->nlog++] = (ToyAccess){ write, bar, offset, size, value };
    }
}

static uint32_t toy_read(void *opaque, int bar, uint64_t offset, unsigned size)
{
    Toy *t = opaque;
    uint32_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint32_t)t->regs[(offset + i) % sizeof(t->regs)] << (8 * i);
    }
    toy_log(t, 0, bar, offset, size, v);
    return v;
}

static void toy_write(void *opaque, int bar, uint64_t offset, uint32_t value,
                      unsigned size)
{
    Toy *t = opaque;

    for (unsigned i = 0; i < size; i++) {
        t->regs[(offset + i) % sizeof(t->regs)] = (uint8_t)(value >> (8 * i));
    }
    toy_log(t, 1, bar, offset, size, value);
}

static void toy_config_written(void *opaque, unsigned offset, unsigned size)
{
    Toy *t = opaque;

    if (t->nconfig < MAX_LOG) {
        t->config_written[t->nconfig][0] = offset;
        t->config_written[t->nconfig][1] = size;
        t->nconfig++;
    }
}

static const PciDeviceOps toy_ops = { toy_read, toy_write, toy_config_written };

static const PciDeviceInfo toy_info = {
    .name = "toy",
    .vendor_id = 0x1234, .device_id = 0x5678,
    .subsystem_vendor_id = 0xabcd, .subsystem_id = 0xef01,
    .revision = 0x42,
    .class_code = 0x020000,
    .interrupt_pin = 1,
    .bar = { { PCI_BAR_IO, 32 }, { PCI_BAR_MEM32, 4096 }, { PCI_BAR_NONE, 0 },
             { PCI_BAR_MEM32, 16 } },
};

static const PciDeviceInfo toy2_info = {
    .name = "toy2",
    .vendor_id = 0x1111, .device_id = 0x2222,
    .class_code = 0x010000,
    .interrupt_pin = 0,
    .bar = { { PCI_BAR_IO, 256 }, { PCI_BAR_MEM32, 256 } },
};

static void fixture_trace(void *opaque, const PciAccess *a)
{
    Fixture *f = opaque;

    if (f->ntrace < MAX_LOG) {
        f->trace[f->ntrace++] = *a;
    }
}

static int setup(void **state)
{
    Fixture *f = calloc(1, sizeof(*f));

    f->bus = pci_bus_new();
    assert_int_equal(pci_bus_add(f->bus, TOY_DEVFN, &toy_info, &toy_ops, &f->toy), 0);
    assert_int_equal(pci_bus_add(f->bus, TOY2_DEVFN, &toy2_info, &toy_ops, &f->toy2), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;

    pci_bus_free(f->bus);
    free(f);
    return 0;
}

static void test_pci__config_read__gives_ids_class_revision_and_subsystem(void **state)
{
    Fixture *f = *state;

    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_VENDOR_ID, 2), 0x1234);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_DEVICE_ID, 2), 0x5678);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, 0, 4), 0x56781234);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_REVISION_ID, 1), 0x42);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_REVISION_ID, 4), 0x02000042);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_HEADER_TYPE, 1), 0);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_SUBSYSTEM_VENDOR_ID, 2), 0xabcd);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_SUBSYSTEM_ID, 2), 0xef01);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(pci_config_read(f->bus, TOY2_DEVFN, PCI_CLASS_DEVICE, 2), 0x0100);
}

static void test_pci__config_read__of_empty_devfn__gives_all_ones(void **state)
{
    Fixture *f = *state;

    assert_int_equal(pci_config_read(f->bus, 0, PCI_VENDOR_ID, 2), 0xffff);
    assert_int_equal(pci_config_read(f->bus, 7 << 3, 0, 4), 0xffffffff);
    assert_int_equal(pci_config_read(f->bus, 7 << 3, 0, 1), 0xff);
}

static void test_pci__config_write__to_read_only_fields__is_ignored(void **state)
{
    Fixture *f = *state;

    pci_config_write(f->bus, TOY_DEVFN, 0, 0xffffffff, 4);
    pci_config_write(f->bus, TOY_DEVFN, PCI_REVISION_ID, 0xffffffff, 4);
    pci_config_write(f->bus, TOY_DEVFN, PCI_SUBSYSTEM_VENDOR_ID, 0, 4);
    pci_config_write(f->bus, TOY_DEVFN, PCI_INTERRUPT_PIN, 4, 1);
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 8, 0xffffffff, 4);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, 0, 4), 0x56781234);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_REVISION_ID, 4), 0x02000042);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_SUBSYSTEM_VENDOR_ID, 4),
                     0xef01abcd);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 8, 4), 0);
}

static void test_pci__config_write__interrupt_line_and_latency__are_writable(void **state)
{
    Fixture *f = *state;

    pci_config_write(f->bus, TOY_DEVFN, PCI_INTERRUPT_LINE, 11, 1);
    pci_config_write(f->bus, TOY_DEVFN, PCI_LATENCY_TIMER, 64, 1);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_INTERRUPT_LINE, 2), 0x010b);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_LATENCY_TIMER, 1), 64);
}

static void test_pci__bar_sizing__io_bar__reads_size_mask_and_io_bit(void **state)
{
    Fixture *f = *state;

    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0, 4), 0x1);
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0, 4), 0xffffffe1);
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0, 0xc040, 4);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0, 4), 0xc041);
    assert_int_equal(pci_bus_bar_base(f->bus, TOY_DEVFN, 0), 0xc040);
}

static void test_pci__bar_sizing__mem_bars__read_size_mask_with_type_zero(void **state)
{
    Fixture *f = *state;

    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 4, 4),
                     0xfffff000);
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 12, 0xffffffff, 4);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 12, 4),
                     0xfffffff0);
    /* An unimplemented BAR sizes as 0. */
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 16, 0xffffffff, 4);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 16, 4), 0);
    /* Byte-wise sizing works too (the mask is per bit, not per access). */
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 4, 0, 4);
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 5, 0xff, 1);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 4, 4),
                     0x0000f000);
}

static void test_pci__assign_resources__aligns_bars_and_leaves_decode_off(void **state)
{
    Fixture *f = *state;
    uint64_t io0, mem1, mem3, io2, mem2;

    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    pci_bus_assign_resources(f->bus, 0xc010, 0xfe000100, 10);
    io0 = pci_bus_bar_base(f->bus, TOY_DEVFN, 0);
    mem1 = pci_bus_bar_base(f->bus, TOY_DEVFN, 1);
    mem3 = pci_bus_bar_base(f->bus, TOY_DEVFN, 3);
    io2 = pci_bus_bar_base(f->bus, TOY2_DEVFN, 0);
    mem2 = pci_bus_bar_base(f->bus, TOY2_DEVFN, 1);

    assert_int_equal(io0, 0xc020);              /* 32-aligned above 0xc010 */
    assert_int_equal(io2, 0xc100);              /* 256-aligned above io0's end */
    assert_int_equal(mem1, 0xfe001000);
    assert_int_equal(mem3, 0xfe002000);
    assert_int_equal(mem2, 0xfe002100);
    assert_int_equal(pci_bus_bar_base(f->bus, TOY_DEVFN, 2), 0);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0, 4), 0xc021);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_COMMAND, 2), 0);
    assert_int_equal(pci_config_read(f->bus, TOY2_DEVFN, PCI_COMMAND, 2), 0);
    /* Slot 2 -> irq_base + 2; toy2 has no pin, so no line. */
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_INTERRUPT_LINE, 1), 12);
    assert_int_equal(pci_config_read(f->bus, TOY2_DEVFN, PCI_INTERRUPT_LINE, 1), 0);
}

static void test_pci__io_and_mem__decode_only_after_their_command_bit(void **state)
{
    Fixture *f = *state;
    uint32_t v = 0;

    pci_bus_assign_resources(f->bus, 0xc000, 0xfe000000, 10);
    f->toy.regs[4] = 0x5a;
    assert_int_equal(pci_bus_io_read(f->bus, 0xc004, 1, &v), -1);
    assert_int_equal(v, 0xff);
    assert_int_equal(pci_bus_mem_read(f->bus, 0xfe000004, 4, &v), -1);
    assert_int_equal(v, 0xffffffff);
    assert_int_equal(pci_bus_io_write(f->bus, 0xc004, 1, 0x11), -1);
    assert_int_equal(f->toy.nlog, 0);

    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    assert_int_equal(pci_bus_io_read(f->bus, 0xc004, 1, &v), 0);
    assert_int_equal(v, 0x5a);
    assert_int_equal(pci_bus_mem_read(f->bus, 0xfe000004, 1, &v), -1);

    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND,
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_COMMAND, 2), 7);
    assert_int_equal(pci_bus_mem_write(f->bus, 0xfe000008, 4, 0xdeadbeef), 0);
    assert_int_equal(pci_bus_mem_read(f->bus, 0xfe000008, 2, &v), 0);
    assert_int_equal(v, 0xbeef);
    assert_int_equal(f->toy.log[f->toy.nlog - 1].bar, 1);
    assert_int_equal(f->toy.log[f->toy.nlog - 1].offset, 8);
}

static void test_pci__unclaimed_accesses__read_all_ones_and_return_minus_one(void **state)
{
    Fixture *f = *state;
    uint32_t v = 0;

    pci_bus_assign_resources(f->bus, 0xc000, 0xfe000000, 10);
    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    assert_int_equal(pci_bus_io_read(f->bus, 0x80, 2, &v), -1);
    assert_int_equal(v, 0xffff);
    /* Past the 32-byte I/O BAR, and straddling its end. */
    assert_int_equal(pci_bus_io_read(f->bus, 0xc020, 4, &v), -1);
    assert_int_equal(pci_bus_io_read(f->bus, 0xc01e, 4, &v), -1);
    assert_int_equal(v, 0xffffffff);
    assert_int_equal(pci_bus_mem_read(f->bus, 0xfd000000, 1, &v), -1);
    assert_int_equal(v, 0xff);
    assert_int_equal(pci_bus_io_read(f->bus, 0xc000, 3, &v), -1);
    assert_int_equal(f->toy.nlog, 0);
}

static void test_pci__misaligned_bar_access__reaches_device_as_bytes(void **state)
{
    Fixture *f = *state;
    uint32_t v = 0;

    pci_bus_assign_resources(f->bus, 0xc000, 0xfe000000, 10);
    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    assert_int_equal(pci_bus_io_write(f->bus, 0xc001, 4, 0x44332211), 0);
    assert_int_equal(f->toy.nlog, 4);
    assert_int_equal(f->toy.log[0].size, 1);
    assert_int_equal(f->toy.log[3].offset, 4);
    assert_int_equal(f->toy.log[3].value, 0x44);
    assert_int_equal(pci_bus_io_read(f->bus, 0xc001, 4, &v), 0);
    assert_int_equal(v, 0x44332211);
    assert_int_equal(pci_bus_io_read(f->bus, 0xc000, 4, &v), 0);
    assert_int_equal(v, 0x33221100);
}

static void test_pci__config_access_straddling_a_dword__is_split(void **state)
{
    Fixture *f = *state;

    /* 0x3b is reserved (read-only 0), 0x3c is the interrupt line. */
    pci_config_write(f->bus, TOY_DEVFN, 0x3b, 0x0e55, 2);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, 0x3b, 2), 0x0e00);
    assert_int_equal(f->toy.nconfig, 2);
    assert_int_equal(f->toy.config_written[0][0], 0x3b);
    assert_int_equal(f->toy.config_written[0][1], 1);
    assert_int_equal(f->toy.config_written[1][0], 0x3c);
    assert_int_equal(f->toy.config_written[1][1], 1);
    /* A straddling read stitches device id and command together. */
    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_DEVICE_ID, 4), 0x00025678);
    /* Past the end of config space: all-ones, nothing written. */
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, 0xfe, 4), 0xffffffff);
}

static void test_pci__status__error_bits_are_write_one_to_clear(void **state)
{
    Fixture *f = *state;

    pci_bus_set_status(f->bus, TOY_DEVFN,
                       PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_TARGET_ABORT);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_STATUS, 2), 0x2800);
    /* Writing 0s (as a command-register dword write does) clears nothing. */
    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 4);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_STATUS, 2), 0x2800);
    pci_config_write(f->bus, TOY_DEVFN, PCI_STATUS, PCI_STATUS_REC_MASTER_ABORT, 2);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_STATUS, 2), 0x0800);
    /* Software cannot set a status bit. */
    pci_config_write(f->bus, TOY_DEVFN, PCI_STATUS, 0xffff, 2);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_STATUS, 2), 0);
    assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, PCI_COMMAND, 2), PCI_COMMAND_IO);
}

static void expect_trace(const PciAccess *a, PciAccessKind kind, unsigned devfn, int bar,
                         uint64_t offset, unsigned size, uint32_t value)
{
    assert_int_equal(a->kind, kind);
    assert_int_equal(a->devfn, devfn);
    assert_int_equal(a->bar, bar);
    assert_int_equal(a->offset, offset);
    assert_int_equal(a->size, size);
    assert_int_equal(a->value, value);
}

static void test_pci__trace_hook__sees_each_access_with_its_facts(void **state)
{
    Fixture *f = *state;
    uint32_t v;

    pci_bus_assign_resources(f->bus, 0xc000, 0xfe000000, 10);
    pci_bus_set_trace(f->bus, fixture_trace, f);
    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND, 3, 2);
    (void)pci_config_read(f->bus, TOY_DEVFN, PCI_VENDOR_ID, 2);
    assert_int_equal(pci_bus_io_write(f->bus, 0xc006, 2, 0xbeef), 0);
    assert_int_equal(pci_bus_mem_read(f->bus, 0xfe000010, 4, &v), 0);
    pci_bus_bar_write(f->bus, TOY_DEVFN, 3, 4, 0x77, 1);
    v = pci_bus_bar_read(f->bus, TOY_DEVFN, 0, 6, 2);
    assert_int_equal(v, 0xbeef);

    assert_int_equal(f->ntrace, 6);
    expect_trace(&f->trace[0], PCI_ACCESS_CONFIG_WRITE, TOY_DEVFN, -1, PCI_COMMAND, 2, 3);
    expect_trace(&f->trace[1], PCI_ACCESS_CONFIG_READ, TOY_DEVFN, -1, 0, 2, 0x1234);
    expect_trace(&f->trace[2], PCI_ACCESS_BAR_WRITE, TOY_DEVFN, 0, 6, 2, 0xbeef);
    expect_trace(&f->trace[3], PCI_ACCESS_BAR_READ, TOY_DEVFN, 1, 0x10, 4, 0);
    expect_trace(&f->trace[4], PCI_ACCESS_BAR_WRITE, TOY_DEVFN, 3, 4, 1, 0x77);
    expect_trace(&f->trace[5], PCI_ACCESS_BAR_READ, TOY_DEVFN, 0, 6, 2, 0xbeef);
}

static void test_pci__direct_bar_access__outside_the_bar__reads_all_ones(void **state)
{
    Fixture *f = *state;

    assert_int_equal(pci_bus_bar_read(f->bus, TOY_DEVFN, 0, 30, 4), 0xffffffff);
    assert_int_equal(pci_bus_bar_read(f->bus, TOY_DEVFN, 2, 0, 1), 0xff);
    assert_int_equal(pci_bus_bar_read(f->bus, 0, 0, 0, 2), 0xffff);
    pci_bus_bar_write(f->bus, TOY_DEVFN, 0, 32, 1, 1);
    assert_int_equal(f->toy.nlog, 0);
}

static void test_pci__add__rejects_taken_devfn_and_bad_bar_sizes(void **state)
{
    Fixture *f = *state;
    PciDeviceInfo bad = toy_info;

    assert_int_equal(pci_bus_add(f->bus, TOY_DEVFN, &toy_info, &toy_ops, NULL), -EEXIST);
    bad.bar[0].size = 48;
    assert_int_equal(pci_bus_add(f->bus, 9, &bad, &toy_ops, NULL), -EINVAL);
    bad.bar[0].size = 2;
    assert_int_equal(pci_bus_add(f->bus, 9, &bad, &toy_ops, NULL), -EINVAL);
    assert_int_equal(pci_bus_add(f->bus, PCI_MAX_DEVFN, &toy_info, &toy_ops, NULL), -EINVAL);
    assert_int_equal(pci_bus_next_devfn(f->bus, 9), TOY_DEVFN);   /* 9 stayed empty */
}

static void test_pci__lookups__find_devices_in_devfn_order(void **state)
{
    Fixture *f = *state;

    assert_int_equal(pci_bus_next_devfn(f->bus, 0), TOY_DEVFN);
    assert_int_equal(pci_bus_next_devfn(f->bus, TOY_DEVFN + 1), TOY2_DEVFN);
    assert_int_equal(pci_bus_next_devfn(f->bus, TOY2_DEVFN + 1), -1);
    assert_string_equal(pci_bus_device_info(f->bus, TOY2_DEVFN)->name, "toy2");
    assert_null(pci_bus_device_info(f->bus, 0));
}

static void test_pci__state_restore__gives_back_identical_config_and_decode(void **state)
{
    Fixture *f = *state;
    size_t n = pci_bus_state_size(f->bus);
    uint8_t *blob = malloc(n), *blob2 = malloc(n);
    uint32_t before[64], v;

    assert_int_equal(n, 2 * PCI_CONFIG_SIZE);
    pci_bus_assign_resources(f->bus, 0xc000, 0xfe000000, 10);
    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    pci_bus_set_status(f->bus, TOY_DEVFN, PCI_STATUS_REC_TARGET_ABORT);
    /* Mid-sizing: the latch state is part of the snapshot. */
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
    for (unsigned i = 0; i < 64; i++) {
        before[i] = pci_config_read(f->bus, TOY_DEVFN, 4 * i, 4);
    }
    pci_bus_state_save(f->bus, blob);

    pci_config_write(f->bus, TOY_DEVFN, PCI_COMMAND, 0, 2);
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0, 0xd000, 4);
    pci_config_write(f->bus, TOY_DEVFN, PCI_BASE_ADDRESS_0 + 4, 0xfe000000, 4);
    pci_config_write(f->bus, TOY_DEVFN, PCI_STATUS, 0xffff, 2);
    pci_bus_state_restore(f->bus, blob);

    for (unsigned i = 0; i < 64; i++) {
        assert_int_equal(pci_config_read(f->bus, TOY_DEVFN, 4 * i, 4), before[i]);
    }
    pci_bus_state_save(f->bus, blob2);
    assert_memory_equal(blob, blob2, n);
    assert_int_equal(pci_bus_io_read(f->bus, 0xc000, 1, &v), 0);
    free(blob);
    free(blob2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pci__config_read__gives_ids_class_revision_and_subsystem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__config_read__of_empty_devfn__gives_all_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__config_write__to_read_only_fields__is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__config_write__interrupt_line_and_latency__are_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__bar_sizing__io_bar__reads_size_mask_and_io_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__bar_sizing__mem_bars__read_size_mask_with_type_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__assign_resources__aligns_bars_and_leaves_decode_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__io_and_mem__decode_only_after_their_command_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__unclaimed_accesses__read_all_ones_and_return_minus_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__misaligned_bar_access__reaches_device_as_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__config_access_straddling_a_dword__is_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__status__error_bits_are_write_one_to_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__trace_hook__sees_each_access_with_its_facts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__direct_bar_access__outside_the_bar__reads_all_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__add__rejects_taken_devfn_and_bad_bar_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__lookups__find_devices_in_devfn_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci__state_restore__gives_back_identical_config_and_decode, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
