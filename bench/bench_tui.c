/*
 * The TUI's speed on a big trace: first paint and key latency, the two figures issue 7 sets
 * targets for (first paint of a trace with 1 M tensor records within 1 s; keys answer within
 * 50 ms), each printed in ms beside baselines measured in the same run on the same file: a plain
 * sequential read(2) of the file, and the analyzer loading the whole model (what `mptrace report`
 * does before it prints anything).
 *
 * The trace is a synthetic run shaped like an interposer's (tests/unit/test_tui_synth.h): 98
 * GEMM layers per step, every GEMM with its NVTX push/pop and a kernel launch, a cheap TENSOR
 * record for every output, full statistics (inputs A and B too, histograms, a precision sample)
 * every 16th step, and an injected fp16 overflow halfway.
 *
 * What is timed is the TUI's own loop (term.c) without a terminal: read a time-bounded slice of
 * the trace, re-analyse when due, render the whole screen into the canvas and write it out as
 * text (to /dev/null) — curses would then send only the cells that changed.
 *   first paint      from opening the trace to the first screen written (progressive loading)
 *   complete paint   until the screen shows the whole trace, analysed
 *   key latency      per key on the complete model: handling + render + output
 *
 * usage: bench_tui [TENSOR_RECORDS]   (default 1000000); TMPDIR chooses where the trace goes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_tui_synth.h"
#include "tui/app.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double plain_read(const char *path, unsigned long long *bytes)
{
    static char buf[1 << 20];
    double t0 = now();
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n;
    *bytes = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        *bytes += (unsigned long long)n;
    close(fd);
    return now() - t0;
}

static void paint(mpt_tui_app *a, mpt_canvas *c, FILE *devnull)
{
    mpt_tui_render(a, c);
    mpt_canvas_print(c, devnull);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    unsigned long long want = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000ull;
    mpt_tui_synth s;
    mpt_tui_synth_defaults(&s);
    s.blocks = 12;
    s.full_every = 16;
    s.kernels = 1;
    s.steps = 0;
    unsigned long long tensors = 0;
    while (tensors < want)
        tensors += mpt_tui_synth_step_tensors(&s, s.steps++);
    s.spike_step = s.steps / 2;
    s.spike_block = 5;
    tensors = 0;
    for (int i = 0; i < s.steps; i++)
        tensors += mpt_tui_synth_step_tensors(&s, i);

    char path[512], err[600];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/mpt-bench-tui-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fd);
    double t0 = now();
    if (mpt_tui_synth_write(&s, path, err, sizeof err) != 0) {
        fprintf(stderr, "bench_tui: %s\n", err);
        unlink(path);
        return 1;
    }
    unsigned long long bytes;
    plain_read(path, &bytes); /* the page cache holds it now: every figure below reads from it */
    printf("bench_tui: synthetic trace of %llu tensor records, %d steps x %d layers, %.1f MB "
           "(written in %.1f s)\n",
           tensors, s.steps, mpt_tui_synth_nlayers(&s), (double)bytes / 1e6, now() - t0);

    double t_read = plain_read(path, &bytes);
    /* baseline 2: the whole model, as report/export build it */
    t0 = now();
    mpt_model *m = mpt_model_new(NULL);
    char *paths[1] = {path};
    mpt_model_load(m, paths, 1, err, sizeof err);
    mpt_analysis *an = mpt_analyze(m, NULL);
    double t_model = now() - t0;
    mpt_analysis_free(an);
    mpt_model_free(m);

    /* the TUI's loop, as term.c runs it while a trace loads */
    FILE *devnull = fopen("/dev/null", "w");
    mpt_tui_opts o;
    mpt_tui_opts_init(&o);
    o.traces = paths;
    o.ntraces = 1;
    mpt_tui_app a;
    mpt_canvas c;
    t0 = now();
    if (!devnull || mpt_tui_app_init(&a, &o, err, sizeof err) != 0 ||
        mpt_canvas_init(&c, 160, 48, 1) != 0) {
        fprintf(stderr, "bench_tui: %s\n", devnull ? err : "no /dev/null");
        unlink(path);
        return 1;
    }
    mpt_tui_app_tick(&a, 0.05, 0.3);
    paint(&a, &c, devnull);
    double t_first = now() - t0;
    size_t first_steps = mpt_model_nsteps(a.model);
    int paints = 1;
    double slice_max = 0; /* a key typed while loading waits for the slice under way */
    while (a.loading) {
        double s0 = now();
        if (mpt_tui_app_tick(&a, 0.03, 0.3)) {
            paint(&a, &c, devnull);
            paints++;
        }
        if (now() - s0 > slice_max) slice_max = now() - s0;
    }
    mpt_tui_app_tick(&a, 0.03, 0.3); /* the exact analysis once reading stopped */
    paint(&a, &c, devnull);
    double t_full = now() - t0;

    /* keys on the whole model: a person's session */
    static const int keys[] = {'f', MPT_KEY_ENTER, MPT_KEY_DOWN, MPT_KEY_DOWN, MPT_KEY_ESC, 'n',
                               'N', MPT_KEY_RIGHT, MPT_KEY_LEFT, ']', '[', '}', '{', 'v', ']',
                               ']', ']', MPT_KEY_ESC, MPT_KEY_TAB, MPT_KEY_DOWN, MPT_KEY_PGDN,
                               MPT_KEY_TAB, MPT_KEY_DOWN, MPT_KEY_TAB, MPT_KEY_TAB, 's', 's',
                               's', 's', 's', 's', 's', 's', '/', 'm', 'l', 'p', MPT_KEY_ENTER,
                               MPT_KEY_ESC, '+', '+', '+', '-', '-', '-', MPT_KEY_END,
                               MPT_KEY_HOME, MPT_KEY_PGDN, MPT_KEY_PGUP, 'f', '?', 'x'};
    enum { NK = sizeof keys / sizeof *keys };
    double lat[NK];
    for (int i = 0; i < NK; i++) {
        double k0 = now();
        mpt_tui_app_key(&a, keys[i]);
        paint(&a, &c, devnull);
        lat[i] = now() - k0;
    }
    qsort(lat, NK, sizeof *lat, cmp_double);
    double med = lat[NK / 2], p95 = lat[(NK * 95) / 100], worst = lat[NK - 1];

    printf("  plain read(2) of the file     %8.1f ms  (%.0f MB/s)   baseline\n", t_read * 1e3,
           (double)bytes / 1e6 / t_read);
    printf("  model load + analysis         %8.1f ms  (%.2f x the read)\n", t_model * 1e3,
           t_model / t_read);
    printf("  TUI first paint               %8.1f ms  (%.2f x the read)   target <= 1000 ms: %s\n",
           t_first * 1e3, t_first / t_read, t_first <= 1.0 ? "met" : "MISSED");
    printf("  TUI complete paint            %8.1f ms  (%.2f x the read, %d paints while loading)\n",
           t_full * 1e3, t_full / t_read, paints);
    printf("  key latency over %d keys      median %.2f ms, p95 %.2f ms, max %.2f ms   "
           "target <= 50 ms: %s\n",
           NK, med * 1e3, p95 * 1e3, worst * 1e3, worst <= 0.050 ? "met" : "MISSED");
    printf("  while loading, the longest slice (read + analysis + paint) %.1f ms: the most a key "
           "waits\n", slice_max * 1e3);
    printf("  (the first paint showed %zu of the %d steps; the rest streamed in behind it)\n",
           first_steps, s.steps);
    mpt_canvas_free(&c);
    mpt_tui_app_free(&a);
    fclose(devnull);
    unlink(path);
    return 0;
}
