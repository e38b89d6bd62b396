/*
 * Ground-truth log and mark text (contract in gtlog.h).
 */
#include "reference-trainer/gtlog.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

const char *mpt_tr_json_num(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "\"nan\"");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "\"inf\"" : "\"-inf\"");
    else
        snprintf(buf, len, "%.9g", v);
    return buf;
}

/* A number for a mark: plain text, nan/inf spelled as strtod reads them. */
static const char *mark_num(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "nan");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, len, "%.9g", v);
    return buf;
}

int mpt_tr_format_mark(char *buf, size_t len, int step, double loss, double scale, int skip,
                       double grad_norm, double lr, double lost_updates)
{
    char a[32], b[32], c[32], d[32], e[48] = "";
    if (lost_updates >= 0.0) snprintf(e, sizeof e, " lost_updates=%.6g", lost_updates);
    return snprintf(buf, len, "mptrace:step=%d loss=%s scale=%s skip=%d grad_norm=%s lr=%s%s",
                    step, mark_num(a, sizeof a, loss), mark_num(b, sizeof b, scale), skip ? 1 : 0,
                    mark_num(c, sizeof c, grad_norm), mark_num(d, sizeof d, lr), e);
}

int mpt_tr_log_open(mpt_tr_log *log, const char *path, char *err, size_t errlen)
{
    log->failed = 0;
    log->f = fopen(path, "w");
    if (!log->f) {
        snprintf(err, errlen, "cannot write log file '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int mpt_tr_log_close(mpt_tr_log *log)
{
    if (!log->f) return 0;
    int rc = fclose(log->f);
    log->f = NULL;
    return rc == 0 && !log->failed ? 0 : -1;
}

static int emit(mpt_tr_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int emit(mpt_tr_log *log, const char *fmt, ...)
{
    if (!log->f) return 0;
    va_list ap;
    va_start(ap, fmt);
    int rc = vfprintf(log->f, fmt, ap);
    va_end(ap);
    if (rc < 0 || fputc('\n', log->f) == EOF || fflush(log->f) != 0) {
        log->failed = 1;
        return -1;
    }
    return 0;
}

/* JSON string body: the paths and names written here are ASCII without quotes, but a --data
 * path can be anything, so escape what JSON requires. */
static void json_str(char *out, size_t len, const char *s)
{
    size_t n = 0;
    for (; s && *s && n + 7 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[n++] = '\\';
            out[n++] = (char)ch;
        } else if (ch < 0x20) {
            n += (size_t)snprintf(out + n, len - n, "\\u%04x", ch);
        } else {
            out[n++] = (char)ch;
        }
    }
    out[n] = '\0';
}

int mpt_tr_log_config(mpt_tr_log *log, const mpt_tr_opts *o, const mpt_tr_config *cfg,
                      size_t n_params, const char *data_desc)
{
    char data[512], a[32], b[32], c[32], d[32];
    json_str(data, sizeof data, data_desc);
    return emit(log,
                "{\"event\":\"config\",\"preset\":\"%s\",\"precision\":\"%s\",\"layers\":%d,"
                "\"dim\":%d,\"heads\":%d,\"seq\":%d,\"batch\":%d,\"vocab\":%d,\"norm\":\"%s\","
                "\"steps\":%d,\"warmup\":%d,\"lr\":%s,\"min_lr_frac\":%s,\"weight_decay\":%s,"
                "\"max_grad_norm\":%s,\"optimizer\":\"%s\",\"momentum\":%.9g,\"tf32\":%d,"
                "\"gemm_compute\":\"%s\",\"loss_scale\":%d,"
                "\"init_scale\":%.9g,\"scale_window\":%d,\"master_weights\":\"%s\","
                "\"seed\":%llu,\"data\":\"%s\",\"params\":%zu,\"injections\":%d}",
                o->preset, mpt_tr_precision_name(o->precision), cfg->L, cfg->C, cfg->H, cfg->T,
                cfg->B, cfg->V, cfg->rms ? "rmsnorm" : "layernorm", o->steps, o->warmup,
                mpt_tr_json_num(a, sizeof a, o->lr), mpt_tr_json_num(b, sizeof b, o->min_lr_frac),
                mpt_tr_json_num(c, sizeof c, o->weight_decay),
                mpt_tr_json_num(d, sizeof d, o->max_grad_norm),
                o->optimizer_sgd ? "sgd" : "adamw", o->momentum, o->tf32,
                o->gemm_compute_16f ? "16F" : "32F",
                o->precision == MPT_TR_16_MIXED && o->loss_scale, o->init_scale, o->scale_window,
                o->master_bf16 ? "bf16" : "fp32", o->seed, data, n_params, o->n_inject);
}

int mpt_tr_log_step(mpt_tr_log *log, int step, double loss, double scale, int skipped,
                    double grad_norm, double lr, double lost_updates)
{
    char a[32], b[32], c[32], d[32], e[48] = "";
    if (lost_updates >= 0.0) snprintf(e, sizeof e, ",\"lost_updates\":%.6g", lost_updates);
    return emit(log,
                "{\"event\":\"step\",\"step\":%d,\"loss\":%s,\"scale\":%s,\"skipped\":%d,"
                "\"grad_norm\":%s,\"lr\":%s%s}",
                step, mpt_tr_json_num(a, sizeof a, loss), mpt_tr_json_num(b, sizeof b, scale),
                skipped ? 1 : 0, mpt_tr_json_num(c, sizeof c, grad_norm),
                mpt_tr_json_num(d, sizeof d, lr), e);
}

int mpt_tr_log_inject(mpt_tr_log *log, int step, const mpt_tr_inject *in, const char *layer)
{
    char a[32];
    if (in->kind == MPT_TR_INJECT_SPIKE)
        return emit(log,
                    "{\"event\":\"inject\",\"step\":%d,\"kind\":\"spike\",\"layer\":\"%s\","
                    "\"block\":%d,\"factor\":%s}",
                    step, layer, in->block, mpt_tr_json_num(a, sizeof a, in->factor));
    return emit(log,
                "{\"event\":\"inject\",\"step\":%d,\"kind\":\"nan\",\"layer\":\"%s\",\"block\":%d}",
                step, layer, in->block);
}

int mpt_tr_log_nonfinite(mpt_tr_log *log, int step, const char *layer, int is_gemm,
                         int inputs_finite, const char *first_gemm)
{
    if (first_gemm)
        return emit(log,
                    "{\"event\":\"nonfinite\",\"step\":%d,\"layer\":\"%s\",\"op\":\"%s\","
                    "\"inputs_finite\":%d,\"first_gemm\":\"%s\"}",
                    step, layer, is_gemm ? "gemm" : "kernel", inputs_finite ? 1 : 0, first_gemm);
    return emit(log,
                "{\"event\":\"nonfinite\",\"step\":%d,\"layer\":\"%s\",\"op\":\"%s\","
                "\"inputs_finite\":%d,\"first_gemm\":null}",
                step, layer, is_gemm ? "gemm" : "kernel", inputs_finite ? 1 : 0);
}

int mpt_tr_log_eval(mpt_tr_log *log, int step, double val_loss)
{
    char a[32];
    return emit(log, "{\"event\":\"eval\",\"step\":%d,\"val_loss\":%s}", step,
                mpt_tr_json_num(a, sizeof a, val_loss));
}

int mpt_tr_log_end(mpt_tr_log *log, int steps, int skipped, double final_loss, double val_loss,
                   double seconds)
{
    char a[32], b[32], c[32];
    return emit(log,
                "{\"event\":\"end\",\"steps\":%d,\"skipped\":%d,\"final_loss\":%s,"
                "\"val_loss\":%s,\"seconds\":%s}",
                steps, skipped, mpt_tr_json_num(a, sizeof a, final_loss),
                mpt_tr_json_num(b, sizeof b, val_loss), mpt_tr_json_num(c, sizeof c, seconds));
}
