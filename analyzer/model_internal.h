/*
 * The model's insides, shared by analyzer/model*.c, ingest.c, first_nonfinite.c and source.c
 * (never included by front ends: they use model.h).
 *
 * Per source, a ring of the most recent GEMM/KERNEL/MEMORY events indexed by sequence number
 * (seq & RING_MASK) does two jobs: it finds the GEMM a TENSOR or PRECISION record belongs to
 * (records of one GEMM may be written later than the GEMM, e.g. drained from a GPU), and it
 * lists what ran between two GEMMs when the first non-finite value appears (and for a layer's
 * recent calls, mpt_model_layer_between). Its size bounds both: a TENSOR more than RING_SIZE
 * events after its GEMM is counted as an orphan.
 */
#ifndef MPT_ANALYZER_MODEL_INTERNAL_H
#define MPT_ANALYZER_MODEL_INTERNAL_H

#include "analyzer/model.h"

/* Steps at or above this are kept in the step table and the layer totals but not placed in the
 * grid (a program numbering steps by sample or by time would otherwise stretch it absurdly). */
#define GRID_MAX_STEP (INT64_C(1) << 40)
/* String ids above this are ignored (the writer numbers them 1, 2, 3, ...; a trace with more
 * distinct strings is not one mptrace wrote, and a table that size would not be bounded). */
#define MAX_STRING_ID (1u << 22)

#define RING_SIZE     4096u
#define RING_MASK     (RING_SIZE - 1u)
#define TID_MAX_DEPTH 64

typedef struct ring_ent {
    uint64_t seq; /* 0: empty */
    uint64_t ts;
    int64_t step;
    uint8_t type;      /* mpt_event_type */
    uint8_t kind;      /* MEMORY: mpt_mem_kind */
    uint8_t dtype_in;  /* GEMM: A's dtype */
    uint8_t dtype_out; /* GEMM: D's dtype */
    uint8_t nonfinite; /* MEMORY: data held NaN/Inf; GEMM: bit r = role r held NaN/Inf */
    uint8_t compute;
    uint16_t reserved;
    uint32_t layer; /* GEMM: model layer index */
    uint32_t ordinal;
    uint64_t prev_gemm; /* GEMM: seq of this source's previous GEMM (0 none) */
    uint64_t bytes;     /* MEMORY */
    const char *name;   /* KERNEL: kernel name; GEMM: api; interned */
    const char *path;   /* NVTX path of the thread at the time; interned, "" none */
    int64_t m, n, k, batch;
    mpt_cell *cell;    /* GEMM: its grid cell, valid while the model's grid_gen is cell_gen */
    uint32_t cell_gen; /* (NULL: not looked up; see gemm_cell in ingest.c) */
} ring_ent;

/* One thread's NVTX range stack, as interned '/'-joined paths (path[d] = path after d+1 pushes). */
typedef struct tid_stack {
    uint32_t tid;
    int depth;
    const char *path[TID_MAX_DEPTH];
} tid_stack;

typedef struct src_string {
    const char *s;  /* interned; NULL: not defined */
    uint32_t layer; /* layer index + 1 once resolved as a layer name; 0 not yet */
    int8_t key;     /* scalar key + 1 once resolved; 0 not yet */
} src_string;

typedef struct src_state {
    mpt_source pub;
    int header_pending;       /* FOLLOW: opened before the header was complete */
    mpt_trace_reader *reader; /* NULL for fed sources, or once finished */
    unsigned open_flags;
    src_string *str; /* indexed by string id */
    uint32_t nstr;
    ring_ent *ring; /* RING_SIZE entries */
    uint64_t last_gemm_seq;
    uint32_t last_gemm_layer; /* layer of last_gemm_seq's GEMM (valid when that is nonzero) */
    /* kernels and copies fed since the last GEMM: committed to the next GEMM's layer */
    mpt_between acc;
    tid_stack *tids;
    size_t ntids, captids;
    int have_nf;
    mpt_first_nonfinite nf;
    uint64_t scalars_seen;
} src_state;

/* String interning: one copy of every distinct string, stable pointers. */
typedef struct str_pool {
    char **blocks;
    size_t nblocks, capblocks;
    size_t used, cap;   /* in the current block */
    const char **table; /* open addressing */
    uint64_t *hashes;
    size_t nslots, count;
} str_pool;

/* The grid's cells, in chunks of GRID_CHUNK columns of one layer (model_grid.c): cells[l] is
 * layer l's table of cap_cols / GRID_CHUNK chunks. */
