/* avtruth synth, private: the scene model, PRNG, camera model and ray casting shared by the
 * files of synth/ and by tests/synth/. Nothing here depends on project/ (the code under test).
 */
#ifndef AVTRUTH_SYNTH_PRIVATE_H
#define AVTRUTH_SYNTH_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/common.h"
#include "avtruth/geom.h"
#include "avtruth/synth.h"

#define SYNTH_MAX_CAMERAS 6
#define SYNTH_MAX_OBJECTS 128
#define SYNTH_LIDAR_MAX_RANGE_M 100.0
#define SYNTH_LIDAR_MIN_RANGE_M 0.5
/* One revolution is exactly this many firing sequences, so that the firing sequences hit the
 * same azimuths in every sweep and the cut lies half-way between two of them (see lidar.c). */
#define SYNTH_SEQ_PER_REV 1808
#define SYNTH_POSE_DT_NS ((int64_t)10000000) /* poses.csv at 100 Hz */
#define SYNTH_POSE_MARGIN_NS ((int64_t)500000000)

/* xoshiro256** seeded with splitmix64: the same stream on every machine. */
typedef struct synth_rng {
    uint64_t s[4];
} synth_rng;
void synth_rng_seed(synth_rng *r, uint64_t seed);
uint64_t synth_rng_next(synth_rng *r);
double synth_rng_uniform(synth_rng *r);                    /* [0, 1) */
double synth_rng_range(synth_rng *r, double lo, double hi); /* [lo, hi) */
double synth_rng_gauss(synth_rng *r);                      /* standard normal */

enum synth_class { SYNTH_CAR = 1, SYNTH_PEDESTRIAN = 2, SYNTH_CYCLIST = 3, SYNTH_TRUCK = 4 };
const char *synth_class_name(int cls);

/* An object moves on a straight line at constant velocity with constant yaw. */
typedef struct synth_object {
    int track_id;
    int cls;
    double size[3];   /* length (along yaw), width, height, metres */
    double p0[2];     /* world x, y of the centre at scene t0 */
    double yaw;       /* world, rad */
    double speed;     /* m/s along yaw; 0 for static objects */
    uint8_t reflectivity;
    uint8_t rgb[3];
} synth_object;

/* An object's box at one instant, world frame. */
typedef struct synth_box {
    double c[3];
    double cos_yaw, sin_yaw;
    double half[3];
    double radius;    /* of the bounding sphere */
} synth_box;

/* A pinhole camera with OpenCV radial-tangential distortion (k1 k2 p1 p2 k3). */
typedef struct synth_cam {
    char name[32];
    unsigned width, height;
    double fx, fy, cx, cy;
    double dist[5];
    double r2_max;    /* undistorted r^2 up to which the radial map is monotonic */
    avt_tf ego_T_cam;
    avt_tf lidar_T_cam;
} synth_cam;

/* A Velodyne model as the generator writes it (synth/lidar.c; tables in avtruth/velodyne.h). */
typedef struct synth_lidar_model {
    const char *name;         /* as in avt_synth_config.lidar and the pcap's file name */
    uint8_t product;          /* factory byte 1205; 0: none (HDL-64E: status bytes) */
    int lasers;
    int banks;                /* 32-laser blocks per firing sequence (HDL-64E 2, VLS-128 4) */
    int seq_per_block;        /* firing sequences per block (VLP-16 / Puck Hi-Res: 2) */
    int32_t seq_ns;           /* one firing sequence */
    int32_t toh_offset_ns;    /* first firing of a packet relative to its timestamp */
    double dist_unit_m;
    /* [lasers] or NULL; elevation_deg NULL: the synthetic unit's calibration (lidar_calib.c) */
    const double *elevation_deg, *azimuth_offset_deg, *vert_offset_mm;
    /* HDL-64E: firing times of the 4 lasers of a group, groups seq_ns / 8 apart; else NULL */
    const int32_t *group_fire_ns;
} synth_lidar_model;

