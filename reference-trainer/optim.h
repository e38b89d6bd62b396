/*
 * The host side of the optimiser: the learning-rate schedule, the dynamic loss scaler and the
 * gradient-clipping coefficient. Scalars only; the per-element AdamW and SGD updates are
 * kernels (kernels.cu), checked against mpt_tr_adamw_ref and mpt_tr_sgd_ref here.
 *
 * Semantics follow PyTorch, so the ground truth matches what users meet:
 *  - schedule: nanoGPT's, linear warmup lr*(s+1)/warmup, then cosine from lr to
 *    lr*min_lr_frac at the last step;
 *  - scaler: torch.amp.GradScaler: scale starts at init_scale; a step whose unscaled gradients
 *    hold any Inf/NaN is skipped and the scale multiplied by 0.5 (growth counter reset); after
 *    `window` consecutive clean steps the scale doubles;
 *  - clipping: torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6) clamped to
 *    at most 1 (a NaN norm gives a NaN coefficient, as torch.clamp keeps NaN);
 *  - AdamW: torch.optim.AdamW: decoupled decay p -= lr*wd*p, bias-corrected moments;
 *  - SGD: torch.optim.SGD with momentum: the update is proportional to the gradient, so
 *    gradients lost to fp16 underflow are lost to the update (AdamW renormalises them).
 */
#ifndef MPT_TR_OPTIM_H
#define MPT_TR_OPTIM_H

/* Learning rate at 0-based step `step` of `steps`. */
double mpt_tr_lr_at(int step, int steps, int warmup, double lr, double min_lr_frac);

typedef struct mpt_tr_scaler {
    int enabled;    /* 0: scale stays 1 and nothing is ever skipped (bf16, fp32, no scaler) */
    double scale;   /* current loss scale */
    int window;     /* clean steps before growth */
    int clean;      /* consecutive clean steps so far */
    double growth;  /* 2.0 */
    double backoff; /* 0.5 */
} mpt_tr_scaler;

void mpt_tr_scaler_init(mpt_tr_scaler *s, int enabled, double init_scale, int window);
/* Called once per step after the gradients were unscaled and checked. Returns 1 when the
 * optimizer step must be skipped (enabled and found_nonfinite), then updates the scale. */
int mpt_tr_scaler_update(mpt_tr_scaler *s, int found_nonfinite);

/* The factor the gradients are multiplied by before the update; 1 when max_norm is 0. */
double mpt_tr_clip_coef(double grad_norm, double max_norm);

/* One AdamW element update in double: the reference for the kernel. t is the 1-based count
 * of optimizer steps taken (skipped steps do not count, as in PyTorch). */
void mpt_tr_adamw_ref(double *p, double *m, double *v, double g, double lr, double beta1,
                      double beta2, double eps, double weight_decay, int t);

/* One SGD-with-momentum element update in double (torch.optim.SGD, dampening 0, no Nesterov,
 * weight decay added to the gradient): the reference for the kernel. *buf starts at 0. */
void mpt_tr_sgd_ref(double *p, double *buf, double g, double lr, double momentum,
                    double weight_decay);

#define MPT_TR_ADAM_BETA1 0.9
#define MPT_TR_ADAM_BETA2 0.95
#define MPT_TR_ADAM_EPS   1e-8

#endif
