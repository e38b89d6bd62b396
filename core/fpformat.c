/*
 * The generic side of core/fpformat.h: the table of format constants, names and their parser,
 * and element access by dtype (load, store, classify) for code that is not an inner loop:
 * the analyzer, the report, tests. Inner loops call the inline conversions directly.
 *
 * Every constant in the table is an exact power of two or an exact sum of a few, written as a
 * hexadecimal float so that nothing is rounded on the way in; tests/unit/test_fpformat.c
 * recomputes each one from the bit patterns.
 */
#include "core/fpformat.h"

#include <math.h>
#include <string.h>
#include <strings.h>

static const mpt_dtype_info dtype_table[MPT_DT_COUNT] = {
    [MPT_DT_F32] = {"fp32", 4, 8, 23, 127, 1, -126, 127, 0x1.fffffep127, 0x1p-126, 0x1p-149,
                    0x1p-23},
    [MPT_DT_F16] = {"fp16", 2, 5, 10, 15, 1, -14, 15, 65504.0, 0x1p-14, 0x1p-24, 0x1p-10},
    [MPT_DT_BF16] = {"bf16", 2, 8, 7, 127, 1, -126, 127, 0x1.fep127, 0x1p-126, 0x1p-133, 0x1p-7},
    /* tf32 lives in an fp32 register: fp32's exponent range, 10 explicit mantissa bits, so
     * its smallest subnormal is 2^-126 * 2^-10 (mpt_f32_to_tf32 rounds fp32 subnormals to it). */
    [MPT_DT_TF32] = {"tf32", 4, 8, 10, 127, 1, -126, 127, 0x1.ffcp127, 0x1p-126, 0x1p-136, 0x1p-10},
    /* e4m3fn: the all-ones exponent holds finite values too, only S.1111.111 is NaN, so the
     * largest finite value is 1.110b * 2^8 = 448 and max_exp is 8, not 7. */
    [MPT_DT_E4M3] = {"e4m3", 1, 4, 3, 7, 0, -6, 8, 448.0, 0x1p-6, 0x1p-9, 0x1p-3},
    [MPT_DT_E5M2] = {"e5m2", 1, 5, 2, 15, 1, -14, 15, 57344.0, 0x1p-14, 0x1p-16, 0x1p-2},
    [MPT_DT_F64] = {"fp64", 8, 11, 52, 1023, 1, -1022, 1023, 0x1.fffffffffffffp1023, 0x1p-1022,
                    0x1p-1074, 0x1p-52},
};

/* Every spelling mpt_dtype_parse accepts (case-insensitive): ours first, then the ones
 * PyTorch, NumPy, ml_dtypes and CUDA print. */
static const struct {
    const char *name;
    mpt_dtype dtype;
} dtype_aliases[] = {
    {"fp32", MPT_DT_F32},
    {"f32", MPT_DT_F32},
    {"float", MPT_DT_F32},
    {"float32", MPT_DT_F32},
    {"fp16", MPT_DT_F16},
    {"f16", MPT_DT_F16},
    {"half", MPT_DT_F16},
    {"float16", MPT_DT_F16},
    {"bf16", MPT_DT_BF16},
    {"bfloat16", MPT_DT_BF16},
    {"tf32", MPT_DT_TF32},
    {"tensorfloat32", MPT_DT_TF32},
    {"e4m3", MPT_DT_E4M3},
    {"e4m3fn", MPT_DT_E4M3},
    {"fp8e4m3", MPT_DT_E4M3},
    {"fp8_e4m3", MPT_DT_E4M3},
    {"float8_e4m3fn", MPT_DT_E4M3},
    {"e5m2", MPT_DT_E5M2},
    {"fp8e5m2", MPT_DT_E5M2},
    {"fp8_e5m2", MPT_DT_E5M2},
    {"float8_e5m2", MPT_DT_E5M2},
    {"fp64", MPT_DT_F64},
    {"f64", MPT_DT_F64},
    {"double", MPT_DT_F64},
    {"float64", MPT_DT_F64},
};

const mpt_dtype_info *mpt_dtype_get_info(mpt_dtype t)
{
    if ((unsigned)t >= MPT_DT_COUNT) return NULL;
    return &dtype_table[t];
}

const char *mpt_dtype_name(mpt_dtype t)
{
    const mpt_dtype_info *info = mpt_dtype_get_info(t);
    return info ? info->name : "unknown";
}

