/*
 * Test fixtures for the trace suites: see trace_samples.h.
 *
 * Every record is built on a zeroed struct and then assigned field by field, as the decoder
 * does, so whole-struct comparisons see equal padding. Doubles are compared as bits: a NaN
 * payload that comes back different is a bug.
 */
#include "tests/unit/trace_samples.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/trace_writer.h"

static double bits_f64(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

uint64_t mpt_test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* n bytes of the 3-byte character U+20AC, NUL-terminated: cuts at most positions land
 * inside a character. */
static char *euros(size_t n)
{
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)"\xe2\x82\xac"[i % 3];
    s[n] = '\0';
    return s;
}

static mpt_trace_record *add(mpt_test_samples *s, mpt_record_type t)
{
    mpt_trace_record *r = &s->rec[s->n++];
    memset(r, 0, sizeof *r);
    r->type = t;
    return r;
}

static void add_gemms(mpt_test_samples *s)
{
    mpt_trace_gemm *g = &add(s, MPT_REC_GEMM)->u.gemm;
    g->seq = 1, g->ts_ns = 1000000123, g->stream = 0x7f00dead0000u, g->step = 3, g->tid = 4242;
    g->ordinal = 7, g->layer = 2, g->callsite = 4, g->api = 3, g->compute_raw = 68;
    g->epilogue_raw = 0, g->flags = MPT_GEMM_HAS_BIAS | MPT_GEMM_TF32_MATH;
    g->transa = 1, g->transb = 0, g->compute = MPT_COMPUTE_32F, g->epilogue = MPT_EPI_GELU_BIAS;
    g->dtype_a = MPT_DT_F16, g->dtype_b = MPT_DT_F16, g->dtype_c = MPT_DT_F16;
    g->dtype_d = MPT_DT_F16, g->dtype_bias = MPT_DT_F32, g->level = MPT_LEVEL_FULL;
    g->skip = MPT_SKIP_NONE, g->m = 4096, g->n = 1024, g->k = 768, g->batch = 1;
    g->lda = 768, g->ldb = 768, g->ldc = 4096, g->ldd = 4096;
    g->alpha = 1.0, g->beta = 0.0;

    g = &add(s, MPT_REC_GEMM)->u.gemm; /* every field at an extreme */
    g->seq = UINT64_MAX, g->ts_ns = UINT64_MAX, g->stream = UINT64_MAX, g->step = INT64_MIN;
    g->tid = UINT32_MAX, g->ordinal = UINT32_MAX, g->layer = 1, g->callsite = 0, g->api = 9;
    g->compute_raw = UINT32_MAX, g->epilogue_raw = 0xDEADBEEF, g->flags = UINT32_MAX;
    g->transa = 255, g->transb = 2, g->compute = (mpt_compute_type)250;
    g->epilogue = MPT_EPI_OTHER, g->dtype_a = (mpt_dtype)200, g->dtype_b = MPT_DT_UNKNOWN;
    g->dtype_c = MPT_DT_E4M3, g->dtype_d = MPT_DT_E5M2, g->dtype_bias = MPT_DT_BF16;
    g->level = MPT_LEVEL_NONE, g->skip = MPT_SKIP_GRAPH_CAPTURE;
    g->m = INT64_MAX, g->n = INT64_MIN, g->k = -1, g->batch = 0;
    g->lda = INT64_MAX, g->ldb = -7, g->ldc = 0, g->ldd = INT64_MIN;
    g->stride_a = -1, g->stride_b = INT64_MAX, g->stride_c = INT64_MIN, g->stride_d = 12345;
    g->alpha = bits_f64(0x7ff8000000000badu); /* quiet NaN with a payload */
    g->beta = -0.0;
}

