/* avtruth export tests: a small synthetic log whose every value follows a formula that
 * check_fixture.py recomputes independently (keep the two in step). */
#ifndef AVT_TEST_EXPORT_FIXTURE_H
#define AVT_TEST_EXPORT_FIXTURE_H

#include "avtruth/export.h"

#define FIX_FRAMES 5
#define FIX_CAMERAS 2
#define FIX_T0_NS 1700000000000000000LL

/* The rig of the fixture (two cameras: "front" pinhole, "left" fisheye). */
void fixture_rig(avt_rig *rig, avt_camera cams[FIX_CAMERAS]);
/* Writes input files small.txt and big.bin into input_dir and the full fixture log to path
 * with compression ("gzip" or "none"); adds the inputs when input_dir is not NULL. */
int fixture_write(const char *path, const char *input_dir, const char *compression,
                  avt_error *err);
/* Writes n_frames frames of the fixture into an open writer (n_frames <= FIX_FRAMES). */
int fixture_frames(avt_export_writer *w, int n_frames, avt_error *err);
/* The provenance and sync metadata of the fixture. */
avt_export_meta fixture_meta(void);

#endif
