/* avtruth export: `avtruth verify`, re-checks a ground-truth file against FORMAT.md's
 * invariants (offset arrays, cross-references, times), reads every chunk of every dataset
 * back through HDF5's filters, and checks its inputs against the SHA-256 recorded in
 * /provenance/inputs. Stops at the first inconsistency and names the dataset, the row (or
 * chunk) and the value. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "export_private.h"

/* A column of a table as FORMAT.md gives it: its name (under the table's group) and rank, and
 * the sizes of its dimensions after the first. */
typedef struct vspec {
    const char *name;
    int rank;
    uint64_t d1, d2;
} vspec;

/* "base/name", or name when base is NULL. */
static void col_path(char *out, size_t n, const char *base, const char *name)
{
    snprintf(out, n, "%s%s%s", base ? base : "", base ? "/" : "", name);
}

/* A CSR offset array of F+1 entries (its shape checked when read): starts at 0,
 * non-decreasing, ends at `len` rows of every column it indexes (cols under base, lens their
 * rows). */
static int check_offsets(avt_h5ctx *v, const char *name, const avt_h5col *off, uint64_t frames, const char *base,
                         const vspec *cols, const uint64_t *lens)
{
    const uint64_t *o = off->data;
    if (o[0] != 0)
        return avt_err(v->err, AVT_MISMATCH, "%s: /%s: row 0: value %llu, offsets start at 0",
                       v->path, name, (unsigned long long)o[0]);
    for (uint64_t i = 1; i <= frames; i++)
        if (o[i] < o[i - 1])
            return avt_err(v->err, AVT_MISMATCH,
                           "%s: /%s: row %llu: value %llu is below the previous %llu (offsets "
                           "must not decrease)",
                           v->path, name, (unsigned long long)i, (unsigned long long)o[i],
                           (unsigned long long)o[i - 1]);
    for (size_t k = 0; cols[k].name; k++)
        if (lens[k] != o[frames]) {
            char p[512];
            col_path(p, sizeof p, base, cols[k].name);
            return avt_err(v->err, AVT_MISMATCH,
                           "%s: /%s: row %llu: value %llu, but /%s has %llu rows", v->path, name,
                           (unsigned long long)frames, (unsigned long long)o[frames], p,
                           (unsigned long long)lens[k]);
        }
    return AVT_OK;
}

/* Columns of one table (names under base, or under the root when base is NULL) all exist and
 * have their FORMAT.md shape with `rows` rows (AVT_H5_ANY: any); their rows go to lens. */
static int check_lengths(avt_h5ctx *v, const char *base, const vspec *cols, uint64_t rows, uint64_t *lens)
{
    char p[512];
    avt_h5col c;
    int rc;
    for (size_t k = 0; cols[k].name; k++) {
        col_path(p, sizeof p, base, cols[k].name);
        if ((rc = avt_h5_shape_as(v, p, 0, cols[k].rank, rows, cols[k].d1, cols[k].d2, &c))) return rc;
        lens[k] = c.rows;
    }
    return AVT_OK;
}

/* A ragged table: its columns (under base) and its offset array `offset` into off, checked
 * against each other. optional: the table may be absent, offsets and columns together. */
static int check_table(avt_h5ctx *v, const char *offset, const char *base, const vspec *cols, uint64_t frames,
                       int optional, avt_h5col *off)
{
    uint64_t lens[16];
    int rc = avt_h5_read_as(v, offset, H5T_NATIVE_UINT64, optional, 1, frames + 1, 0, 0, off);
    if (rc || !off->present) return rc;
    if ((rc = check_lengths(v, base, cols, AVT_H5_ANY, lens))) return rc;
    return check_offsets(v, offset, off, frames, base, cols, lens);
}

/* A dataset of a fixed shape (rank 1..2, rank 1: d1 ignored), when present. */
static int check_fixed(avt_h5ctx *v, const char *name, int optional, int rank, uint64_t d0, uint64_t d1)
{
    avt_h5col c;
    return avt_h5_shape_as(v, name, optional, rank, d0, d1, 0, &c);
}

