/*
 * The two views over layers: the layer table (one row per layer for the selected step or
 * range: dtype, absmax, headroom, NaN/Inf, underflow, precision error, coloured and marked by
 * status) and the heat map (layers x steps, each cell the worst status of that layer in that
 * bucket of steps, so where and when trouble starts shows as a shape).
 *
 * Columns appear by width: the 80-column set first, then calls, subnormal %, fp16-overflow % and
 * relative error on wider terminals. "-" always means not measured; 0 means measured zero.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/app.h"

typedef struct column {
    const char *title;
    int width;   /* cells, right-aligned */
    int min_cols; /* shown from this terminal width on */
} column;

enum { C_DTYPE, C_ABSMAX, C_HEADROOM, C_NONFINITE, C_UNDERFLOW, C_ERROR, C_CALLS, C_SUBNORMAL,
       C_F16OVF, C_REL, C_COUNT };

static const column cols[C_COUNT] = {
    [C_DTYPE] = {"dtype", 9, 0},       [C_ABSMAX] = {"absmax", 9, 0},
    [C_HEADROOM] = {"hdroom", 7, 0},   [C_NONFINITE] = {"NaN/Inf", 10, 0},
    [C_UNDERFLOW] = {"unfl%", 6, 0},   [C_ERROR] = {"err ulp", 8, 0},
    [C_CALLS] = {"calls", 7, 110},     [C_SUBNORMAL] = {"sub%", 6, 120},
    [C_F16OVF] = {"f16ovf%", 8, 130},  [C_REL] = {"rel err", 9, 140},
};

static const char *pct(uint64_t num, uint64_t den, char *b, size_t n)
{
    if (!den) return snprintf(b, n, "-"), b;
    double p = 100.0 * (double)num / (double)den;
    snprintf(b, n, p > 0 && p < 0.1 ? "<0.1" : "%.1f", p);
    return b;
}

static const char *cell_text(int col, const mpt_tui_row *r, char *b, size_t n)
{
    const mpt_cell *c = &r->cell;
    char t[32];
    if (!c->calls) return col == C_DTYPE ? "" : "-";
    switch (col) {
    case C_DTYPE:
        if (c->dtype_in == c->dtype_out)
            snprintf(b, n, "%s%s", mpt_tui_dtype_short(c->dtype_out), c->mixed ? "*" : "");
        else
            snprintf(b, n, "%s>%s%s", mpt_tui_dtype_short(c->dtype_in), mpt_tui_dtype_short(c->dtype_out),
                     c->mixed ? "*" : "");
        return b;
    case C_ABSMAX: /* no finite output value: no absmax (the model keeps 0 there) */
        return c->out_count > c->out_nan + c->out_inf ? mpt_tui_fmt_num(c->out_absmax, b, n) : "-";
    case C_HEADROOM:
        if (isnan(r->headroom)) return "-";
        snprintf(b, n, "%+.1fb", r->headroom);
        return b;
    case C_NONFINITE: {
        uint64_t out = c->out_nan + c->out_inf, in = c->in_nan + c->in_inf;
        if (!c->out_count && !c->in_count) return "-";
        if (out)
            snprintf(b, n, "%s%s", mpt_tui_fmt_count(out, t, sizeof t), in ? " +in" : "");
        else if (in)
            snprintf(b, n, "in %s", mpt_tui_fmt_count(in, t, sizeof t));
        else
            snprintf(b, n, "0");
        return b;
    }
    case C_UNDERFLOW: return pct(c->prec_underflow, c->prec_samples, b, n);
    case C_ERROR: return c->prec_calls ? mpt_tui_fmt_num(c->prec_max_ulp, b, n) : "-";
    case C_CALLS: return mpt_tui_fmt_count(c->calls, b, n);
    case C_SUBNORMAL: return pct(c->out_subnormal, c->full_count, b, n);
    case C_F16OVF: return pct(c->narrow[MPT_NARROW_FP16].overflow, c->full_count, b, n);
    case C_REL: return c->prec_calls ? mpt_tui_fmt_num(c->prec_max_rel, b, n) : "-";
    default: return "";
    }
}

static void scroll_to(int *top, int row, int visible, int nrows)
{
    if (row >= 0 && row < *top) *top = row;
    if (row >= *top + visible) *top = row - visible + 1;
    if (*top > nrows - visible) *top = nrows - visible;
    if (*top < 0) *top = 0;
}

