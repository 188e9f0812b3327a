/* avtruth labels: KITTI object benchmark labels (devkit_object readme, "Data Format
 * Description", label_2/<id>.txt) and the import of a KITTI object layout into drive logs.
 *
 *   type truncated occluded alpha left top right bottom h w l x y z rotation_y [score]
 *
 * (x, y, z) is the bottom centre of the box in rectified camera-0 coordinates (y down), so the
 * geometric centre is (x, y - h/2, z); the box's length axis is R_y(ry) e_x = (cos ry, 0,
 * -sin ry), its width axis R_y(ry) e_z and its height axis -e_y (up). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "avtruth/calib.h"
#include "avtruth/kitti.h"
#include "avtruth/pointcloud.h"
#include "avtruth/schema.h"

int avt_kitti_labels_parse(const char *text, size_t len, const char *path, avt_kitti_object **objs, size_t *n,
                           avt_error *err)
{
    static const char *const FIELD[15] = {"type", "truncated", "occluded", "alpha", "left", "top", "right", "bottom",
                                          "height", "width", "length", "x", "y", "z", "rotation_y"};
    avt_kitti_object *v = NULL;
    size_t cap = 0, cnt = 0;
    unsigned line = 0;
    const char *p = text, *end = text + len;
    *objs = NULL;
    *n = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        line++;
        char buf[512], *tok[17], *save = NULL;
        size_t ll = (size_t)(eol - p);
        if (ll >= sizeof buf) {
            free(v);
            return avt_err(err, AVT_FORMAT, "%s: line %u: longer than %zu characters", path, line, sizeof buf - 1);
        }
        memcpy(buf, p, ll);
        buf[ll] = 0;
        p = eol + 1;
        int nt = 0;
        for (char *t = strtok_r(buf, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
            if (nt == 17) break;
            tok[nt++] = t;
        }
        if (nt == 0) continue;
        if (nt != 15 && nt != 16) {
            free(v);
            return avt_err(err, AVT_FORMAT, "%s: line %u: %d fields, expected 15 (or 16 with a score)", path, line, nt);
        }
        if (avt_grow((void **)&v, &cap, cnt + 1, sizeof *v)) {
            free(v);
            return avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        }
        avt_kitti_object *o = &v[cnt];
        memset(o, 0, sizeof *o);
        if (strlen(tok[0]) >= sizeof o->type) {
            free(v);
            return avt_err(err, AVT_FORMAT, "%s: line %u: type '%s' too long", path, line, tok[0]);
        }
        memcpy(o->type, tok[0], strlen(tok[0]) + 1);
        double f[15];
        for (int i = 1; i < 15; i++)
            if (!avt_parse_double(tok[i], &f[i])) {
                free(v);
                return avt_err(err, AVT_FORMAT, "%s: line %u: %s: not a finite number: '%s'", path, line, FIELD[i],
                               tok[i]);
            }
        o->truncated = f[1];
        o->occluded = (int)f[2];
        o->alpha = f[3];
        memcpy(o->bbox, &f[4], sizeof o->bbox);
        o->h = f[8], o->w = f[9], o->l = f[10];
        memcpy(o->loc, &f[11], sizeof o->loc);
        o->ry = f[14];
        int dontcare = strcmp(o->type, "DontCare") == 0;
        if (!dontcare && (!(o->h > 0) || !(o->w > 0) || !(o->l > 0))) {
            free(v);
            return avt_err(err, AVT_FORMAT, "%s: line %u: dimensions %g %g %g must be positive", path, line, o->h, o->w,
                           o->l);
        }
        if (!dontcare && (!(o->truncated >= 0 && o->truncated <= 1) || f[2] != o->occluded || o->occluded < 0 ||
                          o->occluded > 3)) {
            free(v);
            return avt_err(err, AVT_FORMAT, "%s: line %u: truncated %g / occluded %g out of range", path, line,
                           o->truncated, f[2]);
        }
        cnt++;
    }
    *objs = v;
    *n = cnt;
    return AVT_OK;
}

int avt_kitti_labels_load(const char *path, avt_kitti_object **objs, size_t *n, avt_error *err)
{
    char *text = NULL;
    size_t len = 0;
    *objs = NULL;
    *n = 0;
    int rc = avt_read_file(path, 16u << 20, &text, &len, err);
    if (rc) return rc;
    rc = avt_kitti_labels_parse(text, len, path, objs, n, err);
    free(text);
    return rc;
}

void avt_kitti_object_box(const avt_kitti_object *o, const avt_tf *T, avt_obox *box)
{
    double c = cos(o->ry), s = sin(o->ry);
    /* columns: length, width, height axes in rectified camera coordinates */
    double A[9] = {c, s, 0, 0, 0, -1, -s, c, 0};
    double centre[3] = {o->loc[0], o->loc[1] - 0.5 * o->h, o->loc[2]};
    avt_tf_apply(T, centre, box->center);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            box->R[3 * i + j] = T->m[4 * i] * A[j] + T->m[4 * i + 1] * A[3 + j] + T->m[4 * i + 2] * A[6 + j];
    box->size[0] = o->l;
    box->size[1] = o->w;
    box->size[2] = o->h;
}

