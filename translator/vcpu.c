/*
 * translator/vcpu.c: Unicorn setup, the address space, host -> guest calls
 * and the containment hooks.  See vcpu.h; the measured Unicorn 2.0.1 facts
 * every choice here rests on are in shared/notes/unicorn-2.0.1.md.
 */
#include "translator/vcpu_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A no-op memory hook on one byte nobody maps: its presence makes Unicorn
 * keep RIP exact in memory-fault hooks (measured; costs ~20% on stores). */
#define VCPU_RIP_SYNC_HOOK_VA 0x1000ull

static const char *vcpu_uc_strerror(uc_err err)
{
    return uc_strerror(err);
}

static void vcpu_hook_noop(uc_engine *uc, uc_mem_type type, uint64_t address,
                           int size, int64_t value, void *opaque)
{
}

static bool vcpu_is_canonical(uint64_t a)
{
    uint64_t top = a >> 47;

    return top == 0 || top == 0x1ffff;
}

static bool vcpu_hook_mem_fault(uc_engine *uc, uc_mem_type type, uint64_t address,
                                int size, int64_t value, void *opaque)
{
    Vcpu *cpu = opaque;
    uint64_t rip = 0;
    VcpuStop stop;
    const char *verb;
    char what[200];

    switch (type) {
    case UC_MEM_READ_UNMAPPED: stop = VCPU_STOP_READ_UNMAPPED; verb = "read of unmapped"; break;
    case UC_MEM_WRITE_UNMAPPED: stop = VCPU_STOP_WRITE_UNMAPPED; verb = "write to unmapped"; break;
    case UC_MEM_FETCH_UNMAPPED: stop = VCPU_STOP_FETCH_UNMAPPED; verb = "execution of unmapped"; break;
    case UC_MEM_READ_PROT: stop = VCPU_STOP_READ_PROT; verb = "read of unreadable"; break;
    case UC_MEM_WRITE_PROT: stop = VCPU_STOP_WRITE_PROT; verb = "write to read-only"; break;
    case UC_MEM_FETCH_PROT: stop = VCPU_STOP_FETCH_PROT; verb = "execution of non-executable (data)"; break;
    default: stop = VCPU_STOP_INTERNAL; verb = "access to"; break;
    }
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    if (stop == VCPU_STOP_FETCH_UNMAPPED || stop == VCPU_STOP_FETCH_PROT) {
        rip = address;
    }
    snprintf(what, sizeof(what), "%s %s address 0x%016llx (%d bytes)", verb,
             vcpu_is_canonical(address) ? "kernel" : "non-canonical",
             (unsigned long long)address, size);
    vcpu_report_fill(cpu, stop, rip, what);
    cpu->report.addr = address;
    cpu->report.size = (unsigned)size;
    cpu->report.value = (uint64_t)value;
    return false;
}

static bool vcpu_hook_invalid_insn(uc_engine *uc, void *opaque)
{
    Vcpu *cpu = opaque;
    uint64_t rip = 0;
    uint8_t b[2] = {0, 0};
    char what[200] = "";

    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    if (uc_mem_read(uc, rip, b, 2) == UC_ERR_OK && b[0] == 0x0f && b[1] == 0x0b) {
        if (cpu->ud2 && cpu->ud2(cpu->ud2_opaque, rip, what, sizeof(what))) {
            uint64_t next = rip + 2;

            /* Unicorn ends the run here (measured: returning true stops
             * with UC_ERR_OK at the RIP we set); vcpu_call resumes it. */
            uc_reg_write(uc, UC_X86_REG_RIP, &next);
            cpu->resume = true;
            return true;
        }
        if (!what[0]) {
            snprintf(what, sizeof(what), "ud2 (BUG) with no __bug_table entry");
        }
    } else {
        snprintf(what, sizeof(what), "invalid opcode %02x %02x", b[0], b[1]);
    }
    vcpu_report_fill(cpu, VCPU_STOP_INVALID_INSN, rip, what);
    return false;
}

