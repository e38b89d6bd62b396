/*
 * The TUI's layout as a pure function (tui/layout.h), with no terminal: for a table of terminal
 * sizes, the rectangles must tile the screen exactly (full width, no overlap, no gap, in the
 * documented order), give the main view room, put the log pane in only when asked and tall
 * enough, and below the minimum size report "too small" with only the status row.
 */
#include <check.h>

#include "tui/layout.h"

static const struct {
    int cols, rows;
    unsigned flags;
    int ok;
    int timeline_h, log_h, main_h; /* -1: not checked */
} cases[] = {
    {80, 24, 0, 1, 6, 0, 14},                  /* the minimum target */
    {80, 24, MPT_LAYOUT_LOG, 1, 6, 0, 14},     /* too short for a log pane: the Log view instead */
    {60, 16, 0, 1, 5, 0, 7},                   /* the smallest accepted */
    {100, 30, MPT_LAYOUT_LOG, 1, 7, 6, 13},    /* log pane from 30 rows on */
    {100, 29, MPT_LAYOUT_LOG, 1, 7, 0, 18},
    {200, 60, 0, 1, 12, 0, 44},                /* timeline capped at 12 rows */
    {200, 60, MPT_LAYOUT_LOG, 1, 12, 12, 32},  /* log capped at 12 rows */
    {1000, 1000, MPT_LAYOUT_LOG, 1, 12, 12, 972},
    {59, 24, 0, 0, -1, -1, -1},
    {80, 15, 0, 0, -1, -1, -1},
    {1, 1, 0, 0, -1, -1, -1},
    {0, 0, 0, 0, -1, -1, -1},
    {-5, 30, 0, 0, -1, -1, -1},
};

START_TEST(test_layout_table)
{
    mpt_tui_layout l;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int W = cases[i].cols, H = cases[i].rows;
        mpt_tui_layout_compute(W, H, cases[i].flags, &l);
        ck_assert_msg(l.ok == cases[i].ok, "%dx%d: ok %d", W, H, l.ok);
        if (!l.ok) {
            ck_assert_int_eq(l.main.h, 0);
            ck_assert_int_eq(l.header.h, 0);
            if (W > 0 && H > 0) {
                ck_assert_int_eq(l.status.y, H - 1);
                ck_assert_int_eq(l.status.w, W);
            } else {
                ck_assert_int_eq(l.status.h, 0);
            }
            continue;
        }
        ck_assert_int_eq(l.timeline.h, cases[i].timeline_h);
        ck_assert_int_eq(l.log.h, cases[i].log_h);
        ck_assert_int_eq(l.main.h, cases[i].main_h);
        /* tiling: in order, contiguous, full width, covering every row exactly once */
        const mpt_rect *order[] = {&l.header, &l.timeline, &l.tabs, &l.main, &l.log, &l.status};
        int y = 0;
        for (size_t k = 0; k < 6; k++) {
            const mpt_rect *r = order[k];
            if (!r->h) continue;
            ck_assert_msg(r->y == y, "%dx%d: rect %zu starts at %d, want %d", W, H, k, r->y, y);
            ck_assert_int_eq(r->x, 0);
            ck_assert_int_eq(r->w, W);
            y += r->h;
        }
        ck_assert_msg(y == H, "%dx%d: rows covered %d", W, H, y);
        ck_assert_int_eq(l.header.h, 2);
        ck_assert_int_eq(l.tabs.h, 1);
        ck_assert_int_eq(l.status.h, 1);
        ck_assert_int_eq(l.status.y, H - 1);
        ck_assert_msg(l.main.h >= 7, "%dx%d: main view only %d rows", W, H, l.main.h);
    }
}
END_TEST

/* Every size from the minimum to 300x120 tiles, and the main view only grows with the height. */
START_TEST(test_layout_sweep)
{
    mpt_tui_layout l, prev;
    for (unsigned flags = 0; flags <= MPT_LAYOUT_LOG; flags++)
        for (int W = MPT_TUI_MIN_COLS; W <= 300; W += 37) {
            for (int H = MPT_TUI_MIN_ROWS; H <= 120; H++) {
                mpt_tui_layout_compute(W, H, flags, &l);
                ck_assert(l.ok);
                int total = l.header.h + l.timeline.h + l.tabs.h + l.main.h + l.log.h + l.status.h;
                ck_assert_int_eq(total, H);
                ck_assert_int_ge(l.main.h, 7);
                /* one more row never takes rows from every pane at once */
                if (H > MPT_TUI_MIN_ROWS)
                    ck_assert(l.main.h >= prev.main.h || l.log.h > prev.log.h ||
                              l.timeline.h > prev.timeline.h);
                prev = l;
            }
        }
}
END_TEST

START_TEST(test_rect_contains)
{
    mpt_rect r = {2, 3, 4, 5};
    ck_assert(mpt_rect_contains(&r, 2, 3));
    ck_assert(mpt_rect_contains(&r, 5, 7));
    ck_assert(!mpt_rect_contains(&r, 6, 7));
    ck_assert(!mpt_rect_contains(&r, 5, 8));
    ck_assert(!mpt_rect_contains(&r, 1, 3));
    ck_assert(!mpt_rect_contains(&r, 2, 2));
    mpt_rect empty = {0, 0, 0, 0};
    ck_assert(!mpt_rect_contains(&empty, 0, 0));
}
END_TEST

Suite *suite_tui_layout(void);
Suite *suite_tui_layout(void)
{
    Suite *s = suite_create("tui_layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, test_layout_table);
    tcase_add_test(tc, test_layout_sweep);
    tcase_add_test(tc, test_rect_contains);
    suite_add_tcase(s, tc);
    return s;
}
