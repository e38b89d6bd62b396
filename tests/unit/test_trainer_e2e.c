/*
 * Suite trainer_e2e: the reference trainer as a program (build/bin/mpt-train, on simcuda):
 * its self-check of every kernel and GEMM path against the double reference, bad usage, and
 * every failure mode doing what docs/reference-trainer.md says it does, read back from the
 * ground-truth log. Small models and few steps keep it fast (also under ASan).
 *
 * The binary is found beside this runner ($BUILD/tests/.. -> $BUILD/bin/mpt-train) and run
 * with LD_LIBRARY_PATH=$BUILD/sim; without it (no CUDA headers at build time) each test
 * prints SKIP and passes.
 */
#include <check.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMALL                                                                                      \
    "--layers 2 --dim 32 --heads 4 --seq 32 --batch 4 --eval-batches 2 "                           \
    "--quiet --corpus-bytes 64"

static char bin[PATH_MAX], simdir[PATH_MAX];

static int have_trainer(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = '\0';
    char *build = dirname(dirname(exe)); /* $BUILD/tests/mptrace-tests -> $BUILD */
    snprintf(bin, sizeof bin, "%s/bin/mpt-train", build);
    snprintf(simdir, sizeof simdir, "%s/sim", build);
    if (access(bin, X_OK) != 0) {
        printf("SKIP: %s not built (no CUDA headers at build time)\n", bin);
        return 0;
    }
    return 1;
}

#define NEED_TRAINER()                                                                             \
    do {                                                                                           \
        if (!have_trainer()) return;                                                               \
    } while (0)

/* Runs mpt-train with `args` (split on spaces); stdout+stderr into *out (static, truncated).
 * Returns the exit status, or -1 if it did not exit normally. */
static int run(const char *args, char **out)
{
    static char text[65536];
    char argbuf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(argbuf, sizeof argbuf, "%s", args);
    argv[argc++] = bin;
    for (char *t = strtok(argbuf, " "); t && argc < 63; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    char path[] = "/tmp/mpt-train-out-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("LD_LIBRARY_PATH", simdir, 1);
        unsetenv("NVTX_INJECTION64_PATH");
        execv(bin, argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    *out = text;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the ground-truth log ------------------------------------------------------------------ */

static char logtext[1 << 20];

static const char *read_log(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f, "no log at %s", path);
    size_t n = fread(logtext, 1, sizeof logtext - 1, f);
    logtext[n] = '\0';
    fclose(f);
    return logtext;
}

/* The line of `event` at `step` (-1: the first of that event), or NULL. */
static const char *log_line(const char *log, const char *event, int step)
{
    char key[96];
    if (step >= 0)
        snprintf(key, sizeof key, "{\"event\":\"%s\",\"step\":%d,", event, step);
    else
        snprintf(key, sizeof key, "{\"event\":\"%s\"", event);
    return strstr(log, key);
}

/* A number field of a line ("nan"/"inf" strings included); NAN + assertion if absent. */
static double field(const char *line, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *eol = strchr(line, '\n');
    const char *p = strstr(line, k);
    ck_assert_msg(p && (!eol || p < eol), "no %s in %.200s", key, line);
    p += strlen(k);
    if (*p == '"') p++;
    return strtod(p, NULL);
}

/* A string field's value copied into buf. */
static const char *sfield(const char *line, const char *key, char *buf, size_t len)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":\"", key);
    const char *p = strstr(line, k);
    const char *eol = strchr(line, '\n');
    ck_assert_msg(p && (!eol || p < eol), "no %s in %.200s", key, line);
    p += strlen(k);
    size_t n = strcspn(p, "\"");
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
    return buf;
}

static char tmp_log[64];

static const char *run_logged(const char *args)
{
    char full[1024], *out;
    snprintf(tmp_log, sizeof tmp_log, "/tmp/mpt-train-log-%d.jsonl", (int)getpid());
    snprintf(full, sizeof full, "%s --log %s", args, tmp_log);
    int rc = run(full, &out);
    ck_assert_msg(rc == 0, "mpt-train %s: exit %d\n%s", args, rc, out);
    const char *log = read_log(tmp_log);
    unlink(tmp_log);
    return log;
}

