/* avtruth calibration: the optional per-log settings file log.yaml (docs/drive-log.md):
 * log id, licence, annotation schema, and LiDAR overrides (model, data port, source address, metadata and
 * calibration files). Unknown keys are errors, so that a typo is not silently ignored. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_private.h"

static int copy_str(char *dst, size_t n, yaml_node_t *node, const char *path, const char *key, avt_error *err)
{
    const char *s = calib_yaml_scalar(node);
    if (!s || strlen(s) >= n)
        return avt_err(err, AVT_FORMAT, "%s: %s: expected a string of at most %zu characters", path, key, n - 1);
    memcpy(dst, s, strlen(s) + 1);
    return AVT_OK;
}

int avt_log_config_load(const char *path, avt_log_config *cfg, avt_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    struct stat sb;
    if (stat(path, &sb) != 0) return errno == ENOENT ? AVT_OK : avt_err(err, AVT_IO, "%s: %s", path, strerror(errno));
    yaml_document_t doc;
    int rc = calib_yaml_load(path, &doc, err);
    if (rc) return rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc), *n;
    static const char *const top[] = {"log_id", "licence", "license", "lidar", "schema", NULL};
    static const char *const lid[] = {"model", "data_port", "position_port", "source", "metadata", "calibration", NULL};
    if ((rc = calib_yaml_check_keys(&doc, root, top, path, "top level", err))) goto out;
    if ((n = calib_yaml_get(&doc, root, "log_id")) && (rc = copy_str(cfg->log_id, sizeof cfg->log_id, n, path, "log_id", err)))
        goto out;
    if (!(n = calib_yaml_get(&doc, root, "licence"))) n = calib_yaml_get(&doc, root, "license");
    if (n && (rc = copy_str(cfg->licence, sizeof cfg->licence, n, path, "licence", err))) goto out;
    if ((n = calib_yaml_get(&doc, root, "schema")) && (rc = copy_str(cfg->schema, sizeof cfg->schema, n, path, "schema", err)))
        goto out;
    yaml_node_t *l = calib_yaml_get(&doc, root, "lidar");
    if (l) {
        if ((rc = calib_yaml_check_keys(&doc, l, lid, path, "lidar", err))) goto out;
        if ((n = calib_yaml_get(&doc, l, "model")) &&
            (rc = copy_str(cfg->lidar_model, sizeof cfg->lidar_model, n, path, "lidar.model", err)))
            goto out;
        if ((n = calib_yaml_get(&doc, l, "source")) &&
            (rc = copy_str(cfg->lidar_source, sizeof cfg->lidar_source, n, path, "lidar.source", err)))
            goto out;
        if ((n = calib_yaml_get(&doc, l, "metadata")) &&
            (rc = copy_str(cfg->lidar_metadata, sizeof cfg->lidar_metadata, n, path, "lidar.metadata", err)))
            goto out;
        if ((n = calib_yaml_get(&doc, l, "calibration")) &&
            (rc = copy_str(cfg->lidar_calibration, sizeof cfg->lidar_calibration, n, path, "lidar.calibration", err)))
            goto out;
        static const char *const port_key[] = {"data_port", "position_port"};
        uint16_t *const port[] = {&cfg->lidar_data_port, &cfg->lidar_position_port};
        for (int k = 0; k < 2; k++) {
            if (!(n = calib_yaml_get(&doc, l, port_key[k]))) continue;
            int64_t v;
            const char *s = calib_yaml_scalar(n);
            if (!s || !avt_parse_int64(s, &v) || v < 1 || v > 65535) {
                rc = avt_err(err, AVT_FORMAT, "%s: lidar.%s: expected a UDP port 1..65535, got '%s'", path,
                             port_key[k], s ? s : "(not a scalar)");
                goto out;
            }
            *port[k] = (uint16_t)v;
        }
    }
out:
    yaml_document_delete(&doc);
    return rc;
}
