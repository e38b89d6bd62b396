/*
 * The fast paths of reading: TENSOR records with their histograms left sparse
 * (mpt_trace_tensor_decode_sparse, MPT_TRACE_SPARSE), and the reader of a file whose frames a
 * thread reads and checks ahead of it (core/trace_ahead.c; its edges in test_trace_ahead.c).
 *
 * Each is checked against the plain path it must be indistinguishable from: the dense decoder
 * (same records byte for byte, same merges bit for bit, same errors and messages, on random and
 * adversarial statistics and on damaged payloads), and the reader of the same bytes in memory
 * (same records, same final status, offset and message, damage anywhere in a file large enough
 * to start the thread; a file that grows after it was opened).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/trace_reader.h"
#include "core/trace_writer.h"
#include "tests/unit/trace_samples.h"

/* ---- random statistics ----------------------------------------------------------------------- */

static double rand_double(uint64_t *st)
{
    static const double special[] = {
        0.0,     -0.0,  INFINITY, -INFINITY, 4.9e-324, -2.2e-308, 1.7976931348623157e308,
        65504.0, 1e-45, 3.0};
    uint64_t r = mpt_test_rand(st);
    if (r % 4 == 0) return special[(r >> 8) % (sizeof special / sizeof *special)];
    if (r % 4 == 1) { /* any bit pattern: NaN payloads included */
        uint64_t u = mpt_test_rand(st);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    return ldexp((double)(r >> 11) / 9007199254740992.0, (int)((r >> 3) % 200) - 100);
}

static uint64_t rand_count(uint64_t *st)
{
    uint64_t r = mpt_test_rand(st);
    switch (r % 4) {
    case 0:
        return 0;
    case 1:
        return UINT64_MAX - (r >> 60);
    default:
        return r >> (r % 64);
    }
}

/* Histogram shapes: empty, every bucket, the two ends only, random density. */
static void rand_stats(mpt_stats *s, uint64_t *st, int shape)
{
    mpt_stats_init(s);
    s->count = rand_count(st);
    s->nan = rand_count(st);
    s->pinf = rand_count(st);
    s->ninf = rand_count(st);
    s->zero = rand_count(st);
    s->subnormal = rand_count(st);
    s->min = rand_double(st);
    s->max = rand_double(st);
    s->absmax = rand_double(st);
    s->min_nonzero_abs = rand_double(st);
    s->sum = rand_double(st);
    s->sumsq = rand_double(st);
    for (int n = 0; n < MPT_NARROW_COUNT; n++)
        s->narrow[n] = (mpt_narrow_counts){rand_count(st), rand_count(st), rand_count(st)};
    unsigned density = (unsigned)(mpt_test_rand(st) % 100);
    for (int b = 0; b < MPT_HIST_BUCKETS; b++) {
        switch (shape) {
        case 0:
            break;
        case 1:
            s->hist[b] = mpt_test_rand(st) | 1;
            break;
        case 2:
            if (b == 0 || b == MPT_HIST_BUCKETS - 1) s->hist[b] = rand_count(st) | 1;
            break;
        default:
            if (mpt_test_rand(st) % 100 < density) s->hist[b] = rand_count(st);
        }
    }
}

/* A random TENSOR record: levels CHEAP, FULL and one this build does not know. */
static void rand_tensor(mpt_trace_tensor_info *info, mpt_stat_level *level, mpt_cheap_stats *cheap,
                        mpt_stats *full, uint64_t *st, int i)
{
    static const mpt_stat_level levels[] = {MPT_LEVEL_FULL, MPT_LEVEL_CHEAP, (mpt_stat_level)7};
    *info = (mpt_trace_tensor_info){.seq = mpt_test_rand(st),
                                    .role = (mpt_tensor_role)(mpt_test_rand(st) % 8),
                                    .dtype = (mpt_dtype)(mpt_test_rand(st) % 12),
                                    .rows = (int64_t)mpt_test_rand(st),
                                    .cols = -(int64_t)(mpt_test_rand(st) % 5),
                                    .batch = 1};
    *level = levels[i % 3 == 2 ? 1 + (i / 3) % 2 : 0];
    rand_stats(full, st, i % 5 == 4 ? 3 : i % 5);
    *cheap = (mpt_cheap_stats){full->count, full->nan, full->pinf + full->ninf, full->absmax};
}

/* ---- decode and merge ------------------------------------------------------------------------ */

START_TEST(test_sparse_decode_equals_dense)
{
    uint64_t st = 0x5eed;
    static uint8_t buf[4096];
    static mpt_stats full, a, b;
    static mpt_trace_record dense;
    static mpt_trace_tensor expanded;
    for (int i = 0; i < 3000; i++) {
        mpt_trace_tensor_info info;
        mpt_stat_level level;
        mpt_cheap_stats cheap;
        rand_tensor(&info, &level, &cheap, &full, &st, i);
        size_t len = mpt_trace_tensor_payload_size(level, &full);
        MPT_CHECK(len <= sizeof buf, "payload %zu", len);
        mpt_trace_tensor_payload_encode(&info, level, &cheap, &full, buf);
        char e1[256], e2[256];
        memset(&dense, 0xa5, sizeof dense);
        MPT_CHECK(mpt_trace_payload_decode(MPT_REC_TENSOR, buf, len, &dense, e1, sizeof e1) == 1,
                  "%s", e1);
        MPT_CHECK(dense.sparse == 0, "dense decode marks sparse");
        mpt_trace_tensor_sparse sp;
        memset(&sp, 0x5a, sizeof sp);
        MPT_CHECK(mpt_trace_tensor_decode_sparse(buf, len, &sp, e2, sizeof e2) == 0, "%s", e2);
        MPT_CHECK(sp.level == level, "level");
        size_t nonzero = 0;
        for (int k = 0; k < MPT_HIST_BUCKETS; k++)
            nonzero += full.hist[k] != 0;
        MPT_CHECK(sp.hist_n == (level == MPT_LEVEL_FULL ? nonzero : 0), "record %d: %u buckets", i,
                  sp.hist_n);
        MPT_CHECK((sp.hist == NULL) == (sp.hist_n == 0), "hist pointer");
        memset(&expanded, 0x77, sizeof expanded);
        mpt_trace_tensor_sparse_to_dense(&sp, &expanded);
        MPT_CHECK(memcmp(&expanded, &dense.u.tensor, sizeof expanded) == 0,
                  "record %d: sparse -> dense differs from the dense decode", i);
        /* merging the sparse form == merging the dense one, bit for bit */
        rand_stats(&a, &st, i % 4);
        b = a;
        if (dense.u.tensor.level == MPT_LEVEL_FULL) mpt_stats_merge(&a, &dense.u.tensor.full);
        mpt_trace_tensor_sparse_merge(&b, &sp);
        MPT_CHECK(memcmp(&a, &b, sizeof a) == 0, "record %d: sparse merge differs", i);
    }
}
END_TEST

/* Damaged payloads: both decoders refuse exactly the same ones with the same message. */
START_TEST(test_sparse_errors_equal_dense)
{
    uint64_t st = 0xbad;
    static uint8_t buf[4096], bad[4096];
    static mpt_stats full;
    static mpt_trace_record dense;
    int refused = 0;
    for (int i = 0; i < 3000; i++) {
        mpt_trace_tensor_info info;
        mpt_stat_level level;
        mpt_cheap_stats cheap;
        rand_tensor(&info, &level, &cheap, &full, &st, i);
        size_t len = mpt_trace_tensor_payload_size(level, &full);
        mpt_trace_tensor_payload_encode(&info, level, &cheap, &full, buf);
        memcpy(bad, buf, len);
        size_t blen = len;
        uint64_t r = mpt_test_rand(&st);
        switch (r % 4) {
        case 0: /* cut anywhere */
            blen = (size_t)(r >> 8) % (len + 1);
            break;
        case 1: /* the counts of narrow formats and buckets */
            if (len > 148) mpt_put_u16(bad + 146, (uint16_t)(r >> 8));
            break;
        case 2:
            if (len > 148) bad[144] = (uint8_t)(r >> 8);
            break;
        default: /* a bucket index: out of range, repeated or out of order */
            if (len > 250) {
                size_t k = 148 + 96 + ((r >> 8) % ((len - 244) / 10)) * 10;
                mpt_put_u16(bad + k, (uint16_t)((r >> 20) % 300));
            }
        }
        char e1[256] = "", e2[256] = "";
        int d = mpt_trace_payload_decode(MPT_REC_TENSOR, bad, blen, &dense, e1, sizeof e1);
        mpt_trace_tensor_sparse sp;
        int s = mpt_trace_tensor_decode_sparse(bad, blen, &sp, e2, sizeof e2);
        MPT_CHECK((d < 0) == (s < 0), "case %d: dense %d, sparse %d (%s | %s)", i, d, s, e1, e2);
        if (d < 0) {
            refused++;
            MPT_CHECK(strcmp(e1, e2) == 0, "case %d: '%s' vs '%s'", i, e1, e2);
        }
    }
    ck_assert_int_gt(refused, 500); /* the damage above is not all harmless */
}
END_TEST

/* ---- the reader ------------------------------------------------------------------------------ */

/* Writes a trace of GEMMs with A/B/D tensors of random statistics (some records CHEAP), about
 * `mib` MiB, with a few strings and messages along the way. */
static void write_big(const char *path, double mib)
{
    char err[512];
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    uint64_t st = 42;
    static mpt_stats full;
    uint32_t layer = mpt_trace_writer_intern(w, "fwd/blk0/mlp");
    size_t target = (size_t)(mib * 1048576.0), written = 0;
    for (int g = 0; written < target; g++) {
        mpt_trace_gemm gm = {.seq = mpt_trace_writer_next_seq(w),
                             .ts_ns = 1000u + (uint64_t)g,
                             .step = g / 50,
                             .layer = layer,
                             .level = MPT_LEVEL_FULL,
                             .m = 4,
                             .n = 4,
                             .k = 4,
                             .batch = 1};
        ck_assert_int_eq(mpt_trace_writer_gemm(w, &gm), 0);
        for (int r = 0; r < 3; r++) {
            mpt_trace_tensor_info info = {.seq = gm.seq,
                                          .role = r == 2 ? MPT_ROLE_D : (mpt_tensor_role)r,
                                          .dtype = MPT_DT_F16,
                                          .rows = 4,
                                          .cols = 4,
                                          .batch = 1};
            rand_stats(&full, &st, 3);
            if ((g + r) % 7 == 0) {
                mpt_cheap_stats c = {full.count, full.nan, 0, 1.5};
                ck_assert_int_eq(mpt_trace_writer_tensor_cheap(w, &info, &c), 0);
                written += 72 + 16;
            } else {
                ck_assert_int_eq(mpt_trace_writer_tensor_full(w, &info, &full), 0);
                written += mpt_trace_tensor_payload_size(MPT_LEVEL_FULL, &full) + 16;
            }
        }
        if (g % 997 == 0) {
            char name[32];
            snprintf(name, sizeof name, "layer %d", g);
            mpt_trace_writer_intern(w, name);
            ck_assert_int_eq(mpt_trace_writer_message(w, MPT_MSG_WARN, name), 0);
        }
        written += 192 + 16;
    }
    ck_assert_int_eq(mpt_trace_writer_close(w, err, sizeof err), 0);
}

/* What reading gave: records (dense, their text copied) and how it ended. */
typedef struct outcome {
    size_t n;
    uint64_t crc; /* of every record's decoded fields, in order */
    mpt_trace_status st;
    uint64_t offset, truncated, records;
    char msg[600]; /* the error, without the "<name>: " prefix */
} outcome;

static void read_all(mpt_trace_reader *r, outcome *o)
{
    static mpt_trace_record rec;
    static mpt_trace_tensor dense;
    memset(o, 0, sizeof *o);
    o->crc = MPT_TEST_FNV_START;
    while ((o->st = mpt_trace_reader_next(r, &rec)) == MPT_TRACE_RECORD) {
        o->n++;
        o->crc = mpt_test_fnv(o->crc, &rec.type, sizeof rec.type);
        o->crc = mpt_test_fnv(o->crc, &rec.offset, sizeof rec.offset);
        if (rec.type == MPT_REC_TENSOR) {
            const mpt_trace_tensor *t = &rec.u.tensor;
            if (rec.sparse) {
                mpt_trace_tensor_sparse_to_dense(&rec.u.tensor_sparse, &dense);
                t = &dense;
            }
            o->crc = mpt_test_fnv(o->crc, t, sizeof *t);
        } else if (rec.type == MPT_REC_MESSAGE) {
            o->crc = mpt_test_fnv(o->crc, rec.u.message.text, rec.u.message.len);
        } else if (rec.type == MPT_REC_STRING) {
            o->crc = mpt_test_fnv(o->crc, rec.u.string.bytes, rec.u.string.len);
        } else if (rec.type == MPT_REC_GEMM) {
            o->crc = mpt_test_fnv(o->crc, &rec.u.gemm, sizeof rec.u.gemm);
        }
    }
    o->offset = mpt_trace_reader_offset(r);
    o->truncated = mpt_trace_reader_truncated_bytes(r);
    o->records = mpt_trace_reader_records(r);
    const char *e = mpt_trace_reader_error(r), *colon = strstr(e, ": ");
    snprintf(o->msg, sizeof o->msg, "%s", colon ? colon + 2 : e);
}

static void check_same(const outcome *want, const outcome *got, const char *what)
{
    MPT_CHECK(want->n == got->n, "%s: %zu records, want %zu", what, got->n, want->n);
    MPT_CHECK(want->crc == got->crc, "%s: records differ", what);
    MPT_CHECK(want->st == got->st, "%s: status %d, want %d", what, got->st, want->st);
    MPT_CHECK(want->offset == got->offset, "%s: offset %llu, want %llu", what,
              (unsigned long long)got->offset, (unsigned long long)want->offset);
    MPT_CHECK(want->truncated == got->truncated, "%s: truncated", what);
    MPT_CHECK(want->records == got->records, "%s: record count", what);
    MPT_CHECK(strcmp(want->msg, got->msg) == 0, "%s: '%s', want '%s'", what, got->msg, want->msg);
}

/* A file reader (read ahead by the thread: the trace is over the reader's AHEAD_MIN), with
 * and without MPT_TRACE_SPARSE, against the memory reader of the same bytes: intact, cut at
 * random points, and with a byte flipped early, in the middle, at the very end. */
START_TEST(test_file_reader_equals_memory_reader)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "sparse");
    write_big(path, 3.5);
    uint8_t *data;
    size_t len;
    ck_assert_int_eq(mpt_test_slurp(path, &data, &len), 0);
    ck_assert_uint_gt(len, 3u << 20);
    uint8_t *img = malloc(len);
    ck_assert_ptr_nonnull(img);
    uint64_t st = 7;
    for (int c = 0; c < 12; c++) {
        memcpy(img, data, len);
        size_t n = len;
        char what[64];
        if (c == 0) {
            snprintf(what, sizeof what, "intact");
        } else if (c < 5) {
            n = len - 1 - (size_t)(mpt_test_rand(&st) % (len / 2));
            snprintf(what, sizeof what, "cut at %zu", n);
        } else {
            size_t at = c == 5 ? 200 : c == 6 ? len - 1 : (size_t)(mpt_test_rand(&st) % len);
            img[at] ^= (uint8_t)(1u << (c % 8));
            snprintf(what, sizeof what, "byte %zu flipped", at);
        }
        mpt_test_write_file(path, img, n);
        outcome want, got;
        mpt_trace_reader *r = mpt_trace_reader_open_mem(img, n, err, sizeof err);
        ck_assert_msg(r != NULL, "%s", err);
        read_all(r, &want);
        mpt_trace_reader_close(r);
        ck_assert_uint_gt(want.n, 0);
        for (unsigned flags = 0; flags <= MPT_TRACE_SPARSE; flags += MPT_TRACE_SPARSE) {
            r = mpt_trace_reader_open(path, flags, err, sizeof err);
            ck_assert_msg(r != NULL, "%s", err);
            read_all(r, &got);
            mpt_trace_reader_close(r);
            check_same(&want, &got, what);
        }
        /* closed half-way: the thread is stopped while it runs */
        r = mpt_trace_reader_open(path, MPT_TRACE_SPARSE, err, sizeof err);
        ck_assert_msg(r != NULL, "%s", err);
        static mpt_trace_record rec;
        for (size_t k = 0; k < 100 && k < want.n; k++)
            ck_assert_int_eq(mpt_trace_reader_next(r, &rec), MPT_TRACE_RECORD);
        mpt_trace_reader_close(r);
    }
    free(img);
    free(data);
    unlink(path);
}
END_TEST

