/*
 * Steps without step ranges (test_interposer_e2e.c checks what the trace says):
 *
 *   auto    no NVTX at all: 6 steps of (2 distinct GEMMs, a "layer loop" of 4 identical GEMMs,
 *           1 more, then the loss copied to the host). Automatic detection must lock onto the
 *           7-GEMM step (not the 1-GEMM period of the layer loop) and number steps 2..5
 *   marks   the same work with a mark "mptrace:step=N loss=..." after each step: the GEMMs after
 *           mark N belong to step N + 1; losses land on their steps
 */
#include <nvtx3/nvToolsExt.h>

#include "tests/programs/ipx_common.h"

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    int marks = !strcmp(mode, "marks");
    if (!marks && strcmp(mode, "auto")) {
        fprintf(stderr, "usage: ipx_steps auto|marks\n");
        return 2;
    }
    cublasHandle_t h;
    IPX_BLAS(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    static float ha[64 * 64];
    for (int i = 0; i < 64 * 64; i++)
        ha[i] = 0.01f * (float)(i % 17);
    float *a = ipx_f32_copy(ha, 64 * 64), *c = ipx_f32_copy(ha, 64 * 64), loss;
    const float one = 1.0f, zero = 0.0f;
    const cublasOperation_t n_ = CUBLAS_OP_N;
    for (int s = 0; s < 6; s++) {
        IPX_BLAS(cublasSgemm(h, n_, n_, 8, 16, 32, &one, a, 8, a, 32, &zero, c, 8), CUBLAS_STATUS_SUCCESS);
        IPX_BLAS(cublasSgemm(h, n_, n_, 16, 8, 32, &one, a, 16, a, 32, &zero, c, 16), CUBLAS_STATUS_SUCCESS);
        for (int l = 0; l < 4; l++)
            IPX_BLAS(cublasSgemm(h, n_, n_, 32, 32, 32, &one, a, 32, a, 32, &zero, c, 32),
                     CUBLAS_STATUS_SUCCESS);
        IPX_BLAS(cublasSgemm(h, n_, n_, 4, 4, 64, &one, a, 4, a, 64, &zero, c, 4), CUBLAS_STATUS_SUCCESS);
        IPX_CUDA(cudaMemcpy(&loss, c, sizeof loss, cudaMemcpyDeviceToHost));
        if (marks) {
            char mark[64];
            snprintf(mark, sizeof mark, "mptrace:step=%d loss=%g", s, 3.0 - 0.5 * s);
            nvtxMarkA(mark);
        }
    }
    return ipx_done();
}
