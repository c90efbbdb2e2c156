/*
 * images/kimage.c: the cache of real Debian kernel images (see kimage.h).
 *
 * Fetching is the shell script's job (apt-get, dpkg and xz do the work);
 * this file runs it and reads what it left: an entry counts only once its
 * 'complete' marker exists, because the script writes that last.
 */
#include "images/kimage.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define KIMAGE_FETCH_HINT "run `sluice images fetch`"

int kimage_cache_root(char *buf, size_t cap, SlError *e)
{
    const char *env = getenv("SLUICE_CACHE");
    const char *home = getenv("HOME");
    int n;

    if (env && env[0]) {
        n = snprintf(buf, cap, "%s", env);
    } else if (home && home[0]) {
        n = snprintf(buf, cap, "%s/.cache/sluice", home);
    } else {
        return sl_error(e, -ENOENT, "sluice: cannot place the kernel cache: neither "
                        "SLUICE_CACHE nor HOME is set");
    }
    if (n < 0 || (size_t)n >= cap) {
        return sl_error(e, -ENAMETOOLONG, "sluice: kernel cache path too long "
                        "[SLUICE_CACHE/HOME] (expected under %zu bytes)", cap);
    }
    return 0;
}

/* Reads the child's stderr line by line and passes each line on, holding the
 * newest back: if the script fails, its last line is the error, and it goes
 * into e (printed once by the caller) rather than to stderr.  Lines longer
 * than cap are cut. */
static void kimage_relay_stderr(int fd, char *last, size_t cap)
{
    char chunk[4096];
    char *line = last + cap;     /* second half of the caller's buffer */
    size_t len = 0;
    ssize_t n;

    last[0] = '\0';
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] != '\n') {
                if (len + 1 < cap) {
                    line[len++] = chunk[i];
                }
                continue;
            }
            if (last[0]) {
                fprintf(stderr, "%s\n", last);
            }
            memcpy(last, line, len);
            last[len] = '\0';
            len = 0;
        }
        if (n <= 0) {
            break;
        }
    }
    if (len) {
        if (last[0]) {
            fprintf(stderr, "%s\n", last);
        }
        memcpy(last, line, len);
        last[len] = '\0';
    }
}

int kimage_fetch(const char *abi, int quiet, SlError *e)
{
    char *argv[6];
    int argc = 0;
    int pipefd[2];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status, rc;
    char last[2 * sizeof(e->msg)];     /* the held line, then the line being read */

    argv[argc++] = "bash";
    argv[argc++] = SLUICE_FETCH_SCRIPT;
    if (abi) {
        argv[argc++] = "--abi";
        argv[argc++] = (char *)abi;
    }
    if (quiet) {
        argv[argc++] = "--quiet";
    }
    argv[argc] = NULL;

    if (pipe(pipefd) != 0) {
        return sl_error(e, -errno, "sluice: cannot run %s: pipe: %s",
                        SLUICE_FETCH_SCRIPT, strerror(errno));
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&fa, pipefd[1]);
    rc = posix_spawnp(&pid, "bash", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        return sl_error(e, -rc, "sluice: cannot run bash %s: %s", SLUICE_FETCH_SCRIPT,
                        strerror(rc));
    }
    kimage_relay_stderr(pipefd[0], last, sizeof(last) / 2);
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return sl_error(e, -errno, "sluice: waiting for %s: %s", SLUICE_FETCH_SCRIPT,
                            strerror(errno));
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (last[0]) {
            fprintf(stderr, "%s\n", last);
        }
        return 0;
    }
    if (WIFSIGNALED(status)) {
        /* The held line is progress, not an error: the cache entry stays
         * incomplete and the next fetch starts over. */
        return sl_error(e, -EINTR, "sluice: %s killed by signal %d [last step: %s]",
                        SLUICE_FETCH_SCRIPT, WTERMSIG(status), last[0] ? last : "none");
    }
    if (last[0]) {
        return sl_error(e, -EIO, "%s", last);
    }
    return sl_error(e, -EIO, "sluice: %s failed [exit=%d]", SLUICE_FETCH_SCRIPT,
                    WEXITSTATUS(status));
}

/* An ABI names a directory: "6.1.0-56" (digits, dots, dashes), nothing that
 * could climb out of the cache. */
static int kimage_abi_valid(const char *abi)
{
    size_t n = strlen(abi);

    if (n == 0 || n >= sizeof(((KImage *)0)->abi) || abi[0] == '.') {
        return 0;
    }
    return strspn(abi, "0123456789.-") == n;
}

