/*
 * Command-line parsing and validation for mpt-train (contract in options.h). Table-free on
 * purpose: each flag is one `if` in parse_one, so the flag, its bounds and its message sit
 * together; mpt_tr_opts_usage is the user-facing copy of the same list.
 */
#include "reference-trainer/options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Sizes past these are refused: they guard the size arithmetic, not any machine's memory. */
#define MAX_LAYERS 256
#define MAX_DIM    16384
#define MAX_HEADS  1024
#define MAX_SEQ    65536
#define MAX_BATCH  65536
#define MAX_STEPS  100000000

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && len) vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

const char *mpt_tr_precision_name(mpt_tr_precision p)
{
    switch (p) {
    case MPT_TR_32_TRUE:
        return "32-true";
    case MPT_TR_16_MIXED:
        return "16-mixed";
    case MPT_TR_BF16_MIXED:
        return "bf16-mixed";
    }
    return "?";
}

static const char *const site_names[MPT_TR_SITE_COUNT] = {"ln1", "attn/softmax", "ln2", "mlp/gelu"};

void mpt_tr_site_path(mpt_tr_nan_site site, int block, char *buf, size_t len)
{
    snprintf(buf, len, "blk%d/%s", block,
             (unsigned)site < MPT_TR_SITE_COUNT ? site_names[site] : "?");
}

void mpt_tr_opts_default(mpt_tr_opts *o)
{
    memset(o, 0, sizeof *o);
    o->layers = 2;
    o->dim = 64;
    o->heads = 4;
    o->seq = 64;
    o->batch = 8;
    o->norm = MPT_TR_LAYERNORM;
    o->steps = 200;
    o->warmup = -1; /* 10% of --steps */
    o->lr = 2e-3;
    o->min_lr_frac = 0.1;
    o->weight_decay = 0.1;
    o->max_grad_norm = 1.0;
    o->momentum = 0.9;
    o->precision = MPT_TR_32_TRUE;
    o->loss_scale = 1;
    o->init_scale = 65536.0;
    o->scale_window = 2000;
    o->data_seed = 1;
    o->corpus_bytes = 256 * 1024;
    o->val_frac = 0.1;
    o->seed = 1337;
    o->eval_every = 0;
    o->eval_batches = 8;
    o->print_every = 20;
    o->preset = "tiny";
}

static int apply_preset(mpt_tr_opts *o, const char *name, char *err, size_t errlen)
{
    if (strcmp(name, "tiny") == 0) {
        mpt_tr_opts d;
        mpt_tr_opts_default(&d);
        o->layers = d.layers, o->dim = d.dim, o->heads = d.heads, o->seq = d.seq;
        o->batch = d.batch, o->steps = d.steps, o->lr = d.lr;
        o->corpus_bytes = d.corpus_bytes;
        o->preset = "tiny";
        return 0;
    }
    if (strcmp(name, "gpt2-small") == 0) {
        /* GPT-2 small's shape (124M with a 50257-token vocabulary; here the vocabulary is the
         * corpus's bytes) and nanoGPT's schedule, scaled to a short run. */
        o->layers = 12, o->dim = 768, o->heads = 12, o->seq = 1024, o->batch = 8;
        o->steps = 2000, o->lr = 6e-4;
        o->corpus_bytes = 8u << 20;
        o->preset = "gpt2-small";
        return 0;
    }
    set_err(err, errlen, "unknown preset '%s' (known: tiny, gpt2-small)", name);
    return -1;
}

