/*
 * Findings about layers over the whole run: underflow, what fp16 would flush in a bf16/fp32
 * run, precision loss (fp16 accumulation, TF32, other), little headroom, and GEMMs whose
 * statistics were not taken. Each condition gives one finding naming the worst layer (and a few
 * others), so a model with 200 layers does not bury the report in 200 lines.
 */
#include <math.h>
#include <stdio.h>

#include "analyzer/findings_internal.h"

/* First step whose column shows `bits` for layer l (MPT_NO_STEP when none). */
static int64_t first_step_with(const mpt_model *m, uint32_t l, unsigned bits)
{
    for (uint32_t c = 0; c < mpt_model_ncols(m); c++)
        if (mpt_cell_status(mpt_model_cell(m, l, c)) & bits) return mpt_model_col_first_step(m, c);
    return MPT_NO_STEP;
}

static void others(char *buf, size_t n, size_t *len, const mpt_model *m, const uint32_t *v,
                   uint32_t count, uint32_t skip)
{
    uint32_t shown = 0;
    for (uint32_t i = 0; i < count && shown < 3; i++) {
        if (v[i] == skip) continue;
        mpt_fb_cat(buf, n, len, "%s%s", shown ? ", " : " Also: ", mpt_fb_lname(m, v[i]));
        shown++;
    }
    if (count > shown + 1) mpt_fb_cat(buf, n, len, " (%u layers in all)", count);
    if (shown) mpt_fb_cat(buf, n, len, ".");
}

static void underflow(mpt_fb *b, const mpt_model *m, const mpt_analysis_opts *o)
{
    mpt_analysis *a = b->a;
    uint32_t list[64], count = 0, worst = MPT_NO_LAYER;
    double wscore = 0;
    for (uint32_t i = 0; i < a->nrows; i++) {
        const mpt_layer_row *r = &a->rows[i];
        const mpt_cell *c = &mpt_model_layer(m, i)->total;
        int sampled = c->prec_underflow && r->underflow_frac >= o->underflow_frac;
        int sub = c->dtype_out == MPT_DT_F16 && r->subnormal_frac >= 0.05;
        if (!sampled && !sub) continue;
        double score = sampled ? r->underflow_frac : 0;
        if (sub && r->subnormal_frac > score) score = r->subnormal_frac;
        if (count < 64) list[count] = i;
        count++;
        if (score > wscore) {
            wscore = score;
            worst = i;
        }
    }
    if (worst == MPT_NO_LAYER) return;
    const mpt_layer *ly = mpt_model_layer(m, worst);
    const mpt_layer_row *r = &a->rows[worst];
    mpt_severity sev = MPT_SEV_WARNING;
    if (a->regime.regime == MPT_REGIME_FP16_UNSCALED && ly->phase == MPT_PHASE_BWD &&
        wscore >= 0.10)
        sev = MPT_SEV_ERROR;
    int64_t step = first_step_with(m, worst, MPT_CELL_UNDERFLOW);
    mpt_finding *x = mpt_fb_add(b, MPT_FIND_UNDERFLOW, sev, step, worst);
    if (!x) return;
    const char *dt = mpt_dtype_name((mpt_dtype)ly->total.dtype_out);
    size_t n = sizeof x->message, len = 0;
    mpt_fb_cat(x->message, n, &len, "%u layer(s) underflow. Worst: %s", count, ly->name);
    if (!isnan(r->underflow_frac))
        mpt_fb_cat(x->message, n, &len,
                   ": %.1f%% of sampled outputs had an exact nonzero value stored as 0 or "
                   "subnormal in %s",
                   100 * r->underflow_frac, dt);
    if (!isnan(r->subnormal_frac) && r->subnormal_frac > 0)
        mpt_fb_cat(x->message, n, &len, "%s%.1f%% of its outputs are %s subnormals",
                   isnan(r->underflow_frac) ? ": " : "; ", 100 * r->subnormal_frac, dt);
    mpt_fb_cat(x->message, n, &len, ".");
    others(x->message, n, &len, m, list, count, worst);
    if (ly->total.dtype_out == MPT_DT_F16)
        snprintf(x->recommendation, sizeof x->recommendation,
                 "Values too small for fp16 (below 6.1e-5 they lose precision, below 6e-8 they "
                 "become 0): use dynamic loss scaling (GradScaler; Lightning's "
                 "precision='16-mixed' includes it) or train in bf16.");
    else
        snprintf(x->recommendation, sizeof x->recommendation,
                 "Values near the bottom of %s's range: check for vanishing activations or "
                 "gradients; dynamic loss scaling lifts gradients, bf16 has fp32's range.",
                 dt);
}

