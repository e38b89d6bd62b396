/*
 * Damaged and foreign traces: truncation at every byte offset of a small trace holding every
 * record type, a flipped byte at every offset, random overwrites, random garbage (with and
 * without a valid header, and as validly framed records of random content), lengths of
 * 0xFFFFFFFF, malformed records under valid checksums, and the version rules (a newer minor
 * with unknown records and longer payloads is read; a newer major is refused).
 *
 * The invariant every case checks: the reader never crashes and never returns a damaged record;
 * every whole record before the damage comes back exactly as written; the damage is reported
 * with the right status, byte offset and byte count.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "core/trace_reader.h"
#include "tests/unit/trace_samples.h"

/* A written sample trace, its bytes, and where each record starts. */
typedef struct fixture {
    mpt_test_samples *s;
    uint8_t *data;
    size_t len, hlen;
    size_t off[MPT_TEST_MAX_SAMPLES + 1]; /* off[i]: record i's frame; off[n] == len */
} fixture;

static void fixture_make(fixture *f, size_t long_string, size_t long_message)
{
    char path[256], err[512];
    f->s = mpt_test_samples_new(long_string, long_message);
    mpt_test_tmpfile(path, sizeof path, "corrupt");
    MPT_CHECK(mpt_test_samples_write(f->s, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(mpt_test_slurp(path, &f->data, &f->len), 0);
    unlink(path);
    f->hlen = mpt_get_u32(f->data + 12);
    size_t p = f->hlen, i = 0;
    while (p < f->len) {
        f->off[i++] = p;
        p += MPT_TRACE_FRAME_OVERHEAD + mpt_get_u32(f->data + p);
    }
    ck_assert_uint_eq(i, f->s->n);
    ck_assert_uint_eq(p, f->len);
    f->off[i] = p;
}

static void fixture_free(fixture *f)
{
    free(f->data);
    mpt_test_samples_free(f->s);
}

/* Reads until a non-RECORD status, checking each record against the samples. */
static mpt_trace_status read_checked(mpt_trace_reader *r, const mpt_test_samples *s, size_t *nread)
{
    static mpt_trace_record rec;
    mpt_trace_status st;
    size_t i = 0;
    while ((st = mpt_trace_reader_next(r, &rec)) == MPT_TRACE_RECORD) {
        MPT_CHECK(i < s->n, "more records than written");
        const char *d = mpt_test_record_diff(&s->rec[i], &rec);
        MPT_CHECK(d == NULL, "record %zu: %s", i, d);
        i++;
    }
    *nread = i;
    return st;
}

/* Index of the record containing byte `pos` (pos >= hlen). */
static size_t record_at(const fixture *f, size_t pos)
{
    size_t k = 0;
    while (f->off[k + 1] <= pos)
        k++;
    return k;
}

/* ---- truncation ------------------------------------------------------------------------------ */

START_TEST(test_truncate_at_every_offset)
{
    fixture f;
    fixture_make(&f, MPT_TEST_SAMPLES_SMALL);
    char err[512];
    for (size_t cut = 0; cut <= f.len; cut++) {
        mpt_trace_reader *r = mpt_trace_reader_open_mem(f.data, cut, err, sizeof err);
        if (cut < f.hlen) {
            MPT_CHECK(r == NULL, "cut %zu: a partial header was accepted", cut);
            MPT_CHECK(strstr(err, cut == 0 ? "empty file" : "truncated header"), "cut %zu: %s", cut,
                      err);
            continue;
        }
        MPT_CHECK(r != NULL, "cut %zu: %s", cut, err);
        size_t n;
        mpt_trace_status st = read_checked(r, f.s, &n);
        MPT_CHECK(mpt_trace_reader_offset(r) == f.off[n], "cut %zu: offset", cut);
        if (cut == f.off[n]) { /* at a boundary: a clean, shorter trace */
            MPT_CHECK(st == MPT_TRACE_EOF, "cut %zu: status %d", cut, st);
        } else {
            MPT_CHECK(st == MPT_TRACE_TRUNCATED, "cut %zu: status %d", cut, st);
            MPT_CHECK(f.off[n + 1] > cut, "cut %zu: stopped before the cut record", cut);
            MPT_CHECK(mpt_trace_reader_truncated_bytes(r) == cut - f.off[n],
                      "cut %zu: %llu bytes ignored, expected %zu", cut,
                      (unsigned long long)mpt_trace_reader_truncated_bytes(r), cut - f.off[n]);
            MPT_CHECK(strstr(mpt_trace_reader_error(r), "ends inside a record"), "cut %zu: %s", cut,
                      mpt_trace_reader_error(r));
            MPT_CHECK(mpt_trace_reader_next(r, NULL) == MPT_TRACE_TRUNCATED, "not sticky");
        }
        mpt_trace_reader_close(r);
    }
    fixture_free(&f);
}
END_TEST

/* Through the file reader, on the big samples (records larger than the read window). */
START_TEST(test_truncate_file)
{
    fixture f;
    fixture_make(&f, MPT_TEST_SAMPLES_BIG);
    size_t long_str = f.s->nstrings - 1; /* the 64 KiB STRING record */
    size_t cuts[] = {f.off[long_str] + 5, f.off[long_str] + 40000,
                     f.off[long_str + 1], f.off[f.s->n - 2] + 30000,
                     f.len - 1,           f.len};
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "trunc");
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        FILE *fp = fopen(path, "wb");
        fwrite(f.data, 1, cuts[i], fp);
        fclose(fp);
        mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
        MPT_CHECK(r != NULL, "%s", err);
        size_t n;
        mpt_trace_status st = read_checked(r, f.s, &n);
        ck_assert_uint_eq(mpt_trace_reader_offset(r), f.off[n]);
        if (cuts[i] == f.off[n]) {
            ck_assert_int_eq(st, MPT_TRACE_EOF);
        } else {
            ck_assert_int_eq(st, MPT_TRACE_TRUNCATED);
            ck_assert_uint_eq(mpt_trace_reader_truncated_bytes(r), cuts[i] - f.off[n]);
        }
        mpt_trace_reader_close(r);
    }
    unlink(path);
    fixture_free(&f);
}
END_TEST

