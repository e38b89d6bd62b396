/*
 * The TUI on the reference trainer's own spike scenario, traced by the real launcher and
 * interposer on simcuda (mptrace --sim ... mpt-train --precision 16-mixed --inject spike@S),
 * checked against the trainer's ground-truth log (--log: the "nonfinite" event names the step
 * and the first GEMM whose output held an Inf or NaN):
 *   - post-mortem: open the trace, press f, and the selected step and layer are the injected
 *     ones (Enter opens the detail of the selected layer, which names it);
 *   - live (mptrace --tui): the spike shows while the trainer is still running; a run that ends
 *     leaves the TUI open on the finished run ("exited 0"); quitting while it runs asks first,
 *     then stops it.
 * Each test prints "SKIP: why" when tmux, the trainer, the interposer or simcuda is missing, or
 * when the traced trainer itself fails (the launcher's and interposer's own suites cover that).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/test_tui_tmux.h"

typedef struct truth {
    int step;
    char layer[256]; /* the first GEMM whose output held a NaN/Inf */
} truth;

/* mpt-train and libmptrace.so next to mptrace, or prints SKIP. */
static int have_trainer(const mpt_tmux *t, char *train, size_t n)
{
    char lib[PATH_MAX + 64], sim[PATH_MAX + 64];
    snprintf(train, n, "%s/mpt-train", t->bindir);
    snprintf(lib, sizeof lib, "%s/../lib/libmptrace.so", t->bindir);
    snprintf(sim, sizeof sim, "%s/../sim/libcublas.so.13", t->bindir);
    const char *missing = access(train, X_OK) ? train : access(lib, R_OK) ? lib
                          : access(sim, R_OK) ? sim : NULL;
    if (missing) printf("SKIP: %s is not built: the trainer scenarios need it\n", missing);
    return missing == NULL;
}

/* The "nonfinite" event of a ground-truth log. */
static int read_truth(const char *log, truth *out)
{
    char *s = mpt_tmux_slurp(log);
    if (!s) return -1;
    char *e = strstr(s, "\"event\":\"nonfinite\"");
    char *st = e ? strstr(e, "\"step\":") : NULL;
    char *g = e ? strstr(e, "\"first_gemm\":\"") : NULL;
    int ok = st && g;
    if (ok) {
        out->step = atoi(st + 7);
        g += 14;
        size_t k = strcspn(g, "\"");
        snprintf(out->layer, sizeof out->layer, "%.*s", (int)k, g);
    }
    free(s);
    return ok ? 0 : -1;
}

/* Runs the trainer under mptrace (no TUI) into trace, with its ground-truth log. 0, or -1 after
 * printing SKIP with the trainer's output when the traced run itself fails. */
static int traced_run(mpt_tmux *t, const char *train, int steps, int spike, const char *trace,
                      const char *log, truth *gt)
{
    char out[512], cmd[4 * PATH_MAX];
    mpt_tmux_path(t, out, sizeof out, "train.out");
    snprintf(cmd, sizeof cmd,
             "'%s' --sim -o '%s' '%s' --precision 16-mixed --inject spike@%d --steps %d "
             "--log '%s' > '%s' 2>&1",
             t->mptrace, trace, train, spike, steps, log, out);
    int st = system(cmd);
    if (st == 0 && access(trace, R_OK) == 0 && read_truth(log, gt) == 0) return 0;
    char *o = mpt_tmux_slurp(out);
    printf("SKIP: the traced trainer failed (status %d), so there is no trace to show:\n%s\n", st,
           o ? o : "");
    free(o);
    return -1;
}

START_TEST(test_trainer_spike_first_nonfinite)
{
    mpt_tmux t;
    char train[PATH_MAX + 64];
    if (!mpt_tmux_ready(&t) || !have_trainer(&t, train, sizeof train)) return;
    char trace[512], log[512];
    mpt_tmux_path(&t, trace, sizeof trace, "spike.mpt");
    mpt_tmux_path(&t, log, sizeof log, "truth.jsonl");
    truth gt;
    if (traced_run(&t, train, 10, 6, trace, log, &gt) != 0) {
        mpt_tmux_stop(&t);
        return;
    }
    mpt_tmux_start(&t, 100, 30, "", "tui", trace);
    MPT_TMUX_EXPECT(&t, "first NaN/Inf", 10);
    mpt_tmux_keys(&t, "f");
    char want[512];
    snprintf(want, sizeof want, "first non-finite: step %d, %s ", gt.step, gt.layer);
    MPT_TMUX_EXPECT(&t, want, 3);
    snprintf(want, sizeof want, "step %d  loss", gt.step);
    MPT_TMUX_EXPECT(&t, want, 2); /* the timeline's cursor is on that step */
    mpt_tmux_keys(&t, "Enter");   /* and the selected layer is that layer */
    snprintf(want, sizeof want, " %s  fwd ", gt.layer);
    MPT_TMUX_EXPECT(&t, want, 3);
    mpt_tmux_keys(&t, "q");
    MPT_TMUX_EXPECT(&t, "MPT-DONE", 5);
    ck_assert_int_eq(mpt_tmux_exit_status(&t), 0);
    ck_assert(mpt_tmux_stty_restored(&t));
    mpt_tmux_stop(&t);
}
END_TEST

