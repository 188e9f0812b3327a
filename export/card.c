/* avtruth export: the generated Markdown dataset card (/dataset_card and NAME.card.md) with
 * sensors, counts, the class histogram, sync quality and known limitations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_private.h"

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void card_sensors(avt_sbuf *b, const struct avt_export_writer *w, const avt_export_meta *m)
{
    avt_sbuf_printf(b, "## Sensors\n\n- LiDAR: %s\n", w->lidar_model[0] ? w->lidar_model : "unknown");
    const char *src = (m && m->calibration_source) ? m->calibration_source : w->rig_source;
    avt_sbuf_printf(b, "- Calibration: %s\n", src[0] ? src : "not recorded");
    avt_sbuf_printf(b, "- Cameras: %zu\n\n", w->n_cams);
    if (!w->n_cams) return;
    avt_sbuf_printf(b, "| camera | model | distortion | size (px) | paired frames | 2D boxes | depth samples |\n"
                 "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < w->n_cams; i++) {
        const avt_export_cam *c = &w->cams[i];
        avt_sbuf_printf(b, "| %s | %s | %s | %ux%u | %llu of %llu | %llu | %llu |\n", c->name,
                  c->model == AVT_CAM_FISHEYE ? "fisheye" : "pinhole", c->distortion_model,
                  c->width, c->height, (unsigned long long)c->paired,
                  (unsigned long long)w->n_frames, (unsigned long long)c->boxes2d,
                  (unsigned long long)c->depth);
    }
    avt_sbuf_printf(b, "\n");
}

static void card_counts(avt_sbuf *b, const struct avt_export_writer *w)
{
    avt_sbuf_printf(b, "## Counts\n\n| frames | LiDAR points | 3D boxes | input files |\n"
                 "|---|---|---|---|\n| %llu | %llu | %llu | %zu |\n\n",
              (unsigned long long)w->n_frames, (unsigned long long)w->n_points,
              (unsigned long long)w->n_boxes, w->n_inputs);
    if (w->n_frames) {
        char a[48], z[48];
        avt_format_utc(w->first_ts, a, sizeof a);
        avt_format_utc(w->last_ts, z, sizeof z);
        avt_sbuf_printf(b, "Time span: %s .. %s\n\n", a, z);
    }
    avt_sbuf_printf(b, "## Class histogram (3D boxes)\n\n| class_id | class | boxes | share |\n"
                 "|---|---|---|---|\n");
    for (size_t i = 0; i < w->n_classes; i++)
        avt_sbuf_printf(b, "| %zu | %s | %llu | %.1f%% |\n", i, w->class_names[i],
                  (unsigned long long)w->class_hist[i], pct(w->class_hist[i], w->n_boxes));
    avt_sbuf_printf(b, "\n");
}

static void card_sync(avt_sbuf *b, const struct avt_export_writer *w, const avt_export_meta *m)
{
    avt_sbuf_printf(b, "## Synchronisation\n\n");
    if (!w->n_cams) {
        avt_sbuf_printf(b, "No cameras.\n\n");
        return;
    }
    const avt_sync_camera_summary *s = m ? m->sync : NULL;
    if (!s) {
        avt_sbuf_printf(b, "No sync summary was provided. Pairing seen in the written frames:\n\n");
        for (size_t i = 0; i < w->n_cams; i++) {
            const avt_export_cam *c = &w->cams[i];
            avt_sbuf_printf(b, "- %s: %llu paired, %llu unpaired frames", c->name,
                      (unsigned long long)c->paired,
                      (unsigned long long)(w->n_frames - c->paired));
            if (c->paired)
                avt_sbuf_printf(b, "; sync delta %lld .. %lld ns", (long long)c->delta_min_ns,
                          (long long)c->delta_max_ns);
            avt_sbuf_printf(b, "\n");
        }
        avt_sbuf_printf(b, "\n");
        return;
    }
    avt_sbuf_printf(b, "| camera | policy | tolerance (ns) | clock offset (ns) | drift (ppm) | paired | "
                 "unpaired frames | unpaired images | duplicates | dropped | delta min / median / "
                 "p95 / max (ns) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < w->n_cams; i++)
        avt_sbuf_printf(b, "| %s | %s | %lld | %lld | %.3f | %llu | %llu | %llu | %llu | %llu | "
                     "%lld / %lld / %lld / %lld |\n",
                  w->cams[i].name, s[i].policy ? s[i].policy : "", (long long)s[i].tolerance_ns,
                  (long long)s[i].clock_offset_ns, s[i].clock_drift_ppm,
                  (unsigned long long)s[i].paired, (unsigned long long)s[i].unpaired_frames,
                  (unsigned long long)s[i].unpaired_images, (unsigned long long)s[i].duplicates,
                  (unsigned long long)s[i].dropped, (long long)s[i].delta_min_ns,
                  (long long)s[i].delta_median_ns, (long long)s[i].delta_p95_ns,
                  (long long)s[i].delta_max_ns);
    avt_sbuf_printf(b, "\n");
}

static void card_findings(avt_sbuf *b, const avt_export_meta *m)
{
    avt_sbuf_printf(b, "## Validation findings\n\n%s\n",
              m && m->findings && m->findings[0] ? m->findings : "- None reported by the reader.\n");
}

static void card_limits(avt_sbuf *b, const struct avt_export_writer *w)
{
    int any = 0;
    avt_sbuf_printf(b, "## Known limitations\n\n");
    if (w->n_frames && w->all_poses_identity) {
        avt_sbuf_printf(b, "- No ego poses: /frames/ego_pose is the identity in every frame.\n");
        any = 1;
    }
    if (w->frames_with_loss) {
        avt_sbuf_printf(b, "- %llu of %llu frames lost LiDAR packets (%llu packets in total).\n",
                  (unsigned long long)w->frames_with_loss, (unsigned long long)w->n_frames,
                  (unsigned long long)w->packets_lost);
        any = 1;
    }
    if (w->frames_without_points) {
        avt_sbuf_printf(b, "- %llu frames have no LiDAR points.\n",
                  (unsigned long long)w->frames_without_points);
        any = 1;
    }
    if (w->n_points && w->unlabeled_points) {
        avt_sbuf_printf(b, "- %.1f%% of points are in no box (label 0).\n",
                  pct(w->unlabeled_points, w->n_points));
        any = 1;
    }
    if (w->boxes_without_points) {
        avt_sbuf_printf(b, "- %llu 3D boxes contain no LiDAR point.\n",
                  (unsigned long long)w->boxes_without_points);
        any = 1;
    }
    for (size_t i = 0; i < w->n_cams; i++)
        if (w->cams[i].paired < w->n_frames) {
            avt_sbuf_printf(b, "- Camera %s has no paired image in %llu frames (timestamp_ns = "
                         "INT64_MIN there).\n",
                      w->cams[i].name, (unsigned long long)(w->n_frames - w->cams[i].paired));
            any = 1;
        }
    if (!w->n_inputs) {
        avt_sbuf_printf(b, "- No input files were recorded in /provenance/inputs.\n");
        any = 1;
    }
    if (!any) avt_sbuf_printf(b, "- None detected by the exporter.\n");
}

char *avt_export_card_make(const struct avt_export_writer *w, const avt_export_meta *m)
{
    avt_sbuf b = {0};
    avt_sbuf_printf(&b, "# Dataset card: %s\n\n", w->log_id);
    avt_sbuf_printf(&b, "Ground truth in avtruth-gt format %s, written by avtruth %s (git %s).\n\n",
              AVT_FORMAT_VERSION, (m && m->tool_version) ? m->tool_version : AVT_VERSION,
              (m && m->git_sha && m->git_sha[0]) ? m->git_sha : "unknown");
    avt_sbuf_printf(&b, "Licence: %s\n\n", (m && m->licence && m->licence[0]) ? m->licence : "not stated (set it in log.yaml)");
    card_sensors(&b, w, m);
    card_counts(&b, w);
    card_sync(&b, w, m);
    card_findings(&b, m);
    card_limits(&b, w);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
