/*
 * The run model's public face: creation, sources, queries, and the arithmetic of cells
 * (merge, status, headroom) and layers (phase, error quantiles). Storage is in model_store.c,
 * record handling in ingest.c, reading files in source.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/model_internal.h"

/* ---- cells ----------------------------------------------------------------------------------- */

void mpt_cell_init(mpt_cell *c)
{
    memset(c, 0, sizeof *c);
}

void mpt_cell_merge(mpt_cell *d, const mpt_cell *s)
{
    if (!s->calls) return;
    if (d->calls && (d->dtype_in != s->dtype_in || d->dtype_out != s->dtype_out)) d->mixed = 1;
    d->mixed |= s->mixed;
    d->dtype_in = s->dtype_in;
    d->dtype_out = s->dtype_out;
    d->compute = s->compute;
    d->calls += s->calls;
    d->full_calls += s->full_calls;
    d->out_count += s->out_count;
    d->out_nan += s->out_nan;
    d->out_inf += s->out_inf;
    if (s->out_absmax > d->out_absmax) d->out_absmax = s->out_absmax;
    d->in_count += s->in_count;
    d->in_nan += s->in_nan;
    d->in_inf += s->in_inf;
    if (s->in_absmax > d->in_absmax) d->in_absmax = s->in_absmax;
    d->full_count += s->full_count;
    d->out_zero += s->out_zero;
    d->out_subnormal += s->out_subnormal;
    d->out_sumsq += s->out_sumsq;
    for (int i = 0; i < MPT_NARROW_COUNT; i++) {
        d->narrow[i].overflow += s->narrow[i].overflow;
        d->narrow[i].subnormal += s->narrow[i].subnormal;
        d->narrow[i].flush += s->narrow[i].flush;
    }
    d->prec_samples += s->prec_samples;
    d->prec_underflow += s->prec_underflow;
    d->prec_overflow += s->prec_overflow;
    if (s->prec_calls) {
        if (!d->prec_calls || s->prec_max_rel > d->prec_max_rel) d->prec_max_rel = s->prec_max_rel;
        if (!d->prec_calls || s->prec_max_ulp > d->prec_max_ulp) d->prec_max_ulp = s->prec_max_ulp;
        d->prec_sum_rel += s->prec_sum_rel;
        d->prec_rel_samples += s->prec_rel_samples;
        d->prec_calls += s->prec_calls;
    }
    if (s->prec_samples && s->prec_max_exact > d->prec_max_exact)
        d->prec_max_exact = s->prec_max_exact;
}

double mpt_cell_headroom_bits(const mpt_cell *c)
{
    if (!c->calls) return NAN;
    const mpt_dtype_info *di = mpt_dtype_get_info((mpt_dtype)c->dtype_out);
    if (!di) return NAN;
    if (c->prec_overflow && c->prec_max_exact > di->max_finite)
        return log2(di->max_finite / c->prec_max_exact);
    if (c->out_inf) return 0.0; /* reached Inf; by how much is not known */
    if (c->out_absmax > 0) return log2(di->max_finite / c->out_absmax);
    return NAN;
}

double mpt_precision_limit(mpt_dtype out)
{
    const mpt_dtype_info *di = mpt_dtype_get_info(out);
    double lim = 256 * 0x1p-23;
    if (di && 2 * di->epsilon > lim) lim = 2 * di->epsilon;
    return lim;
}

unsigned mpt_cell_status(const mpt_cell *c)
{
    unsigned st = 0;
    if (!c->calls) return 0;
    if (c->out_nan || c->out_inf) st |= MPT_CELL_NONFINITE;
    if (c->in_nan || c->in_inf) st |= MPT_CELL_INPUT_NF;
    if (c->prec_overflow) st |= MPT_CELL_OVERFLOW;
    if (c->prec_samples && c->prec_underflow * 20 >= c->prec_samples && c->prec_underflow)
        st |= MPT_CELL_UNDERFLOW;
    if (c->prec_rel_samples && c->prec_sum_rel / (double)c->prec_rel_samples >=
                                   mpt_precision_limit((mpt_dtype)c->dtype_out))
        st |= MPT_CELL_PRECISION;
    double h = mpt_cell_headroom_bits(c);
    if (!isnan(h) && h < 2.0 && !(st & (MPT_CELL_NONFINITE | MPT_CELL_OVERFLOW)))
        st |= MPT_CELL_HEADROOM;
    if (c->dtype_out != MPT_DT_F16 && c->full_count &&
        c->narrow[MPT_NARROW_FP16].flush * 10 >= c->full_count && c->narrow[MPT_NARROW_FP16].flush)
        st |= MPT_CELL_FLUSH_FP16;
    return st;
}