static int kimage_read_current(const char *cache, char *abi, size_t cap, SlError *e)
{
    char path[4200];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/current", cache);
    f = fopen(path, "r");
    if (!f) {
        return sl_error(e, -ENOENT, "sluice: no kernel image in the cache (no %s); "
                        KIMAGE_FETCH_HINT, path);
    }
    n = fread(abi, 1, cap - 1, f);
    fclose(f);
    abi[n] = '\0';
    abi[strcspn(abi, "\r\n")] = '\0';
    if (!kimage_abi_valid(abi)) {
        return sl_error(e, -EINVAL, "sluice: %s: bad ABI '%s' (expected the form "
                        "6.1.0-56); " KIMAGE_FETCH_HINT, path, abi);
    }
    return 0;
}

static int kimage_is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int kimage_open(const char *abi, KImage *img, SlError *e)
{
    char path[4200];
    struct stat st;
    int rc;

    memset(img, 0, sizeof(*img));
    rc = kimage_cache_root(img->cache, sizeof(img->cache), e);
    if (rc) {
        return rc;
    }
    if (abi) {
        if (!kimage_abi_valid(abi)) {
            return sl_error(e, -EINVAL, "sluice: bad kernel ABI '%s' (expected the "
                            "form 6.1.0-56)", abi);
        }
        snprintf(img->abi, sizeof(img->abi), "%s", abi);
    } else {
        rc = kimage_read_current(img->cache, img->abi, sizeof(img->abi), e);
        if (rc) {
            return rc;
        }
    }
    rc = snprintf(img->dir, sizeof(img->dir), "%s/kernels/%s", img->cache, img->abi);
    if (rc < 0 || (size_t)rc >= sizeof(img->dir) - 32) {
        return sl_error(e, -ENAMETOOLONG, "sluice: kernel cache path too long [%s]",
                        img->cache);
    }
    if (stat(img->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return sl_error(e, -ENOENT, "sluice: kernel %s is not in the cache (no %s); "
                        "run `sluice images fetch --abi %s`", img->abi, img->dir, img->abi);
    }
    snprintf(path, sizeof(path), "%s/complete", img->dir);
    if (!kimage_is_file(path)) {
        return sl_error(e, -ENOENT, "sluice: cache entry %s is incomplete (no 'complete' "
                        "marker: an interrupted fetch?); run `sluice images fetch --abi %s`",
                        img->dir, img->abi);
    }
    rc = snprintf(img->vmlinux, sizeof(img->vmlinux), "%s/vmlinux", img->dir);
    if (rc < 0 || (size_t)rc >= sizeof(img->vmlinux) || stat(img->vmlinux, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        return sl_error(e, -ENOENT, "sluice: cache entry %s has no vmlinux; run "
                        "`sluice images fetch --abi %s`", img->dir, img->abi);
    }
    snprintf(path, sizeof(path), "%s/modules.index", img->dir);
    if (!kimage_is_file(path)) {
        return sl_error(e, -ENOENT, "sluice: cache entry %s has no modules.index; run "
                        "`sluice images fetch --abi %s`", img->dir, img->abi);
    }
    return 0;
}

/* Module names compare with '-' and '_' equal, as modprobe does. */
static int kimage_name_equal(const char *a, size_t alen, const char *b)
{
    size_t i;

    for (i = 0; i < alen; i++) {
        char x = a[i] == '-' ? '_' : a[i];
        char y = b[i] == '-' ? '_' : b[i];

        if (b[i] == '\0' || x != y) {
            return 0;
        }
    }
    return b[i] == '\0';
}

int kimage_module_path(const KImage *img, const char *name, char *buf, size_t cap,
                       SlError *e)
{
    char index[4200];
    char line[4096];
    FILE *f;
    int found = 0;

    snprintf(index, sizeof(index), "%s/modules.index", img->dir);
    f = fopen(index, "r");
    if (!f) {
        return sl_error(e, -errno, "sluice: cannot open %s: %s; run `sluice images fetch`",
                        index, strerror(errno));
    }
    while (!found && fgets(line, sizeof(line), f)) {
        char *tab = strchr(line, '\t');
        int n;

        if (!tab) {
            continue;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (!kimage_name_equal(line, (size_t)(tab - line), name)) {
            continue;
        }
        n = snprintf(buf, cap, "%s/%s", img->dir, tab + 1);
        if (n < 0 || (size_t)n >= cap) {
            fclose(f);
            return sl_error(e, -ENAMETOOLONG, "sluice: path of module %s too long "
                            "(expected under %zu bytes)", name, cap);
        }
        found = 1;
    }
    fclose(f);
    if (!found) {
        return sl_error(e, -ENOENT, "sluice: no module named %s in kernel %s (see %s)",
                        name, img->abi, index);
    }
    return 0;
}
