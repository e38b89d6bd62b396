/*
 * Eight threads, each with its own cuBLAS handle and NVTX range "worker<T>", each running 40
 * fp32 GEMMs whose outputs are all 4 * (T + 1) (A = T + 1, B = 1, k = 4): the end-to-end test
 * checks that all 320 GEMMs are in the trace, each once, each under its own thread's range with
 * its own thread's values — nothing lost or mixed up.
 */
#include <nvtx3/nvToolsExt.h>
#include <pthread.h>

#include "tests/programs/ipx_common.h"

enum { THREADS = 8, GEMMS = 40 };

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    cublasHandle_t h;
    IPX_BLAS(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    float ha[16 * 4], hb[4 * 16], hc[16 * 16] = {0};
    for (int i = 0; i < 64; i++)
        ha[i] = (float)(t + 1), hb[i] = 1.0f;
    float *a = ipx_f32_copy(ha, 64), *b = ipx_f32_copy(hb, 64), *c = ipx_f32_copy(hc, 256);
    const float one = 1.0f, zero = 0.0f;
    char name[32];
    snprintf(name, sizeof name, "worker%d", t);
    nvtxRangePushA(name);
    for (int i = 0; i < GEMMS; i++)
        IPX_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 16, 16, 4, &one, a, 16, b, 4, &zero, c,
                             16),
                 CUBLAS_STATUS_SUCCESS);
    nvtxRangePop();
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    cublasDestroy(h);
    return NULL;
}

int main(void)
{
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    return ipx_done();
}
