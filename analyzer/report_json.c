/*
 * `mptrace report --json`: the model and its analysis as one JSON document, in the schema of
 * docs/report-schema.md ("mptrace-report/1"). Fields are only added, never renamed or removed,
 * within a schema version. Values that were not measured are null, never 0.
 */
#include <math.h>
#include <string.h>

#include "analyzer/json.h"
#include "analyzer/report.h"

const char *mpt_report_role_name(mpt_tensor_role r)
{
    switch (r) {
    case MPT_ROLE_A:
        return "A";
    case MPT_ROLE_B:
        return "B";
    case MPT_ROLE_C:
        return "C_in";
    case MPT_ROLE_D:
        return "C";
    case MPT_ROLE_BIAS:
        return "bias";
    case MPT_ROLE_MEMCPY:
        return "memcpy";
    default:
        return "unknown";
    }
}

const char *mpt_report_source_state(mpt_source_state s)
{
    switch (s) {
    case MPT_SOURCE_READING:
        return "reading";
    case MPT_SOURCE_DONE:
        return "complete";
    case MPT_SOURCE_TRUNCATED:
        return "truncated";
    case MPT_SOURCE_CORRUPT:
        return "corrupt";
    default:
        return "failed";
    }
}

const char *mpt_report_origin_name(mpt_nf_origin o)
{
    return o == MPT_NF_PRODUCED ? "produced" : o == MPT_NF_INPUT ? "input" : "unknown";
}

void mpt_report_status_words(unsigned st, char *buf, size_t n)
{
    static const char *const words[] = {"nonfinite", "input_nonfinite", "overflow",  "underflow",
                                        "precision", "headroom",        "fp16_flush"};
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof words / sizeof *words; i++) {
        if (!(st & (1u << i))) continue;
        int k = snprintf(buf + len, n - len, "%s%s", len ? "," : "", words[i]);
        if (k < 0 || (size_t)k >= n - len) break;
        len += (size_t)k;
    }
}

/* Stable ids for JSON (the core's names are for people). */
static const char *end_id(mpt_end_how h)
{
    switch (h) {
    case MPT_END_EXIT:
        return "exit";
    case MPT_END_SIGNAL:
        return "signal";
    case MPT_END_FATAL_SIGNAL:
        return "fatal_signal";
    case MPT_END_CLOSED:
        return "closed";
    default:
        return "unknown";
    }
}

static void kstep(mpt_json *j, const char *key, int64_t step)
{
    mpt_json_key(j, key);
    if (step == MPT_NO_STEP)
        mpt_json_null(j);
    else
        mpt_json_int(j, step);
}

static void klayer(mpt_json *j, const char *key, const mpt_model *m, uint32_t l)
{
    const mpt_layer *ly = l == MPT_NO_LAYER ? NULL : mpt_model_layer(m, l);
    mpt_json_kstr(j, key, ly ? ly->name : NULL);
}

static void step_array(mpt_json *j, const char *key, const int64_t *v, size_t n)
{
    mpt_json_key(j, key);
    mpt_json_array_begin(j);
    for (size_t i = 0; i < n; i++)
        mpt_json_int(j, v[i]);
    mpt_json_array_end(j);
}

static void dtype_list(mpt_json *j, const char *key, unsigned mask)
{
    mpt_json_key(j, key);
    mpt_json_array_begin(j);
    for (int d = 0; d <= MPT_DT_COUNT; d++)
        if (mask & (1u << d))
            mpt_json_str(j, d < MPT_DT_COUNT ? mpt_dtype_name((mpt_dtype)d) : "unknown");
    mpt_json_array_end(j);
}

