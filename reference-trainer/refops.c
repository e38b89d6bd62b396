/*
 * Double-precision reference ops (contract in refops.h). Written for obviousness, not speed:
 * each backward is the textbook derivative of its forward, loop for loop.
 */
#include "reference-trainer/refops.h"

#include <math.h>
#include <stddef.h>

#define EPS 1e-5

void mpt_tr_ref_embed_fwd(double *out, const int32_t *tok, const double *wte, const double *wpe,
                          int B, int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t row = (size_t)b * T + t;
            for (int c = 0; c < C; c++)
                out[row * C + c] = wte[(size_t)tok[row] * C + c] + wpe[(size_t)t * C + c];
        }
}

void mpt_tr_ref_embed_bwd(double *dwte, double *dwpe, const double *dout, const int32_t *tok, int B,
                          int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t row = (size_t)b * T + t;
            for (int c = 0; c < C; c++) {
                dwte[(size_t)tok[row] * C + c] += dout[row * C + c];
                dwpe[(size_t)t * C + c] += dout[row * C + c];
            }
        }
}

void mpt_tr_ref_layernorm_fwd(double *out, double *mean, double *rstd, const double *inp,
                              const double *w, const double *b, int N, int C)
{
    for (int i = 0; i < N; i++) {
        const double *x = inp + (size_t)i * C;
        double m = 0.0, v = 0.0;
        for (int c = 0; c < C; c++)
            m += x[c];
        m /= C;
        for (int c = 0; c < C; c++)
            v += (x[c] - m) * (x[c] - m);
        v /= C;
        double s = 1.0 / sqrt(v + EPS);
        for (int c = 0; c < C; c++)
            out[(size_t)i * C + c] = (x[c] - m) * s * w[c] + (b ? b[c] : 0.0);
        mean[i] = m;
        rstd[i] = s;
    }
}

void mpt_tr_ref_layernorm_bwd(double *dinp, double *dw, double *db, const double *dout,
                              const double *inp, const double *w, const double *mean,
                              const double *rstd, int N, int C)
{
    for (int i = 0; i < N; i++) {
        const double *x = inp + (size_t)i * C, *dy = dout + (size_t)i * C;
        double s = rstd[i], m = mean[i];
        /* with xhat = (x - m) s and g = dy * w: dx = s (g - mean(g) - xhat mean(g xhat)) */
        double mg = 0.0, mgx = 0.0;
        for (int c = 0; c < C; c++) {
            double xhat = (x[c] - m) * s;
            mg += dy[c] * w[c];
            mgx += dy[c] * w[c] * xhat;
        }
        mg /= C;
        mgx /= C;
        for (int c = 0; c < C; c++) {
            double xhat = (x[c] - m) * s;
            dinp[(size_t)i * C + c] += s * (dy[c] * w[c] - mg - xhat * mgx);
            dw[c] += dy[c] * xhat;
            if (db) db[c] += dy[c];
        }
    }
}

void mpt_tr_ref_rmsnorm_fwd(double *out, double *rstd, const double *inp, const double *w, int N,
                            int C)
{
    for (int i = 0; i < N; i++) {
        const double *x = inp + (size_t)i * C;
        double ms = 0.0;
        for (int c = 0; c < C; c++)
            ms += x[c] * x[c];
        double s = 1.0 / sqrt(ms / C + EPS);
        for (int c = 0; c < C; c++)
            out[(size_t)i * C + c] = x[c] * s * w[c];
        rstd[i] = s;
    }
}

void mpt_tr_ref_rmsnorm_bwd(double *dinp, double *dw, const double *dout, const double *inp,
                            const double *w, const double *rstd, int N, int C)
{
    for (int i = 0; i < N; i++) {
        const double *x = inp + (size_t)i * C, *dy = dout + (size_t)i * C;
        double s = rstd[i];
        /* y = x s w with ds/dx_j = -s^3 x_j / C: dx = s g - s^3 x mean(g x), g = dy w */
        double mgx = 0.0;
        for (int c = 0; c < C; c++)
            mgx += dy[c] * w[c] * x[c];
        mgx /= C;
        for (int c = 0; c < C; c++) {
            dinp[(size_t)i * C + c] += s * dy[c] * w[c] - s * s * s * x[c] * mgx;
            dw[c] += dy[c] * x[c] * s;
        }
    }
}

