/*
 * The TUI's views and keys on a real model, without a terminal: a synthetic run with a known
 * fp16 overflow (test_tui_synth.h) is written through the trace writer, read by the analyzer,
 * and rendered into a canvas exactly as the terminal and --snapshot show it. The tests press
 * keys as a person would (f, n, N, s, /, Tab, Enter) and check what the screen then says:
 * the selected step and layer, the status glyphs, "-" for what was not measured, the sort and
 * the filter, and that every size from too small to very large renders without a stray cell.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_tui_synth.h"
#include "tests/unit/test_tui_tmux.h"
#include "tests/unit/trace_samples.h"
#include "tui/app.h"
#include "tui/term.h"

static char trace[256];
static mpt_tui_synth cfg;

static void make_trace_n(int bump, int steps, int spike)
{
    char err[600];
    mpt_tui_synth_defaults(&cfg);
    cfg.bump_step = bump;
    cfg.steps = steps;
    cfg.spike_step = spike;
    mpt_test_tmpfile(trace, sizeof trace, "tuiview");
    ck_assert_msg(mpt_tui_synth_write(&cfg, trace, err, sizeof err) == 0, "%s", err);
}

static void make_trace(int bump)
{
    make_trace_n(bump, 40, 23);
}

static void open_app(mpt_tui_app *a, const char *view)
{
    mpt_tui_opts o;
    char err[600], *paths[1] = {trace};
    mpt_tui_opts_init(&o);
    o.traces = paths;
    o.ntraces = 1;
    o.ascii = 1;
    o.view = view;
    ck_assert_msg(mpt_tui_app_init(a, &o, err, sizeof err) == 0, "%s", err);
    mpt_tui_app_load_all(a);
    ck_assert_ptr_nonnull(a->an);
}

static char *screen_row(const mpt_canvas *c, int y)
{
    static char buf[8192];
    return mpt_canvas_row(c, y, buf, sizeof buf);
}

/* The row of the canvas that contains `needle`, or -1. */
static int find_row(const mpt_canvas *c, const char *needle)
{
    for (int y = 0; y < c->h; y++)
        if (strstr(screen_row(c, y), needle)) return y;
    return -1;
}

static const char *layer_name(const mpt_tui_app *a)
{
    const mpt_layer *l = mpt_model_layer(a->model, a->layer);
    return l ? l->name : "(none)";
}

START_TEST(test_first_nonfinite_key)
{
    make_trace(-1);
    mpt_tui_app a;
    mpt_canvas c;
    open_app(&a, NULL);
    ck_assert_int_eq(mpt_canvas_init(&c, 80, 24, 0), 0);
    /* opens on the last step, first layer: f must move both */
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, cfg.steps - 1);
    mpt_tui_app_key(&a, 'f');
    char want[64];
    mpt_tui_synth_spike_layer(&cfg, want, sizeof want);
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, cfg.spike_step);
    ck_assert_str_eq(layer_name(&a), want);
    mpt_tui_render(&a, &c);
    ck_assert_msg(find_row(&c, "first NaN/Inf: step 23 fwd/blk1/mlp/up") == 1, "header: %s",
                  screen_row(&c, 1));
    ck_assert_int_ge(find_row(&c, "step 23  loss nan"), 0);
    /* the table: N where it was made, n downstream, . upstream (execution order) */
    int y = find_row(&c, " fwd/blk1/mlp/up ");
    ck_assert_int_ge(y, 0);
    ck_assert_msg(screen_row(&c, y)[0] == 'N', "%s", screen_row(&c, y));
    ck_assert(screen_row(&c, y + 1)[0] == 'n');
    ck_assert(screen_row(&c, y - 1)[0] == '.');
    /* the selected row is drawn in reverse video, and it is that one */
    ck_assert(c.sty[(size_t)y * 80 + 4] & MPT_STY_REVERSE);
    ck_assert(!(c.sty[(size_t)(y + 1) * 80 + 4] & MPT_STY_REVERSE));
    /* Enter: the detail of that layer */
    mpt_tui_app_key(&a, MPT_KEY_ENTER);
    ck_assert_int_eq(a.view, MPT_VIEW_DETAIL);
    mpt_tui_render(&a, &c);
    ck_assert_int_ge(find_row(&c, " fwd/blk1/mlp/up  fwd"), 0);
    ck_assert_int_ge(find_row(&c, "NaN/Inf out"), 0);
    mpt_tui_app_key(&a, MPT_KEY_ESC);
    ck_assert_int_eq(a.view, MPT_VIEW_LAYERS);
    mpt_canvas_free(&c);
    mpt_tui_app_free(&a);
    unlink(trace);
}
END_TEST

