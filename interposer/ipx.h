/*
 * libmptrace.so, inside: the interfaces between the interposer's modules (docs/interposer.md).
 *
 * The data path of one intercepted GEMM:
 *   hooks_cublas.c / hooks_cublaslt.c   decode the call into an mpt_ipx_gemm (no CUDA types
 *                                        past this point), call the real function between
 *   recorder.c                           mpt_ipx_gemm_begin() and mpt_ipx_gemm_end(), which
 *                                        decide the statistics level (cost policy), measure
 *                                        (operand.c, sampling.c) and write the records;
 *   recorder_gpu.c, gpu_ring.c           the same when memory is not host-readable: the
 *                                        statistics kernel queued on the GEMM's stream through
 *                                        the driver API, results drained later;
 *   nvtx_injection.c, nvtx_state.c      per-thread NVTX range path (the layer), marks (scalars);
 *   layer_names.c                        call-site names from the ELF symbol tables (libelf);
 *   step_detect.c                        which training step a call belongs to;
 *   session.c                            the trace writer (opened lazily), exit, fatal signals,
 *                                        fork, and degrading to pass-through.
 *
 * Everything here is hidden: libmptrace.map exports only the intercepted CUDA symbols and the
 * two injection entry points (InitializeInjectionNvtx2 for NVTX, InitializeInjection for CUPTI,
 * cupti_injection.c), and the objects are compiled with -fvisibility=hidden. The pure
 * modules (everything but the hooks) are also linked into the unit-test runner.
 *
 * Rules every module keeps (ARCHITECTURE.md, decision 6): never exit, never write stdout, never
 * crash the host; on an internal failure call mpt_ipx_degrade() and let the program go on.
 */
#ifndef MPT_INTERPOSER_IPX_H
#define MPT_INTERPOSER_IPX_H

#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fpformat.h"
#include "core/tensor_stats.h"
#include "core/trace_format.h"
#include "core/trace_writer.h"

#define MPT_IPX_EXPORT __attribute__((visibility("default")))

/* ---- configuration (config.c): MPTRACE_* environment variables, set by `mptrace run` -------- */

#define MPT_IPX_PATH_MAX 4096

typedef struct mpt_ipx_config {
    int disabled;           /* MPTRACE_DISABLE=1: pure pass-through, no trace file */
    int stats;              /* MPTRACE_STATS=0: GEMM records only, no statistics */
    int full;               /* MPTRACE_FULL=1: full statistics on every GEMM */
    int every;              /* MPTRACE_EVERY: full statistics every N steps; 0 never */
    int inputs;             /* MPTRACE_NO_INPUTS=1 clears it: no A/B/C/bias statistics */
    int sample;             /* MPTRACE_SAMPLE: outputs recomputed per full GEMM; 0 off */
    uint64_t seed;          /* MPTRACE_SEED: seeds the precision sample */
    double anomaly_factor;  /* MPTRACE_ANOMALY_FACTOR: absmax jump that triggers full stats */
    int has_layers;         /* MPTRACE_LAYERS given */
    regex_t layers;         /* POSIX ERE: statistics only for layers matching it */
    regex_t step_re;        /* MPTRACE_STEP_PATTERN (case-insensitive ERE): step ranges */
    int kernels;            /* MPTRACE_KERNELS=0 clears it: no KERNEL records */
    int memory;             /* MPTRACE_MEMORY=0 clears it: no MEMORY records */
    int callsite_depth;     /* MPTRACE_CALLSITE_DEPTH: frames in a call-site layer name (1..8) */
    int host_readable;      /* MPTRACE_HOST_READABLE: -1 auto (simcuda), 0 never, 1 always */
    int gpu_stats;          /* MPTRACE_GPU_STATS: -1 auto, 0 never, 1 wanted (unreadable memory:
                             * statistics by the GPU kernel through the driver, gpu_ring.c) */
    int gpu_ring;           /* MPTRACE_GPU_RING: result slots per CUDA context (2..65536) */
    int quiet;              /* MPTRACE_QUIET=1: no stderr line even when degrading */
    long root_pid;          /* MPTRACE_ROOT_PID: the process the launcher started, 0 unknown */
    char output[MPT_IPX_PATH_MAX];   /* MPTRACE_OUTPUT: trace path ("" = derived default) */
    char manifest[MPT_IPX_PATH_MAX]; /* MPTRACE_MANIFEST: file listing every trace written */
    char gpu_kernels[MPT_IPX_PATH_MAX]; /* MPTRACE_GPU_KERNELS: the fatbin, "" next to us */
} mpt_ipx_config;