static int check_frames(avt_h5ctx *v, uint64_t frames, uint64_t n_classes, FILE *out)
{
    int rc;
    avt_h5col ts = {0}, st = {0}, en = {0}, poff = {0}, boff = {0}, fidx = {0}, cls = {0};
    avt_h5col inst = {0}, label = {0}, tns = {0}, lstart = {0};
    /* FORMAT.md's columns of the frame, point and box tables: name, rank, sizes after the first */
    static const vspec fcols[] = {{"timestamp_ns", 1, 0, 0}, {"start_ns", 1, 0, 0}, {"end_ns", 1, 0, 0},
                                  {"ego_pose", 3, 4, 4}, {"packets", 1, 0, 0}, {"packets_lost", 1, 0, 0},
                                  {NULL, 0, 0, 0}};
    static const vspec pcols[] = {{"xyz", 2, 3, 0}, {"intensity", 1, 0, 0}, {"ring", 1, 0, 0},
                                  {"time_ns", 1, 0, 0}, {"return_type", 1, 0, 0}, {"label", 1, 0, 0},
                                  {"instance", 1, 0, 0}, {NULL, 0, 0, 0}};
    static const vspec bcols[] = {{"center", 2, 3, 0}, {"size", 2, 3, 0}, {"yaw", 1, 0, 0},
                                  {"rotation", 2, 4, 0}, {"velocity", 2, 3, 0}, {"class_id", 1, 0, 0},
                                  {"track_id", 1, 0, 0}, {"num_lidar_points", 1, 0, 0},
                                  {"attributes", 1, 0, 0}, {"frame_index", 1, 0, 0}, {NULL, 0, 0, 0}};
    uint64_t lens[16];
    if ((rc = check_lengths(v, "frames", fcols, frames, lens)) ||
        (rc = check_table(v, "frames/point_offset", "lidar", pcols, frames, 0, &poff)) ||
        (rc = check_table(v, "frames/box_offset", "boxes3d", bcols, frames, 0, &boff)))
        goto out;
    if ((rc = avt_h5_read(v, "frames/timestamp_ns", H5T_NATIVE_INT64, 0, &ts)) ||
        (rc = avt_h5_read(v, "frames/start_ns", H5T_NATIVE_INT64, 0, &st)) ||
        (rc = avt_h5_read(v, "frames/end_ns", H5T_NATIVE_INT64, 0, &en)) ||
        (rc = avt_h5_read(v, "boxes3d/frame_index", H5T_NATIVE_UINT32, 0, &fidx)) ||
        (rc = avt_h5_read(v, "boxes3d/class_id", H5T_NATIVE_UINT16, 0, &cls)) ||
        (rc = avt_h5_read(v, "lidar/instance", H5T_NATIVE_INT32, 0, &inst)) ||
        (rc = avt_h5_read(v, "lidar/label", H5T_NATIVE_UINT16, 0, &label)) ||
        (rc = avt_h5_read(v, "lidar/time_ns", H5T_NATIVE_INT32, 0, &tns)) ||
        (rc = avt_h5_read_as(v, "logs/frame_offset", H5T_NATIVE_UINT64, 1, 1, AVT_H5_ANY, 0, 0, &lstart)))
        goto out;
    /* A stitched index: times increase within each log, not across logs. */
    const uint64_t *ls = lstart.data;
    uint64_t next_log = 0, nl = lstart.rows;
    const int64_t *t = ts.data, *t0 = st.data, *t1 = en.data;
    const uint64_t *po = poff.data, *bo = boff.data;
    const uint32_t *fi = fidx.data;
    const uint16_t *cl = cls.data, *lb = label.data;
    const int32_t *in = inst.data, *tn = tns.data;
    for (uint64_t f = 0; f < frames; f++) {
        int log_start = 0;
        while (next_log < nl && ls[next_log] == f) {
            log_start = 1;
            next_log++;
        }
        if (f && !log_start && t[f] <= t[f - 1]) {
            rc = avt_err(v->err, AVT_MISMATCH,
                         "%s: /frames/timestamp_ns: row %llu: value %lld is not after the "
                         "previous frame's %lld",
                         v->path, (unsigned long long)f, (long long)t[f], (long long)t[f - 1]);
            goto out;
        }
        if (t0[f] > t1[f]) {
            rc = avt_err(v->err, AVT_MISMATCH, "%s: /frames/start_ns: row %llu: value %lld is after end_ns %lld",
                         v->path, (unsigned long long)f, (long long)t0[f], (long long)t1[f]);
            goto out;
        }
        for (uint64_t m = bo[f]; m < bo[f + 1]; m++) {
            if (fi[m] != f) {
                rc = avt_err(v->err, AVT_MISMATCH,
                             "%s: /boxes3d/frame_index: row %llu: value %u, but box_offset puts "
                             "the row in frame %llu",
                             v->path, (unsigned long long)m, fi[m], (unsigned long long)f);
                goto out;
            }
            if (cl[m] >= n_classes) {
                rc = avt_err(v->err, AVT_MISMATCH,
                             "%s: /boxes3d/class_id: row %llu: value %u, /meta/class_names has %llu",
                             v->path, (unsigned long long)m, cl[m], (unsigned long long)n_classes);
                goto out;
            }
        }
        for (uint64_t p = po[f]; p < po[f + 1]; p++) {
            int64_t tp = t[f] + tn[p];
            if (tp < t0[f] || tp > t1[f]) {
                rc = avt_err(v->err, AVT_MISMATCH,
                             "%s: /lidar/time_ns: row %llu: value %d puts the point at %lld, "
                             "outside frame %llu's [start_ns %lld, end_ns %lld]",
                             v->path, (unsigned long long)p, tn[p], (long long)tp,
                             (unsigned long long)f, (long long)t0[f], (long long)t1[f]);
                goto out;
            }
            if (lb[p] >= n_classes) {
                rc = avt_err(v->err, AVT_MISMATCH,
                             "%s: /lidar/label: row %llu: value %u, /meta/class_names has %llu",
                             v->path, (unsigned long long)p, lb[p], (unsigned long long)n_classes);
                goto out;
            }
            if (in[p] == -1) continue;
            if (in[p] < -1 || (uint64_t)in[p] < bo[f] || (uint64_t)in[p] >= bo[f + 1]) {
                rc = avt_err(v->err, AVT_MISMATCH,
                             "%s: /lidar/instance: row %llu: value %d is outside frame %llu's "
                             "boxes [%llu, %llu)",
                             v->path, (unsigned long long)p, in[p], (unsigned long long)f,
                             (unsigned long long)bo[f], (unsigned long long)bo[f + 1]);
                goto out;
            }
            if (lb[p] != cl[in[p]]) {
                rc = avt_err(v->err, AVT_MISMATCH,
                             "%s: /lidar/label: row %llu: value %u, but its instance %d has "
                             "class_id %u",
                             v->path, (unsigned long long)p, lb[p], in[p], cl[in[p]]);
                goto out;
            }
        }
    }
    fprintf(out, "ok: %llu frames, %llu points, %llu 3D boxes: offsets and references consistent\n",
            (unsigned long long)frames, (unsigned long long)po[frames],
            (unsigned long long)bo[frames]);
out:
    avt_h5col_free(&ts), avt_h5col_free(&st), avt_h5col_free(&en), avt_h5col_free(&poff), avt_h5col_free(&boff);
    avt_h5col_free(&fidx), avt_h5col_free(&cls), avt_h5col_free(&inst), avt_h5col_free(&label), avt_h5col_free(&tns);
    avt_h5col_free(&lstart);
    return rc;
}

