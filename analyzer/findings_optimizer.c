/*
 * The optimizer finding: parameter updates lost to the weights' own rounding.
 *
 * The optimizer's update is not a GEMM, so mptrace cannot see it. A trainer that keeps its
 * weights in bf16 (pure `model.to(torch.bfloat16)` training, or bf16 "master" weights) loses
 * every update smaller than half a bf16 ulp of its weight: 8 significant bits, so an update
 * below ~0.4% of the weight vanishes, and training stalls as the learning rate decays. Trainers
 * report the fraction of parameters whose update vanished as `lost_updates` in their NVTX marks
 * (docs/nvtx-conventions.md); the reference trainer does with `--master-weights bf16`.
 *
 * A finding needs a sustained fraction, not one noisy step: a run of SUSTAIN consecutive reported
 * steps at or above a threshold (all of them when fewer were reported, but at least MIN_STEPS).
 * Thresholds, from the reference trainer (docs/reference-trainer.md): fp32 masters lose none;
 * bf16 masters at the default lr lose 8% early and ~50% as the cosine decay lowers the lr (val
 * loss 1.780 against 1.773: a warning); at a fine-tuning lr (3e-5) 78-96% (the loss stalls: an
 * error). Warning from 25%, error from 75%. The finding's step is the first step of the first
 * sustained run at its severity's threshold.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "analyzer/findings_internal.h"

#define SUSTAIN      5
#define MIN_STEPS    3
#define LOST_WARNING 0.25
#define LOST_ERROR   0.75

typedef struct lost_series {
    size_t n;
    int64_t *step;
    double *frac;
} lost_series;

/* First index of a run of `need` consecutive values >= thr; -1 none. */
static long first_run(const lost_series *s, double thr, size_t need)
{
    size_t run = 0;
    for (size_t i = 0; i < s->n; i++) {
        run = s->frac[i] >= thr ? run + 1 : 0;
        if (run >= need) return (long)(i + 1 - need);
    }
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void mpt_fb_optimizer(mpt_fb *b, const mpt_model *m)
{
    size_t total = mpt_model_nsteps(m);
    lost_series s = {0, malloc(total * sizeof(int64_t) + 1), malloc(total * sizeof(double) + 1)};
    if (!s.step || !s.frac) {
        free(s.step);
        free(s.frac);
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < total; i++) {
        const mpt_step *st = mpt_model_step(m, i);
        if (!(st->has & MPT_STEP_HAS_LOST)) continue; /* NaN marks never set it (ingest.c) */
        s.step[s.n] = st->step;
        s.frac[s.n] = st->lost_updates;
        s.n++;
    }
    size_t need = s.n < SUSTAIN ? s.n : SUSTAIN;
    long at = -1;
    mpt_severity sev = MPT_SEV_INFO;
    double thr = 0;
    if (s.n >= MIN_STEPS) {
        if ((at = first_run(&s, LOST_ERROR, need)) >= 0) {
            sev = MPT_SEV_ERROR;
            thr = LOST_ERROR;
        } else if ((at = first_run(&s, LOST_WARNING, need)) >= 0) {
            sev = MPT_SEV_WARNING;
            thr = LOST_WARNING;
        }
    }
    if (at >= 0) {
        /* the figures over the steps from the first sustained run on */
        size_t k = s.n - (size_t)at;
        double *tail = s.frac + at, mx = 0;
        for (size_t i = 0; i < k; i++)
            if (tail[i] > mx) mx = tail[i];
        int64_t first = s.step[at], last = s.step[s.n - 1];
        qsort(tail, k, sizeof *tail, cmp_double);
        double med = k % 2 ? tail[k / 2] : 0.5 * (tail[k / 2 - 1] + tail[k / 2]);
        mpt_finding *x = mpt_fb_add(b, MPT_FIND_LOST_UPDATES, sev, first, MPT_NO_LAYER);
        if (x) {
            snprintf(
                x->message, sizeof x->message,
                "From step %lld on, %.0f%% or more of the parameter updates were lost to the "
                "weights' rounding (the program's lost_updates: median %.0f%%, max %.0f%% over "
                "steps %lld-%lld): small updates vanish and training %s.",
                (long long)first, thr * 100, med * 100, mx * 100, (long long)first, (long long)last,
                sev == MPT_SEV_ERROR ? "stalls" : "slows down as the learning rate decays");
            snprintf(x->recommendation, sizeof x->recommendation,
                     "Keep fp32 master weights (PyTorch autocast with fp32 parameters and "
                     "Lightning's bf16-mixed do; model.to(torch.bfloat16) does not), or use an "
                     "optimizer with compensated (Kahan) summation or stochastic rounding.");
        }
    }
    free(s.step);
    free(s.frac);
}
