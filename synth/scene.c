/* avtruth synth: the scene (seeded PRNG, ego trajectory, objects, camera rig) and ray casting.
 *
 * PRNG: xoshiro256** (Blackman & Vigna, 2018) seeded through splitmix64, so a seed gives the
 * same scene on every machine. The ego drives a circular arc at constant speed and yaw rate;
 * objects move on straight lines at constant velocity and yaw. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_private.h"

#define DEG (M_PI / 180.0)

/* ---- PRNG ---------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void synth_rng_seed(synth_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t synth_rng_next(synth_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double synth_rng_uniform(synth_rng *r) { return (double)(synth_rng_next(r) >> 11) * 0x1.0p-53; }

double synth_rng_range(synth_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * synth_rng_uniform(r);
}

double synth_rng_gauss(synth_rng *r)
{
    /* Box-Muller; 1 - u keeps the logarithm finite. */
    double u1 = 1.0 - synth_rng_uniform(r), u2 = synth_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---- objects ------------------------------------------------------------------------- */

const char *synth_class_name(int cls)
{
    switch (cls) {
    case SYNTH_CAR: return "car";
    case SYNTH_PEDESTRIAN: return "pedestrian";
    case SYNTH_CYCLIST: return "cyclist";
    case SYNTH_TRUCK: return "truck";
    default: return "none";
    }
}

static const double class_size[5][3] = {
    {0, 0, 0}, {4.5, 1.9, 1.6}, {0.6, 0.6, 1.8}, {1.8, 0.6, 1.7}, {10.0, 2.5, 3.5}};
static const uint8_t class_rgb[5][3] = {
    {0, 0, 0}, {40, 90, 200}, {210, 50, 50}, {230, 200, 40}, {60, 160, 80}};

/* Scripted roles (ego starts at the origin heading +x) so that every log has objects fully in
 * view, objects crossing image borders and objects partly behind a camera's plane. */
struct role {
    int cls;
    double x, y, yaw_deg, speed;
};
static const struct role moving_roles[] = {
    {SYNTH_CAR, 22, 0.3, 0, 7.0},       /* lead car in the ego lane: fully in the front view */
    {SYNTH_CAR, -5, -3.4, 0, 11.0},     /* overtakes on the right: crosses the front camera plane */
    {SYNTH_CAR, 50, 3.6, 180, 9.0},     /* oncoming */
    {SYNTH_PEDESTRIAN, 24, -8.0, 90, 1.4}, /* crosses ahead */
    {SYNTH_CYCLIST, 12, -5.8, 0, 5.0},  /* bike lane on the right */
    {SYNTH_TRUCK, 70, 3.8, 180, 7.0},   /* oncoming truck */
    {SYNTH_PEDESTRIAN, 10, 8.5, 0, 1.3}, /* left sidewalk */
    {SYNTH_CAR, 38, -22, 90, 6.0},      /* crossing traffic far ahead */
};
static const struct role static_roles[] = {
    {SYNTH_TRUCK, 7, 6.0, 0, 0},        /* parked beside the ego: behind the front camera plane */
    {SYNTH_CAR, 20, -8.2, 0, 0},
    {SYNTH_PEDESTRIAN, 18, 7.5, 0, 0},
    {SYNTH_CAR, 30, 6.3, 180, 0},
    {SYNTH_CAR, 45, -8.0, 10, 0},
    {SYNTH_TRUCK, 60, -9.5, 0, 0},
};
#define N_ROLES(a) (sizeof(a) / sizeof((a)[0]))

static void object_make(synth_object *o, synth_rng *r, int cls, double x, double y,
                        double yaw_deg, double speed)
{
    o->cls = cls;
    for (int k = 0; k < 3; k++) o->size[k] = class_size[cls][k] * synth_rng_range(r, 0.92, 1.08);
    o->p0[0] = x + synth_rng_range(r, -1.0, 1.0);
    o->p0[1] = y + synth_rng_range(r, -0.2, 0.2);
    o->yaw = (yaw_deg + synth_rng_range(r, -3.0, 3.0)) * DEG;
    o->speed = speed * synth_rng_range(r, 0.9, 1.1);
    static const double refl_lo[5] = {0, 60, 20, 40, 100}, refl_hi[5] = {0, 120, 50, 90, 200};
    o->reflectivity = (uint8_t)synth_rng_range(r, refl_lo[cls], refl_hi[cls]);
    for (int k = 0; k < 3; k++) {
        double c = class_rgb[cls][k] + synth_rng_range(r, -25, 25);
        o->rgb[k] = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : c);
    }
}

