/*
 * Suite `fpformat`: core/fpformat.h against a slow, obviously-correct reference written here in
 * double precision, independent of the code under test (it shares no constant or helper with
 * it: formats are described by their field widths only).
 *
 * The reference decodes a bit pattern with the textbook formula and rounds a value by finding
 * the two representable neighbours (floor to the ulp of the value's binade, or of the subnormal
 * range) and picking the nearer, the even one on a tie; only then is the result compared with
 * the largest finite value, which is what "round to nearest even, overflow after rounding"
 * means. Inputs: every bit pattern of each narrow format and every midpoint between two
 * neighbouring values (and one fp32 ulp either side), fp32 subnormals, ±0, ±Inf, NaNs, powers
 * of two and a seeded random sample. NVIDIA's oracle is test_fpformat_oracle.c's job.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/fpformat.h"

/* ---- the reference ------------------------------------------------------------------------ */

/* A binary format by its fields. fn: no Inf, only the all-ones pattern is NaN (e4m3fn). */
typedef struct ref_fmt {
    const char *name;
    int exp_bits, man_bits;
    int fn;
} ref_fmt;

static const ref_fmt REF_F16 = {"fp16", 5, 10, 0};
static const ref_fmt REF_BF16 = {"bf16", 8, 7, 0};
static const ref_fmt REF_TF32 = {"tf32", 8, 10, 0};
static const ref_fmt REF_E4M3 = {"e4m3", 4, 3, 1};
static const ref_fmt REF_E5M2 = {"e5m2", 5, 2, 0};

static int ref_bias(const ref_fmt *F)
{
    return (1 << (F->exp_bits - 1)) - 1;
}

static double ref_decode(const ref_fmt *F, uint32_t bits)
{
    uint32_t emax = (1u << F->exp_bits) - 1, mmax = (1u << F->man_bits) - 1;
    int s = (bits >> (F->exp_bits + F->man_bits)) & 1;
    uint32_t e = (bits >> F->man_bits) & emax, m = bits & mmax;
    double v;
    if (F->fn ? (e == emax && m == mmax) : (e == emax && m != 0)) return NAN;
    if (!F->fn && e == emax)
        v = INFINITY;
    else if (e == 0)
        v = ldexp((double)m, 1 - ref_bias(F) - F->man_bits);
    else
        v = ldexp((double)(mmax + 1 + m), (int)e - ref_bias(F) - F->man_bits);
    return s ? -v : v;
}

static double ref_max(const ref_fmt *F)
{
    uint32_t emax = (1u << F->exp_bits) - 1, mmax = (1u << F->man_bits) - 1;
    uint32_t bits = F->fn ? (emax << F->man_bits) | (mmax - 1) : ((emax - 1) << F->man_bits) | mmax;
    return ref_decode(F, bits);
}

/* x rounded to F, nearest-even; overflow: saturate -> ±max, else ±Inf (fn formats: NaN). */
static double ref_round(const ref_fmt *F, double x, int saturate)
{
    if (isnan(x)) return NAN;
    double a = fabs(x), r;
    if (isinf(a)) {
        r = INFINITY;
    } else {
        int e;
        (void)frexp(a, &e); /* a = f * 2^e, f in [0.5, 1): a's binade is 2^(e-1) */
        int q = (e - 1 > 1 - ref_bias(F) ? e - 1 : 1 - ref_bias(F)) - F->man_bits;
        double ulp = ldexp(1.0, q);
        double lo = floor(a / ulp) * ulp, hi = lo + ulp;
        if (a - lo < hi - a)
            r = lo;
        else if (a - lo > hi - a)
            r = hi;
        else
            r = fmod(lo / ulp, 2.0) == 0.0 ? lo : hi;
    }
    if (r > ref_max(F)) {
        if (saturate)
            r = ref_max(F);
        else if (F->fn)
            return NAN;
        else
            r = INFINITY;
    }
    return copysign(r, x);
}

/* Same value, same sign (so -0 != +0), or both NaN. */
static int same_value(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

/* In loops over many inputs: Check's passing assertions cost a system call each (they record
 * the last checkpoint), so loops count their failures, print the first few, and assert once. */
static int n_fail;
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond) && n_fail++ < 8) {                                                             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)
#define EXPECT_NONE_FAILED()                                                                       \
    ck_assert_msg(n_fail == 0, "%d failures (first ones on stderr)", n_fail)

/* ---- inputs ------------------------------------------------------------------------------- */

