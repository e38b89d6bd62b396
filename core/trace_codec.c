/*
 * Trace codec, part 1: the file header and the record frame (payloads are in trace_payload.c).
 * docs/trace-format.md is the specification; the encoders write fields in the order of the doc's
 * tables, so the two read side by side.
 *
 * Pure: no I/O, no allocation, no locks, so the writer can encode straight into its buffer under
 * its mutex and the reader can decode from a file window or a memory image alike. The encoders
 * touch nothing but their output and are async-signal-safe (the writer's emergency flush encodes
 * an END record from a signal handler).
 */
#include "core/trace_format.h"

#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "core/trace_cursor.h"

size_t mpt_trace_text_len(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n <= max) return n;
    /* s[max] exists: back off from a continuation byte to its sequence's lead byte. */
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k;
}

/* ---- header ---------------------------------------------------------------------------------- */

static size_t header_host_len(const mpt_trace_header *h)
{
    return mpt_trace_text_len(h->hostname ? h->hostname : "", MPT_TRACE_HOSTNAME_MAX);
}

static size_t header_cmd_len(const mpt_trace_header *h)
{
    if (!h->cmdline) return 0;
    return h->cmdline_len > MPT_TRACE_CMDLINE_MAX ? MPT_TRACE_CMDLINE_MAX : h->cmdline_len;
}

size_t mpt_trace_header_size(const mpt_trace_header *h)
{
    return MPT_TRACE_HEADER_FIXED + header_host_len(h) + header_cmd_len(h) + 4;
}

void mpt_trace_header_encode(const mpt_trace_header *h, uint8_t *out)
{
    size_t host = header_host_len(h), cmd = header_cmd_len(h);
    size_t total = MPT_TRACE_HEADER_FIXED + host + cmd + 4;
    uint32_t flags = h->flags & ~MPT_HDR_CMDLINE_TRUNCATED;
    if (h->cmdline && h->cmdline_len > cmd) flags |= MPT_HDR_CMDLINE_TRUNCATED;
    wcur c = {out};
    wbytes(&c, MPT_TRACE_MAGIC, MPT_TRACE_MAGIC_LEN);
    w16(&c, MPT_TRACE_VERSION_MAJOR);
    w16(&c, MPT_TRACE_VERSION_MINOR);
    w32(&c, (uint32_t)total);
    w32(&c, flags);
    w32(&c, (uint32_t)h->pid);
    w32(&c, (uint32_t)h->rank);
    w32(&c, (uint32_t)h->local_rank);
    w32(&c, (uint32_t)h->world_size);
    w32(&c, 0); /* reserved */
    wi64(&c, h->start_realtime_ns);
    w64(&c, h->mono_origin_ns);
    w16(&c, (uint16_t)host);
    w16(&c, 0); /* reserved */
    w32(&c, (uint32_t)cmd);
    wbytes(&c, h->hostname ? h->hostname : "", host);
    wbytes(&c, h->cmdline, cmd);
    w32(&c, mpt_crc32c(0, out, total - 4));
}

