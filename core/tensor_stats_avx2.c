/*
 * AVX2 kernels of the statistics pass for fp32, fp16 and bf16 (core/tensor_stats_internal.h),
 * chosen at run time (__builtin_cpu_supports); compiled with target attributes, so the rest of
 * the build needs no -march flag and runs on any x86-64. mpt_stats_force_scalar() turns them
 * off for tests.
 *
 * A block of up to MPT_TS_BLOCK elements goes through passes that each stream the block from L1:
 *   A1   min/max (hence the largest |x|), smallest nonzero |x|, sum and sum of squares (widened
 *        to double; x^2 of an fp32 is exact in double), and the fp32 exponent byte of each
 *        element into keys[] (fp16 and bf16 are widened to fp32 exactly first). No per-element
 *        branch, no masking: a NaN/Inf shows as a non-finite block sum of squares.
 *   NF   only if A1 saw NaN/Inf: redo min/max/sums with those lanes masked, count NaN/+Inf/-Inf.
 *   SUB  only if A1 saw an fp32 subnormal (fp32/bf16): count them and the bf16 narrow bounds.
 *   HIST the exponent histogram of keys[]: byte compares against a window of 13 consecutive
 *        exponents plus zero (byte counters, so 32 elements per compare); keys outside the
 *        window are found 128 at a time and counted one by one. Data spread far wider than the
 *        window switches to WIDE mode (a plain 4-way histogram of the keys) until it narrows.
 *   FIX  narrow counts: every bound lies in one exponent bin, so "values below the bound" is
 *        the histogram below that bin plus a count inside it, needed only when the bin is
 *        populated in this block: by scanning keys[] for it (few hits) or by a vector count.
 * A prefetch cursor keeps DRAM busy during all of it. The per-element histogram update is what
 * bounds a scalar implementation (a load-add-store per element, serialised on repeated bins);
 * the window compare is why this path is not. Figures: docs/tensor-stats.md.
 */
#include "core/tensor_stats_internal.h"

static int g_force_scalar;

void mpt_stats_force_scalar(int on)
{
    __atomic_store_n(&g_force_scalar, on != 0, __ATOMIC_RELAXED);
}

#if defined(__x86_64__)

#include "core/tensor_stats_avx2.h"

