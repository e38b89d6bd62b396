/*
 * The run model: what the analyzer knows about a training run, built incrementally from trace
 * records and queryable at any time. `mptrace report`, `diff`, `export` and the TUI all present
 * this one model; none of them parses a trace itself.
 *
 * Shape (docs/analyzer.md):
 *   - sources: one per trace file (one per rank of a job), merged into one run;
 *   - layers: one per distinct layer name (NVTX path, call-site path, or "op#N"), in execution
 *     order (order of first appearance: forward then backward);
 *   - a grid of cells, layers x columns of steps. A cell summarises every GEMM of that layer in
 *     those steps (all ranks merged): output and input value ranges, NaN/Inf, subnormal and
 *     narrow-format counts, precision error. A column normally holds one step; when the grid
 *     would pass its memory budget, adjacent columns merge pairwise (a column then covers 2, 4,
 *     ... steps), so memory stays bounded by layers x columns whatever the trace size;
 *   - steps: one entry per step seen (loss, scale, skip marks, non-finite GEMMs observed);
 *   - the first non-finite value of the run, tracked exactly as records stream in, with the
 *     kernels and copies observed between it and the last GEMM before it;
 *   - for every layer, the kernels and copies between its most recent call and the GEMM before
 *     it (bounded: a few distinct names with counts), and for recent calls on request.
 *
 * Use: mpt_model_new; then either mpt_model_open (files; FOLLOW for a trace still being
 * written) + mpt_model_poll, or mpt_model_add_source + mpt_model_feed (records from anywhere);
 * query between calls. Derived answers (spikes, scaler, findings) come from analysis.h, which
 * computes them from the model on demand.
 *
 * Contract: not thread-safe (one thread feeds and queries). Pointers returned by queries stay
 * valid until the next feed/poll (layers and strings: until mpt_model_free). Functions return
 * 0 / an index, or -1 with a message in the caller's buffer; nothing prints or exits.
 */
#ifndef MPT_ANALYZER_MODEL_H
#define MPT_ANALYZER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor_stats.h"
#include "core/trace_format.h"
#include "core/trace_reader.h"

#define MPT_NO_LAYER UINT32_MAX
#define MPT_NO_STEP  INT64_MIN

typedef struct mpt_model mpt_model;

typedef struct mpt_model_opts {
    size_t cell_budget_bytes; /* memory for the layer x column grid; 0: 64 MiB */
    uint32_t min_columns;     /* never coarsen below this many columns; 0: 256 */
} mpt_model_opts;

/* ---- cells ----------------------------------------------------------------------------------- */

/*
 * Everything the model keeps about one layer in one column of steps (or over the whole run:
 * mpt_layer.total). Counts add across calls and ranks; maxima take the max. A zeroed cell is an
 * empty one (calls 0), so grids are calloc'ed. "Not measured" is explicit in the counts:
 * dtypes mean something when calls > 0; full_count == 0 means no full statistics (subnormal,
 * zero and narrow counts cover full_count elements only); prec_max_rel/ulp and the mean are
 * valid when prec_calls > 0, prec_max_exact when prec_samples > 0.
 */
typedef struct mpt_cell {
    uint32_t calls;      /* GEMMs merged here */
    uint32_t full_calls; /* of which had full statistics of the output */
    uint8_t dtype_in;    /* A's dtype (MPT_DT_UNKNOWN before the first call) */
    uint8_t dtype_out;   /* D's dtype */
    uint8_t mixed;       /* 1 when calls had different dtypes (the last one is kept) */
    uint8_t compute;     /* mpt_compute_type of the last call */
    uint32_t prec_calls; /* calls whose precision sample measured an error (prec_max_* valid) */
    /* the output D, every call (cheap or full) */
    uint64_t out_count, out_nan, out_inf;
    double out_absmax; /* largest finite |D|; 0 when none */
    /* the inputs A, B and C, merged */
    uint64_t in_count, in_nan, in_inf;
    double in_absmax;
    /* the output D, calls with full statistics only */
    uint64_t full_count, out_zero, out_subnormal;
    double out_sumsq;
    mpt_narrow_counts narrow[MPT_NARROW_COUNT]; /* casting D to fp16, bf16, e4m3, e5m2 */
    /* precision of D against an exact recomputation of a sample (PRECISION records) */
    uint64_t prec_samples, prec_underflow, prec_overflow;
    double prec_max_rel, prec_max_ulp; /* valid when prec_calls > 0 */
    double prec_sum_rel;               /* sum over those calls of mean_rel_err * samples */
    uint64_t prec_rel_samples;         /* samples of those calls: mean = sum_rel / this */
    double prec_max_exact;             /* largest exact |value| sampled */
} mpt_cell;

