/*
 * The TUI's state over time: opening the traces, reading them in time-bounded slices so the
 * screen paints and keys answer while a large trace is still loading (and while a live one
 * grows), re-running the analysis when the model has moved, and keeping the selection sane as
 * steps and layers appear.
 *
 * Why slices: the model is not thread-safe (analyzer/model.h), so reading happens on the one
 * thread, between keys. A tick either reads for at most `budget_s`, or, while a big trace is
 * still streaming in, re-runs the analysis (O(layers x columns + steps)) when `reanalyse_s`
 * has passed since the last one: never both, so a key typed meanwhile waits for one of them
 * only. When reading stops (the end of the file, or a live trace caught up) the analysis is
 * redone at once, so the first paint of a big trace never waits for the whole file, a live
 * step shows with its analysis in the same tick, and a finished load ends exact.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tui/app.h"

double mpt_tui_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void mpt_tui_opts_init(mpt_tui_opts *o)
{
    memset(o, 0, sizeof *o);
    o->color = -1;
}

static const char *const view_names[MPT_VIEW_COUNT] = {"layers", "heatmap", "findings", "detail",
                                                       "log"};

int mpt_tui_view_parse(const char *name)
{
    for (int i = 0; name && i < MPT_VIEW_COUNT; i++)
        if (strcmp(name, view_names[i]) == 0) return i;
    return -1;
}

const char *mpt_tui_view_name(int view)
{
    return view >= 0 && view < MPT_VIEW_COUNT ? view_names[view] : "?";
}

/* UTF-8 from the environment, as setlocale(LC_CTYPE, "") would decide, without calling it (a
 * snapshot must not depend on whether the caller set the locale). */
static int env_utf8(void)
{
    const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v) continue;
        return strstr(v, "UTF-8") || strstr(v, "utf-8") || strstr(v, "UTF8") || strstr(v, "utf8");
    }
    return 0;
}

static int open_trace(mpt_tui_app *a, const char *path, char *err, size_t errlen)
{
    unsigned flags = a->follow ? MPT_TRACE_FOLLOW : 0;
    return mpt_model_open(a->model, path, flags, err, errlen) < 0 ? -1 : 0;
}

