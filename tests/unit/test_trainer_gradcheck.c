/*
 * Suite trainer_gradcheck: every op of the reference trainer's double-precision reference
 * (reference-trainer/refops.c), and the whole composed model, against central finite
 * differences in double. Table-driven: each case is a forward, a backward and input shapes;
 * the harness projects the output on a random direction r (loss = sum r * f(x)) and compares
 * d loss / d x from the backward with (loss(x + h) - loss(x - h)) / 2h for every input element.
 *
 * Forward anchors (known values, invariants) sit beside it: a forward and backward that are
 * consistently wrong would pass a gradient check alone.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference-trainer/model.h"
#include "reference-trainer/refmodel.h"
#include "reference-trainer/refops.h"
#include "reference-trainer/rng.h"

enum { B = 2, T = 5, C = 6, H = 2, V = 7, N = B * T, HS = C / H, BH = B * H };

static const int32_t tok[N] = {0, 3, 6, 1, 1, 5, 2, 4, 0, 6};
static const int32_t tgt[N] = {3, 6, 1, 1, 5, 2, 4, 0, 6, 6};

typedef struct gc_case gc_case;
struct gc_case {
    const char *name;
    int n_in;
    size_t in_len[4];
    size_t out_len;
    double amp; /* inputs drawn uniform in [-amp, amp] */
    void (*fwd)(double **in, double *out);
    void (*bwd)(double **in, const double *dout, double **din);
};

/* ---- adapters: each op as fwd(in, out) / bwd(in, dout, din) ---------------------------- */

static void embed_f(double **in, double *out)
{
    mpt_tr_ref_embed_fwd(out, tok, in[0], in[1], B, T, C);
}
static void embed_b(double **in, const double *d, double **g)
{
    (void)in;
    mpt_tr_ref_embed_bwd(g[0], g[1], d, tok, B, T, C);
}

static void ln_f(double **in, double *out)
{
    double mean[N], rstd[N];
    mpt_tr_ref_layernorm_fwd(out, mean, rstd, in[0], in[1], in[2], N, C);
}
static void ln_b(double **in, const double *d, double **g)
{
    double out[N * C], mean[N], rstd[N];
    mpt_tr_ref_layernorm_fwd(out, mean, rstd, in[0], in[1], in[2], N, C);
    mpt_tr_ref_layernorm_bwd(g[0], g[1], g[2], d, in[0], in[1], mean, rstd, N, C);
}

static void rms_f(double **in, double *out)
{
    double rstd[N];
    mpt_tr_ref_rmsnorm_fwd(out, rstd, in[0], in[1], N, C);
}
static void rms_b(double **in, const double *d, double **g)
{
    double out[N * C], rstd[N];
    mpt_tr_ref_rmsnorm_fwd(out, rstd, in[0], in[1], N, C);
    mpt_tr_ref_rmsnorm_bwd(g[0], g[1], d, in[0], in[1], rstd, N, C);
}

enum { OC = 4 };
static void mm_f(double **in, double *out)
{
    mpt_tr_ref_matmul_fwd(out, in[0], in[1], in[2], N, C, OC);
}
static void mm_b(double **in, const double *d, double **g)
{
    mpt_tr_ref_matmul_bwd(g[0], g[1], g[2], d, in[0], in[1], N, C, OC);
}
static void mmnb_f(double **in, double *out)
{
    mpt_tr_ref_matmul_fwd(out, in[0], in[1], NULL, N, C, OC);
}
static void mmnb_b(double **in, const double *d, double **g)
{
    mpt_tr_ref_matmul_bwd(g[0], g[1], NULL, d, in[0], in[1], N, C, OC);
}

static void split_f(double **in, double *out)
{
    mpt_tr_ref_split_heads(out, out + N * C, out + 2 * N * C, in[0], B, T, C, H);
}
static void split_b(double **in, const double *d, double **g)
{
    (void)in;
    mpt_tr_ref_split_heads_bwd(g[0], d, d + N * C, d + 2 * N * C, B, T, C, H);
}

