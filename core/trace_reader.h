/*
 * Trace reader: streams a .mpt file one record at a time, in bounded memory.
 *
 * Used by the analyzer (whole files, possibly damaged by a crash) and by the live TUI (FOLLOW
 * mode: a file still being written). The reader keeps the string table so that ids resolve;
 * apart from it, memory is bounded by the largest record (MPT_TRACE_MAX_PAYLOAD), whatever a
 * length field claims.
 *
 * What it does with damage (docs/trace-format.md, "Reading damaged traces"):
 *   - a file that ends inside a record (the writer was killed): every whole record before it is
 *     returned, then MPT_TRACE_TRUNCATED, with the number of bytes ignored;
 *   - a checksum mismatch or a malformed record: every record before it is returned, then
 *     MPT_TRACE_CORRUPT with the byte offset. Reading stops there: after a damaged length field
 *     no later boundary can be trusted, and a report built on guessed resynchronisation would
 *     be worse than one that says where the damage starts;
 *   - records of unknown types (a newer minor version) are skipped by length and counted.
 * Terminal statuses (TRUNCATED, CORRUPT, BAD_FILE, IO_ERROR) are sticky.
 *
 * Not thread-safe: one reader per thread (several readers may read one file).
 */
#ifndef MPT_CORE_TRACE_READER_H
#define MPT_CORE_TRACE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/trace_format.h"

typedef struct mpt_trace_reader mpt_trace_reader;

typedef enum mpt_trace_status {
    MPT_TRACE_RECORD = 0,    /* *rec holds the next record */
    MPT_TRACE_EOF = 1,       /* clean end at a record boundary (FOLLOW: after the END record) */
    MPT_TRACE_AGAIN = 2,     /* FOLLOW only: no whole record yet; call again after the file grows */
    MPT_TRACE_TRUNCATED = 3, /* the file ends inside a record; see truncated_bytes() */
    MPT_TRACE_CORRUPT = 4,   /* checksum mismatch or malformed record at offset(); see error() */
    MPT_TRACE_BAD_FILE = 5,  /* not a readable trace (bad magic, newer major, corrupt header) */
    MPT_TRACE_IO_ERROR = 6   /* read(2) failed, or memory ran out */
} mpt_trace_status;

/* Open flags. */
#define MPT_TRACE_FOLLOW 1u /* the file may still be growing: see mpt_trace_reader_next */
/* TENSOR records come back in rec->u.tensor_sparse (rec->sparse = 1), their histograms as
 * stored, instead of dense in rec->u.tensor: what a streaming consumer wants (trace_format.h). */
#define MPT_TRACE_SPARSE 2u

/*
 * Opens a trace file. Without FOLLOW the header is read at once and any problem (missing file,
 * empty file, truncated header, not a trace, newer major version, header checksum) returns NULL
 * with a message naming the file and the problem. With FOLLOW a file whose header is not complete
 * yet is accepted (header() stays NULL until it is); one that can already be seen to be wrong is
 * refused as above. Without FOLLOW a regular file over 1 MiB is read and checksummed ahead
 * by a thread the reader owns (signals blocked; joined by close) when a second CPU is there:
 * the records and statuses are the same as reading it with read(2).
 */
mpt_trace_reader *mpt_trace_reader_open(const char *path, unsigned flags, char *err, size_t errlen);
/* Reads a trace image in memory (not copied: `data` must outlive the reader). Never FOLLOW. */
mpt_trace_reader *mpt_trace_reader_open_mem(const void *data, size_t len, char *err, size_t errlen);
void mpt_trace_reader_close(mpt_trace_reader *r);

/* The header, or NULL while a FOLLOW reader has not seen all of it. Valid until close. */
const mpt_trace_header *mpt_trace_reader_header(const mpt_trace_reader *r);

/*
 * Reads the next record into *rec. STRING records are returned too (after entering the string
 * table). Pointers in *rec (MESSAGE text, STRING bytes) stay valid until the next call, STRING
 * bytes until close.
 * FOLLOW: when the data after the last whole record is missing or incomplete, returns
 * MPT_TRACE_AGAIN without consuming anything; a later call after the file has grown continues
 * from the last whole record. After an END record, a clean end of data is MPT_TRACE_EOF.
 */
mpt_trace_status mpt_trace_reader_next(mpt_trace_reader *r, mpt_trace_record *rec);

/* The string with this id, NUL-terminated, or NULL if no STRING record defined it (yet). A
 * redefinition of an id is ignored: the first definition wins. Valid until close. */
const char *mpt_trace_reader_string(const mpt_trace_reader *r, uint32_t id);

/* Message of the last non-RECORD status (TRUNCATED, CORRUPT, BAD_FILE, IO_ERROR); "" else. */
const char *mpt_trace_reader_error(const mpt_trace_reader *r);
/* Byte offset just past the last whole record consumed (= where the damage starts after
 * TRUNCATED or CORRUPT). */
uint64_t mpt_trace_reader_offset(const mpt_trace_reader *r);
/* Bytes ignored at the end of a truncated file (TRUNCATED), else 0. */
uint64_t mpt_trace_reader_truncated_bytes(const mpt_trace_reader *r);
/* Records returned so far, and records skipped (unknown type or must-understand flag). */
uint64_t mpt_trace_reader_records(const mpt_trace_reader *r);
uint64_t mpt_trace_reader_skipped(const mpt_trace_reader *r);

#endif
