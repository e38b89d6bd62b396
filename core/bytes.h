/*
 * Little-endian byte packing: explicit-width put/get helpers for the trace format.
 *
 * The trace is written and read byte by byte through these helpers, never by dumping a C struct,
 * so the layout on disk does not depend on the compiler's padding, the host's byte order or its
 * alignment rules. Each helper reads or writes exactly the bytes it names at `p` (no alignment
 * needed). Doubles travel as their IEEE-754 bit pattern: NaN payloads, -0 and Inf survive a round
 * trip bit for bit.
 *
 * All helpers are async-signal-safe (no calls, no state): the trace writer's emergency flush uses
 * them from a signal handler.
 */
#ifndef MPT_CORE_BYTES_H
#define MPT_CORE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void mpt_put_u8(uint8_t *p, uint8_t v)
{
    p[0] = v;
}

static inline void mpt_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void mpt_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void mpt_put_u64(uint8_t *p, uint64_t v)
{
    mpt_put_u32(p, (uint32_t)v);
    mpt_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline void mpt_put_i32(uint8_t *p, int32_t v)
{
    mpt_put_u32(p, (uint32_t)v);
}

static inline void mpt_put_i64(uint8_t *p, int64_t v)
{
    mpt_put_u64(p, (uint64_t)v);
}

static inline void mpt_put_f64(uint8_t *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    mpt_put_u64(p, bits);
}

static inline uint8_t mpt_get_u8(const uint8_t *p)
{
    return p[0];
}

static inline uint16_t mpt_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t mpt_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t mpt_get_u64(const uint8_t *p)
{
    return (uint64_t)mpt_get_u32(p) | (uint64_t)mpt_get_u32(p + 4) << 32;
}

/* Two's complement on every platform gcc targets; the conversion is implementation-defined in C
 * but defined as modulo 2^N by gcc. */
static inline int32_t mpt_get_i32(const uint8_t *p)
{
    return (int32_t)mpt_get_u32(p);
}

static inline int64_t mpt_get_i64(const uint8_t *p)
{
    return (int64_t)mpt_get_u64(p);
}

static inline double mpt_get_f64(const uint8_t *p)
{
    uint64_t bits = mpt_get_u64(p);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

#endif
