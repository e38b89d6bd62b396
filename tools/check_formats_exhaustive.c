/*
 * check_formats_exhaustive: every one of the 2^32 fp32 bit patterns through each encoder of
 * core/fpformat.h (fp16, bf16, fp8 e4m3 and e5m2, saturating and not), and every fp16, bf16
 * and fp8 bit pattern through each decoder, compared bit for bit with NVIDIA's host-side
 * conversions (tests/oracle/nv_oracle.h). NaN results are compared bit for bit too: we promise
 * NVIDIA's NaN patterns.
 *
 * The unit tests check a few million samples in a second; this is the proof over the whole
 * input space, run by `make check-exhaustive` (minutes). Prints, per conversion, how many
 * inputs were checked, the mismatches (and the first few of them) and the wall time.
 * Exit status: 0 all equal; 1 any mismatch, or no oracle (the toolkit headers were missing at
 * build time), or bad arguments.
 *
 * Usage: check_formats_exhaustive [-j THREADS] [-s STRIDE]
 *   -j  worker threads splitting the range (default 2: the development machines have 2 cores)
 *   -s  check every STRIDE-th pattern only (default 1 = all; for a quick smoke run)
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fpformat.h"
#include "tests/oracle/nv_oracle.h"

enum conv {
    CONV_F16,
    CONV_BF16,
    CONV_E4M3_SAT,
    CONV_E4M3_NOSAT,
    CONV_E5M2_SAT,
    CONV_E5M2_NOSAT,
    CONV_COUNT
};

static const char *const conv_names[CONV_COUNT] = {
    "f32 -> fp16",       "f32 -> bf16",     "f32 -> e4m3 sat",
    "f32 -> e4m3 nosat", "f32 -> e5m2 sat", "f32 -> e5m2 nosat",
};

#define MAX_THREADS  64
#define MAX_EXAMPLES 4

/* One worker's share: inputs [lo, hi) stepping by stride, results filled in by the worker. */
typedef struct job {
    enum conv conv;
    uint64_t lo, hi, stride;
    uint64_t checked;
    uint64_t mismatches;
    int n_examples;
    uint32_t ex_in[MAX_EXAMPLES]; /* input bits of the first mismatches */
    uint32_t ex_ours[MAX_EXAMPLES];
    uint32_t ex_theirs[MAX_EXAMPLES];
} job;

static void note_mismatch(job *j, uint32_t in, uint32_t ours, uint32_t theirs)
{
    if (j->n_examples < MAX_EXAMPLES) {
        j->ex_in[j->n_examples] = in;
        j->ex_ours[j->n_examples] = ours;
        j->ex_theirs[j->n_examples] = theirs;
        j->n_examples++;
    }
    j->mismatches++;
}

/* The loop is spelled out per conversion so that both sides inline into it. */
#define CHECK_LOOP(OURS, THEIRS)                                                                   \
    for (uint64_t i = j->lo; i < j->hi; i += j->stride) {                                          \
        uint32_t in = (uint32_t)i;                                                                 \
        float f = mpt_f32_from_bits(in);                                                           \
        uint32_t a = (OURS), b = (THEIRS);                                                         \
        if (a != b) note_mismatch(j, in, a, b);                                                    \
        n++;                                                                                       \
    }

