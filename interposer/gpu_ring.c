/*
 * The GPU statistics path's host side (gpu_ring.h): the driver API, loaded at run time, and one
 * ring of result slots per CUDA context.
 *
 * For each operand, behind the work already queued on the GEMM's own stream:
 *
 *   cuMemsetD8Async(slot.dev)            zero the accumulator
 *   cuLaunchKernel(stats, ..., stream)   one pass over the tensor (gpu_stats_kernel.cu)
 *   cuMemcpyDtoHAsync(slot.host)         result into pinned host memory
 *   cuEventRecord(slot.event, stream)
 *
 * so the kernel reads the operand after the GEMM wrote it and before anything queued later on
 * that stream changes it, without any synchronisation the program did not ask for. A slot is
 * read back once its event completed (cuEventQuery: never blocks); only a full ring
 * (cuEventSynchronize on its oldest slot) and the final drain at exit wait, and they wait on
 * mptrace's own events, never on the program's streams.
 *
 * The kernel image: on a real driver, the fatbin `make gpu` builds (mptrace-stats.fatbin next
 * to libmptrace.so, or MPTRACE_GPU_KERNELS); on simcuda's driver (its device is named
 * "simcuda..."), the same kernel compiled as C (gpu_sim_image.c).
 */
#include <cuda.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "interposer/gpu_ring.h"
#include "interposer/gpu_sample.h"
#include "interposer/ipx.h"

_Static_assert(2 * MPT_GPU_SAMPLE_MAX * sizeof(double) <= sizeof(mpt_gpu_stats),
               "a precision sample's results must fit in one ring slot");

/* ---- the driver, dlopen'ed ----------------------------------------------------------------- */

#define DRIVER_FNS(X)                                                                              \
    X(cuInit, (unsigned))                                                                          \
    X(cuGetErrorName, (CUresult, const char **))                                                   \
    X(cuCtxGetCurrent, (CUcontext *))                                                              \
    X(cuCtxGetDevice, (CUdevice *))                                                                \
    X(cuDeviceGetName, (char *, int, CUdevice))                                                    \
    X(cuModuleLoadData, (CUmodule *, const void *))                                                \
    X(cuModuleGetFunction, (CUfunction *, CUmodule, const char *))                                 \
    X(cuMemAlloc_v2, (CUdeviceptr *, size_t))                                                      \
    X(cuMemHostAlloc, (void **, size_t, unsigned))                                                 \
    X(cuMemsetD8Async, (CUdeviceptr, unsigned char, size_t, CUstream))                             \
    X(cuLaunchKernel, (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,     \
                       unsigned, CUstream, void **, void **))                                      \
    X(cuMemcpyDtoHAsync_v2, (void *, CUdeviceptr, size_t, CUstream))                               \
    X(cuEventCreate, (CUevent *, unsigned))                                                        \
    X(cuEventRecord, (CUevent, CUstream))                                                          \
    X(cuEventQuery, (CUevent))                                                                     \
    X(cuEventSynchronize, (CUevent))

static struct {
#define X(name, args) CUresult(*name) args;
    DRIVER_FNS(X)
#undef X
} drv;

enum { DRV_UNTRIED = 0, DRV_OK, DRV_MISSING };
static int drv_state;
static char drv_why[256];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* mu held. */
static int driver_load(void)
{
    if (drv_state != DRV_UNTRIED) return drv_state == DRV_OK;
    drv_state = DRV_MISSING;
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(drv_why, sizeof drv_why, "the CUDA driver (libcuda.so.1) could not be loaded");
        return 0;
    }
