/*
 * The interposer end to end: small CUDA programs (tests/programs/ipx_gemms.c and friends), run
 * under the built `mptrace --sim`, and what their traces must say. Each test names the scenario
 * it runs; the expected numbers are worked out in the program's comments.
 */
#include <check.h>

#if defined(MPT_HAVE_INTERPOSER)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_interposer_util.h"

/* Runs `mptrace --sim [opts...] -o DIR/NAME.mpt PROGRAM ARGS...`, expects exit `want`, loads the
 * trace. `opts` and `args` are NULL-terminated lists. */
static void run_traced(const char *name, const char *const *opts, const char *program,
                       const char *const *args, int want, ipx_trace *t, char **out)
{
    char trace[4200];
    snprintf(trace, sizeof trace, "%s/%s.mpt", ipx_tmpdir(), name);
    char *argv[40];
    int n = 0;
    argv[n++] = (char *)ipx_path("bin/mptrace");
    argv[n++] = "--sim";
    for (const char *const *o = opts; o && *o; o++)
        argv[n++] = (char *)*o;
    argv[n++] = "-o";
    argv[n++] = trace;
    argv[n++] = (char *)ipx_path(program);
    for (const char *const *a = args; a && *a; a++)
        argv[n++] = (char *)*a;
    argv[n] = NULL;
    char *o = NULL, *e = NULL;
    int rc = ipx_run(argv, NULL, &o, &e);
    ck_assert_msg(rc == want, "%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, rc, want, o,
                  e);
    ck_assert_msg(strstr(e, "mptrace: trace written: ") != NULL, "stderr:\n%s", e);
    ck_assert_int_eq(ipx_trace_load(trace, t), 0);
    if (out)
        *out = o;
    else
        free(o);
    free(e);
}

static void gemms(const char *mode, const char *const *opts, ipx_trace *t)
{
    const char *args[] = {mode, NULL};
    char *out;
    run_traced(mode, opts, "tests/programs/ipx_gemms", args, 0, t, &out);
    ck_assert_str_eq(out, "OK\n");
    free(out);
}

