/*
 * The interposer's numeric pieces against slow, obviously-correct references:
 *  - operand walks (column/row-major, padded leading dimensions, strided and pointer-array
 *    batches, every storage dtype) against an element-by-element loop;
 *  - the precision sample's exact value against __float128 arithmetic (113-bit significand:
 *    every product of two doubles' worth of fp32 values is exact, and sums of a few hundred
 *    terms lose nothing a double can see), on random and adversarial inputs (cancellation,
 *    NaN, Inf, subnormals, huge exponents), with transposes, alpha, beta, C, bias, ReLU, GELU;
 *  - the measured errors (relative, ULP, underflow, overflow) against a per-element reference;
 *  - the sample's positions: distinct, in range, deterministic, all of them when few.
 */
#include <check.h>

#if defined(MPT_HAVE_INTERPOSER)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interposer/ipx.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static double urand(void)
{
    return (double)(mpt_ipx_splitmix(&rng_state) >> 11) / 9007199254740992.0;
}

/* A random value, sometimes adversarial. */
static float value(int adversarial)
{
    double u = urand();
    if (adversarial) {
        static const float special[] = {0.0f, -0.0f, 1e-40f, -3e-39f, 65504.0f, 1e30f, -1e30f,
                                        6e-8f, 2.9e-8f, 448.0f, 3.3e38f};
        if (u < 0.2) return special[mpt_ipx_splitmix(&rng_state) % 11];
    }
    return (float)((urand() - 0.5) * ldexp(1, (int)(urand() * 16) - 8));
}

/* An operand of `rows` x `cols` (batch b) in fresh memory, filled through mpt_dtype_store. */
typedef struct owned {
    mpt_ipx_operand o;
    unsigned char *mem;
    const void **ptrs;
} owned;

static void make_operand(owned *w, mpt_dtype t, int64_t rows, int64_t cols, int64_t batch,
                         int row_major, int pad, int arrays, int adversarial)
{
    memset(w, 0, sizeof *w);
    int64_t ld = (row_major ? cols : rows) + pad, outer = row_major ? rows : cols;
    int64_t stride = ld * outer + (arrays ? 0 : pad * 3);
    size_t es = mpt_dtype_size(t), n = (size_t)(stride * batch + 1);
    w->mem = calloc(n, es);
    for (size_t i = 0; i < n; i++)
        mpt_dtype_store(t, w->mem, i, value(adversarial));
    w->o = (mpt_ipx_operand){.ptr = w->mem, .dtype = t,
                             .order = row_major ? MPT_ORDER_ROW : MPT_ORDER_COL, .rows = rows,
                             .cols = cols, .ld = ld, .stride = stride};
    if (arrays) { /* batches in reverse order: the array, not the layout, decides */
        w->ptrs = calloc((size_t)batch, sizeof *w->ptrs);
        for (int64_t b = 0; b < batch; b++)
            w->ptrs[b] = w->mem + (size_t)((batch - 1 - b) * stride) * es;
        w->o.ptrs = (const void *const *)w->ptrs;
        w->o.ptr = NULL;
        w->o.stride = 0;
    }
}

static void free_operand(owned *w)
{
    free(w->mem);
    free(w->ptrs);
}

/* ---- operand walks ------------------------------------------------------------------------------ */

