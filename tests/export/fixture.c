/* avtruth export tests: the synthetic fixture log (formulas mirrored in check_fixture.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static const size_t fix_points[FIX_FRAMES] = {7, 0, 70000, 3, 5}; /* 70000 spans 2 chunks */
static const size_t fix_boxes[FIX_FRAMES] = {2, 0, 3, 1, 4};
static const char *const fix_classes[] = {"none", "car", "pedestrian", "cyclist"};
static const char *const fix_attrs[] = {"occluded", "moving"};

void fixture_rig(avt_rig *rig, avt_camera cams[FIX_CAMERAS])
{
    memset(rig, 0, sizeof *rig);
    memset(cams, 0, FIX_CAMERAS * sizeof *cams);
    snprintf(rig->lidar_model, sizeof rig->lidar_model, "VLP-16");
    rig->lidar_T_ego = avt_tf_identity();
    rig->lidar_T_ego.m[3] = -1.0;  /* x */
    rig->lidar_T_ego.m[11] = -1.8; /* z */
    snprintf(rig->source, sizeof rig->source, "fixture rig");
    static const double dist0[5] = {0.1, -0.05, 0.001, 0.002, 0.01};
    static const double dist1[4] = {0.01, 0.002, -0.001, 0.0005};
    for (int c = 0; c < FIX_CAMERAS; c++) {
        avt_camera *k = &cams[c];
        snprintf(k->name, sizeof k->name, "%s", c == 0 ? "front" : "left");
        k->model = c == 0 ? AVT_CAM_PINHOLE : AVT_CAM_FISHEYE;
        snprintf(k->distortion_model, sizeof k->distortion_model, "%s",
                 c == 0 ? "radtan" : "equidistant");
        k->width = c == 0 ? 640 : 1280;
        k->height = c == 0 ? 480 : 960;
        double f = c == 0 ? 500 : 400;
        double K[9] = {f, 0, k->width / 2.0, 0, f, k->height / 2.0, 0, 0, 1};
        memcpy(k->K, K, sizeof K);
        k->n_dist = c == 0 ? 5 : 4;
        memcpy(k->dist, c == 0 ? dist0 : dist1, (size_t)k->n_dist * sizeof(double));
        /* OpenCV camera axes (x right, y down, z forward) to LiDAR (x forward, y left, z up) */
        avt_tf t = {{0, 0, 1, c == 0 ? 1.5 : 0.5, -1, 0, 0, c == 0 ? 0.0 : 0.8, 0, -1, 0, 1.2,
                     0, 0, 0, 1}};
        k->lidar_T_cam = t;
    }
    rig->cameras = cams;
    rig->n_cameras = FIX_CAMERAS;
}

