/* avtruth export: stitch's schema check (docs/schema.md): class ids and attribute bits mean
 * what their schema says, so logs built with different annotation schemas (/meta/schema
 * texts) cannot share one index file. */
#include <stdlib.h>
#include <string.h>

#include "avtruth/schema.h"
#include "export_private.h"

/* /meta/schema of a file as a malloc'ed string ("" when absent). */
static char *schema_text(const char *file)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT), t = h5x_str_type();
    hid_t d = f >= 0 && H5Lexists(f, "meta/schema", H5P_DEFAULT) > 0 ? H5Dopen2(f, "meta/schema", H5P_DEFAULT) : -1;
    char *s = NULL, *copy;
    if (d < 0 || t < 0 || H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0) s = NULL;
    copy = strdup(s ? s : "");
    if (s) H5free_memory(s);
    if (d >= 0) H5Dclose(d);
    if (t >= 0) H5Tclose(t);
    if (f >= 0) H5Fclose(f);
    return copy;
}

/* A schema text's name for messages. */
static void schema_name(const char *text, char *out, size_t n)
{
    avt_schema s;
    avt_error e;
    if (!text[0]) snprintf(out, n, "(none recorded)");
    else if (avt_schema_parse(text, strlen(text), "/meta/schema", &s, &e) == AVT_OK) snprintf(out, n, "'%s'", s.name);
    else snprintf(out, n, "(unreadable)");
    avt_schema_free(&s);
}

int stitch_same_schema(char *const *files, size_t n, avt_error *err)
{
    char *first = n ? schema_text(files[0]) : NULL;
    int rc = n && !first ? avt_err(err, AVT_NOMEM, "out of memory") : AVT_OK;
    for (size_t k = 1; k < n && !rc; k++) {
        char *t = schema_text(files[k]);
        if (!t) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
        } else if (strcmp(t, first) != 0) {
            char a[96], b[96];
            schema_name(first, a, sizeof a);
            schema_name(t, b, sizeof b);
            rc = avt_err(err, AVT_MISMATCH,
                         "%s was built with annotation schema %s and %s with %s%s: their class ids and "
                         "attributes differ, rebuild them with one schema (build --schema)",
                         files[0], a, files[k], b, strcmp(a, b) == 0 ? " (same name, different text)" : "");
        }
        free(t);
    }
    free(first);
    return rc;
}
