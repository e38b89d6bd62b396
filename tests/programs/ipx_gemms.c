/*
 * GEMM scenarios for the interposer's end-to-end tests (test_interposer_e2e.c runs each mode
 * under `mptrace --sim` and checks the trace; the expected records are described there):
 *
 *   overflow-nvtx    3 steps ("train_step N" ranges); in step 1 an fp16 GEMM inside the range
 *                    path model/attn/scores overflows (64 * 40 * 40 = 102400 > 65504)
 *   overflow-static  the same GEMM without NVTX, inside a static function
 *   paths            two static functions calling the same GEMM helper, alternately, 3 times
 *   memcpy-nan       a NaN copied into A with cudaMemcpy before the second GEMM
 *   accum16          sum of 4096 ones with fp32 (exact) and fp16 accumulation (stalls at 2048)
 *   underflow        fp16 products of 2^-13 * 2^-12 = 2^-25: stored as zero
 *   lt               cublasLtMatmul, row-major, bias epilogue, beta = 1, C != D
 *   entry            every intercepted cuBLAS entry point once (K = 3: every output is 3)
 *   invalid          NULL pointers, negative sizes, short lda: refused by cuBLAS, untouched
 */
#include <math.h>
#include <nvtx3/nvToolsExt.h>

#include "tests/programs/ipx_common.h"

static const float one = 1.0f, zero = 0.0f;

/* cublas_api.h declares the Hgemm family for C++ only (they take __half); the ABI is that of
 * pointers, so C programs declare them with void pointers, as simcuda defines them. */
cublasStatus_t cublasHgemm(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                           const void *, const void *, int, const void *, int, const void *,
                           void *, int);
cublasStatus_t cublasHgemm_64(cublasHandle_t, cublasOperation_t, cublasOperation_t, int64_t,
                              int64_t, int64_t, const void *, const void *, int64_t, const void *,
                              int64_t, const void *, void *, int64_t);
cublasStatus_t cublasHgemmBatched(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                  int, const void *, const void *const *, int, const void *const *,
                                  int, const void *, void *const *, int, int);
cublasStatus_t cublasHgemmBatched_64(cublasHandle_t, cublasOperation_t, cublasOperation_t, int64_t,
                                     int64_t, int64_t, const void *, const void *const *, int64_t,
                                     const void *const *, int64_t, const void *, void *const *,
                                     int64_t, int64_t);
cublasStatus_t cublasHgemmStridedBatched(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                         int, int, const void *, const void *, int, long long,
                                         const void *, int, long long, const void *, void *, int,
                                         long long, int);
cublasStatus_t cublasHgemmStridedBatched_64(cublasHandle_t, cublasOperation_t, cublasOperation_t,
                                            int64_t, int64_t, int64_t, const void *, const void *,
                                            int64_t, long long, const void *, int64_t, long long,
                                            const void *, void *, int64_t, long long, int64_t);

/* D (8x8, fp16) = A (8x64, all v) B (64x8, all v). */
static void f16_gemm(cublasHandle_t h, float v, uint16_t *dD)
{
    uint16_t *a = ipx_f16_fill(8 * 64, v), *b = ipx_f16_fill(64 * 8, v);
    IPX_BLAS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 8, 64, &one, a, CUDA_R_16F, 8, b,
                          CUDA_R_16F, 64, &zero, dD, CUDA_R_16F, 8, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
             CUBLAS_STATUS_SUCCESS);
    cudaFree(a);
    cudaFree(b);
}

static void overflow_nvtx(cublasHandle_t h)
{
    uint16_t *d = ipx_f16_fill(64, 0);
    for (int step = 0; step < 3; step++) {
        char name[32], mark[64];
        snprintf(name, sizeof name, "train_step %d", step);
        nvtxRangePushA(name);
        nvtxRangePushA("model");
        nvtxRangePushA("attn");
        nvtxRangePushA("scores");
        f16_gemm(h, step == 1 ? 40.0f : 1.0f, d);
        nvtxRangePop();
        nvtxRangePop();
        nvtxRangePop();
        uint16_t out;
        IPX_CUDA(cudaMemcpy(&out, d, sizeof out, cudaMemcpyDeviceToHost));
        snprintf(mark, sizeof mark, "mptrace:loss=%g skip=%d", 2.5 - step * 0.25, step == 1);
        nvtxMarkA(mark);
        nvtxRangePop();
    }
    cudaFree(d);
}

static int calls;

