/*
 * The loss and scaler analyses against slow references: median and MAD against an O(n^2)
 * rank-counting median on random and adversarial data (ties, -0, huge and tiny values); the
 * spike detector against a reference that rebuilds its window from scratch at every step, on
 * random curves with outliers and NaN runs; the layers that moved at a spike; and the scaler
 * summary on table-driven step sequences.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/analysis.h"
#include "tests/unit/trace_samples.h"

/* The k-th smallest (0-based) by counting: no sorting, obviously right. */
static double kth(const double *v, size_t n, size_t k)
{
    for (size_t i = 0; i < n; i++) {
        size_t less = 0, equal = 0;
        for (size_t j = 0; j < n; j++) {
            less += v[j] < v[i];
            equal += v[j] == v[i];
        }
        if (less <= k && k < less + equal) return v[i];
    }
    return NAN;
}

static double ref_median(const double *v, size_t n)
{
    return n % 2 ? kth(v, n, n / 2) : 0.5 * (kth(v, n, n / 2 - 1) + kth(v, n, n / 2));
}

START_TEST(test_median_mad_reference)
{
    uint64_t rng = 11;
    double v[128], d[128], tmp[256];
    for (int it = 0; it < 3000; it++) {
        size_t n = 1 + mpt_test_rand(&rng) % 127; /* both sides of mpt_median's n <= 64 */
        for (size_t i = 0; i < n; i++) {
            uint64_t r = mpt_test_rand(&rng);
            switch (it % 4) {
            case 0:
                v[i] = (double)(r % 5);
                break; /* many ties */
            case 1:
                v[i] = ldexp((double)(r >> 40), (int)(r % 200) - 100);
                break; /* wide range */
            case 2:
                v[i] = (r & 1) ? -0.0 : 0.0;
                break; /* signed zeros */
            default:
                v[i] = (double)(int64_t)r / 1e9;
            }
        }
        double med = mpt_median(v, n, tmp);
        double want = ref_median(v, n);
        MPT_CHECK(med == want, "median %g want %g (n %zu)", med, want, n);
        for (size_t i = 0; i < n; i++)
            d[i] = fabs(v[i] - want);
        double mad = mpt_mad(v, n, med, tmp);
        MPT_CHECK(mad == ref_median(d, n), "mad %g want %g", mad, ref_median(d, n));
    }
}
END_TEST

/* ---- spikes ---------------------------------------------------------------------------------- */

static mpt_model *model_with_losses(const double *loss, size_t n)
{
    mpt_model *m = mpt_model_new(NULL);
    int a = mpt_model_add_source(m, "a", NULL);
    mpt_trace_record r = {.type = MPT_REC_STRING};
    r.u.string = (mpt_trace_string){1, 4, "loss"};
    mpt_model_feed(m, a, &r);
    for (size_t i = 0; i < n; i++) {
        mpt_trace_record s = {.type = MPT_REC_SCALAR};
        s.u.scalar = (mpt_trace_scalar){.step = (int64_t)i, .key = 1, .value = loss[i]};
        mpt_model_feed(m, a, &s);
    }
    return m;
}

/* The rule of loss_spikes.c, recomputed from scratch for every step: the level is the median of
 * the last `baseline` finite losses, the noise 1.4826 * MAD of the differences of the last
 * `window` finite losses / sqrt(2). */
static size_t ref_spikes(const double *loss, size_t n, const mpt_analysis_opts *o, int64_t *out,
                         double *out_level)
{
    size_t ns = 0;
    int prev_finite = -1;
    for (size_t i = 0; i < n; i++) {
        double win[512], d[512];
        size_t w = 0;
        for (size_t j = i; j-- > 0 && w < (size_t)o->spike_window;)
            if (isfinite(loss[j])) win[w++] = loss[j]; /* newest first */
        size_t b = w < (size_t)o->spike_baseline ? w : (size_t)o->spike_baseline;
        double level = b ? ref_median(win, b) : NAN;
        if (!isfinite(loss[i])) {
            if (prev_finite == 1) {
                out_level[ns] = level;
                out[ns++] = (int64_t)i;
            }
            prev_finite = 0;
            continue;
        }
        if (w >= (size_t)o->spike_min_history) {
            for (size_t k = 0; k + 1 < w; k++)
                d[k] = win[k] - win[k + 1];
            double dm = ref_median(d, w - 1), dev[512];
            for (size_t k = 0; k + 1 < w; k++)
                dev[k] = fabs(d[k] - dm);
            double noise = 1.4826 * ref_median(dev, w - 1) / sqrt(2.0);
            double thr = fmax(o->spike_k * noise, o->spike_min_rel * fabs(level));
            if (loss[i] - level > thr) {
                out_level[ns] = level;
                out[ns++] = (int64_t)i;
            }
        }
        prev_finite = 1;
    }
    return ns;
}

