/*
 * Shared by findings.c (first non-finite, loss, scaler) and findings_layers.c (per-layer
 * conditions): the findings list being built and the text helpers.
 */
#ifndef MPT_ANALYZER_FINDINGS_INTERNAL_H
#define MPT_ANALYZER_FINDINGS_INTERNAL_H

#include <stddef.h>

#include "analyzer/analysis.h"

typedef struct mpt_fb {
    mpt_analysis *a;
    size_t cap; /* findings allocated */
    int oom;    /* an allocation failed: mpt_findings_build returns -1 */
} mpt_fb;

/* A new, zeroed finding appended to the list; NULL (and oom set) when memory is short. */
mpt_finding *mpt_fb_add(mpt_fb *b, mpt_finding_kind kind, mpt_severity sev, int64_t step,
                        uint32_t layer);
/* Appends printf-style text to buf (size n) at *len; cut, never overflowing, when full. */
void mpt_fb_cat(char *buf, size_t n, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *mpt_fb_lname(const mpt_model *m, uint32_t layer);

/* findings_layers.c: underflow, flush risk, precision loss, headroom, skipped statistics. */
void mpt_fb_layers(mpt_fb *b, const mpt_model *m, const mpt_analysis_opts *o);

/* findings_optimizer.c: updates lost to the weights' rounding (bf16 master weights). */
void mpt_fb_optimizer(mpt_fb *b, const mpt_model *m);

#endif
