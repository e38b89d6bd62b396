/*
 * The real TUI driven like a person drives it, in tmux (send-keys, capture-pane), on a private
 * server (tmux -L mpt-test-TAG-PID-N) that every test kills on its way out, failures included. Without
 * tmux, or without the built mptrace next to this runner (../bin/mptrace), each test prints
 * "SKIP: why" and passes. The helpers are in test_tui_tmux.c.
 *
 *   - a trace with an injected fp16 overflow: f selects the injected step and layer (the detail
 *     view, opened with Enter, names it), the terminal resizes cleanly, q restores it;
 *   - SIGSEGV while the TUI runs: the terminal is restored and the signal still kills it;
 *   - --follow on a growing trace: a step flushed by the writer shows within a second, a file
 *     that does not exist yet is waited for, the END record shows as "exited";
 *   - NO_COLOR: no colour escape reaches the terminal; without it, colours do;
 *   - stdout not a terminal: says so and suggests report and --snapshot.
 * The reference trainer's own spike scenario, traced by the interposer, is in test_tui_trainer.c.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/test_tui_synth.h"
#include "tests/unit/test_tui_tmux.h"

static mpt_tui_synth cfg;

/* Anything of the TUI's screen still shown (the alternate screen not left, or its content left
 * behind); several markers, since the shell's output may scroll some of them away. */
static int tui_visible(mpt_tmux *t)
{
    return mpt_tmux_screen_has(t, "Heatmap") || mpt_tmux_screen_has(t, "first NaN/Inf") ||
           mpt_tmux_screen_has(t, "q quit") || mpt_tmux_screen_has(t, "marks");
}

