/*
 * cublasLtMatmul as libmptrace.so defines it (symbol version libcublasLt.so.13).
 *
 * The descriptor and the four layouts are opaque: everything is read back with NVIDIA's Get
 * calls (cublasLtMatmulDescGetAttribute, cublasLtMatrixLayoutGetAttribute) — compute and scale
 * type, pointer mode, transposes, epilogue, bias pointer and type, fp8 scale pointers; per
 * layout its type, order, rows, cols, ld, batch count, strided batch offset and batch mode.
 * C and D may be different buffers (C is then an input that survives the call).
 *
 * What is recorded but not measured: layouts other than column/row-major (COL32 and the other
 * tensor-core orders: skip "unsupported"); pointer-mode vectors of alpha (no single alpha to
 * recompute the sample with). fp8 GEMMs with scale pointers are measured, but their precision
 * sample is left out (the exact value would need the scales, read on the device).
 */
#include <cublasLt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "interposer/ipx.h"

#define HOOKS(X)                                                                                 \
    X(cublasLtMatmul) X(cublasLtMatmulDescGetAttribute) X(cublasLtMatrixLayoutGetAttribute)

enum {
#define X(n) FN_##n,
    HOOKS(X)
#undef X
        FN_COUNT
};
static const char *const fn_names[FN_COUNT] = {
#define X(n) #n,
    HOOKS(X)
#undef X
};
static void *_Atomic real_tab[FN_COUNT];
static mpt_ipx_real_table reals = {fn_names, real_tab, FN_COUNT, "libcublasLt.so.13", 1,
                                   PTHREAD_MUTEX_INITIALIZER, 0};
#define REAL(n) ((__typeof__(&n))mpt_ipx_real_get(&reals, FN_##n))

/* One attribute into *out (exact size); 0 on success. */
static int desc_get(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, void *out, size_t n)
{
    size_t written = 0;
    __typeof__(&cublasLtMatmulDescGetAttribute) get = REAL(cublasLtMatmulDescGetAttribute);
    return get && get(d, a, out, n, &written) == CUBLAS_STATUS_SUCCESS && written == n ? 0 : -1;
}

static int layout_get(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a, void *out,
                      size_t n)
{
    size_t written = 0;
    __typeof__(&cublasLtMatrixLayoutGetAttribute) get = REAL(cublasLtMatrixLayoutGetAttribute);
    return get && get(l, a, out, n, &written) == CUBLAS_STATUS_SUCCESS && written == n ? 0 : -1;
}

/* A layout into an operand; returns 0, 1 when it is an order mptrace does not walk, -1 when it
 * cannot be read. *batch gets its batch count. */
static int operand(cublasLtMatrixLayout_t l, const void *ptr, mpt_ipx_operand *o, int64_t *batch)
{
    uint32_t type = 0, mode = 0;
    int32_t order = CUBLASLT_ORDER_COL, count = 1;
    uint64_t rows = 0, cols = 0;
    int64_t ld = 0, stride = 0;
    memset(o, 0, sizeof *o);
    if (!l || layout_get(l, CUBLASLT_MATRIX_LAYOUT_TYPE, &type, sizeof type) ||
        layout_get(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, sizeof rows) ||
        layout_get(l, CUBLASLT_MATRIX_LAYOUT_COLS, &cols, sizeof cols) ||
        layout_get(l, CUBLASLT_MATRIX_LAYOUT_LD, &ld, sizeof ld))
        return -1;
    layout_get(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, sizeof order);
    layout_get(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count);
    layout_get(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride);
    layout_get(l, CUBLASLT_MATRIX_LAYOUT_BATCH_MODE, &mode, sizeof mode);
    if (rows > (uint64_t)INT64_MAX || cols > (uint64_t)INT64_MAX) return -1;
    o->dtype = mpt_ipx_dtype_from_cuda((int)type);
    o->order = order == CUBLASLT_ORDER_ROW ? MPT_ORDER_ROW : MPT_ORDER_COL;
    o->rows = (int64_t)rows;
    o->cols = (int64_t)cols;
    o->ld = ld;
    o->stride = stride;
    if (mode == CUBLASLT_BATCH_MODE_POINTER_ARRAY) {
        o->ptrs = (const void *const *)ptr;
        o->stride = 0;
    } else {
        o->ptr = ptr;
    }
    *batch = count;
    return order == CUBLASLT_ORDER_COL || order == CUBLASLT_ORDER_ROW ? 0 : 1;
}

