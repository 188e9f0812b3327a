/* avtruth labels: the annotation schema (docs/schema.md), YAML read with libyaml's document
 * API. The shipped schemas (schemas/NAME.yaml) are compiled in by cmake/embed.cmake. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "avtruth/calib.h"
#include "avtruth/schema.h"
#include "schemas_embedded.h"

const char *const AVT_SCHEMA_BUILTINS[] = {"default", "kitti", "nuscenes", NULL};

/* The string arena: fixed slots of AVT_SCHEMA_NAME_MAX bytes. */
enum { SLOT_ATTR = 0, SLOT_REQ = SLOT_ATTR + AVT_SCHEMA_MAX_ATTRIBUTES,
       SLOT_OPT = SLOT_REQ + AVT_SCHEMA_MAX_FIELDS, SLOT_NONE = SLOT_OPT + AVT_SCHEMA_MAX_FIELDS,
       SLOT_CLASS = SLOT_NONE + 1, SLOT_ALIAS = SLOT_CLASS + AVT_SCHEMA_MAX_CLASSES,
       SLOT_COUNT = SLOT_ALIAS + 512 /* aliases of all classes */ };

typedef struct parse_ctx {
    yaml_document_t doc;
    const char *origin;
    avt_error *err;
} parse_ctx;

static char *slot(avt_schema *s, int i) { return s->strings + (size_t)i * AVT_SCHEMA_NAME_MAX; }

/* Copies a built-in name (shorter than a slot) into slot i; returns the slot. */
static char *slot_set(avt_schema *s, int i, const char *name)
{
    char *dst = slot(s, i);
    snprintf(dst, AVT_SCHEMA_NAME_MAX, "%s", name);
    return dst;
}

static unsigned line_of(const yaml_node_t *n) { return n ? (unsigned)n->start_mark.line + 1 : 0; }

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(parse_ctx *c, yaml_node_item_t i) { return yaml_document_get_node(&c->doc, i); }

static size_t seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static int fail(parse_ctx *c, const yaml_node_t *n, const char *fmt, const char *key, const char *value)
{
    char what[256];
    snprintf(what, sizeof what, fmt, value ? value : "");
    return avt_err(c->err, AVT_FORMAT, "%s: line %u: %s: %s", c->origin, line_of(n), key, what);
}

/* Every key of a mapping must be in known (NULL-terminated); *out receives the node of each
 * known key (NULL when absent), in the order of known. */
static int mapping(parse_ctx *c, yaml_node_t *map, const char *where, const char *const *known, yaml_node_t **out)
{
    size_t nk = 0;
    while (known[nk]) out[nk++] = NULL;
    if (!map || map->type != YAML_MAPPING_NODE) return fail(c, map, "expected a mapping%s", where, "");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(c, p->key));
        size_t i = 0;
        while (i < nk && !(k && strcmp(known[i], k) == 0)) i++;
        if (i == nk) {
            /* name the closest known key: a misspelling is the likely cause */
            const char *best = known[0];
            for (size_t j = 1; j < nk; j++)
                if (k && avt_edit_distance(k, known[j]) < avt_edit_distance(k, best)) best = known[j];
            char msg[160];
            snprintf(msg, sizeof msg, "unknown key '%.60s' (closest known: '%s')", k ? k : "?", best);
            return fail(c, node(c, p->key), "%s", where, msg);
        }
        if (out[i]) return fail(c, node(c, p->key), "key '%s' given twice", where, k);
        out[i] = node(c, p->value);
    }
    return AVT_OK;
}

static int copy_name(parse_ctx *c, char *dst, const yaml_node_t *n, const char *key)
{
    const char *v = scalar(n);
    if (!v || !v[0] || strlen(v) >= AVT_SCHEMA_NAME_MAX || strpbrk(v, " \t\n\"'"))
        return fail(c, n, "expected a name of 1..63 characters without spaces or quotes, got '%s'", key,
                    v ? v : "(not a scalar)");
    memcpy(dst, v, strlen(v) + 1);
    return AVT_OK;
}

