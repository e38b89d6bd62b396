/*
 * The GPU statistics path, for real, on the CPU: the same programs traced twice under
 * `mptrace --sim`, once with the host reducer (simcuda's default: its memory is host-readable)
 * and once with MPTRACE_HOST_READABLE=0, which makes libmptrace.so take the GPU path: the
 * statistics kernel (interposer/gpu_stats_kernel.cu, compiled as C) loaded and launched
 * through simcuda's libcuda.so.1 stand-in, results drained from the ring (interposer/gpu_ring.c).
 * SIMCUDA_EVENT_LAG makes those results arrive late, as on a GPU, and MPTRACE_GPU_RING=2 makes
 * the ring wait for its oldest slot all the time.
 *
 * The traces must agree: same GEMMs (seq, step, layer, skip reason, level), every TENSOR record
 * of the one in the other with every statistic equal (sums to 1e-12 relative), same steps and
 * scalars, and every PRECISION record (the sample kernel, gpu_sample_kernel.cu) bit for bit;
 * the documented differences are fp64 outputs (the kernel does not read fp64: skip
 * "unsupported") and GEMMs the GPU path cannot sample (beta != 0 with C == D: no record). With lag,
 * levels may differ where the alarm could only act later (documented), but the statistics of what
 * both measured, and `mptrace report`'s first non-finite, agree.
 */
#include <check.h>

#if defined(MPT_HAVE_INTERPOSER)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/trace_reader.h"
#include "test_interposer_util.h"

/* ---- running ----------------------------------------------------------------------------------
 */

