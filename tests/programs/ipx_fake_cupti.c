/*
 * Plays the CUDA driver for the CUPTI suite (tests/unit/test_interposer_cupti.c), on simcuda.
 *
 *   ipx_fake_cupti env     prints the injection variables it was started with (the launcher's
 *                          part: CUDA_INJECTION64_PATH, NVTX_INJECTION64_PATH, MPTRACE_CUPTI)
 *   ipx_fake_cupti calls   does what the driver does with CUDA_INJECTION64_PATH — dlopen() it,
 *                          call InitializeInjection — then makes "driver calls" through the
 *                          stand-in libcupti (MPTRACE_CUPTI_LIB, tests/programs/ipx_lib/
 *                          fake_cupti.c), which runs the subscribed callback as CUPTI would:
 *                          a launch, a failed launch, a cuLaunchKernelEx, a host-to-device copy,
 *                          an asynchronous 32-bit fill, a device-to-host copy, a context sync;
 *                          and finally a kernel launched through the runtime (cudaLaunchKernel,
 *                          intercepted by libmptrace.so) whose body makes another "driver
 *                          launch", as libcudart's cudaLaunchKernel does: it must not be
 *                          recorded twice.
 * Prints "fired N" (callbacks that ran) and "OK" when every call behaved.
 */
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/mpt_kernel.h"

typedef int (*launch_fn)(const char *, uintptr_t, unsigned, unsigned, uintptr_t, int);
typedef int (*launch_ex_fn)(const char *, uintptr_t, unsigned, unsigned, unsigned, unsigned,
                            uintptr_t);
typedef int (*htod_fn)(uintptr_t, const void *, size_t);
typedef int (*dtoh_fn)(void *, uintptr_t, size_t);
typedef int (*memset_fn)(uintptr_t, unsigned, size_t, uintptr_t);
typedef int (*sync_fn)(void);
static launch_fn fake_launch;

void nested_kernel(int tag);
MPT_GLOBAL void nested_kernel(int tag)
{
    /* The driver launch libcudart would make for this runtime launch. */
    if (fake_launch) fake_launch("_Z12inner_launchv", 0x2000, 1, 1, 0, 0);
    (void)tag;
}
MPT_SIM_KERNEL(nested_kernel, int)

static int show_env(void)
{
    static const char *const names[] = {"CUDA_INJECTION64_PATH", "NVTX_INJECTION64_PATH",
                                        "MPTRACE_CUPTI"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        printf("%s=%s\n", names[i], v ? v : "(unset)");
    }
    return 0;
}

#define LOOKUP(h, type, name)                                                                      \
    type name = (type)dlsym(h, #name);                                                             \
    if (!name) {                                                                                   \
        printf("FAIL the stand-in libcupti lacks %s\n", #name);                                    \
        return 1;                                                                                  \
    }

static int driver_calls(void)
{
    const char *inj = getenv("CUDA_INJECTION64_PATH"), *cupti = getenv("MPTRACE_CUPTI_LIB");
    if (!inj || !*inj) {
        printf("FAIL CUDA_INJECTION64_PATH is not set\n");
        return 1;
    }
    void *lib = dlopen(inj, RTLD_NOW | RTLD_LOCAL);
    int (*init)(void) = lib ? (int (*)(void))dlsym(lib, "InitializeInjection") : NULL;
    if (!init) {
        printf("FAIL no InitializeInjection in %s: %s\n", inj, dlerror());
        return 1;
    }
    printf("InitializeInjection returned %d\n", init());
    if (!cupti || !*cupti) {
        printf("no stand-in libcupti named (MPTRACE_CUPTI_LIB): no driver calls\n");
        return 0;
    }
    /* The injection loaded the stand-in; the same instance, or nothing if it could not. */
    void *h = dlopen(cupti, RTLD_NOW | RTLD_NOLOAD);
    if (!h) {
        printf("libcupti not loaded by the injection\n");
        return 0;
    }
    LOOKUP(h, launch_fn, fake_cupti_launch)
    LOOKUP(h, launch_ex_fn, fake_cupti_launch_ex)
    LOOKUP(h, htod_fn, fake_cupti_htod)
    LOOKUP(h, dtoh_fn, fake_cupti_dtoh)
    LOOKUP(h, memset_fn, fake_cupti_memset32_async)
    LOOKUP(h, sync_fn, fake_cupti_ctx_sync)

    static char host[4096];
    int unfired = 0;
    unfired += fake_cupti_launch("_Z9fake_axpyPfPKfi", 0x1000, 8, 256, 0x77, 0);
    unfired += fake_cupti_launch("_Z11failed_launchv", 0x1100, 1, 1, 0, 1 /* an error */);
    unfired += fake_cupti_launch_ex(NULL, 0x1200, 3, 2, 64, 1024, 0x78);
    unfired += fake_cupti_htod(0xd000, host, sizeof host);
    unfired += fake_cupti_memset32_async(0xe000, 0x7fc00000u, 256, 0x77);
    unfired += fake_cupti_dtoh(host, 0xd000, 64);
    unfired += fake_cupti_ctx_sync();
    printf("fired %d\n", 7 - unfired);

    /* A runtime launch (hooked) whose driver launch fires inside it. */
    fake_launch = fake_cupti_launch;
    int tag = 1;
    void *args[] = {&tag};
    dim3 one = {1, 1, 1};
    cudaError_t e = cudaLaunchKernel((const void *)nested_kernel, one, one, args, 0, NULL);
    if (e != cudaSuccess) {
        printf("FAIL cudaLaunchKernel: %s\n", cudaGetErrorName(e));
        return 1;
    }
    return 0; /* unfired calls are the test's to judge (none subscribed under "Nsight") */
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "env")) return show_env();
    if (argc > 1 && !strcmp(argv[1], "calls")) {
        int rc = driver_calls();
        if (rc == 0) printf("OK\n");
        return rc;
    }
    fprintf(stderr, "usage: ipx_fake_cupti env|calls\n");
    return 2;
}
