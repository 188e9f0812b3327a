/* Velodyne per-unit calibration files: the ROS velodyne driver's YAML and VeloView's db.xml.
 *
 * Formats (facts from the ROS velodyne_pointcloud calibration.cc and VeloView's db.xml reader;
 * neither has a published schema):
 *   YAML: a mapping with `lasers` (a sequence of mappings: laser_id, rot_correction and
 *     vert_correction in radians, dist_correction / dist_correction_x / dist_correction_y,
 *     vert_offset_correction, horiz_offset_correction and focal_distance in metres,
 *     focal_slope, two_pt_correction_available, min_intensity, max_intensity), `num_lasers`
 *     and `distance_resolution` (metres). Block or flow style.
 *   db.xml (boost::serialization archive):
 *     <DB> <distLSB_>0.2</distLSB_> (cm) ...
 *       <minIntensity_><count>64</count><item_version>0</item_version><item>N</item>...
 *       <maxIntensity_> likewise
 *       <points_><count>64</count>... <item><px><id_>0</id_><rotCorrection_> (degrees)
 *         <vertCorrection_> (degrees) <distCorrection_> <distCorrectionX_> <distCorrectionY_>
 *         <vertOffsetCorrection_> <horizOffsetCorrection_> <focalDistance_> (cm)
 *         <focalSlope_></px></item> ...
 *   The XML reader is a small tag scanner (elements, text, comments, <? ?>, <! >) rather than
 *   libxml2: the archive uses no attributes we need, no entities and no namespaces, and the
 *   ingest stage then needs only libyaml besides what it had. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "ingest_private.h"

#define CALIB_MAX_BYTES (8u << 20)

static void calib_reset(avt_vlp_calib *c)
{
    memset(c, 0, sizeof *c);
    for (int l = 0; l < AVT_VLP_MAX_LASERS; l++) c->laser[l].max_intensity = 255;
}

/* Parses a whole string as a finite double. */
static int num(const char *s, size_t n, double *v)
{
    char tmp[64];
    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    if (n == 0 || n >= sizeof tmp) return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    double x = strtod(tmp, &end);
    if (*end || errno || !isfinite(x)) return 0;
    *v = x;
    return 1;
}

/* Checks the lasers read: ids 0..n-1 each once, sane values. */
static int calib_finish(avt_vlp_calib *c, int declared, const char *name, avt_error *err)
{
    int n = 0;
    while (n < AVT_VLP_MAX_LASERS && c->laser[n].present) n++;
    for (int l = n; l < AVT_VLP_MAX_LASERS; l++)
        if (c->laser[l].present)
            return avt_err(err, AVT_FORMAT, "%s: laser ids are not 0..N-1: laser %d missing",
                           name, n);
    if (n == 0) return avt_err(err, AVT_FORMAT, "%s: no lasers", name);
    if (declared > 0 && declared != n)
        return avt_err(err, AVT_FORMAT, "%s: num_lasers %d but %d lasers listed", name, declared,
                       n);
    for (int l = 0; l < n; l++) {
        const avt_vlp_laser_calib *L = &c->laser[l];
        if (fabs(L->vert_rad) > M_PI / 2 || fabs(L->rot_rad) > 2 * M_PI ||
            fabs(L->dist_m) > 10 || fabs(L->vert_offset_m) > 10 || fabs(L->horiz_offset_m) > 10)
            return avt_err(err, AVT_FORMAT,
                           "%s: laser %d: corrections out of range (rot %g rad, vert %g rad, "
                           "dist %g m, offsets %g %g m)",
                           name, l, L->rot_rad, L->vert_rad, L->dist_m, L->vert_offset_m,
                           L->horiz_offset_m);
        if (L->min_intensity < 0 || L->max_intensity > 255 || L->min_intensity > L->max_intensity)
            return avt_err(err, AVT_FORMAT, "%s: laser %d: intensity range %d..%d", name, l,
                           L->min_intensity, L->max_intensity);
    }
    if (c->distance_resolution_m < 0 || c->distance_resolution_m > 1)
        return avt_err(err, AVT_FORMAT, "%s: distance_resolution %g m", name,
                       c->distance_resolution_m);
    c->lasers = n;
    return AVT_OK;
}

/* ---- YAML ---- */