static int cpu_has_avx2(void)
{
    static int cached = -1; /* benign race: every thread computes the same value */
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("f16c");
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

int mpt_ts_use_avx2(void)
{
    return !__atomic_load_n(&g_force_scalar, __ATOMIC_RELAXED) && cpu_has_avx2();
}

int mpt_stats_vector_active(void)
{
    return mpt_ts_use_avx2();
}

typedef struct blk {
    float min, max;    /* NaN ignored; +-Inf included by A1 (then NF recomputes) */
    uint32_t minnz;    /* smallest nonzero |bits| (fp32); >= 0x7f800000 when none */
    double sum, sumsq; /* sumsq is not finite iff the block holds a NaN or an Inf: for finite
                          fp32-range values it is at most 4096 * 2^256 */
} blk;

/* ---- A1 ----------------------------------------------------------------------------------- */

typedef struct a1acc {
    __m256 vmin, vmax;
    __m256i vmnz; /* min of 2|x| - 1 (unsigned): zero wraps to the maximum */
    __m256d s, q; /* sum and sum of squares: 4 lanes, one add per 32 elements */
} a1acc;

TGT static INL void a1_init(a1acc *c)
{
    c->vmin = _mm256_set1_ps(__builtin_inff());
    c->vmax = _mm256_set1_ps(-__builtin_inff());
    c->vmnz = _mm256_set1_epi32(-1);
    c->s = c->q = _mm256_setzero_pd();
}

/* 8 fp32: min/max and smallest nonzero; returns their exponent bytes (32-bit lanes). */
TGT static INL __m256i a1_vec(a1acc *c, __m256 x)
{
    __m256i a2 = _mm256_slli_epi32(_mm256_castps_si256(x), 1); /* 2|x|: the sign shifted out */
    c->vmin = _mm256_min_ps(x, c->vmin);                       /* NaN x: keeps vmin */
    c->vmax = _mm256_max_ps(x, c->vmax);
    c->vmnz = _mm256_min_epu32(c->vmnz, _mm256_add_epi32(a2, _mm256_set1_epi32(-1)));
    return _mm256_srli_epi32(a2, 24);
}

/* 8 values as two halves widened to double: their pairwise sum and sum of squares (4 lanes). */
typedef struct pair8 {
    __m256d s, q;
} pair8;

TGT static INL pair8 pair_dd(__m256d d0, __m256d d1)
{
    pair8 r;
    r.s = _mm256_add_pd(d0, d1);
    r.q = _mm256_fmadd_pd(d0, d0, _mm256_mul_pd(d1, d1));
    return r;
}

TGT static INL pair8 pair_ps(__m256 x)
{
    return pair_dd(_mm256_cvtps_pd(_mm256_castps256_ps128(x)),
                   _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
}

/* Two pair8 (16 values) combined: level 2 of the tree. */
TGT static INL pair8 pair_add(pair8 a, pair8 b)
{
    pair8 r;
    r.s = _mm256_add_pd(a.s, b.s);
    r.q = _mm256_add_pd(a.q, b.q);
    return r;
}

/* 32 values (two halves of 16) into the accumulators: a tree of depth 3 per lane, then one add.
 * Each half is reduced as soon as it is loaded, which keeps A1 within the 16 ymm registers. */
TGT static INL void a1_add32(a1acc *c, pair8 h0, pair8 h1)
{
    c->s = _mm256_add_pd(c->s, _mm256_add_pd(h0.s, h1.s));
    c->q = _mm256_add_pd(c->q, _mm256_add_pd(h0.q, h1.q));
}

TGT static INL void a1_finish(const a1acc *c, blk *b)
{
    b->min = hmin_ps(c->vmin);
    b->max = hmax_ps(c->vmax);
    uint32_t m = hmin_epu32(c->vmnz);
    b->minnz = m == 0xffffffffu ? 0x7f800000u : (m >> 1) + 1u; /* (2a - 1) -> a */
    b->sum = hsum_pd(c->s);
    b->sumsq = hsum_pd(c->q);
}

/* 4 vectors of 8 exponent bytes (as 32-bit lanes) -> 32 keys in element order. */
TGT static INL void store_keys32(uint8_t *dst, __m256i k01, __m256i k23)
{
    __m256i k = _mm256_packus_epi16(k01, k23);
    k = _mm256_permutevar8x32_epi32(k, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)dst, k);
}

TGT static INL pair8 pair_mem(const float *f)
{
    return pair_dd(_mm256_cvtps_pd(_mm_loadu_ps(f)), _mm256_cvtps_pd(_mm_loadu_ps(f + 4)));
}

TGT static void a1_f32(const unsigned char *p, size_t nk, uint8_t *keys, blk *b, pfcur *pf)
{
    a1acc c;
    a1_init(&c);
    pfcur cur = *pf; /* a local copy: through the pointer gcc stores it every iteration */
    const float *f = (const float *)p;
    for (size_t i = 0; i < nk; i += 32) {
        pf_step(&cur);
        __m256i k0 = a1_vec(&c, _mm256_loadu_ps(f + i));
        __m256i k1 = a1_vec(&c, _mm256_loadu_ps(f + i + 8));
        __m256i k01 = _mm256_packus_epi32(k0, k1);
        __m256i k2 = a1_vec(&c, _mm256_loadu_ps(f + i + 16));
        __m256i k3 = a1_vec(&c, _mm256_loadu_ps(f + i + 24));
        store_keys32(keys + i, k01, _mm256_packus_epi32(k2, k3));
        pair8 h0 = pair_add(pair_mem(f + i), pair_mem(f + i + 8));
        a1_add32(&c, h0, pair_add(pair_mem(f + i + 16), pair_mem(f + i + 24)));
    }
    *pf = cur;
    a1_finish(&c, b);
}

TGT static void a1_f16(const unsigned char *p, size_t nk, uint8_t *keys, blk *b, pfcur *pf)
{
    a1acc c;
    a1_init(&c);
    pfcur cur = *pf; /* a local copy: through the pointer gcc stores it every iteration */
    const __m128i *h = (const __m128i *)p;
    for (size_t i = 0; i < nk; i += 32) {
        pf_step(&cur);
        __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128(h + i / 8));
        __m256 x1 = _mm256_cvtph_ps(_mm_loadu_si128(h + i / 8 + 1));
        __m256i k01 = _mm256_packus_epi32(a1_vec(&c, x0), a1_vec(&c, x1));
        pair8 h0 = pair_add(pair_ps(x0), pair_ps(x1));
        __m256 x2 = _mm256_cvtph_ps(_mm_loadu_si128(h + i / 8 + 2));
        __m256 x3 = _mm256_cvtph_ps(_mm_loadu_si128(h + i / 8 + 3));
        __m256i k23 = _mm256_packus_epi32(a1_vec(&c, x2), a1_vec(&c, x3));
        store_keys32(keys + i, k01, k23);
        a1_add32(&c, h0, pair_add(pair_ps(x2), pair_ps(x3)));
    }
    *pf = cur;
    a1_finish(&c, b);
}

