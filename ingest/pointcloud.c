/* avtruth point-cloud files (include/avtruth/pointcloud.h).
 *
 * KITTI velodyne .bin (devkit_object readme): n records of 4 little-endian float32
 *   +--------+--------+--------+-------------+
 *   | x (m)  | y (m)  | z (m)  | reflectance |   16 bytes per point
 *   +--------+--------+--------+-------------+
 * nuScenes .pcd.bin (nuscenes-devkit LidarPointCloud.from_file): 5 float32 x y z intensity ring.
 * PCD v0.7 (Point Cloud Library, "The PCD (Point Cloud Data) file format"): an ASCII header
 *   VERSION, FIELDS, SIZE, TYPE, COUNT, WIDTH, HEIGHT, VIEWPOINT, POINTS, DATA ascii|binary
 * then the points, one per line (ascii) or packed records in field order (binary, little-endian).
 * Fields x, y, z are required and intensity is taken when present, each of TYPE F SIZE 4|8 or
 * TYPE U|I SIZE 1|2|4, COUNT 1; other fields are skipped.
 * Every format: a point whose x, y or z is NaN (ascii "nan", PCL's mark for "no return" in
 * organized clouds) is dropped and counted in `dropped`; a NaN intensity is kept (= unknown);
 * infinity or a value beyond float32 is an error naming the file, line/point and field. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/pointcloud.h"

void avt_pointcloud_free(avt_pointcloud *pc)
{
    if (!pc) return;
    free(pc->xyz);
    free(pc->intensity);
    memset(pc, 0, sizeof *pc);
}

static int alloc_cloud(avt_pointcloud *pc, size_t n, const char *name, avt_error *err)
{
    size_t b3, b1;
    if (n > AVT_POINTCLOUD_MAX_POINTS || !avt_mul_size(n, 3 * sizeof(float), &b3) || !avt_mul_size(n, sizeof(float), &b1))
        return avt_err(err, AVT_FORMAT, "%s: %zu points, at most %u supported", name, n, AVT_POINTCLOUD_MAX_POINTS);
    pc->xyz = malloc(b3 ? b3 : 1);
    pc->intensity = malloc(b1 ? b1 : 1);
    pc->n = 0;
    pc->dropped = 0;
    if (!pc->xyz || !pc->intensity) {
        avt_pointcloud_free(pc);
        return avt_err(err, AVT_NOMEM, "%s: out of memory for %zu points", name, n);
    }
    return AVT_OK;
}

static const char *const value_name[4] = {"x", "y", "z", "intensity"};

/* Converts one value (k: 0-2 x y z, 3 intensity) to float32. NaN is a missing value and
 * passes; infinity and magnitudes beyond float32 are errors (0). */
static int to_f32(double v, float *out)
{
    if (!isnan(v) && !(fabs(v) <= FLT_MAX)) return 0;
    *out = (float)v;
    return 1;
}

/* Appends a point, or counts it as dropped when x, y or z is NaN: organized clouds (PCL,
 * ROS) mark "no return" that way, and such a point has no position (PCL's
 * removeNaNFromPointCloud drops it too). */
static void add_point(avt_pointcloud *pc, const float v[4])
{
    if (isnan(v[0]) || isnan(v[1]) || isnan(v[2])) {
        pc->dropped++;
        return;
    }
    memcpy(pc->xyz + 3 * pc->n, v, 3 * sizeof(float));
    pc->intensity[pc->n++] = v[3];
}

