/* avtruth command line: the --calib FILE (repeatable) and --calib-format options shared by the
 * commands that read a calibration (build, calib-check, calib convert). */
#ifndef AVT_TOOLS_CALIB_ARGS_H
#define AVT_TOOLS_CALIB_ARGS_H

#include <stddef.h>

#define CALIB_ARGS_MAX 16
typedef struct calib_args {
    const char *paths[CALIB_ARGS_MAX];
    size_t n;
    int format; /* index into CALIB_FORMATS */
} calib_args;

/* "auto", then the formats of avt_rig_load; NULL-terminated. */
extern const char *const CALIB_FORMATS[];

/* CLI_CALL for --calib: appends v to the calib_args at dest. */
int calib_args_add(const char *v, void *dest, char *accepted, size_t n);

#endif
