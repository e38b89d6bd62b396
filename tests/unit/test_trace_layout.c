/*
 * The trace's byte layout against docs/trace-format.md: sample records of every type are encoded
 * and the bytes at the documented offsets compared with the values put in (a round trip alone
 * would pass if encoder and decoder drifted from the document together); the documented v1.0
 * payload sizes; the writer's text cut points; the enum names and the cuBLAS compute-type map.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/trace_format.h"
#include "tests/unit/trace_samples.h"

/* The cut points of the writer's truncation, checked against hand-computed values. */
START_TEST(test_text_truncation)
{
    mpt_test_samples *s = mpt_test_samples_new(MPT_TEST_SAMPLES_BIG);
    /* 100000 bytes of 3-byte characters: 65536 lands inside the one starting at 65535. */
    ck_assert_uint_eq(mpt_trace_text_len(s->long_string, MPT_TRACE_TEXT_MAX), 65535);
    ck_assert_uint_eq(mpt_trace_text_len("abc", 3), 3);
    ck_assert_uint_eq(mpt_trace_text_len("abcd", 3), 3);
    ck_assert_uint_eq(mpt_trace_text_len("a\xc3\xa9", 2), 1); /* never half of é */
    ck_assert_uint_eq(mpt_trace_text_len("a\xc3\xa9", 3), 3);
    ck_assert_uint_eq(mpt_trace_text_len("", 0), 0);
    mpt_test_samples_free(s);
}
END_TEST

/* Each row: the nth sample record of a type, a payload offset and width from the tables in
 * docs/trace-format.md, and the value the sample has there. Catches a codec that drifts from
 * the document (the round trip alone would not: encoder and decoder could drift together). */
typedef struct layout_row {
    mpt_record_type type;
    size_t nth;
    size_t offset, width;
    uint64_t value;
} layout_row;

