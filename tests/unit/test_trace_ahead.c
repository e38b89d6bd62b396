/*
 * The reader's read-ahead (core/trace_ahead.c) at its edges: frames cut by the end of a block,
 * damage in the first and the last frame of a block, truncation at and around a block's end, a
 * frame longer than a block, a file of exactly one block, a file that grows while it is read.
 *
 * Each file is built frame by frame, so that the test knows where the read-ahead's blocks begin
 * (every block starts at the first frame the previous one did not hold whole), and is read from
 * the file against the memory reader of the same bytes: the same records, final status, offset
 * and message, whatever the read-ahead did.
 */
#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/trace_ahead.h"
#include "core/trace_reader.h"
#include "core/trace_writer.h"
#include "tests/unit/trace_samples.h"

#define BLOCK     MPT_TRACE_AHEAD_BLOCK
#define BLOB_TYPE 0x7f00 /* a record type this build does not know: skipped by its length */

/* ---- building files -------------------------------------------------------------------------- */

typedef struct image {
    uint8_t *b;
    size_t n, cap;
    size_t hlen;
} image;

static uint8_t *room(image *im, size_t n)
{
    if (im->n + n > im->cap) {
        im->cap = (im->n + n) * 2;
        im->b = realloc(im->b, im->cap);
        ck_assert_ptr_nonnull(im->b);
    }
    uint8_t *p = im->b + im->n;
    im->n += n;
    return p;
}

static void put_header(image *im)
{
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    im->hlen = mpt_trace_header_size(&h);
    mpt_trace_header_encode(&h, room(im, im->hlen));
}

static void put_gemm(image *im, uint64_t seq)
{
    mpt_trace_record r;
    memset(&r, 0, sizeof r);
    r.type = MPT_REC_GEMM;
    r.u.gemm = (mpt_trace_gemm){.seq = seq, .step = (int64_t)(seq / 64), .m = 8, .n = 8, .k = 8};
    uint32_t len = (uint32_t)mpt_trace_payload_size(&r);
    uint8_t *f = room(im, MPT_TRACE_FRAME_OVERHEAD + len);
    mpt_trace_frame_open(f, MPT_REC_GEMM, 0, len);
    mpt_trace_payload_encode(&r, f + MPT_TRACE_FRAME_HEAD);
    mpt_trace_frame_close(f, len);
}

/* A frame of a type the reader skips, `len` payload bytes: any frame size the test wants. */
static void put_blob(image *im, uint32_t len, uint64_t *st)
{
    uint8_t *f = room(im, MPT_TRACE_FRAME_OVERHEAD + (size_t)len);
    mpt_trace_frame_open(f, BLOB_TYPE, 0, len);
    for (uint32_t i = 0; i < len; i++)
        f[MPT_TRACE_FRAME_HEAD + i] = (uint8_t)mpt_test_rand(st);
    mpt_trace_frame_close(f, len);
}

/* GEMMs and blobs of random sizes until the image holds `bytes`: frame ends fall anywhere. */
static void put_mix(image *im, size_t bytes, uint64_t *st)
{
    uint64_t seq = 0;
    while (im->n < bytes) {
        if (mpt_test_rand(st) % 3)
            put_gemm(im, seq++);
        else
            put_blob(im, (uint32_t)(mpt_test_rand(st) % 5000), st);
    }
}

/* Where the read-ahead's blocks start in an intact image, as trace_ahead.c lays them out. */
static size_t block_starts(const image *im, size_t *starts, size_t max)
{
    size_t n = 0, at = im->hlen;
    while (n < max && at < im->n) {
        starts[n++] = at;
        size_t end = at, f = at;
        while (im->n - f >= MPT_TRACE_FRAME_HEAD) {
            size_t total = MPT_TRACE_FRAME_OVERHEAD + mpt_get_u32(im->b + f);
            if (total > BLOCK || f + total > at + BLOCK || f + total > im->n) break;
            f += total;
            end = f;
        }
        if (end == at) break; /* a frame longer than a block, or the end */
        at = end;
    }
    return n;
}

/* ---- reading --------------------------------------------------------------------------------- */

typedef struct outcome {
    uint64_t n, hash, offset, truncated, records, skipped;
    mpt_trace_status st;
    char msg[600]; /* without the "<name>: " prefix */
} outcome;

