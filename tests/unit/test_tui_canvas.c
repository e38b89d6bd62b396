/*
 * The TUI's drawing primitives without a terminal: the canvas (clipping, UTF-8 decoding of
 * hostile names, the visible cut, right alignment, plain-text output), the ring buffers behind
 * the plots (wrap-around, order, the validity bit), and the plots themselves: bar heights
 * against a slow double-precision reference on random and adversarial values, a gap (never a
 * bar at 0) for an unmeasured sample, and a marker for a NaN.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/canvas.h"

static char *row(const mpt_canvas *c, int y)
{
    static char buf[4096];
    return mpt_canvas_row(c, y, buf, sizeof buf);
}

START_TEST(test_canvas_text)
{
    mpt_canvas c;
    ck_assert_int_eq(mpt_canvas_init(&c, 10, 3, 1), 0);
    ck_assert_int_eq(mpt_canvas_text(&c, 0, 0, -1, 0, "hello"), 5);
    ck_assert_str_eq(row(&c, 0), "hello");
    /* cut: the last cell shows the cut, never silently drops text */
    ck_assert_int_eq(mpt_canvas_text(&c, 0, 1, 6, 0, "fwd/blk1/mlp/up"), 6);
    ck_assert_str_eq(row(&c, 1), "fwd/b\xe2\x80\xa6");
    /* text that fits exactly is not cut */
    mpt_canvas_clear(&c);
    ck_assert_int_eq(mpt_canvas_text(&c, 4, 0, 6, 0, "abcdef"), 6);
    ck_assert_str_eq(row(&c, 0), "    abcdef");
    /* clipping at the right edge and outside the canvas */
    mpt_canvas_clear(&c);
    mpt_canvas_text(&c, 8, 0, 5, 0, "xyz");
    mpt_canvas_text(&c, -3, 1, 6, 0, "abcdef");
    mpt_canvas_text(&c, 0, 7, -1, 0, "nothing");
    ck_assert_str_eq(row(&c, 0), "        xy");
    ck_assert_str_eq(row(&c, 1), "def");
    /* right alignment counts cells, not bytes */
    mpt_canvas_clear(&c);
    mpt_canvas_rtext(&c, 10, 2, 0, "\xc3\xa9t\xc3\xa9");
    ck_assert_str_eq(row(&c, 2), "       \xc3\xa9t\xc3\xa9");
    mpt_canvas_free(&c);
}
END_TEST

/* Layer names come from any program: bad UTF-8, control characters and wide characters must
 * neither break the screen nor shift the columns. */
START_TEST(test_canvas_hostile_text)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        {"a\tb\nc", "a?b?c"},
        {"\x1b[31mred", "?[31mred"},
        {"\xff\xfe", "??"},
        {"\xc3", "?"},                      /* truncated sequence */
        {"\xc0\xaf", "?"},                  /* overlong '/' */
        {"\xed\xa0\x80", "?"},              /* a surrogate */
        {"\xe4\xb8\xad\xe6\x96\x87", "??"}, /* CJK: two cells wide on a terminal */
        {"\xf0\x9f\x98\x80x", "?x"},        /* emoji */
        {"\xce\xb1\xce\xb2", "\xce\xb1\xce\xb2"}, /* Greek stays */
    };
    mpt_canvas c;
    ck_assert_int_eq(mpt_canvas_init(&c, 20, 1, 1), 0);
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        mpt_canvas_clear(&c);
        mpt_canvas_text(&c, 0, 0, -1, 0, t[i].in);
        ck_assert_msg(strcmp(row(&c, 0), t[i].out) == 0, "case %zu: '%s'", i, row(&c, 0));
    }
    mpt_canvas_free(&c);
}
END_TEST

