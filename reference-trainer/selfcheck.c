/*
 * mpt-train --self-check: this build's kernels and GEMM paths against the double-precision
 * reference (refops.c, refmodel.c, optim.c). Runs wherever the binary runs: on simcuda it tests
 * the one-source kernels built by gcc (tests/unit/test_trainer_kernels.c runs it), on a GPU the
 * same kernels built by nvcc and the real cuBLAS.
 *
 * Tolerances are scaled by the dtype: an output stored in fp16/bf16 may differ from the double
 * reference by its rounding (eps/2 relative) plus fp32 arithmetic (a few fp32 ulps times the
 * reduction length); inputs are first rounded to the dtype so both sides see the same values.
 * Adversarial inputs (NaN, +-Inf, -0, subnormals, values that overflow fp16) go through the
 * elementwise kernels, where their result is defined: NaN must stay NaN, Inf must stay Inf.
 */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fpformat.h"
#include "reference-trainer/kernels.h"
#include "reference-trainer/optim.h"
#include "reference-trainer/refops.h"
#include "reference-trainer/rng.h"
#include "reference-trainer/selfcheck.h"
#include "reference-trainer/train.h"

enum { B = 2, T = 7, C = 12, H = 3, HS = C / H, V = 11, N = B * T, BH = B * H };

typedef struct sc {
    FILE *out;
    int failed, run;
    mpt_tr_rng rng;
} sc;

static const int dts[3] = {MPT_DT_F32, MPT_DT_F16, MPT_DT_BF16};

static double dt_eps(int dt)
{
    return dt == MPT_DT_F16 ? 0x1p-11 : dt == MPT_DT_BF16 ? 0x1p-8 : 0x1p-24;
}

static double round_dt(double x, int dt)
{
    float f = (float)x;
    if (dt == MPT_DT_F16) return mpt_f16_to_f32(mpt_f32_to_f16(f));
    if (dt == MPT_DT_BF16) return mpt_bf16_to_f32(mpt_f32_to_bf16(f));
    return f;
}

/* ---- device transfers -------------------------------------------------------------------- */

static void *dev(size_t bytes)
{
    void *p = NULL;
    return cudaMalloc(&p, bytes ? bytes : 1) == cudaSuccess ? p : NULL;
}

/* Uploads n doubles as dt (rounded once); returns the device copy. */
static void *up(const double *x, long n, int dt)
{
    size_t es = dt == MPT_DT_F32 ? 4 : 2;
    unsigned char *h = malloc((size_t)n * es + 1);
    for (long i = 0; i < n; i++)
        mpt_dtype_store((mpt_dtype)dt, h, (size_t)i, (float)x[i]);
    void *d = dev((size_t)n * es);
    if (d) cudaMemcpy(d, h, (size_t)n * es, cudaMemcpyHostToDevice);
    free(h);
    return d;
}

/* Downloads n elements of dt as doubles. */
static void down(double *x, const void *d, long n, int dt)
{
    size_t es = dt == MPT_DT_F32 ? 4 : 2;
    unsigned char *h = malloc((size_t)n * es + 1);
    cudaDeviceSynchronize();
    cudaMemcpy(h, d, (size_t)n * es, cudaMemcpyDeviceToHost);
    for (long i = 0; i < n; i++)
        x[i] = mpt_dtype_load((mpt_dtype)dt, h, (size_t)i);
    free(h);
}

/* ---- comparison ----------------------------------------------------------------------------- */

/* Passes when every |got - ref| <= abs + rel * |ref|, NaN matching NaN and Inf matching Inf. */
static void compare(sc *s, const char *name, int dt, const double *got, const double *ref, long n,
                    double rel, double abs)
{
    double worst = 0.0;
    long at = -1;
    for (long i = 0; i < n; i++) {
        double e;
        if (isnan(ref[i]) || isnan(got[i]))
            e = isnan(ref[i]) && isnan(got[i]) ? 0.0 : INFINITY;
        else if (isinf(ref[i]) || isinf(got[i]))
            e = ref[i] == got[i] ? 0.0 : INFINITY;
        else if (got[i] == ref[i])
            e = 0.0;
        else
            e = fabs(got[i] - ref[i]) / (abs + rel * fabs(ref[i]));
        if (e > worst || at < 0) worst = e, at = i;
    }
    s->run++;
    int ok = worst <= 1.0;
    s->failed += !ok;
    fprintf(s->out, "%-4s %-30s %-5s max err %.3g of tolerance", ok ? "ok" : "FAIL", name,
            mpt_dtype_name((mpt_dtype)dt), worst);
    if (!ok && at >= 0)
        fprintf(s->out, " (element %ld: got %.9g, want %.9g)", at, got[at], ref[at]);
    fputc('\n', s->out);
}