static const layout_row layout_rows[] = {
    {MPT_REC_STRING, 0, 0, 4, 1},
    {MPT_REC_STRING, 0, 4, 4, 0},
    {MPT_REC_STRING, 1, 8, 1, 'm'},
    {MPT_REC_GEMM, 0, 0, 8, 1},
    {MPT_REC_GEMM, 0, 8, 8, 1000000123},
    {MPT_REC_GEMM, 0, 16, 8, 0x7f00dead0000u},
    {MPT_REC_GEMM, 0, 24, 8, 3},
    {MPT_REC_GEMM, 0, 32, 4, 4242},
    {MPT_REC_GEMM, 0, 36, 4, 7},
    {MPT_REC_GEMM, 0, 40, 4, 2},
    {MPT_REC_GEMM, 0, 44, 4, 4},
    {MPT_REC_GEMM, 0, 48, 4, 3},
    {MPT_REC_GEMM, 0, 52, 4, 68},
    {MPT_REC_GEMM, 1, 56, 4, 0xDEADBEEF},
    {MPT_REC_GEMM, 0, 60, 4, MPT_GEMM_HAS_BIAS | MPT_GEMM_TF32_MATH},
    {MPT_REC_GEMM, 0, 64, 1, 1},
    {MPT_REC_GEMM, 1, 65, 1, 2},
    {MPT_REC_GEMM, 0, 66, 1, MPT_COMPUTE_32F},
    {MPT_REC_GEMM, 0, 67, 1, MPT_EPI_GELU_BIAS},
    {MPT_REC_GEMM, 1, 68, 1, 200},
    {MPT_REC_GEMM, 1, 69, 1, MPT_DT_UNKNOWN},
    {MPT_REC_GEMM, 1, 70, 1, MPT_DT_E4M3},
    {MPT_REC_GEMM, 1, 71, 1, MPT_DT_E5M2},
    {MPT_REC_GEMM, 0, 72, 1, MPT_DT_F32},
    {MPT_REC_GEMM, 0, 73, 1, MPT_LEVEL_FULL},
    {MPT_REC_GEMM, 1, 74, 1, MPT_SKIP_GRAPH_CAPTURE},
    {MPT_REC_GEMM, 0, 80, 8, 4096},
    {MPT_REC_GEMM, 0, 88, 8, 1024},
    {MPT_REC_GEMM, 0, 96, 8, 768},
    {MPT_REC_GEMM, 0, 104, 8, 1},
    {MPT_REC_GEMM, 0, 112, 8, 768},
    {MPT_REC_GEMM, 1, 120, 8, (uint64_t)-7},
    {MPT_REC_GEMM, 0, 128, 8, 4096},
    {MPT_REC_GEMM, 1, 136, 8, (uint64_t)INT64_MIN},
    {MPT_REC_GEMM, 1, 144, 8, UINT64_MAX},
    {MPT_REC_GEMM, 1, 152, 8, INT64_MAX},
    {MPT_REC_GEMM, 1, 160, 8, (uint64_t)INT64_MIN},
    {MPT_REC_GEMM, 1, 168, 8, 12345},
    {MPT_REC_GEMM, 0, 176, 8, 0x3FF0000000000000u},
    {MPT_REC_GEMM, 1, 176, 8, 0x7ff8000000000badu},
    {MPT_REC_GEMM, 1, 184, 8, 0x8000000000000000u},
    {MPT_REC_TENSOR, 0, 0, 8, 1},
    {MPT_REC_TENSOR, 0, 8, 1, MPT_ROLE_D},
    {MPT_REC_TENSOR, 0, 9, 1, MPT_DT_F16},
    {MPT_REC_TENSOR, 0, 10, 1, MPT_LEVEL_CHEAP},
    {MPT_REC_TENSOR, 0, 16, 8, 4096},
    {MPT_REC_TENSOR, 0, 24, 8, 1024},
    {MPT_REC_TENSOR, 0, 32, 8, 1},
    {MPT_REC_TENSOR, 0, 40, 8, UINT64_MAX},
    {MPT_REC_TENSOR, 0, 48, 8, 3},
    {MPT_REC_TENSOR, 0, 56, 8, UINT64_MAX - 1},
    {MPT_REC_TENSOR, 0, 64, 8, 0x7FEFFFFFFFFFFFFFu}, /* DBL_MAX */
    {MPT_REC_TENSOR, 1, 72, 8, 1},
    {MPT_REC_TENSOR, 1, 80, 8, UINT64_MAX - 1},
    {MPT_REC_TENSOR, 1, 88, 8, 5},
    {MPT_REC_TENSOR, 1, 96, 8, 6},
    {MPT_REC_TENSOR, 1, 104, 8, 0xFFEFFFFFFFFFFFFFu},
    {MPT_REC_TENSOR, 1, 112, 8, 1},
    {MPT_REC_TENSOR, 1, 120, 8, 1},
    {MPT_REC_TENSOR, 1, 128, 8, 0x7ff0000000000001u},
    {MPT_REC_TENSOR, 1, 136, 8, 0x7FF0000000000000u},
    {MPT_REC_TENSOR, 1, 144, 1, MPT_NARROW_COUNT},
    {MPT_REC_TENSOR, 1, 146, 2, MPT_HIST_BUCKETS},
    {MPT_REC_TENSOR, 1, 148, 8, 1},
    {MPT_REC_TENSOR, 1, 156, 8, UINT64_MAX},
    {MPT_REC_TENSOR, 1, 164, 8, 1},
    {MPT_REC_TENSOR, 1, 148 + 24 * 3 + 16, 8, 8},
    {MPT_REC_TENSOR, 1, 244, 2, 0},
    {MPT_REC_TENSOR, 1, 246, 8, 1},
    {MPT_REC_TENSOR, 1, 254, 2, 1},
    {MPT_REC_TENSOR, 1, 256, 8, (1ull << 40) + 2},
    {MPT_REC_TENSOR, 3, 146, 2, 3},
    {MPT_REC_TENSOR, 3, 244, 2, MPT_HIST_ZERO},
    {MPT_REC_PRECISION, 0, 0, 8, 1},
    {MPT_REC_PRECISION, 0, 8, 8, 64},
    {MPT_REC_PRECISION, 0, 16, 8, 0x3F40000000000000u}, /* 2^-11 */
    {MPT_REC_PRECISION, 1, 32, 8, 0x7FF0000000000000u},
    {MPT_REC_PRECISION, 0, 48, 8, 2},
    {MPT_REC_PRECISION, 1, 56, 8, UINT64_MAX},
    {MPT_REC_PRECISION, 0, 64, 8, 0x40F1170000000000u},
    {MPT_REC_PRECISION, 0, 72, 1, MPT_DT_F16},
    {MPT_REC_STEP, 1, 0, 8, INT64_MAX},
    {MPT_REC_STEP, 1, 8, 8, UINT64_MAX},
    {MPT_REC_STEP, 1, 16, 4, UINT32_MAX},
    {MPT_REC_STEP, 1, 20, 1, MPT_STEP_END},
    {MPT_REC_SCALAR, 1, 0, 8, (uint64_t)INT64_MIN},
    {MPT_REC_SCALAR, 0, 8, 8, 77},
    {MPT_REC_SCALAR, 1, 16, 4, 9},
    {MPT_REC_SCALAR, 1, 20, 4, MPT_SCALAR_INFERRED},
    {MPT_REC_SCALAR, 1, 24, 8, 0xFFF0000000000000u},
    {MPT_REC_KERNEL, 0, 0, 8, 2},
    {MPT_REC_KERNEL, 0, 8, 8, 99},
    {MPT_REC_KERNEL, 0, 24, 8, UINT64_MAX},
    {MPT_REC_KERNEL, 0, 32, 4, 12},
    {MPT_REC_KERNEL, 0, 36, 4, 6},
    {MPT_REC_KERNEL, 0, 40, 4, UINT32_MAX},
    {MPT_REC_KERNEL, 0, 44, 4, 65535},
    {MPT_REC_KERNEL, 0, 48, 4, 1},
    {MPT_REC_KERNEL, 0, 52, 4, 1024},
    {MPT_REC_KERNEL, 0, 60, 4, 64},
    {MPT_REC_KERNEL, 0, 64, 4, UINT32_MAX},
    {MPT_REC_MEMORY, 0, 16, 8, 5},
    {MPT_REC_MEMORY, 0, 32, 4, 12},
    {MPT_REC_MEMORY, 0, 36, 1, MPT_MEM_H2D},
    {MPT_REC_MEMORY, 0, 38, 2, MPT_MEM_ASYNC},
    {MPT_REC_MEMORY, 0, 40, 8, 0x7f0000000000u},
    {MPT_REC_MEMORY, 0, 48, 8, 0x55d000001000u},
    {MPT_REC_MEMORY, 0, 56, 8, 1 << 20},
    {MPT_REC_RANGE, 3, 0, 8, 1003},
    {MPT_REC_RANGE, 3, 8, 4, 3},
    {MPT_REC_RANGE, 3, 12, 1, MPT_RANGE_START},
    {MPT_REC_RANGE, 3, 16, 4, 7},
    {MPT_REC_RANGE, 3, 20, 4, 2},
    {MPT_REC_RANGE, 3, 24, 8, UINT64_MAX},
    {MPT_REC_MESSAGE, 1, 0, 8, UINT64_MAX},
    {MPT_REC_MESSAGE, 1, 8, 4, UINT32_MAX},
    {MPT_REC_MESSAGE, 0, 12, 1, MPT_MSG_WARN},
    {MPT_REC_MESSAGE, 1, 16, 4, 46},
    {MPT_REC_MESSAGE, 1, 20, 1, 's'},
    {MPT_REC_END, 0, 0, 8, UINT64_MAX - 1},
    {MPT_REC_END, 0, 8, 1, MPT_END_EXIT},
    {MPT_REC_END, 0, 12, 4, (uint32_t)-3},
    {MPT_REC_END, 0, 16, 8, 33},
};

