/*
 * The exponent histogram and the narrow-bound counts of the AVX2 path (see the passes in
 * core/tensor_stats_avx2.c): HIST (byte compares against a window of 13 exponents, then the keys
 * outside it one by one), WIDE (a plain histogram for data spread over many more binades), FIX
 * (the count inside a bound's bin, only where populated) and SUB (fp32's subnormal range), all on
 * one block held in L1. Figures and the reasons for this shape: docs/tensor-stats.md.
 */
#include "core/tensor_stats_internal.h"

#if defined(__x86_64__)

#include "core/tensor_stats_avx2.h"

/* ---- counting |bits| < L in the source's own patterns (SUB and FIX) ----------------------- */

/* out[j] += number of elements of the block whose |bits| < L[j], j < NL (a constant after
 * inlining, so the counters stay in registers). Signed compares are right: |bits| and every
 * bound are below 2^31 (fp32) or 2^15 (16-bit patterns). */
TGT static INL void count_below_n(int src, const unsigned char *p, size_t nk, const uint32_t *L,
                                  const int NL, uint64_t *out)
{
    __m256i c[8], lv[8];
    for (int j = 0; j < NL; j++)
        c[j] = _mm256_setzero_si256();
    if (src == SRC_F32) {
        for (int j = 0; j < NL; j++)
            lv[j] = _mm256_set1_epi32((int)L[j]);
        const __m256i absm = _mm256_set1_epi32(0x7fffffff);
        for (size_t i = 0; i < nk; i += 8) {
            __m256i a = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p + 4 * i)), absm);
            for (int j = 0; j < NL; j++)
                c[j] = _mm256_sub_epi32(c[j], _mm256_cmpgt_epi32(lv[j], a));
        }
        for (int j = 0; j < NL; j++) {
            uint32_t t[8];
            _mm256_storeu_si256((__m256i *)t, c[j]);
            for (int k = 0; k < 8; k++)
                out[j] += t[k];
        }
    } else {
        /* 16-bit lanes: at most MPT_TS_BLOCK / 16 = 256 per lane, no overflow */
        for (int j = 0; j < NL; j++)
            lv[j] = _mm256_set1_epi16((short)L[j]);
        const __m256i absm = _mm256_set1_epi16(0x7fff);
        for (size_t i = 0; i < nk; i += 16) {
            __m256i a = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p + 2 * i)), absm);
            for (int j = 0; j < NL; j++)
                c[j] = _mm256_sub_epi16(c[j], _mm256_cmpgt_epi16(lv[j], a));
        }
        for (int j = 0; j < NL; j++) {
            uint16_t t[16];
            _mm256_storeu_si256((__m256i *)t, c[j]);
            for (int k = 0; k < 16; k++)
                out[j] += t[k];
        }
    }
}

#define COUNT_BELOW_SRC(S)                                                                         \
    TGT static void count_below_##S(const unsigned char *p, size_t nk, const uint32_t *L, int nl,  \
                                    uint64_t *out)                                                 \
    {                                                                                              \
        switch (nl) {                                                                              \
        case 1:                                                                                    \
            count_below_n(S, p, nk, L, 1, out);                                                    \
            break;                                                                                 \
        case 2:                                                                                    \
            count_below_n(S, p, nk, L, 2, out);                                                    \
            break;                                                                                 \
        case 3:                                                                                    \
            count_below_n(S, p, nk, L, 3, out);                                                    \
            break;                                                                                 \
        case 4:                                                                                    \
            count_below_n(S, p, nk, L, 4, out);                                                    \
            break;                                                                                 \
        case 5:                                                                                    \
            count_below_n(S, p, nk, L, 5, out);                                                    \
            break;                                                                                 \
        case 6:                                                                                    \
            count_below_n(S, p, nk, L, 6, out);                                                    \
            break;                                                                                 \
        case 7:                                                                                    \
            count_below_n(S, p, nk, L, 7, out);                                                    \
            break;                                                                                 \
        default:                                                                                   \
            count_below_n(S, p, nk, L, 8, out);                                                    \
            break;                                                                                 \
        }                                                                                          \
    }
COUNT_BELOW_SRC(SRC_F32)
COUNT_BELOW_SRC(SRC_F16)

/* out[j] += elements with |bits| < L[j], j < nl <= 8 (fp16 and bf16 share the 16-bit code). */
void mpt_ts_count_below(int src, const unsigned char *p, size_t nk, const uint32_t *L, int nl,
                        uint64_t *out)
{
    if (nl <= 0) return;
    if (src == SRC_F32)
        count_below_SRC_F32(p, nk, L, nl, out);
    else
        count_below_SRC_F16(p, nk, L, nl, out);
}

