/* avtruth sync: pairing LiDAR sweeps with camera images.
 *
 * Policy `trigger` (the default when the calibration is known): a camera's reference time in a
 * sweep is the instant the LiDAR head's azimuth crosses the camera's optical axis, found from
 * the sweep's per-point times and azimuths; the image nearest to it within a tolerance is
 * paired. Policy `nearest`: the sweep's timestamp_ns is the reference instead. */
#ifndef AVTRUTH_SYNC_H
#define AVTRUTH_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/calib.h"
#include "avtruth/ingest.h"

enum avt_sync_policy { AVT_SYNC_TRIGGER = 0, AVT_SYNC_NEAREST = 1 };

/* Azimuth of the camera's optical axis in the LiDAR frame, degrees in [0, 360), clockwise from
 * +x seen from above (the Velodyne packet convention). */
double avt_sync_camera_azimuth_deg(const avt_camera *cam);

/* Time at which the head points at azimuth az_deg during the sweep: a least-squares line of
 * unwrapped point azimuth against point time (azimuths counted from cut_deg), solved for
 * az_deg. Falls back to timestamp_ns for sweeps with too few points. */
int64_t avt_sync_trigger_time(const avt_sweep *s, double cut_deg, double az_deg);

/* Index of the image nearest to t within tol_ns in a time-sorted stream, or -1. */
long avt_sync_nearest(const avt_camera_stream *cs, int64_t t_ns, int64_t tol_ns);

/* Running statistics of one camera's pairing (sync report). */
typedef struct avt_sync_stats {
    uint64_t paired, unpaired_frames, reused;
    int64_t *deltas;    /* image time - reference time of every pairing */
    size_t n, cap;
    long last_image;    /* index of the last paired image, -1 at start */
} avt_sync_stats;

int avt_sync_stats_add(avt_sync_stats *s, long image, int64_t delta_ns);
/* min/median/p95/max of the deltas (all 0 when none). */
void avt_sync_stats_summary(const avt_sync_stats *s, int64_t *min, int64_t *median, int64_t *p95, int64_t *max);
void avt_sync_stats_free(avt_sync_stats *s);

#endif
