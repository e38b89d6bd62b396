/*
 * simcuda cuBLASLt: planning and running a matmul, and the algorithm queries. There is one
 * "algorithm" (the CPU engine of sim_gemm.h); the heuristic returns it for every problem simcuda
 * can compute and CUBLAS_STATUS_NOT_SUPPORTED otherwise, so a program learns at heuristic time,
 * as on a GPU, that a configuration cannot run. (Algorithm queries: cublaslt_algo.c.)
 *
 * D = epilogue(alpha * op(A) op(B) + beta * C), with C and D distinct buffers allowed, column-
 * or row-major layouts, strided or pointer-array batches, epilogues DEFAULT, RELU, BIAS,
 * RELU_BIAS, GELU and GELU_BIAS (bias: one value per row of D, D's type unless
 * CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE says otherwise).
 */
#include <string.h>

#include "sim/cublaslt_internal.h"

static int layout_ok(const sim_lt_layout *l)
{
    return l && l->magic == SIM_LT_LAYOUT_MAGIC;
}

/* Fills the engine's view of one operand (pointer filled later). */
static cublasStatus_t operand(const sim_lt_layout *l, sim_matrix *m)
{
    if (l->order != CUBLASLT_ORDER_COL && l->order != CUBLASLT_ORDER_ROW)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (l->plane_offset != 0 || l->batch_mode > CUBLASLT_BATCH_MODE_POINTER_ARRAY)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    uint64_t need = l->order == CUBLASLT_ORDER_COL ? l->rows : l->cols;
    if (l->ld < 1 || (uint64_t)l->ld < need) return CUBLAS_STATUS_INVALID_VALUE;
    m->type = sim_cublas_type((cudaDataType)l->type);
    m->row_major = l->order == CUBLASLT_ORDER_ROW;
    m->ld = l->ld;
    m->stride = l->batch_stride;
    return CUBLAS_STATUS_SUCCESS;
}

static int epilogue_activation(uint32_t e, sim_activation *act, int *bias)
{
    switch (e) {
    case CUBLASLT_EPILOGUE_DEFAULT:
        *act = SIM_ACT_NONE, *bias = 0;
        return 0;
    case CUBLASLT_EPILOGUE_RELU:
        *act = SIM_ACT_RELU, *bias = 0;
        return 0;
    case CUBLASLT_EPILOGUE_BIAS:
        *act = SIM_ACT_NONE, *bias = 1;
        return 0;
    case CUBLASLT_EPILOGUE_RELU_BIAS:
        *act = SIM_ACT_RELU, *bias = 1;
        return 0;
    case CUBLASLT_EPILOGUE_GELU:
        *act = SIM_ACT_GELU, *bias = 0;
        return 0;
    case CUBLASLT_EPILOGUE_GELU_BIAS:
        *act = SIM_ACT_GELU, *bias = 1;
        return 0;
    default:
        return -1;
    }
}

cublasStatus_t sim_lt_plan(cublasLtMatmulDesc_t desc_, cublasLtMatrixLayout_t a_,
                           cublasLtMatrixLayout_t b_, cublasLtMatrixLayout_t c_,
                           cublasLtMatrixLayout_t d_, sim_gemm *g)
{
    const sim_lt_desc *desc = desc_ ? SIM_LT_DESC(desc_) : NULL;
    const sim_lt_layout *a = SIM_LT_LAYOUT(a_), *b = SIM_LT_LAYOUT(b_), *c = SIM_LT_LAYOUT(c_),
                        *d = SIM_LT_LAYOUT(d_);
    if (!desc || desc->magic != SIM_LT_DESC_MAGIC || !layout_ok(a) || !layout_ok(b) ||
        !layout_ok(c) || !layout_ok(d))
        return CUBLAS_STATUS_INVALID_VALUE;
    memset(g, 0, sizeof(*g));

    /* Settings simcuda does not implement are refused, never ignored. */
    int bias;
    if (desc->transc != CUBLAS_OP_N || desc->fill_mode != CUBLAS_FILL_MODE_FULL ||
        (desc->pointer_mode != CUBLASLT_POINTER_MODE_HOST &&
         desc->pointer_mode != CUBLASLT_POINTER_MODE_DEVICE) ||
        epilogue_activation(desc->epilogue, &g->activation, &bias) != 0 || desc->a_scale ||
        desc->b_scale || desc->c_scale || desc->d_scale || desc->amax_d || desc->d_out_scale ||
        desc->emulation)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    for (int i = 0; i < 6; i++)
        if (desc->scale_mode[i] != 0) return CUBLAS_STATUS_NOT_SUPPORTED;
    if ((desc->transa != CUBLAS_OP_N && desc->transa != CUBLAS_OP_T &&
         desc->transa != CUBLAS_OP_C) ||
        (desc->transb != CUBLAS_OP_N && desc->transb != CUBLAS_OP_T && desc->transb != CUBLAS_OP_C))
        return CUBLAS_STATUS_INVALID_VALUE;

    /* Types: A and B alike, C and D alike, then the compute/scale table shared with cuBLAS. */
    if (a->type != b->type || c->type != d->type) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (sim_cublas_compute((cublasComputeType_t)desc->compute_type, CUBLAS_DEFAULT_MATH,
                           (cudaDataType)a->type, (cudaDataType)c->type, &g->compute) != 0 ||
        sim_cublas_type((cudaDataType)desc->scale_type) != sim_cublas_scale_type(g->compute))
        return CUBLAS_STATUS_NOT_SUPPORTED;

    /* Shapes: op(A) is m x k, op(B) is k x n, C and D are m x n. */
    g->trans_a = desc->transa != CUBLAS_OP_N;
    g->trans_b = desc->transb != CUBLAS_OP_N;
    uint64_t m = d->rows, n = d->cols;
    uint64_t am = g->trans_a ? a->cols : a->rows, k = g->trans_a ? a->rows : a->cols;
    uint64_t bk = g->trans_b ? b->cols : b->rows, bn = g->trans_b ? b->rows : b->cols;
    if (am != m || bk != k || bn != n || c->rows != m || c->cols != n || m > INT64_MAX ||
        n > INT64_MAX || k > INT64_MAX)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (a->batch_count < 1 || a->batch_count != b->batch_count ||
        a->batch_count != c->batch_count || a->batch_count != d->batch_count)
        return CUBLAS_STATUS_INVALID_VALUE;
    g->m = (int64_t)m;
    g->n = (int64_t)n;
    g->k = (int64_t)k;
    g->batch = a->batch_count;

    cublasStatus_t st;
    if ((st = operand(a, &g->a)) != CUBLAS_STATUS_SUCCESS ||
        (st = operand(b, &g->b)) != CUBLAS_STATUS_SUCCESS ||
        (st = operand(c, &g->c)) != CUBLAS_STATUS_SUCCESS ||
        (st = operand(d, &g->d)) != CUBLAS_STATUS_SUCCESS)
        return st;

    if (bias) {
        cudaDataType bt =
            desc->bias_data_type < 0 ? (cudaDataType)d->type : (cudaDataType)desc->bias_data_type;
        g->bias_type = sim_cublas_type(bt);
        if (g->bias_type == SIM_T_INVALID ||
            (g->compute == SIM_C_64F) != (g->bias_type == SIM_T_F64))
            return CUBLAS_STATUS_NOT_SUPPORTED;
        g->bias_stride = desc->bias_batch_stride;
        g->bias = desc->bias; /* may still be NULL here: matmul checks */
    }
    return CUBLAS_STATUS_SUCCESS;
}

