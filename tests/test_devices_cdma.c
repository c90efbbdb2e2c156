/*
 * tests/test_devices_cdma.c: the cdma test DMA engine driven through the
 * PCI bus as a driver drives it (firmware assigns BAR0, the test enables
 * memory decode and bus mastering, then only does memory accesses), with a
 * real IOMMU between the device and a RAM buffer the test owns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/cdma.h"
#include "devices/pci.h"
#include "iommu/dma_port.h"
#include "iommu/iommu.h"

#define DEV_DEVFN (4u << 3)
#define RID DMA_PORT_RID(0, DEV_DEVFN)
#define MEM_BASE 0xfeb00000u
#define RAM_SIZE (1u << 20)
#define PG IOMMU_PAGE_SIZE

/* IOVAs above 4 GiB, so the HI registers matter. */
#define IOVA_SRC 0x100000000ull
#define IOVA_DST 0x100100000ull
#define IOVA_RO  0x100200000ull
#define PHYS_SRC 0x10000ull
#define PHYS_DST 0x40000ull
#define PHYS_RO  0x80000ull

typedef struct Fix {
    uint8_t *ram;
    Iommu *mmu;
    DmaPort port;
    PciBus *bus;
    Cdma *dev;
    uint64_t bar;
    int irq_level, irq_line;
} Fix;

static void fix_set_irq(void *opaque, int line, int level)
{
    Fix *f = opaque;

    f->irq_line = line;
    f->irq_level = level;
}

static Fix *fix_new(IommuMode mode)
{
    Fix *f = calloc(1, sizeof(*f));
    IommuConfig cfg;
    IrqLine irq = { fix_set_irq, f, 11 };

    assert_non_null(f);
    f->ram = calloc(1, RAM_SIZE);
    assert_non_null(f->ram);
    iommu_config_default(&cfg, f->ram, RAM_SIZE);
    cfg.mode = mode;
    assert_int_equal(iommu_new(&cfg, &f->mmu, NULL), 0);
    assert_int_equal(iommu_attach(f->mmu, RID, "cdma"), 0);
    dma_port_init(&f->port, f->mmu, RID, DMA_PORT_TRANSLATED);
    f->bus = pci_bus_new();
    assert_non_null(f->bus);
    f->dev = cdma_new(f->bus, DEV_DEVFN, &f->port, &irq);
    assert_non_null(f->dev);
    pci_bus_assign_resources(f->bus, 0xc000, MEM_BASE, 10);
    f->bar = pci_bus_bar_base(f->bus, DEV_DEVFN, 0);
    assert_int_not_equal(f->bar, 0);
    pci_config_write(f->bus, DEV_DEVFN, PCI_COMMAND,
                     PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    return f;
}

static void fix_free(Fix *f)
{
    pci_bus_free(f->bus);
    cdma_free(f->dev);
    iommu_free(f->mmu);
    free(f->ram);
    free(f);
}

static void wr(Fix *f, unsigned reg, uint32_t v)
{
    assert_int_equal(pci_bus_mem_write(f->bus, f->bar + reg, 4, v), 0);
}

static uint32_t rd(Fix *f, unsigned reg)
{
    uint32_t v = 0;

    assert_int_equal(pci_bus_mem_read(f->bus, f->bar + reg, 4, &v), 0);
    return v;
}

/* Programs SRC, DST, LEN and runs cmd; returns STATUS. */
static uint32_t run(Fix *f, unsigned cmd, uint64_t src, uint64_t dst, uint32_t len)
{
    wr(f, CDMA_REG_SRC_LO, (uint32_t)src);
    wr(f, CDMA_REG_SRC_HI, (uint32_t)(src >> 32));
    wr(f, CDMA_REG_DST_LO, (uint32_t)dst);
    wr(f, CDMA_REG_DST_HI, (uint32_t)(dst >> 32));
    wr(f, CDMA_REG_LEN, len);
    wr(f, CDMA_REG_CMD, cmd);
    return rd(f, CDMA_REG_STATUS);
}

static uint16_t pci_status(Fix *f)
{
    return (uint16_t)pci_config_read(f->bus, DEV_DEVFN, PCI_STATUS, 2);
}

static void map(Fix *f, uint64_t iova, uint64_t phys, uint64_t len, unsigned perms)
{
    assert_int_equal(iommu_map_range(f->mmu, RID, iova, phys, len, perms), 0);
}

static void fill_ram(Fix *f, uint64_t phys, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        f->ram[phys + i] = (uint8_t)(seed + i * 7);
    }
}

