/*
 * cuBLAS entry points libmptrace.so defines in place of libcublas.so.13's: every GEMM a training
 * program calls — S/D/H gemm (_v2 and _64), their Batched and StridedBatched forms, SgemmEx,
 * GemmEx, GemmBatchedEx, GemmStridedBatchedEx, each with its _64 twin — exported under the
 * symbol version libcublas.so.13 (libmptrace.map), with NVIDIA's own prototypes (cublas_v2.h
 * declares every function defined here, so a mismatch is a compile error).
 *
 * Each hook: the real function, resolved once; the reentrancy guard (a GEMM is recorded once
 * even if cuBLAS calls cuBLASLt, or another hooked entry point, internally); arguments that are
 * not plausible (NULL handle or pointers, negative sizes, short leading dimensions) go to the
 * library untouched and unread; otherwise the call is decoded into an mpt_ipx_gemm and passes
 * through recorder.c's begin/end around the real call.
 *
 * Not intercepted: complex GEMMs (C/Z: no complex statistics), GemmGroupedBatched (a list of
 * problem groups; passes through unrecorded), the legacy cublas.h API (cublasSgemm without
 * _v2, no handle), and cublasXt.
 */
#include <cublas_v2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "interposer/ipx.h"

#define HOOKS(X)                                                                                 \
    X(cublasSgemm_v2) X(cublasSgemm_v2_64) X(cublasDgemm_v2) X(cublasDgemm_v2_64)               \
    X(cublasHgemm) X(cublasHgemm_64) X(cublasSgemmBatched) X(cublasSgemmBatched_64)             \
    X(cublasDgemmBatched) X(cublasDgemmBatched_64) X(cublasHgemmBatched)                        \
    X(cublasHgemmBatched_64) X(cublasSgemmStridedBatched) X(cublasSgemmStridedBatched_64)       \
    X(cublasDgemmStridedBatched) X(cublasDgemmStridedBatched_64) X(cublasHgemmStridedBatched)   \
    X(cublasHgemmStridedBatched_64) X(cublasSgemmEx) X(cublasSgemmEx_64) X(cublasGemmEx)        \
    X(cublasGemmEx_64) X(cublasGemmBatchedEx) X(cublasGemmBatchedEx_64)                         \
    X(cublasGemmStridedBatchedEx) X(cublasGemmStridedBatchedEx_64) X(cublasGetStream_v2)        \
    X(cublasGetMathMode) X(cublasGetPointerMode_v2)

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
static mpt_ipx_real_table reals = {fn_names, real_tab, FN_COUNT, "libcublas.so.13", 1,
                                   PTHREAD_MUTEX_INITIALIZER, 0};
#define REAL(n) ((__typeof__(&n))mpt_ipx_real_get(&reals, FN_##n))

/* A call as the cuBLAS API describes it (column-major; D is C). */
typedef struct call {
    cublasHandle_t h;
    cublasOperation_t ta, tb;
    int64_t m, n, k, batch;
    const void *alpha, *beta;
    const void *a, *b, *c;
    const void *const *aa, *const *ba, *const *ca; /* pointer-array batches */
    int at, bt, ct;                                /* cudaDataType */
    int64_t lda, ldb, ldc, sa, sb, sc;
    uint32_t compute;                              /* cublasComputeType_t (or legacy type) */
} call;

static void operand(mpt_ipx_operand *o, const void *p, const void *const *pp, int type,
                    int64_t rows, int64_t cols, int64_t ld, int64_t stride)
{
    *o = (mpt_ipx_operand){.ptr = p, .ptrs = pp, .dtype = mpt_ipx_dtype_from_cuda(type),
                           .order = MPT_ORDER_COL, .rows = rows, .cols = cols, .ld = ld,
                           .stride = pp ? 0 : stride};
}

