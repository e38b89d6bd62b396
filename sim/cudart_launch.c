/*
 * simcuda runtime: modules, kernel registration and launch.
 *
 * Two kinds of module reach __cudaRegisterFatBinary:
 *  - nvcc-generated host code registers its fatbin (magic 0x466243b1) and its kernels' host
 *    stubs. Those kernels are GPU machine code: they load (so nvcc-built programs start and
 *    run their host and library code), but launching one returns
 *    cudaErrorNoKernelImageForDevice, with one line on stderr naming the kernel;
 *  - kernels in the project's one-source convention (sim/mpt_kernel.h), built with gcc,
 *    register a simcuda module whose "device function" is a host entry; those run here, one
 *    call per thread, block after block, in the calling thread.
 * A launch of a function nobody registered gets cudaErrorInvalidDeviceFunction, as on a GPU.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cudart_internal.h"
#include "sim/mpt_kernel_abi.h"
#include "sim/sim_grid.h"

#define FATBIN_MAGIC 0x466243b1u

typedef struct sim_module {
    void *wrapper; /* first member: the handle is this struct seen as void ** */
    int is_sim;    /* 1: simcuda one-source module; 0: a GPU fatbin */
} sim_module;

typedef struct sim_function {
    const void *host_fun; /* the address programs launch by */
    char *name;           /* device name (owned) */
    sim_module *module;
    mpt_sim_entry entry; /* one-source kernels only */
    int max_dynamic_shared;
    int warned; /* the "cannot run on the CPU" notice was printed */
} sim_function;

static pthread_mutex_t fn_lock = PTHREAD_MUTEX_INITIALIZER;
static sim_function **functions;
static size_t function_count, function_cap;
static sim_module **modules;
static size_t module_count, module_cap;

static int grow(void *array_ptr, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap) return 0;
    size_t n = *cap ? *cap * 2 : 16;
    void *p = realloc(*(void **)array_ptr, n * elem);
    if (!p) return -1;
    *(void **)array_ptr = p;
    *cap = n;
    return 0;
}

/* ---- registration (called by nvcc-generated code and by sim/mpt_kernel.h) ---------------- */

void **__cudaRegisterFatBinary(void *fatCubin);
void __cudaRegisterFatBinaryEnd(void **fatCubinHandle);
void __cudaUnregisterFatBinary(void **fatCubinHandle);
void __cudaRegisterFunction(void **fatCubinHandle, const char *hostFun, char *deviceFun,
                            const char *deviceName, int thread_limit, uint3 *tid, uint3 *bid,
                            dim3 *bDim, dim3 *gDim, int *wSize);
void __cudaRegisterVar(void **fatCubinHandle, char *hostVar, char *deviceAddress,
                       const char *deviceName, int ext, size_t size, int constant, int global);
void __cudaRegisterManagedVar(void **fatCubinHandle, void **hostVarPtrAddress, char *deviceAddress,
                              const char *deviceName, int ext, size_t size, int constant,
                              int global);
char __cudaInitModule(void **fatCubinHandle);
unsigned __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim, size_t sharedMem,
                                     struct CUstream_st *stream);
cudaError_t __cudaPopCallConfiguration(dim3 *gridDim, dim3 *blockDim, size_t *sharedMem,
                                       void *stream);
cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *hostFun);
cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                               size_t sharedMem, cudaStream_t stream);
cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                                    size_t sharedMem, cudaStream_t stream);

void **__cudaRegisterFatBinary(void *fatCubin)
{
    pthread_mutex_lock(&fn_lock);
    for (size_t i = 0; i < module_count; i++) {
        if (modules[i]->wrapper == fatCubin) { /* one-source TUs register once per kernel */
            pthread_mutex_unlock(&fn_lock);
            return (void **)modules[i];
        }
    }
    sim_module *m = calloc(1, sizeof(*m));
    if (!m || grow(&modules, &module_cap, module_count, sizeof(*modules)) != 0) {
        free(m);
        pthread_mutex_unlock(&fn_lock);
        return NULL;
    }
    m->wrapper = fatCubin;
    m->is_sim = fatCubin && *(const unsigned *)fatCubin == MPT_SIM_MODULE_MAGIC;
    modules[module_count++] = m;
    pthread_mutex_unlock(&fn_lock);
    return (void **)m;
}