/* SUB: values in fp32's subnormal range (fp32 and bf16 sources). */
void mpt_ts_sub_pass(int src, const unsigned char *p, size_t nk, mpt_ts_vec *v,
                     const mpt_ts_tables *tb)
{
    uint32_t L[8];
    int tix[8], nl = 0;
    L[nl++] = 1;                                    /* zeros */
    L[nl++] = src == SRC_F32 ? 0x00800000u : 0x80u; /* fp32 min normal */
    for (int t = 0; t < MPT_TS_NTHR && nl < 8; t++)
        if (tb->src[src][t].bin == 0) {
            tix[nl] = t;
            L[nl++] = tb->src[src][t].lt;
        }
    uint64_t c[8] = {0};
    mpt_ts_count_below(src, p, nk, L, nl, c);
    v->sub32 += c[1] - c[0];
    for (int j = 2; j < nl; j++)
        v->sublt[tix[j]] += c[j] - c[0];
}

/* ---- HIST ----------------------------------------------------------------------------------- */

/* out[j] = keys equal to bin[j], j < 7, for nk <= 8160 keys (byte counters).
 *
 * Seven byte counters, seven broadcast bins, the key and one compare result fill the 16 ymm
 * registers exactly. Written in C, gcc 12 computes all seven compares into temporaries and
 * copies each result back (7 more instructions per 32 keys: the pass is dispatch-bound, so
 * they cost a third of its time); the asm below is the loop body gcc should have produced:
 * for each bin, t = (k == bin) (0xff or 0), c -= t. */
TGT static void hist_pass7(const uint8_t *keys, size_t nk, const uint8_t *bin, uint64_t *out,
                           pfcur *pf)
{
    __m256i b0 = _mm256_set1_epi8((char)bin[0]), b1 = _mm256_set1_epi8((char)bin[1]),
            b2 = _mm256_set1_epi8((char)bin[2]), b3 = _mm256_set1_epi8((char)bin[3]),
            b4 = _mm256_set1_epi8((char)bin[4]), b5 = _mm256_set1_epi8((char)bin[5]),
            b6 = _mm256_set1_epi8((char)bin[6]);
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0;
    pfcur cur = *pf; /* a local copy: through the pointer gcc stores it every iteration */
    for (size_t i = 0; i < nk; i += 32) {
        __m256i k = _mm256_loadu_si256((const __m256i *)(keys + i)), t;
        pf_step(&cur);
        __asm__("vpcmpeqb %[b0], %[k], %[t]\n\t"
                "vpsubb   %[t], %[c0], %[c0]\n\t"
                "vpcmpeqb %[b1], %[k], %[t]\n\t"
                "vpsubb   %[t], %[c1], %[c1]\n\t"
                "vpcmpeqb %[b2], %[k], %[t]\n\t"
                "vpsubb   %[t], %[c2], %[c2]\n\t"
                "vpcmpeqb %[b3], %[k], %[t]\n\t"
                "vpsubb   %[t], %[c3], %[c3]\n\t"
                "vpcmpeqb %[b4], %[k], %[t]\n\t"
                "vpsubb   %[t], %[c4], %[c4]\n\t"
                "vpcmpeqb %[b5], %[k], %[t]\n\t"
                "vpsubb   %[t], %[c5], %[c5]\n\t"
                "vpcmpeqb %[b6], %[k], %[t]\n\t"
                "vpsubb   %[t], %[c6], %[c6]"
                : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2), [c3] "+x"(c3), [c4] "+x"(c4),
                  [c5] "+x"(c5), [c6] "+x"(c6), [t] "=&x"(t)
                : [k] "x"(k), [b0] "x"(b0), [b1] "x"(b1), [b2] "x"(b2), [b3] "x"(b3), [b4] "x"(b4),
                  [b5] "x"(b5), [b6] "x"(b6));
    }
    *pf = cur;
    out[0] = hsum_epu8(c0);
    out[1] = hsum_epu8(c1);
    out[2] = hsum_epu8(c2);
    out[3] = hsum_epu8(c3);
    out[4] = hsum_epu8(c4);
    out[5] = hsum_epu8(c5);
    out[6] = hsum_epu8(c6);
}

