/*
 * The TUI's entry points: `mptrace tui TRACE...` (post-mortem), `mptrace tui --follow TRACE`
 * (attach to a trace still being written), `mptrace --tui PROGRAM ...` (run a program and watch
 * it live: mpt_tui_run_live), and `--snapshot` (one screen as plain text, no terminal).
 *
 * The TUI presents the analyzer's model (analyzer/model.h, analysis.h); it never parses a trace
 * itself. docs/tui.md describes the views and keys.
 *
 * Contract: these functions never exit. The interactive ones own the terminal while they run
 * and restore it on every way out (normal return, error, SIGINT/SIGTERM/SIGHUP, and fatal
 * signals such as SIGSEGV, after which the signal is re-raised). Errors come back as -1 with a
 * one-line message in the caller's buffer, printed by the caller after the terminal is restored.
 */
#ifndef MPT_TUI_TUI_H
#define MPT_TUI_TUI_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct mpt_tui_opts {
    char *const *traces; /* trace files (the ranks of one job), ntraces >= 1 */
    int ntraces;
    int follow;          /* the traces may still be growing: follow them */
    /* live mode (mpt_tui_run_live fills these) */
    pid_t child;          /* the program being traced; 0: none */
    const char *log_path; /* where its stdout/stderr go; NULL: none */
    const char *program;  /* its name, for the header until the trace names it */
    /* presentation */
    const char *view; /* initial view (mpt_tui_view_parse); NULL: layers */
    int have_step;    /* select step `step` at start (else the last step) */
    int64_t step;
    const char *layer; /* select this layer (exact name) at start; NULL: the step's first
                        * NaN/Inf layer when a step is given and has one, else the first layer */
    int color; /* -1: auto (off when NO_COLOR is set or the terminal has none); 0 off; 1 on */
    int ascii; /* 1: ASCII drawing only; 0: Unicode when the locale is UTF-8 */
} mpt_tui_opts;

void mpt_tui_opts_init(mpt_tui_opts *o);

/* View names, for --view and docs: "layers", "heatmap", "findings", "detail", "log". */
int mpt_tui_view_parse(const char *name); /* -1: unknown */
const char *mpt_tui_view_name(int view);
#define MPT_TUI_VIEW_LIST "layers, heatmap, findings, detail, log"

/* Interactive session on the controlling terminal (stdin/stdout must be a terminal). Returns 0
 * when the user quits, 128 + the signal when SIGINT, SIGTERM or SIGHUP ended it (the terminal
 * restored first), or -1 with a message (a trace that cannot be opened, no terminal). */
int mpt_tui_run(const mpt_tui_opts *o, char *err, size_t errlen);

/*
 * Loads the traces to their end, selects o->step and o->layer (an error if the trace has no
 * such step or layer) and o->view, renders one cols x rows screen and writes it to `out` as UTF-8 text (ASCII with
 * o->ascii), one line per row, without colours and without touching the terminal.
 * Returns 0, or -1 with a message.
 */
int mpt_tui_snapshot(const mpt_tui_opts *o, int cols, int rows, FILE *out, char *err,
                     size_t errlen);

/*
 * `mptrace --tui [options] PROGRAM ...`: the launcher has started the program as `child`, its
 * stdout and stderr redirected to `log_path`, writing its trace to `trace_path` (which need not
 * exist yet). Shows the run live; when the program exits the TUI stays open on the finished run
 * until the user quits. Quitting while the program still runs asks for a second `q`, then sends
 * it SIGTERM (SIGKILL after 5 s). SIGINT/SIGTERM/SIGHUP sent to mptrace are forwarded to it.
 * The child is reaped here. Returns its exit status as a shell reports it (128 + signal when
 * killed), or -1 with a message when the TUI could not start (the child is then left running,
 * unreaped, for the caller to wait for).
 */
int mpt_tui_run_live(const char *trace_path, pid_t child, const char *log_path,
                     const char *program, char *err, size_t errlen);

#endif
