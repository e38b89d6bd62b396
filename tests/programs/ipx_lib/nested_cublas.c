/*
 * A stand-in libcublas.so.13 for the reentrancy test: like NVIDIA's, its GEMM calls cuBLASLt
 * internally (through the dynamic linker, so with libmptrace.so preloaded the inner
 * cublasLtMatmul call lands in the interposer too). The interposer must record the GEMM once,
 * as the cublasSgemm_v2 the program called. Only what tests/programs/ipx_nested.c uses, plus
 * the handle queries the interposer makes. Built by the Makefile into
 * $(BUILD)/tests/programs/ipx_lib/ and linked against simcuda's cuBLASLt.
 */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <stdlib.h>

struct cublasContext {
    cublasLtHandle_t lt;
    cudaStream_t stream;
};

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    struct cublasContext *c = calloc(1, sizeof *c);
    if (!c || cublasLtCreate(&c->lt) != CUBLAS_STATUS_SUCCESS) {
        free(c);
        return CUBLAS_STATUS_ALLOC_FAILED;
    }
    *handle = c;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    if (handle) cublasLtDestroy(handle->lt);
    free(handle);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *s)
{
    *s = handle->stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode)
{
    (void)handle;
    *mode = CUBLAS_DEFAULT_MATH;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t *mode)
{
    (void)handle;
    *mode = CUBLAS_POINTER_MODE_HOST;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int m, int n, int k, const float *alpha,
                              const float *A, int lda, const float *B, int ldb, const float *beta,
                              float *C, int ldc)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    cublasLtMatmulDesc_t d;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasStatus_t st = cublasLtMatmulDescCreate(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof transa);
    cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof transb);
    cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, transa == CUBLAS_OP_N ? m : k,
                               transa == CUBLAS_OP_N ? k : m, lda);
    cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, transb == CUBLAS_OP_N ? k : n,
                               transb == CUBLAS_OP_N ? n : k, ldb);
    cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, m, n, ldc);
    st = cublasLtMatmul(handle->lt, d, alpha, A, la, B, lb, beta, C, lc, C, lc, NULL, NULL, 0,
                        handle->stream);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatmulDescDestroy(d);
    return st;
}
