/*
 * Once-only stderr notices for simcuda (see sim_notice.h for why a library prints at all).
 * Written with one write(2) per line so concurrent notices never interleave mid-line.
 */
#include "sim/sim_notice.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void emit(const char *prefix, const char *text, const char *suffix)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "%s%s%s\n", prefix, text, suffix);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void sim_notice_unsupported(int *flag, const char *what)
{
    if (__atomic_exchange_n(flag, 1, __ATOMIC_ACQ_REL) == 0)
        emit("simcuda: ", what, " is not supported");
}

void sim_notice_once(int *flag, const char *message)
{
    if (__atomic_exchange_n(flag, 1, __ATOMIC_ACQ_REL) == 0) emit("simcuda: ", message, "");
}

void sim_notice_line(const char *message)
{
    emit("simcuda: ", message, "");
}
