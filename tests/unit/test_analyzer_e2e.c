/*
 * Ground truth: the reference trainer's failure modes run under mptrace on simcuda, and the
 * report compared with the trainer's own log (--log, JSON lines). For every scenario: the
 * skipped steps are the log's; the first non-finite step and layer are the log's first
 * non-finite GEMM, with the right origin (an overflow the op produced, or a NaN a kernel wrote,
 * found among the kernels between); every injected step is a loss spike and a healthy run has
 * none; the findings name the cause (overflow, nan, underflow, precision loss from fp16
 * accumulation or TF32, bf16 master weights from the trainer's lost_updates marks, a diverging
 * learning rate); and the
 * healthy runs (32-true, bf16-mixed, 16-mixed with its scaler)
 * have no error-severity finding.
 *
 * The runs use `mptrace --sim -o TRACE mpt-train ...` when the build has `mptrace run`, and
 * otherwise what that launcher does (LD_PRELOAD and NVTX_INJECTION64_PATH set to
 * build/lib/libmptrace.so, LD_LIBRARY_PATH to build/sim, MPTRACE_OUTPUT). Without the trainer
 * or the interposer every test prints SKIP. The scenarios are small (30 steps, seq 32, batch
 * 4, dim 32) and run two at a time, once, before the tests look at them.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/test_analyzer_cli.h"
#include "tests/unit/test_analyzer_jsonparse.h"
#include "tests/unit/trace_samples.h"

typedef struct scenario {
    const char *name;
    const char *args[8];
    const char *steps; /* NULL: 30 */
    int ran;           /* the run finished with status 0 */
    char trace[256], log[256];
} scenario;

static scenario sc[] = {
    {.name = "spike16", .args = {"--precision", "16-mixed", "--inject", "spike@20", NULL}},
    {.name = "spike16_noscale",
     .args = {"--precision", "16-mixed", "--no-loss-scale", "--inject", "spike@20", NULL}},
    {.name = "nan16", .args = {"--precision", "16-mixed", "--inject", "nan@20:1", NULL}},
    {.name = "noscale", .args = {"--precision", "16-mixed", "--no-loss-scale", NULL}},
    /* simcuda emulates fp16 accumulation op by op: a few steps are enough and much cheaper */
    {.name = "acc16",
     .args = {"--precision", "16-mixed", "--gemm-compute", "16F", NULL},
     .steps = "2"},
    {.name = "tf32", .args = {"--precision", "32-true", "--tf32", NULL}},
    {.name = "spike_bf16", .args = {"--precision", "bf16-mixed", "--inject", "spike@20", NULL}},
    {.name = "fp32", .args = {"--precision", "32-true", NULL}},
    {.name = "bf16", .args = {"--precision", "bf16-mixed", NULL}},
    {.name = "fp16", .args = {"--precision", "16-mixed", NULL}},
    /* bf16 master weights at a fine-tuning lr: most updates vanish (docs/reference-trainer.md) */
    {.name = "bf16_masters",
     .args = {"--precision", "bf16-mixed", "--master-weights", "bf16", "--lr", "3e-5", NULL}},
    /* a learning rate that diverges, in fp32: nothing overflows, the loss climbs */
    {.name = "lr_diverge", .args = {"--precision", "32-true", "--lr", "0.5", NULL}},
};
#define FIRST_HEALTHY 7
#define NHEALTHY      3
#define NSC           (sizeof sc / sizeof *sc)

static char build[4096];
static int available; /* 1: run; 0: SKIP */
static int use_run_command;
static char skip_why[256];

static int exists(const char *rel)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", build, rel);
    return access(p, F_OK) == 0;
}

