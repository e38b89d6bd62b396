/*
 * simcuda runtime: copies and fills. Each copy is a memmove done at once (streams are
 * synchronous), after the checks the real runtime makes: the device side of a copy must lie
 * inside one simcuda allocation that the device can reach, the host side must be host memory
 * (mapped, and not cudaMalloc memory, which a GPU's host cannot touch). A pointer that is neither
 * gives cudaErrorInvalidValue, never a crash.
 */
#include <string.h>

#include "sim/cudart_internal.h"

/* Checks one side of a copy of n bytes at p. */
static cudaError_t check_side(const void *p, size_t n, int device_side)
{
    sim_alloc a;
    int r = sim_mem_find(p, n, &a);
    if (r < 0) return cudaErrorInvalidValue; /* runs past the end of an allocation */
    if (device_side) return r == 1 ? cudaSuccess : cudaErrorInvalidValue;
    if (r == 1) return a.kind == SIM_MEM_DEVICE ? cudaErrorInvalidValue : cudaSuccess;
    return sim_host_range_mapped(p, n) ? cudaSuccess : cudaErrorInvalidValue;
}

/* cudaMemcpyDefault: the pointer says what it is; anything else must be mapped host memory. */
static cudaError_t check_any(const void *p, size_t n)
{
    sim_alloc a;
    int r = sim_mem_find(p, n, &a);
    if (r == 1) return cudaSuccess;
    if (r < 0) return cudaErrorInvalidValue;
    return sim_host_range_mapped(p, n) ? cudaSuccess : cudaErrorInvalidValue;
}

/* Validates a copy of the byte range [p, p + span) for `kind`; span already covers every row. */
static cudaError_t check_copy(void *dst, const void *src, size_t span_dst, size_t span_src,
                              enum cudaMemcpyKind kind)
{
    cudaError_t e;
    switch (kind) {
    case cudaMemcpyHostToHost:
        if ((e = check_side(src, span_src, 0)) != cudaSuccess) return e;
        return check_side(dst, span_dst, 0);
    case cudaMemcpyHostToDevice:
        if ((e = check_side(src, span_src, 0)) != cudaSuccess) return e;
        return check_side(dst, span_dst, 1);
    case cudaMemcpyDeviceToHost:
        if ((e = check_side(src, span_src, 1)) != cudaSuccess) return e;
        return check_side(dst, span_dst, 0);
    case cudaMemcpyDeviceToDevice:
        if ((e = check_side(src, span_src, 1)) != cudaSuccess) return e;
        return check_side(dst, span_dst, 1);
    case cudaMemcpyDefault:
        if ((e = check_any(src, span_src)) != cudaSuccess) return e;
        return check_any(dst, span_dst);
    default:
        return cudaErrorInvalidMemcpyDirection;
    }
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    if ((unsigned)kind > cudaMemcpyDefault) return sim_rt_error(cudaErrorInvalidMemcpyDirection);
    if (count == 0) return cudaSuccess;
    cudaError_t e = check_copy(dst, src, count, count, kind);
    if (e != cudaSuccess) return sim_rt_error(e);
    memmove(dst, src, count);
    return cudaSuccess;
}

cudaError_t cudaMemcpy_ptds(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    return cudaMemcpy(dst, src, count, kind);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    return cudaMemcpy(dst, src, count, kind);
}

cudaError_t cudaMemcpyAsync_ptsz(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                                 cudaStream_t stream)
{
    return cudaMemcpyAsync(dst, src, count, kind, stream);
}

cudaError_t cudaMemcpyPeer(void *dst, int dstDevice, const void *src, int srcDevice, size_t count)
{
    if (dstDevice != 0 || srcDevice != 0) return sim_rt_error(cudaErrorInvalidDevice);
    return cudaMemcpy(dst, src, count, cudaMemcpyDeviceToDevice);
}

cudaError_t cudaMemcpyPeerAsync(void *dst, int dstDevice, const void *src, int srcDevice,
                                size_t count, cudaStream_t stream)
{
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    return cudaMemcpyPeer(dst, dstDevice, src, srcDevice, count);
}

cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                         size_t height, enum cudaMemcpyKind kind)
{
    if ((unsigned)kind > cudaMemcpyDefault) return sim_rt_error(cudaErrorInvalidMemcpyDirection);
    if (width == 0 || height == 0) return cudaSuccess;
    if (dpitch < width || spitch < width) return sim_rt_error(cudaErrorInvalidPitchValue);
    size_t span_d = dpitch * (height - 1) + width, span_s = spitch * (height - 1) + width;
    cudaError_t e = check_copy(dst, src, span_d, span_s, kind);
    if (e != cudaSuccess) return sim_rt_error(e);
    for (size_t r = 0; r < height; r++)
        memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
    return cudaSuccess;
}

cudaError_t cudaMemcpy2D_ptds(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind)
{
    return cudaMemcpy2D(dst, dpitch, src, spitch, width, height, kind);
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind,
                              cudaStream_t stream)
{
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    return cudaMemcpy2D(dst, dpitch, src, spitch, width, height, kind);
}

cudaError_t cudaMemcpy2DAsync_ptsz(void *dst, size_t dpitch, const void *src, size_t spitch,
                                   size_t width, size_t height, enum cudaMemcpyKind kind,
                                   cudaStream_t stream)
{
    return cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, stream);
}

cudaError_t cudaMemset(void *devPtr, int value, size_t count)
{
    if (count == 0) return cudaSuccess;
    if (check_side(devPtr, count, 1) != cudaSuccess) return sim_rt_error(cudaErrorInvalidValue);
    memset(devPtr, value, count);
    return cudaSuccess;
}

cudaError_t cudaMemset_ptds(void *devPtr, int value, size_t count)
{
    return cudaMemset(devPtr, value, count);
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    return cudaMemset(devPtr, value, count);
}

cudaError_t cudaMemsetAsync_ptsz(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    return cudaMemsetAsync(devPtr, value, count, stream);
}

cudaError_t cudaMemset2D(void *devPtr, size_t pitch, int value, size_t width, size_t height)
{
    if (width == 0 || height == 0) return cudaSuccess;
    if (pitch < width) return sim_rt_error(cudaErrorInvalidPitchValue);
    if (check_side(devPtr, pitch * (height - 1) + width, 1) != cudaSuccess)
        return sim_rt_error(cudaErrorInvalidValue);
    for (size_t r = 0; r < height; r++)
        memset((char *)devPtr + r * pitch, value, width);
    return cudaSuccess;
}

cudaError_t cudaMemset2D_ptds(void *devPtr, size_t pitch, int value, size_t width, size_t height)
{
    return cudaMemset2D(devPtr, pitch, value, width, height);
}

cudaError_t cudaMemset2DAsync(void *devPtr, size_t pitch, int value, size_t width, size_t height,
                              cudaStream_t stream)
{
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    return cudaMemset2D(devPtr, pitch, value, width, height);
}

cudaError_t cudaMemset2DAsync_ptsz(void *devPtr, size_t pitch, int value, size_t width,
                                   size_t height, cudaStream_t stream)
{
    return cudaMemset2DAsync(devPtr, pitch, value, width, height, stream);
}
