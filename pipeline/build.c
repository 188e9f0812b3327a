/* avtruth pipeline: `avtruth build` — a drive log (docs/drive-log.md) through every stage into
 * the HDF5 file of ../shared/FORMAT.md. Only wiring: each step below is a function of a room.
 *
 * Per sweep: deskew the points to the sweep's reference time (labels/motion.c), attach the
 * nearest label file and move its boxes to the sweep's time (labels/), label points by box,
 * pair every camera's image (sync/), move the boxes and points to the image's time, project
 * them and decide which boxes are seen (project/), and append the frame (export/). Buffers are
 * reused: memory is bounded by four sweeps (three for a frame, one read ahead) plus per-camera
 * buffers whatever the log's length. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "avtruth/calib.h"
#include "avtruth/drivelog.h"
#include "avtruth/export.h"
#include "avtruth/ingest.h"
#include "avtruth/labels.h"
#include "avtruth/pipeline.h"
#include "avtruth/project.h"
#include "avtruth/sync.h"
#include "validation.h"

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
    o->box_visibility = "any";
    o->clock_correct = "auto";
}

const char *avt_build_stage_name(int stage)
{
    static const char *const names[AVT_BUILD_STAGES] = {"setup",   "decode", "deskew", "labels",
                                                         "cameras", "export", "finish"};
    return stage >= 0 && stage < AVT_BUILD_STAGES ? names[stage] : "?";
}

void avt_build_summary_free(avt_build_summary *s)
{
    if (!s) return;
    free(s->cam);
    s->cam = NULL;
    s->n_cameras = 0;
}

/* The options' names, parsed once. */
typedef struct build_modes {
    enum avt_sync_policy policy;
    enum avt_box_visibility box_visibility;
    enum avt_clock_correct clock_correct;
} build_modes;

static int parse_modes(const avt_build_options *opt, build_modes *m, avt_error *err)
{
    if (avt_sync_policy_parse(opt->policy, &m->policy))
        return avt_err(err, AVT_INVAL, "unknown sync policy '%s' (trigger, nearest, approximate)",
                       opt->policy ? opt->policy : "(null)");
    if (avt_box_visibility_parse(opt->box_visibility, &m->box_visibility))
        return avt_err(err, AVT_INVAL, "unknown box visibility '%s' (any, all, none)",
                       opt->box_visibility ? opt->box_visibility : "(null)");
    if (avt_clock_correct_parse(opt->clock_correct, &m->clock_correct))
        return avt_err(err, AVT_INVAL, "unknown clock correction '%s' (auto, on, off)",
                       opt->clock_correct ? opt->clock_correct : "(null)");
    return AVT_OK;
}

/* Reusable per-camera buffers. */
typedef struct cam_work {
    avt_cam_model model;
    avt_tf cam_T_lidar;
    avt_camera_stream stream;
    float *uv, *depth, *dsamp_uv, *dsamp;
    uint8_t *valid;
    size_t cap_pts, cap_d;
    avt_box2d *b2d;
    uint32_t *box_in_img, *box_vis; /* per box: LiDAR points in the image, and not hidden */
    size_t cap_b2d;
    avt_depth_grid grid; /* visibility */
    float *nuv, *ndepth; /* a neighbouring sweep's projection */
    uint8_t *nvalid;
    size_t cap_n;
    uint8_t *block_on; /* a sweep's point blocks with a time in the camera's window */
    size_t cap_block_on;
    float *ig_xyxy; /* the frame's ignore regions in this camera (validation.h) */
    uint16_t *ig_cls;
    size_t cap_ig;
    char abs_img[AVT_LOG_PATH_MAX]; /* the frame's image ("" unpaired), registered after the cameras */
    avt_file_digest digest;         /* its SHA-256, taken in the cameras' parallel stage */
    avt_error err;                  /* the camera's error in this frame */
} cam_work;

/* An owned copy of a sweep with its points deskewed to the sweep's reference time. Three are
 * held (previous, current, next), so that a camera whose view straddles the cut angle gets
 * the points of the neighbouring sweep on the far side of the cut (docs/pipeline.md), and a
 * fourth is read ahead beside the current frame (read_ahead). */
typedef struct held_sweep {
    avt_sweep sw;         /* owned intensity, ring, return_type; no xyz or t_ns (NULL): desk
                           * and tdelta are what the frame needs of them */
    float *desk;          /* 3n, deskewed to sw.timestamp_ns */
    size_t cap;
    avt_tf world_T_lidar; /* at sw.timestamp_ns */
    avt_point_blocks blocks; /* of desk, for the cameras' culling */
    int64_t half_period_ns;  /* half its duration if it is a complete sweep, else -1 */
    char cloud[AVT_LOG_PATH_MAX]; /* its point-cloud file ("" for a capture) */
    avt_file_digest cloud_digest; /* for the provenance */
    int32_t *tdelta;              /* point time minus sw.timestamp_ns (/lidar/time_ns) */
    int32_t (*trange)[2];         /* per block of AVT_POINT_BLOCK points: its tdelta range */
    size_t cap_trange;
    avt_sync_rotation rot;        /* the head's rotation over it (avt_sync_reference) */
    /* its labels (held_labels): the nearest label file's boxes, moved to sw.timestamp_ns
     * (lboxes), with each point's box (plabel, pinst) and each box's points (counts) */
    long label;                   /* the label file's index in st->labels, -1: none */
    avt_file_digest label_digest; /* for the provenance */
    avt_label_frame lf;           /* the file's boxes as labelled (for the cameras' times) */
    avt_tf world_T_lidar_label;   /* the LiDAR's pose at the file's time, else world_T_lidar */
    avt_label_box *lboxes;
    uint32_t *counts;
    size_t cap_boxes;
    uint16_t *plabel;
    int32_t *pinst;
    int used;
} held_sweep;

/* The log's own files (the capture among them) hashed for the provenance on a thread of their
 * own, beside the frames: a capture's hash was a tenth of a build without cameras, on its one
 * thread before the first frame. Registered with the writer in their place, their digests
 * set at the end. */
typedef struct input_hashing {
    avt_log_input in[AVT_LOG_MAX_FIXED_INPUTS];
    avt_file_digest d[AVT_LOG_MAX_FIXED_INPUTS];
    int used[AVT_LOG_MAX_FIXED_INPUTS];
    size_t row[AVT_LOG_MAX_FIXED_INPUTS], n;
    pthread_t th;
    int started;     /* th runs: join it (input_hashing_wait) */
    atomic_int stop; /* set on an error: the thread ends at its next block */
} input_hashing;

/* The labels' validation (build_validation_begin) for a thread of its own. */
typedef struct validation_run {
    struct build_state *st;
    const avt_build_options *opt;
    avt_error err;
    int rc;
    /* then, if the labels pass, the writer opened into st->writer (open_rc, open_err) */
    const char *out_path;
    avt_export_options eo;
    int threads; /* the build's thread budget (the writer's pool) */
    avt_error open_err;
    int open_rc;
} validation_run;
static void *validation_thread(void *arg);

static void *input_hashing_run(void *arg)
{
    input_hashing *h = arg;
    for (size_t i = 0; i < h->n; i++) /* one that fails is hashed again, and reported, when set */
        if (h->used[i]) avt_export_digest_file_until(h->in[i].abs, &h->stop, &h->d[i], NULL);
    return NULL;
}

static void input_hashing_wait(input_hashing *h)
{
    if (h->started) pthread_join(h->th, NULL);
    h->started = 0;
}

