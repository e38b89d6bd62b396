/*
 * Which training step a GEMM belongs to. Three sources, strongest first:
 *
 *  RANGE  an NVTX range whose name matches the step pattern ("train_step 7", "step", ...):
 *         the step is the range; its number is the one in its name, else the count of step
 *         ranges seen before it (from 0). GEMMs outside any step range get step -1.
 *  MARK   "mptrace:step=N" marks, when no step range was seen: the mark ends step N (put it
 *         after the optimizer step, as the reference trainer does) and the GEMMs after it
 *         belong to step N + 1.
 *  AUTO   neither: the repeating sequence of GEMMs is found (mpt_ipx_autostep, below) and
 *         steps are numbered by their ordinal. GEMMs before the period is found get step -1.
 *
 * Every step writes STEP begin/end records (the writer flushes at each end: a live reader sees
 * whole steps), and at its end an inferred "skip" SCALAR (flag INFERRED) when a GEMM that is
 * not recognisably forward produced a non-finite output in it.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "interposer/ipx.h"

/* ---- automatic detection (pure) --------------------------------------------------------------- *
 *
 * Tokens are GEMM signatures and synchronisation points (a device-to-host copy, a stream or
 * device synchronisation: eager training loops read the loss once per step). For every candidate
 * period P the run R(P) of trailing tokens with s[i] == s[i-P] is kept; the smallest P whose last
 * two repetitions agree (R(P) >= P) and whose repeating part contains a synchronisation is the
 * step. Requiring the synchronisation is what keeps the period of one transformer block (which
 * repeats too, L times per step) from being taken for the step; in a program that never
 * synchronises, a period must hold for three repetitions and AUTO_NOSYNC_RUN tokens in a row. Only trailing repetitions count, so
 * warm-up work before the first step does not prevent the lock. Steps then begin right after
 * the template's last synchronisation. After a mismatch (an evaluation pass, a checkpoint) the
 * detector waits for the template's last and first tokens in a row and resumes there.
 */

#define AUTO_MAX_PERIOD 1024
/* Detection stops (steps stay unknown) after this many times the history without a lock. */
#define AUTO_GIVE_UP 8
/* Without synchronisations, a period must repeat unbroken over this many tokens (longer than
 * the layer loops of most models) before it is taken for the step. */
#define AUTO_NOSYNC_RUN 256

struct mpt_ipx_autostep {
    size_t max;        /* history capacity (tokens); also the longest period */
    uint64_t *hist;    /* ring of the last `max` tokens, stored twice ([i] and [i + max]) so that
                        * the window behind any position is contiguous */
    uint32_t *run;     /* run[P] = R(P) for P in [1, max) */
    uint64_t t;        /* tokens fed */
    uint64_t last_sync; /* index + 1 of the last sync token, 0 none */
    uint64_t syncs;     /* sync tokens so far */
    uint64_t *sync_at;  /* ring: `syncs` before each token */
    int gave_up;
    /* after lock */
    size_t period;
    uint64_t *tmpl;    /* template, starting at a step's first token */
    size_t pos;        /* tokens of the current step seen */
    int lost;          /* out of phase since a mismatch */
    uint64_t prev;     /* previous token */
    int64_t number;    /* number of the step in progress (-1 before the first boundary) */
};

mpt_ipx_autostep *mpt_ipx_autostep_new(size_t max_history)
{
    if (max_history < 4) max_history = 4;
    if (max_history > AUTO_MAX_PERIOD) max_history = AUTO_MAX_PERIOD;
    mpt_ipx_autostep *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->max = max_history;
    a->hist = calloc(2 * max_history, sizeof *a->hist);
    a->run = calloc(max_history, sizeof *a->run);
    a->sync_at = calloc(max_history, sizeof *a->sync_at);
    a->number = -1;
    if (!a->hist || !a->run || !a->sync_at) {
        mpt_ipx_autostep_free(a);
        return NULL;
    }
    return a;
}

void mpt_ipx_autostep_free(mpt_ipx_autostep *a)
{
    if (!a) return;
    free(a->hist);
    free(a->run);
    free(a->sync_at);
    free(a->tmpl);
    free(a);
}

size_t mpt_ipx_autostep_period(const mpt_ipx_autostep *a)
{
    return a ? a->period : 0;
}

static uint64_t hist_at(const mpt_ipx_autostep *a, uint64_t i)
{
    return a->hist[i % a->max];
}