static uint64_t rng_state;
static uint32_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

/* A random float: half uniform bit patterns, half with exponents in [2^-30, 2^20) where fp16 and
 * fp8 have all their interesting values. */
static float random_float(void)
{
    uint32_t u = rng_next();
    if (u & 1u) return mpt_f32_from_bits(rng_next());
    uint32_t e = 97u + rng_next() % 50u;
    return mpt_f32_from_bits((u & 0x80000000u) | (e << 23) | (rng_next() & 0x7fffffu));
}

/* ---- the encoders under test, behind one signature ---------------------------------------- */

typedef struct encoder {
    const char *name;
    const ref_fmt *fmt;
    int saturate;
    uint32_t (*encode)(float);
} encoder;

static uint32_t enc_f16(float f)
{
    return mpt_f32_to_f16(f);
}
static uint32_t enc_bf16(float f)
{
    return mpt_f32_to_bf16(f);
}
static uint32_t enc_tf32(float f)
{
    return mpt_f32_bits(mpt_f32_to_tf32(f)) >> 13;
}
static uint32_t enc_e4m3_sat(float f)
{
    return mpt_f32_to_e4m3(f, 1);
}
static uint32_t enc_e4m3(float f)
{
    return mpt_f32_to_e4m3(f, 0);
}
static uint32_t enc_e5m2_sat(float f)
{
    return mpt_f32_to_e5m2(f, 1);
}
static uint32_t enc_e5m2(float f)
{
    return mpt_f32_to_e5m2(f, 0);
}

static const encoder encoders[] = {
    {"f32->fp16", &REF_F16, 0, enc_f16},         {"f32->bf16", &REF_BF16, 0, enc_bf16},
    {"f32->tf32", &REF_TF32, 0, enc_tf32},       {"f32->e4m3 sat", &REF_E4M3, 1, enc_e4m3_sat},
    {"f32->e4m3 nosat", &REF_E4M3, 0, enc_e4m3}, {"f32->e5m2 sat", &REF_E5M2, 1, enc_e5m2_sat},
    {"f32->e5m2 nosat", &REF_E5M2, 0, enc_e5m2},
};
#define N_ENCODERS ((int)(sizeof encoders / sizeof encoders[0]))

/* Checks one input through one encoder: 1 on agreement, else prints the case and returns 0. */
static int check_one(const encoder *enc, float f)
{
    uint32_t bits = enc->encode(f);
    double got = ref_decode(enc->fmt, bits);
    double want = ref_round(enc->fmt, (double)f, enc->saturate);
    if (same_value(got, want)) return 1;
    fprintf(stderr, "%s(%a = 0x%08x): got 0x%x = %a, reference %a\n", enc->name, (double)f,
            mpt_f32_bits(f), bits, got, want);
    return 0;
}

/* Every value of `F` and, between each value and the next, the midpoint and its fp32
 * neighbours; also the value's own fp32 neighbours. */
static int check_all_midpoints(const encoder *enc)
{
    const ref_fmt *F = enc->fmt;
    int ok = 1;
    uint32_t n = 1u << (F->exp_bits + F->man_bits); /* positive patterns */
    for (uint32_t b = 0; b + 1 < n && ok; b++) {
        double v = ref_decode(F, b), next = ref_decode(F, b + 1);
        if (isnan(v) || isnan(next) || isinf(next))
            next = 2.0 * ref_max(F) - ref_decode(F, b - 1); /* past the top: the virtual next */
        if (isnan(v) || isinf(v)) continue;
        float fm = (float)((v + next) / 2); /* exact: one bit more than the format */
        float cand[5] = {(float)v, nextafterf((float)v, INFINITY), fm, nextafterf(fm, 0.0f),
                         nextafterf(fm, INFINITY)};
        for (int k = 0; k < 5 && ok; k++) {
            ok &= check_one(enc, cand[k]);
            ok &= check_one(enc, -cand[k]);
        }
    }
    return ok;
}