static void flush_risk(mpt_fb *b, const mpt_model *m, const mpt_analysis_opts *o)
{
    mpt_analysis *a = b->a;
    mpt_regime g = a->regime.regime;
    if (g == MPT_REGIME_FP16_SCALED || g == MPT_REGIME_FP16_UNSCALED || g == MPT_REGIME_UNKNOWN)
        return;
    uint32_t worst = MPT_NO_LAYER, count = 0;
    double wf = 0;
    for (uint32_t i = 0; i < a->nrows; i++) {
        const mpt_layer *ly = mpt_model_layer(m, i);
        double f = a->rows[i].flush_frac[MPT_NARROW_FP16];
        if (ly->phase != MPT_PHASE_BWD || !(f >= o->flush_frac)) continue;
        count++;
        if (f > wf) {
            wf = f;
            worst = i;
        }
    }
    if (worst == MPT_NO_LAYER) return;
    mpt_finding *x = mpt_fb_add(b, MPT_FIND_FLUSH_RISK, MPT_SEV_INFO, MPT_NO_STEP, worst);
    if (!x) return;
    snprintf(x->message, sizeof x->message,
             "In fp16, %.1f%% of %s's gradients would flush to zero (%u backward layer(s) above "
             "%.0f%%).",
             100 * wf, mpt_fb_lname(m, worst), count, 100 * o->flush_frac);
    snprintf(x->recommendation, sizeof x->recommendation,
             "Fine as it is. If this run moves to fp16, it needs dynamic loss scaling; bf16 "
             "keeps these values.");
}

static void precision(mpt_fb *b, const mpt_model *m, const mpt_analysis_opts *o)
{
    mpt_analysis *a = b->a;
    const uint32_t f16 = (1u << MPT_COMPUTE_16F) | (1u << MPT_COMPUTE_16F_PEDANTIC);
    uint32_t w16 = MPT_NO_LAYER, wtf = MPT_NO_LAYER, wother = MPT_NO_LAYER;
    uint32_t n16 = 0, ntf = 0, nother = 0;
    for (uint32_t i = 0; i < a->nrows; i++) {
        const mpt_layer *ly = mpt_model_layer(m, i);
        const mpt_layer_row *r = &a->rows[i];
        double u = isnan(r->ulp_max) ? -1 : r->ulp_max;
        if (ly->compute_mask & f16) {
            n16++;
            if (w16 == MPT_NO_LAYER || u > a->rows[w16].ulp_max) w16 = i;
        } else if (((ly->compute_mask & (1u << MPT_COMPUTE_32F_FAST_TF32)) ||
                    (ly->gemm_flags & MPT_GEMM_TF32_MATH)) &&
                   ly->total.dtype_out == MPT_DT_F32) {
            ntf++;
            double rel = isnan(r->rel_max) ? -1 : r->rel_max;
            if (wtf == MPT_NO_LAYER || rel > a->rows[wtf].rel_max) wtf = i;
        } else if (r->rel_mean >= mpt_precision_limit((mpt_dtype)ly->total.dtype_out) &&
                   !(r->underflow_frac >= o->underflow_frac)) { /* underflow explains it */
            nother++;
            if (wother == MPT_NO_LAYER || r->rel_mean > a->rows[wother].rel_mean) wother = i;
        }
    }
    if (w16 != MPT_NO_LAYER) {
        const mpt_layer_row *r = &a->rows[w16];
        mpt_finding *x = mpt_fb_add(b, MPT_FIND_PRECISION_LOSS, MPT_SEV_WARNING, MPT_NO_STEP, w16);
        if (!x) return;
        size_t n = sizeof x->message, len = 0;
        mpt_fb_cat(x->message, n, &len, "fp16 accumulation (compute type 16F) in %u layer(s)", n16);
        if (!isnan(r->ulp_max))
            mpt_fb_cat(x->message, n, &len,
                       "; worst: %s, errors up to %.3g ulp (median %.3g), relative %.3g",
                       mpt_fb_lname(m, w16), r->ulp_max, r->ulp_p50, r->rel_max);
        mpt_fb_cat(x->message, n, &len, ".");
        snprintf(x->recommendation, sizeof x->recommendation,
                 "Use an fp32 compute type (CUBLAS_COMPUTE_32F): inputs stay fp16, the sums stop "
                 "losing bits. In PyTorch keep allow_fp16_reduced_precision_reduction off.");
    }
    if (wtf != MPT_NO_LAYER) {
        const mpt_layer_row *r = &a->rows[wtf];
        mpt_finding *x = mpt_fb_add(b, MPT_FIND_PRECISION_LOSS, MPT_SEV_INFO, MPT_NO_STEP, wtf);
        if (!x) return;
        size_t n = sizeof x->message, len = 0;
        mpt_fb_cat(x->message, n, &len, "TF32 math in %u fp32 GEMM layer(s)", ntf);
        if (!isnan(r->rel_max))
            mpt_fb_cat(x->message, n, &len,
                       ": relative error up to %.3g in %s (fp32 math: about 1e-7)", r->rel_max,
                       mpt_fb_lname(m, wtf));
        mpt_fb_cat(x->message, n, &len, ".");
        snprintf(x->recommendation, sizeof x->recommendation,
                 "If fp32 accuracy was meant, turn TF32 off: "
                 "torch.backends.cuda.matmul.allow_tf32 = False (or "
                 "torch.set_float32_matmul_precision('highest')), or CUBLAS_COMPUTE_32F.");
    }
    if (wother != MPT_NO_LAYER) {
        const mpt_layer_row *r = &a->rows[wother];
        const mpt_layer *ly = mpt_model_layer(m, wother);
        mpt_finding *x =
            mpt_fb_add(b, MPT_FIND_PRECISION_LOSS, MPT_SEV_WARNING, MPT_NO_STEP, wother);
        if (!x) return;
        snprintf(x->message, sizeof x->message,
                 "Precision loss in %u layer(s): in %s the sampled outputs are off by %.3g on "
                 "average (relative; rounding to %s costs at most %.3g), %.3g ulp at the median "
                 "call.",
                 nother, ly->name, r->rel_mean, mpt_dtype_name((mpt_dtype)ly->total.dtype_out),
                 mpt_dtype_get_info((mpt_dtype)ly->total.dtype_out)
                     ? mpt_dtype_get_info((mpt_dtype)ly->total.dtype_out)->epsilon / 2
                     : NAN,
                 r->ulp_p50);
        snprintf(x->recommendation, sizeof x->recommendation,
                 "Check the compute type (fp32 accumulation) and the values' scale; keep this op "
                 "in fp32 if it needs the bits (norms, softmax and the loss do).");
    }
}

