/*
 * The interposer's configuration: MPTRACE_* environment variables, which `mptrace run` sets from
 * its options (cli/cmd_run.c; the table of both is in docs/interposer.md). Parsed once per
 * process; a malformed value keeps that setting's default and is reported once on stderr by the
 * session (a typo must not silently turn statistics off, nor stop the program).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interposer/ipx.h"

static int parse_long(const char *name, const char *v, long lo, long hi, long *out, char *err,
                      size_t errlen)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        snprintf(err, errlen, "%s='%s' is not an integer in [%ld, %ld]", name, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_bool(const char *name, const char *v, int *out, char *err, size_t errlen)
{
    if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcasecmp(v, "true"))
        *out = 1;
    else if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
             !strcasecmp(v, "false") || !*v)
        *out = 0;
    else {
        snprintf(err, errlen, "%s='%s' is not 0/1", name, v);
        return -1;
    }
    return 0;
}

/* Keeps the first error message, goes on parsing the rest. */
typedef struct parse_state {
    mpt_ipx_getenv_fn get;
    char *err;
    size_t errlen;
    int failed;
} parse_state;

static void note(parse_state *ps, int rc, const char *msg)
{
    if (rc && !ps->failed) {
        ps->failed = 1;
        snprintf(ps->err, ps->errlen, "%s", msg);
    }
}

static void get_bool(parse_state *ps, const char *name, int *field)
{
    const char *v = ps->get(name);
    char msg[256];
    if (v) note(ps, parse_bool(name, v, field, msg, sizeof msg), msg);
}

static void get_long(parse_state *ps, const char *name, long lo, long hi, int *field)
{
    const char *v = ps->get(name);
    char msg[256];
    long x;
    if (!v) return;
    int rc = parse_long(name, v, lo, hi, &x, msg, sizeof msg);
    if (!rc) *field = (int)x;
    note(ps, rc, msg);
}

static void get_regex(parse_state *ps, const char *name, const char *dflt, int flags, regex_t *re,
                      int *has)
{
    const char *v = ps->get(name);
    char msg[512];
    if (v && *v) {
        int rc = regcomp(re, v, REG_EXTENDED | REG_NOSUB | flags);
        if (rc == 0) {
            *has = 1;
            return;
        }
        char why[200];
        regerror(rc, re, why, sizeof why);
        snprintf(msg, sizeof msg, "%s='%s' is not a valid regular expression: %s", name, v, why);
        note(ps, -1, msg);
    }
    if (dflt) {
        /* The default pattern is a constant and compiles. */
        *has = regcomp(re, dflt, REG_EXTENDED | REG_NOSUB | flags) == 0;
    }
}

