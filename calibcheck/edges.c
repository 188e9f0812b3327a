/* avtruth calibcheck: the image side of Levinson & Thrun (RSS 2013), section III-B: the edge
 * map and its inverse distance transform (include/avtruth/calibcheck.h gives the formulas). */
#include <stdlib.h>

#include "avtruth/calibcheck.h"

static inline float fmaxf2(float a, float b) { return a > b ? a : b; }

double avt_cc_edge_map(const uint8_t *grey, unsigned w, unsigned h, float *d)
{
    const size_t n = (size_t)w * h;
    float *e = malloc(n * sizeof *e);
    if (!e || w == 0 || h == 0) {
        free(e);
        return 0.0;
    }
    long strong = 0;
    /* E: largest absolute difference to the 8 neighbours (inside the image) */
#pragma omp parallel for schedule(static) reduction(+ : strong) if (n >= 65536)
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
    /* max_q E(q) gamma^chessboard(p, q) by the two-pass 8-neighbour propagation, which is exact
     * for the chessboard distance (Rosenfeld & Pfaltz 1966) */
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
    free(e);
    return (double)strong / (double)n;
}
