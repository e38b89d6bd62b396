/*
 * Keys and mouse: what each does to the TUI's state (app.h). No curses here: term.c translates
 * the terminal's keys into MPT_KEY_* codes, so the whole interaction is testable and
 * benchmarkable without a terminal. docs/tui.md lists every key.
 *
 * Everywhere: Tab/BTab views, Left/Right (h/l) step, [ ] ten steps, { } first/last step
 * ('}' also resumes following the newest step), n/N next/previous anomaly, f first non-finite,
 * v mark a step range, +/- zoom the timeline, s sort, / filter, ? help, q quit.
 * Lists (layers, heat map rows, findings, log): Up/Down (k/j), PgUp/PgDn, Home/End, Enter.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/app.h"

static int page(const mpt_tui_app *a)
{
    int h = a->lay.ok ? a->lay.main.h - 2 : 10;
    return h > 1 ? h : 1;
}

static void step_to(mpt_tui_app *a, long idx)
{
    long n = (long)mpt_model_nsteps(a->model);
    if (!n) return;
    if (idx < 0) idx = 0;
    if (idx >= n) idx = n - 1;
    a->step_idx = (size_t)idx;
    a->follow_tail = 0;
}

/* Moves the layer selection by `delta` rows of the table (or to row `to` when delta is 0). */
static void layer_move(mpt_tui_app *a, int delta, int to)
{
    mpt_tui_rows_build(a);
    if (!a->nrows) return;
    int i = mpt_tui_row_of_layer(a, a->layer);
    i = delta ? (i < 0 ? 0 : i + delta) : to;
    if (i < 0) i = 0;
    if (i >= (int)a->nrows) i = (int)a->nrows - 1;
    a->layer = a->rows[i].layer;
}

void mpt_tui_jump(mpt_tui_app *a, int64_t step, uint32_t layer)
{
    a->range_anchor = -1;
    if (step != MPT_NO_STEP && mpt_tui_app_select_step(a, step) != 0)
        snprintf(a->msg, sizeof a->msg, "step %lld is not in the trace", (long long)step);
    if (step != MPT_NO_STEP) a->follow_tail = 0;
    if (layer == MPT_NO_LAYER || layer >= mpt_model_nlayers(a->model)) return;
    a->layer = layer;
    if (a->filter[0]) {
        mpt_tui_rows_build(a);
        if (mpt_tui_row_of_layer(a, layer) < 0) {
            a->filter[0] = '\0'; /* the layer asked for must be visible */
            snprintf(a->msg, sizeof a->msg, "filter cleared to show %s",
                     mpt_model_layer(a->model, layer)->name);
        }
    }
}

static void first_nonfinite(mpt_tui_app *a)
{
    if (!a->an || !a->an->have_nf) {
        snprintf(a->msg, sizeof a->msg, "no NaN or Inf in this run%s",
                 a->loading || a->follow ? " (so far)" : "");
        return;
    }
    const mpt_first_nonfinite *nf = &a->an->nf;
    mpt_tui_jump(a, nf->step, nf->layer);
    if (a->view == MPT_VIEW_FINDINGS || a->view == MPT_VIEW_LOG) a->view = MPT_VIEW_LAYERS;
    const mpt_layer *l = mpt_model_layer(a->model, nf->layer);
    snprintf(a->msg, sizeof a->msg, "first non-finite: step %lld, %s (%s %s)",
             (long long)nf->step, l ? l->name : "?", mpt_tensor_role_name(nf->tensor),
             nf->origin == MPT_NF_PRODUCED ? "produced it"
             : nf->origin == MPT_NF_INPUT  ? "got it from an input"
                                           : "origin unknown");
}

static void anomaly(mpt_tui_app *a, int dir)
{
    long n = (long)mpt_model_nsteps(a->model);
    for (long i = (long)a->step_idx + dir; i >= 0 && i < n; i += dir) {
        if (!mpt_tui_step_is_anomaly(a, (size_t)i)) continue;
        const mpt_step *s = mpt_model_step(a->model, (size_t)i);
        const mpt_spike *sp = mpt_tui_spike_at(a, s->step);
        uint32_t layer = s->first_nf_layer != MPT_NO_LAYER && s->nonfinite_gemms ? s->first_nf_layer
                         : sp && sp->n_moved                                  ? sp->moved[0]
                                                                              : MPT_NO_LAYER;
        mpt_tui_jump(a, s->step, layer);
        snprintf(a->msg, sizeof a->msg, "step %lld:%s%s%s%s", (long long)s->step,
                 s->nonfinite_gemms ? " NaN/Inf in GEMM outputs" : "",
                 s->skip == 1 || s->skip_inferred == 1 ? " skipped" : "",
                 (s->has & MPT_STEP_HAS_LOSS) && !isfinite(s->loss) ? " loss non-finite" : "",
                 sp && isfinite(sp->value) ? " loss spike" : "");
        return;
    }
    snprintf(a->msg, sizeof a->msg, "no anomaly %s step %lld", dir > 0 ? "after" : "before",
             mpt_tui_app_step(a) ? (long long)mpt_tui_app_step(a)->step : 0LL);
}

