/*
 * Chrome Trace Event export (the JSON object format that Perfetto and chrome://tracing open).
 *
 *   - one process per trace (rank), named "rank R: PROGRAM"; one thread per traced thread;
 *   - NVTX push/pop ranges as nested B/E slices on their thread (start/end ranges, which may
 *     end on another thread, as async b/e slices); marks as instant events;
 *   - each GEMM, kernel launch and copy as a complete (X) slice on its thread, lasting until
 *     the thread's next recorded event, so it nests inside the enclosing NVTX range. The trace
 *     records when calls were made, not how long the GPU took: these durations are host time.
 *     A GEMM's args carry its layer, step, shape, dtypes and its output's NaN/Inf/absmax;
 *   - steps as slices on a "steps" track (thread 0);
 *   - counters: every SCALAR key (loss, scale, skip, grad_norm, lr, ...) and "nonfinite"
 *     (NaN and Inf in the last GEMM output that held any, back to 0 at the next clean one);
 *     a NaN/Inf loss shows as the counter "loss_nonfinite" = 1 (counters must be numbers).
 * Timestamps are microseconds from the earliest trace's time origin.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/export.h"
#include "analyzer/json.h"

#define MAX_TIDS 256

typedef struct pending {
    uint32_t tid;
    int kind; /* 0 none, MPT_REC_GEMM, MPT_REC_KERNEL, MPT_REC_MEMORY */
    uint64_t ts, seq;
    mpt_trace_record rec_head; /* the GEMM/KERNEL/MEMORY record (its union member) */
    int have_out;
    uint64_t out_nan, out_inf;
    double out_absmax;
    int have_prec;
    double max_rel, max_ulp;
    int depth; /* open NVTX push ranges */
    char name[160], layer[256];
} pending;

typedef struct chrome {
    mpt_export_walker *w;
    FILE *f;
    int first;
    uint64_t origin;
    int pid;
    pending *p; /* per tid of the current source */
    int np;
    int64_t step_begin_step;
    uint64_t step_begin_ts;
    int have_step;
    uint64_t last_ts;
    int nonfinite_shown;
} chrome;

static void sep(chrome *c)
{
    if (!c->first) fputs(",\n", c->f);
    c->first = 0;
}

static double us(const chrome *c, uint64_t ts)
{
    return (double)(int64_t)(ts - c->origin) / 1000.0;
}

/* Starts an event object with its common fields; the caller adds the rest and ends it. */
static void ev(chrome *c, mpt_json *j, const char *ph, const char *name, const char *cat,
               uint32_t tid, uint64_t ts)
{
    sep(c);
    mpt_json_init(j, c->f, 0);
    mpt_json_object_begin(j);
    mpt_json_kstr(j, "ph", ph);
    if (name) mpt_json_kstr(j, "name", name);
    if (cat) mpt_json_kstr(j, "cat", cat);
    mpt_json_kint(j, "pid", c->pid);
    mpt_json_kuint(j, "tid", tid);
    mpt_json_knum(j, "ts", us(c, ts));
}

static pending *pend(chrome *c, uint32_t tid)
{
    for (int i = 0; i < c->np; i++)
        if (c->p[i].tid == tid) return &c->p[i];
    if (c->np == MAX_TIDS) return &c->p[MAX_TIDS - 1]; /* more threads share the last slot */
    pending *p = &c->p[c->np++];
    memset(p, 0, sizeof *p);
    p->tid = tid;
    mpt_json j;
    ev(c, &j, "M", "thread_name", NULL, tid, c->origin);
    mpt_json_key(&j, "args");
    mpt_json_object_begin(&j);
    char name[32];
    snprintf(name, sizeof name, "thread %u", tid);
    mpt_json_kstr(&j, "name", name);
    mpt_json_object_end(&j);
    mpt_json_object_end(&j);
    return p;
}

