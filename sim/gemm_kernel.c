/*
 * simcuda's GEMM engine (contract in sim_gemm.h). One batched product is done as:
 *
 *   32F family  every operand that is not already usable fp32 is converted into a contiguous
 *               fp32 panel (16-bit types decoded exactly; fp32 inputs rounded to tf32/fp16/bf16
 *               for the FAST compute types), OpenBLAS sgemm forms the fp32 products, and the
 *               epilogue scales, adds C and bias, activates and rounds into D's type. Plain
 *               fp32 in and out with no epilogue goes straight to sgemm with alpha and beta.
 *   64F         the same around dgemm.
 *   16F         a scalar loop that keeps the accumulator in fp16, rounding after every
 *               multiply-add: slow (no BLAS does this) but it is what the product must show.
 *
 * Panels live in per-thread buffers that only grow, so repeated calls do not fault pages in.
 */
#include "sim/sim_gemm.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/fpformat.h"

/* ---- per-thread scratch ------------------------------------------------------------------ */

enum { BUF_A, BUF_B, BUF_T, BUF_COUNT };

typedef struct scratch {
    void *p[BUF_COUNT];
    size_t cap[BUF_COUNT]; /* bytes */
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static __thread scratch *tls_scratch;

static void scratch_free(void *arg)
{
    scratch *s = arg;
    for (int i = 0; i < BUF_COUNT; i++)
        free(s->p[i]);
    free(s);
}

static void scratch_init_key(void)
{
    (void)pthread_key_create(&scratch_key, scratch_free);
}

static void *scratch_get(int slot, size_t bytes)
{
    pthread_once(&scratch_once, scratch_init_key);
    if (!tls_scratch) {
        tls_scratch = calloc(1, sizeof(*tls_scratch));
        if (!tls_scratch) return NULL;
        (void)pthread_setspecific(scratch_key, tls_scratch);
    }
    scratch *s = tls_scratch;
    if (bytes > s->cap[slot]) {
        free(s->p[slot]);
        s->p[slot] = NULL;
        s->cap[slot] = 0;
        if (posix_memalign(&s->p[slot], 64, bytes) != 0) {
            s->p[slot] = NULL;
            return NULL;
        }
        s->cap[slot] = bytes;
    }
    return s->p[slot] ? s->p[slot] : (bytes == 0 ? (void *)s : NULL);
}

/* ---- element access ---------------------------------------------------------------------- */

static float f16_table[65536];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;

static void f16_table_init(void)
{
    for (uint32_t h = 0; h < 65536u; h++)
        f16_table[h] = mpt_f16_to_f32((uint16_t)h);
}

size_t sim_type_size(sim_type t)
{
    switch (t) {
    case SIM_T_F32:
        return 4;
    case SIM_T_F64:
        return 8;
    case SIM_T_F16:
    case SIM_T_BF16:
        return 2;
    default:
        return 0;
    }
}

static inline float load_f32(sim_type t, const void *base, int64_t i)
{
    switch (t) {
    case SIM_T_F32:
        return ((const float *)base)[i];
    case SIM_T_F16:
        return f16_table[((const uint16_t *)base)[i]];
    case SIM_T_BF16:
        return mpt_bf16_to_f32(((const uint16_t *)base)[i]);
    case SIM_T_F64:
        return (float)((const double *)base)[i];
    default:
        return 0.0f;
    }
}

double sim_load(sim_type t, const void *base, int64_t index)
{
    pthread_once(&f16_once, f16_table_init);
    if (t == SIM_T_F64) return ((const double *)base)[index];
    return (double)load_f32(t, base, index);
}

static inline void store_f32(sim_type t, void *base, int64_t i, float v)
{
    switch (t) {
    case SIM_T_F32:
        ((float *)base)[i] = v;
        break;
    case SIM_T_F16:
        ((uint16_t *)base)[i] = mpt_f32_to_f16(v);
        break;
    case SIM_T_BF16:
        ((uint16_t *)base)[i] = mpt_f32_to_bf16(v);
        break;
    case SIM_T_F64:
        ((double *)base)[i] = (double)v;
        break;
    default:
        break;
    }
}

float sim_round_f64_to_f16(double x)
{
    float f = (float)x;
    if (isfinite(x) && (double)f != x) {
        /* Round to odd: truncate toward zero, then set the last bit. With 24 >= 11 + 2 bits
         * the following RNE to fp16 then equals rounding x directly. */
        uint32_t u = mpt_f32_bits(f);
        if (fabs((double)f) > fabs(x)) u -= 1u;
        f = mpt_f32_from_bits(u | 1u);
    }
    return mpt_f16_to_f32(mpt_f32_to_f16(f));
}

/* The base of operand `x` for batch `b`. */
static inline const char *mat_base(const sim_matrix *x, int64_t b)
{
    if (x->ptrs) return x->ptrs[b];
    return (const char *)x->ptr + (size_t)(b * x->stride) * sim_type_size(x->type);
}

/* Index of element (i, j) of an m x n output-shaped operand. */
static inline int64_t out_index(const sim_matrix *x, int64_t i, int64_t j)
{
    return x->row_major ? i * x->ld + j : i + j * x->ld;
}

/* ---- fp32 panels ------------------------------------------------------------------------- */

typedef enum round_mode { ROUND_NONE, ROUND_TF32, ROUND_F16, ROUND_BF16 } round_mode;

static round_mode input_rounding(sim_compute c)
{
    switch (c) {
    case SIM_C_32F_TF32:
        return ROUND_TF32;
    case SIM_C_32F_16F:
        return ROUND_F16;
    case SIM_C_32F_16BF:
        return ROUND_BF16;
    default:
        return ROUND_NONE;
    }
}

static inline float round_input(round_mode r, float v)
{
    switch (r) {
    case ROUND_TF32:
        return mpt_f32_to_tf32(v);
    case ROUND_F16:
        return f16_table[mpt_f32_to_f16(v)];
    case ROUND_BF16:
        return mpt_bf16_to_f32(mpt_f32_to_bf16(v));
    default:
        return v;
    }
}

/* An operand as BLAS sees it: a column-major view plus whether BLAS must transpose it. */
typedef struct blas_view {
    const void *p;
    int64_t ld;
    int trans;
} blas_view;

/* Operand `x` of batch `b`, whose op() result is rows x cols with op = transpose when `trans`,
 * as an fp32 column-major view. A row-major matrix is the column-major storage of its
 * transpose, so it only flips `trans`. Converts into scratch `slot` when needed. */
static int f32_view(const sim_matrix *x, int64_t b, int trans, int64_t rows, int64_t cols,
                    round_mode r, int slot, blas_view *out)
{
    const char *base = mat_base(x, b);
    int t = trans ^ (x->row_major != 0);
    /* Stored column-major shape of the view. */
    int64_t vr = t ? cols : rows, vc = t ? rows : cols;
    if (x->type == SIM_T_F32 && r == ROUND_NONE) {
        out->p = base;
        out->ld = x->ld;
        out->trans = t;
        return 0;
    }
    float *dst = scratch_get(slot, (size_t)(vr * vc) * sizeof(float) + 64);
    if (!dst) return -1;
    for (int64_t j = 0; j < vc; j++) {
        float *col = dst + j * vr;
        int64_t off = j * x->ld;
        if (x->type == SIM_T_F16) { /* the hot cases, without a per-element switch */
            const uint16_t *s = (const uint16_t *)base + off;
            for (int64_t i = 0; i < vr; i++)
                col[i] = f16_table[s[i]];
        } else if (x->type == SIM_T_BF16) {
            const uint16_t *s = (const uint16_t *)base + off;
            for (int64_t i = 0; i < vr; i++)
                col[i] = mpt_bf16_to_f32(s[i]);
        } else if (x->type == SIM_T_F32 && r == ROUND_TF32) {
            const float *s = (const float *)base + off;
            for (int64_t i = 0; i < vr; i++)
                col[i] = mpt_f32_to_tf32(s[i]);
        } else {
            for (int64_t i = 0; i < vr; i++)
                col[i] = round_input(r, load_f32(x->type, base, off + i));
        }
    }
    out->p = dst;
    out->ld = vr > 0 ? vr : 1;
    out->trans = t;
    return 0;
}

static inline float activate_f(sim_activation a, float v)
{
    switch (a) {
    case SIM_ACT_RELU:
        return fmaxf(v, 0.0f);
    case SIM_ACT_GELU: {
        const float k0 = 0.7978845608028654f, k1 = 0.044715f;
        return 0.5f * v * (1.0f + tanhf(k0 * (v + k1 * v * v * v)));
    }
    default:
        return v;
    }
}

static inline double activate_d(sim_activation a, double v)
{
    switch (a) {
    case SIM_ACT_RELU:
        return fmax(v, 0.0);
    case SIM_ACT_GELU:
        return 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    default:
        return v;
    }
}

/* ---- 32F family ---------------------------------------------------------------------------- */

static int direct_f32(const sim_gemm *g)
{
    return g->d.type == SIM_T_F32 && !g->d.row_major && g->activation == SIM_ACT_NONE && !g->bias &&
           g->k > 0 && g->alpha != 0.0 &&
           (g->beta == 0.0 || (g->c.type == SIM_T_F32 && !g->c.row_major));
}

static sim_gemm_status run_f32(const sim_gemm *g, int64_t b)
{
    round_mode r = input_rounding(g->compute);
    float alpha = (float)g->alpha, beta = (float)g->beta;
    char *d = (char *)mat_base(&g->d, b);
    const char *c = g->beta != 0.0 ? mat_base(&g->c, b) : NULL;
    blas_view va, vb;
    int have_products = g->k > 0 && g->alpha != 0.0;
    if (have_products && (f32_view(&g->a, b, g->trans_a, g->m, g->k, r, BUF_A, &va) ||
                          f32_view(&g->b, b, g->trans_b, g->k, g->n, r, BUF_B, &vb)))
        return SIM_GEMM_NO_MEMORY;

    if (direct_f32(g)) {
        float *df = (float *)d;
        if (c && c != d) /* out of place: D = C first, then D = alpha AB + beta D */
            for (int64_t j = 0; j < g->n; j++)
                memmove(df + j * g->d.ld, (const float *)c + j * g->c.ld,
                        (size_t)g->m * sizeof(float));
        cblas_sgemm(CblasColMajor, va.trans ? CblasTrans : CblasNoTrans,
                    vb.trans ? CblasTrans : CblasNoTrans, (int)g->m, (int)g->n, (int)g->k, alpha,
                    va.p, (int)va.ld, vb.p, (int)vb.ld, c ? beta : 0.0f, df, (int)g->d.ld);
        return SIM_GEMM_OK;
    }

    float *t = scratch_get(BUF_T, (size_t)(g->m * g->n) * sizeof(float) + 64);
    if (!t) return SIM_GEMM_NO_MEMORY;
    if (have_products)
        cblas_sgemm(CblasColMajor, va.trans ? CblasTrans : CblasNoTrans,
                    vb.trans ? CblasTrans : CblasNoTrans, (int)g->m, (int)g->n, (int)g->k, 1.0f,
                    va.p, (int)va.ld, vb.p, (int)vb.ld, 0.0f, t, (int)g->m);
    else
        memset(t, 0, (size_t)(g->m * g->n) * sizeof(float));

    const char *bias =
        g->bias ? (const char *)g->bias + (size_t)(b * g->bias_stride) * sim_type_size(g->bias_type)
                : NULL;
    if (!c && !bias && g->activation == SIM_ACT_NONE && !g->d.row_major &&
        (g->d.type == SIM_T_F16 || g->d.type == SIM_T_BF16)) {
        /* The common mixed-precision epilogue: scale (t is our scratch), then round with the
         * vectorised array encoders, one call per column (one in all when D is packed). */
        if (alpha != 1.0f)
            for (int64_t i = 0; i < g->m * g->n; i++)
                t[i] *= alpha;
        int64_t runs = g->d.ld == g->m ? 1 : g->n;
        size_t run_len = (size_t)(runs == 1 ? g->m * g->n : g->m);
        for (int64_t j = 0; j < runs; j++) {
            uint16_t *dc = (uint16_t *)d + j * g->d.ld;
            const float *tc = t + j * g->m;
            if (g->d.type == SIM_T_F16)
                mpt_f32_to_f16_array(dc, tc, run_len);
            else
                mpt_f32_to_bf16_array(dc, tc, run_len);
        }
        return SIM_GEMM_OK;
    }
    for (int64_t j = 0; j < g->n; j++) {
        for (int64_t i = 0; i < g->m; i++) {
            float v = alpha * t[i + j * g->m];
            if (c) v = fmaf(beta, load_f32(g->c.type, c, out_index(&g->c, i, j)), v);
            if (bias) v += load_f32(g->bias_type, bias, i);
            store_f32(g->d.type, d, out_index(&g->d, i, j), activate_f(g->activation, v));
        }
    }
    return SIM_GEMM_OK;
}

/* ---- 64F ----------------------------------------------------------------------------------- */

static sim_gemm_status run_f64(const sim_gemm *g, int64_t b)
{
    const char *a = mat_base(&g->a, b), *bb = mat_base(&g->b, b);
    const char *c = g->beta != 0.0 ? mat_base(&g->c, b) : NULL;
    double *d = (double *)mat_base(&g->d, b);
    int ta = g->trans_a ^ (g->a.row_major != 0), tb = g->trans_b ^ (g->b.row_major != 0);
    int have_products = g->k > 0 && g->alpha != 0.0;
    const double *bias = g->bias ? (const double *)g->bias + b * g->bias_stride : NULL;

    if (have_products && !g->d.row_major && g->activation == SIM_ACT_NONE && !bias &&
        (!c || !g->c.row_major)) {
        if (c && (const char *)d != c)
            for (int64_t j = 0; j < g->n; j++)
                memmove(d + j * g->d.ld, (const double *)c + j * g->c.ld,
                        (size_t)g->m * sizeof(double));
        cblas_dgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    (int)g->m, (int)g->n, (int)g->k, g->alpha, (const double *)a, (int)g->a.ld,
                    (const double *)bb, (int)g->b.ld, c ? g->beta : 0.0, d, (int)g->d.ld);
        return SIM_GEMM_OK;
    }
    double *t = scratch_get(BUF_T, (size_t)(g->m * g->n) * sizeof(double) + 64);
    if (!t) return SIM_GEMM_NO_MEMORY;
    if (have_products)
        cblas_dgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    (int)g->m, (int)g->n, (int)g->k, 1.0, (const double *)a, (int)g->a.ld,
                    (const double *)bb, (int)g->b.ld, 0.0, t, (int)g->m);
    else
        memset(t, 0, (size_t)(g->m * g->n) * sizeof(double));
    for (int64_t j = 0; j < g->n; j++) {
        for (int64_t i = 0; i < g->m; i++) {
            double v = g->alpha * t[i + j * g->m];
            if (c) v = fma(g->beta, ((const double *)c)[out_index(&g->c, i, j)], v);
            if (bias) v += bias[i];
            d[out_index(&g->d, i, j)] = activate_d(g->activation, v);
        }
    }
    return SIM_GEMM_OK;
}