/* A laser mapping's key/value into L (unknown keys are ignored, as the ROS driver does). */
static int yaml_laser_field(avt_vlp_laser_calib *L, int *id, const char *key, const char *val,
                            size_t vlen)
{
    static const char *const KNOWN[] = {
        "laser_id", "rot_correction", "vert_correction", "dist_correction", "dist_correction_x",
        "dist_correction_y", "vert_offset_correction", "horiz_offset_correction",
        "focal_distance", "focal_slope", "min_intensity", "max_intensity",
        "two_pt_correction_available"};
    int known = 0;
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++) known |= strcmp(key, KNOWN[i]) == 0;
    if (!known) return 1;
    double v;
    if (strcmp(key, "two_pt_correction_available") == 0) {
        L->two_pt = vlen && (val[0] == 't' || val[0] == 'T' || val[0] == '1');
        return 1;
    }
    if (!num(val, vlen, &v)) return 0;
    if (strcmp(key, "laser_id") == 0) {
        if (v < 0 || v >= AVT_VLP_MAX_LASERS || v != floor(v)) return 0;
        *id = (int)v;
    } else if (strcmp(key, "rot_correction") == 0) L->rot_rad = v;
    else if (strcmp(key, "vert_correction") == 0) L->vert_rad = v;
    else if (strcmp(key, "dist_correction") == 0) L->dist_m = v;
    else if (strcmp(key, "dist_correction_x") == 0) L->dist_x_m = v;
    else if (strcmp(key, "dist_correction_y") == 0) L->dist_y_m = v;
    else if (strcmp(key, "vert_offset_correction") == 0) L->vert_offset_m = v;
    else if (strcmp(key, "horiz_offset_correction") == 0) L->horiz_offset_m = v;
    else if (strcmp(key, "focal_distance") == 0) L->focal_distance_m = v;
    else if (strcmp(key, "focal_slope") == 0) L->focal_slope = v;
    else if (strcmp(key, "min_intensity") == 0) L->min_intensity = (int)lround(v);
    else if (strcmp(key, "max_intensity") == 0) L->max_intensity = (int)lround(v);
    return 1;
}

static int parse_yaml(const char *text, size_t len, const char *name, avt_vlp_calib *c,
                      avt_error *err)
{
    yaml_parser_t ps;
    yaml_event_t ev;
    int rc = AVT_OK, done = 0, depth = 0, declared = 0;
    int in_lasers = 0;        /* inside the `lasers` sequence */
    char key[64] = "", top_key[64] = "";
    int have_key = 0;
    avt_vlp_laser_calib cur;
    int cur_id = -1, in_laser = 0;

    if (!yaml_parser_initialize(&ps)) return avt_err(err, AVT_NOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&ps, &ev)) {
            rc = avt_err(err, AVT_FORMAT, "%s: line %zu: YAML: %s", name,
                         ps.problem_mark.line + 1, ps.problem ? ps.problem : "syntax error");
            break;
        }
        const size_t line = ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_MAPPING_START_EVENT:
            depth++;
            if (in_lasers && depth == 2) {
                memset(&cur, 0, sizeof cur);
                cur.max_intensity = 255;
                cur_id = -1;
                in_laser = 1;
            } else if (depth == 1) {
                have_key = 0;
            }
            have_key = 0;
            break;
        case YAML_MAPPING_END_EVENT:
            if (in_laser && depth == 2) {
                in_laser = 0;
                if (cur_id < 0) {
                    rc = avt_err(err, AVT_FORMAT, "%s: line %zu: laser without laser_id", name,
                                 line);
                } else if (c->laser[cur_id].present) {
                    rc = avt_err(err, AVT_FORMAT, "%s: line %zu: laser_id %d given twice", name,
                                 line, cur_id);
                } else {
                    cur.present = 1;
                    c->laser[cur_id] = cur;
                }
            }
            depth--;
            have_key = 0;
            break;
        case YAML_SEQUENCE_START_EVENT:
            if (depth == 1 && have_key && strcmp(top_key, "lasers") == 0) in_lasers = 1;
            else if (!in_lasers) depth += 100; /* a sequence we do not read: ignore inside */
            have_key = 0;
            break;
        case YAML_SEQUENCE_END_EVENT:
            if (in_lasers && depth == 1) in_lasers = 0;
            else if (depth >= 100) depth -= 100;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            size_t vl = ev.data.scalar.length;
            if (!have_key) {
                snprintf(key, sizeof key, "%.*s", (int)(vl < 63 ? vl : 63), v);
                if (depth == 1) snprintf(top_key, sizeof top_key, "%s", key);
                have_key = 1;
                break;
            }
            have_key = 0;
            if (in_laser && depth == 2) {
                if (!yaml_laser_field(&cur, &cur_id, key, v, vl))
                    rc = avt_err(err, AVT_FORMAT, "%s: line %zu: %s: bad value \"%.*s\"", name,
                                 line, key, (int)(vl < 40 ? vl : 40), v);
            } else if (depth == 1) {
                double x;
                if (strcmp(key, "num_lasers") == 0) {
                    if (!num(v, vl, &x) || x < 1 || x > AVT_VLP_MAX_LASERS)
                        rc = avt_err(err, AVT_FORMAT, "%s: line %zu: num_lasers \"%.*s\"", name,
                                     line, (int)(vl < 40 ? vl : 40), v);
                    else declared = (int)x;
                } else if (strcmp(key, "distance_resolution") == 0) {
                    if (!num(v, vl, &x))
                        rc = avt_err(err, AVT_FORMAT, "%s: line %zu: distance_resolution \"%.*s\"",
                                     name, line, (int)(vl < 40 ? vl : 40), v);
                    else c->distance_resolution_m = x;
                }
            }
            break;
        }
        default: break;
        }
        yaml_event_delete(&ev);
        if (rc != AVT_OK) break;
    }
    yaml_parser_delete(&ps);
    if (rc != AVT_OK) return rc;
    return calib_finish(c, declared, name, err);
}