/* Emits the thread's pending slice, ending at `end`. */
static void flush_pending(chrome *c, pending *p, uint64_t end)
{
    if (!p->kind) return;
    mpt_json j;
    const char *cat = p->kind == MPT_REC_GEMM     ? "gemm"
                      : p->kind == MPT_REC_KERNEL ? "kernel"
                                                  : "memory";
    ev(c, &j, "X", p->name, cat, p->tid, p->ts);
    mpt_json_knum(&j, "dur", end > p->ts ? (double)(end - p->ts) / 1000.0 : 0.0);
    mpt_json_key(&j, "args");
    mpt_json_object_begin(&j);
    mpt_json_kuint(&j, "seq", p->seq);
    if (p->kind == MPT_REC_GEMM) {
        const mpt_trace_gemm *g = &p->rec_head.u.gemm;
        mpt_json_kstr(&j, "layer", p->layer);
        mpt_json_kint(&j, "step", g->step);
        mpt_json_kint(&j, "m", g->m);
        mpt_json_kint(&j, "n", g->n);
        mpt_json_kint(&j, "k", g->k);
        mpt_json_kint(&j, "batch", g->batch);
        mpt_json_kstr(&j, "dtype_a", mpt_dtype_name(g->dtype_a));
        mpt_json_kstr(&j, "dtype_d", mpt_dtype_name(g->dtype_d));
        mpt_json_kstr(&j, "compute", mpt_compute_type_name(g->compute));
        if (p->have_out) {
            mpt_json_kuint(&j, "out_nan", p->out_nan);
            mpt_json_kuint(&j, "out_inf", p->out_inf);
            mpt_json_knum(&j, "out_absmax", p->out_absmax);
        }
        if (p->have_prec) {
            mpt_json_knum(&j, "max_rel_err", p->max_rel);
            mpt_json_knum(&j, "max_ulp_err", p->max_ulp);
        }
    } else if (p->kind == MPT_REC_KERNEL) {
        const mpt_trace_kernel *k = &p->rec_head.u.kernel;
        mpt_json_kint(&j, "step", k->step);
        mpt_json_kuint(&j, "grid_x", k->grid[0]);
        mpt_json_kuint(&j, "block_x", k->block[0]);
    } else {
        const mpt_trace_memory *m = &p->rec_head.u.memory;
        mpt_json_kint(&j, "step", m->step);
        mpt_json_kuint(&j, "bytes", m->bytes);
    }
    mpt_json_object_end(&j);
    mpt_json_object_end(&j);
    p->kind = 0;
}

static void counter(chrome *c, const char *name, uint64_t ts, const char *k1, double v1,
                    const char *k2, double v2)
{
    mpt_json j;
    ev(c, &j, "C", name, NULL, 0, ts);
    mpt_json_key(&j, "args");
    mpt_json_object_begin(&j);
    mpt_json_knum(&j, k1, v1);
    if (k2) mpt_json_knum(&j, k2, v2);
    mpt_json_object_end(&j);
    mpt_json_object_end(&j);
}

static void on_tensor(chrome *c, const mpt_trace_tensor *t)
{
    if (t->info.role != MPT_ROLE_D) return;
    const mpt_export_op *op = mpt_export_op_of(c->w, t->info.seq);
    if (!op || op->is_memory) return;
    pending *p = pend(c, op->gemm.tid);
    if (p->kind == MPT_REC_GEMM && p->seq == t->info.seq) {
        p->have_out = 1;
        p->out_nan = t->cheap.nan;
        p->out_inf = t->cheap.inf;
        p->out_absmax = t->cheap.absmax;
    }
    int nf = t->cheap.nan || t->cheap.inf;
    if (nf || c->nonfinite_shown) {
        counter(c, "nonfinite", op->gemm.ts_ns, "nan", (double)t->cheap.nan, "inf",
                (double)t->cheap.inf);
        c->nonfinite_shown = nf;
    }
}

