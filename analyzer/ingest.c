/*
 * Records -> model. One function per record type; each updates the cells, the layer totals,
 * the step table and the running totals in O(1) (amortised), so a trace streams through in
 * bounded memory and the live TUI can feed records as they are written.
 *
 * Attribution: a GEMM record names its layer (string id, or nothing: then "op#ORDINAL") and
 * step; its TENSOR and PRECISION records, which may come later, find it through the source's
 * ring of recent events (model_internal.h). NVTX RANGE records are replayed into a stack per
 * thread so that kernels and copies can be placed in a layer too (for "what ran between the
 * last finite GEMM and the first non-finite one"). Kernels and copies also accumulate per
 * source until the next GEMM, which files them under its layer (model_between.c). Step
 * ranges ("train_step 3", "step", "iteration 12") delimit steps and are left out of layer
 * paths, as the interposer does.
 */
#include <ctype.h>
#include <strings.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/model_internal.h"

enum { KEY_OTHER = 0, KEY_LOSS, KEY_SCALE, KEY_SKIP, KEY_GRAD_NORM, KEY_LR, KEY_LOST };

static const char *src_str(const src_state *s, uint32_t id)
{
    return id && id < s->nstr ? s->str[id].s : NULL;
}

/* A step the grid holds (see GRID_MAX_STEP); others count in the layer totals only. */
static int gridded(int64_t step)
{
    return step >= 0 && step < GRID_MAX_STEP;
}

static int on_string(mpt_model *m, src_state *s, const mpt_trace_string *st)
{
    if (st->id > MAX_STRING_ID) return 0; /* not a trace mptrace wrote: ignored */
    if (st->id >= s->nstr) {
        uint32_t n = s->nstr ? s->nstr : 256;
        while (n <= st->id)
            n *= 2;
        src_string *ns = realloc(s->str, (size_t)n * sizeof *ns);
        if (!ns) return -1;
        memset(ns + s->nstr, 0, (size_t)(n - s->nstr) * sizeof *ns);
        s->str = ns;
        s->nstr = n;
    }
    if (s->str[st->id].s) return 0; /* the first definition wins, as in the reader */
    const char *c = mpt_pool_intern(&m->pool, st->bytes, st->len);
    if (!c) return -1;
    s->str[st->id].s = c;
    return 0;
}

/* ---- GEMM, TENSOR, PRECISION ----------------------------------------------------------------- */

static uint32_t gemm_layer(mpt_model *m, src_state *s, const mpt_trace_gemm *g)
{
    if (g->layer && g->layer < s->nstr && s->str[g->layer].s) {
        src_string *e = &s->str[g->layer];
        if (!e->layer) {
            uint32_t l = mpt_model_layer_get(m, e->s);
            if (l == MPT_NO_LAYER) return l;
            e->layer = l + 1;
        }
        return e->layer - 1;
    }
    char name[32];
    int n = snprintf(name, sizeof name, "op#%u", g->ordinal);
    const char *c = mpt_pool_intern(&m->pool, name, (size_t)n);
    return c ? mpt_model_layer_get(m, c) : MPT_NO_LAYER;
}

static void cell_call(mpt_cell *c, const mpt_trace_gemm *g)
{
    if (c->calls && (c->dtype_in != (uint8_t)g->dtype_a || c->dtype_out != (uint8_t)g->dtype_d))
        c->mixed = 1;
    c->dtype_in = (uint8_t)g->dtype_a;
    c->dtype_out = (uint8_t)g->dtype_d;
    c->compute = (uint8_t)g->compute;
    c->calls++;
}

/* The grid cell of the GEMM of ring entry e (a gridded step): looked up once for the GEMM and
 * its TENSOR and PRECISION records, unless a rebuild of the grid moved the cells since. */
static mpt_cell *gemm_cell(mpt_model *m, ring_ent *e)
{
    if (e->cell && e->cell_gen == m->grid_gen) return e->cell;
    e->cell = mpt_model_cell_at(m, e->layer, e->step); /* may rebuild: grid_gen read after */
    e->cell_gen = m->grid_gen;
    return e->cell;
}

