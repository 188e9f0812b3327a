/* avtruth scaleout: the per-log unit (verify, else build) and its child process. */
#define _GNU_SOURCE /* prctl */
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avtruth/export.h"
#include "avtruth/scaleout.h"

int avt_scaleout_output_path(const char *log, const char *dir, char *out, size_t n)
{
    size_t len = strlen(log);
    while (len > 1 && log[len - 1] == '/') len--;
    const char *b = log + len;
    while (b > log && b[-1] != '/') b--;
    int k = snprintf(out, n, "%s/%.*s.h5", dir, (int)(log + len - b), b);
    return k < 0 || (size_t)k >= n ? AVT_INVAL : AVT_OK;
}

int avt_scaleout_unit(const char *log, const char *dir, const avt_build_options *o,
                      avt_scaleout_result *r, avt_error *err)
{
    memset(r, 0, sizeof *r);
    if (avt_scaleout_output_path(log, dir, r->out, sizeof r->out))
        return avt_err(err, AVT_INVAL, "%s: output path in %s too long", log, dir);
    avt_error verr = {0, ""};
    FILE *devnull = fopen("/dev/null", "w");
    struct stat sb;
    r->skipped = stat(r->out, &sb) == 0 && devnull &&
                 avt_export_verify_inputs(r->out, log, devnull, &verr) == AVT_OK;
    if (devnull) fclose(devnull);
    if (r->skipped) return AVT_OK;
    avt_build_summary s;
    int rc = avt_build(log, r->out, o, &s, err);
    if (rc) return avt_err_prefix(err, "%s", log);
    r->frames = s.frames;
    r->seconds = s.seconds;
    avt_build_summary_free(&s);
    return AVT_OK;
}

void avt_scaleout_report(FILE *out, const avt_scaleout_result *r)
{
    if (r->skipped) fprintf(out, "%s: up to date (inputs unchanged), skipped\n", r->out);
    else fprintf(out, "%s: %llu frames, %.2f s\n", r->out, (unsigned long long)r->frames, r->seconds);
}

pid_t avt_scaleout_spawn(const char *log, const char *dir, const avt_build_options *o,
                         int threads, int die_with_parent)
{
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid(), pid = fork();
    if (pid != 0) return pid;
    /* the child: killed with its parent (checked again after prctl: the parent may have
     * died in between) */
    if (die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
        _exit(1);
    if (threads > 0) omp_set_num_threads(threads);
    avt_error err = {0, ""};
    avt_scaleout_result r;
    int rc = avt_scaleout_unit(log, dir, o, &r, &err);
    if (rc) fprintf(stderr, "avtruth: error: %s\n", err.msg[0] ? err.msg : avt_status_message(rc));
    else avt_scaleout_report(stdout, &r);
    fflush(stdout);
    fflush(stderr);
    _exit(rc ? 1 : 0);
}