static void vcpu_hook_block(uc_engine *uc, uint64_t address, uint32_t size, void *opaque)
{
    Vcpu *cpu = opaque;

    cpu->blocks++;
    cpu->blocks_total++;
    if (cpu->dead) {
        uc_emu_stop(uc);
        return;
    }
    if (cpu->irq_request && cpu->irq_fn && !cpu->in_irq_fn) {
        /* Between two blocks the guest is at an instruction boundary: the
         * place a real CPU takes an interrupt.  Handlers nest as calls. */
        cpu->irq_request = false;
        cpu->in_irq_fn = true;
        cpu->irq_fn(cpu->irq_opaque);
        cpu->in_irq_fn = false;
        if (cpu->dead) {
            uc_emu_stop(uc);
            return;
        }
    }
    if (cpu->block_budget && cpu->blocks > cpu->block_budget) {
        char what[200];

        snprintf(what, sizeof(what),
                 "runaway loop: block budget exhausted [budget=%llu blocks]",
                 (unsigned long long)cpu->block_budget);
        vcpu_report_fill(cpu, VCPU_STOP_BUDGET, address, what);
        uc_emu_stop(uc);
    }
}

static uint32_t vcpu_hook_in(uc_engine *uc, uint32_t port, int size, void *opaque)
{
    Vcpu *cpu = opaque;

    if (!cpu->pio_rd) {
        return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
    }
    return cpu->pio_rd(cpu->pio_opaque, (uint16_t)port, (unsigned)size);
}

static void vcpu_hook_out(uc_engine *uc, uint32_t port, int size, uint32_t value,
                          void *opaque)
{
    Vcpu *cpu = opaque;

    if (cpu->pio_wr) {
        cpu->pio_wr(cpu->pio_opaque, (uint16_t)port, (unsigned)size, value);
    }
}

Vcpu *vcpu_new(SlError *e)
{
    Vcpu *cpu = calloc(1, sizeof(*cpu));
    uc_hook h;
    uc_err err;

    if (!cpu) {
        sl_error(e, -ENOMEM, "vcpu: out of memory");
        return NULL;
    }
    err = uc_open(UC_ARCH_X86, UC_MODE_64, &cpu->uc);
    if (err != UC_ERR_OK) {
        sl_error(e, -EIO, "vcpu: unicorn: %s", vcpu_uc_strerror(err));
        free(cpu);
        return NULL;
    }
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cpu->cs) == CS_ERR_OK) {
        cs_option(cpu->cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
        cpu->cs_open = true;
    }
    uc_hook_add(cpu->uc, &h, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, (void *)vcpu_hook_noop, cpu,
                VCPU_RIP_SYNC_HOOK_VA, VCPU_RIP_SYNC_HOOK_VA + VCPU_PAGE_SIZE - 1);
    uc_hook_add(cpu->uc, &h, UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT,
                (void *)vcpu_hook_mem_fault, cpu, 1, 0);
    uc_hook_add(cpu->uc, &h, UC_HOOK_INSN_INVALID, (void *)vcpu_hook_invalid_insn,
                cpu, 1, 0);
    uc_hook_add(cpu->uc, &h, UC_HOOK_BLOCK, (void *)vcpu_hook_block, cpu, 1, 0);
    uc_hook_add(cpu->uc, &h, UC_HOOK_INSN, (void *)vcpu_hook_in, cpu, 1, 0,
                UC_X86_INS_IN);
    uc_hook_add(cpu->uc, &h, UC_HOOK_INSN, (void *)vcpu_hook_out, cpu, 1, 0,
                UC_X86_INS_OUT);
    return cpu;
}

void vcpu_free(Vcpu *cpu)
{
    if (!cpu) {
        return;
    }
    for (unsigned i = 0; i < VCPU_MAX_DEPTH; i++) {
        if (cpu->saved[i]) {
            uc_context_free(cpu->saved[i]);
        }
    }
    if (cpu->cs_open) {
        cs_close(&cpu->cs);
    }
    uc_close(cpu->uc);
    free(cpu->slots);
    free(cpu);
}