START_TEST(test_operand_walks)
{
    static const mpt_dtype types[] = {MPT_DT_F32, MPT_DT_F16, MPT_DT_BF16, MPT_DT_F64,
                                      MPT_DT_E4M3, MPT_DT_E5M2};
    for (int iter = 0; iter < 120; iter++) {
        mpt_dtype t = types[iter % 6];
        int64_t rows = 1 + (int64_t)(urand() * 9), cols = 1 + (int64_t)(urand() * 9);
        int64_t batch = 1 + (int64_t)(urand() * 3);
        int row_major = iter % 2, pad = (iter / 2) % 3, arrays = (iter / 6) % 2;
        owned w;
        make_operand(&w, t, rows, cols, batch, row_major, pad, arrays, 1);
        /* reference: element by element */
        mpt_cheap_stats ref = {0};
        mpt_stats full_ref, full;
        mpt_stats_init(&full_ref);
        for (int64_t b = 0; b < batch; b++)
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < cols; c++) {
                    const unsigned char *base = mpt_ipx_operand_base(&w.o, b);
                    int64_t idx = row_major ? r * w.o.ld + c : r + c * w.o.ld;
                    double v = mpt_dtype_load(t, base, (size_t)idx);
                    ref.count++;
                    if (isnan(v))
                        ref.nan++;
                    else if (isinf(v))
                        ref.inf++;
                    else if (fabs(v) > ref.absmax)
                        ref.absmax = fabs(v);
                    mpt_stats_add(&full_ref, t, base + (size_t)idx * mpt_dtype_size(t), 1);
                }
        mpt_cheap_stats got;
        ck_assert_int_eq(mpt_ipx_operand_cheap(&w.o, batch, &got), 0);
        ck_assert_msg(got.count == ref.count && got.nan == ref.nan && got.inf == ref.inf &&
                          got.absmax == ref.absmax,
                      "iter %d (%s %s pad %d arrays %d): cheap %lu/%lu/%lu/%g, want %lu/%lu/%lu/%g",
                      iter, mpt_dtype_name(t), row_major ? "row" : "col", pad, arrays,
                      (unsigned long)got.count, (unsigned long)got.nan, (unsigned long)got.inf,
                      got.absmax, (unsigned long)ref.count, (unsigned long)ref.nan,
                      (unsigned long)ref.inf, ref.absmax);
        ck_assert_int_eq(mpt_ipx_operand_full(&w.o, batch, &full), 0);
        ck_assert_uint_eq(full.count, full_ref.count);
        ck_assert_uint_eq(full.zero, full_ref.zero);
        ck_assert_uint_eq(full.subnormal, full_ref.subnormal);
        for (int h = 0; h < MPT_HIST_BUCKETS; h++)
            ck_assert_msg(full.hist[h] == full_ref.hist[h], "iter %d (%s): bucket %d: %lu, want %lu",
                          iter, mpt_dtype_name(t), h, (unsigned long)full.hist[h],
                          (unsigned long)full_ref.hist[h]);
        ck_assert(full.absmax == full_ref.absmax && full.min == full_ref.min);
        free_operand(&w);
    }
    /* an operand that cannot be walked is refused, not read */
    mpt_ipx_operand bad = {.ptr = NULL, .dtype = MPT_DT_F32, .rows = 4, .cols = 4, .ld = 4};
    mpt_cheap_stats c;
    ck_assert_int_eq(mpt_ipx_operand_cheap(&bad, 1, &c), -1);
    bad.ptr = &c;
    bad.ld = 3;
    ck_assert_int_eq(mpt_ipx_operand_cheap(&bad, 1, &c), -1);
    bad.ld = INT64_MAX / 2;
    ck_assert_int_eq(mpt_ipx_operand_cheap(&bad, 1, &c), -1);
}
END_TEST

/* ---- the exact value ---------------------------------------------------------------------------- */

typedef struct problem {
    mpt_ipx_gemm g;
    owned a, b, c, d;
    float *bias;
} problem;

static void make_problem(problem *p, mpt_dtype t, int64_t m, int64_t n, int64_t k, int64_t batch,
                         int ta, int tb, int adversarial)
{
    memset(p, 0, sizeof *p);
    make_operand(&p->a, t, ta ? k : m, ta ? m : k, batch, 0, 1, 0, adversarial);
    make_operand(&p->b, t, tb ? n : k, tb ? k : n, batch, 0, 0, 0, adversarial);
    make_operand(&p->c, MPT_DT_F32, m, n, batch, 0, 2, 0, 0);
    make_operand(&p->d, MPT_DT_F32, m, n, batch, 0, 0, 0, 0);
    p->bias = calloc((size_t)m, sizeof *p->bias);
    for (int64_t i = 0; i < m; i++)
        p->bias[i] = value(0);
    p->g = (mpt_ipx_gemm){.api = "test", .transa = ta, .transb = tb, .m = m, .n = n, .k = k,
                          .batch = batch, .a = p->a.o, .b = p->b.o, .c = p->c.o, .d = p->d.o,
                          .epilogue = MPT_EPI_NONE, .bias_dtype = MPT_DT_F32};
}

static void free_problem(problem *p)
{
    free_operand(&p->a);
    free_operand(&p->b);
    free_operand(&p->c);
    free_operand(&p->d);
    free(p->bias);
}

