/*
 * The analyzer end to end on synthetic traces with known failures (test_analyzer_synth.c):
 * each scenario is written through the real trace writer, read back, analysed, and its JSON
 * report (parsed strictly) must name the injected step, layer and cause — overflow produced by
 * an op, NaN through an input from a kernel or a copy, a loss spike and the layer that moved,
 * underflow without a scaler, fp16 accumulation, TF32, a collapsing scale, frequent skips — and
 * the healthy runs must have no error-severity finding. Also: ranks merged, the text report's
 * 80 columns, and follow mode reading a trace as it grows to the same answer as a whole read.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/analysis.h"
#include "analyzer/report.h"
#include "tests/unit/test_analyzer_jsonparse.h"
#include "tests/unit/test_analyzer_synth.h"
#include "tests/unit/trace_samples.h"

static void write_trace(const syn_opts *o, char *path, size_t n, const char *tag)
{
    char err[256];
    mpt_test_tmpfile(path, n, tag);
    MPT_CHECK(syn_write(o, path, err, sizeof err) == 0, "%s", err);
}

/* Loads the traces, analyses, and returns the parsed JSON report. */
static jv *report(char **paths, int n)
{
    mpt_model *m = mpt_model_new(NULL);
    char err[1024];
    MPT_CHECK(mpt_model_load(m, paths, n, err, sizeof err) == 0, "%s", err);
    mpt_analysis *a = mpt_analyze(m, NULL);
    ck_assert_ptr_nonnull(a);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(mpt_report_json(f, m, a, 1), 0);
    fclose(f);
    jv *v = jv_parse(buf, len, err, sizeof err);
    MPT_CHECK(v != NULL, "report is not JSON: %s", err);
    free(buf);
    mpt_analysis_free(a);
    mpt_model_free(m);
    return v;
}

static jv *report_of(const syn_opts *o, const char *tag)
{
    char path[256];
    write_trace(o, path, sizeof path, tag);
    char *p = path;
    jv *v = report(&p, 1);
    unlink(path);
    return v;
}

/* The first finding of `kind` (NULL when none). */
static const jv *finding(const jv *r, const char *kind)
{
    const jv *fs = jv_get(r, "findings");
    for (size_t i = 0; fs && i < fs->n; i++)
        if (strcmp(jv_str(&fs->items[i], "kind"), kind) == 0) return &fs->items[i];
    return NULL;
}

static int count_severity(const jv *r, const char *sev)
{
    const jv *fs = jv_get(r, "findings");
    int n = 0;
    for (size_t i = 0; fs && i < fs->n; i++)
        n += strcmp(jv_str(&fs->items[i], "severity"), sev) == 0;
    return n;
}

static int has_step(const jv *arr, double step)
{
    for (size_t i = 0; arr && i < arr->n; i++)
        if (arr->items[i].num == step) return 1;
    return 0;
}

START_TEST(test_report_overflow_with_scaler)
{
    syn_opts o;
    syn_defaults(&o);
    o.overflow_step = 20;
    jv *r = report_of(&o, "ovf");
    ck_assert_int_eq((int)jv_num(r, "first_nonfinite.step"), 20);
    ck_assert_str_eq(jv_str(r, "first_nonfinite.layer"), "fwd/blk1/attn/scores");
    ck_assert_str_eq(jv_str(r, "first_nonfinite.origin"), "produced");
    ck_assert_str_eq(jv_str(r, "first_nonfinite.tensor"), "C");
    ck_assert(fabs(jv_num(r, "first_nonfinite.overflow_factor") - 1000) < 1e-9);
    const jv *f = finding(r, "overflow");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(jv_str(f, "severity"), "warning"); /* caught by the scaler */
    ck_assert_str_eq(jv_str(f, "layer"), "fwd/blk1/attn/scores");
    ck_assert_int_eq((int)jv_num(f, "step"), 20);
    ck_assert_ptr_nonnull(strstr(jv_str(f, "recommendation"), "bf16"));
    ck_assert(has_step(jv_path(r, "scaler.skipped_steps"), 20));
    ck_assert(has_step(jv_path(r, "scaler.nonfinite_steps"), 20));
    ck_assert(jv_path(r, "scaler.agree")->b);
    ck_assert_int_eq((int)jv_num(r, "loss.spikes[0].step"), 20);
    ck_assert_str_eq(jv_str(r, "regime.id"), "fp16_scaled");
    ck_assert_int_eq(count_severity(r, "error"), 0);
    jv_free(r);
}
END_TEST

