/* The annotation schema: the shipped schemas (ids from docs/drive-log.md's original class list,
 * KITTI's devkit types, nuScenes' detection classes and attributes), and broken schemas whose
 * messages must name the line and the key. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "avtruth/schema.h"

static void test_default_ids(void **state)
{
    (void)state;
    avt_schema s;
    assert_int_equal(avt_schema_default(&s), 0);
    /* the class list before schemas existed: car 1, pedestrian 2, cyclist 3, truck 4 */
    const char *old[] = {"none", "car", "pedestrian", "cyclist", "truck"};
    for (unsigned i = 1; i < 5; i++) {
        const avt_schema_class *k = avt_schema_class_find(&s, old[i]);
        assert_non_null(k);
        assert_int_equal(k->id, i);
        assert_string_equal(s.class_names[i], old[i]);
    }
    assert_string_equal(s.class_names[0], "none");
    assert_ptr_equal(avt_schema_class_find(&s, "vehicle.car"), avt_schema_class_find(&s, "car"));
    assert_null(avt_schema_class_find(&s, "human.car"));
    assert_null(avt_schema_class_find(&s, "Car"));
    assert_true(avt_schema_class_find(&s, "dontcare")->ignore);
    /* attribute bits in the order written: vehicle.moving stopped parked, cycle.with_rider ... */
    assert_int_equal(avt_schema_attribute_bit(&s, "vehicle.moving"), 0);
    assert_int_equal(avt_schema_attribute_bit(&s, "cycle.with_rider"), 3);
    assert_int_equal(avt_schema_attribute_bit(&s, "pedestrian.sitting_lying_down"), 7);
    assert_int_equal(avt_schema_attribute_bit(&s, "vehicle.flying"), -1);
    const avt_schema_class *car = avt_schema_class_find(&s, "car");
    assert_int_equal(car->attributes, 0x7u);
    assert_true(car->iou3d_threshold == 0.7 && car->center_distance_m == 2.0);
    assert_true(avt_schema_class_find(&s, "pedestrian")->iou3d_threshold == 0.5);
    assert_true(car->size_min[0] == 2.0 && car->size_max[0] == 7.0);
    assert_true(isinf(avt_schema_class_find(&s, "misc")->size_max[2]));
    assert_int_equal(avt_schema_field(&s, "center"), 2);
    assert_int_equal(avt_schema_field(&s, "velocity"), 1);
    assert_int_equal(avt_schema_field(&s, "velocty"), 0);
    assert_non_null(strstr(s.text, "name: avtruth-default"));
    avt_schema_free(&s);
}

static void test_kitti_nuscenes(void **state)
{
    (void)state;
    avt_schema s;
    avt_error err = {0, ""};
    /* devkit_object readme: the nine types */
    const char *types[] = {"Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc", "DontCare"};
    assert_int_equal(avt_schema_builtin("kitti", &s, &err), 0);
    assert_int_equal(s.n_classes, 9);
    for (int i = 0; i < 9; i++) assert_non_null(avt_schema_class_find(&s, types[i]));
    assert_true(avt_schema_class_find(&s, "DontCare")->ignore);
    assert_false(avt_schema_class_find(&s, "Misc")->ignore);
    assert_int_equal(s.n_attributes, 0);
    avt_schema_free(&s);
    /* nuScenes detection_cvpr_2019: 10 classes, 8 attributes */
    const char *cls[] = {"car", "truck", "bus", "trailer", "construction_vehicle", "pedestrian", "motorcycle",
                         "bicycle", "traffic_cone", "barrier"};
    const char *attr[] = {"vehicle.moving", "vehicle.stopped", "vehicle.parked", "cycle.with_rider",
                          "cycle.without_rider", "pedestrian.moving", "pedestrian.standing",
                          "pedestrian.sitting_lying_down"};
    assert_int_equal(avt_schema_builtin("nuscenes", &s, &err), 0);
    assert_int_equal(s.n_classes, 10);
    for (int i = 0; i < 10; i++) assert_non_null(avt_schema_class_find(&s, cls[i]));
    assert_int_equal(s.n_attributes, 8);
    for (int i = 0; i < 8; i++) assert_int_not_equal(avt_schema_attribute_bit(&s, attr[i]), -1);
    int b = avt_schema_attribute_bit(&s, "cycle.with_rider");
    assert_true(avt_schema_class_find(&s, "bicycle")->attributes & (1u << b));
    assert_false(avt_schema_class_find(&s, "car")->attributes & (1u << b));
    assert_int_equal(avt_schema_class_find(&s, "barrier")->attributes, 0);
    avt_schema_free(&s);
    assert_int_equal(avt_schema_builtin("waymo", &s, &err), AVT_NOTFOUND);
    assert_non_null(strstr(err.msg, "kitti"));
}