void __cudaRegisterFatBinaryEnd(void **fatCubinHandle)
{
    (void)fatCubinHandle;
}

char __cudaInitModule(void **fatCubinHandle)
{
    (void)fatCubinHandle;
    return 1;
}

void __cudaUnregisterFatBinary(void **fatCubinHandle)
{
    sim_module *m = (sim_module *)fatCubinHandle;
    pthread_mutex_lock(&fn_lock);
    for (size_t i = 0; i < function_count;) {
        if (functions[i]->module == m) {
            free(functions[i]->name);
            free(functions[i]);
            functions[i] = functions[--function_count];
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < module_count; i++) {
        if (modules[i] == m) {
            modules[i] = modules[--module_count];
            free(m);
            break;
        }
    }
    pthread_mutex_unlock(&fn_lock);
}

void __cudaRegisterFunction(void **fatCubinHandle, const char *hostFun, char *deviceFun,
                            const char *deviceName, int thread_limit, uint3 *tid, uint3 *bid,
                            dim3 *bDim, dim3 *gDim, int *wSize)
{
    (void)thread_limit, (void)tid, (void)bid, (void)bDim, (void)gDim, (void)wSize;
    sim_module *m = (sim_module *)fatCubinHandle;
    if (!m || !hostFun) return;
    sim_function *f = calloc(1, sizeof(*f));
    if (!f) return;
    f->host_fun = hostFun;
    f->name = strdup(deviceName ? deviceName : "?");
    f->module = m;
    f->max_dynamic_shared = 48 * 1024;
    if (m->is_sim) {
        union {
            char *bytes;
            mpt_sim_entry entry;
        } u;
        u.bytes = deviceFun;
        f->entry = u.entry;
    }
    pthread_mutex_lock(&fn_lock);
    if (!f->name || grow(&functions, &function_cap, function_count, sizeof(*functions)) != 0) {
        pthread_mutex_unlock(&fn_lock);
        free(f->name);
        free(f);
        return;
    }
    functions[function_count++] = f;
    pthread_mutex_unlock(&fn_lock);
}

/* Device variables live in the fatbin; simcuda has no device image to give them storage. */
void __cudaRegisterVar(void **fatCubinHandle, char *hostVar, char *deviceAddress,
                       const char *deviceName, int ext, size_t size, int constant, int global)
{
    (void)fatCubinHandle, (void)hostVar, (void)deviceAddress, (void)deviceName;
    (void)ext, (void)size, (void)constant, (void)global;
}

/* A __managed__ variable is reached from the host through the pointer the runtime stores
 * here, so it gets real (managed) storage; its initial value is in the fatbin, so it starts
 * zeroed, and simcuda says so. */
void __cudaRegisterManagedVar(void **fatCubinHandle, void **hostVarPtrAddress, char *deviceAddress,
                              const char *deviceName, int ext, size_t size, int constant,
                              int global)
{
    (void)fatCubinHandle, (void)deviceAddress, (void)deviceName, (void)ext, (void)constant;
    (void)global;
    void *p = NULL;
    if (hostVarPtrAddress &&
        cudaMallocManaged(&p, size ? size : 1, cudaMemAttachGlobal) == cudaSuccess) {
        memset(p, 0, size);
        *hostVarPtrAddress = p;
        static int flag;
        sim_notice_once(&flag,
                        "__managed__ variables start zeroed (their initialisers are GPU code)");
    }
}

/* ---- lookup -------------------------------------------------------------------------------- */

static sim_function *function_find(const void *host_fun)
{
    sim_function *f = NULL;
    pthread_mutex_lock(&fn_lock);
    for (size_t i = 0; i < function_count && !f; i++)
        if (functions[i]->host_fun == host_fun) f = functions[i];
    pthread_mutex_unlock(&fn_lock);
    return f;
}

static sim_function *function_from_handle(const void *handle)
{
    sim_function *f = NULL;
    pthread_mutex_lock(&fn_lock);
    for (size_t i = 0; i < function_count && !f; i++)
        if (functions[i] == handle) f = functions[i];
    pthread_mutex_unlock(&fn_lock);
    return f;
}

/* ---- launch -------------------------------------------------------------------------------- */

static cudaError_t launch(sim_function *f, dim3 grid, dim3 block, void **args, size_t shared,
                          cudaStream_t stream)
{
    if (!f) return sim_rt_error(cudaErrorInvalidDeviceFunction);
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    if (!f->module->is_sim) {
        if (__atomic_exchange_n(&f->warned, 1, __ATOMIC_ACQ_REL) == 0) {
            char msg[320];
            snprintf(msg, sizeof(msg),
                     "kernel %.200s is GPU code from an nvcc fatbin and cannot run on the CPU "
                     "(cudaErrorNoKernelImageForDevice)",
                     f->name);
            sim_notice_line(msg); /* once per kernel: guarded by f->warned */
        }
        return sim_rt_error(cudaErrorNoKernelImageForDevice);
    }
    const struct cudaDeviceProp *p = sim_device_props();
    unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (threads == 0 || threads > (unsigned)p->maxThreadsPerBlock ||
        block.x > (unsigned)p->maxThreadsDim[0] || block.y > (unsigned)p->maxThreadsDim[1] ||
        block.z > (unsigned)p->maxThreadsDim[2] || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.x > (unsigned)p->maxGridSize[0] || grid.y > (unsigned)p->maxGridSize[1] ||
        grid.z > (unsigned)p->maxGridSize[2])
        return sim_rt_error(cudaErrorInvalidConfiguration);
    if (shared > (size_t)f->max_dynamic_shared) return sim_rt_error(cudaErrorInvalidValue);
    if (shared > 0) {
        static int flag;
        sim_notice_unsupported(&flag, "dynamic shared memory in one-source kernels");
        return sim_rt_error(cudaErrorNotSupported);
    }
    sim_grid_run(f->entry, args, (mpt_sim_dim3){grid.x, grid.y, grid.z},
                 (mpt_sim_dim3){block.x, block.y, block.z});
    return cudaSuccess;
}

cudaError_t cudaLaunchKernel(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                             size_t sharedMem, cudaStream_t stream)
{
    return launch(function_find(func), gridDim, blockDim, args, sharedMem, stream);
}

cudaError_t cudaLaunchKernel_ptsz(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                                  size_t sharedMem, cudaStream_t stream)
{
    return cudaLaunchKernel(func, gridDim, blockDim, args, sharedMem, stream);
}

cudaError_t cudaLaunchKernelExC(const cudaLaunchConfig_t *config, const void *func, void **args)
{
    if (!config) return sim_rt_error(cudaErrorInvalidValue);
    if (config->numAttrs > 0) {
        SIM_UNSUPPORTED_NOTICE("cudaLaunchKernelExC with launch attributes");
        return sim_rt_error(cudaErrorNotSupported);
    }
    return cudaLaunchKernel(func, config->gridDim, config->blockDim, args, config->dynamicSmemBytes,
                            config->stream);
}

cudaError_t cudaLaunchKernelExC_ptsz(const cudaLaunchConfig_t *config, const void *func,
                                     void **args);
cudaError_t cudaLaunchKernelExC_ptsz(const cudaLaunchConfig_t *config, const void *func,
                                     void **args)
{
    return cudaLaunchKernelExC(config, func, args);
}

cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *hostFun)
{
    sim_function *f = function_find(hostFun);
    if (!kernel) return sim_rt_error(cudaErrorInvalidValue);
    if (!f) return sim_rt_error(cudaErrorInvalidDeviceFunction);
    *kernel = (cudaKernel_t)f;
    return cudaSuccess;
}

