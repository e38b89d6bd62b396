/*
 * Self-check, second half (selfcheck.h): the optimizer kernels against optim.c's double
 * reference, and the whole device model (every cuBLAS / cuBLASLt call and kernel composed)
 * against refmodel.c, in each precision mode.
 *
 * Model tolerances, by what each mode rounds: 32-true agrees with double to fp32 rounding
 * (loss 1e-5 relative, each gradient tensor within 1e-4 of its largest element); the 16-bit
 * modes round every GEMM operand and output, so the loss must agree to a few of their epsilons
 * and every gradient tensor must point the same way (cosine similarity), which is what training
 * needs; TF32 and fp16 accumulation sit in between.
 */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fpformat.h"
#include "reference-trainer/gpt.h"
#include "reference-trainer/kernels.h"
#include "reference-trainer/optim.h"
#include "reference-trainer/refmodel.h"
#include "reference-trainer/rng.h"
#include "reference-trainer/selfcheck.h"

static void report(FILE *out, int *run, int *failed, int ok, const char *name, const char *detail)
{
    (*run)++;
    *failed += !ok;
    fprintf(out, "%-4s %-36s %s\n", ok ? "ok" : "FAIL", name, detail);
}

void mpt_tr_self_check_optim(FILE *out, int *run, int *failed)
{
    enum { NE = 3000 };
    mpt_tr_rng r;
    mpt_tr_rng_seed(&r, 77, 1);
    float g[NE], p[NE], part[2 * MPT_TR_UNSCALE_PARTIALS];
    for (int i = 0; i < NE; i++) {
        g[i] = (float)(1024.0 * (2.0 * mpt_tr_rng_uniform(&r) - 1.0));
        p[i] = (float)(0.02 * (2.0 * mpt_tr_rng_uniform(&r) - 1.0));
    }
    g[17] = INFINITY;
    g[2000] = NAN;
    float *gd, *pd, *md, *vd, *partd;
    cudaMalloc((void **)&gd, sizeof g);
    cudaMalloc((void **)&pd, sizeof p);
    cudaMalloc((void **)&md, sizeof p);
    cudaMalloc((void **)&vd, sizeof p);
    cudaMalloc((void **)&partd, sizeof part);
    cudaMemcpy(gd, g, sizeof g, cudaMemcpyHostToDevice);
    mpt_tr_k_unscale(gd, NE, 1.0f / 1024.0f, partd, partd + MPT_TR_UNSCALE_PARTIALS);
    cudaMemcpy(part, partd, sizeof part, cudaMemcpyDeviceToHost);
    double ss = 0, nf = 0, want = 0;
    for (int i = 0; i < MPT_TR_UNSCALE_PARTIALS; i++)
        ss += part[i], nf += part[MPT_TR_UNSCALE_PARTIALS + i];
    for (int i = 0; i < NE; i++)
        if (isfinite(g[i])) want += ((double)g[i] / 1024.0) * ((double)g[i] / 1024.0);
    char d[160];
    snprintf(d, sizeof d, "sum of squares %.9g (want %.9g), non-finite %g (want 2)", ss, want, nf);
    report(out, run, failed, fabs(ss - want) <= 1e-5 * want && nf == 2.0, "unscale + norm partials",
           d);

    /* AdamW: three steps with decay and clipping, fp32 and bf16 masters */
    for (int bf = 0; bf < 2; bf++) {
        double pr[NE], mr[NE] = {0}, vr[NE] = {0}, worst = 0;
        for (int i = 0; i < NE; i++) {
            g[i] = (float)(2.0 * mpt_tr_rng_uniform(&r) - 1.0);
            pr[i] = p[i];
        }
        cudaMemcpy(gd, g, sizeof g, cudaMemcpyHostToDevice);
        cudaMemcpy(pd, p, sizeof p, cudaMemcpyHostToDevice);
        cudaMemset(md, 0, sizeof p);
        cudaMemset(vd, 0, sizeof p);
        for (int t = 1; t <= 3; t++) {
            float bc1 = (float)(1 - pow(0.9, t)), bc2 = (float)(1 - pow(0.95, t));
            mpt_tr_k_adamw(pd, md, vd, gd, NE, 1e-2f, 0.9f, 0.95f, bc1, bc2, 1e-8f, 0.1f, 0.5f, bf,
                           NULL);
            for (int i = 0; i < NE; i++) {
                mpt_tr_adamw_ref(&pr[i], &mr[i], &vr[i], 0.5 * g[i], 1e-2, 0.9, 0.95, 1e-8, 0.1, t);
                if (bf) pr[i] = mpt_bf16_to_f32(mpt_f32_to_bf16((float)pr[i]));
            }
        }
        float got[NE];
        cudaMemcpy(got, pd, sizeof got, cudaMemcpyDeviceToHost);
        for (int i = 0; i < NE; i++) {
            /* bf16: a rounding boundary may fall between the fp32 and double paths: one ulp */
            double tol = bf ? fabs(pr[i]) * 0x1p-7 + 1e-30 : 1e-6 * fabs(pr[i]) + 1e-9;
            double e = fabs(got[i] - pr[i]) / tol;
            worst = e > worst ? e : worst;
        }
        snprintf(d, sizeof d, "max err %.3g of tolerance", worst);
        report(out, run, failed, worst <= 1.0, bf ? "adamw x3 (bf16 masters)" : "adamw x3", d);
    }

    /* SGD with momentum: three steps with decay and clipping, from a nonzero buffer too */
    {
        double pr[NE], br[NE], worst = 0;
        float b0[NE];
        for (int i = 0; i < NE; i++) {
            g[i] = (float)(2.0 * mpt_tr_rng_uniform(&r) - 1.0);
            b0[i] = (float)(mpt_tr_rng_uniform(&r) - 0.5);
            pr[i] = p[i];
            br[i] = b0[i];
        }
        cudaMemcpy(gd, g, sizeof g, cudaMemcpyHostToDevice);
        cudaMemcpy(pd, p, sizeof p, cudaMemcpyHostToDevice);
        cudaMemcpy(md, b0, sizeof b0, cudaMemcpyHostToDevice);
        for (int t = 1; t <= 3; t++) {
            mpt_tr_k_sgd(pd, md, gd, NE, 0.05f, 0.9f, 0.1f, 0.5f, 0, NULL);
            for (int i = 0; i < NE; i++)
                mpt_tr_sgd_ref(&pr[i], &br[i], 0.5 * g[i], 0.05, 0.9, 0.1);
        }
        float got[NE];
        cudaMemcpy(got, pd, sizeof got, cudaMemcpyDeviceToHost);
        for (int i = 0; i < NE; i++) {
            /* a few fp32 ulps of the operands (p may cancel towards 0) */
            double e = fabs(got[i] - pr[i]) / (1e-6 * (fabs(pr[i]) + fabs(p[i])) + 1e-9);
            worst = e > worst ? e : worst;
        }
        snprintf(d, sizeof d, "max err %.3g of tolerance", worst);
        report(out, run, failed, worst <= 1.0, "sgd momentum x3", d);
    }
    cudaFree(gd), cudaFree(pd), cudaFree(md), cudaFree(vd), cudaFree(partd);
}