static uint32_t vcpu_uc_prot(unsigned prot)
{
    return (prot & VCPU_PROT_READ ? UC_PROT_READ : 0) |
           (prot & VCPU_PROT_WRITE ? UC_PROT_WRITE : 0) |
           (prot & VCPU_PROT_EXEC ? UC_PROT_EXEC : 0);
}

int vcpu_map_ram(Vcpu *cpu, uint64_t va, void *host, size_t len, unsigned prot,
                 SlError *e)
{
    uc_err err;

    if ((va | len) & (VCPU_PAGE_SIZE - 1)) {
        return sl_error(e, -EINVAL, "vcpu: map of 0x%llx+0x%zx is not page-aligned",
                        (unsigned long long)va, len);
    }
    err = uc_mem_map_ptr(cpu->uc, va, len, vcpu_uc_prot(prot), host);
    if (err != UC_ERR_OK) {
        return sl_error(e, -EINVAL, "vcpu: map of 0x%llx+0x%zx: %s",
                        (unsigned long long)va, len, vcpu_uc_strerror(err));
    }
    return 0;
}

static uint64_t vcpu_mmio_read_cb(uc_engine *uc, uint64_t offset, unsigned size,
                                  void *opaque)
{
    VcpuMmio *m = opaque;

    return m->rd ? m->rd(m->opaque, offset, size) : ~0ull;
}

static void vcpu_mmio_write_cb(uc_engine *uc, uint64_t offset, unsigned size,
                               uint64_t value, void *opaque)
{
    VcpuMmio *m = opaque;

    if (m->wr) {
        m->wr(m->opaque, offset, size, value);
    }
}

int vcpu_map_mmio(Vcpu *cpu, uint64_t va, size_t len, VcpuMmioRead rd,
                  VcpuMmioWrite wr, void *opaque, SlError *e)
{
    VcpuMmio *m;
    uc_err err;

    if (cpu->nmmio == VCPU_MAX_MMIO) {
        return sl_error(e, -ENOSPC, "vcpu: more than %d MMIO ranges", VCPU_MAX_MMIO);
    }
    m = &cpu->mmio[cpu->nmmio];
    m->rd = rd;
    m->wr = wr;
    m->opaque = opaque;
    err = uc_mmio_map(cpu->uc, va, len, vcpu_mmio_read_cb, m, vcpu_mmio_write_cb, m);
    if (err != UC_ERR_OK) {
        return sl_error(e, -EINVAL, "vcpu: MMIO map of 0x%llx+0x%zx: %s",
                        (unsigned long long)va, len, vcpu_uc_strerror(err));
    }
    cpu->nmmio++;
    return 0;
}

int vcpu_unmap(Vcpu *cpu, uint64_t va, size_t len)
{
    return uc_mem_unmap(cpu->uc, va, len) == UC_ERR_OK ? 0 : -EINVAL;
}

void vcpu_set_pio(Vcpu *cpu, VcpuPioRead rd, VcpuPioWrite wr, void *opaque)
{
    cpu->pio_rd = rd;
    cpu->pio_wr = wr;
    cpu->pio_opaque = opaque;
}

int vcpu_read(Vcpu *cpu, uint64_t va, void *buf, size_t len)
{
    return uc_mem_read(cpu->uc, va, buf, len) == UC_ERR_OK ? 0 : -1;
}

int vcpu_write(Vcpu *cpu, uint64_t va, const void *buf, size_t len)
{
    if (uc_mem_write(cpu->uc, va, buf, len) != UC_ERR_OK) {
        return -1;
    }
    vcpu_track_host_write(cpu, va, len);
    return 0;
}

void vcpu_code_changed(Vcpu *cpu, uint64_t va, size_t len)
{
    uc_ctl_remove_cache(cpu->uc, va, va + len);
}

void vcpu_set_stack(Vcpu *cpu, uint64_t top)
{
    cpu->stack_top = top;
}

void vcpu_set_trampoline(Vcpu *cpu, uint64_t va)
{
    cpu->trampoline = va;
}

