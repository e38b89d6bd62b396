/*
 * The GPU statistics path's result: what mpt_gpu_stats_kernel (gpu_stats_kernel.cu) accumulates
 * with atomics in device memory, and its conversion into the host reducer's mpt_stats, so both
 * paths produce the same summary (ARCHITECTURE.md, decision 7). C and CUDA C++ alike.
 */
#ifndef MPT_INTERPOSER_GPU_STATS_H
#define MPT_INTERPOSER_GPU_STATS_H

#include <math.h>
#include <string.h>

#include "core/fpformat.h"
#include "core/tensor_stats.h"

#define MPT_GPU_NARROW 4 /* fp16, bf16, e4m3, e5m2: the order of mpt_narrow */

/* The kernel's `layout` bits. */
#define MPT_GPU_ROW_MAJOR 1 /* element (r, c) at r * ld + c (else c * ld + r) */
#define MPT_GPU_PTR_ARRAY 2 /* `data`: a device array of `batch` matrix pointers (no stride) */

/* The storage types the kernel reads (the host reducer also reads fp64). */
#define MPT_GPU_DTYPE_OK(t)                                                                        \
    ((t) == MPT_DT_F32 || (t) == MPT_DT_F16 || (t) == MPT_DT_BF16 || (t) == MPT_DT_E4M3 ||         \
     (t) == MPT_DT_E5M2)

/* Zero-initialised before the launch (every field's "nothing seen" is 0). */
typedef struct mpt_gpu_stats {
    unsigned long long count, nan, pinf, ninf, zero, subnormal;
    unsigned int absmax_bits; /* largest finite |x| as fp32 bits (unsigned order = value order) */
    unsigned int max_key;     /* largest order-preserving key of a finite x; 0 none */
    unsigned int min_key_inv; /* ~ smallest key; 0 none */
    unsigned int minnz_inv;   /* ~ bits of the smallest finite nonzero |x|; 0 none */
    double sum, sumsq;        /* finite values, in double */
    unsigned long long hist[MPT_HIST_BUCKETS];
    unsigned long long narrow[MPT_GPU_NARROW][3]; /* overflow, subnormal, flush */
} mpt_gpu_stats;

static inline float mpt_gpu_stats_unkey(unsigned int key)
{
    unsigned int bits = (key & 0x80000000u) ? key & 0x7fffffffu : ~key;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* The host reducer's summary of the same elements. */
static inline void mpt_gpu_stats_to_stats(const mpt_gpu_stats *g, mpt_stats *s)
{
    memset(s, 0, sizeof *s); /* mpt_stats_init's empty summary, without linking the core */
    s->min = INFINITY;
    s->max = -INFINITY;
    s->min_nonzero_abs = INFINITY;
    s->count = g->count;
    s->nan = g->nan;
    s->pinf = g->pinf;
    s->ninf = g->ninf;
    s->zero = g->zero;
    s->subnormal = g->subnormal;
    float f;
    memcpy(&f, &g->absmax_bits, sizeof f);
    s->absmax = g->absmax_bits ? (double)f : 0.0;
    if (g->max_key) s->max = (double)mpt_gpu_stats_unkey(g->max_key);
    if (g->min_key_inv) s->min = (double)mpt_gpu_stats_unkey(~g->min_key_inv);
    if (g->minnz_inv) {
        unsigned int bits = ~g->minnz_inv;
        memcpy(&f, &bits, sizeof f);
        s->min_nonzero_abs = (double)f;
    }
    s->sum = g->sum;
    s->sumsq = g->sumsq;
    memcpy(s->hist, g->hist, sizeof s->hist);
    for (int n = 0; n < MPT_GPU_NARROW; n++) {
        s->narrow[n].overflow = g->narrow[n][0];
        s->narrow[n].subnormal = g->narrow[n][1];
        s->narrow[n].flush = g->narrow[n][2];
    }
}

#endif
