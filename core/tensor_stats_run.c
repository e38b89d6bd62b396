/*
 * One statistics pass (core/tensor_stats_internal.h): the narrow-format thresholds, the
 * blocked/pairwise sums, the portable scalar path and the fp8/fp64 paths, and the conversion of
 * the AVX2 path's raw form into the final counters. The public API is core/tensor_stats.c.
 *
 * Paths, by dtype:
 *   fp32, fp16, bf16   AVX2 kernels (core/tensor_stats_avx2.c) when the CPU has AVX2+FMA+F16C,
 *                      else the scalar loop below; both give identical counts, min and max.
 *   e4m3, e5m2         a 256-bin histogram of the raw bytes, then every statistic from it
 *                      (each distinct value is classified once, with its multiplicity).
 *   fp64               the scalar loop in double (narrow counts round the exact fp64 value once,
 *                      as a direct fp64 -> narrow cast does; see docs/tensor-stats.md).
 *
 * Sums: MPT_TS_LANES double accumulators per block of MPT_TS_BLOCK elements, lanes reduced as a
 * tree, blocks combined pairwise (mpt_ts_pairwise_push). docs/tensor-stats.md states the error
 * bound that tests/unit/test_tensor_stats.c checks.
 */
#include "core/tensor_stats.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/tensor_stats_internal.h"

/* ---- thresholds ------------------------------------------------------------------------- */

static mpt_ts_tables g_tables;
static pthread_once_t g_tables_once = PTHREAD_ONCE_INIT;

static const mpt_dtype narrow_dtypes[MPT_NARROW_COUNT] = {MPT_DT_F16, MPT_DT_BF16, MPT_DT_E4M3,
                                                          MPT_DT_E5M2};

mpt_dtype mpt_narrow_dtype(mpt_narrow n)
{
    return (unsigned)n < MPT_NARROW_COUNT ? narrow_dtypes[n] : MPT_DT_UNKNOWN;
}

int mpt_ts_src_index(mpt_dtype t)
{
    return t == MPT_DT_F32 ? 0 : t == MPT_DT_F16 ? 1 : t == MPT_DT_BF16 ? 2 : -1;
}

/*
 * RNE to a format with m explicit mantissa bits, min normal 2^emin, max finite M:
 *  - the largest finite value has an odd last mantissa bit in the IEEE-like formats (fp16
 *    65504 = 2047 * 2^5), so the midpoint above it rounds up to Inf: overflow iff |x| >= M +
 *    ulp/2; e4m3fn's 448 = 14 * 2^5 is even, so 464 rounds back to 448: overflow iff |x| > 464.
 *  - half the smallest subnormal ties to the even 0: flush iff |x| <= min_subnormal / 2.
 *  - the largest subnormal's mantissa is all ones (odd), so the midpoint between it and the
 *    min normal rounds up: subnormal iff |x| < min_normal - min_subnormal / 2.
 * All these reals are exact in fp32 (at most m + 2 significant bits), so each becomes one bound
 * on |x|'s fp32 bit pattern.
 */
static void limits_from_info(const mpt_dtype_info *fi, mpt_ts_limits *l)
{
    double ulp_max = ldexp(1.0, fi->max_exp - fi->man_bits);
    double top = fi->max_finite / ulp_max; /* the largest significand, an integer */
    l->over = fi->max_finite + ulp_max / 2;
    l->over_inclusive = fmod(top, 2.0) == 1.0;
    l->flush = fi->min_subnormal / 2;
    l->sub = fi->min_normal - fi->min_subnormal / 2;
    l->lt[MPT_TS_OVER] = mpt_f32_bits((float)l->over) + (l->over_inclusive ? 0u : 1u);
    l->lt[MPT_TS_FLUSH] = mpt_f32_bits((float)l->flush) + 1u;
    l->lt[MPT_TS_SUB] = mpt_f32_bits((float)l->sub);
}

static uint32_t src_decode_bits(int src, uint32_t p)
{
    if (src == 1) return mpt_f32_bits(mpt_f16_to_f32((uint16_t)p));
    if (src == 2) return p << 16;
    return p;
}

