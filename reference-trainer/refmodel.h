/*
 * The whole model in double precision, composed from refops: the loss and every parameter's
 * gradient for one batch. The oracle for the trainer's device path (which must agree to fp32
 * rounding in 32-true) and, through finite differences, for the composition itself.
 *
 * Contract: init returns 0 or -1 (out of memory); forward must precede backward with the same
 * params and tokens; nothing prints.
 */
#ifndef MPT_TR_REFMODEL_H
#define MPT_TR_REFMODEL_H

#include <stdint.h>

#include "reference-trainer/model.h"

typedef struct mpt_tr_ref_layer_acts {
    double *x_in;                      /* (N,C) residual stream entering the block */
    double *ln1, *ln1_mean, *ln1_rstd; /* (N,C), (N), (N) */
    double *qkv;                       /* (N,3C) */
    double *q, *k, *v;                 /* (BH,T,hs) */
    double *s, *p;                     /* (BH,T,T) scores, causal probabilities */
    double *y;                         /* (BH,T,hs) */
    double *atty;                      /* (N,C) heads merged */
    double *attproj;                   /* (N,C) */
    double *x_mid;                     /* (N,C) after the attention residual */
    double *ln2, *ln2_mean, *ln2_rstd;
    double *fc, *gelu; /* (N,4C) */
    double *fcproj;    /* (N,C) */
} mpt_tr_ref_layer_acts;

typedef struct mpt_tr_ref_model {
    const mpt_tr_layout *lo;      /* borrowed */
    mpt_tr_ref_layer_acts *layer; /* (L) */
    double *x_out;                /* (N,C) the last block's output */
    double *lnf, *lnf_mean, *lnf_rstd;
    double *logits;  /* (N,V) */
    double *scratch; /* gradient workspace, owned */
    double loss;
} mpt_tr_ref_model;

int mpt_tr_ref_model_init(mpt_tr_ref_model *m, const mpt_tr_layout *lo);
void mpt_tr_ref_model_free(mpt_tr_ref_model *m);

/* Mean cross-entropy over the B*T positions; params has lo->total elements. */
double mpt_tr_ref_model_forward(mpt_tr_ref_model *m, const double *params, const int32_t *tok,
                                const int32_t *targets);
/* grads (lo->total) = d loss / d params, overwritten. */
void mpt_tr_ref_model_backward(mpt_tr_ref_model *m, const double *params, const int32_t *tok,
                               const int32_t *targets, double *grads);

#endif