/* The model named name, or NULL. */
const synth_lidar_model *synth_lidar_model_find(const char *name);
/* Firing time of laser l within its firing sequence, ns (the manuals' timing tables). */
int32_t synth_laser_time_ns(const synth_lidar_model *m, int l);
/* Firing sequences per data packet (dual: per dual-return packet). */
int synth_lidar_seq_per_packet(const synth_lidar_model *m, int dual);

/* Return modes of a Velodyne capture (avt_synth_config.lidar_return). */
enum synth_return { SYNTH_RETURN_STRONGEST = 0, SYNTH_RETURN_LAST = 1, SYNTH_RETURN_DUAL = 2 };
/* The mode named name (NULL: strongest), or -1. */
int synth_return_find(const char *name);
/* Dual returns in the scene (synth/lidar.c): a beam entering a box within SYNTH_DUAL_EDGE_M
 * of an edge of the face it enters straddles the edge and also returns from the next surface
 * behind that box, if that lies at least SYNTH_DUAL_MIN_SEP_M farther (and within range). The
 * edge return is the strongest: the one behind reports its own reflectivity capped at half
 * the edge's. */
#define SYNTH_DUAL_EDGE_M 0.10
#define SYNTH_DUAL_MIN_SEP_M 1.0

/* One laser of a Velodyne calibration, in the units of VeloView's db.xml. */
typedef struct synth_laser_calib {
    double rot_deg, vert_deg;                      /* rotCorrection_, vertCorrection_ */
    double dist_cm, vert_offset_cm, horiz_offset_cm;
    double focal_distance_cm, focal_slope;         /* written, not used by the geometry */
} synth_laser_calib;
/* The synthetic HDL-64E unit's calibration of laser l (0..63): fixed, plausible values. */
void synth_hdl64e_calib(int l, synth_laser_calib *c);

/* An Ouster model as the generator writes it (synth/synth_ouster.c): one real unit's beam table
 * and its lidar mode. Packets hold the sensors' default 16 columns. */
#define SYNTH_OUSTER_COLS_PER_PACKET 16
typedef struct synth_ouster_model {
    const char *name;         /* as in avt_synth_config.lidar and the capture's file name */
    const char *prod_line;    /* metadata sensor_info.prod_line, "OS-1-64" */
    int h;                    /* beams (pixels_per_column) */
    int w;                    /* columns_per_frame of the lidar mode */
    int hz;                   /* frames per second of the lidar mode */
    const double *alt_deg, *az_deg;  /* beam_altitude_angles, beam_azimuth_angles [h] */
    double beam_origin_mm;    /* lidar_origin_to_beam_origin_mm */
    double sensor_z_mm;       /* lidar_to_sensor_transform: 180 deg about z, then +z */
} synth_ouster_model;

/* The Ouster model named name, or NULL. */
const synth_ouster_model *synth_ouster_model_find(const char *name);
/* enum avt_ouster_profile of a profile name ("legacy", "rng19", "rng19-dual", "rng15", or
 * the udp_profile_lidar spelling), -1 if unknown. */
int synth_ouster_profile_find(const char *name);

typedef struct synth_scene {
    avt_synth_config cfg;
    const synth_lidar_model *lidar;    /* a Velodyne sensor, or NULL */
    const synth_ouster_model *ouster;  /* an Ouster sensor, or NULL */
    int ouster_profile;                /* enum avt_ouster_profile */
    const char *lidar_name;            /* the model's name, either kind */
    int64_t t0_ns;          /* first firing of the log */
    int64_t t_end_ns;       /* no packet starts at or after this */
    double ego_speed_mps, ego_yaw_rate;
    int64_t pose_t0_ns;     /* first row of poses.csv */
    size_t n_poses;
    double *pose;           /* n_poses x (x, y, yaw) of world_T_ego on the 100 Hz grid */
    avt_tf ego_T_lidar, lidar_T_ego;
    synth_object obj[SYNTH_MAX_OBJECTS];
    size_t n_obj;
    synth_cam cam[SYNTH_MAX_CAMERAS];
    size_t n_cam;
    double cut_deg;         /* sweep cut azimuth */
    int phase;              /* az0 = cut + (phase + 0.5) * 360 / SYNTH_SEQ_PER_REV;
                               Ouster: first column, az0 = cut + phase * 360 / w */
    double az0_deg;
    int64_t rev_ns;         /* SYNTH_SEQ_PER_REV * sequence period; Ouster: 1 s / hz */
    int64_t clock_offset_ns;
} synth_scene;

