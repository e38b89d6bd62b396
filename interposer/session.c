/*
 * The interposer's session: the trace writer and everything around its life.
 *
 *  - Opened lazily, on the first event worth recording, so that a process which never touches
 *    CUDA (a shell, torchrun's agent, a data-loader worker) leaves no file.
 *  - Named from MPTRACE_OUTPUT: the process the launcher started writes that name; any other
 *    process (children, exec'd interpreters, ranks) inserts ".rankN" or ".pidN" before ".mpt".
 *    Every trace written is appended to MPTRACE_MANIFEST so the launcher can list them.
 *  - Flushed at every step end (the writer does it), at exit (on_exit: END carries the exit
 *    status), and from fatal-signal handlers that then chain to the program's own handlers.
 *    The GPU statistics path's finished results are drained at step boundaries (without
 *    waiting) and all of them at exit (waiting), before END.
 *    The handlers are installed when the trace opens and re-armed at step boundaries if the
 *    program replaced them (mpt_ipx_step_boundary).
 *  - fork(): the child drops the parent's writer (pthread_atfork) and opens its own on first use.
 *  - Degrading: any internal failure turns the interposer into pass-through for good, with one
 *    "mptrace:" line on stderr and, when the writer still works, a MESSAGE record.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "interposer/gpu_ring.h"
#include "interposer/ipx.h"

enum { ST_UNINIT = 0, ST_ACTIVE = 1, ST_OFF = 2 };

static pthread_mutex_t session_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int state = ST_UNINIT;
static _Atomic(mpt_trace_writer *) writer;
static atomic_uint generation = 1;
static atomic_int degraded_said;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static char trace_path[MPT_IPX_PATH_MAX];

/* ---- naming ----------------------------------------------------------------------------------- */

int mpt_ipx_rank_from_env(mpt_ipx_getenv_fn get, int *local, int *world)
{
    static const char *const ranks[] = {"RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK",
                                        "SLURM_PROCID", NULL};
    static const char *const locals[] = {"LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
                                         "MPI_LOCALRANKID", "SLURM_LOCALID", NULL};
    static const char *const worlds[] = {"WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                         "SLURM_NTASKS", NULL};
    const char *const *lists[3] = {ranks, locals, worlds};
    int out[3] = {-1, -1, -1};
    for (int l = 0; l < 3; l++)
        for (const char *const *n = lists[l]; *n && out[l] < 0; n++) {
            const char *v = get(*n);
            char *end;
            if (!v || !*v) continue;
            long x = strtol(v, &end, 10);
            if (*end == '\0' && x >= 0 && x < INT_MAX) out[l] = (int)x;
        }
    if (local) *local = out[1];
    if (world) *world = out[2];
    /* A single-node launcher may set only LOCAL_RANK: it still tells the processes apart. */
    return out[0] >= 0 ? out[0] : out[1];
}

int mpt_ipx_trace_name(char *out, size_t outlen, const char *base, const char *prog, long pid,
                       long root_pid, int rank)
{
    char dflt[512];
    if (!base || !*base) {
        const char *p = prog && *prog ? prog : "program";
        const char *slash = strrchr(p, '/');
        snprintf(dflt, sizeof dflt, "mptrace-%.200s-%ld.mpt", slash ? slash + 1 : p, pid);
        base = dflt;
        root_pid = pid; /* the pid is in the name already */
    }
    char tag[48] = "";
    if (rank >= 0)
        snprintf(tag, sizeof tag, ".rank%d", rank);
    else if (root_pid != pid)
        snprintf(tag, sizeof tag, ".pid%ld", pid);
    size_t n = strlen(base);
    size_t stem = n >= 4 && strcmp(base + n - 4, ".mpt") == 0 ? n - 4 : n;
    int w = snprintf(out, outlen, "%.*s%s%s", (int)stem, base, tag, base + stem);
    return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

/* ---- stderr, once ----------------------------------------------------------------------------- */

static void say(const char *text)
{
    if (mpt_ipx_config_get()->quiet) return;
    char line[900];
    int n = snprintf(line, sizeof line, "mptrace: %s\n", text);
    if (n <= 0) return;
    ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)w;
}

void mpt_ipx_degrade(const char *why)
{
    atomic_store(&state, ST_OFF);
    mpt_trace_writer *w = atomic_load(&writer);
    /* After a fatal-signal flush the writer is finished on purpose: nothing to say. */
    if (w && mpt_trace_writer_errno(w) == ECANCELED) return;
    if (atomic_exchange(&degraded_said, 1)) return;
    char msg[800];
    snprintf(msg, sizeof msg, "%.300s; tracing stopped, the program goes on untraced%s%.400s",
             why, trace_path[0] ? " (trace so far: " : "", trace_path[0] ? trace_path : "");
    if (trace_path[0]) strncat(msg, ")", sizeof msg - strlen(msg) - 1);
    say(msg);
    if (w && mpt_trace_writer_error(w) == NULL) {
        char rec[900];
        snprintf(rec, sizeof rec, "interposer degraded to pass-through: %s", why);
        mpt_trace_writer_message(w, MPT_MSG_ERROR, rec);
        mpt_trace_writer_flush(w);
    }
}

int mpt_ipx_active(void)
{
    return atomic_load_explicit(&state, memory_order_relaxed) != ST_OFF;
}

/* ---- signals ---------------------------------------------------------------------------------- */

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static const int term_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static struct sigaction prev_action[NSIG];
static volatile sig_atomic_t installed[NSIG];

static int is_fatal(int sig)
{
    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++)
        if (fatal_signals[i] == sig) return 1;
    return 0;
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    const struct sigaction *prev = &prev_action[sig];
    int has_handler = (prev->sa_flags & SA_SIGINFO) ? prev->sa_sigaction != NULL
                                                   : (prev->sa_handler != SIG_DFL &&
                                                      prev->sa_handler != SIG_IGN);
    mpt_trace_writer *w = atomic_load(&writer);
    /* SIGINT/SIGTERM handled by the program (Python's KeyboardInterrupt, a trainer saving a
     * checkpoint) may not end the process: leave the trace alone, exit flushes it. */
    if (w && (is_fatal(sig) || !has_handler))
        mpt_trace_writer_emergency_flush(w, is_fatal(sig) ? MPT_END_FATAL_SIGNAL : MPT_END_SIGNAL,
                                         sig);
    if (has_handler) {
        if (prev->sa_flags & SA_SIGINFO)
            prev->sa_sigaction(sig, si, uc);
        else
            prev->sa_handler(sig);
        errno = saved;
        return;
    }
    if (prev->sa_handler == SIG_IGN) {
        errno = saved;
        return;
    }
    /* The default action: restore it and deliver the signal again when this handler returns
     * (a fault re-executes the faulting instruction and gets it anyway). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    installed[sig] = 0;
    if (!si || si->si_code <= 0 || !is_fatal(sig)) raise(sig);
    errno = saved;
}

/* Installs on_signal for sig unless the program ignores it; keeps what was there to chain to. */
static void arm(int sig)
{
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0) return;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal) return;
    if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_IGN) return;
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = on_signal;
    act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&act.sa_mask);
    prev_action[sig] = cur;
    if (sigaction(sig, &act, NULL) == 0) installed[sig] = 1;
}

