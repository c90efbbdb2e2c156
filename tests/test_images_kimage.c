/*
 * tests/test_images_kimage.c: the kernel image cache (images/kimage.h), on
 * the real cached Debian image and on small fake caches made here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "images/kimage.h"
#include "tests/support.h"

/* A one-line error: starts "sluice: ", has no newline, says what it must. */
static void assert_one_line(const SlError *e, const char *needle)
{
    assert_true(strncmp(e->msg, "sluice: ", 8) == 0);
    assert_null(strchr(e->msg, '\n'));
    if (!strstr(e->msg, needle)) {
        fail_msg("error '%s' does not mention '%s'", e->msg, needle);
    }
}

static int file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4200];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A fake cache in /tmp with one entry "6.1.0-1" holding everything but the
 * 'complete' marker; SLUICE_CACHE points at it until fake_cache_end(). */
typedef struct FakeCache {
    char root[256];
    char entry[512];
    char *saved_env;
} FakeCache;

static void fake_cache_begin(FakeCache *fc)
{
    char kernels[300];
    const char *env = getenv("SLUICE_CACHE");

    snprintf(fc->root, sizeof(fc->root), "/tmp/sluice-test-kimage.XXXXXX");
    assert_non_null(mkdtemp(fc->root));
    snprintf(kernels, sizeof(kernels), "%s/kernels", fc->root);
    assert_int_equal(mkdir(kernels, 0755), 0);
    snprintf(fc->entry, sizeof(fc->entry), "%s/6.1.0-1", kernels);
    assert_int_equal(mkdir(fc->entry, 0755), 0);
    write_file(fc->entry, "vmlinux", "\177ELF not really");
    write_file(fc->entry, "modules.index",
               "ne2k-pci\troot/lib/modules/x/ne2k-pci.ko\n"
               "snd_hda_intel\troot/lib/modules/x/snd_hda_intel.ko\n");
    write_file(fc->entry, "version", "6.1.1-1\n");
    fc->saved_env = env ? strdup(env) : NULL;
    setenv("SLUICE_CACHE", fc->root, 1);
}

static void fake_cache_end(FakeCache *fc)
{
    char cmd[400];

    if (fc->saved_env) {
        setenv("SLUICE_CACHE", fc->saved_env, 1);
        free(fc->saved_env);
    } else {
        unsetenv("SLUICE_CACHE");
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fc->root);
    assert_int_equal(system(cmd), 0);
}

static void test_kimage_open__real_cache__names_a_whole_entry(void **state)
{
    const KImage *img = test_kimage();
    char path[4200];

    assert_true(img->abi[0] != '\0');
    assert_non_null(strstr(img->dir, img->abi));
    assert_true(file_exists(img->vmlinux));
    snprintf(path, sizeof(path), "%s/complete", img->dir);
    assert_int_equal(access(path, F_OK), 0);
}

static void test_kimage_open__pinned_abi__opens_the_same_entry(void **state)
{
    const KImage *cur = test_kimage();
    KImage img;
    SlError e = {{0}};

    assert_int_equal(kimage_open(cur->abi, &img, &e), 0);
    assert_string_equal(img.dir, cur->dir);
    assert_string_equal(img.vmlinux, cur->vmlinux);
}

static void test_kimage_module_path__dash_or_underscore__same_file(void **state)
{
    const KImage *img = test_kimage();
    char dash[4096], under[4096];
    SlError e = {{0}};

    assert_int_equal(kimage_module_path(img, "ne2k-pci", dash, sizeof(dash), &e), 0);
    assert_int_equal(kimage_module_path(img, "ne2k_pci", under, sizeof(under), &e), 0);
    assert_string_equal(dash, under);
    assert_true(file_exists(dash));
    assert_non_null(strstr(dash, "/ne2k-pci.ko"));
}

static void test_kimage_module_path__8139too__is_the_real_ko(void **state)
{
    const KImage *img = test_kimage();
    char path[4096];
    SlError e = {{0}};
    size_t n;

    assert_int_equal(kimage_module_path(img, "8139too", path, sizeof(path), &e), 0);
    n = strlen(path);
    assert_true(n > 11 && strcmp(path + n - 11, "/8139too.ko") == 0);
    assert_true(strncmp(path, img->dir, strlen(img->dir)) == 0);
    assert_true(file_exists(path));
}

