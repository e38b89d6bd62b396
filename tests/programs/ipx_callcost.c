/*
 * The cost of one intercepted call, for bench/bench_interposer.c: N cublasSgemm calls of a 1x1x1
 * product (so the library's own work is as small as it gets), timed in process CPU time, inside
 * one NVTX range ("nvtx", the usual case: the layer comes from NVTX) or without NVTX ("plain":
 * the layer is the call path, found by unwinding the stack). Prints "ns_per_call <x>".
 * Usage: ipx_callcost nvtx|plain [N]
 */
#include <nvtx3/nvToolsExt.h>
#include <time.h>

#include "tests/programs/ipx_common.h"

/* CPU time of this process: on a shared machine wall-clock time measures the neighbours. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int nvtx = argc > 1 && !strcmp(argv[1], "nvtx");
    long n = argc > 2 ? atol(argv[2]) : 200000;
    cublasHandle_t h;
    IPX_BLAS(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    float one = 1.0f, zero = 0.0f, v = 0.5f;
    float *a = ipx_f32_copy(&v, 1), *c = ipx_f32_copy(&v, 1);
    if (nvtx) {
        nvtxRangePushA("train_step 1"); /* not a multiple of --every: the cheap pass */
        nvtxRangePushA("bench/gemm");
    }
    for (int i = 0; i < 1000; i++) /* warm up: resolution, first trace records */
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, a, 1, a, 1, &zero, c, 1);
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, a, 1, a, 1, &zero, c, 1);
    double t1 = now_ns();
    if (nvtx) {
        nvtxRangePop();
        nvtxRangePop();
    }
    printf("ns_per_call %.1f\n", (t1 - t0) / (double)n);
    cublasDestroy(h);
    return 0;
}