static pid_t start(scenario *s)
{
    mpt_test_tmpfile(s->trace, sizeof s->trace, s->name);
    mpt_test_tmpfile(s->log, sizeof s->log, "e2e_log");
    unlink(s->trace);
    pid_t pid = fork();
    if (pid != 0) return pid;
    char train[4200], lib[4200], sim[4200];
    snprintf(train, sizeof train, "%s/bin/mpt-train", build);
    snprintf(lib, sizeof lib, "%s/lib/libmptrace.so", build);
    snprintf(sim, sizeof sim, "%s/sim", build);
    char *argv[32];
    int n = 0;
    if (use_run_command) {
        argv[n++] = (char *)an_mptrace_path();
        argv[n++] = "--sim";
        argv[n++] = "-o";
        argv[n++] = s->trace;
    } else {
        setenv("LD_PRELOAD", lib, 1);
        setenv("NVTX_INJECTION64_PATH", lib, 1);
        setenv("LD_LIBRARY_PATH", sim, 1);
        setenv("MPTRACE_OUTPUT", s->trace, 1);
    }
    /* in `make asan` the preloaded library comes before the ASan runtime, which is fine here */
    setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
    argv[n++] = train;
    for (int i = 0; s->args[i]; i++)
        argv[n++] = (char *)s->args[i];
    char *tail[] = {"--steps",
                    (char *)(s->steps ? s->steps : "30"),
                    "--seq",
                    "32",
                    "--batch",
                    "4",
                    "--dim",
                    "32",
                    "--heads",
                    "2",
                    "--eval-batches",
                    "1",
                    "--quiet",
                    "--log",
                    s->log};
    for (size_t i = 0; i < sizeof tail / sizeof *tail; i++)
        argv[n++] = tail[i];
    argv[n] = NULL;
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
    execv(argv[0], argv);
    _exit(127);
}

/* Runs every scenario once, two at a time, in the runner's process (an unchecked fixture). */
static void run_all(void)
{
    const char *b = getenv("MPT_TEST_BUILD");
    if (b) {
        snprintf(build, sizeof build, "%s", b);
    } else {
        const char *bin = an_mptrace_path();
        if (bin) {
            snprintf(build, sizeof build, "%s", bin);
            *strrchr(build, '/') = '\0';
            *strrchr(build, '/') = '\0';
        }
    }
    if (!an_mptrace_path() || !exists("bin/mpt-train") || !exists("lib/libmptrace.so") ||
        !exists("sim/libcudart.so.13")) {
        snprintf(
            skip_why, sizeof skip_why,
            "needs build/bin/mptrace, build/bin/mpt-train, build/lib/libmptrace.so and simcuda");
        return;
    }
    char *argv[] = {(char *)an_mptrace_path(), "run", "--help", NULL};
    use_run_command = an_run(argv, NULL, NULL, NULL) == 0;
    available = 1;
    pid_t pids[NSC];
    for (size_t i = 0; i < NSC; i += 2) {
        size_t m = i + 1 < NSC ? 2 : 1;
        for (size_t k = 0; k < m; k++)
            pids[i + k] = start(&sc[i + k]);
        for (size_t k = 0; k < m; k++) {
            int st;
            waitpid(pids[i + k], &st, 0);
            sc[i + k].ran = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        }
    }
}

static void remove_all(void)
{
    for (size_t i = 0; i < NSC; i++) {
        if (sc[i].trace[0]) unlink(sc[i].trace);
        if (sc[i].log[0]) unlink(sc[i].log);
    }
}

/* ---- the trainer's log ----------------------------------------------------------------------- */

typedef struct truth {
    int steps;
    int64_t skipped[64];
    int nskipped;
    int64_t inject[8];
    int ninject;
    int have_nf;
    int64_t nf_step;
    char nf_layer[128], nf_first_gemm[128], nf_op[16];
    int nf_inputs_finite;
} truth;