/* ---- db.xml ---- */

typedef struct xml_state {
    const char *name;
    int depth;
    char path[8][32];          /* element names from the root down */
    int list;                  /* 0 none, 1 minIntensity_, 2 maxIntensity_, 3 enabled_ */
    int n_enabled;             /* laser slots listed in enabled_ */
    uint8_t enabled[AVT_VLP_MAX_LASERS];
    int list_i;
    avt_vlp_laser_calib px;
    int px_id, in_px;
    avt_vlp_calib *c;
} xml_state;

static int xml_text(xml_state *x, const char *s, size_t n, size_t line, avt_error *err)
{
    if (x->depth <= 0) return AVT_OK;
    const char *el = x->path[(x->depth - 1) & 7];
    double v;
    int is_num = num(s, n, &v);
    if (strcmp(el, "distLSB_") == 0) {
        if (!is_num) goto bad;
        x->c->distance_resolution_m = v * 0.01; /* cm */
    } else if (x->list && strcmp(el, "item") == 0 && x->depth >= 2 &&
               (strcmp(x->path[(x->depth - 2) & 7], "minIntensity_") == 0 ||
                strcmp(x->path[(x->depth - 2) & 7], "maxIntensity_") == 0 ||
                strcmp(x->path[(x->depth - 2) & 7], "enabled_") == 0)) {
        if (!is_num || x->list_i >= AVT_VLP_MAX_LASERS) goto bad;
        if (x->list == 3) {
            x->enabled[x->list_i] = v != 0;
            x->n_enabled = x->list_i + 1;
        } else if (x->list == 1) x->c->laser[x->list_i].min_intensity = (int)lround(v);
        else x->c->laser[x->list_i].max_intensity = (int)lround(v);
        x->list_i++;
    } else if (x->in_px) {
        static const char *const F[] = {"id_", "rotCorrection_", "vertCorrection_",
                                        "distCorrection_", "distCorrectionX_",
                                        "distCorrectionY_", "vertOffsetCorrection_",
                                        "horizOffsetCorrection_", "focalDistance_",
                                        "focalSlope_"};
        int f = -1;
        for (int i = 0; i < (int)(sizeof F / sizeof F[0]); i++)
            if (strcmp(el, F[i]) == 0) f = i;
        if (f < 0) return AVT_OK;
        if (!is_num) goto bad;
        const double deg = M_PI / 180.0, cm = 0.01;
        avt_vlp_laser_calib *L = &x->px;
        switch (f) {
        case 0:
            if (v < 0 || v >= AVT_VLP_MAX_LASERS || v != floor(v)) goto bad;
            x->px_id = (int)v;
            break;
        case 1: L->rot_rad = v * deg; break;
        case 2: L->vert_rad = v * deg; break;
        case 3: L->dist_m = v * cm; break;
        case 4: L->dist_x_m = v * cm; L->two_pt = 1; break;
        case 5: L->dist_y_m = v * cm; break;
        case 6: L->vert_offset_m = v * cm; break;
        case 7: L->horiz_offset_m = v * cm; break;
        case 8: L->focal_distance_m = v * cm; break;
        default: L->focal_slope = v; break;
        }
    }
    return AVT_OK;
bad:
    return avt_err(err, AVT_FORMAT, "%s: line %zu: <%s>: bad value \"%.*s\"", x->name, line, el,
                   (int)(n < 40 ? n : 40), s);
}

