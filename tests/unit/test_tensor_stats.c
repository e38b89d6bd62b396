/*
 * Suite `tensor_stats`: core/tensor_stats.h against a slow, obviously-correct reference written
 * here, on both code paths (every comparison test is a loop test: _i == 0 the AVX2 kernels,
 * _i == 1 the portable scalar path forced with mpt_stats_force_scalar).
 *
 * The reference visits one element at a time: mpt_dtype_load decodes it, mpt_classify gives its
 * class in its own dtype, the exponent bucket comes from frexp, and the narrow counts come from
 * actually rounding the value with the encoders (mpt_f32_to_f16, ...) and classifying the
 * result, a path that shares nothing with the library's threshold comparisons. fp64 values are
 * rounded once, exactly (ref_round_class, by the formats' field widths): the library's
 * documented choice, a direct fp64 -> narrow cast, not a cast through fp32. Sums are checked
 * against a compensated (Neumaier) sum with the bound of docs/tensor-stats.md:
 *   |sum - exact| <= gamma(h) * sum|x|,  h = 262 + ceil(log2(n + 1)) = 263 + floor(log2 n),
 * gamma(h) = h u / (1 - h u); sumsq the same with x^2 (fp64 sumsq: one more rounding per term).
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fpformat.h"
#include "core/tensor_stats.h"
#include "core/tensor_stats_internal.h"

static const mpt_dtype ALL_DTYPES[] = {MPT_DT_F32,  MPT_DT_F16,  MPT_DT_BF16,
                                       MPT_DT_E4M3, MPT_DT_E5M2, MPT_DT_F64};
#define N_DTYPES ((int)(sizeof ALL_DTYPES / sizeof ALL_DTYPES[0]))

/* ---- deterministic random numbers ----------------------------------------------------------- */

static uint64_t rng_s = 0x243f6a8885a308d3u;

static uint64_t rng_next(void)
{
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 7;
    rng_s ^= rng_s << 17;
    return rng_s;
}

static double rng_unit(void)
{
    return ((double)(rng_next() >> 11) + 0.5) * 0x1p-53;
}

static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_unit())) * cos(6.283185307179586 * rng_unit());
}

/* ---- the reference -------------------------------------------------------------------------- */

/* Rounds a > 0 (finite) to a format given by its fields, nearest-even, and says what happened:
 * 0 normal, 1 subnormal, 2 flush (became 0), 3 overflow. fn: e4m3fn's layout (no Inf). */
static int ref_round_class(int exp_bits, int man_bits, int fn, double a)
{
    int bias = (1 << (exp_bits - 1)) - 1, emin = 1 - bias;
    int emax = (1 << exp_bits) - (fn ? 1 : 2) - bias;
    double maxv = ldexp(2.0 - ldexp(1.0, -man_bits) * (fn ? 2 : 1), emax);
    int e;
    (void)frexp(a, &e);
    e = e - 1 > emin ? e - 1 : emin;
    double ulp = ldexp(1.0, e - man_bits);
    double lo = floor(a / ulp) * ulp, hi = lo + ulp, r;
    if (a - lo < hi - a)
        r = lo;
    else if (a - lo > hi - a)
        r = hi;
    else
        r = fmod(lo / ulp, 2.0) == 0 ? lo : hi;
    if (r > maxv) return 3;
    if (r == 0) return 2;
    return r < ldexp(1.0, emin) ? 1 : 0;
}

static const struct {
    int exp_bits, man_bits, fn;
} NARROW_FIELDS[MPT_NARROW_COUNT] = {{5, 10, 0}, {8, 7, 0}, {4, 3, 1}, {5, 2, 0}};

/* The same question answered by the encoders: encode f, classify the pattern. */
static int enc_round_class(mpt_narrow n, float f)
{
    mpt_fpclass c;
    switch (n) {
    case MPT_NARROW_FP16:
        c = mpt_classify(MPT_DT_F16, mpt_f32_to_f16(f));
        break;
    case MPT_NARROW_BF16:
        c = mpt_classify(MPT_DT_BF16, mpt_f32_to_bf16(f));
        break;
    case MPT_NARROW_E4M3:
        c = mpt_classify(MPT_DT_E4M3, mpt_f32_to_e4m3(f, 0)); /* overflow -> NaN */
        break;
    default:
        c = mpt_classify(MPT_DT_E5M2, mpt_f32_to_e5m2(f, 0));
        break;
    }
    return c == MPT_FP_NORMAL ? 0 : c == MPT_FP_SUBNORMAL ? 1 : c == MPT_FP_ZERO ? 2 : 3;
}

typedef struct ref_stats {
    mpt_stats s;
    double sum, sum_c, sq, sq_c; /* Neumaier sums and their compensations */
    double sabs, sqabs;          /* sum |x| and sum x^2, for the tolerance */
    int sq_overflow;             /* some x^2 (fp64) is not finite */
} ref_stats;

static void neumaier(double *s, double *c, double x)
{
    double t = *s + x;
    *c += fabs(*s) >= fabs(x) ? (*s - t) + x : (x - t) + *s;
    *s = t;
}

static void ref_init(ref_stats *r)
{
    memset(r, 0, sizeof *r);
    mpt_stats_init(&r->s);
}

