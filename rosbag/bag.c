/* avtruth rosbag: one topic list and one message stream over rosbag2's two storages.
 *
 * A rosbag2 bag is a directory: metadata.yaml (rosbag2_bagfile_information: version,
 * storage_identifier "sqlite3" or "mcap", relative_file_paths in recording order,
 * compression_format/mode) and the storage files.
 *   sqlite3 (rosbag2_storage_default_plugins): tables topics(id, name, type,
 *     serialization_format, ...) and messages(id, topic_id, timestamp, data BLOB): read with
 *     libsqlite3, messages by (timestamp, id).
 *   mcap (rosbag2_storage_mcap, profile "ros2"): a channel per topic whose schema name is the
 *     message type ("sensor_msgs/msg/Image"), message_encoding "cdr"; Message log_time is the
 *     receive time. Read with rosbag/mcap.c in file order.
 * A single .db3 or .mcap file may be given instead of the directory. rosbag2's own
 * compression (compression_format zstd): mode FILE compresses each storage file as one zstd
 * stream (<name>.db3.zstd, .mcap.zstd), decompressed here into memory (sqlite3 opens it with
 * sqlite3_deserialize); mode MESSAGE compresses each message's data, decompressed one by one. */
#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>
#include <zstd.h>

#include "avtruth/rosbag.h"

typedef struct id_map {
    uint32_t id;
    size_t idx; /* topic index, or schema name index */
} id_map;

enum { COMP_NONE, COMP_MESSAGE, COMP_FILE };

struct avt_bag {
    int comp; /* rosbag2's compression_mode (format zstd) */
    char **files;
    size_t nfiles, cur;
    avt_bag_topic *topics;
    size_t ntopics, cap_topics;
    /* current file */
    sqlite3 *db;
    sqlite3_stmt *stmt;
    avt_mcap_reader *mcap;
    uint8_t *file_buf; /* COMP_FILE: the decompressed storage file */
    size_t file_len;
    sqlite3_int64 file_msgs, file_read; /* sqlite3: the current file's messages, and read */
    uint8_t *msg_buf;  /* COMP_MESSAGE: the current message decompressed */
    size_t msg_cap;
    id_map *ids; /* sqlite3 topic id / MCAP channel id -> topic */
    size_t nids, cap_ids;
    id_map *schemas; /* MCAP schema id -> index into schema_names */
    char **schema_names;
    size_t nschemas, cap_schemas, cap_schema_names;
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int add_file(avt_bag *b, size_t *cap, const char *dir, const char *name, avt_error *err)
{
    if (avt_grow((void **)&b->files, cap, b->nfiles + 1, sizeof *b->files)) return avt_err(err, AVT_NOMEM, "out of memory");
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p) return avt_err(err, AVT_NOMEM, "out of memory");
    if (*dir) snprintf(p, n, "%s/%s", dir, name);
    else snprintf(p, n, "%s", name);
    b->files[b->nfiles++] = p;
    return AVT_OK;
}