static double *fill(sc *s, long n, double amp)
{
    double *x = malloc((size_t)n * sizeof *x);
    for (long i = 0; i < n; i++)
        x[i] = amp * (2.0 * mpt_tr_rng_uniform(&s->rng) - 1.0);
    return x;
}

/* The same values as dt would hold them. */
static void quantise(double *x, long n, int dt)
{
    for (long i = 0; i < n; i++)
        x[i] = round_dt(x[i], dt);
}

/* ---- elementwise kernels, adversarial values included ------------------------------------ */

static const double specials[] = {NAN,  INFINITY, -INFINITY, -0.0,    0.0,
                                  1e-8, -3e-7,    65519.0,   65520.0, 1e5,
                                  -7e4, 1.5e-40,  3.0e38,    1.0,     -2.5};
#define N_SPECIAL ((long)(sizeof specials / sizeof *specials))

static void check_cast_gelu_residual(sc *s, int dt)
{
    long n = 4 * N * C;
    double *x = fill(s, n, 6.0), *ref = malloc((size_t)n * sizeof *ref),
           *got = malloc((size_t)n * sizeof *got);
    for (long i = 0; i < N_SPECIAL; i++)
        x[i * 7] = specials[i];
    /* cast fp32 -> dt is exactly the core conversion */
    void *src = up(x, n, MPT_DT_F32), *dst = dev((size_t)n * 4);
    mpt_tr_k_cast(dst, dt, src, MPT_DT_F32, n, 0, 0);
    down(got, dst, n, dt);
    for (long i = 0; i < n; i++)
        ref[i] = round_dt(x[i], dt);
    compare(s, "cast fp32->dt", dt, got, ref, n, 0.0, 0.0);
    /* gelu on the dt values */
    quantise(x, n, dt);
    void *xd = up(x, n, dt), *yd = dev((size_t)n * 4), *gd = dev((size_t)n * 4);
    mpt_tr_k_gelu_fwd(yd, xd, dt, n, 5);
    down(got, yd, n, dt);
    for (long i = 0; i < n; i++)
        ref[i] = i == 5 ? NAN : mpt_tr_ref_gelu(x[i]);
    compare(s, "gelu fwd (+nan at 5)", dt, got, ref, n, 2.0 * dt_eps(dt) + 1e-6, 1e-6);
    double *dy = fill(s, n, 1.0);
    quantise(dy, n, dt);
    void *dyd = up(dy, n, dt);
    mpt_tr_k_gelu_bwd(gd, dyd, xd, dt, n);
    down(got, gd, n, dt);
    for (long i = 0; i < n; i++)
        ref[i] = dy[i] * mpt_tr_ref_gelu_grad(x[i]);
    compare(s, "gelu bwd", dt, got, ref, n, 2.0 * dt_eps(dt) + 1e-5, 1e-5);
    /* residual: fp32 + dt */
    double *a = fill(s, n, 3.0);
    void *ad = up(a, n, MPT_DT_F32), *od = dev((size_t)n * 4);
    mpt_tr_k_residual_fwd(od, ad, xd, dt, n);
    down(got, od, n, MPT_DT_F32);
    for (long i = 0; i < n; i++)
        ref[i] = round_dt(a[i], MPT_DT_F32) + x[i];
    compare(s, "residual fwd", dt, got, ref, n, 0x1p-23, 0.0);
    /* count of non-finite values */
    unsigned int *cnt = dev(sizeof *cnt), hc = 0;
    cudaMemset(cnt, 0, sizeof *cnt);
    mpt_tr_k_count_nonfinite(cnt, xd, dt, n);
    cudaMemcpy(&hc, cnt, sizeof hc, cudaMemcpyDeviceToHost);
    double want = 0, gotc = hc;
    for (long i = 0; i < n; i++)
        want += !isfinite(x[i]);
    compare(s, "count non-finite", dt, &gotc, &want, 1, 0.0, 0.0);
    cudaFree(src), cudaFree(dst), cudaFree(xd), cudaFree(yd), cudaFree(gd), cudaFree(dyd);
    cudaFree(ad), cudaFree(od), cudaFree(cnt);
    free(x), free(ref), free(got), free(dy), free(a);
}

