/*
 * The GPU path's precision sample kernel, in the one-source convention (sim/mpt_kernel.h): nvcc
 * builds it into mptrace-stats.fatbin (gpu_stats.cu includes this file), gcc into libmptrace.so
 * for simcuda's driver (gpu_sim_image.c). One thread per sampled output recomputes it exactly,
 * in the host path's order and arithmetic (interposer/sampling.c): every product of two stored
 * values is exact in double, the sum is compensated (Neumaier), then alpha, beta * C, the bias
 * and the epilogue are applied in double; the thread also reads what the library stored. On the
 * CPU the two paths therefore agree bit for bit; on a GPU the compiler may contract a multiply
 * and an add into an FMA, which changes the reference by about one double ulp (far below any
 * output type's precision).
 */
#ifndef MPT_INTERPOSER_GPU_SAMPLE_KERNEL_CU
#define MPT_INTERPOSER_GPU_SAMPLE_KERNEL_CU

#ifndef __CUDACC__
#include <math.h>
#endif

#include "interposer/gpu_sample.h"
#include "interposer/gpu_stats_kernel.cu"

static MPT_DEVICE inline double ipx_sample_load(const mpt_gpu_operand_ref *o, long long b,
                                                long long r, long long c)
{
    long long idx = (o->layout & MPT_GPU_ROW_MAJOR) ? r * o->ld + c : c * o->ld + r;
    if (o->layout & MPT_GPU_PTR_ARRAY)
        return ipx_load(((const void *const *)o->data)[b], o->dtype, idx);
    return ipx_load(o->data, o->dtype, b * o->stride + idx);
}

IPX_KERNEL_LINKAGE MPT_GLOBAL void mpt_gpu_sample_kernel(mpt_gpu_sample_desc d, double *out);
IPX_KERNEL_LINKAGE MPT_GLOBAL void mpt_gpu_sample_kernel(mpt_gpu_sample_desc d, double *out)
{
    int x = (int)(MPT_BLOCK_IDX_X * MPT_BLOCK_DIM_X + MPT_THREAD_IDX_X);
    if (x >= d.n) return;
    long long b = d.pos_b[x], i = d.pos_i[x], j = d.pos_j[x];
    double sum = 0.0, comp = 0.0;
    for (long long l = 0; l < d.k; l++) {
        double pa = d.transa ? ipx_sample_load(&d.a, b, l, i) : ipx_sample_load(&d.a, b, i, l);
        double pb = d.transb ? ipx_sample_load(&d.b, b, j, l) : ipx_sample_load(&d.b, b, l, j);
        double p = pa * pb;
        double t = sum + p;
        comp += fabs(sum) >= fabs(p) ? (sum - t) + p : (p - t) + sum;
        sum = t;
    }
    double v = d.alpha * (sum + comp);
    if (d.beta != 0) v += d.beta * ipx_sample_load(&d.c, b, i, j);
    if (d.bias) v += (double)ipx_load(d.bias, d.bias_dtype, i);
    if (d.epilogue == MPT_GPU_EPI_RELU) v = v > 0 ? v : 0.0;
    if (d.epilogue == MPT_GPU_EPI_GELU)
        v = 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    out[2 * x] = v;
    out[2 * x + 1] = ipx_sample_load(&d.d, b, i, j);
}

#endif
