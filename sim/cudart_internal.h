/*
 * Shared state of simcuda's CUDA runtime (libcudart.so.13 on the CPU): the per-thread last
 * error, the registry of allocations, and handle validation for streams and events. Only the
 * sim/cudart_*.c files include this; nothing here is exported (the version script keeps
 * everything but the CUDA API local).
 *
 * The sources compile against NVIDIA's own cuda_runtime_api.h so that every exported function
 * has exactly the real prototype and every struct (cudaDeviceProp, ...) the real layout.
 */
#ifndef MPT_SIM_CUDART_INTERNAL_H
#define MPT_SIM_CUDART_INTERNAL_H

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim_notice.h"

/* ---- errors ------------------------------------------------------------------------------- */

/* Records `e` as this thread's last error when it is not cudaSuccess (what every runtime call
 * does) and returns it, so that entry points end with `return sim_rt_error(e);`. */
cudaError_t sim_rt_error(cudaError_t e);

/* ---- memory registry ---------------------------------------------------------------------- */

typedef enum sim_mem_kind {
    SIM_MEM_DEVICE = 1, /* cudaMalloc / MallocAsync / MallocPitch: not host-accessible on a GPU */
    SIM_MEM_HOST,       /* cudaMallocHost / HostAlloc: pinned, mapped, device-accessible */
    SIM_MEM_MANAGED,    /* cudaMallocManaged: accessible from both */
    SIM_MEM_REGISTERED  /* cudaHostRegister'ed user memory (simcuda does not own it) */
} sim_mem_kind;

typedef struct sim_alloc {
    char *base;
    size_t size; /* bytes the caller asked for */
    sim_mem_kind kind;
    unsigned flags; /* cudaHostAlloc / cudaMallocManaged / cudaHostRegister flags */
} sim_alloc;

/* Registers a new allocation; returns 0, or -1 when out of memory. */
int sim_mem_add(void *base, size_t size, sim_mem_kind kind, unsigned flags);
/* Removes the allocation starting exactly at `base` if it is one of `kinds` (a bit mask of
 * 1 << kind) and fills *out; returns 0, or -1 when there is no such allocation. */
int sim_mem_remove(const void *base, unsigned kinds, sim_alloc *out);
/* Finds the allocation containing [p, p + n) (n may be 0: just p); returns 1 and fills *out, or
 * 0 when p lies in none or the range runs past its end (then *out, if found, is still filled
 * and the return is -1). */
int sim_mem_find(const void *p, size_t n, sim_alloc *out);
/* Frees every allocation simcuda owns (cudaDeviceReset). */
void sim_mem_reset(void);
/* Bytes currently allocated through the runtime (device + managed). */
size_t sim_mem_in_use(void);

#define SIM_MEM_BIT(kind) (1u << (kind))

/* 1 when [p, p + n) is mapped host memory (not necessarily simcuda's). */
int sim_host_range_mapped(const void *p, size_t n);

/* ---- streams and events ------------------------------------------------------------------- */

/* 1 for NULL, cudaStreamLegacy, cudaStreamPerThread and live created streams. */
int sim_stream_valid(cudaStream_t s);
/* Destroys every created stream and event (cudaDeviceReset). */
void sim_stream_reset(void);

/* ---- device ------------------------------------------------------------------------------- */

/* The one simulated device's properties (filled once). */
const struct cudaDeviceProp *sim_device_props(void);

/* ---- per-thread-default-stream variants: exported, not declared without the PTDS macros ---- */

cudaError_t cudaMemcpy_ptds(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync_ptsz(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                                 cudaStream_t stream);
cudaError_t cudaMemcpy2D_ptds(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpy2DAsync_ptsz(void *dst, size_t dpitch, const void *src, size_t spitch,
                                   size_t width, size_t height, enum cudaMemcpyKind kind,
                                   cudaStream_t stream);
cudaError_t cudaMemset_ptds(void *devPtr, int value, size_t count);
cudaError_t cudaMemsetAsync_ptsz(void *devPtr, int value, size_t count, cudaStream_t stream);
cudaError_t cudaMemset2D_ptds(void *devPtr, size_t pitch, int value, size_t width, size_t height);
cudaError_t cudaMemset2DAsync_ptsz(void *devPtr, size_t pitch, int value, size_t width,
                                   size_t height, cudaStream_t stream);
cudaError_t cudaMallocAsync_ptsz(void **devPtr, size_t size, cudaStream_t hStream);
cudaError_t cudaFreeAsync_ptsz(void *devPtr, cudaStream_t hStream);
cudaError_t cudaStreamSynchronize_ptsz(cudaStream_t stream);
cudaError_t cudaStreamQuery_ptsz(cudaStream_t stream);
cudaError_t cudaStreamGetFlags_ptsz(cudaStream_t hStream, unsigned int *flags);
cudaError_t cudaStreamGetPriority_ptsz(cudaStream_t hStream, int *priority);
cudaError_t cudaStreamGetId_ptsz(cudaStream_t hStream, unsigned long long *streamId);
cudaError_t cudaStreamGetDevice_ptsz(cudaStream_t hStream, int *device);
cudaError_t cudaStreamWaitEvent_ptsz(cudaStream_t stream, cudaEvent_t event, unsigned int flags);
cudaError_t cudaStreamIsCapturing_ptsz(cudaStream_t stream,
                                       enum cudaStreamCaptureStatus *pCaptureStatus);
cudaError_t cudaStreamAddCallback_ptsz(cudaStream_t stream, cudaStreamCallback_t callback,
                                       void *userData, unsigned int flags);
cudaError_t cudaLaunchHostFunc_ptsz(cudaStream_t stream, cudaHostFn_t fn, void *userData);
cudaError_t cudaEventRecord_ptsz(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventRecordWithFlags_ptsz(cudaEvent_t event, cudaStream_t stream,
                                          unsigned int flags);
cudaError_t cudaLaunchKernel_ptsz(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                                  size_t sharedMem, cudaStream_t stream);

#endif
