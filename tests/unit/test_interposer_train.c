/*
 * The reference trainer (build/bin/mpt-train) under mptrace on simcuda, in every failure mode it
 * produces on demand, against its own ground-truth log (--log, JSON lines): the trace must have
 * every step, the same loss, scale, skip, grad norm and lr at each step (the NVTX marks carry
 * them), mptrace's own inference of skipped steps must agree with the trainer's, and the first
 * GEMM with a non-finite output must be the one the trainer reports, at the injected step, with
 * the right origin (produced by the op from finite inputs, or brought in by an input).
 * Sizes are cut down (1 layer, seq 32, batch 4) so the whole suite runs in seconds.
 */
#include <check.h>

#if defined(MPT_HAVE_INTERPOSER)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_interposer_util.h"

/* ---- the ground-truth log ------------------------------------------------------------------------ */

typedef struct gt_step {
    int step, skipped;
    double loss, scale, grad_norm, lr;
} gt_step;

typedef struct gt_log {
    gt_step steps[64];
    int nsteps;
    int nonfinite_step; /* -1 none */
    char nonfinite_op[32], first_gemm[128];
    int inputs_finite;
    int inject_step;
    char inject_layer[128];
} gt_log;

/* The value of "key": in a JSON line: a number, or "nan"/"inf" strings. */
static double json_num(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p) return NAN;
    p += strlen(pat);
    if (*p == '"') p++;
    return strtod(p, NULL);
}

static void json_str(const char *line, const char *key, char *out, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(line, pat);
    out[0] = '\0';
    if (!p) return;
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

static void gt_load(const char *path, gt_log *g)
{
    memset(g, 0, sizeof *g);
    g->nonfinite_step = g->inject_step = -1;
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no log %s", path);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "\"event\":\"step\"") && g->nsteps < 64) {
            gt_step *s = &g->steps[g->nsteps++];
            s->step = (int)json_num(line, "step");
            s->loss = json_num(line, "loss");
            s->scale = json_num(line, "scale");
            s->skipped = (int)json_num(line, "skipped");
            s->grad_norm = json_num(line, "grad_norm");
            s->lr = json_num(line, "lr");
        } else if (strstr(line, "\"event\":\"nonfinite\"") && g->nonfinite_step < 0) {
            g->nonfinite_step = (int)json_num(line, "step");
            json_str(line, "op", g->nonfinite_op, sizeof g->nonfinite_op);
            json_str(line, "first_gemm", g->first_gemm, sizeof g->first_gemm);
            g->inputs_finite = (int)json_num(line, "inputs_finite");
        } else if (strstr(line, "\"event\":\"inject\"") && g->inject_step < 0) {
            g->inject_step = (int)json_num(line, "step");
            json_str(line, "layer", g->inject_layer, sizeof g->inject_layer);
        }
    }
    fclose(f);
}

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* ---- running the trainer ---------------------------------------------------------------------------- */

static int trainer_available(void)
{
    if (!ipx_available()) return 0;
    if (access(ipx_path("bin/mpt-train"), X_OK) != 0) {
        printf("SKIP: build/bin/mpt-train is not built\n");
        return 0;
    }
    return 1;
}

/* Runs the trainer under mptrace with `args` (NULL-terminated) plus the small sizes. */
static void train(const char *name, const char *const *mopts, const char *const *args, ipx_trace *t,
                  gt_log *g)
{
    char trace[4200], log[4200];
    snprintf(trace, sizeof trace, "%s/%s.mpt", ipx_tmpdir(), name);
    snprintf(log, sizeof log, "%s/%s.jsonl", ipx_tmpdir(), name);
    char *argv[48];
    int n = 0;
    argv[n++] = (char *)ipx_path("bin/mptrace");
    argv[n++] = "--sim";
    argv[n++] = "-q";
    for (const char *const *o = mopts; o && *o; o++)
        argv[n++] = (char *)*o;
    argv[n++] = "-o";
    argv[n++] = trace;
    argv[n++] = (char *)ipx_path("bin/mpt-train");
    static const char *const small[] = {"--layers", "1", "--seq", "32", "--batch", "4",
                                        "--print-every", "0", "--log", NULL};
    for (const char *const *s = small; *s; s++)
        argv[n++] = (char *)*s;
    argv[n++] = log;
    for (const char *const *a = args; *a; a++)
        argv[n++] = (char *)*a;
    argv[n] = NULL;
    char *err = NULL;
    int rc = ipx_run(argv, NULL, NULL, &err);
    ck_assert_msg(rc == 0, "%s: mpt-train exited %d\n%s", name, rc, err);
    free(err);
    ck_assert_int_eq(ipx_trace_load(trace, t), 0);
    gt_load(log, g);
    ck_assert_int_gt(g->nsteps, 0);
}