static void merge_f(double **in, double *out)
{
    mpt_tr_ref_merge_heads(out, in[0], B, T, C, H);
}
static void merge_b(double **in, const double *d, double **g)
{
    (void)in;
    mpt_tr_ref_merge_heads_bwd(g[0], d, B, T, C, H);
}

static const double att_scale = 0.57735026918962576; /* 1/sqrt(HS) */
static void scores_f(double **in, double *out)
{
    mpt_tr_ref_scores_fwd(out, in[0], in[1], att_scale, BH, T, HS);
}
static void scores_b(double **in, const double *d, double **g)
{
    mpt_tr_ref_scores_bwd(g[0], g[1], d, in[0], in[1], att_scale, BH, T, HS);
}

static void smax_f(double **in, double *out)
{
    mpt_tr_ref_softmax_causal_fwd(out, in[0], BH, T);
}
static void smax_b(double **in, const double *d, double **g)
{
    double p[BH * T * T];
    mpt_tr_ref_softmax_causal_fwd(p, in[0], BH, T);
    mpt_tr_ref_softmax_causal_bwd(g[0], d, p, BH, T);
}

static void pv_f(double **in, double *out)
{
    mpt_tr_ref_pv_fwd(out, in[0], in[1], BH, T, HS);
}
static void pv_b(double **in, const double *d, double **g)
{
    mpt_tr_ref_pv_bwd(g[0], g[1], d, in[0], in[1], BH, T, HS);
}

static void gelu_f(double **in, double *out)
{
    mpt_tr_ref_gelu_fwd(out, in[0], N * C);
}
static void gelu_b(double **in, const double *d, double **g)
{
    mpt_tr_ref_gelu_bwd(g[0], d, in[0], N * C);
}

static void res_f(double **in, double *out)
{
    mpt_tr_ref_residual_fwd(out, in[0], in[1], N * C);
}
static void res_b(double **in, const double *d, double **g)
{
    (void)in;
    mpt_tr_ref_residual_bwd(g[0], g[1], d, N * C);
}

static void ce_f(double **in, double *out)
{
    out[0] = mpt_tr_ref_crossentropy_fwd(in[0], tgt, N, V);
}
static void ce_b(double **in, const double *d, double **g)
{
    mpt_tr_ref_crossentropy_bwd(g[0], in[0], tgt, d[0], N, V);
}

static const gc_case cases[] = {
    {"embed", 2, {V * C, T *C}, N *C, 1.0, embed_f, embed_b},
    {"layernorm", 3, {N * C, C, C}, N *C, 2.0, ln_f, ln_b},
    {"rmsnorm", 2, {N * C, C}, N *C, 2.0, rms_f, rms_b},
    {"matmul+bias", 3, {N * C, OC *C, OC}, N *OC, 1.0, mm_f, mm_b},
    {"matmul", 2, {N * C, OC *C}, N *OC, 1.0, mmnb_f, mmnb_b},
    {"split_heads", 1, {N * 3 * C}, 3 * N *C, 1.0, split_f, split_b},
    {"merge_heads", 1, {N * C}, N *C, 1.0, merge_f, merge_b},
    {"scores", 2, {N * C, N *C}, BH *T *T, 1.5, scores_f, scores_b},
    {"softmax_causal", 1, {BH * T * T}, BH *T *T, 4.0, smax_f, smax_b},
    {"pv", 2, {BH * T * T, N *C}, N *C, 1.0, pv_f, pv_b},
    {"gelu", 1, {N * C}, N *C, 5.0, gelu_f, gelu_b},
    {"residual", 2, {N * C, N *C}, N *C, 1.0, res_f, res_b},
    {"crossentropy", 1, {N * V}, 1, 3.0, ce_f, ce_b},
};

