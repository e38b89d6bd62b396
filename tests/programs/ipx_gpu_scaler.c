/*
 * PyTorch GradScaler's scale update, as the interposer sees it (test_interposer_gpu.c): a
 * one-source kernel with the name and signature of ATen's
 *
 *   __global__ void amp_update_scale_cuda_kernel(float *current_scale, int *growth_tracker,
 *                                                const float *found_inf, double growth_factor,
 *                                                double backoff_factor, int growth_interval)
 *
 * (aten/src/ATen/native/cuda/AmpKernels.cu) and its logic, launched <<<1, 1>>> once per step
 * like scaler.update(), inside "train_step N" NVTX ranges, with one small GEMM per step. The
 * gradients "overflow" (found_inf = 1) at step 2 only; growth_interval 2 makes the scale grow
 * at steps 1 and 4. The scale each step uses, and whether it skips:
 *
 *   step      0      1      2      3      4      5
 *   scale  1024   1024   2048   1024   1024   2048
 *   skip      0      0      1      0      0      0
 *
 * Prints "OK" when every CUDA call succeeded and the final scale is 2048.
 */
#include <math.h>
#include <nvtx3/nvToolsExt.h>

#include "sim/mpt_kernel.h"
#include "tests/programs/ipx_common.h"

MPT_GLOBAL void amp_update_scale_cuda_kernel(float *current_scale, int *growth_tracker,
                                             const float *found_inf, double growth_factor,
                                             double backoff_factor, int growth_interval);
MPT_GLOBAL void amp_update_scale_cuda_kernel(float *current_scale, int *growth_tracker,
                                             const float *found_inf, double growth_factor,
                                             double backoff_factor, int growth_interval)
{
    if (*found_inf) {
        *current_scale = (float)(*current_scale * backoff_factor);
        *growth_tracker = 0;
    } else {
        int successful = *growth_tracker + 1;
        if (successful == growth_interval) {
            float grown = (float)(*current_scale * growth_factor);
            if (isfinite(grown)) *current_scale = grown;
            *growth_tracker = 0;
        } else {
            *growth_tracker = successful;
        }
    }
}
MPT_SIM_KERNEL(amp_update_scale_cuda_kernel, float *, int *, const float *, double, double, int)

int main(void)
{
    cublasHandle_t h;
    IPX_BLAS(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    float *scale, *found, *a, *d;
    int *tracker;
    IPX_CUDA(cudaMalloc((void **)&scale, sizeof *scale));
    IPX_CUDA(cudaMalloc((void **)&found, sizeof *found));
    IPX_CUDA(cudaMalloc((void **)&tracker, sizeof *tracker));
    IPX_CUDA(cudaMalloc((void **)&a, 16 * sizeof *a));
    IPX_CUDA(cudaMalloc((void **)&d, 16 * sizeof *d));
    float init = 1024.0f, ones[16];
    for (int i = 0; i < 16; i++)
        ones[i] = 1.0f;
    IPX_CUDA(cudaMemcpy(scale, &init, sizeof init, cudaMemcpyHostToDevice));
    IPX_CUDA(cudaMemcpy(a, ones, sizeof ones, cudaMemcpyHostToDevice));
    IPX_CUDA(cudaMemset(tracker, 0, sizeof *tracker));
    const float one = 1.0f, zero = 0.0f;
    for (int step = 0; step < 6; step++) {
        char name[32];
        snprintf(name, sizeof name, "train_step %d", step);
        nvtxRangePushA(name);
        IPX_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, 4, a, 4, &zero, d, 4),
                 CUBLAS_STATUS_SUCCESS);
        float inf = step == 2 ? 1.0f : 0.0f;
        IPX_CUDA(cudaMemcpy(found, &inf, sizeof inf, cudaMemcpyHostToDevice));
        double growth = 2.0, backoff = 0.5;
        int interval = 2;
        void *args[] = {&scale, &tracker, &found, &growth, &backoff, &interval};
        dim3 one3 = {1, 1, 1};
        IPX_CUDA(
            cudaLaunchKernel((const void *)amp_update_scale_cuda_kernel, one3, one3, args, 0, 0));
        nvtxRangePop();
    }
    float final_scale = 0;
    IPX_CUDA(cudaMemcpy(&final_scale, scale, sizeof final_scale, cudaMemcpyDeviceToHost));
    if (final_scale != 2048.0f) {
        printf("FAIL final scale %g, want 2048\n", final_scale);
        ipx_failures++;
    }
    cublasDestroy(h);
    if (ipx_failures) return 1;
    printf("OK\n");
    return 0;
}