START_TEST(test_spikes_against_reference)
{
    uint64_t rng = 3;
    mpt_analysis_opts o;
    mpt_analysis_opts_default(&o);
    for (int it = 0; it < 60; it++) {
        size_t n = 20 + mpt_test_rand(&rng) % 300;
        double *loss = malloc(n * sizeof *loss);
        for (size_t i = 0; i < n; i++) {
            double noise = ((double)(mpt_test_rand(&rng) % 2001) - 1000) / 1000 * 0.02;
            loss[i] = 2 + 2 * exp(-(double)i / 30) + noise;
            uint64_t r = mpt_test_rand(&rng) % 100;
            if (r < 3) loss[i] *= 1.5 + (double)(mpt_test_rand(&rng) % 10); /* outliers */
            if (r == 3) loss[i] = NAN;
            if (r == 4) loss[i] = INFINITY;
        }
        if (it % 3 == 0) /* a NaN run to the end */
            for (size_t i = n * 2 / 3; i < n; i++)
                loss[i] = NAN;
        o.spike_window = 8 + (int)(mpt_test_rand(&rng) % 40);
        o.spike_min_history = 2 + (int)(mpt_test_rand(&rng) % 8);
        o.spike_baseline = 1 + (int)(mpt_test_rand(&rng) % 9);
        mpt_model *m = model_with_losses(loss, n);
        mpt_loss_summary s;
        ck_assert_int_eq(mpt_loss_analyze(m, &o, &s), 0);
        int64_t want[400];
        double want_med[400];
        size_t nw = ref_spikes(loss, n, &o, want, want_med);
        MPT_CHECK(s.nspikes == nw, "iteration %d: %zu spikes, want %zu", it, s.nspikes, nw);
        for (size_t k = 0; k < nw; k++) {
            MPT_CHECK(s.spikes[k].step == want[k], "spike %zu at %lld want %lld", k,
                      (long long)s.spikes[k].step, (long long)want[k]);
            MPT_CHECK(s.spikes[k].median == want_med[k] ||
                          (isnan(s.spikes[k].median) && isnan(want_med[k])),
                      "spike %zu: level %g want %g", k, s.spikes[k].median, want_med[k]);
        }
        /* the summary */
        size_t nf = 0;
        for (size_t i = 0; i < n; i++)
            nf += !isfinite(loss[i]);
        ck_assert_uint_eq(s.count, n);
        ck_assert_uint_eq(s.nonfinite, nf);
        mpt_loss_summary_free(&s);
        mpt_model_free(m);
        free(loss);
    }
}
END_TEST

START_TEST(test_spikes_fixed_cases)
{
    mpt_analysis_opts o;
    mpt_analysis_opts_default(&o);
    double flat[60], warm[60], trend[60];
    for (int i = 0; i < 60; i++) {
        flat[i] = 2.0 + 1e-9 * (i % 3);                    /* no noise: min_rel guards */
        warm[i] = 10.0 * exp(-i / 5.0) + 1.0;              /* a fast-falling warmup: no spikes */
        trend[i] = 3.2 - 0.02 * i + 0.005 * ((i * 7) % 3); /* a falling, slightly noisy curve */
    }
    flat[40] = 2.05; /* +2.5%: below spike_min_rel */
    flat[50] = 2.5;  /* +25%: a spike */
    trend[45] *=
        1.6; /* the outlier batch: its whole-window MAD would hide it, the noise does not */
    struct {
        const double *v;
        size_t n;
        size_t nspikes;
        int64_t first;
    } cases[] = {{flat, 60, 1, 50}, {warm, 60, 0, -1}, {trend, 60, 1, 45}};
    for (size_t c = 0; c < 3; c++) {
        mpt_model *m = model_with_losses(cases[c].v, cases[c].n);
        mpt_loss_summary s;
        ck_assert_int_eq(mpt_loss_analyze(m, &o, &s), 0);
        ck_assert_uint_eq(s.nspikes, cases[c].nspikes);
        if (s.nspikes) ck_assert_int_eq(s.spikes[0].step, cases[c].first);
        mpt_loss_summary_free(&s);
        mpt_model_free(m);
    }
}
END_TEST