static void sources(mpt_json *j, const mpt_model *m)
{
    mpt_json_key(j, "sources");
    mpt_json_array_begin(j);
    for (int i = 0; i < mpt_model_nsources(m); i++) {
        const mpt_source *s = mpt_model_source(m, i);
        mpt_json_object_begin(j);
        mpt_json_kstr(j, "path", s->path);
        mpt_json_kint(j, "rank", s->rank);
        mpt_json_kint(j, "pid", s->pid);
        mpt_json_kstr(j, "hostname", s->hostname);
        mpt_json_kstr(j, "cmdline", s->cmdline);
        mpt_json_kstr(j, "state", mpt_report_source_state(s->state));
        mpt_json_kbool(j, "ended", s->ended);
        mpt_json_kstr(j, "end", s->ended ? end_id(s->end_how) : NULL);
        mpt_json_key(j, "exit_status");
        if (s->ended && s->end_how == MPT_END_EXIT)
            mpt_json_int(j, s->end_status);
        else
            mpt_json_null(j);
        mpt_json_kuint(j, "records", s->records);
        mpt_json_kuint(j, "bytes", s->bytes);
        mpt_json_key(j, "error_offset");
        if (s->state == MPT_SOURCE_TRUNCATED || s->state == MPT_SOURCE_CORRUPT)
            mpt_json_uint(j, s->error_offset);
        else
            mpt_json_null(j);
        mpt_json_kstr(j, "message", s->message[0] ? s->message : NULL);
        mpt_json_object_end(j);
    }
    mpt_json_array_end(j);
}

static void narrow(mpt_json *j, const mpt_layer_row *r, const mpt_cell *c)
{
    mpt_json_key(j, "narrow");
    mpt_json_object_begin(j);
    for (int i = 0; i < MPT_NARROW_COUNT; i++) {
        mpt_json_key(j, mpt_dtype_name(mpt_narrow_dtype((mpt_narrow)i)));
        mpt_json_object_begin(j);
        mpt_json_knum(j, "overflow", r->overflow_frac[i]);
        mpt_json_knum(j, "flush", r->flush_frac[i]);
        mpt_json_knum(j, "subnormal",
                      c->full_count ? (double)c->narrow[i].subnormal / (double)c->full_count : NAN);
        mpt_json_object_end(j);
    }
    mpt_json_object_end(j);
}

static void layers(mpt_json *j, const mpt_model *m, const mpt_analysis *a)
{
    mpt_json_key(j, "layers");
    mpt_json_array_begin(j);
    for (uint32_t i = 0; i < a->nrows; i++) {
        const mpt_layer *l = mpt_model_layer(m, i);
        const mpt_layer_row *r = &a->rows[i];
        const mpt_cell *c = &l->total;
        char st[128];
        mpt_json_object_begin(j);
        mpt_json_kstr(j, "name", l->name);
        mpt_json_kuint(j, "index", l->index);
        mpt_json_kstr(j, "phase", mpt_phase_name(l->phase));
        mpt_json_kuint(j, "calls", c->calls);
        mpt_json_kstr(j, "dtype", mpt_dtype_name((mpt_dtype)c->dtype_out));
        mpt_json_kstr(j, "dtype_in", mpt_dtype_name((mpt_dtype)c->dtype_in));
        mpt_json_kbool(j, "mixed_dtypes", c->mixed);
        mpt_json_kstr(j, "compute", mpt_compute_type_name((mpt_compute_type)c->compute));
        mpt_json_kstr(j, "api", l->api);
        mpt_json_kint(j, "m", l->m);
        mpt_json_kint(j, "n", l->n);
        mpt_json_kint(j, "k", l->k);
        mpt_json_kint(j, "batch", l->batch);
        mpt_json_knum(j, "absmax", c->out_count ? c->out_absmax : NAN);
        mpt_json_knum(j, "input_absmax", c->in_count ? c->in_absmax : NAN);
        mpt_json_knum(j, "headroom_bits", r->headroom_bits);
        mpt_json_kuint(j, "elements", c->out_count);
        mpt_json_kuint(j, "nan", c->out_nan);
        mpt_json_kuint(j, "inf", c->out_inf);
        mpt_json_key(j, "input_nan");
        c->in_count ? mpt_json_uint(j, c->in_nan) : mpt_json_null(j);
        mpt_json_key(j, "input_inf");
        c->in_count ? mpt_json_uint(j, c->in_inf) : mpt_json_null(j);
        mpt_json_kuint(j, "samples", c->prec_samples);
        mpt_json_key(j, "overflow");
        c->prec_samples ? mpt_json_uint(j, c->prec_overflow) : mpt_json_null(j);
        mpt_json_key(j, "underflow");
        c->prec_samples ? mpt_json_uint(j, c->prec_underflow) : mpt_json_null(j);
        mpt_json_knum(j, "underflow_frac", r->underflow_frac);
        mpt_json_knum(j, "subnormal", r->subnormal_frac);
        mpt_json_kuint(j, "full_elements", c->full_count);
        narrow(j, r, c);
        mpt_json_knum(j, "rel_err_p50", r->rel_p50);
        mpt_json_knum(j, "rel_err_max", r->rel_max);
        mpt_json_knum(j, "ulp_err_p50", r->ulp_p50);
        mpt_json_knum(j, "ulp_err_max", r->ulp_max);
        mpt_json_kuint(j, "flagged_columns", r->flagged_cols);
        mpt_report_status_words(r->status, st, sizeof st);
        mpt_json_kstr(j, "status", st);
        mpt_json_object_end(j);
    }
    mpt_json_array_end(j);
}