/* Every sweep's time and rotation, what the sync pass needs of them. */
typedef struct sync_refs {
    avt_sync_ref *r;
    size_t n, cap;
} sync_refs;

typedef struct build_state {
    avt_drive_log log;
    build_modes modes;
    avt_rig rig;
    avt_poses poses;
    avt_label_index labels;
    avt_sweep_source *lidar;
    avt_export_writer *writer;
    const avt_build_options *opt;
    cam_work *cams;
    avt_camera_frame *cframes;
    avt_box3d *b3d;
    size_t cap_boxes;
    held_sweep held[4];
    int64_t half_period_ns; /* half the last complete sweep's duration; 0 until one is seen */
    build_validation val;   /* the schema and the label validation (validation.h) */
    input_hashing hashing;
    sync_refs refs; /* the sync pass's time and rotation of every sweep, by sweep index */
    avt_sync_plan *plan; /* the cameras' pairing (setup_sync) */
    atomic_int camera_failed; /* set by camera_open: the setup's other work stops early */
} build_state;

/* The cameras' buffers for a frame of n points (n_all with the neighbouring sweeps): scratch,
 * written afresh by every frame, so a larger one replaces a buffer without copying it. */
static int grow_frame_buffers(build_state *st, size_t n, size_t n_all, avt_error *err)
{
    for (size_t c = 0; c < st->rig.n_cameras; c++) {
        cam_work *cw = &st->cams[c];
        size_t cc = cw->cap_pts;
        if (avt_grow_scratch((void **)&cw->uv, &cc, n, 2 * sizeof(float))) goto nomem;
        cc = cw->cap_pts;
        if (avt_grow_scratch((void **)&cw->depth, &cc, n, sizeof(float))) goto nomem;
        cc = cw->cap_pts;
        if (avt_grow_scratch((void **)&cw->valid, &cc, n, 1)) goto nomem;
        cw->cap_pts = cc;
        /* depth samples may come from three sweeps */
        size_t dn = n_all, dc = cw->cap_d;
        if (avt_grow_scratch((void **)&cw->dsamp_uv, &dc, dn, 2 * sizeof(float))) goto nomem;
        dc = cw->cap_d;
        if (avt_grow_scratch((void **)&cw->dsamp, &dc, dn, sizeof(float))) goto nomem;
        cw->cap_d = dc;
        size_t nn = n_all, ncap = cw->cap_n;
        if (avt_grow_scratch((void **)&cw->nuv, &ncap, nn, 2 * sizeof(float))) goto nomem;
        ncap = cw->cap_n;
        if (avt_grow_scratch((void **)&cw->ndepth, &ncap, nn, sizeof(float))) goto nomem;
        ncap = cw->cap_n;
        if (avt_grow_scratch((void **)&cw->nvalid, &ncap, nn, 1)) goto nomem;
        cw->cap_n = ncap;
        if (avt_grow_scratch((void **)&cw->block_on, &cw->cap_block_on, n_all / AVT_POINT_BLOCK + 1, 1)) goto nomem;
    }
    return AVT_OK;
nomem:
    return avt_err(err, AVT_NOMEM, "out of memory for a sweep of %zu points", n);
}

static int grow_box_buffers(build_state *st, size_t nb, avt_error *err)
{
    size_t cap = st->cap_boxes;
    if (avt_grow((void **)&st->b3d, &cap, nb, sizeof *st->b3d)) goto nomem;
    for (size_t c = 0; c < st->rig.n_cameras; c++) {
        size_t cc = st->cams[c].cap_b2d;
        if (avt_grow((void **)&st->cams[c].b2d, &cc, nb, sizeof(avt_box2d))) goto nomem;
        cc = st->cams[c].cap_b2d;
        if (avt_grow((void **)&st->cams[c].box_in_img, &cc, nb, sizeof(uint32_t))) goto nomem;
        cc = st->cams[c].cap_b2d;
        if (avt_grow((void **)&st->cams[c].box_vis, &cc, nb, sizeof(uint32_t))) goto nomem;
        st->cams[c].cap_b2d = cc;
    }
    st->cap_boxes = cap;
    return AVT_OK;
nomem:
    return avt_err(err, AVT_NOMEM, "out of memory for %zu boxes", nb);
}


/* Copies sweep sw (but for its xyz and times) into h, deskews it, and takes its point times
 * relative to its reference time and its rotation (touches nothing of st but h). h's arrays
 * are rewritten whole: scratch buffers. */
static int held_fill(build_state *st, held_sweep *h, const avt_sweep *sw, avt_error *err)
{
    const size_t n = sw->n ? sw->n : 1;
    size_t c = h->cap;
    avt_sweep *o = &h->sw;
    if (avt_grow_scratch((void **)&h->desk, &c, n, 3 * sizeof(float))) goto nomem;
    c = h->cap;
    if (avt_grow_scratch((void **)&o->intensity, &c, n, sizeof(float))) goto nomem;
    c = h->cap;
    if (avt_grow_scratch((void **)&o->ring, &c, n, sizeof(uint16_t))) goto nomem;
    c = h->cap;
    if (avt_grow_scratch((void **)&o->return_type, &c, n, 1)) goto nomem;
    c = h->cap;
    if (avt_grow_scratch((void **)&h->tdelta, &c, n, sizeof(int32_t))) goto nomem;
    c = h->cap;
    if (avt_grow_scratch((void **)&h->plabel, &c, n, sizeof(uint16_t))) goto nomem;
    c = h->cap;
    if (avt_grow_scratch((void **)&h->pinst, &c, n, sizeof(int32_t))) goto nomem;
    h->cap = c;
    float *in = o->intensity;
    uint16_t *ring = o->ring;
    uint8_t *rt = o->return_type;
    *o = *sw;
    o->xyz = NULL, o->t_ns = NULL; /* the source's, valid only until its next sweep */
    o->intensity = in, o->ring = ring, o->return_type = rt;
    memcpy(o->intensity, sw->intensity, sw->n * sizeof(float));
    memcpy(o->ring, sw->ring, sw->n * sizeof(uint16_t));
    memcpy(o->return_type, sw->return_type, sw->n);
    /* point times as int32 offsets, and each block's range of them, for the cameras' windows */
    const size_t nblk = (sw->n + AVT_POINT_BLOCK - 1) / AVT_POINT_BLOCK;
    if (avt_grow_scratch((void **)&h->trange, &h->cap_trange, nblk ? nblk : 1, sizeof *h->trange)) goto nomem;
    const size_t bad = avt_time_offsets(sw->t_ns, sw->n, sw->timestamp_ns, h->tdelta, h->trange);
    if (bad < sw->n)
        return avt_err(err, AVT_FORMAT, "%s: sweep %llu: point time %lld ns is %lld ns from the sweep time",
                       st->log.lidar, (unsigned long long)sw->index, (long long)sw->t_ns[bad],
                       (long long)(sw->t_ns[bad] - sw->timestamp_ns));
    /* the sync pass fitted the same sweep already (the same reader's sweeps, in order) */
    if (sw->index < st->refs.n && st->refs.r[sw->index].ts == sw->timestamp_ns) h->rot = st->refs.r[sw->index].rot;
    else h->rot = avt_sync_reference(sw, st->modes.policy, st->opt->cut_angle_deg).rot;
    avt_tf w_ref, ego_T_lidar = avt_tf_inv(&st->rig.lidar_T_ego);
    int rc = avt_poses_deskew(&st->poses, &st->rig.lidar_T_ego, sw, h->desk, err);
    if (!rc) rc = avt_poses_at(&st->poses, o->timestamp_ns, &w_ref, err);
    if (rc) return avt_err_prefix(err, "%s: sweep %llu", st->log.lidar, (unsigned long long)o->index);
    if (avt_point_blocks_build(&h->blocks, h->desk, o->n)) goto nomem;
    h->world_T_lidar = avt_tf_mul(&w_ref, &ego_T_lidar);
    h->used = 1;
    h->half_period_ns = o->complete && o->end_ns > o->start_ns ? (o->end_ns - o->start_ns) / 2 : -1;
    return AVT_OK;
nomem:
    return avt_err(err, AVT_NOMEM, "out of memory for a sweep of %zu points", n);
}