static void test_cdma__config_space__identifies_the_test_device(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);

    assert_int_equal(pci_config_read(f->bus, DEV_DEVFN, PCI_VENDOR_ID, 2), CDMA_VENDOR_ID);
    assert_int_equal(pci_config_read(f->bus, DEV_DEVFN, PCI_DEVICE_ID, 2), CDMA_DEVICE_ID);
    assert_int_equal(pci_config_read(f->bus, DEV_DEVFN, PCI_CLASS_DEVICE, 2), CDMA_CLASS >> 8);
    assert_int_equal(pci_config_read(f->bus, DEV_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(f->bar & (CDMA_BAR_SIZE - 1), 0);
    fix_free(f);
}

static void test_cdma__copy_across_pages__is_byte_exact(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);
    const uint32_t len = 3 * PG + 123;
    const uint32_t off = 0x345;    /* neither end page-aligned */

    map(f, IOVA_SRC, PHYS_SRC, 4 * PG, IOMMU_PERM_READ);
    map(f, IOVA_DST, PHYS_DST, 4 * PG, IOMMU_PERM_WRITE);
    fill_ram(f, PHYS_SRC, 4 * PG, 3);
    memset(f->ram + PHYS_DST, 0xee, 4 * PG);
    assert_int_equal(run(f, CDMA_CMD_COPY, IOVA_SRC + off, IOVA_DST + 16, len),
                     CDMA_STATUS_DONE);
    assert_memory_equal(f->ram + PHYS_DST + 16, f->ram + PHYS_SRC + off, len);
    assert_int_equal(f->ram[PHYS_DST + 15], 0xee);
    assert_int_equal(f->ram[PHYS_DST + 16 + len], 0xee);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
    assert_int_equal(pci_status(f) & PCI_STATUS_REC_MASTER_ABORT, 0);
    fix_free(f);
}

static void test_cdma__fill__writes_the_pattern_little_endian(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);

    map(f, IOVA_DST, PHYS_DST, PG, IOMMU_PERM_WRITE);
    wr(f, CDMA_REG_PATTERN, 0x44332211);
    assert_int_equal(run(f, CDMA_CMD_FILL, 0, IOVA_DST + 1, 6), CDMA_STATUS_DONE);
    assert_memory_equal(f->ram + PHYS_DST, "\0\x11\x22\x33\x44\x11\x22\0", 8);
    fix_free(f);
}

static void test_cdma__copy_to_unmapped_iova__master_aborts_and_iommu_says_not_mapped(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);
    IommuFault flt;

    map(f, IOVA_SRC, PHYS_SRC, PG, IOMMU_PERM_READ);
    fill_ram(f, PHYS_SRC, PG, 1);
    assert_int_equal(run(f, CDMA_CMD_COPY, IOVA_SRC, IOVA_DST + 8, 64),
                     CDMA_STATUS_MASTER_ABORT);
    assert_int_not_equal(pci_status(f) & PCI_STATUS_REC_MASTER_ABORT, 0);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
    assert_int_equal(flt.dir, IOMMU_DIR_WRITE);
    assert_int_equal(flt.rid, RID);
    assert_int_equal(flt.iova, IOVA_DST + 8);
    assert_int_equal(flt.len, 64);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 0);
    fix_free(f);
}