static void first_nonfinite(mpt_json *j, const mpt_model *m, const mpt_analysis *a)
{
    mpt_json_key(j, "first_nonfinite");
    if (!a->have_nf) {
        mpt_json_null(j);
        return;
    }
    const mpt_first_nonfinite *f = &a->nf;
    const mpt_dtype_info *di = mpt_dtype_get_info(f->dtype_out);
    mpt_json_object_begin(j);
    mpt_json_kint(j, "step", f->step);
    klayer(j, "layer", m, f->layer);
    mpt_json_kstr(j, "tensor", mpt_report_role_name(f->tensor));
    mpt_json_kstr(j, "origin", mpt_report_origin_name(f->origin));
    mpt_json_kint(j, "rank", f->rank);
    mpt_json_kstr(j, "source", mpt_model_source(m, f->source)->path);
    mpt_json_kuint(j, "seq", f->seq);
    mpt_json_kuint(j, "op_ordinal", f->ordinal);
    mpt_json_kstr(j, "api", f->api);
    mpt_json_kint(j, "m", f->m);
    mpt_json_kint(j, "n", f->n);
    mpt_json_kint(j, "k", f->k);
    mpt_json_kint(j, "batch", f->batch);
    mpt_json_kstr(j, "dtype_in", mpt_dtype_name(f->dtype_in));
    mpt_json_kstr(j, "dtype_out", mpt_dtype_name(f->dtype_out));
    mpt_json_kuint(j, "nan", f->nan);
    mpt_json_kuint(j, "inf", f->inf);
    mpt_json_key(j, "nonfinite_tensors");
    mpt_json_array_begin(j);
    for (int r = 0; r < MPT_ROLE_COUNT; r++)
        if (f->nf_roles & (1u << r)) mpt_json_str(j, mpt_report_role_name((mpt_tensor_role)r));
    mpt_json_array_end(j);
    mpt_json_knum(j, "max_exact_abs", f->max_exact_abs);
    mpt_json_knum(j, "overflow_factor",
                  di && f->max_exact_abs > di->max_finite ? f->max_exact_abs / di->max_finite
                                                          : NAN);
    mpt_json_key(j, "last_finite_writer");
    if (f->have_prev) {
        mpt_json_object_begin(j);
        klayer(j, "layer", m, f->prev_layer);
        mpt_json_kint(j, "step", f->prev_step);
        mpt_json_kuint(j, "seq", f->prev_seq);
        mpt_json_object_end(j);
    } else {
        mpt_json_null(j);
    }
    mpt_json_key(j, "kernels_between");
    mpt_json_array_begin(j);
    for (uint32_t i = 0; i < f->n_between; i++) {
        const mpt_event_ref *e = &f->between[i];
        mpt_json_object_begin(j);
        mpt_json_kstr(j, "type",
                      e->type == MPT_EV_KERNEL   ? "kernel"
                      : e->type == MPT_EV_MEMORY ? "memory"
                                                 : "gemm");
        mpt_json_kuint(j, "seq", e->seq);
        mpt_json_kint(j, "step", e->step);
        mpt_json_kstr(j, "name", e->name);
        mpt_json_kstr(j, "layer", e->layer);
        if (e->type == MPT_EV_MEMORY) {
            mpt_json_kuint(j, "bytes", e->bytes);
            mpt_json_kbool(j, "nonfinite", e->nonfinite);
        }
        mpt_json_object_end(j);
    }
    mpt_json_array_end(j);
    mpt_json_kuint(j, "kernels_between_total", f->n_between_total);
    mpt_json_kbool(j, "between_complete", f->between_complete);
    mpt_json_object_end(j);
}