static void test_kimage_module_path__prefix_of_a_name__is_not_a_match(void **state)
{
    const KImage *img = test_kimage();
    char path[4096];
    SlError e = {{0}};

    /* "8139" is a prefix of 8139too and 8139cp, and names neither. */
    assert_true(kimage_module_path(img, "8139", path, sizeof(path), &e) < 0);
    assert_one_line(&e, "no module named 8139 ");
}

static void test_kimage_module_path__unknown_module__one_line_error(void **state)
{
    const KImage *img = test_kimage();
    char path[4096];
    char want[4300];
    SlError e = {{0}};

    assert_true(kimage_module_path(img, "no_such_driver", path, sizeof(path), &e) < 0);
    snprintf(want, sizeof(want), "no module named no_such_driver in kernel %s (see %s/modules.index)",
             img->abi, img->dir);
    assert_one_line(&e, want);
}

static void test_kimage_open__abi_not_in_cache__tells_to_fetch(void **state)
{
    KImage img;
    SlError e = {{0}};

    assert_true(kimage_open("6.1.0-99999", &img, &e) < 0);
    assert_one_line(&e, "sluice images fetch --abi 6.1.0-99999");
}

static void test_kimage_open__abi_with_path__is_refused(void **state)
{
    KImage img;
    SlError e = {{0}};

    assert_true(kimage_open("../../etc", &img, &e) < 0);
    assert_one_line(&e, "bad kernel ABI '../../etc'");
}

static void test_kimage_open__incomplete_entry__is_refused_until_marked(void **state)
{
    FakeCache fc;
    KImage img;
    SlError e = {{0}};
    int rc_before, rc_after;

    fake_cache_begin(&fc);
    rc_before = kimage_open("6.1.0-1", &img, &e);
    write_file(fc.entry, "complete", "");
    rc_after = kimage_open("6.1.0-1", &img, &e);
    fake_cache_end(&fc);

    assert_true(rc_before < 0);
    assert_int_equal(rc_after, 0);
    assert_non_null(strstr(img.vmlinux, "/kernels/6.1.0-1/vmlinux"));
}

static void test_kimage_open__incomplete_entry__error_says_why(void **state)
{
    FakeCache fc;
    KImage img;
    SlError e = {{0}};
    int rc;

    fake_cache_begin(&fc);
    rc = kimage_open("6.1.0-1", &img, &e);
    fake_cache_end(&fc);
    assert_true(rc < 0);
    assert_one_line(&e, "incomplete");
    assert_one_line(&e, "sluice images fetch");
}

static void test_kimage_open__no_current__tells_to_fetch(void **state)
{
    FakeCache fc;
    KImage img;
    SlError e = {{0}};
    int rc;

    fake_cache_begin(&fc);
    rc = kimage_open(NULL, &img, &e);
    fake_cache_end(&fc);
    assert_true(rc < 0);
    assert_one_line(&e, "sluice images fetch");
}

static void test_kimage_open__complete_entry_without_vmlinux__is_refused(void **state)
{
    FakeCache fc;
    KImage img;
    SlError e = {{0}};
    char path[700];
    int rc;

    fake_cache_begin(&fc);
    write_file(fc.entry, "complete", "");
    snprintf(path, sizeof(path), "%s/vmlinux", fc.entry);
    unlink(path);
    rc = kimage_open("6.1.0-1", &img, &e);
    fake_cache_end(&fc);
    assert_true(rc < 0);
    assert_one_line(&e, "has no vmlinux");
}

static void test_kimage_module_path__fake_index__matches_either_spelling(void **state)
{
    FakeCache fc;
    KImage img;
    SlError e = {{0}};
    char a[4096], b[4096];
    int rc_open, rc_a, rc_b;

    fake_cache_begin(&fc);
    write_file(fc.entry, "complete", "");
    rc_open = kimage_open("6.1.0-1", &img, &e);
    rc_a = kimage_module_path(&img, "snd-hda-intel", a, sizeof(a), &e);
    rc_b = kimage_module_path(&img, "ne2k_pci", b, sizeof(b), &e);
    fake_cache_end(&fc);
    assert_int_equal(rc_open, 0);
    assert_int_equal(rc_a, 0);
    assert_int_equal(rc_b, 0);
    assert_non_null(strstr(a, "/kernels/6.1.0-1/root/lib/modules/x/snd_hda_intel.ko"));
    assert_non_null(strstr(b, "/kernels/6.1.0-1/root/lib/modules/x/ne2k-pci.ko"));
}