START_TEST(test_report_overflow_without_scaler)
{
    syn_opts o;
    syn_defaults(&o);
    o.scaler = 0;
    o.overflow_step = 25;
    o.loss_nan_from = 25;
    jv *r = report_of(&o, "ovf_noscale");
    ck_assert_int_eq((int)jv_num(r, "first_nonfinite.step"), 25);
    ck_assert_str_eq(jv_str(finding(r, "overflow"), "severity"), "error");
    ck_assert_ptr_nonnull(finding(r, "loss_nonfinite"));
    ck_assert_int_eq((int)jv_num(finding(r, "loss_nonfinite"), "step"), 25);
    ck_assert_str_eq(jv_str(r, "regime.id"), "fp16_unscaled");
    ck_assert(!jv_path(r, "loss.recovered")->b);
    jv_free(r);
}
END_TEST

START_TEST(test_report_nan_from_kernel)
{
    syn_opts o;
    syn_defaults(&o);
    o.scaler = 0;
    o.nan_step = 12;
    o.loss_nan_from = 12;
    jv *r = report_of(&o, "nan");
    ck_assert_int_eq((int)jv_num(r, "first_nonfinite.step"), 12);
    ck_assert_str_eq(jv_str(r, "first_nonfinite.layer"), "fwd/blk1/mlp/down");
    ck_assert_str_eq(jv_str(r, "first_nonfinite.origin"), "input");
    ck_assert_str_eq(jv_str(r, "first_nonfinite.tensor"), "A");
    ck_assert_str_eq(jv_str(r, "first_nonfinite.last_finite_writer.layer"), "fwd/blk1/mlp/up");
    const jv *kb = jv_path(r, "first_nonfinite.kernels_between");
    ck_assert_uint_eq(kb->n, 2);
    ck_assert_str_eq(jv_str(&kb->items[1], "name"), "inject_nan_kernel");
    ck_assert_str_eq(jv_str(&kb->items[1], "layer"), "fwd/blk1/mlp/gelu");
    ck_assert_str_eq(jv_str(&kb->items[0], "name"), "gelu_forward_kernel");
    const jv *f = finding(r, "nan");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(jv_str(f, "severity"), "error");
    ck_assert_ptr_nonnull(strstr(jv_str(f, "message"), "inject_nan_kernel"));
    ck_assert_ptr_null(finding(r, "overflow"));
    jv_free(r);
}
END_TEST

START_TEST(test_report_nan_from_copy)
{
    syn_opts o;
    syn_defaults(&o);
    o.memcpy_nan_step = 7;
    jv *r = report_of(&o, "copy");
    ck_assert_int_eq((int)jv_num(r, "first_nonfinite.step"), 7);
    ck_assert_str_eq(jv_str(r, "first_nonfinite.layer"), "fwd/blk0/attn/qkv");
    ck_assert_str_eq(jv_str(r, "first_nonfinite.tensor"), "B");
    ck_assert_str_eq(jv_str(r, "first_nonfinite.origin"), "input");
    const jv *kb = jv_path(r, "first_nonfinite.kernels_between");
    ck_assert_uint_ge(kb->n, 1);
    ck_assert_str_eq(jv_str(&kb->items[0], "type"), "memory");
    ck_assert_str_eq(jv_str(&kb->items[0], "name"), "H2D");
    ck_assert(jv_path(&kb->items[0], "nonfinite")->b);
    jv_free(r);
}
END_TEST

START_TEST(test_report_loss_spike)
{
    syn_opts o;
    syn_defaults(&o);
    o.spike_step = 30;
    o.dtype = MPT_DT_BF16;
    o.scaler = 0;
    jv *r = report_of(&o, "spike");
    ck_assert(jv_is_null(r, "first_nonfinite"));
    ck_assert_uint_eq(jv_path(r, "loss.spikes")->n, 1);
    ck_assert_int_eq((int)jv_num(r, "loss.spikes[0].step"), 30);
    ck_assert_str_eq(jv_str(r, "loss.spikes[0].layers_moved[0]"), "fwd/blk1/attn/qkv");
    ck_assert(fabs(jv_num(r, "loss.spikes[0].value") - 3 * syn_loss(30)) < 1e-12);
    const jv *f = finding(r, "loss_spike");
    ck_assert_str_eq(jv_str(f, "severity"), "warning");
    ck_assert_str_eq(jv_str(f, "layer"), "fwd/blk1/attn/qkv");
    ck_assert_str_eq(jv_str(r, "regime.id"), "bf16");
    ck_assert_int_eq(count_severity(r, "error"), 0);
    jv_free(r);
}
END_TEST

