/*
 * simcuda runtime: errors and the one simulated device.
 *
 * The device is the CPU: compute capability 9.0 (so programs take their sm_90 paths), memory =
 * host RAM, one "multiprocessor" per online CPU, limits like an H100's so that launch-shape
 * checks in programs behave as on a GPU. Its name says what it is.
 *
 * Errors follow the runtime's rules: every failing call records its error as the calling
 * thread's last error; cudaGetLastError returns and clears it, cudaPeekAtLastError only returns
 * it. Names and messages are the real runtime's (cudart_errors.inc).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sim/cudart_internal.h"

/* ---- errors ------------------------------------------------------------------------------- */

static __thread cudaError_t tls_last_error = cudaSuccess;

cudaError_t sim_rt_error(cudaError_t e)
{
    if (e != cudaSuccess) tls_last_error = e;
    return e;
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = tls_last_error;
    tls_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void)
{
    return tls_last_error;
}

typedef struct error_entry {
    cudaError_t code;
    const char *name;
    const char *message;
} error_entry;

static const error_entry error_table[] = {
#define SIM_ERR(code, message) {code, #code, message},
#include "sim/cudart_errors.inc"
#undef SIM_ERR
};

static const error_entry *error_find(cudaError_t e)
{
    for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
        if (error_table[i].code == e) return &error_table[i];
    return NULL;
}

const char *cudaGetErrorName(cudaError_t error)
{
    const error_entry *x = error_find(error);
    return x ? x->name : "unrecognized error code";
}

const char *cudaGetErrorString(cudaError_t error)
{
    const error_entry *x = error_find(error);
    return x ? x->message : "unrecognized error code";
}

/* ---- the device --------------------------------------------------------------------------- */

static struct cudaDeviceProp props;
static pthread_once_t props_once = PTHREAD_ONCE_INIT;
static __thread int tls_device_flags;

static void props_fill(void)
{
    struct cudaDeviceProp *p = &props;
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "simcuda CPU stand-in (mptrace)");
    memcpy(p->uuid.bytes, "simcuda-mptrace", 16);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    p->totalGlobalMem = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)1 << 32;
    p->sharedMemPerBlock = 48 * 1024;
    p->regsPerBlock = 65536;
    p->warpSize = 32;
    p->memPitch = 2147483647;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = 1024;
    p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647;
    p->maxGridSize[1] = 65535;
    p->maxGridSize[2] = 65535;
    p->totalConstMem = 65536;
    p->major = 9;
    p->minor = 0;
    p->textureAlignment = 512;
    p->texturePitchAlignment = 32;
    p->multiProcessorCount = cpus > 0 ? (int)cpus : 1;
    p->canMapHostMemory = 1;
    p->surfaceAlignment = 512;
    p->concurrentKernels = 1;
    p->asyncEngineCount = 2;
    p->unifiedAddressing = 1;
    p->memoryBusWidth = 64;
    p->l2CacheSize = 50 * 1024 * 1024;
    p->maxThreadsPerMultiProcessor = 2048;
    p->streamPrioritiesSupported = 1;
    p->globalL1CacheSupported = 1;
    p->localL1CacheSupported = 1;
    p->sharedMemPerMultiprocessor = 228 * 1024;
    p->regsPerMultiprocessor = 65536;
    p->managedMemory = 1;
    p->concurrentManagedAccess = 1;
    p->directManagedMemAccessFromHost = 1;
    p->sharedMemPerBlockOptin = 227 * 1024;
    p->maxBlocksPerMultiProcessor = 32;
    p->reservedSharedMemPerBlock = 1024;
    p->hostRegisterSupported = 1;
    p->memoryPoolsSupported = 1;
    p->deviceNumaId = -1;
    p->hostNumaId = -1;
}

const struct cudaDeviceProp *sim_device_props(void)
{
    pthread_once(&props_once, props_fill);
    return &props;
}

cudaError_t cudaGetDeviceCount(int *count)
{
    if (!count) return sim_rt_error(cudaErrorInvalidValue);
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device)
{
    if (!device) return sim_rt_error(cudaErrorInvalidValue);
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    return sim_rt_error(device == 0 ? cudaSuccess : cudaErrorInvalidDevice);
}

cudaError_t cudaInitDevice(int device, unsigned int deviceFlags, unsigned int flags)
{
    (void)deviceFlags;
    if (flags != 0) return sim_rt_error(cudaErrorInvalidValue);
    return cudaSetDevice(device);
}

