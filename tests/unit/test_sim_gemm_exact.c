/*
 * simcuda cuBLAS numerics that must hold bit for bit, not within a bound:
 *  - output rounding: with exactly representable fp32 sums, the fp16 / bf16 result equals
 *    NVIDIA's host conversion (tests/oracle) of the exact value — ties, overflow to Inf,
 *    subnormals — and an independent double-only rounding for fp16;
 *  - CUBLAS_COMPUTE_16F rounds after every multiply-add: 4096 ones sum to 2048, and random
 *    products match a sequential, correctly rounded fp16 reference exactly;
 *  - TF32 / FAST_16F / FAST_16BF round fp32 inputs (ties to even), PEDANTIC does not;
 *  - NaN / Inf propagate as IEEE says, C is not read when beta == 0, fp16 subnormal inputs are
 *    decoded exactly;
 * plus the argument checks and the handle API (statuses as cuBLAS documents them).
 */
#include <check.h>

#if __has_include(<cublas_v2.h>)
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/fpformat.h"
#include "tests/oracle/nv_oracle.h"
#include "test_sim_mat.h"
#include "test_sim_util.h"

static cublasHandle_t handle_new(void)
{
    cublasHandle_t h;
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasCreate_v2)(&h), CUBLAS_STATUS_SUCCESS);
    return h;
}

/* D(1 x n) = alpha * [1 1] * B(2 x n), fp32 compute: each column is alpha * (hi + lo). */
typedef struct sum_col {
    float hi, lo, alpha;
} sum_col;

static const sum_col f16_cols[] = {
    {2048, 1, 1},       /* 2049: tie -> 2048 (even) */
    {2048, 3, 1},       /* 2051: tie -> 2052 */
    {2048, 2, 1},       /* exact */
    {65504, 0, 1},      /* max finite */
    {65504, 15, 1},     /* 65519 -> 65504 */
    {65504, 16, 1},     /* 65520 -> Inf */
    {65504, 4496, 1},   /* 70000 -> Inf */
    {-65504, -16, 1},   /* -> -Inf */
    {2048, 1, 0x1p-11}, /* 1 + 2^-11: tie -> 1 */
    {3, 0, 0x1p-26},    /* 0.75 of the smallest subnormal -> 2^-24 */
    {1, 0, 0x1p-25},    /* half of it: tie -> 0 */
    {3, 0, 0x1p-25},    /* 1.5 of it: tie -> 2 * 2^-24 */
    {-1, 0, 0x1p-26},   /* -> -0 */
    {1023, 1, 0x1p-24}, /* 1024 * 2^-24 = 2^-14: smallest normal */
};

static const sum_col bf16_cols[] = {
    {256, 1, 1},
    {256, 3, 1},
    {-256, -1, 1},
    {255, 0, 1},
    {0x1p100f, 0x1p92f, 1},
    {0x1.fep127f, 0x1.fep127f, 1}, /* fp32 overflow -> Inf */
    {1, 0, 0x1p-133f},             /* bf16 smallest subnormal */
};