static void read_truth(const scenario *s, truth *t)
{
    memset(t, 0, sizeof *t);
    uint8_t *data;
    size_t len;
    ck_assert_int_eq(mpt_test_slurp(s->log, &data, &len), 0);
    char *text = (char *)data;
    for (char *line = text, *nl; line < text + len && (nl = memchr(line, '\n', text + len - line));
         line = nl + 1) {
        char err[128];
        jv *v = jv_parse(line, (size_t)(nl - line), err, sizeof err);
        MPT_CHECK(v != NULL, "%s: log line not JSON: %s", s->name, err);
        const char *ev = jv_str(v, "event");
        if (strcmp(ev, "step") == 0) {
            t->steps++;
            if (jv_num(v, "skipped") == 1) t->skipped[t->nskipped++] = (int64_t)jv_num(v, "step");
        } else if (strcmp(ev, "inject") == 0) {
            t->inject[t->ninject++] = (int64_t)jv_num(v, "step");
        } else if (strcmp(ev, "nonfinite") == 0 && !t->have_nf) {
            t->have_nf = 1;
            t->nf_step = (int64_t)jv_num(v, "step");
            snprintf(t->nf_layer, sizeof t->nf_layer, "%s", jv_str(v, "layer"));
            snprintf(t->nf_first_gemm, sizeof t->nf_first_gemm, "%s",
                     jv_str(v, "first_gemm") ? jv_str(v, "first_gemm") : "");
            snprintf(t->nf_op, sizeof t->nf_op, "%s", jv_str(v, "op"));
            t->nf_inputs_finite = jv_num(v, "inputs_finite") == 1;
        }
        jv_free(v);
    }
    free(data);
}

static jv *report_of(const scenario *s)
{
    char *argv[] = {(char *)an_mptrace_path(), "report", "--json", (char *)s->trace, NULL};
    char *out, *err;
    int st = an_run(argv, NULL, &out, &err);
    MPT_CHECK(st == 0, "%s: mptrace report exited %d: %s", s->name, st, err);
    char e[128];
    jv *v = jv_parse(out, strlen(out), e, sizeof e);
    MPT_CHECK(v != NULL, "%s: report not JSON: %s", s->name, e);
    free(out);
    free(err);
    return v;
}

static int has_finding(const jv *r, const char *kind, const char *sev, const char *layer)
{
    const jv *fs = jv_get(r, "findings");
    for (size_t i = 0; i < fs->n; i++) {
        const jv *f = &fs->items[i];
        if (strcmp(jv_str(f, "kind"), kind) != 0) continue;
        if (sev && strcmp(jv_str(f, "severity"), sev) != 0) continue;
        if (layer && (!jv_str(f, "layer") || strcmp(jv_str(f, "layer"), layer) != 0)) continue;
        return 1;
    }
    return 0;
}

static int errors(const jv *r)
{
    const jv *fs = jv_get(r, "findings");
    int n = 0;
    for (size_t i = 0; i < fs->n; i++)
        n += strcmp(jv_str(&fs->items[i], "severity"), "error") == 0;
    return n;
}

/* What every scenario must agree on with its log. Returns the report (caller frees). */
static jv *check_common(const scenario *s, truth *t)
{
    MPT_CHECK(s->ran, "%s: the traced run failed", s->name);
    read_truth(s, t);
    jv *r = report_of(s);
    ck_assert_int_eq((int)jv_num(r, "steps"), t->steps);
    const jv *sk = jv_path(r, "scaler.skipped_steps");
    MPT_CHECK((int)sk->n == t->nskipped, "%s: %zu skipped steps, the log has %d", s->name, sk->n,
              t->nskipped);
    for (int i = 0; i < t->nskipped; i++)
        MPT_CHECK((int64_t)sk->items[i].num == t->skipped[i], "%s: skipped step %d", s->name, i);
    if (t->have_nf) {
        MPT_CHECK(jv_num(r, "first_nonfinite.step") == (double)t->nf_step,
                  "%s: first non-finite at step %g, the log says %lld", s->name,
                  jv_num(r, "first_nonfinite.step"), (long long)t->nf_step);
        MPT_CHECK(strcmp(jv_str(r, "first_nonfinite.layer"), t->nf_first_gemm) == 0,
                  "%s: first non-finite in %s, the log says %s", s->name,
                  jv_str(r, "first_nonfinite.layer"), t->nf_first_gemm);
    }
    const jv *spikes = jv_path(r, "loss.spikes");
    for (int i = 0; i < t->ninject; i++) {
        int found = 0;
        for (size_t k = 0; k < spikes->n; k++)
            found |= jv_num(&spikes->items[k], "step") == (double)t->inject[i];
        MPT_CHECK(found, "%s: the injection at step %lld is not a loss spike", s->name,
                  (long long)t->inject[i]);
    }
    if (!t->ninject) MPT_CHECK(spikes->n == 0, "%s: a spike in a run without injection", s->name);
    return r;
}

