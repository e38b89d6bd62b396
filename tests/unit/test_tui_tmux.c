/*
 * tmux driver for the TUI's end-to-end suites (test_tui_tmux.h). Commands go through the
 * shell with every path single-quoted; paths come from mkdtemp and /proc/self/exe, never from
 * input, and contain no quote.
 */
#include <check.h>
#include <dirent.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_tui_tmux.h"

static mpt_tmux *live; /* the one whose server the atexit handler kills */
static int atexit_done;
static char fixture_dir[256];  /* the unchecked fixture's directory ("" outside one) */
static char fixture_tag[32];   /* its mkdtemp suffix: names the servers started under it */
static char old_tmpdir[512];
static int had_tmpdir;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[3 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void sock_path(const char *name, char *buf, size_t n)
{
    const char *base = getenv("TMUX_TMPDIR");
    snprintf(buf, n, "%s/tmux-%d/%s", base && *base ? base : "/tmp", (int)getuid(), name);
}

static void kill_server(mpt_tmux *t)
{
    if (t && t->sock[0]) {
        char path[1024];
        sh("tmux -L '%s' kill-server >/dev/null 2>&1", t->sock);
        sock_path(t->sock, path, sizeof path); /* tmux leaves the socket file behind */
        unlink(path);
        t->sock[0] = '\0';
    }
}

static void at_exit(void)
{
    kill_server(live);
}

void mpt_tmux_fixture_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    had_tmpdir = tmp != NULL;
    snprintf(old_tmpdir, sizeof old_tmpdir, "%s", tmp ? tmp : "");
    snprintf(fixture_dir, sizeof fixture_dir, "%s/mpt-tui-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fixture_dir)) {
        fixture_dir[0] = '\0';
        return;
    }
    snprintf(fixture_tag, sizeof fixture_tag, "%s", strrchr(fixture_dir, '-') + 1);
    setenv("TMPDIR", fixture_dir, 1);
}

void mpt_tmux_fixture_teardown(void)
{
    if (!fixture_dir[0]) return;
    char sockdir[512], prefix[64];
    sock_path("", sockdir, sizeof sockdir);
    snprintf(prefix, sizeof prefix, "mpt-test-%s-", fixture_tag);
    DIR *d = opendir(sockdir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            sh("tmux -L '%s' kill-server >/dev/null 2>&1", e->d_name);
            char sock[1024];
            sock_path(e->d_name, sock, sizeof sock);
            unlink(sock);
        }
    if (d) closedir(d);
    sh("rm -rf '%s'", fixture_dir);
    fixture_dir[0] = '\0';
    if (had_tmpdir)
        setenv("TMPDIR", old_tmpdir, 1);
    else
        unsetenv("TMPDIR");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int prepare(mpt_tmux *t, int need_tmux)
{
    memset(t, 0, sizeof *t);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        printf("SKIP: cannot find this test runner's path\n");
        return 0;
    }
    exe[n] = '\0';
    char *tests = dirname(exe); /* .../BUILD/tests */
    snprintf(t->bindir, sizeof t->bindir, "%s/../bin", tests);
    snprintf(t->mptrace, sizeof t->mptrace, "%s/mptrace", t->bindir);
    if (access(t->mptrace, X_OK) != 0) {
        printf("SKIP: %s is not built (make builds it)\n", t->mptrace);
        return 0;
    }
    if (need_tmux && sh("tmux -V >/dev/null 2>&1") != 0) {
        printf("SKIP: tmux is not installed: the TUI's end-to-end tests need it "
               "(apt-get install tmux)\n");
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/mpt-tui-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(t->dir) != NULL, "mkdtemp");
    live = t;
    if (!atexit_done) {
        atexit(at_exit);
        atexit_done = 1;
    }
    return 1;
}

int mpt_tmux_ready(mpt_tmux *t)
{
    return prepare(t, 1);
}

int mpt_tmux_ready_no_tmux(mpt_tmux *t)
{
    return prepare(t, 0);
}

void mpt_tmux_path(const mpt_tmux *t, char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", t->dir, name);
}

void mpt_tmux_start_cmd(mpt_tmux *t, int w, int h, const char *cmdline)
{
    kill_server(t);
    char path[512], conf[512];
    mpt_tmux_path(t, path, sizeof path, "run.sh");
    mpt_tmux_path(t, conf, sizeof conf, "tmux.conf");
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "set -g status off\nset -g default-terminal screen\n");
    fclose(f);
    char supp[512];
    mpt_tmux_path(t, supp, sizeof supp, "lsan.supp");
    f = fopen(supp, "w"); /* curses keeps its screen and terminfo until the process ends */
    ck_assert_ptr_nonnull(f);
    fprintf(f, "leak:libncursesw\nleak:libtinfo\nleak:newterm\nleak:setupterm\n");
    fclose(f);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    static int serial; /* a fresh name per server: a killed one may still be going away */
    snprintf(t->sock, sizeof t->sock, "mpt-test-%s-%d-%d", fixture_tag[0] ? fixture_tag : "x",
             (int)getpid(), ++serial);
    fprintf(f,
            "( sleep 240; tmux -L '%s' kill-server ) >/dev/null 2>&1 &\n" /* the last resort */
            "cd '%s' || exit 1\n"
            "export LANG=C.UTF-8 LC_ALL=C.UTF-8\n"
            "export LSAN_OPTIONS=\"suppressions=%s${LSAN_OPTIONS:+:$LSAN_OPTIONS}\"\n"
            "rm -f rc pid before after\n"
            "stty -g > before\n"
            "%s\n"
            "echo $? > rc\n"
            "stty -g > after\n"
            "echo MPT-DONE\n"
            "exec sleep 120\n",
            t->sock, t->dir, supp, cmdline);
    fclose(f);
    ck_assert_int_eq(sh("tmux -L '%s' -f '%s' new-session -d -x %d -y %d \"sh '%s'\"", t->sock, conf,
                        w, h, path),
                     0);
}

