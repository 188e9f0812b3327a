/* avtruth synth: camera model and renderer (per-pixel ray casting) with amodal 2D box truth.
 *
 * Distortion: OpenCV radial-tangential ("plumb bob", Brown-Conrady) on normalised coordinates,
 * coefficient order k1 k2 p1 p2 k3:
 *   r2 = x^2 + y^2, radial = 1 + k1 r2 + k2 r2^2 + k3 r2^3
 *   xd = x radial + 2 p1 x y + p2 (r2 + 2 x^2),  yd = y radial + p1 (r2 + 2 y^2) + 2 p2 x y
 * Pixel (u, v) has its centre at integer coordinates: u = fx xd + cx, v = fy yd + cy.
 * This is written independently of project/ (the code under test). */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_private.h"

void synth_distort(const double k[5], double x, double y, double *xd, double *yd)
{
    double r2 = x * x + y * y;
    double radial = 1.0 + r2 * (k[0] + r2 * (k[1] + r2 * k[4]));
    *xd = x * radial + 2.0 * k[2] * x * y + k[3] * (r2 + 2.0 * x * x);
    *yd = y * radial + k[2] * (r2 + 2.0 * y * y) + 2.0 * k[3] * x * y;
}

double synth_radial_r2_max(const double k[5])
{
    /* d/dr [r (1 + k1 r^2 + k2 r^4 + k3 r^6)] = 1 + 3 k1 u + 5 k2 u^2 + 7 k3 u^3, u = r^2 */
    const double cap = 16.0, step = 1e-4;
    for (double u = 0; u < cap; u += step) {
        double dr = 1.0 + u * (3.0 * k[0] + u * (5.0 * k[1] + u * 7.0 * k[4]));
        if (dr <= 0.05) return u;
    }
    return cap;
}

int synth_undistort(const double k[5], double r2_max, double xd, double yd, double *x,
                    double *y)
{
    double px = xd, py = yd;
    for (int it = 0; it < 100; it++) {
        double r2 = px * px + py * py;
        double radial = 1.0 + r2 * (k[0] + r2 * (k[1] + r2 * k[4]));
        double drad = 2.0 * (k[0] + r2 * (2.0 * k[1] + r2 * 3.0 * k[4])); /* d radial / d r2 * 2 */
        double fx, fy;
        synth_distort(k, px, py, &fx, &fy);
        fx -= xd;
        fy -= yd;
        double j00 = radial + px * drad * px + 2.0 * k[2] * py + 6.0 * k[3] * px;
        double j01 = px * drad * py + 2.0 * k[2] * px + 2.0 * k[3] * py;
        double j10 = py * drad * px + 2.0 * k[2] * px + 2.0 * k[3] * py;
        double j11 = radial + py * drad * py + 6.0 * k[2] * py + 2.0 * k[3] * px;
        double det = j00 * j11 - j01 * j10;
        if (!(fabs(det) > 1e-12)) return 0;
        double sx = (j11 * fx - j01 * fy) / det, sy = (-j10 * fx + j00 * fy) / det;
        px -= sx;
        py -= sy;
        if (!isfinite(px) || !isfinite(py) || px * px + py * py > 4.0 * r2_max + 4.0) return 0;
        if (fabs(sx) + fabs(sy) < 1e-15) break;
    }
    if (px * px + py * py > r2_max) return 0;
    double cx, cy;
    synth_distort(k, px, py, &cx, &cy);
    if (fabs(cx - xd) > 1e-11 || fabs(cy - yd) > 1e-11) return 0;
    *x = px;
    *y = py;
    return 1;
}

int synth_raytable_init(synth_raytable *rt, const synth_cam *cam)
{
    size_t n = (size_t)cam->width * cam->height;
    rt->dir = malloc(n * 3 * sizeof(float));
    rt->valid = malloc(n);
    if (!rt->dir || !rt->valid) {
        synth_raytable_free(rt);
        return AVT_NOMEM;
    }
#pragma omp parallel for schedule(static)
    for (unsigned v = 0; v < cam->height; v++) {
        for (unsigned u = 0; u < cam->width; u++) {
            size_t i = (size_t)v * cam->width + u;
            double xd = ((double)u - cam->cx) / cam->fx, yd = ((double)v - cam->cy) / cam->fy;
            double x = 0, y = 0;
            rt->valid[i] = (uint8_t)synth_undistort(cam->dist, cam->r2_max, xd, yd, &x, &y);
            double nrm = sqrt(x * x + y * y + 1.0);
            rt->dir[3 * i] = (float)(x / nrm);
            rt->dir[3 * i + 1] = (float)(y / nrm);
            rt->dir[3 * i + 2] = (float)(1.0 / nrm);
        }
    }
    return AVT_OK;
}

