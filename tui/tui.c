/*
 * The TUI's entry points (tui.h): post-mortem and follow sessions, the live session of
 * `mptrace --tui`, and --snapshot. Each builds an app (app.h) from the options; the sessions
 * hand it to the terminal backend (term.c), the snapshot renders it once into a canvas and
 * prints that as text.
 *
 * And the live program beside the trace (`mptrace --tui PROGRAM`): its output, read from the log
 * file it writes into, and its exit, reaped without blocking. The log is read incrementally from
 * where the last read stopped, at most 256 KiB per tick; a program that writes faster than that
 * is skipped ahead to its last 64 KiB (only the newest lines are shown anyway). Lines keep the
 * last MPT_TUI_LOG_LINES in a ring. Terminal escape sequences (colours, cursor moves) are removed
 * so that they cannot reach our terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tui/app.h"
#include "tui/term.h"

/* ---- the live program: its log and its exit ------------------------------------------------ */

#define LOG_CHUNK (256 << 10)
#define LOG_SKIP_KEEP (64 << 10)

/* Removes ESC sequences (CSI "ESC [ ... final", and two-byte ones) and CRs, in place. */
static void strip_escapes(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '\033') {
            if (p[1] == '[') {
                p += 2;
                while (*p && !(*p >= 0x40 && *p <= 0x7e))
                    p++;
                if (!*p) break;
            } else if (p[1]) {
                p++;
            }
            continue;
        }
        if (*p == '\r') continue;
        *o++ = *p;
    }
    *o = '\0';
}

static void push_line(mpt_tui_log *l, const char *s, size_t n)
{
    char *line = malloc(n + 1);
    if (!line) return;
    memcpy(line, s, n);
    line[n] = '\0';
    strip_escapes(line);
    int at = (l->head + l->n) % MPT_TUI_LOG_LINES;
    if (l->n == MPT_TUI_LOG_LINES) {
        at = l->head;
        free(l->lines[at]);
        l->head = (l->head + 1) % MPT_TUI_LOG_LINES;
    } else {
        l->n++;
    }
    l->lines[at] = line;
}

void mpt_tui_log_poll(mpt_tui_app *a)
{
    mpt_tui_log *l = &a->log;
    int fd = open(a->log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return; /* not created yet */
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return;
    }
    if (st.st_size < l->offset) { /* truncated or replaced: start over */
        l->offset = 0;
        l->partial[0] = '\0';
    }
    if (st.st_size - l->offset > LOG_CHUNK) {
        l->offset = st.st_size - LOG_SKIP_KEEP;
        l->partial[0] = '\0';
        push_line(l, "[... output skipped ...]", 24);
    }
    static char buf[LOG_CHUNK];
    ssize_t got = pread(fd, buf, sizeof buf, (off_t)l->offset);
    close(fd);
    if (got <= 0) return;
    l->offset += got;
    size_t start = 0;
    for (size_t i = 0; i < (size_t)got; i++) {
        if (buf[i] != '\n') continue;
        size_t plen = strlen(l->partial), n = i - start;
        if (plen) { /* the end of a line begun in an earlier read */
            char line[sizeof l->partial + 512];
            size_t k = n < 512 ? n : 512;
            memcpy(line, l->partial, plen);
            memcpy(line + plen, buf + start, k);
            push_line(l, line, plen + k);
            l->partial[0] = '\0';
        } else {
            push_line(l, buf + start, n);
        }
        start = i + 1;
    }
    size_t rest = (size_t)got - start, plen = strlen(l->partial);
    if (rest && plen + 1 < sizeof l->partial) {
        size_t k = rest < sizeof l->partial - 1 - plen ? rest : sizeof l->partial - 1 - plen;
        memcpy(l->partial + plen, buf + start, k);
        l->partial[plen + k] = '\0';
        strip_escapes(l->partial);
    }
}

void mpt_tui_log_free(mpt_tui_log *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->lines[(l->head + i) % MPT_TUI_LOG_LINES]);
    memset(l, 0, sizeof *l);
}

const char *mpt_tui_log_line(const mpt_tui_app *a, int i)
{
    const mpt_tui_log *l = &a->log;
    if (i < 0 || i >= l->n) return NULL;
    return l->lines[(l->head + i) % MPT_TUI_LOG_LINES];
}

