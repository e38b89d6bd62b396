/*
 * The model's storage: interned strings, layers in execution order, the layer x column grid of
 * cells with its memory budget, and the step table.
 *
 * The grid. Column c covers steps [col_base + c*w, col_base + (c+1)*w) with w = 2^col_shift.
 * Each layer owns an array of cap_cols cells (zeroed = empty). When a step lands past the last
 * column the grid grows; before the first, it is rebuilt with a lower base (ranks may start at
 * different steps). When layers x columns x sizeof(mpt_cell) would pass the budget, the grid is
 * rebuilt with twice the width, merging pairs of columns: a long run keeps its whole history at
 * a coarser resolution, and memory stays bounded whatever the trace's size.
 */
#include <stdlib.h>
#include <string.h>

#include "analyzer/model_internal.h"

/* ---- string pool ----------------------------------------------------------------------------- */

#define POOL_BLOCK (64u << 10)

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static int pool_grow_table(str_pool *p)
{
    size_t n = p->nslots ? p->nslots * 2 : 1024;
    const char **t = calloc(n, sizeof *t);
    uint64_t *h = calloc(n, sizeof *h);
    if (!t || !h) {
        free(t);
        free(h);
        return -1;
    }
    for (size_t i = 0; i < p->nslots; i++) {
        if (!p->table[i]) continue;
        size_t j = p->hashes[i] & (n - 1);
        while (t[j])
            j = (j + 1) & (n - 1);
        t[j] = p->table[i];
        h[j] = p->hashes[i];
    }
    free(p->table);
    free(p->hashes);
    p->table = t;
    p->hashes = h;
    p->nslots = n;
    return 0;
}

static char *pool_alloc(str_pool *p, size_t n)
{
    if (n > POOL_BLOCK / 4 || p->used + n > p->cap) {
        size_t sz = n > POOL_BLOCK / 4 ? n : POOL_BLOCK;
        if (p->nblocks == p->capblocks) {
            size_t nc = p->capblocks ? p->capblocks * 2 : 16;
            char **nb = realloc(p->blocks, nc * sizeof *nb);
            if (!nb) return NULL;
            p->blocks = nb;
            p->capblocks = nc;
        }
        char *b = malloc(sz);
        if (!b) return NULL;
        if (sz != POOL_BLOCK) { /* a big string: its own block, the current one stays open */
            p->blocks[p->nblocks++] = b;
            if (p->nblocks >= 2) { /* keep the open block last */
                char *t = p->blocks[p->nblocks - 1];
                p->blocks[p->nblocks - 1] = p->blocks[p->nblocks - 2];
                p->blocks[p->nblocks - 2] = t;
            }
            return b;
        }
        p->blocks[p->nblocks++] = b;
        p->used = 0;
        p->cap = POOL_BLOCK;
    }
    char *r = p->blocks[p->nblocks - 1] + p->used;
    p->used += n;
    return r;
}

const char *mpt_pool_intern(str_pool *p, const char *s, size_t len)
{
    if ((p->count + 1) * 2 > p->nslots && pool_grow_table(p) != 0) return NULL;
    uint64_t h = hash_bytes(s, len);
    size_t j = h & (p->nslots - 1);
    while (p->table[j]) {
        if (p->hashes[j] == h && strncmp(p->table[j], s, len) == 0 && p->table[j][len] == '\0')
            return p->table[j];
        j = (j + 1) & (p->nslots - 1);
    }
    char *c = pool_alloc(p, len + 1);
    if (!c) return NULL;
    memcpy(c, s, len);
    c[len] = '\0';
    p->table[j] = c;
    p->hashes[j] = h;
    p->count++;
    return c;
}

void mpt_pool_free(str_pool *p)
{
    for (size_t i = 0; i < p->nblocks; i++)
        free(p->blocks[i]);
    free(p->blocks);
    free(p->table);
    free(p->hashes);
    memset(p, 0, sizeof *p);
}

/* ---- layers ---------------------------------------------------------------------------------- */

