/*
 * The TUI's state, apart from any terminal: the model and its analysis (owned), the live
 * program, and what the user has selected (view, step, layer, sort, filter, scroll). Keys are
 * handled and screens are drawn against this state alone (keys.c, draw_*.c), so both are
 * testable and benchmarkable without a terminal; term.c only feeds keys in and copies the
 * canvas out.
 *
 * Step selection is an index into the model's step table (mpt_model_step), the layer selection
 * a model layer index. The layer table's rows are recomputed at each paint from the model
 * (cells of the selected step or range), which is cheap: layers x columns in the range.
 */
#ifndef MPT_TUI_APP_H
#define MPT_TUI_APP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "analyzer/analysis.h"
#include "analyzer/model.h"
#include "tui/canvas.h"
#include "tui/layout.h"
#include "tui/tui.h"

typedef enum mpt_tui_view {
    MPT_VIEW_LAYERS = 0,
    MPT_VIEW_HEATMAP,
    MPT_VIEW_FINDINGS,
    MPT_VIEW_DETAIL,
    MPT_VIEW_LOG,
    MPT_VIEW_COUNT
} mpt_tui_view;

typedef enum mpt_tui_sort {
    MPT_SORT_EXEC = 0, /* execution order */
    MPT_SORT_STATUS,   /* worst status first */
    MPT_SORT_ABSMAX,   /* largest |output| first */
    MPT_SORT_HEADROOM, /* least headroom first */
    MPT_SORT_NONFINITE,
    MPT_SORT_UNDERFLOW,
    MPT_SORT_ERROR, /* largest error (ulp) first */
    MPT_SORT_NAME,
    MPT_SORT_COUNT
} mpt_tui_sort;

/* Keys, as term.c translates them: printable characters are their code points. */
enum {
    MPT_KEY_UP = 0x110000,
    MPT_KEY_DOWN,
    MPT_KEY_LEFT,
    MPT_KEY_RIGHT,
    MPT_KEY_PGUP,
    MPT_KEY_PGDN,
    MPT_KEY_HOME,
    MPT_KEY_END,
    MPT_KEY_ENTER,
    MPT_KEY_ESC,
    MPT_KEY_TAB,
    MPT_KEY_BTAB,
    MPT_KEY_BACKSPACE,
    MPT_KEY_CTRL_C,
    MPT_KEY_CTRL_L
};
/* Mouse buttons for mpt_tui_app_mouse. */
enum { MPT_MOUSE_CLICK = 1, MPT_MOUSE_DOUBLE, MPT_MOUSE_WHEEL_UP, MPT_MOUSE_WHEEL_DOWN };

/* One layer's figures for the selected step or range. */
typedef struct mpt_tui_row {
    uint32_t layer;
    mpt_cell cell;   /* merged over the columns of the selection; calls 0: not called there */
    unsigned status; /* mpt_cell_status */
    double headroom; /* bits; NaN unknown */
} mpt_tui_row;

#define MPT_TUI_LOG_LINES 256

typedef struct mpt_tui_log {
    char *lines[MPT_TUI_LOG_LINES]; /* ring of the last lines, owned */
    int head, n;
    char partial[512]; /* an unterminated last line */
    long long offset;  /* bytes of the file consumed */
} mpt_tui_log;

typedef struct mpt_tui_app {
    /* data */
    mpt_model *model;  /* owned */
    mpt_analysis *an;  /* owned; NULL until the first analysis */
    uint64_t an_gen;   /* model generation `an` describes */
    double an_time;    /* monotonic seconds of the last analysis */
    int loading;       /* reading the traces for the first time (until read and analysed) */
    int busy;          /* the last read stopped on its time budget: more is there now */
    int follow;        /* traces opened in FOLLOW mode */
    char **pending;    /* traces not created yet (live mode), opened when they appear */
    int npending;
    char *open_error;  /* the last failure to open a pending trace, shown in the status line */
    /* the live program */
    pid_t child;      /* 0: none */
    int child_done;   /* it was reaped */
    int child_status; /* wait status once reaped */
    int quit_armed;   /* q pressed once while the program runs */
    char *log_path;
    mpt_tui_log log;
    char *program;
    /* presentation */
    int unicode;
    mpt_tui_view view, back_view; /* back_view: where Esc/Enter returns from detail */
    int help;
    int want_step;    /* select `want` as soon as the model has it (--step) */
    int64_t want;
    char *want_layer; /* select this layer as soon as the model has it (--layer) */
    size_t step_idx;  /* selected step: index into the model's steps */
    int follow_tail;  /* keep the newest step selected as steps arrive */
    long range_anchor; /* other end of a selected step range, -1: none */
    uint32_t layer;   /* selected layer; MPT_NO_LAYER before there is one */
    mpt_tui_sort sort;
    char filter[64];  /* substring over layer names, case-insensitive; "" none */
    int editing;      /* typing a filter */
    char edit[64];
    int zoom;         /* timeline: the window spans nsteps >> zoom steps */
    int table_top, heat_top, find_sel, find_top, log_back;
    char msg[200]; /* status-line message until the next key */
    int quit;
    /* from the last paint (mouse hits, paging) */
    mpt_tui_layout lay;
    size_t win_first, win_span; /* timeline window, step indices */
    int plot_x, plot_w;         /* timeline plot columns */
    int heat_x, heat_w;         /* heat map columns */
    int tab_x[MPT_VIEW_COUNT + 1]; /* tab i spans columns [tab_x[i], tab_x[i+1]) */
    /* scratch, rebuilt at each paint */
    mpt_tui_row *rows;
    uint32_t nrows, caprows;
} mpt_tui_app;

