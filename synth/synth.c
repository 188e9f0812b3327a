/* avtruth synth: avt_synth_run writes a whole synthetic drive log (docs/drive-log.md).
 *
 * Order: scene -> calib.yaml, poses.csv -> lidar/<model>.pcap and truth/sweeps.csv ->
 * labels/ -> cameras/ with truth/images.csv and truth/boxes2d.csv -> truth/params.json.
 * Doubles are printed with %.17g and times as integers, so the same configuration gives
 * byte-identical files. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "synth_private.h"

#define DEG (M_PI / 180.0)

void avt_synth_config_default(avt_synth_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->seconds = 3.0;
    cfg->cameras = 3;
    cfg->lidar = "vlp16";
    cfg->width = 640;
    cfg->height = 400;
    cfg->clock_offset_s = 0.0;
    cfg->jitter_s = 0.0;
    cfg->distortion = 1.0;
    cfg->moving_objects = 8;
    cfg->static_objects = 6;
}

static int config_check(const avt_synth_config *c, avt_error *err)
{
    if (!(c->seconds > 0 && c->seconds <= 600))
        return avt_err(err, AVT_INVAL, "synth: seconds %g outside (0, 600]", c->seconds);
    if (c->cameras < 0 || c->cameras > SYNTH_MAX_CAMERAS)
        return avt_err(err, AVT_INVAL, "synth: cameras %d outside [0, %d]", c->cameras,
                       SYNTH_MAX_CAMERAS);
    if (c->lidar && !synth_lidar_model_find(c->lidar) && !synth_ouster_model_find(c->lidar)) {
        return avt_err(err, AVT_UNSUPPORTED,
                       "synth: lidar '%s' not supported (vlp16, vlp16hires, hdl32e, vlp32c, vls128, "
                       "hdl64e, hdl64e_s2, os1-64, os0-128)",
                       c->lidar);
    }
    if (c->lidar_profile && !(c->lidar && synth_ouster_model_find(c->lidar)))
        return avt_err(err, AVT_INVAL, "synth: a lidar profile ('%s') is for Ouster models only",
                       c->lidar_profile);
    if (c->lidar_profile && synth_ouster_profile_find(c->lidar_profile) < 0)
        return avt_err(err, AVT_UNSUPPORTED, "synth: lidar profile '%s' not supported (rng19, "
                       "rng19-dual, rng15, legacy)", c->lidar_profile);
    if (c->lidar_return) {
        const synth_lidar_model *m = synth_lidar_model_find(c->lidar ? c->lidar : "vlp16");
        if (!m)
            return avt_err(err, AVT_INVAL, "synth: a lidar return mode ('%s') is for Velodyne "
                           "models only", c->lidar_return);
        if (synth_return_find(c->lidar_return) < 0)
            return avt_err(err, AVT_UNSUPPORTED, "synth: lidar return mode '%s' not supported "
                           "(strongest, last, dual)", c->lidar_return);
    }
    if (c->width < 16 || c->width > 8192 || c->height < 16 || c->height > 8192)
        return avt_err(err, AVT_INVAL, "synth: image size %ux%u outside [16, 8192]", c->width,
                       c->height);
    if (!(fabs(c->clock_offset_s) <= 3600))
        return avt_err(err, AVT_INVAL, "synth: clock offset %g s", c->clock_offset_s);
    if (!(c->jitter_s >= 0 && c->jitter_s <= 0.05))
        return avt_err(err, AVT_INVAL, "synth: jitter %g s outside [0, 0.05]", c->jitter_s);
    if (!(fabs(c->clock_drift_ppm) <= 1000))
        return avt_err(err, AVT_INVAL, "synth: clock drift %g ppm outside [-1000, 1000]", c->clock_drift_ppm);
    if (!(c->drop_rate >= 0 && c->drop_rate < 1))
        return avt_err(err, AVT_INVAL, "synth: drop rate %g outside [0, 1)", c->drop_rate);
    if (!(c->duplicate_rate >= 0 && c->duplicate_rate <= 1))
        return avt_err(err, AVT_INVAL, "synth: duplicate rate %g outside [0, 1]", c->duplicate_rate);
    if (!(c->distortion >= 0 && c->distortion <= 2))
        return avt_err(err, AVT_INVAL, "synth: distortion scale %g outside [0, 2]", c->distortion);
    if (c->moving_objects < 0 || c->static_objects < 0 ||
        c->moving_objects + c->static_objects > SYNTH_MAX_OBJECTS)
        return avt_err(err, AVT_INVAL, "synth: %d moving + %d static objects (max %d in all)",
                       c->moving_objects, c->static_objects, SYNTH_MAX_OBJECTS);
    return AVT_OK;
}

/* ---- files and directories ------------------------------------------------------------ */