START_TEST(test_decode_every_pattern)
{
    static const struct {
        const ref_fmt *fmt;
        float (*decode16)(uint16_t);
        float (*decode8)(uint8_t);
    } decs[] = {
        {&REF_F16, mpt_f16_to_f32, NULL},
        {&REF_BF16, mpt_bf16_to_f32, NULL},
        {&REF_E4M3, NULL, mpt_e4m3_to_f32},
        {&REF_E5M2, NULL, mpt_e5m2_to_f32},
    };
    n_fail = 0;
    for (size_t d = 0; d < sizeof decs / sizeof decs[0]; d++) {
        uint32_t n = decs[d].decode16 ? 0x10000u : 0x100u;
        for (uint32_t b = 0; b < n; b++) {
            float got =
                decs[d].decode16 ? decs[d].decode16((uint16_t)b) : decs[d].decode8((uint8_t)b);
            double want = ref_decode(decs[d].fmt, b);
            EXPECT(same_value(got, want), "%s decode 0x%x: got %a, want %a", decs[d].fmt->name, b,
                   (double)got, want);
        }
    }
    EXPECT_NONE_FAILED();
}
END_TEST

START_TEST(test_encode_midpoints)
{
    const encoder *enc = &encoders[_i];
    if (enc->fmt == &REF_TF32) {
        /* 2^19 positive values is too many: every exponent, a spread of mantissas. */
        int ok = 1;
        for (uint32_t e = 0; e < 255 && ok; e++) {
            static const uint32_t mans[] = {0, 1, 2, 3, 0x1ff, 0x200, 0x201, 0x3fe, 0x3ff};
            for (size_t k = 0; k < sizeof mans / sizeof mans[0] && ok; k++) {
                uint32_t v = (e << 23) | (mans[k] << 13);
                float cand[6] = {mpt_f32_from_bits(v),          mpt_f32_from_bits(v + 1),
                                 mpt_f32_from_bits(v + 0xfff),  mpt_f32_from_bits(v + 0x1000),
                                 mpt_f32_from_bits(v + 0x1001), mpt_f32_from_bits(v + 0x1fff)};
                for (int c = 0; c < 6; c++)
                    ok &= check_one(enc, cand[c]) & check_one(enc, -cand[c]);
            }
        }
        ck_assert_msg(ok, "%s disagrees with the reference (see stderr)", enc->name);
        return;
    }
    ck_assert_msg(check_all_midpoints(enc), "%s disagrees with the reference (see stderr)",
                  enc->name);
}
END_TEST

START_TEST(test_encode_special_and_random)
{
    const encoder *enc = &encoders[_i];
    static const uint32_t special[] = {
        0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, /* ±0, ±Inf */
        0x00000001u, 0x80000001u, 0x007fffffu, 0x807fffffu, /* fp32 subnormals */
        0x00400000u, 0x00800000u, 0x7f7fffffu, 0xff7fffffu, /* fp32 min normal, max */
        0x7f7ff000u, 0x7f7fefffu, 0x7f7f8000u, 0x7f7f7fffu, /* tf32 / bf16 overflow edges */
    };
    int ok = 1;
    for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
        ok &= check_one(enc, mpt_f32_from_bits(special[k]));
    for (int e = -149; e <= 127; e++) { /* powers of two and their fp32 neighbours */
        float p = ldexpf(1.0f, e);
        ok &= check_one(enc, p) & check_one(enc, -p);
        ok &= check_one(enc, nextafterf(p, 0.0f)) & check_one(enc, nextafterf(p, INFINITY));
    }
    rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
    for (int k = 0; k < 100000 && ok; k++)
        ok &= check_one(enc, random_float());
    ck_assert_msg(ok, "%s disagrees with the reference (see stderr)", enc->name);
}
END_TEST

