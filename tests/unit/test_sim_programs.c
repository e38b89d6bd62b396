/*
 * simcuda as a drop-in: programs compiled against the real CUDA 13 headers and linked the normal
 * way (tests/programs/, built by the Makefile) run with LD_LIBRARY_PATH at build/sim and print
 * exactly what they should; the libraries carry the real sonames, and every symbol they export
 * is exported by NVIDIA's library under the same name and symbol version (compared with nm when
 * the real libraries are installed; skipped visibly otherwise).
 */
#include <check.h>

#if __has_include(<cuda_runtime_api.h>)
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_sim_util.h"

/* The real libraries' directory comes from the Makefile ($(CUDA_HOME)/lib64). */
#ifndef MPT_CUDA_LIBDIR
#define MPT_CUDA_LIBDIR ""
#endif

/* Runs build/tests/programs/<name>; returns its exit status, fills stdout / stderr. */
static int run_program(const char *name, char **out, char **err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/../tests/programs/%s", sim_test_dir(), name);
    if (access(path, X_OK) != 0) return -2;
    char *argv[] = {path, NULL};
    return sim_test_run(argv, out, err);
}

static const char cublas_expected[] =
    "devices 1: simcuda CPU stand-in (mptrace), compute capability 9.0, runtime 13000\n"
    "C = A B (Dgemm)\n"
    "19.00 22.00 \n"
    "43.00 50.00 \n"
    "GemmEx fp16: sum of 2049 ones = 2048 (0x6800), of 70000 ones = inf (0x7c00)\n"
    "cuBLASLt relu(AB + C + bias): algos 1, D = [14.5 35.5; 0 0], C kept yes\n"
    "last error: cudaErrorInvalidValue (invalid argument)\n"
    "OK\n";

START_TEST(test_program_cublas)
{
    if (!sim_test_available()) return;
    char *out = NULL, *err = NULL;
    int rc = run_program("sim_prog_cublas", &out, &err);
    ck_assert_msg(rc != -2, "tests/programs/sim_prog_cublas not built");
    ck_assert_msg(rc == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", rc, out, err);
    ck_assert_str_eq(out, cublas_expected);
    /* The unsupported call was made twice and reported once. */
    ck_assert_str_eq(err, "simcuda: cudaGraphCreate is not supported\n");
    free(out);
    free(err);
}
END_TEST

START_TEST(test_program_kernel)
{
    if (!sim_test_available()) return;
    char *out = NULL, *err = NULL;
    int rc = run_program("sim_prog_kernel", &out, &err);
    ck_assert_msg(rc != -2, "tests/programs/sim_prog_kernel not built");
    ck_assert_msg(rc == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", rc, out, err);
    ck_assert_str_eq(out, "axpy: ok (cudaSuccess)\n"
                          "sum: 499500 over 1000 elements (cudaSuccess)\n"
                          "grid 3x2 of 4x4: ok (cudaSuccess)\n"
                          "cudaFuncGetName: sum_kernel (cudaSuccess)\n"
                          "unregistered function: cudaErrorInvalidDeviceFunction\n"
                          "block of 2048 threads: cudaErrorInvalidConfiguration\n"
                          "empty grid: cudaErrorInvalidConfiguration\n"
                          "OK\n");
    free(out);
    free(err);
}
END_TEST

START_TEST(test_program_nvcc)
{
    if (!sim_test_available()) return;
    char *out = NULL, *err = NULL;
    int rc = run_program("sim_prog_nvcc", &out, &err);
    if (rc == -2) {
        fprintf(stderr,
                "SKIP: tests/programs/sim_prog_nvcc not built (no nvcc, or a sanitizer build)\n");
        return;
    }
    ck_assert_msg(rc == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", rc, out, err);
    ck_assert_str_eq(out, "launch 0: cudaErrorNoKernelImageForDevice\n"
                          "launch 1: cudaErrorNoKernelImageForDevice\n"
                          "registered as: _Z7add_onePfi (cudaSuccess)\n"
                          "managed variable from the host: 42\n"
                          "data untouched: 1 2 3 4\n"
                          "OK\n");
    /* One line per kernel, not per launch. */
    ck_assert_ptr_nonnull(strstr(err, "simcuda: kernel _Z7add_onePfi is GPU code"));
    ck_assert_ptr_null(
        strstr(strstr(err, "_Z7add_onePfi is GPU code") + 1, "_Z7add_onePfi is GPU code"));
    free(out);
    free(err);
}
END_TEST

/* "name@@version" lines of `nm -D --defined-only --with-symbol-versions`, sorted. */
static char *exports(const char *path)
{
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof(cmd),
             "nm -D --defined-only --with-symbol-versions '%s' 2>/dev/null | "
             "awk '$2 != \"A\" {print $3}' | sort",
             path);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 4096) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) free(buf);
            buf = grown;
            cap *= 2;
        }
    }
    pclose(p);
    if (buf) buf[len] = '\0';
    return buf;
}

