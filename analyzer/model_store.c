/*
 * The model's storage: interned strings, layers in execution order, and the step table (the
 * layer x column grid of cells is model_grid.c's).
 */
#include <stdint.h>
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
        mpt_cell ***ncl = realloc(m->cells, nc * sizeof *ncl);
        if (!ncl) return MPT_NO_LAYER;
        m->cells = ncl;
        m->caplayers = nc;
    }
    mpt_layer *l = calloc(1, sizeof *l);
    if (!l) return MPT_NO_LAYER;
    i = m->nlayers;
    if (mpt_grid_layer_added(m, i) != 0) {
        free(l);
        return MPT_NO_LAYER;
    }
    l->name = name;
    l->index = i;
    l->phase = mpt_phase_of(name);
    l->api = "";
    mpt_cell_init(&l->total);
    mpt_stats_init(&l->out_full);
    m->layers[i] = l;
    m->nlayers++;
    size_t j = ptr_slot(name, m->lmap.nslots);
    while (m->lmap.keys[j])
        j = (j + 1) & (m->lmap.nslots - 1);
    m->lmap.keys[j] = name;
    m->lmap.vals[j] = i;
    m->lmap.count++;
    mpt_grid_fit_layers(m); /* one more layer shrinks the number of columns the budget allows */
    return i;
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
