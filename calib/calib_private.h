/* avtruth calibration: helpers shared by the loaders of calib/ (private to the stage). */
#ifndef AVTRUTH_CALIB_PRIVATE_H
#define AVTRUTH_CALIB_PRIVATE_H

#include <stddef.h>
#include <yaml.h>

#include "avtruth/calib.h"

/* Largest calibration file read (they are a few kB). */
#define CALIB_MAX_BYTES (16u << 20)

/* Loads a YAML document from path. A first line "%YAML:1.0" or "%YAML 1.0" (OpenCV
 * FileStorage writes these; libyaml accepts only YAML 1.1/1.2 directives) is blanked into a
 * comment of the same length, so line numbers in messages stay right. */
int calib_yaml_load(const char *path, yaml_document_t *doc, avt_error *err);

yaml_node_t *calib_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key);
const char *calib_yaml_scalar(yaml_node_t *n);
/* AVT_OK when map is a mapping whose keys are all in known (NULL-terminated), each once; else
 * an error naming path, the line, where (e.g. "top level") and the key, and listing the known
 * keys: a misspelt key would otherwise be ignored and its data silently dropped, a repeated
 * one silently overridden by the first. */
int calib_yaml_check_keys(yaml_document_t *doc, yaml_node_t *map, const char *const *known, const char *path,
                          const char *where, avt_error *err);

/* Reads between min_n and max_n numbers from a flow/block sequence, a sequence of sequences
 * (flattened row by row, Kalibr's 4x4 lists) or a matrix mapping {rows, cols, data} (ROS
 * camera_info and OpenCV's !!opencv-matrix; rows*cols must equal the count of data). */
int calib_yaml_numbers(yaml_document_t *doc, yaml_node_t *node, const char *path, const char *key,
                       double *out, int min_n, int max_n, int *n_out, avt_error *err);
/* A positive integer up to 100000 (image sizes). */
int calib_yaml_uint(yaml_node_t *n, const char *path, const char *key, unsigned *out, avt_error *err);
int calib_copy_name(char *dst, size_t n, const char *s, const char *path, const char *key, avt_error *err);

/* Largest translation of a calibration transform, in metres. Rigs measure metres; the bound
 * keeps products and inverses of transforms finite (1.7e308 rotated by 45 degrees is inf). */
#define CALIB_MAX_TRANSLATION_M 1e6

/* AVT_OK when every element of t is finite and within +-CALIB_MAX_TRANSLATION_M; else an
 * error naming path, key, the element and its value. */
int calib_check_translation(const double t[3], const char *path, const char *key, avt_error *err);

/* Builds a rigid transform from a row-major 3x3 rotation and a translation printed as text.
 * R must be finite with det > 0 and |R^T R - I| <= 1e-5 (7 printed digits give ~1e-7); it is
 * then re-orthonormalised so that rigid inverses are exact. t must pass
 * calib_check_translation. Errors name path, key and the deviation or value. */
int calib_rigid(const double R[9], const double t[3], const char *path, const char *key, avt_tf *out,
                avt_error *err);

/* A camera given by a 3x4 projection matrix P = K [I | t] (rectified KITTI cameras) applied to
 * coordinates of a reference frame ref: sets cam->K (K from P), and returns in cam_T_ref the
 * exact frame of that camera, [I | K^-1 p4] * ref_T_in. Requires P's left 3x3 upper
 * triangular with P[2][2] > 0, finite K and K^-1 p4 passing calib_check_translation. */
int calib_camera_from_P(const double P[12], const avt_tf *ref_T_in, const char *path, const char *key,
                        avt_camera *cam, avt_tf *cam_T_in, avt_error *err);

/* Sets a camera's distortion from a model name (radtan, plumb_bob, rational_polynomial,
 * equidistant, fisheye, none) and coefficients, checking the count; errors name the key. */
int calib_set_distortion(avt_camera *cam, const char *model, const double *d, int n, const char *path,
                         const char *key, avt_error *err);

/* Appends a zero-initialised camera to rig (at most 64); returns it or NULL (AVT_NOMEM/FORMAT). */
avt_camera *calib_add_camera(avt_rig *rig, const char *path, avt_error *err);

/* The node of the first key of a NULL-terminated list present in map (*used: that key, or the
 * first of the list when none is, for messages), or NULL. */
yaml_node_t *calib_yaml_first(yaml_document_t *doc, yaml_node_t *map, const char *const *keys, const char **used);

/* Alternative key names of one camera's intrinsics. */
typedef struct calib_keys {
    const char *const *width, *const *height, *const *K, *const *D;
} calib_keys;
/* The common start of single-camera files (ROS camera_info, OpenCV FileStorage): adds one
 * camera named by camera_name (default "camera") to an empty rig without a LiDAR (identity
 * lidar_T_ego), reads width, height and K, and the distortion coefficients into d / *nd (0
 * when absent; *kd: the key used). The caller sets the distortion model and validates. */
int calib_yaml_single_camera(yaml_document_t *doc, yaml_node_t *root, const char *path, const calib_keys *k,
                             avt_rig *rig, double d[AVT_MAX_DIST], int *nd, const char **kd, avt_error *err);

/* "KEY: v1 v2 ..." text files (KITTI): entries with up to 16 numbers each. Non-numeric values
 * (KITTI raw's calib_time) are kept with n = -1. */
typedef struct calib_kv {
    char key[32];
    double v[16];
    int n;
    unsigned line;
} calib_kv;
typedef struct calib_kv_file {
    calib_kv *e;
    size_t n;
} calib_kv_file;
int calib_kv_parse(const char *text, size_t len, const char *path, calib_kv_file *out, avt_error *err);
/* Finds the entry with this key, which must hold exactly `want` numbers (want < 0: any count).
 * A missing key gives AVT_OK and *out = NULL, or with required=1 an error naming the key; a
 * malformed entry an error naming the file, the line, the key and the count. */
int calib_kv_find(const calib_kv_file *f, const char *key, int want, int required, const char *path,
                  const calib_kv **out, avt_error *err);
void calib_kv_free(calib_kv_file *f);

/* Width and height from a PNG's IHDR chunk; 0 when the file is absent or not a PNG. */
int calib_png_size(const char *path, unsigned *w, unsigned *h);

/* Format loaders (calib_<format>.c). Each fills rig and validates it. */
int calib_load_kitti_object(const char *path, avt_rig *rig, avt_error *err);
int calib_load_kitti_raw(const char *path, avt_rig *rig, avt_error *err);
int calib_load_ros(const char *path, avt_rig *rig, avt_error *err);
int calib_load_opencv(const char *path, avt_rig *rig, avt_error *err);
int calib_load_kalibr(const char *path, avt_rig *rig, avt_error *err);

#endif
