/*
 * `mptrace export`: the trace's records, one row per record, in the formats other tools read —
 * CSV and JSON lines (one row per TENSOR record, with its op, layer and step), Chrome's Trace
 * Event JSON (Perfetto, chrome://tracing), and an SQLite database (docs/export.md).
 *
 * Exports stream: a walker reads the traces (the ranks of one job, in rank order) record by
 * record, and resolves what a row needs — string ids, and the GEMM or copy a TENSOR record
 * belongs to, through a ring of the most recent ones — in memory bounded by the ring and the
 * string table, whatever the trace's size. Damage is handled like the report: every whole
 * record before it is exported, and the sources say where it starts.
 */
#ifndef MPT_ANALYZER_EXPORT_H
#define MPT_ANALYZER_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "analyzer/model.h"
#include "core/trace_format.h"

typedef struct mpt_export_walker mpt_export_walker;

/* The op a TENSOR or PRECISION record belongs to. */
typedef struct mpt_export_op {
    int is_memory;           /* a copy/memset (MEMORY record), else a GEMM */
    mpt_trace_gemm gemm;     /* valid for a GEMM */
    mpt_trace_memory memory; /* valid for a copy */
    const char *layer;       /* the GEMM's layer as recorded, "op#ORDINAL" without one; "" copy */
    const char *api;         /* entry point; a copy: its kind ("H2D", "memset", ...) */
    int64_t user_id;         /* the exporter's own id for it (the SQLite row id); 0 initially */
} mpt_export_op;

/*
 * Opens every trace (all must open; NULL with one line per failure otherwise) in rank order.
 * Sources are described with the model's mpt_source (state and message after damage).
 */
mpt_export_walker *mpt_export_open(char *const *paths, int n, char *err, size_t errlen);
void mpt_export_close(mpt_export_walker *w);

/* The next record of any source: 1 with *rec and *src set (rec valid until the next call),
 * 0 when every source is done. GEMM and MEMORY records enter the op ring before they are
 * returned, so the caller may set their user_id through mpt_export_op_of. */
int mpt_export_next(mpt_export_walker *w, const mpt_trace_record **rec, int *src);

int mpt_export_nsources(const mpt_export_walker *w);
const mpt_source *mpt_export_source(const mpt_export_walker *w, int i);
/* The header of source i (valid while that source is being read, and after: a copy). */
const mpt_trace_header *mpt_export_header(const mpt_export_walker *w, int i);
/* String `id` of the source being read; "" for 0 or unknown ids. */
const char *mpt_export_string(const mpt_export_walker *w, uint32_t id);
/* The op with this sequence number in the source being read, or NULL (never seen, or more than
 * the ring's size ago). */
mpt_export_op *mpt_export_op_of(mpt_export_walker *w, uint64_t seq);

/* The exporters. Each writes everything the walker yields; 0, or -1 with a message. */
int mpt_export_csv(mpt_export_walker *w, FILE *out, char *err, size_t errlen);
int mpt_export_jsonl(mpt_export_walker *w, FILE *out, char *err, size_t errlen);
int mpt_export_chrome(mpt_export_walker *w, FILE *out, char *err, size_t errlen);
/* Creates (replacing) the database at path. */
int mpt_export_sqlite(mpt_export_walker *w, const char *path, char *err, size_t errlen);

/* Shared by the row formats: narrow format column prefixes ("fp16", "bf16", "e4m3", "e5m2"). */
const char *mpt_export_narrow_name(int i);

#endif