static int on_gemm(mpt_model *m, src_state *s, const mpt_trace_gemm *g)
{
    uint32_t li = gemm_layer(m, s, g);
    if (li == MPT_NO_LAYER) return -1;
    mpt_layer *l = m->layers[li];
    ring_ent *e = NULL;
    if (g->seq) {
        e = &s->ring[g->seq & RING_MASK];
        memset(e, 0, sizeof *e);
        e->seq = g->seq;
        e->ts = g->ts_ns;
        e->step = g->step;
        e->type = MPT_EV_GEMM;
        e->dtype_in = (uint8_t)g->dtype_a;
        e->dtype_out = (uint8_t)g->dtype_d;
        e->compute = (uint8_t)g->compute;
        e->layer = li;
        e->ordinal = g->ordinal;
        e->prev_gemm = s->last_gemm_seq;
        const char *api = src_str(s, g->api);
        e->name = api ? api : "";
        e->path = l->name;
        e->m = g->m;
        e->n = g->n;
        e->k = g->k;
        e->batch = g->batch;
        mpt_between_commit(s, l, li, g->seq, g->step);
        s->last_gemm_seq = g->seq;
    }
    if (!l->total.calls) {
        const char *api = src_str(s, g->api);
        l->api = api ? api : "";
        l->m = g->m;
        l->n = g->n;
        l->k = g->k;
        l->batch = g->batch;
    }
    cell_call(&l->total, g);
    l->compute_mask |= 1u << (g->compute < 31 ? g->compute : 31);
    l->gemm_flags |= g->flags;
    if (gridded(g->step)) {
        mpt_cell *c = e ? gemm_cell(m, e) : mpt_model_cell_at(m, li, g->step);
        if (!c) return -1;
        cell_call(c, g);
    } else {
        l->unstepped_calls++;
    }
    if (g->step >= 0) {
        mpt_step *st = mpt_model_step_get(m, g->step);
        if (!st) return -1;
        st->gemms++;
    }
    mpt_model_totals *t = &m->tot;
    t->gemms++;
    unsigned a = g->dtype_a < MPT_DT_COUNT ? g->dtype_a : MPT_DT_COUNT;
    unsigned d = g->dtype_d < MPT_DT_COUNT ? g->dtype_d : MPT_DT_COUNT;
    t->gemm_by_dtype[a][d]++;
    t->gemm_by_compute[g->compute < MPT_COMPUTE_COUNT ? g->compute : MPT_COMPUTE_COUNT]++;
    if (g->flags & MPT_GEMM_TF32_MATH) t->gemm_tf32_flag++;
    if (g->level == MPT_LEVEL_NONE)
        t->gemm_skipped[g->skip < MPT_SKIP_COUNT ? g->skip : MPT_SKIP_COUNT]++;
    return 0;
}

/* TENSOR records arrive sparse (from the reader: the hot path, no dense histogram built) or
 * dense (mpt_model_feed's callers); on_tensor takes the sparse form, plus the dense record when
 * there is one. */
static void add_output(mpt_cell *c, const mpt_trace_tensor_sparse *t)
{
    c->out_count += t->cheap.count;
    c->out_nan += t->cheap.nan;
    c->out_inf += t->cheap.inf;
    if (t->cheap.absmax > c->out_absmax) c->out_absmax = t->cheap.absmax;
    if (t->level != MPT_LEVEL_FULL) return;
    const mpt_trace_stats_head *f = &t->full;
    c->full_calls++;
    c->full_count += f->count;
    c->out_zero += f->zero;
    c->out_subnormal += f->subnormal;
    c->out_sumsq += f->sumsq;
    for (int i = 0; i < MPT_NARROW_COUNT; i++) {
        c->narrow[i].overflow += f->narrow[i].overflow;
        c->narrow[i].subnormal += f->narrow[i].subnormal;
        c->narrow[i].flush += f->narrow[i].flush;
    }
}

static void add_input(mpt_cell *c, const mpt_trace_tensor_sparse *t)
{
    c->in_count += t->cheap.count;
    c->in_nan += t->cheap.nan;
    c->in_inf += t->cheap.inf;
    if (t->cheap.absmax > c->in_absmax) c->in_absmax = t->cheap.absmax;
}

/* The first-non-finite tracker reads dense records; a sparse one is expanded (rarely: only for
 * the GEMM that tracker follows). */
static void nf_tensor(mpt_model *m, src_state *s, const ring_ent *e,
                      const mpt_trace_tensor_sparse *t, const mpt_trace_tensor *dense)
{
    if (dense) {
        mpt_nf_tensor(m, s, e, dense);
        return;
    }
    mpt_trace_tensor d;
    mpt_trace_tensor_sparse_to_dense(t, &d);
    mpt_nf_tensor(m, s, e, &d);
}

