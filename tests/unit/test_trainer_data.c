/*
 * Suite trainer_data: the reference trainer's corpus (reference-trainer/corpus.c) and parameter
 * layout (model.c): determinism, the synthetic language's promised structure, tokenisation of
 * arbitrary bytes, the split, batches, bad data files, and a layout with no gaps or overlaps.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reference-trainer/corpus.h"
#include "reference-trainer/model.h"

START_TEST(test_generate_deterministic)
{
    enum { LEN = 50000 };
    char *a = malloc(LEN), *b = malloc(LEN), *c = malloc(LEN);
    mpt_tr_corpus_generate(7, a, LEN);
    mpt_tr_corpus_generate(7, b, LEN);
    mpt_tr_corpus_generate(8, c, LEN);
    ck_assert(memcmp(a, b, LEN) == 0);
    ck_assert(memcmp(a, c, LEN) != 0);
    /* a prefix of a longer corpus is the shorter corpus: length only cuts */
    mpt_tr_corpus_generate(7, b, LEN / 2);
    ck_assert(memcmp(a, b, LEN / 2) == 0);
    free(a), free(b), free(c);
}
END_TEST

START_TEST(test_language_structure)
{
    enum { LEN = 200000 };
    char *t = malloc(LEN);
    mpt_tr_corpus_generate(1, t, LEN);
    int seen[256] = {0}, distinct = 0;
    long sentences = 0, paragraphs = 0;
    for (int i = 0; i < LEN; i++) {
        unsigned char ch = (unsigned char)t[i];
        ck_assert_msg((ch >= 'a' && ch <= 'z') || ch == ' ' || ch == '.' || ch == '\n',
                      "unexpected byte %d at %d", ch, i);
        distinct += !seen[ch]++;
        sentences += ch == '.';
        paragraphs += ch == '\n';
        if (ch == '\n')
            ck_assert_msg(i > 0 && t[i - 1] == '.', "paragraph not ended by a sentence at %d", i);
    }
    ck_assert_int_eq(distinct, 22);
    /* 3 to 6 sentences per paragraph */
    ck_assert(sentences >= 3 * paragraphs && sentences <= 6 * paragraphs + 6);
    /* learnable: the next byte is far more predictable from the previous one than alone */
    static double uni[256], bi[256][256];
    memset(uni, 0, sizeof uni), memset(bi, 0, sizeof bi);
    for (int i = 0; i + 1 < LEN; i++) {
        uni[(unsigned char)t[i + 1]]++;
        bi[(unsigned char)t[i]][(unsigned char)t[i + 1]]++;
    }
    double h1 = 0, h2 = 0, n = LEN - 1;
    for (int a = 0; a < 256; a++) {
        double row = 0;
        for (int b = 0; b < 256; b++)
            row += bi[a][b];
        if (uni[a]) h1 -= uni[a] / n * log(uni[a] / n);
        for (int b = 0; b < 256; b++)
            if (bi[a][b]) h2 -= bi[a][b] / n * log(bi[a][b] / row);
    }
    ck_assert_msg(h1 > 2.5 && h2 < h1 - 0.7, "unigram %.3f, bigram %.3f nats", h1, h2);
    free(t);
}
END_TEST

START_TEST(test_tokenise_bytes)
{
    /* every byte value, including 0 and 255, each once, then a repeat */
    char text[260];
    for (int i = 0; i < 256; i++)
        text[i] = (char)i;
    memcpy(text + 256, "\0\xff\x01\x02", 4);
    mpt_tr_corpus c;
    char err[128];
    ck_assert_int_eq(mpt_tr_corpus_from_text(&c, text, sizeof text, 0.25, err, sizeof err), 0);
    ck_assert_int_eq(c.n_symbols, 256);
    ck_assert_int_eq(c.vocab, 256);
    ck_assert_uint_eq(c.n, 260);
    ck_assert_uint_eq(c.n_train, 195);
    for (size_t i = 0; i < c.n; i++)
        ck_assert(c.sym[c.tokens[i]] == (unsigned char)text[i]);
    mpt_tr_corpus_free(&c);

    ck_assert_int_eq(mpt_tr_corpus_from_text(&c, "abcab", 5, 0.1, err, sizeof err), 0);
    ck_assert_int_eq(c.n_symbols, 3);
    ck_assert_int_eq(c.vocab, 8);    /* padded to a multiple of 8 */
    ck_assert_uint_eq(c.n_train, 4); /* at least one held-out token */
    mpt_tr_corpus_free(&c);

    ck_assert_int_eq(mpt_tr_corpus_from_text(&c, "a", 1, 0.1, err, sizeof err), -1);
}
END_TEST

