/*
 * The `mptrace` command: one dispatcher, one file per subcommand (cli/cmd_NAME.c defines
 * `int mpt_cmd_NAME(int argc, char **argv)` and a one-line `mpt_cmd_NAME_summary`; the
 * Makefile lists them in commands.inc). `mptrace NAME ARGS...` runs subcommand NAME with
 * argv[0] = NAME; anything else (`mptrace [options] PROGRAM ...`) is `mptrace run`.
 * Exit status: the subcommand's (2 for usage errors, by convention).
 */
#include <stdio.h>
#include <string.h>

#define MPT_COMMAND(name)                                                                          \
    int mpt_cmd_##name(int argc, char **argv);                                                     \
    extern const char mpt_cmd_##name##_summary[];
#include "commands.inc"
#undef MPT_COMMAND

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
#define MPT_COMMAND(name) {#name, mpt_cmd_##name, mpt_cmd_##name##_summary},
#include "commands.inc"
#undef MPT_COMMAND
    {NULL, NULL, NULL},
};

static const command *find_command(const char *name)
{
    for (const command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: mptrace [options] [--] PROGRAM [ARGS...]   (same as: mptrace run ...)\n"
                 "       mptrace COMMAND [ARGS...]\n\n"
                 "Finds where mixed-precision training goes numerically wrong: which layer, at\n"
                 "which step, and why.\n\ncommands:\n");
    for (const command *c = commands; c->name; c++)
        fprintf(out, "  %-8s %s\n", c->name, c->summary);
    fprintf(out, "\n'mptrace COMMAND --help' describes each command; 'mptrace run --help' lists\n"
                 "the options and environment variables for running a program.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    const command *c = find_command(argv[1]);
    if (c) return c->fn(argc - 1, argv + 1);
    c = find_command("run");
    if (c) return c->fn(argc, argv);
    fprintf(stderr, "mptrace: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
