/*
 * simcuda runtime: allocations. "Device" memory is host memory from aligned_alloc, but every
 * allocation is recorded with its kind, so that the runtime can answer what a pointer is
 * (cudaPointerGetAttributes), reject what the real runtime rejects (a double free, cudaFree of
 * pinned memory, a copy from a pointer that is no allocation) and free everything on
 * cudaDeviceReset.
 *
 * The registry is a sorted array searched by binary search under one mutex: allocations are
 * few (hundreds) next to the work done on them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/cudart_internal.h"

#define DEVICE_ALIGN 256 /* cudaMalloc's documented minimum alignment */
#define PITCH_ALIGN  512 /* cudaMallocPitch row alignment */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static sim_alloc *reg; /* sorted by base */
static size_t reg_count, reg_cap;

/* Index of the last entry with base <= p, or (size_t)-1. Caller holds reg_lock. */
static size_t reg_floor(const char *p)
{
    size_t lo = 0, hi = reg_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (reg[mid].base <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? (size_t)-1 : lo - 1;
}

int sim_mem_add(void *base, size_t size, sim_mem_kind kind, unsigned flags)
{
    pthread_mutex_lock(&reg_lock);
    if (reg_count == reg_cap) {
        size_t cap = reg_cap ? reg_cap * 2 : 64;
        sim_alloc *n = realloc(reg, cap * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&reg_lock);
            return -1;
        }
        reg = n;
        reg_cap = cap;
    }
    size_t at = reg_floor(base) + 1;
    memmove(&reg[at + 1], &reg[at], (reg_count - at) * sizeof(*reg));
    reg[at] = (sim_alloc){.base = base, .size = size, .kind = kind, .flags = flags};
    reg_count++;
    pthread_mutex_unlock(&reg_lock);
    return 0;
}