/* The NaN and overflow patterns the contract in fpformat.h promises (NVIDIA's choices). */
START_TEST(test_nan_and_saturation_patterns)
{
    static const uint32_t nans[] = {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u,
                                    0x7fffffffu, 0xffffffffu, 0x7fa00000u};
    for (size_t k = 0; k < sizeof nans / sizeof nans[0]; k++) {
        float f = mpt_f32_from_bits(nans[k]);
        ck_assert_uint_eq(mpt_f32_to_f16(f), 0x7fff);
        ck_assert_uint_eq(mpt_f32_to_bf16(f), 0x7fff);
        ck_assert_uint_eq(mpt_f32_to_e4m3(f, 0), 0x7f);
        ck_assert_uint_eq(mpt_f32_to_e4m3(f, 1), 0x7f);
        ck_assert_uint_eq(mpt_f32_to_e5m2(f, 0), 0x7f);
        ck_assert_uint_eq(mpt_f32_to_e5m2(f, 1), 0x7f);
        uint32_t t = mpt_f32_bits(mpt_f32_to_tf32(f));
        ck_assert_msg(isnan(mpt_f32_from_bits(t)) && (t & 0x1fffu) == 0 &&
                          (t >> 31) == (nans[k] >> 31),
                      "tf32 NaN 0x%08x -> 0x%08x", nans[k], t);
    }
    /* decoded NaNs: NVIDIA's canonical 0x7fffffff, except bf16 which keeps its bits */
    ck_assert_uint_eq(mpt_f32_bits(mpt_f16_to_f32(0xfe01)), 0x7fffffffu);
    ck_assert_uint_eq(mpt_f32_bits(mpt_e4m3_to_f32(0xff)), 0x7fffffffu);
    ck_assert_uint_eq(mpt_f32_bits(mpt_e5m2_to_f32(0xfd)), 0x7fffffffu);
    ck_assert_uint_eq(mpt_f32_bits(mpt_bf16_to_f32(0xffc1)), 0xffc10000u);

    static const struct {
        float in;
        uint8_t e4m3_sat, e4m3_nosat, e5m2_sat, e5m2_nosat;
    } over[] = {
        {INFINITY, 0x7e, 0x7f, 0x7b, 0x7c}, {-INFINITY, 0xfe, 0xff, 0xfb, 0xfc},
        {464.0f, 0x7e, 0x7e, 0x5f, 0x5f},   {464.00003f, 0x7e, 0x7f, 0x5f, 0x5f},
        {-480.0f, 0xfe, 0xff, 0xe0, 0xe0},  {61439.996f, 0x7e, 0x7f, 0x7b, 0x7b},
        {61440.0f, 0x7e, 0x7f, 0x7b, 0x7c}, {-1e30f, 0xfe, 0xff, 0xfb, 0xfc},
        {0x1p-10f, 0x00, 0x00, 0x14, 0x14}, {-0x1.000002p-10f, 0x81, 0x81, 0x94, 0x94},
        {0x1p-17f, 0x00, 0x00, 0x00, 0x00}, {-0x1.000002p-17f, 0x80, 0x80, 0x81, 0x81},
    };
    for (size_t k = 0; k < sizeof over / sizeof over[0]; k++) {
        float f = over[k].in;
        ck_assert_msg(mpt_f32_to_e4m3(f, 1) == over[k].e4m3_sat, "e4m3 sat %a", (double)f);
        ck_assert_msg(mpt_f32_to_e4m3(f, 0) == over[k].e4m3_nosat, "e4m3 nosat %a", (double)f);
        ck_assert_msg(mpt_f32_to_e5m2(f, 1) == over[k].e5m2_sat, "e5m2 sat %a", (double)f);
        ck_assert_msg(mpt_f32_to_e5m2(f, 0) == over[k].e5m2_nosat, "e5m2 nosat %a", (double)f);
    }
    ck_assert_uint_eq(mpt_f32_to_f16(65519.996f), 0x7bff);
    ck_assert_uint_eq(mpt_f32_to_f16(65520.0f), 0x7c00);
    ck_assert_uint_eq(mpt_f32_to_f16(-0x1p-25f), 0x8000);
    ck_assert_uint_eq(mpt_f32_to_f16(0x1.000002p-25f), 0x0001);
}
END_TEST

/* Every non-NaN pattern survives decode then encode unchanged (both fp8 modes). */
START_TEST(test_round_trip)
{
    n_fail = 0;
    for (uint32_t b = 0; b < 0x10000u; b++) {
        uint16_t h = (uint16_t)b;
        if (!isnan(mpt_f16_to_f32(h)))
            EXPECT(mpt_f32_to_f16(mpt_f16_to_f32(h)) == h, "fp16 0x%04x", b);
        if (!isnan(mpt_bf16_to_f32(h)))
            EXPECT(mpt_f32_to_bf16(mpt_bf16_to_f32(h)) == h, "bf16 0x%04x", b);
    }
    for (uint32_t b = 0; b < 0x100u; b++) {
        uint8_t v = (uint8_t)b;
        if (!isnan(mpt_e4m3_to_f32(v))) {
            EXPECT(mpt_f32_to_e4m3(mpt_e4m3_to_f32(v), 0) == v, "e4m3 nosat 0x%02x", b);
            EXPECT(mpt_f32_to_e4m3(mpt_e4m3_to_f32(v), 1) == v, "e4m3 sat 0x%02x", b);
        }
        if (!isnan(mpt_e5m2_to_f32(v))) {
            EXPECT(mpt_f32_to_e5m2(mpt_e5m2_to_f32(v), 0) == v, "e5m2 nosat 0x%02x", b);
            if (!isinf(mpt_e5m2_to_f32(v))) /* saturating: Inf -> max, not a round trip */
                EXPECT(mpt_f32_to_e5m2(mpt_e5m2_to_f32(v), 1) == v, "e5m2 sat 0x%02x", b);
        }
    }
    EXPECT_NONE_FAILED();
}
END_TEST

