/*
 * The trainer telling the truth about itself: the ground-truth log (--log FILE, JSON lines)
 * and the text of the per-step NVTX marks. Tests compare the profiler's findings with both.
 *
 * Log lines (one JSON object each, flushed as written so a killed run's log is whole up to its
 * last step; full schema in docs/reference-trainer.md):
 *   {"event":"config", ...every option, "params":N, "vocab":V, ...}
 *   {"event":"step","step":S,"loss":L,"scale":X,"skipped":0|1,"grad_norm":G,"lr":R
 *    [,"lost_updates":F]}   (F: bf16 master weights only, the fraction of updates rounded away)
 *   {"event":"inject","step":S,"kind":"spike"|"nan","layer":"fwd/blk1/attn/...", ...}
 *   {"event":"nonfinite","step":S,"layer":"fwd/blk1/attn/scores","op":"gemm"|"kernel",
 *    "inputs_finite":0|1, "first_gemm":"..."}
 *   {"event":"eval","step":S,"val_loss":L}
 *   {"event":"end","steps":N,"skipped":K,"final_loss":L,"val_loss":L,"seconds":T}
 * Non-finite numbers are written as the strings "nan", "inf", "-inf" (JSON has no literal for
 * them; strtod and Python's float() read these strings).
 *
 * The mark: "mptrace:step=S loss=L scale=X skip=0|1 grad_norm=G lr=R" (docs/nvtx-conventions.md).
 *
 * Contract: functions return 0 or -1 (write error: errno is kept); nothing exits.
 */
#ifndef MPT_TR_GTLOG_H
#define MPT_TR_GTLOG_H

#include <stddef.h>
#include <stdio.h>

#include "reference-trainer/model.h"
#include "reference-trainer/options.h"

typedef struct mpt_tr_log {
    FILE *f;    /* NULL: logging off, every call is a no-op returning 0 */
    int failed; /* a write failed; reported once by the caller */
} mpt_tr_log;

/* Opens path for writing (truncating). -1 with a message in err on failure. */
int mpt_tr_log_open(mpt_tr_log *log, const char *path, char *err, size_t errlen);
int mpt_tr_log_close(mpt_tr_log *log);

int mpt_tr_log_config(mpt_tr_log *log, const mpt_tr_opts *o, const mpt_tr_config *cfg,
                      size_t n_params, const char *data_desc);
/* lost_updates < 0: the field is left out. */
int mpt_tr_log_step(mpt_tr_log *log, int step, double loss, double scale, int skipped,
                    double grad_norm, double lr, double lost_updates);
/* layer: the NVTX path of the op the injection hits. */
int mpt_tr_log_inject(mpt_tr_log *log, int step, const mpt_tr_inject *in, const char *layer);
/* The first op of `step` whose output held an Inf or NaN; first_gemm: the first GEMM whose
 * output did (NULL: none did). */
int mpt_tr_log_nonfinite(mpt_tr_log *log, int step, const char *layer, int is_gemm,
                         int inputs_finite, const char *first_gemm);
int mpt_tr_log_eval(mpt_tr_log *log, int step, double val_loss);
int mpt_tr_log_end(mpt_tr_log *log, int steps, int skipped, double final_loss, double val_loss,
                   double seconds);

/* A number as JSON: %.9g, or "nan"/"inf"/"-inf" in quotes. Returns buf. */
const char *mpt_tr_json_num(char *buf, size_t len, double v);

/* The per-step mark text; lost_updates < 0 leaves that key out (fp32 master weights, or a
 * skipped step: nothing was updated). Returns the length snprintf would write. */
int mpt_tr_format_mark(char *buf, size_t len, int step, double loss, double scale, int skip,
                       double grad_norm, double lr, double lost_updates);

#endif
