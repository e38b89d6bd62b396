/*
 * One GEMM on the GPU statistics path (docs/interposer.md, "Two statistics paths"): what
 * recorder.c does with the host reducer, done with the statistics kernel queued on the GEMM's
 * stream (gpu_ring.c), and the records its results become when they are drained.
 *
 * The records are those of the host path, for the same policy, with one difference in timing:
 *  - end() queues D's pass and asks for its result at once (mpt_gpu_take, never blocking).
 *    When it is already there (always on simcuda without SIMCUDA_EVENT_LAG; on a GPU only when
 *    the device has caught up), everything happens as on the host path: the cheap pass's alarm
 *    upgrades this very GEMM to full statistics (its inputs are still unchanged on the stream)
 *    and the TENSOR record follows the GEMM record.
 *  - Otherwise the GEMM record is written with the level queued, and D's TENSOR record comes
 *    when a later drain (a later GEMM, a step boundary, exit) finds it finished: the alarm and
 *    the absmax history then act from that moment, on the GEMMs of the same step still to
 *    come; the GEMM that raised it keeps its cheap statistics. A non-finite backward output
 *    found after its step ended still gives that step an inferred skip (written here).
 *  - The precision sample runs on the device (gpu_sample_kernel.cu), on the same positions as
 *    the host path's (the same plan, up to MPT_GPU_SAMPLE_MAX of them), queued after the GEMM
 *    record; its PRECISION record comes when drained. Not sampled (absent: not measured): a
 *    GEMM that accumulates into its output (beta != 0 with C == D: C's old values are gone
 *    after the call), and one whose alpha/beta live in device memory.
 * TENSOR records of a GEMM never precede its GEMM record: jobs queued before the record is
 * written are held in the ring until mpt_gpu_release().
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "interposer/gpu_ring.h"
#include "interposer/gpu_sample.h"
#include "interposer/ipx.h"

/* ---- choosing the path ---------------------------------------------------------------------- */

int mpt_ipx_gpu_path(void)
{
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    if (cfg->gpu_stats == 0) return 0;
    char why[300];
    if (mpt_gpu_available(why, sizeof why)) return 1;
    static atomic_int said;
    if (!atomic_exchange(&said, 1)) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "GPU statistics unavailable (%s): GEMMs are recorded without statistics "
                 "(skip reason unreadable)",
                 why);
        mpt_trace_writer *w = mpt_ipx_writer(NULL);
        if (w) mpt_trace_writer_message(w, MPT_MSG_WARN, msg);
        if (!cfg->quiet) {
            char line[500];
            int n = snprintf(line, sizeof line, "mptrace: %s\n", msg);
            if (n > 0) {
                ssize_t wr = write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
                (void)wr;
            }
        }
    }
    return 0;
}

/* ---- queueing ------------------------------------------------------------------------------- */

static mpt_gpu_operand_ref ref_of(const mpt_ipx_operand *o)
{
    mpt_gpu_operand_ref r = {
        .data = o->ptrs ? (const void *)o->ptrs : o->ptr,
        .ld = o->ld,
        .stride = o->stride,
        .dtype = (int)o->dtype,
        .layout =
            (o->order == MPT_ORDER_ROW ? MPT_GPU_ROW_MAJOR : 0) | (o->ptrs ? MPT_GPU_PTR_ARRAY : 0),
    };
    return r;
}