static void fold_record(outcome *o, const mpt_trace_record *rec)
{
    o->n++;
    o->hash = mpt_test_fnv(o->hash, &rec->type, sizeof rec->type);
    o->hash = mpt_test_fnv(o->hash, &rec->offset, sizeof rec->offset);
    o->hash = mpt_test_fnv(o->hash, &rec->payload_len, sizeof rec->payload_len);
    if (rec->type == MPT_REC_GEMM)
        o->hash = mpt_test_fnv(o->hash, &rec->u.gemm, sizeof rec->u.gemm);
}

static void outcome_init(outcome *o)
{
    memset(o, 0, sizeof *o);
    o->hash = MPT_TEST_FNV_START;
}

/* Reads what is left, and how it ended, into o. */
static void read_rest(mpt_trace_reader *r, outcome *o)
{
    static mpt_trace_record rec;
    while ((o->st = mpt_trace_reader_next(r, &rec)) == MPT_TRACE_RECORD)
        fold_record(o, &rec);
    o->offset = mpt_trace_reader_offset(r);
    o->truncated = mpt_trace_reader_truncated_bytes(r);
    o->records = mpt_trace_reader_records(r);
    o->skipped = mpt_trace_reader_skipped(r);
    const char *e = mpt_trace_reader_error(r), *colon = strstr(e, ": ");
    snprintf(o->msg, sizeof o->msg, "%s", colon ? colon + 2 : e);
}

static void read_all(mpt_trace_reader *r, outcome *o)
{
    outcome_init(o);
    read_rest(r, o);
}

static void check_same(const outcome *want, const outcome *got, const char *what)
{
    MPT_CHECK(want->n == got->n, "%s: %llu records, want %llu", what, (unsigned long long)got->n,
              (unsigned long long)want->n);
    MPT_CHECK(want->hash == got->hash, "%s: records differ", what);
    MPT_CHECK(want->st == got->st, "%s: status %d, want %d", what, got->st, want->st);
    MPT_CHECK(want->offset == got->offset, "%s: offset %llu, want %llu", what,
              (unsigned long long)got->offset, (unsigned long long)want->offset);
    MPT_CHECK(want->truncated == got->truncated, "%s: truncated", what);
    MPT_CHECK(want->records == got->records && want->skipped == got->skipped, "%s: counts", what);
    MPT_CHECK(strcmp(want->msg, got->msg) == 0, "%s: '%s', want '%s'", what, got->msg, want->msg);
}

/* The read-ahead on its own, over the file `img` was written to from the first frame at `from`:
 * its spans follow each other, hold the file's bytes, and it stops at `want_end`. Without this,
 * a read-ahead that stopped early would go unnoticed: the reader would read the rest itself. */
static void check_spans(const char *path, const uint8_t *img, size_t from, uint64_t want_end,
                        const char *what)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    mpt_trace_ahead *p = mpt_trace_ahead_start(fileno(f), from);
    ck_assert_ptr_nonnull(p);
    uint64_t pos = from, at;
    size_t n;
    const uint8_t *s;
    while ((s = mpt_trace_ahead_next(p, &at, &n)) != NULL) {
        MPT_CHECK(at == pos && n > 0 && n <= BLOCK, "%s: span at %llu (+%zu), want %llu", what,
                  (unsigned long long)at, n, (unsigned long long)pos);
        MPT_CHECK(memcmp(s, img + at, n) == 0, "%s: span at %llu: other bytes", what,
                  (unsigned long long)at);
        pos += n;
    }
    MPT_CHECK(at == pos && pos == want_end, "%s: read ahead to %llu (stop at %llu), want %llu",
              what, (unsigned long long)pos, (unsigned long long)at, (unsigned long long)want_end);
    mpt_trace_ahead_end(p);
    fclose(f);
}

/* The first n bytes of `data` with the byte at `flip` (if < n) changed, read from a file (with
 * and without SPARSE) and from memory: the same. The read-ahead alone goes up to `ahead_end`,
 * or where the memory reader stopped (SIZE_MAX). */
static void compare(const char *path, const uint8_t *data, size_t n, size_t flip, size_t hlen,
                    size_t ahead_end, const char *what)
{
    static uint8_t *img;
    static size_t cap;
    if (n > cap) {
        free(img);
        img = malloc(cap = n);
        ck_assert_ptr_nonnull(img);
    }
    memcpy(img, data, n);
    if (flip < n) img[flip] ^= 0x10;
    mpt_test_write_file(path, img, n);
    char err[512];
    outcome want, got;
    mpt_trace_reader *r = mpt_trace_reader_open_mem(img, n, err, sizeof err);
    ck_assert_msg(r != NULL, "%s: %s", what, err);
    read_all(r, &want);
    mpt_trace_reader_close(r);
    for (unsigned flags = 0; flags <= MPT_TRACE_SPARSE; flags += MPT_TRACE_SPARSE) {
        r = mpt_trace_reader_open(path, flags, err, sizeof err);
        ck_assert_msg(r != NULL, "%s: %s", what, err);
        read_all(r, &got);
        mpt_trace_reader_close(r);
        check_same(&want, &got, what);
    }
    check_spans(path, img, hlen, ahead_end == SIZE_MAX ? want.offset : ahead_end, what);
}