int mpt_tui_app_init(mpt_tui_app *a, const mpt_tui_opts *o, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->layer = MPT_NO_LAYER;
    a->range_anchor = -1;
    a->follow = o->follow || o->child;
    a->loading = 1;
    a->child = o->child;
    a->unicode = !o->ascii && env_utf8();
    a->follow_tail = 1;
    a->an_time = -1e9;
    if (o->view) {
        int v = mpt_tui_view_parse(o->view);
        if (v < 0) {
            snprintf(err, errlen, "unknown view '%s' (views: %s)", o->view, MPT_TUI_VIEW_LIST);
            return -1;
        }
        a->view = a->back_view = (mpt_tui_view)v;
    }
    a->want_step = o->have_step;
    a->want = o->step;
    a->model = mpt_model_new(NULL);
    a->pending = calloc((size_t)(o->ntraces > 0 ? o->ntraces : 1), sizeof *a->pending);
    if (!a->model || !a->pending) goto oom;
    if (o->log_path && !(a->log_path = strdup(o->log_path))) goto oom;
    if (o->program && !(a->program = strdup(o->program))) goto oom;
    if (o->layer && !(a->want_layer = strdup(o->layer))) goto oom;
    for (int i = 0; i < o->ntraces; i++) {
        struct stat st;
        if (a->child || (a->follow && stat(o->traces[i], &st) != 0 && errno == ENOENT)) {
            /* not written yet: the program (or the one we attach to) will create it. A live
             * program's trace waits until it is that program's (see open_pending) */
            if (!(a->pending[a->npending++] = strdup(o->traces[i]))) goto oom;
            continue;
        }
        if (open_trace(a, o->traces[i], err, errlen) != 0) {
            mpt_tui_app_free(a);
            return -1;
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    mpt_tui_app_free(a);
    return -1;
}

void mpt_tui_app_free(mpt_tui_app *a)
{
    mpt_analysis_free(a->an);
    mpt_model_free(a->model);
    for (int i = 0; i < a->npending; i++)
        free(a->pending[i]);
    free(a->pending);
    free(a->open_error);
    free(a->log_path);
    free(a->program);
    free(a->want_layer);
    mpt_tui_log_free(&a->log);
    free(a->rows);
    memset(a, 0, sizeof *a);
}

/* Live mode: 1 when the file at path is the trace of our program (its header names the pid),
 * not a previous run's left at the same path that the program has yet to replace. */
static int is_childs_trace(const mpt_tui_app *a, const char *path)
{
    char err[600];
    mpt_trace_reader *r = mpt_trace_reader_open(path, MPT_TRACE_FOLLOW, err, sizeof err);
    if (!r) return 0;
    const mpt_trace_header *h = mpt_trace_reader_header(r);
    int ours = h && h->pid == (int32_t)a->child;
    mpt_trace_reader_close(r);
    return ours;
}

static void open_pending(mpt_tui_app *a)
{
    char err[600];
    for (int i = 0; i < a->npending;) {
        struct stat st;
        if (stat(a->pending[i], &st) != 0 || (a->child && !is_childs_trace(a, a->pending[i]))) {
            i++;
            continue;
        }
        if (open_trace(a, a->pending[i], err, sizeof err) != 0) {
            /* a file created but not yet a readable trace start is retried; keep the reason */
            free(a->open_error);
            a->open_error = strdup(err);
            i++;
            continue;
        }
        free(a->pending[i]);
        a->pending[i] = a->pending[--a->npending];
    }
}

static void analyse(mpt_tui_app *a)
{
    mpt_analysis *an = mpt_analyze(a->model, NULL);
    if (!an) return; /* out of memory: keep the previous answer */
    mpt_analysis_free(a->an);
    a->an = an;
    a->an_gen = mpt_model_generation(a->model);
    a->an_time = mpt_tui_now();
}

/* Keeps the selection on something that exists, and on the newest step when following. */
static void settle_selection(mpt_tui_app *a)
{
    size_t n = mpt_model_nsteps(a->model);
    if (a->want_step && mpt_tui_app_select_step(a, a->want) == 0) {
        a->want_step = 0;
        const mpt_step *s = mpt_tui_app_step(a); /* like n: the layer where the step went wrong */
        if (!a->want_layer && s->nonfinite_gemms && s->first_nf_layer != MPT_NO_LAYER)
            a->layer = s->first_nf_layer;
    }
    if (a->want_layer) {
        uint32_t l = mpt_model_find_layer(a->model, a->want_layer);
        if (l != MPT_NO_LAYER) {
            a->layer = l;
            free(a->want_layer);
            a->want_layer = NULL;
        }
    }
    if (n && (a->follow_tail || a->step_idx >= n)) a->step_idx = n - 1;
    if (a->range_anchor >= (long)n) a->range_anchor = -1;
    uint32_t nl = mpt_model_nlayers(a->model);
    if (nl && (a->layer == MPT_NO_LAYER || a->layer >= nl)) a->layer = 0;
}

int mpt_tui_app_tick(mpt_tui_app *a, double budget_s, double reanalyse_s)
{
    int changed = 0;
    uint64_t gen0 = mpt_model_generation(a->model);
    if (a->npending) open_pending(a);
    if (a->child && mpt_tui_child_poll(a)) changed = 1;
    if (a->log_path) {
        long long before = a->log.offset;
        mpt_tui_log_poll(a);
        if (a->log.offset != before) changed = 1;
    }
    int stale = !a->an || gen0 != a->an_gen;
    if (stale && a->an && a->busy && mpt_tui_now() - a->an_time >= reanalyse_s) {
        /* a tick of its own: reading and analysing in one would make a key wait for both */
        analyse(a);
        changed = 1;
    } else {
        double t0 = mpt_tui_now();
        mpt_poll_status ps;
        do {
            ps = mpt_model_poll(a->model, 4096);
        } while (ps == MPT_POLL_MORE && mpt_tui_now() - t0 < budget_s);
        a->busy = ps == MPT_POLL_MORE;
        uint64_t gen = mpt_model_generation(a->model);
        if (gen != gen0) changed = 1;
        /* the first answer, and the exact one when reading stops (a live step: a few records) */
        if ((gen != a->an_gen || !a->an) && (!a->an || !a->busy)) analyse(a);
    }
    if (a->loading && !a->busy && !a->npending && a->an &&
        a->an_gen == mpt_model_generation(a->model)) {
        a->loading = 0;
        changed = 1;
    }
    settle_selection(a);
    return changed;
}

void mpt_tui_app_load_all(mpt_tui_app *a)
{
    if (a->npending) open_pending(a);
    while (mpt_model_poll(a->model, 0) == MPT_POLL_MORE) {
    }
    a->loading = 0;
    if (a->child) mpt_tui_child_poll(a);
    if (a->log_path) mpt_tui_log_poll(a);
    if (!a->an || mpt_model_generation(a->model) != a->an_gen) analyse(a);
    settle_selection(a);
}

int mpt_tui_app_select_step(mpt_tui_app *a, int64_t step)
{
    size_t lo = 0, hi = mpt_model_nsteps(a->model); /* the steps are in step order */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mpt_model_step(a->model, mid)->step < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == mpt_model_nsteps(a->model) || mpt_model_step(a->model, lo)->step != step) return -1;
    a->step_idx = lo;
    a->follow_tail = lo + 1 == mpt_model_nsteps(a->model) && a->follow && !a->want_step;
    return 0;
}

const mpt_step *mpt_tui_app_step(const mpt_tui_app *a)
{
    return mpt_model_step(a->model, a->step_idx);
}