/* ---- constants, names, classify, load/store ------------------------------------------------ */

START_TEST(test_constants)
{
    static const struct {
        mpt_dtype t;
        const ref_fmt *fmt; /* NULL: fp32/fp64, checked against <float.h> */
        int bytes;
        double table_max; /* ARCHITECTURE.md's numeric table, to its printed precision */
    } rows[] = {
        {MPT_DT_F16, &REF_F16, 2, 65504.0},   {MPT_DT_BF16, &REF_BF16, 2, 3.3895e38},
        {MPT_DT_TF32, &REF_TF32, 4, 3.4e38},  {MPT_DT_E4M3, &REF_E4M3, 1, 448.0},
        {MPT_DT_E5M2, &REF_E5M2, 1, 57344.0}, {MPT_DT_F32, NULL, 4, 3.4028e38},
        {MPT_DT_F64, NULL, 8, 1.7976e308},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        const mpt_dtype_info *in = mpt_dtype_get_info(rows[k].t);
        ck_assert_ptr_nonnull(in);
        ck_assert_int_eq(in->storage_bytes, rows[k].bytes);
        ck_assert_uint_eq(mpt_dtype_size(rows[k].t), (size_t)rows[k].bytes);
        double rel = fabs(in->max_finite - rows[k].table_max) / rows[k].table_max;
        ck_assert_msg(rel < 1e-3, "%s max %g vs table %g", in->name, in->max_finite,
                      rows[k].table_max);
        ck_assert_double_eq(in->epsilon, ldexp(1.0, -in->man_bits));
        ck_assert_double_eq(in->min_normal, ldexp(1.0, in->min_exp));
        ck_assert_double_eq(in->min_subnormal, ldexp(1.0, in->min_exp - in->man_bits));
        ck_assert_int_eq(in->min_exp, 1 - in->exp_bias);
        ck_assert_double_eq(
            in->max_finite,
            ldexp(2.0 - ldexp(1.0, -in->man_bits + (in->has_inf ? 0 : 1)), in->max_exp));
        const ref_fmt *F = rows[k].fmt;
        if (F) {
            ck_assert_int_eq(in->exp_bits, F->exp_bits);
            ck_assert_int_eq(in->man_bits, F->man_bits);
            ck_assert_int_eq(in->exp_bias, ref_bias(F));
            ck_assert_int_eq(in->has_inf, !F->fn);
            ck_assert_double_eq(in->max_finite, ref_max(F));
            ck_assert_double_eq(in->min_normal, ref_decode(F, 1u << F->man_bits));
            ck_assert_double_eq(in->min_subnormal, ref_decode(F, 1));
            ck_assert_double_eq(in->epsilon,
                                ref_decode(F, ((uint32_t)ref_bias(F) << F->man_bits) + 1) - 1.0);
        }
    }
    const mpt_dtype_info *f32 = mpt_dtype_get_info(MPT_DT_F32),
                         *f64 = mpt_dtype_get_info(MPT_DT_F64);
    ck_assert_double_eq(f32->max_finite, FLT_MAX);
    ck_assert_double_eq(f32->min_normal, FLT_MIN);
    ck_assert_double_eq(f32->min_subnormal, FLT_TRUE_MIN);
    ck_assert_double_eq(f32->epsilon, FLT_EPSILON);
    ck_assert_double_eq(f64->max_finite, DBL_MAX);
    ck_assert_double_eq(f64->min_normal, DBL_MIN);
    ck_assert_double_eq(f64->min_subnormal, DBL_TRUE_MIN);
    ck_assert_double_eq(f64->epsilon, DBL_EPSILON);
    /* tf32's largest value is what mpt_f32_to_tf32 leaves of fp32's largest below overflow */
    ck_assert_double_eq(mpt_dtype_get_info(MPT_DT_TF32)->max_finite,
                        mpt_f32_to_tf32(mpt_f32_from_bits(0x7f7fefffu)));
    ck_assert_double_eq(mpt_dtype_get_info(MPT_DT_TF32)->min_subnormal,
                        mpt_f32_to_tf32(mpt_f32_from_bits(0x00001001u)));
    ck_assert_ptr_null(mpt_dtype_get_info(MPT_DT_UNKNOWN));
    ck_assert_ptr_null(mpt_dtype_get_info(MPT_DT_COUNT));
    ck_assert_uint_eq(mpt_dtype_size(MPT_DT_UNKNOWN), 0);
}
END_TEST

