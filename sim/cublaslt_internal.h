/*
 * simcuda cuBLASLt internals: what the semi-opaque descriptors hold. cuBLASLt lets programs
 * place descriptors in their own storage (cublasLt*Init, with cublasLt*Opaque_t of fixed
 * size), so each struct here must fit its opaque type; cublaslt_desc.c checks that at compile
 * time. Every attribute a program can set is stored, but matmul honours only what simcuda
 * implements and reports CUBLAS_STATUS_NOT_SUPPORTED for the rest (fp8 scaling, aux outputs,
 * vector alpha, COL32 orders, ...), never ignoring a setting that would change the result.
 */
#ifndef MPT_SIM_CUBLASLT_INTERNAL_H
#define MPT_SIM_CUBLASLT_INTERNAL_H

#include <cublasLt.h>
#include <stdint.h>

#include "sim/cublas_internal.h"

#define SIM_LT_MAGIC        0x53434c54u           /* "SCLT": a live handle */
#define SIM_LT_DESC_MAGIC   0x534c4d44u           /* "SLMD": an initialised matmul descriptor */
#define SIM_LT_LAYOUT_MAGIC 0x534c4c41u           /* "SLLA": an initialised matrix layout */
#define SIM_LT_PREF_MAGIC   0x534c5052u           /* "SLPR": an initialised preference */
#define SIM_LT_ALGO_MAGIC   0x53494d43414c474full /* "SIMCALGO": data[0] of our algorithms */

struct cublasLtContext {
    uint32_t magic;
};

/* cublasLtMatmulDescOpaque_t contents (attribute types as cublasLt.h documents them). */
typedef struct sim_lt_desc {
    uint32_t magic;
    int32_t compute_type; /* cublasComputeType_t */
    int32_t scale_type;   /* cudaDataType */
    int32_t pointer_mode; /* cublasLtPointerMode_t */
    int32_t transa, transb, transc;
    int32_t fill_mode;
    uint32_t epilogue; /* cublasLtEpilogue_t */
    int32_t sm_count_target;
    int32_t bias_data_type; /* -1: D's type */
    int32_t aux_data_type;
    int32_t scale_mode[6]; /* A, B, C, D, aux, D-out scale modes */
    int8_t fast_accum;
    const void *bias;
    int64_t bias_batch_stride; /* elements */
    void *aux;
    int64_t aux_ld, aux_batch_stride, alpha_vector_batch_stride;
    const void *a_scale, *b_scale, *c_scale, *d_scale;
    void *amax_d, *aux_scale, *aux_amax, *d_out_scale;
    void *emulation;
} sim_lt_desc;

/* cublasLtMatrixLayoutOpaque_t contents. */
typedef struct sim_lt_layout {
    uint32_t magic;
    uint32_t type; /* cudaDataType */
    int32_t order; /* cublasLtOrder_t */
    int32_t batch_count;
    uint64_t rows, cols;
    int64_t ld;
    int64_t batch_stride; /* elements between batches */
    int64_t plane_offset;
    uint32_t batch_mode; /* cublasLtBatchMode_t */
} sim_lt_layout;

/* cublasLtMatmulPreferenceOpaque_t contents. */
typedef struct sim_lt_pref {
    uint32_t magic;
    uint32_t search_mode;
    uint64_t max_workspace;
    uint32_t reduction_mask;
    uint32_t min_alignment[4]; /* A, B, C, D bytes */
    float max_waves;
    uint64_t impl_mask;
} sim_lt_pref;

#define SIM_LT_DESC(d)   ((sim_lt_desc *)(void *)(d))
#define SIM_LT_LAYOUT(l) ((sim_lt_layout *)(void *)(l))
#define SIM_LT_PREF(p)   ((sim_lt_pref *)(void *)(p))

/* cublasLtMatmulAlgo_t contents: the id a program chose and the configuration it set. GPU
 * algorithm ids and configurations (tiles, split-K, ...) select among GPU kernels; simcuda
 * records them and computes every one with the same engine. */
typedef struct sim_lt_algo {
    uint64_t magic; /* SIM_LT_ALGO_MAGIC */
    int32_t id;
    uint32_t tile;
    int32_t splitk;
    uint32_t reduction, swizzle, custom, stages;
    uint16_t inner_shape, cluster_shape;
} sim_lt_algo;

#define SIM_LT_ALGO(a) ((sim_lt_algo *)(void *)(a))

/* A fresh algorithm (id 0, default configuration), and a heuristic result holding one. */
void sim_lt_algo_fill(cublasLtMatmulAlgo_t *algo);
void sim_lt_result_fill(cublasLtMatmulHeuristicResult_t *r);

/* Checks a matmul problem as cublasLtMatmul will run it and fills the engine description
 * (everything but the data pointers and scalars). Returns CUBLAS_STATUS_SUCCESS, or
 * INVALID_VALUE for inconsistent shapes, or NOT_SUPPORTED for what simcuda does not do. */
cublasStatus_t sim_lt_plan(cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
                           cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                           cublasLtMatrixLayout_t d, sim_gemm *out);

#endif