/* Steps and scalars as the log has them; mptrace's inferred skips equal the trainer's. */
static void check_steps(const char *name, const ipx_trace *t, const gt_log *g)
{
    int begins = 0;
    for (size_t i = 0; i < t->nsteps; i++)
        begins += t->steps[i].phase == MPT_STEP_BEGIN;
    ck_assert_msg(begins == g->nsteps, "%s: %d steps in the trace, %d in the log", name, begins,
                  g->nsteps);
    for (int i = 0; i < g->nsteps; i++) {
        const gt_step *s = &g->steps[i];
        static const char *const keys[] = {"loss", "scale", "grad_norm", "lr"};
        const double want[] = {s->loss, s->scale, s->grad_norm, s->lr};
        for (int k = 0; k < 4; k++) {
            double got = ipx_trace_scalar(t, keys[k], s->step, 0);
            ck_assert_msg(same(got, want[k]), "%s: step %d %s: trace %.9g, log %.9g", name,
                          s->step, keys[k], got, want[k]);
        }
        ck_assert_msg(ipx_trace_scalar(t, "skip", s->step, 0) == s->skipped, "%s: step %d skip",
                      name, s->step);
        /* mptrace's own observation: a step whose backward GEMMs produced NaN/Inf. With a
         * scaler that is exactly a skipped step; without one the step is applied anyway, and
         * the trainer's gradient norm is non-finite. */
        int nonfinite = s->skipped || !isfinite(s->grad_norm);
        double inferred = ipx_trace_scalar(t, "skip", s->step, MPT_SCALAR_INFERRED);
        ck_assert_msg(nonfinite ? inferred == 1.0 : isnan(inferred),
                      "%s: step %d: the trainer %s (grad norm %g), mptrace inferred %g", name,
                      s->step, s->skipped ? "skipped" : "did not skip", s->grad_norm, inferred);
    }
}

/* The first GEMM whose output held NaN/Inf (by sequence number), or NULL. */
static const ipx_gemm *first_nonfinite(const ipx_trace *t)
{
    const ipx_gemm *best = NULL;
    for (size_t i = 0; i < t->ngemms; i++) {
        const mpt_trace_tensor *d = ipx_trace_tensor(t, t->gemms[i].g.seq, MPT_ROLE_D);
        if (d && (d->cheap.nan || d->cheap.inf) && (!best || t->gemms[i].g.seq < best->g.seq))
            best = &t->gemms[i];
    }
    return best;
}

static int input_nonfinite(const ipx_trace *t, const ipx_gemm *g)
{
    const mpt_trace_tensor *a = ipx_trace_tensor(t, g->g.seq, MPT_ROLE_A);
    const mpt_trace_tensor *b = ipx_trace_tensor(t, g->g.seq, MPT_ROLE_B);
    ck_assert_msg(a && b && a->level == MPT_LEVEL_FULL, "%s: inputs of the first non-finite GEMM "
                  "not measured", g->layer);
    return a->cheap.nan + a->cheap.inf + b->cheap.nan + b->cheap.inf > 0;
}