/* `mptrace --sim [--full] -o DIR/NAME.mpt PROGRAM ARGS...` with extra environment `env`. */
static int traced(const char *name, const char *const *env, int full, const char *program,
                  const char *const *args, char *trace, size_t tracelen, char **err)
{
    snprintf(trace, tracelen, "%s/%s.mpt", ipx_tmpdir(), name);
    char *argv[48];
    int n = 0;
    argv[n++] = (char *)ipx_path("bin/mptrace");
    argv[n++] = "--sim";
    if (full) argv[n++] = "--full";
    argv[n++] = "-o";
    argv[n++] = trace;
    argv[n++] = (char *)ipx_path(program);
    for (const char *const *a = args; a && *a; a++)
        argv[n++] = (char *)*a;
    argv[n] = NULL;
    char *out = NULL, *e = NULL;
    int rc = ipx_run(argv, env, &out, &e);
    free(out);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

static void load(const char *name, const char *const *env, int full, const char *program,
                 const char *const *args, ipx_trace *t)
{
    char trace[4200], *err;
    int rc = traced(name, env, full, program, args, trace, sizeof trace, &err);
    ck_assert_msg(rc == 0, "%s: exit %d\n%s", name, rc, err);
    free(err);
    ck_assert_int_eq(ipx_trace_load(trace, t), 0);
}

static const char *const GPU[] = {"MPTRACE_HOST_READABLE=0", NULL};

/* ---- comparing --------------------------------------------------------------------------------
 */

static int same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static void same_stats(const char *what, const mpt_trace_tensor *h, const mpt_trace_tensor *g)
{
    ck_assert_msg(h->level == g->level, "%s: level %d vs %d", what, h->level, g->level);
    ck_assert_msg(h->info.dtype == g->info.dtype && h->info.rows == g->info.rows &&
                      h->info.cols == g->info.cols && h->info.batch == g->info.batch,
                  "%s: shape", what);
    ck_assert_msg(h->cheap.count == g->cheap.count && h->cheap.nan == g->cheap.nan &&
                      h->cheap.inf == g->cheap.inf && same(h->cheap.absmax, g->cheap.absmax),
                  "%s: cheap %llu/%llu/%llu/%g vs %llu/%llu/%llu/%g", what,
                  (unsigned long long)h->cheap.count, (unsigned long long)h->cheap.nan,
                  (unsigned long long)h->cheap.inf, h->cheap.absmax,
                  (unsigned long long)g->cheap.count, (unsigned long long)g->cheap.nan,
                  (unsigned long long)g->cheap.inf, g->cheap.absmax);
    if (h->level != MPT_LEVEL_FULL) return;
    const mpt_stats *a = &h->full, *b = &g->full;
    ck_assert_msg(a->count == b->count && a->nan == b->nan && a->pinf == b->pinf &&
                      a->ninf == b->ninf && a->zero == b->zero && a->subnormal == b->subnormal,
                  "%s: counts", what);
    ck_assert_msg(same(a->min, b->min) && same(a->max, b->max) && same(a->absmax, b->absmax) &&
                      same(a->min_nonzero_abs, b->min_nonzero_abs),
                  "%s: extrema", what);
    ck_assert_msg(!memcmp(a->hist, b->hist, sizeof a->hist), "%s: histogram", what);
    ck_assert_msg(!memcmp(a->narrow, b->narrow, sizeof a->narrow), "%s: narrow counts", what);
    ck_assert_msg(fabs(a->sum - b->sum) <= 1e-12 * fabs(a->sum) || same(a->sum, b->sum),
                  "%s: sum %.17g vs %.17g", what, a->sum, b->sum);
    ck_assert_msg(fabs(a->sumsq - b->sumsq) <= 1e-12 * fabs(a->sumsq) || same(a->sumsq, b->sumsq),
                  "%s: sumsq %.17g vs %.17g", what, a->sumsq, b->sumsq);
}

/* The precision sample: every PRECISION record of the GPU path (gpu_sample_kernel.cu) equals
 * the host path's for that GEMM, bit for bit (same positions, same arithmetic in the same
 * order); without lag, every GEMM the GPU path can sample has one (not: beta != 0 with C == D,
 * alpha/beta in device memory, fp64). */
static void same_precision(const char *what, const ipx_trace *h, const ipx_trace *g, int exact);

static int gpu_reads(mpt_dtype t)
{
    return t == MPT_DT_F32 || t == MPT_DT_F16 || t == MPT_DT_BF16 || t == MPT_DT_E4M3 ||
           t == MPT_DT_E5M2;
}

static const ipx_gemm *gemm_of(const ipx_trace *t, uint64_t seq)
{
    for (size_t i = 0; i < t->ngemms; i++)
        if (t->gemms[i].g.seq == seq) return &t->gemms[i];
    return NULL;
}

static void same_precision(const char *what, const ipx_trace *h, const ipx_trace *g, int exact)
{
    for (size_t i = 0; i < g->nprecs; i++) {
        const mpt_trace_precision *b = &g->precs[i], *a = ipx_trace_prec(h, b->seq);
        ck_assert_msg(a != NULL, "%s: seq %llu sampled only on the GPU path", what,
                      (unsigned long long)b->seq);
        ck_assert_msg(
            a->dtype == b->dtype && a->samples == b->samples && a->underflow == b->underflow &&
                a->overflow == b->overflow && same(a->max_rel_err, b->max_rel_err) &&
                same(a->mean_rel_err, b->mean_rel_err) && same(a->max_ulp_err, b->max_ulp_err) &&
                same(a->mean_ulp_err, b->mean_ulp_err) && same(a->max_exact_abs, b->max_exact_abs),
            "%s: seq %llu precision differs: %llu samples, %llu underflow, max rel "
            "%.17g vs %llu, %llu, %.17g",
            what, (unsigned long long)b->seq, (unsigned long long)a->samples,
            (unsigned long long)a->underflow, a->max_rel_err, (unsigned long long)b->samples,
            (unsigned long long)b->underflow, b->max_rel_err);
    }
    if (!exact) return;
    size_t expected = 0;
    for (size_t i = 0; i < h->nprecs; i++) {
        const mpt_trace_precision *a = &h->precs[i];
        const ipx_gemm *ga = gemm_of(h, a->seq);
        ck_assert_ptr_nonnull(ga);
        int accumulates = ga->g.beta != 0 && !(ga->g.flags & MPT_GEMM_C_NOT_D);
        if (accumulates || isnan(ga->g.alpha) || !gpu_reads(ga->g.dtype_a) ||
            !gpu_reads(ga->g.dtype_d))
            continue;
        expected++;
        ck_assert_msg(ipx_trace_prec(g, a->seq) != NULL, "%s: seq %llu (%s) not sampled on the GPU",
                      what, (unsigned long long)a->seq, ga->layer);
    }
    ck_assert_msg(expected == 0 || g->nprecs > 0, "%s: no precision sample on the GPU", what);
}

/* exact: levels and scalars must match too (no lag: the alarm acts at once on both paths). */
static void agree(const char *what, const ipx_trace *h, const ipx_trace *g, int exact)
{
    ck_assert_msg(h->ngemms == g->ngemms, "%s: %zu vs %zu GEMMs", what, h->ngemms, g->ngemms);
    for (size_t i = 0; i < h->ngemms; i++) {
        const ipx_gemm *a = &h->gemms[i], *b = &g->gemms[i];
        ck_assert_msg(
            a->g.seq == b->g.seq && a->g.step == b->g.step && a->g.ordinal == b->g.ordinal &&
                !strcmp(a->layer, b->layer) && !strcmp(a->api, b->api),
            "%s: GEMM %zu differs (%s %s vs %s %s)", what, i, a->api, a->layer, b->api, b->layer);
        if (!gpu_reads(a->g.dtype_d)) { /* fp64: the host reducer only */
            ck_assert_msg(b->g.level == MPT_LEVEL_NONE && b->g.skip == MPT_SKIP_UNSUPPORTED,
                          "%s: GEMM %zu (%s) should be unsupported on the GPU path", what, i,
                          a->api);
            continue;
        }
        ck_assert_msg(a->g.skip == b->g.skip, "%s: GEMM %zu skip %d vs %d", what, i, a->g.skip,
                      b->g.skip);
        if (exact)
            ck_assert_msg(a->g.level == b->g.level, "%s: GEMM %zu (%s) level %d vs %d", what, i,
                          a->layer, a->g.level, b->g.level);
    }
    size_t compared = 0;
    for (size_t i = 0; i < h->ntensors; i++) {
        const mpt_trace_tensor *a = &h->tensors[i];
        const ipx_gemm *ga = gemm_of(h, a->info.seq);
        if (!ga || !gpu_reads(ga->g.dtype_d) || !gpu_reads(a->info.dtype)) continue;
        const mpt_trace_tensor *b = ipx_trace_tensor(g, a->info.seq, a->info.role);
        char w[200];
        snprintf(w, sizeof w, "%s: seq %llu role %d", what, (unsigned long long)a->info.seq,
                 a->info.role);
        if (!exact && (!b || b->level != a->level)) continue; /* the alarm acted later */
        ck_assert_msg(b != NULL, "%s: missing on the GPU path", w);
        same_stats(w, a, b);
        compared++;
    }
    for (size_t i = 0; i < g->ntensors; i++) {
        const mpt_trace_tensor *b = &g->tensors[i];
        ck_assert_msg(ipx_trace_tensor(h, b->info.seq, b->info.role) != NULL,
                      "%s: seq %llu role %d only on the GPU path", what,
                      (unsigned long long)b->info.seq, b->info.role);
        for (size_t j = 0; j < i; j++) /* once each: a result is emitted or taken, not both */
            ck_assert_msg(
                g->tensors[j].info.seq != b->info.seq || g->tensors[j].info.role != b->info.role,
                "%s: seq %llu role %d twice", what, (unsigned long long)b->info.seq, b->info.role);
    }
    ck_assert_msg(compared > 0 || h->ntensors == 0, "%s: nothing compared", what);
    same_precision(what, h, g, exact);
    ck_assert_uint_eq(h->nsteps, g->nsteps);
    for (size_t i = 0; i < h->nsteps; i++)
        ck_assert(h->steps[i].step == g->steps[i].step && h->steps[i].phase == g->steps[i].phase);
    if (!exact) return;
    /* the same scalars (as sets: a late result may repeat an inferred skip, see recorder_gpu.c) */
    for (int dir = 0; dir < 2; dir++) {
        const ipx_trace *x = dir ? g : h, *y = dir ? h : g;
        for (size_t i = 0; i < x->nscalars; i++) {
            const ipx_scalar *a = &x->scalars[i];
            int found = 0;
            for (size_t j = 0; j < y->nscalars && !found; j++)
                found = !strcmp(a->key, y->scalars[j].key) && a->s.step == y->scalars[j].s.step &&
                        a->s.flags == y->scalars[j].s.flags &&
                        same(a->s.value, y->scalars[j].s.value);
            ck_assert_msg(found, "%s: scalar %s=%g (step %lld, flags %u) only on the %s path", what,
                          a->key, a->s.value, (long long)a->s.step, a->s.flags,
                          dir ? "GPU" : "host");
        }
    }
}

/* The "First non-finite value" paragraph of `mptrace report`. */
static char *first_nonfinite(const char *trace, int lines)
{
    char *argv[] = {(char *)ipx_path("bin/mptrace"), "report", (char *)trace, NULL};
    char *out = NULL, *err = NULL;
    int rc = ipx_run(argv, NULL, &out, &err);
    ck_assert_msg(rc == 0, "report %s: %d\n%s", trace, rc, err);
    free(err);
    char *p = strstr(out, "First non-finite value");
    ck_assert_msg(p != NULL, "%s", out);
    /* the heading, step and layer, op, and where it came from (up to the precision sample's
     * exact value, which only the host path measures) */
    char *end = p;
    for (int line = 0; line < lines && end && *end; line++)
        end = strchr(end + 1, '\n');
    if (end) *end = '\0';
    char *cut = strstr(p, "finite inputs");
    if (cut) cut[strlen("finite inputs")] = '\0';
    char *r = strdup(p);
    free(out);
    return r;
}

/* ---- the two paths agree ----------------------------------------------------------------------
 */

static const char *const modes[] = {
    "overflow-nvtx", "overflow-static", "paths", "memcpy-nan", "accum16", "underflow", "lt",
    "entry",         "invalid",         NULL};

START_TEST(test_paths_agree_on_programs)
{
    if (!ipx_available()) return;
    for (int full = 0; full < 2; full++)
        for (const char *const *m = modes; *m; m++) {
            const char *args[] = {*m, NULL};
            char hn[64], gn[64];
            snprintf(hn, sizeof hn, "host-%s-%d", *m, full);
            snprintf(gn, sizeof gn, "gpu-%s-%d", *m, full);
            ipx_trace h, g;
            load(hn, NULL, full, "tests/programs/ipx_gemms", args, &h);
            load(gn, GPU, full, "tests/programs/ipx_gemms", args, &g);
            agree(gn, &h, &g, 1);
            ipx_trace_free(&h);
            ipx_trace_free(&g);
        }
}
END_TEST

static const char *const trainer_args[] = {
    "--layers", "1",       "--seq", "32",       "--batch", "4", "--print-every", "0", "--precision",
    "16-mixed", "--steps", "7",     "--inject", "spike@4", NULL};

START_TEST(test_paths_agree_on_trainer)
{
    if (!ipx_available()) return;
    if (access(ipx_path("bin/mpt-train"), X_OK) != 0) {
        printf("SKIP: mpt-train is not built\n");
        return;
    }
    static const struct {
        const char *name;
        const char *env[4];
        int exact;
    } runs[] = {
        {"train-gpu", {"MPTRACE_HOST_READABLE=0", NULL}, 1},
        {"train-gpu-lag", {"MPTRACE_HOST_READABLE=0", "SIMCUDA_EVENT_LAG=4", NULL}, 0},
    };
    ipx_trace h;
    load("train-host", NULL, 0, "bin/mpt-train", trainer_args, &h);
    char host_trace[4200];
    snprintf(host_trace, sizeof host_trace, "%s/train-host.mpt", ipx_tmpdir());
    char *want = first_nonfinite(host_trace, 4), *want3 = first_nonfinite(host_trace, 3);
    ck_assert_msg(strstr(want, "step 4") != NULL, "%s", want);
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        ipx_trace g;
        load(runs[i].name, runs[i].env, 0, "bin/mpt-train", trainer_args, &g);
        agree(runs[i].name, &h, &g, runs[i].exact);
        ipx_trace_free(&g);
        char trace[4200];
        snprintf(trace, sizeof trace, "%s/%s.mpt", ipx_tmpdir(), runs[i].name);
        /* with late results the same op; where it came from only when the inputs were measured
         * (the alarm acted in time), which lag can prevent (docs/interposer.md) */
        char *got = first_nonfinite(trace, runs[i].exact ? 4 : 3);
        const char *w = runs[i].exact ? want : want3;
        ck_assert_msg(!strcmp(w, got), "%s:\n%s\nhost:\n%s", runs[i].name, got, w);
        free(got);
    }
    free(want);
    free(want3);
    ipx_trace_free(&h);
}
END_TEST

