/*
 * Two runs compared (contract in diff.h), and the comparison as text and JSON.
 */
#include "analyzer/diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/json.h"

void mpt_diff_opts_default(mpt_diff_opts *o)
{
    o->threshold_bits = 1.0;
    o->loss_rel_tol = 0.05;
}

static int nonfinite(const mpt_cell *c)
{
    return c->out_nan || c->out_inf;
}

/* The first common step where layer la of A and lb of B diverge. */
static void layer_divergence(const mpt_diff *d, mpt_diff_layer *x, double thr)
{
    const mpt_model *ma = d->side[0].m, *mb = d->side[1].m;
    x->first_step = MPT_NO_STEP;
    x->delta_bits = NAN;
    for (size_t i = 0; i < mpt_model_nsteps(ma); i++) {
        int64_t s = mpt_model_step(ma, i)->step;
        int64_t ca = mpt_model_col_of_step(ma, s), cb = mpt_model_col_of_step(mb, s);
        if (ca < 0 || cb < 0) continue;
        const mpt_cell *a = mpt_model_cell(ma, x->la, (uint32_t)ca);
        const mpt_cell *b = mpt_model_cell(mb, x->lb, (uint32_t)cb);
        if (!a->calls || !b->calls) continue;
        if (nonfinite(a) != nonfinite(b)) {
            x->first_step = s;
            x->nonfinite = 1;
            x->delta_bits = nonfinite(b) ? INFINITY : -INFINITY;
            return;
        }
        if (nonfinite(a) || !(a->out_absmax > 0) || !(b->out_absmax > 0)) continue;
        double delta = log2(b->out_absmax / a->out_absmax);
        if (fabs(delta) > thr) {
            x->first_step = s;
            x->delta_bits = delta;
            return;
        }
    }
}

static int finding_matches(const mpt_diff_side *s, const mpt_finding *f, const mpt_diff_side *o)
{
    const char *name = f->layer != MPT_NO_LAYER ? mpt_model_layer(s->m, f->layer)->name : NULL;
    for (size_t i = 0; i < o->a->nfindings; i++) {
        const mpt_finding *g = &o->a->findings[i];
        if (g->kind != f->kind) continue;
        const char *gn = g->layer != MPT_NO_LAYER ? mpt_model_layer(o->m, g->layer)->name : NULL;
        if ((!name && !gn) || (name && gn && strcmp(name, gn) == 0)) return 1;
    }
    return 0;
}

mpt_diff *mpt_diff_compute(const mpt_model *ma, const mpt_analysis *aa, const mpt_model *mb,
                           const mpt_analysis *ab, const mpt_diff_opts *opts)
{
    mpt_diff_opts o;
    if (opts)
        o = *opts;
    else
        mpt_diff_opts_default(&o);
    mpt_diff *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->side[0] = (mpt_diff_side){ma, aa, "A"};
    d->side[1] = (mpt_diff_side){mb, ab, "B"};
    uint32_t na = mpt_model_nlayers(ma), nb = mpt_model_nlayers(mb);
    d->layers = calloc((size_t)na + nb + 1, sizeof *d->layers);
    d->only[0] = calloc(aa->nfindings + 1, sizeof(size_t));
    d->only[1] = calloc(ab->nfindings + 1, sizeof(size_t));
    if (!d->layers || !d->only[0] || !d->only[1]) {
        mpt_diff_free(d);
        return NULL;
    }
    for (uint32_t l = 0; l < na; l++) {
        mpt_diff_layer *x = &d->layers[d->nlayers++];
        x->name = mpt_model_layer(ma, l)->name;
        x->la = l;
        x->lb = mpt_model_find_layer(mb, x->name);
        x->first_step = MPT_NO_STEP;
        x->delta_bits = NAN;
        if (x->lb != MPT_NO_LAYER) layer_divergence(d, x, o.threshold_bits);
    }
    for (uint32_t l = 0; l < nb; l++) {
        const char *name = mpt_model_layer(mb, l)->name;
        if (mpt_model_find_layer(ma, name) != MPT_NO_LAYER) continue;
        mpt_diff_layer *x = &d->layers[d->nlayers++];
        x->name = name;
        x->la = MPT_NO_LAYER;
        x->lb = l;
        x->first_step = MPT_NO_STEP;
        x->delta_bits = NAN;
    }
    d->first = UINT32_MAX;
    for (uint32_t i = 0; i < d->nlayers; i++) {
        const mpt_diff_layer *x = &d->layers[i];
        if (x->first_step == MPT_NO_STEP) continue;
        if (d->first == UINT32_MAX || x->first_step < d->layers[d->first].first_step) d->first = i;
    }
    d->loss_step = MPT_NO_STEP;
    d->loss_a = d->loss_b = NAN;
    for (size_t i = 0; i < mpt_model_nsteps(ma); i++) {
        const mpt_step *sa = mpt_model_step(ma, i);
        const mpt_step *sb = mpt_model_find_step(mb, sa->step);
        if (!sb) continue;
        d->common_steps++;
        if (d->loss_step != MPT_NO_STEP || !(sa->has & sb->has & MPT_STEP_HAS_LOSS)) continue;
        double x = sa->loss, y = sb->loss;
        int differ = isfinite(x) != isfinite(y) ||
                     (isfinite(x) && fabs(x - y) > o.loss_rel_tol * fmax(fabs(x), fabs(y)));
        if (differ) {
            d->loss_step = sa->step;
            d->loss_a = x;
            d->loss_b = y;
        }
    }
    for (int s = 0; s < 2; s++) {
        const mpt_diff_side *me = &d->side[s], *other = &d->side[1 - s];
        for (size_t i = 0; i < me->a->nfindings; i++)
            if (!finding_matches(me, &me->a->findings[i], other)) d->only[s][d->nonly[s]++] = i;
    }
    return d;
}

