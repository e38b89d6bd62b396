/*
 * The trace file (.mpt): record types, their C structs, and the codec between them and bytes.
 *
 * A trace is an append-only log: a checksummed header, then length-prefixed, typed, checksummed
 * records, all little-endian with explicit widths. docs/trace-format.md is the specification
 * (every byte of every record, the versioning rules, what readers do with damage); this header
 * is its C mirror. The writer (trace_writer.h) and the reader (trace_reader.h) are built on the
 * codec declared at the bottom, which is pure: bytes in, structs out, no I/O, no allocation.
 *
 * Compatibility, in one paragraph: every number written into a trace (record types, enum values,
 * flag bits) is fixed forever; new ones are only appended. A newer MINOR version may add record
 * types (older readers skip them by length) and fields at the end of a record's payload (older
 * readers ignore the tail); a payload shorter than its v1.0 size is corrupt. A newer MAJOR
 * version is refused. Readers must tolerate enum values they do not know (a newer minor may add
 * a dtype or a compute type): the decoder passes them through unchanged.
 */
#ifndef MPT_CORE_TRACE_FORMAT_H
#define MPT_CORE_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "core/fpformat.h"
#include "core/tensor_stats.h"

/* ---- file layout constants ------------------------------------------------------------------- */

#define MPT_TRACE_VERSION_MAJOR 1
#define MPT_TRACE_VERSION_MINOR 0

/* PNG-style: a non-ASCII first byte, then CR LF, ^Z, LF, so text-mode transfers and 7-bit
 * channels visibly damage it. */
#define MPT_TRACE_MAGIC     "\x89MPT\r\n\x1a\n"
#define MPT_TRACE_MAGIC_LEN 8

#define MPT_TRACE_HEADER_FIXED 64u          /* bytes before the header's strings */
#define MPT_TRACE_HEADER_MAX   (1u << 20)   /* a longer header_len is corrupt */
#define MPT_TRACE_HOSTNAME_MAX 255u         /* the writer truncates longer host names */
#define MPT_TRACE_CMDLINE_MAX  (128u << 10) /* ... and longer command lines (flag set) */

#define MPT_TRACE_FRAME_HEAD     12u /* payload length u32, type u16, flags u16, head CRC u32 */
#define MPT_TRACE_FRAME_TAIL     4u  /* CRC32C of frame head + payload */
#define MPT_TRACE_FRAME_OVERHEAD (MPT_TRACE_FRAME_HEAD + MPT_TRACE_FRAME_TAIL)
#define MPT_TRACE_MAX_PAYLOAD    (16u << 20) /* a longer payload length is corrupt */
#define MPT_TRACE_TEXT_MAX       (64u << 10) /* the writer truncates longer strings and messages */

/* Frame flag bits 0-7 are "must understand": a reader that finds one it does not know set skips
 * the record as it skips an unknown type. Bits 8-15 may be ignored. v1.0 writes 0. */
#define MPT_FRAME_FLAGS_MUST_UNDERSTAND 0x00ffu

/* Header flags. */
#define MPT_HDR_CMDLINE_TRUNCATED (1u << 0)

/* ---- enums (values are written into traces: never renumber, only append) --------------------- */

typedef enum mpt_record_type {
    MPT_REC_STRING = 1,
    MPT_REC_GEMM = 2,
    MPT_REC_TENSOR = 3,
    MPT_REC_PRECISION = 4,
    MPT_REC_STEP = 5,
    MPT_REC_SCALAR = 6,
    MPT_REC_KERNEL = 7,
    MPT_REC_MEMORY = 8,
    MPT_REC_RANGE = 9,
    MPT_REC_MESSAGE = 10,
    MPT_REC_END = 11,
    MPT_REC_TYPE_COUNT /* one past the last known type */
    /* 0 is never written; 0x8000-0xFFFF are left for experiments and never assigned. */
} mpt_record_type;

