/*
 * One GEMM, from decoded call to records: the cost policy and the pipeline.
 *
 * Policy (docs/interposer.md, "Cost controls"), decided per GEMM before the call:
 *   none   statistics off (MPTRACE_STATS=0), layer filtered out (MPTRACE_LAYERS), a type the
 *          reducer does not read, or memory the host may not read (a real GPU: the GPU kernel's
 *          job); the GEMM record still says what was called, and why nothing was measured;
 *   cheap  the default for every GEMM of every step: count, NaN, Inf and absmax of the output
 *          (and of C when beta != 0, read before the call overwrites it);
 *   full   every MPTRACE_EVERY-th step, always with MPTRACE_FULL, and automatically from the
 *          moment a cheap pass sees a non-finite value or an absmax MPTRACE_ANOMALY_FACTOR
 *          times the largest earlier one of the same GEMM, until that step ends: histograms and
 *          narrow-format counts of D, A, B, C and the bias, plus the precision sample. The GEMM
 *          that tripped the alarm is upgraded at once (its inputs are unchanged after the call).
 *
 * Pipeline: begin() takes the sequence number, step, layer and call site, reads alpha/beta and
 * whatever of C the policy needs (before the library overwrites it); the hook calls the real
 * function; end() measures D and the inputs, writes GEMM, then TENSOR and PRECISION records.
 *
 * Which reducer measures: the host reducer (operand.c) when device memory is host-readable
 * (simcuda, MPTRACE_HOST_READABLE=1); else the GPU path (recorder_gpu.c: the statistics kernel
 * queued on the GEMM's stream, results drained later) when it can run; else nothing, with skip
 * reason "unreadable".
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interposer/gpu_stats.h"
#include "interposer/ipx.h"

/* ---- per-GEMM history for the absmax alarm ----------------------------------------------------- */

#define HIST_SLOTS 4096 /* distinct GEMM signatures remembered */
#define HIST_MIN_SEEN 3 /* observations before a jump counts */

typedef struct hist_slot {
    uint64_t key; /* signature; 0 empty */
    uint32_t seen;
    double max_absmax;
} hist_slot;

static pthread_mutex_t hist_mu = PTHREAD_MUTEX_INITIALIZER;
static hist_slot hist[HIST_SLOTS];

/* Records absmax for key; returns 1 when it is a jump against the history. */
static int hist_note(uint64_t key, double absmax, double factor)
{
    if (key == 0) key = 1;
    int jump = 0;
    pthread_mutex_lock(&hist_mu);
    for (size_t n = 0, i = key & (HIST_SLOTS - 1); n < HIST_SLOTS; n++, i = (i + 1) & (HIST_SLOTS - 1)) {
        hist_slot *s = &hist[i];
        if (s->key != key && s->key != 0) continue;
        if (s->key == 0) s->key = key;
        if (s->seen >= HIST_MIN_SEEN && s->max_absmax > 0 && absmax > factor * s->max_absmax)
            jump = 1;
        if (absmax > s->max_absmax) s->max_absmax = absmax;
        s->seen++;
        break;
    }
    pthread_mutex_unlock(&hist_mu);
    return jump;
}

/* Full statistics until the end of this step, after an alarm. Steps unknown (-1): for the next
 * ANOMALY_BUDGET GEMMs instead. */
#define ANOMALY_BUDGET 256
static _Atomic int64_t anomaly_step = INT64_MIN;
static atomic_int anomaly_budget;

void mpt_ipx_recorder_reset(void)
{
    pthread_mutex_init(&hist_mu, NULL);
    memset(hist, 0, sizeof hist);
    atomic_store(&anomaly_step, INT64_MIN);
    atomic_store(&anomaly_budget, 0);
}

static void raise_alarm(int64_t step)
{
    if (step >= 0)
        atomic_store(&anomaly_step, step);
    else
        atomic_store(&anomaly_budget, ANOMALY_BUDGET);
}

int mpt_ipx_alarm_note(uint64_t signature, double absmax)
{
    return hist_note(signature, absmax, mpt_ipx_config_get()->anomaly_factor);
}

