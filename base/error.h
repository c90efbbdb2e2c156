/*
 * base/error.h: host and user errors (STYLE "Errors", class 2).
 *
 * A function that can fail because of a bad file, flag or missing package
 * fills an SlError with one line -- file, field, what was expected -- and
 * returns a negative errno-style code.  Only the top level prints it, once.
 */
#ifndef BASE_ERROR_H
#define BASE_ERROR_H

#include <stddef.h>

typedef struct SlError {
    char msg[512];
} SlError;

/* Formats msg into e (if e is non-NULL) and returns code, which must be < 0. */
int sl_error(SlError *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
