/*
 * Tensor statistics, the public side of core/tensor_stats.h: init, add, the validation and walk
 * of strided/batched views, merge, and the cheap pass. The work of a pass is in
 * core/tensor_stats_run.c (scalar, fp8, fp64) and core/tensor_stats_avx2.c (fp32/fp16/bf16).
 *
 * The view walker never touches a byte outside the view: it visits, for each batch b and each
 * column (column-major) or row (row-major), exactly `inner` consecutive elements at
 * b * batch_stride + outer_index * ld. Runs that are contiguous with the next one are merged;
 * short runs are copied into a small staging buffer so that a 1 x N row-major view with a large
 * ld costs a copy, not a pass setup per element. batch_stride == 0 (a broadcast operand) is
 * measured once and scaled by `batch`: counts exactly, sums with one extra rounding.
 */
#include "core/tensor_stats.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/tensor_stats_internal.h"

void mpt_stats_init(mpt_stats *s)
{
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
    s->absmax = 0;
    s->min_nonzero_abs = INFINITY;
}

static int is_storage_dtype(mpt_dtype t)
{
    return t == MPT_DT_F32 || t == MPT_DT_F64 || t == MPT_DT_F16 || t == MPT_DT_BF16 ||
           t == MPT_DT_E4M3 || t == MPT_DT_E5M2;
}

void mpt_stats_add(mpt_stats *s, mpt_dtype t, const void *data, size_t n)
{
    if (s == NULL || n == 0 || data == NULL || !is_storage_dtype(t)) return;
    mpt_ts_run r;
    mpt_ts_begin(&r, t);
    mpt_ts_feed(&r, data, n);
    mpt_ts_end(&r, s);
}

void mpt_stats_merge(mpt_stats *dst, const mpt_stats *src)
{
    dst->count += src->count;
    dst->nan += src->nan;
    dst->pinf += src->pinf;
    dst->ninf += src->ninf;
    dst->zero += src->zero;
    dst->subnormal += src->subnormal;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
    if (src->absmax > dst->absmax) dst->absmax = src->absmax;
    if (src->min_nonzero_abs < dst->min_nonzero_abs) dst->min_nonzero_abs = src->min_nonzero_abs;
    dst->sum += src->sum;
    dst->sumsq += src->sumsq;
    for (int i = 0; i < MPT_HIST_BUCKETS; i++)
        dst->hist[i] += src->hist[i];
    for (int n = 0; n < MPT_NARROW_COUNT; n++) {
        dst->narrow[n].overflow += src->narrow[n].overflow;
        dst->narrow[n].subnormal += src->narrow[n].subnormal;
        dst->narrow[n].flush += src->narrow[n].flush;
    }
}

/* s := the summary of s's elements repeated k times. */
static void stats_repeat(mpt_stats *s, uint64_t k)
{
    s->count *= k;
    s->nan *= k;
    s->pinf *= k;
    s->ninf *= k;
    s->zero *= k;
    s->subnormal *= k;
    s->sum *= (double)k;
    s->sumsq *= (double)k;
    for (int i = 0; i < MPT_HIST_BUCKETS; i++)
        s->hist[i] *= k;
    for (int n = 0; n < MPT_NARROW_COUNT; n++) {
        s->narrow[n].overflow *= k;
        s->narrow[n].subnormal *= k;
        s->narrow[n].flush *= k;
    }
}

/* ---- views ------------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int view_fail(char *err, size_t errlen,
                                                           const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Runs shorter than this are gathered into the staging buffer. */
#define WALK_SHORT_RUN 256

typedef struct walker {
    mpt_ts_run *run;
    size_t es;
    size_t staged; /* elements in stage */
    _Alignas(64) unsigned char stage[4096];
} walker;

static void walk_flush(walker *w)
{
    if (w->staged) mpt_ts_feed(w->run, w->stage, w->staged);
    w->staged = 0;
}

