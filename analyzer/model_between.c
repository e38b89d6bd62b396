/*
 * What ran between GEMMs: for each layer, the kernels and copies its source issued after the
 * previous GEMM and before the layer's call (the TUI's layer detail shows them).
 *
 * Two bounded sources of the answer:
 *   - streaming: each source accumulates the kernels and copies fed since its last GEMM into a
 *     fixed-size mpt_between (names deduplicated by interned pointer, counts, at most
 *     MPT_BETWEEN_MAX names, the rest counted as unlisted); the next GEMM moves it into its
 *     layer (mpt_layer.between). So every layer's most recent call is known whatever the
 *     trace's length, in memory fixed per layer, at a few stores per GEMM. Attribution follows
 *     the order records were written: an event fed after a GEMM with a higher sequence number
 *     (a record written late by another thread) is left out, and the last GEMM's interval (where
 *     it most likely belonged) is marked incomplete.
 *   - the ring: for an older call whose events are still among a source's last RING_SIZE
 *     events, the same summary is rebuilt on request, by sequence number (exact whatever the
 *     write order), including copies whose data statistics arrived later.
 */
#include <string.h>

#include "analyzer/model_internal.h"

void mpt_between_note(mpt_between *b, mpt_event_type type, const char *name, const char *path,
                      uint64_t bytes)
{
    b->total++;
    for (uint32_t i = 0; i < b->n; i++) {
        mpt_between_ent *e = &b->ent[i];
        if (e->name == name && e->type == type) {
            e->count++;
            e->bytes += bytes;
            return;
        }
    }
    if (b->n == MPT_BETWEEN_MAX) {
        b->unlisted++;
        return;
    }
    mpt_between_ent *e = &b->ent[b->n++];
    e->type = type;
    e->count = 1;
    e->name = name;
    e->layer = path ? path : "";
    e->bytes = bytes;
    e->nonfinite = 0;
}

void mpt_between_mark_nonfinite(mpt_between *b, const char *name)
{
    for (uint32_t i = 0; i < b->n; i++)
        if (b->ent[i].type == MPT_EV_MEMORY && b->ent[i].name == name) b->ent[i].nonfinite = 1;
}

void mpt_between_commit(src_state *s, mpt_layer *l, uint32_t li, uint64_t seq, int64_t step)
{
    mpt_between *a = &s->acc, *b = &l->between;
    if (a->n) memcpy(b->ent, a->ent, a->n * sizeof *a->ent);
    b->n = a->n;
    b->seq = seq;
    b->step = step;
    b->prev_seq = s->last_gemm_seq;
    b->prev_layer = s->last_gemm_seq ? s->last_gemm_layer : MPT_NO_LAYER;
    b->total = a->total;
    b->unlisted = a->unlisted;
    b->complete = 1;
    a->n = 0;
    a->total = 0;
    a->unlisted = 0;
    s->last_gemm_layer = li;
}

/* The layer's last call in `step` among the source's ring, rebuilt by sequence number. */
static int ring_between(const src_state *s, uint32_t layer, int64_t step, mpt_between *out)
{
    const ring_ent *g = NULL;
    for (uint32_t i = 0; i < RING_SIZE; i++) {
        const ring_ent *e = &s->ring[i];
        if (e->seq && e->type == MPT_EV_GEMM && e->layer == layer && e->step == step &&
            (!g || e->seq > g->seq))
            g = e;
    }
    if (!g) return 0;
    memset(out, 0, sizeof *out);
    out->seq = g->seq;
    out->step = step;
    out->prev_seq = g->prev_gemm;
    out->prev_layer = MPT_NO_LAYER;
    if (g->prev_gemm) {
        const ring_ent *p = &s->ring[g->prev_gemm & RING_MASK];
        if (p->seq == g->prev_gemm && p->type == MPT_EV_GEMM) out->prev_layer = p->layer;
    }
    uint64_t hi = g->seq; /* exclusive */
    uint64_t lo = g->prev_gemm + 1;
    uint64_t window_lo = hi > RING_SIZE ? hi - RING_SIZE + 1 : 1;
    out->complete = lo >= window_lo;
    if (lo < window_lo) lo = window_lo;
    for (uint64_t q = lo; q < hi; q++) {
        const ring_ent *e = &s->ring[q & RING_MASK];
        if (e->seq != q || (e->type != MPT_EV_KERNEL && e->type != MPT_EV_MEMORY)) continue;
        mpt_between_note(out, (mpt_event_type)e->type, e->name, e->path, e->bytes);
        if (e->type == MPT_EV_MEMORY && e->nonfinite) mpt_between_mark_nonfinite(out, e->name);
    }
    return 1;
}

int mpt_model_layer_between(const mpt_model *m, uint32_t layer, int64_t step, mpt_between *out)
{
    memset(out, 0, sizeof *out);
    out->step = MPT_NO_STEP;
    out->prev_layer = MPT_NO_LAYER;
    if (layer >= m->nlayers) return -1;
    const mpt_between *last = &m->layers[layer]->between;
    if (step != MPT_NO_STEP) {
        /* the ring is exact by sequence number; the stored summary covers any interval length */
        for (int i = 0; i < m->nsrc; i++) {
            if (!ring_between(m->srcs[i], layer, step, out)) continue;
            if (out->complete || last->seq == 0 || last->step != step || last->seq != out->seq)
                return 1;
            break;
        }
        if (last->seq && last->step == step) {
            *out = *last;
            return 1;
        }
    }
    if (!last->seq) {
        memset(out, 0, sizeof *out);
        out->step = MPT_NO_STEP;
        out->prev_layer = MPT_NO_LAYER;
        return -1;
    }
    *out = *last;
    return 0;
}
