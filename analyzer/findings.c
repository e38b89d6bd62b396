/*
 * Findings: what went wrong (or is about to), where, how badly, and what to do about it.
 *
 * Each finding has a kind, a severity, a step and a layer when it has them, a message built
 * from the measurements, and a recommendation grounded in common practice (the project's seeds:
 * bf16 has fp32's range and needs no scaler; fp16 needs dynamic loss scaling; a NaN after
 * hundreds of stable steps points at a batch, the learning rate or max_grad_norm; norms, softmax
 * and the loss belong in fp32; master weights stay fp32).
 *
 * Severity is judged by consequence, not by count:
 *   error    training was harmed: a non-finite value the scaler did not catch, a loss that
 *            stayed NaN, a collapsed scale, gradients underflowing wholesale without a scaler;
 *   warning  the run survived but something needs a look: an overflow the scaler skipped, a
 *            loss spike, frequent skips, precision loss in typical calls;
 *   info     context: the scaler settling in its first steps, TF32 in use, headroom, what fp16
 *            would do to a bf16/fp32 run.
 * A healthy run (fp32, bf16-mixed, fp16-mixed with a scaler that has settled) has no errors.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/findings_internal.h"

mpt_finding *mpt_fb_add(mpt_fb *b, mpt_finding_kind kind, mpt_severity sev, int64_t step,
                        uint32_t layer)
{
    mpt_analysis *a = b->a;
    if (a->nfindings == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 16;
        mpt_finding *nf = realloc(a->findings, nc * sizeof *nf);
        if (!nf) {
            b->oom = 1;
            return NULL;
        }
        a->findings = nf;
        b->cap = nc;
    }
    mpt_finding *f = &a->findings[a->nfindings++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->severity = sev;
    f->step = step;
    f->layer = layer;
    return f;
}

void mpt_fb_cat(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (k > 0) *len += (size_t)k < n - *len ? (size_t)k : n - *len - 1;
}

const char *mpt_fb_lname(const mpt_model *m, uint32_t l)
{
    const mpt_layer *ly = mpt_model_layer(m, l);
    return ly ? ly->name : "?";
}

static void step_list(char *buf, size_t n, size_t *len, const int64_t *v, size_t count)
{
    size_t show = count > 8 ? 6 : count;
    for (size_t i = 0; i < show; i++)
        mpt_fb_cat(buf, n, len, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (show < count) mpt_fb_cat(buf, n, len, " and %zu more", count - show);
}

/* ---- the first non-finite value -------------------------------------------------------------- */

static int is_startup_skip(const mpt_scaler_summary *s, int64_t step)
{
    for (size_t i = 0; i < s->startup_skips && i < s->nskipped; i++)
        if (s->skipped_steps[i] == step) return 1;
    return 0;
}

/* Worth naming in one sentence: kernels, and copies that bring data in or held NaN/Inf (small
 * read-backs and memsets are bookkeeping: the text and JSON reports list everything). */
static int suspect(const mpt_event_ref *e)
{
    if (e->type == MPT_EV_KERNEL || e->nonfinite) return 1;
    return e->type == MPT_EV_MEMORY &&
           (strcmp(e->name, "H2D") == 0 || strcmp(e->name, "D2D") == 0 ||
            strcmp(e->name, "default") == 0);
}

static void nf_between(const mpt_model *m, const mpt_first_nonfinite *f, char *buf, size_t n,
                       size_t *len)
{
    if (f->have_prev)
        mpt_fb_cat(buf, n, len, " The last GEMM before it, %s (step %lld), wrote finite values",
                   mpt_fb_lname(m, f->prev_layer), (long long)f->prev_step);
    uint32_t shown = 0;
    for (uint32_t i = 0; i < f->n_between; i++) {
        const mpt_event_ref *e = &f->between[i];
        if (!suspect(e) || shown == 6) continue;
        mpt_fb_cat(buf, n, len, "%s", shown ? ", " : "; in between: ");
        if (e->type == MPT_EV_KERNEL)
            mpt_fb_cat(buf, n, len, "kernel %s", e->name);
        else if (e->type == MPT_EV_MEMORY)
            mpt_fb_cat(buf, n, len, "%s copy of %llu bytes%s", e->name,
                       (unsigned long long)e->bytes, e->nonfinite ? " (holding NaN/Inf)" : "");
        else
            mpt_fb_cat(buf, n, len, "GEMM %s", e->name);
        if (e->type != MPT_EV_GEMM && e->layer && *e->layer)
            mpt_fb_cat(buf, n, len, " in %s", e->layer);
        shown++;
    }
    if (!shown && f->have_prev)
        mpt_fb_cat(buf, n, len, "; no kernel or incoming copy ran in between that mptrace saw");
    if (f->n_between_total > shown)
        mpt_fb_cat(buf, n, len, " (%llu events in all)", (unsigned long long)f->n_between_total);
    mpt_fb_cat(buf, n, len, ".");
}