/* ---- row kernels --------------------------------------------------------------------------- */

static void check_norm(sc *s, int dt, int rms)
{
    const char *nm = rms ? "rmsnorm" : "layernorm";
    char name[64];
    double *x = fill(s, N * C, 3.0), *w = fill(s, C, 2.0), *b = fill(s, C, 1.0);
    for (int c = 0; c < C; c++)
        x[c] += 40.0; /* one row with a large mean */
    quantise(x, N * C, MPT_DT_F32), quantise(w, C, MPT_DT_F32), quantise(b, C, MPT_DT_F32);
    double ref[N * C], got[N * C], mean[N], rstd[N];
    const float scale = 2.0f;
    if (rms)
        mpt_tr_ref_rmsnorm_fwd(ref, rstd, x, w, N, C);
    else
        mpt_tr_ref_layernorm_fwd(ref, mean, rstd, x, w, b, N, C);
    for (int i = 0; i < N * C; i++)
        ref[i] *= scale;
    float *xd = up(x, N * C, MPT_DT_F32), *wd = up(w, C, MPT_DT_F32), *bd = up(b, C, MPT_DT_F32);
    float *md = dev(N * 4), *rd = dev(N * 4);
    void *od = dev(N * C * 4);
    mpt_tr_k_norm_fwd(od, dt, md, rd, xd, wd, rms ? NULL : bd, N, C, rms, scale, 3 * C + 2);
    down(got, od, N * C, dt);
    ref[3 * C + 2] = NAN;
    snprintf(name, sizeof name, "%s fwd (x2, +nan)", nm);
    compare(s, name, dt, got, ref, N * C, dt_eps(dt) + 1e-5, 1e-5);
    /* backward: dout in dt, accumulate into dinp */
    double *dy = fill(s, N * C, 1.0), dx[N * C], dw[C] = {0}, db[C] = {0}, gdw[C], gdb[C];
    quantise(dy, N * C, dt);
    double *dys = malloc(sizeof(double) * N * C);
    for (int i = 0; i < N * C; i++)
        dx[i] = 0.5, dys[i] = dy[i] * scale; /* the kernel applies out_scale to dout */
    if (rms)
        mpt_tr_ref_rmsnorm_bwd(dx, dw, dys, x, w, rstd, N, C);
    else
        mpt_tr_ref_layernorm_bwd(dx, dw, db, dys, x, w, mean, rstd, N, C);
    double half[N * C];
    for (int i = 0; i < N * C; i++)
        half[i] = 0.5;
    float *dxd = up(half, N * C, MPT_DT_F32), *dwd = dev(C * 4), *dbd = dev(C * 4);
    void *dyd = up(dy, N * C, dt);
    mpt_tr_k_norm_bwd(dxd, dwd, rms ? NULL : dbd, dyd, dt, xd, wd, md, rd, N, C, rms, scale);
    down(got, dxd, N * C, MPT_DT_F32);
    snprintf(name, sizeof name, "%s bwd dx (+=)", nm);
    compare(s, name, dt, got, dx, N * C, 1e-4, 1e-4);
    down(gdw, dwd, C, MPT_DT_F32);
    snprintf(name, sizeof name, "%s bwd dw", nm);
    compare(s, name, dt, gdw, dw, C, 1e-4, 1e-4);
    if (!rms) {
        down(gdb, dbd, C, MPT_DT_F32);
        compare(s, "layernorm bwd db", dt, gdb, db, C, 1e-4, 1e-4);
    }
    cudaFree(xd), cudaFree(wd), cudaFree(bd), cudaFree(md), cudaFree(rd), cudaFree(od);
    cudaFree(dxd), cudaFree(dwd), cudaFree(dbd), cudaFree(dyd);
    free(x), free(w), free(b), free(dy), free(dys);
}

