/* avtruth pipeline: label validation inside `build` and for `avtruth validate` (wiring only:
 * the rules are labels/validate.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
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

int avt_validate_log(const char *log_dir, const avt_build_options *opt, avt_validation *rep, char *schema_origin,
                     size_t n, avt_error *err)
{
    avt_rig rig;
    avt_poses poses;
    avt_label_index labels;
    build_validation v;
    sweep_source *src = NULL;
    memset(&rig, 0, sizeof rig);
    memset(&poses, 0, sizeof poses);
    memset(&labels, 0, sizeof labels);
    memset(&v, 0, sizeof v);
    char path[4096], desc[4096], log_yaml[4096], meta_abs[4096], vcal_abs[4096];
    avt_lidar_config lc;
    avt_log_config lcfg;
    int rc;
    if ((rc = avt_path_join(path, sizeof path, log_dir, "calib.yaml")))
        return avt_err(err, AVT_INVAL, "%s: path too long", log_dir);
    if ((rc = avt_rig_load_yaml(path, &rig, err))) goto out;
    avt_path_join(path, sizeof path, log_dir, "poses.csv");
    if ((rc = avt_poses_load(path, &poses, err)) || (rc = avt_label_index_open(log_dir, &labels, err))) goto out;
    if ((rc = avt_schema_for_log(log_dir, opt->schema, &v.schema, v.origin, sizeof v.origin, err))) goto out;
    if (schema_origin) snprintf(schema_origin, n, "%s (%s)", v.schema.name, v.origin);
    if ((rc = sweep_source_config(log_dir, opt, &lc, &lcfg, log_yaml, meta_abs, vcal_abs, err)) ||
        (rc = sweep_source_find(log_dir, desc, sizeof desc, err)))
        goto out;
    if (!(src = sweep_source_open(desc, &lc, err))) {
        rc = err ? err->code : AVT_IO;
        goto out;
    }
    const avt_sweep *sw;
    while ((rc = sweep_source_next(src, &sw, err)) > 0)
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
    sweep_source_close(src);
    build_validation_free(&v);
    avt_label_index_free(&labels);
    avt_poses_free(&poses);
    avt_rig_free(&rig);
    return rc;
}