#define NEED_E2E()                                                                                 \
    if (!available) {                                                                              \
        fprintf(stderr, "SKIP: %s: %s\n", __func__, skip_why);                                     \
        return;                                                                                    \
    }

START_TEST(test_e2e_overflow_with_scaler)
{
    NEED_E2E();
    truth t;
    jv *r = check_common(&sc[0], &t);
    ck_assert(t.have_nf && strcmp(t.nf_op, "gemm") == 0 && t.nf_inputs_finite);
    ck_assert_str_eq(jv_str(r, "first_nonfinite.origin"), "produced");
    ck_assert(jv_num(r, "first_nonfinite.overflow_factor") > 1);
    ck_assert(has_finding(r, "overflow", "warning", t.nf_first_gemm)); /* the scaler caught it */
    ck_assert_int_eq(errors(r), 0);
    jv_free(r);
}
END_TEST

START_TEST(test_e2e_overflow_without_scaler)
{
    NEED_E2E();
    truth t;
    jv *r = check_common(&sc[1], &t);
    ck_assert(t.have_nf);
    ck_assert_str_eq(jv_str(r, "first_nonfinite.origin"), "produced");
    ck_assert(has_finding(r, "overflow", "error", t.nf_first_gemm));
    ck_assert(has_finding(r, "loss_nonfinite", "error", NULL));
    jv_free(r);
}
END_TEST

START_TEST(test_e2e_nan_from_a_kernel)
{
    NEED_E2E();
    truth t;
    jv *r = check_common(&sc[2], &t);
    ck_assert(t.have_nf && strcmp(t.nf_op, "kernel") == 0);
    ck_assert_str_eq(jv_str(r, "first_nonfinite.origin"), "input");
    /* the kernel that wrote it ran in the layer the log names, between the two GEMMs */
    const jv *kb = jv_path(r, "first_nonfinite.kernels_between");
    int found = 0;
    for (size_t i = 0; i < kb->n; i++)
        found |= strcmp(jv_str(&kb->items[i], "type"), "kernel") == 0 &&
                 strcmp(jv_str(&kb->items[i], "layer"), t.nf_layer) == 0;
    MPT_CHECK(found, "no kernel in %s between the GEMMs", t.nf_layer);
    ck_assert(has_finding(r, "nan", NULL, t.nf_first_gemm));
    ck_assert(!has_finding(r, "overflow", NULL, NULL));
    jv_free(r);
}
END_TEST

START_TEST(test_e2e_underflow_without_scaler)
{
    NEED_E2E();
    truth t;
    jv *r = check_common(&sc[3], &t);
    ck_assert(jv_is_null(r, "first_nonfinite"));
    ck_assert(has_finding(r, "underflow", "error", NULL));
    ck_assert_str_eq(jv_str(r, "regime.id"), "fp16_unscaled");
    jv_free(r);
}
END_TEST

START_TEST(test_e2e_precision_loss)
{
    NEED_E2E();
    truth t;
    jv *r = check_common(&sc[4], &t);
    ck_assert(has_finding(r, "precision_loss", "warning", NULL));
    ck_assert(jv_num(r, "regime.fp16_accumulate_ops") > 0);
    jv_free(r);
    r = check_common(&sc[5], &t);
    ck_assert_str_eq(jv_str(r, "regime.id"), "tf32");
    ck_assert(has_finding(r, "precision_loss", "info", NULL));
    ck_assert_int_eq(errors(r), 0);
    jv_free(r);
}
END_TEST