static void walk_run(walker *w, const unsigned char *p, size_t n)
{
    if (n >= WALK_SHORT_RUN) {
        mpt_ts_feed(w->run, p, n);
        return;
    }
    if ((w->staged + n) * w->es > sizeof w->stage) walk_flush(w);
    memcpy(w->stage + w->staged * w->es, p, n * w->es);
    w->staged += n;
}

int mpt_stats_add_view(mpt_stats *s, const mpt_matrix_view *v, char *err, size_t errlen)
{
    if (s == NULL || v == NULL) return view_fail(err, errlen, "NULL stats or view");
    if (v->dtype == MPT_DT_TF32)
        return view_fail(err, errlen,
                         "tf32 is a compute format, not a storage dtype: describe the operand "
                         "as the fp32 it is stored in");
    if (!is_storage_dtype(v->dtype))
        return view_fail(err, errlen, "dtype %d (%s) is not a supported storage dtype",
                         (int)v->dtype, mpt_dtype_name(v->dtype));
    if (v->order != MPT_ORDER_COL && v->order != MPT_ORDER_ROW)
        return view_fail(err, errlen, "order %d is neither column- nor row-major", (int)v->order);
    if (v->rows < 0 || v->cols < 0 || v->ld < 0 || v->batch_stride < 0)
        return view_fail(err, errlen,
                         "negative size: rows %" PRId64 " cols %" PRId64 " ld %" PRId64
                         " batch_stride %" PRId64,
                         v->rows, v->cols, v->ld, v->batch_stride);
    if (v->batch < 1) return view_fail(err, errlen, "batch %" PRId64 " < 1", v->batch);
    if (v->rows == 0 || v->cols == 0) return 0;

    int col = v->order == MPT_ORDER_COL;
    uint64_t inner = (uint64_t)(col ? v->rows : v->cols);
    uint64_t outer = (uint64_t)(col ? v->cols : v->rows);
    uint64_t ld = (uint64_t)v->ld, bs = (uint64_t)v->batch_stride, batch = (uint64_t)v->batch;
    if (ld < inner)
        return view_fail(err, errlen, "ld %" PRId64 " < %s %" PRIu64 " in a %s-major view", v->ld,
                         col ? "rows" : "cols", inner, col ? "column" : "row");
    if (v->data == NULL)
        return view_fail(err, errlen, "NULL data for a %" PRId64 " x %" PRId64 " view", v->rows,
                         v->cols);
    size_t es = mpt_dtype_size(v->dtype);
    uint64_t a, b, last, bytes, total;
    if (__builtin_mul_overflow(batch - 1, bs, &a) || __builtin_mul_overflow(outer - 1, ld, &b) ||
        __builtin_add_overflow(a, b, &last) || __builtin_add_overflow(last, inner, &last) ||
        __builtin_mul_overflow(last, (uint64_t)es, &bytes) || bytes > SIZE_MAX ||
        (uintptr_t)v->data + (uintptr_t)bytes < (uintptr_t)v->data ||
        __builtin_mul_overflow(inner, outer, &total) ||
        __builtin_mul_overflow(total, batch, &total))
        return view_fail(err, errlen,
                         "view size overflows: rows %" PRId64 " cols %" PRId64 " ld %" PRId64
                         " batch %" PRId64 " batch_stride %" PRId64,
                         v->rows, v->cols, v->ld, v->batch, v->batch_stride);

    /* A broadcast operand: measure one matrix, repeat it. */
    uint64_t walk_batches = bs == 0 ? 1 : batch;
    mpt_ts_run run;
    mpt_ts_begin(&run, v->dtype);
    walker w;
    w.run = &run;
    w.es = es;
    w.staged = 0;
    const unsigned char *base = v->data;
    int matrix_contiguous = ld == inner || outer == 1;
    if (matrix_contiguous && (walk_batches == 1 || bs == inner * outer)) {
        walk_run(&w, base, (size_t)(inner * outer * walk_batches));
    } else {
        for (uint64_t bi = 0; bi < walk_batches; bi++) {
            const unsigned char *mb = base + bi * bs * es;
            if (matrix_contiguous) {
                walk_run(&w, mb, (size_t)(inner * outer));
                continue;
            }
            for (uint64_t o = 0; o < outer; o++)
                walk_run(&w, mb + o * ld * es, (size_t)inner);
        }
    }
    walk_flush(&w);
    if (walk_batches == batch) {
        mpt_ts_end(&run, s);
    } else {
        mpt_stats one;
        mpt_stats_init(&one);
        mpt_ts_end(&run, &one);
        stats_repeat(&one, batch);
        mpt_stats_merge(s, &one);
    }
    return 0;
}