/* Builds the scene from cfg (objects, ego trajectory, rig). Caller frees with
 * synth_scene_free. */
int synth_scene_init(synth_scene *sc, const avt_synth_config *cfg, avt_error *err);
void synth_scene_free(synth_scene *sc);

/* world_T_ego at t_ns: the 100 Hz grid of poses.csv interpolated exactly as a reader does
 * (linear translation, yaw linear = slerp about z). */
void synth_ego_pose(const synth_scene *sc, int64_t t_ns, double *x, double *y, double *yaw);
avt_tf synth_world_T_ego(const synth_scene *sc, int64_t t_ns);
/* Object state at t_ns (world). */
void synth_object_box(const synth_scene *sc, size_t i, int64_t t_ns, synth_box *b);
void synth_object_velocity(const synth_object *o, double v[3]);

/* Slab test of the ray o + t d (t > 0) against box b in the box frame. Returns 1 on a hit
 * and sets *t_hit to the entry distance (or the exit when o is inside) and *face to
 * 0..5 (+x,-x,+y,-y,+z,-z). */
int synth_box_hit(const synth_box *b, const double o[3], const double d[3], double *t_hit,
                  int *face);
/* Conservative rejection: 0 when the line o + t d cannot meet b's bounding sphere. */
static inline int synth_sphere_may_hit(const synth_box *b, const double o[3], const double d[3])
{
    double w[3] = {b->c[0] - o[0], b->c[1] - o[1], b->c[2] - o[2]};
    double tca = w[0] * d[0] + w[1] * d[1] + w[2] * d[2];
    double ww = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
    double dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    double r2 = b->radius * b->radius;
    if (tca < 0 && ww > r2) return 0; /* sphere entirely behind the origin */
    return ww * dd - tca * tca <= r2 * dd * 1.0001 + 1e-12;
}

/* Nearest hit among the ground plane z = 0 and the boxes. Returns the object index, -1 for
 * the ground, -2 for nothing within t_max. */
int synth_cast(const synth_box *boxes, size_t n, const double o[3], const double d[3],
               double t_max, double *t_hit, int *face);

/* Radial-tangential model on normalised coordinates. */
void synth_distort(const double k[5], double x, double y, double *xd, double *yd);
/* Inverse by Newton iteration, checked by re-distorting. Returns 1 if a unique inverse on the
 * monotonic branch (r^2 <= r2_max) exists. */
int synth_undistort(const double k[5], double r2_max, double xd, double yd, double *x,
                    double *y);
/* Largest r^2 at which d(r (1 + k1 r^2 + k2 r^4 + k3 r^6))/dr stays positive (capped). */
double synth_radial_r2_max(const double k[5]);

/* Per-pixel amodal silhouette extent of one object. */
typedef struct synth_bbox2d {
    int umin, vmin, umax, vmax; /* umin > umax when empty */
    int behind;
    /* The same extremes refined to 1/16 px: the silhouette is sampled beyond each extreme pixel
     * centre on a 1/16 x 1/8 px grid (a thin corner of a silhouette can fall between pixel
     * centres, so the pixel extremes can be more than a pixel inside the true extent). */
    double x0, y0, x1, y1;
} synth_bbox2d;

/* Unit ray directions (camera frame) per pixel; valid[i] = 0 where undistortion fails. */
typedef struct synth_raytable {
    float *dir;      /* width*height*3 */
    uint8_t *valid;
} synth_raytable;
int synth_raytable_init(synth_raytable *rt, const synth_cam *cam);
void synth_raytable_free(synth_raytable *rt);

