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
 * A whole regular file (no FOLLOW) is mmap'ed instead, sparing read(2)'s copy, and handed back
 * to the kernel in steps behind the consumer (MADV_DONTNEED) so the resident size stays bounded;
 * at the mapping's end the reader goes on with read(2) from there, so bytes appended since the
 * open are read as before. (A file truncated under a mapping raises SIGBUS: a trace is only
 * ever appended to, and one rewritten while it is being reported on cannot be read sensibly
 * either way.) For a mapped file of some size a thread verifies the frames' checksums ahead of
 * the consumer (the verifier below): the CRC is most of what reading costs, and it overlaps with
 * the decoding and the analysis on another core. Records and errors are exactly as without it.
 *
 * Allocation is driven by validated lengths only: a frame's payload length is believed after
 * its head CRC matched and only up to MPT_TRACE_MAX_PAYLOAD; the header's up to
 * MPT_TRACE_HEADER_MAX.
 */
#include "core/trace_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/crc32c.h"

#define WINDOW_MIN (64u << 10)
/* A mapped file's pages are given back (MADV_DONTNEED) in steps this large behind the consumer,
 * so that the mapping adds this much to the resident size, not the file's size. */
#define MAP_RELEASE_STEP (8u << 20)

/* The checking thread maps the file's pages in ahead of itself in steps this large with one
 * madvise(MADV_POPULATE_READ) each: touching them one at a time instead costs a page fault per
 * few pages, which made the checksum thread, and so the whole report, fault-bound. Kernels
 * before 5.14 refuse the advice; the pages are then faulted in as they are read. */
#define POPULATE_STEP (4u << 20)
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* A mapped file at least this long (after the header) is checksummed ahead by a thread. */
#define VERIFY_MIN (1u << 20)
/* ... which tells the consumer how far it got in steps this large, and runs at most this far
 * ahead of it (the pages it touched stay resident until the consumer passes them). */
#define VERIFY_STEP (256u << 10)
#define VERIFY_LEAD (8u << 20)
/* A consumer that caught up with the thread sleeps until it is this far ahead again. */
#define VERIFY_WAKE (2u << 20)

/*
 * The checksum thread of a mapped file. It walks the frames from the header's end exactly as
 * mpt_trace_reader_next does and checks both CRCs of each, publishing how far every frame was
 * whole and sound; the consumer decodes frames below that mark without checksumming them again.
 * At the first frame it cannot pass (damage, truncation, the end) it stops: the consumer checks
 * that frame itself, so every message comes from one place and reads as without the thread.
 */
typedef struct verifier {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* the consumer waits on it for `done` */
    pthread_cond_t cv_ahead; /* the thread waits on it for `consumed` */
    const uint8_t *base;     /* the mapping (read-only, shared) */
    size_t end;              /* bytes mapped */
    size_t from;             /* offset of the first frame */
    size_t done;     /* under mu: the frames in [from, done) are whole and their CRCs match */
    int finished;    /* under mu: the thread has stopped advancing `done` */
    int stop;        /* under mu: the reader is closing */
    int waiting;     /* under mu: the consumer sleeps until done >= wake_at or finished */
    size_t wake_at;  /* under mu */
    size_t consumed; /* under mu: the consumer's position, as last told */
    int ahead;       /* under mu: the thread sleeps until consumed or stop changes */
} verifier;

typedef struct string_slot {
    uint32_t id; /* 0: empty */
    char *s;
} string_slot;

