/*
 * bench_trainer: steps/s of the reference trainer's default configuration (the tiny preset,
 * 200 steps) on simcuda, in each precision mode, as ratios against two baselines measured in
 * the same run: the 32-true run (what 16-bit emulation costs on the CPU) and the
 * double-precision reference model (refmodel.c) doing the same forward and backward on the
 * same batch size with plain loops (what cuBLAS-on-OpenBLAS and the kernels buy).
 *
 * The trainer runs as a program ($BUILD/bin/mpt-train beside this benchmark, on simcuda); its
 * own ground-truth log gives the training seconds (setup and evaluation excluded).
 * BENCH_TRAINER_STEPS overrides the step count (default 200, the figure).
 */
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reference-trainer/corpus.h"
#include "reference-trainer/model.h"
#include "reference-trainer/options.h"
#include "reference-trainer/refmodel.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs the trainer; returns its training seconds from the log's "end" line, or -1. */
static double run_trainer(const char *bin, const char *simdir, const char *precision, int steps,
                          double *val_loss)
{
    char log[64], steps_s[16];
    snprintf(log, sizeof log, "/tmp/bench-trainer-%d.jsonl", (int)getpid());
    snprintf(steps_s, sizeof steps_s, "%d", steps);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setenv("LD_LIBRARY_PATH", simdir, 1);
        unsetenv("NVTX_INJECTION64_PATH");
        execl(bin, bin, "--precision", precision, "--steps", steps_s, "--quiet", "--log", log,
              (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    FILE *f = fopen(log, "r");
    if (!f) return -1;
    char line[1024];
    double secs = -1;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "\"event\":\"end\"");
        if (!p) continue;
        const char *s = strstr(line, "\"seconds\":"), *v = strstr(line, "\"val_loss\":");
        if (s) secs = strtod(s + 10, NULL);
        if (v) *val_loss = strtod(v + 11 + (v[11] == '"'), NULL);
    }
    fclose(f);
    unlink(log);
    return secs;
}

/* Seconds per forward+backward of the double-precision reference on the default shapes. */
static double reference_step_seconds(const mpt_tr_opts *o, int reps)
{
    enum { CORPUS = 64 * 1024 };
    char *text = malloc(CORPUS);
    mpt_tr_corpus c;
    char err[128];
    mpt_tr_corpus_generate(o->data_seed, text, CORPUS);
    if (mpt_tr_corpus_from_text(&c, text, CORPUS, o->val_frac, err, sizeof err)) {
        free(text);
        return -1;
    }
    mpt_tr_config cfg = {c.vocab, o->layers, o->dim, o->heads, o->seq, o->batch, 0};
    mpt_tr_layout lo;
    mpt_tr_ref_model m;
    if (mpt_tr_layout_init(&lo, &cfg) || mpt_tr_ref_model_init(&m, &lo)) return -1;
    size_t N = (size_t)o->batch * o->seq;
    float *pf = malloc(lo.total * sizeof *pf);
    double *p = malloc(lo.total * sizeof *p), *g = malloc(lo.total * sizeof *g);
    int32_t *tok = malloc(N * sizeof *tok), *tgt = malloc(N * sizeof *tgt);
    mpt_tr_params_init(&lo, o->seed, pf);
    for (size_t i = 0; i < lo.total; i++)
        p[i] = pf[i];
    mpt_tr_rng r;
    mpt_tr_rng_seed(&r, 1, 1);
    mpt_tr_corpus_train_batch(&c, &r, o->batch, o->seq, tok, tgt);
    double t0 = now_s();
    for (int i = 0; i < reps; i++) {
        mpt_tr_ref_model_forward(&m, p, tok, tgt);
        mpt_tr_ref_model_backward(&m, p, tok, tgt, g);
    }
    double per = (now_s() - t0) / reps;
    mpt_tr_ref_model_free(&m);
    mpt_tr_layout_free(&lo);
    mpt_tr_corpus_free(&c);
    free(text), free(pf), free(p), free(g), free(tok), free(tgt);
    return per;
}

int main(void)
{
    char exe[PATH_MAX], bin[PATH_MAX], simdir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 1;
    exe[n] = '\0';
    char *build = dirname(dirname(exe)); /* $BUILD/bench/bench_trainer -> $BUILD */
    snprintf(bin, sizeof bin, "%s/bin/mpt-train", build);
    snprintf(simdir, sizeof simdir, "%s/sim", build);
    if (access(bin, X_OK) != 0) {
        printf("bench_trainer: SKIP: %s not built (no CUDA headers at build time)\n", bin);
        return 0;
    }
    mpt_tr_opts o;
    mpt_tr_opts_default(&o);
    const char *env = getenv("BENCH_TRAINER_STEPS");
    int steps = env && atoi(env) > 0 ? atoi(env) : o.steps;
    printf("bench_trainer: default config (tiny preset: %d layers, dim %d, %d heads, seq %d, "
           "batch %d) on simcuda, %d steps\n",
           o.layers, o.dim, o.heads, o.seq, o.batch, steps);
    printf("  %-11s %9s %12s %10s %11s\n", "precision", "steps/s", "train s", "vs 32-true",
           "val loss");
    static const char *const modes[] = {"32-true", "16-mixed", "bf16-mixed"};
    double base = -1;
    for (int i = 0; i < 3; i++) {
        double val = NAN, s = run_trainer(bin, simdir, modes[i], steps, &val);
        if (s <= 0) {
            printf("bench_trainer: FAIL: mpt-train --precision %s did not complete\n", modes[i]);
            return 1;
        }
        if (i == 0) base = s;
        printf("  %-11s %9.1f %12.2f %10.2f %11.4f\n", modes[i], steps / s, s, base / s, val);
    }
    double ref = reference_step_seconds(&o, 3);
    if (ref <= 0) {
        printf("bench_trainer: FAIL: reference model\n");
        return 1;
    }
    printf("  double-precision reference (refmodel.c, same shapes): %.2f steps/s; simcuda "
           "32-true is %.1fx that\n",
           1.0 / ref, (steps / base) * ref);
    return 0;
}
