/*
 * `mptrace tui [options] TRACE...`: the interactive view of one run (several traces: the ranks
 * of one job), post-mortem or following a trace still being written, or one screen of it as
 * text (--snapshot). The TUI itself is tui/; this file parses options and decides exit codes:
 * 0 done, 1 the trace could not be shown, 2 usage (including "stdout is not a terminal"),
 * 128 + signal when SIGINT, SIGTERM or SIGHUP ended the session.
 * `mptrace --tui PROGRAM` goes through `mptrace run`, which calls mpt_tui_run_live.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui/tui.h"

/* Found by cli/main.c through commands.inc, which declares them too. */
int mpt_cmd_tui(int argc, char **argv);
extern const char mpt_cmd_tui_summary[];

const char mpt_cmd_tui_summary[] = "browse a trace interactively (live with --follow)";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mptrace tui [options] TRACE...\n"
            "       mptrace --tui [run options] PROGRAM [ARGS...]   (run and watch live)\n\n"
            "Browse a trace in the terminal: the loss over steps, the layers of the selected\n"
            "step, a layers x steps heat map, findings, and the detail of a layer. Several\n"
            "traces (the ranks of one job) are shown as one run.\n\n"
            "options:\n"
            "  --follow           attach to a trace still being written: new steps appear\n"
            "                     as the program flushes them (a missing file is waited for)\n"
            "  --snapshot         print one screen as plain text and exit (no terminal used)\n"
            "  --step N           select step N at start (and the layer where it went\n"
            "                     non-finite, if it did)\n"
            "  --layer NAME       select the layer NAME (as recorded, e.g. fwd/blk1/mlp/up)\n"
            "  --view NAME        start in view NAME: %s\n"
            "  --size COLSxROWS   snapshot size (default 100x30)\n"
            "  --color WHEN       auto (default), always or never; --no-color = never\n"
            "  --ascii            draw with ASCII only (default: Unicode in a UTF-8 locale)\n"
            "  -h, --help         this text\n\n"
            "environment: NO_COLOR (set and not empty: monochrome), TERM, LANG/LC_ALL.\n"
            "Keys: press ? in the TUI; docs/tui.md describes every view and key.\n",
            MPT_TUI_VIEW_LIST);
}

static int parse_size(const char *s, int *cols, int *rows)
{
    char *end;
    long c = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X')) return -1;
    const char *r0 = end + 1;
    long r = strtol(r0, &end, 10);
    if (end == r0 || *end || c < 1 || r < 1 || c > 1000 || r > 1000) return -1;
    *cols = (int)c;
    *rows = (int)r;
    return 0;
}

int mpt_cmd_tui(int argc, char **argv)
{
    enum { O_FOLLOW = 256, O_SNAPSHOT, O_STEP, O_LAYER, O_VIEW, O_SIZE, O_COLOR, O_NO_COLOR,
           O_ASCII };
    static const struct option longopts[] = {
        {"follow", no_argument, NULL, O_FOLLOW},     {"snapshot", no_argument, NULL, O_SNAPSHOT},
        {"step", required_argument, NULL, O_STEP},   {"view", required_argument, NULL, O_VIEW},
        {"layer", required_argument, NULL, O_LAYER},
        {"size", required_argument, NULL, O_SIZE},   {"color", required_argument, NULL, O_COLOR},
        {"no-color", no_argument, NULL, O_NO_COLOR}, {"ascii", no_argument, NULL, O_ASCII},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    mpt_tui_opts o;
    mpt_tui_opts_init(&o);
    int snapshot = 0, cols = 100, rows = 30, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case O_FOLLOW: o.follow = 1; break;
        case O_SNAPSHOT: snapshot = 1; break;
        case O_STEP: {
            char *end;
            o.step = strtoll(optarg, &end, 10);
            if (end == optarg || *end) {
                fprintf(stderr, "mptrace tui: --step wants a step number, not '%s'\n", optarg);
                return 2;
            }
            o.have_step = 1;
            break;
        }
        case O_LAYER: o.layer = optarg; break;
        case O_VIEW:
            if (mpt_tui_view_parse(optarg) < 0) {
                fprintf(stderr, "mptrace tui: unknown view '%s' (views: %s)\n", optarg,
                        MPT_TUI_VIEW_LIST);
                return 2;
            }
            o.view = optarg;
            break;
        case O_SIZE:
            if (parse_size(optarg, &cols, &rows) != 0) {
                fprintf(stderr, "mptrace tui: --size wants COLSxROWS (e.g. 120x40), not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case O_COLOR:
            if (!strcmp(optarg, "auto")) o.color = -1;
            else if (!strcmp(optarg, "always")) o.color = 1;
            else if (!strcmp(optarg, "never")) o.color = 0;
            else {
                fprintf(stderr, "mptrace tui: --color wants auto, always or never\n");
                return 2;
            }
            break;
        case O_NO_COLOR: o.color = 0; break;
        case O_ASCII: o.ascii = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "mptrace tui: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mptrace tui: no trace given\n");
        usage(stderr);
        return 2;
    }
    o.traces = argv + optind;
    o.ntraces = argc - optind;
    char err[1024];
    if (snapshot) {
        if (mpt_tui_snapshot(&o, cols, rows, stdout, err, sizeof err) != 0) {
            fprintf(stderr, "mptrace tui: %s\n", err);
            return 1;
        }
        return 0;
    }
    for (int i = 0; i < o.ntraces && !o.follow; i++) /* a missing file first: it is the news */
        if (access(o.traces[i], R_OK) != 0) {
            fprintf(stderr, "mptrace tui: %s: %s\n", o.traces[i], strerror(errno));
            return 1;
        }
    if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
        fprintf(stderr,
                "mptrace tui: %s is not a terminal, so there is nothing to draw on.\n"
                "  for text, use:        mptrace report %s\n"
                "  for one screen, use:  mptrace tui --snapshot %s\n",
                isatty(STDOUT_FILENO) ? "stdin" : "stdout", o.traces[0], o.traces[0]);
        return 2;
    }
    int rc = mpt_tui_run(&o, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "mptrace tui: %s\n", err);
        return 1;
    }
    return rc; /* 0, or 128 + the signal that ended it */
}