static void arm_all(void)
{
    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++)
        arm(fatal_signals[i]);
    for (size_t i = 0; i < sizeof term_signals / sizeof *term_signals; i++)
        arm(term_signals[i]);
}

/* ---- exit and fork ---------------------------------------------------------------------------- */

static void at_exit(int status, void *arg)
{
    (void)arg;
    mpt_trace_writer *w = atomic_load(&writer);
    if (!w) return;
    /* The GPU path's outstanding results first, waiting on mptrace's own events (never in a
     * signal handler: a killed program loses what was not drained, not the trace). */
    mpt_gpu_drain(1);
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    mpt_ipx_steps_finish(t ? t->tid : 0);
    mpt_trace_writer_end(w, MPT_END_EXIT, status);
    mpt_trace_writer_flush(w);
}

/* Records made after the on_exit handler (other atexit handlers, other threads) still reach
 * the file: the reader reads past END. */
__attribute__((destructor)) static void at_unload(void)
{
    mpt_trace_writer *w = atomic_load(&writer);
    if (w) mpt_trace_writer_flush(w);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&session_mu);
    mpt_trace_writer *w = atomic_load(&writer);
    if (w) mpt_trace_writer_fork_prepare(w);
}

static void fork_parent(void)
{
    mpt_trace_writer *w = atomic_load(&writer);
    if (w) mpt_trace_writer_fork_parent(w);
    pthread_mutex_unlock(&session_mu);
}

static void fork_child(void)
{
    mpt_trace_writer *w = atomic_load(&writer);
    if (w) {
        mpt_trace_writer_fork_child(w);
        /* Frees the copy and closes the child's descriptor; the parent's file is untouched. */
        mpt_trace_writer_close(w, NULL, 0);
    }
    atomic_store(&writer, NULL);
    atomic_fetch_add(&generation, 1);
    if (atomic_load(&state) == ST_ACTIVE) atomic_store(&state, ST_UNINIT);
    trace_path[0] = '\0';
    pthread_mutex_init(&session_mu, NULL);
    mpt_ipx_thread_after_fork();
    mpt_ipx_steps_reset();
    mpt_ipx_recorder_reset();
    mpt_gpu_after_fork();
}