static int number(parse_ctx *c, const yaml_node_t *n, const char *key, double lo, double hi, double *out)
{
    const char *v = scalar(n);
    if (!v || !avt_parse_double(v, out) || !(*out >= lo && *out <= hi)) {
        char msg[160];
        snprintf(msg, sizeof msg, "expected a number in [%g, %g], got '%.40s'", lo, hi, v ? v : "(not a scalar)");
        return fail(c, n, "%s", key, msg);
    }
    return AVT_OK;
}

/* A list of names into slots first..first+max-1; *count receives how many. */
static int name_list(parse_ctx *c, avt_schema *s, yaml_node_t *n, const char *key, int first, size_t max,
                     const char **ptrs, size_t *count)
{
    if (!n || n->type != YAML_SEQUENCE_NODE) return fail(c, n, "expected a list%s", key, "");
    if (seq_len(n) > max) return fail(c, n, "more than 32 names%s", key, "");
    *count = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        char *dst = slot(s, first + (int)*count);
        int rc = copy_name(c, dst, node(c, *it), key);
        if (rc) return rc;
        ptrs[(*count)++] = dst;
    }
    return AVT_OK;
}

static int parse_attributes(parse_ctx *c, avt_schema *s, yaml_node_t *n, const char **group_names, size_t *n_groups)
{
    if (n->type != YAML_MAPPING_NODE) return fail(c, n, "expected a mapping of groups to value lists%s", "attributes", "");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
        const char *g = scalar(k);
        if (!g || !g[0] || strchr(g, '.') || strlen(g) >= 32)
            return fail(c, k, "group name '%s' must be 1..31 characters without '.'", "attributes", g ? g : "?");
        if (*n_groups >= AVT_SCHEMA_MAX_ATTRIBUTES) return fail(c, k, "too many groups%s", "attributes", "");
        group_names[*n_groups] = g;
        if (!v || v->type != YAML_SEQUENCE_NODE || seq_len(v) == 0)
            return fail(c, v, "expected a non-empty list of values for group '%s'", "attributes", g);
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            const char *val = scalar(node(c, *it));
            if (s->n_attributes >= AVT_SCHEMA_MAX_ATTRIBUTES)
                return fail(c, node(c, *it), "more than 32 values (the bits of /boxes3d/attributes)%s", "attributes", "");
            if (!val || !val[0] || strlen(g) + 1 + strlen(val) >= AVT_SCHEMA_NAME_MAX)
                return fail(c, node(c, *it), "bad value '%s'", "attributes", val ? val : "?");
            char *dst = slot(s, SLOT_ATTR + (int)s->n_attributes);
            size_t gl = strlen(g);
            memcpy(dst, g, gl);
            dst[gl] = '.';
            memcpy(dst + gl + 1, val, strlen(val) + 1); /* fits: checked above */
            if (avt_schema_attribute_bit(s, dst) >= 0) return fail(c, node(c, *it), "'%s' given twice", "attributes", dst);
            s->attribute_group[s->n_attributes] = (uint8_t)*n_groups;
            s->attribute_names[s->n_attributes++] = dst;
        }
        (*n_groups)++;
    }
    return AVT_OK;
}

