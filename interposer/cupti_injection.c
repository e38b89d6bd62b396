/*
 * CUPTI callbacks for programs the runtime hooks cannot see (interposer/cupti.h says why).
 *
 * The CUDA driver, when CUDA_INJECTION64_PATH names a library, dlopen()s it while initialising
 * and calls its `int InitializeInjection(void)`; `mptrace run` names libmptrace.so there on GPUs
 * (not with --sim: simcuda has no driver). We then load libcupti at run time — never linked, so
 * libmptrace.so loads on machines without it — subscribe one callback to the driver API, and
 * enable it for the launches, copies, fills and synchronisations listed in kCbids. Each call
 * that returned CUDA_SUCCESS becomes the record the runtime hooks would have written.
 *
 * Recorded once: CUPTI calls us on the thread making the driver call, from inside it. When the
 * program uses the dynamic runtime, hooks_cudart.c entered the thread's reentrancy guard
 * (mpt_ipx_enter) before calling the real cudaMemcpy, which calls the driver, which calls us: the
 * guard is still held, mpt_ipx_enter refuses, and the call is not recorded a second time. The
 * same guard keeps the kernels cuBLAS launches inside an intercepted GEMM out of the trace, as
 * the runtime hooks do.
 *
 * Any failure (no libcupti, another CUPTI client such as Nsight already subscribed) costs one
 * "mptrace:" line and this capture only; the rest of the tracing goes on.
 *
 * Compiled with CUPTI's headers only (MPT_HAVE_CUPTI_HEADERS, set by the Makefile when they are
 * found); without them InitializeInjection says so and returns. Exercised on the CPU against a
 * stand-in libcupti (tests/programs/ipx_lib/fake_cupti.c), never on a GPU.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interposer/cupti.h"
#include "interposer/ipx.h"

/* One line on stderr (unless MPTRACE_QUIET), like session.c's. */
static void say_off(const char *why)
{
    if (mpt_ipx_config_get()->quiet) return;
    char line[512];
    int n =
        snprintf(line, sizeof line,
                 "mptrace: CUPTI capture off (%s): kernel launches, copies and synchronisations "
                 "not made through libcudart.so (static CUDA runtime) are not recorded\n",
                 why);
    if (n <= 0) return;
    ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)w;
}

/* Whether to subscribe (no line when not). MPTRACE_CUPTI=0: never; 1: always; unset or auto:
 * not when the dynamic CUDA 13 runtime is loaded. CUPTI takes one subscriber per process, and
 * hooks_cudart.c already sees everything that runtime does, so subscribing would only take
 * CUPTI away from a profiler the program starts itself (torch.profiler). A program on another
 * runtime (static, or libcudart.so.12) is seen only through CUPTI: then subscribe. */
static int cupti_wanted(void)
{
    const char *v = getenv("MPTRACE_CUPTI");
    if (v && !strcmp(v, "0")) return 0;
    if (mpt_ipx_config_get()->disabled) return 0;
    if (v && !strcmp(v, "1")) return 1;
    void *rt = dlopen("libcudart.so.13", RTLD_LAZY | RTLD_NOLOAD);
    if (rt) dlclose(rt); /* only a reference NOLOAD took */
    return rt == NULL;
}

#if defined(MPT_HAVE_CUPTI_HEADERS)

/* generated_cuda_meta.h also declares the parameter blocks of CUDA 1.x/2.x entry points, whose
 * types cuda.h defines only for the driver's own build; the layouts used here are the same
 * either way (same sizes and offsets with and without it). */
#define __CUDA_API_VERSION_INTERNAL 1
#include <cuda.h>
#include <cupti_callbacks.h>
#include <cupti_driver_cbid.h>
#include <cupti_result.h>
#include <generated_cuda_meta.h>

#define CB(n) CUPTI_DRIVER_TRACE_CBID_##n

