/*
 * The reference trainer's deterministic random numbers: splitmix64 to expand a seed, then
 * xoshiro256** for the stream. Same seed, same numbers, on every machine and compiler: the
 * synthetic corpus, the initial weights and the batch order all come from here, so a run is
 * reproducible from its flags alone (the GPU build draws them on the host too).
 *
 * static inline by design: tiny, hot in the corpus generator, used by several files.
 */
#ifndef MPT_TR_RNG_H
#define MPT_TR_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct mpt_tr_rng {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} mpt_tr_rng;

static inline uint64_t mpt_tr_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Seeds a stream; `stream` separates independent uses of one user seed (init, batches, ...). */
static inline void mpt_tr_rng_seed(mpt_tr_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = mpt_tr_splitmix64(&x);
}

static inline uint64_t mpt_tr__rotl(uint64_t v, int k)
{
    return (v << k) | (v >> (64 - k));
}

static inline uint64_t mpt_tr_rng_next(mpt_tr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = mpt_tr__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = mpt_tr__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double mpt_tr_rng_uniform(mpt_tr_rng *r)
{
    return (double)(mpt_tr_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n >= 1 (Lemire's multiply-shift; the tiny bias is irrelevant
 * for corpus and batch sampling). */
static inline uint64_t mpt_tr_rng_below(mpt_tr_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)mpt_tr_rng_next(r) * n) >> 64);
}

/* Standard normal by Box-Muller (one value per call; the second is discarded so the stream
 * position depends only on the number of calls). */
static inline double mpt_tr_rng_normal(mpt_tr_rng *r)
{
    double u1 = mpt_tr_rng_uniform(r);
    double u2 = mpt_tr_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