typedef struct cam_walk {
    avt_h5ctx *v;
    uint64_t frames;
    uint64_t logs; /* sources of a stitched index (/logs/file), 0 for a per-log file */
    avt_h5col boff; /* /frames/box_offset */
    FILE *out;
    int rc;
} cam_walk;

/* Camera cam's calibration under prefix ("", or "logs/<k>/" of a stitched index) in
 * FORMAT.md's shapes: required where the file keeps it (a per-log file's /cameras, each log's
 * of an index), checked where present otherwise. */
static int check_calibration(avt_h5ctx *v, const char *prefix, const char *cam, int optional)
{
    char p[512];
    int rc;
    snprintf(p, sizeof p, "%scameras/%s/K", prefix, cam);
    if ((rc = check_fixed(v, p, optional, 2, 3, 3))) return rc;
    snprintf(p, sizeof p, "%scameras/%s/lidar_T_cam", prefix, cam);
    if ((rc = check_fixed(v, p, optional, 2, 4, 4))) return rc;
    snprintf(p, sizeof p, "%scameras/%s/distortion", prefix, cam);
    return check_fixed(v, p, optional, 1, AVT_H5_ANY, 0);
}

static int check_camera(cam_walk *cw, const char *name)
{
    avt_h5ctx *v = cw->v;
    int rc;
    char base[300], p[400], prefix[48];
    avt_h5col off = {0}, idx = {0}, doff = {0}, ts = {0}, ioff = {0}, goff = {0};
    uint64_t lens[8];
    snprintf(base, sizeof base, "cameras/%s", name);
    static const vspec fcols[] = {{"timestamp_ns", 1, 0, 0}, {"sync_delta_ns", 1, 0, 0},
                                  {"image_path", 1, 0, 0}, {NULL, 0, 0, 0}};
    static const vspec bcols[] = {{"box3d_index", 1, 0, 0}, {"xyxy", 2, 4, 0}, {"truncation", 1, 0, 0},
                                  {"visibility", 1, 0, 0}, {"corners", 3, 8, 2},
                                  {"num_lidar_points", 1, 0, 0}, {NULL, 0, 0, 0}};
    static const vspec dcols[] = {{"uv", 2, 2, 0}, {"depth", 1, 0, 0}, {NULL, 0, 0, 0}};
    static const vspec gcols[] = {{"xyxy", 2, 4, 0}, {"class_id", 1, 0, 0}, {NULL, 0, 0, 0}};
    static const vspec icols[] = {{"image_png", 1, 0, 0}, {NULL, 0, 0, 0}};
    char b2[320], dp[320], ig[320];
    snprintf(b2, sizeof b2, "%s/boxes2d", base);
    snprintf(dp, sizeof dp, "%s/depth", base);
    snprintf(ig, sizeof ig, "%s/ignore", base);
    if ((rc = check_calibration(v, "", name, cw->logs > 0))) goto out;
    for (uint64_t k = 0; k < cw->logs; k++) {
        snprintf(prefix, sizeof prefix, "logs/%llu/", (unsigned long long)k);
        if ((rc = check_calibration(v, prefix, name, 0))) goto out;
    }
    if ((rc = check_lengths(v, base, fcols, cw->frames, lens))) goto out;
    snprintf(p, sizeof p, "%s/offset", b2);
    if ((rc = check_table(v, p, b2, bcols, cw->frames, 0, &off))) goto out;
    snprintf(p, sizeof p, "%s/offset", dp);
    if ((rc = check_table(v, p, dp, dcols, cw->frames, 0, &doff))) goto out;
    /* ignore regions (files written since the annotation schema; docs/schema.md) */
    snprintf(p, sizeof p, "%s/offset", ig);
    if ((rc = check_table(v, p, ig, gcols, cw->frames, 1, &goff))) goto out;
    /* image_png and image_offset come together (embedded images) or not at all */
    snprintf(p, sizeof p, "%s/image_offset", base);
    if ((rc = check_table(v, p, base, icols, cw->frames, 1, &ioff))) goto out;
    if (!ioff.present) {
        char png_path[320];
        avt_h5col png;
        snprintf(png_path, sizeof png_path, "%s/image_png", base);
        if ((rc = avt_h5_shape(v, png_path, 1, &png))) goto out;
        if (png.present) {
            rc = avt_err(v->err, AVT_MISMATCH, "%s: /%s: present without /%s", v->path, png_path, p);
            goto out;
        }
    }
    snprintf(p, sizeof p, "%s/boxes2d/box3d_index", base);
    if ((rc = avt_h5_read(v, p, H5T_NATIVE_UINT32, 0, &idx))) goto out;
    snprintf(p, sizeof p, "%s/timestamp_ns", base);
    if ((rc = avt_h5_read(v, p, H5T_NATIVE_INT64, 0, &ts))) goto out;
    const uint64_t *o = off.data, *bo = cw->boff.data;
    const uint32_t *bi = idx.data;
    for (uint64_t f = 0; f < cw->frames; f++) {
        if (((const int64_t *)ts.data)[f] == INT64_MIN && o[f + 1] != o[f]) {
            rc = avt_err(v->err, AVT_MISMATCH,
                         "%s: /%s/boxes2d/offset: row %llu: frame has %llu 2D boxes but no "
                         "paired image (timestamp_ns is INT64_MIN)",
                         v->path, base, (unsigned long long)f,
                         (unsigned long long)(o[f + 1] - o[f]));
            goto out;
        }
        const uint64_t *io = ioff.data;
        if (io && ((const int64_t *)ts.data)[f] == INT64_MIN && io[f + 1] != io[f]) {
            rc = avt_err(v->err, AVT_MISMATCH,
                         "%s: /%s/image_offset: row %llu: frame has %llu image bytes but no "
                         "paired image (timestamp_ns is INT64_MIN)",
                         v->path, base, (unsigned long long)f,
                         (unsigned long long)(io[f + 1] - io[f]));
            goto out;
        }
        for (uint64_t k = o[f]; k < o[f + 1]; k++)
            if (bi[k] < bo[f] || bi[k] >= bo[f + 1]) {
                rc = avt_err(v->err, AVT_MISMATCH,
                             "%s: /%s/boxes2d/box3d_index: row %llu: value %u is outside frame "
                             "%llu's boxes [%llu, %llu)",
                             v->path, base, (unsigned long long)k, bi[k], (unsigned long long)f,
                             (unsigned long long)bo[f], (unsigned long long)bo[f + 1]);
                goto out;
            }
    }
    fprintf(cw->out, "ok: camera %s: %llu 2D boxes, %llu depth samples%s\n", name,
            (unsigned long long)o[cw->frames],
            (unsigned long long)((const uint64_t *)doff.data)[cw->frames],
            ioff.present ? ", embedded images" : "");
out:
    avt_h5col_free(&off), avt_h5col_free(&idx), avt_h5col_free(&doff), avt_h5col_free(&ts), avt_h5col_free(&ioff), avt_h5col_free(&goff);
    return rc;
}

