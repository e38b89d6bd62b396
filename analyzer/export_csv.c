/*
 * CSV and JSON-lines exports: one row per TENSOR record, with its op (entry point, shape,
 * dtypes, compute type), layer and step, and the tensor's statistics (docs/export.md lists the
 * columns). Rows of a copy's data (role "memcpy") name the copy's kind as the op.
 *
 * CSV follows RFC 4180: a header row; fields holding a comma, a quote or a line break are
 * quoted, quotes doubled; numbers are written to round-trip (%.17g), non-finite ones as nan,
 * inf, -inf (what spreadsheets and pandas read); fields that were not measured (the full
 * statistics of a cheap record) are empty.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/export.h"
#include "analyzer/json.h"
#include "analyzer/report.h"

static void csv_str(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"') putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

static void csv_num(FILE *f, double v)
{
    if (isnan(v))
        fputs("nan", f);
    else if (isinf(v))
        fputs(v > 0 ? "inf" : "-inf", f);
    else
        fprintf(f, "%.17g", v);
}

static const char *const csv_head =
    "rank,seq,step,layer,op,ordinal,tid,ts_ns,m,n,k,batch,compute,dtype_a,dtype_b,dtype_d,"
    "role,dtype,level,rows,cols,matrices,count,nan,inf,absmax,pinf,ninf,zero,subnormal,min,max,"
    "min_nonzero_abs,sum,sumsq,fp16_overflow,fp16_subnormal,fp16_flush,bf16_overflow,"
    "bf16_subnormal,bf16_flush,e4m3_overflow,e4m3_subnormal,e4m3_flush,e5m2_overflow,"
    "e5m2_subnormal,e5m2_flush\n";

static void csv_row(FILE *f, int32_t rank, const mpt_trace_tensor *t, const mpt_export_op *op)
{
    const mpt_trace_tensor_info *ti = &t->info;
    fprintf(f, "%d,%" PRIu64 ",", rank, ti->seq);
    if (!op) {
        fputs(",,,,,,,,,,,,,,", f); /* the op was not seen: its columns are empty */
    } else if (op->is_memory) {
        const mpt_trace_memory *m = &op->memory;
        fprintf(f, "%" PRId64 ",,", m->step);
        csv_str(f, op->api);
        fprintf(f, ",,%u,%" PRIu64 ",,,,,,,,,", m->tid, m->ts_ns);
    } else {
        const mpt_trace_gemm *g = &op->gemm;
        fprintf(f, "%" PRId64 ",", g->step);
        csv_str(f, op->layer);
        putc(',', f);
        csv_str(f, op->api);
        fprintf(f,
                ",%u,%u,%" PRIu64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%s,%s,%s,%s,",
                g->ordinal, g->tid, g->ts_ns, g->m, g->n, g->k, g->batch,
                mpt_compute_type_name(g->compute), mpt_dtype_name(g->dtype_a),
                mpt_dtype_name(g->dtype_b), mpt_dtype_name(g->dtype_d));
    }
    int full = t->level == MPT_LEVEL_FULL;
    fprintf(f, "%s,%s,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
            mpt_report_role_name(ti->role), mpt_dtype_name(ti->dtype), full ? "full" : "cheap",
            ti->rows, ti->cols, ti->batch, t->cheap.count, t->cheap.nan, t->cheap.inf);
    csv_num(f, t->cheap.absmax);
    if (!full) {
        fputs(",,,,,,,,,,,,,,,,,,,,,\n", f); /* the 21 full-statistics columns */
        return;
    }
    const mpt_stats *s = &t->full;
    fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", s->pinf, s->ninf, s->zero,
            s->subnormal);
    const double d[] = {s->min, s->max, s->min_nonzero_abs, s->sum, s->sumsq};
    for (int i = 0; i < 5; i++) {
        csv_num(f, d[i]);
        putc(',', f);
    }
    for (int i = 0; i < MPT_NARROW_COUNT; i++)
        fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 "%s", s->narrow[i].overflow,
                s->narrow[i].subnormal, s->narrow[i].flush, i + 1 < MPT_NARROW_COUNT ? "," : "\n");
}

int mpt_export_csv(mpt_export_walker *w, FILE *out, char *err, size_t errlen)
{
    const mpt_trace_record *rec;
    int src;
    fputs(csv_head, out);
    while (mpt_export_next(w, &rec, &src)) {
        if (rec->type != MPT_REC_TENSOR) continue;
        const mpt_trace_tensor *t = &rec->u.tensor;
        csv_row(out, mpt_export_source(w, src)->rank, t, mpt_export_op_of(w, t->info.seq));
    }
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "write error");
        return -1;
    }
    return 0;
}

/* ---- JSON lines ------------------------------------------------------------------------------ */

