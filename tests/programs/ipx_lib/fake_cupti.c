/*
 * A stand-in libcupti for the CUPTI suite (tests/unit/test_interposer_cupti.c): just enough of
 * CUPTI's callback API for libmptrace.so's injection (interposer/cupti_injection.c) to subscribe
 * and enable its driver callbacks, plus fake_cupti_* entry points with which a test program plays
 * the CUDA driver: each one calls the subscribed callback at API entry and exit with the
 * CUpti_CallbackData and parameter block CUPTI itself would pass (layouts from NVIDIA's headers),
 * if that callback id was enabled. No GPU, no driver: the callback-to-record path on the CPU.
 *
 * FAKE_CUPTI_BUSY=1 makes cuptiSubscribe answer as CUPTI does under Nsight
 * (CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED).
 */
/* generated_cuda_meta.h also declares the parameter blocks of CUDA 1.x/2.x entry points, whose
 * types cuda.h defines only for the driver's own build; the layouts used here are the same
 * either way (same sizes and offsets with and without it). */
#define __CUDA_API_VERSION_INTERNAL 1
#include <cuda.h>
#include <cupti_callbacks.h>
#include <cupti_driver_cbid.h>
#include <cupti_result.h>
#include <generated_cuda_meta.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_EXPORT __attribute__((visibility("default")))

static CUpti_CallbackFunc callback;
static void *callback_userdata;
static unsigned char enabled[4096];

FAKE_EXPORT CUptiResult cuptiSubscribe(CUpti_SubscriberHandle *subscriber, CUpti_CallbackFunc cb,
                                       void *userdata)
{
    const char *busy = getenv("FAKE_CUPTI_BUSY");
    if (busy && !strcmp(busy, "1")) return CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;
    if (!subscriber) return CUPTI_ERROR_INVALID_PARAMETER;
    if (callback) return CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;
    callback = cb;
    callback_userdata = userdata;
    *subscriber = (CUpti_SubscriberHandle)(uintptr_t)&callback;
    return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult cuptiUnsubscribe(CUpti_SubscriberHandle subscriber)
{
    if (subscriber != (CUpti_SubscriberHandle)(uintptr_t)&callback)
        return CUPTI_ERROR_INVALID_PARAMETER;
    callback = NULL;
    memset(enabled, 0, sizeof enabled);
    return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult cuptiEnableCallback(uint32_t enable, CUpti_SubscriberHandle subscriber,
                                            CUpti_CallbackDomain domain, CUpti_CallbackId cbid)
{
    if (subscriber != (CUpti_SubscriberHandle)(uintptr_t)&callback ||
        domain != CUPTI_CB_DOMAIN_DRIVER_API || cbid >= sizeof enabled)
        return CUPTI_ERROR_INVALID_PARAMETER;
    enabled[cbid] = enable != 0;
    return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult cuptiGetResultString(CUptiResult result, const char **str)
{
    *str = result == CUPTI_SUCCESS ? "CUPTI_SUCCESS" : "CUPTI_ERROR (fake)";
    return CUPTI_SUCCESS;
}

/* One driver call as CUPTI reports it: entry, then exit with the call's result. Returns 0 when
 * a callback ran, 1 when none was subscribed or that id was not enabled. */
static int fire(CUpti_CallbackId cbid, const char *fn, const void *params, const char *symbol,
                CUresult result)
{
    if (!callback || cbid >= sizeof enabled || !enabled[cbid]) return 1;
    static uint32_t correlation;
    uint64_t correlation_data = 0;
    CUresult ret = CUDA_SUCCESS;
    CUpti_CallbackData d;
    memset(&d, 0, sizeof d);
    d.callbackSite = CUPTI_API_ENTER;
    d.functionName = fn;
    d.functionParams = params;
    d.functionReturnValue = &ret;
    d.symbolName = symbol;
    d.correlationData = &correlation_data;
    d.correlationId = ++correlation;
    callback(callback_userdata, CUPTI_CB_DOMAIN_DRIVER_API, cbid, &d);
    ret = result;
    d.callbackSite = CUPTI_API_EXIT;
    callback(callback_userdata, CUPTI_CB_DOMAIN_DRIVER_API, cbid, &d);
    return 0;
}

/* The calls a test program plays; declared here for -Wmissing-prototypes, looked up by dlsym. */
int fake_cupti_launch(const char *symbol, uintptr_t func, unsigned grid, unsigned block,
                      uintptr_t stream, int result);
int fake_cupti_launch_ex(const char *symbol, uintptr_t func, unsigned gx, unsigned gy,
                         unsigned block, unsigned shared, uintptr_t stream);
int fake_cupti_htod(uintptr_t dst, const void *src, size_t bytes);
int fake_cupti_dtoh(void *dst, uintptr_t src, size_t bytes);
int fake_cupti_memset32_async(uintptr_t dst, unsigned value, size_t count, uintptr_t stream);
int fake_cupti_ctx_sync(void);

FAKE_EXPORT int fake_cupti_launch(const char *symbol, uintptr_t func, unsigned grid, unsigned block,
                                  uintptr_t stream, int result)
{
    cuLaunchKernel_params p = {(CUfunction)func, grid, 1,   1, block, 1, 1, 0,
                               (CUstream)stream, NULL, NULL};
    return fire(CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, "cuLaunchKernel", &p, symbol,
                (CUresult)result);
}

FAKE_EXPORT int fake_cupti_launch_ex(const char *symbol, uintptr_t func, unsigned gx, unsigned gy,
                                     unsigned block, unsigned shared, uintptr_t stream)
{
    CUlaunchConfig c;
    memset(&c, 0, sizeof c);
    c.gridDimX = gx, c.gridDimY = gy, c.gridDimZ = 1;
    c.blockDimX = block, c.blockDimY = 1, c.blockDimZ = 1;
    c.sharedMemBytes = shared;
    c.hStream = (CUstream)stream;
    cuLaunchKernelEx_params p = {&c, (CUfunction)func, NULL, NULL};
    return fire(CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx, "cuLaunchKernelEx", &p, symbol,
                CUDA_SUCCESS);
}

FAKE_EXPORT int fake_cupti_htod(uintptr_t dst, const void *src, size_t bytes)
{
    cuMemcpyHtoD_v2_params p = {(CUdeviceptr)dst, src, bytes};
    return fire(CUPTI_DRIVER_TRACE_CBID_cuMemcpyHtoD_v2, "cuMemcpyHtoD_v2", &p, NULL, CUDA_SUCCESS);
}

FAKE_EXPORT int fake_cupti_dtoh(void *dst, uintptr_t src, size_t bytes)
{
    cuMemcpyDtoH_v2_params p = {dst, (CUdeviceptr)src, bytes};
    return fire(CUPTI_DRIVER_TRACE_CBID_cuMemcpyDtoH_v2, "cuMemcpyDtoH_v2", &p, NULL, CUDA_SUCCESS);
}

FAKE_EXPORT int fake_cupti_memset32_async(uintptr_t dst, unsigned value, size_t count,
                                          uintptr_t stream)
{
    cuMemsetD32Async_params p = {(CUdeviceptr)dst, value, count, (CUstream)stream};
    return fire(CUPTI_DRIVER_TRACE_CBID_cuMemsetD32Async, "cuMemsetD32Async", &p, NULL,
                CUDA_SUCCESS);
}

FAKE_EXPORT int fake_cupti_ctx_sync(void)
{
    return fire(CUPTI_DRIVER_TRACE_CBID_cuCtxSynchronize, "cuCtxSynchronize", NULL, NULL,
                CUDA_SUCCESS);
}
