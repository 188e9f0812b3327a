/* avtruth export: the streaming HDF5 writer of ../shared/FORMAT.md (format 1).
 *
 * Layout and types follow FORMAT.md. Choices where it is silent:
 *  - every string (attributes, string datasets, string arrays) is variable-length UTF-8;
 *    h5py returns attributes as str and string datasets as bytes (.asstr() gives str);
 *  - counts in root attributes (num_frames, num_cameras) are uint64, image width/height
 *    uint32; /calibration/source, /meta/schema and /dataset_card are scalar string datasets;
 *  - extendible columns are chunked (16,384 rows per point/depth sample by default: docs/format-notes.md;
 *    4,096 rows per frame/box) with shuffle + gzip 1 unless compression is "none", including
 *    image_path;
 *    small fixed arrays (K, distortion, transforms, names, provenance inputs) are contiguous.
 * The file is NAME.h5.partial until avt_export_finish closes, fsyncs and renames it. */
#define _GNU_SOURCE /* sync_file_range (Linux) */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export_private.h"

typedef struct col_spec {
    const char *path; /* relative to the root, or to /cameras/<name>/ */
    int kind;
    int rank;
    hsize_t d1, d2;
    size_t chunk_rows;
} col_spec;

#define T_ROWS AVT_TABLE_CHUNK_ROWS
#define P_ROWS AVT_POINT_CHUNK_ROWS
static const col_spec frame_specs[COL_COUNT] = {
    [COL_TS] = {"frames/timestamp_ns", K_I64, 1, 0, 0, T_ROWS},
    [COL_START] = {"frames/start_ns", K_I64, 1, 0, 0, T_ROWS},
    [COL_END] = {"frames/end_ns", K_I64, 1, 0, 0, T_ROWS},
    [COL_POSE] = {"frames/ego_pose", K_F64, 3, 4, 4, T_ROWS},
    [COL_POFF] = {"frames/point_offset", K_U64, 1, 0, 0, T_ROWS},
    [COL_BOFF] = {"frames/box_offset", K_U64, 1, 0, 0, T_ROWS},
    [COL_PACKETS] = {"frames/packets", K_U32, 1, 0, 0, T_ROWS},
    [COL_LOST] = {"frames/packets_lost", K_U32, 1, 0, 0, T_ROWS},
    [COL_XYZ] = {"lidar/xyz", K_F32, 2, 3, 0, P_ROWS},
    [COL_INTENSITY] = {"lidar/intensity", K_F32, 1, 0, 0, P_ROWS},
    [COL_RING] = {"lidar/ring", K_U16, 1, 0, 0, P_ROWS},
    [COL_TIME] = {"lidar/time_ns", K_I32, 1, 0, 0, P_ROWS},
    [COL_RETURN] = {"lidar/return_type", K_U8, 1, 0, 0, P_ROWS},
    [COL_LABEL] = {"lidar/label", K_U16, 1, 0, 0, P_ROWS},
    [COL_INSTANCE] = {"lidar/instance", K_I32, 1, 0, 0, P_ROWS},
    [COL_CENTER] = {"boxes3d/center", K_F32, 2, 3, 0, T_ROWS},
    [COL_SIZE] = {"boxes3d/size", K_F32, 2, 3, 0, T_ROWS},
    [COL_YAW] = {"boxes3d/yaw", K_F32, 1, 0, 0, T_ROWS},
    [COL_ROT] = {"boxes3d/rotation", K_F32, 2, 4, 0, T_ROWS},
    [COL_VEL] = {"boxes3d/velocity", K_F32, 2, 3, 0, T_ROWS},
    [COL_CLASS] = {"boxes3d/class_id", K_U16, 1, 0, 0, T_ROWS},
    [COL_TRACK] = {"boxes3d/track_id", K_I64, 1, 0, 0, T_ROWS},
    [COL_BNPTS] = {"boxes3d/num_lidar_points", K_U32, 1, 0, 0, T_ROWS},
    [COL_BATTR] = {"boxes3d/attributes", K_U32, 1, 0, 0, T_ROWS},
    [COL_FRAME_INDEX] = {"boxes3d/frame_index", K_U32, 1, 0, 0, T_ROWS},
};
static const col_spec cam_specs[CCOL_COUNT] = {
    [CCOL_TS] = {"timestamp_ns", K_I64, 1, 0, 0, T_ROWS},
    [CCOL_DELTA] = {"sync_delta_ns", K_I64, 1, 0, 0, T_ROWS},
    [CCOL_PATH] = {"image_path", K_STR, 1, 0, 0, T_ROWS},
    [CCOL_B2_OFF] = {"boxes2d/offset", K_U64, 1, 0, 0, T_ROWS},
    [CCOL_B2_INDEX] = {"boxes2d/box3d_index", K_U32, 1, 0, 0, T_ROWS},
    [CCOL_B2_XYXY] = {"boxes2d/xyxy", K_F32, 2, 4, 0, T_ROWS},
    [CCOL_B2_TRUNC] = {"boxes2d/truncation", K_F32, 1, 0, 0, T_ROWS},
    [CCOL_B2_VIS] = {"boxes2d/visibility", K_F32, 1, 0, 0, T_ROWS},
    [CCOL_B2_CORNERS] = {"boxes2d/corners", K_F32, 3, 8, 2, T_ROWS},
    [CCOL_B2_NPTS] = {"boxes2d/num_lidar_points", K_U32, 1, 0, 0, T_ROWS},
    [CCOL_D_OFF] = {"depth/offset", K_U64, 1, 0, 0, T_ROWS},
    [CCOL_D_UV] = {"depth/uv", K_F32, 2, 2, 0, P_ROWS},
    [CCOL_D_DEPTH] = {"depth/depth", K_F32, 1, 0, 0, P_ROWS},
    [CCOL_IG_OFF] = {"ignore/offset", K_U64, 1, 0, 0, T_ROWS},
    [CCOL_IG_XYXY] = {"ignore/xyxy", K_F32, 2, 4, 0, T_ROWS},
    [CCOL_IG_CLASS] = {"ignore/class_id", K_U16, 1, 0, 0, T_ROWS},
    [CCOL_IMG_OFF] = {"image_offset", K_U64, 1, 0, 0, T_ROWS},
    [CCOL_IMG_PNG] = {"image_png", K_U8, 1, 0, 0, AVT_IMAGE_CHUNK_BYTES},
};

/* ---- small helpers ---------------------------------------------------------------------- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static char *concat(const char *a, size_t a_len, const char *b)
{
    size_t bl = strlen(b);
    char *d = malloc(a_len + bl + 1);
    if (!d) return NULL;
    memcpy(d, a, a_len);
    memcpy(d + a_len, b, bl + 1);
    return d;
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

static int check_str(const char *s, const char *what, const char *file, avt_error *err)
{
    if (s && !utf8_valid(s))
        return avt_err(err, AVT_INVAL, "%s: %s is not valid UTF-8", file, what);
    return AVT_OK;
}

/* A camera name becomes a group name: no '/', not empty, not "." or "..". */
static int camera_name_ok(const char *n)
{
    return memchr(n, '\0', AVT_NAME_MAX) && n[0] && !strchr(n, '/') && strcmp(n, ".") != 0 &&
           strcmp(n, "..") != 0 && utf8_valid(n);
}

/* Directory part of path ("." if none), into out. */
static void dir_of(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, n, ".");
    } else if (slash == path) {
        snprintf(out, n, "/");
    } else {
        size_t len = (size_t)(slash - path);
        snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), path);
    }
}

