/*
 * simcuda's GEMM engine: D = epilogue(alpha * op(A) op(B) + beta * C), batched, for every
 * element type and compute type the cuBLAS and cuBLASLt front ends accept. The front ends decode
 * their API's arguments (types, transposes, layouts, scalars in the scale type) into one
 * sim_gemm and call sim_gemm_run; all numerics live behind this header.
 *
 * Numerics (see docs/simcuda.md for the reasoning):
 *  - inputs are decoded exactly (core/fpformat.h); 32F_FAST_TF32 / 32F_FAST_16F / 32F_FAST_16BF
 *    first round fp32 inputs to tf32 / fp16 / bf16 (RNE);
 *  - 32F-family compute accumulates in fp32 through OpenBLAS sgemm (its summation order);
 *  - 16F compute accumulates in fp16, rounding to nearest even after every multiply-add, in k
 *    order (a running sum of 4096 ones stalls at 2048);
 *  - 64F compute is OpenBLAS dgemm;
 *  - the epilogue runs in the scale type: v = alpha*acc, then v = fma(beta, c, v) when beta != 0
 *    (C is not read when beta == 0, as BLAS specifies), + bias, then RELU / GELU, then one
 *    round-to-nearest-even into D's type (fp16 overflow gives ±Inf).
 */
#ifndef MPT_SIM_GEMM_H
#define MPT_SIM_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* Element types simcuda computes with (cudaDataType values are mapped by the front ends). */
typedef enum sim_type { SIM_T_F32 = 0, SIM_T_F64, SIM_T_F16, SIM_T_BF16, SIM_T_INVALID } sim_type;

/* Compute types; the scale type follows from them (F16 -> fp16 scalars, F64 -> double, the
 * rest -> float). */
typedef enum sim_compute {
    SIM_C_32F = 0,  /* fp32 inputs and accumulation */
    SIM_C_32F_TF32, /* fp32 inputs rounded to tf32, fp32 accumulation */
    SIM_C_32F_16F,  /* fp32 inputs rounded to fp16, fp32 accumulation */
    SIM_C_32F_16BF, /* fp32 inputs rounded to bf16, fp32 accumulation */
    SIM_C_16F,      /* fp16 accumulation, rounded after every multiply-add */
    SIM_C_64F       /* fp64 throughout */
} sim_compute;

typedef enum sim_activation {
    SIM_ACT_NONE = 0,
    SIM_ACT_RELU, /* fmaxf(v, 0): NaN becomes 0, as CUDA's fmaxf does */
    SIM_ACT_GELU  /* tanh approximation, as cuBLASLt documents */
} sim_activation;

/* One operand as stored in memory. Element (i, j) of the stored rows x cols matrix of batch b is
 * at base_b + i + j*ld (column-major) or base_b + i*ld + j (row_major), in elements, where base_b
 * is ptrs[b] when ptrs is set (pointer-array batches) and ptr + b*stride otherwise. */
typedef struct sim_matrix {
    const void *ptr;
    const void *const *ptrs;
    sim_type type;
    int row_major;
    int64_t ld;
    int64_t stride;
} sim_matrix;

typedef struct sim_gemm {
    int trans_a, trans_b;  /* 0: op(X) = X; 1: op(X) = X^T (conjugate = transpose: real only) */
    int64_t m, n, k;       /* op(A) is m x k, op(B) is k x n, C and D are m x n */
    int64_t batch;         /* >= 1 */
    sim_matrix a, b, c, d; /* c is read only when beta != 0; d is written (ptr cast from const) */
    sim_compute compute;
    double alpha, beta; /* values in the scale type (exactly representable there) */
    sim_activation activation;
    const void *bias; /* NULL or a vector of m elements of bias_type per batch */
    sim_type bias_type;
    int64_t bias_stride; /* elements between the bias vectors of consecutive batches */
} sim_gemm;

typedef enum sim_gemm_status {
    SIM_GEMM_OK = 0,
    SIM_GEMM_INVALID,  /* a shape, type or compute combination the engine does not do */
    SIM_GEMM_NO_MEMORY /* a temporary panel could not be allocated */
} sim_gemm_status;

/* Runs the whole batched product. Shapes and leading dimensions must already be validated by the
 * caller (the engine trusts them); m, n or batch of 0 is a no-op, k of 0 gives beta*C. */
sim_gemm_status sim_gemm_run(const sim_gemm *g);

/* Element helpers shared with the front ends' epilogue-free paths and the tests. */
size_t sim_type_size(sim_type t);
double sim_load(sim_type t, const void *base, int64_t index);

/* The round-once helper the 16F accumulation uses: x rounded to fp16 (RNE) and widened back to
 * float, for any double x that is exact or correctly representable per the engine's contract
 * (round-to-odd to fp32 first, so the two roundings give the single correct one). */
float sim_round_f64_to_f16(double x);

#endif