/* Renders camera cam at t_ns into rgb (width*height*3) and fills boxes[n_obj]. Uses OpenMP
 * over rows; output is independent of the thread count. */
void synth_render(const synth_scene *sc, const synth_cam *cam, const synth_raytable *rt,
                  int64_t t_ns, uint8_t *rgb, synth_bbox2d *boxes);
int synth_png_write(const char *path, const uint8_t *rgb, unsigned w, unsigned h,
                    avt_error *err);

/* One LiDAR sweep of the truth. */
typedef struct synth_sweep {
    int64_t start_ns, end_ns, timestamp_ns;
    int packets;
    int complete;
    int64_t n_seq;
    double az_start_deg;    /* unwrapped azimuth of the sweep's cut */
    int64_t returns[2];     /* firings with one return, with two (see SYNTH_DUAL_EDGE_M) */
} synth_sweep;

/* Unwrapped head azimuth (degrees) at t_ns. */
double synth_head_az_deg(const synth_scene *sc, int64_t t_ns);
/* Timestamp (ns, whole microseconds) of packet k; its first firing is that plus
 * lidar->toh_offset_ns. */
int64_t synth_packet_t_ns(const synth_scene *sc, int64_t k);

/* For a model without manual geometry (HDL-64E): writes the unit's calibration as
 * lidar/<model>.xml (VeloView db.xml) and lidar/<model>.yaml (ROS driver YAML) and a log.yaml
 * naming the model and the db.xml. Nothing for the other models. */
int synth_lidar_calib_write(const synth_scene *sc, const char *dir, avt_error *err);
/* Writes the pcap and returns the sweeps (malloc'ed, caller frees). */
int synth_lidar_write(const synth_scene *sc, const char *pcap_path, synth_sweep **sweeps,
                      size_t *n_sweeps, void (*progress)(double, void *), void *ctx,
                      avt_error *err);

/* Builds an Ethernet/IPv4/UDP frame around payload into frame (>= 42 + len bytes) and
 * returns its length. */
size_t synth_udp_frame(uint8_t *frame, uint16_t ip_id, uint16_t port, const uint8_t *payload,
                       size_t len);
/* Fragment k (0-based) of the IPv4 datagram in frame (as built by synth_udp_frame, len
 * bytes) for a link MTU of mtu bytes (RFC 791 section 3.2: every fragment but the last
 * carries a multiple of 8 bytes, MF set, DF cleared, header checksum recomputed). Writes it
 * into out (>= 14 + mtu bytes) and returns its frame length; 0 when k is past the last. */
size_t synth_ipv4_fragment(const uint8_t *frame, size_t len, size_t mtu, size_t k,
                           uint8_t *out);

/* Ouster (synth/synth_ouster.c): time of global column g of the log, where g = w m + v is column v
 * of sweep m (sweep 0 starts at column sc->phase, at t0_ns). Columns are equally spaced:
 * t = t0_ns - floor(phase rev_ns / w) + floor(g rev_ns / w). */
int64_t synth_ouster_col_ns(const synth_scene *sc, int64_t g);
/* Writes lidar/<model>.pcap, lidar/<model>.json (metadata), log.yaml and
 * truth/lidar_frames.csv under dir and returns the sweeps (malloc'ed, caller frees). */
int synth_ouster_write(const synth_scene *sc, const char *dir, synth_sweep **sweeps,
                       size_t *n_sweeps, void (*progress)(double, void *), void *ctx,
                       avt_error *err);
/* Replaces the Velodyne-specific entries of params.json's "lidar" and "definitions" objects. */
struct json_t;
void synth_ouster_params(const synth_scene *sc, struct json_t *lidar, struct json_t *defs);

/* Writes a $GPRMC sentence for t_ns into out (NUL-terminated, "\r\n" included); returns its
 * length. */
size_t synth_gprmc(int64_t t_ns, double speed_mps, double course_deg, char *out, size_t n);

#endif
