/*
 * CRC-32C: the published vectors (the CRC catalogue's check value, RFC 3720 appendix B.4), and
 * every implementation (slicing-by-8, the crc32 instruction on one chain and on three
 * interleaved streams, and folding with VPCLMULQDQ where the CPU has it: the default path there)
 * against a bit-at-a-time reference on random data at every alignment and length that exercises
 * its head, body and tail loops, the three-stream and folding block boundaries, and chaining.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/crc32c.h"
#include "tests/unit/trace_samples.h"

/* The definition, one bit at a time: obviously right, slow. */
static uint32_t crc32c_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

typedef struct vector {
    const char *what;
    uint8_t data[48];
    size_t len;
    uint32_t crc;
} vector;

static const vector vectors[] = {
    {"check value \"123456789\"", "123456789", 9, 0xE3069283u},
    {"empty", "", 0, 0x00000000u},
    {"\"a\"", "a", 1, 0xC1D04330u},
    {"\"abc\"", "abc", 3, 0x364B3FB7u},
    /* RFC 3720 B.4 (the RFC prints the CRC bytes as sent: least significant first) */
    {"RFC 3720: 32 bytes of zeros", {0}, 32, 0x8A9136AAu},
    {"RFC 3720: 32 bytes of ones",
     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     32,
     0x62A8AB43u},
    {"RFC 3720: 32 incrementing bytes",
     {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
      16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31},
     32,
     0x46DD794Eu},
    {"RFC 3720: 32 decrementing bytes",
     {31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
      15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,  0},
     32,
     0x113FDB5Cu},
    {"RFC 3720: iSCSI SCSI Read (10) command PDU",
     {0x01, 0xc0, 0, 0,    0, 0, 0, 0,    0,    0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0, 0, 0, 0x04, 0,
      0,    0,    0, 0x14, 0, 0, 0, 0x18, 0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0,    0},
     48,
     0xD9963A56u},
};

START_TEST(test_published_vectors)
{
    const vector *v = &vectors[_i];
    uint32_t got = mpt_crc32c(0, v->data, v->len);
    MPT_CHECK(got == v->crc, "%s: got 0x%08x, expected 0x%08x", v->what, got, v->crc);
    MPT_CHECK(crc32c_ref(v->data, v->len) == v->crc, "%s: reference disagrees", v->what);
}
END_TEST

/* Every start alignment 0..7 and every length 0..300 (head, 8-byte body and tail loops). */
START_TEST(test_matches_reference)
{
    uint8_t buf[320];
    uint64_t st = 42;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)mpt_test_rand(&st);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= 308; n++)
            MPT_CHECK(mpt_crc32c(0, buf + off, n) == crc32c_ref(buf + off, n),
                      "offset %zu length %zu", off, n);
}
END_TEST

START_TEST(test_chaining)
{
    uint8_t buf[200];
    uint64_t st = 7;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)mpt_test_rand(&st);
    uint32_t whole = mpt_crc32c(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut++) {
        uint32_t c = mpt_crc32c(mpt_crc32c(0, buf, cut), buf + cut, sizeof buf - cut);
        MPT_CHECK(c == whole, "split at %zu", cut);
    }
}
END_TEST

/* Every single-bit error in a record-sized message changes the CRC (the property the reader's
 * "a flipped byte is always detected" promise rests on). */
START_TEST(test_detects_single_bit_errors)
{
    uint8_t buf[256];
    uint64_t st = 9;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)mpt_test_rand(&st);
    uint32_t good = mpt_crc32c(0, buf, sizeof buf);
    for (size_t bit = 0; bit < sizeof buf * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        MPT_CHECK(mpt_crc32c(0, buf, sizeof buf) != good, "bit %zu undetected", bit);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}
END_TEST

/* Lengths around the three-stream path's thresholds (3 x 64 and 3 x 1024 bytes, core/crc32c.c)
 * and their multiples, at every alignment and from a nonzero running CRC: a wrong shift table
 * or a block walked twice shows here first. */