#define MPT_IPX_DEFAULT_EVERY 10
#define MPT_IPX_DEFAULT_SAMPLE 64
#define MPT_IPX_DEFAULT_ANOMALY 64.0
#define MPT_IPX_DEFAULT_GPU_RING 1024
#define MPT_IPX_DEFAULT_STEP_PATTERN "^(train[ _-]?step|step|iteration|iter)([ _:#=-]*[0-9]+)?$"

typedef const char *(*mpt_ipx_getenv_fn)(const char *name);

/* Fills c from the environment (getenv_fn: getenv, or a table in tests). Returns 0, or -1 with a
 * message naming the variable when one is malformed (c then holds the defaults for it). */
int mpt_ipx_config_parse(mpt_ipx_config *c, mpt_ipx_getenv_fn getenv_fn, char *err, size_t errlen);
void mpt_ipx_config_free(mpt_ipx_config *c);
/* The process's configuration, parsed once (thread-safe). */
const mpt_ipx_config *mpt_ipx_config_get(void);

/* ---- session (session.c) -------------------------------------------------------------------- */

/*
 * The writer, opened on first use (the first GEMM, NVTX event or CUDA call worth recording), so
 * a process that never touches CUDA leaves no file. NULL when tracing is off or degraded.
 * `gen` (optional) receives the writer's generation: string ids cached by callers are valid
 * only for the generation they were interned in (a fork child gets a new writer).
 */
mpt_trace_writer *mpt_ipx_writer(uint32_t *gen);
/* Nonzero while the interposer records (not disabled, not degraded). Cheap. */
int mpt_ipx_active(void);
/* Stops tracing for good: one "mptrace: <why>; ..." line on stderr (once per process), a
 * MESSAGE record if the writer still works, then pass-through. Thread-safe. */
void mpt_ipx_degrade(const char *why);
/* Called at each step boundary: flush, and re-arm the fatal-signal handlers if the program
 * replaced them since. */
void mpt_ipx_step_boundary(void);
/* Flushes when the last flush is more than a second old (programs without steps still reach
 * a live reader, and lose at most a second to SIGKILL). */
void mpt_ipx_maybe_flush(uint64_t now_ns);
/* Whether the host may read device pointers (simcuda: device memory is host memory). */
int mpt_ipx_host_readable(void);

/* Trace file name for this process (pure, for tests): `base` as given when this is the root
 * process and no rank is known; else with ".rankN" (a rank variable set) or ".pidN" inserted
 * before a trailing ".mpt" (appended otherwise). `base` "" means "mptrace-PROG-PID.mpt". */
int mpt_ipx_trace_name(char *out, size_t outlen, const char *base, const char *prog, long pid,
                       long root_pid, int rank);
/* Rank from RANK, OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID, LOCAL_RANK; -1 if none.
 * *local and *world likewise (-1 unknown). */
int mpt_ipx_rank_from_env(mpt_ipx_getenv_fn getenv_fn, int *local, int *world);

/* ---- reentrancy guard and thread state ------------------------------------------------------ */

#define MPT_IPX_NVTX_DEPTH 64   /* nesting levels whose names are kept */
#define MPT_IPX_PATH_LEN 1024   /* bytes of a layer path */

typedef struct mpt_ipx_thread {
    uint32_t tid;                            /* gettid() */
    int guard;                               /* >0 inside an intercepted call */
    int depth;                               /* NVTX default-domain pushes outstanding */
    int step_depth;                          /* depth of this thread's step range, -1 none */
    uint16_t step_path_len;                  /* path length when the step range was pushed */
    uint16_t len_at[MPT_IPX_NVTX_DEPTH + 1]; /* path length before each level */
    uint32_t path_version;                   /* bumped on every push/pop */
    char path[MPT_IPX_PATH_LEN];             /* ranges inside the step range, '/'-joined */
    uint32_t cached_layer, cached_version, cached_gen; /* interned id of `path` */
    uint32_t cached_hash;                    /* its hash, for GEMM signatures */
    int cached_backward, cached_selected;    /* not forward; passes MPTRACE_LAYERS */
    struct mpt_ipx_id_cache {
        const void *key; /* a return address, or an API name's address */
        uint32_t gen, id;
    } ids[64]; /* string ids of call sites and API names, per writer generation */
} mpt_ipx_thread;