/* Decodes x into g and starts recording. Returns 1 when end() must follow the real call. */
static int begin(mpt_ipx_thread *t, const call *x, mpt_ipx_gemm *g, mpt_ipx_pending *p,
                 const char *api, const void *ret)
{
    if (!x->h || !x->alpha || !x->beta || x->m < 0 || x->n < 0 || x->k < 0 || x->batch < 0)
        return 0; /* the library will refuse it; we do not read anything */
    memset(g, 0, sizeof *g);
    g->api = api;
    g->return_address = ret;
    cudaStream_t s = NULL;
    cublasMath_t math = CUBLAS_DEFAULT_MATH;
    cublasPointerMode_t pm = CUBLAS_POINTER_MODE_HOST;
    if (REAL(cublasGetStream_v2)) REAL(cublasGetStream_v2)(x->h, &s);
    if (REAL(cublasGetMathMode)) REAL(cublasGetMathMode)(x->h, &math);
    if (REAL(cublasGetPointerMode_v2)) REAL(cublasGetPointerMode_v2)(x->h, &pm);
    g->stream = (uint64_t)(uintptr_t)s;
    g->tf32_math = ((unsigned)math & 0xf) == CUBLAS_TF32_TENSOR_OP_MATH;
    g->scalars_on_device = pm == CUBLAS_POINTER_MODE_DEVICE;
    g->transa = x->ta == CUBLAS_OP_N ? 0 : x->ta == CUBLAS_OP_T ? 1 : 2;
    g->transb = x->tb == CUBLAS_OP_N ? 0 : x->tb == CUBLAS_OP_T ? 1 : 2;
    g->m = x->m;
    g->n = x->n;
    g->k = x->k;
    g->batch = x->batch;
    operand(&g->a, x->a, x->aa, x->at, g->transa ? x->k : x->m, g->transa ? x->m : x->k, x->lda,
            x->sa);
    operand(&g->b, x->b, x->ba, x->bt, g->transb ? x->n : x->k, g->transb ? x->k : x->n, x->ldb,
            x->sb);
    operand(&g->c, x->c, x->ca, x->ct, x->m, x->n, x->ldc, x->sc);
    g->d = g->c;
    g->c_is_d = 1;
    g->compute_raw = x->compute;
    g->compute = mpt_ipx_compute_from_cuda(x->compute, g->d.dtype);
    g->epilogue = MPT_EPI_NONE;
    g->bias_dtype = MPT_DT_UNKNOWN;
    g->alpha = x->alpha;
    g->beta = x->beta;
    g->scale_dtype = mpt_ipx_scale_dtype(g->compute, g->d.dtype);
    if (x->batch == 0) return 0; /* nothing happens */
    g->check = mpt_ipx_gemm_check(g);
    if (g->check < 0) return 0;
    return mpt_ipx_gemm_begin(t, g, p) == 0;
}

