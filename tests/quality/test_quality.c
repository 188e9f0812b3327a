/* quality: overlap geometry against hand-computed cases, the assignment against brute force,
 * kappa and ICC against published worked examples, KITTI / nuScenes / COCO AP against
 * hand-computed values. No expected value here comes from the code under test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avtruth/quality.h"

static avt_label_box box(int cls, double x, double y, double z, double l, double w, double h, double yaw)
{
    avt_label_box b;
    memset(&b, 0, sizeof b);
    b.class_id = cls;
    b.center[0] = x, b.center[1] = y, b.center[2] = z;
    b.size[0] = l, b.size[1] = w, b.size[2] = h;
    b.yaw = yaw;
    b.score = NAN;
    for (int k = 0; k < 3; k++) b.velocity[k] = 0;
    return b;
}

static void test_overlap_hand_cases(void **state)
{
    (void)state;
    /* 2 x 2 squares: shifted by 1 in x -> intersection 2, union 6 */
    avt_label_box a = box(1, 0, 0, 0, 2, 2, 2, 0), b = box(1, 1, 0, 0, 2, 2, 2, 0);
    assert_true(fabs(avt_quality_bev_intersection(&a, &b) - 2) < 1e-12);
    assert_true(fabs(avt_quality_iou_bev(&a, &b) - 2.0 / 6) < 1e-12);
    /* also 1 up in z: volume intersection 2 * 1 = 2, union 8 + 8 - 2 */
    b.center[2] = 1;
    assert_true(fabs(avt_quality_iou_3d(&a, &b) - 2.0 / 14) < 1e-12);
    /* the same square turned 45 degrees: a regular octagon of area 2 a^2 (sqrt 2 - 1) */
    avt_label_box r = box(1, 0, 0, 0, 2, 2, 2, M_PI / 4);
    double oct = 8 * (sqrt(2) - 1);
    assert_true(fabs(avt_quality_bev_intersection(&a, &r) - oct) < 1e-12);
    assert_true(fabs(avt_quality_iou_bev(&a, &r) - oct / (8 - oct)) < 1e-12);
    /* a 4 x 1 bar turned 90 degrees over a 4 x 1 bar: a 1 x 1 cross */
    avt_label_box p = box(1, 0, 0, 0, 4, 1, 1, 0), q = box(1, 0, 0, 0, 4, 1, 1, M_PI / 2);
    assert_true(fabs(avt_quality_bev_intersection(&p, &q) - 1) < 1e-12);
    /* yaw by pi is the same footprint; apart boxes do not meet */
    avt_label_box s = box(1, 0, 0, 0, 4, 1, 1, M_PI);
    assert_true(fabs(avt_quality_iou_bev(&p, &s) - 1) < 1e-12);
    avt_label_box far = box(1, 10, 0, 0, 4, 1, 1, 0.3);
    assert_true(avt_quality_iou_3d(&p, &far) == 0);
    /* identical boxes */
    assert_true(fabs(avt_quality_iou_3d(&r, &r) - 1) < 1e-12);
    double x[4] = {0, 0, 2, 2}, y[4] = {1, 1, 3, 3};
    assert_true(fabs(avt_quality_iou_2d(x, y, 0) - 1.0 / 7) < 1e-12);
    assert_true(fabs(avt_quality_iou_2d(x, y, 1) - 1.0 / 4) < 1e-12);
}

/* The best permutation by enumeration (n <= 6). */
static double brute(const double *c, int n, int m, int depth, int *used)
{
    if (depth == n) return 0;
    double best = INFINITY;
    for (int j = 0; j < m; j++) {
        if (used[j]) continue;
        used[j] = 1;
        double v = c[depth * m + j] + brute(c, n, m, depth + 1, used);
        used[j] = 0;
        if (v < best) best = v;
    }
    return best;
}

static void test_assignment_vs_brute_force(void **state)
{
    (void)state;
    srand(7);
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + rand() % 6, m = 1 + rand() % 6;
        double c[36], ct[36];
        for (int i = 0; i < n * m; i++) c[i] = (rand() % 1000) / 10.0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) ct[j * n + i] = c[i * m + j];
        int used[6] = {0};
        double best = n <= m ? brute(c, n, m, 0, used) : brute(ct, m, n, 0, used);
        long r2c[6];
        avt_error err;
        assert_int_equal(avt_quality_assign(c, (size_t)n, (size_t)m, r2c, &err), 0);
        double got = 0;
        int seen[6] = {0}, assigned = 0;
        for (int i = 0; i < n; i++)
            if (r2c[i] >= 0) {
                assert_false(seen[r2c[i]]);
                seen[r2c[i]] = 1;
                got += c[i * m + r2c[i]];
                assigned++;
            }
        assert_int_equal(assigned, n < m ? n : m);
        assert_true(fabs(got - best) < 1e-9);
    }
}