/* ---- tests ----------------------------------------------------------------------------------- */

START_TEST(test_self_check)
{
    NEED_TRAINER();
    char *out;
    int rc = run("--self-check", &out);
    ck_assert_msg(rc == 0 && !strstr(out, "FAIL") && strstr(out, "checks passed"),
                  "self-check failed (exit %d):\n%s", rc, out);
}
END_TEST

typedef struct usage_row {
    const char *args;
    int status;
    const char *msg;
} usage_row;

static const usage_row usage[] = {
    {"--help", 0, "usage: mpt-train"},
    {"--bogus", 2, "mpt-train: unknown option '--bogus'"},
    {"--dim 50 --heads 4", 2, "--dim 50 is not divisible by --heads 4"},
    {"--data /nonexistent/corpus.txt", 2, "cannot open data file '/nonexistent/corpus.txt'"},
    {"--corpus-bytes 4 --seq 512", 2, "--seq 512 is longer than the data"},
    {"--log /nonexistent/dir/x.jsonl --steps 1", 2, "cannot write log file"},
    {"--inject nan@3:blk7/mlp/gelu", 2, "the model has blocks 0..1"},
};

START_TEST(test_usage)
{
    NEED_TRAINER();
    char *out;
    int rc = run(usage[_i].args, &out);
    ck_assert_msg(rc == usage[_i].status, "'%s': exit %d, want %d\n%s", usage[_i].args, rc,
                  usage[_i].status, out);
    ck_assert_msg(strstr(out, usage[_i].msg), "'%s': output lacks '%s':\n%s", usage[_i].args,
                  usage[_i].msg, out);
}
END_TEST

START_TEST(test_spike_with_scaler_skips)
{
    NEED_TRAINER();
    const char *log = run_logged(SMALL " --precision 16-mixed --steps 12 --inject spike@6:3000");
    char buf[128];
    const char *inj = log_line(log, "inject", 6), *s6 = log_line(log, "step", 6);
    ck_assert(inj && s6);
    ck_assert_str_eq(sfield(inj, "layer", buf, sizeof buf), "fwd/blk1/ln1");
    ck_assert(field(s6, "skipped") == 1.0 && field(s6, "scale") == 65536.0);
    ck_assert(field(log_line(log, "step", 7), "scale") == 32768.0);
    for (int s = 0; s < 12; s++) {
        const char *l = log_line(log, "step", s);
        ck_assert_msg(l && field(l, "skipped") == (s == 6), "step %d", s);
        if (s != 6) ck_assert_msg(isfinite(field(l, "loss")), "step %d loss not finite", s);
    }
    const char *nf = log_line(log, "nonfinite", 6);
    ck_assert_msg(nf, "no nonfinite event:\n%s", log);
    ck_assert_str_eq(sfield(nf, "layer", buf, sizeof buf), "fwd/blk1/attn/scores");
    ck_assert_str_eq(sfield(nf, "op", buf, sizeof buf), "gemm");
    ck_assert(field(nf, "inputs_finite") == 1.0);
    ck_assert(field(log_line(log, "end", -1), "skipped") == 1.0);
}
END_TEST

START_TEST(test_spike_without_scaler_goes_nan)
{
    NEED_TRAINER();
    const char *log = run_logged(SMALL " --precision 16-mixed --no-loss-scale --steps 10 "
                                       "--inject spike@5:3000");
    for (int s = 0; s < 10; s++) {
        const char *l = log_line(log, "step", s);
        ck_assert(l && field(l, "skipped") == 0.0 && field(l, "scale") == 1.0);
        if (s < 5) ck_assert_msg(isfinite(field(l, "loss")), "step %d", s);
        if (s > 5)
            ck_assert_msg(isnan(field(l, "loss")), "step %d: loss %g, want NaN", s,
                          field(l, "loss"));
    }
    ck_assert(isnan(field(log_line(log, "eval", 9), "val_loss")));
}
END_TEST

