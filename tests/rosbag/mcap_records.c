/* Test helper: prints every record avt_mcap_next returns, one JSON object per line, in the
 * shape of the MCAP conformance suite's expected files (field names sorted, every integer a
 * decimal string, bytes a list of decimal strings, maps objects), then a line
 * {"end": FILE, "error": the reader's message or null}. Exit 1 if any file failed.
 *
 * usage: mcap_records FILE.mcap... */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/rosbag.h"

static json_t *ustr(uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    return json_string(b);
}

static json_t *str_n(const uint8_t *p, size_t n) { return json_stringn((const char *)p, n); }

static json_t *field_value(const avt_mcap_field *f)
{
    avt_cursor c = avt_cursor_make(f->p, f->n);
    json_t *v;
    switch (f->kind) {
    case AVT_MCAP_U8: case AVT_MCAP_U16: case AVT_MCAP_U32: case AVT_MCAP_U64: return ustr(f->u);
    case AVT_MCAP_STR: return str_n(f->p, f->n);
    case AVT_MCAP_MAP_SS:
        v = json_object();
        while (avt_cursor_left(&c)) {
            uint32_t kn = avt_get_le32(&c);
            const uint8_t *k = c.p + c.pos;
            avt_cursor_skip(&c, kn);
            uint32_t vn = avt_get_le32(&c);
            const uint8_t *s = c.p + c.pos;
            avt_cursor_skip(&c, vn);
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)kn, (const char *)k);
            json_object_set_new(v, key, str_n(s, vn));
        }
        return v;
    case AVT_MCAP_MAP_U16U64:
        v = json_object();
        while (avt_cursor_left(&c)) {
            char key[16];
            snprintf(key, sizeof key, "%u", avt_get_le16(&c));
            json_object_set_new(v, key, ustr(avt_get_le64(&c)));
        }
        return v;
    case AVT_MCAP_TUPLES:
        v = json_array();
        while (avt_cursor_left(&c)) {
            json_t *t = json_array();
            json_array_append_new(t, ustr(avt_get_le64(&c)));
            json_array_append_new(t, ustr(avt_get_le64(&c)));
            json_array_append_new(v, t);
        }
        return v;
    default: /* bytes */
        v = json_array();
        for (size_t i = 0; i < f->n; i++) json_array_append_new(v, ustr(f->p[i]));
        return v;
    }
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(o);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const avt_mcap_field *const *)a)->name, (*(const avt_mcap_field *const *)b)->name);
}

/* Prints one file's records, then {"end": "FILE", "error": MSG or null}. Returns 0 or 1. */
static int dump(const char *path)
{
    avt_error err = {0};
    avt_mcap_reader *r = NULL;
    int rc = avt_mcap_open(path, &r, &err) ? -1 : 1;
    avt_mcap_record rec;
    while (rc == 1 && (rc = avt_mcap_next(r, &rec, &err)) == 1) {
        const avt_mcap_field *sorted[AVT_MCAP_MAX_FIELDS];
        for (int i = 0; i < rec.nfields; i++) sorted[i] = &rec.f[i];
        qsort(sorted, (size_t)rec.nfields, sizeof sorted[0], by_name);
        json_t *fields = json_array();
        for (int i = 0; i < rec.nfields; i++)
            json_array_append_new(fields, json_pack("[s, o]", sorted[i]->name, field_value(sorted[i])));
        print_json(json_pack("{s:s, s:o}", "type", rec.type, "fields", fields));
    }
    avt_mcap_close(r);
    print_json(json_pack("{s:s, s:o}", "end", path, "error", rc < 0 ? json_string(err.msg) : json_null()));
    return rc < 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mcap_records FILE.mcap...\n");
        return 2;
    }
    int failed = 0;
    for (int i = 1; i < argc; i++) failed |= dump(argv[i]);
    return failed;
}
