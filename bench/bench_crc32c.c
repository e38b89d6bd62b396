/*
 * bench_crc32c: the trace checksum's paths on the buffer lengths the trace holds, in the same
 * run: slicing-by-8 software (the portable baseline), the crc32 instruction on one dependent
 * chain and on three interleaved streams, and the default (folding with VPCLMULQDQ where the CPU
 * has it, else the three streams: core/crc32c.c).
 *
 * Each length is checksummed over a 64 MiB walk of one buffer (cache-resident lengths, as the
 * read-ahead thread sees records just read), best of 5 runs, printed in GB/s with
 * the default path's speed-up over the others. The reader's checksum thread is what bounds
 * `mptrace report` (bench_report), so this ratio is the one that moves it. Prints "no SSE4.2"
 * rows as software-only on CPUs without the instruction.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/crc32c.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* GB/s of mpt_crc32c over `len`-byte pieces of buf, on `path`, best of 5. */
static double speed(const uint8_t *buf, size_t len, mpt_crc32c_path path, uint32_t *sink)
{
    enum { WALK = 64 << 20 };
    size_t reps = WALK / len;
    double best = 0;
    mpt_crc32c_set_path(path);
    for (int run = 0; run < 5; run++) {
        uint32_t c = 0;
        double t0 = now_s();
        for (size_t r = 0; r < reps; r++)
            c ^= mpt_crc32c(0, buf + (r & 7), len); /* every alignment, like records */
        double t = now_s() - t0;
        *sink ^= c;
        double gbs = (double)reps * (double)len / t / 1e9;
        if (gbs > best) best = gbs;
    }
    mpt_crc32c_set_path(MPT_CRC32C_AUTO);
    return best;
}

int main(void)
{
    /* Trace frames: a SCALAR or RANGE record is tens of bytes, a GEMM record ~200, a full TENSOR
     * record with its histogram 500-900 (bench_report's synthetic trace averages ~720). */
    static const size_t lens[] = {48, 200, 720, 1500, 4096, 65536};
    size_t cap = 65536 + 8;
    uint8_t *buf = malloc(cap);
    if (!buf) return 1;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < cap; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    uint32_t sink = 0;
    printf("bench_crc32c: GB/s by buffer length (best of 5); ratio = default path's speed-up\n");
    printf("default path on this CPU: %s\n", mpt_crc32c_default_name());
    printf("%8s %9s %9s %9s %9s %9s %9s %9s\n", "bytes", "software", "1-chain", "3-stream",
           "default", "vs soft", "vs 1-ch", "vs 3-str");
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        double sw = speed(buf, lens[i], MPT_CRC32C_SOFTWARE, &sink);
        double one = speed(buf, lens[i], MPT_CRC32C_HW_ONE_STREAM, &sink);
        double three = speed(buf, lens[i], MPT_CRC32C_HW_THREE_STREAMS, &sink);
        double def = speed(buf, lens[i], MPT_CRC32C_AUTO, &sink);
        printf("%8zu %9.2f %9.2f %9.2f %9.2f %8.2fx %8.2fx %8.2fx\n", lens[i], sw, one, three, def,
               def / sw, def / one, def / three);
    }
    free(buf);
    return sink == 0x12345678u; /* keeps the work observable; never expected */
}
