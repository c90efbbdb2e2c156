/*
 * translator/vcpu.h: the x86-64 virtual CPU that runs driver code.
 *
 * Unicorn 2.0.1 in long mode with paging off (see shared/notes/unicorn-2.0.1.md):
 * guest memory is mapped directly at Linux virtual addresses, so the vCPU
 * has no page tables; whoever owns the address-space layout (the emulated
 * kernel) maps RAM, MMIO and port I/O here.
 *
 * Three things cross the guest/host boundary:
 *  - the gateway: a guest call of an import lands on a 16-byte stub slot
 *    holding `ret`; a code hook on the stub page calls the host function
 *    with the System V arguments and puts its result in RAX;
 *  - host -> guest calls (probe, remove, callbacks), which nest inside
 *    gateway calls: vcpu_call();
 *  - containment: an unmapped or forbidden access, executing data, an
 *    invalid instruction (ud2), a runaway loop (block budget) or a host
 *    function that declares the guest dead stops the whole call chain and
 *    leaves a VcpuReport -- never a host crash.
 */
#ifndef TRANSLATOR_VCPU_H
#define TRANSLATOR_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

typedef struct Vcpu Vcpu;

enum {
    VCPU_PROT_READ = 1,
    VCPU_PROT_WRITE = 2,
    VCPU_PROT_EXEC = 4,
};

#define VCPU_PAGE_SIZE 4096u
#define VCPU_STUB_SLOT_SIZE 16u
#define VCPU_BACKTRACE_MAX 16

typedef enum VcpuStop {
    VCPU_STOP_NONE = 0,          /* the call returned normally */
    VCPU_STOP_READ_UNMAPPED,
    VCPU_STOP_WRITE_UNMAPPED,
    VCPU_STOP_FETCH_UNMAPPED,
    VCPU_STOP_READ_PROT,
    VCPU_STOP_WRITE_PROT,
    VCPU_STOP_FETCH_PROT,        /* executing data */
    VCPU_STOP_INVALID_INSN,      /* ud2 (BUG) or an undecodable opcode */
    VCPU_STOP_BUDGET,            /* runaway loop: block budget exhausted */
    VCPU_STOP_HOST,              /* a host function declared the guest dead */
    VCPU_STOP_INTERNAL,          /* Unicorn failed for another reason */
} VcpuStop;

/* What stopped the guest, with everything a report needs. */
typedef struct VcpuReport {
    VcpuStop stop;
    uint64_t rip;                /* the instruction that stopped */
    uint64_t addr;               /* faulting data address, if any */
    unsigned size;               /* access size, if any */
    uint64_t value;              /* value being written, if any */
    uint64_t rsp;
    uint64_t gpr[16];            /* rax rbx rcx rdx rsi rdi rbp rsp r8..r15 */
    char what[256];              /* one line: what happened */
    uint64_t backtrace[VCPU_BACKTRACE_MAX];  /* return addresses found */
    unsigned depth;
} VcpuReport;

/* The arguments of one gateway call, as the guest passed them. */
typedef struct VcpuCall {
    Vcpu *cpu;
    uint64_t arg[6];             /* RDI, RSI, RDX, RCX, R8, R9 */
    uint64_t rsp;                /* at the stub: [rsp] is the return address */
    uint64_t return_address;
    unsigned slot;               /* which import */
} VcpuCall;

typedef uint64_t (*VcpuHostFn)(void *opaque, VcpuCall *c);

/* Memory-mapped I/O callbacks: offset within the mapped range. */
typedef uint64_t (*VcpuMmioRead)(void *opaque, uint64_t offset, unsigned size);
typedef void (*VcpuMmioWrite)(void *opaque, uint64_t offset, unsigned size,
                              uint64_t value);
/* Port I/O callbacks (in/out instructions). */
typedef uint32_t (*VcpuPioRead)(void *opaque, uint16_t port, unsigned size);
typedef void (*VcpuPioWrite)(void *opaque, uint16_t port, unsigned size,
                             uint32_t value);

/* Symbolizes addr into buf ("rtl8139_init_one+0x1c/0x400 [8139too]");
 * returns 0 if unknown. */
typedef size_t (*VcpuSymbolizer)(void *opaque, uint64_t addr, char *buf, size_t cap);

/* ud2 handler: returns true to continue after the instruction (a WARN),
 * false to stop with a report (a BUG).  May fill what[] with a message. */
typedef bool (*VcpuUd2Handler)(void *opaque, uint64_t rip, char *what, size_t cap);

