/* avtruth pipeline: `avtruth calib-check` — a drive log's sweeps and images through the
 * calibration check of calibcheck/ (docs/calibration-check.md).
 *
 * One pass over the sweeps: per sweep and camera, the image nearest to the instant the LiDAR
 * head faces the camera is paired; its edge map and the sweep's depth discontinuities (moved
 * to the image's time with the ego poses) make one frame. Frames are searched per window as
 * they complete and, at the end, over an evenly thinned set of at most max_frames frames.
 * Overlays take a second pass over the chosen sweeps, so memory stays bounded by the kept
 * frames whatever the log's length. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "avtruth/drivelog.h"
#include "avtruth/export.h"
#include "avtruth/labels.h"
#include "avtruth/schema.h"
#include "avtruth/validate.h"
#include "avtruth/pipeline.h"
#include "avtruth/sync.h"

#define DEG (M_PI / 180.0)
#define LABEL_TOLERANCE_NS 5000000

void avt_calib_check_options_default(avt_calib_check_options *o)
{
    memset(o, 0, sizeof *o);
    o->end_frame = UINT64_MAX;
    o->window = 10;
    o->max_frames = 40;
    o->overlays = 3;
    o->tolerance_ns = 50000000;
    avt_cc_options_default(&o->search);
    avt_cc_thresholds_default(&o->thresholds);
}

/* One frame of one camera, owned. */
typedef struct cc_frame {
    uint64_t index;
    float *x, *y, *z, *w, *half_gap; /* half_gap: avt_cc_discontinuities' */
    size_t n, n_across; /* the points across the rings first, then those along a ring */
    uint16_t *dmap, *dmap_along; /* avt_cc_dmap_quantise */
    unsigned width, height;
    int in_window, in_keep;
} cc_frame;

typedef struct cc_cam {
    const avt_camera *cam;
    avt_cam_model model;
    double axis_az_deg;
    avt_camera_stream stream;
    cc_frame **win, **keep;
    size_t n_win, n_keep;
    uint64_t stride, seen;
    double edge_sum;
    avt_calib_check_camera *out;
} cc_cam;

typedef struct cc_state {
    avt_rig own_rig;
    const avt_rig *rig;
    avt_poses poses;
    avt_label_index labels;
    avt_drive_log log;
    avt_schema schema; /* the log's annotation schema: the boxes drawn on the overlays */
    cc_cam *cams;
    size_t n_cams;
    const avt_calib_check_options *o;
} cc_state;

static void frame_free(cc_frame *f)
{
    if (!f) return;
    free(f->x);
    free(f->dmap);
    free(f->dmap_along);
    free(f);
}

/* The points lo..hi of frame g against map as one view (every array from the same offset). */
static avt_cc_frame frame_part(const cc_frame *g, size_t lo, size_t hi, const uint16_t *map, int along_rings)
{
    return (avt_cc_frame){g->x + lo, g->y + lo, g->z + lo,  g->w + lo,       hi - lo,
                          map,       g->width, g->height, g->half_gap + lo, along_rings};
}

/* The two scored parts of nf frames into v (2 nf entries): the discontinuities across the
 * rings against the edge map D, those along a ring against D normalised along the image rows
 * (avt_cc_edge_map). */
static void frame_views(cc_frame *const *f, size_t nf, avt_cc_frame *v)
{
    for (size_t i = 0; i < nf; i++) {
        v[2 * i] = frame_part(f[i], 0, f[i]->n_across, f[i]->dmap, 0);
        v[2 * i + 1] = frame_part(f[i], f[i]->n_across, f[i]->n, f[i]->dmap_along, 1);
    }
}

/* lidar(t_img) <- lidar(t_p): lidar_T_ego W(t_img)^-1 W(t_p) ego_T_lidar; identity without poses. */
static int lidar_motion(const cc_state *st, int64_t t_p, int64_t t_img, avt_tf *out, avt_error *err)
{
    if (st->poses.n == 0) {
        *out = avt_tf_identity();
        return AVT_OK;
    }
    avt_tf wi, wp;
    int rc = avt_poses_at(&st->poses, t_img, &wi, err);
    if (!rc) rc = avt_poses_at(&st->poses, t_p, &wp, err);
    if (rc) return rc;
    avt_tf ego_T_lidar = avt_tf_inv(&st->rig->lidar_T_ego), wi_inv = avt_tf_inv(&wi);
    avt_tf a = avt_tf_mul(&wp, &ego_T_lidar), b = avt_tf_mul(&wi_inv, &a);
    *out = avt_tf_mul(&st->rig->lidar_T_ego, &b);
    return AVT_OK;
}

/* Points xyz (3n) fired at the times of the sweep's points idx[0..n) moved to the image time
 * into x, y, z (n each). */