static int nviews(const mpt_tui_app *a)
{
    return a->log_path ? MPT_VIEW_COUNT : MPT_VIEW_LOG; /* the log view only in live mode */
}

static void list_move(int *sel, int n, int key, int pg)
{
    switch (key) {
    case MPT_KEY_UP: case 'k': (*sel)--; break;
    case MPT_KEY_DOWN: case 'j': (*sel)++; break;
    case MPT_KEY_PGUP: *sel -= pg; break;
    case MPT_KEY_PGDN: *sel += pg; break;
    case MPT_KEY_HOME: *sel = 0; break;
    case MPT_KEY_END: *sel = n - 1; break;
    default: break;
    }
    if (*sel >= n) *sel = n - 1;
    if (*sel < 0) *sel = 0;
}

static void filter_key(mpt_tui_app *a, int key)
{
    size_t len = strlen(a->edit);
    if (key == MPT_KEY_ENTER) {
        a->editing = 0;
    } else if (key == MPT_KEY_ESC || key == MPT_KEY_CTRL_C) {
        a->editing = 0;
        a->edit[0] = '\0';
    } else if (key == MPT_KEY_BACKSPACE) {
        while (len && ((unsigned char)a->edit[len - 1] & 0xc0) == 0x80)
            len--; /* a whole UTF-8 character */
        if (len) a->edit[len - 1] = '\0';
    } else if (key >= 0x20 && key < 0x110000 && key != 0x7f) {
        char u[4];
        int k = mpt_utf8_encode((uint32_t)key, u);
        if (len + (size_t)k < sizeof a->edit) {
            memcpy(a->edit + len, u, (size_t)k);
            a->edit[len + (size_t)k] = '\0';
        }
    }
    snprintf(a->filter, sizeof a->filter, "%s", a->edit); /* the table follows as you type */
}

static int view_key(mpt_tui_app *a, int key)
{
    int pg = page(a);
    switch (a->view) {
    case MPT_VIEW_LAYERS:
    case MPT_VIEW_HEATMAP:
        switch (key) {
        case MPT_KEY_UP: case 'k': layer_move(a, -1, 0); return 1;
        case MPT_KEY_DOWN: case 'j': layer_move(a, 1, 0); return 1;
        case MPT_KEY_PGUP: layer_move(a, -pg, 0); return 1;
        case MPT_KEY_PGDN: layer_move(a, pg, 0); return 1;
        case MPT_KEY_HOME: layer_move(a, 0, 0); return 1;
        case MPT_KEY_END: layer_move(a, 0, 1 << 30); return 1;
        case MPT_KEY_ENTER:
            a->back_view = a->view;
            a->view = MPT_VIEW_DETAIL;
            return 1;
        }
        return 0;
    case MPT_VIEW_DETAIL:
        switch (key) {
        case MPT_KEY_UP: case 'k': layer_move(a, -1, 0); return 1;
        case MPT_KEY_DOWN: case 'j': layer_move(a, 1, 0); return 1;
        case MPT_KEY_ENTER: case MPT_KEY_ESC: case MPT_KEY_BACKSPACE:
            a->view = a->back_view == MPT_VIEW_DETAIL ? MPT_VIEW_LAYERS : a->back_view;
            return 1;
        }
        return 0;
    case MPT_VIEW_FINDINGS: {
        int n = a->an ? (int)a->an->nfindings : 0;
        if (key == MPT_KEY_ENTER) {
            if (a->find_sel < n) {
                const mpt_finding *f = &a->an->findings[a->find_sel];
                mpt_tui_jump(a, f->step, f->layer);
                a->view = MPT_VIEW_LAYERS;
            }
            return 1;
        }
        int before = a->find_sel;
        list_move(&a->find_sel, n, key, pg);
        return a->find_sel != before || key == MPT_KEY_UP || key == MPT_KEY_DOWN;
    }
    case MPT_VIEW_LOG:
        switch (key) {
        case MPT_KEY_UP: case 'k': a->log_back++; break;
        case MPT_KEY_DOWN: case 'j': a->log_back--; break;
        case MPT_KEY_PGUP: a->log_back += pg; break;
        case MPT_KEY_PGDN: a->log_back -= pg; break;
        case MPT_KEY_HOME: a->log_back = a->log.n; break;
        case MPT_KEY_END: a->log_back = 0; break;
        default: return 0;
        }
        if (a->log_back > a->log.n) a->log_back = a->log.n;
        if (a->log_back < 0) a->log_back = 0;
        return 1;
    default: return 0;
    }
}

