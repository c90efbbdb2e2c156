/*
 * translator/vcpu_internal.h: the Vcpu struct, shared by the translator's
 * own files (vcpu.c, gateway.c, report.c) and nobody else.
 */
#ifndef TRANSLATOR_VCPU_INTERNAL_H
#define TRANSLATOR_VCPU_INTERNAL_H

#include <capstone/capstone.h>
#include <unicorn/unicorn.h>

#include "translator/vcpu.h"

#define VCPU_MAX_DEPTH 32
#define VCPU_MAX_CODE_RANGES 64
#define VCPU_MAX_MMIO 32

typedef struct VcpuSlot {
    char name[64];
    VcpuHostFn fn;               /* NULL for a code slot */
    void *opaque;
} VcpuSlot;

typedef struct VcpuMmio {
    VcpuMmioRead rd;
    VcpuMmioWrite wr;
    void *opaque;
} VcpuMmio;

typedef struct VcpuWatch {
    uint64_t start, end;         /* inclusive */
    VcpuWriteWatch fn;
    void *opaque;
    uc_hook hook;
    uint16_t gen;
} VcpuWatch;

struct Vcpu {
    uc_engine *uc;
    csh cs;
    bool cs_open;

    /* Gateway. */
    uint64_t stub_va;
    uint8_t *stub_host;
    size_t stub_len;
    VcpuSlot *slots;
    unsigned nslots, cap_slots;
    VcpuCall *call;              /* innermost gateway call, or NULL */

    /* Host -> guest calls. */
    uint64_t stack_top;
    uint64_t trampoline;
    unsigned depth;
    uc_context *saved[VCPU_MAX_DEPTH];
    uint64_t entry[VCPU_MAX_DEPTH];   /* the function each level called */

    /* Containment. */
    uint64_t block_budget;
    uint64_t blocks;             /* executed in the current outermost call */
    uint64_t blocks_total;
    bool dead;
    bool resume;                 /* the run ended after a WARN: go on */
    bool irq_request;            /* deliver at the next block boundary */
    bool in_irq_fn;
    VcpuInterruptFn irq_fn;
    void *irq_opaque;
    VcpuReport report;

    VcpuSymbolizer symbolizer;
    void *symbolizer_opaque;
    VcpuUd2Handler ud2;
    void *ud2_opaque;
    struct { uint64_t start, end; } code[VCPU_MAX_CODE_RANGES];
    unsigned ncode;

    VcpuPioRead pio_rd;
    VcpuPioWrite pio_wr;
    void *pio_opaque;
    VcpuMmio mmio[VCPU_MAX_MMIO];
    unsigned nmmio;

    /* Write watches (watch.c): a slot is live while fn is set; gen makes
     * a removed watch's handle stale. */
    VcpuWatch watch[VCPU_MAX_WATCHES];
    /* The write tracker (watch.c): hook live while track_fn is set. */
    VcpuWriteTracker track_fn;
    void *track_opaque;
    uc_hook track_hook;
};

/* watch.c: tells the write tracker about a host-side write (if any). */
void vcpu_track_host_write(Vcpu *cpu, uint64_t va, size_t len);

/* report.c: fills cpu->report from the current registers, marks the vCPU
 * dead.  what is the one-line description. */
void vcpu_report_fill(Vcpu *cpu, VcpuStop stop, uint64_t rip, const char *what);
/* gateway.c: the code hook on the stub page. */
void vcpu_gateway_hook(uc_engine *uc, uint64_t address, uint32_t size, void *opaque);

#endif