static void check_softmax(sc *s, int dt)
{
    long n = (long)BH * T * T;
    double *x = fill(s, n, 8.0), *ref = malloc((size_t)n * 8), *got = malloc((size_t)n * 8);
    quantise(x, n, dt);
    x[2 * T + 1] = NAN; /* row 2 (t = 2) holds a NaN: the whole row must be NaN */
    mpt_tr_ref_softmax_causal_fwd(ref, x, BH, T);
    for (int j = 0; j <= 2; j++)
        ref[2 * T + j] = NAN;
    void *xd = up(x, n, dt), *pd = dev((size_t)n * 4);
    mpt_tr_k_softmax_fwd(pd, xd, dt, BH, T, -1);
    down(got, pd, n, dt);
    compare(s, "softmax fwd (nan row)", dt, got, ref, n, dt_eps(dt) + 1e-6, 1e-7);
    /* backward on NaN-free probabilities */
    x[2 * T + 1] = 0.5;
    double *p = malloc((size_t)n * 8), *dp = fill(s, n, 1.0), *ds = calloc((size_t)n, 8);
    mpt_tr_ref_softmax_causal_fwd(p, x, BH, T);
    quantise(p, n, dt), quantise(dp, n, dt);
    mpt_tr_ref_softmax_causal_bwd(ds, dp, p, BH, T);
    void *p_d = up(p, n, dt), *dp_d = up(dp, n, dt), *ds_d = dev((size_t)n * 4);
    mpt_tr_k_softmax_bwd(ds_d, dp_d, p_d, dt, BH, T);
    down(got, ds_d, n, dt);
    compare(s, "softmax bwd", dt, got, ds, n, dt_eps(dt) + 1e-5, 1e-6);
    cudaFree(xd), cudaFree(pd), cudaFree(p_d), cudaFree(dp_d), cudaFree(ds_d);
    free(x), free(ref), free(got), free(p), free(dp), free(ds);
}

static void check_loss(sc *s, int dt)
{
    double *lg = fill(s, N * V, 5.0), ref[N], got[N * V], dref[N * V] = {0};
    quantise(lg, N * V, dt);
    int32_t tg[N];
    for (int i = 0; i < N; i++)
        tg[i] = (int32_t)mpt_tr_rng_below(&s->rng, V);
    for (int i = 0; i < N; i++)
        ref[i] = mpt_tr_ref_crossentropy_fwd(lg + (size_t)i * V, tg + i, 1, V);
    void *lgd = up(lg, N * V, dt), *dld = dev(N * V * 4);
    float *ld = dev(N * 4);
    int32_t *tgd = dev(sizeof tg);
    cudaMemcpy(tgd, tg, sizeof tg, cudaMemcpyHostToDevice);
    mpt_tr_k_loss_fwd(ld, lgd, tgd, dt, N, V);
    down(got, ld, N, MPT_DT_F32);
    compare(s, "cross-entropy fwd", dt, got, ref, N, 1e-5, 1e-5);
    const double scale = 1024.0; /* as the loss scaler would */
    mpt_tr_ref_crossentropy_bwd(dref, lg, tg, scale, N, V);
    mpt_tr_k_loss_bwd(dld, lgd, tgd, dt, N, V, (float)(scale / N));
    down(got, dld, N * V, dt);
    compare(s, "cross-entropy bwd (x1024)", dt, got, dref, N * V, dt_eps(dt) + 1e-5, 1e-5);
    cudaFree(lgd), cudaFree(dld), cudaFree(ld), cudaFree(tgd);
    free(lg);
}