START_TEST(test_report_underflow_without_scaler)
{
    syn_opts o;
    syn_defaults(&o);
    o.scaler = 0;
    o.underflow = 0.3;
    jv *r = report_of(&o, "under");
    const jv *f = finding(r, "underflow");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(jv_str(f, "severity"), "error");
    ck_assert_int_eq(strncmp(jv_str(f, "layer"), "bwd/", 4), 0);
    ck_assert_ptr_nonnull(strstr(jv_str(f, "recommendation"), "loss scaling"));
    jv_free(r);
}
END_TEST

START_TEST(test_report_precision_modes)
{
    syn_opts o;
    syn_defaults(&o);
    o.compute = MPT_COMPUTE_16F;
    o.ulp_err = 6;
    jv *r = report_of(&o, "f16acc");
    const jv *f = finding(r, "precision_loss");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(jv_str(f, "severity"), "warning");
    ck_assert_ptr_nonnull(strstr(jv_str(f, "message"), "fp16 accumulation"));
    ck_assert_ptr_nonnull(strstr(jv_str(f, "recommendation"), "COMPUTE_32F"));
    ck_assert(fabs(jv_num(r, "layers[0].ulp_err_max") - 6) < 1e-12);
    jv_free(r);

    /* fp32 accumulation, but errors well beyond rounding to fp16 (mean 4 eps) */
    syn_defaults(&o);
    o.ulp_err = 8;
    r = report_of(&o, "imprecise");
    f = finding(r, "precision_loss");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(jv_str(f, "severity"), "warning");
    ck_assert_ptr_nonnull(strstr(jv_str(f, "message"), "Precision loss in 26 layer(s)"));
    ck_assert_ptr_nonnull(strstr(jv_str(r, "layers[0].status"), "precision"));
    jv_free(r);

    syn_defaults(&o);
    o.ulp_err = 3; /* mean 1.5 eps: within the limit */
    r = report_of(&o, "precise");
    ck_assert_ptr_null(finding(r, "precision_loss"));
    jv_free(r);

    syn_defaults(&o);
    o.dtype = MPT_DT_F32;
    o.scaler = 0;
    o.compute = MPT_COMPUTE_32F_FAST_TF32;
    o.ulp_err = 4096; /* tf32's rounding, in fp32 ulps */
    r = report_of(&o, "tf32");
    ck_assert_str_eq(jv_str(r, "regime.id"), "tf32");
    f = finding(r, "precision_loss");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(jv_str(f, "severity"), "info");
    ck_assert_ptr_nonnull(strstr(jv_str(f, "message"), "TF32"));
    ck_assert_int_eq(count_severity(r, "error"), 0);
    jv_free(r);
}
END_TEST

START_TEST(test_report_scaler_troubles)
{
    syn_opts o;
    syn_defaults(&o);
    o.collapse = 1;
    jv *r = report_of(&o, "collapse");
    ck_assert_ptr_nonnull(finding(r, "scale_collapse"));
    ck_assert(jv_path(r, "scaler.collapsed")->b);
    jv_free(r);

    syn_defaults(&o);
    int skips[] = {10, 14, 22, 27, 33};
    memcpy(o.skip_steps, skips, sizeof skips);
    o.nskip = 5;
    r = report_of(&o, "skips");
    const jv *f = finding(r, "scaler_skip");
    ck_assert_str_eq(jv_str(f, "severity"), "warning");
    ck_assert_int_eq((int)jv_num(f, "step"), 10);
    ck_assert_uint_eq(jv_path(r, "scaler.skipped_steps")->n, 5);
    ck_assert(jv_path(r, "scaler.agree")->b);
    jv_free(r);

    o.skip_unobserved = 1;
    r = report_of(&o, "skips_unobserved");
    ck_assert(!jv_path(r, "scaler.agree")->b);
    ck_assert_uint_eq(jv_path(r, "scaler.skipped_not_observed")->n, 5);
    ck_assert_str_eq(jv_str(finding(r, "scaler_mismatch"), "severity"), "info");
    jv_free(r);
}
END_TEST

