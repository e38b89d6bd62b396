/*
 * The detail of one layer: what the op is (entry point, shape, compute type, flags), its
 * figures at the selected step and over the run, its output's exponent histogram drawn against
 * the representable ranges of fp16, bf16 and the two fp8 formats, its history over steps, and
 * what ran between it and the previous GEMM: at the first non-finite value's layer and step,
 * the first-NaN account (its origin, the last GEMM that wrote finite values, the events in
 * between); elsewhere the kernels and copies before the layer's call at the selected step, or
 * its most recent call when the model no longer knows that one (mpt_model_layer_between).
 *
 * The histogram's x axis is binary exponents, one binade per column (more when the range is
 * wider than the screen); bars are log-scaled counts. Under it, one row per format shows what
 * a value of that binade becomes when cast: '=' normal, 's' subnormal (precision lost), '0'
 * flushed to zero, 'X' overflow to Inf/NaN. The lowest 's' binade of a format half-flushes (its
 * lower half rounds to 0 or to the smallest subnormal); the row shows it as 's'.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui/app.h"

typedef struct cursor {
    mpt_canvas *c;
    const mpt_rect *r;
    int y;
} cursor;

static int room(const cursor *k, int rows)
{
    return k->y + rows <= k->r->y + k->r->h;
}

static void op_lines(mpt_tui_app *a, cursor *k, const mpt_layer *l, const mpt_tui_row *row)
{
    char b[256], v[5][32];
    const mpt_rect *r = k->r;
    unsigned st = row ? row->status : 0;
    int x = r->x + 1;
    x += mpt_canvas_text(k->c, x, k->y, r->w - 2, mpt_tui_status_style(st) | MPT_STY_REVERSE, l->name);
    char comp[128] = "";
    for (int t = 0, n = 0; t < 32; t++)
        if (l->compute_mask & (1u << t))
            n += snprintf(comp + n, sizeof comp - (size_t)n, "%s%s", n ? "," : "",
                          mpt_compute_type_name((mpt_compute_type)t));
    snprintf(b, sizeof b, "  %s  layer %u/%u  %s m=%lld n=%lld k=%lld%s  compute %s%s%s",
             mpt_phase_name(l->phase), l->index + 1, mpt_model_nlayers(a->model), l->api,
             (long long)l->m, (long long)l->n, (long long)l->k,
             l->batch > 1 ? " batched" : "", comp[0] ? comp : "?",
             l->gemm_flags & MPT_GEMM_HAS_BIAS ? "  +bias" : "",
             l->gemm_flags & MPT_GEMM_TF32_MATH ? "  TF32 math" : "");
    mpt_canvas_text(k->c, x, k->y++, r->x + r->w - x, MPT_STY_NORMAL, b);
    if (!room(k, 2)) return;
    if (row && row->cell.calls) {
        const mpt_cell *c = &row->cell;
        char words[96];
        snprintf(b, sizeof b, " selection: [%s]  %s>%s  calls %u  absmax %s  headroom %s bits"
                 "  NaN %llu Inf %llu (inputs %llu)  underflow %s  err %s ulp",
                 mpt_tui_status_words(row->status, words, sizeof words),
                 mpt_tui_dtype_short(c->dtype_in), mpt_tui_dtype_short(c->dtype_out), c->calls,
                 c->out_count > c->out_nan + c->out_inf ? mpt_tui_fmt_num(c->out_absmax, v[0], 32) : "-",
                 mpt_tui_fmt_num(row->headroom, v[1], 32), (unsigned long long)c->out_nan,
                 (unsigned long long)c->out_inf, (unsigned long long)(c->in_nan + c->in_inf),
                 c->prec_samples ? (snprintf(v[2], 32, "%.1f%%", 100.0 * (double)c->prec_underflow /
                                                                    (double)c->prec_samples), v[2])
                                 : "-",
                 c->prec_calls ? mpt_tui_fmt_num(c->prec_max_ulp, v[3], 32) : "-");
        mpt_canvas_text(k->c, r->x, k->y++, r->w, mpt_tui_status_style(row->status), b);
    } else {
        mpt_canvas_text(k->c, r->x, k->y++, r->w, MPT_STY_DIM, " selection: not called in these steps");
    }
    const mpt_cell *t = &l->total;
    /* the quantiles come from quarter-binade bins: never show a median above the exact max */
    double up50 = mpt_layer_err_quantile(l, 1, 0.5), rp50 = mpt_layer_err_quantile(l, 0, 0.5);
    if (t->prec_calls && up50 > t->prec_max_ulp) up50 = t->prec_max_ulp;
    if (t->prec_calls && rp50 > t->prec_max_rel) rp50 = t->prec_max_rel;
    snprintf(b, sizeof b, " run: calls %u (%u full)  absmax %s  err ulp p50 %s max %s  rel p50 %s max %s",
             t->calls, t->full_calls, t->out_count ? mpt_tui_fmt_num(t->out_absmax, v[0], 32) : "-",
             mpt_tui_fmt_num(up50, v[1], 32),
             mpt_tui_fmt_num(t->prec_calls ? t->prec_max_ulp : NAN, v[2], 32),
             mpt_tui_fmt_num(rp50, v[3], 32),
             mpt_tui_fmt_num(t->prec_calls ? t->prec_max_rel : NAN, v[4], 32));
    mpt_canvas_text(k->c, r->x, k->y++, r->w, MPT_STY_NORMAL, b);
}