static void on_range(chrome *c, const mpt_trace_range *r)
{
    pending *p = pend(c, r->tid);
    flush_pending(c, p, r->ts_ns);
    const char *name = mpt_export_string(c->w, r->name);
    mpt_json j;
    switch (r->kind) {
    case MPT_RANGE_PUSH:
        ev(c, &j, "B", *name ? name : "(unnamed)", "nvtx", r->tid, r->ts_ns);
        p->depth++;
        break;
    case MPT_RANGE_POP:
        if (!p->depth) return; /* a pop without its push (tracing began inside the range) */
        ev(c, &j, "E", NULL, NULL, r->tid, r->ts_ns);
        p->depth--;
        break;
    case MPT_RANGE_START:
    case MPT_RANGE_END:
        ev(c, &j, r->kind == MPT_RANGE_START ? "b" : "e", *name ? name : "range", "nvtx", r->tid,
           r->ts_ns);
        mpt_json_kuint(&j, "id", r->range_id);
        break;
    case MPT_RANGE_MARK:
        ev(c, &j, "i", name, "nvtx", r->tid, r->ts_ns);
        mpt_json_kstr(&j, "s", "t");
        break;
    default:
        return;
    }
    mpt_json_object_end(&j);
}

static void on_op(chrome *c, const mpt_trace_record *rec)
{
    uint32_t tid = rec->type == MPT_REC_GEMM     ? rec->u.gemm.tid
                   : rec->type == MPT_REC_KERNEL ? rec->u.kernel.tid
                                                 : rec->u.memory.tid;
    uint64_t ts = rec->type == MPT_REC_GEMM     ? rec->u.gemm.ts_ns
                  : rec->type == MPT_REC_KERNEL ? rec->u.kernel.ts_ns
                                                : rec->u.memory.ts_ns;
    pending *p = pend(c, tid);
    flush_pending(c, p, ts);
    p->kind = (int)rec->type;
    p->ts = ts;
    p->have_out = p->have_prec = 0;
    p->rec_head.u = rec->u;
    if (rec->type == MPT_REC_GEMM) {
        const mpt_export_op *op = mpt_export_op_of(c->w, rec->u.gemm.seq);
        p->seq = rec->u.gemm.seq;
        snprintf(p->name, sizeof p->name, "%s", op ? op->api : "gemm");
        snprintf(p->layer, sizeof p->layer, "%s", op ? op->layer : "");
    } else if (rec->type == MPT_REC_KERNEL) {
        p->seq = rec->u.kernel.seq;
        snprintf(p->name, sizeof p->name, "%s", mpt_export_string(c->w, rec->u.kernel.name));
    } else {
        p->seq = rec->u.memory.seq;
        snprintf(p->name, sizeof p->name, "%s %s",
                 rec->u.memory.kind == MPT_MEM_MEMSET ? "memset" : "memcpy",
                 mpt_mem_kind_name(rec->u.memory.kind));
    }
}

static void on_scalar(chrome *c, const mpt_trace_scalar *s)
{
    const char *key = mpt_export_string(c->w, s->key);
    if (!*key) key = "scalar";
    if (!isfinite(s->value)) {
        char name[96];
        snprintf(name, sizeof name, "%s_nonfinite", key);
        counter(c, name, s->ts_ns, name, 1, NULL, 0);
        return;
    }
    counter(c, key, s->ts_ns, key, s->value, NULL, 0);
}

static void on_step(chrome *c, const mpt_trace_step *s)
{
    if (s->phase == MPT_STEP_BEGIN) {
        c->have_step = 1;
        c->step_begin_step = s->step;
        c->step_begin_ts = s->ts_ns;
        return;
    }
    if (!c->have_step || c->step_begin_step != s->step) return;
    char name[48];
    snprintf(name, sizeof name, "step %" PRId64, s->step);
    mpt_json j;
    ev(c, &j, "X", name, "step", 0, c->step_begin_ts);
    mpt_json_knum(&j, "dur", (double)(s->ts_ns - c->step_begin_ts) / 1000.0);
    mpt_json_object_end(&j);
    c->have_step = 0;
}

