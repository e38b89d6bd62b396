/*
 * `mptrace [run] [options] [--] PROGRAM [ARGS...]`: run a program with libmptrace.so interposed.
 *
 * The launcher does nothing to the program but its environment: LD_PRELOAD gets the library
 * (the user's entries kept after it), NVTX_INJECTION64_PATH names it (NVTX's own injection
 * mechanism), so does CUDA_INJECTION64_PATH without --sim (the CUDA driver's, for CUPTI callbacks
 * of statically linked programs; a value the user set is kept), --sim puts simcuda first on
 * LD_LIBRARY_PATH, and the options become MPTRACE_*
 * variables the library reads (docs/interposer.md has the table). stdin, stdout and stderr are
 * the program's; the launcher speaks only on stderr, prefixed "mptrace:". Signals sent to the
 * launcher are forwarded; a terminal's Ctrl-C reaches the program directly (same process group)
 * and the launcher waits for it. Exit status: the program's, or 128 + signal when it was killed.
 *
 * The library and simcuda are found relative to this executable ($bin/../lib/libmptrace.so,
 * $bin/../sim or $bin/../lib/mptrace/sim), so the build tree and an installed copy both work
 * from any directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tui/tui.h"

int mpt_cmd_run(int argc, char **argv);
extern const char mpt_cmd_run_summary[];
const char mpt_cmd_run_summary[] = "run a program under mptrace (also: mptrace [options] PROGRAM)";

static void usage(FILE *out)
{
    fprintf(out,
"usage: mptrace [run] [options] [--] PROGRAM [ARGS...]\n"
"       mptrace --tui [options] [--] PROGRAM [ARGS...]   (and watch it live)\n\n"
"Runs PROGRAM with libmptrace.so interposed and writes a trace of every matrix product it\n"
"sends to cuBLAS/cuBLASLt: shapes, types, value statistics, precision, by layer and step.\n"
"The program itself is unchanged; its output is its own. Read the trace with\n"
"'mptrace report TRACE' or 'mptrace tui TRACE'.\n\n"
"options:\n"
"  -o, --output FILE     the trace file (default: mptrace-PROGRAM-PID.mpt in the current\n"
"                        directory). Other processes of the run (children, exec'd programs,\n"
"                        ranks) write FILE with .rankN (RANK, LOCAL_RANK, SLURM_PROCID,\n"
"                        OMPI_COMM_WORLD_RANK set) or .pidN inserted before .mpt\n"
"      --sim             run on simcuda, the CPU stand-ins for the CUDA libraries (no GPU\n"
"                        needed): prepends their directory to LD_LIBRARY_PATH\n"
"      --every N         full statistics (histograms, inputs, precision sample) every N\n"
"                        steps; 0: only after an anomaly (default 10)\n"
"      --full            full statistics on every GEMM of every step\n"
"      --no-inputs       no statistics of the inputs A, B, C and bias\n"
"      --sample K        outputs recomputed exactly per fully measured GEMM (default 64;\n"
"                        0: no precision sample)\n"
"      --layers REGEX    statistics only for layers matching REGEX (POSIX extended)\n"
"      --step-pattern RE NVTX ranges that are training steps (case-insensitive; default\n"
"                        '^(train[ _-]?step|step|iteration|iter)([ _:#=-]*[0-9]+)?$')\n"
"      --anomaly-factor F\n"
"                        an absmax F times a GEMM's earlier largest one switches on full\n"
"                        statistics until the step ends (default 64)\n"
"      --seed N          seed of the precision sample's positions\n"
"      --callsite-depth N\n"
"                        frames of the program's own code naming a GEMM without NVTX (2)\n"
"      --no-stats        record the calls only, no statistics\n"
"      --no-nvtx         do not receive NVTX (layers then come from call sites)\n"
"      --no-kernels      no kernel-launch records\n"
"      --no-memory       no memcpy/memset records\n"
"      --no-cupti        do not set CUDA_INJECTION64_PATH (no CUPTI callbacks, which on GPUs\n"
"                        record the launches, copies and syncs of programs linked with the\n"
"                        static CUDA runtime or another runtime than libcudart.so.13, the\n"
"                        only programs it subscribes for); use it when such a program\n"
"                        profiles itself: CUPTI takes one subscriber per process\n"
"      --tui             show the run live in the TUI (its output goes to FILE.log)\n"
"  -q, --quiet           no 'mptrace:' lines from the launcher or the library\n"
"  -h, --help            this text\n\n"
"Every default is chosen so that no step is sampled away: the cheap pass (NaN, Inf, absmax\n"
"of every GEMM output) runs always; full statistics run every N steps and, automatically,\n"
"from the first non-finite value or absmax jump until that step ends.\n\n"
"environment (set by these options; may also be set by hand with LD_PRELOAD):\n"
"  MPTRACE_OUTPUT, MPTRACE_EVERY, MPTRACE_FULL, MPTRACE_NO_INPUTS, MPTRACE_SAMPLE,\n"
"  MPTRACE_LAYERS, MPTRACE_STEP_PATTERN, MPTRACE_ANOMALY_FACTOR, MPTRACE_SEED,\n"
"  MPTRACE_CALLSITE_DEPTH, MPTRACE_STATS (0: --no-stats), MPTRACE_KERNELS, MPTRACE_MEMORY,\n"
"  MPTRACE_QUIET, MPTRACE_DISABLE (1: pure pass-through), MPTRACE_HOST_READABLE (auto; 1:\n"
"  read operands on the host, as on simcuda; 0: never), MPTRACE_GPU_STATS (auto; 0: no\n"
"  GPU statistics path), MPTRACE_GPU_RING (result slots per CUDA context, 1024),\n"
"  MPTRACE_GPU_KERNELS (the statistics kernels' fatbin; default: mptrace-stats.fatbin\n"
"  next to the library), MPTRACE_ROOT_PID and MPTRACE_MANIFEST (the launcher's\n"
"  bookkeeping), MPTRACE_LIB (the library to use instead of the one next to this\n"
"  executable), MPTRACE_CUPTI (0: --no-cupti; 1: subscribe even when libcudart.so.13 is\n"
"  loaded), MPTRACE_CUPTI_LIB (the libcupti to load instead of libcupti.so.13).\n"
"  The launcher sets LD_PRELOAD,\n"
"  NVTX_INJECTION64_PATH, CUDA_INJECTION64_PATH (not with --sim, nor when already set:\n"
"  another tool's injection is kept and CUPTI capture is off) and, with --sim,\n"
"  LD_LIBRARY_PATH.\n\n"
"exit status: the program's; 128 + N when it was killed by signal N; 127 when it could\n"
"not be started; 2 for a usage error. docs/interposer.md has the details.\n");
}

/* ---- finding our files ---------------------------------------------------------------------------- */