/* wc[0] = zero keys, wc[1 + j] = keys equal to base + j (j < WIN). */
void mpt_ts_hist_window(const uint8_t *keys, size_t nk, int base, uint64_t *wc, pfcur *pf)
{
    uint8_t bins[2 * 7];
    bins[0] = 0;
    for (int j = 0; j < WIN; j++)
        bins[1 + j] = (uint8_t)(base + j);
    hist_pass7(keys, nk, bins, wc, pf);
    hist_pass7(keys, nk, bins + 7, wc + 7, pf);
}

/* Finite keys outside the window, one by one (their partial counts too). Returns how many;
 * *below = how many were below the window (key < base). */
TGT uint64_t mpt_ts_hist_exceptions(int src, const unsigned char *p, size_t nk, mpt_ts_vec *v,
                                    const mpt_ts_tables *tb, uint64_t *below)
{
    const __m256i vb = _mm256_set1_epi8((char)v->base), lim = _mm256_set1_epi8(WIN - 1),
                  z = _mm256_setzero_si256(), nf = _mm256_set1_epi8(-1);
    uint64_t finite = 0, under = 0;
    /* in the window, zero, or NaN/Inf (key 255: counted by the NF pass, not here) */
#define EXC_IN(k)                                                                                  \
    _mm256_or_si256(                                                                               \
        _mm256_cmpeq_epi8(_mm256_min_epu8(_mm256_sub_epi8(k, vb), lim), _mm256_sub_epi8(k, vb)),   \
        _mm256_or_si256(_mm256_cmpeq_epi8(k, z), _mm256_cmpeq_epi8(k, nf)))
    for (size_t i = 0; i < nk; i += 32) {
        /* exceptions are rare: test 128 keys with one branch when they are there */
        if ((i & 127) == 0 && i + 128 <= nk) {
            const __m256i *q = (const __m256i *)(v->keys + i);
            __m256i all = _mm256_and_si256(
                _mm256_and_si256(EXC_IN(_mm256_loadu_si256(q)), EXC_IN(_mm256_loadu_si256(q + 1))),
                _mm256_and_si256(EXC_IN(_mm256_loadu_si256(q + 2)),
                                 EXC_IN(_mm256_loadu_si256(q + 3))));
            if (_mm256_movemask_epi8(all) == -1) {
                i += 96;
                continue;
            }
        }
        __m256i k = _mm256_loadu_si256((const __m256i *)(v->keys + i));
        uint32_t out = ~(uint32_t)_mm256_movemask_epi8(EXC_IN(k));
        while (out) {
            size_t e = i + (size_t)__builtin_ctz(out);
            out &= out - 1;
            uint8_t key = v->keys[e];
            v->raw[key]++;
            finite++;
            under += key < v->base;
            uint32_t pm = tb->partial_in_bin[src][key];
            if (pm) {
                uint32_t a = src_abs_bits(src, p, e);
                for (; pm; pm &= pm - 1) {
                    int t = __builtin_ctz(pm);
                    v->partial[t] += a < tb->src[src][t].lt;
                }
            }
        }
    }
#undef EXC_IN
    *below = under;
    return finite;
}

/* FIX: partial counts for thresholds whose bin is inside the window and populated in this
 * block. Few values in those bins: find them through keys[]. Otherwise count |bits| < lt over
 * the block with vector compares (no per-value branch) and subtract what the histogram says
 * lies below the bin: zeros, keys below the window, window bins below. */
