/*
 * KERNEL and MEMORY records: what ran between two GEMMs. When a NaN reaches a GEMM through an
 * input, these are the suspects the report lists (a kernel that wrote it, a host-to-device copy
 * that brought it in). They share the GEMMs' sequence numbers, so order is exact.
 *
 * Kernel names are interned once per function address (cudaFuncGetName's answer, else the
 * host stub's ELF symbol, demangled).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "interposer/ipx.h"

/* Open addressing over NAME_PROBE slots from a function's home slot, so that the few thousand
 * distinct kernels of a framework each keep their name (direct mapping made colliding kernels
 * evict each other and be named again at every launch); only when all NAME_PROBE slots are
 * taken is the home slot overwritten. */
#define NAME_SLOTS 8192
#define NAME_PROBE 8

typedef struct name_slot {
    const void *func;
    uint32_t gen, id;
} name_slot;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static name_slot names[NAME_SLOTS];

static uint32_t kernel_name_id(mpt_trace_writer *w, uint32_t gen, const void *func,
                               const char *name)
{
    size_t h = (size_t)(((uintptr_t)func * 0x9e3779b97f4a7c15ull) >> 40) & (NAME_SLOTS - 1);
    pthread_mutex_lock(&mu);
    for (size_t p = 0; p < NAME_PROBE; p++) {
        name_slot *s = &names[(h + p) & (NAME_SLOTS - 1)];
        if (s->func == func && s->gen == gen && s->id) {
            uint32_t id = s->id;
            pthread_mutex_unlock(&mu);
            return id;
        }
        if (!s->func) break;
    }
    pthread_mutex_unlock(&mu);
    char buf[512];
    if ((!name || !*name) && mpt_ipx_cuda_func_name) name = mpt_ipx_cuda_func_name(func);
    if (!name || !*name) {
        if (mpt_ipx_symbolize(func, 0, buf, sizeof buf) == 0)
            snprintf(buf, sizeof buf, "kernel@%p", func);
        name = buf;
    }
    uint32_t id = mpt_trace_writer_intern(w, name);
    pthread_mutex_lock(&mu);
    name_slot *s = &names[h];
    for (size_t p = 0; p < NAME_PROBE; p++) {
        name_slot *c = &names[(h + p) & (NAME_SLOTS - 1)];
        if (!c->func || c->func == func) { /* a free slot, or this function's (older gen) */
            s = c;
            break;
        }
    }
    *s = (name_slot){func, gen, id};
    pthread_mutex_unlock(&mu);
    return id;
}

void mpt_ipx_record_kernel(const void *func, const char *name, uint64_t stream,
                           const uint32_t grid[3], const uint32_t block[3], uint32_t shared_bytes)
{
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    if (!cfg->kernels) return;
    uint32_t gen;
    mpt_trace_writer *w = mpt_ipx_writer(&gen);
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    if (!w || !t) return;
    mpt_trace_kernel k = {
        .seq = mpt_trace_writer_next_seq(w),
        .ts_ns = mpt_trace_now_ns(),
        .stream = stream,
        .step = mpt_ipx_steps_current(),
        .tid = t->tid,
        .name = kernel_name_id(w, gen, func, name),
        .grid = {grid[0], grid[1], grid[2]},
        .block = {block[0], block[1], block[2]},
        .shared_bytes = shared_bytes,
    };
    mpt_trace_writer_kernel(w, &k);
}

void mpt_ipx_record_memory(mpt_mem_kind kind, int async, uint64_t stream, const void *dst,
                           const void *src, uint64_t bytes)
{
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    if (!cfg->memory) return;
    mpt_trace_writer *w = mpt_ipx_writer(NULL);
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    if (!w || !t) return;
    mpt_trace_memory m = {
        .seq = mpt_trace_writer_next_seq(w),
        .ts_ns = mpt_trace_now_ns(),
        .stream = stream,
        .step = mpt_ipx_steps_current(),
        .tid = t->tid,
        .kind = kind,
        .flags = async ? MPT_MEM_ASYNC : 0,
        .dst = (uint64_t)(uintptr_t)dst,
        .src = (uint64_t)(uintptr_t)src,
        .bytes = bytes,
    };
    mpt_trace_writer_memory(w, &m);
}