/* The body every hook shares: ARGS is the parenthesised argument list, the rest fills a call. */
#define HOOK(name, ARGS, ...)                                                                    \
    __typeof__(&name) real_fn = REAL(name);                                                      \
    if (!real_fn) return CUBLAS_STATUS_NOT_INITIALIZED;                                          \
    mpt_ipx_thread *t;                                                                           \
    if (!mpt_ipx_enter(&t)) return real_fn ARGS;                                                 \
    call x = {__VA_ARGS__};                                                                      \
    mpt_ipx_gemm g;                                                                              \
    mpt_ipx_pending p;                                                                           \
    int rec = begin(t, &x, &g, &p, #name, __builtin_return_address(0));                          \
    cublasStatus_t st = real_fn ARGS;                                                            \
    if (rec) mpt_ipx_gemm_end(t, &g, &p, st == CUBLAS_STATUS_SUCCESS);                           \
    mpt_ipx_leave(t);                                                                            \
    return st;

#define COMMON .h = handle, .ta = transa, .tb = transb, .m = m, .n = n, .k = k, .alpha = alpha,  \
               .beta = beta, .lda = lda, .ldb = ldb, .ldc = ldc
#define PTRS(T) .a = A, .b = B, .c = C, .at = T, .bt = T, .ct = T
#define PLAIN(T) COMMON, PTRS(T), .batch = 1
#define ARRAYS(T) COMMON, .batch = batchCount, .aa = (const void *const *)Aarray,              \
                  .ba = (const void *const *)Barray, .ca = (const void *const *)Carray, .at = T, \
                  .bt = T, .ct = T
#define STRIDED(T) COMMON, PTRS(T), .batch = batchCount, .sa = strideA, .sb = strideB,         \
                   .sc = strideC

/* ---- S/D/H gemm -------------------------------------------------------------------------------- */

#define ARGS_PLAIN (handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
#define ARGS_ARRAYS                                                                             \
    (handle, transa, transb, m, n, k, alpha, Aarray, lda, Barray, ldb, beta, Carray, ldc, batchCount)
#define ARGS_STRIDED                                                                            \
    (handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc,     \
     strideC, batchCount)

/* Each signature is declared before it is defined: cublas_api.h declares the Hgemm family for
 * C++ only (they take __half), and their ABI is that of pointers, so here T is void for them. */
#define SIG_PLAIN(name, I, T)                                                                    \
    MPT_IPX_EXPORT cublasStatus_t name(cublasHandle_t handle, cublasOperation_t transa,          \
                                       cublasOperation_t transb, I m, I n, I k, const T *alpha,  \
                                       const T *A, I lda, const T *B, I ldb, const T *beta,      \
                                       T *C, I ldc)
#define SIG_ARRAYS(name, I, T)                                                                   \
    MPT_IPX_EXPORT cublasStatus_t name(                                                          \
        cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,     \
        I k, const T *alpha, const T *const Aarray[], I lda, const T *const Barray[], I ldb,     \
        const T *beta, T *const Carray[], I ldc, I batchCount)
#define SIG_STRIDED(name, I, T)                                                                  \
    MPT_IPX_EXPORT cublasStatus_t name(                                                          \
        cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,     \
        I k, const T *alpha, const T *A, I lda, long long int strideA, const T *B, I ldb,        \
        long long int strideB, const T *beta, T *C, I ldc, long long int strideC, I batchCount)

#define DEFINE_ONE(SIG, name, I, T, ARGS, FIELDS, COMPUTE)                                      \
    SIG(name, I, T);                                                                             \
    SIG(name, I, T) { HOOK(name, ARGS, FIELDS, .compute = COMPUTE) }

#define DEFINE_TYPED(P, T, CT, COMPUTE, V)                                                       \
    DEFINE_ONE(SIG_PLAIN, cublas##P##gemm##V, int, T, ARGS_PLAIN, PLAIN(CT), COMPUTE)            \
    DEFINE_ONE(SIG_PLAIN, cublas##P##gemm##V##_64, int64_t, T, ARGS_PLAIN, PLAIN(CT), COMPUTE)   \
    DEFINE_ONE(SIG_ARRAYS, cublas##P##gemmBatched, int, T, ARGS_ARRAYS, ARRAYS(CT), COMPUTE)     \
    DEFINE_ONE(SIG_ARRAYS, cublas##P##gemmBatched_64, int64_t, T, ARGS_ARRAYS, ARRAYS(CT),       \
               COMPUTE)                                                                          \
    DEFINE_ONE(SIG_STRIDED, cublas##P##gemmStridedBatched, int, T, ARGS_STRIDED, STRIDED(CT),    \
               COMPUTE)                                                                          \
    DEFINE_ONE(SIG_STRIDED, cublas##P##gemmStridedBatched_64, int64_t, T, ARGS_STRIDED,          \
               STRIDED(CT), COMPUTE)

DEFINE_TYPED(S, float, CUDA_R_32F, CUBLAS_COMPUTE_32F, _v2)
DEFINE_TYPED(D, double, CUDA_R_64F, CUBLAS_COMPUTE_64F, _v2)
DEFINE_TYPED(H, void, CUDA_R_16F, CUBLAS_COMPUTE_16F, )

/* ---- the Ex family ------------------------------------------------------------------------------ */

#define ARGS_SEX                                                                                 \
    (handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc)
#define SEX_FIELDS COMMON, .batch = 1, .a = A, .b = B, .c = C, .at = Atype, .bt = Btype,       \
                   .ct = Ctype, .compute = CUBLAS_COMPUTE_32F

MPT_IPX_EXPORT cublasStatus_t cublasSgemmEx(cublasHandle_t handle, cublasOperation_t transa,
                                            cublasOperation_t transb, int m, int n, int k,
                                            const float *alpha, const void *A, cudaDataType Atype,
                                            int lda, const void *B, cudaDataType Btype, int ldb,
                                            const float *beta, void *C, cudaDataType Ctype, int ldc)
{
    HOOK(cublasSgemmEx, ARGS_SEX, SEX_FIELDS)
}

MPT_IPX_EXPORT cublasStatus_t cublasSgemmEx_64(cublasHandle_t handle, cublasOperation_t transa,
                                               cublasOperation_t transb, int64_t m, int64_t n,
                                               int64_t k, const float *alpha, const void *A,
                                               cudaDataType Atype, int64_t lda, const void *B,
                                               cudaDataType Btype, int64_t ldb, const float *beta,
                                               void *C, cudaDataType Ctype, int64_t ldc)
{
    HOOK(cublasSgemmEx_64, ARGS_SEX, SEX_FIELDS)
}

#define ARGS_EX                                                                                  \
    (handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,  \
     computeType, algo)
#define EX_BASE COMMON, .a = A, .b = B, .c = C, .at = Atype, .bt = Btype, .ct = Ctype,         \
                .compute = (uint32_t)computeType
#define EX_FIELDS EX_BASE, .batch = 1

MPT_IPX_EXPORT cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                                           cublasOperation_t transb, int m, int n, int k,
                                           const void *alpha, const void *A, cudaDataType Atype,
                                           int lda, const void *B, cudaDataType Btype, int ldb,
                                           const void *beta, void *C, cudaDataType Ctype, int ldc,
                                           cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    HOOK(cublasGemmEx, ARGS_EX, EX_FIELDS)
}

MPT_IPX_EXPORT cublasStatus_t cublasGemmEx_64(cublasHandle_t handle, cublasOperation_t transa,
                                              cublasOperation_t transb, int64_t m, int64_t n,
                                              int64_t k, const void *alpha, const void *A,
                                              cudaDataType Atype, int64_t lda, const void *B,
                                              cudaDataType Btype, int64_t ldb, const void *beta,
                                              void *C, cudaDataType Ctype, int64_t ldc,
                                              cublasComputeType_t computeType,
                                              cublasGemmAlgo_t algo)
{
    HOOK(cublasGemmEx_64, ARGS_EX, EX_FIELDS)
}

#define ARGS_BEX                                                                                 \
    (handle, transa, transb, m, n, k, alpha, Aarray, Atype, lda, Barray, Btype, ldb, beta,       \
     Carray, Ctype, ldc, batchCount, computeType, algo)
#define BEX_FIELDS COMMON, .batch = batchCount, .aa = (const void *const *)Aarray,             \
                   .ba = (const void *const *)Barray, .ca = (const void *const *)Carray,       \
                   .at = Atype, .bt = Btype, .ct = Ctype, .compute = (uint32_t)computeType

MPT_IPX_EXPORT cublasStatus_t cublasGemmBatchedEx(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const void *alpha, const void *const Aarray[], cudaDataType Atype, int lda,
    const void *const Barray[], cudaDataType Btype, int ldb, const void *beta, void *const Carray[],
    cudaDataType Ctype, int ldc, int batchCount, cublasComputeType_t computeType,
    cublasGemmAlgo_t algo)
{
    HOOK(cublasGemmBatchedEx, ARGS_BEX, BEX_FIELDS)
}

MPT_IPX_EXPORT cublasStatus_t cublasGemmBatchedEx_64(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m,
    int64_t n, int64_t k, const void *alpha, const void *const Aarray[], cudaDataType Atype,
    int64_t lda, const void *const Barray[], cudaDataType Btype, int64_t ldb, const void *beta,
    void *const Carray[], cudaDataType Ctype, int64_t ldc, int64_t batchCount,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    HOOK(cublasGemmBatchedEx_64, ARGS_BEX, BEX_FIELDS)
}

#define ARGS_SBEX                                                                                \
    (handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype, ldb, strideB,     \
     beta, C, Ctype, ldc, strideC, batchCount, computeType, algo)
#define SBEX_FIELDS EX_BASE, .batch = batchCount, .sa = strideA, .sb = strideB, .sc = strideC

MPT_IPX_EXPORT cublasStatus_t cublasGemmStridedBatchedEx(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const void *alpha, const void *A, cudaDataType Atype, int lda, long long int strideA,
    const void *B, cudaDataType Btype, int ldb, long long int strideB, const void *beta, void *C,
    cudaDataType Ctype, int ldc, long long int strideC, int batchCount,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    HOOK(cublasGemmStridedBatchedEx, ARGS_SBEX, SBEX_FIELDS)
}

MPT_IPX_EXPORT cublasStatus_t cublasGemmStridedBatchedEx_64(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m,
    int64_t n, int64_t k, const void *alpha, const void *A, cudaDataType Atype, int64_t lda,
    long long int strideA, const void *B, cudaDataType Btype, int64_t ldb, long long int strideB,
    const void *beta, void *C, cudaDataType Ctype, int64_t ldc, long long int strideC,
    int64_t batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    HOOK(cublasGemmStridedBatchedEx_64, ARGS_SBEX, SBEX_FIELDS)
}
