/* Test helper: projects points read from stdin through a camera described on the command line,
 * so that a Python test can compare with OpenCV's projectPoints.
 *   project_tool pinhole|fisheye W H fx fy cx cy [coefficients...]
 * stdin: one "x y z" per line; stdout: "valid u v" per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/project.h"

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "depth") == 0) { /* project_tool depth OUT.png W H < "u v depth" lines */
        float *uv = NULL, *d = NULL, a, b, c;
        size_t n = 0, cap = 0;
        while (scanf("%f %f %f", &a, &b, &c) == 3) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                uv = realloc(uv, cap * 2 * sizeof *uv);
                d = realloc(d, cap * sizeof *d);
                if (!uv || !d) return 1;
            }
            uv[2 * n] = a, uv[2 * n + 1] = b, d[n++] = c;
        }
        double w, h;
        avt_error e = {0, ""};
        if (!avt_parse_double(argv[3], &w) || !avt_parse_double(argv[4], &h)) return 2;
        int rc = avt_depth_png_write(argv[2], (unsigned)w, (unsigned)h, uv, d, n, &e);
        if (rc) fprintf(stderr, "%s\n", e.msg);
        free(uv);
        free(d);
        return rc ? 1 : 0;
    }
    if (argc < 8) {
        fprintf(stderr, "usage: project_tool pinhole|fisheye W H fx fy cx cy [k...]\n");
        return 2;
    }
    avt_camera cam;
    memset(&cam, 0, sizeof cam);
    snprintf(cam.name, sizeof cam.name, "test");
    cam.model = strcmp(argv[1], "fisheye") == 0 ? AVT_CAM_FISHEYE : AVT_CAM_PINHOLE;
    double v[6];
    for (int i = 0; i < 6; i++)
        if (!avt_parse_double(argv[2 + i], &v[i])) return 2;
    cam.width = (unsigned)v[0];
    cam.height = (unsigned)v[1];
    double K[9] = {v[2], 0, v[4], 0, v[3], v[5], 0, 0, 1};
    memcpy(cam.K, K, sizeof K);
    cam.n_dist = argc - 8;
    if (cam.n_dist > AVT_MAX_DIST) return 2;
    for (int i = 0; i < cam.n_dist; i++)
        if (!avt_parse_double(argv[8 + i], &cam.dist[i])) return 2;
    avt_cam_model m;
    avt_error err = {0, ""};
    if (avt_cam_model_init(&m, &cam, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double p[3];
    while (scanf("%lf %lf %lf", &p[0], &p[1], &p[2]) == 3) {
        double uv[2] = {0, 0};
        int ok = avt_cam_project(&m, p, uv);
        printf("%d %.12f %.12f\n", ok, uv[0], uv[1]);
    }
    return 0;
}