/* Queues the precision sample of a fully measured GEMM whose record is written. */
static void queue_sample(const mpt_ipx_gemm *g, const mpt_ipx_pending *p)
{
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    if (cfg->sample <= 0 || g->no_sample || isnan(p->alpha) || isnan(p->beta)) return;
    if (p->beta != 0 && (g->c_is_d || !MPT_GPU_DTYPE_OK(g->c.dtype))) return;
    if (!MPT_GPU_DTYPE_OK(g->a.dtype) || !MPT_GPU_DTYPE_OK(g->b.dtype) ||
        !MPT_GPU_DTYPE_OK(g->d.dtype) || (g->bias && !MPT_GPU_DTYPE_OK(g->bias_dtype)))
        return;
    int k = cfg->sample < MPT_GPU_SAMPLE_MAX ? cfg->sample : MPT_GPU_SAMPLE_MAX;
    /* beta 0: the plan must not read C on the host; the kernel reads it (C is not D) */
    mpt_ipx_sample *plan = mpt_ipx_sample_plan(g, k, cfg->seed, p->seq, 0.0);
    if (!plan) return;
    mpt_gpu_sample_desc d;
    memset(&d, 0, sizeof d);
    d.a = ref_of(&g->a);
    d.b = ref_of(&g->b);
    d.c = ref_of(&g->c);
    d.d = ref_of(&g->d);
    d.bias = g->bias;
    d.bias_dtype = (int)g->bias_dtype;
    d.transa = g->transa != 0;
    d.transb = g->transb != 0;
    d.epilogue = g->epilogue == MPT_EPI_RELU || g->epilogue == MPT_EPI_RELU_BIAS ? MPT_GPU_EPI_RELU
                 : g->epilogue == MPT_EPI_GELU || g->epilogue == MPT_EPI_GELU_BIAS
                     ? MPT_GPU_EPI_GELU
                     : MPT_GPU_EPI_NONE;
    d.n = plan->n;
    d.k = g->k;
    d.alpha = p->alpha;
    d.beta = p->beta;
    for (int x = 0; x < plan->n; x++) {
        d.pos_b[x] = plan->b[x];
        d.pos_i[x] = plan->i[x];
        d.pos_j[x] = plan->j[x];
    }
    mpt_ipx_sample_free(plan);
    mpt_gpu_tag tag = {
        .kind = MPT_GPU_JOB_SAMPLE,
        .info = {p->seq, MPT_ROLE_D, g->d.dtype, g->d.rows, g->d.cols, g->batch},
        .level = MPT_LEVEL_FULL,
        .step = p->sc.step,
        .tid = p->tid,
    };
    mpt_gpu_launch_sample(&tag, g->stream, &d);
}

static mpt_gpu_tag tag_for(const mpt_ipx_pending *p, const mpt_ipx_operand *o, int64_t batch,
                           mpt_tensor_role role, mpt_stat_level level, int primary)
{
    mpt_gpu_tag tag = {
        .kind = MPT_GPU_JOB_STATS,
        .info = {p->seq, role, o->dtype, o->rows, o->cols, batch},
        .level = level,
        .step = p->sc.step,
        .signature = p->signature,
        .primary = primary,
        .backward = p->backward,
        .tid = p->tid,
    };
    return tag;
}

static int queue(const mpt_ipx_gemm *g, const mpt_ipx_pending *p, const mpt_ipx_operand *o,
                 mpt_tensor_role role, mpt_stat_level level, int primary, int held,
                 uint64_t *ticket)
{
    if (o->rows == 0 || o->cols == 0 || !MPT_GPU_DTYPE_OK(o->dtype)) return -1;
    mpt_gpu_tag tag = tag_for(p, o, g->batch, role, level, primary);
    uint64_t dummy;
    return mpt_gpu_launch_stats(&tag, g->stream, o, g->batch, level == MPT_LEVEL_FULL, held,
                                ticket ? ticket : &dummy);
}

void mpt_ipx_gpu_begin_c(const mpt_ipx_gemm *g, mpt_ipx_pending *p, int full)
{
    mpt_stat_level level = full ? MPT_LEVEL_FULL : MPT_LEVEL_CHEAP;
    if (queue(g, p, &g->c, MPT_ROLE_C, level, 0, 1, NULL) == 0) {
        p->have_c_stats = 2; /* 2: on the GPU, its record comes from the ring */
        p->c_level = level;
    }
}

