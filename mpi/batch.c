/* avtruth mpi: rank 0 hands out logs longest first on request, every rank builds in a child
 * process, workers send heartbeats, rank 0 stitches at the end (include/avtruth/mpi_batch.h).
 *
 * Messages (MPI_INT triples to rank 0, tag TAG_UP; one MPI_INT back, tag TAG_DOWN):
 *   worker -> 0   {MSG_REQUEST, previous log or -1, its exit status}   "give me work"
 *   worker -> 0   {MSG_HEARTBEAT, current log, 0}                       "still building"
 *   0 -> worker   log index, or -1: no more work
 *   0 -> worker   at the very end, to every worker still alive: 0, or 1 if a rank died
 *                 (then nobody calls MPI_Finalize, which waits for the dead rank forever)
 * Rank 0 never blocks: it polls (MPI_Iprobe, waitpid WNOHANG) every POLL_MS. */
#define _GNU_SOURCE
#include <errno.h>
#include <mpi.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "avtruth/mpi_batch.h"
#include "avtruth/scaleout.h"

enum { TAG_UP = 1801, TAG_DOWN = 1802 };
enum { MSG_REQUEST = 1, MSG_HEARTBEAT = 2 };
enum { LOG_PENDING, LOG_RUNNING, LOG_DONE, LOG_SKIPPED, LOG_FAILED, LOG_LOST };
#define POLL_MS 20

void avt_mpi_batch_options_default(avt_mpi_batch_options *o)
{
    memset(o, 0, sizeof *o);
    o->heartbeat_s = 2;
    o->timeout_s = 120;
}

static void nap(void)
{
    struct timespec t = {0, POLL_MS * 1000000L};
    nanosleep(&t, NULL);
}

static int mpi_fail(avt_error *err, int code, const char *call)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, msg, &len);
    return avt_err(err, AVT_IO, "%s: %.*s", call, len, msg);
}

/* OpenMP threads per build: the node's cores shared among the node's ranks. */
static int threads_per_rank(const avt_mpi_batch_options *o)
{
    if (o->threads > 0) return o->threads;
    if (getenv("OMP_NUM_THREADS")) return 0; /* the user's choice stands */
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    int t = omp_get_num_procs() / (local > 0 ? local : 1);
    return t > 0 ? t : 1;
}

