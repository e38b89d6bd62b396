/*
 * Helpers for the interposer's end-to-end suites (test_interposer_e2e.c, test_interposer_train.c):
 * run a program under the built `mptrace` and read the trace it wrote into plain arrays.
 *
 * Everything is found relative to the test runner, $(BUILD)/tests/mptrace-tests: the launcher
 * $(BUILD)/bin/mptrace, the library $(BUILD)/lib/libmptrace.so, the programs
 * $(BUILD)/tests/programs/ and the reference trainer $(BUILD)/bin/mpt-train.
 */
#ifndef MPT_TESTS_INTERPOSER_UTIL_H
#define MPT_TESTS_INTERPOSER_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/trace_format.h"

typedef struct ipx_gemm {
    mpt_trace_gemm g;
    char layer[256], api[64], site[160];
} ipx_gemm;

typedef struct ipx_scalar {
    mpt_trace_scalar s;
    char key[48];
} ipx_scalar;

typedef struct ipx_trace {
    int status;             /* mpt_trace_status the reading ended with (EOF, TRUNCATED, ...) */
    int32_t pid, rank;
    ipx_gemm *gemms;
    size_t ngemms;
    mpt_trace_tensor *tensors;
    size_t ntensors;
    mpt_trace_precision *precs;
    size_t nprecs;
    mpt_trace_step *steps;
    size_t nsteps;
    ipx_scalar *scalars;
    size_t nscalars;
    mpt_trace_kernel *kernels;
    size_t nkernels;
    mpt_trace_memory *memory;
    size_t nmemory;
    char **messages;
    size_t nmessages;
    int have_end;
    mpt_trace_end end;
} ipx_trace;

/* $(BUILD) as an absolute path, or NULL. */
const char *ipx_build_dir(void);
/* 1 when mptrace, libmptrace.so and simcuda are built; else prints "SKIP: ..." once, returns 0. */
int ipx_available(void);
/* A path under $(BUILD) (static buffer per call slot: up to 8 live results). */
const char *ipx_path(const char *rel);
/* A fresh temporary directory for this test (removed by ipx_cleanup). */
const char *ipx_tmpdir(void);
void ipx_cleanup(void);

/*
 * Runs argv (argv[0] a path) with extra environment entries "NAME=VALUE" (NULL-terminated list,
 * may be NULL), stdout and stderr captured into malloc'd strings (may be NULL). Returns the exit
 * status as a shell reports it (128 + N when killed by signal N), -1 if it could not run.
 */
int ipx_run(char *const argv[], const char *const env[], char **out, char **err);

/* Loads a trace; 0, or -1 with the reason on stderr (the file is not a trace at all). */
int ipx_trace_load(const char *path, ipx_trace *t);
void ipx_trace_free(ipx_trace *t);
/* The TENSOR record of (seq, role), the PRECISION record of seq, or NULL. */
const mpt_trace_tensor *ipx_trace_tensor(const ipx_trace *t, uint64_t seq, mpt_tensor_role role);
const mpt_trace_precision *ipx_trace_prec(const ipx_trace *t, uint64_t seq);
/* The n-th (from 0) GEMM whose layer is `layer`, or NULL. */
const ipx_gemm *ipx_trace_gemm(const ipx_trace *t, const char *layer, int n);
/* Value of scalar `key` in `step` (flags as given), or NAN. */
double ipx_trace_scalar(const ipx_trace *t, const char *key, int64_t step, uint32_t flags);

#endif