void synth_raytable_free(synth_raytable *rt)
{
    if (!rt) return;
    free(rt->dir);
    free(rt->valid);
    rt->dir = NULL;
    rt->valid = NULL;
}

/* floor for the world's coordinates (|x| < 2^53): a conversion instead of a libm call */
static inline long long floor_ll(double x)
{
    long long i = (long long)x;
    return i - (x < (double)i);
}

/* The square wave of period 2 (+1 on [0, 1), -1 on [1, 2)) averaged over [x - w/2, x + w/2]:
 * differences of its integral, the triangle wave 1 - |x mod 2 - 1|. */
static double square_mean(double x, double w)
{
    double a = x + 0.5 * w, b = x - 0.5 * w;
    long long fa = floor_ll(a), fb = floor_ll(b);
    if (fa == fb) return (fb & 1) ? -1.0 : 1.0; /* within one tile */
    double ta = 1.0 - fabs(a - (double)(fa - (fa & 1)) - 1.0), tb = 1.0 - fabs(b - (double)(fb - (fb & 1)) - 1.0);
    return (ta - tb) / w;
}

static void shade(const synth_scene *sc, int hit, int face, const double p[3],
                  const double d[3], const double foot[2], uint8_t out[3])
{
    if (hit == -2) {
        /* sky: brighter towards the horizon */
        double e = d[2] > 0 ? d[2] : 0;
        out[0] = (uint8_t)(170 - 90 * e);
        out[1] = (uint8_t)(200 - 80 * e);
        out[2] = (uint8_t)(245 - 20 * e);
        return;
    }
    if (hit == -1) {
        /* 1 m checkerboard (95 and 150), 25 darker on the odd tiles of a 5 m checkerboard so
         * that the texture is not periodic; averaged over the pixel's footprint on the ground
         * (foot: its extent along x and y), as a lens and sensor do, so that the far ground
         * does not alias into a band of random edges */
        double c = 122.5 - 27.5 * square_mean(p[0], foot[0]) * square_mean(p[1], foot[1]) - 12.5 +
                   12.5 * square_mean(p[0] / 5.0, foot[0] / 5.0) * square_mean(p[1] / 5.0, foot[1] / 5.0);
        long q = lround(c);
        out[0] = (uint8_t)q;
        out[1] = (uint8_t)(q - 5);
        out[2] = (uint8_t)(q - 15);
        return;
    }
    static const double face_shade[6] = {1.0, 0.75, 0.9, 0.65, 1.15, 0.5};
    const synth_object *o = &sc->obj[hit];
    for (int k = 0; k < 3; k++) {
        double c = o->rgb[k] * face_shade[face];
        out[k] = (uint8_t)(c > 255 ? 255 : c);
    }
}

/* Does the ray of sub-pixel (u, v) hit box b? */
static int subpixel_hit(const synth_cam *cam, const avt_tf *world_T_cam, const double o[3],
                        const synth_box *b, double u, double v)
{
    double x, y, t;
    int face;
    if (u < 0 || v < 0 || u > cam->width - 1 || v > cam->height - 1) return 0;
    if (!synth_undistort(cam->dist, cam->r2_max, (u - cam->cx) / cam->fx, (v - cam->cy) / cam->fy, &x, &y))
        return 0;
    double dc[3] = {x, y, 1}, d[3];
    avt_tf_rotate(world_T_cam, dc, d);
    return synth_box_hit(b, o, d, &t, &face);
}

/* Refines one extreme: `edge` is the extreme pixel index along axis (0 = u, 1 = v), dir the
 * outward direction; the other coordinate is scanned over [lo, hi] at 1/8 px. Returns the
 * outermost 1/16-px position with a hit, or edge. */