/* ---- results arriving late, a full ring, the drain at exit --------------------------------------
 */

/* Record types in file order: GEMM seqs, and for each TENSOR or PRECISION record whether a GEMM
 * with a later seq came before it (a result drained after later ops). Returns how many. */
static int late_tensors(const char *path)
{
    char err[256];
    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    mpt_trace_record *rec = malloc(sizeof *rec);
    uint64_t last_gemm = 0;
    int late = 0;
    while (mpt_trace_reader_next(r, rec) == MPT_TRACE_RECORD) {
        if (rec->type == MPT_REC_GEMM) last_gemm = rec->u.gemm.seq;
        if (rec->type == MPT_REC_TENSOR && rec->u.tensor.info.seq < last_gemm) late++;
        if (rec->type == MPT_REC_PRECISION && rec->u.precision.seq < last_gemm) late++;
    }
    free(rec);
    mpt_trace_reader_close(r);
    return late;
}

START_TEST(test_lag_and_back_pressure)
{
    if (!ipx_available()) return;
    static const struct {
        const char *mode, *lag, *ring;
    } cases[] = {
        {"entry", "SIMCUDA_EVENT_LAG=3", "MPTRACE_GPU_RING=2"}, /* waits on every slot */
        {"overflow-nvtx", "SIMCUDA_EVENT_LAG=2", "MPTRACE_GPU_RING=3"},
        {"accum16", "SIMCUDA_EVENT_LAG=1000000", "MPTRACE_GPU_RING=4096"}, /* exit drain only */
        {"lt", "SIMCUDA_EVENT_LAG=5", "MPTRACE_GPU_RING=2"},
        {"paths", "SIMCUDA_EVENT_LAG=1000000", "MPTRACE_GPU_RING=3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *args[] = {cases[i].mode, NULL};
        const char *env[] = {"MPTRACE_HOST_READABLE=0", cases[i].lag, cases[i].ring, NULL};
        char name[64];
        ipx_trace h, g;
        snprintf(name, sizeof name, "lag-host-%zu", i);
        load(name, NULL, 1, "tests/programs/ipx_gemms", args, &h);
        snprintf(name, sizeof name, "lag-gpu-%zu", i);
        load(name, env, 1, "tests/programs/ipx_gemms", args, &g);
        agree(name, &h, &g, 1); /* --full: nothing depends on when results came */
        char trace[4200];
        snprintf(trace, sizeof trace, "%s/%s.mpt", ipx_tmpdir(), name);
        if (g.ngemms > 1)
            ck_assert_msg(late_tensors(trace) > 0, "%s: no result arrived after a later GEMM",
                          name);
        ipx_trace_free(&h);
        ipx_trace_free(&g);
    }
}
END_TEST

/* The alarm on the GPU path with late results: the overflowing GEMM of step 1 keeps its cheap
 * statistics (its result came after its record), the analyzer still finds it first, and the
 * inferred skip of step 1 is written when the result arrives. */
START_TEST(test_late_alarm)
{
    if (!ipx_available()) return;
    const char *args[] = {"overflow-nvtx", NULL};
    const char *env[] = {"MPTRACE_HOST_READABLE=0", "SIMCUDA_EVENT_LAG=1000000", NULL};
    ipx_trace g;
    load("late-alarm", env, 0, "tests/programs/ipx_gemms", args, &g);
    const ipx_gemm *bad = ipx_trace_gemm(&g, "model/attn/scores", 1);
    ck_assert_ptr_nonnull(bad);
    ck_assert_int_eq(bad->g.level, MPT_LEVEL_CHEAP);
    const mpt_trace_tensor *d = ipx_trace_tensor(&g, bad->g.seq, MPT_ROLE_D);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->cheap.inf, 64);
    ck_assert(ipx_trace_scalar(&g, "skip", 1, MPT_SCALAR_INFERRED) == 1.0);
    ck_assert(isnan(ipx_trace_scalar(&g, "skip", 2, MPT_SCALAR_INFERRED)));
    ipx_trace_free(&g);
    char trace[4200];
    snprintf(trace, sizeof trace, "%s/late-alarm.mpt", ipx_tmpdir());
    char *got = first_nonfinite(trace, 3);
    ck_assert_msg(strstr(got, "step 1, layer model/attn/scores") != NULL, "%s", got);
    free(got);
}
END_TEST