static void scaler(mpt_json *j, const mpt_analysis *a)
{
    const mpt_scaler_summary *s = &a->scaler;
    mpt_json_key(j, "scaler");
    mpt_json_object_begin(j);
    mpt_json_kbool(j, "present", s->present);
    mpt_json_kuint(j, "skips", s->skips);
    step_array(j, "skipped_steps", s->skipped_steps, s->nskipped);
    step_array(j, "nonfinite_steps", s->nonfinite_steps, s->nnonfinite);
    step_array(j, "skipped_not_observed", s->skipped_only, s->nskipped_only);
    step_array(j, "observed_not_skipped", s->nonfinite_only, s->nnonfinite_only);
    mpt_json_kbool(j, "agree", s->agree);
    mpt_json_kuint(j, "startup_skips", s->startup_skips);
    mpt_json_knum(j, "scale_first", s->scale_first);
    mpt_json_knum(j, "scale_min", s->scale_min);
    mpt_json_knum(j, "scale_max", s->scale_max);
    mpt_json_knum(j, "scale_final", s->scale_final);
    mpt_json_kuint(j, "backoffs", s->backoffs);
    mpt_json_kuint(j, "growths", s->growths);
    mpt_json_kbool(j, "collapsed", s->collapsed);
    mpt_json_object_end(j);
}

static void loss(mpt_json *j, const mpt_model *m, const mpt_analysis *a)
{
    const mpt_loss_summary *L = &a->loss;
    mpt_json_key(j, "loss");
    mpt_json_object_begin(j);
    mpt_json_kuint(j, "count", L->count);
    mpt_json_kuint(j, "nonfinite", L->nonfinite);
    kstep(j, "first_step", L->count ? L->first_step : MPT_NO_STEP);
    kstep(j, "last_step", L->count ? L->last_step : MPT_NO_STEP);
    mpt_json_key(j, "values_first_last");
    if (L->count) {
        mpt_json_array_begin(j);
        mpt_json_num(j, L->first);
        mpt_json_num(j, L->last);
        mpt_json_array_end(j);
    } else {
        mpt_json_null(j);
    }
    mpt_json_knum(j, "min", L->min);
    mpt_json_knum(j, "max", L->max);
    kstep(j, "first_nonfinite_step", L->first_nonfinite_step);
    mpt_json_kbool(j, "recovered", L->recovered);
    mpt_json_key(j, "spikes");
    mpt_json_array_begin(j);
    for (size_t i = 0; i < L->nspikes; i++) {
        const mpt_spike *s = &L->spikes[i];
        mpt_json_object_begin(j);
        mpt_json_kint(j, "step", s->step);
        mpt_json_knum(j, "value", s->value);
        mpt_json_kbool(j, "nonfinite", s->nonfinite);
        mpt_json_knum(j, "median", s->median);
        mpt_json_knum(j, "noise", s->noise);
        mpt_json_knum(j, "score", s->score);
        mpt_json_key(j, "layers_moved");
        mpt_json_array_begin(j);
        for (int k = 0; k < s->n_moved; k++)
            mpt_json_str(j, mpt_model_layer(m, s->moved[k])->name);
        mpt_json_array_end(j);
        mpt_json_key(j, "layers_moved_scores");
        mpt_json_array_begin(j);
        for (int k = 0; k < s->n_moved; k++)
            mpt_json_num(j, s->moved_score[k]);
        mpt_json_array_end(j);
        mpt_json_object_end(j);
    }
    mpt_json_array_end(j);
    mpt_json_object_end(j);
}

