/*
 * simcuda cuBLASLt against a double-precision reference: cublasLtMatmul with C != D,
 * transposes, row-major layouts, strided and pointer-array batches, every supported epilogue
 * (bias per row of D, RELU, GELU), fp16/bf16/fp32/fp64 types, host and device scalars. The
 * descriptor, heuristic and algorithm API is tested in test_sim_lt_api.c.
 */
#include <check.h>

#if __has_include(<cublasLt.h>)
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/fpformat.h"
#include "test_sim_mat.h"
#include "test_sim_util.h"

typedef struct lt_case {
    const char *name;
    cudaDataType ab, cd, bias_type; /* bias_type -1: D's type (the default) */
    cublasComputeType_t compute;
    cudaDataType scale;
    cublasOperation_t ta, tb;
    int m, n, k, batch;
    int row_a, row_b, row_d; /* CUBLASLT_ORDER_ROW for A, B and both C and D */
    cublasLtEpilogue_t epilogue;
    double alpha, beta;
    int pointer_array, device_scalars;
} lt_case;

static const lt_case cases[] = {
    {"sgemm C != D",
     CUDA_R_32F,
     CUDA_R_32F,
     -1,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_N,
     CUBLAS_OP_N,
     6,
     5,
     7,
     1,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_DEFAULT,
     1.0,
     0.5,
     0,
     0},
    {"hsh strided batch",
     CUDA_R_16F,
     CUDA_R_16F,
     -1,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_T,
     CUBLAS_OP_N,
     4,
     4,
     9,
     3,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_DEFAULT,
     2.0,
     0.0,
     0,
     0},
    {"bf16 bias relu",
     CUDA_R_16BF,
     CUDA_R_16BF,
     -1,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_N,
     CUBLAS_OP_T,
     8,
     3,
     16,
     1,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_RELU_BIAS,
     1.0,
     1.0,
     0,
     0},
    {"f16 gelu bias fp32-bias batched",
     CUDA_R_16F,
     CUDA_R_16F,
     CUDA_R_32F,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_N,
     CUBLAS_OP_N,
     5,
     6,
     12,
     2,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_GELU_BIAS,
     1.0,
     0.0,
     0,
     0},
    {"fp32 gelu",
     CUDA_R_32F,
     CUDA_R_32F,
     -1,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_T,
     CUBLAS_OP_T,
     7,
     7,
     5,
     1,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_GELU,
     1.0,
     0.0,
     0,
     0},
    {"fp32 relu device scalars",
     CUDA_R_32F,
     CUDA_R_32F,
     -1,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_N,
     CUBLAS_OP_N,
     9,
     4,
     6,
     1,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_RELU,
     -1.0,
     0.25,
     0,
     1},
    {"fp32 bias",
     CUDA_R_32F,
     CUDA_R_32F,
     -1,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_N,
     CUBLAS_OP_N,
     4,
     5,
     3,
     1,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_BIAS,
     1.0,
     1.0,
     0,
     0},
    {"row-major everything",
     CUDA_R_32F,
     CUDA_R_32F,
     -1,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_N,
     CUBLAS_OP_T,
     5,
     7,
     6,
     1,
     1,
     1,
     1,
     CUBLASLT_EPILOGUE_DEFAULT,
     1.0,
     1.0,
     0,
     0},
    {"row-major A only, f16 in f32 out",
     CUDA_R_16F,
     CUDA_R_32F,
     -1,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_T,
     CUBLAS_OP_N,
     3,
     8,
     10,
     1,
     1,
     0,
     0,
     CUBLASLT_EPILOGUE_DEFAULT,
     1.0,
     0.0,
     0,
     0},
    {"pointer-array batch",
     CUDA_R_32F,
     CUDA_R_32F,
     -1,
     CUBLAS_COMPUTE_32F,
     CUDA_R_32F,
     CUBLAS_OP_N,
     CUBLAS_OP_N,
     3,
     3,
     4,
     3,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_DEFAULT,
     1.0,
     -1.0,
     1,
     0},
    {"fp64",
     CUDA_R_64F,
     CUDA_R_64F,
     -1,
     CUBLAS_COMPUTE_64F,
     CUDA_R_64F,
     CUBLAS_OP_T,
     CUBLAS_OP_N,
     6,
     6,
     30,
     1,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_BIAS,
     0.5,
     2.0,
     0,
     0},
    {"16F compute",
     CUDA_R_16F,
     CUDA_R_16F,
     -1,
     CUBLAS_COMPUTE_16F,
     CUDA_R_16F,
     CUBLAS_OP_N,
     CUBLAS_OP_N,
     3,
     3,
     8,
     1,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_DEFAULT,
     1.0,
     0.0,
     0,
     0},
    {"fast tf32",
     CUDA_R_32F,
     CUDA_R_32F,
     -1,
     CUBLAS_COMPUTE_32F_FAST_TF32,
     CUDA_R_32F,
     CUBLAS_OP_N,
     CUBLAS_OP_N,
     4,
     4,
     20,
     1,
     0,
     0,
     0,
     CUBLASLT_EPILOGUE_DEFAULT,
     1.0,
     0.0,
     0,
     0},
};