void mpt_ipx_alarm_raise(int64_t step)
{
    raise_alarm(step);
}

static int want_full(const mpt_ipx_config *cfg, int64_t step)
{
    if (cfg->full) return 1;
    if (step >= 0) {
        if (cfg->every > 0 && step % cfg->every == 0) return 1;
        return atomic_load_explicit(&anomaly_step, memory_order_relaxed) == step;
    }
    if (atomic_load_explicit(&anomaly_budget, memory_order_relaxed) > 0) {
        atomic_fetch_sub(&anomaly_budget, 1);
        return 1;
    }
    return 0;
}

/* ---- names ------------------------------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xbf58476d1ce4e5b9ull;
}

uint64_t mpt_ipx_gemm_signature(const mpt_ipx_gemm *g, uint32_t layer_hash)
{
    uint64_t h = mix(0x6d707472ull, (uint64_t)(uintptr_t)g->api); /* API names are static */
    h = mix(h, (uint64_t)g->m);
    h = mix(h, (uint64_t)g->n);
    h = mix(h, (uint64_t)g->k);
    h = mix(h, (uint64_t)g->batch);
    h = mix(h, (uint64_t)(g->transa | g->transb << 2 | g->a.dtype << 4 | g->b.dtype << 12 |
                          g->d.dtype << 20) | (uint64_t)g->epilogue << 32);
    h = mix(h, layer_hash);
    return h ^ (h >> 29);
}