static void held_free(held_sweep *h)
{
    avt_sweep_free_arrays(&h->sw);
    free(h->desk);
    avt_point_blocks_free(&h->blocks);
    free(h->tdelta), free(h->trange), free(h->plabel), free(h->pinst), free(h->lboxes), free(h->counts);
    avt_label_frame_free(&h->lf);
}

/* The labels of sweep h (held_fill'ed): the label file nearest to it (within the label
 * tolerance), its boxes moved to the sweep's reference time, the points labelled by box. The
 * file is registered in the provenance with the frame (label_stage). */
static int held_labels(build_state *st, held_sweep *h, avt_error *err)
{
    const avt_sweep *sw = &h->sw;
    const avt_tf ego_T_lidar = avt_tf_inv(&st->rig.lidar_T_ego);
    const avt_tf lidar_ref_T_world = avt_tf_inv(&h->world_T_lidar);
    int rc;
    avt_label_frame_free(&h->lf);
    h->label = avt_label_index_find(&st->labels, sw->timestamp_ns, st->opt->label_tolerance_ns);
    h->world_T_lidar_label = h->world_T_lidar;
    h->label_digest.ok = 0;
    if (h->label >= 0) {
        const char *path = st->labels.paths[h->label];
        avt_tf w_l;
        if ((rc = avt_label_frame_read(path, &st->val.schema, &h->lf, err))) return rc;
        if ((rc = avt_poses_at(&st->poses, h->lf.timestamp_ns, &w_l, err))) return avt_err_prefix(err, "%s", path);
        h->world_T_lidar_label = avt_tf_mul(&w_l, &ego_T_lidar);
        /* a file that cannot be hashed now is hashed again, and reported, when registered */
        avt_export_digest_file(path, &h->label_digest, NULL);
    }
    const size_t nb = h->lf.n ? h->lf.n : 1;
    size_t c = h->cap_boxes;
    if (avt_grow((void **)&h->lboxes, &c, nb, sizeof *h->lboxes)) goto nomem;
    c = h->cap_boxes;
    if (avt_grow((void **)&h->counts, &c, nb, sizeof *h->counts)) goto nomem;
    h->cap_boxes = c;
    for (size_t b = 0; b < h->lf.n; b++)
        avt_label_box_move(&h->lf.boxes[b], &h->world_T_lidar_label, h->lf.timestamp_ns, &lidar_ref_T_world,
                           sw->timestamp_ns, &h->lboxes[b]);
    avt_label_points(h->desk, sw->n, &h->blocks, h->lboxes, h->lf.n, h->plabel, h->pinst, h->counts);
    return AVT_OK;
nomem:
    return avt_err(err, AVT_NOMEM, "out of memory for %zu boxes", nb);
}

/* Reads the capture's next sweep into h with its labels: 1, or 0 at the end (h unused), or an
 * error. Touches only h, the reader and the validation's sweep times, so it runs beside the
 * cameras or the export of the frame before (read_ahead); its file and period are taken into
 * st by sweep_taken, in order. seconds: decoding, copying and deskewing, labelling. */
static int read_sweep(build_state *st, held_sweep *h, double seconds[3], avt_error *err)
{
    const avt_sweep *sw;
    double t0 = avt_monotonic_s();
    h->used = 0;
    int r = avt_sweep_source_next(st->lidar, &sw, err);
    double t1 = avt_monotonic_s();
    seconds[0] += t1 - t0;
    if (r <= 0) return r;
    const char *cloud = avt_sweep_source_file(st->lidar);
    if (snprintf(h->cloud, sizeof h->cloud, "%s", cloud ? cloud : "") >= (int)sizeof h->cloud)
        return avt_err(err, AVT_INVAL, "%s: path too long", cloud);
    /* one that cannot be hashed now is hashed again, and reported, when registered */
    h->cloud_digest.ok = 0;
    if (h->cloud[0]) avt_export_digest_file(h->cloud, &h->cloud_digest, NULL);
    int rc = held_fill(st, h, sw, err);
    if (!rc) rc = build_validation_sweep(&st->val, sw, err);
    double t2 = avt_monotonic_s();
    seconds[1] += t2 - t1;
    if (!rc) rc = held_labels(st, h, err);
    seconds[2] += avt_monotonic_s() - t2;
    return rc ? rc : 1;
}

/* The sweep read next, taken in stream order: its file into the provenance, its period for
 * the cameras' windows. */
static int sweep_taken(build_state *st, const held_sweep *h, avt_error *err)
{
    if (h->half_period_ns >= 0) st->half_period_ns = h->half_period_ns;
    return h->cloud[0] ? avt_export_add_input_digest(st->writer, avt_drive_log_rel(&st->log, h->cloud), h->cloud,
                                                     &h->cloud_digest, err)
                       : AVT_OK;
}

/* The sweep after next, read beside a frame: an item of its cameras' loop, or without
 * cameras beside its export. */
typedef struct read_ahead {
    build_state *st;
    held_sweep *h;
    int r; /* read_sweep's result */
    avt_error err;
} read_ahead;

/* read_sweep for the sweep after next (its time counted under the cameras or the export). */
static void read_ahead_run(read_ahead *a)
{
    double seconds[3] = {0, 0, 0};
    a->err.code = AVT_OK;
    a->err.msg[0] = '\0';
    a->r = read_sweep(a->st, a->h, seconds, &a->err);
}

/* The same on the writer's thread beside its export (avt_export_run_beside): its nested
 * regions stay on that one thread, the export's thread having the other core. */
static void read_ahead_beside(void *arg)
{
    omp_set_num_threads(1); /* this thread's own setting */
    read_ahead_run(arg);
}

/* The boxes of a frame (the sweep's labels, held_labels): the label file into the provenance,
 * and the /boxes3d rows. */
static int label_stage(build_state *st, const held_sweep *cur, avt_build_summary *sum, avt_error *err)
{
    int rc;
    const size_t nb = cur->lf.n;
    if ((rc = grow_box_buffers(st, nb ? nb : 1, err))) return rc;
    if (cur->label >= 0) {
        const char *path = st->labels.paths[cur->label];
        if ((rc = avt_export_add_input_digest(st->writer, avt_drive_log_rel(&st->log, path), path, &cur->label_digest,
                                              err)))
            return rc;
        sum->label_files_used++;
    }
    for (size_t b = 0; b < nb; b++) {
        const avt_label_box *lb = &cur->lboxes[b];
        avt_box3d *o = &st->b3d[b];
        double q[4];
        avt_yaw_quaternion(lb->yaw, q);
        for (int k = 0; k < 3; k++) {
            o->center[k] = (float)lb->center[k];
            o->size[k] = (float)lb->size[k];
            o->velocity[k] = (float)lb->velocity[k];
        }
        o->yaw = (float)lb->yaw;
        for (int k = 0; k < 4; k++) o->rotation[k] = (float)q[k];
        o->class_id = (uint16_t)lb->class_id;
        o->track_id = lb->track_id;
        o->num_lidar_points = cur->counts[b];
        o->attributes = lb->attributes;
    }
    return AVT_OK;
}

