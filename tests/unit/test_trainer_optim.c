/*
 * Suite trainer_optim: the reference trainer's optimiser scalars (reference-trainer/optim.c)
 * against PyTorch's documented semantics, and its ground-truth log and NVTX mark text
 * (gtlog.c): the formats the profiler's tests read.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reference-trainer/gtlog.h"
#include "reference-trainer/optim.h"

START_TEST(test_lr_schedule)
{
    const double lr = 1e-3;
    /* warmup: lr * (s+1) / warmup, nanoGPT's */
    ck_assert(fabs(mpt_tr_lr_at(0, 100, 10, lr, 0.1) - 1e-4) < 1e-15);
    ck_assert(fabs(mpt_tr_lr_at(4, 100, 10, lr, 0.1) - 5e-4) < 1e-15);
    ck_assert(fabs(mpt_tr_lr_at(10, 100, 10, lr, 0.1) - lr) < 1e-15);   /* the peak */
    ck_assert(fabs(mpt_tr_lr_at(99, 100, 10, lr, 0.1) - 1e-4) < 1e-15); /* the floor */
    /* the cosine runs over steps 10..99: step 54 is 44/89 of the way */
    ck_assert(fabs(mpt_tr_lr_at(54, 100, 10, lr, 0.1) -
                   (1e-4 + 0.5 * (1 + cos(M_PI * 44.0 / 89.0)) * 9e-4)) < 1e-15);
    double prev = INFINITY;
    for (int s = 10; s < 100; s++) {
        double v = mpt_tr_lr_at(s, 100, 10, lr, 0.1);
        ck_assert_msg(v <= prev && v >= 1e-4 - 1e-18, "step %d lr %g", s, v);
        prev = v;
    }
    /* no warmup, a single step: the peak */
    ck_assert(mpt_tr_lr_at(0, 1, 0, lr, 0.1) == lr);
}
END_TEST

