/* avtruth labels: ego poses from poses.csv (docs/drive-log.md), interpolated in time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/labels.h"

int avt_poses_load(const char *path, avt_poses *p, avt_error *err)
{
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? AVT_OK : avt_err(err, AVT_IO, "%s: cannot open: %s", path, strerror(errno));
    char line[1024];
    size_t cap_t = 0, cap_T = 0;
    long lineno = 0;
    int rc = AVT_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = avt_err(err, AVT_FORMAT, "%s: line %ld: longer than %zu characters", path, lineno, sizeof line - 2);
            goto out;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        if (lineno == 1) {
            if (strcmp(line, "t_ns,x,y,z,qw,qx,qy,qz") != 0) {
                rc = avt_err(err, AVT_FORMAT, "%s: line 1: expected header 't_ns,x,y,z,qw,qx,qy,qz', got '%s'", path, line);
                goto out;
            }
            continue;
        }
        char *fields[8], *save = NULL, *tok = strtok_r(line, ",", &save);
        int nf = 0;
        while (tok && nf < 8) {
            fields[nf++] = tok;
            tok = strtok_r(NULL, ",", &save);
        }
        if (nf != 8 || tok) {
            rc = avt_err(err, AVT_FORMAT, "%s: line %ld: expected 8 comma-separated fields", path, lineno);
            goto out;
        }
        int64_t t;
        double v[7];
        if (!avt_parse_int64(fields[0], &t)) {
            rc = avt_err(err, AVT_FORMAT, "%s: line %ld: t_ns: not an integer: '%s'", path, lineno, fields[0]);
            goto out;
        }
        for (int k = 0; k < 7; k++)
            if (!avt_parse_double(fields[k + 1], &v[k])) {
                rc = avt_err(err, AVT_FORMAT, "%s: line %ld: field %d: not a finite number: '%s'", path, lineno,
                             k + 2, fields[k + 1]);
                goto out;
            }
        double qn = v[3] * v[3] + v[4] * v[4] + v[5] * v[5] + v[6] * v[6];
        if (qn < 0.98 || qn > 1.02) {
            rc = avt_err(err, AVT_FORMAT, "%s: line %ld: quaternion norm %.6f is not 1", path, lineno, qn);
            goto out;
        }
        if (p->n && t <= p->t_ns[p->n - 1]) {
            rc = avt_err(err, AVT_FORMAT, "%s: line %ld: time %lld ns is not after the previous row's %lld ns",
                         path, lineno, (long long)t, (long long)p->t_ns[p->n - 1]);
            goto out;
        }
        if (avt_grow((void **)&p->t_ns, &cap_t, p->n + 1, sizeof *p->t_ns) ||
            avt_grow((void **)&p->T, &cap_T, p->n + 1, sizeof *p->T)) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
            goto out;
        }
        p->t_ns[p->n] = t;
        p->T[p->n] = avt_tf_from_qt(&v[3], v);
        p->n++;
    }
    if (ferror(f)) rc = avt_err(err, AVT_IO, "%s: read error", path);
out:
    fclose(f);
    if (rc) avt_poses_free(p);
    return rc;
}

int avt_poses_at_cursor(const avt_poses *p, int64_t t, avt_poses_cursor *c, avt_tf *out,
                        avt_error *err)
{
    if (p->n == 0) {
        *out = avt_tf_identity();
        return AVT_OK;
    }
    if (t < p->t_ns[0] || t > p->t_ns[p->n - 1])
        return avt_err(err, AVT_NOTFOUND, "%s: no pose at %lld ns (poses cover %lld .. %lld ns)", p->path,
                       (long long)t, (long long)p->t_ns[0], (long long)p->t_ns[p->n - 1]);
    if (p->n == 1) {
        *out = p->T[0];
        return AVT_OK;
    }
    /* the interval: the last lo < n - 1 with t_ns[lo] <= t */
    size_t lo = c->lo;
    if (!c->valid || lo + 1 >= p->n || t < p->t_ns[lo] || (t >= p->t_ns[lo + 1] && lo + 2 < p->n)) {
        size_t hi = p->n - 1;
        lo = 0;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (p->t_ns[mid] <= t) lo = mid;
            else hi = mid;
        }
        c->lo = lo;
        c->valid = 1;
        avt_tf_slerp_init(&c->z, &p->T[lo], &p->T[lo + 1]);
    }
    if (t == p->t_ns[lo]) {
        *out = p->T[lo];
        return AVT_OK;
    }
    double s = (double)(t - p->t_ns[lo]) / (double)(p->t_ns[lo + 1] - p->t_ns[lo]);
    *out = avt_tf_slerp_at(&c->z, s);
    return AVT_OK;
}

int avt_poses_at(const avt_poses *p, int64_t t, avt_tf *out, avt_error *err)
{
    avt_poses_cursor c = {0};
    return avt_poses_at_cursor(p, t, &c, out, err);
}

void avt_poses_free(avt_poses *p)
{
    if (!p) return;
    free(p->t_ns);
    free(p->T);
    p->t_ns = NULL;
    p->T = NULL;
    p->n = 0;
}