/* ---- flips, overwrites, garbage
 * ------------------------------------------------------------------ */

/* Damage starting at `pos`: refused at open inside the header, else every record before the
 * damaged one is read and the damaged one is reported CORRUPT at its offset. */
static void check_damage(const fixture *f, const uint8_t *img, size_t pos, const char *what)
{
    char err[512];
    mpt_trace_reader *r = mpt_trace_reader_open_mem(img, f->len, err, sizeof err);
    if (pos < f->hlen) {
        MPT_CHECK(r == NULL, "%s at %zu (header): accepted", what, pos);
        return;
    }
    MPT_CHECK(r != NULL, "%s at %zu: %s", what, pos, err);
    size_t n;
    mpt_trace_status st = read_checked(r, f->s, &n);
    size_t k = record_at(f, pos);
    MPT_CHECK(st == MPT_TRACE_CORRUPT && n == k,
              "%s at %zu (record %zu): status %d after %zu records", what, pos, k, st, n);
    MPT_CHECK(mpt_trace_reader_offset(r) == f->off[k], "%s at %zu: offset", what, pos);
    char want[64];
    snprintf(want, sizeof want, "offset %zu", f->off[k]);
    MPT_CHECK(strstr(mpt_trace_reader_error(r), want), "%s", mpt_trace_reader_error(r));
    mpt_trace_reader_close(r);
}

START_TEST(test_flip_every_byte)
{
    fixture f;
    fixture_make(&f, MPT_TEST_SAMPLES_SMALL);
    uint8_t *img = malloc(f.len);
    memcpy(img, f.data, f.len);
    uint64_t st = 1;
    for (size_t pos = 0; pos < f.len; pos++) {
        uint8_t mask = (uint8_t)(mpt_test_rand(&st) % 255 + 1);
        img[pos] ^= mask;
        check_damage(&f, img, pos, "flip");
        img[pos] ^= mask;
    }
    free(img);
    fixture_free(&f);
}
END_TEST

