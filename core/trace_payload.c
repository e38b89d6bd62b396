/*
 * Trace codec, part 2: every record type's payload, encoded and decoded.
 *
 * Each encoder writes its fields in the order of its table in docs/trace-format.md, and each
 * decoder reads them back in the same order, so a field added to one and not the other shows up
 * at once in the round-trip tests. Decoders accept payloads longer than the v1.0 size (a newer
 * minor's trailing fields) and reject shorter ones; variable parts (strings, histogram buckets)
 * are checked against the payload length before a byte of them is read.
 *
 * Pure and allocation-free; the encoders are async-signal-safe.
 */
#include "core/trace_format.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "core/trace_cursor.h"

/* v1.0 payload sizes (the fixed part, for variable-length records). */
enum {
    SZ_STRING = 8,
    SZ_GEMM = 192,
    SZ_TENSOR_CHEAP = 72,
    SZ_TENSOR_FULL_FIXED = 148, /* then narrow_n * 24 and bucket_n * 10 */
    SZ_NARROW = 24,
    SZ_BUCKET = 10,
    SZ_PRECISION = 80,
    SZ_STEP = 24,
    SZ_SCALAR = 32,
    SZ_KERNEL = 72,
    SZ_MEMORY = 64,
    SZ_RANGE = 32,
    SZ_MESSAGE = 20,
    SZ_END = 24,
};

/* ---- sizes ----------------------------------------------------------------------------------- */

static size_t hist_nonzero(const mpt_stats *s)
{
    size_t n = 0;
    for (int b = 0; b < MPT_HIST_BUCKETS; b++)
        n += s->hist[b] != 0;
    return n;
}

size_t mpt_trace_tensor_payload_size(mpt_stat_level level, const mpt_stats *full)
{
    if (level != MPT_LEVEL_FULL) return SZ_TENSOR_CHEAP;
    return SZ_TENSOR_FULL_FIXED + MPT_NARROW_COUNT * SZ_NARROW + hist_nonzero(full) * SZ_BUCKET;
}

size_t mpt_trace_payload_size(const mpt_trace_record *r)
{
    switch (r->type) {
    case MPT_REC_STRING:
        return SZ_STRING + (size_t)r->u.string.len;
    case MPT_REC_GEMM:
        return SZ_GEMM;
    case MPT_REC_TENSOR:
        return mpt_trace_tensor_payload_size(r->u.tensor.level, &r->u.tensor.full);
    case MPT_REC_PRECISION:
        return SZ_PRECISION;
    case MPT_REC_STEP:
        return SZ_STEP;
    case MPT_REC_SCALAR:
        return SZ_SCALAR;
    case MPT_REC_KERNEL:
        return SZ_KERNEL;
    case MPT_REC_MEMORY:
        return SZ_MEMORY;
    case MPT_REC_RANGE:
        return SZ_RANGE;
    case MPT_REC_MESSAGE:
        return SZ_MESSAGE + (size_t)r->u.message.len;
    case MPT_REC_END:
        return SZ_END;
    default:
        return 0;
    }
}

/* ---- encoders -------------------------------------------------------------------------------- */

