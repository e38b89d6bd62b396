/*
 * bench_report: `mptrace report` throughput on a large trace, against a plain sequential read
 * of the same file in the same run.
 *
 * Generates a synthetic trace of at least 1 GiB holding at least 2 M TENSOR records (full
 * statistics with realistic exponent histograms, as the interposer writes them: GEMM, its A,
 * B and D tensors, a precision sample and a kernel launch, under NVTX layer names, with
 * per-step loss/scale marks) in $TMPDIR or /tmp, then times
 *   (a) read(2) of the whole file in 1 MiB blocks (the baseline: what any reader must pay), and
 *   (b) `mptrace report --json` on it, as a user runs it (the binary beside this one),
 * each the best of a few runs after a warm-up read, and prints both in MB/s, their ratio
 * (target >= 0.3) and the report's peak memory (bounded by layers x steps, not the file).
 * The file is deleted at the end, and on SIGINT/SIGTERM.
 *
 * Environment: MPT_BENCH_REPORT_MB overrides the trace size (MiB; the 2 M tensor floor still
 * holds unless it is set), for a quick run.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/trace_writer.h"

static char trace_path[4096];

static void cleanup(void)
{
    if (trace_path[0]) unlink(trace_path);
}

static void on_signal(int sig)
{
    cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A tensor's statistics spanning `span` binades below 2^top. */
static void fill_stats(mpt_stats *s, uint64_t count, int top, int span, uint64_t seed)
{
    mpt_stats_init(s);
    s->count = count;
    s->zero = count / 100;
    s->subnormal = (seed % 7 == 0) ? count / 1000 : 0;
    s->absmax = ldexp(1.5, top);
    s->max = s->absmax;
    s->min = -s->absmax;
    s->min_nonzero_abs = ldexp(1.0, top - span);
    s->sum = 0.001 * (double)(seed % 1000);
    s->sumsq = (double)count * ldexp(1.0, 2 * top - 4);
    uint64_t left = count - s->zero;
    s->hist[MPT_HIST_ZERO] = s->zero;
    for (int k = 0; k < span; k++) {
        uint64_t c = k == span - 1 ? left : left / (uint64_t)(span - k) / 2 + 1;
        if (c > left) c = left;
        s->hist[mpt_hist_bucket_of_exp(top - k)] += c;
        left -= c;
    }
    s->narrow[MPT_NARROW_FP16].flush = count / 50;
    s->narrow[MPT_NARROW_FP16].subnormal = count / 40;
    s->narrow[MPT_NARROW_E4M3].overflow = count / 60;
    s->narrow[MPT_NARROW_E4M3].flush = count / 30;
    s->narrow[MPT_NARROW_E5M2].flush = count / 45;
}

