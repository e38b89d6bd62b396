/*
 * Floating-point formats of mixed-precision training: fp32, fp64, fp16, bf16, tf32, fp8 e4m3
 * (the "fn" variant: no Inf) and fp8 e5m2. Decode to float, encode from float with
 * round-to-nearest-even (and the saturating variant for fp8), classify, and the constants.
 *
 * The conversions are `static inline` and written in the C subset nvcc and gcc both accept
 * (MPT_HD marks them __host__ __device__ under nvcc), so one source serves the host reducer,
 * simcuda, the reference trainer's kernels and the GPU statistics kernel.
 *
 * Oracle: NVIDIA's host-side conversions in cuda_fp16.h, cuda_bf16.h and cuda_fp8.h agree with
 * every fp16/bf16/e4m3/e5m2 function here bit for bit on every input, NaN results included: we
 * produce NVIDIA's canonical NaN patterns, documented at each function
 * (tests/unit/test_fpformat_oracle.c, and `make check-exhaustive` over all 2^32 floats).
 * tf32 has no host oracle; it is checked against a double-precision reference. See
 * docs/formats.md.
 */
#ifndef MPT_CORE_FPFORMAT_H
#define MPT_CORE_FPFORMAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define MPT_HD __host__ __device__
#else
#define MPT_HD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Element types. The numbers are written into trace files: never renumber, only append. */
typedef enum mpt_dtype {
    MPT_DT_F32 = 0,
    MPT_DT_F16 = 1,
    MPT_DT_BF16 = 2,
    MPT_DT_TF32 = 3, /* a compute format: stored as fp32, 10 explicit mantissa bits used */
    MPT_DT_E4M3 = 4, /* fp8 e4m3fn: no Inf, S.1111.111 is NaN, max 448 */
    MPT_DT_E5M2 = 5, /* fp8 e5m2: IEEE-like, has Inf, max 57344 */
    MPT_DT_F64 = 6,
    MPT_DT_COUNT,
    MPT_DT_UNKNOWN = 255 /* a type mptrace does not analyse (int8, complex, ...) */
} mpt_dtype;

typedef enum mpt_fpclass {
    MPT_FP_ZERO = 0,
    MPT_FP_SUBNORMAL = 1,
    MPT_FP_NORMAL = 2,
    MPT_FP_INF = 3,
    MPT_FP_NAN = 4
} mpt_fpclass;

typedef struct mpt_dtype_info {
    const char *name;  /* "fp32", "fp16", "bf16", "tf32", "e4m3", "e5m2", "fp64" */
    int storage_bytes; /* bytes per element in memory (tf32: 4, it is stored as fp32) */
    int exp_bits;      /* exponent field width */
    int man_bits;      /* explicit mantissa bits */
    int exp_bias;
    int has_inf; /* 0 for e4m3fn */
    int min_exp; /* unbiased exponent of min_normal */
    int max_exp; /* unbiased exponent of max_finite */
    double max_finite;
    double min_normal;
    double min_subnormal; /* tf32: 2^-136 (fp32's exponent range, 10 mantissa bits) */
    double epsilon;       /* 2^-man_bits: the gap between 1 and the next value */
} mpt_dtype_info;

/* The table entry for `t`, or NULL for MPT_DT_UNKNOWN and out-of-range values. */
const mpt_dtype_info *mpt_dtype_get_info(mpt_dtype t);
/* "fp16" etc.; "unknown" for anything without a table entry. */
const char *mpt_dtype_name(mpt_dtype t);
/* Parses a name as printed by mpt_dtype_name (also "f16", "half", "bfloat16", "float", "fp8e4m3",
 * ...). Returns 0 and sets *out, or -1 if the name is not known. */
int mpt_dtype_parse(const char *name, mpt_dtype *out);
/* Bytes per element in memory; 0 for unknown. */
size_t mpt_dtype_size(mpt_dtype t);

/* ---- bit-exact conversions (hot paths; defined in fpformat_inline.h) ----------------------- */
MPT_HD static inline uint32_t mpt_f32_bits(float f);
MPT_HD static inline float mpt_f32_from_bits(uint32_t u);

/* NaN (any sign or payload) -> 0x7fffffff, as NVIDIA's __half2float does on the host. */
MPT_HD static inline float mpt_f16_to_f32(uint16_t h);
/* RNE; |x| >= 65520 -> ±Inf; |x| <= 2^-25 -> ±0; NaN -> 0x7fff (positive, like NVIDIA's
 * __float2half_rn on the host). */
