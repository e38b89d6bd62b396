/*
 * `mptrace report`, `diff` and `export` as a user runs them (the built binary, as a
 * subprocess): every option documented in --help; bad input — a missing, empty, foreign,
 * newer-version, truncated or corrupted trace — gives a message naming the file (and the byte
 * offset for damage), the documented exit status, and never a crash; a truncated trace is still
 * reported; colour only on a terminal (a pseudo-terminal here) and never with NO_COLOR.
 *
 * The binary is $BUILD/bin/mptrace, $BUILD found from this runner's path ($BUILD/tests/..) or
 * from MPT_TEST_BUILD. Without it, each test says SKIP and passes.
 */
#include <check.h>
#include <fcntl.h>
#include <libgen.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "core/trace_format.h"
#include "tests/unit/test_analyzer_cli.h"
#include "tests/unit/test_analyzer_synth.h"
#include "tests/unit/trace_samples.h"

const char *an_mptrace_path(void)
{
    static char path[4096];
    if (path[0]) return access(path, X_OK) == 0 ? path : NULL;
    const char *b = getenv("MPT_TEST_BUILD");
    if (b) {
        snprintf(path, sizeof path, "%s/bin/mptrace", b);
    } else {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return NULL;
        exe[n] = '\0';
        snprintf(path, sizeof path, "%s/bin/mptrace", dirname(dirname(exe)));
    }
    return access(path, X_OK) == 0 ? path : NULL;
}

