/*
 * GEMM operands as the host reducer sees them: checking a decoded call before anything is read,
 * and walking an operand (column- or row-major, leading dimension, strided or pointer-array
 * batches) into the statistics of core/tensor_stats.h.
 *
 * Only called when device memory is host-readable (simcuda) and mpt_ipx_gemm_check() passed:
 * the pointers were accepted by the library the call went to, sizes are non-negative, leading
 * dimensions cover their matrices, and byte extents do not overflow.
 */
#include <stdint.h>
#include <string.h>

#include "interposer/ipx.h"

static int64_t max1(int64_t v)
{
    return v > 1 ? v : 1;
}

/* 0 when o describes a readable matrix of `batch` entries; -1 when it cannot be walked. */
static int operand_check(const mpt_ipx_operand *o, int64_t batch)
{
    if (o->rows < 0 || o->cols < 0 || batch < 1) return -1;
    if (o->rows == 0 || o->cols == 0) return 0;
    if (!o->ptr && !o->ptrs) return -1;
    int64_t need = o->order == MPT_ORDER_COL ? o->rows : o->cols;
    if (o->ld < max1(need)) return -1;
    int64_t outer = o->order == MPT_ORDER_COL ? o->cols : o->rows, extent, total;
    if (__builtin_mul_overflow(outer - 1, o->ld, &extent) ||
        __builtin_add_overflow(extent, need, &extent) ||
        __builtin_mul_overflow(extent, (int64_t)8, &total))
        return -1;
    if (!o->ptrs && batch > 1) {
        int64_t s = o->stride < 0 ? -o->stride : o->stride;
        if (__builtin_mul_overflow(s, batch - 1, &total) ||
            __builtin_add_overflow(total, extent, &total) ||
            __builtin_mul_overflow(total, (int64_t)8, &total))
            return -1;
    }
    return 0;
}

int mpt_ipx_gemm_check(const mpt_ipx_gemm *g)
{
    if (g->m < 0 || g->n < 0 || g->k < 0 || g->batch < 1) return -1;
    const mpt_ipx_operand *ops[4] = {&g->a, &g->b, &g->c, &g->d};
    for (int i = 0; i < 4; i++) {
        if (operand_check(ops[i], g->batch) != 0) return -1;
        if (mpt_dtype_size(ops[i]->dtype) == 0) return 1;
    }
    if (g->a.rows * g->a.cols != g->m * g->k || g->b.rows * g->b.cols != g->k * g->n ||
        g->d.rows != g->m || g->d.cols != g->n)
        return -1;
    if (g->bias && mpt_dtype_size(g->bias_dtype) == 0) return 1;
    return 0;
}

const unsigned char *mpt_ipx_operand_base(const mpt_ipx_operand *o, int64_t b)
{
    if (o->ptrs) return (const unsigned char *)o->ptrs[b];
    return (const unsigned char *)o->ptr + b * o->stride * (int64_t)mpt_dtype_size(o->dtype);
}

int mpt_ipx_operand_cheap(const mpt_ipx_operand *o, int64_t batch, mpt_cheap_stats *c)
{
    memset(c, 0, sizeof *c);
    if (operand_check(o, batch) != 0 || mpt_dtype_size(o->dtype) == 0) return -1;
    if (o->rows == 0 || o->cols == 0) return 0;
    size_t es = mpt_dtype_size(o->dtype);
    int64_t inner = o->order == MPT_ORDER_COL ? o->rows : o->cols;
    int64_t outer = o->order == MPT_ORDER_COL ? o->cols : o->rows;
    /* Whole batches contiguous: one run. */
    if (o->ld == inner && !o->ptrs && (batch == 1 || o->stride == inner * outer)) {
        mpt_cheap_stats_add(c, o->dtype, o->ptr, (size_t)(inner * outer * batch));
        return 0;
    }
    for (int64_t b = 0; b < batch; b++) {
        const unsigned char *base = mpt_ipx_operand_base(o, b);
        if (!base) return -1;
        if (o->ld == inner) {
            mpt_cheap_stats_add(c, o->dtype, base, (size_t)(inner * outer));
            continue;
        }
        for (int64_t j = 0; j < outer; j++)
            mpt_cheap_stats_add(c, o->dtype, base + (size_t)(j * o->ld) * es, (size_t)inner);
    }
    return 0;
}

int mpt_ipx_operand_full(const mpt_ipx_operand *o, int64_t batch, mpt_stats *s)
{
    mpt_stats_init(s);
    if (operand_check(o, batch) != 0 || mpt_dtype_size(o->dtype) == 0) return -1;
    if (o->rows == 0 || o->cols == 0) return 0;
    mpt_matrix_view v = {
        .data = o->ptr,
        .dtype = o->dtype,
        .order = o->order,
        .rows = o->rows,
        .cols = o->cols,
        .ld = o->ld,
        .batch = o->ptrs ? 1 : batch,
        .batch_stride = o->ptrs ? 0 : o->stride,
    };
    if (!o->ptrs) return mpt_stats_add_view(s, &v, NULL, 0);
    for (int64_t b = 0; b < batch; b++) {
        v.data = o->ptrs[b];
        if (!v.data || mpt_stats_add_view(s, &v, NULL, 0) != 0) return -1;
    }
    return 0;
}

double mpt_ipx_operand_load(const mpt_ipx_operand *o, int64_t b, int64_t r, int64_t c)
{
    const unsigned char *base = mpt_ipx_operand_base(o, b);
    int64_t idx = o->order == MPT_ORDER_COL ? r + c * o->ld : r * o->ld + c;
    return mpt_dtype_load(o->dtype, base, (size_t)idx);
}