static void check_rounding(cudaDataType out, const sum_col *cols, int n)
{
    cublasHandle_t h = handle_new();
    sim_mat a = sim_mat_new(out, 1, 2, 0, 1, 0, 1.0);
    sim_mat b = sim_mat_new(out, 2, n, 0, 1, 0, 0.0);
    sim_mat d = sim_mat_new(out, 1, n, 0, 1, 0, 0.0);
    for (int j = 0; j < n; j++) {
        sim_mat_set(&b, 0, 0, j, cols[j].hi);
        sim_mat_set(&b, 0, 1, j, cols[j].lo);
        ck_assert_msg(sim_mat_get(&b, 0, 0, j) == cols[j].hi &&
                          sim_mat_get(&b, 0, 1, j) == cols[j].lo,
                      "column %d: inputs not representable", j);
    }
    for (int j = 0; j < n; j++) {
        float alpha = cols[j].alpha, beta = 0.0f;
        ck_assert_int_eq(SIM_FN(CUBLAS, cublasGemmEx)(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 2, &alpha,
                                                      a.p, out, 1, (char *)b.p + 2 * j * 2, out, 2,
                                                      &beta, (char *)d.p + j * 2, out, 1,
                                                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                         CUBLAS_STATUS_SUCCESS);
        float exact = cols[j].alpha * (cols[j].hi + cols[j].lo); /* exact in fp32 here */
        uint16_t got = ((const uint16_t *)d.p)[j];
        uint16_t want;
        if (out == CUDA_R_16F) {
            want = nv_oracle_available() ? nv_f32_to_f16(exact) : mpt_f32_to_f16(exact);
            double independent =
                sim_ref_round_f16((double)cols[j].alpha * ((double)cols[j].hi + cols[j].lo));
            ck_assert_msg(mpt_f16_to_f32(got) == independent ||
                              (isnan(independent) && isnan(mpt_f16_to_f32(got))),
                          "fp16 column %d: got %g, correctly rounded %g", j, mpt_f16_to_f32(got),
                          independent);
            ck_assert_msg(!signbit(mpt_f16_to_f32(got)) == !signbit(independent),
                          "fp16 column %d: sign", j);
        } else {
            want = nv_oracle_available() ? nv_f32_to_bf16(exact) : mpt_f32_to_bf16(exact);
        }
        ck_assert_msg(got == want, "column %d: got 0x%04x, NVIDIA's conversion gives 0x%04x", j,
                      got, want);
    }
    sim_mat_free(&a);
    sim_mat_free(&b);
    sim_mat_free(&d);
    SIM_FN(CUBLAS, cublasDestroy_v2)(h);
}

START_TEST(test_output_rounding_f16)
{
    if (!sim_test_available()) return;
    if (!nv_oracle_available())
        fprintf(stderr, "SKIP (partly): %s — fp16/bf16 rounding checked against core only\n",
                nv_oracle_describe());
    check_rounding(CUDA_R_16F, f16_cols, (int)(sizeof(f16_cols) / sizeof(f16_cols[0])));
}
END_TEST

START_TEST(test_output_rounding_bf16)
{
    if (!sim_test_available()) return;
    check_rounding(CUDA_R_16BF, bf16_cols, (int)(sizeof(bf16_cols) / sizeof(bf16_cols[0])));
}
END_TEST

/* An fp16 running sum of 4096 ones stalls at 2048 with fp16 accumulation (2049 is a tie that
 * rounds back to 2048), and reaches 4096 with fp32 accumulation. */
START_TEST(test_f16_accumulation_stalls)
{
    if (!sim_test_available()) return;
    cublasHandle_t h = handle_new();
    sim_mat ones = sim_mat_new(CUDA_R_16F, 4096, 1, 0, 1, 0, 1.0);
    sim_mat d = sim_mat_new(CUDA_R_16F, 1, 1, 0, 1, 0, 0.0);
    uint16_t one = 0x3c00, zero = 0;
    float onef = 1.0f, zerof = 0.0f;
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGemmEx)(h, CUBLAS_OP_T, CUBLAS_OP_N, 1, 1, 4096, &one,
                                                  ones.p, CUDA_R_16F, 4096, ones.p, CUDA_R_16F,
                                                  4096, &zero, d.p, CUDA_R_16F, 1,
                                                  CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_double_eq(sim_mat_get(&d, 0, 0, 0), 2048.0);
    cublasStatus_t (*hgemm)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                            const void *, const void *, int, const void *, int, const void *,
                            void *, int) =
        (__typeof__(hgemm))sim_test_sym(SIM_LIB_CUBLAS, "cublasHgemm");
    sim_mat_set(&d, 0, 0, 0, 0.0);
    ck_assert_int_eq(hgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, 1, 1, 4096, &one, ones.p, 4096, ones.p,
                           4096, &zero, d.p, 1),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_double_eq(sim_mat_get(&d, 0, 0, 0), 2048.0);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGemmEx)(h, CUBLAS_OP_T, CUBLAS_OP_N, 1, 1, 4096, &onef,
                                                  ones.p, CUDA_R_16F, 4096, ones.p, CUDA_R_16F,
                                                  4096, &zerof, d.p, CUDA_R_16F, 1,
                                                  CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_double_eq(sim_mat_get(&d, 0, 0, 0), 4096.0);
    sim_mat_free(&ones);
    sim_mat_free(&d);
    SIM_FN(CUBLAS, cublasDestroy_v2)(h);
}
END_TEST

