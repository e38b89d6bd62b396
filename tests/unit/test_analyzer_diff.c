/*
 * `diff` on synthetic pairs with a known difference: an fp16 run that overflows at step 20
 * against a clean bf16 run (divergence: a non-finite value in A only, at the overflowing layer;
 * the loss parts there; the overflow finding only in A), a run with an outlier batch against the
 * same run without (the layer whose absmax jumped, by log2(1000) bits), and a run against itself
 * (nothing differs). The JSON is checked with the strict parser.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/diff.h"
#include "tests/unit/test_analyzer_jsonparse.h"
#include "tests/unit/test_analyzer_synth.h"
#include "tests/unit/trace_samples.h"

typedef struct side {
    mpt_model *m;
    mpt_analysis *a;
} side;

static side load(const syn_opts *o)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "diff");
    MPT_CHECK(syn_write(o, path, err, sizeof err) == 0, "%s", err);
    side s = {mpt_model_new(NULL), NULL};
    char *p = path;
    ck_assert_int_eq(mpt_model_load(s.m, &p, 1, err, sizeof err), 0);
    s.a = mpt_analyze(s.m, NULL);
    unlink(path);
    return s;
}

static jv *diff_json(side a, side b, char **text_out)
{
    mpt_diff *d = mpt_diff_compute(a.m, a.a, b.m, b.a, NULL);
    ck_assert_ptr_nonnull(d);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(mpt_diff_json(f, d, 0), 0);
    fclose(f);
    char err[256];
    jv *v = jv_parse(buf, len, err, sizeof err);
    MPT_CHECK(v != NULL, "%s", err);
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    ck_assert_int_eq(mpt_diff_text(f, d, 0), 0);
    fclose(f);
    *text_out = buf;
    mpt_diff_free(d);
    return v;
}

static void drop(side s)
{
    mpt_analysis_free(s.a);
    mpt_model_free(s.m);
}

START_TEST(test_diff_fp16_overflow_vs_bf16)
{
    syn_opts o;
    syn_defaults(&o);
    o.overflow_step = 20;
    side a = load(&o);
    syn_defaults(&o);
    o.dtype = MPT_DT_BF16;
    o.scaler = 0;
    side b = load(&o);
    char *text;
    jv *v = diff_json(a, b, &text);
    ck_assert_int_eq((int)jv_num(v, "first_divergence.step"), 20);
    ck_assert_str_eq(jv_str(v, "first_divergence.layer"), "fwd/blk1/attn/scores");
    ck_assert_str_eq(jv_str(v, "first_divergence.metric"), "nonfinite");
    ck_assert_str_eq(jv_str(v, "first_divergence.nonfinite_in"), "a");
    ck_assert_int_eq((int)jv_num(v, "loss_first_difference.step"), 20);
    ck_assert_int_eq((int)jv_num(v, "common_steps"), 40);
    const jv *only_a = jv_get(v, "findings_only_a");
    int overflow = 0;
    for (size_t i = 0; i < only_a->n; i++)
        overflow += strcmp(jv_str(&only_a->items[i], "kind"), "overflow") == 0;
    ck_assert_int_eq(overflow, 1);
    ck_assert_uint_eq(jv_get(v, "findings_only_b")->n, 0);
    ck_assert_str_eq(jv_str(v, "layers[0].dtype_a"), "fp16");
    ck_assert_str_eq(jv_str(v, "layers[0].dtype_b"), "bf16");
    ck_assert_ptr_nonnull(strstr(text, "step 20, layer fwd/blk1/attn/scores"));
    for (char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1)
        MPT_CHECK(nl - p <= 80, "a line of the diff is over 80 columns");
    free(text);
    jv_free(v);
    drop(a);
    drop(b);
}
END_TEST

START_TEST(test_diff_outlier_batch)
{
    syn_opts o;
    syn_defaults(&o);
    o.spike_step = 30;
    side a = load(&o);
    o.spike_step = -1;
    side b = load(&o);
    char *text;
    jv *v = diff_json(a, b, &text);
    ck_assert_int_eq((int)jv_num(v, "first_divergence.step"), 30);
    ck_assert_str_eq(jv_str(v, "first_divergence.layer"), "fwd/blk1/attn/qkv");
    ck_assert_str_eq(jv_str(v, "first_divergence.metric"), "absmax");
    ck_assert(fabs(jv_num(v, "first_divergence.delta_bits") + log2(1000)) < 1e-9);
    ck_assert_int_eq((int)jv_num(v, "loss_first_difference.step"), 30);
    free(text);
    jv_free(v);
    drop(a);
    drop(b);
}
END_TEST

START_TEST(test_diff_same_run)
{
    syn_opts o;
    syn_defaults(&o);
    o.nan_step = 12;
    side a = load(&o), b = load(&o);
    char *text;
    jv *v = diff_json(a, b, &text);
    ck_assert(jv_is_null(v, "first_divergence"));
    ck_assert(jv_is_null(v, "loss_first_difference"));
    ck_assert_uint_eq(jv_get(v, "findings_only_a")->n, 0);
    ck_assert_uint_eq(jv_get(v, "findings_only_b")->n, 0);
    ck_assert_uint_eq(jv_get(v, "layers")->n, (size_t)syn_nlayers(&o));
    free(text);
    jv_free(v);
    drop(a);
    drop(b);
}
END_TEST

extern Suite *suite_analyzer_diff(void);
Suite *suite_analyzer_diff(void)
{
    Suite *s = suite_create("analyzer_diff");
    TCase *tc = tcase_create("diff");
    tcase_add_test(tc, test_diff_fp16_overflow_vs_bf16);
    tcase_add_test(tc, test_diff_outlier_batch);
    tcase_add_test(tc, test_diff_same_run);
    suite_add_tcase(s, tc);
    return s;
}