START_TEST(test_names)
{
    for (int t = 0; t < MPT_DT_COUNT; t++) {
        mpt_dtype back = MPT_DT_UNKNOWN;
        const char *name = mpt_dtype_name((mpt_dtype)t);
        ck_assert_str_eq(name, mpt_dtype_get_info((mpt_dtype)t)->name);
        ck_assert_int_eq(mpt_dtype_parse(name, &back), 0);
        ck_assert_int_eq(back, t);
    }
    static const struct {
        const char *name;
        int dtype; /* -1: must be rejected */
    } aliases[] = {
        {"f16", MPT_DT_F16},
        {"HALF", MPT_DT_F16},
        {"float16", MPT_DT_F16},
        {"bfloat16", MPT_DT_BF16},
        {"float", MPT_DT_F32},
        {"Float32", MPT_DT_F32},
        {"fp8e4m3", MPT_DT_E4M3},
        {"float8_e4m3fn", MPT_DT_E4M3},
        {"fp8_e5m2", MPT_DT_E5M2},
        {"double", MPT_DT_F64},
        {"tf32", MPT_DT_TF32},
        {"", -1},
        {"fp8", -1},
        {"fp16x", -1},
        {"int8", -1},
    };
    for (size_t k = 0; k < sizeof aliases / sizeof aliases[0]; k++) {
        mpt_dtype out = MPT_DT_UNKNOWN;
        int rc = mpt_dtype_parse(aliases[k].name, &out);
        if (aliases[k].dtype < 0) {
            ck_assert_msg(rc == -1 && out == MPT_DT_UNKNOWN, "'%s' accepted", aliases[k].name);
        } else {
            ck_assert_msg(rc == 0 && (int)out == aliases[k].dtype, "'%s' -> %d", aliases[k].name,
                          (int)out);
        }
    }
    ck_assert_int_eq(mpt_dtype_parse(NULL, NULL), -1);
    ck_assert_str_eq(mpt_dtype_name(MPT_DT_UNKNOWN), "unknown");
    ck_assert_str_eq(mpt_dtype_name((mpt_dtype)77), "unknown");
    /* the numbers are in trace files: pin them */
    ck_assert_int_eq(MPT_DT_F32, 0);
    ck_assert_int_eq(MPT_DT_E5M2, 5);
    ck_assert_int_eq(MPT_DT_F64, 6);
}
END_TEST

