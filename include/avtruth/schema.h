/* avtruth labels: the annotation schema (docs/schema.md): classes with stable ids and an
 * optional parent, attribute values allowed per class, size priors, required and optional
 * label fields, the label coordinate frame, ignore classes (KITTI DontCare) and per-class
 * matching thresholds. Schemas are YAML (libyaml); the shipped ones (schemas/NAME.yaml:
 * "default", "kitti", "nuscenes") are compiled into the library.
 *
 * A loaded schema is immutable: every function taking a const avt_schema * is thread-safe. */
#ifndef AVTRUTH_SCHEMA_H
#define AVTRUTH_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/common.h"

#define AVT_SCHEMA_NAME_MAX 64       /* class, attribute and field names, incl. the NUL */
#define AVT_SCHEMA_MAX_CLASSES 256
#define AVT_SCHEMA_MAX_ATTRIBUTES 32 /* bits of /boxes3d/attributes */
#define AVT_SCHEMA_MAX_FIELDS 32

typedef struct avt_schema_class {
    char name[AVT_SCHEMA_NAME_MAX];   /* "car"; the label files' "class" value */
    char parent[AVT_SCHEMA_NAME_MAX]; /* "vehicle" (path "vehicle.car"), "" for none */
    uint16_t id;                      /* stable id, 1..65535 (0 = none); /meta/class_names[id] */
    int ignore;                       /* 1: an ignore region (DontCare), never a box of /boxes3d */
    uint32_t attributes;              /* bitmask of the attribute values allowed for the class */
    /* size priors [length, width, height] in metres: min 0 and max INFINITY when not given */
    double size_min[3], size_max[3];
    /* matching thresholds for agreement / evaluation (issue 15): a detection matches a label
     * of this class when 3D IoU >= iou3d_threshold, or (nuScenes-style) when the centres are
     * within center_distance_m on the ground plane. Defaults: 0.5 and 2.0. */
    double iou3d_threshold;
    double center_distance_m;
} avt_schema_class;

typedef struct avt_schema {
    char name[AVT_SCHEMA_NAME_MAX];    /* "avtruth-default", "kitti", "nuscenes", ... */
    char frame[AVT_SCHEMA_NAME_MAX];   /* label coordinate frame; "lidar" (the only one built) */
    avt_schema_class classes[AVT_SCHEMA_MAX_CLASSES]; /* in the file's order */
    size_t n_classes;
    /* attribute values "group.value" (nuScenes style: "vehicle.moving"); bit i of a box's
     * attributes is attribute_names[i]. Values of one group exclude each other. */
    const char *attribute_names[AVT_SCHEMA_MAX_ATTRIBUTES];
    uint8_t attribute_group[AVT_SCHEMA_MAX_ATTRIBUTES]; /* group number of each value */
    size_t n_attributes;
    /* label box fields: required ones must be present, optional ones may be; any other key is
     * a finding. Names point into storage owned by the schema. */
    const char *required[AVT_SCHEMA_MAX_FIELDS], *optional[AVT_SCHEMA_MAX_FIELDS];
    size_t n_required, n_optional;
    /* /meta/class_names: index = class id, "none" at 0, "" for unused ids */
    const char **class_names;
    size_t n_class_names;              /* max id + 1 */
    char *text;                        /* the YAML text as given: /meta/schema */
    size_t text_len;
    char *strings;                     /* storage of the names above */
} avt_schema;

/* Parses schema YAML text (what is stored in /meta/schema). origin names the text in messages
 * (a path, "builtin:kitti"). Errors (AVT_FORMAT) name origin, the line and the key: unknown
 * keys, duplicate or out-of-range ids and names, unknown attribute groups, bad priors. The
 * schema keeps a copy of the text. Free with avt_schema_free. */
int avt_schema_parse(const char *text, size_t len, const char *origin, avt_schema *s, avt_error *err);
/* Reads and parses a schema file. */
int avt_schema_load(const char *path, avt_schema *s, avt_error *err);
/* A shipped schema by name: "default", "kitti", "nuscenes". AVT_NOTFOUND naming the three. */
int avt_schema_builtin(const char *name, avt_schema *s, avt_error *err);
/* The project default (car 1, pedestrian 2, cyclist 3, truck 4, ...). Returns AVT_OK or
 * AVT_NOMEM. */
int avt_schema_default(avt_schema *s);
/* NULL-terminated list of the shipped schemas' names. */
extern const char *const AVT_SCHEMA_BUILTINS[];

/* The schema of a drive log: override (a file path or a shipped name; e.g. build --schema)
 * if not NULL, else log.yaml's `schema:` (a shipped name or a path relative to the log),
 * else LOG/schema.yaml if present, else the default. *origin_out (may be NULL) receives
 * what was used ("builtin:default", a path), at most n bytes. */
int avt_schema_for_log(const char *log_dir, const char *override, avt_schema *s, char *origin_out, size_t n,
                       avt_error *err);

void avt_schema_free(avt_schema *s);

/* Class by name ("car") or by its path ("vehicle.car"); NULL if unknown. */
const avt_schema_class *avt_schema_class_find(const avt_schema *s, const char *name);
/* Class by id; NULL if no class has it. */
const avt_schema_class *avt_schema_class_by_id(const avt_schema *s, unsigned id);
/* Bit index of an attribute value ("vehicle.moving"), or -1 if unknown. */
int avt_schema_attribute_bit(const avt_schema *s, const char *name);
/* Is a box field name required (2), optional (1) or unknown (0) in this schema? */
int avt_schema_field(const avt_schema *s, const char *field);

/* Levenshtein distance between two short strings (capped at 255): for "did you mean". */
unsigned avt_edit_distance(const char *a, const char *b);

#endif