/* bf16: the smallest nonzero |x| and the keys straight from the 16-bit patterns (16 lanes per
 * op; bf16's exponent field is fp32's); min/max/sums on the widened fp32. */
TGT static void a1_bf16(const unsigned char *p, size_t nk, uint8_t *keys, blk *b, pfcur *pf)
{
    a1acc c;
    a1_init(&c);
    pfcur cur = *pf; /* a local copy: through the pointer gcc stores it every iteration */
    const __m256i abs16 = _mm256_set1_epi16(0x7fff), z = _mm256_setzero_si256();
    __m256i vmnz16 = _mm256_set1_epi16(-1);
    const __m256i *hp = (const __m256i *)p;
    for (size_t i = 0; i < nk; i += 32) {
        pf_step(&cur);
        __m256i h0 = _mm256_loadu_si256(hp + i / 16), h1 = _mm256_loadu_si256(hp + i / 16 + 1);
        __m256i a0 = _mm256_and_si256(h0, abs16), a1 = _mm256_and_si256(h1, abs16);
        vmnz16 = _mm256_min_epu16(vmnz16, _mm256_add_epi16(a0, _mm256_set1_epi16(-1)));
        vmnz16 = _mm256_min_epu16(vmnz16, _mm256_add_epi16(a1, _mm256_set1_epi16(-1)));
        __m256i k = _mm256_packus_epi16(_mm256_srli_epi16(a0, 7), _mm256_srli_epi16(a1, 7));
        _mm256_storeu_si256((__m256i *)(keys + i), _mm256_permute4x64_epi64(k, 0xd8));
        __m256 x0 = _mm256_castsi256_ps(_mm256_unpacklo_epi16(z, h0));
        __m256 x1 = _mm256_castsi256_ps(_mm256_unpackhi_epi16(z, h0));
        __m256 x2 = _mm256_castsi256_ps(_mm256_unpacklo_epi16(z, h1));
        __m256 x3 = _mm256_castsi256_ps(_mm256_unpackhi_epi16(z, h1));
        c.vmin = _mm256_min_ps(_mm256_min_ps(x0, x1), c.vmin);
        c.vmax = _mm256_max_ps(_mm256_max_ps(x0, x1), c.vmax);
        c.vmin = _mm256_min_ps(_mm256_min_ps(x2, x3), c.vmin);
        c.vmax = _mm256_max_ps(_mm256_max_ps(x2, x3), c.vmax);
        a1_add32(&c, pair_add(pair_ps(x0), pair_ps(x1)), pair_add(pair_ps(x2), pair_ps(x3)));
    }
    *pf = cur;
    a1_finish(&c, b);
    uint16_t t[16], m = 0xffff;
    _mm256_storeu_si256((__m256i *)t, vmnz16);
    for (int j = 0; j < 16; j++)
        m = t[j] < m ? t[j] : m;
    b->minnz = m == 0xffff ? 0x7f800000u : (uint32_t)(m + 1) << 16;
}