/* Status of a cell, worst first: what the TUI colours and the report flags. */
#define MPT_CELL_NONFINITE (1u << 0) /* D held NaN or Inf */
#define MPT_CELL_INPUT_NF  (1u << 1) /* an input held NaN or Inf */
#define MPT_CELL_OVERFLOW  (1u << 2) /* sampled exact outputs beyond D's max finite */
/* MPT_CELL_UNDERFLOW: >= 5% of the sampled outputs had an exact nonzero value stored as 0 or as
 * a subnormal. MPT_CELL_PRECISION: their mean relative error is beyond rounding
 * (mpt_precision_limit). */
#define MPT_CELL_UNDERFLOW  (1u << 3)
#define MPT_CELL_PRECISION  (1u << 4)
#define MPT_CELL_HEADROOM   (1u << 5) /* finite absmax within 2 binades of D's max finite */
#define MPT_CELL_FLUSH_FP16 (1u << 6) /* >= 10% of a non-fp16 D would flush to 0 in fp16 */

/*
 * The mean relative error a GEMM's sampled outputs may show before it counts as precision loss:
 * twice the output type's epsilon (rounding the result costs at most half of it), and never
 * less than 256 fp32 epsilons (what fp32 accumulation with cancellation costs over k products).
 * fp16 output: 2e-3; bf16: 1.6e-2; fp32: 3.1e-5.
 */
double mpt_precision_limit(mpt_dtype out);

/* Status bits of a cell (0: nothing to say, or an empty cell). */
unsigned mpt_cell_status(const mpt_cell *c);
/* log2(D's max finite / absmax): bits of headroom before overflow. With a sampled exact value
 * beyond the max (an overflow), negative. NaN when unknown (no call, unknown dtype, absmax 0). */
double mpt_cell_headroom_bits(const mpt_cell *c);
/* dst += src (both may be empty). */
void mpt_cell_merge(mpt_cell *dst, const mpt_cell *src);
void mpt_cell_init(mpt_cell *c);

/* ---- what ran between GEMMs ------------------------------------------------------------------ */

typedef enum mpt_event_type {
    MPT_EV_GEMM = 1,
    MPT_EV_KERNEL = 2,
    MPT_EV_MEMORY = 3
} mpt_event_type;

#define MPT_BETWEEN_MAX 8

/* One kernel name (or copy kind) seen between two GEMMs, and how often. */
typedef struct mpt_between_ent {
    mpt_event_type type; /* MPT_EV_KERNEL or MPT_EV_MEMORY */
    uint32_t count;      /* occurrences in the interval */
    const char *name;    /* kernel name or memory kind ("H2D", ...); interned, owned by the model */
    const char *layer;   /* NVTX path of the thread at its first occurrence; "" none */
    uint64_t bytes;      /* MEMORY: summed over the occurrences */
    int nonfinite;       /* MEMORY: some occurrence's data held NaN/Inf */
} mpt_between_ent;

/*
 * The kernels and copies a source issued after its previous GEMM and before one GEMM call,
 * names deduplicated (interned pointers), in order of first occurrence, at most MPT_BETWEEN_MAX
 * distinct names; events of further names are counted in `unlisted`. Bounded: a fixed size
 * whatever the interval's length. Kept for each layer's most recent call (mpt_layer.between)
 * and rebuilt for older calls from the event window (mpt_model_layer_between).
 */
typedef struct mpt_between {
    uint64_t seq;        /* the GEMM call described; 0: none (nothing known) */
    int64_t step;        /* its step */
    uint64_t prev_seq;   /* the source's GEMM before it; 0: none (then: since the trace began) */
    uint32_t prev_layer; /* that GEMM's layer; MPT_NO_LAYER when none or no longer known */
    uint32_t n;          /* entries in ent[] */
    uint64_t total;      /* kernel and copy events in the interval, listed or not */
    uint64_t unlisted;   /* of which of names beyond the MPT_BETWEEN_MAX listed */
    int complete;        /* 0: some events of the interval were out of reach (see analyzer.md) */
    mpt_between_ent ent[MPT_BETWEEN_MAX];
} mpt_between;

