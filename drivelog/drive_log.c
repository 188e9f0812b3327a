/* avtruth drive log: the layout of a log directory (include/avtruth/drivelog.h,
 * docs/drive-log.md). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/drivelog.h"

/* rel is a relative path that stays inside the directory it is joined to */
static int stays_inside(const char *rel)
{
    if (rel[0] == '/') return 0;
    for (const char *p = rel; *p;) {
        size_t k = strcspn(p, "/");
        if (k == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += k;
        p += *p == '/';
    }
    return 1;
}

int avt_drive_log_path(const avt_drive_log *log, const char *rel, char *out, size_t n, avt_error *err)
{
    if (!stays_inside(rel))
        return avt_err(err, AVT_INVAL, "%s: '%s' must be a path inside the log directory", log->dir, rel);
    if (avt_path_join(out, n, log->dir, rel)) return avt_err(err, AVT_INVAL, "%s/%s: path too long", log->dir, rel);
    return AVT_OK;
}

const char *avt_drive_log_rel(const avt_drive_log *log, const char *abs)
{
    size_t k = strlen(log->dir);
    return strncmp(abs, log->dir, k) == 0 && abs[k] == '/' ? abs + k + 1 : abs;
}

int avt_drive_log_open(const char *log_dir, const avt_drive_log_overrides *o, avt_drive_log *log, avt_error *err)
{
    memset(log, 0, sizeof *log);
    struct stat sb;
    int rc;
    if (stat(log_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return avt_err(err, AVT_NOTFOUND, "%s: not a drive-log directory", log_dir);
    if (snprintf(log->dir, sizeof log->dir, "%s", log_dir) >= (int)sizeof log->dir ||
        avt_drive_log_path(log, "calib.yaml", log->calib_yaml, sizeof log->calib_yaml, err) ||
        avt_drive_log_path(log, "poses.csv", log->poses_csv, sizeof log->poses_csv, err) ||
        avt_drive_log_path(log, "log.yaml", log->log_yaml, sizeof log->log_yaml, err))
        return avt_err(err, AVT_INVAL, "%s: path too long", log_dir);
    if ((rc = avt_log_config_load(log->log_yaml, &log->cfg, err))) return rc;
    log->have_log_yaml = stat(log->log_yaml, &sb) == 0;
    if ((rc = avt_sweep_source_find(log_dir, log->lidar, sizeof log->lidar, err))) return rc;

    /* log.yaml overrides the defaults; the command line overrides log.yaml */
    const avt_log_config *c = &log->cfg;
    avt_lidar_config *lc = &log->lidar_cfg;
    avt_lidar_config_default(lc);
    lc->model = o->lidar_model ? o->lidar_model : "auto";
    lc->cut_angle_deg = o->cut_angle_deg;
    if (c->lidar_model[0] && strcmp(lc->model, "auto") == 0) lc->model = c->lidar_model;
    if (c->lidar_data_port) lc->data_port = c->lidar_data_port;
    if (c->lidar_position_port) lc->position_port = c->lidar_position_port;
    if (c->lidar_metadata[0]) {
        if ((rc = avt_drive_log_path(log, c->lidar_metadata, log->lidar_metadata, sizeof log->lidar_metadata, err)))
            return avt_err_prefix(err, "%s: lidar.metadata", log->log_yaml);
        lc->metadata_path = log->lidar_metadata;
    }
    if (c->lidar_calibration[0]) {
        if ((rc = avt_drive_log_path(log, c->lidar_calibration, log->lidar_calibration,
                                     sizeof log->lidar_calibration, err)))
            return avt_err_prefix(err, "%s: lidar.calibration", log->log_yaml);
        lc->calibration_path = log->lidar_calibration;
        log->lidar_calibration_rel = c->lidar_calibration;
    }
    if (c->lidar_source[0]) lc->source_addr = c->lidar_source;
    if (o->lidar_calibration) {
        lc->calibration_path = o->lidar_calibration;
        log->lidar_calibration_rel = o->lidar_calibration;
    }
    if (o->lidar_source) lc->source_addr = o->lidar_source;
    const char *base = strrchr(log_dir, '/');
    log->log_id = c->log_id[0] ? c->log_id : (base && base[1]) ? base + 1 : log->dir;
    return AVT_OK;
}

size_t avt_drive_log_inputs(const avt_drive_log *log, int poses_present, const char *capture,
                            avt_log_input in[AVT_LOG_MAX_FIXED_INPUTS])
{
    size_t n = 0;
    in[n++] = (avt_log_input){"calib.yaml", log->calib_yaml};
    if (log->have_log_yaml) in[n++] = (avt_log_input){"log.yaml", log->log_yaml};
    if (log->lidar_cfg.metadata_path) in[n++] = (avt_log_input){log->cfg.lidar_metadata, log->lidar_metadata};
    if (log->lidar_cfg.calibration_path)
        in[n++] = (avt_log_input){log->lidar_calibration_rel, log->lidar_cfg.calibration_path};
    if (poses_present) in[n++] = (avt_log_input){"poses.csv", log->poses_csv};
    if (capture) in[n++] = (avt_log_input){avt_drive_log_rel(log, capture), capture};
    return n;
}
