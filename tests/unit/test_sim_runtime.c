/*
 * simcuda's CUDA runtime, call by call, against what the real runtime documents: the device and
 * its attributes, errors (last error, names, messages), allocations of every kind with their
 * misuse (double free, wrong free, NULL), copies of every kind from every kind of pointer
 * (table-driven: a pointer that is no allocation and no host memory gives
 * cudaErrorInvalidValue), 2-D copies and fills, pointer attributes, host registration, streams,
 * events, device reset and launches of unregistered functions.
 */
#include <check.h>

#if __has_include(<cuda_runtime_api.h>)
#include <cuda_runtime_api.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_sim_util.h"

#define RT(fn) SIM_FN(CUDART, fn)

START_TEST(test_device)
{
    if (!sim_test_available()) return;
    int n = 0, dev = -1, v = 0;
    struct cudaDeviceProp p;
    ck_assert_int_eq(RT(cudaGetDeviceCount)(&n), cudaSuccess);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(RT(cudaGetDevice)(&dev), cudaSuccess);
    ck_assert_int_eq(dev, 0);
    ck_assert_int_eq(RT(cudaSetDevice)(0), cudaSuccess);
    ck_assert_int_eq(RT(cudaSetDevice)(1), cudaErrorInvalidDevice);
    ck_assert_int_eq(RT(cudaGetDeviceProperties)(&p, 0), cudaSuccess);
    ck_assert_ptr_nonnull(strstr(p.name, "simcuda"));
    ck_assert(p.major == 9 && p.minor == 0 && p.totalGlobalMem > 0 && p.warpSize == 32);
    ck_assert_int_eq(RT(cudaGetDeviceProperties)(&p, 3), cudaErrorInvalidDevice);
    ck_assert_int_eq(RT(cudaDeviceGetAttribute)(&v, cudaDevAttrComputeCapabilityMajor, 0),
                     cudaSuccess);
    ck_assert_int_eq(v, 9);
    ck_assert_int_eq(RT(cudaDeviceGetAttribute)(&v, cudaDevAttrMaxThreadsPerBlock, 0), cudaSuccess);
    ck_assert_int_eq(v, 1024);
    ck_assert_int_eq(RT(cudaDeviceGetAttribute)(&v, cudaDevAttrMultiProcessorCount, 0),
                     cudaSuccess);
    ck_assert_int_eq(v, p.multiProcessorCount);
    ck_assert_int_eq(RT(cudaDeviceGetAttribute)(&v, (enum cudaDeviceAttr)0, 0),
                     cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaRuntimeGetVersion)(&v), cudaSuccess);
    ck_assert_int_eq(v, CUDART_VERSION);
    size_t free_b = 0, total_b = 0;
    ck_assert_int_eq(RT(cudaMemGetInfo)(&free_b, &total_b), cudaSuccess);
    ck_assert(total_b > 0 && free_b <= total_b);
    struct cudaChannelFormatDesc d =
        RT(cudaCreateChannelDesc)(16, 0, 0, 0, cudaChannelFormatKindFloat);
    ck_assert(d.x == 16 && d.y == 0 && d.f == cudaChannelFormatKindFloat);
}
END_TEST

START_TEST(test_errors)
{
    if (!sim_test_available()) return;
    ck_assert_str_eq(RT(cudaGetErrorName)(cudaErrorInvalidValue), "cudaErrorInvalidValue");
    ck_assert_str_eq(RT(cudaGetErrorString)(cudaErrorInvalidValue), "invalid argument");
    ck_assert_str_eq(RT(cudaGetErrorString)(cudaSuccess), "no error");
    ck_assert_str_eq(RT(cudaGetErrorString)(cudaErrorNoKernelImageForDevice),
                     "no kernel image is available for execution on the device");
    ck_assert_str_eq(RT(cudaGetErrorName)((cudaError_t)12345), "unrecognized error code");
    ck_assert_int_eq(RT(cudaGetLastError)(), cudaSuccess);
    ck_assert_int_eq(RT(cudaSetDevice)(5), cudaErrorInvalidDevice);
    ck_assert_int_eq(RT(cudaPeekAtLastError)(), cudaErrorInvalidDevice);
    ck_assert_int_eq(RT(cudaGetLastError)(), cudaErrorInvalidDevice);
    ck_assert_int_eq(RT(cudaGetLastError)(), cudaSuccess);
    cudaGraph_t g;
    ck_assert_int_eq(RT(cudaGraphCreate)(&g, 0), cudaErrorNotSupported);
}
END_TEST