/* The layer whose output jumps at the spike step comes first among those that moved. */
START_TEST(test_layers_moved)
{
    mpt_model *m = mpt_model_new(NULL);
    int a = mpt_model_add_source(m, "a", NULL);
    const char *names[] = {"loss", "L0", "L1", "L2"};
    for (uint32_t i = 0; i < 4; i++) {
        mpt_trace_record r = {.type = MPT_REC_STRING};
        r.u.string = (mpt_trace_string){i + 1, (uint32_t)strlen(names[i]), names[i]};
        mpt_model_feed(m, a, &r);
    }
    uint64_t seq = 1;
    for (int step = 0; step < 40; step++) {
        for (uint32_t l = 0; l < 3; l++) {
            mpt_trace_record g = {.type = MPT_REC_GEMM};
            g.u.gemm =
                (mpt_trace_gemm){.seq = seq, .step = step, .layer = l + 2, .dtype_d = MPT_DT_F32};
            mpt_model_feed(m, a, &g);
            double absmax = (l + 1) * (1 + 0.01 * (step % 3));
            if (step == 30 && l == 1) absmax *= 64; /* L1 jumps 6 binades */
            if (step == 30 && l == 2) absmax *= 4;  /* L2 moves a little */
            mpt_trace_record t = {.type = MPT_REC_TENSOR};
            t.u.tensor.info = (mpt_trace_tensor_info){.seq = seq, .role = MPT_ROLE_D};
            t.u.tensor.cheap = (mpt_cheap_stats){100, 0, 0, absmax};
            mpt_model_feed(m, a, &t);
            seq++;
        }
        mpt_trace_record s = {.type = MPT_REC_SCALAR};
        s.u.scalar = (mpt_trace_scalar){
            .step = step, .key = 1, .value = step == 30 ? 9.0 : 2.0 + 0.01 * (step % 5)};
        mpt_model_feed(m, a, &s);
    }
    mpt_analysis *an = mpt_analyze(m, NULL);
    ck_assert_ptr_nonnull(an);
    ck_assert_uint_eq(an->loss.nspikes, 1);
    const mpt_spike *sp = &an->loss.spikes[0];
    ck_assert_int_eq(sp->step, 30);
    ck_assert_int_ge(sp->n_moved, 2);
    ck_assert_str_eq(mpt_model_layer(m, sp->moved[0])->name, "L1");
    ck_assert_str_eq(mpt_model_layer(m, sp->moved[1])->name, "L2");
    ck_assert(sp->moved_score[0] > sp->moved_score[1]);
    mpt_analysis_free(an);
    mpt_model_free(m);
}
END_TEST

/* ---- scaler ---------------------------------------------------------------------------------- */

typedef struct sc_step {
    int skip;     /* -1 none */
    int nf;       /* a GEMM output held NaN/Inf */
    double scale; /* NaN: not reported */
} sc_step;