#define X(name, args)                                                                              \
    if (!(*(void **)&drv.name = dlsym(lib, #name))) {                                              \
        snprintf(drv_why, sizeof drv_why, "the CUDA driver lacks %s", #name);                      \
        return 0;                                                                                  \
    }
    DRIVER_FNS(X)
#undef X
    if (drv.cuInit(0) != CUDA_SUCCESS) {
        snprintf(drv_why, sizeof drv_why, "cuInit failed");
        return 0;
    }
    drv_state = DRV_OK; /* the library stays loaded: its functions are used until exit */
    return 1;
}

static const char *cu_name(CUresult r)
{
    const char *n = NULL;
    if (drv.cuGetErrorName) drv.cuGetErrorName(r, &n);
    return n ? n : "unknown CUDA error";
}

/* ---- per-context rings --------------------------------------------------------------------- */

/* INFLIGHT: queued, result to emit; DISCARD: queued, result dropped (its GEMM failed) but the
 * slot is reused only after its event, so the device never writes into a reused slot; TAKEN,
 * FAILED: done with (retired when the tail reaches them). */
enum { SLOT_FREE = 0, SLOT_INFLIGHT, SLOT_DISCARD, SLOT_TAKEN, SLOT_FAILED };

typedef struct slot {
    mpt_gpu_tag tag;
    CUevent ev;
    int state;
    int held; /* emitted only after mpt_gpu_release(tag.info.seq) by tag.tid */
} slot;

#define MAX_CTX 16

typedef struct ring {
    CUcontext ctx;
    int broken; /* setting it up failed: the GPU path is off in this context */
    CUmodule mod;
    CUfunction fn, fn_sample;
    CUdeviceptr dev;     /* n x mpt_gpu_stats, device */
    mpt_gpu_stats *host; /* n x mpt_gpu_stats, pinned host */
    slot *slots;
    unsigned n;
    unsigned long long head, tail; /* launched, retired */
} ring;

static ring rings[MAX_CTX];
static int nrings;
static atomic_int nrings_pub; /* nrings, readable without mu: drains skip when no ring exists */
static _Atomic uint64_t lost;

/* The fatbin next to libmptrace.so (or MPTRACE_GPU_KERNELS), read whole. NULL with why. */
static void *read_fatbin(char *why, size_t whylen)
{
    char path[MPT_IPX_PATH_MAX];
    const char *env = mpt_ipx_config_get()->gpu_kernels;
    if (*env) {
        snprintf(path, sizeof path, "%s", env);
    } else {
        Dl_info info;
        if (!dladdr((void *)read_fatbin, &info) || !info.dli_fname) {
            snprintf(why, whylen, "cannot locate libmptrace.so to find its GPU kernels");
            return NULL;
        }
        const char *slash = strrchr(info.dli_fname, '/');
        int dir = slash ? (int)(slash - info.dli_fname) : 1;
        snprintf(path, sizeof path, "%.*s/mptrace-stats.fatbin", dir, slash ? info.dli_fname : ".");
    }
    FILE *f = fopen(path, "rbe");
    if (!f) {
        snprintf(why, whylen,
                 "GPU statistics kernels not found (%.200s: %s; build them with make gpu)", path,
                 strerror(errno));
        return NULL;
    }
    void *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf) snprintf(why, whylen, "cannot read %.200s", path);
    return buf;
}

/* Sets up r for the current context. mu held. */
static int ring_init(ring *r, unsigned n, char *why, size_t whylen)
{
    CUdevice dev = 0;
    char name[128] = "";
    drv.cuCtxGetDevice(&dev);
    drv.cuDeviceGetName(name, sizeof name, dev);
    /* simcuda's driver runs the C build of the kernel, unless a fatbin was named explicitly
     * (which it refuses: how the tests reach the file-reading path without a GPU) */
    int sim = strncmp(name, "simcuda", 7) == 0 && !mpt_ipx_config_get()->gpu_kernels[0];
    const void *image = sim ? mpt_gpu_sim_image() : read_fatbin(why, whylen);
    if (!image) return -1;
    CUresult c = drv.cuModuleLoadData(&r->mod, image);
    if (!sim) free((void *)image); /* the driver copies what it loads */
    if (c != CUDA_SUCCESS) {
        snprintf(why, whylen, "loading the GPU statistics kernels failed: %s", cu_name(c));
        return -1;
    }
    if ((c = drv.cuModuleGetFunction(&r->fn, r->mod, "mpt_gpu_stats_kernel")) != CUDA_SUCCESS ||
        (c = drv.cuModuleGetFunction(&r->fn_sample, r->mod, "mpt_gpu_sample_kernel")) !=
            CUDA_SUCCESS ||
        (c = drv.cuMemAlloc_v2(&r->dev, n * sizeof(mpt_gpu_stats))) != CUDA_SUCCESS ||
        (c = drv.cuMemHostAlloc((void **)&r->host, n * sizeof(mpt_gpu_stats), 0)) != CUDA_SUCCESS) {
        snprintf(why, whylen, "setting up the GPU statistics ring failed: %s", cu_name(c));
        return -1;
    }
    r->slots = calloc(n, sizeof *r->slots);
    if (!r->slots) {
        snprintf(why, whylen, "out of memory for the GPU statistics ring");
        return -1;
    }
    for (unsigned i = 0; i < n; i++)
        if ((c = drv.cuEventCreate(&r->slots[i].ev, CU_EVENT_DISABLE_TIMING)) != CUDA_SUCCESS) {
            snprintf(why, whylen, "cuEventCreate failed: %s", cu_name(c));
            return -1;
        }
    r->n = n;
    return 0;
}

/* The ring of the calling thread's current context, set up on first use. mu held. */
static ring *current(char *why, size_t whylen)
{
    if (!driver_load()) {
        snprintf(why, whylen, "%s", drv_why);
        return NULL;
    }
    CUcontext ctx = NULL;
    if (drv.cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx) {
        snprintf(why, whylen, "no CUDA context is current on this thread");
        return NULL;
    }
    for (int i = 0; i < nrings; i++)
        if (rings[i].ctx == ctx) {
            if (rings[i].broken) snprintf(why, whylen, "the GPU statistics ring is unusable");
            return rings[i].broken ? NULL : &rings[i];
        }
    if (nrings == MAX_CTX) {
        snprintf(why, whylen, "more than %d CUDA contexts", MAX_CTX);
        return NULL;
    }
    ring *r = &rings[nrings++];
    atomic_store(&nrings_pub, nrings);
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    if (ring_init(r, (unsigned)mpt_ipx_config_get()->gpu_ring, why, whylen) != 0) {
        r->broken = 1; /* what was allocated stays: a broken context is rare and final */
        return NULL;
    }
    return r;
}

/* ---- draining ------------------------------------------------------------------------------ */

static uint32_t my_tid(void)
{
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    return t ? t->tid : (uint32_t)syscall(SYS_gettid);
}

/* Retires slots from the tail while they are done. wait: 1 block on each, 2 also ignore holds
 * (exit). Returns 0, or -1 when the tail is held by the calling thread (it cannot wait). mu held.
 */
static int drain_ring(ring *r, int wait, uint32_t me)
{
    while (r->tail < r->head) {
        unsigned i = (unsigned)(r->tail % r->n);
        slot *s = &r->slots[i];
        if (s->state == SLOT_INFLIGHT || s->state == SLOT_DISCARD) {
            if (s->held && s->state == SLOT_INFLIGHT && wait < 2) {
                if (!wait) return 0;
                if (s->tag.tid == me) return -1;
                /* another thread is between its GEMM's launch and its record: let it finish */
                pthread_mutex_unlock(&mu);
                sched_yield();
                pthread_mutex_lock(&mu);
                continue;
            }
            CUresult q = wait ? drv.cuEventSynchronize(s->ev) : drv.cuEventQuery(s->ev);
            if (q == CUDA_ERROR_NOT_READY) return 0;
            if (q == CUDA_SUCCESS && s->state == SLOT_INFLIGHT)
                mpt_ipx_gpu_emit(&s->tag, &r->host[i]); /* SCALER: two floats at its start */
            else if (q != CUDA_SUCCESS)
                atomic_fetch_add(&lost, 1);
        }
        s->state = SLOT_FREE;
        s->held = 0;
        r->tail++;
    }
    return 0;
}

void mpt_gpu_drain(int wait)
{
    if (atomic_load_explicit(&nrings_pub, memory_order_relaxed) == 0) return;
    uint32_t me = my_tid();
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nrings; i++)
        if (!rings[i].broken) drain_ring(&rings[i], wait ? 2 : 0, me);
    pthread_mutex_unlock(&mu);
}

