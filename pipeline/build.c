/* avtruth pipeline: `avtruth build` — a drive log (docs/drive-log.md) through every stage into
 * the HDF5 file of ../shared/FORMAT.md.
 *
 * Per sweep: deskew the points to the sweep's reference time with the ego poses, attach the
 * nearest label file, label points by box, pair every camera's image (sync policy), move the
 * boxes and points to the image's time (ego motion and box velocity), project boxes and
 * points, and append the frame to the file. Buffers are reused: memory is bounded by one sweep
 * plus per-camera buffers whatever the log's length. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "avtruth/calib.h"
#include "avtruth/export.h"
#include "avtruth/ingest.h"
#include "avtruth/labels.h"
#include "avtruth/pipeline.h"
#include "avtruth/project.h"
#include "avtruth/sync.h"
#include "preview.h"

void avt_build_options_default(avt_build_options *o)
{
    memset(o, 0, sizeof *o);
    o->compression = "gzip";
    o->policy = "trigger";
    o->sync_tolerance_ns = 50000000;
    o->label_tolerance_ns = 5000000;
    o->cut_angle_deg = 180;
    o->lidar_model = "auto";
    o->git_sha = "unknown";
    o->command_line = "";
    o->preview_stride = 10;
}

/* Reusable per-camera buffers. */
typedef struct cam_work {
    avt_cam_model model;
    avt_tf cam_T_lidar;
    avt_camera_stream stream;
    double axis_az_deg;
    float *uv, *depth, *dsamp_uv, *dsamp;
    uint8_t *valid;
    size_t cap_pts, cap_d;
    avt_box2d *b2d;
    size_t cap_b2d;
    float *cell_min; /* coarse depth buffer for visibility */
    avt_sync_stats stats;
} cam_work;

typedef struct build_state {
    avt_rig rig;
    avt_poses poses;
    avt_label_index labels;
    avt_lidar_reader *lidar;
    avt_export_writer *writer;
    cam_work *cams;
    avt_camera_frame *cframes;
    float *xyz;
    int32_t *tdelta;
    uint16_t *plabel;
    int32_t *pinst;
    size_t cap_pts;
    avt_box3d *b3d;
    avt_label_box *lboxes;
    uint32_t *counts;
    size_t cap_boxes;
    char lidar_path[4096];
} build_state;

#define CELL 4 /* visibility depth-buffer cell, pixels */

static int find_pcap(const char *log_dir, char *out, size_t n, avt_error *err)
{
    char dir[4096];
    if (avt_path_join(dir, sizeof dir, log_dir, "lidar")) return avt_err(err, AVT_INVAL, "%s: path too long", log_dir);
    DIR *d = opendir(dir);
    if (!d)
        return avt_err(err, AVT_NOTFOUND, "%s: no lidar/ directory (%s); a drive log needs lidar/<sensor>.pcap",
                       log_dir, strerror(errno));
    char best[256] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *ext = strrchr(e->d_name, '.');
        if (!ext || (strcmp(ext, ".pcap") != 0 && strcmp(ext, ".pcapng") != 0)) continue;
        if (strlen(e->d_name) < sizeof best && (!best[0] || strcmp(e->d_name, best) < 0))
            memcpy(best, e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    if (!best[0]) return avt_err(err, AVT_NOTFOUND, "%s: no .pcap or .pcapng capture in lidar/", log_dir);
    if (avt_path_join(out, n, dir, best)) return avt_err(err, AVT_INVAL, "%s: path too long", dir);
    return AVT_OK;
}

/* world_T_box at time t of a label box given in the LiDAR frame at the label's time. */
static void box_world(const avt_label_box *lb, const avt_tf *world_T_lidar_l, int64_t t_label, int64_t t,
                      avt_obox *out)
{
    avt_tf_apply(world_T_lidar_l, lb->center, out->center);
    double dt = (double)(t - t_label) * 1e-9;
    if (isfinite(lb->velocity[0]) && dt != 0) {
        double vw[3];
        avt_tf_rotate(world_T_lidar_l, lb->velocity, vw);
        for (int k = 0; k < 3; k++) out->center[k] += vw[k] * dt;
    }
    memcpy(out->size, lb->size, sizeof out->size);
    double c = cos(lb->yaw), s = sin(lb->yaw);
    const double Rl[9] = {c, -s, 0, s, c, 0, 0, 0, 1};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double acc = 0;
            for (int k = 0; k < 3; k++) acc += world_T_lidar_l->m[4 * i + k] * Rl[3 * k + j];
            out->R[3 * i + j] = acc;
        }
}

