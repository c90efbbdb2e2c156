/*
 * tests/test_emu_cli.c: the sluice command line, run as a user runs it.
 *
 * Every test spawns the built binary (SLUICE_BINARY) with posix_spawn and
 * looks only at what a user sees: stdout, stderr, the exit status and the
 * files it writes.  The driver runs are on Debian's real 8139too.ko from the
 * image cache, so the lines asserted on are the driver's own printk output
 * and register accesses.  The summary line on stderr is deliberately not
 * asserted on: its wording is free to change.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support.h"

extern char **environ;

#define CLI_MAX_ARGS 16

/* The driver's banner, and its probe line (the MMIO cookie is a hashed
 * pointer, so only its shape is fixed). */
#define CLI_BANNER "8139too: 8139too Fast Ethernet driver 0.9.28"
#define CLI_PROBE_RE                                                       \
    "^8139too 0000:00:02\\.0 eth0: RealTek RTL8139 at 0x[0-9a-f]{16}, " \
    "52:54:00:12:34:56, IRQ [0-9]+$"
#define CLI_TRACE_RE                                                    \
    "^(init|probe|remove|exit) (R|W|CR|CW) (cfg|[0-5]) 0x[0-9a-f]+ [124] " \
    "0x[0-9a-f]+ [^ ]"
/* The 93C46 bit-bang through Cfg9346 (BAR 1 + 0x50) and the software reset
 * (ChipCmd 0x37 = CmdReset 0x10), each from the driver's own code. */
#define CLI_EEPROM_RE \
    "^probe R 1 0x50 1 0x[0-9a-f]+ read_eeprom\\+0x[0-9a-f]+/0x[0-9a-f]+ \\[8139too\\]$"
#define CLI_RESET_RE \
    "^probe W 1 0x37 1 0x10 [a-z0-9_]+\\+0x[0-9a-f]+/0x[0-9a-f]+ \\[8139too\\]$"

typedef struct CliRun {
    int status;     /* exit code; 128 + signal if it was killed */
    char *out;      /* all of stdout */
    char *err;      /* all of stderr */
} CliRun;

static char cli_dir[256];   /* scratch directory for this executable */

/* ---- helpers ---------------------------------------------------------- */

static char *cli_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) {
        fail_msg("%s: %s", path, strerror(errno));
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void cli_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f) {
        fail_msg("%s: %s", path, strerror(errno));
    }
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static const char *cli_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", cli_dir, name);
    return p;
}

/* Runs SLUICE_BINARY with ARGS (NULL-terminated, without argv[0]); stdin
 * is /dev/null, so nothing can wait for a user. */
static CliRun cli_run(const char *const *args)
{
    const char *argv[CLI_MAX_ARGS + 2] = {SLUICE_BINARY};
    char out[300], err[300];
    posix_spawn_file_actions_t fa;
    CliRun r = {0};
    int status, rc;
    pid_t pid;

    snprintf(out, sizeof(out), "%s/stdout", cli_dir);
    snprintf(err, sizeof(err), "%s/stderr", cli_dir);
    for (int i = 0; args[i]; i++) {
        assert_true(i < CLI_MAX_ARGS);
        argv[i + 1] = args[i];
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    rc = posix_spawn(&pid, SLUICE_BINARY, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fail_msg("%s: %s (build the sluice target first)", SLUICE_BINARY, strerror(rc));
    }
    while (waitpid(pid, &status, 0) < 0) {
        assert_int_equal(errno, EINTR);
    }
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = cli_read_file(out);
    r.err = cli_read_file(err);
    return r;
}

static void cli_free(CliRun *r)
{
    free(r->out);
    free(r->err);
}

static int cli_matches(const char *re, const char *line)
{
    regex_t rx;
    int rc;

    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    rc = regexec(&rx, line, 0, NULL, 0);
    regfree(&rx);
    return rc == 0;
}

/* Calls FN on each line of TEXT (without its newline). */
static void cli_each_line(const char *text, void (*fn)(const char *line, void *ctx), void *ctx)
{
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        char *line = strndup(text, n);

        assert_non_null(line);
        fn(line, ctx);
        free(line);
        text += n + (nl ? 1 : 0);
    }
}