static int frame_write(avt_export_writer *w, int i, size_t box_base, avt_error *err)
{
    int rc = AVT_OK;
    size_t np = fix_points[i], nb = fix_boxes[i];
    size_t alloc = np ? np : 1;
    float *xyz = malloc(3 * alloc * sizeof *xyz), *inten = malloc(alloc * sizeof *inten);
    uint16_t *ring = malloc(alloc * sizeof *ring), *label = malloc(alloc * sizeof *label);
    int32_t *tns = malloc(alloc * sizeof *tns), *inst = malloc(alloc * sizeof *inst);
    uint8_t *ret = malloc(alloc);
    avt_box3d boxes[8];
    avt_box2d b2[FIX_CAMERAS][8];
    avt_camera_frame cf[FIX_CAMERAS];
    float *uv[FIX_CAMERAS] = {NULL, NULL}, *dep[FIX_CAMERAS] = {NULL, NULL};
    char paths[FIX_CAMERAS][64];
    if (!xyz || !inten || !ring || !label || !tns || !inst || !ret) {
        rc = avt_err(err, AVT_NOMEM, "fixture: out of memory");
        goto out;
    }

    avt_frame_out f;
    memset(&f, 0, sizeof f);
    int64_t ts = FIX_T0_NS + (int64_t)i * 100000000LL;
    f.timestamp_ns = ts;
    f.start_ns = ts - 50000000 + i;
    f.end_ns = ts + 49000000 - i;
    avt_tf pose = avt_tf_identity();
    pose.m[3] = i;
    pose.m[7] = 2.0 * i;
    pose.m[11] = 0.5;
    memcpy(f.ego_pose, pose.m, sizeof f.ego_pose);
    f.packets = 100 + (uint32_t)i;
    f.packets_lost = (uint32_t)(i % 2);

    for (size_t k = 0; k < nb; k++) {
        size_t m = box_base + k;
        avt_box3d *b = &boxes[k];
        memset(b, 0, sizeof *b);
        b->center[0] = (float)m;
        b->center[1] = (float)k;
        b->center[2] = (float)(i * 0.5);
        b->size[0] = (float)(4 + k);
        b->size[1] = 2;
        b->size[2] = 1.5f;
        b->yaw = (float)(0.1 * (double)m);
        b->rotation[0] = 1;
        b->rotation[3] = (float)(0.01 * (double)k);
        for (int a = 0; a < 3; a++)
            b->velocity[a] = (m % 2 == 0) ? NAN : (a == 0 ? 1.5f : a == 1 ? -0.5f : 0.0f);
        b->class_id = (uint16_t)(1 + m % 3);
        b->track_id = ((int64_t)1 << 40) + (int64_t)k;
        b->attributes = (uint32_t)(m & 3);
        b->num_lidar_points = 0;
    }
    for (size_t j = 0; j < np; j++) {
        xyz[3 * j] = (float)(i + 0.5 * (double)j);
        xyz[3 * j + 1] = (float)(-0.25 * (double)j);
        xyz[3 * j + 2] = (float)(0.125 * (double)(j % 7));
        inten[j] = (float)(j % 256);
        ring[j] = (uint16_t)(j % 32);
        tns[j] = (int32_t)j * 10 - 35000;
        ret[j] = (uint8_t)(j % 4);
        inst[j] = nb ? (int32_t)(j % (nb + 1)) - 1 : -1;
        label[j] = inst[j] >= 0 ? boxes[inst[j]].class_id : 0;
        if (inst[j] >= 0) boxes[inst[j]].num_lidar_points++;
    }
    f.n_points = np;
    f.xyz = xyz;
    f.intensity = inten;
    f.ring = ring;
    f.time_ns = tns;
    f.return_type = ret;
    f.label = label;
    f.instance = inst;
    f.n_boxes = nb;
    f.boxes = boxes;

    for (int c = 0; c < FIX_CAMERAS; c++) {
        avt_camera_frame *x = &cf[c];
        memset(x, 0, sizeof *x);
        if (c == 1 && i == 2) { /* the unpaired camera frame */
            x->timestamp_ns = INT64_MIN;
            x->sync_delta_ns = 0;
            x->image_path = NULL;
            continue;
        }
        x->timestamp_ns = ts + 1000 * (c + 1) + i;
        x->sync_delta_ns = 1000 * (c + 1) + i;
        snprintf(paths[c], sizeof paths[c], "%s/%06d.png", c == 0 ? "front" : "left", i);
        x->image_path = paths[c];
        size_t n2 = 0;
        for (size_t k = 0; k < nb; k++) {
            if ((k + (size_t)c) % 2) continue;
            avt_box2d *b = &b2[c][n2++];
            b->box3d_index = (uint32_t)k;
            b->xyxy[0] = (float)(10 * k);
            b->xyxy[1] = (float)(20 * c);
            b->xyxy[2] = (float)(10 * k + 5);
            b->xyxy[3] = (float)(20 * c + 8);
            b->truncation = (float)(0.1 * (double)k);
            b->visibility = (float)(1.0 - 0.1 * (double)k);
            for (int q = 0; q < 16; q++)
                b->corners[q] = (c == 1 && q >= 14) ? NAN : (float)(q * 0.5 + (double)k);
            b->num_lidar_points = (uint32_t)(k + (size_t)c);
        }
        x->n_boxes2d = n2;
        x->boxes2d = b2[c];
        size_t nd = (np + (size_t)c) % 6;
        uv[c] = malloc((nd ? nd : 1) * 2 * sizeof(float));
        dep[c] = malloc((nd ? nd : 1) * sizeof(float));
        if (!uv[c] || !dep[c]) {
            rc = avt_err(err, AVT_NOMEM, "fixture: out of memory");
            goto out;
        }
        for (size_t j = 0; j < nd; j++) {
            uv[c][2 * j] = (float)j;
            uv[c][2 * j + 1] = (float)(j + (size_t)c);
            dep[c][j] = (float)(1.0 + 0.5 * (double)j);
        }
        x->n_depth = nd;
        x->depth_uv = uv[c];
        x->depth = dep[c];
    }
    f.cams = cf;
    rc = avt_export_frame(w, &f, err);
out:
    for (int c = 0; c < FIX_CAMERAS; c++) {
        free(uv[c]);
        free(dep[c]);
    }
    free(ret);
    free(inst);
    free(tns);
    free(label);
    free(ring);
    free(inten);
    free(xyz);
    return rc;
}