static void enc_gemm(wcur *c, const mpt_trace_gemm *g)
{
    w64(c, g->seq);
    w64(c, g->ts_ns);
    w64(c, g->stream);
    wi64(c, g->step);
    w32(c, g->tid);
    w32(c, g->ordinal);
    w32(c, g->layer);
    w32(c, g->callsite);
    w32(c, g->api);
    w32(c, g->compute_raw);
    w32(c, g->epilogue_raw);
    w32(c, g->flags);
    w8(c, g->transa);
    w8(c, g->transb);
    w8(c, (uint8_t)g->compute);
    w8(c, (uint8_t)g->epilogue);
    w8(c, (uint8_t)g->dtype_a);
    w8(c, (uint8_t)g->dtype_b);
    w8(c, (uint8_t)g->dtype_c);
    w8(c, (uint8_t)g->dtype_d);
    w8(c, (uint8_t)g->dtype_bias);
    w8(c, (uint8_t)g->level);
    w8(c, (uint8_t)g->skip);
    w8(c, 0);  /* reserved */
    w32(c, 0); /* reserved */
    wi64(c, g->m);
    wi64(c, g->n);
    wi64(c, g->k);
    wi64(c, g->batch);
    wi64(c, g->lda);
    wi64(c, g->ldb);
    wi64(c, g->ldc);
    wi64(c, g->ldd);
    wi64(c, g->stride_a);
    wi64(c, g->stride_b);
    wi64(c, g->stride_c);
    wi64(c, g->stride_d);
    wf64(c, g->alpha);
    wf64(c, g->beta);
}

void mpt_trace_tensor_payload_encode(const mpt_trace_tensor_info *info, mpt_stat_level level,
                                     const mpt_cheap_stats *cheap, const mpt_stats *full,
                                     uint8_t *out)
{
    int is_full = level == MPT_LEVEL_FULL;
    wcur c = {out};
    w64(&c, info->seq);
    w8(&c, (uint8_t)info->role);
    w8(&c, (uint8_t)info->dtype);
    w8(&c, (uint8_t)level);
    w8(&c, 0);  /* reserved */
    w32(&c, 0); /* flags, reserved */
    wi64(&c, info->rows);
    wi64(&c, info->cols);
    wi64(&c, info->batch);
    /* The cheap prefix: common to both levels, so every reader gets these four. */
    w64(&c, is_full ? full->count : cheap->count);
    w64(&c, is_full ? full->nan : cheap->nan);
    w64(&c, is_full ? full->pinf + full->ninf : cheap->inf);
    wf64(&c, is_full ? full->absmax : cheap->absmax);
    if (!is_full) return;
    w64(&c, full->pinf);
    w64(&c, full->ninf);
    w64(&c, full->zero);
    w64(&c, full->subnormal);
    wf64(&c, full->min);
    wf64(&c, full->max);
    wf64(&c, full->min_nonzero_abs);
    wf64(&c, full->sum);
    wf64(&c, full->sumsq);
    w8(&c, MPT_NARROW_COUNT);
    w8(&c, 0); /* reserved */
    w16(&c, (uint16_t)hist_nonzero(full));
    for (int i = 0; i < MPT_NARROW_COUNT; i++) {
        w64(&c, full->narrow[i].overflow);
        w64(&c, full->narrow[i].subnormal);
        w64(&c, full->narrow[i].flush);
    }
    for (int b = 0; b < MPT_HIST_BUCKETS; b++) {
        if (full->hist[b] == 0) continue;
        w16(&c, (uint16_t)b);
        w64(&c, full->hist[b]);
    }
}