static int exe_dir(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = '\0';
    snprintf(out, len, "%s", exe);
    return 0;
}

static int find_library(char *out, size_t len)
{
    const char *env = getenv("MPTRACE_LIB");
    if (env && *env) {
        if (!realpath(env, out)) return -1;
        return 0;
    }
    char dir[PATH_MAX], cand[PATH_MAX + 32];
    if (exe_dir(dir, sizeof dir)) return -1;
    snprintf(cand, sizeof cand, "%s/../lib/libmptrace.so", dir);
    if (access(cand, R_OK) != 0 || !realpath(cand, out)) {
        snprintf(out, len, "%.*s", (int)len - 1, cand);
        return -1;
    }
    return 0;
}

static int find_sim(char *out, size_t len)
{
    char dir[PATH_MAX], cand[PATH_MAX + 64];
    if (exe_dir(dir, sizeof dir)) return -1;
    static const char *const rel[] = {"../sim", "../lib/mptrace/sim"};
    for (int i = 0; i < 2; i++) {
        snprintf(cand, sizeof cand, "%s/%s/libcudart.so.13", dir, rel[i]);
        if (access(cand, R_OK) == 0) {
            snprintf(cand, sizeof cand, "%s/%s", dir, rel[i]);
            if (realpath(cand, out)) return 0;
        }
    }
    (void)len;
    return -1;
}

static int have_gpu(void)
{
    return access("/dev/nvidiactl", F_OK) == 0 || access("/proc/driver/nvidia/version", F_OK) == 0;
}

/* ---- options -------------------------------------------------------------------------------------- */

typedef struct run_opts {
    const char *output;
    int sim, tui, quiet, no_nvtx, no_cupti;
    const char *env[16][2]; /* MPTRACE_* to set */
    int nenv;
} run_opts;

static void set_opt(run_opts *o, const char *name, const char *value)
{
    if (o->nenv < 16) {
        o->env[o->nenv][0] = name;
        o->env[o->nenv][1] = value;
        o->nenv++;
    }
}