static int grow_frame_buffers(build_state *st, size_t n, avt_error *err)
{
    size_t cap = st->cap_pts;
    if (avt_grow((void **)&st->xyz, &cap, n, 3 * sizeof(float))) goto nomem;
    cap = st->cap_pts;
    if (avt_grow((void **)&st->tdelta, &cap, n, sizeof(int32_t))) goto nomem;
    cap = st->cap_pts;
    if (avt_grow((void **)&st->plabel, &cap, n, sizeof(uint16_t))) goto nomem;
    cap = st->cap_pts;
    if (avt_grow((void **)&st->pinst, &cap, n, sizeof(int32_t))) goto nomem;
    for (size_t c = 0; c < st->rig.n_cameras; c++) {
        cam_work *cw = &st->cams[c];
        size_t cc = cw->cap_pts;
        if (avt_grow((void **)&cw->uv, &cc, n, 2 * sizeof(float))) goto nomem;
        cc = cw->cap_pts;
        if (avt_grow((void **)&cw->depth, &cc, n, sizeof(float))) goto nomem;
        cc = cw->cap_pts;
        if (avt_grow((void **)&cw->valid, &cc, n, 1)) goto nomem;
        cc = cw->cap_pts;
        if (avt_grow((void **)&cw->dsamp_uv, &cc, n, 2 * sizeof(float))) goto nomem;
        cc = cw->cap_pts;
        if (avt_grow((void **)&cw->dsamp, &cc, n, sizeof(float))) goto nomem;
        cw->cap_pts = cc;
    }
    st->cap_pts = cap;
    return AVT_OK;
nomem:
    return avt_err(err, AVT_NOMEM, "out of memory for a sweep of %zu points", n);
}

static int grow_box_buffers(build_state *st, size_t nb, avt_error *err)
{
    size_t cap = st->cap_boxes;
    if (avt_grow((void **)&st->b3d, &cap, nb, sizeof *st->b3d)) goto nomem;
    cap = st->cap_boxes;
    if (avt_grow((void **)&st->lboxes, &cap, nb, sizeof *st->lboxes)) goto nomem;
    cap = st->cap_boxes;
    if (avt_grow((void **)&st->counts, &cap, nb, sizeof *st->counts)) goto nomem;
    for (size_t c = 0; c < st->rig.n_cameras; c++) {
        size_t cc = st->cams[c].cap_b2d;
        if (avt_grow((void **)&st->cams[c].b2d, &cc, nb, sizeof(avt_box2d))) goto nomem;
        st->cams[c].cap_b2d = cc;
    }
    st->cap_boxes = cap;
    return AVT_OK;
nomem:
    return avt_err(err, AVT_NOMEM, "out of memory for %zu boxes", nb);
}

/* Deskews the sweep's points into st->xyz: p_ref = lidar_T_ego W(t_ref)^-1 W(t_p) ego_T_lidar p. */
static int deskew(build_state *st, const avt_sweep *sw, avt_error *err)
{
    if (st->poses.n == 0) {
        memcpy(st->xyz, sw->xyz, sw->n * 3 * sizeof(float));
        return AVT_OK;
    }
    avt_tf w_ref, ego_T_lidar = avt_tf_inv(&st->rig.lidar_T_ego);
    int rc = avt_poses_at(&st->poses, sw->timestamp_ns, &w_ref, err);
    if (rc) return avt_err_prefix(err, "sweep %llu", (unsigned long long)sw->index);
    avt_tf w_inv = avt_tf_inv(&w_ref);
    avt_tf lidar_ref_T_world = avt_tf_mul(&st->rig.lidar_T_ego, &w_inv);
    /* Pose changes little within one firing; evaluate it once per distinct point time. */
    int64_t last_t = INT64_MIN;
    avt_tf M = avt_tf_identity();
    for (size_t i = 0; i < sw->n; i++) {
        if (sw->t_ns[i] != last_t) {
            avt_tf w_p;
            if ((rc = avt_poses_at(&st->poses, sw->t_ns[i], &w_p, err)))
                return avt_err_prefix(err, "%s: sweep %llu", st->lidar_path, (unsigned long long)sw->index);
            avt_tf a = avt_tf_mul(&w_p, &ego_T_lidar);
            M = avt_tf_mul(&lidar_ref_T_world, &a);
            last_t = sw->t_ns[i];
        }
        double p[3] = {sw->xyz[3 * i], sw->xyz[3 * i + 1], sw->xyz[3 * i + 2]}, q[3];
        avt_tf_apply(&M, p, q);
        for (int k = 0; k < 3; k++) st->xyz[3 * i + k] = (float)q[k];
    }
    return AVT_OK;
}