static void test_match_thresholds(void **state)
{
    (void)state;
    /* b[0] overlaps a[1] best, b[1] overlaps nothing: greedy-free optimum and threshold */
    avt_label_box a[2] = {box(1, 0, 0, 0, 4, 2, 1.5, 0), box(1, 10, 0, 0, 4, 2, 1.5, 0)};
    avt_label_box b[2] = {box(1, 10.2, 0, 0, 4, 2, 1.5, 0), box(1, 30, 0, 0, 4, 2, 1.5, 0)};
    avt_match_opts o;
    avt_schema sc;
    assert_int_equal(avt_schema_default(&sc), 0);
    avt_match_opts_schema(&o, AVT_MATCH_IOU_3D, &sc); /* car (id 1): 0.7 */
    assert_true(o.threshold[1] == 0.7);
    long a2b[2];
    double v[2];
    avt_error err;
    assert_int_equal(avt_quality_match(a, 2, b, 2, &o, a2b, v, &err), 0);
    assert_int_equal(a2b[0], -1);
    assert_int_equal(a2b[1], 0);
    assert_true(fabs(v[1] - 3.8 / 4.2) < 1e-12); /* 3.8 x 2 overlap of 4 x 2 boxes */
    avt_match_opts_schema(&o, AVT_MATCH_DISTANCE, &sc);
    o.threshold[1] = 0.1; /* 0.2 m apart: too far */
    assert_int_equal(avt_quality_match(a, 2, b, 2, &o, a2b, v, &err), 0);
    assert_int_equal(a2b[1], -1);
    /* thresholds by class name of the schema */
    char msg[256];
    assert_int_equal(avt_class_thresholds_parse("car=0.6,pedestrian=0.3", &sc, o.threshold, msg, sizeof msg), 0);
    assert_true(o.threshold[1] == 0.6 && o.threshold[2] == 0.3);
    assert_int_equal(avt_class_thresholds_parse("bus=x", &sc, o.threshold, msg, sizeof msg), -1);
    assert_int_equal(avt_class_thresholds_parse("spaceship=0.5", &sc, o.threshold, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "spaceship"));
    avt_schema_free(&sc);
}

/* Cohen (1960), p. 45 (Table 2; the same cells are Cohen 1968's Table 1): two judges, three
 * categories, N = 200; p_o = .70, p_c = .41, kappa = .29 / .59 = .492. The cells as reproduced
 * by R's psych (man/kappa.Rd, "cohen reports .492"), thomaspingel/cohens-kappa-matlab and the
 * DMAR package (checked against .492), which agree cell for cell. */
static void test_cohen_1960(void **state)
{
    (void)state;
    double t[9] = {88, 14, 18, 10, 40, 10, 2, 6, 12};
    assert_true(fabs(avt_kappa_cohen(t, 3) - 0.29 / 0.59) < 1e-12);
}

/* Fleiss' kappa worked example: 10 subjects, 14 raters, 5 categories; P-bar = 0.378,
 * P-bar_e = 0.213, kappa = 0.210 (to the 3 printed decimals). */
static void test_fleiss_example(void **state)
{
    (void)state;
    double x[50] = {0, 0, 0, 0, 14, 0, 2, 6, 4, 2, 0, 0, 3, 5, 6, 0, 3, 9, 2, 0, 2, 2, 8, 1, 1,
                    7, 7, 0, 0, 0, 3, 2, 6, 3, 0, 2, 5, 3, 2, 2, 6, 5, 2, 1, 0, 0, 2, 2, 3, 7};
    assert_true(fabs(avt_kappa_fleiss(x, 10, 5) - 0.210) < 5e-4);
    /* perfect agreement: 1; all raters split evenly between two categories: negative */
    double p[6] = {3, 0, 0, 3, 3, 0};
    assert_true(fabs(avt_kappa_fleiss(p, 3, 2) - 1) < 1e-12);
}