static unsigned cli_count_lines(const char *text)
{
    unsigned n = 0;

    for (; *text; text++) {
        n += *text == '\n';
    }
    return n;
}

/* What every user error must look like: exit CODE, nothing on stdout, one
 * whole line on stderr, and that line names NAME. */
static void cli_assert_one_line(const CliRun *r, int code, const char *name, const char *what)
{
    if (r->status != code || r->out[0] != '\0' || cli_count_lines(r->err) != 1 ||
        r->err[strlen(r->err) - 1] != '\n' || !strstr(r->err, name)) {
        fail_msg("%s: expected exit %d and one stderr line naming '%s'; got exit %d, "
                 "stdout [%s], stderr [%s]", what, code, name, r->status, r->out, r->err);
    }
}

static void cli_remove_tree(const char *dir)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
}

/* Names in DIR that look like a trace still being written (NAME.tmp.PID). */
static unsigned cli_count_tmp_files(const char *dir)
{
    char cmd[600];
    FILE *p;
    unsigned n = 0;
    int c;

    snprintf(cmd, sizeof(cmd), "find '%s' -name '*.tmp.*'", dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    while ((c = fgetc(p)) != EOF) {
        n += c == '\n';
    }
    assert_int_equal(pclose(p), 0);
    return n;
}

static int cli_setup(void **state)
{
    snprintf(cli_dir, sizeof(cli_dir), "/tmp/sluice-test-emu-cli.XXXXXX");
    return mkdtemp(cli_dir) ? 0 : -1;
}

static int cli_teardown(void **state)
{
    cli_remove_tree(cli_dir);
    return 0;
}

/* ---- the demo --------------------------------------------------------- */

static void cli_find_probe_line(const char *line, void *ctx)
{
    *(int *)ctx |= cli_matches(CLI_PROBE_RE, line);
}

static void test_cli_run__real_8139too__prints_the_drivers_banner_and_probe_line(void **state)
{
    const char *args[] = {"run", "--driver", "8139too", NULL};
    CliRun r;
    const char *after;
    int found = 0;

    test_kimage();   /* a missing image fails here, not as a silent fetch */
    r = cli_run(args);
    if (r.status != 0) {
        fail_msg("exit %d, stderr [%s]", r.status, r.err);
    }
    /* The banner (module init), then later the probe line; the driver may
     * print other lines between them. */
    after = strstr(r.out, CLI_BANNER "\n");
    if (!after) {
        fail_msg("no banner [%s] on stdout [%s]", CLI_BANNER, r.out);
    }
    cli_each_line(after, cli_find_probe_line, &found);
    if (!found) {
        fail_msg("no line /%s/ after the banner on stdout [%s]", CLI_PROBE_RE, r.out);
    }
    cli_free(&r);
}

static void test_cli_run__twice__prints_identical_output_and_trace(void **state)
{
    const char *a[] = {"run", "--driver", "8139too", "--trace-mmio", cli_path("t1"), NULL};
    const char *b[] = {"run", "--driver", "8139too", "--trace-mmio", cli_path("t2"), NULL};
    CliRun r1, r2;
    char *t1, *t2;

    test_kimage();
    r1 = cli_run(a);
    r2 = cli_run(b);
    assert_int_equal(r1.status, 0);
    assert_int_equal(r2.status, 0);
    assert_string_equal(r1.out, r2.out);
    assert_string_equal(r1.err, r2.err);
    t1 = cli_read_file(cli_path("t1"));
    t2 = cli_read_file(cli_path("t2"));
    assert_true(strlen(t1) > 0);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    cli_free(&r1);
    cli_free(&r2);
    unlink(cli_path("t1"));
    unlink(cli_path("t2"));
}

/* ---- --help ----------------------------------------------------------- */

static void test_cli_help__exits_0__and_names_every_option_the_parser_accepts(void **state)
{
    const char *args[] = {"--help", NULL};
    CliRun r = cli_run(args);
    char *src = cli_read_file(SLUICE_SOURCE_DIR "/emu/main.c");
    regex_t rx;
    regmatch_t m[2];
    unsigned seen = 0;

    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: sluice"));
    /* Every long option in main.c's getopt tables: {"name", x_argument, ...}. */
    assert_int_equal(regcomp(&rx, "\\{\"([a-z-]+)\", *(no|required|optional)_argument",
                             REG_EXTENDED), 0);
    for (const char *p = src; regexec(&rx, p, 2, m, 0) == 0; p += m[0].rm_eo) {
        char flag[64];

        snprintf(flag, sizeof(flag), "--%.*s", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
        /* --help is how the reader got here; every other flag is listed. */
        if (strcmp(flag, "--help") != 0 && !strstr(r.out, flag)) {
            fail_msg("emu/main.c accepts %s but --help does not mention it", flag);
        }
        seen++;
    }
    regfree(&rx);
    assert_true(seen >= 10);   /* the table was found and read */
    free(src);
    cli_free(&r);
}

/* An example value for each metavariable --help uses. */
static const char *cli_example_value(const char *metavar)
{
    static const char *const table[][2] = {
        {"NAME|PATH", "8139too"}, {"NAME=VALUE", "debug=1"}, {"ABI", "6.1.0-56"},
        {"MODEL", "none"},        {"FILE", "trace.txt"},     {"N", "5000"},
        {"MIB", "64"},            {"MODE", "lazy"},          {"BYTES", "64K"},
        {"FILE.json", "report.json"}, {"MS", "100"},        {"FILE.pcap", "in.pcap"},
        {"IMG", "disk.img"},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (!strcmp(table[i][0], metavar)) {
            return table[i][1];
        }
    }
    fail_msg("--help uses metavariable %s: add an example value to this test", metavar);
    return NULL;
}

typedef struct HelpScan {
    const char *command;   /* "run" or "images", from the section header */
    unsigned checked;
} HelpScan;

/* For an option line of --help ("  --ram MIB   ..." or "  -v, --verbose"):
 * the command accepts the flag, with an example value, ahead of --help. */
static void cli_check_help_line(const char *line, void *ctx)
{
    HelpScan *hs = ctx;
    char flags[128], metavar[64] = "";
    const char *value = NULL;
    char *tok, *save;

    if (!strcmp(line, "run options:") || !strcmp(line, "images options:")) {
        hs->command = line[0] == 'r' ? "run" : "images";
        return;
    }
    if (!hs->command || strncmp(line, "  -", 3) != 0) {
        return;
    }
    /* "-v, --verbose" or "--ram MIB": the flags, then maybe a metavariable. */
    snprintf(flags, sizeof(flags), "%s", line + 2);
    /* The description follows two spaces, or (for a long option) on the
     * next line. */
    tok = strstr(flags, "  ");
    if (tok) {
        *tok = '\0';
    }
    tok = strrchr(flags, ' ');
    if (tok && tok[1] != '-') {
        snprintf(metavar, sizeof(metavar), "%s", tok + 1);
        *tok = '\0';
        value = cli_example_value(metavar);
    }
    for (tok = strtok_r(flags, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        const char *run_args[] = {"run", tok, value, "--help", NULL};
        const char *img_args[] = {"images", "fetch", tok, value, "--help", NULL};
        CliRun r;

        if (!value) {   /* shift --help into the value's slot */
            run_args[2] = "--help", run_args[3] = NULL;
            img_args[3] = "--help", img_args[4] = NULL;
        }
        r = cli_run(hs->command[0] == 'r' ? run_args : img_args);
        if (r.status != 0 || !strstr(r.out, "usage: sluice")) {
            fail_msg("sluice %s %s %s --help: --help documents it, but exit %d, stderr [%s]",
                     hs->command, tok, value ? value : "", r.status, r.err);
        }
        cli_free(&r);
        hs->checked++;
    }
}

static void test_cli_help__every_documented_option__is_accepted(void **state)
{
    const char *args[] = {"--help", NULL};
    CliRun r = cli_run(args);
    HelpScan hs = {0};

    assert_int_equal(r.status, 0);
    cli_each_line(r.out, cli_check_help_line, &hs);
    assert_true(hs.checked >= 12);   /* both sections were found */
    cli_free(&r);
}

/* ---- bad command lines: one line, exit 2 ------------------------------ */

static void test_cli_bad_flags__each__give_one_line_naming_the_flag_and_exit_2(void **state)
{
    static const struct {
        const char *args[8];
        const char *named;
    } cases[] = {
        {{"run", "--driver", "8139too", "--bogus"}, "--bogus"},
        {{"run", "--driver", "8139too", "--ram"}, "--ram"},
        {{"run", "--driver"}, "--driver"},
        {{"run", "--driver", "8139too", "--ram", "abc"}, "--ram"},
        {{"run", "--driver", "8139too", "--ram", "1"}, "--ram"},
        {{"run", "--driver", "8139too", "--block-budget", "-1"}, "--block-budget"},
        {{"run", "--driver", "8139too", "--param", "debug"}, "--param"},
        {{"run", "--driver", "8139too", "--param", "=1"}, "--param"},
        {{"run", "--driver", "8139too", "--device", "e9999"}, "--device"},
        {{"run", "--driver", "8139too", "--mem-limit", "100"}, "--mem-limit"},
        {{"run", "--driver", "8139too", "--mem-limit", "lots"}, "--mem-limit"},
        {{"run", "--driver", "8139too", "--map-limit", "0"}, "--map-limit"},
        {{"run"}, "--driver"},
        {{"images", "fetch", "--bogus"}, "--bogus"},
        {{"frobnicate"}, "frobnicate"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CliRun r = cli_run(cases[i].args);
        char what[200] = "sluice";

        for (int j = 0; cases[i].args[j]; j++) {
            strncat(what, " ", sizeof(what) - strlen(what) - 1);
            strncat(what, cases[i].args[j], sizeof(what) - strlen(what) - 1);
        }
        cli_assert_one_line(&r, 2, cases[i].named, what);
        cli_free(&r);
    }
}

/* ---- space bank quotas -------------------------------------------------- */

static void test_cli_map_limit__below_the_rx_ring__ndo_open_fails_and_says_why(void **state)
{
    const char *args[] = {"run", "--driver", "8139too", "--ifup", "--map-limit", "2", NULL};
    CliRun r = cli_run(args);

    /* 8139too maps its 9-page rx ring at open: the bank refuses, the
     * driver's open fails its own way, nothing leaks. */
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "DMA mapping of 9 pages refused: the space bank of 8139too is "
                                  "at its quota of IOMMU mapping entries"));
    assert_non_null(strstr(r.out, "eth0: ndo_open failed: -12 (ENOMEM)"));
    assert_non_null(strstr(r.err, "(quota 2); destroyed with the module"));
    assert_non_null(strstr(r.err, "nothing left behind"));
    cli_free(&r);
}

static void test_cli_mem_limit__too_small_for_e1000__probe_fails_with_enomem(void **state)
{
    const char *probe[] = {"run", "--driver", "e1000", "--mem-limit", "150K", NULL};
    const char *load[] = {"run", "--driver", "e1000", "--mem-limit", "140K", NULL};
    CliRun r = cli_run(probe);

    /* 37 pages of image + one page of kmalloc arena fit in 38; the probe's
     * next allocation does not: the driver's own error path (ENOMEM). */
    assert_non_null(strstr(r.out, "sluice: e1000: allocation of 4912 bytes refused: its space bank "
                                  "is at its quota of 38 pages (37 in use)"));
    assert_non_null(strstr(r.out, "e1000: probe of 0000:00:02.0 failed with error -12"));
    assert_non_null(strstr(r.err, "nothing left behind"));
    cli_free(&r);
    /* 35 pages: not even the image fits; one line naming the file. */
    r = cli_run(load);
    cli_assert_one_line(&r, 1, "e1000.ko", "--mem-limit 140K");
    assert_non_null(strstr(r.err, "the 37-page module image does not fit its space bank's quota "
                                  "of 35 pages (--mem-limit)"));
    cli_free(&r);
}

/* ---- bad driver files: one line naming the file, exit 1 --------------- */

static void cli_assert_driver_rejected(const char *path, const char *what)
{
    const char *args[] = {"run", "--driver", path, NULL};
    CliRun r = cli_run(args);

    cli_assert_one_line(&r, 1, path, what);
    cli_free(&r);
}

static void test_cli_driver__missing_or_not_elf__gives_one_line_naming_the_file(void **state)
{
    test_kimage();
    cli_assert_driver_rejected(cli_path("missing.ko"), "missing file");
    cli_write_file(cli_path("text.ko"), "not an ELF file\n", 16);
    cli_assert_driver_rejected(cli_path("text.ko"), "text file");
    cli_write_file(cli_path("empty.ko"), "", 0);
    cli_assert_driver_rejected(cli_path("empty.ko"), "empty file");
}

static void test_cli_driver__truncated_8139too__gives_one_line_and_never_crashes(void **state)
{
    char *ko = cli_read_file(test_real_module_path("8139too"));
    FILE *f = fopen(test_real_module_path("8139too"), "rb");
    uint64_t shoff = 0;
    long size;
    size_t cuts[6];

    /* The section table (e_shoff at 0x28) is what a cut most often hits;
     * cut inside the header, the code, and the section table itself. */
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    fclose(f);
    memcpy(&shoff, ko + 0x28, sizeof(shoff));
    assert_true(shoff > 4096 && (long)shoff < size);
    cuts[0] = 16, cuts[1] = 64, cuts[2] = 4096, cuts[3] = (size_t)size / 2;
    cuts[4] = shoff + 64, cuts[5] = shoff + 64 * 5 + 7;
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        char name[64], what[64];

        snprintf(name, sizeof(name), "cut%zu.ko", cuts[i]);
        snprintf(what, sizeof(what), "8139too.ko cut to %zu bytes", cuts[i]);
        cli_write_file(cli_path(name), ko, cuts[i]);
        cli_assert_driver_rejected(cli_path(name), what);
    }
    free(ko);
}

static void test_cli_driver__unknown_module_name__gives_one_line_naming_it(void **state)
{
    const char *args[] = {"run", "--driver", "no_such_driver_xyz", NULL};
    CliRun r;

    test_kimage();
    r = cli_run(args);
    cli_assert_one_line(&r, 1, "no_such_driver_xyz", "unknown module name");
    cli_free(&r);
}

/* ---- --trace-mmio ----------------------------------------------------- */

typedef struct TraceScan {
    unsigned lines, eeprom_reads, resets;
} TraceScan;

static void cli_check_trace_line(const char *line, void *ctx)
{
    TraceScan *ts = ctx;

    if (!cli_matches(CLI_TRACE_RE, line)) {
        fail_msg("trace line %u [%s] does not match /%s/", ts->lines + 1, line, CLI_TRACE_RE);
    }
    ts->lines++;
    ts->eeprom_reads += cli_matches(CLI_EEPROM_RE, line);
    ts->resets += cli_matches(CLI_RESET_RE, line);
}

static void test_cli_trace_mmio__writes_the_drivers_eeprom_reads_and_chip_reset(void **state)
{
    const char *dir = cli_path("trace");
    char file[600];
    const char *args[] = {"run", "--driver", "8139too", "--trace-mmio", file, NULL};
    TraceScan ts = {0};
    CliRun r;
    char *text;

    test_kimage();
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(file, sizeof(file), "%s/mmio.txt", dir);
    r = cli_run(args);
    assert_int_equal(r.status, 0);
    text = cli_read_file(file);
    assert_true(text[0] != '\0' && text[strlen(text) - 1] == '\n');
    cli_each_line(text, cli_check_trace_line, &ts);
    /* read_eeprom() clocks out 16 data bits per word, reading Cfg9346 for
     * each; probe reads at least the address-width word and the 3 MAC words. */
    if (ts.eeprom_reads < 4 * 16 || ts.resets < 1) {
        fail_msg("%u lines: %u EEPROM reads /%s/, %u resets /%s/", ts.lines, ts.eeprom_reads,
                 CLI_EEPROM_RE, ts.resets, CLI_RESET_RE);
    }
    assert_int_equal(cli_count_tmp_files(dir), 0);
    free(text);
    cli_free(&r);
    cli_remove_tree(dir);
}

static void test_cli_trace_mmio__unwritable_directory__gives_one_line_and_exit_1(void **state)
{
    const char *dir = cli_path("readonly");
    char file[600];
    const char *args[] = {"run", "--driver", "8139too", "--trace-mmio", file, NULL};
    CliRun r;

    test_kimage();
    assert_int_equal(mkdir(dir, 0555), 0);
    if (access(dir, W_OK) == 0) {
        /* root ignores mode bits; procfs refuses new files even to root. */
        snprintf(file, sizeof(file), "/proc/sluice-trace.txt");
    } else {
        snprintf(file, sizeof(file), "%s/mmio.txt", dir);
    }
    r = cli_run(args);
    cli_assert_one_line(&r, 1, file, "--trace-mmio into a read-only directory");
    assert_int_equal(access(file, F_OK), -1);
    assert_int_equal(cli_count_tmp_files(dir), 0);
    cli_free(&r);
    cli_remove_tree(dir);
}

static void test_cli_trace_mmio__failed_load__leaves_no_temporary_file(void **state)
{
    const char *dir = cli_path("failed");
    char file[600], ko[600];
    const char *args[] = {"run", "--driver", ko, "--trace-mmio", file, NULL};
    char *bytes = cli_read_file(test_real_module_path("8139too"));
    CliRun r;

    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(file, sizeof(file), "%s/mmio.txt", dir);
    snprintf(ko, sizeof(ko), "%s/cut.ko", dir);
    cli_write_file(ko, bytes, 4096);
    r = cli_run(args);
    cli_assert_one_line(&r, 1, ko, "truncated driver with --trace-mmio");
    assert_int_equal(cli_count_tmp_files(dir), 0);
    free(bytes);
    cli_free(&r);
    cli_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_run__real_8139too__prints_the_drivers_banner_and_probe_line),
        cmocka_unit_test(test_cli_run__twice__prints_identical_output_and_trace),
        cmocka_unit_test(test_cli_map_limit__below_the_rx_ring__ndo_open_fails_and_says_why),
        cmocka_unit_test(test_cli_mem_limit__too_small_for_e1000__probe_fails_with_enomem),
        cmocka_unit_test(test_cli_help__exits_0__and_names_every_option_the_parser_accepts),
        cmocka_unit_test(test_cli_help__every_documented_option__is_accepted),
        cmocka_unit_test(test_cli_bad_flags__each__give_one_line_naming_the_flag_and_exit_2),
        cmocka_unit_test(test_cli_driver__missing_or_not_elf__gives_one_line_naming_the_file),
        cmocka_unit_test(test_cli_driver__truncated_8139too__gives_one_line_and_never_crashes),
        cmocka_unit_test(test_cli_driver__unknown_module_name__gives_one_line_naming_it),
        cmocka_unit_test(test_cli_trace_mmio__writes_the_drivers_eeprom_reads_and_chip_reset),
        cmocka_unit_test(test_cli_trace_mmio__unwritable_directory__gives_one_line_and_exit_1),
        cmocka_unit_test(test_cli_trace_mmio__failed_load__leaves_no_temporary_file),
    };

    return cmocka_run_group_tests(tests, cli_setup, cli_teardown);
}