/* A file that grows after it was opened (without FOLLOW) is read to its end at the time of
 * reading, as read(2) would: where the read-ahead stopped, mid-record, the reader goes on. */
START_TEST(test_file_that_grows)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "grow");
    write_big(path, 1.5);
    uint8_t *data;
    size_t len;
    ck_assert_int_eq(mpt_test_slurp(path, &data, &len), 0);
    size_t hlen = mpt_get_u32(data + 12), first = len * 2 / 3; /* mid-record, most likely */
    mpt_test_write_file(path, data, first);
    mpt_trace_reader *r = mpt_trace_reader_open(path, MPT_TRACE_SPARSE, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    FILE *f = fopen(path, "ab");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data + first, 1, len - first, f), len - first);
    ck_assert_int_eq(fclose(f), 0);
    outcome want, got;
    read_all(r, &got);
    mpt_trace_reader_close(r);
    r = mpt_trace_reader_open_mem(data, len, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    read_all(r, &want);
    mpt_trace_reader_close(r);
    ck_assert_uint_gt(len, hlen);
    check_same(&want, &got, "grown");
    ck_assert_int_eq(got.st, MPT_TRACE_EOF);
    free(data);
    unlink(path);
}
END_TEST

extern Suite *suite_trace_sparse(void);
Suite *suite_trace_sparse(void)
{
    Suite *s = suite_create("trace_sparse");
    TCase *tc = tcase_create("sparse");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sparse_decode_equals_dense);
    tcase_add_test(tc, test_sparse_errors_equal_dense);
    tcase_add_test(tc, test_file_reader_equals_memory_reader);
    tcase_add_test(tc, test_file_that_grows);
    suite_add_tcase(s, tc);
    return s;
}
