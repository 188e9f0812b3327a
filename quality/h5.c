/* avtruth quality: reading the 3D and 2D boxes of an output file (FORMAT.md) with the HDF5 C
 * API: /frames/timestamp_ns and box_offset, the /boxes3d columns, and per camera the
 * /cameras/<name>/boxes2d columns. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/h5quiet.h"
#include "avtruth/h5read.h"
#include "quality_private.h"

/* Reads a whole numeric dataset converted to double; its shape must be (rows, cols) (cols 1:
 * rank 1), checked as every reader of an output checks it (avtruth/h5read.h). *out is
 * malloc'ed. */
static int read_col(hid_t f, const char *file, const char *name, size_t cols, double **out, size_t *rows,
                    avt_error *err)
{
    avt_h5ctx v = {f, file, err, " (not an avtruth output file?)"};
    avt_h5col c;
    int rc = avt_h5_read_as(&v, name, H5T_NATIVE_DOUBLE, 0, cols == 1 ? 1 : 2, AVT_H5_ANY, cols, 0, &c);
    *out = rc ? NULL : c.data;
    *rows = rc ? 0 : (size_t)c.rows;
    return rc;
}

static hid_t open_file(const char *path, avt_error *err)
{
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f < 0) avt_err(err, AVT_FORMAT, "%s: not a directory of labels and not an HDF5 file", path);
    return f;
}

/* Offsets (F+1) must start at 0, not decrease and end at rows. */
static int check_offsets(const double *off, size_t nf, size_t rows, const char *file, const char *name, avt_error *err)
{
    if (off[0] != 0 || off[nf] != (double)rows)
        return avt_err(err, AVT_FORMAT, "%s: /%s: runs from %g to %g, the columns have %zu rows", file, name, off[0],
                       off[nf], rows);
    for (size_t i = 0; i < nf; i++)
        if (!(off[i + 1] >= off[i])) /* NaN too: the offsets index the columns */
            return avt_err(err, AVT_FORMAT, "%s: /%s[%zu]: decreases", file, name, i + 1);
    return AVT_OK;
}

int quality_h5_load_boxes(const char *path, avt_label_set *s, avt_error *err)
{
    enum { TS, OFF, CEN, SIZE, YAW, VEL, CLS, TID, ATTR, NCOL };
    static const char *const names[NCOL] = {"frames/timestamp_ns", "frames/box_offset", "boxes3d/center",
                                            "boxes3d/size", "boxes3d/yaw", "boxes3d/velocity",
                                            "boxes3d/class_id", "boxes3d/track_id", "boxes3d/attributes"};
    static const size_t cols[NCOL] = {1, 1, 3, 3, 1, 3, 1, 1, 1};
    double *c[NCOL] = {0};
    size_t rows[NCOL] = {0};
    int rc = AVT_OK;
    h5x_quiet q;
    h5x_quiet_begin(&q);
    hid_t f = open_file(path, err);
    if (f < 0) {
        rc = AVT_FORMAT;
        goto out;
    }
    for (int k = 0; k < NCOL && !rc; k++) rc = read_col(f, path, names[k], cols[k], &c[k], &rows[k], err);
    if (rc) goto out;
    size_t nf = rows[TS], nb = rows[CEN];
    if (rows[OFF] != nf + 1) {
        rc = avt_err(err, AVT_FORMAT, "%s: /frames/box_offset has %zu rows for %zu frames", path, rows[OFF], nf);
        goto out;
    }
    for (int k = SIZE; k < NCOL; k++)
        if (rows[k] != nb) {
            rc = avt_err(err, AVT_FORMAT, "%s: /%s has %zu rows, /boxes3d/center %zu", path, names[k], rows[k], nb);
            goto out;
        }
    if ((rc = check_offsets(c[OFF], nf, nb, path, names[OFF], err))) goto out;
    s->n = nf;
    s->t_ns = calloc(nf ? nf : 1, sizeof *s->t_ns);
    s->paths = calloc(nf ? nf : 1, sizeof *s->paths);
    s->frames = calloc(nf ? nf : 1, sizeof *s->frames);
    if (!s->t_ns || !s->paths || !s->frames) goto nomem;
    for (size_t i = 0; i < nf; i++) {
        size_t b0 = (size_t)c[OFF][i], b1 = (size_t)c[OFF][i + 1];
        avt_label_frame *fr = &s->frames[i];
        s->t_ns[i] = fr->timestamp_ns = (int64_t)c[TS][i];
        if (!(s->paths[i] = strdup(path)) || !(fr->boxes = calloc(b1 > b0 ? b1 - b0 : 1, sizeof *fr->boxes)))
            goto nomem;
        fr->n = b1 - b0;
        for (size_t b = b0; b < b1; b++) {
            avt_label_box *lb = &fr->boxes[b - b0];
            for (int k = 0; k < 3; k++) {
                lb->center[k] = c[CEN][3 * b + k];
                lb->size[k] = c[SIZE][3 * b + k];
                lb->velocity[k] = c[VEL][3 * b + k];
            }
            lb->yaw = c[YAW][b];
            lb->class_id = (int)c[CLS][b];
            lb->track_id = (int64_t)c[TID][b];
            lb->attributes = (uint32_t)c[ATTR][b];
            lb->score = NAN;
            lb->occluded = -1; /* from /cameras/<name>/boxes2d/visibility instead */
            lb->truncated = NAN;
            if (lb->class_id < 1 || lb->class_id >= AVT_QUALITY_MAX_ID || !(lb->size[0] > 0 && lb->size[1] > 0 && lb->size[2] > 0)) {
                rc = avt_err(err, AVT_FORMAT, "%s: /boxes3d row %zu: class_id %d, size %g x %g x %g", path, b,
                             lb->class_id, lb->size[0], lb->size[1], lb->size[2]);
                goto out;
            }
        }
    }
    /* frames are in time order in an output file; a label set is sorted */
    for (size_t i = 1; i < nf; i++)
        if (s->t_ns[i] < s->t_ns[i - 1]) {
            rc = avt_err(err, AVT_FORMAT, "%s: /frames/timestamp_ns[%zu] goes back in time", path, i);
            goto out;
        }
    goto out;
nomem:
    rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
out:
    for (int k = 0; k < NCOL; k++) free(c[k]);
    if (f >= 0) H5Fclose(f);
    h5x_quiet_end(&q);
    if (rc) avt_label_set_free(s);
    return rc;
}

