/*
 * Live mode's moving parts without a terminal: a real child process writing a log (colour
 * escapes, carriage returns, a line in two pieces, an unterminated last line) and exiting or
 * being killed; the app reaps it without blocking, says how it ended, keeps the log's last
 * lines, draws the log pane when there is room, asks before quitting while the program runs,
 * and waits for the program's trace (not a previous run's left at the same path).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_tui_synth.h"
#include "tests/unit/test_tui_tmux.h"
#include "tests/unit/trace_samples.h"
#include "tui/app.h"

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Ticks until cond or ~10 s. */
#define TICK_UNTIL(a, cond)                                                                        \
    do {                                                                                           \
        for (int i_ = 0; i_ < 1000 && !(cond); i_++) {                                             \
            mpt_tui_app_tick((a), 0.01, 0.0);                                                      \
            nap(10);                                                                               \
        }                                                                                          \
    } while (0)

static pid_t spawn_writer(const char *log, int exit_code, int hang)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *f = fopen(log, "w");
        if (!f) _exit(99);
        fprintf(f, "\033[1;32mstep 0\033[0m loss 3.2\r\nstep 1 lo");
        fflush(f);
        nap(50);
        fprintf(f, "ss 3.1\nlast line, no newline");
        fflush(f);
        fclose(f);
        if (hang) pause();
        _exit(exit_code);
    }
    return pid;
}

static void open_live(mpt_tui_app *a, char *trace, const char *log, pid_t pid)
{
    mpt_tui_opts o;
    char err[600], *paths[1] = {trace};
    mpt_tui_opts_init(&o);
    o.traces = paths;
    o.ntraces = 1;
    o.follow = 1;
    o.child = pid;
    o.log_path = log;
    o.program = "writer";
    o.ascii = 1;
    ck_assert_msg(mpt_tui_app_init(a, &o, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_live_child_and_log)
{
    char trace[256], log[256], state[128];
    mpt_test_tmpfile(trace, sizeof trace, "tuilive");
    mpt_test_tmpfile(log, sizeof log, "tuilog");
    unlink(trace); /* the program has not created its trace yet */
    pid_t pid = spawn_writer(log, 3, 0);
    mpt_tui_app a;
    open_live(&a, trace, log, pid);
    ck_assert_int_eq(a.npending, 1);
    TICK_UNTIL(&a, a.child_done);
    ck_assert(a.child_done);
    ck_assert_str_eq(mpt_tui_child_state(&a, state, sizeof state), "exited 3");
    TICK_UNTIL(&a, a.log.n == 2 && strstr(a.log.partial, "no newline"));
    ck_assert_int_eq(a.log.n, 2);
    ck_assert_str_eq(mpt_tui_log_line(&a, 0), "step 0 loss 3.2"); /* escapes and CR gone */
    ck_assert_str_eq(mpt_tui_log_line(&a, 1), "step 1 loss 3.1"); /* joined across reads */
    ck_assert_str_eq(a.log.partial, "last line, no newline");
    ck_assert_ptr_null(mpt_tui_log_line(&a, 2));

    /* the screen: header names the program and its end, the pane shows its output */
    mpt_canvas c;
    ck_assert_int_eq(mpt_canvas_init(&c, 100, 40, 0), 0);
    mpt_tui_render(&a, &c);
    char row[512];
    ck_assert_ptr_nonnull(strstr(mpt_canvas_row(&c, 0, row, sizeof row), "exited 3"));
    ck_assert_ptr_nonnull(strstr(mpt_canvas_row(&c, 0, row, sizeof row), "writer"));
    int seen = 0;
    for (int y = 0; y < c.h; y++) {
        mpt_canvas_row(&c, y, row, sizeof row);
        seen |= (strstr(row, "program output:") != NULL) | (strstr(row, "step 1 loss 3.1") ? 2 : 0) |
                (strstr(row, "last line, no newline") ? 4 : 0);
    }
    ck_assert_int_eq(seen, 7);

    /* a previous run's trace at the path is not the program's: it is not shown */
    mpt_tui_synth cfg;
    char err[600];
    mpt_tui_synth_defaults(&cfg);
    cfg.steps = 3;
    cfg.pid = 1;
    ck_assert_int_eq(mpt_tui_synth_write(&cfg, trace, err, sizeof err), 0);
    for (int i = 0; i < 5; i++)
        mpt_tui_app_tick(&a, 0.01, 0.0);
    ck_assert_int_eq(a.npending, 1);
    ck_assert_uint_eq(mpt_model_nsteps(a.model), 0);
    /* the program's own trace appears late: it is opened then */
    cfg.steps = 6;
    cfg.pid = (int)pid;
    ck_assert_int_eq(mpt_tui_synth_write(&cfg, trace, err, sizeof err), 0);
    TICK_UNTIL(&a, mpt_model_nsteps(a.model) == 6);
    ck_assert_int_eq(a.npending, 0);
    ck_assert_uint_eq(mpt_model_nsteps(a.model), 6);
    /* the program is gone: q quits at once */
    mpt_tui_app_key(&a, 'q');
    ck_assert(a.quit);
    mpt_canvas_free(&c);
    mpt_tui_app_free(&a);
    unlink(trace);
    unlink(log);
}
END_TEST

START_TEST(test_live_quit_asks_and_kill_state)
{
    char trace[256], log[256], state[128];
    mpt_test_tmpfile(trace, sizeof trace, "tuilive");
    mpt_test_tmpfile(log, sizeof log, "tuilog");
    pid_t pid = spawn_writer(log, 0, 1);
    mpt_tui_app a;
    open_live(&a, trace, log, pid);
    mpt_tui_app_tick(&a, 0.01, 0);
    ck_assert_str_eq(mpt_tui_child_state(&a, state, sizeof state), "running");
    mpt_tui_app_key(&a, 'q');
    ck_assert(!a.quit);
    ck_assert_ptr_nonnull(strstr(a.msg, "q again"));
    mpt_tui_app_key(&a, MPT_KEY_RIGHT); /* anything else disarms */
    mpt_tui_app_key(&a, 'q');
    ck_assert(!a.quit);
    mpt_tui_app_key(&a, 'q');
    ck_assert(a.quit);
    kill(pid, SIGKILL);
    TICK_UNTIL(&a, a.child_done);
    mpt_tui_child_state(&a, state, sizeof state);
    ck_assert_msg(strncmp(state, "killed by signal 9", 18) == 0, "%s", state);
    mpt_tui_app_free(&a);
    unlink(trace);
    unlink(log);
}
END_TEST

Suite *suite_tui_live(void);
Suite *suite_tui_live(void)
{
    Suite *s = suite_create("tui_live");
    TCase *tc = tcase_create("live");
    tcase_add_unchecked_fixture(tc, mpt_tmux_fixture_setup, mpt_tmux_fixture_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_live_child_and_log);
    tcase_add_test(tc, test_live_quit_asks_and_kill_state);
    suite_add_tcase(s, tc);
    return s;
}