void mpt_tr_ref_matmul_fwd(double *out, const double *inp, const double *w, const double *bias,
                           int N, int IC, int OC)
{
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OC; o++) {
            double acc = bias ? bias[o] : 0.0;
            for (int c = 0; c < IC; c++)
                acc += inp[(size_t)i * IC + c] * w[(size_t)o * IC + c];
            out[(size_t)i * OC + o] = acc;
        }
}

void mpt_tr_ref_matmul_bwd(double *dinp, double *dw, double *dbias, const double *dout,
                           const double *inp, const double *w, int N, int IC, int OC)
{
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OC; o++) {
            double g = dout[(size_t)i * OC + o];
            for (int c = 0; c < IC; c++) {
                dinp[(size_t)i * IC + c] += g * w[(size_t)o * IC + c];
                dw[(size_t)o * IC + c] += g * inp[(size_t)i * IC + c];
            }
            if (dbias) dbias[o] += g;
        }
}

/* Index of (b, h, t, d) in a (B,H,T,hs) tensor. */
static size_t bhtd(int b, int h, int t, int d, int H, int T, int hs)
{
    return (((size_t)b * H + h) * T + t) * hs + d;
}

void mpt_tr_ref_split_heads(double *q, double *k, double *v, const double *qkv, int B, int T, int C,
                            int H)
{
    int hs = C / H;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
                for (int d = 0; d < hs; d++) {
                    const double *row = qkv + ((size_t)b * T + t) * 3 * C;
                    size_t i = bhtd(b, h, t, d, H, T, hs);
                    q[i] = row[h * hs + d];
                    k[i] = row[C + h * hs + d];
                    v[i] = row[2 * C + h * hs + d];
                }
}

void mpt_tr_ref_split_heads_bwd(double *dqkv, const double *dq, const double *dk, const double *dv,
                                int B, int T, int C, int H)
{
    int hs = C / H;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
                for (int d = 0; d < hs; d++) {
                    double *row = dqkv + ((size_t)b * T + t) * 3 * C;
                    size_t i = bhtd(b, h, t, d, H, T, hs);
                    row[h * hs + d] += dq[i];
                    row[C + h * hs + d] += dk[i];
                    row[2 * C + h * hs + d] += dv[i];
                }
}

void mpt_tr_ref_merge_heads(double *out, const double *y, int B, int T, int C, int H)
{
    int hs = C / H;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
                for (int d = 0; d < hs; d++)
                    out[((size_t)b * T + t) * C + h * hs + d] = y[bhtd(b, h, t, d, H, T, hs)];
}

void mpt_tr_ref_merge_heads_bwd(double *dy, const double *dout, int B, int T, int C, int H)
{
    int hs = C / H;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
                for (int d = 0; d < hs; d++)
                    dy[bhtd(b, h, t, d, H, T, hs)] += dout[((size_t)b * T + t) * C + h * hs + d];
}

void mpt_tr_ref_scores_fwd(double *s, const double *q, const double *k, double scale, int BH, int T,
                           int hs)
{
    for (int bh = 0; bh < BH; bh++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                double acc = 0.0;
                for (int d = 0; d < hs; d++)
                    acc += q[((size_t)bh * T + i) * hs + d] * k[((size_t)bh * T + j) * hs + d];
                s[((size_t)bh * T + i) * T + j] = scale * acc;
            }
}

void mpt_tr_ref_scores_bwd(double *dq, double *dk, const double *ds, const double *q,
                           const double *k, double scale, int BH, int T, int hs)
{
    for (int bh = 0; bh < BH; bh++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                double g = scale * ds[((size_t)bh * T + i) * T + j];
                for (int d = 0; d < hs; d++) {
                    dq[((size_t)bh * T + i) * hs + d] += g * k[((size_t)bh * T + j) * hs + d];
                    dk[((size_t)bh * T + j) * hs + d] += g * q[((size_t)bh * T + i) * hs + d];
                }
            }
}