START_TEST(test_canvas_print_and_ascii)
{
    mpt_canvas c;
    ck_assert_int_eq(mpt_canvas_init(&c, 6, 2, 0), 0);
    mpt_canvas_text(&c, 0, 0, 4, 0, "abcdef");
    mpt_canvas_set(&c, 5, 1, mpt_canvas_bar(&c, 8), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(mpt_canvas_print(&c, f), 0);
    fclose(f);
    ck_assert_str_eq(buf, "abc~\n     #\n"); /* ASCII mode: no byte above 0x7f */
    free(buf);
    mpt_canvas_free(&c);
}
END_TEST

START_TEST(test_ring)
{
    mpt_tui_ring r;
    ck_assert_int_eq(mpt_tui_ring_init(&r, 4), 0);
    ck_assert_ptr_null(mpt_tui_ring_at(&r, 0));
    for (int i = 0; i < 10; i++) {
        mpt_tui_ring_push(&r, i, i % 3 != 0, (unsigned)i);
        int n = i + 1 < 4 ? i + 1 : 4;
        ck_assert_int_eq(r.n, n);
        for (int k = 0; k < n; k++) { /* oldest first: the last n pushed, in order */
            const mpt_tui_sample *s = mpt_tui_ring_at(&r, k);
            int want = i - n + 1 + k;
            ck_assert_msg(s->v == want && s->flags == want && s->valid == (want % 3 != 0),
                          "push %d, at %d: %g", i, k, s->v);
        }
        ck_assert_ptr_null(mpt_tui_ring_at(&r, n));
    }
    double lo = 0, hi = 0;
    /* holds 6 7 8 9 with 6 and 9 invalid: the range covers valid samples only */
    ck_assert_int_eq(mpt_tui_ring_range(&r, &lo, &hi), 2);
    ck_assert(lo == 7 && hi == 8);
    mpt_tui_ring_clear(&r);
    mpt_tui_ring_push(&r, NAN, 1, 0);
    mpt_tui_ring_push(&r, INFINITY, 1, 0);
    mpt_tui_ring_push(&r, 5, 0, 0);
    lo = hi = -1;
    ck_assert_int_eq(mpt_tui_ring_range(&r, &lo, &hi), 0);
    ck_assert(lo == -1 && hi == -1);
    mpt_tui_ring_free(&r);
}
END_TEST

/* Reference: the bar's height in eighths, computed the slow obvious way. */
static int ref_eighths(double v, double lo, double hi, int cells)
{
    int top = cells * 8;
    double f;
    if (isnan(v)) f = 0;
    else if (!(hi > lo)) f = 0.5;
    else f = (v - lo) / (hi - lo);
    if (isnan(f) || f < 0) f = 0;
    if (f > 1) f = 1;
    double e = floor(f * top + 0.5);
    if (e < 1) e = 1;
    return (int)e;
}

START_TEST(test_plot_eighths_reference)
{
    uint64_t st = 7;
    for (int i = 0; i < 20000; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(st >> 11) * 0x1p-53;
        double lo = (u - 0.5) * 100, hi = lo + u * 50, v = lo + (u * 3 - 1) * (hi - lo);
        int cells = 1 + (int)(st % 12);
        ck_assert_int_eq(mpt_tui_plot_eighths(v, lo, hi, cells), ref_eighths(v, lo, hi, cells));
    }
    static const double adv[][3] = {
        {NAN, 0, 1}, {INFINITY, 0, 1}, {-INFINITY, 0, 1}, {5, 5, 5}, {-0.0, 0.0, 1},
        {1e308, -1e308, 1e308}, {4.9e-324, 0, 1e-323}, {2, 1, 1}, {0.5, 1, 0},
    };
    for (size_t i = 0; i < sizeof adv / sizeof *adv; i++)
        for (int cells = 1; cells <= 3; cells++)
            ck_assert_msg(mpt_tui_plot_eighths(adv[i][0], adv[i][1], adv[i][2], cells) ==
                              ref_eighths(adv[i][0], adv[i][1], adv[i][2], cells),
                          "case %zu", i);
}
END_TEST

START_TEST(test_plot_validity)
{
    mpt_canvas c;
    mpt_tui_ring r;
    ck_assert_int_eq(mpt_canvas_init(&c, 5, 2, 0), 0);
    ck_assert_int_eq(mpt_tui_ring_init(&r, 5), 0);
    mpt_tui_ring_push(&r, 0.0, 1, 0);  /* measured 0: the lowest bar */
    mpt_tui_ring_push(&r, 0.0, 0, 0);  /* not measured: nothing at all */
    mpt_tui_ring_push(&r, NAN, 1, 0);  /* measured NaN: a marker */
    mpt_tui_ring_push(&r, 10.0, 1, 0); /* the top */
    mpt_rect box = {0, 0, 5, 2};
    mpt_tui_plot_bars(&c, &box, &r, 0, 10, 0, 1);
    ck_assert_str_eq(row(&c, 0), "  !#");
    ck_assert_str_eq(row(&c, 1), "_ ##");
    mpt_canvas_clear(&c);
    mpt_tui_plot_spark(&c, 0, 0, 5, &r, 0, 10, 0, 1);
    ck_assert_str_eq(row(&c, 0), "_ !#");
    mpt_tui_ring_free(&r);
    mpt_canvas_free(&c);
}
END_TEST

Suite *suite_tui_canvas(void);
Suite *suite_tui_canvas(void)
{
    Suite *s = suite_create("tui_canvas");
    TCase *tc = tcase_create("canvas");
    tcase_add_test(tc, test_canvas_text);
    tcase_add_test(tc, test_canvas_hostile_text);
    tcase_add_test(tc, test_canvas_print_and_ascii);
    tcase_add_test(tc, test_ring);
    tcase_add_test(tc, test_plot_eighths_reference);
    tcase_add_test(tc, test_plot_validity);
    suite_add_tcase(s, tc);
    return s;
}
