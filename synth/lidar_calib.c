/* avtruth synth: the synthetic HDL-64E unit's calibration, written as VeloView's db.xml and as
 * the ROS velodyne driver's YAML, and the log.yaml that names the model and the file.
 *
 * The HDL-64E S2/S3 manuals give no geometry: each unit ships its own corrections (rotational,
 * vertical, distance, vertical and horizontal offset per laser). The generator's unit has
 * fixed values of the kind real units carry (../shared/data/velodyne/calib/64e_s2.1-sztaki.xml
 * and 64e_s3-xiesc.yaml): upper block +2 to -8.33 deg in 1/3 deg steps, lower block -8.83 to
 * -24.33 deg in 1/2 deg steps, consecutive lasers alternating between the two halves of their
 * block; rotational corrections of +-2.5..7 deg alternating sign; distance corrections
 * 1.30..1.615 m; vertical offsets 21.5..20.9 cm (upper) and 16..14.45 cm (lower); horizontal
 * offsets +-2.6 cm. Formats: ingest/velodyne_calib.c describes both (db.xml in degrees and
 * centimetres, YAML in radians and metres). Doubles are printed with %.17g, so the decoder
 * reads back exactly the values the generator ray-casts with (synth/lidar.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "synth_private.h"

#define DEG (M_PI / 180.0)

void synth_hdl64e_calib(int l, synth_laser_calib *c)
{
    const int i = l % 32, upper = l < 32;
    const int rank = (i % 2 ? 16 : 0) + i / 2; /* 0 = the block's highest beam */
    memset(c, 0, sizeof *c);
    c->vert_deg = upper ? 2.0 - rank / 3.0 : -8.8333 - rank * 0.5;
    c->rot_deg = (l % 2 ? 1 : -1) * (2.5 + 1.5 * ((l / 2) % 4));
    c->dist_cm = 130.0 + 0.5 * ((l * 37) % 64);
    c->vert_offset_cm = upper ? 21.5 - 0.02 * i : 16.0 - 0.05 * i;
    c->horiz_offset_cm = l % 2 ? -2.6 : 2.6;
    c->focal_distance_cm = 1200.0;
    c->focal_slope = 1.2;
}

static void write_xml(FILE *f, int n)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?>\n"
               "<!DOCTYPE boost_serialization>\n"
               "<boost_serialization signature=\"serialization::archive\" version=\"4\">\n"
               "<DB class_id=\"0\" tracking_level=\"1\" version=\"0\" object_id=\"_0\">\n"
               "\t<distLSB_>0.2</distLSB_>\n");
    static const char *const LISTS[3] = {"enabled_", "minIntensity_", "maxIntensity_"};
    for (int k = 0; k < 3; k++) {
        fprintf(f, "\t<%s>\n\t\t<count>%d</count>\n", LISTS[k], n);
        if (k) fprintf(f, "\t\t<item_version>0</item_version>\n");
        for (int l = 0; l < n; l++) fprintf(f, "\t\t<item>%d</item>\n", k == 1 ? 0 : k ? 255 : 1);
        fprintf(f, "\t</%s>\n", LISTS[k]);
    }
    fprintf(f, "\t<points_ class_id=\"7\" tracking_level=\"0\" version=\"0\">\n"
               "\t\t<count>%d</count>\n\t\t<item_version>1</item_version>\n", n);
    for (int l = 0; l < n; l++) {
        synth_laser_calib c;
        synth_hdl64e_calib(l, &c);
        if (l == 0)
            fprintf(f, "\t\t<item class_id=\"8\" tracking_level=\"0\" version=\"1\">\n\t\t\t<px "
                       "class_id=\"9\" tracking_level=\"1\" version=\"1\" object_id=\"_1\">\n");
        else
            fprintf(f, "\t\t<item>\n\t\t\t<px class_id_reference=\"9\" object_id=\"_%d\">\n", l + 1);
        /* no two-point correction: distCorrectionX_/Y_ equal distCorrection_ */
        fprintf(f,
                "\t\t\t\t<id_>%d</id_>\n"
                "\t\t\t\t<rotCorrection_>%.17g</rotCorrection_>\n"
                "\t\t\t\t<vertCorrection_>%.17g</vertCorrection_>\n"
                "\t\t\t\t<distCorrection_>%.17g</distCorrection_>\n"
                "\t\t\t\t<distCorrectionX_>%.17g</distCorrectionX_>\n"
                "\t\t\t\t<distCorrectionY_>%.17g</distCorrectionY_>\n"
                "\t\t\t\t<vertOffsetCorrection_>%.17g</vertOffsetCorrection_>\n"
                "\t\t\t\t<horizOffsetCorrection_>%.17g</horizOffsetCorrection_>\n"
                "\t\t\t\t<focalDistance_>%.17g</focalDistance_>\n"
                "\t\t\t\t<focalSlope_>%.17g</focalSlope_>\n"
                "\t\t\t</px>\n\t\t</item>\n",
                l, c.rot_deg, c.vert_deg, c.dist_cm, c.dist_cm, c.dist_cm, c.vert_offset_cm,
                c.horiz_offset_cm, c.focal_distance_cm, c.focal_slope);
    }
    fprintf(f, "\t</points_>\n</DB>\n</boost_serialization>\n");
}

