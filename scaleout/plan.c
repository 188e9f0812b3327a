/* avtruth scaleout: which log is handed out first (the longest, by the size of its capture). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/scaleout.h"

/* Bytes of the regular files under path, recursively (symlinks not followed). */
static uint64_t tree_bytes(const char *path, int depth)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return 0;
    if (S_ISREG(sb.st_mode)) return (uint64_t)sb.st_size;
    if (!S_ISDIR(sb.st_mode) || depth > 8) return 0;
    DIR *d = opendir(path);
    uint64_t sum = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[4096];
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            avt_path_join(p, sizeof p, path, de->d_name))
            continue;
        sum += tree_bytes(p, depth + 1);
    }
    if (d) closedir(d);
    return sum;
}

uint64_t avt_scaleout_log_bytes(const char *log)
{
    char p[4096];
    struct stat sb;
    if (!avt_path_join(p, sizeof p, log, "lidar") && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
        return tree_bytes(p, 0);
    return tree_bytes(log, 0);
}

typedef struct sized {
    size_t i;
    uint64_t bytes;
} sized;

static int cmp_sized(const void *a, const void *b)
{
    const sized *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

int avt_scaleout_longest_first(const char *const *logs, size_t n, size_t *order, uint64_t *bytes,
                               avt_error *err)
{
    sized *s = calloc(n ? n : 1, sizeof *s);
    if (!s) return avt_err(err, AVT_NOMEM, "out of memory for %zu logs", n);
    for (size_t i = 0; i < n; i++) s[i].i = i, s[i].bytes = avt_scaleout_log_bytes(logs[i]);
    qsort(s, n, sizeof *s, cmp_sized);
    for (size_t i = 0; i < n; i++) {
        order[i] = s[i].i;
        if (bytes) bytes[s[i].i] = s[i].bytes;
    }
    free(s);
    return AVT_OK;
}
