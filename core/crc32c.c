/*
 * CRC-32C: the SSE4.2 crc32 instruction where the CPU has it, slicing-by-8 in software
 * otherwise (see crc32c.h for the parameters and the contract). The instruction computes exactly
 * this polynomial, reflected, so both paths give the same bits; the reader's throughput is
 * bounded by this checksum, which is why the hardware path exists.
 *
 * Software: table k maps a byte to the CRC contribution of that byte followed by k zero bytes,
 * so eight input bytes are folded with eight lookups per step instead of eight dependent byte
 * steps. The tables are computed, not pasted: 8 x 256 literals would hide a typo; the tests
 * check the result against a bit-at-a-time reference and the published check values.
 *
 * Hardware: one crc32 instruction has a latency of 3 cycles but the CPU can start one every
 * cycle, so a single dependent chain runs at a third of the instruction's throughput. Buffers of
 * at least 3 blocks are therefore cut into three consecutive blocks A, B, C whose CRC registers
 * are computed at once (A from the running state, B and C from zero) and joined by linearity:
 *   reg(s, A|B|C) = shift(shift(reg(s, A), |B|) ^ reg(0, B), |C|) ^ reg(0, C)
 * where shift(r, n) = reg(r, n zero bytes) is a linear map of the 32-bit register, applied with
 * four 256-entry tables per block length (built from the map's 32 columns). Two block lengths:
 * a long one for big buffers and a short one sized for trace records (a few hundred bytes).
 *
 * Folding, where the CPU also has VPCLMULQDQ and AVX2 (x86-64 since about 2019), for buffers of
 * CRC_FOLD_MIN bytes or more: the message is read 32 bytes at a time into four 256-bit
 * accumulators, and an accumulator is carried forward over D bits by carry-less multiplication
 * (the crc32 instruction takes 8 bytes a cycle at best, a VPCLMULQDQ 32; the CRC was ~40% of the
 * report's read-ahead thread).
 * In polynomial terms a 128-bit lane X = H x^64 + L, followed by D more bits, is worth
 *   X x^D = H x^(D+64) + L x^D == H (x^(D+64) mod P) + L (x^D mod P)   (mod P),
 * two 64 x 32-bit products of under 96 bits, which are XORed onto the lane D bits on. In the
 * reflected bit order a 64 x 64 carry-less product comes out one bit short of the reflected
 * product, so the constants are those of one power less: x^(D+63) mod P for H (the lane's low
 * quadword) and x^(D-1) mod P for L, each reflected into the top half of a quadword. They are
 * computed below, not pasted. The last 16-byte lane is itself a message: the crc32 instruction
 * reduces it (two steps), and the tail under 32 bytes follows on one chain. The derivation was
 * checked in exact polynomial arithmetic before it was written here; the tests hold the path to
 * the bitwise reference at every length and alignment.
 */
#include "core/crc32c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MPT_CRC_HAVE_X86 1
#endif

#define CRC32C_POLY_REFLECTED 0x82F63B78u

static uint32_t crc_table[8][256];
static atomic_int crc_ready;
static int crc_use_hw;           /* decided once, with the tables */
static int crc_use_fold;         /* VPCLMULQDQ + AVX2 + PCLMUL too: the folding path */
static mpt_crc32c_path crc_path; /* tests and benchmarks only */
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

#define CRC_LONG  1024 /* bytes per stream and round, big buffers */
#define CRC_SHORT 64   /* bytes per stream and round, record-sized buffers */

/* shift tables: crc_shift_long[k][b] = reg(b << 8k, CRC_LONG zero bytes); same for short */
static uint32_t crc_shift_long[4][256], crc_shift_short[4][256];

/* The register after n zero bytes: one table step per byte (slow; tables only). */
static uint32_t crc_zeros_slow(uint32_t c, size_t n)
{
    while (n--)
        c = (c >> 8) ^ crc_table[0][c & 0xff];
    return c;
}

static void crc_build_shift(uint32_t tab[4][256], size_t n)
{
    uint32_t col[32]; /* the map's columns: the image of each single register bit */
    for (int i = 0; i < 32; i++)
        col[i] = crc_zeros_slow(1u << i, n);
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int bit = 0; bit < 8; bit++)
                if (b & (1u << bit)) v ^= col[8 * k + bit];
            tab[k][b] = v;
        }
}

/* Folding constants (see the top): for a distance of D bits, {x^(D+63) mod P, x^(D-1) mod P},
 * each reflected into the high half of a quadword. */
static uint64_t crc_fold_1024[2], crc_fold_256[2], crc_fold_128[2];