/* The calling thread's state (allocated on first use; NULL only when memory is short). */
mpt_ipx_thread *mpt_ipx_thread_get(void);
/* In a fork child: the thread's id changed. */
void mpt_ipx_thread_after_fork(void);

/* Enter an intercepted call: returns 1 when this call should be recorded (tracing active and
 * not nested inside another intercepted call on this thread), 0 for pass-through. A call that
 * returned 1 must be paired with mpt_ipx_leave(). */
int mpt_ipx_enter(mpt_ipx_thread **t);
void mpt_ipx_leave(mpt_ipx_thread *t);

/* ---- NVTX state (nvtx_state.c) ---------------------------------------------------------------- */

/* Default-domain push/pop on the calling thread (name may be NULL: an unnamed range). */
void mpt_ipx_nvtx_push(const char *name, uint32_t domain_id);
void mpt_ipx_nvtx_pop(uint32_t domain_id);
/* A mark: written as a RANGE record; "mptrace:key=value ..." also becomes SCALAR records. */
void mpt_ipx_nvtx_mark(const char *text, uint32_t domain_id);
/* Start/end ranges (may end on another thread); step ranges are recognised here too. */
void mpt_ipx_nvtx_start(const char *name, uint64_t id, uint32_t domain_id);
void mpt_ipx_nvtx_end(uint64_t id, uint32_t domain_id);

/* The calling thread's layer path: its ranges inside the step range ("" when none). */
const char *mpt_ipx_layer_path(const mpt_ipx_thread *t);
/* A small id for a named NVTX domain (records name it by string). */
uint32_t mpt_ipx_nvtx_domain_register(const char *name);

/* One parsed "key=value" of a mark. */
typedef struct mpt_ipx_kv {
    char key[48];
    double value;
} mpt_ipx_kv;
/* Parses "mptrace:k=v k=v ..." (pure). Returns the number of pairs stored (values that are not
 * numbers are dropped), or -1 when text does not start with "mptrace:". */
int mpt_ipx_mark_parse(const char *text, mpt_ipx_kv *out, int max);

/* ---- steps (step_detect.c) ------------------------------------------------------------------- */

typedef enum mpt_ipx_step_source {
    MPT_IPX_STEPS_NONE = 0, /* nothing seen yet: automatic detection runs */
    MPT_IPX_STEPS_AUTO,     /* locked onto a repeating GEMM sequence */
    MPT_IPX_STEPS_MARK,     /* mptrace:step=N marks */
    MPT_IPX_STEPS_RANGE     /* NVTX ranges matching the step pattern */
} mpt_ipx_step_source;

/* The step a GEMM belongs to and its ordinal within that step. */
typedef struct mpt_ipx_step_ctx {
    int64_t step;     /* -1 unknown */
    uint32_t ordinal; /* GEMMs before it in the step (or since the start while unknown) */
} mpt_ipx_step_ctx;

/* Step number parsed from a range name matching the pattern, or -1 when it has none; 0 when
 * the name is not a step range at all is signalled by returning 0 (pure helper for tests). */
int mpt_ipx_step_match(const regex_t *re, const char *name, int64_t *number);

void mpt_ipx_steps_range_begin(const char *name, int64_t number, uint32_t tid);
void mpt_ipx_steps_range_end(uint32_t tid);
/* A mark carried step=N: in mark mode, it ends step N. */
void mpt_ipx_steps_mark(int64_t n, uint32_t tid);
/* Current step for a scalar (mark without step=). */
int64_t mpt_ipx_steps_current(void);
/* Called for every GEMM before it runs: its step and ordinal (feeds automatic detection with the
 * GEMM's signature). */
mpt_ipx_step_ctx mpt_ipx_steps_on_gemm(uint64_t signature, uint32_t tid);
/* A synchronisation point (device/stream sync, device-to-host copy): a token for detection. */
void mpt_ipx_steps_on_sync(uint32_t tid);
/* The cheap pass of a GEMM in `step` saw a non-finite output (backward: 1 when the layer is not
 * recognisably forward). Remembered until the step ends, then written as an inferred skip. */