cudaError_t cudaSetDeviceFlags(unsigned int flags)
{
    if (flags & ~(unsigned)(cudaDeviceScheduleMask | cudaDeviceMapHost | cudaDeviceLmemResizeToMax |
                            cudaDeviceSyncMemops))
        return sim_rt_error(cudaErrorInvalidValue);
    tls_device_flags = (int)flags;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceFlags(unsigned int *flags)
{
    if (!flags) return sim_rt_error(cudaErrorInvalidValue);
    *flags = (unsigned)tls_device_flags | cudaDeviceMapHost;
    return cudaSuccess;
}

cudaError_t cudaChooseDevice(int *device, const struct cudaDeviceProp *prop)
{
    if (!device || !prop) return sim_rt_error(cudaErrorInvalidValue);
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    if (!prop) return sim_rt_error(cudaErrorInvalidValue);
    if (device != 0) return sim_rt_error(cudaErrorInvalidDevice);
    *prop = *sim_device_props();
    return cudaSuccess;
}

/* The attribute's value, or -1 for attributes simcuda does not model (reported as 0). */
static long long attribute_value(const struct cudaDeviceProp *p, enum cudaDeviceAttr a)
{
    switch (a) {
    case cudaDevAttrMaxThreadsPerBlock:
        return p->maxThreadsPerBlock;
    case cudaDevAttrMaxBlockDimX:
        return p->maxThreadsDim[0];
    case cudaDevAttrMaxBlockDimY:
        return p->maxThreadsDim[1];
    case cudaDevAttrMaxBlockDimZ:
        return p->maxThreadsDim[2];
    case cudaDevAttrMaxGridDimX:
        return p->maxGridSize[0];
    case cudaDevAttrMaxGridDimY:
        return p->maxGridSize[1];
    case cudaDevAttrMaxGridDimZ:
        return p->maxGridSize[2];
    case cudaDevAttrMaxSharedMemoryPerBlock:
        return (long long)p->sharedMemPerBlock;
    case cudaDevAttrTotalConstantMemory:
        return (long long)p->totalConstMem;
    case cudaDevAttrWarpSize:
        return p->warpSize;
    case cudaDevAttrMaxPitch:
        return (long long)p->memPitch;
    case cudaDevAttrMaxRegistersPerBlock:
        return p->regsPerBlock;
    case cudaDevAttrClockRate:
        return 1000000; /* kHz; a nominal 1 GHz */
    case cudaDevAttrMemoryClockRate:
        return 1000000;
    case cudaDevAttrTextureAlignment:
        return (long long)p->textureAlignment;
    case cudaDevAttrGpuOverlap:
        return 1;
    case cudaDevAttrMultiProcessorCount:
        return p->multiProcessorCount;
    case cudaDevAttrIntegrated:
        return p->integrated;
    case cudaDevAttrCanMapHostMemory:
        return p->canMapHostMemory;
    case cudaDevAttrComputeMode:
        return cudaComputeModeDefault;
    case cudaDevAttrSurfaceAlignment:
        return (long long)p->surfaceAlignment;
    case cudaDevAttrConcurrentKernels:
        return p->concurrentKernels;
    case cudaDevAttrGlobalMemoryBusWidth:
        return p->memoryBusWidth;
    case cudaDevAttrL2CacheSize:
        return p->l2CacheSize;
    case cudaDevAttrMaxThreadsPerMultiProcessor:
        return p->maxThreadsPerMultiProcessor;
    case cudaDevAttrAsyncEngineCount:
        return p->asyncEngineCount;
    case cudaDevAttrUnifiedAddressing:
        return p->unifiedAddressing;
    case cudaDevAttrTexturePitchAlignment:
        return (long long)p->texturePitchAlignment;
    case cudaDevAttrComputeCapabilityMajor:
        return p->major;
    case cudaDevAttrComputeCapabilityMinor:
        return p->minor;
    case cudaDevAttrStreamPrioritiesSupported:
        return p->streamPrioritiesSupported;
    case cudaDevAttrGlobalL1CacheSupported:
        return p->globalL1CacheSupported;
    case cudaDevAttrLocalL1CacheSupported:
        return p->localL1CacheSupported;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor:
        return (long long)p->sharedMemPerMultiprocessor;
    case cudaDevAttrMaxRegistersPerMultiprocessor:
        return p->regsPerMultiprocessor;
    case cudaDevAttrManagedMemory:
        return p->managedMemory;
    case cudaDevAttrSingleToDoublePrecisionPerfRatio:
        return 2;
    case cudaDevAttrConcurrentManagedAccess:
        return p->concurrentManagedAccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
        return (long long)p->sharedMemPerBlockOptin;
    case cudaDevAttrHostRegisterSupported:
        return p->hostRegisterSupported;
    case cudaDevAttrDirectManagedMemAccessFromHost:
        return p->directManagedMemAccessFromHost;
    case cudaDevAttrMaxBlocksPerMultiprocessor:
        return p->maxBlocksPerMultiProcessor;
    case cudaDevAttrReservedSharedMemoryPerBlock:
        return (long long)p->reservedSharedMemPerBlock;
    case cudaDevAttrMemoryPoolsSupported:
        return p->memoryPoolsSupported;
    case cudaDevAttrMemSyncDomainCount:
        return 1;
    case cudaDevAttrNumaId:
        return p->deviceNumaId;
    case cudaDevAttrHostNumaId:
        return p->hostNumaId;
    default:
        return -1;
    }
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    if (!value || (int)attr < 1 || attr >= cudaDevAttrMax)
        return sim_rt_error(cudaErrorInvalidValue);
    if (device != 0) return sim_rt_error(cudaErrorInvalidDevice);
    long long v = attribute_value(sim_device_props(), attr);
    *value = v < 0 && attr != cudaDevAttrNumaId && attr != cudaDevAttrHostNumaId ? 0 : (int)v;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetPCIBusId(char *pciBusId, int len, int device)
{
    if (!pciBusId || len <= 0) return sim_rt_error(cudaErrorInvalidValue);
    if (device != 0) return sim_rt_error(cudaErrorInvalidDevice);
    snprintf(pciBusId, (size_t)len, "0000:00:00.0");
    return cudaSuccess;
}

cudaError_t cudaDeviceGetStreamPriorityRange(int *leastPriority, int *greatestPriority)
{
    if (leastPriority) *leastPriority = 0;
    if (greatestPriority) *greatestPriority = -5;
    return cudaSuccess;
}

cudaError_t cudaDeviceCanAccessPeer(int *canAccessPeer, int device, int peerDevice)
{
    if (!canAccessPeer) return sim_rt_error(cudaErrorInvalidValue);
    if (device != 0 || peerDevice != 0) return sim_rt_error(cudaErrorInvalidDevice);
    *canAccessPeer = 0;
    return cudaSuccess;
}

static size_t limits[cudaLimitPersistingL2CacheSize + 1] = {
    [cudaLimitStackSize] = 1024,
    [cudaLimitPrintfFifoSize] = 1 << 20,
    [cudaLimitMallocHeapSize] = 8 << 20,
    [cudaLimitDevRuntimeSyncDepth] = 2,
    [cudaLimitDevRuntimePendingLaunchCount] = 2048,
    [cudaLimitMaxL2FetchGranularity] = 64,
};

cudaError_t cudaDeviceGetLimit(size_t *pValue, enum cudaLimit limit)
{
    if (!pValue || (unsigned)limit >= sizeof(limits) / sizeof(limits[0]))
        return sim_rt_error(cudaErrorUnsupportedLimit);
    *pValue = __atomic_load_n(&limits[limit], __ATOMIC_RELAXED);
    return cudaSuccess;
}

cudaError_t cudaDeviceSetLimit(enum cudaLimit limit, size_t value)
{
    if ((unsigned)limit >= sizeof(limits) / sizeof(limits[0]))
        return sim_rt_error(cudaErrorUnsupportedLimit);
    __atomic_store_n(&limits[limit], value, __ATOMIC_RELAXED);
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *driverVersion)
{
    if (!driverVersion) return sim_rt_error(cudaErrorInvalidValue);
    *driverVersion = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *runtimeVersion)
{
    if (!runtimeVersion) return sim_rt_error(cudaErrorInvalidValue);
    *runtimeVersion = CUDART_VERSION;
    return cudaSuccess;
}

/* Work runs synchronously in the calling thread, so there is never anything to wait for. */
cudaError_t cudaDeviceSynchronize(void)
{
    return cudaSuccess;
}

/* Destroys the "context": every allocation, stream and event of the process, as the real
 * runtime does; the device is usable again afterwards. */
cudaError_t cudaDeviceReset(void)
{
    sim_mem_reset();
    sim_stream_reset();
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free, size_t *total)
{
    if (!free || !total) return sim_rt_error(cudaErrorInvalidValue);
    long avail = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    *total = sim_device_props()->totalGlobalMem;
    *free = avail > 0 && page > 0 ? (size_t)avail * (size_t)page : 0;
    if (*free > *total) *free = *total;
    return cudaSuccess;
}

/* cuda_profiler_api.h: meaningful only under a profiler; harmless no-ops here as there. */
cudaError_t cudaProfilerStart(void);
cudaError_t cudaProfilerStop(void);
cudaError_t cudaProfilerStart(void)
{
    return cudaSuccess;
}

cudaError_t cudaProfilerStop(void)
{
    return cudaSuccess;
}

/* A plain constructor of a struct returned by value: no device involved. */
struct cudaChannelFormatDesc cudaCreateChannelDesc(int x, int y, int z, int w,
                                                   enum cudaChannelFormatKind f)
{
    struct cudaChannelFormatDesc d = {x, y, z, w, f};
    return d;
}