void mpt_trace_payload_encode(const mpt_trace_record *r, uint8_t *out)
{
    wcur c = {out};
    switch (r->type) {
    case MPT_REC_STRING:
        w32(&c, r->u.string.id);
        w32(&c, r->u.string.len);
        wbytes(&c, r->u.string.bytes, r->u.string.len);
        break;
    case MPT_REC_GEMM:
        enc_gemm(&c, &r->u.gemm);
        break;
    case MPT_REC_TENSOR: {
        const mpt_trace_tensor *t = &r->u.tensor;
        mpt_trace_tensor_payload_encode(&t->info, t->level, &t->cheap, &t->full, out);
        break;
    }
    case MPT_REC_PRECISION: {
        const mpt_trace_precision *p = &r->u.precision;
        w64(&c, p->seq);
        w64(&c, p->samples);
        wf64(&c, p->max_rel_err);
        wf64(&c, p->mean_rel_err);
        wf64(&c, p->max_ulp_err);
        wf64(&c, p->mean_ulp_err);
        w64(&c, p->underflow);
        w64(&c, p->overflow);
        wf64(&c, p->max_exact_abs);
        w8(&c, (uint8_t)p->dtype);
        w8(&c, 0);
        w16(&c, 0);
        w32(&c, 0); /* flags, reserved */
        break;
    }
    case MPT_REC_STEP:
        wi64(&c, r->u.step.step);
        w64(&c, r->u.step.ts_ns);
        w32(&c, r->u.step.tid);
        w8(&c, (uint8_t)r->u.step.phase);
        w8(&c, 0);
        w16(&c, 0);
        break;
    case MPT_REC_SCALAR:
        wi64(&c, r->u.scalar.step);
        w64(&c, r->u.scalar.ts_ns);
        w32(&c, r->u.scalar.key);
        w32(&c, r->u.scalar.flags);
        wf64(&c, r->u.scalar.value);
        break;
    case MPT_REC_KERNEL: {
        const mpt_trace_kernel *k = &r->u.kernel;
        w64(&c, k->seq);
        w64(&c, k->ts_ns);
        w64(&c, k->stream);
        wi64(&c, k->step);
        w32(&c, k->tid);
        w32(&c, k->name);
        for (int i = 0; i < 3; i++)
            w32(&c, k->grid[i]);
        for (int i = 0; i < 3; i++)
            w32(&c, k->block[i]);
        w32(&c, k->shared_bytes);
        w32(&c, 0); /* flags, reserved */
        break;
    }
    case MPT_REC_MEMORY: {
        const mpt_trace_memory *m = &r->u.memory;
        w64(&c, m->seq);
        w64(&c, m->ts_ns);
        w64(&c, m->stream);
        wi64(&c, m->step);
        w32(&c, m->tid);
        w8(&c, (uint8_t)m->kind);
        w8(&c, 0);
        w16(&c, m->flags);
        w64(&c, m->dst);
        w64(&c, m->src);
        w64(&c, m->bytes);
        break;
    }
    case MPT_REC_RANGE:
        w64(&c, r->u.range.ts_ns);
        w32(&c, r->u.range.tid);
        w8(&c, (uint8_t)r->u.range.kind);
        w8(&c, 0);
        w16(&c, 0);
        w32(&c, r->u.range.domain);
        w32(&c, r->u.range.name);
        w64(&c, r->u.range.range_id);
        break;
    case MPT_REC_MESSAGE:
        w64(&c, r->u.message.ts_ns);
        w32(&c, r->u.message.tid);
        w8(&c, (uint8_t)r->u.message.level);
        w8(&c, 0);
        w16(&c, 0);
        w32(&c, r->u.message.len);
        wbytes(&c, r->u.message.text, r->u.message.len);
        break;
    case MPT_REC_END:
        w64(&c, r->u.end.ts_ns);
        w8(&c, (uint8_t)r->u.end.how);
        w8(&c, 0);
        w16(&c, 0);
        w32(&c, (uint32_t)r->u.end.status);
        w64(&c, r->u.end.records);
        break;
    default:
        break;
    }
}

/* ---- decoders -------------------------------------------------------------------------------- */

static int too_short(const char *what, size_t len, size_t need, char *err, size_t errlen)
{
    snprintf(err, errlen, "malformed %s record: payload of %zu bytes, at least %zu needed", what,
             len, need);
    return -1;
}

