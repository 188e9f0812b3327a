/* avtruth sync: a build's pairing plan over a whole log (include/avtruth/sync.h,
 * docs/pipeline.md "Sync" and "Camera clocks"): the clock trackers, matchers and
 * ApproximateTime sets of this module wired for every camera of a rig. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/sync.h"

/* The matcher's and the tracker's image source: a cursor over a stream (in memory). */
typedef struct stream_cursor {
    const avt_camera_stream *s;
    size_t next;
} stream_cursor;

static int cursor_next(void *ctx, int64_t *t)
{
    stream_cursor *c = ctx;
    if (c->next >= c->s->n) return 0;
    *t = c->s->images[c->next++].t_ns;
    return 1;
}

typedef struct plan_cam {
    const avt_camera_stream *stream;
    double axis_az_deg;
    stream_cursor cursor;
    avt_sync_matcher *matcher;
    avt_clock_model clock; /* fitted model (valid = 0: none) */
    int corrected;         /* image times are moved to the LiDAR clock with `clock` */
    avt_sync_stats stats;
    uint64_t unpaired_frames;
    long *approx_pair; /* policy approximate: image index per sweep (-1 none) */
    size_t approx_n;
} plan_cam;

struct avt_sync_plan {
    avt_sync_plan_options o; /* its hint pointing at hint below, or NULL */
    int64_t hint;
    size_t n;
    plan_cam *cam;
};

avt_sync_ref avt_sync_reference(const avt_sweep *sw, enum avt_sync_policy policy, double cut_deg)
{
    avt_sync_ref r = {sw->timestamp_ns, {.fallback_ns = sw->timestamp_ns}};
    if (policy == AVT_SYNC_TRIGGER) avt_sync_rotation_fit(sw, cut_deg, &r.rot);
    return r;
}

/* Policy approximate: ROS ApproximateTime over the sweeps' reference times (stream 0) and
 * every camera with images (streams 1..), fed in time order; each published set pairs its
 * sweep with its images. Offline, so the pending sets are flushed at the end. */
typedef struct approx_ctx {
    plan_cam **cams; /* camera of each stream 1.. */
    size_t n_streams;
} approx_ctx;

static void approx_publish(void *vctx, const avt_approx_set *set)
{
    approx_ctx *a = vctx;
    uint64_t sweep = set->seq[0];
    for (size_t k = 1; k < a->n_streams; k++) {
        plan_cam *pc = a->cams[k];
        if (sweep < pc->approx_n) pc->approx_pair[sweep] = (long)set->seq[k];
    }
}

static int approx_pairing(avt_sync_plan *p, const avt_sync_ref *refs, size_t n_sweeps, avt_error *err)
{
    plan_cam *streams[AVT_APPROX_MAX_STREAMS];
    size_t ns = 1, pos[AVT_APPROX_MAX_STREAMS] = {0};
    int rc = AVT_OK;
    for (size_t c = 0; c < p->n; c++) {
        plan_cam *pc = &p->cam[c];
        pc->approx_pair = malloc((n_sweeps ? n_sweeps : 1) * sizeof *pc->approx_pair);
        if (!pc->approx_pair) return avt_err(err, AVT_NOMEM, "out of memory");
        pc->approx_n = n_sweeps;
        for (size_t i = 0; i < n_sweeps; i++) pc->approx_pair[i] = -1;
        if (pc->stream->n == 0) continue; /* a set needs every stream: leave empty cameras out */
        if (ns == AVT_APPROX_MAX_STREAMS)
            return avt_err(err, AVT_UNSUPPORTED, "policy approximate: more than %d cameras", AVT_APPROX_MAX_STREAMS - 1);
        streams[ns++] = pc;
    }
    if (ns < 2) return AVT_OK;
    approx_ctx ctx = {streams, ns};
    avt_approx *a = avt_approx_new(ns, p->o.tolerance_ns, 16, approx_publish, &ctx, err);
    if (!a) return err ? err->code : AVT_NOMEM;
    for (;;) { /* merge the streams by time */
        size_t best = SIZE_MAX;
        int64_t bt = INT64_MAX;
        for (size_t k = 0; k < ns; k++) {
            size_t len = k == 0 ? n_sweeps : streams[k]->stream->n;
            if (pos[k] >= len) continue;
            int64_t t = k == 0 ? refs[pos[k]].ts : streams[k]->stream->images[pos[k]].t_ns;
            if (t < bt) bt = t, best = k;
        }
        if (best == SIZE_MAX) break;
        if ((rc = avt_approx_add(a, best, bt, err))) break;
        pos[best]++;
    }
    if (!rc) avt_approx_flush(a);
    avt_approx_free(a);
    return rc;
}

