/*
 * Two runs side by side (`mptrace diff A B`): a bf16-mixed run against a 16-mixed one, a good
 * run against a bad one. Layers are matched by name, steps by number. For each layer, the
 * first step where the two runs' statistics diverge (one went non-finite and the other did
 * not, or their output absmax differ by more than `threshold_bits` binades) and by how much;
 * for the whole run, the first such step in execution order, where the loss curves part, and
 * the findings one run has that the other does not (matched by kind and layer).
 */
#ifndef MPT_ANALYZER_DIFF_H
#define MPT_ANALYZER_DIFF_H

#include <stdio.h>

#include "analyzer/analysis.h"
#include "analyzer/model.h"

typedef struct mpt_diff_opts {
    double threshold_bits; /* |log2(absmax A / absmax B)| above this diverges (1.0) */
    double loss_rel_tol;   /* losses differ by more than this fraction (0.05) */
} mpt_diff_opts;

void mpt_diff_opts_default(mpt_diff_opts *o);

typedef struct mpt_diff_layer {
    const char *name;
    uint32_t la, lb;    /* layer index in A and in B; MPT_NO_LAYER: absent there */
    int64_t first_step; /* first divergent step; MPT_NO_STEP: none */
    double delta_bits;  /* log2(absmax B / absmax A) there; +-Inf when one is non-finite */
    int nonfinite;      /* the divergence is a non-finite value in one run only */
} mpt_diff_layer;

typedef struct mpt_diff_side {
    const mpt_model *m;
    const mpt_analysis *a;
    const char *label; /* "A" / "B" */
} mpt_diff_side;

typedef struct mpt_diff {
    mpt_diff_side side[2];
    mpt_diff_layer *layers; /* A's execution order, then layers only B has */
    uint32_t nlayers;
    uint32_t first; /* index into layers of the first divergence; UINT32_MAX none */
    int64_t common_steps;
    int64_t loss_step; /* first step whose losses differ (loss_rel_tol, or finiteness) */
    double loss_a, loss_b;
    size_t *only[2]; /* findings of side i with no match in the other: indices */
    size_t nonly[2];
} mpt_diff;

/* NULL when memory is short. The models and analyses must outlive the result. */
mpt_diff *mpt_diff_compute(const mpt_model *ma, const mpt_analysis *aa, const mpt_model *mb,
                           const mpt_analysis *ab, const mpt_diff_opts *o);
void mpt_diff_free(mpt_diff *d);

int mpt_diff_text(FILE *f, const mpt_diff *d, int color);
int mpt_diff_json(FILE *f, const mpt_diff *d, int pretty);

#endif
