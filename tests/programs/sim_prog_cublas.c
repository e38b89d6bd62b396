/*
 * A small CUDA program of the kind NVIDIA's library samples are, written for simcuda's tests:
 * compiled by gcc against the real CUDA 13 headers, linked the normal way (-lcudart -lcublas
 * -lcublasLt, shared runtime) and run by tests/unit/test_sim_programs.c with LD_LIBRARY_PATH
 * pointing at build/sim. It prints what it computes; the test compares the text and the exit
 * status (0 only when every call returned what the real libraries document).
 */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "core/fpformat.h"

static int failures;

#define CHECK_CUDA(call, want)                                                                     \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != (want)) {                                                                        \
            printf("FAIL %s:%d %s -> %s\n", __FILE__, __LINE__, #call, cudaGetErrorName(e_));      \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_BLAS(call, want)                                                                     \
    do {                                                                                           \
        cublasStatus_t s_ = (call);                                                                \
        if (s_ != (want)) {                                                                        \
            printf("FAIL %s:%d %s -> %s\n", __FILE__, __LINE__, #call, cublasGetStatusName(s_));   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void print_matrix(const char *name, int m, int n, const double *a, int lda)
{
    printf("%s\n", name);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++)
            printf("%0.2f ", a[j * lda + i]);
        printf("\n");
    }
}

/* The cuBLAS Level-3 gemm sample's computation: C = A B, 2x2, column-major. */
static void dgemm_2x2(cublasHandle_t h, cudaStream_t s)
{
    const double A[] = {1.0, 3.0, 2.0, 4.0}, B[] = {5.0, 7.0, 6.0, 8.0}, alpha = 1.0, beta = 0.0;
    double C[4] = {0}, *dA, *dB, *dC;
    CHECK_CUDA(cudaMalloc((void **)&dA, sizeof(A)), cudaSuccess);
    CHECK_CUDA(cudaMalloc((void **)&dB, sizeof(B)), cudaSuccess);
    CHECK_CUDA(cudaMalloc((void **)&dC, sizeof(C)), cudaSuccess);
    CHECK_CUDA(cudaMemcpyAsync(dA, A, sizeof(A), cudaMemcpyHostToDevice, s), cudaSuccess);
    CHECK_CUDA(cudaMemcpyAsync(dB, B, sizeof(B), cudaMemcpyHostToDevice, s), cudaSuccess);
    CHECK_BLAS(
        cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &alpha, dA, 2, dB, 2, &beta, dC, 2),
        CUBLAS_STATUS_SUCCESS);
    CHECK_CUDA(cudaMemcpyAsync(C, dC, sizeof(C), cudaMemcpyDeviceToHost, s), cudaSuccess);
    CHECK_CUDA(cudaStreamSynchronize(s), cudaSuccess);
    print_matrix("C = A B (Dgemm)", 2, 2, C, 2);
    CHECK_CUDA(cudaFree(dA), cudaSuccess);
    CHECK_CUDA(cudaFree(dB), cudaSuccess);
    CHECK_CUDA(cudaFree(dC), cudaSuccess);
}

/* fp16 in, fp32 compute, fp16 out: a dot product of 2049 ones rounds (ties to even) to 2048,
 * and one of 70000 ones overflows fp16 to Inf. */
static void gemmex_f16(cublasHandle_t h)
{
    enum { K = 70000 };
    static uint16_t ones[K];
    for (int i = 0; i < K; i++)
        ones[i] = 0x3c00; /* fp16 1.0 */
    uint16_t *dA, *dC, out[2];
    float alpha = 1.0f, beta = 0.0f;
    CHECK_CUDA(cudaMalloc((void **)&dA, sizeof(ones)), cudaSuccess);
    CHECK_CUDA(cudaMalloc((void **)&dC, sizeof(out)), cudaSuccess);
    CHECK_CUDA(cudaMemcpy(dA, ones, sizeof(ones), cudaMemcpyHostToDevice), cudaSuccess);
    CHECK_BLAS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 2049, &alpha, dA, CUDA_R_16F, 1, dA,
                            CUDA_R_16F, 2049, &beta, dC, CUDA_R_16F, 1, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT),
               CUBLAS_STATUS_SUCCESS);
    CHECK_BLAS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, K, &alpha, dA, CUDA_R_16F, 1, dA,
                            CUDA_R_16F, K, &beta, dC + 1, CUDA_R_16F, 1, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT),
               CUBLAS_STATUS_SUCCESS);
    CHECK_CUDA(cudaMemcpy(out, dC, sizeof(out), cudaMemcpyDeviceToHost), cudaSuccess);
    printf("GemmEx fp16: sum of 2049 ones = %g (0x%04x), of %d ones = %g (0x%04x)\n",
           mpt_f16_to_f32(out[0]), out[0], K, mpt_f16_to_f32(out[1]), out[1]);
    CHECK_CUDA(cudaFree(dA), cudaSuccess);
    CHECK_CUDA(cudaFree(dC), cudaSuccess);
}