START_TEST(test_report_healthy_runs)
{
    static const struct {
        mpt_dtype dt;
        int scaler;
        const char *regime;
    } runs[] = {{MPT_DT_F32, 0, "fp32"}, {MPT_DT_BF16, 0, "bf16"}, {MPT_DT_F16, 1, "fp16_scaled"}};
    for (size_t i = 0; i < 3; i++) {
        syn_opts o;
        syn_defaults(&o);
        o.dtype = runs[i].dt;
        o.scaler = runs[i].scaler;
        jv *r = report_of(&o, "healthy");
        ck_assert_str_eq(jv_str(r, "regime.id"), runs[i].regime);
        ck_assert(jv_is_null(r, "first_nonfinite"));
        ck_assert_int_eq(count_severity(r, "error"), 0);
        ck_assert_int_eq(count_severity(r, "warning"), 0);
        ck_assert_uint_eq(jv_path(r, "loss.spikes")->n, 0);
        ck_assert_int_eq((int)jv_num(r, "steps"), 40);
        ck_assert_int_eq((int)jv_num(r, "ops"), 40 * syn_nlayers(&o) * 3 / 2);
        ck_assert_uint_eq(jv_path(r, "layers")->n, (size_t)syn_nlayers(&o));
        char name[64];
        for (int l = 0; l < syn_nlayers(&o); l++)
            ck_assert_str_eq(jv_path(r, "layers")->items[l].items[0].str,
                             syn_layer_name(&o, l, name, sizeof name));
        jv_free(r);
    }
}
END_TEST

START_TEST(test_report_ranks_merged)
{
    syn_opts o;
    syn_defaults(&o);
    char p0[256], p1[256];
    o.rank = 1;
    o.overflow_step = 20;
    write_trace(&o, p1, sizeof p1, "rank1");
    o.rank = 0;
    o.overflow_step = -1;
    write_trace(&o, p0, sizeof p0, "rank0");
    char *paths[] = {p1, p0}; /* given out of order: sorted by rank */
    jv *r = report(paths, 2);
    ck_assert_int_eq((int)jv_num(r, "ranks"), 2);
    ck_assert_int_eq((int)jv_num(r, "sources[0].rank"), 0);
    ck_assert_int_eq((int)jv_num(r, "first_nonfinite.rank"), 1);
    ck_assert_str_eq(jv_str(r, "first_nonfinite.source"), p1);
    ck_assert_ptr_nonnull(strstr(jv_str(finding(r, "overflow"), "message"), "rank 1"));
    ck_assert_int_eq((int)jv_num(r, "layers[0].calls"), 80); /* both ranks' calls */
    unlink(p0);
    unlink(p1);
    jv_free(r);
}
END_TEST

START_TEST(test_report_no_layer_names)
{
    syn_opts o;
    syn_defaults(&o);
    o.no_layer_names = 1;
    o.ranges = 0;
    jv *r = report_of(&o, "nonames");
    ck_assert_str_eq(jv_str(r, "layers[0].name"), "op#0");
    ck_assert_uint_eq(jv_path(r, "layers")->n, 40 * 0 + (size_t)syn_nlayers(&o) * 3 / 2);
    jv_free(r);
}
END_TEST

/* The text report: every line fits 80 columns without colour; colour codes only when asked. */
START_TEST(test_report_text_width)
{
    syn_opts o;
    syn_defaults(&o);
    o.nan_step = 12;
    o.spike_step = 30;
    char path[256];
    write_trace(&o, path, sizeof path, "text");
    char *p = path;
    mpt_model *m = mpt_model_new(NULL);
    char err[512];
    ck_assert_int_eq(mpt_model_load(m, &p, 1, err, sizeof err), 0);
    mpt_analysis *a = mpt_analyze(m, NULL);
    for (int color = 0; color < 2; color++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        mpt_report_opts ro = {.color = color, .width = 80};
        ck_assert_int_eq(mpt_report_text(f, m, a, &ro), 0);
        fclose(f);
        ck_assert_int_eq(strchr(buf, '\033') != NULL, color);
        if (!color) {
            int line = 1, col = 0;
            for (size_t i = 0; i < len; i++) {
                if (buf[i] == '\n') {
                    MPT_CHECK(col <= 80, "line %d has %d columns", line, col);
                    line++;
                    col = 0;
                } else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
                    col++;
                }
            }
            ck_assert_ptr_nonnull(strstr(buf, "step 12, layer fwd/blk1/mlp/down"));
            ck_assert_ptr_nonnull(strstr(buf, "inject_nan_kernel"));
        }
        free(buf);
    }
    mpt_analysis_free(a);
    mpt_model_free(m);
    unlink(path);
}
END_TEST

