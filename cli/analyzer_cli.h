/*
 * What `mptrace report`, `diff` and `export` share: option parsing helpers, the colour
 * decision, and loading traces into a model with the messages a person needs (which file,
 * which byte offset, what was kept).
 */
#ifndef MPT_CLI_ANALYZER_CLI_H
#define MPT_CLI_ANALYZER_CLI_H

#include "analyzer/model.h"

/* The commands (cli/main.c finds them by name through commands.inc). */
int mpt_cmd_report(int argc, char **argv);
int mpt_cmd_diff(int argc, char **argv);
int mpt_cmd_export(int argc, char **argv);
extern const char mpt_cmd_report_summary[];
extern const char mpt_cmd_diff_summary[];
extern const char mpt_cmd_export_summary[];

/* Parse a whole string as a number in [lo, hi]: 0, or -1 (garbage, out of range). */
int mpt_cli_parse_int(const char *s, int lo, int hi, int *out);
int mpt_cli_parse_double(const char *s, double lo, double hi, double *out);

/* Prints "mptrace CMD: MSG: 'ARG'" and a pointer to --help on stderr; returns 2. */
int mpt_cli_usage_error(const char *cmd, const char *msg, const char *arg);

/* --color WHEN: "auto" (a terminal on stdout, NO_COLOR unset or empty, TERM not "dumb"),
 * "always", "never". `to_stdout`: the output goes to standard output. 0, or -1 for a bad WHEN. */
int mpt_cli_color(const char *when, int to_stdout, int *use);

/*
 * Loads traces into m (mpt_model_load), printing on stderr, prefixed "mptrace CMD: ", one line
 * per file that could not be opened and a warning per damaged one. Returns 0 when every file
 * was read to a clean end or truncated (truncation is how a killed program's trace ends),
 * 1 when a file could not be opened or is corrupt.
 */
int mpt_cli_load(mpt_model *m, char *const *paths, int n, const char *cmd);

/* The warning (truncated) or error (corrupt, failed) for one source, on stderr; returns 1 for
 * an error, 0 otherwise (nothing printed for a clean source). */
int mpt_cli_source_message(const mpt_source *s, const char *cmd);
/* Prints each line of `text` as "mptrace CMD: LEVEL: line". */
void mpt_cli_print_lines(const char *cmd, const char *level, const char *text);

#endif