/* Camera pc's clock fit over every sweep's reference time, then its matcher and statistics. */
static int camera_plan(avt_sync_plan *p, plan_cam *pc, const avt_sync_ref *refs, size_t n_refs, avt_error *err)
{
    const avt_sync_plan_options *o = &p->o;
    int rc = AVT_OK;
    int64_t guess = 0;
    if (pc->stream->n) {
        stream_cursor cur = {pc->stream, 0};
        avt_clock_tracker *trk = avt_clock_tracker_new(o->clock_offset_hint_ns, o->tolerance_ns, cursor_next, &cur, err);
        if (!trk) return err ? err->code : AVT_NOMEM;
        for (size_t k = 0; !rc && k < n_refs; k++)
            rc = avt_clock_tracker_add(trk, avt_sync_rotation_time(&refs[k].rot, pc->axis_az_deg), err);
        if (!rc) rc = avt_clock_tracker_fit(trk, &pc->clock, &guess, err);
        avt_clock_tracker_free(trk);
        if (rc) return rc;
    }
    avt_sync_matcher_config mc;
    memset(&mc, 0, sizeof mc);
    mc.tolerance_ns = o->tolerance_ns;
    /* pairing follows the fitted clock; without a fit, the first guess */
    if (pc->clock.valid) mc.clock = pc->clock;
    else {
        mc.clock.valid = guess != 0;
        mc.clock.offset_ns = (double)guess;
    }
    /* auto corrects only under the trigger policy: with nearest/approximate the reference is
     * the sweep time, so a camera's constant trigger phase would look like a clock offset */
    pc->corrected = pc->clock.valid &&
                    (o->clock_correct == AVT_CLOCK_ON ||
                     (o->clock_correct == AVT_CLOCK_AUTO && o->policy == AVT_SYNC_TRIGGER &&
                      avt_clock_evidence_strong(&pc->clock)));
    /* a repeated frame arrives within a quarter period of the original */
    const avt_camera_stream *s = pc->stream;
    if (s->n > 2) mc.duplicate_ns = (s->images[s->n - 1].t_ns - s->images[0].t_ns) / (int64_t)(s->n - 1) / 4;
    pc->cursor = (stream_cursor){s, 0};
    pc->matcher = avt_sync_matcher_new(&mc, cursor_next, &pc->cursor, err);
    if (!pc->matcher) return err ? err->code : AVT_NOMEM;
    int64_t range = o->tolerance_ns + (int64_t)llabs((long long)llround(mc.clock.offset_ns)) + 1000000;
    if (avt_sync_stats_init(&pc->stats, range)) return avt_err(err, AVT_NOMEM, "out of memory");
    return AVT_OK;
}

avt_sync_plan *avt_sync_plan_new(const avt_sync_plan_options *o, const avt_camera *cams,
                                 const avt_camera_stream *const *streams, size_t n_cams, const avt_sync_ref *refs,
                                 size_t n_refs, avt_error *err)
{
    avt_sync_plan *p = calloc(1, sizeof *p);
    if (p) p->cam = calloc(n_cams ? n_cams : 1, sizeof *p->cam);
    if (!p || !p->cam) {
        free(p);
        avt_err(err, AVT_NOMEM, "out of memory");
        return NULL;
    }
    p->o = *o;
    if (o->clock_offset_hint_ns) p->hint = *o->clock_offset_hint_ns, p->o.clock_offset_hint_ns = &p->hint;
    p->n = n_cams;
    int rc = AVT_OK;
    for (size_t c = 0; c < n_cams; c++) {
        p->cam[c].stream = streams[c];
        p->cam[c].axis_az_deg = avt_sync_camera_azimuth_deg(&cams[c]);
    }
    for (size_t c = 0; !rc && c < n_cams; c++) rc = camera_plan(p, &p->cam[c], refs, n_refs, err);
    if (!rc && o->policy == AVT_SYNC_APPROXIMATE) rc = approx_pairing(p, refs, n_refs, err);
    if (rc) {
        avt_sync_plan_free(p);
        return NULL;
    }
    return p;
}

