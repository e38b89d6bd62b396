/*
 * The run model against a slow reference: random records (random layers, steps in random
 * order, cheap and full statistics, precision samples, two sources) are fed to the model and,
 * separately, summed per (layer, step) in plain arrays; every cell of the model's grid must equal
 * the reference summed over the steps its column covers — with a memory budget small enough to
 * force the grid to coarsen several times — and the layer totals and step table must match.
 * Also: cell status and headroom, error quantiles against a sorted reference, strings, orphans,
 * what ran between GEMMs against an uncapped reference, and the layer phase names.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/analysis.h"
#include "analyzer/diff.h"
#include "analyzer/model.h"
#include "analyzer/model_internal.h"
#include "analyzer/report.h"
#include "tests/unit/test_analyzer_jsonparse.h"
#include "tests/unit/trace_samples.h"

#define NL    7
#define NSTEP 700

typedef struct ref {
    uint64_t calls, out_count, out_nan, out_inf, in_count, in_nan, full_count, zero, sub;
    uint64_t f16_flush, samples, underflow;
    double out_absmax, in_absmax, max_rel;
} ref;

static ref R[NL][NSTEP];

static void feed(mpt_model *m, int src, mpt_trace_record *r)
{
    ck_assert_int_eq(mpt_model_feed(m, src, r), 0);
}

static void feed_string(mpt_model *m, int src, uint32_t id, const char *s)
{
    mpt_trace_record r = {.type = MPT_REC_STRING};
    r.u.string.id = id;
    r.u.string.len = (uint32_t)strlen(s);
    r.u.string.bytes = s;
    feed(m, src, &r);
}

static double rnd(uint64_t *st)
{
    return (double)(mpt_test_rand(st) >> 11) / 9007199254740992.0;
}

static void ref_check_cell(const mpt_model *m, uint32_t l, uint32_t c, const ref *row)
{
    const mpt_cell *cell = mpt_model_cell(m, l, c);
    int64_t first = mpt_model_col_first_step(m, c), w = mpt_model_col_width(m);
    ref sum = {0};
    for (int64_t s = first; s < first + w && s < NSTEP; s++) {
        const ref *x = &row[s];
        sum.calls += x->calls;
        sum.out_count += x->out_count;
        sum.out_nan += x->out_nan;
        sum.out_inf += x->out_inf;
        sum.in_count += x->in_count;
        sum.in_nan += x->in_nan;
        sum.full_count += x->full_count;
        sum.zero += x->zero;
        sum.sub += x->sub;
        sum.f16_flush += x->f16_flush;
        sum.samples += x->samples;
        sum.underflow += x->underflow;
        if (x->out_absmax > sum.out_absmax) sum.out_absmax = x->out_absmax;
        if (x->in_absmax > sum.in_absmax) sum.in_absmax = x->in_absmax;
        if (x->max_rel > sum.max_rel) sum.max_rel = x->max_rel;
    }
    MPT_CHECK(cell->calls == sum.calls, "layer %u col %u: calls %u want %llu", l, c, cell->calls,
              (unsigned long long)sum.calls);
    MPT_CHECK(cell->out_count == sum.out_count && cell->out_nan == sum.out_nan &&
                  cell->out_inf == sum.out_inf,
              "layer %u col %u: output counts", l, c);
    MPT_CHECK(cell->in_count == sum.in_count && cell->in_nan == sum.in_nan,
              "layer %u col %u: input counts", l, c);
    MPT_CHECK(cell->out_absmax == sum.out_absmax && cell->in_absmax == sum.in_absmax,
              "layer %u col %u: absmax %g want %g", l, c, cell->out_absmax, sum.out_absmax);
    MPT_CHECK(cell->full_count == sum.full_count && cell->out_zero == sum.zero &&
                  cell->out_subnormal == sum.sub &&
                  cell->narrow[MPT_NARROW_FP16].flush == sum.f16_flush,
              "layer %u col %u: full statistics", l, c);
    MPT_CHECK(cell->prec_samples == sum.samples && cell->prec_underflow == sum.underflow,
              "layer %u col %u: precision counts", l, c);
    if (sum.samples) MPT_CHECK(cell->prec_max_rel == sum.max_rel, "layer %u col %u: max rel", l, c);
}

/* The grid's shapes: a budget of a few columns (within one chunk of model_grid.c) and one of
 * ~200 columns (several chunks, coarsened in place); the steps first increasing (the base stays)
 * or first decreasing (each earlier step moves the base: the grid is rebuilt into new chunks). */
static const struct grid_case {
    size_t budget;
    int decreasing;
    int delay; /* a GEMM's TENSOR and PRECISION records come this many GEMMs later */
} grid_cases[] = {
    {16 * 1024, 0, 0},
    {NL * sizeof(mpt_cell) * 200, 0, 0},
    {NL * sizeof(mpt_cell) * 200, 1, 0},
    /* drained late, as from a GPU: the grid is coarsened in place, or rebuilt, in between */
    {16 * 1024, 0, 50},
    {16 * 1024, 1, 50},
};

/* Records held back (grid_cases' delay), fed in order once `delay` more GEMMs were fed. */
#define LATE_MAX 1024
static struct late {
    mpt_trace_record rec;
    int src;
    int due; /* the GEMM count at which it is fed */
} late_q[LATE_MAX];
static int late_head, late_n;

static void feed_late(mpt_model *m, int src, mpt_trace_record *r, int due, int delay)
{
    if (!delay) {
        feed(m, src, r);
        return;
    }
    ck_assert_int_lt(late_n, LATE_MAX);
    struct late *q = &late_q[(late_head + late_n++) % LATE_MAX];
    q->rec = *r;
    q->src = src;
    q->due = due;
}

static void feed_due(mpt_model *m, int now)
{
    while (late_n && late_q[late_head].due <= now) {
        feed(m, late_q[late_head].src, &late_q[late_head].rec);
        late_head = (late_head + 1) % LATE_MAX;
        late_n--;
    }
}

