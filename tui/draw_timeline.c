/*
 * The timeline: the loss over steps as a column chart, the loss scale (log2) as a sparkline,
 * and a markers line (N non-finite, ^ loss spike, x skipped step), with the selected step as a
 * reverse-video column and an info line about it on top.
 *
 * The window: the plot shows `span` consecutive steps (all of them at zoom 0, half per '+'),
 * one step per column when they fit, else buckets of steps per column. A bucket's loss is the
 * largest finite loss in it (a spike is never averaged away) and a NaN anywhere in it marks
 * the whole bucket; a bucket without a loss report is a gap, not a zero. The window follows the
 * selected step, and the newest step while following a live run.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/app.h"

#define TL_NF     1u /* a GEMM output or the loss went non-finite */
#define TL_SPIKE  2u /* the analysis called a loss spike */
#define TL_SKIP   4u /* the step was skipped (by the program's mark or mptrace's inference) */
#define TL_CURSOR 8u
#define TL_RANGE  16u

#define LABEL_W 8 /* the value labels left of the plot */

/* Sets the window so the selected step is visible. */
static void window(mpt_tui_app *a)
{
    size_t n = mpt_model_nsteps(a->model);
    size_t span = a->zoom < 62 ? n >> a->zoom : 0;
    size_t min = n < 8 ? n : 8;
    if (span < min) span = min;
    size_t first = a->win_first;
    if (a->follow_tail || first + span > n) first = n - span;
    if (a->step_idx < first || a->step_idx >= first + span) {
        size_t half = span / 2;
        first = a->step_idx > half ? a->step_idx - half : 0;
        if (first + span > n) first = n - span;
    }
    a->win_first = first;
    a->win_span = span;
}

void mpt_tui_timeline_bucket(const mpt_tui_app *a, int col, int width, size_t *i0, size_t *i1)
{
    size_t span = a->win_span, first = a->win_first;
    *i0 = *i1 = first;
    if (col < 0 || width <= 0 || !span) return;
    if (span <= (size_t)width) { /* a short run: each step gets width/span columns */
        size_t per = (size_t)width / span, i = (size_t)col / per;
        if (i < span) {
            *i0 = first + i;
            *i1 = *i0 + 1;
        }
        return;
    }
    *i0 = first + (size_t)col * span / (size_t)width;
    *i1 = first + ((size_t)col + 1) * span / (size_t)width;
}

/* One bucket's loss, scale and marks. */
static void bucket(const mpt_tui_app *a, size_t i0, size_t i1, mpt_tui_ring *loss,
                   mpt_tui_ring *scale)
{
    double lv = -INFINITY, sv = INFINITY;
    int lvalid = 0, svalid = 0, lnf = 0;
    unsigned fl = 0;
    size_t s0, s1;
    mpt_tui_selection(a, &s0, &s1);
    for (size_t i = i0; i < i1; i++) {
        const mpt_step *s = mpt_model_step(a->model, i);
        if (s->has & MPT_STEP_HAS_LOSS) {
            lvalid = 1;
            if (!isfinite(s->loss))
                lnf = 1;
            else if (s->loss > lv)
                lv = s->loss;
        }
        if ((s->has & MPT_STEP_HAS_SCALE) && s->scale > 0 && isfinite(s->scale)) {
            svalid = 1;
            if (s->scale < sv) sv = s->scale;
        }
        if (s->nonfinite_gemms || lnf) fl |= TL_NF;
        if (s->skip == 1 || s->skip_inferred == 1) fl |= TL_SKIP;
        if (mpt_tui_spike_at(a, s->step)) fl |= TL_SPIKE;
        if (i == a->step_idx) fl |= TL_CURSOR;
        if (a->range_anchor >= 0 && i >= s0 && i <= s1) fl |= TL_RANGE;
    }
    mpt_tui_ring_push(loss, lnf ? NAN : lv, lvalid, fl);
    mpt_tui_ring_push(scale, svalid ? log2(sv) : NAN, svalid, fl);
}

/* The selected step in words; returns the column after the text. */
static int info_line(mpt_tui_app *a, mpt_canvas *c, int x, int y, int w)
{
    const mpt_step *s = mpt_tui_app_step(a);
    char v[32], buf[160];
    if (!s) {
        return x + mpt_canvas_text(c, x, y, w, MPT_STY_DIM, "loss: no steps yet");
    }
    x += mpt_canvas_printf(c, x, y, w, MPT_STY_BOLD, "step %lld", (long long)s->step);
    if (a->range_anchor >= 0) {
        const mpt_step *o = mpt_model_step(a->model, (size_t)a->range_anchor);
        x += mpt_canvas_printf(c, x, y, -1, MPT_STY_BOLD, " (range from %lld)", (long long)o->step);
    }
    if (s->has & MPT_STEP_HAS_LOSS)
        x += mpt_canvas_printf(c, x, y, -1, isfinite(s->loss) ? MPT_STY_NORMAL : MPT_STY_NONFINITE,
                               "  loss %s", mpt_tui_fmt_val(s->loss, v, sizeof v));
    else
        x += mpt_canvas_text(c, x, y, -1, MPT_STY_DIM, "  loss -");
    if (s->has & MPT_STEP_HAS_SCALE)
        x += mpt_canvas_printf(c, x, y, -1, MPT_STY_SCALE, "  scale 2^%s",
                               mpt_tui_fmt_num(s->scale > 0 ? log2(s->scale) : NAN, v, sizeof v));
    if (s->skip == 1 || s->skip_inferred == 1)
        x += mpt_canvas_text(c, x, y, -1, MPT_STY_SKIP, s->skip == 1 ? "  SKIPPED" : "  skip (inferred)");
    if (s->nonfinite_gemms) {
        const mpt_layer *l = mpt_model_layer(a->model, s->first_nf_layer);
        snprintf(buf, sizeof buf, "  NaN/Inf in %u GEMMs, first %s", s->nonfinite_gemms,
                 l ? l->name : "?");
        x += mpt_canvas_text(c, x, y, -1, MPT_STY_NONFINITE, buf);
    }
    const mpt_spike *sp = mpt_tui_spike_at(a, s->step);
    if (sp && isfinite(sp->value))
        x += mpt_canvas_printf(c, x, y, -1, MPT_STY_WARN, "  spike %.1f MADs", sp->score);
    return x;
}

