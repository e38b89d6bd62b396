/*
 * `mptrace report`: the analysis as text for a person at an 80-column terminal.
 *
 * Sections, most useful first: the run in a few lines; the first non-finite value (which layer,
 * which step, why); findings with their recommendations; the loss and its spikes; the loss
 * scaler; two per-layer tables in execution order (value range, then precision). Every line
 * fits `width` columns: long layer names keep their tail ("..blk11/attn/qkv"), free text is
 * wrapped. Colour (ANSI) only when the caller asks for it: a tty without NO_COLOR.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/report.h"

#define NAME_W 24

typedef struct out {
    FILE *f;
    int color, width;
} out;

static const char *col(const out *o, const char *code)
{
    return o->color ? code : "";
}
#define RED    "\033[1;31m"
#define YELLOW "\033[33m"
#define CYAN   "\033[36m"
#define BOLD   "\033[1m"
#define RESET  "\033[0m"

static const char *sev_color(mpt_severity s)
{
    return s == MPT_SEV_ERROR ? RED : s == MPT_SEV_WARNING ? YELLOW : CYAN;
}

/* Wraps text at o->width: the first line continues after `first` columns already used, the
 * next ones start at `indent`. A word longer than a line is broken (at a UTF-8 boundary). */
static void wrap(const out *o, const char *text, int first, int indent)
{
    int used = first, fresh = 1;
    const char *p = text;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        int len = (int)(p - w);
        if (!fresh && used + 1 + len > o->width) {
            fprintf(o->f, "\n%*s", indent, "");
            used = indent;
            fresh = 1;
        }
        if (!fresh) {
            putc(' ', o->f);
            used++;
        }
        while (len > o->width - used && o->width - used > 8) {
            int k = o->width - used;
            while (k > 1 && (w[k] & 0xc0) == 0x80)
                k--;
            fwrite(w, 1, (size_t)k, o->f);
            fprintf(o->f, "\n%*s", indent, "");
            w += k;
            len -= k;
            used = indent;
        }
        fwrite(w, 1, (size_t)len, o->f);
        used += len;
        fresh = 0;
    }
    putc('\n', o->f);
}

static const char *short_dtype(int d)
{
    switch (d) {
    case MPT_DT_F32:
        return "f32";
    case MPT_DT_F16:
        return "f16";
    case MPT_DT_BF16:
        return "bf16";
    case MPT_DT_TF32:
        return "tf32";
    case MPT_DT_E4M3:
        return "e4m3";
    case MPT_DT_E5M2:
        return "e5m2";
    case MPT_DT_F64:
        return "f64";
    default:
        return "?";
    }
}

/* The last `w` characters of a name, marked ".." when cut (never splitting UTF-8). */
static void fit_name(char *buf, size_t n, const char *name, int w)
{
    size_t len = strlen(name);
    if ((int)len <= w) {
        snprintf(buf, n, "%s", name);
        return;
    }
    const char *t = name + len - (size_t)(w - 2);
    while ((*t & 0xc0) == 0x80)
        t++;
    snprintf(buf, n, "..%s", t);
}

static void num(char *buf, size_t n, double v)
{
    double a = fabs(v);
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (isinf(v))
        snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else if (v == 0)
        snprintf(buf, n, "0");
    else if (a >= 1e5 || a < 1e-2)
        snprintf(buf, n, "%.1e", v);
    else
        snprintf(buf, n, "%.3g", v);
}

static void bits(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (fabs(v) >= 99.95)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.1f", v);
}

static void pct(char *buf, size_t n, double f)
{
    if (isnan(f))
        snprintf(buf, n, "-");
    else if (f == 0)
        snprintf(buf, n, "0");
    else if (f < 0.001)
        snprintf(buf, n, "<0.1");
    else
        snprintf(buf, n, "%.1f", 100 * f);
}

static void count(char *buf, size_t n, uint64_t v)
{
    if (v < 1000000)
        snprintf(buf, n, "%llu", (unsigned long long)v);
    else
        snprintf(buf, n, "%.1e", (double)v);
}

/* ---- sections -------------------------------------------------------------------------------- */

