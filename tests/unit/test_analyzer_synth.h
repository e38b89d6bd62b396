/*
 * Synthetic traces for the analyzer's tests: shaped like the reference trainer's under the
 * interposer (NVTX ranges "train_step N" and fwd/blkB/attn/qkv-style layer paths, GEMM + TENSOR
 * + PRECISION records, SCALAR loss/scale/skip marks, KERNEL launches between GEMMs, an H2D copy
 * per step), written through the real trace writer, with the failures the analyzer must find
 * injected at known steps and layers. Deterministic for a given configuration.
 */
#ifndef MPT_TESTS_ANALYZER_SYNTH_H
#define MPT_TESTS_ANALYZER_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/fpformat.h"
#include "core/trace_format.h"

#define SYN_MAX_SKIPS 16

typedef struct syn_opts {
    int steps, first_step;
    int blocks;
    mpt_dtype dtype;          /* A, B and D of every GEMM */
    mpt_compute_type compute; /* 32F; 16F for fp16 accumulation; 32F_FAST_TF32 */
    int scaler;               /* report scale and skip marks (init 65536) */
    int full_every;           /* full statistics (inputs, histogram, precision) every N steps */
    int kernels;              /* KERNEL records between GEMMs, an H2D copy per step */
    int ranges;               /* NVTX RANGE records (step range and layer ranges) */
    int no_layer_names;       /* GEMMs without a layer string (named op#ORDINAL) */
    int32_t rank;             /* header rank (-1 none) */
    uint64_t seed;
    /* injections (-1: none) */
    int overflow_step; /* fwd/blk<inj_block>/attn/scores overflows (produced, exact 1000x max) */
    int nan_step;      /* a kernel writes NaN after fwd/blk<inj_block>/mlp/up: mlp/down's input A */
    int memcpy_nan_step; /* an H2D copy carries NaN into fwd/blk0/attn/qkv's input B */
    int inj_block;
    int spike_step;    /* a finite loss spike (x3); fwd/blk<inj_block>/attn/qkv input x1000 */
    int loss_nan_from; /* the loss is NaN from this step to the end */
    int skip_steps[SYN_MAX_SKIPS]; /* extra scaler skip marks (with a backward Inf observed) */
    int nskip;
    int skip_unobserved; /* the extra skips carry no non-finite GEMM output */
    double underflow;    /* fraction of backward outputs underflowing in the precision sample */
    double ulp_err;      /* max ulp error of every GEMM (0.5: correctly rounded) */
    int collapse;        /* the scale halves every step */
} syn_opts;

void syn_defaults(syn_opts *o);

/* Layers per step in execution order, and the i-th name. */
int syn_nlayers(const syn_opts *o);
const char *syn_layer_name(const syn_opts *o, int i, char *buf, size_t n);

/* Writes the trace. 0, or -1 with a message. `stop_after_bytes` > 0 truncates the file there
 * afterwards (a killed program). */
int syn_write(const syn_opts *o, const char *path, char *err, size_t errlen);

/* The loss the synthetic run reports at `step` (before injections). */
double syn_loss(int step);

#endif
