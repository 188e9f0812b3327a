/* avtruth pipeline: sweep sources — a packet capture or a directory of point-cloud files.
 * Point-cloud files carry no per-point times, rings or return types: every point gets the
 * file's time (its name, integer ns), ring 0 and return type 0 (single), and each file is one
 * complete sweep whose start, end and reference times are that time. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/pointcloud.h"
#include "source.h"

struct sweep_source {
    avt_lidar_reader *reader; /* a capture, or */
    char dir[4096];           /* a directory of clouds: */
    char **files;             /* sorted by time */
    int64_t *times;
    size_t n, next;
    char current[4096];
    avt_pointcloud pc;
    avt_sweep sw;
    uint16_t *ring;
    int64_t *t_ns;
    uint8_t *rtype;
    size_t cap;
    char capture[4096];
};

static int is_cloud(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && strcmp(name + n - 4, ".bin") == 0) || (n > 4 && strcmp(name + n - 4, ".pcd") == 0);
}

static int is_capture(const char *name)
{
    const char *ext = strrchr(name, '.');
    return ext && (strcmp(ext, ".pcap") == 0 || strcmp(ext, ".pcapng") == 0);
}

int sweep_source_find(const char *log_dir, char *desc, size_t n, avt_error *err)
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
        if (is_cloud(e->d_name)) clouds++;
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

/* Time from a cloud's file name: the integer nanoseconds before the first '.'. */
static int cloud_time(const char *name, int64_t *t)
{
    char num[32];
    size_t k = strcspn(name, ".");
    if (k == 0 || k >= sizeof num) return 0;
    memcpy(num, name, k);
    num[k] = '\0';
    for (size_t i = 0; i < k; i++)
        if (num[i] < '0' || num[i] > '9') return 0;
    return avt_parse_int64(num, t);
}

static int open_dir(sweep_source *s, avt_error *err)
{
    DIR *d = opendir(s->dir);
    if (!d) return avt_err(err, AVT_IO, "%s: %s", s->dir, strerror(errno));
    size_t cap_f = 0, cap_t = 0;
    int rc = AVT_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_cloud(e->d_name)) continue;
        int64_t t;
        if (!cloud_time(e->d_name, &t)) {
            rc = avt_err(err, AVT_FORMAT, "%s/%s: point-cloud files must be named <t_ns>.bin|.pcd.bin|.pcd", s->dir,
                         e->d_name);
            goto out;
        }
        if (avt_grow((void **)&s->files, &cap_f, s->n + 1, sizeof *s->files) ||
            avt_grow((void **)&s->times, &cap_t, s->n + 1, sizeof *s->times) || !(s->files[s->n] = strdup(e->d_name))) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
            goto out;
        }
        s->times[s->n++] = t;
    }
    /* sort by time (insertion sort keeps names and times together) */
    for (size_t i = 1; i < s->n; i++)
        for (size_t j = i; j > 0 && s->times[j] < s->times[j - 1]; j--) {
            int64_t t = s->times[j];
            s->times[j] = s->times[j - 1];
            s->times[j - 1] = t;
            char *f = s->files[j];
            s->files[j] = s->files[j - 1];
            s->files[j - 1] = f;
        }
    for (size_t i = 1; i < s->n; i++)
        if (s->times[i] == s->times[i - 1]) {
            rc = avt_err(err, AVT_FORMAT, "%s: %s and %s have the same time", s->dir, s->files[i - 1], s->files[i]);
            goto out;
        }
out:
    closedir(d);
    return rc;
}

sweep_source *sweep_source_open(const char *desc, const avt_lidar_config *lc, avt_error *err)
{
    sweep_source *s = calloc(1, sizeof *s);
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
    sweep_source_close(s);
    return NULL;
}

int sweep_source_stats(const sweep_source *s, avt_lidar_stats *st)
{
    if (!s->reader) return 0;
    avt_lidar_stats_get(s->reader, st);
    return 1;
}

int sweep_source_next(sweep_source *s, const avt_sweep **sw, avt_error *err)
{
    if (s->reader) return avt_lidar_next(s->reader, sw, err);
    *sw = NULL;
    if (s->next >= s->n) return 0;
    avt_pointcloud_free(&s->pc);
    if (avt_path_join(s->current, sizeof s->current, s->dir, s->files[s->next]))
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
    const int64_t t = s->times[s->next];
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

const char *sweep_source_file(const sweep_source *s) { return s->reader ? NULL : s->current; }
const char *sweep_source_capture(const sweep_source *s) { return s->reader ? s->capture : NULL; }

void sweep_source_close(sweep_source *s)
{
    if (!s) return;
    avt_lidar_close(s->reader);
    for (size_t i = 0; i < s->n; i++) free(s->files[i]);
    free(s->files);
    free(s->times);
    avt_pointcloud_free(&s->pc);
    free(s->ring);
    free(s->t_ns);
    free(s->rtype);
    free(s);
}

int sweep_source_config(const char *log_dir, const avt_build_options *opt, avt_lidar_config *lc, avt_log_config *lcfg,
                        char *log_yaml, char *meta_abs, char *vcal_abs, avt_error *err)
{
    avt_lidar_config_default(lc);
    lc->model = opt->lidar_model;
    lc->cut_angle_deg = opt->cut_angle_deg;
    /* log.yaml overrides the defaults; the command line's --lidar-model overrides log.yaml */
    avt_path_join(log_yaml, 4096, log_dir, "log.yaml");
    int rc = avt_log_config_load(log_yaml, lcfg, err);
    if (rc) return rc;
    if (lcfg->lidar_model[0] && strcmp(opt->lidar_model, "auto") == 0) lc->model = lcfg->lidar_model;
    if (lcfg->lidar_data_port) lc->data_port = lcfg->lidar_data_port;
    if (lcfg->lidar_position_port) lc->position_port = lcfg->lidar_position_port;
    if (lcfg->lidar_metadata[0]) {
        avt_path_join(meta_abs, 4096, log_dir, lcfg->lidar_metadata);
        lc->metadata_path = meta_abs;
    }
    if (lcfg->lidar_calibration[0]) {
        avt_path_join(vcal_abs, 4096, log_dir, lcfg->lidar_calibration);
        lc->calibration_path = vcal_abs;
    }
    if (lcfg->lidar_source[0]) lc->source_addr = lcfg->lidar_source;
    if (opt->lidar_calibration) lc->calibration_path = opt->lidar_calibration;
    if (opt->lidar_source) lc->source_addr = opt->lidar_source;
    return AVT_OK;
}