static void dec_gemm(rcur *c, mpt_trace_gemm *g)
{
    g->seq = r64(c);
    g->ts_ns = r64(c);
    g->stream = r64(c);
    g->step = ri64(c);
    g->tid = r32(c);
    g->ordinal = r32(c);
    g->layer = r32(c);
    g->callsite = r32(c);
    g->api = r32(c);
    g->compute_raw = r32(c);
    g->epilogue_raw = r32(c);
    g->flags = r32(c);
    g->transa = r8(c);
    g->transb = r8(c);
    g->compute = (mpt_compute_type)r8(c);
    g->epilogue = (mpt_epilogue)r8(c);
    g->dtype_a = (mpt_dtype)r8(c);
    g->dtype_b = (mpt_dtype)r8(c);
    g->dtype_c = (mpt_dtype)r8(c);
    g->dtype_d = (mpt_dtype)r8(c);
    g->dtype_bias = (mpt_dtype)r8(c);
    g->level = (mpt_stat_level)r8(c);
    g->skip = (mpt_skip_reason)r8(c);
    (void)r8(c);
    (void)r32(c);
    g->m = ri64(c);
    g->n = ri64(c);
    g->k = ri64(c);
    g->batch = ri64(c);
    g->lda = ri64(c);
    g->ldb = ri64(c);
    g->ldc = ri64(c);
    g->ldd = ri64(c);
    g->stride_a = ri64(c);
    g->stride_b = ri64(c);
    g->stride_c = ri64(c);
    g->stride_d = ri64(c);
    g->alpha = rf64(c);
    g->beta = rf64(c);
}

/* The empty summary's fields (mpt_stats_init), histogram aside. */
static void head_init(mpt_trace_stats_head *h)
{
    /* field by field, not memset: this runs for every record, and a 216-byte memset is a
     * `rep stos` whose start-up costs more than the stores */
    h->count = h->nan = h->pinf = h->ninf = h->zero = h->subnormal = 0;
    h->absmax = h->sum = h->sumsq = 0;
    for (int i = 0; i < MPT_NARROW_COUNT; i++)
        h->narrow[i] = (mpt_narrow_counts){0, 0, 0};
    h->min = INFINITY;
    h->max = -INFINITY;
    h->min_nonzero_abs = INFINITY;
}

int mpt_trace_tensor_decode_sparse(const uint8_t *p, size_t len, mpt_trace_tensor_sparse *t,
                                   char *err, size_t errlen)
{
    if (len < SZ_TENSOR_CHEAP) return too_short("TENSOR", len, SZ_TENSOR_CHEAP, err, errlen);
    rcur c = {p};
    memset(t, 0, offsetof(mpt_trace_tensor_sparse, full));
    t->info.seq = r64(&c);
    t->info.role = (mpt_tensor_role)r8(&c);
    t->info.dtype = (mpt_dtype)r8(&c);
    t->level = (mpt_stat_level)r8(&c);
    (void)r8(&c);
    (void)r32(&c);
    t->info.rows = ri64(&c);
    t->info.cols = ri64(&c);
    t->info.batch = ri64(&c);
    t->cheap.count = r64(&c);
    t->cheap.nan = r64(&c);
    t->cheap.inf = r64(&c);
    t->cheap.absmax = rf64(&c);
    mpt_trace_stats_head *s = &t->full;
    t->hist_n = 0;
    t->hist = NULL;
    /* Any level but FULL carries the cheap prefix only (a newer minor's new level included). */
    if (t->level != MPT_LEVEL_FULL) {
        head_init(s);
        return 0;
    }
    /* FULL: every field of s is written below (on success) */

    if (len < SZ_TENSOR_FULL_FIXED)
        return too_short("full TENSOR", len, SZ_TENSOR_FULL_FIXED, err, errlen);
    s->count = t->cheap.count;
    s->nan = t->cheap.nan;
    s->absmax = t->cheap.absmax;
    s->pinf = r64(&c);
    s->ninf = r64(&c);
    s->zero = r64(&c);
    s->subnormal = r64(&c);
    s->min = rf64(&c);
    s->max = rf64(&c);
    s->min_nonzero_abs = rf64(&c);
    s->sum = rf64(&c);
    s->sumsq = rf64(&c);
    size_t narrow_n = r8(&c);
    (void)r8(&c);
    size_t bucket_n = r16(&c);
    if (narrow_n < MPT_NARROW_COUNT) {
        snprintf(err, errlen, "malformed TENSOR record: %zu narrow formats, %d expected", narrow_n,
                 MPT_NARROW_COUNT);
        return -1;
    }
    if (bucket_n > MPT_HIST_BUCKETS) {
        snprintf(err, errlen, "malformed TENSOR record: %zu histogram buckets, at most %d",
                 bucket_n, MPT_HIST_BUCKETS);
        return -1;
    }
    size_t need = SZ_TENSOR_FULL_FIXED + narrow_n * SZ_NARROW + bucket_n * SZ_BUCKET;
    if (len < need) return too_short("full TENSOR", len, need, err, errlen);
    for (size_t i = 0; i < narrow_n; i++) {
        uint64_t o = r64(&c), sub = r64(&c), fl = r64(&c);
        if (i < MPT_NARROW_COUNT) /* formats a newer minor appended are skipped */
            s->narrow[i] = (mpt_narrow_counts){o, sub, fl};
    }
    /* Validate the buckets' order here, once, so that consumers can index with them blindly.
     * Strictly increasing and the last in range means all in range. No branch per bucket: this
     * loop ran for every bucket of every record, and was a third of the decoding thread's time
     * in `mptrace report` with a compare-and-branch per bucket (docs/analyzer.md, "Speed"). */
    unsigned prev = 0, disorder = 0;
    for (size_t i = 0; i < bucket_n; i++) {
        unsigned b = mpt_get_u16(c.p + i * SZ_BUCKET) + 1u; /* 1-based: 0 is "none yet" */
        disorder |= b <= prev;
        prev = b;
    }
    if (disorder || prev > MPT_HIST_BUCKETS) {
        prev = 0;
        for (size_t i = 0; i < bucket_n; i++) { /* the message names the first bad bucket */
            unsigned b = mpt_get_u16(c.p + i * SZ_BUCKET);
            if (b >= MPT_HIST_BUCKETS || b + 1u <= prev) {
                snprintf(err, errlen,
                         "malformed TENSOR record: histogram bucket %u out of range or out of "
                         "order",
                         b);
                return -1;
            }
            prev = b + 1u;
        }
    }
    t->hist_n = (uint32_t)bucket_n;
    t->hist = bucket_n ? c.p : NULL;
    return 0;
}

