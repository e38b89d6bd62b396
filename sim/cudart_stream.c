/*
 * simcuda runtime: streams and events. All work runs synchronously in the calling thread when
 * it is issued, so a stream is only a validated handle with its flags and priority, every
 * query answers "done", and host callbacks run at once. Events record the wall clock
 * (CLOCK_MONOTONIC) when recorded, so cudaEventElapsedTime measures the CPU work between two
 * records, which is what a program timing its kernels wants to see.
 *
 * Handles are heap objects kept in a list of live ones, so that a destroyed or invented handle
 * gets cudaErrorInvalidResourceHandle rather than a crash.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "sim/cudart_internal.h"

typedef struct sim_stream {
    unsigned flags;
    int priority;
    unsigned long long id;
} sim_stream;

typedef struct sim_event {
    unsigned flags;
    int recorded;
    long long time_ns; /* CLOCK_MONOTONIC at the last record */
} sim_event;

/* Live handles of one kind. */
typedef struct handle_set {
    void **items;
    size_t count, cap;
} handle_set;

static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
static handle_set streams, events;
static unsigned long long next_stream_id = 3; /* 0..2 name the built-in streams */

static int set_add(handle_set *s, void *h)
{
    int rc = 0;
    pthread_mutex_lock(&set_lock);
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        void **n = realloc(s->items, cap * sizeof(*n));
        if (!n)
            rc = -1;
        else {
            s->items = n;
            s->cap = cap;
        }
    }
    if (rc == 0) s->items[s->count++] = h;
    pthread_mutex_unlock(&set_lock);
    return rc;
}

static int set_has(handle_set *s, const void *h)
{
    int found = 0;
    pthread_mutex_lock(&set_lock);
    for (size_t i = 0; i < s->count && !found; i++)
        found = s->items[i] == h;
    pthread_mutex_unlock(&set_lock);
    return found;
}