/* Fleiss (1971), Table 1: 30 patients, 6 psychiatrists, 5 diagnoses (depression, personality
 * disorder, schizophrenia, neurosis, other), as counts per patient; published kappa .430. The
 * counts as reproduced by JonasMoss/quadagree (data_raw/fleiss1971.csv, "scraped by hand from
 * Fleiss (1971)") and, as raw ratings, by R's irr (dataset diagnoses; kappam.fleiss 0.4302445,
 * also statsmodels' test_inter_rater.py): column sums 26 26 30 55 43. Exactly, P-bar = 5/9,
 * P-bar_e = 3563/16200, kappa = 5437/12637. */
static void test_fleiss_1971(void **state)
{
    (void)state;
    static const double t[30 * 5] = {
        0, 0, 0, 6, 0, 0, 3, 0, 0, 3, 0, 1, 4, 0, 1, 0, 0, 0, 0, 6, 0, 3, 0, 3, 0, 2, 0, 4, 0, 0,
        0, 0, 4, 0, 2, 2, 0, 3, 1, 0, 2, 0, 0, 4, 0, 0, 0, 0, 0, 6, 1, 0, 0, 5, 0, 1, 1, 0, 4, 0,
        0, 3, 3, 0, 0, 1, 0, 0, 5, 0, 0, 2, 0, 3, 1, 0, 0, 5, 0, 1, 3, 0, 0, 1, 2, 5, 1, 0, 0, 0,
        0, 2, 0, 4, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 6, 0, 1, 0, 5, 0, 0, 2, 0, 1, 3, 2, 0, 0, 4, 0,
        1, 0, 0, 4, 1, 0, 5, 0, 1, 0, 4, 0, 0, 0, 2, 0, 2, 0, 4, 0, 1, 0, 5, 0, 0, 0, 0, 0, 0, 6};
    double col[5] = {0};
    for (int i = 0; i < 150; i++) col[i % 5] += t[i];
    const double want_col[5] = {26, 26, 30, 55, 43};
    for (int j = 0; j < 5; j++) assert_true(col[j] == want_col[j]); /* the table as transcribed */
    const double kappa = avt_kappa_fleiss(t, 30, 5);
    assert_true(fabs(kappa - 5437.0 / 12637.0) < 1e-12);
    assert_true(fabs(kappa - 0.430) < 5e-4);
}

/* Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges; ICC(2,1) = .29. */
static void test_icc_shrout_fleiss(void **state)
{
    (void)state;
    double x[24] = {9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7};
    assert_true(fabs(avt_icc_2_1(x, 6, 4) - 0.29) < 0.005);
    /* their ANOVA: BMS 11.24, JMS 32.49, EMS 1.02 -> (11.24-1.02)/(11.24+3*1.02+4*(32.49-1.02)/6) */
    double want = (11.24 - 1.02) / (11.24 + 3 * 1.02 + 4 * (32.49 - 1.02) / 6);
    assert_true(fabs(avt_icc_2_1(x, 6, 4) - want) < 2e-3);
}

/* ---- evaluation ---- */

#define NF 20
#define NB 10
static avt_label_box gt[NF][NB], pr[NF][2 * NB];
static avt_eval_frame fr[NF];

/* NF frames of NB cars 8 m apart; predictions = truth (optionally shifted) with distinct scores. */
static void setup_eval(double shift, int drop_every, int extra_low)
{
    for (int f = 0; f < NF; f++) {
        size_t np = 0;
        for (int i = 0; i < NB; i++) {
            gt[f][i] = box(1, 8.0 * i, 3.0 * f, 0, 4, 1.8, 1.5, 0.1 * i);
            int k = f * NB + i;
            if (drop_every && (k + 1) % drop_every == 0) continue;
            pr[f][np] = gt[f][i];
            pr[f][np].center[0] += shift;
            pr[f][np].score = 0.5 + 0.4 * (double)(k % 97) / 97.0 + 1e-6 * k;
            np++;
        }
        for (int i = 0; extra_low && i < NB; i++) {
            pr[f][np] = box(1, 8.0 * i + 4, 3.0 * f + 100, 0, 4, 1.8, 1.5, 0);
            pr[f][np].score = 0.1 + 1e-4 * (f * NB + i);
            np++;
        }
        fr[f] = (avt_eval_frame){.gt = gt[f], .pred = pr[f], .n_gt = NB, .n_pred = np};
    }
}

