/*
 * The model's shape and its parameters: where every tensor lives in the one flat parameter
 * buffer (the optimizer, the gradient norm and the casts treat it as one array), how each is
 * initialised from the seed, and which are weight-decayed.
 *
 * The model: token + position embeddings; per block: norm1 -> QKV projection (no bias) ->
 * causal multi-head attention -> output projection (no bias) -> residual; norm2 -> MLP up
 * (with bias: the cublasLt bias epilogue) -> GELU (tanh) -> down (no bias) -> residual; final
 * norm; LM head (untied, no bias). Norm is LayerNorm (weight, bias) or RMSNorm (weight).
 * Linear weights are stored (out, in) row-major as PyTorch stores them.
 */
#ifndef MPT_TR_MODEL_H
#define MPT_TR_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct mpt_tr_config {
    int V;   /* vocabulary (padded) */
    int L;   /* blocks */
    int C;   /* model width */
    int H;   /* heads; C % H == 0 */
    int T;   /* sequence length (positions) */
    int B;   /* sequences per batch */
    int rms; /* 1: RMSNorm, 0: LayerNorm */
} mpt_tr_config;

/* Offsets (in elements) of one block's tensors; MPT_TR_ABSENT for LayerNorm-only biases under
 * RMSNorm. Shapes in comments. */
typedef struct mpt_tr_block_params {
    size_t ln1w, ln1b; /* (C) */
    size_t qkvw;       /* (3C, C): rows [0,C) make Q, [C,2C) K, [2C,3C) V */
    size_t projw;      /* (C, C) */
    size_t ln2w, ln2b; /* (C) */
    size_t fcw;        /* (4C, C) */
    size_t fcb;        /* (4C) */
    size_t fcprojw;    /* (C, 4C) */
} mpt_tr_block_params;

#define MPT_TR_ABSENT      ((size_t)-1)
#define MPT_TR_MAX_TENSORS (5 + 9 * 256)

typedef struct mpt_tr_tensor {
    char name[24];    /* "blk3.qkvw" */
    size_t offset;    /* elements from the start of the buffer */
    int rows, cols;   /* a vector is (1, n) */
    int decay;        /* AdamW weight decay applies (matrices and embeddings) */
    float init_std;   /* normal(0, std) when > 0 ... */
    float init_const; /* ... else this constant (1 for norm weights, 0 for biases) */
} mpt_tr_tensor;

typedef struct mpt_tr_layout {
    mpt_tr_config cfg;
    size_t wte;               /* (V, C) */
    size_t wpe;               /* (T, C) */
    size_t lnfw, lnfb;        /* (C) */
    size_t lmw;               /* (V, C) */
    mpt_tr_block_params *blk; /* (L), owned */
    mpt_tr_tensor *tensors;   /* (n_tensors), owned, in buffer order */
    int n_tensors;
    size_t total; /* elements in the buffer */
} mpt_tr_layout;

/* Builds the layout; 0, or -1 on allocation failure. */
int mpt_tr_layout_init(mpt_tr_layout *lo, const mpt_tr_config *cfg);
void mpt_tr_layout_free(mpt_tr_layout *lo);

/* Writes the initial parameters (total floats) from `seed`: deterministic, tensor by tensor in
 * buffer order. Projections into the residual stream (projw, fcprojw) get std 0.02/sqrt(2L) as
 * in GPT-2; other matrices and the embeddings 0.02. */
void mpt_tr_params_init(const mpt_tr_layout *lo, uint64_t seed, float *params);

#endif