/* ---- layers ---------------------------------------------------------------------------------- */

static int first_component_is(const char *name, const char *word)
{
    size_t n = strlen(word);
    return strncmp(name, word, n) == 0 && (name[n] == '/' || name[n] == '\0' || name[n] == '.' ||
                                           name[n] == ':' || name[n] == ' ');
}

mpt_phase mpt_phase_of(const char *name)
{
    if (!name) return MPT_PHASE_OTHER;
    if (first_component_is(name, "fwd") || first_component_is(name, "forward"))
        return MPT_PHASE_FWD;
    if (first_component_is(name, "bwd") || first_component_is(name, "backward") ||
        first_component_is(name, "grad"))
        return MPT_PHASE_BWD;
    if (strstr(name, "backward") || strstr(name, "/bwd/")) return MPT_PHASE_BWD;
    if (strstr(name, "forward") || strstr(name, "/fwd/")) return MPT_PHASE_FWD;
    return MPT_PHASE_OTHER;
}

const char *mpt_phase_name(mpt_phase p)
{
    switch (p) {
    case MPT_PHASE_FWD:
        return "fwd";
    case MPT_PHASE_BWD:
        return "bwd";
    default:
        return "other";
    }
}

double mpt_layer_err_quantile(const mpt_layer *l, int ulp, double q)
{
    const uint32_t *b = ulp ? l->ulp_bins : l->rel_bins;
    uint64_t zeros = ulp ? l->err_zero_ulp : l->err_zero_rel;
    uint64_t total = zeros;
    for (int i = 0; i < MPT_ERR_BINS; i++)
        total += b[i];
    if (!total) return NAN;
    if (!(q >= 0)) q = 0;
    if (q > 1) q = 1;
    /* nearest rank: the smallest value with at least ceil(q * total) values at or below it */
    uint64_t want = (uint64_t)ceil(q * (double)total);
    if (want < 1) want = 1;
    if (want <= zeros) return 0.0;
    /* the exact max bounds every quantile (a bin's middle may lie above it) */
    double max = ulp ? l->total.prec_max_ulp : l->total.prec_max_rel;
    if (!l->total.prec_calls) max = INFINITY;
    uint64_t acc = zeros;
    for (int i = 0; i < MPT_ERR_BINS; i++) {
        acc += b[i];
        if (acc >= want) { /* the bin's geometric middle */
            double v = exp2(MPT_ERR_MIN_LOG2 + (i + 0.5) / MPT_ERR_BINS_PER_BINADE);
            return v > max ? max : v;
        }
    }
    return NAN;
}

/* ---- model ----------------------------------------------------------------------------------- */

mpt_model *mpt_model_new(const mpt_model_opts *opts)
{
    mpt_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (opts) m->opts = *opts;
    if (!m->opts.cell_budget_bytes) m->opts.cell_budget_bytes = (size_t)64 << 20;
    if (!m->opts.min_columns) m->opts.min_columns = 256;
    return m;
}

void mpt_model_free(mpt_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->nsrc; i++) {
        src_state *s = m->srcs[i];
        if (s->reader) mpt_trace_reader_close(s->reader);
        free(s->str);
        free(s->ring);
        free(s->tids);
        free(s);
    }
    free(m->srcs);
    mpt_grid_free(m);
    for (uint32_t l = 0; l < m->nlayers; l++)
        free(m->layers[l]);
    free(m->layers);
    free(m->lmap.keys);
    free(m->lmap.vals);
    free(m->steps);
    free(m->scratch);
    mpt_pool_free(&m->pool);
    free(m);
}

static const char *intern_z(mpt_model *m, const char *s)
{
    const char *r = mpt_pool_intern(&m->pool, s ? s : "", s ? strlen(s) : 0);
    return r ? r : "";
}