static void check_first_nonfinite(const char *name, const ipx_trace *t, const gt_log *g)
{
    const ipx_gemm *f = first_nonfinite(t);
    if (g->nonfinite_step < 0) {
        ck_assert_msg(f == NULL, "%s: healthy run, but %s at step %ld produced NaN/Inf", name,
                      f ? f->layer : "", f ? (long)f->g.step : -1L);
        return;
    }
    ck_assert_msg(f != NULL, "%s: no non-finite GEMM output in the trace", name);
    ck_assert_msg(f->g.step == g->nonfinite_step && !strcmp(f->layer, g->first_gemm),
                  "%s: first non-finite GEMM: trace %s at step %ld, log %s at step %d", name,
                  f->layer, (long)f->g.step, g->first_gemm, g->nonfinite_step);
    int from_input = input_nonfinite(t, f);
    int log_from_input = strcmp(g->nonfinite_op, "gemm") != 0 || !g->inputs_finite;
    ck_assert_msg(from_input == log_from_input, "%s: origin: trace says %s, log says op %s", name,
                  from_input ? "an input" : "the op", g->nonfinite_op);
    if (g->inject_step >= 0) ck_assert_int_eq(f->g.step, g->inject_step);
    if (from_input) {
        /* What wrote it ran since the previous GEMM: kernel launches are in the trace. */
        uint64_t prev = 0;
        for (size_t i = 0; i < t->ngemms; i++)
            if (t->gemms[i].g.seq < f->g.seq && t->gemms[i].g.seq > prev) prev = t->gemms[i].g.seq;
        int kernels = 0;
        for (size_t i = 0; i < t->nkernels; i++)
            kernels += t->kernels[i].seq > prev && t->kernels[i].seq < f->g.seq &&
                       t->kernels[i].name != 0;
        ck_assert_msg(kernels > 0, "%s: no kernel launch recorded before %s", name, f->layer);
    }
}

/* ---- scenarios ---------------------------------------------------------------------------------------- */

typedef struct scenario {
    const char *name;
    const char *args[12];
} scenario;

static const scenario scenarios[] = {
    {"fp32", {"--steps", "6", NULL}},
    {"bf16", {"--precision", "bf16-mixed", "--steps", "6", NULL}},
    {"fp16", {"--precision", "16-mixed", "--steps", "6", NULL}},
    {"fp16-spike", {"--precision", "16-mixed", "--steps", "7", "--inject", "spike@4", NULL}},
    {"fp16-spike-noscale",
     {"--precision", "16-mixed", "--no-loss-scale", "--steps", "6", "--inject", "spike@3", NULL}},
    {"fp16-nan-kernel",
     {"--precision", "16-mixed", "--steps", "5", "--inject", "nan@3:blk0/attn/softmax", NULL}},
    {"fp16-nan-ln", {"--precision", "bf16-mixed", "--steps", "4", "--inject", "nan@2:blk0/ln2",
                     NULL}},
    {"fp16-noscale", {"--precision", "16-mixed", "--no-loss-scale", "--steps", "4", NULL}},
    {"master-bf16", {"--precision", "bf16-mixed", "--master-weights", "bf16", "--steps", "5", NULL}},
    {"lr-diverge", {"--lr", "3", "--steps", "6", NULL}},
    {"no-clip", {"--max-grad-norm", "0", "--lr", "0.05", "--steps", "5", NULL}},
    {"tf32", {"--tf32", "--steps", "2", NULL}},
    {"gemm16F", {"--precision", "16-mixed", "--gemm-compute", "16F", "--steps", "1", NULL}},
};

START_TEST(test_scenario_matches_log)
{
    if (!trainer_available()) return;
    const scenario *sc = &scenarios[_i];
    ipx_trace t;
    gt_log g;
    train(sc->name, NULL, sc->args, &t, &g);
    check_steps(sc->name, &t, &g);
    check_first_nonfinite(sc->name, &t, &g);
    ck_assert(t.have_end && t.end.how == MPT_END_EXIT && t.end.status == 0);
    ipx_trace_free(&t);
}
END_TEST

/* Sum of the precision sample's underflow counts over backward GEMMs at full statistics. */
static uint64_t bwd_underflow(const ipx_trace *t)
{
    uint64_t n = 0;
    for (size_t i = 0; i < t->ngemms; i++)
        if (!strncmp(t->gemms[i].layer, "bwd/", 4)) {
            const mpt_trace_precision *p = ipx_trace_prec(t, t->gemms[i].g.seq);
            if (p) n += p->underflow;
        }
    return n;
}

START_TEST(test_underflow_without_loss_scaling)
{
    if (!trainer_available()) return;
    ipx_trace scaled, unscaled;
    gt_log g;
    const char *a1[] = {"--precision", "16-mixed", "--steps", "1", NULL};
    const char *a2[] = {"--precision", "16-mixed", "--no-loss-scale", "--steps", "1", NULL};
    train("scaled", NULL, a1, &scaled, &g);
    train("unscaled", NULL, a2, &unscaled, &g);
    /* The loss scale lifts the gradients out of fp16's subnormal range: without it the
     * backward GEMMs' exact results underflow. */
    ck_assert_uint_eq(bwd_underflow(&scaled), 0);
    ck_assert_uint_gt(bwd_underflow(&unscaled), 100);
    ipx_trace_free(&scaled);
    ipx_trace_free(&unscaled);
}
END_TEST