/* Optional per-image outputs: the KITTI depth PNG and the preview. */
static int camera_extras(const avt_build_options *opt, const avt_camera *cam, const avt_camera_frame *cf,
                         const char *abs_img, uint64_t frame_no, avt_error *err)
{
    int rc = AVT_OK;
    if (opt->depth_png_dir) {
        char dp[4096];
        snprintf(dp, sizeof dp, "%s/%s", opt->depth_png_dir, cam->name);
        if (mkdir(dp, 0777) != 0 && errno != EEXIST) return avt_err(err, AVT_IO, "%s: cannot create: %s", dp, strerror(errno));
        snprintf(dp, sizeof dp, "%s/%s/%06llu.png", opt->depth_png_dir, cam->name, (unsigned long long)frame_no);
        if ((rc = avt_depth_png_write(dp, cam->width, cam->height, cf->depth_uv, cf->depth, cf->n_depth, err)))
            return rc;
    }
    if (opt->preview_dir && opt->preview_stride && frame_no % opt->preview_stride == 0) {
        char pv[4096];
        snprintf(pv, sizeof pv, "%s/preview_%s_%04llu.png", opt->preview_dir, cam->name, (unsigned long long)frame_no);
        rc = avt_preview_draw(abs_img, cf, pv, err);
    }
    return rc;
}

/* One camera in one frame: pair an image, check it, project the points of the rotation
 * around the camera's reference time at the image's time, fill the depth grid, count each
 * box's visible points and project the boxes. */
static int camera_stage(build_state *st, size_t c, const held_sweep *prev, const held_sweep *cur,
                        const held_sweep *next, const avt_build_options *opt, uint64_t frame_no, avt_error *err)
{
    int rc;
    const avt_label_frame *lf = &cur->lf;
    cam_work *cw = &st->cams[c];
    cw->abs_img[0] = '\0';
    cw->digest.ok = 0;
    avt_camera_frame *cf = &st->cframes[c];
    const avt_camera *cam = &st->rig.cameras[c];
    const avt_sweep *sw = &cur->sw;
    const size_t n = sw->n, nb = lf->n;
    memset(cf, 0, sizeof *cf);
    cf->timestamp_ns = INT64_MIN;
    cf->image_path = "";
    if ((rc = build_ignore_regions(lf, cam->name, &cw->ig_xyxy, &cw->ig_cls, &cw->cap_ig, &cf->n_ignore, err)))
        return rc;
    cf->ignore_xyxy = cw->ig_xyxy, cf->ignore_class = cw->ig_cls;
    avt_sync_pairing pr;
    if ((rc = avt_sync_plan_pair(st->plan, c, frame_no, &cur->rot, &pr, err))) return rc;
    if (pr.image < 0) return AVT_OK;
    const avt_image_ref *ir = &cw->stream.images[pr.image];
    /* the image's time in the LiDAR clock: everything is projected at that instant */
    const int64_t t_cam = pr.t_ref_ns, t_img = pr.t_img_ns;
    char *abs_img = cw->abs_img;
    avt_png_info info;
    if ((rc = avt_drive_log_path(&st->log, ir->path, abs_img, sizeof cw->abs_img, err))) return rc;
    if ((rc = opt->verify_images ? avt_image_verify(abs_img, &info, err) : avt_image_read_info(abs_img, &info, err)))
        return rc;
    if (info.width != cam->width || info.height != cam->height)
        return avt_err(err, AVT_MISMATCH, "%s: image is %ux%u but calib.yaml says camera %s is %ux%u", abs_img,
                       info.width, info.height, cam->name, cam->width, cam->height);
    /* for the provenance; one that fails is hashed again, and reported, when registered */
    avt_export_digest_file(abs_img, &cw->digest, NULL);
    cf->timestamp_ns = t_img;
    cf->sync_delta_ns = t_img - t_cam;
    cf->image_path = ir->path;

    avt_tf w_img;
    if ((rc = avt_poses_at(&st->poses, t_img, &w_img, err))) return avt_err_prefix(err, "%s", abs_img);
    const avt_tf w_img_inv = avt_tf_inv(&w_img);
    const avt_tf lidar_img_T_world = avt_tf_mul(&st->rig.lidar_T_ego, &w_img_inv);
    const avt_tf cam_T_world = avt_tf_mul(&cw->cam_T_lidar, &lidar_img_T_world);
    const avt_tf cam_T_lidar_ref = avt_tf_mul(&cam_T_world, &cur->world_T_lidar);

    /* the camera sees one rotation centred on its reference time: points of this sweep
     * outside it are dropped, those of the neighbouring sweeps inside it added */
    const avt_time_window wc = avt_time_window_of(st->half_period_ns, sw->timestamp_ns, t_cam);
    avt_cam_project_visible(&cw->model, &cam_T_lidar_ref, cur->desk, n, &cur->blocks,
                            avt_time_window_blocks(wc, cur->trange, n, cw->block_on), cw->uv, cw->depth, cw->valid);
    avt_time_window_mask(wc, cur->tdelta, cur->trange, n, cw->valid);
    avt_depth_grid_clear(&cw->grid);
    size_t nd = 0;
    const held_sweep *nbr[3] = {cur, NULL, NULL};
    if (st->half_period_ns && t_cam - st->half_period_ns < sw->start_ns) nbr[1] = prev;
    if (st->half_period_ns && t_cam + st->half_period_ns > sw->end_ns) nbr[2] = next;
    for (int k = 0; k < 3; k++) {
        const held_sweep *h = nbr[k];
        if (!h) continue;
        const float *puv = cw->uv, *pdepth = cw->depth;
        const uint8_t *pvalid = cw->valid;
        if (h != cur) {
            avt_tf cam_T_h = avt_tf_mul(&cam_T_world, &h->world_T_lidar);
            const avt_time_window wh = avt_time_window_of(st->half_period_ns, h->sw.timestamp_ns, t_cam);
            avt_cam_project_visible(&cw->model, &cam_T_h, h->desk, h->sw.n, &h->blocks,
                                    avt_time_window_blocks(wh, h->trange, h->sw.n, cw->block_on), cw->nuv,
                                    cw->ndepth, cw->nvalid);
            avt_time_window_mask(wh, h->tdelta, h->trange, h->sw.n, cw->nvalid);
            puv = cw->nuv, pdepth = cw->ndepth, pvalid = cw->nvalid;
        }
        nd = avt_depth_samples_add(&cw->grid, puv, pdepth, pvalid, h->sw.n, cw->dsamp_uv, cw->dsamp, nd);
    }
    cf->n_depth = nd;
    cf->depth_uv = cw->dsamp_uv;
    cf->depth = cw->dsamp;

    /* visibility: box points in the image not hidden by a point more than AVT_DEPTH_HIDE_M
     * nearer in the same depth-grid cell */
    avt_depth_box_points(&cw->grid, cw->uv, cw->depth, cw->valid, cur->pinst, n, nb, cw->box_in_img, cw->box_vis);
    size_t k2 = 0;
    for (size_t b = 0; b < nb; b++) {
        const avt_tf world_T_box = avt_label_box_pose(&lf->boxes[b], &cur->world_T_lidar_label, lf->timestamp_ns, t_img);
        const avt_obox wb = avt_obox_from_tf(&world_T_box, lf->boxes[b].size);
        avt_box_projection bp;
        if (!avt_box_include(&cw->model, &cam_T_world, &wb, st->modes.box_visibility, &bp)) continue;
        avt_box2d *o = &cw->b2d[k2++];
        o->box3d_index = (uint32_t)b;
        for (int q = 0; q < 4; q++) o->xyxy[q] = (float)bp.xyxy[q];
        for (int q = 0; q < 8; q++) {
            o->corners[2 * q] = (float)bp.corners[q][0];
            o->corners[2 * q + 1] = (float)bp.corners[q][1];
        }
        o->truncation = (float)bp.truncation;
        uint32_t in_img = cw->box_in_img[b], vis = cw->box_vis[b];
        o->num_lidar_points = in_img;
        o->visibility = in_img ? (float)vis / (float)in_img : NAN;
    }
    cf->n_boxes2d = k2;
    cf->boxes2d = cw->b2d;
    return camera_extras(opt, cam, cf, abs_img, frame_no, err);
}