static int generate(const char *path, uint64_t min_bytes, uint64_t min_tensors, uint64_t *tensors)
{
    char err[512];
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    static const char cmd[] = "bench_report\0--synthetic\0";
    h.cmdline = cmd;
    h.cmdline_len = sizeof cmd - 1;
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    if (!w) {
        fprintf(stderr, "bench_report: %s\n", err);
        return -1;
    }
    enum { LAYERS = 96, SPAN = 40 };
    uint32_t layer_id[LAYERS];
    char name[64];
    static const char *const ops[] = {"attn/qkv",  "attn/scores", "attn/pv",
                                      "attn/proj", "mlp/up",      "mlp/down"};
    for (int l = 0; l < LAYERS; l++) {
        snprintf(name, sizeof name, "%s/blk%d/%s", l < LAYERS / 2 ? "fwd" : "bwd", (l / 6) % 8,
                 ops[l % 6]);
        layer_id[l] = mpt_trace_writer_intern(w, name);
    }
    uint32_t api = mpt_trace_writer_intern(w, "cublasGemmEx");
    uint32_t kname = mpt_trace_writer_intern(w, "gelu_forward_kernel");
    uint32_t kloss = mpt_trace_writer_intern(w, "loss"),
             kscale = mpt_trace_writer_intern(w, "scale");
    mpt_stats st;
    uint64_t ts = 1000000000ull, n = 0;
    *tensors = 0;
    int rc = 0;
    for (int64_t step = 0; rc == 0; step++) {
        mpt_trace_step sb = {.step = step, .ts_ns = ts, .tid = 1, .phase = MPT_STEP_BEGIN};
        rc |= mpt_trace_writer_step(w, &sb);
        for (int l = 0; l < LAYERS && rc == 0; l++) {
            mpt_trace_kernel k = {.seq = mpt_trace_writer_next_seq(w),
                                  .ts_ns = ts += 700,
                                  .step = step,
                                  .tid = 1,
                                  .name = kname,
                                  .grid = {96, 1, 1},
                                  .block = {256, 1, 1}};
            rc |= mpt_trace_writer_kernel(w, &k);
            mpt_trace_gemm g = {.seq = mpt_trace_writer_next_seq(w),
                                .ts_ns = ts += 900,
                                .step = step,
                                .tid = 1,
                                .ordinal = (uint32_t)l,
                                .layer = layer_id[l],
                                .api = api,
                                .compute = MPT_COMPUTE_32F,
                                .dtype_a = MPT_DT_F16,
                                .dtype_b = MPT_DT_F16,
                                .dtype_c = MPT_DT_F16,
                                .dtype_d = MPT_DT_F16,
                                .dtype_bias = MPT_DT_UNKNOWN,
                                .level = MPT_LEVEL_FULL,
                                .m = 768,
                                .n = 1024,
                                .k = 768,
                                .batch = 1,
                                .lda = 768,
                                .ldb = 768,
                                .ldc = 768,
                                .ldd = 768,
                                .alpha = 1};
            rc |= mpt_trace_writer_gemm(w, &g);
            for (int r = 0; r < 3 && rc == 0; r++) {
                mpt_trace_tensor_info ti = {.seq = g.seq,
                                            .role = r == 2 ? MPT_ROLE_D : (mpt_tensor_role)r,
                                            .dtype = MPT_DT_F16,
                                            .rows = 768,
                                            .cols = 1024,
                                            .batch = 1};
                fill_stats(&st, 768 * 1024, 4 - (l % 8) - (l >= LAYERS / 2 ? 12 : 0),
                           SPAN - (r * 3), (uint64_t)step * 131 + (uint64_t)l);
                rc |= mpt_trace_writer_tensor_full(w, &ti, &st);
                (*tensors)++;
            }
            mpt_trace_precision p = {.seq = g.seq,
                                     .dtype = MPT_DT_F16,
                                     .samples = 64,
                                     .max_rel_err = 4.8e-4,
                                     .mean_rel_err = 2e-4,
                                     .max_ulp_err = 0.5,
                                     .mean_ulp_err = 0.25,
                                     .max_exact_abs = 24.0};
            rc |= mpt_trace_writer_precision(w, &p);
            n++;
        }
        mpt_trace_scalar sl = {
            .step = step, .ts_ns = ts += 100, .key = kloss, .value = 2 + exp(-(double)step / 300)};
        mpt_trace_scalar ss = {.step = step, .ts_ns = ts += 100, .key = kscale, .value = 65536};
        rc |= mpt_trace_writer_scalar(w, &sl) | mpt_trace_writer_scalar(w, &ss);
        mpt_trace_step se = {.step = step, .ts_ns = ts += 100, .tid = 1, .phase = MPT_STEP_END};
        rc |= mpt_trace_writer_step(w, &se);
        struct stat sb2;
        if (step % 16 == 15 && stat(path, &sb2) == 0 && (uint64_t)sb2.st_size >= min_bytes &&
            *tensors >= min_tensors)
            break;
    }
    if (rc != 0) fprintf(stderr, "bench_report: writing: %s\n", mpt_trace_writer_error(w));
    if (mpt_trace_writer_close(w, err, sizeof err) != 0) {
        fprintf(stderr, "bench_report: %s\n", err);
        rc = -1;
    }
    return rc ? -1 : 0;
}

