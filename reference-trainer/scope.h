/*
 * NVTX emission with a mirror the trainer can read: every range pushed here is also kept as a
 * '/'-joined path ("fwd/blk1/attn/qkv"), which the ground-truth log uses to name layers exactly
 * as a profiler reading the NVTX stack will (docs/nvtx-conventions.md). Step ranges
 * ("train_step N") are pushed outside the path: by the convention they delimit steps, they are
 * not part of a layer's name.
 *
 * NVTX3 is header-only: without an injection library (NVTX_INJECTION64_PATH) every call is a
 * cheap no-op, and the trainer links nothing for it.
 */
#ifndef MPT_TR_SCOPE_H
#define MPT_TR_SCOPE_H

#define MPT_TR_SCOPE_MAX_DEPTH 16
#define MPT_TR_SCOPE_MAX_PATH  256

typedef struct mpt_tr_scope {
    char path[MPT_TR_SCOPE_MAX_PATH]; /* the open ranges below the step range, '/'-joined */
    int len[MPT_TR_SCOPE_MAX_DEPTH];  /* path length before each push */
    int depth;
} mpt_tr_scope;

void mpt_tr_scope_init(mpt_tr_scope *s);
/* Pushes an NVTX range named `name` and appends it to the path. Deeper than
 * MPT_TR_SCOPE_MAX_DEPTH or longer than the path buffer is a programming error: the range is
 * still pushed, the path is left as it was. */
void mpt_tr_scope_push(mpt_tr_scope *s, const char *name);
/* printf-style push ("blk%d"). */
void mpt_tr_scope_pushf(mpt_tr_scope *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mpt_tr_scope_pop(mpt_tr_scope *s);
static inline const char *mpt_tr_scope_path(const mpt_tr_scope *s)
{
    return s->path;
}

/* The step range: "train_step N", outside the layer path. */
void mpt_tr_nvtx_step_begin(int step);
void mpt_tr_nvtx_step_end(void);
/* An NVTX mark (the mptrace:key=value convention, see gtlog.h). */
void mpt_tr_nvtx_mark(const char *text);

#endif