/* Smallest positive source pattern whose fp32 bits are >= target (Inf's pattern if none). */
static uint32_t src_first_at_least(int src, uint32_t target)
{
    uint32_t lo = 0, hi = src == 0 ? 0x7f800000u : src == 1 ? 0x7c00u : 0x7f80u;
    if (src == 0) return target < hi ? target : hi;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (src_decode_bits(src, mid) >= target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void tables_init(void)
{
    mpt_ts_tables *tb = &g_tables;
    for (int n = 0; n < MPT_NARROW_COUNT; n++)
        limits_from_info(mpt_dtype_get_info(narrow_dtypes[n]), &tb->lim[n]);
    for (int src = 0; src < 3; src++) {
        for (int t = 0; t < MPT_TS_NTHR; t++) {
            uint32_t lt32 = tb->lim[t / 3].lt[t % 3];
            uint32_t bin = lt32 >> 23;
            mpt_ts_srcthr *st = &tb->src[src][t];
            st->bin = (uint8_t)bin;
            st->lt = src_first_at_least(src, lt32);
            st->lo = bin == 0 ? 0 : src_first_at_least(src, bin << 23);
            uint32_t end = src_first_at_least(src, (bin + 1) << 23);
            st->kind = st->lt == st->lo ? MPT_TS_ALIGNED
                       : st->lt >= end  ? MPT_TS_WHOLE
                                        : MPT_TS_PARTIAL;
            if (bin != 0 && st->kind == MPT_TS_PARTIAL)
                tb->partial_in_bin[src][bin] |= (uint16_t)(1u << t);
        }
    }
    for (int t = 0; t < MPT_DT_COUNT; t++) {
        const mpt_dtype_info *fi = mpt_dtype_get_info((mpt_dtype)t);
        tb->own_min_normal[t] =
            fi->min_normal >= 0x1p-126 ? mpt_f32_bits((float)fi->min_normal) : 0x00800000u;
    }
}

const mpt_ts_tables *mpt_ts_tables_get(void)
{
    pthread_once(&g_tables_once, tables_init);
    return &g_tables;
}

/* ---- sums ------------------------------------------------------------------------------- */

void mpt_ts_pairwise_push(mpt_ts_pairwise *p, double sum, double sumsq)
{
    int i = p->top++;
    p->sum[i] = sum;
    p->sumsq[i] = sumsq;
    p->level[i] = 0;
    while (i > 0 && p->level[i - 1] == p->level[i]) {
        p->sum[i - 1] += p->sum[i];
        p->sumsq[i - 1] += p->sumsq[i];
        p->level[i - 1]++;
        i = --p->top - 1;
    }
}

/* Smallest entries first: an element passes through at most floor(log2(pushes)) + 1 adds. */
static void pairwise_total(const mpt_ts_pairwise *p, double *sum, double *sumsq)
{
    double s = 0, q = 0;
    for (int i = p->top - 1; i >= 0; i--) {
        s = p->sum[i] + s;
        q = p->sumsq[i] + q;
    }
    *sum = s;
    *sumsq = q;
}

/* Tree reduction of the lanes (depth log2(MPT_TS_LANES)), pushed as one block; lanes reset. */
static void lanes_push(mpt_ts_run *r, double lanes[2][MPT_TS_LANES])
{
    for (int k = 0; k < 2; k++)
        for (int w = MPT_TS_LANES / 2; w >= 1; w /= 2)
            for (int i = 0; i < w; i++)
                lanes[k][i] += lanes[k][i + w];
    mpt_ts_pairwise_push(&r->pw, lanes[0][0], lanes[1][0]);
    memset(lanes, 0, sizeof(double) * 2 * MPT_TS_LANES);
}

/* ---- scalar path ------------------------------------------------------------------------ */

/* One fp32-representable value (as fp32 bits) with multiplicity w. */
static inline void scalar_one(mpt_ts_run *r, const mpt_ts_limits *lim, uint32_t own_mn, uint32_t u,
                              uint64_t w, double *ls, double *lq)
{
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) {
        if (a > 0x7f800000u) {
            r->nan += w;
            r->hist[MPT_HIST_NAN] += w;
        } else {
            if (u >> 31)
                r->ninf += w;
            else
                r->pinf += w;
            r->hist[MPT_HIST_INF] += w;
        }
        return;
    }
    double d = mpt_f32_from_bits(u);
    if (d < r->min) r->min = d;
    if (d > r->max) r->max = d;
    if (a == 0) {
        r->zero += w;
        r->hist[MPT_HIST_ZERO] += w;
        return;
    }
    double ad = fabs(d);
    if (ad > r->absmax) r->absmax = ad;
    if (ad < r->min_nonzero_abs) r->min_nonzero_abs = ad;
    uint32_t e = a >> 23;
    r->hist[e == 0 ? MPT_HIST_SUBNORMAL : e + 1] += w;
    if (a < own_mn) r->subnormal += w;
    for (int n = 0; n < MPT_NARROW_COUNT; n++) {
        const uint32_t *lt = lim[n].lt;
        if (a >= lt[MPT_TS_OVER])
            r->narrow[n].overflow += w;
        else if (a < lt[MPT_TS_FLUSH])
            r->narrow[n].flush += w;
        else if (a < lt[MPT_TS_SUB])
            r->narrow[n].subnormal += w;
    }
    double wd = (double)w; /* w * d and w * d^2 are exact for the fp8 multiplicities used */
    *ls += wd * d;
    *lq += wd * (d * d);
}

static inline uint32_t load_f32_bits(mpt_dtype t, const unsigned char *p, size_t i)
{
    if (t == MPT_DT_F32) {
        uint32_t u;
        memcpy(&u, p + 4 * i, 4);
        return u;
    }
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return t == MPT_DT_F16 ? mpt_f32_bits(mpt_f16_to_f32(h)) : (uint32_t)h << 16;
}

/* The narrow counts of one finite nonzero |x| (fp32 bits). */
static inline void narrow_one(mpt_ts_run *r, const mpt_ts_limits *lim, uint32_t a)
{
    for (int n = 0; n < MPT_NARROW_COUNT; n++) {
        const uint32_t *lt = lim[n].lt;
        if (a >= lt[MPT_TS_OVER])
            r->narrow[n].overflow++;
        else if (a < lt[MPT_TS_FLUSH])
            r->narrow[n].flush++;
        else if (a < lt[MPT_TS_SUB])
            r->narrow[n].subnormal++;
    }
}

/* The hot scalar loop: scalar_one for w = 1 with the running extremes kept in locals, and one
 * test that skips the narrow counts for the usual value (normal in every narrow format). */
void mpt_ts_scalar_bits(mpt_ts_run *r, const void *data, size_t n, double lanes[2][MPT_TS_LANES])
{
    const mpt_ts_tables *tb = mpt_ts_tables_get();
    const unsigned char *p = data;
    mpt_dtype t = r->dtype;
    uint32_t own_mn = tb->own_min_normal[t];
    uint32_t all_normal_lo = 0, all_normal_hi = 0xffffffffu;
    for (int k = 0; k < MPT_NARROW_COUNT; k++) {
        if (tb->lim[k].lt[MPT_TS_SUB] > all_normal_lo) all_normal_lo = tb->lim[k].lt[MPT_TS_SUB];
        if (tb->lim[k].lt[MPT_TS_OVER] < all_normal_hi) all_normal_hi = tb->lim[k].lt[MPT_TS_OVER];
    }
    float mn = INFINITY, mx = -INFINITY;
    uint32_t amax = 0, amin = 0x7f800000u;
    uint64_t zero = 0, sub = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = load_f32_bits(t, p, i);
        uint32_t a = u & 0x7fffffffu;
        if (a >= 0x7f800000u) {
            double nothing = 0;
            scalar_one(r, tb->lim, own_mn, u, 1, &nothing, &nothing);
            continue;
        }
        float f = mpt_f32_from_bits(u);
        mn = f < mn ? f : mn;
        mx = f > mx ? f : mx;
        if (a == 0) {
            zero++;
            continue;
        }
        amax = a > amax ? a : amax;
        amin = a < amin ? a : amin;
        uint32_t e = a >> 23;
        r->hist[e == 0 ? MPT_HIST_SUBNORMAL : e + 1]++;
        sub += a < own_mn;
        if (a < all_normal_lo || a >= all_normal_hi) narrow_one(r, tb->lim, a);
        double d = f;
        int l = (int)(i % MPT_TS_LANES);
        lanes[0][l] += d;
        lanes[1][l] += d * d;
    }
    r->zero += zero;
    r->hist[MPT_HIST_ZERO] += zero;
    r->subnormal += sub;
    if (mn < r->min) r->min = mn;
    if (mx > r->max) r->max = mx;
    if (amax != 0 && mpt_f32_from_bits(amax) > r->absmax) r->absmax = mpt_f32_from_bits(amax);
    if (amin < 0x7f800000u && mpt_f32_from_bits(amin) < r->min_nonzero_abs)
        r->min_nonzero_abs = mpt_f32_from_bits(amin);
    r->count += n;
}