static int fsync_path(const char *path, int directory, avt_error *err)
{
    int fd = open(path, O_RDONLY | (directory ? O_DIRECTORY : 0));
    if (fd < 0) return avt_err(err, AVT_IO, "%s: cannot open for fsync: %s", path, strerror(errno));
    int rc = AVT_OK;
    if (fsync(fd) != 0) rc = avt_err(err, AVT_IO, "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    return rc;
}

static int is_identity(const double m[16])
{
    for (int i = 0; i < 16; i++)
        if (m[i] != ((i % 5 == 0) ? 1.0 : 0.0)) return 0;
    return 1;
}

/* ---- teardown --------------------------------------------------------------------------- */

static int unclosed; /* an HDF5 file id could not be closed (see writer_close_h5) */

int avt_export_unclosed(void) { return unclosed; }

/* H5Fclose, noting a file left half-closed (see writer_close_h5). */
static herr_t file_close(hid_t f)
{
    herr_t rc = H5Fclose(f);
    if (rc < 0 && H5Iis_valid(f) > 0) unclosed = 1;
    return rc;
}

/* Closes every HDF5 id the writer holds (staged rows are dropped). */
static void writer_close_h5(avt_export_writer *w)
{
    for (int i = 0; i < COL_COUNT; i++) h5x_col_close(&w->cols[i]);
    for (size_t c = 0; c < w->n_cams; c++)
        for (int i = 0; i < CCOL_COUNT; i++) h5x_col_close(&w->cams[c].cols[i]);
    if (w->str_t >= 0) H5Tclose(w->str_t);
    w->str_t = -1;
    /* A close whose final writes fail (disk full, file-size limit) leaves the file's id
     * half torn down in HDF5 1.10, and HDF5's exit-time cleanup then crashes on it (SIGSEGV
     * in H5F__close_cb): avt_export_unclosed() tells the program to exit without it. */
    if (w->file >= 0) file_close(w->file);
    w->file = -1;
}

static void writer_free(avt_export_writer *w)
{
    if (!w) return;
    h5x_zctx_free(&w->z);
    h5x_zctx_free(&w->z_raw);
    free(w->io_buf);
    free(w->log_dir);
    for (size_t i = 0; i < w->n_inputs; i++) free(w->inputs[i].path);
    free(w->inputs);
    for (size_t i = 0; w->class_names && i < w->n_classes; i++) free(w->class_names[i]);
    free(w->class_names);
    free(w->class_hist);
    free(w->cams);
    free(w->log_id);
    free(w->card_partial);
    free(w->card_path);
    free(w->partial);
    free(w->path);
    free(w);
}

/* Closes, removes the partial files and frees the writer. */
static void writer_discard(avt_export_writer *w)
{
    writer_close_h5(w);
    if (w->partial) unlink(w->partial);
    if (w->card_partial) unlink(w->card_partial);
    writer_free(w);
}

/* ---- open ------------------------------------------------------------------------------- */

/* A column's chunk rows: per-point and depth columns take the writer's choice. */
static size_t chunk_rows_of(const avt_export_writer *w, size_t spec_rows)
{
    return spec_rows == P_ROWS && w->point_chunk_rows ? w->point_chunk_rows : spec_rows;
}

static int create_file(avt_export_writer *w, avt_error *err)
{
    int rc = AVT_OK;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) {
        rc = h5x_fail(err, w->partial, NULL, "H5Pcreate(file access)");
        goto out;
    }
    /* Readable by HDF5 >= 1.10 (FORMAT.md), and closing the file closes everything. */
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        rc = h5x_fail(err, w->partial, NULL, "H5Pset_libver_bounds");
        goto out;
    }
    w->file = H5Fcreate(w->partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (w->file < 0) {
        /* The HDF5 stack names errno deep inside; say plainly what is wrong first. */
        char dir[1024];
        dir_of(w->partial, dir, sizeof dir);
        if (access(dir, W_OK | X_OK) != 0) {
            int e = errno;
            rc = avt_err(err, AVT_IO, "%s: cannot create: directory %s: %s", w->partial, dir,
                         strerror(e));
        } else {
            rc = h5x_fail(err, w->partial, NULL, "H5Fcreate");
        }
        goto out;
    }
out:
    if (fapl >= 0) H5Pclose(fapl);
    return rc;
}

static int write_tf(hid_t loc, const char *path, const double m[16], const char *file,
                    avt_error *err)
{
    hsize_t dims[2] = {4, 4};
    return h5x_dset_write(loc, path, K_F64, 2, dims, m, file, err);
}

static int create_camera(avt_export_writer *w, size_t ci, const avt_camera *cam, avt_error *err)
{
    int rc = AVT_OK;
    hid_t g = -1;
    avt_export_cam *c = &w->cams[ci];
    char base[AVT_NAME_MAX + 16], path[256];
    snprintf(base, sizeof base, "cameras/%s", cam->name);
    for (int i = 0; i < (w->embed_images ? CCOL_COUNT : CCOL_ALWAYS); i++) {
        snprintf(path, sizeof path, "%s/%s", base, cam_specs[i].path);
        rc = h5x_col_create(&c->cols[i], w->file, path, cam_specs[i].kind, cam_specs[i].rank,
                            cam_specs[i].d1, cam_specs[i].d2, chunk_rows_of(w, cam_specs[i].chunk_rows),
                            i == CCOL_IMG_PNG ? &w->z_raw : &w->z, w->partial, err);
        if (rc) goto out;
    }
    hsize_t k_dims[2] = {3, 3}, d_dims[1] = {(hsize_t)cam->n_dist};
    snprintf(path, sizeof path, "%s/K", base);
    if ((rc = h5x_dset_write(w->file, path, K_F64, 2, k_dims, cam->K, w->partial, err))) goto out;
    snprintf(path, sizeof path, "%s/distortion", base);
    if ((rc = h5x_dset_write(w->file, path, K_F64, 1, d_dims, cam->dist, w->partial, err)))
        goto out;
    snprintf(path, sizeof path, "%s/lidar_T_cam", base);
    if ((rc = write_tf(w->file, path, cam->lidar_T_cam.m, w->partial, err))) goto out;
    g = H5Gopen2(w->file, base, H5P_DEFAULT);
    if (g < 0) {
        rc = h5x_fail(err, w->partial, base, "H5Gopen2");
        goto out;
    }
    uint32_t width = cam->width, height = cam->height;
    if ((rc = h5x_attr_num(g, "width", K_U32, &width, w->partial, err)) ||
        (rc = h5x_attr_num(g, "height", K_U32, &height, w->partial, err)) ||
        (rc = h5x_attr_str(g, "model", cam->model == AVT_CAM_FISHEYE ? "fisheye" : "pinhole",
                           w->partial, err)) ||
        (rc = h5x_attr_str(g, "distortion_model", cam->distortion_model, w->partial, err)))
        goto out;
out:
    if (g >= 0) H5Gclose(g);
    return rc;
}

static int write_root_attrs(avt_export_writer *w, avt_error *err)
{
    int rc;
    char utc[48];
    uint64_t zero = 0, ncam = w->n_cams;
    avt_format_utc(w->created_ns, utc, sizeof utc);
    hid_t r = w->file;
    const char *file = w->partial;
    if ((rc = h5x_attr_str(r, "format", "avtruth-gt", file, err)) ||
        (rc = h5x_attr_str(r, "format_version", AVT_FORMAT_VERSION, file, err)) ||
        (rc = h5x_attr_str(r, "log_id", w->log_id, file, err)) ||
        (rc = h5x_attr_num(r, "num_frames", K_U64, &zero, file, err)) ||
        (rc = h5x_attr_num(r, "num_cameras", K_U64, &ncam, file, err)) ||
        (rc = h5x_attr_str(r, "length_unit", "m", file, err)) ||
        (rc = h5x_attr_str(r, "angle_unit", "rad", file, err)) ||
        (rc = h5x_attr_str(r, "time_unit", "ns", file, err)) ||
        (rc = h5x_attr_str(r, "compression", w->compression, file, err)) ||
        (rc = h5x_attr_str(r, "created_utc", utc, file, err)))
        return rc;
    return AVT_OK;
}