/* What a value in binade e becomes in format di: '=', 's', '0' or 'X'. */
static char region(const mpt_dtype_info *di, int e)
{
    if (e > di->max_exp) return 'X';
    if (e >= di->min_exp) return '=';
    if (e >= di->min_exp - di->man_bits - 1) return 's';
    return '0';
}

static void histogram(cursor *k, const mpt_layer *l, int bars_h)
{
    mpt_canvas *c = k->c;
    const mpt_rect *r = k->r;
    const mpt_stats *s = &l->out_full;
    char b[160], n1[16], n2[16], n3[16], n4[16];
    if (!s->count) {
        mpt_canvas_text(c, r->x + 1, k->y++, r->w - 2, MPT_STY_DIM,
                        "no full statistics for this layer yet: the exponent histogram comes from "
                        "the steps mptrace measured in full");
        return;
    }
    int lo_d = 127, hi_d = -126;
    for (int e = MPT_HIST_MIN_EXP; e <= MPT_HIST_MAX_EXP; e++)
        if (s->hist[mpt_hist_bucket_of_exp(e)]) {
            if (e < lo_d) lo_d = e;
            if (e > hi_d) hi_d = e;
        }
    int lo = (lo_d < -24 ? lo_d : -24) - 1, hi = (hi_d > 15 ? hi_d : 15) + 1;
    if (lo < MPT_HIST_MIN_EXP) lo = MPT_HIST_MIN_EXP;
    if (hi > MPT_HIST_MAX_EXP) hi = MPT_HIST_MAX_EXP;
    int x0 = r->x + 6, w = r->w - 7;
    int per = (hi - lo + 1 + w - 1) / w; /* binades per column */
    int ncol = (hi - lo + 1 + per - 1) / per;
    snprintf(b, sizeof b, "output exponent histogram over the run (%s values, full statistics; log counts)",
             mpt_tui_fmt_count(s->count, n1, sizeof n1));
    mpt_canvas_text(c, r->x + 1, k->y++, r->w - 2, MPT_STY_BOLD, b);
    double maxc = 0;
    for (int col = 0; col < ncol; col++) {
        double sum = 0;
        for (int e = lo + col * per; e < lo + (col + 1) * per && e <= hi; e++)
            sum += (double)s->hist[mpt_hist_bucket_of_exp(e)];
        if (sum > maxc) maxc = sum;
    }
    mpt_rect plot = {x0, k->y, ncol, bars_h};
    for (int col = 0; col < ncol && maxc > 0; col++) {
        double sum = 0;
        for (int e = lo + col * per; e < lo + (col + 1) * per && e <= hi; e++)
            sum += (double)s->hist[mpt_hist_bucket_of_exp(e)];
        if (sum <= 0) continue;
        int eighths = mpt_tui_plot_eighths(log10(sum + 1), 0, log10(maxc + 1), bars_h);
        for (int y = bars_h - 1; y >= 0 && eighths > 0; y--, eighths -= 8)
            mpt_canvas_set(c, x0 + col, plot.y + y, mpt_canvas_bar(c, eighths > 8 ? 8 : eighths),
                           MPT_STY_PLOT);
    }
    k->y += bars_h;
    /* axis: 2^e labels every 8 binades */
    mpt_canvas_text(c, r->x + 1, k->y, 5, MPT_STY_DIM, "2^e");
    for (int col = 0; col < ncol; col++) {
        int e = lo + col * per;
        if (((e % 8) + 8) % 8 >= per) continue;
        snprintf(b, sizeof b, "%d", e - ((e % 8) + 8) % 8);
        if (x0 + col + (int)strlen(b) <= r->x + r->w) mpt_canvas_text(c, x0 + col, k->y, -1, MPT_STY_DIM, b);
    }
    k->y++;
    static const mpt_dtype fmts[4] = {MPT_DT_F16, MPT_DT_BF16, MPT_DT_E4M3, MPT_DT_E5M2};
    for (int f = 0; f < 4 && room(k, 1); f++, k->y++) {
        const mpt_dtype_info *di = mpt_dtype_get_info(fmts[f]);
        mpt_canvas_text(c, r->x + 1, k->y, 5, MPT_STY_BOLD, mpt_tui_dtype_short(fmts[f]));
        for (int col = 0; col < ncol; col++) {
            char g = region(di, lo + col * per + per / 2);
            unsigned sty = g == 'X' ? MPT_STY_BAD : g == 's' ? MPT_STY_WARN : g == '0' ? MPT_STY_INFO : MPT_STY_OK;
            mpt_canvas_set(c, x0 + col, k->y, (uint32_t)g, sty);
        }
    }
    if (!room(k, 1)) return;
    snprintf(b, sizeof b, "zeros %s  fp32-subnormal %s  Inf %s  NaN %s   ('=' normal, 's' subnormal, "
             "'0' flushed, 'X' overflow)",
             mpt_tui_fmt_count(s->hist[MPT_HIST_ZERO], n1, sizeof n1),
             mpt_tui_fmt_count(s->hist[MPT_HIST_SUBNORMAL], n2, sizeof n2),
             mpt_tui_fmt_count(s->hist[MPT_HIST_INF], n3, sizeof n3),
             mpt_tui_fmt_count(s->hist[MPT_HIST_NAN], n4, sizeof n4));
    mpt_canvas_text(c, r->x + 1, k->y++, r->w - 2, MPT_STY_DIM, b);
}

