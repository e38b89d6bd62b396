/*
 * Shared by the interposer's end-to-end programs (tests/programs/ipx_*.c): each is a small CUDA
 * program of the kind a user writes, compiled against the real headers and linked the normal
 * way, that the test_interposer_e2e suite runs under `mptrace --sim` and whose trace it checks.
 * They print "OK" at the end when every CUDA call returned what was expected.
 */
#ifndef MPT_TESTS_IPX_COMMON_H
#define MPT_TESTS_IPX_COMMON_H

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fpformat.h"

static int ipx_failures;

#define IPX_CUDA(call)                                                                           \
    do {                                                                                         \
        cudaError_t e_ = (call);                                                                 \
        if (e_ != cudaSuccess) {                                                                 \
            printf("FAIL %s:%d %s -> %s\n", __FILE__, __LINE__, #call, cudaGetErrorName(e_));    \
            ipx_failures++;                                                                      \
        }                                                                                        \
    } while (0)

#define IPX_BLAS(call, want)                                                                     \
    do {                                                                                         \
        cublasStatus_t s_ = (call);                                                              \
        if (s_ != (want)) {                                                                      \
            printf("FAIL %s:%d %s -> %d\n", __FILE__, __LINE__, #call, (int)s_);                 \
            ipx_failures++;                                                                      \
        }                                                                                        \
    } while (0)

/* A device copy of n fp16 values, all `v`. */
static inline uint16_t *ipx_f16_fill(size_t n, float v)
{
    uint16_t *h = malloc(n * sizeof *h), *d = NULL;
    for (size_t i = 0; i < n; i++)
        h[i] = mpt_f32_to_f16(v);
    IPX_CUDA(cudaMalloc((void **)&d, n * sizeof *d));
    IPX_CUDA(cudaMemcpy(d, h, n * sizeof *h, cudaMemcpyHostToDevice));
    free(h);
    return d;
}

/* A device copy of n fp32 values from a host array. */
static inline float *ipx_f32_copy(const float *h, size_t n)
{
    float *d = NULL;
    IPX_CUDA(cudaMalloc((void **)&d, n * sizeof *d));
    IPX_CUDA(cudaMemcpy(d, h, n * sizeof *h, cudaMemcpyHostToDevice));
    return d;
}

static inline int ipx_done(void)
{
    printf(ipx_failures ? "FAILED (%d)\n" : "OK\n", ipx_failures);
    return ipx_failures ? 1 : 0;
}

#endif
