/*
 * Bit-exact conversions between fp32 and the narrow formats, declared in core/fpformat.h.
 * Included only from there: this file is the definitions, that one is the contract.
 *
 * Why it looks like this:
 *  - One source for gcc (C, host) and nvcc (CUDA C++, host and device): no compound literals,
 *    no VLAs, no library calls, integer arithmetic only except exact float products. Type
 *    punning goes through a union, which C defines and which gcc and nvcc both honour in C++.
 *  - Every result equals NVIDIA's host-side conversion in cuda_fp16.h / cuda_bf16.h /
 *    cuda_fp8.h bit for bit, NaN outputs included (tests/unit/test_fpformat_oracle.c, and
 *    tools/check_formats_exhaustive.c over all 2^32 floats). That is why NaN encodes to
 *    NVIDIA's canonical, positive patterns and why fp16/fp8 NaN decode to 0x7fffffff.
 *  - Rounding is round-to-nearest-even on the integer bits: add (half an ulp - 1) plus the
 *    lowest kept bit, then shift; a carry out of the mantissa moves into the exponent, which
 *    is exactly rounding up into the next binade (or into Inf from the largest finite value).
 *    Results that are subnormal in the target go through mpt__rne_shift on the significand.
 */
#ifndef MPT_CORE_FPFORMAT_INLINE_H
#define MPT_CORE_FPFORMAT_INLINE_H

#include <stdint.h>

#include "core/fpformat.h"

/* Private helpers (double underscore: not part of the API). */
typedef union mpt__f32_pun {
    float f;
    uint32_t u;
} mpt__f32_pun;

/* v / 2^shift rounded to nearest, ties to even; 1 <= shift <= 31. */
MPT_HD static inline uint32_t mpt__rne_shift(uint32_t v, uint32_t shift)
{
    uint32_t q = v >> shift;
    uint32_t rem = v & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return q;
}

/* |x| (as bits) rounded to a normal target: rebias by subtracting `rebias` (the exponent
 * difference, pre-shifted by 23), then RNE-drop `drop` low bits. */
MPT_HD static inline uint32_t mpt__rne_normal(uint32_t abs_bits, uint32_t rebias, uint32_t drop)
{
    uint32_t m = abs_bits - rebias;
    return (m + ((1u << (drop - 1u)) - 1u) + ((m >> drop) & 1u)) >> drop;
}

/* The significand of a normal fp32 (implicit bit included) rounded for a target whose
 * subnormal unit is 2^-unit_exp: m * 2^(e - 150 + unit_exp) = m >> (150 - unit_exp - e). */
MPT_HD static inline uint32_t mpt__rne_subnormal(uint32_t abs_bits, uint32_t unit_exp)
{
    uint32_t e = abs_bits >> 23;
    uint32_t m = (abs_bits & 0x7fffffu) | 0x800000u;
    return mpt__rne_shift(m, 150u - unit_exp - e);
}

MPT_HD static inline uint32_t mpt_f32_bits(float f)
{
    mpt__f32_pun p;
    p.f = f;
    return p.u;
}

MPT_HD static inline float mpt_f32_from_bits(uint32_t u)
{
    mpt__f32_pun p;
    p.u = u;
    return p.f;
}

/* ---- fp16 (1/5/10, bias 15) ----------------------------------------------------------------- */

MPT_HD static inline float mpt_f16_to_f32(uint16_t h)
{
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    uint32_t e = ((uint32_t)h >> 10) & 0x1fu;
    uint32_t m = (uint32_t)h & 0x3ffu;
    if (e == 0x1fu) return mpt_f32_from_bits(m ? 0x7fffffffu : (sign | 0x7f800000u));
    if (e == 0u) {
        /* m * 2^-24 is exact and normal in fp32 (so device flush-to-zero cannot bite). */
        float v = (float)m * 5.9604644775390625e-8f;
        return mpt_f32_from_bits(mpt_f32_bits(v) | sign);
    }
    return mpt_f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

MPT_HD static inline uint16_t mpt_f32_to_f16(float f)
{
    uint32_t x = mpt_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u) return 0x7fffu; /* NaN: NVIDIA's canonical, sign dropped */
    if (a >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u); /* >= 65520 (midpoint above 65504, odd) and Inf */
    if (a >= 0x38800000u)                  /* >= 2^-14: normal result (or rounds to one) */
        return (uint16_t)(sign | mpt__rne_normal(a, 112u << 23, 13u));
    if (a <= 0x33000000u) /* <= 2^-25, half the smallest subnormal: ties to even 0 */
        return (uint16_t)sign;
    return (uint16_t)(sign | mpt__rne_subnormal(a, 24u));
}