static double project(const gc_case *k, double **in, const double *r, double *out)
{
    k->fwd(in, out);
    double s = 0.0;
    for (size_t i = 0; i < k->out_len; i++)
        s += r[i] * out[i];
    return s;
}

/* Returns the worst |analytic - numeric| / max(1, |analytic|, |numeric|) over every input. */
static double gradcheck(const gc_case *k, uint64_t seed, double *worst_at_value)
{
    mpt_tr_rng rng;
    mpt_tr_rng_seed(&rng, seed, 7);
    double *in[4] = {0}, *g[4] = {0};
    for (int j = 0; j < k->n_in; j++) {
        in[j] = malloc(k->in_len[j] * sizeof(double));
        g[j] = calloc(k->in_len[j], sizeof(double));
        for (size_t i = 0; i < k->in_len[j]; i++)
            in[j][i] = k->amp * (2.0 * mpt_tr_rng_uniform(&rng) - 1.0);
    }
    double *r = malloc(k->out_len * sizeof *r), *out = malloc(k->out_len * sizeof *out);
    for (size_t i = 0; i < k->out_len; i++)
        r[i] = 2.0 * mpt_tr_rng_uniform(&rng) - 1.0;
    k->bwd(in, r, g);
    double worst = 0.0;
    for (int j = 0; j < k->n_in; j++)
        for (size_t i = 0; i < k->in_len[j]; i++) {
            double x0 = in[j][i], h = 1e-5 * (fabs(x0) > 1.0 ? fabs(x0) : 1.0);
            in[j][i] = x0 + h;
            double lp = project(k, in, r, out);
            in[j][i] = x0 - h;
            double lm = project(k, in, r, out);
            in[j][i] = x0;
            double num = (lp - lm) / (2.0 * h), ana = g[j][i];
            double den = fmax(1.0, fmax(fabs(num), fabs(ana)));
            double e = fabs(num - ana) / den;
            if (e > worst) {
                worst = e;
                *worst_at_value = x0;
            }
        }
    for (int j = 0; j < k->n_in; j++) {
        free(in[j]);
        free(g[j]);
    }
    free(r);
    free(out);
    return worst;
}

/* Central differences in double with h = 1e-5: truncation ~1e-10, round-off ~1e-11. */
#define GC_TOL 1e-7

START_TEST(test_op_gradcheck)
{
    const gc_case *k = &cases[_i];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        double at = 0.0;
        double e = gradcheck(k, seed, &at);
        ck_assert_msg(e < GC_TOL,
                      "%s (seed %llu): backward disagrees with finite differences "
                      "by %.3g (relative) at input %.6g",
                      k->name, (unsigned long long)seed, e, at);
    }
}
END_TEST

/* ---- forward anchors ------------------------------------------------------------------ */

START_TEST(test_gelu_values)
{
    /* 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) evaluated independently (Python math) */
    static const struct {
        double x, y;
    } tab[] = {{0.0, 0.0},
               {1.0, 0.8411919906082768},
               {-1.0, -0.15880800939172324},
               {3.0, 2.996362607918227},
               {-3.0, -0.0036373920817729943},
               {-6.0, -8.43964897967453e-11},
               {-0.0, -0.0}};
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
        ck_assert_msg(fabs(mpt_tr_ref_gelu(tab[i].x) - tab[i].y) < 1e-12, "gelu(%g) = %.17g",
                      tab[i].x, mpt_tr_ref_gelu(tab[i].x));
    ck_assert(isnan(mpt_tr_ref_gelu(NAN)));
}
END_TEST

