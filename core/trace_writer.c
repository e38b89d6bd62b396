/*
 * Trace writer (contract in trace_writer.h; format in docs/trace-format.md).
 *
 * One mutex guards the buffer, the string table and the error state. Every record is encoded
 * straight into the buffer under the mutex: reserve room (flushing first when full), encode the
 * payload, close the frame with its CRC, advance `used`. The buffer therefore only ever holds
 * whole records, so a flush from anywhere (including a signal handler that found the mutex free)
 * writes whole records only.
 *
 * A thread-local marker records which writer the current thread is inside, so that the
 * emergency flush can tell "this thread was interrupted mid-append" (give up) from "another
 * thread holds the lock briefly" (wait a little) without calling anything unsafe.
 */
#include "core/trace_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef struct intern_slot {
    uint64_t hash;
    char *s; /* owned copy, NUL-terminated; NULL: empty slot */
    uint32_t len;
    uint32_t id;
} intern_slot;

struct mpt_trace_writer {
    pthread_mutex_t mu;
    int fd;
    char *path;
    uint8_t *buf; /* MPT_TRACE_WRITER_BUFFER bytes; [0, used) are whole, unwritten records */
    size_t used;
    uint64_t records; /* records appended so far (header excluded) */
    atomic_uint_fast64_t seq;
    int ended;          /* an END record was appended */
    int finished;       /* the emergency flush ran */
    atomic_int err;     /* errno of the first error; 0 while healthy */
    char errmsg[320];   /* written once, before err is published */
    intern_slot *slots; /* open addressing, power-of-two size */
    size_t nslots, nstrings;
};

/* The writer this thread is inside (holding its mutex), or NULL. initial-exec: no lazy TLS
 * allocation, so a signal handler may read it. */
static _Thread_local mpt_trace_writer *tls_inside __attribute__((tls_model("initial-exec")));