static void add_tensors(mpt_test_samples *s)
{
    mpt_trace_tensor *t = &add(s, MPT_REC_TENSOR)->u.tensor;
    t->info = (mpt_trace_tensor_info){1, MPT_ROLE_D, MPT_DT_F16, 4096, 1024, 1};
    t->level = MPT_LEVEL_CHEAP;
    t->cheap = (mpt_cheap_stats){UINT64_MAX, 3, UINT64_MAX - 1, DBL_MAX};
    mpt_stats_init(&t->full);

    /* Full, every histogram bucket and narrow count nonzero: the largest TENSOR record. */
    t = &add(s, MPT_REC_TENSOR)->u.tensor;
    t->info = (mpt_trace_tensor_info){UINT64_MAX, MPT_ROLE_A, MPT_DT_BF16, INT64_MAX, 0, -1};
    t->level = MPT_LEVEL_FULL;
    mpt_stats *f = &t->full;
    mpt_stats_init(f);
    f->count = 1u << 30, f->nan = 17, f->pinf = 1, f->ninf = UINT64_MAX - 1, f->zero = 5;
    f->subnormal = 6, f->min = -DBL_MAX, f->max = 4.9406564584124654e-324, f->absmax = DBL_MAX;
    f->min_nonzero_abs = 4.9406564584124654e-324;
    f->sum = bits_f64(0x7ff0000000000001u); /* signalling-NaN bit pattern */
    f->sumsq = INFINITY;
    for (int b = 0; b < MPT_HIST_BUCKETS; b++)
        f->hist[b] = ((uint64_t)b << 40) + (uint64_t)b + 1;
    f->hist[MPT_HIST_NAN] = UINT64_MAX;
    for (int i = 0; i < MPT_NARROW_COUNT; i++)
        f->narrow[i] = (mpt_narrow_counts){(uint64_t)i + 1, UINT64_MAX - (uint64_t)i, 1u << i};
    t->cheap = (mpt_cheap_stats){f->count, f->nan, f->pinf + f->ninf, f->absmax};

    /* Full summary of zero elements: no buckets at all; min +Inf, max -Inf. */
    t = &add(s, MPT_REC_TENSOR)->u.tensor;
    t->info = (mpt_trace_tensor_info){2, MPT_ROLE_MEMCPY, MPT_DT_F32, 0, 0, 1};
    t->level = MPT_LEVEL_FULL;
    mpt_stats_init(&t->full);
    t->cheap = (mpt_cheap_stats){0, 0, 0, t->full.absmax};

    /* A few sparse buckets, -0 and negative values. */
    t = &add(s, MPT_REC_TENSOR)->u.tensor;
    t->info = (mpt_trace_tensor_info){3, MPT_ROLE_BIAS, MPT_DT_F32, 1, 1024, 1};
    t->level = MPT_LEVEL_FULL;
    f = &t->full;
    mpt_stats_init(f);
    f->count = 1024, f->zero = 1000, f->min = -0.0, f->max = 65504.0, f->absmax = 65504.0;
    f->min_nonzero_abs = 0x1p-24, f->sum = -1.5, f->sumsq = 4.25;
    f->hist[MPT_HIST_ZERO] = 1000, f->hist[mpt_hist_bucket_of_exp(15)] = 20;
    f->hist[mpt_hist_bucket_of_exp(-24)] = 4;
    f->narrow[MPT_NARROW_E4M3].overflow = 20;
    t->cheap = (mpt_cheap_stats){f->count, 0, 0, f->absmax};
}