START_TEST(test_model_grid_against_reference)
{
    memset(R, 0, sizeof R);
    late_head = late_n = 0;
    const struct grid_case *gc = &grid_cases[_i];
    mpt_model_opts opts = {.cell_budget_bytes = gc->budget, .min_columns = 8};
    mpt_model *m = mpt_model_new(&opts);
    ck_assert_ptr_nonnull(m);
    int src[2] = {mpt_model_add_source(m, "a", NULL), mpt_model_add_source(m, "b", NULL)};
    char name[32];
    for (int s = 0; s < 2; s++)
        for (int l = 0; l < NL; l++) {
            snprintf(name, sizeof name, "%s/blk%d/op", l % 2 ? "bwd" : "fwd", l);
            feed_string(m, src[s], (uint32_t)(10 + l), name);
        }
    uint64_t rng = 1234, seq[2] = {1, 1};
    uint64_t calls_per_step[NSTEP] = {0};
    for (int it = 0; it < 6000; it++) {
        int s = (int)(mpt_test_rand(&rng) % 2);
        int l = (int)(mpt_test_rand(&rng) % NL);
        /* mostly increasing (or decreasing) steps, then jumps (a second rank, a late record) */
        int64_t step = it >= 3000       ? (int64_t)(mpt_test_rand(&rng) % NSTEP)
                       : gc->decreasing ? (int64_t)(NSTEP - 1 - it * NSTEP / 6000)
                                        : (int64_t)(it * NSTEP / 6000);
        mpt_trace_record r = {.type = MPT_REC_GEMM};
        mpt_trace_gemm *g = &r.u.gemm;
        g->seq = seq[s]++;
        g->step = step;
        g->layer = (uint32_t)(10 + l);
        g->dtype_a = g->dtype_b = g->dtype_d = MPT_DT_F16;
        g->level = MPT_LEVEL_FULL;
        feed(m, src[s], &r);
        feed_due(m, it);
        int due = it + gc->delay;
        ref *x = &R[l][step];
        x->calls++;
        calls_per_step[step]++;
        /* output D: cheap or full */
        mpt_trace_record t = {.type = MPT_REC_TENSOR};
        mpt_trace_tensor *tt = &t.u.tensor;
        tt->info.seq = g->seq;
        tt->info.role = MPT_ROLE_D;
        tt->info.dtype = MPT_DT_F16;
        int full = mpt_test_rand(&rng) % 3 == 0;
        uint64_t count = 1 + mpt_test_rand(&rng) % 5000;
        double absmax = exp2(rnd(&rng) * 40 - 20);
        uint64_t nan = mpt_test_rand(&rng) % 50 == 0 ? 3 : 0;
        if (full) {
            tt->level = MPT_LEVEL_FULL;
            mpt_stats_init(&tt->full);
            tt->full.count = count;
            tt->full.nan = nan;
            tt->full.absmax = absmax;
            tt->full.zero = count / 7;
            tt->full.subnormal = count / 11;
            tt->full.narrow[MPT_NARROW_FP16].flush = count / 13;
            x->full_count += count;
            x->zero += count / 7;
            x->sub += count / 11;
            x->f16_flush += count / 13;
        } else {
            tt->level = MPT_LEVEL_CHEAP;
        }
        tt->cheap = (mpt_cheap_stats){count, nan, 0, absmax};
        feed_late(m, src[s], &t, due, gc->delay);
        x->out_count += count;
        x->out_nan += nan;
        if (absmax > x->out_absmax) x->out_absmax = absmax;
        /* an input, sometimes */
        if (mpt_test_rand(&rng) % 2) {
            tt->info.role = MPT_ROLE_A;
            tt->level = MPT_LEVEL_CHEAP;
            tt->cheap = (mpt_cheap_stats){count * 2, nan, 0, absmax / 3};
            feed_late(m, src[s], &t, due, gc->delay);
            x->in_count += count * 2;
            x->in_nan += nan;
            if (absmax / 3 > x->in_absmax) x->in_absmax = absmax / 3;
        }
        /* a precision sample, sometimes */
        if (mpt_test_rand(&rng) % 4 == 0) {
            mpt_trace_record p = {.type = MPT_REC_PRECISION};
            p.u.precision = (mpt_trace_precision){.seq = g->seq,
                                                  .dtype = MPT_DT_F16,
                                                  .samples = 64,
                                                  .max_rel_err = rnd(&rng) * 1e-3,
                                                  .mean_rel_err = 1e-4,
                                                  .max_ulp_err = 0.5,
                                                  .mean_ulp_err = 0.25,
                                                  .underflow = it % 5};
            feed_late(m, src[s], &p, due, gc->delay);
            x->samples += 64;
            x->underflow += (uint64_t)(it % 5);
            if (p.u.precision.max_rel_err > x->max_rel) x->max_rel = p.u.precision.max_rel_err;
        }
    }
    feed_due(m, INT32_MAX);
    /* the budget forced coarsening, and holds */
    ck_assert_uint_eq(mpt_model_nlayers(m), NL);
    ck_assert_int_gt(mpt_model_col_width(m), 1);
    ck_assert_uint_le((size_t)mpt_model_ncols(m) * NL * sizeof(mpt_cell),
                      opts.cell_budget_bytes > 8 * NL * sizeof(mpt_cell)
                          ? opts.cell_budget_bytes
                          : 8 * NL * sizeof(mpt_cell));
    ck_assert_int_le(mpt_model_col_first_step(m, 0), 0);
    ck_assert_int_eq(mpt_model_col_first_step(m, 0) % mpt_model_col_width(m), 0);
    ck_assert_int_ge(mpt_model_col_first_step(m, mpt_model_ncols(m) - 1) + mpt_model_col_width(m),
                     NSTEP);
    for (uint32_t l = 0; l < NL; l++) {
        const mpt_layer *ly = mpt_model_layer(m, l);
        int ref_l = atoi(strstr(ly->name, "blk") + 3);
        ck_assert_int_eq(ly->phase, ref_l % 2 ? MPT_PHASE_BWD : MPT_PHASE_FWD);
        /* layers are numbered in order of first appearance; the reference by name */
        for (uint32_t c = 0; c < mpt_model_ncols(m); c++)
            ref_check_cell(m, l, c, R[ref_l]);
        uint64_t total = 0;
        for (int s = 0; s < NSTEP; s++)
            total += R[ref_l][s].calls;
        ck_assert_uint_eq(ly->total.calls, total);
    }
    /* the step table */
    size_t n = 0;
    for (int s = 0; s < NSTEP; s++) {
        if (!calls_per_step[s]) continue;
        const mpt_step *st = mpt_model_step(m, n++);
        ck_assert_ptr_nonnull(st);
        ck_assert_int_eq(st->step, s);
        ck_assert_uint_eq(st->gemms, calls_per_step[s]);
    }
    ck_assert_uint_eq(mpt_model_nsteps(m), n);
    mpt_model_free(m);
}
END_TEST

