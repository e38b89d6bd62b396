/*
 * Read-ahead for the trace reader (private to core/trace_reader.c; design in trace_ahead.c).
 *
 * A read-ahead reads a whole regular file from a frame boundary on, in blocks, and hands the reader
 * spans of frames that are whole and whose checksums match, so that the reader decodes them
 * without checking them again. It stops at the first frame it cannot pass (damage, a cut
 * frame at the end of the file, a frame longer than a block, a read error): from that frame on
 * the reader reads the file itself, so that every record and every message is what reading
 * without the read-ahead gives.
 */
#ifndef MPT_CORE_TRACE_AHEAD_H
#define MPT_CORE_TRACE_AHEAD_H

#include <stddef.h>
#include <stdint.h>

/* The file is read in blocks this large; a frame longer than a block stops the read-ahead. A
 * block's bytes start at the first frame the previous block did not hold whole. */
#define MPT_TRACE_AHEAD_BLOCK (2u << 20)

typedef struct mpt_trace_ahead mpt_trace_ahead;

/* Starts a thread (signals blocked) reading `fd` with pread (its file offset does not move)
 * from the frame at byte offset `from`. NULL when memory or the thread cannot be had: the
 * caller then reads by itself. */
mpt_trace_ahead *mpt_trace_ahead_start(int fd, uint64_t from);

/* The next span: *at its file offset (where the previous span ended), *n its bytes, all whole
 * frames already checked. The previous span is given back by this call (its bytes may change
 * from now on). NULL when the read-ahead has stopped at *at: the frame there is the caller's. */
const uint8_t *mpt_trace_ahead_next(mpt_trace_ahead *p, uint64_t *at, size_t *n);

/* Stops the thread and frees everything. NULL is ignored. */
void mpt_trace_ahead_end(mpt_trace_ahead *p);

#endif