static void write_trace(const char *path)
{
    char err[600];
    mpt_tui_synth_defaults(&cfg);
    ck_assert_msg(mpt_tui_synth_write(&cfg, path, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_e2e_first_nonfinite_resize_quit)
{
    mpt_tmux t;
    if (!mpt_tmux_ready(&t)) return;
    char trace[512];
    mpt_tmux_path(&t, trace, sizeof trace, "spike.mpt");
    write_trace(trace);
    mpt_tmux_start(&t, 80, 24, "", "tui", trace);
    MPT_TMUX_EXPECT(&t, "first NaN/Inf: step 23 fwd/blk1/mlp/up", 10);
    MPT_TMUX_EXPECT(&t, "step 39  loss", 2); /* it opens on the last step */
    mpt_tmux_keys(&t, "f");
    MPT_TMUX_EXPECT(&t, "step 23  loss nan", 2);
    mpt_tmux_keys(&t, "Enter"); /* the detail of the selected layer */
    MPT_TMUX_EXPECT(&t, " fwd/blk1/mlp/up  fwd ", 2);
    MPT_TMUX_EXPECT(&t, "NaN/Inf out", 2);
    mpt_tmux_keys(&t, "Escape");
    MPT_TMUX_EXPECT(&t, "Layer  step 23", 2);

    /* resizes: bigger (more columns appear), too small (says so), back */
    mpt_tmux_resize(&t, 150, 45);
    MPT_TMUX_EXPECT(&t, "f16ovf%", 3);
    ck_assert_msg(mpt_tmux_last_row_has(&t, "q quit"), "status line not at the bottom after resize");
    mpt_tmux_resize(&t, 50, 12);
    MPT_TMUX_EXPECT(&t, "too small", 3);
    mpt_tmux_resize(&t, 80, 24);
    MPT_TMUX_EXPECT(&t, "first NaN/Inf: step 23", 3);
    ck_assert(mpt_tmux_last_row_has(&t, "q quit"));

    mpt_tmux_keys(&t, "q");
    MPT_TMUX_EXPECT(&t, "MPT-DONE", 5);
    ck_assert_int_eq(mpt_tmux_exit_status(&t), 0);
    ck_assert_msg(mpt_tmux_stty_restored(&t), "terminal modes differ after q");
    ck_assert_msg(!tui_visible(&t), "the TUI's screen is still shown");
    mpt_tmux_stop(&t);
}
END_TEST

START_TEST(test_e2e_fatal_signal_restores)
{
    mpt_tmux t;
    if (!mpt_tmux_ready(&t)) return;
    char trace[512];
    mpt_tmux_path(&t, trace, sizeof trace, "sig.mpt");
    write_trace(trace);
    static const int sigs[] = {SIGSEGV, SIGTERM};
    for (size_t i = 0; i < 2; i++) {
        mpt_tmux_start(&t, 80, 24, "", "tui", trace);
        MPT_TMUX_EXPECT(&t, "first NaN/Inf", 10);
        pid_t pid = mpt_tmux_tui_pid(&t);
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(kill(pid, sigs[i]), 0);
        MPT_TMUX_EXPECT(&t, "MPT-DONE", 5);
        ck_assert_int_eq(mpt_tmux_exit_status(&t), 128 + sigs[i]);
        ck_assert_msg(mpt_tmux_stty_restored(&t), "terminal modes not restored after signal %d",
                      sigs[i]);
        ck_assert_msg(!tui_visible(&t), "still on the TUI's screen after signal %d", sigs[i]);
    }
    mpt_tmux_stop(&t);
}
END_TEST

START_TEST(test_e2e_follow_growing_trace)
{
    mpt_tmux t;
    if (!mpt_tmux_ready(&t)) return;
    char trace[512], err[600];
    mpt_tmux_path(&t, trace, sizeof trace, "grow.mpt");
    mpt_tui_synth_defaults(&cfg);
    cfg.spike_step = 7;
    /* attach before the program has created its trace: the TUI waits for it */
    mpt_tmux_start(&t, 100, 30, "", "tui --follow", trace);
    MPT_TMUX_EXPECT(&t, "waiting for the trace", 10);
    mpt_tui_synth_run *r = mpt_tui_synth_open(&cfg, trace, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(mpt_tui_synth_steps(r, 5), 0);
    MPT_TMUX_EXPECT(&t, "steps 0-4 (5)", 5);
    MPT_TMUX_EXPECT(&t, "following", 1);
    /* each new step is on screen within a second of its flush */
    double worst = 0;
    for (int s = 5; s < 9; s++) {
        char want[64];
        snprintf(want, sizeof want, "steps 0-%d (%d)", s, s + 1);
        ck_assert_int_eq(mpt_tui_synth_steps(r, 1), 0);
        double took = mpt_tmux_wait(&t, want, 10);
        ck_assert_msg(took >= 0, "step %d never appeared", s);
        if (took > worst) worst = took;
    }
    printf("tui follow: a flushed step appeared on screen within %.0f ms (worst of 4)\n", worst * 1e3);
    ck_assert_msg(worst <= 1.0 * MPT_TMUX_SLOWDOWN, "a new step took %.2f s to appear", worst);
    MPT_TMUX_EXPECT(&t, "first NaN/Inf: step 7 fwd/blk1/mlp/up", 2); /* seen while running */
    ck_assert_int_eq(mpt_tui_synth_close(r, 3, err, sizeof err), 0);
    MPT_TMUX_EXPECT(&t, "exited 3", 5);
    mpt_tmux_keys(&t, "q");
    MPT_TMUX_EXPECT(&t, "MPT-DONE", 5);
    ck_assert_int_eq(mpt_tmux_exit_status(&t), 0);
    mpt_tmux_stop(&t);
}
END_TEST

START_TEST(test_e2e_no_color)
{
    mpt_tmux t;
    if (!mpt_tmux_ready(&t)) return;
    char trace[512];
    mpt_tmux_path(&t, trace, sizeof trace, "color.mpt");
    write_trace(trace);
    for (int nc = 0; nc < 2; nc++) {
        mpt_tmux_start(&t, 80, 24, nc ? "NO_COLOR=1" : "NO_COLOR=", "tui", trace);
        MPT_TMUX_EXPECT(&t, "first NaN/Inf", 10);
        int colours = mpt_tmux_colour_escapes(&t);
        if (nc)
            ck_assert_msg(colours == 0, "NO_COLOR set, yet %d colour escapes", colours);
        else
            ck_assert_msg(colours > 0, "no colour at all on a colour terminal");
        mpt_tmux_keys(&t, "q");
        MPT_TMUX_EXPECT(&t, "MPT-DONE", 5);
    }
    mpt_tmux_stop(&t);
}
END_TEST

START_TEST(test_e2e_not_a_terminal)
{
    mpt_tmux t;
    if (!mpt_tmux_ready_no_tmux(&t)) return;
    char trace[512], cmd[3 * PATH_MAX], out[512];
    mpt_tmux_path(&t, trace, sizeof trace, "pipe.mpt");
    mpt_tmux_path(&t, out, sizeof out, "pipe.txt");
    write_trace(trace);
    snprintf(cmd, sizeof cmd, "'%s' tui '%s' > '%s' 2>&1 < /dev/null", t.mptrace, trace, out);
    int st = system(cmd);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
    char *text = mpt_tmux_slurp(out);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strstr(text, "not a terminal") && strstr(text, "mptrace report") &&
                      strstr(text, "--snapshot"),
                  "%s", text);
    free(text);
    /* the suggestion works: one screen as text, 24 lines */
    snprintf(cmd, sizeof cmd, "'%s' tui --snapshot --size 80x24 --step 23 --view detail '%s' > '%s'",
             t.mptrace, trace, out);
    ck_assert_int_eq(system(cmd), 0);
    text = mpt_tmux_slurp(out);
    ck_assert_ptr_nonnull(text);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 24);
    ck_assert_msg(strstr(text, "step 23  loss nan") != NULL, "%s", text);
    free(text);
    mpt_tmux_stop(&t);
}
END_TEST

Suite *suite_tui_e2e(void);
Suite *suite_tui_e2e(void)
{
    Suite *s = suite_create("tui_e2e");
    TCase *tc = tcase_create("tmux");
    tcase_add_unchecked_fixture(tc, mpt_tmux_fixture_setup, mpt_tmux_fixture_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_e2e_first_nonfinite_resize_quit);
    tcase_add_test(tc, test_e2e_fatal_signal_restores);
    tcase_add_test(tc, test_e2e_follow_growing_trace);
    tcase_add_test(tc, test_e2e_no_color);
    tcase_add_test(tc, test_e2e_not_a_terminal);
    suite_add_tcase(s, tc);
    return s;
}
