/*
 * simcuda cuBLAS GEMMs against a double-precision reference: every API variant (S/D/H gemm and
 * their batched forms, SgemmEx, GemmEx, GemmBatchedEx, GemmStridedBatchedEx, _64 twins), every
 * supported type / compute-type pair, transposes, padded leading dimensions, batches, beta != 0
 * and scalars in device memory (CUBLAS_POINTER_MODE_DEVICE). Each result element must lie
 * within an error bound per compute type:
 *     |D - ref| <= (k + 4) u_acc * (|alpha| sum|a b| + |beta c|) + u_out |ref| + tiny_out
 * with u_acc the accumulator's unit roundoff (2^-24 fp32, 2^-53 fp64) and u_out the output's
 * (exact-rounding checks live in test_sim_gemm_exact.c). Padding and other batches' gaps must
 * come back untouched.
 */
#include <check.h>

#if __has_include(<cublas_v2.h>)
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/fpformat.h"
#include "test_sim_mat.h"
#include "test_sim_util.h"

enum api {
    API_GEMMEX,
    API_GEMMEX_64,
    API_STRIDED_EX,
    API_BATCHED_EX,
    API_SGEMMEX,
    API_SGEMM,
    API_SGEMM_64,
    API_DGEMM,
    API_HGEMM,
    API_SGEMM_STRIDED,
    API_DGEMM_BATCHED,
    API_HGEMM_STRIDED_64
};

typedef struct gemm_case {
    const char *name;
    enum api api;
    cudaDataType ab, c;
    cublasComputeType_t compute;
    cublasOperation_t ta, tb;
    int m, n, k, pad, batch;
    double alpha, beta;
    int device_scalars;
    cublasMath_t math;
} gemm_case;

static const gemm_case cases[] = {
    {"sgemm NN", API_SGEMM, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_OP_N, CUBLAS_OP_N, 7,
     5, 9, 0, 1, 1.0, 0.0, 0, 0},
    {"sgemm TN pad beta", API_SGEMM, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_OP_T,
     CUBLAS_OP_N, 13, 6, 33, 3, 1, 0.75, -1.5, 0, 0},
    {"sgemm_64 NT device scalars", API_SGEMM_64, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F,
     CUBLAS_OP_N, CUBLAS_OP_T, 16, 17, 5, 1, 1, -2.0, 0.5, 1, 0},
    {"dgemm CT", API_DGEMM, CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F, CUBLAS_OP_C, CUBLAS_OP_T, 9,
     11, 40, 2, 1, 1.25, 2.0, 0, 0},
    {"hgemm fp16 accumulate", API_HGEMM, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_16F, CUBLAS_OP_N,
     CUBLAS_OP_T, 6, 4, 12, 2, 1, 1.0, 0.5, 0, 0},
    {"gemmex f16->f16 32F", API_GEMMEX, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUBLAS_OP_T,
     CUBLAS_OP_T, 10, 12, 64, 1, 1, 1.0, 0.0, 0, 0},
    {"gemmex f16->f32 32F beta", API_GEMMEX, CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F,
     CUBLAS_OP_N, CUBLAS_OP_N, 8, 8, 100, 0, 1, 0.5, 1.0, 0, 0},
    {"gemmex bf16->bf16 32F", API_GEMMEX, CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUBLAS_OP_N,
     CUBLAS_OP_T, 5, 9, 31, 4, 1, 1.0, -0.25, 0, 0},
    {"gemmex_64 bf16->f32 device", API_GEMMEX_64, CUDA_R_16BF, CUDA_R_32F,
     CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_OP_T, CUBLAS_OP_N, 3, 7, 17, 0, 1, 2.0, 0.0, 1, 0},
    {"gemmex f32 fast tf32", API_GEMMEX, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32,
     CUBLAS_OP_N, CUBLAS_OP_N, 6, 6, 50, 0, 1, 1.0, 0.0, 0, 0},
    {"gemmex f32 fast 16F", API_GEMMEX, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_16F,
     CUBLAS_OP_T, CUBLAS_OP_N, 6, 5, 20, 1, 1, 1.0, 1.0, 0, 0},
    {"gemmex f32 fast 16BF", API_GEMMEX, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_16BF,
     CUBLAS_OP_N, CUBLAS_OP_T, 4, 6, 20, 0, 1, -1.0, 0.0, 0, 0},
    {"sgemm in TF32 math mode", API_SGEMM, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_OP_N,
     CUBLAS_OP_N, 5, 5, 30, 0, 1, 1.0, 0.0, 0, CUBLAS_TF32_TENSOR_OP_MATH},
    {"gemmex 16F compute", API_GEMMEX, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_16F, CUBLAS_OP_N,
     CUBLAS_OP_N, 5, 3, 24, 0, 1, 1.0, 0.0, 0, 0},
    {"strided ex f16 x3", API_STRIDED_EX, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUBLAS_OP_N,
     CUBLAS_OP_T, 6, 7, 8, 1, 3, 1.0, 0.5, 0, 0},
    {"batched ex bf16 x4", API_BATCHED_EX, CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_OP_T,
     CUBLAS_OP_T, 4, 5, 6, 2, 4, 1.0, 2.0, 0, 0},
    {"sgemmex f16->f32", API_SGEMMEX, CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_OP_N,
     CUBLAS_OP_N, 11, 3, 19, 0, 1, 1.0, 0.0, 0, 0},
    {"sgemm strided x2", API_SGEMM_STRIDED, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_OP_T,
     CUBLAS_OP_T, 5, 4, 3, 1, 2, 1.0, 1.0, 0, 0},
    {"dgemm batched x3", API_DGEMM_BATCHED, CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F, CUBLAS_OP_N,
     CUBLAS_OP_N, 3, 3, 70, 0, 3, 1.0, -1.0, 0, 0},
    {"hgemm strided_64 x2", API_HGEMM_STRIDED_64, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_16F,
     CUBLAS_OP_T, CUBLAS_OP_N, 4, 4, 10, 0, 2, 1.0, 0.0, 0, 0},
    {"k = 0: D = beta C", API_GEMMEX, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUBLAS_OP_N,
     CUBLAS_OP_N, 4, 3, 0, 1, 1, 1.0, 3.0, 0, 0},
};