static int check_open_args(const char *path, const avt_rig *rig, const char *const *class_names,
                           size_t n_classes, const avt_export_options *opt, avt_error *err)
{
    size_t len = path ? strlen(path) : 0;
    if (len < 4 || strcmp(path + len - 3, ".h5") != 0 || path[len - 4] == '/')
        return avt_err(err, AVT_INVAL, "%s: output name must end in .h5", path ? path : "(null)");
    if (!rig || (rig->n_cameras && !rig->cameras))
        return avt_err(err, AVT_INVAL, "%s: no rig given", path);
    if (!class_names || n_classes == 0 || n_classes > 65536)
        return avt_err(err, AVT_INVAL, "%s: %zu class names (need 1..65536, [0] = none)", path,
                       n_classes);
    for (size_t i = 0; i < n_classes; i++) {
        if (!class_names[i]) return avt_err(err, AVT_INVAL, "%s: class name %zu is NULL", path, i);
        if (check_str(class_names[i], "a class name", path, err)) return err ? err->code : AVT_INVAL;
    }
    if (opt && opt->n_attribute_names && !opt->attribute_names)
        return avt_err(err, AVT_INVAL, "%s: attribute_names is NULL", path);
    if (opt && opt->n_attribute_names > 32)
        return avt_err(err, AVT_INVAL, "%s: %zu attribute names, the bitmask holds 32", path,
                       opt->n_attribute_names);
    if (opt && opt->embed_images && (!opt->log_dir || !opt->log_dir[0]))
        return avt_err(err, AVT_INVAL, "%s: embed_images needs log_dir", path);
    if (opt && (check_str(opt->log_id, "log_id", path, err) ||
                check_str(opt->schema, "schema", path, err)))
        return err ? err->code : AVT_INVAL;
    for (size_t i = 0; i < rig->n_cameras; i++) {
        const avt_camera *c = &rig->cameras[i];
        if (!camera_name_ok(c->name))
            return avt_err(err, AVT_INVAL, "%s: camera %zu: name \"%.*s\" cannot be a group name",
                           path, i, AVT_NAME_MAX, c->name);
        if (c->n_dist < 0 || c->n_dist > AVT_MAX_DIST)
            return avt_err(err, AVT_INVAL, "%s: camera %s: %d distortion coefficients", path,
                           c->name, c->n_dist);
        for (size_t j = 0; j < i; j++)
            if (strcmp(rig->cameras[j].name, c->name) == 0)
                return avt_err(err, AVT_INVAL, "%s: camera name \"%s\" used twice", path, c->name);
    }
    return AVT_OK;
}

avt_export_writer *avt_export_open(const char *path, const avt_rig *rig,
                                   const char *const *class_names, size_t n_classes,
                                   const avt_export_options *opt, avt_error *err)
{
    avt_export_writer *w = NULL;
    h5x_quiet q;
    h5x_quiet_begin(&q);
    int rc = check_open_args(path, rig, class_names, n_classes, opt, err);
    if (rc) goto out;
    w = calloc(1, sizeof *w);
    if (!w) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        goto out;
    }
    w->file = -1;
    w->str_t = -1;
    w->all_poses_identity = 1;
    w->created_ns = avt_now_ns();
    size_t len = strlen(path), stem = len - 3;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    w->path = dup_str(path);
    w->partial = concat(path, len, ".partial");
    w->card_path = concat(path, stem, ".card.md");
    w->card_partial = w->card_path ? concat(w->card_path, strlen(w->card_path), ".partial") : NULL;
    w->log_id = (opt && opt->log_id) ? dup_str(opt->log_id)
                                     : concat(base, strlen(base) - 3, "");
    w->cams = calloc(rig->n_cameras ? rig->n_cameras : 1, sizeof *w->cams);
    w->class_names = calloc(n_classes, sizeof *w->class_names);
    w->class_hist = calloc(n_classes, sizeof *w->class_hist);
    if (!w->path || !w->partial || !w->card_path || !w->card_partial || !w->log_id ||
        !w->cams || !w->class_names || !w->class_hist) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        goto out;
    }
    w->n_classes = n_classes;
    for (size_t i = 0; i < n_classes; i++)
        if (!(w->class_names[i] = dup_str(class_names[i]))) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
            goto out;
        }
    w->n_cams = rig->n_cameras;
    for (size_t i = 0; i < w->n_cams; i++) {
        avt_export_cam *c = &w->cams[i];
        snprintf(c->name, sizeof c->name, "%s", rig->cameras[i].name);
        snprintf(c->distortion_model, sizeof c->distortion_model, "%s",
                 rig->cameras[i].distortion_model);
        c->model = rig->cameras[i].model;
        c->width = rig->cameras[i].width;
        c->height = rig->cameras[i].height;
        c->delta_min_ns = INT64_MAX;
        c->delta_max_ns = INT64_MIN;
    }
    snprintf(w->lidar_model, sizeof w->lidar_model, "%s", rig->lidar_model);
    snprintf(w->rig_source, sizeof w->rig_source, "%s", rig->source);
    if (opt && opt->point_chunk_rows &&
        (opt->point_chunk_rows < AVT_EXPORT_MIN_CHUNK_ROWS || opt->point_chunk_rows > AVT_EXPORT_MAX_CHUNK_ROWS)) {
        rc = avt_err(err, AVT_INVAL, "%s: chunk rows %zu (accepted: %d..%d)", path, opt->point_chunk_rows,
                     AVT_EXPORT_MIN_CHUNK_ROWS, AVT_EXPORT_MAX_CHUNK_ROWS);
        goto out;
    }
    w->point_chunk_rows = opt ? opt->point_chunk_rows : 0;
    int filter, level;
    if ((rc = h5x_filter_parse(opt ? opt->compression : NULL, opt && opt->hdf5_filter_path,
                               &filter, &level, err))) {
        if (err) avt_err_prefix(err, "%s", path);
        goto out;
    }
    if ((rc = h5x_zctx_init(&w->z, filter, level, 1, err)) ||
        (rc = h5x_zctx_init(&w->z_raw, H5X_NONE, 0, 0, err)))
        goto out;
    if (opt && opt->embed_images) {
        w->embed_images = 1;
        w->log_dir = dup_str(opt->log_dir);
        w->io_buf = malloc(AVT_IMAGE_CHUNK_BYTES);
        if (!w->log_dir || !w->io_buf) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    snprintf(w->compression, sizeof w->compression, "%s",
             (opt && opt->compression) ? opt->compression : "gzip");

    if ((rc = create_file(w, err))) goto out;
    w->str_t = h5x_str_type();
    if (w->str_t < 0) {
        rc = h5x_fail(err, w->partial, NULL, "H5Tcopy(string)");
        goto out;
    }
    if ((rc = write_root_attrs(w, err))) goto out;
    for (int i = 0; i < COL_COUNT; i++) {
        const col_spec *s = &frame_specs[i];
        rc = h5x_col_create(&w->cols[i], w->file, s->path, s->kind, s->rank, s->d1, s->d2,
                            chunk_rows_of(w, s->chunk_rows), &w->z, w->partial, err);
        if (rc) goto out;
    }
    for (size_t i = 0; i < w->n_cams; i++)
        if ((rc = create_camera(w, i, &rig->cameras[i], err))) goto out;
    if ((rc = write_tf(w->file, "calibration/lidar_T_ego", rig->lidar_T_ego.m, w->partial, err)))
        goto out;
    hsize_t nc = n_classes, na = opt ? opt->n_attribute_names : 0;
    if ((rc = h5x_dset_write(w->file, "meta/class_names", K_STR, 1, &nc, class_names, w->partial,
                             err)) ||
        (rc = h5x_dset_write(w->file, "meta/attribute_names", K_STR, 1, &na,
                             opt ? opt->attribute_names : NULL, w->partial, err)))
        goto out;
    const char *schema = (opt && opt->schema) ? opt->schema : "";
    if ((rc = h5x_dset_write(w->file, "meta/schema", K_STR, 0, NULL, &schema, w->partial, err)))
        goto out;
    /* Every offset array starts with 0 (CSR of F+1 entries). */
    uint64_t zero = 0;
    if ((rc = h5x_col_append(&w->cols[COL_POFF], &zero, 1, err)) ||
        (rc = h5x_col_append(&w->cols[COL_BOFF], &zero, 1, err)))
        goto out;
    for (size_t i = 0; i < w->n_cams; i++)
        if ((rc = h5x_col_append(&w->cams[i].cols[CCOL_B2_OFF], &zero, 1, err)) ||
            (rc = h5x_col_append(&w->cams[i].cols[CCOL_D_OFF], &zero, 1, err)) ||
            (rc = h5x_col_append(&w->cams[i].cols[CCOL_IG_OFF], &zero, 1, err)) ||
            (w->embed_images &&
             (rc = h5x_col_append(&w->cams[i].cols[CCOL_IMG_OFF], &zero, 1, err))))
            goto out;
out:
    if (rc && w) {
        writer_discard(w);
        w = NULL;
    }
    h5x_quiet_end(&q);
    return w;
}

