/*
 * Matrices and the reference GEMM for the simcuda suites (see test_sim_mat.h).
 */
#if __has_include(<cuda_runtime_api.h>)
#include "test_sim_mat.h"

#include <check.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <string.h>

#include "core/fpformat.h"
#include "test_sim_util.h"

size_t sim_mat_elem_size(cudaDataType t)
{
    switch (t) {
    case CUDA_R_64F:
        return 8;
    case CUDA_R_32F:
        return 4;
    default:
        return 2;
    }
}

sim_mat sim_mat_new(cudaDataType type, int64_t rows, int64_t cols, int64_t pad, int64_t batch,
                    int64_t gap, double fill)
{
    sim_mat m = {.type = type,
                 .rows = rows,
                 .cols = cols,
                 .ld = (rows > 0 ? rows : 1) + pad,
                 .batch = batch};
    m.stride = m.ld * cols + gap;
    size_t n = (size_t)(m.stride * (batch > 0 ? batch : 1));
    cudaError_t e = SIM_FN(CUDART, cudaMallocManaged)(&m.p, (n ? n : 1) * sim_mat_elem_size(type),
                                                      cudaMemAttachGlobal);
    ck_assert_int_eq(e, cudaSuccess);
    sim_mat whole = m;
    whole.rows = (int64_t)n;
    whole.ld = (int64_t)n;
    whole.cols = 1;
    for (size_t i = 0; i < n; i++)
        sim_mat_set(&whole, 0, (int64_t)i, 0, fill);
    return m;
}

void sim_mat_free(sim_mat *m)
{
    ck_assert_int_eq(SIM_FN(CUDART, cudaFree)(m->p), cudaSuccess);
    m->p = NULL;
}

double sim_mat_at(const sim_mat *m, int64_t index)
{
    switch (m->type) {
    case CUDA_R_64F:
        return ((const double *)m->p)[index];
    case CUDA_R_32F:
        return ((const float *)m->p)[index];
    case CUDA_R_16F:
        return mpt_f16_to_f32(((const uint16_t *)m->p)[index]);
    default:
        return mpt_bf16_to_f32(((const uint16_t *)m->p)[index]);
    }
}

double sim_mat_get(const sim_mat *m, int64_t b, int64_t i, int64_t j)
{
    return sim_mat_at(m, b * m->stride + i + j * m->ld);
}

void sim_mat_set(sim_mat *m, int64_t b, int64_t i, int64_t j, double v)
{
    int64_t x = b * m->stride + i + j * m->ld;
    switch (m->type) {
    case CUDA_R_64F:
        ((double *)m->p)[x] = v;
        break;
    case CUDA_R_32F:
        ((float *)m->p)[x] = (float)v;
        break;
    case CUDA_R_16F:
        ((uint16_t *)m->p)[x] = mpt_f32_to_f16((float)v);
        break;
    default:
        ((uint16_t *)m->p)[x] = mpt_f32_to_bf16((float)v);
        break;
    }
}

void *sim_mat_batch_ptr(const sim_mat *m, int64_t b)
{
    return (char *)m->p + (size_t)(b * m->stride) * sim_mat_elem_size(m->type);
}

double sim_rand_unit(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 4503599627370496.0 - 1.0; /* 2^52 */
}

void sim_mat_fill_random(sim_mat *m, uint64_t *state, double scale)
{
    for (int64_t b = 0; b < m->batch; b++)
        for (int64_t j = 0; j < m->cols; j++)
            for (int64_t i = 0; i < m->rows; i++)
                sim_mat_set(m, b, i, j, scale * sim_rand_unit(state));
}

double sim_ref_round_input(sim_ref_round r, double v)
{
    switch (r) {
    case SIM_REF_TF32:
        return mpt_f32_to_tf32((float)v);
    case SIM_REF_F16:
        return sim_ref_round_f16(v);
    case SIM_REF_BF16:
        return mpt_bf16_to_f32(mpt_f32_to_bf16((float)v));
    default:
        return v;
    }
}

double sim_ref_gemm_elem(const sim_mat *a, int ta, const sim_mat *b, int tb, const sim_mat *c,
                         int64_t batch, int64_t i, int64_t j, int64_t k, double alpha, double beta,
                         sim_ref_round r, double *magnitude)
{
    double sum = 0.0, mag = 0.0;
    for (int64_t p = 0; p < k; p++) {
        double x =
            sim_ref_round_input(r, ta ? sim_mat_get(a, batch, p, i) : sim_mat_get(a, batch, i, p));
        double y =
            sim_ref_round_input(r, tb ? sim_mat_get(b, batch, j, p) : sim_mat_get(b, batch, p, j));
        sum += x * y;
        mag += fabs(x * y);
    }
    double v = alpha * sum;
    mag = fabs(alpha) * mag;
    if (beta != 0.0) {
        double cv = sim_mat_get(c, batch, i, j);
        v += beta * cv;
        mag += fabs(beta * cv);
    }
    if (magnitude) *magnitude = mag;
    return v;
}

double sim_ref_round_f16(double x)
{
    if (isnan(x) || isinf(x)) return x;
    if (fabs(x) >= 65520.0) return copysign(INFINITY, x);
    int e;
    frexp(x, &e); /* |x| in [2^(e-1), 2^e) */
    double quantum = e - 1 < -14 ? ldexp(1.0, -24) : ldexp(1.0, e - 1 - 10);
    return nearbyint(x / quantum) * quantum; /* default rounding mode: nearest, ties to even */
}

#endif
