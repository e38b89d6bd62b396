/*
 * The one-source kernel convention (sim/mpt_kernel.h) end to end: kernels written in the C
 * subset, built by gcc as host code, registered through the CUDA runtime's own entry points and
 * launched with cudaLaunchKernel on simcuda. Run by tests/unit/test_sim_programs.c with
 * LD_LIBRARY_PATH at build/sim; prints what it checks and exits 0 when all is as expected.
 */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <string.h>

#include "sim/mpt_kernel.h"

/* Kernels are ordinary external functions under gcc: declare them as a header would. */
void axpy_kernel(float *y, const float *x, float a, int n);
void sum_kernel(const float *x, int n, float *sum, unsigned int *count);
void grid2d_kernel(int *out, int width);
void not_registered(float *x);

MPT_GLOBAL void axpy_kernel(float *y, const float *x, float a, int n)
{
    unsigned i = MPT_BLOCK_IDX_X * MPT_BLOCK_DIM_X + MPT_THREAD_IDX_X;
    if (i < (unsigned)n) y[i] += a * x[i];
}
MPT_SIM_KERNEL(axpy_kernel, float *, const float *, float, int)

/* A grid-stride reduction through atomics. */
MPT_GLOBAL void sum_kernel(const float *x, int n, float *sum, unsigned int *count)
{
    unsigned stride = MPT_GRID_DIM_X * MPT_BLOCK_DIM_X;
    for (unsigned i = MPT_BLOCK_IDX_X * MPT_BLOCK_DIM_X + MPT_THREAD_IDX_X; i < (unsigned)n;
         i += stride) {
        MPT_ATOMIC_ADD_F32(sum, x[i]);
        MPT_ATOMIC_ADD_U32(count, 1u);
    }
}
MPT_SIM_KERNEL(sum_kernel, const float *, int, float *, unsigned int *)

/* Every (x, y) thread of a 2-D grid of 2-D blocks writes its linear id once. */
MPT_GLOBAL void grid2d_kernel(int *out, int width)
{
    unsigned x = MPT_BLOCK_IDX_X * MPT_BLOCK_DIM_X + MPT_THREAD_IDX_X;
    unsigned y = MPT_BLOCK_IDX_Y * MPT_BLOCK_DIM_Y + MPT_THREAD_IDX_Y;
    out[y * (unsigned)width + x] += (int)(y * (unsigned)width + x) + 1;
}
MPT_SIM_KERNEL(grid2d_kernel, int *, int)

void not_registered(float *x)
{
    x[0] = 1.0f;
}

int main(void)
{
    int failures = 0;
    enum { N = 1000 };
    static float hx[N], hy[N];
    for (int i = 0; i < N; i++) {
        hx[i] = (float)i;
        hy[i] = 1.0f;
    }
    float *x, *y, *sum;
    unsigned int *count;
    int *grid;
    cudaMalloc((void **)&x, sizeof(hx));
    cudaMalloc((void **)&y, sizeof(hy));
    cudaMalloc((void **)&sum, sizeof(float));
    cudaMalloc((void **)&count, sizeof(unsigned int));
    cudaMalloc((void **)&grid, 12 * 8 * sizeof(int));
    cudaMemcpy(x, hx, sizeof(hx), cudaMemcpyHostToDevice);
    cudaMemcpy(y, hy, sizeof(hy), cudaMemcpyHostToDevice);
    cudaMemset(sum, 0, sizeof(float));
    cudaMemset(count, 0, sizeof(unsigned int));
    cudaMemset(grid, 0, 12 * 8 * sizeof(int));

    float a = 2.0f;
    int n = N, width = 12;
    void *axpy_args[] = {&y, &x, &a, &n};
    dim3 grid1 = {(N + 127) / 128, 1, 1}, block1 = {128, 1, 1};
    cudaError_t e = cudaLaunchKernel((const void *)axpy_kernel, grid1, block1, axpy_args, 0, NULL);
    cudaMemcpy(hy, y, sizeof(hy), cudaMemcpyDeviceToHost);
    int axpy_ok = e == cudaSuccess;
    for (int i = 0; i < N; i++)
        axpy_ok &= hy[i] == 1.0f + 2.0f * (float)i;
    printf("axpy: %s (%s)\n", axpy_ok ? "ok" : "WRONG", cudaGetErrorName(e));
    failures += !axpy_ok;

    void *sum_args[] = {&x, &n, &sum, &count};
    dim3 grid2 = {3, 1, 1}, block2 = {64, 1, 1};
    e = cudaLaunchKernel((const void *)sum_kernel, grid2, block2, sum_args, 0, NULL);
    float hsum = 0;
    unsigned hcount = 0;
    cudaMemcpy(&hsum, sum, sizeof(hsum), cudaMemcpyDeviceToHost);
    cudaMemcpy(&hcount, count, sizeof(hcount), cudaMemcpyDeviceToHost);
    printf("sum: %.0f over %u elements (%s)\n", hsum, hcount, cudaGetErrorName(e));
    failures += hsum != 499500.0f || hcount != N || e != cudaSuccess;

    void *grid_args[] = {&grid, &width};
    dim3 grid3 = {3, 2, 1}, block3 = {4, 4, 1};
    e = cudaLaunchKernel((const void *)grid2d_kernel, grid3, block3, grid_args, 0, NULL);
    int hgrid[12 * 8], grid_ok = e == cudaSuccess;
    cudaMemcpy(hgrid, grid, sizeof(hgrid), cudaMemcpyDeviceToHost);
    for (int i = 0; i < 12 * 8; i++)
        grid_ok &= hgrid[i] == i + 1;
    printf("grid 3x2 of 4x4: %s (%s)\n", grid_ok ? "ok" : "WRONG", cudaGetErrorName(e));
    failures += !grid_ok;

    const char *name = NULL;
    e = cudaFuncGetName(&name, (const void *)sum_kernel);
    printf("cudaFuncGetName: %s (%s)\n", name ? name : "-", cudaGetErrorName(e));
    failures += e != cudaSuccess || !name || strcmp(name, "sum_kernel") != 0;

    /* What the runtime refuses. */
    void *nr_args[] = {&x};
    e = cudaLaunchKernel((const void *)not_registered, grid1, block1, nr_args, 0, NULL);
    printf("unregistered function: %s\n", cudaGetErrorName(e));
    failures += e != cudaErrorInvalidDeviceFunction;
    failures += cudaGetLastError() != cudaErrorInvalidDeviceFunction;
    dim3 too_big = {2048, 1, 1};
    e = cudaLaunchKernel((const void *)axpy_kernel, grid1, too_big, axpy_args, 0, NULL);
    printf("block of 2048 threads: %s\n", cudaGetErrorName(e));
    failures += e != cudaErrorInvalidConfiguration;
    dim3 zero = {0, 1, 1};
    e = cudaLaunchKernel((const void *)axpy_kernel, zero, block1, axpy_args, 0, NULL);
    printf("empty grid: %s\n", cudaGetErrorName(e));
    failures += e != cudaErrorInvalidConfiguration;
    cudaGetLastError();

    cudaFree(x);
    cudaFree(y);
    cudaFree(sum);
    cudaFree(count);
    cudaFree(grid);
    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
