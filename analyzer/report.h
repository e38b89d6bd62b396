/*
 * Presenting a run: the text report (80 columns, colour only when asked) and the JSON report
 * (docs/report-schema.md), both from a model and its analysis. Neither computes anything the
 * analysis does not hold; both write to a FILE and return 0, or -1 on a write error.
 */
#ifndef MPT_ANALYZER_REPORT_H
#define MPT_ANALYZER_REPORT_H

#include <stdio.h>

#include "analyzer/analysis.h"
#include "analyzer/model.h"

typedef struct mpt_report_opts {
    int color;      /* ANSI colours (the caller decides: a tty, and NO_COLOR unset) */
    int width;      /* columns; 0: 80 */
    int max_layers; /* rows of the layer tables; 0: all */
} mpt_report_opts;

int mpt_report_text(FILE *f, const mpt_model *m, const mpt_analysis *a, const mpt_report_opts *o);
int mpt_report_json(FILE *f, const mpt_model *m, const mpt_analysis *a, int pretty);

/* Names used by both (and by the TUI): the role as the report shows it ("A", "B", "C" for the
 * output, "C_in" for an accumulated input C, "bias"), the source state, the origin. */
const char *mpt_report_role_name(mpt_tensor_role r);
const char *mpt_report_source_state(mpt_source_state s);
const char *mpt_report_origin_name(mpt_nf_origin o);
/* Status bits (MPT_CELL_*) as words, comma-separated, into buf: "nonfinite,overflow". */
void mpt_report_status_words(unsigned status, char *buf, size_t n);

#endif