START_TEST(test_random_overwrites)
{
    fixture f;
    fixture_make(&f, MPT_TEST_SAMPLES_SMALL);
    uint8_t *img = malloc(f.len);
    uint64_t st = 2;
    for (int iter = 0; iter < 2000; iter++) {
        memcpy(img, f.data, f.len);
        size_t pos = mpt_test_rand(&st) % f.len;
        size_t n = 1 + mpt_test_rand(&st) % 64;
        size_t first = SIZE_MAX;
        for (size_t i = pos; i < pos + n && i < f.len; i++) {
            uint8_t b = (uint8_t)mpt_test_rand(&st);
            if (b != img[i] && first == SIZE_MAX) first = i;
            img[i] = b;
        }
        if (first != SIZE_MAX) check_damage(&f, img, first, "overwrite");
    }
    free(img);
    fixture_free(&f);
}
END_TEST

START_TEST(test_garbage)
{
    char err[512];
    uint64_t st = 3;
    uint8_t *buf = malloc(8192);
    mpt_trace_record *rec = malloc(sizeof *rec);
    fixture f;
    fixture_make(&f, MPT_TEST_SAMPLES_SMALL);
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = mpt_test_rand(&st) % 4096;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)mpt_test_rand(&st);
        int mode = iter % 3;
        if (mode >= 1 && len >= MPT_TRACE_MAGIC_LEN) /* garbage behind a valid magic */
            memcpy(buf, MPT_TRACE_MAGIC, MPT_TRACE_MAGIC_LEN);
        if (mode == 2 && len >= f.hlen) /* garbage behind a valid header */
            memcpy(buf, f.data, f.hlen);
        mpt_trace_reader *r = mpt_trace_reader_open_mem(buf, len, err, sizeof err);
        if (mode < 2 || len < f.hlen) {
            MPT_CHECK(r == NULL, "garbage (mode %d, %zu bytes) accepted", mode, len);
            continue;
        }
        MPT_CHECK(r != NULL, "a valid header refused: %s", err);
        mpt_trace_status s = mpt_trace_reader_next(r, rec);
        MPT_CHECK(s == MPT_TRACE_CORRUPT || s == MPT_TRACE_TRUNCATED ||
                      (s == MPT_TRACE_EOF && len == f.hlen),
                  "garbage records: status %d", s);
        mpt_trace_reader_close(r);
    }
    fixture_free(&f);
    free(rec);
    free(buf);
}
END_TEST

/* Appends a frame with valid checksums around an arbitrary payload. */
static size_t put_frame(uint8_t *out, uint16_t type, uint16_t flags, const void *payload,
                        uint32_t len)
{
    mpt_trace_frame_open(out, type, flags, len);
    memcpy(out + MPT_TRACE_FRAME_HEAD, payload, len);
    mpt_trace_frame_close(out, len);
    return MPT_TRACE_FRAME_OVERHEAD + len;
}

/* Correctly framed records of random type and content: the decoders meet arbitrary payloads. */
START_TEST(test_random_payloads_under_valid_frames)
{
    fixture f;
    fixture_make(&f, MPT_TEST_SAMPLES_SMALL);
    uint8_t *img = malloc(f.hlen + 64 * 4200);
    uint8_t payload[4096];
    mpt_trace_record *rec = malloc(sizeof *rec);
    uint64_t st = 4;
    char err[512];
    for (int iter = 0; iter < 300; iter++) {
        size_t len = f.hlen;
        memcpy(img, f.data, f.hlen);
        int nrec = 1 + (int)(mpt_test_rand(&st) % 64);
        for (int i = 0; i < nrec; i++) {
            uint16_t type = (uint16_t)(mpt_test_rand(&st) % (MPT_REC_TYPE_COUNT + 2));
            uint32_t plen = (uint32_t)(mpt_test_rand(&st) % 400);
            if (type == MPT_REC_TENSOR && mpt_test_rand(&st) % 2)
                plen = 244 + (uint32_t)(mpt_test_rand(&st) % 3000);
            for (uint32_t b = 0; b < plen; b++)
                payload[b] = (uint8_t)mpt_test_rand(&st);
            if (type == MPT_REC_TENSOR && plen > 146) { /* often FULL, with plausible counts */
                payload[10] = MPT_LEVEL_FULL;
                payload[144] = (uint8_t)(mpt_test_rand(&st) % 8);
                mpt_put_u16(payload + 146, (uint16_t)(mpt_test_rand(&st) % 300));
            }
            len += put_frame(img + len, type, 0, payload, plen);
        }
        mpt_trace_reader *r = mpt_trace_reader_open_mem(img, len, err, sizeof err);
        MPT_CHECK(r != NULL, "a valid header refused: %s", err);
        mpt_trace_status s;
        while ((s = mpt_trace_reader_next(r, rec)) == MPT_TRACE_RECORD)
            ;
        MPT_CHECK(s == MPT_TRACE_EOF || s == MPT_TRACE_CORRUPT, "status %d", s);
        MPT_CHECK(mpt_trace_reader_records(r) + mpt_trace_reader_skipped(r) <= (uint64_t)nrec,
                  "more records than framed");
        mpt_trace_reader_close(r);
    }
    free(rec);
    free(img);
    fixture_free(&f);
}
END_TEST

