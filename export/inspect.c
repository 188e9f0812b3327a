/* avtruth export: `avtruth inspect`, a human summary of a ground-truth file (FORMAT.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "export_private.h"

static uint64_t attr_u64(hid_t loc, const char *name)
{
    uint64_t v = 0;
    if (H5Aexists(loc, name) <= 0) return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a >= 0) {
        if (h5x_attr_read1(a, H5T_NATIVE_UINT64, &v) < 0) v = 0;
        H5Aclose(a);
    }
    return v;
}

/* Length of the first dimension of a dataset; 0 if it does not exist. */
static uint64_t dset_len(hid_t loc, const char *path)
{
    avt_h5ctx v = {loc, "", NULL, NULL};
    avt_h5col c;
    return avt_h5_shape(&v, path, 1, &c) ? 0 : c.rows;
}

/* Reads rows [start, start + n) of a 1-D int64 dataset into out. */
static int read_i64(hid_t d, uint64_t start, size_t n, int64_t *out)
{
    int ok = 0;
    hsize_t off = start, cnt = n;
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &cnt, NULL);
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, &off, NULL, &cnt, NULL) >= 0 &&
        H5Dread(d, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, out) >= 0)
        ok = 1;
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return ok;
}

/* Counts entries != INT64_MIN (paired images), a block at a time (n rows). */
static int count_paired(hid_t file, const char *path, uint64_t n, uint64_t *paired)
{
    int64_t buf[AVT_TABLE_CHUNK_ROWS];
    uint64_t k = 0;
    *paired = 0;
    if (!n) return 1;
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0) return 0;
    for (uint64_t i = 0; i < n; i += AVT_TABLE_CHUNK_ROWS) {
        size_t m = (size_t)(n - i < AVT_TABLE_CHUNK_ROWS ? n - i : AVT_TABLE_CHUNK_ROWS);
        if (!read_i64(d, i, m, buf)) {
            H5Dclose(d);
            return 0;
        }
        for (size_t j = 0; j < m; j++) k += buf[j] != INT64_MIN;
    }
    H5Dclose(d);
    *paired = k;
    return 1;
}

typedef struct cam_list {
    char (*names)[AVT_NAME_MAX];
    size_t n, cap;
    int oom;
} cam_list;

static herr_t collect_cam(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    cam_list *l = data;
    if (avt_grow((void **)&l->names, &l->cap, l->n + 1, sizeof *l->names) != AVT_OK) {
        l->oom = 1;
        return 1;
    }
    snprintf(l->names[l->n++], AVT_NAME_MAX, "%s", name);
    return 0;
}

static int print_cameras(avt_h5ctx *v, FILE *out, uint64_t frames)
{
    hid_t file = v->file;
    cam_list l = {NULL, 0, 0, 0};
    int rc = AVT_OK;
    if (H5Lexists(file, "cameras", H5P_DEFAULT) <= 0) return AVT_OK;
    hid_t g = H5Gopen2(file, "cameras", H5P_DEFAULT);
    if (g < 0) return AVT_OK;
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_cam, &l);
    H5Gclose(g);
    for (size_t i = 0; i < l.n && !rc; i++) {
        char p[AVT_NAME_MAX + 64], model[32];
        uint64_t paired = 0;
        avt_h5col ts;
        snprintf(p, sizeof p, "cameras/%s/timestamp_ns", l.names[i]);
        /* read a block at a time: FORMAT.md's (N,) checked first */
        if ((rc = avt_h5_shape_as(v, p, 1, 1, AVT_H5_ANY, 0, 0, &ts))) break;
        int ok = count_paired(file, p, ts.rows, &paired);
        snprintf(p, sizeof p, "cameras/%s", l.names[i]);
        h5x_attr_get_str(file, p, "model", model, sizeof model);
        snprintf(p, sizeof p, "cameras/%s/boxes2d/box3d_index", l.names[i]);
        uint64_t b2 = dset_len(file, p);
        snprintf(p, sizeof p, "cameras/%s/depth/depth", l.names[i]);
        uint64_t dd = dset_len(file, p);
        if (ok)
            fprintf(out, "  %-12s %s, %llu of %llu frames with a paired image, %llu 2D boxes, "
                         "%llu depth samples\n",
                    l.names[i], model, (unsigned long long)paired, (unsigned long long)frames,
                    (unsigned long long)b2, (unsigned long long)dd);
        else
            fprintf(out, "  %-12s (unreadable timestamp_ns)\n", l.names[i]);
    }
    free(l.names);
    return rc;
}