START_TEST(test_layernorm_invariants)
{
    double x[N * C], w[C], b[C], out[N * C], mean[N], rstd[N];
    for (int i = 0; i < N * C; i++)
        x[i] = 100.0 + (i % 7) * 0.25 - (i % 3); /* a large offset: mean must be removed */
    for (int c = 0; c < C; c++)
        w[c] = 1.0, b[c] = 0.0;
    mpt_tr_ref_layernorm_fwd(out, mean, rstd, x, w, b, N, C);
    for (int i = 0; i < N; i++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++)
            m += out[i * C + c];
        m /= C;
        for (int c = 0; c < C; c++)
            v += (out[i * C + c] - m) * (out[i * C + c] - m);
        v /= C;
        ck_assert_msg(fabs(m) < 1e-12 && fabs(v - 1.0) < 1e-3, "row %d mean %g var %g", i, m, v);
    }
    /* a constant row: variance 0, output 0 (eps keeps it finite) */
    for (int c = 0; c < C; c++)
        x[c] = 3.0;
    mpt_tr_ref_layernorm_fwd(out, mean, rstd, x, w, b, 1, C);
    for (int c = 0; c < C; c++)
        ck_assert(out[c] == 0.0);
}
END_TEST

START_TEST(test_softmax_causal_rows)
{
    double s[BH * T * T], p[BH * T * T];
    for (int i = 0; i < BH * T * T; i++)
        s[i] = (i % 11) * 30.0 - 150.0; /* large logits: max subtraction needed */
    mpt_tr_ref_softmax_causal_fwd(p, s, BH, T);
    for (int r = 0; r < BH * T; r++) {
        int t = r % T;
        double sum = 0;
        for (int j = 0; j < T; j++) {
            if (j > t)
                ck_assert_msg(p[r * T + j] == 0.0, "future position %d of row %d not masked", j, r);
            sum += p[r * T + j];
        }
        ck_assert_msg(fabs(sum - 1.0) < 1e-12, "row %d sums to %.17g", r, sum);
    }
}
END_TEST

START_TEST(test_crossentropy_uniform)
{
    double logits[N * V];
    for (int i = 0; i < N * V; i++)
        logits[i] = 1234.5; /* uniform: the loss is log V whatever the offset */
    ck_assert(fabs(mpt_tr_ref_crossentropy_fwd(logits, tgt, N, V) - log((double)V)) < 1e-12);
    logits[0 * V + tgt[0]] = 1234.5 + 50.0; /* one confident right answer lowers the mean */
    ck_assert(mpt_tr_ref_crossentropy_fwd(logits, tgt, N, V) < log((double)V));
}
END_TEST

START_TEST(test_matmul_hand)
{
    /* out = inp w^T + bias for inp 2x3, w 2x3 */
    const double inp[6] = {1, 2, 3, 4, 5, 6}, w[6] = {1, 0, -1, 0.5, 0.5, 0.5}, bias[2] = {10, 20};
    double out[4];
    mpt_tr_ref_matmul_fwd(out, inp, w, bias, 2, 3, 2);
    ck_assert(out[0] == 8.0 && out[1] == 23.0 && out[2] == 8.0 && out[3] == 27.5);
}
END_TEST

/* ---- the whole model --------------------------------------------------------------------- */