START_TEST(test_anomaly_keys)
{
    make_trace(10);
    mpt_tui_app a;
    open_app(&a, NULL);
    mpt_tui_app_key(&a, '{');
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, 0);
    mpt_tui_app_key(&a, 'n'); /* the finite loss spike first */
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, 10);
    mpt_tui_app_key(&a, 'n'); /* then the overflow, with its layer */
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, 23);
    ck_assert_str_eq(layer_name(&a), "fwd/blk1/mlp/up");
    mpt_tui_app_key(&a, 'n'); /* nothing after: stays, and says so */
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, 23);
    ck_assert_ptr_nonnull(strstr(a.msg, "no anomaly after"));
    mpt_tui_app_key(&a, 'N');
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, 10);
    /* steps move one at a time, ten with ], and stop at the ends */
    mpt_tui_app_key(&a, MPT_KEY_RIGHT);
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, 11);
    mpt_tui_app_key(&a, ']');
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, 21);
    for (int i = 0; i < 10; i++)
        mpt_tui_app_key(&a, ']');
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, cfg.steps - 1);
    mpt_tui_app_key(&a, '{');
    mpt_tui_app_key(&a, MPT_KEY_LEFT);
    ck_assert_int_eq(mpt_tui_app_step(&a)->step, 0);
    mpt_tui_app_free(&a);
    unlink(trace);
}
END_TEST

START_TEST(test_sort_filter)
{
    make_trace(-1);
    mpt_tui_app a;
    mpt_canvas c;
    open_app(&a, NULL);
    ck_assert_int_eq(mpt_canvas_init(&c, 100, 40, 0), 0);
    mpt_tui_app_select_step(&a, 23);
    mpt_tui_app_key(&a, 's'); /* status: the layer that made the NaN first */
    ck_assert_int_eq(a.sort, MPT_SORT_STATUS);
    mpt_tui_render(&a, &c);
    int y = find_row(&c, "Layer  step 23");
    ck_assert_int_ge(y, 0);
    ck_assert_msg(strncmp(screen_row(&c, y + 1), "N fwd/blk1/mlp/up", 17) == 0, "%s",
                  screen_row(&c, y + 1));
    ck_assert(screen_row(&c, y + 2)[0] == 'n');
    /* filter as you type: the four mlp/up layers remain, in the current order */
    mpt_tui_app_key(&a, '/');
    for (const char *p = "MLP/UP"; *p; p++)
        mpt_tui_app_key(&a, *p);
    mpt_tui_app_key(&a, MPT_KEY_ENTER);
    ck_assert(!a.editing);
    mpt_tui_render(&a, &c);
    ck_assert_uint_eq(a.nrows, 4);
    ck_assert_int_ge(find_row(&c, "filter: MLP/UP"), 0);
    ck_assert_int_eq(find_row(&c, "attn"), -1);
    /* f must show its layer even when a filter would hide it */
    mpt_tui_app_key(&a, '/');
    for (const char *p = "attn"; *p; p++)
        mpt_tui_app_key(&a, *p);
    mpt_tui_app_key(&a, MPT_KEY_ENTER);
    mpt_tui_app_key(&a, 'f');
    ck_assert_str_eq(a.filter, "");
    ck_assert_str_eq(layer_name(&a), "fwd/blk1/mlp/up");
    /* every sort order keeps every layer exactly once */
    for (int s = 0; s < MPT_SORT_COUNT; s++) {
        a.sort = (mpt_tui_sort)s;
        mpt_tui_rows_build(&a);
        ck_assert_uint_eq(a.nrows, (unsigned)mpt_tui_synth_nlayers(&cfg));
        unsigned seen = 0;
        for (uint32_t i = 0; i < a.nrows; i++)
            seen |= 1u << a.rows[i].layer;
        ck_assert_uint_eq(seen, (1u << a.nrows) - 1);
    }
    mpt_canvas_free(&c);
    mpt_tui_app_free(&a);
    unlink(trace);
}
END_TEST