static int parse_class(parse_ctx *c, avt_schema *s, yaml_node_t *n, const double dflt[2], const char **groups,
                       size_t n_groups)
{
    static const char *const keys[] = {"name", "id", "parent", "attributes", "size", "ignore",
                                       "iou3d_threshold", "center_distance_m", "aliases", NULL};
    yaml_node_t *v[9];
    int rc;
    if (s->n_classes >= AVT_SCHEMA_MAX_CLASSES) return fail(c, n, "more than 256 classes%s", "classes", "");
    avt_schema_class *k = &s->classes[s->n_classes];
    memset(k, 0, sizeof *k);
    if ((rc = mapping(c, n, "classes[]", keys, v))) return rc;
    if (!v[0] || !v[1]) return fail(c, n, "every class needs a name and an id%s", "classes[]", "");
    if ((rc = copy_name(c, k->name, v[0], "name"))) return rc;
    char key[96];
    snprintf(key, sizeof key, "classes.%s", k->name);
    if (avt_schema_class_find(s, k->name) || strcmp(k->name, "none") == 0)
        return fail(c, v[0], "class name '%s' used twice (or 'none', reserved for id 0)", key, k->name);
    double id;
    if ((rc = number(c, v[1], key, 1, 65535, &id))) return rc;
    if (id != floor(id)) return fail(c, v[1], "id must be an integer, got '%s'", key, scalar(v[1]));
    k->id = (uint16_t)id;
    if (avt_schema_class_by_id(s, k->id)) return fail(c, v[1], "id %s is taken by another class", key, scalar(v[1]));
    if (v[2] && (rc = copy_name(c, k->parent, v[2], key))) return rc;
    if (v[3]) {
        if (v[3]->type != YAML_SEQUENCE_NODE) return fail(c, v[3], "attributes: expected a list of groups%s", key, "");
        for (yaml_node_item_t *it = v[3]->data.sequence.items.start; it < v[3]->data.sequence.items.top; it++) {
            const char *g = scalar(node(c, *it));
            size_t gi = 0;
            while (gi < n_groups && !(g && strcmp(groups[gi], g) == 0)) gi++;
            if (gi == n_groups) return fail(c, node(c, *it), "attributes: unknown group '%s'", key, g ? g : "?");
            for (size_t a = 0; a < s->n_attributes; a++)
                if (s->attribute_group[a] == gi) k->attributes |= 1u << a;
        }
    }
    for (int d = 0; d < 3; d++) k->size_min[d] = 0, k->size_max[d] = INFINITY;
    if (v[4]) {
        static const char *const dims[] = {"length", "width", "height", NULL};
        yaml_node_t *r[3];
        if ((rc = mapping(c, v[4], key, dims, r))) return rc;
        for (int d = 0; d < 3; d++) {
            if (!r[d]) continue;
            if (r[d]->type != YAML_SEQUENCE_NODE || seq_len(r[d]) != 2)
                return fail(c, r[d], "size.%s: expected [min, max] in metres", key, dims[d]);
            if ((rc = number(c, node(c, r[d]->data.sequence.items.start[0]), key, 0, 1e4, &k->size_min[d])) ||
                (rc = number(c, node(c, r[d]->data.sequence.items.start[1]), key, k->size_min[d], 1e4, &k->size_max[d])))
                return rc;
        }
    }
    if (v[5]) {
        const char *b = scalar(v[5]);
        if (!b || (strcmp(b, "true") && strcmp(b, "false"))) return fail(c, v[5], "ignore: expected true or false%s", key, "");
        k->ignore = strcmp(b, "true") == 0;
    }
    k->iou3d_threshold = dflt[0];
    k->center_distance_m = dflt[1];
    if (v[6] && (rc = number(c, v[6], key, 0, 1, &k->iou3d_threshold))) return rc;
    if (v[7] && (rc = number(c, v[7], key, 0, 1e3, &k->center_distance_m))) return rc;
    if (v[8]) {
        size_t used = 0;
        for (size_t i = 0; i < s->n_classes; i++) used += s->classes[i].n_aliases;
        if (v[8]->type != YAML_SEQUENCE_NODE || seq_len(v[8]) > AVT_SCHEMA_MAX_ALIASES || used + seq_len(v[8]) > 512)
            return fail(c, v[8], "aliases: expected a list of at most 8 names (512 in a schema)%s", key, "");
        for (yaml_node_item_t *it = v[8]->data.sequence.items.start; it < v[8]->data.sequence.items.top; it++) {
            char *dst = slot(s, SLOT_ALIAS + (int)(used + k->n_aliases));
            if ((rc = copy_name(c, dst, node(c, *it), key))) return rc;
            if (avt_schema_class_find(s, dst)) return fail(c, node(c, *it), "alias '%s' names another class", key, dst);
            k->aliases[k->n_aliases++] = dst;
        }
    }
    s->n_classes++;
    return AVT_OK;
}