/* The math a GEMM was asked to do (cublasComputeType_t, in a stable numbering of our own). */
typedef enum mpt_compute_type {
    MPT_COMPUTE_UNKNOWN = 0,
    MPT_COMPUTE_16F = 1,
    MPT_COMPUTE_16F_PEDANTIC = 2,
    MPT_COMPUTE_32F = 3,
    MPT_COMPUTE_32F_PEDANTIC = 4,
    MPT_COMPUTE_32F_FAST_16F = 5,
    MPT_COMPUTE_32F_FAST_16BF = 6,
    MPT_COMPUTE_32F_FAST_TF32 = 7,
    MPT_COMPUTE_32F_EMULATED_16BFX9 = 8,
    MPT_COMPUTE_64F = 9,
    MPT_COMPUTE_64F_PEDANTIC = 10,
    MPT_COMPUTE_64F_EMULATED_FIXEDPOINT = 11,
    MPT_COMPUTE_32I = 12,
    MPT_COMPUTE_32I_PEDANTIC = 13,
    MPT_COMPUTE_COUNT
} mpt_compute_type;

typedef enum mpt_epilogue {
    MPT_EPI_NONE = 0,
    MPT_EPI_BIAS = 1,
    MPT_EPI_RELU = 2,
    MPT_EPI_RELU_BIAS = 3,
    MPT_EPI_GELU = 4,
    MPT_EPI_GELU_BIAS = 5,
    MPT_EPI_OTHER = 6, /* see epilogue_raw */
    MPT_EPI_COUNT
} mpt_epilogue;

/* How much was measured: for a GEMM, the most any of its tensors got; for a tensor, its own. */
typedef enum mpt_stat_level {
    MPT_LEVEL_NONE = 0,
    MPT_LEVEL_CHEAP = 1, /* count, NaN, Inf, absmax */
    MPT_LEVEL_FULL = 2,  /* everything in mpt_stats */
    MPT_LEVEL_COUNT
} mpt_stat_level;

/* Why a GEMM's statistics were not taken (level NONE). */
typedef enum mpt_skip_reason {
    MPT_SKIP_NONE = 0,          /* not skipped */
    MPT_SKIP_GRAPH_CAPTURE = 1, /* the stream was capturing a CUDA graph */
    MPT_SKIP_FILTERED = 2,      /* excluded by the user's filter or sampling */
    MPT_SKIP_UNREADABLE = 3,    /* operand memory could not be read */
    MPT_SKIP_UNSUPPORTED = 4,   /* a dtype or layout the reducer does not handle */
    MPT_SKIP_ERROR = 5,         /* an internal failure (a MESSAGE record says which) */
    MPT_SKIP_COUNT
} mpt_skip_reason;

/* GEMM flag bits; the bits not named here are reserved: written 0, ignored by readers. */
#define MPT_GEMM_HAS_BIAS          (1u << 0) /* the epilogue adds a bias vector */
#define MPT_GEMM_C_NOT_D           (1u << 1) /* C and D are different buffers (cublasLt) */
#define MPT_GEMM_SCALARS_ON_DEVICE (1u << 2) /* alpha/beta were device pointers, not read: NaN */
#define MPT_GEMM_TF32_MATH         (1u << 3) /* the handle's math mode allowed TF32 */

typedef enum mpt_tensor_role {
    MPT_ROLE_A = 0,
    MPT_ROLE_B = 1,
    MPT_ROLE_C = 2, /* input C (beta != 0) */
    MPT_ROLE_D = 3, /* output D (C when C and D alias) */
    MPT_ROLE_BIAS = 4,
    MPT_ROLE_MEMCPY = 5, /* data moved by a MEMORY event; seq is that event's */
    MPT_ROLE_COUNT
} mpt_tensor_role;

typedef enum mpt_step_phase { MPT_STEP_BEGIN = 0, MPT_STEP_END = 1 } mpt_step_phase;

/* SCALAR flag bits. */
/* Set when mptrace inferred the value (e.g. a skip seen from non-finite gradients) rather than
 * the program reporting it. */
#define MPT_SCALAR_INFERRED (1u << 0)
/* Set when mptrace read the value from the device memory of PyTorch GradScaler's
 * amp_update_scale kernel (scale: the scale the step used; skip: its found_inf != 0) rather than
 * from the program's marks. Readers that do not know it treat the value as reported. */
#define MPT_SCALAR_GRADSCALER (1u << 1)

typedef enum mpt_mem_kind {
    MPT_MEM_UNKNOWN = 0,
    MPT_MEM_H2D = 1,
    MPT_MEM_D2H = 2,
    MPT_MEM_D2D = 3,
    MPT_MEM_H2H = 4,
    MPT_MEM_DEFAULT = 5, /* cudaMemcpyDefault: direction inferred from the addresses by CUDA */
    MPT_MEM_MEMSET = 6,  /* src holds the byte value */
    MPT_MEM_ALLOC = 7,   /* dst is the new block; src 0 */
    MPT_MEM_FREE = 8,    /* dst is the freed block; bytes 0 if unknown */
    MPT_MEM_KIND_COUNT
} mpt_mem_kind;