static void summary(const out *o, const mpt_model *m, const mpt_analysis *a)
{
    FILE *f = o->f;
    const mpt_model_totals *t = mpt_model_get_totals(m);
    const mpt_source *s0 = mpt_model_source(m, 0);
    fprintf(f, "%smptrace report%s\n", col(o, BOLD), col(o, RESET));
    fprintf(f, "  program   ");
    wrap(o, s0 && *s0->cmdline ? s0->cmdline : "(unknown)", 12, 12);
    fprintf(f, "  ranks     %d", mpt_model_nsources(m));
    if (s0 && mpt_model_nsources(m) == 1)
        fprintf(f, " (pid %d%s%s)", s0->pid, *s0->hostname ? " on " : "", s0->hostname);
    if (a->have_steps)
        fprintf(f, "   steps %lld..%lld (%llu)", (long long)a->first_step, (long long)a->last_step,
                (unsigned long long)a->nsteps);
    if (!isnan(a->duration_s)) fprintf(f, "   %.1f s", a->duration_s);
    fprintf(f, "\n  GEMMs     %llu   tensor records %llu   kernels %llu   copies %llu\n",
            (unsigned long long)t->gemms, (unsigned long long)t->tensors,
            (unsigned long long)t->kernels, (unsigned long long)t->memory_events);
    fprintf(f, "  dtypes    in");
    for (int d = 0; d <= MPT_DT_COUNT; d++)
        if (a->regime.dtypes_in & (1u << d)) fprintf(f, " %s", mpt_dtype_name((mpt_dtype)d));
    if (!a->regime.dtypes_in) fprintf(f, " none");
    fprintf(f, "; out");
    for (int d = 0; d <= MPT_DT_COUNT; d++)
        if (a->regime.dtypes_out & (1u << d)) fprintf(f, " %s", mpt_dtype_name((mpt_dtype)d));
    if (!a->regime.dtypes_out) fprintf(f, " none");
    fprintf(f, "\n  regime    %s\n", a->regime.description);
    for (int i = 0; i < mpt_model_nsources(m); i++) {
        const mpt_source *s = mpt_model_source(m, i);
        if (s->state == MPT_SOURCE_DONE || s->state == MPT_SOURCE_READING) {
            if (!s->ended && s->state == MPT_SOURCE_DONE)
                fprintf(f,
                        "  %snote%s      %s has no END record: the program did not finish "
                        "tracing\n",
                        col(o, YELLOW), col(o, RESET), s->path);
            continue;
        }
        fprintf(f, "  %swarning%s   ", col(o, YELLOW), col(o, RESET));
        wrap(o, s->message, 12, 12);
    }
}

