/*
 * `mptrace diff A B`: two runs side by side per layer — where their statistics diverge first,
 * by how much, where the loss curves part, and which findings one run has that the other does
 * not. A and B are one trace each, or several joined by commas (the ranks of one job).
 *
 * Exit status: 0 compared; 1 a trace could not be read or is damaged; 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diff.h"
#include "cli/analyzer_cli.h"

const char mpt_cmd_diff_summary[] = "two runs side by side: where they diverge first, and why";

static void usage(FILE *f)
{
    fprintf(f, "usage: mptrace diff [options] A B\n"
               "\n"
               "Compares two runs (say bf16-mixed against 16-mixed, or a good run against a bad\n"
               "one) layer by layer, matching layers by name and steps by number: the first step\n"
               "and layer where their GEMM outputs diverge (a NaN/Inf in one run only, or an\n"
               "absmax differing by more than the threshold), where the loss curves part, and\n"
               "the findings one run has and the other does not. A and B are trace files; the\n"
               "ranks of one job may be given as A0.mpt,A1.mpt.\n"
               "\n"
               "options:\n"
               "  --json               JSON instead of text\n"
               "  --pretty             indent the JSON\n"
               "  --threshold BITS     absmax ratios beyond 2^BITS diverge (default 1)\n"
               "  --loss-tol FRAC      losses further apart than FRAC differ (default 0.05)\n"
               "  --color WHEN         auto (default), always, never; NO_COLOR is honoured\n"
               "  -o, --output FILE    write to FILE instead of standard output\n"
               "  -h, --help           this text\n"
               "\n"
               "exit status: 0 compared; 1 a trace could not be read or is damaged; 2 usage.\n");
}

/* Splits "a,b,c" in place into paths. Returns the count (at most max). */
static int split(char *s, char **out, int max)
{
    int n = 0;
    for (char *t = strtok(s, ","); t && n < max; t = strtok(NULL, ","))
        out[n++] = t;
    return n;
}

static int load(mpt_model *m, char *arg)
{
    char *paths[256];
    int n = split(arg, paths, 256);
    if (n == 0) return mpt_cli_usage_error("diff", "empty trace list", arg) != 0;
    return mpt_cli_load(m, paths, n, "diff");
}

int mpt_cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"pretty", no_argument, NULL, 'p'},
        {"threshold", required_argument, NULL, 't'},
        {"loss-tol", required_argument, NULL, 'l'},
        {"color", required_argument, NULL, 'c'},
        {"colour", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, pretty = 0;
    const char *color = "auto", *output = NULL;
    mpt_diff_opts dopt;
    mpt_diff_opts_default(&dopt);
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'p':
            pretty = 1;
            break;
        case 't':
            if (mpt_cli_parse_double(optarg, 0, 1000, &dopt.threshold_bits) != 0)
                return mpt_cli_usage_error("diff", "--threshold needs a number in [0, 1000]",
                                           optarg);
            break;
        case 'l':
            if (mpt_cli_parse_double(optarg, 0, 1e6, &dopt.loss_rel_tol) != 0)
                return mpt_cli_usage_error("diff", "--loss-tol needs a number >= 0", optarg);
            break;
        case 'c':
            color = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return mpt_cli_usage_error("diff", "unknown or incomplete option", argv[optind - 1]);
        }
    }
    int use_color;
    if (mpt_cli_color(color, output == NULL, &use_color) != 0)
        return mpt_cli_usage_error("diff", "--color must be auto, always or never", color);
    if (argc - optind != 2)
        return mpt_cli_usage_error("diff", "give exactly two runs, A and B", NULL);
    mpt_model *m[2] = {mpt_model_new(NULL), mpt_model_new(NULL)};
    mpt_analysis *a[2] = {NULL, NULL};
    mpt_diff *d = NULL;
    int rc = 0;
    if (!m[0] || !m[1]) goto oom;
    for (int s = 0; s < 2; s++)
        rc |= load(m[s], argv[optind + s]);
    if (!mpt_model_nsources(m[0]) || !mpt_model_nsources(m[1])) {
        rc = 1;
        goto out;
    }
    for (int s = 0; s < 2; s++)
        if (!(a[s] = mpt_analyze(m[s], NULL))) goto oom;
    if (!(d = mpt_diff_compute(m[0], a[0], m[1], a[1], &dopt))) goto oom;
    FILE *f = stdout;
    if (output && !(f = fopen(output, "w"))) {
        fprintf(stderr, "mptrace diff: cannot write %s: %m\n", output);
        rc = 1;
        goto out;
    }
    int w = json ? mpt_diff_json(f, d, pretty) : mpt_diff_text(f, d, use_color);
    if (fflush(f) != 0 || w != 0) {
        fprintf(stderr, "mptrace diff: writing failed\n");
        rc = 1;
    }
    if (f != stdout) fclose(f);
    goto out;
oom:
    fprintf(stderr, "mptrace diff: out of memory\n");
    rc = 1;
out:
    mpt_diff_free(d);
    for (int s = 0; s < 2; s++) {
        mpt_analysis_free(a[s]);
        mpt_model_free(m[s]);
    }
    return rc;
}
