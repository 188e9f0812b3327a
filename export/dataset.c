/* avtruth export: the dataset as a whole, for `avtruth stitch`: what each per-log source
 * says about itself (format version, schema, classes, sensors, licence, findings), whether
 * two sources may be stitched, the splits (balanced by frames, overrides from splits.yaml)
 * and the dataset card (Markdown) of the stitched index. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "avtruth/schema.h"
#include "export_private.h"

static const char *const SPLITS[] = {"train", "val", "test"};
enum { N_SPLITS = 3 };

static int split_index(const char *s)
{
    for (int i = 0; s && i < N_SPLITS; i++)
        if (strcmp(s, SPLITS[i]) == 0) return i;
    return -1;
}

/* ---- splits ----------------------------------------------------------------------------- */

static int cmp_split_log(const void *a, const void *b)
{
    const avt_split_log *x = *(avt_split_log *const *)a, *y = *(avt_split_log *const *)b;
    if (x->frames != y->frames) return x->frames > y->frames ? -1 : 1;
    return strcmp(x->log_id, y->log_id);
}

int avt_export_splits_assign(avt_split_log *logs, size_t n, double train, double val,
                             avt_error *err)
{
    if (!(train >= 0 && val >= 0 && train <= 1 && val <= 1 && train + val <= 1 + 1e-12))
        return avt_err(err, AVT_INVAL, "split ratios train %g, val %g: need >= 0 and a sum <= 1",
                       train, val);
    const double ratio[N_SPLITS] = {train, val, 1 - train - val > 1e-12 ? 1 - train - val : 0};
    double total = 0, have[N_SPLITS] = {0};
    size_t count[N_SPLITS] = {0}, free_n = 0;
    avt_split_log **order = calloc(n ? n : 1, sizeof *order);
    if (!order) return avt_err(err, AVT_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        total += (double)logs[i].frames;
        logs[i].split = NULL;
        if (!logs[i].fixed) {
            order[free_n++] = &logs[i];
            continue;
        }
        int s = split_index(logs[i].fixed);
        if (s < 0) {
            free(order);
            return avt_err(err, AVT_INVAL, "log %s: split '%s' is not train, val or test",
                           logs[i].log_id, logs[i].fixed);
        }
        logs[i].split = SPLITS[s];
        have[s] += (double)logs[i].frames;
        count[s]++;
    }
    qsort(order, free_n, sizeof *order, cmp_split_log);
    for (size_t k = 0; k < free_n; k++) {
        int empty = 0;
        for (int s = 0; s < N_SPLITS; s++) empty += ratio[s] > 0 && !count[s];
        int only_empty = free_n - k <= (size_t)empty;
        int best = -1;
        double best_gap = 0;
        for (int s = 0; s < N_SPLITS; s++) {
            if (ratio[s] <= 0 || (only_empty && count[s])) continue;
            double gap = ratio[s] * total - have[s];
            if (best < 0 || gap > best_gap) best = s, best_gap = gap;
        }
        order[k]->split = SPLITS[best];
        have[best] += (double)order[k]->frames;
        count[best]++;
    }
    free(order);
    return AVT_OK;
}

/* splits.yaml: a mapping log_id -> split name. Reads into ds->ov (pairs of owned strings). */
int ds_overrides_load(const char *path, ds_overrides *ov, avt_error *err)
{
    int rc = AVT_OK;
    FILE *fh = fopen(path, "rb");
    yaml_parser_t p;
    yaml_event_t ev;
    int have_parser = 0, depth = 0, done = 0;
    char *key = NULL;
    size_t key_line = 0;
    memset(ov, 0, sizeof *ov);
    if (!fh) return avt_err(err, AVT_NOTFOUND, "%s: cannot open", path);
    if (!yaml_parser_initialize(&p)) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        goto out;
    }
    have_parser = 1;
    yaml_parser_set_input_file(&p, fh);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = avt_err(err, AVT_FORMAT, "%s: line %zu: %s", path, p.problem_mark.line + 1,
                         p.problem ? p.problem : "YAML syntax error");
            goto out;
        }
        size_t line = ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_MAPPING_START_EVENT:
            if (++depth > 1) rc = avt_err(err, AVT_FORMAT, "%s: line %zu: expected `log_id: split`, "
                                          "found a nested mapping", path, line);
            break;
        case YAML_MAPPING_END_EVENT: depth--; break;
        case YAML_SEQUENCE_START_EVENT:
            rc = avt_err(err, AVT_FORMAT, "%s: line %zu: expected `log_id: split`, found a list",
                         path, line);
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            if (depth != 1) {
                if (v[0]) rc = avt_err(err, AVT_FORMAT, "%s: line %zu: expected a mapping "
                                       "`log_id: split`, found '%s'", path, line, v);
                break;
            }
            if (!key) {
                key_line = line;
                if (!(key = strdup(v))) rc = avt_err(err, AVT_NOMEM, "out of memory");
                break;
            }
            if (split_index(v) < 0) {
                rc = avt_err(err, AVT_FORMAT, "%s: line %zu: log %s: split '%s' is not train, val "
                             "or test", path, line, key, v);
                break;
            }
            for (size_t i = 0; i < ov->n && !rc; i++)
                if (strcmp(ov->log_id[i], key) == 0)
                    rc = avt_err(err, AVT_FORMAT, "%s: line %zu: log %s is given twice (line %zu "
                                 "too)", path, key_line, key, ov->line[i]);
            if (rc) break;
            if (avt_grow((void **)&ov->log_id, &ov->cap_id, ov->n + 1, sizeof *ov->log_id) ||
                avt_grow((void **)&ov->split, &ov->cap_split, ov->n + 1, sizeof *ov->split) ||
                avt_grow((void **)&ov->line, &ov->cap_line, ov->n + 1, sizeof *ov->line)) {
                rc = avt_err(err, AVT_NOMEM, "out of memory");
                break;
            }
            ov->log_id[ov->n] = key;
            ov->split[ov->n] = SPLITS[split_index(v)];
            ov->line[ov->n++] = key_line;
            key = NULL;
            break;
        }
        case YAML_ALIAS_EVENT:
            rc = avt_err(err, AVT_FORMAT, "%s: line %zu: aliases are not accepted", path, line);
            break;
        default: break;
        }
        yaml_event_delete(&ev);
        if (rc) goto out;
    }
