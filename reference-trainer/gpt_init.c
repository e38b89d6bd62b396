/*
 * Allocation and initialisation of the device model (contract in gpt.h). Every device buffer
 * goes through dalloc, which remembers it so mpt_tr_gpt_free releases everything whatever
 * point init failed at.
 */
#include "reference-trainer/gpt_internal.h"

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fpformat.h"
#include "reference-trainer/kernels.h"

/* Every device allocation of one model (g->allocs), so free needs no per-buffer code. */
typedef struct alloc_list {
    void **ptr;
    size_t n, cap;
} alloc_list;

static alloc_list *allocs_of(mpt_tr_gpt *g)
{
    return (alloc_list *)g->allocs;
}

static void *dalloc(mpt_tr_gpt *g, size_t bytes, int *fail)
{
    if (*fail) return NULL;
    alloc_list *a = allocs_of(g);
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        void **np = realloc(a->ptr, cap * sizeof *np);
        if (!np) {
            snprintf(g->err, sizeof g->err, "out of host memory");
            *fail = 1;
            return NULL;
        }
        a->ptr = np;
        a->cap = cap;
    }
    void *p = NULL;
    cudaError_t rc = cudaMalloc(&p, bytes ? bytes : 1);
    if (rc != cudaSuccess) {
        snprintf(g->err, sizeof g->err, "cudaMalloc of %zu bytes failed: %s", bytes,
                 cudaGetErrorString(rc));
        *fail = 1;
        return NULL;
    }
    a->ptr[a->n++] = p;
    return p;
}

void mpt_tr_gpt_free(mpt_tr_gpt *g)
{
    alloc_list *a = allocs_of(g);
    if (a) {
        for (size_t i = 0; i < a->n; i++)
            cudaFree(a->ptr[i]);
        free(a->ptr);
        free(a);
    }
    if (g->blas) cublasDestroy((cublasHandle_t)g->blas);
    if (g->lt) cublasLtDestroy((cublasLtHandle_t)g->lt);
    free(g->layer);
    free(g->losses_host);
    free(g->part_host);
    mpt_tr_layout_free(&g->lo);
    g->allocs = NULL;
    g->blas = g->lt = NULL;
    g->layer = NULL;
    g->losses_host = g->part_host = NULL;
}

static int init_params(mpt_tr_gpt *g, unsigned long long seed)
{
    size_t total = g->lo.total;
    float *host = malloc(total * sizeof *host);
    if (!host) {
        snprintf(g->err, sizeof g->err, "out of host memory for %zu parameters", total);
        return -1;
    }
    mpt_tr_params_init(&g->lo, seed, host);
    if (g->master_bf16)
        for (size_t i = 0; i < total; i++)
            host[i] = mpt_bf16_to_f32(mpt_f32_to_bf16(host[i]));
    int rc = mpt_tr_gpt_set_params(g, host);
    free(host);
    if (rc) return rc;
    if (mpt_tr__ck_cuda(g, cudaMemset(g->adam_m, 0, total * sizeof(float)), "cudaMemset") ||
        mpt_tr__ck_cuda(g, cudaMemset(g->adam_v, 0, total * sizeof(float)), "cudaMemset") ||
        mpt_tr__ck_cuda(g, cudaMemset(g->grads, 0, total * sizeof(float)), "cudaMemset"))
        return -1;
    return 0;
}