static void ref_add(ref_stats *r, mpt_dtype t, const void *base, size_t i)
{
    mpt_stats *s = &r->s;
    double x = mpt_dtype_load(t, base, i);
    mpt_fpclass cls = mpt_classify(t, mpt_dtype_load_bits(t, base, i));
    s->count++;
    if (cls == MPT_FP_NAN) {
        s->nan++;
        s->hist[MPT_HIST_NAN]++;
        return;
    }
    if (cls == MPT_FP_INF) {
        if (x > 0)
            s->pinf++;
        else
            s->ninf++;
        s->hist[MPT_HIST_INF]++;
        return;
    }
    if (x < s->min) s->min = x;
    if (x > s->max) s->max = x;
    if (cls == MPT_FP_ZERO) {
        s->zero++;
        s->hist[MPT_HIST_ZERO]++;
        return;
    }
    double a = fabs(x);
    if (a > s->absmax) s->absmax = a;
    if (a < s->min_nonzero_abs) s->min_nonzero_abs = a;
    if (cls == MPT_FP_SUBNORMAL) s->subnormal++;
    if (a < 0x1p-126) {
        s->hist[MPT_HIST_SUBNORMAL]++;
    } else {
        int e;
        (void)frexp(a, &e);
        e = e - 1 > MPT_HIST_MAX_EXP ? MPT_HIST_MAX_EXP : e - 1;
        s->hist[MPT_HIST_EXP_BASE + e - MPT_HIST_MIN_EXP]++;
    }
    for (int n = 0; n < MPT_NARROW_COUNT; n++) {
        int k = t == MPT_DT_F64 ? ref_round_class(NARROW_FIELDS[n].exp_bits,
                                                  NARROW_FIELDS[n].man_bits, NARROW_FIELDS[n].fn, a)
                                : enc_round_class((mpt_narrow)n, (float)x);
        if (k == 1) s->narrow[n].subnormal++;
        if (k == 2) s->narrow[n].flush++;
        if (k == 3) s->narrow[n].overflow++;
    }
    neumaier(&r->sum, &r->sum_c, x);
    neumaier(&r->sq, &r->sq_c, x * x);
    r->sabs += a;
    r->sqabs += x * x;
    if (!isfinite(x * x)) r->sq_overflow = 1;
}

static void ref_add_all(ref_stats *r, mpt_dtype t, const void *base, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ref_add(r, t, base, i);
}

/* ---- comparisons ---------------------------------------------------------------------------- */

static double gamma_h(double h)
{
    double u = 0x1p-53;
    return h * u / (1 - h * u);
}

/* h of the documented bound for a pass over n elements, plus `extra` roundings. */
static double bound_h(uint64_t n, int extra)
{
    return 262 + ceil(log2((double)n + 1)) + extra;
}

static int sum_close(double got, double want, double mag, uint64_t n, int extra)
{
    double tol = gamma_h(bound_h(n, extra)) * mag + 4 * 0x1p-53 * fabs(want);
    return fabs(got - want) <= tol;
}

/* Counts, min/max and histogram exactly; sums within the bound. Returns 1 when equal; else
 * prints the first difference under `ctx` and returns 0. */
static int stats_match(const mpt_stats *g, const ref_stats *r, int extra, const char *ctx)
{
    const mpt_stats *w = &r->s;
#define CMP_U(f)                                                                                   \
    if (g->f != w->f) {                                                                            \
        fprintf(stderr, "%s: " #f " %llu, reference %llu\n", ctx, (unsigned long long)g->f,        \
                (unsigned long long)w->f);                                                         \
        return 0;                                                                                  \
    }
#define CMP_D(f)                                                                                   \
    if (!(g->f == w->f)) {                                                                         \
        fprintf(stderr, "%s: " #f " %a, reference %a\n", ctx, g->f, w->f);                         \
        return 0;                                                                                  \
    }
    CMP_U(count);
    CMP_U(nan);
    CMP_U(pinf);
    CMP_U(ninf);
    CMP_U(zero);
    CMP_U(subnormal);
    CMP_D(min);
    CMP_D(max);
    CMP_D(absmax);
    CMP_D(min_nonzero_abs);
    for (int i = 0; i < MPT_HIST_BUCKETS; i++)
        CMP_U(hist[i]);
    for (int n = 0; n < MPT_NARROW_COUNT; n++) {
        CMP_U(narrow[n].overflow);
        CMP_U(narrow[n].subnormal);
        CMP_U(narrow[n].flush);
    }
#undef CMP_U
#undef CMP_D
    double want_sum = r->sum + r->sum_c, want_sq = r->sq + r->sq_c;
    if (!sum_close(g->sum, want_sum, r->sabs, w->count, extra)) {
        fprintf(stderr, "%s: sum %.17g, reference %.17g (sum|x| %g)\n", ctx, g->sum, want_sum,
                r->sabs);
        return 0;
    }
    if (r->sq_overflow ? !isinf(g->sumsq)
                       : !sum_close(g->sumsq, want_sq, r->sqabs, w->count, extra)) {
        fprintf(stderr, "%s: sumsq %.17g, reference %.17g\n", ctx, g->sumsq, want_sq);
        return 0;
    }
    return 1;
}

/* Loop tests: _i == 0 the vector path, _i == 1 the scalar one. */
static const char *use_path(int i)
{
    mpt_stats_force_scalar(i);
    if (i == 0 && !mpt_stats_vector_active()) {
        static int said;
        if (!said++) fprintf(stderr, "SKIP: no AVX2/FMA/F16C here: the vector cases run scalar\n");
    }
    return i ? "scalar" : "vector";
}

/* Adds n elements with mpt_stats_add and with the reference; compares. */
static int check_contiguous(mpt_dtype t, const void *data, size_t n, const char *ctx)
{
    mpt_stats s;
    ref_stats r;
    mpt_stats_init(&s);
    ref_init(&r);
    mpt_stats_add(&s, t, data, n);
    ref_add_all(&r, t, data, n);
    return stats_match(&s, &r, t == MPT_DT_F64, ctx);
}

/* ---- test data ------------------------------------------------------------------------------ */

static void store_value(mpt_dtype t, void *buf, size_t i, double v)
{
    if (t == MPT_DT_F64)
        memcpy((unsigned char *)buf + 8 * i, &v, 8);
    else
        mpt_dtype_store(t, buf, i, (float)v);
}

/* fp32 patterns every bound and special case lives at (and their neighbours are added). */
static const uint32_t F32_EDGES[] = {
    0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0xffffffff, 0x7fffffff, /* NaN */
    0x7f800000, 0xff800000, 0x00000000, 0x80000000,                         /* Inf, zeros */
    0x00000001, 0x80000001, 0x00008000, 0x00008001, 0x007f8000, 0x007f7fff, /* subnormals */
    0x007fffff, 0x00400000, 0x00800000, 0x80800000,                         /* around min normal */
    0x7f7fffff, 0xff7fffff, 0x7f7f8000, 0x7f7f7fff, 0x7f000000, /* top of fp32, bf16 max */
    0x477ff000, 0x477fe000, 0x477fefff, 0x47800000, 0x387fc000, 0x33000000, 0x33000001, /* fp16 */
    0x38800000, 0x387fffff, 0x33800000, 0x337fffff, 0x43e80000, 0x43e80001, 0x43e00000,
    0x43f00000, 0x3c780000, 0x3c800000, 0x3a800000,                                     /* e4m3 */
    0x47700000, 0x476fffff, 0x47600000, 0x38600000, 0x37000000, 0x37000001, 0x36ffffff, /* e5m2 */
    0x3f800000, 0xbf800000, 0x3f800001,
};

/* Adversarial fp32 data: each edge, its neighbours, and negated. */
static size_t fill_f32_edges(uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < sizeof F32_EDGES / sizeof F32_EDGES[0]; i++)
        for (int d = -1; d <= 1; d++) {
            uint32_t u = F32_EDGES[i] + (uint32_t)d;
            out[k++] = u;
            out[k++] = u ^ 0x80000000u;
        }
    return k;
}