/* ---- bf16 (1/8/7, bias 127): the top half of an fp32 ---------------------------------------- */

MPT_HD static inline float mpt_bf16_to_f32(uint16_t b)
{
    return mpt_f32_from_bits((uint32_t)b << 16);
}

MPT_HD static inline uint16_t mpt_f32_to_bf16(float f)
{
    uint32_t x = mpt_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return 0x7fffu; /* NaN: NVIDIA's canonical, sign dropped */
    /* Same exponent range as fp32: no subnormal or overflow special case; ±Inf has zero low
     * bits and stays, fp32's max rounds up into Inf through the carry. */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* ---- tf32 (1/8/10 inside an fp32) ----------------------------------------------------------- */

MPT_HD static inline float mpt_f32_to_tf32(float f)
{
    uint32_t x = mpt_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: keep sign and top payload, force quiet */
        return mpt_f32_from_bits((x & 0xffffe000u) | 0x00400000u);
    return mpt_f32_from_bits((x + 0xfffu + ((x >> 13) & 1u)) & 0xffffe000u);
}

/* ---- fp8 e4m3fn (1/4/3, bias 7, no Inf, S.1111.111 = NaN, max 448) ------------------------- */

MPT_HD static inline float mpt_e4m3_to_f32(uint8_t b)
{
    uint32_t sign = ((uint32_t)b & 0x80u) << 24;
    uint32_t e = ((uint32_t)b >> 3) & 0xfu;
    uint32_t m = (uint32_t)b & 0x7u;
    if ((b & 0x7fu) == 0x7fu)
        return mpt_f32_from_bits(0x7fffffffu); /* NaN, as NVIDIA's decode via fp16 gives it */
    if (e == 0u) {
        float v = (float)m * 0.001953125f; /* m * 2^-9, exact */
        return mpt_f32_from_bits(mpt_f32_bits(v) | sign);
    }
    return mpt_f32_from_bits(sign | ((e + 120u) << 23) | (m << 20));
}

MPT_HD static inline uint8_t mpt_f32_to_e4m3(float f, int saturate)
{
    uint32_t x = mpt_f32_bits(f);
    uint32_t sign = (x >> 24) & 0x80u;
    uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u)
        return 0x7fu;    /* NaN: positive NaN whatever the input's sign (NVIDIA canonicalises) */
    if (a > 0x43e80000u) /* > 464, the midpoint above 448 (448 is even: 464 itself -> 448) */
        return (uint8_t)(sign | (saturate ? 0x7eu : 0x7fu));
    if (a >= 0x3c800000u) /* >= 2^-6 */
        return (uint8_t)(sign | mpt__rne_normal(a, 120u << 23, 20u));
    if (a <= 0x3a800000u) /* <= 2^-10 */
        return (uint8_t)sign;
    return (uint8_t)(sign | mpt__rne_subnormal(a, 9u));
}

/* ---- fp8 e5m2 (1/5/2, bias 15): the top byte of an fp16 ------------------------------------- */

MPT_HD static inline float mpt_e5m2_to_f32(uint8_t b)
{
    return mpt_f16_to_f32((uint16_t)((uint32_t)b << 8));
}

MPT_HD static inline uint8_t mpt_f32_to_e5m2(float f, int saturate)
{
    uint32_t x = mpt_f32_bits(f);
    uint32_t sign = (x >> 24) & 0x80u;
    uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u)
        return 0x7fu;     /* NaN: positive NaN whatever the input's sign (NVIDIA canonicalises) */
    if (a >= 0x47700000u) /* >= 61440, the midpoint above 57344 (odd: rounds up) */
        return (uint8_t)(sign | (saturate ? 0x7bu : 0x7cu));
    if (a >= 0x38800000u) /* >= 2^-14 */
        return (uint8_t)(sign | mpt__rne_normal(a, 112u << 23, 21u));
    if (a <= 0x37000000u) /* <= 2^-17 */
        return (uint8_t)sign;
    return (uint8_t)(sign | mpt__rne_subnormal(a, 16u));
}

#endif
