/* avtruth sync: streaming nearest-image matcher (policies trigger and nearest).
 *
 * References arrive in time order; images are pulled from the camera's source only as far as
 * the current reference's window reaches (predicted time + tolerance), and retired once they
 * fall before the window. Memory: the images of one window, whatever the log's length. Each
 * image is paired at most once; duplicates (an image closer than duplicate_ns to the previous
 * one, e.g. a frame the driver delivered twice) are never paired. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/sync.h"

typedef struct win_image {
    int64_t t;
    long index;
    uint8_t used, dup;
} win_image;

#define PERIOD_SAMPLES 31

struct avt_sync_matcher {
    avt_sync_matcher_config cfg;
    avt_sync_image_source src;
    void *ctx;
    win_image *win;
    size_t head, len, cap; /* live entries are win[head .. head+len) */
    int eof, have_prev;
    int64_t prev_t, last_ref;
    int have_ref;
    /* dropped-image estimate: the median of the first intervals is the period */
    int64_t gaps[PERIOD_SAMPLES];
    size_t n_gaps;
    int64_t period;
    avt_sync_counts c;
};

avt_sync_matcher *avt_sync_matcher_new(const avt_sync_matcher_config *cfg, avt_sync_image_source src, void *ctx,
                                       avt_error *err)
{
    if (!cfg || !src || cfg->tolerance_ns < 0) {
        avt_err(err, AVT_INVAL, "sync matcher: no source or a negative tolerance");
        return NULL;
    }
    avt_sync_matcher *m = calloc(1, sizeof *m);
    if (!m) {
        avt_err(err, AVT_NOMEM, "out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    m->src = src;
    m->ctx = ctx;
    return m;
}

void avt_sync_matcher_free(avt_sync_matcher *m)
{
    if (!m) return;
    free(m->win);
    free(m);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void count_gap(avt_sync_matcher *m, int64_t g)
{
    if (m->period > 0) {
        int64_t k = (int64_t)llround((double)g / (double)m->period);
        if (k > 1) m->c.dropped += (uint64_t)(k - 1);
        return;
    }
    m->gaps[m->n_gaps++] = g;
    if (m->n_gaps < PERIOD_SAMPLES) return;
    int64_t s[PERIOD_SAMPLES];
    memcpy(s, m->gaps, sizeof s);
    qsort(s, PERIOD_SAMPLES, sizeof *s, cmp_i64);
    m->period = s[PERIOD_SAMPLES / 2] > 0 ? s[PERIOD_SAMPLES / 2] : 1;
    for (size_t i = 0; i < PERIOD_SAMPLES; i++) count_gap(m, m->gaps[i]);
}

static void retire_front(avt_sync_matcher *m)
{
    if (!m->win[m->head].used) m->c.unpaired_images++;
    m->head++;
    m->len--;
}

/* Pulls one image into the window; returns 1, 0 at the end, or the source's error. */
static int pull(avt_sync_matcher *m, avt_error *err)
{
    int64_t t;
    int r = m->src(m->ctx, &t);
    if (r < 0) return avt_err(err, r, "sync: image source failed");
    if (r == 0) {
        m->eof = 1;
        return 0;
    }
    if (m->head + m->len == m->cap) {
        if (m->head > 0) { /* compact */
            memmove(m->win, m->win + m->head, m->len * sizeof *m->win);
            m->head = 0;
        }
        if (m->len == m->cap) {
            size_t cap = m->cap;
            if (avt_grow((void **)&m->win, &cap, m->len + 1, sizeof *m->win))
                return avt_err(err, AVT_NOMEM, "sync: out of memory");
            m->cap = cap;
        }
    }
    win_image *w = &m->win[m->head + m->len++];
    w->t = t;
    w->index = (long)m->c.images++;
    w->used = 0;
    w->dup = m->have_prev && m->cfg.duplicate_ns > 0 && t - m->prev_t < m->cfg.duplicate_ns;
    if (w->dup) m->c.duplicates++;
    else {
        if (m->have_prev) count_gap(m, t - m->prev_t);
        m->prev_t = t;
        m->have_prev = 1;
    }
    if (m->len > m->c.max_window) m->c.max_window = m->len;
    return 1;
}

int avt_sync_matcher_pair(avt_sync_matcher *m, int64_t ref_ns, avt_sync_match *out, avt_error *err)
{
    const int64_t tol = m->cfg.tolerance_ns;
    const int64_t p = avt_clock_lidar_to_camera(&m->cfg.clock, ref_ns);
    out->image = -1;
    out->image_ns = 0;
    out->predicted_ns = p;
    if (m->have_ref && ref_ns < m->last_ref) m->c.backwards++;
    m->have_ref = 1;
    m->last_ref = ref_ns;
    while (!m->eof && (m->len == 0 || m->win[m->head + m->len - 1].t <= p + tol)) {
        int r = pull(m, err);
        if (r < 0) return r;
    }
    while (m->len && m->win[m->head].t < p - tol) retire_front(m);
    win_image *best = NULL;
    int64_t bd = INT64_MAX;
    for (size_t i = m->head; i < m->head + m->len; i++) {
        win_image *w = &m->win[i];
        if (w->t > p + tol) break;
        if (w->used || w->dup) continue;
        int64_t d = w->t > p ? w->t - p : p - w->t;
        if (d < bd) bd = d, best = w;
    }
    if (!best) {
        m->c.unpaired_refs++;
        return AVT_OK;
    }
    best->used = 1;
    m->c.paired++;
    out->image = best->index;
    out->image_ns = best->t;
    return AVT_OK;
}

int avt_sync_matcher_finish(avt_sync_matcher *m, avt_error *err)
{
    for (;;) {
        while (m->len) retire_front(m);
        if (m->eof) return AVT_OK;
        int r = pull(m, err);
        if (r < 0) return r;
    }
}

void avt_sync_matcher_counts(const avt_sync_matcher *m, avt_sync_counts *out)
{
    *out = m->c;
}

void avt_sync_matcher_set_clock(avt_sync_matcher *m, const avt_clock_model *clock)
{
    m->cfg.clock = *clock;
}