int mpt_ipx_config_parse(mpt_ipx_config *c, mpt_ipx_getenv_fn get, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->stats = 1;
    c->every = MPT_IPX_DEFAULT_EVERY;
    c->inputs = 1;
    c->sample = MPT_IPX_DEFAULT_SAMPLE;
    c->seed = 0x6d70747261636521ull; /* "mptrace!" */
    c->anomaly_factor = MPT_IPX_DEFAULT_ANOMALY;
    c->kernels = 1;
    c->memory = 1;
    c->callsite_depth = 2;
    c->host_readable = -1;
    c->gpu_stats = -1;
    c->gpu_ring = MPT_IPX_DEFAULT_GPU_RING;
    if (err && errlen) err[0] = '\0';
    char dummy[8];
    parse_state ps = {get, err ? err : dummy, err ? errlen : sizeof dummy, 0};

    get_bool(&ps, "MPTRACE_DISABLE", &c->disabled);
    get_bool(&ps, "MPTRACE_STATS", &c->stats);
    get_bool(&ps, "MPTRACE_FULL", &c->full);
    get_long(&ps, "MPTRACE_EVERY", 0, INT_MAX, &c->every);
    int no_inputs = 0;
    get_bool(&ps, "MPTRACE_NO_INPUTS", &no_inputs);
    c->inputs = !no_inputs;
    get_long(&ps, "MPTRACE_SAMPLE", 0, 1 << 20, &c->sample);
    get_bool(&ps, "MPTRACE_KERNELS", &c->kernels);
    get_bool(&ps, "MPTRACE_MEMORY", &c->memory);
    get_long(&ps, "MPTRACE_CALLSITE_DEPTH", 1, 8, &c->callsite_depth);
    get_bool(&ps, "MPTRACE_QUIET", &c->quiet);

    const char *v = get("MPTRACE_HOST_READABLE");
    if (v && strcmp(v, "auto") != 0) {
        char msg[256];
        note(&ps, parse_bool("MPTRACE_HOST_READABLE", v, &c->host_readable, msg, sizeof msg), msg);
        if (c->host_readable != 0 && c->host_readable != 1) c->host_readable = -1;
    }
    v = get("MPTRACE_GPU_STATS");
    if (v && strcmp(v, "auto") != 0) {
        char msg[256];
        note(&ps, parse_bool("MPTRACE_GPU_STATS", v, &c->gpu_stats, msg, sizeof msg), msg);
        if (c->gpu_stats != 0 && c->gpu_stats != 1) c->gpu_stats = -1;
    }
    get_long(&ps, "MPTRACE_GPU_RING", 2, 65536, &c->gpu_ring);
    if ((v = get("MPTRACE_GPU_KERNELS")) != NULL && strlen(v) < sizeof c->gpu_kernels)
        snprintf(c->gpu_kernels, sizeof c->gpu_kernels, "%s", v);
    if ((v = get("MPTRACE_SEED")) != NULL) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 0);
        if (errno || end == v || *end)
            note(&ps, -1, "MPTRACE_SEED is not an unsigned integer");
        else
            c->seed = s;
    }
    if ((v = get("MPTRACE_ANOMALY_FACTOR")) != NULL) {
        char *end;
        double f = strtod(v, &end);
        if (end == v || *end || !(f > 1.0) || f > 1e300)
            note(&ps, -1, "MPTRACE_ANOMALY_FACTOR must be a number > 1");
        else
            c->anomaly_factor = f;
    }
    if ((v = get("MPTRACE_ROOT_PID")) != NULL) {
        long pid;
        char msg[256];
        if (parse_long("MPTRACE_ROOT_PID", v, 0, LONG_MAX, &pid, msg, sizeof msg) == 0)
            c->root_pid = pid;
        else
            note(&ps, -1, msg);
    }
    if ((v = get("MPTRACE_OUTPUT")) != NULL) {
        if (strlen(v) >= sizeof c->output - 32)
            note(&ps, -1, "MPTRACE_OUTPUT is too long");
        else
            snprintf(c->output, sizeof c->output, "%s", v);
    }
    if ((v = get("MPTRACE_MANIFEST")) != NULL && strlen(v) < sizeof c->manifest)
        snprintf(c->manifest, sizeof c->manifest, "%s", v);

    get_regex(&ps, "MPTRACE_LAYERS", NULL, 0, &c->layers, &c->has_layers);
    int has_step = 0;
    get_regex(&ps, "MPTRACE_STEP_PATTERN", MPT_IPX_DEFAULT_STEP_PATTERN, REG_ICASE, &c->step_re,
              &has_step);
    return ps.failed ? -1 : 0;
}

void mpt_ipx_config_free(mpt_ipx_config *c)
{
    if (c->has_layers) regfree(&c->layers);
    regfree(&c->step_re);
    c->has_layers = 0;
}

static mpt_ipx_config config;
static char config_err[512];
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static const char *env_get(const char *name)
{
    return getenv(name);
}

static void config_load(void)
{
    if (mpt_ipx_config_parse(&config, env_get, config_err, sizeof config_err) != 0 &&
        !config.quiet) {
        char line[700];
        int n = snprintf(line, sizeof line, "mptrace: %s (using the default)\n", config_err);
        if (n > 0) {
            ssize_t w = write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
            (void)w;
        }
    }
}

const mpt_ipx_config *mpt_ipx_config_get(void)
{
    pthread_once(&config_once, config_load);
    return &config;
}