static void add_small_records(mpt_test_samples *s)
{
    mpt_trace_precision *p = &add(s, MPT_REC_PRECISION)->u.precision;
    p->seq = 1, p->dtype = MPT_DT_F16, p->samples = 64, p->max_rel_err = 0x1p-11;
    p->mean_rel_err = 1e-4, p->max_ulp_err = 1.0, p->mean_ulp_err = 0.25, p->underflow = 2;
    p->overflow = 0, p->max_exact_abs = 70000.0;
    p = &add(s, MPT_REC_PRECISION)->u.precision; /* nothing measurable */
    p->seq = UINT64_MAX, p->dtype = MPT_DT_E4M3, p->samples = 0, p->max_rel_err = NAN;
    p->mean_rel_err = -NAN, p->max_ulp_err = INFINITY, p->mean_ulp_err = -INFINITY;
    p->underflow = UINT64_MAX, p->overflow = UINT64_MAX, p->max_exact_abs = INFINITY;

    mpt_trace_step *st = &add(s, MPT_REC_STEP)->u.step;
    *st = (mpt_trace_step){-1, 5, 1, MPT_STEP_BEGIN};
    st = &add(s, MPT_REC_STEP)->u.step;
    *st = (mpt_trace_step){INT64_MAX, UINT64_MAX, UINT32_MAX, MPT_STEP_END};

    mpt_trace_scalar *sc = &add(s, MPT_REC_SCALAR)->u.scalar;
    *sc = (mpt_trace_scalar){3, 77, 5, 0, bits_f64(0xfff8000000000042u)}; /* loss = -NaN */
    sc = &add(s, MPT_REC_SCALAR)->u.scalar;
    *sc = (mpt_trace_scalar){INT64_MIN, 0, 9, MPT_SCALAR_INFERRED, -INFINITY};
    sc = &add(s, MPT_REC_SCALAR)->u.scalar;
    *sc = (mpt_trace_scalar){-1, 1, 8, UINT32_MAX, 4.9406564584124654e-324};

    mpt_trace_kernel *k = &add(s, MPT_REC_KERNEL)->u.kernel;
    k->seq = 2, k->ts_ns = 99, k->stream = 0, k->step = -1, k->tid = 12, k->name = 6;
    k->grid[0] = UINT32_MAX, k->grid[1] = 65535, k->grid[2] = 1;
    k->block[0] = 1024, k->block[1] = 1, k->block[2] = 64, k->shared_bytes = UINT32_MAX;

    mpt_trace_memory *m = &add(s, MPT_REC_MEMORY)->u.memory;
    m->seq = 3, m->ts_ns = 100, m->stream = 5, m->step = 0, m->tid = 12, m->kind = MPT_MEM_H2D;
    m->flags = MPT_MEM_ASYNC, m->dst = 0x7f0000000000u, m->src = 0x55d000001000u,
    m->bytes = 1 << 20;
    m = &add(s, MPT_REC_MEMORY)->u.memory;
    m->seq = UINT64_MAX, m->ts_ns = UINT64_MAX, m->stream = UINT64_MAX, m->step = INT64_MIN;
    m->tid = UINT32_MAX, m->kind = (mpt_mem_kind)255, m->flags = UINT16_MAX;
    m->dst = UINT64_MAX, m->src = UINT64_MAX, m->bytes = UINT64_MAX;

    static const mpt_range_kind kinds[] = {MPT_RANGE_PUSH, MPT_RANGE_POP, MPT_RANGE_MARK,
                                           MPT_RANGE_START, MPT_RANGE_END};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        mpt_trace_range *rg = &add(s, MPT_REC_RANGE)->u.range;
        rg->ts_ns = 1000 + i, rg->tid = (uint32_t)i, rg->kind = kinds[i];
        rg->domain = i == 1 ? 0 : 7, rg->name = i == 1 || i == 4 ? 0 : 2;
        rg->range_id = i >= 3 ? UINT64_MAX : 0;
    }
}

static void add_messages(mpt_test_samples *s)
{
    mpt_trace_message *msg = &add(s, MPT_REC_MESSAGE)->u.message;
    *msg = (mpt_trace_message){1, 2, MPT_MSG_WARN, 0, ""};
    msg = &add(s, MPT_REC_MESSAGE)->u.message;
    const char *t = "statistics skipped: stream under graph capture";
    *msg = (mpt_trace_message){UINT64_MAX, UINT32_MAX, MPT_MSG_INFO, (uint32_t)strlen(t), t};
    msg = &add(s, MPT_REC_MESSAGE)->u.message; /* over 64 KiB: cut at a character boundary */
    *msg = (mpt_trace_message){3, 4, MPT_MSG_ERROR,
                               (uint32_t)mpt_trace_text_len(s->long_message, MPT_TRACE_TEXT_MAX),
                               s->long_message};
}

