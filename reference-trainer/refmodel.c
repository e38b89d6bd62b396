/*
 * The double-precision model: forward and backward composed from refops (contract in
 * refmodel.h). The order of ops mirrors the trainer's device path, op for op.
 */
#include "reference-trainer/refmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference-trainer/refops.h"

/* One allocation per array keeps ASan precise about overruns. */
static double *zalloc(size_t n, int *fail)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    if (!p) *fail = 1;
    return p;
}

int mpt_tr_ref_model_init(mpt_tr_ref_model *m, const mpt_tr_layout *lo)
{
    memset(m, 0, sizeof *m);
    m->lo = lo;
    const mpt_tr_config *c = &lo->cfg;
    size_t N = (size_t)c->B * c->T, C = (size_t)c->C, BH = (size_t)c->B * c->H;
    size_t TT = (size_t)c->T * c->T;
    int fail = 0;
    m->layer = calloc((size_t)c->L, sizeof *m->layer);
    if (!m->layer) return -1;
    for (int l = 0; l < c->L; l++) {
        mpt_tr_ref_layer_acts *a = &m->layer[l];
        a->x_in = zalloc(N * C, &fail);
        a->ln1 = zalloc(N * C, &fail);
        a->ln1_mean = zalloc(N, &fail);
        a->ln1_rstd = zalloc(N, &fail);
        a->qkv = zalloc(N * 3 * C, &fail);
        a->q = zalloc(N * C, &fail);
        a->k = zalloc(N * C, &fail);
        a->v = zalloc(N * C, &fail);
        a->s = zalloc(BH * TT, &fail);
        a->p = zalloc(BH * TT, &fail);
        a->y = zalloc(N * C, &fail);
        a->atty = zalloc(N * C, &fail);
        a->attproj = zalloc(N * C, &fail);
        a->x_mid = zalloc(N * C, &fail);
        a->ln2 = zalloc(N * C, &fail);
        a->ln2_mean = zalloc(N, &fail);
        a->ln2_rstd = zalloc(N, &fail);
        a->fc = zalloc(N * 4 * C, &fail);
        a->gelu = zalloc(N * 4 * C, &fail);
        a->fcproj = zalloc(N * C, &fail);
    }
    m->x_out = zalloc(N * C, &fail);
    m->lnf = zalloc(N * C, &fail);
    m->lnf_mean = zalloc(N, &fail);
    m->lnf_rstd = zalloc(N, &fail);
    m->logits = zalloc(N * (size_t)c->V, &fail);
    /* backward workspace: the largest of the per-op gradients, a few at a time */
    size_t big = N * 4 * C > BH * TT ? N * 4 * C : BH * TT;
    if (N * (size_t)c->V > big) big = N * (size_t)c->V;
    m->scratch = zalloc(8 * big, &fail);
    if (fail) {
        mpt_tr_ref_model_free(m);
        return -1;
    }
    return 0;
}

void mpt_tr_ref_model_free(mpt_tr_ref_model *m)
{
    if (m->layer && m->lo) {
        for (int l = 0; l < m->lo->cfg.L; l++) {
            mpt_tr_ref_layer_acts *a = &m->layer[l];
            double **all[] = {&a->x_in,     &a->ln1,      &a->ln1_mean, &a->ln1_rstd, &a->qkv,
                              &a->q,        &a->k,        &a->v,        &a->s,        &a->p,
                              &a->y,        &a->atty,     &a->attproj,  &a->x_mid,    &a->ln2,
                              &a->ln2_mean, &a->ln2_rstd, &a->fc,       &a->gelu,     &a->fcproj};
            for (size_t i = 0; i < sizeof all / sizeof *all; i++)
                free(*all[i]);
        }
    }
    free(m->layer);
    free(m->x_out);
    free(m->lnf);
    free(m->lnf_mean);
    free(m->lnf_rstd);
    free(m->logits);
    free(m->scratch);
    memset(m, 0, sizeof *m);
}

static const double *P(const double *params, size_t off)
{
    return off == MPT_TR_ABSENT ? NULL : params + off;
}