static herr_t camera_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g, (void)info;
    cam_walk *cw = data;
    cw->rc = check_camera(cw, name);
    return cw->rc ? 1 : 0;
}

/* Reads a 1-D variable-length string dataset; caller frees with h5x_strs_free. */
static int read_strs(avt_h5ctx *v, const char *name, char ***out, uint64_t *n)
{
    return h5x_strs_read(v->file, name, out, n, v->path, v->err);
}

/* The log directory recorded in /provenance config ("log_dir"), into out; 0 if none. */
static int recorded_log_dir(hid_t file, char *out, size_t n)
{
    int ok = 0;
    char *s = NULL;
    hid_t g = -1, a = -1, t = h5x_str_type();
    json_t *j = NULL;
    out[0] = '\0';
    if (H5Lexists(file, "provenance", H5P_DEFAULT) <= 0) goto out;
    g = H5Gopen2(file, "provenance", H5P_DEFAULT);
    if (g < 0 || H5Aexists(g, "config") <= 0) goto out;
    a = H5Aopen(g, "config", H5P_DEFAULT);
    if (a < 0 || t < 0 || h5x_attr_read1(a, t, &s) < 0 || !s) goto out;
    j = json_loads(s, 0, NULL);
    const char *dir = j ? json_string_value(json_object_get(j, "log_dir")) : NULL;
    if (dir && strlen(dir) < n) {
        snprintf(out, n, "%s", dir);
        ok = 1;
    }
out:
    json_decref(j);
    if (s) H5free_memory(s);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    if (g >= 0) H5Gclose(g);
    return ok;
}

