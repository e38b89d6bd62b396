/*
 * The model on the device: parameters, activations, the forward and backward passes with every
 * matrix product through cuBLAS (cublasGemmEx; cublasGemmStridedBatchedEx for QK^T and P.V;
 * cublasLtMatmul with a bias epilogue for the MLP up projection, as PyTorch's addmm does) and
 * the other ops as one-source kernels (kernels.h), and the optimizer step.
 *
 * Precision (autocast's rules): in 16-mixed / bf16-mixed every GEMM takes and returns the
 * 16-bit type with fp32 compute (or fp16 compute with --gemm-compute 16F); the weights are cast
 * from the fp32 masters at the start of each step; norms, softmax, the loss and the residual
 * stream stay fp32 (norm and softmax outputs are stored in the 16-bit type their GEMM reads);
 * weight gradients come out of their GEMMs in the 16-bit type and are widened into fp32
 * gradients; the optimizer works in fp32.
 *
 * Contract: functions return 0, or -1 with a message in g->err (a CUDA or cuBLAS error); they
 * never print or exit. Every op runs inside its NVTX range (scope.h).
 */
#ifndef MPT_TR_GPT_H
#define MPT_TR_GPT_H

#include <stddef.h>
#include <stdint.h>

#include "reference-trainer/model.h"
#include "reference-trainer/options.h"
#include "reference-trainer/scope.h"

/* What an injection does to one forward pass (from the --inject list, for this step). */
typedef struct mpt_tr_step_inject {
    int spike_block; /* -1: none */
    float spike_factor;
    int nan_block; /* -1: none */
    mpt_tr_nan_site nan_site;
} mpt_tr_step_inject;

/* The first non-finite output seen in a checked pass. */
typedef struct mpt_tr_finite_check {
    int active;                             /* scan every op's output during this pass */
    int found;                              /* an op's output held Inf/NaN */
    int is_gemm;                            /* ... and that op was a GEMM */
    int inputs_finite;                      /* the parameters were finite when the step began */
    char layer[MPT_TR_SCOPE_MAX_PATH];      /* its NVTX path */
    char first_gemm[MPT_TR_SCOPE_MAX_PATH]; /* the first GEMM with a non-finite output, "" none */
} mpt_tr_finite_check;

typedef struct mpt_tr_layer_acts mpt_tr_layer_acts; /* device activations of one block */

typedef struct mpt_tr_gpt {
    mpt_tr_layout lo;
    mpt_tr_config cfg;
    int dt;          /* mpt_dtype of GEMM operands and activations they touch */
    int compute_16f; /* fp16 accumulation */
    int tf32;
    int master_bf16;
    void *blas; /* cublasHandle_t */
    void *lt;   /* cublasLtHandle_t */
    /* parameters (device) */
    float *params;            /* (total) fp32 masters (bf16 values with --master-weights bf16) */
    float *grads;             /* (total) fp32 */
    float *adam_m, *adam_v;   /* (total) fp32; SGD keeps its momentum buffer in adam_m */
    void *w16;                /* (total) in dt: the GEMMs' copy of the weights; == params in fp32 */
    void *gscratch;           /* (largest weight) in dt: a weight gradient before widening */
    int32_t *tok, *tgt;       /* (B*T) */
    mpt_tr_layer_acts *layer; /* (L) */
    /* model-level activations (device) */
    float *x_out; /* (N,C) fp32 */
    void *lnf;    /* (N,C) dt */
    float *lnf_mean, *lnf_rstd;
    void *logits;       /* (N,V) dt */
    float *losses;      /* (N) fp32 */
    float *losses_host; /* (N) host copy */
    /* backward scratch (device), reused by every block */
    float *dx;               /* (N,C) fp32 residual-stream gradient */
    void *dx16;              /* (N,C) dt: dx cast for the GEMMs */
    void *d_nc;              /* (N,C) dt */
    void *d_n4c_a, *d_n4c_b; /* (N,4C) dt */
    void *d_n3c;             /* (N,3C) dt */
    void *dq, *dk, *dv, *dy; /* (BH,T,hs) dt */
    void *d_att_a, *d_att_b; /* (BH,T,T) dt */
    void *dlogits;           /* (N,V) dt */
    /* optimizer partials (device and host) */
    float *part, *part_host; /* (2 * MPT_TR_UNSCALE_PARTIALS) */
    unsigned int *count;     /* (1) non-finite counter for checks */
    void *allocs;            /* every device allocation, for mpt_tr_gpt_free (gpt_init.c) */
    mpt_tr_scope scope;
    mpt_tr_finite_check check;
    char err[256];
} mpt_tr_gpt;

/* Allocates everything, initialises the parameters from o->seed (host, then copied). */
int mpt_tr_gpt_init(mpt_tr_gpt *g, const mpt_tr_opts *o, const mpt_tr_config *cfg);
void mpt_tr_gpt_free(mpt_tr_gpt *g);

/* Casts the fp32 masters into the GEMMs' weight copy (a no-op in 32-true). Once per step. */
int mpt_tr_gpt_cast_weights(mpt_tr_gpt *g);
/* Forward over one batch (host arrays of B*T tokens and targets); *loss = mean cross-entropy.
 * inj may be NULL. In the "fwd" range (the caller wraps evaluation in its own range). */
int mpt_tr_gpt_forward(mpt_tr_gpt *g, const int32_t *tok, const int32_t *tgt,
                       const mpt_tr_step_inject *inj, double *loss);
/* Backward of the last forward with the loss multiplied by loss_scale; fills g->grads
 * (scaled). */
int mpt_tr_gpt_backward(mpt_tr_gpt *g, double loss_scale, const mpt_tr_step_inject *inj);
/* Unscales the gradients in place; *grad_norm = global L2 norm of the finite ones (NaN when
 * any is not finite), *nonfinite = how many are Inf/NaN. */
int mpt_tr_gpt_unscale(mpt_tr_gpt *g, double loss_scale, double *grad_norm, long *nonfinite);
/* One AdamW step (t: 1-based count of steps taken) with gradients multiplied by clip.
 * *lost_frac: with bf16 master weights, the fraction of parameters whose update the bf16
 * rounding removed entirely; -1 with fp32 masters. */
int mpt_tr_gpt_adamw(mpt_tr_gpt *g, double lr, double weight_decay, double clip, int t,
                     double *lost_frac);
/* One SGD-with-momentum step (torch.optim.SGD; the momentum buffer is adam_m) with gradients
 * multiplied by clip; *lost_frac as for mpt_tr_gpt_adamw. */
int mpt_tr_gpt_sgd(mpt_tr_gpt *g, double lr, double momentum, double weight_decay, double clip,
                   double *lost_frac);
/* Begins a checked pass: scans the parameters now, then every op's output until the next
 * call (g->check). */
int mpt_tr_gpt_check_begin(mpt_tr_gpt *g);
void mpt_tr_gpt_check_end(mpt_tr_gpt *g);

/* Copies the fp32 parameters / gradients to the host (total floats). */
int mpt_tr_gpt_get_params(mpt_tr_gpt *g, float *host);
int mpt_tr_gpt_set_params(mpt_tr_gpt *g, const float *host);
int mpt_tr_gpt_get_grads(mpt_tr_gpt *g, float *host);

#endif