/* MEMORY flag bits. */
#define MPT_MEM_ASYNC (1u << 0) /* an *Async call, ordered on `stream` */

typedef enum mpt_range_kind {
    MPT_RANGE_PUSH = 0,  /* nvtxRangePush */
    MPT_RANGE_POP = 1,   /* nvtxRangePop: name and domain may be 0 */
    MPT_RANGE_MARK = 2,  /* nvtxMark */
    MPT_RANGE_START = 3, /* nvtxRangeStart: range_id pairs it with its END */
    MPT_RANGE_END = 4,   /* nvtxRangeEnd (possibly on another thread) */
    MPT_RANGE_KIND_COUNT
} mpt_range_kind;

typedef enum mpt_msg_level { MPT_MSG_INFO = 0, MPT_MSG_WARN = 1, MPT_MSG_ERROR = 2 } mpt_msg_level;

typedef enum mpt_end_how {
    MPT_END_UNKNOWN = 0,
    MPT_END_EXIT = 1,         /* exit()/return from main; status = exit status */
    MPT_END_SIGNAL = 2,       /* ended by a signal after a clean flush; status = signal number */
    MPT_END_FATAL_SIGNAL = 3, /* flushed from a fatal-signal handler; status = signal number;
                               * statistics still in flight may be missing */
    MPT_END_CLOSED = 4,       /* the writer was closed while the process went on */
    MPT_END_HOW_COUNT
} mpt_end_how;

/* ---- the header ------------------------------------------------------------------------------ */

typedef struct mpt_trace_header {
    uint16_t version_major; /* reader: as found; writer: ignored (writes the current version) */
    uint16_t version_minor;
    uint32_t flags; /* MPT_HDR_* */
    int32_t pid;
    int32_t rank;              /* global rank (RANK, OMPI_COMM_WORLD_RANK, ...), -1 unknown */
    int32_t local_rank;        /* rank on this host, -1 unknown */
    int32_t world_size;        /* ranks in the job, -1 unknown */
    int64_t start_realtime_ns; /* CLOCK_REALTIME when tracing started, ns since the epoch */
    uint64_t mono_origin_ns;   /* CLOCK_MONOTONIC at that same instant, ns. Record timestamps
                                * are CLOCK_MONOTONIC ns: wall time of ts is
                                * start_realtime_ns + (ts - mono_origin_ns) */
    const char *hostname;      /* NUL-terminated UTF-8; writer: NULL means "" */
    const char *cmdline;       /* argv, each argument NUL-terminated (as /proc/self/cmdline) */
    size_t cmdline_len;        /* bytes in cmdline */
} mpt_trace_header;

/* ---- records --------------------------------------------------------------------------------- */

/* Timestamps (ts_ns) are CLOCK_MONOTONIC nanoseconds; tid is the kernel thread id (gettid());
 * stream is the cudaStream_t handle value (0: the legacy default stream); step is the training
 * step as the program numbers it, -1 when unknown; seq is the process-wide sequence number shared
 * by GEMM, KERNEL and MEMORY records (from 1, increasing in issue order). String ids are 0 for
 * "none" and otherwise name a STRING record earlier in the file. */

typedef struct mpt_trace_string {
    uint32_t id;       /* >= 1 */
    uint32_t len;      /* bytes, no terminator */
    const char *bytes; /* reader: NUL-terminated, owned by the reader's string table */
} mpt_trace_string;

