/*
 * simcuda cuBLAS: the typed-by-argument GEMMs (cublasSgemmEx, cublasGemmEx,
 * cublasGemmBatchedEx, cublasGemmStridedBatchedEx and their _64 twins). They differ from the
 * plain routines only in carrying cudaDataType and compute-type arguments, so each one just
 * fills sim_cublas_gemm_args. The algorithm argument (cublasGemmAlgo_t) selects among GPU
 * kernels; simcuda has one implementation, so every value is accepted and means the same.
 */
#include <cublas_v2.h>

#include "sim/cublas_internal.h"

#define EX_ARGS(COMPUTE)                                                                           \
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
                              .at = Atype,                                                         \
                              .lda = lda,                                                          \
                              .b = B,                                                              \
                              .bt = Btype,                                                         \
                              .ldb = ldb,                                                          \
                              .c = C,                                                              \
                              .ct = Ctype,                                                         \
                              .ldc = ldc,                                                          \
                              .compute = COMPUTE}

cublasStatus_t cublasSgemmEx(cublasHandle_t handle, cublasOperation_t transa,
                             cublasOperation_t transb, int m, int n, int k, const float *alpha,
                             const void *A, cudaDataType Atype, int lda, const void *B,
                             cudaDataType Btype, int ldb, const float *beta, void *C,
                             cudaDataType Ctype, int ldc)
{
    EX_ARGS(CUBLAS_COMPUTE_32F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasSgemmEx_64(cublasHandle_t handle, cublasOperation_t transa,
                                cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                const float *alpha, const void *A, cudaDataType Atype, int64_t lda,
                                const void *B, cudaDataType Btype, int64_t ldb, const float *beta,
                                void *C, cudaDataType Ctype, int64_t ldc)
{
    EX_ARGS(CUBLAS_COMPUTE_32F);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void *alpha,
                            const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t algo)
{
    (void)algo;
    EX_ARGS(computeType);
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasGemmEx_64(cublasHandle_t handle, cublasOperation_t transa,
                               cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                               const void *alpha, const void *A, cudaDataType Atype, int64_t lda,
                               const void *B, cudaDataType Btype, int64_t ldb, const void *beta,
                               void *C, cudaDataType Ctype, int64_t ldc,
                               cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    (void)algo;
    EX_ARGS(computeType);
    return sim_cublas_gemm(&g);
}

#define BATCHED_EX_ARGS                                                                            \
    sim_cublas_gemm_args g = {.handle = handle,                                                    \
                              .ta = transa,                                                        \
                              .tb = transb,                                                        \
                              .m = m,                                                              \
                              .n = n,                                                              \
                              .k = k,                                                              \
                              .batch = batchCount,                                                 \
                              .alpha = alpha,                                                      \
                              .beta = beta,                                                        \
                              .a_array = Aarray,                                                   \
                              .at = Atype,                                                         \
                              .lda = lda,                                                          \
                              .b_array = Barray,                                                   \
                              .bt = Btype,                                                         \
                              .ldb = ldb,                                                          \
                              .c_array = Carray,                                                   \
                              .ct = Ctype,                                                         \
                              .ldc = ldc,                                                          \
                              .compute = computeType}

cublasStatus_t cublasGemmBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                   cublasOperation_t transb, int m, int n, int k, const void *alpha,
                                   const void *const Aarray[], cudaDataType Atype, int lda,
                                   const void *const Barray[], cudaDataType Btype, int ldb,
                                   const void *beta, void *const Carray[], cudaDataType Ctype,
                                   int ldc, int batchCount, cublasComputeType_t computeType,
                                   cublasGemmAlgo_t algo)
{
    (void)algo;
    BATCHED_EX_ARGS;
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasGemmBatchedEx_64(cublasHandle_t handle, cublasOperation_t transa,
                                      cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                      const void *alpha, const void *const Aarray[],
                                      cudaDataType Atype, int64_t lda, const void *const Barray[],
                                      cudaDataType Btype, int64_t ldb, const void *beta,
                                      void *const Carray[], cudaDataType Ctype, int64_t ldc,
                                      int64_t batchCount, cublasComputeType_t computeType,
                                      cublasGemmAlgo_t algo)
{
    (void)algo;
    BATCHED_EX_ARGS;
    return sim_cublas_gemm(&g);
}

#define STRIDED_EX_ARGS                                                                            \
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
                              .at = Atype,                                                         \
                              .lda = lda,                                                          \
                              .stride_a = strideA,                                                 \
                              .b = B,                                                              \
                              .bt = Btype,                                                         \
                              .ldb = ldb,                                                          \
                              .stride_b = strideB,                                                 \
                              .c = C,                                                              \
                              .ct = Ctype,                                                         \
                              .ldc = ldc,                                                          \
                              .stride_c = strideC,                                                 \
                              .compute = computeType}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                          cublasOperation_t transb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, long long int strideA, const void *B,
                                          cudaDataType Btype, int ldb, long long int strideB,
                                          const void *beta, void *C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    (void)algo;
    STRIDED_EX_ARGS;
    return sim_cublas_gemm(&g);
}

cublasStatus_t cublasGemmStridedBatchedEx_64(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n,
    int64_t k, const void *alpha, const void *A, cudaDataType Atype, int64_t lda,
    long long int strideA, const void *B, cudaDataType Btype, int64_t ldb, long long int strideB,
    const void *beta, void *C, cudaDataType Ctype, int64_t ldc, long long int strideC,
    int64_t batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    (void)algo;
    STRIDED_EX_ARGS;
    return sim_cublas_gemm(&g);
}