cudaError_t cudaGetKernel(cudaKernel_t *kernelPtr, const void *entryFuncAddr)
{
    return __cudaGetKernel(kernelPtr, entryFuncAddr);
}

cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                               size_t sharedMem, cudaStream_t stream)
{
    return launch(function_from_handle(kernel), gridDim, blockDim, args, sharedMem, stream);
}

cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                                    size_t sharedMem, cudaStream_t stream)
{
    return __cudaLaunchKernel(kernel, gridDim, blockDim, args, sharedMem, stream);
}

/* ---- <<<...>>> configuration stack (nvcc pushes before evaluating the arguments) ----------- */

typedef struct call_config {
    dim3 grid, block;
    size_t shared;
    struct CUstream_st *stream;
} call_config;

static __thread call_config config_stack[4];
static __thread int config_depth;

unsigned __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim, size_t sharedMem,
                                     struct CUstream_st *stream)
{
    if (config_depth >= (int)(sizeof(config_stack) / sizeof(config_stack[0]))) return 1;
    config_stack[config_depth++] = (call_config){gridDim, blockDim, sharedMem, stream};
    return 0;
}

cudaError_t __cudaPopCallConfiguration(dim3 *gridDim, dim3 *blockDim, size_t *sharedMem,
                                       void *stream)
{
    if (config_depth == 0) return sim_rt_error(cudaErrorMissingConfiguration);
    call_config c = config_stack[--config_depth];
    *gridDim = c.grid;
    *blockDim = c.block;
    *sharedMem = c.shared;
    *(struct CUstream_st **)stream = c.stream;
    return cudaSuccess;
}

