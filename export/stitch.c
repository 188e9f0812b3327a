/* avtruth export: `avtruth stitch`, one index file over many per-log ground-truth files
 * (FORMAT.md "Principles"): HDF5 virtual datasets (1.10 VDS, source files named relative to
 * the index) for the data columns; real, rebased copies of the offset arrays and of the
 * columns whose values are rows of another table (lidar/instance, boxes3d/frame_index,
 * boxes2d/box3d_index), which a VDS cannot rebase; a /logs table with each source's
 * SHA-256 (a missing or changed source would otherwise read as zeros) and a fixed split. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export_private.h"

typedef struct src_log {
    char *file;      /* path as found (DIR/name.h5) */
    char *rel;       /* relative to the index file's directory */
    char log_id[256];
    char sha256[65];
    uint64_t frames, points, boxes;
    uint64_t *cam_b2, *cam_depth, *cam_img; /* per camera rows */
    ds_source ds;    /* what it says about itself (dataset.c) */
} src_log;

enum { REB_NONE, REB_OFFSET, REB_BOX, REB_FRAME };

/* One column of the stitched file: path relative to the root. */
typedef struct scol {
    char path[256];
    int rebase; /* REB_*: how values change from a source to the index */
    int is_str;
} scol;

void avt_stitch_options_default(avt_stitch_options *o)
{
    memset(o, 0, sizeof *o);
    o->train = 0.8;
    o->val = 0.1;
}

/* Path of target relative to directory base (both absolute, normalised by realpath). */
static int relpath(const char *base, const char *target, char *out, size_t n)
{
    size_t i = 0, last = 0;
    while (base[i] && base[i] == target[i]) {
        if (base[i] == '/') last = i;
        i++;
    }
    if (!base[i] && (target[i] == '/' || !target[i])) last = i;
    else if (!base[i] && base[i - 1] == '/') last = i - 1;
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = base + last; *p; p++)
        if (*p == '/' && p[1]) {
            int k = snprintf(out + used, n - used, "../");
            if (k < 0 || (size_t)k >= n - used) return -1;
            used += (size_t)k;
        }
    const char *rest = target + last + (target[last] == '/' ? 1 : 0);
    int k = snprintf(out + used, n - used, "%s", rest);
    return (k < 0 || (size_t)k >= n - used) ? -1 : 0;
}

/* The rows of a dataset of source file f, after verify: UINT64_MAX if missing. */
static uint64_t rows_of(hid_t f, const char *file, const char *path)
{
    avt_h5ctx v = {f, file, NULL, NULL};
    avt_h5col c;
    return avt_h5_shape(&v, path, 0, &c) ? UINT64_MAX : c.rows;
}

typedef struct list_ctx {
    scol *cols;
    size_t n, cap;
    char prefix[200];
} list_ctx;

static int rebase_of(const char *p)
{
    size_t n = strlen(p);
#define ENDS(s) (n >= sizeof(s) - 1 && strcmp(p + n - (sizeof(s) - 1), s) == 0)
    if (ENDS("offset")) return REB_OFFSET;
    if (strcmp(p, "lidar/instance") == 0 || ENDS("boxes2d/box3d_index")) return REB_BOX;
    if (strcmp(p, "boxes3d/frame_index") == 0) return REB_FRAME;
#undef ENDS
    return REB_NONE;
}

/* Collects the chunked (per-row) datasets of the first source: the columns to stitch. */
static herr_t list_cb(hid_t loc, const char *name, const H5O_info_t *info, void *data)
{
    list_ctx *lc = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    if (strncmp(name, "provenance", 10) == 0 || strncmp(name, "meta", 4) == 0 ||
        strncmp(name, "calibration", 11) == 0 || strcmp(name, "dataset_card") == 0)
        return 0;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t dcpl = H5Dget_create_plist(d), t = H5Dget_type(d);
    int chunked = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED;
    int is_str = t >= 0 && H5Tget_class(t) == H5T_STRING;
    if (t >= 0) H5Tclose(t);
    if (dcpl >= 0) H5Pclose(dcpl);
    H5Dclose(d);
    if (!chunked) return 0;
    if (avt_grow((void **)&lc->cols, &lc->cap, lc->n + 1, sizeof *lc->cols)) return -1;
    scol *c = &lc->cols[lc->n++];
    snprintf(c->path, sizeof c->path, "%s", name);
    c->rebase = rebase_of(name);
    c->is_str = is_str;
    return 0;
}