struct mpt_trace_reader {
    int fd;             /* -1 for a memory image */
    const uint8_t *mem; /* memory image (or the mapped file), or NULL */
    size_t mem_len;
    void *map;           /* the file mapped read-only (mem == map), or NULL */
    size_t map_len;      /* bytes mapped: the file's size at open */
    size_t map_released; /* map[0, map_released) given back to the kernel */
    verifier *ver;       /* the checksum thread of a mapped file, or NULL */
    size_t ver_done;     /* the last `done` seen: frames before it need no checksum */
    size_t ver_told;     /* the last `consumed` told */
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

/*
 * Makes up to `need` bytes at pos available and returns a pointer to them; *avail tells how many
 * there are (less than need only at the current end of data). NULL on a read error.
 */
/* ---- the checksum thread --------------------------------------------------------------------- */

static void *verify_main(void *arg)
{
    verifier *v = arg;
    size_t pos = v->from, published = pos, populated = pos & ~(size_t)4095;
    int stop = 0, populate = 1;
    while (!stop && v->end - pos >= MPT_TRACE_FRAME_HEAD) {
        if (populate && pos + POPULATE_STEP / 2 >= populated && populated < v->end) {
            size_t n = v->end - populated < POPULATE_STEP ? v->end - populated : POPULATE_STEP;
            if (madvise((uint8_t *)v->base + populated, n, MADV_POPULATE_READ) != 0) populate = 0;
            populated += n;
        }
        const uint8_t *p = v->base + pos;
        uint32_t len = mpt_get_u32(p);
        if (mpt_get_u32(p + 8) != mpt_crc32c(0, p, 8) || len > MPT_TRACE_MAX_PAYLOAD) break;
        size_t body = MPT_TRACE_FRAME_HEAD + (size_t)len;
        if (v->end - pos < body + MPT_TRACE_FRAME_TAIL) break;
        /* the CRC first, then the stored value: read in this order the stored value is in the
         * cache, while loading it first would wait on memory a whole record ahead */
        uint32_t crc = mpt_crc32c(0, p, body);
        if (mpt_get_u32(p + body) != crc) break;
        pos += body + MPT_TRACE_FRAME_TAIL;
        if (pos - published >= VERIFY_STEP) {
            pthread_mutex_lock(&v->mu);
            v->done = published = pos;
            if (v->waiting && pos >= v->wake_at) pthread_cond_signal(&v->cv);
            while (!v->stop && pos - v->consumed > VERIFY_LEAD) {
                v->ahead = 1;
                pthread_cond_wait(&v->cv_ahead, &v->mu);
                v->ahead = 0;
            }
            stop = v->stop;
            pthread_mutex_unlock(&v->mu);
        }
    }
    pthread_mutex_lock(&v->mu);
    v->done = pos;
    v->finished = 1;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
    return NULL;
}

/* Starts the thread for the frames from r->pos on; without it (one CPU, a small file, a failure
 * to start) the consumer simply checksums everything itself. */
static void verify_start(mpt_trace_reader *r)
{
    if (!r->map || r->map_len - (size_t)r->pos < VERIFY_MIN || sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return;
    verifier *v = calloc(1, sizeof *v);
    if (!v) return;
    v->base = r->map;
    v->end = r->map_len;
    v->from = v->done = v->consumed = (size_t)r->pos;
    if (pthread_mutex_init(&v->mu, NULL) != 0) {
        free(v);
        return;
    }
    if (pthread_cond_init(&v->cv, NULL) != 0) {
        pthread_mutex_destroy(&v->mu);
        free(v);
        return;
    }
    if (pthread_cond_init(&v->cv_ahead, NULL) != 0) {
        pthread_cond_destroy(&v->cv);
        pthread_mutex_destroy(&v->mu);
        free(v);
        return;
    }
    /* signals stay with the caller's threads */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&v->th, NULL, verify_main, v);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&v->cv_ahead);
        pthread_cond_destroy(&v->cv);
        pthread_mutex_destroy(&v->mu);
        free(v);
        return;
    }
    r->ver = v;
    r->ver_done = r->ver_told = v->from;
}

static void verify_end(mpt_trace_reader *r)
{
    verifier *v = r->ver;
    if (!v) return;
    pthread_mutex_lock(&v->mu);
    v->stop = 1;
    pthread_cond_signal(&v->cv_ahead);
    pthread_mutex_unlock(&v->mu);
    pthread_join(v->th, NULL);
    pthread_cond_destroy(&v->cv_ahead);
    pthread_cond_destroy(&v->cv);
    pthread_mutex_destroy(&v->mu);
    free(v);
    r->ver = NULL;
}

/* 1 when the frame at r->pos was found whole and sound by the thread (waiting for it to get
 * there if need be), 0 when the consumer must check it itself. */