static int process_frame(build_state *st, const char *log_dir, const avt_sweep *sw, const avt_build_options *opt,
                         uint64_t frame_no, avt_build_summary *sum, avt_error *err)
{
    int rc;
    const size_t n = sw->n;
    avt_label_frame lf = {0, NULL, 0};
    if ((rc = grow_frame_buffers(st, n ? n : 1, err))) return rc;
    if ((rc = deskew(st, sw, err))) return rc;
    for (size_t i = 0; i < n; i++) {
        int64_t d = sw->t_ns[i] - sw->timestamp_ns;
        if (d > INT32_MAX || d < INT32_MIN)
            return avt_err(err, AVT_FORMAT, "%s: sweep %llu: point time %lld ns is %lld ns from the sweep time",
                           st->lidar_path, (unsigned long long)sw->index, (long long)sw->t_ns[i], (long long)d);
        st->tdelta[i] = (int32_t)d;
    }
    const avt_tf ego_T_lidar = avt_tf_inv(&st->rig.lidar_T_ego);
    avt_tf w_ref;
    if ((rc = avt_poses_at(&st->poses, sw->timestamp_ns, &w_ref, err))) return rc;
    avt_tf world_T_lidar_ref = avt_tf_mul(&w_ref, &ego_T_lidar);
    avt_tf lidar_ref_T_world = avt_tf_inv(&world_T_lidar_ref);

    /* labels of this sweep, moved to the sweep's reference time */
    long li = avt_label_index_find(&st->labels, sw->timestamp_ns, opt->label_tolerance_ns);
    avt_tf world_T_lidar_label = world_T_lidar_ref;
    if (li >= 0) {
        if ((rc = avt_label_frame_load(st->labels.paths[li], &lf, err))) goto out;
        if ((rc = grow_box_buffers(st, lf.n ? lf.n : 1, err))) goto out;
        avt_tf w_l;
        if ((rc = avt_poses_at(&st->poses, lf.timestamp_ns, &w_l, err))) goto out;
        world_T_lidar_label = avt_tf_mul(&w_l, &ego_T_lidar);
        if ((rc = avt_export_add_input(st->writer, st->labels.paths[li] + strlen(log_dir) + 1, st->labels.paths[li], err)))
            goto out;
        sum->label_files_used++;
    } else if ((rc = grow_box_buffers(st, 1, err))) {
        goto out;
    }
    const size_t nb = lf.n;
    for (size_t b = 0; b < nb; b++) {
        avt_label_box *lb = &st->lboxes[b];
        *lb = lf.boxes[b];
        if (lf.timestamp_ns != sw->timestamp_ns) {
            avt_obox wb;
            box_world(&lf.boxes[b], &world_T_lidar_label, lf.timestamp_ns, sw->timestamp_ns, &wb);
            avt_tf_apply(&lidar_ref_T_world, wb.center, lb->center);
            double r00 = 0, r10 = 0;
            for (int k = 0; k < 3; k++) {
                r00 += lidar_ref_T_world.m[k] * wb.R[3 * k];
                r10 += lidar_ref_T_world.m[4 + k] * wb.R[3 * k];
            }
            lb->yaw = atan2(r10, r00);
            if (isfinite(lf.boxes[b].velocity[0])) {
                double vw[3];
                avt_tf_rotate(&world_T_lidar_label, lf.boxes[b].velocity, vw);
                avt_tf_rotate(&lidar_ref_T_world, vw, lb->velocity);
            }
        }
    }
    avt_label_points(st->xyz, n, st->lboxes, nb, st->plabel, st->pinst, st->counts);
    for (size_t b = 0; b < nb; b++) {
        const avt_label_box *lb = &st->lboxes[b];
        avt_box3d *o = &st->b3d[b];
        for (int k = 0; k < 3; k++) {
            o->center[k] = (float)lb->center[k];
            o->size[k] = (float)lb->size[k];
            o->velocity[k] = (float)lb->velocity[k];
        }
        o->yaw = (float)lb->yaw;
        o->rotation[0] = (float)cos(0.5 * lb->yaw);
        o->rotation[1] = o->rotation[2] = 0;
        o->rotation[3] = (float)sin(0.5 * lb->yaw);
        o->class_id = (uint16_t)lb->class_id;
        o->track_id = lb->track_id;
        o->num_lidar_points = st->counts[b];
        o->attributes = lb->attributes;
    }

    /* cameras */
    for (size_t c = 0; c < st->rig.n_cameras; c++) {
        cam_work *cw = &st->cams[c];
        avt_camera_frame *cf = &st->cframes[c];
        const avt_camera *cam = &st->rig.cameras[c];
        memset(cf, 0, sizeof *cf);
        cf->timestamp_ns = INT64_MIN;
        cf->image_path = "";
        int64_t t_cam = strcmp(opt->policy, "nearest") == 0
                            ? sw->timestamp_ns
                            : avt_sync_trigger_time(sw, opt->cut_angle_deg, cw->axis_az_deg);
        long im = avt_sync_nearest(&cw->stream, t_cam, opt->sync_tolerance_ns);
        if (im < 0) {
            cw->stats.unpaired_frames++;
            continue;
        }
        const avt_image_ref *ir = &cw->stream.images[im];
        char abs_img[4096];
        avt_png_info info;
        if (avt_path_join(abs_img, sizeof abs_img, log_dir, ir->path)) {
            rc = avt_err(err, AVT_INVAL, "%s: path too long", ir->path);
            goto out;
        }
        if ((rc = avt_png_read_info(abs_img, &info, err))) goto out;
        if (info.width != cam->width || info.height != cam->height) {
            rc = avt_err(err, AVT_MISMATCH, "%s: image is %ux%u but calib.yaml says camera %s is %ux%u", abs_img,
                         info.width, info.height, cam->name, cam->width, cam->height);
            goto out;
        }
        if ((rc = avt_export_add_input(st->writer, ir->path, abs_img, err))) goto out;
        if ((rc = avt_sync_stats_add(&cw->stats, im, ir->t_ns - t_cam))) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
            goto out;
        }
        cf->timestamp_ns = ir->t_ns;
        cf->sync_delta_ns = ir->t_ns - t_cam;
        cf->image_path = ir->path;

        avt_tf w_img;
        if ((rc = avt_poses_at(&st->poses, ir->t_ns, &w_img, err))) {
            avt_err_prefix(err, "%s", abs_img);
            goto out;
        }
        avt_tf w_img_inv = avt_tf_inv(&w_img);
        avt_tf lidar_img_T_world = avt_tf_mul(&st->rig.lidar_T_ego, &w_img_inv);
        avt_tf cam_T_world = avt_tf_mul(&cw->cam_T_lidar, &lidar_img_T_world);
        avt_tf cam_T_lidar_ref = avt_tf_mul(&cam_T_world, &world_T_lidar_ref);

        avt_cam_project_points(&cw->model, &cam_T_lidar_ref, st->xyz, n, cw->uv, cw->depth, cw->valid);
        const unsigned gw = (cam->width + CELL - 1) / CELL, gh = (cam->height + CELL - 1) / CELL;
        for (size_t k = 0; k < (size_t)gw * gh; k++) cw->cell_min[k] = INFINITY;
        size_t nd = 0;
        for (size_t i = 0; i < n; i++) {
            if (!cw->valid[i]) continue;
            cw->dsamp_uv[2 * nd] = cw->uv[2 * i];
            cw->dsamp_uv[2 * nd + 1] = cw->uv[2 * i + 1];
            cw->dsamp[nd++] = cw->depth[i];
            size_t cell = (size_t)((cw->uv[2 * i + 1] + 0.5f) / CELL) * gw + (size_t)((cw->uv[2 * i] + 0.5f) / CELL);
            if (cw->depth[i] < cw->cell_min[cell]) cw->cell_min[cell] = cw->depth[i];
        }
        cf->n_depth = nd;
        cf->depth_uv = cw->dsamp_uv;
        cf->depth = cw->dsamp;

        size_t k2 = 0;
        for (size_t b = 0; b < nb; b++) {
            avt_obox wb;
            avt_box_projection bp;
            box_world(&lf.boxes[b], &world_T_lidar_label, lf.timestamp_ns, ir->t_ns, &wb);
            if (!avt_box_project(&cw->model, &cam_T_world, &wb, &bp)) continue;
            avt_box2d *o = &cw->b2d[k2++];
            o->box3d_index = (uint32_t)b;
            for (int q = 0; q < 4; q++) o->xyxy[q] = (float)bp.xyxy[q];
            for (int q = 0; q < 8; q++) {
                o->corners[2 * q] = (float)bp.corners[q][0];
                o->corners[2 * q + 1] = (float)bp.corners[q][1];
            }
            o->truncation = (float)bp.truncation;
            /* visibility: box points in the image not hidden by a point more than 0.5 m nearer
             * in the same CELL x CELL pixel cell */
            uint32_t in_img = 0, vis = 0;
            for (size_t i = 0; i < n; i++) {
                if (st->pinst[i] != (int32_t)b || !cw->valid[i]) continue;
                in_img++;
                size_t cell = (size_t)((cw->uv[2 * i + 1] + 0.5f) / CELL) * gw + (size_t)((cw->uv[2 * i] + 0.5f) / CELL);
                if (cw->depth[i] <= cw->cell_min[cell] + 0.5f) vis++;
            }
            o->num_lidar_points = in_img;
            o->visibility = in_img ? (float)vis / (float)in_img : NAN;
        }
        cf->n_boxes2d = k2;
        cf->boxes2d = cw->b2d;
        sum->boxes2d += k2;
        sum->depth_samples += nd;
        if (opt->preview_dir && opt->preview_stride && frame_no % opt->preview_stride == 0) {
            char pv[4096];
            snprintf(pv, sizeof pv, "%s/preview_%s_%04llu.png", opt->preview_dir, cam->name,
                     (unsigned long long)frame_no);
            if ((rc = avt_preview_draw(abs_img, cf, pv, err))) goto out;
        }
    }

    avt_frame_out fo;
    memset(&fo, 0, sizeof fo);
    fo.timestamp_ns = sw->timestamp_ns;
    fo.start_ns = sw->start_ns;
    fo.end_ns = sw->end_ns;
    memcpy(fo.ego_pose, w_ref.m, sizeof fo.ego_pose);
    fo.packets = sw->packets;
    fo.packets_lost = sw->packets_lost;
    fo.n_points = n;
    fo.xyz = st->xyz;
    fo.intensity = sw->intensity;
    fo.ring = sw->ring;
    fo.time_ns = st->tdelta;
    fo.return_type = sw->return_type;
    fo.label = st->plabel;
    fo.instance = st->pinst;
    fo.n_boxes = nb;
    fo.boxes = st->b3d;
    fo.cams = st->cframes;
    if ((rc = avt_export_frame(st->writer, &fo, err))) goto out;
    sum->frames++;
    sum->points += n;
    sum->boxes3d += nb;