static void test_kitti_ap(void **state)
{
    (void)state;
    double ap[2];
    setup_eval(0, 0, 0);
    for (int d = 0; d < 3; d++)
        for (int bev = 0; bev < 2; bev++) {
            assert_int_equal(avt_eval_kitti_ap(fr, NF, 1, -1, d, bev, 0.7, ap), NF * NB);
            assert_true(fabs(ap[0] - 1) < 1e-12 && fabs(ap[1] - 1) < 1e-12);
        }
    /* every 5th box missed: recall reaches 0.8 at precision 1; R40 sums 32 of the 40 recall
     * points, R11 9 of 11 (0, 0.1, .., 0.8) */
    setup_eval(0, 5, 0);
    avt_eval_kitti_ap(fr, NF, 1, -1, 1, 0, 0.7, ap);
    assert_true(fabs(ap[0] - 0.8) < 1e-12);
    assert_true(fabs(ap[1] - 9.0 / 11) < 1e-12);
    /* extra boxes scored below every true positive change nothing */
    setup_eval(0, 5, 1);
    avt_eval_kitti_ap(fr, NF, 1, -1, 1, 0, 0.7, ap);
    assert_true(fabs(ap[0] - 0.8) < 1e-12);
    /* 1 m shift in x of a 4 x 1.8 m car: IoU at most 3/5 (yaw 0) < 0.7 -> AP 0; the worst,
     * yaw 0.9: (4 - cos 0.9)(1.8 - sin 0.9) / (2 * 7.2 - that) = 0.313 -> AP 1 at 0.3 */
    setup_eval(1, 0, 0);
    avt_eval_kitti_ap(fr, NF, 1, -1, 1, 0, 0.7, ap);
    assert_true(ap[0] == 0 && ap[1] == 0);
    avt_eval_kitti_ap(fr, NF, 1, -1, 1, 1, 0.3, ap);
    assert_true(fabs(ap[0] - 1) < 1e-12);
    /* no ground truth of a class: undefined */
    assert_int_equal(avt_eval_kitti_ap(fr, NF, 2, -1, 1, 0, 0.5, ap), 0);
    assert_true(isnan(ap[0]));
}

static void test_kitti_difficulty_and_dontcare(void **state)
{
    (void)state;
    /* one frame, two cars: one 30 px high (moderate, not easy), one 50 px; predictions of
     * both, plus a false positive inside a DontCare region */
    avt_label_box g[2] = {box(1, 10, 0, 0, 4, 2, 1.5, 0), box(1, 20, 0, 0, 4, 2, 1.5, 0)};
    avt_label_box p[3] = {g[0], g[1], box(1, 40, 0, 0, 4, 2, 1.5, 0)};
    p[0].score = 0.9, p[1].score = 0.8, p[2].score = 0.95;
    avt_box_view gv[2] = {{{0, 0, 60, 30}, 30, 0, 0}, {{100, 0, 200, 50}, 50, 0, 0}};
    avt_box_view pv[3] = {gv[0], gv[1], {{300, 0, 340, 40}, 40, 0, 0}};
    double dc[1][4] = {{290, 0, 350, 45}};
    avt_eval_frame f = {g, p, 2, 3, gv, pv, NULL, 0};
    double ap[2];
    /* without the DontCare region the 0.95 false positive comes first: precision 1/2, 2/3 */
    assert_int_equal(avt_eval_kitti_ap(&f, 1, 1, -1, 1, 0, 0.7, ap), 2);
    /* R40: recall points 1..20 at precision 2/3 (the best at recall >= r), 21..40 too */
    assert_true(fabs(ap[0] - 2.0 / 3) < 1e-12);
    f.dontcare = (const double(*)[4])dc, f.n_dontcare = 1;
    avt_eval_kitti_ap(&f, 1, 1, -1, 1, 0, 0.7, ap);
    assert_true(fabs(ap[0] - 1) < 1e-12);
    /* easy: the 30 px car is ignored, and so is its 30 px detection: one car, found */
    assert_int_equal(avt_eval_kitti_ap(&f, 1, 1, -1, 0, 0, 0.7, ap), 1);
    assert_true(fabs(ap[0] - 1) < 1e-12);
}

/* KITTI's neighbour classes: a van (id 5 in the default schema) is neither found nor missed
 * when cars are evaluated; a car detection on it is not a false positive. */