void avt_kitti_object_label(const avt_kitti_object *o, const avt_tf *lidar_T_rect, avt_label_box *lb, double *tilt)
{
    avt_obox b;
    avt_kitti_object_box(o, lidar_T_rect, &b);
    memset(lb, 0, sizeof *lb);
    memcpy(lb->center, b.center, sizeof lb->center);
    memcpy(lb->size, b.size, sizeof lb->size);
    lb->yaw = atan2(b.R[3], b.R[0]);
    lb->velocity[0] = lb->velocity[1] = lb->velocity[2] = NAN;
    lb->class_id = -1; /* the type names a class of the KITTI schema (schemas/kitti.yaml) */
    lb->track_id = -1;
    lb->score = NAN;
    lb->occluded = o->occluded;
    lb->truncated = o->truncated;
    if (tilt) *tilt = acos(fmin(1.0, fabs(b.R[8])));
}

void avt_kitti_object_from_box(const double center[3], const double size[3], double yaw, const avt_tf *cam_T_lidar,
                               avt_kitti_object *o)
{
    double c[3], d[3], ax[3] = {cos(yaw), sin(yaw), 0};
    avt_tf_apply(cam_T_lidar, center, c);
    avt_tf_rotate(cam_T_lidar, ax, d);
    o->l = size[0], o->w = size[1], o->h = size[2];
    o->loc[0] = c[0], o->loc[1] = c[1] + 0.5 * o->h, o->loc[2] = c[2];
    o->ry = atan2(-d[2], d[0]);
    o->alpha = o->ry - atan2(o->loc[0], o->loc[2]);
    o->alpha -= 2 * M_PI * floor((o->alpha + M_PI) / (2 * M_PI));
}

int avt_kitti_occlusion(double v)
{
    return v >= 0.75 ? 0 : v >= 0.25 ? 1 : v > 0 ? 2 : 3;
}

void avt_kitti_labels_format(const avt_kitti_object *o, size_t n, avt_sbuf *out)
{
    for (size_t i = 0; i < n; i++, o++)
        avt_sbuf_printf(out, "%s %.4f %d %.4f %.2f %.2f %.2f %.2f %.4f %.4f %.4f %.4f %.4f %.4f %.4f\n", o->type,
                        o->truncated, o->occluded, o->alpha, o->bbox[0], o->bbox[1], o->bbox[2], o->bbox[3], o->h, o->w,
                        o->l, o->loc[0], o->loc[1], o->loc[2], o->ry);
}

/* ---- import ---- */

#define KITTI_T0_NS 1317000000000000000LL /* 2011-09-26, the KITTI recording season */
#define KITTI_DT_NS 100000000LL           /* synthetic 0.1 s between unrelated frames */

/* snprintf into a path buffer; a path that does not fit is an error, not a silent truncation. */
static int pathf(char *out, size_t n, avt_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    return (w < 0 || (size_t)w >= n) ? avt_err(err, AVT_INVAL, "path too long: %.80s...", out) : AVT_OK;
}

static int make_dir(const char *p, avt_error *err)
{
    if (mkdir(p, 0755) == 0 || errno == EEXIST) return AVT_OK;
    return avt_err(err, AVT_IO, "%s: cannot create directory: %s", p, strerror(errno));
}