/* ---- launching ----------------------------------------------------------------------------- */

/* A free slot at the head of the current context's ring, waiting for the oldest when full.
 * Returns its index with *rp set, or -1 (why filled). mu held. */
static int slot_get(ring **rp, char *why, size_t whylen)
{
    ring *r = current(why, whylen);
    if (!r) return -1;
    uint32_t me = my_tid();
    while (r->head - r->tail == r->n) {
        if (drain_ring(r, 1, me) != 0) {
            snprintf(why, whylen, "the GPU statistics ring is too small for one GEMM");
            return -1;
        }
    }
    *rp = r;
    return (int)(r->head % r->n);
}

static uint64_t ticket_of(const ring *r, unsigned long long pos)
{
    return (uint64_t)pos << 4 | (uint64_t)(r - rings);
}

static void note_failure(const char *why)
{
    static atomic_int said;
    if (atomic_exchange(&said, 1)) return;
    mpt_trace_writer *w = mpt_ipx_writer(NULL);
    char msg[400];
    snprintf(msg, sizeof msg, "GPU statistics: %s; the operands concerned are not measured", why);
    if (w) mpt_trace_writer_message(w, MPT_MSG_WARN, msg);
}

/* A launch's three steps. job_begin locks mu and returns a free slot of the current context's
 * ring (index, *rp), or -1 with mu unlocked and the failure noted; the caller queues its work
 * behind the stream's, then job_commit (the slot in flight; returns its ticket) or job_fail
 * (what failed), both of which unlock. */