static sim_ref_round input_rounding(const gemm_case *c)
{
    if (c->ab != CUDA_R_32F) return SIM_REF_NONE;
    switch (c->compute) {
    case CUBLAS_COMPUTE_32F_FAST_TF32:
        return SIM_REF_TF32;
    case CUBLAS_COMPUTE_32F_FAST_16F:
        return SIM_REF_F16;
    case CUBLAS_COMPUTE_32F_FAST_16BF:
        return SIM_REF_BF16;
    case CUBLAS_COMPUTE_32F:
        return c->math == CUBLAS_TF32_TENSOR_OP_MATH ? SIM_REF_TF32 : SIM_REF_NONE;
    default:
        return SIM_REF_NONE;
    }
}

/* Unit roundoff of the accumulation, and of the output type (plus its smallest step). */
static double u_acc(const gemm_case *c)
{
    return c->compute == CUBLAS_COMPUTE_64F   ? 0x1p-53
           : c->compute == CUBLAS_COMPUTE_16F ? 0x1p-11
                                              : 0x1p-24;
}

static void u_out(cudaDataType t, double *rel, double *abs_)
{
    switch (t) {
    case CUDA_R_16F:
        *rel = 0x1p-11, *abs_ = 0x1p-25;
        break;
    case CUDA_R_16BF:
        *rel = 0x1p-8, *abs_ = 0x1p-134;
        break;
    case CUDA_R_32F:
        *rel = 0x1p-24, *abs_ = 0x1p-150;
        break;
    default:
        *rel = 0x1p-53, *abs_ = 0.0;
        break;
    }
}

/* alpha / beta in the scale type, in host or managed memory. */
typedef union scalar {
    double d;
    float f;
    uint16_t h;
} scalar;

static void put_scalar(scalar *s, cublasComputeType_t compute, double v)
{
    if (compute == CUBLAS_COMPUTE_64F)
        s->d = v;
    else if (compute == CUBLAS_COMPUTE_16F)
        s->h = mpt_f32_to_f16((float)v);
    else
        s->f = (float)v;
}