#define GRID_CHUNK 64u
typedef struct grid_arena {
    uint8_t **slabs; /* mapped once, unmapped with the model */
    size_t nslabs, capslabs;
    size_t slab_used; /* bytes handed out of the last slab */
    mpt_cell *spare;  /* chunks given back, linked through their first bytes */
} grid_arena;

/* Pointer -> layer index map (layer names are interned, so pointer equality is string equality). */
typedef struct layer_map {
    const char **keys;
    uint32_t *vals;
    size_t nslots, count;
} layer_map;

struct mpt_model {
    mpt_model_opts opts;
    str_pool pool;
    src_state **srcs;
    int nsrc, capsrc;
    int poll_next; /* first source poll has not finished */
    mpt_layer **layers;
    mpt_cell ***cells; /* layer l's column c: grid_cell(m, l, c); cap_cols columns each */
    grid_arena arena;  /* where the cells' chunks come from */
    uint32_t nlayers, caplayers;
    layer_map lmap;
    uint32_t ncols, cap_cols;
    int64_t col_base; /* first step of column 0 (a multiple of the width) */
    int col_shift;    /* width = 1 << col_shift */
    int have_cols;
    uint32_t grid_gen; /* counts rebuilds that move cells between columns (growth does not) */
    mpt_step *steps;
    size_t nsteps, capsteps, last_step;
    mpt_model_totals tot;
    uint64_t gen;
    mpt_trace_record *scratch; /* poll's record buffer (large: a full TENSOR's statistics) */
};

/* model.c */
/* Fills a source's header fields (rank, host, command line, ...) from a trace header. */
void mpt_source_set_header(mpt_model *m, src_state *s, const mpt_trace_header *h);

/* model_store.c */
const char *mpt_pool_intern(str_pool *p, const char *s, size_t len); /* NULL: no memory */
void mpt_pool_free(str_pool *p);
/* Layer of an interned name, created (in execution order) when new; MPT_NO_LAYER: no memory. */
uint32_t mpt_model_layer_get(mpt_model *m, const char *interned);
/* The step entry of `step` (created when new); NULL: no memory. */
mpt_step *mpt_model_step_get(mpt_model *m, int64_t step);

/* model_grid.c */
/* Cell of `layer` at `step`, growing or coarsening the grid; NULL: no memory (callers place only
 * steps in [0, GRID_MAX_STEP) in the grid). */
mpt_cell *mpt_model_cell_at(mpt_model *m, uint32_t layer, int64_t step);
/* Gives layer `layer` (just counted in, m->cells large enough) its cells: 0, or -1 without
 * memory. Then mpt_grid_fit_layers coarsens the grid if the new layer took it past the budget
 * (on failure the finer grid stays). */
int mpt_grid_layer_added(mpt_model *m, uint32_t layer);
void mpt_grid_fit_layers(mpt_model *m);
/* Frees the cells and their slabs. */
void mpt_grid_free(mpt_model *m);

static inline mpt_cell *grid_cell(const mpt_model *m, uint32_t layer, uint32_t col)
{
    return &m->cells[layer][col / GRID_CHUNK][col % GRID_CHUNK];
}

/* ingest.c */
/* The precision-error histogram's bin of an error v > 0 (rel_bins/ulp_bins; tests). */
int mpt_err_bin(double v);

/* model_between.c */
/* Counts one kernel or copy into b (a new name takes a free entry, else counts as unlisted). */
void mpt_between_note(mpt_between *b, mpt_event_type type, const char *name, const char *path,
                      uint64_t bytes);
/* A copy of kind `name` in b held NaN/Inf (its TENSOR record came after the MEMORY one). */
void mpt_between_mark_nonfinite(mpt_between *b, const char *name);
/* A GEMM of layer `li` with seq/step: moves the source's accumulated events into the layer's
 * `between` and starts a new interval. O(1) (a copy of the entries when there are any). */
void mpt_between_commit(src_state *s, mpt_layer *l, uint32_t li, uint64_t seq, int64_t step);

/* first_nonfinite.c */
/* A TENSOR of GEMM `e` of source `s` held NaN/Inf, or (first call for this GEMM) was measured:
 * updates the source's first-non-finite record. */
void mpt_nf_tensor(mpt_model *m, src_state *s, const ring_ent *e, const mpt_trace_tensor *t);
void mpt_nf_precision(src_state *s, const mpt_trace_precision *p);

#endif
