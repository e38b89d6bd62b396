/*
 * Private to core/tensor_stats_avx2*.c: the target attribute, the small AVX2 helpers both files
 * use (horizontal reductions, loads, the prefetch cursor), and the functions of the histogram
 * file (core/tensor_stats_avx2_hist.c) that the block driver (core/tensor_stats_avx2.c) calls.
 * Included only on x86-64; every function here runs only after mpt_ts_use_avx2() said yes.
 */
#ifndef MPT_CORE_TENSOR_STATS_AVX2_H
#define MPT_CORE_TENSOR_STATS_AVX2_H

#include <immintrin.h>
#include <string.h>

#include "core/tensor_stats_internal.h"

#define TGT __attribute__((target("avx2,fma,f16c")))
#define INL __attribute__((always_inline)) inline
#define WIN 13 /* exponent bins in the histogram window (14 byte counters with zero's) */

enum { SRC_F32 = 0, SRC_F16 = 1, SRC_BF16 = 2 };

TGT static INL double hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

TGT static INL float hmin_ps(__m256 v)
{
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}

TGT static INL float hmax_ps(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

TGT static INL uint32_t hmax_epu32(__m256i v)
{
    uint32_t t[8], m = 0;
    _mm256_storeu_si256((__m256i *)t, v);
    for (int i = 0; i < 8; i++)
        m = t[i] > m ? t[i] : m;
    return m;
}

TGT static INL uint32_t hmin_epu32(__m256i v)
{
    uint32_t t[8], m = 0xffffffffu;
    _mm256_storeu_si256((__m256i *)t, v);
    for (int i = 0; i < 8; i++)
        m = t[i] < m ? t[i] : m;
    return m;
}

TGT static INL uint64_t hsum_epu8(__m256i v)
{
    __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
    __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return (uint64_t)_mm_cvtsi128_si64(t) + (uint64_t)_mm_extract_epi64(t, 1);
}

/* 16 elements as two vectors of 8 fp32 (bf16: lane order permuted, irrelevant there). */
TGT static INL void load16(int src, const unsigned char *p, __m256 *x0, __m256 *x1)
{
    if (src == SRC_F32) {
        *x0 = _mm256_loadu_ps((const float *)p);
        *x1 = _mm256_loadu_ps((const float *)p + 8);
    } else if (src == SRC_F16) {
        *x0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
        *x1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p + 1));
    } else {
        __m256i h = _mm256_loadu_si256((const __m256i *)p);
        *x0 = _mm256_castsi256_ps(_mm256_unpacklo_epi16(_mm256_setzero_si256(), h));
        *x1 = _mm256_castsi256_ps(_mm256_unpackhi_epi16(_mm256_setzero_si256(), h));
    }
}

/* Software prefetch cursor: every A1 and HIST iteration fetches one more line of the data ahead,
 * up to `lim`, so that DRAM streams while the core computes (A1 alone is about half the time). */
typedef struct pfcur {
    const char *at, *lim;
} pfcur;

/* How far ahead the cursor may run, in blocks. 1, 2 and 4 measure the same (within noise) on
 * the Zen 3 this was tuned on; PREFETCHT1 measured the same as T0. */
#define PF_BLOCKS 2

TGT static INL void pf_step(pfcur *c)
{
    if (c->at < c->lim) {
        _mm_prefetch(c->at, _MM_HINT_T0);
        c->at += 64;
    }
}

/* What A1 (or NF) found in a block. */

static inline uint32_t src_abs_bits(int src, const unsigned char *p, size_t i)
{
    if (src == SRC_F32) {
        uint32_t u;
        memcpy(&u, p + 4 * i, 4);
        return u & 0x7fffffffu;
    }
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return h & 0x7fffu;
}

/* ---- core/tensor_stats_avx2_hist.c ------------------------------------------------------- */

/* out[j] += elements of the block with |bits| < L[j], j < nl <= 8 (source patterns). */
MPT_TS_HIDDEN void mpt_ts_count_below(int src, const unsigned char *p, size_t nk, const uint32_t *L,
                                      int nl, uint64_t *out);
/* SUB: values in fp32's subnormal range (fp32 and bf16 sources). */
MPT_TS_HIDDEN void mpt_ts_sub_pass(int src, const unsigned char *p, size_t nk, mpt_ts_vec *v,
                                   const mpt_ts_tables *tb);
/* wc[0] = zero keys, wc[1 + j] = keys equal to base + j (j < WIN). */
MPT_TS_HIDDEN void mpt_ts_hist_window(const uint8_t *keys, size_t nk, int base, uint64_t *wc,
                                      pfcur *pf);
/* Finite keys outside the window, one by one; *below = those under it. Returns how many. */
MPT_TS_HIDDEN uint64_t mpt_ts_hist_exceptions(int src, const unsigned char *p, size_t nk,
                                              mpt_ts_vec *v, const mpt_ts_tables *tb,
                                              uint64_t *below);
/* Partial counts of the bounds whose bin is in the window and populated. */
MPT_TS_HIDDEN void mpt_ts_fix_partials(int src, const unsigned char *p, size_t nk, mpt_ts_vec *v,
                                       const mpt_ts_tables *tb, const uint64_t *wc,
                                       uint64_t exc_below);
/* WIDE mode for one block; returns the mass of its best window (zeros included). */
MPT_TS_HIDDEN uint64_t mpt_ts_hist_wide(int src, const unsigned char *p, size_t nk, mpt_ts_vec *v,
                                        const mpt_ts_tables *tb, int *best_base);
/* The 13-bin window holding the most values of raw[] (exponent bytes 1..254). */
MPT_TS_HIDDEN int mpt_ts_best_window(const uint64_t *raw);

#endif
