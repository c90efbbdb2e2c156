/*
 * tests/modules/params.c: module parameters of the common kinds, laid out
 * as module_param() lays them out in __param, and an init that prints
 * what it was given.
 */
#include "testmod.h"

static int count = 7;
static u32 mask = 0x10;
static u8 verbose;               /* bool parameters are one byte in 6.1 */
static u16 port = 0x300;
static u64 size = 4096;
static int media[4] = {-1, -1, -1, -1};
static u32 nmedia;

TESTMOD_PARAM(count, param_ops_int);
TESTMOD_PARAM(mask, param_ops_uint);
TESTMOD_PARAM(verbose, param_ops_bool);
TESTMOD_PARAM(port, param_ops_ushort);
TESTMOD_PARAM(size, param_ops_ulong);
TESTMOD_PARAM_ARRAY_INT(media, nmedia);

int init_module(void)
{
    _printk(KERN_INFO "params: count=%d mask=0x%x verbose=%d port=0x%x size=%lu media[0]=%d nmedia=%u\n",
            count, mask, verbose, port, size, media[0], nmedia);
    return 0;
}
