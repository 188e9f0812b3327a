/* avtruth stitch: one index file over a directory of per-log files, with its dataset card. */
#include <stdio.h>
#include <stdlib.h>

#include "avtruth/export.h"
#include "commands.h"
#include "progress.h"

/* --exclude GLOB, repeatable: appended to the options' list (argv outlives the call). */
typedef struct excludes {
    const char **v;
    size_t n, cap;
} excludes;

static int add_exclude(const char *v, void *dest, char *accepted, size_t n)
{
    /* any pattern is accepted, so --help shows no [accepted] list for it */
    snprintf(accepted, n, "%s", v ? "a non-empty file name pattern" : "");
    if (!v) return 0;
    excludes *x = dest;
    if (!v[0]) return 1;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 4;
        const char **p = realloc(x->v, cap * sizeof *p);
        if (!p) return 1;
        x->v = p, x->cap = cap;
    }
    x->v[x->n++] = v;
    return 0;
}

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    const char *out = NULL;
    avt_stitch_options so;
    avt_stitch_options_default(&so);
    excludes ex = {NULL, 0, 0};
    int quiet = 0;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, "DATASET.h5", "the index file (required); its card: DATASET.card.md", NULL, .dest = &out},
        {"train", 0, CLI_REAL, "R", "share of the frames in the train split", "0.8", 0, 1, .dest = &so.train},
        {"val", 0, CLI_REAL, "R", "share of the frames in the val split (the rest: test)", "0.1", 0, 1, .dest = &so.val},
        {"splits", 0, CLI_STR, "FILE", "per-log splits, YAML `log_id: train|val|test`", "DIR/splits.yaml if present",
         .dest = &so.splits_path},
        {"exclude", 0, CLI_CALL, "GLOB", "leave out DIR's files matching GLOB (fnmatch, e.g. 'bad_*.h5'; repeatable)", "none",
         .call = add_exclude, .dest = &ex},
        {"quiet", 'q', CLI_FLAG, NULL, "no progress report on stderr", "off", .dest = &quiet},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_stitch, opts, argc, argv, &pos, &npos);
    if (!r && (npos != 1 || !out)) r = cli_usage_error(&avt_cmd_stitch, "expected DIR -o DATASET.h5");
    if (!r) {
        avt_error err = {0, ""};
        so.exclude = ex.v;
        so.n_exclude = ex.n;
        cli_progress pr;
        cli_progress_begin(&pr, "stitching", "logs", quiet);
        so.progress = cli_progress_items;
        so.progress_ctx = &pr;
        int rc = avt_export_stitch(pos[0], out, &so, stdout, &err);
        cli_progress_end(&pr);
        if (rc) r = cli_fail(&err);
    }
    free(ex.v);
    return r == CLI_EXIT_HELP ? 0 : r;
}

const cli_cmd avt_cmd_stitch = {
    "stitch", "DIR -o DATASET.h5 [options]",
    "Write one index file over DIR's per-log files: virtual datasets, rebased offsets, /logs with per-log "
    "SHA-256 and calibration, train/val/test splits balanced by frames (overrides in splits.yaml) and a "
    "dataset card; earlier indexes in DIR are skipped, logs of other format versions or schemas refused.",
    "  avtruth stitch /tmp/out -o /tmp/out/dataset.h5 --train 0.8 --val 0.1\n"
    "  avtruth stitch /tmp/out -o /tmp/all.h5 --splits splits.yaml --exclude 'bad_*.h5'\n", run};