typedef struct mpt_trace_gemm {
    uint64_t seq;
    uint64_t ts_ns; /* when the call was made */
    uint64_t stream;
    int64_t step;
    uint32_t tid;
    uint32_t ordinal;       /* index of this GEMM among the step's GEMMs, from 0 */
    uint32_t layer;         /* string id: NVTX range path, or call-site path; 0 unknown */
    uint32_t callsite;      /* string id: symbolised return address; 0 unknown */
    uint32_t api;           /* string id: entry point, e.g. "cublasGemmEx", "cublasLtMatmul" */
    uint32_t compute_raw;   /* cublasComputeType_t (or legacy cudaDataType) value as passed */
    uint32_t epilogue_raw;  /* cublasLtEpilogue_t value; 0 for cuBLAS (non-Lt) calls */
    uint32_t flags;         /* MPT_GEMM_* */
    uint8_t transa, transb; /* cublasOperation_t: 0 N, 1 T, 2 C */
    mpt_compute_type compute;
    mpt_epilogue epilogue;
    mpt_dtype dtype_a, dtype_b, dtype_c, dtype_d;
    mpt_dtype dtype_bias;                           /* MPT_DT_UNKNOWN when there is no bias */
    mpt_stat_level level;                           /* most statistics any operand got */
    mpt_skip_reason skip;                           /* why level is NONE; MPT_SKIP_NONE otherwise */
    int64_t m, n, k;                                /* D is m x n; op(A) m x k, op(B) k x n */
    int64_t batch;                                  /* batch count, 1 for a plain GEMM */
    int64_t lda, ldb, ldc, ldd;                     /* leading dimensions, elements */
    int64_t stride_a, stride_b, stride_c, stride_d; /* batch strides, elements (0: none) */
    double alpha, beta; /* real parts; NaN with MPT_GEMM_SCALARS_ON_DEVICE */
} mpt_trace_gemm;

/* Which tensor a TENSOR record describes. */
typedef struct mpt_trace_tensor_info {
    uint64_t seq; /* the GEMM's (or MEMORY event's) sequence number */
    mpt_tensor_role role;
    mpt_dtype dtype;
    int64_t rows, cols, batch; /* as measured: (rows, cols) per matrix, batch matrices */
} mpt_trace_tensor_info;

typedef struct mpt_trace_tensor {
    mpt_trace_tensor_info info;
    mpt_stat_level level;  /* CHEAP or FULL */
    mpt_cheap_stats cheap; /* always valid (FULL: derived, inf = pinf + ninf) */
    mpt_stats full;        /* level FULL only; otherwise the empty summary (mpt_stats_init) */
} mpt_trace_tensor;

/*
 * The same TENSOR record with its histogram left as stored: the nonzero buckets only, in
 * increasing bucket order, as `hist_n` entries of 10 bytes (bucket u16, count u64,
 * little-endian) at `hist` (validated: in range, strictly increasing). This is what a streaming
 * consumer reads (the reader's MPT_TRACE_SPARSE), sparing it the 2 KiB of a dense mpt_stats per
 * record: a full record typically has a few dozen buckets of 258. Everything but the histogram
 * is decoded exactly as in mpt_trace_tensor (mpt_trace_tensor_sparse_to_dense gives the record
 * mpt_trace_payload_decode would have, byte for byte).
 */
/* mpt_stats but its histogram (same fields, same meaning). */
typedef struct mpt_trace_stats_head {
    uint64_t count, nan, pinf, ninf, zero, subnormal;
    double min, max, absmax, min_nonzero_abs, sum, sumsq;
    mpt_narrow_counts narrow[MPT_NARROW_COUNT];
} mpt_trace_stats_head;

typedef struct mpt_trace_tensor_sparse {
    mpt_trace_tensor_info info;
    mpt_stat_level level;
    mpt_cheap_stats cheap;
    mpt_trace_stats_head full; /* level FULL only; otherwise as mpt_stats_init leaves them */
    uint32_t hist_n;           /* histogram entries stored (0 unless FULL) */
    const uint8_t *hist;       /* hist_n x 10 bytes, pointing into the decoded payload (the
                                * reader's: valid until its next call); NULL when hist_n is 0 */
} mpt_trace_tensor_sparse;

/* Precision of a GEMM's output, from a sample of outputs recomputed exactly (in double).
 * Relative error is |stored - exact| / |exact| over sampled outputs whose exact value is
 * finite and nonzero; ULP errors are measured in units of `dtype`'s last place at the exact
 * value. NaN means "not measured" (no eligible sample). */
typedef struct mpt_trace_precision {
    uint64_t seq;
    mpt_dtype dtype;  /* the output type errors are measured in */
    uint64_t samples; /* outputs recomputed */
    double max_rel_err, mean_rel_err;
    double max_ulp_err, mean_ulp_err;
    uint64_t underflow;   /* exact nonzero, stored as zero or subnormal */
    uint64_t overflow;    /* exact |value| above dtype's max finite */
    double max_exact_abs; /* largest exact |value| among the samples */
} mpt_trace_precision;