START_TEST(test_overflow_in_nvtx_range)
{
    if (!ipx_available()) return;
    ipx_trace t;
    gemms("overflow-nvtx", NULL, &t);
    ck_assert_uint_eq(t.ngemms, 3);
    for (int s = 0; s < 3; s++) {
        const ipx_gemm *g = ipx_trace_gemm(&t, "model/attn/scores", s);
        ck_assert_ptr_nonnull(g);
        ck_assert_int_eq(g->g.step, s);
        ck_assert_str_eq(g->api, "cublasGemmEx");
        ck_assert_int_eq(g->g.dtype_d, MPT_DT_F16);
        ck_assert_int_eq(g->g.compute, MPT_COMPUTE_32F);
        /* every=10: step 0 full; step 1 full from the alarm; step 2 cheap again */
        ck_assert_int_eq(g->g.level, s == 2 ? MPT_LEVEL_CHEAP : MPT_LEVEL_FULL);
        const mpt_trace_tensor *d = ipx_trace_tensor(&t, g->g.seq, MPT_ROLE_D);
        ck_assert_ptr_nonnull(d);
        ck_assert_uint_eq(d->cheap.count, 64);
        ck_assert_uint_eq(d->cheap.inf, s == 1 ? 64 : 0);
        ck_assert(d->cheap.absmax == (s == 1 ? 0.0 : 64.0));
    }
    const ipx_gemm *bad = ipx_trace_gemm(&t, "model/attn/scores", 1);
    const mpt_trace_tensor *a = ipx_trace_tensor(&t, bad->g.seq, MPT_ROLE_A);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(a->cheap.nan + a->cheap.inf, 0); /* produced in the op, not an input */
    ck_assert(a->full.absmax == 40.0);
    const mpt_trace_precision *p = ipx_trace_prec(&t, bad->g.seq);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->samples, 64);
    ck_assert_uint_eq(p->overflow, 64);
    ck_assert(p->max_exact_abs == 102400.0);
    /* steps, scalars, the inferred skip */
    ck_assert_uint_eq(t.nsteps, 6);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(t.steps[i].step, i / 2);
        ck_assert_int_eq(t.steps[i].phase, i % 2 ? MPT_STEP_END : MPT_STEP_BEGIN);
    }
    for (int s = 0; s < 3; s++) {
        ck_assert(ipx_trace_scalar(&t, "loss", s, 0) == 2.5 - 0.25 * s);
        ck_assert(ipx_trace_scalar(&t, "skip", s, 0) == (s == 1));
        double inferred = ipx_trace_scalar(&t, "skip", s, MPT_SCALAR_INFERRED);
        ck_assert(s == 1 ? inferred == 1.0 : isnan(inferred));
    }
    ck_assert(t.have_end);
    ck_assert_int_eq(t.end.how, MPT_END_EXIT);
    ck_assert_int_eq(t.end.status, 0);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_overflow_in_static_function)
{
    if (!ipx_available()) return;
    ipx_trace t;
    gemms("overflow-static", NULL, &t);
    ck_assert_uint_eq(t.ngemms, 1);
    /* No NVTX: the layer is the call path in the program, static functions included. */
    ck_assert_msg(strstr(t.gemms[0].layer, "attention_scores") != NULL, "layer '%s'",
                  t.gemms[0].layer);
    ck_assert_msg(strncmp(t.gemms[0].site, "f16_gemm+0x", 11) == 0 ||
                      strncmp(t.gemms[0].site, "attention_scores+0x", 19) == 0,
                  "call site '%s'", t.gemms[0].site);
    const mpt_trace_tensor *d = ipx_trace_tensor(&t, t.gemms[0].g.seq, MPT_ROLE_D);
    ck_assert_uint_eq(d->cheap.inf, 64);
    ck_assert_int_eq(t.gemms[0].g.level, MPT_LEVEL_FULL); /* upgraded by the alarm */
    ck_assert_int_eq(t.gemms[0].g.step, -1);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_call_paths_told_apart)
{
    if (!ipx_available()) return;
    ipx_trace t;
    gemms("paths", NULL, &t);
    ck_assert_uint_eq(t.ngemms, 6);
    for (size_t i = 0; i < 6; i++) {
        const char *want = i % 2 ? "mlp_up" : "attention_scores";
        ck_assert_msg(strstr(t.gemms[i].layer, want) != NULL, "GEMM %zu: layer '%s', want %s", i,
                      t.gemms[i].layer, want);
        /* the shared helper's call site is the same for both */
        ck_assert_str_eq(t.gemms[i].site, t.gemms[0].site);
    }
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_nan_from_memcpy)
{
    if (!ipx_available()) return;
    ipx_trace t;
    gemms("memcpy-nan", NULL, &t);
    ck_assert_uint_eq(t.ngemms, 2);
    uint64_t s1 = t.gemms[0].g.seq, s2 = t.gemms[1].g.seq;
    int between = 0;
    for (size_t i = 0; i < t.nmemory; i++)
        if (t.memory[i].seq > s1 && t.memory[i].seq < s2 && t.memory[i].kind == MPT_MEM_H2D &&
            t.memory[i].bytes == 1024)
            between++;
    ck_assert_int_eq(between, 1);
    ck_assert_uint_eq(ipx_trace_tensor(&t, s1, MPT_ROLE_D)->cheap.nan, 0);
    ck_assert_uint_eq(ipx_trace_tensor(&t, s2, MPT_ROLE_D)->cheap.nan, 16); /* row 37 % 16 */
    ck_assert_int_eq(t.gemms[1].g.level, MPT_LEVEL_FULL);
    ck_assert_uint_eq(ipx_trace_tensor(&t, s2, MPT_ROLE_A)->full.nan, 1);
    ck_assert_uint_eq(ipx_trace_tensor(&t, s2, MPT_ROLE_B)->full.nan, 0);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_fp16_accumulation)
{
    if (!ipx_available()) return;
    ipx_trace t;
    gemms("accum16", NULL, &t);
    const ipx_gemm *g32 = ipx_trace_gemm(&t, "acc32", 0), *g16 = ipx_trace_gemm(&t, "acc16", 0);
    ck_assert_ptr_nonnull(g32);
    ck_assert_ptr_nonnull(g16);
    ck_assert_int_eq(g32->g.compute, MPT_COMPUTE_32F);
    ck_assert_int_eq(g16->g.compute, MPT_COMPUTE_16F);
    const mpt_trace_precision *p32 = ipx_trace_prec(&t, g32->g.seq);
    const mpt_trace_precision *p16 = ipx_trace_prec(&t, g16->g.seq);
    ck_assert_ptr_nonnull(p32);
    ck_assert_ptr_nonnull(p16);
    ck_assert(p32->max_rel_err == 0.0);
    /* fp16 accumulation of 4096 ones stalls at 2048: half the exact value, 512 ulps of fp16 */
    ck_assert(p16->max_rel_err == 0.5);
    ck_assert(p16->max_ulp_err == 512.0);
    ck_assert(p16->max_exact_abs == 4096.0);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_underflow_counted)
{
    if (!ipx_available()) return;
    ipx_trace t;
    const char *opts[] = {"--full", NULL};
    gemms("underflow", opts, &t);
    ck_assert_uint_eq(t.ngemms, 1);
    const mpt_trace_precision *p = ipx_trace_prec(&t, t.gemms[0].g.seq);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->samples, 64);
    ck_assert_uint_eq(p->underflow, 64); /* exact 2^-25, stored 0 */
    ck_assert(p->max_exact_abs == ldexp(1, -25));
    ck_assert(p->max_rel_err == 1.0);
    ck_assert_uint_eq(ipx_trace_tensor(&t, t.gemms[0].g.seq, MPT_ROLE_D)->full.zero, 64);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_cublaslt_bias)
{
    if (!ipx_available()) return;
    ipx_trace t;
    gemms("lt", NULL, &t);
    ck_assert_uint_eq(t.ngemms, 1);
    const ipx_gemm *g = &t.gemms[0];
    ck_assert_str_eq(g->api, "cublasLtMatmul");
    ck_assert_str_eq(g->layer, "mlp/up");
    ck_assert_int_eq(g->g.m, 6);
    ck_assert_int_eq(g->g.n, 5);
    ck_assert_int_eq(g->g.k, 7);
    ck_assert_int_eq(g->g.epilogue, MPT_EPI_BIAS);
    ck_assert_uint_eq(g->g.flags & (MPT_GEMM_HAS_BIAS | MPT_GEMM_C_NOT_D),
                      MPT_GEMM_HAS_BIAS | MPT_GEMM_C_NOT_D);
    ck_assert(g->g.beta == 1.0);
    ck_assert(ipx_trace_tensor(&t, g->g.seq, MPT_ROLE_BIAS)->full.absmax == 105.0);
    ck_assert_ptr_nonnull(ipx_trace_tensor(&t, g->g.seq, MPT_ROLE_C));
    const mpt_trace_precision *p = ipx_trace_prec(&t, g->g.seq);
    ck_assert_uint_eq(p->samples, 30);
    /* fp32 compute against the exact value, bias and C included: only fp32 rounding remains */
    ck_assert_msg(p->max_rel_err < 1e-6 && p->max_ulp_err <= 2.0, "rel %g ulp %g",
                  p->max_rel_err, p->max_ulp_err);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_every_entry_point)
{
    if (!ipx_available()) return;
    static const char *const apis[] = {
        "cublasSgemm_v2", "cublasSgemm_v2_64", "cublasDgemm_v2", "cublasDgemm_v2_64",
        "cublasHgemm", "cublasHgemm_64", "cublasSgemmBatched", "cublasSgemmBatched_64",
        "cublasDgemmBatched", "cublasDgemmBatched_64", "cublasHgemmBatched",
        "cublasHgemmBatched_64", "cublasSgemmStridedBatched", "cublasSgemmStridedBatched_64",
        "cublasDgemmStridedBatched", "cublasDgemmStridedBatched_64", "cublasHgemmStridedBatched",
        "cublasHgemmStridedBatched_64", "cublasSgemmEx", "cublasSgemmEx_64", "cublasGemmEx",
        "cublasGemmEx_64", "cublasGemmBatchedEx", "cublasGemmBatchedEx_64",
        "cublasGemmStridedBatchedEx", "cublasGemmStridedBatchedEx_64"};
    ipx_trace t;
    gemms("entry", NULL, &t);
    ck_assert_uint_eq(t.ngemms, sizeof apis / sizeof *apis);
    for (size_t i = 0; i < t.ngemms; i++) {
        const ipx_gemm *g = &t.gemms[i];
        ck_assert_str_eq(g->api, apis[i]);
        int batched = strstr(apis[i], "Batched") != NULL;
        ck_assert_int_eq(g->g.batch, batched ? 2 : 1);
        ck_assert_int_eq(g->g.k, 3);
        const mpt_trace_tensor *d = ipx_trace_tensor(&t, g->g.seq, MPT_ROLE_D);
        ck_assert_msg(d && d->cheap.absmax == 3.0 && d->cheap.count == 4u * (batched ? 2 : 1),
                      "%s: D not measured right", apis[i]);
    }
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_invalid_arguments_untouched)
{
    if (!ipx_available()) return;
    ipx_trace t;
    gemms("invalid", NULL, &t);
    /* Refused calls are passed to cuBLAS as they are (which answers as documented: the program
     * checks) and leave no record; the valid one is recorded. */
    ck_assert_uint_eq(t.ngemms, 1);
    ck_assert(ipx_trace_tensor(&t, t.gemms[0].g.seq, MPT_ROLE_D)->cheap.absmax == 22.0);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_layer_filter_and_no_stats)
{
    if (!ipx_available()) return;
    ipx_trace t;
    const char *filter[] = {"--layers", "^acc16$", NULL};
    gemms("accum16", filter, &t);
    const ipx_gemm *g32 = ipx_trace_gemm(&t, "acc32", 0), *g16 = ipx_trace_gemm(&t, "acc16", 0);
    ck_assert_int_eq(g32->g.level, MPT_LEVEL_NONE);
    ck_assert_int_eq(g32->g.skip, MPT_SKIP_FILTERED);
    ck_assert_ptr_null(ipx_trace_tensor(&t, g32->g.seq, MPT_ROLE_D));
    ck_assert_int_eq(g16->g.level, MPT_LEVEL_FULL);
    ipx_trace_free(&t);

    const char *nostats[] = {"--no-stats", NULL};
    gemms("accum16", nostats, &t);
    ck_assert_uint_eq(t.ngemms, 2);
    ck_assert_uint_eq(t.ntensors, 0);
    ck_assert_uint_eq(t.nprecs, 0);
    ck_assert_int_eq(t.gemms[0].g.skip, MPT_SKIP_FILTERED);
    ipx_trace_free(&t);

    const char *noinputs[] = {"--no-inputs", "--sample", "0", NULL};
    gemms("accum16", noinputs, &t);
    ck_assert_ptr_nonnull(ipx_trace_tensor(&t, t.gemms[0].g.seq, MPT_ROLE_D));
    ck_assert_ptr_null(ipx_trace_tensor(&t, t.gemms[0].g.seq, MPT_ROLE_A));
    ck_assert_uint_eq(t.nprecs, 0);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_threads_nothing_lost)
{
    if (!ipx_available()) return;
    ipx_trace t;
    char *out;
    run_traced("threads", NULL, "tests/programs/ipx_threads", NULL, 0, &t, &out);
    ck_assert_str_eq(out, "OK\n");
    free(out);
    ck_assert_uint_eq(t.ngemms, 8 * 40);
    for (int w = 0; w < 8; w++) {
        char layer[32];
        snprintf(layer, sizeof layer, "worker%d", w);
        uint32_t tid = 0;
        int n = 0;
        for (const ipx_gemm *g; (g = ipx_trace_gemm(&t, layer, n)) != NULL; n++) {
            if (!tid) tid = g->g.tid;
            ck_assert_uint_eq(g->g.tid, tid); /* one thread per range */
            const mpt_trace_tensor *d = ipx_trace_tensor(&t, g->g.seq, MPT_ROLE_D);
            ck_assert_msg(d && d->cheap.absmax == 4.0 * (w + 1), "%s: absmax %g", layer,
                          d ? d->cheap.absmax : -1);
        }
        ck_assert_int_eq(n, 40);
    }
    for (size_t i = 1; i < t.ngemms; i++) /* sequence numbers unique */
        for (size_t j = 0; j < i; j++)
            ck_assert_uint_ne(t.gemms[i].g.seq, t.gemms[j].g.seq);
    ipx_trace_free(&t);
}
END_TEST

