/*
 * Learning-rate schedule, loss scaler, clipping coefficient, AdamW and SGD references (contract
 * in optim.h).
 */
#include "reference-trainer/optim.h"

#include <math.h>

double mpt_tr_lr_at(int step, int steps, int warmup, double lr, double min_lr_frac)
{
    if (step < warmup) return lr * (step + 1) / warmup;
    double min_lr = lr * min_lr_frac;
    int span = steps - 1 - warmup;
    if (span <= 0) return lr;
    double progress = (double)(step - warmup) / span;
    if (progress > 1.0) progress = 1.0;
    return min_lr + 0.5 * (1.0 + cos(M_PI * progress)) * (lr - min_lr);
}

void mpt_tr_scaler_init(mpt_tr_scaler *s, int enabled, double init_scale, int window)
{
    s->enabled = enabled;
    s->scale = enabled ? init_scale : 1.0;
    s->window = window;
    s->clean = 0;
    s->growth = 2.0;
    s->backoff = 0.5;
}

int mpt_tr_scaler_update(mpt_tr_scaler *s, int found_nonfinite)
{
    if (!s->enabled) return 0;
    if (found_nonfinite) {
        s->scale *= s->backoff;
        s->clean = 0;
        return 1;
    }
    if (++s->clean == s->window) {
        s->scale *= s->growth;
        s->clean = 0;
    }
    return 0;
}

double mpt_tr_clip_coef(double grad_norm, double max_norm)
{
    if (max_norm <= 0.0) return 1.0;
    double coef = max_norm / (grad_norm + 1e-6);
    if (coef > 1.0) /* false for NaN: a NaN norm poisons the update, as in PyTorch */
        coef = 1.0;
    return coef;
}

void mpt_tr_adamw_ref(double *p, double *m, double *v, double g, double lr, double beta1,
                      double beta2, double eps, double weight_decay, int t)
{
    *p -= lr * weight_decay * *p;
    *m = beta1 * *m + (1.0 - beta1) * g;
    *v = beta2 * *v + (1.0 - beta2) * g * g;
    double mhat = *m / (1.0 - pow(beta1, t));
    double vhat = *v / (1.0 - pow(beta2, t));
    *p -= lr * mhat / (sqrt(vhat) + eps);
}

void mpt_tr_sgd_ref(double *p, double *buf, double g, double lr, double momentum,
                    double weight_decay)
{
    double d = g + weight_decay * *p;
    *buf = momentum * *buf + d;
    *p -= lr * *buf;
}