/* The reference: __float128 sum, then the same epilogue in __float128. *terms gets the sum of
 * the products' magnitudes (what bounds a compensated double sum's error). */
static double reference(const problem *p, int64_t b, int64_t i, int64_t j, double alpha,
                        double beta, double *terms)
{
    __float128 s = 0;
    *terms = 0;
    for (int64_t l = 0; l < p->g.k; l++) {
        double x = p->g.transa ? mpt_ipx_operand_load(&p->g.a, b, l, i)
                               : mpt_ipx_operand_load(&p->g.a, b, i, l);
        double y = p->g.transb ? mpt_ipx_operand_load(&p->g.b, b, j, l)
                               : mpt_ipx_operand_load(&p->g.b, b, l, j);
        s += (__float128)x * (__float128)y;
        *terms += fabs(x * y);
    }
    __float128 v = (__float128)alpha * s;
    if (beta != 0) v += (__float128)beta * (__float128)mpt_ipx_operand_load(&p->g.c, b, i, j);
    if (p->g.bias) v += (__float128)p->bias[i];
    double d = (double)v;
    if (p->g.epilogue == MPT_EPI_RELU || p->g.epilogue == MPT_EPI_RELU_BIAS) d = d > 0 ? d : 0;
    if (p->g.epilogue == MPT_EPI_GELU || p->g.epilogue == MPT_EPI_GELU_BIAS)
        d = 0.5 * d * (1.0 + tanh(sqrt(2.0 / M_PI) * (d + 0.044715 * d * d * d)));
    return d;
}

START_TEST(test_exact_against_float128)
{
    static const mpt_dtype types[] = {MPT_DT_F32, MPT_DT_F16, MPT_DT_BF16};
    static const mpt_epilogue epis[] = {MPT_EPI_NONE, MPT_EPI_BIAS, MPT_EPI_RELU_BIAS,
                                        MPT_EPI_GELU};
    for (int iter = 0; iter < 60; iter++) {
        problem p;
        int64_t m = 1 + (int64_t)(urand() * 7), n = 1 + (int64_t)(urand() * 7);
        int64_t k = (int64_t)(urand() * 300), batch = 1 + iter % 2;
        make_problem(&p, types[iter % 3], m, n, k, batch, iter % 2, (iter / 2) % 2, iter % 5 == 0);
        p.g.epilogue = epis[iter % 4];
        if (p.g.epilogue == MPT_EPI_BIAS || p.g.epilogue == MPT_EPI_RELU_BIAS) p.g.bias = p.bias;
        double alpha = iter % 3 ? 1.0 : 0.37, beta = iter % 4 ? 0.0 : -1.5;
        mpt_ipx_sample *s = mpt_ipx_sample_plan(&p.g, 16, 7, (uint64_t)iter, beta);
        ck_assert_ptr_nonnull(s);
        for (int x = 0; x < s->n; x++) {
            double terms;
            double got = mpt_ipx_sample_exact(&p.g, s, x, alpha, beta);
            double want = reference(&p, s->b[x], s->i[x], s->j[x], alpha, beta, &terms);
            /* Neumaier's bound: about one ulp of the result, plus k * 2^-104 of the terms'
             * magnitudes (only visible when they cancel by many orders of magnitude). */
            double tol = 4e-16 * fabs(want) + (double)(p.g.k + 2) * ldexp(fabs(alpha) * terms, -104);
            int ok = (isnan(got) && isnan(want)) || got == want || fabs(got - want) <= tol;
            ck_assert_msg(ok, "iter %d sample %d: %.17g, reference %.17g", iter, x, got, want);
        }
        mpt_ipx_sample_free(s);
        free_problem(&p);
    }
}
END_TEST

START_TEST(test_exact_survives_cancellation)
{
    /* 2^60 + 1 - 2^60 in fp32 inputs: a plain double sum says 0; the exact value is 1. */
    problem p;
    make_problem(&p, MPT_DT_F32, 1, 1, 3, 1, 0, 0, 0);
    float av[] = {ldexpf(1, 60), 1.0f, -ldexpf(1, 60)};
    for (int l = 0; l < 3; l++) {
        mpt_dtype_store(MPT_DT_F32, p.a.mem, (size_t)(l * p.a.o.ld), av[l]);
        mpt_dtype_store(MPT_DT_F32, p.b.mem, (size_t)l, 1.0f);
    }
    mpt_ipx_sample *s = mpt_ipx_sample_plan(&p.g, 4, 1, 1, 0);
    ck_assert(mpt_ipx_sample_exact(&p.g, s, 0, 1.0, 0.0) == 1.0);
    mpt_ipx_sample_free(s);
    free_problem(&p);
}
END_TEST