static int move_points(const cc_state *st, const avt_sweep *sw, const float *xyz, const uint32_t *idx, size_t n,
                       int64_t t_img, float *x, float *y, float *z, avt_error *err)
{
    avt_tf M = avt_tf_identity();
    int64_t last = INT64_MIN;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        if (sw->t_ns[i] != last) {
            int rc = lidar_motion(st, sw->t_ns[i], t_img, &M, err);
            if (rc) return avt_err_prefix(err, "sweep %" PRIu64 ", point %zu", sw->index, i);
            last = sw->t_ns[i];
        }
        double p[3] = {xyz[3 * k], xyz[3 * k + 1], xyz[3 * k + 2]}, q[3];
        avt_tf_apply(&M, p, q);
        x[k] = (float)q[0];
        y[k] = (float)q[1];
        z[k] = (float)q[2];
    }
    return AVT_OK;
}

/* A sweep's depth discontinuities, computed once for all cameras. */
typedef struct cc_disc {
    uint32_t *idx;
    float *wt, *exyz, *half_gap;
    uint8_t *kind;
    size_t k, cap;
} cc_disc;

/* A sweep's depth discontinuities; the rings are not compared within AVT_CC_CUT_MARGIN_DEG of
 * rotation of the sweep's cut (at the rate rot fitted from the sweep's points). */
static int disc_compute(const avt_sync_rotation *rot, const avt_sweep *sw, cc_disc *d, avt_error *err)
{
    size_t n = sw->n ? 2 * sw->n : 1;
    if (n > d->cap) {
        free(d->idx);
        free(d->wt);
        free(d->exyz);
        free(d->half_gap);
        free(d->kind);
        d->idx = malloc(n * sizeof *d->idx);
        d->wt = malloc(n * sizeof *d->wt);
        d->exyz = malloc(3 * n * sizeof *d->exyz);
        d->half_gap = malloc(n * sizeof *d->half_gap);
        d->kind = malloc(n);
        d->cap = d->idx && d->wt && d->exyz && d->half_gap && d->kind ? n : 0;
        if (!d->cap) return avt_err(err, AVT_NOMEM, "out of memory for the discontinuities of %zu points", sw->n);
    }
    int64_t margin = rot->ok ? (int64_t)llround(AVT_CC_CUT_MARGIN_DEG / rot->b * 1e9) : 0;
    return avt_cc_discontinuities(sw->xyz, sw->ring, sw->t_ns, margin, sw->n, d->idx, d->wt, d->exyz, d->half_gap,
                                  d->kind, &d->k, err);
}

static void disc_free(cc_disc *d)
{
    free(d->idx);
    free(d->wt);
    free(d->exyz);
    free(d->half_gap);
    free(d->kind);
    memset(d, 0, sizeof *d);
}

/* The image of camera c paired with the sweep: index into its stream, or -1. */
static long pair_image(const cc_state *st, const cc_cam *c, const avt_sync_rotation *rot)
{
    const avt_camera_stream *s = &c->stream;
    if (s->n == 0) return -1;
    int64_t ref = avt_sync_rotation_time(rot, c->axis_az_deg);
    size_t lo = 0, hi = s->n;
    while (lo < hi) { /* first image at or after ref */
        size_t mid = lo + (hi - lo) / 2;
        if (s->images[mid].t_ns < ref) lo = mid + 1;
        else hi = mid;
    }
    long best = -1;
    int64_t bd = INT64_MAX;
    for (size_t i = lo > 0 ? lo - 1 : 0; i < s->n && i <= lo; i++) {
        int64_t d = s->images[i].t_ns > ref ? s->images[i].t_ns - ref : ref - s->images[i].t_ns;
        if (d < bd) bd = d, best = (long)i;
    }
    return bd <= st->o->tolerance_ns ? best : -1;
}

/* Builds the frame of camera c from the sweep, its discontinuities and image im; *edge gets
 * the edge share. Only the discontinuities that the stored calibration projects into the image
 * widened by a tenth on each side are kept (the search moves points by a few pixels). */
