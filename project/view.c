/* avtruth project: one camera's view of a frame (docs/pipeline.md, "Projection"). The camera
 * sees one rotation of the head centred on its reference time: avt_time_window_* keep the
 * points of a sweep inside it (on the points' int32 time offsets from their sweep's time,
 * avt_time_offsets);
 * avt_depth_samples_add and avt_depth_box_points turn the projected points into the depth
 * samples, the coarse depth grid and each box's visible points. */
#include <string.h>

#include "avtruth/project.h"

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_sub_overflow(a, b, &r) ? (b < 0 ? INT64_MAX : INT64_MIN) : r;
}

size_t avt_time_offsets(const int64_t *t_ns, size_t n, int64_t ref_ns, int32_t *tdelta, int32_t (*trange)[2])
{
    /* the range checked over the sweep, in a loop that vectorizes, the first point out of
     * range found only if there is one */
    int64_t lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        const int64_t d = t_ns[i] - ref_ns;
        tdelta[i] = (int32_t)d;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    for (size_t i = 0; (lo < INT32_MIN || hi > INT32_MAX) && i < n; i++) {
        const int64_t d = t_ns[i] - ref_ns;
        if (d > INT32_MAX || d < INT32_MIN) return i;
    }
    for (size_t j = 0; j * AVT_POINT_BLOCK < n; j++) {
        const size_t e = (j + 1) * AVT_POINT_BLOCK < n ? (j + 1) * AVT_POINT_BLOCK : n;
        int32_t b0 = INT32_MAX, b1 = INT32_MIN;
        for (size_t i = j * AVT_POINT_BLOCK; i < e; i++) {
            b0 = tdelta[i] < b0 ? tdelta[i] : b0;
            b1 = tdelta[i] > b1 ? tdelta[i] : b1;
        }
        trange[j][0] = b0, trange[j][1] = b1;
    }
    return n;
}

avt_time_window avt_time_window_of(int64_t half_period_ns, int64_t sweep_ts, int64_t t_cam)
{
    const int64_t hp = half_period_ns, c = sat_sub(t_cam, sweep_ts);
    if (hp == 0) return (avt_time_window){0, 0, 0};
    /* lo <= offset <= hi; saturated where the exact bound lies beyond int64, which decides the
     * same for every int32 offset */
    const int64_t lo = sat_add(sat_sub(c, hp), 1), hi = sat_add(c, hp);
    if (lo > INT32_MAX || hi < INT32_MIN || lo > hi) return (avt_time_window){-1, 0, 0};
    return (avt_time_window){1, (int32_t)(lo < INT32_MIN ? INT32_MIN : lo),
                             (int32_t)(hi > INT32_MAX ? INT32_MAX : hi)};
}

void avt_time_window_mask(avt_time_window w, const int32_t *tdelta, const int32_t (*trange)[2], size_t n,
                          uint8_t *valid)
{
    if (w.kind == 0) return;
    if (w.kind < 0) {
        memset(valid, 0, n);
        return;
    }
    const int32_t lo32 = w.lo, hi32 = w.hi;
    const int32_t *restrict d = tdelta;
    uint8_t *restrict v = valid;
    /* point by point only in the blocks the window's bounds cross (its edges): the others are
     * wholly in (kept) or wholly out (cleared) */
    for (size_t j = 0; j * AVT_POINT_BLOCK < n; j++) {
        const size_t b = j * AVT_POINT_BLOCK, e = b + AVT_POINT_BLOCK < n ? b + AVT_POINT_BLOCK : n;
        if (trange[j][0] >= lo32 && trange[j][1] <= hi32) continue;
        if (trange[j][1] < lo32 || trange[j][0] > hi32) {
            memset(v + b, 0, e - b);
            continue;
        }
        for (size_t i = b; i < e; i++) v[i] &= (uint8_t)((d[i] >= lo32) & (d[i] <= hi32)); /* vectorizes */
    }
}

const uint8_t *avt_time_window_blocks(avt_time_window w, const int32_t (*trange)[2], size_t n, uint8_t *on)
{
    if (w.kind == 0) return NULL;
    const size_t nblk = (n + AVT_POINT_BLOCK - 1) / AVT_POINT_BLOCK;
    for (size_t j = 0; j < nblk; j++) on[j] = w.kind > 0 && trange[j][1] >= w.lo && trange[j][0] <= w.hi;
    return on;
}

size_t avt_valid_next(const uint8_t *valid, size_t from, size_t n)
{
    size_t i = from;
    for (uint64_t w; i + 8 <= n; i += 8) {
        memcpy(&w, valid + i, 8);
        if (w) break;
    }
    while (i < n && !valid[i]) i++;
    return i;
}

size_t avt_depth_samples_add(avt_depth_grid *g, const float *uv, const float *depth, const uint8_t *valid, size_t n,
                             float *out_uv, float *out_depth, size_t nd)
{
    for (size_t i = avt_valid_next(valid, 0, n); i < n; i = avt_valid_next(valid, i + 1, n)) {
        out_uv[2 * nd] = uv[2 * i];
        out_uv[2 * nd + 1] = uv[2 * i + 1];
        out_depth[nd++] = depth[i];
        avt_depth_grid_add(g, &uv[2 * i], depth[i]);
    }
    return nd;
}

void avt_depth_box_points(const avt_depth_grid *g, const float *uv, const float *depth, const uint8_t *valid,
                          const int32_t *box, size_t n, size_t nb, uint32_t *in_img, uint32_t *vis)
{
    for (size_t b = 0; b < nb; b++) in_img[b] = vis[b] = 0;
    for (size_t i = avt_valid_next(valid, 0, n); i < n; i = avt_valid_next(valid, i + 1, n)) {
        if (box[i] < 0) continue;
        in_img[box[i]]++;
        vis[box[i]] += (uint32_t)avt_depth_grid_visible(g, &uv[2 * i], depth[i]);
    }
}