static float get_f32(avt_cursor *c)
{
    uint32_t u = avt_get_le32(c);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double get_f64(avt_cursor *c)
{
    uint64_t u = avt_get_le64(c);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static int read_floats(const uint8_t *p, size_t len, size_t per, const char *name, avt_pointcloud *pc, avt_error *err)
{
    size_t rec = per * 4;
    if (len % rec)
        return avt_err(err, AVT_FORMAT, "%s: %zu bytes is not a multiple of %zu (%zu float32 per point)", name, len, rec,
                       per);
    int rc = alloc_cloud(pc, len / rec, name, err);
    if (rc) return rc;
    avt_cursor c = avt_cursor_make(p, len);
    for (size_t i = 0; i < len / rec; i++) {
        float v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = get_f32(&c);
            if (isinf(v[k])) {
                avt_pointcloud_free(pc);
                return avt_err(err, AVT_FORMAT, "%s: point %zu: %s: not finite: %g", name, i, value_name[k], v[k]);
            }
        }
        add_point(pc, v);
        avt_cursor_skip(&c, rec - 16);
    }
    return AVT_OK;
}

/* ---- PCD ---- */

#define PCD_MAX_FIELDS 32
typedef struct pcd_header {
    int nf;
    char name[PCD_MAX_FIELDS][32];
    int size[PCD_MAX_FIELDS], count[PCD_MAX_FIELDS];
    char type[PCD_MAX_FIELDS];
    int64_t points;
    int binary;
} pcd_header;

static int field(const pcd_header *h, const char *n)
{
    for (int i = 0; i < h->nf; i++)
        if (!strcmp(h->name[i], n)) return i;
    return -1;
}

/* The field types read: F 4|8, U 1|2|4, I 1|2|4 (PCD v0.7 TYPE and SIZE). */
static int pcd_type_ok(char type, int size)
{
    if (type == 'F') return size == 4 || size == 8;
    return (type == 'U' || type == 'I') && (size == 1 || size == 2 || size == 4);
}

/* One binary value, little-endian, of a type accepted by pcd_type_ok. */
static double pcd_get(const uint8_t *p, char type, int size)
{
    avt_cursor c = avt_cursor_make(p, (size_t)size);
    if (type == 'F') return size == 4 ? get_f32(&c) : get_f64(&c);
    uint32_t u = size == 1 ? avt_get_u8(&c) : size == 2 ? avt_get_le16(&c) : avt_get_le32(&c);
    double sign = (double)((uint32_t)1 << (8 * size - 1));
    if (type == 'I' && u >= sign) return (double)u - 2 * sign; /* two's complement */
    return u;
}

/* The range of an integer field: U and I of SIZE 1, 2 or 4 bytes. */
static void pcd_int_range(char type, int size, int64_t *lo, int64_t *hi)
{
    int64_t half = (int64_t)1 << (8 * size - 1);
    *lo = type == 'I' ? -half : 0;
    *hi = type == 'I' ? half - 1 : 2 * half - 1;
}

/* One ascii value: a number or nan for F, an integer in the type's range for U and I. */
static int pcd_parse(const char *t, char type, int size, double *v)
{
    if (type == 'F') {
        if (avt_parse_double(t, v)) return 1;
        char *end = NULL;
        double d = strtod(t, &end);
        if (end == t || *end || !isnan(d)) return 0;
        *v = NAN;
        return 1;
    }
    int64_t i, lo, hi;
    pcd_int_range(type, size, &lo, &hi);
    if (!avt_parse_int64(t, &i) || i < lo || i > hi) return 0;
    *v = (double)i;
    return 1;
}

static int read_pcd(const char *text, size_t len, const char *name, avt_pointcloud *pc, avt_error *err)
{
    pcd_header h;
    memset(&h, 0, sizeof h);
    h.points = -1;
    size_t pos = 0;
    unsigned line = 0;
    int have_data = 0;
    while (pos < len && !have_data) {
        const char *s = text + pos, *eol = memchr(s, '\n', len - pos);
        size_t ll = eol ? (size_t)(eol - s) : len - pos;
        pos += ll + (eol ? 1 : 0);
        line++;
        char buf[1024], *tok[PCD_MAX_FIELDS + 1], *save = NULL;
        if (ll >= sizeof buf) return avt_err(err, AVT_FORMAT, "%s: header line %u too long", name, line);
        memcpy(buf, s, ll);
        buf[ll] = 0;
        if (buf[0] == '#') continue;
        int nt = 0;
        for (char *t = strtok_r(buf, " \t\r", &save); t && nt <= PCD_MAX_FIELDS; t = strtok_r(NULL, " \t\r", &save))
            tok[nt++] = t;
        if (!nt) continue;
        if (nt > PCD_MAX_FIELDS) return avt_err(err, AVT_FORMAT, "%s: line %u: more than %d fields", name, line, PCD_MAX_FIELDS - 1);
        int nv = nt - 1;
        if (!strcmp(tok[0], "FIELDS")) {
            h.nf = nv;
            for (int i = 0; i < nv; i++) {
                if (strlen(tok[i + 1]) >= sizeof h.name[0]) return avt_err(err, AVT_FORMAT, "%s: line %u: field name too long", name, line);
                memcpy(h.name[i], tok[i + 1], strlen(tok[i + 1]) + 1);
                h.count[i] = 1;
            }
        } else if (!strcmp(tok[0], "SIZE") || !strcmp(tok[0], "COUNT")) {
            if (nv != h.nf) return avt_err(err, AVT_FORMAT, "%s: line %u: %s has %d values for %d fields", name, line, tok[0], nv, h.nf);
            for (int i = 0; i < nv; i++) {
                int64_t v;
                if (!avt_parse_int64(tok[i + 1], &v) || v < 1 || v > 64)
                    return avt_err(err, AVT_FORMAT, "%s: line %u: %s: bad value '%s'", name, line, tok[0], tok[i + 1]);
                (tok[0][0] == 'S' ? h.size : h.count)[i] = (int)v;
            }
        } else if (!strcmp(tok[0], "TYPE")) {
            if (nv != h.nf) return avt_err(err, AVT_FORMAT, "%s: line %u: TYPE has %d values for %d fields", name, line, nv, h.nf);
            for (int i = 0; i < nv; i++) {
                if (tok[i + 1][1]) return avt_err(err, AVT_FORMAT, "%s: line %u: TYPE: bad value '%s'", name, line, tok[i + 1]);
                h.type[i] = tok[i + 1][0];
            }
        } else if (!strcmp(tok[0], "POINTS")) {
            if (nv != 1 || !avt_parse_int64(tok[1], &h.points) || h.points < 0 || h.points > AVT_POINTCLOUD_MAX_POINTS)
                return avt_err(err, AVT_FORMAT, "%s: line %u: POINTS: bad count", name, line);
        } else if (!strcmp(tok[0], "DATA")) {
            if (nv != 1) return avt_err(err, AVT_FORMAT, "%s: line %u: DATA needs one value", name, line);
            if (!strcmp(tok[1], "ascii")) h.binary = 0;
            else if (!strcmp(tok[1], "binary")) h.binary = 1;
            else return avt_err(err, AVT_UNSUPPORTED, "%s: line %u: DATA %s not supported (ascii or binary)", name, line, tok[1]);
            have_data = 1;
        }
    }
    int fx = field(&h, "x"), fy = field(&h, "y"), fz = field(&h, "z"), fi = field(&h, "intensity");
    if (!have_data || h.points < 0 || fx < 0 || fy < 0 || fz < 0)
        return avt_err(err, AVT_FORMAT, "%s: PCD header needs FIELDS with x y z, POINTS and DATA", name);
    int fidx[4] = {fx, fy, fz, fi};
    for (int k = 0; k < 4; k++) {
        int f = fidx[k];
        if (f < 0) continue;
        if (!pcd_type_ok(h.type[f], h.size[f]) || h.count[f] != 1)
            return avt_err(err, AVT_UNSUPPORTED, "%s: field %s: type %c size %d count %d, expected F 4|8, U 1|2|4 or I 1|2|4, count 1",
                           name, h.name[f], h.type[f] ? h.type[f] : '?', h.size[f], h.count[f]);
    }
    /* check that the data can hold the declared points before allocating for them */
    size_t off[PCD_MAX_FIELDS], rec = 0, need;
    int expect = 0;
    for (int i = 0; i < h.nf; i++) {
        off[i] = rec;
        rec += (size_t)h.size[i] * (size_t)h.count[i];
        expect += h.count[i];
    }
    if (h.binary ? (!avt_mul_size(rec, (size_t)h.points, &need) || need > len - pos)
                 : (size_t)h.points > (len - pos + 1) / 2) /* an ascii point takes at least 2 bytes */
        return avt_err(err, AVT_TRUNCATED, "%s: the data (%zu bytes) cannot hold the %lld points declared", name,
                       len - pos, (long long)h.points);
    int rc = alloc_cloud(pc, (size_t)h.points, name, err);
    if (rc) return rc;
    if (h.binary) {
        for (size_t i = 0; i < (size_t)h.points; i++) {
            float v[4] = {NAN, NAN, NAN, NAN};
            for (int k = 0; k < 4; k++) {
                int f = fidx[k];
                if (f < 0) continue;
                double d = pcd_get((const uint8_t *)text + pos + i * rec + off[f], h.type[f], h.size[f]);
                if (!to_f32(d, &v[k])) {
                    avt_pointcloud_free(pc);
                    return avt_err(err, AVT_FORMAT, "%s: point %zu: %s: not a finite float32: %g", name, i, h.name[f], d);
                }
            }
            add_point(pc, v);
        }
        return AVT_OK;
    }
    /* ascii: one point per line, values in field order; values of fields not read (any COUNT)
     * are skipped */
    for (size_t i = 0; i < (size_t)h.points; i++) {
        line++;
        if (pos >= len) {
            avt_pointcloud_free(pc);
            return avt_err(err, AVT_TRUNCATED, "%s: %zu of %lld points present", name, i, (long long)h.points);
        }
        const char *s = text + pos, *eol = memchr(s, '\n', len - pos);
        size_t ll = eol ? (size_t)(eol - s) : len - pos;
        pos += ll + (eol ? 1 : 0);
        char buf[1024], *save = NULL;
        if (ll >= sizeof buf) {
            avt_pointcloud_free(pc);
            return avt_err(err, AVT_FORMAT, "%s: line %u: point %zu: line too long", name, line, i);
        }
        memcpy(buf, s, ll);
        buf[ll] = 0;
        float v[4] = {NAN, NAN, NAN, NAN};
        int col = 0, f = 0, fcount = 0;
        for (char *t = strtok_r(buf, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save), col++) {
            while (f < h.nf && fcount >= h.count[f]) f++, fcount = 0;
            if (f >= h.nf) continue; /* too many values: counted, reported below */
            fcount++;
            int k = f == fx ? 0 : f == fy ? 1 : f == fz ? 2 : f == fi ? 3 : -1;
            if (k < 0) continue;
            double d;
            if (pcd_parse(t, h.type[f], h.size[f], &d) && to_f32(d, &v[k])) continue;
            avt_pointcloud_free(pc);
            if (h.type[f] == 'F')
                return avt_err(err, AVT_FORMAT, "%s: line %u: point %zu: %s: not a finite float32 or nan: '%s'", name,
                               line, i, h.name[f], t);
            int64_t lo, hi;
            pcd_int_range(h.type[f], h.size[f], &lo, &hi);
            return avt_err(err, AVT_FORMAT, "%s: line %u: point %zu: %s: not an integer in [%lld, %lld] (TYPE %c SIZE %d): '%s'",
                           name, line, i, h.name[f], (long long)lo, (long long)hi, h.type[f], h.size[f], t);
        }
        if (col != expect) {
            avt_pointcloud_free(pc);
            return avt_err(err, AVT_FORMAT, "%s: line %u: point %zu: %d values, expected %d", name, line, i, col, expect);
        }
        add_point(pc, v);
    }
    return AVT_OK;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int avt_pointcloud_read_mem(const void *data, size_t len, const char *name, int format, avt_pointcloud *pc,
                            avt_error *err)
{
    memset(pc, 0, sizeof *pc);
    const char *t = data;
    if (format == AVT_PC_AUTO) {
        if ((len >= 6 && !memcmp(t, "# .PCD", 6)) || (len >= 7 && !memcmp(t, "VERSION", 7))) format = AVT_PC_PCD;
        else if (ends_with(name, ".pcd.bin")) format = AVT_PC_NUSCENES_BIN;
        else if (ends_with(name, ".pcd")) format = AVT_PC_PCD;
        else format = AVT_PC_KITTI_BIN;
    }
    switch (format) {
    case AVT_PC_KITTI_BIN: return read_floats(data, len, 4, name, pc, err);
    case AVT_PC_NUSCENES_BIN: return read_floats(data, len, 5, name, pc, err);
    case AVT_PC_PCD: return read_pcd(data, len, name, pc, err);
    default: return avt_err(err, AVT_INVAL, "%s: unknown point-cloud format %d", name, format);
    }
}

int avt_pointcloud_read(const char *path, int format, avt_pointcloud *pc, avt_error *err)
{
    char *data = NULL;
    size_t len = 0;
    memset(pc, 0, sizeof *pc);
    int rc = avt_read_file(path, (size_t)AVT_POINTCLOUD_MAX_POINTS * 20, &data, &len, err);
    if (rc) return rc;
    rc = avt_pointcloud_read_mem(data, len, path, format, pc, err);
    free(data);
    return rc;
}

int avt_pointcloud_write_kitti(const char *path, const avt_pointcloud *pc, avt_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create", path);
    for (size_t i = 0; i < pc->n; i++) {
        float r[4] = {pc->xyz[3 * i], pc->xyz[3 * i + 1], pc->xyz[3 * i + 2], isnan(pc->intensity[i]) ? 0 : pc->intensity[i]};
        uint8_t b[16];
        for (int k = 0; k < 4; k++) {
            uint32_t u;
            memcpy(&u, &r[k], 4);
            b[4 * k] = (uint8_t)u, b[4 * k + 1] = (uint8_t)(u >> 8), b[4 * k + 2] = (uint8_t)(u >> 16), b[4 * k + 3] = (uint8_t)(u >> 24);
        }
        fwrite(b, 1, 16, f);
    }
    if (ferror(f) | (fclose(f) != 0)) return avt_err(err, AVT_IO, "%s: write failed", path);
    return AVT_OK;
}
