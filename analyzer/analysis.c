/*
 * mpt_analyze: the regime, the per-layer rows, and the assembly of the loss, scaler and
 * findings parts (loss_spikes.c, scaler.c, findings.c) into one mpt_analysis.
 *
 * The regime is read from what the GEMMs were given, not from what the program says: the
 * dominant narrow input type (fp8, then fp16 or bf16 by count), else fp32 with or without TF32
 * math; fp16 counts as scaled when the program reported a loss scale other than 1 or marked a
 * skipped step.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/analysis.h"

void mpt_analysis_opts_default(mpt_analysis_opts *o)
{
    o->spike_window = 32;
    o->spike_baseline = 5;
    o->spike_min_history = 8;
    o->spike_k = 6.0;
    o->spike_min_rel = 0.05;
    o->moved_history = 32;
    o->moved_max = 5;
    o->underflow_frac = 0.05;
    o->flush_frac = 0.10;
    o->headroom_bits = 2.0;
}

const char *mpt_finding_kind_name(mpt_finding_kind k)
{
    static const char *const names[] = {
        [MPT_FIND_OVERFLOW] = "overflow",
        [MPT_FIND_UNDERFLOW] = "underflow",
        [MPT_FIND_NAN] = "nan",
        [MPT_FIND_INF] = "inf",
        [MPT_FIND_PRECISION_LOSS] = "precision_loss",
        [MPT_FIND_SCALER_SKIP] = "scaler_skip",
        [MPT_FIND_SCALE_COLLAPSE] = "scale_collapse",
        [MPT_FIND_SCALER_MISMATCH] = "scaler_mismatch",
        [MPT_FIND_LOSS_SPIKE] = "loss_spike",
        [MPT_FIND_LOSS_NONFINITE] = "loss_nonfinite",
        [MPT_FIND_HEADROOM] = "headroom",
        [MPT_FIND_FLUSH_RISK] = "flush_risk",
        [MPT_FIND_STATS_SKIPPED] = "stats_skipped",
        [MPT_FIND_LOST_UPDATES] = "lost_updates",
        [MPT_FIND_LOSS_DIVERGENCE] = "loss_divergence",
    };
    return (unsigned)k < MPT_FIND_KIND_COUNT ? names[k] : "unknown";
}

const char *mpt_severity_name(mpt_severity s)
{
    return s == MPT_SEV_ERROR ? "error" : s == MPT_SEV_WARNING ? "warning" : "info";
}

/* ---- regime ---------------------------------------------------------------------------------- */

void mpt_regime_infer(const mpt_model *m, mpt_regime_info *r)
{
    const mpt_model_totals *t = mpt_model_get_totals(m);
    memset(r, 0, sizeof *r);
    uint64_t by_in[MPT_DT_COUNT + 1] = {0};
    for (int a = 0; a <= MPT_DT_COUNT; a++)
        for (int d = 0; d <= MPT_DT_COUNT; d++) {
            uint64_t n = t->gemm_by_dtype[a][d];
            if (!n) continue;
            by_in[a] += n;
            r->dtypes_in |= 1u << a;
            r->dtypes_out |= 1u << d;
        }
    r->fp16_accumulate =
        t->gemm_by_compute[MPT_COMPUTE_16F] + t->gemm_by_compute[MPT_COMPUTE_16F_PEDANTIC];
    r->tf32 = t->gemm_by_compute[MPT_COMPUTE_32F_FAST_TF32];
    if (t->gemm_tf32_flag > r->tf32) r->tf32 = t->gemm_tf32_flag;
    int scaled = 0;
    for (size_t i = 0; i < mpt_model_nsteps(m); i++) {
        const mpt_step *st = mpt_model_step(m, i);
        if (st->skip == 1 || ((st->has & MPT_STEP_HAS_SCALE) && st->scale != 1.0)) {
            scaled = 1;
            break;
        }
    }
    uint64_t f8 = by_in[MPT_DT_E4M3] + by_in[MPT_DT_E5M2];
    if (!t->gemms) {
        r->regime = MPT_REGIME_UNKNOWN;
    } else if (f8) {
        r->regime = MPT_REGIME_FP8;
    } else if (by_in[MPT_DT_F16] && by_in[MPT_DT_F16] >= by_in[MPT_DT_BF16]) {
        r->regime = scaled ? MPT_REGIME_FP16_SCALED : MPT_REGIME_FP16_UNSCALED;
    } else if (by_in[MPT_DT_BF16]) {
        r->regime = MPT_REGIME_BF16;
    } else if (by_in[MPT_DT_F32] || by_in[MPT_DT_TF32]) {
        r->regime = r->tf32 * 2 > by_in[MPT_DT_F32] + by_in[MPT_DT_TF32] ? MPT_REGIME_TF32
                                                                         : MPT_REGIME_FP32;
    } else if (by_in[MPT_DT_F64]) {
        r->regime = MPT_REGIME_FP64;
    }
    static const struct {
        const char *id, *desc;
    } names[] = {
        [MPT_REGIME_UNKNOWN] = {"unknown", "unknown (no GEMM recorded)"},
        [MPT_REGIME_FP32] = {"fp32", "fp32 (full precision)"},
        [MPT_REGIME_TF32] = {"tf32", "fp32 storage with TF32 GEMM math"},
        [MPT_REGIME_FP16_SCALED] = {"fp16_scaled", "fp16 mixed precision, dynamic loss scaling"},
        [MPT_REGIME_FP16_UNSCALED] = {"fp16_unscaled", "fp16 mixed precision, NO loss scaling"},
        [MPT_REGIME_BF16] = {"bf16", "bf16 mixed precision"},
        [MPT_REGIME_FP8] = {"fp8", "fp8 GEMM inputs"},
        [MPT_REGIME_FP64] = {"fp64", "fp64"},
    };
    r->id = names[r->regime].id;
    r->description = names[r->regime].desc;
}