static const mpt_trace_record *nth_of(const mpt_test_samples *s, mpt_record_type t, size_t nth)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->rec[i].type == t && nth-- == 0) return &s->rec[i];
    return NULL;
}

START_TEST(test_layout_matches_doc)
{
    mpt_test_samples *s = mpt_test_samples_new(MPT_TEST_SAMPLES_BIG);
    uint8_t *buf = malloc(1 << 17);
    for (size_t i = 0; i < sizeof layout_rows / sizeof layout_rows[0]; i++) {
        const layout_row *row = &layout_rows[i];
        const mpt_trace_record *r = nth_of(s, row->type, row->nth);
        ck_assert_ptr_nonnull(r);
        size_t len = mpt_trace_payload_size(r);
        ck_assert(row->offset + row->width <= len);
        mpt_trace_payload_encode(r, buf);
        uint64_t v = row->width == 1   ? mpt_get_u8(buf + row->offset)
                     : row->width == 2 ? mpt_get_u16(buf + row->offset)
                     : row->width == 4 ? mpt_get_u32(buf + row->offset)
                                       : mpt_get_u64(buf + row->offset);
        MPT_CHECK(v == row->value, "row %zu (%s #%zu @%zu): 0x%llx, the doc says 0x%llx", i,
                  mpt_record_type_name(r->type), row->nth, row->offset, (unsigned long long)v,
                  (unsigned long long)row->value);
    }
    /* v1.0 payload sizes as documented. */
    static const struct {
        mpt_record_type type;
        size_t nth, size;
    } sizes[] = {
        {MPT_REC_STRING, 1, 8 + 31},   {MPT_REC_GEMM, 0, 192},
        {MPT_REC_TENSOR, 0, 72},       {MPT_REC_TENSOR, 1, 244 + 258 * 10},
        {MPT_REC_TENSOR, 2, 244},      {MPT_REC_TENSOR, 3, 274},
        {MPT_REC_PRECISION, 0, 80},    {MPT_REC_STEP, 0, 24},
        {MPT_REC_SCALAR, 0, 32},       {MPT_REC_KERNEL, 0, 72},
        {MPT_REC_MEMORY, 0, 64},       {MPT_REC_RANGE, 0, 32},
        {MPT_REC_MESSAGE, 1, 20 + 46}, {MPT_REC_END, 0, 24},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        MPT_CHECK(mpt_trace_payload_size(nth_of(s, sizes[i].type, sizes[i].nth)) == sizes[i].size,
                  "%s #%zu: size", mpt_record_type_name(sizes[i].type), sizes[i].nth);
    free(buf);
    mpt_test_samples_free(s);
}
END_TEST

/* Names never fail on unknown values; the cuBLAS map follows cublas_api.h's numbering. */
START_TEST(test_names_and_compute_map)
{
    static const struct {
        uint32_t raw;
        const char *name;
    } map[] = {
        {64, "16F"},
        {65, "16F_PEDANTIC"},
        {68, "32F"},
        {69, "32F_PEDANTIC"},
        {70, "64F"},
        {71, "64F_PEDANTIC"},
        {72, "32I"},
        {73, "32I_PEDANTIC"},
        {74, "32F_FAST_16F"},
        {75, "32F_FAST_16BF"},
        {77, "32F_FAST_TF32"},
        {78, "32F_EMULATED_16BFX9"},
        {79, "64F_EMULATED_FIXEDPOINT"},
        {0, "unknown"},
        {2, "unknown"}, /* CUDA_R_16F */
        {66, "unknown"},
        {76, "unknown"},
        {80, "unknown"},
        {UINT32_MAX, "unknown"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        ck_assert_str_eq(mpt_compute_type_name(mpt_compute_type_from_cublas(map[i].raw)),
                         map[i].name);
    for (uint32_t t = 1; t < MPT_REC_TYPE_COUNT; t++)
        ck_assert_str_ne(mpt_record_type_name(t), "unknown");
    for (int v = 1; v < MPT_COMPUTE_COUNT; v++)
        ck_assert_str_ne(mpt_compute_type_name((mpt_compute_type)v), "unknown");
    ck_assert_str_eq(mpt_record_type_name(0), "unknown");
    ck_assert_str_eq(mpt_record_type_name(0xFFFF), "unknown");
    ck_assert_str_eq(mpt_epilogue_name(MPT_EPI_GELU_BIAS), "gelu_bias");
    ck_assert_str_eq(mpt_epilogue_name((mpt_epilogue)99), "unknown");
    ck_assert_str_eq(mpt_stat_level_name(MPT_LEVEL_CHEAP), "cheap");
    ck_assert_str_eq(mpt_skip_reason_name(MPT_SKIP_GRAPH_CAPTURE), "graph capture");
    ck_assert_str_eq(mpt_tensor_role_name(MPT_ROLE_MEMCPY), "memcpy");
    ck_assert_str_eq(mpt_mem_kind_name(MPT_MEM_FREE), "free");
    ck_assert_str_eq(mpt_mem_kind_name((mpt_mem_kind)255), "unknown");
    ck_assert_str_eq(mpt_range_kind_name(MPT_RANGE_END), "end");
    ck_assert_str_eq(mpt_msg_level_name(MPT_MSG_WARN), "warning");
    ck_assert_str_eq(mpt_end_how_name(MPT_END_FATAL_SIGNAL), "flushed at fatal signal");
    ck_assert_str_eq(mpt_end_how_name((mpt_end_how)-1), "unknown");
}
END_TEST

extern Suite *suite_trace_layout(void);
Suite *suite_trace_layout(void)
{
    Suite *s = suite_create("trace_layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, test_layout_matches_doc);
    tcase_add_test(tc, test_text_truncation);
    tcase_add_test(tc, test_names_and_compute_map);
    suite_add_tcase(s, tc);
    return s;
}