/* Not inlined, and with work after the call so it is no tail call: its frame is on the stack. */
__attribute__((noinline)) static void attention_scores(cublasHandle_t h, float v, uint16_t *d)
{
    f16_gemm(h, v, d);
    calls++;
}

/* Another caller of the same helper, at the same stack depth as attention_scores (its body
 * differs, or the compiler would fold the two identical functions into one). */
__attribute__((noinline)) static void mlp_up(cublasHandle_t h, float v, uint16_t *d)
{
    f16_gemm(h, v, d);
    calls += 2;
}

/* The call path tells the two callers of the shared helper apart, every time. */
static void paths(cublasHandle_t h)
{
    uint16_t *d = ipx_f16_fill(64, 0);
    for (int i = 0; i < 3; i++) {
        attention_scores(h, 1.0f, d);
        mlp_up(h, 1.0f, d);
    }
    cudaFree(d);
}

static void overflow_static(cublasHandle_t h)
{
    uint16_t *d = ipx_f16_fill(64, 0);
    attention_scores(h, 40.0f, d);
    cudaFree(d);
}

static void memcpy_nan(cublasHandle_t h)
{
    float ha[256], hb[256];
    for (int i = 0; i < 256; i++)
        ha[i] = hb[i] = 0.5f;
    float *a = ipx_f32_copy(ha, 256), *b = ipx_f32_copy(hb, 256), *c = ipx_f32_copy(ha, 256);
    IPX_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 16, 16, 16, &one, a, 16, b, 16, &zero, c, 16),
             CUBLAS_STATUS_SUCCESS);
    ha[37] = NAN;
    IPX_CUDA(cudaMemcpy(a, ha, sizeof ha, cudaMemcpyHostToDevice));
    IPX_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 16, 16, 16, &one, a, 16, b, 16, &zero, c, 16),
             CUBLAS_STATUS_SUCCESS);
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
}

static void accum16(cublasHandle_t h)
{
    uint16_t *a = ipx_f16_fill(4096, 1.0f), *b = ipx_f16_fill(4096, 1.0f), *d = ipx_f16_fill(1, 0);
    uint16_t one16 = mpt_f32_to_f16(1.0f), zero16 = 0;
    nvtxRangePushA("train_step 0");
    nvtxRangePushA("acc32");
    IPX_BLAS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 4096, &one, a, CUDA_R_16F, 1, b,
                          CUDA_R_16F, 4096, &zero, d, CUDA_R_16F, 1, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
             CUBLAS_STATUS_SUCCESS);
    nvtxRangePop();
    nvtxRangePushA("acc16");
    IPX_BLAS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 4096, &one16, a, CUDA_R_16F, 1, b,
                          CUDA_R_16F, 4096, &zero16, d, CUDA_R_16F, 1, CUBLAS_COMPUTE_16F,
                          CUBLAS_GEMM_DEFAULT),
             CUBLAS_STATUS_SUCCESS);
    nvtxRangePop();
    nvtxRangePop();
    cudaFree(a);
    cudaFree(b);
    cudaFree(d);
}

static void underflow(cublasHandle_t h)
{
    uint16_t *a = ipx_f16_fill(8, ldexpf(1, -13)), *b = ipx_f16_fill(8, ldexpf(1, -12));
    uint16_t *d = ipx_f16_fill(64, 1.0f);
    IPX_BLAS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 8, 1, &one, a, CUDA_R_16F, 8, b,
                          CUDA_R_16F, 1, &zero, d, CUDA_R_16F, 8, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
             CUBLAS_STATUS_SUCCESS);
    cudaFree(a);
    cudaFree(b);
    cudaFree(d);
}