static void first_nf(const out *o, const mpt_model *m, const mpt_analysis *a)
{
    FILE *f = o->f;
    fprintf(f, "\n%sFirst non-finite value%s\n", col(o, BOLD), col(o, RESET));
    if (!a->have_nf) {
        fprintf(f, "  none: no GEMM tensor held NaN or Inf\n");
        return;
    }
    const mpt_first_nonfinite *nf = &a->nf;
    fprintf(f, "  step %s%lld%s, layer %s%s%s", col(o, RED), (long long)nf->step, col(o, RESET),
            col(o, RED), mpt_model_layer(m, nf->layer)->name, col(o, RESET));
    if (mpt_model_nsources(m) > 1) fprintf(f, ", rank %d", nf->rank);
    fprintf(f, "\n  %s, m=%lld n=%lld k=%lld", nf->api, (long long)nf->m, (long long)nf->n,
            (long long)nf->k);
    if (nf->batch > 1) fprintf(f, " batch=%lld", (long long)nf->batch);
    fprintf(f, ", %s -> %s\n", mpt_dtype_name(nf->dtype_in), mpt_dtype_name(nf->dtype_out));
    char line[600];
    const mpt_dtype_info *di = mpt_dtype_get_info(nf->dtype_out);
    if (nf->origin == MPT_NF_INPUT) {
        snprintf(line, sizeof line,
                 "came in through input %s (%llu NaN, %llu Inf): the op did "
                 "not produce it.",
                 mpt_report_role_name(nf->tensor), (unsigned long long)nf->nan,
                 (unsigned long long)nf->inf);
    } else if (nf->origin == MPT_NF_PRODUCED) {
        int k = snprintf(line, sizeof line, "produced by the op from finite inputs");
        if (di && nf->max_exact_abs > di->max_finite && k > 0)
            snprintf(line + k, sizeof line - (size_t)k,
                     ": an overflow, the exact |value| %.3g is %.4gx %s's max %.6g",
                     nf->max_exact_abs, nf->max_exact_abs / di->max_finite,
                     mpt_dtype_name(nf->dtype_out), di->max_finite);
        else if (k > 0)
            snprintf(line + k, sizeof line - (size_t)k, " (%llu NaN, %llu Inf in the output)",
                     (unsigned long long)nf->nan, (unsigned long long)nf->inf);
    } else {
        snprintf(line, sizeof line,
                 "in the output (%llu NaN, %llu Inf); the inputs were not "
                 "measured, so where it came from is not known",
                 (unsigned long long)nf->nan, (unsigned long long)nf->inf);
    }
    fprintf(f, "  ");
    wrap(o, line, 2, 4);
    if (nf->origin != MPT_NF_INPUT) return;
    if (nf->have_prev)
        fprintf(f, "  last finite writer: %s (step %lld)\n",
                mpt_model_layer(m, nf->prev_layer)->name, (long long)nf->prev_step);
    if (nf->n_between_total)
        fprintf(f, "  in between (%llu event%s%s):\n", (unsigned long long)nf->n_between_total,
                nf->n_between_total == 1 ? "" : "s",
                nf->n_between < nf->n_between_total ? ", the last listed" : "");
    uint32_t from = nf->n_between > 10 ? nf->n_between - 10 : 0;
    for (uint32_t i = from; i < nf->n_between; i++) {
        const mpt_event_ref *e = &nf->between[i];
        char name[NAME_W + 24];
        fit_name(name, sizeof name, e->name, 40);
        fprintf(f, "    %-6s %s",
                e->type == MPT_EV_KERNEL   ? "kernel"
                : e->type == MPT_EV_MEMORY ? "copy"
                                           : "gemm",
                name);
        if (e->type == MPT_EV_MEMORY) fprintf(f, " %llu B", (unsigned long long)e->bytes);
        if (e->nonfinite) fprintf(f, " %sNaN/Inf%s", col(o, RED), col(o, RESET));
        if (e->type != MPT_EV_GEMM && *e->layer) {
            fit_name(name, sizeof name, e->layer, 24);
            fprintf(f, " [%s]", name);
        }
        putc('\n', f);
    }
}

static void findings(const out *o, const mpt_model *m, const mpt_analysis *a)
{
    FILE *f = o->f;
    fprintf(f, "\n%sFindings%s\n", col(o, BOLD), col(o, RESET));
    if (!a->nfindings) fprintf(f, "  none\n");
    for (size_t i = 0; i < a->nfindings; i++) {
        const mpt_finding *x = &a->findings[i];
        fprintf(f, "  %s%-7s%s %s", col(o, sev_color(x->severity)), mpt_severity_name(x->severity),
                col(o, RESET), mpt_finding_kind_name(x->kind));
        if (x->step != MPT_NO_STEP) fprintf(f, ", step %lld", (long long)x->step);
        if (x->layer != MPT_NO_LAYER) {
            char name[64];
            fit_name(name, sizeof name, mpt_model_layer(m, x->layer)->name, 40);
            fprintf(f, ", %s", name);
        }
        fprintf(f, "\n          ");
        wrap(o, x->message, 10, 10);
        fprintf(f, "          -> ");
        wrap(o, x->recommendation, 13, 13);
    }
}

static void sparkline(const out *o, const mpt_model *m, const mpt_loss_summary *L)
{
    static const char levels[] = "_.,-~=*^";
    enum { W = 50 };
    double v[W];
    int nf[W] = {0}, have[W] = {0};
    int64_t span = L->last_step - L->first_step + 1;
    if (span < 2 || isnan(L->min) || !(L->max > L->min)) return;
    int w = span < W ? (int)span : W;
    for (size_t i = 0; i < mpt_model_nsteps(m); i++) {
        const mpt_step *st = mpt_model_step(m, i);
        if (!(st->has & MPT_STEP_HAS_LOSS)) continue;
        int b = (int)((st->step - L->first_step) * w / span);
        if (b < 0 || b >= w) continue;
        if (!isfinite(st->loss)) {
            nf[b] = 1;
        } else if (!have[b] || st->loss > v[b]) {
            v[b] = st->loss;
            have[b] = 1;
        }
    }
    fprintf(o->f, "  curve     ");
    for (int b = 0; b < w; b++) {
        if (nf[b])
            fprintf(o->f, "%s!%s", col(o, RED), col(o, RESET));
        else if (!have[b])
            putc(' ', o->f);
        else
            putc(levels[(int)((v[b] - L->min) / (L->max - L->min) * 7.999)], o->f);
    }
    fprintf(o->f, "  (!: NaN/Inf)\n");
}