void mpt_trace_tensor_sparse_to_dense(const mpt_trace_tensor_sparse *t, mpt_trace_tensor *out)
{
    memset(out, 0, offsetof(mpt_trace_tensor, full));
    out->info = t->info;
    out->level = t->level;
    out->cheap = t->cheap;
    mpt_stats *s = &out->full;
    mpt_stats_init(s);
    const mpt_trace_stats_head *h = &t->full;
    s->count = h->count;
    s->nan = h->nan;
    s->pinf = h->pinf;
    s->ninf = h->ninf;
    s->zero = h->zero;
    s->subnormal = h->subnormal;
    s->min = h->min;
    s->max = h->max;
    s->absmax = h->absmax;
    s->min_nonzero_abs = h->min_nonzero_abs;
    s->sum = h->sum;
    s->sumsq = h->sumsq;
    memcpy(s->narrow, h->narrow, sizeof s->narrow);
    for (uint32_t i = 0; i < t->hist_n; i++) {
        const uint8_t *e = t->hist + (size_t)i * SZ_BUCKET;
        s->hist[mpt_get_u16(e)] = mpt_get_u64(e + 2);
    }
}

void mpt_trace_tensor_sparse_merge(mpt_stats *dst, const mpt_trace_tensor_sparse *t)
{
    if (t->level != MPT_LEVEL_FULL) return;
    const mpt_trace_stats_head *h = &t->full;
    dst->count += h->count;
    dst->nan += h->nan;
    dst->pinf += h->pinf;
    dst->ninf += h->ninf;
    dst->zero += h->zero;
    dst->subnormal += h->subnormal;
    if (h->min < dst->min) dst->min = h->min;
    if (h->max > dst->max) dst->max = h->max;
    if (h->absmax > dst->absmax) dst->absmax = h->absmax;
    if (h->min_nonzero_abs < dst->min_nonzero_abs) dst->min_nonzero_abs = h->min_nonzero_abs;
    dst->sum += h->sum;
    dst->sumsq += h->sumsq;
    for (uint32_t i = 0; i < t->hist_n; i++) {
        const uint8_t *e = t->hist + (size_t)i * SZ_BUCKET;
        dst->hist[mpt_get_u16(e)] += mpt_get_u64(e + 2);
    }
    for (int n = 0; n < MPT_NARROW_COUNT; n++) {
        dst->narrow[n].overflow += h->narrow[n].overflow;
        dst->narrow[n].subnormal += h->narrow[n].subnormal;
        dst->narrow[n].flush += h->narrow[n].flush;
    }
}