static void process_init(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* ---- opening ---------------------------------------------------------------------------------- */

static size_t read_cmdline(char *buf, size_t len, char *prog, size_t proglen)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    if (fd >= 0) {
        ssize_t r;
        while (n < len && (r = read(fd, buf + n, len - n)) > 0)
            n += (size_t)r;
        close(fd);
    }
    snprintf(prog, proglen, "%.*s", (int)(proglen - 1), n ? buf : "program");
    return n;
}

/* 1 when `path` is already listed in the manifest (an exec'd process reusing the name). */
static int manifest_has(const char *manifest, const char *path)
{
    if (!manifest[0]) return 0;
    FILE *f = fopen(manifest, "re");
    if (!f) return 0;
    char line[MPT_IPX_PATH_MAX + 2];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        found = strcmp(line, path) == 0;
    }
    fclose(f);
    return found;
}

static void manifest_add(const char *manifest, const char *path)
{
    if (!manifest[0]) return;
    int fd = open(manifest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[MPT_IPX_PATH_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", path);
    if (n > 0 && (size_t)n < sizeof line) {
        ssize_t w = write(fd, line, (size_t)n); /* O_APPEND: one write, one whole line */
        (void)w;
    }
    close(fd);
}

static char cmdline_buf[MPT_TRACE_CMDLINE_MAX];

static void open_locked(void)
{
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    if (cfg->disabled) {
        atomic_store(&state, ST_OFF);
        return;
    }
    mpt_trace_header h;
    mpt_trace_header_init(&h);
    char prog[256];
    h.cmdline_len = read_cmdline(cmdline_buf, sizeof cmdline_buf, prog, sizeof prog);
    h.cmdline = cmdline_buf;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    h.hostname = host;
    h.rank = mpt_ipx_rank_from_env((mpt_ipx_getenv_fn)getenv, &h.local_rank, &h.world_size);
    long pid = (long)getpid();
    long root = cfg->root_pid ? cfg->root_pid : pid;
    char path[MPT_IPX_PATH_MAX];
    if (mpt_ipx_trace_name(path, sizeof path, cfg->output, prog, pid, root, h.rank) != 0) {
        mpt_ipx_degrade("the trace file name is too long");
        return;
    }
    /* An exec'd image in a process that already wrote this name must not truncate it. */
    if (manifest_has(cfg->manifest, path)) {
        char alt[MPT_IPX_PATH_MAX];
        for (int i = 1; i < 1000; i++) {
            char tagged[MPT_IPX_PATH_MAX];
            snprintf(tagged, sizeof tagged, "%s", path);
            size_t n = strlen(tagged);
            size_t stem = n >= 4 && !strcmp(tagged + n - 4, ".mpt") ? n - 4 : n;
            snprintf(alt, sizeof alt, "%.*s.exec%d%s", (int)stem, tagged, i, tagged + stem);
            if (!manifest_has(cfg->manifest, alt)) break;
        }
        snprintf(path, sizeof path, "%s", alt);
    }
    char err[512];
    mpt_trace_writer *w = mpt_trace_writer_open(path, &h, err, sizeof err);
    if (!w) {
        mpt_ipx_degrade(err);
        return;
    }
    snprintf(trace_path, sizeof trace_path, "%s", path);
    manifest_add(cfg->manifest, path);
    char info[512];
    snprintf(info, sizeof info,
             "mptrace interposer: stats=%s every=%d full=%d inputs=%d sample=%d layers=%s",
             cfg->stats ? "on" : "off", cfg->every, cfg->full, cfg->inputs, cfg->sample,
             cfg->has_layers ? "filtered" : "all");
    mpt_trace_writer_message(w, MPT_MSG_INFO, info);
    /* The header at once: a process that ends without exit() (_exit after fork, SIGKILL before
     * its first step) still leaves a readable trace. */
    mpt_trace_writer_flush(w);
    atomic_store(&writer, w);
    atomic_store(&state, ST_ACTIVE);
    static int exit_registered; /* on_exit handlers survive fork: register once per image */
    if (!exit_registered) {
        exit_registered = 1;
        on_exit(at_exit, NULL);
    }
    arm_all();
}

mpt_trace_writer *mpt_ipx_writer(uint32_t *gen)
{
    mpt_trace_writer *w = atomic_load_explicit(&writer, memory_order_acquire);
    if (!w) {
        if (atomic_load(&state) == ST_OFF) return NULL;
        pthread_once(&process_once, process_init);
        pthread_mutex_lock(&session_mu);
        if (atomic_load(&state) == ST_UNINIT) open_locked();
        pthread_mutex_unlock(&session_mu);
        w = atomic_load(&writer);
        if (!w || atomic_load(&state) != ST_ACTIVE) return NULL;
    }
    if (gen) *gen = atomic_load_explicit(&generation, memory_order_relaxed);
    return atomic_load(&state) == ST_ACTIVE ? w : NULL;
}

static _Atomic uint64_t last_flush_ns;

void mpt_ipx_maybe_flush(uint64_t now_ns)
{
    uint64_t last = atomic_load_explicit(&last_flush_ns, memory_order_relaxed);
    if (now_ns - last < 1000000000ull) return;
    if (!atomic_compare_exchange_strong(&last_flush_ns, &last, now_ns)) return;
    mpt_trace_writer *w = atomic_load(&writer);
    if (w) mpt_trace_writer_flush(w);
}

void mpt_ipx_step_boundary(void)
{
    atomic_store_explicit(&last_flush_ns, mpt_trace_now_ns(), memory_order_relaxed);
    mpt_trace_writer *w = atomic_load(&writer);
    if (!w) return;
    mpt_gpu_drain(0); /* what the GPU finished by now (programs synchronise once per step) */
    if (mpt_trace_writer_error(w)) {
        char why[400];
        snprintf(why, sizeof why, "trace write failed: %s", mpt_trace_writer_error(w));
        mpt_ipx_degrade(why);
        return;
    }
    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++)
        if (installed[fatal_signals[i]]) arm(fatal_signals[i]);
    for (size_t i = 0; i < sizeof term_signals / sizeof *term_signals; i++)
        if (installed[term_signals[i]]) arm(term_signals[i]);
}

/* ---- threads and the reentrancy guard ---------------------------------------------------------- */

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;
static __thread mpt_ipx_thread *tls_thread;

static void thread_free(void *p)
{
    free(p);
}

static void thread_key_init(void)
{
    pthread_key_create(&thread_key, thread_free);
}

mpt_ipx_thread *mpt_ipx_thread_get(void)
{
    mpt_ipx_thread *t = tls_thread;
    if (t) return t;
    pthread_once(&thread_key_once, thread_key_init);
    t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->tid = (uint32_t)syscall(SYS_gettid);
    t->step_depth = -1;
    tls_thread = t;
    pthread_setspecific(thread_key, t);
    return t;
}

int mpt_ipx_enter(mpt_ipx_thread **out)
{
    if (!mpt_ipx_active()) return 0;
    mpt_ipx_thread *t = mpt_ipx_thread_get();
    if (!t || t->guard > 0) return 0;
    t->guard++;
    *out = t;
    return 1;
}

void mpt_ipx_leave(mpt_ipx_thread *t)
{
    t->guard--;
}

/* After fork only the forking thread exists; its thread state stays valid, its id changed. */
void mpt_ipx_thread_after_fork(void)
{
    if (tls_thread) tls_thread->tid = (uint32_t)syscall(SYS_gettid);
}

/* ---- can the host read device pointers? ---------------------------------------------------------- */

/*
 * On simcuda device memory is host memory, so the host reducer reads operands directly; on a GPU
 * it must not (the GPU statistics kernel's job). Decided once, at the first GEMM (not earlier:
 * asking the runtime about the device before the program did would initialise CUDA in
 * processes that never meant to): the device's name says "simcuda". MPTRACE_HOST_READABLE
 * overrides.
 */
static atomic_int host_readable = -1;

int mpt_ipx_host_readable(void)
{
    int v = atomic_load_explicit(&host_readable, memory_order_relaxed);
    if (v >= 0) return v;
    const mpt_ipx_config *cfg = mpt_ipx_config_get();
    v = 0;
    if (cfg->host_readable >= 0) {
        v = cfg->host_readable;
    } else {
        typedef int (*get_device_fn)(int *);
        typedef int (*get_props_fn)(void *, int);
        void *lib = dlopen("libcudart.so.13", RTLD_LAZY | RTLD_NOLOAD);
        void *h = lib ? lib : RTLD_DEFAULT;
        get_device_fn get_device = (get_device_fn)dlsym(h, "cudaGetDevice");
        get_props_fn get_props = (get_props_fn)dlsym(h, "cudaGetDeviceProperties");
        /* cudaDeviceProp starts with char name[256]; the buffer is far larger than the struct. */
        char *props = calloc(1, 16384);
        int dev = 0;
        if (props && get_props && (!get_device || get_device(&dev) == 0) &&
            get_props(props, dev) == 0)
            v = strncmp(props, "simcuda", 7) == 0;
        free(props);
        if (lib) dlclose(lib);
    }
    atomic_store(&host_readable, v);
    return v;
}