/* A cheap-statistics step has no precision sample: underflow and error read "-", never 0. */
START_TEST(test_not_measured_is_not_zero)
{
    make_trace(-1);
    mpt_tui_app a;
    mpt_canvas c;
    open_app(&a, NULL);
    ck_assert_int_eq(mpt_canvas_init(&c, 80, 24, 0), 0);
    mpt_tui_app_select_step(&a, 1); /* full statistics every 5 steps: 1 is cheap only */
    mpt_tui_render(&a, &c);
    int y = find_row(&c, " fwd/blk0/attn/qkv ");
    ck_assert_int_ge(y, 0);
    const char *r = screen_row(&c, y);
    size_t n = strlen(r);
    ck_assert_msg(n > 20 && strcmp(r + n - 17, "0      -        -") == 0, "'%s'", r);
    mpt_tui_app_select_step(&a, 5); /* a full step: measured, so numbers */
    mpt_tui_render(&a, &c);
    r = screen_row(&c, find_row(&c, " fwd/blk0/attn/qkv "));
    n = strlen(r);
    ck_assert_msg(strstr(r + n - 17, "0.0") != NULL, "'%s'", r);
    mpt_canvas_free(&c);
    mpt_tui_app_free(&a);
    unlink(trace);
}
END_TEST

START_TEST(test_views_and_sizes)
{
    make_trace(10);
    mpt_tui_app a;
    open_app(&a, NULL);
    static const int sizes[][2] = {{80, 24}, {60, 16}, {59, 16}, {20, 5}, {1, 1},
                                   {133, 47}, {300, 100}, {80, 24}};
    for (int v = 0; v < MPT_VIEW_COUNT; v++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            mpt_canvas c;
            ck_assert_int_eq(mpt_canvas_init(&c, sizes[s][0], sizes[s][1], s & 1), 0);
            a.view = (mpt_tui_view)v;
            a.help = s == 6;
            mpt_tui_render(&a, &c);
            if (sizes[s][0] < MPT_TUI_MIN_COLS || sizes[s][1] < MPT_TUI_MIN_ROWS) {
                if (sizes[s][0] >= 40) ck_assert_int_ge(find_row(&c, "too small"), 0);
            } else {
                ck_assert_msg(strncmp(screen_row(&c, 0), " mptrace", 8) == 0, "view %d %dx%d", v,
                              sizes[s][0], sizes[s][1]);
                ck_assert(find_row(&c, "q quit") == c.h - 1 || find_row(&c, "q quit") == -1);
            }
            mpt_canvas_free(&c);
        }
    }
    /* Tab visits the four views of a post-mortem session (no Log without a live program) */
    a.view = MPT_VIEW_LAYERS;
    a.help = 0;
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        seen |= 1 << a.view;
        mpt_tui_app_key(&a, MPT_KEY_TAB);
    }
    ck_assert_int_eq(seen, 0xf);
    ck_assert_int_eq(a.view, MPT_VIEW_LAYERS);
    mpt_tui_app_key(&a, MPT_KEY_BTAB);
    ck_assert_int_eq(a.view, MPT_VIEW_DETAIL);
    /* findings: Enter jumps to the selected finding's step and layer */
    a.view = MPT_VIEW_FINDINGS;
    ck_assert_uint_gt(a.an->nfindings, 0);
    for (size_t i = 0; i < a.an->nfindings; i++) {
        a.view = MPT_VIEW_FINDINGS;
        a.find_sel = (int)i;
        const mpt_finding *f = &a.an->findings[i];
        mpt_tui_app_key(&a, MPT_KEY_ENTER);
        ck_assert_int_eq(a.view, MPT_VIEW_LAYERS);
        if (f->step != MPT_NO_STEP) ck_assert_int_eq(mpt_tui_app_step(&a)->step, f->step);
        if (f->layer != MPT_NO_LAYER) ck_assert_uint_eq(a.layer, f->layer);
    }
    mpt_tui_app_free(&a);
    unlink(trace);
}
END_TEST

/* The timeline of a run longer than the plot is wide: buckets of steps per column, where a
 * spike is the bucket's maximum (never averaged away) and a NaN marks its bucket; the range
 * selection covers several steps in the table. */