Vcpu *vcpu_new(SlError *e);
void vcpu_free(Vcpu *cpu);

/* Maps host memory at guest virtual address va (page-aligned, len a
 * multiple of the page size).  Several VAs may alias one host buffer. */
int vcpu_map_ram(Vcpu *cpu, uint64_t va, void *host, size_t len, unsigned prot,
                 SlError *e);
int vcpu_map_mmio(Vcpu *cpu, uint64_t va, size_t len, VcpuMmioRead rd,
                  VcpuMmioWrite wr, void *opaque, SlError *e);
int vcpu_unmap(Vcpu *cpu, uint64_t va, size_t len);
void vcpu_set_pio(Vcpu *cpu, VcpuPioRead rd, VcpuPioWrite wr, void *opaque);

/* Guest memory through the vCPU's map (slow path; 0 or -1 if unmapped). */
int vcpu_read(Vcpu *cpu, uint64_t va, void *buf, size_t len);
int vcpu_write(Vcpu *cpu, uint64_t va, const void *buf, size_t len);
/* Tells the translator code at [va, va+len) changed (drops cached blocks). */
void vcpu_code_changed(Vcpu *cpu, uint64_t va, size_t len);

/* The gateway.  The stub area is guest memory the caller mapped read+exec
 * at stub_va; host points at its bytes.  One slot per import. */
int vcpu_gateway_init(Vcpu *cpu, uint64_t stub_va, uint8_t *host, size_t len,
                      SlError *e);
/* Adds a slot that calls fn; its guest address goes to *addr. */
int vcpu_gateway_add(Vcpu *cpu, const char *name, VcpuHostFn fn, void *opaque,
                     uint64_t *addr, SlError *e);
/* Adds a slot holding guest code (at most 16 bytes, e.g. `ret` for
 * __x86_return_thunk or `jmp *%rax` for a retpoline thunk). */
int vcpu_gateway_add_code(Vcpu *cpu, const char *name, const uint8_t *code,
                          size_t len, uint64_t *addr, SlError *e);
const char *vcpu_gateway_name(const Vcpu *cpu, uint64_t addr);
/* The name of the import a gateway call is for. */
const char *vcpu_call_name(const VcpuCall *c);

/* The i-th integer argument of a gateway call (0-based; 6 and up come
 * from the stack), for variadic imports. */
uint64_t vcpu_call_arg(VcpuCall *c, unsigned i);
/* Address of the stack area where argument i (>= 6) lives. */
uint64_t vcpu_call_stack_arg_addr(const VcpuCall *c, unsigned i);

/* The stack top for calls made when no guest code is running. */
void vcpu_set_stack(Vcpu *cpu, uint64_t top);
/* Returns address: a guest address holding `hlt`, the end of host calls.
 * The caller maps it (read+exec) and passes it here. */
void vcpu_set_trampoline(Vcpu *cpu, uint64_t va);
void vcpu_set_gs_base(Vcpu *cpu, uint64_t gs_base);
/* Block budget per outermost call (0 = unlimited). */
void vcpu_set_block_budget(Vcpu *cpu, uint64_t blocks);
uint64_t vcpu_blocks_executed(const Vcpu *cpu);

/* Calls guest function fn with up to 6 integer arguments.  Nests inside a
 * gateway call.  Returns 0 and the value of RAX, or -EFAULT when the guest
 * stopped (vcpu_report() says why; the machine is then dead until
 * vcpu_revive()). */
int vcpu_call(Vcpu *cpu, uint64_t fn, const uint64_t *args, unsigned nargs,
              uint64_t *ret);
/* Nesting depth of host -> guest calls (0 when no guest code runs). */
unsigned vcpu_depth(const Vcpu *cpu);

/* From a host function: declare the guest dead (BUG, unserved import...).
 * The current gateway call returns to nobody: every vcpu_call up the chain
 * fails, and the report carries what and the calling instruction. */