START_TEST(test_alloc_free)
{
    if (!sim_test_available()) return;
    void *d = (void *)1, *h = NULL, *m = NULL;
    ck_assert_int_eq(RT(cudaMalloc)(&d, 0), cudaSuccess);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(RT(cudaMalloc)(NULL, 16), cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaFree)(NULL), cudaSuccess);
    ck_assert_int_eq(RT(cudaMalloc)(&d, 1000), cudaSuccess);
    ck_assert_uint_eq((uintptr_t)d % 256, 0);
    ck_assert_int_eq(RT(cudaFree)((char *)d + 8), cudaErrorInvalidValue); /* not the base */
    ck_assert_int_eq(RT(cudaFreeHost)(d), cudaErrorInvalidValue);         /* wrong kind */
    ck_assert_int_eq(RT(cudaFree)(d), cudaSuccess);
    ck_assert_int_eq(RT(cudaFree)(d), cudaErrorInvalidValue); /* double free */
    ck_assert_int_eq(RT(cudaMallocHost)(&h, 64), cudaSuccess);
    ck_assert_int_eq(RT(cudaFree)(h), cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaFreeHost)(h), cudaSuccess);
    ck_assert_int_eq(RT(cudaHostAlloc)(&h, 64, 0x80), cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaMallocManaged)(&m, 0, cudaMemAttachGlobal), cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaMallocManaged)(&m, 64, 7), cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaMallocManaged)(&m, 64, cudaMemAttachGlobal), cudaSuccess);
    memset(m, 1, 64); /* host-accessible */
    ck_assert_int_eq(RT(cudaFree)(m), cudaSuccess);
    size_t pitch = 0;
    ck_assert_int_eq(RT(cudaMallocPitch)(&d, &pitch, 100, 3), cudaSuccess);
    ck_assert(pitch >= 100 && pitch % 256 == 0);
    ck_assert_int_eq(RT(cudaFree)(d), cudaSuccess);
    ck_assert_int_eq(RT(cudaMallocAsync)(&d, 32, NULL), cudaSuccess);
    ck_assert_int_eq(RT(cudaFreeAsync)(d, cudaStreamPerThread), cudaSuccess);
    RT(cudaGetLastError)();
}
END_TEST

/* Pointer kinds for the copy table. */
enum ptr_kind { P_DEV, P_HOST, P_PINNED, P_MANAGED, P_WILD, P_DEV_END, P_NULL };

typedef struct copy_case {
    enum ptr_kind dst, src;
    enum cudaMemcpyKind kind;
    cudaError_t want;
} copy_case;

static const copy_case copies[] = {
    {P_DEV, P_HOST, cudaMemcpyHostToDevice, cudaSuccess},
    {P_HOST, P_DEV, cudaMemcpyDeviceToHost, cudaSuccess},
    {P_DEV, P_DEV, cudaMemcpyDeviceToDevice, cudaSuccess},
    {P_HOST, P_HOST, cudaMemcpyHostToHost, cudaSuccess},
    {P_DEV, P_PINNED, cudaMemcpyHostToDevice, cudaSuccess},
    {P_MANAGED, P_HOST, cudaMemcpyHostToDevice, cudaSuccess},
    {P_HOST, P_MANAGED, cudaMemcpyDeviceToHost, cudaSuccess},
    {P_PINNED, P_DEV, cudaMemcpyDefault, cudaSuccess},
    {P_HOST, P_DEV, cudaMemcpyDefault, cudaSuccess},
    {P_HOST, P_HOST, cudaMemcpyDeviceToHost, cudaErrorInvalidValue}, /* src is no device memory */
    {P_HOST, P_HOST, cudaMemcpyHostToDevice, cudaErrorInvalidValue}, /* dst is no device memory */
    {P_DEV, P_DEV, cudaMemcpyHostToDevice,
     cudaErrorInvalidValue}, /* cudaMalloc is not host memory */
    {P_HOST, P_HOST, cudaMemcpyDeviceToDevice, cudaErrorInvalidValue},
    {P_DEV, P_WILD, cudaMemcpyHostToDevice, cudaErrorInvalidValue}, /* unmapped */
    {P_WILD, P_DEV, cudaMemcpyDefault, cudaErrorInvalidValue},
    {P_DEV, P_NULL, cudaMemcpyHostToDevice, cudaErrorInvalidValue},
    {P_HOST, P_DEV_END, cudaMemcpyDeviceToHost, cudaErrorInvalidValue}, /* runs past the end */
    {P_DEV, P_HOST, (enum cudaMemcpyKind)9, cudaErrorInvalidMemcpyDirection},
};

