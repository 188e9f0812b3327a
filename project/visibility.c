/* avtruth project: which boxes a camera sees. The box-inclusion policies of
 * avt_build_options.box_visibility (like nuScenes' BoxVisibility) and the coarse depth buffer
 * that decides whether a box's LiDAR points are hidden by nearer points. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/project.h"

static const char *const BOX_VISIBILITY_NAMES[] = {"any", "all", "none"};

int avt_box_visibility_parse(const char *name, enum avt_box_visibility *out)
{
    int i = avt_name_lookup(BOX_VISIBILITY_NAMES, 3, name);
    if (i < 0) return AVT_INVAL;
    *out = (enum avt_box_visibility)i;
    return AVT_OK;
}

const char *avt_box_visibility_name(enum avt_box_visibility v)
{
    return (unsigned)v < 3 ? BOX_VISIBILITY_NAMES[v] : "?";
}

avt_obox avt_obox_from_tf(const avt_tf *src_T_box, const double size[3])
{
    avt_obox b;
    for (int i = 0; i < 3; i++) {
        b.center[i] = src_T_box->m[4 * i + 3];
        b.size[i] = size[i];
        for (int j = 0; j < 3; j++) b.R[3 * i + j] = src_T_box->m[4 * i + j];
    }
    return b;
}

int avt_box_include(const avt_cam_model *m, const avt_tf *cam_T_src, const avt_obox *box,
                    enum avt_box_visibility policy, avt_box_projection *bp)
{
    int visible = avt_box_project(m, cam_T_src, box, bp);
    if (policy == AVT_BOXVIS_ALL) {
        if (!visible) return 0;
        for (int q = 0; q < 8; q++) {
            const double *c = bp->corners[q];
            if (!(c[0] >= 0 && c[1] >= 0 && c[0] <= m->width - 1 && c[1] <= m->height - 1)) return 0;
        }
        return 1;
    }
    if (policy == AVT_BOXVIS_NONE && !visible) {
        int front = 0;
        for (int q = 0; q < 8; q++) front |= !isnan(bp->corners[q][0]);
        for (int k = 0; k < 4; k++) bp->xyxy[k] = NAN;
        bp->truncation = 1;
        return front;
    }
    return visible;
}

int avt_depth_grid_init(avt_depth_grid *g, unsigned width, unsigned height)
{
    g->gw = (width + AVT_DEPTH_CELL - 1) / AVT_DEPTH_CELL;
    g->gh = (height + AVT_DEPTH_CELL - 1) / AVT_DEPTH_CELL;
    size_t cells = (size_t)g->gw * g->gh;
    g->cell_min = malloc((cells ? cells : 1) * sizeof *g->cell_min);
    return g->cell_min ? AVT_OK : AVT_NOMEM;
}

void avt_depth_grid_clear(avt_depth_grid *g)
{
    for (size_t k = 0; k < (size_t)g->gw * g->gh; k++) g->cell_min[k] = INFINITY;
}

void avt_depth_grid_free(avt_depth_grid *g)
{
    free(g->cell_min);
    g->cell_min = NULL;
}