int mpt_dtype_parse(const char *name, mpt_dtype *out)
{
    if (name == NULL) return -1;
    for (size_t i = 0; i < sizeof dtype_aliases / sizeof dtype_aliases[0]; i++) {
        if (strcasecmp(name, dtype_aliases[i].name) == 0) {
            if (out) *out = dtype_aliases[i].dtype;
            return 0;
        }
    }
    return -1;
}

size_t mpt_dtype_size(mpt_dtype t)
{
    const mpt_dtype_info *info = mpt_dtype_get_info(t);
    return info ? (size_t)info->storage_bytes : 0;
}

uint64_t mpt_dtype_load_bits(mpt_dtype t, const void *base, size_t index)
{
    const unsigned char *p = (const unsigned char *)base;
    switch (mpt_dtype_size(t)) {
    case 1:
        return p[index];
    case 2: {
        uint16_t v;
        memcpy(&v, p + index * 2, sizeof v);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p + index * 4, sizeof v);
        return v;
    }
    case 8: {
        uint64_t v;
        memcpy(&v, p + index * 8, sizeof v);
        return v;
    }
    default:
        return 0;
    }
}

double mpt_dtype_load(mpt_dtype t, const void *base, size_t index)
{
    uint64_t bits = mpt_dtype_load_bits(t, base, index);
    switch (t) {
    case MPT_DT_F32:
    case MPT_DT_TF32:
        return mpt_f32_from_bits((uint32_t)bits);
    case MPT_DT_F16:
        return mpt_f16_to_f32((uint16_t)bits);
    case MPT_DT_BF16:
        return mpt_bf16_to_f32((uint16_t)bits);
    case MPT_DT_E4M3:
        return mpt_e4m3_to_f32((uint8_t)bits);
    case MPT_DT_E5M2:
        return mpt_e5m2_to_f32((uint8_t)bits);
    case MPT_DT_F64: {
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    default:
        return NAN;
    }
}

void mpt_dtype_store(mpt_dtype t, void *base, size_t index, float v)
{
    unsigned char *p = (unsigned char *)base;
    switch (t) {
    case MPT_DT_F32:
        memcpy(p + index * 4, &v, 4);
        break;
    case MPT_DT_TF32: {
        float r = mpt_f32_to_tf32(v);
        memcpy(p + index * 4, &r, 4);
        break;
    }
    case MPT_DT_F16: {
        uint16_t h = mpt_f32_to_f16(v);
        memcpy(p + index * 2, &h, 2);
        break;
    }
    case MPT_DT_BF16: {
        uint16_t b = mpt_f32_to_bf16(v);
        memcpy(p + index * 2, &b, 2);
        break;
    }
    case MPT_DT_E4M3:
        p[index] = mpt_f32_to_e4m3(v, 0);
        break;
    case MPT_DT_E5M2:
        p[index] = mpt_f32_to_e5m2(v, 0);
        break;
    case MPT_DT_F64: {
        double d = v;
        memcpy(p + index * 8, &d, 8);
        break;
    }
    default:
        break;
    }
}

/* The IEEE-style classes from the fields; e4m3fn is the exception handled by the caller. */
static mpt_fpclass classify_fields(uint64_t exp, uint64_t man, uint64_t exp_max)
{
    if (exp == 0) return man == 0 ? MPT_FP_ZERO : MPT_FP_SUBNORMAL;
    if (exp == exp_max) return man == 0 ? MPT_FP_INF : MPT_FP_NAN;
    return MPT_FP_NORMAL;
}

mpt_fpclass mpt_classify(mpt_dtype t, uint64_t bits)
{
    const mpt_dtype_info *info = mpt_dtype_get_info(t);
    if (info == NULL) return MPT_FP_NAN;
    /* tf32 is classified as the fp32 it is stored in: its low 13 bits are part of the value. */
    int man_bits = t == MPT_DT_TF32 ? 23 : info->man_bits;
    uint64_t man = bits & ((UINT64_C(1) << man_bits) - 1);
    uint64_t exp_max = (UINT64_C(1) << info->exp_bits) - 1;
    uint64_t exp = (bits >> man_bits) & exp_max;
    if (t == MPT_DT_E4M3) {
        if (exp == exp_max && man == 7) return MPT_FP_NAN;
        if (exp != 0) return MPT_FP_NORMAL; /* the all-ones exponent holds 256..448 */
    }
    return classify_fields(exp, man, exp_max);
}