static int job_begin(ring **rp)
{
    char why[300];
    pthread_mutex_lock(&mu);
    int i = slot_get(rp, why, sizeof why);
    if (i < 0) {
        pthread_mutex_unlock(&mu);
        note_failure(why);
    }
    return i;
}

static uint64_t job_commit(ring *r, int i, const mpt_gpu_tag *tag, int held)
{
    slot *s = &r->slots[i];
    s->tag = *tag;
    s->state = SLOT_INFLIGHT;
    s->held = held;
    uint64_t ticket = ticket_of(r, r->head);
    r->head++;
    pthread_mutex_unlock(&mu);
    return ticket;
}

static int job_fail(const char *what, CUresult c)
{
    pthread_mutex_unlock(&mu);
    char why[300];
    snprintf(why, sizeof why, "queueing the %s failed: %s", what, cu_name(c));
    note_failure(why);
    return -1;
}

int mpt_gpu_launch_stats(const mpt_gpu_tag *tag, uint64_t stream, const mpt_ipx_operand *o,
                         int64_t batch, int full, int held, uint64_t *ticket)
{
    ring *r;
    int i = job_begin(&r);
    if (i < 0) return -1;
    CUstream st = (CUstream)(uintptr_t)stream;
    CUdeviceptr out_dev = r->dev + (CUdeviceptr)i * sizeof(mpt_gpu_stats);
    mpt_gpu_stats *out = (mpt_gpu_stats *)(uintptr_t)out_dev;
    const void *data = o->ptrs ? (const void *)o->ptrs : o->ptr;
    int dtype = (int)o->dtype;
    long long rows = o->rows, cols = o->cols, ld = o->ld, nb = batch, stride = o->stride;
    int layout =
        (o->order == MPT_ORDER_ROW ? MPT_GPU_ROW_MAJOR : 0) | (o->ptrs ? MPT_GPU_PTR_ARRAY : 0);
    void *params[] = {&data, &dtype, &rows, &cols, &ld, &nb, &stride, &layout, &full, &out};
    unsigned long long total = (unsigned long long)(rows * cols * nb);
    unsigned long long want = (total + 4095) / 4096; /* ~16 elements per thread */
    unsigned grid = (unsigned)(want < 1 ? 1 : want > 65535 ? 65535 : want);
    CUresult c;
    if ((c = drv.cuMemsetD8Async(out_dev, 0, sizeof(mpt_gpu_stats), st)) != CUDA_SUCCESS ||
        (c = drv.cuLaunchKernel(r->fn, grid, 1, 1, 256, 1, 1, 0, st, params, NULL)) !=
            CUDA_SUCCESS ||
        (c = drv.cuMemcpyDtoHAsync_v2(&r->host[i], out_dev, sizeof(mpt_gpu_stats), st)) !=
            CUDA_SUCCESS ||
        (c = drv.cuEventRecord(r->slots[i].ev, st)) != CUDA_SUCCESS)
        return job_fail("statistics kernel", c);
    *ticket = job_commit(r, i, tag, held);
    return 0;
}

int mpt_gpu_launch_scaler(const mpt_gpu_tag *tag, uint64_t stream, const void *scale,
                          const void *found_inf)
{
    ring *r;
    int i = job_begin(&r);
    if (i < 0) return -1;
    CUstream st = (CUstream)(uintptr_t)stream;
    float *h = (float *)(void *)&r->host[i];
    CUresult c;
    if ((c = drv.cuMemcpyDtoHAsync_v2(&h[0], (CUdeviceptr)(uintptr_t)scale, 4, st)) !=
            CUDA_SUCCESS ||
        (c = drv.cuMemcpyDtoHAsync_v2(&h[1], (CUdeviceptr)(uintptr_t)found_inf, 4, st)) !=
            CUDA_SUCCESS ||
        (c = drv.cuEventRecord(r->slots[i].ev, st)) != CUDA_SUCCESS)
        return job_fail("GradScaler copies", c);
    job_commit(r, i, tag, 0);
    return 0;
}