static int set_remove(handle_set *s, const void *h)
{
    int found = 0;
    pthread_mutex_lock(&set_lock);
    for (size_t i = 0; i < s->count; i++) {
        if (s->items[i] == h) {
            s->items[i] = s->items[--s->count];
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&set_lock);
    return found;
}

static void set_clear(handle_set *s)
{
    pthread_mutex_lock(&set_lock);
    for (size_t i = 0; i < s->count; i++)
        free(s->items[i]);
    free(s->items);
    s->items = NULL;
    s->count = s->cap = 0;
    pthread_mutex_unlock(&set_lock);
}

int sim_stream_valid(cudaStream_t s)
{
    return s == NULL || s == cudaStreamLegacy || s == cudaStreamPerThread || set_has(&streams, s);
}

void sim_stream_reset(void)
{
    set_clear(&streams);
    set_clear(&events);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- streams ---------------------------------------------------------------------------- */

cudaError_t cudaStreamCreateWithPriority(cudaStream_t *pStream, unsigned int flags, int priority)
{
    if (!pStream || (flags & ~(unsigned)cudaStreamNonBlocking))
        return sim_rt_error(cudaErrorInvalidValue);
    sim_stream *s = calloc(1, sizeof(*s));
    if (!s) return sim_rt_error(cudaErrorMemoryAllocation);
    int least, greatest;
    cudaDeviceGetStreamPriorityRange(&least, &greatest);
    s->flags = flags;
    s->priority = priority > least ? least : priority < greatest ? greatest : priority;
    s->id = __atomic_fetch_add(&next_stream_id, 1, __ATOMIC_RELAXED);
    if (set_add(&streams, s) != 0) {
        free(s);
        return sim_rt_error(cudaErrorMemoryAllocation);
    }
    *pStream = (cudaStream_t)s;
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    return cudaStreamCreateWithPriority(pStream, flags, 0);
}

cudaError_t cudaStreamCreate(cudaStream_t *pStream)
{
    return cudaStreamCreateWithPriority(pStream, cudaStreamDefault, 0);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    if (!stream || stream == cudaStreamLegacy || stream == cudaStreamPerThread ||
        !set_remove(&streams, stream))
        return sim_rt_error(cudaErrorInvalidResourceHandle);
    free(stream);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    return sim_rt_error(sim_stream_valid(stream) ? cudaSuccess : cudaErrorInvalidResourceHandle);
}

cudaError_t cudaStreamSynchronize_ptsz(cudaStream_t stream)
{
    return cudaStreamSynchronize(stream);
}

cudaError_t cudaStreamQuery(cudaStream_t stream)
{
    return cudaStreamSynchronize(stream);
}

cudaError_t cudaStreamQuery_ptsz(cudaStream_t stream)
{
    return cudaStreamQuery(stream);
}

cudaError_t cudaStreamGetFlags(cudaStream_t hStream, unsigned int *flags)
{
    if (!flags) return sim_rt_error(cudaErrorInvalidValue);
    if (!sim_stream_valid(hStream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    sim_stream *s = (sim_stream *)hStream;
    *flags = hStream == NULL || hStream == cudaStreamLegacy || hStream == cudaStreamPerThread
                 ? cudaStreamDefault
                 : s->flags;
    return cudaSuccess;
}

cudaError_t cudaStreamGetFlags_ptsz(cudaStream_t hStream, unsigned int *flags)
{
    return cudaStreamGetFlags(hStream, flags);
}

cudaError_t cudaStreamGetPriority(cudaStream_t hStream, int *priority)
{
    if (!priority) return sim_rt_error(cudaErrorInvalidValue);
    if (!sim_stream_valid(hStream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    int builtin = hStream == NULL || hStream == cudaStreamLegacy || hStream == cudaStreamPerThread;
    *priority = builtin ? 0 : ((sim_stream *)hStream)->priority;
    return cudaSuccess;
}

cudaError_t cudaStreamGetPriority_ptsz(cudaStream_t hStream, int *priority)
{
    return cudaStreamGetPriority(hStream, priority);
}

cudaError_t cudaStreamGetId(cudaStream_t hStream, unsigned long long *streamId)
{
    if (!streamId) return sim_rt_error(cudaErrorInvalidValue);
    if (!sim_stream_valid(hStream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    if (hStream == NULL || hStream == cudaStreamLegacy)
        *streamId = 1;
    else if (hStream == cudaStreamPerThread)
        *streamId = 2;
    else
        *streamId = ((sim_stream *)hStream)->id;
    return cudaSuccess;
}

cudaError_t cudaStreamGetId_ptsz(cudaStream_t hStream, unsigned long long *streamId)
{
    return cudaStreamGetId(hStream, streamId);
}

cudaError_t cudaStreamGetDevice(cudaStream_t hStream, int *device)
{
    if (!device) return sim_rt_error(cudaErrorInvalidValue);
    if (!sim_stream_valid(hStream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaStreamGetDevice_ptsz(cudaStream_t hStream, int *device)
{
    return cudaStreamGetDevice(hStream, device);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags)
{
    if (!sim_stream_valid(stream) || !set_has(&events, event))
        return sim_rt_error(cudaErrorInvalidResourceHandle);
    if (flags & ~(unsigned)cudaEventWaitExternal) return sim_rt_error(cudaErrorInvalidValue);
    return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent_ptsz(cudaStream_t stream, cudaEvent_t event, unsigned int flags)
{
    return cudaStreamWaitEvent(stream, event, flags);
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus *pCaptureStatus)
{
    if (!pCaptureStatus) return sim_rt_error(cudaErrorInvalidValue);
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    *pCaptureStatus = cudaStreamCaptureStatusNone; /* capture is not supported: never capturing */
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing_ptsz(cudaStream_t stream,
                                       enum cudaStreamCaptureStatus *pCaptureStatus)
{
    return cudaStreamIsCapturing(stream, pCaptureStatus);
}

cudaError_t cudaStreamAddCallback(cudaStream_t stream, cudaStreamCallback_t callback,
                                  void *userData, unsigned int flags)
{
    if (!callback || flags != 0) return sim_rt_error(cudaErrorInvalidValue);
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    callback(stream, cudaSuccess, userData); /* everything before it has already completed */
    return cudaSuccess;
}

cudaError_t cudaStreamAddCallback_ptsz(cudaStream_t stream, cudaStreamCallback_t callback,
                                       void *userData, unsigned int flags)
{
    return cudaStreamAddCallback(stream, callback, userData, flags);
}

cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void *userData)
{
    if (!fn) return sim_rt_error(cudaErrorInvalidValue);
    if (!sim_stream_valid(stream)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    fn(userData);
    return cudaSuccess;
}

cudaError_t cudaLaunchHostFunc_ptsz(cudaStream_t stream, cudaHostFn_t fn, void *userData)
{
    return cudaLaunchHostFunc(stream, fn, userData);
}

/* ---- events ------------------------------------------------------------------------------ */

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
    unsigned known = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
    if (!event || (flags & ~known) ||
        ((flags & cudaEventInterprocess) && !(flags & cudaEventDisableTiming)))
        return sim_rt_error(cudaErrorInvalidValue);
    sim_event *e = calloc(1, sizeof(*e));
    if (!e) return sim_rt_error(cudaErrorMemoryAllocation);
    e->flags = flags;
    if (set_add(&events, e) != 0) {
        free(e);
        return sim_rt_error(cudaErrorMemoryAllocation);
    }
    *event = (cudaEvent_t)e;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *event)
{
    return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    if (!event || !set_remove(&events, event)) return sim_rt_error(cudaErrorInvalidResourceHandle);
    free(event);
    return cudaSuccess;
}

cudaError_t cudaEventRecordWithFlags(cudaEvent_t event, cudaStream_t stream, unsigned int flags)
{
    if (!set_has(&events, event) || !sim_stream_valid(stream))
        return sim_rt_error(cudaErrorInvalidResourceHandle);
    if (flags & ~(unsigned)cudaEventRecordExternal) return sim_rt_error(cudaErrorInvalidValue);
    sim_event *e = (sim_event *)event;
    e->time_ns = now_ns();
    e->recorded = 1;
    return cudaSuccess;
}

cudaError_t cudaEventRecordWithFlags_ptsz(cudaEvent_t event, cudaStream_t stream,
                                          unsigned int flags)
{
    return cudaEventRecordWithFlags(event, stream, flags);
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    return cudaEventRecordWithFlags(event, stream, 0);
}

cudaError_t cudaEventRecord_ptsz(cudaEvent_t event, cudaStream_t stream)
{
    return cudaEventRecord(event, stream);
}

cudaError_t cudaEventQuery(cudaEvent_t event)
{
    return sim_rt_error(set_has(&events, event) ? cudaSuccess : cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    return cudaEventQuery(event);
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    if (!ms) return sim_rt_error(cudaErrorInvalidValue);
    if (!set_has(&events, start) || !set_has(&events, end))
        return sim_rt_error(cudaErrorInvalidResourceHandle);
    const sim_event *a = (const sim_event *)start, *b = (const sim_event *)end;
    if (!a->recorded || !b->recorded || (a->flags & cudaEventDisableTiming) ||
        (b->flags & cudaEventDisableTiming))
        return sim_rt_error(cudaErrorInvalidResourceHandle);
    *ms = (float)((double)(b->time_ns - a->time_ns) / 1e6);
    return cudaSuccess;
}
