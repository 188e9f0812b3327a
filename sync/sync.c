/* avtruth sync: policy names, trigger-time estimation from a sweep, delta statistics as a
 * fixed-size histogram and its PNG bar chart (libpng). */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/sync.h"

static const char *const policy_names[] = {"trigger", "nearest", "approximate"};
static const char *const clock_correct_names[] = {"auto", "on", "off"};

int avt_sync_policy_parse(const char *name, enum avt_sync_policy *out)
{
    int i = avt_name_lookup(policy_names, 3, name);
    if (i < 0) return AVT_INVAL;
    *out = (enum avt_sync_policy)i;
    return AVT_OK;
}

const char *avt_sync_policy_name(enum avt_sync_policy p)
{
    return (unsigned)p < 3 ? policy_names[p] : "unknown";
}

int avt_clock_correct_parse(const char *name, enum avt_clock_correct *out)
{
    int i = avt_name_lookup(clock_correct_names, 3, name);
    if (i < 0) return AVT_INVAL;
    *out = (enum avt_clock_correct)i;
    return AVT_OK;
}

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

void avt_sync_rotation_fit(const avt_sweep *s, double cut_deg, avt_sync_rotation *r)
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
    *r = (avt_sync_rotation){cut_deg, 0, 0, t0, s->timestamp_ns, 0};
    if (m < 16 || !(fabs(den) > 0)) return;
    r->b = ((double)m * sta - st * sa) / den;
    r->a = (sa - r->b * st) / (double)m;
    r->ok = r->b > 0;
}

int64_t avt_sync_rotation_time(const avt_sync_rotation *r, double az_deg)
{
    if (!r->ok) return r->fallback_ns;
    double target = wrap360(az_deg - r->cut_deg);
    return r->t0 + (int64_t)llround((target - r->a) / r->b * 1e9);
}

int avt_sync_stats_init(avt_sync_stats *s, int64_t range_ns)
{
    memset(s, 0, sizeof *s);
    s->range_ns = range_ns > 0 ? range_ns : 1;
    s->bins = calloc(AVT_SYNC_HIST_BINS, sizeof *s->bins);
    return s->bins ? AVT_OK : AVT_NOMEM;
}

static size_t stats_bin(const avt_sync_stats *s, int64_t d)
{
    double f = ((double)d + (double)s->range_ns) / (2.0 * (double)s->range_ns);
    if (!(f > 0)) return 0;
    if (f >= 1) return AVT_SYNC_HIST_BINS - 1;
    return (size_t)(f * AVT_SYNC_HIST_BINS);
}

static int64_t bin_centre(const avt_sync_stats *s, size_t b)
{
    double w = 2.0 * (double)s->range_ns / AVT_SYNC_HIST_BINS;
    return (int64_t)llround(-(double)s->range_ns + ((double)b + 0.5) * w);
}

void avt_sync_stats_add(avt_sync_stats *s, int64_t d)
{
    if (!s->bins) return;
    if (s->n == 0 || d < s->min_ns) s->min_ns = d;
    if (s->n == 0 || d > s->max_ns) s->max_ns = d;
    s->n++;
    uint32_t *b = &s->bins[stats_bin(s, d)];
    if (*b < UINT32_MAX) (*b)++;
}

static int64_t stats_quantile(const avt_sync_stats *s, uint64_t rank)
{
    uint64_t acc = 0;
    for (size_t b = 0; b < AVT_SYNC_HIST_BINS; b++) {
        acc += s->bins[b];
        if (acc > rank) {
            int64_t v = bin_centre(s, b);
            return v < s->min_ns ? s->min_ns : v > s->max_ns ? s->max_ns : v;
        }
    }
    return s->max_ns;
}

void avt_sync_stats_summary(const avt_sync_stats *s, int64_t *mn, int64_t *med, int64_t *p95, int64_t *mx)
{
    *mn = *med = *p95 = *mx = 0;
    if (!s->n || !s->bins) return;
    *mn = s->min_ns;
    *mx = s->max_ns;
    *med = stats_quantile(s, (s->n - 1) / 2);
    *p95 = stats_quantile(s, (uint64_t)ceil(0.95 * (double)s->n) - 1);
}

void avt_sync_stats_free(avt_sync_stats *s)
{
    if (!s) return;
    free(s->bins);
    memset(s, 0, sizeof *s);
}

/* Bar chart: white background, grey bars (columns aggregate histogram bins over the range
 * that holds data, widened to include 0), a red tick at 0 and black ticks every tenth. */
int avt_sync_stats_write_png(const avt_sync_stats *s, const char *path, unsigned W, unsigned H, avt_error *err)
{
    uint8_t *img = NULL;
    uint64_t *col = NULL;
    int rc = AVT_OK;
    if (W < 64 || H < 48 || W > 8192 || H > 8192)
        return avt_err(err, AVT_INVAL, "%s: histogram size %ux%u outside [64x48, 8192x8192]", path, W, H);
    img = malloc((size_t)W * H * 3);
    col = calloc(W, sizeof *col);
    if (!img || !col) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        goto out;
    }
    memset(img, 255, (size_t)W * H * 3);
    const unsigned plot_h = H - 8; /* bottom 8 rows: axis and ticks */
    /* the shown interval: the data's range, symmetric about 0, at least 1 ms */
    int64_t lo_abs = s->n ? (s->min_ns < 0 ? -s->min_ns : s->min_ns) : 0;
    int64_t hi_abs = s->n ? (s->max_ns < 0 ? -s->max_ns : s->max_ns) : 0;
    double half = (double)(lo_abs > hi_abs ? lo_abs : hi_abs) * 1.05;
    if (half < 1e6) half = 1e6;
    if (half > (double)s->range_ns) half = (double)s->range_ns;
    if (s->bins)
        for (size_t b = 0; b < AVT_SYNC_HIST_BINS; b++) {
            if (!s->bins[b]) continue;
            double x = ((double)bin_centre(s, b) + half) / (2 * half) * W;
            if (x < 0 || x >= W) continue;
            col[(unsigned)x] += s->bins[b];
        }
    uint64_t peak = 1;
    for (unsigned x = 0; x < W; x++)
        if (col[x] > peak) peak = col[x];
    for (unsigned x = 0; x < W; x++) {
        unsigned h = (unsigned)((double)col[x] / (double)peak * (plot_h - 2) + (col[x] ? 0.999 : 0));
        for (unsigned y = plot_h - h; y < plot_h; y++) memset(img + ((size_t)y * W + x) * 3, 80, 3);
    }
    for (unsigned x = 0; x < W; x++) memset(img + ((size_t)plot_h * W + x) * 3, 0, 3);
    for (int k = -10; k <= 10; k++) {
        unsigned x = (unsigned)((double)(k + 10) / 20.0 * (W - 1));
        unsigned len = k == 0 ? 8 : (k % 5 == 0 ? 6 : 3);
        for (unsigned y = plot_h; y < plot_h + len && y < H; y++) {
            uint8_t *p = img + ((size_t)y * W + x) * 3;
            p[0] = k == 0 ? 220 : 0, p[1] = 0, p[2] = 0;
        }
    }
    /* 8-bit RGB through libpng's simplified API, as the preview images */
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = W;
    pi.height = H;
    pi.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&pi, path, 0, img, 0, NULL))
        rc = avt_err(err, AVT_IO, "%s: cannot write PNG: %s", path, pi.message);
out:
    free(col);
    free(img);
    return rc;
}
