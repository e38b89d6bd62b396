/*
 * Matrices for the simcuda GEMM suites: column-major, possibly padded (ld > rows) and batched,
 * in managed memory from simcuda's own cudaMallocManaged (valid host- and device-side, as on a
 * GPU), with exact element access in double and a slow double-precision reference GEMM.
 */
#ifndef MPT_TESTS_SIM_MAT_H
#define MPT_TESTS_SIM_MAT_H

#include <library_types.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_mat {
    cudaDataType type;      /* CUDA_R_32F, _64F, _16F or _16BF */
    int64_t rows, cols, ld; /* as stored */
    int64_t batch, stride;  /* stride: elements between batches (>= ld * cols) */
    void *p;                /* managed memory, batch * stride elements */
} sim_mat;

/* Allocates rows x cols x batch with `pad` extra rows of padding per column and `gap`
 * elements between batches; every element (padding included) starts as `fill`. */
sim_mat sim_mat_new(cudaDataType type, int64_t rows, int64_t cols, int64_t pad, int64_t batch,
                    int64_t gap, double fill);
void sim_mat_free(sim_mat *m);

size_t sim_mat_elem_size(cudaDataType t);
double sim_mat_get(const sim_mat *m, int64_t b, int64_t i, int64_t j);
/* Stores v rounded to nearest even into the element type (core/fpformat.h). */
void sim_mat_set(sim_mat *m, int64_t b, int64_t i, int64_t j, double v);
/* Raw element access by linear index (for padding checks). */
double sim_mat_at(const sim_mat *m, int64_t index);
void *sim_mat_batch_ptr(const sim_mat *m, int64_t b);

/* Deterministic pseudo-random numbers in [-1, 1). */
double sim_rand_unit(uint64_t *state);
/* Fills the logical elements with random values of magnitude <= scale, rounded to the type. */
void sim_mat_fill_random(sim_mat *m, uint64_t *state, double scale);

/* Input rounding of a compute type, applied to an fp32 input value (identity otherwise). */
typedef enum sim_ref_round { SIM_REF_NONE, SIM_REF_TF32, SIM_REF_F16, SIM_REF_BF16 } sim_ref_round;
double sim_ref_round_input(sim_ref_round r, double v);

/* The double-precision reference of one output element, op(A) op(B) from the stored matrices;
 * also returns sum |alpha a b| + |beta c| in *magnitude for error bounds. */
double sim_ref_gemm_elem(const sim_mat *a, int ta, const sim_mat *b, int tb, const sim_mat *c,
                         int64_t batch, int64_t i, int64_t j, int64_t k, double alpha, double beta,
                         sim_ref_round r, double *magnitude);

/* x correctly rounded to fp16 (nearest, ties to even, |x| >= 65520 -> Inf), computed with
 * double arithmetic only: an oracle independent of core/fpformat.h. */
double sim_ref_round_f16(double x);

#endif