static void nf_finding(mpt_fb *b, const mpt_model *m)
{
    mpt_analysis *a = b->a;
    const mpt_first_nonfinite *f = &a->nf;
    const mpt_step *st = mpt_model_find_step(m, f->step);
    int skipped = st && st->skip == 1;
    int finite_end = a->loss.count ? isfinite(a->loss.last) : 0;
    mpt_severity sev = MPT_SEV_ERROR;
    if (skipped && is_startup_skip(&a->scaler, f->step))
        sev = MPT_SEV_INFO;
    else if (skipped && (finite_end || !a->loss.count))
        sev = MPT_SEV_WARNING;
    const mpt_dtype_info *di = mpt_dtype_get_info(f->dtype_out);
    const char *dt = mpt_dtype_name(f->dtype_out);
    int out_inf = f->tensor == MPT_ROLE_D && f->inf > 0;
    int small_range = di && di->max_finite < 1e6;
    mpt_finding_kind kind;
    if (f->origin == MPT_NF_INPUT)
        kind = f->nan ? MPT_FIND_NAN : MPT_FIND_INF;
    else if (f->prec_overflow > 0 || (out_inf && (f->origin == MPT_NF_PRODUCED || small_range)))
        kind = MPT_FIND_OVERFLOW;
    else
        kind = f->nan ? MPT_FIND_NAN : MPT_FIND_INF;
    mpt_finding *x = mpt_fb_add(b, kind, sev, f->step, f->layer);
    if (!x) return;
    char *msg = x->message;
    size_t n = sizeof x->message, len = 0;
    const char *ln = mpt_fb_lname(m, f->layer);
    char where[96] = "";
    if (mpt_model_nsources(m) > 1) snprintf(where, sizeof where, " on rank %d", f->rank);
    if (kind == MPT_FIND_OVERFLOW) {
        mpt_fb_cat(msg, n, &len, "%s overflow in %s at step %lld%s (%s, m=%lld n=%lld k=%lld)", dt,
                   ln, (long long)f->step, where, f->api, (long long)f->m, (long long)f->n,
                   (long long)f->k);
        if (di && f->max_exact_abs > di->max_finite)
            mpt_fb_cat(msg, n, &len,
                       ": the exact |value| reached %.3g, %.4gx %s's max %.6g (%.1f bits over)",
                       f->max_exact_abs, f->max_exact_abs / di->max_finite, dt, di->max_finite,
                       log2(f->max_exact_abs / di->max_finite));
        else if (f->origin != MPT_NF_PRODUCED)
            mpt_fb_cat(msg, n, &len,
                       ": Inf in the output; the inputs were not measured, so probably");
        mpt_fb_cat(msg, n, &len, "; %llu Inf, %llu NaN in the output.", (unsigned long long)f->inf,
                   (unsigned long long)f->nan);
    } else if (f->origin == MPT_NF_INPUT) {
        mpt_fb_cat(msg, n, &len,
                   "%s entered %s at step %lld%s through input %s (%llu NaN, %llu Inf): "
                   "the GEMM did not produce it.",
                   f->nan ? "NaN" : "Inf", ln, (long long)f->step, where,
                   mpt_tensor_role_name(f->tensor), (unsigned long long)f->nan,
                   (unsigned long long)f->inf);
        nf_between(m, f, msg, n, &len);
    } else {
        mpt_fb_cat(msg, n, &len,
                   "%s first appears in the output of %s at step %lld%s (%llu NaN, %llu Inf)",
                   f->nan ? "NaN" : "Inf", ln, (long long)f->step, where,
                   (unsigned long long)f->nan, (unsigned long long)f->inf);
        mpt_fb_cat(msg, n, &len,
                   f->origin == MPT_NF_PRODUCED ? ", produced from finite inputs."
                                                : "; its inputs were not measured.");
    }
    if (skipped) mpt_fb_cat(msg, n, &len, " The loss scaler skipped this step.");
    char *rec = x->recommendation;
    size_t rn = sizeof x->recommendation;
    if (kind == MPT_FIND_OVERFLOW && small_range)
        snprintf(rec, rn,
                 "Train in bf16 (fp32's exponent range, no loss scaler needed), or keep this op in "
                 "fp32 (outside autocast), or lower the loss scale if it is a backward op. If it "
                 "happened once, look at the batch of step %lld (an outlier example, a long "
                 "sequence) and keep max_grad_norm at 1.0.",
                 (long long)f->step);
    else if (kind == MPT_FIND_OVERFLOW)
        snprintf(rec, rn,
                 "Values beyond fp32's range mean the run diverged: lower the learning rate, clip "
                 "gradients (max_grad_norm 1.0), and check the batch of step %lld.",
                 (long long)f->step);
    else if (f->origin == MPT_NF_INPUT)
        snprintf(
            rec, rn,
            "Not a GEMM overflow: check the kernels and copies listed (log or sqrt of "
            "non-positive values, division by zero, softmax over all -inf, uninitialised or "
            "copied-in data). PyTorch's torch.autograd.set_detect_anomaly(True) names the op.");
    else
        snprintf(rec, rn,
                 "An intermediate overflow (Inf - Inf in the sum) or a non-finite input the "
                 "statistics missed: keep this op in fp32 or train in bf16; measure its inputs "
                 "(mptrace --full) to tell which.");
}