static void test_cdma__write_into_read_only_mapping__faults_permission(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);
    IommuFault flt;

    /* What a DMA_TO_DEVICE mapping gives the device: read, not write. */
    map(f, IOVA_RO, PHYS_RO, PG, IOMMU_PERM_READ);
    fill_ram(f, PHYS_RO, PG, 9);
    assert_int_equal(run(f, CDMA_CMD_READ, IOVA_RO, 0, 32), CDMA_STATUS_DONE);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_DONE);
    f->ram[PHYS_RO + 100] = 0x5a;
    assert_int_equal(run(f, CDMA_CMD_WRITE, 0, IOVA_RO + 100, 32),
                     CDMA_STATUS_MASTER_ABORT);
    assert_int_equal(f->ram[PHYS_RO + 100], 0x5a);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_PERMISSION);
    assert_int_equal(flt.dir, IOMMU_DIR_WRITE);
    assert_int_equal(flt.iova, IOVA_RO + 100);
    assert_int_not_equal(pci_status(f) & PCI_STATUS_REC_MASTER_ABORT, 0);
    fix_free(f);
}

static void test_cdma__read_after_unmap_strict__faults_not_mapped(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);
    IommuFault flt;

    map(f, IOVA_SRC, PHYS_SRC, PG, IOMMU_PERM_READ);
    assert_int_equal(run(f, CDMA_CMD_READ, IOVA_SRC, 0, 16), CDMA_STATUS_DONE);
    assert_int_equal(iommu_unmap_range(f->mmu, RID, IOVA_SRC, PG), 0);
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_DONE);
    assert_int_equal(run(f, CDMA_CMD_READ, IOVA_SRC, 0, 16), CDMA_STATUS_MASTER_ABORT);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
    assert_int_equal(flt.dir, IOMMU_DIR_READ);
    fix_free(f);
}

static void test_cdma__read_after_unmap_lazy__completes_and_is_recorded_stale(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_LAZY);
    IommuFault flt;

    map(f, IOVA_SRC, PHYS_SRC, PG, IOMMU_PERM_READ);
    map(f, IOVA_DST, PHYS_DST, PG, IOMMU_PERM_WRITE);
    fill_ram(f, PHYS_SRC, PG, 0x40);
    /* The first read fills the IOTLB; the unmap only queues its flush. */
    assert_int_equal(run(f, CDMA_CMD_READ, IOVA_SRC, 0, 64), CDMA_STATUS_DONE);
    assert_int_equal(iommu_unmap_range(f->mmu, RID, IOVA_SRC, PG), 0);
    assert_int_equal(iommu_flush_pending(f->mmu), 1);
    f->ram[PHYS_SRC + 3] = 0xab;   /* the stale read must see the frame now */
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_DONE);
    assert_int_equal(run(f, CDMA_CMD_READ, IOVA_SRC, 0, 64), CDMA_STATUS_DONE);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_STALE_IOTLB);
    assert_int_equal(flt.dir, IOMMU_DIR_READ);
    assert_int_equal(flt.iova, IOVA_SRC);
    assert_int_equal(pci_status(f) & PCI_STATUS_REC_MASTER_ABORT, 0);
    /* What the device fetched through the stale entry is what RAM held. */
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_DONE);
    assert_int_equal(run(f, CDMA_CMD_WRITE, 0, IOVA_DST, 64), CDMA_STATUS_DONE);
    assert_memory_equal(f->ram + PHYS_DST, f->ram + PHYS_SRC, 64);
    assert_int_equal(f->ram[PHYS_DST + 3], 0xab);
    /* After the drain the stale entry is gone: a plain not-mapped fault. */
    iommu_flush(f->mmu);
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_DONE);
    assert_int_equal(run(f, CDMA_CMD_READ, IOVA_SRC, 0, 64), CDMA_STATUS_MASTER_ABORT);
    assert_int_equal(iommu_fault_pop(f->mmu, &flt), 1);
    assert_int_equal(flt.reason, IOMMU_REASON_NOT_MAPPED);
    fix_free(f);
}

