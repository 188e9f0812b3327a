/* avtruth pipeline (private): preview images with projected boxes and points drawn on them. */
#ifndef AVT_PIPELINE_PREVIEW_H
#define AVT_PIPELINE_PREVIEW_H

#include <stddef.h>

#include "avtruth/common.h"
#include "avtruth/export.h"

/* Reads image_path (any PNG libpng reads, converted to 8-bit RGB), draws the depth points
 * coloured by depth and the 2D boxes, writes out_path. */
int avt_preview_draw(const char *image_path, const avt_camera_frame *cf, const char *out_path, avt_error *err);

/* Reads a PNG (any kind libpng reads) as 8-bit RGB (grey = 0: 3 w h bytes) or 8-bit grey
 * (grey = 1: w h bytes) into *px (malloc'ed, caller frees). */
int avt_png_load(const char *path, int grey, unsigned *w, unsigned *h, unsigned char **px, avt_error *err);

#endif