START_TEST(test_trainer_live)
{
    mpt_tmux t;
    char train[PATH_MAX + 64];
    if (!mpt_tmux_ready(&t) || !have_trainer(&t, train, sizeof train)) return;
    char help[4 * PATH_MAX];
    snprintf(help, sizeof help, "'%s' run --help 2>/dev/null | grep -q -- --tui", t.mptrace);
    if (system(help) != 0) {
        printf("SKIP: mptrace --tui is not available (mptrace run --help does not list it)\n");
        mpt_tmux_stop(&t);
        return;
    }
    char trace[512], log[512], cmd[4 * PATH_MAX];
    mpt_tmux_path(&t, trace, sizeof trace, "live.mpt");
    mpt_tmux_path(&t, log, sizeof log, "truth.jsonl");
    truth gt;
    if (traced_run(&t, train, 2, 1, trace, log, &gt) != 0) { /* can the trainer be traced here? */
        mpt_tmux_stop(&t);
        return;
    }
    /* a short run: the TUI shows it live and stays open on the finished run */
    snprintf(cmd, sizeof cmd,
             "'%s' --tui --sim -o '%s' '%s' --precision 16-mixed --inject spike@3 --steps 8 "
             "--log '%s'",
             t.mptrace, trace, train, log);
    mpt_tmux_start_cmd(&t, 100, 34, cmd);
    MPT_TMUX_EXPECT(&t, "first NaN/Inf: step 3 ", 30);
    MPT_TMUX_EXPECT(&t, "exited 0", 30);
    MPT_TMUX_EXPECT(&t, "program output:", 1); /* its output in the log pane */
    MPT_TMUX_EXPECT(&t, "steps 0-7 (8)", 1);
    ck_assert_int_eq(read_truth(log, &gt), 0);
    char want[512];
    snprintf(want, sizeof want, "first NaN/Inf: step %d %s", gt.step, gt.layer);
    MPT_TMUX_EXPECT(&t, want, 1);
    mpt_tmux_keys(&t, "q");
    MPT_TMUX_EXPECT(&t, "MPT-DONE", 5);
    ck_assert_int_eq(mpt_tmux_exit_status(&t), 0); /* the program's status */
    ck_assert(mpt_tmux_stty_restored(&t));

    /* a long run: the spike is on screen while the trainer still runs; q twice stops it */
    snprintf(cmd, sizeof cmd,
             "'%s' --tui --sim -o '%s' '%s' --precision 16-mixed --inject spike@3 --steps 100000",
             t.mptrace, trace, train);
    mpt_tmux_start_cmd(&t, 100, 34, cmd);
    MPT_TMUX_EXPECT(&t, want, 30);
    ck_assert_msg(mpt_tmux_screen_has(&t, "running"), "the trainer should still be running");
    mpt_tmux_keys(&t, "q");
    MPT_TMUX_EXPECT(&t, "q again stops it", 3);
    ck_assert(mpt_tmux_screen_has(&t, "running"));
    mpt_tmux_keys(&t, "q");
    MPT_TMUX_EXPECT(&t, "MPT-DONE", 15);
    ck_assert_int_eq(mpt_tmux_exit_status(&t), 128 + 15); /* stopped by SIGTERM */
    ck_assert(mpt_tmux_stty_restored(&t));
    mpt_tmux_stop(&t);
}
END_TEST

Suite *suite_tui_trainer(void);
Suite *suite_tui_trainer(void)
{
    Suite *s = suite_create("tui_trainer");
    TCase *tc = tcase_create("trainer");
    tcase_add_unchecked_fixture(tc, mpt_tmux_fixture_setup, mpt_tmux_fixture_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_trainer_spike_first_nonfinite);
    tcase_add_test(tc, test_trainer_live);
    suite_add_tcase(s, tc);
    return s;
}