/* Follow mode: a trace copied into place in random pieces, polled after each, ends with the same
 * report as a whole read; steps appear as their records arrive. */
START_TEST(test_report_follow_growing)
{
    syn_opts o;
    syn_defaults(&o);
    o.overflow_step = 20;
    char src[256], dst[256];
    write_trace(&o, src, sizeof src, "follow_src");
    uint8_t *data;
    size_t len;
    ck_assert_int_eq(mpt_test_slurp(src, &data, &len), 0);
    mpt_test_tmpfile(dst, sizeof dst, "follow_dst");
    FILE *out = fopen(dst, "wb");
    mpt_model *m = mpt_model_new(NULL);
    char err[512];
    ck_assert_int_ge(mpt_model_open(m, dst, MPT_TRACE_FOLLOW, err, sizeof err), 0);
    uint64_t rng = 17, gen = mpt_model_generation(m);
    size_t pos = 0, last_steps = 0;
    int polls = 0;
    while (pos < len) {
        size_t n = 1 + mpt_test_rand(&rng) % 40000;
        if (n > len - pos) n = len - pos;
        fwrite(data + pos, 1, n, out);
        fflush(out);
        pos += n;
        mpt_poll_status st = mpt_model_poll(m, 0);
        polls++;
        ck_assert_int_eq(st, pos < len ? MPT_POLL_IDLE : MPT_POLL_DONE);
        ck_assert_uint_ge(mpt_model_nsteps(m), last_steps);
        last_steps = mpt_model_nsteps(m);
        ck_assert_uint_ge(mpt_model_generation(m), gen);
        gen = mpt_model_generation(m);
    }
    fclose(out);
    ck_assert_int_gt(polls, 10);
    ck_assert_int_eq(mpt_model_source(m, 0)->state, MPT_SOURCE_DONE);
    ck_assert_int_eq(mpt_model_source(m, 0)->rank, -1);
    ck_assert_str_eq(mpt_model_source(m, 0)->hostname, "synth");
    ck_assert_uint_eq(mpt_model_nsteps(m), 40);
    const mpt_first_nonfinite *nf = mpt_model_first_nonfinite(m);
    ck_assert_ptr_nonnull(nf);
    ck_assert_int_eq(nf->step, 20);
    /* the same totals as a whole read */
    mpt_model *w = mpt_model_new(NULL);
    char *p = src;
    ck_assert_int_eq(mpt_model_load(w, &p, 1, err, sizeof err), 0);
    ck_assert(memcmp(mpt_model_get_totals(w)->gemm_by_dtype, mpt_model_get_totals(m)->gemm_by_dtype,
                     sizeof mpt_model_get_totals(m)->gemm_by_dtype) == 0);
    ck_assert_uint_eq(mpt_model_get_totals(w)->tensors, mpt_model_get_totals(m)->tensors);
    for (uint32_t l = 0; l < mpt_model_nlayers(w); l++)
        ck_assert(memcmp(&mpt_model_layer(w, l)->total, &mpt_model_layer(m, l)->total,
                         sizeof(mpt_cell)) == 0);
    mpt_model_free(w);
    mpt_model_free(m);
    free(data);
    unlink(src);
    unlink(dst);
}
END_TEST

extern Suite *suite_analyzer_report(void);
Suite *suite_analyzer_report(void)
{
    Suite *s = suite_create("analyzer_report");
    TCase *tc = tcase_create("scenarios");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_report_overflow_with_scaler);
    tcase_add_test(tc, test_report_overflow_without_scaler);
    tcase_add_test(tc, test_report_nan_from_kernel);
    tcase_add_test(tc, test_report_nan_from_copy);
    tcase_add_test(tc, test_report_loss_spike);
    tcase_add_test(tc, test_report_underflow_without_scaler);
    tcase_add_test(tc, test_report_precision_modes);
    tcase_add_test(tc, test_report_scaler_troubles);
    tcase_add_test(tc, test_report_healthy_runs);
    tcase_add_test(tc, test_report_ranks_merged);
    tcase_add_test(tc, test_report_no_layer_names);
    tcase_add_test(tc, test_report_text_width);
    tcase_add_test(tc, test_report_follow_growing);
    suite_add_tcase(s, tc);
    return s;
}
