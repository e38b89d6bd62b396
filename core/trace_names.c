/*
 * Names of the trace format's enum values, for reports, dumps and error messages, and the map
 * from cuBLAS's compute-type numbering to the trace's own.
 *
 * Every function answers "unknown" for a value it has no name for: traces from a newer minor may
 * carry values this build has never heard of, and printing them must not crash.
 */
#include "core/trace_format.h"

#define NAME_OF(table, v)                                                                          \
    ((size_t)(v) < sizeof(table) / sizeof((table)[0]) && (table)[(size_t)(v)]                      \
         ? (table)[(size_t)(v)]                                                                    \
         : "unknown")

const char *mpt_record_type_name(uint32_t type)
{
    static const char *const names[] = {
        [MPT_REC_STRING] = "STRING",       [MPT_REC_GEMM] = "GEMM",     [MPT_REC_TENSOR] = "TENSOR",
        [MPT_REC_PRECISION] = "PRECISION", [MPT_REC_STEP] = "STEP",     [MPT_REC_SCALAR] = "SCALAR",
        [MPT_REC_KERNEL] = "KERNEL",       [MPT_REC_MEMORY] = "MEMORY", [MPT_REC_RANGE] = "RANGE",
        [MPT_REC_MESSAGE] = "MESSAGE",     [MPT_REC_END] = "END",
    };
    return NAME_OF(names, type);
}

const char *mpt_compute_type_name(mpt_compute_type c)
{
    static const char *const names[] = {
        [MPT_COMPUTE_UNKNOWN] = "unknown",
        [MPT_COMPUTE_16F] = "16F",
        [MPT_COMPUTE_16F_PEDANTIC] = "16F_PEDANTIC",
        [MPT_COMPUTE_32F] = "32F",
        [MPT_COMPUTE_32F_PEDANTIC] = "32F_PEDANTIC",
        [MPT_COMPUTE_32F_FAST_16F] = "32F_FAST_16F",
        [MPT_COMPUTE_32F_FAST_16BF] = "32F_FAST_16BF",
        [MPT_COMPUTE_32F_FAST_TF32] = "32F_FAST_TF32",
        [MPT_COMPUTE_32F_EMULATED_16BFX9] = "32F_EMULATED_16BFX9",
        [MPT_COMPUTE_64F] = "64F",
        [MPT_COMPUTE_64F_PEDANTIC] = "64F_PEDANTIC",
        [MPT_COMPUTE_64F_EMULATED_FIXEDPOINT] = "64F_EMULATED_FIXEDPOINT",
        [MPT_COMPUTE_32I] = "32I",
        [MPT_COMPUTE_32I_PEDANTIC] = "32I_PEDANTIC",
    };
    return NAME_OF(names, c);
}

mpt_compute_type mpt_compute_type_from_cublas(uint32_t raw)
{
    /* cublasComputeType_t values from cublas_api.h (CUDA 11 to 13). */
    static const struct {
        uint32_t raw;
        mpt_compute_type type;
    } map[] = {
        {64, MPT_COMPUTE_16F},
        {65, MPT_COMPUTE_16F_PEDANTIC},
        {68, MPT_COMPUTE_32F},
        {69, MPT_COMPUTE_32F_PEDANTIC},
        {74, MPT_COMPUTE_32F_FAST_16F},
        {75, MPT_COMPUTE_32F_FAST_16BF},
        {77, MPT_COMPUTE_32F_FAST_TF32},
        {78, MPT_COMPUTE_32F_EMULATED_16BFX9},
        {70, MPT_COMPUTE_64F},
        {71, MPT_COMPUTE_64F_PEDANTIC},
        {79, MPT_COMPUTE_64F_EMULATED_FIXEDPOINT},
        {72, MPT_COMPUTE_32I},
        {73, MPT_COMPUTE_32I_PEDANTIC},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].raw == raw) return map[i].type;
    return MPT_COMPUTE_UNKNOWN;
}

const char *mpt_epilogue_name(mpt_epilogue e)
{
    static const char *const names[] = {
        [MPT_EPI_NONE] = "none",   [MPT_EPI_BIAS] = "bias",
        [MPT_EPI_RELU] = "relu",   [MPT_EPI_RELU_BIAS] = "relu_bias",
        [MPT_EPI_GELU] = "gelu",   [MPT_EPI_GELU_BIAS] = "gelu_bias",
        [MPT_EPI_OTHER] = "other",
    };
    return NAME_OF(names, e);
}

const char *mpt_stat_level_name(mpt_stat_level l)
{
    static const char *const names[] = {
        [MPT_LEVEL_NONE] = "none", [MPT_LEVEL_CHEAP] = "cheap", [MPT_LEVEL_FULL] = "full"};
    return NAME_OF(names, l);
}

const char *mpt_skip_reason_name(mpt_skip_reason s)
{
    static const char *const names[] = {
        [MPT_SKIP_NONE] = "none",
        [MPT_SKIP_GRAPH_CAPTURE] = "graph capture",
        [MPT_SKIP_FILTERED] = "filtered",
        [MPT_SKIP_UNREADABLE] = "unreadable",
        [MPT_SKIP_UNSUPPORTED] = "unsupported",
        [MPT_SKIP_ERROR] = "error",
    };
    return NAME_OF(names, s);
}

const char *mpt_tensor_role_name(mpt_tensor_role r)
{
    static const char *const names[] = {
        [MPT_ROLE_A] = "A", [MPT_ROLE_B] = "B",       [MPT_ROLE_C] = "C",
        [MPT_ROLE_D] = "D", [MPT_ROLE_BIAS] = "bias", [MPT_ROLE_MEMCPY] = "memcpy",
    };
    return NAME_OF(names, r);
}

const char *mpt_mem_kind_name(mpt_mem_kind k)
{
    static const char *const names[] = {
        [MPT_MEM_UNKNOWN] = "unknown", [MPT_MEM_H2D] = "H2D",     [MPT_MEM_D2H] = "D2H",
        [MPT_MEM_D2D] = "D2D",         [MPT_MEM_H2H] = "H2H",     [MPT_MEM_DEFAULT] = "default",
        [MPT_MEM_MEMSET] = "memset",   [MPT_MEM_ALLOC] = "alloc", [MPT_MEM_FREE] = "free",
    };
    return NAME_OF(names, k);
}

const char *mpt_range_kind_name(mpt_range_kind k)
{
    static const char *const names[] = {
        [MPT_RANGE_PUSH] = "push",   [MPT_RANGE_POP] = "pop", [MPT_RANGE_MARK] = "mark",
        [MPT_RANGE_START] = "start", [MPT_RANGE_END] = "end",
    };
    return NAME_OF(names, k);
}

const char *mpt_msg_level_name(mpt_msg_level l)
{
    static const char *const names[] = {
        [MPT_MSG_INFO] = "info", [MPT_MSG_WARN] = "warning", [MPT_MSG_ERROR] = "error"};
    return NAME_OF(names, l);
}

const char *mpt_end_how_name(mpt_end_how h)
{
    static const char *const names[] = {
        [MPT_END_UNKNOWN] = "unknown", [MPT_END_EXIT] = "exit",
        [MPT_END_SIGNAL] = "signal",   [MPT_END_FATAL_SIGNAL] = "flushed at fatal signal",
        [MPT_END_CLOSED] = "closed",
    };
    return NAME_OF(names, h);
}
