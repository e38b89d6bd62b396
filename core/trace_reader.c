/*
 * Trace reader (contract in trace_reader.h; format in docs/trace-format.md).
 *
 * The reader keeps a window of the file: buf[start, len) holds the bytes from file offset `pos`
 * (the first byte not yet consumed) onwards. It asks the window for exactly what the next step
 * needs (the 12-byte frame head, then the whole frame) and consumes a record only once it has
 * been verified and decoded, so in FOLLOW mode "not enough bytes yet" is answered without
 * moving, and the next call simply asks again. FOLLOW readers and pipes read with sequential
 * read(2), never a seek.
 *
 * A whole regular file (no FOLLOW) of some size is read ahead (trace_ahead.c): a thread
 * pread()s it in large blocks into a few reused buffers and checks the frames' checksums while
 * the bytes are in the cache, and the reader decodes those frames in place without checking
 * them again; the CRC and the copy out of the page cache overlap with the decoding and the
 * analysis on another core. At the first frame the read-ahead cannot pass (damage, a cut
 * frame, the end of the file as it was then, a frame longer than a block) the reader goes on
 * from there with read(2) and its own checks, so records and messages are exactly as without
 * it, and bytes appended since the open are read as before. (The file used to be mmap'ed; in a
 * virtual machine the page faults and TLB misses of the mapping made the CRC over it about ten
 * times slower than over cached buffers: docs/analyzer.md, "Speed".)
 *
 * Allocation is driven by validated lengths only: a frame's payload length is believed after
 * its head CRC matched and only up to MPT_TRACE_MAX_PAYLOAD; the header's up to
 * MPT_TRACE_HEADER_MAX.
 */
#include "core/trace_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "core/trace_ahead.h"

#define WINDOW_MIN (64u << 10)
/* A file with at least this much after the header is read ahead (trace_ahead.h);
 * below it, starting a thread and its buffers costs more than it saves. */
#define AHEAD_MIN (1u << 20)

typedef struct string_slot {
    uint32_t id; /* 0: empty */
    char *s;
} string_slot;

struct mpt_trace_reader {
    int fd;             /* -1 for a memory image */
    const uint8_t *mem; /* memory image, or NULL */
    size_t mem_len;
    mpt_trace_ahead *ahead; /* the file's read-ahead, or NULL */
    const uint8_t *span;    /* the read-ahead's span: file bytes [span_at, span_end), whole */
    uint64_t span_at;       /* frames whose checksums match; span_end is 0 without one */
    uint64_t span_end;
    unsigned flags;
    uint8_t *buf; /* file window: buf[start, len) = file bytes from pos */
    size_t cap, start, len;
    uint64_t pos;
    mpt_trace_status sticky; /* a terminal status, or MPT_TRACE_RECORD while healthy */
    int have_header, ended;
    mpt_trace_header hdr;
    char *hdr_strings; /* hostname NUL cmdline: owned copies behind hdr's pointers */
    uint64_t records, skipped, truncated;
    string_slot *slots; /* open addressing on id */
    size_t nslots, nstrings;
    char *text; /* NUL-terminated copy of the last MESSAGE / STRING text */
    size_t text_cap;
    char name[128]; /* for messages: the path, or "<memory>" */
    char err[512];
};

/* ---- the window ------------------------------------------------------------------------------ */

/* The read-ahead has stopped at r->pos: from here on the reader reads the file itself. */
static int ahead_stop(mpt_trace_reader *r)
{
    mpt_trace_ahead_end(r->ahead);
    r->ahead = NULL;
    r->span = NULL;
    r->span_end = 0;
    r->start = r->len = 0;
    return lseek(r->fd, (off_t)r->pos, SEEK_SET) < 0 ? -1 : 0;
}

/*
 * Makes up to `need` bytes at pos available and returns a pointer to them; *avail tells how many
 * there are (less than need only at the current end of data). NULL on a read error. In the
 * read-ahead's span every frame is whole, so what a frame needs is there.
 */
