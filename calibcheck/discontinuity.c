/* avtruth calibcheck: the LiDAR side of Levinson & Thrun (RSS 2013), section III-A: depth
 * discontinuities between neighbouring returns, along each ring and, for the angles the
 * horizontal neighbours cannot see (pitch), between adjacent rings at the same azimuth
 * (include/avtruth/calibcheck.h gives the rules). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/calibcheck.h"

#define DEG (M_PI / 180.0)
#define BINS 3600                  /* azimuth bins of 0.1 degree, for the vertical neighbours */
#define VERTICAL_MAX_DAZ_DEG 0.3   /* a return of the adjacent ring this close in azimuth */
/* A ring's beam is fitted from at least this many returns whose horizontal distances spread by
 * this much (standard deviation), to an origin this near the LiDAR's */
#define RING_FIT_MIN_RETURNS 20
#define RING_FIT_MIN_SPREAD_M 1.0
#define RING_FIT_MAX_ORIGIN_M 1.0

typedef struct ring_info {
    size_t lo, hi;                 /* returns order[lo..hi) */
    /* the beam's cone fitted to the returns: z = origin_z + h tan(elevation), h the horizontal
     * distance (a laser offset vertically from the LiDAR's origin, as the HDL-64E's by about
     * 0.2 m, sees a near return higher than its elevation from the origin) */
    double elevation, origin_z;
    double apparent; /* mean elevation of the returns seen from the LiDAR's origin */
    int fitted;
    size_t returns;  /* with range > 0 */
    int32_t *bin;                  /* BINS entries: a return in that azimuth bin, or -1 */
    size_t gap_lo, gap_hi;         /* its azimuth intervals without data: gaps[gap_lo..gap_hi) */
} ring_info;

typedef struct disc_ctx {
    const float *xyz;
    const double *range, *az;
    uint32_t *idx;
    float *weight, *edge_xyz;
    uint8_t *kind;
    size_t k;
} disc_ctx;

static double az_diff(double a, double b)
{
    double d = fabs(a - b);
    return d > 180.0 ? 360.0 - d : d;
}

/* Unit direction of return i. */
static void dir_of(const disc_ctx *c, uint32_t i, double d[3])
{
    for (int k = 0; k < 3; k++) d[k] = c->xyz[3 * (size_t)i + k] / c->range[i];
}

/* Edge entry c->k between return i of ring gi and the beam of ring gf at i's azimuth:
 * half-way in angle between the two beams, seen from their origins (the rings' fitted
 * origin_z), at i's distance from its origin. far: a return of gf (its direction), or -1 (the
 * beam at i's azimuth: the sky). */
static void edge_between_beams(disc_ctx *c, uint32_t i, const ring_info *gi, long far, const ring_info *gf)
{
    const float *p = c->xyz + 3 * (size_t)i;
    double di[3] = {p[0], p[1], p[2] - gi->origin_z}, df[3];
    double ri = sqrt(di[0] * di[0] + di[1] * di[1] + di[2] * di[2]), h = hypot(p[0], p[1]);
    if (far >= 0) {
        const float *q = c->xyz + 3 * (size_t)far;
        df[0] = q[0], df[1] = q[1], df[2] = q[2] - gf->origin_z;
    } else {
        df[0] = cos(gf->elevation) * p[0] / h, df[1] = cos(gf->elevation) * p[1] / h, df[2] = sin(gf->elevation);
    }
    double rf = sqrt(df[0] * df[0] + df[1] * df[1] + df[2] * df[2]), m[3], nm = 0;
    for (int k = 0; k < 3; k++) {
        m[k] = di[k] / ri + df[k] / rf;
        nm += m[k] * m[k];
    }
    nm = ri / sqrt(nm);
    const double oz = 0.5 * (gi->origin_z + gf->origin_z);
    c->edge_xyz[3 * c->k] = (float)(m[0] * nm);
    c->edge_xyz[3 * c->k + 1] = (float)(m[1] * nm);
    c->edge_xyz[3 * c->k + 2] = (float)(oz + m[2] * nm);
}

/* The elevation of return i seen from the LiDAR's origin. */
static double elevation_of(const disc_ctx *c, uint32_t i)
{
    const float *p = c->xyz + 3 * (size_t)i;
    return atan2(p[2], hypot(p[0], p[1]));
}

/* The angle between the beams of returns i and j (directions from the LiDAR's origin). */
static double beam_angle(const disc_ctx *c, uint32_t i, uint32_t j)
{
    double a[3], b[3];
    dir_of(c, i, a);
    dir_of(c, j, b);
    return acos(fmin(1.0, a[0] * b[0] + a[1] * b[1] + a[2] * b[2]));
}