int avt_sync_plan_pair(avt_sync_plan *p, size_t c, uint64_t frame_no, const avt_sync_rotation *rot,
                       avt_sync_pairing *out, avt_error *err)
{
    plan_cam *pc = &p->cam[c];
    int rc;
    out->t_ref_ns = avt_sync_rotation_time(rot, pc->axis_az_deg);
    out->t_img_ns = INT64_MIN;
    avt_sync_match mt;
    if (pc->approx_pair) mt.image = frame_no < pc->approx_n ? pc->approx_pair[frame_no] : -1;
    else if ((rc = avt_sync_matcher_pair(pc->matcher, out->t_ref_ns, &mt, err))) return rc;
    out->image = mt.image;
    if (mt.image < 0) {
        pc->unpaired_frames++;
        return AVT_OK;
    }
    const int64_t t = pc->stream->images[mt.image].t_ns;
    out->t_img_ns = pc->corrected ? avt_clock_camera_to_lidar(&pc->clock, t) : t;
    avt_sync_stats_add(&pc->stats, out->t_img_ns - out->t_ref_ns);
    return AVT_OK;
}

int avt_sync_plan_summary(avt_sync_plan *p, size_t c, int64_t first_ts, avt_sync_camera_summary *s,
                          avt_error *err)
{
    plan_cam *pc = &p->cam[c];
    const avt_clock_model *k = &pc->clock;
    avt_sync_counts n;
    int rc;
    if ((rc = avt_sync_matcher_finish(pc->matcher, err))) return rc;
    avt_sync_matcher_counts(pc->matcher, &n);
    if (pc->approx_pair) { /* the matcher only counted the images */
        n.paired = 0;
        for (size_t i = 0; i < pc->approx_n; i++) n.paired += pc->approx_pair[i] >= 0;
        n.unpaired_images = pc->stream->n - n.paired;
    }
    s->policy = avt_sync_policy_name(p->o.policy);
    s->tolerance_ns = p->o.tolerance_ns;
    s->paired = n.paired;
    s->unpaired_frames = pc->unpaired_frames;
    s->unpaired_images = n.unpaired_images;
    s->duplicates = n.duplicates;
    s->dropped = n.dropped;
    avt_sync_stats_summary(&pc->stats, &s->delta_min_ns, &s->delta_median_ns, &s->delta_p95_ns, &s->delta_max_ns);
    s->delta_max_abs_ns =
        llabs(s->delta_min_ns) > llabs(s->delta_max_ns) ? llabs(s->delta_min_ns) : llabs(s->delta_max_ns);
    const double dt_ref = (double)(first_ts - k->t_ref_ns);
    s->clock_valid = k->valid;
    s->clock_corrected = pc->corrected;
    s->clock_t_ref_ns = first_ts;
    s->clock_offset_ns = k->valid ? (int64_t)llround(k->offset_ns + k->drift * dt_ref) : 0;
    s->clock_drift_ppm = k->valid ? k->drift * 1e6 : 0;
    s->clock_offset_sd_ns = sqrt(k->offset_sd_ns * k->offset_sd_ns + pow(dt_ref * k->drift_sd, 2));
    s->clock_drift_sd_ppm = k->drift_sd * 1e6;
    s->jitter_ns = k->residual_sd_ns;
    return AVT_OK;
}

int avt_sync_plan_histogram_png(const avt_sync_plan *p, size_t c, const char *path, avt_error *err)
{
    return avt_sync_stats_write_png(&p->cam[c].stats, path, 400, 200, err);
}

void avt_sync_plan_free(avt_sync_plan *p)
{
    if (!p) return;
    for (size_t c = 0; c < p->n; c++) {
        avt_sync_stats_free(&p->cam[c].stats);
        avt_sync_matcher_free(p->cam[c].matcher);
        free(p->cam[c].approx_pair);
    }
    free(p->cam);
    free(p);
}