/* ---- frames ----------------------------------------------------------------------------- */

/* ---- embedded images --------------------------------------------------------------------- */

static int embeds_image(const avt_export_writer *w, const avt_camera_frame *cf)
{
    return w->embed_images && cf->timestamp_ns != INT64_MIN && cf->image_path &&
           cf->image_path[0];
}

/* log_dir/rel into out; rel must be relative and stay inside log_dir (no ".." part). */
static int image_abs_path(const avt_export_writer *w, const char *rel, char *out, size_t n,
                          avt_error *err)
{
    if (rel[0] == '/')
        return avt_err(err, AVT_INVAL, "image_path %s: absolute, expected relative to %s", rel,
                       w->log_dir);
    for (const char *p = rel; *p;) {
        size_t k = strcspn(p, "/");
        if (k == 2 && p[0] == '.' && p[1] == '.')
            return avt_err(err, AVT_INVAL, "image_path %s: leaves the log directory", rel);
        p += k;
        if (*p) p++;
    }
    int k = snprintf(out, n, "%s/%s", w->log_dir, rel);
    if (k < 0 || (size_t)k >= n) return avt_err(err, AVT_INVAL, "image_path %s: too long", rel);
    return AVT_OK;
}

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const unsigned char jpeg_soi[3] = {0xff, 0xd8, 0xff}; /* SOI and the next marker */

/* The image is a readable regular PNG or JPEG file of at most AVT_IMAGE_MAX_BYTES: found
 * before any row of the frame is appended, so a missing image rejects the frame only. */
static int image_check(const avt_export_writer *w, const char *rel, avt_error *err)
{
    char abs[4096];
    unsigned char sig[8];
    struct stat sb;
    int rc = image_abs_path(w, rel, abs, sizeof abs, err);
    if (rc) return rc;
    FILE *fh = fopen(abs, "rb");
    if (!fh) return avt_err(err, AVT_IO, "%s: cannot open: %s", abs, strerror(errno));
    if (fstat(fileno(fh), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = avt_err(err, AVT_IO, "%s: not a regular file", abs);
    } else if ((uint64_t)sb.st_size > AVT_IMAGE_MAX_BYTES) {
        rc = avt_err(err, AVT_INVAL, "%s: %lld bytes, images above %llu bytes are not embedded",
                     abs, (long long)sb.st_size, (unsigned long long)AVT_IMAGE_MAX_BYTES);
    } else if (fread(sig, 1, 8, fh) != 8 ||
               (memcmp(sig, png_sig, 8) != 0 && memcmp(sig, jpeg_soi, 3) != 0)) {
        rc = avt_err(err, AVT_FORMAT, "%s: not a PNG or JPEG file (signature)", abs);
    }
    fclose(fh);
    return rc;
}

/* Appends the image file's bytes to image_png, a block at a time (memory stays bounded). */
static int image_append(avt_export_writer *w, avt_export_cam *c, const char *rel,
                        avt_error *err)
{
    char abs[4096];
    int rc = image_abs_path(w, rel, abs, sizeof abs, err);
    if (rc) return rc;
    FILE *fh = fopen(abs, "rb");
    if (!fh) return avt_err(err, AVT_IO, "%s: cannot open: %s", abs, strerror(errno));
    uint64_t total = 0;
    for (;;) {
        size_t k = fread(w->io_buf, 1, AVT_IMAGE_CHUNK_BYTES, fh);
        if (k == 0) break;
        total += k;
        if (total > AVT_IMAGE_MAX_BYTES) {
            rc = avt_err(err, AVT_INVAL, "%s: grew above %llu bytes while read", abs,
                         (unsigned long long)AVT_IMAGE_MAX_BYTES);
            break;
        }
        if ((rc = h5x_col_append(&c->cols[CCOL_IMG_PNG], w->io_buf, k, err))) break;
    }
    if (!rc && ferror(fh)) rc = avt_err(err, AVT_IO, "%s: read error", abs);
    fclose(fh);
    if (!rc) c->image_bytes += total;
    return rc;
}

/* Everything that can be wrong with a frame is found before anything is appended, so a
 * rejected frame leaves the writer usable. */
static int check_frame(const avt_export_writer *w, const avt_frame_out *f, avt_error *err)
{
    const char *file = w->partial;
    uint64_t fi = w->n_frames;
    if (w->n_frames >= UINT32_MAX)
        return avt_err(err, AVT_INVAL, "%s: frame %llu: frame_index is uint32", file,
                       (unsigned long long)fi);
    if (f->n_points && !f->xyz)
        return avt_err(err, AVT_INVAL, "%s: frame %llu: %zu points without xyz", file,
                       (unsigned long long)fi, f->n_points);
    if (f->n_boxes && !f->boxes)
        return avt_err(err, AVT_INVAL, "%s: frame %llu: %zu boxes without data", file,
                       (unsigned long long)fi, f->n_boxes);
    if (w->n_cams && !f->cams)
        return avt_err(err, AVT_INVAL, "%s: frame %llu: no camera entries for %zu cameras", file,
                       (unsigned long long)fi, w->n_cams);
    if (w->n_boxes + f->n_boxes > (uint64_t)INT32_MAX)
        return avt_err(err, AVT_INVAL, "%s: frame %llu: more than 2^31-1 boxes in the log", file,
                       (unsigned long long)fi);
    for (size_t i = 0; f->label && i < f->n_points; i++)
        if (f->label[i] >= w->n_classes)
            return avt_err(err, AVT_INVAL, "%s: frame %llu: point %zu: label %u >= %zu classes",
                           file, (unsigned long long)fi, i, (unsigned)f->label[i], w->n_classes);
    for (size_t i = 0; f->instance && i < f->n_points; i++)
        if (f->instance[i] < -1 || (f->instance[i] >= 0 && (size_t)f->instance[i] >= f->n_boxes))
            return avt_err(err, AVT_INVAL, "%s: frame %llu: point %zu: instance %d, frame has %zu boxes",
                           file, (unsigned long long)fi, i, (int)f->instance[i], f->n_boxes);
    for (size_t i = 0; i < f->n_boxes; i++)
        if (f->boxes[i].class_id >= w->n_classes)
            return avt_err(err, AVT_INVAL, "%s: frame %llu: box %zu: class_id %u >= %zu classes",
                           file, (unsigned long long)fi, i, (unsigned)f->boxes[i].class_id,
                           w->n_classes);
    for (size_t c = 0; c < w->n_cams; c++) {
        const avt_camera_frame *cf = &f->cams[c];
        const char *cn = w->cams[c].name;
        if (cf->n_boxes2d && !cf->boxes2d)
            return avt_err(err, AVT_INVAL, "%s: frame %llu: camera %s: %zu 2D boxes without data",
                           file, (unsigned long long)fi, cn, cf->n_boxes2d);
        if (cf->n_depth && (!cf->depth_uv || !cf->depth))
            return avt_err(err, AVT_INVAL, "%s: frame %llu: camera %s: %zu depth samples without data",
                           file, (unsigned long long)fi, cn, cf->n_depth);
        if (cf->n_ignore && (!cf->ignore_xyxy || !cf->ignore_class))
            return avt_err(err, AVT_INVAL, "%s: frame %llu: camera %s: %zu ignore regions without data",
                           file, (unsigned long long)fi, cn, cf->n_ignore);
        for (size_t i = 0; i < cf->n_ignore; i++)
            if (cf->ignore_class[i] >= w->n_classes)
                return avt_err(err, AVT_INVAL, "%s: frame %llu: camera %s: ignore region %zu: class_id %u >= %zu classes",
                               file, (unsigned long long)fi, cn, i, (unsigned)cf->ignore_class[i], w->n_classes);
        for (size_t i = 0; i < cf->n_boxes2d; i++)
            if (cf->boxes2d[i].box3d_index >= f->n_boxes)
                return avt_err(err, AVT_INVAL,
                               "%s: frame %llu: camera %s: 2D box %zu: box3d_index %u, frame has %zu boxes",
                               file, (unsigned long long)fi, cn, i,
                               (unsigned)cf->boxes2d[i].box3d_index, f->n_boxes);
        if (cf->image_path && !utf8_valid(cf->image_path))
            return avt_err(err, AVT_INVAL, "%s: frame %llu: camera %s: image_path is not UTF-8",
                           file, (unsigned long long)fi, cn);
        if (embeds_image(w, cf)) {
            int rc = image_check(w, cf->image_path, err);
            if (rc) {
                if (err) avt_err_prefix(err, "%s: frame %llu: camera %s", file,
                                        (unsigned long long)fi, cn);
                return rc;
            }
        }
    }
    return AVT_OK;
}

/* Appends n points of an optional column: the data, or n copies of a default. */
static int append_or_fill(h5x_col *c, const void *data, const void *dflt, size_t n,
                          avt_error *err)
{
    return data ? h5x_col_append(c, data, n, err) : h5x_col_fill(c, dflt, n, err);
}

static int write_points(avt_export_writer *w, const avt_frame_out *f, avt_error *err)
{
    int rc;
    size_t n = f->n_points;
    const float f0 = 0;
    const uint16_t u16_0 = 0;
    const int32_t i32_0 = 0, none = -1;
    const uint8_t u8_0 = 0;
    if ((rc = h5x_col_append(&w->cols[COL_XYZ], f->xyz, n, err)) ||
        (rc = append_or_fill(&w->cols[COL_INTENSITY], f->intensity, &f0, n, err)) ||
        (rc = append_or_fill(&w->cols[COL_RING], f->ring, &u16_0, n, err)) ||
        (rc = append_or_fill(&w->cols[COL_TIME], f->time_ns, &i32_0, n, err)) ||
        (rc = append_or_fill(&w->cols[COL_RETURN], f->return_type, &u8_0, n, err)) ||
        (rc = append_or_fill(&w->cols[COL_LABEL], f->label, &u16_0, n, err)))
        return rc;
    if (!f->instance) return h5x_col_fill(&w->cols[COL_INSTANCE], &none, n, err);
    /* Frame-local box rows become rows of /boxes3d, a block at a time. */
    int32_t base = (int32_t)w->n_boxes, tmp[1024];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < 1024 ? n - i : 1024;
        for (size_t j = 0; j < k; j++) {
            int32_t v = f->instance[i + j];
            tmp[j] = v < 0 ? -1 : base + v;
        }
        if ((rc = h5x_col_append(&w->cols[COL_INSTANCE], tmp, k, err))) return rc;
        i += k;
    }
    return AVT_OK;
}