static cublasStatus_t call(const gemm_case *c, cublasHandle_t h, const void *al, const void *be,
                           sim_mat *a, sim_mat *b, sim_mat *d, void **arrays)
{
    int m = c->m, n = c->n, k = c->k;
    void *A = a->p, *B = b->p, *C = d->p;
    switch (c->api) {
    case API_GEMMEX:
        return SIM_FN(CUBLAS, cublasGemmEx)(h, c->ta, c->tb, m, n, k, al, A, c->ab, (int)a->ld, B,
                                            c->ab, (int)b->ld, be, C, c->c, (int)d->ld, c->compute,
                                            CUBLAS_GEMM_DEFAULT);
    case API_GEMMEX_64:
        return SIM_FN(CUBLAS, cublasGemmEx_64)(h, c->ta, c->tb, m, n, k, al, A, c->ab, a->ld, B,
                                               c->ab, b->ld, be, C, c->c, d->ld, c->compute,
                                               CUBLAS_GEMM_DEFAULT_TENSOR_OP);
    case API_STRIDED_EX:
        return SIM_FN(CUBLAS, cublasGemmStridedBatchedEx)(
            h, c->ta, c->tb, m, n, k, al, A, c->ab, (int)a->ld, a->stride, B, c->ab, (int)b->ld,
            b->stride, be, C, c->c, (int)d->ld, d->stride, c->batch, c->compute,
            CUBLAS_GEMM_DEFAULT);
    case API_BATCHED_EX:
        return SIM_FN(CUBLAS, cublasGemmBatchedEx)(
            h, c->ta, c->tb, m, n, k, al, (const void *const *)arrays, c->ab, (int)a->ld,
            (const void *const *)arrays + c->batch, c->ab, (int)b->ld, be, arrays + 2 * c->batch,
            c->c, (int)d->ld, c->batch, c->compute, CUBLAS_GEMM_DEFAULT);
    case API_SGEMMEX:
        return SIM_FN(CUBLAS, cublasSgemmEx)(h, c->ta, c->tb, m, n, k, al, A, c->ab, (int)a->ld, B,
                                             c->ab, (int)b->ld, be, C, c->c, (int)d->ld);
    case API_SGEMM:
        return SIM_FN(CUBLAS, cublasSgemm_v2)(h, c->ta, c->tb, m, n, k, al, A, (int)a->ld, B,
                                              (int)b->ld, be, C, (int)d->ld);
    case API_SGEMM_64:
        return SIM_FN(CUBLAS, cublasSgemm_v2_64)(h, c->ta, c->tb, m, n, k, al, A, a->ld, B, b->ld,
                                                 be, C, d->ld);
    case API_DGEMM:
        return SIM_FN(CUBLAS, cublasDgemm_v2)(h, c->ta, c->tb, m, n, k, al, A, (int)a->ld, B,
                                              (int)b->ld, be, C, (int)d->ld);
    case API_HGEMM: {
        cublasStatus_t (*f)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                            const void *, const void *, int, const void *, int, const void *,
                            void *, int) =
            (__typeof__(f))sim_test_sym(SIM_LIB_CUBLAS, "cublasHgemm");
        return f(h, c->ta, c->tb, m, n, k, al, A, (int)a->ld, B, (int)b->ld, be, C, (int)d->ld);
    }
    case API_SGEMM_STRIDED:
        return SIM_FN(CUBLAS, cublasSgemmStridedBatched)(
            h, c->ta, c->tb, m, n, k, al, A, (int)a->ld, a->stride, B, (int)b->ld, b->stride, be, C,
            (int)d->ld, d->stride, c->batch);
    case API_DGEMM_BATCHED:
        return SIM_FN(CUBLAS, cublasDgemmBatched)(
            h, c->ta, c->tb, m, n, k, al, (const double *const *)arrays, (int)a->ld,
            (const double *const *)arrays + c->batch, (int)b->ld, be,
            (double *const *)arrays + 2 * c->batch, (int)d->ld, c->batch);
    case API_HGEMM_STRIDED_64: {
        cublasStatus_t (*f)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int64_t, int64_t,
                            int64_t, const void *, const void *, int64_t, long long, const void *,
                            int64_t, long long, const void *, void *, int64_t, long long, int64_t) =
            (__typeof__(f))sim_test_sym(SIM_LIB_CUBLAS, "cublasHgemmStridedBatched_64");
        return f(h, c->ta, c->tb, m, n, k, al, A, a->ld, a->stride, B, b->ld, b->stride, be, C,
                 d->ld, d->stride, c->batch);
    }
    }
    return CUBLAS_STATUS_INTERNAL_ERROR;
}