static int parse_doc(parse_ctx *c, avt_schema *s)
{
    static const char *const top[] = {"name", "version", "frame", "fields", "attributes", "defaults", "classes", NULL};
    yaml_node_t *v[7], *root = yaml_document_get_root_node(&c->doc);
    const char *groups[AVT_SCHEMA_MAX_ATTRIBUTES];
    size_t n_groups = 0;
    double dflt[2] = {0.5, 2.0};
    int rc;
    if (!root) return avt_err(c->err, AVT_FORMAT, "%s: empty schema", c->origin);
    if ((rc = mapping(c, root, "top level", top, v))) return rc;
    if (!v[0] || !v[1] || !v[6]) return fail(c, root, "a schema needs name, version and classes%s", "top level", "");
    if ((rc = copy_name(c, s->name, v[0], "name"))) return rc;
    if (!scalar(v[1]) || strcmp(scalar(v[1]), "1") != 0)
        return fail(c, v[1], "expected 1, got '%s'", "version", scalar(v[1]) ? scalar(v[1]) : "?");
    snprintf(s->frame, sizeof s->frame, "lidar");
    if (v[2]) {
        if ((rc = copy_name(c, s->frame, v[2], "frame"))) return rc;
        if (strcmp(s->frame, "lidar") != 0) return fail(c, v[2], "'%s': only lidar is supported", "frame", s->frame);
    }
    if (v[3]) {
        static const char *const fk[] = {"required", "optional", NULL};
        yaml_node_t *f[2];
        if ((rc = mapping(c, v[3], "fields", fk, f))) return rc;
        if (f[0] && (rc = name_list(c, s, f[0], "fields.required", SLOT_REQ, AVT_SCHEMA_MAX_FIELDS, s->required,
                                    &s->n_required)))
            return rc;
        if (f[1] && (rc = name_list(c, s, f[1], "fields.optional", SLOT_OPT, AVT_SCHEMA_MAX_FIELDS, s->optional,
                                    &s->n_optional)))
            return rc;
    }
    if (!v[3]) { /* the label format's own fields */
        static const char *const req[] = {"track_id", "class", "center", "size", "yaw"};
        static const char *const opt[] = {"velocity", "attributes", "rotation"};
        for (size_t i = 0; i < 5; i++) s->required[s->n_required++] = slot_set(s, SLOT_REQ + (int)i, req[i]);
        for (size_t i = 0; i < 3; i++) s->optional[s->n_optional++] = slot_set(s, SLOT_OPT + (int)i, opt[i]);
    }
    for (size_t i = 0; i < s->n_required; i++)
        for (size_t j = 0; j < s->n_optional; j++)
            if (strcmp(s->required[i], s->optional[j]) == 0)
                return fail(c, v[3], "'%s' is both required and optional", "fields", s->required[i]);
    static const char *const must[] = {"class", "center", "size", NULL};
    for (const char *const *m = must; *m; m++)
        if (avt_schema_field(s, *m) != 2) return fail(c, v[3] ? v[3] : root, "'%s' must be required", "fields", *m);
    if (v[4] && (rc = parse_attributes(c, s, v[4], groups, &n_groups))) return rc;
    if (v[5]) {
        static const char *const dk[] = {"iou3d_threshold", "center_distance_m", NULL};
        yaml_node_t *d[2];
        if ((rc = mapping(c, v[5], "defaults", dk, d))) return rc;
        if (d[0] && (rc = number(c, d[0], "defaults.iou3d_threshold", 0, 1, &dflt[0]))) return rc;
        if (d[1] && (rc = number(c, d[1], "defaults.center_distance_m", 0, 1e3, &dflt[1]))) return rc;
    }
    if (v[6]->type != YAML_SEQUENCE_NODE || seq_len(v[6]) == 0) return fail(c, v[6], "expected a non-empty list%s", "classes", "");
    for (yaml_node_item_t *it = v[6]->data.sequence.items.start; it < v[6]->data.sequence.items.top; it++)
        if ((rc = parse_class(c, s, node(c, *it), dflt, groups, n_groups))) return rc;
    /* /meta/class_names: by id */
    unsigned max_id = 0;
    for (size_t i = 0; i < s->n_classes; i++) max_id = s->classes[i].id > max_id ? s->classes[i].id : max_id;
    s->n_class_names = (size_t)max_id + 1;
    s->class_names = calloc(s->n_class_names, sizeof *s->class_names);
    if (!s->class_names) return avt_err(c->err, AVT_NOMEM, "%s: out of memory", c->origin);
    for (size_t i = 0; i < s->n_class_names; i++) s->class_names[i] = "";
    s->class_names[0] = slot_set(s, SLOT_NONE, "none");
    for (size_t i = 0; i < s->n_classes; i++)
        s->class_names[s->classes[i].id] = slot_set(s, SLOT_CLASS + (int)i, s->classes[i].name);
    return AVT_OK;
}

