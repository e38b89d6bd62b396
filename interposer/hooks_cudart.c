/*
 * CUDA runtime entry points libmptrace.so defines (symbol version libcudart.so.13): what
 * happens between GEMMs.
 *
 *  - kernel launches: cudaLaunchKernel, cudaLaunchKernelExC (and their per-thread-stream _ptsz
 *    forms), and __cudaLaunchKernel, which nvcc-generated launch stubs call in CUDA 13 (the
 *    kernel handle is mapped back to its host function through __cudaGetKernel). Names from
 *    cudaFuncGetName, else the host stub's ELF symbol (events.c);
 *  - copies and fills: cudaMemcpy, cudaMemcpyAsync, cudaMemset, cudaMemsetAsync (and _ptds/_ptsz)
 *    as MEMORY records: a host-to-device copy is one way a NaN gets into a model;
 *  - synchronisation: cudaDeviceSynchronize, cudaStreamSynchronize, and device-to-host copies,
 *    which mark step boundaries for automatic step detection.
 *  - PyTorch GradScaler's amp_update_scale_cuda_kernel: its scale and found_inf as SCALAR
 *    records (below, before the launch family).
 * Only calls that succeed are recorded. Programs linked with the static runtime call none of
 * these through the dynamic linker: on a GPU, cupti_injection.c records them from CUPTI's
 * driver-API callbacks instead (compile-only here; see docs/interposer.md).
 */
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "interposer/ipx.h"

/* CUDA 13's launch entry points for nvcc-generated code (not in the public headers). */
cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *hostFun);
cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                               size_t sharedMem, cudaStream_t stream);
cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                                    size_t sharedMem, cudaStream_t stream);
/* The per-thread default stream variants (declared by the headers only under
 * CUDA_API_PER_THREAD_DEFAULT_STREAM, with the plain names macro-renamed). */
cudaError_t cudaLaunchKernel_ptsz(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                                  size_t sharedMem, cudaStream_t stream);
cudaError_t cudaLaunchKernelExC_ptsz(const cudaLaunchConfig_t *config, const void *func,
                                     void **args);
