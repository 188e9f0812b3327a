/* avtruth sync: trigger-time estimation from a sweep, nearest-image pairing, statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/sync.h"

double avt_sync_camera_azimuth_deg(const avt_camera *cam)
{
    /* optical axis = camera +z = third column of the rotation of lidar_T_cam */
    double x = cam->lidar_T_cam.m[2], y = cam->lidar_T_cam.m[6];
    double az = atan2(-y, x) * 180 / M_PI;
    return az < 0 ? az + 360 : az;
}

static double wrap360(double a)
{
    a = fmod(a, 360);
    return a < 0 ? a + 360 : a;
}

int64_t avt_sync_trigger_time(const avt_sweep *s, double cut_deg, double az_deg)
{
    /* Fit az_rel(t) = a + b (t - t0) over a subsample of points; az_rel in [0,360) from cut. */
    const size_t step = s->n > 4096 ? s->n / 4096 : 1;
    double st = 0, sa = 0, stt = 0, sta = 0;
    size_t m = 0;
    const int64_t t0 = s->start_ns;
    for (size_t i = 0; i < s->n; i += step) {
        double x = s->xyz[3 * i], y = s->xyz[3 * i + 1];
        if (x * x + y * y < 1.0) continue; /* azimuths of points near the axis are noisy */
        double a = wrap360(atan2(-y, x) * 180 / M_PI - cut_deg);
        double t = (double)(s->t_ns[i] - t0) * 1e-9;
        st += t;
        sa += a;
        stt += t * t;
        sta += t * a;
        m++;
    }
    double den = (double)m * stt - st * st;
    if (m < 16 || !(fabs(den) > 0)) return s->timestamp_ns;
    double b = ((double)m * sta - st * sa) / den, a = (sa - b * st) / (double)m;
    if (!(b > 0)) return s->timestamp_ns;
    double target = wrap360(az_deg - cut_deg);
    return t0 + (int64_t)llround((target - a) / b * 1e9);
}

long avt_sync_nearest(const avt_camera_stream *cs, int64_t t, int64_t tol)
{
    size_t lo = 0, hi = cs->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cs->images[mid].t_ns < t) lo = mid + 1;
        else hi = mid;
    }
    long best = -1;
    int64_t bd = INT64_MAX;
    for (size_t k = lo > 0 ? lo - 1 : 0; k <= lo && k < cs->n; k++) {
        int64_t d = cs->images[k].t_ns > t ? cs->images[k].t_ns - t : t - cs->images[k].t_ns;
        if (d < bd) {
            bd = d;
            best = (long)k;
        }
    }
    return bd <= tol ? best : -1;
}

int avt_sync_stats_add(avt_sync_stats *s, long image, int64_t delta)
{
    if (avt_grow((void **)&s->deltas, &s->cap, s->n + 1, sizeof *s->deltas)) return AVT_NOMEM;
    s->deltas[s->n++] = delta;
    s->paired++;
    if (image == s->last_image && image >= 0) s->reused++;
    s->last_image = image;
    return AVT_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void avt_sync_stats_summary(const avt_sync_stats *s, int64_t *mn, int64_t *med, int64_t *p95, int64_t *mx)
{
    *mn = *med = *p95 = *mx = 0;
    if (!s->n) return;
    int64_t *tmp = malloc(s->n * sizeof *tmp);
    if (!tmp) return;
    memcpy(tmp, s->deltas, s->n * sizeof *tmp);
    qsort(tmp, s->n, sizeof *tmp, cmp_i64);
    *mn = tmp[0];
    *mx = tmp[s->n - 1];
    *med = tmp[(s->n - 1) / 2];
    *p95 = tmp[(size_t)ceil(0.95 * (double)s->n) - 1];
    free(tmp);
}

void avt_sync_stats_free(avt_sync_stats *s)
{
    if (!s) return;
    free(s->deltas);
    memset(s, 0, sizeof *s);
    s->last_image = -1;
}
