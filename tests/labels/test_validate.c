/* Label validation: a clean label set gives no finding; a broken one, with one planted defect
 * per rule each in a file of its own, gives exactly the planted findings with the right rule,
 * file and JSON path. 3D IoU against hand-computed overlaps. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "avtruth/validate.h"

#define T0 1000000000000LL /* the first label time */
#define DT 100000000LL     /* 10 Hz */

static char dir[128];

static void put(const char *name, const char *fmt, ...)
{
    char p[512];
    snprintf(p, sizeof p, "%s/labels/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* A label file at T0 + k DT holding boxes (JSON text of the list). */
static void frame(int k, const char *boxes)
{
    char name[64];
    snprintf(name, sizeof name, "%lld.json", T0 + k * DT);
    put(name, "{\"timestamp_ns\": %lld, \"frame\": \"lidar\", \"boxes\": [%s]}", T0 + k * DT, boxes);
}

#define CAR(track, x, extra)                                                                               \
    "{\"track_id\": " #track ", \"class\": \"car\", \"center\": [" #x ", 5, 0], \"size\": [4.5, 1.9, 1.6], " \
    "\"yaw\": 0" extra "}"

static void fresh_dir(void)
{
    char cmd[300];
    snprintf(dir, sizeof dir, "/tmp/avt_validate_%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s/labels", dir, dir);
    assert_int_equal(system(cmd), 0);
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

#define N_SWEEPS 21
static int64_t sweeps[N_SWEEPS];

static void run(avt_validation *rep, const avt_schema *s, const avt_rig *rig)
{
    avt_label_index idx;
    avt_error err = {0, ""};
    if (avt_label_index_open(dir, &idx, &err)) fail_msg("%s", err.msg);
    for (int i = 0; i < N_SWEEPS; i++) sweeps[i] = T0 + i * DT;
    avt_validate_config cfg = {.schema = s, .rig = rig, .sweep_ns = sweeps, .n_sweeps = N_SWEEPS,
                               .capture_start_ns = T0 - DT / 2, .capture_end_ns = T0 + (N_SWEEPS - 1) * DT + DT / 2};
    memset(rep, 0, sizeof *rep);
    if (avt_validate_labels(&idx, &cfg, rep, &err)) fail_msg("%s", err.msg);
    avt_label_index_free(&idx);
}

/* Two moving cars and a parked one over ten frames; velocities agree with the positions. */
static void write_clean(void)
{
    for (int k = 0; k < 10; k++) {
        char b[1024];
        snprintf(b, sizeof b,
                 "{\"track_id\": 1, \"class\": \"car\", \"center\": [%g, 5, 0], \"size\": [4.5, 1.9, 1.6], \"yaw\": 0,"
                 " \"velocity\": [10, 0, 0], \"attributes\": [\"vehicle.moving\"]},"
                 "{\"track_id\": 2, \"class\": \"pedestrian\", \"center\": [-8, %g, 0], \"size\": [0.6, 0.6, 1.8],"
                 " \"yaw\": 1.57, \"velocity\": [0, -1.5, 0], \"rotation\": [0.70738827, 0, 0, 0.70682518]},"
                 "{\"track_id\": 3, \"class\": \"car\", \"center\": [30, -4, 0], \"size\": [4.2, 1.8, 1.5], \"yaw\": 3.1,"
                 " \"attributes\": [\"vehicle.parked\"]}",
                 1.0 * k, 6 - 0.15 * k);
        frame(k, b);
    }
}

static void test_clean(void **state)
{
    (void)state;
    fresh_dir();
    write_clean();
    avt_schema s;
    assert_int_equal(avt_schema_default(&s), 0);
    avt_validation rep;
    run(&rep, &s, NULL);
    if (rep.n) avt_validation_print(&rep, stderr);
    assert_int_equal(rep.errors + rep.warnings, 0);
    assert_int_equal(rep.files, 10);
    assert_int_equal(rep.boxes, 30);
    avt_validation_free(&rep);
    avt_schema_free(&s);
    remove_dir();
}

typedef struct planted {
    int rule;
    int64_t file;      /* T0 + k DT, or -1: the named file */
    const char *name;  /* file name when file is -1 */
    const char *where; /* JSON path */
    const char *detail_has;
} planted;

static void test_planted(void **state)
{
    (void)state;
    fresh_dir();
    /* frame 0 clean; one defect per file from frame 1 on */
#define TRACK9(cls) "{\"track_id\": 9, \"class\": \"" cls "\", \"center\": [20, 5, 0], \"size\": [4.5, 1.9, 2], \"yaw\": 0}"
    frame(0, CAR(1, 0, ", \"velocity\": [10, 0, 0]") "," TRACK9("car") "," CAR(11, -20, "") "," CAR(12, 40, ", \"velocity\": [10, 0, 0]"));
    frame(1, CAR(1, 1, ", \"velocty\": [10, 0, 0]"));                           /* unknown_key */
    frame(2, "{\"track_id\": 2, \"class\": \"car\", \"center\": [0, 9, 0], \"yaw\": 0}"); /* missing_field */
    frame(3, "{\"track_id\": \"7\", \"class\": \"car\", \"center\": [0, 9, 0], \"size\": [4, 2, 1.5], \"yaw\": 0}");
    put("1000400000000.json", "{\"timestamp_ns\": 1000400000000, \"frame\": \"camera\", \"boxes\": []}");
    frame(5, "{\"track_id\": 3, \"class\": \"cat\", \"center\": [0, 9, 0], \"size\": [4, 2, 1.5], \"yaw\": 0}");
    frame(6, "{\"track_id\": 4, \"class\": \"dontcare\", \"center\": [0, 9, 0], \"size\": [4, 2, 1.5], \"yaw\": 0}");
    frame(7, CAR(5, 0, ", \"attributes\": [\"vehicle.flying\"]"));
    frame(8, "{\"track_id\": 6, \"class\": \"pedestrian\", \"center\": [0, 9, 0], \"size\": [0.6, 0.6, 1.8], \"yaw\": 0,"
             " \"attributes\": [\"vehicle.parked\"]}");
    frame(9, CAR(5, 0, ", \"attributes\": [\"vehicle.moving\", \"vehicle.parked\"]"));
    put("1001000000000.json", "{\"timestamp_ns\": 1001000000000, \"boxes\": [], \"ignore_regions\": ["
                              "{\"camera\": \"rear\", \"class\": \"dontcare\", \"xyxy\": [0, 0, 10, 10]}]}");
    put("1001100000000.json", "{\"timestamp_ns\": 1001100000000, \"boxes\": [{\"track_id\": 8, \"class\": \"car\","
                              " \"center\": [0, NaN, 0], \"size\": [4, 2, 1.5], \"yaw\": 0}]}");
    frame(12, "{\"track_id\": 13, \"class\": \"car\", \"center\": [0, 9, 0], \"size\": [4, 0, 1.5], \"yaw\": 0}");
    frame(13, "{\"track_id\": 14, \"class\": \"car\", \"center\": [300, 9, 0], \"size\": [4, 2, 1.5], \"yaw\": 0,"
              " \"occluded\": 4}");
    frame(14, "{\"track_id\": 15, \"class\": \"car\", \"center\": [0, 9, 0], \"size\": [4, 2, 1.5], \"yaw\": 0,"
              " \"rotation\": [1, 0, 0, 0.5], \"truncated\": \"x\"}");
    put("1001500000000.json", "{\"timestamp_ns\": 1001500000001, \"boxes\": []}");       /* name_time */
    put("900000000000.json", "{\"timestamp_ns\": 900000000000, \"boxes\": []}");         /* outside_capture */
    put("1001650000000.json", "{\"timestamp_ns\": 1001650000000, \"boxes\": []}");       /* unattached */
    frame(17, CAR(16, 0, "") "," CAR(16, 10, "") "," CAR(17, 50, "") "," CAR(18, 50, "")); /* duplicate_track, duplicate_box */
    frame(18, CAR(19, 60, "") "," CAR(20, 61, "")  "," TRACK9("car") "," CAR(12, 40, ", \"velocity\": [10, 0, 0]") ","
              "{\"track_id\": 21, \"class\": \"car\", \"center\": [0, 30, 0], \"size\": [30, 2, 1.5], \"yaw\": 0}");
    /* track 9 was a car in frame 0 and is a truck; track 11 grows by 1 m; track 12 labelled
     * 10 m/s in frames 0 and 18 but 1.8 s apart (not consecutive: no check) and then still */
    frame(19, TRACK9("truck") ","
              "{\"track_id\": 11, \"class\": \"car\", \"center\": [-20, 5, 0], \"size\": [5.5, 1.9, 1.6], \"yaw\": 0},"
              CAR(12, 40, ", \"velocity\": [10, 0, 0]"));
    put("frame_12.json", "{}");                                                         /* file_name */
    put("1002000000000.json", "not json");                                               /* parse */
    static const planted want[] = {
        {AVT_RULE_UNKNOWN_KEY, T0 + 1 * DT, 0, "boxes[0].velocty", "closest known: 'velocity'"},
        {AVT_RULE_MISSING_FIELD, T0 + 2 * DT, 0, "boxes[0].size", "required"},
        {AVT_RULE_BAD_TYPE, T0 + 3 * DT, 0, "boxes[0].track_id", "integer"},
        {AVT_RULE_FRAME, T0 + 4 * DT, 0, "frame", "lidar"},
        {AVT_RULE_UNKNOWN_CLASS, T0 + 5 * DT, 0, "boxes[0].class", "closest: 'car'"},
        {AVT_RULE_IGNORE_CLASS_BOX, T0 + 6 * DT, 0, "boxes[0].class", "ignore_regions"},
        {AVT_RULE_UNKNOWN_ATTRIBUTE, T0 + 7 * DT, 0, "boxes[0].attributes[0]", "closest: 'vehicle.moving'"},
        {AVT_RULE_ATTRIBUTE_NOT_ALLOWED, T0 + 8 * DT, 0, "boxes[0].attributes[0]", "pedestrian"},
        {AVT_RULE_ATTRIBUTE_CONFLICT, T0 + 9 * DT, 0, "boxes[0].attributes[1]", "vehicle.moving"},
        {AVT_RULE_IGNORE_REGION, T0 + 10 * DT, 0, "ignore_regions[0].camera", "calib.yaml"},
        {AVT_RULE_NOT_FINITE, T0 + 11 * DT, 0, "", "NaN"},
        {AVT_RULE_NONPOSITIVE_SIZE, T0 + 12 * DT, 0, "boxes[0].size[1]", "positive"},
        {AVT_RULE_OUT_OF_RANGE, T0 + 13 * DT, 0, "boxes[0].center", "300.1 m"},
        {AVT_RULE_OUT_OF_RANGE, T0 + 13 * DT, 0, "boxes[0].occluded", "0..3"},
        {AVT_RULE_BAD_TYPE, T0 + 14 * DT, 0, "boxes[0].truncated", "expected a number"},
        {AVT_RULE_QUATERNION_NORM, T0 + 14 * DT, 0, "boxes[0].rotation", "norm 1.118034"},
        {AVT_RULE_NAME_TIME, T0 + 15 * DT, 0, "timestamp_ns", "1001500000000"},
        {AVT_RULE_OUTSIDE_CAPTURE, 900000000000LL, 0, "", "capture spans"},
        {AVT_RULE_UNATTACHED, T0 + 16 * DT + DT / 2, 0, "", "50.000 ms away"},
        {AVT_RULE_DUPLICATE_TRACK, T0 + 17 * DT, 0, "boxes[1].track_id", "boxes[0]"},
        {AVT_RULE_DUPLICATE_BOX, T0 + 17 * DT, 0, "boxes[3]", "identical to boxes[2]"},
        {AVT_RULE_OVERLAP, T0 + 18 * DT, 0, "boxes[1]", "boxes[0]"},
        {AVT_RULE_SIZE_PRIOR, T0 + 18 * DT, 0, "boxes[4].size[0]", "car length outside the prior [2, 7]"},
        {AVT_RULE_TRACK_CLASS, T0 + 19 * DT, 0, "boxes[0].class", "track 9 was 'car' in 1000000000000.json"},
        {AVT_RULE_TRACK_SIZE, T0 + 19 * DT, 0, "boxes[1].size[0]", "track 11 had 4.5"},
        {AVT_RULE_VELOCITY, T0 + 19 * DT, 0, "boxes[2].velocity", "track 12 moved 10.00 m/s"},
        {AVT_RULE_FILE_NAME, -1, "frame_12.json", "", "<t_ns>.json"},
        {AVT_RULE_PARSE, T0 + 20 * DT, 0, "", "expected near 'not'"},
    };
    const size_t nw = sizeof want / sizeof want[0];
    avt_schema s;
    assert_int_equal(avt_schema_default(&s), 0);
    avt_rig rig;
    memset(&rig, 0, sizeof rig);
    rig.lidar_T_ego = avt_tf_identity();
    rig.n_cameras = 1;
    avt_camera cam;
    memset(&cam, 0, sizeof cam);
    snprintf(cam.name, sizeof cam.name, "front");
    rig.cameras = &cam;
    avt_validation rep;
    run(&rep, &s, &rig);
    avt_validation_print(&rep, stderr);
    int rules_planted[AVT_RULE_COUNT] = {0};
    for (size_t i = 0; i < nw; i++) {
        char file[512];
        if (want[i].file >= 0) snprintf(file, sizeof file, "%s/labels/%lld.json", dir, (long long)want[i].file);
        else snprintf(file, sizeof file, "%s/labels/%s", dir, want[i].name);
        rules_planted[want[i].rule] = 1;
        size_t j = 0;
        while (j < rep.n && !(rep.findings[j].rule == want[i].rule && strcmp(rep.findings[j].file, file) == 0 &&
                              strcmp(rep.findings[j].where, want[i].where) == 0 &&
                              strstr(rep.findings[j].detail, want[i].detail_has)))
            j++;
        if (j == rep.n && !(want[i].rule == AVT_RULE_NAME_TIME || want[i].rule == AVT_RULE_NOT_FINITE))
            fail_msg("planted %s not found in %s at '%s' (with '%s')", avt_rule_name(want[i].rule), file, want[i].where,
                     want[i].detail_has);
        /* name_time names the file's own time in its value; the NaN token the line in its value */
        if (j == rep.n) {
            j = 0;
            while (j < rep.n && !(rep.findings[j].rule == want[i].rule && strcmp(rep.findings[j].file, file) == 0 &&
                                  strcmp(rep.findings[j].where, want[i].where) == 0 &&
                                  (strstr(rep.findings[j].detail, want[i].detail_has) ||
                                   strstr(rep.findings[j].value, want[i].detail_has) ||
                                   strstr(rep.findings[j].value, "line 1"))))
                j++;
            if (j == rep.n) fail_msg("planted %s not found in %s", avt_rule_name(want[i].rule), file);
        }
    }
    /* every rule is planted, and nothing else is found */
    for (int r = 0; r < AVT_RULE_COUNT; r++)
        if (!rules_planted[r]) fail_msg("rule %s has no planted defect", avt_rule_name(r));
    assert_int_equal(rep.n, nw);
    for (int r = 0; r < AVT_RULE_COUNT; r++) { /* once each, bad_type and out_of_range also for occluded/truncated */
        int planted_n = 0;
        for (size_t i = 0; i < nw; i++) planted_n += want[i].rule == r;
        assert_int_equal(rep.count[r], planted_n);
    }
    /* the strict loader stops at the first error, naming file, path and rule */
    avt_label_frame f;
    avt_error err = {0, ""};
    char p[512];
    snprintf(p, sizeof p, "%s/labels/%lld.json", dir, T0 + DT);
    assert_int_equal(avt_label_frame_read(p, &s, &f, &err), AVT_FORMAT);
    assert_non_null(strstr(err.msg, "boxes[0].velocty: 'velocty': unknown key (closest known: 'velocity') (rule unknown_key)"));
    assert_non_null(strstr(err.msg, p));
    /* the JSON report holds the same findings */
    snprintf(p, sizeof p, "%s/report.json", dir);
    assert_int_equal(avt_validation_write_json(&rep, p, &err), 0);
    avt_validation_free(&rep);
    avt_schema_free(&s);
    remove_dir();
}

static void box(avt_label_box *b, double x, double z, double l, double w, double h, double yaw)
{
    memset(b, 0, sizeof *b);
    b->center[0] = x, b->center[2] = z;
    b->size[0] = l, b->size[1] = w, b->size[2] = h;
    b->yaw = yaw;
}

static void test_iou(void **state)
{
    (void)state;
    avt_label_box a, b;
    box(&a, 0, 0, 4, 2, 1.5, 0);
    box(&b, 0, 0, 4, 2, 1.5, 0);
    assert_true(fabs(avt_box_iou3d(&a, &b) - 1) < 1e-12);
    box(&b, 1, 0, 4, 2, 1.5, 0); /* overlap 3 x 2 x 1.5 = 9 of 12 each: 9 / 15 */
    assert_true(fabs(avt_box_iou3d(&a, &b) - 0.6) < 1e-12);
    box(&b, 1, 0, 4, 2, 1.5, M_PI); /* the same box turned half a turn */
    assert_true(fabs(avt_box_iou3d(&a, &b) - 0.6) < 1e-12);
    /* unit cubes, one turned 45 degrees: a regular octagon of area 2 (sqrt 2 - 1), IoU 1/sqrt 2 */
    box(&a, 0, 0, 1, 1, 1, 0);
    box(&b, 0, 0, 1, 1, 1, M_PI / 4);
    assert_true(fabs(avt_box_iou3d(&a, &b) - M_SQRT1_2) < 1e-12);
    assert_true(fabs(avt_box_iou3d(&b, &a) - M_SQRT1_2) < 1e-12);
    box(&b, 0, 0.5, 1, 1, 1, 0); /* half the height: 0.5 / 1.5 */
    assert_true(fabs(avt_box_iou3d(&a, &b) - 1.0 / 3) < 1e-12);
    box(&b, 0, 1.5, 1, 1, 1, 0);
    assert_true(avt_box_iou3d(&a, &b) == 0);
    box(&b, 3, 0, 1, 1, 1, 0.3);
    assert_true(avt_box_iou3d(&a, &b) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_planted),
        cmocka_unit_test(test_iou),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