static const char *const libs[] = {"libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13"};

START_TEST(test_abi_matches_cuda)
{
    if (!sim_test_available()) return;
    const char *lib = libs[_i];
    char ours_path[PATH_MAX + 64], real_path[PATH_MAX + 64];
    snprintf(ours_path, sizeof(ours_path), "%s/%s", sim_test_dir(), lib);
    snprintf(real_path, sizeof(real_path), "%s/%s", MPT_CUDA_LIBDIR, lib);
    char *ours = exports(ours_path);
    ck_assert_msg(ours && *ours, "nm found no exports in %s (is binutils installed?)", ours_path);
    /* Every export is versioned with the library's own node. */
    char want_version[64];
    snprintf(want_version, sizeof(want_version), "@@%s", lib);
    int count = 0;
    for (char *line = ours; *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        ck_assert_msg(strstr(line, want_version) != NULL, "%s: %s lacks version %s", lib, line,
                      want_version);
        ck_assert_msg(strncmp(line, "cuda", 4) == 0 || strncmp(line, "__cuda", 6) == 0 ||
                          strncmp(line, "cublas", 6) == 0,
                      "%s exports a non-CUDA symbol: %s", lib, line);
        count++;
        if (end) *end = '\n';
        line = end ? end + 1 : line + strlen(line);
    }
    ck_assert_int_gt(count, 40);
    if (!*MPT_CUDA_LIBDIR || access(real_path, R_OK) != 0) {
        fprintf(stderr, "SKIP (partly): %s not found — names not compared with NVIDIA's\n",
                real_path);
        free(ours);
        return;
    }
    char *real = exports(real_path);
    ck_assert_ptr_nonnull(real);
    for (char *line = ours; *line;) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char needle[256];
        snprintf(needle, sizeof(needle), "\n%.*s\n", (int)n, line);
        char *hay = malloc(strlen(real) + 2);
        hay[0] = '\n';
        strcpy(hay + 1, real);
        ck_assert_msg(strstr(hay, needle) != NULL, "%s exports %.*s, NVIDIA's does not", lib,
                      (int)n, line);
        free(hay);
        line = end ? end + 1 : line + n;
    }
    free(real);
    free(ours);
}
END_TEST

#else
#include <stdio.h>
START_TEST(test_sim_programs_skipped)
{
    fprintf(stderr, "SKIP: CUDA headers not found — simcuda not built, sim_programs not run\n");
}
END_TEST
#endif

extern Suite *suite_sim_programs(void);
Suite *suite_sim_programs(void)
{
    Suite *s = suite_create("sim_programs");
    TCase *tc = tcase_create("drop-in");
#if __has_include(<cuda_runtime_api.h>)
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_program_cublas);
    tcase_add_test(tc, test_program_kernel);
    tcase_add_test(tc, test_program_nvcc);
    tcase_add_loop_test(tc, test_abi_matches_cuda, 0, 3);
#else
    tcase_add_test(tc, test_sim_programs_skipped);
#endif
    suite_add_tcase(s, tc);
    return s;
}