/* A buffer of n elements of dtype t: normal(0, scale) with, when `special`, one element in 8
 * replaced by an edge value of fp32 converted (rounded) to t. */
static void fill_mixed(mpt_dtype t, void *buf, size_t n, double scale, int special)
{
    uint32_t edges[3 * 2 * (sizeof F32_EDGES / sizeof F32_EDGES[0])];
    size_t ne = fill_f32_edges(edges);
    for (size_t i = 0; i < n; i++) {
        if (special && rng_next() % 8 == 0) {
            uint32_t u = edges[rng_next() % ne];
            if (t == MPT_DT_F32)
                memcpy((unsigned char *)buf + 4 * i, &u, 4);
            else
                store_value(t, buf, i, mpt_f32_from_bits(u));
        } else {
            store_value(t, buf, i, scale * rng_normal());
        }
    }
}

/* ---- tests: thresholds ---------------------------------------------------------------------- */

START_TEST(test_thresholds_documented)
{
    /* over, over_inclusive, flush, sub: docs/tensor-stats.md's table */
    static const struct {
        mpt_narrow n;
        double over;
        int incl;
        double flush, sub;
    } want[] = {
        {MPT_NARROW_FP16, 65520.0, 1, 0x1p-25, 0x1p-14 - 0x1p-25},
        {MPT_NARROW_BF16, 0x1.ffp127, 1, 0x1p-134, 0x1p-126 - 0x1p-134},
        {MPT_NARROW_E4M3, 464.0, 0, 0x1p-10, 0x1p-6 - 0x1p-10},
        {MPT_NARROW_E5M2, 61440.0, 1, 0x1p-17, 0x1p-14 - 0x1p-17},
    };
    const mpt_ts_tables *tb = mpt_ts_tables_get();
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const mpt_ts_limits *l = &tb->lim[want[k].n];
        ck_assert_msg(l->over == want[k].over && l->over_inclusive == want[k].incl &&
                          l->flush == want[k].flush && l->sub == want[k].sub,
                      "narrow %d: over %a (%d) flush %a sub %a", (int)want[k].n, l->over,
                      l->over_inclusive, l->flush, l->sub);
    }
    ck_assert_int_eq(mpt_narrow_dtype(MPT_NARROW_FP16), MPT_DT_F16);
    ck_assert_int_eq(mpt_narrow_dtype(MPT_NARROW_BF16), MPT_DT_BF16);
    ck_assert_int_eq(mpt_narrow_dtype(MPT_NARROW_E4M3), MPT_DT_E4M3);
    ck_assert_int_eq(mpt_narrow_dtype(MPT_NARROW_E5M2), MPT_DT_E5M2);
    ck_assert_int_eq(mpt_narrow_dtype(MPT_NARROW_COUNT), MPT_DT_UNKNOWN);
}
END_TEST

/* The fp64 reference (rounding by field widths) and the encoders agree on fp32 values, so the
 * fp64 comparisons below rest on the same ground as the others. */