static int copy_file(const char *from, const char *to, avt_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = avt_read_file(from, (size_t)1 << 31, &data, &len, err);
    if (rc) return rc;
    FILE *f = fopen(to, "wb");
    if (!f) rc = avt_err(err, AVT_IO, "%s: cannot create: %s", to, strerror(errno));
    else if ((fwrite(data, 1, len, f) != len) | (fclose(f) != 0))
        rc = avt_err(err, AVT_IO, "%s: write failed: %s", to, strerror(errno));
    free(data);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Frame ids: the stems of velodyne/<id>.bin, sorted. */
static int list_ids(const char *dir, char ***ids, size_t *n, avt_error *err)
{
    DIR *d = opendir(dir);
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    if (!d) return avt_err(err, AVT_IO, "%s: cannot open: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || l > 64 || strcmp(e->d_name + l - 4, ".bin") != 0) continue;
        if (avt_grow((void **)ids, &cap, *n + 1, sizeof **ids) || !((*ids)[*n] = strndup(e->d_name, l - 4))) {
            closedir(d);
            return avt_err(err, AVT_NOMEM, "%s: out of memory", dir);
        }
        (*n)++;
    }
    closedir(d);
    if (*n) qsort(*ids, *n, sizeof **ids, cmp_str);
    return *n ? AVT_OK : avt_err(err, AVT_NOTFOUND, "%s: no .bin point clouds", dir);
}

/* A label file of the drive log (docs/drive-log.md) with the KITTI schema's classes: every
 * object of a known type as a box, DontCare (an ignore class) as an ignore region of camera
 * image_2. A type the schema does not have is an error naming the line. */
static int write_label_json(const char *path, const char *src, int64_t t_ns, const avt_kitti_object *o, size_t n,
                            const avt_tf *lidar_T_rect, const avt_schema *schema, avt_error *err)
{
    json_t *root = json_object(), *boxes = json_array(), *regions = json_array();
    int rc = AVT_OK;
    if (!root || !boxes || !regions) {
        json_decref(root);
        json_decref(boxes);
        json_decref(regions);
        return avt_err(err, AVT_NOMEM, "%s: out of memory", path);
    }
    json_object_set_new(root, "timestamp_ns", json_integer(t_ns));
    json_object_set_new(root, "frame", json_string("lidar"));
    json_object_set_new(root, "boxes", boxes);
    json_object_set_new(root, "ignore_regions", regions);
    for (size_t i = 0; i < n && !rc; i++) {
        const avt_schema_class *k = avt_schema_class_find(schema, o[i].type);
        json_t *e;
        if (!k) {
            rc = avt_err(err, AVT_FORMAT, "%s: object %zu: type '%s' is not a class of the KITTI schema", src, i + 1,
                         o[i].type);
            break;
        }
        if (k->ignore) {
            e = json_pack("{s:s, s:s, s:[f,f,f,f]}", "camera", "image_2", "class", k->name, "xyxy", o[i].bbox[0],
                          o[i].bbox[1], o[i].bbox[2], o[i].bbox[3]);
            if (!e || json_array_append_new(regions, e)) rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
            continue;
        }
        avt_label_box lb;
        avt_kitti_object_label(&o[i], lidar_T_rect, &lb, NULL);
        /* KITTI objects have no identity across frames: the line number is the track id */
        e = json_pack("{s:I, s:s, s:[f,f,f], s:[f,f,f], s:f, s:[], s:i, s:f}", "track_id", (json_int_t)i, "class",
                      k->name, "center", lb.center[0], lb.center[1], lb.center[2], "size", lb.size[0], lb.size[1],
                      lb.size[2], "yaw", lb.yaw, "attributes", "occluded", lb.occluded, "truncated", lb.truncated);
        if (!e || json_array_append_new(boxes, e)) rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
    }
    if (!rc && json_dump_file(root, path, JSON_INDENT(1) | JSON_REAL_PRECISION(17)))
        rc = avt_err(err, AVT_IO, "%s: cannot write", path);
    json_decref(root);
    return rc;
}

/* One log from the frames ids[sel[0..ns-1]] sharing one calibration. */
static int import_group(const char *src, const char *log, char **ids, const size_t *sel, size_t ns,
                        const avt_schema *schema, avt_error *err)
{
    char p[1024], q[1024];
    avt_rig rig;
    avt_tf rect_T_velo;
    int rc;
    memset(&rig, 0, sizeof rig);
    if ((rc = pathf(p, sizeof p, err, "%s/calib/%s.txt", src, ids[sel[0]]))) goto out;
    if ((rc = avt_rig_load(p, "kitti-object", &rig, err)) || (rc = avt_kitti_rect_T_velo(p, &rect_T_velo, err))) goto out;
    avt_tf lidar_T_rect = avt_tf_inv(&rect_T_velo);
    size_t k2 = rig.n_cameras;
    for (size_t i = 0; i < rig.n_cameras; i++)
        if (!strcmp(rig.cameras[i].name, "image_2")) k2 = i;
    if (k2 == rig.n_cameras) {
        rc = avt_err(err, AVT_FORMAT, "%s: no P2 (camera image_2)", p);
        goto out;
    }
    if (k2) rig.cameras[0] = rig.cameras[k2];
    rig.n_cameras = 1;
    if ((rc = make_dir(log, err))) goto out;
    const char *sub[] = {"lidar", "cameras", "cameras/image_2", "labels"};
    for (int i = 0; i < 4; i++) {
        if ((rc = pathf(q, sizeof q, err, "%s/%s", log, sub[i]))) goto out;
        if ((rc = make_dir(q, err))) goto out;
    }
    if ((rc = pathf(q, sizeof q, err, "%s/calib.yaml", log))) goto out;
    if ((rc = avt_rig_save_yaml(q, &rig, err))) goto out;
    if ((rc = pathf(q, sizeof q, err, "%s/log.yaml", log))) goto out;
    FILE *ly = fopen(q, "w");
    if (!ly || fputs("# written by avtruth import kitti: labels use the KITTI classes\nschema: kitti\n", ly) < 0) {
        if (ly) fclose(ly);
        rc = avt_err(err, AVT_IO, "%s: cannot write: %s", q, strerror(errno));
        goto out;
    }
    if (fclose(ly)) {
        rc = avt_err(err, AVT_IO, "%s: cannot write: %s", q, strerror(errno));
        goto out;
    }
    for (size_t k = 0; k < ns; k++) {
        const char *id = ids[sel[k]];
        long long t = KITTI_T0_NS + (long long)k * KITTI_DT_NS;
        avt_pointcloud pc;
        if ((rc = pathf(p, sizeof p, err, "%s/velodyne/%s.bin", src, id))) goto out;
        if ((rc = avt_pointcloud_read(p, AVT_PC_KITTI_BIN, &pc, err))) goto out; /* validates the size */
        avt_pointcloud_free(&pc);
        if ((rc = pathf(q, sizeof q, err, "%s/lidar/%lld.bin", log, t))) goto out;
        if ((rc = copy_file(p, q, err))) goto out;
        if ((rc = pathf(p, sizeof p, err, "%s/image_2/%s.png", src, id))) goto out;
        if ((rc = pathf(q, sizeof q, err, "%s/cameras/image_2/%lld.png", log, t))) goto out;
        if ((rc = copy_file(p, q, err))) goto out;
        if ((rc = pathf(p, sizeof p, err, "%s/label_2/%s.txt", src, id))) goto out;
        struct stat st;
        if (stat(p, &st) == 0) {
            avt_kitti_object *objs = NULL;
            size_t n = 0;
            if ((rc = avt_kitti_labels_load(p, &objs, &n, err))) goto out;
            rc = pathf(q, sizeof q, err, "%s/labels/%lld.json", log, t);
            if (!rc) rc = write_label_json(q, p, t, objs, n, &lidar_T_rect, schema, err);
            free(objs);
            if (rc) goto out;
        }
    }
out:
    avt_rig_free(&rig);
    return rc;
}

int avt_import_kitti(const char *src, const char *dst, avt_error *err)
{
    char **ids = NULL, **calib = NULL, p[1024];
    size_t n = 0, *group = NULL, *sel = NULL, n_groups = 0;
    avt_schema schema;
    int rc;
    if ((rc = avt_schema_builtin("kitti", &schema, err))) return rc;
    if ((rc = pathf(p, sizeof p, err, "%s/velodyne", src))) goto out;
    if ((rc = list_ids(p, &ids, &n, err))) goto out;
    calib = calloc(n, sizeof *calib);
    group = calloc(n, sizeof *group);
    sel = calloc(n, sizeof *sel);
    if (!calib || !group || !sel) {
        rc = avt_err(err, AVT_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if ((rc = pathf(p, sizeof p, err, "%s/calib/%s.txt", src, ids[i]))) goto out;
        if ((rc = avt_read_file(p, 1 << 20, &calib[i], &len, err))) goto out;
        group[i] = i;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(calib[i], calib[j])) {
                group[i] = group[j];
                break;
            }
        n_groups += group[i] == i;
    }
    if ((rc = make_dir(dst, err))) goto out;
    for (size_t g = 0; g < n; g++) {
        if (group[g] != g) continue;
        size_t ns = 0;
        for (size_t i = 0; i < n; i++)
            if (group[i] == g) sel[ns++] = i;
        char log[1024];
        if ((rc = n_groups == 1 ? pathf(log, sizeof log, err, "%s", dst) : pathf(log, sizeof log, err, "%s/%s", dst, ids[g])))
            goto out;
        if ((rc = import_group(src, log, ids, sel, ns, &schema, err))) goto out;
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        if (calib) free(calib[i]);
    }
    free(ids);
    free(calib);
    free(group);
    free(sel);
    avt_schema_free(&schema);
    return rc;
}
