/*
 * Running programs under mptrace and reading their traces, for the interposer's end-to-end
 * suites (see test_interposer_util.h).
 */
#include "test_interposer_util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/trace_reader.h"

static char build[PATH_MAX];

const char *ipx_build_dir(void)
{
    if (build[0]) return build;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/'); /* $(BUILD)/tests/mptrace-tests */
    if (!slash) return NULL;
    *slash = '\0';
    slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = '\0';
    snprintf(build, sizeof build, "%s", exe);
    return build;
}

const char *ipx_path(const char *rel)
{
    static char slots[8][PATH_MAX];
    static int next;
    char *p = slots[next++ % 8];
    snprintf(p, PATH_MAX, "%s/%s", ipx_build_dir() ? ipx_build_dir() : ".", rel);
    return p;
}

int ipx_available(void)
{
    static const char *const need[] = {"bin/mptrace", "lib/libmptrace.so", "sim/libcudart.so.13",
                                       NULL};
    static int said;
    for (const char *const *n = need; *n; n++)
        if (!ipx_build_dir() || access(ipx_path(*n), R_OK) != 0) {
            if (!said++) printf("SKIP: %s is not built (the CUDA headers are missing?)\n", *n);
            return 0;
        }
    return 1;
}

static char tmpdir[PATH_MAX];

const char *ipx_tmpdir(void)
{
    if (tmpdir[0]) return tmpdir;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mptrace-ipx-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) tmpdir[0] = '\0';
    return tmpdir;
}

void ipx_cleanup(void)
{
    if (!tmpdir[0]) return;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    tmpdir[0] = '\0';
}

/* Appends what fd has to *buf. 0 at EOF. */
static int drain(int fd, char **buf, size_t *len)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return n < 0 && errno == EINTR ? 1 : 0;
    char *b = realloc(*buf, *len + (size_t)n + 1);
    if (!b) return 0;
    memcpy(b + *len, chunk, (size_t)n);
    *len += (size_t)n;
    b[*len] = '\0';
    *buf = b;
    return 1;
}

int ipx_run(char *const argv[], const char *const env[], char **out, char **err)
{
    int po[2], pe[2];
    if (pipe(po) || pipe(pe)) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
#if defined(__SANITIZE_ADDRESS__)
        /* The programs of an ASan build are sanitized and libmptrace.so is too: preloading it
         * ahead of the ASan runtime is fine for them. ASan's own SIGSEGV report would replace
         * the default action the fatal-signal test expects (exit 139). */
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0:handle_segv=0", 1);
#endif
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    char *bo = calloc(1, 1), *be = calloc(1, 1);
    size_t lo = 0, le = 0;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++)
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                if (!drain(fds[i].fd, i ? &be : &bo, i ? &le : &lo)) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    open_fds--;
                }
            }
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (out)
        *out = bo;
    else
        free(bo);
    if (err)
        *err = be;
    else
        free(be);
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

#define PUSH(arr, n, v)                                                                          \
    do {                                                                                         \
        void *p_ = realloc((arr), ((n) + 1) * sizeof *(arr));                                    \
        if (!p_) break;                                                                          \
        (arr) = p_;                                                                              \
        (arr)[(n)++] = (v);                                                                      \
    } while (0)

static void copy_name(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

int ipx_trace_load(const char *path, ipx_trace *t)
{
    memset(t, 0, sizeof *t);
    char err[512];
    mpt_trace_reader *r = mpt_trace_reader_open(path, 0, err, sizeof err);
    if (!r) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    const mpt_trace_header *h = mpt_trace_reader_header(r);
    t->pid = h->pid;
    t->rank = h->rank;
    mpt_trace_record rec;
    mpt_trace_status st;
    while ((st = mpt_trace_reader_next(r, &rec)) == MPT_TRACE_RECORD) {
        switch (rec.type) {
        case MPT_REC_GEMM: {
            ipx_gemm g;
            memset(&g, 0, sizeof g);
            g.g = rec.u.gemm;
            copy_name(g.layer, sizeof g.layer, mpt_trace_reader_string(r, g.g.layer));
            copy_name(g.api, sizeof g.api, mpt_trace_reader_string(r, g.g.api));
            copy_name(g.site, sizeof g.site, mpt_trace_reader_string(r, g.g.callsite));
            PUSH(t->gemms, t->ngemms, g);
            break;
        }
        case MPT_REC_TENSOR: PUSH(t->tensors, t->ntensors, rec.u.tensor); break;
        case MPT_REC_PRECISION: PUSH(t->precs, t->nprecs, rec.u.precision); break;
        case MPT_REC_STEP: PUSH(t->steps, t->nsteps, rec.u.step); break;
        case MPT_REC_SCALAR: {
            ipx_scalar s;
            s.s = rec.u.scalar;
            copy_name(s.key, sizeof s.key, mpt_trace_reader_string(r, s.s.key));
            PUSH(t->scalars, t->nscalars, s);
            break;
        }
        case MPT_REC_KERNEL: PUSH(t->kernels, t->nkernels, rec.u.kernel); break;
        case MPT_REC_MEMORY: PUSH(t->memory, t->nmemory, rec.u.memory); break;
        case MPT_REC_MESSAGE: {
            char *m = strndup(rec.u.message.text, rec.u.message.len);
            PUSH(t->messages, t->nmessages, m);
            break;
        }
        case MPT_REC_END:
            t->have_end = 1;
            t->end = rec.u.end;
            break;
        default: break;
        }
    }
    t->status = (int)st;
    mpt_trace_reader_close(r);
    return 0;
}

void ipx_trace_free(ipx_trace *t)
{
    for (size_t i = 0; i < t->nmessages; i++)
        free(t->messages[i]);
    free(t->messages);
    free(t->gemms);
    free(t->tensors);
    free(t->precs);
    free(t->steps);
    free(t->scalars);
    free(t->kernels);
    free(t->memory);
    memset(t, 0, sizeof *t);
}

const mpt_trace_tensor *ipx_trace_tensor(const ipx_trace *t, uint64_t seq, mpt_tensor_role role)
{
    for (size_t i = 0; i < t->ntensors; i++)
        if (t->tensors[i].info.seq == seq && t->tensors[i].info.role == role) return &t->tensors[i];
    return NULL;
}

const mpt_trace_precision *ipx_trace_prec(const ipx_trace *t, uint64_t seq)
{
    for (size_t i = 0; i < t->nprecs; i++)
        if (t->precs[i].seq == seq) return &t->precs[i];
    return NULL;
}

const ipx_gemm *ipx_trace_gemm(const ipx_trace *t, const char *layer, int n)
{
    for (size_t i = 0; i < t->ngemms; i++)
        if (!strcmp(t->gemms[i].layer, layer) && n-- == 0) return &t->gemms[i];
    return NULL;
}

double ipx_trace_scalar(const ipx_trace *t, const char *key, int64_t step, uint32_t flags)
{
    for (size_t i = 0; i < t->nscalars; i++)
        if (t->scalars[i].s.step == step && t->scalars[i].s.flags == flags &&
            !strcmp(t->scalars[i].key, key))
            return t->scalars[i].s.value;
    return NAN;
}