START_TEST(test_memcpy_kinds)
{
    if (!sim_test_available()) return;
    const copy_case *c = &copies[_i];
    enum { BYTES = 64 };
    static char host_a[BYTES], host_b[BYTES];
    void *dev_a, *dev_b, *pinned, *managed;
    ck_assert_int_eq(RT(cudaMalloc)(&dev_a, BYTES), cudaSuccess);
    ck_assert_int_eq(RT(cudaMalloc)(&dev_b, BYTES), cudaSuccess);
    ck_assert_int_eq(RT(cudaMallocHost)(&pinned, BYTES), cudaSuccess);
    ck_assert_int_eq(RT(cudaMallocManaged)(&managed, BYTES, cudaMemAttachGlobal), cudaSuccess);
    void *ptrs[2];
    enum ptr_kind kinds[2] = {c->dst, c->src};
    for (int i = 0; i < 2; i++) {
        switch (kinds[i]) {
        case P_DEV:
            ptrs[i] = i ? dev_b : dev_a;
            break;
        case P_HOST:
            ptrs[i] = i ? host_b : host_a;
            break;
        case P_PINNED:
            ptrs[i] = pinned;
            break;
        case P_MANAGED:
            ptrs[i] = managed;
            break;
        case P_WILD:
            ptrs[i] = (void *)(uintptr_t)0x10;
            break;
        case P_DEV_END:
            ptrs[i] = (char *)dev_b + BYTES - 8;
            break;
        default:
            ptrs[i] = NULL;
            break;
        }
    }
    memset(host_b, 0x5a, BYTES);
    memset(dev_b, 0x5a, BYTES); /* simcuda's device memory is host memory: set up directly */
    memset(pinned, 0x5a, BYTES);
    memset(managed, 0x5a, BYTES);
    memset(host_a, 0, BYTES);
    memset(dev_a, 0, BYTES);
    RT(cudaGetLastError)();
    ck_assert_int_eq(RT(cudaMemcpy)(ptrs[0], ptrs[1], 16, c->kind), c->want);
    if (c->want == cudaSuccess)
        ck_assert(memcmp(ptrs[0], ptrs[1], 16) == 0);
    else
        ck_assert_int_eq(RT(cudaGetLastError)(), c->want);
    ck_assert_int_eq(RT(cudaMemcpyAsync)(ptrs[0], ptrs[1], 16, c->kind, NULL), c->want);
    RT(cudaFree)(dev_a);
    RT(cudaFree)(dev_b);
    RT(cudaFreeHost)(pinned);
    RT(cudaFree)(managed);
}
END_TEST

START_TEST(test_memcpy2d_memset)
{
    if (!sim_test_available()) return;
    char host[4][10], back[4][10];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 10; c++)
            host[r][c] = (char)(r * 10 + c);
    void *d;
    size_t pitch;
    ck_assert_int_eq(RT(cudaMallocPitch)(&d, &pitch, 7, 4), cudaSuccess);
    ck_assert_int_eq(RT(cudaMemset2D)(d, pitch, 0x11, 7, 4), cudaSuccess);
    ck_assert_int_eq(RT(cudaMemcpy2D)(d, pitch, host, 10, 6, 4, cudaMemcpyHostToDevice),
                     cudaSuccess);
    memset(back, 0, sizeof(back));
    ck_assert_int_eq(RT(cudaMemcpy2D)(back, 10, d, pitch, 7, 4, cudaMemcpyDeviceToHost),
                     cudaSuccess);
    for (int r = 0; r < 4; r++) {
        ck_assert(memcmp(back[r], host[r], 6) == 0);
        ck_assert_int_eq(back[r][6], 0x11);
    }
    ck_assert_int_eq(RT(cudaMemcpy2D)(d, 4, host, 10, 6, 4, cudaMemcpyHostToDevice),
                     cudaErrorInvalidPitchValue);
    ck_assert_int_eq(RT(cudaMemcpy2D)(d, pitch, host, 10, 6, 5000, cudaMemcpyHostToDevice),
                     cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaMemset)(host, 0, 4), cudaErrorInvalidValue); /* not device memory */
    ck_assert_int_eq(RT(cudaMemset)(d, 0x22, pitch * 4 + 1), cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaMemsetAsync)(d, 0x22, pitch * 4, cudaStreamLegacy), cudaSuccess);
    ck_assert_int_eq(((unsigned char *)d)[pitch * 4 - 1], 0x22);
    RT(cudaFree)(d);
    RT(cudaGetLastError)();
}
END_TEST