/* Layers that appear late shrink the columns the budget allows: the grid coarsens then too. */
START_TEST(test_model_late_layers_coarsen)
{
    mpt_model_opts opts = {.cell_budget_bytes = 64 * sizeof(mpt_cell), .min_columns = 4};
    mpt_model *m = mpt_model_new(&opts);
    int a = mpt_model_add_source(m, "a", NULL);
    char name[32];
    for (uint32_t l = 0; l < 8; l++) {
        snprintf(name, sizeof name, "L%u", l);
        feed_string(m, a, l + 1, name);
    }
    uint64_t seq = 1;
    for (int64_t step = 3; step < 40; step++) { /* one layer: 37 columns fit */
        mpt_trace_record r = {.type = MPT_REC_GEMM};
        r.u.gemm = (mpt_trace_gemm){.seq = seq++, .step = step, .layer = 1};
        feed(m, a, &r);
    }
    ck_assert_int_eq(mpt_model_col_width(m), 1);
    for (uint32_t l = 2; l <= 8; l++) { /* seven more layers at the last step */
        mpt_trace_record r = {.type = MPT_REC_GEMM};
        r.u.gemm = (mpt_trace_gemm){.seq = seq++, .step = 39, .layer = l};
        feed(m, a, &r);
        ck_assert_uint_le((size_t)mpt_model_ncols(m) * mpt_model_nlayers(m), 64);
    }
    ck_assert_int_eq(mpt_model_col_width(m), 8);
    ck_assert_int_eq(mpt_model_col_first_step(m, 0) % 8, 0); /* columns are aligned */
    /* layer 0 still has one call per step, in the right columns */
    uint64_t sum = 0;
    for (uint32_t c = 0; c < mpt_model_ncols(m); c++) {
        int64_t first = mpt_model_col_first_step(m, c), want = 0;
        for (int64_t s = first; s < first + 8; s++)
            want += s >= 3 && s < 40;
        MPT_CHECK(mpt_model_cell(m, 0, c)->calls == want, "col %u: %u want %lld", c,
                  mpt_model_cell(m, 0, c)->calls, (long long)want);
        sum += mpt_model_cell(m, 0, c)->calls;
    }
    ck_assert_uint_eq(sum, 37);
    ck_assert_uint_eq(mpt_model_cell(m, 7, (uint32_t)mpt_model_col_of_step(m, 39))->calls, 1);
    mpt_model_free(m);
}
END_TEST

START_TEST(test_model_steps_and_scalars)
{
    mpt_model *m = mpt_model_new(NULL);
    int a = mpt_model_add_source(m, "a", NULL), b = mpt_model_add_source(m, "b", NULL);
    const char *keys[] = {"loss", "scale", "skip", "grad_norm", "lr", "other"};
    for (int s = 0; s < 2; s++)
        for (uint32_t k = 0; k < 6; k++)
            feed_string(m, s ? b : a, k + 1, keys[k]);
    struct {
        int src;
        int64_t step;
        uint32_t key, flags;
        double v;
    } in[] = {
        {0, 5, 1, 0, 2.5},
        {1, 5, 1, 0, 9.9}, /* the first report of a loss wins */
        {1, 3, 2, 0, 1024},
        {0, 3, 2, 0, 2048}, /* steps may arrive out of order */
        {0, 3, 3, 0, 0},
        {1, 3, 3, 0, 1},                   /* a skip on any rank counts */
        {0, 4, 3, MPT_SCALAR_INFERRED, 1}, /* mptrace's own inference, kept apart */
        {0, 4, 4, 0, 0.75},
        {0, 4, 5, 0, 1e-3},
        {0, 4, 6, 0, 42},  /* unknown keys are ignored */
        {0, -1, 1, 0, 7},  /* no step: nowhere to put it */
        {0, 6, 1, 0, NAN}, /* a NaN loss is a reported loss */
    };
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        mpt_trace_record r = {.type = MPT_REC_SCALAR};
        r.u.scalar = (mpt_trace_scalar){
            .step = in[i].step, .key = in[i].key, .flags = in[i].flags, .value = in[i].v};
        feed(m, in[i].src ? b : a, &r);
    }
    ck_assert_uint_eq(mpt_model_nsteps(m), 4);
    const mpt_step *s3 = mpt_model_find_step(m, 3), *s4 = mpt_model_find_step(m, 4);
    const mpt_step *s5 = mpt_model_find_step(m, 5), *s6 = mpt_model_find_step(m, 6);
    ck_assert(s3 && s4 && s5 && s6);
    ck_assert(mpt_model_step(m, 0) == s3);
    ck_assert(s5->loss == 2.5 && (s5->has & MPT_STEP_HAS_LOSS));
    ck_assert(s3->scale == 1024 && s3->skip == 1 && s3->skip_inferred == -1);
    ck_assert(s4->skip == -1 && s4->skip_inferred == 1);
    ck_assert(s4->grad_norm == 0.75 && s4->lr == 1e-3 && !(s4->has & MPT_STEP_HAS_LOSS));
    ck_assert((s6->has & MPT_STEP_HAS_LOSS) && isnan(s6->loss));
    ck_assert_ptr_null(mpt_model_find_step(m, -1));
    mpt_model_free(m);
}
END_TEST