static int verified(mpt_trace_reader *r)
{
    verifier *v = r->ver;
    if (r->pos < r->ver_done && (!v || r->pos - r->ver_told < VERIFY_LEAD / 2)) return 1;
    if (!v) return 0;
    pthread_mutex_lock(&v->mu);
    v->consumed = r->ver_told = (size_t)r->pos;
    if (v->ahead) pthread_cond_signal(&v->cv_ahead);
    if (v->done <= r->pos && !v->finished) {
        /* Caught up: sleep until the thread is well ahead again, not just one step, so that
         * the two threads hand over rarely (a wake-up costs tens of microseconds, more in a
         * virtual machine). Measured on the 1.44 GiB bench trace the difference is within
         * this machine's run-to-run noise (docs/analyzer.md, "Speed"); it is kept because it
         * can only lower the number of sleeps. */
        v->wake_at = (size_t)r->pos + VERIFY_WAKE;
        while (v->done < v->wake_at && !v->finished) {
            v->waiting = 1;
            pthread_cond_wait(&v->cv, &v->mu);
            v->waiting = 0;
        }
    }
    r->ver_done = v->done;
    int fin = v->finished;
    pthread_mutex_unlock(&v->mu);
    if (r->pos < r->ver_done) return 1;
    if (fin) verify_end(r); /* it stopped here: from now on, the consumer's own checks */
    return 0;
}

/* ---- the window ------------------------------------------------------------------------------ */

static void unmap(mpt_trace_reader *r)
{
    verify_end(r);
    r->ver_done = 0;
    if (r->map) munmap(r->map, r->map_len);
    r->map = NULL;
    r->mem = NULL;
}

/*
 * The end of a mapped file is reached and more is wanted: the file may have grown since it was
 * mapped, so go on as a read(2) reader would, from the first byte not mapped, with the mapped
 * bytes not yet consumed carried into the buffer.
 */
static int map_to_buffer(mpt_trace_reader *r)
{
    size_t tail = r->map_len - (size_t)r->pos;
    if (tail > r->cap) {
        uint8_t *nb = realloc(r->buf, tail);
        if (!nb) {
            errno = ENOMEM;
            return -1;
        }
        r->buf = nb;
        r->cap = tail;
    }
    memcpy(r->buf, r->mem + r->pos, tail);
    r->start = 0;
    r->len = tail;
    if (lseek(r->fd, (off_t)r->map_len, SEEK_SET) < 0) return -1;
    unmap(r);
    return 0;
}

static const uint8_t *window(mpt_trace_reader *r, size_t need, size_t *avail)
{
    if (r->mem) {
        *avail = r->mem_len - (size_t)r->pos;
        if (*avail >= need || !r->map) return r->mem + r->pos;
        if (map_to_buffer(r) != 0) return NULL;
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
    r->pos += n;
    if (!r->mem) r->start += n;
    if (r->map && r->pos - r->map_released >= 2 * (uint64_t)MAP_RELEASE_STEP) {
        /* the record just consumed may still be in use by the caller: keep the last step */
        size_t upto = (size_t)r->pos - MAP_RELEASE_STEP;
        upto &= ~((size_t)sysconf(_SC_PAGESIZE) - 1);
        madvise((uint8_t *)r->map + r->map_released, upto - r->map_released, MADV_DONTNEED);
        r->map_released = upto;
    }
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
    /* A whole regular file is mapped, sparing the copy read(2) makes; a file still growing
     * (FOLLOW), a pipe or a failed mmap is read. Bytes written after the mapping are read too
     * (map_to_buffer), as read(2) would have. */
    struct stat st;
    if (!(flags & MPT_TRACE_FOLLOW) && fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, r->fd, 0);
        if (m != MAP_FAILED) {
            /* No MADV_SEQUENTIAL: it leaves the pages read looking unused, and a reclaimer then
             * drops them from the page cache, so that the next reader goes to the disk. */
            r->map = m;
            r->map_len = (size_t)st.st_size;
            r->mem = m;
            r->mem_len = r->map_len;
        }
    }
    r = reader_start(r, err, errlen);
    if (r) verify_start(r);
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
    unmap(r);
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
        if (r->ver_done && verified(r)) { /* checked by the thread: whole, and sound */
            p = window(r, total, &avail);
            if (!p) return io_error(r);
            goto decode;
        }
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
