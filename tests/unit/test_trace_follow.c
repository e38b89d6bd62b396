/*
 * FOLLOW mode, as the live TUI uses it: a trace that grows between calls. The file is appended
 * to in pieces (single bytes, random chunks, the writer's own flushes) and the reader must say
 * "no more for now" at every incomplete tail without consuming anything, then continue from the
 * last whole record, returning exactly the records written, and EOF after END.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/trace_reader.h"
#include "core/trace_writer.h"
#include "tests/unit/trace_samples.h"

typedef struct grow {
    FILE *f;
    size_t written;
} grow;

static void grow_append(grow *g, const uint8_t *p, size_t n)
{
    MPT_CHECK(fwrite(p, 1, n, g->f) == n, "fwrite");
    fflush(g->f);
    g->written += n;
}

/* Reads what is there; every record must be the next expected one. Returns the status that
 * ended the burst (AGAIN or EOF). */
static mpt_trace_status drain(mpt_trace_reader *r, const mpt_test_samples *s, size_t *next,
                              mpt_trace_record *rec)
{
    mpt_trace_status st;
    while ((st = mpt_trace_reader_next(r, rec)) == MPT_TRACE_RECORD) {
        MPT_CHECK(*next < s->n, "more records than written");
        const char *d = mpt_test_record_diff(&s->rec[*next], rec);
        MPT_CHECK(d == NULL, "record %zu: %s", *next, d);
        (*next)++;
    }
    MPT_CHECK(st == MPT_TRACE_AGAIN || st == MPT_TRACE_EOF, "status %d: %s", st,
              mpt_trace_reader_error(r));
    return st;
}

/* Feeds the sample trace to a follower in chunks of the sizes chunk() gives. */
static void follow_in_chunks(size_t long_string, size_t long_message, size_t (*chunk)(uint64_t *))
{
    mpt_test_samples *s = mpt_test_samples_new(long_string, long_message);
    char src[256], dst[256], err[512];
    mpt_test_tmpfile(src, sizeof src, "fsrc");
    mpt_test_tmpfile(dst, sizeof dst, "fdst");
    MPT_CHECK(mpt_test_samples_write(s, src, err, sizeof err) == 0, "%s", err);
    uint8_t *data;
    size_t len;
    ck_assert_int_eq(mpt_test_slurp(src, &data, &len), 0);
    size_t hlen = mpt_get_u32(data + 12);

    grow g = {fopen(dst, "wb"), 0};
    mpt_trace_reader *r = mpt_trace_reader_open(dst, MPT_TRACE_FOLLOW, err, sizeof err);
    MPT_CHECK(r != NULL, "empty file refused in FOLLOW mode: %s", err);
    mpt_trace_record *rec = malloc(sizeof *rec);
    size_t next = 0;
    uint64_t st = 5;
    mpt_trace_status last = MPT_TRACE_AGAIN;
    while (g.written < len) {
        MPT_CHECK(last == MPT_TRACE_AGAIN, "EOF before the END record");
        size_t n = chunk(&st);
        if (n > len - g.written) n = len - g.written;
        grow_append(&g, data + g.written, n);
        uint64_t before = mpt_trace_reader_offset(r);
        last = drain(r, s, &next, rec);
        /* Nothing consumed beyond whole records: the offset is a record boundary <= written. */
        MPT_CHECK(mpt_trace_reader_offset(r) >= before, "offset went back");
        MPT_CHECK(mpt_trace_reader_offset(r) <= g.written, "consumed past the data");
        MPT_CHECK((mpt_trace_reader_header(r) != NULL) == (g.written >= hlen),
                  "header at %zu bytes", g.written);
    }
    ck_assert_int_eq(last, MPT_TRACE_EOF);
    ck_assert_uint_eq(next, s->n);
    ck_assert_uint_eq(mpt_trace_reader_offset(r), len);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_EOF);
    mpt_trace_reader_close(r);
    fclose(g.f);
    free(rec);
    free(data);
    unlink(src);
    unlink(dst);
    mpt_test_samples_free(s);
}

static size_t one_byte(uint64_t *st)
{
    (void)st;
    return 1;
}

static size_t random_chunk(uint64_t *st)
{
    return 1 + mpt_test_rand(st) % 5000;
}

START_TEST(test_follow_byte_by_byte)
{
    follow_in_chunks(MPT_TEST_SAMPLES_SMALL, one_byte);
}
END_TEST

START_TEST(test_follow_random_chunks_big_records)
{
    follow_in_chunks(MPT_TEST_SAMPLES_BIG, random_chunk);
}
END_TEST

