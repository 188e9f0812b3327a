/* avtruth ingest: sweep sources (include/avtruth/ingest.h) — a packet capture or a directory
 * of point-cloud files. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/pointcloud.h"
#include "avtruth/ingest.h"

/* the point-cloud file names of docs/drive-log.md */
static const char *const CLOUD_EXTS[] = {".bin", ".pcd.bin", ".pcd", NULL};

struct avt_sweep_source {
    avt_lidar_reader *reader; /* a capture, or */
    char dir[4096];           /* a directory of clouds: */
    avt_file_index files;     /* sorted by time */
    size_t next;
    char current[4096];
    avt_pointcloud pc;
    avt_sweep sw;
    uint16_t *ring;
    int64_t *t_ns;
    uint8_t *rtype;
    size_t cap;
    char capture[4096];
};

static int is_capture(const char *name)
{
    const char *ext = strrchr(name, '.');
    return ext && (strcmp(ext, ".pcap") == 0 || strcmp(ext, ".pcapng") == 0);
}

int avt_sweep_source_find(const char *log_dir, char *desc, size_t n, avt_error *err)
{
    char dir[4096];
    if (avt_path_join(dir, sizeof dir, log_dir, "lidar")) return avt_err(err, AVT_INVAL, "%s: path too long", log_dir);
    DIR *d = opendir(dir);
    if (!d)
        return avt_err(err, AVT_NOTFOUND,
                       "%s: no lidar/ directory (%s); a drive log needs lidar/<sensor>.pcap or point-cloud files",
                       log_dir, strerror(errno));
    char best[256] = "";
    int clouds = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (avt_name_ends_with(e->d_name, CLOUD_EXTS)) clouds++;
        if (!is_capture(e->d_name)) continue;
        if (strlen(e->d_name) < sizeof best && (!best[0] || strcmp(e->d_name, best) < 0))
            memcpy(best, e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    if (best[0]) return avt_path_join(desc, n, dir, best) ? avt_err(err, AVT_INVAL, "%s: path too long", dir) : AVT_OK;
    if (clouds) return avt_path_join(desc, n, dir, "") ? avt_err(err, AVT_INVAL, "%s: path too long", dir) : AVT_OK;
    return avt_err(err, AVT_NOTFOUND, "%s: no .pcap/.pcapng capture and no point-cloud files (.bin, .pcd) in lidar/",
                   log_dir);
}

static int open_dir(avt_sweep_source *s, avt_error *err)
{
    int rc = avt_file_index_list(s->dir, CLOUD_EXTS, NULL, &s->files, err);
    if (rc == AVT_NOTFOUND) return avt_err(err, AVT_IO, "%s: %s", s->dir, strerror(ENOENT));
    if (rc) return rc;
    avt_file_index_sort_time(&s->files);
    const avt_timed_file *f = s->files.files;
    if (s->files.n && f[0].t_ns == AVT_NO_TIME)
        return avt_err(err, AVT_FORMAT, "%s/%s: point-cloud files must be named <t_ns>.bin|.pcd.bin|.pcd", s->dir,
                       f[0].name);
    for (size_t i = 1; i < s->files.n; i++)
        if (f[i].t_ns == f[i - 1].t_ns)
            return avt_err(err, AVT_FORMAT, "%s: %s and %s have the same time", s->dir, f[i - 1].name, f[i].name);
    return AVT_OK;
}

avt_sweep_source *avt_sweep_source_open(const char *desc, const avt_lidar_config *lc, avt_error *err)
{
    avt_sweep_source *s = calloc(1, sizeof *s);
    if (!s) {
        avt_err(err, AVT_NOMEM, "out of memory");
        return NULL;
    }
    struct stat sb;
    if (stat(desc, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(s->dir, sizeof s->dir, "%s", desc);
        size_t l = strlen(s->dir);
        if (l > 1 && s->dir[l - 1] == '/') s->dir[l - 1] = '\0';
        if (open_dir(s, err)) goto fail;
        return s;
    }
    snprintf(s->capture, sizeof s->capture, "%s", desc);
    s->reader = avt_lidar_open(desc, lc, err);
    if (!s->reader) goto fail;
    return s;
fail:
    avt_sweep_source_close(s);
    return NULL;
}

int avt_sweep_source_stats(const avt_sweep_source *s, avt_lidar_stats *st)
{
    if (!s->reader) return 0;
    avt_lidar_stats_get(s->reader, st);
    return 1;
}

int avt_sweep_source_next(avt_sweep_source *s, const avt_sweep **sw, avt_error *err)
{
    if (s->reader) return avt_lidar_next(s->reader, sw, err);
    *sw = NULL;
    if (s->next >= s->files.n) return 0;
    avt_pointcloud_free(&s->pc);
    if (avt_path_join(s->current, sizeof s->current, s->dir, s->files.files[s->next].name))
        return avt_err(err, AVT_INVAL, "%s: path too long", s->dir);
    int rc = avt_pointcloud_read(s->current, AVT_PC_AUTO, &s->pc, err);
    if (rc) return rc;
    size_t n = s->pc.n, c = s->cap;
    if (avt_grow((void **)&s->ring, &c, n ? n : 1, sizeof *s->ring)) goto nomem;
    c = s->cap;
    if (avt_grow((void **)&s->t_ns, &c, n ? n : 1, sizeof *s->t_ns)) goto nomem;
    c = s->cap;
    if (avt_grow((void **)&s->rtype, &c, n ? n : 1, sizeof *s->rtype)) goto nomem;
    s->cap = c;
    const int64_t t = s->files.files[s->next].t_ns;
    for (size_t i = 0; i < n; i++) {
        s->ring[i] = 0;
        s->t_ns[i] = t;
        s->rtype[i] = AVT_RETURN_SINGLE;
    }
    memset(&s->sw, 0, sizeof s->sw);
    s->sw.index = s->next;
    s->sw.n = n;
    s->sw.xyz = s->pc.xyz;
    s->sw.intensity = s->pc.intensity;
    s->sw.ring = s->ring;
    s->sw.t_ns = s->t_ns;
    s->sw.return_type = s->rtype;
    s->sw.start_ns = s->sw.end_ns = s->sw.timestamp_ns = t;
    s->sw.complete = 1;
    s->next++;
    *sw = &s->sw;
    return 1;
nomem:
    return avt_err(err, AVT_NOMEM, "%s: out of memory", s->current);
}

const char *avt_sweep_source_file(const avt_sweep_source *s) { return s->reader ? NULL : s->current; }
const char *avt_sweep_source_capture(const avt_sweep_source *s) { return s->reader ? s->capture : NULL; }

void avt_sweep_source_close(avt_sweep_source *s)
{
    if (!s) return;
    avt_lidar_close(s->reader);
    avt_file_index_free(&s->files);
    avt_pointcloud_free(&s->pc);
    free(s->ring);
    free(s->t_ns);
    free(s->rtype);
    free(s);
}