/* log2 absmax of the layer per bucket of the timeline's window: its history over steps. */
static void history(mpt_tui_app *a, cursor *k, uint32_t li)
{
    const mpt_rect *r = k->r;
    int w = r->w - 15;
    mpt_tui_ring ring;
    if (w < 4 || !mpt_model_nsteps(a->model) || mpt_tui_ring_init(&ring, w) != 0) return;
    for (int col = 0; col < w; col++) {
        size_t i0, i1;
        mpt_tui_timeline_bucket(a, col, w, &i0, &i1);
        if (i1 <= i0) break;
        int64_t c0 = mpt_model_col_of_step(a->model, mpt_model_step(a->model, i0)->step);
        int64_t c1 = mpt_model_col_of_step(a->model, mpt_model_step(a->model, i1 - 1)->step);
        mpt_cell m;
        mpt_cell_init(&m);
        for (int64_t cc = c0; cc >= 0 && cc <= c1; cc++)
            mpt_cell_merge(&m, mpt_model_cell(a->model, li, (uint32_t)cc));
        int nf = m.out_nan || m.out_inf;
        int valid = m.calls && m.out_count && (m.out_absmax > 0 || nf);
        mpt_tui_ring_push(&ring, nf ? NAN : log2(m.out_absmax), valid, 0);
    }
    double lo = 0, hi = 1;
    mpt_tui_ring_range(&ring, &lo, &hi);
    mpt_canvas_text(k->c, r->x + 1, k->y, 14, MPT_STY_DIM, "log2 |max| ");
    mpt_tui_plot_spark(k->c, r->x + 15, k->y, w, &ring, lo, hi, MPT_STY_PLOT, MPT_STY_NONFINITE);
    k->y++;
    mpt_tui_ring_free(&ring);
}