/* ---- length fields
 * -------------------------------------------------------------------------------- */

START_TEST(test_huge_length)
{
    fixture f;
    fixture_make(&f, MPT_TEST_SAMPLES_SMALL);
    size_t k = 5; /* damage the sixth record's length */
    uint8_t *img = malloc(f.len);
    char err[512];
    struct {
        uint32_t len;
        int fix_head_crc;
        mpt_trace_status want;
        const char *msg;
    } rows[] = {
        {0xFFFFFFFFu, 1, MPT_TRACE_CORRUPT, "over the"},
        {0xFFFFFFFFu, 0, MPT_TRACE_CORRUPT, "header checksum"},
        {MPT_TRACE_MAX_PAYLOAD + 1, 1, MPT_TRACE_CORRUPT, "over the"},
        {MPT_TRACE_MAX_PAYLOAD, 1, MPT_TRACE_TRUNCATED, "ends inside"}, /* believed: too short */
        {0, 1, MPT_TRACE_CORRUPT, "checksum mismatch"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memcpy(img, f.data, f.len);
        /* Cut after the damaged frame's head, so the limit case is a truncation. */
        size_t len = rows[i].want == MPT_TRACE_TRUNCATED ? f.off[k] + 20 : f.len;
        mpt_put_u32(img + f.off[k], rows[i].len);
        if (rows[i].fix_head_crc) mpt_put_u32(img + f.off[k] + 8, mpt_crc32c(0, img + f.off[k], 8));
        mpt_trace_reader *r = mpt_trace_reader_open_mem(img, len, err, sizeof err);
        size_t n;
        mpt_trace_status st = read_checked(r, f.s, &n);
        MPT_CHECK(st == rows[i].want, "row %zu: status %d (%s)", i, st, mpt_trace_reader_error(r));
        ck_assert_uint_eq(n, k);
        MPT_CHECK(strstr(mpt_trace_reader_error(r), rows[i].msg), "row %zu: %s", i,
                  mpt_trace_reader_error(r));
        mpt_trace_reader_close(r);
    }
    free(img);
    fixture_free(&f);
}
END_TEST

/* ---- malformed records under valid checksums
 * ------------------------------------------------------ */

typedef struct malformed {
    const char *what;
    uint16_t type;
    uint32_t len;
    size_t at[4]; /* offsets to patch... */
    uint64_t val[4];
    int width[4]; /* ...with values of these widths (0: end) */
} malformed;

static const malformed malformed_rows[] = {
    {"GEMM too short", MPT_REC_GEMM, 191, {0}, {0}, {0}},
    {"STEP too short", MPT_REC_STEP, 23, {0}, {0}, {0}},
    {"END too short", MPT_REC_END, 10, {0}, {0}, {0}},
    {"STRING id 0", MPT_REC_STRING, 12, {0, 4}, {0, 4}, {4, 4}},
    {"STRING longer than payload", MPT_REC_STRING, 12, {0, 4}, {1, 5}, {4, 4}},
    {"STRING length 0xFFFFFFFF", MPT_REC_STRING, 12, {0, 4}, {1, 0xFFFFFFFFu}, {4, 4}},
    {"MESSAGE longer than payload", MPT_REC_MESSAGE, 30, {16}, {11}, {4}},
    {"TENSOR too short", MPT_REC_TENSOR, 71, {0}, {0}, {0}},
    {"full TENSOR too short", MPT_REC_TENSOR, 147, {10}, {MPT_LEVEL_FULL}, {1}},
    {"full TENSOR, 3 narrow formats", MPT_REC_TENSOR, 244, {10, 144}, {2, 3}, {1, 1}},
    {"full TENSOR, 259 buckets",
     MPT_REC_TENSOR,
     244 + 2590,
     {10, 144, 146},
     {2, 4, 259},
     {1, 1, 2}},
    {"full TENSOR, buckets missing",
     MPT_REC_TENSOR,
     244 + 10,
     {10, 144, 146},
     {2, 4, 2},
     {1, 1, 2}},
    {"full TENSOR, bucket 258",
     MPT_REC_TENSOR,
     244 + 10,
     {10, 144, 146, 244},
     {2, 4, 1, 258},
     {1, 1, 2, 2}},
    {"full TENSOR, buckets out of order",
     MPT_REC_TENSOR,
     244 + 20,
     {10, 146, 244, 254},
     {2, 2, 7, 7},
     {1, 2, 2, 2}},
};

START_TEST(test_malformed_record)
{
    const malformed *m = &malformed_rows[_i];
    fixture f;
    fixture_make(&f, MPT_TEST_SAMPLES_SMALL);
    size_t k = 10; /* insert the bad record before the eleventh */
    uint8_t *img = malloc(f.len + 4000);
    memcpy(img, f.data, f.off[k]);
    uint8_t payload[3000] = {0};
    payload[144] = MPT_NARROW_COUNT; /* a valid full TENSOR unless a row says otherwise */
    for (int i = 0; i < 4 && m->width[i]; i++) {
        if (m->width[i] == 1)
            payload[m->at[i]] = (uint8_t)m->val[i];
        else if (m->width[i] == 2)
            mpt_put_u16(payload + m->at[i], (uint16_t)m->val[i]);
        else
            mpt_put_u32(payload + m->at[i], (uint32_t)m->val[i]);
    }
    size_t len = f.off[k] + put_frame(img + f.off[k], m->type, 0, payload, m->len);
    memcpy(img + len, f.data + f.off[k], f.len - f.off[k]);
    len += f.len - f.off[k];
    char err[512];
    mpt_trace_reader *r = mpt_trace_reader_open_mem(img, len, err, sizeof err);
    size_t n;
    mpt_trace_status st = read_checked(r, f.s, &n);
    MPT_CHECK(st == MPT_TRACE_CORRUPT && n == k, "%s: status %d after %zu", m->what, st, n);
    MPT_CHECK(strstr(mpt_trace_reader_error(r), "malformed"), "%s: %s", m->what,
              mpt_trace_reader_error(r));
    ck_assert_uint_eq(mpt_trace_reader_offset(r), f.off[k]);
    mpt_trace_reader_close(r);
    free(img);
    fixture_free(&f);
}
END_TEST

/* ---- versions
 * ------------------------------------------------------------------------------------- */

/* A header written by hand from the table in docs/trace-format.md. */
static size_t put_header(uint8_t *out, uint16_t major, uint16_t minor, size_t extension)
{
    static const char host[] = "node7", cmd[] = "./train\0--fp16";
    size_t len = 64 + 5 + sizeof cmd + extension + 4;
    memcpy(out, "\x89MPT\r\n\x1a\n", 8);
    mpt_put_u16(out + 8, major);
    mpt_put_u16(out + 10, minor);
    mpt_put_u32(out + 12, (uint32_t)len);
    mpt_put_u32(out + 16, 0);
    mpt_put_i32(out + 20, 4321);
    mpt_put_i32(out + 24, -1);
    mpt_put_i32(out + 28, 0);
    mpt_put_i32(out + 32, 2);
    mpt_put_u32(out + 36, 0);
    mpt_put_i64(out + 40, 1700000000000000000);
    mpt_put_u64(out + 48, 5);
    mpt_put_u16(out + 56, 5);
    mpt_put_u16(out + 58, 0);
    mpt_put_u32(out + 60, sizeof cmd);
    memcpy(out + 64, host, 5);
    memcpy(out + 69, cmd, sizeof cmd);
    memset(out + 69 + sizeof cmd, 0xAB, extension); /* fields of a newer minor */
    mpt_put_u32(out + len - 4, mpt_crc32c(0, out, len - 4));
    return len;
}

START_TEST(test_newer_minor_is_read)
{
    uint8_t *img = calloc(1, 8192);
    uint8_t payload[1024];
    size_t len = put_header(img, 1, 7, 20);
    /* STRING with trailing bytes */
    memset(payload, 0xEE, sizeof payload);
    mpt_put_u32(payload, 1);
    mpt_put_u32(payload + 4, 1);
    payload[8] = 'x';
    len += put_frame(img + len, MPT_REC_STRING, 0, payload, 8 + 1 + 5);
    /* a record type this reader does not know */
    len += put_frame(img + len, 200, 0, payload, 50);
    /* GEMM with 24 bytes of newer fields */
    mpt_trace_record g;
    memset(&g, 0, sizeof g);
    g.type = MPT_REC_GEMM;
    g.u.gemm.seq = 9, g.u.gemm.m = 3, g.u.gemm.layer = 1, g.u.gemm.beta = -2.0;
    memset(payload, 0xEE, sizeof payload);
    mpt_trace_payload_encode(&g, payload);
    len += put_frame(img + len, MPT_REC_GEMM, 0, payload, 192 + 24);
    /* STEP flagged with a must-understand bit (skipped) and with an ignorable one (read) */
    mpt_trace_record s = {.type = MPT_REC_STEP};
    s.u.step.step = 11;
    mpt_trace_payload_encode(&s, payload);
    len += put_frame(img + len, MPT_REC_STEP, 1u << 3, payload, 24);
    len += put_frame(img + len, MPT_REC_STEP, 1u << 12, payload, 24);
    /* full TENSOR with two more narrow formats, one bucket, and a tail */
    memset(payload, 0, sizeof payload);
    payload[10] = MPT_LEVEL_FULL;
    mpt_put_u64(payload + 40, 77);
    payload[144] = MPT_NARROW_COUNT + 2;
    mpt_put_u16(payload + 146, 1);
    mpt_put_u64(payload + 148 + 3 * 24 + 16, 5); /* e5m2 flush */
    mpt_put_u64(payload + 148 + 4 * 24, 999);    /* a narrow format from the future */
    size_t hist_at = 148 + 6 * 24;
    mpt_put_u16(payload + hist_at, MPT_HIST_NAN);
    mpt_put_u64(payload + hist_at + 2, 77);
    len += put_frame(img + len, MPT_REC_TENSOR, 0, payload, (uint32_t)(hist_at + 10 + 7));
    mpt_trace_record e = {.type = MPT_REC_END};
    e.u.end.how = MPT_END_EXIT;
    mpt_trace_payload_encode(&e, payload);
    len += put_frame(img + len, MPT_REC_END, 0, payload, 24 + 8);

    char err[512];
    mpt_trace_reader *r = mpt_trace_reader_open_mem(img, len, err, sizeof err);
    MPT_CHECK(r != NULL, "%s", err);
    const mpt_trace_header *h = mpt_trace_reader_header(r);
    ck_assert_uint_eq(h->version_minor, 7);
    ck_assert_int_eq(h->pid, 4321);
    ck_assert_int_eq(h->world_size, 2);
    ck_assert_str_eq(h->hostname, "node7");
    ck_assert_uint_eq(h->cmdline_len, 15);
    mpt_trace_record *rec = malloc(sizeof *rec);
    static const mpt_record_type want[] = {MPT_REC_STRING, MPT_REC_GEMM, MPT_REC_STEP,
                                           MPT_REC_TENSOR, MPT_REC_END};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_RECORD);
        ck_assert_int_eq(rec->type, want[i]);
        if (rec->type == MPT_REC_GEMM) {
            const char *d = mpt_test_record_diff(&g, rec);
            MPT_CHECK(d == NULL, "%s", d);
        }
        if (rec->type == MPT_REC_TENSOR) {
            ck_assert_uint_eq(rec->u.tensor.full.count, 77);
            ck_assert_uint_eq(rec->u.tensor.full.narrow[MPT_NARROW_E5M2].flush, 5);
            ck_assert_uint_eq(rec->u.tensor.full.hist[MPT_HIST_NAN], 77);
        }
    }
    ck_assert_str_eq(mpt_trace_reader_string(r, 1), "x");
    ck_assert_int_eq(mpt_trace_reader_next(r, rec), MPT_TRACE_EOF);
    ck_assert_uint_eq(mpt_trace_reader_skipped(r), 2);
    mpt_trace_reader_close(r);
    free(rec);
    free(img);
}
END_TEST

