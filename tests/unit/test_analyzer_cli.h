/*
 * Running the built `mptrace` from the analyzer's tests (test_analyzer_cli.c defines these).
 */
#ifndef MPT_TESTS_ANALYZER_CLI_H
#define MPT_TESTS_ANALYZER_CLI_H

/* $BUILD/bin/mptrace when it exists and is executable, else NULL ($BUILD: MPT_TEST_BUILD, or
 * the directory above this runner's). */
const char *an_mptrace_path(void);
/* Runs argv (argv[0] a path) with env_add's NAME=VALUE entries added; captures stdout and
 * stderr into malloc'ed strings (either may be NULL: discarded). Returns the exit status, or
 * 128 + signal. */
int an_run(char *const argv[], const char *const env_add[], char **out, char **err);

#endif