int avt_schema_parse(const char *text, size_t len, const char *origin, avt_schema *s, avt_error *err)
{
    memset(s, 0, sizeof *s);
    parse_ctx c = {.origin = origin, .err = err};
    yaml_parser_t parser;
    int rc = AVT_OK, have_doc = 0;
    if (len > (1u << 20)) return avt_err(err, AVT_FORMAT, "%s: %zu bytes, more than the 1 MiB a schema may have", origin, len);
    s->text = malloc(len + 1);
    s->strings = calloc(SLOT_COUNT, AVT_SCHEMA_NAME_MAX);
    if (!s->text || !s->strings) {
        avt_schema_free(s);
        return avt_err(err, AVT_NOMEM, "%s: out of memory", origin);
    }
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->text_len = len;
    if (strlen(s->text) != len) {
        avt_schema_free(s);
        return avt_err(err, AVT_FORMAT, "%s: a NUL byte in the schema text", origin);
    }
    if (!yaml_parser_initialize(&parser)) {
        avt_schema_free(s);
        return avt_err(err, AVT_NOMEM, "%s: cannot initialise the YAML parser", origin);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)s->text, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        rc = avt_err(err, AVT_FORMAT, "%s: line %lu column %lu: YAML error: %s", origin,
                     (unsigned long)parser.problem_mark.line + 1, (unsigned long)parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "unknown");
        goto out;
    }
    have_doc = 1;
    rc = parse_doc(&c, s);
out:
    if (have_doc) yaml_document_delete(&c.doc);
    yaml_parser_delete(&parser);
    if (rc) avt_schema_free(s);
    return rc;
}

int avt_schema_load(const char *path, avt_schema *s, avt_error *err)
{
    char *text = NULL;
    size_t len = 0;
    memset(s, 0, sizeof *s);
    int rc = avt_read_file(path, 1u << 20, &text, &len, err);
    if (rc) return rc;
    rc = avt_schema_parse(text, len, path, s, err);
    free(text);
    return rc;
}

int avt_schema_builtin(const char *name, avt_schema *s, avt_error *err)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < AVT_N_EMBEDDED_SCHEMAS; i++)
        if (strcmp(name, AVT_EMBEDDED_SCHEMAS[i].name) == 0) {
            char origin[96];
            snprintf(origin, sizeof origin, "builtin:%s", name);
            return avt_schema_parse(AVT_EMBEDDED_SCHEMAS[i].text, AVT_EMBEDDED_SCHEMAS[i].len, origin, s, err);
        }
    return avt_err(err, AVT_NOTFOUND, "schema '%s': not a shipped schema (default, kitti, nuscenes) nor a file", name);
}

