/*
 * simcuda cuBLAS: the handle and its settings, versions, status texts and the host<->device
 * matrix and vector helpers. Device memory is host memory here, so Set/Get Matrix/Vector are
 * strided copies with cuBLAS's argument checks; the *Async forms are the same copies (streams
 * are synchronous).
 */
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cublas_internal.h"

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
    struct cublasContext *h = calloc(1, sizeof(*h));
    if (!h) return CUBLAS_STATUS_ALLOC_FAILED;
    h->magic = SIM_CUBLAS_MAGIC;
    h->pointer_mode = CUBLAS_POINTER_MODE_HOST;
    h->math_mode = CUBLAS_DEFAULT_MATH;
    h->atomics_mode = CUBLAS_ATOMICS_NOT_ALLOWED;
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    if (!handle || handle->magic != SIM_CUBLAS_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->magic = 0;
    free(handle);
    return CUBLAS_STATUS_SUCCESS;
}

#define CHECK_HANDLE(h)                                                                            \
    do {                                                                                           \
        if (!(h) || (h)->magic != SIM_CUBLAS_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;          \
    } while (0)

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
{
    CHECK_HANDLE(handle);
    handle->stream = streamId;
    /* As cuBLAS does, a new stream drops a user workspace back to the default one. */
    handle->workspace = NULL;
    handle->workspace_size = 0;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *streamId)
{
    CHECK_HANDLE(handle);
    if (!streamId) return CUBLAS_STATUS_INVALID_VALUE;
    *streamId = handle->stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode)
{
    CHECK_HANDLE(handle);
    if (mode != CUBLAS_POINTER_MODE_HOST && mode != CUBLAS_POINTER_MODE_DEVICE)
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->pointer_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t *mode)
{
    CHECK_HANDLE(handle);
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->pointer_mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
    CHECK_HANDLE(handle);
    int base = (int)mode & ~(int)CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
    switch (base) {
    case CUBLAS_DEFAULT_MATH:
    case CUBLAS_TENSOR_OP_MATH:
    case CUBLAS_PEDANTIC_MATH:
    case CUBLAS_TF32_TENSOR_OP_MATH:
        break;
    case CUBLAS_FP32_EMULATED_BF16X9_MATH:
    case CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH: {
        /* Accepted so programs run, but the GEMMs stay plain fp32 / fp64: say so. */
        static int flag;
        sim_notice_unsupported(&flag, "emulated math modes (GEMMs compute in plain fp32/fp64)");
        break;
    }
    default:
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    handle->math_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode)
{
    CHECK_HANDLE(handle);
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->math_mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t mode)
{
    CHECK_HANDLE(handle);
    if (mode != CUBLAS_ATOMICS_NOT_ALLOWED && mode != CUBLAS_ATOMICS_ALLOWED)
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->atomics_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t *mode)
{
    CHECK_HANDLE(handle);
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->atomics_mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace,
                                     size_t workspaceSizeInBytes)
{
    CHECK_HANDLE(handle);
    if (workspaceSizeInBytes > 0 && !workspace) return CUBLAS_STATUS_INVALID_VALUE;
    handle->workspace = workspace;
    handle->workspace_size = workspaceSizeInBytes;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetSmCountTarget(cublasHandle_t handle, int smCountTarget)
{
    CHECK_HANDLE(handle);
    if (smCountTarget < 0) return CUBLAS_STATUS_INVALID_VALUE;
    handle->sm_count_target = smCountTarget;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetSmCountTarget(cublasHandle_t handle, int *smCountTarget)
{
    CHECK_HANDLE(handle);
    if (!smCountTarget) return CUBLAS_STATUS_INVALID_VALUE;
    *smCountTarget = handle->sm_count_target;
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- versions and texts ------------------------------------------------------------------- */

cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)
{
    (void)handle; /* the real library answers without a handle too */
    if (!version) return CUBLAS_STATUS_INVALID_VALUE;
    *version = CUBLAS_VERSION;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType type, int *value)
{
    if (!value) return CUBLAS_STATUS_INVALID_VALUE;
    switch (type) {
    case MAJOR_VERSION:
        *value = CUBLAS_VER_MAJOR;
        break;
    case MINOR_VERSION:
        *value = CUBLAS_VER_MINOR;
        break;
    case PATCH_LEVEL:
        *value = CUBLAS_VER_PATCH;
        break;
    default:
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    return CUBLAS_STATUS_SUCCESS;
}

size_t cublasGetCudartVersion(void)
{
    return CUDART_VERSION;
}

const char *cublasGetStatusName(cublasStatus_t status)
{
    return sim_cublas_status_name(status);
}

const char *cublasGetStatusString(cublasStatus_t status)
{
    return sim_cublas_status_string(status);
}

/* cuBLAS's own reporter of bad arguments (programs may call or replace it). */
void cublasXerbla(const char *srName, int info)
{
    fprintf(stderr, " ** On entry to %s parameter number %d had an illegal value\n",
            srName ? srName : "?", info);
}

/* ---- host <-> device copies --------------------------------------------------------------- */

static cublasStatus_t copy_matrix(int64_t rows, int64_t cols, int64_t elem, const void *src,
                                  int64_t lds, void *dst, int64_t ldd)
{
    if (rows < 0 || cols < 0 || elem <= 0 || lds <= 0 || ldd <= 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (rows == 0 || cols == 0) return CUBLAS_STATUS_SUCCESS;
    if (lds < rows || ldd < rows || !src || !dst) return CUBLAS_STATUS_INVALID_VALUE;
    for (int64_t j = 0; j < cols; j++)
        memmove((char *)dst + (size_t)(j * ldd * elem),
                (const char *)src + (size_t)(j * lds * elem), (size_t)(rows * elem));
    return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t copy_vector(int64_t n, int64_t elem, const void *src, int64_t incs, void *dst,
                                  int64_t incd)
{
    if (n < 0 || elem <= 0 || incs <= 0 || incd <= 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (n > 0 && (!src || !dst)) return CUBLAS_STATUS_INVALID_VALUE;
    for (int64_t i = 0; i < n; i++)
        memmove((char *)dst + (size_t)(i * incd * elem),
                (const char *)src + (size_t)(i * incs * elem), (size_t)elem);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMatrix(int rows, int cols, int elemSize, const void *A, int lda, void *B,
                               int ldb)
{
    return copy_matrix(rows, cols, elemSize, A, lda, B, ldb);
}

cublasStatus_t cublasSetMatrix_64(int64_t rows, int64_t cols, int64_t elemSize, const void *A,
                                  int64_t lda, void *B, int64_t ldb)
{
    return copy_matrix(rows, cols, elemSize, A, lda, B, ldb);
}

cublasStatus_t cublasGetMatrix(int rows, int cols, int elemSize, const void *A, int lda, void *B,
                               int ldb)
{
    return copy_matrix(rows, cols, elemSize, A, lda, B, ldb);
}

cublasStatus_t cublasGetMatrix_64(int64_t rows, int64_t cols, int64_t elemSize, const void *A,
                                  int64_t lda, void *B, int64_t ldb)
{
    return copy_matrix(rows, cols, elemSize, A, lda, B, ldb);
}

cublasStatus_t cublasSetMatrixAsync(int rows, int cols, int elemSize, const void *A, int lda,
                                    void *B, int ldb, cudaStream_t stream)
{
    (void)stream;
    return copy_matrix(rows, cols, elemSize, A, lda, B, ldb);
}

cublasStatus_t cublasSetMatrixAsync_64(int64_t rows, int64_t cols, int64_t elemSize, const void *A,
                                       int64_t lda, void *B, int64_t ldb, cudaStream_t stream)
{
    (void)stream;
    return copy_matrix(rows, cols, elemSize, A, lda, B, ldb);
}

cublasStatus_t cublasGetMatrixAsync(int rows, int cols, int elemSize, const void *A, int lda,
                                    void *B, int ldb, cudaStream_t stream)
{
    (void)stream;
    return copy_matrix(rows, cols, elemSize, A, lda, B, ldb);
}

cublasStatus_t cublasGetMatrixAsync_64(int64_t rows, int64_t cols, int64_t elemSize, const void *A,
                                       int64_t lda, void *B, int64_t ldb, cudaStream_t stream)
{
    (void)stream;
    return copy_matrix(rows, cols, elemSize, A, lda, B, ldb);
}

cublasStatus_t cublasSetVector(int n, int elemSize, const void *x, int incx, void *devicePtr,
                               int incy)
{
    return copy_vector(n, elemSize, x, incx, devicePtr, incy);
}

cublasStatus_t cublasSetVector_64(int64_t n, int64_t elemSize, const void *x, int64_t incx,
                                  void *devicePtr, int64_t incy)
{
    return copy_vector(n, elemSize, x, incx, devicePtr, incy);
}

cublasStatus_t cublasGetVector(int n, int elemSize, const void *x, int incx, void *y, int incy)
{
    return copy_vector(n, elemSize, x, incx, y, incy);
}

cublasStatus_t cublasGetVector_64(int64_t n, int64_t elemSize, const void *x, int64_t incx, void *y,
                                  int64_t incy)
{
    return copy_vector(n, elemSize, x, incx, y, incy);
}

cublasStatus_t cublasSetVectorAsync(int n, int elemSize, const void *hostPtr, int incx,
                                    void *devicePtr, int incy, cudaStream_t stream)
{
    (void)stream;
    return copy_vector(n, elemSize, hostPtr, incx, devicePtr, incy);
}

cublasStatus_t cublasSetVectorAsync_64(int64_t n, int64_t elemSize, const void *hostPtr,
                                       int64_t incx, void *devicePtr, int64_t incy,
                                       cudaStream_t stream)
{
    (void)stream;
    return copy_vector(n, elemSize, hostPtr, incx, devicePtr, incy);
}

cublasStatus_t cublasGetVectorAsync(int n, int elemSize, const void *devicePtr, int incx,
                                    void *hostPtr, int incy, cudaStream_t stream)
{
    (void)stream;
    return copy_vector(n, elemSize, devicePtr, incx, hostPtr, incy);
}

cublasStatus_t cublasGetVectorAsync_64(int64_t n, int64_t elemSize, const void *devicePtr,
                                       int64_t incx, void *hostPtr, int64_t incy,
                                       cudaStream_t stream)
{
    (void)stream;
    return copy_vector(n, elemSize, devicePtr, incx, hostPtr, incy);
}
