/*
 * simcuda cuBLAS: the legacy API (cublas.h) — the library state, its error cell and the two
 * GEMMs. Legacy functions take no handle and return their result, reporting failures through
 * cublasGetError(); this file includes cublas.h rather than cublas_v2.h because the latter
 * renames cublasSgemm & co. to their _v2 forms.
 *
 * The rest of the legacy API (BLAS-1/2, the other BLAS-3, cublasAlloc/Free) stays as the
 * generated stubs in cublas_unsupported.c, which record CUBLAS_STATUS_NOT_SUPPORTED here.
 */
#include <cublas.h>

#include "sim/cublas_internal.h"
#include "sim/cublas_internal_legacy.h"

static __thread int tls_legacy_error = CUBLAS_STATUS_SUCCESS;

/* The implicit context legacy calls run in. */
static struct cublasContext legacy_context = {
    .magic = SIM_CUBLAS_MAGIC,
    .pointer_mode = CUBLAS_POINTER_MODE_HOST,
    .math_mode = CUBLAS_DEFAULT_MATH,
    .atomics_mode = CUBLAS_ATOMICS_NOT_ALLOWED,
};

void sim_cublas_legacy_set_error(int status)
{
    if (status != CUBLAS_STATUS_SUCCESS) tls_legacy_error = status;
}

cublasStatus_t cublasInit(void)
{
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasShutdown(void)
{
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetError(void)
{
    cublasStatus_t s = (cublasStatus_t)tls_legacy_error;
    tls_legacy_error = CUBLAS_STATUS_SUCCESS;
    return s;
}

cublasStatus_t cublasGetVersion(int *version)
{
    if (!version) return CUBLAS_STATUS_INVALID_VALUE;
    *version = CUBLAS_VERSION;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetKernelStream(cudaStream_t stream)
{
    legacy_context.stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

/* 'N'/'n', 'T'/'t', 'C'/'c' -> the operation, or -1. */
static int legacy_op(char t)
{
    switch (t) {
    case 'N':
    case 'n':
        return CUBLAS_OP_N;
    case 'T':
    case 't':
        return CUBLAS_OP_T;
    case 'C':
    case 'c':
        return CUBLAS_OP_C;
    default:
        return -1;
    }
}

static void legacy_gemm(char transa, char transb, int m, int n, int k, const void *alpha,
                        const void *A, int lda, const void *B, int ldb, const void *beta, void *C,
                        int ldc, cudaDataType type, cublasComputeType_t compute)
{
    int ta = legacy_op(transa), tb = legacy_op(transb);
    if (ta < 0 || tb < 0) {
        sim_cublas_legacy_set_error(CUBLAS_STATUS_INVALID_VALUE);
        return;
    }
    sim_cublas_gemm_args g = {.handle = &legacy_context,
                              .ta = (cublasOperation_t)ta,
                              .tb = (cublasOperation_t)tb,
                              .m = m,
                              .n = n,
                              .k = k,
                              .batch = 1,
                              .alpha = alpha,
                              .beta = beta,
                              .a = A,
                              .at = type,
                              .lda = lda,
                              .b = B,
                              .bt = type,
                              .ldb = ldb,
                              .c = C,
                              .ct = type,
                              .ldc = ldc,
                              .compute = compute};
    sim_cublas_legacy_set_error(sim_cublas_gemm(&g));
}

void cublasSgemm(char transa, char transb, int m, int n, int k, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    legacy_gemm(transa, transb, m, n, k, &alpha, A, lda, B, ldb, &beta, C, ldc, CUDA_R_32F,
                CUBLAS_COMPUTE_32F);
}

void cublasDgemm(char transa, char transb, int m, int n, int k, double alpha, const double *A,
                 int lda, const double *B, int ldb, double beta, double *C, int ldc)
{
    legacy_gemm(transa, transb, m, n, k, &alpha, A, lda, B, ldb, &beta, C, ldc, CUDA_R_64F,
                CUBLAS_COMPUTE_64F);
}
