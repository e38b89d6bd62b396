/*
 * The frame around the views: the whole screen's composition (mpt_tui_render), the two header
 * lines (program, pid/ranks, state; regime, steps, skips, first non-finite), the tab bar and
 * the status line. The views themselves are drawn by draw_timeline.c, draw_table.c,
 * draw_detail.c and draw_lists.c into the rectangles the layout gives them.
 *
 * The layout itself (layout.h) is a pure function of the terminal's size, at the end of this
 * file. Proportions: the timeline takes a quarter of the height (5 to 12 rows: at 80x24 that is
 * an info line, three plot rows, the scale and the markers), the log pane a fifth (5 to 12 rows,
 * only from 30 rows up: below that the log is a view of its own), the main view the rest.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/app.h"
#include "tui/layout.h"

static const char *run_state(const mpt_tui_app *a, char *buf, size_t n)
{
    if (a->child) return mpt_tui_child_state(a, buf, n);
    int nsrc = mpt_model_nsources(a->model);
    if (a->npending && !nsrc) return snprintf(buf, n, "waiting for the trace"), buf;
    if (a->loading && !a->follow) {
        char c[16];
        snprintf(buf, n, "loading %s records",
                 mpt_tui_fmt_count(mpt_model_get_totals(a->model)->records, c, sizeof c));
        return buf;
    }
    for (int i = 0; i < nsrc; i++) { /* the first source with something to say */
        const mpt_source *s = mpt_model_source(a->model, i);
        if (s->state == MPT_SOURCE_TRUNCATED || s->state == MPT_SOURCE_CORRUPT) {
            snprintf(buf, n, "%s at byte %llu", s->state == MPT_SOURCE_CORRUPT ? "corrupt" : "truncated",
                     (unsigned long long)s->error_offset);
            return buf;
        }
        if (s->state == MPT_SOURCE_FAILED) return snprintf(buf, n, "read error"), buf;
    }
    const mpt_source *s = nsrc ? mpt_model_source(a->model, 0) : NULL;
    if (!s) return snprintf(buf, n, "no trace"), buf;
    if (s->ended) {
        switch (s->end_how) {
        case MPT_END_EXIT: snprintf(buf, n, "exited %d", s->end_status); break;
        case MPT_END_SIGNAL:
        case MPT_END_FATAL_SIGNAL: snprintf(buf, n, "killed by signal %d", s->end_status); break;
        default: snprintf(buf, n, "ended (%s)", mpt_end_how_name(s->end_how)); break;
        }
        return buf;
    }
    if (s->state == MPT_SOURCE_READING) return snprintf(buf, n, "following (running)"), buf;
    return snprintf(buf, n, "no END record: killed?"), buf;
}

static const char *regime_short(mpt_regime r)
{
    switch (r) {
    case MPT_REGIME_FP32: return "fp32";
    case MPT_REGIME_TF32: return "tf32";
    case MPT_REGIME_FP16_SCALED: return "fp16+scaler";
    case MPT_REGIME_FP16_UNSCALED: return "fp16 NO scaler";
    case MPT_REGIME_BF16: return "bf16";
    case MPT_REGIME_FP8: return "fp8";
    case MPT_REGIME_FP64: return "fp64";
    default: return "unknown";
    }
}