static int frame_make(const cc_state *st, const cc_cam *c, const avt_sweep *sw, const cc_disc *d, long im,
                      cc_frame **out, double *edge, avt_error *err)
{
    float *maps = NULL; /* D and the map along the rows as floats, quantised into the frame */
    const avt_image_ref *ref = &c->stream.images[im];
    char path[4096];
    unsigned char *grey = NULL;
    unsigned w = 0, h = 0;
    const size_t k = d->k;
    cc_frame *f = calloc(1, sizeof *f);
    float *uv = malloc((2 * k + 1) * sizeof *uv), *dep = malloc((k + 1) * sizeof *dep);
    uint8_t *ok = malloc(k + 1);
    int rc = f && uv && dep && ok ? AVT_OK : avt_err(err, AVT_NOMEM, "out of memory");
    if (!rc) rc = avt_drive_log_path(&st->log, ref->path, path, sizeof path, err);
    uint32_t w32 = 0, h32 = 0;
    if (!rc) rc = avt_image_load(path, 1, &w32, &h32, &grey, err); /* PNG or JPEG */
    w = w32, h = h32;
    if (!rc && (w != c->cam->width || h != c->cam->height))
        rc = avt_err(err, AVT_MISMATCH, "%s: image is %ux%u, camera %s's calibration says %ux%u", path, w, h,
                     c->cam->name, c->cam->width, c->cam->height);
    const size_t npx = (size_t)w * h;
    if (!rc && (!(f->dmap = malloc(npx * sizeof *f->dmap)) || !(f->dmap_along = malloc(npx * sizeof *f->dmap_along)) ||
                !(maps = malloc(2 * npx * sizeof *maps))))
        rc = avt_err(err, AVT_NOMEM, "out of memory");
    if (!rc && !(f->x = malloc((4 * k + 1) * sizeof *f->x))) rc = avt_err(err, AVT_NOMEM, "out of memory");
    if (rc) goto out;
    f->width = w;
    f->height = h;
    f->index = sw->index;
    *edge = avt_cc_edge_map(grey, w, h, maps, maps + npx);
    avt_cc_dmap_quantise(maps, npx, f->dmap);
    avt_cc_dmap_quantise(maps + npx, npx, f->dmap_along);
    free(maps);
    maps = NULL;
    f->y = f->x + k;
    f->z = f->y + k;
    f->w = f->z + k;
    if ((rc = move_points(st, sw, d->exyz, d->idx, k, ref->t_ns, f->x, f->y, f->z, err))) goto out;
    avt_tf cam_T_lidar = avt_tf_inv(&c->cam->lidar_T_cam);
    avt_cam_project_points_soa(&c->model, &cam_T_lidar, f->x, f->y, f->z, k, uv, uv + k, dep, ok);
    const float mu = 0.1f * (float)w, mv = 0.1f * (float)h;
    /* the kept points in order: those across the rings, then those along a ring */
    uint32_t *sel = (uint32_t *)dep; /* k floats, free now */
    size_t m = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < k; i++) {
            float u = uv[i], v = uv[k + i];
            if ((d->kind[i] == AVT_CC_ACROSS_RINGS) != (pass == 0)) continue;
            if (u >= -mu && u <= (float)w + mu && v >= -mv && v <= (float)h + mv) sel[m++] = (uint32_t)i;
        }
        if (pass == 0) f->n_across = m;
    }
    float *all = malloc((5 * m + 1) * sizeof *all);
    if (!all) {
        rc = avt_err(err, AVT_NOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < m; j++) {
        size_t i = sel[j];
        all[j] = f->x[i], all[m + j] = f->y[i], all[2 * m + j] = f->z[i], all[3 * m + j] = d->wt[i];
        all[4 * m + j] = d->half_gap[i];
    }
    free(f->x);
    f->x = all;
    f->y = f->x + m;
    f->z = f->y + m;
    f->w = f->z + m;
    f->half_gap = f->w + m;
    f->n = m;
out:
    free(maps);
    free(grey);
    free(uv);
    free(dep);
    free(ok);
    if (rc) frame_free(f);
    else *out = f;
    return rc;
}

/* The status of camera c's estimate over the frames v: judged with the correction's
 * displacement across the rings (avt_cc_displacement), and when that says miscalibrated,
 * judged again with the jackknife's significance (avt_cc_jackknife). */
static int judge(const cc_cam *c, const avt_cc_frame *v, size_t nv, const avt_calib_check_options *o,
                 avt_cc_estimate *est, int *status, avt_error *err)
{
    avt_cc_displacement(v, nv, est);
    int rc = avt_cc_common_gain(&c->model, &c->cam->lidar_T_cam, v, nv, est, err);
    if (rc) return rc;
    *status = avt_cc_judge(est, &o->thresholds);
    if (*status != AVT_CC_MISCALIBRATED) return AVT_OK;
    rc = avt_cc_jackknife(&c->model, &c->cam->lidar_T_cam, v, nv, &o->search, est, err);
    if (!rc) *status = avt_cc_judge(est, &o->thresholds);
    return rc;
}

static int window_close(cc_state *st, cc_cam *c, avt_error *err)
{
    if (c->n_win == 0) return AVT_OK;
    avt_cc_frame *v = malloc(2 * c->n_win * sizeof *v);
    avt_calib_check_window *ws = realloc(c->out->windows, (c->out->n_windows + 1) * sizeof *ws);
    if (ws) c->out->windows = ws;
    if (!v || !ws) {
        free(v);
        return avt_err(err, AVT_NOMEM, "out of memory");
    }
    frame_views(c->win, c->n_win, v);
    avt_calib_check_window *w = &ws[c->out->n_windows];
    memset(w, 0, sizeof *w);
    w->first_frame = c->win[0]->index;
    w->last_frame = c->win[c->n_win - 1]->index;
    w->frames = (unsigned)c->n_win;
    avt_cc_options so = st->o->search;
    so.grid = 0;
    int rc = avt_cc_search(&c->model, &c->cam->lidar_T_cam, v, 2 * c->n_win, &so, &w->est, err);
    if (!rc) rc = judge(c, v, 2 * c->n_win, st->o, &w->est, &w->status, err);
    free(v);
    if (rc) return avt_err_prefix(err, "camera %s", c->cam->name);
    c->out->n_windows++;
    for (size_t i = 0; i < c->n_win; i++) {
        c->win[i]->in_window = 0;
        if (!c->win[i]->in_keep) frame_free(c->win[i]);
    }
    c->n_win = 0;
    return AVT_OK;
}