/* Names of the groups under /cameras. */
static herr_t add_name(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    char (*names)[64] = ((void **)data)[0];
    size_t *n = ((void **)data)[1], max = *(size_t *)((void **)data)[2];
    if (*n < max) snprintf(names[(*n)++], 64, "%s", name);
    return 0;
}

int avt_quality_h5_cameras(const char *path, char names[][64], size_t max, size_t *n, avt_error *err)
{
    *n = 0;
    h5x_quiet q;
    h5x_quiet_begin(&q);
    hid_t f = open_file(path, err);
    int rc = f < 0 ? AVT_FORMAT : AVT_OK;
    if (f >= 0 && H5Lexists(f, "cameras", H5P_DEFAULT) > 0) {
        hid_t g = H5Gopen2(f, "cameras", H5P_DEFAULT);
        void *data[3] = {names, n, &max};
        if (g < 0 || H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, add_name, data) < 0)
            rc = avt_err(err, AVT_HDF5, "%s: /cameras: cannot list", path);
        if (g >= 0) H5Gclose(g);
    }
    if (f >= 0) H5Fclose(f);
    h5x_quiet_end(&q);
    return rc;
}

int avt_quality_h5_views(const char *path, const char *camera, size_t n_rows, avt_box_view *views, avt_error *err)
{
    enum { IDX, XYXY, TRUNC, VIS, NCOL };
    static const char *const leaf[NCOL] = {"box3d_index", "xyxy", "truncation", "visibility"};
    static const size_t cols[NCOL] = {1, 4, 1, 1};
    double *c[NCOL] = {0};
    size_t rows[NCOL] = {0};
    char name[256];
    int rc = AVT_OK;
    for (size_t i = 0; i < n_rows; i++)
        views[i] = (avt_box_view){{NAN, NAN, NAN, NAN}, 0, 1, 2};
    h5x_quiet q;
    h5x_quiet_begin(&q);
    hid_t f = open_file(path, err);
    if (f < 0) {
        rc = AVT_FORMAT;
        goto out;
    }
    for (int k = 0; k < NCOL && !rc; k++) {
        snprintf(name, sizeof name, "cameras/%s/boxes2d/%s", camera, leaf[k]);
        rc = read_col(f, path, name, cols[k], &c[k], &rows[k], err);
    }
    if (rc) goto out;
    for (size_t r = 0; r < rows[IDX]; r++) {
        double row = c[IDX][r];
        if (r >= rows[XYXY] || r >= rows[TRUNC] || r >= rows[VIS] || !(row >= 0 && row < (double)n_rows)) {
            rc = avt_err(err, AVT_FORMAT, "%s: /cameras/%s/boxes2d row %zu: box3d_index %g of %zu boxes", path, camera,
                         r, row, n_rows);
            goto out;
        }
        avt_box_view *v = &views[(size_t)row];
        memcpy(v->xyxy, &c[XYXY][4 * r], sizeof v->xyxy);
        v->height_px = v->xyxy[3] - v->xyxy[1];
        v->truncation = c[TRUNC][r];
        v->occlusion = quality_occlusion_level(c[VIS][r]);
    }
out:
    for (int k = 0; k < NCOL; k++) free(c[k]);
    if (f >= 0) H5Fclose(f);
    h5x_quiet_end(&q);
    return rc;
}

int quality_h5_schema_text(const char *path, char **text, size_t *len, avt_error *err)
{
    *text = NULL;
    *len = 0;
    h5x_quiet q;
    h5x_quiet_begin(&q);
    hid_t f = open_file(path, err), d = -1, t = -1, mt = -1;
    int rc = f < 0 ? AVT_FORMAT : AVT_OK;
    if (f >= 0 && H5Lexists(f, "meta", H5P_DEFAULT) > 0 && H5Lexists(f, "meta/schema", H5P_DEFAULT) > 0 &&
        (d = H5Dopen2(f, "meta/schema", H5P_DEFAULT)) >= 0 && (t = H5Dget_type(d)) >= 0 && H5Tget_class(t) == H5T_STRING) {
        /* read into one string: the dataset must hold one (FORMAT.md: a scalar string) */
        hid_t sp = H5Dget_space(d);
        hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        if (sp >= 0) H5Sclose(sp);
        if (np != 1) {
            rc = avt_err(err, AVT_FORMAT, "%s: /meta/schema: %lld strings, expected one", path, (long long)np);
        } else if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            mt = H5Tcopy(H5T_C_S1);
            if (mt >= 0 && H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) >= 0 && s) {
                *text = strdup(s);
                H5free_memory(s);
                if (!*text) rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
            }
        } else {
            size_t sz = H5Tget_size(t);
            *text = calloc(sz + 1, 1);
            mt = H5Tcopy(t);
            if (!*text) rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
            else if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *text) < 0) rc = avt_err(err, AVT_HDF5, "%s: /meta/schema: read failed", path);
        }
        if (*text) *len = strlen(*text);
    }
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    h5x_quiet_end(&q);
    if (rc) {
        free(*text);
        *text = NULL;
        *len = 0;
    }
    return rc;
}