cudaError_t cudaMemcpy_ptds(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync_ptsz(void *dst, const void *src, size_t count,
                                 enum cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemset_ptds(void *devPtr, int value, size_t count);
cudaError_t cudaMemsetAsync_ptsz(void *devPtr, int value, size_t count, cudaStream_t stream);
cudaError_t cudaStreamSynchronize_ptsz(cudaStream_t stream);

#define HOOKS(X)                                                                                 \
    X(cudaLaunchKernel) X(cudaLaunchKernel_ptsz) X(cudaLaunchKernelExC)                          \
    X(cudaLaunchKernelExC_ptsz) X(__cudaGetKernel) X(__cudaLaunchKernel)                         \
    X(__cudaLaunchKernel_ptsz) X(cudaMemcpy) X(cudaMemcpy_ptds) X(cudaMemcpyAsync)               \
    X(cudaMemcpyAsync_ptsz) X(cudaMemset) X(cudaMemset_ptds) X(cudaMemsetAsync)                  \
    X(cudaMemsetAsync_ptsz) X(cudaDeviceSynchronize) X(cudaStreamSynchronize)                    \
    X(cudaStreamSynchronize_ptsz) X(cudaFuncGetName) X(cudaStreamIsCapturing)

enum {
#define X(n) FN_##n,
    HOOKS(X)
#undef X
        FN_COUNT
};
static const char *const fn_names[FN_COUNT] = {
#define X(n) #n,
    HOOKS(X)
#undef X
};
static void *_Atomic real_tab[FN_COUNT];
static mpt_ipx_real_table reals = {fn_names, real_tab, FN_COUNT, "libcudart.so.13", 0,
                                   PTHREAD_MUTEX_INITIALIZER, 0};
#define REAL(n) ((__typeof__(&n))mpt_ipx_real_get(&reals, FN_##n))

/* For recorder.c and events.c (weak references there, so the unit tests link without us). */
int mpt_ipx_stream_capturing(uint64_t stream)
{
    enum cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    __typeof__(&cudaStreamIsCapturing) f = REAL(cudaStreamIsCapturing);
    return f && f((cudaStream_t)(uintptr_t)stream, &st) == cudaSuccess &&
           st != cudaStreamCaptureStatusNone;
}

const char *mpt_ipx_cuda_func_name(const void *func)
{
    const char *name = NULL;
    __typeof__(&cudaFuncGetName) f = REAL(cudaFuncGetName);
    return f && f(&name, func) == cudaSuccess ? name : NULL;
}

/* ---- launches ---------------------------------------------------------------------------------- */

static void launched(const void *func, dim3 grid, dim3 block, size_t shared, cudaStream_t stream)
{
    uint32_t g[3] = {grid.x, grid.y, grid.z}, b[3] = {block.x, block.y, block.z};
    mpt_ipx_record_kernel(func, NULL, (uint64_t)(uintptr_t)stream, g, b, (uint32_t)shared);
}

/*
 * PyTorch GradScaler's scale update (aten/src/ATen/native/cuda/AmpKernels.cu):
 *   __global__ void amp_update_scale_cuda_kernel(float *current_scale, int *growth_tracker,
 *                                                const float *found_inf, double growth_factor,
 *                                                double backoff_factor, int growth_interval)
 * launched <<<1, 1>>> on the current stream at scaler.update(). Recognised by name (mangled or
 * not: the name is a substring of both), once per function address. Before the launch
 * overwrites *current_scale, mpt_ipx_scaler_update (recorder_gpu.c) records the scale the step
 * used and found_inf (read directly when memory is host-readable, else copied through the GPU
 * ring on the same stream).
 */
/* Every kernel launch asks, so the answer is cached per function address: open addressing
 * over SCALER_PROBE slots from the address's home, so that the few thousand distinct kernels
 * of a framework each keep their slot (a direct-mapped table made colliding kernels evict each
 * other and be looked up by name at every launch); only when all SCALER_PROBE slots are taken
 * is the home slot overwritten. */
#define SCALER_SLOTS 8192
#define SCALER_PROBE 8
static pthread_mutex_t scaler_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const void *func;
    int is_scaler;
} scaler_cache[SCALER_SLOTS];

static int is_scaler_kernel(const void *func)
{
    if (!func) return 0;
    size_t h = (size_t)(((uintptr_t)func * 0x9e3779b97f4a7c15ull) >> 40) & (SCALER_SLOTS - 1);
    pthread_mutex_lock(&scaler_mu);
    for (size_t p = 0; p < SCALER_PROBE; p++) {
        size_t i = (h + p) & (SCALER_SLOTS - 1);
        if (scaler_cache[i].func == func) {
            int v = scaler_cache[i].is_scaler;
            pthread_mutex_unlock(&scaler_mu);
            return v;
        }
        if (!scaler_cache[i].func) break;
    }
    pthread_mutex_unlock(&scaler_mu);
    char buf[512];
    const char *name = mpt_ipx_cuda_func_name(func);
    if (!name && mpt_ipx_symbolize(func, 0, buf, sizeof buf) > 0) name = buf;
    int v = name && strstr(name, "amp_update_scale_cuda_kernel") != NULL;
    pthread_mutex_lock(&scaler_mu);
    size_t at = h;
    for (size_t p = 0; p < SCALER_PROBE; p++) {
        size_t i = (h + p) & (SCALER_SLOTS - 1);
        if (!scaler_cache[i].func || scaler_cache[i].func == func) {
            at = i;
            break;
        }
    }
    scaler_cache[at].func = func;
    scaler_cache[at].is_scaler = v;
    pthread_mutex_unlock(&scaler_mu);
    return v;
}

static void before_launch(const void *func, void **args, cudaStream_t stream)
{
    /* args has as many entries as the kernel has parameters: read them only once the kernel is
     * known to be the scaler's (six) */
    if (args && is_scaler_kernel(func) && args[0] && args[2])
        mpt_ipx_scaler_update((uint64_t)(uintptr_t)stream, *(float *const *)args[0],
                              *(const float *const *)args[2]);
}

/* Pass-through unless recording; the guard keeps a runtime that launches through another
 * hooked entry point from being recorded twice. */
#define LAUNCH(name, ARGS, FUNC, GRID, BLOCK, SHARED, STREAM)                                    \
    __typeof__(&name) real_fn = REAL(name);                                                      \
    if (!real_fn) return cudaErrorInitializationError;                                           \
    mpt_ipx_thread *t;                                                                           \
    if (!mpt_ipx_enter(&t)) return real_fn ARGS;                                                 \
    before_launch(FUNC, launch_args, STREAM);                                                    \
    cudaError_t st = real_fn ARGS;                                                               \
    if (st == cudaSuccess) launched(FUNC, GRID, BLOCK, SHARED, STREAM);                          \
    mpt_ipx_leave(t);                                                                            \
    return st;

MPT_IPX_EXPORT cudaError_t cudaLaunchKernel(const void *func, dim3 gridDim, dim3 blockDim,
                                            void **args, size_t sharedMem, cudaStream_t stream)
{
    void **launch_args = args;
    LAUNCH(cudaLaunchKernel, (func, gridDim, blockDim, args, sharedMem, stream), func, gridDim,
           blockDim, sharedMem, stream)
}

MPT_IPX_EXPORT cudaError_t cudaLaunchKernel_ptsz(const void *func, dim3 gridDim, dim3 blockDim,
                                                 void **args, size_t sharedMem, cudaStream_t stream)
{
    void **launch_args = args;
    LAUNCH(cudaLaunchKernel_ptsz, (func, gridDim, blockDim, args, sharedMem, stream), func,
           gridDim, blockDim, sharedMem, stream)
}

MPT_IPX_EXPORT cudaError_t cudaLaunchKernelExC(const cudaLaunchConfig_t *config, const void *func,
                                               void **args)
{
    dim3 zero = {0, 0, 0};
    void **launch_args = args;
    LAUNCH(cudaLaunchKernelExC, (config, func, args), func, config ? config->gridDim : zero,
           config ? config->blockDim : zero, config ? config->dynamicSmemBytes : 0,
           config ? config->stream : NULL)
}

MPT_IPX_EXPORT cudaError_t cudaLaunchKernelExC_ptsz(const cudaLaunchConfig_t *config,
                                                    const void *func, void **args)
{
    dim3 zero = {0, 0, 0};
    void **launch_args = args;
    LAUNCH(cudaLaunchKernelExC_ptsz, (config, func, args), func,
           config ? config->gridDim : zero, config ? config->blockDim : zero,
           config ? config->dynamicSmemBytes : 0, config ? config->stream : NULL)
}

/* cudaKernel_t -> the host function nvcc registered it for. */
#define KSLOTS 1024
static pthread_mutex_t kmu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    cudaKernel_t kernel;
    const void *host;
} kslots[KSLOTS];