static const uint8_t *window(mpt_trace_reader *r, size_t need, size_t *avail)
{
    if (r->mem) {
        *avail = r->mem_len - (size_t)r->pos;
        return r->mem + r->pos;
    }
    while (r->pos >= r->span_end && r->ahead) {
        uint64_t at;
        size_t n;
        const uint8_t *s = mpt_trace_ahead_next(r->ahead, &at, &n);
        if (!s || at != r->pos) { /* (at != pos cannot happen: spans follow each other) */
            if (ahead_stop(r) != 0) return NULL;
            break;
        }
        r->span = s;
        r->span_at = at;
        r->span_end = at + n;
    }
    if (r->pos < r->span_end) {
        *avail = (size_t)(r->span_end - r->pos);
        return r->span + (r->pos - r->span_at);
    }
    if (r->len - r->start < need) {
        memmove(r->buf, r->buf + r->start, r->len - r->start);
        r->len -= r->start;
        r->start = 0;
        if (need > r->cap) {
            size_t ncap = r->cap * 2 > need ? r->cap * 2 : need;
            uint8_t *nb = realloc(r->buf, ncap);
            if (!nb) {
                errno = ENOMEM;
                return NULL;
            }
            r->buf = nb;
            r->cap = ncap;
        }
        while (r->len < need) {
            ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return NULL;
            if (n == 0) break;
            r->len += (size_t)n;
        }
    }
    *avail = r->len - r->start;
    return r->buf + r->start;
}

static void consume(mpt_trace_reader *r, size_t n)
{
    if (!r->mem && r->pos >= r->span_end) r->start += n;
    r->pos += n;
}

static mpt_trace_status fail(mpt_trace_reader *r, mpt_trace_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static mpt_trace_status fail(mpt_trace_reader *r, mpt_trace_status st, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, sizeof r->err, "%s: %s", r->name, msg);
    r->sticky = st;
    return st;
}

/* A read(2) failure, or (with errno ENOMEM) an allocation failure. */
static mpt_trace_status io_error(mpt_trace_reader *r)
{
    return fail(r, MPT_TRACE_IO_ERROR, "%s at byte offset %llu: %s",
                errno == ENOMEM ? "out of memory" : "read failed", (unsigned long long)r->pos,
                strerror(errno));
}

/* ---- header ---------------------------------------------------------------------------------- */

static mpt_trace_status read_header(mpt_trace_reader *r)
{
    int follow = (r->flags & MPT_TRACE_FOLLOW) != 0;
    size_t avail;
    const uint8_t *p = window(r, MPT_TRACE_PROBE_BYTES, &avail);
    if (!p) return io_error(r);
    char msg[256];
    uint32_t hlen = 0;
    size_t n = avail < MPT_TRACE_PROBE_BYTES ? avail : MPT_TRACE_PROBE_BYTES;
    int pr = mpt_trace_header_probe(p, n, &hlen, msg, sizeof msg);
    if (pr < 0) return fail(r, MPT_TRACE_BAD_FILE, "%s", msg);
    if (pr == 0) {
        if (follow) return MPT_TRACE_AGAIN;
        if (avail == 0)
            return fail(r, MPT_TRACE_BAD_FILE,
                        "empty file (0 bytes): not an mptrace trace, or "
                        "the traced program wrote nothing");
        return fail(r, MPT_TRACE_BAD_FILE, "truncated header: the file has only %zu bytes", avail);
    }
    p = window(r, hlen, &avail);
    if (!p) return io_error(r);
    if (avail < hlen) {
        if (follow) return MPT_TRACE_AGAIN;
        return fail(r, MPT_TRACE_BAD_FILE, "truncated header: %zu of its %u bytes present", avail,
                    hlen);
    }
    size_t host_len;
    if (mpt_trace_header_decode(p, hlen, &r->hdr, &host_len, msg, sizeof msg) < 0)
        return fail(r, MPT_TRACE_BAD_FILE, "%s", msg);
    /* Own copies: the window moves on. */
    r->hdr_strings = malloc(host_len + 1 + r->hdr.cmdline_len + 1);
    if (!r->hdr_strings) {
        errno = ENOMEM;
        return io_error(r);
    }
    memcpy(r->hdr_strings, r->hdr.hostname, host_len);
    r->hdr_strings[host_len] = '\0';
    memcpy(r->hdr_strings + host_len + 1, r->hdr.cmdline, r->hdr.cmdline_len);
    r->hdr_strings[host_len + 1 + r->hdr.cmdline_len] = '\0';
    r->hdr.hostname = r->hdr_strings;
    r->hdr.cmdline = r->hdr_strings + host_len + 1;
    r->have_header = 1;
    consume(r, hlen);
    return MPT_TRACE_RECORD;
}

