/* avtruth sync: the clock tracker, one streaming pass that guesses a camera clock's offset,
 * pairs references with images around it and fits the clock model (sync.h). */
#include <stdlib.h>
#include <string.h>

#include "avtruth/sync.h"

#define GUESS_IMAGES 8192
#define TRACK_N 16

struct avt_clock_tracker {
    avt_sync_image_source src;
    void *ctx;
    int64_t tol, guess;
    int have_hint, guessed;
    int64_t refs[AVT_CLOCK_GUESS_REFS];
    size_t n_refs;
    int64_t imgs[GUESS_IMAGES]; /* held during the guess, replayed into the matcher */
    size_t n_imgs, replay;
    int src_eof;
    avt_sync_matcher *m;
    avt_clock_estimator *est;
    avt_clock_model track;
    double resid[TRACK_N];
    size_t n_resid;
};

/* The matcher's source: the held images first, then the real source. */
static int replay_source(void *ctx, int64_t *t)
{
    avt_clock_tracker *k = ctx;
    if (k->replay < k->n_imgs) {
        *t = k->imgs[k->replay++];
        return 1;
    }
    if (k->src_eof) return 0;
    return k->src(k->ctx, t);
}

avt_clock_tracker *avt_clock_tracker_new(const int64_t *hint, int64_t tol, avt_sync_image_source src, void *ctx,
                                         avt_error *err)
{
    avt_clock_tracker *k = calloc(1, sizeof *k);
    if (!k || !(k->est = avt_clock_estimator_new())) {
        free(k);
        avt_err(err, AVT_NOMEM, "out of memory");
        return NULL;
    }
    k->src = src;
    k->ctx = ctx;
    k->tol = tol;
    if (hint) k->have_hint = 1, k->guess = *hint;
    return k;
}

void avt_clock_tracker_free(avt_clock_tracker *k)
{
    if (!k) return;
    avt_sync_matcher_free(k->m);
    avt_clock_estimator_free(k->est);
    free(k);
}

static int pair_one(avt_clock_tracker *k, int64_t ref, avt_error *err)
{
    avt_sync_match mt;
    int rc = avt_sync_matcher_pair(k->m, ref, &mt, err);
    if (rc || mt.image < 0) return rc;
    avt_clock_estimator_add(k->est, ref, mt.image_ns);
    /* follow the clock: the offset becomes the mean delta of the last TRACK_N pairs */
    k->resid[k->n_resid++ % TRACK_N] = (double)(mt.image_ns - ref);
    size_t n = k->n_resid < TRACK_N ? k->n_resid : TRACK_N;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += k->resid[i];
    k->track.offset_ns = s / (double)n;
    avt_sync_matcher_set_clock(k->m, &k->track);
    return AVT_OK;
}

static int start_matching(avt_clock_tracker *k, avt_error *err)
{
    int rc = AVT_OK;
    if (!k->have_hint) {
        int64_t last = k->n_refs ? k->refs[k->n_refs - 1] : 0;
        while (!k->src_eof && k->n_imgs < GUESS_IMAGES && (k->n_imgs == 0 || k->imgs[k->n_imgs - 1] <= last + 1000000000)) {
            int r = k->src(k->ctx, &k->imgs[k->n_imgs]);
            if (r < 0) return avt_err(err, r, "sync: image source failed");
            if (r == 0) k->src_eof = 1;
            else k->n_imgs++;
        }
        int64_t *d = malloc((k->n_refs ? k->n_refs : 1) * sizeof *d);
        if (!d) return avt_err(err, AVT_NOMEM, "out of memory");
        size_t nd = 0, j = 0;
        for (size_t i = 0; i < k->n_refs && k->n_imgs; i++) {
            while (j + 1 < k->n_imgs && k->imgs[j + 1] <= k->refs[i]) j++;
            int64_t a = k->imgs[j] - k->refs[i];
            int64_t b = j + 1 < k->n_imgs ? k->imgs[j + 1] - k->refs[i] : a;
            d[nd++] = llabs(a) <= llabs(b) ? a : b;
        }
        if (avt_clock_offset_guess(d, nd, &k->guess) != AVT_OK) k->guess = 0;
        free(d);
    }
    k->guessed = 1;
    memset(&k->track, 0, sizeof k->track);
    k->track.valid = 1;
    k->track.offset_ns = (double)k->guess;
    avt_sync_matcher_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.tolerance_ns = k->tol;
    cfg.clock = k->track;
    k->m = avt_sync_matcher_new(&cfg, replay_source, k, err);
    if (!k->m) return err ? err->code : AVT_NOMEM;
    for (size_t i = 0; i < k->n_refs && !rc; i++) rc = pair_one(k, k->refs[i], err);
    return rc;
}

int avt_clock_tracker_add(avt_clock_tracker *k, int64_t ref, avt_error *err)
{
    if (k->m) return pair_one(k, ref, err);
    k->refs[k->n_refs++] = ref;
    if (k->n_refs == AVT_CLOCK_GUESS_REFS) return start_matching(k, err);
    return AVT_OK;
}

int avt_clock_tracker_fit(avt_clock_tracker *k, avt_clock_model *m, int64_t *guess, avt_error *err)
{
    int rc;
    if (!k->m && (rc = start_matching(k, err))) return rc;
    if (guess) *guess = k->guess;
    if (avt_clock_estimator_fit(k->est, m)) return avt_err(err, AVT_NOMEM, "out of memory");
    return AVT_OK;
}
