/*
 * libmptrace.so, inside: the CUPTI injection (cupti_injection.c, docs/interposer.md "CUPTI").
 *
 * A program linked with the static CUDA runtime (nvcc's default) never calls libcudart.so's
 * cudaLaunchKernel or cudaMemcpy, so hooks_cudart.c sees nothing of it. The CUDA driver, though,
 * loads the library named by CUDA_INJECTION64_PATH and calls its InitializeInjection; there we
 * dlopen libcupti and subscribe to the driver API's callbacks for launches, copies, fills and
 * synchronisations, which feed the same recorders as the runtime hooks (events.c).
 *
 * The decoding of one callback is pure and declared here so the unit tests can drive it with
 * synthetic parameter blocks, laid out as CUPTI's generated_cuda_meta.h lays them out.
 */
#ifndef MPT_INTERPOSER_CUPTI_H
#define MPT_INTERPOSER_CUPTI_H

#include <stdint.h>

#include "core/trace_format.h"

typedef enum mpt_ipx_cupti_what {
    MPT_IPX_CUPTI_NONE = 0, /* a callback id mptrace does not record */
    MPT_IPX_CUPTI_KERNEL,   /* a kernel launch */
    MPT_IPX_CUPTI_MEMORY,   /* a copy or a fill */
    MPT_IPX_CUPTI_SYNC      /* a context or stream synchronisation */
} mpt_ipx_cupti_what;

/* One driver call, as the trace sees it. */
typedef struct mpt_ipx_cupti_event {
    mpt_ipx_cupti_what what;
    uint64_t stream;  /* CUstream (the same handle as the runtime's cudaStream_t) */
    const void *func; /* KERNEL: the CUfunction */
    uint32_t grid[3], block[3];
    uint32_t shared_bytes;
    mpt_mem_kind mem; /* MEMORY */
    int async;
    uint64_t dst, src, bytes; /* MEMORY: src is the fill value for a memset */
    int sync_point;           /* a step-detection token: a synchronisation, or a synchronous
                               * device-to-host copy (as the runtime hooks count them) */
} mpt_ipx_cupti_event;

/* Decodes the driver callback `cbid` (CUPTI_DRIVER_TRACE_CBID_*) with its functionParams block.
 * Returns ev->what (NONE for ids not recorded, a NULL block, or a build without CUPTI headers). */
mpt_ipx_cupti_what mpt_ipx_cupti_decode(uint32_t cbid, const void *params, mpt_ipx_cupti_event *ev);

/* The driver callback ids the injection enables (0 entries in a build without CUPTI headers). */
const uint32_t *mpt_ipx_cupti_cbids(int *count);

/* The driver's entry point (exported, unversioned default: the driver dlsym()s it by name).
 * Always returns 1 (success: tracing problems never stop CUDA from initialising). */
int InitializeInjection(void);

#endif
