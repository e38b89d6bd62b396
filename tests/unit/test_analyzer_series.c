/*
 * The findings made from a scalar series alone, table-driven: traces holding only step records
 * and marks, written through the real trace writer and analysed, with the expected severity
 * and step for each series.
 *  - `lost_updates` (analyzer/findings_optimizer.c): below every threshold, a warning, an
 *    error, a run too short to count, too few reported steps, NaN values, a fraction that
 *    crosses the error threshold only after a warning-level start, and ranks that disagree (the
 *    worst counts).
 *  - `loss_divergence` (analyzer/findings.c): a falling curve, single and double spikes (not a
 *    divergence), a rise that stays (error), one that comes back down (warning), a sustained
 *    rise below the threshold, negative losses, NaN losses in the way.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/analysis.h"
#include "analyzer/model.h"
#include "core/trace_writer.h"
#include "tests/unit/trace_samples.h"

#define MAXS 32

typedef struct lost_case {
    const char *what;
    double frac[MAXS]; /* per step from 0; NaN: a NaN mark; `n` of them */
    int n;
    int absent_from;      /* steps from here on carry no mark (-1: all do) */
    const char *severity; /* NULL: no finding */
    int step;
} lost_case;

#define R5(x) x, x, x, x, x

static const lost_case cases[] = {
    {"fp32-like: nothing lost", {R5(0.0), R5(0.01), R5(0.02)}, 15, -1, NULL, 0},
    {"just under the warning", {R5(0.249), R5(0.2), R5(0.24)}, 15, -1, NULL, 0},
    {"a warning from step 5", {R5(0.05), R5(0.3), R5(0.4)}, 15, -1, "warning", 5},
    {"an error from step 0", {R5(0.8), R5(0.9), R5(0.95)}, 15, -1, "error", 0},
    {"warning start, error later: the error's step",
     {R5(0.3), 0.5, 0.6, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9},
     13,
     -1,
     "error",
     7},
    {"runs of 4 never count",
     {0.9, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.1},
     15,
     -1,
     NULL,
     0},
    {"three reported steps, all high", {0.9, 0.9, 0.9}, 3, -1, "error", 0},
    {"two reported steps: too few", {0.9, 0.9}, 2, -1, NULL, 0},
    {"NaN marks are skipped, not a break",
     {0.9, 0.9, NAN, 0.9, 0.9, 0.9, 0.9, 0.9},
     8,
     -1,
     "error",
     0},
    {"marks only on some steps", {0.0, 0.0, R5(0.5), 0.5, 0.5}, 9, 2, NULL, 0},
};

/* Writes the case's trace: step records and a mark (when reported) per step. With `key`
 * "loss" the series is the loss; otherwise the loss is a flat 2.0 beside it. */
static void write_case(const lost_case *c, const char *path, int ranks_disagree,
                       const char *key_name)
{
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    h.hostname = "test";
    char err[256];
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    MPT_CHECK(w != NULL, "%s", err);
    uint32_t key = mpt_trace_writer_intern(w, key_name);
    uint32_t key_loss = mpt_trace_writer_intern(w, "loss");
    int is_loss = key == key_loss;
    uint64_t ts = 1000;
    for (int s = 0; s < c->n; s++) {
        mpt_trace_step b = {.step = s, .ts_ns = ts++, .tid = 1, .phase = MPT_STEP_BEGIN};
        ck_assert_int_eq(mpt_trace_writer_step(w, &b), 0);
        mpt_trace_scalar l = {.step = s, .ts_ns = ts++, .key = key_loss, .value = 2.0};
        if (!is_loss) ck_assert_int_eq(mpt_trace_writer_scalar(w, &l), 0);
        if (c->absent_from < 0 || s < c->absent_from) {
            /* a second, healthier rank first: the report must keep the worse value */
            if (ranks_disagree && !isnan(c->frac[s])) {
                mpt_trace_scalar lo = {.step = s, .ts_ns = ts++, .key = key, .value = 0.0};
                ck_assert_int_eq(mpt_trace_writer_scalar(w, &lo), 0);
            }
            mpt_trace_scalar sc = {.step = s, .ts_ns = ts++, .key = key, .value = c->frac[s]};
            ck_assert_int_eq(mpt_trace_writer_scalar(w, &sc), 0);
        }
        mpt_trace_step e = {.step = s, .ts_ns = ts++, .tid = 1, .phase = MPT_STEP_END};
        ck_assert_int_eq(mpt_trace_writer_step(w, &e), 0);
    }
    MPT_CHECK(mpt_trace_writer_close(w, err, sizeof err) == 0, "%s", err);
}