static void test_cdma__len_above_limit__sets_err_len_and_moves_nothing(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);

    map(f, IOVA_DST, PHYS_DST, 17 * PG, IOMMU_PERM_WRITE);
    wr(f, CDMA_REG_PATTERN, 0xffffffff);
    assert_int_equal(run(f, CDMA_CMD_FILL, 0, IOVA_DST, CDMA_MAX_LEN + 1), CDMA_STATUS_ERR_LEN);
    assert_int_equal(f->ram[PHYS_DST], 0);
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_ERR_LEN);
    assert_int_equal(run(f, CDMA_CMD_WRITE, 0, IOVA_DST, CDMA_BUF_SIZE + 1), CDMA_STATUS_ERR_LEN);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_ERR_LEN);
    assert_int_equal(run(f, CDMA_CMD_FILL, 0, IOVA_DST, CDMA_MAX_LEN), CDMA_STATUS_DONE);
    assert_int_equal(f->ram[PHYS_DST + CDMA_MAX_LEN - 1], 0xff);
    assert_int_equal(f->ram[PHYS_DST + CDMA_MAX_LEN], 0);
    fix_free(f);
}

static void test_cdma__bus_master_off__aborts_without_reaching_the_iommu(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);

    map(f, IOVA_DST, PHYS_DST, PG, IOMMU_PERM_WRITE);
    pci_config_write(f->bus, DEV_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    wr(f, CDMA_REG_PATTERN, 0x01010101);
    assert_int_equal(run(f, CDMA_CMD_FILL, 0, IOVA_DST, 8), CDMA_STATUS_MASTER_ABORT);
    assert_int_equal(f->ram[PHYS_DST], 0);
    assert_int_equal(iommu_fault_count(f->mmu), 0);
    fix_free(f);
}

static void test_cdma__status__is_write_one_to_clear(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);

    map(f, IOVA_SRC, PHYS_SRC, PG, IOMMU_PERM_READ);
    assert_int_equal(run(f, CDMA_CMD_WRITE, 0, IOVA_DST, 4), CDMA_STATUS_MASTER_ABORT);
    assert_int_equal(run(f, CDMA_CMD_READ, IOVA_SRC, 0, 4),
                     CDMA_STATUS_MASTER_ABORT | CDMA_STATUS_DONE);
    wr(f, CDMA_REG_STATUS, 0);
    assert_int_equal(rd(f, CDMA_REG_STATUS), CDMA_STATUS_MASTER_ABORT | CDMA_STATUS_DONE);
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_DONE);
    assert_int_equal(rd(f, CDMA_REG_STATUS), CDMA_STATUS_MASTER_ABORT);
    wr(f, CDMA_REG_STATUS, ~0u);
    assert_int_equal(rd(f, CDMA_REG_STATUS), 0);
    /* The PCI status bit is the config space's own RW1C bit. */
    pci_config_write(f->bus, DEV_DEVFN, PCI_STATUS, PCI_STATUS_REC_MASTER_ABORT, 2);
    assert_int_equal(pci_status(f) & PCI_STATUS_REC_MASTER_ABORT, 0);
    fix_free(f);
}

static void test_cdma__irq_line__follows_status_and_intmask(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);

    map(f, IOVA_DST, PHYS_DST, PG, IOMMU_PERM_WRITE);
    assert_int_equal(run(f, CDMA_CMD_FILL, 0, IOVA_DST, 4), CDMA_STATUS_DONE);
    assert_int_equal(f->irq_level, 0);             /* masked */
    wr(f, CDMA_REG_INTMASK, CDMA_STATUS_DONE);
    assert_int_equal(f->irq_level, 1);             /* pending DONE unmasked */
    assert_int_equal(f->irq_line, 11);
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_DONE);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(run(f, CDMA_CMD_FILL, 0, IOVA_DST, 4), CDMA_STATUS_DONE);
    assert_int_equal(f->irq_level, 1);
    wr(f, CDMA_REG_INTMASK, 0);
    assert_int_equal(f->irq_level, 0);
    /* An abort does not raise the line while only DONE is enabled. */
    wr(f, CDMA_REG_STATUS, CDMA_STATUS_ALL);
    wr(f, CDMA_REG_INTMASK, CDMA_STATUS_DONE);
    assert_int_equal(run(f, CDMA_CMD_FILL, 0, IOVA_SRC, 4), CDMA_STATUS_MASTER_ABORT);
    assert_int_equal(f->irq_level, 0);
    fix_free(f);
}