/* ---- layers ---------------------------------------------------------------------------------- */

typedef enum mpt_phase { MPT_PHASE_OTHER = 0, MPT_PHASE_FWD = 1, MPT_PHASE_BWD = 2 } mpt_phase;

/* From a layer name: first path component fwd/forward -> FWD, bwd/backward/grad -> BWD. */
mpt_phase mpt_phase_of(const char *layer_name);
const char *mpt_phase_name(mpt_phase p);

#define MPT_ERR_BINS_PER_BINADE 8
#define MPT_ERR_MIN_LOG2        (-64)
#define MPT_ERR_BINS            (80 * MPT_ERR_BINS_PER_BINADE) /* log2 in [-64, 16) */

typedef struct mpt_layer {
    const char *name; /* exactly as recorded; owned by the model */
    uint32_t index;   /* execution order: 0 is the first layer seen */
    mpt_phase phase;
    mpt_cell total;           /* every call of the run */
    mpt_stats out_full;       /* D's full statistics merged over the run (exponent histogram) */
    const char *api;          /* entry point of the first call ("cublasGemmEx", ...) */
    int64_t m, n, k, batch;   /* shape of the first call */
    uint32_t compute_mask;    /* bit c set: some call used mpt_compute_type c */
    uint32_t gemm_flags;      /* MPT_GEMM_* bits of any call, OR-ed */
    uint64_t unstepped_calls; /* calls with step -1 or >= 2^40 (counted in total only) */
    /* per-call max errors, binned: bin b covers log2 in
     * [MIN_LOG2 + b/BINS_PER_BINADE, MIN_LOG2 + (b+1)/BINS_PER_BINADE); exact zeros apart */
    uint32_t rel_bins[MPT_ERR_BINS];
    uint32_t ulp_bins[MPT_ERR_BINS];
    uint64_t err_zero_rel, err_zero_ulp; /* calls whose max error was exactly 0 */
    uint64_t err_calls;                  /* calls that contributed (bins + zeros) */
    mpt_between between; /* what ran before the layer's most recent call (with a seq) */
} mpt_layer;

/* Quantile q in [0,1] of a layer's per-call max error (rel or ulp), from the bins (accurate to
 * an eighth of a binade, 9%), never above the exact max (total.prec_max_rel/ulp); NaN when no
 * call was measured. */
double mpt_layer_err_quantile(const mpt_layer *l, int ulp, double q);

/* ---- steps ----------------------------------------------------------------------------------- */

#define MPT_STEP_HAS_LOSS      (1u << 0)
#define MPT_STEP_HAS_SCALE     (1u << 1)
#define MPT_STEP_HAS_GRAD_NORM (1u << 2)
#define MPT_STEP_HAS_LR        (1u << 3)
#define MPT_STEP_HAS_LOST      (1u << 4) /* lost_updates */

typedef struct mpt_step {
    int64_t step;
    uint64_t ts_begin, ts_end;         /* STEP records, CLOCK_MONOTONIC ns; 0 when not seen */
    unsigned has;                      /* MPT_STEP_HAS_* */
    double loss, scale, grad_norm, lr; /* as reported (may be NaN); valid when `has` says */
    double lost_updates;  /* updates lost to rounding, 0..1 (docs/nvtx-conventions.md) */
    int8_t skip;          /* the program's skip mark: -1 none, 0, 1 */
    int8_t skip_inferred; /* mptrace's own inference (INFERRED scalar): -1 none, 0, 1 */
    uint32_t gemms;
    uint32_t nonfinite_gemms; /* GEMMs whose output held NaN/Inf */
    uint32_t first_nf_layer;  /* layer of the first such GEMM; MPT_NO_LAYER */
} mpt_step;

/* ---- sources (trace files / ranks) ----------------------------------------------------------- */

typedef enum mpt_source_state {
    MPT_SOURCE_READING = 0, /* more may come (follow mode, or not read to the end yet) */
    MPT_SOURCE_DONE = 1,    /* read to a clean end */
    MPT_SOURCE_TRUNCATED,   /* ends inside a record: read up to the last whole one */
    MPT_SOURCE_CORRUPT,     /* damaged at `error_offset`: read up to there */
    MPT_SOURCE_FAILED       /* I/O error after opening */
} mpt_source_state;

