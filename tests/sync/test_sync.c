/* Unit tests of sync/ and the camera part of ingest/: the approximate policy against sets
 * worked out by hand, the nearest matcher, the clock estimator on series with outliers and
 * drops, the pairing plan on a planted clock, KITTI raw timestamps, timestamp files with bad lines, PNG decoding checks. */
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "avtruth/sync.h"

#define MS 1000000LL

/* ---- approximate ---- */

typedef struct sets {
    avt_approx_set s[32];
    size_t n;
} sets;

static void collect(void *ctx, const avt_approx_set *set)
{
    sets *o = ctx;
    if (o->n < 32) o->s[o->n++] = *set;
}

/* Feeds the streams in time order across streams (the arrival order does not matter to the
 * policy; this one is the natural one). */
static void feed(avt_approx *a, const int64_t *const *t, const size_t *n, size_t ns)
{
    size_t k[4] = {0};
    for (;;) {
        size_t best = ns;
        for (size_t i = 0; i < ns; i++)
            if (k[i] < n[i] && (best == ns || t[i][k[i]] < t[best][k[best]])) best = i;
        if (best == ns) return;
        assert_int_equal(avt_approx_add(a, best, t[best][k[best]++], NULL), AVT_OK);
    }
}

static void expect_pair(const sets *o, size_t i, int64_t a, int64_t b)
{
    assert_true(i < o->n);
    assert_int_equal(o->s[i].t_ns[0], a * MS);
    assert_int_equal(o->s[i].t_ns[1], b * MS);
}

/* The known failure: 10 Hz LiDAR (stream 0), 20 Hz camera (stream 1) whose first image comes
 * 60 ms after the first sweep. Worked by hand (sync/approx.c's algorithm):
 *  heads L0 C60: pivot C60, candidate {L0,C60} (60); L0 aside; heads L100 C60: {C60,L100}
 *  spans 40 < 60, new candidate; C60 aside = the pivot -> publish {L100, C60}.
 *  Then L200 is the pivot against C110 (90), C160 (40), C210 (10) -> {L200, C210};
 *  L300 against C260 (40), C310 (10) -> {L300, C310}. C360 waits.
 * So L100 is paired with C60 (40 ms) while C110 is 10 ms away: every set must contain the
 * pivot. With a 30 ms maximum interval: L0, C60, C160, C260 are dropped and the sets are
 * {L100,C110}, {L200,C210}, and {L300,C310} once flushed. */
static void test_approx_failure_case(void **st)
{
    (void)st;
    static const int64_t L[] = {0, 100 * MS, 200 * MS, 300 * MS};
    static const int64_t C[] = {60 * MS, 110 * MS, 160 * MS, 210 * MS, 260 * MS, 310 * MS, 360 * MS};
    const int64_t *t[2] = {L, C};
    size_t n[2] = {4, 7};
    sets o = {.n = 0};
    avt_approx *a = avt_approx_new(2, 0, 100, collect, &o, NULL);
    assert_non_null(a);
    feed(a, t, n, 2);
    assert_int_equal(o.n, 3);
    expect_pair(&o, 0, 100, 60);
    expect_pair(&o, 1, 200, 210);
    expect_pair(&o, 2, 300, 310);
    assert_int_equal(o.s[0].seq[0], 1);
    assert_int_equal(o.s[0].seq[1], 0);
    avt_approx_free(a);

    o.n = 0;
    a = avt_approx_new(2, 30 * MS, 100, collect, &o, NULL);
    feed(a, t, n, 2);
    assert_int_equal(o.n, 2);
    expect_pair(&o, 0, 100, 110);
    expect_pair(&o, 1, 200, 210);
    avt_approx_flush(a);
    assert_int_equal(o.n, 3);
    expect_pair(&o, 2, 300, 310);
    avt_approx_free(a);
}

/* Three streams at the same rate with jitter: the optimal sets are the obvious triplets; the
 * fourth waits for a later message (ROS publishes it only then) and comes out on flush. */
static void test_approx_three_streams(void **st)
{
    (void)st;
    static const int64_t A[] = {0, 100 * MS, 200 * MS, 300 * MS};
    static const int64_t B[] = {2 * MS, 103 * MS, 198 * MS, 305 * MS};
    static const int64_t C[] = {-1 * MS, 99 * MS, 204 * MS, 296 * MS};
    const int64_t *t[3] = {A, B, C};
    size_t n[3] = {4, 4, 4};
    sets o = {.n = 0};
    avt_approx *a = avt_approx_new(3, 0, 100, collect, &o, NULL);
    feed(a, t, n, 3);
    assert_int_equal(o.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(o.s[i].t_ns[0], A[i]);
        assert_int_equal(o.s[i].t_ns[1], B[i]);
        assert_int_equal(o.s[i].t_ns[2], C[i]);
    }
    avt_approx_flush(a);
    assert_int_equal(o.n, 4);
    assert_int_equal(o.s[3].t_ns[2], C[3]);
    /* out of order in one stream is refused, not used */
    avt_error e = {0, ""};
    assert_int_equal(avt_approx_add(a, 0, 5, &e), AVT_INVAL);
    assert_non_null(strstr(e.msg, "before the previous"));
    avt_approx_free(a);
}