/* ---- open, close ----------------------------------------------------------------------------- */

static mpt_trace_reader *reader_new(const char *name, unsigned flags)
{
    mpt_trace_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fd = -1;
    r->flags = flags;
    snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

/* Reads the header now; a FOLLOW reader may wait for it. NULL (and r freed) on refusal. */
static mpt_trace_reader *reader_start(mpt_trace_reader *r, char *err, size_t errlen)
{
    mpt_trace_status st = read_header(r);
    if (st == MPT_TRACE_RECORD || st == MPT_TRACE_AGAIN) return r;
    snprintf(err, errlen, "%s", r->err);
    mpt_trace_reader_close(r);
    return NULL;
}

/* CPUs this thread may run on. With one, the read-ahead's thread would only take turns with
 * the reader: measured on one core, reading with and without it took the same time. */
static int cpus_usable(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* A whole regular file (no FOLLOW) of some size is read ahead from the first frame on, given a
 * second CPU; the bytes the header's reading brought into the window are read again. */
static void ahead_start(mpt_trace_reader *r)
{
    struct stat st;
    if ((r->flags & MPT_TRACE_FOLLOW) || !r->have_header || fstat(r->fd, &st) != 0 ||
        !S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size < r->pos + AHEAD_MIN ||
        cpus_usable() < 2)
        return;
    r->ahead = mpt_trace_ahead_start(r->fd, r->pos);
    if (r->ahead) r->start = r->len = 0;
}

mpt_trace_reader *mpt_trace_reader_open(const char *path, unsigned flags, char *err, size_t errlen)
{
    mpt_trace_reader *r = reader_new(path, flags);
    if (!r || !(r->buf = malloc(WINDOW_MIN))) {
        snprintf(err, errlen, "%s: out of memory", path);
        mpt_trace_reader_close(r);
        return NULL;
    }
    r->cap = WINDOW_MIN;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        mpt_trace_reader_close(r);
        return NULL;
    }
    r = reader_start(r, err, errlen);
    if (r) ahead_start(r);
    return r;
}

mpt_trace_reader *mpt_trace_reader_open_mem(const void *data, size_t len, char *err, size_t errlen)
{
    mpt_trace_reader *r = reader_new("<memory>", 0);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    static const uint8_t empty[1];
    r->mem = data ? data : empty;
    r->mem_len = data ? len : 0;
    return reader_start(r, err, errlen);
}

void mpt_trace_reader_close(mpt_trace_reader *r)
{
    if (!r) return;
    mpt_trace_ahead_end(r->ahead);
    if (r->fd >= 0) close(r->fd);
    for (size_t i = 0; i < r->nslots; i++)
        free(r->slots[i].s);
    free(r->slots);
    free(r->hdr_strings);
    free(r->text);
    free(r->buf);
    free(r);
}

const mpt_trace_header *mpt_trace_reader_header(const mpt_trace_reader *r)
{
    return r->have_header ? &r->hdr : NULL;
}

/* ---- strings --------------------------------------------------------------------------------- */

static size_t slot_of(uint32_t id, size_t nslots)
{
    return (size_t)(id * 2654435761u) & (nslots - 1);
}

const char *mpt_trace_reader_string(const mpt_trace_reader *r, uint32_t id)
{
    if (id == 0 || r->nslots == 0) return NULL;
    for (size_t j = slot_of(id, r->nslots); r->slots[j].id; j = (j + 1) & (r->nslots - 1))
        if (r->slots[j].id == id) return r->slots[j].s;
    return NULL;
}

/* Enters (id -> copy of bytes); id must not be in the table. Returns the copy, NULL on OOM. */
static const char *string_define(mpt_trace_reader *r, uint32_t id, const char *bytes, size_t len)
{
    if ((r->nstrings + 1) * 2 > r->nslots) {
        size_t n = r->nslots ? r->nslots * 2 : 256;
        string_slot *t = calloc(n, sizeof *t);
        if (!t) return NULL;
        for (size_t i = 0; i < r->nslots; i++) {
            if (!r->slots[i].id) continue;
            size_t j = slot_of(r->slots[i].id, n);
            while (t[j].id)
                j = (j + 1) & (n - 1);
            t[j] = r->slots[i];
        }
        free(r->slots);
        r->slots = t;
        r->nslots = n;
    }
    char *s = malloc(len + 1);
    if (!s) return NULL;
    memcpy(s, bytes, len);
    s[len] = '\0';
    size_t j = slot_of(id, r->nslots);
    while (r->slots[j].id)
        j = (j + 1) & (r->nslots - 1);
    r->slots[j] = (string_slot){id, s};
    r->nstrings++;
    return s;
}

/* NUL-terminated copy of a record's text in r->text (valid until the next call). */
static const char *text_copy(mpt_trace_reader *r, const char *bytes, size_t len)
{
    if (len + 1 > r->text_cap) {
        char *t = realloc(r->text, len + 1);
        if (!t) return NULL;
        r->text = t;
        r->text_cap = len + 1;
    }
    memcpy(r->text, bytes, len);
    r->text[len] = '\0';
    return r->text;
}

/* ---- records --------------------------------------------------------------------------------- */

/* The data ends inside a record: wait (FOLLOW) or report the truncation. */
static mpt_trace_status incomplete(mpt_trace_reader *r, size_t avail)
{
    if (r->flags & MPT_TRACE_FOLLOW) return MPT_TRACE_AGAIN;
    r->truncated = avail;
    return fail(r, MPT_TRACE_TRUNCATED,
                "the trace ends inside a record at byte offset %llu: the last %zu bytes were "
                "ignored (the program was probably killed while writing)",
                (unsigned long long)r->pos, avail);
}

mpt_trace_status mpt_trace_reader_next(mpt_trace_reader *r, mpt_trace_record *rec)
{
    if (r->sticky != MPT_TRACE_RECORD) return r->sticky;
    if (!r->have_header) {
        mpt_trace_status st = read_header(r);
        if (st != MPT_TRACE_RECORD) return st;
    }
    for (;;) {
        size_t avail;
        const uint8_t *p = window(r, MPT_TRACE_FRAME_HEAD, &avail);
        if (!p) return io_error(r);
        if (avail == 0)
            return (r->flags & MPT_TRACE_FOLLOW) && !r->ended ? MPT_TRACE_AGAIN : MPT_TRACE_EOF;
        if (avail < MPT_TRACE_FRAME_HEAD) return incomplete(r, avail);
        uint32_t len = mpt_get_u32(p);
        uint16_t type = mpt_get_u16(p + 4), flags = mpt_get_u16(p + 6);
        unsigned long long off = (unsigned long long)r->pos;
        size_t total = MPT_TRACE_FRAME_OVERHEAD + (size_t)len;
        if (r->pos < r->span_end) goto decode; /* read ahead and checked it: whole, and sound */
        uint32_t stored = mpt_get_u32(p + 8), computed = mpt_crc32c(0, p, 8);
        if (stored != computed)
            return fail(r, MPT_TRACE_CORRUPT,
                        "record header checksum mismatch at byte offset %llu (stored 0x%08x, "
                        "computed 0x%08x); reading stops there",
                        off, stored, computed);
        if (len > MPT_TRACE_MAX_PAYLOAD)
            return fail(r, MPT_TRACE_CORRUPT,
                        "record at byte offset %llu claims %u payload bytes, over the %u-byte "
                        "limit; reading stops there",
                        off, len, MPT_TRACE_MAX_PAYLOAD);
        p = window(r, total, &avail);
        if (!p) return io_error(r);
        if (avail < total) return incomplete(r, avail);
        computed = mpt_crc32c(0, p, MPT_TRACE_FRAME_HEAD + (size_t)len); /* first: see above */
        stored = mpt_get_u32(p + MPT_TRACE_FRAME_HEAD + len);
        if (stored != computed)
            return fail(r, MPT_TRACE_CORRUPT,
                        "checksum mismatch in the %s record at byte offset %llu (%u payload "
                        "bytes; stored 0x%08x, computed 0x%08x); reading stops there",
                        mpt_record_type_name(type), off, len, stored, computed);

    decode:;
        const uint8_t *payload = p + MPT_TRACE_FRAME_HEAD;
        char msg[256];
        int d = 0;
        if ((flags & MPT_FRAME_FLAGS_MUST_UNDERSTAND) != 0) {
            d = 0;
        } else if (type == MPT_REC_TENSOR && (r->flags & MPT_TRACE_SPARSE)) {
            d = mpt_trace_tensor_decode_sparse(payload, len, &rec->u.tensor_sparse, msg,
                                               sizeof msg) < 0
                    ? -1
                    : 1;
            rec->type = MPT_REC_TENSOR;
            rec->sparse = 1;
        } else {
            d = mpt_trace_payload_decode(type, payload, len, rec, msg, sizeof msg);
        }
        if (d < 0)
            return fail(r, MPT_TRACE_CORRUPT, "at byte offset %llu: %s; reading stops there", off,
                        msg);
        if (d == 0) { /* a newer writer's record type: skip it by its length */
            r->skipped++;
            consume(r, total);
            continue;
        }
        if (rec->type == MPT_REC_STRING) {
            mpt_trace_string *s = &rec->u.string;
            /* A redefinition keeps the table's first text; the record shows its own. */
            if (mpt_trace_reader_string(r, s->id))
                s->bytes = text_copy(r, s->bytes, s->len);
            else
                s->bytes = string_define(r, s->id, s->bytes, s->len);
            if (!s->bytes) {
                errno = ENOMEM;
                return io_error(r);
            }
        } else if (rec->type == MPT_REC_MESSAGE) {
            mpt_trace_message *m = &rec->u.message;
            if (!(m->text = text_copy(r, m->text, m->len))) {
                errno = ENOMEM;
                return io_error(r);
            }
        } else if (rec->type == MPT_REC_END) {
            r->ended = 1;
        }
        rec->offset = r->pos;
        rec->payload_len = len;
        consume(r, total);
        r->records++;
        return MPT_TRACE_RECORD;
    }
}

/* ---- accessors ------------------------------------------------------------------------------- */

const char *mpt_trace_reader_error(const mpt_trace_reader *r)
{
    return r->sticky != MPT_TRACE_RECORD ? r->err : "";
}

uint64_t mpt_trace_reader_offset(const mpt_trace_reader *r)
{
    return r->pos;
}

uint64_t mpt_trace_reader_truncated_bytes(const mpt_trace_reader *r)
{
    return r->truncated;
}

uint64_t mpt_trace_reader_records(const mpt_trace_reader *r)
{
    return r->records;
}

uint64_t mpt_trace_reader_skipped(const mpt_trace_reader *r)
{
    return r->skipped;
}