void mpt_ipx_steps_note_nonfinite(int64_t step, int backward);
mpt_ipx_step_source mpt_ipx_steps_source(void);
/* At exit: the step in progress ends with the program. */
void mpt_ipx_steps_finish(uint32_t tid);
/* Forget everything (fork child, tests). */
void mpt_ipx_steps_reset(void);

/* Automatic detection, pure (tests drive it directly). */
typedef struct mpt_ipx_autostep mpt_ipx_autostep;
mpt_ipx_autostep *mpt_ipx_autostep_new(size_t max_history);
void mpt_ipx_autostep_free(mpt_ipx_autostep *a);
/* Feeds one token; returns 1 when a new step begins AT this token (the first after lock is the
 * step numbered *number), 0 otherwise. *locked tells whether a period was found. */
int mpt_ipx_autostep_feed(mpt_ipx_autostep *a, uint64_t token, int64_t *number, int *locked);
/* The period locked onto (tokens per step), 0 while none. */
size_t mpt_ipx_autostep_period(const mpt_ipx_autostep *a);
#define MPT_IPX_SYNC_TOKEN 0x5359e3c0ffee0001ull

/* ---- layer names (layer_names.c) ------------------------------------------------------------- */

/* "function+0xOFF" (or "object+0xOFF") for a code address, resolved with libelf against the full
 * symbol table of the object holding it (static functions too), C++ names demangled. Returns
 * the length written, 0 when nothing is known. Cached; thread-safe. */
size_t mpt_ipx_symbolize(const void *addr, int with_offset, char *out, size_t outlen);
/* The call path of the program's own code leading to this call, outermost first, '/'-joined,
 * up to `depth` frames, skipping frames in libmptrace, the CUDA libraries and libc. */
size_t mpt_ipx_callpath(int depth, char *out, size_t outlen);
/* Drop every cache (fork child, tests). */
void mpt_ipx_symbols_reset(void);

/* ---- one GEMM (recorder.c) -------------------------------------------------------------------- */

/* One operand as stored: element (r, c) of batch b at
 *   base_b + (order == COL ? r + c * ld : r * ld + c) * size,
 * base_b = ptrs ? ptrs[b] : ptr + b * stride * size. */
typedef struct mpt_ipx_operand {
    const void *ptr;
    const void *const *ptrs; /* pointer-array batches (array in device memory) */
    mpt_dtype dtype;         /* MPT_DT_UNKNOWN for types not analysed (int8, complex) */
    mpt_order order;
    int64_t rows, cols;      /* as stored, before any transpose */
    int64_t ld, stride;      /* elements */
} mpt_ipx_operand;

typedef struct mpt_ipx_gemm {
    const char *api;         /* entry point name (static string) */
    uint64_t stream;
    int transa, transb;      /* 0 N, 1 T, 2 C */
    int64_t m, n, k, batch;
    mpt_ipx_operand a, b, c, d;
    int c_is_d;              /* D overwrote C (every cuBLAS GEMM, Lt when C == D) */
    const void *bias;        /* epilogue bias (length m), NULL if none */
    mpt_dtype bias_dtype;
    uint32_t compute_raw;
    mpt_compute_type compute;
    uint32_t epilogue_raw;
    mpt_epilogue epilogue;
    int tf32_math;           /* the handle allowed TF32 */
    const void *alpha, *beta;
    mpt_dtype scale_dtype;   /* type alpha/beta point to: F32, F64 or F16 */
    int scalars_on_device;   /* device pointer mode: alpha/beta not readable on a GPU */
    int no_sample;           /* the precision sample cannot recompute this product */
    int check;               /* mpt_ipx_gemm_check(): 0 readable (if memory is host-readable),
                              * 1 a type mptrace does not analyse, -1 arguments it cannot trust */
    const void *return_address; /* in the caller of the intercepted entry point */
} mpt_ipx_gemm;

