/*
 * Answers derived from a run model: the precision regime, a row of derived figures per layer,
 * the loss curve and its spikes (with the layers that moved most at each), the loss scaler's
 * behaviour, and findings (severity, step, layer, message, recommendation).
 *
 * mpt_analyze is a pure function of the model: it may be called at any time (the live TUI calls
 * it whenever the model's generation moved) and costs O(layers x columns + steps x window).
 * Thresholds are in mpt_analysis_opts; mpt_analysis_opts_default gives the documented ones
 * (docs/analyzer.md explains each).
 */
#ifndef MPT_ANALYZER_ANALYSIS_H
#define MPT_ANALYZER_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer/model.h"

typedef struct mpt_analysis_opts {
    int spike_window;      /* previous finite losses the noise is measured on (32) */
    int spike_baseline;    /* ... the last this many of them give the level, their median (5) */
    int spike_min_history; /* no spike is called with fewer previous finite losses (8) */
    double spike_k;        /* spike: loss - level > k * noise ... (6) */
    double spike_min_rel;  /* ... and > min_rel * |level| (0.05) */
    int moved_history;     /* columns of a layer's own history its change is measured on (32) */
    int moved_max;         /* layers listed per spike (5) */
    double underflow_frac; /* a layer underflows: this fraction of sampled outputs (0.05) */
    double flush_frac;     /* a non-fp16 gradient would flush in fp16: this fraction (0.10) */
    double headroom_bits;  /* warn below this many bits of headroom in fp16/fp8 outputs (2) */
} mpt_analysis_opts;

void mpt_analysis_opts_default(mpt_analysis_opts *o);

typedef enum mpt_regime {
    MPT_REGIME_UNKNOWN = 0,   /* no GEMM seen */
    MPT_REGIME_FP32,          /* fp32 GEMMs, fp32 math */
    MPT_REGIME_TF32,          /* fp32 storage, TF32 math */
    MPT_REGIME_FP16_SCALED,   /* fp16 GEMMs with a dynamic loss scaler */
    MPT_REGIME_FP16_UNSCALED, /* fp16 GEMMs, no loss scale reported */
    MPT_REGIME_BF16,          /* bf16 GEMMs */
    MPT_REGIME_FP8,           /* fp8 GEMM inputs */
    MPT_REGIME_FP64
} mpt_regime;

typedef struct mpt_regime_info {
    mpt_regime regime;
    const char *id;           /* stable, for JSON: "fp32", "tf32", "fp16_scaled", ... */
    const char *description;  /* "fp16 mixed precision with dynamic loss scaling" */
    unsigned dtypes_in;       /* bit d: some GEMM had A of dtype d */
    unsigned dtypes_out;      /* bit d: some GEMM had D of dtype d */
    uint64_t fp16_accumulate; /* GEMMs with compute type 16F (fp16 accumulation) */
    uint64_t tf32;            /* GEMMs with TF32 math (compute type or handle math mode) */
} mpt_regime_info;

/* Derived per-layer figures (NaN: not measured). */
typedef struct mpt_layer_row {
    uint32_t layer;
    double headroom_bits;  /* mpt_cell_headroom_bits over the run */
    double subnormal_frac; /* of D's fully measured elements, subnormal in D's own type */
    double overflow_frac[MPT_NARROW_COUNT]; /* would overflow if cast to fp16, bf16, e4m3, e5m2 */
    double flush_frac[MPT_NARROW_COUNT];    /* would flush to zero in ... */
    double underflow_frac; /* sampled outputs whose exact nonzero value was stored as 0/subnormal */
    double rel_p50, rel_max, ulp_p50, ulp_max; /* per-call max errors: median and max */
    double rel_mean;                           /* mean relative error over every sampled output */
    uint32_t flagged_cols; /* columns with a status other than HEADROOM/FLUSH_FP16 */
    unsigned status;       /* mpt_cell_status of the run total */
} mpt_layer_row;

typedef struct mpt_spike {
    int64_t step;
    double value;  /* the loss (NaN/Inf for a loss that went non-finite) */
    double median; /* the level before it: median of the last spike_baseline finite losses */
    double noise;  /* the loss's step-to-step noise before it (robust standard deviation) */
    double score;  /* (value - median) / noise, +Inf when non-finite or the noise is 0 */
    int nonfinite;
    int n_moved;
    uint32_t moved[8];     /* layers, most moved first */
    double moved_score[8]; /* robust z of log2(absmax) against the layer's own history */
} mpt_spike;