/* Adds a frame to the window and, every stride-th, to the kept set (halved when full). */
static int frame_add(cc_state *st, cc_cam *c, cc_frame *f, avt_error *err)
{
    const avt_calib_check_options *o = st->o;
    if (c->seen % c->stride == 0) {
        if (c->n_keep == o->max_frames) {
            size_t j = 0;
            for (size_t i = 0; i < c->n_keep; i++) {
                if (i % 2 == 0) c->keep[j++] = c->keep[i];
                else {
                    c->keep[i]->in_keep = 0;
                    if (!c->keep[i]->in_window) frame_free(c->keep[i]);
                }
            }
            c->n_keep = j;
            c->stride *= 2;
        }
        if (c->seen % c->stride == 0) {
            c->keep[c->n_keep++] = f;
            f->in_keep = 1;
        }
    }
    c->seen++;
    if (o->window) {
        c->win[c->n_win++] = f;
        f->in_window = 1;
        if (c->n_win == o->window) return window_close(st, c, err);
    } else if (!f->in_keep) frame_free(f);
    return AVT_OK;
}

static int open_source(cc_state *st, avt_sweep_source **src, avt_error *err)
{
    *src = avt_sweep_source_open(st->log.lidar, &st->log.lidar_cfg, err);
    return *src ? AVT_OK : (err ? err->code : AVT_IO);
}

/* The box of label b (LiDAR frame at the label's time) moved to the image's LiDAR frame. */
static int box_at(const cc_state *st, const avt_label_box *b, int64_t t_label, int64_t t_img, avt_obox *ob,
                  avt_error *err)
{
    avt_tf M;
    int rc = lidar_motion(st, t_label, t_img, &M, err);
    if (rc) return rc;
    double c = cos(b->yaw), s = sin(b->yaw);
    double R[9] = {c, -s, 0, s, c, 0, 0, 0, 1};
    avt_tf_apply(&M, b->center, ob->center);
    memcpy(ob->size, b->size, sizeof ob->size);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            ob->R[3 * i + j] = M.m[4 * i] * R[j] + M.m[4 * i + 1] * R[3 + j] + M.m[4 * i + 2] * R[6 + j];
    return AVT_OK;
}

/* One overlay: all points and the boxes through lidar_T_cam drawn on the image. */
static int overlay_draw(const cc_state *st, const cc_cam *c, const avt_tf *lidar_T_cam, const float *xyz, size_t n,
                        const avt_label_frame *lf, int64_t t_img, const char *image, const char *out_path,
                        avt_error *err)
{
    float *uv = malloc((n ? n : 1) * 2 * sizeof *uv), *dp = malloc((n ? n : 1) * sizeof *dp);
    uint8_t *ok = malloc(n ? n : 1);
    avt_box2d *b2 = calloc(lf && lf->n ? lf->n : 1, sizeof *b2);
    int rc = (uv && dp && ok && b2) ? AVT_OK : avt_err(err, AVT_NOMEM, "out of memory");
    if (rc) goto out;
    avt_tf cam_T_lidar = avt_tf_inv(lidar_T_cam);
    avt_cam_project_points(&c->model, &cam_T_lidar, xyz, n, uv, dp, ok);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ok[i]) {
            uv[2 * m] = uv[2 * i];
            uv[2 * m + 1] = uv[2 * i + 1];
            dp[m++] = dp[i];
        }
    size_t nb = 0;
    for (size_t b = 0; lf && b < lf->n && !rc; b++) {
        avt_obox ob;
        avt_box_projection bp;
        if ((rc = box_at(st, &lf->boxes[b], lf->timestamp_ns, t_img, &ob, err))) break;
        if (!avt_box_project(&c->model, &cam_T_lidar, &ob, &bp)) continue;
        for (int k = 0; k < 4; k++) b2[nb].xyxy[k] = (float)bp.xyxy[k];
        nb++;
    }
    avt_camera_frame cf = {.timestamp_ns = t_img, .image_path = image, .n_boxes2d = nb, .boxes2d = b2,
                           .n_depth = m, .depth_uv = uv, .depth = dp};
    if (!rc) rc = avt_preview_draw(image, &cf, out_path, err);
out:
    free(uv);
    free(dp);
    free(ok);
    free(b2);
    return rc;
}

