/*
 * CRC-32C, slicing-by-8 in software (see crc32c.h for the parameters and the contract).
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

#define CRC32C_POLY_REFLECTED 0x82F63B78u

static uint32_t crc_table[8][256];
static atomic_int crc_ready;
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
    atomic_store_explicit(&crc_ready, 1, memory_order_release);
}

/* Build before main (and before any thread or signal handler of the host program can call in);
 * pthread_once covers a caller that runs earlier than this constructor. */
__attribute__((constructor)) static void crc_init_at_load(void)
{
    pthread_once(&crc_once, crc_build_tables);
}

uint32_t mpt_crc32c(uint32_t crc, const void *data, size_t n)
{
    if (!atomic_load_explicit(&crc_ready, memory_order_acquire))
        pthread_once(&crc_once, crc_build_tables);

    const uint8_t *p = data;
    uint32_t c = ~crc;
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
    return ~c;
}
