/*
 * Trace writer: appends records to a .mpt file from inside the traced program.
 *
 * Built for the interposer, which runs in someone else's process: it never exits, never prints,
 * never crashes on a full disk. Records go into the writer's own buffer and out with write(2)
 * (no stdio), so a signal handler can push out what is buffered.
 *
 * Contract:
 *   - Thread-safe: any number of threads may call every function below except close() (and the
 *     fork hooks) concurrently; one mutex makes each record append atomic with respect to the
 *     others, so records never interleave in the file.
 *   - Buffered: records reach the file when the buffer fills, after each STEP record of phase
 *     END, on mpt_trace_writer_flush(), and at close. A reader following the file sees whole
 *     records only up to the last flush.
 *   - Errors are sticky: the first failure (a write error such as ENOSPC, out of memory) is kept;
 *     from then on every call fails at once (returns -1, or id 0 for intern) and
 *     mpt_trace_writer_error() returns the first failure's message. Nothing is retried: a trace
 *     with a hole in it would be worse than one that stops.
 *   - Async-signal-safe: only mpt_trace_writer_emergency_flush() (see there), plus
 *     mpt_trace_writer_next_seq() and mpt_trace_now_ns(). Every other function may take the
 *     mutex or allocate.
 *   - fork(): the child must not write through the parent's writer (the buffer and its unwritten
 *     records were copied). Register the three fork hooks with pthread_atfork(); the child's copy
 *     then fails every call with a clear message and close() only frees it.
 */
#ifndef MPT_CORE_TRACE_WRITER_H
#define MPT_CORE_TRACE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor_stats.h"
#include "core/trace_format.h"

typedef struct mpt_trace_writer mpt_trace_writer;

#define MPT_TRACE_WRITER_BUFFER (256u << 10) /* bytes buffered before a write(2) */

/* CLOCK_MONOTONIC in ns: the clock of every record timestamp. Async-signal-safe. */
uint64_t mpt_trace_now_ns(void);

/* Fills h with this process's defaults: pid, start times (now), rank/local_rank/world_size -1,
 * no host name, no command line, flags 0. */
void mpt_trace_header_init(mpt_trace_header *h);

/*
 * Creates (or truncates) `path` and prepares a writer; the header is buffered and written with
 * the first flush. Returns NULL with a message naming the path and the reason when the file
 * cannot be opened or memory is short. The file is opened O_CLOEXEC.
 */
mpt_trace_writer *mpt_trace_writer_open(const char *path, const mpt_trace_header *h, char *err,
                                        size_t errlen);

/*
 * Writes an END record (how CLOSED) unless one was written, flushes, closes the file and frees
 * the writer. Returns 0, or -1 with the first error's message (the writer is freed either way).
 * Call once, when no other thread uses the writer any more.
 */
int mpt_trace_writer_close(mpt_trace_writer *w, char *err, size_t errlen);

/* Writes out everything buffered. 0, or -1 (see mpt_trace_writer_error). */
int mpt_trace_writer_flush(mpt_trace_writer *w);

/* The first error's message ("write <path>: No space left on device"), or NULL if none. The
 * string lives as long as the writer. */
const char *mpt_trace_writer_error(const mpt_trace_writer *w);
/* errno of the first error, or 0: write(2)'s errno (ENOSPC, EIO, ...), ENOMEM for allocation
 * failures, ECHILD in a fork child's copy, ECANCELED after the emergency flush. */
int mpt_trace_writer_errno(const mpt_trace_writer *w);

/* Next value of the process's shared sequence number: 1, 2, 3, ... (lock-free). */
uint64_t mpt_trace_writer_next_seq(mpt_trace_writer *w);

/*
 * Id of string s, emitting its STRING record the first time s is seen. Ids are 1, 2, 3, ... in
 * order of first sight; strings longer than MPT_TRACE_TEXT_MAX bytes are cut there (at a UTF-8
 * boundary) and interned as cut. Returns 0 for s == NULL and after an error.
 */
uint32_t mpt_trace_writer_intern(mpt_trace_writer *w, const char *s);

/* One function per record type. Each returns 0, or -1 after an error (sticky; see above). */
int mpt_trace_writer_gemm(mpt_trace_writer *w, const mpt_trace_gemm *g);
int mpt_trace_writer_tensor_cheap(mpt_trace_writer *w, const mpt_trace_tensor_info *info,
                                  const mpt_cheap_stats *c);
int mpt_trace_writer_tensor_full(mpt_trace_writer *w, const mpt_trace_tensor_info *info,
                                 const mpt_stats *s);
int mpt_trace_writer_precision(mpt_trace_writer *w, const mpt_trace_precision *p);
/* A STEP record of phase END also flushes. */
int mpt_trace_writer_step(mpt_trace_writer *w, const mpt_trace_step *s);
int mpt_trace_writer_scalar(mpt_trace_writer *w, const mpt_trace_scalar *s);
int mpt_trace_writer_kernel(mpt_trace_writer *w, const mpt_trace_kernel *k);
int mpt_trace_writer_memory(mpt_trace_writer *w, const mpt_trace_memory *m);
int mpt_trace_writer_range(mpt_trace_writer *w, const mpt_trace_range *r);
/* ts_ns = now, tid = the caller's; text cut at MPT_TRACE_TEXT_MAX bytes. */
int mpt_trace_writer_message(mpt_trace_writer *w, mpt_msg_level level, const char *text);
/* END record (ts now; records = the count so far), then a flush. Later records are still
 * accepted (a reader reads past END), but close() will not add a second END. */
int mpt_trace_writer_end(mpt_trace_writer *w, mpt_end_how how, int32_t status);

/*
 * Any record by its struct: for tools that copy or rewrite traces, and for tests. STRING
 * records are refused (EINVAL: ids come from mpt_trace_writer_intern only); END records take
 * ts, how and status from r but `records` from the writer; TENSOR records use r's level.
 */
int mpt_trace_writer_record(mpt_trace_writer *w, const mpt_trace_record *r);

/*
 * For a fatal-signal handler (SIGSEGV, SIGABRT, SIGBUS, ...): appends END (how, status) and
 * writes everything buffered, using only async-signal-safe operations (an atomic try-lock,
 * write(2), nanosleep(2)). Gives up and returns -1 without touching the file when the
 * interrupted thread was itself inside the writer (the buffer may be half-appended) or another
 * thread holds the writer for more than ~50 ms. Afterwards the writer is finished: other threads'
 * later calls fail with "finished by a fatal signal". Safe to call more than once.
 * The try-lock is pthread_mutex_trylock(), which POSIX does not list as async-signal-safe but
 * which glibc implements as a single atomic compare-and-swap for the default mutex type.
 */
int mpt_trace_writer_emergency_flush(mpt_trace_writer *w, mpt_end_how how, int32_t status);

/* pthread_atfork() hooks: prepare/parent keep the buffer consistent across fork(); child marks
 * the child's copy unusable (see the contract above). */
void mpt_trace_writer_fork_prepare(mpt_trace_writer *w);
void mpt_trace_writer_fork_parent(mpt_trace_writer *w);
void mpt_trace_writer_fork_child(mpt_trace_writer *w);

#endif
