/*
 * The GPU statistics kernel (interposer/gpu_stats_kernel.cu, one-source) built with gcc and run
 * by simcuda's cudaLaunchKernel, checked against the host reducer (core/tensor_stats.h) on
 * random and adversarial tensors: NaN payloads of both signs, +-0, +-Inf, fp32 and fp16
 * subnormals, values at every narrow format's overflow, subnormal and flush thresholds, extreme
 * exponents; fp32, fp16, bf16, e4m3 and e5m2; column- and row-major with padded leading
 * dimensions; strided batches and pointer-array batches (a device array of matrix pointers, in
 * reverse order); launch shapes from one thread to more threads than elements. Everything but the
 * sums must agree exactly; the sums (accumulated in another order) to 1e-12 relative.
 * Prints "OK <cases>" and exits 0, or prints each mismatch and exits 1.
 */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interposer/gpu_stats_kernel.cu"

static uint64_t rng = 0x1234567887654321ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* An adversarial or random fp32 value. */
static float pick(void)
{
    static const float special[] = {
        0.0f, -0.0f, INFINITY, -INFINITY, 65504.0f, 65519.99f, 65520.0f, -65520.0f, 5.9604645e-8f,
        2.9802322e-8f, 2.9802326e-8f, 6.1035156e-5f, 6.1035152e-5f, 448.0f, 464.0f, 464.1f,
        -480.0f, 57344.0f, 61440.0f, 61439.99f, 1.5258789e-5f, 1.0e-45f, 1.17549435e-38f,
        1.1754942e-38f, 3.3895314e38f, 3.4028235e38f, -3.4028235e38f, 9.2e-41f, 1.0f, -1.0f,
        0.015625f, 0.0009765625f, 0.0019531250f, 1e-39f};
    uint64_t r = next();
    switch (r % 8) {
    case 0: return special[(r >> 8) % (sizeof special / sizeof *special)];
    case 1: { /* NaN with a payload and either sign */
        uint32_t bits = 0x7f800000u | (uint32_t)((r >> 8) & 0x7fffff) | 1u | (uint32_t)(r >> 63) << 31;
        return mpt_f32_from_bits(bits);
    }
    case 2: return mpt_f32_from_bits((uint32_t)(r >> 16)); /* any bit pattern */
    default: return (float)(((double)(r >> 11) / 9007199254740992.0 - 0.5) * ldexp(1, (int)(r % 40) - 20));
    }
}