/* The row base a column's values are rebased by, for source k. */
static uint64_t base_for(const scol *c, const uint64_t *frame_base, const uint64_t *box_base,
                         size_t k)
{
    if (c->rebase == REB_BOX) return box_base[k];
    if (c->rebase == REB_FRAME) return frame_base[k];
    return 0;
}

/* Copies column c of every source into a real dataset of the index, rebasing values. Offset
 * arrays (F+1 rows) drop each source's leading 0 after the first and add the column's own
 * running total. */
static int copy_column(hid_t out, const scol *c, src_log *logs, size_t n, const uint64_t *fb,
                       const uint64_t *bb, h5x_zctx *z, const char *file, avt_error *err)
{
    int rc = AVT_OK;
    h5x_col col;
    memset(&col, 0, sizeof col);
    col.dset = -1;
    hid_t f = -1, d = -1;
    void *buf = NULL;
    char **strs = NULL;
    /* FORMAT.md's types: the rebasing below reads offsets as uint64 and rows of another table
     * as 32-bit integers, whatever type a source has */
    const int kind = c->is_str ? K_STR
                   : c->rebase == REB_OFFSET ? K_U64
                   : strcmp(c->path, "lidar/instance") == 0 ? K_I32 : K_U32;
    int big = strncmp(c->path, "lidar/", 6) == 0 || strstr(c->path, "depth/") != NULL;
    if ((rc = h5x_col_create(&col, out, c->path, kind, 1, 0, 0,
                             big ? AVT_POINT_CHUNK_ROWS : AVT_TABLE_CHUNK_ROWS, z, file, err)))
        goto out;
    uint64_t running = 0;
    for (size_t k = 0; k < n; k++) {
        /* offsets, row indices and strings are columns, (N,) */
        f = H5Fopen(logs[k].file, H5F_ACC_RDONLY, H5P_DEFAULT);
        avt_h5ctx src = {f, logs[k].file, err, NULL};
        avt_h5col shape;
        if (f < 0) {
            rc = h5x_fail(err, logs[k].file, NULL, "H5Fopen");
            goto out;
        }
        if ((rc = avt_h5_shape_as(&src, c->path, 0, 1, AVT_H5_ANY, 0, 0, &shape))) goto out;
        d = H5Dopen2(f, c->path, H5P_DEFAULT);
        size_t rows = (size_t)shape.rows, bytes;
        if (d < 0) {
            rc = h5x_fail(err, logs[k].file, c->path, "H5Dopen2");
            goto out;
        }
        if (c->is_str) {
            hid_t st = h5x_str_type();
            strs = calloc(rows ? rows : 1, sizeof *strs);
            if (st < 0 || !strs || (rows && H5Dread(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, strs) < 0)) {
                if (st >= 0) H5Tclose(st);
                rc = h5x_fail(err, logs[k].file, c->path, "H5Dread");
                goto out;
            }
            H5Tclose(st);
            for (size_t i = 0; i < rows && rc == AVT_OK; i++) rc = h5x_col_append_str(&col, strs[i], err);
            for (size_t i = 0; i < rows; i++) H5free_memory(strs[i]);
            free(strs);
            strs = NULL;
            if (rc) goto out;
        } else {
            if (!avt_mul_size(rows, col.row_bytes, &bytes) || !(buf = malloc(bytes ? bytes : 1))) {
                rc = avt_err(err, AVT_NOMEM, "%s: /%s: out of memory", logs[k].file, c->path);
                goto out;
            }
            if (rows && H5Dread(d, col.mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
                rc = h5x_fail(err, logs[k].file, c->path, "H5Dread");
                goto out;
            }
            size_t skip = 0;
            if (c->rebase == REB_OFFSET) {
                uint64_t *o = buf;
                for (size_t i = 0; i < rows; i++) o[i] += running;
                if (rows) running = o[rows - 1];
                skip = k > 0 && rows ? 1 : 0; /* the source's 0 is the previous end */
            } else if (c->rebase != REB_NONE) {
                uint64_t base = base_for(c, fb, bb, k);
                for (size_t i = 0; i < rows; i++) {
                    if (kind == K_I32) {
                        int32_t *v = buf;
                        if (v[i] >= 0) v[i] = (int32_t)(v[i] + (int64_t)base);
                    } else {
                        uint32_t *v = buf;
                        v[i] = (uint32_t)(v[i] + base);
                    }
                }
            }
            if ((rc = h5x_col_append(&col, (unsigned char *)buf + skip * col.row_bytes,
                                     rows - skip, err)))
                goto out;
            free(buf);
            buf = NULL;
        }
        H5Dclose(d), d = -1;
        H5Fclose(f), f = -1;
    }
    rc = h5x_col_flush(&col, err);
out:
    free(buf);
    free(strs);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    h5x_col_close(&col);
    return rc;
}

/* A virtual dataset over column c of every source, row blocks in source order. */
static int virtual_column(hid_t out, const scol *c, const src_log *logs, size_t n,
                          const char *file, avt_error *err)
{
    int rc = AVT_OK;
    hid_t f = -1, d = -1, t = -1, vspace = -1, sspace = -1, dcpl = -1, lcpl = -1, vd = -1;
    hsize_t total = 0;
    avt_h5col first = {0}, sk;
    uint64_t *rows = calloc(n, sizeof *rows);
    if (!rows) return avt_err(err, AVT_NOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        f = H5Fopen(logs[k].file, H5F_ACC_RDONLY, H5P_DEFAULT);
        avt_h5ctx src = {f, logs[k].file, NULL, NULL};
        int ok = f >= 0 && avt_h5_shape(&src, c->path, 0, &sk) == AVT_OK && sk.rank >= 1;
        if (ok && k == 0) {
            first = sk;
            d = H5Dopen2(f, c->path, H5P_DEFAULT);
            t = d >= 0 ? H5Dget_type(d) : -1;
            ok = t >= 0;
        }
        ok = ok && sk.rank == first.rank;
        for (int i = 1; ok && i < sk.rank; i++) ok = sk.dims[i] == first.dims[i];
        if (!ok) {
            rc = avt_err(err, AVT_MISMATCH, "%s: /%s: missing or of another shape than in %s",
                         logs[k].file, c->path, logs[0].file);
            goto out;
        }
        rows[k] = sk.rows;
        total += sk.rows;
        if (d >= 0) H5Dclose(d), d = -1;
        H5Fclose(f), f = -1;
    }
    const int rank = first.rank;
    hsize_t vdims[H5S_MAX_RANK];
    memcpy(vdims, first.dims, sizeof vdims);
    vdims[0] = total;
    vspace = H5Screate_simple(rank, vdims, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (vspace < 0 || dcpl < 0 || lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        rc = h5x_fail(err, file, c->path, "H5Screate_simple");
        goto out;
    }
    hsize_t start = 0;
    for (size_t k = 0; k < n; k++) {
        if (!rows[k]) continue;
        hsize_t off[H5S_MAX_RANK] = {start}, cnt[H5S_MAX_RANK];
        memcpy(cnt, first.dims, sizeof cnt);
        cnt[0] = rows[k];
        sspace = H5Screate_simple(rank, cnt, NULL);
        if (sspace < 0 || H5Sselect_hyperslab(vspace, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
            H5Pset_virtual(dcpl, vspace, logs[k].rel, c->path, sspace) < 0) {
            rc = h5x_fail(err, file, c->path, "H5Pset_virtual");
            goto out;
        }
        H5Sclose(sspace), sspace = -1;
        start += rows[k];
    }
    H5Sselect_all(vspace);
    vd = H5Dcreate2(out, c->path, t, vspace, lcpl, dcpl, H5P_DEFAULT);
    if (vd < 0) {
        rc = h5x_fail(err, file, c->path, "H5Dcreate2(virtual)");
        goto out;
    }
out:
    free(rows);
    if (vd >= 0) H5Dclose(vd);
    if (sspace >= 0) H5Sclose(sspace);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (vspace >= 0) H5Sclose(vspace);
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    return rc;
}

/* Copies source k's calibration and camera intrinsics/extrinsics to /logs/<k>/ of the index
 * (calibration/..., cameras/<name>/{K,distortion,lidar_T_cam} and the camera attributes):
 * logs may be calibrated differently, and a reader finds frame g's with
 * k = searchsorted(logs/frame_offset, g, "right") - 1. */
typedef struct calib_ctx {
    hid_t src, dst;
    const char *file;
    size_t k;
    avt_error *err;
    int rc;
    hid_t lcpl; /* creates intermediate groups */
} calib_ctx;

static herr_t calib_camera_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g, (void)info;
    calib_ctx *cc = data;
    static const char *const fixed[] = {"K", "distortion", "lidar_T_cam"};
    char sp[512], dp[512];
    hid_t sg = -1, dg = -1, st = -1;
    char *str = NULL;
    for (int i = 0; i < 3 && !cc->rc; i++) {
        snprintf(sp, sizeof sp, "cameras/%s/%s", name, fixed[i]);
        snprintf(dp, sizeof dp, "logs/%zu/cameras/%s/%s", cc->k, name, fixed[i]);
        if (H5Lexists(cc->src, sp, H5P_DEFAULT) > 0 &&
            H5Ocopy(cc->src, sp, cc->dst, dp, H5P_DEFAULT, cc->lcpl) < 0)
            cc->rc = h5x_fail(cc->err, cc->file, dp, "H5Ocopy");
    }
    snprintf(sp, sizeof sp, "cameras/%s", name);
    snprintf(dp, sizeof dp, "logs/%zu/cameras/%s", cc->k, name);
    if (!cc->rc) {
        sg = H5Gopen2(cc->src, sp, H5P_DEFAULT);
        dg = H5Gopen2(cc->dst, dp, H5P_DEFAULT);
        st = h5x_str_type();
        if (sg < 0 || dg < 0 || st < 0) cc->rc = h5x_fail(cc->err, cc->file, dp, "H5Gopen2");
    }
    static const char *const nums[] = {"width", "height"}, *const strs[] = {"model", "distortion_model"};
    for (int i = 0; i < 2 && !cc->rc; i++) {
        uint32_t v;
        hid_t a = H5Aexists(sg, nums[i]) > 0 ? H5Aopen(sg, nums[i], H5P_DEFAULT) : -1;
        if (a >= 0 && h5x_attr_read1(a, H5T_NATIVE_UINT32, &v) >= 0)
            cc->rc = h5x_attr_num(dg, nums[i], K_U32, &v, cc->file, cc->err);
        if (a >= 0) H5Aclose(a);
    }
    for (int i = 0; i < 2 && !cc->rc; i++) {
        hid_t a = H5Aexists(sg, strs[i]) > 0 ? H5Aopen(sg, strs[i], H5P_DEFAULT) : -1;
        if (a >= 0 && h5x_attr_read1(a, st, &str) >= 0)
            cc->rc = h5x_attr_str(dg, strs[i], str, cc->file, cc->err);
        if (str) H5free_memory(str);
        str = NULL;
        if (a >= 0) H5Aclose(a);
    }
    if (st >= 0) H5Tclose(st);
    if (dg >= 0) H5Gclose(dg);
    if (sg >= 0) H5Gclose(sg);
    return cc->rc ? -1 : 0;
}

static int copy_calibration(hid_t out, const src_log *s, size_t k, const char *file,
                            avt_error *err)
{
    calib_ctx cc = {-1, out, file, k, err, AVT_OK, -1};
    hid_t g = -1;
    char dp[64];
    cc.src = H5Fopen(s->file, H5F_ACC_RDONLY, H5P_DEFAULT);
    cc.lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (cc.src < 0 || cc.lcpl < 0 || H5Pset_create_intermediate_group(cc.lcpl, 1) < 0) {
        cc.rc = h5x_fail(err, s->file, NULL, "H5Fopen");
        goto out;
    }
    snprintf(dp, sizeof dp, "logs/%zu/calibration", k);
    if (H5Lexists(cc.src, "calibration", H5P_DEFAULT) > 0 &&
        H5Ocopy(cc.src, "calibration", out, dp, H5P_DEFAULT, cc.lcpl) < 0) {
        cc.rc = h5x_fail(err, file, dp, "H5Ocopy");
        goto out;
    }
    if (H5Lexists(cc.src, "cameras", H5P_DEFAULT) > 0) {
        g = H5Gopen2(cc.src, "cameras", H5P_DEFAULT);
        if (g < 0 || (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, calib_camera_cb, &cc) < 0 &&
                      !cc.rc))
            cc.rc = h5x_fail(err, s->file, "/cameras", "H5Literate");
    }
out:
    if (g >= 0) H5Gclose(g);
    if (cc.lcpl >= 0) H5Pclose(cc.lcpl);
    if (cc.src >= 0) H5Fclose(cc.src);
    return cc.rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 if path is an index made by stitch (root attribute kind = "stitched"). */
static int is_stitched(const char *path)
{
    char kind[32];
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int yes = f >= 0 && h5x_attr_get_str(f, ".", "kind", kind, sizeof kind) &&
              strcmp(kind, "stitched") == 0;
    if (f >= 0) H5Fclose(f);
    return yes;
}

/* Splits of the sources: the overrides file (opt->splits_path, else DIR/splits.yaml if it
 * exists) fixes some; avt_export_splits_assign balances the rest by frames. */
static int assign_splits(const char *dir, const avt_stitch_options *opt, src_log *logs, size_t n,
                         ds_overrides *ov, FILE *out, avt_error *err)
{
    char def[PATH_MAX];
    struct stat sb;
    const char *path = opt->splits_path;
    if (!path && !avt_path_join(def, sizeof def, dir, "splits.yaml") && stat(def, &sb) == 0)
        path = def;
    int rc = path ? ds_overrides_load(path, ov, err) : AVT_OK;
    avt_split_log *sl = calloc(n ? n : 1, sizeof *sl);
    if (!rc && !sl) rc = avt_err(err, AVT_NOMEM, "out of memory");
    for (size_t k = 0; !rc && k < n; k++) {
        sl[k].log_id = logs[k].log_id;
        sl[k].frames = logs[k].frames;
    }
    for (size_t i = 0; !rc && i < ov->n; i++) {
        size_t k = 0;
        while (k < n && strcmp(logs[k].log_id, ov->log_id[i]) != 0) k++;
        if (k < n) sl[k].fixed = ov->split[i];
        else fprintf(out, "note: %s: line %zu: log %s is not among the stitched logs, ignored\n",
                     path, ov->line[i], ov->log_id[i]);
    }
    if (!rc) rc = avt_export_splits_assign(sl, n, opt->train, opt->val, err);
    for (size_t k = 0; !rc && k < n; k++) logs[k].ds.split = sl[k].split;
    free(sl);
    return rc;
}

static void split_method(const avt_stitch_options *opt, const ds_overrides *ov, char *s, size_t n)
{
    double test = 1 - opt->train - opt->val;
    snprintf(s, n, "train %.4g, val %.4g, test %.4g of the frames, whole logs, the largest "
             "first to the split furthest below its share; %zu fixed by splits.yaml",
             opt->train, opt->val, test > 0 ? test : 0, ov->n);
}

/* The dataset card: /dataset_card in the index and NAME.card.md beside it (written to
 * *card_partial here, renamed by the caller with the index). */
static int write_card(hid_t o, const char *partial, const char *out_path,
                      const avt_stitch_options *opt, const ds_overrides *ov, const src_log *logs,
                      size_t n, char **card, char **card_path, char **card_partial, avt_error *err)
{
    char method[256], title[PATH_MAX];
    ds_source *src = calloc(n ? n : 1, sizeof *src);
    if (!src) return avt_err(err, AVT_NOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) src[k] = logs[k].ds;
    split_method(opt, ov, method, sizeof method);
    const char *slash = strrchr(out_path, '/');
    snprintf(title, sizeof title, "%s", slash ? slash + 1 : out_path);
    *card = ds_card(title, src, n, method);
    free(src);
    size_t l = strlen(out_path) - 3; /* out_path ends in .h5 */
    *card_path = malloc(l + 9);
    *card_partial = malloc(l + 17);
    if (!*card || !*card_path || !*card_partial) return avt_err(err, AVT_NOMEM, "out of memory");
    snprintf(*card_path, l + 9, "%.*s.card.md", (int)l, out_path);
    snprintf(*card_partial, l + 17, "%s.partial", *card_path);
    int rc = h5x_dset_write(o, "dataset_card", K_STR, 0, NULL, card, partial, err);
    FILE *fh = rc ? NULL : fopen(*card_partial, "w");
    if (!rc && (!fh || fputs(*card, fh) < 0 || fflush(fh) != 0 || fsync(fileno(fh)) != 0))
        rc = avt_err(err, AVT_IO, "%s: cannot write: %s", *card_partial, strerror(errno));
    if (fh && fclose(fh) != 0 && !rc)
        rc = avt_err(err, AVT_IO, "%s: cannot write: %s", *card_partial, strerror(errno));
    return rc;
}

int avt_export_stitch(const char *dir, const char *out_path, const avt_stitch_options *opt,
                      FILE *out, avt_error *err)
{
    int rc = AVT_OK;
    h5x_quiet q; /* ended at `out`: every return below goes there */
    h5x_quiet_begin(&q);
    DIR *dh = NULL;
    char **names = NULL, *partial = NULL;
    size_t n = 0, cap = 0;
    src_log *logs = NULL;
    list_ctx lc, lc_k; /* the first source's columns, another source's */
    memset(&lc, 0, sizeof lc);
    memset(&lc_k, 0, sizeof lc_k);
    uint64_t *fb = NULL, *bb = NULL;
    hid_t f = -1, o = -1, fapl = -1;
    h5x_zctx z;
    memset(&z, 0, sizeof z);
    char out_real[PATH_MAX], out_dir[PATH_MAX], out_base[PATH_MAX];
    char *card = NULL, *card_path = NULL, *card_partial = NULL;
    ds_overrides ov;
    memset(&ov, 0, sizeof ov);
    size_t olen = strlen(out_path);
    if (olen < 4 || strcmp(out_path + olen - 3, ".h5") != 0) {
        rc = avt_err(err, AVT_INVAL, "%s: output name must end in .h5", out_path);
        goto out;
    }
    /* The index file's directory, absolute: sources are named relative to it. */
    const char *slash = strrchr(out_path, '/');
    snprintf(out_base, sizeof out_base, "%s", slash ? slash + 1 : out_path);
    snprintf(out_dir, sizeof out_dir, "%.*s", slash ? (int)(slash - out_path) : 1,
             slash ? out_path : ".");
    if (slash == out_path) snprintf(out_dir, sizeof out_dir, "/");
    if (!realpath(out_dir, out_real)) {
        rc = avt_err(err, AVT_IO, "%s: %s", out_dir, strerror(errno));
        goto out;
    }
    dh = opendir(dir);
    if (!dh) {
        rc = avt_err(err, AVT_NOTFOUND, "%s: cannot open directory: %s", dir, strerror(errno));
        goto out;
    }
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t l = strlen(de->d_name);
        if (l < 4 || strcmp(de->d_name + l - 3, ".h5") != 0) continue;
        char p[PATH_MAX], rp[PATH_MAX], op[2 * PATH_MAX + 2];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        /* never the index itself */
        snprintf(op, sizeof op, "%s/%s", out_real, out_base);
        if (realpath(p, rp) && strcmp(rp, op) == 0) continue;
        if (ds_excluded(de->d_name, opt->exclude, opt->n_exclude)) {
            fprintf(out, "excluded %s\n", p);
            continue;
        }
        if (is_stitched(p)) { /* an index stitched before, maybe to another path */
            fprintf(out, "skipped %s: a stitched index, not a per-log file\n", p);
            continue;
        }
        if (avt_grow((void **)&names, &cap, n + 1, sizeof *names) || !(names[n] = strdup(p))) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (!n) {
        rc = avt_err(err, AVT_NOTFOUND, "%s: no per-log .h5 files to stitch", dir);
        goto out;
    }
    qsort(names, n, sizeof *names, cmp_str);
    logs = calloc(n, sizeof *logs);
    fb = calloc(n + 1, sizeof *fb);
    bb = calloc(n + 1, sizeof *bb);
    if (!logs || !fb || !bb) {
        rc = avt_err(err, AVT_NOMEM, "out of memory");
        goto out;
    }
    /* Every source must be a consistent avtruth file: a VDS over a broken one is broken. */
    FILE *devnull = fopen("/dev/null", "w");
    for (size_t k = 0; k < n; k++) {
        src_log *s = &logs[k];
        s->file = names[k];
        char rp[PATH_MAX], rel[PATH_MAX];
        uint64_t size;
        if (!realpath(s->file, rp) || relpath(out_real, rp, rel, sizeof rel) ||
            !(s->rel = strdup(rel))) {
            rc = avt_err(err, AVT_IO, "%s: cannot name it relative to %s", s->file, out_real);
            break;
        }
        if ((rc = avt_export_verify_structure(s->file, devnull, err)) ||
            (rc = avt_export_sha256_file(s->file, NULL, s->sha256, &size, err)))
            break;
        f = H5Fopen(s->file, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t a = f >= 0 ? H5Aopen(f, "log_id", H5P_DEFAULT) : -1;
        hid_t st = h5x_str_type();
        char *id = NULL;
        if (a >= 0 && st >= 0 && h5x_attr_read1(a, st, &id) >= 0 && id) {
            snprintf(s->log_id, sizeof s->log_id, "%s", id);
            H5free_memory(id);
        }
        if (st >= 0) H5Tclose(st);
        if (a >= 0) H5Aclose(a);
        s->frames = rows_of(f, s->file, "frames/timestamp_ns");
        s->boxes = rows_of(f, s->file, "boxes3d/class_id");
        if ((rc = ds_source_read(f, s->file, &s->ds, err)) ||
            (k > 0 && (rc = ds_compatible(&logs[0].ds, logs[0].file, &s->ds, s->file, err))))
            break;
        s->ds.log_id = s->log_id;
        s->ds.frames = s->frames;
        list_ctx *lk = k == 0 ? &lc : &lc_k;
        lc_k.n = 0;
        if (H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, list_cb, lk) < 0) {
            rc = h5x_fail(err, s->file, NULL, "H5Ovisit");
            break;
        }
        /* Every source has the same columns (cameras, embedded images or not): a column
         * missing from one source cannot be stitched. */
        for (size_t i = 0; k > 0 && !rc && (i < lc.n || i < lc_k.n); i++) {
            const char *pa = i < lc.n ? lc.cols[i].path : NULL;
            const char *pb = i < lc_k.n ? lc_k.cols[i].path : NULL;
            if (pa && pb && strcmp(pa, pb) == 0) continue;
            const char *only = !pb || (pa && strcmp(pa, pb) < 0) ? pa : pb;
            int in_first = only == pa;
            rc = avt_err(err, AVT_MISMATCH,
                         "%s: /%s is in %s but not in %s (logs built with different cameras or "
                         "with and without --embed-images cannot be stitched)",
                         s->file, only, in_first ? logs[0].file : s->file,
                         in_first ? s->file : logs[0].file);
        }
        if (rc) break;
        H5Fclose(f);
        f = -1;
        fb[k + 1] = fb[k] + s->frames;
        bb[k + 1] = bb[k] + s->boxes;
        if (opt->progress) opt->progress(0.8 * (double)(k + 1) / (double)n, k + 1, opt->progress_ctx);
    }
    if (devnull) fclose(devnull);
    if (rc) goto out;

    partial = malloc(olen + 9);
    if (!partial) {
        rc = avt_err(err, AVT_NOMEM, "out of memory");
        goto out;
    }
    memcpy(partial, out_path, olen);
    memcpy(partial + olen, ".partial", 9);
    if ((rc = h5x_zctx_init(&z, H5X_DEFLATE, 1, 0, err))) goto out;
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0 ||
        (o = H5Fcreate(partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        rc = h5x_fail(err, partial, NULL, "H5Fcreate");
        goto out;
    }
    for (size_t i = 0; i < lc.n && !rc; i++) {
        const scol *c = &lc.cols[i];
        rc = c->rebase != REB_NONE || c->is_str
                 ? copy_column(o, c, logs, n, fb, bb, &z, partial, err)
                 : virtual_column(o, c, logs, n, partial, err);
        if (opt->progress) opt->progress(0.8 + 0.2 * (double)(i + 1) / (double)lc.n, n, opt->progress_ctx);
    }
    if (rc) goto out;
    /* Small fixed objects (class names, schema, calibration, camera intrinsics) from the
     * first log; per-log calibration stays in each source (/logs/file). */
    f = H5Fopen(logs[0].file, H5F_ACC_RDONLY, H5P_DEFAULT);
    static const char *const fixed[] = {"meta", "calibration"};
    for (int i = 0; i < 2 && f >= 0; i++)
        if (H5Lexists(f, fixed[i], H5P_DEFAULT) > 0 &&
            H5Ocopy(f, fixed[i], o, fixed[i], H5P_DEFAULT, H5P_DEFAULT) < 0) {
            rc = h5x_fail(err, partial, fixed[i], "H5Ocopy");
            goto out;
        }
    if ((rc = assign_splits(dir, opt, logs, n, &ov, out, err))) goto out;
    {
        const char **ids = calloc(n, sizeof *ids), **rels = calloc(n, sizeof *rels);
        const char **shas = calloc(n, sizeof *shas), **splits = calloc(n, sizeof *splits);
        hsize_t dn = n, dn1 = n + 1;
        if (!ids || !rels || !shas || !splits) rc = avt_err(err, AVT_NOMEM, "out of memory");
        for (size_t k = 0; !rc && k < n; k++) {
            ids[k] = logs[k].log_id;
            rels[k] = logs[k].rel;
            shas[k] = logs[k].sha256;
            splits[k] = logs[k].ds.split;
        }
        uint64_t nf = fb[n];
        char ratios[256];
        split_method(opt, &ov, ratios, sizeof ratios);
        if (!rc && ((rc = h5x_dset_write(o, "logs/log_id", K_STR, 1, &dn, ids, partial, err)) ||
                    (rc = h5x_dset_write(o, "logs/file", K_STR, 1, &dn, rels, partial, err)) ||
                    (rc = h5x_dset_write(o, "logs/sha256", K_STR, 1, &dn, shas, partial, err)) ||
                    (rc = h5x_dset_write(o, "logs/split", K_STR, 1, &dn, splits, partial, err)) ||
                    (rc = h5x_dset_write(o, "logs/frame_offset", K_U64, 1, &dn1, fb, partial, err)) ||
                    (rc = h5x_attr_str(o, "format", "avtruth-gt", partial, err)) ||
                    (rc = h5x_attr_str(o, "format_version", AVT_FORMAT_VERSION, partial, err)) ||
                    (rc = h5x_attr_str(o, "kind", "stitched", partial, err)) ||
                    (rc = h5x_attr_str(o, "log_id", "", partial, err)) ||
                    (rc = h5x_attr_str(o, "split_ratios", ratios, partial, err)) ||
                    (rc = h5x_attr_str(o, "compression", "gzip", partial, err)) ||
                    (rc = h5x_attr_num(o, "num_frames", K_U64, &nf, partial, err)))) {
            /* rc holds the first failure */
        }
        free(ids), free(rels), free(shas), free(splits);
        if (rc) goto out;
    }
    /* Per-log calibration, and each frame's log (frames/log_index, uint32 (F,)). */
    {
        uint32_t *li = malloc(fb[n] ? fb[n] * sizeof *li : 1);
        hsize_t nf = fb[n];
        if (!li) rc = avt_err(err, AVT_NOMEM, "out of memory");
        for (size_t k = 0; !rc && k < n; k++) {
            for (uint64_t i = fb[k]; i < fb[k + 1]; i++) li[i] = (uint32_t)k;
            rc = copy_calibration(o, &logs[k], k, partial, err);
        }
        if (!rc) rc = h5x_dset_write(o, "frames/log_index", K_U32, 1, &nf, li, partial, err);
        free(li);
        if (rc) goto out;
    }
    H5Fclose(f), f = -1;
    if ((rc = write_card(o, partial, out_path, opt, &ov, logs, n, &card, &card_path,
                         &card_partial, err)))
        goto out;
    if (H5Fclose(o) < 0) {
        o = -1;
        rc = h5x_fail(err, partial, NULL, "H5Fclose");
        goto out;
    }
    o = -1;
    if (rename(partial, out_path) != 0 || rename(card_partial, card_path) != 0) {
        rc = avt_err(err, AVT_IO, "%s: cannot rename to %s: %s", partial, out_path, strerror(errno));
        goto out;
    }
    fprintf(out, "stitched %zu logs, %llu frames into %s (dataset card: %s)\n", n,
            (unsigned long long)fb[n], out_path, card_path);
    for (int i = 0; i < 3; i++) {
        static const char *const split_names[] = {"train", "val", "test"};
        uint64_t nl = 0, nf = 0;
        for (size_t k = 0; k < n; k++)
            if (strcmp(logs[k].ds.split, split_names[i]) == 0) nl++, nf += logs[k].frames;
        fprintf(out, "  %-5s %llu logs, %llu frames\n", split_names[i], (unsigned long long)nl,
                (unsigned long long)nf);
    }
out:
    if (o >= 0) H5Fclose(o);
    if (rc && partial) unlink(partial);
    if (rc && card_partial) unlink(card_partial);
    free(card), free(card_path), free(card_partial);
    ds_overrides_free(&ov);
    if (f >= 0) H5Fclose(f);
    if (fapl >= 0) H5Pclose(fapl);
    h5x_zctx_free(&z);
    free(lc.cols);
    free(lc_k.cols);
    for (size_t k = 0; logs && k < n; k++) free(logs[k].rel), ds_source_free(&logs[k].ds);
    free(logs);
    free(fb);
    free(bb);
    for (size_t k = 0; k < n; k++) free(names[k]);
    free(names);
    free(partial);
    if (dh) closedir(dh);
    h5x_quiet_end(&q);
    return rc;
}