/* 1 when a path component says "forward" ("fwd", "forward", case-insensitive). */
static int is_forward(const char *path)
{
    for (const char *p = path; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if ((n == 3 && !strncasecmp(p, "fwd", 3)) || (n == 7 && !strncasecmp(p, "forward", 7)))
            return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

static int layer_selected(const mpt_ipx_config *cfg, const char *layer)
{
    return !cfg->has_layers || regexec(&cfg->layers, layer, 0, NULL, 0) == 0;
}

static double read_scalar(mpt_dtype t, const void *p)
{
    return p ? mpt_dtype_load(t, p, 0) : NAN;
}

/* The string id of a call site (name == NULL: symbolise `key`) or an API name, from the
 * thread's small cache: the symboliser and the writer's string table are shared and locked. */
static uint32_t cached_id(mpt_ipx_thread *t, mpt_trace_writer *w, uint32_t gen, const void *key,
                          const char *name)
{
    size_t h = (size_t)(((uintptr_t)key * 0x9e3779b97f4a7c15ull) >> 58);
    struct mpt_ipx_id_cache *c = &t->ids[h];
    if (c->key == key && c->gen == gen && c->id) return c->id;
    char site[512];
    if (!name) {
        if (mpt_ipx_symbolize(key, 1, site, sizeof site) == 0) return 0;
        name = site;
    }
    uint32_t id = mpt_trace_writer_intern(w, name);
    if (id) *c = (struct mpt_ipx_id_cache){key, gen, id};
    return id;
}

/* ---- begin ------------------------------------------------------------------------------------- */

int mpt_ipx_gemm_begin(mpt_ipx_thread *t, const mpt_ipx_gemm *g, mpt_ipx_pending *p)
{
    memset(p, 0, sizeof *p);
    uint32_t gen;
    mpt_trace_writer *w = mpt_ipx_writer(&gen);
    if (!w) return -1;
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    p->w = w;
    p->gen = gen;
    p->seq = mpt_trace_writer_next_seq(w);
    p->ts = mpt_trace_now_ns();
    p->tid = t->tid;

    /* Layer: the NVTX path (its id, hash and properties cached per thread until the path
     * changes), else the program's call path, else (below) the ordinal in the step. */
    const char *path = mpt_ipx_layer_path(t);
    char buf[MPT_IPX_PATH_LEN];
    const char *layer = path;
    int from_nvtx = path[0] != '\0', cached = 0;
    uint32_t layer_hash;
    if (from_nvtx && t->cached_gen == gen && t->cached_version == t->path_version &&
        t->cached_layer) {
        cached = 1;
        layer_hash = t->cached_hash;
    } else {
        if (!from_nvtx && mpt_ipx_callpath(cfg->callsite_depth, buf, sizeof buf) == 0)
            buf[0] = '\0';
        if (!from_nvtx) layer = buf;
        layer_hash = (uint32_t)fnv(0xcbf29ce484222325ull, layer, strlen(layer));
    }
    p->signature = mpt_ipx_gemm_signature(g, layer_hash);
    p->sc = mpt_ipx_steps_on_gemm(p->signature, t->tid);
    int selected;
    if (cached) {
        p->layer = t->cached_layer;
        p->backward = t->cached_backward;
        selected = t->cached_selected;
    } else {
        if (!layer[0]) {
            snprintf(buf, sizeof buf, "op#%u", p->sc.ordinal);
            layer = buf;
        }
        p->layer = mpt_trace_writer_intern(w, layer);
        p->backward = !is_forward(layer);
        selected = layer_selected(cfg, layer);
        if (from_nvtx) {
            t->cached_layer = p->layer;
            t->cached_version = t->path_version;
            t->cached_gen = gen;
            t->cached_hash = layer_hash;
            t->cached_backward = p->backward;
            t->cached_selected = selected;
        }
    }
    p->callsite = g->return_address ? cached_id(t, w, gen, g->return_address, NULL) : 0;
    p->api = cached_id(t, w, gen, g->api, g->api);

    /* Scalars: host pointers always readable; device pointers only when memory is. Operands:
     * the host reducer when memory is host-readable, else the GPU path when it can run. */
    int host = g->check == 0 && mpt_ipx_host_readable();
    p->gpu = !host && g->check == 0 && cfg->stats && mpt_ipx_gpu_path();
    int readable = host || p->gpu;
    if (!g->scalars_on_device || host) {
        p->alpha = read_scalar(g->scale_dtype, g->alpha);
        p->beta = read_scalar(g->scale_dtype, g->beta);
    } else {
        p->alpha = p->beta = NAN;
    }

    if (!cfg->stats) {
        p->skip = MPT_SKIP_FILTERED;
    } else if (g->check != 0) {
        p->skip = MPT_SKIP_UNSUPPORTED;
    } else if (!readable) {
        p->skip = MPT_SKIP_UNREADABLE;
    } else if (p->gpu && !MPT_GPU_DTYPE_OK(g->d.dtype)) {
        p->skip = MPT_SKIP_UNSUPPORTED; /* fp64 output: only the host reducer reads it */
    } else if (!selected) {
        p->skip = MPT_SKIP_FILTERED;
    } else if (mpt_ipx_stream_capturing && mpt_ipx_stream_capturing(g->stream)) {
        /* Captured into a graph: the product runs later, when the graph is launched. */
        p->skip = MPT_SKIP_GRAPH_CAPTURE;
        static atomic_int said;
        if (!atomic_exchange(&said, 1))
            mpt_trace_writer_message(w, MPT_MSG_WARN,
                                     "statistics skipped: stream under CUDA graph capture");
    } else {
        p->level = want_full(cfg, p->sc.step) ? MPT_LEVEL_FULL : MPT_LEVEL_CHEAP;
    }
    if (p->level == MPT_LEVEL_NONE) return 0;

    /* C is an input when beta != 0, and the call overwrites it (C == D): measure it now. */
    if (p->gpu) {
        if (p->beta != 0 && g->c.rows > 0 && g->c.cols > 0 && MPT_GPU_DTYPE_OK(g->c.dtype))
            mpt_ipx_gpu_begin_c(g, p, p->level == MPT_LEVEL_FULL && cfg->inputs);
        return 0; /* no precision sample: not measured on the GPU path (docs/interposer.md) */
    }
    if (p->beta != 0 && g->c.rows > 0 && g->c.cols > 0) {
        if (p->level == MPT_LEVEL_FULL && cfg->inputs) {
            p->c_full = malloc(sizeof *p->c_full);
            if (p->c_full && mpt_ipx_operand_full(&g->c, g->batch, p->c_full) == 0) {
                p->c_level = MPT_LEVEL_FULL;
                p->have_c_stats = 1;
            }
        }
        if (!p->have_c_stats && mpt_ipx_operand_cheap(&g->c, g->batch, &p->c_cheap) == 0) {
            p->c_level = MPT_LEVEL_CHEAP;
            p->have_c_stats = 1;
        }
    }
    if (p->level == MPT_LEVEL_FULL && cfg->sample > 0 && !g->no_sample)
        p->sample = mpt_ipx_sample_plan(g, cfg->sample, cfg->seed, p->seq, p->beta);
    return 0;
}

/* ---- end --------------------------------------------------------------------------------------- */

static void write_tensor(mpt_trace_writer *w, uint64_t seq, mpt_tensor_role role,
                         const mpt_ipx_operand *o, int64_t batch, mpt_stat_level level,
                         const mpt_cheap_stats *c, const mpt_stats *s)
{
    mpt_trace_tensor_info info = {seq, role, o->dtype, o->rows, o->cols, batch};
    if (level == MPT_LEVEL_FULL)
        mpt_trace_writer_tensor_full(w, &info, s);
    else
        mpt_trace_writer_tensor_cheap(w, &info, c);
}

/* Full statistics of an input operand, written at once. */
static void input_full(mpt_trace_writer *w, uint64_t seq, mpt_tensor_role role,
                       const mpt_ipx_operand *o, int64_t batch, mpt_stats *scratch)
{
    if (o->rows == 0 || o->cols == 0) return;
    if (mpt_ipx_operand_full(o, batch, scratch) == 0)
        write_tensor(w, seq, role, o, batch, MPT_LEVEL_FULL, NULL, scratch);
}

static void cheap_from_full(const mpt_stats *s, mpt_cheap_stats *c)
{
    c->count = s->count;
    c->nan = s->nan;
    c->inf = s->pinf + s->ninf;
    c->absmax = s->absmax;
}

int mpt_ipx_write_gemm(const mpt_ipx_gemm *g, const mpt_ipx_pending *p, mpt_stat_level max_level)
{
    uint32_t flags = 0;
    if (g->bias) flags |= MPT_GEMM_HAS_BIAS;
    if (!g->c_is_d) flags |= MPT_GEMM_C_NOT_D;
    if (isnan(p->alpha) && g->scalars_on_device) flags |= MPT_GEMM_SCALARS_ON_DEVICE;
    if (g->tf32_math) flags |= MPT_GEMM_TF32_MATH;
    mpt_trace_gemm r = {
        .seq = p->seq,
        .ts_ns = p->ts,
        .stream = g->stream,
        .step = p->sc.step,
        .tid = p->tid,
        .ordinal = p->sc.ordinal,
        .layer = p->layer,
        .callsite = p->callsite,
        .api = p->api,
        .compute_raw = g->compute_raw,
        .epilogue_raw = g->epilogue_raw,
        .flags = flags,
        .transa = (uint8_t)g->transa,
        .transb = (uint8_t)g->transb,
        .compute = g->compute,
        .epilogue = g->epilogue,
        .dtype_a = g->a.dtype,
        .dtype_b = g->b.dtype,
        .dtype_c = g->c.dtype,
        .dtype_d = g->d.dtype,
        .dtype_bias = g->bias ? g->bias_dtype : MPT_DT_UNKNOWN,
        .level = max_level,
        .skip = max_level == MPT_LEVEL_NONE ? p->skip : MPT_SKIP_NONE,
        .m = g->m, .n = g->n, .k = g->k, .batch = g->batch,
        .lda = g->a.ld, .ldb = g->b.ld, .ldc = g->c.ld, .ldd = g->d.ld,
        .stride_a = g->a.stride, .stride_b = g->b.stride,
        .stride_c = g->c.stride, .stride_d = g->d.stride,
        .alpha = p->alpha,
        .beta = p->beta,
    };
    return mpt_trace_writer_gemm(p->w, &r);
}

void mpt_ipx_gemm_end(mpt_ipx_thread *t, const mpt_ipx_gemm *g, mpt_ipx_pending *p, int ok)
{
    if (p->gpu && p->level != MPT_LEVEL_NONE) {
        mpt_ipx_gpu_end(t, g, p, ok);
        return;
    }
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    mpt_trace_writer *w = p->w;
    mpt_stats *scratch = NULL;
    (void)t;
    if (!ok) goto done; /* the library refused the call: nothing happened, nothing to record */

    mpt_cheap_stats dc = {0};
    mpt_stat_level level = p->level;
    if (level != MPT_LEVEL_NONE) {
        scratch = malloc(sizeof *scratch);
        if (!scratch) {
            level = MPT_LEVEL_NONE;
            p->skip = MPT_SKIP_ERROR;
        }
    }
    if (level == MPT_LEVEL_CHEAP) {
        if (mpt_ipx_operand_cheap(&g->d, g->batch, &dc) != 0) {
            level = MPT_LEVEL_NONE;
            p->skip = MPT_SKIP_UNREADABLE;
        } else {
            int alarm = dc.nan || dc.inf;
            if (hist_note(p->signature, dc.absmax, cfg->anomaly_factor)) alarm = 1;
            if (alarm) {
                raise_alarm(p->sc.step);
                level = MPT_LEVEL_FULL; /* this GEMM too: its inputs are still there */
                if (cfg->sample > 0 && !g->no_sample && (p->beta == 0 || !g->c_is_d) && !p->sample)
                    p->sample = mpt_ipx_sample_plan(g, cfg->sample, cfg->seed, p->seq, p->beta);
            }
        }
    }
    if (level == MPT_LEVEL_FULL) {
        if (mpt_ipx_operand_full(&g->d, g->batch, scratch) != 0) {
            level = MPT_LEVEL_NONE;
            p->skip = MPT_SKIP_UNREADABLE;
        } else {
            cheap_from_full(scratch, &dc);
            if (p->level == MPT_LEVEL_FULL) hist_note(p->signature, dc.absmax, cfg->anomaly_factor);
            if (dc.nan || dc.inf) raise_alarm(p->sc.step);
        }
    }
    if (level != MPT_LEVEL_NONE && (dc.nan || dc.inf))
        mpt_ipx_steps_note_nonfinite(p->sc.step, p->backward);

    mpt_stat_level max_level = level;
    if (p->have_c_stats && p->c_level > max_level) max_level = p->c_level;
    if (mpt_ipx_write_gemm(g, p, max_level) != 0) goto failed;
    if (level != MPT_LEVEL_NONE)
        write_tensor(w, p->seq, MPT_ROLE_D, &g->d, g->batch, level, &dc, scratch);
    if (p->have_c_stats)
        write_tensor(w, p->seq, MPT_ROLE_C, &g->c, g->batch, p->c_level, &p->c_cheap, p->c_full);
    if (level == MPT_LEVEL_FULL && cfg->inputs) {
        input_full(w, p->seq, MPT_ROLE_A, &g->a, g->batch, scratch);
        input_full(w, p->seq, MPT_ROLE_B, &g->b, g->batch, scratch);
        if (g->bias) {
            mpt_ipx_operand bias = {.ptr = g->bias, .dtype = g->bias_dtype, .order = MPT_ORDER_COL,
                                    .rows = g->m, .cols = 1, .ld = g->m > 0 ? g->m : 1};
            input_full(w, p->seq, MPT_ROLE_BIAS, &bias, 1, scratch);
        }
    }
    if (level == MPT_LEVEL_FULL && p->sample) {
        mpt_trace_precision prec;
        mpt_ipx_sample_measure(g, p->sample, p->alpha, p->beta, &prec);
        prec.seq = p->seq;
        mpt_trace_writer_precision(w, &prec);
    }
    mpt_ipx_maybe_flush(p->ts);
failed:
    if (mpt_trace_writer_error(w)) {
        char why[400];
        snprintf(why, sizeof why, "trace write failed: %s", mpt_trace_writer_error(w));
        mpt_ipx_degrade(why);
    }
done:
    free(scratch);
    free(p->c_full);
    mpt_ipx_sample_free(p->sample);
    p->c_full = NULL;
    p->sample = NULL;
}
