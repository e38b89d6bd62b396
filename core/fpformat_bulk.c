/*
 * Array conversions fp32 -> fp16 / bf16 for the loops where the per-element scalar encoder is
 * the bottleneck (simcuda's GEMM epilogue rounds every output). Results are bit-identical to
 * mpt_f32_to_f16 / mpt_f32_to_bf16 (and so to NVIDIA's host conversions), NaNs included:
 * the x86 F16C instruction rounds to nearest even like the scalar code, but keeps a NaN's sign
 * and payload, so NaN lanes are patched to NVIDIA's canonical 0x7fff afterwards.
 * Runtime dispatch: the AVX2+F16C path is used when the CPU has it, the scalar loop otherwise
 * (and when mpt_fpformat_force_scalar(1) asks for it, so tests cover both).
 */
#include "core/fpformat.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MPT_HAVE_X86 1
#endif

static int force_scalar;

void mpt_fpformat_force_scalar(int on)
{
    force_scalar = on;
}

static void f16_scalar(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = mpt_f32_to_f16(src[i]);
}

static void bf16_scalar(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = mpt_f32_to_bf16(src[i]);
}

#ifdef MPT_HAVE_X86
__attribute__((target("avx2,f16c"))) static void f16_avx2(uint16_t *dst, const float *src,
                                                          size_t n)
{
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
    const __m256i inf_bits = _mm256_set1_epi32(0x7f800000);
    const __m128i canon_nan = _mm_set1_epi16(0x7fff);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(src + i);
        __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256i a = _mm256_and_si256(_mm256_castps_si256(x), abs_mask);
        __m256i nan32 = _mm256_cmpgt_epi32(a, inf_bits); /* |x| bits > Inf bits: NaN */
        /* narrow the 32-bit lane masks to 16-bit lanes (all-ones or zero survive packing) */
        __m128i nan16 = _mm_packs_epi32(_mm256_castsi256_si128(nan32),
                                        _mm256_extracti128_si256(nan32, 1));
        h = _mm_blendv_epi8(h, canon_nan, nan16);
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    f16_scalar(dst + i, src + i, n - i);
}

__attribute__((target("avx2"))) static void bf16_avx2(uint16_t *dst, const float *src, size_t n)
{
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
    const __m256i inf_bits = _mm256_set1_epi32(0x7f800000);
    const __m256i round = _mm256_set1_epi32(0x7fff);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i canon_nan = _mm256_set1_epi32(0x7fff);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i r[2];
        for (int half = 0; half < 2; half++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(src + i + 8 * half));
            __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
            __m256i v = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, round), lsb), 16);
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, abs_mask), inf_bits);
            r[half] = _mm256_blendv_epi8(v, canon_nan, nan);
        }
        /* values are < 2^16, so unsigned saturation packs them unchanged; packus works per
         * 128-bit lane, hence the permute to restore element order */
        __m256i packed = _mm256_packus_epi32(r[0], r[1]);
        packed = _mm256_permute4x64_epi64(packed, 0xd8);
        _mm256_storeu_si256((__m256i *)(dst + i), packed);
    }
    bf16_scalar(dst + i, src + i, n - i);
}

static int have_avx2_f16c(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    }
    return cached;
}
#endif

void mpt_f32_to_f16_array(uint16_t *dst, const float *src, size_t n)
{
#ifdef MPT_HAVE_X86
    if (!force_scalar && have_avx2_f16c()) {
        f16_avx2(dst, src, n);
        return;
    }
#endif
    f16_scalar(dst, src, n);
}

void mpt_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n)
{
#ifdef MPT_HAVE_X86
    if (!force_scalar && have_avx2_f16c()) {
        bf16_avx2(dst, src, n);
        return;
    }
#endif
    bf16_scalar(dst, src, n);
}
