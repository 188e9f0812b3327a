/* avtruth: the command-line front end. One file per command (tools/cmd_<name>.c), listed in
 * COMMANDS; each parses its options through tools/cli.h. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "avtruth/export.h"

#include "commands.h"

#include "avt_git_sha.h" /* AVT_GIT_SHA, written at build time (cmake/git_sha.cmake) */

static const cli_cmd *const COMMANDS[] = {
    &avt_cmd_synth, &avt_cmd_build, &avt_cmd_demo, &avt_cmd_inspect, &avt_cmd_verify,
    &avt_cmd_batch, &avt_cmd_stitch, &avt_cmd_import, &avt_cmd_calib_check, &avt_cmd_calib,
    &avt_cmd_validate, &avt_cmd_export, &avt_cmd_agree, &avt_cmd_consensus, &avt_cmd_eval,
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f)
{
    fputs("usage: avtruth COMMAND [options]      avtruth COMMAND --help: the command's options\n"
          "       avtruth --version\n\ncommands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        /* the summary's first sentence */
        const char *s = COMMANDS[i]->summary, *dot = strstr(s, ". ");
        int len = dot ? (int)(dot - s) : (int)strlen(s);
        if (len > 0 && s[len - 1] == '.') len--;
        fprintf(f, "  %-10s %.*s\n", COMMANDS[i]->name, len, s);
    }
}

/* Between parallel regions libgomp's idle threads spin by default, burning a core each while
 * the main thread writes HDF5 or reads images; on a shared machine that spinning took 80 % of
 * a build's CPU time (docs/benchmarks.md). libgomp reads OMP_WAIT_POLICY once, when it loads:
 * the avtruth command (tools/launch/launcher.c) sets it before starting this program; run
 * directly without it, this program sets it to passive (idle threads sleep) and starts itself
 * again. A policy the user set is kept, and if the restart fails the command runs as it is. */
static void openmp_passive(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    openmp_passive(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2)
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[2], COMMANDS[i]->name) == 0) {
                    char *hv[] = {argv[2], "--help", NULL};
                    return COMMANDS[i]->run(2, hv, "");
                }
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("avtruth %s (git %s)\n", AVT_VERSION, AVT_GIT_SHA);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(cmd, COMMANDS[i]->name) == 0) {
            char *cmdline = cli_join_args(argc, argv);
            if (!cmdline) {
                fputs("avtruth: out of memory\n", stderr);
                return 1;
            }
            /* a file-size limit (ulimit -f) reached while writing fails the write (EFBIG),
             * reported and cleaned up like a full disk, instead of a SIGXFSZ that kills the
             * process and leaves the .partial file behind */
            signal(SIGXFSZ, SIG_IGN);
            int rc = COMMANDS[i]->run(argc - 1, argv + 1, cmdline);
            free(cmdline);
            if (avt_export_unclosed()) { /* a disk filled: see avt_export_unclosed */
                fflush(NULL);
                _exit(rc);
            }
            return rc;
        }
    fprintf(stderr, "avtruth: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