/* ---- ending badly, no driver -------------------------------------------------------------------
 */

START_TEST(test_sigkill_leaves_readable_trace)
{
    if (!ipx_available()) return;
    const char *args[] = {"sigkill", NULL};
    const char *env[] = {"MPTRACE_HOST_READABLE=0", "SIMCUDA_EVENT_LAG=2", NULL};
    char trace[4200];
    int rc =
        traced("gpu-kill", env, 1, "tests/programs/ipx_lifecycle", args, trace, sizeof trace, NULL);
    ck_assert_int_eq(rc, 128 + 9);
    ipx_trace t;
    ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
    ck_assert(!t.have_end);
    ck_assert_uint_ge(t.nsteps, 6);
    ck_assert_uint_ge(t.ngemms, 3);
    ck_assert_uint_ge(t.ntensors, 1);
    ipx_trace_free(&t);
}
END_TEST

static int count_lines(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Without libcuda.so.1 the GPU path is off: GEMMs are recorded without statistics (skip
 * "unreadable"), with one stderr line and one MESSAGE saying why; MPTRACE_GPU_STATS=0 asks for
 * no GPU path at all (no message). The program runs under LD_PRELOAD directly, against a
 * directory holding simcuda's runtime and cuBLAS but not its driver. */
START_TEST(test_no_driver_falls_back)
{
    if (!ipx_available()) return;
    char dir[4200], cmd[13000];
    snprintf(dir, sizeof dir, "%s/nodriver", ipx_tmpdir());
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && for l in libcudart.so.13 libcublas.so.13 libcublasLt.so.13; do "
             "ln -sf %s/$l %s/$l; done",
             dir, ipx_path("sim"), dir);
    ck_assert_int_eq(system(cmd), 0);
    for (int wanted = 0; wanted < 2; wanted++) {
        char preload[4300], libpath[4300], output[4300], nvtx[4300];
        snprintf(preload, sizeof preload, "LD_PRELOAD=%s", ipx_path("lib/libmptrace.so"));
        snprintf(nvtx, sizeof nvtx, "NVTX_INJECTION64_PATH=%s", ipx_path("lib/libmptrace.so"));
        snprintf(libpath, sizeof libpath, "LD_LIBRARY_PATH=%s", dir);
        snprintf(output, sizeof output, "MPTRACE_OUTPUT=%s/nodriver%d.mpt", ipx_tmpdir(), wanted);
        const char *env[] = {preload,
                             nvtx,
                             libpath,
                             output,
                             "MPTRACE_HOST_READABLE=0",
                             wanted ? "MPTRACE_GPU_STATS=auto" : "MPTRACE_GPU_STATS=0",
                             NULL};
        char *argv[] = {(char *)ipx_path("tests/programs/ipx_gemms"), "overflow-nvtx", NULL};
        char *out = NULL, *err = NULL;
        int rc = ipx_run(argv, env, &out, &err);
        ck_assert_msg(rc == 0 && !strcmp(out, "OK\n"), "exit %d\n%s%s", rc, out, err);
        ck_assert_msg(count_lines(err, "mptrace: GPU statistics unavailable") == wanted, "%s", err);
        if (wanted) ck_assert_msg(strstr(err, "libcuda.so.1") != NULL, "%s", err);
        free(out);
        free(err);
        ipx_trace t;
        ck_assert_int_eq(ipx_trace_load(output + strlen("MPTRACE_OUTPUT="), &t), 0);
        ck_assert_uint_eq(t.ngemms, 3);
        for (size_t i = 0; i < t.ngemms; i++) {
            ck_assert_int_eq(t.gemms[i].g.level, MPT_LEVEL_NONE);
            ck_assert_int_eq(t.gemms[i].g.skip, MPT_SKIP_UNREADABLE);
        }
        ck_assert_uint_eq(t.ntensors, 0);
        int said = 0;
        for (size_t i = 0; i < t.nmessages; i++)
            said += strstr(t.messages[i], "GPU statistics unavailable") != NULL;
        ck_assert_int_eq(said, wanted);
        ipx_trace_free(&t);
    }
}
END_TEST

