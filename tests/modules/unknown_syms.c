/*
 * tests/modules/unknown_syms.c: imports that nobody serves, besides one
 * that is served, for the loader's "Unknown symbol" path.
 */
#include "testmod.h"

int sluice_test_missing_a(int x);
extern int sluice_test_missing_b;

int init_module(void)
{
    _printk(KERN_INFO "unknown_syms: must never run\n");
    return sluice_test_missing_a(sluice_test_missing_b);
}