static size_t kslot_of(cudaKernel_t k)
{
    return (size_t)(((uintptr_t)k * 0x9e3779b97f4a7c15ull) >> 54) & (KSLOTS - 1);
}

MPT_IPX_EXPORT cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *hostFun)
{
    __typeof__(&__cudaGetKernel) real_fn = REAL(__cudaGetKernel);
    if (!real_fn) return cudaErrorInitializationError;
    cudaError_t st = real_fn(kernel, hostFun);
    if (st == cudaSuccess && kernel && *kernel) {
        pthread_mutex_lock(&kmu);
        size_t i = kslot_of(*kernel);
        kslots[i].kernel = *kernel;
        kslots[i].host = hostFun;
        pthread_mutex_unlock(&kmu);
    }
    return st;
}

static const void *host_of(cudaKernel_t k)
{
    pthread_mutex_lock(&kmu);
    size_t i = kslot_of(k);
    const void *h = kslots[i].kernel == k ? kslots[i].host : (const void *)k;
    pthread_mutex_unlock(&kmu);
    return h;
}

MPT_IPX_EXPORT cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim,
                                              void **args, size_t sharedMem, cudaStream_t stream)
{
    void **launch_args = args;
    LAUNCH(__cudaLaunchKernel, (kernel, gridDim, blockDim, args, sharedMem, stream),
           host_of(kernel), gridDim, blockDim, sharedMem, stream)
}

MPT_IPX_EXPORT cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim,
                                                   dim3 blockDim, void **args, size_t sharedMem,
                                                   cudaStream_t stream)
{
    void **launch_args = args;
    LAUNCH(__cudaLaunchKernel_ptsz, (kernel, gridDim, blockDim, args, sharedMem, stream),
           host_of(kernel), gridDim, blockDim, sharedMem, stream)
}

/* ---- copies, fills, synchronisation ------------------------------------------------------------- */