typedef struct mpt_source {
    const char *path;  /* as given, or the name passed to mpt_model_add_source */
    int32_t pid, rank; /* rank -1 unknown */
    int32_t world_size;
    const char *hostname, *cmdline; /* cmdline: arguments joined by spaces */
    uint64_t mono_origin_ns;
    int64_t start_realtime_ns;
    mpt_source_state state;
    int ended; /* an END record was seen */
    mpt_end_how end_how;
    int32_t end_status;
    uint64_t records, bytes;    /* records fed; bytes read (file sources) */
    uint64_t first_ts, last_ts; /* record timestamps seen; 0 none */
    uint64_t error_offset;      /* TRUNCATED/CORRUPT: where the damage starts */
    char message[600];          /* the reader's message for a non-clean state, else "" */
} mpt_source;

/* ---- the first non-finite value -------------------------------------------------------------- */

typedef enum mpt_nf_origin {
    MPT_NF_UNKNOWN = 0,  /* inputs not measured and no precision sample says more */
    MPT_NF_PRODUCED = 1, /* inputs finite: the op made it (an overflow, or Inf-Inf, 0*Inf) */
    MPT_NF_INPUT = 2     /* an input already held it */
} mpt_nf_origin;

/* A kernel launch, copy or GEMM observed between two GEMMs. */
typedef struct mpt_event_ref {
    mpt_event_type type;
    uint64_t seq, ts;
    int64_t step;
    const char *name;  /* kernel name, memory kind ("H2D", "memset", ...), or GEMM layer */
    const char *layer; /* NVTX path of the calling thread at the time; "" when none */
    uint64_t bytes;    /* MEMORY */
    int nonfinite;     /* MEMORY whose data statistics held NaN/Inf */
} mpt_event_ref;

#define MPT_NF_MAX_BETWEEN 32

typedef struct mpt_first_nonfinite {
    int source; /* index into the model's sources */
    int32_t rank;
    int64_t step;
    uint32_t layer; /* model layer index */
    uint64_t seq, ts;
    uint32_t ordinal; /* the GEMM's index within its step */
    const char *api;
    int64_t m, n, k, batch;
    mpt_dtype dtype_in, dtype_out;
    unsigned nf_roles;       /* bit r: role r (mpt_tensor_role) held NaN/Inf */
    unsigned measured_roles; /* bit r: role r was measured */
    mpt_tensor_role tensor;  /* the tensor reported: the first input that held it, else D */
    uint64_t nan, inf;       /* in that tensor */
    mpt_nf_origin origin;
    double max_exact_abs;   /* PRECISION: largest exact |value| sampled; NaN when unknown */
    uint64_t prec_overflow; /* sampled outputs whose exact value overflowed D's type */
    /* the last GEMM before it (whose output was finite): the last finite writer */
    int have_prev;
    uint64_t prev_seq;
    int64_t prev_step;
    uint32_t prev_layer;
    /* what ran in between, in issue order (the last MPT_NF_MAX_BETWEEN of them) */
    mpt_event_ref between[MPT_NF_MAX_BETWEEN];
    uint32_t n_between;       /* entries in between[] */
    uint64_t n_between_total; /* events in between, including those not listed */
    int between_complete;     /* 0 when older events had left the model's window */
} mpt_first_nonfinite;

/* ---- totals ---------------------------------------------------------------------------------- */

typedef struct mpt_model_totals {
    uint64_t records, gemms, tensors, precisions, kernels, memory_events, ranges, scalars;
    uint64_t messages, unknown_skipped; /* unknown record types the readers skipped */
    uint64_t orphans; /* TENSOR/PRECISION records whose GEMM was not seen (or too far back) */
    uint64_t gemm_by_dtype[MPT_DT_COUNT + 1][MPT_DT_COUNT + 1]; /* [A][D]; last: unknown */
    uint64_t gemm_by_compute[MPT_COMPUTE_COUNT + 1];            /* last: unknown values */
    uint64_t gemm_tf32_flag;                   /* GEMMs whose handle allowed TF32 */
    uint64_t gemm_skipped[MPT_SKIP_COUNT + 1]; /* level NONE, by reason */
    uint64_t memcpy_nonfinite;                 /* memory events whose data held NaN/Inf */
    uint64_t msg_warn, msg_error;              /* MESSAGE records of level warn / error */
    char first_message[256];                   /* the first warn/error message, "" none */
    uint64_t first_ts, last_ts;                /* over all sources; 0 none */
} mpt_model_totals;

