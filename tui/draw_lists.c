/*
 * The list views: findings (severity, kind, step, layer, message; the selected one's message
 * and recommendation in full below the list; Enter jumps to its step and layer), the live
 * program's output, and the help overlay with every key.
 */
#include <stdio.h>
#include <string.h>

#include "tui/app.h"

/* Writes s word-wrapped into rows y.. of width w from x; at most maxrows rows. Returns rows. */
static int wrap(mpt_canvas *c, int x, int y, int w, int maxrows, unsigned sty, const char *s)
{
    int rows = 0;
    while (*s && rows < maxrows && w > 0) {
        while (*s == ' ')
            s++;
        int n = (int)strlen(s), cut = n;
        if (n > w) { /* break at the last space that fits (bytes ~ cells for ASCII text) */
            cut = w;
            for (int i = w; i > w / 2; i--)
                if (s[i] == ' ') {
                    cut = i;
                    break;
                }
        }
        char line[512];
        snprintf(line, sizeof line, "%.*s", cut < (int)sizeof line - 1 ? cut : (int)sizeof line - 1, s);
        mpt_canvas_text(c, x, y + rows, w, sty, line);
        s += cut;
        rows++;
    }
    return rows;
}

void mpt_tui_draw_findings(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r)
{
    mpt_rect head = {r->x, r->y, r->w, 1};
    mpt_canvas_fill(c, &head, ' ', MPT_STY_BOLD);
    mpt_canvas_text(c, r->x, r->y, -1, MPT_STY_BOLD, "   kind             step    layer");
    int n = a->an ? (int)a->an->nfindings : 0;
    if (!n) {
        mpt_canvas_text(c, r->x + 2, r->y + 1, r->w - 2, MPT_STY_OK,
                        a->an ? "no findings: nothing to report in this run" : "analysing...");
        return;
    }
    if (a->find_sel >= n) a->find_sel = n - 1;
    int detail = r->h >= 10 ? 4 : 0; /* rows below the list for the selected finding in full */
    int visible = r->h - 1 - detail;
    if (a->find_sel < a->find_top) a->find_top = a->find_sel;
    if (a->find_sel >= a->find_top + visible) a->find_top = a->find_sel - visible + 1;
    int name_w = r->w >= 100 ? 30 : 22;
    for (int i = 0; i < visible && a->find_top + i < n; i++) {
        const mpt_finding *f = &a->an->findings[a->find_top + i];
        int y = r->y + 1 + i;
        unsigned rev = a->find_top + i == a->find_sel ? MPT_STY_REVERSE : 0;
        unsigned sty = f->severity == MPT_SEV_ERROR     ? MPT_STY_NONFINITE
                       : f->severity == MPT_SEV_WARNING ? MPT_STY_WARN
                                                        : MPT_STY_INFO;
        if (rev) {
            mpt_rect line = {r->x, y, r->w, 1};
            mpt_canvas_fill(c, &line, ' ', MPT_STY_NORMAL | rev);
        }
        mpt_canvas_set(c, r->x + 1, y, f->severity == MPT_SEV_ERROR ? 'E' : f->severity == MPT_SEV_WARNING ? 'W' : 'i',
                       sty | rev);
        mpt_canvas_text(c, r->x + 3, y, 16, sty | rev, mpt_finding_kind_name(f->kind));
        if (f->step != MPT_NO_STEP)
            mpt_canvas_printf(c, r->x + 20, y, 7, MPT_STY_NORMAL | rev, "%lld", (long long)f->step);
        else
            mpt_canvas_text(c, r->x + 20, y, 7, MPT_STY_DIM | rev, "-");
        const mpt_layer *l = f->layer != MPT_NO_LAYER ? mpt_model_layer(a->model, f->layer) : NULL;
        mpt_canvas_text(c, r->x + 28, y, name_w, (l ? MPT_STY_NORMAL : MPT_STY_DIM) | rev, l ? l->name : "-");
        mpt_canvas_text(c, r->x + 29 + name_w, y, r->w - 29 - name_w, MPT_STY_NORMAL | rev, f->message);
    }
    if (!detail) return;
    const mpt_finding *f = &a->an->findings[a->find_sel];
    int y = r->y + r->h - detail;
    mpt_rect sep = {r->x, y, r->w, 1};
    mpt_canvas_fill(c, &sep, mpt_canvas_glyph(c, MPT_G_HLINE), MPT_STY_DIM);
    mpt_canvas_text(c, r->x + 2, y, -1, MPT_STY_DIM, " Enter: go to its step and layer ");
    int used = wrap(c, r->x + 1, y + 1, r->w - 2, 2, MPT_STY_NORMAL, f->message);
    if (f->recommendation[0]) {
        char rec[600];
        snprintf(rec, sizeof rec, "%s %s", c->unicode ? "\xe2\x86\x92" : "->", f->recommendation);
        wrap(c, r->x + 1, y + 1 + used, r->w - 2, detail - 1 - used, MPT_STY_OK, rec);
    }
}