static double u_acc(cublasComputeType_t c)
{
    return c == CUBLAS_COMPUTE_64F ? 0x1p-53 : c == CUBLAS_COMPUTE_16F ? 0x1p-11 : 0x1p-24;
}

static double u_out(cudaDataType t)
{
    return t == CUDA_R_16F    ? 0x1p-11
           : t == CUDA_R_16BF ? 0x1p-8
           : t == CUDA_R_32F  ? 0x1p-24
                              : 0x1p-53;
}

static void put_scalar(void *p, cudaDataType t, double v)
{
    if (t == CUDA_R_64F)
        *(double *)p = v;
    else if (t == CUDA_R_16F)
        *(uint16_t *)p = mpt_f32_to_f16((float)v);
    else
        *(float *)p = (float)v;
}

/* A layout for a stored sim_mat: row-major layouts describe the transpose of the storage. */
static cublasLtMatrixLayout_t layout(const sim_mat *s, int row_major, int pointer_array)
{
    cublasLtMatrixLayout_t l;
    uint64_t rows = row_major ? (uint64_t)s->cols : (uint64_t)s->rows;
    uint64_t cols = row_major ? (uint64_t)s->rows : (uint64_t)s->cols;
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatrixLayoutCreate)(&l, s->type, rows, cols, s->ld),
                     CUBLAS_STATUS_SUCCESS);
    int32_t order = row_major ? CUBLASLT_ORDER_ROW : CUBLASLT_ORDER_COL, batch = (int32_t)s->batch;
    int64_t stride = s->stride;
    uint32_t mode = pointer_array ? CUBLASLT_BATCH_MODE_POINTER_ARRAY : CUBLASLT_BATCH_MODE_STRIDED;
    __typeof__(&cublasLtMatrixLayoutSetAttribute) set =
        SIM_FN(CUBLASLT, cublasLtMatrixLayoutSetAttribute);
    ck_assert_int_eq(set(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, sizeof(order)),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(set(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(set(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(set(l, CUBLASLT_MATRIX_LAYOUT_BATCH_MODE, &mode, sizeof(mode)),
                     CUBLAS_STATUS_SUCCESS);
    return l;
}

/* Logical element (i, j) of an operand stored as `s` (transposed storage when row-major). */
static double logical(const sim_mat *s, int row_major, int64_t b, int64_t i, int64_t j)
{
    return row_major ? sim_mat_get(s, b, j, i) : sim_mat_get(s, b, i, j);
}

static double gelu(double x)
{
    return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

START_TEST(test_lt_case)
{
    if (!sim_test_available()) return;
    const lt_case *c = &cases[_i];
    uint64_t seed = 777 + (uint64_t)_i;
    int ta = c->ta != CUBLAS_OP_N, tb = c->tb != CUBLAS_OP_N;
    /* Logical shapes of A and B as described to cuBLASLt; storage is their transpose when
     * row-major. */
    int64_t ar = ta ? c->k : c->m, ac = ta ? c->m : c->k, br = tb ? c->n : c->k,
            bc = tb ? c->k : c->n;
    sim_mat a = c->row_a ? sim_mat_new(c->ab, ac, ar, 1, c->batch, 2, 0)
                         : sim_mat_new(c->ab, ar, ac, 1, c->batch, 2, 0);
    sim_mat b = c->row_b ? sim_mat_new(c->ab, bc, br, 0, c->batch, 1, 0)
                         : sim_mat_new(c->ab, br, bc, 0, c->batch, 1, 0);
    int64_t dr = c->row_d ? c->n : c->m, dc = c->row_d ? c->m : c->n;
    sim_mat cm = sim_mat_new(c->cd, dr, dc, 2, c->batch, 3, 0),
            dm = sim_mat_new(c->cd, dr, dc, 2, c->batch, 3, -5.0);
    cudaDataType bias_t = c->bias_type == (cudaDataType)-1 ? c->cd : c->bias_type;
    sim_mat bias = sim_mat_new(bias_t, c->m, 1, 0, c->batch, 1, 0);
    sim_mat_fill_random(&a, &seed, 2.0);
    sim_mat_fill_random(&b, &seed, 2.0);
    sim_mat_fill_random(&cm, &seed, 3.0);
    sim_mat_fill_random(&bias, &seed, 1.0);

    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t op;
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtCreate)(&lt), CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulDescCreate)(&op, c->compute, c->scale),
                     CUBLAS_STATUS_SUCCESS);
    __typeof__(&cublasLtMatmulDescSetAttribute) dset =
        SIM_FN(CUBLASLT, cublasLtMatmulDescSetAttribute);
    ck_assert_int_eq(dset(op, CUBLASLT_MATMUL_DESC_TRANSA, &c->ta, sizeof(int32_t)),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(dset(op, CUBLASLT_MATMUL_DESC_TRANSB, &c->tb, sizeof(int32_t)),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(dset(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &c->epilogue, sizeof(uint32_t)),
                     CUBLAS_STATUS_SUCCESS);
    if (c->epilogue & CUBLASLT_EPILOGUE_BIAS) {
        int64_t bstride = bias.stride;
        int32_t bt = (int32_t)c->bias_type;
        ck_assert_int_eq(dset(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias.p, sizeof(void *)),
                         CUBLAS_STATUS_SUCCESS);
        ck_assert_int_eq(
            dset(op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &bstride, sizeof(bstride)),
            CUBLAS_STATUS_SUCCESS);
        ck_assert_int_eq(dset(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)),
                         CUBLAS_STATUS_SUCCESS);
    }
    double scal[4];
    void *al = &scal[0], *be = &scal[2];
    put_scalar(al, c->scale, c->alpha);
    put_scalar(be, c->scale, c->beta);
    void *dev = NULL;
    if (c->device_scalars) {
        int32_t mode = CUBLASLT_POINTER_MODE_DEVICE;
        ck_assert_int_eq(dset(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &mode, sizeof(mode)),
                         CUBLAS_STATUS_SUCCESS);
        ck_assert_int_eq(SIM_FN(CUDART, cudaMalloc)(&dev, sizeof(scal)), cudaSuccess);
        ck_assert_int_eq(
            SIM_FN(CUDART, cudaMemcpy)(dev, scal, sizeof(scal), cudaMemcpyHostToDevice),
            cudaSuccess);
        al = dev;
        be = (double *)dev + 2;
    }
    cublasLtMatrixLayout_t la = layout(&a, c->row_a, c->pointer_array),
                           lb = layout(&b, c->row_b, c->pointer_array);
    cublasLtMatrixLayout_t lc = layout(&cm, c->row_d, c->pointer_array),
                           ld = layout(&dm, c->row_d, c->pointer_array);
    cublasLtMatmulHeuristicResult_t heur[2];
    int found = -1;
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmulAlgoGetHeuristic)(lt, op, la, lb, lc, ld, NULL,
                                                                      2, heur, &found),
                     CUBLAS_STATUS_SUCCESS);
    ck_assert_int_eq(found, 1);
    const void *A = a.p, *B = b.p, *C = cm.p;
    void *D = dm.p, *arrays[4][8];
    if (c->pointer_array) {
        for (int i = 0; i < c->batch; i++) {
            arrays[0][i] = sim_mat_batch_ptr(&a, i);
            arrays[1][i] = sim_mat_batch_ptr(&b, i);
            arrays[2][i] = sim_mat_batch_ptr(&cm, i);
            arrays[3][i] = sim_mat_batch_ptr(&dm, i);
        }
        A = arrays[0], B = arrays[1], C = arrays[2], D = arrays[3];
    }
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtMatmul)(lt, op, al, A, la, B, lb, be, C, lc, D, ld,
                                                      &heur[0].algo, NULL, 0, NULL),
                     CUBLAS_STATUS_SUCCESS);

    sim_ref_round r = c->compute == CUBLAS_COMPUTE_32F_FAST_TF32 ? SIM_REF_TF32 : SIM_REF_NONE;
    for (int64_t bt = 0; bt < c->batch; bt++) {
        for (int64_t j = 0; j < c->n; j++) {
            for (int64_t i = 0; i < c->m; i++) {
                double sum = 0, mag = 0;
                for (int64_t p = 0; p < c->k; p++) {
                    double x = sim_ref_round_input(r, ta ? logical(&a, c->row_a, bt, p, i)
                                                         : logical(&a, c->row_a, bt, i, p));
                    double y = sim_ref_round_input(r, tb ? logical(&b, c->row_b, bt, j, p)
                                                         : logical(&b, c->row_b, bt, p, j));
                    sum += x * y;
                    mag += fabs(x * y);
                }
                double cv = logical(&cm, c->row_d, bt, i, j);
                double v = c->alpha * sum + c->beta * cv;
                mag = fabs(c->alpha) * mag + fabs(c->beta * cv);
                if (c->epilogue & CUBLASLT_EPILOGUE_BIAS) {
                    double bv = sim_mat_get(&bias, bt, i, 0);
                    v += bv;
                    mag += fabs(bv);
                }
                if (c->epilogue == CUBLASLT_EPILOGUE_RELU ||
                    c->epilogue == CUBLASLT_EPILOGUE_RELU_BIAS)
                    v = v > 0 ? v : 0;
                if (c->epilogue == CUBLASLT_EPILOGUE_GELU ||
                    c->epilogue == CUBLASLT_EPILOGUE_GELU_BIAS) {
                    v = gelu(v);
                    mag = 2 * mag + 1; /* gelu' <= 1.13; tanhf adds a few ulps */
                }
                double got = logical(&dm, c->row_d, bt, i, j);
                double bound =
                    (c->k + 6) * u_acc(c->compute) * mag + 2 * u_out(c->cd) * fabs(v) + 1e-30;
                ck_assert_msg(fabs(got - v) <= bound,
                              "%s: batch %lld (%lld,%lld): got %.9g want %.9g +- %.3g", c->name,
                              (long long)bt, (long long)i, (long long)j, got, v, bound);
                /* C is an input only: D is written elsewhere. */
                ck_assert_msg(logical(&cm, c->row_d, bt, i, j) == cv, "%s: C was modified",
                              c->name);
            }
        }
    }
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutDestroy)(la);
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutDestroy)(lb);
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutDestroy)(lc);
    SIM_FN(CUBLASLT, cublasLtMatrixLayoutDestroy)(ld);
    SIM_FN(CUBLASLT, cublasLtMatmulDescDestroy)(op);
    ck_assert_int_eq(SIM_FN(CUBLASLT, cublasLtDestroy)(lt), CUBLAS_STATUS_SUCCESS);
    if (dev) SIM_FN(CUDART, cudaFree)(dev);
    sim_mat_free(&a);
    sim_mat_free(&b);
    sim_mat_free(&cm);
    sim_mat_free(&dm);
    sim_mat_free(&bias);
}
END_TEST

#else
#include <stdio.h>
START_TEST(test_sim_lt_skipped)
{
    fprintf(stderr, "SKIP: CUDA headers not found — simcuda not built, sim_lt not run\n");
}
END_TEST
#endif

extern Suite *suite_sim_lt(void);
Suite *suite_sim_lt(void)
{
    Suite *s = suite_create("sim_lt");
    TCase *tc = tcase_create("cublasLt");
#if __has_include(<cublasLt.h>)
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_lt_case, 0, (int)(sizeof(cases) / sizeof(cases[0])));
#else
    tcase_add_test(tc, test_sim_lt_skipped);
#endif
    suite_add_tcase(s, tc);
    return s;
}