/* The sparse form of a dense record (histogram aside: the merge takes the dense one). */
static void sparse_of_dense(const mpt_trace_tensor *d, mpt_trace_tensor_sparse *t)
{
    t->info = d->info;
    t->level = d->level;
    t->cheap = d->cheap;
    const mpt_stats *f = &d->full;
    mpt_trace_stats_head *h = &t->full;
    h->count = f->count;
    h->nan = f->nan;
    h->pinf = f->pinf;
    h->ninf = f->ninf;
    h->zero = f->zero;
    h->subnormal = f->subnormal;
    h->min = f->min;
    h->max = f->max;
    h->absmax = f->absmax;
    h->min_nonzero_abs = f->min_nonzero_abs;
    h->sum = f->sum;
    h->sumsq = f->sumsq;
    memcpy(h->narrow, f->narrow, sizeof h->narrow);
    t->hist_n = 0;
    t->hist = NULL;
}

static int on_tensor(mpt_model *m, src_state *s, const mpt_trace_tensor_sparse *t,
                     const mpt_trace_tensor *dense)
{
    uint64_t seq = t->info.seq;
    ring_ent *e = &s->ring[seq & RING_MASK];
    if (!seq || e->seq != seq) {
        m->tot.orphans++;
        return 0;
    }
    int nf = t->cheap.nan || t->cheap.inf;
    if (e->type == MPT_EV_MEMORY) {
        if (nf && !e->nonfinite) m->tot.memcpy_nonfinite++;
        if (nf) e->nonfinite = 1;
        if (nf && seq > s->last_gemm_seq) mpt_between_mark_nonfinite(&s->acc, e->name);
        return 0;
    }
    if (e->type != MPT_EV_GEMM) {
        m->tot.orphans++;
        return 0;
    }
    mpt_tensor_role role = t->info.role;
    mpt_layer *l = m->layers[e->layer];
    mpt_cell *c = gridded(e->step) ? gemm_cell(m, e) : NULL;
    if (gridded(e->step) && !c) return -1;
    if (role == MPT_ROLE_D) {
        add_output(&l->total, t);
        if (c) add_output(c, t);
        if (t->level == MPT_LEVEL_FULL) {
            if (dense)
                mpt_stats_merge(&l->out_full, &dense->full);
            else
                mpt_trace_tensor_sparse_merge(&l->out_full, t);
        }
        if (nf && !(e->nonfinite & (1u << MPT_ROLE_D)) && e->step >= 0) {
            mpt_step *st = mpt_model_step_get(m, e->step);
            if (!st) return -1;
            if (!st->nonfinite_gemms) st->first_nf_layer = e->layer;
            st->nonfinite_gemms++;
        }
    } else if (role == MPT_ROLE_A || role == MPT_ROLE_B || role == MPT_ROLE_C) {
        add_input(&l->total, t);
        if (c) add_input(c, t);
    }
    if (nf && role < 8) e->nonfinite |= (uint8_t)(1u << role);
    if ((nf && !s->have_nf) || (s->have_nf && s->nf.seq == seq)) nf_tensor(m, s, e, t, dense);
    return 0;
}

/*
 * The bin of an error v > 0: floor((log2(v) - MPT_ERR_MIN_LOG2) * MPT_ERR_BINS_PER_BINADE),
 * clamped, from v's binary exponent and a comparison of its significand with the edges 2^(k/8)
 * (the doubles nearest them), both read from v's bits. Why not log2(): two calls per PRECISION
 * record were 2% of a report's time; and near an edge log2's rounding could tip v into the
 * neighbouring bin, which the comparison does not. Infinity goes to the last bin.
 */
_Static_assert(MPT_ERR_BINS_PER_BINADE == 8, "mpt_err_bin's edges are eighths of a binade");
static const double err_edges[7] = {
    0x1.172b83c7d517bp+0, 0x1.306fe0a31b715p+0, 0x1.4bfdad5362a27p+0, 0x1.6a09e667f3bcdp+0,
    0x1.8ace5422aa0dbp+0, 0x1.ae89f995ad3adp+0, 0x1.d5818dcfba487p+0};