static void test_kimage_fetch__complete_entry__succeeds_offline_and_sets_current(void **state)
{
    FakeCache fc;
    KImage img;
    SlError e = {{0}};
    int rc_fetch, rc_open;

    fake_cache_begin(&fc);
    write_file(fc.entry, "complete", "");
    rc_fetch = kimage_fetch("6.1.0-1", 1, &e);
    rc_open = kimage_open(NULL, &img, &e);
    fake_cache_end(&fc);
    if (rc_fetch != 0) {
        fail_msg("fetch of a complete entry failed: %s", e.msg);
    }
    assert_int_equal(rc_open, 0);
    assert_string_equal(img.abi, "6.1.0-1");
}

static void test_kimage_fetch__bad_abi__script_error_is_the_one_line(void **state)
{
    SlError e = {{0}};

    assert_true(kimage_fetch("6.1.0-1;rm", 1, &e) < 0);
    assert_one_line(&e, "bad ABI '6.1.0-1;rm'");
}

static void test_kimage_fetch__unknown_abi__names_the_package(void **state)
{
    FakeCache fc;
    SlError e = {{0}};
    int rc;

    fake_cache_begin(&fc);
    rc = kimage_fetch("6.1.0-99999", 1, &e);
    fake_cache_end(&fc);
    assert_true(rc < 0);
    /* Either apt knows its packages and this one is not among them, or the
     * apt lists are empty and the user is told to update them. */
    if (!strstr(e.msg, "no package linux-image-6.1.0-99999-amd64-unsigned in the apt lists")) {
        assert_one_line(&e, "apt-get update");
    }
    assert_one_line(&e, "");
}

static void test_kimage_cache_root__env__overrides_home(void **state)
{
    char *saved = getenv("SLUICE_CACHE") ? strdup(getenv("SLUICE_CACHE")) : NULL;
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char a[4096], b[4096];
    SlError e = {{0}};
    int rc_a, rc_b;

    setenv("SLUICE_CACHE", "/some/where", 1);
    rc_a = kimage_cache_root(a, sizeof(a), &e);
    unsetenv("SLUICE_CACHE");
    setenv("HOME", "/home/x", 1);
    rc_b = kimage_cache_root(b, sizeof(b), &e);
    if (saved) {
        setenv("SLUICE_CACHE", saved, 1);
    }
    if (home) {
        setenv("HOME", home, 1);
    } else {
        unsetenv("HOME");
    }
    free(saved);
    free(home);
    assert_int_equal(rc_a, 0);
    assert_int_equal(rc_b, 0);
    assert_string_equal(a, "/some/where");
    assert_string_equal(b, "/home/x/.cache/sluice");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kimage_open__real_cache__names_a_whole_entry),
        cmocka_unit_test(test_kimage_open__pinned_abi__opens_the_same_entry),
        cmocka_unit_test(test_kimage_module_path__dash_or_underscore__same_file),
        cmocka_unit_test(test_kimage_module_path__8139too__is_the_real_ko),
        cmocka_unit_test(test_kimage_module_path__prefix_of_a_name__is_not_a_match),
        cmocka_unit_test(test_kimage_module_path__unknown_module__one_line_error),
        cmocka_unit_test(test_kimage_open__abi_not_in_cache__tells_to_fetch),
        cmocka_unit_test(test_kimage_open__abi_with_path__is_refused),
        cmocka_unit_test(test_kimage_open__incomplete_entry__is_refused_until_marked),
        cmocka_unit_test(test_kimage_open__incomplete_entry__error_says_why),
        cmocka_unit_test(test_kimage_open__no_current__tells_to_fetch),
        cmocka_unit_test(test_kimage_open__complete_entry_without_vmlinux__is_refused),
        cmocka_unit_test(test_kimage_module_path__fake_index__matches_either_spelling),
        cmocka_unit_test(test_kimage_fetch__complete_entry__succeeds_offline_and_sets_current),
        cmocka_unit_test(test_kimage_fetch__bad_abi__script_error_is_the_one_line),
        cmocka_unit_test(test_kimage_fetch__unknown_abi__names_the_package),
        cmocka_unit_test(test_kimage_cache_root__env__overrides_home),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