static void lt(void)
{
    enum { M = 6, N = 5, K = 7 };
    float ha[M * K], hb[K * N], hc[M * N], bias[M];
    for (int i = 0; i < M * K; i++)
        ha[i] = 0.1f * (float)(i % 11) - 0.3f;
    for (int i = 0; i < K * N; i++)
        hb[i] = 0.07f * (float)(i % 13) - 0.4f;
    for (int i = 0; i < M * N; i++)
        hc[i] = 0.01f * (float)i;
    for (int i = 0; i < M; i++)
        bias[i] = 100.0f + (float)i;
    float *a = ipx_f32_copy(ha, M * K), *b = ipx_f32_copy(hb, K * N), *c = ipx_f32_copy(hc, M * N);
    float *d = ipx_f32_copy(hc, M * N), *db = ipx_f32_copy(bias, M);
    cublasLtHandle_t lh;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtOrder_t row = CUBLASLT_ORDER_ROW;
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    IPX_BLAS(cublasLtCreate(&lh), CUBLAS_STATUS_SUCCESS);
    IPX_BLAS(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), CUBLAS_STATUS_SUCCESS);
    IPX_BLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi),
             CUBLAS_STATUS_SUCCESS);
    IPX_BLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &db,
                                            sizeof db),
             CUBLAS_STATUS_SUCCESS);
    IPX_BLAS(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, M, K, K), CUBLAS_STATUS_SUCCESS);
    IPX_BLAS(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, K, N, N), CUBLAS_STATUS_SUCCESS);
    IPX_BLAS(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, M, N, N), CUBLAS_STATUS_SUCCESS);
    cublasLtMatrixLayout_t ls[3] = {la, lb, lc};
    for (int i = 0; i < 3; i++)
        IPX_BLAS(cublasLtMatrixLayoutSetAttribute(ls[i], CUBLASLT_MATRIX_LAYOUT_ORDER, &row,
                                                  sizeof row),
                 CUBLAS_STATUS_SUCCESS);
    nvtxRangePushA("train_step 0");
    nvtxRangePushA("mlp/up");
    IPX_BLAS(cublasLtMatmul(lh, desc, &one, a, la, b, lb, &one, c, lc, d, lc, NULL, NULL, 0, 0),
             CUBLAS_STATUS_SUCCESS);
    nvtxRangePop();
    nvtxRangePop();
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatmulDescDestroy(desc);
    cublasLtDestroy(lh);
}