/* Largest precision-sample relative error over the run's GEMMs. */
static double worst_rel(const ipx_trace *t, mpt_compute_type *compute)
{
    double w = 0;
    for (size_t i = 0; i < t->nprecs; i++)
        if (t->precs[i].max_rel_err > w) w = t->precs[i].max_rel_err;
    *compute = t->ngemms ? t->gemms[0].g.compute : MPT_COMPUTE_UNKNOWN;
    return w;
}

START_TEST(test_precision_loss_visible)
{
    if (!trainer_available()) return;
    ipx_trace t;
    gt_log g;
    mpt_compute_type c;
    const char *fp32[] = {"--steps", "1", NULL}, *tf32[] = {"--tf32", "--steps", "1", NULL};
    train("p-fp32", NULL, fp32, &t, &g);
    double e32 = worst_rel(&t, &c);
    ck_assert_int_eq(c, MPT_COMPUTE_32F);
    ipx_trace_free(&t);
    train("p-tf32", NULL, tf32, &t, &g);
    double etf = worst_rel(&t, &c);
    ck_assert_int_eq(c, MPT_COMPUTE_32F_FAST_TF32);
    ipx_trace_free(&t);
    /* fp32 accumulation of fp32 products: ~1e-6 at worst; TF32 inputs: ~2^-11 */
    ck_assert_msg(e32 < 1e-4 && etf > 10 * e32, "fp32 %g, tf32 %g", e32, etf);
}
END_TEST

START_TEST(test_steps_found_without_nvtx)
{
    if (!trainer_available()) return;
    ipx_trace with, without;
    gt_log g;
    const char *args[] = {"--steps", "6", NULL}, *nonvtx[] = {"--no-nvtx", NULL};
    train("nvtx", NULL, args, &with, &g);
    train("no-nvtx", nonvtx, args, &without, &g);
    int per_nvtx[8] = {0}, per_auto[8] = {0};
    for (size_t i = 0; i < with.ngemms; i++)
        if (with.gemms[i].g.step >= 0 && with.gemms[i].g.step < 8) per_nvtx[with.gemms[i].g.step]++;
    for (size_t i = 0; i < without.ngemms; i++)
        if (without.gemms[i].g.step >= 0 && without.gemms[i].g.step < 8)
            per_auto[without.gemms[i].g.step]++;
    /* Steps 0 and 1 teach the detector the period; from step 2 on each step is found whole. */
    for (int s = 2; s < 6; s++)
        ck_assert_msg(per_auto[s] == per_nvtx[s] && per_auto[s] > 0,
                      "step %d: %d GEMMs found automatically, %d in the NVTX step", s,
                      per_auto[s], per_nvtx[s]);
    ck_assert_uint_eq(without.nscalars, 0); /* no NVTX: no marks */
    ipx_trace_free(&with);
    ipx_trace_free(&without);
}
END_TEST

/* Unchecked fixtures run in the runner itself, before and after the test case: the directory
 * is removed even when a test fails (a failing test's process ends at the failed check). */
static void setup(void)
{
    ipx_tmpdir();
}

static void teardown(void)
{
    ipx_cleanup();
}

Suite *suite_interposer_train(void);
Suite *suite_interposer_train(void)
{
    Suite *s = suite_create("interposer_train");
    TCase *tc = tcase_create("trainer");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_scenario_matches_log, 0,
                        (int)(sizeof scenarios / sizeof *scenarios));
    tcase_add_test(tc, test_underflow_without_loss_scaling);
    tcase_add_test(tc, test_precision_loss_visible);
    tcase_add_test(tc, test_steps_found_without_nvtx);
    suite_add_tcase(s, tc);
    return s;
}

#else

Suite *suite_interposer_train(void);
Suite *suite_interposer_train(void)
{
    printf("SKIP: interposer_train: the interposer is not built (no CUDA headers)\n");
    return suite_create("interposer_train");
}

#endif
