/* avtruth calibcheck: the LiDAR side of Levinson & Thrun (RSS 2013), section III-A: depth
 * discontinuities between neighbouring returns of one ring. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/calibcheck.h"

#define DEG (M_PI / 180.0)

/* Are points a and b (ranges ra, rb) neighbours: at most AVT_CC_MAX_GAP_DEG apart? */
static int near_dir(const float *pa, const float *pb, double ra, double rb)
{
    double dot = ((double)pa[0] * pb[0] + (double)pa[1] * pb[1] + (double)pa[2] * pb[2]) / (ra * rb);
    return dot >= cos(AVT_CC_MAX_GAP_DEG * DEG);
}

int avt_cc_discontinuities(const float *xyz, const uint16_t *ring, size_t n, uint32_t *idx, float *weight,
                           float *edge_xyz, size_t *n_out, avt_error *err)
{
    *n_out = 0;
    if (n == 0) return AVT_OK;
    /* stable counting sort by ring */
    size_t *start = calloc(65537, sizeof *start);
    uint32_t *order = malloc(n * sizeof *order);
    double *range = malloc(n * sizeof *range);
    if (!start || !order || !range) {
        free(start);
        free(order);
        free(range);
        return avt_err(err, AVT_NOMEM, "out of memory for the discontinuities of %zu points", n);
    }
    for (size_t i = 0; i < n; i++) {
        start[ring[i] + 1]++;
        const float *p = xyz + 3 * i;
        range[i] = sqrt((double)p[0] * p[0] + (double)p[1] * p[1] + (double)p[2] * p[2]);
    }
    for (size_t r = 1; r <= 65536; r++) start[r] += start[r - 1];
    for (size_t i = 0; i < n; i++) order[start[ring[i]]++] = (uint32_t)i;
    /* after the placement start[r] is the end of ring r, i.e. the start of ring r + 1 */
    size_t k = 0, lo = 0;
    for (size_t r = 0; r <= 65535 && lo < n; r++) {
        size_t hi = start[r];
        for (size_t j = lo + 1; j + 1 < hi; j++) {
            uint32_t a = order[j - 1], i = order[j], b = order[j + 1];
            if (!(range[i] > 0 && range[a] > 0 && range[b] > 0)) continue;
            const float *p = xyz + 3 * (size_t)i, *pa = xyz + 3 * (size_t)a, *pb = xyz + 3 * (size_t)b;
            if (!near_dir(p, pa, range[i], range[a]) || !near_dir(p, pb, range[i], range[b])) continue;
            /* the range's second difference: a jump on one side only (a surface at a grazing
             * angle changes range steadily and does not count) */
            double x = range[a] + range[b] - 2.0 * range[i];
            if (x < AVT_CC_MIN_JUMP_M) continue;
            x = x > AVT_CC_MAX_JUMP_M ? AVT_CC_MAX_JUMP_M : x;
            /* the edge lies between this return and its far neighbour: half-way in angle, at
             * this return's range */
            uint32_t fr = range[a] > range[b] ? a : b;
            const float *q = xyz + 3 * (size_t)fr;
            double d[3], nd = 0;
            for (int c = 0; c < 3; c++) {
                d[c] = p[c] / range[i] + q[c] / range[fr];
                nd += d[c] * d[c];
            }
            nd = range[i] / sqrt(nd);
            for (int c = 0; c < 3; c++) edge_xyz[3 * k + c] = (float)(d[c] * nd);
            idx[k] = i;
            weight[k] = (float)sqrt(x);
            k++;
        }
        lo = hi;
    }
    *n_out = k;
    free(start);
    free(order);
    free(range);
    return AVT_OK;
}
