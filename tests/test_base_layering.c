/*
 * tests/test_base_layering.c: the layers depend on each other one way only
 * (BRIEF §3), checked on the sources like seL4's build does:
 *
 *   emu -> translator, kernel-guest, devices, iommu, images, base
 *   kernel-guest -> translator, iommu, base
 *   devices -> iommu, base          (DMA only through iommu/dma_port.h)
 *   translator -> base;  iommu -> base;  images -> base
 *
 * Every #include "folder/..." in every .c/.h of a layer must name an
 * allowed folder.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

typedef struct Layer {
    const char *dir;
    const char *allowed[8];
} Layer;

static const Layer layers[] = {
    {"base", {"base"}},
    {"iommu", {"iommu", "base"}},
    {"translator", {"translator", "base"}},
    {"images", {"images", "base"}},
    {"devices", {"devices", "iommu", "base"}},
    {"kernel-guest", {"kernel-guest", "translator", "iommu", "base"}},
    {"emu", {"emu", "kernel-guest", "devices", "iommu", "translator", "images", "base"}},
};

static bool allowed(const Layer *l, const char *target)
{
    for (int i = 0; i < 8 && l->allowed[i]; i++) {
        if (!strcmp(l->allowed[i], target)) {
            return true;
        }
    }
    return false;
}

/* Returns the number of forbidden includes in one file, printing each. */
static int check_file(const Layer *l, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int bad = 0, lineno = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char target[64];
        const char *q;

        lineno++;
        if (strncmp(line, "#include \"", 10) != 0) {
            continue;
        }
        q = strchr(line + 10, '/');
        if (!q || (size_t)(q - (line + 10)) >= sizeof(target)) {
            continue;
        }
        memcpy(target, line + 10, (size_t)(q - (line + 10)));
        target[q - (line + 10)] = 0;
        if (!allowed(l, target)) {
            fprintf(stderr, "%s:%d: layer %s must not include %s/ headers\n", path, lineno,
                    l->dir, target);
            bad++;
        }
    }
    fclose(f);
    return bad;
}

static void test_layering__every_include__follows_the_one_way_dependencies(void **state)
{
    int bad = 0, files = 0;

    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++) {
        char dir[4096];
        DIR *d;
        struct dirent *de;

        snprintf(dir, sizeof(dir), "%s/%s", SLUICE_SOURCE_DIR, layers[i].dir);
        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            char path[8192];

            if (n < 3 || (strcmp(de->d_name + n - 2, ".c") && strcmp(de->d_name + n - 2, ".h"))) {
                continue;
            }
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            bad += check_file(&layers[i], path);
            files++;
        }
        closedir(d);
    }
    assert_true(files > 20);
    assert_int_equal(bad, 0);
}

static void test_layering__devices__never_touch_guest_ram_but_through_dma_port(void **state)
{
    /* A device model may include iommu/dma_port.h only, not the IOMMU's
     * kernel-side API. */
    char dir[4096];
    DIR *d;
    struct dirent *de;
    int bad = 0;

    snprintf(dir, sizeof(dir), "%s/devices", SLUICE_SOURCE_DIR);
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char path[8192], line[1024];
        FILE *f;

        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        f = fopen(path, "r");
        if (!f) {
            continue;
        }
        while (fgets(line, sizeof(line), f)) {
            if (!strncmp(line, "#include \"iommu/", 16) &&
                strncmp(line, "#include \"iommu/dma_port.h\"", 27) != 0) {
                fprintf(stderr, "%s: devices may include only iommu/dma_port.h: %s", path, line);
                bad++;
            }
        }
        fclose(f);
    }
    closedir(d);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layering__every_include__follows_the_one_way_dependencies),
        cmocka_unit_test(test_layering__devices__never_touch_guest_ram_but_through_dma_port),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
