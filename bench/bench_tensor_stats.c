/*
 * Throughput of mpt_stats_add (and the cheap pass) over 64 MiB buffers, against a plain read
 * loop over the same buffer in the same run: the baseline sums the buffer's 64-bit words in four
 * accumulators (memory bandwidth, as good as a single core gets without tricks).
 *
 * Buffers: fp32, fp16 and bf16 "activations" (normal, sigma 1, one value in 4096 an outlier
 * scaled by 50..500), and per dtype one "special" buffer where 1 value in 64 is a NaN, +-Inf, a
 * subnormal of the dtype, a signed zero or an exact threshold. Each figure is the best of REPS
 * runs; the spread (worst/best) of the stats pass is printed too, because the machine is shared.
 *
 *   build/bench/bench_tensor_stats [reps]      (default 7; about 10 s)
 *
 * Prints one line per buffer: GB/s of the read loop, of mpt_stats_add and of
 * mpt_cheap_stats_add (each the best of the repetitions), the ratio of the bests stats/read, the
 * median over repetitions of stats/read measured back to back (steadier on a shared machine),
 * and cheap/read. Targets (issue #2): stats/read >= 0.5 for fp32, >= 0.3 for fp16 and bf16 on
 * the activation buffers.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fpformat.h"
#include "core/tensor_stats.h"
#include "core/tensor_stats_internal.h"

#define BYTES ((size_t)64 << 20)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The baseline: every 64-bit word, four independent sums (not optimised away: the result is
 * returned and printed). */
__attribute__((noinline)) static uint64_t read_loop(const void *buf, size_t bytes)
{
    const uint64_t *p = buf;
    size_t n = bytes / 8;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        a += p[i];
        b += p[i + 1];
        c += p[i + 2];
        d += p[i + 3];
    }
    return a + b + c + d;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double rng_unit(void)
{
    return ((double)(rng_next() >> 11) + 0.5) * 0x1p-53;
}

static float rng_normal(void)
{
    return (float)(sqrt(-2.0 * log(rng_unit())) * cos(6.283185307179586 * rng_unit()));
}

/* Special values every 64th element, cycling through the list. */
static float special_value(mpt_dtype t, int k)
{
    const mpt_dtype_info *fi = mpt_dtype_get_info(t);
    float list[] = {NAN,  -NAN,    INFINITY, -INFINITY, (float)fi->min_subnormal,      -0.0f,
                    0.0f, 65520.f, 0x1p-25f, 464.f,     (float)(3 * fi->min_subnormal)};
    return list[k % (int)(sizeof list / sizeof list[0])];
}

static void fill(void *buf, mpt_dtype t, int special)
{
    size_t es = mpt_dtype_size(t), n = BYTES / es;
    for (size_t i = 0; i < n; i++) {
        float x = rng_normal();
        if (rng_next() % 4096 == 0) x *= (float)(50 + rng_next() % 450);
        if (special && i % 64 == 63) x = special_value(t, (int)(i / 64));
        mpt_dtype_store(t, buf, i, x);
    }
}

typedef struct timing {
    double best, worst;
} timing;

static void timing_add(timing *t, double s)
{
    if (s < t->best) t->best = s;
    if (s > t->worst) t->worst = s;
}

static uint64_t sink;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_REPS 64

static void run_case(const char *label, mpt_dtype t, void *buf, int reps)
{
    size_t n = BYTES / mpt_dtype_size(t);
    timing tr = {1e9, 0}, ts = {1e9, 0}, tc = {1e9, 0};
    double ratio[MAX_REPS];
    mpt_stats s;
    mpt_cheap_stats c;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        sink += read_loop(buf, BYTES);
        double t1 = now_s();
        mpt_stats_init(&s);
        mpt_stats_add(&s, t, buf, n);
        double t2 = now_s();
        memset(&c, 0, sizeof c);
        mpt_cheap_stats_add(&c, t, buf, n);
        double t3 = now_s();
        timing_add(&tr, t1 - t0);
        timing_add(&ts, t2 - t1);
        timing_add(&tc, t3 - t2);
        ratio[r] = (t1 - t0) / (t2 - t1); /* read and stats back to back: same conditions */
        sink += s.count + c.count;
    }
    qsort(ratio, (size_t)reps, sizeof ratio[0], cmp_double);
    double gb = (double)BYTES / 1e9;
    printf("%-20s read %5.2f GB/s | stats %5.2f GB/s  ratio %.2f (median %.2f, spread %.2f) | "
           "cheap %5.2f GB/s  ratio %.2f\n",
           label, gb / tr.best, gb / ts.best, tr.best / ts.best, ratio[reps / 2],
           ts.worst / ts.best, gb / tc.best, tr.best / tc.best);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    void *buf = aligned_alloc(64, BYTES);
    if (buf == NULL) {
        fprintf(stderr, "bench_tensor_stats: cannot allocate %zu bytes\n", BYTES);
        return 1;
    }
    printf("mpt_stats_add over 64 MiB, best of %d, path: %s\n", reps,
           mpt_stats_vector_active() ? "AVX2" : "scalar (no AVX2/FMA/F16C)");
    const struct {
        const char *name;
        mpt_dtype t;
    } cases[] = {{"fp32", MPT_DT_F32}, {"fp16", MPT_DT_F16}, {"bf16", MPT_DT_BF16}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char label[64];
        fill(buf, cases[k].t, 0);
        snprintf(label, sizeof label, "%s activations", cases[k].name);
        run_case(label, cases[k].t, buf, reps);
        fill(buf, cases[k].t, 1);
        snprintf(label, sizeof label, "%s special 1/64", cases[k].name);
        run_case(label, cases[k].t, buf, reps);
    }
    if (mpt_stats_vector_active()) {
        /* the portable path, once, for scale */
        fill(buf, MPT_DT_F32, 0);
        mpt_stats_force_scalar(1);
        run_case("fp32 act. (scalar)", MPT_DT_F32, buf, 1);
        mpt_stats_force_scalar(0);
    }
    free(buf);
    return sink == 42; /* keeps the sums alive */
}