START_TEST(test_timeline_buckets_and_range)
{
    make_trace_n(150, 300, 200);
    mpt_tui_app a;
    mpt_canvas c;
    open_app(&a, NULL);
    ck_assert_int_eq(mpt_canvas_init(&c, 80, 24, 0), 0);
    mpt_tui_render(&a, &c);
    int marks = find_row(&c, " marks "), top = marks - 2 - (a.lay.timeline.h - 3) + 1;
    ck_assert_int_ge(marks, 0);
    char m[256], t[256];
    snprintf(m, sizeof m, "%s", screen_row(&c, marks));
    snprintf(t, sizeof t, "%s", screen_row(&c, top));
    char *bump = strchr(m, '^'), *nan = strchr(m, 'N');
    ck_assert_msg(bump && nan && !strchr(bump + 1, '^') && !strchr(nan + 1, 'N'), "marks: '%s'", m);
    size_t bx = (size_t)(bump - m), nx = (size_t)(nan - m);
    ck_assert_msg(t[bx] == '#' && t[nx] == '!', "top row: '%s'", t);
    for (size_t x = 10; x < strlen(t); x++) /* nothing else reaches the top cell */
        ck_assert_msg(x == bx || x == nx || t[x] == ' ', "top row: '%s'", t);
    /* the top label is the spike's loss, the bucket's maximum */
    char v[32];
    const mpt_step *sp = mpt_model_find_step(a.model, 150);
    mpt_tui_fmt_num(sp->loss, v, sizeof v);
    ck_assert_msg(strstr(t, v) != NULL, "top label: '%s', want %s", t, v);
    /* buckets tile the window: contiguous, covering every step once */
    size_t next = a.win_first;
    for (int col = 0; col < a.plot_w; col++) {
        size_t i0, i1;
        mpt_tui_timeline_bucket(&a, col, a.plot_w, &i0, &i1);
        ck_assert_uint_eq(i0, next);
        next = i1;
    }
    ck_assert_uint_eq(next, a.win_first + a.win_span);
    /* a click on the spike's column selects a step of that bucket */
    mpt_tui_app_mouse(&a, (int)bx, marks, MPT_MOUSE_CLICK);
    int64_t st = mpt_tui_app_step(&a)->step;
    ck_assert_msg(st <= 150 && st > 150 - 6, "clicked step %lld", (long long)st);
    /* a range: v at 20, then to 25 (no NaN there) */
    a.zoom = 0;
    mpt_tui_app_select_step(&a, 20);
    mpt_tui_app_key(&a, 'v');
    for (int i = 0; i < 5; i++)
        mpt_tui_app_key(&a, MPT_KEY_RIGHT);
    mpt_tui_render(&a, &c);
    ck_assert_int_ge(find_row(&c, "Layer  steps 20-25"), 0);
    int y = find_row(&c, " fwd/blk1/mlp/up ");
    ck_assert_msg(y >= 0 && screen_row(&c, y)[0] == '.', "range row: %s", y >= 0 ? screen_row(&c, y) : "");
    /* the NaN at the first step of a range, then at its last (the anchor stays at 200) */
    mpt_tui_app_key(&a, MPT_KEY_ESC);
    mpt_tui_app_select_step(&a, 200);
    mpt_tui_app_key(&a, 'v');
    for (int i = 0; i < 5; i++)
        mpt_tui_app_key(&a, MPT_KEY_RIGHT);
    for (int pass = 0; pass < 2; pass++) {
        mpt_tui_render(&a, &c);
        ck_assert_int_ge(find_row(&c, pass ? "Layer  steps 195-200" : "Layer  steps 200-205"), 0);
        y = find_row(&c, " fwd/blk1/mlp/up ");
        ck_assert_msg(screen_row(&c, y)[0] == 'N', "range row: %s", screen_row(&c, y));
        for (int i = 0; i < 10; i++)
            mpt_tui_app_key(&a, MPT_KEY_LEFT);
    }
    mpt_tui_app_key(&a, MPT_KEY_ESC);
    ck_assert_int_eq(a.range_anchor, -1);
    mpt_canvas_free(&c);
    mpt_tui_app_free(&a);
    unlink(trace);
}
END_TEST

static int snap_rows = 24; /* snapshot()'s height: 80 columns by this */