/* ---- function queries ---------------------------------------------------------------------- */

cudaError_t cudaFuncGetName(const char **name, const void *func)
{
    if (!name) return sim_rt_error(cudaErrorInvalidValue);
    sim_function *f = function_find(func);
    if (!f) return sim_rt_error(cudaErrorInvalidDeviceFunction);
    *name = f->name;
    return cudaSuccess;
}

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr, const void *func)
{
    if (!attr) return sim_rt_error(cudaErrorInvalidValue);
    sim_function *f = function_find(func);
    if (!f) return sim_rt_error(cudaErrorInvalidDeviceFunction);
    memset(attr, 0, sizeof(*attr));
    attr->maxThreadsPerBlock = sim_device_props()->maxThreadsPerBlock;
    attr->numRegs = 32;
    attr->ptxVersion = 90;
    attr->binaryVersion = 90;
    attr->maxDynamicSharedSizeBytes = f->max_dynamic_shared;
    attr->preferredShmemCarveout = -1;
    return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *func, enum cudaFuncAttribute attr, int value)
{
    sim_function *f = function_find(func);
    if (!f) return sim_rt_error(cudaErrorInvalidDeviceFunction);
    if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
        if (value < 0 || (size_t)value > sim_device_props()->sharedMemPerBlockOptin)
            return sim_rt_error(cudaErrorInvalidValue);
        f->max_dynamic_shared = value;
    }
    return cudaSuccess;
}

cudaError_t cudaFuncSetCacheConfig(const void *func, enum cudaFuncCache cacheConfig)
{
    (void)cacheConfig;
    return sim_rt_error(function_find(func) ? cudaSuccess : cudaErrorInvalidDeviceFunction);
}

cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks, const void *func,
                                                          int blockSize, size_t dynamicSMemSize)
{
    (void)dynamicSMemSize;
    if (!numBlocks || blockSize <= 0) return sim_rt_error(cudaErrorInvalidValue);
    if (!function_find(func)) return sim_rt_error(cudaErrorInvalidDeviceFunction);
    const struct cudaDeviceProp *p = sim_device_props();
    int by_threads = p->maxThreadsPerMultiProcessor / blockSize;
    *numBlocks =
        by_threads < p->maxBlocksPerMultiProcessor ? by_threads : p->maxBlocksPerMultiProcessor;
    return cudaSuccess;
}
