/*
 * NVIDIA's own host-side format conversions (cuda_fp16.h, cuda_bf16.h, cuda_fp8.h), wrapped
 * in plain C functions so that C tests and tools can use them as an independent oracle for
 * core/fpformat.h. Test-only code: never linked into a library.
 *
 * nv_oracle.cpp implements this with the CUDA toolkit's headers (compiled by g++, no GPU
 * needed); nv_oracle_missing.c is the stand-in the Makefile links when the headers are absent:
 * there nv_oracle_available() returns 0 and callers must skip (visibly), never call the rest.
 * TF32 has no host-side conversion in the headers, so it has no oracle here.
 */
#ifndef MPT_TESTS_NV_ORACLE_H
#define MPT_TESTS_NV_ORACLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the conversions below are NVIDIA's, 0 in the stand-in. */
int nv_oracle_available(void);
/* What the oracle is, e.g. "CUDA 13.0 host conversions (cuda_fp16.h, ...)", or why missing. */
const char *nv_oracle_describe(void);

uint16_t nv_f32_to_f16(float f); /* __float2half_rn */
float nv_f16_to_f32(uint16_t h); /* __half2float */

uint16_t nv_f32_to_bf16(float f); /* __float2bfloat16_rn */
float nv_bf16_to_f32(uint16_t b); /* __bfloat162float */

/* __nv_cvt_float_to_fp8(f, saturate ? __NV_SATFINITE : __NV_NOSAT, __NV_E4M3 / __NV_E5M2) */
uint8_t nv_f32_to_e4m3(float f, int saturate);
uint8_t nv_f32_to_e5m2(float f, int saturate);
/* __nv_cvt_fp8_to_halfraw(b, __NV_E4M3 / __NV_E5M2) then __half2float: the toolkit's path. */
float nv_e4m3_to_f32(uint8_t b);
float nv_e5m2_to_f32(uint8_t b);

#ifdef __cplusplus
}
#endif

#endif
