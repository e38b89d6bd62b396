/*
 * `mptrace export TRACE... --format csv|jsonl|chrome|sqlite -o OUT`: the trace in formats other
 * tools read (docs/export.md). Streams: memory stays bounded whatever the trace's size.
 *
 * Exit status: 0 exported (a truncated trace up to its last whole record, with a warning);
 * 1 a trace could not be read or is damaged (what came before the damage is exported), or the
 * output could not be written; 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/export.h"
#include "cli/analyzer_cli.h"

const char mpt_cmd_export_summary[] = "the trace as CSV, JSON lines, Chrome trace or SQLite";

static void usage(FILE *f)
{
    fprintf(f, "usage: mptrace export [options] TRACE... -f FORMAT -o OUT\n"
               "\n"
               "Writes the records of one or more traces (ranks in rank order) in a format other\n"
               "tools read:\n"
               "  csv     one row per tensor record: its op, layer and step, and its statistics\n"
               "  jsonl   the same as JSON lines (full records add narrow-format counts and the\n"
               "          exponent histogram)\n"
               "  chrome  Trace Event JSON for Perfetto (ui.perfetto.dev) and chrome://tracing:\n"
               "          GEMMs, kernels and copies as slices per thread, NVTX ranges as nested\n"
               "          slices, steps, counters for loss, scale and non-finite values\n"
               "  sqlite  a database with tables sources, layers, ops, tensors, precision,\n"
               "          events, steps, scalars, ranges, messages (schema and example queries:\n"
               "          docs/export.md)\n"
               "\n"
               "options:\n"
               "  -f, --format FORMAT  csv, jsonl, chrome or sqlite (required)\n"
               "  -o, --output OUT     the file to write (required for sqlite; '-' or no -o:\n"
               "                       standard output for the text formats). An existing file\n"
               "                       is replaced.\n"
               "  -h, --help           this text\n"
               "\n"
               "exit status: 0 exported (a truncated trace up to its last whole record, with a\n"
               "warning); 1 a trace could not be read or is damaged (what came before the damage\n"
               "is exported) or OUT could not be written; 2 usage error.\n");
}

int mpt_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = NULL, *output = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return mpt_cli_usage_error("export", "unknown or incomplete option", argv[optind - 1]);
        }
    }
    if (!format) return mpt_cli_usage_error("export", "--format is required", NULL);
    int kind = strcmp(format, "csv") == 0      ? 0
               : strcmp(format, "jsonl") == 0  ? 1
               : strcmp(format, "chrome") == 0 ? 2
               : strcmp(format, "sqlite") == 0 ? 3
                                               : -1;
    if (kind < 0)
        return mpt_cli_usage_error("export", "--format must be csv, jsonl, chrome or sqlite",
                                   format);
    if (kind == 3 && (!output || strcmp(output, "-") == 0))
        return mpt_cli_usage_error("export", "--format sqlite needs -o FILE", NULL);
    if (optind >= argc) return mpt_cli_usage_error("export", "no trace given", NULL);

    char err[8192];
    mpt_export_walker *w = mpt_export_open(argv + optind, argc - optind, err, sizeof err);
    if (!w) {
        mpt_cli_print_lines("export", "error", err);
        return 1;
    }
    int rc = 0;
    if (kind == 3) {
        rc = mpt_export_sqlite(w, output, err, sizeof err);
    } else {
        FILE *out = stdout;
        if (output && strcmp(output, "-") != 0 && !(out = fopen(output, "w"))) {
            fprintf(stderr, "mptrace export: cannot write %s: %m\n", output);
            mpt_export_close(w);
            return 1;
        }
        rc = kind == 0   ? mpt_export_csv(w, out, err, sizeof err)
             : kind == 1 ? mpt_export_jsonl(w, out, err, sizeof err)
                         : mpt_export_chrome(w, out, err, sizeof err);
        if (out != stdout && fclose(out) != 0 && rc == 0) {
            snprintf(err, sizeof err, "closing %s failed", output);
            rc = -1;
        }
    }
    if (rc != 0)
        fprintf(stderr, "mptrace export: error: %s%s%s\n", output ? output : "", output ? ": " : "",
                err);
    int status = rc != 0;
    for (int i = 0; i < mpt_export_nsources(w); i++)
        if (mpt_cli_source_message(mpt_export_source(w, i), "export") != 0) status = 1;
    mpt_export_close(w);
    return status;
}
