/* avtruth command line: one declarative table of options per command, from which the parser,
 * the `--help` text and the error messages are all made, so they cannot drift apart.
 *
 * Conventions every command follows (README "Commands"):
 * - `avtruth COMMAND --help` prints the usage, every option with its default and accepted
 *   values, and an example; exit 0.
 * - A bad option value, an unknown option or a missing argument exits 2 with one line naming
 *   the option, the value and what is accepted. Errors of the work itself exit 1. */
#ifndef AVT_TOOLS_CLI_H
#define AVT_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_kind {
    CLI_FLAG,   /* no value; dest int*, set to 1 */
    CLI_STR,    /* any string; dest const char ** */
    CLI_INT,    /* integer in [min, max]; dest int64_t * */
    CLI_REAL,   /* finite number in [min, max]; dest double * */
    CLI_CHOICE, /* one of choices; dest int *, set to its index */
    CLI_CALL,   /* checked and stored by call(); dest passed through */
} cli_kind;

typedef struct cli_opt {
    const char *name;  /* long name without "--" */
    char short_name;   /* e.g. 'o' for -o; 0 for none */
    cli_kind kind;
    const char *metavar; /* value placeholder in --help ("MS", "FILE"); choices are listed for CLI_CHOICE */
    const char *help;    /* one line */
    const char *def;     /* default as shown in --help; NULL: none (or "required") */
    double min, max;     /* CLI_INT / CLI_REAL: accepted range, inclusive */
    const char *const *choices; /* CLI_CHOICE: NULL-terminated */
    /* CLI_CALL: stores v into dest; returns 0, or 1 with `accepted` set to what is accepted
     * (e.g. "gzip[=1..9], none or blosc-zstd") */
    int (*call)(const char *v, void *dest, char *accepted, size_t n);
    void *dest;
} cli_opt;

typedef struct cli_cmd {
    const char *name;
    const char *args;    /* positional synopsis, e.g. "LOG -o OUT.h5" */
    const char *summary; /* one line, for `avtruth help` */
    const char *example; /* one or more lines, each a full command */
    /* runs the command; argv[0] is the command's name. Returns the exit status. */
    int (*run)(int argc, char **argv, const char *cmdline);
} cli_cmd;

enum { CLI_OK = 0, CLI_EXIT_HELP = -1 };

/* Parses argv against opts (terminated by an entry with name NULL). Positional arguments are
 * returned in *pos (argv reordered), their count in *npos. Returns CLI_OK; CLI_EXIT_HELP after
 * printing --help to stdout (the command exits 0); or 2 after printing the error (exit 2). */
int cli_parse(const cli_cmd *cmd, const cli_opt *opts, int argc, char **argv, char ***pos, int *npos);

/* The command's --help text. */
void cli_help(const cli_cmd *cmd, const cli_opt *opts, FILE *f);

/* A usage error of cmd: prints "avtruth CMD: <msg>" and a hint to --help; returns 2. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit status for an avt_error: prints "avtruth: error: <msg>"; returns 1. */
struct avt_error;
int cli_fail(const struct avt_error *err);

/* Joins argv into one string for /provenance (caller frees); NULL when out of memory. */
char *cli_join_args(int argc, char **argv);

#endif
