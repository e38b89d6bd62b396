/*
 * The GPU statistics kernel, in the one-source convention (sim/mpt_kernel.h): nvcc builds it
 * for the GPU (interposer/gpu_stats.cu includes this file; `make gpu` makes the fatbin
 * libmptrace.so loads through the driver API, interposer/gpu_ring.c), gcc builds it as host code
 * that simcuda runs: through cudaLaunchKernel in tests/programs/ipx_gpu_stats.c, which checks it
 * against the host reducer (core/tensor_stats.h), and through simcuda's libcuda cuLaunchKernel
 * inside libmptrace.so itself (interposer/gpu_sim_image.c), which is how the whole GPU path is
 * tested on a machine without a GPU.
 *
 * One pass over a (strided or pointer-array batched, column- or row-major) fp32/fp16/bf16/fp8
 * matrix (fp64 is left to the host reducer: its keys and narrow roundings need 64 bits), every
 * result merged into one mpt_gpu_stats with global atomics (the CPU model has no shared memory,
 * and the convention keeps to it). Each thread walks a contiguous chunk, keeps its counts, sums and
 * extrema in registers and the histogram as runs of equal buckets, and publishes them once per
 * chunk (per bucket change for the histogram), so the atomics are few next to the reads.
 *
 * Exactly the host reducer's definitions (core/tensor_stats.h): counts, histogram buckets, the
 * narrow-format counts (each value rounded to fp16, bf16, e4m3, e5m2 with the same conversions,
 * core/fpformat_inline.h), min, max, absmax, smallest nonzero |x|; the sums are accumulated in
 * double but in a different order, so they agree to rounding, not bit for bit.
 */
#ifndef MPT_INTERPOSER_GPU_STATS_KERNEL_CU
#define MPT_INTERPOSER_GPU_STATS_KERNEL_CU

#include "core/fpformat.h"
#include "interposer/gpu_stats.h"
#include "sim/mpt_kernel.h"

