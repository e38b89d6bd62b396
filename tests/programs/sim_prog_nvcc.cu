/*
 * An nvcc-built program on simcuda: its fatbin and kernel registrations must load, its host
 * code and runtime calls must work, and a launch of its GPU kernel must fail the way the real
 * runtime fails when no kernel image fits the device (cudaErrorNoKernelImageForDevice), with one
 * line on stderr. Built by the Makefile when nvcc is found; run by tests/unit/test_sim_programs.c.
 */
#include <cstdio>
#include <cuda_runtime.h>

__global__ void add_one(float *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += 1.0f;
}

__managed__ int managed_counter;

int main()
{
    int failures = 0;
    float h[4] = {1, 2, 3, 4}, *d = nullptr;
    failures += cudaMalloc(&d, sizeof(h)) != cudaSuccess;
    failures += cudaMemcpy(d, h, sizeof(h), cudaMemcpyHostToDevice) != cudaSuccess;
    for (int launch = 0; launch < 2; launch++) {
        add_one<<<1, 4>>>(d, 4);
        cudaError_t e = cudaGetLastError();
        std::printf("launch %d: %s\n", launch, cudaGetErrorName(e));
        failures += e != cudaErrorNoKernelImageForDevice;
    }
    const char *name = nullptr;
    cudaError_t e = cudaFuncGetName(&name, (const void *)add_one);
    std::printf("registered as: %s (%s)\n", name ? name : "-", cudaGetErrorName(e));
    failures += e != cudaSuccess;
    managed_counter += 41;
    managed_counter += 1;
    std::printf("managed variable from the host: %d\n", managed_counter);
    failures += managed_counter != 42;
    failures += cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost) != cudaSuccess;
    std::printf("data untouched: %g %g %g %g\n", h[0], h[1], h[2], h[3]);
    failures += cudaFree(d) != cudaSuccess;
    std::printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
