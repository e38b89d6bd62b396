/*
 * The forward and backward passes on the device (contract in gpt.h). Op for op the same
 * sequence as refmodel.c, each op inside its NVTX range so a profiler names every GEMM by its
 * layer: fwd/blk1/attn/qkv, bwd/blk0/mlp/down, ... (docs/nvtx-conventions.md lists them all).
 *
 * Attention per head with row-major (T, hs) matrices Q, K, V (column-major (hs, T) for cuBLAS):
 *   S = scale Q K^T       : gemm(T, N, m=T, n=T, k=hs, A=K, B=Q), i.e. S^T = K Q^T
 *   Y = P V               : gemm(N, N, m=hs, n=T, k=T, A=V, B=P)
 *   dP = dY V^T           : gemm(T, N, m=T, n=T, k=hs, A=V, B=dY)
 *   dV = P^T dY           : gemm(N, T, m=hs, n=T, k=T, A=dY, B=P)
 *   dQ = scale dS K       : gemm(N, N, m=hs, n=T, k=T, A=K, B=dS)
 *   dK = scale dS^T Q     : gemm(N, T, m=hs, n=T, k=T, A=Q, B=dS)
 * each one cublasGemmStridedBatchedEx over the B*H heads.
 */
#include "reference-trainer/gpt_internal.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <string.h>

#include "core/fpformat.h"
#include "reference-trainer/kernels.h"