void mpt_source_set_header(mpt_model *m, src_state *s, const mpt_trace_header *h)
{
    s->pub.pid = h->pid;
    s->pub.rank = h->rank;
    s->pub.world_size = h->world_size;
    s->pub.mono_origin_ns = h->mono_origin_ns;
    s->pub.start_realtime_ns = h->start_realtime_ns;
    s->pub.hostname = intern_z(m, h->hostname);
    /* the command line as one string: arguments joined by spaces */
    size_t n = h->cmdline_len;
    char *buf = malloc(n + 1);
    if (buf) {
        for (size_t i = 0; i < n; i++)
            buf[i] = h->cmdline[i] ? h->cmdline[i] : ' ';
        while (n && buf[n - 1] == ' ')
            n--;
        buf[n] = '\0';
        s->pub.cmdline = intern_z(m, buf);
        free(buf);
    }
    m->gen++;
}

int mpt_model_add_source(mpt_model *m, const char *name, const mpt_trace_header *h)
{
    if (m->nsrc == m->capsrc) {
        int nc = m->capsrc ? m->capsrc * 2 : 8;
        src_state **ns = realloc(m->srcs, (size_t)nc * sizeof *ns);
        if (!ns) return -1;
        m->srcs = ns;
        m->capsrc = nc;
    }
    src_state *s = calloc(1, sizeof *s);
    ring_ent *ring = calloc(RING_SIZE, sizeof *ring);
    if (!s || !ring) {
        free(s);
        free(ring);
        return -1;
    }
    s->ring = ring;
    s->pub.path = intern_z(m, name);
    s->pub.rank = -1;
    s->pub.world_size = -1;
    s->pub.hostname = "";
    s->pub.cmdline = "";
    s->pub.state = MPT_SOURCE_READING;
    if (h) mpt_source_set_header(m, s, h);
    m->srcs[m->nsrc] = s;
    m->gen++;
    return m->nsrc++;
}

/* ---- queries --------------------------------------------------------------------------------- */

uint64_t mpt_model_generation(const mpt_model *m)
{
    return m->gen;
}

int mpt_model_nsources(const mpt_model *m)
{
    return m->nsrc;
}

const mpt_source *mpt_model_source(const mpt_model *m, int i)
{
    return i >= 0 && i < m->nsrc ? &m->srcs[i]->pub : NULL;
}

uint32_t mpt_model_nlayers(const mpt_model *m)
{
    return m->nlayers;
}

const mpt_layer *mpt_model_layer(const mpt_model *m, uint32_t i)
{
    return i < m->nlayers ? m->layers[i] : NULL;
}

uint32_t mpt_model_find_layer(const mpt_model *m, const char *name)
{
    for (uint32_t i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i]->name, name) == 0) return i;
    return MPT_NO_LAYER;
}

uint32_t mpt_model_ncols(const mpt_model *m)
{
    return m->have_cols ? m->ncols : 0;
}

int64_t mpt_model_col_width(const mpt_model *m)
{
    return (int64_t)1 << m->col_shift;
}

int64_t mpt_model_col_first_step(const mpt_model *m, uint32_t c)
{
    return m->col_base + ((int64_t)c << m->col_shift);
}

int64_t mpt_model_col_of_step(const mpt_model *m, int64_t step)
{
    if (!m->have_cols || step < m->col_base) return -1;
    uint64_t c = (uint64_t)(step - m->col_base) >> m->col_shift;
    return c < m->ncols ? (int64_t)c : -1;
}

const mpt_cell *mpt_model_cell(const mpt_model *m, uint32_t layer, uint32_t col)
{
    static const mpt_cell empty;
    if (layer >= m->nlayers || col >= m->ncols || !m->cells[layer]) return &empty;
    return grid_cell(m, layer, col);
}

size_t mpt_model_nsteps(const mpt_model *m)
{
    return m->nsteps;
}

const mpt_step *mpt_model_step(const mpt_model *m, size_t i)
{
    return i < m->nsteps ? &m->steps[i] : NULL;
}

const mpt_step *mpt_model_find_step(const mpt_model *m, int64_t step)
{
    size_t lo = 0, hi = m->nsteps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->steps[mid].step < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->nsteps && m->steps[lo].step == step ? &m->steps[lo] : NULL;
}

const mpt_first_nonfinite *mpt_model_first_nonfinite(const mpt_model *m)
{
    const mpt_first_nonfinite *best = NULL;
    for (int i = 0; i < m->nsrc; i++) {
        const src_state *s = m->srcs[i];
        if (!s->have_nf) continue;
        const mpt_first_nonfinite *f = &s->nf;
        if (!best || f->step < best->step || (f->step == best->step && f->ts < best->ts)) best = f;
    }
    return best;
}

const mpt_model_totals *mpt_model_get_totals(const mpt_model *m)
{
    return &m->tot;
}
