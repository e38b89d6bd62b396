/*
 * The precision sample: for a few output elements of a GEMM (64 by default, positions drawn
 * from a generator seeded by (MPTRACE_SEED, the GEMM's sequence number), so a rerun samples the
 * same places), recompute the exact value from the actual inputs and compare with what the
 * library stored. This is what exposes fp16 accumulation, TF32 where fp32 was meant, and
 * catastrophic cancellation; it also counts underflow (an exact value that is nonzero but was
 * stored as zero or as a subnormal: an fp16 GEMM whose true results are 2^-25 stores zeros).
 *
 * "Exact": every product of two fp32 (or narrower) values is exact in double, and the sum is
 * compensated (Neumaier), so the reference is correct to about one double ulp of the result
 * unless the sum cancels below 2^-100 of its terms — far below any output type's precision.
 * alpha, beta, C (read before the call), the bias and the epilogue (ReLU, or GELU in its tanh
 * form as cuBLASLt computes it) are applied in double after the sum.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interposer/ipx.h"

uint64_t mpt_ipx_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void mpt_ipx_sample_free(mpt_ipx_sample *s)
{
    if (!s) return;
    free(s->b);
    free(s->i);
    free(s->j);
    free(s->c_old);
    free(s);
}

mpt_ipx_sample *mpt_ipx_sample_plan(const mpt_ipx_gemm *g, int k, uint64_t seed, uint64_t seq,
                                    double beta)
{
    uint64_t per = (uint64_t)g->m * (uint64_t)g->n, total = per * (uint64_t)g->batch;
    if (k <= 0 || total == 0) return NULL;
    size_t n = total < (uint64_t)k ? (size_t)total : (size_t)k;
    uint64_t *flat = malloc(n * sizeof *flat);
    mpt_ipx_sample *s = calloc(1, sizeof *s);
    if (!flat || !s) {
        free(flat);
        free(s);
        return NULL;
    }
    if (total <= (uint64_t)k) {
        for (size_t x = 0; x < n; x++)
            flat[x] = x;
    } else {
        /* Distinct positions: draw, sort, drop duplicates, draw again for the missing. */
        uint64_t st = seed ^ (seq * 0xd1342543de82ef95ull);
        size_t have = 0;
        while (have < n) {
            for (size_t x = have; x < n; x++)
                flat[x] = mpt_ipx_splitmix(&st) % total;
            qsort(flat, n, sizeof *flat, cmp_u64);
            have = 0;
            for (size_t x = 0; x < n; x++)
                if (have == 0 || flat[x] != flat[have - 1]) flat[have++] = flat[x];
        }
    }
    s->n = (int)n;
    s->b = malloc(n * sizeof *s->b);
    s->i = malloc(n * sizeof *s->i);
    s->j = malloc(n * sizeof *s->j);
    s->c_old = malloc(n * sizeof *s->c_old);
    if (!s->b || !s->i || !s->j || !s->c_old) {
        free(flat);
        mpt_ipx_sample_free(s);
        return NULL;
    }
    for (size_t x = 0; x < n; x++) {
        uint64_t f = flat[x], in = f % per;
        s->b[x] = (int64_t)(f / per);
        s->j[x] = (int64_t)(in / (uint64_t)g->m); /* column-major order of D's positions */
        s->i[x] = (int64_t)(in % (uint64_t)g->m);
        s->c_old[x] = beta != 0 && g->c.rows > 0
                          ? mpt_ipx_operand_load(&g->c, s->b[x], s->i[x], s->j[x])
                          : 0.0;
    }
    free(flat);
    return s;
}

/* op(A)(i, l) and op(B)(l, j) from the stored operands. */
static double op_a(const mpt_ipx_gemm *g, int64_t b, int64_t i, int64_t l)
{
    return g->transa ? mpt_ipx_operand_load(&g->a, b, l, i) : mpt_ipx_operand_load(&g->a, b, i, l);
}

static double op_b(const mpt_ipx_gemm *g, int64_t b, int64_t l, int64_t j)
{
    return g->transb ? mpt_ipx_operand_load(&g->b, b, j, l) : mpt_ipx_operand_load(&g->b, b, l, j);
}