static void selection_title(const mpt_tui_app *a, char *b, size_t n)
{
    size_t i0, i1;
    if (!mpt_model_nsteps(a->model)) {
        snprintf(b, n, "no steps yet");
        return;
    }
    mpt_tui_selection(a, &i0, &i1);
    long long s0 = mpt_model_step(a->model, i0)->step, s1 = mpt_model_step(a->model, i1)->step;
    int64_t w = mpt_model_col_width(a->model);
    if (s0 != s1)
        snprintf(b, n, "steps %lld-%lld", s0, s1);
    else if (w > 1) /* the grid merged steps: say which ones this cell covers */
        snprintf(b, n, "step %lld (cell of %lld steps)", s0, (long long)w);
    else
        snprintf(b, n, "step %lld", s0);
}

void mpt_tui_draw_layers(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r)
{
    int show[C_COUNT], fixed = 2;
    for (int k = 0; k < C_COUNT; k++) {
        show[k] = r->w >= cols[k].min_cols;
        if (show[k]) fixed += cols[k].width + 1;
    }
    int name_w = r->w - fixed;
    if (name_w < 12) name_w = 12;
    char sel[96], b[64];
    selection_title(a, sel, sizeof sel);
    mpt_rect head = {r->x, r->y, r->w, 1};
    mpt_canvas_fill(c, &head, ' ', MPT_STY_BOLD);
    if (a->filter[0])
        mpt_canvas_printf(c, r->x + 2, r->y, name_w, MPT_STY_BOLD, "Layer  %s  %u/%u", sel, a->nrows,
                          mpt_model_nlayers(a->model));
    else
        mpt_canvas_printf(c, r->x + 2, r->y, name_w, MPT_STY_BOLD, "Layer  %s", sel);
    int x = r->x + 2 + name_w;
    for (int k = 0; k < C_COUNT; k++) {
        if (!show[k]) continue;
        mpt_canvas_rtext(c, x + 1 + cols[k].width, r->y, MPT_STY_BOLD, cols[k].title);
        x += cols[k].width + 1;
    }
    int visible = r->h - 1;
    if (!a->nrows) {
        mpt_canvas_text(c, r->x + 2, r->y + 1, r->w - 2, MPT_STY_DIM,
                        a->filter[0] ? "no layer matches the filter (Esc clears it)"
                                     : "no GEMM recorded yet");
        return;
    }
    int selrow = mpt_tui_row_of_layer(a, a->layer);
    scroll_to(&a->table_top, selrow, visible, (int)a->nrows);
    for (int i = 0; i < visible && a->table_top + i < (int)a->nrows; i++) {
        const mpt_tui_row *row = &a->rows[a->table_top + i];
        int y = r->y + 1 + i;
        unsigned rev = a->table_top + i == selrow ? MPT_STY_REVERSE : 0;
        unsigned base = row->cell.calls ? MPT_STY_NORMAL : MPT_STY_DIM;
        if (rev) {
            mpt_rect line = {r->x, y, r->w, 1};
            mpt_canvas_fill(c, &line, ' ', MPT_STY_NORMAL | rev);
        }
        unsigned st_sty = mpt_tui_status_style(row->status);
        if (row->cell.calls)
            mpt_canvas_set(c, r->x, y, (uint32_t)mpt_tui_status_glyph(row->status), st_sty | rev);
        const mpt_layer *l = mpt_model_layer(a->model, row->layer);
        unsigned name_sty = mpt_tui_status_rank(row->status) >= 5 ? st_sty : base;
        mpt_canvas_text(c, r->x + 2, y, name_w, name_sty | rev, l->name);
        x = r->x + 2 + name_w;
        for (int k = 0; k < C_COUNT; k++) {
            if (!show[k]) continue;
            const char *t = cell_text(k, row, b, sizeof b);
            unsigned s = base;
            if (k == C_NONFINITE && strcmp(t, "0") && strcmp(t, "-")) s = st_sty;
            if (k == C_HEADROOM && !isnan(row->headroom) && row->headroom < 2) s = MPT_STY_WARN;
            if (k == C_UNDERFLOW && (row->status & MPT_CELL_UNDERFLOW)) s = MPT_STY_WARN;
            if (k == C_ERROR && (row->status & MPT_CELL_PRECISION)) s = MPT_STY_WARN;
            if (!strcmp(t, "-")) s = MPT_STY_DIM;
            mpt_canvas_rtext(c, x + 1 + cols[k].width, y, s | rev, t);
            x += cols[k].width + 1;
        }
    }
}

