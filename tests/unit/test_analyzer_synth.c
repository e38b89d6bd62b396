/*
 * Synthetic traces for the analyzer's tests (see test_analyzer_synth.h). No suite here: the
 * generator is shared by the test_analyzer_* suites.
 *
 * One step, in issue order: STEP begin and the "train_step N" range; an H2D copy of the batch;
 * forward GEMMs per block (attn/qkv, attn/scores, attn/ctx, attn/proj, mlp/up, mlp/down) with a
 * kernel or two between them (layernorm, softmax, gelu), the LM head; backward in reverse, two
 * GEMMs per layer (input and weight gradients) under the same name; the loss/scale/skip marks;
 * STEP end. Each GEMM: its range pushes, GEMM, TENSOR D (cheap, or full on full steps and
 * injected steps, with A and B), PRECISION on full steps, the pops.
 */
#include "tests/unit/test_analyzer_synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/trace_writer.h"

static const char *const fwd_ops[] = {"attn/qkv",  "attn/scores", "attn/ctx",
                                      "attn/proj", "mlp/up",      "mlp/down"};
static const double fwd_absmax[] = {4, 30, 3, 5, 6, 8};
#define NOPS 6

void syn_defaults(syn_opts *o)
{
    memset(o, 0, sizeof *o);
    o->steps = 40;
    o->blocks = 2;
    o->dtype = MPT_DT_F16;
    o->compute = MPT_COMPUTE_32F;
    o->scaler = 1;
    o->full_every = 5;
    o->kernels = 1;
    o->ranges = 1;
    o->rank = -1;
    o->seed = 1;
    o->overflow_step = o->nan_step = o->memcpy_nan_step = o->spike_step = -1;
    o->loss_nan_from = -1;
    o->inj_block = 1;
    o->ulp_err = 0.5;
}

int syn_nlayers(const syn_opts *o)
{
    return 2 * (o->blocks * NOPS + 1);
}

const char *syn_layer_name(const syn_opts *o, int i, char *buf, size_t n)
{
    int half = o->blocks * NOPS + 1;
    if (i < half) {
        if (i == half - 1)
            snprintf(buf, n, "fwd/lm_head");
        else
            snprintf(buf, n, "fwd/blk%d/%s", i / NOPS, fwd_ops[i % NOPS]);
    } else {
        int j = i - half;
        if (j == 0)
            snprintf(buf, n, "bwd/lm_head");
        else {
            j--;
            int blk = o->blocks - 1 - j / NOPS;
            snprintf(buf, n, "bwd/blk%d/%s", blk, fwd_ops[NOPS - 1 - j % NOPS]);
        }
    }
    return buf;
}

double syn_loss(int step)
{
    /* a learning curve with deterministic noise of about +-1% */
    double noise = 0.01 * sin(step * 12.9898) * cos(step * 78.233);
    return 1.5 + 1.7 * exp(-step / 15.0) + noise;
}

typedef struct gen {
    const syn_opts *o;
    mpt_trace_writer *w;
    uint64_t ts;
    uint32_t tid;
    int step, ordinal;
    double scale;
    int poisoned; /* NaN flows through the rest of the step */
    uint32_t k_layernorm, k_softmax, k_gelu, k_inject, api_ex, api_batched, api_lt, key_loss,
        key_scale, key_skip, key_lr;
} gen;

static uint64_t now(gen *g)
{
    return g->ts += 1000;
}

static int range(gen *g, mpt_range_kind kind, const char *name)
{
    if (!g->o->ranges) return 0;
    mpt_trace_range r = {.ts_ns = now(g), .tid = g->tid, .kind = kind};
    if (name) r.name = mpt_trace_writer_intern(g->w, name);
    return mpt_trace_writer_range(g->w, &r);
}

/* Pushes (or pops) each component of a path. */
static int path_ranges(gen *g, const char *path, int push)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    int n = 1;
    for (char *p = buf; *p; p++)
        if (*p == '/') n++;
    if (!push) {
        for (int i = 0; i < n; i++)
            if (range(g, MPT_RANGE_POP, NULL) != 0) return -1;
        return 0;
    }
    for (char *s = strtok(buf, "/"); s; s = strtok(NULL, "/"))
        if (range(g, MPT_RANGE_PUSH, s) != 0) return -1;
    return 0;
}

static int kernel(gen *g, uint32_t name, const char *path)
{
    if (!g->o->kernels) return 0;
    if (path && path_ranges(g, path, 1) != 0) return -1;
    mpt_trace_kernel k = {.seq = mpt_trace_writer_next_seq(g->w),
                          .ts_ns = now(g),
                          .step = g->step,
                          .tid = g->tid,
                          .name = name,
                          .grid = {64, 1, 1},
                          .block = {256, 1, 1}};
    if (mpt_trace_writer_kernel(g->w, &k) != 0) return -1;
    return path ? path_ranges(g, path, 0) : 0;
}