typedef struct mode_case {
    const char *name;
    mpt_tr_precision prec;
    int tf32, c16f, rms;
    double loss_tol; /* relative */
    double grad_tol; /* 32-true: of the tensor's max; else: 1 - cosine similarity */
} mode_case;

static const mode_case modes[] = {
    {"model 32-true layernorm", MPT_TR_32_TRUE, 0, 0, 0, 1e-5, 1e-4},
    {"model 32-true rmsnorm", MPT_TR_32_TRUE, 0, 0, 1, 1e-5, 1e-4},
    {"model 32-true tf32", MPT_TR_32_TRUE, 1, 0, 0, 5e-3, 1e-3},
    {"model 16-mixed", MPT_TR_16_MIXED, 0, 0, 0, 5e-3, 1e-3},
    {"model 16-mixed gemm 16F", MPT_TR_16_MIXED, 0, 1, 0, 2e-2, 1e-2},
    {"model bf16-mixed", MPT_TR_BF16_MIXED, 0, 0, 1, 3e-2, 1e-2},
};

static void check_mode(FILE *out, int *run, int *failed, const mode_case *mc)
{
    mpt_tr_opts o;
    mpt_tr_opts_default(&o);
    o.precision = mc->prec, o.tf32 = mc->tf32, o.gemm_compute_16f = mc->c16f, o.seed = 11;
    mpt_tr_config cfg = {16, 2, 16, 4, 8, 2, mc->rms};
    const int Nt = cfg.B * cfg.T;
    int32_t tok[16], tgt[16];
    mpt_tr_rng r;
    mpt_tr_rng_seed(&r, 3, 3);
    for (int i = 0; i < Nt; i++)
        tok[i] = (int32_t)mpt_tr_rng_below(&r, 13), tgt[i] = (int32_t)mpt_tr_rng_below(&r, 13);
    mpt_tr_gpt g;
    char d[200];
    if (mpt_tr_gpt_init(&g, &o, &cfg)) {
        report(out, run, failed, 0, mc->name, g.err);
        mpt_tr_gpt_free(&g);
        return;
    }
    size_t n = g.lo.total;
    float *pf = malloc(n * sizeof *pf), *gf = malloc(n * sizeof *gf);
    double *p = malloc(n * sizeof *p), *gr = malloc(n * sizeof *gr);
    /* larger weights than the init, so attention and the norms' gains carry signal */
    for (size_t i = 0; i < n; i++)
        pf[i] = (float)(0.3 * (2.0 * mpt_tr_rng_uniform(&r) - 1.0));
    for (size_t i = 0; i < n; i++)
        p[i] = pf[i];
    double loss = NAN, gnorm;
    long nonfinite = -1;
    const double scale = mc->prec == MPT_TR_16_MIXED ? 1024.0 : 1.0;
    int dev_ok =
        !mpt_tr_gpt_set_params(&g, pf) && !mpt_tr_gpt_cast_weights(&g) &&
        !mpt_tr_gpt_forward(&g, tok, tgt, NULL, &loss) && !mpt_tr_gpt_backward(&g, scale, NULL) &&
        !mpt_tr_gpt_unscale(&g, scale, &gnorm, &nonfinite) && !mpt_tr_gpt_get_grads(&g, gf);
    if (!dev_ok) {
        report(out, run, failed, 0, mc->name, g.err);
    } else {
        mpt_tr_ref_model m;
        mpt_tr_ref_model_init(&m, &g.lo);
        double ref = mpt_tr_ref_model_forward(&m, p, tok, tgt);
        mpt_tr_ref_model_backward(&m, p, tok, tgt, gr);
        double lerr = fabs(loss - ref) / fabs(ref), worst = 0.0;
        const char *worst_name = "-";
        for (int t = 0; t < g.lo.n_tensors; t++) {
            const mpt_tr_tensor *tt = &g.lo.tensors[t];
            size_t off = tt->offset, len = (size_t)tt->rows * tt->cols;
            double mx = 0, dot = 0, na = 0, nb = 0, me = 0;
            for (size_t i = off; i < off + len; i++) {
                mx = fmax(mx, fabs(gr[i]));
                me = fmax(me, fabs(gf[i] - gr[i]));
                dot += gf[i] * gr[i], na += (double)gf[i] * gf[i], nb += gr[i] * gr[i];
            }
            double e = mc->prec == MPT_TR_32_TRUE && !mc->tf32
                           ? me / (mx + 1e-12)
                           : 1.0 - dot / (sqrt(na * nb) + 1e-30);
            if (!(e <= worst)) /* NaN counts as the worst */
                worst = e, worst_name = tt->name;
        }
        snprintf(d, sizeof d,
                 "loss %.7f (double %.7f, rel err %.2g), worst gradient %s: %.2g, "
                 "non-finite %ld",
                 loss, ref, lerr, worst_name, worst, nonfinite);
        report(out, run, failed, lerr <= mc->loss_tol && worst <= mc->grad_tol && nonfinite == 0,
               mc->name, d);
        mpt_tr_ref_model_free(&m);
    }
    free(pf), free(gf), free(p), free(gr);
    mpt_tr_gpt_free(&g);
}

void mpt_tr_self_check_model(FILE *out, int *run, int *failed)
{
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        check_mode(out, run, failed, &modes[i]);
}