/* Called with token t just stored: looks for the smallest confirmed period. */
static void try_lock(mpt_ipx_autostep *a)
{
    uint64_t n = a->t; /* tokens so far, the newest at n - 1 */
    size_t smallest = 0; /* the smallest period holding over its last two repetitions */
    for (size_t p = 1; p < a->max && 2 * (uint64_t)p <= n; p++) {
        if (a->run[p] < p) continue;
        /* Primitive only: a repetition of a shorter period is that period (by Fine and Wilf's
         * theorem the shortest period divides any other that holds over the same tokens). */
        int composite = smallest && p % smallest == 0 && a->run[smallest] >= p;
        if (!smallest) smallest = p;
        if (composite) continue;
        /* A step is at least two GEMMs, synchronisations aside. */
        uint64_t syncs = a->syncs - a->sync_at[(n - p) % a->max];
        if (p - syncs < 2) continue;
        int sync = syncs > 0;
        if (!sync && (a->last_sync || a->run[p] < 2 * p || a->run[p] < AUTO_NOSYNC_RUN)) continue;
        uint64_t *tmpl = malloc(p * sizeof *tmpl);
        if (!tmpl) {
            a->gave_up = 1;
            return;
        }
        /* The step starts after the last sync of the period (or at the period's start). */
        uint64_t start = sync ? a->last_sync : n - p; /* index of a step's first token */
        for (size_t x = 0; x < p; x++)
            tmpl[x] = hist_at(a, n - p + ((start - (n - p)) + x) % p);
        a->tmpl = tmpl;
        a->period = p;
        /* Tokens of the step in progress already seen; p: it is complete, the next token
         * begins the next one. */
        a->pos = (size_t)(n - start);
        if (a->pos == 0) a->pos = p;
        uint64_t boundary = a->pos == p ? n : start + p; /* index of the next step's start */
        a->number = (int64_t)(boundary / p) - 1;          /* that step is number + 1 */
        free(a->hist);
        free(a->run);
        free(a->sync_at);
        a->hist = NULL;
        a->run = NULL;
        a->sync_at = NULL;
        return;
    }
}

int mpt_ipx_autostep_feed(mpt_ipx_autostep *a, uint64_t token, int64_t *number, int *locked)
{
    *locked = 0;
    if (!a || a->gave_up) return 0;
    if (!a->period) {
        uint64_t n = a->t;
        /* run[p] for every candidate period: one pass over a contiguous window (s[n - p] is
         * back[-p]), which the compiler vectorises. */
        const uint64_t *back = a->hist + n % a->max + a->max;
        size_t top = n < a->max ? (size_t)n + 1 : a->max;
        uint32_t *run = a->run;
        for (size_t p = 1; p < top; p++)
            run[p] = back[-(ptrdiff_t)p] == token ? run[p] + 1 : 0;
        a->hist[n % a->max] = token;
        a->hist[n % a->max + a->max] = token;
        a->sync_at[n % a->max] = a->syncs;
        a->t = n + 1;
        if (token == MPT_IPX_SYNC_TOKEN) a->last_sync = a->t, a->syncs++;
        try_lock(a);
        a->prev = token;
        if (!a->period && a->t >= AUTO_GIVE_UP * (uint64_t)a->max) a->gave_up = 1;
        *locked = a->period != 0;
        return 0;
    }
    *locked = 1;
    int begin = 0;
    if (a->lost) {
        if (a->prev == a->tmpl[a->period - 1] && token == a->tmpl[0]) {
            a->lost = 0;
            a->pos = 0;
            begin = 1;
        }
    } else {
        if (a->pos >= a->period) {
            a->pos = 0;
            begin = 1;
        }
        if (token != a->tmpl[a->pos]) {
            a->lost = 1;
            begin = 0;
        }
    }
    if (begin) *number = ++a->number;
    if (!a->lost) a->pos++;
    a->prev = token;
    return begin;
}

/* ---- the process's step state ------------------------------------------------------------------ */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static mpt_ipx_step_source source;
static int in_step;
static int64_t cur = -1;
static uint32_t ordinal;       /* GEMMs so far in the step (or outside steps) */
static int64_t ranges_seen;    /* step ranges begun: numbers unnumbered ones */
static int64_t pending_begin = -1; /* MARK: the step the next GEMM begins */
static int nonfinite_bwd;
static mpt_ipx_autostep *autostep;
static int auto_failed;

static void write_step(int64_t step, mpt_step_phase phase, uint32_t tid)
{
    mpt_trace_writer *w = mpt_ipx_writer(NULL);
    if (!w) return;
    if (phase == MPT_STEP_END && nonfinite_bwd) {
        mpt_trace_scalar s = {step, mpt_trace_now_ns(), mpt_trace_writer_intern(w, "skip"),
                              MPT_SCALAR_INFERRED, 1.0};
        mpt_trace_writer_scalar(w, &s);
    }
    mpt_trace_step r = {step, mpt_trace_now_ns(), tid, phase};
    mpt_trace_writer_step(w, &r);
}

/* Both with mu held. */
static void end_locked(uint32_t tid)
{
    if (!in_step) return;
    write_step(cur, MPT_STEP_END, tid);
    in_step = 0;
    nonfinite_bwd = 0;
}

static void begin_locked(int64_t step, uint32_t tid)
{
    end_locked(tid);
    cur = step;
    in_step = 1;
    ordinal = 0;
    nonfinite_bwd = 0;
    write_step(step, MPT_STEP_BEGIN, tid);
}

