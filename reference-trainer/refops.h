/*
 * The slow, obviously-correct double-precision reference of every op of the model, forward
 * and backward. It is the oracle twice over: its backward is checked against finite
 * differences (tests/unit/test_trainer_gradcheck.c), and the trainer's kernels and cuBLAS
 * calls are checked against it (tests/unit/test_trainer_kernels.c).
 *
 * Conventions: row-major arrays, shapes in the comments; N = rows (B*T tokens). Backward
 * functions ADD into their gradient outputs (a tensor used twice accumulates), so callers zero
 * them first. Attention tensors are per head: (B, H, T, hs).
 */
#ifndef MPT_TR_REFOPS_H
#define MPT_TR_REFOPS_H

#include <stdint.h>

/* out (B,T,C) = wte[tok] + wpe[t] */
void mpt_tr_ref_embed_fwd(double *out, const int32_t *tok, const double *wte, const double *wpe,
                          int B, int T, int C);
void mpt_tr_ref_embed_bwd(double *dwte, double *dwpe, const double *dout, const int32_t *tok, int B,
                          int T, int C);

/* LayerNorm over the last dim, eps 1e-5: out = (x - mean) * rstd * w + b; mean, rstd (N). */
void mpt_tr_ref_layernorm_fwd(double *out, double *mean, double *rstd, const double *inp,
                              const double *w, const double *b, int N, int C);
void mpt_tr_ref_layernorm_bwd(double *dinp, double *dw, double *db, const double *dout,
                              const double *inp, const double *w, const double *mean,
                              const double *rstd, int N, int C);

/* RMSNorm, eps 1e-5: out = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps); rstd (N). */
void mpt_tr_ref_rmsnorm_fwd(double *out, double *rstd, const double *inp, const double *w, int N,
                            int C);
void mpt_tr_ref_rmsnorm_bwd(double *dinp, double *dw, const double *dout, const double *inp,
                            const double *w, const double *rstd, int N, int C);

/* Linear: out (N,OC) = inp (N,IC) w^T + bias; w (OC,IC); bias (OC) or NULL. */
void mpt_tr_ref_matmul_fwd(double *out, const double *inp, const double *w, const double *bias,
                           int N, int IC, int OC);
/* dbias may be NULL (no bias). */
void mpt_tr_ref_matmul_bwd(double *dinp, double *dw, double *dbias, const double *dout,
                           const double *inp, const double *w, int N, int IC, int OC);

/* qkv (B,T,3C) -> q, k, v (B,H,T,hs) and back. */
void mpt_tr_ref_split_heads(double *q, double *k, double *v, const double *qkv, int B, int T, int C,
                            int H);
void mpt_tr_ref_split_heads_bwd(double *dqkv, const double *dq, const double *dk, const double *dv,
                                int B, int T, int C, int H);
/* y (B,H,T,hs) -> out (B,T,C) and back. */
void mpt_tr_ref_merge_heads(double *out, const double *y, int B, int T, int C, int H);
void mpt_tr_ref_merge_heads_bwd(double *dy, const double *dout, int B, int T, int C, int H);

/* s (BH,T,T) = scale * q k^T per head (every entry; the causal mask is softmax's). */
void mpt_tr_ref_scores_fwd(double *s, const double *q, const double *k, double scale, int BH, int T,
                           int hs);
void mpt_tr_ref_scores_bwd(double *dq, double *dk, const double *ds, const double *q,
                           const double *k, double scale, int BH, int T, int hs);

/* Causal softmax over each row of s (BH*T rows of T): p[t][j] = softmax over j <= t, 0 for
 * j > t. */
void mpt_tr_ref_softmax_causal_fwd(double *p, const double *s, int BH, int T);
void mpt_tr_ref_softmax_causal_bwd(double *ds, const double *dp, const double *p, int BH, int T);

/* y (BH,T,hs) = p (BH,T,T) v (BH,T,hs). */
void mpt_tr_ref_pv_fwd(double *y, const double *p, const double *v, int BH, int T, int hs);
void mpt_tr_ref_pv_bwd(double *dp, double *dv, const double *dy, const double *p, const double *v,
                       int BH, int T, int hs);

/* GELU, tanh approximation (GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
double mpt_tr_ref_gelu(double x);
double mpt_tr_ref_gelu_grad(double x);
void mpt_tr_ref_gelu_fwd(double *out, const double *inp, int n);
void mpt_tr_ref_gelu_bwd(double *dinp, const double *dout, const double *inp, int n);

/* out = a + b; backward adds dout to both. */
void mpt_tr_ref_residual_fwd(double *out, const double *a, const double *b, int n);
void mpt_tr_ref_residual_bwd(double *da, double *db, const double *dout, int n);

/* Mean cross-entropy of logits (N,V) against targets (N); returns the loss. */
double mpt_tr_ref_crossentropy_fwd(const double *logits, const int32_t *targets, int N, int V);
/* dlogits (N,V) += dloss * (softmax(logits) - onehot(target)) / N. */
void mpt_tr_ref_crossentropy_bwd(double *dlogits, const double *logits, const int32_t *targets,
                                 double dloss, int N, int V);

#endif
