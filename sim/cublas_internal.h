/*
 * Shared by simcuda's cuBLAS and cuBLASLt front ends: the cuBLAS handle, and the decoding of
 * cudaDataType / cublasComputeType_t / math mode into the GEMM engine's terms (sim_gemm.h), so
 * that both libraries accept exactly the same type combinations and mean the same numerics.
 * Compiled against NVIDIA's cublas_api.h for exact prototypes and enum values.
 */
#ifndef MPT_SIM_CUBLAS_INTERNAL_H
#define MPT_SIM_CUBLAS_INTERNAL_H

#include <cublas_api.h>
#include <library_types.h>
#include <stdint.h>

#include "sim/sim_gemm.h"
#include "sim/sim_notice.h"

#define SIM_CUBLAS_MAGIC 0x53434231u /* "SCB1" */

/* What cublasHandle_t points to (opaque to programs). */
struct cublasContext {
    uint32_t magic;      /* SIM_CUBLAS_MAGIC while alive */
    cudaStream_t stream; /* recorded only: work is synchronous */
    cublasPointerMode_t pointer_mode;
    cublasMath_t math_mode;
    cublasAtomicsMode_t atomics_mode;
    void *workspace; /* user workspace (cublasSetWorkspace), unused by the CPU */
    size_t workspace_size;
    int sm_count_target;
};

/* cudaDataType -> engine type; SIM_T_INVALID for types simcuda does not compute with. */
sim_type sim_cublas_type(cudaDataType t);

/* The engine's compute type for a cuBLAS compute type, A/B element types and math mode
 * (math_mode is 0 for cuBLASLt, which ignores the handle's math mode). Returns 0 and sets *out,
 * or -1 when cuBLAS does not support the combination (CUBLAS_STATUS_NOT_SUPPORTED). Checks the
 * documented table: 16F with fp16 A/B/C; 32F with fp32, fp16 or bf16 A/B (C fp32 or like A);
 * 32F_FAST_* with fp32 only; 64F with fp64 only. */
int sim_cublas_compute(cublasComputeType_t compute, cublasMath_t math_mode, cudaDataType ab_type,
                       cudaDataType c_type, sim_compute *out);

/* The scale type of an engine compute type: alpha/beta are read as this. */
sim_type sim_cublas_scale_type(sim_compute c);

/* Reads one scalar of type t (fp16, fp32 or fp64) as a double (exact). */
double sim_cublas_read_scalar(sim_type t, const void *p);

/* One GEMM call as the API gave it. Exactly one of ptr / array is set per operand. */
typedef struct sim_cublas_gemm_args {
    cublasHandle_t handle;
    cublasOperation_t ta, tb;
    int64_t m, n, k, batch;
    const void *alpha, *beta;
    const void *a, *const *a_array;
    cudaDataType at;
    int64_t lda, stride_a;
    const void *b, *const *b_array;
    cudaDataType bt;
    int64_t ldb, stride_b;
    void *c, *const *c_array;
    cudaDataType ct;
    int64_t ldc, stride_c;
    cublasComputeType_t compute;
} sim_cublas_gemm_args;

/* Checks, decodes and runs one cuBLAS GEMM call (all variants end here); cuBLAS statuses. */
cublasStatus_t sim_cublas_gemm(const sim_cublas_gemm_args *g);

/* cublasGetStatusName / cublasGetStatusString (and the cuBLASLt twins): the real texts. */
const char *sim_cublas_status_name(cublasStatus_t s);
const char *sim_cublas_status_string(cublasStatus_t s);

#endif