#define CUDA(call)                                                                                 \
    do {                                                                                           \
        if (mpt_tr__ck_cuda(g, (int)(call), #call)) return -1;                                     \
    } while (0)
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (call) return -1;                                                                       \
    } while (0)
/* a kernel launch, then the output check of a checked pass */
#define KERNEL(call, out, odt, n)                                                                  \
    do {                                                                                           \
        CUDA(call);                                                                                \
        TRY(mpt_tr__op_done(g, (out), (odt), (long)(n), 0));                                       \
    } while (0)
#define PUSH(name) mpt_tr_scope_push(&g->scope, name)
#define POP()      mpt_tr_scope_pop(&g->scope)

static const float *P(const mpt_tr_gpt *g, size_t off)
{
    return off == MPT_TR_ABSENT ? NULL : g->params + off;
}

static float *G(const mpt_tr_gpt *g, size_t off)
{
    return off == MPT_TR_ABSENT ? NULL : g->grads + off;
}

/* The output element a NaN injection at (site, block l) overwrites, or -1: feature 0 of the
 * last position of the first sequence. */
static long nan_index(const mpt_tr_gpt *g, const mpt_tr_step_inject *inj, int l,
                      mpt_tr_nan_site site)
{
    if (!inj || inj->nan_block != l || inj->nan_site != site) return -1;
    long T = g->cfg.T, C = g->cfg.C;
    switch (site) {
    case MPT_TR_SITE_SOFTMAX:
        return (T - 1) * T;
    case MPT_TR_SITE_GELU:
        return (T - 1) * 4 * C;
    default:
        return (T - 1) * C;
    }
}

static float spike(const mpt_tr_step_inject *inj, int l)
{
    return inj && inj->spike_block == l ? inj->spike_factor : 1.0f;
}

static int attention_fwd(mpt_tr_gpt *g, mpt_tr_layer_acts *a, const mpt_tr_block_params *bp,
                         const mpt_tr_step_inject *inj, int l)
{
    const int B = g->cfg.B, T = g->cfg.T, C = g->cfg.C, H = g->cfg.H, hs = C / H, N = B * T;
    const int BH = B * H, dt = g->dt;
    const long THS = (long)T * hs, TT = (long)T * T;
    PUSH("qkv");
    TRY(mpt_tr__linear_fwd(g, a->qkv, a->ln1, mpt_tr__w16_at(g, bp->qkvw), N, C, 3 * C));
    POP();
    PUSH("split");
    KERNEL(mpt_tr_k_rows_to_heads(a->q, a->qkv, dt, B, T, H, hs, 3 * C, 0), a->q, dt, N * C);
    KERNEL(mpt_tr_k_rows_to_heads(a->k, a->qkv, dt, B, T, H, hs, 3 * C, C), a->k, dt, N * C);
    KERNEL(mpt_tr_k_rows_to_heads(a->v, a->qkv, dt, B, T, H, hs, 3 * C, 2 * C), a->v, dt, N * C);
    POP();
    PUSH("scores");
    TRY(mpt_tr__gemm_batched(g, 1, 0, T, T, hs, (float)(1.0 / sqrt((double)hs)), a->k, hs, THS,
                             a->q, hs, THS, a->s, T, TT, BH));
    POP();
    PUSH("softmax");
    KERNEL(mpt_tr_k_softmax_fwd(a->p, a->s, dt, BH, T, nan_index(g, inj, l, MPT_TR_SITE_SOFTMAX)),
           a->p, dt, BH * TT);
    POP();
    PUSH("pv");
    TRY(mpt_tr__gemm_batched(g, 0, 0, hs, T, T, 1.0f, a->v, hs, THS, a->p, T, TT, a->y, hs, THS,
                             BH));
    POP();
    PUSH("merge");
    KERNEL(mpt_tr_k_heads_to_rows(a->atty, a->y, dt, B, T, H, hs, C, 0), a->atty, dt, N * C);
    POP();
    PUSH("proj");
    TRY(mpt_tr__linear_fwd(g, a->attproj, a->atty, mpt_tr__w16_at(g, bp->projw), N, C, C));
    POP();
    PUSH("residual");
    KERNEL(mpt_tr_k_residual_fwd(a->x_mid, a->x_in, a->attproj, dt, (long)N * C), a->x_mid,
           MPT_DT_F32, N * C);
    POP();
    return 0;
}

static int mlp_fwd(mpt_tr_gpt *g, mpt_tr_layer_acts *a, const mpt_tr_block_params *bp,
                   const mpt_tr_step_inject *inj, int l, float *x_out)
{
    const int N = g->cfg.B * g->cfg.T, C = g->cfg.C, dt = g->dt;
    PUSH("up");
    TRY(mpt_tr__linear_bias_fwd(g, a->fc, a->ln2, mpt_tr__w16_at(g, bp->fcw),
                                mpt_tr__w16_at(g, bp->fcb), N, C, 4 * C));
    POP();
    PUSH("gelu");
    KERNEL(mpt_tr_k_gelu_fwd(a->gelu, a->fc, dt, (long)N * 4 * C,
                             nan_index(g, inj, l, MPT_TR_SITE_GELU)),
           a->gelu, dt, (long)N * 4 * C);
    POP();
    PUSH("down");
    TRY(mpt_tr__linear_fwd(g, a->fcproj, a->gelu, mpt_tr__w16_at(g, bp->fcprojw), N, 4 * C, C));
    POP();
    PUSH("residual");
    KERNEL(mpt_tr_k_residual_fwd(x_out, a->x_mid, a->fcproj, dt, (long)N * C), x_out, MPT_DT_F32,
           N * C);
    POP();
    return 0;
}

int mpt_tr_gpt_forward(mpt_tr_gpt *g, const int32_t *tok, const int32_t *tgt,
                       const mpt_tr_step_inject *inj, double *loss)
{
    const mpt_tr_config *c = &g->cfg;
    const mpt_tr_layout *lo = &g->lo;
    const int B = c->B, T = c->T, C = c->C, N = B * T, dt = g->dt;
    CUDA(cudaMemcpy(g->tok, tok, (size_t)N * sizeof *tok, cudaMemcpyHostToDevice));
    CUDA(cudaMemcpy(g->tgt, tgt, (size_t)N * sizeof *tgt, cudaMemcpyHostToDevice));
    PUSH("fwd");
    PUSH("embed");
    KERNEL(mpt_tr_k_embed_fwd(g->layer[0].x_in, g->tok, g->params + lo->wte, g->params + lo->wpe, B,
                              T, C),
           g->layer[0].x_in, MPT_DT_F32, N * C);
    POP();
    for (int l = 0; l < c->L; l++) {
        mpt_tr_layer_acts *a = &g->layer[l];
        const mpt_tr_block_params *bp = &lo->blk[l];
        float *x_out = l + 1 < c->L ? g->layer[l + 1].x_in : g->x_out;
        mpt_tr_scope_pushf(&g->scope, "blk%d", l);
        PUSH("ln1");
        KERNEL(mpt_tr_k_norm_fwd(a->ln1, dt, a->ln1_mean, a->ln1_rstd, a->x_in, P(g, bp->ln1w),
                                 P(g, bp->ln1b), N, C, c->rms, spike(inj, l),
                                 nan_index(g, inj, l, MPT_TR_SITE_LN1)),
               a->ln1, dt, N * C);
        POP();
        PUSH("attn");
        TRY(attention_fwd(g, a, bp, inj, l));
        POP();
        PUSH("ln2");
        KERNEL(mpt_tr_k_norm_fwd(a->ln2, dt, a->ln2_mean, a->ln2_rstd, a->x_mid, P(g, bp->ln2w),
                                 P(g, bp->ln2b), N, C, c->rms, 1.0f,
                                 nan_index(g, inj, l, MPT_TR_SITE_LN2)),
               a->ln2, dt, N * C);
        POP();
        PUSH("mlp");
        TRY(mlp_fwd(g, a, bp, inj, l, x_out));
        POP();
        POP();
    }
    PUSH("lnf");
    KERNEL(mpt_tr_k_norm_fwd(g->lnf, dt, g->lnf_mean, g->lnf_rstd, g->x_out, P(g, lo->lnfw),
                             P(g, lo->lnfb), N, C, c->rms, 1.0f, -1),
           g->lnf, dt, N * C);
    POP();
    PUSH("head");
    TRY(mpt_tr__linear_fwd(g, g->logits, g->lnf, mpt_tr__w16_at(g, lo->lmw), N, C, c->V));
    POP();
    PUSH("loss");
    KERNEL(mpt_tr_k_loss_fwd(g->losses, g->logits, g->tgt, dt, N, c->V), g->losses, MPT_DT_F32, N);
    POP();
    POP();
    CUDA(cudaMemcpy(g->losses_host, g->losses, (size_t)N * sizeof(float), cudaMemcpyDeviceToHost));
    double sum = 0.0;
    for (int i = 0; i < N; i++)
        sum += g->losses_host[i];
    *loss = sum / N;
    return 0;
}

static int attention_bwd(mpt_tr_gpt *g, mpt_tr_layer_acts *a, const mpt_tr_block_params *bp)
{
    const int B = g->cfg.B, T = g->cfg.T, C = g->cfg.C, H = g->cfg.H, hs = C / H, N = B * T;
    const int BH = B * H, dt = g->dt;
    const long THS = (long)T * hs, TT = (long)T * T;
    const float scale = (float)(1.0 / sqrt((double)hs));
    PUSH("residual");
    KERNEL(mpt_tr_k_cast(g->dx16, dt, g->dx, MPT_DT_F32, (long)N * C, 0, 0), g->dx16, dt, N * C);
    POP();
    PUSH("proj");
    TRY(mpt_tr__linear_bwd(g, g->d_nc, g->dx16, a->atty, mpt_tr__w16_at(g, bp->projw), bp->projw, N,
                           C, C));
    POP();
    PUSH("merge");
    KERNEL(mpt_tr_k_rows_to_heads(g->dy, g->d_nc, dt, B, T, H, hs, C, 0), g->dy, dt, N * C);
    POP();
    PUSH("pv");
    TRY(mpt_tr__gemm_batched(g, 1, 0, T, T, hs, 1.0f, a->v, hs, THS, g->dy, hs, THS, g->d_att_a, T,
                             TT, BH));
    TRY(mpt_tr__gemm_batched(g, 0, 1, hs, T, T, 1.0f, g->dy, hs, THS, a->p, T, TT, g->dv, hs, THS,
                             BH));
    POP();
    PUSH("softmax");
    KERNEL(mpt_tr_k_softmax_bwd(g->d_att_b, g->d_att_a, a->p, dt, BH, T), g->d_att_b, dt, BH * TT);
    POP();
    PUSH("scores");
    TRY(mpt_tr__gemm_batched(g, 0, 0, hs, T, T, scale, a->k, hs, THS, g->d_att_b, T, TT, g->dq, hs,
                             THS, BH));
    TRY(mpt_tr__gemm_batched(g, 0, 1, hs, T, T, scale, a->q, hs, THS, g->d_att_b, T, TT, g->dk, hs,
                             THS, BH));
    POP();
    PUSH("split");
    KERNEL(mpt_tr_k_heads_to_rows(g->d_n3c, g->dq, dt, B, T, H, hs, 3 * C, 0), g->d_n3c, dt, 0);
    KERNEL(mpt_tr_k_heads_to_rows(g->d_n3c, g->dk, dt, B, T, H, hs, 3 * C, C), g->d_n3c, dt, 0);
    KERNEL(mpt_tr_k_heads_to_rows(g->d_n3c, g->dv, dt, B, T, H, hs, 3 * C, 2 * C), g->d_n3c, dt,
           (long)N * 3 * C);
    POP();
    PUSH("qkv");
    TRY(mpt_tr__linear_bwd(g, g->d_nc, g->d_n3c, a->ln1, mpt_tr__w16_at(g, bp->qkvw), bp->qkvw, N,
                           C, 3 * C));
    POP();
    return 0;
}

static int mlp_bwd(mpt_tr_gpt *g, mpt_tr_layer_acts *a, const mpt_tr_block_params *bp)
{
    const int N = g->cfg.B * g->cfg.T, C = g->cfg.C, dt = g->dt;
    PUSH("residual");
    KERNEL(mpt_tr_k_cast(g->dx16, dt, g->dx, MPT_DT_F32, (long)N * C, 0, 0), g->dx16, dt, N * C);
    POP();
    PUSH("down");
    TRY(mpt_tr__linear_bwd(g, g->d_n4c_a, g->dx16, a->gelu, mpt_tr__w16_at(g, bp->fcprojw),
                           bp->fcprojw, N, 4 * C, C));
    POP();
    PUSH("gelu");
    KERNEL(mpt_tr_k_gelu_bwd(g->d_n4c_b, g->d_n4c_a, a->fc, dt, (long)N * 4 * C), g->d_n4c_b, dt,
           (long)N * 4 * C);
    POP();
    PUSH("up");
    TRY(mpt_tr__linear_bwd(g, g->d_nc, g->d_n4c_b, a->ln2, mpt_tr__w16_at(g, bp->fcw), bp->fcw, N,
                           C, 4 * C));
    KERNEL(mpt_tr_k_bias_grad(g->grads + bp->fcb, g->d_n4c_b, dt, N, 4 * C), g->grads + bp->fcb,
           MPT_DT_F32, 4 * C);
    POP();
    return 0;
}

int mpt_tr_gpt_backward(mpt_tr_gpt *g, double loss_scale, const mpt_tr_step_inject *inj)
{
    const mpt_tr_config *c = &g->cfg;
    const mpt_tr_layout *lo = &g->lo;
    const int B = c->B, T = c->T, C = c->C, N = B * T, dt = g->dt;
    PUSH("bwd");
    PUSH("loss");
    KERNEL(mpt_tr_k_loss_bwd(g->dlogits, g->logits, g->tgt, dt, N, c->V, (float)(loss_scale / N)),
           g->dlogits, dt, (long)N * c->V);
    POP();
    PUSH("head");
    TRY(mpt_tr__linear_bwd(g, g->d_nc, g->dlogits, g->lnf, mpt_tr__w16_at(g, lo->lmw), lo->lmw, N,
                           C, c->V));
    POP();
    PUSH("lnf");
    CUDA(cudaMemset(g->dx, 0, (size_t)N * C * sizeof(float)));
    KERNEL(mpt_tr_k_norm_bwd(g->dx, G(g, lo->lnfw), G(g, lo->lnfb), g->d_nc, dt, g->x_out,
                             P(g, lo->lnfw), g->lnf_mean, g->lnf_rstd, N, C, c->rms, 1.0f),
           g->dx, MPT_DT_F32, N * C);
    POP();
    for (int l = c->L - 1; l >= 0; l--) {
        mpt_tr_layer_acts *a = &g->layer[l];
        const mpt_tr_block_params *bp = &lo->blk[l];
        mpt_tr_scope_pushf(&g->scope, "blk%d", l);
        PUSH("mlp");
        TRY(mlp_bwd(g, a, bp));
        POP();
        PUSH("ln2");
        KERNEL(mpt_tr_k_norm_bwd(g->dx, G(g, bp->ln2w), G(g, bp->ln2b), g->d_nc, dt, a->x_mid,
                                 P(g, bp->ln2w), a->ln2_mean, a->ln2_rstd, N, C, c->rms, 1.0f),
               g->dx, MPT_DT_F32, N * C);
        POP();
        PUSH("attn");
        TRY(attention_bwd(g, a, bp));
        POP();
        PUSH("ln1");
        KERNEL(mpt_tr_k_norm_bwd(g->dx, G(g, bp->ln1w), G(g, bp->ln1b), g->d_nc, dt, a->x_in,
                                 P(g, bp->ln1w), a->ln1_mean, a->ln1_rstd, N, C, c->rms,
                                 spike(inj, l)),
               g->dx, MPT_DT_F32, N * C);
        POP();
        POP();
    }
    PUSH("embed");
    KERNEL(mpt_tr_k_embed_bwd(g->grads + lo->wte, g->grads + lo->wpe, g->dx, g->tok, B, T, C, c->V),
           g->grads + lo->wte, MPT_DT_F32, (long)(c->V + T) * C);
    POP();
    POP();
    return 0;
}