/* 16F compute equals a sequential fp16 fused multiply-add, rounded once per step, bit for bit
 * (including overflow to Inf on the way). */
START_TEST(test_f16_accumulation_exact)
{
    if (!sim_test_available()) return;
    enum { M = 3, N = 4, K = 300 };
    cublasHandle_t h = handle_new();
    uint64_t seed = 12345;
    sim_mat a = sim_mat_new(CUDA_R_16F, M, K, 1, 1, 0, 0.0);
    sim_mat b = sim_mat_new(CUDA_R_16F, K, N, 0, 1, 0, 0.0);
    sim_mat d = sim_mat_new(CUDA_R_16F, M, N, 0, 1, 0, 0.0);
    sim_mat c0 = sim_mat_new(CUDA_R_16F, M, N, 0, 1, 0, 0.0);
    sim_mat_fill_random(&a, &seed, 8.0);
    sim_mat_fill_random(&b, &seed, 8.0);
    sim_mat_fill_random(&d, &seed, 100.0);
    for (int p = 0; p < K; p++) { /* D(2,0) grows until it overflows fp16 */
        sim_mat_set(&a, 0, 2, p, 300.0);
        sim_mat_set(&b, 0, p, 0, 4.0);
    }
    for (int j = 0; j < N; j++)
        for (int i = 0; i < M; i++)
            sim_mat_set(&c0, 0, i, j, sim_mat_get(&d, 0, i, j));
    uint16_t alpha = mpt_f32_to_f16(0.5f), beta = mpt_f32_to_f16(-1.0f);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGemmEx)(h, CUBLAS_OP_N, CUBLAS_OP_N, M, N, K, &alpha, a.p,
                                                  CUDA_R_16F, (int)a.ld, b.p, CUDA_R_16F, K, &beta,
                                                  d.p, CUDA_R_16F, M, CUBLAS_COMPUTE_16F,
                                                  CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_SUCCESS);
    for (int j = 0; j < N; j++) {
        for (int i = 0; i < M; i++) {
            double acc = 0.0;
            for (int p = 0; p < K; p++)
                acc = sim_ref_round_f16(sim_mat_get(&a, 0, i, p) * sim_mat_get(&b, 0, p, j) + acc);
            double want = sim_ref_round_f16(0.5 * acc - sim_mat_get(&c0, 0, i, j));
            double got = sim_mat_get(&d, 0, i, j);
            ck_assert_msg(got == want || (isnan(got) && isnan(want)), "(%d,%d): got %.9g want %.9g",
                          i, j, got, want);
        }
    }
    ck_assert(isinf(sim_mat_get(&d, 0, 2, 0)) || isnan(sim_mat_get(&d, 0, 2, 0)));
    sim_mat_free(&a);
    sim_mat_free(&b);
    sim_mat_free(&d);
    sim_mat_free(&c0);
    SIM_FN(CUBLAS, cublasDestroy_v2)(h);
}
END_TEST

/* One fp16 multiply-add is rounded once: 2048 + 1.03125 * 0.9697265625 = 2049 + 2^-15 lies just
 * above the tie between 2048 and 2050, so it must give 2050; rounding the exact value to fp32
 * first (2049, a tie) and then to fp16 would give 2048. */