static void cheap_of(const mpt_stats *s, mpt_cheap_stats *c)
{
    c->count = s->count;
    c->nan = s->nan;
    c->inf = s->pinf + s->ninf;
    c->absmax = s->absmax;
}

static void write_tensor(mpt_trace_writer *w, const mpt_trace_tensor_info *info,
                         mpt_stat_level level, const mpt_stats *s)
{
    if (level == MPT_LEVEL_FULL) {
        mpt_trace_writer_tensor_full(w, info, s);
    } else {
        mpt_cheap_stats c;
        cheap_of(s, &c);
        mpt_trace_writer_tensor_cheap(w, info, &c);
    }
}

void mpt_ipx_gpu_end(mpt_ipx_thread *t, const mpt_ipx_gemm *g, mpt_ipx_pending *p, int ok)
{
    (void)t;
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    mpt_trace_writer *w = p->w;
    if (!ok) { /* nothing happened: C's pass, if queued, is dropped, not recorded */
        mpt_gpu_release(p->seq, 0);
        return;
    }
    mpt_stat_level level = p->level;
    uint64_t ticket;
    mpt_stats st;
    int got = 0, upgraded = 0;
    if (queue(g, p, &g->d, MPT_ROLE_D, level, 1, 1, &ticket) != 0) {
        level = MPT_LEVEL_NONE;
        p->skip = MPT_SKIP_ERROR; /* gpu_ring.c wrote a MESSAGE saying why */
    } else {
        mpt_gpu_stats gs;
        got = mpt_gpu_take(ticket, &gs) == 1;
        if (got) mpt_gpu_stats_to_stats(&gs, &st);
    }
    if (got) { /* as on the host path (recorder.c) */
        int nonfinite = st.nan || st.pinf || st.ninf;
        int jump = mpt_ipx_alarm_note(p->signature, st.absmax);
        if (nonfinite || (level == MPT_LEVEL_CHEAP && jump)) mpt_ipx_alarm_raise(p->sc.step);
        if (nonfinite) mpt_ipx_steps_note_nonfinite(p->sc.step, p->backward);
        if (level == MPT_LEVEL_CHEAP && (nonfinite || jump)) {
            level = MPT_LEVEL_FULL; /* this GEMM too: its inputs are still there */
            upgraded = queue(g, p, &g->d, MPT_ROLE_D, MPT_LEVEL_FULL, 0, 1, NULL) == 0;
            if (!upgraded) level = MPT_LEVEL_CHEAP; /* the cheap result stands */
        }
    }
    mpt_stat_level max_level = level;
    if (p->have_c_stats && p->c_level > max_level) max_level = p->c_level;
    if (mpt_ipx_write_gemm(g, p, max_level) != 0) {
        mpt_gpu_release(p->seq, 0);
        goto failed;
    }
    if (got && !upgraded)
        write_tensor(w,
                     &(mpt_trace_tensor_info){p->seq, MPT_ROLE_D, g->d.dtype, g->d.rows, g->d.cols,
                                              g->batch},
                     level, &st);
    mpt_gpu_release(p->seq, 1);
    if (level == MPT_LEVEL_FULL && cfg->inputs) {
        queue(g, p, &g->a, MPT_ROLE_A, MPT_LEVEL_FULL, 0, 0, NULL);
        queue(g, p, &g->b, MPT_ROLE_B, MPT_LEVEL_FULL, 0, 0, NULL);
        if (g->bias) {
            mpt_ipx_operand bias = {.ptr = g->bias,
                                    .dtype = g->bias_dtype,
                                    .order = MPT_ORDER_COL,
                                    .rows = g->m,
                                    .cols = 1,
                                    .ld = g->m > 0 ? g->m : 1};
            mpt_gpu_tag tag = tag_for(p, &bias, 1, MPT_ROLE_BIAS, MPT_LEVEL_FULL, 0);
            uint64_t dummy;
            if (MPT_GPU_DTYPE_OK(bias.dtype) && g->m > 0)
                mpt_gpu_launch_stats(&tag, g->stream, &bias, 1, 1, 0, &dummy);
        }
    }
    if (level == MPT_LEVEL_FULL) queue_sample(g, p);
    mpt_gpu_drain(0);
    mpt_ipx_maybe_flush(p->ts);
failed:
    if (mpt_trace_writer_error(w)) {
        char why[400];
        snprintf(why, sizeof why, "trace write failed: %s", mpt_trace_writer_error(w));
        mpt_ipx_degrade(why);
    }
}