static void object_random(synth_object *o, synth_rng *r, int moving)
{
    static const int classes[8] = {SYNTH_CAR, SYNTH_CAR, SYNTH_CAR, SYNTH_PEDESTRIAN,
                                   SYNTH_PEDESTRIAN, SYNTH_CYCLIST, SYNTH_TRUCK, SYNTH_CAR};
    static const double speed[5] = {0, 9.0, 1.4, 5.0, 7.0};
    int cls = classes[synth_rng_next(r) % 8];
    double x = synth_rng_range(r, -15, 70);
    double side = synth_rng_uniform(r) < 0.5 ? -1 : 1;
    double y = side * synth_rng_range(r, 11, 25);
    double yaw = synth_rng_range(r, -180, 180);
    object_make(o, r, cls, x, y, yaw, moving ? speed[cls] : 0.0);
}

void synth_object_velocity(const synth_object *o, double v[3])
{
    v[0] = o->speed * cos(o->yaw);
    v[1] = o->speed * sin(o->yaw);
    v[2] = 0;
}

void synth_object_box(const synth_scene *sc, size_t i, int64_t t_ns, synth_box *b)
{
    const synth_object *o = &sc->obj[i];
    double dt = (double)(t_ns - sc->t0_ns) * 1e-9, v[3];
    synth_object_velocity(o, v);
    b->c[0] = o->p0[0] + v[0] * dt;
    b->c[1] = o->p0[1] + v[1] * dt;
    b->c[2] = 0.5 * o->size[2];
    b->cos_yaw = cos(o->yaw);
    b->sin_yaw = sin(o->yaw);
    for (int k = 0; k < 3; k++) b->half[k] = 0.5 * o->size[k];
    b->radius = sqrt(b->half[0] * b->half[0] + b->half[1] * b->half[1] + b->half[2] * b->half[2]);
}

/* ---- ego trajectory ------------------------------------------------------------------ */

static void ego_arc(const synth_scene *sc, int64_t t_ns, double *x, double *y, double *yaw)
{
    double tau = (double)(t_ns - sc->t0_ns) * 1e-9, w = sc->ego_yaw_rate, v = sc->ego_speed_mps;
    *yaw = w * tau;
    *x = v / w * sin(w * tau);
    *y = v / w * (1.0 - cos(w * tau));
}

void synth_ego_pose(const synth_scene *sc, int64_t t_ns, double *x, double *y, double *yaw)
{
    int64_t rel = t_ns - sc->pose_t0_ns;
    int64_t k = rel / SYNTH_POSE_DT_NS;
    if (rel < 0) k = 0;
    if ((size_t)k >= sc->n_poses - 1) k = (int64_t)sc->n_poses - 2;
    double s = (double)(rel - k * SYNTH_POSE_DT_NS) / (double)SYNTH_POSE_DT_NS;
    const double *a = sc->pose + 3 * k, *b = a + 3;
    *x = a[0] + s * (b[0] - a[0]);
    *y = a[1] + s * (b[1] - a[1]);
    *yaw = a[2] + s * (b[2] - a[2]);
}

avt_tf synth_world_T_ego(const synth_scene *sc, int64_t t_ns)
{
    double x, y, yaw;
    synth_ego_pose(sc, t_ns, &x, &y, &yaw);
    double t[3] = {x, y, 0};
    return avt_tf_from_yaw(yaw, t);
}

/* ---- rig ------------------------------------------------------------------------------ */

struct mount {
    const char *name;
    double x, y, z, yaw_deg;
};
static const struct mount mounts[SYNTH_MAX_CAMERAS] = {
    {"front", 1.6, 0.0, 1.45, 0},         {"front_left", 1.4, 0.55, 1.45, 55},
    {"front_right", 1.4, -0.55, 1.45, -55}, {"back", -0.9, 0.0, 1.5, 178},
    {"back_left", -0.6, 0.6, 1.5, 125},   {"back_right", -0.6, -0.6, 1.5, -125}};

static void mat3_mul(const double a[9], const double b[9], double out[9])
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            out[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
}

