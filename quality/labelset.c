/* avtruth quality: the label sets compared by agree, consensus and eval: a log's labels/, a
 * folder of <t_ns>.json files (docs/drive-log.md), or the /boxes3d of an output file
 * (FORMAT.md, read in quality/h5.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/quality.h"
#include "avtruth/validate.h"
#include "quality_private.h"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Per-class tables are indexed by class id: ids past them are refused. */
static int check_ids(const avt_label_frame *f, const char *path, avt_error *err)
{
    for (size_t b = 0; b < f->n; b++)
        if (f->boxes[b].class_id < 0 || f->boxes[b].class_id >= AVT_QUALITY_MAX_ID)
            return avt_err(err, AVT_UNSUPPORTED, "%s: boxes[%zu]: class id %d, quality handles ids below %d", path, b,
                           f->boxes[b].class_id, AVT_QUALITY_MAX_ID);
    return AVT_OK;
}

int avt_label_set_load(const char *path, const avt_schema *sc, avt_label_set *s, avt_error *err)
{
    memset(s, 0, sizeof *s);
    snprintf(s->source, sizeof s->source, "%s", path);
    if (!is_dir(path)) {
        struct stat st;
        if (stat(path, &st) != 0) return avt_err(err, AVT_NOTFOUND, "%s: no such file or directory", path);
        return quality_h5_load_boxes(path, s, err);
    }
    avt_label_index idx;
    char sub[4096];
    int rc;
    if (snprintf(sub, sizeof sub, "%s/labels", path) >= (int)sizeof sub)
        return avt_err(err, AVT_INVAL, "%s: path too long", path);
    rc = is_dir(sub) ? avt_label_index_open(path, &idx, err) : avt_label_index_open_dir(path, &idx, err);
    if (rc) return rc;
    if (idx.n_bad) {
        rc = avt_err(err, AVT_FORMAT, "%s: not a label file name (expected <t_ns>.json)", idx.bad_names[0]);
        avt_label_index_free(&idx);
        return rc;
    }
    free(idx.bad_names);
    s->t_ns = idx.t_ns, s->paths = idx.paths, s->n = idx.n; /* the index's arrays become ours */
    s->frames = calloc(s->n ? s->n : 1, sizeof *s->frames);
    if (!s->frames) {
        avt_label_set_free(s);
        return avt_err(err, AVT_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!(rc = avt_label_frame_read(s->paths[i], sc, &s->frames[i], err))) rc = check_ids(&s->frames[i], s->paths[i], err);
        if (rc) {
            avt_label_set_free(s);
            return rc;
        }
    }
    return AVT_OK;
}

void avt_label_set_free(avt_label_set *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        if (s->frames) avt_label_frame_free(&s->frames[i]);
        if (s->paths) free(s->paths[i]);
    }
    free(s->frames);
    free(s->paths);
    free(s->t_ns);
    memset(s, 0, sizeof *s);
}

long avt_label_set_find(const avt_label_set *s, int64_t t_ns)
{
    avt_label_index idx = {.t_ns = s->t_ns, .paths = s->paths, .n = s->n};
    return avt_label_index_find(&idx, t_ns, QUALITY_TIME_TOL_NS);
}

int avt_quality_schema_for(const char *path, const char *override, avt_schema *sc, char *origin, size_t n,
                           avt_error *err)
{
    char log[4096], sub[4200];
    int rc;
    if (override) {
        FILE *f = fopen(override, "r");
        rc = f ? avt_schema_load(override, sc, err) : avt_schema_builtin(override, sc, err);
        if (f) fclose(f);
        snprintf(origin, n, "%s%s", f ? "" : "builtin:", override);
        return rc;
    }
    if (!is_dir(path)) {
        char *text = NULL;
        size_t len = 0;
        if ((rc = quality_h5_schema_text(path, &text, &len, err))) return rc;
        if (text && len) {
            rc = avt_schema_parse(text, len, path, sc, err);
            free(text);
            snprintf(origin, n, "%s: /meta/schema", path);
            return rc;
        }
        free(text);
        snprintf(origin, n, "builtin:default (%s has no /meta/schema)", path);
        return avt_schema_default(sc) ? avt_err(err, AVT_NOMEM, "out of memory") : AVT_OK;
    }
    /* a log, or a labels folder inside one (its parent) */
    snprintf(sub, sizeof sub, "%s/labels", path);
    snprintf(log, sizeof log, "%s%s", path, is_dir(sub) ? "" : "/..");
    return avt_schema_for_log(log, NULL, sc, origin, n, err);
}