int mpt_trace_payload_decode(uint16_t type, const uint8_t *p, size_t len, mpt_trace_record *r,
                             char *err, size_t errlen)
{
    static const size_t fixed[MPT_REC_TYPE_COUNT] = {
        [MPT_REC_STRING] = SZ_STRING,
        [MPT_REC_GEMM] = SZ_GEMM,
        [MPT_REC_TENSOR] = SZ_TENSOR_CHEAP,
        [MPT_REC_PRECISION] = SZ_PRECISION,
        [MPT_REC_STEP] = SZ_STEP,
        [MPT_REC_SCALAR] = SZ_SCALAR,
        [MPT_REC_KERNEL] = SZ_KERNEL,
        [MPT_REC_MEMORY] = SZ_MEMORY,
        [MPT_REC_RANGE] = SZ_RANGE,
        [MPT_REC_MESSAGE] = SZ_MESSAGE,
        [MPT_REC_END] = SZ_END,
    };
    if (type == 0 || type >= MPT_REC_TYPE_COUNT) return 0;
    if (len < fixed[type])
        return too_short(mpt_record_type_name(type), len, fixed[type], err, errlen);

    /* Zero the member about to be filled (padding included, so decoded records compare equal
     * with memcmp); not the whole union, which a TENSOR record makes 2 KiB wide. */
    static const size_t member[MPT_REC_TYPE_COUNT] = {
        [MPT_REC_STRING] = sizeof r->u.string, [MPT_REC_GEMM] = sizeof r->u.gemm,
        [MPT_REC_TENSOR] = sizeof r->u.tensor, [MPT_REC_PRECISION] = sizeof r->u.precision,
        [MPT_REC_STEP] = sizeof r->u.step,     [MPT_REC_SCALAR] = sizeof r->u.scalar,
        [MPT_REC_KERNEL] = sizeof r->u.kernel, [MPT_REC_MEMORY] = sizeof r->u.memory,
        [MPT_REC_RANGE] = sizeof r->u.range,   [MPT_REC_MESSAGE] = sizeof r->u.message,
        [MPT_REC_END] = sizeof r->u.end,
    };
    if (type != MPT_REC_TENSOR) memset(&r->u, 0, member[type]);
    rcur c = {p};
    mpt_record_type t = (mpt_record_type)type;
    switch (t) {
    case MPT_REC_STRING: {
        mpt_trace_string *s = &r->u.string;
        s->id = r32(&c);
        s->len = r32(&c);
        if (s->len > len - SZ_STRING) {
            snprintf(err, errlen, "malformed STRING record: %u bytes of text in a %zu-byte payload",
                     s->len, len);
            return -1;
        }
        if (s->id == 0) {
            snprintf(err, errlen, "malformed STRING record: id 0 is reserved");
            return -1;
        }
        s->bytes = (const char *)c.p;
        break;
    }
    case MPT_REC_GEMM:
        dec_gemm(&c, &r->u.gemm);
        break;
    case MPT_REC_TENSOR: {
        /* Through the sparse decoder, so that the two can never disagree; the scratch's
         * histogram points into p and is copied out at once. */
        mpt_trace_tensor_sparse sp;
        if (mpt_trace_tensor_decode_sparse(p, len, &sp, err, errlen) < 0) return -1;
        mpt_trace_tensor_sparse_to_dense(&sp, &r->u.tensor);
        break;
    }
    case MPT_REC_PRECISION: {
        mpt_trace_precision *q = &r->u.precision;
        q->seq = r64(&c);
        q->samples = r64(&c);
        q->max_rel_err = rf64(&c);
        q->mean_rel_err = rf64(&c);
        q->max_ulp_err = rf64(&c);
        q->mean_ulp_err = rf64(&c);
        q->underflow = r64(&c);
        q->overflow = r64(&c);
        q->max_exact_abs = rf64(&c);
        q->dtype = (mpt_dtype)r8(&c);
        break;
    }
    case MPT_REC_STEP:
        r->u.step.step = ri64(&c);
        r->u.step.ts_ns = r64(&c);
        r->u.step.tid = r32(&c);
        r->u.step.phase = (mpt_step_phase)r8(&c);
        break;
    case MPT_REC_SCALAR:
        r->u.scalar.step = ri64(&c);
        r->u.scalar.ts_ns = r64(&c);
        r->u.scalar.key = r32(&c);
        r->u.scalar.flags = r32(&c);
        r->u.scalar.value = rf64(&c);
        break;
    case MPT_REC_KERNEL: {
        mpt_trace_kernel *k = &r->u.kernel;
        k->seq = r64(&c);
        k->ts_ns = r64(&c);
        k->stream = r64(&c);
        k->step = ri64(&c);
        k->tid = r32(&c);
        k->name = r32(&c);
        for (int i = 0; i < 3; i++)
            k->grid[i] = r32(&c);
        for (int i = 0; i < 3; i++)
            k->block[i] = r32(&c);
        k->shared_bytes = r32(&c);
        break;
    }
    case MPT_REC_MEMORY: {
        mpt_trace_memory *m = &r->u.memory;
        m->seq = r64(&c);
        m->ts_ns = r64(&c);
        m->stream = r64(&c);
        m->step = ri64(&c);
        m->tid = r32(&c);
        m->kind = (mpt_mem_kind)r8(&c);
        (void)r8(&c);
        m->flags = r16(&c);
        m->dst = r64(&c);
        m->src = r64(&c);
        m->bytes = r64(&c);
        break;
    }
    case MPT_REC_RANGE:
        r->u.range.ts_ns = r64(&c);
        r->u.range.tid = r32(&c);
        r->u.range.kind = (mpt_range_kind)r8(&c);
        (void)r8(&c);
        (void)r16(&c);
        r->u.range.domain = r32(&c);
        r->u.range.name = r32(&c);
        r->u.range.range_id = r64(&c);
        break;
    case MPT_REC_MESSAGE: {
        mpt_trace_message *m = &r->u.message;
        m->ts_ns = r64(&c);
        m->tid = r32(&c);
        m->level = (mpt_msg_level)r8(&c);
        (void)r8(&c);
        (void)r16(&c);
        m->len = r32(&c);
        if (m->len > len - SZ_MESSAGE) {
            snprintf(err, errlen,
                     "malformed MESSAGE record: %u bytes of text in a %zu-byte payload", m->len,
                     len);
            return -1;
        }
        m->text = (const char *)c.p;
        break;
    }
    case MPT_REC_END:
        r->u.end.ts_ns = r64(&c);
        r->u.end.how = (mpt_end_how)r8(&c);
        (void)r8(&c);
        (void)r16(&c);
        r->u.end.status = (int32_t)r32(&c);
        r->u.end.records = r64(&c);
        break;
    case MPT_REC_TYPE_COUNT:
        return 0;
    }
    r->type = t;
    r->sparse = 0;
    return 1;
}