int mpt_tui_child_poll(mpt_tui_app *a)
{
    if (!a->child || a->child_done) return 0;
    int st;
    pid_t r = waitpid(a->child, &st, WNOHANG);
    if (r == a->child) {
        a->child_done = 1;
        a->child_status = st;
        return 1;
    }
    if (r < 0 && errno == ECHILD) { /* reaped elsewhere, or not our child: unknown status */
        a->child_done = 1;
        a->child_status = -1;
        return 1;
    }
    return 0;
}

const char *mpt_tui_child_state(const mpt_tui_app *a, char *buf, size_t n)
{
    if (!a->child_done)
        snprintf(buf, n, "running");
    else if (a->child_status == -1)
        snprintf(buf, n, "ended (status unknown)");
    else if (WIFEXITED(a->child_status))
        snprintf(buf, n, "exited %d", WEXITSTATUS(a->child_status));
    else if (WIFSIGNALED(a->child_status))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(a->child_status),
                 strsignal(WTERMSIG(a->child_status)));
    else
        snprintf(buf, n, "ended");
    return buf;
}

/* ---- entry points ---------------------------------------------------------------------------- */

int mpt_tui_run(const mpt_tui_opts *o, char *err, size_t errlen)
{
    mpt_tui_app a;
    if (mpt_tui_app_init(&a, o, err, errlen) != 0) return -1;
    int rc = mpt_tui_term_session(&a, o->color, err, errlen);
    mpt_tui_app_free(&a);
    if (rc == 0 && mpt_tui_term_quit_signal()) rc = 128 + mpt_tui_term_quit_signal();
    return rc;
}

int mpt_tui_snapshot(const mpt_tui_opts *o, int cols, int rows, FILE *out, char *err,
                     size_t errlen)
{
    if (cols < 1 || rows < 1 || cols > 1000 || rows > 1000) {
        snprintf(err, errlen, "snapshot size %dx%d out of range (1x1 to 1000x1000)", cols, rows);
        return -1;
    }
    mpt_tui_app a;
    if (mpt_tui_app_init(&a, o, err, errlen) != 0) return -1;
    mpt_tui_app_load_all(&a);
    int rc = -1;
    if (a.want_step) {
        size_t n = mpt_model_nsteps(a.model);
        if (n)
            snprintf(err, errlen, "no step %lld in the trace (steps %lld-%lld)", (long long)o->step,
                     (long long)mpt_model_step(a.model, 0)->step,
                     (long long)mpt_model_step(a.model, n - 1)->step);
        else
            snprintf(err, errlen, "no step %lld: the trace has no steps", (long long)o->step);
        goto out;
    }
    if (a.want_layer) {
        snprintf(err, errlen, "no layer named '%s' in the trace (%u layers; `mptrace report` "
                 "lists them)", a.want_layer, mpt_model_nlayers(a.model));
        goto out;
    }
    mpt_canvas c;
    if (mpt_canvas_init(&c, cols, rows, a.unicode) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    mpt_tui_render(&a, &c);
    rc = mpt_canvas_print(&c, out);
    if (rc != 0) snprintf(err, errlen, "writing the snapshot: %s", strerror(errno));
    mpt_canvas_free(&c);
out:
    mpt_tui_app_free(&a);
    return rc;
}

static int shell_status(int st)
{
    if (st == -1) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return 1;
}

/* Stops the program: `sig`, then SIGKILL if it is still there after 5 s. Returns its status. */
static int stop_child(pid_t pid, int sig)
{
    int st;
    kill(pid, sig);
    for (int i = 0; i < 100; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (r < 0 && errno != EINTR) return -1;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return st;
}

int mpt_tui_run_live(const char *trace_path, pid_t child, const char *log_path,
                     const char *program, char *err, size_t errlen)
{
    mpt_tui_opts o;
    mpt_tui_opts_init(&o);
    char *traces[1] = {(char *)trace_path};
    o.traces = traces;
    o.ntraces = 1;
    o.follow = 1;
    o.child = child;
    o.log_path = log_path;
    o.program = program;
    mpt_tui_app a;
    if (mpt_tui_app_init(&a, &o, err, errlen) != 0) return -1;
    if (mpt_tui_term_session(&a, o.color, err, errlen) != 0) {
        mpt_tui_app_free(&a);
        return -1;
    }
    int st;
    if (a.child_done) {
        st = a.child_status;
    } else {
        int sig = mpt_tui_term_quit_signal(); /* forwarded; the user's q means SIGTERM */
        st = stop_child(child, sig ? sig : SIGTERM);
    }
    mpt_tui_app_free(&a);
    return shell_status(st);
}
