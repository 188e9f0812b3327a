/* avtruth batch: many drive logs, one output file each, in N processes. */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "avtruth/export.h"
#include "avtruth/pipeline.h"
#include "commands.h"

#include "avt_git_sha.h"

/* Builds one log of a batch into dir unless an output verified against the log's current
 * inputs is there already. Returns 0 built or skipped, 1 failed. */
static int batch_one(const char *log, const char *dir, const char *cmdline)
{
    char out[4096], name[1024];
    size_t len = strlen(log);
    while (len > 1 && log[len - 1] == '/') len--;
    const char *b = log + len;
    while (b > log && b[-1] != '/') b--;
    snprintf(name, sizeof name, "%.*s", (int)(log + len - b), b);
    snprintf(out, sizeof out, "%s/%s.h5", dir, name);
    avt_error err = {0, ""};
    FILE *devnull = fopen("/dev/null", "w");
    struct stat sb;
    int fresh = stat(out, &sb) == 0 && devnull && avt_export_verify(out, log, devnull, &err) == 0;
    if (devnull) fclose(devnull);
    if (fresh) {
        printf("%s: up to date (inputs unchanged), skipped\n", out);
        return 0;
    }
    avt_build_options o;
    avt_build_options_default(&o);
    o.command_line = cmdline;
    o.git_sha = AVT_GIT_SHA;
    avt_build_summary s;
    err.code = 0, err.msg[0] = '\0';
    if (avt_build(log, out, &o, &s, &err)) {
        fprintf(stderr, "avtruth: error: %s: %s\n", log, err.msg);
        return 1;
    }
    printf("%s: %llu frames, %.2f s\n", out, (unsigned long long)s.frames, s.seconds);
    avt_build_summary_free(&s);
    return 0;
}

static int run(int argc, char **argv, const char *cmdline)
{
    const char *dir = NULL;
    int64_t jobs = 1;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, "DIR", "where DIR/<log>.h5 go (required)", NULL, .dest = &dir},
        {"jobs", 'j', CLI_INT, "N", "logs built at once, each in its own process", "1", 1, 256, .dest = &jobs},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_batch, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (!dir || npos < 1) return cli_usage_error(&avt_cmd_batch, "expected LOG... -o DIR");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "avtruth: %s: cannot create: %s\n", dir, strerror(errno));
        return 1;
    }
    /* Logs run in child processes (HDF5 is not thread-safe), at most `jobs` at a time. */
    const int64_t running_max = jobs < npos ? jobs : npos;
    const int share = running_max > 0 && omp_get_max_threads() / running_max > 1
                          ? (int)(omp_get_max_threads() / running_max)
                          : 1;
    int failed = 0, running = 0;
    fflush(stdout);
    for (int i = 0; i < npos || running > 0;) {
        if (i < npos && running < jobs) {
            pid_t pid = fork();
            if (pid < 0) {
                failed++;
                i++;
                continue;
            }
            if (pid == 0) {
                /* the cores are shared among the jobs that can run at once (-j N, or fewer
                 * logs): each child's OpenMP team and compression pool get that share (without
                 * this, -j 2 on two cores ran 2-2.5x slower than -j 1: four busy threads,
                 * spinning at every parallel region's end) */
                omp_set_num_threads(share);
                int rc = batch_one(pos[i], dir, cmdline);
                fflush(stdout);
                _exit(rc);
            }
            running++;
            i++;
            continue;
        }
        int status = 0;
        if (wait(&status) < 0) break;
        running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    }
    if (failed) fprintf(stderr, "avtruth batch: %d of %d logs failed\n", failed, npos);
    return failed ? 1 : 0;
}

const cli_cmd avt_cmd_batch = {
    "batch", "LOG... -o DIR [-j N]",
    "Build each log into DIR/<log>.h5 in N processes sharing the OpenMP threads, skipping logs whose output "
    "verifies against unchanged inputs (an interrupted batch resumes).",
    "  avtruth batch /data/logs/* -o /data/out -j 2\n", run};
