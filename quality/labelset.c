/* avtruth quality: the label sets compared by agree, consensus and eval: a log's labels/, a
 * folder of <t_ns>.json files (docs/drive-log.md), or the /boxes3d of an output file
 * (FORMAT.md, read in quality/h5.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/quality.h"
#include "quality_private.h"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int avt_label_set_load(const char *path, avt_label_set *s, avt_error *err)
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
    s->t_ns = idx.t_ns, s->paths = idx.paths, s->n = idx.n; /* the index's arrays become ours */
    s->frames = calloc(s->n ? s->n : 1, sizeof *s->frames);
    if (!s->frames) {
        avt_label_set_free(s);
        return avt_err(err, AVT_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < s->n; i++)
        if ((rc = avt_label_frame_load(s->paths[i], &s->frames[i], err))) {
            avt_label_set_free(s);
            return rc;
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