static char *snapshot(const char *view, int have_step, int64_t step, const char *layer, int *rc,
                      char *err, size_t errlen)
{
    mpt_tui_opts o;
    char *paths[1] = {trace}, *buf = NULL;
    size_t len = 0;
    mpt_tui_opts_init(&o);
    o.traces = paths;
    o.ntraces = 1;
    o.ascii = 1;
    o.view = view;
    o.have_step = have_step;
    o.step = step;
    o.layer = layer;
    FILE *f = open_memstream(&buf, &len);
    *rc = mpt_tui_snapshot(&o, 80, snap_rows, f, err, errlen);
    fclose(f);
    return buf;
}

/* --snapshot's options: --step also selects the layer that went wrong there, --layer a named
 * one; a step or layer the trace does not have is an error, not a silent default. */
START_TEST(test_snapshot_options)
{
    make_trace(-1);
    char err[600];
    int rc, lines = 0;
    char *s = snapshot("detail", 1, 23, NULL, &rc, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    for (char *p = s; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 24);
    ck_assert_msg(strstr(s, " fwd/blk1/mlp/up  fwd ") && strstr(s, "step 23  loss nan"), "%s", s);
    free(s);
    s = snapshot("detail", 1, 5, "bwd/blk0/attn/qkv", &rc, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(s, " bwd/blk0/attn/qkv  bwd ") && strstr(s, "step 5 "), "%s", s);
    free(s);
    s = snapshot(NULL, 1, 400, NULL, &rc, err, sizeof err);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "no step 400") && strstr(err, "steps 0-39"), "%s", err);
    free(s);
    s = snapshot(NULL, 0, 0, "fwd/blk9/nothing", &rc, err, sizeof err);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "fwd/blk9/nothing") != NULL, "%s", err);
    free(s);
    s = snapshot("sideways", 0, 0, NULL, &rc, err, sizeof err);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "unknown view") != NULL, "%s", err);
    free(s);
    unlink(trace);
}
END_TEST

/* The layer detail lists the kernels between the layer and the previous GEMM for any layer: at
 * the selected step while the model still knows that call, else the layer's last call; the
 * first NaN's layer at its step keeps the first-NaN account. The synthetic run issues
 * layernorm_forward, gelu_forward, residual_add, layernorm_forward before each GEMM. */
START_TEST(test_detail_between)
{
    char err[600];
    int rc;
    for (int pass = 0; pass < 2; pass++) {
        mpt_tui_synth_defaults(&cfg);
        cfg.kernels = 4;
        cfg.steps = pass ? 100 : 40; /* 100 steps: step 5's events have left the window */
        mpt_test_tmpfile(trace, sizeof trace, "tuiview");
        ck_assert_msg(mpt_tui_synth_write(&cfg, trace, err, sizeof err) == 0, "%s", err);
        /* 80x24: one line */
        char *s = snapshot("detail", 1, 5, "bwd/blk0/attn/qkv", &rc, err, sizeof err);
        ck_assert_msg(rc == 0, "%s", err);
        ck_assert_msg(strstr(s, pass ? "before its last call (step 99): layernorm_forward x2, "
                                     : "before it: layernorm_forward x2, gelu_forward x1, "
                                       "residual_add x1  (since GE"),
                      "%s", s);
        free(s);
        /* taller: one line per kernel name */
        snap_rows = 40;
        s = snapshot("detail", 1, 5, "bwd/blk0/attn/qkv", &rc, err, sizeof err);
        ck_assert_msg(rc == 0, "%s", err);
        const char *want = pass ? "4 kernels ran before its last call (step 99), since "
                                  "GEMM bwd/blk0/attn/proj"
                                : "4 kernels ran before this call (step 5), since GEMM "
                                  "bwd/blk0/attn/proj";
        ck_assert_msg(strstr(s, want), "%s", s);
        ck_assert_msg(strstr(s, "  kernel layernorm_forward x2  in bwd/blk0/attn/qkv") &&
                          strstr(s, "  kernel gelu_forward x1  in bwd/blk0/attn/qkv") &&
                          strstr(s, "  kernel residual_add x1  in bwd/blk0/attn/qkv"),
                      "%s", s);
        free(s);
        /* the first GEMM of the run: nothing before it but its own kernels */
        s = snapshot("detail", 1, 0, "fwd/blk0/attn/qkv", &rc, err, sizeof err);
        ck_assert_msg(rc == 0 && strstr(s, pass ? "before its last call (step 99), since GEMM "
                                                  "bwd/blk0/attn/qkv"
                                                : "before this call (step 0), since the trace's "
                                                  "start"),
                      "%s", s);
        free(s);
        /* the first NaN's layer at its step: the first-NaN account, as before */
        s = snapshot("detail", 1, 23, NULL, &rc, err, sizeof err);
        ck_assert_msg(rc == 0 && strstr(s, "first NaN/Inf of the run: step 23") &&
                          !strstr(s, " call (step "),
                      "%s", s);
        free(s);
        snap_rows = 24;
        unlink(trace);
    }
}
END_TEST

