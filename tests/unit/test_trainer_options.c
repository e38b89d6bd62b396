/*
 * Suite trainer_options: mpt-train's command line (reference-trainer/options.c). Table-driven:
 * each row is a command line and what must come of it: accepted (with a field to check) or
 * refused with a message naming the problem. Plus --help naming every flag the parser knows.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference-trainer/options.h"

#define MAXARGS 16

/* Splits a command line on spaces (no quoting needed for these rows). */
static int split(const char *line, char *buf, size_t len, char **argv)
{
    snprintf(buf, len, "mpt-train %s", line);
    int argc = 0;
    for (char *tok = strtok(buf, " "); tok && argc < MAXARGS; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    return argc;
}

typedef struct bad_row {
    const char *args;
    const char *msg; /* substring of the error */
} bad_row;

static const bad_row bad[] = {
    {"--frobnicate", "unknown option '--frobnicate'"},
    {"--frobnicate=3", "unknown option '--frobnicate'"},
    {"stray", "unexpected argument 'stray'"},
    {"--dim 30 --heads 4", "--dim 30 is not divisible by --heads 4"},
    {"--dim", "--dim needs a value"},
    {"--dim 0", "out of range"},
    {"--dim 12x", "not an integer"},
    {"--layers -1", "out of range"},
    {"--seq 99999999", "out of range"},
    {"--lr nan", "not a finite number"},
    {"--lr -1", "out of range"},
    {"--precision fp8", "not 32-true, 16-mixed or bf16-mixed"},
    {"--norm batchnorm", "not layernorm or rmsnorm"},
    {"--master-weights fp16", "not fp32 or bf16"},
    {"--optimizer adam", "not adamw or sgd"},
    {"--momentum 1", "out of range"},
    {"--gemm-compute 64F", "not 32F or 16F"},
    {"--gemm-compute 16F", "needs --precision 16-mixed"},
    {"--tf32 --precision bf16-mixed", "--tf32 applies to --precision 32-true only"},
    {"--no-loss-scale", "applies to --precision 16-mixed only"},
    {"--tf32=1", "takes no value"},
    {"--preset huge", "unknown preset 'huge'"},
    {"--warmup 300 --steps 200", "longer than --steps"},
    {"--inject spike@500", "the run has only steps 0..199"},
    {"--inject spike@5:10:7", "the model has blocks 0..1"},
    {"--inject nan@5:blk9/mlp/gelu", "the model has blocks 0..1"},
    {"--inject nan@5", "nan takes nan@STEP:LAYER"},
    {"--inject nan@5:blk1/attn/qkv", "unknown layer"},
    {"--inject nan@5:blkx", "bad block"},
    {"--inject boom@5", "unknown kind"},
    {"--inject spike5", "expected spike@STEP"},
    {"--inject spike@x", "not an integer"},
    {"--inject spike@5:0", "out of range"},
    {"--batch 65536 --seq 65536", "too large"},
    {"--data=", "empty file name"},
};

START_TEST(test_bad_usage)
{
    char buf[512], err[256] = "";
    char *argv[MAXARGS];
    int argc = split(bad[_i].args, buf, sizeof buf, argv);
    mpt_tr_opts o;
    mpt_tr_opts_default(&o);
    mpt_tr_opts_status st = mpt_tr_opts_parse(&o, argc, argv, err, sizeof err);
    ck_assert_msg(st == MPT_TR_OPTS_ERROR, "'%s' was accepted", bad[_i].args);
    ck_assert_msg(strstr(err, bad[_i].msg), "'%s': message '%s' lacks '%s'", bad[_i].args, err,
                  bad[_i].msg);
}
END_TEST

START_TEST(test_good_usage)
{
    char buf[512], err[256] = "";
    char *argv[MAXARGS];
    mpt_tr_opts o;

    mpt_tr_opts_default(&o);
    int argc = split("--precision 16-mixed --dim=96 --heads 6 --inject spike@7 "
                     "--inject nan@9:blk0/attn/softmax --inject nan@3:1 --seed 0x10",
                     buf, sizeof buf, argv);
    ck_assert_int_eq(mpt_tr_opts_parse(&o, argc, argv, err, sizeof err), MPT_TR_OPTS_OK);
    ck_assert_int_eq(o.precision, MPT_TR_16_MIXED);
    ck_assert_int_eq(o.dim, 96);
    ck_assert_int_eq(o.heads, 6);
    ck_assert_uint_eq(o.seed, 16);
    ck_assert_int_eq(o.n_inject, 3);
    ck_assert_int_eq(o.inject[0].kind, MPT_TR_INJECT_SPIKE);
    ck_assert_int_eq(o.inject[0].step, 7);
    ck_assert_int_eq(o.inject[0].block, 1); /* default: the last block */
    ck_assert(o.inject[0].factor == 1000.0);
    ck_assert_int_eq(o.inject[1].site, MPT_TR_SITE_SOFTMAX);
    ck_assert_int_eq(o.inject[1].block, 0);
    ck_assert_int_eq(o.inject[2].site, MPT_TR_SITE_GELU);
    ck_assert_int_eq(o.inject[2].block, 1);

    /* a preset sets the baseline wherever it appears; explicit sizes win */
    mpt_tr_opts_default(&o);
    argc = split("--layers 3 --preset gpt2-small", buf, sizeof buf, argv);
    ck_assert_int_eq(mpt_tr_opts_parse(&o, argc, argv, err, sizeof err), MPT_TR_OPTS_OK);
    ck_assert_int_eq(o.layers, 3);
    ck_assert_int_eq(o.dim, 768);
    ck_assert_int_eq(o.seq, 1024);
    ck_assert_str_eq(o.preset, "gpt2-small");

    mpt_tr_opts_default(&o);
    argc = split("--no-loss-scale --precision 16-mixed --quiet --master-weights bf16 "
                 "--gemm-compute 16F --max-grad-norm 0 --norm rmsnorm",
                 buf, sizeof buf, argv);
    ck_assert_int_eq(mpt_tr_opts_parse(&o, argc, argv, err, sizeof err), MPT_TR_OPTS_OK);
    ck_assert(!o.loss_scale && o.master_bf16 && o.gemm_compute_16f && o.print_every == 0);
    ck_assert(o.max_grad_norm == 0.0 && o.norm == MPT_TR_RMSNORM);
    ck_assert(!o.optimizer_sgd && o.momentum == 0.9); /* AdamW by default */

    mpt_tr_opts_default(&o);
    argc = split("--optimizer sgd --momentum=0.5", buf, sizeof buf, argv);
    ck_assert_int_eq(mpt_tr_opts_parse(&o, argc, argv, err, sizeof err), MPT_TR_OPTS_OK);
    ck_assert(o.optimizer_sgd && o.momentum == 0.5);

    mpt_tr_opts_default(&o);
    argc = split("--lr 1 --help --frobnicate", buf, sizeof buf, argv);
    ck_assert_int_eq(mpt_tr_opts_parse(&o, argc, argv, err, sizeof err), MPT_TR_OPTS_HELP);
}
END_TEST

START_TEST(test_defaults_are_the_tiny_preset)
{
    mpt_tr_opts d, p;
    char buf[128], err[128];
    char *argv[MAXARGS];
    mpt_tr_opts_default(&d);
    mpt_tr_opts_default(&p);
    int argc = split("--preset gpt2-small --preset tiny", buf, sizeof buf, argv);
    ck_assert_int_eq(mpt_tr_opts_parse(&p, argc, argv, err, sizeof err), MPT_TR_OPTS_OK);
    ck_assert(p.layers == d.layers && p.dim == d.dim && p.seq == d.seq && p.batch == d.batch &&
              p.steps == d.steps && p.lr == d.lr);
    ck_assert_int_eq(d.dim % d.heads, 0);
}
END_TEST

START_TEST(test_data_check)
{
    mpt_tr_opts o;
    char err[256];
    mpt_tr_opts_default(&o); /* seq 64: needs 65 tokens in each split */
    ck_assert_int_eq(mpt_tr_opts_check_data(&o, 65, 65, err, sizeof err), 0);
    ck_assert_int_eq(mpt_tr_opts_check_data(&o, 1000, 64, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "--seq 64 is longer than the data"), "%s", err);
    ck_assert_int_eq(mpt_tr_opts_check_data(&o, 64, 1000, err, sizeof err), -1);
}
END_TEST

START_TEST(test_help_documents_every_flag)
{
    static const char *const flags[] = {
        "--preset",         "--layers",       "--dim",           "--heads",      "--seq",
        "--batch",          "--steps",        "--norm",          "--data",       "--data-seed",
        "--corpus-bytes",   "--val-frac",     "--write-corpus",  "--lr",         "--warmup",
        "--min-lr-frac",    "--weight-decay", "--max-grad-norm", "--seed",       "--precision",
        "--tf32",           "--gemm-compute", "--no-loss-scale", "--init-scale", "--scale-window",
        "--master-weights", "--inject",       "--check-finite",  "--log",        "--eval-every",
        "--eval-batches",   "--print-every",  "--quiet",         "--self-check", "--help",
        "--optimizer",      "--momentum"};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mpt_tr_opts_usage(f, "mpt-train");
    fclose(f);
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        ck_assert_msg(strstr(text, flags[i]), "--help does not mention %s", flags[i]);
        /* and the parser knows it: a known flag never reads as "unknown option" */
        char err[256] = "";
        char *argv[3] = {"mpt-train", (char *)flags[i], "1"};
        mpt_tr_opts o;
        mpt_tr_opts_default(&o);
        mpt_tr_opts_parse(&o, 3, argv, err, sizeof err);
        ck_assert_msg(!strstr(err, "unknown option"), "%s is documented but unknown", flags[i]);
    }
    for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n"))
        ck_assert_msg(strlen(p) <= 100, "help line too long: %s", p);
    free(text);
}
END_TEST

START_TEST(test_site_paths)
{
    char buf[64];
    mpt_tr_site_path(MPT_TR_SITE_SOFTMAX, 3, buf, sizeof buf);
    ck_assert_str_eq(buf, "blk3/attn/softmax");
    mpt_tr_site_path(MPT_TR_SITE_GELU, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "blk0/mlp/gelu");
    ck_assert_str_eq(mpt_tr_precision_name(MPT_TR_BF16_MIXED), "bf16-mixed");
}
END_TEST

extern Suite *suite_trainer_options(void);

Suite *suite_trainer_options(void)
{
    Suite *s = suite_create("trainer_options");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_bad_usage, 0, (int)(sizeof bad / sizeof *bad));
    tcase_add_test(tc, test_good_usage);
    tcase_add_test(tc, test_defaults_are_the_tiny_preset);
    tcase_add_test(tc, test_data_check);
    tcase_add_test(tc, test_help_documents_every_flag);
    tcase_add_test(tc, test_site_paths);
    suite_add_tcase(s, tc);
    return s;
}