static int write_boxes(avt_export_writer *w, const avt_frame_out *f, avt_error *err)
{
    int rc = AVT_OK;
    uint32_t frame_index = (uint32_t)w->n_frames;
    for (size_t i = 0; i < f->n_boxes; i++) {
        const avt_box3d *b = &f->boxes[i];
        if ((rc = h5x_col_append(&w->cols[COL_CENTER], b->center, 1, err)) ||
            (rc = h5x_col_append(&w->cols[COL_SIZE], b->size, 1, err)) ||
            (rc = h5x_col_append(&w->cols[COL_YAW], &b->yaw, 1, err)) ||
            (rc = h5x_col_append(&w->cols[COL_ROT], b->rotation, 1, err)) ||
            (rc = h5x_col_append(&w->cols[COL_VEL], b->velocity, 1, err)) ||
            (rc = h5x_col_append(&w->cols[COL_CLASS], &b->class_id, 1, err)) ||
            (rc = h5x_col_append(&w->cols[COL_TRACK], &b->track_id, 1, err)) ||
            (rc = h5x_col_append(&w->cols[COL_BNPTS], &b->num_lidar_points, 1, err)) ||
            (rc = h5x_col_append(&w->cols[COL_BATTR], &b->attributes, 1, err)) ||
            (rc = h5x_col_append(&w->cols[COL_FRAME_INDEX], &frame_index, 1, err)))
            return rc;
    }
    return AVT_OK;
}

static int write_camera(avt_export_writer *w, avt_export_cam *c, const avt_camera_frame *cf,
                        avt_error *err)
{
    int rc;
    h5x_col *col = c->cols;
    if ((rc = h5x_col_append(&col[CCOL_TS], &cf->timestamp_ns, 1, err)) ||
        (rc = h5x_col_append(&col[CCOL_DELTA], &cf->sync_delta_ns, 1, err)) ||
        (rc = h5x_col_append_str(&col[CCOL_PATH], cf->image_path, err)))
        return rc;
    uint32_t base = (uint32_t)w->n_boxes;
    for (size_t i = 0; i < cf->n_boxes2d; i++) {
        const avt_box2d *b = &cf->boxes2d[i];
        uint32_t idx = base + b->box3d_index;
        if ((rc = h5x_col_append(&col[CCOL_B2_INDEX], &idx, 1, err)) ||
            (rc = h5x_col_append(&col[CCOL_B2_XYXY], b->xyxy, 1, err)) ||
            (rc = h5x_col_append(&col[CCOL_B2_TRUNC], &b->truncation, 1, err)) ||
            (rc = h5x_col_append(&col[CCOL_B2_VIS], &b->visibility, 1, err)) ||
            (rc = h5x_col_append(&col[CCOL_B2_CORNERS], b->corners, 1, err)) ||
            (rc = h5x_col_append(&col[CCOL_B2_NPTS], &b->num_lidar_points, 1, err)))
            return rc;
    }
    if ((rc = h5x_col_append(&col[CCOL_D_UV], cf->depth_uv, cf->n_depth, err)) ||
        (rc = h5x_col_append(&col[CCOL_D_DEPTH], cf->depth, cf->n_depth, err)) ||
        (rc = h5x_col_append(&col[CCOL_IG_XYXY], cf->ignore_xyxy, cf->n_ignore, err)) ||
        (rc = h5x_col_append(&col[CCOL_IG_CLASS], cf->ignore_class, cf->n_ignore, err)))
        return rc;
    if (w->embed_images) {
        if (embeds_image(w, cf) && (rc = image_append(w, c, cf->image_path, err))) return rc;
        uint64_t i_end = c->image_bytes;
        if ((rc = h5x_col_append(&col[CCOL_IMG_OFF], &i_end, 1, err))) return rc;
    }
    c->boxes2d += cf->n_boxes2d;
    c->depth += cf->n_depth;
    c->ignore += cf->n_ignore;
    uint64_t b_end = c->boxes2d, d_end = c->depth, i_end = c->ignore;
    if ((rc = h5x_col_append(&col[CCOL_B2_OFF], &b_end, 1, err)) ||
        (rc = h5x_col_append(&col[CCOL_D_OFF], &d_end, 1, err)) ||
        (rc = h5x_col_append(&col[CCOL_IG_OFF], &i_end, 1, err)))
        return rc;
    if (cf->timestamp_ns != INT64_MIN) {
        c->paired++;
        if (cf->sync_delta_ns < c->delta_min_ns) c->delta_min_ns = cf->sync_delta_ns;
        if (cf->sync_delta_ns > c->delta_max_ns) c->delta_max_ns = cf->sync_delta_ns;
    }
    return AVT_OK;
}

static void count_frame(avt_export_writer *w, const avt_frame_out *f)
{
    for (size_t i = 0; i < f->n_boxes; i++) {
        w->class_hist[f->boxes[i].class_id]++;
        if (f->boxes[i].num_lidar_points == 0) w->boxes_without_points++;
    }
    for (size_t i = 0; i < f->n_points; i++)
        if (!f->label || f->label[i] == 0) w->unlabeled_points++;
    if (f->packets_lost) w->frames_with_loss++;
    w->packets_lost += f->packets_lost;
    if (!f->n_points) w->frames_without_points++;
    if (!is_identity(f->ego_pose)) w->all_poses_identity = 0;
    if (!w->n_frames) w->first_ts = f->timestamp_ns;
    w->last_ts = f->timestamp_ns;
}