START_TEST(test_scaler_table)
{
    static const struct {
        const char *what;
        sc_step s[8];
        int n;
        uint64_t skips, startup;
        int agree, collapsed;
        uint64_t backoffs, growths;
    } cases[] = {
        {"startup skips, then clean",
         {{1, 1, 65536}, {1, 1, 32768}, {0, 0, 16384}, {0, 0, 16384}, {0, 0, 32768}},
         5,
         2,
         2,
         1,
         0,
         2,
         1},
        {"a later skip", {{0, 0, 1024}, {1, 1, 1024}, {0, 0, 512}}, 3, 1, 0, 1, 0, 1, 0},
        {"skipped without NaN seen", {{0, 0, 8}, {1, 0, 8}}, 2, 1, 0, 0, 0, 0, 0},
        {"NaN not skipped", {{0, 1, 8}, {0, 0, 8}}, 2, 0, 0, 0, 0, 0, 0},
        {"collapse", {{1, 1, 65536}, {1, 1, 1024}, {1, 1, 2}, {1, 1, 0.5}}, 4, 4, 4, 1, 1, 3, 0},
        {"no marks at all", {{-1, 0, NAN}, {-1, 0, NAN}}, 2, 0, 0, 1, 0, 0, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        mpt_model *m = mpt_model_new(NULL);
        int a = mpt_model_add_source(m, "a", NULL);
        const char *names[] = {"skip", "scale", "L"};
        for (uint32_t i = 0; i < 3; i++) {
            mpt_trace_record r = {.type = MPT_REC_STRING};
            r.u.string = (mpt_trace_string){i + 1, (uint32_t)strlen(names[i]), names[i]};
            mpt_model_feed(m, a, &r);
        }
        for (int i = 0; i < cases[c].n; i++) {
            const sc_step *st = &cases[c].s[i];
            mpt_trace_record g = {.type = MPT_REC_GEMM};
            g.u.gemm = (mpt_trace_gemm){.seq = (uint64_t)i + 1, .step = i, .layer = 3};
            mpt_model_feed(m, a, &g);
            mpt_trace_record t = {.type = MPT_REC_TENSOR};
            t.u.tensor.info = (mpt_trace_tensor_info){.seq = (uint64_t)i + 1, .role = MPT_ROLE_D};
            t.u.tensor.cheap = (mpt_cheap_stats){10, (uint64_t)st->nf, 0, 1};
            mpt_model_feed(m, a, &t);
            mpt_trace_record s = {.type = MPT_REC_SCALAR};
            if (st->skip >= 0) {
                s.u.scalar = (mpt_trace_scalar){.step = i, .key = 1, .value = st->skip};
                mpt_model_feed(m, a, &s);
            }
            if (!isnan(st->scale)) {
                s.u.scalar = (mpt_trace_scalar){.step = i, .key = 2, .value = st->scale};
                mpt_model_feed(m, a, &s);
            }
        }
        mpt_scaler_summary s;
        ck_assert_int_eq(mpt_scaler_analyze(m, &s), 0);
        MPT_CHECK(s.skips == cases[c].skips, "%s: skips %llu", cases[c].what,
                  (unsigned long long)s.skips);
        MPT_CHECK(s.startup_skips == cases[c].startup, "%s: startup %llu", cases[c].what,
                  (unsigned long long)s.startup_skips);
        MPT_CHECK(s.agree == cases[c].agree, "%s: agree %d", cases[c].what, s.agree);
        MPT_CHECK(s.collapsed == cases[c].collapsed, "%s: collapsed", cases[c].what);
        MPT_CHECK(s.backoffs == cases[c].backoffs && s.growths == cases[c].growths,
                  "%s: backoffs %llu growths %llu", cases[c].what, (unsigned long long)s.backoffs,
                  (unsigned long long)s.growths);
        MPT_CHECK(s.nskipped_only + s.nnonfinite_only == 0 || !s.agree, "%s: agree", cases[c].what);
        mpt_scaler_summary_free(&s);
        mpt_model_free(m);
    }
}
END_TEST

extern Suite *suite_analyzer_spikes(void);
Suite *suite_analyzer_spikes(void)
{
    Suite *s = suite_create("analyzer_spikes");
    TCase *tc = tcase_create("spikes");
    tcase_add_test(tc, test_median_mad_reference);
    tcase_add_test(tc, test_spikes_against_reference);
    tcase_add_test(tc, test_spikes_fixed_cases);
    tcase_add_test(tc, test_layers_moved);
    tcase_add_test(tc, test_scaler_table);
    suite_add_tcase(s, tc);
    return s;
}