MPT_HD static inline uint16_t mpt_f32_to_f16(float f);

/* Exact: the bits shifted left by 16 (NaN payload and sign kept, like __bfloat162float). */
MPT_HD static inline float mpt_bf16_to_f32(uint16_t b);
/* RNE; values past the largest bf16 (3.3895e38) by half an ulp or more -> ±Inf; fp32
 * subnormals round like any other value; NaN -> 0x7fff (positive, like __float2bfloat16_rn). */
MPT_HD static inline uint16_t mpt_f32_to_bf16(float f);

/* RNE to 10 explicit mantissa bits; the result is a float whose low 13 bits are zero.
 * Overflow past tf32's max (0x1.ffcp127) by half an ulp -> ±Inf; NaN -> a quiet NaN with the
 * input's sign and top 10 payload bits (hardware tf32 conversion is not RNE: see
 * docs/formats.md). */
MPT_HD static inline float mpt_f32_to_tf32(float f);

/* S.1111.111 (0x7f, 0xff) -> 0x7fffffff, as NVIDIA's __nv_cvt_fp8_to_halfraw + __half2float. */
MPT_HD static inline float mpt_e4m3_to_f32(uint8_t b);
/* RNE; |x| <= 2^-10 -> ±0; |x| <= 464 (the midpoint above 448, which is even) rounds to a
 * finite value. |x| > 464 and ±Inf: saturate != 0 -> ±448 (0x7e | sign, __NV_SATFINITE);
 * saturate == 0 -> NaN 0x7f | sign (__NV_NOSAT: the sign is kept). NaN input -> 0x7f in both
 * modes (positive: NVIDIA canonicalises the NaN before converting). */
MPT_HD static inline uint8_t mpt_f32_to_e4m3(float f, int saturate);

/* Exactly mpt_f16_to_f32(b << 8): NaN -> 0x7fffffff, ±Inf -> ±Inf. */
MPT_HD static inline float mpt_e5m2_to_f32(uint8_t b);
/* RNE; |x| <= 2^-17 -> ±0; |x| >= 61440 (the midpoint above 57344, which is odd) and ±Inf:
 * saturate != 0 -> ±57344 (0x7b | sign: __NV_SATFINITE clamps Inf too); saturate == 0 -> ±Inf
 * (0x7c | sign). NaN input -> 0x7f in both modes (positive, as NVIDIA gives it). */
MPT_HD static inline uint8_t mpt_f32_to_e5m2(float f, int saturate);

/* ---- generic, by dtype (not for inner loops) ----------------------------------------------- */
/* Raw bits of element `index` of an array of dtype t (zero-extended); 0 for unknown t. */
uint64_t mpt_dtype_load_bits(mpt_dtype t, const void *base, size_t index);
/* Value of element `index` as double (exact for every supported dtype, NaNs as the decoders
 * above give them); NaN for unknown t. */
double mpt_dtype_load(mpt_dtype t, const void *base, size_t index);
/* Stores v into element `index`, rounding to nearest even (fp8: non-saturating; tf32: stored as
 * the tf32-rounded fp32; fp64: stored exactly). Does nothing for unknown t. */
void mpt_dtype_store(mpt_dtype t, void *base, size_t index, float v);
/* Classifies one element's raw bits as a value of dtype t (tf32: as fp32 bits; bits above the
 * element's width are ignored). MPT_FP_NAN for unknown t: no value mptrace can read. */
mpt_fpclass mpt_classify(mpt_dtype t, uint64_t bits);

/* ---- arrays (core/fpformat_bulk.c): vectorised where the CPU allows -------------------------- */
/* dst[i] = mpt_f32_to_f16(src[i]) for i < n, bit for bit (NaN -> 0x7fff); dst and src must not
 * overlap. */
void mpt_f32_to_f16_array(uint16_t *dst, const float *src, size_t n);
/* dst[i] = mpt_f32_to_bf16(src[i]) for i < n, bit for bit. */
void mpt_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n);
/* Tests only: nonzero forces the scalar loops even where AVX2/F16C exist. Not thread-safe. */
void mpt_fpformat_force_scalar(int on);

#ifdef __cplusplus
}
#endif

#include "core/fpformat_inline.h"

#endif