/* ---- loss ------------------------------------------------------------------------------------ */

static void loss_findings(mpt_fb *b, const mpt_model *m)
{
    mpt_analysis *a = b->a;
    const mpt_loss_summary *L = &a->loss;
    if (L->first_nonfinite_step != MPT_NO_STEP && !L->recovered && L->count > L->nonfinite) {
        mpt_finding *x =
            mpt_fb_add(b, MPT_FIND_LOSS_NONFINITE, MPT_SEV_ERROR, L->first_nonfinite_step,
                       a->have_nf ? a->nf.layer : MPT_NO_LAYER);
        if (x) {
            snprintf(x->message, sizeof x->message,
                     "The loss became non-finite at step %lld and stayed so to the last step "
                     "(%lld): %llu of %llu reported losses are NaN/Inf.",
                     (long long)L->first_nonfinite_step, (long long)L->last_step,
                     (unsigned long long)L->nonfinite, (unsigned long long)L->count);
            snprintf(x->recommendation, sizeof x->recommendation,
                     "Start from the first non-finite value (step, layer and cause above). "
                     "With fp16, a dynamic loss scaler skips such steps instead of applying "
                     "them; bf16 has the range to avoid them. After stable steps, check the "
                     "batch of step %lld, the learning rate and max_grad_norm.",
                     (long long)L->first_nonfinite_step);
        }
    }
    for (size_t i = 0; i < L->nspikes; i++) {
        const mpt_spike *s = &L->spikes[i];
        mpt_finding *x = mpt_fb_add(b, MPT_FIND_LOSS_SPIKE, MPT_SEV_WARNING, s->step,
                                    s->n_moved ? s->moved[0] : MPT_NO_LAYER);
        if (!x) return;
        size_t n = sizeof x->message, len = 0;
        if (s->nonfinite)
            mpt_fb_cat(x->message, n, &len, "The loss went %s at step %lld (%.4g before it)",
                       isnan(s->value) ? "NaN" : "Inf", (long long)s->step, s->median);
        else
            mpt_fb_cat(
                x->message, n, &len,
                "The loss spiked at step %lld: %.4g against %.4g before it (%.1f times its noise)",
                (long long)s->step, s->value, s->median, s->score);
        for (int k = 0; k < s->n_moved; k++) {
            mpt_fb_cat(x->message, n, &len, "%s%s",
                       k ? ", " : "; layers that moved most: ", mpt_fb_lname(m, s->moved[k]));
            if (isinf(s->moved_score[k]))
                mpt_fb_cat(x->message, n, &len, " (non-finite)");
            else
                mpt_fb_cat(x->message, n, &len, " (z %.3g)", s->moved_score[k]);
        }
        mpt_fb_cat(x->message, n, &len, ".");
        snprintf(x->recommendation, sizeof x->recommendation,
                 "Look at the batch of step %lld (an outlier example, a long sequence). A lower "
                 "learning rate or gradient clipping (max_grad_norm 1.0) keeps one batch from "
                 "derailing training.",
                 (long long)s->step);
    }
}

