/*
 * Sequential little-endian cursors for the trace codec (private to core/trace_*.c).
 *
 * An encoder or decoder walks a payload field by field in the order of docs/trace-format.md's
 * tables, so the field order in the code is the byte order on disk. No bounds checks: callers
 * check the payload length against the fixed size before walking it.
 */
#ifndef MPT_CORE_TRACE_CURSOR_H
#define MPT_CORE_TRACE_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/bytes.h"

typedef struct wcur {
    uint8_t *p;
} wcur;

static inline void w8(wcur *c, uint8_t v)
{
    mpt_put_u8(c->p, v);
    c->p += 1;
}
static inline void w16(wcur *c, uint16_t v)
{
    mpt_put_u16(c->p, v);
    c->p += 2;
}
static inline void w32(wcur *c, uint32_t v)
{
    mpt_put_u32(c->p, v);
    c->p += 4;
}
static inline void w64(wcur *c, uint64_t v)
{
    mpt_put_u64(c->p, v);
    c->p += 8;
}
static inline void wi64(wcur *c, int64_t v)
{
    mpt_put_i64(c->p, v);
    c->p += 8;
}
static inline void wf64(wcur *c, double v)
{
    mpt_put_f64(c->p, v);
    c->p += 8;
}
static inline void wbytes(wcur *c, const void *b, size_t n)
{
    if (n > 0) memcpy(c->p, b, n);
    c->p += n;
}

typedef struct rcur {
    const uint8_t *p;
} rcur;

static inline uint8_t r8(rcur *c)
{
    return *c->p++;
}
static inline uint16_t r16(rcur *c)
{
    uint16_t v = mpt_get_u16(c->p);
    c->p += 2;
    return v;
}
static inline uint32_t r32(rcur *c)
{
    uint32_t v = mpt_get_u32(c->p);
    c->p += 4;
    return v;
}
static inline uint64_t r64(rcur *c)
{
    uint64_t v = mpt_get_u64(c->p);
    c->p += 8;
    return v;
}
static inline int64_t ri64(rcur *c)
{
    int64_t v = mpt_get_i64(c->p);
    c->p += 8;
    return v;
}
static inline double rf64(rcur *c)
{
    double v = mpt_get_f64(c->p);
    c->p += 8;
    return v;
}

#endif