int fixture_frames(avt_export_writer *w, int n_frames, avt_error *err)
{
    size_t base = 0;
    for (int i = 0; i < n_frames && i < FIX_FRAMES; i++) {
        int rc = frame_write(w, i, base, err);
        if (rc) return rc;
        base += fix_boxes[i];
    }
    return AVT_OK;
}

avt_export_meta fixture_meta(void)
{
    static avt_sync_camera_summary sync[FIX_CAMERAS];
    for (int c = 0; c < FIX_CAMERAS; c++) {
        avt_sync_camera_summary *s = &sync[c];
        memset(s, 0, sizeof *s);
        s->policy = c == 0 ? "trigger" : "nearest";
        s->tolerance_ns = 5000000;
        s->clock_offset_ns = 100 * (c + 1);
        s->clock_drift_ppm = 1.5 * (c + 1);
        s->paired = (uint64_t)(5 - c);
        s->unpaired_frames = (uint64_t)c;
        s->unpaired_images = (uint64_t)(2 * c);
        s->duplicates = 0;
        s->dropped = (uint64_t)c;
        s->delta_min_ns = 1000 * (c + 1);
        s->delta_median_ns = 1000 * (c + 1) + 2;
        s->delta_p95_ns = 1000 * (c + 1) + 4;
        s->delta_max_ns = 1000 * (c + 1) + 4;
        s->clock_offset_sd_ns = 25.0 * (c + 1);
        s->clock_drift_sd_ppm = 0.25 * (c + 1);
        s->clock_corrected = c;
        s->clock_t_ref_ns = FIX_T0_NS;
        s->jitter_ns = 500.0 + c;
        s->bad_times = (uint64_t)(3 * c);
    }
    avt_export_meta m;
    memset(&m, 0, sizeof m);
    m.tool_version = "0.1.0-test";
    m.git_sha = "0123456789abcdef";
    m.command_line = "avtruth export --test \xc3\xbcn\xc3\xaf";
    m.config_json = "{\"voxel\": 0.1, \"name\": \"test\"}";
    m.started_ns = FIX_T0_NS;
    m.calibration_source = "synthetic rig (fixture)";
    m.sync = sync;
    m.dataset_card = NULL;
    return m;
}

static int write_input(const char *dir, const char *name, size_t n, char *out, size_t out_n,
                       avt_error *err)
{
    if (avt_path_join(out, out_n, dir, name)) return avt_err(err, AVT_INVAL, "%s: path too long", dir);
    FILE *f = fopen(out, "wb");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create", out);
    int ok = 1;
    if (n == 3) {
        ok = fwrite("abc", 1, 3, f) == 3;
    } else {
        for (size_t i = 0; i < n && ok; i++) ok = fputc((int)((i * 31) % 251), f) != EOF;
    }
    if (fclose(f) != 0) ok = 0;
    return ok ? AVT_OK : avt_err(err, AVT_IO, "%s: write failed", out);
}

int fixture_write(const char *path, const char *input_dir, const char *compression,
                  avt_error *err)
{
    avt_rig rig;
    avt_camera cams[FIX_CAMERAS];
    fixture_rig(&rig, cams);
    avt_export_options opt;
    memset(&opt, 0, sizeof opt);
    opt.log_id = "drive-\xc3\xbcn\xc3\xaf" "code-01";
    opt.compression = compression;
    opt.attribute_names = fix_attrs;
    opt.n_attribute_names = 2;
    opt.schema = "avtruth-synth-v1";
    avt_export_writer *w = avt_export_open(path, &rig, fix_classes, 4, &opt, err);
    if (!w) return err->code;
    int rc = fixture_frames(w, FIX_FRAMES, err);
    if (rc) goto fail;
    if (input_dir) {
        char p[1024];
        /* 3 MiB + 17 bytes: several 1 MiB hashing blocks and a short tail */
        if ((rc = write_input(input_dir, "small.txt", 3, p, sizeof p, err)) ||
            (rc = avt_export_add_input(w, "small.txt", p, err)) ||
            (rc = write_input(input_dir, "big.bin", 3 * 1048576 + 17, p, sizeof p, err)) ||
            (rc = avt_export_add_input(w, "big.bin", p, err)))
            goto fail;
    }
    avt_export_meta m = fixture_meta();
    return avt_export_finish(w, &m, err);
fail:
    avt_export_abort(w);
    return rc;
}