static mpt_mem_kind kind_of(enum cudaMemcpyKind k)
{
    switch (k) {
    case cudaMemcpyHostToHost: return MPT_MEM_H2H;
    case cudaMemcpyHostToDevice: return MPT_MEM_H2D;
    case cudaMemcpyDeviceToHost: return MPT_MEM_D2H;
    case cudaMemcpyDeviceToDevice: return MPT_MEM_D2D;
    case cudaMemcpyDefault: return MPT_MEM_DEFAULT;
    default: return MPT_MEM_UNKNOWN;
    }
}

#define RECORDED(name, ARGS, ...)                                                                \
    __typeof__(&name) real_fn = REAL(name);                                                      \
    if (!real_fn) return cudaErrorInitializationError;                                           \
    mpt_ipx_thread *t;                                                                           \
    if (!mpt_ipx_enter(&t)) return real_fn ARGS;                                                 \
    cudaError_t st = real_fn ARGS;                                                               \
    if (st == cudaSuccess) {                                                                     \
        __VA_ARGS__;                                                                             \
    }                                                                                            \
    mpt_ipx_leave(t);                                                                            \
    return st;

#define COPY(async, s)                                                                           \
    mpt_ipx_record_memory(kind_of(kind), async, (uint64_t)(uintptr_t)(s), dst, src, count);      \
    if (kind == cudaMemcpyDeviceToHost && !(async)) mpt_ipx_steps_on_sync(t->tid)

MPT_IPX_EXPORT cudaError_t cudaMemcpy(void *dst, const void *src, size_t count,
                                      enum cudaMemcpyKind kind)
{
    RECORDED(cudaMemcpy, (dst, src, count, kind), COPY(0, 0))
}

MPT_IPX_EXPORT cudaError_t cudaMemcpy_ptds(void *dst, const void *src, size_t count,
                                           enum cudaMemcpyKind kind)
{
    RECORDED(cudaMemcpy_ptds, (dst, src, count, kind), COPY(0, 0))
}

MPT_IPX_EXPORT cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count,
                                           enum cudaMemcpyKind kind, cudaStream_t stream)
{
    RECORDED(cudaMemcpyAsync, (dst, src, count, kind, stream), COPY(1, stream))
}

MPT_IPX_EXPORT cudaError_t cudaMemcpyAsync_ptsz(void *dst, const void *src, size_t count,
                                                enum cudaMemcpyKind kind, cudaStream_t stream)
{
    RECORDED(cudaMemcpyAsync_ptsz, (dst, src, count, kind, stream), COPY(1, stream))
}

#define FILL(async, s)                                                                           \
    mpt_ipx_record_memory(MPT_MEM_MEMSET, async, (uint64_t)(uintptr_t)(s), devPtr,              \
                          (const void *)(uintptr_t)(unsigned char)value, count)

MPT_IPX_EXPORT cudaError_t cudaMemset(void *devPtr, int value, size_t count)
{
    RECORDED(cudaMemset, (devPtr, value, count), FILL(0, 0))
}

MPT_IPX_EXPORT cudaError_t cudaMemset_ptds(void *devPtr, int value, size_t count)
{
    RECORDED(cudaMemset_ptds, (devPtr, value, count), FILL(0, 0))
}

MPT_IPX_EXPORT cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count,
                                           cudaStream_t stream)
{
    RECORDED(cudaMemsetAsync, (devPtr, value, count, stream), FILL(1, stream))
}

MPT_IPX_EXPORT cudaError_t cudaMemsetAsync_ptsz(void *devPtr, int value, size_t count,
                                                cudaStream_t stream)
{
    RECORDED(cudaMemsetAsync_ptsz, (devPtr, value, count, stream), FILL(1, stream))
}

MPT_IPX_EXPORT cudaError_t cudaDeviceSynchronize(void)
{
    RECORDED(cudaDeviceSynchronize, (), mpt_ipx_steps_on_sync(t->tid))
}

MPT_IPX_EXPORT cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    RECORDED(cudaStreamSynchronize, (stream), mpt_ipx_steps_on_sync(t->tid))
}

MPT_IPX_EXPORT cudaError_t cudaStreamSynchronize_ptsz(cudaStream_t stream)
{
    RECORDED(cudaStreamSynchronize_ptsz, (stream), mpt_ipx_steps_on_sync(t->tid))
}