START_TEST(test_e2e_bf16_spike)
{
    NEED_E2E();
    truth t;
    jv *r = check_common(&sc[6], &t);
    ck_assert(jv_is_null(r, "first_nonfinite")); /* bf16 has the range */
    ck_assert(has_finding(r, "loss_spike", "warning", NULL));
    ck_assert_ptr_nonnull(strstr(jv_str(r, "loss.spikes[0].layers_moved[0]"), "blk1/attn"));
    ck_assert_int_eq(errors(r), 0);
    jv_free(r);
}
END_TEST

START_TEST(test_e2e_healthy_runs)
{
    NEED_E2E();
    static const char *regime[] = {"fp32", "bf16", "fp16_scaled"};
    for (size_t i = FIRST_HEALTHY; i < FIRST_HEALTHY + NHEALTHY; i++) {
        truth t;
        jv *r = check_common(&sc[i], &t);
        MPT_CHECK(errors(r) == 0, "%s: an error finding in a healthy run", sc[i].name);
        MPT_CHECK(!has_finding(r, "lost_updates", NULL, NULL), "%s: lost updates", sc[i].name);
        MPT_CHECK(!has_finding(r, "loss_divergence", NULL, NULL), "%s: divergence", sc[i].name);
        MPT_CHECK(strcmp(jv_str(r, "regime.id"), regime[i - FIRST_HEALTHY]) == 0, "%s: regime %s",
                  sc[i].name, jv_str(r, "regime.id"));
        jv_free(r);
    }
}
END_TEST

/* The first step of the first run of 5 consecutive logged lost_updates >= thr (-1: none). */
static int64_t lost_run_start(const scenario *s, double thr)
{
    uint8_t *data;
    size_t len;
    ck_assert_int_eq(mpt_test_slurp(s->log, &data, &len), 0);
    char *text = (char *)data;
    int64_t start = -1, found = -1;
    int run = 0;
    for (char *line = text, *nl;
         found < 0 && line < text + len && (nl = memchr(line, '\n', text + len - line));
         line = nl + 1) {
        char err[128];
        jv *v = jv_parse(line, (size_t)(nl - line), err, sizeof err);
        MPT_CHECK(v != NULL, "%s: log line not JSON: %s", s->name, err);
        if (strcmp(jv_str(v, "event"), "step") == 0 && jv_get(v, "lost_updates")) {
            if (jv_num(v, "lost_updates") >= thr) {
                if (run++ == 0) start = (int64_t)jv_num(v, "step");
                if (run == 5) found = start;
            } else {
                run = 0;
            }
        }
        jv_free(v);
    }
    free(data);
    return found;
}

/* bf16 master weights: the report's lost_updates finding starts where the trainer's own log
 * says 75% of the updates were lost for 5 steps in a row, and recommends fp32 masters. */
START_TEST(test_e2e_bf16_master_weights)
{
    NEED_E2E();
    truth t;
    const scenario *s = &sc[FIRST_HEALTHY + NHEALTHY];
    jv *r = check_common(s, &t);
    int64_t want = lost_run_start(s, 0.75);
    MPT_CHECK(want >= 0, "%s: the log never lost 75%% of the updates for 5 steps", s->name);
    const jv *fs = jv_get(r, "findings");
    const jv *f = NULL;
    for (size_t i = 0; i < fs->n && !f; i++)
        if (strcmp(jv_str(&fs->items[i], "kind"), "lost_updates") == 0) f = &fs->items[i];
    MPT_CHECK(f != NULL, "%s: no lost_updates finding", s->name);
    ck_assert_str_eq(jv_str(f, "severity"), "error");
    MPT_CHECK(jv_num(f, "step") == (double)want, "%s: finding at step %g, the log says %lld",
              s->name, jv_num(f, "step"), (long long)want);
    ck_assert_ptr_nonnull(strstr(jv_str(f, "recommendation"), "fp32 master weights"));
    jv_free(r);
}
END_TEST

