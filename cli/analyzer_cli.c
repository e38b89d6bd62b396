/*
 * Helpers shared by the analyzer's commands (contract in analyzer_cli.h).
 */
#include "cli/analyzer_cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mpt_cli_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int mpt_cli_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

int mpt_cli_usage_error(const char *cmd, const char *msg, const char *arg)
{
    if (arg)
        fprintf(stderr, "mptrace %s: %s: '%s'\n", cmd, msg, arg);
    else
        fprintf(stderr, "mptrace %s: %s\n", cmd, msg);
    fprintf(stderr, "see 'mptrace %s --help'\n", cmd);
    return 2;
}

int mpt_cli_color(const char *when, int to_stdout, int *use)
{
    if (strcmp(when, "always") == 0) {
        *use = 1;
    } else if (strcmp(when, "never") == 0) {
        *use = 0;
    } else if (strcmp(when, "auto") == 0) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        *use = to_stdout && isatty(STDOUT_FILENO) && !(nc && *nc) &&
               !(term && strcmp(term, "dumb") == 0);
    } else {
        return -1;
    }
    return 0;
}

void mpt_cli_print_lines(const char *cmd, const char *level, const char *text)
{
    const char *line = text;
    for (;;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        fprintf(stderr, "mptrace %s: %s: %.*s\n", cmd, level, len, line);
        if (!nl) break;
        line = nl + 1;
    }
}

int mpt_cli_source_message(const mpt_source *s, const char *cmd)
{
    switch (s->state) {
    case MPT_SOURCE_TRUNCATED:
        fprintf(stderr,
                "mptrace %s: warning: %s\n"
                "mptrace %s: warning: %s is used up to its last whole record (%llu records, "
                "byte %llu)\n",
                cmd, s->message, cmd, s->path, (unsigned long long)s->records,
                (unsigned long long)s->error_offset);
        return 0;
    case MPT_SOURCE_CORRUPT:
        fprintf(stderr,
                "mptrace %s: error: %s\n"
                "mptrace %s: error: %s is damaged: used up to byte %llu (%llu records before "
                "the damage)\n",
                cmd, s->message, cmd, s->path, (unsigned long long)s->error_offset,
                (unsigned long long)s->records);
        return 1;
    case MPT_SOURCE_FAILED:
        fprintf(stderr, "mptrace %s: error: %s\n", cmd, s->message[0] ? s->message : s->path);
        return 1;
    default:
        return 0;
    }
}

int mpt_cli_load(mpt_model *m, char *const *paths, int n, const char *cmd)
{
    char err[8192];
    int rc = 0;
    if (mpt_model_load(m, paths, n, err, sizeof err) != 0) {
        mpt_cli_print_lines(cmd, "error", err);
        rc = 1;
    }
    for (int i = 0; i < mpt_model_nsources(m); i++)
        if (mpt_cli_source_message(mpt_model_source(m, i), cmd) != 0) rc = 1;
    return rc;
}