/* What begin() decided, carried to end(). */
typedef struct mpt_ipx_pending {
    uint64_t seq, ts;
    uint32_t tid;
    mpt_ipx_step_ctx sc;
    uint32_t layer, callsite, api;
    mpt_stat_level level;
    mpt_skip_reason skip;
    double alpha, beta;      /* read before the call; NaN when not readable */
    int have_c_stats;        /* C (beta != 0) measured before the call */
    mpt_stat_level c_level;
    mpt_cheap_stats c_cheap;
    mpt_stats *c_full;       /* heap, level FULL */
    int sample_n;            /* precision sample planned */
    struct mpt_ipx_sample *sample; /* positions and C values before the call (heap) */
    mpt_trace_writer *w;
    uint32_t gen;
    int backward;            /* the layer is not recognisably forward */
    uint64_t signature;      /* shapes, types, layer: keys the absmax history */
    int gpu;                 /* measured by the GPU path (recorder_gpu.c), not the host reducer */
} mpt_ipx_pending;

/* Before the real call: step, layer, policy, and what must be read before C is overwritten.
 * Returns 0 to record, -1 to pass through without recording (tracing off). */
int mpt_ipx_gemm_begin(mpt_ipx_thread *t, const mpt_ipx_gemm *g, mpt_ipx_pending *p);
/* After the real call (ok: it returned success): measure and write the records. */
void mpt_ipx_gemm_end(mpt_ipx_thread *t, const mpt_ipx_gemm *g, mpt_ipx_pending *p, int ok);
/* Forget per-layer history (fork child, tests). */
void mpt_ipx_recorder_reset(void);
/* Writes p's GEMM record with `level` (the most any operand got; NONE: p->skip says why). */
int mpt_ipx_write_gemm(const mpt_ipx_gemm *g, const mpt_ipx_pending *p, mpt_stat_level level);

/* The GEMM's signature for step detection (shapes, types, layer). */
uint64_t mpt_ipx_gemm_signature(const mpt_ipx_gemm *g, uint32_t layer);

/* The cost policy's alarm (recorder.c), shared by both statistics paths: records absmax for a
 * GEMM signature and returns 1 when it jumped MPTRACE_ANOMALY_FACTOR times above that GEMM's
 * history; raising the alarm makes every GEMM of `step` full until it ends. */
int mpt_ipx_alarm_note(uint64_t signature, double absmax);
void mpt_ipx_alarm_raise(int64_t step);

/* ---- the GPU statistics path (recorder_gpu.c; the ring is gpu_ring.c) ---------------------- */

/* 1 when this GEMM's statistics can be taken by the GPU path (memory not host-readable, path
 * allowed by MPTRACE_GPU_STATS, ring usable in the current context). The first time it is not
 * although wanted, says why once (stderr and a MESSAGE record). */
int mpt_ipx_gpu_path(void);
/* begin(): queue C's statistics before the library overwrites it (held until end()). */
void mpt_ipx_gpu_begin_c(const mpt_ipx_gemm *g, mpt_ipx_pending *p, int full);
/* end() on the GPU path: queue D (and, when full, A, B and the bias), write the records. */
void mpt_ipx_gpu_end(mpt_ipx_thread *t, const mpt_ipx_gemm *g, mpt_ipx_pending *p, int ok);
/* GradScaler's amp_update_scale kernel is about to run on `stream` with these arguments:
 * record the scale it uses and whether it skips (found_inf), for the current step. */
void mpt_ipx_scaler_update(uint64_t stream, const float *current_scale, const float *found_inf);

/* ---- operands (operand.c) --------------------------------------------------------------------- */

/* Element bytes of one operand's batch b, or NULL. */
const unsigned char *mpt_ipx_operand_base(const mpt_ipx_operand *o, int64_t b);
/* Cheap statistics of every element. Returns 0, or -1 when the operand cannot be walked. */
int mpt_ipx_operand_cheap(const mpt_ipx_operand *o, int64_t batch, mpt_cheap_stats *c);
/* Full statistics of every element. */
int mpt_ipx_operand_full(const mpt_ipx_operand *o, int64_t batch, mpt_stats *s);
/* Value of element (r, c) of batch b as double. */
double mpt_ipx_operand_load(const mpt_ipx_operand *o, int64_t b, int64_t r, int64_t c);
/* Sanity of a decoded GEMM: sizes, leading dimensions, pointers, dtypes (never reads memory). */
int mpt_ipx_gemm_check(const mpt_ipx_gemm *g);

/* ---- precision sample (sampling.c) ------------------------------------------------------------ */

typedef struct mpt_ipx_sample {
    int n;
    int64_t *b, *i, *j; /* positions in D (batch, row, column) */
    double *c_old;      /* C at those positions before the call (beta != 0) */
} mpt_ipx_sample;

