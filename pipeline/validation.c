/* avtruth pipeline: label validation inside `build` and for `avtruth validate` (wiring only:
 * the rules are labels/validate.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/drivelog.h"
#include "validation.h"

/* How many findings an error message and the dataset card list. */
#define FIRST_FINDINGS 5
#define CARD_FINDINGS 20

/* AVT_FORMAT naming the error count and the first error findings, or AVT_OK. */
static int gate(const build_validation *v, avt_error *err)
{
    if (!v->rep.errors) return AVT_OK;
    avt_sbuf b = {0};
    size_t shown = 0;
    for (size_t i = 0; i < v->rep.n && shown < FIRST_FINDINGS; i++) {
        const avt_finding *f = &v->rep.findings[i];
        if (avt_rule_severity(f->rule) != AVT_SEVERITY_ERROR) continue;
        avt_sbuf_printf(&b, "\n  %s: %s%s%s%s%s: %s (%s)", f->file, f->where, f->where[0] ? ": " : "",
                        f->value[0] ? "'" : "", f->value, f->value[0] ? "'" : "", f->detail, avt_rule_name(f->rule));
        shown++;
    }
    int rc = avt_err(err, AVT_FORMAT, "labels: %llu validation errors (schema %s; `avtruth validate` lists them all)%s",
                     (unsigned long long)v->rep.errors, v->schema.name, b.p ? b.p : "");
    free(b.p);
    return rc;
}

int build_validation_begin(build_validation *v, const char *log_dir, const avt_build_options *opt,
                           const avt_rig *rig, const avt_poses *poses, const avt_label_index *labels,
                           avt_error *err)
{
    memset(v, 0, sizeof *v);
    v->log_dir = log_dir;
    int rc = avt_schema_for_log(log_dir, opt->schema, &v->schema, v->origin, sizeof v->origin, err);
    if (rc) return rc;
    v->cfg.schema = &v->schema;
    v->cfg.rig = rig;
    v->cfg.poses = poses;
    v->cfg.label_tolerance_ns = opt->label_tolerance_ns;
    if ((rc = avt_validate_labels(labels, &v->cfg, &v->rep, err))) return rc;
    return gate(v, err);
}

int build_validation_sweep(build_validation *v, const avt_sweep *sw, avt_error *err)
{
    if (avt_grow((void **)&v->sweep_ns, &v->cap_sweeps, v->n_sweeps + 1, sizeof *v->sweep_ns))
        return avt_err(err, AVT_NOMEM, "out of memory for %zu sweep times", v->n_sweeps + 1);
    if (v->n_sweeps == 0 || sw->start_ns < v->cfg.capture_start_ns) v->cfg.capture_start_ns = sw->start_ns;
    if (v->n_sweeps == 0 || sw->end_ns > v->cfg.capture_end_ns) v->cfg.capture_end_ns = sw->end_ns;
    v->sweep_ns[v->n_sweeps++] = sw->timestamp_ns;
    return AVT_OK;
}

int build_validation_end(build_validation *v, const avt_label_index *labels, const avt_build_options *opt,
                         avt_sbuf *found, avt_export_meta *meta, avt_error *err)
{
    v->cfg.sweep_ns = v->sweep_ns;
    v->cfg.n_sweeps = v->n_sweeps;
    avt_validate_times(labels, &v->cfg, &v->rep);
    int rc = gate(v, err);
    if (rc) return rc;
    avt_validation_markdown(&v->rep, CARD_FINDINGS, found);
    v->rows = calloc(v->rep.n ? v->rep.n : 1, sizeof *v->rows);
    if (!v->rows) return avt_err(err, AVT_NOMEM, "out of memory for the validation table");
    size_t dl = strlen(v->log_dir);
    for (size_t i = 0; i < v->rep.n; i++) {
        const avt_finding *f = &v->rep.findings[i];
        const char *file = strncmp(f->file, v->log_dir, dl) == 0 && f->file[dl] == '/' ? f->file + dl + 1 : f->file;
        v->rows[i] = (avt_export_finding){avt_severity_name(avt_rule_severity(f->rule)), avt_rule_name(f->rule),
                                          file, f->where, f->value, f->detail};
    }
    meta->validation = v->rows;
    meta->n_validation = v->rep.n;
    meta->validation_errors = v->rep.errors;
    meta->validation_warnings = v->rep.warnings;
    if (opt->warn && v->rep.warnings) {
        char msg[256];
        snprintf(msg, sizeof msg, "labels: %llu validation warnings (in the dataset card and /meta/validation)",
                 (unsigned long long)v->rep.warnings);
        opt->warn(msg, opt->warn_ctx);
    }
    return AVT_OK;
}

