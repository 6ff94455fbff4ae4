/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal PNG writer (8-bit truecolour, no interlace) over zlib: the
 * signature, IHDR, one IDAT holding the zlib stream of the filtered rows,
 * and IEND, each chunk with zlib's CRC-32. Enough for the importance
 * heatmap; written through the atomic writer. */
#ifndef TPA_IO_PNG_H
#define TPA_IO_PNG_H

#include <stdint.h>

#include "tpa/common.h"

/* Largest width or height accepted (PNG allows 2^31 - 1; this keeps the
 * in-memory image bounded). */
#define TPA__PNG_MAX_DIM 16384u

/* Write @p rgb (@p height rows of @p width pixels, 3 bytes each, top row
 * first) as the PNG file @p path, atomically. */
tpa_status tpa__png_write_rgb(const char *path, uint32_t width, uint32_t height,
                              const uint8_t *rgb);

#endif