/* ---- building -------------------------------------------------------------------------------- */

mpt_model *mpt_model_new(const mpt_model_opts *opts); /* opts may be NULL; NULL: no memory */
void mpt_model_free(mpt_model *m);

/* A source fed by the caller (mpt_model_feed). h may be NULL (filled from nothing). Returns the
 * source index, or -1 when memory is short. */
int mpt_model_add_source(mpt_model *m, const char *name, const mpt_trace_header *h);
/*
 * Adds one record of source `src` (STRING records included: the model keeps its own copy of
 * every string). Records may come from any reader; ids resolve against the strings this
 * source fed before. Returns 0, or -1 when memory is short (the model stays usable).
 */
int mpt_model_feed(mpt_model *m, int src, const mpt_trace_record *rec);

/* Opens a trace file as a new source. flags: MPT_TRACE_FOLLOW for a file still being written.
 * Returns the source index, or -1 with the reader's message (naming the file) in err. */
int mpt_model_open(mpt_model *m, const char *path, unsigned flags, char *err, size_t errlen);

typedef enum mpt_poll_status {
    MPT_POLL_MORE = 0, /* the record budget ran out: call again */
    MPT_POLL_IDLE = 1, /* follow mode: read everything written so far */
    MPT_POLL_DONE = 2  /* every source has reached its end (clean or not: see sources) */
} mpt_poll_status;

/* Reads up to `max_records` records (0: no limit) from the open sources, in order, feeding the
 * model. Damage ends a source with state TRUNCATED/CORRUPT and its message. */
mpt_poll_status mpt_model_poll(mpt_model *m, uint64_t max_records);

/* Opens every path, orders the sources by rank, and reads them to the end. Returns 0 when every
 * file was opened, else -1 with one line per file that failed in err (the others are still
 * read). Damaged files are not failures here: see each source's state and message. */
int mpt_model_load(mpt_model *m, char *const *paths, int n, char *err, size_t errlen);

/* ---- queries --------------------------------------------------------------------------------- */

/* Incremented by every feed that changed something: redraw when it moved. */
uint64_t mpt_model_generation(const mpt_model *m);

int mpt_model_nsources(const mpt_model *m);
const mpt_source *mpt_model_source(const mpt_model *m, int i);

uint32_t mpt_model_nlayers(const mpt_model *m);
const mpt_layer *mpt_model_layer(const mpt_model *m, uint32_t i);    /* execution order */
uint32_t mpt_model_find_layer(const mpt_model *m, const char *name); /* MPT_NO_LAYER */

/* Columns of the grid: column c covers steps [first, first + width). */
uint32_t mpt_model_ncols(const mpt_model *m);
int64_t mpt_model_col_width(const mpt_model *m);
int64_t mpt_model_col_first_step(const mpt_model *m, uint32_t c);
/* Column holding `step`, or -1 when outside the grid. */
int64_t mpt_model_col_of_step(const mpt_model *m, int64_t step);
/* Cell of layer l in column c: never NULL for valid indices (an empty cell has calls 0). */
const mpt_cell *mpt_model_cell(const mpt_model *m, uint32_t layer, uint32_t col);

size_t mpt_model_nsteps(const mpt_model *m);
const mpt_step *mpt_model_step(const mpt_model *m, size_t i);          /* in step order */
const mpt_step *mpt_model_find_step(const mpt_model *m, int64_t step); /* NULL: not seen */

/*
 * What ran between the previous GEMM and a call of `layer` (see mpt_between). With step !=
 * MPT_NO_STEP: the layer's last call in that step, when the model still knows it (it is the
 * layer's most recent call, or its events are still in a source's window of the last 4096
 * GEMM/kernel/copy events); otherwise the layer's most recent call (out->step says which).
 * Returns 1 when *out describes a call in `step`, 0 when it describes the most recent call
 * (another step, or step == MPT_NO_STEP), -1 when the model knows no call of the layer with a
 * sequence number (then *out is empty: seq 0, step MPT_NO_STEP).
 */
int mpt_model_layer_between(const mpt_model *m, uint32_t layer, int64_t step, mpt_between *out);

/* The earliest non-finite GEMM tensor over all sources (by step, then time), or NULL. */
const mpt_first_nonfinite *mpt_model_first_nonfinite(const mpt_model *m);

const mpt_model_totals *mpt_model_get_totals(const mpt_model *m);

#endif
