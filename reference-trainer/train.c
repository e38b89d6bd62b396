/*
 * The training loop (contract in train.h). One step, as PyTorch with autocast + GradScaler +
 * clip_grad_norm_ + AdamW does it:
 *   cast weights -> forward (loss) -> backward of loss * scale -> unscale, global norm,
 *   Inf/NaN check -> scaler: skip (scale *= 0.5) or clip and AdamW step -> mark, log.
 * Injected failures change only what they claim to (gpt.h: mpt_tr_step_inject); steps with an
 * injection also run the finite check, so the log names the first op that produced Inf/NaN.
 */
#include "reference-trainer/train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reference-trainer/corpus.h"
#include "reference-trainer/gpt.h"
#include "reference-trainer/gtlog.h"
#include "reference-trainer/optim.h"
#include "reference-trainer/scope.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int load_data(const mpt_tr_opts *o, mpt_tr_corpus *corpus, char *desc, size_t desclen,
                     char *err, size_t errlen)
{
    if (o->data_path) {
        snprintf(desc, desclen, "file:%s", o->data_path);
        return mpt_tr_corpus_load_file(corpus, o->data_path, o->val_frac, err, errlen);
    }
    snprintf(desc, desclen, "synthetic:seed=%llu,bytes=%zu", o->data_seed, o->corpus_bytes);
    char *text = malloc(o->corpus_bytes);
    if (!text) {
        snprintf(err, errlen, "out of memory for a %zu-byte corpus", o->corpus_bytes);
        return -1;
    }
    mpt_tr_corpus_generate(o->data_seed, text, o->corpus_bytes);
    int rc = mpt_tr_corpus_from_text(corpus, text, o->corpus_bytes, o->val_frac, err, errlen);
    free(text);
    return rc;
}

static int write_corpus(const mpt_tr_corpus *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < c->n; i++)
        fputc(c->sym[c->tokens[i]], f);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The injections of one step, and their log lines. */
static mpt_tr_step_inject step_injections(const mpt_tr_opts *o, int step, mpt_tr_log *log, int *any)
{
    mpt_tr_step_inject inj = {-1, 1.0f, -1, MPT_TR_SITE_GELU};
    *any = 0;
    for (int i = 0; i < o->n_inject; i++) {
        const mpt_tr_inject *in = &o->inject[i];
        if (in->step != step) continue;
        char layer[96];
        if (in->kind == MPT_TR_INJECT_SPIKE) {
            inj.spike_block = in->block;
            inj.spike_factor = (float)in->factor;
            snprintf(layer, sizeof layer, "fwd/blk%d/ln1", in->block);
        } else {
            char site[64];
            inj.nan_block = in->block;
            inj.nan_site = in->site;
            mpt_tr_site_path(in->site, in->block, site, sizeof site);
            snprintf(layer, sizeof layer, "fwd/%s", site);
        }
        mpt_tr_log_inject(log, step, in, layer);
        *any = 1;
    }
    return inj;
}

/* Mean loss over the fixed validation batches, in an "eval" range. NaN on a device error. */
static int evaluate(mpt_tr_gpt *g, const mpt_tr_opts *o, const mpt_tr_corpus *c, int32_t *tok,
                    int32_t *tgt, double *val_loss)
{
    double sum = 0.0;
    mpt_tr_scope_push(&g->scope, "eval");
    for (int i = 0; i < o->eval_batches; i++) {
        double loss;
        mpt_tr_corpus_val_batch(c, i, o->eval_batches, o->batch, o->seq, tok, tgt);
        if (mpt_tr_gpt_forward(g, tok, tgt, NULL, &loss)) return -1;
        sum += loss;
    }
    mpt_tr_scope_pop(&g->scope);
    *val_loss = sum / o->eval_batches;
    return 0;
}

typedef struct run_state {
    mpt_tr_scaler scaler;
    int taken; /* optimizer steps taken (AdamW's t) */
    int skipped;
    double loss;
} run_state;

static int train_step(mpt_tr_gpt *g, const mpt_tr_opts *o, run_state *rs, int step,
                      const int32_t *tok, const int32_t *tgt, mpt_tr_log *log, FILE *out,
                      double t_start)
{
    double lr = mpt_tr_lr_at(step, o->steps, o->warmup, o->lr, o->min_lr_frac);
    int injected;
    mpt_tr_step_inject inj = step_injections(o, step, log, &injected);
    int check = o->check_finite || injected;
    double scale = rs->scaler.scale, grad_norm, lost = -1.0;
    long nonfinite;
    mpt_tr_nvtx_step_begin(step);
    if ((check && mpt_tr_gpt_check_begin(g)) || mpt_tr_gpt_cast_weights(g) ||
        mpt_tr_gpt_forward(g, tok, tgt, &inj, &rs->loss) || mpt_tr_gpt_backward(g, scale, &inj))
        return -1;
    mpt_tr_gpt_check_end(g);
    mpt_tr_scope_push(&g->scope, "optim");
    if (mpt_tr_gpt_unscale(g, scale, &grad_norm, &nonfinite)) return -1;
    int skip = mpt_tr_scaler_update(&rs->scaler, nonfinite > 0);
    if (!skip) {
        /* a non-finite norm gives a NaN coefficient, which poisons every update, as
         * clip_grad_norm_ does; without clipping only the non-finite gradients do */
        double coef = mpt_tr_clip_coef(grad_norm, o->max_grad_norm);
        int rc = o->optimizer_sgd
                     ? mpt_tr_gpt_sgd(g, lr, o->momentum, o->weight_decay, coef, &lost)
                     : mpt_tr_gpt_adamw(g, lr, o->weight_decay, coef, ++rs->taken, &lost);
        if (rc) return -1;
    }
    rs->skipped += skip;
    mpt_tr_scope_pop(&g->scope);
    char mark[256];
    mpt_tr_format_mark(mark, sizeof mark, step, rs->loss, scale, skip, grad_norm, lr, lost);
    mpt_tr_nvtx_mark(mark);
    mpt_tr_nvtx_step_end();
    mpt_tr_log_step(log, step, rs->loss, scale, skip, grad_norm, lr, lost);
    if (check && g->check.found)
        mpt_tr_log_nonfinite(log, step, g->check.layer, g->check.is_gemm, g->check.inputs_finite,
                             g->check.first_gemm[0] ? g->check.first_gemm : NULL);
    if (o->print_every &&
        ((step + 1) % o->print_every == 0 || step == 0 || step + 1 == o->steps || skip || injected))
        fprintf(out,
                "step %5d/%d | loss %8.4f | scale %-8g | skip %d | grad norm %9.4g | lr %.3e | "
                "%.1f s\n",
                step, o->steps, rs->loss, scale, skip, grad_norm, lr, now_s() - t_start);
    return 0;
}