/* Full statistics of `count` values with magnitudes up to absmax, plus nan/inf. */
static void fake_stats(mpt_stats *s, mpt_dtype dt, uint64_t count, double absmax, uint64_t nan,
                       uint64_t inf, double underflow)
{
    mpt_stats_init(s);
    s->count = count;
    s->nan = nan;
    s->pinf = inf;
    uint64_t fin = count - nan - inf;
    s->min = -absmax;
    s->max = absmax;
    s->absmax = absmax;
    s->min_nonzero_abs = absmax / 4096;
    s->sumsq = (double)fin * absmax * absmax / 9;
    int e = (int)floor(log2(absmax));
    uint64_t left = fin;
    for (int k = 0; k < 12 && left; k++) {
        uint64_t c = k == 11 ? left : fin / 12;
        s->hist[mpt_hist_bucket_of_exp(e - k)] += c;
        left -= c;
    }
    s->hist[MPT_HIST_NAN] = nan;
    s->hist[MPT_HIST_INF] = inf;
    uint64_t under = (uint64_t)(underflow * (double)fin);
    if (dt == MPT_DT_F16) s->subnormal = under;
    s->narrow[MPT_NARROW_FP16].subnormal = under;
    s->narrow[MPT_NARROW_FP16].flush = under / 2;
    if (absmax > 65504) s->narrow[MPT_NARROW_FP16].overflow = fin / 100;
}

static int tensor(gen *g, uint64_t seq, mpt_tensor_role role, int full, uint64_t count,
                  double absmax, uint64_t nan, uint64_t inf, double underflow)
{
    mpt_trace_tensor_info ti = {.seq = seq,
                                .role = role,
                                .dtype = g->o->dtype,
                                .rows = 64,
                                .cols = (int64_t)(count / 64),
                                .batch = 1};
    if (full) {
        mpt_stats s;
        fake_stats(&s, g->o->dtype, count, absmax, nan, inf, underflow);
        return mpt_trace_writer_tensor_full(g->w, &ti, &s);
    }
    mpt_cheap_stats c = {.count = count, .nan = nan, .inf = inf, .absmax = absmax};
    return mpt_trace_writer_tensor_cheap(g->w, &ti, &c);
}