static void findings(mpt_json *j, const mpt_model *m, const mpt_analysis *a)
{
    mpt_json_key(j, "findings");
    mpt_json_array_begin(j);
    for (size_t i = 0; i < a->nfindings; i++) {
        const mpt_finding *f = &a->findings[i];
        mpt_json_object_begin(j);
        mpt_json_kstr(j, "kind", mpt_finding_kind_name(f->kind));
        mpt_json_kstr(j, "severity", mpt_severity_name(f->severity));
        kstep(j, "step", f->step);
        klayer(j, "layer", m, f->layer);
        mpt_json_kstr(j, "message", f->message);
        mpt_json_kstr(j, "recommendation", f->recommendation);
        mpt_json_object_end(j);
    }
    mpt_json_array_end(j);
}

int mpt_report_json(FILE *f, const mpt_model *m, const mpt_analysis *a, int pretty)
{
    mpt_json j;
    mpt_json_init(&j, f, pretty);
    const mpt_model_totals *t = mpt_model_get_totals(m);
    mpt_json_object_begin(&j);
    mpt_json_kstr(&j, "schema", "mptrace-report/1");
    const mpt_source *s0 = mpt_model_source(m, 0);
    mpt_json_kstr(&j, "program", s0 ? s0->cmdline : NULL);
    mpt_json_kint(&j, "ranks", mpt_model_nsources(m));
    mpt_json_kuint(&j, "steps", a->nsteps);
    kstep(&j, "first_step", a->have_steps ? a->first_step : MPT_NO_STEP);
    kstep(&j, "last_step", a->have_steps ? a->last_step : MPT_NO_STEP);
    mpt_json_kuint(&j, "ops", t->gemms);
    mpt_json_kuint(&j, "tensors", t->tensors);
    mpt_json_kuint(&j, "kernels", t->kernels);
    mpt_json_kuint(&j, "memory_events", t->memory_events);
    mpt_json_kuint(&j, "records", t->records);
    mpt_json_kuint(&j, "orphan_records", t->orphans);
    mpt_json_knum(&j, "duration_s", a->duration_s);
    mpt_json_key(&j, "regime");
    mpt_json_object_begin(&j);
    mpt_json_kstr(&j, "id", a->regime.id);
    mpt_json_kstr(&j, "description", a->regime.description);
    dtype_list(&j, "dtypes_in", a->regime.dtypes_in);
    dtype_list(&j, "dtypes_out", a->regime.dtypes_out);
    mpt_json_kuint(&j, "fp16_accumulate_ops", a->regime.fp16_accumulate);
    mpt_json_kuint(&j, "tf32_ops", a->regime.tf32);
    mpt_json_object_end(&j);
    mpt_json_key(&j, "grid");
    mpt_json_object_begin(&j);
    mpt_json_kuint(&j, "columns", mpt_model_ncols(m));
    mpt_json_kint(&j, "column_steps", mpt_model_col_width(m));
    mpt_json_object_end(&j);
    sources(&j, m);
    layers(&j, m, a);
    first_nonfinite(&j, m, a);
    scaler(&j, a);
    loss(&j, m, a);
    findings(&j, m, a);
    mpt_json_object_end(&j);
    return mpt_json_finish(&j);
}