/* Without a second CPU the reader does not read ahead: these tests then check the plain path. */
static void note_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < 2)
        printf("SKIP: one CPU: the read-ahead is not used, the plain reader is tested instead\n");
}

/* ---- the cases ------------------------------------------------------------------------------- */

/* Cuts and flipped bytes at and around every block's end and start. */
START_TEST(test_ahead_block_edges)
{
    note_cpus();
    char path[256], what[96];
    mpt_test_tmpfile(path, sizeof path, "ahead");
    uint64_t st = 0xb10c;
    image im = {0};
    put_header(&im);
    put_mix(&im, 3 * (size_t)BLOCK + BLOCK / 2, &st);
    size_t starts[8], nb = block_starts(&im, starts, 8);
    ck_assert_uint_ge(nb, 4);
    compare(path, im.b, im.n, SIZE_MAX, im.hlen, SIZE_MAX, "intact");
    static const long around[] = {-17, -16, -13, -12, -11, -1, 0, 1, 11, 12, 13, 16, 17};
    for (size_t k = 0; k + 1 < nb; k++) {
        size_t end = starts[k] + BLOCK, next = starts[k + 1];
        ck_assert_uint_lt(next, end); /* the frame at `next` is cut by the block's end */
        for (size_t i = 0; i < sizeof around / sizeof *around; i++) {
            size_t cut = (size_t)((long)end + around[i]);
            snprintf(what, sizeof what, "block %zu: cut at its end %+ld", k, around[i]);
            compare(path, im.b, cut, SIZE_MAX, im.hlen, SIZE_MAX, what);
            cut = (size_t)((long)next + around[i]);
            snprintf(what, sizeof what, "block %zu: cut at the cut frame %+ld", k, around[i]);
            compare(path, im.b, cut, SIZE_MAX, im.hlen, SIZE_MAX, what);
        }
        /* damage: the block's first frame (head, payload), its last whole frame (payload, CRC),
         * the frame its end cuts (head, and its bytes in the block, and after) */
        size_t flips[] = {starts[k] + 1, starts[k] + 14, next - 5, next - 1,
                          next + 2,      end - 1,        end,      end + 1};
        for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
            snprintf(what, sizeof what, "block %zu: byte %zu flipped", k, flips[i]);
            compare(path, im.b, im.n, flips[i], im.hlen, SIZE_MAX, what);
        }
    }
    free(im.b);
    unlink(path);
}
END_TEST

/* Frames as long as a block (read ahead) and one byte longer (the reader's own), amid others;
 * the reading goes on after them. */
START_TEST(test_ahead_frame_longer_than_block)
{
    note_cpus();
    char path[256];
    mpt_test_tmpfile(path, sizeof path, "ahead");
    uint64_t st = 0xb16;
    for (int c = 0; c < 3; c++) {
        image im = {0};
        put_header(&im);
        put_mix(&im, im.n + (size_t)BLOCK * 3 / 4 + (size_t)c * 1000, &st);
        size_t big_at = im.n;
        put_blob(&im, BLOCK - MPT_TRACE_FRAME_OVERHEAD + (c == 2 ? 0 : 1), &st);
        if (c == 1) put_blob(&im, BLOCK - MPT_TRACE_FRAME_OVERHEAD + 1, &st);
        put_mix(&im, im.n + (size_t)BLOCK * 3 / 2, &st);
        char what[96];
        snprintf(what, sizeof what, "case %d: intact", c);
        compare(path, im.b, im.n, SIZE_MAX, im.hlen, c == 2 ? SIZE_MAX : big_at, what);
        snprintf(what, sizeof what, "case %d: cut in the long frame", c);
        compare(path, im.b, big_at + BLOCK / 2, SIZE_MAX, im.hlen, c == 2 ? SIZE_MAX : big_at,
                what);
        snprintf(what, sizeof what, "case %d: long frame damaged", c);
        compare(path, im.b, im.n, big_at + BLOCK / 3, im.hlen, c == 2 ? SIZE_MAX : big_at, what);
        snprintf(what, sizeof what, "case %d: damage after the long frame", c);
        compare(path, im.b, im.n, im.n - 100, im.hlen, c == 2 ? SIZE_MAX : big_at, what);
        free(im.b);
    }
    unlink(path);
}
END_TEST