/* The step where the log's loss, as a running median of 5, first stood at 1.5x its minimum so
 * far for 5 steps in a row (the rule docs/analyzer.md states for loss_divergence); -1 none. */
static int64_t divergence_start(const scenario *s)
{
    uint8_t *data;
    size_t len;
    ck_assert_int_eq(mpt_test_slurp(s->log, &data, &len), 0);
    char *text = (char *)data;
    double last[5], runmin = INFINITY;
    int k = 0, run = 0;
    int64_t start = -1, found = -1;
    for (char *line = text, *nl;
         found < 0 && line < text + len && (nl = memchr(line, '\n', text + len - line));
         line = nl + 1) {
        char err[128];
        jv *v = jv_parse(line, (size_t)(nl - line), err, sizeof err);
        MPT_CHECK(v != NULL, "%s: log line not JSON: %s", s->name, err);
        if (strcmp(jv_str(v, "event"), "step") == 0 && isfinite(jv_num(v, "loss"))) {
            last[k % 5] = jv_num(v, "loss");
            k++;
            int m = k < 5 ? k : 5;
            double sorted[5];
            memcpy(sorted, last, (size_t)m * sizeof *sorted);
            for (int i = 1; i < m; i++) /* insertion sort: at most 5 values */
                for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
                    double t = sorted[j];
                    sorted[j] = sorted[j - 1];
                    sorted[j - 1] = t;
                }
            double med = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
            if (med >= 1.5 * runmin) {
                if (run++ == 0) start = (int64_t)jv_num(v, "step");
                if (run == 5) found = start;
            } else {
                run = 0;
            }
            if (med < runmin) runmin = med;
        }
        jv_free(v);
    }
    free(data);
    return found;
}

/* A diverging learning rate: the report's loss_divergence starts where the trainer's own loss
 * log says the climb began, and points at the learning rate. */
START_TEST(test_e2e_lr_diverges)
{
    NEED_E2E();
    truth t;
    const scenario *s = &sc[FIRST_HEALTHY + NHEALTHY + 1];
    jv *r = check_common(s, &t);
    int64_t want = divergence_start(s);
    MPT_CHECK(want >= 0, "%s: the log's loss never diverged", s->name);
    const jv *fs = jv_get(r, "findings");
    const jv *f = NULL;
    for (size_t i = 0; i < fs->n && !f; i++)
        if (strcmp(jv_str(&fs->items[i], "kind"), "loss_divergence") == 0) f = &fs->items[i];
    MPT_CHECK(f != NULL, "%s: no loss_divergence finding", s->name);
    MPT_CHECK(jv_num(f, "step") == (double)want, "%s: finding at step %g, the log says %lld",
              s->name, jv_num(f, "step"), (long long)want);
    ck_assert_ptr_nonnull(strstr(jv_str(f, "recommendation"), "learning rate"));
    jv_free(r);
}
END_TEST

extern Suite *suite_analyzer_e2e(void);
Suite *suite_analyzer_e2e(void)
{
    Suite *s = suite_create("analyzer_e2e");
    TCase *tc = tcase_create("ground_truth");
    tcase_add_unchecked_fixture(tc, run_all, remove_all);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_e2e_overflow_with_scaler);
    tcase_add_test(tc, test_e2e_overflow_without_scaler);
    tcase_add_test(tc, test_e2e_nan_from_a_kernel);
    tcase_add_test(tc, test_e2e_underflow_without_scaler);
    tcase_add_test(tc, test_e2e_precision_loss);
    tcase_add_test(tc, test_e2e_bf16_spike);
    tcase_add_test(tc, test_e2e_healthy_runs);
    tcase_add_test(tc, test_e2e_bf16_master_weights);
    tcase_add_test(tc, test_e2e_lr_diverges);
    suite_add_tcase(s, tc);
    return s;
}
