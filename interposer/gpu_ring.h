/*
 * The GPU statistics path's ring (interposer/gpu_ring.c): statistics kernels and small copies
 * queued on the program's own streams through the CUDA driver API, their results collected later
 * without synchronising those streams (docs/interposer.md, "Two statistics paths").
 *
 * The driver is dlopen'ed ("libcuda.so.1") on first use, never linked, so libmptrace.so loads
 * where there is none. Each CUDA context gets its own module, device buffer, pinned host buffer
 * and events, created lazily the first time a thread with that context current asks. All calls
 * are thread-safe (one mutex); none may be made from a signal handler.
 *
 * A job's result reaches the recorder in one of two ways:
 *  - mpt_gpu_take(ticket): the launching thread asks for its own result at once (never blocks);
 *    when it is there, the job is consumed and the drain will not emit it;
 *  - mpt_gpu_drain(): every finished job, in launch order per context, is handed to
 *    mpt_ipx_gpu_emit (recorder_gpu.c). A job launched `held` is not emitted before
 *    mpt_gpu_release(seq, 1) (its GEMM record must come first in the trace), except by the final
 *    drain at exit.
 * A full ring waits for its oldest job (back-pressure, not loss).
 */
#ifndef MPT_INTERPOSER_GPU_RING_H
#define MPT_INTERPOSER_GPU_RING_H

#include <stddef.h>
#include <stdint.h>

#include "core/trace_format.h"
#include "interposer/gpu_stats.h"

typedef enum mpt_gpu_job_kind {
    MPT_GPU_JOB_STATS = 0,  /* mpt_gpu_stats of one operand */
    MPT_GPU_JOB_SCALER = 1, /* GradScaler: float current_scale, float found_inf */
    MPT_GPU_JOB_SAMPLE = 2, /* precision sample: nsample (exact, stored) pairs of doubles */
} mpt_gpu_job_kind;

/* What a job measures, carried to its result. */
typedef struct mpt_gpu_tag {
    mpt_gpu_job_kind kind;
    mpt_trace_tensor_info info; /* STATS: seq, role, dtype, rows, cols, batch */
    mpt_stat_level level;       /* STATS: CHEAP or FULL */
    int64_t step;               /* the step it was launched in */
    uint64_t signature;         /* STATS: the GEMM's (absmax history) */
    int primary;                /* STATS: D's first pass: feeds the history and the alarm */
    int backward;               /* STATS: the layer is not recognisably forward */
    uint32_t tid;               /* the launching thread */
    int nsample;                /* SAMPLE: pairs in the result; info.dtype is D's */
} mpt_gpu_tag;

/* Drain callback (recorder_gpu.c): `result` is an mpt_gpu_stats (STATS), two floats
 * (SCALER) or tag->nsample pairs of doubles (SAMPLE). Called with the ring's lock held: it must not call back into the ring. */
void mpt_ipx_gpu_emit(const mpt_gpu_tag *tag, const void *result);

/*
 * 1 when the GPU path can run for the calling thread's current CUDA context (driver loaded,
 * context current, kernel module loaded, ring allocated); 0 otherwise, with the reason in why
 * (the first failure of each kind is what callers report). Rings get MPTRACE_GPU_RING slots.
 */
int mpt_gpu_available(char *why, size_t whylen);

/* Queues the statistics of one operand behind the work on `stream`. Returns 0 with *ticket
 * set, or -1 (the operand is then not measured: the ring could not take it). */
struct mpt_ipx_operand;
int mpt_gpu_launch_stats(const mpt_gpu_tag *tag, uint64_t stream, const struct mpt_ipx_operand *o,
                         int64_t batch, int full, int held, uint64_t *ticket);
/* Queues copies of two device floats (GradScaler's scale and found_inf) behind the work on
 * `stream`. Returns 0, or -1. */
int mpt_gpu_launch_scaler(const mpt_gpu_tag *tag, uint64_t stream, const void *scale,
                          const void *found_inf);
/* Queues the precision sample kernel (gpu_sample_kernel.cu) behind the work on `stream`; its
 * result reaches mpt_ipx_gpu_emit. Returns 0, or -1. */
struct mpt_gpu_sample_desc;
int mpt_gpu_launch_sample(const mpt_gpu_tag *tag, uint64_t stream,
                          const struct mpt_gpu_sample_desc *desc);
/* The result of the job `ticket` when it has finished: 1 (copied into *out, the job consumed),
 * 0 not yet, -1 no such job (failed, or already emitted). Never blocks. */
int mpt_gpu_take(uint64_t ticket, mpt_gpu_stats *out);
/* The calling thread's held jobs of GEMM `seq` may be emitted now (keep), or are dropped. */
void mpt_gpu_release(uint64_t seq, int keep);
/* Emits finished jobs; wait: every job, waiting for each (exit). Never from a signal handler. */
void mpt_gpu_drain(int wait);
/* Results lost so far (a job whose event reported an error). */
uint64_t mpt_gpu_lost(void);
/* In a fork child: forget every context (the child cannot use the parent's CUDA state). */
void mpt_gpu_after_fork(void);

/* The simcuda module image of the statistics kernel, compiled as C (gpu_sim_image.c). */
const void *mpt_gpu_sim_image(void);

#endif
