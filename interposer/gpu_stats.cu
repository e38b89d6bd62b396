/*
 * The GPU statistics path's host side, for a libmptrace built with nvcc (`make gpu` compiles
 * it; nothing here runs on the CPU-only machines this project is developed on — see
 * docs/interposer.md, "What was verified").
 *
 * On a GPU the interposer must not read device pointers from the host. Instead, after the
 * program's GEMM is queued, the statistics kernel (gpu_stats_kernel.cu, the same source the CPU
 * tests run through simcuda) is queued behind it on the GEMM's own stream, so it reads D after
 * the GEMM wrote it without any synchronisation the program did not ask for:
 *
 *   slot = ring[head % slots]
 *   cuMemsetD8Async(slot.dev)            zero the accumulator
 *   cuLaunchKernel(stats, ..., stream)   one pass over the tensor (atomics into slot.dev)
 *   cuMemcpyDtoHAsync(slot.host)         result into pinned host memory
 *   cuEventRecord(slot.event, stream)
 *
 * and mpt_gpu_ring_drain(), called from later GEMMs and at step ends, turns every slot whose
 * event completed into TENSOR records (cuEventQuery: never blocks; with `wait` at exit it
 * synchronises on the events, not on the program's streams). A full ring waits for its oldest
 * slot: back-pressure, not loss. The kernel is launched through the driver API with the
 * CUfunction the runtime registered for it (cudaGetFuncBySymbol), so the program's streams
 * (CUstream and cudaStream_t are the same handles) are used as they are. Streams under graph
 * capture are skipped by the caller (recorder.c), as on the host path.
 */
#include <cuda.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "interposer/gpu_stats.h"
}
#include "interposer/gpu_stats_kernel.cu"

typedef struct mpt_gpu_ring {
    CUfunction fn;
    CUdeviceptr dev;      /* slots x mpt_gpu_stats, device */
    mpt_gpu_stats *host;  /* slots x mpt_gpu_stats, pinned host */
    CUevent *events;      /* one per slot */
    uint64_t *seq;        /* the GEMM sequence number and role each slot measures */
    int *role;
    unsigned slots;
    unsigned long long head, tail; /* launched, drained */
} mpt_gpu_ring;

typedef void (*mpt_gpu_emit_fn)(uint64_t seq, int role, const mpt_stats *s, void *arg);

static int fail(CUresult r, const char *what, char *err, size_t errlen)
{
    const char *name = NULL;
    cuGetErrorName(r, &name);
    snprintf(err, errlen, "%s: %s", what, name ? name : "unknown CUDA error");
    return -1;
}

extern "C" int mpt_gpu_ring_init(mpt_gpu_ring *r, unsigned slots, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->slots = slots;
    cudaFunction_t f;
    if (cudaGetFuncBySymbol(&f, (const void *)mpt_gpu_stats_kernel) != cudaSuccess) {
        snprintf(err, errlen, "cudaGetFuncBySymbol(mpt_gpu_stats_kernel) failed");
        return -1;
    }
    r->fn = (CUfunction)f;
    CUresult c;
    if ((c = cuMemAlloc(&r->dev, slots * sizeof(mpt_gpu_stats))) != CUDA_SUCCESS)
        return fail(c, "cuMemAlloc", err, errlen);
    if ((c = cuMemHostAlloc((void **)&r->host, slots * sizeof(mpt_gpu_stats), 0)) != CUDA_SUCCESS)
        return fail(c, "cuMemHostAlloc", err, errlen);
    r->events = new CUevent[slots];
    r->seq = new uint64_t[slots];
    r->role = new int[slots];
    for (unsigned i = 0; i < slots; i++)
        if ((c = cuEventCreate(&r->events[i], CU_EVENT_DISABLE_TIMING)) != CUDA_SUCCESS)
            return fail(c, "cuEventCreate", err, errlen);
    return 0;
}

/* Converts and emits finished slots; with `wait`, waits for all. Returns slots emitted. */
extern "C" int mpt_gpu_ring_drain(mpt_gpu_ring *r, mpt_gpu_emit_fn emit, void *arg, int wait)
{
    int n = 0;
    while (r->tail < r->head) {
        unsigned s = (unsigned)(r->tail % r->slots);
        CUresult q = wait ? cuEventSynchronize(r->events[s]) : cuEventQuery(r->events[s]);
        if (q == CUDA_ERROR_NOT_READY) break;
        if (q == CUDA_SUCCESS) {
            mpt_stats st;
            mpt_gpu_stats_to_stats(&r->host[s], &st);
            emit(r->seq[s], r->role[s], &st, arg);
            n++;
        }
        r->tail++;
    }
    return n;
}

/* Queues the statistics of one matrix behind the work already on `stream`. */
extern "C" int mpt_gpu_stats_launch(mpt_gpu_ring *r, uint64_t seq, int role, const void *data,
                                    int dtype, long long rows, long long cols, long long ld,
                                    long long batch, long long stride, int row_major, int full,
                                    CUstream stream, mpt_gpu_emit_fn emit, void *arg)
{
    if (r->head - r->tail == r->slots) mpt_gpu_ring_drain(r, emit, arg, 1);
    unsigned s = (unsigned)(r->head % r->slots);
    CUdeviceptr slot = r->dev + (CUdeviceptr)s * sizeof(mpt_gpu_stats);
    mpt_gpu_stats *out = (mpt_gpu_stats *)slot;
    long long total = rows * cols * batch;
    unsigned block = 256;
    unsigned long long want = (unsigned long long)(total + 4095) / 4096; /* ~16 elements/thread */
    unsigned grid = (unsigned)(want < 1 ? 1 : want > 65535 ? 65535 : want);
    void *params[] = {(void *)&data, &dtype, &rows, &cols, &ld, &batch, &stride, &row_major, &full,
                      &out};
    if (cuMemsetD8Async(slot, 0, sizeof(mpt_gpu_stats), stream) != CUDA_SUCCESS ||
        cuLaunchKernel(r->fn, grid, 1, 1, block, 1, 1, 0, stream, params, NULL) != CUDA_SUCCESS ||
        cuMemcpyDtoHAsync(&r->host[s], slot, sizeof(mpt_gpu_stats), stream) != CUDA_SUCCESS ||
        cuEventRecord(r->events[s], stream) != CUDA_SUCCESS)
        return -1;
    r->seq[s] = seq;
    r->role[s] = role;
    r->head++;
    return 0;
}
