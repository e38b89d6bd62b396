/*
 * The drawing surface every view paints on: a grid of cells, each a Unicode code point and a
 * style. Views never call curses; the terminal backend (term.c) copies a finished canvas to the
 * screen, mapping styles to colours (or to bold/reverse/underline when there are none), and
 * --snapshot prints the same canvas as plain UTF-8 text. One drawing path serves both, so a
 * snapshot is exactly what the terminal shows, minus the colours.
 *
 * It also holds the plots (column charts and sparklines from ring buffers), the only other
 * drawing primitive the views share.
 *
 * Styles are semantic (what a thing is, not its colour). A style may carry MPT_STY_REVERSE,
 * which selection and the cursor use. Drawing outside the canvas is clipped, never an error.
 */
#ifndef MPT_TUI_CANVAS_H
#define MPT_TUI_CANVAS_H

#include <stdint.h>
#include <stdio.h>

#include "tui/layout.h"

typedef enum mpt_style {
    MPT_STY_NORMAL = 0,
    MPT_STY_DIM,       /* secondary text, "not measured" */
    MPT_STY_BOLD,      /* emphasis, titles */
    MPT_STY_BAR,       /* header and status bars */
    MPT_STY_TAB,       /* an inactive tab */
    MPT_STY_TAB_ON,    /* the active tab */
    MPT_STY_OK,        /* a healthy value */
    MPT_STY_INFO,      /* worth knowing (flush risk, ...) */
    MPT_STY_WARN,      /* underflow, precision loss, little headroom */
    MPT_STY_BAD,       /* overflow, a non-finite input */
    MPT_STY_NONFINITE, /* NaN/Inf produced here: the worst */
    MPT_STY_PLOT,      /* the loss line */
    MPT_STY_SCALE,     /* the loss-scale line */
    MPT_STY_SKIP,      /* a skipped-step marker */
    MPT_STY_COUNT
} mpt_style;

#define MPT_STY_REVERSE 0x80u /* OR-ed into a style: shown in reverse video */
#define MPT_STY_MASK    0x7fu

typedef struct mpt_canvas {
    int w, h;
    uint32_t *cp;  /* w x h code points, row-major */
    uint8_t *sty;  /* w x h styles */
    int unicode;   /* 1: box drawing, blocks and arrows may be used; 0: ASCII only */
} mpt_canvas;

/* Allocates a w x h canvas of blanks. 0, or -1 when memory is short. */
int mpt_canvas_init(mpt_canvas *c, int w, int h, int unicode);
/* Reallocates to w x h (contents cleared). 0 or -1 (the old canvas is kept). */
int mpt_canvas_resize(mpt_canvas *c, int w, int h);
void mpt_canvas_free(mpt_canvas *c);
void mpt_canvas_clear(mpt_canvas *c);

/* Fills a rectangle with code point cp in style sty. */
void mpt_canvas_fill(mpt_canvas *c, const mpt_rect *r, uint32_t cp, unsigned sty);
/* Sets one cell. */
void mpt_canvas_set(mpt_canvas *c, int x, int y, uint32_t cp, unsigned sty);
/* Sets the style of n cells from (x, y), keeping their characters. */
void mpt_canvas_style(mpt_canvas *c, int x, int y, int n, unsigned sty);
/*
 * Writes UTF-8 text from (x, y), at most `maxw` cells (maxw < 0: to the right edge). Control
 * characters and invalid bytes are shown as '?'; text longer than maxw ends in '~' (ASCII) or
 * an ellipsis so a cut is visible. Returns the cells written.
 */