typedef struct mpt_trace_step {
    int64_t step;
    uint64_t ts_ns;
    uint32_t tid;
    mpt_step_phase phase;
} mpt_trace_step;

typedef struct mpt_trace_scalar {
    int64_t step;
    uint64_t ts_ns;
    uint32_t key;   /* string id: "loss", "scale", "skip", "grad_norm", "lr", ... */
    uint32_t flags; /* MPT_SCALAR_* */
    double value;
} mpt_trace_scalar;

typedef struct mpt_trace_kernel {
    uint64_t seq;
    uint64_t ts_ns;
    uint64_t stream;
    int64_t step;
    uint32_t tid;
    uint32_t name;    /* string id: the kernel's (demangled if possible) name */
    uint32_t grid[3]; /* x, y, z */
    uint32_t block[3];
    uint32_t shared_bytes; /* dynamic shared memory */
} mpt_trace_kernel;

typedef struct mpt_trace_memory {
    uint64_t seq;
    uint64_t ts_ns;
    uint64_t stream;
    int64_t step;
    uint32_t tid;
    mpt_mem_kind kind;
    uint16_t flags;    /* MPT_MEM_* */
    uint64_t dst, src; /* addresses (memset: src is the byte value) */
    uint64_t bytes;
} mpt_trace_memory;

typedef struct mpt_trace_range {
    uint64_t ts_ns;
    uint32_t tid;
    mpt_range_kind kind;
    uint32_t domain;   /* string id; 0: the default domain */
    uint32_t name;     /* string id; 0 for POP/END */
    uint64_t range_id; /* START/END pairing; 0 otherwise */
} mpt_trace_range;

typedef struct mpt_trace_message {
    uint64_t ts_ns;
    uint32_t tid;
    mpt_msg_level level;
    uint32_t len;     /* bytes */
    const char *text; /* UTF-8; reader: NUL-terminated, valid until the next read */
} mpt_trace_message;

typedef struct mpt_trace_end {
    uint64_t ts_ns;
    mpt_end_how how;
    int32_t status;   /* exit status or signal number */
    uint64_t records; /* records the writer wrote before this one (header excluded) */
} mpt_trace_end;

typedef struct mpt_trace_record {
    mpt_record_type type;
    uint64_t offset;      /* reader: byte offset of the record's frame in the file */
    uint32_t payload_len; /* reader: payload bytes as stored (>= the v1.0 size) */
    uint32_t sparse;      /* TENSOR only: 1 when u.tensor_sparse holds it (a reader opened with
                           * MPT_TRACE_SPARSE), 0 when u.tensor does */
    union {
        mpt_trace_string string;
        mpt_trace_gemm gemm;
        mpt_trace_tensor tensor;
        mpt_trace_tensor_sparse tensor_sparse;
        mpt_trace_precision precision;
        mpt_trace_step step;
        mpt_trace_scalar scalar;
        mpt_trace_kernel kernel;
        mpt_trace_memory memory;
        mpt_trace_range range;
        mpt_trace_message message;
        mpt_trace_end end;
    } u;
} mpt_trace_record;

/* ---- names (for reports and dumps; "unknown" for values this build does not know) ------------ */

const char *mpt_record_type_name(uint32_t type);
const char *mpt_compute_type_name(mpt_compute_type c);
const char *mpt_epilogue_name(mpt_epilogue e);
const char *mpt_stat_level_name(mpt_stat_level l);
const char *mpt_skip_reason_name(mpt_skip_reason s);
const char *mpt_tensor_role_name(mpt_tensor_role r);
const char *mpt_mem_kind_name(mpt_mem_kind k);
const char *mpt_range_kind_name(mpt_range_kind k);
const char *mpt_msg_level_name(mpt_msg_level l);
const char *mpt_end_how_name(mpt_end_how h);

/* Maps a cublasComputeType_t value (CUDA 11+ numbering: 64..79) to mpt_compute_type;
 * MPT_COMPUTE_UNKNOWN for anything else (legacy cudaDataType values included). */
mpt_compute_type mpt_compute_type_from_cublas(uint32_t raw);

/* ---- codec (pure: no I/O, no allocation) ----------------------------------------------------- */

/* strlen(s), capped at `max` bytes without cutting a UTF-8 sequence: how the writer truncates
 * host names, strings and messages. Reads at most max + 1 bytes of s. */
