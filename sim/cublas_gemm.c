/*
 * simcuda cuBLAS: the GEMM family. Every exported variant (S/D/H gemm, their Batched and
 * StridedBatched forms, SgemmEx, GemmEx, GemmBatchedEx, GemmStridedBatchedEx, each with its
 * _64 twin) funnels into sim_cublas_gemm(), which checks arguments the way cuBLAS documents
 * (CUBLAS_STATUS_NOT_INITIALIZED, INVALID_VALUE, NOT_SUPPORTED), decodes types, compute type
 * and math mode, reads alpha/beta in the scale type, and hands one sim_gemm to the engine.
 *
 * Scalars: in CUBLAS_POINTER_MODE_DEVICE they are device pointers, which in simcuda are host
 * addresses, so both pointer modes read them the same way.
 */
#include <cublas_v2.h>

#include "sim/cublas_internal.h"

static int op_ok(cublasOperation_t op)
{
    return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

static int64_t max1(int64_t v)
{
    return v > 1 ? v : 1;
}

cublasStatus_t sim_cublas_gemm(const sim_cublas_gemm_args *g)
{
    if (!g->handle || g->handle->magic != SIM_CUBLAS_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!op_ok(g->ta) || !op_ok(g->tb) || g->m < 0 || g->n < 0 || g->k < 0 || g->batch < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (g->lda < max1(g->ta == CUBLAS_OP_N ? g->m : g->k) ||
        g->ldb < max1(g->tb == CUBLAS_OP_N ? g->k : g->n) || g->ldc < max1(g->m))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (!g->alpha || !g->beta) return CUBLAS_STATUS_INVALID_VALUE;
    if (g->at != g->bt) return CUBLAS_STATUS_NOT_SUPPORTED;
    sim_compute compute;
    if (sim_cublas_compute(g->compute, g->handle->math_mode, g->at, g->ct, &compute) != 0)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (g->m == 0 || g->n == 0 || g->batch == 0) return CUBLAS_STATUS_SUCCESS;
    if ((!g->a && !g->a_array) || (!g->b && !g->b_array) || (!g->c && !g->c_array))
        return CUBLAS_STATUS_INVALID_VALUE;

    sim_type scale = sim_cublas_scale_type(compute);
    sim_gemm e = {
        .trans_a = g->ta != CUBLAS_OP_N,
        .trans_b = g->tb != CUBLAS_OP_N,
        .m = g->m,
        .n = g->n,
        .k = g->k,
        .batch = g->batch,
        .a = {.ptr = g->a,
              .ptrs = g->a_array,
              .type = sim_cublas_type(g->at),
              .ld = g->lda,
              .stride = g->stride_a},
        .b = {.ptr = g->b,
              .ptrs = g->b_array,
              .type = sim_cublas_type(g->bt),
              .ld = g->ldb,
              .stride = g->stride_b},
        .c = {.ptr = g->c,
              .ptrs = (const void *const *)g->c_array,
              .type = sim_cublas_type(g->ct),
              .ld = g->ldc,
              .stride = g->stride_c},
        .compute = compute,
        .alpha = sim_cublas_read_scalar(scale, g->alpha),
        .beta = sim_cublas_read_scalar(scale, g->beta),
    };
    e.d = e.c; /* cuBLAS GEMMs are in place: D is C */
    switch (sim_gemm_run(&e)) {
    case SIM_GEMM_OK:
        return CUBLAS_STATUS_SUCCESS;
    case SIM_GEMM_NO_MEMORY:
        return CUBLAS_STATUS_ALLOC_FAILED;
    default:
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

/* The plain routines: typed pointers, fixed types and compute type. */
#define PLAIN_ARGS(CT, COMPUTE)                                                                    \
    sim_cublas_gemm_args g = {.handle = handle,                                                    \
                              .ta = transa,                                                        \
                              .tb = transb,                                                        \
                              .m = m,                                                              \
                              .n = n,                                                              \
                              .k = k,                                                              \
                              .batch = 1,                                                          \
                              .alpha = alpha,                                                      \
                              .beta = beta,                                                        \
                              .a = A,                                                              \
                              .at = CT,                                                            \
                              .lda = lda,                                                          \
                              .b = B,                                                              \
                              .bt = CT,                                                            \
                              .ldb = ldb,                                                          \
                              .c = C,                                                              \
                              .ct = CT,                                                            \
                              .ldc = ldc,                                                          \
                              .compute = COMPUTE}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int m, int n, int k, const float *alpha,
                              const float *A, int lda, const float *B, int ldb, const float *beta,
                              float *C, int ldc)
{
    PLAIN_ARGS(CUDA_R_32F, CUBLAS_COMPUTE_32F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasSgemm_v2_64(cublasHandle_t handle, cublasOperation_t transa,
                                 cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                 const float *alpha, const float *A, int64_t lda, const float *B,
                                 int64_t ldb, const float *beta, float *C, int64_t ldc)
{
    PLAIN_ARGS(CUDA_R_32F, CUBLAS_COMPUTE_32F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasDgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int m, int n, int k, const double *alpha,
                              const double *A, int lda, const double *B, int ldb,
                              const double *beta, double *C, int ldc)
{
    PLAIN_ARGS(CUDA_R_64F, CUBLAS_COMPUTE_64F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasDgemm_v2_64(cublasHandle_t handle, cublasOperation_t transa,
                                 cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                 const double *alpha, const double *A, int64_t lda, const double *B,
                                 int64_t ldb, const double *beta, double *C, int64_t ldc)
{
    PLAIN_ARGS(CUDA_R_64F, CUBLAS_COMPUTE_64F);
    return sim_cublas_gemm(&g);
}

/* cublasHgemm* are declared by cublas_api.h for C++ only (they take __half); the ABI is that of
 * pointers, so they are defined here with void pointers. */
cublasStatus_t cublasHgemm(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, int k, const void *alpha,
                           const void *A, int lda, const void *B, int ldb, const void *beta,
                           void *C, int ldc);
cublasStatus_t cublasHgemm(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, int k, const void *alpha,
                           const void *A, int lda, const void *B, int ldb, const void *beta,
                           void *C, int ldc)
{
    PLAIN_ARGS(CUDA_R_16F, CUBLAS_COMPUTE_16F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasHgemm_64(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                              const void *alpha, const void *A, int64_t lda, const void *B,
                              int64_t ldb, const void *beta, void *C, int64_t ldc);
cublasStatus_t cublasHgemm_64(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                              const void *alpha, const void *A, int64_t lda, const void *B,
                              int64_t ldb, const void *beta, void *C, int64_t ldc)
{
    PLAIN_ARGS(CUDA_R_16F, CUBLAS_COMPUTE_16F);
    return sim_cublas_gemm(&g);
}

/* ---- pointer-array batches ---------------------------------------------------------------- */

#define ARRAY_ARGS(CT, COMPUTE)                                                                    \
    sim_cublas_gemm_args g = {.handle = handle,                                                    \
                              .ta = transa,                                                        \
                              .tb = transb,                                                        \
                              .m = m,                                                              \
                              .n = n,                                                              \
                              .k = k,                                                              \
                              .batch = batchCount,                                                 \
                              .alpha = alpha,                                                      \
                              .beta = beta,                                                        \
                              .a_array = (const void *const *)Aarray,                              \
                              .at = CT,                                                            \
                              .lda = lda,                                                          \
                              .b_array = (const void *const *)Barray,                              \
                              .bt = CT,                                                            \
                              .ldb = ldb,                                                          \
                              .c_array = (void *const *)Carray,                                    \
                              .ct = CT,                                                            \
                              .ldc = ldc,                                                          \
                              .compute = COMPUTE}

cublasStatus_t cublasSgemmBatched(cublasHandle_t handle, cublasOperation_t transa,
                                  cublasOperation_t transb, int m, int n, int k, const float *alpha,
                                  const float *const Aarray[], int lda, const float *const Barray[],
                                  int ldb, const float *beta, float *const Carray[], int ldc,
                                  int batchCount)
{
    ARRAY_ARGS(CUDA_R_32F, CUBLAS_COMPUTE_32F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasSgemmBatched_64(cublasHandle_t handle, cublasOperation_t transa,
                                     cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                     const float *alpha, const float *const Aarray[], int64_t lda,
                                     const float *const Barray[], int64_t ldb, const float *beta,
                                     float *const Carray[], int64_t ldc, int64_t batchCount)
{
    ARRAY_ARGS(CUDA_R_32F, CUBLAS_COMPUTE_32F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasDgemmBatched(cublasHandle_t handle, cublasOperation_t transa,
                                  cublasOperation_t transb, int m, int n, int k,
                                  const double *alpha, const double *const Aarray[], int lda,
                                  const double *const Barray[], int ldb, const double *beta,
                                  double *const Carray[], int ldc, int batchCount)
{
    ARRAY_ARGS(CUDA_R_64F, CUBLAS_COMPUTE_64F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasDgemmBatched_64(cublasHandle_t handle, cublasOperation_t transa,
                                     cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                     const double *alpha, const double *const Aarray[], int64_t lda,
                                     const double *const Barray[], int64_t ldb, const double *beta,
                                     double *const Carray[], int64_t ldc, int64_t batchCount)
{
    ARRAY_ARGS(CUDA_R_64F, CUBLAS_COMPUTE_64F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasHgemmBatched(cublasHandle_t handle, cublasOperation_t transa,
                                  cublasOperation_t transb, int m, int n, int k, const void *alpha,
                                  const void *const Aarray[], int lda, const void *const Barray[],
                                  int ldb, const void *beta, void *const Carray[], int ldc,
                                  int batchCount);
cublasStatus_t cublasHgemmBatched(cublasHandle_t handle, cublasOperation_t transa,
                                  cublasOperation_t transb, int m, int n, int k, const void *alpha,
                                  const void *const Aarray[], int lda, const void *const Barray[],
                                  int ldb, const void *beta, void *const Carray[], int ldc,
                                  int batchCount)
{
    ARRAY_ARGS(CUDA_R_16F, CUBLAS_COMPUTE_16F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasHgemmBatched_64(cublasHandle_t handle, cublasOperation_t transa,
                                     cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                     const void *alpha, const void *const Aarray[], int64_t lda,
                                     const void *const Barray[], int64_t ldb, const void *beta,
                                     void *const Carray[], int64_t ldc, int64_t batchCount);
cublasStatus_t cublasHgemmBatched_64(cublasHandle_t handle, cublasOperation_t transa,
                                     cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                     const void *alpha, const void *const Aarray[], int64_t lda,
                                     const void *const Barray[], int64_t ldb, const void *beta,
                                     void *const Carray[], int64_t ldc, int64_t batchCount)
{
    ARRAY_ARGS(CUDA_R_16F, CUBLAS_COMPUTE_16F);
    return sim_cublas_gemm(&g);
}

/* ---- strided batches ---------------------------------------------------------------------- */

#define STRIDED_ARGS(CT, COMPUTE)                                                                  \
    sim_cublas_gemm_args g = {.handle = handle,                                                    \
                              .ta = transa,                                                        \
                              .tb = transb,                                                        \
                              .m = m,                                                              \
                              .n = n,                                                              \
                              .k = k,                                                              \
                              .batch = batchCount,                                                 \
                              .alpha = alpha,                                                      \
                              .beta = beta,                                                        \
                              .a = A,                                                              \
                              .at = CT,                                                            \
                              .lda = lda,                                                          \
                              .stride_a = strideA,                                                 \
                              .b = B,                                                              \
                              .bt = CT,                                                            \
                              .ldb = ldb,                                                          \
                              .stride_b = strideB,                                                 \
                              .c = C,                                                              \
                              .ct = CT,                                                            \
                              .ldc = ldc,                                                          \
                              .stride_c = strideC,                                                 \
                              .compute = COMPUTE}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long int strideA, const float *B, int ldb,
                                         long long int strideB, const float *beta, float *C,
                                         int ldc, long long int strideC, int batchCount)
{
    STRIDED_ARGS(CUDA_R_32F, CUBLAS_COMPUTE_32F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasSgemmStridedBatched_64(cublasHandle_t handle, cublasOperation_t transa,
                                            cublasOperation_t transb, int64_t m, int64_t n,
                                            int64_t k, const float *alpha, const float *A,
                                            int64_t lda, long long int strideA, const float *B,
                                            int64_t ldb, long long int strideB, const float *beta,
                                            float *C, int64_t ldc, long long int strideC,
                                            int64_t batchCount)
{
    STRIDED_ARGS(CUDA_R_32F, CUBLAS_COMPUTE_32F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const double *alpha, const double *A, int lda,
                                         long long int strideA, const double *B, int ldb,
                                         long long int strideB, const double *beta, double *C,
                                         int ldc, long long int strideC, int batchCount)
{
    STRIDED_ARGS(CUDA_R_64F, CUBLAS_COMPUTE_64F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasDgemmStridedBatched_64(cublasHandle_t handle, cublasOperation_t transa,
                                            cublasOperation_t transb, int64_t m, int64_t n,
                                            int64_t k, const double *alpha, const double *A,
                                            int64_t lda, long long int strideA, const double *B,
                                            int64_t ldb, long long int strideB, const double *beta,
                                            double *C, int64_t ldc, long long int strideC,
                                            int64_t batchCount)
{
    STRIDED_ARGS(CUDA_R_64F, CUBLAS_COMPUTE_64F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasHgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const void *alpha, const void *A, int lda,
                                         long long int strideA, const void *B, int ldb,
                                         long long int strideB, const void *beta, void *C, int ldc,
                                         long long int strideC, int batchCount);
cublasStatus_t cublasHgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const void *alpha, const void *A, int lda,
                                         long long int strideA, const void *B, int ldb,
                                         long long int strideB, const void *beta, void *C, int ldc,
                                         long long int strideC, int batchCount)
{
    STRIDED_ARGS(CUDA_R_16F, CUBLAS_COMPUTE_16F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasHgemmStridedBatched_64(cublasHandle_t handle, cublasOperation_t transa,
                                            cublasOperation_t transb, int64_t m, int64_t n,
                                            int64_t k, const void *alpha, const void *A,
                                            int64_t lda, long long int strideA, const void *B,
                                            int64_t ldb, long long int strideB, const void *beta,
                                            void *C, int64_t ldc, long long int strideC,
                                            int64_t batchCount);
cublasStatus_t cublasHgemmStridedBatched_64(cublasHandle_t handle, cublasOperation_t transa,
                                            cublasOperation_t transb, int64_t m, int64_t n,
                                            int64_t k, const void *alpha, const void *A,
                                            int64_t lda, long long int strideA, const void *B,
                                            int64_t ldb, long long int strideB, const void *beta,
                                            void *C, int64_t ldc, long long int strideC,
                                            int64_t batchCount)
{
    STRIDED_ARGS(CUDA_R_16F, CUBLAS_COMPUTE_16F);
    return sim_cublas_gemm(&g);
}