START_TEST(test_stream_boundaries)
{
    static const size_t base[] = {192, 384, 3072, 6144, 3072 + 192, 6144 + 191};
    static uint8_t buf[6144 + 200 + 8];
    uint64_t st = 99;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)mpt_test_rand(&st);
    for (size_t b = 0; b < sizeof base / sizeof *base; b++)
        for (int d = -9; d <= 9; d += 3)
            for (size_t off = 0; off < 8; off += 3) {
                size_t n = base[b] + (size_t)d;
                uint32_t ref = crc32c_ref(buf + off, n);
                MPT_CHECK(mpt_crc32c(0, buf + off, n) == ref, "offset %zu length %zu", off, n);
                uint32_t head = mpt_crc32c(0, buf + off, 5);
                MPT_CHECK(mpt_crc32c(head, buf + off + 5, n - 5) == ref,
                          "chained: offset %zu length %zu", off, n);
            }
}
END_TEST

/* A large buffer: the slicing loop over many iterations agrees with the reference. */
START_TEST(test_large_buffer)
{
    enum { N = 1 << 20 };
    static uint8_t buf[N + 3];
    uint64_t st = 1234;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)mpt_test_rand(&st);
    ck_assert_uint_eq(mpt_crc32c(0, buf + 3, N), crc32c_ref(buf + 3, N));
}
END_TEST

static void software_on(void)
{
    mpt_crc32c_set_path(MPT_CRC32C_SOFTWARE);
}
static void one_stream_on(void)
{
    mpt_crc32c_set_path(MPT_CRC32C_HW_ONE_STREAM);
}
static void three_streams_on(void)
{
    mpt_crc32c_set_path(MPT_CRC32C_HW_THREE_STREAMS);
}
static void fold_on(void)
{
    mpt_crc32c_set_path(MPT_CRC32C_HW_FOLD);
}
static void path_auto(void)
{
    mpt_crc32c_set_path(MPT_CRC32C_AUTO);
}

/* The same tests on each path: the default (folding from 512 bytes, or three streams of the
 * crc32 instruction, whichever is the best the CPU has: mpt_crc32c_default_name), folding from
 * 128 bytes (so that its tails are tested at every length 128..308 too), three streams, the
 * instruction on one chain, and the software tables, so each is held to the published vectors
 * and the bitwise reference. */
static TCase *crc_tcase(const char *name, mpt_crc32c_path path)
{
    TCase *tc = tcase_create(name);
    if (path == MPT_CRC32C_SOFTWARE) tcase_add_checked_fixture(tc, software_on, path_auto);
    if (path == MPT_CRC32C_HW_ONE_STREAM) tcase_add_checked_fixture(tc, one_stream_on, path_auto);
    if (path == MPT_CRC32C_HW_THREE_STREAMS)
        tcase_add_checked_fixture(tc, three_streams_on, path_auto);
    if (path == MPT_CRC32C_HW_FOLD) tcase_add_checked_fixture(tc, fold_on, path_auto);
    tcase_add_loop_test(tc, test_published_vectors, 0, sizeof vectors / sizeof vectors[0]);
    tcase_add_test(tc, test_matches_reference);
    tcase_add_test(tc, test_chaining);
    tcase_add_test(tc, test_detects_single_bit_errors);
    tcase_add_test(tc, test_stream_boundaries);
    tcase_add_test(tc, test_large_buffer);
    return tc;
}

extern Suite *suite_crc32c(void);
Suite *suite_crc32c(void)
{
    Suite *s = suite_create("crc32c");
    if (strncmp(mpt_crc32c_default_name(), "folding", 7) != 0)
        printf("crc32c: this CPU has no VPCLMULQDQ/AVX2: the folding path is not tested here "
               "(default path: %s)\n",
               mpt_crc32c_default_name());
    suite_add_tcase(s, crc_tcase("default_path", MPT_CRC32C_AUTO));
    suite_add_tcase(s, crc_tcase("hw_fold", MPT_CRC32C_HW_FOLD));
    suite_add_tcase(s, crc_tcase("hw_three_streams", MPT_CRC32C_HW_THREE_STREAMS));
    suite_add_tcase(s, crc_tcase("hw_one_stream", MPT_CRC32C_HW_ONE_STREAM));
    suite_add_tcase(s, crc_tcase("software", MPT_CRC32C_SOFTWARE));
    return s;
}