START_TEST(test_model_strings_and_orphans)
{
    mpt_model *m = mpt_model_new(NULL);
    int a = mpt_model_add_source(m, "a", NULL);
    feed_string(m, a, 1, "fwd/first");
    feed_string(m, a, 1, "fwd/second"); /* a redefinition: the first wins */
    mpt_trace_record r = {.type = MPT_REC_GEMM};
    r.u.gemm = (mpt_trace_gemm){.seq = 1, .step = 0, .layer = 1};
    feed(m, a, &r);
    r.u.gemm = (mpt_trace_gemm){.seq = 2, .step = 0, .layer = 0, .ordinal = 7}; /* no layer */
    feed(m, a, &r);
    r.u.gemm = (mpt_trace_gemm){.seq = 3, .step = 0, .layer = 99, .ordinal = 8}; /* undefined id */
    feed(m, a, &r);
    ck_assert_uint_eq(mpt_model_nlayers(m), 3);
    ck_assert_str_eq(mpt_model_layer(m, 0)->name, "fwd/first");
    ck_assert_str_eq(mpt_model_layer(m, 1)->name, "op#7");
    ck_assert_str_eq(mpt_model_layer(m, 2)->name, "op#8");
    ck_assert_uint_eq(mpt_model_find_layer(m, "op#8"), 2);
    ck_assert_uint_eq(mpt_model_find_layer(m, "nope"), MPT_NO_LAYER);
    /* a TENSOR for a GEMM never seen, and one for a GEMM pushed out of the ring */
    mpt_trace_record t = {.type = MPT_REC_TENSOR};
    t.u.tensor.info = (mpt_trace_tensor_info){.seq = 77, .role = MPT_ROLE_D};
    t.u.tensor.cheap.count = 1;
    feed(m, a, &t);
    for (uint64_t q = 4; q < 4 + 5000; q++) {
        r.u.gemm = (mpt_trace_gemm){.seq = q, .step = 1, .layer = 1};
        feed(m, a, &r);
    }
    t.u.tensor.info.seq = 1;
    feed(m, a, &t);
    ck_assert_uint_eq(mpt_model_get_totals(m)->orphans, 2);
    ck_assert_uint_eq(mpt_model_layer(m, 0)->total.out_count, 0);
    mpt_model_free(m);
}
END_TEST

/* ---- cells ----------------------------------------------------------------------------------- */