/* ---- the measured errors -------------------------------------------------------------------------- */

START_TEST(test_measure_against_reference)
{
    /* D = A B with k = 1, fp16 output: D(i,j) = a_i b_j. Stored values: the correct rounding,
     * except planted errors, an overflow, an underflow and a NaN input. */
    enum { M = 6, N = 5 };
    problem p;
    make_problem(&p, MPT_DT_F32, M, N, 1, 1, 0, 0, 0);
    free_operand(&p.d);
    make_operand(&p.d, MPT_DT_F16, M, N, 1, 0, 0, 0, 0);
    p.g.d = p.d.o;
    for (int i = 0; i < M; i++)
        mpt_dtype_store(MPT_DT_F32, p.a.mem, (size_t)i, (float)(0.3 + i));
    for (int j = 0; j < N; j++)
        mpt_dtype_store(MPT_DT_F32, p.b.mem, (size_t)j, (float)(1.7 - 0.45 * j));
    mpt_dtype_store(MPT_DT_F32, p.a.mem, 4, 1e6f);             /* row 4: overflows fp16 */
    mpt_dtype_store(MPT_DT_F32, p.a.mem, 5, ldexpf(1, -26));   /* row 5: underflows */
    mpt_dtype_store(MPT_DT_F32, p.b.mem, 4, NAN);               /* column 4: NaN input */
    for (int j = 0; j < N; j++)
        for (int i = 0; i < M; i++) {
            double e = mpt_dtype_load(MPT_DT_F32, p.a.mem, (size_t)i) *
                       mpt_dtype_load(MPT_DT_F32, p.b.mem, (size_t)j);
            float stored = (float)e;
            if (i == 1 && j == 2) stored = (float)(e * (1 + ldexp(1, -5))); /* planted error */
            mpt_dtype_store(MPT_DT_F16, p.d.mem, (size_t)(i + j * M), stored);
        }
    mpt_ipx_sample *s = mpt_ipx_sample_plan(&p.g, 64, 3, 9, 0);
    ck_assert_int_eq(s->n, M * N); /* few outputs: all of them */
    mpt_trace_precision got;
    mpt_ipx_sample_measure(&p.g, s, 1.0, 0.0, &got);
    /* reference, per element */
    double max_rel = 0, sum_rel = 0, max_ulp = 0, sum_ulp = 0, max_abs = 0;
    uint64_t elig = 0, under = 0, over = 0;
    for (int x = 0; x < s->n; x++) {
        int64_t i = s->i[x], j = s->j[x];
        double e = mpt_dtype_load(MPT_DT_F32, p.a.mem, (size_t)i) *
                   mpt_dtype_load(MPT_DT_F32, p.b.mem, (size_t)j);
        double st = mpt_dtype_load(MPT_DT_F16, p.d.mem, (size_t)(i + j * M));
        if (isnan(e)) continue;
        if (fabs(e) > max_abs) max_abs = fabs(e);
        if (fabs(e) > 65504) {
            over++;
            continue;
        }
        if (e != 0 && fabs(st) < ldexp(1, -14)) under++;
        if (e == 0 || !isfinite(st)) continue;
        int ex = (int)floor(log2(fabs(e)));
        double ulp = ldexp(1, (ex < -14 ? -14 : ex) - 10);
        double rel = fabs(st - e) / fabs(e), u = fabs(st - e) / ulp;
        max_rel = fmax(max_rel, rel);
        max_ulp = fmax(max_ulp, u);
        sum_rel += rel;
        sum_ulp += u;
        elig++;
    }
    ck_assert_uint_eq(got.samples, M * N);
    ck_assert_uint_eq(got.overflow, over);
    ck_assert_uint_eq(got.underflow, under);
    ck_assert_uint_eq(over, 4);  /* row 4, finite columns */
    ck_assert_uint_eq(under, 4); /* row 5, finite columns */
    ck_assert(fabs(got.max_rel_err - max_rel) <= 1e-15 * max_rel);
    ck_assert(fabs(got.mean_rel_err - sum_rel / (double)elig) <= 1e-15);
    ck_assert(fabs(got.max_ulp_err - max_ulp) <= 1e-12 * max_ulp);
    ck_assert(fabs(got.mean_ulp_err - sum_ulp / (double)elig) <= 1e-12);
    ck_assert(got.max_exact_abs == max_abs);
    ck_assert(max_rel == 1.0); /* the flushed row: stored 0 for a nonzero exact value */
    ck_assert(max_ulp > 20); /* the planted 2^-5 error: ~2^5 ulps of fp16 */
    mpt_ipx_sample_free(s);
    free_problem(&p);
}
END_TEST

