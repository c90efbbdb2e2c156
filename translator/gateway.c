/*
 * translator/gateway.c: guest calls of imports become host calls.
 *
 * Every import gets a 16-byte slot on the stub area.  A host slot holds a
 * single `ret`; the code hook (limited to the stub area, so it costs nothing
 * elsewhere) fires before that `ret` runs, calls the host function with the
 * System V arguments, and puts the result in RAX; the `ret` then returns to
 * the driver.  A code slot holds a few bytes of real guest code instead
 * (return and retpoline thunks), so no host call is made for them.
 */
#include "translator/vcpu_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define VCPU_INSN_RET 0xc3
#define VCPU_INSN_INT3 0xcc

int vcpu_gateway_init(Vcpu *cpu, uint64_t stub_va, uint8_t *host, size_t len,
                      SlError *e)
{
    uc_hook h;

    if (len < VCPU_STUB_SLOT_SIZE || (stub_va & (VCPU_STUB_SLOT_SIZE - 1))) {
        return sl_error(e, -EINVAL, "vcpu: bad gateway stub area 0x%llx+0x%zx",
                        (unsigned long long)stub_va, len);
    }
    cpu->stub_va = stub_va;
    cpu->stub_host = host;
    cpu->stub_len = len;
    memset(host, VCPU_INSN_INT3, len);
    if (uc_hook_add(cpu->uc, &h, UC_HOOK_CODE, (void *)vcpu_gateway_hook, cpu,
                    stub_va, stub_va + len - 1) != UC_ERR_OK) {
        return sl_error(e, -EIO, "vcpu: cannot hook the gateway stub area");
    }
    return 0;
}

static int vcpu_gateway_slot(Vcpu *cpu, const char *name, SlError *e)
{
    if ((size_t)(cpu->nslots + 1) * VCPU_STUB_SLOT_SIZE > cpu->stub_len) {
        return sl_error(e, -ENOSPC, "vcpu: gateway stub area full at %u imports (adding %s)",
                        cpu->nslots, name);
    }
    if (cpu->nslots == cpu->cap_slots) {
        unsigned cap = cpu->cap_slots ? cpu->cap_slots * 2 : 256;
        VcpuSlot *s = realloc(cpu->slots, cap * sizeof(*s));

        if (!s) {
            return sl_error(e, -ENOMEM, "vcpu: out of memory");
        }
        cpu->slots = s;
        cpu->cap_slots = cap;
    }
    memset(&cpu->slots[cpu->nslots], 0, sizeof(cpu->slots[0]));
    snprintf(cpu->slots[cpu->nslots].name, sizeof(cpu->slots[0].name), "%s", name);
    return (int)cpu->nslots++;
}

int vcpu_gateway_add(Vcpu *cpu, const char *name, VcpuHostFn fn, void *opaque,
                     uint64_t *addr, SlError *e)
{
    int i = vcpu_gateway_slot(cpu, name, e);

    if (i < 0) {
        return i;
    }
    cpu->slots[i].fn = fn;
    cpu->slots[i].opaque = opaque;
    cpu->stub_host[(size_t)i * VCPU_STUB_SLOT_SIZE] = VCPU_INSN_RET;
    vcpu_code_changed(cpu, cpu->stub_va + (uint64_t)i * VCPU_STUB_SLOT_SIZE,
                      VCPU_STUB_SLOT_SIZE);
    *addr = cpu->stub_va + (uint64_t)i * VCPU_STUB_SLOT_SIZE;
    return 0;
}

int vcpu_gateway_add_code(Vcpu *cpu, const char *name, const uint8_t *code,
                          size_t len, uint64_t *addr, SlError *e)
{
    int i;

    if (len > VCPU_STUB_SLOT_SIZE) {
        return sl_error(e, -EINVAL, "vcpu: code for %s is longer than a slot", name);
    }
    i = vcpu_gateway_slot(cpu, name, e);
    if (i < 0) {
        return i;
    }
    memcpy(cpu->stub_host + (size_t)i * VCPU_STUB_SLOT_SIZE, code, len);
    vcpu_code_changed(cpu, cpu->stub_va + (uint64_t)i * VCPU_STUB_SLOT_SIZE,
                      VCPU_STUB_SLOT_SIZE);
    *addr = cpu->stub_va + (uint64_t)i * VCPU_STUB_SLOT_SIZE;
    return 0;
}

const char *vcpu_gateway_name(const Vcpu *cpu, uint64_t addr)
{
    uint64_t i;

    if (addr < cpu->stub_va || addr >= cpu->stub_va + cpu->stub_len) {
        return NULL;
    }
    i = (addr - cpu->stub_va) / VCPU_STUB_SLOT_SIZE;
    return i < cpu->nslots ? cpu->slots[i].name : NULL;
}

const char *vcpu_call_name(const VcpuCall *c)
{
    return c->slot < c->cpu->nslots ? c->cpu->slots[c->slot].name : "?";
}

void vcpu_gateway_hook(uc_engine *uc, uint64_t address, uint32_t size, void *opaque)
{
    static const int regs[7] = {
        UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX, UC_X86_REG_RCX,
        UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_RSP,
    };
    Vcpu *cpu = opaque;
    uint64_t off = address - cpu->stub_va;
    uint64_t vals[7];
    void *ptrs[7];
    VcpuCall call, *outer = cpu->call;
    VcpuSlot *slot;
    uint64_t rax;

    if (off % VCPU_STUB_SLOT_SIZE || off / VCPU_STUB_SLOT_SIZE >= cpu->nslots) {
        return;                  /* inside a code slot, or int3 filler */
    }
    slot = &cpu->slots[off / VCPU_STUB_SLOT_SIZE];
    if (!slot->fn || cpu->dead) {
        return;
    }
    for (int i = 0; i < 7; i++) {
        ptrs[i] = &vals[i];
    }
    uc_reg_read_batch(uc, (int *)regs, ptrs, 7);
    memcpy(call.arg, vals, sizeof(call.arg));
    call.cpu = cpu;
    call.rsp = vals[6];
    call.return_address = 0;
    uc_mem_read(uc, call.rsp, &call.return_address, 8);
    call.slot = (unsigned)(off / VCPU_STUB_SLOT_SIZE);
    cpu->call = &call;
    rax = slot->fn(slot->opaque, &call);
    cpu->call = outer;
    if (cpu->dead) {
        /* The guest is dead: stop this run; it is never resumed. */
        uc_emu_stop(uc);
        return;
    }
    uc_reg_write(uc, UC_X86_REG_RAX, &rax);
}

uint64_t vcpu_call_stack_arg_addr(const VcpuCall *c, unsigned i)
{
    /* [rsp] is the return address; the 7th argument is at rsp + 8. */
    return c->rsp + 8 + 8ull * (i - 6);
}

uint64_t vcpu_call_arg(VcpuCall *c, unsigned i)
{
    uint64_t v = 0;

    if (i < 6) {
        return c->arg[i];
    }
    uc_mem_read(c->cpu->uc, vcpu_call_stack_arg_addr(c, i), &v, 8);
    return v;
}

void vcpu_raise(Vcpu *cpu, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    if (cpu->dead) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    vcpu_report_fill(cpu, VCPU_STOP_HOST, vcpu_current_rip(cpu), what);
}