int mpt_tr_gpt_init(mpt_tr_gpt *g, const mpt_tr_opts *o, const mpt_tr_config *cfg)
{
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    g->dt = o->precision == MPT_TR_16_MIXED     ? MPT_DT_F16
            : o->precision == MPT_TR_BF16_MIXED ? MPT_DT_BF16
                                                : MPT_DT_F32;
    g->compute_16f = o->gemm_compute_16f;
    g->tf32 = o->tf32;
    g->master_bf16 = o->master_bf16;
    mpt_tr_scope_init(&g->scope);
    g->allocs = calloc(1, sizeof(alloc_list));
    if (!g->allocs || mpt_tr_layout_init(&g->lo, cfg)) {
        snprintf(g->err, sizeof g->err, "out of host memory");
        return -1;
    }
    int devices = 0;
    cudaError_t derr = cudaGetDeviceCount(&devices);
    if (derr != cudaSuccess || devices == 0) {
        snprintf(g->err, sizeof g->err, "no CUDA device (%s); the CPU build runs on simcuda",
                 derr != cudaSuccess ? cudaGetErrorString(derr) : "none found");
        return -1;
    }
    cublasHandle_t blas;
    cublasLtHandle_t lt;
    if (mpt_tr__ck_blas(g, cublasCreate(&blas), "cublasCreate")) return -1;
    g->blas = blas;
    if (mpt_tr__ck_blas(g, cublasLtCreate(&lt), "cublasLtCreate")) return -1;
    g->lt = lt;

    const size_t N = (size_t)cfg->B * cfg->T, C = (size_t)cfg->C, V = (size_t)cfg->V;
    const size_t BHTT = (size_t)cfg->B * cfg->H * cfg->T * cfg->T;
    const size_t es = mpt_tr__dt_size(g->dt), F = sizeof(float), total = g->lo.total;
    size_t biggest_w = 0;
    for (int i = 0; i < g->lo.n_tensors; i++) {
        size_t n = (size_t)g->lo.tensors[i].rows * g->lo.tensors[i].cols;
        biggest_w = n > biggest_w ? n : biggest_w;
    }
    int fail = 0;
    g->params = dalloc(g, total * F, &fail);
    g->grads = dalloc(g, total * F, &fail);
    g->adam_m = dalloc(g, total * F, &fail);
    g->adam_v = dalloc(g, total * F, &fail);
    g->w16 = g->dt == MPT_DT_F32 ? (void *)g->params : dalloc(g, total * es, &fail);
    g->gscratch = dalloc(g, biggest_w * es, &fail);
    g->tok = dalloc(g, N * sizeof(int32_t), &fail);
    g->tgt = dalloc(g, N * sizeof(int32_t), &fail);
    g->layer = calloc((size_t)cfg->L, sizeof *g->layer);
    if (!g->layer) {
        snprintf(g->err, sizeof g->err, "out of host memory");
        return -1;
    }
    for (int l = 0; l < cfg->L; l++) {
        mpt_tr_layer_acts *a = &g->layer[l];
        a->x_in = dalloc(g, N * C * F, &fail);
        a->ln1 = dalloc(g, N * C * es, &fail);
        a->ln1_mean = dalloc(g, N * F, &fail);
        a->ln1_rstd = dalloc(g, N * F, &fail);
        a->qkv = dalloc(g, N * 3 * C * es, &fail);
        a->q = dalloc(g, N * C * es, &fail);
        a->k = dalloc(g, N * C * es, &fail);
        a->v = dalloc(g, N * C * es, &fail);
        a->s = dalloc(g, BHTT * es, &fail);
        a->p = dalloc(g, BHTT * es, &fail);
        a->y = dalloc(g, N * C * es, &fail);
        a->atty = dalloc(g, N * C * es, &fail);
        a->attproj = dalloc(g, N * C * es, &fail);
        a->x_mid = dalloc(g, N * C * F, &fail);
        a->ln2 = dalloc(g, N * C * es, &fail);
        a->ln2_mean = dalloc(g, N * F, &fail);
        a->ln2_rstd = dalloc(g, N * F, &fail);
        a->fc = dalloc(g, N * 4 * C * es, &fail);
        a->gelu = dalloc(g, N * 4 * C * es, &fail);
        a->fcproj = dalloc(g, N * C * es, &fail);
    }
    g->x_out = dalloc(g, N * C * F, &fail);
    g->lnf = dalloc(g, N * C * es, &fail);
    g->lnf_mean = dalloc(g, N * F, &fail);
    g->lnf_rstd = dalloc(g, N * F, &fail);
    g->logits = dalloc(g, N * V * es, &fail);
    g->losses = dalloc(g, N * F, &fail);
    g->dx = dalloc(g, N * C * F, &fail);
    g->dx16 = dalloc(g, N * C * es, &fail);
    g->d_nc = dalloc(g, N * C * es, &fail);
    g->d_n4c_a = dalloc(g, N * 4 * C * es, &fail);
    g->d_n4c_b = dalloc(g, N * 4 * C * es, &fail);
    g->d_n3c = dalloc(g, N * 3 * C * es, &fail);
    g->dq = dalloc(g, N * C * es, &fail);
    g->dk = dalloc(g, N * C * es, &fail);
    g->dv = dalloc(g, N * C * es, &fail);
    g->dy = dalloc(g, N * C * es, &fail);
    g->d_att_a = dalloc(g, BHTT * es, &fail);
    g->d_att_b = dalloc(g, BHTT * es, &fail);
    g->dlogits = dalloc(g, N * V * es, &fail);
    g->part = dalloc(g, 2 * (size_t)MPT_TR_UNSCALE_PARTIALS * F, &fail);
    g->count = dalloc(g, sizeof *g->count, &fail);
    if (fail) return -1;
    g->losses_host = malloc(N * F);
    g->part_host = malloc(2 * (size_t)MPT_TR_UNSCALE_PARTIALS * F);
    if (!g->losses_host || !g->part_host) {
        snprintf(g->err, sizeof g->err, "out of host memory");
        return -1;
    }
    return init_params(g, o->seed);
}