static int begin(mpt_ipx_thread *t, mpt_ipx_gemm *g, mpt_ipx_pending *p,
                 cublasLtMatmulDesc_t desc, const void *alpha, const void *A,
                 cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc,
                 const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
                 cublasLtMatrixLayout_t Ddesc, cudaStream_t stream, const void *ret)
{
    if (!desc || !alpha || !beta || !Adesc || !Bdesc || !Ddesc) return 0;
    memset(g, 0, sizeof *g);
    g->api = "cublasLtMatmul";
    g->return_address = ret;
    g->stream = (uint64_t)(uintptr_t)stream;
    uint32_t compute = 0, epi = CUBLASLT_EPILOGUE_DEFAULT, pm = CUBLASLT_POINTER_MODE_HOST;
    int32_t scale = -1, ta = CUBLAS_OP_N, tb = CUBLAS_OP_N, bias_type = -1;
    const void *bias = NULL, *scales[4] = {NULL, NULL, NULL, NULL};
    if (desc_get(desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &compute, sizeof compute)) return 0;
    desc_get(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, &scale, sizeof scale);
    desc_get(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof pm);
    desc_get(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    desc_get(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    desc_get(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi);
    desc_get(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
    desc_get(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type);
    desc_get(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scales[0], sizeof scales[0]);
    desc_get(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scales[1], sizeof scales[1]);
    desc_get(desc, CUBLASLT_MATMUL_DESC_C_SCALE_POINTER, &scales[2], sizeof scales[2]);
    desc_get(desc, CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, &scales[3], sizeof scales[3]);

    int64_t ba = 1, bb = 1, bc = 1, bd = 1;
    int ra = operand(Adesc, A, &g->a, &ba), rb = operand(Bdesc, B, &g->b, &bb);
    int rd = operand(Ddesc, D, &g->d, &bd), rc = 0;
    if (C && Cdesc)
        rc = operand(Cdesc, C, &g->c, &bc);
    else
        g->c = (mpt_ipx_operand){.dtype = g->d.dtype, .order = g->d.order, .ld = 1};
    if (ra < 0 || rb < 0 || rc < 0 || rd < 0) return 0;
    g->transa = ta == CUBLAS_OP_N ? 0 : ta == CUBLAS_OP_T ? 1 : 2;
    g->transb = tb == CUBLAS_OP_N ? 0 : tb == CUBLAS_OP_T ? 1 : 2;
    g->m = g->d.rows;
    g->n = g->d.cols;
    g->k = g->transa ? g->a.rows : g->a.cols;
    g->batch = bd;
    g->c_is_d = C == D;
    g->compute_raw = compute;
    g->compute = mpt_ipx_compute_from_cuda(compute, g->d.dtype);
    g->epilogue_raw = epi;
    int has_bias = 0;
    g->epilogue = mpt_ipx_epilogue_from_cuda(epi, &has_bias);
    g->bias = has_bias ? bias : NULL;
    g->bias_dtype = mpt_ipx_dtype_from_cuda(bias_type >= 0 ? bias_type : (int)0);
    if (bias_type < 0) g->bias_dtype = g->d.dtype; /* default: D's type */
    g->alpha = alpha;
    g->beta = beta;
    g->scale_dtype = scale >= 0 ? mpt_ipx_dtype_from_cuda(scale)
                                : mpt_ipx_scale_dtype(g->compute, g->d.dtype);
    g->scalars_on_device = pm != CUBLASLT_POINTER_MODE_HOST;
    if (pm != CUBLASLT_POINTER_MODE_HOST && pm != CUBLASLT_POINTER_MODE_DEVICE) {
        /* alpha is a vector (one per row): there is no single scalar to read. */
        g->alpha = g->beta = NULL;
    }
    g->check = mpt_ipx_gemm_check(g);
    if ((ba != bd && ba != 1) || (bb != bd && bb != 1)) g->check = -1;
    if (ra > 0 || rb > 0 || rc > 0 || rd > 0) g->check = 1;
    if (g->check < 0) return 0;
    /* The exact value of a scaled fp8 product or of an aux epilogue is not what the sample
     * computes, nor is a per-row alpha a scalar: leave the sample out rather than report a
     * false error. */
    g->no_sample = scales[0] || scales[1] || scales[2] || scales[3] ||
                   g->epilogue == MPT_EPI_OTHER || !g->alpha;
    if (mpt_ipx_gemm_begin(t, g, p) != 0) return 0;
    return 1;
}

MPT_IPX_EXPORT cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle,
                                             cublasLtMatmulDesc_t computeDesc, const void *alpha,
                                             const void *A, cublasLtMatrixLayout_t Adesc,
                                             const void *B, cublasLtMatrixLayout_t Bdesc,
                                             const void *beta, const void *C,
                                             cublasLtMatrixLayout_t Cdesc, void *D,
                                             cublasLtMatrixLayout_t Ddesc,
                                             const cublasLtMatmulAlgo_t *algo, void *workspace,
                                             size_t workspaceSizeInBytes, cudaStream_t stream)
{
    __typeof__(&cublasLtMatmul) real_fn = REAL(cublasLtMatmul);
    if (!real_fn) return CUBLAS_STATUS_NOT_INITIALIZED;
    mpt_ipx_thread *t;
    if (!mpt_ipx_enter(&t))
        return real_fn(lightHandle, computeDesc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D,
                       Ddesc, algo, workspace, workspaceSizeInBytes, stream);
    mpt_ipx_gemm g;
    mpt_ipx_pending p;
    int rec = lightHandle && begin(t, &g, &p, computeDesc, alpha, A, Adesc, B, Bdesc, beta, C,
                                   Cdesc, D, Ddesc, stream, __builtin_return_address(0));
    cublasStatus_t st = real_fn(lightHandle, computeDesc, alpha, A, Adesc, B, Bdesc, beta, C,
                                Cdesc, D, Ddesc, algo, workspace, workspaceSizeInBytes, stream);
    if (rec) mpt_ipx_gemm_end(t, &g, &p, st == CUBLAS_STATUS_SUCCESS);
    mpt_ipx_leave(t);
    return st;
}
