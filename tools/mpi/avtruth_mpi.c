/* avtruth-mpi: `avtruth batch` over MPI ranks (command line only; mpi/batch.c does the work).
 *   mpirun --enable-recovery -np N avtruth-mpi LOG... -o DIR [options]   (docs/scale-out.md) */
#include <errno.h>
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avtruth/mpi_batch.h"

#include "avt_git_sha.h"

static const char *USAGE =
    "usage: mpirun --enable-recovery -np N avtruth-mpi LOG... -o DIR [options]\n"
    "  builds each log into DIR/<log>.h5 as `avtruth batch` does (up-to-date outputs skipped),\n"
    "  rank 0 handing out logs longest first, then stitches DIR/dataset.h5\n"
    "  --threads N       OpenMP threads per build (default: the node's cores / its ranks)\n"
    "  --stitch FILE     the index to stitch (default DIR/dataset.h5); --no-stitch: none\n"
    "  --train R --val R --splits FILE   split options of `avtruth stitch`\n"
    "  --heartbeat S     a busy rank's heartbeat period (default 2)\n"
    "  --timeout S       a rank silent this long is dead, its log lost (default 120)\n";

static int parse(int argc, char **argv, avt_mpi_batch_options *o, avt_stitch_options *so,
                 char *stitch, size_t n)
{
    static const struct option opts[] = {
        {"output", 1, 0, 'o'}, {"threads", 1, 0, 'T'}, {"stitch", 1, 0, 'S'},
        {"no-stitch", 0, 0, 'N'}, {"train", 1, 0, 't'}, {"val", 1, 0, 'v'},
        {"splits", 1, 0, 's'}, {"heartbeat", 1, 0, 'H'}, {"timeout", 1, 0, 'W'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int c, no_stitch = 0;
    const char *st = NULL;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        double v = 0;
        int64_t iv = 0;
        int ok = 1;
        switch (c) {
        case 'o': o->dir = optarg; break;
        case 'T': ok = avt_parse_int64(optarg, &iv) && iv >= 1 && iv <= 1024, o->threads = (int)iv; break;
        case 'S': st = optarg; break;
        case 'N': no_stitch = 1; break;
        case 't': ok = avt_parse_double(optarg, &so->train); break;
        case 'v': ok = avt_parse_double(optarg, &so->val); break;
        case 's': so->splits_path = optarg; break;
        case 'H': ok = avt_parse_double(optarg, &v) && v > 0, o->heartbeat_s = v; break;
        case 'W': ok = avt_parse_double(optarg, &v) && v > 0, o->timeout_s = v; break;
        case 'h': fputs(USAGE, stdout); return 3;
        default: fputs(USAGE, stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "avtruth-mpi: %s: not a valid value: '%s'\n", argv[optind - 1], optarg);
            return 2;
        }
    }
    if (!o->dir || optind >= argc) {
        fprintf(stderr, "avtruth-mpi: expected LOG... -o DIR\n%s", USAGE);
        return 2;
    }
    if (o->heartbeat_s * 3 > o->timeout_s) {
        fprintf(stderr, "avtruth-mpi: --timeout %g must be at least 3 heartbeats (%g s)\n",
                o->timeout_s, o->heartbeat_s);
        return 2;
    }
    o->logs = (const char *const *)argv + optind;
    o->n_logs = (size_t)(argc - optind);
    if (!no_stitch) {
        int k = st ? snprintf(stitch, n, "%s", st) : snprintf(stitch, n, "%s/dataset.h5", o->dir);
        if (k < 0 || (size_t)k >= n) return 2;
        o->stitch_out = stitch;
    }
    o->stitch = so;
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    avt_mpi_batch_options o;
    avt_mpi_batch_options_default(&o);
    avt_stitch_options so;
    avt_stitch_options_default(&so);
    avt_build_options b;
    avt_build_options_default(&b);
    char stitch[4096], cmdline[8192] = "";
    for (int i = 0; i < argc; i++)
        snprintf(cmdline + strlen(cmdline), sizeof cmdline - strlen(cmdline), "%s%s", i ? " " : "",
                 argv[i]);
    b.command_line = cmdline;
    b.git_sha = AVT_GIT_SHA;
    o.build = &b;
    o.test_die_on = getenv("AVT_MPI_TEST_DIE");
    int rc = parse(argc, argv, &o, &so, stitch, sizeof stitch);
    if (rc == 0 && rank == 0 && mkdir(o.dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "avtruth-mpi: %s: cannot create: %s\n", o.dir, strerror(errno));
        rc = 1;
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD); /* every rank stops if rank 0 cannot go on */
    avt_mpi_batch_summary s;
    memset(&s, 0, sizeof s);
    if (rc == 0) {
        avt_error err = {0, ""};
        if (avt_mpi_batch(&o, stdout, &s, &err)) {
            fprintf(stderr, "avtruth-mpi: error: rank %d: %s\n", rank, err.msg);
            rc = 1;
        }
    }
    fflush(stdout);
    fflush(stderr);
    /* After a rank died, Open MPI 4.1's MPI_Finalize waits for it forever: every survivor
     * leaves without it (their builds are over), rank 0 with status 1. */
    if (s.abandon) _exit(rank == 0 ? 1 : rc);
    MPI_Finalize();
    return rc == 3 ? 0 : rc;
}