START_TEST(test_spike_bf16_stays_finite)
{
    NEED_TRAINER();
    const char *log = run_logged(SMALL " --precision bf16-mixed --steps 8 --inject spike@4:3000");
    for (int s = 0; s < 8; s++)
        ck_assert_msg(isfinite(field(log_line(log, "step", s), "loss")), "step %d", s);
    ck_assert(!log_line(log, "nonfinite", -1)); /* bf16 has fp32's range */
    ck_assert(field(log_line(log, "step", 4), "grad_norm") >
              10 * field(log_line(log, "step", 3), "grad_norm"));
}
END_TEST

typedef struct nan_row {
    const char *args;
    const char *layer, *first_gemm;
    int scaler;
} nan_row;

static const nan_row nans[] = {
    {"--inject nan@4:0", "fwd/blk0/mlp/gelu", "fwd/blk0/mlp/down", 0},
    {"--inject nan@4:blk1/attn/softmax --precision 16-mixed", "fwd/blk1/attn/softmax",
     "fwd/blk1/attn/pv", 1},
    {"--inject nan@4:blk0/ln1 --precision bf16-mixed", "fwd/blk0/ln1", "fwd/blk0/attn/qkv", 0},
    {"--inject nan@4:blk1/ln2 --norm rmsnorm", "fwd/blk1/ln2", "fwd/blk1/mlp/up", 0},
};

START_TEST(test_nan_injection)
{
    NEED_TRAINER();
    char args[256], buf[128];
    snprintf(args, sizeof args, SMALL " --steps 7 %s", nans[_i].args);
    const char *log = run_logged(args);
    const char *inj = log_line(log, "inject", 4), *nf = log_line(log, "nonfinite", 4);
    ck_assert(inj && nf);
    char want_inj[96];
    snprintf(want_inj, sizeof want_inj, "%s", nans[_i].layer);
    ck_assert_str_eq(sfield(inj, "layer", buf, sizeof buf), want_inj);
    ck_assert_str_eq(sfield(nf, "layer", buf, sizeof buf), nans[_i].layer);
    ck_assert_str_eq(sfield(nf, "op", buf, sizeof buf), "kernel");
    ck_assert_str_eq(sfield(nf, "first_gemm", buf, sizeof buf), nans[_i].first_gemm);
    ck_assert(isnan(field(log_line(log, "step", 4), "loss")));
    /* with the scaler the step is skipped and training recovers; without, NaN stays */
    ck_assert(field(log_line(log, "step", 4), "skipped") == nans[_i].scaler);
    double after = field(log_line(log, "step", 6), "loss");
    ck_assert_msg(nans[_i].scaler ? isfinite(after) : isnan(after), "step 6 loss %g", after);
}
END_TEST

START_TEST(test_precisions_learn_alike)
{
    NEED_TRAINER();
    static const char *const modes[] = {"32-true", "16-mixed", "bf16-mixed"};
    double val[3];
    for (int i = 0; i < 3; i++) {
        char args[256];
        snprintf(args, sizeof args, SMALL " --steps 40 --precision %s --check-finite", modes[i]);
        const char *log = run_logged(args);
        val[i] = field(log_line(log, "eval", 39), "val_loss");
        ck_assert_msg(!log_line(log, "nonfinite", -1), "%s: a healthy run saw Inf/NaN", modes[i]);
        /* learnt: log(24) = 3.18 at the start */
        ck_assert_msg(val[i] < 2.7, "%s: val loss %g", modes[i], val[i]);
    }
    for (int i = 1; i < 3; i++)
        ck_assert_msg(fabs(val[i] - val[0]) < 0.03 * val[0], "%s val %g vs 32-true %g", modes[i],
                      val[i], val[0]);
}
END_TEST