void mpt_diff_free(mpt_diff *d)
{
    if (!d) return;
    free(d->layers);
    free(d->only[0]);
    free(d->only[1]);
    free(d);
}

/* ---- presentation ---------------------------------------------------------------------------- */

static const mpt_cell *total(const mpt_diff *d, int s, uint32_t l)
{
    return l == MPT_NO_LAYER ? NULL : &mpt_model_layer(d->side[s].m, l)->total;
}

static void fmt(char *b, size_t n, const mpt_cell *c)
{
    if (!c)
        snprintf(b, n, "absent");
    else if (c->out_nan || c->out_inf)
        snprintf(b, n, "NaN/Inf");
    else
        snprintf(b, n, "%.3g", c->out_absmax);
}

/* The last w bytes of s, marked ".." when cut (at a UTF-8 boundary). */
static const char *tail(const char *s, size_t w, char *buf, size_t n)
{
    size_t len = strlen(s);
    if (len <= w) return s;
    const char *t = s + len - (w - 2);
    while ((*t & 0xc0) == 0x80)
        t++;
    snprintf(buf, n, "..%s", t);
    return buf;
}

static void side_line(FILE *f, const mpt_diff *d, int s)
{
    const mpt_diff_side *x = &d->side[s];
    const mpt_source *src = mpt_model_source(x->m, 0);
    char b[96];
    int nsrc = mpt_model_nsources(x->m);
    fprintf(f, "  %s  %s\n     %s\n     %d rank%s, %llu steps, %llu GEMMs, %zu findings\n",
            x->label, tail(src ? src->path : "?", 74, b, sizeof b), x->a->regime.description, nsrc,
            nsrc == 1 ? "" : "s", (unsigned long long)x->a->nsteps,
            (unsigned long long)mpt_model_get_totals(x->m)->gemms, x->a->nfindings);
}