/* The triple (a, i, b) of neighbours along one direction: keeps i when the range's second
 * difference says that one side jumps away (a surface at a grazing angle changes range
 * steadily and does not count; the relative part keeps the ground's curvature in elevation
 * out) and the inverse range says so too: on a plane 1/r is a sinusoid of the beam's angle,
 * nearly linear over three beams at any incidence (rings 0.3-0.5 deg apart see the ground's
 * range beyond 40 m jump), so 1/r_i is compared with its interpolation in angle from a and b.
 * Along a ring (ga, gb NULL) the edge point lies half-way in angle to the farther neighbour,
 * on the near surface: its range extrapolated linearly in angle from the near neighbour
 * through i (by at most AVT_CC_MAX_EXTEND of the jump), when the near neighbour lies on i's
 * surface (its range within the jump limits of i's). Across rings (a, b of rings ga, gb) it
 * lies half-way between i and the farther one's beam (edge_between_beams). */
static void consider(disc_ctx *c, uint32_t a, uint32_t i, uint32_t b, const ring_info *ga, const ring_info *gi,
                     const ring_info *gb)
{
    const double *r = c->range;
    double x = r[a] + r[b] - 2.0 * r[i];
    if (x < AVT_CC_MIN_JUMP_M || x < AVT_CC_MIN_JUMP_REL * r[i]) return;
    /* the steps between the beams: across rings in elevation only (a vertical neighbour may lie
     * 0.3 deg off in azimuth, more than the rings' spacing) */
    const double ta = ga ? fabs(elevation_of(c, i) - elevation_of(c, a)) : beam_angle(c, a, i);
    const double tb = ga ? fabs(elevation_of(c, b) - elevation_of(c, i)) : beam_angle(c, i, b);
    if (!(ta + tb > 0)) return;
    if (2.0 * (1.0 - r[i] * (tb / r[a] + ta / r[b]) / (ta + tb)) < AVT_CC_MIN_INV_JUMP) return; /* a plane */
    uint32_t far = r[a] > r[b] ? a : b, near = far == a ? b : a;
    c->idx[c->k] = i;
    c->weight[c->k] = (float)sqrt(x > AVT_CC_MAX_JUMP_M ? AVT_CC_MAX_JUMP_M : x);
    if (c->kind) c->kind[c->k] = ga ? AVT_CC_ACROSS_RINGS : AVT_CC_ALONG_RING;
    if (ga) {
        edge_between_beams(c, i, gi, far, far == a ? ga : gb);
        c->k++;
        return;
    }
    const double to_near = near == a ? ta : tb, to_far = far == a ? ta : tb;
    double di[3], df[3], nd = 0;
    dir_of(c, i, di);
    dir_of(c, far, df);
    for (int k = 0; k < 3; k++) {
        di[k] += df[k];
        nd += di[k] * di[k];
    }
    double range = r[i];
    if (to_near > 0.1 * to_far && fabs(r[i] - r[near]) < fmax(AVT_CC_MIN_JUMP_M, AVT_CC_MIN_JUMP_REL * r[i])) {
        double ext = (r[i] - r[near]) * 0.5 * to_far / to_near, cap = AVT_CC_MAX_EXTEND * (r[far] - r[i]);
        range += fmax(-cap, fmin(cap, ext));
    }
    nd = range / sqrt(nd);
    for (int k = 0; k < 3; k++) c->edge_xyz[3 * c->k + k] = (float)(di[k] * nd);
    c->k++;
}

/* A return i below a ring with no return near its azimuth (the sky): an edge half-way up to
 * that ring's beam, when i is near enough for the missing return not to be range. */
static void consider_sky(disc_ctx *c, uint32_t i, const ring_info *gi, const ring_info *above)
{
    const float *p = c->xyz + 3 * (size_t)i;
    if (c->range[i] > AVT_CC_SKY_MAX_RANGE_M || !(hypot(p[0], p[1]) > 0)) return;
    edge_between_beams(c, i, gi, -1, above);
    c->idx[c->k] = i;
    c->weight[c->k] = (float)sqrt(AVT_CC_MAX_JUMP_M);
    if (c->kind) c->kind[c->k] = AVT_CC_ACROSS_RINGS;
    c->k++;
}

/* The return of ring g nearest in azimuth to az, within VERTICAL_MAX_DAZ_DEG, or -1. */
static long vertical_neighbour(const disc_ctx *c, const ring_info *g, double az)
{
    int b = (int)floor(az * 10.0);
    long best = -1;
    double bd = VERTICAL_MAX_DAZ_DEG;
    for (int d = -3; d <= 3; d++) {
        int32_t j = g->bin[((b + d) % BINS + BINS) % BINS];
        if (j < 0) continue;
        double e = az_diff(c->az[j], az);
        if (e <= bd) bd = e, best = j;
    }
    return best;
}

