/*
 * CRC-32C: the SSE4.2 crc32 instruction where the CPU has it, slicing-by-8 in software
 * otherwise (see crc32c.h for the parameters and the contract). The instruction computes exactly
 * this polynomial, reflected, so both paths give the same bits; the reader's throughput is
 * bounded by this checksum, which is why the hardware path exists.
 *
 * Table k maps a byte to the CRC contribution of that byte followed by k zero bytes, so eight
 * input bytes are folded with eight lookups per step instead of eight dependent byte steps.
 * The tables are computed, not pasted: 8 x 256 literals would hide a typo; the tests check the
 * result against a bit-at-a-time reference and the published check values.
 */
#include "core/crc32c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define MPT_CRC_HAVE_X86 1
#endif

#define CRC32C_POLY_REFLECTED 0x82F63B78u

static uint32_t crc_table[8][256];
static atomic_int crc_ready;
static int crc_use_hw;     /* decided once, with the tables */
static int crc_force_soft; /* tests only */
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

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
#ifdef MPT_CRC_HAVE_X86
    __builtin_cpu_init();
    crc_use_hw = __builtin_cpu_supports("sse4.2");
#endif
    atomic_store_explicit(&crc_ready, 1, memory_order_release);
}

/* Build before main (and before any thread or signal handler of the host program can call in);
 * pthread_once covers a caller that runs earlier than this constructor. */
__attribute__((constructor)) static void crc_init_at_load(void)
{
    pthread_once(&crc_once, crc_build_tables);
}

void mpt_crc32c_force_software(int on)
{
    crc_force_soft = on;
}

#ifdef MPT_CRC_HAVE_X86
/* c is the running (inverted) state, as in crc_soft. */
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8(c, *p++);
        n--;
    }
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n > 0) {
        c = _mm_crc32_u8(c, *p++);
        n--;
    }
    return c;
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
    if (crc_use_hw && !crc_force_soft) return ~crc_hw(~crc, data, n);
#endif
    return ~crc_soft(~crc, data, n);
}