static int check_inputs(avt_h5ctx *v, const char *log_dir, FILE *out)
{
    int rc;
    char **paths = NULL, **shas = NULL;
    uint64_t np = 0, ns = 0;
    avt_h5col sizes = {0};
    if ((rc = read_strs(v, "provenance/inputs/path", &paths, &np)) ||
        (rc = read_strs(v, "provenance/inputs/sha256", &shas, &ns)) ||
        (rc = avt_h5_read_as(v, "provenance/inputs/size_bytes", H5T_NATIVE_UINT64, 0, 1, AVT_H5_ANY, 0, 0, &sizes)))
        goto out;
    if (ns != np || sizes.rows != np) {
        rc = avt_err(v->err, AVT_MISMATCH,
                     "%s: /provenance/inputs: %llu paths, %llu sha256, %llu sizes", v->path,
                     (unsigned long long)np, (unsigned long long)ns,
                     (unsigned long long)sizes.rows);
        goto out;
    }
    for (uint64_t i = 0; i < np; i++) {
        char abs[4096], hex[65];
        uint64_t size = 0;
        const char *rel = paths[i] ? paths[i] : "";
        if (avt_path_join(abs, sizeof abs, log_dir, rel)) {
            rc = avt_err(v->err, AVT_INVAL, "%s: path too long", rel);
            goto out;
        }
        avt_error herr = {0, ""};
        if (avt_export_sha256_file(abs, NULL, hex, &size, &herr)) {
            rc = avt_err(v->err, AVT_MISMATCH, "%s: /provenance/inputs/path: row %llu: %s: %s",
                         v->path, (unsigned long long)i, rel, herr.msg);
            goto out;
        }
        uint64_t want = ((const uint64_t *)sizes.data)[i];
        if (size != want || strcmp(hex, shas[i] ? shas[i] : "") != 0) {
            rc = avt_err(v->err, AVT_MISMATCH,
                         "%s: /provenance/inputs/sha256: row %llu: %s: file is %llu bytes with "
                         "sha256 %s, the output was built from %llu bytes with sha256 %s",
                         v->path, (unsigned long long)i, abs, (unsigned long long)size, hex,
                         (unsigned long long)want, shas[i] ? shas[i] : "");
            goto out;
        }
    }
    fprintf(out, "ok: %llu input files in %s match their recorded SHA-256\n",
            (unsigned long long)np, log_dir);
out:
    h5x_strs_free(paths, np);
    h5x_strs_free(shas, ns);
    avt_h5col_free(&sizes);
    return rc;
}

/* A stitched index (/logs): every source file exists next to the index as recorded and
 * still has the recorded SHA-256; a VDS reads a missing source as zeros. */
static int check_sources(avt_h5ctx *v, FILE *out)
{
    int rc;
    char **files = NULL, **shas = NULL;
    uint64_t nf = 0, ns = 0;
    char dir[4096];
    const char *slash = strrchr(v->path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - v->path) : 1, slash ? v->path : ".");
    if ((rc = read_strs(v, "logs/file", &files, &nf)) ||
        (rc = read_strs(v, "logs/sha256", &shas, &ns)))
        goto out;
    for (uint64_t i = 0; i < nf && i < ns; i++) {
        char abs[4096], hex[65];
        uint64_t size;
        avt_error herr = {0, ""};
        if (avt_path_join(abs, sizeof abs, dir, files[i] ? files[i] : "") ||
            avt_export_sha256_file(abs, NULL, hex, &size, &herr)) {
            rc = avt_err(v->err, AVT_MISMATCH, "%s: /logs/file: row %llu: source %s is missing "
                         "(%s)", v->path, (unsigned long long)i, files[i] ? files[i] : "", herr.msg);
            goto out;
        }
        if (strcmp(hex, shas[i] ? shas[i] : "") != 0) {
            rc = avt_err(v->err, AVT_MISMATCH,
                         "%s: /logs/sha256: row %llu: source %s has sha256 %s, the index was "
                         "stitched from %s", v->path, (unsigned long long)i, abs, hex,
                         shas[i] ? shas[i] : "");
            goto out;
        }
    }
    fprintf(out, "ok: %llu source files match their recorded SHA-256\n", (unsigned long long)nf);