void mpt_tr_ref_softmax_causal_fwd(double *p, const double *s, int BH, int T)
{
    for (size_t r = 0; r < (size_t)BH * T; r++) {
        int t = (int)(r % (size_t)T);
        const double *x = s + r * T;
        double *y = p + r * T;
        double mx = x[0];
        for (int j = 1; j <= t; j++)
            mx = x[j] > mx ? x[j] : mx;
        double sum = 0.0;
        for (int j = 0; j <= t; j++)
            sum += exp(x[j] - mx);
        for (int j = 0; j < T; j++)
            y[j] = j <= t ? exp(x[j] - mx) / sum : 0.0;
    }
}

void mpt_tr_ref_softmax_causal_bwd(double *ds, const double *dp, const double *p, int BH, int T)
{
    for (size_t r = 0; r < (size_t)BH * T; r++) {
        const double *y = p + r * T, *dy = dp + r * T;
        double dot = 0.0;
        for (int j = 0; j < T; j++)
            dot += y[j] * dy[j];
        for (int j = 0; j < T; j++)
            ds[r * T + j] += y[j] * (dy[j] - dot);
    }
}

void mpt_tr_ref_pv_fwd(double *y, const double *p, const double *v, int BH, int T, int hs)
{
    for (int bh = 0; bh < BH; bh++)
        for (int i = 0; i < T; i++)
            for (int d = 0; d < hs; d++) {
                double acc = 0.0;
                for (int j = 0; j < T; j++)
                    acc += p[((size_t)bh * T + i) * T + j] * v[((size_t)bh * T + j) * hs + d];
                y[((size_t)bh * T + i) * hs + d] = acc;
            }
}

void mpt_tr_ref_pv_bwd(double *dp, double *dv, const double *dy, const double *p, const double *v,
                       int BH, int T, int hs)
{
    for (int bh = 0; bh < BH; bh++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++)
                for (int d = 0; d < hs; d++) {
                    double g = dy[((size_t)bh * T + i) * hs + d];
                    dp[((size_t)bh * T + i) * T + j] += g * v[((size_t)bh * T + j) * hs + d];
                    dv[((size_t)bh * T + j) * hs + d] += g * p[((size_t)bh * T + i) * T + j];
                }
}

double mpt_tr_ref_gelu(double x)
{
    const double k = sqrt(2.0 / M_PI);
    return 0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x)));
}

double mpt_tr_ref_gelu_grad(double x)
{
    const double k = sqrt(2.0 / M_PI);
    double u = k * (x + 0.044715 * x * x * x);
    double th = tanh(u);
    double du = k * (1.0 + 3.0 * 0.044715 * x * x);
    return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * du;
}

void mpt_tr_ref_gelu_fwd(double *out, const double *inp, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = mpt_tr_ref_gelu(inp[i]);
}

void mpt_tr_ref_gelu_bwd(double *dinp, const double *dout, const double *inp, int n)
{
    for (int i = 0; i < n; i++)
        dinp[i] += dout[i] * mpt_tr_ref_gelu_grad(inp[i]);
}

void mpt_tr_ref_residual_fwd(double *out, const double *a, const double *b, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void mpt_tr_ref_residual_bwd(double *da, double *db, const double *dout, int n)
{
    for (int i = 0; i < n; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}

double mpt_tr_ref_crossentropy_fwd(const double *logits, const int32_t *targets, int N, int V)
{
    double total = 0.0;
    for (int i = 0; i < N; i++) {
        const double *x = logits + (size_t)i * V;
        double mx = x[0];
        for (int j = 1; j < V; j++)
            mx = x[j] > mx ? x[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < V; j++)
            sum += exp(x[j] - mx);
        total += log(sum) + mx - x[targets[i]];
    }
    return total / N;
}

void mpt_tr_ref_crossentropy_bwd(double *dlogits, const double *logits, const int32_t *targets,
                                 double dloss, int N, int V)
{
    for (int i = 0; i < N; i++) {
        const double *x = logits + (size_t)i * V;
        double mx = x[0];
        for (int j = 1; j < V; j++)
            mx = x[j] > mx ? x[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < V; j++)
            sum += exp(x[j] - mx);
        for (int j = 0; j < V; j++) {
            double p = exp(x[j] - mx) / sum;
            dlogits[(size_t)i * V + j] += dloss * (p - (j == targets[i] ? 1.0 : 0.0)) / N;
        }
    }
}