/* ---- 16F: fp16 accumulation ---------------------------------------------------------------- */

/* op(X) of batch b as a panel whose "lines" are contiguous along k: for A, line i holds
 * op(A)(i, 0..k-1); for B, line j holds op(B)(0..k-1, j). */
static float *k_panel(const sim_matrix *x, int64_t b, int trans, int is_b, int64_t lines, int64_t k,
                      int slot)
{
    const char *base = mat_base(x, b);
    float *dst = scratch_get(slot, (size_t)(lines * k) * sizeof(float) + 64);
    if (!dst) return NULL;
    for (int64_t l = 0; l < lines; l++) {
        for (int64_t p = 0; p < k; p++) {
            /* Stored (row, col) of op(X)(l, p) for A, of op(X)(p, l) for B. */
            int64_t r = is_b ? p : l, c = is_b ? l : p;
            if (trans) {
                int64_t tmp = r;
                r = c;
                c = tmp;
            }
            dst[l * k + p] = load_f32(x->type, base, out_index(x, r, c));
        }
    }
    return dst;
}

static sim_gemm_status run_f16(const sim_gemm *g, int64_t b)
{
    float *pa = NULL, *pb = NULL;
    int have_products = g->k > 0 && g->alpha != 0.0;
    if (have_products) {
        pa = k_panel(&g->a, b, g->trans_a, 0, g->m, g->k, BUF_A);
        pb = k_panel(&g->b, b, g->trans_b, 1, g->n, g->k, BUF_B);
        if (!pa || !pb) return SIM_GEMM_NO_MEMORY;
    }
    const char *c = g->beta != 0.0 ? mat_base(&g->c, b) : NULL;
    char *d = (char *)mat_base(&g->d, b);
    const char *bias =
        g->bias ? (const char *)g->bias + (size_t)(b * g->bias_stride) * sim_type_size(g->bias_type)
                : NULL;
    for (int64_t j = 0; j < g->n; j++) {
        for (int64_t i = 0; i < g->m; i++) {
            float acc = 0.0f;
            if (have_products) {
                const float *ar = pa + i * g->k, *bc = pb + j * g->k;
                for (int64_t p = 0; p < g->k; p++)
                    acc = sim_round_f64_to_f16((double)ar[p] * (double)bc[p] + (double)acc);
            }
            double v = g->alpha * (double)acc;
            if (c) v += g->beta * (double)load_f32(g->c.type, c, out_index(&g->c, i, j));
            float r = sim_round_f64_to_f16(v);
            if (bias) r = sim_round_f64_to_f16((double)r + (double)load_f32(g->bias_type, bias, i));
            if (g->activation != SIM_ACT_NONE)
                r = sim_round_f64_to_f16(activate_d(g->activation, (double)r));
            store_f32(g->d.type, d, out_index(&g->d, i, j), r);
        }
    }
    return SIM_GEMM_OK;
}