static int check(const char *what, const mpt_stats *h, const mpt_stats *g)
{
    int bad = 0;
#define EQ(f)                                                                                    \
    if (h->f != g->f && !(isnan((double)h->f) && isnan((double)g->f))) {                         \
        printf("MISMATCH %s: " #f " host %.17g gpu %.17g\n", what, (double)h->f, (double)g->f);   \
        bad = 1;                                                                                 \
    }
    EQ(count) EQ(nan) EQ(pinf) EQ(ninf) EQ(zero) EQ(subnormal) EQ(min) EQ(max) EQ(absmax)
    EQ(min_nonzero_abs)
    for (int i = 0; i < MPT_HIST_BUCKETS; i++) EQ(hist[i])
    for (int n = 0; n < MPT_NARROW_COUNT; n++) {
        EQ(narrow[n].overflow) EQ(narrow[n].subnormal) EQ(narrow[n].flush)
    }
#undef EQ
    double ds = fabs(h->sum - g->sum), dq = fabs(h->sumsq - g->sumsq);
    if (ds > 1e-12 * fabs(h->sumsq) + 1e-300 * 0 + 1e-12 * fabs(h->sum) && ds > 0 &&
        !(isinf(h->sum) && h->sum == g->sum)) {
        printf("MISMATCH %s: sum host %.17g gpu %.17g\n", what, h->sum, g->sum);
        bad = 1;
    }
    if (dq > 1e-12 * fabs(h->sumsq) && !(isinf(h->sumsq) && h->sumsq == g->sumsq)) {
        printf("MISMATCH %s: sumsq host %.17g gpu %.17g\n", what, h->sumsq, g->sumsq);
        bad = 1;
    }
    return bad;
}

int main(void)
{
    static const mpt_dtype types[] = {MPT_DT_F32, MPT_DT_F16, MPT_DT_BF16, MPT_DT_E4M3,
                                      MPT_DT_E5M2};
    int cases = 0, bad = 0;
    for (int iter = 0; iter < 60; iter++) {
        mpt_dtype t = types[iter % 5];
        int row_major = (iter / 5) % 2, full = iter % 7 != 0, ptr_array = iter % 4 == 1;
        long long rows = 1 + (long long)(next() % 40), cols = 1 + (long long)(next() % 30);
        long long batch = 1 + (long long)(next() % 3);
        long long ld = (row_major ? cols : rows) + (long long)(next() % 3);
        long long per = (row_major ? rows : cols) * ld;
        long long stride = per + (long long)(next() % 5);
        long long n = stride * batch;
        size_t es = mpt_dtype_size(t);
        unsigned char *host = malloc((size_t)n * es);
        for (long long i = 0; i < n; i++)
            mpt_dtype_store(t, host, (size_t)i, pick());
        void *dev;
        mpt_gpu_stats *dout, out;
        cudaMalloc(&dev, (size_t)n * es);
        cudaMalloc((void **)&dout, sizeof *dout);
        cudaMemcpy(dev, host, (size_t)n * es, cudaMemcpyHostToDevice);
        cudaMemset(dout, 0, sizeof *dout);
        unsigned grid = 1 + (unsigned)(next() % 5), block = 1 + (unsigned)(next() % 64);
        if (iter == 5) grid = 64, block = 256; /* more threads than elements */
        int dt = (int)t, layout = (row_major ? MPT_GPU_ROW_MAJOR : 0) | (ptr_array ? MPT_GPU_PTR_ARRAY : 0);
        const void *data = dev;
        void **dptrs = NULL;
        if (ptr_array) { /* batch b at pointer batch-1-b: the kernel must follow the array */
            void *hp[8];
            for (long long b = 0; b < batch; b++)
                hp[batch - 1 - b] = (unsigned char *)dev + (size_t)(b * stride) * es;
            cudaMalloc((void **)&dptrs, sizeof(void *) * (size_t)batch);
            cudaMemcpy(dptrs, hp, sizeof(void *) * (size_t)batch, cudaMemcpyHostToDevice);
            data = dptrs;
        }
        void *args[] = {&data, &dt, &rows, &cols, &ld, &batch, &stride, &layout, &full, &dout};
        dim3 g = {grid, 1, 1}, b = {block, 1, 1};
        cudaError_t e = cudaLaunchKernel((const void *)mpt_gpu_stats_kernel, g, b, args, 0, 0);
        if (e != cudaSuccess) {
            printf("launch failed: %s\n", cudaGetErrorName(e));
            return 1;
        }
        cudaDeviceSynchronize();
        cudaMemcpy(&out, dout, sizeof out, cudaMemcpyDeviceToHost);
        mpt_stats want, got;
        mpt_stats_init(&want);
        mpt_matrix_view v = {host, t, row_major ? MPT_ORDER_ROW : MPT_ORDER_COL, rows, cols, ld,
                             batch, stride};
        char err[200];
        if (mpt_stats_add_view(&want, &v, err, sizeof err) != 0) {
            printf("host reducer refused the view: %s\n", err);
            return 1;
        }
        mpt_gpu_stats_to_stats(&out, &got);
        if (!full) { /* the cheap launch: only the cheap fields are defined */
            memcpy(got.hist, want.hist, sizeof got.hist);
            memcpy(got.narrow, want.narrow, sizeof got.narrow);
            got.sum = want.sum;
            got.sumsq = want.sumsq;
        }
        char what[160];
        snprintf(what, sizeof what, "case %d (%s, %s%s, %lldx%lld ld %lld batch %lld, grid %u x %u)",
                 iter, mpt_dtype_name(t), row_major ? "row" : "col", ptr_array ? " ptrs" : "",
                 rows, cols, ld, batch, grid, block);
        bad |= check(what, &want, &got);
        cases++;
        cudaFree(dev);
        cudaFree(dout);
        if (dptrs) cudaFree(dptrs);
        free(host);
    }
    if (bad) return 1;
    printf("OK %d\n", cases);
    return 0;
}