static size_t ptr_slot(const char *k, size_t nslots)
{
    uint64_t x = (uint64_t)(uintptr_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x & (nslots - 1);
}

static int lmap_grow(layer_map *lm)
{
    size_t n = lm->nslots ? lm->nslots * 2 : 256;
    const char **k = calloc(n, sizeof *k);
    uint32_t *v = calloc(n, sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    for (size_t i = 0; i < lm->nslots; i++) {
        if (!lm->keys[i]) continue;
        size_t j = ptr_slot(lm->keys[i], n);
        while (k[j])
            j = (j + 1) & (n - 1);
        k[j] = lm->keys[i];
        v[j] = lm->vals[i];
    }
    free(lm->keys);
    free(lm->vals);
    lm->keys = k;
    lm->vals = v;
    lm->nslots = n;
    return 0;
}

static uint32_t lmap_find(const layer_map *lm, const char *k)
{
    if (!lm->nslots) return MPT_NO_LAYER;
    size_t j = ptr_slot(k, lm->nslots);
    while (lm->keys[j]) {
        if (lm->keys[j] == k) return lm->vals[j];
        j = (j + 1) & (lm->nslots - 1);
    }
    return MPT_NO_LAYER;
}

static size_t max_cols(const mpt_model *m)
{
    size_t per_col = (size_t)(m->nlayers ? m->nlayers : 1) * sizeof(mpt_cell);
    size_t n = m->opts.cell_budget_bytes / per_col;
    return n < m->opts.min_columns ? m->opts.min_columns : n;
}

static int regrid(mpt_model *m, int64_t base, int shift, uint32_t ncols);

uint32_t mpt_model_layer_get(mpt_model *m, const char *name)
{
    uint32_t i = lmap_find(&m->lmap, name);
    if (i != MPT_NO_LAYER) return i;
    if ((m->lmap.count + 1) * 2 > m->lmap.nslots && lmap_grow(&m->lmap) != 0) return MPT_NO_LAYER;
    if (m->nlayers == m->caplayers) {
        uint32_t nc = m->caplayers ? m->caplayers * 2 : 64;
        mpt_layer **nl = realloc(m->layers, nc * sizeof *nl);
        if (!nl) return MPT_NO_LAYER;
        m->layers = nl;
        mpt_cell **ncl = realloc(m->cells, nc * sizeof *ncl);
        if (!ncl) return MPT_NO_LAYER;
        m->cells = ncl;
        m->caplayers = nc;
    }
    mpt_layer *l = calloc(1, sizeof *l);
    mpt_cell *cells = m->cap_cols ? calloc(m->cap_cols, sizeof *cells) : NULL;
    if (!l || (m->cap_cols && !cells)) {
        free(l);
        free(cells);
        return MPT_NO_LAYER;
    }
    i = m->nlayers;
    l->name = name;
    l->index = i;
    l->phase = mpt_phase_of(name);
    l->api = "";
    mpt_cell_init(&l->total);
    mpt_stats_init(&l->out_full);
    m->layers[i] = l;
    m->cells[i] = cells;
    m->nlayers++;
    size_t j = ptr_slot(name, m->lmap.nslots);
    while (m->lmap.keys[j])
        j = (j + 1) & (m->lmap.nslots - 1);
    m->lmap.keys[j] = name;
    m->lmap.vals[j] = i;
    m->lmap.count++;
    /* one more layer shrinks the number of columns the budget allows */
    if (m->have_cols && m->ncols > max_cols(m)) {
        int shift = m->col_shift;
        int64_t last = m->col_base + ((int64_t)m->ncols << m->col_shift) - 1, base;
        uint64_t n;
        do {
            shift++;
            base = (m->col_base >> shift) << shift;
            n = (uint64_t)((last - base) >> shift) + 1;
        } while (n > max_cols(m));
        regrid(m, base, shift, (uint32_t)n); /* on failure the finer grid simply stays */
    }
    return i;
}

/* ---- the grid -------------------------------------------------------------------------------- */

/* Capacity for n columns: doubling (amortised growth), but never past what the budget allows,
 * so the grid's allocation stays within the budget too. */
static uint32_t round_cap(const mpt_model *m, uint32_t n)
{
    uint32_t c = 16;
    while (c < n)
        c *= 2;
    size_t lim = max_cols(m);
    if (c > lim) c = (uint32_t)(lim > n ? lim : n);
    return c;
}

/* Rebuilds every layer's cells for a new base/width/count, merging old columns into new. */
static int regrid(mpt_model *m, int64_t base, int shift, uint32_t ncols)
{
    /* Coarsening with the same base, the common case of a growing run: new column j gathers old
     * columns [j << d, (j + 1) << d), none before j, so each layer's array is rewritten front to
     * back in place. A second grid would mean touching fresh pages, the most of a regrid's cost.
     * Columns from ncols to cap_cols are kept zero, as everywhere. */
    if (m->have_cols && base == m->col_base && shift > m->col_shift && ncols <= m->cap_cols) {
        int d = shift - m->col_shift;
        uint32_t used = (uint32_t)(((uint64_t)m->ncols + (1u << d) - 1) >> d);
        for (uint32_t l = 0; l < m->nlayers; l++) {
            mpt_cell *cells = m->cells[l];
            for (uint32_t j = 0; j < used; j++) {
                mpt_cell acc;
                memset(&acc, 0, sizeof acc);
                uint64_t end = (uint64_t)(j + 1) << d;
                for (uint64_t c = (uint64_t)j << d; c < end && c < m->ncols; c++)
                    mpt_cell_merge(&acc, &cells[c]);
                cells[j] = acc;
            }
            memset(cells + used, 0, (size_t)(m->ncols - used) * sizeof *cells);
        }
        m->col_shift = shift;
        m->ncols = ncols;
        return 0;
    }
    uint32_t cap = round_cap(m, ncols);
    mpt_cell **nc = calloc(m->nlayers ? m->nlayers : 1, sizeof *nc);
    if (!nc) return -1;
    for (uint32_t l = 0; l < m->nlayers; l++) {
        nc[l] = calloc(cap, sizeof(mpt_cell));
        if (!nc[l]) {
            for (uint32_t k = 0; k < l; k++)
                free(nc[k]);
            free(nc);
            return -1;
        }
    }
    for (uint32_t l = 0; l < m->nlayers; l++) {
        for (uint32_t c = 0; c < m->ncols; c++) {
            const mpt_cell *src = &m->cells[l][c];
            if (!src->calls) continue;
            int64_t first = m->col_base + ((int64_t)c << m->col_shift);
            mpt_cell_merge(&nc[l][(first - base) >> shift], src);
        }
        free(m->cells[l]);
        m->cells[l] = nc[l];
    }
    free(nc);
    m->col_base = base;
    m->col_shift = shift;
    m->ncols = ncols;
    m->cap_cols = cap;
    return 0;
}

static int grow_cols(mpt_model *m, uint32_t ncols)
{
    if (ncols > m->cap_cols) {
        uint32_t cap = round_cap(m, ncols);
        for (uint32_t l = 0; l < m->nlayers; l++) {
            mpt_cell *c = realloc(m->cells[l], cap * sizeof *c);
            if (!c) return -1;
            memset(c + m->cap_cols, 0, (cap - m->cap_cols) * sizeof *c);
            m->cells[l] = c;
        }
        m->cap_cols = cap;
    }
    m->ncols = ncols;
    return 0;
}

mpt_cell *mpt_model_cell_at(mpt_model *m, uint32_t layer, int64_t step)
{
    if (step < 0 || step >= GRID_MAX_STEP) return NULL;
    if (m->have_cols && step >= m->col_base) {
        uint64_t c = (uint64_t)(step - m->col_base) >> m->col_shift;
        if (c < m->ncols) return &m->cells[layer][c];
    }
    /* the step is outside the grid: extend it, coarsening until it fits the budget */
    int64_t lo = m->have_cols && m->col_base < step ? m->col_base : step;
    int64_t hi = m->have_cols ? m->col_base + ((int64_t)m->ncols << m->col_shift) - 1 : step;
    if (step > hi) hi = step;
    int shift = m->have_cols ? m->col_shift : 0;
    int64_t base;
    uint64_t n;
    for (;;) {
        base = (lo >> shift) << shift;
        n = (uint64_t)((hi - base) >> shift) + 1;
        if (n <= max_cols(m)) break;
        shift++;
    }
    if (!m->have_cols) {
        m->col_base = base;
        m->col_shift = shift;
        m->ncols = 0;
        m->have_cols = 1;
        if (grow_cols(m, (uint32_t)n) != 0) return NULL;
    } else if (base == m->col_base && shift == m->col_shift) {
        if (grow_cols(m, (uint32_t)n) != 0) return NULL;
    } else if (regrid(m, base, shift, (uint32_t)n) != 0) {
        return NULL;
    }
    return &m->cells[layer][(uint64_t)(step - m->col_base) >> m->col_shift];
}

/* ---- steps ----------------------------------------------------------------------------------- */

mpt_step *mpt_model_step_get(mpt_model *m, int64_t step)
{
    if (m->nsteps && m->steps[m->last_step].step == step) return &m->steps[m->last_step];
    size_t pos = m->nsteps;
    if (m->nsteps && step <= m->steps[m->nsteps - 1].step) {
        size_t lo = 0, hi = m->nsteps;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (m->steps[mid].step < step)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < m->nsteps && m->steps[lo].step == step) {
            m->last_step = lo;
            return &m->steps[lo];
        }
        pos = lo;
    }
    if (m->nsteps == m->capsteps) {
        size_t nc = m->capsteps ? m->capsteps * 2 : 256;
        mpt_step *ns = realloc(m->steps, nc * sizeof *ns);
        if (!ns) return NULL;
        m->steps = ns;
        m->capsteps = nc;
    }
    memmove(m->steps + pos + 1, m->steps + pos, (m->nsteps - pos) * sizeof *m->steps);
    mpt_step *s = &m->steps[pos];
    memset(s, 0, sizeof *s);
    s->step = step;
    s->skip = -1;
    s->skip_inferred = -1;
    s->first_nf_layer = MPT_NO_LAYER;
    m->nsteps++;
    m->last_step = pos;
    return s;
}