static void scalar_feed_f32ish(mpt_ts_run *r, const void *data, size_t n)
{
    double lanes[2][MPT_TS_LANES] = {{0}};
    size_t es = mpt_dtype_size(r->dtype);
    for (size_t i = 0; i < n; i += MPT_TS_BLOCK) {
        size_t m = n - i < MPT_TS_BLOCK ? n - i : MPT_TS_BLOCK;
        mpt_ts_scalar_bits(r, (const unsigned char *)data + i * es, m, lanes);
        lanes_push(r, lanes);
    }
}

/* fp8: count the bytes, then classify each of the 256 values once with its multiplicity.
 * Chunks of at most 2^28 elements keep every count * value product exact in double. */
static void feed_fp8(mpt_ts_run *r, const uint8_t *p, size_t n)
{
    const mpt_ts_tables *tb = mpt_ts_tables_get();
    uint32_t own_mn = tb->own_min_normal[r->dtype];
    while (n > 0) {
        size_t m = n < ((size_t)1 << 28) ? n : (size_t)1 << 28;
        uint32_t h[4][256];
        memset(h, 0, sizeof h);
        size_t i = 0;
        for (; i + 4 <= m; i += 4) {
            h[0][p[i]]++;
            h[1][p[i + 1]]++;
            h[2][p[i + 2]]++;
            h[3][p[i + 3]]++;
        }
        for (; i < m; i++)
            h[0][p[i]]++;
        double lanes[2][MPT_TS_LANES] = {{0}};
        for (int b = 0; b < 256; b++) {
            uint64_t c = (uint64_t)h[0][b] + h[1][b] + h[2][b] + h[3][b];
            if (c == 0) continue;
            float f =
                r->dtype == MPT_DT_E4M3 ? mpt_e4m3_to_f32((uint8_t)b) : mpt_e5m2_to_f32((uint8_t)b);
            int l = b % MPT_TS_LANES;
            scalar_one(r, tb->lim, own_mn, mpt_f32_bits(f), c, &lanes[0][l], &lanes[1][l]);
        }
        lanes_push(r, lanes);
        r->count += m;
        p += m;
        n -= m;
    }
}