int mpt_err_bin(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    int e = (int)((u >> 52) & 0x7ff) - 1023; /* v = m * 2^e, m in [1, 2), for normal v */
    if (e < MPT_ERR_MIN_LOG2) return 0;      /* zero and subnormals too */
    if (e >= MPT_ERR_MIN_LOG2 + MPT_ERR_BINS / MPT_ERR_BINS_PER_BINADE) return MPT_ERR_BINS - 1;
    u = (u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &u, sizeof m);
    int q = 0;
    for (int k = 0; k < 7; k++)
        q += m >= err_edges[k];
    return (e - MPT_ERR_MIN_LOG2) * MPT_ERR_BINS_PER_BINADE + q;
}

static void add_precision(mpt_cell *c, const mpt_trace_precision *p)
{
    c->prec_samples += p->samples;
    c->prec_underflow += p->underflow;
    c->prec_overflow += p->overflow;
    if (p->samples && p->max_exact_abs > c->prec_max_exact) c->prec_max_exact = p->max_exact_abs;
    if (isnan(p->max_rel_err)) return;
    double ulp = isnan(p->max_ulp_err) ? 0 : p->max_ulp_err;
    if (!c->prec_calls || p->max_rel_err > c->prec_max_rel) c->prec_max_rel = p->max_rel_err;
    if (!c->prec_calls || ulp > c->prec_max_ulp) c->prec_max_ulp = ulp;
    if (!isnan(p->mean_rel_err)) {
        c->prec_sum_rel += p->mean_rel_err * (double)p->samples;
        c->prec_rel_samples += p->samples;
    }
    c->prec_calls++;
}

static int on_precision(mpt_model *m, src_state *s, const mpt_trace_precision *p)
{
    ring_ent *e = &s->ring[p->seq & RING_MASK];
    if (!p->seq || e->seq != p->seq || e->type != MPT_EV_GEMM) {
        m->tot.orphans++;
        return 0;
    }
    mpt_layer *l = m->layers[e->layer];
    add_precision(&l->total, p);
    if (gridded(e->step)) {
        mpt_cell *c = gemm_cell(m, e);
        if (!c) return -1;
        add_precision(c, p);
    }
    if (!isnan(p->max_rel_err)) {
        l->err_calls++;
        if (p->max_rel_err > 0)
            l->rel_bins[mpt_err_bin(p->max_rel_err)]++;
        else
            l->err_zero_rel++;
        if (p->max_ulp_err > 0)
            l->ulp_bins[mpt_err_bin(p->max_ulp_err)]++;
        else
            l->err_zero_ulp++;
    }
    if (s->have_nf && s->nf.seq == p->seq) mpt_nf_precision(s, p);
    return 0;
}

/* ---- steps and scalars ----------------------------------------------------------------------- */

static int scalar_key(const char *k)
{
    if (!k) return KEY_OTHER;
    if (strcmp(k, "loss") == 0) return KEY_LOSS;
    if (strcmp(k, "scale") == 0 || strcmp(k, "loss_scale") == 0) return KEY_SCALE;
    if (strcmp(k, "skip") == 0 || strcmp(k, "skipped") == 0) return KEY_SKIP;
    if (strcmp(k, "grad_norm") == 0) return KEY_GRAD_NORM;
    if (strcmp(k, "lr") == 0) return KEY_LR;
    if (strcmp(k, "lost_updates") == 0) return KEY_LOST;
    return KEY_OTHER;
}

static int on_scalar(mpt_model *m, src_state *s, const mpt_trace_scalar *sc)
{
    if (sc->step < 0) return 0; /* a value no step can be given to */
    int key = KEY_OTHER;
    if (sc->key && sc->key < s->nstr && s->str[sc->key].s) {
        src_string *e = &s->str[sc->key];
        if (!e->key) e->key = (int8_t)(scalar_key(e->s) + 1);
        key = e->key - 1;
    }
    if (key == KEY_OTHER) return 0;
    mpt_step *st = mpt_model_step_get(m, sc->step);
    if (!st) return -1;
    /* several ranks report the same step: the first report wins, a skip anywhere counts */
    switch (key) {
    case KEY_LOSS:
        if (!(st->has & MPT_STEP_HAS_LOSS)) st->loss = sc->value;
        st->has |= MPT_STEP_HAS_LOSS;
        break;
    case KEY_SCALE:
        if (!(st->has & MPT_STEP_HAS_SCALE)) st->scale = sc->value;
        st->has |= MPT_STEP_HAS_SCALE;
        break;
    case KEY_GRAD_NORM:
        if (!(st->has & MPT_STEP_HAS_GRAD_NORM)) st->grad_norm = sc->value;
        st->has |= MPT_STEP_HAS_GRAD_NORM;
        break;
    case KEY_LR:
        if (!(st->has & MPT_STEP_HAS_LR)) st->lr = sc->value;
        st->has |= MPT_STEP_HAS_LR;
        break;
    case KEY_LOST: /* ranks hold shards of the parameters: the worst rank speaks for the step;
                    * NaN is "not measured", never a value */
        if (isnan(sc->value)) break;
        if (!(st->has & MPT_STEP_HAS_LOST) || sc->value > st->lost_updates)
            st->lost_updates = sc->value;
        st->has |= MPT_STEP_HAS_LOST;
        break;
    case KEY_SKIP: {
        int8_t v = sc->value != 0 && !isnan(sc->value);
        int8_t *dst = (sc->flags & MPT_SCALAR_INFERRED) ? &st->skip_inferred : &st->skip;
        if (v > *dst) *dst = v;
        break;
    }
    }
    return 0;
}