START_TEST(test_reentrant_cublas_recorded_once)
{
    if (!ipx_available()) return;
    if (access(ipx_path("tests/programs/ipx_lib/libcublas.so.13"), R_OK) != 0) {
        printf("SKIP: the nested cuBLAS stand-in is not built\n");
        return;
    }
    char trace[4200], ldpath[8400];
    snprintf(trace, sizeof trace, "%s/nested.mpt", ipx_tmpdir());
    snprintf(ldpath, sizeof ldpath, "LD_LIBRARY_PATH=%s:%s", ipx_path("tests/programs/ipx_lib"),
             ipx_path("sim"));
    char *argv[] = {(char *)ipx_path("bin/mptrace"), "-q", "-o", trace,
                    (char *)ipx_path("tests/programs/ipx_nested"), NULL};
    const char *env[] = {ldpath, NULL};
    char *out = NULL;
    ck_assert_int_eq(ipx_run(argv, env, &out, NULL), 0);
    ck_assert_str_eq(out, "OK\n");
    free(out);
    ipx_trace t;
    ck_assert_int_eq(ipx_trace_load(trace, &t), 0);
    ck_assert_uint_eq(t.ngemms, 1);
    ck_assert_str_eq(t.gemms[0].api, "cublasSgemm_v2");
    ipx_trace_free(&t);
}
END_TEST