static void write_yaml(FILE *f, int n)
{
    fprintf(f, "distance_resolution: 0.002\nnum_lasers: %d\nlasers:\n", n);
    for (int l = 0; l < n; l++) {
        synth_laser_calib c;
        synth_hdl64e_calib(l, &c);
        fprintf(f,
                "- laser_id: %d\n"
                "  rot_correction: %.17g\n"
                "  vert_correction: %.17g\n"
                "  dist_correction: %.17g\n"
                "  dist_correction_x: %.17g\n"
                "  dist_correction_y: %.17g\n"
                "  two_pt_correction_available: false\n"
                "  vert_offset_correction: %.17g\n"
                "  horiz_offset_correction: %.17g\n"
                "  focal_distance: %.17g\n"
                "  focal_slope: %.17g\n"
                "  min_intensity: 0\n"
                "  max_intensity: 255\n",
                l, c.rot_deg * DEG, c.vert_deg * DEG, c.dist_cm * 0.01, c.dist_cm * 0.01,
                c.dist_cm * 0.01, c.vert_offset_cm * 0.01, c.horiz_offset_cm * 0.01,
                c.focal_distance_cm * 0.01, c.focal_slope);
    }
}

/* Writes dir/name by fill(f, n) or plain text. */
static int write_file(const char *dir, const char *name, void (*fill)(FILE *, int), int n,
                      const char *text, avt_error *err)
{
    char path[4096];
    if (avt_path_join(path, sizeof path, dir, name) != AVT_OK)
        return avt_err(err, AVT_INVAL, "%s/%s: path too long", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create: %s", path, strerror(errno));
    if (fill) fill(f, n);
    else fputs(text, f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return avt_err(err, AVT_IO, "%s: write error", path);
    return AVT_OK;
}

int synth_lidar_calib_write(const synth_scene *sc, const char *dir, avt_error *err)
{
    const synth_lidar_model *m = sc->lidar;
    if (!m || m->elevation_deg) return AVT_OK;
    char xml[96], yaml[96], log_yaml[256];
    snprintf(xml, sizeof xml, "lidar/%s.xml", m->name);
    snprintf(yaml, sizeof yaml, "lidar/%s.yaml", m->name);
    snprintf(log_yaml, sizeof log_yaml,
             "# written by avtruth synth: the HDL-64E has no product byte and no manual geometry\n"
             "lidar:\n  model: %s\n  calibration: %s\n",
             m->name, xml);
    int rc = write_file(dir, xml, write_xml, m->lasers, NULL, err);
    if (!rc) rc = write_file(dir, yaml, write_yaml, m->lasers, NULL, err);
    if (!rc) rc = write_file(dir, "log.yaml", NULL, 0, log_yaml, err);
    return rc;
}