START_TEST(test_cell_status_and_headroom)
{
    struct {
        mpt_cell c;
        unsigned want;
        double headroom; /* NaN: expect NaN */
    } cases[] = {
        {{0}, 0, NAN},                                                        /* empty */
        {{.calls = 1, .dtype_out = MPT_DT_F16, .out_absmax = 1}, 0, 65504.0}, /* log2 below */
        {{.calls = 1, .dtype_out = MPT_DT_F16, .out_absmax = 30000},
         MPT_CELL_HEADROOM,
         65504 / 30000.0},
        {{.calls = 1, .dtype_out = MPT_DT_F16, .out_absmax = 1, .out_nan = 2},
         MPT_CELL_NONFINITE,
         65504.0},
        {{.calls = 1, .dtype_out = MPT_DT_F16, .out_inf = 1, .out_absmax = 60000},
         MPT_CELL_NONFINITE,
         1.0 /* 0 bits */},
        {{.calls = 1, .dtype_out = MPT_DT_F16, .out_absmax = 1, .in_inf = 1},
         MPT_CELL_INPUT_NF,
         65504.0},
        {{.calls = 1,
          .dtype_out = MPT_DT_F16,
          .out_inf = 1,
          .prec_samples = 64,
          .prec_overflow = 2,
          .prec_max_exact = 65504.0 * 8},
         MPT_CELL_NONFINITE | MPT_CELL_OVERFLOW,
         1.0 / 8},
        {{.calls = 1,
          .dtype_out = MPT_DT_F16,
          .out_absmax = 1,
          .prec_samples = 100,
          .prec_underflow = 5},
         MPT_CELL_UNDERFLOW,
         65504.0},
        {{.calls = 1,
          .dtype_out = MPT_DT_F16,
          .out_absmax = 1,
          .prec_samples = 101,
          .prec_underflow = 5},
         0,
         65504.0}, /* below 5% */
        /* precision: the mean relative error against mpt_precision_limit (fp16: 2^-9) */
        {{.calls = 1,
          .dtype_out = MPT_DT_F16,
          .out_absmax = 1,
          .prec_rel_samples = 64,
          .prec_sum_rel = 64 * 0x1p-9},
         MPT_CELL_PRECISION,
         65504.0},
        {{.calls = 1,
          .dtype_out = MPT_DT_F16,
          .out_absmax = 1,
          .prec_rel_samples = 64,
          .prec_sum_rel = 64 * 0x1.fp-10,
          .prec_calls = 1,
          .prec_max_ulp = 40},
         0,
         65504.0}, /* a large max alone (cancellation) is not precision loss */
        {{.calls = 1,
          .dtype_out = MPT_DT_F32,
          .out_absmax = 1,
          .prec_rel_samples = 10,
          .prec_sum_rel = 10 * 0x1p-15},
         MPT_CELL_PRECISION,
         3.4028234663852886e38},
        {{.calls = 1,
          .dtype_out = MPT_DT_F32,
          .out_absmax = 1,
          .prec_rel_samples = 10,
          .prec_sum_rel = 10 * 0x1p-16},
         0,
         3.4028234663852886e38}, /* fp32 accumulation noise */
        {{.calls = 1,
          .dtype_out = MPT_DT_F32,
          .out_absmax = 1,
          .full_count = 10,
          .narrow = {[MPT_NARROW_FP16] = {.flush = 1}}},
         MPT_CELL_FLUSH_FP16,
         3.4028234663852886e38},
        {{.calls = 1,
          .dtype_out = MPT_DT_F16,
          .out_absmax = 1,
          .full_count = 10,
          .narrow = {[MPT_NARROW_FP16] = {.flush = 5}}},
         0,
         65504.0}, /* an fp16 tensor does not "flush in fp16" */
        {{.calls = 1, .dtype_out = MPT_DT_UNKNOWN, .out_absmax = 1}, 0, NAN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned st = mpt_cell_status(&cases[i].c);
        MPT_CHECK(st == cases[i].want, "case %zu: status %#x want %#x", i, st, cases[i].want);
        double h = mpt_cell_headroom_bits(&cases[i].c);
        if (isnan(cases[i].headroom))
            MPT_CHECK(isnan(h), "case %zu: headroom %g want NaN", i, h);
        else
            MPT_CHECK(fabs(h - log2(cases[i].headroom)) < 1e-12, "case %zu: headroom %g want %g", i,
                      h, log2(cases[i].headroom));
    }
}
END_TEST

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(test_precision_limit)
{
    ck_assert(mpt_precision_limit(MPT_DT_F16) == 0x1p-9);
    ck_assert(mpt_precision_limit(MPT_DT_BF16) == 0x1p-6);
    ck_assert(mpt_precision_limit(MPT_DT_F32) == 0x1p-15);
    ck_assert(mpt_precision_limit(MPT_DT_F64) == 0x1p-15);
    ck_assert(mpt_precision_limit(MPT_DT_UNKNOWN) == 0x1p-15);
}
END_TEST

/* The error histogram's bins against floor((log2(v) + 64) * 8) in long double: random errors
 * over the whole range, powers of two, both sides of every edge 2^(k/8), the clamps. */
static long clamp_bin(long b)
{
    return b < 0 ? 0 : b >= MPT_ERR_BINS ? MPT_ERR_BINS - 1 : b;
}

static long err_bin_ref(double v)
{
    return clamp_bin(
        (long)floorl((log2l((long double)v) - MPT_ERR_MIN_LOG2) * MPT_ERR_BINS_PER_BINADE));
}

START_TEST(test_err_bins)
{
    uint64_t st = 0xe22;
    for (int i = 0; i < 200000; i++) {
        double v = ldexp(1 + rnd(&st), (int)(mpt_test_rand(&st) % 200) - 100);
        MPT_CHECK(mpt_err_bin(v) == err_bin_ref(v), "v=%a: bin %d, want %ld", v, mpt_err_bin(v),
                  err_bin_ref(v));
    }
    for (int e = -70; e < 20; e++)
        for (int k = 0; k < 8; k++) {
            double edge = ldexp(exp2(k / 8.0), e), below = nextafter(edge, 0);
            long u = (long)(e - MPT_ERR_MIN_LOG2) * 8 + k;
            long want = clamp_bin(u), lower = clamp_bin(u - 1);
            /* at the edge: that bin (exp2 rounds up or down; the nearest double is the edge) */
            MPT_CHECK(mpt_err_bin(edge) == want || (k && mpt_err_bin(edge) == want - 1),
                      "2^(%d + %d/8): bin %d, want %ld", e, k, mpt_err_bin(edge), want);
            if (k == 0) MPT_CHECK(mpt_err_bin(edge) == want, "2^%d", e);
            MPT_CHECK(mpt_err_bin(below) == lower, "just below 2^(%d + %d/8): bin %d, want %ld", e,
                      k, mpt_err_bin(below), lower);
        }
    ck_assert_int_eq(mpt_err_bin(5e-324), 0);
    ck_assert_int_eq(mpt_err_bin(1e300), MPT_ERR_BINS - 1);
    ck_assert_int_eq(mpt_err_bin(INFINITY), MPT_ERR_BINS - 1);
}
END_TEST

START_TEST(test_layer_err_quantile)
{
    uint64_t rng = 5;
    for (int iter = 0; iter < 200; iter++) {
        mpt_model *m = mpt_model_new(NULL);
        int a = mpt_model_add_source(m, "a", NULL);
        feed_string(m, a, 1, "L");
        int n = 1 + (int)(mpt_test_rand(&rng) % 60);
        double v[64];
        for (int i = 0; i < n; i++) {
            mpt_trace_record r = {.type = MPT_REC_GEMM};
            r.u.gemm = (mpt_trace_gemm){.seq = (uint64_t)i + 1, .step = 0, .layer = 1};
            feed(m, a, &r);
            /* errors over many binades, some exactly 0 */
            v[i] = mpt_test_rand(&rng) % 10 == 0 ? 0 : exp2(rnd(&rng) * 60 - 50);
            mpt_trace_record p = {.type = MPT_REC_PRECISION};
            p.u.precision = (mpt_trace_precision){.seq = (uint64_t)i + 1,
                                                  .samples = 8,
                                                  .max_rel_err = v[i],
                                                  .mean_rel_err = v[i],
                                                  .max_ulp_err = v[i],
                                                  .mean_ulp_err = v[i]};
            feed(m, a, &p);
        }
        qsort(v, (size_t)n, sizeof *v, cmp_d);
        const mpt_layer *l = mpt_model_layer(m, 0);
        static const double qs[] = {0, 0.1, 0.5, 0.9, 1};
        for (size_t k = 0; k < 5; k++) {
            int rank = (int)ceil(qs[k] * n);
            if (rank < 1) rank = 1;
            double want = v[rank - 1];
            for (int ulp = 0; ulp < 2; ulp++) {
                double got = mpt_layer_err_quantile(l, ulp, qs[k]);
                /* bin middles may lie above the data: never above the exact max */
                MPT_CHECK(got <= v[n - 1], "q%g: %a above the max %a", qs[k], got, v[n - 1]);
                if (want == 0)
                    MPT_CHECK(got == 0, "q%g: %g want 0", qs[k], got);
                else
                    MPT_CHECK(got / want <= exp2(1.0 / MPT_ERR_BINS_PER_BINADE) &&
                                  want / got <= exp2(1.0 / MPT_ERR_BINS_PER_BINADE),
                              "q%g: %g want %g (n %d)", qs[k], got, want, n);
            }
        }
        mpt_model_free(m);
    }
}
END_TEST

/* ---- what ran between GEMMs ------------------------------------------------------------------ */

#define BW_GEMMS 1500
#define BW_NAMES 12 /* more than MPT_BETWEEN_MAX: some intervals overflow the list */

/* The reference: every event of an interval, uncapped, in order of first occurrence. */
typedef struct bw_ref {
    uint32_t layer;
    int64_t step;
    uint64_t seq;
    int n, total;
    int type[2 * BW_NAMES], count[2 * BW_NAMES], nf[2 * BW_NAMES];
    const char *name[2 * BW_NAMES];
    uint64_t bytes[2 * BW_NAMES];
} bw_ref;

static bw_ref BW[BW_GEMMS];

static void bw_expect(const mpt_between *b, const bw_ref *r, const char *what)
{
    MPT_CHECK(b->seq == r->seq && b->step == r->step, "%s: seq %llu step %lld want %llu %lld", what,
              (unsigned long long)b->seq, (long long)b->step, (unsigned long long)r->seq,
              (long long)r->step);
    int listed = r->n < MPT_BETWEEN_MAX ? r->n : MPT_BETWEEN_MAX, unlisted = 0;
    for (int i = listed; i < r->n; i++)
        unlisted += r->count[i];
    MPT_CHECK(b->n == (uint32_t)listed && b->total == (uint64_t)r->total &&
                  b->unlisted == (uint64_t)unlisted && b->complete,
              "%s (seq %llu): n %u total %llu unlisted %llu complete %d, want %d %d %d", what,
              (unsigned long long)r->seq, b->n, (unsigned long long)b->total,
              (unsigned long long)b->unlisted, b->complete, listed, r->total, unlisted);
    for (int i = 0; i < listed; i++) {
        const mpt_between_ent *e = &b->ent[i];
        MPT_CHECK((int)e->type == r->type[i] && strcmp(e->name, r->name[i]) == 0 &&
                      e->count == (uint32_t)r->count[i] && e->bytes == r->bytes[i] &&
                      e->nonfinite == r->nf[i],
                  "%s (seq %llu) entry %d: %s x%u %llu B nf %d, want %s x%d %llu B nf %d", what,
                  (unsigned long long)r->seq, i, e->name, e->count, (unsigned long long)e->bytes,
                  e->nonfinite, r->name[i], r->count[i], (unsigned long long)r->bytes[i], r->nf[i]);
    }
}

/* Random kernels and copies between GEMMs of random layers: for every layer the model's last
 * interval, and for every step still in the event window the layer's last call of that step,
 * must equal the reference exactly (names deduplicated, counts, bytes, copies whose data held
 * NaN, the cap with its unlisted count); older steps answer with the last call. */
START_TEST(test_model_layer_between)
{
    static const char *const layers[3] = {"fwd/a", "fwd/b", "bwd/a"};
    char kname[BW_NAMES][16]; /* "k" + any int: room for -O1 format-truncation checks */
    mpt_model *m = mpt_model_new(NULL);
    int a = mpt_model_add_source(m, "a", NULL);
    for (int i = 0; i < 3; i++)
        feed_string(m, a, (uint32_t)i + 1, layers[i]);
    for (int i = 0; i < BW_NAMES; i++) {
        snprintf(kname[i], sizeof kname[i], "k%d", i);
        feed_string(m, a, 100 + (uint32_t)i, kname[i]);
    }
    uint64_t rng = 11, seq = 0;
    int64_t step = 0;
    mpt_between b;
    ck_assert_int_eq(mpt_model_layer_between(m, 0, MPT_NO_STEP, &b), -1);
    for (int g = 0; g < BW_GEMMS; g++) {
        bw_ref *r = &BW[g];
        memset(r, 0, sizeof *r);
        /* mostly short intervals, some long and wide, some empty */
        int nev = (int)(mpt_test_rand(&rng) % 4 == 0 ? mpt_test_rand(&rng) % 40
                                                     : mpt_test_rand(&rng) % 4);
        for (int e = 0; e < nev; e++) {
            mpt_trace_record rec;
            int mem = mpt_test_rand(&rng) % 4 == 0, i;
            const char *name;
            uint64_t bytes = 0;
            if (mem) {
                mpt_mem_kind kind = (mpt_mem_kind)(1 + mpt_test_rand(&rng) % 6);
                bytes = mpt_test_rand(&rng) % 5000;
                rec = (mpt_trace_record){.type = MPT_REC_MEMORY};
                rec.u.memory =
                    (mpt_trace_memory){.seq = ++seq, .step = step, .kind = kind, .bytes = bytes};
                name = mpt_mem_kind_name(kind);
            } else {
                int k = (int)(mpt_test_rand(&rng) % BW_NAMES);
                rec = (mpt_trace_record){.type = MPT_REC_KERNEL};
                rec.u.kernel =
                    (mpt_trace_kernel){.seq = ++seq, .step = step, .name = 100 + (uint32_t)k};
                name = kname[k];
            }
            feed(m, a, &rec);
            int type = mem ? MPT_EV_MEMORY : MPT_EV_KERNEL;
            for (i = 0; i < r->n; i++)
                if (r->type[i] == type && strcmp(r->name[i], name) == 0) break;
            if (i == r->n) {
                r->type[i] = type;
                r->name[i] = name;
                r->n++;
            }
            r->count[i]++;
            r->bytes[i] += bytes;
            r->total++;
            if (mem && mpt_test_rand(&rng) % 5 == 0) { /* the copied data held NaN */
                mpt_trace_record t = {.type = MPT_REC_TENSOR};
                t.u.tensor.info = (mpt_trace_tensor_info){.seq = seq, .role = MPT_ROLE_D};
                t.u.tensor.cheap.count = 4;
                t.u.tensor.cheap.nan = 1;
                feed(m, a, &t);
                r->nf[i] = 1;
            }
        }
        if (mpt_test_rand(&rng) % 8 == 0) step++;
        r->layer = (uint32_t)(mpt_test_rand(&rng) % 3);
        r->step = step;
        r->seq = ++seq;
        mpt_trace_record rec = {.type = MPT_REC_GEMM};
        rec.u.gemm = (mpt_trace_gemm){.seq = seq, .step = step, .layer = r->layer + 1};
        feed(m, a, &rec);
    }
    ck_assert_uint_gt(seq, 2 * 4096); /* the window has moved on */
    for (uint32_t l = 0; l < 3; l++) {
        uint32_t li = mpt_model_find_layer(m, layers[l]);
        int last = -1, prev_last = -1;
        for (int g = 0; g < BW_GEMMS; g++)
            if (BW[g].layer == l) last = g;
        ck_assert_int_ge(last, 1);
        for (int g = 0; g < last; g++)
            if (BW[g].layer == l && BW[g].step != BW[last].step) prev_last = g;
        bw_expect(&mpt_model_layer(m, li)->between, &BW[last], "layer's last call");
        ck_assert_int_eq(mpt_model_layer_between(m, li, MPT_NO_STEP, &b), 0);
        bw_expect(&b, &BW[last], "no step");
        ck_assert_uint_eq(b.prev_layer, mpt_model_find_layer(m, layers[BW[last - 1].layer]));
        ck_assert_uint_eq(b.prev_seq, BW[last - 1].seq);
        /* each step of the layer: exact while in the window, else the last call */
        for (int g = 0; g <= prev_last; g++) {
            if (BW[g].layer != l) continue;
            int lg = g; /* the layer's last call in that step */
            for (int h = g + 1; h < BW_GEMMS && BW[h].step == BW[g].step; h++)
                if (BW[h].layer == l) lg = h;
            uint64_t lo = lg ? BW[lg - 1].seq + 1 : 1;
            int in_window = seq - lo < 4096 - 1;
            int rc = mpt_model_layer_between(m, li, BW[g].step, &b);
            if (in_window) {
                ck_assert_int_eq(rc, 1);
                bw_expect(&b, &BW[lg], "step in the window");
            } else if (seq - BW[lg].seq >= 4096) { /* the GEMM itself has left the ring */
                ck_assert_int_eq(rc, 0);
                bw_expect(&b, &BW[last], "step out of the window");
            }
        }
    }
    ck_assert_int_eq(mpt_model_layer_between(m, 99, 0, &b), -1);
    mpt_model_free(m);
}
END_TEST

START_TEST(test_phase_names)
{
    static const struct {
        const char *name;
        mpt_phase want;
    } cases[] = {
        {"fwd/blk0/attn/qkv", MPT_PHASE_FWD},
        {"bwd/lm_head", MPT_PHASE_BWD},
        {"forward", MPT_PHASE_FWD},
        {"backward/x", MPT_PHASE_BWD},
        {"grad/x", MPT_PHASE_BWD},
        {"model/layers.0/backward", MPT_PHASE_BWD},
        {"fwdx/y", MPT_PHASE_OTHER},
        {"op#3", MPT_PHASE_OTHER},
        {"gpt2_forward/matmul_forward", MPT_PHASE_FWD},
        {"", MPT_PHASE_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        MPT_CHECK(mpt_phase_of(cases[i].name) == cases[i].want, "%s", cases[i].name);
    ck_assert_str_eq(mpt_phase_name(MPT_PHASE_BWD), "bwd");
}
END_TEST

/* Records with arbitrary field values (the reader guarantees structure, not sense): unknown
 * enum values, huge and negative steps, undefined and enormous string ids, NaN/Inf everywhere.
 * Nothing may crash (ASan/UBSan run this too), and the reports must still be valid. */
static int64_t wild_step(uint64_t *st)
{
    static const int64_t odd[] = {-5, -1, INT64_MAX, INT64_C(1) << 40, INT64_C(1) << 45, 0};
    uint64_t r = mpt_test_rand(st);
    return r % 10 == 0 ? odd[r / 10 % 6] : (int64_t)(r % 3000);
}

static double wild_double(uint64_t *st)
{
    static const double odd[] = {NAN, INFINITY, -INFINITY, -0.0, 1e308, 5e-324, -1, 0};
    uint64_t r = mpt_test_rand(st);
    return r % 4 == 0 ? odd[r / 4 % 8] : rnd(st) * 100;
}

START_TEST(test_model_random_records)
{
    mpt_model_opts opts = {.cell_budget_bytes = 32 * 1024, .min_columns = 8};
    mpt_model *m = mpt_model_new(&opts);
    int src[2] = {mpt_model_add_source(m, "x", NULL), mpt_model_add_source(m, "y", NULL)};
    uint64_t rng = 77;
    char text[64];
    for (int i = 0; i < 30000; i++) {
        mpt_trace_record r;
        memset(&r, 0, sizeof r);
        uint64_t x = mpt_test_rand(&rng);
        r.type = (mpt_record_type)(x % 13);
        uint32_t id = mpt_test_rand(&rng) % 50 == 0 ? (uint32_t)mpt_test_rand(&rng)
                                                    : (uint32_t)(mpt_test_rand(&rng) % 300);
        uint64_t seq = mpt_test_rand(&rng) % 6000;
        switch (r.type) {
        case MPT_REC_STRING:
            for (int k = 0; k < 63; k++)
                text[k] = (char)(1 + mpt_test_rand(&rng) % 255);
            text[63] = '\0';
            r.u.string =
                (mpt_trace_string){id ? id : 1, (uint32_t)(mpt_test_rand(&rng) % 64), text};
            break;
        case MPT_REC_GEMM:
            r.u.gemm = (mpt_trace_gemm){.seq = seq,
                                        .step = wild_step(&rng),
                                        .layer = id,
                                        .api = id / 2,
                                        .ordinal = (uint32_t)x,
                                        .compute = (mpt_compute_type)(x % 40),
                                        .dtype_a = (mpt_dtype)(x % 300),
                                        .dtype_d = (mpt_dtype)(x % 9),
                                        .level = (mpt_stat_level)(x % 4),
                                        .skip = (mpt_skip_reason)(x % 9),
                                        .flags = (uint32_t)x};
            break;
        case MPT_REC_TENSOR:
            r.u.tensor.info = (mpt_trace_tensor_info){
                .seq = seq, .role = (mpt_tensor_role)(x % 9), .dtype = (mpt_dtype)(x % 10)};
            r.u.tensor.level = (mpt_stat_level)(x % 3);
            r.u.tensor.cheap = (mpt_cheap_stats){x % 1000, x % 3, x % 2, wild_double(&rng)};
            mpt_stats_init(&r.u.tensor.full);
            r.u.tensor.full.count = x % 1000;
            r.u.tensor.full.absmax = wild_double(&rng);
            r.u.tensor.full.sumsq = wild_double(&rng);
            r.u.tensor.full.hist[x % MPT_HIST_BUCKETS] = x % 7;
            break;
        case MPT_REC_PRECISION:
            r.u.precision = (mpt_trace_precision){seq,
                                                  (mpt_dtype)(x % 12),
                                                  x % 100,
                                                  wild_double(&rng),
                                                  wild_double(&rng),
                                                  wild_double(&rng),
                                                  wild_double(&rng),
                                                  x % 5,
                                                  x % 3,
                                                  wild_double(&rng)};
            break;
        case MPT_REC_STEP:
            r.u.step = (mpt_trace_step){wild_step(&rng), x, 1, (mpt_step_phase)(x % 3)};
            break;
        case MPT_REC_SCALAR:
            r.u.scalar = (mpt_trace_scalar){wild_step(&rng), x, id, (uint32_t)x, wild_double(&rng)};
            break;
        case MPT_REC_KERNEL:
            r.u.kernel = (mpt_trace_kernel){.seq = seq,
                                            .ts_ns = x,
                                            .step = wild_step(&rng),
                                            .tid = (uint32_t)(x % 5),
                                            .name = id};
            break;
        case MPT_REC_MEMORY:
            r.u.memory = (mpt_trace_memory){.seq = seq,
                                            .step = wild_step(&rng),
                                            .tid = (uint32_t)(x % 5),
                                            .kind = (mpt_mem_kind)(x % 12),
                                            .bytes = x};
            break;
        case MPT_REC_RANGE:
            r.u.range = (mpt_trace_range){
                .ts_ns = x, .tid = (uint32_t)(x % 5), .kind = (mpt_range_kind)(x % 7), .name = id};
            break;
        case MPT_REC_MESSAGE:
            r.u.message = (mpt_trace_message){.level = (mpt_msg_level)(x % 4),
                                              .len = x % 2 ? 3 : 0,
                                              .text = x % 2 ? "abc" : NULL};
            break;
        case MPT_REC_END:
            r.u.end = (mpt_trace_end){x, (mpt_end_how)(x % 9), (int32_t)x, x};
            break;
        default:
            break; /* an unknown type */
        }
        int rc = mpt_model_feed(m, src[x % 2], &r);
        MPT_CHECK(rc == 0 || rc == -1, "feed returned %d", rc);
    }
    mpt_analysis *a = mpt_analyze(m, NULL);
    ck_assert_ptr_nonnull(a);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(mpt_report_json(f, m, a, 0), 0);
    fclose(f);
    char err[256];
    jv *v = jv_parse(buf, len, err, sizeof err);
    MPT_CHECK(v != NULL, "report JSON: %s", err);
    jv_free(v);
    free(buf);
    f = open_memstream(&buf, &len);
    ck_assert_int_eq(mpt_report_text(f, m, a, NULL), 0);
    fclose(f);
    free(buf);
    mpt_diff *d = mpt_diff_compute(m, a, m, a, NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->nonly[0] + d->nonly[1], 0);
    f = open_memstream(&buf, &len);
    ck_assert_int_eq(mpt_diff_json(f, d, 1), 0);
    fclose(f);
    free(buf);
    mpt_diff_free(d);
    mpt_analysis_free(a);
    mpt_model_free(m);
}
END_TEST

extern Suite *suite_analyzer_model(void);
Suite *suite_analyzer_model(void)
{
    Suite *s = suite_create("analyzer_model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 60); /* the random-record test under ASan */
    tcase_add_loop_test(tc, test_model_grid_against_reference, 0,
                        sizeof grid_cases / sizeof grid_cases[0]);
    tcase_add_test(tc, test_model_late_layers_coarsen);
    tcase_add_test(tc, test_model_steps_and_scalars);
    tcase_add_test(tc, test_model_strings_and_orphans);
    tcase_add_test(tc, test_cell_status_and_headroom);
    tcase_add_test(tc, test_precision_limit);
    tcase_add_test(tc, test_err_bins);
    tcase_add_test(tc, test_layer_err_quantile);
    tcase_add_test(tc, test_model_layer_between);
    tcase_add_test(tc, test_phase_names);
    tcase_add_test(tc, test_model_random_records);
    suite_add_tcase(s, tc);
    return s;
}