/* fp64: thresholds compared as reals (one rounding of the exact value). */
static void feed_f64(mpt_ts_run *r, const unsigned char *p, size_t n)
{
    const mpt_ts_tables *tb = mpt_ts_tables_get();
    double lanes[2][MPT_TS_LANES] = {{0}};
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, p + 8 * i, 8);
        uint64_t a = u & 0x7fffffffffffffffu;
        if (a >= 0x7ff0000000000000u) {
            if (a > 0x7ff0000000000000u) {
                r->nan++;
                r->hist[MPT_HIST_NAN]++;
            } else {
                if (u >> 63)
                    r->ninf++;
                else
                    r->pinf++;
                r->hist[MPT_HIST_INF]++;
            }
        } else {
            double d;
            memcpy(&d, &u, 8);
            if (d < r->min) r->min = d;
            if (d > r->max) r->max = d;
            if (a == 0) {
                r->zero++;
                r->hist[MPT_HIST_ZERO]++;
            } else {
                double ad = fabs(d);
                if (ad > r->absmax) r->absmax = ad;
                if (ad < r->min_nonzero_abs) r->min_nonzero_abs = ad;
                if (ad < 0x1p-126) {
                    r->hist[MPT_HIST_SUBNORMAL]++;
                } else {
                    int e = (int)(a >> 52) - 1023;
                    r->hist[mpt_hist_bucket_of_exp(e > MPT_HIST_MAX_EXP ? MPT_HIST_MAX_EXP : e)]++;
                }
                if (a < 0x0010000000000000u) r->subnormal++;
                for (int k = 0; k < MPT_NARROW_COUNT; k++) {
                    const mpt_ts_limits *l = &tb->lim[k];
                    if (l->over_inclusive ? ad >= l->over : ad > l->over)
                        r->narrow[k].overflow++;
                    else if (ad <= l->flush)
                        r->narrow[k].flush++;
                    else if (ad < l->sub)
                        r->narrow[k].subnormal++;
                }
                int l = (int)(i % MPT_TS_LANES);
                lanes[0][l] += d;
                lanes[1][l] += d * d;
            }
        }
        if (i % MPT_TS_BLOCK == MPT_TS_BLOCK - 1) lanes_push(r, lanes);
    }
    if (n % MPT_TS_BLOCK) lanes_push(r, lanes);
    r->count += n;
}

/* ---- one pass --------------------------------------------------------------------------- */

void mpt_ts_begin(mpt_ts_run *r, mpt_dtype t)
{
    memset(r, 0, offsetof(mpt_ts_run, vec));
    r->dtype = t;
    r->min = INFINITY;
    r->max = -INFINITY;
    r->min_nonzero_abs = INFINITY;
    r->vector = mpt_ts_src_index(t) >= 0 && mpt_ts_use_avx2();
    if (r->vector) {
        memset(&r->vec, 0, offsetof(mpt_ts_vec, keys));
        r->vec.min = INFINITY;
        r->vec.max = -INFINITY;
        r->vec.minnz_bits = 0x7f800000u;
        r->vec.base = -1;
    }
}

