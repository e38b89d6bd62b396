/*
 * The trainer's data: a synthetic language generated from a seed (or any file's bytes),
 * tokenised at the character level, split into training and held-out text, and cut into
 * batches of (input, next-token target) sequences.
 *
 * The synthetic language (described fully in docs/reference-trainer.md) has structure at
 * three distances, so a model that learns is visibly better than one that does not: spelling
 * inside words (a seeded lexicon of syllables), grammar across words (determiner, adjectives,
 * noun, verb agreeing in number with its subject, preferred objects per verb) and repetition
 * across sentences (each paragraph's protagonist recurs: an induction-head pattern).
 *
 * Contract: functions return 0 or -1 with a one-line message in err; they never print.
 */
#ifndef MPT_TR_CORPUS_H
#define MPT_TR_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "reference-trainer/rng.h"

typedef struct mpt_tr_corpus {
    uint8_t *tokens;        /* (n) token ids, owned */
    size_t n;               /* tokens in all */
    size_t n_train;         /* tokens[0, n_train) train, tokens[n_train, n) validation */
    int n_symbols;          /* distinct bytes in the text */
    int vocab;              /* n_symbols rounded up to a multiple of 8 (unused ids never occur) */
    unsigned char sym[256]; /* token id -> byte */
} mpt_tr_corpus;

/* Writes exactly `len` bytes of the synthetic language generated from `seed` into text
 * (whole paragraphs, the last one cut). Deterministic: same seed and len, same bytes. */
void mpt_tr_corpus_generate(uint64_t seed, char *text, size_t len);

/* Tokenises text (copied) and splits it: the last val_frac of it is held out. len >= 2. */
int mpt_tr_corpus_from_text(mpt_tr_corpus *c, const char *text, size_t len, double val_frac,
                            char *err, size_t errlen);

/* Reads a whole file and calls mpt_tr_corpus_from_text. Missing, unreadable, empty or
 * over-1-GiB files are errors naming the file. */
int mpt_tr_corpus_load_file(mpt_tr_corpus *c, const char *path, double val_frac, char *err,
                            size_t errlen);

void mpt_tr_corpus_free(mpt_tr_corpus *c);

static inline size_t mpt_tr_corpus_val_tokens(const mpt_tr_corpus *c)
{
    return c->n - c->n_train;
}

/* A training batch: B sequences at random offsets of the training split, each T inputs and
 * their T next-token targets, written as int32 (the embedding kernel's index type).
 * Requires n_train >= T + 1 (mpt_tr_opts_check_data). */
void mpt_tr_corpus_train_batch(const mpt_tr_corpus *c, mpt_tr_rng *rng, int B, int T,
                               int32_t *inputs, int32_t *targets);

/* Validation batch `index` of `count`: B*count sequences spread evenly over the held-out
 * split, so every evaluation sees the same text. Requires val tokens >= T + 1. */
void mpt_tr_corpus_val_batch(const mpt_tr_corpus *c, int index, int count, int B, int T,
                             int32_t *inputs, int32_t *targets);

#endif