static int check_uint(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < 0 || x > INT_MAX) {
        fprintf(stderr, "mptrace: %s wants a non-negative integer, not '%s'\n", opt, v);
        return -1;
    }
    return 0;
}

enum {
    OPT_SIM = 256, OPT_EVERY, OPT_FULL, OPT_NO_INPUTS, OPT_SAMPLE, OPT_LAYERS, OPT_STEP_PATTERN,
    OPT_ANOMALY, OPT_SEED, OPT_DEPTH, OPT_NO_STATS, OPT_NO_NVTX, OPT_NO_KERNELS, OPT_NO_MEMORY,
    OPT_TUI, OPT_NO_CUPTI
};

static const struct option long_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"sim", no_argument, NULL, OPT_SIM},
    {"every", required_argument, NULL, OPT_EVERY},
    {"full", no_argument, NULL, OPT_FULL},
    {"no-inputs", no_argument, NULL, OPT_NO_INPUTS},
    {"sample", required_argument, NULL, OPT_SAMPLE},
    {"layers", required_argument, NULL, OPT_LAYERS},
    {"step-pattern", required_argument, NULL, OPT_STEP_PATTERN},
    {"anomaly-factor", required_argument, NULL, OPT_ANOMALY},
    {"seed", required_argument, NULL, OPT_SEED},
    {"callsite-depth", required_argument, NULL, OPT_DEPTH},
    {"no-stats", no_argument, NULL, OPT_NO_STATS},
    {"no-nvtx", no_argument, NULL, OPT_NO_NVTX},
    {"no-kernels", no_argument, NULL, OPT_NO_KERNELS},
    {"no-memory", no_argument, NULL, OPT_NO_MEMORY},
    {"no-cupti", no_argument, NULL, OPT_NO_CUPTI},
    {"tui", no_argument, NULL, OPT_TUI},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns the index of PROGRAM in argv, 0 after --help (exit 0), -1 on a usage error. */
static int parse(int argc, char **argv, run_opts *o)
{
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+o:qh", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'q': o->quiet = 1; set_opt(o, "MPTRACE_QUIET", "1"); break;
        case 'h': usage(stdout); return 0;
        case OPT_SIM: o->sim = 1; break;
        case OPT_TUI: o->tui = 1; break;
        case OPT_EVERY:
            if (check_uint("--every", optarg)) return -1;
            set_opt(o, "MPTRACE_EVERY", optarg);
            break;
        case OPT_SAMPLE:
            if (check_uint("--sample", optarg)) return -1;
            set_opt(o, "MPTRACE_SAMPLE", optarg);
            break;
        case OPT_DEPTH:
            if (check_uint("--callsite-depth", optarg)) return -1;
            set_opt(o, "MPTRACE_CALLSITE_DEPTH", optarg);
            break;
        case OPT_SEED:
            if (check_uint("--seed", optarg)) return -1;
            set_opt(o, "MPTRACE_SEED", optarg);
            break;
        case OPT_ANOMALY: {
            char *end;
            double f = strtod(optarg, &end);
            if (end == optarg || *end || !(f > 1)) {
                fprintf(stderr, "mptrace: --anomaly-factor wants a number > 1, not '%s'\n",
                        optarg);
                return -1;
            }
            set_opt(o, "MPTRACE_ANOMALY_FACTOR", optarg);
            break;
        }
        case OPT_FULL: set_opt(o, "MPTRACE_FULL", "1"); break;
        case OPT_NO_INPUTS: set_opt(o, "MPTRACE_NO_INPUTS", "1"); break;
        case OPT_LAYERS: set_opt(o, "MPTRACE_LAYERS", optarg); break;
        case OPT_STEP_PATTERN: set_opt(o, "MPTRACE_STEP_PATTERN", optarg); break;
        case OPT_NO_STATS: set_opt(o, "MPTRACE_STATS", "0"); break;
        case OPT_NO_NVTX: o->no_nvtx = 1; break;
        case OPT_NO_KERNELS: set_opt(o, "MPTRACE_KERNELS", "0"); break;
        case OPT_NO_MEMORY: set_opt(o, "MPTRACE_MEMORY", "0"); break;
        case OPT_NO_CUPTI:
            o->no_cupti = 1;
            set_opt(o, "MPTRACE_CUPTI", "0");
            break;
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "mptrace: option -%c %s\n", optopt,
                        strchr("o", optopt) ? "needs a value" : "is unknown");
            else
                fprintf(stderr, "mptrace: unknown option or missing value: '%s'\n",
                        argv[optind - 1]);
            fprintf(stderr, "'mptrace run --help' lists the options.\n");
            return -1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mptrace: no program to run\n");
        usage(stderr);
        return -1;
    }
    return optind;
}

