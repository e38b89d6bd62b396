/*
 * The trainer's non-GEMM kernels in the one-source convention (sim/mpt_kernel.h): nvcc
 * compiles this file for the GPU, gcc compiles it as C (-x c) for simcuda. Contract and
 * shapes in kernels.h; each kernel's double-precision reference is in refops.c.
 *
 * Inside the convention's CPU model: no shared memory, no __syncthreads, so every reduction is
 * one thread per row or column with a loop (slower on a GPU than a tree reduction, but the
 * trainer's job is to be right and readable, and its GEMMs dominate). Elementwise kernels use
 * grid-stride loops over a capped grid: the same kernel runs 16K "threads" on simcuda (each
 * one a function call) and up to 256K on a GPU.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __CUDACC__
#include <cuda_runtime_api.h>
#endif

#include "core/fpformat.h"
#include "reference-trainer/kernels.h"
#include "sim/mpt_kernel.h"

#define TID      ((long)MPT_BLOCK_IDX_X * (long)MPT_BLOCK_DIM_X + (long)MPT_THREAD_IDX_X)
#define NTHREADS ((long)MPT_GRID_DIM_X * (long)MPT_BLOCK_DIM_X)
#define EPS      1e-5f

/* ---- element access and small math ---------------------------------------------------- */

static MPT_DEVICE inline float ld(const void *p, long i, int dt)
{
    if (dt == MPT_DT_F16) return mpt_f16_to_f32(((const uint16_t *)p)[i]);
    if (dt == MPT_DT_BF16) return mpt_bf16_to_f32(((const uint16_t *)p)[i]);
    return ((const float *)p)[i];
}

static MPT_DEVICE inline void st(void *p, long i, int dt, float v)
{
    if (dt == MPT_DT_F16)
        ((uint16_t *)p)[i] = mpt_f32_to_f16(v);
    else if (dt == MPT_DT_BF16)
        ((uint16_t *)p)[i] = mpt_f32_to_bf16(v);
    else
        ((float *)p)[i] = v;
}

/* Raw copy of one element (layout changes keep the bits). */
static MPT_DEVICE inline void cp(void *dst, long di, const void *src, long si, int dt)
{
    if (dt == MPT_DT_F32)
        ((uint32_t *)dst)[di] = ((const uint32_t *)src)[si];
    else
        ((uint16_t *)dst)[di] = ((const uint16_t *)src)[si];
}

static MPT_DEVICE inline int finite_f(float x)
{
    return (mpt_f32_bits(x) & 0x7f800000u) != 0x7f800000u;
}

static MPT_DEVICE inline float qnan(void)
{
    return mpt_f32_from_bits(0x7fc00000u);
}