static int mkdir_p(const char *path, avt_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return avt_err(err, AVT_INVAL, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return avt_err(err, AVT_IO, "%s: cannot create: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return avt_err(err, AVT_IO, "%s: cannot create: %s", buf, strerror(errno));
    return AVT_OK;
}

static int dir_prepare(const char *dir, avt_error *err)
{
    int rc = mkdir_p(dir, err);
    if (rc) return rc;
    DIR *d = opendir(dir);
    if (!d) return avt_err(err, AVT_IO, "%s: cannot open: %s", dir, strerror(errno));
    struct dirent *e;
    rc = AVT_OK;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            rc = avt_err(err, AVT_INVAL, "%s: not empty (found '%s')", dir, e->d_name);
            break;
        }
    }
    closedir(d);
    return rc;
}

static int path2(char *out, size_t n, const char *dir, const char *name, avt_error *err)
{
    if (avt_path_join(out, n, dir, name) != AVT_OK)
        return avt_err(err, AVT_INVAL, "%s/%s: path too long", dir, name);
    return AVT_OK;
}

static FILE *open_w(const char *path, avt_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f) avt_err(err, AVT_IO, "%s: cannot create: %s", path, strerror(errno));
    return f;
}

static int close_w(FILE *f, const char *path, avt_error *err)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return avt_err(err, AVT_IO, "%s: write error", path);
    return AVT_OK;
}

static void print_list(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fputc(']', f);
}

/* E of avt_synth_config.miscalibrate: Trans(x, y, z) Rz(yaw) Ry(pitch) Rx(roll), written out
 * here rather than taken from calibcheck/ (the code under test). */
static avt_tf miscalibration(const double p[6])
{
    double r = p[0] * DEG, q = p[1] * DEG, y = p[2] * DEG;
    avt_tf rx = {{1, 0, 0, 0, 0, cos(r), -sin(r), 0, 0, sin(r), cos(r), 0, 0, 0, 0, 1}};
    avt_tf ry = {{cos(q), 0, sin(q), 0, 0, 1, 0, 0, -sin(q), 0, cos(q), 0, 0, 0, 0, 1}};
    avt_tf rz = {{cos(y), -sin(y), 0, p[3], sin(y), cos(y), 0, p[4], 0, 0, 1, p[5], 0, 0, 0, 1}};
    avt_tf a = avt_tf_mul(&ry, &rx);
    return avt_tf_mul(&rz, &a);
}

/* The lidar_T_cam calib.yaml stores for camera c: the true one, or E * true for the
 * miscalibrated camera. */
static avt_tf stored_lidar_T_cam(const synth_scene *sc, const synth_cam *c)
{
    const char *name = sc->cfg.miscalibrate_camera;
    if (!name || strcmp(name, c->name) != 0) return c->lidar_T_cam;
    avt_tf E = miscalibration(sc->cfg.miscalibrate);
    return avt_tf_mul(&E, &c->lidar_T_cam);
}

/* calib.yaml version 1 (docs/drive-log.md). Written here rather than through
 * avt_rig_save_yaml so that the generator does not depend on calib/. */