START_TEST(test_classify_table)
{
    static const struct {
        mpt_dtype t;
        uint64_t bits;
        mpt_fpclass want;
    } rows[] = {
        {MPT_DT_F32, 0x00000000, MPT_FP_ZERO},
        {MPT_DT_F32, 0x80000000, MPT_FP_ZERO},
        {MPT_DT_F32, 0x00000001, MPT_FP_SUBNORMAL},
        {MPT_DT_F32, 0x00800000, MPT_FP_NORMAL},
        {MPT_DT_F32, 0xff800000, MPT_FP_INF},
        {MPT_DT_F32, 0x7f800001, MPT_FP_NAN},
        {MPT_DT_TF32, 0x00001000, MPT_FP_SUBNORMAL},
        {MPT_DT_TF32, 0x00000001, MPT_FP_SUBNORMAL},
        {MPT_DT_TF32, 0x7f800000, MPT_FP_INF},
        {MPT_DT_TF32, 0x7f800001, MPT_FP_NAN},
        {MPT_DT_TF32, 0x3f800000, MPT_FP_NORMAL},
        {MPT_DT_TF32, 0x80000000, MPT_FP_ZERO},
        {MPT_DT_F16, 0x8000, MPT_FP_ZERO},
        {MPT_DT_F16, 0x03ff, MPT_FP_SUBNORMAL},
        {MPT_DT_F16, 0x7bff, MPT_FP_NORMAL},
        {MPT_DT_F16, 0xfc00, MPT_FP_INF},
        {MPT_DT_F16, 0x7c01, MPT_FP_NAN},
        {MPT_DT_BF16, 0x0001, MPT_FP_SUBNORMAL},
        {MPT_DT_BF16, 0x7f80, MPT_FP_INF},
        {MPT_DT_BF16, 0xffc0, MPT_FP_NAN},
        {MPT_DT_E4M3, 0x78, MPT_FP_NORMAL},
        {MPT_DT_E4M3, 0x7e, MPT_FP_NORMAL},
        {MPT_DT_E4M3, 0x7f, MPT_FP_NAN},
        {MPT_DT_E4M3, 0xff, MPT_FP_NAN},
        {MPT_DT_E4M3, 0x07, MPT_FP_SUBNORMAL},
        {MPT_DT_E4M3, 0x80, MPT_FP_ZERO},
        {MPT_DT_E5M2, 0x7c, MPT_FP_INF},
        {MPT_DT_E5M2, 0xfd, MPT_FP_NAN},
        {MPT_DT_E5M2, 0x03, MPT_FP_SUBNORMAL},
        {MPT_DT_E5M2, 0x7b, MPT_FP_NORMAL},
        {MPT_DT_F64, 0x0000000000000001ull, MPT_FP_SUBNORMAL},
        {MPT_DT_F64, 0x7ff0000000000000ull, MPT_FP_INF},
        {MPT_DT_F64, 0xfff8000000000000ull, MPT_FP_NAN},
        {MPT_DT_F64, 0x0010000000000000ull, MPT_FP_NORMAL},
        {MPT_DT_F64, 0x8000000000000000ull, MPT_FP_ZERO},
        {MPT_DT_F16, 0xffff0000ull, MPT_FP_ZERO}, /* bits above the width are ignored */
        {MPT_DT_UNKNOWN, 0, MPT_FP_NAN},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
        ck_assert_msg(mpt_classify(rows[k].t, rows[k].bits) == rows[k].want,
                      "%s 0x%llx: got %d want %d", mpt_dtype_name(rows[k].t),
                      (unsigned long long)rows[k].bits, (int)mpt_classify(rows[k].t, rows[k].bits),
                      (int)rows[k].want);
}
END_TEST

static mpt_fpclass ref_class(const ref_fmt *F, uint32_t bits)
{
    double v = ref_decode(F, bits);
    if (isnan(v)) return MPT_FP_NAN;
    if (isinf(v)) return MPT_FP_INF;
    if (v == 0) return MPT_FP_ZERO;
    return fabs(v) < ldexp(1.0, 1 - ref_bias(F)) ? MPT_FP_SUBNORMAL : MPT_FP_NORMAL;
}

START_TEST(test_classify_every_pattern)
{
    static const struct {
        mpt_dtype t;
        const ref_fmt *fmt;
    } fmts[] = {{MPT_DT_F16, &REF_F16},
                {MPT_DT_BF16, &REF_BF16},
                {MPT_DT_E4M3, &REF_E4M3},
                {MPT_DT_E5M2, &REF_E5M2}};
    n_fail = 0;
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
        uint32_t n = 1u << (1 + fmts[f].fmt->exp_bits + fmts[f].fmt->man_bits);
        for (uint32_t b = 0; b < n; b++)
            EXPECT(mpt_classify(fmts[f].t, b) == ref_class(fmts[f].fmt, b), "%s 0x%x",
                   fmts[f].fmt->name, b);
    }
    rng_state = 12345;
    for (int k = 0; k < 100000; k++) { /* fp32 and tf32 against C's own classification */
        float f = mpt_f32_from_bits(rng_next());
        int c = fpclassify(f);
        mpt_fpclass want = c == FP_NAN         ? MPT_FP_NAN
                           : c == FP_INFINITE  ? MPT_FP_INF
                           : c == FP_ZERO      ? MPT_FP_ZERO
                           : c == FP_SUBNORMAL ? MPT_FP_SUBNORMAL
                                               : MPT_FP_NORMAL;
        EXPECT(mpt_classify(MPT_DT_F32, mpt_f32_bits(f)) == want, "fp32 %a", (double)f);
        EXPECT(mpt_classify(MPT_DT_TF32, mpt_f32_bits(f)) == want, "tf32 %a", (double)f);
    }
    EXPECT_NONE_FAILED();
}
END_TEST