/* Every entry point, each computing 3 = sum of three products 1 * 1, into its own output. */
static void entry(cublasHandle_t h)
{
    enum { M = 2, N = 2, K = 3, B = 2 };
    static float fa[B * M * K], fb[B * K * N];
    static double da[B * M * K], dbv[B * K * N];
    for (int i = 0; i < B * M * K; i++)
        fa[i] = 1.0f, da[i] = 1.0;
    for (int i = 0; i < B * K * N; i++)
        fb[i] = 1.0f, dbv[i] = 1.0;
    float *sa = ipx_f32_copy(fa, B * M * K), *sb = ipx_f32_copy(fb, B * K * N), *sc;
    double *xa, *xb, *xc;
    uint16_t *ha = ipx_f16_fill(B * M * K, 1), *hb = ipx_f16_fill(B * K * N, 1), *hc;
    IPX_CUDA(cudaMalloc((void **)&sc, sizeof(float) * B * M * N));
    IPX_CUDA(cudaMalloc((void **)&xa, sizeof da));
    IPX_CUDA(cudaMalloc((void **)&xb, sizeof dbv));
    IPX_CUDA(cudaMalloc((void **)&xc, sizeof(double) * B * M * N));
    IPX_CUDA(cudaMalloc((void **)&hc, sizeof(uint16_t) * B * M * N));
    IPX_CUDA(cudaMemcpy(xa, da, sizeof da, cudaMemcpyHostToDevice));
    IPX_CUDA(cudaMemcpy(xb, dbv, sizeof dbv, cudaMemcpyHostToDevice));
    /* Pointer arrays (device memory holding device pointers). */
    const void *hp[3][B] = {{sa, sa + M * K}, {sb, sb + K * N}, {sc, sc + M * N}};
    const void *xp[3][B] = {{xa, xa + M * K}, {xb, xb + K * N}, {xc, xc + M * N}};
    const void *pp[3][B] = {{ha, ha + M * K}, {hb, hb + K * N}, {hc, hc + M * N}};
    void **dsp, **dxp, **dhp;
    IPX_CUDA(cudaMalloc((void **)&dsp, sizeof hp));
    IPX_CUDA(cudaMalloc((void **)&dxp, sizeof xp));
    IPX_CUDA(cudaMalloc((void **)&dhp, sizeof pp));
    IPX_CUDA(cudaMemcpy(dsp, hp, sizeof hp, cudaMemcpyHostToDevice));
    IPX_CUDA(cudaMemcpy(dxp, xp, sizeof xp, cudaMemcpyHostToDevice));
    IPX_CUDA(cudaMemcpy(dhp, pp, sizeof pp, cudaMemcpyHostToDevice));
    const double done = 1.0, dzero = 0.0;
    const uint16_t hone = mpt_f32_to_f16(1.0f), hzero = 0;
    const cublasStatus_t OK = CUBLAS_STATUS_SUCCESS;
    const cublasOperation_t n_ = CUBLAS_OP_N;
#define SARR(i) ((const float *const *)(dsp + (i) * B))
#define DARR(i) ((const double *const *)(dxp + (i) * B))
#define HARR(i) ((const void *const *)(dhp + (i) * B))
    IPX_BLAS(cublasSgemm_v2(h, n_, n_, M, N, K, &one, sa, M, sb, K, &zero, sc, M), OK);
    IPX_BLAS(cublasSgemm_v2_64(h, n_, n_, M, N, K, &one, sa, M, sb, K, &zero, sc, M), OK);
    IPX_BLAS(cublasDgemm_v2(h, n_, n_, M, N, K, &done, xa, M, xb, K, &dzero, xc, M), OK);
    IPX_BLAS(cublasDgemm_v2_64(h, n_, n_, M, N, K, &done, xa, M, xb, K, &dzero, xc, M), OK);
    IPX_BLAS(cublasHgemm(h, n_, n_, M, N, K, &hone, ha, M, hb, K, &hzero, hc, M), OK);
    IPX_BLAS(cublasHgemm_64(h, n_, n_, M, N, K, &hone, ha, M, hb, K, &hzero, hc, M),
             OK);
    IPX_BLAS(cublasSgemmBatched(h, n_, n_, M, N, K, &one, SARR(0), M, SARR(1), K, &zero,
                                (float *const *)(dsp + 2 * B), M, B),
             OK);
    IPX_BLAS(cublasSgemmBatched_64(h, n_, n_, M, N, K, &one, SARR(0), M, SARR(1), K, &zero,
                                   (float *const *)(dsp + 2 * B), M, B),
             OK);
    IPX_BLAS(cublasDgemmBatched(h, n_, n_, M, N, K, &done, DARR(0), M, DARR(1), K, &dzero,
                                (double *const *)(dxp + 2 * B), M, B),
             OK);
    IPX_BLAS(cublasDgemmBatched_64(h, n_, n_, M, N, K, &done, DARR(0), M, DARR(1), K, &dzero,
                                   (double *const *)(dxp + 2 * B), M, B),
             OK);
    IPX_BLAS(cublasHgemmBatched(h, n_, n_, M, N, K, &hone, (const void *const *)HARR(0),
                                          M, (const void *const *)HARR(1), K, &hzero,
                                          (void *const *)(dhp + 2 * B), M, B),
             OK);
    IPX_BLAS(cublasHgemmBatched_64(h, n_, n_, M, N, K, &hone,
                                               (const void *const *)HARR(0), M,
                                               (const void *const *)HARR(1), K, &hzero,
                                               (void *const *)(dhp + 2 * B), M, B),
             OK);
    IPX_BLAS(cublasSgemmStridedBatched(h, n_, n_, M, N, K, &one, sa, M, M * K, sb, K, K * N, &zero,
                                       sc, M, M * N, B),
             OK);
    IPX_BLAS(cublasSgemmStridedBatched_64(h, n_, n_, M, N, K, &one, sa, M, M * K, sb, K, K * N,
                                          &zero, sc, M, M * N, B),
             OK);
    IPX_BLAS(cublasDgemmStridedBatched(h, n_, n_, M, N, K, &done, xa, M, M * K, xb, K, K * N,
                                       &dzero, xc, M, M * N, B),
             OK);
    IPX_BLAS(cublasDgemmStridedBatched_64(h, n_, n_, M, N, K, &done, xa, M, M * K, xb, K, K * N,
                                          &dzero, xc, M, M * N, B),
             OK);
    IPX_BLAS(cublasHgemmStridedBatched(h, n_, n_, M, N, K, &hone, ha, M, M * K, hb, K,
                                                K * N, &hzero, hc, M, M * N, B),
             OK);
    IPX_BLAS(cublasHgemmStridedBatched_64(h, n_, n_, M, N, K, &hone, ha, M, M * K, hb,
                                                     K, K * N, &hzero, hc, M, M * N, B),
             OK);
    IPX_BLAS(cublasSgemmEx(h, n_, n_, M, N, K, &one, ha, CUDA_R_16F, M, hb, CUDA_R_16F, K, &zero,
                           sc, CUDA_R_32F, M),
             OK);
    IPX_BLAS(cublasSgemmEx_64(h, n_, n_, M, N, K, &one, ha, CUDA_R_16F, M, hb, CUDA_R_16F, K,
                              &zero, sc, CUDA_R_32F, M),
             OK);
    IPX_BLAS(cublasGemmEx(h, n_, n_, M, N, K, &one, sa, CUDA_R_32F, M, sb, CUDA_R_32F, K, &zero,
                          sc, CUDA_R_32F, M, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
             OK);
    IPX_BLAS(cublasGemmEx_64(h, n_, n_, M, N, K, &one, sa, CUDA_R_32F, M, sb, CUDA_R_32F, K, &zero,
                             sc, CUDA_R_32F, M, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
             OK);
    IPX_BLAS(cublasGemmBatchedEx(h, n_, n_, M, N, K, &one, (const void *const *)SARR(0),
                                 CUDA_R_32F, M, (const void *const *)SARR(1), CUDA_R_32F, K, &zero,
                                 (void *const *)(dsp + 2 * B), CUDA_R_32F, M, B,
                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
             OK);
    IPX_BLAS(cublasGemmBatchedEx_64(h, n_, n_, M, N, K, &one, (const void *const *)SARR(0),
                                    CUDA_R_32F, M, (const void *const *)SARR(1), CUDA_R_32F, K,
                                    &zero, (void *const *)(dsp + 2 * B), CUDA_R_32F, M, B,
                                    CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
             OK);
    IPX_BLAS(cublasGemmStridedBatchedEx(h, n_, n_, M, N, K, &one, ha, CUDA_R_16F, M, M * K, hb,
                                        CUDA_R_16F, K, K * N, &zero, hc, CUDA_R_16F, M, M * N, B,
                                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
             OK);
    IPX_BLAS(cublasGemmStridedBatchedEx_64(h, n_, n_, M, N, K, &one, ha, CUDA_R_16F, M, M * K, hb,
                                           CUDA_R_16F, K, K * N, &zero, hc, CUDA_R_16F, M, M * N,
                                           B, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
             OK);
}

static void invalid(cublasHandle_t h)
{
    float *a = ipx_f32_copy((float[4]){1, 2, 3, 4}, 4), *c = ipx_f32_copy((float[4]){0}, 4);
    const cublasOperation_t n_ = CUBLAS_OP_N;
    IPX_BLAS(cublasSgemm(h, n_, n_, 2, 2, 2, &one, NULL, 2, a, 2, &zero, c, 2),
             CUBLAS_STATUS_INVALID_VALUE);
    IPX_BLAS(cublasSgemm(h, n_, n_, -2, 2, 2, &one, a, 2, a, 2, &zero, c, 2),
             CUBLAS_STATUS_INVALID_VALUE);
    IPX_BLAS(cublasSgemm(h, n_, n_, 2, 2, 2, &one, a, 1, a, 2, &zero, c, 2),
             CUBLAS_STATUS_INVALID_VALUE);
    IPX_BLAS(cublasSgemm(h, n_, n_, 2, 2, 2, NULL, a, 2, a, 2, &zero, c, 2),
             CUBLAS_STATUS_INVALID_VALUE);
    IPX_BLAS(cublasSgemm(NULL, n_, n_, 2, 2, 2, &one, a, 2, a, 2, &zero, c, 2),
             CUBLAS_STATUS_NOT_INITIALIZED);
    IPX_BLAS(cublasGemmStridedBatchedEx(h, n_, n_, 2, 2, 2, &one, a, CUDA_R_32F, 2, 4, a,
                                        CUDA_R_32F, 2, 4, &zero, c, CUDA_R_32F, 2, 4, -1,
                                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
             CUBLAS_STATUS_INVALID_VALUE);
    /* and one valid call, recorded */
    IPX_BLAS(cublasSgemm(h, n_, n_, 2, 2, 2, &one, a, 2, a, 2, &zero, c, 2), CUBLAS_STATUS_SUCCESS);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    cublasHandle_t h;
    IPX_BLAS(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    if (!strcmp(mode, "overflow-nvtx"))
        overflow_nvtx(h);
    else if (!strcmp(mode, "overflow-static"))
        overflow_static(h);
    else if (!strcmp(mode, "paths"))
        paths(h);
    else if (!strcmp(mode, "memcpy-nan"))
        memcpy_nan(h);
    else if (!strcmp(mode, "accum16"))
        accum16(h);
    else if (!strcmp(mode, "underflow"))
        underflow(h);
    else if (!strcmp(mode, "lt"))
        lt();
    else if (!strcmp(mode, "entry"))
        entry(h);
    else if (!strcmp(mode, "invalid"))
        invalid(h);
    else {
        fprintf(stderr, "usage: ipx_gemms MODE (see the file's comment)\n");
        return 2;
    }
    cublasDestroy(h);
    return ipx_done();
}
