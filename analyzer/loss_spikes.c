/*
 * The loss curve: its summary, its spikes, and for each spike the layers whose statistics moved
 * most at that step.
 *
 * A spike is judged against the run's own recent past, robustly, and so that a falling learning
 * curve does not pass for noise:
 *   level  the median of the last `spike_baseline` finite losses (recent, yet immune to one
 *          earlier outlier among them);
 *   noise  the robust standard deviation of the step-to-step changes over the previous
 *          `spike_window` finite losses: 1.4826 * MAD(differences) / sqrt(2). Differences remove
 *          the trend (a curve falling by 0.05 a step is not noisy), the MAD ignores earlier
 *          spikes, and for Gaussian noise this is its standard deviation.
 * A loss is a spike when it exceeds the level by more than spike_k noise AND by more than
 * spike_min_rel of the level (so a nearly flat curve does not turn a tiny wobble into a spike).
 * Only upward moves count. A loss that turns NaN/Inf after a finite one is a spike too (the
 * strongest kind); the following non-finite losses are not new spikes.
 *
 * "Moved most": for each layer, log2 of its output's (and inputs') absmax in the spike's column
 * against the same quantity in its own previous `moved_history` columns, as a robust z-score
 * |x - median| / max(1.4826 * MAD, 0.25 binade). A layer whose values went non-finite there
 * moved infinitely. Layers are compared with themselves, not with each other, so a layer that
 * is always large does not crowd out one that suddenly grew. The layers that moved about as
 * much as the most-moved one are listed in execution order, so the first is where it entered.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/analysis.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mpt_median(const double *v, size_t n, double *tmp)
{
    memcpy(tmp, v, n * sizeof *tmp);
    if (n <= 64) {
        /* Insertion sort, stable like qsort here: the analysis takes three medians of a 32-value
         * window per step, where qsort's calls through cmp_double were ~2% of a report. */
        for (size_t i = 1; i < n; i++) {
            double x = tmp[i];
            size_t j = i;
            for (; j > 0 && cmp_double(&tmp[j - 1], &x) > 0; j--)
                tmp[j] = tmp[j - 1];
            tmp[j] = x;
        }
    } else {
        qsort(tmp, n, sizeof *tmp, cmp_double);
    }
    return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

double mpt_mad(const double *v, size_t n, double median, double *tmp)
{
    double *d = tmp + n; /* tmp holds 2n doubles */
    for (size_t i = 0; i < n; i++)
        d[i] = fabs(v[i] - median);
    return mpt_median(d, n, tmp);
}

/* ---- layers moved ---------------------------------------------------------------------------- */

typedef struct moved {
    uint32_t layer;
    double z;
} moved;

static int cmp_moved(const void *a, const void *b)
{
    const moved *x = a, *y = b;
    if (x->z != y->z) return x->z < y->z ? 1 : -1;
    return (x->layer > y->layer) - (x->layer < y->layer);
}

/* Robust z of log2(v[0]) against log2 of the history in v[1..n-1]; 0 without enough history. */
static double robust_z(const double *hist, size_t n, double x, double *tmp)
{
    if (n < 4 || !(x > 0)) return 0;
    double med = mpt_median(hist, n, tmp);
    double mad = mpt_mad(hist, n, med, tmp);
    double s = 1.4826 * mad;
    if (s < 0.25) s = 0.25;
    return fabs(log2(x) - med) / s;
}

static double layer_z(const mpt_model *m, uint32_t l, uint32_t col, int H, double *hin,
                      double *hout, double *tmp)
{
    const mpt_cell *c = mpt_model_cell(m, l, col);
    if (!c->calls) return -1;
    if (c->out_nan || c->out_inf || c->in_nan || c->in_inf) return INFINITY;
    size_t nin = 0, nout = 0;
    for (uint32_t k = col; k-- > 0 && (nin < (size_t)H || nout < (size_t)H);) {
        const mpt_cell *p = mpt_model_cell(m, l, k);
        if (!p->calls || p->out_nan || p->out_inf || p->in_nan || p->in_inf) continue;
        if (p->out_absmax > 0 && nout < (size_t)H) hout[nout++] = log2(p->out_absmax);
        if (p->in_absmax > 0 && nin < (size_t)H) hin[nin++] = log2(p->in_absmax);
        if (col - k > (uint32_t)(4 * H)) break; /* a sparse layer: do not scan the whole run */
    }
    double zo = robust_z(hout, nout, c->out_absmax, tmp);
    double zi = robust_z(hin, nin, c->in_absmax, tmp);
    return zo > zi ? zo : zi;
}