/*
 * Divergence: not one bad step (a spike) but the loss climbing and staying up, as with a
 * learning rate too large. The running median of the last DIV_MEDIAN finite losses (immune to
 * single spikes) is compared with its lowest value so far: at DIV_RISE times that minimum or
 * more for DIV_SUSTAIN consecutive steps, the run diverged from the first of them. Only for
 * positive losses (a cross-entropy); an error when the median never came back under the
 * threshold, a warning when it did. The spike detector cannot see this case early in a run: it
 * needs a history of the loss's noise first.
 */
#define DIV_MEDIAN  5
#define DIV_RISE    1.5
#define DIV_SUSTAIN 5

static void divergence_finding(mpt_fb *b, const mpt_model *m)
{
    size_t n = mpt_model_nsteps(m), k = 0, run = 0;
    double last[DIV_MEDIAN], tmp[2 * DIV_MEDIAN], runmin = INFINITY, peak = 0, at_min = NAN;
    int64_t start = MPT_NO_STEP, min_step = MPT_NO_STEP, peak_step = MPT_NO_STEP;
    int found = 0, back = 0;
    for (size_t i = 0; i < n; i++) {
        const mpt_step *st = mpt_model_step(m, i);
        if (!(st->has & MPT_STEP_HAS_LOSS) || !isfinite(st->loss)) continue;
        last[k % DIV_MEDIAN] = st->loss;
        k++;
        double med = mpt_median(last, k < DIV_MEDIAN ? k : DIV_MEDIAN, tmp);
        if (found) {
            if (med > peak) peak = med, peak_step = st->step;
            back = med < DIV_RISE * at_min;
            continue;
        }
        if (med <= 0) return; /* not a loss this rule understands */
        if (med >= DIV_RISE * runmin) {
            if (run++ == 0) start = st->step;
            if (run == DIV_SUSTAIN) {
                found = 1;
                at_min = runmin;
                peak = med;
                peak_step = st->step;
            }
        } else {
            run = 0;
        }
        if (med < runmin) runmin = med, min_step = st->step;
    }
    if (!found) return;
    mpt_finding *x = mpt_fb_add(b, MPT_FIND_LOSS_DIVERGENCE, back ? MPT_SEV_WARNING : MPT_SEV_ERROR,
                                start, MPT_NO_LAYER);
    if (!x) return;
    snprintf(x->message, sizeof x->message,
             "The loss diverged from step %lld: its running median rose from %.4g (step %lld) to "
             "%.4g (step %lld)%s.",
             (long long)start, at_min, (long long)min_step, peak, (long long)peak_step,
             back ? " before coming back down" : " and never came back down");
    snprintf(x->recommendation, sizeof x->recommendation,
             "The learning rate is too high for this model and batch: lower it or lengthen the "
             "warmup, and keep gradient clipping on (max_grad_norm 1.0). In fp16, a loss that "
             "turns non-finite on the way up is the overflow this causes.");
}

/* ---- scaler ---------------------------------------------------------------------------------- */