/* ---- heat map -------------------------------------------------------------------------------- */

/* Worst status of layer l over the grid columns covering step indices [i0, i1). *called: any
 * call there. */
static unsigned bucket_status(const mpt_tui_app *a, uint32_t l, size_t i0, size_t i1, int *called)
{
    int64_t c0 = mpt_model_col_of_step(a->model, mpt_model_step(a->model, i0)->step);
    int64_t c1 = mpt_model_col_of_step(a->model, mpt_model_step(a->model, i1 - 1)->step);
    unsigned st = 0, worst = 0;
    *called = 0;
    if (c0 < 0 && c1 >= 0) c0 = 0; /* steps outside the grid hold no GEMM */
    if (c1 < 0 && c0 >= 0) c1 = (int64_t)mpt_model_ncols(a->model) - 1;
    for (int64_t col = c0; col >= 0 && col <= c1; col++) {
        const mpt_cell *cell = mpt_model_cell(a->model, l, (uint32_t)col);
        if (!cell->calls) continue;
        *called = 1;
        st = mpt_cell_status(cell);
        if (mpt_tui_status_rank(st) > mpt_tui_status_rank(worst)) worst = st;
    }
    return worst;
}

void mpt_tui_draw_heatmap(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r)
{
    int name_w = r->w / 3 < 28 ? r->w / 3 : 28;
    a->heat_x = r->x + name_w + 1;
    a->heat_w = r->w - name_w - 1;
    char sel[96];
    selection_title(a, sel, sizeof sel);
    mpt_rect head = {r->x, r->y, r->w, 1};
    mpt_canvas_fill(c, &head, ' ', MPT_STY_BOLD);
    mpt_canvas_printf(c, r->x, r->y, name_w, MPT_STY_BOLD, "Layer x step  %s", sel);
    if (!a->nrows || !mpt_model_nsteps(a->model)) {
        mpt_canvas_text(c, r->x + 2, r->y + 1, r->w - 2, MPT_STY_DIM, "no GEMM recorded yet");
        return;
    }
    /* the step axis follows the timeline's window (drawn just before) */
    size_t i0, i1;
    mpt_tui_timeline_bucket(a, 0, a->heat_w, &i0, &i1);
    mpt_canvas_printf(c, a->heat_x, r->y, 12, MPT_STY_BOLD, "%lld",
                      (long long)mpt_model_step(a->model, i0)->step);
    size_t last = a->win_first + a->win_span - 1;
    char lab[32];
    snprintf(lab, sizeof lab, "%lld", (long long)mpt_model_step(a->model, last)->step);
    int lx = a->win_span <= (size_t)a->heat_w ? a->heat_x + (int)a->win_span : a->heat_x + a->heat_w;
    if (lx - (int)strlen(lab) > a->heat_x + 12) mpt_canvas_rtext(c, lx, r->y, MPT_STY_BOLD, lab);
    int visible = r->h - 1, selrow = mpt_tui_row_of_layer(a, a->layer);
    scroll_to(&a->heat_top, selrow, visible, (int)a->nrows);
    for (int i = 0; i < visible && a->heat_top + i < (int)a->nrows; i++) {
        const mpt_tui_row *row = &a->rows[a->heat_top + i];
        int y = r->y + 1 + i;
        unsigned rev = a->heat_top + i == selrow ? MPT_STY_REVERSE : 0;
        mpt_canvas_text(c, r->x, y, name_w, MPT_STY_NORMAL | rev,
                        mpt_model_layer(a->model, row->layer)->name);
        for (int col = 0; col < a->heat_w; col++) {
            mpt_tui_timeline_bucket(a, col, a->heat_w, &i0, &i1);
            if (i1 <= i0) break;
            int called;
            unsigned st = bucket_status(a, row->layer, i0, i1, &called);
            int cursor = a->step_idx >= i0 && a->step_idx < i1;
            uint32_t g = !called ? ' ' : st ? (uint32_t)mpt_tui_status_glyph(st)
                                            : mpt_canvas_glyph(c, MPT_G_DOT);
            unsigned s = called ? mpt_tui_status_style(st) : MPT_STY_DIM;
            if (called && !st) s = MPT_STY_DIM;
            mpt_canvas_set(c, a->heat_x + col, y, g, s | (cursor ? MPT_STY_REVERSE : 0));
        }
    }
}