static void headroom(mpt_fb *b, const mpt_model *m, const mpt_analysis_opts *o)
{
    mpt_analysis *a = b->a;
    uint32_t worst = MPT_NO_LAYER, count = 0;
    for (uint32_t i = 0; i < a->nrows; i++) {
        const mpt_layer *ly = mpt_model_layer(m, i);
        uint8_t d = ly->total.dtype_out;
        if (d != MPT_DT_F16 && d != MPT_DT_E4M3 && d != MPT_DT_E5M2) continue;
        if (a->rows[i].status & (MPT_CELL_NONFINITE | MPT_CELL_OVERFLOW)) continue;
        double h = a->rows[i].headroom_bits;
        if (!(h < o->headroom_bits)) continue;
        count++;
        if (worst == MPT_NO_LAYER || h < a->rows[worst].headroom_bits) worst = i;
    }
    if (worst == MPT_NO_LAYER) return;
    const mpt_layer *ly = mpt_model_layer(m, worst);
    mpt_finding *x = mpt_fb_add(b, MPT_FIND_HEADROOM, MPT_SEV_INFO, MPT_NO_STEP, worst);
    if (!x) return;
    snprintf(x->message, sizeof x->message,
             "%s's outputs come within %.2f bits of %s's max (absmax %.4g); %u layer(s) have "
             "less than %.1f bits of headroom.",
             ly->name, a->rows[worst].headroom_bits, mpt_dtype_name((mpt_dtype)ly->total.dtype_out),
             ly->total.out_absmax, count, o->headroom_bits);
    snprintf(x->recommendation, sizeof x->recommendation,
             "A batch a few times larger than usual will overflow here: bf16, or keep this op "
             "in fp32.");
}

static void stats_skipped(mpt_fb *b, const mpt_model *m)
{
    const mpt_model_totals *t = mpt_model_get_totals(m);
    uint64_t n = 0;
    for (int i = 1; i <= MPT_SKIP_COUNT; i++)
        n += t->gemm_skipped[i];
    if (!n) return;
    mpt_finding *x = mpt_fb_add(b, MPT_FIND_STATS_SKIPPED, MPT_SEV_INFO, MPT_NO_STEP, MPT_NO_LAYER);
    if (!x) return;
    size_t len = 0, sz = sizeof x->message;
    mpt_fb_cat(x->message, sz, &len, "Statistics were not taken for %llu of %llu GEMMs (",
               (unsigned long long)n, (unsigned long long)t->gemms);
    int first = 1;
    for (int i = 1; i <= MPT_SKIP_COUNT; i++) {
        if (!t->gemm_skipped[i]) continue;
        mpt_fb_cat(x->message, sz, &len, "%s%s: %llu", first ? "" : ", ",
                   i < MPT_SKIP_COUNT ? mpt_skip_reason_name((mpt_skip_reason)i) : "other",
                   (unsigned long long)t->gemm_skipped[i]);
        first = 0;
    }
    mpt_fb_cat(x->message, sz, &len, "): what happened in them is not in this report.");
    snprintf(x->recommendation, sizeof x->recommendation,
             "Graph-captured streams are measured on replay only on GPUs that support it; "
             "remove --layers or sampling filters to see every GEMM.");
}

void mpt_fb_layers(mpt_fb *b, const mpt_model *m, const mpt_analysis_opts *o)
{
    underflow(b, m, o);
    flush_risk(b, m, o);
    precision(b, m, o);
    headroom(b, m, o);
    stats_skipped(b, m);
}