/* ---- cheap pass ------------------------------------------------------------------------- */

/* The portable cheap pass: fp32/fp16/bf16 and fp64 by bit patterns, fp8 through a count of
 * each byte value. */
static void cheap_scalar(mpt_cheap_stats *c, mpt_dtype t, const unsigned char *p, size_t n)
{
    uint64_t nan = 0, inf = 0;
    double absmax = c->absmax;
    if (t == MPT_DT_F64) {
        for (size_t i = 0; i < n; i++) {
            uint64_t u;
            double d;
            memcpy(&u, p + 8 * i, 8);
            memcpy(&d, p + 8 * i, 8);
            uint64_t a = u & 0x7fffffffffffffffu;
            if (a > 0x7ff0000000000000u)
                nan++;
            else if (a == 0x7ff0000000000000u)
                inf++;
            else if (fabs(d) > absmax)
                absmax = fabs(d);
        }
    } else if (t == MPT_DT_E4M3 || t == MPT_DT_E5M2) {
        uint64_t h[256] = {0};
        for (size_t i = 0; i < n; i++)
            h[p[i]]++;
        for (int b = 0; b < 256; b++) {
            if (h[b] == 0) continue;
            float f = t == MPT_DT_E4M3 ? mpt_e4m3_to_f32((uint8_t)b) : mpt_e5m2_to_f32((uint8_t)b);
            if (isnan(f))
                nan += h[b];
            else if (isinf(f))
                inf += h[b];
            else if (fabs(f) > absmax)
                absmax = fabs(f);
        }
    } else {
        uint32_t amax = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            if (t == MPT_DT_F32) {
                memcpy(&u, p + 4 * i, 4);
            } else {
                uint16_t h;
                memcpy(&h, p + 2 * i, 2);
                u = t == MPT_DT_F16 ? mpt_f32_bits(mpt_f16_to_f32(h)) : (uint32_t)h << 16;
            }
            uint32_t a = u & 0x7fffffffu;
            if (a > 0x7f800000u)
                nan++;
            else if (a == 0x7f800000u)
                inf++;
            else if (a > amax)
                amax = a; /* |x| orders as its bit pattern */
        }
        if (mpt_f32_from_bits(amax) > absmax) absmax = mpt_f32_from_bits(amax);
    }
    c->count += n;
    c->nan += nan;
    c->inf += inf;
    c->absmax = absmax;
}

void mpt_cheap_stats_add(mpt_cheap_stats *c, mpt_dtype t, const void *data, size_t n)
{
    if (c == NULL || data == NULL || n == 0 || !is_storage_dtype(t)) return;
    if (mpt_ts_src_index(t) >= 0 && mpt_ts_use_avx2())
        mpt_ts_avx2_cheap(c, t, data, n);
    else
        cheap_scalar(c, t, data, n);
}

void mpt_cheap_stats_merge(mpt_cheap_stats *dst, const mpt_cheap_stats *src)
{
    dst->count += src->count;
    dst->nan += src->nan;
    dst->inf += src->inf;
    if (src->absmax > dst->absmax) dst->absmax = src->absmax;
}