out:
    free(key);
    if (have_parser) yaml_parser_delete(&p);
    fclose(fh);
    if (rc) ds_overrides_free(ov);
    return rc;
}

void ds_overrides_free(ds_overrides *ov)
{
    for (size_t i = 0; i < ov->n; i++) free(ov->log_id[i]);
    free(ov->log_id);
    free(ov->split);
    free(ov->line);
    memset(ov, 0, sizeof *ov);
}

int ds_excluded(const char *name, const char *const *patterns, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fnmatch(patterns[i], name, 0) == 0) return 1;
    return 0;
}

/* ---- what a source says about itself ---------------------------------------------------- */

/* The text after `prefix` on the first line of card that starts with it, to the line end. */
static char *card_line(const char *card, const char *prefix)
{
    size_t pl = strlen(prefix);
    for (const char *l = card; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, prefix, pl) == 0) return strndup(l + pl, strcspn(l + pl, "\n"));
    return strdup("");
}

/* The list items of the card's "## Validation findings" section, "" when it says none. */
static char *card_findings(const char *card)
{
    const char *s = strstr(card, "## Validation findings\n");
    avt_sbuf b = {0};
    avt_sbuf_printf(&b, "%s", "");
    for (const char *l = s ? strchr(s, '\n') + 1 : NULL; l && *l && strncmp(l, "## ", 3) != 0;
         l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        size_t len = strcspn(l, "\n");
        if (strncmp(l, "- ", 2) == 0 && strncmp(l, "- None reported", 15) != 0)
            avt_sbuf_printf(&b, "%.*s\n", (int)len, l);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static herr_t camera_name_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g, (void)info;
    avt_sbuf *b = data;
    avt_sbuf_printf(b, "%s%s", b->p && b->p[0] ? ", " : "", name);
    return 0;
}

int ds_source_read(hid_t f, const char *file, ds_source *d, avt_error *err)
{
    int rc = AVT_OK;
    char **strs = NULL;
    uint64_t ns = 0;
    avt_h5col cls = {0};
    memset(d, 0, sizeof *d);
    h5x_attr_get_str(f, ".", "format_version", d->format_version, sizeof d->format_version);
    /* the annotation schema (empty or absent: the built-in classes) and the class names */
    if (H5Lexists(f, "meta", H5P_DEFAULT) > 0 && H5Lexists(f, "meta/schema", H5P_DEFAULT) > 0) {
        if ((rc = h5x_strs_read(f, "meta/schema", &strs, &ns, file, err))) goto out;
        d->schema = strdup(ns && strs[0] ? strs[0] : "");
        h5x_strs_free(strs, ns), strs = NULL;
    } else {
        d->schema = strdup("");
    }
    if ((rc = h5x_strs_read(f, "meta/class_names", &d->class_names, &d->n_classes, file, err)))
        goto out;
    d->hist = calloc(d->n_classes + 1, sizeof *d->hist);
    if (!d->schema || !d->hist) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", file);
        goto out;
    }
    avt_h5ctx v = {f, file, err, NULL};
    if ((rc = avt_h5_read_as(&v, "boxes3d/class_id", H5T_NATIVE_UINT16, 0, 1, AVT_H5_ANY, 0, 0, &cls))) goto out;
    const uint16_t *id = cls.data;
    for (uint64_t i = 0; i < cls.rows; i++) d->hist[id[i] < d->n_classes ? id[i] : d->n_classes]++;
    d->boxes = cls.rows;
    /* sensors, licence and findings as the per-log card states them */
    if ((rc = h5x_strs_read(f, "dataset_card", &strs, &ns, file, err))) goto out;
    const char *card = ns && strs[0] ? strs[0] : "";
    d->lidar = card_line(card, "- LiDAR: ");
    d->licence = card_line(card, "Licence: ");
    d->findings = card_findings(card);
    avt_sbuf cams = {0};
    avt_sbuf_printf(&cams, "%s", "");
    hid_t g = H5Lexists(f, "cameras", H5P_DEFAULT) > 0 ? H5Gopen2(f, "cameras", H5P_DEFAULT) : -1;
    if (g >= 0) H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, camera_name_cb, &cams), H5Gclose(g);
    d->cameras = cams.p;
    if (!d->lidar || !d->licence || !d->findings || !d->cameras || cams.oom)
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", file);
out:
    h5x_strs_free(strs, ns);
    avt_h5col_free(&cls);
    return rc;
}

