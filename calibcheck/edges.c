/* avtruth calibcheck: the image side of Levinson & Thrun (RSS 2013), section III-B: the edge
 * map and its inverse distance transform (include/avtruth/calibcheck.h gives the formulas),
 * and the same of the edge map normalised along the rows. */
#include <stdlib.h>

#include "avtruth/calibcheck.h"

static inline float fmaxf2(float a, float b) { return a > b ? a : b; }

/* E: largest absolute difference to the 8 neighbours (inside the image), in [0, 1]; returns
 * the number of pixels with E >= 0.1. */
static long edge_values(const uint8_t *grey, unsigned w, unsigned h, float *e)
{
    long strong = 0;
#pragma omp parallel for schedule(static) reduction(+ : strong) if ((size_t)w * h >= 65536)
    for (unsigned v = 0; v < h; v++) {
        for (unsigned u = 0; u < w; u++) {
            int c = grey[(size_t)v * w + u], m = 0;
            for (int dv = -1; dv <= 1; dv++) {
                if ((dv < 0 && v == 0) || (dv > 0 && v + 1 == h)) continue;
                const uint8_t *row = grey + (size_t)(v + dv) * w;
                for (int du = -1; du <= 1; du++) {
                    if ((du < 0 && u == 0) || (du > 0 && u + 1 == w)) continue;
                    int q = abs(row[u + du] - c);
                    m = q > m ? q : m;
                }
            }
            e[(size_t)v * w + u] = (float)m / 255.0f;
            strong += m >= 26;
        }
    }
    return strong;
}

/* D = alpha E + (1 - alpha) max_q E(q) gamma^chessboard(p, q), the maximum by the two-pass
 * 8-neighbour propagation, which is exact for the chessboard distance (Rosenfeld & Pfaltz
 * 1966) */
static void inverse_distance(const float *e, unsigned w, unsigned h, float *d)
{
    const size_t n = (size_t)w * h;
    const float g = (float)AVT_CC_GAMMA;
    for (size_t i = 0; i < n; i++) d[i] = e[i];
    for (unsigned v = 0; v < h; v++) {
        float *row = d + (size_t)v * w, *up = v ? row - w : NULL;
        for (unsigned u = 0; u < w; u++) {
            float m = row[u];
            if (u) m = fmaxf2(m, g * row[u - 1]);
            if (up) {
                m = fmaxf2(m, g * up[u]);
                if (u) m = fmaxf2(m, g * up[u - 1]);
                if (u + 1 < w) m = fmaxf2(m, g * up[u + 1]);
            }
            row[u] = m;
        }
    }
    for (unsigned v = h; v-- > 0;) {
        float *row = d + (size_t)v * w, *dn = v + 1 < h ? row + w : NULL;
        for (unsigned u = w; u-- > 0;) {
            float m = row[u];
            if (u + 1 < w) m = fmaxf2(m, g * row[u + 1]);
            if (dn) {
                m = fmaxf2(m, g * dn[u]);
                if (u + 1 < w) m = fmaxf2(m, g * dn[u + 1]);
                if (u) m = fmaxf2(m, g * dn[u - 1]);
            }
            row[u] = m;
        }
    }
    const float a = (float)AVT_CC_ALPHA;
    for (size_t i = 0; i < n; i++) d[i] = a * e[i] + (1.0f - a) * d[i];
}

/* out = d / max(AVT_CC_ALONG_FLOOR, the largest d within AVT_CC_ALONG_RADIUS_PX in its row),
 * times the mean of that divisor over the image (so the map's values are of D's size and the
 * score's relative changes keep their meaning). The window's maximum by van Herk / Gil &
 * Werman: maxima from each block's start (g) and to its end (s), blocks of 2r + 1. Returns 0,
 * or -1 without memory. OpenMP-parallel over rows. */
static int normalise_rows(const float *d, unsigned w, unsigned h, float *out)
{
    const long r = AVT_CC_ALONG_RADIUS_PX, blk = 2 * r + 1, n = (long)w;
    double *rowsum = malloc((size_t)h * sizeof *rowsum), sum = 0; /* summed in row order after: */
    int bad = !rowsum;                                               /* the same for any threads */
#pragma omp parallel reduction(+ : bad) if ((size_t)w * h >= 65536 && rowsum)
    {
        float *g = malloc(2 * (size_t)w * sizeof *g), *s = g ? g + w : NULL;
        bad = !g;
#pragma omp for schedule(static)
        for (unsigned v = 0; v < h; v++) {
            if (!g || !rowsum) continue;
            double rs = 0;
            const float *row = d + (size_t)v * w;
            float *o = out + (size_t)v * w;
            for (long u = 0; u < n; u++) g[u] = u % blk ? fmaxf2(g[u - 1], row[u]) : row[u];
            for (long u = n - 1; u >= 0; u--) s[u] = (u + 1) % blk && u + 1 < n ? fmaxf2(s[u + 1], row[u]) : row[u];
            for (long u = 0; u < n; u++) {
                long lo = u - r < 0 ? 0 : u - r, hi = u + r >= n ? n - 1 : u + r;
                float m = fmaxf2(s[lo], g[hi]);
                if (lo / blk == hi / blk && hi - lo + 1 < blk) { /* part of one block: the row's ends */
                    m = row[lo];
                    for (long q = lo + 1; q <= hi; q++) m = fmaxf2(m, row[q]);
                }
                m = fmaxf2(m, AVT_CC_ALONG_FLOOR);
                o[u] = row[u] / m;
                rs += m;
            }
            rowsum[v] = rs;
        }
        free(g);
    }
    for (unsigned v = 0; v < h && !bad; v++) sum += rowsum[v];
    free(rowsum);
    if (bad) return -1;
    const float scale = (float)(sum / ((double)w * h));
    for (size_t i = 0; i < (size_t)w * h; i++) out[i] *= scale;
    return 0;
}

double avt_cc_edge_map(const uint8_t *grey, unsigned w, unsigned h, float *d, float *d_along)
{
    const size_t n = (size_t)w * h;
    float *e = malloc(n * sizeof *e);
    if (!e || w == 0 || h == 0) {
        free(e);
        return 0.0;
    }
    long strong = edge_values(grey, w, h, e);
    inverse_distance(e, w, h, d);
    free(e);
    if (d_along && normalise_rows(d, w, h, d_along))
        for (size_t i = 0; i < n; i++) d_along[i] = d[i]; /* without memory: the plain map */
    return (double)strong / (double)n;
}