START_TEST(test_reference_rounders_agree)
{
    uint32_t edges[3 * 2 * (sizeof F32_EDGES / sizeof F32_EDGES[0])];
    size_t ne = fill_f32_edges(edges);
    for (size_t i = 0; i < ne + 20000; i++) {
        float f = i < ne ? mpt_f32_from_bits(edges[i])
                         : (float)ldexp(rng_unit(), -150 + (int)(rng_next() % 280));
        double a = fabs((double)f);
        if (!isfinite(a) || a == 0) continue;
        for (int n = 0; n < MPT_NARROW_COUNT; n++) {
            int r = ref_round_class(NARROW_FIELDS[n].exp_bits, NARROW_FIELDS[n].man_bits,
                                    NARROW_FIELDS[n].fn, a);
            ck_assert_msg(r == enc_round_class((mpt_narrow)n, f), "narrow %d, x = %a: %d vs %d", n,
                          (double)f, r, enc_round_class((mpt_narrow)n, f));
        }
    }
}
END_TEST

/* ---- tests: contiguous data ----------------------------------------------------------------- */

/* Every bit pattern of the 16-bit and 8-bit formats, in a shuffled order, twice (so that blocks
 * see them in different company), with one odd-length tail. */
START_TEST(test_every_pattern)
{
    const char *path = use_path(_i);
    const mpt_dtype types[] = {MPT_DT_F16, MPT_DT_BF16, MPT_DT_E4M3, MPT_DT_E5M2};
    for (size_t k = 0; k < 4; k++) {
        mpt_dtype t = types[k];
        size_t es = mpt_dtype_size(t), np = (size_t)1 << (8 * es), n = 2 * np + 13;
        unsigned char *buf = malloc(n * es);
        for (size_t i = 0; i < n; i++) {
            uint32_t v = (uint32_t)(i < 2 * np ? i % np : rng_next() % np);
            memcpy(buf + i * es, &v, es); /* little-endian */
        }
        for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = rng_next() % (i + 1);
            unsigned char tmp[2];
            memcpy(tmp, buf + i * es, es);
            memcpy(buf + i * es, buf + j * es, es);
            memcpy(buf + j * es, tmp, es);
        }
        char ctx[96];
        snprintf(ctx, sizeof ctx, "%s every pattern (%s)", mpt_dtype_name(t), path);
        ck_assert_msg(check_contiguous(t, buf, n, ctx), "%s differs (see stderr)", ctx);
        free(buf);
    }
}
END_TEST

START_TEST(test_f32_adversarial)
{
    const char *path = use_path(_i);
    uint32_t edges[3 * 2 * (sizeof F32_EDGES / sizeof F32_EDGES[0])];
    size_t ne = fill_f32_edges(edges);
    /* the edges alone, then spread over several blocks among normal values of many scales */
    ck_assert(check_contiguous(MPT_DT_F32, edges, ne, "f32 edges"));
    size_t n = 3 * MPT_TS_BLOCK + 77;
    uint32_t *buf = malloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        float f = (float)(ldexp(rng_normal(), (int)(rng_next() % 60) - 30));
        uint32_t u;
        memcpy(&u, &f, 4);
        buf[i] = rng_next() % 5 == 0 ? edges[rng_next() % ne] : u;
    }
    char ctx[64];
    snprintf(ctx, sizeof ctx, "f32 adversarial (%s)", path);
    ck_assert_msg(check_contiguous(MPT_DT_F32, buf, n, ctx), "%s differs (see stderr)", ctx);
    free(buf);
}
END_TEST

/* Normal data at scales 1e-8 .. 1e6, every dtype, a little over two blocks. */
START_TEST(test_random_scales)
{
    const char *path = use_path(_i);
    const double scales[] = {1e-8, 1e-6, 1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6};
    size_t n = 2 * MPT_TS_BLOCK + 501;
    void *buf = malloc(n * 8);
    for (int d = 0; d < N_DTYPES; d++)
        for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
            mpt_dtype t = ALL_DTYPES[d];
            fill_mixed(t, buf, n, scales[k], 0);
            char ctx[96];
            snprintf(ctx, sizeof ctx, "%s normal(0, %g) (%s)", mpt_dtype_name(t), scales[k], path);
            ck_assert_msg(check_contiguous(t, buf, n, ctx), "%s differs (see stderr)", ctx);
        }
    free(buf);
}
END_TEST

/* Blocks alternating between data spread over ~250 binades (the vector path gives up its
 * histogram window) and normal data (it takes one again), with special values mixed in. */
START_TEST(test_spread_changes)
{
    const char *path = use_path(_i);
    const mpt_dtype types[] = {MPT_DT_F32, MPT_DT_F16, MPT_DT_BF16};
    size_t n = 9 * MPT_TS_BLOCK + 100;
    unsigned char *buf = malloc(n * 4);
    for (size_t k = 0; k < 3; k++) {
        mpt_dtype t = types[k];
        for (size_t i = 0; i < n; i++) {
            int spread = (i / MPT_TS_BLOCK) % 3 != 2;
            double x = spread ? ldexp(1 + rng_unit(), (int)(rng_next() % 260) - 140) : rng_normal();
            store_value(t, buf, i, rng_next() % 2 ? x : -x);
        }
        fill_mixed(t, buf + 4 * mpt_dtype_size(t) * MPT_TS_BLOCK, 50, 1.0, 1);
        char ctx[96];
        snprintf(ctx, sizeof ctx, "%s spread changes (%s)", mpt_dtype_name(t), path);
        ck_assert_msg(check_contiguous(t, buf, n, ctx), "%s differs (see stderr)", ctx);
    }
    free(buf);
}
END_TEST