typedef struct mpt_loss_summary {
    uint64_t count;     /* steps with a loss */
    uint64_t nonfinite; /* of which NaN/Inf */
    int64_t first_step, last_step;
    double first, last, min, max; /* over finite values (first/last: the first/last reported) */
    int64_t first_nonfinite_step; /* MPT_NO_STEP when none */
    int recovered;                /* a finite loss came after the first non-finite one */
    mpt_spike *spikes;
    size_t nspikes;
} mpt_loss_summary;

typedef struct mpt_scaler_summary {
    int present;    /* a scaler is at work: a step marked skipped, or a scale other than 1 */
    uint64_t skips; /* steps the program marked skipped */
    int64_t *skipped_steps;
    size_t nskipped;
    int64_t
        *nonfinite_steps; /* steps where a GEMM output held NaN/Inf, or mptrace inferred a skip */
    size_t nnonfinite;
    int64_t *skipped_only; /* marked skipped, no non-finite value observed */
    size_t nskipped_only;
    int64_t *nonfinite_only; /* non-finite observed, not marked skipped */
    size_t nnonfinite_only;
    int agree;              /* the two step sets are equal */
    uint64_t startup_skips; /* skips in the initial run of consecutive skipped steps */
    int have_scale;
    double scale_first, scale_min, scale_max, scale_final;
    uint64_t backoffs, growths; /* scale decreases / increases between consecutive reports */
    int collapsed;              /* final scale < 1, or 2^10 below where it started */
} mpt_scaler_summary;

typedef enum mpt_severity { MPT_SEV_INFO = 0, MPT_SEV_WARNING = 1, MPT_SEV_ERROR = 2 } mpt_severity;

typedef enum mpt_finding_kind {
    MPT_FIND_OVERFLOW = 0,
    MPT_FIND_UNDERFLOW,
    MPT_FIND_NAN,
    MPT_FIND_INF,
    MPT_FIND_PRECISION_LOSS,
    MPT_FIND_SCALER_SKIP,
    MPT_FIND_SCALE_COLLAPSE,
    MPT_FIND_SCALER_MISMATCH,
    MPT_FIND_LOSS_SPIKE,
    MPT_FIND_LOSS_NONFINITE,
    MPT_FIND_HEADROOM,
    MPT_FIND_FLUSH_RISK,
    MPT_FIND_STATS_SKIPPED,
    MPT_FIND_LOST_UPDATES,
    MPT_FIND_LOSS_DIVERGENCE,
    MPT_FIND_KIND_COUNT
} mpt_finding_kind;

typedef struct mpt_finding {
    mpt_finding_kind kind;
    mpt_severity severity;
    int64_t step;   /* MPT_NO_STEP when not tied to a step */
    uint32_t layer; /* MPT_NO_LAYER when not tied to a layer */
    char message[512];
    char recommendation[512];
} mpt_finding;

const char *mpt_finding_kind_name(mpt_finding_kind k); /* "overflow", "scaler_skip", ... */
const char *mpt_severity_name(mpt_severity s);         /* "info", "warning", "error" */

typedef struct mpt_analysis {
    mpt_regime_info regime;
    mpt_layer_row *rows; /* one per layer, in execution order */
    uint32_t nrows;
    mpt_loss_summary loss;
    mpt_scaler_summary scaler;
    mpt_finding *findings; /* most severe first, then by step */
    size_t nfindings;
    int have_nf;
    mpt_first_nonfinite nf; /* valid when have_nf */
    int have_steps;
    int64_t first_step, last_step;
    uint64_t nsteps;
    double duration_s; /* last record time - first, over all sources; NaN when unknown */
} mpt_analysis;

/* NULL when memory is short. opts may be NULL (defaults). */
mpt_analysis *mpt_analyze(const mpt_model *m, const mpt_analysis_opts *opts);
void mpt_analysis_free(mpt_analysis *a);

/* The pieces, for tests and for callers that need one answer (each fills *out; -1: no memory). */
void mpt_regime_infer(const mpt_model *m, mpt_regime_info *out);
int mpt_loss_analyze(const mpt_model *m, const mpt_analysis_opts *o, mpt_loss_summary *out);
void mpt_loss_summary_free(mpt_loss_summary *s);
int mpt_scaler_analyze(const mpt_model *m, mpt_scaler_summary *out);
void mpt_scaler_summary_free(mpt_scaler_summary *s);
/* Findings appended to a->findings from the other parts of a (filled first). */
int mpt_findings_build(const mpt_model *m, const mpt_analysis_opts *o, mpt_analysis *a);

/* Robust statistics used by the spike detector (exposed for tests): median and median absolute
 * deviation of v[0..n-1] (n >= 1), using `tmp` (2n doubles) as scratch. */
double mpt_median(const double *v, size_t n, double *tmp);
double mpt_mad(const double *v, size_t n, double median, double *tmp);

#endif
