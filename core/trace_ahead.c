/*
 * Read-ahead for the trace reader (contract in trace_ahead.h).
 *
 * Why: reading a trace is mostly moving its bytes and checksumming them. Mapping the file
 * spared read(2)'s copy, but every 4 KiB page of the mapping then cost a fault and a TLB miss
 * (under nested paging in a virtual machine, a slow one), and the CRC over the mapping ran at
 * a tenth of its speed on cached data (docs/analyzer.md, "Speed"). So the file is read instead,
 * in large blocks, into a few buffers allocated once and reused: huge pages where the kernel
 * gives them (MADV_HUGEPAGE), no faults after the first pass, and the CRC of each piece computed
 * right after pread brought it into the cache.
 *
 * A thread fills the buffers in turn, NBUF of them in a ring. Each holds BLOCK bytes of the file
 * from the first frame that the previous buffer did not hold whole: those bytes (a frame cut by the
 * block's end) are copied over from the previous buffer, the rest is read. The thread walks the
 * frames as the reader does and records how many bytes of whole, sound frames the buffer holds; the
 * reader takes the buffers in order. At the first frame it cannot pass the thread stops;
 * that frame and everything after it are the reader's (trace_ahead.h), so the read-ahead needs no
 * messages of its own, and what it cannot tell apart (damage, truncation, the end of a file
 * that may still grow) is judged in one place.
 *
 * Memory: NBUF * BLOCK bytes, whatever the file's size.
 */
#include "core/trace_ahead.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "core/trace_format.h"

#define BLOCK MPT_TRACE_AHEAD_BLOCK
/* Buffers in the ring: the reader holds one, the thread fills up to NBUF - 1 ahead. */
#define NBUF 4
/* Each pread brings this much in, and its frames are checked at once, while in the cache. */
#define READ_STEP (256u << 10)
/* The buffers' alignment: a huge page's, so that the kernel can back them with huge pages. */
#define HUGE_ALIGN (2u << 20)

struct mpt_trace_ahead {
    int fd;
    uint8_t *mem; /* NBUF buffers of BLOCK bytes */
    /* the thread's own state */
    uint64_t off;        /* file offset of the next buffer's first byte */
    const uint8_t *tail; /* the bytes of a cut frame at the end of the last buffer... */
    size_t carry;        /* ... and how many */
    /* per buffer, written by the thread before it publishes the buffer */
    uint64_t at[NBUF]; /* file offset of the buffer's first byte */
    size_t ok[NBUF];   /* bytes of whole, checked frames from there */
    /* written under mu (these four with release stores: spin_while_equal polls them) */
    uint64_t filled; /* buffers published */
    uint64_t freed;  /* buffers given back by the reader */
    int stopped;     /* the thread has published its last buffer */
    int closing;     /* end(): the thread is to stop */
    /* the reader's own state */
    uint64_t taken; /* buffers taken (the last one is held until the next call) */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv_full; /* the reader waits on it for `filled` or `stopped` */
    pthread_cond_t cv_free; /* the thread waits on it for `freed` or `closing` */
};

/* The bytes of whole, sound frames at the start of b[0, have): walks them as the reader does.
 * *stop is set at a frame the read-ahead cannot pass; a frame merely cut by `have` is not one. */
static size_t check_frames(const uint8_t *b, size_t done, size_t have, int *stop)
{
    while (have - done >= MPT_TRACE_FRAME_HEAD) {
        const uint8_t *f = b + done;
        uint32_t len = mpt_get_u32(f);
        if (mpt_get_u32(f + 8) != mpt_crc32c(0, f, 8) || len > MPT_TRACE_MAX_PAYLOAD ||
            MPT_TRACE_FRAME_OVERHEAD + (size_t)len > BLOCK) {
            *stop = 1;
            break;
        }
        size_t body = MPT_TRACE_FRAME_HEAD + (size_t)len;
        if (have - done < body + MPT_TRACE_FRAME_TAIL) break;
        /* the CRC first, then the stored value: this way the stored value is in the cache */
        uint32_t crc = mpt_crc32c(0, f, body);
        if (mpt_get_u32(f + body) != crc) {
            *stop = 1;
            break;
        }
        done += body + MPT_TRACE_FRAME_TAIL;
    }
    return done;
}

/* Fills buffer k (free) from p->off; returns 0 when it is the last one. */
static int fill(mpt_trace_ahead *p, unsigned k)
{
    uint8_t *b = p->mem + (size_t)k * BLOCK;
    size_t have = p->carry, done = 0;
    int stop = 0;
    if (have) memcpy(b, p->tail, have);
    for (;;) {
        done = check_frames(b, done, have, &stop);
        if (stop || have == BLOCK) break;
        size_t want = BLOCK - have < READ_STEP ? BLOCK - have : READ_STEP;
        ssize_t n = pread(p->fd, b + have, want, (off_t)(p->off + have));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { /* the end for now, or an error: the reader's read(2) meets it too */
            stop = 1;
            break;
        }
        have += (size_t)n;
    }
    p->at[k] = p->off;
    p->ok[k] = done;
    p->off += done;
    p->tail = b + done;
    p->carry = have - done;
    return !stop;
}