void sim_lt_algo_fill(cublasLtMatmulAlgo_t *algo)
{
    sim_lt_algo *a = SIM_LT_ALGO(algo);
    memset(algo, 0, sizeof(*algo));
    a->magic = SIM_LT_ALGO_MAGIC;
    a->splitk = 1;
}

void sim_lt_result_fill(cublasLtMatmulHeuristicResult_t *r)
{
    memset(r, 0, sizeof(*r));
    sim_lt_algo_fill(&r->algo);
    r->workspaceSize = 0;
    r->state = CUBLAS_STATUS_SUCCESS;
    r->wavesCount = 1.0f;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t operationDesc, cublasLtMatrixLayout_t Adesc,
    cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc,
    cublasLtMatmulPreference_t preference, int requestedAlgoCount,
    cublasLtMatmulHeuristicResult_t heuristicResultsArray[], int *returnAlgoCount)
{
    if (!lightHandle || lightHandle->magic != SIM_LT_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (requestedAlgoCount < 1 || !heuristicResultsArray || !returnAlgoCount ||
        (preference && SIM_LT_PREF(preference)->magic != SIM_LT_PREF_MAGIC))
        return CUBLAS_STATUS_INVALID_VALUE;
    *returnAlgoCount = 0;
    sim_gemm g;
    cublasStatus_t st = sim_lt_plan(operationDesc, Adesc, Bdesc, Cdesc, Ddesc, &g);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    sim_lt_result_fill(&heuristicResultsArray[0]);
    *returnAlgoCount = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc,
                              const void *alpha, const void *A, cublasLtMatrixLayout_t Adesc,
                              const void *B, cublasLtMatrixLayout_t Bdesc, const void *beta,
                              const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo,
                              void *workspace, size_t workspaceSizeInBytes, cudaStream_t stream)
{
    (void)workspace, (void)workspaceSizeInBytes, (void)stream;
    if (!lightHandle || lightHandle->magic != SIM_LT_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!alpha || !beta || (algo && SIM_LT_ALGO(algo)->magic != SIM_LT_ALGO_MAGIC))
        return CUBLAS_STATUS_INVALID_VALUE;
    sim_gemm g;
    cublasStatus_t st = sim_lt_plan(computeDesc, Adesc, Bdesc, Cdesc, Ddesc, &g);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    if (g.m == 0 || g.n == 0) return CUBLAS_STATUS_SUCCESS;
    sim_type scale = sim_cublas_scale_type(g.compute);
    g.alpha = sim_cublas_read_scalar(scale, alpha);
    g.beta = sim_cublas_read_scalar(scale, beta);
    if ((g.k > 0 && (!A || !B)) || !D || (g.beta != 0.0 && !C) ||
        (SIM_LT_DESC(computeDesc)->epilogue & CUBLASLT_EPILOGUE_BIAS && !g.bias))
        return CUBLAS_STATUS_INVALID_VALUE;
    /* Pointer-array batches pass arrays of per-batch pointers in place of the matrices. */
    const sim_lt_layout *la = SIM_LT_LAYOUT(Adesc), *lb = SIM_LT_LAYOUT(Bdesc),
                        *lc = SIM_LT_LAYOUT(Cdesc), *ld = SIM_LT_LAYOUT(Ddesc);
    if (la->batch_mode)
        g.a.ptrs = A;
    else
        g.a.ptr = A;
    if (lb->batch_mode)
        g.b.ptrs = B;
    else
        g.b.ptr = B;
    if (lc->batch_mode)
        g.c.ptrs = C;
    else
        g.c.ptr = C;
    if (ld->batch_mode)
        g.d.ptrs = D;
    else
        g.d.ptr = D;
    switch (sim_gemm_run(&g)) {
    case SIM_GEMM_OK:
        return CUBLAS_STATUS_SUCCESS;
    case SIM_GEMM_NO_MEMORY:
        return CUBLAS_STATUS_ALLOC_FAILED;
    default:
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}