START_TEST(test_f16_fma_single_rounding)
{
    if (!sim_test_available()) return;
    cublasHandle_t h = handle_new();
    sim_mat a = sim_mat_new(CUDA_R_16F, 1, 2, 0, 1, 0, 1.0);
    sim_mat b = sim_mat_new(CUDA_R_16F, 2, 1, 0, 1, 0, 2048.0);
    sim_mat d = sim_mat_new(CUDA_R_16F, 1, 1, 0, 1, 0, 0.0);
    sim_mat_set(&a, 0, 0, 1, 1.03125);
    sim_mat_set(&b, 0, 1, 0, 1.0 - 31.0 / 1024.0);
    uint16_t one = 0x3c00, zero = 0;
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGemmEx)(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 2, &one, a.p,
                                                  CUDA_R_16F, 1, b.p, CUDA_R_16F, 2, &zero, d.p,
                                                  CUDA_R_16F, 1, CUBLAS_COMPUTE_16F,
                                                  CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_double_eq(sim_mat_get(&d, 0, 0, 0), 2050.0);
    sim_mat_free(&a);
    sim_mat_free(&b);
    sim_mat_free(&d);
    SIM_FN(CUBLAS, cublasDestroy_v2)(h);
}
END_TEST

/* Input rounding of the FAST compute types and TF32 math mode: x * 1 for chosen x. */
typedef struct round_case {
    cublasComputeType_t compute;
    cublasMath_t math;
    float x, want;
} round_case;

static const round_case round_cases[] = {
    {CUBLAS_COMPUTE_32F, CUBLAS_DEFAULT_MATH, 1.0f + 0x1p-20f, 1.0f + 0x1p-20f},
    {CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, 1.0f + 0x1p-20f, 1.0f},
    {CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, 1.0f + 0x1p-11f, 1.0f}, /* tie: even */
    {CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_DEFAULT_MATH, 1.0f + 3 * 0x1p-11f,
     1.0f + 0x1p-9f}, /* tie: even */
    {CUBLAS_COMPUTE_32F, CUBLAS_TF32_TENSOR_OP_MATH, 1.0f + 0x1p-20f, 1.0f},
    {CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_TF32_TENSOR_OP_MATH, 1.0f + 0x1p-20f, 1.0f + 0x1p-20f},
    {CUBLAS_COMPUTE_32F_FAST_16F, CUBLAS_DEFAULT_MATH, 70000.0f, INFINITY},
    {CUBLAS_COMPUTE_32F_FAST_16F, CUBLAS_DEFAULT_MATH, 1.0f + 0x1p-11f, 1.0f},
    {CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_DEFAULT_MATH, 1.0f + 0x1p-8f, 1.0f},
    {CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_DEFAULT_MATH, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-6f},
};

START_TEST(test_input_rounding)
{
    if (!sim_test_available()) return;
    const round_case *rc = &round_cases[_i];
    cublasHandle_t h = handle_new();
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasSetMathMode)(h, rc->math), CUBLAS_STATUS_SUCCESS);
    sim_mat a = sim_mat_new(CUDA_R_32F, 1, 1, 0, 1, 0, rc->x);
    sim_mat b = sim_mat_new(CUDA_R_32F, 1, 1, 0, 1, 0, 1.0);
    sim_mat d = sim_mat_new(CUDA_R_32F, 1, 1, 0, 1, 0, 0.0);
    float alpha = 1.0f, beta = 0.0f;
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGemmEx)(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &alpha, a.p,
                                                  CUDA_R_32F, 1, b.p, CUDA_R_32F, 1, &beta, d.p,
                                                  CUDA_R_32F, 1, rc->compute, CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_msg(*(float *)d.p == rc->want, "case %d: got %.9g want %.9g", _i, *(float *)d.p,
                  rc->want);
    sim_mat_free(&a);
    sim_mat_free(&b);
    sim_mat_free(&d);
    SIM_FN(CUBLAS, cublasDestroy_v2)(h);
}
END_TEST

/* IEEE specials: NaN in A(0,0) poisons row 0 only, Inf in B(:,1) makes column 1 infinite,
 * Inf * 0 is NaN, NaN in C is ignored when beta == 0, fp16 subnormals are exact. */