/* Lengths 0..67 (not multiples of any vector width) at byte offsets 0..es+1 (misaligned, even
 * within an element), with special values mixed in. */
START_TEST(test_lengths_and_alignment)
{
    const char *path = use_path(_i);
    unsigned char *raw = malloc(80 * 8 + 16);
    for (int d = 0; d < N_DTYPES; d++) {
        mpt_dtype t = ALL_DTYPES[d];
        size_t es = mpt_dtype_size(t);
        for (size_t off = 0; off <= es + 1; off++)
            for (size_t n = 0; n <= 67; n++) {
                unsigned char *p = raw + off;
                fill_mixed(t, p, n, 1.0, 1);
                char ctx[96];
                snprintf(ctx, sizeof ctx, "%s n=%zu offset=%zu (%s)", mpt_dtype_name(t), n, off,
                         path);
                ck_assert_msg(check_contiguous(t, p, n, ctx), "%s differs (see stderr)", ctx);
            }
    }
    free(raw);
}
END_TEST

/* fp64: narrow counts round the exact value once. Each case differs from a cast through fp32. */
START_TEST(test_f64_direct_rounding)
{
    use_path(_i);
    static const struct {
        double x;
        mpt_narrow n;
        int over, sub, flush;
    } cases[] = {
        {0x1p-25 * (1 + 0x1p-40), MPT_NARROW_FP16, 0, 1, 0}, /* via fp32: 2^-25 -> flush */
        {65520.0 - 0x1p-30, MPT_NARROW_FP16, 0, 0, 0},       /* via fp32: 65520 -> overflow */
        {464.0 + 0x1p-40, MPT_NARROW_E4M3, 1, 0, 0},         /* via fp32: 464 -> 448 */
        {0x1p-17 * (1 + 0x1p-45), MPT_NARROW_E5M2, 0, 1, 0},
        {0x1p200, MPT_NARROW_BF16, 1, 0, 0}, /* beyond fp32: overflows everything */
        {0x1p-1074, MPT_NARROW_BF16, 0, 0, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double v[2] = {cases[k].x, -cases[k].x};
        mpt_stats s;
        mpt_stats_init(&s);
        mpt_stats_add(&s, MPT_DT_F64, v, 2);
        const mpt_narrow_counts *c = &s.narrow[cases[k].n];
        ck_assert_msg(c->overflow == 2u * cases[k].over && c->subnormal == 2u * cases[k].sub &&
                          c->flush == 2u * cases[k].flush,
                      "x = %a narrow %d: over %llu sub %llu flush %llu", cases[k].x,
                      (int)cases[k].n, (unsigned long long)c->overflow,
                      (unsigned long long)c->subnormal, (unsigned long long)c->flush);
        ck_assert(check_contiguous(MPT_DT_F64, v, 2, "f64 case"));
    }
    /* extremes of fp64 itself: buckets clamp at 2^127 and below 2^-126; DBL_MAX^2 is Inf */
    double ext[] = {DBL_MAX, -DBL_MAX, 0x1p128, 0x1p-127, DBL_TRUE_MIN, -DBL_MIN, 0.0,
                    -0.0,    NAN,      -NAN,    INFINITY, -INFINITY,    1.0};
    mpt_stats s;
    mpt_stats_init(&s);
    mpt_stats_add(&s, MPT_DT_F64, ext, sizeof ext / sizeof ext[0]);
    ck_assert_uint_eq(s.hist[mpt_hist_bucket_of_exp(MPT_HIST_MAX_EXP)], 3);
    ck_assert_uint_eq(s.hist[MPT_HIST_SUBNORMAL], 3);
    ck_assert_uint_eq(s.subnormal, 1);
    ck_assert(check_contiguous(MPT_DT_F64, ext, sizeof ext / sizeof ext[0], "f64 extremes"));
}
END_TEST

/* Summing 2^22 - 1 equal values after 2^30: with v = 0.75 ulp of the running total a plain
 * running sum in double drifts by a quarter ulp per add; with v = 0.65 ulp the block sums are not
 * multiples of that ulp, so adding the blocks in sequence drifts too (by more than the bound:
 * figures in docs/tensor-stats.md). The blocked/pairwise sum must stay within the bound. */
START_TEST(test_sum_does_not_drift)
{
    const char *path = use_path(_i);
    size_t n = (size_t)1 << 22;
    float *buf = malloc(n * 4);
    const float vs[] = {0x1.8p-23f, (float)(1.3 * 0x1p-23)};
    for (size_t k = 0; k < 2; k++) {
        buf[0] = 0x1p30f;
        for (size_t i = 1; i < n; i++)
            buf[i] = vs[k];
        /* exact sum as hi + lo: (n - 1) v is exact in double (22 + 24 bits), Fast2Sum */
        double p = (double)(n - 1) * vs[k], hi = 0x1p30 + p, lo = (0x1p30 - hi) + p;
        double naive = 0, sabs = 0x1p30 + p;
        for (size_t i = 0; i < n; i++)
            naive += buf[i];
        double tol = gamma_h(bound_h(n, 0)) * sabs;
        /* the test can fail: the plain running sum is outside the bound */
        ck_assert_msg(fabs((naive - hi) - lo) > tol, "naive error %g within %g",
                      fabs((naive - hi) - lo), tol);
        mpt_stats s;
        mpt_stats_init(&s);
        mpt_stats_add(&s, MPT_DT_F32, buf, n);
        ck_assert_msg(fabs((s.sum - hi) - lo) <= tol, "%s v=%a: sum %.17g exact %.17g + %g tol %g",
                      path, (double)vs[k], s.sum, hi, lo, tol);
    }
    free(buf);
}
END_TEST

/* ---- tests: views --------------------------------------------------------------------------- */

/* Fills the extent with NaN sentinels, writes values at the view's elements only, and checks the
 * view's stats against the reference over exactly those elements (a read outside the view would
 * count a NaN; ASan catches reads past the extent). */
static int check_view(const mpt_matrix_view *v0, const char *ctx)
{
    mpt_matrix_view v = *v0;
    size_t es = mpt_dtype_size(v.dtype);
    int col = v.order == MPT_ORDER_COL;
    int64_t inner = col ? v.rows : v.cols, outer = col ? v.cols : v.rows;
    size_t extent = (size_t)((v.batch - 1) * v.batch_stride + (outer - 1) * v.ld + inner);
    unsigned char *buf = malloc(extent * es);
    for (size_t i = 0; i < extent; i++)
        store_value(v.dtype, buf, i, NAN);
    size_t n = (size_t)(v.batch * inner * outer);
    unsigned char *gathered = malloc(n * es + 1);
    for (int64_t b = 0; b < v.batch; b++) /* overlapping batches: the last write wins */
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                double x = rng_next() % 16 ? rng_normal() : rng_next() % 2 ? INFINITY : 0.0;
                store_value(v.dtype, buf, (size_t)(b * v.batch_stride + o * v.ld + i), x);
            }
    size_t k = 0;
    /* gather after writing: overlapping batches read what is there */
    for (int64_t b = 0; b < v.batch; b++)
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                size_t off = (size_t)(b * v.batch_stride + o * v.ld + i);
                memcpy(gathered + k++ * es, buf + off * es, es);
            }
    v.data = buf;
    mpt_stats s;
    ref_stats r;
    mpt_stats_init(&s);
    ref_init(&r);
    char err[160] = "";
    int rc = mpt_stats_add_view(&s, &v, err, sizeof err);
    ref_add_all(&r, v.dtype, gathered, n);
    int ok = rc == 0 && stats_match(&s, &r, 1 + (v.dtype == MPT_DT_F64), ctx);
    if (rc != 0) fprintf(stderr, "%s: rejected: %s\n", ctx, err);
    free(buf);
    free(gathered);
    return ok;
}

