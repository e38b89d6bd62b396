/*
 * The layer x column grid of cells and its memory budget.
 *
 * Column c covers steps [col_base + c*w, col_base + (c+1)*w) with w = 2^col_shift. When a step
 * lands past the last column the grid grows; before the first, it is rebuilt with a lower base
 * (ranks may start at different steps). When layers x columns x sizeof(mpt_cell) would pass the
 * budget, the grid is rebuilt with twice the width, merging pairs of columns: a long run keeps
 * its whole history at a coarser resolution, and memory stays bounded whatever the trace's size.
 *
 * Storage. A layer's cells are not one array but a table of chunks of GRID_CHUNK columns each
 * (model_internal.h), and the chunks come from slabs of 2 MiB that the model maps once. Why:
 * with one array per layer, every growth of the grid copied it onto fresh memory, and every
 * fresh 4 KiB page was a page fault, about 10 us in a virtual machine: growing the bench
 * trace's grid to its 64 MiB budget took a quarter of the report's decoding thread
 * (docs/analyzer.md, "Speed"). Now growing adds chunks and copies nothing, and a slab is
 * 2 MiB-aligned and advised MADV_HUGEPAGE, so the kernel backs it with one huge page and one
 * fault where it can. Fresh slab memory is zero, which is what an empty cell is; a chunk
 * released by a rebuild goes to a free list and is zeroed when it is taken again.
 *
 * Cost: the budget is rounded up to whole chunks (at most GRID_CHUNK - 1 columns per layer
 * more), and a slab is mapped in full however little of it is used (its pages are only
 * resident once touched). Under AddressSanitizer the slabs' unused bytes and released chunks
 * are poisoned, so a stray access into them is reported as for heap memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "analyzer/model_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define GRID_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GRID_ASAN 1
#endif
#endif
#ifdef GRID_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SLAB_BYTES  ((size_t)2 << 20) /* a huge page on x86-64 and arm64 with 4 KiB pages */
#define CHUNK_BYTES ((size_t)GRID_CHUNK * sizeof(mpt_cell))

/* ---- the chunk allocator --------------------------------------------------------------------- */

/* A fresh slab: 2 MiB of zero memory at a 2 MiB boundary, so that it can be one huge page. */
static uint8_t *slab_map(void)
{
    size_t len = 2 * SLAB_BYTES;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    uintptr_t a = ((uintptr_t)p + SLAB_BYTES - 1) & ~(uintptr_t)(SLAB_BYTES - 1);
    size_t head = a - (uintptr_t)p, tail = len - head - SLAB_BYTES;
    if (head) munmap(p, head);
    if (tail) munmap((uint8_t *)a + SLAB_BYTES, tail);
#ifdef MADV_HUGEPAGE
    madvise((void *)a, SLAB_BYTES, MADV_HUGEPAGE); /* advice: refused is fine */
#endif
    POISON((void *)a, SLAB_BYTES);
    return (uint8_t *)a;
}

/* A chunk of GRID_CHUNK empty cells; NULL: no memory. */
static mpt_cell *chunk_get(grid_arena *a)
{
    if (a->spare) {
        mpt_cell *c = a->spare;
        UNPOISON(c, CHUNK_BYTES);
        memcpy(&a->spare, c, sizeof a->spare);
        memset(c, 0, CHUNK_BYTES);
        return c;
    }
    if (!a->nslabs || a->slab_used + CHUNK_BYTES > SLAB_BYTES) {
        if (a->nslabs == a->capslabs) {
            size_t n = a->capslabs ? a->capslabs * 2 : 8;
            uint8_t **s = realloc(a->slabs, n * sizeof *s);
            if (!s) return NULL;
            a->slabs = s;
            a->capslabs = n;
        }
        uint8_t *s = slab_map();
        if (!s) return NULL;
        a->slabs[a->nslabs++] = s;
        a->slab_used = 0;
    }
    mpt_cell *c = (mpt_cell *)(a->slabs[a->nslabs - 1] + a->slab_used);
    a->slab_used += CHUNK_BYTES;
    UNPOISON(c, CHUNK_BYTES);
    return c; /* never used: still zero */
}