static int on_step(mpt_model *m, const mpt_trace_step *sr)
{
    if (sr->step < 0) return 0;
    mpt_step *st = mpt_model_step_get(m, sr->step);
    if (!st) return -1;
    if (sr->phase == MPT_STEP_BEGIN) {
        if (!st->ts_begin || sr->ts_ns < st->ts_begin) st->ts_begin = sr->ts_ns;
    } else if (sr->ts_ns > st->ts_end) {
        st->ts_end = sr->ts_ns;
    }
    return 0;
}

/* ---- NVTX stacks, kernels, copies ------------------------------------------------------------ */

/* "train_step 3", "step", "Iteration_12": a step delimiter, not part of a layer path. */
static int is_step_range(const char *n)
{
    static const char *words[] = {"train_step", "step", "iteration", "iter"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t k = strlen(words[i]);
        if (strncasecmp(n, words[i], k) != 0) continue;
        const char *p = n + k;
        while (*p == ' ' || *p == '_' || *p == '#' || *p == ':' || *p == '=' || *p == '-')
            p++;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p == '\0') return 1;
    }
    return 0;
}

static tid_stack *tid_get(src_state *s, uint32_t tid)
{
    for (size_t i = 0; i < s->ntids; i++)
        if (s->tids[i].tid == tid) return &s->tids[i];
    if (s->ntids == s->captids) {
        size_t nc = s->captids ? s->captids * 2 : 8;
        tid_stack *nt = realloc(s->tids, nc * sizeof *nt);
        if (!nt) return NULL;
        s->tids = nt;
        s->captids = nc;
    }
    tid_stack *t = &s->tids[s->ntids++];
    t->tid = tid;
    t->depth = 0;
    return t;
}

static const char *tid_path(src_state *s, uint32_t tid)
{
    tid_stack *t = tid_get(s, tid);
    if (!t || t->depth == 0) return "";
    return t->path[(t->depth > TID_MAX_DEPTH ? TID_MAX_DEPTH : t->depth) - 1];
}

static int on_range(mpt_model *m, src_state *s, const mpt_trace_range *r)
{
    if (r->kind != MPT_RANGE_PUSH && r->kind != MPT_RANGE_POP) return 0;
    tid_stack *t = tid_get(s, r->tid);
    if (!t) return -1;
    if (r->kind == MPT_RANGE_POP) {
        if (t->depth > 0) t->depth--;
        return 0;
    }
    const char *parent =
        t->depth > 0 ? t->path[(t->depth > TID_MAX_DEPTH ? TID_MAX_DEPTH : t->depth) - 1] : "";
    const char *name = src_str(s, r->name);
    const char *path = parent;
    if (name && *name && !is_step_range(name)) {
        char buf[1024];
        int n = snprintf(buf, sizeof buf, "%s%s%s", parent, *parent ? "/" : "", name);
        if (n < 0) return 0;
        if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
        path = mpt_pool_intern(&m->pool, buf, (size_t)n);
        if (!path) return -1;
    }
    if (t->depth < TID_MAX_DEPTH) t->path[t->depth] = path;
    t->depth++; /* deeper than TID_MAX_DEPTH: counted, so pops stay balanced */
    return 0;
}

