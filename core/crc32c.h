/*
 * CRC-32C (Castagnoli): the checksum of every trace header and record.
 *
 * The standard parameters (as iSCSI, ext4, SCTP use them): polynomial 0x1EDC6F41, reflected
 * (0x82F63B78 in LSB-first form), initial value and final XOR 0xFFFFFFFF. Check value:
 * mpt_crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * CRC-32C rather than zlib's CRC-32 because its polynomial detects more error patterns at the
 * lengths of trace records, and because CPUs have an instruction for it should speed ever matter.
 * On x86-64 with SSE4.2 the crc32 instruction computes it, on three interleaved streams for
 * buffers long enough, or, where the CPU also has VPCLMULQDQ and AVX2, buffers from 512 bytes
 * are folded with carry-less multiplications (core/crc32c.c); elsewhere slicing-by-8 in software
 * (tables built once, before main through a constructor and otherwise on first use).
 */
#ifndef MPT_CORE_CRC32C_H
#define MPT_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continues a CRC: pass 0 to start, and the previous result to continue, so that
 * mpt_crc32c(mpt_crc32c(0, a, na), b, nb) equals the CRC of a followed by b.
 * Thread-safe. Async-signal-safe once the tables exist, which any earlier call guarantees
 * (the trace writer computes a CRC when it opens, before any signal handler can use it).
 */
uint32_t mpt_crc32c(uint32_t crc, const void *data, size_t n);

/* Tests and benchmarks only: which implementation mpt_crc32c uses, so that every path is tested
 * and the fast one is measured against the plain one. Not thread-safe. Where the CPU lacks the
 * instruction, the hardware paths fall back to software. */
typedef enum mpt_crc32c_path {
    MPT_CRC32C_AUTO = 0,         /* the fastest available (the default) */
    MPT_CRC32C_SOFTWARE,         /* slicing-by-8 tables */
    MPT_CRC32C_HW_ONE_STREAM,    /* the crc32 instruction, one dependent chain */
    MPT_CRC32C_HW_THREE_STREAMS, /* the crc32 instruction on three interleaved streams */
    MPT_CRC32C_HW_FOLD /* folding from 128 bytes, not just from 512 (three streams without it) */
} mpt_crc32c_path;
void mpt_crc32c_set_path(mpt_crc32c_path path);
/* The default path's name: "folding (VPCLMULQDQ)", "crc32 instruction (3 streams)" or
 * "software (slicing-by-8)": what this CPU runs (tests and benchmarks say which they measured). */
const char *mpt_crc32c_default_name(void);

#endif
