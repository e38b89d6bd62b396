/*
 * bench_handoff: how fast one core can read bytes another core has just written, against the
 * same core reading what it wrote itself, in the same run.
 *
 * Why: `mptrace report` reads a trace on one core (core/trace_ahead.c: pread into a ring of four
 * 2 MiB buffers) and decodes it on another, so every byte of the trace crosses from one core's
 * caches to the other's. That crossing is a floor under the report's time that no change to the
 * decoder removes (docs/analyzer.md, "Speed"). This measures it with the reader's own shape: a
 * producer thread copies 2 MiB blocks into a four-buffer ring, the consumer (this thread) loads
 * one word of every 64-byte line of each block as it arrives (as a decoder walks records), or
 * copies the block out 256 KiB at a time (a bulk copy keeps more lines in flight); the baseline
 * does it all on one core. About 1.5 GB each way, best of 5, printed in GB/s with the ratios.
 *
 * Needs two CPUs in the affinity mask; with one it says so and exits 0.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK  ((size_t)2 << 20) /* as MPT_TRACE_AHEAD_BLOCK */
#define NBUF   4                 /* as trace_ahead.c */
#define BLOCKS 740               /* ~1.55 GB, the size of bench_report's trace */
#define LINE   64
#define OUT    ((size_t)256 << 10)

static uint8_t *ring, *src;
static atomic_ulong filled, freed;
static int cpu_a, cpu_b;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static int by_copy;  /* the consumer copies each block out (into a 256 KiB buffer) */
static uint8_t *out; /* that buffer: stays in the consumer's cache */

/* One word of every line of block k of the ring, or (by_copy) the block copied out. */
static uint64_t touch(unsigned long k)
{
    if (by_copy) {
        const uint8_t *b = ring + (k % NBUF) * BLOCK;
        for (size_t i = 0; i < BLOCK; i += OUT)
            memcpy(out, b + i, OUT);
        return out[k % OUT];
    }
    const uint8_t *b = ring + (k % NBUF) * BLOCK;
    uint64_t sum = 0;
    for (size_t i = 0; i < BLOCK; i += LINE) {
        uint64_t v;
        memcpy(&v, b + i, sizeof v);
        sum += v;
    }
    return sum;
}

static void *producer(void *arg)
{
    (void)arg;
    pin(cpu_a);
    for (unsigned long k = 0; k < BLOCKS; k++) {
        while (k - atomic_load_explicit(&freed, memory_order_acquire) >= NBUF)
            ; /* the consumer holds every buffer: wait (each thread has its CPU) */
        memcpy(ring + (k % NBUF) * BLOCK, src, BLOCK);
        atomic_store_explicit(&filled, k + 1, memory_order_release);
    }
    return NULL;
}

/* Seconds for the consumer to read every block the producer thread writes. */
static double handoff(uint64_t *sink)
{
    atomic_store(&filled, 0);
    atomic_store(&freed, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, producer, NULL) != 0) return -1;
    pin(cpu_b);
    double t0 = now_s();
    for (unsigned long k = 0; k < BLOCKS; k++) {
        while (atomic_load_explicit(&filled, memory_order_acquire) <= k)
            ;
        *sink += touch(k);
        atomic_store_explicit(&freed, k + 1, memory_order_release);
    }
    double t = now_s() - t0;
    pthread_join(th, NULL);
    return t;
}

/* Seconds for one core to write and then read every block itself. */
static double same_core(uint64_t *sink)
{
    pin(cpu_b);
    double t0 = now_s();
    for (unsigned long k = 0; k < BLOCKS; k++) {
        memcpy(ring + (k % NBUF) * BLOCK, src, BLOCK);
        *sink += touch(k);
    }
    return now_s() - t0;
}

int main(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) < 2) {
        printf("bench_handoff: one CPU: no hand-over between cores to measure\n");
        return 0;
    }
    cpu_a = cpu_b = -1;
    for (int c = 0; c < CPU_SETSIZE && cpu_b < 0; c++)
        if (CPU_ISSET(c, &set)) {
            if (cpu_a < 0)
                cpu_a = c;
            else
                cpu_b = c;
        }
    ring = aligned_alloc(BLOCK, NBUF * BLOCK);
    src = malloc(BLOCK);
    out = malloc(OUT);
    if (!ring || !src || !out) return 1;
    memset(ring, 0, NBUF * BLOCK);
    for (size_t i = 0; i < BLOCK; i++)
        src[i] = (uint8_t)(i * 131);
    uint64_t sink = 0;
    double best_same = 1e9, best_cross = 1e9, best_copy = 1e9;
    for (int run = 0; run < 5; run++) {
        double s = same_core(&sink), x = handoff(&sink);
        by_copy = 1;
        double c = handoff(&sink);
        by_copy = 0;
        if (s < best_same) best_same = s;
        if (x > 0 && x < best_cross) best_cross = x;
        if (c > 0 && c < best_copy) best_copy = c;
    }
    double gb = (double)BLOCKS * (double)BLOCK / 1e9;
    printf("bench_handoff: %.2f GB in 2 MiB blocks through a ring of %d, best of 5 (CPUs %d, %d)\n",
           gb, NBUF, cpu_a, cpu_b);
    printf("one core writes, then reads   : %8.1f GB/s (%.3f s)\n", gb / best_same, best_same);
    printf("one core writes, other reads  : %8.1f GB/s (%.3f s)\n", gb / best_cross, best_cross);
    printf("the other copies each block   : %8.1f GB/s (%.3f s)\n", gb / best_copy, best_copy);
    printf("ratio across cores / one core : %8.3f (line by line), %.3f (by copy)\n",
           best_same / best_cross, best_same / best_copy);
    return sink == 42; /* keeps the loads; never expected */
}
