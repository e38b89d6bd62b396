/*
 * The reference trainer's command line: every flag, the presets, and the checks that turn an
 * impossible configuration into a clear message before anything is allocated.
 *
 * Contract: mpt_tr_opts_parse never prints and never exits. It returns MPT_TR_OPTS_OK,
 * MPT_TR_OPTS_HELP (the caller prints mpt_tr_opts_usage and exits 0) or MPT_TR_OPTS_ERROR with
 * a one-line message in `err` (the caller prints it and exits 2). Checks that need the data
 * (seq against the corpus size) are done by mpt_tr_opts_check_data once the corpus is loaded.
 * Every flag is documented in docs/reference-trainer.md and in mpt_tr_opts_usage.
 */
#ifndef MPT_TR_OPTIONS_H
#define MPT_TR_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef enum mpt_tr_precision {
    MPT_TR_32_TRUE = 0, /* fp32 everywhere (TF32 GEMM inputs with --tf32) */
    MPT_TR_16_MIXED,    /* fp16 GEMM operands, fp32 compute, dynamic loss scaling */
    MPT_TR_BF16_MIXED   /* bf16 GEMM operands, fp32 compute, no scaler */
} mpt_tr_precision;

typedef enum mpt_tr_norm { MPT_TR_LAYERNORM = 0, MPT_TR_RMSNORM } mpt_tr_norm;

typedef enum mpt_tr_inject_kind {
    MPT_TR_INJECT_SPIKE = 0, /* an outlier batch: one block's attention input scaled */
    MPT_TR_INJECT_NAN        /* one NaN written into a layer's activation by a kernel */
} mpt_tr_inject_kind;

/* Where a NaN injection writes (the kernel whose output gets the NaN). */
typedef enum mpt_tr_nan_site {
    MPT_TR_SITE_LN1 = 0, /* blkN/ln1: the attention's input norm */
    MPT_TR_SITE_SOFTMAX, /* blkN/attn/softmax: an attention probability */
    MPT_TR_SITE_LN2,     /* blkN/ln2 */
    MPT_TR_SITE_GELU,    /* blkN/mlp/gelu (the default when LAYER is a bare block index) */
    MPT_TR_SITE_COUNT
} mpt_tr_nan_site;

typedef struct mpt_tr_inject {
    mpt_tr_inject_kind kind;
    int step;             /* 0-based training step at which it happens */
    double factor;        /* spike: the scale of the outlier activations */
    int block;            /* the block it hits */
    mpt_tr_nan_site site; /* nan only */
} mpt_tr_inject;

#define MPT_TR_MAX_INJECT 16

typedef struct mpt_tr_opts {
    /* model */
    int layers, dim, heads, seq, batch; /* seq: tokens per sequence; batch: sequences per step */
    mpt_tr_norm norm;
    /* schedule */
    int steps;          /* optimizer steps to run */
    int warmup;         /* linear warmup steps, then cosine decay; -1 (default): steps / 10 */
    double lr;          /* peak learning rate */
    double min_lr_frac; /* the cosine ends at lr * min_lr_frac */
    double weight_decay;
    double max_grad_norm; /* 0 = no clipping */
    int optimizer_sgd;    /* 0: AdamW (default); 1: SGD with momentum (torch.optim.SGD) */
    double momentum;      /* SGD's momentum (0.9) */
    /* precision */
    mpt_tr_precision precision;
    int tf32;             /* 32-true only: TF32 GEMM inputs (CUBLAS_COMPUTE_32F_FAST_TF32) */
    int gemm_compute_16f; /* 16-mixed only: fp16 accumulation (CUBLAS_COMPUTE_16F) */
    int loss_scale;       /* 16-mixed: dynamic loss scaling on (the default) */
    double init_scale;    /* 2^16 */
    int scale_window;     /* clean steps before the scale doubles (2000) */
    int master_bf16;      /* master weights kept in bf16 instead of fp32 */
    /* failure modes */
    mpt_tr_inject inject[MPT_TR_MAX_INJECT];
    int n_inject;
    int check_finite; /* scan every op's output for Inf/NaN at every step */
    int self_check;   /* verify kernels and GEMMs against the double reference, exit */
    /* data */
    const char *data_path; /* NULL: the synthetic language */
    unsigned long long data_seed;
    size_t corpus_bytes;      /* size of the synthetic corpus */
    double val_frac;          /* held-out fraction (the end of the corpus) */
    const char *write_corpus; /* write the corpus to this file and exit */
    /* run */
    unsigned long long seed; /* weights and batch order */
    int eval_every;          /* 0: only after the last step */
    int eval_batches;
    int print_every;      /* 0: quiet */
    const char *log_path; /* ground-truth JSON lines, NULL: none */
    const char *preset;   /* the preset the sizes came from */
} mpt_tr_opts;

typedef enum mpt_tr_opts_status {
    MPT_TR_OPTS_OK = 0,
    MPT_TR_OPTS_HELP,
    MPT_TR_OPTS_ERROR
} mpt_tr_opts_status;

/* Fills the tiny defaults. */
void mpt_tr_opts_default(mpt_tr_opts *o);
/* Parses argv[1..argc-1] over the defaults (a --preset is applied first wherever it appears,
 * so explicit sizes override it). Strings in *o point into argv. */
mpt_tr_opts_status mpt_tr_opts_parse(mpt_tr_opts *o, int argc, char **argv, char *err,
                                     size_t errlen);
/* The checks that need the corpus: seq + 1 tokens must fit in both splits. 0 or -1 + err. */
int mpt_tr_opts_check_data(const mpt_tr_opts *o, size_t train_tokens, size_t val_tokens, char *err,
                           size_t errlen);
void mpt_tr_opts_usage(FILE *f, const char *prog);

const char *mpt_tr_precision_name(mpt_tr_precision p);
/* "blk1/mlp/gelu" etc. for a NaN injection site of block `block`. */
void mpt_tr_site_path(mpt_tr_nan_site site, int block, char *buf, size_t len);
/* Parses one --inject argument; 0 or -1 + err. Block bounds are checked later, in parse. */
int mpt_tr_inject_parse(const char *arg, mpt_tr_inject *out, char *err, size_t errlen);

#endif