/* The exit status of a finished child: 0 built or skipped, else failed. */
static int child_status(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static const char *base_name(const char *log)
{
    size_t len = strlen(log);
    while (len > 1 && log[len - 1] == '/') len--;
    const char *b = log + len;
    while (b > log && b[-1] != '/') b--;
    return b;
}

/* The test hook: does this worker die on this log? */
static int dies_on(const avt_mpi_batch_options *o, const char *log)
{
    if (!o->test_die_on || !o->test_die_on[0]) return 0;
    size_t n = strlen(o->test_die_on);
    const char *b = base_name(log);
    return strncmp(b, o->test_die_on, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

/* ---- worker ranks ----------------------------------------------------------------------- */

/* Receives one int from rank 0, napping between polls: a blocking MPI_Recv spins a core
 * that the other ranks' builds need. */
static int recv_from_0(int *v, avt_error *err)
{
    int flag = 0, rc;
    while ((rc = MPI_Iprobe(0, TAG_DOWN, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE)) ==
               MPI_SUCCESS && !flag)
        nap();
    if (rc == MPI_SUCCESS)
        rc = MPI_Recv(v, 1, MPI_INT, 0, TAG_DOWN, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return rc == MPI_SUCCESS ? AVT_OK : mpi_fail(err, rc, "MPI_Recv");
}

static int worker(const avt_mpi_batch_options *o, int threads, avt_mpi_batch_summary *s,
                  avt_error *err)
{
    int msg[3] = {MSG_REQUEST, -1, 0}, rc;
    for (;;) {
        int log = -1;
        if ((rc = MPI_Send(msg, 3, MPI_INT, 0, TAG_UP, MPI_COMM_WORLD)) != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Send");
        if ((rc = recv_from_0(&log, err))) return rc;
        if (log < 0 || (size_t)log >= o->n_logs) {
            int verdict = 0;
            rc = recv_from_0(&verdict, err);
            s->abandon = verdict != 0;
            return rc;
        }
        pid_t pid = avt_scaleout_spawn(o->logs[log], o->dir, o->build, threads, 1);
        int status = 0x100; /* exit 1 if fork failed */
        double last = avt_monotonic_s(), start = last;
        int hook = dies_on(o, o->logs[log]);
        while (pid > 0) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid || (w < 0 && errno != EINTR)) break;
            if (hook && avt_monotonic_s() - start > 0.2) raise(SIGKILL); /* the child follows (PDEATHSIG) */
            if (avt_monotonic_s() - last >= o->heartbeat_s) {
                int hb[3] = {MSG_HEARTBEAT, log, 0};
                if ((rc = MPI_Send(hb, 3, MPI_INT, 0, TAG_UP, MPI_COMM_WORLD)) != MPI_SUCCESS) {
                    kill(pid, SIGKILL);
                    waitpid(pid, NULL, 0);
                    return mpi_fail(err, rc, "MPI_Send");
                }
                last = avt_monotonic_s();
            }
            nap();
        }
        msg[1] = log;
        msg[2] = pid > 0 ? child_status(status) : 1;
    }
}

/* ---- rank 0 ----------------------------------------------------------------------------- */

typedef struct coord {
    const avt_mpi_batch_options *o;
    FILE *out;
    int *state;        /* LOG_* per log */
    size_t *order;     /* longest first */
    size_t next;       /* next entry of order to hand out */
    int nranks;
    int *busy;         /* per rank: its log, or -1 */
    int *stopped;      /* per rank: told to stop */
    int *dead;         /* per rank: declared dead */
    double *seen;      /* per rank: last message */
    avt_mpi_batch_summary *s;
} coord;

static void finish_log(coord *c, int log, int status, int rank)
{
    if (log < 0 || (size_t)log >= c->o->n_logs) return;
    if (status == 0) {
        c->state[log] = LOG_DONE;
        c->s->done++;
    } else {
        c->state[log] = LOG_FAILED;
        c->s->failed++;
        fprintf(c->out, "avtruth-mpi: %s failed on rank %d (status %d)\n", c->o->logs[log], rank,
                status);
    }
}

/* The next log to build, or -1. */
static int next_log(coord *c)
{
    if (c->next >= c->o->n_logs) return -1;
    int log = (int)c->order[c->next++];
    c->state[log] = LOG_RUNNING;
    return log;
}

static int serve(coord *c, avt_error *err)
{
    int flag = 0, rc;
    MPI_Status st;
    while ((rc = MPI_Iprobe(MPI_ANY_SOURCE, TAG_UP, MPI_COMM_WORLD, &flag, &st)) == MPI_SUCCESS &&
           flag) {
        int msg[3], r = st.MPI_SOURCE;
        if ((rc = MPI_Recv(msg, 3, MPI_INT, r, TAG_UP, MPI_COMM_WORLD, MPI_STATUS_IGNORE)) !=
            MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Recv");
        c->seen[r] = avt_monotonic_s();
        if (c->dead[r]) { /* slower than the timeout, not dead: take it back */
            fprintf(c->out, "avtruth-mpi: rank %d is back after being declared dead\n", r);
            c->dead[r] = 0;
            c->s->ranks_lost--;
            if (c->busy[r] >= 0 && c->state[c->busy[r]] == LOG_LOST) {
                c->state[c->busy[r]] = LOG_RUNNING;
                c->s->lost--;
            }
        }
        if (msg[0] != MSG_REQUEST) continue;
        finish_log(c, msg[1], msg[2], r);
        int log = next_log(c);
        c->busy[r] = log;
        c->stopped[r] = log < 0;
        if ((rc = MPI_Send(&log, 1, MPI_INT, r, TAG_DOWN, MPI_COMM_WORLD)) != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Send");
    }
    return rc == MPI_SUCCESS ? AVT_OK : mpi_fail(err, rc, "MPI_Iprobe");
}

static void check_dead(coord *c)
{
    double t = avt_monotonic_s();
    for (int r = 1; r < c->nranks; r++) {
        if (c->stopped[r] || c->dead[r] || t - c->seen[r] <= c->o->timeout_s) continue;
        c->dead[r] = 1;
        c->s->ranks_lost++;
        int log = c->busy[r];
        if (log >= 0 && c->state[log] == LOG_RUNNING) {
            c->state[log] = LOG_LOST;
            c->s->lost++;
        }
        fprintf(c->out, "avtruth-mpi: rank %d silent for %.0f s, declared dead; %s%s lost\n", r,
                t - c->seen[r], log >= 0 ? c->o->logs[log] : "no log",
                log >= 0 ? " (a rerun rebuilds it)" : "");
        fflush(c->out);
    }
}

/* DIR/avtruth-mpi.status: "complete" (every log built or up to date, stitched if asked) or
 * "incomplete", then one "failed LOG" / "lost LOG" line each. mpirun --enable-recovery exits 0 whatever its ranks return (Open MPI 4.1):
 * scripts read this file instead. Written via .partial + rename. */
static int write_status(const avt_mpi_batch_options *o, const int *state, int complete,
                        avt_error *err)
{
    char path[4096], part[4200];
    if (avt_path_join(path, sizeof path, o->dir, "avtruth-mpi.status"))
        return avt_err(err, AVT_INVAL, "%s: path too long", o->dir);
    snprintf(part, sizeof part, "%s.partial", path);
    FILE *fh = fopen(part, "w");
    if (!fh) return avt_err(err, AVT_IO, "%s: cannot write: %s", part, strerror(errno));
    fprintf(fh, "%s\n", complete ? "complete" : "incomplete");
    for (size_t i = 0; i < o->n_logs; i++)
        if (state[i] == LOG_FAILED || state[i] == LOG_LOST)
            fprintf(fh, "%s %s\n", state[i] == LOG_LOST ? "lost" : "failed", o->logs[i]);
    if (fclose(fh) != 0 || rename(part, path) != 0)
        return avt_err(err, AVT_IO, "%s: cannot write: %s", path, strerror(errno));
    return AVT_OK;
}

static int coordinator(const avt_mpi_batch_options *o, int nranks, int threads, FILE *out,
                       avt_mpi_batch_summary *s, avt_error *err)
{
    int rc = AVT_OK;
    coord c = {o, out, NULL, NULL, 0, nranks, NULL, NULL, NULL, NULL, s};
    c.state = calloc(o->n_logs + 1, sizeof *c.state);
    c.order = calloc(o->n_logs + 1, sizeof *c.order);
    c.busy = calloc((size_t)nranks, sizeof *c.busy);
    c.stopped = calloc((size_t)nranks, sizeof *c.stopped);
    c.dead = calloc((size_t)nranks, sizeof *c.dead);
    c.seen = calloc((size_t)nranks, sizeof *c.seen);
    if (!c.state || !c.order || !c.busy || !c.stopped || !c.dead || !c.seen) {
        rc = avt_err(err, AVT_NOMEM, "out of memory for %zu logs", o->n_logs);
        goto out;
    }
    if ((rc = avt_scaleout_longest_first(o->logs, o->n_logs, c.order, NULL, err))) goto out;
    double t0 = avt_monotonic_s();
    for (int r = 0; r < nranks; r++) c.busy[r] = -1, c.seen[r] = t0;
    fprintf(out, "avtruth-mpi: %zu logs on %d ranks, %d threads per build, longest first\n",
            o->n_logs, nranks, threads > 0 ? threads : omp_get_max_threads());
    fflush(out);
    pid_t own = 0;
    int own_log = -1;
    for (;;) {
        /* rank 0 builds too, in its own child */
        if (own > 0) {
            int status;
            pid_t w = waitpid(own, &status, WNOHANG);
            if (w == own || (w < 0 && errno != EINTR)) {
                finish_log(&c, own_log, w == own ? child_status(status) : 1, 0);
                own = 0;
            }
        }
        if (own == 0 && (own_log = next_log(&c)) >= 0) {
            own = avt_scaleout_spawn(o->logs[own_log], o->dir, o->build, threads, 1);
            if (own < 0) finish_log(&c, own_log, 1, 0), own = 0;
        }
        if ((rc = serve(&c, err))) break;
        check_dead(&c);
        int open = own > 0 || c.next < o->n_logs;
        for (int r = 1; r < nranks && !open; r++) open = !c.stopped[r] && !c.dead[r];
        if (!open) break;
        nap();
    }
    /* the verdict to every worker still alive (all stopped by now) */
    int verdict = s->ranks_lost > 0;
    s->abandon = verdict;
    for (int r = 1; r < nranks && !rc; r++)
        if (!c.dead[r] && (rc = MPI_Send(&verdict, 1, MPI_INT, r, TAG_DOWN, MPI_COMM_WORLD)))
            rc = mpi_fail(err, rc, "MPI_Send");
    for (size_t i = 0; i < o->n_logs; i++)
        if (c.state[i] == LOG_LOST) fprintf(out, "avtruth-mpi: lost: %s\n", o->logs[i]);

    fprintf(out, "avtruth-mpi: %zu built or up to date, %zu failed, %zu lost (%zu ranks lost), "
            "%.1f s\n", s->done, s->failed, s->lost, s->ranks_lost, avt_monotonic_s() - t0);
    if (!rc && (s->failed || s->lost))
        rc = avt_err(err, AVT_IO, "%zu of %zu logs failed or were lost; not stitched: rerun the "
                     "same command to redo only those", s->failed + s->lost, o->n_logs);
    if (!rc && o->stitch_out) {
        avt_stitch_options def;
        avt_stitch_options_default(&def);
        rc = avt_export_stitch(o->dir, o->stitch_out, o->stitch ? o->stitch : &def, out, err);
        s->stitched = rc == AVT_OK;
    }
    avt_error serr = {0, ""};
    if (write_status(o, c.state, rc == AVT_OK, &serr) && !rc) rc = avt_err(err, serr.code, "%s", serr.msg);
out:
    free(c.state), free(c.order), free(c.busy), free(c.stopped), free(c.dead), free(c.seen);
    return rc;
}

int avt_mpi_batch(const avt_mpi_batch_options *o, FILE *out, avt_mpi_batch_summary *s,
                  avt_error *err)
{
    int rank = 0, nranks = 1;
    memset(s, 0, sizeof *s);
    /* errors come back as codes (a dead peer must not abort this rank) */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    int threads = threads_per_rank(o);
    if (o->n_logs > (size_t)0x7fffffff) return avt_err(err, AVT_INVAL, "too many logs");
    return rank == 0 ? coordinator(o, nranks, threads, out, s, err) : worker(o, threads, s, err);
}