static double *G(double *grads, size_t off)
{
    return off == MPT_TR_ABSENT ? NULL : grads + off;
}

static void norm_fwd(int rms, double *out, double *mean, double *rstd, const double *inp,
                     const double *w, const double *b, int N, int C)
{
    if (rms)
        mpt_tr_ref_rmsnorm_fwd(out, rstd, inp, w, N, C);
    else
        mpt_tr_ref_layernorm_fwd(out, mean, rstd, inp, w, b, N, C);
}

static void norm_bwd(int rms, double *dinp, double *dw, double *db, const double *dout,
                     const double *inp, const double *w, const double *mean, const double *rstd,
                     int N, int C)
{
    if (rms)
        mpt_tr_ref_rmsnorm_bwd(dinp, dw, dout, inp, w, rstd, N, C);
    else
        mpt_tr_ref_layernorm_bwd(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
}

double mpt_tr_ref_model_forward(mpt_tr_ref_model *m, const double *params, const int32_t *tok,
                                const int32_t *targets)
{
    const mpt_tr_layout *lo = m->lo;
    const mpt_tr_config *c = &lo->cfg;
    const int B = c->B, T = c->T, C = c->C, H = c->H, V = c->V, N = B * T, BH = B * H;
    const int hs = C / H;
    const double scale = 1.0 / sqrt((double)hs);
    mpt_tr_ref_embed_fwd(m->layer[0].x_in, tok, params + lo->wte, params + lo->wpe, B, T, C);
    for (int l = 0; l < c->L; l++) {
        const mpt_tr_block_params *bp = &lo->blk[l];
        mpt_tr_ref_layer_acts *a = &m->layer[l];
        double *x_out = l + 1 < c->L ? m->layer[l + 1].x_in : m->x_out;
        norm_fwd(c->rms, a->ln1, a->ln1_mean, a->ln1_rstd, a->x_in, params + bp->ln1w,
                 P(params, bp->ln1b), N, C);
        mpt_tr_ref_matmul_fwd(a->qkv, a->ln1, params + bp->qkvw, NULL, N, C, 3 * C);
        mpt_tr_ref_split_heads(a->q, a->k, a->v, a->qkv, B, T, C, H);
        mpt_tr_ref_scores_fwd(a->s, a->q, a->k, scale, BH, T, hs);
        mpt_tr_ref_softmax_causal_fwd(a->p, a->s, BH, T);
        mpt_tr_ref_pv_fwd(a->y, a->p, a->v, BH, T, hs);
        mpt_tr_ref_merge_heads(a->atty, a->y, B, T, C, H);
        mpt_tr_ref_matmul_fwd(a->attproj, a->atty, params + bp->projw, NULL, N, C, C);
        mpt_tr_ref_residual_fwd(a->x_mid, a->x_in, a->attproj, N * C);
        norm_fwd(c->rms, a->ln2, a->ln2_mean, a->ln2_rstd, a->x_mid, params + bp->ln2w,
                 P(params, bp->ln2b), N, C);
        mpt_tr_ref_matmul_fwd(a->fc, a->ln2, params + bp->fcw, params + bp->fcb, N, C, 4 * C);
        mpt_tr_ref_gelu_fwd(a->gelu, a->fc, N * 4 * C);
        mpt_tr_ref_matmul_fwd(a->fcproj, a->gelu, params + bp->fcprojw, NULL, N, 4 * C, C);
        mpt_tr_ref_residual_fwd(x_out, a->x_mid, a->fcproj, N * C);
    }
    norm_fwd(c->rms, m->lnf, m->lnf_mean, m->lnf_rstd, m->x_out, params + lo->lnfw,
             P(params, lo->lnfb), N, C);
    mpt_tr_ref_matmul_fwd(m->logits, m->lnf, params + lo->lmw, NULL, N, C, V);
    m->loss = mpt_tr_ref_crossentropy_fwd(m->logits, targets, N, V);
    return m->loss;
}

void mpt_tr_ref_model_backward(mpt_tr_ref_model *m, const double *params, const int32_t *tok,
                               const int32_t *targets, double *grads)
{
    const mpt_tr_layout *lo = m->lo;
    const mpt_tr_config *c = &lo->cfg;
    const int B = c->B, T = c->T, C = c->C, H = c->H, V = c->V, N = B * T, BH = B * H;
    const int hs = C / H;
    const double scale = 1.0 / sqrt((double)hs);
    size_t NC = (size_t)N * C, big = NC * 4;
    if ((size_t)BH * T * T > big) big = (size_t)BH * T * T;
    if ((size_t)N * V > big) big = (size_t)N * V;
    /* workspace: dx (the residual stream's gradient) and seven op-sized slots */
    double *dx = m->scratch, *w1 = dx + big, *w2 = w1 + big, *w3 = w2 + big, *w4 = w3 + big;
    double *w5 = w4 + big, *w6 = w5 + big, *w7 = w6 + big;
    memset(grads, 0, lo->total * sizeof *grads);
    memset(m->scratch, 0, 8 * big * sizeof *m->scratch);

    mpt_tr_ref_crossentropy_bwd(w1, m->logits, targets, 1.0, N, V);
    mpt_tr_ref_matmul_bwd(w2, grads + lo->lmw, NULL, w1, m->lnf, params + lo->lmw, N, C, V);
    norm_bwd(c->rms, dx, grads + lo->lnfw, G(grads, lo->lnfb), w2, m->x_out, params + lo->lnfw,
             m->lnf_mean, m->lnf_rstd, N, C);
    for (int l = c->L - 1; l >= 0; l--) {
        const mpt_tr_block_params *bp = &lo->blk[l];
        mpt_tr_ref_layer_acts *a = &m->layer[l];
        /* x_out = x_mid + fcproj: dx flows on unchanged to x_mid and into the MLP */
        memset(w1, 0, 7 * big * sizeof *w1); /* the slots w1..w7 are contiguous */
        mpt_tr_ref_matmul_bwd(w1, grads + bp->fcprojw, NULL, dx, a->gelu, params + bp->fcprojw, N,
                              4 * C, C);
        mpt_tr_ref_gelu_bwd(w2, w1, a->fc, N * 4 * C);
        mpt_tr_ref_matmul_bwd(w3, grads + bp->fcw, grads + bp->fcb, w2, a->ln2, params + bp->fcw, N,
                              C, 4 * C);
        norm_bwd(c->rms, dx, grads + bp->ln2w, G(grads, bp->ln2b), w3, a->x_mid, params + bp->ln2w,
                 a->ln2_mean, a->ln2_rstd, N, C);
        /* x_mid = x_in + attproj */
        memset(w1, 0, 7 * big * sizeof *w1);
        mpt_tr_ref_matmul_bwd(w1, grads + bp->projw, NULL, dx, a->atty, params + bp->projw, N, C,
                              C);
        mpt_tr_ref_merge_heads_bwd(w2, w1, B, T, C, H);       /* w2 = dy */
        mpt_tr_ref_pv_bwd(w3, w4, w2, a->p, a->v, BH, T, hs); /* w3 = dp, w4 = dv */
        mpt_tr_ref_softmax_causal_bwd(w5, w3, a->p, BH, T);   /* w5 = ds */
        memset(w1, 0, big * sizeof *w1);
        memset(w2, 0, big * sizeof *w2);
        mpt_tr_ref_scores_bwd(w1, w2, w5, a->q, a->k, scale, BH, T, hs); /* dq, dk */
        mpt_tr_ref_split_heads_bwd(w6, w1, w2, w4, B, T, C, H);          /* w6 = dqkv */
        mpt_tr_ref_matmul_bwd(w7, grads + bp->qkvw, NULL, w6, a->ln1, params + bp->qkvw, N, C,
                              3 * C);
        norm_bwd(c->rms, dx, grads + bp->ln1w, G(grads, bp->ln1b), w7, a->x_in, params + bp->ln1w,
                 a->ln1_mean, a->ln1_rstd, N, C);
    }
    mpt_tr_ref_embed_bwd(grads + lo->wte, grads + lo->wpe, dx, tok, B, T, C);
}
