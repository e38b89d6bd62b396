/*
 * The first non-finite value of a run, tracked while records stream in.
 *
 * The first TENSOR record of a GEMM operand holding NaN or Inf opens the record (per source;
 * the model picks the earliest source by step, then time). The same GEMM's later TENSOR and
 * PRECISION records complete it: which operands were measured and which held the value decides
 * the origin —
 *   INPUT     an input (A, B or C) already held it: it came from somewhere else. Then the last
 *             GEMM before this one (whose output was finite, since this is the first) is the
 *             last finite writer, and the kernels and copies between the two are the suspects;
 *   PRODUCED  the inputs were measured and finite, or the precision sample saw exact values
 *             beyond the output type's range: the op itself overflowed (by how much: the
 *             sample's largest exact |value| against the type's max);
 *   UNKNOWN   inputs were not measured (statistics on outputs only) and no sample says more.
 * The "between" list is taken from the source's event ring at the moment the record opens, so
 * it costs nothing until a non-finite value appears, and it is exact as long as the previous
 * GEMM is among the last RING_SIZE events (between_complete says whether it was).
 */
#include <math.h>
#include <string.h>

#include "analyzer/model_internal.h"

#define INPUT_ROLES ((1u << MPT_ROLE_A) | (1u << MPT_ROLE_B) | (1u << MPT_ROLE_C))

static int is_input(mpt_tensor_role r)
{
    return r == MPT_ROLE_A || r == MPT_ROLE_B || r == MPT_ROLE_C;
}

static void decide_origin(mpt_first_nonfinite *f)
{
    const unsigned ab = (1u << MPT_ROLE_A) | (1u << MPT_ROLE_B);
    if (f->nf_roles & INPUT_ROLES)
        f->origin = MPT_NF_INPUT;
    else if ((f->measured_roles & ab) == ab || f->prec_overflow > 0)
        f->origin = MPT_NF_PRODUCED;
    else
        f->origin = MPT_NF_UNKNOWN;
}

static void take_between(src_state *s, const ring_ent *e, mpt_first_nonfinite *f)
{
    uint64_t hi = e->seq; /* exclusive */
    uint64_t lo = e->prev_gemm + 1;
    uint64_t window_lo = hi > RING_SIZE ? hi - RING_SIZE + 1 : 1;
    f->between_complete = e->prev_gemm != 0 && lo >= window_lo;
    if (lo < window_lo) lo = window_lo;
    /* count everything in range, keep the last MPT_NF_MAX_BETWEEN */
    uint64_t total = 0;
    for (uint64_t q = lo; q < hi; q++)
        if (s->ring[q & RING_MASK].seq == q) total++;
    f->n_between_total = total;
    uint64_t skip = total > MPT_NF_MAX_BETWEEN ? total - MPT_NF_MAX_BETWEEN : 0;
    f->n_between = 0;
    for (uint64_t q = lo; q < hi; q++) {
        const ring_ent *b = &s->ring[q & RING_MASK];
        if (b->seq != q) continue;
        if (skip) {
            skip--;
            continue;
        }
        mpt_event_ref *r = &f->between[f->n_between++];
        r->type = (mpt_event_type)b->type;
        r->seq = b->seq;
        r->ts = b->ts;
        r->step = b->step;
        r->name = b->type == MPT_EV_GEMM ? b->path : b->name;
        r->layer = b->path ? b->path : "";
        r->bytes = b->bytes;
        r->nonfinite = b->type == MPT_EV_MEMORY ? b->nonfinite != 0 : 0;
    }
}

void mpt_nf_tensor(mpt_model *m, src_state *s, const ring_ent *e, const mpt_trace_tensor *t)
{
    mpt_first_nonfinite *f = &s->nf;
    mpt_tensor_role r = t->info.role;
    int nf = t->cheap.nan || t->cheap.inf;
    if (!s->have_nf) {
        if (!nf) return;
        memset(f, 0, sizeof *f);
        for (int i = 0; i < m->nsrc; i++)
            if (m->srcs[i] == s) f->source = i;
        f->rank = s->pub.rank;
        f->step = e->step;
        f->layer = e->layer;
        f->seq = e->seq;
        f->ts = e->ts;
        f->ordinal = e->ordinal;
        f->api = e->name ? e->name : "";
        f->m = e->m;
        f->n = e->n;
        f->k = e->k;
        f->batch = e->batch;
        f->dtype_in = (mpt_dtype)e->dtype_in;
        f->dtype_out = (mpt_dtype)e->dtype_out;
        f->tensor = r;
        f->nan = t->cheap.nan;
        f->inf = t->cheap.inf;
        f->max_exact_abs = NAN;
        f->prev_layer = MPT_NO_LAYER;
        f->prev_step = -1;
        if (e->prev_gemm) {
            const ring_ent *p = &s->ring[e->prev_gemm & RING_MASK];
            f->prev_seq = e->prev_gemm;
            if (p->seq == e->prev_gemm && p->type == MPT_EV_GEMM) {
                f->have_prev = 1;
                f->prev_step = p->step;
                f->prev_layer = p->layer;
            }
        }
        take_between(s, e, f);
        s->have_nf = 1;
    }
    if (r < 8) f->measured_roles |= 1u << r;
    if (nf) {
        if (r < 8) f->nf_roles |= 1u << r;
        /* report the input it came through when there is one */
        if (is_input(r) && !is_input(f->tensor)) {
            f->tensor = r;
            f->nan = t->cheap.nan;
            f->inf = t->cheap.inf;
        }
    }
    decide_origin(f);
}

void mpt_nf_precision(src_state *s, const mpt_trace_precision *p)
{
    mpt_first_nonfinite *f = &s->nf;
    if (p->samples) f->max_exact_abs = p->max_exact_abs;
    f->prec_overflow = p->overflow;
    decide_origin(f);
}