void vcpu_set_gs_base(Vcpu *cpu, uint64_t gs_base)
{
    uc_reg_write(cpu->uc, UC_X86_REG_GS_BASE, &gs_base);
}

void vcpu_set_block_budget(Vcpu *cpu, uint64_t blocks)
{
    cpu->block_budget = blocks;
}

uint64_t vcpu_blocks_executed(const Vcpu *cpu)
{
    return cpu->blocks_total;
}

unsigned vcpu_depth(const Vcpu *cpu)
{
    return cpu->depth;
}

bool vcpu_dead(const Vcpu *cpu)
{
    return cpu->dead;
}

const VcpuReport *vcpu_report(const Vcpu *cpu)
{
    return &cpu->report;
}

void vcpu_revive(Vcpu *cpu)
{
    cpu->dead = false;
    memset(&cpu->report, 0, sizeof(cpu->report));
}

void vcpu_set_interrupt_handler(Vcpu *cpu, VcpuInterruptFn fn, void *opaque)
{
    cpu->irq_fn = fn;
    cpu->irq_opaque = opaque;
}

void vcpu_interrupt_request(Vcpu *cpu)
{
    cpu->irq_request = true;
}

void vcpu_set_symbolizer(Vcpu *cpu, VcpuSymbolizer fn, void *opaque)
{
    cpu->symbolizer = fn;
    cpu->symbolizer_opaque = opaque;
}

void vcpu_set_ud2_handler(Vcpu *cpu, VcpuUd2Handler fn, void *opaque)
{
    cpu->ud2 = fn;
    cpu->ud2_opaque = opaque;
}

void vcpu_add_code_range(Vcpu *cpu, uint64_t start, uint64_t end)
{
    if (cpu->ncode < VCPU_MAX_CODE_RANGES) {
        cpu->code[cpu->ncode].start = start;
        cpu->code[cpu->ncode].end = end;
        cpu->ncode++;
    }
}

bool vcpu_current_is_tail_call(const Vcpu *cpu)
{
    return cpu->call && cpu->call->return_address == cpu->trampoline && cpu->depth;
}

void vcpu_remove_code_range(Vcpu *cpu, uint64_t start, uint64_t end)
{
    for (unsigned i = 0; i < cpu->ncode; i++) {
        if (cpu->code[i].start == start && cpu->code[i].end == end) {
            cpu->code[i] = cpu->code[--cpu->ncode];
            return;
        }
    }
}

uint64_t vcpu_current_rip(const Vcpu *cpu)
{
    uint64_t rip = 0;
    uint8_t op = 0;

    if (cpu->call) {
        /* The import was called from return_address - 5 (call rel32) in
         * every relocated module; an indirect call is shorter.  A tail
         * call (jmp) leaves the host trampoline as return address: the
         * site is then somewhere in the function the host called. */
        rip = cpu->call->return_address;
        if (rip == cpu->trampoline && cpu->depth) {
            return cpu->entry[cpu->depth - 1];
        }
        if (uc_mem_read(cpu->uc, rip - 5, &op, 1) == UC_ERR_OK && op == 0xe8) {
            return rip - 5;
        }
        return rip;
    }
    if (cpu->depth) {
        uc_reg_read(cpu->uc, UC_X86_REG_RIP, &rip);
    }
    return rip;
}

static const int vcpu_arg_regs[6] = {
    UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
    UC_X86_REG_RCX, UC_X86_REG_R8, UC_X86_REG_R9,
};

/*
 * One host -> guest call: a frame below the current stack whose return
 * address is the trampoline (`hlt`), so the guest's final `ret` stops the
 * run with RIP just past it.  Nested runs save and restore the outer
 * context around them; every level uses count 0 (see the Unicorn notes).
 */
