/*
 * The launcher and the life of a traced process: exit statuses and signals, SIGKILL, fatal
 * signals, the program's own handlers, fork, a full disk, pass-through, steps found without
 * step ranges, the options' documentation, and an installed layout found from another directory.
 */
#include <check.h>

#if defined(MPT_HAVE_INTERPOSER)
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_interposer_util.h"

/* mptrace [opts] -o DIR/name.mpt PROGRAM ARGS; returns the exit status. */
static int launch(const char *name, const char *const *opts, const char *program,
                  const char *const *args, char **out, char **err, char *trace, size_t tlen)
{
    snprintf(trace, tlen, "%s/%s.mpt", ipx_tmpdir(), name);
    char *argv[40];
    int n = 0;
    argv[n++] = (char *)ipx_path("bin/mptrace");
    for (const char *const *o = opts; o && *o; o++)
        argv[n++] = (char *)*o;
    argv[n++] = "-o";
    argv[n++] = trace;
    argv[n++] = (char *)(program[0] == '/' ? program : ipx_path(program));
    for (const char *const *a = args; a && *a; a++)
        argv[n++] = (char *)*a;
    argv[n] = NULL;
    return ipx_run(argv, NULL, out, err);
}

static const char *const sim[] = {"--sim", NULL};

static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *p = s; p && *p;) {
        if (!strncmp(p, prefix, strlen(prefix))) n++;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

START_TEST(test_sigkill_leaves_readable_trace)
{
    if (!ipx_available()) return;
    char trace[4200], *err;
    const char *args[] = {"sigkill", NULL};
    ck_assert_int_eq(launch("kill", sim, "tests/programs/ipx_lifecycle", args, NULL, &err, trace,
                            sizeof trace),
                     128 + 9);
    ck_assert_msg(strstr(err, "killed by signal 9") != NULL, "%s", err);
    free(err);
    ipx_trace t;
    ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
    ck_assert(!t.have_end);
    ck_assert(t.status == 1 /* EOF */ || t.status == 3 /* TRUNCATED */);
    /* Steps 0..2 were flushed at their ends; whatever of step 3 made it is whole records. */
    ck_assert_uint_ge(t.nsteps, 6);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(t.steps[i].step, i / 2);
        ck_assert_int_eq(t.steps[i].phase, i % 2);
    }
    ck_assert_uint_ge(t.ngemms, 3);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_fatal_signals_flush)
{
    if (!ipx_available()) return;
    static const struct {
        const char *mode;
        int sig;
    } cases[] = {{"abort", 6}, {"segv", 11}};
    for (size_t i = 0; i < 2; i++) {
        char trace[4200];
        const char *args[] = {cases[i].mode, NULL};
        ck_assert_int_eq(launch(cases[i].mode, sim, "tests/programs/ipx_lifecycle", args, NULL,
                                NULL, trace, sizeof trace),
                         128 + cases[i].sig);
        ipx_trace t;
        ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
        ck_assert_uint_eq(t.ngemms, 1); /* buffered, never flushed by a step: the handler did */
        ck_assert(t.have_end);
        ck_assert_int_eq(t.end.how, MPT_END_FATAL_SIGNAL);
        ck_assert_int_eq(t.end.status, cases[i].sig);
        ipx_trace_free(&t);
    }
}
END_TEST