out:
    h5x_strs_free(files, nf);
    h5x_strs_free(shas, ns);
    return rc;
}

/* ---- every chunk ------------------------------------------------------------------------ */

/* The checks above read only the columns they cross-check. Reading every dataset whole runs
 * HDF5's filters on every chunk exactly as h5py would: a chunk whose stored bytes changed fails
 * to inflate or fails its zlib stream's Adler-32. One chunk per H5Dread names the chunk and
 * bounds the buffer to a chunk (avtruth's are 1 MiB or less; HDF5 allows 4 GiB); a dataset that
 * is not chunked (contiguous, compact, a stitched index's virtual columns) is read in blocks of
 * at most this many bytes. */
enum { VREAD_BLOCK_BYTES = 4 << 20 };
/* Nor can a dataset stored in this file hold more than its bytes expanded by the largest ratio
 * of its filters: deflate's is about 1032:1 (a 258-byte match in 2 bits; RFC 1951), and no
 * avtruth column comes near it under blosc-zstd either. A larger extent is of chunks never
 * written, which would read as fill values (and a declared 2^61 rows would take years to
 * read); a stitched index's virtual columns are bounded by their sources instead. */
enum { VREAD_MAX_RATIO = 1032 };

typedef struct chunk_walk {
    avt_h5ctx *v;
    uint64_t datasets, reads;
    int rc;
} chunk_walk;

/* A read that failed: "file: /name: where: cannot be read: <HDF5's innermost cause>". Must be
 * called right after the failing call, like h5x_fail. */
static int unreadable(avt_h5ctx *v, const char *name, const char *where)
{
    char cause[AVT_ERROR_MAX / 2];
    h5x_cause(cause, sizeof cause);
    return avt_err(v->err, AVT_MISMATCH, "%s: /%s%s%s: cannot be read (damaged, or written with a "
                   "filter this HDF5 lacks): %s", v->path, name, where[0] ? ": " : "", where, cause);
}

/* "chunk [65536, 0] (rows 65536..131071)": the block at start of count elements. A virtual
 * dataset's block spans chunks of several sources: verifying them names the chunk. */
static void block_name(char *out, size_t n, H5D_layout_t layout, int rank, const hsize_t *start,
                       const hsize_t *count)
{
    size_t k = (size_t)snprintf(out, n, "%s [", layout == H5D_CHUNKED ? "chunk" : "block");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(out + k, n - k, "%s%llu", i ? ", " : "", (unsigned long long)start[i]);
    if (k < n)
        snprintf(out + k, n - k, "] (rows %llu..%llu%s)", (unsigned long long)start[0],
                 (unsigned long long)(start[0] + count[0] - 1),
                 layout == H5D_VIRTUAL ? " of a virtual dataset: verify its sources, /logs/file" : "");
}