/* The GPU statistics kernel (one source) run through simcuda against the host reducer: the
 * program does the comparison on 60 random and adversarial tensors and prints OK. */
START_TEST(test_gpu_stats_kernel_matches_host)
{
    if (!ipx_available()) return;
    char sim[4200];
    snprintf(sim, sizeof sim, "LD_LIBRARY_PATH=%s", ipx_path("sim"));
    char *argv[] = {(char *)ipx_path("tests/programs/ipx_gpu_stats"), NULL};
    const char *env[] = {sim, NULL};
    char *out = NULL, *err = NULL;
    int rc = ipx_run(argv, env, &out, &err);
    ck_assert_msg(rc == 0 && !strcmp(out, "OK 60\n"), "exit %d\n%s%s", rc, out, err);
    free(out);
    free(err);
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

Suite *suite_interposer_e2e(void);
Suite *suite_interposer_e2e(void)
{
    Suite *s = suite_create("interposer_e2e");
    TCase *tc = tcase_create("programs");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_overflow_in_nvtx_range);
    tcase_add_test(tc, test_overflow_in_static_function);
    tcase_add_test(tc, test_call_paths_told_apart);
    tcase_add_test(tc, test_nan_from_memcpy);
    tcase_add_test(tc, test_fp16_accumulation);
    tcase_add_test(tc, test_underflow_counted);
    tcase_add_test(tc, test_cublaslt_bias);
    tcase_add_test(tc, test_every_entry_point);
    tcase_add_test(tc, test_invalid_arguments_untouched);
    tcase_add_test(tc, test_layer_filter_and_no_stats);
    tcase_add_test(tc, test_threads_nothing_lost);
    tcase_add_test(tc, test_reentrant_cublas_recorded_once);
    tcase_add_test(tc, test_gpu_stats_kernel_matches_host);
    suite_add_tcase(s, tc);
    return s;
}

#else

Suite *suite_interposer_e2e(void);
Suite *suite_interposer_e2e(void)
{
    Suite *s = suite_create("interposer_e2e");
    printf("SKIP: interposer_e2e: the interposer is not built (no CUDA headers)\n");
    return s;
}

#endif
