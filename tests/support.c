/* tests/support.c: see support.h. */
#include "tests/support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

const KImage *test_kimage(void)
{
    static KImage img;
    static int opened;
    SlError e = {{0}};

    if (!opened) {
        if (kimage_open(NULL, &img, &e) != 0) {
            fail_msg("real kernel image not available: %s\n"
                     "fetch it first: ./build/sluice images fetch "
                     "(or set SLUICE_CACHE to a cache that has it)", e.msg);
        }
        opened = 1;
    }
    return &img;
}

const char *test_module_path(const char *name)
{
    static char buf[4][4096];
    static int next;
    char *p = buf[next++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s.ko", SLUICE_TEST_MODULE_DIR, name);
    return p;
}

const char *test_real_module_path(const char *name)
{
    static char buf[4][4096];
    static int next;
    char *p = buf[next++ % 4];
    SlError e = {{0}};

    if (kimage_module_path(test_kimage(), name, p, sizeof(buf[0]), &e) != 0) {
        fail_msg("%s", e.msg);
    }
    return p;
}