/* Every WRITEBACK_BYTES the file grows, asks the kernel to start writing it out (Linux
 * sync_file_range, asynchronous): the fsync at finish then waits only for the tail instead
 * of the whole file (measured: the fsync was 18 % of a default export and 60 % of an
 * uncompressed one). Best effort: nothing happens where it is not available. */
#define WRITEBACK_BYTES (32u << 20)
static void start_writeback(avt_export_writer *w)
{
#ifdef SYNC_FILE_RANGE_WRITE
    hsize_t size = 0;
    int *fd = NULL;
    if (H5Fget_filesize(w->file, &size) < 0 || size < w->writeback_at + WRITEBACK_BYTES) return;
    /* only the bytes added since the last call: a range of the whole file makes the kernel
     * walk all its pages every time (quadratic in the file's size; measured) */
    if (H5Fget_vfd_handle(w->file, H5P_DEFAULT, (void **)&fd) >= 0 && fd)
        (void)sync_file_range(*fd, (off_t)w->writeback_at, (off_t)(size - w->writeback_at),
                              SYNC_FILE_RANGE_WRITE);
    w->writeback_at = size;
#else
    (void)w;
#endif
}

int avt_export_run_beside(avt_export_writer *w, void (*fn)(void *), void *arg)
{
    return w ? h5x_zctx_beside(&w->z, fn, arg) : 0;
}

void avt_export_wait_beside(avt_export_writer *w)
{
    if (w) h5x_zctx_beside_wait(&w->z);
}

int avt_export_frame(avt_export_writer *w, const avt_frame_out *f, avt_error *err)
{
    if (!w || !f) return avt_err(err, AVT_INVAL, "avt_export_frame: NULL writer or frame");
    if (w->failed)
        return avt_err(err, AVT_INVAL, "%s: an earlier write failed; the file must be aborted",
                       w->partial);
    int rc = check_frame(w, f, err);
    if (rc) return rc;
    h5x_quiet q;
    h5x_quiet_begin(&q);
    h5x_col *col = w->cols;
    if ((rc = h5x_col_append(&col[COL_TS], &f->timestamp_ns, 1, err)) ||
        (rc = h5x_col_append(&col[COL_START], &f->start_ns, 1, err)) ||
        (rc = h5x_col_append(&col[COL_END], &f->end_ns, 1, err)) ||
        (rc = h5x_col_append(&col[COL_POSE], f->ego_pose, 1, err)) ||
        (rc = h5x_col_append(&col[COL_PACKETS], &f->packets, 1, err)) ||
        (rc = h5x_col_append(&col[COL_LOST], &f->packets_lost, 1, err)) ||
        (rc = write_points(w, f, err)) || (rc = write_boxes(w, f, err)))
        goto out;
    for (size_t c = 0; c < w->n_cams; c++)
        if ((rc = write_camera(w, &w->cams[c], &f->cams[c], err))) goto out;
    count_frame(w, f);
    w->n_points += f->n_points;
    w->n_boxes += f->n_boxes;
    w->n_frames++;
    if ((rc = h5x_col_append(&col[COL_POFF], &w->n_points, 1, err)) ||
        (rc = h5x_col_append(&col[COL_BOFF], &w->n_boxes, 1, err)))
        goto out;
    start_writeback(w);
    h5x_zctx_help(&w->z);
out:
    if (rc) w->failed = 1;
    h5x_quiet_end(&q);
    return rc;
}

/* ---- inputs ----------------------------------------------------------------------------- */

int avt_export_digest_file(const char *path, avt_file_digest *d, avt_error *err)
{
    return avt_export_digest_file_until(path, NULL, d, err);
}

int avt_export_digest_file_until(const char *path, const atomic_int *stop, avt_file_digest *d, avt_error *err)
{
    int rc = avt_export_sha256_file(path, stop, d->sha256, &d->size, err);
    d->ok = rc == AVT_OK;
    return rc;
}

int avt_export_add_input_later(avt_export_writer *w, const char *rel_path, size_t *row,
                               avt_error *err)
{
    if (!w || !rel_path || !row) return avt_err(err, AVT_INVAL, "avt_export_add_input_later: NULL argument");
    if (!utf8_valid(rel_path)) return avt_err(err, AVT_INVAL, "%s: input path is not valid UTF-8", rel_path);
    if (avt_grow((void **)&w->inputs, &w->cap_inputs, w->n_inputs + 1, sizeof *w->inputs))
        return avt_err(err, AVT_NOMEM, "%s: out of memory", rel_path);
    avt_export_input *in = &w->inputs[w->n_inputs];
    memset(in, 0, sizeof *in);
    if (!(in->path = dup_str(rel_path))) return avt_err(err, AVT_NOMEM, "%s: out of memory", rel_path);
    in->pending = 1;
    *row = w->n_inputs++;
    return AVT_OK;
}

int avt_export_set_input_digest(avt_export_writer *w, size_t row, const char *abs_path,
                                const avt_file_digest *d, avt_error *err)
{
    if (!w || !abs_path || row >= w->n_inputs)
        return avt_err(err, AVT_INVAL, "avt_export_set_input_digest: bad argument");
    avt_file_digest taken;
    int rc;
    if (!d || !d->ok) {
        if ((rc = avt_export_digest_file(abs_path, &taken, err))) return rc;
        d = &taken;
    }
    avt_export_input *in = &w->inputs[row];
    memcpy(in->sha256, d->sha256, sizeof in->sha256);
    in->size = d->size;
    in->pending = 0;
    return AVT_OK;
}

int avt_export_add_input_digest(avt_export_writer *w, const char *rel_path, const char *abs_path,
                                const avt_file_digest *d, avt_error *err)
{
    if (!w || !rel_path || !abs_path)
        return avt_err(err, AVT_INVAL, "avt_export_add_input: NULL argument");
    if (!utf8_valid(rel_path))
        return avt_err(err, AVT_INVAL, "%s: input path is not valid UTF-8", abs_path);
    avt_file_digest taken;
    int rc;
    if (!d || !d->ok) { /* before the row exists: a file that cannot be read adds none */
        if ((rc = avt_export_digest_file(abs_path, &taken, err))) return rc;
        d = &taken;
    }
    size_t row;
    if ((rc = avt_export_add_input_later(w, rel_path, &row, err))) return rc;
    return avt_export_set_input_digest(w, row, abs_path, d, err);
}

int avt_export_add_input(avt_export_writer *w, const char *rel_path, const char *abs_path,
                         avt_error *err)
{
    return avt_export_add_input_digest(w, rel_path, abs_path, NULL, err);
}

/* ---- finish ----------------------------------------------------------------------------- */