TGT void mpt_ts_fix_partials(int src, const unsigned char *p, size_t nk, mpt_ts_vec *v,
                             const mpt_ts_tables *tb, const uint64_t *wc, uint64_t exc_below)
{
    uint32_t need = 0; /* bit j: window bin base + j */
    uint64_t hits = 0;
    for (int j = 0; j < WIN; j++)
        if (wc[1 + j] && tb->partial_in_bin[src][v->base + j]) {
            need |= 1u << j;
            hits += wc[1 + j];
        }
    if (!need) return;
    if (hits <= 8) {
        __m256i want[WIN];
        int nw = 0;
        for (uint32_t m = need; m; m &= m - 1)
            want[nw++] = _mm256_set1_epi8((char)(v->base + __builtin_ctz(m)));
        for (size_t i = 0; i < nk && hits; i += 32) {
            __m256i k = _mm256_loadu_si256((const __m256i *)(v->keys + i));
            __m256i hit = _mm256_cmpeq_epi8(k, want[0]);
            for (int j = 1; j < nw; j++)
                hit = _mm256_or_si256(hit, _mm256_cmpeq_epi8(k, want[j]));
            uint32_t mm = (uint32_t)_mm256_movemask_epi8(hit);
            while (mm) {
                size_t e = i + (size_t)__builtin_ctz(mm);
                mm &= mm - 1;
                hits--;
                uint32_t a = src_abs_bits(src, p, e);
                for (uint32_t pm = tb->partial_in_bin[src][v->keys[e]]; pm; pm &= pm - 1) {
                    int t = __builtin_ctz(pm);
                    v->partial[t] += a < tb->src[src][t].lt;
                }
            }
        }
        return;
    }
    uint32_t L[8];
    uint64_t lower[8];
    int tix[8], nt = 0;
    uint64_t under = wc[0] + exc_below; /* values below window bin j, running */
    for (int j = 0; j < WIN; j++) {
        if (need >> j & 1) {
            for (uint32_t pm = tb->partial_in_bin[src][v->base + j]; pm; pm &= pm - 1) {
                int t = __builtin_ctz(pm);
                tix[nt] = t;
                L[nt] = tb->src[src][t].lt;
                lower[nt] = under;
                if (++nt == 8) {
                    uint64_t c[8] = {0};
                    mpt_ts_count_below(src, p, nk, L, nt, c);
                    for (int q = 0; q < nt; q++)
                        v->partial[tix[q]] += c[q] - lower[q];
                    nt = 0;
                }
            }
        }
        under += wc[1 + j];
    }
    if (nt) {
        uint64_t c[8] = {0};
        mpt_ts_count_below(src, p, nk, L, nt, c);
        for (int q = 0; q < nt; q++)
            v->partial[tix[q]] += c[q] - lower[q];
    }
}

/* The 13-bin window holding the most values seen so far (exponent bytes 1..254). */
int mpt_ts_best_window(const uint64_t *raw)
{
    uint64_t s = 0, best = 0;
    int best_base = 1;
    for (int b = 1; b < 1 + WIN; b++)
        s += raw[b];
    best = s;
    for (int base = 2; base + WIN - 1 <= 254; base++) {
        s += raw[base + WIN - 1] - raw[base - 1];
        if (s > best) {
            best = s;
            best_base = base;
        }
    }
    return best_base;
}

/* WIDE mode, for data spread over many more binades than the window (then most keys would be
 * exceptions, one scalar step each): a plain histogram of the keys in four sub-histograms
 * (breaking the store-to-load chains of repeated bins), and every populated partial bin
 * counted with vector compares. Returns the block's best window mass, zeros included. */
uint64_t mpt_ts_hist_wide(int src, const unsigned char *p, size_t nk, mpt_ts_vec *v,
                          const mpt_ts_tables *tb, int *best_base)
{
    uint16_t h[4][256]; /* nk <= 4096 per sub-histogram: no overflow */
    memset(h, 0, sizeof h);
    const uint8_t *k = v->keys;
    for (size_t i = 0; i < nk; i += 4) {
        h[0][k[i]]++;
        h[1][k[i + 1]]++;
        h[2][k[i + 2]]++;
        h[3][k[i + 3]]++;
    }
    uint64_t c[256], below = 0;
    for (int b = 0; b < 256; b++)
        c[b] = (uint64_t)h[0][b] + h[1][b] + h[2][b] + h[3][b];
    uint32_t L[8];
    uint64_t lower[8];
    int tix[8], nt = 0;
    for (int b = 0; b < 255; b++) {
        v->raw[b] += c[b];
        for (uint32_t pm = b ? tb->partial_in_bin[src][b] : 0; c[b] && pm; pm &= pm - 1) {
            int t = __builtin_ctz(pm);
            tix[nt] = t;
            L[nt] = tb->src[src][t].lt;
            lower[nt] = below;
            if (++nt == 8) {
                uint64_t cnt[8] = {0};
                mpt_ts_count_below(src, p, nk, L, nt, cnt);
                for (int q = 0; q < nt; q++)
                    v->partial[tix[q]] += cnt[q] - lower[q];
                nt = 0;
            }
        }
        below += c[b];
    }
    if (nt) {
        uint64_t cnt[8] = {0};
        mpt_ts_count_below(src, p, nk, L, nt, cnt);
        for (int q = 0; q < nt; q++)
            v->partial[tix[q]] += cnt[q] - lower[q];
    }
    *best_base = mpt_ts_best_window(c);
    uint64_t mass = c[0];
    for (int j = 0; j < WIN; j++)
        mass += c[*best_base + j];
    return mass;
}

#endif
