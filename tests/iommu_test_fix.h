/*
 * tests/iommu_test_fix.h: the fixture the IOMMU's tests share
 * (test_iommu_faults.c, test_iommu_hooks.c, test_iommu_iotlb.c,
 * test_iommu_map.c, test_iommu_pins.c, and the blob helper of
 * test_iommu_state.c): IOMMU_TEST_RAM_SIZE bytes of zeroed guest RAM, an
 * IOMMU over it with iommu_config_default's settings except the mode and
 * what the test file's tune function changes, one device attached at
 * IOMMU_TEST_RID_A (and optionally a second at IOMMU_TEST_RID_B), and the
 * first device's DMA port through the IOMMU.  Header-only.
 */
#ifndef TESTS_IOMMU_TEST_FIX_H
#define TESTS_IOMMU_TEST_FIX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "iommu/dma_port.h"
#include "iommu/iommu.h"

#define IOMMU_TEST_RAM_SIZE (1u << 20)
#define IOMMU_TEST_RID_A 0x0018      /* 00:03.0 */
#define IOMMU_TEST_RID_B 0x0020      /* 00:04.0 */

typedef struct IommuTestFix {
    uint8_t *ram;
    Iommu *mmu;
    DmaPort port;                /* device A's, translated */
} IommuTestFix;

/* Changes a test file's settings in cfg (after the defaults and the mode). */
typedef void IommuTestTune(IommuConfig *cfg);

/* Zeroed RAM (*ram, freed by iommu_test_stop) and an IOMMU over it in
 * mode, tuned by tune (NULL: the defaults), with dev_a attached at RID_A
 * and, unless NULL, dev_b at RID_B; *port is dev_a's translated port. */
static inline void iommu_test_start(uint8_t **ram, Iommu **mmu, DmaPort *port, IommuMode mode,
                                    IommuTestTune *tune, const char *dev_a, const char *dev_b)
{
    IommuConfig cfg;

    *ram = calloc(1, IOMMU_TEST_RAM_SIZE);
    assert_non_null(*ram);
    iommu_config_default(&cfg, *ram, IOMMU_TEST_RAM_SIZE);
    cfg.mode = mode;
    if (tune) {
        tune(&cfg);
    }
    assert_int_equal(iommu_new(&cfg, mmu, NULL), 0);
    assert_int_equal(iommu_attach(*mmu, IOMMU_TEST_RID_A, dev_a), 0);
    if (dev_b) {
        assert_int_equal(iommu_attach(*mmu, IOMMU_TEST_RID_B, dev_b), 0);
    }
    dma_port_init(port, *mmu, IOMMU_TEST_RID_A, DMA_PORT_TRANSLATED);
}

static inline void iommu_test_stop(uint8_t *ram, Iommu *mmu)
{
    iommu_free(mmu);
    free(ram);
}

/* A cmocka setup body: *state becomes an IommuTestFix made by
 * iommu_test_start. */
static inline int iommu_test_fix_setup(void **state, IommuMode mode, IommuTestTune *tune,
                                       const char *dev_a, const char *dev_b)
{
    IommuTestFix *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    iommu_test_start(&f->ram, &f->mmu, &f->port, mode, tune, dev_a, dev_b);
    *state = f;
    return 0;
}

static inline int iommu_test_fix_teardown(void **state)
{
    IommuTestFix *f = *state;

    iommu_test_stop(f->ram, f->mmu);
    free(f);
    return 0;
}

/* The IOMMU's state blob (the caller frees it); *n its length. */
static inline uint8_t *iommu_test_blob(const Iommu *mmu, size_t *n)
{
    uint8_t *b;

    *n = iommu_state_size(mmu);
    b = malloc(*n);
    assert_non_null(b);
    assert_int_equal(iommu_state_save(mmu, b, *n), (long)*n);
    return b;
}

/* The oldest fault record, which must exist. */
static inline IommuFault iommu_test_pop_fault(Iommu *mmu)
{
    IommuFault flt;

    assert_int_equal(iommu_fault_pop(mmu, &flt), 1);
    return flt;
}

#endif