static double gelu_tanh(double x)
{
    return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

double mpt_ipx_sample_exact(const mpt_ipx_gemm *g, const mpt_ipx_sample *s, int idx, double alpha,
                            double beta)
{
    int64_t b = s->b[idx], i = s->i[idx], j = s->j[idx];
    double sum = 0.0, comp = 0.0;
    for (int64_t l = 0; l < g->k; l++) {
        double p = op_a(g, b, i, l) * op_b(g, b, l, j);
        double t = sum + p;
        /* Neumaier: the rounding error of each addition, whichever operand is larger. */
        comp += fabs(sum) >= fabs(p) ? (sum - t) + p : (p - t) + sum;
        sum = t;
    }
    double v = alpha * (sum + comp);
    if (beta != 0) v += beta * s->c_old[idx];
    if (g->bias) v += mpt_dtype_load(g->bias_dtype, g->bias, (size_t)i);
    switch (g->epilogue) {
    case MPT_EPI_RELU:
    case MPT_EPI_RELU_BIAS: v = v > 0 ? v : 0.0; break;
    case MPT_EPI_GELU:
    case MPT_EPI_GELU_BIAS: v = gelu_tanh(v); break;
    default: break;
    }
    return v;
}

/* One unit in the last place of dtype at |x|. */
static double ulp_at(const mpt_dtype_info *di, double x)
{
    double a = fabs(x);
    if (a < di->min_normal) return di->min_subnormal;
    int e;
    frexp(a, &e); /* a = f * 2^e, f in [0.5, 1) */
    return ldexp(1.0, e - 1 - di->man_bits);
}

void mpt_ipx_sample_summary(mpt_dtype dtype, const double *pairs, int n, mpt_trace_precision *p)
{
    memset(p, 0, sizeof *p);
    p->dtype = dtype;
    p->max_rel_err = p->mean_rel_err = p->max_ulp_err = p->mean_ulp_err = NAN;
    const mpt_dtype_info *di = mpt_dtype_get_info(dtype);
    if (!pairs || !di) return;
    double sum_rel = 0, sum_ulp = 0, max_rel = 0, max_ulp = 0, max_abs = 0;
    uint64_t eligible = 0;
    for (int x = 0; x < n; x++) {
        double e = pairs[2 * x], st = pairs[2 * x + 1];
        p->samples++;
        if (!isfinite(e)) continue;
        double ae = fabs(e);
        if (ae > max_abs) max_abs = ae;
        if (ae > di->max_finite) {
            p->overflow++;
            continue;
        }
        if (e != 0 && (st == 0 || (isfinite(st) && fabs(st) < di->min_normal))) p->underflow++;
        if (e == 0 || !isfinite(st)) continue;
        double err = fabs(st - e), rel = err / ae, ulp = err / ulp_at(di, e);
        sum_rel += rel;
        sum_ulp += ulp;
        if (rel > max_rel) max_rel = rel;
        if (ulp > max_ulp) max_ulp = ulp;
        eligible++;
    }
    p->max_exact_abs = max_abs;
    if (eligible) {
        p->max_rel_err = max_rel;
        p->mean_rel_err = sum_rel / (double)eligible;
        p->max_ulp_err = max_ulp;
        p->mean_ulp_err = sum_ulp / (double)eligible;
    }
}

void mpt_ipx_sample_measure(const mpt_ipx_gemm *g, const mpt_ipx_sample *s, double alpha,
                            double beta, mpt_trace_precision *p)
{
    double *pairs = s ? malloc(2 * (size_t)s->n * sizeof *pairs) : NULL;
    if (pairs)
        for (int x = 0; x < s->n; x++) {
            pairs[2 * x] = mpt_ipx_sample_exact(g, s, x, alpha, beta);
            pairs[2 * x + 1] = mpt_ipx_operand_load(&g->d, s->b[x], s->i[x], s->j[x]);
        }
    mpt_ipx_sample_summary(g->d.dtype, pairs, pairs ? s->n : 0, p);
    free(pairs);
}