static void check_layout(sc *s, int dt)
{
    double *qkv = fill(s, N * 3 * C, 2.0), q[N * C], k[N * C], v[N * C], got[N * 3 * C];
    quantise(qkv, N * 3 * C, dt);
    mpt_tr_ref_split_heads(q, k, v, qkv, B, T, C, H);
    void *src = up(qkv, N * 3 * C, dt), *hd = dev(N * C * 4), *back = dev(N * 3 * C * 4);
    mpt_tr_k_rows_to_heads(hd, src, dt, B, T, H, HS, 3 * C, C);
    down(got, hd, N * C, dt);
    compare(s, "rows->heads (K of QKV)", dt, got, k, N * C, 0.0, 0.0);
    cudaMemset(back, 0, N * 3 * C * 4);
    mpt_tr_k_heads_to_rows(back, hd, dt, B, T, H, HS, 3 * C, C);
    down(got, back, N * 3 * C, dt);
    double want[N * 3 * C];
    for (int i = 0; i < N * 3 * C; i++)
        want[i] = (i % (3 * C)) >= C && (i % (3 * C)) < 2 * C ? qkv[i] : 0.0;
    compare(s, "heads->rows (round trip)", dt, got, want, N * 3 * C, 0.0, 0.0);
    cudaFree(src), cudaFree(hd), cudaFree(back);
    free(qkv);
}

static void check_grads_kernels(sc *s)
{
    /* embedding */
    double *wte = fill(s, V * C, 1.0), *wpe = fill(s, T * C, 1.0), x[N * C], got[N * C];
    int32_t tok[N];
    for (int i = 0; i < N; i++)
        tok[i] = (int32_t)mpt_tr_rng_below(&s->rng, V);
    quantise(wte, V * C, MPT_DT_F32), quantise(wpe, T * C, MPT_DT_F32);
    mpt_tr_ref_embed_fwd(x, tok, wte, wpe, B, T, C);
    float *wted = up(wte, V * C, MPT_DT_F32), *wped = up(wpe, T * C, MPT_DT_F32),
          *xd = dev(N * C * 4);
    int32_t *tokd = dev(sizeof tok);
    cudaMemcpy(tokd, tok, sizeof tok, cudaMemcpyHostToDevice);
    mpt_tr_k_embed_fwd(xd, tokd, wted, wped, B, T, C);
    down(got, xd, N * C, MPT_DT_F32);
    compare(s, "embedding fwd", MPT_DT_F32, got, x, N * C, 0x1p-23, 0.0);
    double dwte[V * C] = {0}, dwpe[T * C] = {0}, gw[V * C], gp[T * C];
    mpt_tr_ref_embed_bwd(dwte, dwpe, x, tok, B, T, C);
    mpt_tr_k_embed_bwd(wted, wped, xd, tokd, B, T, C, V);
    down(gw, wted, V * C, MPT_DT_F32), down(gp, wped, T * C, MPT_DT_F32);
    compare(s, "embedding bwd wte", MPT_DT_F32, gw, dwte, V * C, 1e-5, 1e-5);
    compare(s, "embedding bwd wpe", MPT_DT_F32, gp, dwpe, T * C, 1e-5, 1e-5);
    /* bias gradient */
    double db[C] = {0}, gdb[C];
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            db[c] += x[i * C + c];
    float *dbd = dev(C * 4);
    mpt_tr_k_bias_grad(dbd, xd, MPT_DT_F32, N, C);
    down(gdb, dbd, C, MPT_DT_F32);
    compare(s, "bias grad", MPT_DT_F32, gdb, db, C, 1e-5, 1e-5);
    cudaFree(wted), cudaFree(wped), cudaFree(xd), cudaFree(tokd), cudaFree(dbd);
    free(wte), free(wpe);
}

int mpt_tr_self_check(FILE *out)
{
    sc s = {out, 0, 0, {{0}}};
    mpt_tr_rng_seed(&s.rng, 2024, 5);
    void *probe = dev(16);
    if (!probe) {
        fprintf(out, "FAIL no CUDA device (cudaMalloc failed)\n");
        return 1;
    }
    cudaFree(probe);
    for (int i = 0; i < 3; i++) {
        check_cast_gelu_residual(&s, dts[i]);
        check_norm(&s, dts[i], 0);
        check_norm(&s, dts[i], 1);
        check_softmax(&s, dts[i]);
        check_loss(&s, dts[i]);
        check_layout(&s, dts[i]);
    }
    check_grads_kernels(&s);
    mpt_tr_self_check_optim(out, &s.run, &s.failed);
    mpt_tr_self_check_model(out, &s.run, &s.failed);
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        fprintf(out, "FAIL device error: %s\n", cudaGetErrorString(e));
        s.failed++;
    }
    fprintf(out, "%d of %d checks passed\n", s.run - s.failed, s.run);
    return s.failed ? 1 : 0;
}