/* Reads dataset name whole, one chunk (or block) per H5Dread, into a buffer of one chunk. */
static int read_every_chunk(chunk_walk *cw, const char *name)
{
    avt_h5ctx *v = cw->v;
    int rc = AVT_OK;
    hid_t d = -1, ft = -1, mt = -1, dcpl = -1, fs = -1, ms = -1;
    void *buf = NULL;
    hsize_t dims[H5S_MAX_RANK], block[H5S_MAX_RANK], start[H5S_MAX_RANK], count[H5S_MAX_RANK];
    char where[256];
    d = H5Dopen2(v->file, name, H5P_DEFAULT);
    if (d < 0) return unreadable(v, name, "");
    ft = H5Dget_type(d);
    mt = ft >= 0 ? H5Tget_native_type(ft, H5T_DIR_ASCEND) : -1;
    dcpl = H5Dget_create_plist(d);
    fs = H5Dget_space(d);
    int rank = fs >= 0 ? H5Sget_simple_extent_ndims(fs) : -1;
    hssize_t n = fs >= 0 ? H5Sget_simple_extent_npoints(fs) : -1;
    size_t esize = mt >= 0 ? H5Tget_size(mt) : 0;
    if (mt < 0 || dcpl < 0 || rank < 0 || n < 0 || !esize ||
        H5Sget_simple_extent_dims(fs, dims, NULL) < 0) {
        rc = unreadable(v, name, "type, layout or shape");
        goto out;
    }
    if (n == 0) goto out;
    /* strings: HDF5 allocates each one; zeroed first so that a failed read frees only what
     * it allocated */
    const int vlen = H5Tis_variable_str(mt) > 0 || H5Tdetect_class(mt, H5T_VLEN) > 0;
    const H5D_layout_t layout = H5Pget_layout(dcpl);
    const int chunked = layout == H5D_CHUNKED;
    hsize_t file_bytes = 0;
    if (layout != H5D_VIRTUAL && H5Fget_filesize(v->file, &file_bytes) >= 0 &&
        (double)n * (double)esize > ((double)file_bytes + VREAD_BLOCK_BYTES) * VREAD_MAX_RATIO) {
        rc = avt_err(v->err, AVT_MISMATCH,
                     "%s: /%s: %lld elements of %zu bytes declared, more than a file of %llu bytes can "
                     "hold (chunks never written)",
                     v->path, name, (long long)n, esize, (unsigned long long)file_bytes);
        goto out;
    }
    if (chunked && H5Pget_chunk(dcpl, rank, block) != rank) {
        rc = unreadable(v, name, "chunk shape");
        goto out;
    }
    /* not chunked: the last dimensions whole as far as the budget goes, then rows */
    size_t left = VREAD_BLOCK_BYTES / esize;
    for (int i = rank - 1; !chunked && i >= 0; i--) {
        block[i] = dims[i] < left ? dims[i] : left ? left : 1;
        left /= block[i];
    }
    size_t elems = 1;
    for (int i = 0; i < rank; i++) {
        if (!block[i]) { /* would never advance */
            rc = avt_err(v->err, AVT_MISMATCH, "%s: /%s: chunk dimension %d is 0", v->path, name, i);
            goto out;
        }
        if (!avt_mul_size(elems, block[i] < dims[i] ? block[i] : dims[i], &elems)) elems = SIZE_MAX;
        start[i] = 0;
    }
    size_t bytes;
    if (!avt_mul_size(elems, esize, &bytes) || !(buf = malloc(bytes))) {
        rc = avt_err(v->err, AVT_NOMEM, "%s: /%s: out of memory for a chunk of %zu elements",
                     v->path, name, elems);
        goto out;
    }
    for (;;) {
        for (int i = 0; i < rank; i++)
            count[i] = dims[i] - start[i] < block[i] ? dims[i] - start[i] : block[i];
        where[0] = '\0';
        if (rank) block_name(where, sizeof where, layout, rank, start, count);
        ms = rank ? H5Screate_simple(rank, count, NULL) : H5Screate(H5S_SCALAR);
        if (ms < 0 || (rank && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0)) {
            rc = h5x_fail(v->err, v->path, name, "H5Screate_simple/H5Sselect_hyperslab");
            goto out;
        }
        if (vlen) memset(buf, 0, bytes);
        herr_t r = H5Dread(d, mt, ms, rank ? fs : H5S_ALL, H5P_DEFAULT, buf);
        if (r < 0) rc = unreadable(v, name, where);
        if (vlen) H5Dvlen_reclaim(mt, ms, H5P_DEFAULT, buf);
        H5Sclose(ms);
        ms = -1;
        if (rc) goto out;
        cw->reads++;
        /* the next chunk: the last dimension fastest */
        int i = rank - 1;
        while (i >= 0 && (start[i] += block[i]) >= dims[i]) start[i--] = 0;
        if (i < 0) break;
    }
out:
    free(buf);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    H5Dclose(d);
    return rc;
}

static herr_t chunk_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    (void)obj;
    chunk_walk *cw = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    cw->datasets++;
    cw->rc = read_every_chunk(cw, name);
    return cw->rc ? 1 : 0;
}

/* Every dataset of the file, in every group, read whole. */
static int check_chunks(avt_h5ctx *v, FILE *out)
{
    chunk_walk cw = {v, 0, 0, AVT_OK};
    if (H5Ovisit2(v->file, H5_INDEX_NAME, H5_ITER_INC, chunk_cb, &cw, H5O_INFO_BASIC) < 0 && !cw.rc)
        return h5x_fail(v->err, v->path, NULL, "H5Ovisit2");
    if (cw.rc) return cw.rc;
    fprintf(out, "ok: %llu datasets read whole (%llu chunks or blocks), every chunk through its "
            "filters\n", (unsigned long long)cw.datasets, (unsigned long long)cw.reads);
    return AVT_OK;
}

/* What verify_impl checks besides the structure (offsets, references, times). */
enum { V_INPUTS = 1, V_CHUNKS = 2 };

static int verify_impl(const char *path, const char *log_dir, int what, FILE *out,
                       avt_error *err);

int avt_export_verify(const char *path, const char *log_dir, FILE *out, avt_error *err)
{
    return verify_impl(path, log_dir, V_INPUTS | V_CHUNKS, out, err);
}

int avt_export_verify_inputs(const char *path, const char *log_dir, FILE *out, avt_error *err)
{
    return verify_impl(path, log_dir, V_INPUTS, out, err);
}