static int layers_moved(const mpt_model *m, const mpt_analysis_opts *o, mpt_spike *sp)
{
    sp->n_moved = 0;
    int64_t col = mpt_model_col_of_step(m, sp->step);
    uint32_t nl = mpt_model_nlayers(m);
    if (col < 0 || !nl) return 0;
    int H = o->moved_history > 0 ? o->moved_history : 32;
    moved *v = malloc(nl * sizeof *v);
    double *buf = malloc((size_t)(4 * H + 4) * sizeof *buf);
    if (!v || !buf) {
        free(v);
        free(buf);
        return -1;
    }
    uint32_t n = 0;
    for (uint32_t l = 0; l < nl; l++) {
        double z = layer_z(m, l, (uint32_t)col, H, buf, buf + H, buf + 2 * H);
        if (z > 0) v[n++] = (moved){l, z};
    }
    qsort(v, n, sizeof *v, cmp_moved);
    /* The layers that moved about as much as the most-moved one (within a factor of 2) are put
     * in execution order: a change that enters at one layer carries into the next ones, and
     * the first of them is where it came in. */
    uint32_t top = 0;
    while (top < n && v[top].z * 2 >= v[0].z)
        top++;
    for (uint32_t i = 1; i < top; i++) { /* insertion sort by layer index */
        moved x = v[i];
        uint32_t j = i;
        while (j > 0 && v[j - 1].layer > x.layer) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    int max = o->moved_max > 0 && o->moved_max <= 8 ? o->moved_max : 5;
    for (uint32_t i = 0; i < n && sp->n_moved < max; i++) {
        sp->moved[sp->n_moved] = v[i].layer;
        sp->moved_score[sp->n_moved++] = v[i].z;
    }
    free(v);
    free(buf);
    return 0;
}

/* ---- the curve ------------------------------------------------------------------------------- */

static int push_spike(mpt_loss_summary *s, size_t *cap, const mpt_spike *sp)
{
    if (s->nspikes == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        mpt_spike *ns = realloc(s->spikes, nc * sizeof *ns);
        if (!ns) return -1;
        s->spikes = ns;
        *cap = nc;
    }
    s->spikes[s->nspikes++] = *sp;
    return 0;
}

/* Level and noise of the last n finite losses (win[0] oldest), per the rule above. */
static void level_noise(const double *win, size_t n, size_t base, double *tmp, double *level,
                        double *noise)
{
    size_t b = base < n ? base : n;
    *level = mpt_median(win + n - b, b, tmp);
    if (n < 2) {
        *noise = 0;
        return;
    }
    double *d = tmp + 2 * n; /* n - 1 differences */
    for (size_t i = 1; i < n; i++)
        d[i - 1] = win[i] - win[i - 1];
    double med = mpt_median(d, n - 1, tmp);
    *noise = 1.4826 * mpt_mad(d, n - 1, med, tmp) / sqrt(2.0);
}

int mpt_loss_analyze(const mpt_model *m, const mpt_analysis_opts *o, mpt_loss_summary *s)
{
    memset(s, 0, sizeof *s);
    s->first_nonfinite_step = MPT_NO_STEP;
    s->first = s->last = s->min = s->max = NAN;
    size_t W = o->spike_window > 1 ? (size_t)o->spike_window : 32;
    size_t base = o->spike_baseline > 0 ? (size_t)o->spike_baseline : 5;
    size_t minh = o->spike_min_history > 0 ? (size_t)o->spike_min_history : 8;
    if (minh > W) minh = W;
    /* the window in order, oldest first: a plain array shifted by one per step (W is small) */
    double *win = malloc(W * sizeof *win), *tmp = malloc(3 * W * sizeof *tmp);
    if (!win || !tmp) {
        free(win);
        free(tmp);
        return -1;
    }
    size_t nwin = 0, cap = 0;
    int prev_finite = -1; /* -1: no loss yet */
    int rc = 0;
    for (size_t i = 0; i < mpt_model_nsteps(m) && rc == 0; i++) {
        const mpt_step *st = mpt_model_step(m, i);
        if (!(st->has & MPT_STEP_HAS_LOSS)) continue;
        double v = st->loss;
        if (!s->count) {
            s->first_step = st->step;
            s->first = v;
        }
        s->count++;
        s->last_step = st->step;
        s->last = v;
        mpt_spike sp = {.step = st->step, .value = v, .median = NAN, .noise = NAN};
        if (!isfinite(v)) {
            s->nonfinite++;
            if (s->first_nonfinite_step == MPT_NO_STEP) s->first_nonfinite_step = st->step;
            if (prev_finite == 1) {
                level_noise(win, nwin, base, tmp, &sp.median, &sp.noise);
                sp.score = INFINITY;
                sp.nonfinite = 1;
                rc = layers_moved(m, o, &sp) || push_spike(s, &cap, &sp);
            }
            prev_finite = 0;
            continue;
        }
        if (s->first_nonfinite_step != MPT_NO_STEP) s->recovered = 1;
        if (isnan(s->min) || v < s->min) s->min = v;
        if (isnan(s->max) || v > s->max) s->max = v;
        if (nwin >= minh) {
            double level, noise;
            level_noise(win, nwin, base, tmp, &level, &noise);
            double thr = o->spike_k * noise, rel = o->spike_min_rel * fabs(level);
            if (rel > thr) thr = rel;
            if (v - level > thr) {
                sp.median = level;
                sp.noise = noise;
                sp.score = noise > 0 ? (v - level) / noise : INFINITY;
                rc = layers_moved(m, o, &sp) || push_spike(s, &cap, &sp);
            }
        }
        if (nwin == W) {
            memmove(win, win + 1, (W - 1) * sizeof *win);
            nwin--;
        }
        win[nwin++] = v;
        prev_finite = 1;
    }
    free(win);
    free(tmp);
    return rc ? -1 : 0;
}

void mpt_loss_summary_free(mpt_loss_summary *s)
{
    free(s->spikes);
    s->spikes = NULL;
    s->nspikes = 0;
}