mpt_test_samples *mpt_test_samples_new(size_t long_string, size_t long_message)
{
    mpt_test_samples *s = calloc(1, sizeof *s);
    s->long_string = euros(long_string);
    s->long_message = euros(long_message);
    s->long_message_len = long_message;
    const char *strings[] = {
        "",                                                            /* 1: empty */
        "model.layers.0.self_attn.q_proj",                             /* 2 */
        "cublasGemmEx",                                                /* 3 */
        "train.py:forward+0x1c",                                       /* 4 */
        "loss",                                                        /* 5 */
        "ampere_fp16_s16816gemm_fp16_128x128_ldg8_f2f_stages_32x5_nn", /* 6 */
        "mptrace",                                                     /* 7 */
        "\xc3\x9c"
        "n\xc3\xaf"
        "c\xc3\xb8"
        "d\xc3\xa9 \xe2\x9c\x93 \xce\xbb", /* 8: UTF-8 */
        s->long_string,                    /* 9: over 64 KiB: cut */
    };
    s->nstrings = sizeof strings / sizeof strings[0];
    for (size_t i = 0; i < s->nstrings; i++) {
        s->strings[i] = strings[i];
        s->string_len[i] = mpt_trace_text_len(strings[i], MPT_TRACE_TEXT_MAX);
        mpt_trace_string *str = &add(s, MPT_REC_STRING)->u.string;
        *str = (mpt_trace_string){(uint32_t)i + 1, (uint32_t)s->string_len[i], strings[i]};
    }
    add_gemms(s);
    add_tensors(s);
    add_small_records(s);
    add_messages(s);
    mpt_trace_end *e = &add(s, MPT_REC_END)->u.end;
    *e = (mpt_trace_end){UINT64_MAX - 1, MPT_END_EXIT, -3, s->n - 1};

    mpt_trace_header *h = &s->header;
    mpt_trace_header_init(h);
    h->pid = 31337, h->rank = 3, h->local_rank = 1, h->world_size = 8;
    h->start_realtime_ns = INT64_MAX, h->mono_origin_ns = UINT64_MAX;
    h->hostname = "gpu-node-17.cluster";
    static const char cmd[] = "python\0train.py\0--precision\00016-mixed";
    h->cmdline = cmd, h->cmdline_len = sizeof cmd;
    return s;
}

void mpt_test_samples_free(mpt_test_samples *s)
{
    if (!s) return;
    free(s->long_string);
    free(s->long_message);
    free(s);
}

int mpt_test_samples_write(const mpt_test_samples *s, const char *path, char *err, size_t errlen)
{
    mpt_trace_writer *w = mpt_trace_writer_open(path, &s->header, err, errlen);
    if (!w) return -1;
    for (size_t i = 0; i < s->n; i++) {
        const mpt_trace_record *r = &s->rec[i];
        if (r->type == MPT_REC_STRING) {
            uint32_t id = mpt_trace_writer_intern(w, r->u.string.bytes);
            if (id != r->u.string.id) {
                snprintf(err, errlen, "intern gave id %u, expected %u", id, r->u.string.id);
                mpt_trace_writer_close(w, NULL, 0);
                return -1;
            }
            continue;
        }
        mpt_trace_record copy = *r;
        if (r->type == MPT_REC_MESSAGE && r->u.message.text == s->long_message)
            copy.u.message.len = (uint32_t)s->long_message_len; /* the writer must cut it */
        if (mpt_trace_writer_record(w, &copy) < 0) {
            snprintf(err, errlen, "writing sample %zu: %s", i, mpt_trace_writer_error(w));
            mpt_trace_writer_close(w, NULL, 0);
            return -1;
        }
    }
    return mpt_trace_writer_close(w, err, errlen);
}

