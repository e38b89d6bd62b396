/*
 * Private to core/tensor_stats*.c and their tests: the running state of one statistics pass,
 * the narrow-format thresholds, and the switch that forces the portable scalar path.
 *
 * One pass (mpt_stats_add, or every run of one mpt_stats_add_view) goes
 *   mpt_ts_begin -> mpt_ts_feed (any number of contiguous runs) -> mpt_ts_end (merge into s).
 * The scalar path updates the final-form counters in `mpt_ts_run` element by element. The AVX2
 * path (core/tensor_stats_avx2.c) keeps a cheaper raw form (`mpt_ts_vec`: a histogram by fp32
 * exponent byte plus a few partial counts) that mpt_ts_end turns into the same final form.
 * Both feed the same blocked/pairwise sums, so their results are bit-comparable in every count.
 *
 * Everything here is hidden from the shared objects that link libmptcore (the interposer).
 */
#ifndef MPT_CORE_TENSOR_STATS_INTERNAL_H
#define MPT_CORE_TENSOR_STATS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor_stats.h"

#define MPT_TS_HIDDEN __attribute__((visibility("hidden")))

/* Elements per block: sums are accumulated per block in MPT_TS_LANES double lanes (so each lane
 * adds at most MPT_TS_BLOCK / MPT_TS_LANES values in sequence), then blocks are combined
 * pairwise. A block of fp32 (16 KiB) stays in L1 for the fix-up passes of the vector path. */
#define MPT_TS_BLOCK 4096
#define MPT_TS_LANES 16

/* The 12 narrow thresholds: index = narrow * 3 + kind. */
enum { MPT_TS_OVER = 0, MPT_TS_FLUSH = 1, MPT_TS_SUB = 2, MPT_TS_NTHR = 3 * MPT_NARROW_COUNT };

/*
 * What rounding |x| to a narrow format (RNE) does, derived from the format's constants
 * (mpt_ts_limits_init). As reals:
 *   overflow   |x| >= over (over_inclusive) or |x| > over
 *   flush      0 < |x| <= flush
 *   subnormal  flush < |x| < sub
 * and as fp32 bit patterns of |x|, one strict bound each ("lt"):
 *   overflow   a >= lt[OVER]      flush  0 < a < lt[FLUSH]      subnormal  lt[FLUSH] <= a < lt[SUB]
 */
typedef struct mpt_ts_limits {
    double over, flush, sub;
    int over_inclusive;
    uint32_t lt[3];
} mpt_ts_limits;

/* A threshold seen from a storage dtype (fp32, fp16, bf16): lt in the dtype's own |bits|.
 * `bin` is the fp32 exponent byte of the threshold; the vector path gets "how many values are
 * below lt" from its exponent histogram up to `bin` plus, for PARTIAL, a count inside `bin`. */
enum { MPT_TS_ALIGNED = 0, MPT_TS_WHOLE = 1, MPT_TS_PARTIAL = 2 };
typedef struct mpt_ts_srcthr {
    uint32_t lt;  /* smallest source |bits| whose value is >= the threshold */
    uint32_t lo;  /* smallest source |bits| in `bin` (whose fp32 exponent byte is >= bin) */
    uint8_t bin;  /* fp32 exponent byte of the threshold (0: fp32's subnormal range) */
    uint8_t kind; /* ALIGNED: lt == lo; WHOLE: lt is past the last value in bin; else PARTIAL */
} mpt_ts_srcthr;

typedef struct mpt_ts_tables {
    mpt_ts_limits lim[MPT_NARROW_COUNT];
    /* [0] fp32, [1] fp16, [2] bf16 */
    mpt_ts_srcthr src[3][MPT_TS_NTHR];
    /* per source, per fp32 exponent byte: bit t set when threshold t is PARTIAL in that bin */
    uint16_t partial_in_bin[3][256];
    uint32_t own_min_normal[MPT_DT_COUNT]; /* fp32 bits of each dtype's min normal */
} mpt_ts_tables;

