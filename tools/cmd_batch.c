/* avtruth batch: many drive logs, one output file each, in N processes. */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "avtruth/export.h"
#include "avtruth/pipeline.h"
#include "avtruth/scaleout.h"
#include "commands.h"
#include "progress.h"

#include "avt_git_sha.h"

static int print_longest_first(const char *const *logs, size_t n)
{
    size_t *order = calloc(n, sizeof *order);
    uint64_t *bytes = calloc(n, sizeof *bytes);
    avt_error err = {0, ""};
    int rc = !order || !bytes ? avt_err(&err, AVT_NOMEM, "out of memory")
                              : avt_scaleout_longest_first(logs, n, order, bytes, &err);
    for (size_t i = 0; !rc && i < n; i++) printf("%s\n", logs[order[i]]);
    free(order);
    free(bytes);
    return rc ? cli_fail(&err) : 0;
}

static int run(int argc, char **argv, const char *cmdline)
{
    const char *dir = NULL;
    int64_t jobs = 1, threads = 0;
    int print_order = 0, quiet = 0;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, "DIR", "where DIR/<log>.h5 go (required)", NULL, .dest = &dir},
        {"jobs", 'j', CLI_INT, "N", "logs built at once, each in its own process", "1", 1, 256, .dest = &jobs},
        {"threads", 0, CLI_INT, "N", "OpenMP threads per job (Slurm: $SLURM_CPUS_PER_TASK)",
         "OMP_NUM_THREADS or the cores, shared among the jobs", 1, 1024, .dest = &threads},
        {"print-order", 0, CLI_FLAG, NULL, "print the logs longest first (by capture bytes, the order "
         "avtruth-mpi and tools/slurm/submit.sh hand them out) and exit", NULL, .dest = &print_order},
        {"quiet", 'q', CLI_FLAG, NULL, "no progress report on stderr", "off", .dest = &quiet},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_batch, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (print_order && npos >= 1) return print_longest_first((const char *const *)pos, (size_t)npos);
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
    int failed = 0, running = 0, done = 0;
    /* our children: wait() may also reap a process we inherited (a shell that exec'd us
     * leaves its process substitutions behind), which must not count as a log */
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    if (!pids) {
        fputs("avtruth: out of memory\n", stderr);
        return 1;
    }
    avt_build_options o;
    avt_build_options_default(&o);
    o.command_line = cmdline;
    o.git_sha = AVT_GIT_SHA;
    cli_progress pr;
    cli_progress_begin(&pr, "batch", "logs", quiet);
    fflush(stdout);
    for (int i = 0; i < npos || running > 0;) {
        if (i < npos && running < jobs) {
            /* the cores are shared among the jobs that can run at once (-j N, or fewer
             * logs): each child's OpenMP team and compression pool get that share (without
             * this, -j 2 on two cores ran 2-2.5x slower than -j 1: four busy threads,
             * spinning at every parallel region's end); --threads sets it per job */
            pid_t pid = avt_scaleout_spawn(pos[i], dir, &o, threads > 0 ? (int)threads : share, 1);
            if (pid < 0) {
                failed++;
                i++;
                continue;
            }
            for (int64_t k = 0; k < jobs; k++)
                if (!pids[k]) {
                    pids[k] = pid;
                    break;
                }
            running++;
            i++;
            continue;
        }
        int status = 0;
        pid_t w = wait(&status);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) break;
        int64_t k = 0;
        while (k < jobs && pids[k] != w) k++;
        if (k == jobs) continue;
        pids[k] = 0;
        running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
        done++;
        cli_progress_update(&pr, (double)done / npos, (uint64_t)done);
    }
    free(pids);
    cli_progress_end(&pr);
    if (failed) fprintf(stderr, "avtruth batch: %d of %d logs failed\n", failed, npos);
    return failed ? 1 : 0;
}

const cli_cmd avt_cmd_batch = {
    "batch", "LOG... -o DIR [-j N]",
    "Build each log into DIR/<log>.h5 in N processes sharing the OpenMP threads, skipping logs whose output "
    "verifies against unchanged inputs (an interrupted batch resumes).",
    "  avtruth batch /data/logs/* -o /data/out -j 2\n"
    "  avtruth batch \"$LOG\" -o /data/out --threads \"$SLURM_CPUS_PER_TASK\"   (tools/slurm/)\n", run};