static void scaler_findings(mpt_fb *b, const mpt_model *m)
{
    mpt_analysis *a = b->a;
    const mpt_scaler_summary *S = &a->scaler;
    if (!S->present) return;
    if (S->skips) {
        uint64_t later = S->skips - S->startup_skips;
        mpt_severity sev = MPT_SEV_INFO;
        if (later >= 3 || (later && later * 20 >= a->nsteps)) sev = MPT_SEV_WARNING;
        int64_t step = later ? S->skipped_steps[S->startup_skips] : S->skipped_steps[0];
        const mpt_step *st = mpt_model_find_step(m, step);
        mpt_finding *x =
            mpt_fb_add(b, MPT_FIND_SCALER_SKIP, sev, step, st ? st->first_nf_layer : MPT_NO_LAYER);
        if (!x) return;
        size_t n = sizeof x->message, len = 0;
        if (!later) {
            mpt_fb_cat(x->message, n, &len, "The loss scaler skipped %llu step(s) at the start (",
                       (unsigned long long)S->skips);
            step_list(x->message, n, &len, S->skipped_steps, S->nskipped);
            mpt_fb_cat(x->message, n, &len, ") while the scale settled");
            if (S->have_scale)
                mpt_fb_cat(x->message, n, &len, " from %.6g to %.6g", S->scale_first,
                           S->scale_final);
            mpt_fb_cat(x->message, n, &len, ": normal for dynamic loss scaling.");
            snprintf(x->recommendation, sizeof x->recommendation,
                     "Nothing to do; a lower initial scale (init_scale) would avoid these skips.");
        } else {
            mpt_fb_cat(x->message, n, &len, "The loss scaler skipped %llu of %llu steps (",
                       (unsigned long long)S->skips, (unsigned long long)a->nsteps);
            step_list(x->message, n, &len, S->skipped_steps, S->nskipped);
            mpt_fb_cat(x->message, n, &len, ")%s.",
                       S->startup_skips ? ", beyond its start-up" : "");
            snprintf(x->recommendation, sizeof x->recommendation,
                     "Look at the batch of step %lld, the learning rate and max_grad_norm (1.0 is "
                     "usual). A scale that keeps backing off means a persistent overflow: find the "
                     "layer (first non-finite) and keep it in fp32, or train in bf16.",
                     (long long)step);
        }
    }
    if (S->collapsed) {
        mpt_finding *x =
            mpt_fb_add(b, MPT_FIND_SCALE_COLLAPSE, MPT_SEV_ERROR, a->last_step, MPT_NO_LAYER);
        if (!x) return;
        snprintf(x->message, sizeof x->message,
                 "The loss scale collapsed: from %.6g to %.6g (min %.6g) after %llu backoffs.",
                 S->scale_first, S->scale_final, S->scale_min, (unsigned long long)S->backoffs);
        snprintf(x->recommendation, sizeof x->recommendation,
                 "Every step overflows and the scaler is only chasing it down: find the layer "
                 "that overflows (first non-finite) and keep it in fp32, or train in bf16.");
    }
    if (S->nnonfinite_only) {
        mpt_finding *x = mpt_fb_add(b, MPT_FIND_SCALER_MISMATCH, MPT_SEV_WARNING,
                                    S->nonfinite_only[0], MPT_NO_LAYER);
        if (!x) return;
        size_t n = sizeof x->message, len = 0;
        mpt_fb_cat(x->message, n, &len, "NaN/Inf in GEMM outputs at step(s) ");
        step_list(x->message, n, &len, S->nonfinite_only, S->nnonfinite_only);
        mpt_fb_cat(x->message, n, &len, " that the program did not mark skipped.");
        snprintf(x->recommendation, sizeof x->recommendation,
                 "Unless the program handles them another way, non-finite gradients reached the "
                 "optimizer: check that the scaler's step()/update() run every step and that "
                 "gradients are unscaled before clipping.");
    }
    if (S->nskipped_only) {
        mpt_finding *x =
            mpt_fb_add(b, MPT_FIND_SCALER_MISMATCH, MPT_SEV_INFO, S->skipped_only[0], MPT_NO_LAYER);
        if (!x) return;
        size_t n = sizeof x->message, len = 0;
        mpt_fb_cat(x->message, n, &len, "Step(s) ");
        step_list(x->message, n, &len, S->skipped_only, S->nskipped_only);
        mpt_fb_cat(x->message, n, &len,
                   " were marked skipped, but no GEMM output held NaN/Inf there.");
        snprintf(x->recommendation, sizeof x->recommendation,
                 "The overflow was in an op mptrace does not measure (a reduction, the loss, the "
                 "unscale), or statistics were off for it: run with --full to see more.");
    }
}

int mpt_findings_build(const mpt_model *m, const mpt_analysis_opts *o, mpt_analysis *a)
{
    mpt_fb b = {a, a->nfindings, 0};
    if (a->have_nf) nf_finding(&b, m);
    loss_findings(&b, m);
    divergence_finding(&b, m);
    scaler_findings(&b, m);
    mpt_fb_layers(&b, m, o);
    mpt_fb_optimizer(&b, m);
    return b.oom ? -1 : 0;
}