/* A killed program's trace ends inside a record: the TUI shows every whole record and says
 * where the trace was cut, in the header where the program's state would be. */
START_TEST(test_truncated_trace)
{
    make_trace(-1);
    uint8_t *data;
    size_t len;
    ck_assert_int_eq(mpt_test_slurp(trace, &data, &len), 0);
    ck_assert_int_eq(truncate(trace, (off_t)(len * 2 / 3)), 0);
    free(data);
    mpt_tui_app a;
    mpt_canvas c;
    open_app(&a, NULL);
    ck_assert_int_eq(mpt_canvas_init(&c, 100, 30, 0), 0);
    mpt_tui_render(&a, &c);
    ck_assert_msg(strstr(screen_row(&c, 0), "truncated at byte") != NULL, "%s", screen_row(&c, 0));
    ck_assert_uint_gt(mpt_model_nsteps(a.model), 10);
    ck_assert_uint_lt(mpt_model_nsteps(a.model), 40);
    mpt_canvas_free(&c);
    mpt_tui_app_free(&a);
    unlink(trace);
}
END_TEST

/* Monochrome: every style that carries a warning must still look different from plain text,
 * and the bad ones from the merely worrying ones. */
START_TEST(test_monochrome_attrs)
{
    unsigned long normal = mpt_tui_term_attr(MPT_STY_NORMAL, 1);
    ck_assert_uint_eq(normal, 0);
    const unsigned marked[] = {MPT_STY_WARN, MPT_STY_BAD, MPT_STY_NONFINITE, MPT_STY_BAR,
                               MPT_STY_TAB_ON, MPT_STY_SKIP, MPT_STY_DIM};
    for (size_t i = 0; i < sizeof marked / sizeof *marked; i++)
        ck_assert_msg(mpt_tui_term_attr(marked[i], 1) != normal, "style %u", marked[i]);
    ck_assert(mpt_tui_term_attr(MPT_STY_WARN, 1) != mpt_tui_term_attr(MPT_STY_BAD, 1));
    ck_assert(mpt_tui_term_attr(MPT_STY_BAD, 1) != mpt_tui_term_attr(MPT_STY_NONFINITE, 1));
    ck_assert(mpt_tui_term_attr(MPT_STY_TAB, 1) != mpt_tui_term_attr(MPT_STY_TAB_ON, 1));
    /* reverse (selection) is visible on every style */
    for (unsigned s = 0; s < MPT_STY_COUNT; s++)
        for (int mono = 0; mono < 2; mono++)
            ck_assert(mpt_tui_term_attr(s | MPT_STY_REVERSE, mono) != mpt_tui_term_attr(s, mono));
}
END_TEST

Suite *suite_tui_view(void);
Suite *suite_tui_view(void)
{
    Suite *s = suite_create("tui_view");
    TCase *tc = tcase_create("view");
    tcase_add_unchecked_fixture(tc, mpt_tmux_fixture_setup, mpt_tmux_fixture_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_first_nonfinite_key);
    tcase_add_test(tc, test_anomaly_keys);
    tcase_add_test(tc, test_sort_filter);
    tcase_add_test(tc, test_not_measured_is_not_zero);
    tcase_add_test(tc, test_views_and_sizes);
    tcase_add_test(tc, test_timeline_buckets_and_range);
    tcase_add_test(tc, test_snapshot_options);
    tcase_add_test(tc, test_detail_between);
    tcase_add_test(tc, test_truncated_trace);
    tcase_add_test(tc, test_monochrome_attrs);
    suite_add_tcase(s, tc);
    return s;
}