int mpt_tr_run(const mpt_tr_opts *o, FILE *out, char *err, size_t errlen)
{
    mpt_tr_corpus corpus;
    char desc[512];
    if (load_data(o, &corpus, desc, sizeof desc, err, errlen)) return 2;
    if (o->write_corpus) {
        int rc = write_corpus(&corpus, o->write_corpus, err, errlen) ? 2 : 0;
        mpt_tr_corpus_free(&corpus);
        return rc;
    }
    if (mpt_tr_opts_check_data(o, corpus.n_train, mpt_tr_corpus_val_tokens(&corpus), err, errlen)) {
        mpt_tr_corpus_free(&corpus);
        return 2;
    }
    mpt_tr_log log = {0};
    if (o->log_path && mpt_tr_log_open(&log, o->log_path, err, errlen)) {
        mpt_tr_corpus_free(&corpus);
        return 2;
    }
    mpt_tr_config cfg = {
        corpus.vocab, o->layers, o->dim, o->heads, o->seq, o->batch, o->norm == MPT_TR_RMSNORM};
    mpt_tr_gpt g;
    size_t N = (size_t)o->batch * o->seq;
    int32_t *tok = malloc(N * sizeof *tok), *tgt = malloc(N * sizeof *tgt);
    int status = 1;
    run_state rs = {0};
    double val_loss = NAN, t0 = now_s();
    if (!tok || !tgt) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (mpt_tr_gpt_init(&g, o, &cfg)) {
        snprintf(err, errlen, "%s", g.err);
        mpt_tr_gpt_free(&g);
        goto done;
    }
    mpt_tr_log_config(&log, o, &cfg, g.lo.total, desc);
    if (out && o->print_every)
        fprintf(out,
                "mpt-train: %s, %d layers, dim %d, %d heads, seq %d, batch %d, vocab %d, "
                "%zu parameters, %s\n",
                mpt_tr_precision_name(o->precision), cfg.L, cfg.C, cfg.H, cfg.T, cfg.B, cfg.V,
                g.lo.total, desc);
    mpt_tr_rng rng;
    mpt_tr_rng_seed(&rng, o->seed, 0x6261746368ull /* "batch" */);
    mpt_tr_scaler_init(&rs.scaler, o->precision == MPT_TR_16_MIXED && o->loss_scale, o->init_scale,
                       o->scale_window);
    t0 = now_s();
    for (int step = 0; step < o->steps; step++) {
        mpt_tr_corpus_train_batch(&corpus, &rng, o->batch, o->seq, tok, tgt);
        if (train_step(&g, o, &rs, step, tok, tgt, &log, out, t0)) goto device_error;
        if (o->eval_every && (step + 1) % o->eval_every == 0 && step + 1 < o->steps) {
            if (evaluate(&g, o, &corpus, tok, tgt, &val_loss)) goto device_error;
            mpt_tr_log_eval(&log, step, val_loss);
        }
    }
    double train_s = now_s() - t0;
    if (evaluate(&g, o, &corpus, tok, tgt, &val_loss)) goto device_error;
    mpt_tr_log_eval(&log, o->steps - 1, val_loss);
    char mark[96];
    snprintf(mark, sizeof mark, "mptrace:step=%d val_loss=%.9g", o->steps - 1, val_loss);
    mpt_tr_nvtx_mark(mark);
    mpt_tr_log_end(&log, o->steps, rs.skipped, rs.loss, val_loss, train_s);
    if (out && o->print_every)
        fprintf(out,
                "done: %d steps in %.2f s (%.1f steps/s), last train loss %.4f, val loss %.4f, "
                "%d skipped\n",
                o->steps, train_s, o->steps / train_s, rs.loss, val_loss, rs.skipped);
    status = 0;
    goto free_model;
device_error:
    snprintf(err, errlen, "%s", g.err);
free_model:
    mpt_tr_gpt_free(&g);
done:
    if (mpt_tr_log_close(&log) && status == 0) {
        snprintf(err, errlen, "writing the log '%s' failed", o->log_path);
        status = 1;
    }
    free(tok);
    free(tgt);
    mpt_tr_corpus_free(&corpus);
    return status;
}