typedef struct refusal {
    const char *what;
    const char *bytes;
    size_t len;
    const char *msg;
} refusal;

START_TEST(test_refused_files)
{
    uint8_t hdr[256];
    char err[512];
    size_t hl = put_header(hdr, 1, 0, 0);
    uint8_t v2[256], v0[256], badcrc[256], longhdr[256], shorthdr[256];
    put_header(v2, 2, 0, 0);
    put_header(v0, 0, 9, 0);
    memcpy(badcrc, hdr, hl), badcrc[30] ^= 1;
    memcpy(longhdr, hdr, hl), mpt_put_u32(longhdr + 12, MPT_TRACE_HEADER_MAX + 1);
    memcpy(shorthdr, hdr, hl), mpt_put_u32(shorthdr + 12, 40);
    const refusal rows[] = {
        {"empty", "", 0, "empty file"},
        {"text", "hello, world\n", 13, "not an mptrace trace"},
        {"a PNG", "\x89PNG\r\n\x1a\n", 8, "not an mptrace trace"},
        {"CRLF damage", "\x89MPT\r\r\n\x1a\n", 9, "text-mode"},
        {"LF->CRLF", "\x89MPT\n\x1a\n\0\0\0\0\0\0\0\0\0", 16, "text-mode"},
        {"magic only", "\x89MPT\r\n\x1a\n", 8, "truncated header"},
        {"newer major", (const char *)v2, hl, "newer"},
        {"major 0", (const char *)v0, hl, "not supported"},
        {"header checksum", (const char *)badcrc, hl, "header checksum mismatch"},
        {"header too long", (const char *)longhdr, hl, "out of range"},
        {"header too short", (const char *)shorthdr, hl, "out of range"},
        {"header cut", (const char *)hdr, hl - 1, "truncated header"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        MPT_CHECK(mpt_trace_reader_open_mem(rows[i].bytes, rows[i].len, err, sizeof err) == NULL,
                  "%s accepted", rows[i].what);
        MPT_CHECK(strstr(err, rows[i].msg), "%s: \"%s\"", rows[i].what, err);
    }
    /* The newer-major message names both versions. */
    mpt_trace_reader_open_mem(v2, hl, err, sizeof err);
    MPT_CHECK(strstr(err, "2.0") && strstr(err, "1.0"), "%s", err);
    /* Through a file, the message names the file. */
    char path[256];
    mpt_test_tmpfile(path, sizeof path, "refused");
    FILE *f = fopen(path, "wb");
    fwrite(v2, 1, hl, f);
    fclose(f);
    ck_assert_ptr_null(mpt_trace_reader_open(path, 0, err, sizeof err));
    MPT_CHECK(strstr(err, path) && strstr(err, "newer"), "%s", err);
    ck_assert_ptr_null(mpt_trace_reader_open(path, MPT_TRACE_FOLLOW, err, sizeof err));
    unlink(path);
}
END_TEST

extern Suite *suite_trace_corrupt(void);
Suite *suite_trace_corrupt(void)
{
    Suite *s = suite_create("trace_corrupt");
    TCase *tc = tcase_create("damage");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_truncate_at_every_offset);
    tcase_add_test(tc, test_truncate_file);
    tcase_add_test(tc, test_flip_every_byte);
    tcase_add_test(tc, test_random_overwrites);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_random_payloads_under_valid_frames);
    tcase_add_test(tc, test_huge_length);
    tcase_add_loop_test(tc, test_malformed_record, 0,
                        sizeof malformed_rows / sizeof malformed_rows[0]);
    suite_add_tcase(s, tc);
    tc = tcase_create("versions");
    tcase_add_test(tc, test_newer_minor_is_read);
    tcase_add_test(tc, test_refused_files);
    suite_add_tcase(s, tc);
    return s;
}