START_TEST(test_program_handler_chained)
{
    if (!ipx_available()) return;
    char trace[4200], *out;
    const char *args[] = {"handler", NULL};
    ck_assert_int_eq(launch("handler", sim, "tests/programs/ipx_lifecycle", args, &out, NULL,
                            trace, sizeof trace),
                     0);
    ck_assert_str_eq(out, "handled 1\nOK\n");
    free(out);
    ipx_trace t;
    ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
    ck_assert_uint_eq(t.ngemms, 2);
    ck_assert(t.have_end);
    ck_assert_int_eq(t.end.how, MPT_END_EXIT);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_fork_child_own_trace)
{
    if (!ipx_available()) return;
    char trace[4200], *out, *err;
    const char *args[] = {"fork", NULL};
    ck_assert_int_eq(launch("fork", sim, "tests/programs/ipx_lifecycle", args, &out, &err, trace,
                            sizeof trace),
                     0);
    int child = 0;
    ck_assert_int_eq(sscanf(out, "child %d exit 0", &child), 1);
    ck_assert_int_eq(count_lines(err, "mptrace: trace written: "), 2);
    ipx_trace t;
    ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
    ck_assert_uint_eq(t.ngemms, 2);
    ck_assert_str_eq(t.gemms[0].layer, "parent");
    ck_assert_str_eq(t.gemms[1].layer, "parent");
    ck_assert(t.have_end);
    ipx_trace_free(&t);
    char ctrace[4300];
    snprintf(ctrace, sizeof ctrace, "%s/fork.pid%d.mpt", ipx_tmpdir(), child);
    ck_assert_int_eq(ipx_trace_load(ctrace, &t), 0);
    ck_assert_int_eq(t.pid, child);
    ck_assert_uint_eq(t.ngemms, 1);
    ck_assert_str_eq(t.gemms[0].layer, "child");
    ipx_trace_free(&t);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_full_disk_degrades_once)
{
    if (!ipx_available() || access("/dev/full", W_OK) != 0) return;
    char *argv[] = {(char *)ipx_path("bin/mptrace"), "--sim", "-o", "/dev/full",
                    (char *)ipx_path("tests/programs/ipx_gemms"), "entry", NULL};
    char *out, *err;
    ck_assert_int_eq(ipx_run(argv, NULL, &out, &err), 0);
    ck_assert_str_eq(out, "OK\n"); /* the program went on */
    ck_assert_msg(count_lines(err, "mptrace: trace write failed") == 1, "stderr:\n%s", err);
    ck_assert_msg(strstr(err, "No space left on device") != NULL, "stderr:\n%s", err);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_disabled_is_pass_through)
{
    if (!ipx_available()) return;
    char trace[4200], *out;
    const char *args[] = {"entry", NULL};
    const char *env[] = {"MPTRACE_DISABLE=1", NULL};
    snprintf(trace, sizeof trace, "%s/off.mpt", ipx_tmpdir());
    char *argv[] = {(char *)ipx_path("bin/mptrace"), "--sim", "-q", "-o", trace,
                    (char *)ipx_path("tests/programs/ipx_gemms"), (char *)args[0], NULL};
    ck_assert_int_eq(ipx_run(argv, env, &out, NULL), 0);
    ck_assert_str_eq(out, "OK\n");
    ck_assert_int_ne(access(trace, F_OK), 0);
    free(out);
}
END_TEST

START_TEST(test_steps_without_ranges)
{
    if (!ipx_available()) return;
    char trace[4200];
    const char *automatic[] = {"auto", NULL}, *marks[] = {"marks", NULL};
    ck_assert_int_eq(launch("auto", sim, "tests/programs/ipx_steps", automatic, NULL, NULL, trace,
                            sizeof trace),
                     0);
    ipx_trace t;
    ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
    /* Locked after two repetitions of the 7-GEMM step (not onto the 4 identical GEMMs). */
    int per[8] = {0}, unknown = 0;
    for (size_t i = 0; i < t.ngemms; i++) {
        if (t.gemms[i].g.step < 0)
            unknown++;
        else if (t.gemms[i].g.step < 8)
            per[t.gemms[i].g.step]++;
    }
    ck_assert_int_eq(unknown, 14);
    for (int s = 2; s < 6; s++)
        ck_assert_int_eq(per[s], 7);
    ck_assert_uint_eq(t.nsteps, 8);
    ipx_trace_free(&t);

    ck_assert_int_eq(launch("marks", sim, "tests/programs/ipx_steps", marks, NULL, NULL, trace,
                            sizeof trace),
                     0);
    ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
    memset(per, 0, sizeof per);
    unknown = 0;
    for (size_t i = 0; i < t.ngemms; i++) {
        if (t.gemms[i].g.step < 0)
            unknown++;
        else if (t.gemms[i].g.step < 8)
            per[t.gemms[i].g.step]++;
    }
    ck_assert_int_eq(unknown, 7); /* before the first mark: step unknown */
    for (int s = 1; s < 6; s++)
        ck_assert_int_eq(per[s], 7);
    for (int s = 0; s < 6; s++)
        ck_assert(ipx_trace_scalar(&t, "loss", s, 0) == 3.0 - 0.5 * s);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_launcher_status_and_usage)
{
    if (!ipx_available()) return;
    char *out, *err;
    char *help[] = {(char *)ipx_path("bin/mptrace"), "run", "--help", NULL};
    ck_assert_int_eq(ipx_run(help, NULL, &out, NULL), 0);
    static const char *const documented[] = {"--output", "--sim", "--every", "--full",
                                             "--no-inputs", "--sample", "--layers",
                                             "--step-pattern", "--no-nvtx", "--tui",
                                             "MPTRACE_EVERY", "MPTRACE_SAMPLE", "MPTRACE_LAYERS",
                                             "MPTRACE_DISABLE", "LD_PRELOAD",
                                             "NVTX_INJECTION64_PATH", NULL};
    for (const char *const *d = documented; *d; d++)
        ck_assert_msg(strstr(out, *d) != NULL, "'mptrace run --help' does not mention %s", *d);
    free(out);
    char *bad[] = {(char *)ipx_path("bin/mptrace"), "--every", "x", "/bin/true", NULL};
    ck_assert_int_eq(ipx_run(bad, NULL, NULL, NULL), 2);
    char *none[] = {(char *)ipx_path("bin/mptrace"), "run", NULL};
    ck_assert_int_eq(ipx_run(none, NULL, NULL, NULL), 2);
    char *missing[] = {(char *)ipx_path("bin/mptrace"), "--sim", "/nonexistent/program", NULL};
    ck_assert_int_eq(ipx_run(missing, NULL, NULL, &err), 127);
    ck_assert_msg(strstr(err, "cannot run") != NULL, "%s", err);
    free(err);
    char *seven[] = {(char *)ipx_path("bin/mptrace"), "--sim", "/bin/sh", "-c", "exit 7", NULL};
    ck_assert_int_eq(ipx_run(seven, NULL, NULL, &err), 7);
    ck_assert_msg(strstr(err, "no trace was written") != NULL, "%s", err);
    free(err);
    /* A signal sent to the launcher reaches the program (which then dies of it). */
    char *fwd[] = {(char *)ipx_path("bin/mptrace"), "--sim", "-q", "/bin/sh", "-c",
                   "kill -TERM $PPID; exec sleep 20", NULL};
    ck_assert_int_eq(ipx_run(fwd, NULL, NULL, NULL), 128 + 15);
    /* Without a GPU and without --sim, say so. */
    if (access("/dev/nvidiactl", F_OK) != 0) {
        char *nogpu[] = {(char *)ipx_path("bin/mptrace"), "/bin/true", NULL};
        ck_assert_int_eq(ipx_run(nogpu, NULL, NULL, &err), 0);
        ck_assert_msg(strstr(err, "no CUDA device found") && strstr(err, "--sim"), "%s", err);
        free(err);
    }
}
END_TEST