int sim_mem_remove(const void *base, unsigned kinds, sim_alloc *out)
{
    int rc = -1;
    pthread_mutex_lock(&reg_lock);
    size_t i = reg_floor(base);
    if (i != (size_t)-1 && reg[i].base == base && (kinds & SIM_MEM_BIT(reg[i].kind))) {
        if (out) *out = reg[i];
        memmove(&reg[i], &reg[i + 1], (reg_count - i - 1) * sizeof(*reg));
        reg_count--;
        rc = 0;
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

int sim_mem_find(const void *p, size_t n, sim_alloc *out)
{
    int rc = 0;
    const char *c = p;
    pthread_mutex_lock(&reg_lock);
    size_t i = reg_floor(c);
    if (i != (size_t)-1) {
        const sim_alloc *a = &reg[i];
        /* A zero-size allocation still owns its base address. */
        size_t extent = a->size ? a->size : 1;
        if ((size_t)(c - a->base) < extent) {
            if (out) *out = *a;
            rc = (size_t)(c - a->base) + n <= extent ? 1 : -1;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

void sim_mem_reset(void)
{
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < reg_count; i++)
        if (reg[i].kind != SIM_MEM_REGISTERED) free(reg[i].base);
    free(reg);
    reg = NULL;
    reg_count = reg_cap = 0;
    pthread_mutex_unlock(&reg_lock);
}

size_t sim_mem_in_use(void)
{
    size_t total = 0;
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < reg_count; i++)
        if (reg[i].kind == SIM_MEM_DEVICE || reg[i].kind == SIM_MEM_MANAGED) total += reg[i].size;
    pthread_mutex_unlock(&reg_lock);
    return total;
}

int sim_host_range_mapped(const void *p, size_t n)
{
    if (!p) return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t first = (uintptr_t)p & ~(page - 1);
    uintptr_t last = ((uintptr_t)p + (n ? n - 1 : 0)) & ~(page - 1);
    unsigned char vec;
    /* mincore fails with ENOMEM exactly when the page is not mapped; checking both ends
     * catches a bad pointer and a bad length without walking a large range. */
    if (mincore((void *)first, 1, &vec) != 0 && errno == ENOMEM) return 0;
    if (last != first && mincore((void *)last, 1, &vec) != 0 && errno == ENOMEM) return 0;
    return 1;
}

/* ---- allocation entry points -------------------------------------------------------------- */

static cudaError_t alloc_kind(void **out, size_t size, sim_mem_kind kind, unsigned flags)
{
    size_t rounded = (size + DEVICE_ALIGN - 1) / DEVICE_ALIGN * DEVICE_ALIGN;
    if (rounded < size) return sim_rt_error(cudaErrorMemoryAllocation);
    void *p = aligned_alloc(DEVICE_ALIGN, rounded ? rounded : DEVICE_ALIGN);
    if (!p) return sim_rt_error(cudaErrorMemoryAllocation);
    if (sim_mem_add(p, size, kind, flags) != 0) {
        free(p);
        return sim_rt_error(cudaErrorMemoryAllocation);
    }
    *out = p;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    if (!devPtr) return sim_rt_error(cudaErrorInvalidValue);
    if (size == 0) { /* as the runtime: success and a NULL pointer */
        *devPtr = NULL;
        return cudaSuccess;
    }
    return alloc_kind(devPtr, size, SIM_MEM_DEVICE, 0);
}

cudaError_t cudaMallocPitch(void **devPtr, size_t *pitch, size_t width, size_t height)
{
    if (!devPtr || !pitch) return sim_rt_error(cudaErrorInvalidValue);
    size_t p = (width + PITCH_ALIGN - 1) / PITCH_ALIGN * PITCH_ALIGN;
    if (height && p > SIZE_MAX / height) return sim_rt_error(cudaErrorMemoryAllocation);
    *pitch = p;
    return cudaMalloc(devPtr, p * height);
}

static cudaError_t free_kind(void *ptr, unsigned kinds)
{
    sim_alloc a;
    if (!ptr) return cudaSuccess;
    if (sim_mem_remove(ptr, kinds, &a) != 0) return sim_rt_error(cudaErrorInvalidValue);
    free(a.base);
    return cudaSuccess;
}

cudaError_t cudaFree(void *devPtr)
{
    return free_kind(devPtr, SIM_MEM_BIT(SIM_MEM_DEVICE) | SIM_MEM_BIT(SIM_MEM_MANAGED));
}

cudaError_t cudaMallocAsync(void **devPtr, size_t size, cudaStream_t hStream)
{
    if (!sim_stream_valid(hStream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    if (!devPtr) return sim_rt_error(cudaErrorInvalidValue);
    if (size == 0) {
        *devPtr = NULL;
        return cudaSuccess;
    }
    return alloc_kind(devPtr, size, SIM_MEM_DEVICE, 0);
}

cudaError_t cudaMallocAsync_ptsz(void **devPtr, size_t size, cudaStream_t hStream)
{
    return cudaMallocAsync(devPtr, size, hStream);
}

cudaError_t cudaFreeAsync(void *devPtr, cudaStream_t hStream)
{
    if (!sim_stream_valid(hStream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    return cudaFree(devPtr);
}

cudaError_t cudaFreeAsync_ptsz(void *devPtr, cudaStream_t hStream)
{
    return cudaFreeAsync(devPtr, hStream);
}

cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags)
{
    if (!pHost || (flags & ~(unsigned)(cudaHostAllocPortable | cudaHostAllocMapped |
                                       cudaHostAllocWriteCombined)))
        return sim_rt_error(cudaErrorInvalidValue);
    if (size == 0) {
        *pHost = NULL;
        return cudaSuccess;
    }
    return alloc_kind(pHost, size, SIM_MEM_HOST, flags | cudaHostAllocMapped);
}

cudaError_t cudaMallocHost(void **ptr, size_t size)
{
    return cudaHostAlloc(ptr, size, cudaHostAllocDefault);
}

cudaError_t cudaFreeHost(void *ptr)
{
    return free_kind(ptr, SIM_MEM_BIT(SIM_MEM_HOST));
}

cudaError_t cudaMallocManaged(void **devPtr, size_t size, unsigned int flags)
{
    if (!devPtr || size == 0 || (flags != cudaMemAttachGlobal && flags != cudaMemAttachHost))
        return sim_rt_error(cudaErrorInvalidValue);
    return alloc_kind(devPtr, size, SIM_MEM_MANAGED, flags);
}

cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned int flags)
{
    if (!ptr || size == 0 || !sim_host_range_mapped(ptr, size))
        return sim_rt_error(cudaErrorInvalidValue);
    sim_alloc a;
    if (sim_mem_find(ptr, 1, &a) != 0 || sim_mem_find((const char *)ptr + size - 1, 1, &a) != 0)
        return sim_rt_error(cudaErrorHostMemoryAlreadyRegistered);
    if (sim_mem_add(ptr, size, SIM_MEM_REGISTERED, flags) != 0)
        return sim_rt_error(cudaErrorMemoryAllocation);
    return cudaSuccess;
}

cudaError_t cudaHostUnregister(void *ptr)
{
    if (sim_mem_remove(ptr, SIM_MEM_BIT(SIM_MEM_REGISTERED), NULL) != 0)
        return sim_rt_error(cudaErrorHostMemoryNotRegistered);
    return cudaSuccess;
}

cudaError_t cudaHostGetDevicePointer(void **pDevice, void *pHost, unsigned int flags)
{
    sim_alloc a;
    if (!pDevice || flags != 0 || sim_mem_find(pHost, 0, &a) != 1 ||
        (a.kind != SIM_MEM_HOST && a.kind != SIM_MEM_REGISTERED))
        return sim_rt_error(cudaErrorInvalidValue);
    *pDevice = pHost; /* unified addressing: the same address on both sides */
    return cudaSuccess;
}

cudaError_t cudaHostGetFlags(unsigned int *pFlags, void *pHost)
{
    sim_alloc a;
    if (!pFlags || sim_mem_find(pHost, 0, &a) != 1 ||
        (a.kind != SIM_MEM_HOST && a.kind != SIM_MEM_REGISTERED))
        return sim_rt_error(cudaErrorInvalidValue);
    *pFlags = a.flags;
    return cudaSuccess;
}

cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *attributes, const void *ptr)
{
    if (!attributes) return sim_rt_error(cudaErrorInvalidValue);
    memset(attributes, 0, sizeof(*attributes));
    sim_alloc a;
    if (!ptr || sim_mem_find(ptr, 0, &a) != 1) {
        attributes->type = cudaMemoryTypeUnregistered;
        attributes->device = -2;
        return cudaSuccess;
    }
    attributes->device = 0;
    switch (a.kind) {
    case SIM_MEM_DEVICE:
        attributes->type = cudaMemoryTypeDevice;
        attributes->devicePointer = (void *)ptr;
        break;
    case SIM_MEM_MANAGED:
        attributes->type = cudaMemoryTypeManaged;
        attributes->devicePointer = (void *)ptr;
        attributes->hostPointer = (void *)ptr;
        break;
    default: /* pinned or registered host memory, mapped at the same address */
        attributes->type = cudaMemoryTypeHost;
        attributes->devicePointer = (void *)ptr;
        attributes->hostPointer = (void *)ptr;
        break;
    }
    return cudaSuccess;
}

/* Prefetching and advice are hints about placement; on one memory they have nothing to do,
 * but the range must still be managed memory, as the runtime checks. */
cudaError_t cudaMemPrefetchAsync(const void *devPtr, size_t count, struct cudaMemLocation location,
                                 unsigned int flags, cudaStream_t stream)
{
    (void)location;
    (void)flags;
    sim_alloc a;
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    if (sim_mem_find(devPtr, count, &a) != 1 || a.kind != SIM_MEM_MANAGED)
        return sim_rt_error(cudaErrorInvalidValue);
    return cudaSuccess;
}

cudaError_t cudaMemAdvise(const void *devPtr, size_t count, enum cudaMemoryAdvise advice,
                          struct cudaMemLocation location)
{
    (void)advice;
    (void)location;
    sim_alloc a;
    if (sim_mem_find(devPtr, count, &a) != 1 || a.kind != SIM_MEM_MANAGED)
        return sim_rt_error(cudaErrorInvalidValue);
    return cudaSuccess;
}