static void *run_job(void *arg)
{
    job *j = (job *)arg;
    uint64_t n = 0;
    switch (j->conv) {
    case CONV_F16:
        CHECK_LOOP(mpt_f32_to_f16(f), nv_f32_to_f16(f));
        break;
    case CONV_BF16:
        CHECK_LOOP(mpt_f32_to_bf16(f), nv_f32_to_bf16(f));
        break;
    case CONV_E4M3_SAT:
        CHECK_LOOP(mpt_f32_to_e4m3(f, 1), nv_f32_to_e4m3(f, 1));
        break;
    case CONV_E4M3_NOSAT:
        CHECK_LOOP(mpt_f32_to_e4m3(f, 0), nv_f32_to_e4m3(f, 0));
        break;
    case CONV_E5M2_SAT:
        CHECK_LOOP(mpt_f32_to_e5m2(f, 1), nv_f32_to_e5m2(f, 1));
        break;
    case CONV_E5M2_NOSAT:
        CHECK_LOOP(mpt_f32_to_e5m2(f, 0), nv_f32_to_e5m2(f, 0));
        break;
    default:
        break;
    }
    j->checked = n;
    return NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs one encoder over the whole fp32 space on `threads` workers; returns its mismatches. */
static uint64_t check_encoder(enum conv c, int threads, uint64_t stride)
{
    job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    const uint64_t total = UINT64_C(1) << 32;
    /* Chunk boundaries are multiples of the stride so the union of the shares is the same
     * subset as a single-threaded run. */
    uint64_t steps = (total + stride - 1) / stride;
    double t0 = now_seconds();
    for (int t = 0; t < threads; t++) {
        memset(&jobs[t], 0, sizeof jobs[t]);
        jobs[t].conv = c;
        jobs[t].lo = steps * (uint64_t)t / (uint64_t)threads * stride;
        jobs[t].hi = steps * (uint64_t)(t + 1) / (uint64_t)threads * stride;
        if (jobs[t].hi > total) jobs[t].hi = total;
        jobs[t].stride = stride;
        if (pthread_create(&tids[t], NULL, run_job, &jobs[t]) != 0) {
            run_job(&jobs[t]); /* could not start a thread: do the share here */
            tids[t] = pthread_self();
        }
    }
    uint64_t checked = 0, mismatches = 0;
    int shown = 0;
    for (int t = 0; t < threads; t++) {
        if (!pthread_equal(tids[t], pthread_self())) pthread_join(tids[t], NULL);
        checked += jobs[t].checked;
        mismatches += jobs[t].mismatches;
    }
    double dt = now_seconds() - t0;
    printf("%-18s checked %11" PRIu64 "  mismatches %10" PRIu64 "  %7.1f s  %s\n", conv_names[c],
           checked, mismatches, dt, mismatches ? "FAIL" : "ok");
    for (int t = 0; t < threads && shown < MAX_EXAMPLES; t++) {
        for (int k = 0; k < jobs[t].n_examples && shown < MAX_EXAMPLES; k++, shown++)
            printf("    input 0x%08" PRIx32 " (%.9g): ours 0x%02" PRIx32 ", NVIDIA 0x%02" PRIx32
                   "\n",
                   jobs[t].ex_in[k], (double)mpt_f32_from_bits(jobs[t].ex_in[k]),
                   jobs[t].ex_ours[k], jobs[t].ex_theirs[k]);
    }
    fflush(stdout);
    return mismatches;
}

/* Every pattern of a 16- or 8-bit format through our decoder and NVIDIA's, bits compared. */
static uint64_t check_decoders(void)
{
    uint64_t mismatches = 0, checked = 0;
    double t0 = now_seconds();
    for (uint32_t h = 0; h < 0x10000u; h++) {
        uint16_t v = (uint16_t)h;
        mismatches += mpt_f32_bits(mpt_f16_to_f32(v)) != mpt_f32_bits(nv_f16_to_f32(v));
        mismatches += mpt_f32_bits(mpt_bf16_to_f32(v)) != mpt_f32_bits(nv_bf16_to_f32(v));
        checked += 2;
    }
    for (uint32_t b = 0; b < 0x100u; b++) {
        uint8_t v = (uint8_t)b;
        mismatches += mpt_f32_bits(mpt_e4m3_to_f32(v)) != mpt_f32_bits(nv_e4m3_to_f32(v));
        mismatches += mpt_f32_bits(mpt_e5m2_to_f32(v)) != mpt_f32_bits(nv_e5m2_to_f32(v));
        checked += 2;
    }
    printf("%-18s checked %11" PRIu64 "  mismatches %10" PRIu64 "  %7.1f s  %s\n",
           "decoders (all 4)", checked, mismatches, now_seconds() - t0, mismatches ? "FAIL" : "ok");
    return mismatches;
}

int main(int argc, char **argv)
{
    int threads = 2;
    uint64_t stride = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            stride = strtoull(argv[++i], NULL, 0);
        } else {
            fprintf(stderr, "usage: %s [-j THREADS] [-s STRIDE]\n", argv[0]);
            return 1;
        }
    }
    if (threads < 1 || threads > MAX_THREADS || stride < 1) {
        fprintf(stderr, "check_formats_exhaustive: -j must be 1..%d and -s at least 1\n",
                MAX_THREADS);
        return 1;
    }
    if (!nv_oracle_available()) {
        fprintf(stderr,
                "check_formats_exhaustive: no oracle: %s.\n"
                "  Rebuild with the CUDA toolkit's headers (make CUDA_HOME=/path/to/cuda).\n",
                nv_oracle_describe());
        return 1;
    }
    printf("oracle: %s\n", nv_oracle_describe());
    printf("inputs: every fp32 bit pattern%s, %d thread(s)\n", stride > 1 ? " (sampled: -s)" : "",
           threads);
    double t0 = now_seconds();
    uint64_t bad = check_decoders();
    for (int c = 0; c < CONV_COUNT; c++)
        bad += check_encoder((enum conv)c, threads, stride);
    printf("total: %s, %" PRIu64 " mismatches, %.1f s\n", bad ? "FAIL" : "all equal", bad,
           now_seconds() - t0);
    return bad ? 1 : 0;
}
