/* SPDX-License-Identifier: Apache-2.0 */
/* A small bitmap font for pictures drawn without a font library (the
 * importance heatmap's PNG): printable ASCII in 5 x 8 cells, seven rows
 * standing on the baseline and one for descenders, drawn by hand for this
 * library. One column of space between glyphs: a string of n glyphs is
 * 6n - 1 font pixels wide. */
#ifndef TPA_IO_FONT_H
#define TPA_IO_FONT_H

#include <stdint.h>

#define TPA__FONT_WIDTH 5   /* glyph columns */
#define TPA__FONT_HEIGHT 8  /* glyph rows, descender row included */
#define TPA__FONT_ASCENT 7  /* rows above the baseline (the cap height) */
#define TPA__FONT_ADVANCE 6 /* glyph plus spacing */

/* The rows of @p c's glyph, top first; bit 4 of a row is its leftmost
 * column. A byte outside printable ASCII gets the glyph of '?'. */
const uint8_t *tpa__font_glyph(unsigned char c);

#endif