START_TEST(test_specials)
{
    if (!sim_test_available()) return;
    cublasHandle_t h = handle_new();
    sim_mat a = sim_mat_new(CUDA_R_16F, 3, 2, 0, 1, 0, 1.0);
    sim_mat b = sim_mat_new(CUDA_R_16F, 2, 3, 0, 1, 0, 1.0);
    sim_mat d = sim_mat_new(CUDA_R_32F, 3, 3, 0, 1, 0, NAN);
    ((uint16_t *)a.p)[0] = 0x7e00; /* A(0,0) = NaN */
    ((uint16_t *)b.p)[2] = 0x7c00; /* B(0,1) = +Inf */
    ((uint16_t *)a.p)[2] = 0x0000; /* A(2,0) = 0: Inf * 0 in D(2,1) */
    ((uint16_t *)a.p)[5] = 0x0001; /* A(2,1) = 2^-24, the smallest subnormal */
    ((uint16_t *)b.p)[5] = 0x6400; /* B(1,2) = 1024 */
    float alpha = 1.0f, beta = 0.0f;
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGemmEx)(h, CUBLAS_OP_N, CUBLAS_OP_N, 3, 3, 2, &alpha, a.p,
                                                  CUDA_R_16F, 3, b.p, CUDA_R_16F, 2, &beta, d.p,
                                                  CUDA_R_32F, 3, CUBLAS_COMPUTE_32F,
                                                  CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_SUCCESS);
    for (int j = 0; j < 3; j++)
        ck_assert_msg(isnan(sim_mat_get(&d, 0, 0, j)), "row 0 col %d not NaN", j);
    ck_assert(isinf(sim_mat_get(&d, 0, 1, 1)) && sim_mat_get(&d, 0, 1, 1) > 0);
    ck_assert(isnan(sim_mat_get(&d, 0, 2, 1)));
    ck_assert_double_eq(sim_mat_get(&d, 0, 1, 0), 2.0);     /* C's NaN not read: beta == 0 */
    ck_assert_double_eq(sim_mat_get(&d, 0, 2, 2), 0x1p-14); /* 0*1 + 2^-24*1024: exact */
    sim_mat_free(&a);
    sim_mat_free(&b);
    sim_mat_free(&d);
    SIM_FN(CUBLAS, cublasDestroy_v2)(h);
}
END_TEST

