/*
 * Synthetic training runs for the TUI's tests and benchmark (see test_tui_synth.h).
 *
 * What one step writes, in order: STEP begin, RANGE push "train_step N", then per GEMM layer
 * a RANGE push of its path, `kernels` KERNEL records, the GEMM, its output's TENSOR (cheap, or
 * full with the inputs A and B and a PRECISION record on full-statistics steps), a RANGE pop;
 * then the loss, scale and skip SCALARs, the pop of the step range and STEP end (which the
 * writer flushes). From the spike on, every GEMM of the spike step gets full statistics, as the
 * interposer escalates once its cheap pass sees a non-finite value.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor_stats.h"
#include "core/trace_writer.h"
#include "tests/unit/test_tui_synth.h"

#define SYNTH_TID  4242u
#define SYNTH_VALS 256 /* elements behind a full-statistics tensor (16 x 16) */

struct mpt_tui_synth_run {
    mpt_tui_synth cfg;
    mpt_trace_writer *w;
    int next_step; /* offset from first_step of the next step to write */
    uint64_t rng;
    uint64_t ts; /* synthetic clock, ns */
    uint32_t key_loss, key_scale, key_skip, api_gemm, api_lt;
    uint32_t *layer_id; /* string id of each layer name */
    uint32_t *kernel_id;
    int nl;
};

void mpt_tui_synth_defaults(mpt_tui_synth *s)
{
    memset(s, 0, sizeof *s);
    s->blocks = 2;
    s->steps = 40;
    s->spike_step = 23;
    s->spike_block = 1;
    s->bump_step = -1;
    s->full_every = 5;
    s->ranges = 1;
    s->dtype = MPT_DT_F16;
    s->scaler = 1;
    s->seed = 1;
}

int mpt_tui_synth_nlayers(const mpt_tui_synth *s)
{
    return 2 * (4 * s->blocks + 1);
}

static const char *const block_ops[4] = {"attn/qkv", "attn/proj", "mlp/up", "mlp/down"};

const char *mpt_tui_synth_layer_name(const mpt_tui_synth *s, int i, char *buf, size_t n)
{
    int per = 4 * s->blocks + 1;
    if (i == 4 * s->blocks) {
        snprintf(buf, n, "fwd/lm_head");
    } else if (i == per) {
        snprintf(buf, n, "bwd/lm_head");
    } else if (i < per) {
        snprintf(buf, n, "fwd/blk%d/%s", i / 4, block_ops[i % 4]);
    } else {
        int j = i - per - 1; /* backward: blocks and ops in reverse */
        snprintf(buf, n, "bwd/blk%d/%s", s->blocks - 1 - j / 4, block_ops[3 - j % 4]);
    }
    return buf;
}

const char *mpt_tui_synth_spike_layer(const mpt_tui_synth *s, char *buf, size_t n)
{
    snprintf(buf, n, "fwd/blk%d/mlp/up", s->spike_block);
    return buf;
}

static int spike_index(const mpt_tui_synth *s)
{
    return 4 * s->spike_block + 2;
}

static int is_full_step(const mpt_tui_synth *s, int step)
{
    return s->full_every > 0 && step % s->full_every == 0;
}

uint64_t mpt_tui_synth_step_tensors(const mpt_tui_synth *s, int step)
{
    uint64_t nl = (uint64_t)mpt_tui_synth_nlayers(s);
    if (is_full_step(s, step)) return 3 * nl;
    if (step == s->spike_step) return nl + 2 * (nl - (uint64_t)spike_index(s));
    return nl;
}

/* ---- values ---------------------------------------------------------------------------------- */