static double refine_extreme(const synth_cam *cam, const avt_tf *world_T_cam, const double o[3],
                             const synth_box *b, int axis, int dir, int edge, int lo, int hi)
{
    for (int j = 16; j >= 1; j--) {
        double pos = edge + dir * j / 16.0;
        for (int m = 8 * lo; m <= 8 * hi; m++) {
            double q = m / 8.0;
            if (axis == 0 ? subpixel_hit(cam, world_T_cam, o, b, pos, q) : subpixel_hit(cam, world_T_cam, o, b, q, pos))
                return pos;
        }
    }
    return edge;
}

/* The extent along world x and y of pixel (u, v)'s footprint on the ground (p: its centre's
 * hit): the sum of the moves of the hit to the next pixel across and down (the previous one at
 * the image's last column or row). A neighbour whose ray misses the ground (the horizon) makes
 * the footprint 1 km wide: the pixel sees the mean colour. */
static void ground_footprint(const synth_raytable *rt, const avt_tf *world_T_cam, const double o[3],
                             const double p[3], unsigned u, unsigned v, unsigned w, unsigned h, double foot[2])
{
    const size_t nb[2] = {(size_t)v * w + (u + 1 < w ? u + 1 : u - 1),
                          (size_t)(v + 1 < h ? v + 1 : v - 1) * w + u};
    foot[0] = foot[1] = 0;
    for (int k = 0; k < 2; k++) {
        double dc[3] = {rt->dir[3 * nb[k]], rt->dir[3 * nb[k] + 1], rt->dir[3 * nb[k] + 2]}, d[3];
        avt_tf_rotate(world_T_cam, dc, d);
        if (!rt->valid[nb[k]] || !(d[2] < 0)) {
            foot[0] = foot[1] = 1000.0;
            return;
        }
        double t = -o[2] / d[2];
        foot[0] += fabs(o[0] + t * d[0] - p[0]);
        foot[1] += fabs(o[1] + t * d[1] - p[1]);
    }
}

