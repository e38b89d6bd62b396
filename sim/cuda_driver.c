/*
 * simcuda's libcuda.so.1: the CUDA driver API on the CPU, exactly the subset libmptrace.so's GPU
 * statistics path uses (interposer/gpu_ring.c, docs/simcuda.md "The driver subset"), so that path
 * runs for real on a machine without a GPU. It is not a general driver stand-in: a program that
 * links -lcuda for other calls would not load against it.
 *
 *  - one device ("simcuda CPU stand-in (mptrace)", like the runtime's) and one context, always
 *    current once cuInit ran; streams are whatever handles the caller passes (the runtime's, as
 *    on a GPU, where CUstream and cudaStream_t are the same objects), not validated here;
 *  - memory is host memory (256-byte aligned); copies and fills happen when issued;
 *  - modules are simcuda images (sim/mpt_driver_abi.h): a table of kernel names and host entries;
 *    cuLaunchKernel runs the entry once per thread with the runtime's own grid loop
 *    (sim/sim_grid.c), so a kernel behaves as under cudaLaunchKernel;
 *  - work is synchronous, so an event is complete when recorded. SIMCUDA_EVENT_LAG=N makes
 *    cuEventQuery answer CUDA_ERROR_NOT_READY to the first N queries after each record
 *    (cuEventSynchronize completes it at once): the asynchrony of a GPU, deterministically, so
 *    the code that drains results later (and waits on a full ring) is exercised on the CPU.
 *
 * Compiled against NVIDIA's cuda.h, so every function has the real prototype and the exported
 * name the header's macros select (cuMemAlloc_v2, cuMemcpyDtoHAsync_v2, ...).
 */
#include <cuda.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/mpt_driver_abi.h"
#include "sim/sim_grid.h"

#define DEVICE_NAME  "simcuda CPU stand-in (mptrace)"
#define HANDLE_MAGIC 0x53494d44u /* "SIMD" */

struct CUctx_st {
    unsigned magic;
};
struct CUmod_st {
    unsigned magic;
    const mpt_sim_image *image;
};
struct CUfunc_st {
    unsigned magic;
    const mpt_sim_image_kernel *kernel;
};
struct CUevent_st {
    unsigned magic;
    unsigned flags;
    int pending; /* queries still to answer NOT_READY (SIMCUDA_EVENT_LAG) */
};

static struct CUctx_st the_context = {HANDLE_MAGIC};
static int initialised;
static int event_lag;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    const char *v = getenv("SIMCUDA_EVENT_LAG");
    if (v && *v) {
        long n = strtol(v, NULL, 10);
        event_lag = n < 0 ? 0 : n > 1000000 ? 1000000 : (int)n;
    }
    __atomic_store_n(&initialised, 1, __ATOMIC_RELEASE);
}

static int ready(void)
{
    return __atomic_load_n(&initialised, __ATOMIC_ACQUIRE);
}

/* ---- initialisation, errors, device, context ---------------------------------------------- */

CUresult cuInit(unsigned int Flags)
{
    if (Flags != 0) return CUDA_ERROR_INVALID_VALUE;
    pthread_once(&init_once, init);
    return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *driverVersion)
{
    if (!driverVersion) return CUDA_ERROR_INVALID_VALUE;
    *driverVersion = CUDA_VERSION;
    return CUDA_SUCCESS;
}

static const struct {
    CUresult code;
    const char *name, *text;
} errors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
};

static int error_index(CUresult e)
{
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++)
        if (errors[i].code == e) return (int)i;
    return -1;
}

CUresult cuGetErrorName(CUresult error, const char **pStr)
{
    if (!pStr) return CUDA_ERROR_INVALID_VALUE;
    int i = error_index(error);
    *pStr = i >= 0 ? errors[i].name : NULL;
    return i >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult error, const char **pStr)
{
    if (!pStr) return CUDA_ERROR_INVALID_VALUE;
    int i = error_index(error);
    *pStr = i >= 0 ? errors[i].text : NULL;
    return i >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuDeviceGetCount(int *count)
{
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!count) return CUDA_ERROR_INVALID_VALUE;
    *count = 1;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!device) return CUDA_ERROR_INVALID_VALUE;
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    snprintf(name, (size_t)len, "%s", DEVICE_NAME);
    return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext *pctx)
{
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!pctx) return CUDA_ERROR_INVALID_VALUE;
    *pctx = &the_context;
    return CUDA_SUCCESS;
}

CUresult cuCtxGetDevice(CUdevice *device)
{
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!device) return CUDA_ERROR_INVALID_VALUE;
    *device = 0;
    return CUDA_SUCCESS;
}

/* ---- modules and launches ------------------------------------------------------------------ */