static void on_event(mpt_model *m, src_state *s, uint64_t seq, uint64_t ts, int64_t step,
                     mpt_event_type type, const char *name, uint32_t tid, uint8_t kind,
                     uint64_t bytes)
{
    if (!seq) return;
    ring_ent *e = &s->ring[seq & RING_MASK];
    memset(e, 0, sizeof *e);
    e->seq = seq;
    e->ts = ts;
    e->step = step;
    e->type = (uint8_t)type;
    e->kind = kind;
    e->bytes = bytes;
    e->name = name ? name : "";
    e->path = tid_path(s, tid);
    /* for the next GEMM's layer (mpt_between); issued before the last GEMM fed: too late */
    if (seq > s->last_gemm_seq)
        mpt_between_note(&s->acc, type, e->name, e->path, bytes);
    else if (s->last_gemm_layer < m->nlayers) /* most likely that GEMM's interval */
        m->layers[s->last_gemm_layer]->between.complete = 0;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static uint64_t record_ts(const mpt_trace_record *r)
{
    switch (r->type) {
    case MPT_REC_GEMM:
        return r->u.gemm.ts_ns;
    case MPT_REC_STEP:
        return r->u.step.ts_ns;
    case MPT_REC_SCALAR:
        return r->u.scalar.ts_ns;
    case MPT_REC_KERNEL:
        return r->u.kernel.ts_ns;
    case MPT_REC_MEMORY:
        return r->u.memory.ts_ns;
    case MPT_REC_RANGE:
        return r->u.range.ts_ns;
    case MPT_REC_MESSAGE:
        return r->u.message.ts_ns;
    case MPT_REC_END:
        return r->u.end.ts_ns;
    default:
        return 0;
    }
}

int mpt_model_feed(mpt_model *m, int src, const mpt_trace_record *rec)
{
    if (src < 0 || src >= m->nsrc) return -1;
    src_state *s = m->srcs[src];
    mpt_model_totals *t = &m->tot;
    s->pub.records++;
    t->records++;
    m->gen++;
    uint64_t ts = record_ts(rec);
    if (ts) {
        if (!s->pub.first_ts || ts < s->pub.first_ts) s->pub.first_ts = ts;
        if (ts > s->pub.last_ts) s->pub.last_ts = ts;
        if (!t->first_ts || ts < t->first_ts) t->first_ts = ts;
        if (ts > t->last_ts) t->last_ts = ts;
    }
    switch (rec->type) {
    case MPT_REC_STRING:
        return on_string(m, s, &rec->u.string);
    case MPT_REC_GEMM:
        return on_gemm(m, s, &rec->u.gemm);
    case MPT_REC_TENSOR: {
        t->tensors++;
        if (rec->sparse) return on_tensor(m, s, &rec->u.tensor_sparse, NULL);
        mpt_trace_tensor_sparse v;
        sparse_of_dense(&rec->u.tensor, &v);
        return on_tensor(m, s, &v, &rec->u.tensor);
    }
    case MPT_REC_PRECISION:
        t->precisions++;
        return on_precision(m, s, &rec->u.precision);
    case MPT_REC_STEP:
        return on_step(m, &rec->u.step);
    case MPT_REC_SCALAR:
        t->scalars++;
        return on_scalar(m, s, &rec->u.scalar);
    case MPT_REC_KERNEL: {
        const mpt_trace_kernel *k = &rec->u.kernel;
        t->kernels++;
        on_event(m, s, k->seq, k->ts_ns, k->step, MPT_EV_KERNEL, src_str(s, k->name), k->tid, 0, 0);
        return 0;
    }
    case MPT_REC_MEMORY: {
        const mpt_trace_memory *mm = &rec->u.memory;
        t->memory_events++;
        on_event(m, s, mm->seq, mm->ts_ns, mm->step, MPT_EV_MEMORY, mpt_mem_kind_name(mm->kind),
                 mm->tid, (uint8_t)mm->kind, mm->bytes);
        return 0;
    }
    case MPT_REC_RANGE:
        t->ranges++;
        return on_range(m, s, &rec->u.range);
    case MPT_REC_MESSAGE:
        t->messages++;
        if (rec->u.message.level >= MPT_MSG_WARN) {
            if (rec->u.message.level == MPT_MSG_WARN)
                t->msg_warn++;
            else
                t->msg_error++;
            if (!t->first_message[0] && rec->u.message.text)
                snprintf(t->first_message, sizeof t->first_message, "%s", rec->u.message.text);
        }
        return 0;
    case MPT_REC_END:
        s->pub.ended = 1;
        s->pub.end_how = rec->u.end.how;
        s->pub.end_status = rec->u.end.status;
        return 0;
    default:
        return 0;
    }
}