static int process_frame(build_state *st, const held_sweep *prev, const held_sweep *cur, const held_sweep *next,
                         read_ahead *ahead, const avt_build_options *opt, uint64_t frame_no, avt_build_summary *sum,
                         avt_error *err)
{
    int rc;
    double t = avt_monotonic_s(), t_next;
    const avt_sweep *sw = &cur->sw;
    const size_t n = sw->n, nb = cur->lf.n;
    const size_t n_all = n + (prev ? prev->sw.n : 0) + (next ? next->sw.n : 0);
    if ((rc = grow_frame_buffers(st, n ? n : 1, n_all ? n_all : 1, err))) return rc;
    if ((rc = label_stage(st, cur, sum, err))) return rc;
    /* the cameras in parallel (each on its own buffers; nested regions run on one thread),
     * with the sweep after next read ahead as one more item, taken first (the longest): the
     * export then has both threads for its compression. Then in camera order: the first
     * error, the images' provenance and the counts. */
    const int nc = (int)st->rig.n_cameras, ra = ahead && nc > 0, items = nc + ra;
    sum->stage_seconds[AVT_STAGE_LABELS] += (t_next = avt_monotonic_s()) - t, t = t_next;
#pragma omp parallel for schedule(dynamic, 1) if (items > 1)
    for (int k = 0; k < items; k++) {
        if (k < ra) {
            read_ahead_run(ahead);
            continue;
        }
        cam_work *cw = &st->cams[k - ra];
        cw->err.code = AVT_OK;
        cw->err.msg[0] = '\0';
        camera_stage(st, (size_t)(k - ra), prev, cur, next, opt, frame_no, &cw->err);
    }
    for (int c = 0; c < nc; c++) {
        const cam_work *cw = &st->cams[c];
        if (cw->err.code) {
            if (err) *err = cw->err;
            return cw->err.code;
        }
        if (cw->abs_img[0] &&
            (rc = avt_export_add_input_digest(st->writer, st->cframes[c].image_path, cw->abs_img, &cw->digest, err)))
            return rc;
        sum->boxes2d += st->cframes[c].n_boxes2d;
        sum->depth_samples += st->cframes[c].n_depth;
    }

    sum->stage_seconds[AVT_STAGE_CAMERAS] += (t_next = avt_monotonic_s()) - t, t = t_next;
    const avt_tf w_ref = avt_tf_mul(&cur->world_T_lidar, &st->rig.lidar_T_ego);
    avt_frame_out fo;
    memset(&fo, 0, sizeof fo);
    fo.timestamp_ns = sw->timestamp_ns;
    fo.start_ns = sw->start_ns;
    fo.end_ns = sw->end_ns;
    memcpy(fo.ego_pose, w_ref.m, sizeof fo.ego_pose);
    fo.packets = sw->packets;
    fo.packets_lost = sw->packets_lost;
    fo.n_points = n;
    fo.xyz = cur->desk;
    fo.intensity = sw->intensity;
    fo.ring = sw->ring;
    fo.time_ns = cur->tdelta;
    fo.return_type = sw->return_type;
    fo.label = cur->plabel;
    fo.instance = cur->pinst;
    fo.n_boxes = nb;
    fo.boxes = st->b3d;
    fo.cams = st->cframes;
    /* without cameras, the sweep after next is read ahead beside the export (which reads
     * only this frame) */
    const int beside = ahead && !ra && avt_export_run_beside(st->writer, read_ahead_beside, ahead);
    if (ahead && !ra && !beside) read_ahead_run(ahead);
    rc = avt_export_frame(st->writer, &fo, err);
    if (beside) avt_export_wait_beside(st->writer);
    if (rc) return rc;
    sum->stage_seconds[AVT_STAGE_EXPORT] += avt_monotonic_s() - t;
    sum->frames++;
    sum->points += n;
    sum->boxes3d += nb;
    return AVT_OK;
}

/* The labels' validation, then the writer's file and datasets (they need the schema): on a
 * thread of its own while the main thread is in the sync pass, which makes no HDF5 call. */
static void *validation_thread(void *arg)
{
    validation_run *v = arg;
    build_state *st = v->st;
    v->rc = build_validation_begin(&st->val, st->log.dir, v->opt, &st->rig, &st->poses, &st->labels, &v->err);
    if (v->rc || atomic_load(&st->camera_failed)) return NULL; /* no writer for a build that stops */
    omp_set_num_threads(v->threads); /* this thread's own setting, read by the writer's pool */
    v->eo.attribute_names = st->val.schema.attribute_names;
    v->eo.n_attribute_names = st->val.schema.n_attributes;
    v->eo.schema = st->val.schema.text;
    st->writer = avt_export_open(v->out_path, &st->rig, st->val.schema.class_names, st->val.schema.n_class_names,
                                 &v->eo, &v->open_err);
    if (!st->writer) v->open_rc = v->open_err.code ? v->open_err.code : AVT_IO;
    return NULL;
}

static int sync_ref_add(sync_refs *l, const build_state *st, const avt_sweep *sw)
{
    if (avt_grow((void **)&l->r, &l->cap, l->n + 1, sizeof *l->r)) return AVT_NOMEM;
    l->r[l->n++] = avt_sync_reference(sw, st->modes.policy, st->opt->cut_angle_deg);
    return AVT_OK;
}

typedef struct sync_parts {
    const build_state *st;
    sync_refs *part;
} sync_parts;

static int sync_ref_part(void *ctx, int part, const avt_sweep *sw)
{
    sync_parts *c = ctx;
    /* a camera failed: the build stops with its error (which comes first) */
    if (atomic_load(&c->st->camera_failed)) return AVT_INVAL;
    return sync_ref_add(&c->part[part], c->st, sw);
}

/* Every sweep's time and rotation from point-cloud files, one by one. */
static int cloud_references(const build_state *st, sync_refs *out, avt_error *err)
{
    int rc = AVT_OK, r;
    avt_sweep_source *rd = avt_sweep_source_open(st->log.lidar, &st->log.lidar_cfg, err);
    if (!rd) return err ? err->code : AVT_IO;
    const avt_sweep *sw;
    while (rc == AVT_OK && (r = avt_sweep_source_next(rd, &sw, err)) != 0)
        rc = r < 0 ? r : sync_ref_add(out, st, sw) ? avt_err(err, AVT_NOMEM, "out of memory") : AVT_OK;
    avt_sweep_source_close(rd);
    return rc;
}