int vcpu_call(Vcpu *cpu, uint64_t fn, const uint64_t *args, unsigned nargs,
              uint64_t *ret)
{
    uint64_t rsp, rip = 0, rax = 0;
    VcpuCall *outer_call = cpu->call;
    unsigned level = cpu->depth;
    uc_err err;

    if (cpu->dead) {
        return -EFAULT;
    }
    if (level >= VCPU_MAX_DEPTH || nargs > 6) {
        vcpu_report_fill(cpu, VCPU_STOP_INTERNAL, fn,
                         nargs > 6 ? "host call with more than 6 arguments"
                                   : "host -> guest calls nested too deep");
        return -EFAULT;
    }
    if (level == 0) {
        cpu->blocks = 0;
        rsp = cpu->stack_top;
    } else {
        if (!cpu->saved[level] && uc_context_alloc(cpu->uc, &cpu->saved[level]) != UC_ERR_OK) {
            vcpu_report_fill(cpu, VCPU_STOP_INTERNAL, fn, "out of memory for a CPU context");
            return -EFAULT;
        }
        uc_context_save(cpu->uc, cpu->saved[level]);
        uc_reg_read(cpu->uc, UC_X86_REG_RSP, &rsp);
        rsp -= 256;              /* stay clear of the interrupted frame */
    }
    rsp = (rsp & ~15ull) - 8;    /* at entry RSP+8 is 16-byte aligned */
    if (uc_mem_write(cpu->uc, rsp, &cpu->trampoline, 8) != UC_ERR_OK) {
        vcpu_report_fill(cpu, VCPU_STOP_INTERNAL, fn, "stack for a host -> guest call is unmapped");
        return -EFAULT;
    }
    vcpu_track_host_write(cpu, rsp, 8);
    uc_reg_write(cpu->uc, UC_X86_REG_RSP, &rsp);
    for (unsigned i = 0; i < 6; i++) {
        uint64_t v = i < nargs ? args[i] : 0;

        uc_reg_write(cpu->uc, vcpu_arg_regs[i], &v);
    }
    cpu->entry[level] = fn;
    cpu->depth++;
    cpu->call = NULL;
    err = uc_emu_start(cpu->uc, fn, 0, 0, 0);
    while (err == UC_ERR_OK && cpu->resume && !cpu->dead) {
        cpu->resume = false;
        uc_reg_read(cpu->uc, UC_X86_REG_RIP, &rip);
        err = uc_emu_start(cpu->uc, rip, 0, 0, 0);
    }
    cpu->depth--;
    cpu->call = outer_call;
    if (!cpu->dead) {
        uc_reg_read(cpu->uc, UC_X86_REG_RIP, &rip);
        if (err != UC_ERR_OK) {
            char what[200];

            snprintf(what, sizeof(what), "unicorn stopped: %s", vcpu_uc_strerror(err));
            vcpu_report_fill(cpu, VCPU_STOP_INTERNAL, rip, what);
        } else if (rip != cpu->trampoline + 1) {
            vcpu_report_fill(cpu, VCPU_STOP_INTERNAL, rip,
                             "guest stopped without returning (hlt outside the trampoline?)");
        }
    }
    if (cpu->dead) {
        return -EFAULT;
    }
    uc_reg_read(cpu->uc, UC_X86_REG_RAX, &rax);
    if (level > 0) {
        uc_context_restore(cpu->uc, cpu->saved[level]);
    }
    if (ret) {
        *ret = rax;
    }
    return 0;
}

size_t vcpu_state_size(const Vcpu *cpu)
{
    return uc_context_size(cpu->uc);
}

int vcpu_state_save(Vcpu *cpu, void *buf)
{
    uc_context *ctx;

    if (uc_context_alloc(cpu->uc, &ctx) != UC_ERR_OK) {
        return -ENOMEM;
    }
    uc_context_save(cpu->uc, ctx);
    memcpy(buf, ctx, uc_context_size(cpu->uc));
    uc_context_free(ctx);
    return 0;
}

int vcpu_state_restore(Vcpu *cpu, const void *buf)
{
    uc_context *ctx;

    if (uc_context_alloc(cpu->uc, &ctx) != UC_ERR_OK) {
        return -ENOMEM;
    }
    memcpy(ctx, buf, uc_context_size(cpu->uc));
    uc_context_restore(cpu->uc, ctx);
    uc_context_free(ctx);
    return 0;
}