int avt_export_verify_structure(const char *path, FILE *out, avt_error *err)
{
    return verify_impl(path, NULL, 0, out, err);
}

static int verify_impl(const char *path, const char *log_dir, int what, FILE *out,
                       avt_error *err)
{
    int rc = AVT_OK;
    h5x_quiet q;
    h5x_quiet_begin(&q);
    avt_h5ctx v = {-1, path, err, NULL};
    cam_walk cw;
    memset(&cw, 0, sizeof cw);
    hid_t g = -1, a = -1;
    struct stat sb;
    if (!path || stat(path, &sb) != 0) {
        rc = avt_err(err, AVT_NOTFOUND, "%s: %s", path ? path : "(null)", strerror(errno));
        goto out;
    }
    if (H5Fis_hdf5(path) <= 0) {
        rc = avt_err(err, AVT_FORMAT, "%s: not an HDF5 file", path);
        goto out;
    }
    v.file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (v.file < 0) {
        rc = h5x_fail(err, path, NULL, "H5Fopen");
        goto out;
    }
    uint64_t frames = 0;
    if (H5Aexists(v.file, "num_frames") <= 0 || (a = H5Aopen(v.file, "num_frames", H5P_DEFAULT)) < 0 ||
        h5x_attr_read1(a, H5T_NATIVE_UINT64, &frames) < 0) {
        rc = avt_err(err, AVT_FORMAT, "%s: no num_frames attribute holding one integer: not an avtruth file",
                     path);
        goto out;
    }
    if (frames == UINT64_MAX) { /* the offset arrays have num_frames + 1 rows */
        rc = avt_err(err, AVT_MISMATCH, "%s: num_frames attribute: value %llu", path, (unsigned long long)frames);
        goto out;
    }
    avt_h5col names, files;
    if ((rc = avt_h5_shape_as(&v, "meta/class_names", 0, 1, AVT_H5_ANY, 0, 0, &names)) ||
        (rc = avt_h5_shape_as(&v, "logs/file", 1, 1, AVT_H5_ANY, 0, 0, &files)) ||
        (rc = check_fixed(&v, "calibration/lidar_T_ego", files.rows > 0, 2, 4, 4)))
        goto out;
    uint64_t n_classes = names.rows;
    for (uint64_t k = 0; k < files.rows; k++) {
        char p[64];
        snprintf(p, sizeof p, "logs/%llu/calibration/lidar_T_ego", (unsigned long long)k);
        if ((rc = check_fixed(&v, p, 0, 2, 4, 4))) goto out;
    }
    int stitched = H5Lexists(v.file, "logs", H5P_DEFAULT) > 0;
    if (stitched && (what & V_INPUTS) && (rc = check_sources(&v, out))) goto out;
    /* before the cross-checks, which would name only the dataset of a damaged chunk; after
     * the sources, since a VDS reads a missing one as zeros */
    if ((what & V_CHUNKS) && (rc = check_chunks(&v, out))) goto out;
    if ((rc = check_frames(&v, frames, n_classes, out))) goto out;
    cw.v = &v;
    cw.frames = frames;
    cw.out = out;
    cw.logs = files.rows;
    if ((rc = avt_h5_read_as(&v, "frames/box_offset", H5T_NATIVE_UINT64, 0, 1, frames + 1, 0, 0, &cw.boff)))
        goto out;
    if (H5Lexists(v.file, "cameras", H5P_DEFAULT) > 0) {
        g = H5Gopen2(v.file, "cameras", H5P_DEFAULT);
        if (g < 0 || H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, camera_cb, &cw) < 0) {
            rc = cw.rc ? cw.rc : h5x_fail(err, path, "/cameras", "H5Literate");
            goto out;
        }
        if ((rc = cw.rc)) goto out;
    }
    char recorded[4096];
    const char *dir = log_dir;
    if (!dir && recorded_log_dir(v.file, recorded, sizeof recorded)) dir = recorded;
    if (!(what & V_INPUTS) || stitched) {
        /* structure only */
    } else if (!dir) {
        fprintf(out, "inputs not checked: no log directory given or recorded\n");
    } else if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        rc = avt_err(err, AVT_NOTFOUND, "%s: log directory %s%s: not found; pass the log "
                     "directory: avtruth verify %s LOG", path, dir, log_dir ? "" : " (recorded)",
                     path);
        goto out;
    } else if ((rc = check_inputs(&v, dir, out))) {
        goto out;
    }
    fprintf(out, "verified: %s\n", path);
out:
    avt_h5col_free(&cw.boff);
    if (a >= 0) H5Aclose(a);
    if (g >= 0) H5Gclose(g);
    if (v.file >= 0) H5Fclose(v.file);
    h5x_quiet_end(&q);
    return rc;
}