static void camera_make(synth_cam *c, const struct mount *m, synth_rng *r,
                        const avt_synth_config *cfg, const avt_tf *lidar_T_ego)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", m->name);
    c->width = cfg->width;
    c->height = cfg->height;
    c->fx = cfg->width * synth_rng_range(r, 0.72, 0.78);
    c->fy = c->fx * synth_rng_range(r, 0.996, 1.004);
    c->cx = 0.5 * (cfg->width - 1) + synth_rng_range(r, -6, 6);
    c->cy = 0.5 * (cfg->height - 1) + synth_rng_range(r, -4, 4);
    static const double k_nominal[5] = {-0.30, 0.10, 0.001, -0.0015, -0.02};
    for (int k = 0; k < 5; k++)
        c->dist[k] = k_nominal[k] * cfg->distortion * synth_rng_range(r, 0.95, 1.05);
    c->r2_max = synth_radial_r2_max(c->dist);

    /* Camera axes in the ego frame: z along the mount yaw, x to its right, y down; then a
     * small pitch down (about camera x) and roll (about camera z). */
    double yaw = (m->yaw_deg + synth_rng_range(r, -0.5, 0.5)) * DEG;
    double pitch = -synth_rng_range(r, 2.0, 4.0) * DEG, roll = synth_rng_range(r, -1.0, 1.0) * DEG;
    double base[9] = {sin(yaw), 0, cos(yaw), -cos(yaw), 0, sin(yaw), 0, -1, 0};
    double rx[9] = {1, 0, 0, 0, cos(pitch), -sin(pitch), 0, sin(pitch), cos(pitch)};
    double rz[9] = {cos(roll), -sin(roll), 0, sin(roll), cos(roll), 0, 0, 0, 1};
    double tmp[9], rot[9];
    mat3_mul(base, rx, tmp);
    mat3_mul(tmp, rz, rot);
    avt_tf e = avt_tf_identity();
    double pos[3] = {m->x, m->y, m->z};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) e.m[4 * i + j] = rot[3 * i + j];
        e.m[4 * i + 3] = pos[i];
    }
    c->ego_T_cam = e;
    c->lidar_T_cam = avt_tf_mul(lidar_T_ego, &e);
}

/* ---- scene ---------------------------------------------------------------------------- */

int synth_scene_init(synth_scene *sc, const avt_synth_config *cfg, avt_error *err)
{
    memset(sc, 0, sizeof *sc);
    sc->cfg = *cfg;
    synth_rng r;
    synth_rng_seed(&r, cfg->seed);

    /* 2026-03-01T12:59:58.5Z: the hour rolls over 1.5 s into the log. */
    sc->t0_ns = 1772369998500000000LL;
    sc->t_end_ns = sc->t0_ns + (int64_t)llround(cfg->seconds * 1e9);
    sc->clock_offset_ns = (int64_t)llround(cfg->clock_offset_s * 1e9);
    sc->ego_speed_mps = synth_rng_range(&r, 7.5, 8.5);
    sc->ego_yaw_rate = synth_rng_range(&r, 0.03, 0.06);

    sc->pose_t0_ns = sc->t0_ns - SYNTH_POSE_MARGIN_NS;
    sc->n_poses = (size_t)((sc->t_end_ns + SYNTH_POSE_MARGIN_NS - sc->pose_t0_ns) /
                           SYNTH_POSE_DT_NS) + 1;
    sc->pose = malloc(sc->n_poses * 3 * sizeof(double));
    if (!sc->pose) return avt_err(err, AVT_NOMEM, "synth: out of memory for %zu poses", sc->n_poses);
    for (size_t i = 0; i < sc->n_poses; i++) {
        int64_t t = sc->pose_t0_ns + (int64_t)i * SYNTH_POSE_DT_NS;
        ego_arc(sc, t, &sc->pose[3 * i], &sc->pose[3 * i + 1], &sc->pose[3 * i + 2]);
    }

    double lidar_pos[3] = {synth_rng_range(&r, 0.2, 0.4), synth_rng_range(&r, -0.05, 0.05),
                           synth_rng_range(&r, 1.75, 1.85)};
    sc->ego_T_lidar = avt_tf_from_yaw(synth_rng_range(&r, -1.0, 1.0) * DEG, lidar_pos);
    sc->lidar_T_ego = avt_tf_inv(&sc->ego_T_lidar);

    sc->n_cam = (size_t)cfg->cameras;
    for (size_t i = 0; i < sc->n_cam; i++)
        camera_make(&sc->cam[i], &mounts[i], &r, cfg, &sc->lidar_T_ego);

    /* The first sweep starts part-way: phase in [1, SEQ_PER_REV - 1]. */
    sc->cut_deg = 180.0;
    uint64_t phase_draw = synth_rng_next(&r);
    sc->lidar_name = cfg->lidar ? cfg->lidar : "vlp16";
    sc->ouster = synth_ouster_model_find(sc->lidar_name);
    if (sc->ouster) {
        /* Ouster: column 0 faces the cut (avtruth/ouster.h); the capture starts at a packet
         * boundary part-way through the first frame, columns equally spaced in time */
        const int cpp = SYNTH_OUSTER_COLS_PER_PACKET, packets = sc->ouster->w / cpp;
        sc->phase = cpp * (1 + (int)(phase_draw % (uint64_t)(packets - 1)));
        sc->az0_deg = sc->cut_deg + sc->phase * 360.0 / sc->ouster->w;
        sc->rev_ns = 1000000000LL / sc->ouster->hz;
        sc->ouster_profile = synth_ouster_profile_find(cfg->lidar_profile ? cfg->lidar_profile : "rng19");
        if (sc->ouster_profile < 0)
            return avt_err(err, AVT_UNSUPPORTED, "synth: lidar profile '%s' not supported",
                           cfg->lidar_profile);
    } else {
        sc->phase = 1 + (int)(phase_draw % (SYNTH_SEQ_PER_REV - 1));
        sc->az0_deg = sc->cut_deg + (sc->phase + 0.5) * 360.0 / SYNTH_SEQ_PER_REV;
        sc->lidar = synth_lidar_model_find(sc->lidar_name);
        if (!sc->lidar) return avt_err(err, AVT_UNSUPPORTED, "synth: lidar '%s' not supported", cfg->lidar);
        sc->rev_ns = (int64_t)SYNTH_SEQ_PER_REV * sc->lidar->seq_ns;
    }

    size_t n = 0;
    for (int i = 0; i < cfg->moving_objects; i++, n++) {
        if ((size_t)i < N_ROLES(moving_roles)) {
            const struct role *ro = &moving_roles[i];
            object_make(&sc->obj[n], &r, ro->cls, ro->x, ro->y, ro->yaw_deg, ro->speed);
        } else {
            object_random(&sc->obj[n], &r, 1);
        }
    }
    for (int i = 0; i < cfg->static_objects; i++, n++) {
        if ((size_t)i < N_ROLES(static_roles)) {
            const struct role *ro = &static_roles[i];
            object_make(&sc->obj[n], &r, ro->cls, ro->x, ro->y, ro->yaw_deg, 0.0);
        } else {
            object_random(&sc->obj[n], &r, 0);
        }
    }
    for (size_t i = 0; i < n; i++) sc->obj[i].track_id = (int)i + 1;
    sc->n_obj = n;
    return AVT_OK;
}

