/*
 * Driving the real `mptrace tui` in tmux for the end-to-end suites (test_tui_e2e.c,
 * test_tui_trainer.c): a private tmux server per test (tmux -L mpt-test-TAG-PID-N, our own config file),
 * a pane that runs a small shell script around mptrace (terminal modes saved before and after,
 * the exit status and the TUI's pid written to files), keys in, screen text out.
 *
 * Every server is killed by mpt_tmux_stop and by MPT_TMUX_EXPECT before it fails a test. A test
 * that dies another way (a failed ck_assert ends the forked test with _exit, a timeout with
 * SIGKILL) is covered twice: the unchecked fixture below, which runs in the runner process,
 * kills the servers its tests started and removes their files, and each pane's script kills its
 * own server after 4 minutes whatever happens. mpt_tmux_ready prints "SKIP: why" (and the test
 * should return) when tmux or the built mptrace is missing.
 */
#ifndef MPT_TESTS_TUI_TMUX_H
#define MPT_TESTS_TUI_TMUX_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct mpt_tmux {
    char sock[64];            /* tmux -L name; "" when no server is running */
    char dir[256];            /* private temporary directory (script, files, traces) */
    char mptrace[PATH_MAX + 16]; /* the built command: ../bin/mptrace from this runner */
    char bindir[PATH_MAX];    /* its directory */
} mpt_tmux;

/* Timeouts and the latency bound stretch by this under sanitizers (a slower build). */
#if defined(__SANITIZE_ADDRESS__)
#define MPT_TMUX_SLOWDOWN 3.0
#else
#define MPT_TMUX_SLOWDOWN 1.0
#endif

/* Unchecked fixture for every TUI test case (tcase_add_unchecked_fixture): setup makes a private
 * directory and points TMPDIR at it (temporary traces and tmux directories go there); teardown
 * kills the tmux servers started meanwhile, removes the directory and restores TMPDIR. */
void mpt_tmux_fixture_setup(void);
void mpt_tmux_fixture_teardown(void);

/* 1 when tmux and mptrace are there (dir created); else prints "SKIP: ..." and returns 0. */
int mpt_tmux_ready(mpt_tmux *t);
/* The same without needing tmux (tests of non-terminal behaviour). */
int mpt_tmux_ready_no_tmux(mpt_tmux *t);
/* dir/name into buf. */
void mpt_tmux_path(const mpt_tmux *t, char *buf, size_t n, const char *name);

/*
 * Starts a w x h session running, in the test directory:
 *   stty -g > before; [ENV] mptrace ARGS PATH (its pid in ./pid); echo $? > rc;
 *   stty -g > after; echo MPT-DONE
 * ENV is "NAME=value ..." or ""; ARGS the mptrace words before PATH ("tui --follow").
 * LANG=C.UTF-8; LeakSanitizer is told about curses' deliberate exit-time allocations.
 * A server still running from an earlier start is killed first.
 */
void mpt_tmux_start(mpt_tmux *t, int w, int h, const char *env, const char *args,
                    const char *path);
/* The same with a whole command line of the pane instead of mptrace ARGS PATH. */
void mpt_tmux_start_cmd(mpt_tmux *t, int w, int h, const char *cmdline);
void mpt_tmux_keys(mpt_tmux *t, const char *keys); /* tmux key names: "f", "Enter", "Escape" */
void mpt_tmux_resize(mpt_tmux *t, int w, int h);
char *mpt_tmux_capture(mpt_tmux *t, int escapes); /* the screen as text (malloc'ed), or NULL */

/* Seconds until `needle` is on screen (polling every 20 ms), or -1 after timeout_s seconds
 * (times MPT_TMUX_SLOWDOWN). */
double mpt_tmux_wait(mpt_tmux *t, const char *needle, double timeout_s);
/* On failure: the screen goes to stdout (Check's message has a size limit), the server is killed
 * and the test fails. */
#define MPT_TMUX_EXPECT(t, needle, timeout_s)                                                      \
    do {                                                                                           \
        if (mpt_tmux_wait((t), (needle), (timeout_s)) < 0) {                                       \
            char *screen_ = mpt_tmux_capture((t), 0);                                              \
            printf("---- the screen when '%s' was expected:\n%s----\n", (needle),                 \
                   screen_ ? screen_ : "(none)\n");                                                \
            fflush(stdout);                                                                        \
            free(screen_);                                                                         \
            mpt_tmux_stop(t);                                                                      \
            ck_abort_msg("'%s' not on screen within %g s (the screen is printed above)", (needle), \
                         (double)(timeout_s));                                                     \
        }                                                                                          \
    } while (0)

int mpt_tmux_screen_has(mpt_tmux *t, const char *needle);
int mpt_tmux_last_row_has(mpt_tmux *t, const char *needle);
int mpt_tmux_exit_status(const mpt_tmux *t); /* mptrace's, from ./rc; -1 unknown */
int mpt_tmux_stty_restored(const mpt_tmux *t); /* ./before equals ./after */
pid_t mpt_tmux_tui_pid(const mpt_tmux *t);    /* from ./pid; -1 unknown */
/* SGR parameters on screen that set a colour (30-37, 38, 40-47, 48, 90-97, 100-107). */
int mpt_tmux_colour_escapes(mpt_tmux *t);
char *mpt_tmux_slurp(const char *path); /* a whole file, NUL-terminated, or NULL */
/* Kills the server and removes the directory. Safe to call twice. */
void mpt_tmux_stop(mpt_tmux *t);

#endif