#ifdef __CUDACC__
#define IPX_ATOMIC_ADD_F64(p, v) atomicAdd((double *)(p), (double)(v))
#else
static inline void ipx_atomic_add_f64(double *p, double v)
{
    unsigned long long old = __atomic_load_n((unsigned long long *)p, __ATOMIC_RELAXED), next;
    double d;
    do {
        memcpy(&d, &old, sizeof d);
        d += v;
        memcpy(&next, &d, sizeof next);
    } while (!__atomic_compare_exchange_n((unsigned long long *)p, &old, next, 0, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
}
#define IPX_ATOMIC_ADD_F64(p, v) ipx_atomic_add_f64((double *)(p), (double)(v))
#endif

/* Order-preserving key of a float's bits: larger value, larger key. */
static MPT_DEVICE inline unsigned int ipx_key(unsigned int bits)
{
    return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

/* What rounding a finite nonzero x to narrow format n does: 0 nothing, 1 overflow, 2 subnormal,
 * 3 flush to zero. */
static MPT_DEVICE inline int ipx_narrow_class(float x, int n)
{
    float r;
    float min_normal;
    switch (n) {
    case 0: r = mpt_f16_to_f32(mpt_f32_to_f16(x)); min_normal = 6.103515625e-05f; break;
    case 1: r = mpt_bf16_to_f32(mpt_f32_to_bf16(x)); min_normal = 1.17549435e-38f; break;
    case 2: r = mpt_e4m3_to_f32(mpt_f32_to_e4m3(x, 0)); min_normal = 0.015625f; break;
    default: r = mpt_e5m2_to_f32(mpt_f32_to_e5m2(x, 0)); min_normal = 6.103515625e-05f; break;
    }
    if (r != r || r - r != 0.0f) return 1; /* NaN (e4m3fn) or Inf */
    if (r == 0.0f) return 3;
    return (r < 0 ? -r : r) < min_normal ? 2 : 0;
}

static MPT_DEVICE inline float ipx_load(const void *data, int dtype, long long i)
{
    if (dtype == MPT_DT_F16) return mpt_f16_to_f32(((const unsigned short *)data)[i]);
    if (dtype == MPT_DT_BF16) return mpt_bf16_to_f32(((const unsigned short *)data)[i]);
    if (dtype == MPT_DT_E4M3) return mpt_e4m3_to_f32(((const unsigned char *)data)[i]);
    if (dtype == MPT_DT_E5M2) return mpt_e5m2_to_f32(((const unsigned char *)data)[i]);
    return ((const float *)data)[i];
}

/* Smallest normal magnitude of the stored type (what "subnormal in its own dtype" means). */
static MPT_DEVICE inline float ipx_own_min_normal(int dtype)
{
    switch (dtype) {
    case MPT_DT_F16: return 6.103515625e-05f;  /* 2^-14 */
    case MPT_DT_E4M3: return 0.015625f;        /* 2^-6 */
    case MPT_DT_E5M2: return 6.103515625e-05f; /* 2^-14 */
    default: return 1.17549435e-38f;           /* fp32, bf16: 2^-126 */
    }
}

/* The driver API finds the kernel by name: unmangled under nvcc (the fatbin's symbol). */
#if defined(__CUDACC__) && defined(__cplusplus)
#define IPX_KERNEL_LINKAGE extern "C"
#else
#define IPX_KERNEL_LINKAGE
#endif

/* layout bits: MPT_GPU_ROW_MAJOR, MPT_GPU_PTR_ARRAY (interposer/gpu_stats.h). */
IPX_KERNEL_LINKAGE MPT_GLOBAL void mpt_gpu_stats_kernel(const void *data, int dtype, long long rows,
                                                        long long cols, long long ld,
                                                        long long batch, long long stride,
                                                        int layout, int full, mpt_gpu_stats *out);
IPX_KERNEL_LINKAGE MPT_GLOBAL void mpt_gpu_stats_kernel(const void *data, int dtype, long long rows,
                                                        long long cols, long long ld,
                                                        long long batch, long long stride,
                                                        int layout, int full, mpt_gpu_stats *out)
{
    int row_major = (layout & MPT_GPU_ROW_MAJOR) != 0;
    int ptr_array = (layout & MPT_GPU_PTR_ARRAY) != 0;
    long long per = rows * cols, total = per * batch;
    long long nthreads = (long long)MPT_GRID_DIM_X * MPT_BLOCK_DIM_X;
    long long g = (long long)MPT_BLOCK_IDX_X * MPT_BLOCK_DIM_X + MPT_THREAD_IDX_X;
    long long chunk = (total + nthreads - 1) / nthreads;
    long long lo = g * chunk, hi = lo + chunk < total ? lo + chunk : total;
    if (lo >= hi) return;
    float own_min_normal = ipx_own_min_normal(dtype);
    unsigned long long n_nan = 0, n_pinf = 0, n_ninf = 0, n_zero = 0, n_sub = 0;
    unsigned long long narrow[MPT_GPU_NARROW][3] = {{0}};
    unsigned int absmax = 0, max_key = 0, min_inv = 0, minnz_inv = 0;
    double sum = 0, sumsq = 0;
    int run_bucket = -1;
    unsigned long long run = 0;
    for (long long i = lo; i < hi; i++) {
        long long b = i / per, rem = i - b * per, r, c;
        if (row_major)
            r = rem / cols, c = rem - r * cols;
        else
            c = rem / rows, r = rem - c * rows;
        long long off = row_major ? r * ld + c : c * ld + r;
        float x = ptr_array ? ipx_load(((const void *const *)data)[b], dtype, off)
                            : ipx_load(data, dtype, b * stride + off);
        unsigned int bits = mpt_f32_bits(x), abits = bits & 0x7fffffffu;
        int bucket;
        if (abits > 0x7f800000u) {
            n_nan++;
            bucket = MPT_HIST_NAN;
        } else if (abits == 0x7f800000u) {
            if (bits >> 31)
                n_ninf++;
            else
                n_pinf++;
            bucket = MPT_HIST_INF;
        } else if (abits == 0) {
            n_zero++;
            bucket = MPT_HIST_ZERO;
            unsigned int k = ipx_key(bits);
            if (k > max_key) max_key = k;
            if (~k > min_inv) min_inv = ~k;
        } else {
            float a = mpt_f32_from_bits(abits);
            if (a < own_min_normal) n_sub++;
            int e = (int)(abits >> 23) - 127;
            bucket = abits < 0x00800000u ? MPT_HIST_SUBNORMAL : MPT_HIST_EXP_BASE + e - MPT_HIST_MIN_EXP;
            unsigned int k = ipx_key(bits);
            if (k > max_key) max_key = k;
            if (~k > min_inv) min_inv = ~k;
            if (abits > absmax) absmax = abits;
            if (~abits > minnz_inv) minnz_inv = ~abits;
            sum += (double)x;
            sumsq += (double)x * (double)x;
            if (full)
                for (int n = 0; n < MPT_GPU_NARROW; n++) {
                    int cls = ipx_narrow_class(x, n);
                    if (cls) narrow[n][cls - 1]++;
                }
        }
        if (full) {
            if (bucket != run_bucket) {
                if (run) MPT_ATOMIC_ADD_U64(&out->hist[run_bucket], run);
                run_bucket = bucket;
                run = 0;
            }
            run++;
        }
    }
    if (full && run) MPT_ATOMIC_ADD_U64(&out->hist[run_bucket], run);
    MPT_ATOMIC_ADD_U64(&out->count, (unsigned long long)(hi - lo));
    if (n_nan) MPT_ATOMIC_ADD_U64(&out->nan, n_nan);
    if (n_pinf) MPT_ATOMIC_ADD_U64(&out->pinf, n_pinf);
    if (n_ninf) MPT_ATOMIC_ADD_U64(&out->ninf, n_ninf);
    if (n_zero) MPT_ATOMIC_ADD_U64(&out->zero, n_zero);
    if (n_sub) MPT_ATOMIC_ADD_U64(&out->subnormal, n_sub);
    if (absmax) MPT_ATOMIC_MAX_U32(&out->absmax_bits, absmax);
    if (max_key) MPT_ATOMIC_MAX_U32(&out->max_key, max_key);
    if (min_inv) MPT_ATOMIC_MAX_U32(&out->min_key_inv, min_inv);
    if (minnz_inv) MPT_ATOMIC_MAX_U32(&out->minnz_inv, minnz_inv);
    if (full) {
        if (sum != 0) IPX_ATOMIC_ADD_F64(&out->sum, sum);
        if (sumsq != 0) IPX_ATOMIC_ADD_F64(&out->sumsq, sumsq);
        for (int n = 0; n < MPT_GPU_NARROW; n++)
            for (int k = 0; k < 3; k++)
                if (narrow[n][k]) MPT_ATOMIC_ADD_U64(&out->narrow[n][k], narrow[n][k]);
    }
}
/* libmptrace.so defines MPT_GPU_STATS_NO_REGISTER: it must not call the CUDA runtime's
 * registration at load time, and hands the kernel to simcuda's libcuda itself (gpu_sim_image.c). */
#ifndef MPT_GPU_STATS_NO_REGISTER
MPT_SIM_KERNEL(mpt_gpu_stats_kernel, const void *, int, long long, long long, long long, long long,
               long long, int, int, mpt_gpu_stats *)
#endif

#endif
