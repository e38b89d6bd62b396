/*
 * The synthetic language, tokenisation, the split and batching (contract in corpus.h).
 *
 * The language, in full (docs/reference-trainer.md shows a sample):
 *  - Words are built from syllables consonant+vowel(+consonant) over 14 consonants and 5
 *    vowels. A seeded lexicon holds determiners (4, one syllable), prepositions (6, one
 *    syllable), adjectives (24, two syllables), nouns (48, two syllables), verbs (32, two
 *    syllables) and names (16, two or three syllables). Words within a class are drawn with
 *    Zipf-like frequencies (weight 1/(rank+1)).
 *  - Number agreement: a plural noun takes the suffix "i"; a singular subject makes its verb
 *    take the suffix "s" ("the boka dura tives the mepo." vs "the bokai dura tive ...").
 *  - Sentence = subject verb [object] [prepositional phrase] "." where a noun phrase is
 *    det [adj] noun; each verb prefers 6 of the nouns as objects (chosen 80% of the time).
 *  - Paragraph = 3 to 6 sentences about one protagonist (a name), who is the subject of about
 *    half of them, ended by a newline.
 * Only lowercase letters, space, '.' and '\n' occur: 22 symbols, vocabulary 24.
 */
#include "reference-trainer/corpus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    N_DET = 4,
    N_PREP = 6,
    N_ADJ = 24,
    N_NOUN = 48,
    N_VERB = 32,
    N_NAME = 16,
    N_PREF = 6,
    WORD_MAX = 16
};

typedef struct lexicon {
    char det[N_DET][WORD_MAX], prep[N_PREP][WORD_MAX], adj[N_ADJ][WORD_MAX];
    char noun[N_NOUN][WORD_MAX], verb[N_VERB][WORD_MAX], name[N_NAME][WORD_MAX];
    int pref[N_VERB][N_PREF]; /* each verb's preferred object nouns */
} lexicon;

/* The text being written: stops silently at cap, so generation needs no size planning. */
typedef struct out_buf {
    char *p;
    size_t len, cap;
} out_buf;

static void put(out_buf *o, const char *s)
{
    for (; *s && o->len < o->cap; s++)
        o->p[o->len++] = *s;
}

static void make_word(mpt_tr_rng *r, int syllables, char *w)
{
    static const char cons[] = "bdfgklmnprstvz";
    static const char vow[] = "aeiou";
    size_t n = 0;
    for (int s = 0; s < syllables; s++) {
        w[n++] = cons[mpt_tr_rng_below(r, sizeof cons - 1)];
        w[n++] = vow[mpt_tr_rng_below(r, sizeof vow - 1)];
        /* a closing consonant now and then, never 's' (it would read as the verb suffix) */
        if (s == syllables - 1 && mpt_tr_rng_uniform(r) < 0.3)
            w[n++] = "bdgklmnprtv"[mpt_tr_rng_below(r, 11)];
    }
    w[n] = '\0';
}

/* Fills a class with distinct words (distinct across the lexicon too: a word has one class). */
static void make_class(mpt_tr_rng *r, char (*words)[WORD_MAX], int count, int syl_lo, int syl_hi,
                       int *n_made, char (*all)[WORD_MAX])
{
    for (int i = 0; i < count; i++) {
        for (;;) {
            int syl = syl_lo + (int)mpt_tr_rng_below(r, (uint64_t)(syl_hi - syl_lo + 1));
            make_word(r, syl, words[i]);
            int clash = 0;
            for (int j = 0; j < *n_made && !clash; j++)
                clash = strcmp(all[j], words[i]) == 0;
            if (!clash) break;
        }
        strcpy(all[(*n_made)++], words[i]);
    }
}

static void make_lexicon(mpt_tr_rng *r, lexicon *lx)
{
    char all[N_DET + N_PREP + N_ADJ + N_NOUN + N_VERB + N_NAME][WORD_MAX];
    int made = 0;
    make_class(r, lx->det, N_DET, 1, 1, &made, all);
    make_class(r, lx->prep, N_PREP, 1, 1, &made, all);
    make_class(r, lx->adj, N_ADJ, 2, 2, &made, all);
    make_class(r, lx->noun, N_NOUN, 2, 2, &made, all);
    make_class(r, lx->verb, N_VERB, 2, 2, &made, all);
    make_class(r, lx->name, N_NAME, 2, 3, &made, all);
    for (int v = 0; v < N_VERB; v++)
        for (int k = 0; k < N_PREF; k++)
            lx->pref[v][k] = (int)mpt_tr_rng_below(r, N_NOUN);
}

/* Zipf-like draw: index i with weight 1/(i+1). */
static int zipf(mpt_tr_rng *r, int n)
{
    double total = 0.0;
    for (int i = 0; i < n; i++)
        total += 1.0 / (i + 1);
    double u = mpt_tr_rng_uniform(r) * total;
    for (int i = 0; i < n; i++) {
        u -= 1.0 / (i + 1);
        if (u < 0.0) return i;
    }
    return n - 1;
}

/* det [adj] noun[i]; returns whether the noun is plural. */
static int noun_phrase(mpt_tr_rng *r, const lexicon *lx, out_buf *o, int noun)
{
    put(o, lx->det[zipf(r, N_DET)]);
    put(o, " ");
    if (mpt_tr_rng_uniform(r) < 0.4) {
        put(o, lx->adj[zipf(r, N_ADJ)]);
        put(o, " ");
    }
    put(o, lx->noun[noun]);
    int plural = mpt_tr_rng_uniform(r) < 0.35;
    if (plural) put(o, "i");
    return plural;
}