static double plain_read(const char *path, uint64_t *bytes)
{
    static char buf[1 << 20];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    double t0 = now_s();
    uint64_t n = 0, sum = 0;
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0) {
        n += (uint64_t)k;
        sum += (unsigned char)buf[k - 1]; /* touch the data */
    }
    double t = now_s() - t0;
    close(fd);
    *bytes = n + (sum & 0); /* sum only keeps the reads honest */
    return t;
}

/* Runs `mptrace report --json -o /dev/null path`; returns seconds, or -1. */
static double run_report(const char *bin, const char *path, long *maxrss_kb)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "report", "--json", "-o", "/dev/null", path, (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) return -1;
    double t = now_s() - t0;
    *maxrss_kb = ru.ru_maxrss;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_report: mptrace report exited with %d\n", WEXITSTATUS(st));
        return -1;
    }
    return t;
}

int main(void)
{
    char exe[4096], bin[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 1;
    exe[n] = '\0';
    snprintf(bin, sizeof bin, "%s/bin/mptrace", dirname(dirname(exe))); /* $BUILD/bench/.. */
    if (access(bin, X_OK) != 0) {
        printf("bench_report: SKIP: %s is not built\n", bin);
        return 0;
    }
    uint64_t min_bytes = 1ull << 30, min_tensors = 2000000;
    const char *mb = getenv("MPT_BENCH_REPORT_MB");
    if (mb) {
        min_bytes = strtoull(mb, NULL, 10) << 20;
        min_tensors = 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(trace_path, sizeof trace_path, "%s/mptrace-bench-XXXXXX.mpt",
             tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(trace_path, 4);
    if (fd < 0) {
        fprintf(stderr, "bench_report: %s: %s\n", trace_path, strerror(errno));
        return 1;
    }
    close(fd);
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    uint64_t tensors;
    double tg = now_s();
    if (generate(trace_path, min_bytes, min_tensors, &tensors) != 0) return 1;
    tg = now_s() - tg;
    uint64_t bytes;
    plain_read(trace_path, &bytes); /* warm the page cache: both measurements read from it */
    printf("trace: %.2f GiB, %llu tensor records (generated in %.1f s)\n",
           (double)bytes / (1 << 30), (unsigned long long)tensors, tg);
    /* The report reads with two threads (checksums ahead of the analysis): the figures below
     * depend on a second core being free, so say how busy the machine was. */
    double load[1];
    if (getloadavg(load, 1) == 1) printf("load average (1 min): %.2f\n", load[0]);

    double best_read = INFINITY, best_report = INFINITY;
    long rss = 0;
    for (int i = 0; i < 3; i++) {
        double t = plain_read(trace_path, &bytes);
        if (t > 0 && t < best_read) best_read = t;
    }
    for (int i = 0; i < 2; i++) {
        long r;
        double t = run_report(bin, trace_path, &r);
        if (t < 0) return 1;
        if (t < best_report) best_report = t;
        if (r > rss) rss = r;
    }
    double mbs_read = (double)bytes / best_read / 1e6,
           mbs_report = (double)bytes / best_report / 1e6;
    printf("plain sequential read : %8.1f MB/s (%.2f s)\n", mbs_read, best_read);
    printf("mptrace report --json : %8.1f MB/s (%.2f s), peak memory %.1f MiB\n", mbs_report,
           best_report, (double)rss / 1024);
    printf("ratio report/read     : %8.3f (target >= 0.3)%s\n", mbs_report / mbs_read,
           mbs_report / mbs_read >= 0.3 ? "" : "  BELOW TARGET");
    return 0;
}