void synth_render(const synth_scene *sc, const synth_cam *cam, const synth_raytable *rt,
                  int64_t t_ns, uint8_t *rgb, synth_bbox2d *boxes)
{
    const unsigned w = cam->width, h = cam->height;
    const size_t n = sc->n_obj;
    synth_box bx[SYNTH_MAX_OBJECTS];
    for (size_t i = 0; i < n; i++) synth_object_box(sc, i, t_ns, &bx[i]);
    avt_tf world_T_ego = synth_world_T_ego(sc, t_ns);
    avt_tf world_T_cam = avt_tf_mul(&world_T_ego, &cam->ego_T_cam);
    avt_tf cam_T_world = avt_tf_inv(&world_T_cam);
    double o[3] = {world_T_cam.m[3], world_T_cam.m[7], world_T_cam.m[11]};

    /* Per-row extents, merged afterwards: min/max is exact, so any thread count gives the same
     * result. */
    int *row_ext = malloc((size_t)h * (n ? n : 1) * 2 * sizeof(int));
    if (!row_ext) return; /* caller checks nothing here: boxes stay empty */

#pragma omp parallel for schedule(dynamic, 4)
    for (unsigned v = 0; v < h; v++) {
        int *ext = row_ext + (size_t)v * n * 2;
        for (size_t i = 0; i < n; i++) {
            ext[2 * i] = (int)w;
            ext[2 * i + 1] = -1;
        }
        for (unsigned u = 0; u < w; u++) {
            size_t pi = (size_t)v * w + u;
            uint8_t *px = rgb + 3 * pi;
            if (!rt->valid[pi]) {
                px[0] = px[1] = px[2] = 0;
                continue;
            }
            double dc[3] = {rt->dir[3 * pi], rt->dir[3 * pi + 1], rt->dir[3 * pi + 2]}, d[3];
            avt_tf_rotate(&world_T_cam, dc, d);
            int best = -2, fbest = 4;
            double tbest = INFINITY;
            if (d[2] < 0) {
                tbest = -o[2] / d[2];
                best = -1;
            }
            for (size_t i = 0; i < n; i++) {
                double t;
                int f;
                if (synth_sphere_may_hit(&bx[i], o, d) && synth_box_hit(&bx[i], o, d, &t, &f)) {
                    if ((int)u < ext[2 * i]) ext[2 * i] = (int)u;
                    if ((int)u > ext[2 * i + 1]) ext[2 * i + 1] = (int)u;
                    if (t < tbest) {
                        tbest = t;
                        best = (int)i;
                        fbest = f;
                    }
                }
            }
            double p[3] = {o[0] + tbest * d[0], o[1] + tbest * d[1], o[2] + tbest * d[2]};
            double foot[2] = {0, 0};
            if (best == -1) ground_footprint(rt, &world_T_cam, o, p, u, v, w, h, foot);
            shade(sc, best, fbest, p, d, foot, px);
        }
    }

#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        synth_bbox2d *b = &boxes[i];
        b->umin = (int)w;
        b->umax = -1;
        b->vmin = (int)h;
        b->vmax = -1;
        for (unsigned v = 0; v < h; v++) {
            const int *ext = row_ext + (size_t)v * n * 2;
            if (ext[2 * i + 1] < 0) continue;
            if (ext[2 * i] < b->umin) b->umin = ext[2 * i];
            if (ext[2 * i + 1] > b->umax) b->umax = ext[2 * i + 1];
            if ((int)v < b->vmin) b->vmin = (int)v;
            if ((int)v > b->vmax) b->vmax = (int)v;
        }
        if (b->umax >= 0) {
            /* bands: the rows (columns) where the pixel extreme was reached, +-3 */
            int ra0 = (int)h, ra1 = -1, rb0 = (int)h, rb1 = -1;
            for (unsigned v = 0; v < h; v++) {
                const int *ext = row_ext + (size_t)v * n * 2;
                if (ext[2 * i + 1] < 0) continue;
                if (ext[2 * i] == b->umin) ra0 = ra0 < (int)v ? ra0 : (int)v, ra1 = (int)v;
                if (ext[2 * i + 1] == b->umax) rb0 = rb0 < (int)v ? rb0 : (int)v, rb1 = (int)v;
            }
            const int *top = row_ext + (size_t)b->vmin * n * 2, *bot = row_ext + (size_t)b->vmax * n * 2;
            b->x0 = refine_extreme(cam, &world_T_cam, o, &bx[i], 0, -1, b->umin, ra0 - 3, ra1 + 3);
            b->x1 = refine_extreme(cam, &world_T_cam, o, &bx[i], 0, +1, b->umax, rb0 - 3, rb1 + 3);
            b->y0 = refine_extreme(cam, &world_T_cam, o, &bx[i], 1, -1, b->vmin, top[2 * i] - 3, top[2 * i + 1] + 3);
            b->y1 = refine_extreme(cam, &world_T_cam, o, &bx[i], 1, +1, b->vmax, bot[2 * i] - 3, bot[2 * i + 1] + 3);
        }
        /* behind: some corner at z <= 0 in the camera frame */
        b->behind = 0;
        for (int c = 0; c < 8; c++) {
            double lx = (c & 1 ? 1 : -1) * bx[i].half[0], ly = (c & 2 ? 1 : -1) * bx[i].half[1];
            double pw[3] = {bx[i].c[0] + bx[i].cos_yaw * lx - bx[i].sin_yaw * ly,
                            bx[i].c[1] + bx[i].sin_yaw * lx + bx[i].cos_yaw * ly,
                            bx[i].c[2] + (c & 4 ? 1 : -1) * bx[i].half[2]};
            double pc[3];
            avt_tf_apply(&cam_T_world, pw, pc);
            if (pc[2] <= 0) b->behind = 1;
        }
    }
    free(row_ext);
}

int synth_png_write(const char *path, const uint8_t *rgb, unsigned w, unsigned h,
                    avt_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = AVT_OK;
    if (!png || !info) {
        rc = avt_err(err, AVT_NOMEM, "%s: libpng: out of memory", path);
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = avt_err(err, AVT_IO, "%s: libpng write error", path);
        goto out;
    }
    png_init_io(png, f);
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (unsigned v = 0; v < h; v++) png_write_row(png, (png_const_bytep)(rgb + (size_t)v * w * 3));
    png_write_end(png, NULL);
out:
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0 && rc == AVT_OK) rc = avt_err(err, AVT_IO, "%s: write error", path);
    return rc;
}