/* The overlay pass: frames first, last and evenly between of each camera's frames. */
static int overlays_write(cc_state *st, const uint64_t *pick, size_t npick, avt_error *err)
{
    const avt_calib_check_options *o = st->o;
    avt_sweep_source *src = NULL;
    float *xyz = NULL;
    size_t cap = 0;
    avt_label_frame lf = {0};
    avt_cc_scratch scr = {0};
    cc_disc disc = {0};
    int rc = open_source(st, &src, err);
    const avt_sweep *sw;
    size_t next = 0;
    while (!rc && next < npick) {
        int r = avt_sweep_source_next(src, &sw, err);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (sw->index != pick[next]) continue;
        next++;
        avt_label_frame_free(&lf);
        long li = avt_label_index_find(&st->labels, sw->timestamp_ns, LABEL_TOLERANCE_NS);
        if (li >= 0 && (rc = avt_label_frame_read(st->labels.paths[li], &st->schema, &lf, err))) break;
        avt_sync_rotation rot;
        avt_sync_rotation_fit(sw, st->log.lidar_cfg.cut_angle_deg, &rot);
        int disc_done = 0;
        if (avt_grow((void **)&xyz, &cap, sw->n ? sw->n : 1, 3 * sizeof *xyz)) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
            break;
        }
        for (size_t ci = 0; ci < st->n_cams && !rc; ci++) {
            cc_cam *c = &st->cams[ci];
            long im = pair_image(st, c, &rot);
            if (im < 0) continue;
            const avt_image_ref *ref = &c->stream.images[im];
            avt_calib_check_overlay *ov = realloc(c->out->overlays, (c->out->n_overlays + 1) * sizeof *ov);
            if (!ov) {
                rc = avt_err(err, AVT_NOMEM, "out of memory");
                break;
            }
            c->out->overlays = ov;
            ov += c->out->n_overlays;
            memset(ov, 0, sizeof *ov);
            ov->frame = sw->index;
            /* all points at the image time, x y z interleaved for the projection */
            float *x = xyz;
            for (size_t i = 0; i < sw->n && !rc; i++) {
                avt_tf M;
                if ((rc = lidar_motion(st, sw->t_ns[i], ref->t_ns, &M, err))) break;
                double p[3] = {sw->xyz[3 * i], sw->xyz[3 * i + 1], sw->xyz[3 * i + 2]}, q[3];
                avt_tf_apply(&M, p, q);
                for (int k = 0; k < 3; k++) x[3 * i + k] = (float)q[k];
            }
            if (rc) break;
            avt_tf E = avt_cc_error_tf(c->out->est.error), Einv = avt_tf_inv(&E);
            avt_tf corrected = avt_tf_mul(&Einv, &c->cam->lidar_T_cam);
            char image[4096], out_path[4096];
            if ((rc = avt_drive_log_path(&st->log, ref->path, image, sizeof image, err))) break;
            snprintf(ov->stored, sizeof ov->stored, "%s_%06" PRIu64 "_stored.png", c->cam->name, sw->index);
            snprintf(ov->corrected, sizeof ov->corrected, "%s_%06" PRIu64 "_corrected.png", c->cam->name, sw->index);
            avt_path_join(out_path, sizeof out_path, o->overlay_dir, ov->stored);
            rc = overlay_draw(st, c, &c->cam->lidar_T_cam, x, sw->n, lf.n ? &lf : NULL, ref->t_ns, image, out_path,
                              err);
            avt_path_join(out_path, sizeof out_path, o->overlay_dir, ov->corrected);
            if (!rc)
                rc = overlay_draw(st, c, &corrected, x, sw->n, lf.n ? &lf : NULL, ref->t_ns, image, out_path, err);
            cc_frame *f = NULL;
            double edge;
            if (!rc && !disc_done) rc = disc_compute(&rot, sw, &disc, err), disc_done = 1;
            if (!rc) rc = frame_make(st, c, sw, &disc, im, &f, &edge, err);
            if (!rc) rc = avt_cc_scratch_reserve(&scr, f->n ? f->n : 1, err);
            if (!rc) {
                avt_cc_frame v[2];
                frame_views(&f, 1, v);
                double zero[AVT_CC_NPARAM] = {0};
                ov->score_stored = avt_cc_score(&c->model, &c->cam->lidar_T_cam, zero, v, 2, &scr, NULL);
                ov->score_corrected = avt_cc_score(&c->model, &c->cam->lidar_T_cam, c->out->est.error, v, 2, &scr, NULL);
            }
            frame_free(f);
            if (!rc) c->out->n_overlays++;
        }
    }
    avt_cc_scratch_free(&scr);
    disc_free(&disc);
    avt_label_frame_free(&lf);
    free(xyz);
    avt_sweep_source_close(src);
    return rc;
}

static void state_free(cc_state *st)
{
    for (size_t i = 0; st->cams && i < st->n_cams; i++) {
        cc_cam *c = &st->cams[i];
        for (size_t k = 0; k < c->n_win; k++) {
            c->win[k]->in_window = 0;
            if (!c->win[k]->in_keep) frame_free(c->win[k]);
        }
        for (size_t k = 0; k < c->n_keep; k++) frame_free(c->keep[k]);
        free(c->win);
        free(c->keep);
        avt_camera_stream_free(&c->stream);
    }
    free(st->cams);
    avt_label_index_free(&st->labels);
    avt_schema_free(&st->schema);
    avt_poses_free(&st->poses);
    avt_rig_free(&st->own_rig);
}

