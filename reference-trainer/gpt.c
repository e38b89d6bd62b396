/*
 * The device model's buffers, its cuBLAS / cuBLASLt helpers and the optimizer step (contract
 * in gpt.h; the passes are in gpt_pass.c).
 *
 * GEMM layout: activations and weights are row-major (weights (out, in) as PyTorch keeps
 * them); cuBLAS is column-major, so a row-major (r, c) matrix is passed as the column-major
 * (c, r) one with the same memory. out (N,OC) = inp w^T is then, column-major,
 * out^T (OC,N) = op_T(w: (IC,OC)) * (inp: (IC,N)), i.e. gemm(T, N, OC, N, IC, w, inp), as llm.c
 * and PyTorch's addmm call it.
 */
#include "reference-trainer/gpt_internal.h"

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fpformat.h"
#include "reference-trainer/kernels.h"
#include "reference-trainer/optim.h"

/* ---- errors -------------------------------------------------------------------------------- */

int mpt_tr__ck_cuda(mpt_tr_gpt *g, int rc, const char *what)
{
    if (rc == 0) return 0;
    snprintf(g->err, sizeof g->err, "%s failed: %s (CUDA error %d)", what,
             cudaGetErrorString((cudaError_t)rc), rc);
    return -1;
}

static const char *blas_status_name(int s)
{
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED:
        return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
        return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
        return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
        return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
        return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
        return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
        return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
        return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
        return "unknown status";
    }
}

int mpt_tr__ck_blas(mpt_tr_gpt *g, int status, const char *what)
{
    if (status == CUBLAS_STATUS_SUCCESS) return 0;
    snprintf(g->err, sizeof g->err, "%s failed: %s (%d)", what, blas_status_name(status), status);
    return -1;
}