static void loss(const out *o, const mpt_model *m, const mpt_analysis *a)
{
    FILE *f = o->f;
    const mpt_loss_summary *L = &a->loss;
    fprintf(f, "\n%sLoss%s\n", col(o, BOLD), col(o, RESET));
    if (!L->count) {
        fprintf(f, "  not reported (the program emitted no mptrace:loss= marks)\n");
        return;
    }
    char x[32], y[32], lo[32], hi[32];
    num(x, sizeof x, L->first);
    num(y, sizeof y, L->last);
    num(lo, sizeof lo, L->min);
    num(hi, sizeof hi, L->max);
    fprintf(f, "  %llu values: %s (step %lld) -> %s (step %lld); min %s, max %s\n",
            (unsigned long long)L->count, x, (long long)L->first_step, y, (long long)L->last_step,
            lo, hi);
    if (L->nonfinite)
        fprintf(f, "  %s%llu non-finite%s, the first at step %lld; %s\n", col(o, RED),
                (unsigned long long)L->nonfinite, col(o, RESET), (long long)L->first_nonfinite_step,
                L->recovered ? "finite again later" : "never finite again");
    sparkline(o, m, L);
    if (!L->nspikes) fprintf(f, "  spikes    none\n");
    for (size_t i = 0; i < L->nspikes; i++) {
        const mpt_spike *s = &L->spikes[i];
        if (s->nonfinite)
            snprintf(x, sizeof x, "%s", isnan(s->value) ? "NaN" : "Inf");
        else
            num(x, sizeof x, s->value);
        num(y, sizeof y, s->median);
        fprintf(f, "  spike     step %lld: %s (level before: %s)\n", (long long)s->step, x, y);
        for (int k = 0; k < s->n_moved; k++) {
            char name[64];
            fit_name(name, sizeof name, mpt_model_layer(m, s->moved[k])->name, 50);
            if (isinf(s->moved_score[k]))
                fprintf(f, "            moved: %-50s NaN/Inf\n", name);
            else
                fprintf(f, "            moved: %-50s z %.1f\n", name, s->moved_score[k]);
        }
    }
}

static void scaler(const out *o, const mpt_analysis *a)
{
    FILE *f = o->f;
    const mpt_scaler_summary *s = &a->scaler;
    fprintf(f, "\n%sLoss scaler%s\n", col(o, BOLD), col(o, RESET));
    if (!s->present && !s->nnonfinite) {
        fprintf(f, "  none at work (no step marked skipped; scale 1 or not reported)\n");
        return;
    }
    fprintf(f, "  skipped   %llu step(s)", (unsigned long long)s->skips);
    for (size_t i = 0; i < s->nskipped && i < 12; i++)
        fprintf(f, "%s%lld", i ? ", " : ": ", (long long)s->skipped_steps[i]);
    if (s->nskipped > 12) fprintf(f, ", ...");
    fprintf(f, "\n  observed  non-finite GEMM outputs in %zu step(s)", s->nnonfinite);
    for (size_t i = 0; i < s->nnonfinite && i < 12; i++)
        fprintf(f, "%s%lld", i ? ", " : ": ", (long long)s->nonfinite_steps[i]);
    if (s->nnonfinite > 12) fprintf(f, ", ...");
    fprintf(f, "\n  agree     %s\n", s->agree ? "yes" : "no (see findings)");
    if (s->have_scale)
        fprintf(f, "  scale     %.6g -> %.6g (min %.6g, max %.6g), %llu backoffs, %llu growths%s\n",
                s->scale_first, s->scale_final, s->scale_min, s->scale_max,
                (unsigned long long)s->backoffs, (unsigned long long)s->growths,
                s->collapsed ? ", COLLAPSED" : "");
}