static void sentence(mpt_tr_rng *r, const lexicon *lx, out_buf *o, int hero)
{
    int plural = 0;
    if (mpt_tr_rng_uniform(r) < 0.5)
        put(o, lx->name[hero]);
    else
        plural = noun_phrase(r, lx, o, zipf(r, N_NOUN));
    int verb = zipf(r, N_VERB);
    put(o, " ");
    put(o, lx->verb[verb]);
    if (!plural) put(o, "s");
    if (mpt_tr_rng_uniform(r) < 0.8) {
        int obj = mpt_tr_rng_uniform(r) < 0.8 ? lx->pref[verb][mpt_tr_rng_below(r, N_PREF)]
                                              : (int)mpt_tr_rng_below(r, N_NOUN);
        put(o, " ");
        noun_phrase(r, lx, o, obj);
    }
    if (mpt_tr_rng_uniform(r) < 0.3) {
        put(o, " ");
        put(o, lx->prep[zipf(r, N_PREP)]);
        put(o, " ");
        noun_phrase(r, lx, o, zipf(r, N_NOUN));
    }
    put(o, ".");
}

void mpt_tr_corpus_generate(uint64_t seed, char *text, size_t len)
{
    mpt_tr_rng r;
    mpt_tr_rng_seed(&r, seed, 0x636f72707573ull /* "corpus" */);
    lexicon lx;
    make_lexicon(&r, &lx);
    out_buf o = {text, 0, len};
    while (o.len < o.cap) {
        int hero = zipf(&r, N_NAME);
        int sentences = 3 + (int)mpt_tr_rng_below(&r, 4);
        for (int s = 0; s < sentences; s++) {
            if (s) put(&o, " ");
            sentence(&r, &lx, &o, hero);
        }
        put(&o, "\n");
    }
}

int mpt_tr_corpus_from_text(mpt_tr_corpus *c, const char *text, size_t len, double val_frac,
                            char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (len < 2) {
        snprintf(err, errlen, "the data has %zu byte(s); at least 2 are needed", len);
        return -1;
    }
    int id_of[256];
    int seen[256] = {0};
    for (size_t i = 0; i < len; i++)
        seen[(unsigned char)text[i]] = 1;
    int n = 0;
    for (int b = 0; b < 256; b++) {
        id_of[b] = seen[b] ? n : -1;
        if (seen[b]) c->sym[n++] = (unsigned char)b;
    }
    c->tokens = malloc(len);
    if (!c->tokens) {
        snprintf(err, errlen, "out of memory for %zu tokens", len);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        c->tokens[i] = (uint8_t)id_of[(unsigned char)text[i]];
    c->n = len;
    c->n_symbols = n;
    c->vocab = (n + 7) / 8 * 8;
    size_t n_val = (size_t)((double)len * val_frac);
    if (n_val < 1) n_val = 1;
    c->n_train = len - n_val;
    return 0;
}

int mpt_tr_corpus_load_file(mpt_tr_corpus *c, const char *path, double val_frac, char *err,
                            size_t errlen)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open data file '%s': %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    for (;;) {
        if (len == cap) {
            if (cap >= (1u << 30)) {
                snprintf(err, errlen, "data file '%s' is larger than 1 GiB", path);
                goto out;
            }
            cap = cap ? cap * 2 : 1 << 16;
            char *nb = realloc(buf, cap);
            if (!nb) {
                snprintf(err, errlen, "out of memory reading '%s'", path);
                goto out;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read data file '%s': %s", path, strerror(errno));
        goto out;
    }
    if (len < 2) {
        snprintf(err, errlen, "data file '%s' has %zu byte(s); at least 2 are needed", path, len);
        goto out;
    }
    rc = mpt_tr_corpus_from_text(c, buf, len, val_frac, err, errlen);
out:
    free(buf);
    fclose(f);
    return rc;
}

void mpt_tr_corpus_free(mpt_tr_corpus *c)
{
    free(c->tokens);
    memset(c, 0, sizeof *c);
}

static void copy_seq(const uint8_t *src, int T, int32_t *in, int32_t *tg)
{
    for (int t = 0; t < T; t++) {
        in[t] = src[t];
        tg[t] = src[t + 1];
    }
}

void mpt_tr_corpus_train_batch(const mpt_tr_corpus *c, mpt_tr_rng *rng, int B, int T,
                               int32_t *inputs, int32_t *targets)
{
    size_t span = c->n_train - (size_t)T; /* valid starts: [0, n_train - T - 1] */
    for (int b = 0; b < B; b++) {
        size_t off = (size_t)mpt_tr_rng_below(rng, span);
        copy_seq(c->tokens + off, T, inputs + (size_t)b * T, targets + (size_t)b * T);
    }
}

void mpt_tr_corpus_val_batch(const mpt_tr_corpus *c, int index, int count, int B, int T,
                             int32_t *inputs, int32_t *targets)
{
    size_t nval = mpt_tr_corpus_val_tokens(c);
    size_t last = nval - (size_t)T - 1; /* the last valid start within the split */
    size_t total = (size_t)count * (size_t)B;
    for (int b = 0; b < B; b++) {
        size_t j = (size_t)index * (size_t)B + (size_t)b;
        size_t off = total > 1 ? (size_t)((double)last * (double)j / (double)(total - 1)) : 0;
        copy_seq(c->tokens + c->n_train + off, T, inputs + (size_t)b * T, targets + (size_t)b * T);
    }
}