int mpt_canvas_text(mpt_canvas *c, int x, int y, int maxw, unsigned sty, const char *s);
/* printf-style mpt_canvas_text. */
int mpt_canvas_printf(mpt_canvas *c, int x, int y, int maxw, unsigned sty, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Text right-aligned so its last cell is at x_end - 1. */
int mpt_canvas_rtext(mpt_canvas *c, int x_end, int y, unsigned sty, const char *s);

/* The glyph for a purpose, in Unicode or ASCII as the canvas allows. */
typedef enum mpt_glyph {
    MPT_G_HLINE, MPT_G_VLINE, MPT_G_ELLIPSIS, MPT_G_ARROW_R, MPT_G_DOT, MPT_G_UP, MPT_G_DASH,
    MPT_G_COUNT
} mpt_glyph;
uint32_t mpt_canvas_glyph(const mpt_canvas *c, mpt_glyph g);
/* Vertical bar of `eighths` (0..8) of a cell, for plots. */
uint32_t mpt_canvas_bar(const mpt_canvas *c, int eighths);

/* Writes the canvas as text, one line per row, trailing blanks removed. 0 or -1 (I/O error). */
int mpt_canvas_print(const mpt_canvas *c, FILE *out);
/* Row y as UTF-8 into buf (trailing blanks removed); for tests. Returns buf. */
char *mpt_canvas_row(const mpt_canvas *c, int y, char *buf, size_t n);

/* Encodes code point cp as UTF-8 into out (4 bytes room). Returns the bytes written. */
int mpt_utf8_encode(uint32_t cp, char *out);

/* ---- plots from ring buffers ------------------------------------------------------------------
 * After nvtop: a series is a fixed-capacity ring of samples, each with a validity bit, so a step
 * with no loss reported is a gap, never a bar at 0, and a NaN loss is a sample that is valid but
 * not finite (drawn as a marker). Plots draw the ring oldest-first from the left edge of their
 * rectangle, one sample per column. */

typedef struct mpt_tui_sample {
    double v;      /* meaningful when valid; may be NaN or Inf (a measured non-finite value) */
    uint8_t valid; /* 0: not measured */
    uint8_t flags; /* the caller's marks (MPT_TL_* in the timeline) */
} mpt_tui_sample;

typedef struct mpt_tui_ring {
    mpt_tui_sample *s; /* cap entries */
    int cap;
    int head; /* index of the oldest sample */
    int n;    /* samples held (<= cap) */
} mpt_tui_ring;

/* 0, or -1 when memory is short. cap >= 1. */
int mpt_tui_ring_init(mpt_tui_ring *r, int cap);
void mpt_tui_ring_free(mpt_tui_ring *r);
void mpt_tui_ring_clear(mpt_tui_ring *r);
/* Appends a sample, dropping the oldest when full. */
void mpt_tui_ring_push(mpt_tui_ring *r, double v, int valid, unsigned flags);
/* Sample i, 0 = oldest; NULL when i is out of range. */
const mpt_tui_sample *mpt_tui_ring_at(const mpt_tui_ring *r, int i);
/* Smallest and largest valid finite value; returns how many there were (0: lo/hi untouched). */
int mpt_tui_ring_range(const mpt_tui_ring *r, double *lo, double *hi);

/*
 * Column chart in rectangle `rect` (one sample per column, from the left): a valid finite
 * sample is a bar from the bottom whose height is (v - lo) / (hi - lo) of the rectangle, in
 * eighths of a cell, at least one eighth; a valid non-finite sample fills the column in
 * `nf_sty` with '!' at its top; an invalid sample leaves the column blank.
 */
void mpt_tui_plot_bars(mpt_canvas *c, const mpt_rect *rect, const mpt_tui_ring *r, double lo,
                       double hi, unsigned sty, unsigned nf_sty);

/* One-row sparkline from (x, y), at most w samples: eight levels between lo and hi; invalid
 * samples are blank, non-finite ones '!'. */
void mpt_tui_plot_spark(mpt_canvas *c, int x, int y, int w, const mpt_tui_ring *r, double lo,
                        double hi, unsigned sty, unsigned nf_sty);

/* Height in eighths (1 .. cells*8) of value v on a lo..hi scale of `cells` cells. */
int mpt_tui_plot_eighths(double v, double lo, double hi, int cells);


#endif