/* ---- results from the ring ------------------------------------------------------------------- */

static _Atomic int64_t late_skip_step = INT64_MIN;

static void scalar(mpt_trace_writer *w, int64_t step, const char *key, uint32_t flags, double v)
{
    mpt_trace_scalar s = {step, mpt_trace_now_ns(), mpt_trace_writer_intern(w, key), flags, v};
    mpt_trace_writer_scalar(w, &s);
}

void mpt_ipx_gpu_emit(const mpt_gpu_tag *tag, const void *result)
{
    mpt_trace_writer *w = mpt_ipx_writer(NULL);
    if (!w) return;
    if (tag->kind == MPT_GPU_JOB_SAMPLE) {
        mpt_trace_precision prec;
        mpt_ipx_sample_summary(tag->info.dtype, result, tag->nsample, &prec);
        prec.seq = tag->info.seq;
        mpt_trace_writer_precision(w, &prec);
        return;
    }
    if (tag->kind == MPT_GPU_JOB_SCALER) {
        float v[2];
        memcpy(v, result, sizeof v);
        scalar(w, tag->step, "scale", MPT_SCALAR_GRADSCALER, v[0]);
        scalar(w, tag->step, "skip", MPT_SCALAR_GRADSCALER, v[1] != 0.0f);
        return;
    }
    mpt_stats st;
    mpt_gpu_stats_to_stats(result, &st);
    if (tag->primary) { /* D's pass that end() could not take at once */
        int nonfinite = st.nan || st.pinf || st.ninf;
        int jump = mpt_ipx_alarm_note(tag->signature, st.absmax);
        if (nonfinite || (tag->level == MPT_LEVEL_CHEAP && jump)) mpt_ipx_alarm_raise(tag->step);
        if (nonfinite) {
            /* The step still on: step_detect.c writes the inferred skip at its end. Ended: write
             * it here. With marks, "current" is also the step that just ended, so both may
             * write it (a repeated skip=1 is harmless: the analyzer keeps the maximum). */
            mpt_ipx_steps_note_nonfinite(tag->step, tag->backward);
            int open = tag->step == mpt_ipx_steps_current() &&
                       mpt_ipx_steps_source() != MPT_IPX_STEPS_MARK;
            if (tag->backward && tag->step >= 0 && !open &&
                atomic_exchange(&late_skip_step, tag->step) != tag->step)
                scalar(w, tag->step, "skip", MPT_SCALAR_INFERRED, 1.0);
        }
    }
    write_tensor(w, &tag->info, tag->level, &st);
}

/* ---- GradScaler ---------------------------------------------------------------------------------
 */

void mpt_ipx_scaler_update(uint64_t stream, const float *current_scale, const float *found_inf)
{
    mpt_trace_writer *w = mpt_ipx_writer(NULL);
    if (!w || !current_scale || !found_inf) return;
    int64_t step = mpt_ipx_steps_current();
    if (mpt_ipx_host_readable()) {
        scalar(w, step, "scale", MPT_SCALAR_GRADSCALER, *current_scale);
        scalar(w, step, "skip", MPT_SCALAR_GRADSCALER, *found_inf != 0.0f);
        return;
    }
    if (!mpt_ipx_gpu_path()) return;
    mpt_gpu_tag tag = {.kind = MPT_GPU_JOB_SCALER, .step = step};
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    tag.tid = t ? t->tid : 0;
    mpt_gpu_launch_scaler(&tag, stream, current_scale, found_inf);
}