void ds_source_free(ds_source *d)
{
    free(d->schema);
    h5x_strs_free(d->class_names, d->n_classes);
    free(d->hist);
    free(d->lidar);
    free(d->licence);
    free(d->findings);
    free(d->cameras);
    memset(d, 0, sizeof *d);
}

/* The first line where a and b differ, for a message ("line 3: 'x' vs 'y'"). */
static void first_difference(const char *a, const char *b, char *out, size_t n)
{
    size_t line = 1, i = 0, start = 0;
    for (; a[i] && a[i] == b[i]; i++)
        if (a[i] == '\n') line++, start = i + 1;
    size_t la = strcspn(a + start, "\n"), lb = strcspn(b + start, "\n");
    snprintf(out, n, "line %zu: '%.*s' vs '%.*s'", line, (int)(la < 80 ? la : 80), a + start,
             (int)(lb < 80 ? lb : 80), b + start);
}

/* A schema text's name for messages: 'name', or (none recorded) / (unreadable). */
static void schema_name(const char *text, char *out, size_t n)
{
    avt_schema sc;
    avt_error e;
    memset(&sc, 0, sizeof sc);
    if (!text[0]) snprintf(out, n, "(none recorded)");
    else if (avt_schema_parse(text, strlen(text), "/meta/schema", &sc, &e) == AVT_OK) snprintf(out, n, "'%s'", sc.name);
    else snprintf(out, n, "(unreadable)");
    avt_schema_free(&sc);
}

int ds_compatible(const ds_source *a, const char *fa, const ds_source *b, const char *fb,
                  avt_error *err)
{
    if (strcmp(a->format_version, b->format_version) != 0)
        return avt_err(err, AVT_MISMATCH, "%s was built with format version %s, %s with %s: "
                       "rebuild the logs with one avtruth version before stitching",
                       fb, b->format_version[0] ? b->format_version : "(none)", fa,
                       a->format_version[0] ? a->format_version : "(none)");
    if (strcmp(a->schema, b->schema) != 0) {
        char diff[256], na[96], nb[96];
        first_difference(b->schema, a->schema, diff, sizeof diff);
        schema_name(a->schema, na, sizeof na);
        schema_name(b->schema, nb, sizeof nb);
        return avt_err(err, AVT_MISMATCH, "%s and %s were built with different annotation "
                       "schemas (%s and %s; /meta/schema %s): class ids would not mean the same, "
                       "rebuild them with one schema (build --schema)",
                       fb, fa, nb, na, diff);
    }
    for (uint64_t i = 0; i < a->n_classes || i < b->n_classes; i++) {
        const char *x = i < a->n_classes && a->class_names[i] ? a->class_names[i] : NULL;
        const char *y = i < b->n_classes && b->class_names[i] ? b->class_names[i] : NULL;
        if (x && y && strcmp(x, y) == 0) continue;
        return avt_err(err, AVT_MISMATCH, "%s and %s have different classes: /meta/class_names "
                       "row %llu is '%s' in %s, '%s' in %s", fb, fa, (unsigned long long)i,
                       y ? y : "(none)", fb, x ? x : "(none)", fa);
    }
    return AVT_OK;
}

/* ---- the dataset card ------------------------------------------------------------------- */

/* "a (2 logs), b (1 log)": the distinct values of one field over the logs of split s, in
 * the order first seen. */