int mpt_diff_text(FILE *f, const mpt_diff *d, int color)
{
    const char *B = color ? "\033[1m" : "", *R = color ? "\033[0m" : "";
    const char *RED = color ? "\033[1;31m" : "";
    fprintf(f, "%smptrace diff%s\n", B, R);
    side_line(f, d, 0);
    side_line(f, d, 1);
    fprintf(f, "  common steps: %lld\n\n%sFirst divergence%s\n", (long long)d->common_steps, B, R);
    if (d->first == UINT32_MAX) {
        fprintf(f, "  none: every common layer stays within the threshold at every common step\n");
    } else {
        const mpt_diff_layer *x = &d->layers[d->first];
        char b[96];
        fprintf(f, "  step %s%lld%s, layer %s%s%s\n  ", RED, (long long)x->first_step, R, RED,
                tail(x->name, 56, b, sizeof b), R);
        if (x->nonfinite)
            fprintf(f, "NaN/Inf in %s only\n",
                    isinf(x->delta_bits) && x->delta_bits > 0 ? "B" : "A");
        else
            fprintf(f, "output absmax %s by %.1f bits (%.3gx) in B\n",
                    x->delta_bits > 0 ? "larger" : "smaller", fabs(x->delta_bits),
                    exp2(fabs(x->delta_bits)));
    }
    fprintf(f, "\n%sLoss%s\n", B, R);
    if (d->loss_step == MPT_NO_STEP)
        fprintf(f, "  the two curves agree at every common step\n");
    else
        fprintf(f, "  first differs at step %lld: A %.4g, B %.4g\n", (long long)d->loss_step,
                d->loss_a, d->loss_b);
    fprintf(f, "  final: A %.4g, B %.4g\n", d->side[0].a->loss.last, d->side[1].a->loss.last);
    fprintf(f, "\n%sLayers%s (run totals of each GEMM's output)\n", B, R);
    fprintf(f, "  %-26s %9s %9s %7s %9s %9s\n", "layer", "absmax A", "absmax B", "bits", "diverges",
            "dtypes");
    for (uint32_t i = 0; i < d->nlayers; i++) {
        const mpt_diff_layer *x = &d->layers[i];
        const mpt_cell *a = total(d, 0, x->la), *b = total(d, 1, x->lb);
        char sa[24], sb[24], bits[16] = "-", step[24] = "-", name[32], dt[24];
        fmt(sa, sizeof sa, a);
        fmt(sb, sizeof sb, b);
        if (a && b && a->out_absmax > 0 && b->out_absmax > 0 && !a->out_nan && !a->out_inf &&
            !b->out_nan && !b->out_inf)
            snprintf(bits, sizeof bits, "%+.1f", log2(b->out_absmax / a->out_absmax));
        if (x->first_step != MPT_NO_STEP)
            snprintf(step, sizeof step, "%lld", (long long)x->first_step);
        const char *nm = tail(x->name, 26, name, sizeof name);
        snprintf(dt, sizeof dt, "%s/%s", a ? mpt_dtype_name((mpt_dtype)a->dtype_out) : "-",
                 b ? mpt_dtype_name((mpt_dtype)b->dtype_out) : "-");
        fprintf(f, "  %-26s %9s %9s %7s %9s %9s\n", nm, sa, sb, bits, step, dt);
    }
    for (int s = 0; s < 2; s++) {
        const mpt_diff_side *me = &d->side[s];
        fprintf(f, "\n%sFindings only in %s%s\n", B, me->label, R);
        if (!d->nonly[s]) fprintf(f, "  none\n");
        for (size_t k = 0; k < d->nonly[s]; k++) {
            const mpt_finding *x = &me->a->findings[d->only[s][k]];
            fprintf(f, "  %-7s %s", mpt_severity_name(x->severity), mpt_finding_kind_name(x->kind));
            if (x->step != MPT_NO_STEP) fprintf(f, ", step %lld", (long long)x->step);
            if (x->layer != MPT_NO_LAYER) {
                char b[64];
                fprintf(f, ", %s", tail(mpt_model_layer(me->m, x->layer)->name, 40, b, sizeof b));
            }
            fputc('\n', f);
        }
    }
    return ferror(f) ? -1 : 0;
}

static void json_side(mpt_json *j, const mpt_diff_side *s)
{
    const mpt_source *src = mpt_model_source(s->m, 0);
    mpt_json_object_begin(j);
    mpt_json_kstr(j, "path", src ? src->path : NULL);
    mpt_json_kstr(j, "regime", s->a->regime.id);
    mpt_json_kuint(j, "steps", s->a->nsteps);
    mpt_json_kuint(j, "ops", mpt_model_get_totals(s->m)->gemms);
    mpt_json_knum(j, "final_loss", s->a->loss.last);
    mpt_json_object_end(j);
}