out:
    avt_label_frame_free(&lf);
    return rc;
}

static char *config_json(const char *log_dir, const avt_build_options *o)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) return NULL;
    fprintf(f,
            "{\"log_dir\": \"%s\", \"compression\": \"%s\", \"sync_policy\": \"%s\", \"sync_tolerance_ns\": %lld, "
            "\"label_tolerance_ns\": %lld, \"cut_angle_deg\": %.17g, \"lidar_model\": \"%s\"}",
            log_dir, o->compression, o->policy, (long long)o->sync_tolerance_ns, (long long)o->label_tolerance_ns,
            o->cut_angle_deg, o->lidar_model);
    fclose(f);
    return s;
}

static void state_free(build_state *st)
{
    avt_lidar_close(st->lidar);
    if (st->cams)
        for (size_t c = 0; c < st->rig.n_cameras; c++) {
            cam_work *cw = &st->cams[c];
            avt_camera_stream_free(&cw->stream);
            avt_sync_stats_free(&cw->stats);
            free(cw->uv), free(cw->depth), free(cw->valid), free(cw->dsamp_uv), free(cw->dsamp);
            free(cw->b2d), free(cw->cell_min);
        }
    free(st->cams);
    free(st->cframes);
    free(st->xyz), free(st->tdelta), free(st->plabel), free(st->pinst);
    free(st->b3d), free(st->lboxes), free(st->counts);
    avt_label_index_free(&st->labels);
    avt_poses_free(&st->poses);
    avt_rig_free(&st->rig);
}

