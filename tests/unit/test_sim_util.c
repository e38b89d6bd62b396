/*
 * Loading simcuda's libraries and running programs on them, for the test_sim_* suites (see
 * test_sim_util.h).
 */
#include "test_sim_util.h"

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const lib_names[SIM_LIB_COUNT] = {"libcudart.so.13", "libcublas.so.13",
                                                     "libcublasLt.so.13"};
static void *libs[SIM_LIB_COUNT];
static char dir[PATH_MAX];

const char *sim_test_dir(void)
{
    if (dir[0]) return dir;
    const char *env = getenv("MPT_SIM_DIR");
    if (env && *env) {
        snprintf(dir, sizeof(dir), "%s", env);
        return dir;
    }
    char exe[PATH_MAX - 16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/'); /* .../$(BUILD)/tests/mptrace-tests */
    if (!slash) return NULL;
    *slash = '\0';
    snprintf(dir, sizeof(dir), "%s/../sim", exe);
    return dir;
}

void *sim_test_lib(sim_lib lib)
{
    if (libs[lib]) return libs[lib];
    const char *d = sim_test_dir();
    if (!d) return NULL;
    /* One OpenBLAS thread: the test matrices are tiny, and OpenBLAS's idle worker threads at
     * exit have crashed LeakSanitizer's thread suspension in the forked test children. */
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", d, lib_names[lib]);
    libs[lib] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!libs[lib]) fprintf(stderr, "sim tests: cannot load %s: %s\n", path, dlerror());
    return libs[lib];
}

void *sim_test_sym(sim_lib lib, const char *name)
{
    void *h = sim_test_lib(lib);
    ck_assert_msg(h != NULL, "%s is not loaded", lib_names[lib]);
    void *p = dlsym(h, name);
    ck_assert_msg(p != NULL, "%s does not export %s", lib_names[lib], name);
    return p;
}

int sim_test_available(void)
{
    static int reported;
    for (int i = 0; i < SIM_LIB_COUNT; i++) {
        if (!sim_test_lib((sim_lib)i)) {
            if (!reported++)
                fprintf(stderr, "SKIP: simcuda libraries not built in %s — sim tests not run\n",
                        sim_test_dir() ? sim_test_dir() : "(unknown)");
            return 0;
        }
    }
    return 1;
}

/* Appends what is readable on fd to *buf. Returns 0 at EOF, 1 if more may come, -1 on error. */
static int drain(int fd, char **buf, size_t *len)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0) return errno == EINTR ? 1 : -1;
    if (n == 0) return 0;
    char *grown = realloc(*buf, *len + (size_t)n + 1);
    if (!grown) return -1;
    memcpy(grown + *len, chunk, (size_t)n);
    *len += (size_t)n;
    grown[*len] = '\0';
    *buf = grown;
    return 1;
}

int sim_test_run(char *const argv[], char **out, char **err)
{
    int po[2], pe[2];
    *out = calloc(1, 1);
    *err = calloc(1, 1);
    if (!*out || !*err || pipe(po) != 0) return -1;
    if (pipe(pe) != 0) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        close(po[0]);
        close(pe[0]);
        setenv("LD_LIBRARY_PATH", sim_test_dir(), 1);
        setenv("OPENBLAS_NUM_THREADS", "1", 0);
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    size_t lo = 0, le = 0;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                int r = drain(fds[i].fd, i == 0 ? out : err, i == 0 ? &lo : &le);
                if (r <= 0) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    open_fds--;
                }
            }
        }
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}