START_TEST(test_gemm_case)
{
    if (!sim_test_available()) return;
    const gemm_case *c = &cases[_i];
    uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
    int ta = c->ta != CUBLAS_OP_N, tb = c->tb != CUBLAS_OP_N;
    const double sentinel = -777.0; /* representable in every type */
    sim_mat a =
        sim_mat_new(c->ab, ta ? c->k : c->m, ta ? c->m : c->k, c->pad, c->batch, 3, sentinel);
    sim_mat b =
        sim_mat_new(c->ab, tb ? c->n : c->k, tb ? c->k : c->n, c->pad, c->batch, 2, sentinel);
    sim_mat d = sim_mat_new(c->c, c->m, c->n, c->pad, c->batch, 5, sentinel);
    sim_mat_fill_random(&a, &seed, 2.0);
    sim_mat_fill_random(&b, &seed, 2.0);
    sim_mat_fill_random(&d, &seed, 4.0);
    sim_mat c0 = sim_mat_new(c->c, c->m, c->n, c->pad, c->batch, 5, 0.0); /* C before the call */
    for (int64_t x = 0; x < d.stride * d.batch; x++)
        sim_mat_set(&c0, 0, x, 0, sim_mat_at(&d, x));

    cublasHandle_t h;
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasCreate_v2)(&h), CUBLAS_STATUS_SUCCESS);
    if (c->math)
        ck_assert_int_eq(SIM_FN(CUBLAS, cublasSetMathMode)(h, c->math), CUBLAS_STATUS_SUCCESS);
    scalar host[2], *dev = NULL, *sc = host;
    put_scalar(&host[0], c->compute, c->alpha);
    put_scalar(&host[1], c->compute, c->beta);
    if (c->device_scalars) {
        ck_assert_int_eq(SIM_FN(CUDART, cudaMalloc)((void **)&dev, sizeof(host)), cudaSuccess);
        ck_assert_int_eq(
            SIM_FN(CUDART, cudaMemcpy)(dev, host, sizeof(host), cudaMemcpyHostToDevice),
            cudaSuccess);
        ck_assert_int_eq(SIM_FN(CUBLAS, cublasSetPointerMode_v2)(h, CUBLAS_POINTER_MODE_DEVICE),
                         CUBLAS_STATUS_SUCCESS);
        sc = dev;
    }
    void **arrays = calloc((size_t)(3 * c->batch), sizeof(void *));
    for (int i = 0; i < c->batch; i++) {
        arrays[i] = sim_mat_batch_ptr(&a, i);
        arrays[c->batch + i] = sim_mat_batch_ptr(&b, i);
        arrays[2 * c->batch + i] = sim_mat_batch_ptr(&d, i);
    }
    ck_assert_int_eq(call(c, h, &sc[0], &sc[1], &a, &b, &d, arrays), CUBLAS_STATUS_SUCCESS);

    double rel, tiny;
    u_out(c->c, &rel, &tiny);
    for (int64_t bt = 0; bt < c->batch; bt++) {
        for (int64_t j = 0; j < c->n; j++) {
            for (int64_t i = 0; i < c->m; i++) {
                double mag, ref = sim_ref_gemm_elem(&a, ta, &b, tb, &c0, bt, i, j, c->k, c->alpha,
                                                    c->beta, input_rounding(c), &mag);
                double got = sim_mat_get(&d, bt, i, j);
                double bound = (c->k + 4) * u_acc(c) * mag + rel * fabs(ref) + tiny;
                ck_assert_msg(fabs(got - ref) <= bound,
                              "%s: batch %lld (%lld,%lld): got %.9g, want %.9g +- %.3g", c->name,
                              (long long)bt, (long long)i, (long long)j, got, ref, bound);
            }
        }
    }
    /* Padding rows and the gaps between batches are not part of C: untouched. */
    for (int64_t x = 0; x < d.stride * d.batch; x++) {
        int64_t in_batch = x % d.stride, row = in_batch % d.ld, col = in_batch / d.ld;
        if (row >= c->m || col >= c->n)
            ck_assert_msg(sim_mat_at(&d, x) == sim_mat_at(&c0, x),
                          "%s: element %lld outside C changed", c->name, (long long)x);
    }
    free(arrays);
    if (dev) SIM_FN(CUDART, cudaFree)(dev);
    SIM_FN(CUBLAS, cublasDestroy_v2)(h);
    sim_mat_free(&a);
    sim_mat_free(&b);
    sim_mat_free(&d);
    sim_mat_free(&c0);
}
END_TEST

/* m or n of zero: nothing is read or written, success. */
START_TEST(test_gemm_empty)
{
    if (!sim_test_available()) return;
    cublasHandle_t h;
    float alpha = 1, beta = 0, c = 42;
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasCreate_v2)(&h), CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasSgemm_v2)(h, CUBLAS_OP_N, CUBLAS_OP_N, 0, 1, 5, &alpha,
                                                    NULL, 1, NULL, 5, &beta, &c, 1),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(SIM_FN(CUBLAS, cublasGemmStridedBatchedEx)(
                         h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &alpha, &c, CUDA_R_32F, 1, 1, &c,
                         CUDA_R_32F, 1, 1, &beta, &c, CUDA_R_32F, 1, 1, 0, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert(c == 42);
    SIM_FN(CUBLAS, cublasDestroy_v2)(h);
}
END_TEST

#else /* no CUDA headers: simcuda is not built */

#include <stdio.h>

START_TEST(test_sim_gemm_skipped)
{
    fprintf(stderr, "SKIP: CUDA headers not found — simcuda not built, sim_gemm not run\n");
}
END_TEST

#endif

extern Suite *suite_sim_gemm(void);
Suite *suite_sim_gemm(void)
{
    Suite *s = suite_create("sim_gemm");
    TCase *tc = tcase_create("cublas");
#if __has_include(<cublas_v2.h>)
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gemm_case, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_gemm_empty);
#else
    tcase_add_test(tc, test_sim_gemm_skipped);
#endif
    suite_add_tcase(s, tc);
    return s;
}
