/* avtruth common: the one indexer of a drive log's timed files (docs/drive-log.md):
 * labels/<t_ns>.json, lidar/<t_ns>.bin|.pcd.bin|.pcd and cameras/<name>/<time>.png. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/common.h"

int avt_name_ends_with(const char *name, const char *const *suffixes)
{
    size_t n = strlen(name);
    for (size_t i = 0; suffixes[i]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(name + n - k, suffixes[i]) == 0) return 1;
    }
    return 0;
}

/* The <t_ns>.<ext> rule: one or more digits, then exactly one of exts. */
static int default_time(const char *name, const char *const *exts, int64_t *t_ns)
{
    size_t k = strspn(name, "0123456789");
    char num[24];
    if (k == 0 || k >= sizeof num) return AVT_FORMAT;
    int ext_ok = 0;
    for (size_t e = 0; exts[e]; e++) ext_ok |= strcmp(name + k, exts[e]) == 0;
    if (!ext_ok) return AVT_FORMAT;
    memcpy(num, name, k);
    num[k] = '\0';
    return avt_parse_int64(num, t_ns) ? AVT_OK : AVT_FORMAT;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const avt_timed_file *)a)->name, ((const avt_timed_file *)b)->name);
}

static int cmp_time(const void *a, const void *b)
{
    const avt_timed_file *x = a, *y = b;
    if (x->t_ns != y->t_ns) return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
    return strcmp(x->name, y->name);
}

int avt_file_index_list(const char *dir, const char *const *exts, avt_name_time_fn time_of,
                        avt_file_index *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return AVT_NOTFOUND;
        return avt_err(err, AVT_IO, "%s: cannot list: %s", dir, strerror(errno));
    }
    size_t cap = 0;
    int rc = AVT_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !avt_name_ends_with(e->d_name, exts)) continue;
        if (avt_grow((void **)&out->files, &cap, out->n + 1, sizeof *out->files)) goto nomem;
        avt_timed_file *f = &out->files[out->n];
        if (!(f->name = strdup(e->d_name))) goto nomem;
        out->n++;
        int ok = time_of ? time_of(f->name, &f->t_ns) : default_time(f->name, exts, &f->t_ns);
        if (ok != AVT_OK) f->t_ns = AVT_NO_TIME;
    }
    if (out->n) qsort(out->files, out->n, sizeof *out->files, cmp_name);
    goto out;
nomem:
    rc = avt_err(err, AVT_NOMEM, "%s: out of memory", dir);
    avt_file_index_free(out);
out:
    closedir(d);
    return rc;
}

void avt_file_index_sort_time(avt_file_index *idx)
{
    if (idx->n) qsort(idx->files, idx->n, sizeof *idx->files, cmp_time);
}

void avt_file_index_free(avt_file_index *idx)
{
    if (!idx) return;
    for (size_t i = 0; i < idx->n; i++) free(idx->files[i].name);
    free(idx->files);
    memset(idx, 0, sizeof *idx);
}