/* cuBLASLt: D = relu(A B + C + bias) with C and D distinct, fp32. */
static void lt_bias_relu(void)
{
    const float A[] = {1, -2, 3, 4}, B[] = {1, 1, -1, 2}, C[] = {10, 20, 30, 40},
                bias[] = {0.5f, -100};
    float D[4] = {-1, -1, -1, -1}, alpha = 1.0f, beta = 1.0f;
    float *dA, *dB, *dC, *dD, *dbias;
    cudaMalloc((void **)&dA, sizeof(A));
    cudaMalloc((void **)&dB, sizeof(B));
    cudaMalloc((void **)&dC, sizeof(C));
    cudaMalloc((void **)&dD, sizeof(D));
    cudaMalloc((void **)&dbias, sizeof(bias));
    cudaMemcpy(dA, A, sizeof(A), cudaMemcpyHostToDevice);
    cudaMemcpy(dB, B, sizeof(B), cudaMemcpyHostToDevice);
    cudaMemcpy(dC, C, sizeof(C), cudaMemcpyHostToDevice);
    cudaMemcpy(dbias, bias, sizeof(bias), cudaMemcpyHostToDevice);

    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc, ld;
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_RELU_BIAS;
    CHECK_BLAS(cublasLtCreate(&lt), CUBLAS_STATUS_SUCCESS);
    CHECK_BLAS(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F),
               CUBLAS_STATUS_SUCCESS);
    CHECK_BLAS(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)),
               CUBLAS_STATUS_SUCCESS);
    CHECK_BLAS(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &dbias,
                                              sizeof(dbias)),
               CUBLAS_STATUS_SUCCESS);
    cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, 2, 2, 2);
    cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, 2, 2, 2);
    cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, 2, 2, 2);
    cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, 2, 2, 2);
    cublasLtMatmulPreferenceCreate(&pref);
    CHECK_BLAS(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, ld, pref, 1, &heur, &found),
               CUBLAS_STATUS_SUCCESS);
    CHECK_BLAS(cublasLtMatmul(lt, op, &alpha, dA, la, dB, lb, &beta, dC, lc, dD, ld, &heur.algo,
                              NULL, 0, 0),
               CUBLAS_STATUS_SUCCESS);
    cudaMemcpy(D, dD, sizeof(D), cudaMemcpyDeviceToHost);
    float Cafter[4];
    cudaMemcpy(Cafter, dC, sizeof(Cafter), cudaMemcpyDeviceToHost);
    printf("cuBLASLt relu(AB + C + bias): algos %d, D = [%g %g; %g %g], C kept %s\n", found, D[0],
           D[2], D[1], D[3], memcmp(Cafter, C, sizeof(C)) == 0 ? "yes" : "no");
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatrixLayoutDestroy(ld);
    cublasLtMatmulDescDestroy(op);
    cublasLtDestroy(lt);
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);
    cudaFree(dD);
    cudaFree(dbias);
}

static void errors(void)
{
    float host[4] = {0};
    float *d;
    CHECK_CUDA(cudaMalloc((void **)&d, sizeof(host)), cudaSuccess);
    /* Device-to-host from memory that is not a device allocation, and from a wild pointer. */
    CHECK_CUDA(cudaMemcpy(host, host + 2, 8, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
    CHECK_CUDA(cudaMemcpy(d, (const void *)16, 8, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    printf("last error: %s (%s)\n", cudaGetErrorName(cudaGetLastError()),
           cudaGetErrorString(cudaErrorInvalidValue));
    CHECK_CUDA(cudaFree(d), cudaSuccess);
    CHECK_CUDA(cudaFree(d), cudaErrorInvalidValue); /* double free */
    CHECK_CUDA(cudaFree(NULL), cudaSuccess);
    cudaGetLastError();
    /* Declared but not implemented: the API's "not supported", twice, one stderr line. */
    cudaGraph_t g;
    CHECK_CUDA(cudaGraphCreate(&g, 0), cudaErrorNotSupported);
    CHECK_CUDA(cudaGraphCreate(&g, 0), cudaErrorNotSupported);
    cudaGetLastError();
}

int main(void)
{
    struct cudaDeviceProp prop;
    int count = 0, rt = 0;
    CHECK_CUDA(cudaGetDeviceCount(&count), cudaSuccess);
    CHECK_CUDA(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
    CHECK_CUDA(cudaRuntimeGetVersion(&rt), cudaSuccess);
    printf("devices %d: %s, compute capability %d.%d, runtime %d\n", count, prop.name, prop.major,
           prop.minor, rt);

    cublasHandle_t h;
    cudaStream_t s;
    CHECK_BLAS(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    CHECK_BLAS(cublasSetStream(h, s), CUBLAS_STATUS_SUCCESS);
    dgemm_2x2(h, s);
    gemmex_f16(h);
    lt_bias_relu();
    errors();
    CHECK_BLAS(cublasDestroy(h), CUBLAS_STATUS_SUCCESS);
    CHECK_CUDA(cudaStreamDestroy(s), cudaSuccess);
    CHECK_CUDA(cudaDeviceReset(), cudaSuccess);
    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