START_TEST(test_views)
{
    const char *path = use_path(_i);
    /* rows, cols, ld, batch, batch_stride, order */
    static const int64_t shapes[][6] = {
        {7, 5, 7, 1, 0, MPT_ORDER_COL},          {7, 5, 9, 1, 0, MPT_ORDER_COL},
        {5, 7, 9, 1, 0, MPT_ORDER_ROW},          {1, 300, 3, 1, 0, MPT_ORDER_COL},
        {300, 1, 5, 1, 0, MPT_ORDER_ROW},        {37, 41, 40, 3, 40 * 41, MPT_ORDER_COL},
        {33, 9, 33, 4, 33 * 9, MPT_ORDER_COL},   {33, 9, 33, 4, 0, MPT_ORDER_COL},
        {9, 33, 40, 3, 0, MPT_ORDER_ROW},        {16, 16, 20, 3, 7, MPT_ORDER_ROW},
        {16, 16, 16, 3, 500, MPT_ORDER_COL},     {1000, 9, 1000, 2, 9100, MPT_ORDER_COL},
        {2, 3000, 3001, 2, 7000, MPT_ORDER_ROW}, {70, 130, 71, 1, 0, MPT_ORDER_COL},
    };
    for (int d = 0; d < N_DTYPES; d++)
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            mpt_matrix_view v = {NULL,         ALL_DTYPES[d], (mpt_order)shapes[k][5],
                                 shapes[k][0], shapes[k][1],  shapes[k][2],
                                 shapes[k][3], shapes[k][4]};
            char ctx[128];
            snprintf(ctx, sizeof ctx, "%s view %lldx%lld ld %lld batch %lld stride %lld %s (%s)",
                     mpt_dtype_name(v.dtype), (long long)v.rows, (long long)v.cols, (long long)v.ld,
                     (long long)v.batch, (long long)v.batch_stride,
                     v.order == MPT_ORDER_COL ? "col" : "row", path);
            ck_assert_msg(check_view(&v, ctx), "%s differs (see stderr)", ctx);
        }
}
END_TEST

START_TEST(test_views_empty)
{
    mpt_stats s, before;
    mpt_stats_init(&s);
    float x = 1.0f;
    mpt_stats_add(&s, MPT_DT_F32, &x, 1);
    before = s;
    const int64_t shapes[][3] = {{0, 5, 0}, {5, 0, 5}, {0, 0, 0}};
    for (size_t k = 0; k < 3; k++)
        for (int order = 0; order < 2; order++) {
            mpt_matrix_view v = {
                NULL, MPT_DT_BF16, (mpt_order)order, shapes[k][0], shapes[k][1], shapes[k][2], 3,
                0};
            char err[128];
            ck_assert_int_eq(mpt_stats_add_view(&s, &v, err, sizeof err), 0);
            ck_assert(memcmp(&s, &before, sizeof s) == 0);
        }
    mpt_stats_add(&s, MPT_DT_F32, &x, 0);  /* n == 0: nothing */
    mpt_stats_add(&s, MPT_DT_TF32, &x, 1); /* not a storage dtype: nothing */
    ck_assert(memcmp(&s, &before, sizeof s) == 0);
    mpt_stats e;
    mpt_stats_init(&e);
    ck_assert(e.count == 0 && e.min == INFINITY && e.max == -INFINITY && e.absmax == 0 &&
              e.min_nonzero_abs == INFINITY && e.sum == 0 && mpt_stats_finite(&e) == 0);
}
END_TEST

