/*
 * What the interposer costs, each figure a ratio or difference against a baseline measured in
 * the same run (configurations interleaved, repeated, the best of the repetitions). Times are CPU time (the
 * programs' own, from the kernel), not wall-clock: on a shared machine wall-clock time mostly
 * measures the neighbours.
 *
 *  (a) ns per intercepted call: tests/programs/ipx_callcost (1x1x1 cublasSgemm calls) on simcuda
 *      alone, then under `mptrace --no-stats` (the call is recorded, nothing measured), then at
 *      defaults (the cheap pass: NaN/Inf/absmax of the output). Target for (a): <= 1 us with
 *      statistics off. With NVTX (layer from the range) and without (layer from the call path).
 *  (b) the reference trainer's step time (build/bin/mpt-train, default tiny configuration, on
 *      simcuda) under mptrace over its step time alone, at defaults, with --full, and for other
 *      --every values (how the default was chosen). Target for (b): <= 1.25 at defaults.
 *
 * usage: bench_interposer [--quick] [--steps N] [--calls N] [--reps N]
 * Found relative to this executable ($(BUILD)/bench/..). Exits 1 when something cannot run.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char build[PATH_MAX];

static const char *path_of(const char *rel)
{
    static char slots[8][PATH_MAX + 64];
    static int next;
    char *p = slots[next++ % 8];
    snprintf(p, sizeof slots[0], "%s/%s", build, rel);
    return p;
}

/* CPU seconds (user + system) the last run()'s process tree used. */
static double last_cpu;