static int write_provenance(avt_export_writer *w, const avt_export_meta *m, avt_error *err)
{
    int rc = AVT_OK;
    hid_t g = -1;
    const char **paths = NULL, **shas = NULL;
    uint64_t *sizes = NULL;
    json_t *cfg = NULL;
    const char *config = (m && m->config_json) ? m->config_json : "{}";
    json_error_t jerr;
    cfg = json_loads(config, JSON_DECODE_ANY, &jerr);
    if (!cfg) {
        rc = avt_err(err, AVT_INVAL, "%s: provenance config is not JSON: line %d column %d: %s",
                     w->partial, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    size_t n = w->n_inputs;
    paths = calloc(n ? n : 1, sizeof *paths);
    shas = calloc(n ? n : 1, sizeof *shas);
    sizes = calloc(n ? n : 1, sizeof *sizes);
    if (!paths || !shas || !sizes) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", w->partial);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (w->inputs[i].pending) {
            rc = avt_err(err, AVT_INVAL, "%s: provenance input %s was registered but never hashed",
                         w->partial, w->inputs[i].path);
            goto out;
        }
        paths[i] = w->inputs[i].path;
        shas[i] = w->inputs[i].sha256;
        sizes[i] = w->inputs[i].size;
    }
    hsize_t dn = n;
    if ((rc = h5x_dset_write(w->file, "provenance/inputs/path", K_STR, 1, &dn, paths, w->partial, err)) ||
        (rc = h5x_dset_write(w->file, "provenance/inputs/sha256", K_STR, 1, &dn, shas, w->partial, err)) ||
        (rc = h5x_dset_write(w->file, "provenance/inputs/size_bytes", K_U64, 1, &dn, sizes, w->partial, err)))
        goto out;
    g = H5Gopen2(w->file, "provenance", H5P_DEFAULT);
    if (g < 0) {
        rc = h5x_fail(err, w->partial, "/provenance", "H5Gopen2");
        goto out;
    }
    char started[48], finished[48];
    avt_format_utc((m && m->started_ns) ? m->started_ns : w->created_ns, started, sizeof started);
    avt_format_utc(avt_now_ns(), finished, sizeof finished);
    if ((rc = h5x_attr_str(g, "tool_version", (m && m->tool_version) ? m->tool_version : AVT_VERSION,
                           w->partial, err)) ||
        (rc = h5x_attr_str(g, "git_sha", m ? m->git_sha : NULL, w->partial, err)) ||
        (rc = h5x_attr_str(g, "command_line", m ? m->command_line : NULL, w->partial, err)) ||
        (rc = h5x_attr_str(g, "config", config, w->partial, err)) ||
        (rc = h5x_attr_str(g, "started_utc", started, w->partial, err)) ||
        (rc = h5x_attr_str(g, "finished_utc", finished, w->partial, err)))
        goto out;
out:
    if (g >= 0) H5Gclose(g);
    json_decref(cfg);
    free(sizes);
    free(shas);
    free(paths);
    return rc;
}

/* One camera's pairing summary: the attributes of /sync/<camera> and a row of the
 * /sync/cameras table, both written from SYNC_FIELDS. */
typedef struct sync_row {
    const char *camera, *policy;
    uint64_t frames_paired, frames_unpaired;
    int64_t tolerance_ns, clock_offset_ns;
    double clock_drift_ppm;
    uint64_t paired, unpaired_frames, unpaired_images, duplicates, dropped;
    int64_t delta_min_ns, delta_median_ns, delta_p95_ns, delta_max_ns;
    double clock_offset_sd_ns, clock_drift_sd_ppm;
    uint8_t clock_corrected;
    int64_t clock_t_ref_ns;
    double jitter_ns;
    uint64_t bad_times;
} sync_row;

#define SYNC_FIELD(name, kind, measured) {#name, kind, offsetof(sync_row, name), measured}
static const struct {
    const char *name;
    int kind;
    size_t off;
    int measured; /* from the sync summary (written only when one is given) */
} SYNC_FIELDS[] = {
    SYNC_FIELD(camera, K_STR, 0),
    SYNC_FIELD(frames_paired, K_U64, 0),
    SYNC_FIELD(frames_unpaired, K_U64, 0),
    SYNC_FIELD(policy, K_STR, 1),
    SYNC_FIELD(tolerance_ns, K_I64, 1),
    SYNC_FIELD(clock_offset_ns, K_I64, 1),
    SYNC_FIELD(clock_drift_ppm, K_F64, 1),
    SYNC_FIELD(paired, K_U64, 1),
    SYNC_FIELD(unpaired_frames, K_U64, 1),
    SYNC_FIELD(unpaired_images, K_U64, 1),
    SYNC_FIELD(duplicates, K_U64, 1),
    SYNC_FIELD(dropped, K_U64, 1),
    SYNC_FIELD(delta_min_ns, K_I64, 1),
    SYNC_FIELD(delta_median_ns, K_I64, 1),
    SYNC_FIELD(delta_p95_ns, K_I64, 1),
    SYNC_FIELD(delta_max_ns, K_I64, 1),
    SYNC_FIELD(clock_offset_sd_ns, K_F64, 1),
    SYNC_FIELD(clock_drift_sd_ppm, K_F64, 1),
    SYNC_FIELD(clock_corrected, K_U8, 1),
    SYNC_FIELD(clock_t_ref_ns, K_I64, 1),
    SYNC_FIELD(jitter_ns, K_F64, 1),
    SYNC_FIELD(bad_times, K_U64, 1),
};
#define N_SYNC_FIELDS (sizeof SYNC_FIELDS / sizeof SYNC_FIELDS[0])

static void sync_row_fill(sync_row *r, const avt_export_writer *w, size_t i,
                          const avt_sync_camera_summary *s)
{
    const avt_export_cam *c = &w->cams[i];
    memset(r, 0, sizeof *r);
    r->camera = c->name;
    r->frames_paired = c->paired;
    r->frames_unpaired = w->n_frames - c->paired;
    if (!s) return;
    r->policy = s->policy ? s->policy : "";
    r->tolerance_ns = s->tolerance_ns;
    r->clock_offset_ns = s->clock_offset_ns;
    r->clock_drift_ppm = s->clock_drift_ppm;
    r->paired = s->paired;
    r->unpaired_frames = s->unpaired_frames;
    r->unpaired_images = s->unpaired_images;
    r->duplicates = s->duplicates;
    r->dropped = s->dropped;
    r->delta_min_ns = s->delta_min_ns;
    r->delta_median_ns = s->delta_median_ns;
    r->delta_p95_ns = s->delta_p95_ns;
    r->delta_max_ns = s->delta_max_ns;
    r->clock_offset_sd_ns = s->clock_offset_sd_ns;
    r->clock_drift_sd_ppm = s->clock_drift_sd_ppm;
    r->clock_corrected = s->clock_corrected ? 1 : 0;
    r->clock_t_ref_ns = s->clock_t_ref_ns;
    r->jitter_ns = s->jitter_ns;
    r->bad_times = s->bad_times;
}

/* /sync/cameras: a table as columns (FORMAT.md: "columns, not compound types", like
 * /provenance/inputs): one (C,) dataset per field of SYNC_FIELDS, row c = camera c. */
static int write_sync_table(hid_t g, const sync_row *rows, size_t n, const char *file,
                            avt_error *err)
{
    int rc = AVT_OK;
    unsigned char *col = malloc((n ? n : 1) * 8);
    if (!col) return avt_err(err, AVT_NOMEM, "%s: /sync/cameras: out of memory", file);
    hsize_t dims[1] = {n};
    char path[96];
    for (size_t k = 0; rc == AVT_OK && k < N_SYNC_FIELDS; k++) {
        size_t sz = h5x_kind_size(SYNC_FIELDS[k].kind);
        for (size_t i = 0; i < n; i++)
            memcpy(col + i * sz, (const char *)&rows[i] + SYNC_FIELDS[k].off, sz);
        snprintf(path, sizeof path, "cameras/%s", SYNC_FIELDS[k].name);
        rc = h5x_dset_write(g, path, SYNC_FIELDS[k].kind, 1, dims, col, file, err);
    }
    free(col);
    return rc;
}

/* /sync: group attributes; one subgroup per camera whose attributes hold its pairing
 * counts seen by the writer and, when a sync summary is given, the summary; and then the
 * same values as the /sync/cameras table. */