/*
 * Before sleeping on a condition variable, each side polls for a while: the read-ahead runs only
 * when there are two CPUs, so each thread has one, and the hand-over of a buffer happens every
 * few hundred microseconds, while a sleep and its wake-up through the kernel cost tens of
 * microseconds in a virtual machine (a futex call, an inter-processor interrupt): measured on
 * the bench trace, 500-700 of them per report. The counters polled are written under the mutex
 * with release stores and read here with acquire loads, so a buffer's bytes and its at/ok entry
 * are visible once its `filled` is.
 */
#define SPIN_NS 200000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Polls until *a differs from `was` (or *flag is set), for at most SPIN_NS. */
static void spin_while_equal(const uint64_t *a, uint64_t was, const int *flag)
{
    uint64_t t0 = mono_ns();
    for (unsigned i = 1;; i++) {
        if (__atomic_load_n(a, __ATOMIC_ACQUIRE) != was || __atomic_load_n(flag, __ATOMIC_ACQUIRE))
            return;
        cpu_relax();
        if ((i & 255) == 0 && mono_ns() - t0 > SPIN_NS) return;
    }
}

static void *ahead_main(void *arg)
{
    mpt_trace_ahead *p = arg;
    for (;;) {
        uint64_t filled = p->filled, freed = __atomic_load_n(&p->freed, __ATOMIC_ACQUIRE);
        if (filled - freed >= NBUF) spin_while_equal(&p->freed, freed, &p->closing);
        pthread_mutex_lock(&p->mu);
        while (!p->closing && p->filled - p->freed >= NBUF)
            pthread_cond_wait(&p->cv_free, &p->mu);
        int closing = p->closing;
        uint64_t k = p->filled;
        pthread_mutex_unlock(&p->mu);
        if (closing) break;
        /* Buffer k % NBUF is free; the previous one, whose tail this copies, is not refilled
         * before this one is published. */
        int more = fill(p, (unsigned)(k % NBUF));
        pthread_mutex_lock(&p->mu);
        __atomic_store_n(&p->stopped, !more, __ATOMIC_RELEASE);
        __atomic_store_n(&p->filled, k + 1, __ATOMIC_RELEASE);
        pthread_cond_signal(&p->cv_full);
        pthread_mutex_unlock(&p->mu);
        if (!more) break;
    }
    return NULL;
}

mpt_trace_ahead *mpt_trace_ahead_start(int fd, uint64_t from)
{
    mpt_trace_ahead *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (posix_memalign((void **)&p->mem, HUGE_ALIGN, (size_t)NBUF * BLOCK) != 0) {
        free(p);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(p->mem, (size_t)NBUF * BLOCK, MADV_HUGEPAGE); /* advice: refused is fine */
#endif
    p->fd = fd;
    p->off = from;
    if (pthread_mutex_init(&p->mu, NULL) != 0) goto fail_mem;
    if (pthread_cond_init(&p->cv_full, NULL) != 0) goto fail_mu;
    if (pthread_cond_init(&p->cv_free, NULL) != 0) goto fail_full;
    /* signals stay with the caller's threads */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->th, NULL, ahead_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) return p;
    pthread_cond_destroy(&p->cv_free);
fail_full:
    pthread_cond_destroy(&p->cv_full);
fail_mu:
    pthread_mutex_destroy(&p->mu);
fail_mem:
    free(p->mem);
    free(p);
    return NULL;
}

const uint8_t *mpt_trace_ahead_next(mpt_trace_ahead *p, uint64_t *at, size_t *n)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->taken > p->freed) { /* give back the buffer held since the last call */
            __atomic_store_n(&p->freed, p->taken, __ATOMIC_RELEASE);
            pthread_cond_signal(&p->cv_free);
        }
        if (p->taken == p->filled && !p->stopped) {
            pthread_mutex_unlock(&p->mu);
            spin_while_equal(&p->filled, p->taken, &p->stopped);
            pthread_mutex_lock(&p->mu);
        }
        while (p->taken == p->filled && !p->stopped)
            pthread_cond_wait(&p->cv_full, &p->mu);
        int have = p->taken < p->filled;
        pthread_mutex_unlock(&p->mu);
        if (!have) break;
        unsigned k = (unsigned)(p->taken++ % NBUF);
        if (p->ok[k] == 0) continue; /* nothing whole in it: the last buffer */
        *at = p->at[k];
        *n = p->ok[k];
        return p->mem + (size_t)k * BLOCK;
    }
    *at = p->off;
    *n = 0;
    return NULL;
}

void mpt_trace_ahead_end(mpt_trace_ahead *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->closing, 1, __ATOMIC_RELEASE);
    pthread_cond_signal(&p->cv_free);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    pthread_cond_destroy(&p->cv_free);
    pthread_cond_destroy(&p->cv_full);
    pthread_mutex_destroy(&p->mu);
    free(p->mem);
    free(p);
}