START_TEST(test_pointer_attributes)
{
    if (!sim_test_available()) return;
    struct cudaPointerAttributes a;
    void *d, *h, *m;
    char local[8], reg[4096];
    RT(cudaMalloc)(&d, 64);
    RT(cudaMallocHost)(&h, 64);
    RT(cudaMallocManaged)(&m, 64, cudaMemAttachGlobal);
    ck_assert_int_eq(RT(cudaPointerGetAttributes)(&a, (char *)d + 10), cudaSuccess);
    ck_assert(a.type == cudaMemoryTypeDevice && a.device == 0 && a.hostPointer == NULL);
    ck_assert_int_eq(RT(cudaPointerGetAttributes)(&a, h), cudaSuccess);
    ck_assert(a.type == cudaMemoryTypeHost && a.devicePointer == h && a.hostPointer == h);
    ck_assert_int_eq(RT(cudaPointerGetAttributes)(&a, m), cudaSuccess);
    ck_assert(a.type == cudaMemoryTypeManaged);
    ck_assert_int_eq(RT(cudaPointerGetAttributes)(&a, local), cudaSuccess);
    ck_assert(a.type == cudaMemoryTypeUnregistered && a.devicePointer == NULL);
    ck_assert_int_eq(RT(cudaPointerGetAttributes)(NULL, d), cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaHostRegister)(reg, sizeof(reg), cudaHostRegisterDefault), cudaSuccess);
    ck_assert_int_eq(RT(cudaHostRegister)(reg + 100, 10, cudaHostRegisterDefault),
                     cudaErrorHostMemoryAlreadyRegistered);
    void *dp = NULL;
    ck_assert_int_eq(RT(cudaHostGetDevicePointer)(&dp, reg, 0), cudaSuccess);
    ck_assert_ptr_eq(dp, reg);
    ck_assert_int_eq(RT(cudaPointerGetAttributes)(&a, reg + 5), cudaSuccess);
    ck_assert(a.type == cudaMemoryTypeHost);
    ck_assert_int_eq(RT(cudaHostUnregister)(reg), cudaSuccess);
    ck_assert_int_eq(RT(cudaHostUnregister)(reg), cudaErrorHostMemoryNotRegistered);
    RT(cudaFree)(d);
    RT(cudaFreeHost)(h);
    RT(cudaFree)(m);
    RT(cudaGetLastError)();
}
END_TEST

static int callback_calls;

static void host_fn(void *user)
{
    *(int *)user += 1;
}

static void stream_cb(cudaStream_t s, cudaError_t status, void *user)
{
    (void)s;
    *(int *)user += status == cudaSuccess ? 10 : 1000;
}

START_TEST(test_streams)
{
    if (!sim_test_available()) return;
    cudaStream_t s;
    unsigned flags = 0;
    int prio = 0;
    unsigned long long id = 0;
    enum cudaStreamCaptureStatus cap;
    ck_assert_int_eq(RT(cudaStreamCreateWithFlags)(&s, 0x10), cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaStreamCreateWithPriority)(&s, cudaStreamNonBlocking, -100),
                     cudaSuccess);
    ck_assert_int_eq(RT(cudaStreamGetFlags)(s, &flags), cudaSuccess);
    ck_assert_uint_eq(flags, cudaStreamNonBlocking);
    ck_assert_int_eq(RT(cudaStreamGetPriority)(s, &prio), cudaSuccess);
    ck_assert_int_eq(prio, -5); /* clamped to the greatest priority */
    ck_assert_int_eq(RT(cudaStreamGetId)(s, &id), cudaSuccess);
    ck_assert(id > 2);
    ck_assert_int_eq(RT(cudaStreamQuery)(s), cudaSuccess);
    ck_assert_int_eq(RT(cudaStreamSynchronize)(s), cudaSuccess);
    ck_assert_int_eq(RT(cudaStreamIsCapturing)(s, &cap), cudaSuccess);
    ck_assert_int_eq(cap, cudaStreamCaptureStatusNone);
    callback_calls = 0;
    ck_assert_int_eq(RT(cudaLaunchHostFunc)(s, host_fn, &callback_calls), cudaSuccess);
    ck_assert_int_eq(RT(cudaStreamAddCallback)(s, stream_cb, &callback_calls, 0), cudaSuccess);
    ck_assert_int_eq(callback_calls, 11); /* both ran, in order, already */
    ck_assert_int_eq(RT(cudaStreamSynchronize)(cudaStreamLegacy), cudaSuccess);
    ck_assert_int_eq(RT(cudaStreamSynchronize)(cudaStreamPerThread), cudaSuccess);
    ck_assert_int_eq(RT(cudaStreamDestroy)(s), cudaSuccess);
    ck_assert_int_eq(RT(cudaStreamDestroy)(s), cudaErrorInvalidResourceHandle);
    ck_assert_int_eq(RT(cudaStreamSynchronize)(s), cudaErrorInvalidResourceHandle);
    char buf[8];
    ck_assert_int_eq(RT(cudaMemcpyAsync)(buf, buf + 4, 4, cudaMemcpyHostToHost, s),
                     cudaErrorInvalidResourceHandle);
    ck_assert_int_eq(RT(cudaStreamDestroy)(NULL), cudaErrorInvalidResourceHandle);
    RT(cudaGetLastError)();
}
END_TEST