START_TEST(test_views_invalid)
{
    static float data[64];
    const struct {
        mpt_matrix_view v;
        const char *msg;
    } bad[] = {
        {{NULL, MPT_DT_F32, MPT_ORDER_COL, 2, 2, 2, 1, 0}, "NULL data"},
        {{data, MPT_DT_TF32, MPT_ORDER_COL, 2, 2, 2, 1, 0}, "compute format"},
        {{data, (mpt_dtype)99, MPT_ORDER_COL, 2, 2, 2, 1, 0}, "not a supported storage"},
        {{data, MPT_DT_UNKNOWN, MPT_ORDER_COL, 2, 2, 2, 1, 0}, "not a supported storage"},
        {{data, MPT_DT_F32, (mpt_order)7, 2, 2, 2, 1, 0}, "neither column- nor row-major"},
        {{data, MPT_DT_F32, MPT_ORDER_COL, -1, 2, 2, 1, 0}, "negative size"},
        {{data, MPT_DT_F32, MPT_ORDER_COL, 2, -2, 2, 1, 0}, "negative size"},
        {{data, MPT_DT_F32, MPT_ORDER_COL, 2, 2, -2, 1, 0}, "negative size"},
        {{data, MPT_DT_F32, MPT_ORDER_COL, 2, 2, 2, 2, -4}, "negative size"},
        {{data, MPT_DT_F32, MPT_ORDER_COL, 2, 2, 2, 0, 0}, "batch 0 < 1"},
        {{data, MPT_DT_F32, MPT_ORDER_COL, 3, 2, 2, 1, 0}, "ld 2 < rows 3"},
        {{data, MPT_DT_F32, MPT_ORDER_ROW, 2, 3, 2, 1, 0}, "ld 2 < cols 3"},
        {{data, MPT_DT_F32, MPT_ORDER_COL, INT64_MAX / 2, 4, INT64_MAX / 2, 1, 0}, "overflows"},
        {{data, MPT_DT_F64, MPT_ORDER_COL, (int64_t)1 << 61, 1, (int64_t)1 << 61, 1, 0},
         "overflows"},
        {{data, MPT_DT_F32, MPT_ORDER_COL, 4, 4, 4, INT64_MAX, 0}, "overflows"},
        {{data, MPT_DT_F32, MPT_ORDER_COL, 4, 4, 4, 3, INT64_MAX / 2}, "overflows"},
    };
    mpt_stats s, before;
    mpt_stats_init(&s);
    mpt_stats_add(&s, MPT_DT_F32, data, 64);
    before = s;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char err[160] = "";
        ck_assert_int_eq(mpt_stats_add_view(&s, &bad[k].v, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[k].msg) != NULL, "case %zu: message '%s', want '%s'", k, err,
                      bad[k].msg);
        ck_assert_int_eq(mpt_stats_add_view(&s, &bad[k].v, NULL, 0), -1);
        ck_assert_msg(memcmp(&s, &before, sizeof s) == 0, "case %zu touched the stats", k);
    }
    char err[64];
    ck_assert_int_eq(mpt_stats_add_view(NULL, &bad[0].v, err, sizeof err), -1);
    ck_assert_int_eq(mpt_stats_add_view(&s, NULL, err, sizeof err), -1);
}
END_TEST

/* ---- tests: merge --------------------------------------------------------------------------- */

static int check_split(mpt_dtype t, const unsigned char *buf, size_t n, const size_t *cuts,
                       int ncuts, const char *ctx)
{
    size_t es = mpt_dtype_size(t);
    mpt_stats whole, merged, part;
    mpt_stats_init(&whole);
    mpt_stats_init(&merged);
    mpt_stats_add(&whole, t, buf, n);
    size_t at = 0;
    for (int k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        mpt_stats_init(&part);
        mpt_stats_add(&part, t, buf + at * es, end - at);
        mpt_stats_merge(&merged, &part);
        at = end;
    }
    /* counts, min/max, hist: merged == whole exactly; sums: both within the bound + merges */
    ref_stats r;
    ref_init(&r);
    r.s = whole;
    r.sum = whole.sum;
    r.sq = whole.sumsq;
    for (size_t i = 0; i < n; i++) {
        double x = mpt_dtype_load(t, buf, i);
        if (isfinite(x)) {
            r.sabs += 2 * fabs(x);
            r.sqabs += 2 * x * x;
        }
    }
    return stats_match(&merged, &r, ncuts + 2, ctx);
}