void mpt_tui_app_key(mpt_tui_app *a, int key)
{
    a->msg[0] = '\0';
    if (a->editing) {
        filter_key(a, key);
        return;
    }
    if (a->help) { /* any key closes the help */
        a->help = 0;
        if (key != 'q' && key != MPT_KEY_CTRL_C) return;
    }
    if (key != 'q' && key != MPT_KEY_CTRL_C) a->quit_armed = 0;
    if (view_key(a, key)) return;
    switch (key) {
    case 'q': case MPT_KEY_CTRL_C:
        if (a->child && !a->child_done && !a->quit_armed) {
            a->quit_armed = 1;
            snprintf(a->msg, sizeof a->msg,
                     "the program is still running: q again stops it (SIGTERM) and quits");
            return;
        }
        a->quit = 1;
        return;
    case '?': a->help = 1; return;
    case MPT_KEY_TAB: a->view = (mpt_tui_view)((a->view + 1) % nviews(a)); return;
    case MPT_KEY_BTAB: a->view = (mpt_tui_view)((a->view + nviews(a) - 1) % nviews(a)); return;
    case MPT_KEY_LEFT: case 'h': step_to(a, (long)a->step_idx - 1); return;
    case MPT_KEY_RIGHT: case 'l': step_to(a, (long)a->step_idx + 1); return;
    case '[': step_to(a, (long)a->step_idx - 10); return;
    case ']': step_to(a, (long)a->step_idx + 10); return;
    case '{': step_to(a, 0); return;
    case '}':
        step_to(a, (long)mpt_model_nsteps(a->model) - 1);
        a->follow_tail = 1;
        return;
    case 'f': first_nonfinite(a); return;
    case 'n': anomaly(a, 1); return;
    case 'N': anomaly(a, -1); return;
    case 'v':
        a->range_anchor = a->range_anchor >= 0 ? -1 : (long)a->step_idx;
        return;
    case '+': case '=': a->zoom = a->zoom < 30 ? a->zoom + 1 : 30; return;
    case '-': a->zoom = a->zoom > 0 ? a->zoom - 1 : 0; return;
    case 's':
        a->sort = (mpt_tui_sort)((a->sort + 1) % MPT_SORT_COUNT);
        snprintf(a->msg, sizeof a->msg, "sorted by %s", mpt_tui_sort_name(a->sort));
        return;
    case '/':
        a->editing = 1;
        snprintf(a->edit, sizeof a->edit, "%s", a->filter);
        return;
    case MPT_KEY_ESC:
        if (a->range_anchor >= 0)
            a->range_anchor = -1;
        else
            a->filter[0] = '\0';
        return;
    case MPT_KEY_ENTER:
        if (a->view != MPT_VIEW_DETAIL) {
            a->back_view = a->view;
            a->view = MPT_VIEW_DETAIL;
        }
        return;
    default: return;
    }
}

void mpt_tui_app_mouse(mpt_tui_app *a, int x, int y, int button)
{
    if (button == MPT_MOUSE_WHEEL_UP || button == MPT_MOUSE_WHEEL_DOWN) {
        int up = button == MPT_MOUSE_WHEEL_UP;
        if (mpt_rect_contains(&a->lay.timeline, x, y))
            mpt_tui_app_key(a, up ? MPT_KEY_LEFT : MPT_KEY_RIGHT);
        else
            mpt_tui_app_key(a, up ? MPT_KEY_UP : MPT_KEY_DOWN);
        return;
    }
    a->msg[0] = '\0';
    a->help = 0;
    if (mpt_rect_contains(&a->lay.tabs, x, y)) {
        for (int v = 0; v < nviews(a); v++)
            if (x >= a->tab_x[v] && x < a->tab_x[v + 1]) a->view = (mpt_tui_view)v;
        return;
    }
    if (mpt_rect_contains(&a->lay.timeline, x, y) && x >= a->plot_x && x < a->plot_x + a->plot_w) {
        size_t i0, i1;
        mpt_tui_timeline_bucket(a, x - a->plot_x, a->plot_w, &i0, &i1);
        if (i1 > i0) step_to(a, (long)i0);
        return;
    }
    if (!mpt_rect_contains(&a->lay.main, x, y)) return;
    int row = y - a->lay.main.y - 1; /* under the view's header line */
    if (a->view == MPT_VIEW_LAYERS || a->view == MPT_VIEW_HEATMAP) {
        int top = a->view == MPT_VIEW_LAYERS ? a->table_top : a->heat_top;
        mpt_tui_rows_build(a);
        if (row >= 0 && row + top < (int)a->nrows) a->layer = a->rows[row + top].layer;
        if (a->view == MPT_VIEW_HEATMAP && x >= a->heat_x && x < a->heat_x + a->heat_w) {
            size_t i0, i1;
            mpt_tui_timeline_bucket(a, x - a->heat_x, a->heat_w, &i0, &i1);
            if (i1 > i0) step_to(a, (long)i0);
        }
        if (button == MPT_MOUSE_DOUBLE) mpt_tui_app_key(a, MPT_KEY_ENTER);
    } else if (a->view == MPT_VIEW_FINDINGS && a->an) {
        if (row >= 0 && row + a->find_top < (int)a->an->nfindings) a->find_sel = row + a->find_top;
        if (button == MPT_MOUSE_DOUBLE) mpt_tui_app_key(a, MPT_KEY_ENTER);
    }
}