int avt_schema_default(avt_schema *s)
{
    avt_error e;
    return avt_schema_builtin("default", s, &e);
}

int avt_schema_for_log(const char *log_dir, const char *override, avt_schema *s, char *origin_out, size_t n,
                       avt_error *err)
{
    char path[4096];
    struct stat sb;
    const char *pick = override;
    int relative = 0;
    memset(s, 0, sizeof *s);
    if (!pick) {
        avt_log_config cfg;
        avt_path_join(path, sizeof path, log_dir, "log.yaml");
        int rc = avt_log_config_load(path, &cfg, err);
        if (rc) return rc;
        if (cfg.schema[0]) {
            snprintf(path, sizeof path, "%s", cfg.schema);
            pick = path, relative = 1;
        }
    }
    char file[4096];
    if (pick) {
        for (const char *const *b = AVT_SCHEMA_BUILTINS; *b; b++)
            if (strcmp(pick, *b) == 0) {
                if (origin_out) snprintf(origin_out, n, "builtin:%s", pick);
                return avt_schema_builtin(pick, s, err);
            }
        if (relative && pick[0] != '/') {
            if (avt_path_join(file, sizeof file, log_dir, pick)) return avt_err(err, AVT_INVAL, "%s: path too long", pick);
        } else {
            snprintf(file, sizeof file, "%s", pick);
        }
        if (stat(file, &sb) != 0)
            return avt_err(err, AVT_NOTFOUND, "schema '%s': not a shipped schema (default, kitti, nuscenes) nor a file (%s)",
                           pick, strerror(errno));
    } else {
        avt_path_join(file, sizeof file, log_dir, "schema.yaml");
        if (stat(file, &sb) != 0) {
            if (origin_out) snprintf(origin_out, n, "builtin:default");
            return avt_schema_builtin("default", s, err);
        }
    }
    if (origin_out) snprintf(origin_out, n, "%s", file);
    return avt_schema_load(file, s, err);
}

void avt_schema_free(avt_schema *s)
{
    if (!s) return;
    free(s->class_names);
    free(s->text);
    free(s->strings);
    memset(s, 0, sizeof *s);
}

const avt_schema_class *avt_schema_class_find(const avt_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n_classes; i++) {
        const avt_schema_class *k = &s->classes[i];
        if (strcmp(k->name, name) == 0) return k;
        size_t pl = strlen(k->parent);
        if (pl && strncmp(name, k->parent, pl) == 0 && name[pl] == '.' && strcmp(name + pl + 1, k->name) == 0) return k;
        for (size_t a = 0; a < k->n_aliases; a++)
            if (strcmp(k->aliases[a], name) == 0) return k;
    }
    return NULL;
}

const avt_schema_class *avt_schema_class_by_id(const avt_schema *s, unsigned id)
{
    for (size_t i = 0; i < s->n_classes; i++)
        if (s->classes[i].id == id) return &s->classes[i];
    return NULL;
}

int avt_schema_attribute_bit(const avt_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n_attributes; i++)
        if (strcmp(s->attribute_names[i], name) == 0) return (int)i;
    return -1;
}

int avt_schema_field(const avt_schema *s, const char *field)
{
    for (size_t i = 0; i < s->n_required; i++)
        if (strcmp(s->required[i], field) == 0) return 2;
    for (size_t i = 0; i < s->n_optional; i++)
        if (strcmp(s->optional[i], field) == 0) return 1;
    return 0;
}

unsigned avt_edit_distance(const char *a, const char *b)
{
    /* Wagner-Fischer with one row; strings beyond 63 characters are compared by their start */
    size_t la = strnlen(a, 63), lb = strnlen(b, 63);
    unsigned row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] > 255 ? 255 : row[lb];
}