/* Thread-safe, computed once. */
MPT_TS_HIDDEN const mpt_ts_tables *mpt_ts_tables_get(void);
MPT_TS_HIDDEN int mpt_ts_src_index(mpt_dtype t); /* 0/1/2 for fp32/fp16/bf16, else -1 */

/* Pairwise combination of block sums: entry i holds the sum of 2^level[i] pushes. */
typedef struct mpt_ts_pairwise {
    double sum[66], sumsq[66];
    uint8_t level[66];
    int top;
} mpt_ts_pairwise;

MPT_TS_HIDDEN void mpt_ts_pairwise_push(mpt_ts_pairwise *p, double sum, double sumsq);

/* Raw state of the AVX2 path (fp32-domain: fp16 and bf16 are widened to fp32 exactly). */
typedef struct mpt_ts_vec {
    uint64_t raw[256]; /* by fp32 exponent byte; [0] = zeros + fp32 subnormals */
    uint64_t count, nan, pinf, ninf;
    uint64_t sub32;                /* values in (0, 2^-126): fp32/bf16 subnormals */
    uint64_t partial[MPT_TS_NTHR]; /* PARTIAL thresholds: values in `bin` with |bits| < lt */
    uint64_t sublt[MPT_TS_NTHR];   /* thresholds in bin 0: values with 0 < |bits| < lt */
    float min, max;                /* finite only; +-INFINITY while none */
    uint32_t absmax_bits;          /* largest finite |x| as fp32 bits; 0 while none */
    uint32_t minnz_bits;           /* smallest nonzero |x| as fp32 bits; 0x7f800000 while none */
    int base;                      /* histogram window: exponent bytes [base, base + 12] */
    int wide;                      /* data too spread for a window: plain histogram */
    int used;                      /* anything added */
    uint8_t keys[MPT_TS_BLOCK];    /* fp32 exponent byte of each element of the current block */
} mpt_ts_vec;

typedef struct mpt_ts_run {
    mpt_dtype dtype;
    int vector; /* the AVX2 path feeds this run */
    /* final-form counters (scalar path, tails, fp8, fp64) */
    uint64_t count, nan, pinf, ninf, zero, subnormal;
    uint64_t hist[MPT_HIST_BUCKETS];
    mpt_narrow_counts narrow[MPT_NARROW_COUNT];
    double min, max, absmax, min_nonzero_abs;
    mpt_ts_pairwise pw;
    mpt_ts_vec vec;
} mpt_ts_run;

MPT_TS_HIDDEN void mpt_ts_begin(mpt_ts_run *r, mpt_dtype t);
MPT_TS_HIDDEN void mpt_ts_feed(mpt_ts_run *r, const void *data, size_t n);
MPT_TS_HIDDEN void mpt_ts_end(mpt_ts_run *r, mpt_stats *s);

/* Scalar update of the final-form counters for `n` elements of a fp32-representable dtype
 * (fp32, fp16, bf16) given as raw bits; the sums go to lanes[], which the caller pushes. */
MPT_TS_HIDDEN void mpt_ts_scalar_bits(mpt_ts_run *r, const void *data, size_t n,
                                      double lanes[2][MPT_TS_LANES]);

/* ---- the AVX2 path (core/tensor_stats_avx2.c) ------------------------------------------- */
/* Nonzero when the CPU has AVX2, FMA and F16C and the scalar path is not forced. */
MPT_TS_HIDDEN int mpt_ts_use_avx2(void);
/* Feeds n contiguous fp32/fp16/bf16 elements into r->vec (and r's tails). */
MPT_TS_HIDDEN void mpt_ts_avx2_feed(mpt_ts_run *r, const void *data, size_t n);
MPT_TS_HIDDEN void mpt_ts_avx2_cheap(mpt_cheap_stats *c, mpt_dtype t, const void *data, size_t n);

/* Test switch: nonzero forces the portable scalar path everywhere (process-wide). */
void mpt_stats_force_scalar(int on);
/* 1 when the next call would use the AVX2 kernels. */
int mpt_stats_vector_active(void);

#endif
