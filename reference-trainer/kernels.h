/*
 * The trainer's non-GEMM kernels, one source for both compilers (sim/mpt_kernel.h): nvcc
 * builds reference-trainer/kernels.cu for the GPU (`make gpu`), gcc builds the same file as C
 * that simcuda's cudaLaunchKernel runs. Each mpt_tr_k_* function launches one kernel on the
 * default stream through cudaLaunchKernel and returns its cudaError_t (0 = cudaSuccess); the
 * launch is asynchronous, as on a GPU.
 *
 * Element types are mpt_dtype values (MPT_DT_F32, MPT_DT_F16, MPT_DT_BF16): "dt" arguments
 * name the type of the 16-bit-or-fp32 activation arrays; arrays documented as fp32 are float.
 * Every kernel computes in fp32 (as autocast keeps norms, softmax and the loss) and rounds once
 * when it stores a narrower type. Shapes follow reference-trainer/refops.h, whose double
 * functions are each kernel's reference (tests/unit/test_trainer_kernels.c).
 *
 * `nan_index` (forward kernels that a NaN injection can hit): -1, or the element of the output
 * overwritten with a quiet NaN after it is computed. `out_scale`: the outlier multiplier of a
 * spike injection (1 otherwise).
 */
#ifndef MPT_TR_KERNELS_H
#define MPT_TR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dst[i] = (dst type) src[i] for n elements; round_bf16 additionally rounds through bf16
 * (fp32 containers holding bf16 master weights). accumulate: dst += src (fp32 dst only). */
int mpt_tr_k_cast(void *dst, int dst_dt, const void *src, int src_dt, long n, int round_bf16,
                  int accumulate);

/* x (B,T,C) fp32 = wte[tok] + wpe[t]; wte (V,C), wpe (T,C) fp32. */
int mpt_tr_k_embed_fwd(float *x, const int32_t *tok, const float *wte, const float *wpe, int B,
                       int T, int C);
/* dwte (V,C) = sum over positions holding token v of dx; dwpe (T,C) = sum over the batch.
 * Both written, not accumulated; dx fp32. */
int mpt_tr_k_embed_bwd(float *dwte, float *dwpe, const float *dx, const int32_t *tok, int B, int T,
                       int C, int V);

/* out (N,C) in dt = norm(inp) * w (+ b) scaled by out_scale; mean, rstd (N) fp32 (mean unused
 * for RMSNorm); inp, w, b fp32; b may be NULL. */
int mpt_tr_k_norm_fwd(void *out, int dt, float *mean, float *rstd, const float *inp, const float *w,
                      const float *b, int N, int C, int rms, float out_scale, long nan_index);
/* dinp (N,C) fp32 += d norm / d inp applied to dout (dt); dw, db (C) fp32 written (db may be
 * NULL); out_scale as given to the forward (the gradient of what was computed). */
int mpt_tr_k_norm_bwd(float *dinp, float *dw, float *db, const void *dout, int dt, const float *inp,
                      const float *w, const float *mean, const float *rstd, int N, int C, int rms,
                      float out_scale);

/* Head layout changes, same dt on both sides. rows: (B,T) rows of `width` elements; the head
 * tensor (B,H,T,hs) takes columns [col0, col0 + H*hs) of each row. */
int mpt_tr_k_rows_to_heads(void *heads, const void *rows, int dt, int B, int T, int H, int hs,
                           int width, int col0);
int mpt_tr_k_heads_to_rows(void *rows, const void *heads, int dt, int B, int T, int H, int hs,
                           int width, int col0);

/* p (BH*T rows of T) = causal softmax of s, both dt. */
int mpt_tr_k_softmax_fwd(void *p, const void *s, int dt, int BH, int T, long nan_index);
/* ds = p * (dp - sum(p * dp)) per row, all dt. */
int mpt_tr_k_softmax_bwd(void *ds, const void *dp, const void *p, int dt, int BH, int T);

/* out (n) fp32 = a (fp32) + b (dt). */
int mpt_tr_k_residual_fwd(float *out, const float *a, const void *b, int dt, long n);

/* GELU (tanh) in dt; backward: dinp = dout * gelu'(inp). */
int mpt_tr_k_gelu_fwd(void *out, const void *inp, int dt, long n, long nan_index);
int mpt_tr_k_gelu_bwd(void *dinp, const void *dout, const void *inp, int dt, long n);

/* db (OC) fp32 = column sums of dout (N,OC) in dt. */
int mpt_tr_k_bias_grad(float *db, const void *dout, int dt, int N, int OC);

/* losses (N) fp32 = -log softmax(logits)[target]; logits (N,V) dt. */
int mpt_tr_k_loss_fwd(float *losses, const void *logits, const int32_t *targets, int dt, int N,
                      int V);
/* dlogits (N,V) dt = dscale * (softmax(logits) - onehot(target)); dscale = loss_scale / N. */
int mpt_tr_k_loss_bwd(void *dlogits, const void *logits, const int32_t *targets, int dt, int N,
                      int V, float dscale);

/* Number of partial sums mpt_tr_k_unscale writes: its grid's thread count. */
#define MPT_TR_UNSCALE_PARTIALS (64 * 256)
/* grads (n) fp32 *= inv_scale; sumsq[i], nonfinite[i] (MPT_TR_UNSCALE_PARTIALS fp32 each) =
 * thread i's sum of squares of the unscaled gradients and its count of Inf/NaN among them. */
int mpt_tr_k_unscale(float *grads, long n, float inv_scale, float *sumsq, float *nonfinite);

/* AdamW on n elements (see optim.h): g = grads * clip; bc1 = 1 - beta1^t, bc2 = 1 - beta2^t.
 * round_bf16: the updated parameter is rounded to bf16 (bf16 master weights), and *lost
 * (uint32, when not NULL) grows by the number of updates the rounding removed entirely. */
int mpt_tr_k_adamw(float *params, float *m, float *v, const float *grads, long n, float lr,
                   float beta1, float beta2, float bc1, float bc2, float eps, float wd, float clip,
                   int round_bf16, unsigned int *lost);

/* SGD with momentum on n elements (see optim.h): buf (n) is the momentum buffer, zero before
 * the first step; round_bf16 and *lost as for mpt_tr_k_adamw. */
int mpt_tr_k_sgd(float *params, float *buf, const float *grads, long n, float lr, float momentum,
                 float wd, float clip, int round_bf16, unsigned int *lost);

/* *count (uint32, zeroed by the caller) += number of Inf/NaN elements among x (n, dt). */
int mpt_tr_k_count_nonfinite(unsigned int *count, const void *x, int dt, long n);

#ifdef __cplusplus
}
#endif

#endif