/* A GEMM on a capturing stream gets skip "graph capture" on both paths (and the GPU path queues
 * nothing on that stream: no TENSOR record comes later); the next GEMM is measured. */
START_TEST(test_graph_capture_skipped)
{
    if (!ipx_available()) return;
    char shim[4300];
    snprintf(shim, sizeof shim, "LD_PRELOAD=%s",
             ipx_path("tests/programs/ipx_lib/libcaptureshim.so"));
    const char *host[] = {shim, NULL};
    const char *gpu[] = {shim, "MPTRACE_HOST_READABLE=0", "SIMCUDA_EVENT_LAG=3", NULL};
    for (int p = 0; p < 2; p++) {
        ipx_trace t;
        load(p ? "capture-gpu" : "capture-host", p ? gpu : host, 0,
             "tests/programs/ipx_gpu_capture", NULL, &t);
        ck_assert_uint_eq(t.ngemms, 2);
        ck_assert_int_eq(t.gemms[0].g.skip, MPT_SKIP_GRAPH_CAPTURE);
        ck_assert_int_eq(t.gemms[0].g.level, MPT_LEVEL_NONE);
        ck_assert_ptr_null(ipx_trace_tensor(&t, t.gemms[0].g.seq, MPT_ROLE_D));
        ck_assert_int_eq(t.gemms[1].g.skip, MPT_SKIP_NONE);
        const mpt_trace_tensor *d = ipx_trace_tensor(&t, t.gemms[1].g.seq, MPT_ROLE_D);
        ck_assert_ptr_nonnull(d);
        ck_assert(d->cheap.absmax == 4.0);
        ipx_trace_free(&t);
    }
}
END_TEST