size_t mpt_trace_text_len(const char *s, size_t max);

/*
 * Checks the first bytes of a file: magic, version, header length. `p` holds the first n bytes.
 * Returns 1 when n >= 16 and they are acceptable (*header_len set: the whole header's size);
 * 0 when n < 16 and the bytes so far could still begin a trace (read more); -1 when the file is
 * refused (not a trace, a damaged magic, a newer major version, an impossible header length),
 * with a message naming the problem.
 */
int mpt_trace_header_probe(const uint8_t *p, size_t n, uint32_t *header_len, char *err,
                           size_t errlen);
#define MPT_TRACE_PROBE_BYTES 16u

/* Encoded header size for h (truncating hostname/cmdline as the writer does). */
size_t mpt_trace_header_size(const mpt_trace_header *h);
/* Writes the v1.0 header for h (mpt_trace_header_size(h) bytes, CRC included) into out. */
void mpt_trace_header_encode(const mpt_trace_header *h, uint8_t *out);
/*
 * Decodes a whole header of `len` bytes (len = its header_len field). On success returns 0 and
 * fills h, whose hostname/cmdline point into `p` (hostname NOT NUL-terminated there: the
 * reader copies it); on failure returns -1 with a one-line reason.
 */
int mpt_trace_header_decode(const uint8_t *p, size_t len, mpt_trace_header *h, size_t *host_len,
                            char *err, size_t errlen);

/* v1.0 payload size of a record, and of a TENSOR record in its parts. */
size_t mpt_trace_payload_size(const mpt_trace_record *r);
size_t mpt_trace_tensor_payload_size(mpt_stat_level level, const mpt_stats *full);

/* Writes r's v1.0 payload (mpt_trace_payload_size(r) bytes) into out. */
void mpt_trace_payload_encode(const mpt_trace_record *r, uint8_t *out);
/* TENSOR payload from parts: level CHEAP uses `cheap` (full may be NULL), FULL uses `full`. */
void mpt_trace_tensor_payload_encode(const mpt_trace_tensor_info *info, mpt_stat_level level,
                                     const mpt_cheap_stats *cheap, const mpt_stats *full,
                                     uint8_t *out);

/*
 * Framing. A record occupies MPT_TRACE_FRAME_OVERHEAD + payload_len bytes at `frame`:
 * head (12 bytes), payload, CRC (4 bytes). frame_open writes the head; the caller writes the
 * payload at frame + MPT_TRACE_FRAME_HEAD; frame_close writes the CRC over head and payload.
 */
void mpt_trace_frame_open(uint8_t *frame, uint16_t type, uint16_t flags, uint32_t payload_len);
void mpt_trace_frame_close(uint8_t *frame, uint32_t payload_len);

/*
 * Decodes a payload of a known type into r (type, sparse = 0, u; offset and payload_len
 * untouched).
 * Accepts payloads longer than the v1.0 size (the tail is a newer minor's fields). Returns
 * 1 when decoded, 0 when `type` is not known to this build (r untouched: skip the record),
 * -1 when the payload is malformed (too short, inconsistent counts), with a reason in err.
 * STRING and MESSAGE bytes point into `p`.
 */
int mpt_trace_payload_decode(uint16_t type, const uint8_t *p, size_t len, mpt_trace_record *r,
                             char *err, size_t errlen);

/*
 * TENSOR payloads, histogram left sparse (see mpt_trace_tensor_sparse): decodes and validates
 * exactly as mpt_trace_payload_decode does for a TENSOR (same checks, same messages). Returns 0,
 * or -1 when the payload is malformed, with a reason in err. t->hist points into `p`.
 */
int mpt_trace_tensor_decode_sparse(const uint8_t *p, size_t len, mpt_trace_tensor_sparse *t,
                                   char *err, size_t errlen);
/* The dense record of a sparse one: what mpt_trace_payload_decode gives for the same payload. */
void mpt_trace_tensor_sparse_to_dense(const mpt_trace_tensor_sparse *t, mpt_trace_tensor *out);
/* dst := the summary of dst's elements and t's (mpt_stats_merge with t's full statistics, its
 * histogram added bucket by bucket as stored). A tensor below FULL adds nothing. */
void mpt_trace_tensor_sparse_merge(mpt_stats *dst, const mpt_trace_tensor_sparse *t);

#endif