int avt_export_inspect(const char *path, FILE *out, avt_error *err)
{
    int rc = AVT_OK;
    hid_t file = -1, root = -1;
    h5x_quiet q;
    h5x_quiet_begin(&q);
    struct stat st;
    if (!path || !out) {
        rc = avt_err(err, AVT_INVAL, "avt_export_inspect: NULL argument");
        goto out;
    }
    if (stat(path, &st) != 0) {
        rc = avt_err(err, errno == ENOENT ? AVT_NOTFOUND : AVT_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (H5Fis_hdf5(path) <= 0) {
        rc = avt_err(err, AVT_FORMAT, "%s: not an HDF5 file (so not an avtruth file)", path);
        goto out;
    }
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        rc = h5x_fail(err, path, NULL, "H5Fopen");
        goto out;
    }
    char format[64], version[32], log_id[256], created[64], compression[64];
    if (!h5x_attr_get_str(file, ".", "format", format, sizeof format) ||
        strcmp(format, "avtruth-gt") != 0) {
        rc = avt_err(err, AVT_FORMAT, "%s: not an avtruth file (root attribute format is \"%s\", "
                                      "expected \"avtruth-gt\")", path, format);
        goto out;
    }
    h5x_attr_get_str(file, ".", "format_version", version, sizeof version);
    h5x_attr_get_str(file, ".", "log_id", log_id, sizeof log_id);
    h5x_attr_get_str(file, ".", "created_utc", created, sizeof created);
    h5x_attr_get_str(file, ".", "compression", compression, sizeof compression);
    root = H5Gopen2(file, "/", H5P_DEFAULT);
    uint64_t frames = root >= 0 ? attr_u64(root, "num_frames") : 0;
    uint64_t ncam = root >= 0 ? attr_u64(root, "num_cameras") : 0;
    avt_h5ctx v = {file, path, err, " (run avtruth verify)"};
    avt_h5col ts;
    if ((rc = avt_h5_shape_as(&v, "frames/timestamp_ns", 1, 1, AVT_H5_ANY, 0, 0, &ts))) goto out;
    uint64_t rows = ts.rows;

    fprintf(out, "%s\n", path);
    fprintf(out, "format:        %s %s\n", format, version);
    fprintf(out, "log_id:        %s\n", log_id);
    fprintf(out, "created:       %s\n", created);
    fprintf(out, "compression:   %s\n", compression);
    fprintf(out, "frames:        %llu", (unsigned long long)frames);
    if (rows != frames) fprintf(out, " (but /frames/timestamp_ns has %llu rows)", (unsigned long long)rows);
    fprintf(out, "\n");
    if (rows) {
        int64_t first = 0, last = 0;
        hid_t d = H5Dopen2(file, "frames/timestamp_ns", H5P_DEFAULT);
        if (d >= 0 && read_i64(d, 0, 1, &first) && read_i64(d, rows - 1, 1, &last)) {
            char a[48], z[48];
            avt_format_utc(first, a, sizeof a);
            avt_format_utc(last, z, sizeof z);
            fprintf(out, "time span:     %s .. %s (%.3f s)\n", a, z, (double)(last - first) * 1e-9);
        }
        if (d >= 0) H5Dclose(d);
    }
    fprintf(out, "lidar points:  %llu\n", (unsigned long long)dset_len(file, "lidar/xyz"));
    fprintf(out, "3D boxes:      %llu\n", (unsigned long long)dset_len(file, "boxes3d/class_id"));
    fprintf(out, "classes:       %llu\n", (unsigned long long)dset_len(file, "meta/class_names"));
    fprintf(out, "cameras:       %llu\n", (unsigned long long)ncam);
    if ((rc = print_cameras(&v, out, frames))) goto out;
    char tool[128], sha[128], started[64], finished[64], *cmd = malloc(4096);
    h5x_attr_get_str(file, "provenance", "tool_version", tool, sizeof tool);
    h5x_attr_get_str(file, "provenance", "git_sha", sha, sizeof sha);
    h5x_attr_get_str(file, "provenance", "started_utc", started, sizeof started);
    h5x_attr_get_str(file, "provenance", "finished_utc", finished, sizeof finished);
    if (cmd) h5x_attr_get_str(file, "provenance", "command_line", cmd, 4096);
    fprintf(out, "provenance:    avtruth %s (git %s)\n", tool[0] ? tool : "?", sha[0] ? sha : "?");
    fprintf(out, "  command:     %s\n", cmd ? cmd : "?");
    fprintf(out, "  run:         %s .. %s\n", started, finished);
    fprintf(out, "  inputs:      %llu files\n",
            (unsigned long long)dset_len(file, "provenance/inputs/path"));
    free(cmd);
    if (ferror(out)) rc = avt_err(err, AVT_IO, "%s: cannot write the summary", path);
out:
    if (root >= 0) H5Gclose(root);
    if (file >= 0) H5Fclose(file);
    h5x_quiet_end(&q);
    return rc;
}