static void distinct(avt_sbuf *b, const ds_source *src, size_t n, const char *split,
                     char *(*field)(const ds_source *))
{
    int any = 0;
    for (size_t k = 0; k < n; k++) {
        if (strcmp(src[k].split, split) != 0) continue;
        const char *v = field(&src[k]);
        size_t seen = 0, count = 0;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(src[j].split, split) != 0 || strcmp(field(&src[j]), v) != 0) continue;
            seen += j < k;
            count++;
        }
        if (seen) continue;
        avt_sbuf_printf(b, "%s%s (%zu log%s)", any ? ", " : "", v[0] ? v : "none", count,
                        count == 1 ? "" : "s");
        any = 1;
    }
}

static char *f_lidar(const ds_source *d) { return d->lidar; }
static char *f_cameras(const ds_source *d) { return d->cameras; }
static char *f_licence(const ds_source *d) { return d->licence; }

static double share(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

char *ds_card(const char *title, const ds_source *src, size_t n, const char *method)
{
    avt_sbuf b = {0};
    uint64_t frames = 0, boxes = 0;
    for (size_t k = 0; k < n; k++) frames += src[k].frames, boxes += src[k].boxes;
    avt_sbuf_printf(&b, "# Dataset card: %s\n\n", title);
    avt_sbuf_printf(&b, "Stitched index over %zu per-log files (avtruth-gt format %s): %llu frames, "
                    "%llu 3D boxes. Splits: %s.\n\n", n, n ? src[0].format_version : AVT_FORMAT_VERSION,
                    (unsigned long long)frames, (unsigned long long)boxes, method);
    avt_sbuf_printf(&b, "| split | logs | frames | share of frames | 3D boxes | validation findings |\n"
                    "|---|---|---|---|---|---|\n");
    for (int s = 0; s < N_SPLITS; s++) {
        uint64_t nl = 0, nf = 0, nb = 0, nv = 0;
        for (size_t k = 0; k < n; k++) {
            if (strcmp(src[k].split, SPLITS[s]) != 0) continue;
            nl++, nf += src[k].frames, nb += src[k].boxes;
            for (const char *p = src[k].findings; (p = strstr(p, "- ")) != NULL; p += 2)
                nv += p == src[k].findings || p[-1] == '\n';
        }
        avt_sbuf_printf(&b, "| %s | %llu | %llu | %.1f%% | %llu | %llu |\n", SPLITS[s],
                        (unsigned long long)nl, (unsigned long long)nf, share(nf, frames),
                        (unsigned long long)nb, (unsigned long long)nv);
    }
    avt_sbuf_printf(&b, "\n");
    for (int s = 0; s < N_SPLITS; s++) {
        uint64_t nb = 0, nl = 0;
        for (size_t k = 0; k < n; k++)
            if (strcmp(src[k].split, SPLITS[s]) == 0) nl++, nb += src[k].boxes;
        avt_sbuf_printf(&b, "## Split %s\n\n", SPLITS[s]);
        if (!nl) {
            avt_sbuf_printf(&b, "No logs.\n\n");
            continue;
        }
        avt_sbuf_printf(&b, "- Logs: ");
        for (size_t k = 0, i = 0; k < n; k++)
            if (strcmp(src[k].split, SPLITS[s]) == 0)
                avt_sbuf_printf(&b, "%s%s (%llu frames)", i++ ? ", " : "", src[k].log_id,
                                (unsigned long long)src[k].frames);
        avt_sbuf_printf(&b, "\n- LiDAR: ");
        distinct(&b, src, n, SPLITS[s], f_lidar);
        avt_sbuf_printf(&b, "\n- Cameras: ");
        distinct(&b, src, n, SPLITS[s], f_cameras);
        avt_sbuf_printf(&b, "\n- Licences: ");
        distinct(&b, src, n, SPLITS[s], f_licence);
        avt_sbuf_printf(&b, "\n\n### Class histogram (3D boxes)\n\n| class_id | class | boxes | share |\n"
                        "|---|---|---|---|\n");
        for (uint64_t c = 0; n && c <= src[0].n_classes; c++) {
            uint64_t h = 0;
            for (size_t k = 0; k < n; k++)
                if (strcmp(src[k].split, SPLITS[s]) == 0) h += src[k].hist[c];
            if (c == src[0].n_classes && !h) break; /* ids beyond the class names: none */
            avt_sbuf_printf(&b, "| %llu | %s | %llu | %.1f%% |\n", (unsigned long long)c,
                            c < src[0].n_classes ? src[0].class_names[c] : "(unknown id)",
                            (unsigned long long)h, share(h, nb));
        }
        avt_sbuf_printf(&b, "\n### Validation findings\n\n");
        int any = 0;
        for (size_t k = 0; k < n; k++) {
            if (strcmp(src[k].split, SPLITS[s]) != 0) continue;
            for (const char *l = src[k].findings; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
                avt_sbuf_printf(&b, "- %s: %.*s\n", src[k].log_id, (int)strcspn(l + 2, "\n"), l + 2);
                any = 1;
            }
        }
        avt_sbuf_printf(&b, "%s\n", any ? "" : "- None reported by the readers.\n");
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