/* Frames filling exactly one block after the header (then the end, or a stray byte), and a file
 * of exactly one block in all. */
START_TEST(test_ahead_one_block)
{
    note_cpus();
    char path[256];
    mpt_test_tmpfile(path, sizeof path, "ahead");
    uint64_t st = 0x1b;
    for (int c = 0; c < 2; c++) {
        image im = {0};
        put_header(&im);
        size_t end = c == 0 ? im.hlen + BLOCK : BLOCK;
        put_mix(&im, end - 6000, &st);
        put_blob(&im, (uint32_t)(end - im.n - MPT_TRACE_FRAME_OVERHEAD), &st);
        ck_assert_uint_eq(im.n, end);
        char what[96];
        snprintf(what, sizeof what, "%s: intact", c ? "file of one block" : "one block of frames");
        compare(path, im.b, im.n, SIZE_MAX, im.hlen, SIZE_MAX, what);
        snprintf(what, sizeof what, "%s: last byte flipped", c ? "file" : "frames");
        compare(path, im.b, im.n, im.n - 1, im.hlen, SIZE_MAX, what);
        room(&im, 1)[0] = 0xee;
        snprintf(what, sizeof what, "%s + 1 stray byte", c ? "file" : "frames");
        compare(path, im.b, im.n, SIZE_MAX, im.hlen, SIZE_MAX, what);
        free(im.b);
    }
    unlink(path);
}
END_TEST

/* A file appended to while it is being read (no FOLLOW): read to its end at the time of each
 * read, as read(2) gives it, whether the read-ahead had reached the old end or not. */
START_TEST(test_ahead_file_grows_while_read)
{
    note_cpus();
    char path[256], err[512];
    mpt_test_tmpfile(path, sizeof path, "ahead");
    uint64_t st = 0x960;
    image im = {0};
    put_header(&im);
    put_mix(&im, 5 * (size_t)BLOCK, &st);
    static const size_t firsts[] = {3 * BLOCK / 2 + 7, 4 * BLOCK + 3};
    outcome want;
    mpt_trace_reader *r = mpt_trace_reader_open_mem(im.b, im.n, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    read_all(r, &want);
    mpt_trace_reader_close(r);
    for (size_t a = 0; a < 2; a++) {
        outcome part; /* the whole records before the cut */
        r = mpt_trace_reader_open_mem(im.b, firsts[a], err, sizeof err);
        ck_assert_msg(r != NULL, "%s", err);
        read_all(r, &part);
        mpt_trace_reader_close(r);
        ck_assert_int_eq(part.st, MPT_TRACE_TRUNCATED);
        const uint64_t reads[] = {10, part.n / 2, part.n};
        for (size_t b = 0; b < 3; b++) {
            mpt_test_write_file(path, im.b, firsts[a]);
            r = mpt_trace_reader_open(path, MPT_TRACE_SPARSE, err, sizeof err);
            ck_assert_msg(r != NULL, "%s", err);
            static mpt_trace_record rec;
            outcome got;
            outcome_init(&got);
            for (uint64_t i = 0; i < reads[b]; i++) {
                ck_assert_int_eq(mpt_trace_reader_next(r, &rec), MPT_TRACE_RECORD);
                fold_record(&got, &rec);
            }
            FILE *f = fopen(path, "ab");
            ck_assert_ptr_nonnull(f);
            ck_assert_uint_eq(fwrite(im.b + firsts[a], 1, im.n - firsts[a], f), im.n - firsts[a]);
            ck_assert_int_eq(fclose(f), 0);
            read_rest(r, &got);
            mpt_trace_reader_close(r);
            char what[96];
            snprintf(what, sizeof what, "grown at %zu after %llu records", firsts[a],
                     (unsigned long long)reads[b]);
            check_same(&want, &got, what);
            ck_assert_int_eq(got.st, MPT_TRACE_EOF);
        }
    }
    free(im.b);
    unlink(path);
}
END_TEST

extern Suite *suite_trace_ahead(void);
Suite *suite_trace_ahead(void)
{
    Suite *s = suite_create("trace_ahead");
    TCase *tc = tcase_create("ahead");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ahead_block_edges);
    tcase_add_test(tc, test_ahead_frame_longer_than_block);
    tcase_add_test(tc, test_ahead_one_block);
    tcase_add_test(tc, test_ahead_file_grows_while_read);
    suite_add_tcase(s, tc);
    return s;
}