static uint64_t rnd(uint64_t *st)
{
    uint64_t z = (*st += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double uni(uint64_t *st) /* [0, 1) */
{
    return (double)(rnd(st) >> 11) * 0x1p-53;
}

static double gauss(uint64_t *st)
{
    double u = uni(st), v = uni(st);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* Binary exponent of a layer's typical output magnitude: activations around 2^2..2^4,
 * gradients (already multiplied by the loss scale) around 2^5..2^8. */
static int layer_exp(int i, int nl)
{
    return i < nl / 2 ? 2 + i % 3 : 5 + i % 4;
}

/* Full statistics of SYNTH_VALS values ~ N(0, 2^e), with `inf` of them overflowed to Inf and
 * `nan` of them NaN. */
static void full_stats(mpt_tui_synth_run *r, mpt_dtype dt, int e, int inf, int nan,
                       mpt_stats *out)
{
    uint8_t buf[SYNTH_VALS * 8];
    for (int i = 0; i < SYNTH_VALS; i++) {
        float v = (float)(gauss(&r->rng) * ldexp(1.0, e));
        if (i < inf) v = 1e6f; /* overflows fp16, bf16 stays finite */
        if (i >= inf && i < inf + nan) v = NAN;
        mpt_dtype_store(dt, buf, (size_t)i, v);
    }
    mpt_stats_init(out);
    mpt_stats_add(out, dt, buf, SYNTH_VALS);
}

static int write_tensor(mpt_tui_synth_run *r, uint64_t seq, mpt_tensor_role role, int full, int e,
                        int inf, int nan)
{
    mpt_trace_tensor_info info = {.seq = seq, .role = role, .dtype = r->cfg.dtype, .batch = 1};
    if (full) {
        info.rows = info.cols = 16;
        mpt_stats st;
        full_stats(r, r->cfg.dtype, e, inf, nan, &st);
        return mpt_trace_writer_tensor_full(r->w, &info, &st);
    }
    info.rows = 64;
    info.cols = 256;
    mpt_cheap_stats c = {.count = 64 * 256, .nan = (uint64_t)nan, .inf = (uint64_t)inf};
    c.absmax = inf ? 65504.0 : ldexp(2.5 + uni(&r->rng), e);
    return mpt_trace_writer_tensor_cheap(r->w, &info, &c);
}

/* ---- writing --------------------------------------------------------------------------------- */

static int range(mpt_tui_synth_run *r, mpt_range_kind k, uint32_t name)
{
    mpt_trace_range rg = {.ts_ns = r->ts, .tid = SYNTH_TID, .kind = k, .name = name};
    return mpt_trace_writer_range(r->w, &rg);
}

static int write_gemm(mpt_tui_synth_run *r, int step, int i)
{
    const mpt_tui_synth *s = &r->cfg;
    int spike = step == s->spike_step, si = spike_index(s);
    int full = is_full_step(s, step) || (spike && i >= si);
    int inf = spike && i == si ? 37 : 0;
    int nan = spike && i > si ? 11 : 0;
    int e = layer_exp(i, r->nl);
    r->ts += 10000;
    if (s->ranges && range(r, MPT_RANGE_PUSH, r->layer_id[i]) != 0) return -1;
    for (int k = 0; k < s->kernels; k++) {
        mpt_trace_kernel kr = {.seq = mpt_trace_writer_next_seq(r->w), .ts_ns = r->ts,
                               .step = step, .tid = SYNTH_TID, .name = r->kernel_id[k % 3],
                               .grid = {64, 1, 1}, .block = {256, 1, 1}};
        if (mpt_trace_writer_kernel(r->w, &kr) != 0) return -1;
    }
    int lt = i % 4 == 2;
    mpt_trace_gemm g = {
        .seq = mpt_trace_writer_next_seq(r->w), .ts_ns = r->ts, .step = step, .tid = SYNTH_TID,
        .ordinal = (uint32_t)i, .layer = r->layer_id[i], .api = lt ? r->api_lt : r->api_gemm,
        .compute_raw = 68, .epilogue_raw = lt ? 129 : 0, .flags = lt ? MPT_GEMM_HAS_BIAS : 0,
        .transa = 1, .compute = MPT_COMPUTE_32F, .epilogue = lt ? MPT_EPI_BIAS : MPT_EPI_NONE,
        .dtype_a = s->dtype, .dtype_b = s->dtype, .dtype_c = s->dtype, .dtype_d = s->dtype,
        .dtype_bias = lt ? s->dtype : MPT_DT_UNKNOWN,
        .level = full ? MPT_LEVEL_FULL : MPT_LEVEL_CHEAP, .m = 256, .n = 64, .k = 128,
        .batch = 1, .lda = 128, .ldb = 128, .ldc = 256, .ldd = 256, .alpha = 1.0, .beta = 0.0};
    if (mpt_trace_writer_gemm(r->w, &g) != 0) return -1;
    if (full) {
        if (write_tensor(r, g.seq, MPT_ROLE_A, 1, e - 1, 0, nan ? 3 : 0) != 0) return -1;
        if (write_tensor(r, g.seq, MPT_ROLE_B, 1, -3, 0, 0) != 0) return -1;
    }
    if (write_tensor(r, g.seq, MPT_ROLE_D, full, e, inf, nan) != 0) return -1;
    if (full && !nan) {
        mpt_trace_precision p = {.seq = g.seq, .dtype = s->dtype, .samples = 64};
        p.max_rel_err = ldexp(1.0, -12) * (1.0 + uni(&r->rng));
        p.mean_rel_err = p.max_rel_err / 3;
        p.max_ulp_err = 0.5;
        p.mean_ulp_err = 0.25;
        p.max_exact_abs = ldexp(3.0, e);
        if (inf) {
            p.overflow = 3;
            p.max_exact_abs = 171000.0;
        }
        if (mpt_trace_writer_precision(r->w, &p) != 0) return -1;
    }
    return s->ranges ? range(r, MPT_RANGE_POP, 0) : 0;
}

static int write_scalar(mpt_tui_synth_run *r, int step, uint32_t key, double v)
{
    mpt_trace_scalar sc = {.step = step, .ts_ns = r->ts, .key = key, .value = v};
    return mpt_trace_writer_scalar(r->w, &sc);
}

static int write_step(mpt_tui_synth_run *r, int step)
{
    const mpt_tui_synth *s = &r->cfg;
    char name[64];
    r->ts += 1000000;
    mpt_trace_step b = {.step = step, .ts_ns = r->ts, .tid = SYNTH_TID, .phase = MPT_STEP_BEGIN};
    if (mpt_trace_writer_step(r->w, &b) != 0) return -1;
    snprintf(name, sizeof name, "train_step %d", step);
    if (s->ranges && range(r, MPT_RANGE_PUSH, mpt_trace_writer_intern(r->w, name)) != 0)
        return -1;
    for (int i = 0; i < r->nl; i++)
        if (write_gemm(r, step, i) != 0) return -1;
    double loss = 1.5 + 2.5 * exp(-(step - s->first_step) / 200.0) + 0.02 * gauss(&r->rng);
    if (step == s->bump_step) loss *= 3;
    if (step == s->spike_step) loss = NAN;
    if (write_scalar(r, step, r->key_loss, loss) != 0) return -1;
    if (s->scaler) {
        double scale = s->spike_step >= 0 && step > s->spike_step ? 32768.0 : 65536.0;
        if (write_scalar(r, step, r->key_scale, scale) != 0) return -1;
        if (write_scalar(r, step, r->key_skip, step == s->spike_step) != 0) return -1;
    }
    if (s->ranges && range(r, MPT_RANGE_POP, 0) != 0) return -1;
    mpt_trace_step e = {.step = step, .ts_ns = r->ts, .tid = SYNTH_TID, .phase = MPT_STEP_END};
    return mpt_trace_writer_step(r->w, &e);
}

mpt_tui_synth_run *mpt_tui_synth_open(const mpt_tui_synth *s, const char *path, char *err,
                                      size_t errlen)
{
    mpt_tui_synth_run *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->cfg = *s;
    r->rng = s->seed;
    r->nl = mpt_tui_synth_nlayers(s);
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    static const char cmd[] = "mpt-train\0--precision\0" "16-mixed\0--inject\0spike";
    h.cmdline = cmd;
    h.cmdline_len = sizeof cmd;
    h.hostname = "synth";
    if (s->pid) h.pid = s->pid;
    r->ts = h.mono_origin_ns;
    r->w = mpt_trace_writer_open(path, &h, err, errlen);
    r->layer_id = calloc((size_t)r->nl, sizeof *r->layer_id);
    r->kernel_id = calloc(3, sizeof *r->kernel_id);
    if (!r->w || !r->layer_id || !r->kernel_id) {
        if (r->w) mpt_trace_writer_close(r->w, NULL, 0);
        else if (!err[0]) snprintf(err, errlen, "out of memory");
        free(r->layer_id);
        free(r->kernel_id);
        free(r);
        return NULL;
    }
    char name[64];
    for (int i = 0; i < r->nl; i++)
        r->layer_id[i] = mpt_trace_writer_intern(r->w, mpt_tui_synth_layer_name(s, i, name,
                                                                                sizeof name));
    static const char *const kn[3] = {"layernorm_forward", "gelu_forward", "residual_add"};
    for (int k = 0; k < 3; k++)
        r->kernel_id[k] = mpt_trace_writer_intern(r->w, kn[k]);
    r->key_loss = mpt_trace_writer_intern(r->w, "loss");
    r->key_scale = mpt_trace_writer_intern(r->w, "scale");
    r->key_skip = mpt_trace_writer_intern(r->w, "skip");
    r->api_gemm = mpt_trace_writer_intern(r->w, "cublasGemmEx");
    r->api_lt = mpt_trace_writer_intern(r->w, "cublasLtMatmul");
    return r;
}

int mpt_tui_synth_steps(mpt_tui_synth_run *r, int n)
{
    for (int i = 0; i < n; i++)
        if (write_step(r, r->cfg.first_step + r->next_step++) != 0) return -1;
    return mpt_trace_writer_flush(r->w);
}

int mpt_tui_synth_close(mpt_tui_synth_run *r, int status, char *err, size_t errlen)
{
    int rc = mpt_trace_writer_end(r->w, MPT_END_EXIT, status);
    if (mpt_trace_writer_close(r->w, err, errlen) != 0) rc = -1;
    free(r->layer_id);
    free(r->kernel_id);
    free(r);
    return rc;
}

int mpt_tui_synth_write(const mpt_tui_synth *s, const char *path, char *err, size_t errlen)
{
    mpt_tui_synth_run *r = mpt_tui_synth_open(s, path, err, errlen);
    if (!r) return -1;
    if (mpt_tui_synth_steps(r, s->steps) != 0) {
        const char *e = mpt_trace_writer_error(r->w);
        snprintf(err, errlen, "%s", e ? e : "write failed");
        mpt_tui_synth_close(r, 1, NULL, 0);
        return -1;
    }
    return mpt_tui_synth_close(r, 0, err, errlen);
}