static void jsonl_row(mpt_json *j, int32_t rank, const mpt_trace_tensor *t, const mpt_export_op *op)
{
    const mpt_trace_tensor_info *ti = &t->info;
    mpt_json_object_begin(j);
    mpt_json_kint(j, "rank", rank);
    mpt_json_kuint(j, "seq", ti->seq);
    if (op && !op->is_memory) {
        const mpt_trace_gemm *g = &op->gemm;
        mpt_json_kint(j, "step", g->step);
        mpt_json_kstr(j, "layer", op->layer);
        mpt_json_key(j, "op");
        mpt_json_object_begin(j);
        mpt_json_kstr(j, "api", op->api);
        mpt_json_kuint(j, "ordinal", g->ordinal);
        mpt_json_kuint(j, "tid", g->tid);
        mpt_json_kuint(j, "ts_ns", g->ts_ns);
        mpt_json_kint(j, "m", g->m);
        mpt_json_kint(j, "n", g->n);
        mpt_json_kint(j, "k", g->k);
        mpt_json_kint(j, "batch", g->batch);
        mpt_json_kstr(j, "compute", mpt_compute_type_name(g->compute));
        mpt_json_kstr(j, "dtype_a", mpt_dtype_name(g->dtype_a));
        mpt_json_kstr(j, "dtype_b", mpt_dtype_name(g->dtype_b));
        mpt_json_kstr(j, "dtype_d", mpt_dtype_name(g->dtype_d));
        mpt_json_object_end(j);
    } else if (op) {
        mpt_json_kint(j, "step", op->memory.step);
        mpt_json_kstr(j, "layer", NULL);
        mpt_json_key(j, "op");
        mpt_json_object_begin(j);
        mpt_json_kstr(j, "api", op->api);
        mpt_json_kuint(j, "tid", op->memory.tid);
        mpt_json_kuint(j, "ts_ns", op->memory.ts_ns);
        mpt_json_kuint(j, "bytes", op->memory.bytes);
        mpt_json_object_end(j);
    } else {
        mpt_json_kstr(j, "step", NULL);
        mpt_json_kstr(j, "layer", NULL);
        mpt_json_kstr(j, "op", NULL);
    }
    mpt_json_kstr(j, "role", mpt_report_role_name(ti->role));
    mpt_json_kstr(j, "dtype", mpt_dtype_name(ti->dtype));
    mpt_json_kstr(j, "level", t->level == MPT_LEVEL_FULL ? "full" : "cheap");
    mpt_json_kint(j, "rows", ti->rows);
    mpt_json_kint(j, "cols", ti->cols);
    mpt_json_kint(j, "matrices", ti->batch);
    mpt_json_kuint(j, "count", t->cheap.count);
    mpt_json_kuint(j, "nan", t->cheap.nan);
    mpt_json_kuint(j, "inf", t->cheap.inf);
    mpt_json_knum(j, "absmax", t->cheap.absmax);
    if (t->level == MPT_LEVEL_FULL) {
        const mpt_stats *s = &t->full;
        mpt_json_kuint(j, "pinf", s->pinf);
        mpt_json_kuint(j, "ninf", s->ninf);
        mpt_json_kuint(j, "zero", s->zero);
        mpt_json_kuint(j, "subnormal", s->subnormal);
        mpt_json_knum(j, "min", s->min);
        mpt_json_knum(j, "max", s->max);
        mpt_json_knum(j, "min_nonzero_abs", s->min_nonzero_abs);
        mpt_json_knum(j, "sum", s->sum);
        mpt_json_knum(j, "sumsq", s->sumsq);
        mpt_json_key(j, "narrow");
        mpt_json_object_begin(j);
        for (int i = 0; i < MPT_NARROW_COUNT; i++) {
            mpt_json_key(j, mpt_export_narrow_name(i));
            mpt_json_object_begin(j);
            mpt_json_kuint(j, "overflow", s->narrow[i].overflow);
            mpt_json_kuint(j, "subnormal", s->narrow[i].subnormal);
            mpt_json_kuint(j, "flush", s->narrow[i].flush);
            mpt_json_object_end(j);
        }
        mpt_json_object_end(j);
        /* the exponent histogram, sparse: [binary exponent or "zero"/"subnormal"/..., count] */
        mpt_json_key(j, "hist");
        mpt_json_array_begin(j);
        for (int b = 0; b < MPT_HIST_BUCKETS; b++) {
            if (!s->hist[b]) continue;
            mpt_json_array_begin(j);
            if (b == MPT_HIST_ZERO)
                mpt_json_str(j, "zero");
            else if (b == MPT_HIST_SUBNORMAL)
                mpt_json_str(j, "subnormal");
            else if (b == MPT_HIST_INF)
                mpt_json_str(j, "inf");
            else if (b == MPT_HIST_NAN)
                mpt_json_str(j, "nan");
            else
                mpt_json_int(j, b - MPT_HIST_EXP_BASE + MPT_HIST_MIN_EXP);
            mpt_json_uint(j, s->hist[b]);
            mpt_json_array_end(j);
        }
        mpt_json_array_end(j);
    }
    mpt_json_object_end(j);
}

int mpt_export_jsonl(mpt_export_walker *w, FILE *out, char *err, size_t errlen)
{
    const mpt_trace_record *rec;
    int src;
    while (mpt_export_next(w, &rec, &src)) {
        if (rec->type != MPT_REC_TENSOR) continue;
        const mpt_trace_tensor *t = &rec->u.tensor;
        mpt_json j;
        mpt_json_init(&j, out, 0);
        jsonl_row(&j, mpt_export_source(w, src)->rank, t, mpt_export_op_of(w, t->info.seq));
        if (mpt_json_finish(&j) != 0) {
            snprintf(err, errlen, "write error");
            return -1;
        }
    }
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "write error");
        return -1;
    }
    return 0;
}