void mpt_tui_draw_header(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r)
{
    char state[96], prog[256], pid[48];
    int nsrc = mpt_model_nsources(a->model);
    const mpt_source *s0 = nsrc ? mpt_model_source(a->model, 0) : NULL;
    const char *cmd = s0 && s0->cmdline && *s0->cmdline ? s0->cmdline
                      : a->program                      ? a->program
                      : s0                              ? s0->path
                                                        : "";
    snprintf(prog, sizeof prog, "%s", cmd);
    int pidv = a->child ? (int)a->child : s0 ? s0->pid : 0;
    if (nsrc > 1)
        snprintf(pid, sizeof pid, "%d ranks", nsrc);
    else if (s0 && s0->rank >= 0)
        snprintf(pid, sizeof pid, "pid %d rank %d", pidv, s0->rank);
    else
        snprintf(pid, sizeof pid, "pid %d", pidv);
    run_state(a, state, sizeof state);
    mpt_rect bar = {r->x, r->y, r->w, 1};
    mpt_canvas_fill(c, &bar, ' ', MPT_STY_BAR);
    int right = (int)strlen(state) + (int)strlen(pid) + 6;
    int x = r->x + mpt_canvas_text(c, r->x, r->y, -1, MPT_STY_BAR, " mptrace  ");
    mpt_canvas_text(c, x, r->y, r->w - x - right, MPT_STY_BAR, prog);
    unsigned st_sty = MPT_STY_BAR;
    if (strstr(state, "killed") || strstr(state, "corrupt") || strstr(state, "truncated"))
        st_sty = MPT_STY_BAD | MPT_STY_REVERSE;
    else if (strstr(state, "running") || strstr(state, "following") || strstr(state, "loading"))
        st_sty = MPT_STY_OK | MPT_STY_REVERSE;
    int sx = r->x + r->w - (int)strlen(state) - 1;
    mpt_canvas_text(c, sx, r->y, -1, st_sty, state);
    mpt_canvas_rtext(c, sx - 2, r->y, MPT_STY_BAR, pid);

    /* line 2: what the analysis says about the run as a whole */
    int y = r->y + 1;
    const mpt_analysis *an = a->an;
    if (!an) {
        mpt_canvas_text(c, r->x + 1, y, -1, MPT_STY_DIM, "reading the trace...");
        return;
    }
    /* the first NaN/Inf is what this line is for: the regime gets shorter before it is cut */
    char steps[64] = "", skips[32] = "", nf[192];
    if (an->have_steps)
        snprintf(steps, sizeof steps, "  steps %lld-%lld (%llu)", (long long)an->first_step,
                 (long long)an->last_step, (unsigned long long)an->nsteps);
    if (an->scaler.present)
        snprintf(skips, sizeof skips, "  skips %llu", (unsigned long long)an->scaler.skips);
    const mpt_layer *nl = an->have_nf ? mpt_model_layer(a->model, an->nf.layer) : NULL;
    if (an->have_nf && mpt_model_nsources(a->model) > 1 && an->nf.rank >= 0)
        snprintf(nf, sizeof nf, "step %lld %s (rank %d)", (long long)an->nf.step,
                 nl ? nl->name : "?", (int)an->nf.rank);
    else if (an->have_nf)
        snprintf(nf, sizeof nf, "step %lld %s", (long long)an->nf.step, nl ? nl->name : "?");
    else
        snprintf(nf, sizeof nf, "none");
    const char *regime = an->regime.description, *label = "  first NaN/Inf: ";
    int need = (int)(strlen(regime) + strlen(steps) + strlen(skips) + strlen(nf)) + 18;
    if (need > r->w) { /* shorten the rest before the layer name gets cut */
        need -= (int)strlen(regime);
        regime = regime_short(an->regime.regime);
        need += (int)strlen(regime);
    }
    char *count = strstr(steps, " (");
    if (need > r->w && count) {
        need -= (int)strlen(count);
        *count = '\0';
    }
    if (need > r->w) label = "  NaN/Inf: ";
    x = r->x + 1;
    x += mpt_canvas_text(c, x, y, r->w / 3, MPT_STY_BOLD, regime);
    x += mpt_canvas_text(c, x, y, -1, an->have_steps ? MPT_STY_NORMAL : MPT_STY_DIM,
                         an->have_steps ? steps : "  no steps yet");
    if (skips[0]) x += mpt_canvas_text(c, x, y, -1, an->scaler.skips ? MPT_STY_SKIP : MPT_STY_NORMAL, skips);
    x += mpt_canvas_text(c, x, y, -1, MPT_STY_NORMAL, label);
    mpt_canvas_text(c, x, y, r->x + r->w - x, an->have_nf ? MPT_STY_NONFINITE : MPT_STY_OK, nf);
}