static void nf_origin(mpt_tui_app *a, cursor *k, uint32_t li)
{
    if (!a->an || !a->an->have_nf || a->an->nf.layer != li || !room(k, 1)) return;
    const mpt_first_nonfinite *nf = &a->an->nf;
    char b[256];
    const mpt_layer *prev = nf->have_prev ? mpt_model_layer(a->model, nf->prev_layer) : NULL;
    snprintf(b, sizeof b, "first NaN/Inf of the run: step %lld, tensor %s, %s%s%s; %llu events since",
             (long long)nf->step, mpt_tensor_role_name(nf->tensor),
             nf->origin == MPT_NF_PRODUCED ? "produced here" : nf->origin == MPT_NF_INPUT ? "came in through an input" : "origin unknown",
             prev ? "; last finite GEMM: " : "", prev ? prev->name : "",
             (unsigned long long)nf->n_between_total);
    mpt_canvas_text(k->c, k->r->x + 1, k->y++, k->r->w - 2, MPT_STY_NONFINITE, b);
    for (uint32_t i = 0; i < nf->n_between && room(k, 1); i++) {
        const mpt_event_ref *e = &nf->between[i];
        snprintf(b, sizeof b, "  %s %s%s%s%s", e->type == MPT_EV_KERNEL ? "kernel" : e->type == MPT_EV_MEMORY ? "copy  " : "gemm  ",
                 e->name ? e->name : "?", e->layer && *e->layer ? "  in " : "", e->layer ? e->layer : "",
                 e->nonfinite ? "  (data held NaN/Inf)" : "");
        mpt_canvas_text(k->c, k->r->x + 1, k->y++, k->r->w - 2, e->nonfinite ? MPT_STY_BAD : MPT_STY_NORMAL, b);
    }
}

/* The layer's call at the selected step (else its most recent one), for between(). */
static int between_query(mpt_tui_app *a, uint32_t li, mpt_between *b)
{
    const mpt_step *st = mpt_tui_app_step(a);
    return mpt_model_layer_between(a->model, li, st ? st->step : MPT_NO_STEP, b);
}

/* Rows the full form of between() wants: a heading, the entries, the "more" line. */
static int between_rows(int rc, const mpt_between *b)
{
    return rc < 0 ? 0 : 1 + (int)b->n + (b->unlisted ? 1 : 0);
}

/*
 * The kernels and copies between the previous GEMM and the layer's call: a heading and one
 * line per name, or (compact, for small screens) everything on one line.
 */