int avt_calib_check(const char *log_dir, const avt_calib_check_options *o, avt_calib_check_report *r,
                    avt_error *err)
{
    cc_state st;
    memset(&st, 0, sizeof st);
    memset(r, 0, sizeof *r);
    st.o = o;
    avt_sweep_source *src = NULL;
    uint64_t *pick = NULL;
    cc_disc disc = {0};
    int rc = AVT_OK;
    const avt_drive_log_overrides ov = {NULL, NULL, NULL, 180.0};
    if ((rc = avt_drive_log_open(log_dir, &ov, &st.log, err))) return rc;
    snprintf(r->log, sizeof r->log, "%s", log_dir);
    r->thresholds = o->thresholds;
    st.rig = o->rig;
    if (!st.rig) {
        if ((rc = avt_rig_load_yaml(st.log.calib_yaml, &st.own_rig, err))) goto out;
        st.rig = &st.own_rig;
    }
    if ((rc = avt_poses_load(st.log.poses_csv, &st.poses, err))) goto out;
    if ((rc = avt_schema_for_log(log_dir, NULL, &st.schema, NULL, 0, err))) goto out;
    if ((rc = avt_label_index_open(st.log.dir, &st.labels, err))) goto out;

    size_t nc = 0;
    for (size_t i = 0; i < st.rig->n_cameras; i++) nc += !o->camera || strcmp(o->camera, st.rig->cameras[i].name) == 0;
    if (nc == 0) {
        avt_sbuf names = {0};
        for (size_t i = 0; i < st.rig->n_cameras; i++) avt_sbuf_printf(&names, "%s%s", i ? ", " : "", st.rig->cameras[i].name);
        rc = avt_err(err, AVT_NOTFOUND, "camera '%s' is not in the calibration (%s)", o->camera ? o->camera : "",
                     names.p ? names.p : "no cameras");
        free(names.p);
        goto out;
    }
    st.cams = calloc(nc, sizeof *st.cams);
    r->cams = calloc(nc, sizeof *r->cams);
    if (!st.cams || !r->cams) {
        rc = avt_err(err, AVT_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < st.rig->n_cameras; i++) {
        const avt_camera *cam = &st.rig->cameras[i];
        if (o->camera && strcmp(o->camera, cam->name) != 0) continue;
        cc_cam *c = &st.cams[st.n_cams];
        c->cam = cam;
        c->out = &r->cams[st.n_cams];
        st.n_cams++;
        r->n_cams = st.n_cams;
        snprintf(c->out->name, sizeof c->out->name, "%s", cam->name);
        c->stride = 1;
        c->axis_az_deg = avt_sync_camera_azimuth_deg(cam);
        if ((rc = avt_cam_model_init(&c->model, cam, err))) goto out;
        if ((rc = avt_camera_stream_list(log_dir, cam->name, &c->stream, err))) goto out;
        c->win = calloc(o->window ? o->window : 1, sizeof *c->win);
        c->keep = calloc(o->max_frames ? o->max_frames : 1, sizeof *c->keep);
        if (!c->win || !c->keep) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
            goto out;
        }
    }
    if (o->max_frames == 0) {
        rc = avt_err(err, AVT_INVAL, "calibration check: max_frames must be at least 1");
        goto out;
    }

    if ((rc = open_source(&st, &src, err))) goto out;
    const avt_sweep *sw;
    for (;;) {
        int got = avt_sweep_source_next(src, &sw, err);
        if (got < 0) rc = got;
        if (got <= 0 || sw->index >= o->end_frame) break;
        if (sw->index < o->first_frame) continue;
        r->sweeps++;
        avt_sync_rotation rot;
        avt_sync_rotation_fit(sw, st.log.lidar_cfg.cut_angle_deg, &rot);
        int disc_done = 0;
        for (size_t ci = 0; ci < st.n_cams && !rc; ci++) {
            cc_cam *c = &st.cams[ci];
            long im = pair_image(&st, c, &rot);
            if (im < 0) continue;
            cc_frame *f = NULL;
            double edge = 0;
            if (!disc_done && (rc = disc_compute(&rot, sw, &disc, err))) break;
            disc_done = 1;
            if ((rc = frame_make(&st, c, sw, &disc, im, &f, &edge, err))) break;
            c->edge_sum += edge;
            c->out->frames++;
            rc = frame_add(&st, c, f, err);
        }
        if (rc) goto out;
        if (o->progress) o->progress(avt_sweep_source_fraction(src), r->sweeps, o->progress_ctx);
    }
    if (rc) goto out;
    avt_sweep_source_close(src);
    src = NULL;

    r->status = AVT_CC_ALIGNED;
    size_t npick = 0;
    for (size_t ci = 0; ci < st.n_cams; ci++) {
        cc_cam *c = &st.cams[ci];
        avt_calib_check_camera *out = c->out;
        if (o->window && c->n_win * 2 >= o->window && (rc = window_close(&st, c, err))) goto out;
        out->edge_fraction = out->frames ? c->edge_sum / out->frames : 0;
        if (c->n_keep == 0) {
            out->status = AVT_CC_UNDETERMINED;
            out->confidence = 0;
            avt_cc_estimate_clear(&out->est); /* nothing searched */
        } else {
            avt_cc_frame *v = malloc(2 * c->n_keep * sizeof *v);
            if (!v) {
                rc = avt_err(err, AVT_NOMEM, "out of memory");
                goto out;
            }
            frame_views(c->keep, c->n_keep, v);
            rc = avt_cc_search(&c->model, &c->cam->lidar_T_cam, v, 2 * c->n_keep, &o->search, &out->est, err);
            if (!rc) rc = judge(c, v, 2 * c->n_keep, o, &out->est, &out->status, err);
            free(v);
            if (rc) {
                avt_err_prefix(err, "camera %s", c->cam->name);
                goto out;
            }
            out->confidence = out->status == AVT_CC_MISCALIBRATED ? out->est.f_best : out->est.f_stored;
        }
        if (out->status == AVT_CC_MISCALIBRATED) r->status = AVT_CC_MISCALIBRATED;
        else if (out->status == AVT_CC_UNDETERMINED && r->status == AVT_CC_ALIGNED) r->status = AVT_CC_UNDETERMINED;
    }
    if (!o->overlay_dir || o->overlays == 0) goto out;
    /* the sweeps with overlays: evenly spread over the checked range's kept frames of the first camera
     * with frames */
    for (size_t ci = 0; ci < st.n_cams && npick == 0; ci++) {
        cc_cam *c = &st.cams[ci];
        if (c->n_keep == 0) continue;
        pick = malloc(o->overlays * sizeof *pick);
        if (!pick) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
            goto out;
        }
        for (unsigned k = 0; k < o->overlays && k < c->n_keep; k++) {
            size_t i = o->overlays == 1 || c->n_keep == 1 ? 0 : (size_t)k * (c->n_keep - 1) / (o->overlays - 1);
            if (npick == 0 || pick[npick - 1] != c->keep[i]->index) pick[npick++] = c->keep[i]->index;
        }
    }
    if (npick) rc = overlays_write(&st, pick, npick, err);