/* ---- NF: a block with NaN/Inf --------------------------------------------------------------- */

TGT static INL void nf_pass_src(int src, const unsigned char *p, size_t nk, blk *b, mpt_ts_vec *v)
{
    a1acc c;
    a1_init(&c);
    const __m256i absm = _mm256_set1_epi32(0x7fffffff), big = _mm256_set1_epi32(0x7f7fffff),
                  inf = _mm256_set1_epi32(0x7f800000), ninfv = _mm256_set1_epi32((int)0xff800000u);
    __m256i cnan = _mm256_setzero_si256(), cp = cnan, cn = cnan;
    size_t es = src == SRC_F32 ? 4 : 2;
    for (size_t i = 0; i < nk; i += 16) {
        __m256 x[2];
        load16(src, p + es * i, &x[0], &x[1]);
        for (int j = 0; j < 2; j++) {
            __m256i xi = _mm256_castps_si256(x[j]);
            __m256i a = _mm256_and_si256(xi, absm);
            __m256i m = _mm256_cmpgt_epi32(a, big);
            cnan = _mm256_sub_epi32(cnan, _mm256_cmpgt_epi32(a, inf));
            cp = _mm256_sub_epi32(cp, _mm256_cmpeq_epi32(xi, inf));
            cn = _mm256_sub_epi32(cn, _mm256_cmpeq_epi32(xi, ninfv));
            __m256 xm = _mm256_or_ps(x[j], _mm256_castsi256_ps(m)); /* NaN: ignored by min/max */
            c.vmin = _mm256_min_ps(xm, c.vmin);
            c.vmax = _mm256_max_ps(xm, c.vmax);
            x[j] = _mm256_andnot_ps(_mm256_castsi256_ps(m), x[j]); /* NaN/Inf -> 0 in sums */
        }
        pair8 p0 = pair_ps(x[0]), p1 = pair_ps(x[1]);
        c.s = _mm256_add_pd(c.s, _mm256_add_pd(p0.s, p1.s));
        c.q = _mm256_add_pd(c.q, _mm256_add_pd(p0.q, p1.q));
    }
    uint32_t keep_minnz = b->minnz;
    a1_finish(&c, b);
    b->minnz = keep_minnz; /* A1's is right: NaN/Inf never win the minimum */
    uint32_t t[3][8];
    _mm256_storeu_si256((__m256i *)t[0], cnan);
    _mm256_storeu_si256((__m256i *)t[1], cp);
    _mm256_storeu_si256((__m256i *)t[2], cn);
    for (int i = 0; i < 8; i++) {
        v->nan += t[0][i];
        v->pinf += t[1][i];
        v->ninf += t[2][i];
    }
}

TGT static void nf_pass(int src, const unsigned char *p, size_t nk, blk *b, mpt_ts_vec *v)
{
    if (src == SRC_F32)
        nf_pass_src(SRC_F32, p, nk, b, v);
    else if (src == SRC_F16)
        nf_pass_src(SRC_F16, p, nk, b, v);
    else
        nf_pass_src(SRC_BF16, p, nk, b, v);
}

static int clamp_base(int base)
{
    return base < 1 ? 1 : base > 255 - WIN ? 255 - WIN : base;
}