static yaml_node_t *yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static const char *yaml_str(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* metadata.yaml: the storage files in order; refuses compressed bags. */
static int read_metadata(avt_bag *b, const char *dir, const char *path, avt_error *err)
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = avt_read_file(path, 16u << 20, &text, &len, err);
    if (rc) return rc;
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = avt_err(err, AVT_FORMAT, "%s: line %lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        free(text);
        return rc;
    }
    yaml_node_t *info = yaml_get(&doc, yaml_document_get_root_node(&doc), "rosbag2_bagfile_information");
    const char *storage = yaml_str(yaml_get(&doc, info, "storage_identifier"));
    const char *comp = yaml_str(yaml_get(&doc, info, "compression_format"));
    const char *mode = yaml_str(yaml_get(&doc, info, "compression_mode"));
    yaml_node_t *paths = yaml_get(&doc, info, "relative_file_paths");
    if (!info || !storage || !paths || paths->type != YAML_SEQUENCE_NODE) {
        rc = avt_err(err, AVT_FORMAT, "%s: no rosbag2_bagfile_information with storage_identifier and "
                     "relative_file_paths", path);
    } else if (strcmp(storage, "sqlite3") != 0 && strcmp(storage, "mcap") != 0) {
        rc = avt_err(err, AVT_UNSUPPORTED, "%s: storage_identifier \"%s\" (supported: sqlite3, mcap)", path, storage);
    } else if (comp && *comp && strcmp(comp, "zstd") != 0) {
        rc = avt_err(err, AVT_UNSUPPORTED, "%s: compression_format \"%s\" (supported: zstd)", path, comp);
    } else if (comp && *comp && (!mode || (strcmp(mode, "FILE") != 0 && strcmp(mode, "MESSAGE") != 0))) {
        rc = avt_err(err, AVT_UNSUPPORTED, "%s: compression_mode \"%s\" (supported: FILE, MESSAGE)", path,
                     mode ? mode : "");
    } else {
        b->comp = !comp || !*comp ? COMP_NONE : strcmp(mode, "FILE") == 0 ? COMP_FILE : COMP_MESSAGE;
        for (yaml_node_item_t *it = paths->data.sequence.items.start; !rc && it < paths->data.sequence.items.top; it++) {
            const char *f = yaml_str(yaml_document_get_node(&doc, *it));
            if (!f || strchr(f, '/'))
                rc = avt_err(err, AVT_FORMAT, "%s: relative_file_paths: \"%s\" is not a file name", path, f ? f : "");
            else rc = add_file(b, &cap, dir, f, err);
        }
        if (!rc && b->nfiles == 0) rc = avt_err(err, AVT_FORMAT, "%s: relative_file_paths is empty", path);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int avt_bag_open(const char *path, avt_bag **out, avt_error *err)
{
    *out = NULL;
    avt_bag *b = calloc(1, sizeof *b);
    if (!b) return avt_err(err, AVT_NOMEM, "out of memory");
    struct stat st;
    int rc = AVT_OK;
    size_t cap = 0;
    char meta[4096];
    if (stat(path, &st) != 0) {
        rc = avt_err(err, AVT_NOTFOUND, "%s: no such bag", path);
    } else if (!S_ISDIR(st.st_mode)) {
        if (!ends_with(path, ".db3") && !ends_with(path, ".mcap"))
            rc = avt_err(err, AVT_UNSUPPORTED, "%s: not a rosbag2 directory, .db3 or .mcap file", path);
        else rc = add_file(b, &cap, "", path, err);
    } else if (avt_path_join(meta, sizeof meta, path, "metadata.yaml") == AVT_OK && stat(meta, &st) == 0) {
        rc = read_metadata(b, path, meta, err);
    } else {
        /* a directory without metadata.yaml (a bag being recorded): its storage files by name */
        DIR *d = opendir(path);
        struct dirent *e;
        if (!d) rc = avt_err(err, AVT_IO, "%s: cannot list the directory", path);
        while (!rc && d && (e = readdir(d)))
            if (ends_with(e->d_name, ".db3") || ends_with(e->d_name, ".mcap")) rc = add_file(b, &cap, path, e->d_name, err);
        if (d) closedir(d);
        if (!rc && b->nfiles == 0)
            rc = avt_err(err, AVT_NOTFOUND, "%s: no metadata.yaml and no .db3 or .mcap file", path);
        if (!rc) qsort(b->files, b->nfiles, sizeof *b->files, by_string);
    }
    if (rc) {
        avt_bag_close(b);
        return rc;
    }
    *out = b;
    return AVT_OK;
}

const avt_bag_topic *avt_bag_topics(const avt_bag *b, size_t *n)
{
    *n = b->ntopics;
    return b->topics;
}

static char *dup_n(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* The topic (name, type) maps to an index, added if new; its file-local id is recorded. */
static int map_topic(avt_bag *b, uint32_t id, const char *name, size_t name_n, const char *type, size_t type_n,
                     const char *enc, size_t enc_n, avt_error *err)
{
    size_t i;
    for (i = 0; i < b->ntopics; i++)
        if (strlen(b->topics[i].name) == name_n && memcmp(b->topics[i].name, name, name_n) == 0 &&
            strlen(b->topics[i].type) == type_n && memcmp(b->topics[i].type, type, type_n) == 0)
            break;
    if (i == b->ntopics) {
        if (avt_grow((void **)&b->topics, &b->cap_topics, b->ntopics + 1, sizeof *b->topics))
            return avt_err(err, AVT_NOMEM, "out of memory");
        avt_bag_topic *t = &b->topics[b->ntopics];
        t->name = dup_n(name, name_n);
        t->type = dup_n(type, type_n);
        t->encoding = dup_n(enc, enc_n);
        b->ntopics++;
        if (!t->name || !t->type || !t->encoding) return avt_err(err, AVT_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < b->nids; k++)
        if (b->ids[k].id == id) {
            b->ids[k].idx = i; /* MCAP: a repeated Channel record (identical by the spec) */
            return AVT_OK;
        }
    if (avt_grow((void **)&b->ids, &b->cap_ids, b->nids + 1, sizeof *b->ids)) return avt_err(err, AVT_NOMEM, "out of memory");
    b->ids[b->nids++] = (id_map){id, i};
    return AVT_OK;
}

static const id_map *find_id(const id_map *m, size_t n, uint32_t id)
{
    for (size_t k = 0; k < n; k++)
        if (m[k].id == id) return &m[k];
    return NULL;
}

static void close_file(avt_bag *b)
{
    sqlite3_finalize(b->stmt);
    sqlite3_close(b->db);
    avt_mcap_close(b->mcap);
    free(b->file_buf);
    b->file_buf = NULL;
    b->stmt = NULL;
    b->db = NULL;
    b->mcap = NULL;
    b->nids = 0;
    for (size_t i = 0; i < b->nschemas; i++) free(b->schema_names[i]);
    b->nschemas = 0;
}

static int open_sqlite(avt_bag *b, const char *path, avt_error *err)
{
    if (sqlite3_open_v2(b->file_buf ? ":memory:" : path, &b->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return avt_err(err, AVT_IO, "%s: sqlite3: %s", path, b->db ? sqlite3_errmsg(b->db) : "cannot open");
    if (b->file_buf && sqlite3_deserialize(b->db, "main", b->file_buf, (sqlite3_int64)b->file_len,
                                           (sqlite3_int64)b->file_len, SQLITE_DESERIALIZE_READONLY) != SQLITE_OK)
        return avt_err(err, AVT_FORMAT, "%s: sqlite3: %s", path, sqlite3_errmsg(b->db));
    sqlite3_stmt *q = NULL;
    int rc = AVT_OK, step;
    if (sqlite3_prepare_v2(b->db, "SELECT id, name, type, serialization_format FROM topics", -1, &q, NULL) != SQLITE_OK)
        return avt_err(err, AVT_FORMAT, "%s: not a rosbag2 sqlite3 file (%s)", path, sqlite3_errmsg(b->db));
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 1), *type = (const char *)sqlite3_column_text(q, 2),
                   *enc = (const char *)sqlite3_column_text(q, 3);
        sqlite3_int64 id = sqlite3_column_int64(q, 0);
        if (!name || !type || !enc || id < 0 || id > UINT32_MAX)
            rc = avt_err(err, AVT_FORMAT, "%s: topics row id %lld: a NULL or out-of-range column", path, (long long)id);
        else rc = map_topic(b, (uint32_t)id, name, strlen(name), type, strlen(type), enc, strlen(enc), err);
    }
    sqlite3_finalize(q);
    if (rc) return rc;
    /* the file's message count, for avt_bag_fraction only (0 if it cannot be had: the progress
     * then stays at the file's start until the next file) */
    b->file_msgs = b->file_read = 0;
    if (sqlite3_prepare_v2(b->db, "SELECT COUNT(*) FROM messages", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        b->file_msgs = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(b->db, "SELECT topic_id, timestamp, data, id FROM messages ORDER BY timestamp, id", -1,
                           &b->stmt, NULL) != SQLITE_OK)
        return avt_err(err, AVT_FORMAT, "%s: not a rosbag2 sqlite3 file (%s)", path, sqlite3_errmsg(b->db));
    return AVT_OK;
}

static int next_sqlite(avt_bag *b, avt_bag_msg *m, avt_error *err)
{
    const char *path = b->files[b->cur];
    int step = sqlite3_step(b->stmt);
    if (step == SQLITE_DONE) return 0;
    if (step != SQLITE_ROW) return avt_err(err, AVT_IO, "%s: sqlite3: %s", path, sqlite3_errmsg(b->db));
    sqlite3_int64 tid = sqlite3_column_int64(b->stmt, 0), row = sqlite3_column_int64(b->stmt, 3);
    const id_map *t = tid >= 0 && tid <= UINT32_MAX ? find_id(b->ids, b->nids, (uint32_t)tid) : NULL;
    if (!t) return avt_err(err, AVT_FORMAT, "%s: message id %lld: topic_id %lld not in topics", path, (long long)row, (long long)tid);
    m->topic = t->idx;
    b->file_read++;
    m->recv_ns = sqlite3_column_int64(b->stmt, 1);
    m->data = sqlite3_column_blob(b->stmt, 2);
    m->len = (size_t)sqlite3_column_bytes(b->stmt, 2);
    if (!m->data) m->data = (const uint8_t *)"";
    return 1;
}

static int next_mcap(avt_bag *b, avt_bag_msg *m, avt_error *err)
{
    const char *path = b->files[b->cur];
    avt_mcap_record r;
    int rc;
    while ((rc = avt_mcap_next(b->mcap, &r, err)) == 1) {
        if (r.op == AVT_MCAP_SCHEMA) {
            uint32_t id = (uint32_t)r.f[0].u;
            if (id == 0 || find_id(b->schemas, b->nschemas, id)) continue; /* repeated: identical by the spec */
            if (avt_grow((void **)&b->schemas, &b->cap_schemas, b->nschemas + 1, sizeof *b->schemas) ||
                avt_grow((void **)&b->schema_names, &b->cap_schema_names, b->nschemas + 1, sizeof *b->schema_names))
                return avt_err(err, AVT_NOMEM, "out of memory");
            b->schema_names[b->nschemas] = dup_n(r.f[1].p, r.f[1].n);
            if (!b->schema_names[b->nschemas]) return avt_err(err, AVT_NOMEM, "out of memory");
            b->schemas[b->nschemas] = (id_map){id, b->nschemas};
            b->nschemas++;
        } else if (r.op == AVT_MCAP_CHANNEL) {
            uint32_t sid = (uint32_t)r.f[1].u;
            const id_map *s = find_id(b->schemas, b->nschemas, sid);
            if (sid != 0 && !s)
                return avt_err(err, AVT_FORMAT, "%s: Channel %u at byte %llu: schema %u not defined before it", path,
                               (unsigned)r.f[0].u, (unsigned long long)r.offset, sid);
            const char *type = s ? b->schema_names[s->idx] : "";
            if ((rc = map_topic(b, (uint32_t)r.f[0].u, (const char *)r.f[2].p, r.f[2].n, type, strlen(type),
                                (const char *)r.f[3].p, r.f[3].n, err)))
                return rc;
        } else if (r.op == AVT_MCAP_MESSAGE) {
            const id_map *t = find_id(b->ids, b->nids, (uint32_t)r.f[0].u);
            if (!t)
                return avt_err(err, AVT_FORMAT, "%s: Message at byte %llu: channel %u not defined before it", path,
                               (unsigned long long)r.offset, (unsigned)r.f[0].u);
            if (r.f[2].u > INT64_MAX)
                return avt_err(err, AVT_FORMAT, "%s: Message at byte %llu: log_time %llu out of range", path,
                               (unsigned long long)r.offset, (unsigned long long)r.f[2].u);
            m->topic = t->idx;
            m->recv_ns = (int64_t)r.f[2].u;
            m->data = r.f[4].p;
            m->len = r.f[4].n;
            return 1;
        } else if (r.op == AVT_MCAP_DATA_END) {
            return 0; /* the summary repeats Schema/Channel records: nothing more to read */
        }
    }
    return rc;
}

/* One zstd stream (of any number of frames) into a malloc'ed buffer grown as needed, at most
 * max bytes. */
static int unzstd(const uint8_t *in, size_t n, size_t max, uint8_t **out, size_t *out_len, size_t *cap,
                  const char *what, avt_error *err)
{
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    if (!dc) return avt_err(err, AVT_NOMEM, "%s: zstd: out of memory", what);
    ZSTD_inBuffer ib = {in, n, 0};
    size_t len = 0, r = 1;
    int rc = AVT_OK;
    while (rc == AVT_OK && (ib.pos < ib.size || r != 0)) {
        if (len >= max) {
            rc = avt_err(err, AVT_UNSUPPORTED, "%s: zstd: more than %zu bytes decompressed", what, max);
            break;
        }
        if (len == *cap && avt_grow((void **)out, cap, *cap ? 2 * *cap : n * 4 + 4096, 1)) {
            rc = avt_err(err, AVT_NOMEM, "%s: zstd: out of memory after %zu bytes", what, len);
            break;
        }
        ZSTD_outBuffer ob = {*out, *cap < max ? *cap : max, len};
        size_t in_before = ib.pos;
        r = ZSTD_decompressStream(dc, &ob, &ib);
        if (ZSTD_isError(r)) rc = avt_err(err, AVT_FORMAT, "%s: zstd: %s", what, ZSTD_getErrorName(r));
        else if (r != 0 && ib.pos == ib.size && ob.pos == len && in_before == ib.pos)
            rc = avt_err(err, AVT_TRUNCATED, "%s: zstd stream cut after %zu bytes", what, n);
        len = ob.pos;
    }
    ZSTD_freeDCtx(dc);
    *out_len = len;
    return rc;
}

#define BAG_MAX_MESSAGE ((size_t)1 << 30)
#define BAG_MAX_FILE ((size_t)64 << 30)

static int open_file(avt_bag *b, const char *path, avt_error *err)
{
    char name[4096];
    snprintf(name, sizeof name, "%s", path);
    if (b->comp == COMP_FILE) {
        if (!ends_with(name, ".zstd"))
            return avt_err(err, AVT_FORMAT, "%s: compression_mode FILE, but the name does not end in .zstd", path);
        name[strlen(name) - 5] = 0;
        char *z = NULL;
        size_t zn = 0, cap = 0;
        int rc = avt_read_file(path, BAG_MAX_FILE, &z, &zn, err);
        if (!rc) rc = unzstd((const uint8_t *)z, zn, BAG_MAX_FILE, &b->file_buf, &b->file_len, &cap, path, err);
        free(z);
        if (rc) return rc;
        if (ends_with(name, ".mcap")) return avt_mcap_open_mem(b->file_buf, b->file_len, path, &b->mcap, err);
        return open_sqlite(b, path, err);
    }
    return ends_with(name, ".mcap") ? avt_mcap_open(path, &b->mcap, err) : open_sqlite(b, path, err);
}

int avt_bag_next(avt_bag *b, avt_bag_msg *m, avt_error *err)
{
    for (;;) {
        if (b->cur >= b->nfiles) return 0;
        const char *path = b->files[b->cur];
        int rc;
        if (!b->db && !b->mcap && (rc = open_file(b, path, err))) return rc;
        rc = b->mcap ? next_mcap(b, m, err) : next_sqlite(b, m, err);
        if (rc == 1 && b->comp == COMP_MESSAGE) {
            size_t n;
            char what[4200];
            snprintf(what, sizeof what, "%s: message at %lld", path, (long long)m->recv_ns);
            if ((rc = unzstd(m->data, m->len, BAG_MAX_MESSAGE, &b->msg_buf, &n, &b->msg_cap, what, err))) return rc;
            m->data = b->msg_buf;
            m->len = n;
            return 1;
        }
        if (rc == AVT_TRUNCATED && b->cur + 1 < b->nfiles) { /* a cut in the middle of the bag */
            char msg[AVT_ERROR_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return avt_err(err, AVT_FORMAT, "%s; and %zu more files of the bag follow it", msg, b->nfiles - b->cur - 1);
        }
        if (rc != 0) return rc;
        close_file(b);
        b->cur++;
    }
}

double avt_bag_fraction(const avt_bag *b)
{
    if (!b || b->nfiles == 0) return 1.0;
    /* a file still being written may hold more messages than its COUNT(*) said */
    double in = b->mcap ? avt_mcap_fraction(b->mcap)
                : b->db && b->file_msgs > 0 ? fmin(1.0, (double)b->file_read / (double)b->file_msgs) : 0.0;
    return ((double)(b->cur < b->nfiles ? b->cur : b->nfiles) + in) / (double)b->nfiles;
}

void avt_bag_close(avt_bag *b)
{
    if (!b) return;
    close_file(b);
    for (size_t i = 0; i < b->nfiles; i++) free(b->files[i]);
    for (size_t i = 0; i < b->ntopics; i++) {
        free(b->topics[i].name);
        free(b->topics[i].type);
        free(b->topics[i].encoding);
    }
    free(b->files);
    free(b->topics);
    free(b->ids);
    free(b->schemas);
    free(b->schema_names);
    free(b->msg_buf);
    free(b);
}