/* Camera c's model (its view bounds: thousands of border pixels unprojected), depth grid and
 * image list; failures in its cam_work's err. */
static void camera_open(build_state *st, size_t c)
{
    cam_work *cw = &st->cams[c];
    const avt_camera *cam = &st->rig.cameras[c];
    cw->err.code = AVT_OK;
    cw->err.msg[0] = '\0';
    if (avt_cam_model_init(&cw->model, cam, &cw->err) == AVT_OK) {
        cw->cam_T_lidar = avt_tf_inv(&cam->lidar_T_cam);
        if (avt_depth_grid_init(&cw->grid, cam->width, cam->height)) avt_err(&cw->err, AVT_NOMEM, "out of memory");
        else avt_camera_stream_list(st->log.dir, cam->name, &cw->stream, &cw->err);
    }
    if (cw->err.code) atomic_store(&st->camera_failed, 1);
}

/* The sync pass's references (every sweep's time and rotation, in order: a capture decoded in
 * parts, avt_lidar_decode_part, the same sweeps as one reader; point-cloud files one by one)
 * into st->refs, and every camera opened (camera_open), as one set of items on the OpenMP
 * threads, the capture's parts first (the longest). Returns the sync pass's error; the
 * cameras' are in their cam_work. */
static int refs_and_cameras(build_state *st, avt_error *err)
{
    const char *capture = avt_sweep_source_capture(st->lidar);
    const int nt = omp_get_max_threads() < 1 ? 1 : omp_get_max_threads() > 16 ? 16 : omp_get_max_threads();
    const int nc = (int)st->rig.n_cameras, np = nc == 0 ? 0 : capture ? nt : 1; /* no camera: no pass */
    sync_parts c = {st, calloc(np ? (size_t)np : 1, sizeof *c.part)};
    avt_lidar_part *parts = calloc(np ? (size_t)np : 1, sizeof *parts);
    avt_error *perr = calloc(np ? (size_t)np : 1, sizeof *perr);
    int rc = !c.part || !parts || !perr ? avt_err(err, AVT_NOMEM, "out of memory") : AVT_OK;
    if (!rc && capture && np) rc = avt_lidar_split(capture, np, parts, err);
    const int items = rc ? nc : np + nc, first = rc ? np : 0; /* the cameras at least */
#pragma omp parallel for schedule(dynamic, 1) if (items > 1)
    for (int k = first; k < first + items; k++) {
        if (k >= np) camera_open(st, (size_t)(k - np));
        else if (capture) avt_lidar_decode_part(capture, &st->log.lidar_cfg, &parts[k], k, sync_ref_part, &c, &perr[k]);
        else perr[0].code = cloud_references(st, &c.part[0], &perr[0]);
    }
    if (!rc) rc = avt_err_first(perr, (size_t)np, err);
    size_t total = 0;
    for (int p = 0; !rc && p < np; p++) total += c.part[p].n;
    sync_refs *out = &st->refs;
    if (!rc && avt_grow((void **)&out->r, &out->cap, total ? total : 1, sizeof *out->r))
        rc = avt_err(err, AVT_NOMEM, "out of memory");
    for (int p = 0; c.part && p < np; p++) { /* the parts in order: the sweeps of one reader */
        if (!rc && c.part[p].n) memcpy(out->r + out->n, c.part[p].r, c.part[p].n * sizeof *out->r);
        if (!rc) out->n += c.part[p].n;
        free(c.part[p].r);
    }
    free(c.part);
    free(parts);
    free(perr);
    return rc;
}

/* Pass 1 over the capture: the cameras' pairing plan from the sweeps' references
 * (avt_sync_plan_new), which are kept for the build's sweeps. */
static int setup_sync(build_state *st, const avt_build_options *opt, avt_error *err)
{
    const size_t nc = st->rig.n_cameras;
    if (nc == 0) return AVT_OK;
    const avt_camera_stream **streams = malloc(nc * sizeof *streams);
    if (!streams) return avt_err(err, AVT_NOMEM, "out of memory");
    for (size_t c = 0; c < nc; c++) streams[c] = &st->cams[c].stream;
    const avt_sync_plan_options po = {st->modes.policy, st->modes.clock_correct, opt->sync_tolerance_ns,
                                      opt->have_clock_offset_hint ? &opt->clock_offset_hint_ns : NULL};
    st->plan = avt_sync_plan_new(&po, st->rig.cameras, streams, nc, st->refs.r, st->refs.n, err);
    free(streams);
    return st->plan ? AVT_OK : err ? err->code : AVT_NOMEM;
}

/* The effective configuration as JSON (jansson escapes paths and names correctly). Strings that
 * are not set are written as null. Caller frees. */
static char *config_json(const char *log_dir, const avt_build_options *o)
{
    json_t *j = json_pack("{s:s?, s:s?, s:I, s:s?, s:I, s:I, s:f, s:s?, s:s?, s:s?, s:s?, s:b, s:b, s:s?, s:s?}",
                          "log_dir", log_dir, "compression", o->compression, "point_chunk_rows",
                          (json_int_t)(o->point_chunk_rows ? o->point_chunk_rows : AVT_EXPORT_CHUNK_ROWS),
                          "sync_policy", o->policy,
                          "sync_tolerance_ns", (json_int_t)o->sync_tolerance_ns, "label_tolerance_ns",
                          (json_int_t)o->label_tolerance_ns, "cut_angle_deg", o->cut_angle_deg, "lidar_model",
                          o->lidar_model, "lidar_calibration", o->lidar_calibration, "lidar_source", o->lidar_source,
                          "clock_correct", o->clock_correct, "verify_images", o->verify_images, "embed_images",
                          o->embed_images, "box_visibility", o->box_visibility, "depth_png_dir", o->depth_png_dir);
    if (!j) return NULL;
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    return s;
}

static void state_free(build_state *st)
{
    /* it reads paths of st->log; after an error its digests are not wanted */
    atomic_store(&st->hashing.stop, 1);
    input_hashing_wait(&st->hashing);
    free(st->refs.r);
    avt_sync_plan_free(st->plan);
    avt_sweep_source_close(st->lidar);
    if (st->cams)
        for (size_t c = 0; c < st->rig.n_cameras; c++) {
            cam_work *cw = &st->cams[c];
            avt_camera_stream_free(&cw->stream);
            avt_depth_grid_free(&cw->grid);
            free(cw->uv), free(cw->depth), free(cw->valid), free(cw->dsamp_uv), free(cw->dsamp);
            free(cw->b2d), free(cw->box_in_img), free(cw->box_vis);
            free(cw->nuv), free(cw->ndepth), free(cw->nvalid), free(cw->block_on), free(cw->ig_xyxy), free(cw->ig_cls);
        }
    free(st->cams);
    free(st->cframes);
    for (int k = 0; k < 4; k++) held_free(&st->held[k]);
    free(st->b3d);
    avt_label_index_free(&st->labels);
    build_validation_free(&st->val);
    avt_poses_free(&st->poses);
    avt_rig_free(&st->rig);
}

/* What the readers counted but skipped, as Markdown list items (the card's "Validation
 * findings"); empty when nothing was found. */