/* MPTRACE_GPU_KERNELS names the fatbin to load: missing, it is reported; present (built by
 * `make gpu`), simcuda's driver refuses GPU code (CUDA_ERROR_INVALID_IMAGE). Either way the run
 * goes on without statistics, saying why once. */
START_TEST(test_kernel_image_problems_reported)
{
    if (!ipx_available()) return;
    char missing[4300], fatbin[4300];
    snprintf(missing, sizeof missing, "MPTRACE_GPU_KERNELS=%s/none.fatbin", ipx_tmpdir());
    snprintf(fatbin, sizeof fatbin, "MPTRACE_GPU_KERNELS=%s", ipx_path("lib/mptrace-stats.fatbin"));
    const char *env[] = {"MPTRACE_HOST_READABLE=0", NULL, NULL};
    const char *args[] = {"overflow-nvtx", NULL};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && access(fatbin + strlen("MPTRACE_GPU_KERNELS="), R_OK) != 0) {
            printf("SKIP: the fatbin is not built (make gpu): only the missing-file case ran\n");
            break;
        }
        env[1] = i ? fatbin : missing;
        char trace[4200], *err;
        ck_assert_int_eq(traced(i ? "fatbin" : "nofatbin", env, 0, "tests/programs/ipx_gemms", args,
                                trace, sizeof trace, &err),
                         0);
        const char *want = i ? "CUDA_ERROR_INVALID_IMAGE" : "GPU statistics kernels not found";
        ck_assert_msg(count_lines(err, "mptrace: GPU statistics unavailable") == 1 &&
                          strstr(err, want) != NULL,
                      "%s", err);
        free(err);
        ipx_trace t;
        ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
        ck_assert_uint_eq(t.ngemms, 3);
        ck_assert_int_eq(t.gemms[0].g.skip, MPT_SKIP_UNREADABLE);
        ipx_trace_free(&t);
    }
}
END_TEST