static void expect_error(const char *yaml, const char *needle1, const char *needle2)
{
    avt_schema s;
    avt_error err = {0, ""};
    assert_int_equal(avt_schema_parse(yaml, strlen(yaml), "t.yaml", &s, &err), AVT_FORMAT);
    if (!strstr(err.msg, needle1) || !strstr(err.msg, needle2)) fail_msg("message '%s' lacks '%s' / '%s'", err.msg, needle1, needle2);
}

static void test_broken(void **state)
{
    (void)state;
    const char *head = "name: x\nversion: 1\n";
    char y[1024];
    snprintf(y, sizeof y, "%sclases:\n  - {name: a, id: 1}\n", head);
    expect_error(y, "line 3", "'clases' (closest known: 'classes')");
    snprintf(y, sizeof y, "%sclasses:\n  - {name: a, id: 1}\n  - {name: b, id: 1}\n", head);
    expect_error(y, "line 5", "id 1 is taken");
    snprintf(y, sizeof y, "%sclasses:\n  - {name: a, id: 1}\n  - {name: a, id: 2}\n", head);
    expect_error(y, "line 5", "'a' used twice");
    snprintf(y, sizeof y, "%sclasses:\n  - {name: a, id: 0}\n", head);
    expect_error(y, "line 4", "[1, 65535]");
    snprintf(y, sizeof y, "%sclasses:\n  - {name: a, id: 1, attributes: [vehicle]}\n", head);
    expect_error(y, "line 4", "unknown group 'vehicle'");
    snprintf(y, sizeof y, "%sclasses:\n  - {name: a, id: 1, size: {length: [3, 2]}}\n", head);
    expect_error(y, "line 4", "got '2'");
    snprintf(y, sizeof y, "%sclasses:\n  - {name: a, id: 1, iou3d_treshold: 0.5}\n", head);
    expect_error(y, "line 4", "closest known: 'iou3d_threshold'");
    snprintf(y, sizeof y, "%sfields: {required: [class, center]}\nclasses:\n  - {name: a, id: 1}\n", head);
    expect_error(y, "line 3", "'size' must be required");
    snprintf(y, sizeof y, "name: x\nversion: 2\nclasses:\n  - {name: a, id: 1}\n");
    expect_error(y, "line 2", "expected 1");
    snprintf(y, sizeof y, "%sclasses: [\n", head);
    expect_error(y, "YAML error", "t.yaml");
}

static void test_edit_distance(void **state)
{
    (void)state;
    /* the textbook examples: kitten/sitting 3, flaw/lawn 2 */
    assert_int_equal(avt_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(avt_edit_distance("flaw", "lawn"), 2);
    assert_int_equal(avt_edit_distance("velocty", "velocity"), 1);
    assert_int_equal(avt_edit_distance("", "abc"), 3);
    assert_int_equal(avt_edit_distance("same", "same"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_ids),
        cmocka_unit_test(test_kitti_nuscenes),
        cmocka_unit_test(test_broken),
        cmocka_unit_test(test_edit_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