/* A stream missing a message: sets stay contiguous. A: 0, 100, 200; B: 1, 201 (B's 100
 * dropped). Heads A0 B1 -> {A0,B1} published once A100 arrives (A100-B1 >= B1-A0).
 * Then A100 is the pivot against B201 (101): candidate {A100,B201}; A100 aside, heads A200
 * B201: span 1 < 101 -> {A200,B201}; A200 is the pivot's stream... the pivot was B201 (the
 * later head), A200 aside, A empty: waits; flush -> {A200,B201}. A100 is never used. */
static void test_approx_drop(void **st)
{
    (void)st;
    static const int64_t A[] = {0, 100 * MS, 200 * MS};
    static const int64_t B[] = {1 * MS, 201 * MS};
    const int64_t *t[2] = {A, B};
    size_t n[2] = {3, 2};
    sets o = {.n = 0};
    avt_approx *a = avt_approx_new(2, 0, 100, collect, &o, NULL);
    feed(a, t, n, 2);
    avt_approx_flush(a);
    assert_int_equal(o.n, 2);
    expect_pair(&o, 0, 0, 1);
    expect_pair(&o, 1, 200, 201);
    avt_approx_free(a);
}

/* ---- nearest matcher and clock ---- */

typedef struct arr_src {
    const int64_t *t;
    size_t n, k;
} arr_src;

static int arr_next(void *ctx, int64_t *t)
{
    arr_src *s = ctx;
    if (s->k >= s->n) return 0;
    *t = s->t[s->k++];
    return 1;
}

