/*
 * tests/modules/crashers.c: one misbehaviour per value of the `mode`
 * parameter, each in its own function called from init_module (so a
 * report has a function to name and a caller for its backtrace).
 * Mode 0 behaves: it prints a line and returns CRASHERS_OK.
 */
#include "testmod.h"

#define CRASHERS_OK 42

enum {
    CRASH_NONE,
    CRASH_WILD_WRITE,            /* store to an unmapped kernel address */
    CRASH_NONCANONICAL_READ,     /* load from a non-canonical address */
    CRASH_BUG,                   /* ud2 with no __bug_table entry */
    CRASH_BUG_TABLE,             /* ud2 listed in __bug_table as a BUG */
    CRASH_WARN,                  /* ud2 listed as a WARN: execution goes on */
    CRASH_LOOP,                  /* never returns */
    CRASH_UNSERVED,              /* calls an import sluice does not serve */
    CRASH_EXEC_DATA,             /* calls into a kmalloc'd buffer */
    CRASH_STACK_OVERFLOW,        /* recursion into the stack's guard page */
    CRASH_DOUBLE_FREE,           /* kfree twice */
    CRASH_WRITE_TEXT,            /* store into its own code */
};

static int mode;
TESTMOD_PARAM(mode, param_ops_int);

/* Linux exports it (says the test's export_kind); sluice serves nothing. */
int sluice_test_unserved(int x);

/* The recursion limit is a variable so the compiler cannot prove the
 * recursion endless; it is far deeper than the 32 KiB stack. */
static volatile int recursion_limit = 1 << 20;

/* Linux's _BUG_FLAGS: the ud2, and a bug_entry (6.1, relative pointers:
 * bug_addr_disp, file_disp, line, flags; 12 bytes) in __bug_table.  Each
 * displacement is relative to the field holding it. */
#define CRASHERS_BUG_ENTRY(line, flags)                                 \
    __asm__ __volatile__("1: ud2\n"                                     \
                         ".pushsection __bug_table, \"aw\"\n"           \
                         "2: .long 1b - .\n"                            \
                         ".long crashers_file - .\n"                    \
                         ".word " #line ", " #flags "\n"                \
                         ".org 2b + 12\n"                               \
                         ".popsection\n")

__asm__(".pushsection .rodata.str1.1, \"aMS\", @progbits, 1\n"
        "crashers_file: .asciz \"tests/modules/crashers.c\"\n"
        ".popsection\n");

noinline void crash_wild_write(void)
{
    *(volatile u64 *)0xffff800000001000ul = 0x5a5a;
}

noinline u64 crash_noncanonical_read(void)
{
    return *(volatile u64 *)0xdead000000000100ul;
}

noinline void crash_bug(void)
{
    __asm__ __volatile__("ud2");
}

noinline void crash_bug_table(void)
{
    CRASHERS_BUG_ENTRY(101, 0);
}

noinline void crash_warn(void)
{
    CRASHERS_BUG_ENTRY(202, 1);  /* BUGFLAG_WARNING */
}

noinline void crash_loop(void)
{
    for (;;) {
        barrier();
    }
}

noinline void crash_exec_data(void)
{
    u8 *buf = __kmalloc(64, GFP_KERNEL);

    buf[0] = 0xc3;               /* ret: harmless, if data could run */
    ((void (*)(void))buf)();
    barrier();
}

noinline int crash_recurse(int depth)
{
    volatile char frame[256];

    frame[0] = (char)depth;
    if (depth >= recursion_limit) {
        return 0;
    }
    return crash_recurse(depth + 1) + frame[0];
}

noinline void crash_double_free(void)
{
    void *p = __kmalloc(32, GFP_KERNEL);

    kfree(p);
    kfree(p);
    barrier();
}

noinline void crash_write_text(void)
{
    *(volatile u8 *)crash_bug = 0x90;
}

int init_module(void)
{
    switch (mode) {
    case CRASH_WILD_WRITE: crash_wild_write(); break;
    case CRASH_NONCANONICAL_READ: crash_noncanonical_read(); break;
    case CRASH_BUG: crash_bug(); break;
    case CRASH_BUG_TABLE: crash_bug_table(); break;
    case CRASH_WARN: crash_warn(); break;
    case CRASH_LOOP: crash_loop(); break;
    case CRASH_UNSERVED: sluice_test_unserved(1); break;
    case CRASH_EXEC_DATA: crash_exec_data(); break;
    case CRASH_STACK_OVERFLOW: crash_recurse(0); break;
    case CRASH_DOUBLE_FREE: crash_double_free(); break;
    case CRASH_WRITE_TEXT: crash_write_text(); break;
    default: break;
    }
    barrier();
    _printk(KERN_INFO "crashers: mode %d survived\n", mode);
    return CRASHERS_OK;
}
