/*
 * GEMMs on a stream under CUDA graph capture (test_interposer_gpu.c, with
 * tests/programs/ipx_lib/capture_shim.c preloaded to say the created stream is capturing):
 * one fp32 GEMM on the created stream, then the same on the default stream. The first must be
 * recorded with skip "graph capture" and no statistics on either path, the second measured.
 * Prints "OK" when every call succeeded.
 */
#include "tests/programs/ipx_common.h"

int main(void)
{
    cublasHandle_t h;
    cudaStream_t s;
    IPX_BLAS(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    IPX_CUDA(cudaStreamCreate(&s));
    float *a, *d, ones[16];
    for (int i = 0; i < 16; i++)
        ones[i] = 1.0f;
    IPX_CUDA(cudaMalloc((void **)&a, sizeof ones));
    IPX_CUDA(cudaMalloc((void **)&d, sizeof ones));
    IPX_CUDA(cudaMemcpy(a, ones, sizeof ones, cudaMemcpyHostToDevice));
    const float one = 1.0f, zero = 0.0f;
    IPX_BLAS(cublasSetStream(h, s), CUBLAS_STATUS_SUCCESS);
    IPX_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, 4, a, 4, &zero, d, 4),
             CUBLAS_STATUS_SUCCESS);
    IPX_BLAS(cublasSetStream(h, NULL), CUBLAS_STATUS_SUCCESS);
    IPX_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, 4, a, 4, &zero, d, 4),
             CUBLAS_STATUS_SUCCESS);
    cudaFree(a);
    cudaFree(d);
    cudaStreamDestroy(s);
    cublasDestroy(h);
    if (ipx_failures) return 1;
    printf("OK\n");
    return 0;
}
