/* base/error.c: see error.h. */
#include "base/error.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

int sl_error(SlError *e, int code, const char *fmt, ...)
{
    va_list ap;

    assert(code < 0 && "an error code is negative");
    if (e) {
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}
