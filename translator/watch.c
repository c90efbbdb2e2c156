/*
 * translator/watch.c: write watches on guest memory (vcpu.h), for checks
 * such as "the CPU wrote a streaming DMA buffer while the device owns it",
 * and the one write tracker checkpoints use to find dirty pages.
 *
 * One UC_HOOK_MEM_WRITE hook per watch, bounded to the watched range.
 * Unicorn 2.0.1 facts this rests on (pinned by tests/test_translator_watch.c):
 *  - Write hooks are looked up at run time, in the store helper every RAM
 *    store goes through; no retranslation is needed, so a hook added while
 *    the guest is stopped inside a host function (a gateway call, nested in
 *    uc_emu_start) sees the very next store, even one in a block translated
 *    before the hook existed.
 *  - uc_hook_del only marks the hook; the helper skips marked hooks and
 *    uc_emu_start frees them when it returns (any nesting level).  So a
 *    removal from inside a host function or inside the watch callback is
 *    safe, and the slot may be reused at once (the new hook is a new one).
 *    A watch callback must not nest a guest call: the inner uc_emu_start
 *    would free marked hooks while the outer store helper is still walking
 *    the write-hook list.
 *  - The hook's range is tested against the first byte of a store only.
 *    Stores are at most 8 bytes (wider SSE stores are split into 8-byte
 *    ones: a movups gives two hook calls), so the hook starts 7 bytes early
 *    and the callback keeps exactly the stores that overlap the range.  A
 *    store that crosses a page is reported once, whole, not again for the
 *    pieces Unicorn splits it into.
 *  - RIP read in the callback is the storing instruction: the vCPU's no-op
 *    memory hook (vcpu.c) makes Unicorn keep RIP exact at every memory
 *    access.
 *
 * Cost, paid by every guest store anywhere (Unicorn walks the whole
 * write-hook list and bound-checks each hook): measured on a 2-core AMD
 * EPYC host with a loop of 8-byte stores to a page no watch covers
 * (store + dec + jnz, one block each): ~85 ns per iteration with no watch,
 * ~+8 ns with one watch elsewhere, ~+25 ns with 16, ~+750 ns with 255
 * (about 3 ns per live watch).  A store inside a range adds the callback.
 * Watches are meant to be few and short-lived (the streaming mappings a
 * driver has in flight); if hundreds must live at once, one hook over a
 * sorted table would make the cost logarithmic.
 */
#include "translator/vcpu_internal.h"

#include <errno.h>

/* The widest single store Unicorn reports to a write hook. */
#define VCPU_WATCH_MAX_STORE 8u

static void vcpu_watch_hook(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
                            int64_t value, void *opaque)
{
    VcpuWatch *w = opaque;
    uint64_t last, v = (uint64_t)value, rip = 0;

    if (!w->fn || size <= 0) {
        return;                  /* removed while this run still holds it */
    }
    last = address + (uint64_t)size - 1;
    if (last < address) {
        last = UINT64_MAX;       /* a store at the very top of the space */
    }
    if (last < w->start || address > w->end) {
        return;                  /* in the 7 bytes before the range only */
    }
    if (size < 8) {
        v &= (1ull << (8 * size)) - 1;
    }
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    w->fn(w->opaque, address, (unsigned)size, v, rip);
}

int vcpu_watch_writes(Vcpu *cpu, uint64_t start, uint64_t len, VcpuWriteWatch fn,
                      void *opaque, unsigned *handle)
{
    uint64_t begin = start >= VCPU_WATCH_MAX_STORE - 1 ? start - (VCPU_WATCH_MAX_STORE - 1) : 0;
    VcpuWatch *w = NULL;
    unsigned i;

    if (!fn || len == 0 || start + (len - 1) < start) {
        return -EINVAL;
    }
    for (i = 0; i < VCPU_MAX_WATCHES; i++) {
        if (!cpu->watch[i].fn) {
            w = &cpu->watch[i];
            break;
        }
    }
    if (!w) {
        return -ENOSPC;
    }
    w->start = start;
    w->end = start + (len - 1);
    w->opaque = opaque;
    if (uc_hook_add(cpu->uc, &w->hook, UC_HOOK_MEM_WRITE, (void *)vcpu_watch_hook, w,
                    begin, w->end) != UC_ERR_OK) {
        w->hook = 0;
        return -EIO;
    }
    /* Set last: the slot is live, and the hook acts, from here on. */
    w->fn = fn;
    w->gen++;
    if (handle) {
        *handle = (unsigned)w->gen << 16 | (i + 1);
    }
    return 0;
}

void vcpu_unwatch_writes(Vcpu *cpu, unsigned handle)
{
    unsigned i = (handle & 0xffffu) - 1;
    VcpuWatch *w;

    if (handle == 0 || i >= VCPU_MAX_WATCHES) {
        return;
    }
    w = &cpu->watch[i];
    if (!w->fn || w->gen != (uint16_t)(handle >> 16)) {
        return;
    }
    uc_hook_del(cpu->uc, w->hook);
    w->fn = NULL;
    w->hook = 0;
}

static void vcpu_track_hook(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
                            int64_t value, void *opaque)
{
    Vcpu *cpu = opaque;

    if (cpu->track_fn && size > 0) {
        cpu->track_fn(cpu->track_opaque, address, (unsigned)size);
    }
}

int vcpu_track_writes(Vcpu *cpu, uint64_t start, uint64_t end, VcpuWriteTracker fn,
                      void *opaque)
{
    if (cpu->track_fn) {
        uc_hook_del(cpu->uc, cpu->track_hook);
        cpu->track_fn = NULL;
        cpu->track_hook = 0;
    }
    if (!fn) {
        return 0;
    }
    if (uc_hook_add(cpu->uc, &cpu->track_hook, UC_HOOK_MEM_WRITE, (void *)vcpu_track_hook, cpu,
                    start, end) != UC_ERR_OK) {
        cpu->track_hook = 0;
        return -EIO;
    }
    cpu->track_fn = fn;
    cpu->track_opaque = opaque;
    return 0;
}

void vcpu_track_host_write(Vcpu *cpu, uint64_t va, size_t len)
{
    if (cpu->track_fn && len > 0) {
        cpu->track_fn(cpu->track_opaque, va, (unsigned)(len > UINT32_MAX ? UINT32_MAX : len));
    }
}
