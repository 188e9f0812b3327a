/* avtruth command line: --calib FILE (repeatable), --calib-format. */
#include <stdio.h>
#include <sys/stat.h>

#include "calib_args.h"

const char *const CALIB_FORMATS[] = {"auto", "avtruth", "kitti-object", "kitti-raw", "ros", "opencv", "kalibr", NULL};

int calib_args_add(const char *v, void *dest, char *accepted, size_t n)
{
    calib_args *a = dest;
    snprintf(accepted, n, "an existing calibration file or KITTI raw directory (at most %d --calib)", CALIB_ARGS_MAX);
    struct stat sb;
    if (!v || a->n == CALIB_ARGS_MAX || stat(v, &sb) != 0) return 1;
    a->paths[a->n++] = v;
    return 0;
}