static void test_matcher_once_and_duplicates(void **st)
{
    (void)st;
    /* refs every 100 ms; images at +3 ms except ref 2 (dropped) and a duplicate of ref 3 */
    static const int64_t img[] = {3 * MS, 103 * MS, 303 * MS, 307 * MS, 403 * MS};
    arr_src s = {img, 5, 0};
    avt_sync_matcher_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.tolerance_ns = 50 * MS;
    cfg.duplicate_ns = 25 * MS;
    avt_sync_matcher *m = avt_sync_matcher_new(&cfg, arr_next, &s, NULL);
    assert_non_null(m);
    long expect[] = {0, 1, -1, 2, 4};
    for (int i = 0; i < 5; i++) {
        avt_sync_match mt;
        assert_int_equal(avt_sync_matcher_pair(m, i * 100 * MS, &mt, NULL), AVT_OK);
        assert_int_equal(mt.image, expect[i]);
    }
    assert_int_equal(avt_sync_matcher_finish(m, NULL), AVT_OK);
    avt_sync_counts k;
    avt_sync_matcher_counts(m, &k);
    assert_int_equal(k.paired, 4);
    assert_int_equal(k.duplicates, 1);
    assert_int_equal(k.unpaired_refs, 1);
    assert_int_equal(k.unpaired_images, 1);
    assert_true(k.max_window <= 3);
    avt_sync_matcher_free(m);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 11;
}
static double unif(uint64_t *s) { return (double)lcg(s) / 9007199254740992.0; }
static double gauss(uint64_t *s)
{
    double u = unif(s) + 1e-12, v = unif(s);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* One hour at 10 Hz: 37 ms offset, 50 ppm drift, 2 ms jitter, 5 % dropped and 3 % outliers
 * (+-20..45 ms): the tracker must guess, lock and fit offset within 0.2 ms, drift 0.5 ppm
 * (standard errors here: ~0.02 ms, ~0.06 ppm). */
#define HOUR_N 36000
static int64_t g_img[HOUR_N];
static void test_clock_tracker(void **st)
{
    (void)st;
    uint64_t seed = 42;
    const int64_t t0 = 1700000000000000000LL;
    size_t ni = 0;
    for (size_t i = 0; i < HOUR_N; i++) {
        int64_t trig = t0 + (int64_t)i * 100 * MS;
        double j = gauss(&seed) * 2e6, u = unif(&seed), w = unif(&seed);
        if (u < 0.05) continue;
        if (u > 0.97) j = (w < 0.5 ? -1 : 1) * (20e6 + 25e6 * unif(&seed));
        g_img[ni++] = trig + 37 * MS + (int64_t)llround(50e-6 * (double)(trig - t0) + j);
    }
    arr_src s = {g_img, ni, 0};
    avt_clock_tracker *k = avt_clock_tracker_new(NULL, 50 * MS, arr_next, &s, NULL);
    assert_non_null(k);
    for (size_t i = 0; i < HOUR_N; i++) assert_int_equal(avt_clock_tracker_add(k, t0 + (int64_t)i * 100 * MS, NULL), 0);
    avt_clock_model m;
    int64_t guess;
    assert_int_equal(avt_clock_tracker_fit(k, &m, &guess, NULL), AVT_OK);
    assert_true(m.valid);
    double off_t0 = m.offset_ns + m.drift * (double)(t0 - m.t_ref_ns);
    printf("guess %.3f ms; offset at t0 %.4f ms (+- %.4f), drift %.3f ppm (+- %.3f), jitter %.3f ms\n", guess / 1e6,
           off_t0 / 1e6, m.offset_sd_ns / 1e6, m.drift * 1e6, m.drift_sd * 1e6, m.residual_sd_ns / 1e6);
    assert_true(llabs(guess - 37 * MS) < 2 * MS);
    assert_true(fabs(off_t0 - 37e6) < 0.2e6);
    assert_true(fabs(m.drift * 1e6 - 50) < 0.5);
    assert_true(avt_clock_evidence_strong(&m));
    /* the model's two directions invert each other */
    int64_t t = t0 + 1800 * 1000 * MS;
    assert_true(llabs(avt_clock_camera_to_lidar(&m, avt_clock_lidar_to_camera(&m, t)) - t) <= 1);
    avt_clock_tracker_free(k);
}

/* ---- the pairing plan: a planted clock over a whole log ---- */

/* A sweep's reference per policy: a head turning clockwise (the Velodyne convention) from the
 * cut at 180 deg through 360 deg in 100 ms; under trigger an axis at azimuth az is crossed
 * (az - 180) / 360 of the way, under nearest and approximate every camera takes the sweep's
 * time. */
static void test_sync_reference(void **st)
{
    (void)st;
    enum { N = 9000 };
    static float xyz[3 * N];
    static int64_t t[N];
    const int64_t t0 = 1700000000000000000LL;
    for (size_t i = 0; i < N; i++) {
        const double az = 180.0 + 360.0 * ((double)i + 0.5) / N, a = az * M_PI / 180;
        xyz[3 * i] = (float)(10 * cos(a)), xyz[3 * i + 1] = (float)(-10 * sin(a)), xyz[3 * i + 2] = 0;
        t[i] = t0 + (int64_t)llround(100e6 * ((double)i + 0.5) / N);
    }
    avt_sweep sw = {0};
    sw.n = N, sw.xyz = xyz, sw.t_ns = t, sw.start_ns = t[0], sw.end_ns = t[N - 1];
    sw.timestamp_ns = t0 + 50 * MS;
    avt_sync_ref r = avt_sync_reference(&sw, AVT_SYNC_TRIGGER, 180.0);
    assert_int_equal(r.ts, sw.timestamp_ns);
    assert_true(r.rot.ok);
    const double axes[] = {0, 90, 200, 270, 359};
    for (size_t k = 0; k < 5; k++) {
        const double frac = fmod(axes[k] - 180.0 + 360.0, 360.0) / 360.0;
        assert_true(llabs(avt_sync_rotation_time(&r.rot, axes[k]) - (t0 + (int64_t)llround(frac * 100e6))) < 20000);
    }
    /* through a plan: cameras looking along +x (azimuth 0) and -y (90, clockwise from above)
     * are crossed half-way and three quarters of the way through the sweep */
    avt_camera cams[2];
    memset(cams, 0, sizeof cams);
    const double R0[9] = {0, 0, 1, 1, 0, 0, 0, 1, 0}, R90[9] = {1, 0, 0, 0, 0, -1, 0, 1, 0}; /* z = axis */
    cams[0].lidar_T_cam = cams[1].lidar_T_cam = avt_tf_identity();
    for (int q = 0; q < 9; q++) {
        cams[0].lidar_T_cam.m[4 * (q / 3) + q % 3] = R0[q];
        cams[1].lidar_T_cam.m[4 * (q / 3) + q % 3] = R90[q];
    }
    avt_camera_stream none = {0};
    const avt_camera_stream *streams[2] = {&none, &none};
    const avt_sync_plan_options o = {AVT_SYNC_TRIGGER, AVT_CLOCK_AUTO, 50 * MS, NULL};
    avt_sync_plan *plan = avt_sync_plan_new(&o, cams, streams, 2, &r, 1, NULL);
    assert_non_null(plan);
    for (size_t c = 0; c < 2; c++) {
        avt_sync_pairing pr;
        assert_int_equal(avt_sync_plan_pair(plan, c, 0, &r.rot, &pr, NULL), AVT_OK);
        assert_int_equal(pr.image, -1);
        assert_true(llabs(pr.t_ref_ns - (t0 + (c ? 75 : 50) * MS)) < 20000);
    }
    avt_sync_plan_free(plan);
    for (int p = AVT_SYNC_NEAREST; p <= AVT_SYNC_APPROXIMATE; p++) {
        r = avt_sync_reference(&sw, (enum avt_sync_policy)p, 180.0);
        assert_false(r.rot.ok);
        assert_int_equal(avt_sync_rotation_time(&r.rot, 90), sw.timestamp_ns);
    }
}


/* 300 sweeps at 10 Hz; camera 0 images 30 ms late with 20 ppm drift and 0.5 ms jitter, one
 * every sweep but every 50th missing; camera 1 without images. Every reference is the
 * sweep's own time (no rotation fitted), so the expected pairs are known: sweep i with the
 * image made for it. */
#define PLAN_N 300
static void plan_log(avt_sync_ref *refs, avt_image_ref *imgs, size_t *n_img, int64_t t0)
{
    uint64_t seed = 7;
    *n_img = 0;
    for (size_t i = 0; i < PLAN_N; i++) {
        const int64_t ts = t0 + (int64_t)i * 100 * MS;
        refs[i] = (avt_sync_ref){ts, {.fallback_ns = ts}};
        const int64_t t = ts + 30 * MS + (int64_t)llround(20e-6 * (double)(ts - t0) + gauss(&seed) * 0.5e6);
        if (i % 50 != 49) imgs[(*n_img)++] = (avt_image_ref){NULL, t};
    }
}

static void test_sync_plan(void **st)
{
    (void)st;
    const int64_t t0 = 1700000000000000000LL;
    static avt_sync_ref refs[PLAN_N];
    static avt_image_ref imgs[PLAN_N];
    size_t n_img;
    plan_log(refs, imgs, &n_img, t0);
    avt_camera cams[2];
    memset(cams, 0, sizeof cams);
    cams[0].lidar_T_cam = cams[1].lidar_T_cam = avt_tf_identity();
    avt_camera_stream s0 = {0}, s1 = {0};
    s0.images = imgs, s0.n = n_img;
    const avt_camera_stream *streams[2] = {&s0, &s1};
    const struct {
        enum avt_sync_policy policy;
        enum avt_clock_correct correct;
        int corrected; /* expected */
    } cases[] = {{AVT_SYNC_TRIGGER, AVT_CLOCK_AUTO, 1},
                 {AVT_SYNC_NEAREST, AVT_CLOCK_AUTO, 0}, /* auto corrects only under trigger */
                 {AVT_SYNC_NEAREST, AVT_CLOCK_ON, 1},
                 {AVT_SYNC_TRIGGER, AVT_CLOCK_OFF, 0},
                 {AVT_SYNC_APPROXIMATE, AVT_CLOCK_AUTO, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const avt_sync_plan_options o = {cases[k].policy, cases[k].correct, 50 * MS, NULL};
        avt_error e = {0, ""};
        avt_sync_plan *p = avt_sync_plan_new(&o, cams, streams, 2, refs, PLAN_N, &e);
        assert_non_null(p);
        size_t next_img = 0;
        for (size_t i = 0; i < PLAN_N; i++) {
            avt_sync_pairing a, b;
            assert_int_equal(avt_sync_plan_pair(p, 0, i, &refs[i].rot, &a, &e), AVT_OK);
            assert_int_equal(avt_sync_plan_pair(p, 1, i, &refs[i].rot, &b, &e), AVT_OK);
            assert_int_equal(b.image, -1);
            assert_int_equal(a.t_ref_ns, refs[i].ts);
            if (i % 50 == 49) { /* its image is missing: none of the others is within 50 ms */
                assert_int_equal(a.image, -1);
                continue;
            }
            assert_int_equal(a.image, (long)next_img);
            const int64_t raw = imgs[next_img++].t_ns, d = a.t_img_ns - a.t_ref_ns;
            if (cases[k].corrected) /* in the LiDAR clock: only the jitter is left */
                assert_true(llabs(d) < 3 * MS);
            else
                assert_int_equal(a.t_img_ns, raw);
        }
        avt_sync_camera_summary sm0, sm1;
        memset(&sm0, 0, sizeof sm0), memset(&sm1, 0, sizeof sm1);
        assert_int_equal(avt_sync_plan_summary(p, 0, t0, &sm0, &e), AVT_OK);
        assert_int_equal(avt_sync_plan_summary(p, 1, t0, &sm1, &e), AVT_OK);
        assert_string_equal(sm0.policy, avt_sync_policy_name(cases[k].policy));
        assert_int_equal(sm0.paired, n_img);
        assert_int_equal(sm0.unpaired_frames, PLAN_N - n_img);
        assert_int_equal(sm0.unpaired_images, 0);
        assert_int_equal(sm0.clock_corrected, cases[k].corrected);
        assert_true(sm0.clock_valid);
        assert_true(llabs(sm0.clock_offset_ns - 30 * MS) < MS / 5);
        assert_true(fabs(sm0.clock_drift_ppm - 20) < 2);
        assert_true(sm0.jitter_ns > 0.3e6 && sm0.jitter_ns < 0.7e6);
        /* the image-minus-reference times counted: about the jitter once corrected, else the
         * 30 ms offset plus 0 .. 0.6 ms of drift */
        if (cases[k].corrected) assert_true(llabs(sm0.delta_median_ns) < MS / 5 && sm0.delta_max_abs_ns < 3 * MS);
        else assert_true(sm0.delta_median_ns > 30 * MS && sm0.delta_median_ns < 31 * MS);
        assert_int_equal(sm1.paired, 0);
        assert_int_equal(sm1.unpaired_frames, PLAN_N);
        assert_false(sm1.clock_valid);
        avt_sync_plan_free(p);
    }
}

/* A plan for one camera (along the LiDAR's z) with images imgs[0..n) in *s (which the plan
 * keeps), policy trigger, auto correction, 50 ms tolerance, and the first guess hint (NULL:
 * none). */
static avt_sync_plan *one_camera_plan(avt_camera_stream *s, avt_image_ref *imgs, size_t n, const avt_sync_ref *refs,
                                      const int64_t *hint)
{
    avt_camera cam;
    memset(&cam, 0, sizeof cam);
    cam.lidar_T_cam = avt_tf_identity();
    memset(s, 0, sizeof *s);
    s->images = imgs, s->n = n;
    const avt_camera_stream *streams[1] = {s};
    const avt_sync_plan_options o = {AVT_SYNC_TRIGGER, AVT_CLOCK_AUTO, 50 * MS, hint};
    avt_sync_plan *p = avt_sync_plan_new(&o, &cam, streams, 1, refs, PLAN_N, NULL);
    assert_non_null(p);
    return p;
}

/* A clock 70 ms late at 10 Hz is 30 ms early to the next sweep: without a first guess the
 * plan pairs every image one sweep late (and says the offset is -30 ms); with a guess of
 * 68 ms (--clock-offset-ms) it pairs each sweep with its own image and fits 70 ms. An image
 * repeated 2 ms after the 11th is a duplicate, never paired. */
static void test_sync_plan_hint(void **st)
{
    (void)st;
    const int64_t t0 = 1700000000000000000LL;
    static avt_sync_ref refs[PLAN_N];
    static avt_image_ref imgs[PLAN_N + 1];
    size_t n_img = 0;
    for (size_t i = 0; i < PLAN_N; i++) {
        const int64_t ts = t0 + (int64_t)i * 100 * MS;
        refs[i] = (avt_sync_ref){ts, {.fallback_ns = ts}};
        imgs[n_img++] = (avt_image_ref){NULL, ts + 70 * MS};
        if (i == 10) imgs[n_img++] = (avt_image_ref){NULL, ts + 72 * MS};
    }
    for (int with_hint = 0; with_hint < 2; with_hint++) {
        int64_t hint = 68 * MS;
        avt_camera_stream cs;
        avt_sync_plan *p = one_camera_plan(&cs, imgs, n_img, refs, with_hint ? &hint : NULL);
        hint = 0; /* the plan keeps its own copy */
        for (size_t i = 0; i < PLAN_N; i++) {
            avt_sync_pairing a;
            assert_int_equal(avt_sync_plan_pair(p, 0, i, &refs[i].rot, &a, NULL), AVT_OK);
            /* image k of sweep k is at index k, or k + 1 after the duplicate */
            const long own = (long)i + (i > 10), late = i == 0 ? -1 : (long)(i - 1) + (i - 1 > 10);
            assert_int_equal(a.image, with_hint ? own : late);
            if (a.image >= 0) assert_true(llabs(a.t_img_ns - a.t_ref_ns) < 1000);
        }
        avt_sync_camera_summary sm;
        memset(&sm, 0, sizeof sm);
        assert_int_equal(avt_sync_plan_summary(p, 0, t0, &sm, NULL), AVT_OK);
        assert_int_equal(sm.duplicates, 1);
        assert_int_equal(sm.paired, with_hint ? PLAN_N : PLAN_N - 1);
        assert_int_equal(sm.unpaired_images, with_hint ? 1 : 2);
        assert_true(llabs(sm.clock_offset_ns - (with_hint ? 70 : -30) * MS) < 10000);
        avt_sync_plan_free(p);
    }
}

/* A clock drifting 1800 ppm from 2 ms ends 54 ms late, beyond the 50 ms tolerance around a
 * constant offset: only the fitted drift keeps each sweep paired with its own image. */
static void test_sync_plan_drift(void **st)
{
    (void)st;
    const int64_t t0 = 1700000000000000000LL;
    static avt_sync_ref refs[PLAN_N];
    static avt_image_ref imgs[PLAN_N];
    for (size_t i = 0; i < PLAN_N; i++) {
        const int64_t ts = t0 + (int64_t)i * 100 * MS;
        refs[i] = (avt_sync_ref){ts, {.fallback_ns = ts}};
        imgs[i] = (avt_image_ref){NULL, ts + 2 * MS + (int64_t)llround(1800e-6 * (double)(ts - t0))};
    }
    avt_camera_stream cs;
    avt_sync_plan *p = one_camera_plan(&cs, imgs, PLAN_N, refs, NULL);
    for (size_t i = 0; i < PLAN_N; i++) {
        avt_sync_pairing a;
        assert_int_equal(avt_sync_plan_pair(p, 0, i, &refs[i].rot, &a, NULL), AVT_OK);
        assert_int_equal(a.image, (long)i);
        assert_true(llabs(a.t_img_ns - a.t_ref_ns) < 1000);
    }
    avt_sync_camera_summary sm;
    memset(&sm, 0, sizeof sm);
    assert_int_equal(avt_sync_plan_summary(p, 0, t0, &sm, NULL), AVT_OK);
    assert_true(fabs(sm.clock_drift_ppm - 1800) < 1);
    assert_true(llabs(sm.clock_offset_ns - 2 * MS) < 10000);
    avt_sync_plan_free(p);
}

/* ---- KITTI raw: velodyne trigger times against four cameras ---- */

static int kitti_load(const char *rel, int64_t **t, size_t *n)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/kitti/raw/2011_09_26_drive_0001_sync/%s", AVT_SHARED_DATA, rel);
    avt_error e = {0, ""};
    int rc = avt_kitti_times_load(p, t, n, &e);
    if (rc && rc != AVT_NOTFOUND) fail_msg("%s", e.msg);
    return rc;
}

/* KITTI's set-up (Geiger et al., IJRR 2013, section 2): the cameras are triggered when the
 * Velodyne faces forward; velodyne_points/timestamps.txt is that instant (half-way between
 * timestamps_start and _end, checked). So each camera must pair 1:1 with the scans and its
 * offset must be small against the 103 ms period: within 0..20 ms, the stereo pairs
 * (image_00/01 grey, image_02/03 colour) within 1 ms of each other, and the fit within
 * 0.5 ms of the plain median of image - trigger (computed here without the library). */
static void test_kitti(void **st)
{
    (void)st;
    int64_t *v = NULL, *vs = NULL, *ve = NULL;
    size_t nv, nvs, nve;
    if (kitti_load("velodyne_points/timestamps.txt", &v, &nv)) skip();
    assert_int_equal(kitti_load("velodyne_points/timestamps_start.txt", &vs, &nvs), 0);
    assert_int_equal(kitti_load("velodyne_points/timestamps_end.txt", &ve, &nve), 0);
    assert_int_equal(nv, nvs);
    assert_int_equal(nv, nve);
    for (size_t i = 0; i < nv; i++) {
        double f = (double)(v[i] - vs[i]) / (double)(ve[i] - vs[i]);
        assert_true(fabs(f - 0.5) < 0.01); /* forward = half a turn after the rear cut */
    }
    double off[4];
    for (int c = 0; c < 4; c++) {
        char rel[64];
        snprintf(rel, sizeof rel, "image_%02d/timestamps.txt", c);
        int64_t *im = NULL;
        size_t ni;
        assert_int_equal(kitti_load(rel, &im, &ni), 0);
        assert_int_equal(ni, nv);
        arr_src s = {im, ni, 0};
        avt_clock_tracker *k = avt_clock_tracker_new(NULL, 50 * MS, arr_next, &s, NULL);
        for (size_t i = 0; i < nv; i++) assert_int_equal(avt_clock_tracker_add(k, v[i], NULL), 0);
        avt_clock_model m;
        int64_t guess;
        assert_int_equal(avt_clock_tracker_fit(k, &m, &guess, NULL), AVT_OK);
        assert_true(m.valid);
        /* pair with the fitted clock: scan i <-> image i, all of them */
        arr_src s2 = {im, ni, 0};
        avt_sync_matcher_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.tolerance_ns = 20 * MS;
        cfg.clock = m;
        avt_sync_matcher *mt = avt_sync_matcher_new(&cfg, arr_next, &s2, NULL);
        for (size_t i = 0; i < nv; i++) {
            avt_sync_match r;
            assert_int_equal(avt_sync_matcher_pair(mt, v[i], &r, NULL), 0);
            assert_int_equal(r.image, (long)i);
        }
        /* independent reference: median of image - trigger */
        double *d = malloc(nv * sizeof *d);
        for (size_t i = 0; i < nv; i++) d[i] = (double)(im[i] - v[i]);
        for (size_t i = 0; i < nv; i++)
            for (size_t j = i + 1; j < nv; j++)
                if (d[j] < d[i]) {
                    double x = d[i];
                    d[i] = d[j], d[j] = x;
                }
        double med = d[nv / 2];
        off[c] = m.offset_ns + m.drift * (double)(v[0] - m.t_ref_ns);
        printf("KITTI image_%02d: offset %.3f ms (+- %.3f), drift %.1f ppm (+- %.1f), jitter %.3f ms; median %.3f ms\n", c,
               off[c] / 1e6, m.offset_sd_ns / 1e6, m.drift * 1e6, m.drift_sd * 1e6, m.residual_sd_ns / 1e6, med / 1e6);
        assert_true(off[c] > 0 && off[c] < 20e6);
        assert_true(fabs(m.offset_ns - med) < 0.5e6);
        free(d);
        avt_sync_matcher_free(mt);
        avt_clock_tracker_free(k);
        free(im);
    }
    assert_true(fabs(off[0] - off[1]) < 1e6);
    assert_true(fabs(off[2] - off[3]) < 1e6);
    free(v), free(vs), free(ve);
}

static void test_kitti_parse(void **st)
{
    (void)st;
    int64_t t;
    assert_int_equal(avt_kitti_time_parse("2011-09-26 13:02:25.964389445", &t), AVT_OK);
    assert_int_equal(t, 1317042145964389445LL); /* date -u -d '2011-09-26 13:02:25' +%s = 1317042145 */
    assert_int_equal(avt_kitti_time_parse("1970-01-01 00:00:00\r\n", &t), AVT_OK);
    assert_int_equal(t, 0);
    static const char *bad[] = {"", "2011-09-26", "2011-13-26 13:02:25.1", "2011-09-26 25:02:25.1",
                                "2011-09-26 13:02:25.", "2011-09-26 13:02:25.1234567890", "2011-09-26T13:02:25.1",
                                "2011-09-26 13:02:25.1 x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_int_equal(avt_kitti_time_parse(bad[i], &t), AVT_FORMAT);
}

/* ---- camera streams with bad timestamps ---- */

/* Writes text to dir/name; a .png name with empty text gets a valid 1x1 PNG (encoded by
 * OpenCV), which the listing's structural check passes. */
static void touch(const char *dir, const char *name, const char *text)
{
    static const unsigned char png1[67] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
        0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00,
        0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x08,
        0x1d, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0xcf, 0xc8, 0x35, 0xe5, 0x00,
        0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    if (!text[0] && strstr(name, ".png")) assert_int_equal(fwrite(png1, 1, sizeof png1, f), sizeof png1);
    fputs(text, f);
    fclose(f);
}

static int any_warning(const avt_camera_stream *s, const char *a, const char *b)
{
    for (size_t i = 0; i < s->n_warnings; i++)
        if (strstr(s->warnings[i], a) && (!b || strstr(s->warnings[i], b))) return 1;
    return 0;
}

static void test_stream_bad_times(void **st)
{
    (void)st;
    char log[] = "/tmp/avt-sync-XXXXXX", dir[4096];
    assert_non_null(mkdtemp(log));
    snprintf(dir, sizeof dir, "%s/cameras", log);
    mkdir(dir, 0777);
    /* names: one unparseable, two equal times in different spellings */
    snprintf(dir, sizeof dir, "%s/cameras/a", log);
    mkdir(dir, 0777);
    touch(dir, "1700000000000000000.png", "");
    touch(dir, "1700000000.000000000.png", "");
    touch(dir, "1700000000100000000.png", "");
    touch(dir, "frame_7.png", "");
    avt_camera_stream s;
    avt_error e = {0, ""};
    assert_int_equal(avt_camera_stream_list(log, "a", &s, &e), AVT_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.bad_names, 1);
    assert_int_equal(s.duplicate_times, 1);
    assert_true(any_warning(&s, "frame_7.png", "cannot read a time"));
    assert_true(any_warning(&s, "duplicate image time", "1700000000000000000"));
    avt_camera_stream_free(&s);
    /* timestamps.txt: a time going backwards and a duplicate, named by file and line */
    snprintf(dir, sizeof dir, "%s/cameras/b", log);
    mkdir(dir, 0777);
    for (int i = 0; i < 4; i++) {
        char n[32];
        snprintf(n, sizeof n, "%010d.png", i);
        touch(dir, n, "");
    }
    touch(dir, "timestamps.txt",
          "2011-09-26 13:02:25.0\n2011-09-26 13:02:25.1\n2011-09-26 13:02:25.05\n2011-09-26 13:02:25.1\n");
    assert_int_equal(avt_camera_stream_list(log, "b", &s, &e), AVT_OK);
    assert_string_equal(s.time_source, "timestamps.txt");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.backwards_times, 1);
    assert_int_equal(s.duplicate_times, 1);
    assert_true(any_warning(&s, "0000000002.png", "goes backwards"));
    assert_true(any_warning(&s, "0000000003.png", "line 4"));
    avt_camera_stream_free(&s);
    /* timestamps.csv with a bad row and a row naming a missing file */
    snprintf(dir, sizeof dir, "%s/cameras/c", log);
    mkdir(dir, 0777);
    touch(dir, "x.png", "");
    touch(dir, "y.png", "");
    touch(dir, "timestamps.csv", "file,t_ns\nx.png,1000\ny.png,12ab\nz.png,3000\n");
    assert_int_equal(avt_camera_stream_list(log, "c", &s, &e), AVT_OK);
    assert_int_equal(s.n, 1);
    assert_true(any_warning(&s, "timestamps.csv: line 3", NULL));
    assert_true(any_warning(&s, "no image", "z.png"));
    avt_camera_stream_free(&s);
    /* no directory, empty directory: empty stream and a warning, never an error */
    assert_int_equal(avt_camera_stream_list(log, "missing", &s, &e), AVT_OK);
    assert_int_equal(s.n, 0);
    assert_true(any_warning(&s, "missing", "no images"));
    avt_camera_stream_free(&s);
    /* a bad timestamps.txt line leaves the camera empty with the line named */
    snprintf(dir, sizeof dir, "%s/cameras/d", log);
    mkdir(dir, 0777);
    touch(dir, "0.png", "");
    touch(dir, "timestamps.txt", "2011-09-26 13:02:25.0\nyesterday\n");
    assert_int_equal(avt_camera_stream_list(log, "d", &s, &e), AVT_OK);
    assert_int_equal(s.n, 0);
    assert_true(any_warning(&s, "line 2", "yesterday"));
    avt_camera_stream_free(&s);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", log);
    assert_int_equal(system(cmd), 0);
}

/* ---- PNG: decode every colour type and bit depth; damage found ---- */

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;
static void mem_write(png_structp png, png_bytep d, size_t n)
{
    membuf *b = png_get_io_ptr(png);
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void mem_flush(png_structp png) { (void)png; }

static membuf make_png(int color, int depth, int interlace)
{
    membuf b = {NULL, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng write failed");
    png_set_write_fn(png, &b, mem_write, mem_flush);
    const unsigned W = 37, H = 23;
    png_set_IHDR(png, info, W, H, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[16];
        for (int i = 0; i < 16; i++) pal[i].red = pal[i].green = pal[i].blue = (png_byte)(i * 16);
        png_set_PLTE(png, info, pal, 16);
    }
    png_text txt = {PNG_TEXT_COMPRESSION_NONE, "Comment", "ancillary chunk", 15, 0, NULL, NULL};
    png_set_text(png, info, &txt, 1);
    png_write_info(png, info);
    size_t rb = png_get_rowbytes(png, info);
    uint8_t *row = malloc(rb);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (unsigned y = 0; y < H; y++) {
            for (size_t i = 0; i < rb; i++) row[i] = (uint8_t)((i * 7 + y * 13) & (color == PNG_COLOR_TYPE_PALETTE && depth == 8 ? 0x0f : 0xff));
            png_write_row(png, row);
        }
    png_write_end(png, info);
    free(row);
    png_destroy_write_struct(&png, &info);
    return b;
}

static void test_png_verify(void **st)
{
    (void)st;
    static const int types[][2] = {{PNG_COLOR_TYPE_GRAY, 8},  {PNG_COLOR_TYPE_GRAY, 16}, {PNG_COLOR_TYPE_RGB, 8},
                                   {PNG_COLOR_TYPE_RGB, 16},  {PNG_COLOR_TYPE_RGBA, 8},  {PNG_COLOR_TYPE_RGBA, 16},
                                   {PNG_COLOR_TYPE_PALETTE, 8}, {PNG_COLOR_TYPE_PALETTE, 4}, {PNG_COLOR_TYPE_GRAY_ALPHA, 16}};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++)
        for (int il = 0; il < 2; il++) {
            membuf b = make_png(types[k][0], types[k][1], il ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE);
            avt_png_info info;
            avt_error e = {0, ""};
            assert_int_equal(avt_png_verify_mem(b.p, b.n, &info, &e), AVT_OK);
            assert_int_equal(info.width, 37);
            assert_int_equal(info.bit_depth, types[k][1]);
            assert_int_equal(info.color_type, types[k][0]);
            if (k == 2 && !il) {
                /* every truncation fails cleanly; the header read needs only the IHDR */
                for (size_t n = 0; n < b.n; n++) {
                    int rc = avt_png_verify_mem(b.p, n, &info, &e);
                    assert_int_equal(rc, AVT_FORMAT);
                }
                /* a flipped byte in each chunk: CRC (ancillary tEXt included) or zlib damage */
                size_t off = 8;
                while (off + 12 <= b.n) {
                    uint32_t len = (uint32_t)b.p[off] << 24 | b.p[off + 1] << 16 | b.p[off + 2] << 8 | b.p[off + 3];
                    char type[5] = {(char)b.p[off + 4], (char)b.p[off + 5], (char)b.p[off + 6], (char)b.p[off + 7], 0};
                    if (len > 0) {
                        b.p[off + 8 + len / 2] ^= 0x40;
                        int rc = avt_png_verify_mem(b.p, b.n, &info, &e);
                        printf("damaged %s: %s\n", type, e.msg);
                        assert_int_equal(rc, AVT_FORMAT);
                        assert_non_null(strstr(e.msg, "<memory>"));
                        b.p[off + 8 + len / 2] ^= 0x40;
                    }
                    off += 12 + len;
                }
            }
            free(b.p);
        }
}

/* ---- statistics ---- */

static void test_stats(void **st)
{
    (void)st;
    avt_sync_stats s;
    assert_int_equal(avt_sync_stats_init(&s, 50 * MS), AVT_OK);
    for (int i = 1; i <= 100; i++) avt_sync_stats_add(&s, i * 100000LL); /* 0.1 .. 10 ms */
    int64_t mn, med, p95, mx;
    avt_sync_stats_summary(&s, &mn, &med, &p95, &mx);
    const int64_t bin = 2 * 50 * MS / AVT_SYNC_HIST_BINS;
    assert_int_equal(mn, 100000);
    assert_int_equal(mx, 10 * MS);
    assert_true(llabs(med - 5000000) <= bin);  /* the 50th of 100 */
    assert_true(llabs(p95 - 9500000) <= bin);  /* the 95th */
    avt_sync_stats_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approx_failure_case), cmocka_unit_test(test_approx_three_streams),
        cmocka_unit_test(test_approx_drop),         cmocka_unit_test(test_matcher_once_and_duplicates),
        cmocka_unit_test(test_clock_tracker),       cmocka_unit_test(test_kitti),
        cmocka_unit_test(test_kitti_parse),         cmocka_unit_test(test_stream_bad_times),
        cmocka_unit_test(test_png_verify),          cmocka_unit_test(test_stats),
        cmocka_unit_test(test_sync_reference),      cmocka_unit_test(test_sync_plan),
        cmocka_unit_test(test_sync_plan_hint),
        cmocka_unit_test(test_sync_plan_drift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