/* Gives a chunk back; its first bytes link the free list. */
static void chunk_put(grid_arena *a, mpt_cell *c)
{
    memcpy(c, &a->spare, sizeof a->spare);
    POISON(c, CHUNK_BYTES);
    a->spare = c;
}

void mpt_grid_free(mpt_model *m)
{
    for (uint32_t l = 0; l < m->nlayers; l++)
        free(m->cells ? m->cells[l] : NULL);
    free(m->cells);
    grid_arena *a = &m->arena;
    for (size_t i = 0; i < a->nslabs; i++) {
        UNPOISON(a->slabs[i], SLAB_BYTES);
        munmap(a->slabs[i], SLAB_BYTES);
    }
    free(a->slabs);
    memset(a, 0, sizeof *a);
}

/* A table of nch chunks from chunk `from` on filled with fresh chunks; on failure those taken
 * are given back, the table keeps its first `from` and -1 is returned. */
static int table_fill(grid_arena *a, mpt_cell **t, uint32_t from, uint32_t nch)
{
    for (uint32_t k = from; k < nch; k++) {
        t[k] = chunk_get(a);
        if (!t[k]) {
            while (k-- > from)
                chunk_put(a, t[k]);
            return -1;
        }
    }
    return 0;
}

/* ---- the grid -------------------------------------------------------------------------------- */

/* Columns the budget allows with the model's layers (never fewer than opts.min_columns). */
static size_t max_cols(const mpt_model *m)
{
    size_t per_col = (size_t)(m->nlayers ? m->nlayers : 1) * sizeof(mpt_cell);
    size_t n = m->opts.cell_budget_bytes / per_col;
    return n < m->opts.min_columns ? m->opts.min_columns : n;
}

/* Capacity for n columns, in whole chunks: doubling (amortised growth), but never past what the
 * budget allows (rounded up to a chunk). A doubling that passes half the budget goes to the
 * budget at once: a long run gets there anyway. */
static uint32_t round_cap(const mpt_model *m, uint32_t n)
{
    uint32_t c = GRID_CHUNK;
    while (c < n)
        c *= 2;
    size_t lim = max_cols(m);
    if (c > lim / 2) c = (uint32_t)(lim > n ? lim : n);
    return (c + GRID_CHUNK - 1) & ~(GRID_CHUNK - 1u);
}