void mpt_tui_draw_timeline(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r)
{
    int w = r->w - LABEL_W - 1;
    a->plot_x = r->x + LABEL_W + 1;
    a->plot_w = w;
    int info_end = info_line(a, c, r->x + 1, r->y, r->w - 1);
    size_t n = mpt_model_nsteps(a->model);
    if (!n || w < 4) return;
    window(a);
    char right[64];
    snprintf(right, sizeof right, " steps %lld-%lld%s ",
             (long long)mpt_model_step(a->model, a->win_first)->step,
             (long long)mpt_model_step(a->model, a->win_first + a->win_span - 1)->step,
             a->zoom ? " (zoomed)" : "");
    if (info_end + (int)strlen(right) <= r->x + r->w) /* the step's own words come first */
        mpt_canvas_rtext(c, r->x + r->w, r->y, MPT_STY_DIM, right);

    mpt_tui_ring loss, scale;
    if (mpt_tui_ring_init(&loss, w) != 0) return;
    if (mpt_tui_ring_init(&scale, w) != 0) {
        mpt_tui_ring_free(&loss);
        return;
    }
    for (int col = 0; col < w; col++) {
        size_t i0, i1;
        mpt_tui_timeline_bucket(a, col, w, &i0, &i1);
        if (i1 <= i0) break;
        bucket(a, i0, i1, &loss, &scale);
    }
    int plot_h = r->h - 3;
    mpt_rect plot = {a->plot_x, r->y + 1, w, plot_h};
    double lo = 0, hi = 1, slo = 0, shi = 1;
    char v[32];
    if (mpt_tui_ring_range(&loss, &lo, &hi)) {
        mpt_canvas_rtext(c, r->x + LABEL_W, plot.y, MPT_STY_DIM, mpt_tui_fmt_num(hi, v, sizeof v));
        mpt_canvas_rtext(c, r->x + LABEL_W, plot.y + plot_h - 1, MPT_STY_DIM,
                         mpt_tui_fmt_num(lo, v, sizeof v));
    }
    if (plot_h >= 3) mpt_canvas_text(c, r->x + 1, plot.y + plot_h / 2, LABEL_W - 1, MPT_STY_DIM, "loss");
    mpt_tui_plot_bars(c, &plot, &loss, lo, hi, MPT_STY_PLOT, MPT_STY_NONFINITE);
    int sy = plot.y + plot_h, my = sy + 1;
    mpt_canvas_text(c, r->x + 1, sy, LABEL_W - 1, MPT_STY_DIM, "scale");
    if (mpt_tui_ring_range(&scale, &slo, &shi)) {
        if (shi - slo < 1) slo = shi - 1; /* a constant scale draws as a half bar, not noise */
        mpt_tui_plot_spark(c, a->plot_x, sy, w, &scale, slo, shi, MPT_STY_SCALE, MPT_STY_BAD);
    } else {
        mpt_canvas_text(c, a->plot_x, sy, w, MPT_STY_DIM, "(no loss scale reported)");
    }
    mpt_canvas_text(c, r->x + 1, my, LABEL_W - 1, MPT_STY_DIM, "marks");
    for (int col = 0; col < loss.n; col++) {
        unsigned fl = mpt_tui_ring_at(&loss, col)->flags;
        int x = a->plot_x + col;
        if (fl & TL_NF)
            mpt_canvas_set(c, x, my, 'N', MPT_STY_NONFINITE);
        else if (fl & TL_SPIKE)
            mpt_canvas_set(c, x, my, '^', MPT_STY_WARN);
        else if (fl & TL_SKIP)
            mpt_canvas_set(c, x, my, 'x', MPT_STY_SKIP);
        else if (fl & TL_CURSOR)
            mpt_canvas_set(c, x, my, mpt_canvas_glyph(c, MPT_G_UP), MPT_STY_BOLD);
        if (fl & TL_RANGE) mpt_canvas_style(c, x, my, 1, MPT_STY_BOLD | MPT_STY_REVERSE);
        if (fl & TL_CURSOR) {
            for (int y = plot.y; y <= my; y++) {
                unsigned st = c->sty[(size_t)y * (size_t)c->w + (size_t)x] & MPT_STY_MASK;
                mpt_canvas_style(c, x, y, 1, (st ? st : MPT_STY_NORMAL) | MPT_STY_REVERSE);
            }
        }
    }
    mpt_tui_ring_free(&loss);
    mpt_tui_ring_free(&scale);
}