int mpt_gpu_launch_sample(const mpt_gpu_tag *tag, uint64_t stream, const mpt_gpu_sample_desc *desc)
{
    if (desc->n <= 0 || desc->n > MPT_GPU_SAMPLE_MAX) return -1;
    ring *r;
    int i = job_begin(&r);
    if (i < 0) return -1;
    CUstream st = (CUstream)(uintptr_t)stream;
    CUdeviceptr out_dev = r->dev + (CUdeviceptr)i * sizeof(mpt_gpu_stats);
    double *out = (double *)(uintptr_t)out_dev;
    void *params[] = {(void *)desc, &out}; /* the block is copied when the launch is queued */
    size_t bytes = 2 * (size_t)desc->n * sizeof(double);
    CUresult c;
    if ((c = drv.cuLaunchKernel(r->fn_sample, 1, 1, 1, MPT_GPU_SAMPLE_MAX, 1, 1, 0, st, params,
                                NULL)) != CUDA_SUCCESS ||
        (c = drv.cuMemcpyDtoHAsync_v2(&r->host[i], out_dev, bytes, st)) != CUDA_SUCCESS ||
        (c = drv.cuEventRecord(r->slots[i].ev, st)) != CUDA_SUCCESS)
        return job_fail("precision sample kernel", c);
    mpt_gpu_tag t = *tag;
    t.kind = MPT_GPU_JOB_SAMPLE;
    t.nsample = desc->n;
    job_commit(r, i, &t, 0); /* launched after its GEMM record: nothing to hold */
    return 0;
}

int mpt_gpu_take(uint64_t ticket, mpt_gpu_stats *out)
{
    unsigned idx = (unsigned)(ticket & 15);
    unsigned long long pos = ticket >> 4;
    int rc = -1;
    pthread_mutex_lock(&mu);
    if ((int)idx < nrings && pos >= rings[idx].tail && pos < rings[idx].head) {
        ring *r = &rings[idx];
        unsigned i = (unsigned)(pos % r->n);
        slot *s = &r->slots[i];
        if (s->state == SLOT_INFLIGHT) {
            CUresult q = drv.cuEventQuery(s->ev);
            if (q == CUDA_SUCCESS) {
                memcpy(out, &r->host[i], sizeof *out);
                s->state = SLOT_TAKEN;
                rc = 1;
            } else if (q == CUDA_ERROR_NOT_READY) {
                rc = 0;
            } else {
                s->state = SLOT_FAILED;
                atomic_fetch_add(&lost, 1);
            }
        }
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

void mpt_gpu_release(uint64_t seq, int keep)
{
    if (atomic_load_explicit(&nrings_pub, memory_order_relaxed) == 0) return;
    uint32_t me = my_tid();
    pthread_mutex_lock(&mu);
    for (int k = 0; k < nrings; k++) {
        ring *r = &rings[k];
        for (unsigned long long p = r->tail; p < r->head; p++) {
            slot *s = &r->slots[p % r->n];
            if (!s->held || s->tag.tid != me || s->tag.info.seq != seq) continue;
            s->held = 0;
            if (!keep && s->state == SLOT_INFLIGHT) s->state = SLOT_DISCARD;
        }
    }
    pthread_mutex_unlock(&mu);
}

int mpt_gpu_available(char *why, size_t whylen)
{
    pthread_mutex_lock(&mu);
    ring *r = current(why, whylen);
    pthread_mutex_unlock(&mu);
    return r != NULL;
}

uint64_t mpt_gpu_lost(void)
{
    return atomic_load(&lost);
}

void mpt_gpu_after_fork(void)
{
    pthread_mutex_init(&mu, NULL);
    /* The parent's contexts, memory and events mean nothing here; CUDA itself does not survive
     * fork, so the child gets no GPU path (its rings stay broken). */
    for (int i = 0; i < nrings; i++)
        rings[i].broken = 1;
    drv_state = DRV_MISSING;
    snprintf(drv_why, sizeof drv_why, "CUDA cannot be used in a forked child");
}