START_TEST(test_batches)
{
    enum { LEN = 4000, B = 3, T = 17 };
    char *t = malloc(LEN);
    mpt_tr_corpus_generate(3, t, LEN);
    mpt_tr_corpus c;
    char err[128];
    ck_assert_int_eq(mpt_tr_corpus_from_text(&c, t, LEN, 0.1, err, sizeof err), 0);
    int32_t in[B * T], tg[B * T], in2[B * T], tg2[B * T];
    mpt_tr_rng r1, r2;
    mpt_tr_rng_seed(&r1, 5, 1);
    mpt_tr_rng_seed(&r2, 5, 1);
    for (int k = 0; k < 200; k++) {
        mpt_tr_corpus_train_batch(&c, &r1, B, T, in, tg);
        mpt_tr_corpus_train_batch(&c, &r2, B, T, in2, tg2);
        ck_assert(memcmp(in, in2, sizeof in) == 0 && memcmp(tg, tg2, sizeof tg) == 0);
        for (int b = 0; b < B; b++) {
            for (int i = 0; i + 1 < T; i++)
                ck_assert(tg[b * T + i] == in[b * T + i + 1]); /* next-token targets */
            /* the sequence lies inside the training split */
            int found = 0;
            for (size_t off = 0; off + T + 1 <= c.n_train && !found; off++) {
                int ok = 1;
                for (int i = 0; i < T && ok; i++)
                    ok = c.tokens[off + i] == in[b * T + i] &&
                         c.tokens[off + i + 1] == tg[b * T + i];
                found = ok;
            }
            ck_assert_msg(found, "batch %d sequence %d is not a training-split window", k, b);
        }
    }
    /* validation batches: fixed, inside the held-out split, first and last windows covered */
    mpt_tr_corpus_val_batch(&c, 0, 4, B, T, in, tg);
    ck_assert(in[0] == c.tokens[c.n_train]);
    mpt_tr_corpus_val_batch(&c, 3, 4, B, T, in, tg);
    ck_assert(tg[B * T - 1] == c.tokens[c.n - 1]);
    mpt_tr_corpus_free(&c);
    free(t);
}
END_TEST

START_TEST(test_load_file_errors)
{
    mpt_tr_corpus c;
    char err[256];
    ck_assert_int_eq(mpt_tr_corpus_load_file(&c, "/nonexistent/dir/data.txt", 0.1, err, sizeof err),
                     -1);
    ck_assert_msg(strstr(err, "cannot open data file '/nonexistent/dir/data.txt'"), "%s", err);
    char path[] = "/tmp/mpt-train-data-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    ck_assert_int_eq(mpt_tr_corpus_load_file(&c, path, 0.1, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "has 0 byte(s)"), "%s", err);
    ck_assert(write(fd, "hello world, hello data\n", 24) == 24);
    close(fd);
    ck_assert_int_eq(mpt_tr_corpus_load_file(&c, path, 0.25, err, sizeof err), 0);
    ck_assert_uint_eq(c.n, 24);
    ck_assert_uint_eq(c.n_train, 18);
    mpt_tr_corpus_free(&c);
    ck_assert_int_eq(mpt_tr_corpus_load_file(&c, "/", 0.1, err, sizeof err), -1); /* a directory */
    unlink(path);
}
END_TEST

START_TEST(test_layout)
{
    for (int rms = 0; rms < 2; rms++) {
        mpt_tr_config cfg = {.V = 24, .L = 3, .C = 16, .H = 4, .T = 9, .B = 2, .rms = rms};
        mpt_tr_layout lo;
        ck_assert_int_eq(mpt_tr_layout_init(&lo, &cfg), 0);
        size_t C = 16, norms = rms ? 1 : 2;
        size_t per_block = norms * C * 2 + 3 * C * C + C * C + 4 * C * C + 4 * C + 4 * C * C;
        size_t want = 24 * C + 9 * C + 3 * per_block + norms * C + 24 * C;
        ck_assert_uint_eq(lo.total, want);
        size_t next = 0;
        for (int i = 0; i < lo.n_tensors; i++) { /* contiguous, in order, no overlap */
            ck_assert_uint_eq(lo.tensors[i].offset, next);
            next += (size_t)lo.tensors[i].rows * lo.tensors[i].cols;
        }
        ck_assert_uint_eq(next, lo.total);
        ck_assert(rms ? lo.blk[1].ln1b == MPT_TR_ABSENT : lo.blk[1].ln1b != MPT_TR_ABSENT);
        float *p = malloc(lo.total * sizeof *p), *q = malloc(lo.total * sizeof *q);
        mpt_tr_params_init(&lo, 42, p);
        mpt_tr_params_init(&lo, 42, q);
        ck_assert(memcmp(p, q, lo.total * sizeof *p) == 0);
        ck_assert(p[lo.blk[2].ln2w] == 1.0f);
        ck_assert(p[lo.blk[2].fcb + 5] == 0.0f);
        /* the QKV matrix: zero mean, std 0.02 */
        double s = 0, s2 = 0, n = 3.0 * C * C;
        for (size_t i = 0; i < 3 * C * C; i++)
            s += p[lo.blk[0].qkvw + i], s2 += (double)p[lo.blk[0].qkvw + i] * p[lo.blk[0].qkvw + i];
        double sd = sqrt(s2 / n - (s / n) * (s / n));
        ck_assert_msg(fabs(sd - 0.02) < 0.003 && fabs(s / n) < 0.003, "std %g mean %g", sd, s / n);
        free(p), free(q);
        mpt_tr_layout_free(&lo);
    }
}
END_TEST

extern Suite *suite_trainer_data(void);

Suite *suite_trainer_data(void)
{
    Suite *s = suite_create("trainer_data");
    TCase *tc = tcase_create("corpus");
    tcase_add_test(tc, test_generate_deterministic);
    tcase_add_test(tc, test_language_structure);
    tcase_add_test(tc, test_tokenise_bytes);
    tcase_add_test(tc, test_batches);
    tcase_add_test(tc, test_load_file_errors);
    tcase_add_test(tc, test_layout);
    suite_add_tcase(s, tc);
    return s;
}
