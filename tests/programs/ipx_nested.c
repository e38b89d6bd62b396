/*
 * One cublasSgemm through a cuBLAS that calls cuBLASLt internally (tests/programs/ipx_lib/
 * nested_cublas.c, found first on LD_LIBRARY_PATH by the test): the trace must hold one GEMM
 * record, api cublasSgemm_v2, with the right result (every output 4 * 0.5 * 2 = 4).
 */
#include "tests/programs/ipx_common.h"

int main(void)
{
    cublasHandle_t h;
    IPX_BLAS(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    float ha[16], hb[16], out[16];
    for (int i = 0; i < 16; i++)
        ha[i] = 0.5f, hb[i] = 2.0f;
    float *a = ipx_f32_copy(ha, 16), *b = ipx_f32_copy(hb, 16), *c = ipx_f32_copy(ha, 16);
    const float one = 1.0f, zero = 0.0f;
    IPX_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, 4, b, 4, &zero, c, 4),
             CUBLAS_STATUS_SUCCESS);
    IPX_CUDA(cudaMemcpy(out, c, sizeof out, cudaMemcpyDeviceToHost));
    if (out[0] != 4.0f) printf("FAIL result %g\n", (double)out[0]), ipx_failures++;
    cublasDestroy(h);
    return ipx_done();
}