static void findings(const avt_build_summary *sum, avt_sbuf *b)
{
    const avt_lidar_stats *l = &sum->lidar;
    if (sum->have_lidar_stats && l->corrupt) {
        avt_sbuf_printf(b, "- LiDAR: %llu corrupt packets skipped (records", (unsigned long long)l->corrupt);
        for (uint64_t i = 0; i < l->corrupt && i < AVT_LIDAR_CORRUPT_KEEP; i++)
            avt_sbuf_printf(b, "%s %llu", i ? "," : "", (unsigned long long)l->corrupt_record[i]);
        avt_sbuf_printf(b, "%s); the first: %s\n", l->corrupt > AVT_LIDAR_CORRUPT_KEEP ? ", ..." : "",
                        l->first_corrupt);
    }
    if (sum->have_lidar_stats && l->truncated[0]) avt_sbuf_printf(b, "- LiDAR: %s\n", l->truncated);
    if (sum->have_lidar_stats && l->frag_dropped)
        avt_sbuf_printf(b, "- LiDAR: %llu IPv4 fragments dropped (datagrams never completed)\n",
                        (unsigned long long)l->frag_dropped);
    if (sum->have_lidar_stats && l->frag_overlaps)
        avt_sbuf_printf(b, "- LiDAR: %llu IPv4 fragments overlapped bytes already received with other content\n",
                        (unsigned long long)l->frag_overlaps);
    if (sum->have_lidar_stats && (l->late || l->duplicates))
        avt_sbuf_printf(b, "- LiDAR: %llu packets of frames already released and %llu repeated packets dropped\n",
                        (unsigned long long)l->late, (unsigned long long)l->duplicates);
    if (sum->have_lidar_stats && l->columns_lost)
        avt_sbuf_printf(b, "- LiDAR: %llu columns of the frame window missing or invalid\n",
                        (unsigned long long)l->columns_lost);
    for (unsigned c = 0; c < sum->n_cameras; c++)
        if (sum->cam[c].bad_times)
            avt_sbuf_printf(b, "- Camera %s: %llu images skipped for their times (unreadable, repeated or going back)\n",
                            sum->cam[c].name, (unsigned long long)sum->cam[c].bad_times);
    for (unsigned c = 0; c < sum->n_cameras; c++)
        if (sum->cam[c].damaged_images)
            avt_sbuf_printf(b, "- Camera %s: %llu damaged images (truncated or corrupt) left unpaired: %s\n",
                            sum->cam[c].name, (unsigned long long)sum->cam[c].damaged_images,
                            sum->cam[c].damaged_files);
}

/* The rig, poses and labels of the log, and every camera's place (opened by camera_open). */
static int open_inputs(build_state *st, const avt_build_options *opt, avt_build_summary *sum, avt_error *err)
{
    int rc;
    /* --calib: any format, camera-only files taking their LiDAR extrinsics from calib.yaml */
    if ((rc = opt->n_calib ? avt_rig_load_combined(opt->calib_paths, opt->n_calib, opt->calib_format,
                                                   st->log.calib_yaml, &st->rig, err)
                           : avt_rig_load_yaml(st->log.calib_yaml, &st->rig, err)))
        return rc;
    if ((rc = avt_poses_load(st->log.poses_csv, &st->poses, err))) return rc;
    if ((rc = avt_label_index_open(st->log.dir, &st->labels, err))) return rc;
    const size_t nc = st->rig.n_cameras;
    st->cams = calloc(nc ? nc : 1, sizeof *st->cams);
    st->cframes = calloc(nc ? nc : 1, sizeof *st->cframes);
    sum->cam = calloc(nc ? nc : 1, sizeof *sum->cam);
    if (!st->cams || !st->cframes || !sum->cam) return avt_err(err, AVT_NOMEM, "out of memory");
    sum->n_cameras = (unsigned)nc;
    return AVT_OK;
}

/* After camera_open: the first camera's error, or each camera's warnings and counts. */
static int cameras_opened(build_state *st, const avt_build_options *opt, avt_build_summary *sum, avt_error *err)
{
    for (size_t c = 0; c < st->rig.n_cameras; c++) {
        cam_work *cw = &st->cams[c];
        const avt_camera *cam = &st->rig.cameras[c];
        if (cw->err.code) {
            if (err) *err = cw->err;
            return cw->err.code;
        }
        if (opt->warn) {
            for (size_t w = 0; w < cw->stream.n_warnings; w++) opt->warn(cw->stream.warnings[w], opt->warn_ctx);
            if (cw->stream.warnings_total > cw->stream.n_warnings) {
                char msg[256];
                snprintf(msg, sizeof msg, "camera %s: %llu more timestamp problems not shown", cam->name,
                         (unsigned long long)(cw->stream.warnings_total - cw->stream.n_warnings));
                opt->warn(msg, opt->warn_ctx);
            }
        }
        avt_sync_camera_summary *s = &sum->cam[c];
        snprintf(s->name, sizeof s->name, "%s", cam->name);
        s->images = cw->stream.n;
        s->bad_times = cw->stream.bad_names + cw->stream.duplicate_times + cw->stream.backwards_times;
        s->damaged_images = cw->stream.damaged;
        memcpy(s->damaged_files, cw->stream.damaged_files, sizeof s->damaged_files);
    }
    return AVT_OK;
}

/* Every camera's pairing summary after the last frame (the clock offset at the first frame's
 * reference time first_ts, docs/pipeline.md), and the optional sync histograms. */
static int sync_summary(build_state *st, const avt_build_options *opt, int64_t first_ts, avt_build_summary *sum,
                        avt_error *err)
{
    int rc;
    for (size_t c = 0; c < st->rig.n_cameras; c++) {
        if ((rc = avt_sync_plan_summary(st->plan, c, first_ts, &sum->cam[c], err))) return rc;
        if (opt->sync_report_dir) {
            char png[4096];
            if (snprintf(png, sizeof png, "%s/sync_%s.png", opt->sync_report_dir, st->rig.cameras[c].name) >=
                (int)sizeof png)
                return avt_err(err, AVT_INVAL, "%s: path too long", opt->sync_report_dir);
            if ((rc = avt_sync_plan_histogram_png(st->plan, c, png, err))) return rc;
        }
    }
    return AVT_OK;
}