/* ---- running ---------------------------------------------------------------------------------------- */

static volatile sig_atomic_t child_pid;

/* Forward signals sent to the launcher itself; a terminal's signals (SI_KERNEL) reached the
 * program already, through the process group. */
static void forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (child_pid > 0 && (!si || si->si_code == SI_USER || si->si_code == SI_QUEUE))
        kill((pid_t)child_pid, sig);
}

static void prepend_env(const char *name, const char *value)
{
    const char *old = getenv(name);
    if (!old || !*old) {
        setenv(name, value, 1);
        return;
    }
    size_t n = strlen(value) + strlen(old) + 2;
    char *v = malloc(n);
    if (!v) return;
    snprintf(v, n, "%s:%s", value, old);
    setenv(name, v, 1);
    free(v);
}

static void absolute(const char *path, char *out, size_t len)
{
    char cwd[PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(out, len, "%s", path);
    else
        snprintf(out, len, "%s/%s", cwd, path);
}

/* Prints the traces the run wrote (listed by the library in the manifest). */
static void report_traces(const char *manifest, int quiet)
{
    FILE *f = fopen(manifest, "re");
    int n = 0;
    char line[PATH_MAX + 2];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        struct stat st;
        if (!quiet) {
            if (stat(line, &st) == 0)
                fprintf(stderr, "mptrace: trace written: %s (%lld bytes)\n", line,
                        (long long)st.st_size);
            else
                fprintf(stderr, "mptrace: trace written: %s\n", line);
        }
        n++;
    }
    if (f) fclose(f);
    if (n == 0 && !quiet)
        fprintf(stderr, "mptrace: no trace was written: the program made no cuBLAS, NVTX or CUDA "
                        "runtime call that mptrace records\n");
}

static int wait_status(pid_t pid, const char *prog, int quiet)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) {
        if (!quiet)
            fprintf(stderr, "mptrace: %s was killed by signal %d (%s)\n", prog, WTERMSIG(st),
                    strsignal(WTERMSIG(st)));
        return 128 + WTERMSIG(st);
    }
    return 1;
}

/* Whether to name the library in CUDA_INJECTION64_PATH: on GPUs (not --sim: simcuda has no
 * driver to read it), unless --no-cupti or MPTRACE_CUPTI=0, and not over another tool's value
 * (Nsight and others inject the same way; one injection library per process), which is kept
 * with one line saying what is lost. */
static int cupti_injection(const run_opts *o, const char *lib)
{
    const char *off = getenv("MPTRACE_CUPTI"), *user = getenv("CUDA_INJECTION64_PATH");
    if (o->sim || o->no_cupti || (off && !strcmp(off, "0"))) return 0;
    if (!user || !*user) return 1;
    if (strcmp(user, lib) != 0 && !o->quiet)
        fprintf(stderr, "mptrace: CUDA_INJECTION64_PATH is already set (%s): another tool owns "
                        "the CUDA injection, so CUPTI capture (launches, copies and syncs of "
                        "programs linked with the static CUDA runtime) is off\n", user);
    return 0;
}

