/*
 * The loss scaler, seen two ways and compared.
 *
 * The program says which steps it skipped (the `skip` marks, GradScaler's found_inf) and what
 * the scale was; mptrace sees independently which steps had a GEMM output holding NaN/Inf (or
 * inferred a skip itself: SCALAR records flagged INFERRED). With a working scaler the two step
 * sets are equal. A step marked skipped where nothing non-finite was seen usually means the
 * Inf/NaN was in an op mptrace does not measure (a reduction, the loss); a non-finite step that
 * was not skipped means non-finite gradients may have reached the optimizer.
 *
 * Trajectory: first/min/max/final scale over the steps that reported one, backoffs (decreases)
 * and growths (increases). GradScaler starts high (2^16) and backs off during the first steps
 * until the gradients fit: the skips in the initial run of consecutive skipped steps are
 * counted apart (startup_skips), because they are the scaler settling, not trouble. The scale
 * has collapsed when it ends below 1 or 2^10 below where it started: every step overflows and
 * the scaler is only chasing it down.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/analysis.h"

typedef struct vec {
    int64_t *v;
    size_t n, cap;
} vec;

static int vec_push(vec *a, int64_t x)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 32;
        int64_t *nv = realloc(a->v, nc * sizeof *nv);
        if (!nv) return -1;
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = x;
    return 0;
}

int mpt_scaler_analyze(const mpt_model *m, mpt_scaler_summary *out)
{
    memset(out, 0, sizeof *out);
    out->scale_first = out->scale_min = out->scale_max = out->scale_final = NAN;
    vec sk = {0}, nf = {0}, sko = {0}, nfo = {0};
    int rc = 0, startup = 1;
    double prev_scale = NAN;
    for (size_t i = 0; i < mpt_model_nsteps(m); i++) {
        const mpt_step *st = mpt_model_step(m, i);
        int marked = st->skip == 1;
        int observed = st->nonfinite_gemms > 0 || st->skip_inferred == 1;
        /* a scaler is at work when a skip is marked or the scale is not 1 (a program without
         * one may still report scale=1 skip=0, as the reference trainer does) */
        if (st->skip == 1 || ((st->has & MPT_STEP_HAS_SCALE) && st->scale != 1.0)) out->present = 1;
        if (marked) {
            out->skips++;
            rc |= vec_push(&sk, st->step);
            if (startup) out->startup_skips++;
        } else if (st->skip == 0) {
            startup = 0;
        }
        if (observed) rc |= vec_push(&nf, st->step);
        if (marked && !observed) rc |= vec_push(&sko, st->step);
        if (observed && !marked) rc |= vec_push(&nfo, st->step);
        if ((st->has & MPT_STEP_HAS_SCALE) && !isnan(st->scale)) {
            double s = st->scale;
            if (!out->have_scale) {
                out->have_scale = 1;
                out->scale_first = out->scale_min = out->scale_max = s;
            }
            if (s < out->scale_min) out->scale_min = s;
            if (s > out->scale_max) out->scale_max = s;
            out->scale_final = s;
            if (!isnan(prev_scale)) {
                if (s < prev_scale) out->backoffs++;
                if (s > prev_scale) out->growths++;
            }
            prev_scale = s;
        }
    }
    out->skipped_steps = sk.v;
    out->nskipped = sk.n;
    out->nonfinite_steps = nf.v;
    out->nnonfinite = nf.n;
    out->skipped_only = sko.v;
    out->nskipped_only = sko.n;
    out->nonfinite_only = nfo.v;
    out->nnonfinite_only = nfo.n;
    out->agree = sko.n == 0 && nfo.n == 0;
    if (out->have_scale)
        out->collapsed = out->scale_final < 1.0 || out->scale_final <= out->scale_first / 1024.0;
    if (rc) {
        mpt_scaler_summary_free(out);
        return -1;
    }
    return 0;
}

void mpt_scaler_summary_free(mpt_scaler_summary *s)
{
    free(s->skipped_steps);
    free(s->nonfinite_steps);
    free(s->skipped_only);
    free(s->nonfinite_only);
    s->skipped_steps = s->nonfinite_steps = s->skipped_only = s->nonfinite_only = NULL;
    s->nskipped = s->nnonfinite = s->nskipped_only = s->nnonfinite_only = 0;
}
