/*
 * tests/test_emu_persist.c: the machine with a real driver on the
 * checkpointing disk -- the kernel's bookkeeping saves and restores
 * exactly, checkpoints (a full one, then one of only the pages written
 * since) + restart bring guest RAM back byte for byte, and
 * the restarted driver goes down, away and out cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "emu/persist.h"
#include "kernel-guest/kernel.h"
#include "tests/support.h"

typedef struct Box {
    Machine *m;
    FILE *log;
    char *text;
    size_t len;
} Box;

/* A machine with 8139too loaded; up and run for a while when live. */
static void box_new(Box *b, bool live)
{
    MachineConfig mc = {.image = test_kimage(), .device = "rtl8139", .iommu_mode = "strict",
                        .ram_bytes = 64ull << 20};
    SlError e = {{0}};

    b->log = open_memstream(&b->text, &b->len);
    mc.out = b->log;
    if (machine_new(&mc, &b->m, &e) != 0) {
        fail_msg("%s", e.msg);
    }
    if (machine_load_driver(b->m, test_real_module_path("8139too"), NULL, 0, &e) < 0) {
        fail_msg("%s", e.msg);
    }
    if (live) {
        assert_int_equal(machine_init_modules(b->m), 0);
        assert_int_equal(machine_ifup(b->m), 0);
        assert_int_equal(machine_run_for(b->m, 2000000000ull), 0);
    }
}

static void box_free(Box *b)
{
    machine_free(b->m);
    fclose(b->log);
    free(b->text);
}

static void *state_of(Box *b, long *len)
{
    Kernel *k = machine_kernel(b->m);
    size_t cap = kernel_state_size(k);
    void *buf = malloc(cap);

    assert_non_null(buf);
    *len = kernel_state_save(k, buf, cap);
    assert_true(*len > 0);
    return buf;
}

static void test_kernel_state__save_restore_save__is_byte_identical(void **s)
{
    Box a, b;
    long la, lb;
    void *sa, *sb;
    SlError e = {{0}};

    box_new(&a, true);
    box_new(&b, false);
    sa = state_of(&a, &la);
    assert_int_equal(kernel_state_restore(machine_kernel(b.m), sa, (size_t)la, &e), 0);
    sb = state_of(&b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(sa, sb, (size_t)la);
    free(sa);
    free(sb);
    box_free(&a);
    box_free(&b);
}

static void test_kernel_state__other_modules__refused_with_one_line(void **s)
{
    Box a;
    MachineConfig mc = {.image = test_kimage(), .device = "rtl8139", .ram_bytes = 64ull << 20};
    Machine *m;
    long la;
    void *sa;
    SlError e = {{0}};

    box_new(&a, true);
    sa = state_of(&a, &la);
    mc.out = a.log;
    assert_int_equal(machine_new(&mc, &m, &e), 0);          /* no modules loaded */
    assert_true(kernel_state_restore(machine_kernel(m), sa, (size_t)la, &e) < 0);
    assert_non_null(strstr(e.msg, "module slot"));
    assert_null(strchr(e.msg, '\n'));
    assert_true(kernel_state_restore(machine_kernel(m), sa, 100, &e) < 0);
    machine_free(m);
    free(sa);
    box_free(&a);
}

static void test_persist__checkpoint_then_restart__ram_back_byte_for_byte(void **s)
{
    char img[] = "/tmp/sluice-persist-XXXXXX";
    char cmd[256];
    PersistConfig pc = {.device = "rtl8139", .iommu = "strict", .ram_mib = 64, .ifup = 1};
    Persist *p;
    PersistStats st1, st2;
    uint64_t seq, size_a, size_b;
    uint8_t *ram_a, *ram_b, *copy;
    Box a, b;
    SlError e = {{0}};
    int fd = mkstemp(img);
    FILE *out;
    char *text;
    size_t len;

    assert_true(fd >= 0);
    close(fd);
    unlink(img);
    snprintf(cmd, sizeof(cmd), "%s disk create %s --size 256M", SLUICE_BINARY, img);
    assert_int_equal(system(cmd), 0);
    snprintf(pc.driver, sizeof(pc.driver), "%s", test_real_module_path("8139too"));
    snprintf(pc.abi, sizeof(pc.abi), "%s", test_kimage()->abi);

    box_new(&a, true);
    if (persist_open(img, &p, &e) || persist_checkpoint(p, a.m, &pc, &st1, &e)) {
        fail_msg("%s", e.msg);
    }
    /* Traffic after the first checkpoint changes driver memory (rings,
     * skbs, counters, stacks): the second checkpoint must see every page
     * it changed -- guest stores, device DMA and the kernel's own writes
     * -- or RAM would not come back byte for byte below. */
    assert_int_equal(machine_ping(a.m, 3), 0);
    assert_int_equal(machine_run_for(a.m, 500000000ull), 0);
    if (persist_checkpoint(p, a.m, &pc, &st2, &e)) {
        fail_msg("%s", e.msg);
    }
    assert_int_equal(st2.seq, st1.seq + 1);
    assert_true(st2.ram_pages > 0);
    assert_true(st2.ram_pages * 4 < st1.ram_pages);   /* only what changed */
    kernel_ram(machine_kernel(a.m), (void **)&ram_a, &size_a);
    copy = malloc(size_a);
    memcpy(copy, ram_a, size_a);
    persist_close(p);

    box_new(&b, false);
    out = open_memstream(&text, &len);
    if (persist_open(img, &p, &e) || persist_restart_config(p, &pc, &seq, &e) ||
        persist_restart_machine(p, b.m, out, &e)) {
        fail_msg("%s", e.msg);
    }
    fclose(out);
    assert_string_equal(pc.device, "rtl8139");
    assert_non_null(strstr(text, "the device was reset"));
    assert_non_null(strstr(text, "pinned for device DMA"));
    kernel_ram(machine_kernel(b.m), (void **)&ram_b, &size_b);
    assert_int_equal(size_a, size_b);
    assert_memory_equal(copy, ram_b, size_a);
    /* The device forgot its rings: transmits stall, the kernel's transmit
     * watchdog calls the driver's ndo_tx_timeout, and 8139too's media
     * thread (every 60 s once tuned) reprograms the chip -- its own
     * recovery path -- after which pings are answered again. */
    assert_int_equal(machine_ping(b.m, 90), 0);
    fflush(b.log);
    if (!strstr(b.text, "NETDEV WATCHDOG: eth0 (8139too): transmit queue 0 timed out") ||
        !strstr(b.text, "8139too 0000:00:02.0 eth0: link up") ||
        !strstr(b.text, "64 bytes from 10.0.2.2: icmp_seq=")) {
        fail_msg("the restarted driver did not recover through its watchdog:\n%s", b.text);
    }
    /* The restarted driver goes down and away on the restored state. */
    assert_int_equal(machine_run_for(b.m, 100000000ull), 0);
    assert_int_equal(machine_ifdown(b.m), 0);
    assert_int_equal(machine_exit_modules(b.m), 0);
    assert_false(machine_guest_stopped(b.m));
    persist_close(p);
    free(copy);
    free(text);
    box_free(&a);
    box_free(&b);
    unlink(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_state__save_restore_save__is_byte_identical),
        cmocka_unit_test(test_kernel_state__other_modules__refused_with_one_line),
        cmocka_unit_test(test_persist__checkpoint_then_restart__ram_back_byte_for_byte),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
