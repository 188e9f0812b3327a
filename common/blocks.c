/* avtruth common: azimuth-oriented bounding boxes of blocks of a point cloud (geom.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/common.h"
#include "avtruth/geom.h"

int avt_point_blocks_build(avt_point_blocks *bl, const float *xyz, size_t n)
{
    const size_t nb = (n + AVT_POINT_BLOCK - 1) / AVT_POINT_BLOCK;
    size_t cap = bl->cap;
    if (avt_grow((void **)&bl->corner, &cap, nb ? nb : 1, sizeof *bl->corner)) return -1;
    cap = bl->cap;
    if (avt_grow((void **)&bl->frame, &cap, nb ? nb : 1, sizeof *bl->frame)) return -1;
    bl->cap = cap;
    bl->n_blocks = nb;
    /* blocks are independent; inside another parallel region (the build's read ahead) this
     * runs on the calling thread */
#pragma omp parallel for schedule(static) if (nb >= 64)
    for (size_t j = 0; j < nb; j++) {
        const size_t b = j * AVT_POINT_BLOCK, k = n - b < AVT_POINT_BLOCK ? n - b : AVT_POINT_BLOCK;
        const float *mid = xyz + 3 * (b + k / 2);
        double dx = mid[0], dy = mid[1], len = sqrt(dx * dx + dy * dy);
        if (!(len > 1e-9 && len < 1e30)) dx = 1, dy = 0, len = 1;
        dx /= len, dy /= len;
        /* plain compares (a NaN or infinite point fails the finiteness mask and changes nothing),
         * so that the loop vectorises */
        double s0 = INFINITY, s1 = -INFINITY, t0 = INFINITY, t1 = -INFINITY, z0 = INFINITY, z1 = -INFINITY;
        for (size_t i = b; i < b + k; i++) {
            const double x = xyz[3 * i], y = xyz[3 * i + 1], z = xyz[3 * i + 2];
            const int ok = fabs(x) < 1e30 && fabs(y) < 1e30 && fabs(z) < 1e30;
            const double s = dx * x + dy * y, t = dx * y - dy * x;
            s0 = ok && s < s0 ? s : s0, s1 = ok && s > s1 ? s : s1;
            t0 = ok && t < t0 ? t : t0, t1 = ok && t > t1 ? t : t1;
            z0 = ok && z < z0 ? z : z0, z1 = ok && z > z1 ? z : z1;
        }
        double lo[3] = {s0, t0, z0}, hi[3] = {s1, t1, z1};
        if (s0 > s1) /* no finite point: any box will do */
            for (int a = 0; a < 3; a++) lo[a] = hi[a] = 0;
        for (int a = 0; a < 3; a++) { /* against the rounding of the rotation */
            lo[a] -= 1e-6 * (1 + fabs(lo[a]));
            hi[a] += 1e-6 * (1 + fabs(hi[a]));
        }
        double *f = bl->frame[j];
        f[0] = dx, f[1] = dy, f[2] = lo[0], f[3] = hi[0], f[4] = lo[1], f[5] = hi[1], f[6] = lo[2], f[7] = hi[2];
        for (int c = 0; c < 8; c++) {
            const double s = c & 1 ? hi[0] : lo[0], t = c & 2 ? hi[1] : lo[1], z = c & 4 ? hi[2] : lo[2];
            bl->corner[j][c][0] = dx * s - dy * t;
            bl->corner[j][c][1] = dy * s + dx * t;
            bl->corner[j][c][2] = z;
        }
    }
    return 0;
}

void avt_point_blocks_free(avt_point_blocks *b)
{
    free(b->corner);
    free(b->frame);
    memset(b, 0, sizeof *b);
}