static void draw_tabs(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r)
{
    static const char *const names[MPT_VIEW_COUNT] = {"Layers", "Heatmap", "Findings", "Detail",
                                                      "Log"};
    int n = a->log_path ? MPT_VIEW_COUNT : MPT_VIEW_LOG;
    int x = r->x;
    mpt_canvas_fill(c, r, ' ', MPT_STY_TAB);
    for (int v = 0; v < n; v++) {
        char label[48];
        if (v == MPT_VIEW_FINDINGS && a->an)
            snprintf(label, sizeof label, " %s (%zu) ", names[v], a->an->nfindings);
        else
            snprintf(label, sizeof label, " %s ", names[v]);
        a->tab_x[v] = x;
        x += mpt_canvas_text(c, x, r->y, -1, v == (int)a->view ? MPT_STY_TAB_ON : MPT_STY_TAB, label);
        x++;
    }
    a->tab_x[n] = x;
    char right[96] = "";
    if (a->editing)
        snprintf(right, sizeof right, "filter: %s_ ", a->edit);
    else if (a->filter[0])
        snprintf(right, sizeof right, "filter: %s  sort: %s ", a->filter, mpt_tui_sort_name(a->sort));
    else
        snprintf(right, sizeof right, "sort: %s ", mpt_tui_sort_name(a->sort));
    if (x + (int)strlen(right) < r->x + r->w)
        mpt_canvas_rtext(c, r->x + r->w, r->y, a->editing ? MPT_STY_BOLD : MPT_STY_TAB, right);
}

static void draw_status(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r)
{
    mpt_canvas_fill(c, r, ' ', MPT_STY_BAR);
    if (a->msg[0]) {
        mpt_canvas_text(c, r->x + 1, r->y, r->w - 1, MPT_STY_BAR, a->msg);
        return;
    }
    if (a->open_error && a->npending) {
        mpt_canvas_text(c, r->x + 1, r->y, r->w - 1, MPT_STY_BAR, a->open_error);
        return;
    }
    /* the longest list of keys that fits (arrows are one cell each) */
    static const char *const uni[] = {
        "q quit  ? help  Tab view  \xe2\x86\x90\xe2\x86\x92 step  \xe2\x86\x91\xe2\x86\x93 layer  "
        "Enter detail  f first NaN/Inf  n/N anomaly  v range  s sort  / filter",
        "q quit  ? help  Tab view  \xe2\x86\x90\xe2\x86\x92 step  \xe2\x86\x91\xe2\x86\x93 layer  "
        "Enter detail  f first NaN  n/N anomaly  s sort  / filter",
        "q quit ? help Tab view f first-NaN n/N anomaly s sort / filter"};
    static const char *const ascii[] = {
        "q quit  ? help  Tab view  <-/-> step  up/down layer  Enter detail  f first NaN/Inf  "
        "n/N anomaly  v range  s sort  / filter",
        "q quit  ? help  Tab view  <-/-> step  Enter detail  f first NaN  n/N anomaly  s sort  "
        "/ filter",
        "q quit ? help Tab view f first-NaN n/N anomaly s sort / filter"};
    const char *const *set = c->unicode ? uni : ascii;
    const char *k = set[2];
    for (int i = 0; i < 2; i++) {
        int cells = 0;
        for (const unsigned char *p = (const unsigned char *)set[i]; *p; p++)
            cells += (*p & 0xc0) != 0x80;
        if (cells + 2 <= r->w) {
            k = set[i];
            break;
        }
    }
    mpt_canvas_text(c, r->x + 1, r->y, r->w - 1, MPT_STY_BAR, k);
}