/* clang-format off */
static const uint32_t kCbids[] = {
    CB(cuLaunchKernel), CB(cuLaunchKernel_ptsz), CB(cuLaunchKernelEx), CB(cuLaunchKernelEx_ptsz),
    CB(cuLaunchCooperativeKernel), CB(cuLaunchCooperativeKernel_ptsz),
    CB(cuMemcpy), CB(cuMemcpy_ptds), CB(cuMemcpyAsync), CB(cuMemcpyAsync_ptsz),
    CB(cuMemcpyHtoD_v2), CB(cuMemcpyHtoD_v2_ptds), CB(cuMemcpyHtoDAsync_v2),
    CB(cuMemcpyHtoDAsync_v2_ptsz), CB(cuMemcpyDtoH_v2), CB(cuMemcpyDtoH_v2_ptds),
    CB(cuMemcpyDtoHAsync_v2), CB(cuMemcpyDtoHAsync_v2_ptsz), CB(cuMemcpyDtoD_v2),
    CB(cuMemcpyDtoD_v2_ptds), CB(cuMemcpyDtoDAsync_v2), CB(cuMemcpyDtoDAsync_v2_ptsz),
    CB(cuMemcpyPeer), CB(cuMemcpyPeer_ptds), CB(cuMemcpyPeerAsync), CB(cuMemcpyPeerAsync_ptsz),
    CB(cuMemcpy2D_v2), CB(cuMemcpy2D_v2_ptds), CB(cuMemcpy2DUnaligned_v2),
    CB(cuMemcpy2DUnaligned_v2_ptds), CB(cuMemcpy2DAsync_v2), CB(cuMemcpy2DAsync_v2_ptsz),
    CB(cuMemcpy3D_v2), CB(cuMemcpy3D_v2_ptds), CB(cuMemcpy3DAsync_v2), CB(cuMemcpy3DAsync_v2_ptsz),
    CB(cuMemsetD8_v2), CB(cuMemsetD8_v2_ptds), CB(cuMemsetD16_v2), CB(cuMemsetD16_v2_ptds),
    CB(cuMemsetD32_v2), CB(cuMemsetD32_v2_ptds), CB(cuMemsetD8Async), CB(cuMemsetD8Async_ptsz),
    CB(cuMemsetD16Async), CB(cuMemsetD16Async_ptsz), CB(cuMemsetD32Async),
    CB(cuMemsetD32Async_ptsz), CB(cuMemsetD2D8_v2), CB(cuMemsetD2D8_v2_ptds), CB(cuMemsetD2D16_v2),
    CB(cuMemsetD2D16_v2_ptds), CB(cuMemsetD2D32_v2), CB(cuMemsetD2D32_v2_ptds),
    CB(cuMemsetD2D8Async), CB(cuMemsetD2D8Async_ptsz), CB(cuMemsetD2D16Async),
    CB(cuMemsetD2D16Async_ptsz), CB(cuMemsetD2D32Async), CB(cuMemsetD2D32Async_ptsz),
    CB(cuCtxSynchronize), CB(cuCtxSynchronize_v2), CB(cuStreamSynchronize),
    CB(cuStreamSynchronize_ptsz),
};
/* clang-format on */

const uint32_t *mpt_ipx_cupti_cbids(int *count)
{
    *count = (int)(sizeof kCbids / sizeof *kCbids);
    return kCbids;
}

/* ---- decoding one call ----------------------------------------------------------------------- */

static mpt_ipx_cupti_what launch(mpt_ipx_cupti_event *ev, CUfunction f, unsigned gx, unsigned gy,
                                 unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                 unsigned shared, CUstream s)
{
    ev->func = (const void *)f;
    ev->grid[0] = gx, ev->grid[1] = gy, ev->grid[2] = gz;
    ev->block[0] = bx, ev->block[1] = by, ev->block[2] = bz;
    ev->shared_bytes = shared;
    ev->stream = (uint64_t)(uintptr_t)s;
    return ev->what = MPT_IPX_CUPTI_KERNEL;
}

static mpt_ipx_cupti_what copy(mpt_ipx_cupti_event *ev, mpt_mem_kind kind, int async, CUstream s,
                               uint64_t dst, uint64_t src, uint64_t bytes)
{
    ev->mem = kind;
    ev->async = async;
    ev->stream = (uint64_t)(uintptr_t)s;
    ev->dst = dst, ev->src = src, ev->bytes = bytes;
    ev->sync_point = kind == MPT_MEM_D2H && !async;
    return ev->what = MPT_IPX_CUPTI_MEMORY;
}