/* Rebuilds every layer's cells for a new base/width/count, merging old columns into new. */
static int regrid(mpt_model *m, int64_t base, int shift, uint32_t ncols)
{
    /* Coarsening with the same base, the common case of a growing run: new column j gathers old
     * columns [j << d, (j + 1) << d), none before j, so each layer's cells are rewritten front
     * to back in place. Columns from ncols to cap_cols are kept zero, as everywhere. */
    if (m->have_cols && base == m->col_base && shift > m->col_shift && ncols <= m->cap_cols) {
        int d = shift - m->col_shift;
        uint32_t used = (uint32_t)(((uint64_t)m->ncols + (1u << d) - 1) >> d);
        for (uint32_t l = 0; l < m->nlayers; l++) {
            for (uint32_t j = 0; j < used; j++) {
                mpt_cell acc;
                memset(&acc, 0, sizeof acc);
                uint64_t end = (uint64_t)(j + 1) << d;
                for (uint64_t c = (uint64_t)j << d; c < end && c < m->ncols; c++)
                    mpt_cell_merge(&acc, grid_cell(m, l, (uint32_t)c));
                *grid_cell(m, l, j) = acc;
            }
            for (uint32_t j = used; j < m->ncols; j++)
                memset(grid_cell(m, l, j), 0, sizeof(mpt_cell));
        }
        m->col_shift = shift;
        m->ncols = ncols;
        m->grid_gen++;
        return 0;
    }
    /* Otherwise a second grid, filled from the first, whose chunks are then given back. */
    uint32_t cap = round_cap(m, ncols), nch = cap / GRID_CHUNK;
    mpt_cell ***nc = calloc(m->nlayers ? m->nlayers : 1, sizeof *nc);
    if (!nc) return -1;
    uint32_t l = 0;
    for (; l < m->nlayers; l++) {
        nc[l] = calloc(nch, sizeof **nc);
        if (!nc[l] || table_fill(&m->arena, nc[l], 0, nch) != 0) break;
    }
    if (l < m->nlayers) {
        free(nc[l]);
        while (l-- > 0) {
            for (uint32_t k = 0; k < nch; k++)
                chunk_put(&m->arena, nc[l][k]);
            free(nc[l]);
        }
        free(nc);
        return -1;
    }
    for (l = 0; l < m->nlayers; l++) {
        for (uint32_t c = 0; c < m->ncols; c++) {
            const mpt_cell *src = grid_cell(m, l, c);
            if (!src->calls) continue;
            int64_t first = m->col_base + ((int64_t)c << m->col_shift);
            uint32_t j = (uint32_t)((first - base) >> shift);
            mpt_cell_merge(&nc[l][j / GRID_CHUNK][j % GRID_CHUNK], src);
        }
        for (uint32_t k = 0; k < m->cap_cols / GRID_CHUNK; k++)
            chunk_put(&m->arena, m->cells[l][k]);
        free(m->cells[l]);
        m->cells[l] = nc[l];
    }
    free(nc);
    m->col_base = base;
    m->col_shift = shift;
    m->ncols = ncols;
    m->cap_cols = cap;
    m->grid_gen++;
    return 0;
}

static int grow_cols(mpt_model *m, uint32_t ncols)
{
    if (ncols > m->cap_cols) {
        uint32_t cap = round_cap(m, ncols), old = m->cap_cols / GRID_CHUNK, nch = cap / GRID_CHUNK;
        uint32_t l = 0;
        for (; l < m->nlayers; l++) {
            mpt_cell **t = realloc(m->cells[l], nch * sizeof *t);
            if (!t) break;
            m->cells[l] = t; /* a longer table is harmless: only cap_cols' chunks are read */
            if (table_fill(&m->arena, t, old, nch) != 0) break;
        }
        if (l < m->nlayers) { /* no memory: give back what the layers before got */
            while (l-- > 0)
                for (uint32_t k = old; k < nch; k++)
                    chunk_put(&m->arena, m->cells[l][k]);
            return -1;
        }
        m->cap_cols = cap;
    }
    m->ncols = ncols;
    return 0;
}

int mpt_grid_layer_added(mpt_model *m, uint32_t layer)
{
    uint32_t nch = m->cap_cols / GRID_CHUNK;
    mpt_cell **t = NULL;
    if (nch) {
        t = calloc(nch, sizeof *t);
        if (!t || table_fill(&m->arena, t, 0, nch) != 0) {
            free(t);
            return -1;
        }
    }
    m->cells[layer] = t;
    return 0;
}

void mpt_grid_fit_layers(mpt_model *m)
{
    if (!m->have_cols || m->ncols <= max_cols(m)) return;
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

mpt_cell *mpt_model_cell_at(mpt_model *m, uint32_t layer, int64_t step)
{
    if (step < 0 || step >= GRID_MAX_STEP) return NULL;
    if (m->have_cols && step >= m->col_base) {
        uint64_t c = (uint64_t)(step - m->col_base) >> m->col_shift;
        if (c < m->ncols) return grid_cell(m, layer, (uint32_t)c);
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
    return grid_cell(m, layer, (uint32_t)((uint64_t)(step - m->col_base) >> m->col_shift));
}