/* Picks min(k, m*n*batch) distinct output positions, deterministically from (seed, seq); reads
 * C there when beta != 0. NULL when memory is short. */
mpt_ipx_sample *mpt_ipx_sample_plan(const mpt_ipx_gemm *g, int k, uint64_t seed, uint64_t seq,
                                    double beta);
void mpt_ipx_sample_free(mpt_ipx_sample *s);
/* The exact (double, compensated) value of D at sample position idx, from the actual inputs:
 * epilogue(alpha * sum_l op(A)(i,l) op(B)(l,j) + beta * C_old + bias[i]). */
double mpt_ipx_sample_exact(const mpt_ipx_gemm *g, const mpt_ipx_sample *s, int idx, double alpha,
                            double beta);
/* The PRECISION summary of n (exact, stored) pairs of D's type: both statistics paths use it
 * (the GPU path's pairs come from gpu_sample_kernel.cu). Fills p (seq not set). */
void mpt_ipx_sample_summary(mpt_dtype dtype, const double *pairs, int n, mpt_trace_precision *p);
/* Compares the stored outputs with the exact values: fills p (seq not set). */
void mpt_ipx_sample_measure(const mpt_ipx_gemm *g, const mpt_ipx_sample *s, double alpha,
                            double beta, mpt_trace_precision *p);
/* One step of the 64-bit SplitMix generator (also used to pick samples). */
uint64_t mpt_ipx_splitmix(uint64_t *state);

/* ---- the real functions (real.c) --------------------------------------------------------------- */

/* The definition of `name` (symbol version `version`) that ours hides, or NULL. */
void *mpt_ipx_real_resolve(const char *name, const char *version, const char *soname);

/* One hook file's real functions: slots[i] is names[i] as `lib` (soname, which is also the
 * symbol version in CUDA 13's libraries) defines it. The first miss resolves the whole table
 * once (then warms the unwinder if `warm`); a slot still NULL is retried on each call, since the
 * library may be dlopen'ed later. */
typedef struct mpt_ipx_real_table {
    const char *const *names;
    void *_Atomic *slots;
    int count;
    const char *lib;
    int warm;
    pthread_mutex_t lock; /* guards the first resolution */
    atomic_int resolved;
} mpt_ipx_real_table;

void *mpt_ipx_real_get_slow(mpt_ipx_real_table *t, int i);
/* The real function of slot i: one atomic load once resolved (the per-call path). */
static inline void *mpt_ipx_real_get(mpt_ipx_real_table *t, int i)
{
    void *p = atomic_load_explicit(&t->slots[i], memory_order_acquire);
    return p ? p : mpt_ipx_real_get_slow(t, i);
}
/* Warms the unwinder used for call paths (layer_names.c). */
void mpt_ipx_symbols_warm(void);

/* ---- CUDA enums into the trace's (cuda_types.c) --------------------------------------------- */

mpt_dtype mpt_ipx_dtype_from_cuda(int cuda_data_type);
/* Legacy GemmEx calls may pass a cudaDataType as the compute type. */
mpt_compute_type mpt_ipx_compute_from_cuda(uint32_t raw, mpt_dtype out_dtype);
mpt_epilogue mpt_ipx_epilogue_from_cuda(uint32_t raw, int *has_bias);
/* The type alpha and beta are read in for a compute type. */
mpt_dtype mpt_ipx_scale_dtype(mpt_compute_type c, mpt_dtype out_dtype);

/* ---- CUDA runtime queries (hooks_cudart.c; weak: absent from the unit-test runner) ----------- */

/* 1 when `stream` is capturing a CUDA graph (its GEMMs do not run now). */
__attribute__((weak)) int mpt_ipx_stream_capturing(uint64_t stream);
/* cudaFuncGetName's answer for a kernel's host function, or NULL. */
__attribute__((weak)) const char *mpt_ipx_cuda_func_name(const void *func);

/* ---- kernels and memory (events.c) ----------------------------------------------------------- */

void mpt_ipx_record_kernel(const void *func, const char *name, uint64_t stream, const uint32_t grid[3],
                           const uint32_t block[3], uint32_t shared_bytes);
void mpt_ipx_record_memory(mpt_mem_kind kind, int async, uint64_t stream, const void *dst,
                           const void *src, uint64_t bytes);

#endif
