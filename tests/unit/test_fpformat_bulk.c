/*
 * Suite `fpformat_bulk`: the array encoders of core/fpformat_bulk.c give, for every element,
 * exactly what the scalar encoders give (which test_fpformat_oracle.c ties to NVIDIA's), on both
 * the vector and the scalar path, for every length 0..67 (the vector tails), misaligned
 * pointers, adversarial values (NaN payloads of both signs, ±Inf, ±0, fp32 subnormals, the
 * rounding midpoints at fp16's max and min subnormal) and a random sample of bit patterns.
 * Where NVIDIA's headers are present the vector results are also compared with them directly.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fpformat.h"
#include "tests/oracle/nv_oracle.h"

#define N_RANDOM (1u << 16)

static const uint32_t edge_bits[] = {
    0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00000u, 0x7f800001u,
    0xff800001u, 0x7fbfffffu, 0x7fffffffu, 0x00000001u, 0x807fffffu, 0x477fe000u, 0x477fefffu,
    0x477ff000u, 0x477ff001u, 0xc77ff000u, 0x33000000u, 0x33000001u, 0xb3000000u, 0x33800000u,
    0x387fc000u, 0x387fe000u, 0x38800000u, 0x3f800000u, 0x3f808000u, 0x3f818000u, 0x7f7fffffu,
    0xff7fffffu, 0x7f7f8000u, 0x7f7f7fffu, 0x3c00a000u, 0x3effffffu,
};

static uint32_t rng_state = 0x12345678u;
static uint32_t next_bits(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* src: the edge list, then random patterns; +1 float of slack so src+1 is misaligned data. */
static float *make_inputs(size_t *n_out)
{
    size_t n_edge = sizeof edge_bits / sizeof edge_bits[0];
    size_t n = n_edge + N_RANDOM;
    uint32_t *bits = malloc((n + 1) * sizeof *bits);
    ck_assert_ptr_nonnull(bits);
    memcpy(bits, edge_bits, sizeof edge_bits);
    for (size_t i = n_edge; i <= n; i++)
        bits[i] = next_bits();
    *n_out = n;
    return (float *)bits;
}

typedef void (*array_fn)(uint16_t *, const float *, size_t);
typedef uint16_t (*scalar_fn)(float);

static uint16_t scalar_f16(float f)
{
    return mpt_f32_to_f16(f);
}
static uint16_t scalar_bf16(float f)
{
    return mpt_f32_to_bf16(f);
}

static const struct {
    const char *name;
    array_fn array;
    scalar_fn scalar;
    uint16_t (*oracle)(float);
} cases[] = {
    {"fp16", mpt_f32_to_f16_array, scalar_f16, nv_f32_to_f16},
    {"bf16", mpt_f32_to_bf16_array, scalar_bf16, nv_f32_to_bf16},
};

static void check_against_scalar(int c, int forced_scalar)
{
    size_t n;
    float *src = make_inputs(&n);
    uint16_t *dst = malloc((n + 2) * sizeof *dst);
    ck_assert_ptr_nonnull(dst);
    mpt_fpformat_force_scalar(forced_scalar);

    /* Every length up to 67 from two alignments: the vector body and every tail. */
    unsigned bad = 0;
    for (size_t off = 0; off < 2; off++)
        for (size_t len = 0; len <= 67; len++) {
            dst[len + off] = 0xbeefu; /* canary just past the end */
            cases[c].array(dst + off, src + off, len);
            for (size_t i = 0; i < len; i++)
                bad += dst[off + i] != cases[c].scalar(src[off + i]);
            bad += dst[len + off] != 0xbeefu;
        }
    /* The whole sample in one call, misaligned by one element. */
    cases[c].array(dst + 1, src + 1, n - 1);
    size_t first_bad = n;
    for (size_t i = 1; i < n; i++)
        if (dst[i] != cases[c].scalar(src[i])) {
            bad++;
            if (first_bad == n) first_bad = i;
        }
    if (nv_oracle_available())
        for (size_t i = 1; i < n; i++)
            bad += dst[i] != cases[c].oracle(src[i]);

    mpt_fpformat_force_scalar(0);
    ck_assert_msg(bad == 0, "%s array encoder (%s path): %u mismatches, first at input %zu",
                  cases[c].name, forced_scalar ? "scalar" : "vector", bad, first_bad);
    free(src);
    free(dst);
}

START_TEST(test_vector_path)
{
    check_against_scalar(_i, 0);
}
END_TEST

START_TEST(test_scalar_path)
{
    check_against_scalar(_i, 1);
}
END_TEST

extern Suite *suite_fpformat_bulk(void);
Suite *suite_fpformat_bulk(void)
{
    Suite *s = suite_create("fpformat_bulk");
    TCase *tc = tcase_create("array_encoders");
    int n = (int)(sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_vector_path, 0, n);
    tcase_add_loop_test(tc, test_scalar_path, 0, n);
    suite_add_tcase(s, tc);
    return s;
}