/* app.c: lifetime, reading, analysis */
int mpt_tui_app_init(mpt_tui_app *a, const mpt_tui_opts *o, char *err, size_t errlen);
void mpt_tui_app_free(mpt_tui_app *a);
/* Reaps the live program, reads its log, and either reads more of the traces for at most
 * budget_s seconds or re-analyses (at most every `reanalyse_s` while records keep coming, at
 * once when they stop). Returns 1 when the screen should be repainted. */
int mpt_tui_app_tick(mpt_tui_app *a, double budget_s, double reanalyse_s);
/* Reads everything there is now and analyses it (snapshot, tests). */
void mpt_tui_app_load_all(mpt_tui_app *a);
/* Selects the step numbered `step`: 0, or -1 when the model has no such step. */
int mpt_tui_app_select_step(mpt_tui_app *a, int64_t step);
const mpt_step *mpt_tui_app_step(const mpt_tui_app *a); /* the selected step, or NULL */
double mpt_tui_now(void);

/* query.c: read-only questions about the model, for the views and keys */
void mpt_tui_rows_build(mpt_tui_app *a); /* a->rows for the selection, filtered and sorted */
int mpt_tui_row_of_layer(const mpt_tui_app *a, uint32_t layer); /* -1: filtered out */
int mpt_tui_step_is_anomaly(const mpt_tui_app *a, size_t idx);
/* Worst status glyph and style of a status word. */
char mpt_tui_status_glyph(unsigned status);
unsigned mpt_tui_status_style(unsigned status);
int mpt_tui_status_rank(unsigned status);
const char *mpt_tui_status_words(unsigned status, char *buf, size_t n);
/* Step-index range [*a0, *a1] of the selection (a step, or the range with the anchor). */
void mpt_tui_selection(const mpt_tui_app *a, size_t *i0, size_t *i1);
/* The spike entry of step `step` in the analysis, or NULL. */
const mpt_spike *mpt_tui_spike_at(const mpt_tui_app *a, int64_t step);
const char *mpt_tui_sort_name(mpt_tui_sort s);
/* Number formats that never print "not measured" as 0. */
const char *mpt_tui_fmt_num(double v, char *buf, size_t n);       /* %.3g, "-" for NaN */
const char *mpt_tui_fmt_val(double v, char *buf, size_t n);       /* a measured value: NaN "nan" */
const char *mpt_tui_fmt_count(uint64_t v, char *buf, size_t n);   /* 1234, 12.3k, 4.5M */
const char *mpt_tui_dtype_short(unsigned dt);                     /* "f16", "bf16", "?" */

/* keys.c */
void mpt_tui_app_key(mpt_tui_app *a, int key);
void mpt_tui_app_mouse(mpt_tui_app *a, int x, int y, int button);
void mpt_tui_jump(mpt_tui_app *a, int64_t step, uint32_t layer); /* select a step and a layer */

/* draw_*.c: the screen, into a canvas of the terminal's size */
void mpt_tui_render(mpt_tui_app *a, mpt_canvas *c);
void mpt_tui_draw_header(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r);
void mpt_tui_draw_timeline(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r);
void mpt_tui_draw_layers(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r);
void mpt_tui_draw_heatmap(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r);
void mpt_tui_draw_detail(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r);
void mpt_tui_draw_findings(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r);
void mpt_tui_draw_log(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r);
void mpt_tui_draw_help(mpt_tui_app *a, mpt_canvas *c, const mpt_rect *r);
/* The timeline's mapping from plot column to step indices [*i0, *i1) (from the last paint). */
void mpt_tui_timeline_bucket(const mpt_tui_app *a, int col, int width, size_t *i0, size_t *i1);

/* tui.c: the live program's log and exit */
void mpt_tui_log_poll(mpt_tui_app *a);
void mpt_tui_log_free(mpt_tui_log *l);
const char *mpt_tui_log_line(const mpt_tui_app *a, int i); /* 0 = oldest; NULL out of range */
int mpt_tui_child_poll(mpt_tui_app *a);                    /* 1 when it has just exited */
const char *mpt_tui_child_state(const mpt_tui_app *a, char *buf, size_t n);

#endif