void build_validation_free(build_validation *v)
{
    avt_validation_free(&v->rep);
    avt_schema_free(&v->schema);
    free(v->sweep_ns);
    free(v->rows);
    memset(v, 0, sizeof *v);
}

int build_ignore_regions(const avt_label_frame *lf, const char *camera, float **xyxy, uint16_t **cls, size_t *cap,
                         size_t *n, avt_error *err)
{
    size_t c2 = *cap;
    *n = 0;
    if (avt_grow((void **)xyxy, &c2, lf->n_ignore + 1, 4 * sizeof **xyxy) ||
        avt_grow((void **)cls, cap, lf->n_ignore + 1, sizeof **cls))
        return avt_err(err, AVT_NOMEM, "out of memory for %zu ignore regions", lf->n_ignore);
    for (size_t i = 0; i < lf->n_ignore; i++) {
        const avt_label_ignore *g = &lf->ignore[i];
        if (strcmp(g->camera, camera) != 0) continue;
        for (int k = 0; k < 4; k++) (*xyxy)[4 * *n + k] = (float)g->xyxy[k];
        (*cls)[(*n)++] = (uint16_t)g->class_id;
    }
    return AVT_OK;
}

int avt_validate_log(const char *log_dir, const avt_build_options *opt, avt_validation *rep, char *schema_origin,
                     size_t n, avt_error *err)
{
    avt_drive_log log;
    avt_rig rig;
    avt_poses poses;
    avt_label_index labels;
    build_validation v;
    avt_sweep_source *src = NULL;
    memset(&rig, 0, sizeof rig);
    memset(&poses, 0, sizeof poses);
    memset(&labels, 0, sizeof labels);
    memset(&v, 0, sizeof v);
    const avt_drive_log_overrides ov = {opt->lidar_model, opt->lidar_calibration, opt->lidar_source,
                                        opt->cut_angle_deg};
    int rc;
    if ((rc = avt_drive_log_open(log_dir, &ov, &log, err)) || (rc = avt_rig_load_yaml(log.calib_yaml, &rig, err)) ||
        (rc = avt_poses_load(log.poses_csv, &poses, err)) || (rc = avt_label_index_open(log.dir, &labels, err)) ||
        (rc = avt_schema_for_log(log.dir, opt->schema, &v.schema, v.origin, sizeof v.origin, err)))
        goto out;
    if (schema_origin) snprintf(schema_origin, n, "%s (%s)", v.schema.name, v.origin);
    if (!(src = avt_sweep_source_open(log.lidar, &log.lidar_cfg, err))) {
        rc = err ? err->code : AVT_IO;
        goto out;
    }
    const avt_sweep *sw;
    while ((rc = avt_sweep_source_next(src, &sw, err)) > 0)
        if ((rc = build_validation_sweep(&v, sw, err))) goto out;
    if (rc < 0) goto out;
    v.cfg.schema = &v.schema;
    v.cfg.rig = &rig;
    v.cfg.poses = &poses;
    v.cfg.label_tolerance_ns = opt->label_tolerance_ns;
    v.cfg.sweep_ns = v.sweep_ns;
    v.cfg.n_sweeps = v.n_sweeps;
    rc = avt_validate_labels(&labels, &v.cfg, rep, err);
out:
    avt_sweep_source_close(src);
    build_validation_free(&v);
    avt_label_index_free(&labels);
    avt_poses_free(&poses);
    avt_rig_free(&rig);
    return rc;
}
