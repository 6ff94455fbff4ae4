/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny vector canvas with two back-ends, so that a picture is laid out
 * once and drawn the same way as SVG text and as a PNG raster: filled
 * rectangles, outlines, hatched rectangles, a horizontal colour ramp and
 * one-line text, all in integer units with y growing downwards.
 *
 * The SVG back-end streams elements to the file through the atomic
 * writer; the raster back-end paints an RGB image of @p scale pixels per
 * unit (text with the bitmap font of font.h, one font pixel per unit at
 * the normal size) and writes it as PNG. Text metrics are the font's in
 * both: the SVG asks for a monospace font whose advance (0.6 em) matches.
 *
 * Drawing calls never fail: the first error (a failed write, no memory)
 * sticks and tpa__canvas_finish() returns it. Strings must be valid UTF-8
 * without control characters (the caller cleans what it did not make);
 * the SVG back-end escapes them, the raster draws '?' for non-ASCII. */
#ifndef TPA_IO_CANVAS_H
#define TPA_IO_CANVAS_H

#include <stdbool.h>
#include <stdint.h>

#include "tpa/common.h"

typedef struct tpa__canvas tpa__canvas;

typedef enum tpa__align {
  TPA__ALIGN_LEFT = 0, /* x is where the text starts */
  TPA__ALIGN_CENTER,   /* x is its middle */
  TPA__ALIGN_RIGHT,    /* x is where it ends */
} tpa__align;

/* Colours are 0xRRGGBB. */

/* A canvas of @p width x @p height units written to @p path as SVG by
 * tpa__canvas_finish(), shown at @p scale pixels per unit by default;
 * @p title (may be NULL) becomes its <title>. */
tpa_status tpa__canvas_svg(tpa__canvas **out, const char *path, int32_t width, int32_t height,
                           int32_t scale, const char *title);

/* A canvas of @p width x @p height units painted at @p scale (1..4) pixels
 * per unit, white, and written to @p path as PNG by tpa__canvas_finish(). */
tpa_status tpa__canvas_png(tpa__canvas **out, const char *path, int32_t width, int32_t height,
                           int32_t scale);

/* @p attrs, in every drawing call, is NULL or extra SVG attributes for the
 * element, already escaped (class="cell" data-layer="3"); the raster
 * ignores them. */

void tpa__canvas_rect(tpa__canvas *cv, const char *attrs, int32_t x, int32_t y, int32_t w,
                      int32_t h, uint32_t rgb);

/* An outline @p thick units wide drawn inside the box. */
void tpa__canvas_frame(tpa__canvas *cv, const char *attrs, int32_t x, int32_t y, int32_t w,
                       int32_t h, int32_t thick, uint32_t rgb);

/* The box filled with @p bg, crossed by 45-degree lines of @p line. */
void tpa__canvas_hatch(tpa__canvas *cv, const char *attrs, int32_t x, int32_t y, int32_t w,
                       int32_t h, uint32_t bg, uint32_t line);

/* The box filled left to right with tpa__rgb_ramp() of @p n stops. */
void tpa__canvas_ramp(tpa__canvas *cv, const char *attrs, int32_t x, int32_t y, int32_t w,
                      int32_t h, const uint32_t *stops, int n);

/* One line of text standing on @p baseline; @p large draws it 1.5 times
 * the normal size (glyphs of 7.5 x 10.5 units instead of 5 x 7). */
void tpa__canvas_text(tpa__canvas *cv, const char *attrs, int32_t x, int32_t baseline,
                      const char *utf8, tpa__align align, bool large, uint32_t rgb);

/* The width of tpa__canvas_text(@p utf8, @p large) in units: 6 per code
 * point less the last one's spacing (9 and 1.5 when large, rounded up). */
int32_t tpa__canvas_text_width(const char *utf8, bool large);

/* Write the file (atomically) and free the canvas; the first error of
 * any drawing call, if there was one, instead. */
tpa_status tpa__canvas_finish(tpa__canvas *cv);

/* Free the canvas without writing anything; NULL is allowed. */
void tpa__canvas_free(tpa__canvas *cv);

/* The colour at @p t in [0, 1] (clamped; NaN is 0) of a ramp linear
 * between @p n >= 2 evenly spaced stops. */
uint32_t tpa__rgb_ramp(const uint32_t *stops, int n, double t);

#endif