/* Store then load every dtype at odd indices of a misaligned buffer, against the reference. */
START_TEST(test_load_store)
{
    static const struct {
        mpt_dtype t;
        const ref_fmt *fmt; /* NULL: exact (fp32, fp64) */
    } dts[] = {{MPT_DT_F32, NULL},       {MPT_DT_F64, NULL},       {MPT_DT_F16, &REF_F16},
               {MPT_DT_BF16, &REF_BF16}, {MPT_DT_TF32, &REF_TF32}, {MPT_DT_E4M3, &REF_E4M3},
               {MPT_DT_E5M2, &REF_E5M2}};
    static const float vals[] = {0.0f,      -0.0f,  1.0f,     -3.14159265f, 1e-7f,
                                 65520.0f,  -1e30f, INFINITY, -INFINITY,    NAN,
                                 0x1p-149f, 464.0f, 0.3f,     -0x1.8p-10f,  57344.0f};
    unsigned char buf[1 + 8 * 32];
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++) {
        mpt_dtype t = dts[d].t;
        size_t sz = mpt_dtype_size(t);
        memset(buf, 0xa5, sizeof buf);
        for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
            mpt_dtype_store(t, buf + 1, 2 * k + 1, vals[k]);
        for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
            double want = dts[d].fmt ? ref_round(dts[d].fmt, vals[k], 0) : (double)vals[k];
            double got = mpt_dtype_load(t, buf + 1, 2 * k + 1);
            ck_assert_msg(same_value(got, want), "%s store/load %a: got %a want %a",
                          mpt_dtype_name(t), (double)vals[k], got, want);
            /* the even slots were not touched */
            uint64_t untouched = mpt_dtype_load_bits(t, buf + 1, 2 * k);
            uint64_t pattern = 0;
            memset(&pattern, 0xa5, sz);
            ck_assert_uint_eq(untouched, pattern);
        }
        /* load_bits returns the raw element, zero-extended */
        uint64_t raw = 0;
        memcpy(&raw, buf + 1 + 3 * sz, sz);
        ck_assert_uint_eq(mpt_dtype_load_bits(t, buf + 1, 3), raw);
    }
    ck_assert_msg(isnan(mpt_dtype_load(MPT_DT_UNKNOWN, buf, 0)), "unknown dtype loads NaN");
    ck_assert_uint_eq(mpt_dtype_load_bits(MPT_DT_UNKNOWN, buf, 0), 0);
    memset(buf, 0, sizeof buf);
    mpt_dtype_store(MPT_DT_UNKNOWN, buf, 0, 1.0f);
    ck_assert_uint_eq(buf[0], 0);
}
END_TEST

/* tf32: the result is an fp32 with 13 zero low bits, and a value of the reference's rounding. */
START_TEST(test_tf32_shape)
{
    rng_state = 777;
    n_fail = 0;
    for (int k = 0; k < 100000; k++) {
        float f = random_float();
        uint32_t r = mpt_f32_bits(mpt_f32_to_tf32(f));
        EXPECT((r & 0x1fffu) == 0, "tf32(%a) = 0x%08x has low bits", (double)f, r);
        EXPECT(same_value(mpt_f32_from_bits(r), ref_round(&REF_TF32, f, 0)), "tf32(%a)", (double)f);
    }
    EXPECT_NONE_FAILED();
    ck_assert_float_eq(mpt_f32_to_tf32(1.0f + 0x1p-11f), 1.0f);           /* tie, even */
    ck_assert_float_eq(mpt_f32_to_tf32(1.0f + 0x3p-11f), 1.0f + 0x1p-9f); /* tie, odd: up */
    ck_assert_float_eq(mpt_f32_to_tf32(0x1.ffep127f), INFINITY);          /* into overflow */
    ck_assert_float_eq(mpt_f32_to_tf32(0x1.ffdffep127f), 0x1.ffcp127f);
}
END_TEST

/* Declared for -Wmissing-prototypes; `extern` keeps the Makefile's suite scan to one match. */
extern Suite *suite_fpformat(void);

Suite *suite_fpformat(void)
{
    Suite *s = suite_create("fpformat");
    TCase *tc = tcase_create("reference");
    tcase_add_test(tc, test_decode_every_pattern);
    tcase_add_loop_test(tc, test_encode_midpoints, 0, N_ENCODERS);
    tcase_add_loop_test(tc, test_encode_special_and_random, 0, N_ENCODERS);
    tcase_add_test(tc, test_nan_and_saturation_patterns);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_tf32_shape);
    suite_add_tcase(s, tc);
    TCase *tg = tcase_create("generic");
    tcase_add_test(tg, test_constants);
    tcase_add_test(tg, test_names);
    tcase_add_test(tg, test_classify_table);
    tcase_add_test(tg, test_classify_every_pattern);
    tcase_add_test(tg, test_load_store);
    suite_add_tcase(s, tg);
    return s;
}