static int parse_int(const char *flag, const char *s, long lo, long hi, int *out, char *err,
                     size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno) {
        set_err(err, errlen, "%s: '%s' is not an integer", flag, s);
        return -1;
    }
    if (v < lo || v > hi) {
        set_err(err, errlen, "%s: %ld is out of range [%ld, %ld]", flag, v, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_u64(const char *flag, const char *s, unsigned long long *out, char *err,
                     size_t errlen)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0') {
        set_err(err, errlen, "%s: '%s' is not a non-negative integer", flag, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 0);
    if (*end != '\0' || errno) {
        set_err(err, errlen, "%s: '%s' is not a non-negative integer", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *flag, const char *s, double lo, double hi, double *out,
                        char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno || !isfinite(v)) {
        set_err(err, errlen, "%s: '%s' is not a finite number", flag, s);
        return -1;
    }
    if (v < lo || v > hi) {
        set_err(err, errlen, "%s: %g is out of range [%g, %g]", flag, v, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int mpt_tr_inject_parse(const char *arg, mpt_tr_inject *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *at = strchr(arg, '@');
    if (!at) {
        set_err(err, errlen,
                "--inject '%s': expected spike@STEP[:FACTOR[:BLOCK]] or nan@STEP:LAYER", arg);
        return -1;
    }
    size_t kind_len = (size_t)(at - arg);
    char buf[128];
    if (strlen(at + 1) >= sizeof buf) {
        set_err(err, errlen, "--inject '%s': too long", arg);
        return -1;
    }
    strcpy(buf, at + 1);
    char *fields[4] = {buf, NULL, NULL, NULL};
    int nf = 1;
    for (char *p = buf; *p; p++)
        if (*p == ':') {
            if (nf == 4) {
                set_err(err, errlen, "--inject '%s': too many ':' fields", arg);
                return -1;
            }
            *p = '\0';
            fields[nf++] = p + 1;
        }
    if (parse_int("--inject STEP", fields[0], 0, MAX_STEPS, &out->step, err, errlen)) return -1;
    if (kind_len == 5 && strncmp(arg, "spike", 5) == 0) {
        out->kind = MPT_TR_INJECT_SPIKE;
        out->factor = 1000.0;
        out->block = -1; /* the last block, resolved once --layers is known */
        if (nf > 3) {
            set_err(err, errlen, "--inject '%s': spike takes spike@STEP[:FACTOR[:BLOCK]]", arg);
            return -1;
        }
        if (nf >= 2 && parse_double("--inject spike FACTOR", fields[1], 1e-30, 1e30, &out->factor,
                                    err, errlen))
            return -1;
        if (nf >= 3 && parse_int("--inject spike BLOCK", fields[2], 0, MAX_LAYERS - 1, &out->block,
                                 err, errlen))
            return -1;
        return 0;
    }
    if (kind_len == 3 && strncmp(arg, "nan", 3) == 0) {
        out->kind = MPT_TR_INJECT_NAN;
        if (nf != 2) {
            set_err(err, errlen,
                    "--inject '%s': nan takes nan@STEP:LAYER (LAYER: N or blkN/ln1, "
                    "blkN/attn/softmax, blkN/ln2, blkN/mlp/gelu)",
                    arg);
            return -1;
        }
        const char *layer = fields[1];
        out->site = MPT_TR_SITE_GELU;
        if (strncmp(layer, "blk", 3) == 0) {
            char *end;
            errno = 0;
            long b = strtol(layer + 3, &end, 10);
            if (end == layer + 3 || errno || b < 0 || b >= MAX_LAYERS) {
                set_err(err, errlen, "--inject '%s': bad block in '%s'", arg, layer);
                return -1;
            }
            out->block = (int)b;
            if (*end == '/') {
                int found = -1;
                for (int s = 0; s < MPT_TR_SITE_COUNT; s++)
                    if (strcmp(end + 1, site_names[s]) == 0) found = s;
                if (found < 0) {
                    set_err(err, errlen,
                            "--inject '%s': unknown layer '%s' (known: blkN/ln1, "
                            "blkN/attn/softmax, blkN/ln2, blkN/mlp/gelu)",
                            arg, layer);
                    return -1;
                }
                out->site = (mpt_tr_nan_site)found;
            } else if (*end != '\0') {
                set_err(err, errlen, "--inject '%s': unknown layer '%s'", arg, layer);
                return -1;
            }
            return 0;
        }
        return parse_int("--inject nan LAYER", layer, 0, MAX_LAYERS - 1, &out->block, err, errlen);
    }
    set_err(err, errlen, "--inject '%s': unknown kind (known: spike, nan)", arg);
    return -1;
}

/* One flag with its value (NULL for switches). Returns 0, or -1 with err set. */
static int parse_one(mpt_tr_opts *o, const char *f, const char *v, char *err, size_t n)
{
#define IS(name) (strcmp(f, name) == 0)
    if (IS("--layers")) return parse_int(f, v, 1, MAX_LAYERS, &o->layers, err, n);
    if (IS("--dim")) return parse_int(f, v, 1, MAX_DIM, &o->dim, err, n);
    if (IS("--heads")) return parse_int(f, v, 1, MAX_HEADS, &o->heads, err, n);
    if (IS("--seq")) return parse_int(f, v, 1, MAX_SEQ, &o->seq, err, n);
    if (IS("--batch")) return parse_int(f, v, 1, MAX_BATCH, &o->batch, err, n);
    if (IS("--steps")) return parse_int(f, v, 1, MAX_STEPS, &o->steps, err, n);
    if (IS("--warmup")) return parse_int(f, v, 0, MAX_STEPS, &o->warmup, err, n);
    if (IS("--lr")) return parse_double(f, v, 0.0, 1e6, &o->lr, err, n);
    if (IS("--min-lr-frac")) return parse_double(f, v, 0.0, 1.0, &o->min_lr_frac, err, n);
    if (IS("--weight-decay")) return parse_double(f, v, 0.0, 1e3, &o->weight_decay, err, n);
    if (IS("--max-grad-norm")) return parse_double(f, v, 0.0, 1e30, &o->max_grad_norm, err, n);
    if (IS("--momentum")) return parse_double(f, v, 0.0, 0.999, &o->momentum, err, n);
    if (IS("--init-scale")) return parse_double(f, v, 1.0, 1e30, &o->init_scale, err, n);
    if (IS("--scale-window")) return parse_int(f, v, 1, INT_MAX, &o->scale_window, err, n);
    if (IS("--seed")) return parse_u64(f, v, &o->seed, err, n);
    if (IS("--data-seed")) return parse_u64(f, v, &o->data_seed, err, n);
    if (IS("--eval-every")) return parse_int(f, v, 0, MAX_STEPS, &o->eval_every, err, n);
    if (IS("--eval-batches")) return parse_int(f, v, 1, 100000, &o->eval_batches, err, n);
    if (IS("--print-every")) return parse_int(f, v, 0, MAX_STEPS, &o->print_every, err, n);
    if (IS("--val-frac")) return parse_double(f, v, 0.001, 0.5, &o->val_frac, err, n);
    if (IS("--corpus-bytes")) {
        int kb;
        if (parse_int(f, v, 4, 1 << 20, &kb, err, n)) return -1;
        o->corpus_bytes = (size_t)kb * 1024;
        return 0;
    }
    if (IS("--data") || IS("--log") || IS("--write-corpus")) {
        if (*v == '\0') {
            set_err(err, n, "%s: empty file name", f);
            return -1;
        }
        if (IS("--data"))
            o->data_path = v;
        else if (IS("--log"))
            o->log_path = v;
        else
            o->write_corpus = v;
        return 0;
    }
    if (IS("--norm")) {
        if (strcmp(v, "layernorm") == 0)
            o->norm = MPT_TR_LAYERNORM;
        else if (strcmp(v, "rmsnorm") == 0)
            o->norm = MPT_TR_RMSNORM;
        else {
            set_err(err, n, "--norm: '%s' is not layernorm or rmsnorm", v);
            return -1;
        }
        return 0;
    }
    if (IS("--precision")) {
        if (strcmp(v, "32-true") == 0 || strcmp(v, "32") == 0)
            o->precision = MPT_TR_32_TRUE;
        else if (strcmp(v, "16-mixed") == 0)
            o->precision = MPT_TR_16_MIXED;
        else if (strcmp(v, "bf16-mixed") == 0)
            o->precision = MPT_TR_BF16_MIXED;
        else {
            set_err(err, n, "--precision: '%s' is not 32-true, 16-mixed or bf16-mixed", v);
            return -1;
        }
        return 0;
    }
    if (IS("--optimizer")) {
        if (strcmp(v, "adamw") == 0)
            o->optimizer_sgd = 0;
        else if (strcmp(v, "sgd") == 0)
            o->optimizer_sgd = 1;
        else {
            set_err(err, n, "--optimizer: '%s' is not adamw or sgd", v);
            return -1;
        }
        return 0;
    }
    if (IS("--master-weights")) {
        if (strcmp(v, "fp32") == 0)
            o->master_bf16 = 0;
        else if (strcmp(v, "bf16") == 0)
            o->master_bf16 = 1;
        else {
            set_err(err, n, "--master-weights: '%s' is not fp32 or bf16", v);
            return -1;
        }
        return 0;
    }
    if (IS("--gemm-compute")) {
        if (strcmp(v, "32F") == 0)
            o->gemm_compute_16f = 0;
        else if (strcmp(v, "16F") == 0)
            o->gemm_compute_16f = 1;
        else {
            set_err(err, n, "--gemm-compute: '%s' is not 32F or 16F", v);
            return -1;
        }
        return 0;
    }
    if (IS("--inject")) {
        if (o->n_inject == MPT_TR_MAX_INJECT) {
            set_err(err, n, "--inject: at most %d injections", MPT_TR_MAX_INJECT);
            return -1;
        }
        return mpt_tr_inject_parse(v, &o->inject[o->n_inject++], err, n);
    }
    if (IS("--preset")) return 0; /* applied before the other flags */
    set_err(err, n, "unknown option '%s' (see --help)", f);
    return -1;
#undef IS
}

static const char *const switches[] = {"--tf32", "--no-loss-scale", "--check-finite", "--quiet",
                                       "--self-check"};

static int is_switch(const char *f)
{
    for (size_t i = 0; i < sizeof switches / sizeof *switches; i++)
        if (strcmp(f, switches[i]) == 0) return 1;
    return 0;
}

static const char *const value_flags[] = {
    "--layers",         "--dim",          "--heads",        "--seq",         "--batch",
    "--steps",          "--warmup",       "--lr",           "--min-lr-frac", "--weight-decay",
    "--max-grad-norm",  "--init-scale",   "--scale-window", "--seed",        "--data-seed",
    "--eval-every",     "--eval-batches", "--print-every",  "--val-frac",    "--corpus-bytes",
    "--data",           "--log",          "--write-corpus", "--norm",        "--precision",
    "--master-weights", "--gemm-compute", "--inject",       "--preset",      "--optimizer",
    "--momentum"};

static int is_value_flag(const char *f)
{
    for (size_t i = 0; i < sizeof value_flags / sizeof *value_flags; i++)
        if (strcmp(f, value_flags[i]) == 0) return 1;
    return 0;
}

static void apply_switch(mpt_tr_opts *o, const char *f)
{
    if (strcmp(f, "--tf32") == 0)
        o->tf32 = 1;
    else if (strcmp(f, "--no-loss-scale") == 0)
        o->loss_scale = 0;
    else if (strcmp(f, "--check-finite") == 0)
        o->check_finite = 1;
    else if (strcmp(f, "--quiet") == 0)
        o->print_every = 0;
    else if (strcmp(f, "--self-check") == 0)
        o->self_check = 1;
}

/* Cross-flag checks: the configuration must be one the trainer can run as asked. */
static int validate(mpt_tr_opts *o, char *err, size_t n)
{
    if (o->dim % o->heads != 0) {
        set_err(err, n, "--dim %d is not divisible by --heads %d", o->dim, o->heads);
        return -1;
    }
    if (o->warmup < 0) o->warmup = o->steps / 10;
    if (o->warmup > o->steps) {
        set_err(err, n, "--warmup %d is longer than --steps %d", o->warmup, o->steps);
        return -1;
    }
    if (o->tf32 && o->precision != MPT_TR_32_TRUE) {
        set_err(err, n, "--tf32 applies to --precision 32-true only (the %s GEMMs are 16-bit)",
                mpt_tr_precision_name(o->precision));
        return -1;
    }
    if (o->gemm_compute_16f && o->precision != MPT_TR_16_MIXED) {
        set_err(err, n,
                "--gemm-compute 16F needs --precision 16-mixed (cuBLAS accumulates in "
                "fp16 only for fp16 operands)");
        return -1;
    }
    if (!o->loss_scale && o->precision != MPT_TR_16_MIXED) {
        set_err(err, n, "--no-loss-scale applies to --precision 16-mixed only (%s has no scaler)",
                mpt_tr_precision_name(o->precision));
        return -1;
    }
    /* Activation memory grows with batch*seq*max(dim*4, heads*seq): keep every element index
     * of the largest buffer inside int range, which the kernels use. */
    double tokens = (double)o->batch * o->seq;
    double big = tokens * (o->dim * 4.0 > (double)o->heads * o->seq ? o->dim * 4.0
                                                                    : (double)o->heads * o->seq);
    if (big > (double)INT_MAX) {
        set_err(err, n,
                "--batch %d x --seq %d is too large for this model (an activation of "
                "%.3g elements; the limit is %d)",
                o->batch, o->seq, big, INT_MAX);
        return -1;
    }
    for (int i = 0; i < o->n_inject; i++) {
        mpt_tr_inject *in = &o->inject[i];
        if (in->block < 0) in->block = o->layers - 1;
        if (in->step >= o->steps) {
            set_err(err, n, "--inject at step %d: the run has only steps 0..%d", in->step,
                    o->steps - 1);
            return -1;
        }
        if (in->block >= o->layers) {
            set_err(err, n, "--inject into block %d: the model has blocks 0..%d", in->block,
                    o->layers - 1);
            return -1;
        }
    }
    return 0;
}

mpt_tr_opts_status mpt_tr_opts_parse(mpt_tr_opts *o, int argc, char **argv, char *err,
                                     size_t errlen)
{
    /* Pass 1: --help anywhere wins; the last --preset sets the baseline. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return MPT_TR_OPTS_HELP;
    }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strncmp(argv[i], "--preset=", 9) == 0)
            v = argv[i] + 9;
        else if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc)
            v = argv[++i];
        if (v && apply_preset(o, v, err, errlen)) return MPT_TR_OPTS_ERROR;
    }
    /* Pass 2: everything else, in order. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            set_err(err, errlen, "unexpected argument '%s' (options start with --; see --help)", a);
            return MPT_TR_OPTS_ERROR;
        }
        const char *eq = strchr(a, '=');
        char flag[64];
        const char *val = NULL;
        size_t fl = eq ? (size_t)(eq - a) : strlen(a);
        if (fl >= sizeof flag) {
            set_err(err, errlen, "unknown option '%.40s...' (see --help)", a);
            return MPT_TR_OPTS_ERROR;
        }
        memcpy(flag, a, fl);
        flag[fl] = '\0';
        if (is_switch(flag)) {
            if (eq) {
                set_err(err, errlen, "%s takes no value", flag);
                return MPT_TR_OPTS_ERROR;
            }
            apply_switch(o, flag);
            continue;
        }
        if (!is_value_flag(flag)) {
            set_err(err, errlen, "unknown option '%s' (see --help)", flag);
            return MPT_TR_OPTS_ERROR;
        }
        if (eq) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc) {
                set_err(err, errlen, "%s needs a value (see --help)", flag);
                return MPT_TR_OPTS_ERROR;
            }
            val = argv[++i];
        }
        if (parse_one(o, flag, val, err, errlen)) return MPT_TR_OPTS_ERROR;
    }
    return validate(o, err, errlen) ? MPT_TR_OPTS_ERROR : MPT_TR_OPTS_OK;
}

int mpt_tr_opts_check_data(const mpt_tr_opts *o, size_t train_tokens, size_t val_tokens, char *err,
                           size_t errlen)
{
    size_t need = (size_t)o->seq + 1; /* inputs and their next-token targets */
    if (train_tokens < need || val_tokens < need) {
        set_err(err, errlen,
                "--seq %d is longer than the data: a sequence needs %zu tokens, the "
                "training split has %zu and the validation split %zu",
                o->seq, need, train_tokens, val_tokens);
        return -1;
    }
    return 0;
}