START_TEST(test_events)
{
    if (!sim_test_available()) return;
    cudaEvent_t a, b, untimed, never;
    float ms = -1;
    ck_assert_int_eq(RT(cudaEventCreate)(&a), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventCreateWithFlags)(&b, cudaEventBlockingSync), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventCreateWithFlags)(&untimed, cudaEventDisableTiming), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventCreateWithFlags)(&never, 0), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventCreateWithFlags)(&never, 0x40), cudaErrorInvalidValue);
    ck_assert_int_eq(RT(cudaEventRecord)(a, NULL), cudaSuccess);
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    ck_assert_int_eq(RT(cudaEventRecord)(b, cudaStreamPerThread), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventRecord)(untimed, NULL), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventSynchronize)(b), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventQuery)(b), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventElapsedTime)(&ms, a, b), cudaSuccess);
    ck_assert(ms >= 1.5f && ms < 1000.0f);
    ck_assert_int_eq(RT(cudaEventElapsedTime)(&ms, a, untimed), cudaErrorInvalidResourceHandle);
    ck_assert_int_eq(RT(cudaEventElapsedTime)(&ms, a, never), cudaErrorInvalidResourceHandle);
    ck_assert_int_eq(RT(cudaStreamWaitEvent)(NULL, b, 0), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventDestroy)(a), cudaSuccess);
    ck_assert_int_eq(RT(cudaEventDestroy)(a), cudaErrorInvalidResourceHandle);
    ck_assert_int_eq(RT(cudaEventRecord)(a, NULL), cudaErrorInvalidResourceHandle);
    RT(cudaEventDestroy)(b);
    RT(cudaEventDestroy)(untimed);
    RT(cudaEventDestroy)(never);
    RT(cudaGetLastError)();
}
END_TEST

static void never_registered(void) {}

START_TEST(test_reset_and_launch)
{
    if (!sim_test_available()) return;
    void *d;
    cudaStream_t s;
    RT(cudaMalloc)(&d, 16);
    RT(cudaStreamCreate)(&s);
    ck_assert_int_eq(RT(cudaDeviceSynchronize)(), cudaSuccess);
    ck_assert_int_eq(RT(cudaDeviceReset)(), cudaSuccess);
    ck_assert_int_eq(RT(cudaFree)(d), cudaErrorInvalidValue); /* freed by the reset */
    ck_assert_int_eq(RT(cudaStreamQuery)(s), cudaErrorInvalidResourceHandle); /* destroyed by it */
    dim3 one = {1, 1, 1};
    const char *name;
    ck_assert_int_eq(RT(cudaLaunchKernel)((const void *)never_registered, one, one, NULL, 0, NULL),
                     cudaErrorInvalidDeviceFunction);
    ck_assert_int_eq(RT(cudaGetLastError)(), cudaErrorInvalidDeviceFunction);
    ck_assert_int_eq(RT(cudaFuncGetName)(&name, (const void *)never_registered),
                     cudaErrorInvalidDeviceFunction);
    RT(cudaGetLastError)();
}
END_TEST

#else
#include <stdio.h>
START_TEST(test_sim_runtime_skipped)
{
    fprintf(stderr, "SKIP: CUDA headers not found — simcuda not built, sim_runtime not run\n");
}
END_TEST
#endif

extern Suite *suite_sim_runtime(void);
Suite *suite_sim_runtime(void)
{
    Suite *s = suite_create("sim_runtime");
    TCase *tc = tcase_create("cudart");
#if __has_include(<cuda_runtime_api.h>)
    tcase_add_test(tc, test_device);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_alloc_free);
    tcase_add_loop_test(tc, test_memcpy_kinds, 0, (int)(sizeof(copies) / sizeof(copies[0])));
    tcase_add_test(tc, test_memcpy2d_memset);
    tcase_add_test(tc, test_pointer_attributes);
    tcase_add_test(tc, test_streams);
    tcase_add_test(tc, test_events);
    tcase_add_test(tc, test_reset_and_launch);
#else
    tcase_add_test(tc, test_sim_runtime_skipped);
#endif
    suite_add_tcase(s, tc);
    return s;
}