START_TEST(test_merge_every_cut)
{
    const char *path = use_path(_i);
    size_t n = 70;
    unsigned char buf[70 * 8];
    for (int d = 0; d < N_DTYPES; d++) {
        mpt_dtype t = ALL_DTYPES[d];
        fill_mixed(t, buf, n, 1.0, 1);
        for (size_t cut = 0; cut <= n; cut++) {
            char ctx[96];
            snprintf(ctx, sizeof ctx, "%s cut at %zu (%s)", mpt_dtype_name(t), cut, path);
            ck_assert_msg(check_split(t, buf, n, &cut, 1, ctx), "%s differs (see stderr)", ctx);
        }
    }
    mpt_stats a, e;
    mpt_stats_init(&a);
    mpt_stats_add(&a, MPT_DT_F16, buf, 10);
    mpt_stats b = a;
    mpt_stats_init(&e);
    mpt_stats_merge(&a, &e); /* empty is the identity */
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
}
END_TEST

START_TEST(test_merge_random_cuts)
{
    const char *path = use_path(_i);
    size_t n = 5 * MPT_TS_BLOCK + 1234;
    unsigned char *buf = malloc(n * 8);
    for (int d = 0; d < N_DTYPES; d++) {
        mpt_dtype t = ALL_DTYPES[d];
        fill_mixed(t, buf, n, 10.0, 1);
        for (int trial = 0; trial < 6; trial++) {
            size_t cuts[8];
            int nc = 1 + (int)(rng_next() % 8);
            for (int k = 0; k < nc; k++)
                cuts[k] = rng_next() % (n + 1);
            for (int a = 1; a < nc; a++) /* sort */
                for (int b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
                    size_t tmp = cuts[b];
                    cuts[b] = cuts[b - 1];
                    cuts[b - 1] = tmp;
                }
            char ctx[96];
            snprintf(ctx, sizeof ctx, "%s %d random cuts (%s)", mpt_dtype_name(t), nc, path);
            ck_assert_msg(check_split(t, buf, n, cuts, nc, ctx), "%s differs (see stderr)", ctx);
        }
    }
    free(buf);
}
END_TEST

/* ---- tests: cheap pass ---------------------------------------------------------------------- */

START_TEST(test_cheap)
{
    const char *path = use_path(_i);
    unsigned char *buf = malloc(3000 * 8 + 8);
    for (int d = 0; d < N_DTYPES; d++) {
        mpt_dtype t = ALL_DTYPES[d];
        for (size_t n = 0; n < 3000; n += n < 70 ? 1 : 977) {
            unsigned char *p = buf + n % 3; /* misaligned too */
            fill_mixed(t, p, n, 100.0, 1);
            mpt_cheap_stats c, half;
            memset(&c, 0, sizeof c);
            memset(&half, 0, sizeof half);
            mpt_cheap_stats_add(&c, t, p, n);
            uint64_t nan = 0, inf = 0;
            double absmax = 0;
            for (size_t i = 0; i < n; i++) {
                double x = mpt_dtype_load(t, p, i);
                if (isnan(x))
                    nan++;
                else if (isinf(x))
                    inf++;
                else if (fabs(x) > absmax)
                    absmax = fabs(x);
            }
            ck_assert_msg(c.count == n && c.nan == nan && c.inf == inf && c.absmax == absmax,
                          "%s n=%zu (%s): count %llu nan %llu/%llu inf %llu/%llu absmax %a/%a",
                          mpt_dtype_name(t), n, path, (unsigned long long)c.count,
                          (unsigned long long)c.nan, (unsigned long long)nan,
                          (unsigned long long)c.inf, (unsigned long long)inf, c.absmax, absmax);
            mpt_cheap_stats_add(&half, t, p, n / 2);
            mpt_cheap_stats rest;
            memset(&rest, 0, sizeof rest);
            mpt_cheap_stats_add(&rest, t, p + n / 2 * mpt_dtype_size(t), n - n / 2);
            mpt_cheap_stats_merge(&half, &rest);
            ck_assert(memcmp(&half, &c, sizeof c) == 0);
        }
    }
    free(buf);
}
END_TEST

extern Suite *suite_tensor_stats(void);

Suite *suite_tensor_stats(void)
{
    Suite *s = suite_create("tensor_stats");
    TCase *tr = tcase_create("reference");
    tcase_set_timeout(tr, 60);
    tcase_add_test(tr, test_thresholds_documented);
    tcase_add_test(tr, test_reference_rounders_agree);
    tcase_add_loop_test(tr, test_every_pattern, 0, 2);
    tcase_add_loop_test(tr, test_f32_adversarial, 0, 2);
    tcase_add_loop_test(tr, test_random_scales, 0, 2);
    tcase_add_loop_test(tr, test_spread_changes, 0, 2);
    tcase_add_loop_test(tr, test_lengths_and_alignment, 0, 2);
    tcase_add_loop_test(tr, test_f64_direct_rounding, 0, 2);
    tcase_add_loop_test(tr, test_sum_does_not_drift, 0, 2);
    suite_add_tcase(s, tr);
    TCase *tv = tcase_create("views");
    tcase_set_timeout(tv, 60);
    tcase_add_loop_test(tv, test_views, 0, 2);
    tcase_add_test(tv, test_views_empty);
    tcase_add_test(tv, test_views_invalid);
    suite_add_tcase(s, tv);
    TCase *tm = tcase_create("merge");
    tcase_set_timeout(tm, 60);
    tcase_add_loop_test(tm, test_merge_every_cut, 0, 2);
    tcase_add_loop_test(tm, test_merge_random_cuts, 0, 2);
    tcase_add_loop_test(tm, test_cheap, 0, 2);
    suite_add_tcase(s, tm);
    return s;
}