static int gemm(gen *g, const char *path, double absmax, int bwd, int op)
{
    const syn_opts *o = g->o;
    int full = o->full_every > 0 && g->step % o->full_every == 0;
    int ovf = g->step == o->overflow_step && !bwd && op == 1 && strstr(path, "blk") &&
              atoi(strstr(path, "blk") + 3) == o->inj_block;
    int nan_in =
        g->step == o->nan_step && !bwd && op == 5 && atoi(strstr(path, "blk") + 3) == o->inj_block;
    int spike_in = g->step == o->spike_step && !bwd && op == 0 && strstr(path, "blk") &&
                   atoi(strstr(path, "blk") + 3) == o->inj_block;
    int copy_in = g->step == o->memcpy_nan_step && !bwd && op == 0 && strstr(path, "blk0/");
    if (ovf || nan_in || copy_in || g->poisoned) full = 1;
    if (!o->no_layer_names && path_ranges(g, path, 1) != 0) return -1;
    mpt_trace_gemm gm = {0};
    gm.seq = mpt_trace_writer_next_seq(g->w);
    gm.ts_ns = now(g);
    gm.step = g->step;
    gm.tid = g->tid;
    gm.ordinal = (uint32_t)g->ordinal++;
    gm.layer = o->no_layer_names ? 0 : mpt_trace_writer_intern(g->w, path);
    gm.api = op == 1 || op == 2 ? g->api_batched : op == 4 ? g->api_lt : g->api_ex;
    gm.compute = o->compute;
    gm.epilogue = op == 4 && !bwd ? MPT_EPI_BIAS : MPT_EPI_NONE;
    gm.dtype_a = gm.dtype_b = gm.dtype_c = gm.dtype_d = o->dtype;
    gm.dtype_bias = MPT_DT_UNKNOWN;
    gm.level = full ? MPT_LEVEL_FULL : MPT_LEVEL_CHEAP;
    gm.m = 64;
    gm.n = 64;
    gm.k = 16;
    gm.batch = op == 1 || op == 2 ? 8 : 1;
    gm.alpha = 1;
    if (o->compute == MPT_COMPUTE_32F_FAST_TF32) gm.flags |= MPT_GEMM_TF32_MATH;
    if (mpt_trace_writer_gemm(g->w, &gm) != 0) return -1;
    uint64_t n = 4096;
    double in_abs = spike_in ? 1000 * absmax : absmax;
    uint64_t a_nan = g->poisoned ? 64 : nan_in ? 1 : 0;
    uint64_t b_nan = copy_in ? 3 : 0;
    if (full) {
        if (tensor(g, gm.seq, MPT_ROLE_A, 1, n, in_abs, a_nan, 0, 0) != 0 ||
            tensor(g, gm.seq, MPT_ROLE_B, 1, n, 0.05, b_nan, 0, 0) != 0)
            return -1;
    }
    double out_abs = spike_in ? 1000 * absmax : absmax;
    uint64_t d_nan = g->poisoned || nan_in || copy_in ? 64 : 0, d_inf = ovf ? 37 : 0;
    if (ovf) out_abs = 60000;
    double uf = bwd ? o->underflow : 0;
    if (tensor(g, gm.seq, MPT_ROLE_D, full, n, out_abs, d_nan, d_inf, uf) != 0) return -1;
    if (full) {
        const mpt_dtype_info *di = mpt_dtype_get_info(o->dtype);
        double eps = di ? di->epsilon : 1e-7;
        mpt_trace_precision p = {.seq = gm.seq, .dtype = o->dtype, .samples = 64};
        p.max_rel_err = o->ulp_err * eps;
        p.mean_rel_err = p.max_rel_err / 2;
        p.max_ulp_err = o->ulp_err;
        p.mean_ulp_err = o->ulp_err / 2;
        p.underflow = (uint64_t)(uf * 64 + 0.5);
        p.max_exact_abs = ovf ? 1000.0 * 65504 : out_abs;
        p.overflow = ovf ? 3 : 0;
        if (d_nan && !ovf) p.max_rel_err = p.mean_rel_err = p.max_ulp_err = p.mean_ulp_err = NAN;
        if (mpt_trace_writer_precision(g->w, &p) != 0) return -1;
    }
    if (ovf || nan_in || copy_in) g->poisoned = 1;
    return o->no_layer_names ? 0 : path_ranges(g, path, 0);
}

static int scalar(gen *g, uint32_t key, double v)
{
    mpt_trace_scalar s = {.step = g->step, .ts_ns = now(g), .key = key, .value = v};
    return mpt_trace_writer_scalar(g->w, &s);
}