static void begin_source(chrome *c, int src)
{
    const mpt_source *s = mpt_export_source(c->w, src);
    c->pid = s->rank >= 0 ? s->rank : s->pid;
    c->np = 0;
    c->have_step = 0;
    c->nonfinite_shown = 0;
    mpt_json j;
    char name[300];
    snprintf(name, sizeof name, "rank %d: %.240s", s->rank, s->cmdline);
    ev(c, &j, "M", "process_name", NULL, 0, c->origin);
    mpt_json_key(&j, "args");
    mpt_json_object_begin(&j);
    mpt_json_kstr(&j, "name", name);
    mpt_json_object_end(&j);
    mpt_json_object_end(&j);
    ev(c, &j, "M", "thread_name", NULL, 0, c->origin);
    mpt_json_key(&j, "args");
    mpt_json_object_begin(&j);
    mpt_json_kstr(&j, "name", "steps and counters");
    mpt_json_object_end(&j);
    mpt_json_object_end(&j);
}

static void end_source(chrome *c)
{
    for (int i = 0; i < c->np; i++) {
        pending *p = &c->p[i];
        flush_pending(c, p, c->last_ts);
        while (p->depth > 0) { /* close what the program left open (a killed run) */
            mpt_json j;
            ev(c, &j, "E", NULL, NULL, p->tid, c->last_ts);
            mpt_json_object_end(&j);
            p->depth--;
        }
    }
}

int mpt_export_chrome(mpt_export_walker *w, FILE *out, char *err, size_t errlen)
{
    chrome c = {.w = w, .f = out, .first = 1, .origin = UINT64_MAX};
    c.p = calloc(MAX_TIDS, sizeof *c.p);
    if (!c.p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < mpt_export_nsources(w); i++) {
        uint64_t o = mpt_export_header(w, i)->mono_origin_ns;
        if (o < c.origin) c.origin = o;
    }
    if (c.origin == UINT64_MAX) c.origin = 0;
    fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", out);
    const mpt_trace_record *rec;
    int src, cur = -1;
    while (mpt_export_next(w, &rec, &src)) {
        if (src != cur) {
            if (cur >= 0) end_source(&c);
            cur = src;
            begin_source(&c, src);
        }
        switch (rec->type) {
        case MPT_REC_GEMM:
        case MPT_REC_KERNEL:
        case MPT_REC_MEMORY:
            on_op(&c, rec);
            c.last_ts = rec->type == MPT_REC_GEMM     ? rec->u.gemm.ts_ns
                        : rec->type == MPT_REC_KERNEL ? rec->u.kernel.ts_ns
                                                      : rec->u.memory.ts_ns;
            break;
        case MPT_REC_TENSOR:
            on_tensor(&c, &rec->u.tensor);
            break;
        case MPT_REC_PRECISION: {
            const mpt_export_op *op = mpt_export_op_of(w, rec->u.precision.seq);
            if (!op || op->is_memory) break;
            pending *p = pend(&c, op->gemm.tid);
            if (p->kind == MPT_REC_GEMM && p->seq == rec->u.precision.seq) {
                p->have_prec = 1;
                p->max_rel = rec->u.precision.max_rel_err;
                p->max_ulp = rec->u.precision.max_ulp_err;
            }
            break;
        }
        case MPT_REC_RANGE:
            on_range(&c, &rec->u.range);
            c.last_ts = rec->u.range.ts_ns;
            break;
        case MPT_REC_SCALAR:
            on_scalar(&c, &rec->u.scalar);
            break;
        case MPT_REC_STEP:
            on_step(&c, &rec->u.step);
            if (rec->u.step.ts_ns > c.last_ts) c.last_ts = rec->u.step.ts_ns;
            break;
        case MPT_REC_MESSAGE: {
            mpt_json j;
            ev(&c, &j, "i", "mptrace message", "mptrace", rec->u.message.tid, rec->u.message.ts_ns);
            mpt_json_kstr(&j, "s", "p");
            mpt_json_key(&j, "args");
            mpt_json_object_begin(&j);
            mpt_json_kstr(&j, "level", mpt_msg_level_name(rec->u.message.level));
            mpt_json_kstr(&j, "text", rec->u.message.text);
            mpt_json_object_end(&j);
            mpt_json_object_end(&j);
            break;
        }
        default:
            break;
        }
    }
    if (cur >= 0) end_source(&c);
    fputs("\n]}\n", out);
    free(c.p);
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "write error");
        return -1;
    }
    return 0;
}
