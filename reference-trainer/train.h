/*
 * The training run: data, model, the loop (loss scaling, clipping, AdamW, injections), the
 * evaluations, the ground-truth log, the NVTX marks and the progress lines on `out`.
 *
 * Contract: returns the process exit status main should use: 0 the run completed (whatever
 * its loss did: a NaN run is a successful demonstration), 1 a runtime failure (CUDA, cuBLAS,
 * memory), 2 a usage problem found once the data is known (missing data file, --seq longer
 * than the data, unwritable --log). The message for 1 and 2 is in err.
 */
#ifndef MPT_TR_TRAIN_H
#define MPT_TR_TRAIN_H

#include <stddef.h>
#include <stdio.h>

#include "reference-trainer/options.h"

int mpt_tr_run(const mpt_tr_opts *o, FILE *out, char *err, size_t errlen);

/* Verifies this build's kernels and GEMM paths against the double-precision reference
 * (selfcheck.c): one line per check on out; 0 all passed, 1 a check failed or the device
 * failed. */
int mpt_tr_self_check(FILE *out);

#endif