static int by_time(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Whether any of the n times in ts (ascending) lies strictly between a and b (a < b). */
static int time_between(const int64_t *ts, size_t n, int64_t a, int64_t b)
{
    size_t lo = 0, hi = n; /* the first time after a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ts[mid] <= a) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && ts[lo] < b;
}

/* The turn from azimuth a to b (degrees) in the direction spin (+1: increasing), in [0, 360) */
static double turn(double a, double b, int spin)
{
    double d = fmod(spin * (b - a), 360.0);
    return d < 0 ? d + 360.0 : d;
}

/* Whether azimuth az (degrees) lies in one of ring g's intervals without data, each {the
 * azimuth where it starts, its turn in the direction of spin}. */
static int in_data_gap(const ring_info *g, const float (*gaps)[2], int spin, double az)
{
    for (size_t k = g->gap_lo; k < g->gap_hi; k++)
        if (turn(gaps[k][0], az, spin) <= gaps[k][1]) return 1;
    return 0;
}

static int by_elevation(const void *a, const void *b)
{
    const ring_info *x = a, *y = b;
    return (x->elevation > y->elevation) - (x->elevation < y->elevation);
}

int avt_cc_discontinuities(const float *xyz, const uint16_t *ring, const int64_t *t_ns, int64_t cut_margin_ns,
                           size_t n, uint32_t *idx, float *weight, float *edge_xyz, float *half_gap, uint8_t *kind,
                           size_t *n_out, avt_error *err)
{
    *n_out = 0;
    if (n == 0) return AVT_OK;
    size_t *start = calloc(65537, sizeof *start);
    uint32_t *order = malloc(n * sizeof *order);
    uint16_t *line = malloc(n * sizeof *line);
    double *range = malloc(n * sizeof *range), *az = malloc(n * sizeof *az);
    ring_info *rings = NULL;
    int32_t *bins = NULL;
    int64_t *ts = NULL;
    float (*gaps)[2] = NULL;
    size_t nr = 0;
    int rc = AVT_OK;
    if (!start || !order || !line || !range || !az) goto nomem;
    /* Point-cloud files carry no rings (all 0): a scan line ends where the azimuth jumps by more
     * than half a turn (KITTI's files hold the lines one after the other). */
    int one_ring = 1;
    for (size_t i = 0; i < n; i++) {
        const float *p = xyz + 3 * i;
        range[i] = sqrt((double)p[0] * p[0] + (double)p[1] * p[1] + (double)p[2] * p[2]);
        az[i] = atan2(p[1], p[0]) / DEG + 180.0; /* [0, 360] */
        if (az[i] >= 360.0) az[i] -= 360.0;
        one_ring &= ring[i] == ring[0];
    }
    for (size_t i = 0, l = 0; i < n; i++) {
        if (one_ring && i > 0 && fabs(az[i] - az[i - 1]) > 180.0 && l < 65535) l++;
        line[i] = one_ring ? (uint16_t)l : ring[i];
    }
    /* stable counting sort by line */
    for (size_t i = 0; i < n; i++) start[line[i] + 1]++;
    for (size_t r = 1; r <= 65536; r++) start[r] += start[r - 1];
    for (size_t r = 0; r < 65536; r++) nr += start[r + 1] > start[r];
    rings = calloc(nr, sizeof *rings);
    bins = malloc(nr * BINS * sizeof *bins);
    if (!rings || !bins) goto nomem;
    for (size_t r = 0, g = 0; r < 65536; r++)
        if (start[r + 1] > start[r]) {
            rings[g].lo = start[r];
            rings[g].hi = start[r + 1];
            g++;
        }
    for (size_t i = 0; i < n; i++) order[start[line[i]]++] = (uint32_t)i;
    for (size_t g = 0; g < nr; g++) {
        ring_info *ri = &rings[g];
        ri->bin = bins + g * BINS;
        for (int b = 0; b < BINS; b++) ri->bin[b] = -1;
        /* least squares of z on h over the returns; the mean elevation from the origin when h
         * does not spread enough to tell the origin's height */
        double sh = 0, sz = 0, shh = 0, shz = 0, se = 0;
        size_t m = 0;
        for (size_t j = ri->lo; j < ri->hi; j++) {
            uint32_t i = order[j];
            const float *p = xyz + 3 * (size_t)i;
            if (!(range[i] > 0)) continue; /* no return: not a neighbour */
            int b = (int)(az[i] * 10.0);
            ri->bin[b < BINS ? b : BINS - 1] = (int32_t)i;
            double h = hypot(p[0], p[1]);
            sh += h, sz += p[2], shh += h * h, shz += h * p[2], se += atan2(p[2], h);
            m++;
        }
        double var = m ? shh / (double)m - (sh / (double)m) * (sh / (double)m) : 0;
        ri->fitted = 0;
        ri->returns = m;
        ri->apparent = m ? se / (double)m : 0;
        if (m >= RING_FIT_MIN_RETURNS && var >= RING_FIT_MIN_SPREAD_M * RING_FIT_MIN_SPREAD_M) {
            double slope = (shz / (double)m - sh / (double)m * sz / (double)m) / var;
            double z0 = sz / (double)m - slope * sh / (double)m;
            if (fabs(z0) <= RING_FIT_MAX_ORIGIN_M) ri->elevation = atan(slope), ri->origin_z = z0, ri->fitted = 1;
        }
    }
    /* rings without a return have no elevation to be ordered by */
    size_t kept = 0;
    for (size_t g = 0; g < nr; g++)
        if (rings[g].returns) rings[kept++] = rings[g];
    nr = kept;
    /* a ring whose returns do not tell its origin (fewer than RING_FIT_MIN_RETURNS, too little
     * spread in h, or an origin beyond RING_FIT_MAX_ORIGIN_M) takes the origin of the fitted
     * ring nearest in apparent elevation (seen from the LiDAR's origin: the HDL-64E's two
     * blocks differ), 0 without any, and its mean elevation seen from that origin */
    for (size_t g = 0; g < nr; g++) {
        ring_info *ri = &rings[g];
        if (ri->fitted) continue;
        double best = INFINITY;
        ri->origin_z = 0;
        for (size_t q = 0; q < nr; q++)
            if (rings[q].fitted && fabs(rings[q].apparent - ri->apparent) < best)
                best = fabs(rings[q].apparent - ri->apparent), ri->origin_z = rings[q].origin_z;
        double se = 0;
        size_t m = 0;
        for (size_t j = ri->lo; j < ri->hi; j++) {
            const float *p = xyz + 3 * (size_t)order[j];
            if (!(range[order[j]] > 0)) continue;
            se += atan2(p[2] - ri->origin_z, hypot(p[0], p[1]));
            m++;
        }
        ri->elevation = m ? se / (double)m : 0;
    }
    qsort(rings, nr, sizeof *rings, by_elevation);

    /* the firings far enough from the sweep's cut for the rings above and below */
    int64_t t_lo = INT64_MIN, t_hi = INT64_MAX;
    if (t_ns) {
        int64_t first = t_ns[0], last = t_ns[0];
        for (size_t i = 1; i < n; i++) {
            first = t_ns[i] < first ? t_ns[i] : first;
            last = t_ns[i] > last ? t_ns[i] : last;
        }
        t_lo = first + cut_margin_ns;
        t_hi = last - cut_margin_ns;
    }
    /* Azimuths a ring has no data for, as opposed to no return (the sky): from one of its
     * returns to the next in time, in the direction the head turns, where the two lie farther
     * apart than a vertical neighbour may, at least one and a half of the sweep's median steps
     * between firing times apart, and no point of the sweep, of any ring, was recorded between
     * their times (a lost packet, whose sector differs from ring to ring where the beams fire at
     * staggered azimuths, as an Ouster's do; or the rest of the turn outside an azimuth window).
     * The direction: the sign of the rings' small azimuth steps from return to return in time. */
    size_t n_gaps = 0;
    double step_ns = 0, spin_sum = 0;
    if (t_ns) {
        if (!(ts = malloc(n * sizeof *ts)) || !(gaps = malloc(n * sizeof *gaps))) goto nomem;
        memcpy(ts, t_ns, n * sizeof *ts);
        int sorted = 1;
        for (size_t i = 1; i < n && sorted; i++) sorted = ts[i - 1] <= ts[i];
        if (!sorted) qsort(ts, n, sizeof *ts, by_time);
        size_t nd = 0; /* the positive steps, into gaps' memory (n floats of 2) */
        int64_t *steps = (int64_t *)gaps;
        for (size_t i = 1; i < n; i++)
            if (ts[i] != ts[i - 1]) steps[nd++] = ts[i] - ts[i - 1];
        if (nd) {
            qsort(steps, nd, sizeof *steps, by_time);
            step_ns = (double)steps[nd / 2];
        }
        for (size_t g = 0; g < nr; g++)
            for (size_t j = rings[g].lo + 1; j < rings[g].hi; j++) {
                const uint32_t a = order[j - 1], b = order[j];
                double d = fmod(az[b] - az[a] + 540.0, 360.0) - 180.0; /* (-180, 180] */
                if (range[a] > 0 && range[b] > 0 && t_ns[a] != t_ns[b] && fabs(d) < 5.0)
                    spin_sum += t_ns[b] > t_ns[a] ? d : -d;
            }
    }
    const int spin = spin_sum < 0 ? -1 : 1;
    for (size_t g = 0; g < nr; g++) {
        ring_info *ri = &rings[g];
        ri->gap_lo = ri->gap_hi = n_gaps;
        long prev = -1;
        for (size_t j = ri->lo; t_ns && j < ri->hi; j++) {
            const uint32_t i = order[j];
            if (!(range[i] > 0)) continue;
            if (prev >= 0 && az_diff(az[prev], az[i]) > VERTICAL_MAX_DAZ_DEG) {
                const uint32_t e = t_ns[prev] < t_ns[i] ? (uint32_t)prev : i, l = e == i ? (uint32_t)prev : i;
                if (t_ns[l] > t_ns[e] && (double)(t_ns[l] - t_ns[e]) >= 1.5 * step_ns &&
                    !time_between(ts, n, t_ns[e], t_ns[l])) {
                    gaps[n_gaps][0] = (float)az[e], gaps[n_gaps][1] = (float)turn(az[e], az[l], spin);
                    n_gaps++;
                }
            }
            prev = i;
        }
        ri->gap_hi = n_gaps;
    }
    disc_ctx c = {xyz, range, az, idx, weight, edge_xyz, kind, 0};
    const double cos_gap = cos(AVT_CC_MAX_GAP_DEG * DEG);
    for (size_t g = 0; g < nr; g++) {
        const ring_info *ri = &rings[g];
        /* half the ring's mean gap in elevation to its neighbours: how far off in elevation an
         * edge it sees may lie */
        double gs = 0;
        int gn = 0;
        if (g + 1 < nr) gs += rings[g + 1].elevation - ri->elevation, gn++;
        if (g > 0) gs += ri->elevation - rings[g - 1].elevation, gn++;
        const float hg = gn ? (float)(0.5 * gs / gn) : NAN;
        const size_t k0 = c.k; /* the ring's entries from here on: they are appended in order */
        for (size_t j = ri->lo; j < ri->hi; j++) {
            uint32_t i = order[j];
            if (!(range[i] > 0)) continue;
            /* along the ring */
            if (j > ri->lo && j + 1 < ri->hi) {
                uint32_t a = order[j - 1], b = order[j + 1];
                double da[3], db[3], di[3];
                dir_of(&c, i, di);
                dir_of(&c, a, da);
                dir_of(&c, b, db);
                if (range[a] > 0 && range[b] > 0 && di[0] * da[0] + di[1] * da[1] + di[2] * da[2] >= cos_gap &&
                    di[0] * db[0] + di[1] * db[1] + di[2] * db[2] >= cos_gap)
                    consider(&c, a, i, b, NULL, NULL, NULL);
            }
            /* across the rings, where they are close enough to place the edge between them */
            if (t_ns && (t_ns[i] < t_lo || t_ns[i] > t_hi)) continue;
            if (g + 1 < nr && rings[g + 1].elevation - ri->elevation <= AVT_CC_MAX_RING_GAP_DEG * DEG &&
                (g == 0 || ri->elevation - rings[g - 1].elevation <= AVT_CC_MAX_RING_GAP_DEG * DEG)) {
                long up = vertical_neighbour(&c, &rings[g + 1], az[i]);
                long dn = g > 0 ? vertical_neighbour(&c, &rings[g - 1], az[i]) : -1;
                if (up >= 0 && dn >= 0 && range[up] > 0 && range[dn] > 0)
                    consider(&c, (uint32_t)dn, i, (uint32_t)up, &rings[g - 1], ri, &rings[g + 1]);
                else if (up < 0 && dn >= 0 && !in_data_gap(&rings[g + 1], (const float(*)[2])gaps, spin, az[i]))
                    consider_sky(&c, i, ri, &rings[g + 1]);
            }
        }
        for (size_t q = k0; half_gap && q < c.k; q++) half_gap[q] = hg;
    }
    *n_out = c.k;
    goto out;
nomem:
    rc = avt_err(err, AVT_NOMEM, "out of memory for the discontinuities of %zu points", n);
out:
    free(start);
    free(order);
    free(line);
    free(range);
    free(az);
    free(rings);
    free(bins);
    free(ts);
    free(gaps);
    return rc;
}