static void test_kitti_neighbour_class(void **state)
{
    (void)state;
    avt_label_box g[2] = {box(1, 10, 0, 0, 4, 2, 1.5, 0), box(5, 20, 0, 0, 5, 2, 2, 0)};
    avt_label_box p[2] = {g[0], g[1]};
    p[1].class_id = 1;
    p[0].score = 0.5, p[1].score = 0.9; /* the detection on the van ranks first */
    avt_eval_frame f = {g, p, 2, 2, NULL, NULL, NULL, 0};
    double ap[2];
    assert_int_equal(avt_eval_kitti_ap(&f, 1, 1, 5, 1, 0, 0.7, ap), 1);
    assert_true(fabs(ap[0] - 1) < 1e-12);
    /* without the neighbour rule the van detection is a false positive ahead of the car:
     * precision 1/2 at recall 1 */
    assert_int_equal(avt_eval_kitti_ap(&f, 1, 1, -1, 1, 0, 0.7, ap), 1);
    assert_true(fabs(ap[0] - 0.5) < 1e-12);
}

static void test_nuscenes(void **state)
{
    (void)state;
    avt_eval_opts o;
    avt_schema sc;
    assert_int_equal(avt_schema_default(&sc), 0);
    avt_eval_opts_default(&o, &sc);
    setup_eval(1, 0, 0);
    json_t *r = json_object();
    avt_error err;
    assert_int_equal(avt_quality_eval(fr, NF, &o, r, &err), 0);
    json_t *car = json_object_get(json_object_get(r, "nuscenes"), "car");
    json_t *ap = json_object_get(car, "ap");
    /* centres 1 m off: not < 0.5 nor < 1 m; within 2 and 4 m */
    assert_true(json_real_value(json_object_get(ap, "0.5")) == 0);
    assert_true(json_real_value(json_object_get(ap, "1")) == 0);
    assert_true(fabs(json_real_value(json_object_get(ap, "2")) - 1) < 1e-12);
    assert_true(fabs(json_real_value(json_object_get(ap, "4")) - 1) < 1e-12);
    /* TP errors at 2 m: translation 1 m, scale 0, orientation 0, velocity 0 */
    assert_true(fabs(json_real_value(json_object_get(car, "ate")) - 1) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(car, "ase"))) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(car, "aoe"))) < 1e-9);
    json_t *k = json_object_get(json_object_get(r, "kitti"), "car");
    assert_true(json_real_value(json_object_get(k, "ap3d_r40")) == 0);
    json_decref(r);
    /* every 5th missed: the interpolated precision is 1 up to recall 0.8, 0 above: AP over
     * recall 0.11..1 at precision - 0.1: 70 points of 0.9 over 90 points / 0.9 = 7/9 */
    setup_eval(0, 5, 0);
    r = json_object();
    assert_int_equal(avt_quality_eval(fr, NF, &o, r, &err), 0);
    ap = json_object_get(json_object_get(json_object_get(r, "nuscenes"), "car"), "ap");
    assert_true(fabs(json_real_value(json_object_get(ap, "0.5")) - 7.0 / 9) < 1e-9);
    json_decref(r);
    avt_schema_free(&sc);
}

static void test_coco(void **state)
{
    (void)state;
    avt_box2d g[2] = {{{0, 0, 10, 10}, 1, NAN}, {{20, 0, 30, 10}, 1, NAN}};
    /* a perfect box, and one shifted by 2 px in x: IoU 8*10 / (2*100 - 80) = 2/3 */
    avt_box2d p[2] = {{{0, 0, 10, 10}, 1, 0.9}, {{22, 0, 32, 10}, 1, 0.8}};
    avt_coco_image im = {g, p, 2, 2};
    double ap50, ap;
    avt_eval_coco(&im, 1, &ap50, &ap);
    assert_true(fabs(ap50 - 1) < 1e-12);
    /* thresholds 0.50..0.65 (4 of 10) find both; 0.70..0.95 find the first only: precision 1
     * up to recall 0.5 -> 51 of 101 recall points */
    assert_true(fabs(ap - (4 * 1.0 + 6 * 51.0 / 101) / 10) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlap_hand_cases),  cmocka_unit_test(test_assignment_vs_brute_force),
        cmocka_unit_test(test_match_thresholds),    cmocka_unit_test(test_cohen_1960),
        cmocka_unit_test(test_fleiss_example),      cmocka_unit_test(test_fleiss_1971),      cmocka_unit_test(test_icc_shrout_fleiss),
        cmocka_unit_test(test_kitti_ap),            cmocka_unit_test(test_kitti_difficulty_and_dontcare),
        cmocka_unit_test(test_kitti_neighbour_class), cmocka_unit_test(test_nuscenes),
        cmocka_unit_test(test_coco),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