START_TEST(test_deterministic)
{
    NEED_TRAINER();
    static char first[1 << 16];
    const char *args = SMALL " --steps 6 --precision bf16-mixed --seed 99";
    snprintf(first, sizeof first, "%s", run_logged(args));
    const char *second = run_logged(args);
    /* identical up to the wall-clock seconds on the last line */
    size_t upto = (size_t)(strstr(first, "\"seconds\"") - first);
    ck_assert(strncmp(first, second, upto) == 0);
    const char *other = run_logged(SMALL " --steps 6 --precision bf16-mixed --seed 98");
    ck_assert(strncmp(first + 1, other + 1, 400) != 0 ||
              field(log_line(other, "step", 0), "loss") !=
                  field(log_line(first, "step", 0), "loss"));
}
END_TEST

START_TEST(test_master_bf16_loses_updates)
{
    NEED_TRAINER();
    const char *log = run_logged(SMALL " --steps 10 --master-weights bf16 --lr 1e-4");
    double lost = field(log_line(log, "step", 9), "lost_updates");
    ck_assert_msg(lost > 0.2 && lost <= 1.0, "lost updates %g", lost);
    log = run_logged(SMALL " --steps 3");
    ck_assert(!strstr(log, "lost_updates"));
}
END_TEST

START_TEST(test_other_modes_run)
{
    NEED_TRAINER();
    /* fp16 accumulation is emulated slowly on the CPU: a very small model */
    const char *log = run_logged("--layers 1 --dim 16 --heads 2 --seq 8 --batch 2 --steps 3 "
                                 "--quiet --corpus-bytes 16 --eval-batches 1 --warmup 1 "
                                 "--precision 16-mixed --gemm-compute 16F");
    ck_assert(strstr(log, "\"gemm_compute\":\"16F\""));
    ck_assert(isfinite(field(log_line(log, "step", 2), "loss")));
    double plain = field(log_line(run_logged(SMALL " --steps 3"), "step", 2), "loss");
    double tf32 = field(log_line(run_logged(SMALL " --steps 3 --tf32"), "step", 2), "loss");
    ck_assert_msg(tf32 != plain && fabs(tf32 - plain) < 1e-2, "tf32 %g fp32 %g", tf32, plain);
    double noclip =
        field(log_line(run_logged(SMALL " --steps 3 --max-grad-norm 0"), "step", 2), "loss");
    ck_assert(isfinite(noclip));
}
END_TEST

START_TEST(test_write_corpus)
{
    NEED_TRAINER();
    char path[64], *out;
    snprintf(path, sizeof path, "/tmp/mpt-train-corpus-%d.txt", (int)getpid());
    char args[256];
    snprintf(args, sizeof args, "--corpus-bytes 8 --write-corpus %s", path);
    ck_assert_int_eq(run(args, &out), 0);
    FILE *f = fopen(path, "rb");
    ck_assert(f);
    char buf[9000];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_uint_eq(n, 8192);
    /* and it trains from the file as from the generator */
    snprintf(args, sizeof args, SMALL " --steps 2 --data %s", path);
    const char *log = run_logged(args);
    ck_assert(strstr(log, "\"data\":\"file:"));
    unlink(path);
}
END_TEST

extern Suite *suite_trainer_e2e(void);

Suite *suite_trainer_e2e(void)
{
    Suite *s = suite_create("trainer_e2e");
    TCase *tc = tcase_create("program");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_self_check);
    tcase_add_loop_test(tc, test_usage, 0, (int)(sizeof usage / sizeof *usage));
    tcase_add_test(tc, test_spike_with_scaler_skips);
    tcase_add_test(tc, test_spike_without_scaler_goes_nan);
    tcase_add_test(tc, test_spike_bf16_stays_finite);
    tcase_add_loop_test(tc, test_nan_injection, 0, (int)(sizeof nans / sizeof *nans));
    tcase_add_test(tc, test_precisions_learn_alike);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_master_bf16_loses_updates);
    tcase_add_test(tc, test_other_modes_run);
    tcase_add_test(tc, test_write_corpus);
    suite_add_tcase(s, tc);
    return s;
}