static int parse_xml(const char *s, size_t len, const char *name, avt_vlp_calib *c,
                     avt_error *err)
{
    xml_state x;
    size_t i = 0, line = 1;
    memset(&x, 0, sizeof x);
    x.name = name;
    x.c = c;
    x.px_id = -1;
    while (i < len) {
        if (s[i] != '<') {
            size_t j = i;
            while (j < len && s[j] != '<') line += s[j++] == '\n';
            int rc = xml_text(&x, s + i, j - i, line, err);
            if (rc != AVT_OK) return rc;
            i = j;
            continue;
        }
        /* comments, declarations, processing instructions */
        const char *close = NULL;
        if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) close = "-->";
        else if (len - i >= 2 && (s[i + 1] == '?' || s[i + 1] == '!')) close = ">";
        size_t j = i + 1;
        if (close) {
            size_t cl = strlen(close);
            while (j + cl <= len && memcmp(s + j, close, cl) != 0) line += s[j++] == '\n';
            if (j + cl > len)
                return avt_err(err, AVT_FORMAT, "%s: line %zu: unterminated markup", name, line);
            i = j + cl;
            continue;
        }
        while (j < len && s[j] != '>') line += s[j++] == '\n';
        if (j >= len) return avt_err(err, AVT_FORMAT, "%s: line %zu: unterminated tag", name, line);
        const char *t = s + i + 1;
        size_t tn = (size_t)(s + j - t);
        int closing = tn > 0 && t[0] == '/';
        int empty = tn > 0 && t[tn - 1] == '/';
        if (closing) t++, tn--;
        size_t nl = 0;
        while (nl < tn && t[nl] != ' ' && t[nl] != '\t' && t[nl] != '\n' && t[nl] != '\r' &&
               t[nl] != '/')
            nl++;
        char el[32];
        snprintf(el, sizeof el, "%.*s", (int)(nl < 31 ? nl : 31), t);
        i = j + 1;
        if (empty) continue;
        if (!closing) {
            if (x.depth >= 64)
                return avt_err(err, AVT_FORMAT, "%s: line %zu: elements nested too deep", name,
                               line);
            snprintf(x.path[x.depth & 7], sizeof x.path[0], "%s", el);
            x.depth++;
            if (strcmp(el, "minIntensity_") == 0) x.list = 1, x.list_i = 0;
            else if (strcmp(el, "maxIntensity_") == 0) x.list = 2, x.list_i = 0;
            else if (strcmp(el, "enabled_") == 0) x.list = 3, x.list_i = 0;
            else if (strcmp(el, "px") == 0) {
                memset(&x.px, 0, sizeof x.px);
                x.px.max_intensity = 255;
                x.px_id = -1;
                x.in_px = 1;
            }
            continue;
        }
        if (x.depth <= 0 || strcmp(x.path[(x.depth - 1) & 7], el) != 0)
            return avt_err(err, AVT_FORMAT, "%s: line %zu: </%s> does not close <%s>", name,
                           line, el, x.depth > 0 ? x.path[(x.depth - 1) & 7] : "");
        x.depth--;
        if (strcmp(el, "minIntensity_") == 0 || strcmp(el, "maxIntensity_") == 0 ||
            strcmp(el, "enabled_") == 0)
            x.list = 0;
        if (strcmp(el, "px") == 0) {
            x.in_px = 0;
            if (x.px_id < 0)
                return avt_err(err, AVT_FORMAT, "%s: line %zu: <px> without <id_>", name, line);
            avt_vlp_laser_calib *L = &c->laser[x.px_id];
            if (L->present)
                return avt_err(err, AVT_FORMAT, "%s: line %zu: laser id %d given twice", name,
                               line, x.px_id);
            /* keep the intensity limits read from the lists */
            int mn = L->min_intensity, mx = L->max_intensity;
            *L = x.px;
            L->min_intensity = mn;
            L->max_intensity = mx;
            L->present = 1;
        }
    }
    if (x.depth != 0)
        return avt_err(err, AVT_FORMAT, "%s: unexpected end inside <%s>", name,
                       x.path[(x.depth - 1) & 7]);
    /* VeloView keeps 64 slots for 32-laser sensors: the lasers are the enabled ones, which
     * must come first */
    if (x.n_enabled > 0) {
        int n = 0;
        while (n < x.n_enabled && x.enabled[n]) n++;
        for (int l = n; l < x.n_enabled; l++)
            if (x.enabled[l])
                return avt_err(err, AVT_FORMAT, "%s: enabled_ lasers are not 0..N-1 (laser %d "
                               "enabled after a disabled one)", name, l);
        for (int l = n; l < AVT_VLP_MAX_LASERS; l++) c->laser[l].present = 0;
    }
    return calib_finish(c, 0, name, err);
}

int avt_vlp_calib_parse(const char *text, size_t len, const char *name, avt_vlp_calib *c,
                        avt_error *err)
{
    calib_reset(c);
    size_t i = 0;
    if (len >= 3 && (uint8_t)text[0] == 0xEF && (uint8_t)text[1] == 0xBB && (uint8_t)text[2] == 0xBF)
        i = 3; /* UTF-8 byte order mark */
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    if (i < len && text[i] == '<') return parse_xml(text + i, len - i, name, c, err);
    return parse_yaml(text, len, name, c, err);
}

int avt_vlp_calib_load(const char *path, avt_vlp_calib *c, avt_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = avt_read_file(path, CALIB_MAX_BYTES, &text, &len, err);
    if (rc == AVT_OK) rc = avt_vlp_calib_parse(text, len, path, c, err);
    free(text);
    return rc;
}