/* x^e mod P, reflected (bit k holds the coefficient of x^(31-k)): x^0 is bit 31, and a
 * multiplication by x is a shift right that reduces by P when x^31's bit leaves. */
static uint32_t crc_xpow_slow(unsigned e)
{
    uint32_t r = 0x80000000u;
    while (e--)
        r = (r >> 1) ^ (CRC32C_POLY_REFLECTED & (0u - (r & 1)));
    return r;
}

static void crc_build_fold(uint64_t k[2], unsigned d)
{
    k[0] = (uint64_t)crc_xpow_slow(d + 63) << 32;
    k[1] = (uint64_t)crc_xpow_slow(d - 1) << 32;
}

static inline uint32_t crc_shift(const uint32_t tab[4][256], uint32_t c)
{
    return tab[0][c & 0xff] ^ tab[1][(c >> 8) & 0xff] ^ tab[2][(c >> 16) & 0xff] ^ tab[3][c >> 24];
}

static void crc_build_tables(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
        crc_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = crc_table[0][b];
        for (int k = 1; k < 8; k++) {
            c = (c >> 8) ^ crc_table[0][c & 0xff];
            crc_table[k][b] = c;
        }
    }
    crc_build_shift(crc_shift_long, CRC_LONG);
    crc_build_shift(crc_shift_short, CRC_SHORT);
    crc_build_fold(crc_fold_1024, 1024);
    crc_build_fold(crc_fold_256, 256);
    crc_build_fold(crc_fold_128, 128);
#ifdef MPT_CRC_HAVE_X86
    __builtin_cpu_init();
    crc_use_hw = __builtin_cpu_supports("sse4.2");
    crc_use_fold = crc_use_hw && __builtin_cpu_supports("pclmul") &&
                   __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
#endif
    atomic_store_explicit(&crc_ready, 1, memory_order_release);
}

/* Build before main (and before any thread or signal handler of the host program can call in);
 * pthread_once covers a caller that runs earlier than this constructor. */
__attribute__((constructor)) static void crc_init_at_load(void)
{
    pthread_once(&crc_once, crc_build_tables);
}

void mpt_crc32c_set_path(mpt_crc32c_path path)
{
    crc_path = path;
}

const char *mpt_crc32c_default_name(void)
{
    pthread_once(&crc_once, crc_build_tables);
    return crc_use_fold ? "folding (VPCLMULQDQ)"
           : crc_use_hw ? "crc32 instruction (3 streams)"
                        : "software (slicing-by-8)";
}

#ifdef MPT_CRC_HAVE_X86
/* One dependent chain; c is the running (inverted) state, as in crc_soft. Unaligned 8-byte
 * loads from the start (aligning first cost a byte step per misaligned byte: up to 7 dependent
 * instructions for a record's 8-byte head), and the tail in at most three steps. */
__attribute__((target("sse4.2"))) static uint32_t crc_hw1(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    if (n & 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        c = _mm_crc32_u32(c, v);
        p += 4;
    }
    if (n & 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        c = _mm_crc32_u16(c, v);
        p += 2;
    }
    if (n & 1) c = _mm_crc32_u8(c, *p);
    return c;
}

