/*
 * How a traced process can end, and what it may do on the way (test_interposer_e2e.c checks
 * each trace):
 *
 *   sigkill          steps 0..4 ("train_step N"); during step 3 the process kills itself with
 *                    SIGKILL: the trace must read cleanly up to the end of step 2
 *   abort            a GEMM inside step 0, then abort(): the fatal-signal handler flushes, and
 *                    the trace ends with END "fatal signal" 6; exit status 134
 *   segv             the same with a write to a read-only page (SIGSEGV, 139)
 *   handler          the program's own SIGTERM handler, installed after tracing started (so it
 *                    replaces mptrace's, which is re-armed at the next step boundary and then
 *                    chains to it); raise(SIGTERM) is handled and the program goes on
 *   fork             a GEMM in the parent, fork(), a GEMM in the child (its own trace), another
 *                    in the parent after the child exited
 */
#include <nvtx3/nvToolsExt.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/programs/ipx_common.h"

static cublasHandle_t h;
static float *a, *c;

static void gemm(const char *layer)
{
    const float one = 1.0f, zero = 0.0f;
    nvtxRangePushA(layer);
    IPX_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, 4, a, 4, &zero, c, 4),
             CUBLAS_STATUS_SUCCESS);
    nvtxRangePop();
}

static void step_begin(int s)
{
    char name[32];
    snprintf(name, sizeof name, "train_step %d", s);
    nvtxRangePushA(name);
}

static volatile sig_atomic_t handled;
static void on_term(int sig)
{
    (void)sig;
    handled = 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    float ha[16];
    for (int i = 0; i < 16; i++)
        ha[i] = 0.25f * (float)i;
    IPX_BLAS(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    a = ipx_f32_copy(ha, 16);
    c = ipx_f32_copy(ha, 16);
    if (!strcmp(mode, "sigkill")) {
        for (int s = 0; s < 5; s++) {
            step_begin(s);
            gemm("layer");
            if (s == 3) kill(getpid(), SIGKILL);
            nvtxRangePop();
        }
    } else if (!strcmp(mode, "abort") || !strcmp(mode, "segv")) {
        step_begin(0);
        gemm("layer");
        fflush(stdout);
        if (!strcmp(mode, "abort")) abort();
        /* A real fault, of a kind no sanitizer intercepts first: a write to a read-only page. */
        volatile int *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        *p = 1;
    } else if (!strcmp(mode, "handler")) {
        step_begin(0);
        gemm("layer");
        signal(SIGTERM, on_term); /* replaces mptrace's handler */
        nvtxRangePop();           /* step boundary: mptrace re-arms, chaining to on_term */
        step_begin(1);
        raise(SIGTERM);
        gemm("layer");
        nvtxRangePop();
        printf("handled %d\n", (int)handled);
    } else if (!strcmp(mode, "fork")) {
        gemm("parent");
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            gemm("child");
            exit(ipx_failures ? 1 : 0); /* exit, not _exit: the trace is flushed at exit */
        }
        int st = 0;
        waitpid(pid, &st, 0);
        printf("child %d exit %d\n", (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        gemm("parent");
    } else {
        fprintf(stderr, "usage: ipx_lifecycle sigkill|abort|segv|handler|fork\n");
        return 2;
    }
    return ipx_done();
}