int mpt_trace_header_probe(const uint8_t *p, size_t n, uint32_t *header_len, char *err,
                           size_t errlen)
{
    size_t m = n < MPT_TRACE_MAGIC_LEN ? n : MPT_TRACE_MAGIC_LEN;
    if (memcmp(p, MPT_TRACE_MAGIC, m) != 0) {
        /* The first four bytes intact but the CR/LF/^Z part changed: a text-mode transfer. */
        if (m >= 4 && memcmp(p, MPT_TRACE_MAGIC, 4) == 0)
            snprintf(err, errlen,
                     "not a valid mptrace trace: the magic bytes were altered, as a "
                     "text-mode (CR/LF) transfer does; copy the file in binary mode");
        else
            snprintf(err, errlen, "not an mptrace trace (bad magic)");
        return -1;
    }
    if (n < MPT_TRACE_PROBE_BYTES) return 0;
    uint16_t major = mpt_get_u16(p + 8), minor = mpt_get_u16(p + 10);
    uint32_t len = mpt_get_u32(p + 12);
    if (major > MPT_TRACE_VERSION_MAJOR) {
        snprintf(err, errlen,
                 "trace format version %u.%u is newer than this reader's %d.%d: "
                 "read it with a newer mptrace",
                 major, minor, MPT_TRACE_VERSION_MAJOR, MPT_TRACE_VERSION_MINOR);
        return -1;
    }
    if (major < MPT_TRACE_VERSION_MAJOR) {
        snprintf(err, errlen, "trace format version %u.%u is not supported", major, minor);
        return -1;
    }
    if (len < MPT_TRACE_HEADER_FIXED + 4 || len > MPT_TRACE_HEADER_MAX) {
        snprintf(err, errlen, "corrupt header: header length %u out of range [%u, %u]", len,
                 MPT_TRACE_HEADER_FIXED + 4, MPT_TRACE_HEADER_MAX);
        return -1;
    }
    *header_len = len;
    return 1;
}

int mpt_trace_header_decode(const uint8_t *p, size_t len, mpt_trace_header *h, size_t *host_len,
                            char *err, size_t errlen)
{
    uint32_t hlen;
    if (len < MPT_TRACE_PROBE_BYTES) {
        snprintf(err, errlen, "truncated header: %zu bytes", len);
        return -1;
    }
    if (mpt_trace_header_probe(p, len, &hlen, err, errlen) < 0) return -1;
    if (hlen != len) {
        snprintf(err, errlen, "header length %u does not match the %zu bytes given", hlen, len);
        return -1;
    }
    uint32_t stored = mpt_get_u32(p + len - 4), computed = mpt_crc32c(0, p, len - 4);
    if (stored != computed) {
        snprintf(err, errlen, "header checksum mismatch (stored 0x%08x, computed 0x%08x)", stored,
                 computed);
        return -1;
    }
    memset(h, 0, sizeof *h);
    rcur c = {p + MPT_TRACE_MAGIC_LEN};
    h->version_major = r16(&c);
    h->version_minor = r16(&c);
    (void)r32(&c); /* header length, checked */
    h->flags = r32(&c);
    h->pid = (int32_t)r32(&c);
    h->rank = (int32_t)r32(&c);
    h->local_rank = (int32_t)r32(&c);
    h->world_size = (int32_t)r32(&c);
    (void)r32(&c);
    h->start_realtime_ns = ri64(&c);
    h->mono_origin_ns = r64(&c);
    size_t host = r16(&c);
    (void)r16(&c);
    size_t cmd = r32(&c);
    /* Strings must fit between the fixed part and the CRC; a newer minor may put more after. */
    if (host + cmd > len - 4 - MPT_TRACE_HEADER_FIXED) {
        snprintf(err, errlen, "corrupt header: strings of %zu + %zu bytes overrun its %zu bytes",
                 host, cmd, len);
        return -1;
    }
    h->hostname = (const char *)p + MPT_TRACE_HEADER_FIXED;
    *host_len = host;
    h->cmdline = (const char *)p + MPT_TRACE_HEADER_FIXED + host;
    h->cmdline_len = cmd;
    return 0;
}

/* ---- framing --------------------------------------------------------------------------------- */

void mpt_trace_frame_open(uint8_t *frame, uint16_t type, uint16_t flags, uint32_t payload_len)
{
    mpt_put_u32(frame, payload_len);
    mpt_put_u16(frame + 4, type);
    mpt_put_u16(frame + 6, flags);
    mpt_put_u32(frame + 8, mpt_crc32c(0, frame, 8));
}

void mpt_trace_frame_close(uint8_t *frame, uint32_t payload_len)
{
    size_t n = MPT_TRACE_FRAME_HEAD + (size_t)payload_len;
    mpt_put_u32(frame + n, mpt_crc32c(0, frame, n));
}