static mpt_mem_kind kind_of(CUmemorytype src, CUmemorytype dst)
{
    int sd = src == CU_MEMORYTYPE_DEVICE || src == CU_MEMORYTYPE_ARRAY;
    int dd = dst == CU_MEMORYTYPE_DEVICE || dst == CU_MEMORYTYPE_ARRAY;
    if (src == CU_MEMORYTYPE_UNIFIED || dst == CU_MEMORYTYPE_UNIFIED) return MPT_MEM_DEFAULT;
    if (src == CU_MEMORYTYPE_HOST) return dst == CU_MEMORYTYPE_HOST ? MPT_MEM_H2H : MPT_MEM_H2D;
    if (sd) return dst == CU_MEMORYTYPE_HOST ? MPT_MEM_D2H : dd ? MPT_MEM_D2D : MPT_MEM_UNKNOWN;
    return MPT_MEM_UNKNOWN;
}

#define PTR(x) ((uint64_t)(uintptr_t)(x))
/* A 2-D or 3-D copy descriptor: kinds from the memory types, addresses of the right members. */
#define COPY_ND(pc, async, s, depth)                                                               \
    (pc) ? copy(ev, kind_of((pc)->srcMemoryType, (pc)->dstMemoryType), async, s,                   \
                (pc)->dstMemoryType == CU_MEMORYTYPE_HOST ? PTR((pc)->dstHost) : (pc)->dstDevice,  \
                (pc)->srcMemoryType == CU_MEMORYTYPE_HOST ? PTR((pc)->srcHost) : (pc)->srcDevice,  \
                (uint64_t)(pc)->WidthInBytes * (pc)->Height * (depth))                             \
         : MPT_IPX_CUPTI_NONE
#define P(type) const type *p = params
/* clang-format off */
#define CASE2(a, b) case CB(a): case CB(b)
/* clang-format on */