void mpt_tui_draw_log(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r)
{
    if (!a->log_path) return;
    int n = a->log.n + (a->log.partial[0] ? 1 : 0);
    if (!n) {
        mpt_canvas_text(c, r->x + 1, r->y, r->w - 1, MPT_STY_DIM, "(no output yet)");
        return;
    }
    int last = n - 1 - a->log_back; /* the newest line shown */
    for (int i = 0; i < r->h; i++) {
        int li = last - (r->h - 1 - i);
        if (li < 0) continue;
        const char *s = li < a->log.n ? mpt_tui_log_line(a, li) : a->log.partial;
        mpt_canvas_text(c, r->x + 1, r->y + i, r->w - 1, MPT_STY_NORMAL, s ? s : "");
    }
}

static const char *const help_lines[] = {
    "Views     Tab / Shift-Tab  next / previous view (Layers, Heatmap, Findings, Detail, Log)",
    "          Enter            detail of the selected layer; in Findings: go to the finding",
    "          Esc              back from detail; clear a step range; clear the filter",
    "Steps     Left/Right h/l   previous / next step       [ ]  ten steps back / ahead",
    "          { }              first / last step (} also follows a live run again)",
    "          v                mark a step range (the table then covers it); v again: off",
    "          + -              zoom the timeline in / out",
    "Layers    Up/Down k/j      previous / next layer      PgUp/PgDn  a page",
    "          Home/End         first / last row",
    "Anomalies f                the first NaN/Inf of the run (its step and layer)",
    "          n / N            next / previous anomalous step (NaN/Inf, skip, spike)",
    "Table     s                sort: order, status, absmax, headroom, NaN/Inf, ...",
    "          /                filter layers by name (Enter keeps it, Esc drops it)",
    "Other     ?                this help          q  quit (twice if the program runs)",
    "",
    "Status    N NaN/Inf made here   n NaN/Inf passed on   O overflow   i NaN/Inf input",
    "          U underflow   P precision loss   H low headroom   F fp16 flush risk   . ok",
    "Marks     N non-finite step   ^ loss spike   x skipped step   - : not measured",
};

void mpt_tui_draw_help(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *main)
{
    (void)main;
    int n = (int)(sizeof help_lines / sizeof *help_lines);
    mpt_rect area = {0, a->lay.timeline.y, c->w, a->lay.status.y - a->lay.timeline.y};
    int w = 88 < area.w - 2 ? 88 : area.w - 2, h = n + 2 < area.h ? n + 2 : area.h;
    mpt_rect box = {area.x + (area.w - w) / 2, area.y + (area.h - h) / 2, w, h};
    mpt_canvas_fill(c, &box, ' ', MPT_STY_NORMAL);
    for (int x = box.x; x < box.x + box.w; x++) {
        mpt_canvas_set(c, x, box.y, mpt_canvas_glyph(c, MPT_G_HLINE), MPT_STY_BOLD);
        mpt_canvas_set(c, x, box.y + box.h - 1, mpt_canvas_glyph(c, MPT_G_HLINE), MPT_STY_BOLD);
    }
    mpt_canvas_text(c, box.x + 2, box.y, -1, MPT_STY_BOLD, " mptrace tui: keys (any key closes) ");
    for (int i = 0; i < n && i < h - 2; i++)
        mpt_canvas_text(c, box.x + 1, box.y + 1 + i, w - 2, i >= n - 3 ? MPT_STY_DIM : MPT_STY_NORMAL,
                        help_lines[i]);
}