static void model_gradcheck(int rms)
{
    mpt_tr_config cfg = {.V = V, .L = 2, .C = C, .H = H, .T = T, .B = B, .rms = rms};
    mpt_tr_layout lo;
    ck_assert_int_eq(mpt_tr_layout_init(&lo, &cfg), 0);
    float *pf = malloc(lo.total * sizeof *pf);
    double *p = malloc(lo.total * sizeof *p), *g = malloc(lo.total * sizeof *g);
    mpt_tr_params_init(&lo, 5, pf);
    mpt_tr_rng rng;
    mpt_tr_rng_seed(&rng, 9, 9);
    /* larger than the init so every path (norm gains, attention) carries signal */
    for (size_t i = 0; i < lo.total; i++)
        p[i] = pf[i] * 10.0 + 0.1 * (2.0 * mpt_tr_rng_uniform(&rng) - 1.0);
    mpt_tr_ref_model m;
    ck_assert_int_eq(mpt_tr_ref_model_init(&m, &lo), 0);
    mpt_tr_ref_model_forward(&m, p, tok, tgt);
    mpt_tr_ref_model_backward(&m, p, tok, tgt, g);
    double worst = 0.0;
    size_t worst_i = 0;
    for (size_t i = 0; i < lo.total; i++) {
        /* the five-point stencil (error O(h^4)): the amplified model is curved enough that
         * plain central differences need an h where round-off already shows */
        double x0 = p[i], h = 1e-5, f[4];
        static const double off[4] = {-2, -1, 1, 2};
        for (int j = 0; j < 4; j++) {
            p[i] = x0 + off[j] * h;
            f[j] = mpt_tr_ref_model_forward(&m, p, tok, tgt);
        }
        p[i] = x0;
        double num = (f[0] - 8.0 * f[1] + 8.0 * f[2] - f[3]) / (12.0 * h);
        double e = fabs(num - g[i]) / fmax(1e-2, fmax(fabs(num), fabs(g[i])));
        if (e > worst) worst = e, worst_i = i;
    }
    const char *name = "?";
    for (int t = 0; t < lo.n_tensors; t++)
        if (worst_i >= lo.tensors[t].offset) name = lo.tensors[t].name;
    ck_assert_msg(worst < 1e-6, "%s model: gradient of %s (element %zu) off by %.3g relative",
                  rms ? "rmsnorm" : "layernorm", name, worst_i, worst);
    mpt_tr_ref_model_free(&m);
    mpt_tr_layout_free(&lo);
    free(pf);
    free(p);
    free(g);
}

START_TEST(test_model_gradcheck_layernorm)
{
    model_gradcheck(0);
}
END_TEST
START_TEST(test_model_gradcheck_rmsnorm)
{
    model_gradcheck(1);
}
END_TEST

START_TEST(test_model_initial_loss)
{
    /* at init the logits are near zero: the loss is near log V */
    mpt_tr_config cfg = {.V = 24, .L = 2, .C = 16, .H = 4, .T = T, .B = B, .rms = 0};
    mpt_tr_layout lo;
    ck_assert_int_eq(mpt_tr_layout_init(&lo, &cfg), 0);
    float *pf = malloc(lo.total * sizeof *pf);
    double *p = malloc(lo.total * sizeof *p);
    mpt_tr_params_init(&lo, 1, pf);
    for (size_t i = 0; i < lo.total; i++)
        p[i] = pf[i];
    mpt_tr_ref_model m;
    ck_assert_int_eq(mpt_tr_ref_model_init(&m, &lo), 0);
    double loss = mpt_tr_ref_model_forward(&m, p, tok, tgt);
    ck_assert_msg(fabs(loss - log(24.0)) < 0.05, "initial loss %g, log V %g", loss, log(24.0));
    mpt_tr_ref_model_free(&m);
    mpt_tr_layout_free(&lo);
    free(pf);
    free(p);
}
END_TEST

extern Suite *suite_trainer_gradcheck(void);

Suite *suite_trainer_gradcheck(void)
{
    Suite *s = suite_create("trainer_gradcheck");
    TCase *tc = tcase_create("ops");
    tcase_add_loop_test(tc, test_op_gradcheck, 0, (int)(sizeof cases / sizeof *cases));
    tcase_add_test(tc, test_gelu_values);
    tcase_add_test(tc, test_layernorm_invariants);
    tcase_add_test(tc, test_softmax_causal_rows);
    tcase_add_test(tc, test_crossentropy_uniform);
    tcase_add_test(tc, test_matmul_hand);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("model");
    tcase_set_timeout(tm, 60);
    tcase_add_test(tm, test_model_gradcheck_layernorm);
    tcase_add_test(tm, test_model_gradcheck_rmsnorm);
    tcase_add_test(tm, test_model_initial_loss);
    suite_add_tcase(s, tm);
    return s;
}