mpt_ipx_cupti_what mpt_ipx_cupti_decode(uint32_t cbid, const void *params, mpt_ipx_cupti_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (cbid == CB(cuCtxSynchronize) || cbid == CB(cuCtxSynchronize_v2)) { /* no parameters */
        ev->sync_point = 1;
        return ev->what = MPT_IPX_CUPTI_SYNC;
    }
    if (!params) return MPT_IPX_CUPTI_NONE;
    /* One case per callback pair (plain and _ptds/_ptsz), laid out by hand. */
    /* clang-format off */
    switch (cbid) {
    CASE2(cuLaunchKernel, cuLaunchKernel_ptsz): {
        P(cuLaunchKernel_params);
        return launch(ev, p->f, p->gridDimX, p->gridDimY, p->gridDimZ, p->blockDimX, p->blockDimY,
                      p->blockDimZ, p->sharedMemBytes, p->hStream);
    }
    CASE2(cuLaunchCooperativeKernel, cuLaunchCooperativeKernel_ptsz): {
        P(cuLaunchCooperativeKernel_params);
        return launch(ev, p->f, p->gridDimX, p->gridDimY, p->gridDimZ, p->blockDimX, p->blockDimY,
                      p->blockDimZ, p->sharedMemBytes, p->hStream);
    }
    CASE2(cuLaunchKernelEx, cuLaunchKernelEx_ptsz): {
        P(cuLaunchKernelEx_params);
        const CUlaunchConfig *c = p->config;
        if (!c) return launch(ev, p->f, 0, 0, 0, 0, 0, 0, 0, NULL);
        return launch(ev, p->f, c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX, c->blockDimY,
                      c->blockDimZ, c->sharedMemBytes, c->hStream);
    }
    CASE2(cuMemcpy, cuMemcpy_ptds): {
        P(cuMemcpy_params);
        return copy(ev, MPT_MEM_DEFAULT, 0, NULL, p->dst, p->src, p->ByteCount);
    }
    CASE2(cuMemcpyAsync, cuMemcpyAsync_ptsz): {
        P(cuMemcpyAsync_params);
        return copy(ev, MPT_MEM_DEFAULT, 1, p->hStream, p->dst, p->src, p->ByteCount);
    }
    CASE2(cuMemcpyHtoD_v2, cuMemcpyHtoD_v2_ptds): {
        P(cuMemcpyHtoD_v2_params);
        return copy(ev, MPT_MEM_H2D, 0, NULL, p->dstDevice, PTR(p->srcHost), p->ByteCount);
    }
    CASE2(cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync_v2_ptsz): {
        P(cuMemcpyHtoDAsync_v2_params);
        return copy(ev, MPT_MEM_H2D, 1, p->hStream, p->dstDevice, PTR(p->srcHost), p->ByteCount);
    }
    CASE2(cuMemcpyDtoH_v2, cuMemcpyDtoH_v2_ptds): {
        P(cuMemcpyDtoH_v2_params);
        return copy(ev, MPT_MEM_D2H, 0, NULL, PTR(p->dstHost), p->srcDevice, p->ByteCount);
    }
    CASE2(cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync_v2_ptsz): {
        P(cuMemcpyDtoHAsync_v2_params);
        return copy(ev, MPT_MEM_D2H, 1, p->hStream, PTR(p->dstHost), p->srcDevice, p->ByteCount);
    }
    CASE2(cuMemcpyDtoD_v2, cuMemcpyDtoD_v2_ptds): {
        P(cuMemcpyDtoD_v2_params);
        return copy(ev, MPT_MEM_D2D, 0, NULL, p->dstDevice, p->srcDevice, p->ByteCount);
    }
    CASE2(cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync_v2_ptsz): {
        P(cuMemcpyDtoDAsync_v2_params);
        return copy(ev, MPT_MEM_D2D, 1, p->hStream, p->dstDevice, p->srcDevice, p->ByteCount);
    }
    CASE2(cuMemcpyPeer, cuMemcpyPeer_ptds): {
        P(cuMemcpyPeer_params);
        return copy(ev, MPT_MEM_D2D, 0, NULL, p->dstDevice, p->srcDevice, p->ByteCount);
    }
    CASE2(cuMemcpyPeerAsync, cuMemcpyPeerAsync_ptsz): {
        P(cuMemcpyPeerAsync_params);
        return copy(ev, MPT_MEM_D2D, 1, p->hStream, p->dstDevice, p->srcDevice, p->ByteCount);
    }
    CASE2(cuMemcpy2D_v2, cuMemcpy2D_v2_ptds):
    CASE2(cuMemcpy2DUnaligned_v2, cuMemcpy2DUnaligned_v2_ptds): {
        P(cuMemcpy2D_v2_params);
        return COPY_ND(p->pCopy, 0, NULL, 1);
    }
    CASE2(cuMemcpy2DAsync_v2, cuMemcpy2DAsync_v2_ptsz): {
        P(cuMemcpy2DAsync_v2_params);
        return COPY_ND(p->pCopy, 1, p->hStream, 1);
    }
    CASE2(cuMemcpy3D_v2, cuMemcpy3D_v2_ptds): {
        P(cuMemcpy3D_v2_params);
        return COPY_ND(p->pCopy, 0, NULL, p->pCopy->Depth);
    }
    CASE2(cuMemcpy3DAsync_v2, cuMemcpy3DAsync_v2_ptsz): {
        P(cuMemcpy3DAsync_v2_params);
        return COPY_ND(p->pCopy, 1, p->hStream, p->pCopy->Depth);
    }
/* Fills: src carries the value written (one element: a byte, 16 or 32 bits). */
#define FILL(name, val, elem, async, stream, count)                                              \
    {                                                                                            \
        P(name##_params);                                                                        \
        return copy(ev, MPT_MEM_MEMSET, async, stream, p->dstDevice, (uint64_t)p->val,           \
                    (uint64_t)(count) * (elem));                                                 \
    }
    CASE2(cuMemsetD8_v2, cuMemsetD8_v2_ptds): FILL(cuMemsetD8_v2, uc, 1, 0, NULL, p->N)
    CASE2(cuMemsetD16_v2, cuMemsetD16_v2_ptds): FILL(cuMemsetD16_v2, us, 2, 0, NULL, p->N)
    CASE2(cuMemsetD32_v2, cuMemsetD32_v2_ptds): FILL(cuMemsetD32_v2, ui, 4, 0, NULL, p->N)
    CASE2(cuMemsetD8Async, cuMemsetD8Async_ptsz): FILL(cuMemsetD8Async, uc, 1, 1, p->hStream, p->N)
    CASE2(cuMemsetD16Async, cuMemsetD16Async_ptsz):
        FILL(cuMemsetD16Async, us, 2, 1, p->hStream, p->N)
    CASE2(cuMemsetD32Async, cuMemsetD32Async_ptsz):
        FILL(cuMemsetD32Async, ui, 4, 1, p->hStream, p->N)
    CASE2(cuMemsetD2D8_v2, cuMemsetD2D8_v2_ptds):
        FILL(cuMemsetD2D8_v2, uc, 1, 0, NULL, p->Width * p->Height)
    CASE2(cuMemsetD2D16_v2, cuMemsetD2D16_v2_ptds):
        FILL(cuMemsetD2D16_v2, us, 2, 0, NULL, p->Width * p->Height)
    CASE2(cuMemsetD2D32_v2, cuMemsetD2D32_v2_ptds):
        FILL(cuMemsetD2D32_v2, ui, 4, 0, NULL, p->Width * p->Height)
    CASE2(cuMemsetD2D8Async, cuMemsetD2D8Async_ptsz):
        FILL(cuMemsetD2D8Async, uc, 1, 1, p->hStream, p->Width * p->Height)
    CASE2(cuMemsetD2D16Async, cuMemsetD2D16Async_ptsz):
        FILL(cuMemsetD2D16Async, us, 2, 1, p->hStream, p->Width * p->Height)
    CASE2(cuMemsetD2D32Async, cuMemsetD2D32Async_ptsz):
        FILL(cuMemsetD2D32Async, ui, 4, 1, p->hStream, p->Width * p->Height)
#undef FILL
    CASE2(cuStreamSynchronize, cuStreamSynchronize_ptsz): {
        P(cuStreamSynchronize_params);
        ev->stream = (uint64_t)(uintptr_t)p->hStream;
        ev->sync_point = 1;
        return ev->what = MPT_IPX_CUPTI_SYNC;
    }
    default: return MPT_IPX_CUPTI_NONE;
    }
    /* clang-format on */
}

/* ---- the callback ---------------------------------------------------------------------------- */

/* cuFuncGetName, for launches whose callback data carries no symbol name. libcuda is loaded
 * (it is calling us), perhaps privately by a static runtime: RTLD_NOLOAD finds it either way. */
typedef CUresult (*func_name_fn)(const char **, CUfunction);
static func_name_fn func_name_resolve(void)
{
    static _Atomic(func_name_fn) fn;
    static atomic_int tried;
    func_name_fn f = atomic_load(&fn);
    if (f || atomic_exchange(&tried, 1)) return f;
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    f = (func_name_fn)(h ? dlsym(h, "cuFuncGetName") : dlsym(RTLD_DEFAULT, "cuFuncGetName"));
    atomic_store(&fn, f);
    return f;
}

static void CUPTIAPI on_driver_call(void *userdata, CUpti_CallbackDomain domain,
                                    CUpti_CallbackId cbid, const void *data)
{
    (void)userdata;
    const CUpti_CallbackData *cb = data;
    if (domain != CUPTI_CB_DOMAIN_DRIVER_API || !cb || cb->callbackSite != CUPTI_API_EXIT) return;
    if (cb->functionReturnValue && *(const CUresult *)cb->functionReturnValue != CUDA_SUCCESS)
        return;
    mpt_ipx_thread *t;
    if (!mpt_ipx_enter(&t)) return; /* tracing off, or inside a hooked runtime call or GEMM */
    mpt_ipx_cupti_event ev;
    switch (mpt_ipx_cupti_decode(cbid, cb->functionParams, &ev)) {
    case MPT_IPX_CUPTI_KERNEL: {
        const char *name = cb->symbolName;
        func_name_fn f;
        if ((!name || !*name) && (f = func_name_resolve()) != NULL &&
            f(&name, (CUfunction)(uintptr_t)ev.func) != CUDA_SUCCESS)
            name = NULL;
        char buf[48];
        if (!name || !*name) {
            snprintf(buf, sizeof buf, "kernel@cufunction:%p", ev.func);
            name = buf;
        }
        mpt_ipx_record_kernel(ev.func, name, ev.stream, ev.grid, ev.block, ev.shared_bytes);
        break;
    }
    case MPT_IPX_CUPTI_MEMORY:
        mpt_ipx_record_memory(ev.mem, ev.async, ev.stream, (const void *)(uintptr_t)ev.dst,
                              (const void *)(uintptr_t)ev.src, ev.bytes);
        break;
    default:
        break;
    }
    if (ev.sync_point) mpt_ipx_steps_on_sync(t->tid);
    mpt_ipx_leave(t);
}

/* ---- loading CUPTI and subscribing ----------------------------------------------------------- */

/* MPTRACE_CUPTI_LIB when set (tests, unusual installs); else libcupti by soname through the
 * loader's own search (LD_LIBRARY_PATH, the ld.so cache), then in the toolkit's lib directories
 * under $CUDA_HOME, $CUDA_PATH and /usr/local/cuda, where the toolkit puts it. */
static void *open_cupti(char *why, size_t len)
{
    const char *env = getenv("MPTRACE_CUPTI_LIB");
    if (env && *env) {
        void *h = dlopen(env, RTLD_NOW | RTLD_LOCAL);
        if (!h) snprintf(why, len, "cannot load MPTRACE_CUPTI_LIB: %s", dlerror());
        return h;
    }
    static const char *const names[] = {"libcupti.so.13", "libcupti.so"};
    for (size_t i = 0; i < 2; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    const char *roots[] = {getenv("CUDA_HOME"), getenv("CUDA_PATH"), "/usr/local/cuda"};
    static const char *const subdirs[] = {"extras/CUPTI/lib64", "lib64", "lib"};
    for (size_t r = 0; r < 3; r++)
        for (size_t d = 0; roots[r] && *roots[r] && d < 3; d++)
            for (size_t i = 0; i < 2; i++) {
                char path[MPT_IPX_PATH_MAX];
                snprintf(path, sizeof path, "%s/%s/%s", roots[r], subdirs[d], names[i]);
                void *h = access(path, R_OK) == 0 ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
                if (h) return h;
            }
    snprintf(why, len,
             "libcupti.so.13 not found; put the CUDA toolkit's CUPTI directory on "
             "LD_LIBRARY_PATH");
    return NULL;
}

typedef CUptiResult (*subscribe_fn)(CUpti_SubscriberHandle *, CUpti_CallbackFunc, void *);
typedef CUptiResult (*unsubscribe_fn)(CUpti_SubscriberHandle);
typedef CUptiResult (*enable_fn)(uint32_t, CUpti_SubscriberHandle, CUpti_CallbackDomain,
                                 CUpti_CallbackId);
typedef CUptiResult (*result_string_fn)(CUptiResult, const char **);

static int subscribe(char *why, size_t len)
{
    void *h = open_cupti(why, len);
    if (!h) return -1;
    subscribe_fn sub = (subscribe_fn)dlsym(h, "cuptiSubscribe");
    unsubscribe_fn unsub = (unsubscribe_fn)dlsym(h, "cuptiUnsubscribe");
    enable_fn enable = (enable_fn)dlsym(h, "cuptiEnableCallback");
    result_string_fn str = (result_string_fn)dlsym(h, "cuptiGetResultString");
    if (!sub || !unsub || !enable) {
        snprintf(why, len, "the libcupti found lacks cuptiSubscribe/cuptiEnableCallback");
        return -1;
    }
    CUpti_SubscriberHandle s = NULL;
    CUptiResult r = sub(&s, on_driver_call, NULL);
    if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED) {
        snprintf(why, len,
                 "another CUPTI client owns the callbacks: Nsight Systems, Nsight "
                 "Compute, cuda-gdb or compute-sanitizer");
        return -1;
    }
    if (r != CUPTI_SUCCESS) {
        const char *msg = NULL;
        if (!str || str(r, &msg) != CUPTI_SUCCESS || !msg) msg = "unknown error";
        snprintf(why, len, "cuptiSubscribe failed: %s", msg);
        return -1;
    }
    int enabled = 0;
    for (size_t i = 0; i < sizeof kCbids / sizeof *kCbids; i++)
        enabled += enable(1, s, CUPTI_CB_DOMAIN_DRIVER_API, kCbids[i]) == CUPTI_SUCCESS;
    if (enabled == 0) {
        unsub(s);
        snprintf(why, len, "cuptiEnableCallback failed for every driver call");
        return -1;
    }
    return 0;
}

MPT_IPX_EXPORT int InitializeInjection(void)
{
    static atomic_int done;
    if (atomic_exchange(&done, 1) || !cupti_wanted()) return 1;
    char why[320];
    if (subscribe(why, sizeof why) != 0) say_off(why);
    return 1;
}

#else /* built without CUPTI's headers */

const uint32_t *mpt_ipx_cupti_cbids(int *count)
{
    *count = 0;
    return NULL;
}

mpt_ipx_cupti_what mpt_ipx_cupti_decode(uint32_t cbid, const void *params, mpt_ipx_cupti_event *ev)
{
    (void)cbid, (void)params;
    memset(ev, 0, sizeof *ev);
    return MPT_IPX_CUPTI_NONE;
}

MPT_IPX_EXPORT int InitializeInjection(void)
{
    static atomic_int done;
    if (atomic_exchange(&done, 1) || !cupti_wanted()) return 1;
    say_off("this libmptrace.so was built without the CUPTI headers");
    return 1;
}

#endif
