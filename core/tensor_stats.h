/*
 * Tensor statistics: one pass over a (strided, batched) matrix of any supported dtype, producing
 * a summary that merges exactly with other partial summaries (chunks, threads, GPU blocks).
 *
 * This is what the interposer records for every GEMM operand and what the analyzer reasons
 * about: how many values are NaN/Inf, how close the largest magnitude is to the dtype's limit,
 * where the values sit on the binary-exponent scale, and how many of them would overflow, become
 * subnormal or flush to zero if cast to each narrower format.
 *
 * Contract: the summary describes exactly the elements visited; "not measured" is never encoded
 * as 0 — a tensor with no finite element has min = +INFINITY, max = -INFINITY, absmax = 0 and
 * min_nonzero_abs = +INFINITY, and `count - nan - pinf - ninf` tells how many finite values
 * there were.
 */
#ifndef MPT_CORE_TENSOR_STATS_H
#define MPT_CORE_TENSOR_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/fpformat.h"

/*
 * Exponent histogram, over fp32's whole range. Bucket layout (fixed: written into traces):
 *   MPT_HIST_ZERO               +0 and -0
 *   MPT_HIST_SUBNORMAL          0 < |x| < 2^-126 (fp32's subnormal range; f64 values this small
 * too) MPT_HIST_EXP_BASE + e+126   2^e <= |x| < 2^(e+1), for e in [-126, 127] (f64 values >= 2^128
 * are counted in the e = 127 bucket) MPT_HIST_INF                +Inf and -Inf MPT_HIST_NAN any NaN
 */
#define MPT_HIST_MIN_EXP   (-126)
#define MPT_HIST_MAX_EXP   127
#define MPT_HIST_ZERO      0
#define MPT_HIST_SUBNORMAL 1
#define MPT_HIST_EXP_BASE  2
#define MPT_HIST_INF       (MPT_HIST_EXP_BASE + MPT_HIST_MAX_EXP - MPT_HIST_MIN_EXP + 1) /* 256 */
#define MPT_HIST_NAN       (MPT_HIST_INF + 1)                                            /* 257 */
#define MPT_HIST_BUCKETS   (MPT_HIST_NAN + 1)                                            /* 258 */

/* Bucket index of binary exponent e (MPT_HIST_MIN_EXP <= e <= MPT_HIST_MAX_EXP). */
static inline int mpt_hist_bucket_of_exp(int e)
{
    return MPT_HIST_EXP_BASE + e - MPT_HIST_MIN_EXP;
}

/* The narrower formats every tensor is measured against (fixed order: written into traces). */
typedef enum mpt_narrow {
    MPT_NARROW_FP16 = 0,
    MPT_NARROW_BF16 = 1,
    MPT_NARROW_E4M3 = 2,
    MPT_NARROW_E5M2 = 3,
    MPT_NARROW_COUNT
} mpt_narrow;

/* The dtype each mpt_narrow index stands for. */
mpt_dtype mpt_narrow_dtype(mpt_narrow n);

/*
 * What casting a value to a narrower format with round-to-nearest-even would do to it.
 * Counted over finite, nonzero values only (NaN, Inf and zeros are counted elsewhere):
 *   overflow   the rounded value exceeds the format's max finite (becomes Inf, or NaN in e4m3fn,
 *              or saturates in a saturating cast)
 *   subnormal  the rounded value is nonzero and below the format's min normal
 *   flush      the rounded value is zero (x was nonzero): the value is lost
 * fp64 values are rounded once, exactly (a direct fp64 -> narrow cast), not through fp32.
 * The exact bounds are in docs/tensor-stats.md.
 */
typedef struct mpt_narrow_counts {
    uint64_t overflow;
    uint64_t subnormal;
    uint64_t flush;
} mpt_narrow_counts;

typedef struct mpt_stats {
    uint64_t count;         /* elements visited */
    uint64_t nan;           /* any NaN (all payloads, both signs) */
    uint64_t pinf;          /* +Inf */
    uint64_t ninf;          /* -Inf */
    uint64_t zero;          /* +0 and -0 */
    uint64_t subnormal;     /* subnormal in the tensor's own dtype */
    double min;             /* smallest finite value; +INFINITY if none */
    double max;             /* largest finite value; -INFINITY if none */
    double absmax;          /* largest finite |x|; 0 if none */
    double min_nonzero_abs; /* smallest finite nonzero |x|; +INFINITY if none */
    double sum;             /* sum of finite values (accumulated in double) */
    double sumsq;           /* sum of squares of finite values (double) */
    uint64_t hist[MPT_HIST_BUCKETS];
    mpt_narrow_counts narrow[MPT_NARROW_COUNT];
} mpt_stats;

/* Cheap pass: what the interposer runs on every GEMM output of every step. */
typedef struct mpt_cheap_stats {
    uint64_t count;
    uint64_t nan;
    uint64_t inf;  /* +Inf and -Inf */
    double absmax; /* largest finite |x|; 0 if none */
} mpt_cheap_stats;

typedef enum mpt_order { MPT_ORDER_COL = 0, MPT_ORDER_ROW = 1 } mpt_order;

/*
 * A view of a matrix in host-readable memory, as cuBLAS describes operands: `rows` x `cols`
 * elements; in column-major order element (i, j) of batch b is at
 *   data + (b * batch_stride + j * ld + i) * elem_size, with ld >= rows,
 * and in row-major order at data + (b * batch_stride + i * ld + j) * elem_size, with ld >= cols.
 * Strides are in elements. batch >= 1; batch_stride may be 0 (the same matrix repeated) or
 * smaller than one matrix (overlapping batches are visited as described, element by element).
 */
typedef struct mpt_matrix_view {
    const void *data;
    mpt_dtype dtype; /* a storage dtype: F32, F64, F16, BF16, E4M3, E5M2 (not TF32) */
    mpt_order order;
    int64_t rows, cols;
    int64_t ld;
    int64_t batch;
    int64_t batch_stride;
} mpt_matrix_view;

/* Resets to the summary of zero elements. */
void mpt_stats_init(mpt_stats *s);

/* Adds `n` contiguous elements of dtype `t` at `data` to `s` (any alignment). A dtype that is
 * not a storage dtype (tf32, unknown) or NULL data adds nothing: mpt_stats_add_view reports
 * those as errors. */
void mpt_stats_add(mpt_stats *s, mpt_dtype t, const void *data, size_t n);

/*
 * Adds every element of the view to `s`. Returns 0, or -1 without touching `s` when the view is
 * invalid (NULL data with elements, unsupported dtype, negative sizes, ld too small, batch < 1,
 * or a size whose byte extent overflows), with a one-line reason in err (if err != NULL).
 * An empty view (rows or cols 0) is valid and adds nothing.
 */
int mpt_stats_add_view(mpt_stats *s, const mpt_matrix_view *v, char *err, size_t errlen);

/* dst := summary of the elements of dst and of src. Exact for every count, min and max. */
void mpt_stats_merge(mpt_stats *dst, const mpt_stats *src);

/* Cheap pass over `n` contiguous elements; mpt_cheap_stats must be zeroed first. */
void mpt_cheap_stats_add(mpt_cheap_stats *c, mpt_dtype t, const void *data, size_t n);
void mpt_cheap_stats_merge(mpt_cheap_stats *dst, const mpt_cheap_stats *src);

/* Number of finite elements. */
static inline uint64_t mpt_stats_finite(const mpt_stats *s)
{
    return s->count - s->nan - s->pinf - s->ninf;
}

#endif
