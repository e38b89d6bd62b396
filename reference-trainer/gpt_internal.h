/*
 * Shared between gpt.c (buffers, GEMM helpers, optimizer) and gpt_pass.c (forward, backward):
 * not part of the trainer's API.
 */
#ifndef MPT_TR_GPT_INTERNAL_H
#define MPT_TR_GPT_INTERNAL_H

#include "reference-trainer/gpt.h"

struct mpt_tr_layer_acts {
    float *x_in;                /* (N,C) fp32 residual stream entering the block */
    void *ln1;                  /* (N,C) dt */
    float *ln1_mean, *ln1_rstd; /* (N) */
    void *qkv;                  /* (N,3C) dt */
    void *q, *k, *v;            /* (BH,T,hs) dt */
    void *s, *p;                /* (BH,T,T) dt: scores, probabilities */
    void *y;                    /* (BH,T,hs) dt */
    void *atty, *attproj;       /* (N,C) dt */
    float *x_mid;               /* (N,C) fp32 */
    void *ln2;                  /* (N,C) dt */
    float *ln2_mean, *ln2_rstd; /* (N) */
    void *fc, *gelu;            /* (N,4C) dt */
    void *fcproj;               /* (N,C) dt */
};

/* Bytes of one element of dt. */
size_t mpt_tr__dt_size(int dt);
/* Element `off` of the GEMM weight copy. */
void *mpt_tr__w16_at(const mpt_tr_gpt *g, size_t off);

/* Record a failed CUDA runtime / cuBLAS call in g->err; return -1 (0 when rc is success). */
int mpt_tr__ck_cuda(mpt_tr_gpt *g, int rc, const char *what);
int mpt_tr__ck_blas(mpt_tr_gpt *g, int status, const char *what);

/* Row-major linear layers (refops.h's matmul): out (N,OC) = inp (N,IC) w^T, w (OC,IC), all dt. */
int mpt_tr__linear_fwd(mpt_tr_gpt *g, void *out, const void *inp, const void *w, int N, int IC,
                       int OC);
/* The same plus bias (OC, dt) through cublasLtMatmul with CUBLASLT_EPILOGUE_BIAS. */
int mpt_tr__linear_bias_fwd(mpt_tr_gpt *g, void *out, const void *inp, const void *w,
                            const void *bias, int N, int IC, int OC);
/* dinp (N,IC) = dout w; the weight's gradient dout^T inp goes to g->grads + w_off (fp32, via
 * g->gscratch in the 16-bit modes). dinp may be NULL. */
int mpt_tr__linear_bwd(mpt_tr_gpt *g, void *dinp, const void *dout, const void *inp, const void *w,
                       size_t w_off, int N, int IC, int OC);
/* Column-major strided batched product (cuBLAS's own convention), all dt. */
int mpt_tr__gemm_batched(mpt_tr_gpt *g, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const void *A, int lda, long stride_a, const void *B, int ldb,
                         long stride_b, void *C, int ldc, long stride_c, int batch);

/* Called after every op with its output: in a checked pass, scans it for Inf/NaN and records
 * the first op (and the first GEMM) that produced one. */
int mpt_tr__op_done(mpt_tr_gpt *g, const void *out, int dt, long n, int is_gemm);

#endif