/* Three streams of `block` bytes each, per round, while 3 blocks remain (see the top). */
__attribute__((target("sse4.2"))) static inline const uint8_t *
crc_hw3_rounds(uint32_t *state, const uint8_t *p, size_t *n, size_t block,
               const uint32_t tab[4][256])
{
    uint64_t c0 = *state;
    while (*n >= 3 * block) {
        uint64_t c1 = 0, c2 = 0;
        const uint8_t *end = p + block;
        do {
            uint64_t a, b, c;
            memcpy(&a, p, 8);
            memcpy(&b, p + block, 8);
            memcpy(&c, p + 2 * block, 8);
            c0 = _mm_crc32_u64(c0, a);
            c1 = _mm_crc32_u64(c1, b);
            c2 = _mm_crc32_u64(c2, c);
            p += 8;
        } while (p < end);
        c0 = crc_shift(tab, (uint32_t)c0) ^ (uint32_t)c1;
        c0 = crc_shift(tab, (uint32_t)c0) ^ (uint32_t)c2;
        p += 2 * block;
        *n -= 3 * block;
    }
    *state = (uint32_t)c0;
    return p;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw3(uint32_t c, const uint8_t *p, size_t n)
{
    p = crc_hw3_rounds(&c, p, &n, CRC_LONG, crc_shift_long);
    p = crc_hw3_rounds(&c, p, &n, CRC_SHORT, crc_shift_short);
    return crc_hw1(c, p, n);
}

#define CRC_FOLD_TARGET __attribute__((target("sse4.2,pclmul,avx2,vpclmulqdq")))

/* Each 128-bit lane of x carried forward by the distance of k (see the top). */
CRC_FOLD_TARGET static inline __m256i crc_fold_lanes(__m256i x, __m256i k)
{
    return _mm256_xor_si256(_mm256_clmulepi64_epi128(x, k, 0x00),
                            _mm256_clmulepi64_epi128(x, k, 0x11));
}

CRC_FOLD_TARGET static inline __m256i crc_load32(const uint8_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* n >= 128 bytes from the running state c (inverted, as in crc_hw1). The default path folds
 * from CRC_FOLD_MIN bytes: below it, three streams of the crc32 instruction were as fast on the
 * development machine (bench_crc32c: 0.9-1.0x of folding at 160-448 bytes, 1.07x at 512, 1.12x
 * at 636, 1.4x at 1500). */
#define CRC_FOLD_MIN 512
CRC_FOLD_TARGET static uint32_t crc_fold(uint32_t c, const uint8_t *p, size_t n)
{
    const __m256i k1024 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const void *)crc_fold_1024));
    const __m256i k256 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const void *)crc_fold_256));
    const __m128i k128 = _mm_loadu_si128((const void *)crc_fold_128);
    /* the running state enters as the message's first 32 bits XORed with it */
    __m256i x0 = _mm256_xor_si256(crc_load32(p), _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0, (int)c));
    __m256i x1 = crc_load32(p + 32), x2 = crc_load32(p + 64), x3 = crc_load32(p + 96);
    p += 128;
    n -= 128;
    while (n >= 128) { /* four chains, each 128 bytes (1024 bits) ahead of itself */
        x0 = _mm256_xor_si256(crc_fold_lanes(x0, k1024), crc_load32(p));
        x1 = _mm256_xor_si256(crc_fold_lanes(x1, k1024), crc_load32(p + 32));
        x2 = _mm256_xor_si256(crc_fold_lanes(x2, k1024), crc_load32(p + 64));
        x3 = _mm256_xor_si256(crc_fold_lanes(x3, k1024), crc_load32(p + 96));
        p += 128;
        n -= 128;
    }
    /* onto one: each accumulator is 32 bytes (256 bits) before the next */
    x1 = _mm256_xor_si256(crc_fold_lanes(x0, k256), x1);
    x2 = _mm256_xor_si256(crc_fold_lanes(x1, k256), x2);
    x3 = _mm256_xor_si256(crc_fold_lanes(x2, k256), x3);
    while (n >= 32) {
        x3 = _mm256_xor_si256(crc_fold_lanes(x3, k256), crc_load32(p));
        p += 32;
        n -= 32;
    }
    /* the low lane is 16 bytes (128 bits) before the high one */
    __m128i lo = _mm256_castsi256_si128(x3), hi = _mm256_extracti128_si256(x3, 1);
    __m128i a = _mm_xor_si128(
        _mm_xor_si128(_mm_clmulepi64_si128(lo, k128, 0x00), _mm_clmulepi64_si128(lo, k128, 0x11)),
        hi);
    uint64_t c64 = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(a));
    c64 = _mm_crc32_u64(c64, (uint64_t)_mm_extract_epi64(a, 1));
    return crc_hw1((uint32_t)c64, p, n);
}
#endif

static uint32_t crc_soft(uint32_t c, const uint8_t *p, size_t n)
{
    /* Byte steps until p is 8-aligned, so the wide loads below are aligned. */
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= c;
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
            crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
            crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
        n--;
    }
    return c;
}

uint32_t mpt_crc32c(uint32_t crc, const void *data, size_t n)
{
    if (!atomic_load_explicit(&crc_ready, memory_order_acquire))
        pthread_once(&crc_once, crc_build_tables);
#ifdef MPT_CRC_HAVE_X86
    if (crc_use_hw && crc_path != MPT_CRC32C_SOFTWARE) {
        if (crc_path == MPT_CRC32C_HW_ONE_STREAM) return ~crc_hw1(~crc, data, n);
        if (crc_use_fold && crc_path != MPT_CRC32C_HW_THREE_STREAMS &&
            n >= (crc_path == MPT_CRC32C_HW_FOLD ? 128 : CRC_FOLD_MIN))
            return ~crc_fold(~crc, data, n);
        return n < 3 * CRC_SHORT + 8 ? ~crc_hw1(~crc, data, n) : ~crc_hw3(~crc, data, n);
    }
#endif
    return ~crc_soft(~crc, data, n);
}