int an_run(char *const argv[], const char *const env_add[], char **out, char **err)
{
    char pout[256], perr[256];
    mpt_test_tmpfile(pout, sizeof pout, "cli_out");
    mpt_test_tmpfile(perr, sizeof perr, "cli_err");
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(pout, O_WRONLY | O_TRUNC), fe = open(perr, O_WRONLY | O_TRUNC);
        dup2(fo, 1);
        dup2(fe, 2);
        for (int i = 0; env_add && env_add[i]; i++)
            putenv((char *)env_add[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    uint8_t *d;
    size_t n;
    if (out) {
        mpt_test_slurp(pout, &d, &n);
        *out = realloc(d, n + 1);
        (*out)[n] = '\0';
    }
    if (err) {
        mpt_test_slurp(perr, &d, &n);
        *err = realloc(d, n + 1);
        (*err)[n] = '\0';
    }
    unlink(pout);
    unlink(perr);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

#define NEED_BINARY(bin)                                                                           \
    const char *bin = an_mptrace_path();                                                           \
    if (!bin) {                                                                                    \
        fprintf(stderr, "SKIP: %s: build/bin/mptrace not built\n", __func__);                      \
        return;                                                                                    \
    }

/* ---- --help ---------------------------------------------------------------------------------- */

START_TEST(test_cli_help_documents_every_option)
{
    NEED_BINARY(bin);
    static const struct {
        const char *cmd;
        const char *opts[12];
    } cmds[] = {
        {"report",
         {"--json", "--pretty", "--color", "--max-layers", "--spike-k", "--spike-window",
          "--output", "--help", "exit status", NULL}},
        {"diff",
         {"--json", "--pretty", "--threshold", "--loss-tol", "--color", "--output", "--help",
          "exit status", NULL}},
        {"export",
         {"--format", "--output", "--help", "csv", "jsonl", "chrome", "sqlite", "exit status",
          NULL}},
    };
    for (size_t i = 0; i < 3; i++) {
        char *argv[] = {(char *)bin, (char *)cmds[i].cmd, "--help", NULL}, *out, *err;
        ck_assert_int_eq(an_run(argv, NULL, &out, &err), 0);
        for (int k = 0; cmds[i].opts[k]; k++)
            MPT_CHECK(strstr(out, cmds[i].opts[k]), "%s --help lacks %s", cmds[i].cmd,
                      cmds[i].opts[k]);
        char *p = out;
        for (char *nl; (nl = strchr(p, '\n')); p = nl + 1)
            MPT_CHECK(nl - p <= 80, "%s --help: a line over 80 columns", cmds[i].cmd);
        free(out);
        free(err);
    }
    /* the dispatcher lists them */
    char *argv[] = {(char *)bin, "--help", NULL}, *out, *err;
    ck_assert_int_eq(an_run(argv, NULL, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "report"));
    ck_assert_ptr_nonnull(strstr(out, "export"));
    ck_assert_ptr_nonnull(strstr(out, "diff"));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_usage_errors)
{
    NEED_BINARY(bin);
    char *cases[][6] = {
        {"report", NULL},
        {"report", "--no-such-option", "x.mpt", NULL},
        {"report", "--max-layers", "abc", "x.mpt", NULL},
        {"report", "--color", "sometimes", "x.mpt", NULL},
        {"export", "x.mpt", NULL},
        {"export", "-f", "xml", "x.mpt", NULL},
        {"export", "-f", "sqlite", "x.mpt", NULL},
        {"diff", "a.mpt", NULL},
        {"diff", "--threshold", "-3", "a.mpt", "b.mpt", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[8] = {(char *)bin};
        for (int k = 0; cases[i][k]; k++)
            argv[k + 1] = cases[i][k];
        char *out, *err;
        MPT_CHECK(an_run(argv, NULL, &out, &err) == 2, "case %zu: not a usage error", i);
        MPT_CHECK(strstr(err, "mptrace ") != NULL, "case %zu: no message", i);
        free(out);
        free(err);
    }
}
END_TEST

/* ---- bad input ------------------------------------------------------------------------------- */

static void write_bytes(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (n) fwrite(d, 1, n, f);
    fclose(f);
}

/* A small valid trace's bytes. */
static uint8_t *good_trace(size_t *len)
{
    syn_opts o;
    syn_defaults(&o);
    o.steps = 6;
    char path[256], err[256];
    mpt_test_tmpfile(path, sizeof path, "cli_good");
    MPT_CHECK(syn_write(&o, path, err, sizeof err) == 0, "%s", err);
    uint8_t *d;
    ck_assert_int_eq(mpt_test_slurp(path, &d, len), 0);
    unlink(path);
    return d;
}

typedef struct bad_case {
    const char *what;
    int report_status; /* expected exit status of report (and export) */
    const char *msg;   /* expected in stderr */
    int want_offset;   /* stderr names a byte offset */
    int want_report;   /* stdout still has a report */
} bad_case;

static void check_bad(const char *bin, const char *path, const bad_case *c)
{
    char *argv[] = {(char *)bin, "report", (char *)path, NULL}, *out, *err;
    int st = an_run(argv, NULL, &out, &err);
    MPT_CHECK(st == c->report_status, "%s: report exit %d want %d (%s)", c->what, st,
              c->report_status, err);
    MPT_CHECK(strstr(err, path) != NULL, "%s: the message does not name the file: %s", c->what,
              err);
    MPT_CHECK(strstr(err, c->msg) != NULL, "%s: no '%s' in: %s", c->what, c->msg, err);
    if (c->want_offset) MPT_CHECK(strstr(err, "byte") != NULL, "%s: no offset: %s", c->what, err);
    MPT_CHECK((strstr(out, "mptrace report") != NULL) == c->want_report, "%s: report %s", c->what,
              c->want_report ? "missing" : "printed");
    free(out);
    free(err);
    char dst[256];
    mpt_test_tmpfile(dst, sizeof dst, "cli_export");
    char *ex[] = {(char *)bin, "export", "-f", "csv", "-o", dst, (char *)path, NULL};
    st = an_run(ex, NULL, &out, &err);
    MPT_CHECK(st == c->report_status, "%s: export exit %d want %d", c->what, st, c->report_status);
    MPT_CHECK(strstr(err, path) != NULL, "%s: export message does not name the file", c->what);
    free(out);
    free(err);
    unlink(dst);
}

START_TEST(test_cli_bad_input)
{
    NEED_BINARY(bin);
    size_t len;
    uint8_t *good = good_trace(&len);
    char path[256];
    mpt_test_tmpfile(path, sizeof path, "cli_bad");

    bad_case missing = {"missing file", 1, "No such file", 0, 0};
    char nopath[300];
    snprintf(nopath, sizeof nopath, "%s.does-not-exist", path);
    check_bad(bin, nopath, &missing);

    write_bytes(path, "", 0);
    check_bad(bin, path, &(bad_case){"empty file", 1, "empty", 0, 0});

    const char text[] = "step,loss\n0,2.5\n1,2.4\n";
    write_bytes(path, text, sizeof text - 1);
    check_bad(bin, path, &(bad_case){"foreign file", 1, "not an mptrace trace", 0, 0});

    /* a newer major version, with a valid header checksum */
    uint8_t *v2 = malloc(len);
    memcpy(v2, good, len);
    uint32_t hlen = mpt_get_u32(v2 + 12);
    mpt_put_u16(v2 + 8, 2);
    mpt_put_u32(v2 + hlen - 4, mpt_crc32c(0, v2, hlen - 4));
    write_bytes(path, v2, len);
    check_bad(bin, path, &(bad_case){"newer major version", 1, "newer", 0, 0});
    free(v2);

    /* truncated in the middle of a record: reported up to the last whole record */
    write_bytes(path, good, len * 2 / 3);
    check_bad(bin, path, &(bad_case){"truncated", 0, "warning", 1, 1});

    /* a flipped byte in the middle: reported up to the damage, exit 1 */
    uint8_t *bad = malloc(len);
    memcpy(bad, good, len);
    bad[len / 2] ^= 0x40;
    write_bytes(path, bad, len);
    check_bad(bin, path, &(bad_case){"corrupted", 1, "error", 1, 1});
    free(bad);

    /* a directory */
    check_bad(bin, "/", &(bad_case){"a directory", 1, "/", 0, 0});

    unlink(path);
    free(good);
}
END_TEST

/* A record of a type this reader does not know (a newer minor version) is skipped. */
START_TEST(test_cli_unknown_record_skipped)
{
    NEED_BINARY(bin);
    size_t len;
    uint8_t *good = good_trace(&len);
    uint8_t frame[MPT_TRACE_FRAME_OVERHEAD + 8] = {0};
    mpt_trace_frame_open(frame, 0x0777, 0, 8);
    mpt_trace_frame_close(frame, 8);
    uint8_t *more = malloc(len + sizeof frame);
    memcpy(more, good, len);
    memcpy(more + len, frame, sizeof frame);
    char path[256];
    mpt_test_tmpfile(path, sizeof path, "cli_unknown");
    write_bytes(path, more, len + sizeof frame);
    char *argv[] = {(char *)bin, "report", "--json", path, NULL}, *out, *err;
    ck_assert_int_eq(an_run(argv, NULL, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"steps\":6"));
    free(out);
    free(err);
    unlink(path);
    free(more);
    free(good);
}
END_TEST

/* ---- colour ---------------------------------------------------------------------------------- */

/* Runs the command on a pseudo-terminal; returns its output. */
static char *run_on_pty(char *const argv[], const char *env_add)
{
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    if (pid == 0) {
        unsetenv("NO_COLOR");
        setenv("TERM", "xterm", 1);
        if (env_add) putenv((char *)env_add);
        execv(argv[0], argv);
        _exit(127);
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        ssize_t k = read(master, buf + n, cap - n - 1);
        if (k <= 0) break; /* EIO once the child has exited */
        n += (size_t)k;
    }
    buf[n] = '\0';
    close(master);
    waitpid(pid, NULL, 0);
    return buf;
}

START_TEST(test_cli_colour_only_on_a_terminal)
{
    NEED_BINARY(bin);
    syn_opts o;
    syn_defaults(&o);
    o.steps = 25;
    o.overflow_step = 20;
    char path[256], err[256];
    mpt_test_tmpfile(path, sizeof path, "cli_color");
    MPT_CHECK(syn_write(&o, path, err, sizeof err) == 0, "%s", err);
    char *argv[] = {(char *)bin, "report", path, NULL};
    char *tty = run_on_pty(argv, NULL);
    ck_assert_ptr_nonnull(strstr(tty, "\033["));
    free(tty);
    tty = run_on_pty(argv, "NO_COLOR=1");
    ck_assert_ptr_nonnull(strstr(tty, "First non-finite"));
    ck_assert_ptr_null(strstr(tty, "\033["));
    free(tty);
    char *out, *e;
    ck_assert_int_eq(an_run(argv, NULL, &out, &e), 0); /* a pipe: no colour */
    ck_assert_ptr_null(strstr(out, "\033["));
    free(out);
    free(e);
    char *always[] = {(char *)bin, "report", "--color", "always", path, NULL};
    const char *env[] = {"NO_COLOR=1", NULL};
    ck_assert_int_eq(an_run(always, env, &out, &e), 0); /* asked for explicitly */
    ck_assert_ptr_nonnull(strstr(out, "\033["));
    free(out);
    free(e);
    unlink(path);
}
END_TEST

extern Suite *suite_analyzer_cli(void);
Suite *suite_analyzer_cli(void)
{
    Suite *s = suite_create("analyzer_cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cli_help_documents_every_option);
    tcase_add_test(tc, test_cli_usage_errors);
    tcase_add_test(tc, test_cli_bad_input);
    tcase_add_test(tc, test_cli_unknown_record_skipped);
    tcase_add_test(tc, test_cli_colour_only_on_a_terminal);
    suite_add_tcase(s, tc);
    return s;
}