#define DIFF_IF(cond, what)                                                                        \
    do {                                                                                           \
        if (cond) return what;                                                                     \
    } while (0)

const char *mpt_test_record_diff(const mpt_trace_record *want, const mpt_trace_record *got)
{
    DIFF_IF(want->type != got->type, "record type differs");
    const void *a = &want->u, *b = &got->u;
    switch (want->type) {
    case MPT_REC_STRING: {
        const mpt_trace_string *x = &want->u.string, *y = &got->u.string;
        DIFF_IF(x->id != y->id || x->len != y->len, "STRING id/len differ");
        DIFF_IF(memcmp(x->bytes, y->bytes, x->len) != 0, "STRING bytes differ");
        DIFF_IF(y->bytes[y->len] != '\0', "STRING bytes not NUL-terminated");
        return NULL;
    }
    case MPT_REC_MESSAGE: {
        const mpt_trace_message *x = &want->u.message, *y = &got->u.message;
        DIFF_IF(x->ts_ns != y->ts_ns || x->tid != y->tid, "MESSAGE ts/tid differ");
        DIFF_IF(x->level != y->level || x->len != y->len, "MESSAGE level/len differ");
        DIFF_IF(memcmp(x->text, y->text, x->len) != 0, "MESSAGE text differs");
        DIFF_IF(y->text[y->len] != '\0', "MESSAGE text not NUL-terminated");
        return NULL;
    }
    case MPT_REC_GEMM:
        return memcmp(a, b, sizeof(mpt_trace_gemm)) ? "GEMM fields differ" : NULL;
    case MPT_REC_TENSOR: {
        const mpt_trace_tensor *x = &want->u.tensor, *y = &got->u.tensor;
        DIFF_IF(memcmp(&x->info, &y->info, sizeof x->info) != 0, "TENSOR info differs");
        DIFF_IF(x->level != y->level, "TENSOR level differs");
        DIFF_IF(memcmp(&x->cheap, &y->cheap, sizeof x->cheap) != 0, "TENSOR cheap part differs");
        DIFF_IF(memcmp(&x->full, &y->full, sizeof x->full) != 0, "TENSOR full part differs");
        return NULL;
    }
    case MPT_REC_PRECISION:
        return memcmp(a, b, sizeof(mpt_trace_precision)) ? "PRECISION fields differ" : NULL;
    case MPT_REC_STEP:
        return memcmp(a, b, sizeof(mpt_trace_step)) ? "STEP fields differ" : NULL;
    case MPT_REC_SCALAR:
        return memcmp(a, b, sizeof(mpt_trace_scalar)) ? "SCALAR fields differ" : NULL;
    case MPT_REC_KERNEL:
        return memcmp(a, b, sizeof(mpt_trace_kernel)) ? "KERNEL fields differ" : NULL;
    case MPT_REC_MEMORY:
        return memcmp(a, b, sizeof(mpt_trace_memory)) ? "MEMORY fields differ" : NULL;
    case MPT_REC_RANGE:
        return memcmp(a, b, sizeof(mpt_trace_range)) ? "RANGE fields differ" : NULL;
    case MPT_REC_END:
        return memcmp(a, b, sizeof(mpt_trace_end)) ? "END fields differ" : NULL;
    default:
        return "unexpected record type";
    }
}

void mpt_test_tmpfile(char *buf, size_t n, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, n, "%s/mpt-%s-XXXXXX", dir && *dir ? dir : "/tmp", tag);
    int fd = mkstemp(buf);
    if (fd >= 0) close(fd);
}

uint64_t mpt_test_fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

void mpt_test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

int mpt_test_slurp(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) b = realloc(b, cap *= 2);
    }
    fclose(f);
    *data = b;
    *len = n;
    return 0;
}