int mpt_diff_json(FILE *f, const mpt_diff *d, int pretty)
{
    mpt_json j;
    mpt_json_init(&j, f, pretty);
    mpt_json_object_begin(&j);
    mpt_json_kstr(&j, "schema", "mptrace-diff/1");
    mpt_json_key(&j, "a");
    json_side(&j, &d->side[0]);
    mpt_json_key(&j, "b");
    json_side(&j, &d->side[1]);
    mpt_json_kint(&j, "common_steps", d->common_steps);
    mpt_json_key(&j, "first_divergence");
    if (d->first == UINT32_MAX) {
        mpt_json_null(&j);
    } else {
        const mpt_diff_layer *x = &d->layers[d->first];
        mpt_json_object_begin(&j);
        mpt_json_kint(&j, "step", x->first_step);
        mpt_json_kstr(&j, "layer", x->name);
        mpt_json_kstr(&j, "metric", x->nonfinite ? "nonfinite" : "absmax");
        mpt_json_knum(&j, "delta_bits", x->delta_bits);
        mpt_json_kstr(&j, "nonfinite_in", x->nonfinite ? (x->delta_bits > 0 ? "b" : "a") : NULL);
        mpt_json_object_end(&j);
    }
    mpt_json_key(&j, "loss_first_difference");
    if (d->loss_step == MPT_NO_STEP) {
        mpt_json_null(&j);
    } else {
        mpt_json_object_begin(&j);
        mpt_json_kint(&j, "step", d->loss_step);
        mpt_json_knum(&j, "a", d->loss_a);
        mpt_json_knum(&j, "b", d->loss_b);
        mpt_json_object_end(&j);
    }
    mpt_json_key(&j, "layers");
    mpt_json_array_begin(&j);
    for (uint32_t i = 0; i < d->nlayers; i++) {
        const mpt_diff_layer *x = &d->layers[i];
        const mpt_cell *c[2] = {total(d, 0, x->la), total(d, 1, x->lb)};
        mpt_json_object_begin(&j);
        mpt_json_kstr(&j, "name", x->name);
        for (int s = 0; s < 2; s++) {
            char k[32];
            snprintf(k, sizeof k, "in_%c", "ab"[s]);
            mpt_json_kbool(&j, k, c[s] != NULL);
            snprintf(k, sizeof k, "dtype_%c", "ab"[s]);
            mpt_json_kstr(&j, k, c[s] ? mpt_dtype_name((mpt_dtype)c[s]->dtype_out) : NULL);
            snprintf(k, sizeof k, "absmax_%c", "ab"[s]);
            mpt_json_knum(&j, k, c[s] && c[s]->out_count ? c[s]->out_absmax : NAN);
            snprintf(k, sizeof k, "nonfinite_%c", "ab"[s]);
            mpt_json_key(&j, k);
            c[s] ? mpt_json_uint(&j, c[s]->out_nan + c[s]->out_inf) : mpt_json_null(&j);
            snprintf(k, sizeof k, "rel_err_max_%c", "ab"[s]);
            mpt_json_knum(&j, k, c[s] && c[s]->prec_calls ? c[s]->prec_max_rel : NAN);
        }
        mpt_json_key(&j, "first_divergent_step");
        x->first_step == MPT_NO_STEP ? mpt_json_null(&j) : mpt_json_int(&j, x->first_step);
        mpt_json_knum(&j, "delta_bits", x->delta_bits);
        mpt_json_object_end(&j);
    }
    mpt_json_array_end(&j);
    for (int s = 0; s < 2; s++) {
        const mpt_diff_side *me = &d->side[s];
        mpt_json_key(&j, s ? "findings_only_b" : "findings_only_a");
        mpt_json_array_begin(&j);
        for (size_t k = 0; k < d->nonly[s]; k++) {
            const mpt_finding *x = &me->a->findings[d->only[s][k]];
            mpt_json_object_begin(&j);
            mpt_json_kstr(&j, "kind", mpt_finding_kind_name(x->kind));
            mpt_json_kstr(&j, "severity", mpt_severity_name(x->severity));
            mpt_json_key(&j, "step");
            x->step == MPT_NO_STEP ? mpt_json_null(&j) : mpt_json_int(&j, x->step);
            mpt_json_kstr(&j, "layer",
                          x->layer == MPT_NO_LAYER ? NULL : mpt_model_layer(me->m, x->layer)->name);
            mpt_json_kstr(&j, "message", x->message);
            mpt_json_object_end(&j);
        }
        mpt_json_array_end(&j);
    }
    mpt_json_object_end(&j);
    return mpt_json_finish(&j);
}
