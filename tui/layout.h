/*
 * Screen layout as a pure function: the terminal's size (and what is to be shown) in,
 * rectangles out (defined at the end of draw_frame.c, beside the code that fills them). No
 * curses here, so the layout is unit-tested without a terminal (tests/unit/test_tui_layout.c),
 * and the renderer and the mouse code agree on where things are.
 *
 * From top to bottom:
 *   header    2 rows: program, pid/ranks, state; regime, steps, skips, first non-finite
 *   timeline  the loss plot, the scale line and the markers line, with one info line on top
 *   tabs      1 row: the views
 *   main      the current view (layer table, heat map, findings, detail, log)
 *   log       live mode only, when the terminal is tall enough: the program's output
 *   status    1 row: keys, or the last message
 * Every rectangle spans the full width; together they tile the screen exactly. Below the
 * minimum size `ok` is 0 and only `status` is set (the renderer says the terminal is too small).
 */
#ifndef MPT_TUI_LAYOUT_H
#define MPT_TUI_LAYOUT_H

typedef struct mpt_rect {
    int x, y; /* top-left cell, 0-based */
    int w, h; /* columns, rows; 0 x 0 for a rectangle not shown */
} mpt_rect;

#define MPT_TUI_MIN_COLS 60
#define MPT_TUI_MIN_ROWS 16

/* What the layout should make room for. */
#define MPT_LAYOUT_LOG 1u /* a live program's output pane */

typedef struct mpt_tui_layout {
    int ok; /* 0: smaller than MPT_TUI_MIN_COLS x MPT_TUI_MIN_ROWS */
    int cols, rows;
    mpt_rect header, timeline, tabs, main, log, status;
} mpt_tui_layout;

void mpt_tui_layout_compute(int cols, int rows, unsigned flags, mpt_tui_layout *out);

/* 1 when (x, y) lies inside r. */
int mpt_rect_contains(const mpt_rect *r, int x, int y);

#endif