/* ---- a block ---------------------------------------------------------------------------- */

static void block(mpt_ts_run *r, int src, const unsigned char *p, size_t m, pfcur *pf)
{
    const mpt_ts_tables *tb = mpt_ts_tables_get();
    mpt_ts_vec *v = &r->vec;
    size_t es = src == SRC_F32 ? 4 : 2;
    size_t nk = m & ~(size_t)31;
    double bsum = 0, bsq = 0;
    if (nk) {
        blk b;
        if (src == SRC_F32)
            a1_f32(p, nk, v->keys, &b, pf);
        else if (src == SRC_F16)
            a1_f16(p, nk, v->keys, &b, pf);
        else
            a1_bf16(p, nk, v->keys, &b, pf);
        uint64_t nonfinite = v->nan + v->pinf + v->ninf;
        if (!__builtin_isfinite(b.sumsq)) nf_pass(src, p, nk, &b, v);
        nonfinite = v->nan + v->pinf + v->ninf - nonfinite;
        if (src != SRC_F16 && b.minnz < 0x00800000u) mpt_ts_sub_pass(src, p, nk, v, tb);
        float amax = b.max >= b.min ? (b.max > -b.min ? b.max : -b.min) : 0.0f;
        uint32_t amax_bits = mpt_f32_bits(amax);
        if (v->base < 0) v->base = clamp_base(amax_bits ? (int)(amax_bits >> 23) - (WIN - 3) : 100);
        if (v->wide) {
            int base;
            uint64_t fit = mpt_ts_hist_wide(src, p, nk, v, tb, &base);
            if ((fit + nonfinite) * 16 >= nk * 15) { /* a window holds the data again */
                v->wide = 0;
                v->base = base;
            }
        } else {
            uint64_t wc[1 + WIN], in = 0;
            mpt_ts_hist_window(v->keys, nk, v->base, wc, pf);
            v->raw[0] += wc[0];
            for (int j = 0; j <= WIN; j++)
                in += wc[j];
            for (int j = 0; j < WIN; j++)
                v->raw[v->base + j] += wc[1 + j];
            uint64_t exc_below = 0, exc_finite = 0;
            if (in + nonfinite < nk)
                exc_finite = mpt_ts_hist_exceptions(src, p, nk, v, tb, &exc_below);
            mpt_ts_fix_partials(src, p, nk, v, tb, wc, exc_below);
            /* for the next block: re-place the window, or give it up */
            if (exc_finite * 4 > nk)
                v->wide = 1;
            else if (exc_finite * 64 > nk)
                v->base = mpt_ts_best_window(v->raw);
        }
        v->count += nk;
        v->used = 1;
        if (b.min < v->min) v->min = b.min;
        if (b.max > v->max) v->max = b.max;
        if (amax_bits > v->absmax_bits) v->absmax_bits = amax_bits;
        if (b.minnz < v->minnz_bits) v->minnz_bits = b.minnz;
        bsum = b.sum;
        bsq = b.sumsq;
    }
    if (m > nk) {
        double lanes[2][MPT_TS_LANES] = {{0}};
        mpt_ts_scalar_bits(r, p + nk * es, m - nk, lanes);
        double ts = 0, tq = 0; /* the tail first, then one add: one rounding for the block */
        for (int l = 0; l < MPT_TS_LANES; l++) {
            ts += lanes[0][l];
            tq += lanes[1][l];
        }
        bsum += ts;
        bsq += tq;
    }
    mpt_ts_pairwise_push(&r->pw, bsum, bsq);
}