#define CUDA(call)                                                                                 \
    do {                                                                                           \
        if (mpt_tr__ck_cuda(g, (int)(call), #call)) return -1;                                     \
    } while (0)
#define BLAS(call)                                                                                 \
    do {                                                                                           \
        if (mpt_tr__ck_blas(g, (int)(call), #call)) return -1;                                     \
    } while (0)

/* ---- types ----------------------------------------------------------------------------------- */

size_t mpt_tr__dt_size(int dt)
{
    return dt == MPT_DT_F32 ? 4 : 2;
}

void *mpt_tr__w16_at(const mpt_tr_gpt *g, size_t off)
{
    return (char *)g->w16 + off * mpt_tr__dt_size(g->dt);
}

static cudaDataType_t cuda_type(int dt)
{
    return dt == MPT_DT_F16 ? CUDA_R_16F : dt == MPT_DT_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

static cublasComputeType_t compute_type(const mpt_tr_gpt *g)
{
    if (g->dt == MPT_DT_F32) return g->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    return g->compute_16f ? CUBLAS_COMPUTE_16F : CUBLAS_COMPUTE_32F;
}

/* alpha and beta in the compute type's scale type: fp16 for 16F compute, else fp32. */
typedef struct scalars {
    float f[2];
    uint16_t h[2];
} scalars;

static const void *alpha_ptr(const mpt_tr_gpt *g, scalars *s, float alpha, float beta)
{
    s->f[0] = alpha, s->f[1] = beta;
    s->h[0] = mpt_f32_to_f16(alpha), s->h[1] = mpt_f32_to_f16(beta);
    return g->compute_16f ? (const void *)&s->h[0] : (const void *)&s->f[0];
}

static const void *beta_ptr(const mpt_tr_gpt *g, const scalars *s)
{
    return g->compute_16f ? (const void *)&s->h[1] : (const void *)&s->f[1];
}

/* ---- GEMMs ------------------------------------------------------------------------------------
 */

static int gemm(mpt_tr_gpt *g, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                float alpha, const void *A, int lda, const void *B, int ldb, void *C, int ldc)
{
    scalars s;
    const void *al = alpha_ptr(g, &s, alpha, 0.0f);
    cudaDataType_t t = cuda_type(g->dt);
    BLAS(cublasGemmEx((cublasHandle_t)g->blas, ta, tb, m, n, k, al, A, t, lda, B, t, ldb,
                      beta_ptr(g, &s), C, t, ldc, compute_type(g), CUBLAS_GEMM_DEFAULT));
    return 0;
}

int mpt_tr__linear_fwd(mpt_tr_gpt *g, void *out, const void *inp, const void *w, int N, int IC,
                       int OC)
{
    if (gemm(g, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, IC, 1.0f, w, IC, inp, IC, out, OC)) return -1;
    return mpt_tr__op_done(g, out, g->dt, (long)N * OC, 1);
}

int mpt_tr__linear_bias_fwd(mpt_tr_gpt *g, void *out, const void *inp, const void *w,
                            const void *bias, int N, int IC, int OC)
{
    cublasLtHandle_t lt = (cublasLtHandle_t)g->lt;
    cudaDataType_t t = cuda_type(g->dt);
    cudaDataType_t scale_t = g->compute_16f ? CUDA_R_16F : CUDA_R_32F;
    cublasLtMatmulDesc_t desc = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    int32_t bias_t = (int32_t)t;
    scalars s;
    const void *al = alpha_ptr(g, &s, 1.0f, 0.0f);
    int rc = -1;
#define LT(call)                                                                                   \
    do {                                                                                           \
        if (mpt_tr__ck_blas(g, (int)(call), #call)) goto out;                                      \
    } while (0)
    LT(cublasLtMatmulDescCreate(&desc, compute_type(g), scale_t));
    LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_t,
                                      sizeof bias_t));
    LT(cublasLtMatrixLayoutCreate(&la, t, (uint64_t)IC, (uint64_t)OC, IC));
    LT(cublasLtMatrixLayoutCreate(&lb, t, (uint64_t)IC, (uint64_t)N, IC));
    LT(cublasLtMatrixLayoutCreate(&lc, t, (uint64_t)OC, (uint64_t)N, OC));
    LT(cublasLtMatmul(lt, desc, al, w, la, inp, lb, beta_ptr(g, &s), out, lc, out, lc, NULL, NULL,
                      0, 0));
#undef LT
    rc = 0;
out:
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (desc) cublasLtMatmulDescDestroy(desc);
    if (rc) return rc;
    return mpt_tr__op_done(g, out, g->dt, (long)N * OC, 1);
}

int mpt_tr__linear_bwd(mpt_tr_gpt *g, void *dinp, const void *dout, const void *inp, const void *w,
                       size_t w_off, int N, int IC, int OC)
{
    if (dinp) {
        if (gemm(g, CUBLAS_OP_N, CUBLAS_OP_N, IC, N, OC, 1.0f, w, IC, dout, OC, dinp, IC) ||
            mpt_tr__op_done(g, dinp, g->dt, (long)N * IC, 1))
            return -1;
    }
    void *dw = g->dt == MPT_DT_F32 ? (void *)(g->grads + w_off) : g->gscratch;
    if (gemm(g, CUBLAS_OP_N, CUBLAS_OP_T, IC, OC, N, 1.0f, inp, IC, dout, OC, dw, IC) ||
        mpt_tr__op_done(g, dw, g->dt, (long)OC * IC, 1))
        return -1;
    if (g->dt != MPT_DT_F32)
        CUDA(mpt_tr_k_cast(g->grads + w_off, MPT_DT_F32, g->gscratch, g->dt, (long)OC * IC, 0, 0));
    return 0;
}

int mpt_tr__gemm_batched(mpt_tr_gpt *g, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const void *A, int lda, long stride_a, const void *B, int ldb,
                         long stride_b, void *C, int ldc, long stride_c, int batch)
{
    scalars s;
    const void *al = alpha_ptr(g, &s, alpha, 0.0f);
    cudaDataType_t t = cuda_type(g->dt);
    BLAS(cublasGemmStridedBatchedEx((cublasHandle_t)g->blas, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, al, A, t, lda,
                                    stride_a, B, t, ldb, stride_b, beta_ptr(g, &s), C, t, ldc,
                                    stride_c, batch, compute_type(g), CUBLAS_GEMM_DEFAULT));
    return mpt_tr__op_done(g, C, g->dt, stride_c * batch, 1);
}

/* ---- finite checks ------------------------------------------------------------------------ */

static int count_nonfinite(mpt_tr_gpt *g, const void *x, int dt, long n, unsigned int *out)
{
    CUDA(cudaMemset(g->count, 0, sizeof *g->count));
    CUDA(mpt_tr_k_count_nonfinite(g->count, x, dt, n));
    CUDA(cudaMemcpy(out, g->count, sizeof *out, cudaMemcpyDeviceToHost));
    return 0;
}

int mpt_tr__op_done(mpt_tr_gpt *g, const void *out, int dt, long n, int is_gemm)
{
    mpt_tr_finite_check *c = &g->check;
    if (!c->active || (c->found && c->first_gemm[0]) || (c->found && !is_gemm)) return 0;
    unsigned int bad = 0;
    if (count_nonfinite(g, out, dt, n, &bad)) return -1;
    if (!bad) return 0;
    const char *path = mpt_tr_scope_path(&g->scope);
    if (!c->found) {
        c->found = 1;
        c->is_gemm = is_gemm;
        snprintf(c->layer, sizeof c->layer, "%s", path);
    }
    if (is_gemm && !c->first_gemm[0]) snprintf(c->first_gemm, sizeof c->first_gemm, "%s", path);
    return 0;
}

int mpt_tr_gpt_check_begin(mpt_tr_gpt *g)
{
    memset(&g->check, 0, sizeof g->check);
    unsigned int bad = 0;
    if (count_nonfinite(g, g->params, MPT_DT_F32, (long)g->lo.total, &bad)) return -1;
    g->check.inputs_finite = bad == 0;
    g->check.active = 1;
    return 0;
}

void mpt_tr_gpt_check_end(mpt_tr_gpt *g)
{
    g->check.active = 0;
}

/* ---- optimizer ------------------------------------------------------------------------------ */

int mpt_tr_gpt_unscale(mpt_tr_gpt *g, double loss_scale, double *grad_norm, long *nonfinite)
{
    const long P = MPT_TR_UNSCALE_PARTIALS;
    CUDA(mpt_tr_k_unscale(g->grads, (long)g->lo.total, (float)(1.0 / loss_scale), g->part,
                          g->part + P));
    CUDA(cudaMemcpy(g->part_host, g->part, 2 * (size_t)P * sizeof(float), cudaMemcpyDeviceToHost));
    double ss = 0.0, nf = 0.0;
    for (long i = 0; i < P; i++) {
        ss += g->part_host[i];
        nf += g->part_host[P + i];
    }
    *nonfinite = (long)nf;
    *grad_norm = nf > 0.0 ? NAN : sqrt(ss);
    return 0;
}

/* The parameters as runs of consecutive tensors sharing the decay flag, one optimizer launch
 * each: the run starting at tensor *i (advanced past it). 0 when none is left. */
static int next_run(const mpt_tr_layout *lo, int *i, size_t *off, size_t *len, int *decay)
{
    if (*i >= lo->n_tensors) return 0;
    int j = *i;
    while (j + 1 < lo->n_tensors && lo->tensors[j + 1].decay == lo->tensors[*i].decay)
        j++;
    *off = lo->tensors[*i].offset;
    *len = lo->tensors[j].offset + (size_t)lo->tensors[j].rows * lo->tensors[j].cols - *off;
    *decay = lo->tensors[*i].decay;
    *i = j + 1;
    return 1;
}

/* Optimizer steps shared by AdamW and SGD: the bf16-master lost-update count around them. */
static int lost_begin(mpt_tr_gpt *g)
{
    if (g->master_bf16) CUDA(cudaMemset(g->count, 0, sizeof *g->count));
    return 0;
}

static int lost_end(mpt_tr_gpt *g, double *lost_frac)
{
    unsigned int lost = 0;
    if (g->master_bf16) CUDA(cudaMemcpy(&lost, g->count, sizeof lost, cudaMemcpyDeviceToHost));
    *lost_frac = g->master_bf16 ? (double)lost / (double)g->lo.total : -1.0;
    return 0;
}

int mpt_tr_gpt_adamw(mpt_tr_gpt *g, double lr, double weight_decay, double clip, int t,
                     double *lost_frac)
{
    float bc1 = (float)(1.0 - pow(MPT_TR_ADAM_BETA1, t));
    float bc2 = (float)(1.0 - pow(MPT_TR_ADAM_BETA2, t));
    size_t o, len;
    int i = 0, decay;
    if (lost_begin(g)) return -1;
    while (next_run(&g->lo, &i, &o, &len, &decay)) {
        float wd = decay ? (float)weight_decay : 0.0f;
        CUDA(mpt_tr_k_adamw(g->params + o, g->adam_m + o, g->adam_v + o, g->grads + o,
                            (long)len, (float)lr, (float)MPT_TR_ADAM_BETA1,
                            (float)MPT_TR_ADAM_BETA2, bc1, bc2, (float)MPT_TR_ADAM_EPS, wd,
                            (float)clip, g->master_bf16, g->master_bf16 ? g->count : NULL));
    }
    return lost_end(g, lost_frac);
}

int mpt_tr_gpt_sgd(mpt_tr_gpt *g, double lr, double momentum, double weight_decay, double clip,
                   double *lost_frac)
{
    size_t o, len;
    int i = 0, decay;
    if (lost_begin(g)) return -1;
    while (next_run(&g->lo, &i, &o, &len, &decay)) {
        float wd = decay ? (float)weight_decay : 0.0f;
        CUDA(mpt_tr_k_sgd(g->params + o, g->adam_m + o, g->grads + o, (long)len, (float)lr,
                          (float)momentum, wd, (float)clip, g->master_bf16,
                          g->master_bf16 ? g->count : NULL));
    }
    return lost_end(g, lost_frac);
}

int mpt_tr_gpt_cast_weights(mpt_tr_gpt *g)
{
    if (g->dt == MPT_DT_F32) return 0;
    mpt_tr_scope_push(&g->scope, "cast");
    int rc = mpt_tr__ck_cuda(
        g, mpt_tr_k_cast(g->w16, g->dt, g->params, MPT_DT_F32, (long)g->lo.total, 0, 0),
        "mpt_tr_k_cast");
    mpt_tr_scope_pop(&g->scope);
    return rc;
}

int mpt_tr_gpt_get_params(mpt_tr_gpt *g, float *host)
{
    CUDA(cudaMemcpy(host, g->params, g->lo.total * sizeof(float), cudaMemcpyDeviceToHost));
    return 0;
}

int mpt_tr_gpt_set_params(mpt_tr_gpt *g, const float *host)
{
    CUDA(cudaMemcpy(g->params, host, g->lo.total * sizeof(float), cudaMemcpyHostToDevice));
    return 0;
}

int mpt_tr_gpt_get_grads(mpt_tr_gpt *g, float *host)
{
    CUDA(cudaMemcpy(host, g->grads, g->lo.total * sizeof(float), cudaMemcpyDeviceToHost));
    return 0;
}
