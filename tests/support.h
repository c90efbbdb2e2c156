/*
 * tests/support.h: what several test executables share.
 */
#ifndef TESTS_SUPPORT_H
#define TESTS_SUPPORT_H

#include "images/kimage.h"

/* The cached real Debian kernel image ($SLUICE_CACHE or ~/.cache/sluice).
 * When it is absent the calling test FAILS with a message saying how to
 * fetch it -- tests on real drivers never pass silently. */
const KImage *test_kimage(void);

/* Path of a test module built from tests/modules/NAME.c. */
const char *test_module_path(const char *name);

/* Path of a real module from the cached image ("8139too", "mii"); fails the
 * test if absent. */
const char *test_real_module_path(const char *name);

#endif