CUresult cuModuleLoadData(CUmodule *module, const void *image)
{
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!module || !image) return CUDA_ERROR_INVALID_VALUE;
    const mpt_sim_image *im = image;
    if (im->magic != MPT_SIM_IMAGE_MAGIC || im->version != MPT_SIM_IMAGE_VERSION || im->count < 0 ||
        (im->count > 0 && !im->kernels))
        return CUDA_ERROR_INVALID_IMAGE; /* a cubin or fatbin: GPU code, nothing to run here */
    struct CUmod_st *m = calloc(1, sizeof *m);
    if (!m) return CUDA_ERROR_OUT_OF_MEMORY;
    m->magic = HANDLE_MAGIC;
    m->image = im;
    *module = m;
    return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule hmod)
{
    if (!hmod || hmod->magic != HANDLE_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    hmod->magic = 0;
    free(hmod);
    return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
    if (!hfunc || !name) return CUDA_ERROR_INVALID_VALUE;
    if (!hmod || hmod->magic != HANDLE_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    for (int i = 0; i < hmod->image->count; i++) {
        const mpt_sim_image_kernel *k = &hmod->image->kernels[i];
        if (k->name && k->entry && strcmp(k->name, name) == 0) {
            struct CUfunc_st *f = calloc(1, sizeof *f);
            if (!f) return CUDA_ERROR_OUT_OF_MEMORY;
            f->magic = HANDLE_MAGIC;
            f->kernel = k;
            *hfunc = f; /* lives as long as the process, as the driver's do with the module */
            return CUDA_SUCCESS;
        }
    }
    return CUDA_ERROR_NOT_FOUND;
}

CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
                        unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
                        unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
                        void **kernelParams, void **extra)
{
    (void)hStream; /* synchronous: every stream is already done */
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!f || f->magic != HANDLE_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    if (extra) return CUDA_ERROR_NOT_SUPPORTED; /* kernelParams only */
    unsigned long long threads = (unsigned long long)blockDimX * blockDimY * blockDimZ;
    if (gridDimX == 0 || gridDimY == 0 || gridDimZ == 0 || threads == 0 || gridDimX > 0x7fffffffu ||
        gridDimY > 65535 || gridDimZ > 65535)
        return CUDA_ERROR_INVALID_VALUE;
    if (threads > 1024 || blockDimX > 1024 || blockDimY > 1024 || blockDimZ > 64)
        return CUDA_ERROR_INVALID_VALUE;
    if (sharedMemBytes > 0) return CUDA_ERROR_NOT_SUPPORTED; /* as cudaLaunchKernel on simcuda */
    sim_grid_run(f->kernel->entry, kernelParams, (mpt_sim_dim3){gridDimX, gridDimY, gridDimZ},
                 (mpt_sim_dim3){blockDimX, blockDimY, blockDimZ});
    return CUDA_SUCCESS;
}

/* ---- memory -------------------------------------------------------------------------------- */

static void *alloc256(size_t bytes)
{
    size_t n = (bytes + 255) & ~(size_t)255;
    return aligned_alloc(256, n ? n : 256);
}

CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!dptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
    void *p = alloc256(bytesize);
    if (!p) return CUDA_ERROR_OUT_OF_MEMORY;
    *dptr = (CUdeviceptr)(uintptr_t)p;
    return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr dptr)
{
    free((void *)(uintptr_t)dptr);
    return CUDA_SUCCESS;
}

CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)
{
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!pp || bytesize == 0 || (Flags & ~0xfu)) return CUDA_ERROR_INVALID_VALUE;
    *pp = alloc256(bytesize);
    return *pp ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult cuMemFreeHost(void *p)
{
    free(p);
    return CUDA_SUCCESS;
}

CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream)
{
    (void)hStream;
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!dstDevice && N) return CUDA_ERROR_INVALID_VALUE;
    if (N) memset((void *)(uintptr_t)dstDevice, uc, N);
    return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount,
                              CUstream hStream)
{
    (void)hStream;
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if ((!dstHost || !srcDevice) && ByteCount) return CUDA_ERROR_INVALID_VALUE;
    if (ByteCount) memmove(dstHost, (const void *)(uintptr_t)srcDevice, ByteCount);
    return CUDA_SUCCESS;
}

/* ---- events -------------------------------------------------------------------------------- */

CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
    if (!ready()) return CUDA_ERROR_NOT_INITIALIZED;
    if (!phEvent || (Flags & ~0xfu)) return CUDA_ERROR_INVALID_VALUE;
    struct CUevent_st *e = calloc(1, sizeof *e);
    if (!e) return CUDA_ERROR_OUT_OF_MEMORY;
    e->magic = HANDLE_MAGIC;
    e->flags = Flags;
    *phEvent = e;
    return CUDA_SUCCESS;
}

CUresult cuEventDestroy_v2(CUevent hEvent)
{
    if (!hEvent || hEvent->magic != HANDLE_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    hEvent->magic = 0;
    free(hEvent);
    return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
{
    (void)hStream;
    if (!hEvent || hEvent->magic != HANDLE_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    __atomic_store_n(&hEvent->pending, event_lag, __ATOMIC_RELAXED);
    return CUDA_SUCCESS;
}

CUresult cuEventQuery(CUevent hEvent)
{
    if (!hEvent || hEvent->magic != HANDLE_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    int p = __atomic_load_n(&hEvent->pending, __ATOMIC_RELAXED);
    while (p > 0 && !__atomic_compare_exchange_n(&hEvent->pending, &p, p - 1, 0, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
        ;
    return p > 0 ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
}

CUresult cuEventSynchronize(CUevent hEvent)
{
    if (!hEvent || hEvent->magic != HANDLE_MAGIC) return CUDA_ERROR_INVALID_HANDLE;
    __atomic_store_n(&hEvent->pending, 0, __ATOMIC_RELAXED);
    return CUDA_SUCCESS;
}