static int write_sync(avt_export_writer *w, const avt_export_meta *m, avt_error *err)
{
    int rc = AVT_OK;
    hid_t g = -1, cg = -1;
    const char *file = w->partial;
    const avt_sync_camera_summary *sum = m ? m->sync : NULL;
    uint64_t ncam = w->n_cams;
    sync_row *rows = calloc(w->n_cams ? w->n_cams : 1, sizeof *rows);
    if (!rows) return avt_err(err, AVT_NOMEM, "%s: /sync: out of memory", file);
    g = H5Gcreate2(w->file, "sync", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        rc = h5x_fail(err, file, "/sync", "H5Gcreate2");
        goto out;
    }
    if ((rc = h5x_attr_num(g, "num_cameras", K_U64, &ncam, file, err)) ||
        (rc = h5x_attr_str(g, "summary", sum ? "measured" : "not provided", file, err)))
        goto out;
    for (size_t i = 0; i < w->n_cams; i++) {
        sync_row_fill(&rows[i], w, i, sum ? &sum[i] : NULL);
        cg = H5Gcreate2(g, w->cams[i].name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (cg < 0) {
            rc = h5x_fail(err, file, w->cams[i].name, "H5Gcreate2(/sync/<camera>)");
            goto out;
        }
        for (size_t k = 1; k < N_SYNC_FIELDS; k++) {
            const void *v = (const char *)&rows[i] + SYNC_FIELDS[k].off;
            if (SYNC_FIELDS[k].measured && !sum) continue;
            rc = SYNC_FIELDS[k].kind == K_STR
                     ? h5x_attr_str(cg, SYNC_FIELDS[k].name, *(const char *const *)v, file, err)
                     : h5x_attr_num(cg, SYNC_FIELDS[k].name, SYNC_FIELDS[k].kind, v, file, err);
            if (rc) goto out;
        }
        H5Gclose(cg);
        cg = -1;
    }
    if (sum) rc = write_sync_table(g, rows, w->n_cams, file, err);
out:
    if (cg >= 0) H5Gclose(cg);
    if (g >= 0) H5Gclose(g);
    free(rows);
    return rc;
}

/* Writes text to path via path.partial, fsync and rename (the same discipline as the .h5). */
static int write_text_file(const char *path, const char *partial, const char *text,
                          avt_error *err)
{
    int rc = AVT_OK;
    FILE *f = fopen(partial, "wb");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create: %s", partial, strerror(errno));
    size_t len = strlen(text);
    if (fwrite(text, 1, len, f) != len || fflush(f) != 0) {
        rc = avt_err(err, AVT_IO, "%s: write failed: %s", partial, strerror(errno));
    } else if (fsync(fileno(f)) != 0) {
        rc = avt_err(err, AVT_IO, "%s: fsync failed: %s", partial, strerror(errno));
    }
    if (fclose(f) != 0 && rc == AVT_OK)
        rc = avt_err(err, AVT_IO, "%s: close failed: %s", partial, strerror(errno));
    if (rc == AVT_OK && rename(partial, path) != 0)
        rc = avt_err(err, AVT_IO, "%s: cannot rename to %s: %s", partial, path, strerror(errno));
    return rc;
}

/* /meta/validation: the label validation findings as string columns of one row each, and the
 * counts of all findings as attributes errors and warnings. */
static int write_validation(avt_export_writer *w, const avt_export_meta *m, avt_error *err)
{
    static const char *const col[6] = {"severity", "rule", "file", "path", "value", "message"};
    size_t n = m ? m->n_validation : 0;
    const char **v = malloc((n ? n : 1) * sizeof *v);
    int rc = v ? AVT_OK : avt_err(err, AVT_NOMEM, "%s: out of memory", w->partial);
    for (int c = 0; c < 6 && !rc; c++) {
        char path[64];
        for (size_t i = 0; i < n; i++) {
            const avt_export_finding *f = &m->validation[i];
            const char *const field[6] = {f->severity, f->rule, f->file, f->path, f->value, f->message};
            v[i] = field[c];
            if ((rc = check_str(v[i], "a validation finding", w->partial, err))) break;
        }
        hsize_t dims = n;
        snprintf(path, sizeof path, "meta/validation/%s", col[c]);
        if (!rc) rc = h5x_dset_write(w->file, path, K_STR, 1, &dims, v, w->partial, err);
    }
    free(v);
    const uint64_t counts[2] = {m ? m->validation_errors : 0, m ? m->validation_warnings : 0};
    hid_t g = rc ? -1 : H5Gopen2(w->file, "meta/validation", H5P_DEFAULT);
    if (!rc && g < 0) rc = h5x_fail(err, w->partial, "meta/validation", "H5Gopen2");
    if (!rc && !(rc = h5x_attr_num(g, "errors", K_U64, &counts[0], w->partial, err)))
        rc = h5x_attr_num(g, "warnings", K_U64, &counts[1], w->partial, err);
    if (g >= 0) H5Gclose(g);
    return rc;
}

int avt_export_finish(avt_export_writer *w, const avt_export_meta *meta, avt_error *err)
{
    if (!w) return avt_err(err, AVT_INVAL, "avt_export_finish: NULL writer");
    int rc = AVT_OK, card_renamed = 0;
    char *card = NULL;
    h5x_quiet q;
    h5x_quiet_begin(&q);
    if (w->failed) {
        rc = avt_err(err, AVT_INVAL, "%s: an earlier write failed; file discarded", w->partial);
        goto out;
    }
    /* every column's last chunks, compressed together */
    h5x_col **cols = malloc((COL_COUNT + w->n_cams * CCOL_COUNT) * sizeof *cols);
    if (!cols) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", w->partial);
        goto out;
    }
    size_t nc = 0;
    for (int i = 0; i < COL_COUNT; i++) cols[nc++] = &w->cols[i];
    for (size_t c = 0; c < w->n_cams; c++)
        for (int i = 0; i < CCOL_COUNT; i++) cols[nc++] = &w->cams[c].cols[i];
    rc = h5x_cols_flush(cols, nc, err);
    /* the columns are complete: their stages and the compression buffers go before the tables
     * are written (peak memory: a long log's provenance and sync tables come on top) */
    for (size_t i = 0; rc == AVT_OK && i < nc; i++) h5x_col_release(cols[i]);
    if (rc == AVT_OK) h5x_zctx_release(&w->z);
    free(cols);
    if (rc) goto out;
    const char *source = (meta && meta->calibration_source) ? meta->calibration_source
                                                            : w->rig_source;
    if ((rc = check_str(source, "calibration source", w->partial, err)) ||
        (rc = h5x_dset_write(w->file, "calibration/source", K_STR, 0, NULL, &source, w->partial,
                             err)) ||
        (rc = write_provenance(w, meta, err)) || (rc = write_sync(w, meta, err)) ||
        (rc = write_validation(w, meta, err)))
        goto out;
    if (meta && meta->dataset_card) {
        if ((rc = check_str(meta->dataset_card, "dataset card", w->partial, err))) goto out;
        card = dup_str(meta->dataset_card);
    } else {
        card = avt_export_card_make(w, meta);
    }
    if (!card) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory for the dataset card", w->partial);
        goto out;
    }
    const char *card_c = card;
    if ((rc = h5x_dset_write(w->file, "dataset_card", K_STR, 0, NULL, &card_c, w->partial, err)) ||
        (rc = h5x_attr_num(w->file, "num_frames", K_U64, &w->n_frames, w->partial, err)))
        goto out;

    /* Close every id, then the file: the close writes the final metadata. */
    for (int i = 0; i < COL_COUNT; i++) h5x_col_close(&w->cols[i]);
    for (size_t c = 0; c < w->n_cams; c++)
        for (int i = 0; i < CCOL_COUNT; i++) h5x_col_close(&w->cams[c].cols[i]);
    H5Tclose(w->str_t);
    w->str_t = -1;
    herr_t closed = file_close(w->file);
    w->file = -1;
    if (closed < 0) {
        rc = h5x_fail(err, w->partial, NULL, "H5Fclose");
        goto out;
    }
    if ((rc = fsync_path(w->partial, 0, err))) goto out;
    if ((rc = write_text_file(w->card_path, w->card_partial, card, err))) goto out;
    card_renamed = 1;
    if (rename(w->partial, w->path) != 0) {
        rc = avt_err(err, AVT_IO, "%s: cannot rename to %s: %s", w->partial, w->path,
                     strerror(errno));
        goto out;
    }
    char dir[1024];
    dir_of(w->path, dir, sizeof dir);
    rc = fsync_path(dir, 1, err);
    /* The file is complete and renamed; a failed directory fsync is reported but the file
     * is not removed. */
    if (rc) goto done;
out:
    if (rc && card_renamed) unlink(w->card_path);
    if (rc) {
        writer_discard(w);
        w = NULL;
    }
done:
    free(card);
    writer_free(w);
    h5x_quiet_end(&q);
    return rc;
}

void avt_export_abort(avt_export_writer *w)
{
    if (!w) return;
    h5x_quiet q;
    h5x_quiet_begin(&q);
    writer_discard(w);
    h5x_quiet_end(&q);
}