void mpt_tui_render(mpt_tui_app *a, mpt_canvas *c)
{
    mpt_canvas_clear(c);
    unsigned flags = a->log_path ? MPT_LAYOUT_LOG : 0;
    mpt_tui_layout_compute(c->w, c->h, flags, &a->lay);
    const mpt_tui_layout *l = &a->lay;
    if (!l->ok) {
        char m[96];
        snprintf(m, sizeof m, "terminal %dx%d is too small: mptrace tui needs %dx%d", c->w, c->h,
                 MPT_TUI_MIN_COLS, MPT_TUI_MIN_ROWS);
        for (int y = 0; y < c->h; y++)
            if (y == c->h / 2) mpt_canvas_text(c, 0, y, c->w, MPT_STY_BOLD, m);
        return;
    }
    mpt_tui_rows_build(a);
    mpt_tui_draw_header(a, c, &l->header);
    mpt_tui_draw_timeline(a, c, &l->timeline);
    draw_tabs(a, c, &l->tabs);
    switch (a->view) {
    case MPT_VIEW_LAYERS: mpt_tui_draw_layers(a, c, &l->main); break;
    case MPT_VIEW_HEATMAP: mpt_tui_draw_heatmap(a, c, &l->main); break;
    case MPT_VIEW_FINDINGS: mpt_tui_draw_findings(a, c, &l->main); break;
    case MPT_VIEW_DETAIL: mpt_tui_draw_detail(a, c, &l->main); break;
    case MPT_VIEW_LOG: mpt_tui_draw_log(a, c, &l->main); break;
    default: break;
    }
    if (l->log.h) {
        mpt_rect hdr = {l->log.x, l->log.y, l->log.w, 1};
        mpt_canvas_fill(c, &hdr, mpt_canvas_glyph(c, MPT_G_HLINE), MPT_STY_DIM);
        mpt_canvas_printf(c, 2, l->log.y, -1, MPT_STY_DIM, " program output: %s ", a->log_path);
        mpt_rect body = {l->log.x, l->log.y + 1, l->log.w, l->log.h - 1};
        int back = a->log_back;
        a->log_back = 0; /* the pane always shows the newest lines */
        mpt_tui_draw_log(a, c, &body);
        a->log_back = back;
    }
    draw_status(a, c, &l->status);
    if (a->help) mpt_tui_draw_help(a, c, &l->main);
}

/* ---- the layout: rectangles from the terminal's size ----------------------------------------- */

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static mpt_rect band(int y, int w, int h)
{
    mpt_rect r = {0, y, w, h};
    return r;
}

void mpt_tui_layout_compute(int cols, int rows, unsigned flags, mpt_tui_layout *out)
{
    static const mpt_rect none;
    out->cols = cols;
    out->rows = rows;
    out->header = out->timeline = out->tabs = out->main = out->log = out->status = none;
    if (cols < MPT_TUI_MIN_COLS || rows < MPT_TUI_MIN_ROWS) {
        out->ok = 0;
        if (cols > 0 && rows > 0) out->status = band(rows - 1, cols, 1);
        return;
    }
    out->ok = 1;
    int header = 2, tabs = 1, status = 1;
    int timeline = clamp(rows / 4, 5, 12);
    int log = (flags & MPT_LAYOUT_LOG) && rows >= 30 ? clamp(rows / 5, 5, 12) : 0;
    int main = rows - header - timeline - tabs - log - status;
    int y = 0;
    out->header = band(y, cols, header);
    y += header;
    out->timeline = band(y, cols, timeline);
    y += timeline;
    out->tabs = band(y, cols, tabs);
    y += tabs;
    out->main = band(y, cols, main);
    y += main;
    if (log) out->log = band(y, cols, log);
    y += log;
    out->status = band(y, cols, status);
}

int mpt_rect_contains(const mpt_rect *r, int x, int y)
{
    return x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;
}