static void check_case(const lost_case *c, int ranks_disagree, const char *key,
                       mpt_finding_kind kind, const char *recommends)
{
    char path[256], err[1024];
    mpt_test_tmpfile(path, sizeof path, "series");
    write_case(c, path, ranks_disagree, key);
    mpt_model *m = mpt_model_new(NULL);
    char *p = path;
    MPT_CHECK(mpt_model_load(m, &p, 1, err, sizeof err) == 0, "%s", err);
    mpt_analysis *a = mpt_analyze(m, NULL);
    ck_assert_ptr_nonnull(a);
    const mpt_finding *f = NULL;
    int count = 0;
    for (size_t i = 0; i < a->nfindings; i++)
        if (a->findings[i].kind == kind) {
            f = &a->findings[i];
            count++;
        }
    if (!c->severity) {
        MPT_CHECK(f == NULL, "%s: unexpected finding: %s", c->what, f ? f->message : "");
    } else {
        MPT_CHECK(f != NULL, "%s: no %s finding", c->what, mpt_finding_kind_name(kind));
        MPT_CHECK(count == 1, "%s: %d findings", c->what, count);
        MPT_CHECK(strcmp(mpt_severity_name(f->severity), c->severity) == 0, "%s: severity %s",
                  c->what, mpt_severity_name(f->severity));
        MPT_CHECK(f->step == c->step, "%s: step %lld, expected %d", c->what, (long long)f->step,
                  c->step);
        MPT_CHECK(f->layer == MPT_NO_LAYER, "%s: a layer", c->what);
        MPT_CHECK(strstr(f->recommendation, recommends) != NULL, "%s: %s", c->what,
                  f->recommendation);
    }
    mpt_analysis_free(a);
    mpt_model_free(m);
    unlink(path);
}

START_TEST(test_lost_updates_cases)
{
    check_case(&cases[_i], 0, "lost_updates", MPT_FIND_LOST_UPDATES, "fp32 master weights");
}
END_TEST

START_TEST(test_lost_updates_worst_rank)
{
    check_case(&cases[_i], 1, "lost_updates", MPT_FIND_LOST_UPDATES, "fp32 master weights");
}
END_TEST

#define R10(x) R5(x), R5(x)
#define FALL10(a)                                                                                  \
    a, a - 0.05, a - 0.1, a - 0.15, a - 0.2, a - 0.25, a - 0.3, a - 0.35, a - 0.4, a - 0.45

/* The loss itself (key "loss"): step is where the running median of 5 first stood at 1.5x its
 * minimum so far, in a run of 5 such steps. */
static const lost_case loss_cases[] = {
    {"a falling curve", {FALL10(3.0), FALL10(2.5), FALL10(2.0)}, 30, -1, NULL, 0},
    {"one spike x3", {FALL10(3.0), 2.5 * 3, FALL10(2.4)}, 21, -1, NULL, 0},
    {"two steps x4", {FALL10(3.0), 10.0, 10.0, FALL10(2.4)}, 22, -1, NULL, 0},
    {"diverges and stays up", {R5(3.0), R10(6.0)}, 15, -1, "error", 7},
    {"diverges, then back down", {R5(3.0), R10(6.0), R10(2.5)}, 25, -1, "warning", 7},
    {"a sustained rise of 1.4x", {R5(3.0), R10(4.2), R5(4.2)}, 20, -1, NULL, 0},
    {"negative losses", {R5(-3.0), R10(-1.0)}, 15, -1, NULL, 0},
    {"NaN losses skipped", {R5(3.0), NAN, R10(6.0)}, 16, -1, "error", 8},
};

START_TEST(test_loss_divergence_cases)
{
    check_case(&loss_cases[_i], 0, "loss", MPT_FIND_LOSS_DIVERGENCE, "learning rate");
}
END_TEST

extern Suite *suite_analyzer_series(void);
Suite *suite_analyzer_series(void)
{
    Suite *s = suite_create("analyzer_series");
    TCase *tc = tcase_create("lost_updates");
    int n = (int)(sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_lost_updates_cases, 0, n);
    tcase_add_loop_test(tc, test_lost_updates_worst_rank, 0, n);
    suite_add_tcase(s, tc);
    tc = tcase_create("loss_divergence");
    tcase_add_loop_test(tc, test_loss_divergence_cases, 0,
                        (int)(sizeof loss_cases / sizeof loss_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}