int mpt_cmd_run(int argc, char **argv)
{
    run_opts o;
    memset(&o, 0, sizeof o);
    int first = parse(argc, argv, &o);
    if (first <= 0) return first == 0 ? 0 : 2;
    char **prog_argv = argv + first;

    char lib[PATH_MAX], sim[PATH_MAX];
    if (find_library(lib, sizeof lib) != 0) {
        fprintf(stderr, "mptrace: cannot find libmptrace.so (looked for %s; MPTRACE_LIB names "
                        "another)\n", lib);
        return 2;
    }
    if (o.sim && find_sim(sim, sizeof sim) != 0) {
        fprintf(stderr, "mptrace: --sim: simcuda's libraries are not next to this mptrace "
                        "(../sim or ../lib/mptrace/sim): build them with make\n");
        return 2;
    }
    if (!o.sim && !have_gpu() && !o.quiet)
        fprintf(stderr, "mptrace: no CUDA device found (no NVIDIA driver on this machine). To "
                        "run on the CPU with simcuda:\n  mptrace --sim %s ...\n", prog_argv[0]);

    int cupti = cupti_injection(&o, lib);

    /* The manifest (the traces the run writes, one per line, appended by the library): an
     * unlinked temporary file the launcher keeps open, named for the programs through /proc,
     * so nothing is left behind even when the launcher is killed. */
    char tmpl[] = "/tmp/mptrace-manifest-XXXXXX", manifest[64];
    int mfd = mkostemp(tmpl, O_CLOEXEC);
    if (mfd < 0) {
        fprintf(stderr, "mptrace: cannot create a temporary file in /tmp: %s\n", strerror(errno));
        return 2;
    }
    unlink(tmpl);
    snprintf(manifest, sizeof manifest, "/proc/%ld/fd/%d", (long)getpid(), mfd);
    char output[PATH_MAX + 64] = "", log_path[PATH_MAX + 80] = "";
    if (o.output) absolute(o.output, output, sizeof output);

    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "mptrace: pipe: %s\n", strerror(errno));
        close(mfd);
        return 2;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mptrace: fork: %s\n", strerror(errno));
        close(mfd);
        return 2;
    }
    if (pid == 0) {
        close(errpipe[0]);
        char buf[64], out[PATH_MAX + 64];
        if (!output[0]) {
            const char *base = strrchr(prog_argv[0], '/');
            char name[PATH_MAX];
            snprintf(name, sizeof name, "mptrace-%.200s-%ld.mpt", base ? base + 1 : prog_argv[0],
                     (long)getpid());
            absolute(name, out, sizeof out);
        } else {
            snprintf(out, sizeof out, "%s", output);
        }
        setenv("MPTRACE_OUTPUT", out, 1);
        snprintf(buf, sizeof buf, "%ld", (long)getpid());
        setenv("MPTRACE_ROOT_PID", buf, 1);
        setenv("MPTRACE_MANIFEST", manifest, 1);
        for (int i = 0; i < o.nenv; i++)
            setenv(o.env[i][0], o.env[i][1], 1);
#if defined(__SANITIZE_ADDRESS__)
        /* The ASan build (make asan): libmptrace.so is sanitized like the programs it is tested
         * with, and preloading it puts it ahead of the ASan runtime, which ASan would refuse. */
        {
            const char *old = getenv("ASAN_OPTIONS");
            char opts[1024];
            snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", old ? old : "",
                     old && *old ? ":" : "");
            setenv("ASAN_OPTIONS", opts, 1);
        }
#endif
        prepend_env("LD_PRELOAD", lib);
        if (!o.no_nvtx) setenv("NVTX_INJECTION64_PATH", lib, 1);
        if (cupti) setenv("CUDA_INJECTION64_PATH", lib, 1);
        if (o.sim) prepend_env("LD_LIBRARY_PATH", sim);
        if (o.tui) {
            snprintf(log_path, sizeof log_path, "%s.log", out);
            int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
        }
        execvp(prog_argv[0], prog_argv);
        int e = errno;
        ssize_t w = write(errpipe[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(errpipe[1]);
    child_pid = pid;
    int exec_errno = 0;
    ssize_t r;
    while ((r = read(errpipe[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR)
        ;
    close(errpipe[0]);
    if (r == (ssize_t)sizeof exec_errno) {
        waitpid(pid, NULL, 0);
        fprintf(stderr, "mptrace: cannot run '%s': %s\n", prog_argv[0], strerror(exec_errno));
        close(mfd);
        return 127;
    }

    int status;
    if (o.tui) {
        char trace[PATH_MAX + 64], err[512];
        if (output[0])
            snprintf(trace, sizeof trace, "%s", output);
        else {
            const char *base = strrchr(prog_argv[0], '/');
            char name[PATH_MAX];
            snprintf(name, sizeof name, "mptrace-%.200s-%ld.mpt", base ? base + 1 : prog_argv[0],
                     (long)pid);
            absolute(name, trace, sizeof trace);
        }
        snprintf(log_path, sizeof log_path, "%s.log", trace);
        status = mpt_tui_run_live(trace, pid, log_path, prog_argv[0], err, sizeof err);
        if (status < 0) {
            fprintf(stderr, "mptrace: %s\n", err);
            status = wait_status(pid, prog_argv[0], o.quiet);
        }
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = forward;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
        for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
            sigaction(sigs[i], &sa, NULL);
        status = wait_status(pid, prog_argv[0], o.quiet);
    }
    report_traces(manifest, o.quiet);
    close(mfd);
    return status;
}
