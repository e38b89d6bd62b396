/*
 * Read-only questions the views and keys ask of the model, on top of its public API: the layer
 * table's rows for the selected step or range (filtered, sorted), which steps are anomalies,
 * what a cell's status looks like (glyph, style, rank, words), and number formats that keep
 * "not measured" visibly apart from 0.
 *
 * Status glyphs (shown in the table and the heat map, so meaning survives without colour):
 *   N  NaN/Inf produced here (inputs finite)     n  NaN/Inf out, and in through an input
 *   O  sampled exact outputs overflowed the type  i  a NaN/Inf input, finite output
 *   U  underflow     P  precision loss     H  little headroom     F  would flush in fp16
 *   .  measured, nothing to say               (blank) not called in the selection
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/app.h"

/* ---- status ---------------------------------------------------------------------------------- */

int mpt_tui_status_rank(unsigned st)
{
    if ((st & MPT_CELL_NONFINITE) && !(st & MPT_CELL_INPUT_NF)) return 8;
    if (st & MPT_CELL_OVERFLOW) return 7;
    if (st & MPT_CELL_NONFINITE) return 6;
    if (st & MPT_CELL_INPUT_NF) return 5;
    if (st & MPT_CELL_UNDERFLOW) return 4;
    if (st & MPT_CELL_PRECISION) return 3;
    if (st & MPT_CELL_HEADROOM) return 2;
    if (st & MPT_CELL_FLUSH_FP16) return 1;
    return 0;
}

char mpt_tui_status_glyph(unsigned st)
{
    static const char g[9] = {'.', 'F', 'H', 'P', 'U', 'i', 'n', 'O', 'N'};
    return g[mpt_tui_status_rank(st)];
}

unsigned mpt_tui_status_style(unsigned st)
{
    static const unsigned s[9] = {MPT_STY_OK,   MPT_STY_INFO, MPT_STY_WARN,
                                  MPT_STY_WARN, MPT_STY_WARN, MPT_STY_BAD,
                                  MPT_STY_BAD,  MPT_STY_BAD,  MPT_STY_NONFINITE};
    return s[mpt_tui_status_rank(st)];
}

const char *mpt_tui_status_words(unsigned st, char *buf, size_t n)
{
    static const struct {
        unsigned bit;
        const char *word;
    } w[] = {
        {MPT_CELL_NONFINITE, "NaN/Inf out"}, {MPT_CELL_INPUT_NF, "NaN/Inf in"},
        {MPT_CELL_OVERFLOW, "overflow"},     {MPT_CELL_UNDERFLOW, "underflow"},
        {MPT_CELL_PRECISION, "precision"},   {MPT_CELL_HEADROOM, "low headroom"},
        {MPT_CELL_FLUSH_FP16, "fp16 flush risk"},
    };
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
        if (!(st & w[i].bit)) continue;
        int k = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", w[i].word);
        if (k < 0 || (size_t)k >= n - used) break;
        used += (size_t)k;
    }
    if (!used) snprintf(buf, n, "ok");
    return buf;
}

/* ---- the selection --------------------------------------------------------------------------- */

void mpt_tui_selection(const mpt_tui_app *a, size_t *i0, size_t *i1)
{
    size_t s = a->step_idx, t = a->range_anchor >= 0 ? (size_t)a->range_anchor : a->step_idx;
    *i0 = s < t ? s : t;
    *i1 = s < t ? t : s;
}

const mpt_spike *mpt_tui_spike_at(const mpt_tui_app *a, int64_t step)
{
    if (!a->an) return NULL;
    for (size_t i = 0; i < a->an->loss.nspikes; i++)
        if (a->an->loss.spikes[i].step == step) return &a->an->loss.spikes[i];
    return NULL;
}

int mpt_tui_step_is_anomaly(const mpt_tui_app *a, size_t idx)
{
    const mpt_step *s = mpt_model_step(a->model, idx);
    if (!s) return 0;
    if (s->nonfinite_gemms || s->skip == 1 || s->skip_inferred == 1) return 1;
    if ((s->has & MPT_STEP_HAS_LOSS) && !isfinite(s->loss)) return 1;
    return mpt_tui_spike_at(a, s->step) != NULL;
}

/* ---- rows ------------------------------------------------------------------------------------ */

static int key_nonfinite(const mpt_cell *c)
{
    return c->out_nan + c->out_inf > 0 ? 2 : c->in_nan + c->in_inf > 0 ? 1 : 0;
}

/* -1: a before b. NaN-valued keys (not measured) always sort last. */
static int cmp_desc(double x, double y)
{
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return x > y ? -1 : x < y ? 1 : 0;
}

static double underflow_frac(const mpt_cell *c)
{
    return c->prec_samples ? (double)c->prec_underflow / (double)c->prec_samples : NAN;
}