static void drop_auto_locked(void)
{
    mpt_ipx_autostep_free(autostep);
    autostep = NULL;
}

int mpt_ipx_step_match(const regex_t *re, const char *name, int64_t *number)
{
    if (regexec(re, name, 0, NULL, 0) != 0) return 0;
    *number = -1;
    for (const char *p = name; *p; p++)
        if (*p >= '0' && *p <= '9') {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (v >= 0) *number = v;
            break;
        }
    return 1;
}

void mpt_ipx_steps_range_begin(const char *name, int64_t number, uint32_t tid)
{
    (void)name;
    pthread_mutex_lock(&mu);
    if (source != MPT_IPX_STEPS_RANGE) {
        if (source == MPT_IPX_STEPS_AUTO || source == MPT_IPX_STEPS_MARK) end_locked(tid);
        source = MPT_IPX_STEPS_RANGE;
        pending_begin = -1;
        drop_auto_locked();
    }
    begin_locked(number >= 0 ? number : ranges_seen, tid);
    ranges_seen++;
    pthread_mutex_unlock(&mu);
}

void mpt_ipx_steps_range_end(uint32_t tid)
{
    pthread_mutex_lock(&mu);
    end_locked(tid);
    ordinal = 0;
    pthread_mutex_unlock(&mu);
    mpt_ipx_step_boundary();
}

void mpt_ipx_steps_mark(int64_t n, uint32_t tid)
{
    pthread_mutex_lock(&mu);
    int boundary = 0;
    if (source != MPT_IPX_STEPS_RANGE) {
        if (source != MPT_IPX_STEPS_MARK) {
            drop_auto_locked();
            source = MPT_IPX_STEPS_MARK;
        }
        end_locked(tid);
        pending_begin = n + 1;
        boundary = 1;
    }
    pthread_mutex_unlock(&mu);
    if (boundary) mpt_ipx_step_boundary();
}

int64_t mpt_ipx_steps_current(void)
{
    pthread_mutex_lock(&mu);
    int64_t s = in_step ? cur : (source == MPT_IPX_STEPS_MARK ? pending_begin - 1 : -1);
    pthread_mutex_unlock(&mu);
    return s;
}

/* AUTO/NONE: one token into the detector. mu held. */
static void feed_locked(uint64_t token, uint32_t tid)
{
    if (auto_failed) return;
    if (!autostep) {
        autostep = mpt_ipx_autostep_new(AUTO_MAX_PERIOD);
        if (!autostep) {
            auto_failed = 1;
            return;
        }
    }
    int64_t number;
    int locked;
    if (mpt_ipx_autostep_feed(autostep, token, &number, &locked)) begin_locked(number, tid);
    if (locked) source = MPT_IPX_STEPS_AUTO;
}

mpt_ipx_step_ctx mpt_ipx_steps_on_gemm(uint64_t signature, uint32_t tid)
{
    pthread_mutex_lock(&mu);
    if (source == MPT_IPX_STEPS_MARK && pending_begin >= 0) {
        begin_locked(pending_begin, tid);
        pending_begin = -1;
    } else if (source == MPT_IPX_STEPS_NONE || source == MPT_IPX_STEPS_AUTO) {
        feed_locked(signature == MPT_IPX_SYNC_TOKEN ? signature + 1 : signature, tid);
    }
    mpt_ipx_step_ctx c = {in_step ? cur : -1, ordinal++};
    pthread_mutex_unlock(&mu);
    return c;
}

void mpt_ipx_steps_on_sync(uint32_t tid)
{
    pthread_mutex_lock(&mu);
    if (source == MPT_IPX_STEPS_NONE || source == MPT_IPX_STEPS_AUTO)
        feed_locked(MPT_IPX_SYNC_TOKEN, tid);
    pthread_mutex_unlock(&mu);
}

void mpt_ipx_steps_finish(uint32_t tid)
{
    /* A trylock: this runs at exit, possibly while another thread is stopped inside. */
    if (pthread_mutex_trylock(&mu) != 0) return;
    end_locked(tid);
    pthread_mutex_unlock(&mu);
}

void mpt_ipx_steps_note_nonfinite(int64_t step, int backward)
{
    pthread_mutex_lock(&mu);
    if (in_step && step == cur && backward) nonfinite_bwd = 1;
    pthread_mutex_unlock(&mu);
}

mpt_ipx_step_source mpt_ipx_steps_source(void)
{
    pthread_mutex_lock(&mu);
    mpt_ipx_step_source s = source;
    pthread_mutex_unlock(&mu);
    return s;
}

void mpt_ipx_steps_reset(void)
{
    pthread_mutex_init(&mu, NULL);
    source = MPT_IPX_STEPS_NONE;
    in_step = 0;
    cur = -1;
    ordinal = 0;
    ranges_seen = 0;
    pending_begin = -1;
    nonfinite_bwd = 0;
    autostep = NULL; /* a fork child may not free what another thread was using */
    auto_failed = 0;
}