static void between(mpt_tui_app *a, cursor *k, int rc, const mpt_between *b, int compact)
{
    char b1[512], b2[32];
    if (rc < 0 || !room(k, 1)) return;
    const mpt_layer *prev = mpt_model_layer(a->model, b->prev_layer);
    uint64_t nk = 0, nm = 0;
    for (uint32_t i = 0; i < b->n; i++)
        *(b->ent[i].type == MPT_EV_KERNEL ? &nk : &nm) += b->ent[i].count;
    const char *since = prev ? "GEMM " : b->prev_seq ? "the previous GEMM" : "the trace's start";
    size_t n;
    if (compact && rc == 1)
        n = (size_t)snprintf(b1, sizeof b1, "before it: ");
    else if (compact)
        n = (size_t)snprintf(b1, sizeof b1, "before its last call (step %lld): ",
                             (long long)b->step);
    else if (!b->total)
        n = (size_t)snprintf(b1, sizeof b1, "nothing ran");
    else {
        char kk[40] = "", mm[40] = "";
        if (nk)
            snprintf(kk, sizeof kk, "%llu kernel%s", (unsigned long long)nk, nk == 1 ? "" : "s");
        if (nm)
            snprintf(mm, sizeof mm, "%llu cop%s", (unsigned long long)nm, nm == 1 ? "y" : "ies");
        n = (size_t)snprintf(b1, sizeof b1, "%s%s%s%s%s ran", kk, nk && nm ? ", " : "", mm,
                             b->unlisted ? (nk || nm ? " and more" : "events") : "",
                             b->complete ? "" : " (incomplete)");
    }
    if (n >= sizeof b1) n = sizeof b1 - 1;
    if (!compact)
        snprintf(b1 + n, sizeof b1 - n, " before %s call (step %lld), since %s%s",
                 rc == 1 ? "this" : "its last", (long long)b->step, since, prev ? prev->name : "");
    else if (!b->total && n < sizeof b1)
        snprintf(b1 + n, sizeof b1 - n, "nothing (GEMMs back to back)");
    for (uint32_t i = 0; compact && i < b->n && n < sizeof b1; i++) {
        int w = snprintf(b1 + n, sizeof b1 - n, "%s%s x%u", i ? ", " : "",
                         b->ent[i].name && *b->ent[i].name ? b->ent[i].name : "?", b->ent[i].count);
        n += w > 0 ? (size_t)w : 0;
    }
    if (compact && b->unlisted && n < sizeof b1) {
        int w = snprintf(b1 + n, sizeof b1 - n, ", %llu more", (unsigned long long)b->unlisted);
        n += w > 0 ? (size_t)w : 0;
    }
    if (compact && n < sizeof b1)
        snprintf(b1 + n, sizeof b1 - n, "  (since %s%s)", since, prev ? prev->name : "");
    mpt_canvas_text(k->c, k->r->x + 1, k->y++, k->r->w - 2, MPT_STY_BOLD, b1);
    for (uint32_t i = 0; !compact && i < b->n && room(k, 1); i++) {
        const mpt_between_ent *e = &b->ent[i];
        int kern = e->type == MPT_EV_KERNEL;
        snprintf(b1, sizeof b1, "  %s %s x%u%s%s%s%s%s%s", kern ? "kernel" : "copy  ",
                 e->name && *e->name ? e->name : "?", e->count, kern ? "" : "  ",
                 kern ? "" : mpt_tui_fmt_count(e->bytes, b2, sizeof b2), kern ? "" : " B",
                 e->layer && *e->layer ? "  in " : "", e->layer ? e->layer : "",
                 e->nonfinite ? "  (data held NaN/Inf)" : "");
        mpt_canvas_text(k->c, k->r->x + 1, k->y++, k->r->w - 2,
                        e->nonfinite ? MPT_STY_BAD : MPT_STY_NORMAL, b1);
    }
    if (!compact && b->unlisted && room(k, 1)) {
        snprintf(b1, sizeof b1, "  ... and %llu more event%s of other names",
                 (unsigned long long)b->unlisted, b->unlisted == 1 ? "" : "s");
        mpt_canvas_text(k->c, k->r->x + 1, k->y++, k->r->w - 2, MPT_STY_DIM, b1);
    }
}

void mpt_tui_draw_detail(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r)
{
    const mpt_layer *l = mpt_model_layer(a->model, a->layer);
    if (!l) {
        mpt_canvas_text(c, r->x + 1, r->y, r->w - 1, MPT_STY_DIM, "no layer selected");
        return;
    }
    int ri = mpt_tui_row_of_layer(a, a->layer);
    cursor k = {c, r, r->y};
    op_lines(a, &k, l, ri >= 0 ? &a->rows[ri] : NULL);
    /* the first NaN/Inf's layer at its step (or where no call of the step is known): the
     * first-NaN account; otherwise what ran before the selected call */
    mpt_between bw;
    int brc = between_query(a, a->layer, &bw);
    const mpt_step *st = mpt_tui_app_step(a);
    int nf_here = a->an && a->an->have_nf && a->an->nf.layer == a->layer &&
                  (brc != 1 || !st || st->step == a->an->nf.step);
    int fixed = 1 + 1 + 4 + 1 + 1; /* histogram title, axis, formats, specials, history */
    int bars = r->y + r->h - k.y - fixed;
    /* the full list when a histogram of 3 rows still fits beside it, else one line */
    int want = nf_here ? 0 : between_rows(brc, &bw), compact = 0;
    if (want > 1 && bars - want < 3) {
        want = 1;
        compact = 1;
    }
    if (want > 0 && bars - want >= 2) bars -= want;
    if (bars > 8) bars = 8;
    if (bars >= 2) histogram(&k, l, bars);
    if (room(&k, 1)) history(a, &k, a->layer);
    if (nf_here)
        nf_origin(a, &k, a->layer);
    else
        between(a, &k, brc, &bw, compact);
}
