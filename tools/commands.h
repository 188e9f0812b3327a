/* avtruth command line: every command's table entry (one tools/cmd_<name>.c each). */
#ifndef AVT_TOOLS_COMMANDS_H
#define AVT_TOOLS_COMMANDS_H

#include "cli.h"

extern const cli_cmd avt_cmd_synth;
extern const cli_cmd avt_cmd_build;
extern const cli_cmd avt_cmd_demo;
extern const cli_cmd avt_cmd_inspect;
extern const cli_cmd avt_cmd_verify;
extern const cli_cmd avt_cmd_batch;
extern const cli_cmd avt_cmd_stitch;
extern const cli_cmd avt_cmd_import;

#endif