/* ---- rows ------------------------------------------------------------------------------------ */

static double frac(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : NAN;
}

static void fill_row(const mpt_model *m, uint32_t l, mpt_layer_row *r)
{
    const mpt_layer *ly = mpt_model_layer(m, l);
    const mpt_cell *c = &ly->total;
    r->layer = l;
    r->headroom_bits = mpt_cell_headroom_bits(c);
    r->subnormal_frac = frac(c->out_subnormal, c->full_count);
    for (int i = 0; i < MPT_NARROW_COUNT; i++) {
        r->overflow_frac[i] = frac(c->narrow[i].overflow, c->full_count);
        r->flush_frac[i] = frac(c->narrow[i].flush, c->full_count);
    }
    r->underflow_frac = frac(c->prec_underflow, c->prec_samples);
    r->rel_p50 = mpt_layer_err_quantile(ly, 0, 0.5);
    r->ulp_p50 = mpt_layer_err_quantile(ly, 1, 0.5);
    r->rel_max = c->prec_calls ? c->prec_max_rel : NAN;
    r->rel_mean = c->prec_rel_samples ? c->prec_sum_rel / (double)c->prec_rel_samples : NAN;
    r->ulp_max = c->prec_calls ? c->prec_max_ulp : NAN;
    /* the bins are a quarter binade wide: a median cannot pass the maximum */
    if (r->rel_p50 > r->rel_max) r->rel_p50 = r->rel_max;
    if (r->ulp_p50 > r->ulp_max) r->ulp_p50 = r->ulp_max;
    r->status = mpt_cell_status(c);
    const unsigned bad = MPT_CELL_NONFINITE | MPT_CELL_INPUT_NF | MPT_CELL_OVERFLOW |
                         MPT_CELL_UNDERFLOW | MPT_CELL_PRECISION;
    r->flagged_cols = 0;
    for (uint32_t col = 0; col < mpt_model_ncols(m); col++)
        if (mpt_cell_status(mpt_model_cell(m, l, col)) & bad) r->flagged_cols++;
}

/* ---- assembly -------------------------------------------------------------------------------- */

static int cmp_finding(const void *a, const void *b)
{
    const mpt_finding *x = a, *y = b;
    if (x->severity != y->severity) return x->severity < y->severity ? 1 : -1;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    return (x->kind > y->kind) - (x->kind < y->kind);
}

mpt_analysis *mpt_analyze(const mpt_model *m, const mpt_analysis_opts *opts)
{
    mpt_analysis_opts o;
    if (opts)
        o = *opts;
    else
        mpt_analysis_opts_default(&o);
    mpt_analysis *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    mpt_regime_infer(m, &a->regime);
    a->nrows = mpt_model_nlayers(m);
    a->rows = calloc(a->nrows ? a->nrows : 1, sizeof *a->rows);
    if (!a->rows) goto fail;
    for (uint32_t l = 0; l < a->nrows; l++)
        fill_row(m, l, &a->rows[l]);
    if (mpt_loss_analyze(m, &o, &a->loss) != 0) goto fail;
    if (mpt_scaler_analyze(m, &a->scaler) != 0) goto fail;
    const mpt_first_nonfinite *nf = mpt_model_first_nonfinite(m);
    if (nf) {
        a->have_nf = 1;
        a->nf = *nf;
    }
    a->nsteps = mpt_model_nsteps(m);
    if (a->nsteps) {
        a->have_steps = 1;
        a->first_step = mpt_model_step(m, 0)->step;
        a->last_step = mpt_model_step(m, a->nsteps - 1)->step;
    }
    const mpt_model_totals *t = mpt_model_get_totals(m);
    a->duration_s =
        t->first_ts && t->last_ts >= t->first_ts ? (double)(t->last_ts - t->first_ts) * 1e-9 : NAN;
    if (mpt_findings_build(m, &o, a) != 0) goto fail;
    if (a->nfindings) qsort(a->findings, a->nfindings, sizeof *a->findings, cmp_finding);
    return a;
fail:
    mpt_analysis_free(a);
    return NULL;
}

void mpt_analysis_free(mpt_analysis *a)
{
    if (!a) return;
    free(a->rows);
    mpt_loss_summary_free(&a->loss);
    mpt_scaler_summary_free(&a->scaler);
    free(a->findings);
    free(a);
}
