/*
 * `mptrace report TRACE...`: which layer, at which step, and why — as text for a terminal or
 * as JSON for other tools (docs/report-schema.md). Several traces (the ranks of one job) are
 * merged into one report.
 *
 * Exit status: 0 the report was written (also for a truncated trace: it covers every whole
 * record, with a warning); 1 a trace could not be read (missing, empty, not a trace, a newer
 * format, damaged: the report still covers what came before the damage) or the output could
 * not be written; 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/analysis.h"
#include "analyzer/report.h"
#include "cli/analyzer_cli.h"

const char mpt_cmd_report_summary[] = "which layer, at which step, and why (text or --json)";

static void usage(FILE *f)
{
    fprintf(f, "usage: mptrace report [options] TRACE...\n"
               "\n"
               "Reads one or more traces (the ranks of one job are merged) and reports: the run\n"
               "(program, ranks, steps, GEMMs, dtypes, precision regime); the first NaN/Inf\n"
               "(step, layer, and whether the op made it or it came in through an input);\n"
               "findings with recommendations; the loss and its spikes; the loss scaler; and\n"
               "per-layer tables of value range and precision.\n"
               "\n"
               "options:\n"
               "  --json             JSON instead of text (schema: docs/report-schema.md)\n"
               "  --pretty           indent the JSON\n"
               "  --color WHEN       auto (default: colour on a terminal unless NO_COLOR is\n"
               "                     set), always, never\n"
               "  --max-layers N     show at most N layers in the text tables (default: all)\n"
               "  --spike-k K        a loss spike exceeds the rolling median by K robust\n"
               "                     standard deviations (default 6)\n"
               "  --spike-window N   ... of the previous N finite losses (default 32)\n"
               "  -o, --output FILE  write the report to FILE instead of standard output\n"
               "  -h, --help         this text\n"
               "\n"
               "exit status: 0 report written (a truncated trace is reported up to its last\n"
               "whole record, with a warning); 1 a trace could not be read or is damaged (the\n"
               "report still covers what came before the damage); 2 usage error.\n");
}

int mpt_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"pretty", no_argument, NULL, 'p'},
        {"color", required_argument, NULL, 'c'},
        {"colour", required_argument, NULL, 'c'},
        {"max-layers", required_argument, NULL, 'L'},
        {"spike-k", required_argument, NULL, 'k'},
        {"spike-window", required_argument, NULL, 'w'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, pretty = 0, max_layers = 0;
    const char *color = "auto", *output = NULL;
    mpt_analysis_opts ao;
    mpt_analysis_opts_default(&ao);
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'p':
            pretty = 1;
            break;
        case 'c':
            color = optarg;
            break;
        case 'L':
            if (mpt_cli_parse_int(optarg, 0, 1 << 30, &max_layers) != 0)
                return mpt_cli_usage_error("report", "--max-layers needs a number >= 0", optarg);
            break;
        case 'k':
            if (mpt_cli_parse_double(optarg, 0.1, 1e6, &ao.spike_k) != 0)
                return mpt_cli_usage_error("report", "--spike-k needs a number in [0.1, 1e6]",
                                           optarg);
            break;
        case 'w':
            if (mpt_cli_parse_int(optarg, 2, 100000, &ao.spike_window) != 0)
                return mpt_cli_usage_error("report", "--spike-window needs a number in [2, 1e5]",
                                           optarg);
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return mpt_cli_usage_error("report", "unknown or incomplete option", argv[optind - 1]);
        }
    }
    int use_color;
    if (mpt_cli_color(color, output == NULL, &use_color) != 0)
        return mpt_cli_usage_error("report", "--color must be auto, always or never", color);
    if (optind >= argc) {
        fprintf(stderr, "mptrace report: no trace given\n\n");
        usage(stderr);
        return 2;
    }
    mpt_model *m = mpt_model_new(NULL);
    if (!m) {
        fprintf(stderr, "mptrace report: out of memory\n");
        return 1;
    }
    int rc = mpt_cli_load(m, argv + optind, argc - optind, "report");
    if (mpt_model_nsources(m) == 0) {
        mpt_model_free(m);
        return 1;
    }
    mpt_analysis *a = mpt_analyze(m, &ao);
    if (!a) {
        fprintf(stderr, "mptrace report: out of memory while analysing\n");
        mpt_model_free(m);
        return 1;
    }
    FILE *out = stdout;
    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "mptrace report: cannot write %s: %m\n", output);
        rc = 1;
    } else {
        mpt_report_opts ro = {.color = use_color, .width = 80, .max_layers = max_layers};
        int w = json ? mpt_report_json(out, m, a, pretty) : mpt_report_text(out, m, a, &ro);
        if (fflush(out) != 0 || w != 0) {
            fprintf(stderr, "mptrace report: writing the report failed\n");
            rc = 1;
        }
        if (out != stdout) fclose(out);
    }
    mpt_analysis_free(a);
    mpt_model_free(m);
    return rc;
}