uint64_t mpt_trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mpt_trace_header_init(mpt_trace_header *h)
{
    struct timespec rt, mono;
    memset(h, 0, sizeof *h);
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    h->pid = (int32_t)getpid();
    h->rank = h->local_rank = h->world_size = -1;
    h->start_realtime_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
    h->mono_origin_ns = (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec;
}

static uint32_t current_tid(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

/* ---- errors ---------------------------------------------------------------------------------- */

/* Copies without formatting: usable in a signal handler and in a forked child. */
static void copy_msg(char *dst, size_t cap, const char *a, const char *b)
{
    size_t n = 0;
    for (; *a && n + 1 < cap; a++)
        dst[n++] = *a;
    for (; b && *b && n + 1 < cap; b++)
        dst[n++] = *b;
    dst[n] = '\0';
}

/* Keeps the first error only. Call with the mutex held (or in the single-threaded child). */
static void set_error(mpt_trace_writer *w, int e, const char *what, int sigsafe)
{
    if (atomic_load_explicit(&w->err, memory_order_relaxed) != 0) return;
    if (sigsafe)
        copy_msg(w->errmsg, sizeof w->errmsg, what, NULL);
    else
        snprintf(w->errmsg, sizeof w->errmsg, "%s %s: %s", what, w->path, strerror(e));
    atomic_store_explicit(&w->err, e ? e : EIO, memory_order_release);
}

const char *mpt_trace_writer_error(const mpt_trace_writer *w)
{
    return atomic_load_explicit(&w->err, memory_order_acquire) ? w->errmsg : NULL;
}

int mpt_trace_writer_errno(const mpt_trace_writer *w)
{
    return atomic_load_explicit(&w->err, memory_order_acquire);
}

/* ---- locking, buffer ------------------------------------------------------------------------- */

static int enter(mpt_trace_writer *w)
{
    pthread_mutex_lock(&w->mu);
    tls_inside = w;
    if (atomic_load_explicit(&w->err, memory_order_relaxed) != 0) {
        tls_inside = NULL;
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    return 0;
}

static int leave(mpt_trace_writer *w)
{
    int rc = atomic_load_explicit(&w->err, memory_order_relaxed) ? -1 : 0;
    tls_inside = NULL;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static int flush_locked(mpt_trace_writer *w, int sigsafe)
{
    size_t off = 0;
    while (off < w->used) {
        ssize_t n = write(w->fd, w->buf + off, w->used - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            set_error(w, n < 0 ? errno : EIO, sigsafe ? "write failed in emergency flush" : "write",
                      sigsafe);
            break;
        }
        off += (size_t)n;
    }
    w->used = 0; /* after an error the rest is dropped: the error is sticky anyway */
    return atomic_load_explicit(&w->err, memory_order_relaxed) ? -1 : 0;
}

/* Room for a record of payload_len bytes; returns its frame start, or NULL after an error. */
static uint8_t *reserve_locked(mpt_trace_writer *w, size_t payload_len, int sigsafe)
{
    size_t total = MPT_TRACE_FRAME_OVERHEAD + payload_len;
    if (total > MPT_TRACE_WRITER_BUFFER) { /* cannot happen with the writer's own caps */
        set_error(w, EINVAL, "record too large for", sigsafe);
        return NULL;
    }
    if (w->used + total > MPT_TRACE_WRITER_BUFFER && flush_locked(w, sigsafe) < 0) return NULL;
    return w->buf + w->used;
}

static void commit_locked(mpt_trace_writer *w, uint8_t *frame, uint16_t type, size_t payload_len)
{
    mpt_trace_frame_open(frame, type, 0, (uint32_t)payload_len);
    mpt_trace_frame_close(frame, (uint32_t)payload_len);
    w->used += MPT_TRACE_FRAME_OVERHEAD + payload_len;
    w->records++;
}

/* Appends a record built from r (any type but TENSOR-from-parts). */
static int append_locked(mpt_trace_writer *w, const mpt_trace_record *r, int sigsafe)
{
    size_t len = mpt_trace_payload_size(r);
    uint8_t *f = reserve_locked(w, len, sigsafe);
    if (!f) return -1;
    mpt_trace_payload_encode(r, f + MPT_TRACE_FRAME_HEAD);
    commit_locked(w, f, (uint16_t)r->type, len);
    return 0;
}

static int append(mpt_trace_writer *w, const mpt_trace_record *r)
{
    if (enter(w) < 0) return -1;
    append_locked(w, r, 0);
    if (r->type == MPT_REC_STEP && r->u.step.phase == MPT_STEP_END) flush_locked(w, 0);
    return leave(w);
}

/* ---- open, flush, close ---------------------------------------------------------------------- */

mpt_trace_writer *mpt_trace_writer_open(const char *path, const mpt_trace_header *h, char *err,
                                        size_t errlen)
{
    mpt_trace_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->buf = malloc(MPT_TRACE_WRITER_BUFFER)) || !(w->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory for the trace writer", path);
        goto fail;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        goto fail;
    }
    pthread_mutex_init(&w->mu, NULL);
    atomic_init(&w->seq, 0);
    atomic_init(&w->err, 0);
    /* The header always fits: its strings are capped well below the buffer size. */
    w->used = mpt_trace_header_size(h);
    mpt_trace_header_encode(h, w->buf);
    return w;
fail:
    if (w) {
        free(w->buf);
        free(w->path);
    }
    free(w);
    return NULL;
}

int mpt_trace_writer_flush(mpt_trace_writer *w)
{
    if (enter(w) < 0) return -1;
    flush_locked(w, 0);
    return leave(w);
}

int mpt_trace_writer_close(mpt_trace_writer *w, char *err, size_t errlen)
{
    if (!w) return 0;
    if (atomic_load(&w->err) == 0) {
        pthread_mutex_lock(&w->mu);
        if (!w->ended) {
            mpt_trace_record r = {.type = MPT_REC_END};
            r.u.end = (mpt_trace_end){mpt_trace_now_ns(), MPT_END_CLOSED, 0, w->records};
            if (append_locked(w, &r, 0) == 0) w->ended = 1;
        }
        flush_locked(w, 0);
        pthread_mutex_unlock(&w->mu);
    }
    if (close(w->fd) < 0) set_error(w, errno, "close", 0);
    int rc = 0;
    /* A fork child's copy and a writer already finished by the emergency flush close quietly. */
    int e = atomic_load(&w->err);
    if (e != 0 && e != ECHILD && !w->finished) {
        snprintf(err, errlen, "%s", w->errmsg);
        rc = -1;
    }
    for (size_t i = 0; i < w->nslots; i++)
        free(w->slots[i].s);
    free(w->slots);
    pthread_mutex_destroy(&w->mu);
    free(w->buf);
    free(w->path);
    free(w);
    return rc;
}

uint64_t mpt_trace_writer_next_seq(mpt_trace_writer *w)
{
    return atomic_fetch_add_explicit(&w->seq, 1, memory_order_relaxed) + 1;
}

/* ---- strings --------------------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3u;
    }
    return h;
}

static int intern_grow(mpt_trace_writer *w)
{
    size_t n = w->nslots ? w->nslots * 2 : 256;
    intern_slot *t = calloc(n, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < w->nslots; i++) {
        if (!w->slots[i].s) continue;
        size_t j = w->slots[i].hash & (n - 1);
        while (t[j].s)
            j = (j + 1) & (n - 1);
        t[j] = w->slots[i];
    }
    free(w->slots);
    w->slots = t;
    w->nslots = n;
    return 0;
}

uint32_t mpt_trace_writer_intern(mpt_trace_writer *w, const char *s)
{
    if (!s) return 0;
    size_t len = mpt_trace_text_len(s, MPT_TRACE_TEXT_MAX);
    uint64_t h = fnv1a(s, len);
    if (enter(w) < 0) return 0;
    uint32_t id = 0;
    if ((w->nstrings + 1) * 2 > w->nslots && intern_grow(w) < 0) {
        set_error(w, ENOMEM, "string table of", 0);
        goto out;
    }
    size_t j = h & (w->nslots - 1);
    for (; w->slots[j].s; j = (j + 1) & (w->nslots - 1)) {
        intern_slot *e = &w->slots[j];
        if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) {
            id = e->id;
            goto out;
        }
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        set_error(w, ENOMEM, "string table of", 0);
        goto out;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    mpt_trace_record r = {.type = MPT_REC_STRING};
    r.u.string = (mpt_trace_string){(uint32_t)w->nstrings + 1, (uint32_t)len, copy};
    if (append_locked(w, &r, 0) < 0) {
        free(copy);
        goto out;
    }
    w->slots[j] = (intern_slot){h, copy, (uint32_t)len, r.u.string.id};
    w->nstrings++;
    id = r.u.string.id;
out:
    leave(w);
    return id;
}

/* ---- records --------------------------------------------------------------------------------- */

#define APPEND_AS(TYPE, MEMBER, VALUE)                                                             \
    do {                                                                                           \
        mpt_trace_record r_;                                                                       \
        r_.type = (TYPE);                                                                          \
        r_.u.MEMBER = *(VALUE);                                                                    \
        return append(w, &r_);                                                                     \
    } while (0)

int mpt_trace_writer_gemm(mpt_trace_writer *w, const mpt_trace_gemm *g)
{
    APPEND_AS(MPT_REC_GEMM, gemm, g);
}
int mpt_trace_writer_precision(mpt_trace_writer *w, const mpt_trace_precision *p)
{
    APPEND_AS(MPT_REC_PRECISION, precision, p);
}
int mpt_trace_writer_step(mpt_trace_writer *w, const mpt_trace_step *s)
{
    APPEND_AS(MPT_REC_STEP, step, s);
}
int mpt_trace_writer_scalar(mpt_trace_writer *w, const mpt_trace_scalar *s)
{
    APPEND_AS(MPT_REC_SCALAR, scalar, s);
}
int mpt_trace_writer_kernel(mpt_trace_writer *w, const mpt_trace_kernel *k)
{
    APPEND_AS(MPT_REC_KERNEL, kernel, k);
}
int mpt_trace_writer_memory(mpt_trace_writer *w, const mpt_trace_memory *m)
{
    APPEND_AS(MPT_REC_MEMORY, memory, m);
}
int mpt_trace_writer_range(mpt_trace_writer *w, const mpt_trace_range *r)
{
    APPEND_AS(MPT_REC_RANGE, range, r);
}

static int tensor(mpt_trace_writer *w, const mpt_trace_tensor_info *info, mpt_stat_level level,
                  const mpt_cheap_stats *c, const mpt_stats *s)
{
    size_t len = mpt_trace_tensor_payload_size(level, s);
    if (enter(w) < 0) return -1;
    uint8_t *f = reserve_locked(w, len, 0);
    if (f) {
        mpt_trace_tensor_payload_encode(info, level, c, s, f + MPT_TRACE_FRAME_HEAD);
        commit_locked(w, f, MPT_REC_TENSOR, len);
    }
    return leave(w);
}

int mpt_trace_writer_tensor_cheap(mpt_trace_writer *w, const mpt_trace_tensor_info *info,
                                  const mpt_cheap_stats *c)
{
    return tensor(w, info, MPT_LEVEL_CHEAP, c, NULL);
}

int mpt_trace_writer_tensor_full(mpt_trace_writer *w, const mpt_trace_tensor_info *info,
                                 const mpt_stats *s)
{
    return tensor(w, info, MPT_LEVEL_FULL, NULL, s);
}

int mpt_trace_writer_message(mpt_trace_writer *w, mpt_msg_level level, const char *text)
{
    mpt_trace_record r = {.type = MPT_REC_MESSAGE};
    const char *t = text ? text : "";
    r.u.message = (mpt_trace_message){mpt_trace_now_ns(), current_tid(), level,
                                      (uint32_t)mpt_trace_text_len(t, MPT_TRACE_TEXT_MAX), t};
    return append(w, &r);
}

static int end_record(mpt_trace_writer *w, uint64_t ts, mpt_end_how how, int32_t status)
{
    if (enter(w) < 0) return -1;
    mpt_trace_record r = {.type = MPT_REC_END};
    r.u.end = (mpt_trace_end){ts, how, status, w->records};
    if (append_locked(w, &r, 0) == 0) w->ended = 1;
    flush_locked(w, 0);
    return leave(w);
}

int mpt_trace_writer_end(mpt_trace_writer *w, mpt_end_how how, int32_t status)
{
    return end_record(w, mpt_trace_now_ns(), how, status);
}

int mpt_trace_writer_record(mpt_trace_writer *w, const mpt_trace_record *r)
{
    switch (r->type) {
    case MPT_REC_TENSOR: {
        const mpt_trace_tensor *t = &r->u.tensor;
        return tensor(w, &t->info, t->level, &t->cheap, &t->full);
    }
    case MPT_REC_END:
        return end_record(w, r->u.end.ts_ns, r->u.end.how, r->u.end.status);
    case MPT_REC_MESSAGE: {
        mpt_trace_record m = *r;
        if (!m.u.message.text) m.u.message.len = 0, m.u.message.text = "";
        if (m.u.message.len > MPT_TRACE_TEXT_MAX)
            m.u.message.len = (uint32_t)mpt_trace_text_len(m.u.message.text, MPT_TRACE_TEXT_MAX);
        return append(w, &m);
    }
    case MPT_REC_GEMM:
    case MPT_REC_PRECISION:
    case MPT_REC_STEP:
    case MPT_REC_SCALAR:
    case MPT_REC_KERNEL:
    case MPT_REC_MEMORY:
    case MPT_REC_RANGE:
        return append(w, r);
    default:
        errno = EINVAL;
        return -1; /* STRING (use intern) and unknown types; not sticky */
    }
}

/* ---- signals and fork ------------------------------------------------------------------------ */

int mpt_trace_writer_emergency_flush(mpt_trace_writer *w, mpt_end_how how, int32_t status)
{
    if (!w || tls_inside == w) return -1;
    int locked = 0;
    for (int i = 0; i < 200 && !locked; i++) {
        if (pthread_mutex_trylock(&w->mu) == 0)
            locked = 1;
        else
            nanosleep(&(struct timespec){0, 250000}, NULL);
    }
    if (!locked) return -1;
    int rc;
    if (atomic_load_explicit(&w->err, memory_order_relaxed) == 0) {
        if (!w->ended) {
            mpt_trace_record r = {.type = MPT_REC_END};
            r.u.end = (mpt_trace_end){mpt_trace_now_ns(), how, status, w->records};
            if (append_locked(w, &r, 1) == 0) w->ended = 1;
        }
        rc = flush_locked(w, 1);
        if (rc == 0) {
            w->finished = 1;
            set_error(w, ECANCELED, "trace finished by a fatal-signal flush", 1);
        }
    } else {
        rc = w->finished ? 0 : -1;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void mpt_trace_writer_fork_prepare(mpt_trace_writer *w)
{
    pthread_mutex_lock(&w->mu);
}

void mpt_trace_writer_fork_parent(mpt_trace_writer *w)
{
    pthread_mutex_unlock(&w->mu);
}

void mpt_trace_writer_fork_child(mpt_trace_writer *w)
{
    /* The parent flushes these records; the child drops its copy and refuses further use. */
    w->used = 0;
    w->ended = 1;
    set_error(w, ECHILD, "trace writer inherited across fork(): the child must open its own trace",
              1);
    pthread_mutex_unlock(&w->mu);
}