static MPT_DEVICE inline float gelu_f(float x)
{
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

static MPT_DEVICE inline float gelu_grad_f(float x)
{
    const float k = 0.7978845608028654f;
    /* past |x| = 10 tanh is saturated in fp32 (the derivative is 1 or 0 to within 1e-40), and
     * x^3 would overflow into 0 * Inf = NaN for |x| > 7e12 */
    if (finite_f(x) && fabsf(x) > 10.0f) return x > 0.0f ? 1.0f : 0.0f;
    float th = tanhf(k * (x + 0.044715f * x * x * x));
    return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * k * (1.0f + 3.0f * 0.044715f * x * x);
}

/* ---- kernels ---------------------------------------------------------------------------- */

static MPT_GLOBAL void k_cast(void *dst, int dst_dt, const void *src, int src_dt, long n,
                              int round_bf16, int accumulate)
{
    for (long i = TID; i < n; i += NTHREADS) {
        float v = ld(src, i, src_dt);
        if (round_bf16) v = mpt_bf16_to_f32(mpt_f32_to_bf16(v));
        if (accumulate) v += ((const float *)dst)[i];
        st(dst, i, dst_dt, v);
    }
}
MPT_SIM_KERNEL(k_cast, void *, int, const void *, int, long, int, int)

static MPT_GLOBAL void k_embed_fwd(float *x, const int32_t *tok, const float *wte, const float *wpe,
                                   int B, int T, int C)
{
    long n = (long)B * T * C;
    for (long i = TID; i < n; i += NTHREADS) {
        long row = i / C;
        int c = (int)(i % C), t = (int)(row % T);
        x[i] = wte[(long)tok[row] * C + c] + wpe[(long)t * C + c];
    }
}
MPT_SIM_KERNEL(k_embed_fwd, float *, const int32_t *, const float *, const float *, int, int, int)

/* One thread per output element; each sums its own positions in a fixed order. */
static MPT_GLOBAL void k_embed_bwd(float *dwte, float *dwpe, const float *dx, const int32_t *tok,
                                   int B, int T, int C, int V)
{
    long n_wte = (long)V * C, n = n_wte + (long)T * C;
    for (long i = TID; i < n; i += NTHREADS) {
        float acc = 0.0f;
        if (i < n_wte) {
            int v = (int)(i / C), c = (int)(i % C);
            for (long r = 0; r < (long)B * T; r++)
                if (tok[r] == v) acc += dx[r * C + c];
            dwte[i] = acc;
        } else {
            long j = i - n_wte;
            int t = (int)(j / C), c = (int)(j % C);
            for (int b = 0; b < B; b++)
                acc += dx[((long)b * T + t) * C + c];
            dwpe[j] = acc;
        }
    }
}
MPT_SIM_KERNEL(k_embed_bwd, float *, float *, const float *, const int32_t *, int, int, int, int)

/* Shape and injection parameters of the norm kernels, packed to keep within the convention's
 * ten parameters. */
typedef struct norm_args {
    int N, C, rms, dt;
    float out_scale;
    long nan_index;
} norm_args;

static MPT_GLOBAL void k_norm_fwd(void *out, float *mean, float *rstd, const float *inp,
                                  const float *w, const float *b, norm_args a)
{
    for (long r = TID; r < a.N; r += NTHREADS) {
        const float *x = inp + r * a.C;
        float m = 0.0f, var = 0.0f;
        if (!a.rms) {
            for (int c = 0; c < a.C; c++)
                m += x[c];
            m /= (float)a.C;
        }
        for (int c = 0; c < a.C; c++)
            var += (x[c] - m) * (x[c] - m);
        float s = 1.0f / sqrtf(var / (float)a.C + EPS);
        for (int c = 0; c < a.C; c++) {
            float y = (x[c] - m) * s * w[c] + (b ? b[c] : 0.0f);
            st(out, r * a.C + c, a.dt, y * a.out_scale);
        }
        if (a.nan_index >= r * a.C && a.nan_index < (r + 1) * a.C)
            st(out, a.nan_index, a.dt, qnan());
        mean[r] = m;
        rstd[r] = s;
    }
}
MPT_SIM_KERNEL(k_norm_fwd, void *, float *, float *, const float *, const float *, const float *,
               norm_args)

/* dinp += ..., one thread per row (see refops.c for the derivation). */
static MPT_GLOBAL void k_norm_bwd_dx(float *dinp, const void *dout, const float *inp,
                                     const float *w, const float *mean, const float *rstd,
                                     norm_args a)
{
    for (long r = TID; r < a.N; r += NTHREADS) {
        const float *x = inp + r * a.C;
        float s = rstd[r], m = a.rms ? 0.0f : mean[r], mg = 0.0f, mgx = 0.0f;
        for (int c = 0; c < a.C; c++) {
            float g = ld(dout, r * a.C + c, a.dt) * w[c] * a.out_scale;
            mg += g;
            mgx += a.rms ? g * x[c] : g * (x[c] - m) * s;
        }
        mg /= (float)a.C;
        mgx /= (float)a.C;
        for (int c = 0; c < a.C; c++) {
            float g = ld(dout, r * a.C + c, a.dt) * w[c] * a.out_scale;
            if (a.rms)
                dinp[r * a.C + c] += s * g - s * s * s * x[c] * mgx;
            else
                dinp[r * a.C + c] += s * (g - mg - (x[c] - m) * s * mgx);
        }
    }
}
MPT_SIM_KERNEL(k_norm_bwd_dx, float *, const void *, const float *, const float *, const float *,
               const float *, norm_args)

/* dw, db written, one thread per column. */
static MPT_GLOBAL void k_norm_bwd_dw(float *dw, float *db, const void *dout, const float *inp,
                                     const float *mean, const float *rstd, norm_args a)
{
    for (long c = TID; c < a.C; c += NTHREADS) {
        float gw = 0.0f, gb = 0.0f;
        for (long r = 0; r < a.N; r++) {
            float dy = ld(dout, r * a.C + c, a.dt) * a.out_scale;
            float xhat = (inp[r * a.C + c] - (a.rms ? 0.0f : mean[r])) * rstd[r];
            gw += dy * xhat;
            gb += dy;
        }
        dw[c] = gw;
        if (db) db[c] = gb;
    }
}
MPT_SIM_KERNEL(k_norm_bwd_dw, float *, float *, const void *, const float *, const float *,
               const float *, norm_args)

typedef struct heads_args {
    int B, T, H, hs, width, col0, dt, to_heads;
} heads_args;

static MPT_GLOBAL void k_heads(void *dst, const void *src, heads_args a)
{
    long n = (long)a.B * a.H * a.T * a.hs;
    for (long i = TID; i < n; i += NTHREADS) {
        int d = (int)(i % a.hs), t = (int)((i / a.hs) % a.T),
            h = (int)((i / ((long)a.hs * a.T)) % a.H);
        long b = i / ((long)a.hs * a.T * a.H);
        long row = ((b * a.T + t) * a.width) + a.col0 + (long)h * a.hs + d;
        if (a.to_heads)
            cp(dst, i, src, row, a.dt);
        else
            cp(dst, row, src, i, a.dt);
    }
}
MPT_SIM_KERNEL(k_heads, void *, const void *, heads_args)

static MPT_GLOBAL void k_softmax_fwd(void *p, const void *s, int dt, int BH, int T, long nan_index)
{
    for (long r = TID; r < (long)BH * T; r += NTHREADS) {
        int t = (int)(r % T);
        long base = r * T;
        float mx = ld(s, base, dt);
        for (int j = 1; j <= t; j++) {
            float x = ld(s, base + j, dt);
            mx = (x > mx || x != x) ? x : mx; /* not fmaxf: a NaN score must poison the row */
        }
        float sum = 0.0f;
        for (int j = 0; j <= t; j++)
            sum += expf(ld(s, base + j, dt) - mx);
        for (int j = 0; j < T; j++)
            st(p, base + j, dt, j <= t ? expf(ld(s, base + j, dt) - mx) / sum : 0.0f);
        if (nan_index >= base && nan_index < base + T) st(p, nan_index, dt, qnan());
    }
}
MPT_SIM_KERNEL(k_softmax_fwd, void *, const void *, int, int, int, long)

static MPT_GLOBAL void k_softmax_bwd(void *ds, const void *dp, const void *p, int dt, int BH, int T)
{
    for (long r = TID; r < (long)BH * T; r += NTHREADS) {
        int t = (int)(r % T);
        long base = r * T;
        float dot = 0.0f;
        for (int j = 0; j <= t; j++)
            dot += ld(p, base + j, dt) * ld(dp, base + j, dt);
        for (int j = 0; j < T; j++)
            st(ds, base + j, dt,
               j <= t ? ld(p, base + j, dt) * (ld(dp, base + j, dt) - dot) : 0.0f);
    }
}
MPT_SIM_KERNEL(k_softmax_bwd, void *, const void *, const void *, int, int, int)

static MPT_GLOBAL void k_residual_fwd(float *out, const float *a, const void *b, int dt, long n)
{
    for (long i = TID; i < n; i += NTHREADS)
        out[i] = a[i] + ld(b, i, dt);
}
MPT_SIM_KERNEL(k_residual_fwd, float *, const float *, const void *, int, long)

static MPT_GLOBAL void k_gelu_fwd(void *out, const void *inp, int dt, long n, long nan_index)
{
    for (long i = TID; i < n; i += NTHREADS)
        st(out, i, dt, i == nan_index ? qnan() : gelu_f(ld(inp, i, dt)));
}
MPT_SIM_KERNEL(k_gelu_fwd, void *, const void *, int, long, long)

static MPT_GLOBAL void k_gelu_bwd(void *dinp, const void *dout, const void *inp, int dt, long n)
{
    for (long i = TID; i < n; i += NTHREADS)
        st(dinp, i, dt, ld(dout, i, dt) * gelu_grad_f(ld(inp, i, dt)));
}
MPT_SIM_KERNEL(k_gelu_bwd, void *, const void *, const void *, int, long)

static MPT_GLOBAL void k_bias_grad(float *db, const void *dout, int dt, int N, int OC)
{
    for (long o = TID; o < OC; o += NTHREADS) {
        float acc = 0.0f;
        for (long r = 0; r < N; r++)
            acc += ld(dout, r * OC + o, dt);
        db[o] = acc;
    }
}
MPT_SIM_KERNEL(k_bias_grad, float *, const void *, int, int, int)

/* max and log-sum-exp of one row of logits, in fp32. */
static MPT_DEVICE inline float row_lse(const void *logits, long base, int V, int dt, float *mx_out)
{
    float mx = ld(logits, base, dt);
    for (int j = 1; j < V; j++) {
        float x = ld(logits, base + j, dt);
        mx = (x > mx || x != x) ? x : mx;
    }
    float sum = 0.0f;
    for (int j = 0; j < V; j++)
        sum += expf(ld(logits, base + j, dt) - mx);
    *mx_out = mx;
    return logf(sum);
}

static MPT_GLOBAL void k_loss_fwd(float *losses, const void *logits, const int32_t *targets, int dt,
                                  int N, int V)
{
    for (long r = TID; r < N; r += NTHREADS) {
        float mx;
        float lse = row_lse(logits, r * V, V, dt, &mx);
        losses[r] = lse + mx - ld(logits, r * V + targets[r], dt);
    }
}
MPT_SIM_KERNEL(k_loss_fwd, float *, const void *, const int32_t *, int, int, int)

static MPT_GLOBAL void k_loss_bwd(void *dlogits, const void *logits, const int32_t *targets, int dt,
                                  int N, int V, float dscale)
{
    for (long r = TID; r < N; r += NTHREADS) {
        float mx;
        float lse = row_lse(logits, r * V, V, dt, &mx);
        for (int j = 0; j < V; j++) {
            float p = expf(ld(logits, r * V + j, dt) - mx - lse);
            st(dlogits, r * V + j, dt, dscale * (p - (j == targets[r] ? 1.0f : 0.0f)));
        }
    }
}
MPT_SIM_KERNEL(k_loss_bwd, void *, const void *, const int32_t *, int, int, int, float)

static MPT_GLOBAL void k_unscale(float *grads, long n, float inv_scale, float *sumsq,
                                 float *nonfinite)
{
    float ss = 0.0f, nf = 0.0f;
    for (long i = TID; i < n; i += NTHREADS) {
        float g = grads[i] * inv_scale;
        grads[i] = g;
        if (finite_f(g))
            ss += g * g;
        else
            nf += 1.0f;
    }
    sumsq[TID] = ss;
    nonfinite[TID] = nf;
}
MPT_SIM_KERNEL(k_unscale, float *, long, float, float *, float *)

typedef struct adamw_args {
    float lr, beta1, beta2, bc1, bc2, eps, wd, clip;
    int round_bf16;
} adamw_args;

static MPT_GLOBAL void k_adamw(float *params, float *m, float *v, const float *grads, long n,
                               adamw_args a, unsigned int *lost)
{
    unsigned int nl = 0;
    for (long i = TID; i < n; i += NTHREADS) {
        float g = grads[i] * a.clip;
        float p = params[i];
        p -= a.lr * a.wd * p;
        float mi = a.beta1 * m[i] + (1.0f - a.beta1) * g;
        float vi = a.beta2 * v[i] + (1.0f - a.beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        p -= a.lr * (mi / a.bc1) / (sqrtf(vi / a.bc2) + a.eps);
        if (a.round_bf16) {
            float r = mpt_bf16_to_f32(mpt_f32_to_bf16(p));
            nl += r == params[i] && p != params[i]; /* an update rounded away entirely */
            p = r;
        }
        params[i] = p;
    }
    if (lost && nl) MPT_ATOMIC_ADD_U32(lost, nl);
}
MPT_SIM_KERNEL(k_adamw, float *, float *, float *, const float *, long, adamw_args, unsigned int *)

typedef struct sgd_args {
    float lr, momentum, wd, clip;
    int round_bf16;
} sgd_args;

/* torch.optim.SGD (dampening 0, no Nesterov): d = g + wd*p; buf = momentum*buf + d (buf starts
 * at 0, so the first step's buf is d, as PyTorch's); p -= lr*buf. */
static MPT_GLOBAL void k_sgd(float *params, float *buf, const float *grads, long n, sgd_args a,
                             unsigned int *lost)
{
    unsigned int nl = 0;
    for (long i = TID; i < n; i += NTHREADS) {
        float p = params[i];
        float d = grads[i] * a.clip + a.wd * p;
        float b = a.momentum * buf[i] + d;
        buf[i] = b;
        p -= a.lr * b;
        if (a.round_bf16) {
            float r = mpt_bf16_to_f32(mpt_f32_to_bf16(p));
            nl += r == params[i] && p != params[i];
            p = r;
        }
        params[i] = p;
    }
    if (lost && nl) MPT_ATOMIC_ADD_U32(lost, nl);
}
MPT_SIM_KERNEL(k_sgd, float *, float *, const float *, long, sgd_args, unsigned int *)

static MPT_GLOBAL void k_count_nonfinite(unsigned int *count, const void *x, int dt, long n)
{
    unsigned int c = 0;
    for (long i = TID; i < n; i += NTHREADS)
        c += !finite_f(ld(x, i, dt));
    if (c) MPT_ATOMIC_ADD_U32(count, c);
}
MPT_SIM_KERNEL(k_count_nonfinite, unsigned int *, const void *, int, long)

/* ---- launches ------------------------------------------------------------------------------ */

/* Grid cap: each simcuda "thread" is a function call, each GPU thread is cheap. */
#ifdef __CUDACC__
#define MAX_BLOCKS 1024
#else
#define MAX_BLOCKS 64
#endif
#define BLOCK 256

static int launch_n(const void *fn, long work, void **args, long max_blocks)
{
    long blocks = (work + BLOCK - 1) / BLOCK;
    if (blocks > max_blocks) blocks = max_blocks;
    if (blocks < 1) blocks = 1;
#ifdef __cplusplus
    dim3 grid((unsigned)blocks, 1, 1), block(BLOCK, 1, 1);
#else
    dim3 grid = {(unsigned)blocks, 1, 1}, block = {BLOCK, 1, 1};
#endif
    return (int)cudaLaunchKernel(fn, grid, block, args, 0, 0);
}

static int launch(const void *fn, long work, void **args)
{
    return launch_n(fn, work, args, MAX_BLOCKS);
}

#define FN(k) ((const void *)(k))

int mpt_tr_k_cast(void *dst, int dst_dt, const void *src, int src_dt, long n, int round_bf16,
                  int accumulate)
{
    void *args[] = {&dst, &dst_dt, &src, &src_dt, &n, &round_bf16, &accumulate};
    return launch(FN(k_cast), n, args);
}

int mpt_tr_k_embed_fwd(float *x, const int32_t *tok, const float *wte, const float *wpe, int B,
                       int T, int C)
{
    void *args[] = {&x, &tok, &wte, &wpe, &B, &T, &C};
    return launch(FN(k_embed_fwd), (long)B * T * C, args);
}

int mpt_tr_k_embed_bwd(float *dwte, float *dwpe, const float *dx, const int32_t *tok, int B, int T,
                       int C, int V)
{
    void *args[] = {&dwte, &dwpe, &dx, &tok, &B, &T, &C, &V};
    return launch(FN(k_embed_bwd), ((long)V + T) * C, args);
}

int mpt_tr_k_norm_fwd(void *out, int dt, float *mean, float *rstd, const float *inp, const float *w,
                      const float *b, int N, int C, int rms, float out_scale, long nan_index)
{
    norm_args a = {N, C, rms, dt, out_scale, nan_index};
    void *args[] = {&out, &mean, &rstd, &inp, &w, &b, &a};
    return launch(FN(k_norm_fwd), N, args);
}

int mpt_tr_k_norm_bwd(float *dinp, float *dw, float *db, const void *dout, int dt, const float *inp,
                      const float *w, const float *mean, const float *rstd, int N, int C, int rms,
                      float out_scale)
{
    norm_args a = {N, C, rms, dt, out_scale, -1};
    void *args_dx[] = {&dinp, &dout, &inp, &w, &mean, &rstd, &a};
    int rc = launch(FN(k_norm_bwd_dx), N, args_dx);
    if (rc) return rc;
    void *args_dw[] = {&dw, &db, &dout, &inp, &mean, &rstd, &a};
    return launch(FN(k_norm_bwd_dw), C, args_dw);
}

int mpt_tr_k_rows_to_heads(void *heads, const void *rows, int dt, int B, int T, int H, int hs,
                           int width, int col0)
{
    heads_args a = {B, T, H, hs, width, col0, dt, 1};
    void *args[] = {&heads, &rows, &a};
    return launch(FN(k_heads), (long)B * H * T * hs, args);
}

int mpt_tr_k_heads_to_rows(void *rows, const void *heads, int dt, int B, int T, int H, int hs,
                           int width, int col0)
{
    heads_args a = {B, T, H, hs, width, col0, dt, 0};
    void *args[] = {&rows, &heads, &a};
    return launch(FN(k_heads), (long)B * H * T * hs, args);
}

int mpt_tr_k_softmax_fwd(void *p, const void *s, int dt, int BH, int T, long nan_index)
{
    void *args[] = {&p, &s, &dt, &BH, &T, &nan_index};
    return launch(FN(k_softmax_fwd), (long)BH * T, args);
}

int mpt_tr_k_softmax_bwd(void *ds, const void *dp, const void *p, int dt, int BH, int T)
{
    void *args[] = {&ds, &dp, &p, &dt, &BH, &T};
    return launch(FN(k_softmax_bwd), (long)BH * T, args);
}

int mpt_tr_k_residual_fwd(float *out, const float *a, const void *b, int dt, long n)
{
    void *args[] = {&out, &a, &b, &dt, &n};
    return launch(FN(k_residual_fwd), n, args);
}

int mpt_tr_k_gelu_fwd(void *out, const void *inp, int dt, long n, long nan_index)
{
    void *args[] = {&out, &inp, &dt, &n, &nan_index};
    return launch(FN(k_gelu_fwd), n, args);
}

int mpt_tr_k_gelu_bwd(void *dinp, const void *dout, const void *inp, int dt, long n)
{
    void *args[] = {&dinp, &dout, &inp, &dt, &n};
    return launch(FN(k_gelu_bwd), n, args);
}

int mpt_tr_k_bias_grad(float *db, const void *dout, int dt, int N, int OC)
{
    void *args[] = {&db, &dout, &dt, &N, &OC};
    return launch(FN(k_bias_grad), OC, args);
}

int mpt_tr_k_loss_fwd(float *losses, const void *logits, const int32_t *targets, int dt, int N,
                      int V)
{
    void *args[] = {&losses, &logits, &targets, &dt, &N, &V};
    return launch(FN(k_loss_fwd), N, args);
}

int mpt_tr_k_loss_bwd(void *dlogits, const void *logits, const int32_t *targets, int dt, int N,
                      int V, float dscale)
{
    void *args[] = {&dlogits, &logits, &targets, &dt, &N, &V, &dscale};
    return launch(FN(k_loss_bwd), N, args);
}

int mpt_tr_k_unscale(float *grads, long n, float inv_scale, float *sumsq, float *nonfinite)
{
    void *args[] = {&grads, &n, &inv_scale, &sumsq, &nonfinite};
    /* exactly MPT_TR_UNSCALE_PARTIALS threads: one partial each */
    return launch_n(FN(k_unscale), MPT_TR_UNSCALE_PARTIALS, args, MPT_TR_UNSCALE_PARTIALS / BLOCK);
}

int mpt_tr_k_adamw(float *params, float *m, float *v, const float *grads, long n, float lr,
                   float beta1, float beta2, float bc1, float bc2, float eps, float wd, float clip,
                   int round_bf16, unsigned int *lost)
{
    adamw_args a = {lr, beta1, beta2, bc1, bc2, eps, wd, clip, round_bf16};
    void *args[] = {&params, &m, &v, &grads, &n, &a, &lost};
    return launch(FN(k_adamw), n, args);
}

int mpt_tr_k_sgd(float *params, float *buf, const float *grads, long n, float lr, float momentum,
                 float wd, float clip, int round_bf16, unsigned int *lost)
{
    sgd_args a = {lr, momentum, wd, clip, round_bf16};
    void *args[] = {&params, &buf, &grads, &n, &a, &lost};
    return launch(FN(k_sgd), n, args);
}

int mpt_tr_k_count_nonfinite(unsigned int *count, const void *x, int dt, long n)
{
    void *args[] = {&count, &x, &dt, &n};
    return launch(FN(k_count_nonfinite), n, args);
}