static int copy_file(const char *from, const char *to, mode_t mode)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod %o '%s'", from, to, (unsigned)mode, to);
    return system(cmd);
}

START_TEST(test_installed_layout_from_elsewhere)
{
    if (!ipx_available()) return;
    /* The layout `make install` creates: bin/mptrace, lib/libmptrace.so, lib/mptrace/sim/. */
    char root[PATH_MAX], p[PATH_MAX + 64], q[PATH_MAX + 64];
    snprintf(root, sizeof root, "%s/prefix", ipx_tmpdir());
    static const char *const dirs[] = {"", "/bin", "/lib", "/lib/mptrace", "/lib/mptrace/sim"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s%s", root, dirs[i]);
        ck_assert_int_eq(mkdir(p, 0755), 0);
    }
    snprintf(p, sizeof p, "%s/bin/mptrace", root);
    ck_assert_int_eq(copy_file(ipx_path("bin/mptrace"), p, 0755), 0);
    snprintf(p, sizeof p, "%s/lib/libmptrace.so", root);
    ck_assert_int_eq(copy_file(ipx_path("lib/libmptrace.so"), p, 0755), 0);
    static const char *const libs[] = {"libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(q, sizeof q, "sim/%s", libs[i]);
        snprintf(p, sizeof p, "%s/lib/mptrace/sim/%s", root, libs[i]);
        ck_assert_int_eq(copy_file(ipx_path(q), p, 0755), 0);
    }
    char trace[PATH_MAX + 32], cmd[4 * PATH_MAX];
    snprintf(trace, sizeof trace, "%s/installed.mpt", ipx_tmpdir());
    /* From another directory, through a relative-free PATH lookup of nothing of ours. */
    snprintf(cmd, sizeof cmd, "cd / && '%s/bin/mptrace' --sim -q -o '%s' '%s' entry", root, trace,
             ipx_path("tests/programs/ipx_gemms"));
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *out;
    ck_assert_int_eq(ipx_run(argv, NULL, &out, NULL), 0);
    ck_assert_str_eq(out, "OK\n");
    free(out);
    ipx_trace t;
    ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
    ck_assert_uint_eq(t.ngemms, 26);
    ipx_trace_free(&t);
}
END_TEST

/* Unchecked fixtures run in the runner itself, before and after the test case: the directory
 * is removed even when a test fails (a failing test's process ends at the failed check). */
static void setup(void)
{
    ipx_tmpdir();
}

static void teardown(void)
{
    ipx_cleanup();
}

Suite *suite_interposer_life(void);
Suite *suite_interposer_life(void)
{
    Suite *s = suite_create("interposer_life");
    TCase *tc = tcase_create("life");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sigkill_leaves_readable_trace);
    tcase_add_test(tc, test_fatal_signals_flush);
    tcase_add_test(tc, test_program_handler_chained);
    tcase_add_test(tc, test_fork_child_own_trace);
    tcase_add_test(tc, test_full_disk_degrades_once);
    tcase_add_test(tc, test_disabled_is_pass_through);
    tcase_add_test(tc, test_steps_without_ranges);
    tcase_add_test(tc, test_launcher_status_and_usage);
    tcase_add_test(tc, test_installed_layout_from_elsewhere);
    suite_add_tcase(s, tc);
    return s;
}

#else

Suite *suite_interposer_life(void);
Suite *suite_interposer_life(void)
{
    printf("SKIP: interposer_life: the interposer is not built (no CUDA headers)\n");
    return suite_create("interposer_life");
}

#endif