int avt_build(const char *log_dir, const char *out_path, const avt_build_options *opt, avt_build_summary *sum,
              avt_error *err)
{
    build_state st;
    memset(&st, 0, sizeof st);
    memset(sum, 0, sizeof *sum);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const int64_t started = avt_now_ns();
    char path[4096], *cfg_json = NULL;
    avt_sync_camera_summary *ss = NULL;
    int rc;
    struct stat sb;

    if (stat(log_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return avt_err(err, AVT_NOTFOUND, "%s: not a drive-log directory", log_dir);
    if (strcmp(opt->policy, "trigger") != 0 && strcmp(opt->policy, "nearest") != 0)
        return avt_err(err, AVT_INVAL, "unknown sync policy '%s' (trigger, nearest)", opt->policy);
    if ((rc = avt_path_join(path, sizeof path, log_dir, "calib.yaml")))
        return avt_err(err, AVT_INVAL, "%s: path too long", log_dir);
    if ((rc = avt_rig_load_yaml(path, &st.rig, err))) goto out;
    if ((rc = avt_path_join(path, sizeof path, log_dir, "poses.csv"))) goto out;
    if ((rc = avt_poses_load(path, &st.poses, err))) goto out;
    if ((rc = avt_label_index_open(log_dir, &st.labels, err))) goto out;
    if ((rc = find_pcap(log_dir, st.lidar_path, sizeof st.lidar_path, err))) goto out;

    st.cams = calloc(st.rig.n_cameras ? st.rig.n_cameras : 1, sizeof *st.cams);
    st.cframes = calloc(st.rig.n_cameras ? st.rig.n_cameras : 1, sizeof *st.cframes);
    if (!st.cams || !st.cframes) {
        rc = avt_err(err, AVT_NOMEM, "out of memory");
        goto out;
    }
    sum->n_cameras = st.rig.n_cameras < AVT_SUMMARY_MAX_CAMERAS ? (unsigned)st.rig.n_cameras : AVT_SUMMARY_MAX_CAMERAS;
    for (size_t c = 0; c < st.rig.n_cameras; c++) {
        cam_work *cw = &st.cams[c];
        const avt_camera *cam = &st.rig.cameras[c];
        cw->stats.last_image = -1;
        if ((rc = avt_cam_model_init(&cw->model, cam, err))) goto out;
        cw->cam_T_lidar = avt_tf_inv(&cam->lidar_T_cam);
        cw->axis_az_deg = avt_sync_camera_azimuth_deg(cam);
        size_t cells = (size_t)((cam->width + CELL - 1) / CELL) * ((cam->height + CELL - 1) / CELL);
        cw->cell_min = malloc(cells * sizeof *cw->cell_min);
        if (!cw->cell_min) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
            goto out;
        }
        if ((rc = avt_camera_stream_list(log_dir, cam->name, &cw->stream, err))) goto out;
        if (c < AVT_SUMMARY_MAX_CAMERAS) {
            snprintf(sum->cam[c].name, sizeof sum->cam[c].name, "%s", cam->name);
            sum->cam[c].images = cw->stream.n;
        }
    }

    avt_lidar_config lc;
    avt_lidar_config_default(&lc);
    lc.model = opt->lidar_model;
    lc.cut_angle_deg = opt->cut_angle_deg;
    st.lidar = avt_lidar_open(st.lidar_path, &lc, err);
    if (!st.lidar) {
        rc = err ? err->code : AVT_IO;
        goto out;
    }
    avt_export_options eo;
    memset(&eo, 0, sizeof eo);
    eo.compression = opt->compression;
    const char *base = strrchr(log_dir, '/');
    eo.log_id = (base && base[1]) ? base + 1 : log_dir;
    st.writer = avt_export_open(out_path, &st.rig, AVT_CLASS_NAMES, AVT_NUM_CLASSES, &eo, err);
    if (!st.writer) {
        rc = err ? err->code : AVT_IO;
        goto out;
    }
    char calib_abs[4096];
    avt_path_join(calib_abs, sizeof calib_abs, log_dir, "calib.yaml");
    if ((rc = avt_export_add_input(st.writer, "calib.yaml", calib_abs, err))) goto out;
    if (st.poses.n && (rc = avt_export_add_input(st.writer, "poses.csv", st.poses.path, err))) goto out;
    if ((rc = avt_export_add_input(st.writer, st.lidar_path + strlen(log_dir) + 1, st.lidar_path, err))) goto out;

    const avt_sweep *sw;
    uint64_t frame_no = 0;
    for (;;) {
        int r = avt_lidar_next(st.lidar, &sw, err);
        if (r < 0) {
            rc = r;
            goto out;
        }
        if (r == 0) break;
        if ((rc = process_frame(&st, log_dir, sw, opt, frame_no, sum, err))) goto out;
        frame_no++;
        if (opt->progress) opt->progress(frame_no, sw->timestamp_ns, opt->progress_ctx);
    }
    if (frame_no == 0) {
        rc = avt_err(err, AVT_FORMAT, "%s: no LiDAR sweeps decoded (empty capture?)", st.lidar_path);
        goto out;
    }

    ss = calloc(st.rig.n_cameras ? st.rig.n_cameras : 1, sizeof *ss);
    cfg_json = config_json(log_dir, opt);
    if (!ss || !cfg_json) {
        rc = avt_err(err, AVT_NOMEM, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < st.rig.n_cameras; c++) {
        cam_work *cw = &st.cams[c];
        avt_sync_camera_summary *s = &ss[c];
        s->policy = opt->policy;
        s->tolerance_ns = opt->sync_tolerance_ns;
        s->paired = cw->stats.paired;
        s->unpaired_frames = cw->stats.unpaired_frames;
        s->unpaired_images = cw->stream.n > cw->stats.paired ? cw->stream.n - cw->stats.paired : 0;
        s->duplicates = cw->stats.reused;
        avt_sync_stats_summary(&cw->stats, &s->delta_min_ns, &s->delta_median_ns, &s->delta_p95_ns, &s->delta_max_ns);
        if (c < AVT_SUMMARY_MAX_CAMERAS) {
            sum->cam[c].paired = s->paired;
            sum->cam[c].unpaired_frames = s->unpaired_frames;
            sum->cam[c].delta_median_ns = s->delta_median_ns;
            sum->cam[c].delta_max_abs_ns = llabs(s->delta_min_ns) > llabs(s->delta_max_ns) ? llabs(s->delta_min_ns)
                                                                                          : llabs(s->delta_max_ns);
        }
    }
    avt_export_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.tool_version = AVT_VERSION;
    meta.git_sha = opt->git_sha;
    meta.command_line = opt->command_line;
    meta.config_json = cfg_json;
    meta.started_ns = started;
    meta.calibration_source = st.rig.source;
    meta.sync = ss;
    rc = avt_export_finish(st.writer, &meta, err);
    st.writer = NULL;
out:
    if (st.writer) avt_export_abort(st.writer);
    free(ss);
    free(cfg_json);
    state_free(&st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sum->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return rc;
}