static int one_step(gen *g)
{
    const syn_opts *o = g->o;
    char path[96], rname[32];
    g->ordinal = 0;
    g->poisoned = 0;
    mpt_trace_step sb = {.step = g->step, .ts_ns = now(g), .tid = g->tid, .phase = MPT_STEP_BEGIN};
    if (mpt_trace_writer_step(g->w, &sb) != 0) return -1;
    snprintf(rname, sizeof rname, "train_step %d", g->step);
    if (range(g, MPT_RANGE_PUSH, rname) != 0) return -1;
    if (o->kernels) {
        mpt_trace_memory mm = {.seq = mpt_trace_writer_next_seq(g->w),
                               .ts_ns = now(g),
                               .step = g->step,
                               .tid = g->tid,
                               .kind = MPT_MEM_H2D,
                               .dst = 0x7f0000001000ull,
                               .src = 0x1000,
                               .bytes = 4096};
        if (mpt_trace_writer_memory(g->w, &mm) != 0) return -1;
        if (g->step == o->memcpy_nan_step) {
            mpt_trace_tensor_info ti = {.seq = mm.seq,
                                        .role = MPT_ROLE_MEMCPY,
                                        .dtype = MPT_DT_F32,
                                        .rows = 1024,
                                        .cols = 1,
                                        .batch = 1};
            mpt_cheap_stats c = {.count = 1024, .nan = 3, .absmax = 1};
            if (mpt_trace_writer_tensor_cheap(g->w, &ti, &c) != 0) return -1;
        }
    }
    for (int b = 0; b < o->blocks; b++)
        for (int op = 0; op < NOPS; op++) {
            snprintf(path, sizeof path, "fwd/blk%d/ln1", b);
            if (op == 0 && kernel(g, g->k_layernorm, path) != 0) return -1;
            snprintf(path, sizeof path, "fwd/blk%d/%s", b, fwd_ops[op]);
            if (gemm(g, path, fwd_absmax[op], 0, op) != 0) return -1;
            if (op == 1 && kernel(g, g->k_softmax, NULL) != 0) return -1;
            if (op == 4) {
                snprintf(path, sizeof path, "fwd/blk%d/mlp/gelu", b);
                if (kernel(g, g->k_gelu, path) != 0) return -1;
                if (g->step == o->nan_step && b == o->inj_block &&
                    kernel(g, g->k_inject, path) != 0)
                    return -1;
            }
        }
    if (gemm(g, "fwd/lm_head", 12, 0, -1) != 0) return -1;
    double gscale = o->scaler ? g->scale / 65536.0 : 1;
    int extra_skip = 0;
    for (int i = 0; i < o->nskip; i++)
        if (o->skip_steps[i] == g->step) extra_skip = 1;
    for (int k = 0; k < 2; k++) {
        if (extra_skip && !o->skip_unobserved && k == 0) g->poisoned = 1; /* an Inf gradient */
        if (gemm(g, "bwd/lm_head", 0.02 * 65536 * gscale / 64, 1, -1) != 0) return -1;
    }
    for (int b = o->blocks - 1; b >= 0; b--)
        for (int op = NOPS - 1; op >= 0; op--)
            for (int k = 0; k < 2; k++) {
                snprintf(path, sizeof path, "bwd/blk%d/%s", b, fwd_ops[op]);
                if (gemm(g, path, 0.01 * 65536 * gscale / 64, 1, op) != 0) return -1;
            }
    int skip = (o->scaler && (g->step == o->overflow_step || g->step == o->nan_step ||
                              g->step == o->memcpy_nan_step)) ||
               extra_skip || o->collapse;
    double loss = syn_loss(g->step);
    if (g->step == o->spike_step) loss *= 3;
    if (skip && !extra_skip && !o->collapse) loss = NAN;
    if (!o->scaler && (g->step == o->overflow_step || g->step == o->nan_step)) loss = NAN;
    if (o->loss_nan_from >= 0 && g->step >= o->loss_nan_from) loss = NAN;
    if (scalar(g, g->key_loss, loss) != 0) return -1;
    if (o->scaler && (scalar(g, g->key_scale, g->scale) != 0 || scalar(g, g->key_skip, skip) != 0))
        return -1;
    if (scalar(g, g->key_lr, 1e-3) != 0) return -1;
    if (skip && o->scaler) g->scale /= 2;
    if (range(g, MPT_RANGE_POP, NULL) != 0) return -1;
    mpt_trace_step se = {.step = g->step, .ts_ns = now(g), .tid = g->tid, .phase = MPT_STEP_END};
    return mpt_trace_writer_step(g->w, &se);
}

int syn_write(const syn_opts *o, const char *path, char *err, size_t errlen)
{
    static const char cmd[] = "mpt-train\0--synthetic\0";
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    h.rank = o->rank;
    h.hostname = "synth";
    h.cmdline = cmd;
    h.cmdline_len = sizeof cmd - 1;
    h.mono_origin_ns = 1000000000ull;
    gen g = {.o = o,
             .ts = 1000000000ull + 1000000ull * (uint64_t)(o->rank + 1),
             .tid = 4242,
             .scale = 65536};
    g.w = mpt_trace_writer_open(path, &h, err, errlen);
    if (!g.w) return -1;
    g.k_layernorm = mpt_trace_writer_intern(g.w, "layernorm_forward_kernel");
    g.k_softmax = mpt_trace_writer_intern(g.w, "softmax_forward_kernel");
    g.k_gelu = mpt_trace_writer_intern(g.w, "gelu_forward_kernel");
    g.k_inject = mpt_trace_writer_intern(g.w, "inject_nan_kernel");
    g.api_ex = mpt_trace_writer_intern(g.w, "cublasGemmEx");
    g.api_batched = mpt_trace_writer_intern(g.w, "cublasGemmStridedBatchedEx");
    g.api_lt = mpt_trace_writer_intern(g.w, "cublasLtMatmul");
    g.key_loss = mpt_trace_writer_intern(g.w, "loss");
    g.key_scale = mpt_trace_writer_intern(g.w, "scale");
    g.key_skip = mpt_trace_writer_intern(g.w, "skip");
    g.key_lr = mpt_trace_writer_intern(g.w, "lr");
    int rc = 0;
    for (int s = 0; s < o->steps && rc == 0; s++) {
        g.step = o->first_step + s;
        rc = one_step(&g);
    }
    if (rc == 0) rc = mpt_trace_writer_end(g.w, MPT_END_EXIT, 0);
    if (rc != 0) snprintf(err, errlen, "%s", mpt_trace_writer_error(g.w));
    char cerr[256];
    if (mpt_trace_writer_close(g.w, cerr, sizeof cerr) != 0 && rc == 0) {
        snprintf(err, errlen, "%s", cerr);
        rc = -1;
    }
    return rc;
}