/* ---- GradScaler ------------------------------------------------------------------------------ */

START_TEST(test_gradscaler_kernel_read)
{
    if (!ipx_available()) return;
    static const double scale[] = {1024, 1024, 2048, 1024, 1024, 2048};
    static const char *const envs[][3] = {
        {NULL},
        {"MPTRACE_HOST_READABLE=0", NULL},
        {"MPTRACE_HOST_READABLE=0", "SIMCUDA_EVENT_LAG=1000000", NULL},
    };
    for (int e = 0; e < 3; e++) {
        char name[32];
        snprintf(name, sizeof name, "scaler%d", e);
        ipx_trace t;
        load(name, envs[e], 0, "tests/programs/ipx_gpu_scaler", NULL, &t);
        for (int s = 0; s < 6; s++) {
            double got = ipx_trace_scalar(&t, "scale", s, MPT_SCALAR_GRADSCALER);
            ck_assert_msg(got == scale[s], "%s: step %d scale %g, want %g", name, s, got, scale[s]);
            ck_assert(ipx_trace_scalar(&t, "skip", s, MPT_SCALAR_GRADSCALER) == (s == 2));
        }
        ck_assert_uint_eq(t.ngemms, 6);
        ipx_trace_free(&t);
    }
}
END_TEST

static void setup(void)
{
    ipx_tmpdir();
}

static void teardown(void)
{
    ipx_cleanup();
}

Suite *suite_interposer_gpu(void);
Suite *suite_interposer_gpu(void)
{
    Suite *s = suite_create("interposer_gpu");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_paths_agree_on_programs);
    tcase_add_test(tc, test_paths_agree_on_trainer);
    tcase_add_test(tc, test_lag_and_back_pressure);
    tcase_add_test(tc, test_late_alarm);
    tcase_add_test(tc, test_sigkill_leaves_readable_trace);
    tcase_add_test(tc, test_no_driver_falls_back);
    tcase_add_test(tc, test_kernel_image_problems_reported);
    tcase_add_test(tc, test_graph_capture_skipped);
    tcase_add_test(tc, test_gradscaler_kernel_read);
    suite_add_tcase(s, tc);
    return s;
}

#else

Suite *suite_interposer_gpu(void);
Suite *suite_interposer_gpu(void)
{
    Suite *s = suite_create("interposer_gpu");
    printf("SKIP: interposer_gpu: the interposer is not built (no CUDA headers)\n");
    return s;
}

#endif