void mpt_ts_avx2_feed(mpt_ts_run *r, const void *data, size_t n)
{
    int src = mpt_ts_src_index(r->dtype);
    size_t es = src == SRC_F32 ? 4 : 2;
    const char *p = data;
    pfcur pf = {p, p};
    for (size_t off = 0; off < n; off += MPT_TS_BLOCK) {
        size_t m = n - off < MPT_TS_BLOCK ? n - off : MPT_TS_BLOCK;
        size_t ahead = off + m + (size_t)PF_BLOCKS * MPT_TS_BLOCK;
        pf.lim = p + (ahead < n ? ahead : n) * es;
        if (pf.at < p + (off + m) * es) pf.at = p + (off + m) * es; /* never behind */
        block(r, src, (const unsigned char *)p + off * es, m, &pf);
    }
}

/* ---- cheap pass ------------------------------------------------------------------------- */

TGT static INL void cheap_src(int src, mpt_cheap_stats *c, const unsigned char *p, size_t n)
{
    size_t es = src == SRC_F32 ? 4 : 2;
    const __m256i absm = _mm256_set1_epi32(0x7fffffff), big = _mm256_set1_epi32(0x7f7fffff),
                  inf = _mm256_set1_epi32(0x7f800000);
    __m256i vmaxa = _mm256_setzero_si256();
    uint64_t nan = 0, infs = 0;
    size_t i = 0;
    while (i + 16 <= n) {
        size_t end = n - i > MPT_TS_BLOCK ? i + MPT_TS_BLOCK : n;
        __m256i cnan = _mm256_setzero_si256(), cinf = cnan;
        for (; i + 16 <= end; i += 16) {
            __m256 x[2];
            load16(src, p + es * i, &x[0], &x[1]);
            for (int j = 0; j < 2; j++) {
                __m256i a = _mm256_and_si256(_mm256_castps_si256(x[j]), absm);
                __m256i m = _mm256_cmpgt_epi32(a, big);
                vmaxa = _mm256_max_epi32(vmaxa, _mm256_andnot_si256(m, a));
                cnan = _mm256_sub_epi32(cnan, _mm256_cmpgt_epi32(a, inf));
                cinf = _mm256_sub_epi32(cinf, _mm256_cmpeq_epi32(a, inf));
            }
        }
        uint32_t t[2][8];
        _mm256_storeu_si256((__m256i *)t[0], cnan);
        _mm256_storeu_si256((__m256i *)t[1], cinf);
        for (int k = 0; k < 8; k++) {
            nan += t[0][k];
            infs += t[1][k];
        }
    }
    float absmax = mpt_f32_from_bits(hmax_epu32(vmaxa));
    for (; i < n; i++) {
        uint32_t a = src == SRC_F32 ? src_abs_bits(src, p, i)
                     : src == SRC_F16
                         ? mpt_f32_bits(mpt_f16_to_f32((uint16_t)src_abs_bits(src, p, i)))
                         : src_abs_bits(src, p, i) << 16;
        if (a > 0x7f800000u)
            nan++;
        else if (a == 0x7f800000u)
            infs++;
        else if (mpt_f32_from_bits(a) > absmax)
            absmax = mpt_f32_from_bits(a);
    }
    c->count += n;
    c->nan += nan;
    c->inf += infs;
    if (absmax > c->absmax) c->absmax = absmax;
}

TGT void mpt_ts_avx2_cheap(mpt_cheap_stats *c, mpt_dtype t, const void *data, size_t n)
{
    if (t == MPT_DT_F32)
        cheap_src(SRC_F32, c, data, n);
    else if (t == MPT_DT_F16)
        cheap_src(SRC_F16, c, data, n);
    else
        cheap_src(SRC_BF16, c, data, n);
}

#else /* not x86: the scalar path only */

int mpt_ts_use_avx2(void)
{
    return 0;
}

int mpt_stats_vector_active(void)
{
    return 0;
}

void mpt_ts_avx2_feed(mpt_ts_run *r, const void *data, size_t n)
{
    (void)r, (void)data, (void)n;
}

void mpt_ts_avx2_cheap(mpt_cheap_stats *c, mpt_dtype t, const void *data, size_t n)
{
    (void)c, (void)t, (void)data, (void)n;
}

#endif
