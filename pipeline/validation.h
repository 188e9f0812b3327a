/* avtruth pipeline (private): label validation wired into `build` (docs/schema.md): the log's
 * schema, the rules over every label file before the first sweep, the time rules once every
 * sweep has been seen, and the findings for the card and /meta/validation. */
#ifndef AVT_PIPELINE_VALIDATION_H
#define AVT_PIPELINE_VALIDATION_H

#include "avtruth/export.h"
#include "avtruth/pipeline.h"
#include "avtruth/validate.h"

typedef struct build_validation {
    avt_schema schema;
    char origin[512];        /* where the schema came from */
    avt_validation rep;
    avt_validate_config cfg;
    int64_t *sweep_ns;
    size_t n_sweeps, cap_sweeps;
    avt_export_finding *rows; /* /meta/validation */
    const char *log_dir;      /* borrowed: file paths in rows are relative to it */
} build_validation;

/* Loads the log's schema (opt->schema overrides) and runs the per-file rules over labels.
 * Error findings stop the build: AVT_FORMAT naming the count and the first findings. */
int build_validation_begin(build_validation *v, const char *log_dir, const avt_build_options *opt,
                           const avt_rig *rig, const avt_poses *poses, const avt_label_index *labels,
                           avt_error *err);
/* Records a decoded sweep's times. */
int build_validation_sweep(build_validation *v, const avt_sweep *sw, avt_error *err);
/* Runs the time rules (errors stop the build as above), appends the card's Markdown to found
 * and points meta's validation rows at v (valid until build_validation_free). */
int build_validation_end(build_validation *v, const avt_label_index *labels, const avt_build_options *opt,
                         avt_sbuf *found, avt_export_meta *meta, avt_error *err);
void build_validation_free(build_validation *v);

#endif