START_TEST(test_sample_positions)
{
    problem p;
    make_problem(&p, MPT_DT_F32, 50, 40, 2, 3, 0, 0, 0);
    mpt_ipx_sample *s1 = mpt_ipx_sample_plan(&p.g, 64, 11, 5, 0);
    mpt_ipx_sample *s2 = mpt_ipx_sample_plan(&p.g, 64, 11, 5, 0);
    mpt_ipx_sample *s3 = mpt_ipx_sample_plan(&p.g, 64, 11, 6, 0);
    ck_assert_int_eq(s1->n, 64);
    int differ = 0;
    for (int x = 0; x < 64; x++) {
        ck_assert(s1->b[x] >= 0 && s1->b[x] < 3 && s1->i[x] >= 0 && s1->i[x] < 50 &&
                  s1->j[x] >= 0 && s1->j[x] < 40);
        ck_assert(s1->b[x] == s2->b[x] && s1->i[x] == s2->i[x] && s1->j[x] == s2->j[x]);
        differ += s1->i[x] != s3->i[x] || s1->j[x] != s3->j[x] || s1->b[x] != s3->b[x];
        for (int y = 0; y < x; y++)
            ck_assert(s1->b[x] != s1->b[y] || s1->i[x] != s1->i[y] || s1->j[x] != s1->j[y]);
    }
    ck_assert_int_gt(differ, 32); /* another GEMM, other places */
    mpt_ipx_sample_free(s1);
    mpt_ipx_sample_free(s2);
    mpt_ipx_sample_free(s3);
    ck_assert_ptr_null(mpt_ipx_sample_plan(&p.g, 0, 1, 1, 0));
    free_problem(&p);
}
END_TEST

START_TEST(test_gemm_check)
{
    problem p;
    make_problem(&p, MPT_DT_F16, 4, 3, 5, 2, 1, 0, 0);
    p.g.alpha = p.g.beta = &rng_state;
    ck_assert_int_eq(mpt_ipx_gemm_check(&p.g), 0);
    mpt_ipx_gemm g = p.g;
    g.a.dtype = MPT_DT_UNKNOWN; /* int8, complex: recorded, not measured */
    ck_assert_int_eq(mpt_ipx_gemm_check(&g), 1);
    g = p.g;
    g.m = -1;
    ck_assert_int_eq(mpt_ipx_gemm_check(&g), -1);
    g = p.g;
    g.b.ld = 1; /* shorter than its rows */
    ck_assert_int_eq(mpt_ipx_gemm_check(&g), -1);
    g = p.g;
    g.d.ptr = NULL;
    ck_assert_int_eq(mpt_ipx_gemm_check(&g), -1);
    g = p.g;
    g.a.rows = 7; /* does not describe op(A) */
    ck_assert_int_eq(mpt_ipx_gemm_check(&g), -1);
    free_problem(&p);
}
END_TEST

Suite *suite_interposer_sample(void);
Suite *suite_interposer_sample(void)
{
    Suite *s = suite_create("interposer_sample");
    TCase *tc = tcase_create("numeric");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_operand_walks);
    tcase_add_test(tc, test_exact_against_float128);
    tcase_add_test(tc, test_exact_survives_cancellation);
    tcase_add_test(tc, test_measure_against_reference);
    tcase_add_test(tc, test_sample_positions);
    tcase_add_test(tc, test_gemm_check);
    suite_add_tcase(s, tc);
    return s;
}

#else

Suite *suite_interposer_sample(void);
Suite *suite_interposer_sample(void)
{
    printf("SKIP: interposer_sample: the interposer is not built (no CUDA headers)\n");
    return suite_create("interposer_sample");
}

#endif