static int write_calib(const synth_scene *sc, const char *path, avt_error *err)
{
    FILE *f = open_w(path, err);
    if (!f) return err ? err->code : AVT_IO;
    fprintf(f, "version: 1\nlidar:\n  model: %s\n  lidar_T_ego: ", sc->lidar_name);
    print_list(f, sc->lidar_T_ego.m, 16);
    fprintf(f, "\ncameras:%s\n", sc->n_cam ? "" : " []");
    for (size_t i = 0; i < sc->n_cam; i++) {
        const synth_cam *c = &sc->cam[i];
        double K[9] = {c->fx, 0, c->cx, 0, c->fy, c->cy, 0, 0, 1};
        fprintf(f, "  - name: %s\n    model: pinhole\n    width: %u\n    height: %u\n    K: ",
                c->name, c->width, c->height);
        print_list(f, K, 9);
        fprintf(f, "\n    distortion_model: radtan\n    distortion: ");
        print_list(f, c->dist, 5);
        fprintf(f, "\n    lidar_T_cam: ");
        avt_tf stored = stored_lidar_T_cam(sc, c);
        print_list(f, stored.m, 16);
        fputc('\n', f);
    }
    return close_w(f, path, err);
}

static int write_poses(const synth_scene *sc, const char *path, avt_error *err)
{
    FILE *f = open_w(path, err);
    if (!f) return err ? err->code : AVT_IO;
    fprintf(f, "t_ns,x,y,z,qw,qx,qy,qz\n");
    for (size_t i = 0; i < sc->n_poses; i++) {
        const double *p = sc->pose + 3 * i;
        fprintf(f, "%" PRId64 ",%.17g,%.17g,0,%.17g,0,0,%.17g\n",
                sc->pose_t0_ns + (int64_t)i * SYNTH_POSE_DT_NS, p[0], p[1], cos(0.5 * p[2]),
                sin(0.5 * p[2]));
    }
    return close_w(f, path, err);
}

static int write_sweeps(const synth_sweep *sw, size_t n, const char *path, avt_error *err)
{
    FILE *f = open_w(path, err);
    if (!f) return err ? err->code : AVT_IO;
    fprintf(f, "sweep,start_ns,end_ns,timestamp_ns,packets,complete\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,%" PRId64 ",%" PRId64 ",%" PRId64 ",%d,%d\n", i, sw[i].start_ns,
                sw[i].end_ns, sw[i].timestamp_ns, sw[i].packets, sw[i].complete);
    return close_w(f, path, err);
}

/* truth/returns.csv (Velodyne logs): per sweep, the firings with one return and with two. */
static int write_returns(const synth_sweep *sw, size_t n, const char *path, avt_error *err)
{
    FILE *f = open_w(path, err);
    if (!f) return err ? err->code : AVT_IO;
    fprintf(f, "sweep,one_return,two_returns\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,%" PRId64 ",%" PRId64 "\n", i, sw[i].returns[0], sw[i].returns[1]);
    return close_w(f, path, err);
}

static json_t *json_vec(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_real(v[i]));
    return a;
}