/* Runs argv with extra environment, returns stdout (malloc'd) or NULL when it failed. */
static char *run(char *const argv[], const char *const env[])
{
    int fd[2];
    if (pipe(fd)) return NULL;
    pid_t pid = fork();
    if (pid < 0) return NULL;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    ssize_t n;
    while (out && (n = read(fd[0], out + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 1024) {
            char *o = realloc(out, cap *= 2);
            if (!o) break;
            out = o;
        }
    }
    close(fd[0]);
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    /* the launcher's own CPU time is in ru too only for children it reaped: mptrace waits for
     * the program, so RUSAGE of the launcher includes it through wait4's child accounting. */
    last_cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
               (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    if (!out || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The least disturbed of n repetitions: contention from other processes only ever adds time
 * (cache and core sharing slow even CPU time down), so the minimum estimates the cost best. */
static double best(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[0];
}

/* ---- (a) per call ------------------------------------------------------------------------------ */

typedef struct variant {
    const char *name;
    const char *opts[4]; /* mptrace options; NULL first: no mptrace at all */
    int traced;
} variant;

static double call_cost(const variant *v, const char *mode, long calls, const char *trace)
{
    char ncalls[32], sim_env[PATH_MAX + 32];
    snprintf(ncalls, sizeof ncalls, "%ld", calls);
    snprintf(sim_env, sizeof sim_env, "LD_LIBRARY_PATH=%s", path_of("sim"));
    char *argv[16];
    int n = 0;
    const char *env[] = {sim_env, NULL};
    if (v->traced) {
        argv[n++] = (char *)path_of("bin/mptrace");
        argv[n++] = "--sim";
        argv[n++] = "-q";
        argv[n++] = "-o";
        argv[n++] = (char *)trace;
        for (int i = 0; v->opts[i]; i++)
            argv[n++] = (char *)v->opts[i];
        env[0] = NULL;
    }
    argv[n++] = (char *)path_of("tests/programs/ipx_callcost");
    argv[n++] = (char *)mode;
    argv[n++] = ncalls;
    argv[n] = NULL;
    char *out = run(argv, env);
    double ns = -1;
    if (out && sscanf(out, "ns_per_call %lf", &ns) != 1) ns = -1;
    free(out);
    return ns;
}

/* ---- (b) trainer step time ------------------------------------------------------------------------ */

/* CPU seconds of one whole run of `steps` steps (setup and the final evaluation included). */
static double run_cpu(const variant *v, int steps, const char *dir)
{
    char nsteps[32], trace[PATH_MAX + 32], sim_env[PATH_MAX + 32];
    snprintf(nsteps, sizeof nsteps, "%d", steps);
    snprintf(trace, sizeof trace, "%s/run.mpt", dir);
    snprintf(sim_env, sizeof sim_env, "LD_LIBRARY_PATH=%s", path_of("sim"));
    char *argv[24];
    int n = 0;
    const char *env[] = {"OPENBLAS_NUM_THREADS=1", sim_env, NULL};
    if (v->traced) {
        argv[n++] = (char *)path_of("bin/mptrace");
        argv[n++] = "--sim";
        argv[n++] = "-q";
        argv[n++] = "-o";
        argv[n++] = trace;
        for (int i = 0; v->opts[i]; i++)
            argv[n++] = (char *)v->opts[i];
        env[1] = NULL;
    }
    argv[n++] = (char *)path_of("bin/mpt-train");
    argv[n++] = "--steps";
    argv[n++] = nsteps;
    argv[n++] = "--print-every";
    argv[n++] = "0";
    argv[n] = NULL;
    char *out = run(argv, env);
    if (!out) return -1;
    free(out);
    return last_cpu;
}

int main(int argc, char **argv)
{
    int steps = 40, reps = 5;
    long calls = 400000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            steps = 10, reps = 3, calls = 30000;
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--calls") && i + 1 < argc)
            calls = atol(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_interposer [--quick] [--steps N] [--calls N] [--reps N]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 32) reps = 5;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* $(BUILD)/bench */
    *strrchr(exe, '/') = '\0';
    snprintf(build, sizeof build, "%s", exe);
    char dir[] = "/tmp/mptrace-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char trace[PATH_MAX];
    snprintf(trace, sizeof trace, "%s/calls.mpt", dir);

    printf("(a) cost of one intercepted call: %ld cublasSgemm 1x1x1 on simcuda, best of %d\n",
           calls, reps);
    static const variant callv[] = {{"simcuda alone", {NULL}, 0},
                                    {"mptrace --no-stats", {"--no-stats", NULL}, 1},
                                    {"mptrace defaults", {NULL}, 1}};
    static const char *const modes[] = {"nvtx", "plain"};
    int failed = 0;
    for (int m = 0; m < 2; m++) {
        double t[3][32];
        for (int r = 0; r < reps; r++)
            for (int v = 0; v < 3; v++) {
                t[v][r] = call_cost(&callv[v], modes[m], calls, trace);
                if (t[v][r] < 0) failed = 1;
            }
        if (failed) break;
        double bst[3];
        for (int v = 0; v < 3; v++)
            bst[v] = best(t[v], reps);
        printf("  %-5s  simcuda alone %7.0f ns/call | +mptrace, statistics off %+7.0f ns | "
               "+mptrace, cheap pass %+7.0f ns\n",
               modes[m], bst[0], bst[1] - bst[0], bst[2] - bst[0]);
        if (m == 0)
            printf("  => (a) statistics off, layer from NVTX: %.0f ns per call (target <= 1000)\n",
                   bst[1] - bst[0]);
    }
    if (failed) {
        fprintf(stderr, "bench_interposer: ipx_callcost did not run (is everything built?)\n");
        return 1;
    }

    printf("(b) reference trainer, default tiny config on simcuda: CPU time per step (runs of %d "
           "and %d steps, differenced), best of %d\n", steps, 2 * steps, reps);
    static const variant trainv[] = {
        {"mpt-train alone", {NULL}, 0},
        {"mptrace defaults (--every 10)", {NULL}, 1},
        {"mptrace --full", {"--full", NULL}, 1},
        {"mptrace --every 2", {"--every", "2", NULL}, 1},
        {"mptrace --every 5", {"--every", "5", NULL}, 1},
        {"mptrace --every 0 (alarms only)", {"--every", "0", NULL}, 1},
        {"mptrace --no-stats", {"--no-stats", NULL}, 1},
    };
    enum { NV = sizeof trainv / sizeof *trainv };
    /* CPU time per step: the best run of 2S steps minus the best run of S steps, so that setup
     * and the final evaluation cancel. */
    double a[NV][32], b[NV][32], bst[NV];
    for (int r = 0; r < reps; r++)
        for (int v = 0; v < NV; v++) {
            a[v][r] = run_cpu(&trainv[v], steps, dir);
            b[v][r] = run_cpu(&trainv[v], 2 * steps, dir);
            if (a[v][r] < 0 || b[v][r] < 0) {
                fprintf(stderr, "bench_interposer: mpt-train did not run (%s)\n", trainv[v].name);
                return 1;
            }
        }
    for (int v = 0; v < NV; v++) {
        bst[v] = (best(b[v], reps) - best(a[v], reps)) / steps;
        printf("  %-32s %7.2f ms/step   ratio %.3f\n", trainv[v].name, bst[v] * 1e3,
               bst[v] / bst[0]);
    }
    printf("  => (b) defaults: %.3f x (target <= 1.25); --full: %.3f x\n", bst[1] / bst[0],
           bst[2] / bst[0]);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
