/*
 * bench/bench_revoke.c: revoke is O(1) however many copies are outstanding.
 *
 * For 1, 1,000 and 1,000,000 copies of one page capability -- flat: each
 * made from the original by the node-store invocation and kept in node
 * slots, as clients would hold them -- prints the time of a revoke beside
 * the time of a capability copy measured in the same run (the baseline),
 * and the ratio to the 1-copy revoke.  Revoke bumps the page's allocation
 * count; nothing walks the copies (Coyotos, seed 002).  After the revoke a
 * sample of the copies is checked void.  Host time is read here only: a
 * bench is not the machine.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel-guest/pk_bank.h"
#include "kernel-guest/pk_cache.h"
#include "kernel-guest/pk_cap.h"

#define BENCH_REPS 20000u
#define BENCH_SLOT_BANK 0u
#define BENCH_SLOT_PAGE 1u
#define BENCH_SLOT_NODE 2u
#define BENCH_SLOT_TMP 3u

static double bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct BenchRun {
    double revoke_ns, copy_ns;
    int void_ok;
} BenchRun;

static int bench_fail(const char *what, int err)
{
    fprintf(stderr, "bench_revoke: %s failed [err=%d]\n", what, err);
    return err;
}

/* Makes `copies` copies of cs[PAGE] in freshly allocated nodes; the last
 * node's capability stays in cs[NODE]. */
static int bench_fill(PkStore *s, PkOid cs, uint32_t copies)
{
    uint32_t i;
    int err;

    for (i = 0; i < copies; i++) {
        if (i % PK_NODE_SLOTS == 0) {
            err = pk_bank_alloc(s, cs, BENCH_SLOT_BANK, PK_OBJ_NODE, BENCH_SLOT_NODE);
            if (err) {
                return bench_fail("node alloc", err);
            }
        }
        err = pk_cap_node_store(s, cs, BENCH_SLOT_NODE, i % PK_NODE_SLOTS, BENCH_SLOT_PAGE,
                                PK_RIGHT_READ);
        if (err) {
            return bench_fail("node store", err);
        }
    }
    return 0;
}

static int bench_one(uint32_t copies, BenchRun *out)
{
    uint32_t nodes = copies / PK_NODE_SLOTS + 2, i;
    PkStoreConfig cfg = { 0 };
    uint8_t *frames;
    PkStore *s;
    PkOid cs;
    PkCap bank, c;
    double t0;
    int err;

    frames = calloc((size_t)nodes + 8, PK_PAGE_SIZE);
    cfg.frames = frames;
    cfg.nframes = nodes + 8;
    cfg.max_objects = nodes + 8;
    cfg.max_banks = 4;
    if (!frames || pk_store_new(&cfg, &s, NULL) != 0) {
        free(frames);
        return bench_fail("store", -1);
    }
    err = pk_bank_new_object(s, PK_BANK_PRIME, PK_OBJ_NODE, &cs);
    bank = pk_bank_cap(s, PK_BANK_PRIME);
    if (!err) {
        err = pk_cap_mint(s, cs, BENCH_SLOT_BANK, &bank);
    }
    if (!err) {
        err = pk_bank_alloc(s, cs, BENCH_SLOT_BANK, PK_OBJ_PAGE, BENCH_SLOT_PAGE);
    }
    if (!err) {
        err = bench_fill(s, cs, copies);
    }
    if (err) {
        goto out;
    }
    /* Baseline: a capability copy, same store, same run. */
    t0 = bench_now_ns();
    for (i = 0; i < BENCH_REPS; i++) {
        err |= pk_cap_copy(s, cs, BENCH_SLOT_PAGE, BENCH_SLOT_TMP, PK_RIGHT_READ);
    }
    out->copy_ns = (bench_now_ns() - t0) / BENCH_REPS;
    /* The first revoke is the one that voids `copies` copies; the rest
     * repeat it (each voids the copy made since, in cs[TMP]). */
    t0 = bench_now_ns();
    err |= pk_cap_revoke(s, cs, BENCH_SLOT_PAGE);
    out->revoke_ns = bench_now_ns() - t0;
    t0 = bench_now_ns();
    for (i = 1; i < BENCH_REPS; i++) {
        err |= pk_cap_revoke(s, cs, BENCH_SLOT_PAGE);
    }
    /* Report the mean of all, the first included. */
    out->revoke_ns = (out->revoke_ns + (bench_now_ns() - t0)) / BENCH_REPS;
    if (err) {
        bench_fail("copy/revoke", err);
        goto out;
    }
    /* Every copy in the last node and the one in cs[TMP] is void now. */
    out->void_ok = 1;
    for (i = 0; i < PK_NODE_SLOTS && i < copies; i++) {
        if (pk_cap_node_fetch(s, cs, BENCH_SLOT_NODE, i, BENCH_SLOT_TMP + 1) != 0 ||
            pk_cap_read_slot(s, cs, BENCH_SLOT_TMP + 1, &c) != 0 ||
            (c.type != PK_CAP_NULL && !pk_cap_is_void(s, &c))) {
            out->void_ok = 0;
        }
    }
    if (pk_cap_read_slot(s, cs, BENCH_SLOT_TMP, &c) != 0 || !pk_cap_is_void(s, &c)) {
        out->void_ok = 0;
    }
out:
    pk_store_free(s);
    free(frames);
    return err;
}

int main(void)
{
    static const uint32_t copies[] = { 1, 1000, 1000000 };
    BenchRun run[3];
    unsigned i;

    printf("bench_revoke: revoke with N outstanding copies (flat), %u revokes each; "
           "baseline: a capability copy in the same store\n", BENCH_REPS);
    for (i = 0; i < 3; i++) {
        memset(&run[i], 0, sizeof(run[i]));
        if (bench_one(copies[i], &run[i]) != 0) {
            return 1;
        }
        printf("  copies=%-8" PRIu32 " revoke %7.1f ns   copy %7.1f ns   revoke/copy %5.2f   "
               "revoke/revoke(1) %5.2f   copies void after revoke: %s\n",
               copies[i], run[i].revoke_ns, run[i].copy_ns, run[i].revoke_ns / run[i].copy_ns,
               run[i].revoke_ns / run[0].revoke_ns, run[i].void_ok ? "yes" : "NO");
        if (!run[i].void_ok) {
            return 1;
        }
    }
    return 0;
}