/* GradScaler, step by step: found_inf flags in, (skip, scale after) out. */
START_TEST(test_scaler_semantics)
{
    static const struct {
        int found, skip;
        double scale_after;
    } seq[] = {
        {0, 0, 65536}, {0, 0, 65536}, {0, 0, 131072}, /* window 3: grows on the 3rd clean step */
        {1, 1, 65536},                                /* backoff and skip */
        {1, 1, 32768}, {0, 0, 32768}, {0, 0, 32768},
        {1, 1, 16384}, /* an overflow resets the count */
        {0, 0, 16384}, {0, 0, 16384}, {0, 0, 32768},
    };
    mpt_tr_scaler s;
    mpt_tr_scaler_init(&s, 1, 65536.0, 3);
    for (size_t i = 0; i < sizeof seq / sizeof *seq; i++) {
        int skip = mpt_tr_scaler_update(&s, seq[i].found);
        ck_assert_msg(skip == seq[i].skip && s.scale == seq[i].scale_after,
                      "step %zu: skip %d scale %g, want %d %g", i, skip, s.scale, seq[i].skip,
                      seq[i].scale_after);
    }
    /* disabled (bf16, fp32, --no-loss-scale): scale 1, never a skip, even with Inf */
    mpt_tr_scaler_init(&s, 0, 65536.0, 3);
    ck_assert(s.scale == 1.0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(mpt_tr_scaler_update(&s, i & 1), 0);
    ck_assert(s.scale == 1.0);
}
END_TEST

START_TEST(test_clip_coef)
{
    ck_assert(mpt_tr_clip_coef(0.5, 1.0) == 1.0);
    ck_assert(fabs(mpt_tr_clip_coef(4.0, 1.0) - 1.0 / (4.0 + 1e-6)) < 1e-15);
    ck_assert(mpt_tr_clip_coef(1e30, 0.0) == 1.0); /* clipping off */
    ck_assert(isnan(mpt_tr_clip_coef(NAN, 1.0)));  /* poisoned, as torch.clamp keeps NaN */
    ck_assert(mpt_tr_clip_coef(INFINITY, 1.0) == 0.0);
}
END_TEST

START_TEST(test_adamw_reference)
{
    /* first step: m^ = g, v^ = g^2, so the update is lr * g / (|g| + eps) after decay */
    double p = 0.5, m = 0, v = 0;
    mpt_tr_adamw_ref(&p, &m, &v, -0.25, 0.01, 0.9, 0.95, 1e-8, 0.1, 1);
    double want = 0.5 * (1 - 0.01 * 0.1) + 0.01 * 0.25 / (0.25 + 1e-8);
    ck_assert_msg(fabs(p - want) < 1e-15, "p %.17g want %.17g", p, want);
    ck_assert(fabs(m - (-0.025)) < 1e-15 && fabs(v - 0.05 * 0.0625) < 1e-15);
    /* second step with the same gradient: moments bias-corrected back to g */
    double p2 = p;
    mpt_tr_adamw_ref(&p, &m, &v, -0.25, 0.01, 0.9, 0.95, 1e-8, 0.0, 2);
    ck_assert(fabs(p - (p2 + 0.01 * 0.25 / (0.25 + 1e-8))) < 1e-14);
}
END_TEST

START_TEST(test_sgd_reference)
{
    /* torch.optim.SGD(momentum=0.9, weight_decay=0.1): the first buffer is the decayed
     * gradient itself, the second is 0.9 * buf + the new one; the step is lr * buf */
    double p = 0.5, buf = 0;
    mpt_tr_sgd_ref(&p, &buf, -0.25, 0.1, 0.9, 0.1);
    double b1 = -0.25 + 0.1 * 0.5;
    ck_assert_msg(fabs(buf - b1) < 1e-15 && fabs(p - (0.5 - 0.1 * b1)) < 1e-15, "p %.17g", p);
    double p1 = p;
    mpt_tr_sgd_ref(&p, &buf, -0.25, 0.1, 0.9, 0.1);
    double b2 = 0.9 * b1 + (-0.25 + 0.1 * p1);
    ck_assert(fabs(buf - b2) < 1e-15 && fabs(p - (p1 - 0.1 * b2)) < 1e-15);
    /* no momentum, no decay: plain gradient descent, proportional to the gradient (a gradient
     * lost to underflow is a lost update, unlike AdamW's normalised step) */
    p = 1.0, buf = 0;
    mpt_tr_sgd_ref(&p, &buf, 1e-7, 0.5, 0.0, 0.0);
    ck_assert(p == 1.0 - 0.5e-7);
}
END_TEST

START_TEST(test_json_numbers_and_marks)
{
    char b[64];
    ck_assert_str_eq(mpt_tr_json_num(b, sizeof b, NAN), "\"nan\"");
    ck_assert_str_eq(mpt_tr_json_num(b, sizeof b, -INFINITY), "\"-inf\"");
    ck_assert_str_eq(mpt_tr_json_num(b, sizeof b, 65536.0), "65536");
    ck_assert_str_eq(mpt_tr_json_num(b, sizeof b, 0.1), "0.1");
    ck_assert(fabs(strtod(mpt_tr_json_num(b, sizeof b, 2.0 / 3.0), NULL) - 2.0 / 3.0) < 1e-9);
    char mark[256];
    mpt_tr_format_mark(mark, sizeof mark, 501, NAN, 32768.0, 1, INFINITY, 3e-4, -1.0);
    ck_assert_str_eq(mark, "mptrace:step=501 loss=nan scale=32768 skip=1 grad_norm=inf lr=0.0003");
    mpt_tr_format_mark(mark, sizeof mark, 0, 3.25, 1.0, 0, 0.5, 1e-3, -1.0);
    ck_assert_str_eq(mark, "mptrace:step=0 loss=3.25 scale=1 skip=0 grad_norm=0.5 lr=0.001");
    /* bf16 master weights: the fraction of updates lost (docs/nvtx-conventions.md) */
    mpt_tr_format_mark(mark, sizeof mark, 7, 3.25, 1.0, 0, 0.5, 1e-3, 0.78125);
    ck_assert_str_eq(mark, "mptrace:step=7 loss=3.25 scale=1 skip=0 grad_norm=0.5 lr=0.001 "
                           "lost_updates=0.78125");
    /* what a reader does with it: strtod reads every value back */
    ck_assert(isnan(strtod("nan", NULL)) && isinf(strtod("inf", NULL)));
}
END_TEST

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(test_log_lines)
{
    char path[] = "/tmp/mpt-train-log-XXXXXX", err[256];
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    mpt_tr_log log;
    ck_assert_int_eq(mpt_tr_log_open(&log, path, err, sizeof err), 0);
    mpt_tr_opts o;
    mpt_tr_opts_default(&o);
    o.precision = MPT_TR_16_MIXED;
    mpt_tr_config cfg = {24, 2, 64, 4, 64, 8, 0};
    mpt_tr_inject spike = {MPT_TR_INJECT_SPIKE, 40, 1000.0, 1, MPT_TR_SITE_GELU};
    ck_assert_int_eq(mpt_tr_log_config(&log, &o, &cfg, 12345, "file:we\"ird\\name"), 0);
    ck_assert_int_eq(mpt_tr_log_step(&log, 39, 1.5, 65536, 0, 0.25, 1e-3, -1), 0);
    ck_assert_int_eq(mpt_tr_log_inject(&log, 40, &spike, "fwd/blk1/ln1"), 0);
    ck_assert_int_eq(mpt_tr_log_step(&log, 40, NAN, 65536, 1, NAN, 1e-3, 0.125), 0);
    ck_assert_int_eq(
        mpt_tr_log_nonfinite(&log, 40, "fwd/blk1/attn/scores", 1, 1, "fwd/blk1/attn/scores"), 0);
    ck_assert_int_eq(mpt_tr_log_eval(&log, 40, 1.75), 0);
    ck_assert_int_eq(mpt_tr_log_end(&log, 41, 1, 1.5, 1.75, 2.0), 0);
    ck_assert_int_eq(mpt_tr_log_close(&log), 0);
    const char *want =
        "{\"event\":\"step\",\"step\":39,\"loss\":1.5,\"scale\":65536,\"skipped\":0,"
        "\"grad_norm\":0.25,\"lr\":0.001}\n"
        "{\"event\":\"inject\",\"step\":40,\"kind\":\"spike\",\"layer\":\"fwd/blk1/ln1\","
        "\"block\":1,\"factor\":1000}\n"
        "{\"event\":\"step\",\"step\":40,\"loss\":\"nan\",\"scale\":65536,\"skipped\":1,"
        "\"grad_norm\":\"nan\",\"lr\":0.001,\"lost_updates\":0.125}\n"
        "{\"event\":\"nonfinite\",\"step\":40,\"layer\":\"fwd/blk1/attn/scores\",\"op\":\"gemm\","
        "\"inputs_finite\":1,\"first_gemm\":\"fwd/blk1/attn/scores\"}\n"
        "{\"event\":\"eval\",\"step\":40,\"val_loss\":1.75}\n"
        "{\"event\":\"end\",\"steps\":41,\"skipped\":1,\"final_loss\":1.5,\"val_loss\":1.75,"
        "\"seconds\":2}\n";
    const char *text = slurp(path);
    const char *body = strchr(text, '\n');
    ck_assert(body);
    ck_assert_str_eq(body + 1, want);
    /* the config line: escaped data name, the options the run used */
    ck_assert_msg(strstr(text, "\"data\":\"file:we\\\"ird\\\\name\""), "%s", text);
    ck_assert(strstr(text, "\"precision\":\"16-mixed\"") && strstr(text, "\"params\":12345"));
    ck_assert(strstr(text, "\"loss_scale\":1") && strstr(text, "\"vocab\":24"));
    unlink(path);
    /* logging off: every call a no-op */
    mpt_tr_log off = {0};
    ck_assert_int_eq(mpt_tr_log_step(&off, 1, 1, 1, 0, 1, 1, -1), 0);
    ck_assert_int_eq(mpt_tr_log_close(&off), 0);
    ck_assert_int_eq(mpt_tr_log_open(&log, "/nonexistent/dir/log.jsonl", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot write log file"), "%s", err);
}
END_TEST

extern Suite *suite_trainer_optim(void);

Suite *suite_trainer_optim(void)
{
    Suite *s = suite_create("trainer_optim");
    TCase *tc = tcase_create("optim");
    tcase_add_test(tc, test_lr_schedule);
    tcase_add_test(tc, test_scaler_semantics);
    tcase_add_test(tc, test_clip_coef);
    tcase_add_test(tc, test_adamw_reference);
    tcase_add_test(tc, test_sgd_reference);
    tcase_add_test(tc, test_json_numbers_and_marks);
    tcase_add_test(tc, test_log_lines);
    suite_add_tcase(s, tc);
    return s;
}