out:
    free(pick);
    disc_free(&disc);
    avt_sweep_source_close(src);
    state_free(&st);
    if (rc) avt_calib_check_report_free(r);
    return rc;
}

void avt_calib_check_report_free(avt_calib_check_report *r)
{
    for (size_t i = 0; r->cams && i < r->n_cams; i++) {
        free(r->cams[i].windows);
        free(r->cams[i].overlays);
    }
    free(r->cams);
    memset(r, 0, sizeof *r);
}

/* ---- JSON report ---- */

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *error_json(const double e[AVT_CC_NPARAM])
{
    json_t *o = json_object();
    json_object_set_new(o, "roll_deg", num(e[AVT_CC_ROLL] / DEG));
    json_object_set_new(o, "pitch_deg", num(e[AVT_CC_PITCH] / DEG));
    json_object_set_new(o, "yaw_deg", num(e[AVT_CC_YAW] / DEG));
    json_object_set_new(o, "x_m", num(e[AVT_CC_X]));
    json_object_set_new(o, "y_m", num(e[AVT_CC_Y]));
    json_object_set_new(o, "z_m", num(e[AVT_CC_Z]));
    return o;
}

static const char *const PARAM_NAMES[AVT_CC_NPARAM] = {"roll", "pitch", "yaw", "x", "y", "z"};

/* How the correction moves the points as the LiDAR sees them (avt_cc_displacement). */
static json_t *displacement_json(const avt_cc_estimate *e)
{
    json_t *d = json_object();
    json_object_set_new(d, "across_rings_deg", num(e->across_rad / DEG));
    json_object_set_new(d, "along_rings_deg", num(e->along_rad / DEG));
    json_object_set_new(d, "across_rings_half_gaps", num(e->across_gaps));
    json_object_set_new(d, "share_beyond_tolerance", num(e->beyond_tol));
    json_object_set_new(d, "across_rings_gain", num(e->across_gain));
    json_object_set_new(d, "across_rings_share", num(e->across_share));
    return d;
}

/* The jackknife's figures beside "significance": the effective bands, the significance needed
 * (null when not computed or when none suffices) and whether it was reached (null without the
 * jackknife). */
static void significance_json(json_t *o, const avt_cc_estimate *e, const avt_cc_thresholds *t)
{
    const double need = avt_cc_significance_needed(e, t);
    json_object_set_new(o, "bands", num(e->bands));
    json_object_set_new(o, "significance_needed", num(need));
    json_object_set_new(o, "significant", isnan(e->significance) ? json_null() : json_boolean(e->significance >= need));
}

