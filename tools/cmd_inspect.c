/* avtruth inspect and avtruth verify: read an output file back. */
#include <stdio.h>

#include "avtruth/export.h"
#include "commands.h"

static int inspect(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    const cli_opt opts[] = {{0}};
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_inspect, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 1) return cli_usage_error(&avt_cmd_inspect, "expected one file");
    avt_error err = {0, ""};
    if (avt_export_inspect(pos[0], stdout, &err)) return cli_fail(&err);
    return 0;
}

static int verify(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    const cli_opt opts[] = {{0}};
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_verify, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 1 && npos != 2) return cli_usage_error(&avt_cmd_verify, "expected FILE [LOG]");
    avt_error err = {0, ""};
    if (avt_export_verify(pos[0], npos == 2 ? pos[1] : NULL, stdout, &err)) return cli_fail(&err);
    return 0;
}

const cli_cmd avt_cmd_inspect = {"inspect", "FILE", "Print a human summary of an output file.",
                                 "  avtruth inspect /tmp/log.h5\n", inspect};

const cli_cmd avt_cmd_verify = {
    "verify", "FILE [LOG]",
    "Read every chunk of an output file back through HDF5's filters, re-check every offset array, "
    "cross-reference and time, and re-hash its inputs (under LOG, or the recorded log directory); names the "
    "first inconsistency.",
    "  avtruth verify /tmp/log.h5 /tmp/log\n", verify};
