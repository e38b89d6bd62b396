/*
 * Synthetic training runs for the TUI's tests and benchmark: a trace shaped like the reference
 * trainer's (NVTX layer paths fwd/blkN/..., bwd/..., one STEP range per step, loss/scale/skip
 * scalars), with a known fp16 overflow ("spike") injected at a chosen step and layer, written
 * through the real trace writer so the TUI reads it exactly as it reads a profiled program's.
 *
 * The run is deterministic for a given configuration (seeded PRNG, synthetic timestamps), so
 * snapshots of it are stable. It can be written all at once or step by step (the live-follow
 * tests append steps while the TUI watches the file).
 */
#ifndef MPT_TESTS_TUI_SYNTH_H
#define MPT_TESTS_TUI_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/fpformat.h"

typedef struct mpt_tui_synth {
    int blocks;       /* transformer blocks: 4 GEMM layers each, forward and backward */
    int steps;        /* steps written by mpt_tui_synth_write: first_step .. first_step+steps-1 */
    int first_step;   /* number of the first step */
    int spike_step;   /* fp16 overflow (Inf) in fwd/blk<spike_block>/mlp/up, NaN downstream,
                       * loss NaN, step skipped, scale halved; -1: none */
    int spike_block;
    int bump_step;    /* a finite loss spike (x3) with no non-finite value; -1: none */
    int full_every;   /* full statistics (inputs, histograms, precision) every N steps; 0 never */
    int kernels;      /* KERNEL records per GEMM (the bench's realism: interposer traces have them) */
    int ranges;       /* NVTX push/pop RANGE records around each GEMM */
    mpt_dtype dtype;  /* the GEMMs' A, B and D dtype */
    int scaler;       /* report a dynamic loss scale and skip marks */
    int pid;          /* the header's pid; 0: this process's (a live program's trace has its) */
    uint64_t seed;
} mpt_tui_synth;

/* 2 blocks, 40 steps, spike at step 23 in block 1, full statistics every 5 steps, fp16 with a
 * scaler, no kernels, ranges on, seed 1. */
void mpt_tui_synth_defaults(mpt_tui_synth *s);

/* GEMM layers per step, and the name of layer i (0 .. nlayers-1, in execution order). */
int mpt_tui_synth_nlayers(const mpt_tui_synth *s);
const char *mpt_tui_synth_layer_name(const mpt_tui_synth *s, int i, char *buf, size_t n);
/* The layer the spike hits: "fwd/blk<spike_block>/mlp/up". */
const char *mpt_tui_synth_spike_layer(const mpt_tui_synth *s, char *buf, size_t n);
/* TENSOR records one step writes (step s). */
uint64_t mpt_tui_synth_step_tensors(const mpt_tui_synth *s, int step);

typedef struct mpt_tui_synth_run mpt_tui_synth_run;

/* Creates the trace (header written at the first flush). NULL with a message on failure. */
mpt_tui_synth_run *mpt_tui_synth_open(const mpt_tui_synth *s, const char *path, char *err,
                                      size_t errlen);
/* Writes the next n steps; each step's END record flushes it to the file. 0 or -1. */
int mpt_tui_synth_steps(mpt_tui_synth_run *r, int n);
/* Writes END (exit, status) and closes. 0 or -1 with a message. Frees r either way. */
int mpt_tui_synth_close(mpt_tui_synth_run *r, int status, char *err, size_t errlen);

/* open + steps(s->steps) + close(0). */
int mpt_tui_synth_write(const mpt_tui_synth *s, const char *path, char *err, size_t errlen);

#endif