/* The real pairing: a writer flushing steps while a follower reads between flushes. */
START_TEST(test_follow_live_writer)
{
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "live");
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    mpt_trace_reader *r = mpt_trace_reader_open(path, MPT_TRACE_FOLLOW, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    mpt_trace_record *rec = malloc(sizeof *rec);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_AGAIN); /* nothing flushed yet */
    ck_assert_ptr_null(mpt_trace_reader_header(r));
    uint32_t loss = mpt_trace_writer_intern(w, "loss");
    for (int64_t step = 0; step < 50; step++) {
        mpt_trace_step s = {step, (uint64_t)step, 1, MPT_STEP_BEGIN};
        mpt_trace_writer_step(w, &s);
        mpt_trace_scalar sc = {step, (uint64_t)step, loss, 0, 1.0 / (double)(step + 1)};
        mpt_trace_writer_scalar(w, &sc);
        s.phase = MPT_STEP_END;
        mpt_trace_writer_step(w, &s); /* flushes */
        int seen = 0;
        mpt_trace_status st;
        while ((st = mpt_trace_reader_next(r, rec)) == MPT_TRACE_RECORD) {
            if (rec->type == MPT_REC_SCALAR) {
                ck_assert(rec->u.scalar.step == step);
                ck_assert_str_eq(mpt_trace_reader_string(r, rec->u.scalar.key), "loss");
            }
            seen++;
        }
        ck_assert_int_eq(st, MPT_TRACE_AGAIN);
        ck_assert_int_eq(seen, 3 + (step == 0)); /* + the STRING record */
        ck_assert_ptr_nonnull(mpt_trace_reader_header(r));
    }
    mpt_trace_writer_end(w, MPT_END_EXIT, 0);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_RECORD);
    ck_assert_int_eq(rec->type, MPT_REC_END);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_EOF);
    mpt_trace_writer_close(w, err, sizeof err);
    mpt_trace_reader_close(r);
    free(rec);
    unlink(path);
}
END_TEST

/* Damage appended to a followed file is reported, not waited on. */
START_TEST(test_follow_sees_corruption)
{
    mpt_test_samples *s = mpt_test_samples_new(MPT_TEST_SAMPLES_SMALL);
    char src[256], dst[256], err[512];
    mpt_test_tmpfile(src, sizeof src, "fcsrc");
    mpt_test_tmpfile(dst, sizeof dst, "fcdst");
    mpt_test_samples_write(s, src, err, sizeof err);
    uint8_t *data;
    size_t len;
    mpt_test_slurp(src, &data, &len);
    size_t hlen = mpt_get_u32(data + 12);
    size_t first = hlen + MPT_TRACE_FRAME_OVERHEAD + mpt_get_u32(data + hlen);
    data[first + 3] ^= 0x40; /* the second record's length field */
    grow g = {fopen(dst, "wb"), 0};
    grow_append(&g, data, first + 6);
    mpt_trace_reader *r = mpt_trace_reader_open(dst, MPT_TRACE_FOLLOW, err, sizeof err);
    mpt_trace_record *rec = malloc(sizeof *rec);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_RECORD);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_AGAIN); /* head incomplete */
    grow_append(&g, data + g.written, 6);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_CORRUPT);
    ck_assert_uint_eq(mpt_trace_reader_offset(r), first);
    grow_append(&g, data + g.written, len - g.written);
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_CORRUPT); /* sticky */
    mpt_trace_reader_close(r);
    /* A file that is visibly not a trace is refused even while it may still grow. */
    FILE *f = fopen(dst, "wb");
    fputs("#!/bin/sh\n", f);
    fclose(f);
    ck_assert_ptr_null(mpt_trace_reader_open(dst, MPT_TRACE_FOLLOW, err, sizeof err));
    MPT_CHECK(strstr(err, "not an mptrace trace"), "%s", err);
    fclose(g.f);
    free(rec);
    free(data);
    unlink(src);
    unlink(dst);
    mpt_test_samples_free(s);
}
END_TEST

extern Suite *suite_trace_follow(void);
Suite *suite_trace_follow(void)
{
    Suite *s = suite_create("trace_follow");
    TCase *tc = tcase_create("follow");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_follow_byte_by_byte);
    tcase_add_test(tc, test_follow_random_chunks_big_records);
    tcase_add_test(tc, test_follow_live_writer);
    tcase_add_test(tc, test_follow_sees_corruption);
    suite_add_tcase(s, tc);
    return s;
}