void mpt_tmux_start(mpt_tmux *t, int w, int h, const char *env, const char *args,
                    const char *path)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "env %s sh -c 'echo $$ > pid; exec \"$0\" \"$@\"' '%s' %s '%s'",
             env, t->mptrace, args, path);
    mpt_tmux_start_cmd(t, w, h, cmd);
}

void mpt_tmux_keys(mpt_tmux *t, const char *keys)
{
    sh("tmux -L '%s' send-keys -t 0 %s", t->sock, keys);
}

void mpt_tmux_resize(mpt_tmux *t, int w, int h)
{
    sh("tmux -L '%s' resize-window -t 0 -x %d -y %d", t->sock, w, h);
}

char *mpt_tmux_capture(mpt_tmux *t, int escapes)
{
    char cmd[256];
    if (!t->sock[0]) return NULL;
    snprintf(cmd, sizeof cmd, "tmux -L '%s' capture-pane -p %s -t 0 2>/dev/null", t->sock,
             escapes ? "-e" : "");
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    pclose(p);
    if (buf) buf[n] = '\0';
    return buf;
}

double mpt_tmux_wait(mpt_tmux *t, const char *needle, double timeout_s)
{
    double t0 = now(), limit = timeout_s * MPT_TMUX_SLOWDOWN;
    for (;;) {
        char *s = mpt_tmux_capture(t, 0);
        int hit = s && strstr(s, needle);
        free(s);
        double el = now() - t0;
        if (hit) return el;
        if (el > limit) return -1;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int mpt_tmux_screen_has(mpt_tmux *t, const char *needle)
{
    char *s = mpt_tmux_capture(t, 0);
    int hit = s && strstr(s, needle);
    free(s);
    return hit;
}

int mpt_tmux_last_row_has(mpt_tmux *t, const char *needle)
{
    char *s = mpt_tmux_capture(t, 0);
    if (!s) return 0;
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n') /* capture-pane ends every row with a newline */
        s[--n] = '\0';
    char *last = strrchr(s, '\n');
    int hit = strstr(last ? last + 1 : s, needle) != NULL;
    free(s);
    return hit;
}

char *mpt_tmux_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0, k;
    char *buf = malloc(cap);
    while (buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static char *file_in(const mpt_tmux *t, const char *name)
{
    char p[512];
    mpt_tmux_path(t, p, sizeof p, name);
    return mpt_tmux_slurp(p);
}

int mpt_tmux_exit_status(const mpt_tmux *t)
{
    char *s = file_in(t, "rc");
    int rc = s && *s ? atoi(s) : -1;
    free(s);
    return rc;
}

int mpt_tmux_stty_restored(const mpt_tmux *t)
{
    char *a = file_in(t, "before"), *b = file_in(t, "after");
    int same = a && b && *a && strcmp(a, b) == 0;
    free(a);
    free(b);
    return same;
}

pid_t mpt_tmux_tui_pid(const mpt_tmux *t)
{
    char *s = file_in(t, "pid");
    pid_t p = s && *s ? (pid_t)atoi(s) : -1;
    free(s);
    return p;
}

int mpt_tmux_colour_escapes(mpt_tmux *t)
{
    char *s = mpt_tmux_capture(t, 1);
    int n = 0;
    for (char *p = s; p && (p = strstr(p, "\033[")) != NULL;) {
        p += 2;
        char *end = p + strspn(p, "0123456789;:");
        if (*end != 'm') continue;
        for (char *q = p; q < end;) {
            int v = atoi(q);
            if ((v >= 30 && v <= 38) || (v >= 40 && v <= 48) || (v >= 90 && v <= 97) ||
                (v >= 100 && v <= 107))
                n++;
            if (v == 38 || v == 48) break; /* the rest are the colour's own numbers */
            q += strspn(q, "0123456789");
            q += strspn(q, ";:");
        }
        p = end;
    }
    free(s);
    return n;
}

void mpt_tmux_stop(mpt_tmux *t)
{
    kill_server(t);
    if (t->dir[0]) {
        sh("rm -rf '%s'", t->dir);
        t->dir[0] = '\0';
    }
    if (live == t) live = NULL;
}