/* Statuses for bad calls, as cuBLAS documents them. */
START_TEST(test_argument_checks)
{
    if (!sim_test_available()) return;
    __typeof__(&cublasGemmEx) gemm = SIM_FN(CUBLAS, cublasGemmEx);
    cublasHandle_t h = handle_new();
    float buf[64] = {0}, one = 1.0f;
    ck_assert_int_eq(gemm(NULL, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, buf, CUDA_R_32F, 2, buf,
                          CUDA_R_32F, 2, &one, buf, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_NOT_INITIALIZED);
    ck_assert_int_eq(gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 2, 2, &one, buf, CUDA_R_32F, 3, buf,
                          CUDA_R_32F, 2, &one, buf, CUDA_R_32F, 4, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_INVALID_VALUE); /* lda < m */
    ck_assert_int_eq(gemm(h, CUBLAS_OP_T, CUBLAS_OP_N, 4, 2, 5, &one, buf, CUDA_R_32F, 4, buf,
                          CUDA_R_32F, 5, &one, buf, CUDA_R_32F, 4, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_INVALID_VALUE); /* transposed A: lda < k */
    ck_assert_int_eq(gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, -1, 2, 2, &one, buf, CUDA_R_32F, 2, buf,
                          CUDA_R_32F, 2, &one, buf, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(gemm(h, (cublasOperation_t)7, CUBLAS_OP_N, 2, 2, 2, &one, buf, CUDA_R_32F, 2,
                          buf, CUDA_R_32F, 2, &one, buf, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, NULL, buf, CUDA_R_32F, 2, buf,
                          CUDA_R_32F, 2, &one, buf, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_INVALID_VALUE);
    static const struct {
        cudaDataType ab, c;
        cublasComputeType_t compute;
    } unsupported[] = {
        {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_16F},
        {CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F_FAST_TF32},
        {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_64F},
        {CUDA_R_8I, CUDA_R_32F, CUBLAS_COMPUTE_32F},
        {CUDA_R_16F, CUDA_R_16BF, CUBLAS_COMPUTE_32F},
        {CUDA_R_32F, CUDA_R_16F, CUBLAS_COMPUTE_32F},
        {CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32I},
        {CUDA_R_8F_E4M3, CUDA_R_16F, CUBLAS_COMPUTE_32F},
    };
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        ck_assert_msg(gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, buf, unsupported[i].ab, 2,
                           buf, unsupported[i].ab, 2, &one, buf, unsupported[i].c, 2,
                           unsupported[i].compute,
                           CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_NOT_SUPPORTED,
                      "combination %zu accepted", i);
    SIM_FN(CUBLAS, cublasDestroy_v2)(h);
}
END_TEST

/* The handle's settings, versions, status texts and the matrix copy helpers. */
START_TEST(test_handle_api)
{
    if (!sim_test_available()) return;
    cublasHandle_t h = handle_new();
    cublasMath_t math;
    cublasPointerMode_t pm;
    cudaStream_t s = (cudaStream_t)0x1234, got_s;
    int version = 0;
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasSetMathMode)(h, CUBLAS_TF32_TENSOR_OP_MATH),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGetMathMode)(h, &math), CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(math, CUBLAS_TF32_TENSOR_OP_MATH);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasSetMathMode)(h, (cublasMath_t)77),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGetPointerMode_v2)(h, &pm), CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(pm, CUBLAS_POINTER_MODE_HOST);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasSetStream_v2)(h, s), CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGetStream_v2)(h, &got_s), CUBLAS_STATUS_SUCCESS);
    ck_assert_ptr_eq(got_s, s);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGetVersion_v2)(h, &version), CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(version, CUBLAS_VERSION);
    ck_assert_str_eq(SIM_FN(CUBLAS, cublasGetStatusName)(CUBLAS_STATUS_NOT_SUPPORTED),
                     "CUBLAS_STATUS_NOT_SUPPORTED");
    ck_assert_str_eq(SIM_FN(CUBLAS, cublasGetStatusString)(CUBLAS_STATUS_INVALID_VALUE),
                     "an unsupported value or parameter was passed to the function");
    double host[6] = {1, 2, 3, 4, 5, 6}, dev[12], back[6] = {0};
    for (int i = 0; i < 12; i++)
        dev[i] = -1;
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasSetMatrix)(2, 3, 8, host, 2, dev, 4),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert(dev[0] == 1 && dev[1] == 2 && dev[2] == -1 && dev[4] == 3 && dev[9] == 6);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGetMatrix)(2, 3, 8, dev, 4, back, 2),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert(memcmp(back, host, sizeof(host)) == 0);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasSetMatrix)(2, 3, 0, host, 2, dev, 4),
                     CUBLAS_STATUS_INVALID_VALUE);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasDestroy_v2)(h), CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasDestroy_v2)(NULL), CUBLAS_STATUS_NOT_INITIALIZED);
}
END_TEST

#else
#include <stdio.h>
START_TEST(test_sim_gemm_exact_skipped)
{
    fprintf(stderr, "SKIP: CUDA headers not found — simcuda not built, sim_gemm_exact not run\n");
}
END_TEST
#endif

extern Suite *suite_sim_gemm_exact(void);
Suite *suite_sim_gemm_exact(void)
{
    Suite *s = suite_create("sim_gemm_exact");
    TCase *tc = tcase_create("cublas");
#if __has_include(<cublas_v2.h>)
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_output_rounding_f16);
    tcase_add_test(tc, test_output_rounding_bf16);
    tcase_add_test(tc, test_f16_accumulation_stalls);
    tcase_add_test(tc, test_f16_accumulation_exact);
    tcase_add_test(tc, test_f16_fma_single_rounding);
    tcase_add_loop_test(tc, test_input_rounding, 0,
                        (int)(sizeof(round_cases) / sizeof(round_cases[0])));
    tcase_add_test(tc, test_specials);
    tcase_add_test(tc, test_argument_checks);
    tcase_add_test(tc, test_handle_api);
#else
    tcase_add_test(tc, test_sim_gemm_exact_skipped);
#endif
    suite_add_tcase(s, tc);
    return s;
}