int avt_build(const char *log_dir, const char *out_path, const avt_build_options *opt, avt_build_summary *sum,
              avt_error *err)
{
    build_state st;
    memset(&st, 0, sizeof st);
    atomic_init(&st.hashing.stop, 0);
    atomic_init(&st.camera_failed, 0);
    st.opt = opt;
    memset(sum, 0, sizeof *sum);
    const double t0 = avt_monotonic_s();
    double t_stage = t0;
    const int64_t started = avt_now_ns();
    char *cfg_json = NULL;
    avt_sbuf found = {0}; /* the card's validation findings */
    int rc;

    const avt_drive_log_overrides ov = {opt->lidar_model, opt->lidar_calibration, opt->lidar_source,
                                        opt->cut_angle_deg};
    if ((rc = avt_drive_log_open(log_dir, &ov, &st.log, err))) goto out;
    if ((rc = parse_modes(opt, &st.modes, err))) goto out;
    if ((rc = open_inputs(&st, opt, sum, err))) goto out;
    st.lidar = avt_sweep_source_open(st.log.lidar, &st.log.lidar_cfg, err);
    if (!st.lidar) { /* a camera's error comes first, as the steps go */
        const avt_error lidar_err = err ? *err : (avt_error){AVT_IO, ""};
        for (size_t c = 0; c < st.rig.n_cameras; c++) camera_open(&st, c);
        if (!(rc = cameras_opened(&st, opt, sum, err))) {
            rc = lidar_err.code ? lidar_err.code : AVT_IO;
            if (err) *err = lidar_err;
        }
        goto out;
    }
    input_hashing *ih = &st.hashing;
    ih->n = avt_drive_log_inputs(&st.log, st.poses.n > 0, avt_sweep_source_capture(st.lidar), ih->in);
    struct stat csb;
    for (size_t i = 0; i < ih->n; i++) {
        ih->used[i] = !opt->n_calib || ih->in[i].abs != st.log.calib_yaml || stat(ih->in[i].abs, &csb) == 0;
        ih->d[i].ok = 0;
    }
    /* while the OpenMP threads decode the capture for the sync pass and open the cameras: the
     * labels' validation and the writer's opening on a thread of its own. The errors come in
     * the order of the steps: the cameras', the validation's, the sync pass's, the writer's (a
     * writer opened for nothing is aborted below, its partial file removed). */
    validation_run vr = {.st = &st, .opt = opt, .out_path = out_path, .threads = omp_get_max_threads()};
    vr.eo.compression = opt->compression;
    vr.eo.point_chunk_rows = opt->point_chunk_rows;
    vr.eo.embed_images = opt->embed_images;
    vr.eo.log_dir = log_dir;
    vr.eo.log_id = st.log.log_id;
    pthread_t vth;
    /* within the thread budget: one thread (OMP_NUM_THREADS=1, batch --threads 1) starts none */
    const int threads = omp_get_max_threads() > 1;
    const int val_thread = threads && pthread_create(&vth, NULL, validation_thread, &vr) == 0;
    if (!val_thread) validation_thread(&vr);
    avt_error sync_err = {AVT_OK, ""};
    int sync_rc = refs_and_cameras(&st, &sync_err);
    rc = cameras_opened(&st, opt, sum, err);
    if (!rc && !sync_rc) sync_rc = setup_sync(&st, opt, &sync_err);
    if (val_thread) pthread_join(vth, NULL);
    if (!rc && vr.rc) {
        if (err) *err = vr.err;
        rc = vr.rc;
    }
    if (!rc && sync_rc) {
        if (err) *err = sync_err;
        rc = sync_rc;
    }
    if (!rc && vr.open_rc) {
        if (err) *err = vr.open_err;
        rc = vr.open_rc;
    }
    if (rc) goto out;
    /* after the setup's threads are done with the capture (the frames leave gaps); without a
     * thread, each is hashed when its digest is set */
    if (threads) ih->started = pthread_create(&ih->th, NULL, input_hashing_run, ih) == 0;
    for (size_t i = 0; i < ih->n; i++)
        if (ih->used[i] && (rc = avt_export_add_input_later(st.writer, ih->in[i].rel, &ih->row[i], err))) goto out;
    for (size_t i = 0; i < opt->n_calib; i++)
        if (stat(opt->calib_paths[i], &csb) == 0 && S_ISREG(csb.st_mode) &&
            (rc = avt_export_add_input(st.writer, opt->calib_paths[i], opt->calib_paths[i], err)))
            goto out;

    /* Frames are built one sweep behind the reader: frame k sees sweeps k-1, k and k+1; sweep
     * k+2 is read beside frame k (hq): in its cameras' loop, or without cameras beside its
     * export on the writer's thread when it has one. */
    uint64_t frame_no = 0;
    int64_t first_ts = 0;
    held_sweep *hp = &st.held[0], *hc = &st.held[1], *hn = &st.held[2], *hq = &st.held[3];
    read_ahead ahead = {.st = &st};
    int have_ahead = 0;
    sum->stage_seconds[AVT_STAGE_SETUP] = (t_stage = avt_monotonic_s()) - t0;
    for (int ended = 0; !ended;) {
        double read_s[3] = {0, 0, 0};
        int r;
        if (have_ahead) {
            held_sweep *t = hn;
            hn = hq, hq = t;
            r = ahead.r;
            if (r < 0 && err) *err = ahead.err;
            have_ahead = 0;
        } else {
            r = read_sweep(&st, hn, read_s, err);
        }
        sum->stage_seconds[AVT_STAGE_DECODE] += read_s[0];
        sum->stage_seconds[AVT_STAGE_LABELS] += read_s[2];
        t_stage = avt_monotonic_s();
        if (r < 0) {
            rc = r;
            goto out;
        }
        if (r == 0) ended = 1;
        else if ((rc = sweep_taken(&st, hn, err))) goto out;
        sum->stage_seconds[AVT_STAGE_DESKEW] += read_s[1] + avt_monotonic_s() - t_stage;
        if (hc->used) {
            if (frame_no == 0) first_ts = hc->sw.timestamp_ns;
            have_ahead = !ended;
            ahead.h = hq;
            if ((rc = process_frame(&st, hp->used ? hp : NULL, hc, hn->used ? hn : NULL, have_ahead ? &ahead : NULL,
                                    opt, frame_no, sum, err)))
                goto out;
            frame_no++;
            if (opt->progress)
                opt->progress(avt_sweep_source_fraction(st.lidar), frame_no, hc->sw.timestamp_ns, opt->progress_ctx);
            t_stage = avt_monotonic_s();
        }
        held_sweep *t = hp; /* rotate: previous <- current <- next <- (reused) */
        hp = hc, hc = hn, hn = t;
    }
    if (frame_no == 0) {
        rc = avt_err(err, AVT_FORMAT, "%s: no LiDAR sweeps decoded (empty capture?)", st.log.lidar);
        goto out;
    }
    if ((rc = sync_summary(&st, opt, first_ts, sum, err))) goto out;
    cfg_json = config_json(log_dir, opt);
    if (!cfg_json) {
        rc = avt_err(err, AVT_NOMEM, "out of memory");
        goto out;
    }
    sum->have_lidar_stats = avt_sweep_source_stats(st.lidar, &sum->lidar);
    findings(sum, &found);
    avt_export_meta meta;
    memset(&meta, 0, sizeof meta);
    if ((rc = build_validation_end(&st.val, &st.labels, opt, &found, &meta, err))) goto out;
    if (found.oom) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory for the validation findings", out_path);
        goto out;
    }
    meta.findings = found.p;
    meta.tool_version = AVT_VERSION;
    meta.git_sha = opt->git_sha;
    meta.command_line = opt->command_line;
    meta.config_json = cfg_json;
    meta.started_ns = started;
    meta.calibration_source = st.rig.source;
    meta.licence = st.log.cfg.licence;
    meta.sync = sum->cam;
    input_hashing_wait(ih);
    for (size_t i = 0; i < ih->n; i++)
        if (ih->used[i] && (rc = avt_export_set_input_digest(st.writer, ih->row[i], ih->in[i].abs, &ih->d[i], err)))
            goto out;
    rc = avt_export_finish(st.writer, &meta, err);
    st.writer = NULL;
out:
    if (st.writer) avt_export_abort(st.writer);
    free(cfg_json);
    free(found.p);
    state_free(&st);
    if (rc) avt_build_summary_free(sum);
    const double t_end = avt_monotonic_s();
    sum->seconds = t_end - t0;
    sum->stage_seconds[AVT_STAGE_FINISH] = t_end - t_stage;
    return rc;
}
