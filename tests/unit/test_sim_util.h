/*
 * Helpers for the simcuda suites (test_sim_*.c): they test the built libraries themselves,
 * build/sim/lib{cudart,cublas,cublasLt}.so.13, loaded with dlopen (RTLD_LOCAL) so that the test
 * runner never exports CUDA symbols of its own. SIM_FN(lib, fn) returns the library's `fn` with
 * the exact type NVIDIA's header gives it (use the real exported names: cublasCreate_v2, not
 * the cublas_v2.h macro cublasCreate).
 *
 * The libraries are found next to the runner ($(BUILD)/tests/.. /sim), or in $MPT_SIM_DIR.
 */
#ifndef MPT_TESTS_SIM_UTIL_H
#define MPT_TESTS_SIM_UTIL_H

#include <stddef.h>

typedef enum sim_lib {
    SIM_LIB_CUDART = 0,
    SIM_LIB_CUBLAS,
    SIM_LIB_CUBLASLT,
    SIM_LIB_COUNT
} sim_lib;

/* The directory holding the stand-ins (no trailing slash); NULL if it cannot be found. */
const char *sim_test_dir(void);
/* dlopen()s (once per process) and returns the library, or NULL with the reason on stderr. */
void *sim_test_lib(sim_lib lib);
/* The address of `name` in `lib`; fails the running test when it is missing. */
void *sim_test_sym(sim_lib lib, const char *name);
/* 1 when every library loads; otherwise prints "SKIP: ..." once and returns 0. */
int sim_test_available(void);

#define SIM_FN(lib, fn) ((__typeof__(&fn))sim_test_sym(SIM_LIB_##lib, #fn))

/* Runs `argv` (argv[0] a path) with LD_LIBRARY_PATH = the sim dir, stdout and stderr captured
 * separately into malloc'd strings; returns the exit status (or -1 if it could not run or was
 * killed). */
int sim_test_run(char *const argv[], char **out, char **err);

#endif