static void layer_tables(const out *o, const mpt_model *m, const mpt_analysis *a, int max)
{
    FILE *f = o->f;
    uint32_t n = a->nrows;
    if (max > 0 && (uint32_t)max < n) n = (uint32_t)max;
    fprintf(f, "\n%sLayers%s (execution order; values of each GEMM's output)\n", col(o, BOLD),
            col(o, RESET));
    fprintf(f, "  %-*s %6s %-9s %8s %5s %6s %6s %5s\n", NAME_W, "layer", "calls", "in>out",
            "absmax", "head", "nan", "inf", "flag");
    char name[NAME_W + 8], b1[32], b2[32], b3[32], b4[32], dt[24];
    for (uint32_t i = 0; i < n; i++) {
        const mpt_layer *l = mpt_model_layer(m, i);
        const mpt_layer_row *r = &a->rows[i];
        const mpt_cell *c = &l->total;
        fit_name(name, sizeof name, l->name, NAME_W);
        snprintf(dt, sizeof dt, "%s>%s", short_dtype(c->dtype_in), short_dtype(c->dtype_out));
        num(b1, sizeof b1, c->out_count ? c->out_absmax : NAN);
        bits(b2, sizeof b2, r->headroom_bits);
        count(b3, sizeof b3, c->out_nan);
        count(b4, sizeof b4, c->out_inf);
        int bad = (c->out_nan || c->out_inf);
        fprintf(f, "  %s%-*s %6u %-9s %8s %5s %6s %6s %5u%s\n", bad ? col(o, RED) : "", NAME_W,
                name, c->calls, dt, b1, b2, b3, b4, r->flagged_cols, bad ? col(o, RESET) : "");
    }
    if (n < a->nrows) fprintf(f, "  ... %u more layers\n", a->nrows - n);
    fprintf(f, "\n  %-*s %6s %6s %6s %6s %7s %7s %8s\n", NAME_W, "precision (%: of values)",
            "subn%", "f16ov%", "f16fl%", "uflow%", "ulp p50", "ulp max", "rel max");
    for (uint32_t i = 0; i < n; i++) {
        const mpt_layer *l = mpt_model_layer(m, i);
        const mpt_layer_row *r = &a->rows[i];
        char p1[16], p2[16], p3[16], p4[16], u1[32], u2[32], rl[32];
        fit_name(name, sizeof name, l->name, NAME_W);
        pct(p1, sizeof p1, r->subnormal_frac);
        pct(p2, sizeof p2, r->overflow_frac[MPT_NARROW_FP16]);
        pct(p3, sizeof p3, r->flush_frac[MPT_NARROW_FP16]);
        pct(p4, sizeof p4, r->underflow_frac);
        num(u1, sizeof u1, r->ulp_p50);
        num(u2, sizeof u2, r->ulp_max);
        num(rl, sizeof rl, r->rel_max);
        fprintf(f, "  %-*s %6s %6s %6s %6s %7s %7s %8s\n", NAME_W, name, p1, p2, p3, p4, u1, u2,
                rl);
    }
    if (n < a->nrows) fprintf(f, "  ... %u more layers\n", a->nrows - n);
    fprintf(f, "  head: bits of headroom to the output type's max; flag: steps with NaN/Inf,\n"
               "  overflow, underflow or precision loss; subn: subnormal in the output type;\n"
               "  f16ov/f16fl: would overflow/flush to 0 in fp16; uflow: sampled outputs whose\n"
               "  exact nonzero value was stored as 0 or subnormal.\n");
}

int mpt_report_text(FILE *f, const mpt_model *m, const mpt_analysis *a, const mpt_report_opts *ro)
{
    out o = {f, ro ? ro->color : 0, ro && ro->width >= 60 ? ro->width : 80};
    summary(&o, m, a);
    first_nf(&o, m, a);
    findings(&o, m, a);
    loss(&o, m, a);
    scaler(&o, a);
    layer_tables(&o, m, a, ro ? ro->max_layers : 0);
    return ferror(f) ? -1 : 0;
}