static void test_cdma__odd_width_access__is_not_decoded(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);
    uint32_t v = 0;

    wr(f, CDMA_REG_LEN, 0x12345678);
    assert_int_equal(pci_bus_mem_read(f->bus, f->bar + CDMA_REG_LEN, 2, &v), 0);
    assert_int_equal(v, 0xffff);
    assert_int_equal(pci_bus_mem_write(f->bus, f->bar + CDMA_REG_LEN + 1, 1, 0), 0);
    assert_int_equal(rd(f, CDMA_REG_LEN), 0x12345678);
    fix_free(f);
}

static void test_cdma__save_restore__round_trips_registers_and_buffer(void **state)
{
    Fix *f = fix_new(IOMMU_MODE_STRICT);
    size_t n = cdma_state_size();
    uint8_t *blob = malloc(n), *again = malloc(n);

    map(f, IOVA_SRC, PHYS_SRC, PG, IOMMU_PERM_READ);
    map(f, IOVA_DST, PHYS_DST, PG, IOMMU_PERM_WRITE);
    fill_ram(f, PHYS_SRC, PG, 0x21);
    assert_int_equal(run(f, CDMA_CMD_READ, IOVA_SRC, IOVA_DST, CDMA_BUF_SIZE), CDMA_STATUS_DONE);
    wr(f, CDMA_REG_PATTERN, 0xcafef00d);
    wr(f, CDMA_REG_INTMASK, CDMA_STATUS_DONE);
    assert_int_equal(f->irq_level, 1);
    cdma_state_save(f->dev, blob);

    cdma_reset(f->dev);
    assert_int_equal(rd(f, CDMA_REG_SRC_HI), 0);
    assert_int_equal(rd(f, CDMA_REG_STATUS), 0);
    assert_int_equal(f->irq_level, 0);

    cdma_state_restore(f->dev, blob);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(rd(f, CDMA_REG_SRC_LO), (uint32_t)IOVA_SRC);
    assert_int_equal(rd(f, CDMA_REG_SRC_HI), (uint32_t)(IOVA_SRC >> 32));
    assert_int_equal(rd(f, CDMA_REG_DST_HI), (uint32_t)(IOVA_DST >> 32));
    assert_int_equal(rd(f, CDMA_REG_LEN), CDMA_BUF_SIZE);
    assert_int_equal(rd(f, CDMA_REG_PATTERN), 0xcafef00d);
    assert_int_equal(rd(f, CDMA_REG_STATUS), CDMA_STATUS_DONE);
    cdma_state_save(f->dev, again);
    assert_memory_equal(blob, again, n);
    /* The internal buffer came back too: writing it out gives the source. */
    wr(f, CDMA_REG_CMD, CDMA_CMD_WRITE);
    assert_memory_equal(f->ram + PHYS_DST, f->ram + PHYS_SRC, CDMA_BUF_SIZE);
    free(blob);
    free(again);
    fix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdma__config_space__identifies_the_test_device),
        cmocka_unit_test(test_cdma__copy_across_pages__is_byte_exact),
        cmocka_unit_test(test_cdma__fill__writes_the_pattern_little_endian),
        cmocka_unit_test(test_cdma__copy_to_unmapped_iova__master_aborts_and_iommu_says_not_mapped),
        cmocka_unit_test(test_cdma__write_into_read_only_mapping__faults_permission),
        cmocka_unit_test(test_cdma__read_after_unmap_strict__faults_not_mapped),
        cmocka_unit_test(test_cdma__read_after_unmap_lazy__completes_and_is_recorded_stale),
        cmocka_unit_test(test_cdma__len_above_limit__sets_err_len_and_moves_nothing),
        cmocka_unit_test(test_cdma__bus_master_off__aborts_without_reaching_the_iommu),
        cmocka_unit_test(test_cdma__status__is_write_one_to_clear),
        cmocka_unit_test(test_cdma__irq_line__follows_status_and_intmask),
        cmocka_unit_test(test_cdma__odd_width_access__is_not_decoded),
        cmocka_unit_test(test_cdma__save_restore__round_trips_registers_and_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