int avt_calib_check_write_json(const avt_calib_check_report *r, const char *path, avt_error *err)
{
    json_t *root = json_object(), *cams = json_array();
    json_object_set_new(root, "log", json_string(r->log));
    json_object_set_new(root, "sweeps", json_integer((json_int_t)r->sweeps));
    json_object_set_new(root, "status", json_string(avt_cc_status_name(r->status)));
    json_object_set_new(root, "convention",
                        json_string("stored lidar_T_cam = E * true lidar_T_cam, E = Trans(x,y,z) Rz(yaw) Ry(pitch) "
                                    "Rx(roll) about the LiDAR axes"));
    for (size_t i = 0; i < r->n_cams; i++) {
        const avt_calib_check_camera *c = &r->cams[i];
        json_t *o = json_object(), *sh = json_object(), *br = json_object(), *obs = json_object();
        json_t *wins = json_array(), *ovs = json_array();
        json_object_set_new(o, "camera", json_string(c->name));
        json_object_set_new(o, "status", json_string(avt_cc_status_name(c->status)));
        json_object_set_new(o, "error", error_json(c->est.error));
        json_object_set_new(o, "standard_error", error_json(c->est.sd));
        json_object_set_new(o, "significance", num(c->est.significance));
        significance_json(o, &c->est, &r->thresholds);
        json_object_set_new(o, "displacement", displacement_json(&c->est));
        json_object_set_new(o, "common_gain", num(c->est.common_gain));
        json_object_set_new(o, "confidence", num(c->confidence));
        json_object_set_new(o, "f_stored", num(c->est.f_stored));
        json_object_set_new(o, "f_best", num(c->est.f_best));
        for (int k = 0; k < AVT_CC_NPARAM; k++) {
            json_object_set_new(sh, PARAM_NAMES[k], num(c->est.sharpness[k]));
            json_object_set_new(br, PARAM_NAMES[k], num(c->est.breadth[k]));
            json_object_set_new(obs, PARAM_NAMES[k], json_boolean(c->est.observed[k]));
        }
        json_object_set_new(o, "sharpness", sh);
        json_object_set_new(o, "breadth", br);
        json_object_set_new(o, "observed", obs);
        json_object_set_new(o, "at_search_bound", json_boolean(c->est.at_bound));
        json_object_set_new(o, "score_stored", num(c->est.score_stored));
        json_object_set_new(o, "score_best", num(c->est.score_best));
        json_object_set_new(o, "points", json_integer((json_int_t)c->est.points));
        json_object_set_new(o, "frames", json_integer(c->frames));
        json_object_set_new(o, "edge_fraction", num(c->edge_fraction));
        for (size_t k = 0; k < c->n_windows; k++) {
            const avt_calib_check_window *w = &c->windows[k];
            json_t *wo = json_object();
            json_object_set_new(wo, "first_frame", json_integer((json_int_t)w->first_frame));
            json_object_set_new(wo, "last_frame", json_integer((json_int_t)w->last_frame));
            json_object_set_new(wo, "frames", json_integer(w->frames));
            json_object_set_new(wo, "status", json_string(avt_cc_status_name(w->status)));
            json_object_set_new(wo, "error", error_json(w->est.error));
            json_object_set_new(wo, "score_stored", num(w->est.score_stored));
            json_object_set_new(wo, "score_best", num(w->est.score_best));
            json_object_set_new(wo, "significance", num(w->est.significance));
            significance_json(wo, &w->est, &r->thresholds);
            json_object_set_new(wo, "displacement", displacement_json(&w->est));
            json_object_set_new(wo, "common_gain", num(w->est.common_gain));
            json_object_set_new(wo, "points", json_integer((json_int_t)w->est.points));
            json_array_append_new(wins, wo);
        }
        json_object_set_new(o, "windows", wins);
        for (size_t k = 0; k < c->n_overlays; k++) {
            const avt_calib_check_overlay *v = &c->overlays[k];
            json_t *vo = json_object();
            json_object_set_new(vo, "frame", json_integer((json_int_t)v->frame));
            json_object_set_new(vo, "stored", json_string(v->stored));
            json_object_set_new(vo, "corrected", json_string(v->corrected));
            json_object_set_new(vo, "score_stored", num(v->score_stored));
            json_object_set_new(vo, "score_corrected", num(v->score_corrected));
            json_array_append_new(ovs, vo);
        }
        json_object_set_new(o, "overlays", ovs);
        json_array_append_new(cams, o);
    }
    json_object_set_new(root, "cameras", cams);
    char tmp[4096];
    int rc = AVT_OK;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) rc = avt_err(err, AVT_INVAL, "%s: path too long", path);
    else if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        rc = avt_err(err, AVT_IO, "%s: cannot write the report", path);
    }
    json_decref(root);
    return rc;
}