static int json_write(json_t *root, const char *path, avt_error *err)
{
    if (!root) return avt_err(err, AVT_NOMEM, "%s: out of memory", path);
    int r = json_dump_file(root, path, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (r != 0) return avt_err(err, AVT_IO, "%s: cannot write", path);
    return AVT_OK;
}

static double wrap_pi(double a)
{
    a = fmod(a, 2 * M_PI);
    if (a > M_PI) a -= 2 * M_PI;
    if (a <= -M_PI) a += 2 * M_PI;
    return a;
}

/* labels/<t_ns>.json at the sweep's reference time: every object within 100 m of the LiDAR. */
static int write_label(const synth_scene *sc, int64_t t_ns, const char *dir, avt_error *err)
{
    char name[64], path[4096];
    snprintf(name, sizeof name, "%" PRId64 ".json", t_ns);
    int rc = path2(path, sizeof path, dir, name, err);
    if (rc) return rc;
    avt_tf world_T_ego = synth_world_T_ego(sc, t_ns);
    avt_tf world_T_lidar = avt_tf_mul(&world_T_ego, &sc->ego_T_lidar);
    avt_tf lidar_T_world = avt_tf_inv(&world_T_lidar);
    double lidar_yaw = atan2(world_T_lidar.m[4], world_T_lidar.m[0]);
    json_t *root = json_object(), *boxes = json_array();
    json_object_set_new(root, "timestamp_ns", json_integer((json_int_t)t_ns));
    json_object_set_new(root, "frame", json_string("lidar"));
    for (size_t i = 0; i < sc->n_obj; i++) {
        const synth_object *o = &sc->obj[i];
        synth_box b;
        synth_object_box(sc, i, t_ns, &b);
        double c[3], vw[3], v[3];
        avt_tf_apply(&lidar_T_world, b.c, c);
        if (hypot(c[0], c[1]) > SYNTH_LIDAR_MAX_RANGE_M) continue;
        synth_object_velocity(o, vw);
        avt_tf_rotate(&lidar_T_world, vw, v);
        json_t *bo = json_object();
        json_object_set_new(bo, "track_id", json_integer(o->track_id));
        json_object_set_new(bo, "class", json_string(synth_class_name(o->cls)));
        json_object_set_new(bo, "center", json_vec(c, 3));
        json_object_set_new(bo, "size", json_vec(o->size, 3));
        json_object_set_new(bo, "yaw", json_real(wrap_pi(o->yaw - lidar_yaw)));
        json_object_set_new(bo, "velocity", json_vec(v, 3));
        json_object_set_new(bo, "attributes", json_array());
        json_array_append_new(boxes, bo);
    }
    json_object_set_new(root, "boxes", boxes);
    return json_write(root, path, err);
}

/* Azimuth of the camera's optical axis in the LiDAR convention (clockwise from +x), degrees
 * in [0, 360). */
static double camera_axis_az_deg(const synth_cam *c)
{
    double z[3] = {0, 0, 1}, d[3];
    avt_tf_rotate(&c->lidar_T_cam, z, d);
    double az = atan2(-d[1], d[0]) / DEG;
    return az < 0 ? az + 360.0 : az;
}

static int write_miscalibration(const synth_scene *sc, const char *path, avt_error *err)
{
    const double *p = sc->cfg.miscalibrate;
    json_t *root = json_object();
    json_object_set_new(root, "camera", json_string(sc->cfg.miscalibrate_camera));
    json_object_set_new(root, "convention", json_string("stored lidar_T_cam = E * true lidar_T_cam, E = Trans(x,y,z) "
                                                        "Rz(yaw) Ry(pitch) Rx(roll) about the LiDAR axes"));
    static const char *const names[6] = {"roll_deg", "pitch_deg", "yaw_deg", "x_m", "y_m", "z_m"};
    json_t *e = json_object();
    for (int k = 0; k < 6; k++) json_object_set_new(e, names[k], json_real(p[k]));
    json_object_set_new(root, "error", e);
    for (size_t i = 0; i < sc->n_cam; i++) {
        if (strcmp(sc->cam[i].name, sc->cfg.miscalibrate_camera) != 0) continue;
        avt_tf stored = stored_lidar_T_cam(sc, &sc->cam[i]);
        json_object_set_new(root, "true_lidar_T_cam", json_vec(sc->cam[i].lidar_T_cam.m, 16));
        json_object_set_new(root, "stored_lidar_T_cam", json_vec(stored.m, 16));
    }
    return json_write(root, path, err);
}

static int write_params(const synth_scene *sc, const char *path, avt_error *err)
{
    const avt_synth_config *c = &sc->cfg;
    json_t *root = json_object(), *cfg = json_object();
    json_object_set_new(cfg, "seed", json_integer((json_int_t)c->seed));
    json_object_set_new(cfg, "seconds", json_real(c->seconds));
    json_object_set_new(cfg, "cameras", json_integer(c->cameras));
    json_object_set_new(cfg, "lidar", json_string(sc->lidar_name));
    if (c->lidar_return) json_object_set_new(cfg, "lidar_return", json_string(c->lidar_return));
    json_object_set_new(cfg, "width", json_integer(c->width));
    json_object_set_new(cfg, "height", json_integer(c->height));
    json_object_set_new(cfg, "clock_offset_s", json_real(c->clock_offset_s));
    json_object_set_new(cfg, "jitter_s", json_real(c->jitter_s));
    json_object_set_new(cfg, "distortion", json_real(c->distortion));
    json_object_set_new(cfg, "clock_drift_ppm", json_real(c->clock_drift_ppm));
    json_object_set_new(cfg, "drop_rate", json_real(c->drop_rate));
    json_object_set_new(cfg, "duplicate_rate", json_real(c->duplicate_rate));
    json_object_set_new(cfg, "moving_objects", json_integer(c->moving_objects));
    json_object_set_new(cfg, "static_objects", json_integer(c->static_objects));
    json_object_set_new(root, "config", cfg);
    json_object_set_new(root, "seed", json_integer((json_int_t)c->seed));
    json_object_set_new(root, "generator", json_string("avtruth synth " AVT_VERSION));
    json_object_set_new(root, "t0_ns", json_integer(sc->t0_ns));
    json_object_set_new(root, "t_end_ns", json_integer(sc->t_end_ns));
    json_object_set_new(root, "camera_clock_offset_ns", json_integer(sc->clock_offset_ns));
    json_object_set_new(root, "camera_jitter_s", json_real(c->jitter_s));
    json_object_set_new(root, "camera_clock_drift_ppm", json_real(c->clock_drift_ppm));
    json_object_set_new(root, "camera_clock",
                        json_string("name_ns = exposure_ns + camera_clock_offset_ns + round(camera_clock_drift_ppm "
                                    "1e-6 (exposure_ns - t0_ns)), the same clock for every camera"));

    json_t *li = json_object();
    json_object_set_new(li, "model", json_string(sc->lidar_name));
    json_object_set_new(li, "az0_deg", json_real(sc->az0_deg));
    json_object_set_new(li, "cut_deg", json_real(sc->cut_deg));
    json_object_set_new(li, "revolution_ns", json_integer(sc->rev_ns));
    json_object_set_new(li, "rpm", json_real(60e9 / (double)sc->rev_ns));
    json_object_set_new(li, "sequences_per_revolution", json_integer(SYNTH_SEQ_PER_REV));
    json_object_set_new(li, "max_range_m", json_real(SYNTH_LIDAR_MAX_RANGE_M));
    json_object_set_new(li, "min_range_m", json_real(SYNTH_LIDAR_MIN_RANGE_M));
    json_object_set_new(li, "network_delay_us", json_string("uniform [150, 250] after the packet's last firing"));
    json_object_set_new(li, "ego_T_lidar", json_vec(sc->ego_T_lidar.m, 16));
    json_object_set_new(root, "lidar", li);

    json_t *eg = json_object();
    json_object_set_new(eg, "speed_mps", json_real(sc->ego_speed_mps));
    json_object_set_new(eg, "yaw_rate_rad_s", json_real(sc->ego_yaw_rate));
    json_object_set_new(eg, "trajectory",
                        json_string("circular arc from the origin heading +x at t0, sampled at "
                                    "100 Hz in poses.csv; truth between rows = linear/slerp"));
    json_object_set_new(root, "ego", eg);

    json_t *cams = json_array();
    for (size_t i = 0; i < sc->n_cam; i++) {
        json_t *cj = json_object();
        json_object_set_new(cj, "name", json_string(sc->cam[i].name));
        json_object_set_new(cj, "axis_az_deg", json_real(camera_axis_az_deg(&sc->cam[i])));
        json_object_set_new(cj, "undistorted_r2_max", json_real(sc->cam[i].r2_max));
        json_array_append_new(cams, cj);
    }
    json_object_set_new(root, "cameras", cams);

    json_t *objs = json_array();
    for (size_t i = 0; i < sc->n_obj; i++) {
        const synth_object *o = &sc->obj[i];
        json_t *oj = json_object();
        double v[3];
        synth_object_velocity(o, v);
        json_object_set_new(oj, "track_id", json_integer(o->track_id));
        json_object_set_new(oj, "class", json_string(synth_class_name(o->cls)));
        json_object_set_new(oj, "size", json_vec(o->size, 3));
        json_object_set_new(oj, "center_t0_world", json_vec((double[3]){o->p0[0], o->p0[1], 0.5 * o->size[2]}, 3));
        json_object_set_new(oj, "yaw_world", json_real(o->yaw));
        json_object_set_new(oj, "velocity_world", json_vec(v, 3));
        json_object_set_new(oj, "reflectivity", json_integer(o->reflectivity));
        json_array_append_new(objs, oj);
    }
    json_object_set_new(root, "objects", objs);

    json_t *def = json_object();
    json_object_set_new(def, "head_azimuth",
        json_string("A(t) = az0_deg + 360 (t - t0_ns) / revolution_ns, degrees, clockwise from "
                    "LiDAR +x, unwrapped; block azimuth = round(100 A(t_block)) mod 36000"));
    json_object_set_new(def, "firing_time",
        json_string("packet k: t_pkt = t0_ns + 1000 round(k 1327.104); sequence s, laser l: "
                    "t_pkt + 55296 s + 2304 l ns"));
    json_object_set_new(def, "sweep_membership",
        json_string("a firing sequence belongs to sweep floor((A(t_first_firing) - cut_deg) / 360) "
                    "(0 = first sweep); the cut lies half-way between two sequences"));
    json_object_set_new(def, "sweep_times",
        json_string("start_ns = first firing of its first sequence, end_ns = last firing (laser 15) "
                    "of its last sequence; timestamp_ns = first firing of the first sequence with A >= cut + 180 + 360 n, "
                    "or (start+end)/2 when the sweep does not contain it; packets = packets holding "
                    "at least one of its sequences; complete = all 1808 sequences present"));
    json_object_set_new(def, "trigger",
        json_string("trigger_ns = round(time at which A(t) equals the camera axis azimuth inside the "
                    "sweep); images only when start_ns <= trigger_ns <= end_ns"));
    json_object_set_new(def, "boxes2d",
        json_string("per pixel (centre at integer u,v) the undistorted ray is slab-tested against each "
                    "box alone (t > 0); extremes of the pixels hit; touches_border = reaches row/column "
                    "0 or the last; behind = some corner has camera z <= 0; x0,y0,x1,y1 = the same extremes "
                    "refined to 1/16 px by sampling beyond each extreme pixel on a 1/16 x 1/8 px grid"));
    json_object_set_new(def, "labels",
        json_string("one per sweep at timestamp_ns, objects whose centre is within 100 m of the LiDAR"));
    if (sc->ouster) synth_ouster_params(sc, li, def);
    json_object_set_new(root, "definitions", def);
    return json_write(root, path, err);
}

/* ---- cameras --------------------------------------------------------------------------- */

static int write_images(const synth_scene *sc, const synth_sweep *sw, size_t n_sw,
                        const char *dir, void (*progress)(double, void *), void *ctx,
                        avt_error *err)
{
    int rc = AVT_OK;
    char path[4096], path_i[4096], path_b[4096], rel[256];
    FILE *fi = NULL, *fb = NULL;
    uint8_t *rgb = NULL;
    synth_raytable rt[SYNTH_MAX_CAMERAS];
    memset(rt, 0, sizeof rt);
    synth_bbox2d boxes[SYNTH_MAX_OBJECTS];

    if ((rc = path2(path_i, sizeof path_i, dir, "truth/images.csv", err))) goto out;
    if ((rc = path2(path_b, sizeof path_b, dir, "truth/boxes2d.csv", err))) goto out;
    if (!(fi = open_w(path_i, err))) {
        rc = AVT_IO;
        goto out;
    }
    if (!(fb = open_w(path_b, err))) {
        rc = AVT_IO;
        goto out;
    }
    fprintf(fi, "camera,file,sweep,trigger_ns,exposure_ns,name_ns,jitter_ns,duplicate_of\n");
    fprintf(fb, "camera,file,sweep,track_id,umin,vmin,umax,vmax,touches_border,behind,x0,y0,x1,y1\n");
    if (sc->n_cam == 0) goto out;

    size_t npix = (size_t)sc->cfg.width * sc->cfg.height;
    rgb = malloc(npix * 3);
    if (!rgb) {
        rc = avt_err(err, AVT_NOMEM, "synth: out of memory for a %zu-pixel image", npix);
        goto out;
    }
    for (size_t c = 0; c < sc->n_cam; c++) {
        snprintf(rel, sizeof rel, "cameras/%s", sc->cam[c].name);
        if ((rc = path2(path, sizeof path, dir, rel, err))) goto out;
        if ((rc = mkdir_p(path, err))) goto out;
        if (synth_raytable_init(&rt[c], &sc->cam[c]) != AVT_OK) {
            rc = avt_err(err, AVT_NOMEM, "synth: out of memory for ray tables");
            goto out;
        }
    }

    synth_rng jit, fate;
    synth_rng_seed(&jit, sc->cfg.seed ^ 0x6A6974746572ULL);
    /* drops and duplicates from their own stream: with both rates 0 the log is unchanged */
    synth_rng_seed(&fate, sc->cfg.seed ^ 0x64726F70647570ULL);
    for (size_t m = 0; m < n_sw; m++) {
        for (size_t c = 0; c < sc->n_cam; c++) {
            const synth_cam *cam = &sc->cam[c];
            double g = synth_rng_gauss(&jit); /* drawn for every slot: streams stay aligned */
            double u_drop = synth_rng_uniform(&fate), u_dup = synth_rng_uniform(&fate);
            double u_dup_dt = synth_rng_uniform(&fate);
            double a_target = sw[m].az_start_deg +
                              fmod(camera_axis_az_deg(cam) - sc->cut_deg + 720.0, 360.0);
            int64_t trig = sc->t0_ns + (int64_t)llround((a_target - sc->az0_deg) / 360.0 *
                                                         (double)sc->rev_ns);
            if (trig < sw[m].start_ns || trig > sw[m].end_ns) continue;
            if (u_drop < sc->cfg.drop_rate) continue; /* dropped: simply not written */
            int64_t jitter = (int64_t)llround(g * sc->cfg.jitter_s * 1e9);
            int64_t expo = trig + jitter;
            int64_t name_ns = expo + sc->clock_offset_ns +
                              (int64_t)llround(sc->cfg.clock_drift_ppm * 1e-6 * (double)(expo - sc->t0_ns));
            int dup = u_dup < sc->cfg.duplicate_rate;
            char file[32], orig[32] = "";
            synth_render(sc, cam, &rt[c], expo, rgb, boxes);
            for (int copy = 0; copy <= dup; copy++) {
                int64_t t_file = copy ? name_ns + 2000000 + (int64_t)llround(u_dup_dt * 8e6) : name_ns;
                snprintf(file, sizeof file, "%019" PRId64 ".png", t_file);
                snprintf(rel, sizeof rel, "cameras/%s/%s", cam->name, file);
                if ((rc = path2(path, sizeof path, dir, rel, err))) goto out;
                if ((rc = synth_png_write(path, rgb, cam->width, cam->height, err))) goto out;
                fprintf(fi, "%s,%s,%zu,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%s\n", cam->name, file, m,
                        trig, expo, t_file, jitter, orig);
                for (size_t i = 0; i < sc->n_obj; i++) {
                    const synth_bbox2d *b = &boxes[i];
                    if (b->umax < 0) continue;
                    int border = b->umin == 0 || b->vmin == 0 || b->umax == (int)cam->width - 1 ||
                                 b->vmax == (int)cam->height - 1;
                    fprintf(fb, "%s,%s,%zu,%d,%d,%d,%d,%d,%d,%d,%.4f,%.4f,%.4f,%.4f\n", cam->name, file, m,
                            sc->obj[i].track_id, b->umin, b->vmin, b->umax, b->vmax, border,
                            b->behind, b->x0, b->y0, b->x1, b->y1);
                }
                memcpy(orig, file, sizeof orig);
            }
        }
        if (progress) progress(0.3 + 0.7 * (double)(m + 1) / (double)n_sw, ctx);
    }
out:
    for (size_t c = 0; c < SYNTH_MAX_CAMERAS; c++) synth_raytable_free(&rt[c]);
    free(rgb);
    if (fb) {
        int c = close_w(fb, path_b, rc ? NULL : err);
        if (!rc) rc = c;
    }
    if (fi) {
        int c = close_w(fi, path_i, rc ? NULL : err);
        if (!rc) rc = c;
    }
    return rc;
}

/* ---- entry point ------------------------------------------------------------------------- */

int avt_synth_run(const char *dir, const avt_synth_config *cfg,
                  void (*progress)(double fraction, void *ctx), void *ctx, avt_error *err)
{
    synth_scene *sc = NULL;
    synth_sweep *sw = NULL;
    size_t n_sw = 0;
    char path[4096];
    int rc;
    if (!dir || !cfg) return avt_err(err, AVT_INVAL, "synth: no directory or configuration");
    if ((rc = config_check(cfg, err))) return rc;
    if ((rc = dir_prepare(dir, err))) return rc;
    static const char *const subdirs[] = {"lidar", "cameras", "labels", "truth"};
    for (size_t i = 0; i < 4; i++) {
        if ((rc = path2(path, sizeof path, dir, subdirs[i], err))) return rc;
        if ((rc = mkdir_p(path, err))) return rc;
    }
    sc = malloc(sizeof *sc);
    if (!sc) return avt_err(err, AVT_NOMEM, "synth: out of memory");
    if ((rc = synth_scene_init(sc, cfg, err))) goto out;
    if (cfg->miscalibrate_camera) {
        int found = 0;
        for (size_t i = 0; i < sc->n_cam; i++) found |= strcmp(sc->cam[i].name, cfg->miscalibrate_camera) == 0;
        avt_sbuf names = {0};
        for (size_t i = 0; i < sc->n_cam; i++) avt_sbuf_printf(&names, "%s%s", i ? ", " : "", sc->cam[i].name);
        if (!found)
            rc = avt_err(err, AVT_INVAL, "synth: --miscalibrate camera '%s' is not one of the log's cameras (%s)",
                         cfg->miscalibrate_camera, names.p ? names.p : "none");
        free(names.p);
        for (int k = 0; k < 6 && !rc; k++)
            if (!(fabs(cfg->miscalibrate[k]) <= (k < 3 ? 10.0 : 1.0)))
                rc = avt_err(err, AVT_INVAL, "synth: miscalibration %s %g outside [-%g, %g]",
                             (const char *[]){"roll", "pitch", "yaw", "x", "y", "z"}[k], cfg->miscalibrate[k],
                             k < 3 ? 10.0 : 1.0, k < 3 ? 10.0 : 1.0);
        if (rc) goto out;
    }

    if ((rc = path2(path, sizeof path, dir, "calib.yaml", err)) ||
        (rc = write_calib(sc, path, err)))
        goto out;
    if ((rc = path2(path, sizeof path, dir, "poses.csv", err)) ||
        (rc = write_poses(sc, path, err)))
        goto out;
    char pcap_name[64];
    snprintf(pcap_name, sizeof pcap_name, "lidar/%s.pcap", sc->lidar_name);
    if (sc->ouster) {
        if ((rc = synth_ouster_write(sc, dir, &sw, &n_sw, progress, ctx, err))) goto out;
    } else if ((rc = path2(path, sizeof path, dir, pcap_name, err)) ||
               (rc = synth_lidar_write(sc, path, &sw, &n_sw, progress, ctx, err)) ||
               (rc = synth_lidar_calib_write(sc, dir, err)) ||
               (rc = path2(path, sizeof path, dir, "truth/returns.csv", err)) ||
               (rc = write_returns(sw, n_sw, path, err))) {
        goto out;
    }
    if ((rc = path2(path, sizeof path, dir, "truth/sweeps.csv", err)) ||
        (rc = write_sweeps(sw, n_sw, path, err)))
        goto out;
    if ((rc = path2(path, sizeof path, dir, "labels", err))) goto out;
    for (size_t m = 0; m < n_sw; m++)
        if ((rc = write_label(sc, sw[m].timestamp_ns, path, err))) goto out;
    if ((rc = write_images(sc, sw, n_sw, dir, progress, ctx, err))) goto out;
    if ((rc = path2(path, sizeof path, dir, "truth/params.json", err)) ||
        (rc = write_params(sc, path, err)))
        goto out;
    if (cfg->miscalibrate_camera && ((rc = path2(path, sizeof path, dir, "truth/miscalibration.json", err)) ||
                                     (rc = write_miscalibration(sc, path, err))))
        goto out;
    if (progress) progress(1.0, ctx);
out:
    free(sw);
    synth_scene_free(sc);
    free(sc);
    return rc;
}