void vcpu_raise(Vcpu *cpu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool vcpu_dead(const Vcpu *cpu);
const VcpuReport *vcpu_report(const Vcpu *cpu);
/* Forget the report and accept calls again (after the machine restored a
 * snapshot, or in tests that go on after a contained fault). */
void vcpu_revive(Vcpu *cpu);

void vcpu_set_symbolizer(Vcpu *cpu, VcpuSymbolizer fn, void *opaque);
void vcpu_set_ud2_handler(Vcpu *cpu, VcpuUd2Handler fn, void *opaque);
/* Code ranges that may hold return addresses, for backtraces. */
void vcpu_add_code_range(Vcpu *cpu, uint64_t start, uint64_t end);
void vcpu_remove_code_range(Vcpu *cpu, uint64_t start, uint64_t end);

/* Interrupt delivery.  A device raising its line while guest code runs
 * calls vcpu_interrupt_request(); at the next translated-block boundary
 * the vCPU calls fn, which may run handlers as nested vcpu_call()s (the
 * interrupted code resumes after it, registers intact).  The request is
 * one flag: fn decides what is pending and may request again. */
typedef void (*VcpuInterruptFn)(void *opaque);
void vcpu_set_interrupt_handler(Vcpu *cpu, VcpuInterruptFn fn, void *opaque);
void vcpu_interrupt_request(Vcpu *cpu);

/* The instruction address of the innermost guest frame that made the
 * current gateway call or memory access (0 if none). */
uint64_t vcpu_current_rip(const Vcpu *cpu);
/* True when the current import was reached by a tail call (jmp), so
 * vcpu_current_rip() is the entry of the calling function, not the site. */
bool vcpu_current_is_tail_call(const Vcpu *cpu);

/* Symbolizes addr ("sym+0x1c/0x400 [mod]", or "0xffff..." if unknown). */
void vcpu_symbolize(const Vcpu *cpu, uint64_t addr, char *buf, size_t cap);
/* Disassembles the instruction at addr ("mov 0x998(%rdi), %eax"). */
int vcpu_disassemble(Vcpu *cpu, uint64_t addr, char *buf, size_t cap);
/* Prints a report: what, the instruction (symbolized and disassembled),
 * registers and a symbolized backtrace; each line starts with prefix. */
void vcpu_report_print(Vcpu *cpu, const VcpuReport *r, const char *prefix, FILE *out);
const char *vcpu_stop_name(VcpuStop stop);

/* --- write watches (watch.c) ---------------------------------------------
 * A watch calls fn for every guest store that overlaps [start, start+len):
 * va and size of the store as the instruction made it (an 8-byte store that
 * begins before start is reported whole), the value stored, and rip, the
 * storing instruction.  Host-side writes (vcpu_write, DMA, host pointers)
 * are not guest stores and are not reported.  Watches may be added and
 * removed at any time, also from a host function called by the guest; a
 * watch added there sees the guest's next store.  fn may record, add or
 * remove watches (its own included) and call vcpu_raise() (the store
 * completes; the guest stops at the next block); it must not call
 * vcpu_call().  Every store pays a few ns per live watch (watch.c).
 * Watches are wiring, not state: vcpu_state_save() does not carry them;
 * whoever set them re-establishes them after a restore. */
#define VCPU_MAX_WATCHES 256

typedef void (*VcpuWriteWatch)(void *opaque, uint64_t va, unsigned size,
                               uint64_t value, uint64_t rip);

/* Returns 0 and a non-zero *handle, -EINVAL (len 0 or the range wraps),
 * -ENOSPC (VCPU_MAX_WATCHES live) or -EIO (Unicorn refused the hook). */
int vcpu_watch_writes(Vcpu *cpu, uint64_t start, uint64_t len, VcpuWriteWatch fn,
                      void *opaque, unsigned *handle);
/* Removes a watch; a handle already removed (or 0) is ignored. */
void vcpu_unwatch_writes(Vcpu *cpu, unsigned handle);

/* --- write tracking (watch.c) -------------------------------------------
 * One tracker per vCPU for dirty-page tracking (checkpoints): fn is called
 * with va and size of every guest store into [start, end], and also for
 * the vCPU's own host-side writes into guest memory (vcpu_write and the
 * return address a host -> guest call puts on the stack), so together with
 * the writes the caller makes itself it sees every change to guest memory
 * made through this vCPU.  fn must only record (no vcpu_call, no raise).
 * Costs every guest store a hook call (~2 ns plus fn).  NULL fn removes
 * it.  Wiring, not state.  0, or -EIO if Unicorn refused the hook. */
typedef void (*VcpuWriteTracker)(void *opaque, uint64_t va, unsigned size);
int vcpu_track_writes(Vcpu *cpu, uint64_t start, uint64_t end, VcpuWriteTracker fn,
                      void *opaque);

/* CPU registers as a snapshot blob (uc_context). */
size_t vcpu_state_size(const Vcpu *cpu);
int vcpu_state_save(Vcpu *cpu, void *buf);
int vcpu_state_restore(Vcpu *cpu, const void *buf);

#endif