void synth_scene_free(synth_scene *sc)
{
    if (!sc) return;
    free(sc->pose);
    sc->pose = NULL;
}

/* ---- ray casting ---------------------------------------------------------------------- */

int synth_box_hit(const synth_box *b, const double o[3], const double d[3], double *t_hit,
                  int *face)
{
    double dx = o[0] - b->c[0], dy = o[1] - b->c[1];
    double ol[3] = {b->cos_yaw * dx + b->sin_yaw * dy, -b->sin_yaw * dx + b->cos_yaw * dy,
                    o[2] - b->c[2]};
    double dl[3] = {b->cos_yaw * d[0] + b->sin_yaw * d[1], -b->sin_yaw * d[0] + b->cos_yaw * d[1],
                    d[2]};
    double tmin = -INFINITY, tmax = INFINITY;
    int fmin = 0, fmax = 0;
    for (int k = 0; k < 3; k++) {
        if (dl[k] == 0.0) {
            if (ol[k] < -b->half[k] || ol[k] > b->half[k]) return 0;
            continue;
        }
        double inv = 1.0 / dl[k];
        double t1 = (-b->half[k] - ol[k]) * inv, t2 = (b->half[k] - ol[k]) * inv;
        /* entering through the -k face when moving towards +k */
        int f1 = 2 * k + 1, f2 = 2 * k;
        if (t1 > t2) {
            double tt = t1;
            t1 = t2;
            t2 = tt;
            f1 = 2 * k;
            f2 = 2 * k + 1;
        }
        if (t1 > tmin) {
            tmin = t1;
            fmin = f1;
        }
        if (t2 < tmax) {
            tmax = t2;
            fmax = f2;
        }
        if (tmin > tmax) return 0;
    }
    if (tmax <= 0) return 0;
    if (tmin > 0) {
        *t_hit = tmin;
        *face = fmin;
    } else {
        *t_hit = tmax;
        *face = fmax;
    }
    return 1;
}

int synth_cast(const synth_box *boxes, size_t n, const double o[3], const double d[3],
               double t_max, double *t_hit, int *face)
{
    int best = -2;
    double tb = t_max;
    int fb = 0;
    if (d[2] < 0) {
        double t = -o[2] / d[2];
        if (t > 0 && t < tb) {
            tb = t;
            best = -1;
            fb = 4;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const synth_box *b = &boxes[i];
        if (!synth_sphere_may_hit(b, o, d)) continue;
        double t;
        int f;
        if (synth_box_hit(b, o, d, &t, &f) && t < tb) {
            tb = t;
            best = (int)i;
            fb = f;
        }
    }
    *t_hit = tb;
    *face = fb;
    return best;
}