static int cmp_rows(const void *pa, const void *pb, void *ctx)
{
    const mpt_tui_app *a = ctx;
    const mpt_tui_row *x = pa, *y = pb;
    const mpt_cell *cx = &x->cell, *cy = &y->cell;
    int r = 0;
    switch (a->sort) {
    case MPT_SORT_STATUS:
        r = mpt_tui_status_rank(y->status) - mpt_tui_status_rank(x->status);
        break;
    case MPT_SORT_ABSMAX:
        r = cmp_desc(cx->calls ? cx->out_absmax : NAN, cy->calls ? cy->out_absmax : NAN);
        break;
    case MPT_SORT_HEADROOM: r = -cmp_desc(x->headroom, y->headroom); break;
    case MPT_SORT_NONFINITE:
        r = key_nonfinite(cy) - key_nonfinite(cx);
        if (!r) r = cmp_desc((double)(cx->out_nan + cx->out_inf), (double)(cy->out_nan + cy->out_inf));
        break;
    case MPT_SORT_UNDERFLOW: r = cmp_desc(underflow_frac(cx), underflow_frac(cy)); break;
    case MPT_SORT_ERROR:
        r = cmp_desc(cx->prec_calls ? cx->prec_max_ulp : NAN, cy->prec_calls ? cy->prec_max_ulp : NAN);
        break;
    case MPT_SORT_NAME:
        r = strcmp(mpt_model_layer(a->model, x->layer)->name, mpt_model_layer(a->model, y->layer)->name);
        break;
    default: break;
    }
    if (a->sort == MPT_SORT_HEADROOM && (isnan(x->headroom) || isnan(y->headroom)))
        r = isnan(x->headroom) - isnan(y->headroom); /* unknown headroom last here too */
    if (r) return r;
    return (x->layer > y->layer) - (x->layer < y->layer);
}

void mpt_tui_rows_build(mpt_tui_app *a)
{
    uint32_t nl = mpt_model_nlayers(a->model);
    a->nrows = 0;
    if (nl > a->caprows) {
        mpt_tui_row *r = realloc(a->rows, (size_t)nl * sizeof *r);
        if (!r) return;
        a->rows = r;
        a->caprows = nl;
    }
    size_t i0, i1;
    int64_t c0 = -1, c1 = -1;
    if (mpt_model_nsteps(a->model)) {
        mpt_tui_selection(a, &i0, &i1);
        c0 = mpt_model_col_of_step(a->model, mpt_model_step(a->model, i0)->step);
        c1 = mpt_model_col_of_step(a->model, mpt_model_step(a->model, i1)->step);
        if (c0 < 0 && c1 >= 0) c0 = 0;
        if (c1 < 0 && c0 >= 0) c1 = (int64_t)mpt_model_ncols(a->model) - 1;
    }
    for (uint32_t l = 0; l < nl; l++) {
        const mpt_layer *ly = mpt_model_layer(a->model, l);
        if (a->filter[0] && !strcasestr(ly->name, a->filter)) continue;
        mpt_tui_row *r = &a->rows[a->nrows++];
        r->layer = l;
        mpt_cell_init(&r->cell);
        for (int64_t c = c0; c >= 0 && c <= c1; c++)
            mpt_cell_merge(&r->cell, mpt_model_cell(a->model, l, (uint32_t)c));
        r->status = mpt_cell_status(&r->cell);
        r->headroom = mpt_cell_headroom_bits(&r->cell);
    }
    if (a->sort != MPT_SORT_EXEC) qsort_r(a->rows, a->nrows, sizeof *a->rows, cmp_rows, a);
}

int mpt_tui_row_of_layer(const mpt_tui_app *a, uint32_t layer)
{
    for (uint32_t i = 0; i < a->nrows; i++)
        if (a->rows[i].layer == layer) return (int)i;
    return -1;
}

const char *mpt_tui_sort_name(mpt_tui_sort s)
{
    static const char *const n[MPT_SORT_COUNT] = {"execution order", "status", "absmax",
                                                  "headroom", "NaN/Inf", "underflow",
                                                  "error", "name"};
    return (unsigned)s < MPT_SORT_COUNT ? n[s] : "?";
}

/* ---- formats --------------------------------------------------------------------------------- */

const char *mpt_tui_fmt_num(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (isinf(v))
        snprintf(buf, n, "%sinf", v < 0 ? "-" : "");
    else
        snprintf(buf, n, "%.3g", v);
    return buf;
}

const char *mpt_tui_fmt_val(double v, char *buf, size_t n)
{
    if (isnan(v)) return snprintf(buf, n, "nan"), buf;
    return mpt_tui_fmt_num(v, buf, n);
}

const char *mpt_tui_fmt_count(uint64_t v, char *buf, size_t n)
{
    if (v < 10000)
        snprintf(buf, n, "%llu", (unsigned long long)v);
    else if (v < 999950)
        snprintf(buf, n, "%.1fk", (double)v / 1e3);
    else if (v < 999950000ull)
        snprintf(buf, n, "%.1fM", (double)v / 1e6);
    else
        snprintf(buf, n, "%.1fG", (double)v / 1e9);
    return buf;
}

const char *mpt_tui_dtype_short(unsigned dt)
{
    static const char *const n[] = {"f32", "f16", "bf16", "tf32", "e4m3", "e5m2", "f64"};
    return dt < sizeof n / sizeof *n ? n[dt] : "?";
}