void mpt_ts_feed(mpt_ts_run *r, const void *data, size_t n)
{
    if (n == 0) return;
    switch (r->dtype) {
    case MPT_DT_F32:
    case MPT_DT_F16:
    case MPT_DT_BF16:
        if (r->vector)
            mpt_ts_avx2_feed(r, data, n);
        else
            scalar_feed_f32ish(r, data, n);
        break;
    case MPT_DT_E4M3:
    case MPT_DT_E5M2:
        feed_fp8(r, data, n);
        break;
    case MPT_DT_F64:
        feed_f64(r, data, n);
        break;
    default:
        break;
    }
}

/* The vector path's raw form -> final form: every count below a threshold is the exponent
 * histogram up to the threshold's bin plus the partial count inside it. */
static void vec_finalize(mpt_ts_run *r)
{
    const mpt_ts_vec *v = &r->vec;
    const mpt_ts_tables *tb = mpt_ts_tables_get();
    int src = mpt_ts_src_index(r->dtype);
    uint64_t cum[256]; /* cum[b] = values with exponent byte < b (zeros included) */
    cum[0] = 0;
    for (int b = 1; b < 256; b++)
        cum[b] = cum[b - 1] + v->raw[b - 1];
    uint64_t zero = v->raw[0] - v->sub32;
    uint64_t finite = v->count - v->nan - v->pinf - v->ninf;
    r->count += v->count;
    r->nan += v->nan;
    r->pinf += v->pinf;
    r->ninf += v->ninf;
    r->zero += zero;
    r->subnormal += cum[tb->own_min_normal[r->dtype] >> 23] - zero;
    r->hist[MPT_HIST_ZERO] += zero;
    r->hist[MPT_HIST_SUBNORMAL] += v->sub32;
    for (int b = 1; b < 255; b++)
        r->hist[b + 1] += v->raw[b];
    r->hist[MPT_HIST_INF] += v->pinf + v->ninf;
    r->hist[MPT_HIST_NAN] += v->nan;
    uint64_t below[MPT_TS_NTHR];
    for (int t = 0; t < MPT_TS_NTHR; t++) {
        const mpt_ts_srcthr *st = &tb->src[src][t];
        if (st->bin == 0)
            below[t] = zero + v->sublt[t];
        else if (st->kind == MPT_TS_ALIGNED)
            below[t] = cum[st->bin];
        else if (st->kind == MPT_TS_WHOLE)
            below[t] = cum[st->bin + 1];
        else
            below[t] = cum[st->bin] + v->partial[t];
    }
    for (int n = 0; n < MPT_NARROW_COUNT; n++) {
        const uint64_t *b = &below[3 * n];
        r->narrow[n].overflow += finite - b[MPT_TS_OVER];
        r->narrow[n].flush += b[MPT_TS_FLUSH] - zero;
        r->narrow[n].subnormal += b[MPT_TS_SUB] - b[MPT_TS_FLUSH];
    }
    if (v->min < r->min) r->min = v->min;
    if (v->max > r->max) r->max = v->max;
    if (v->absmax_bits != 0 && mpt_f32_from_bits(v->absmax_bits) > r->absmax)
        r->absmax = mpt_f32_from_bits(v->absmax_bits);
    if (v->minnz_bits < 0x7f800000u && mpt_f32_from_bits(v->minnz_bits) < r->min_nonzero_abs)
        r->min_nonzero_abs = mpt_f32_from_bits(v->minnz_bits);
}

void mpt_ts_end(mpt_ts_run *r, mpt_stats *s)
{
    if (r->vector && r->vec.used) vec_finalize(r);
    mpt_stats part;
    memset(&part, 0, sizeof part);
    part.count = r->count;
    part.nan = r->nan;
    part.pinf = r->pinf;
    part.ninf = r->ninf;
    part.zero = r->zero;
    part.subnormal = r->subnormal;
    part.min = r->min;
    part.max = r->max;
    part.absmax = r->absmax;
    part.min_nonzero_abs = r->min_nonzero_abs;
    pairwise_total(&r->pw, &part.sum, &part.sumsq);
    memcpy(part.hist, r->hist, sizeof part.hist);
    memcpy(part.narrow, r->narrow, sizeof part.narrow);
    mpt_stats_merge(s, &part);
}