/* ---- entry ---------------------------------------------------------------------------------- */

sim_gemm_status sim_gemm_run(const sim_gemm *g)
{
    pthread_once(&f16_once, f16_table_init);
    if (g->m == 0 || g->n == 0 || g->batch == 0) return SIM_GEMM_OK;
    if (g->m < 0 || g->n < 0 || g->k < 0 || g->batch < 0 || g->m > INT32_MAX || g->n > INT32_MAX ||
        g->k > INT32_MAX || g->a.ld > INT32_MAX || g->b.ld > INT32_MAX || g->d.ld > INT32_MAX)
        return SIM_GEMM_INVALID;
    if (sim_type_size(g->a.type) == 0 || sim_type_size(g->b.type) == 0 ||
        sim_type_size(g->d.type) == 0 || (g->beta != 0.0 && sim_type_size(g->c.type) == 0))
        return SIM_GEMM_INVALID;
    int f64 = g->compute == SIM_C_64F;
    if (f64 != (g->a.type == SIM_T_F64) || f64 != (g->b.type == SIM_T_F64) ||
        f64 != (g->d.type == SIM_T_F64) || (g->bias && f64 != (g->bias_type == SIM_T_F64)))
        return SIM_GEMM_INVALID;
    for (int64_t b = 0; b < g->batch; b++) {
        sim_gemm_status st;
        switch (g->compute) {
        case SIM_C_64F:
            st = run_f64(g, b);
            break;
        case SIM_C_16F:
            st = run_f16(g, b);
            break;
        default:
            st = run_f32(g, b);
            break;
        }
        if (st != SIM_GEMM_OK) return st;
    }
    return SIM_GEMM_OK;
}
