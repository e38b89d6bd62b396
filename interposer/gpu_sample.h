/*
 * The GPU path's precision sample: what mpt_gpu_sample_kernel (gpu_sample_kernel.cu) needs to
 * recompute sampled outputs of one GEMM exactly, passed to it by value as its one parameter
 * block, so nothing is copied to the device first. C and CUDA C++ alike.
 *
 * The kernel writes, per sample x, out[2x] = the exact value (double, compensated sum, alpha,
 * beta * C, bias and epilogue applied, as sampling.c computes it on the host) and out[2x + 1] =
 * what the library stored in D; the host turns the pairs into the PRECISION record with the
 * host path's own code (mpt_ipx_sample_summary), so both paths give the same record.
 */
#ifndef MPT_INTERPOSER_GPU_SAMPLE_H
#define MPT_INTERPOSER_GPU_SAMPLE_H

/* Samples per GEMM on the GPU path: the parameter block must stay under CUDA's 4 KiB limit and
 * the results (16 bytes each) fit in one ring slot. */
#define MPT_GPU_SAMPLE_MAX 64

#define MPT_GPU_EPI_NONE 0
#define MPT_GPU_EPI_RELU 1
#define MPT_GPU_EPI_GELU 2 /* the tanh form cuBLASLt uses */

/* One operand: element (b, r, c) of the stored matrix, layout bits of gpu_stats.h. */
typedef struct mpt_gpu_operand_ref {
    const void *data; /* the matrix, or a device array of `batch` pointers (MPT_GPU_PTR_ARRAY) */
    long long ld, stride;
    int dtype, layout;
} mpt_gpu_operand_ref;

typedef struct mpt_gpu_sample_desc {
    mpt_gpu_operand_ref a, b, c, d; /* c only read when beta != 0 (then C is not D) */
    const void *bias;               /* length m, or NULL */
    int bias_dtype;
    int transa, transb; /* nonzero: op(X) = X^T */
    int epilogue;       /* MPT_GPU_EPI_* */
    int n;              /* samples, <= MPT_GPU_SAMPLE_MAX */
    long long k;
    double alpha, beta;
    long long pos_b[MPT_GPU_SAMPLE_MAX], pos_i[MPT_GPU_SAMPLE_MAX], pos_j[MPT_GPU_SAMPLE_MAX];
} mpt_gpu_sample_desc;

#endif
