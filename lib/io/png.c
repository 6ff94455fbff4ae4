/* SPDX-License-Identifier: Apache-2.0 */
/* PNG writing (see png.h and the PNG specification, ISO/IEC 15948). */
#include "io/png.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file.h"

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* One chunk: length, type, data, CRC-32 of type and data. */
static tpa_status write_chunk(tpa__atomic_file *af, const char type[4], const uint8_t *data,
                              uint32_t len) {
  uint8_t head[8], tail[4];
  put_be32(head, len);
  memcpy(head + 4, type, 4);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, (const Bytef *)type, 4);
  if (len > 0)
    crc = crc32(crc, data, len);
  put_be32(tail, (uint32_t)crc);
  tpa_status s = tpa__atomic_write(af, head, sizeof head);
  if (s == TPA_OK && len > 0)
    s = tpa__atomic_write(af, data, len);
  if (s == TPA_OK)
    s = tpa__atomic_write(af, tail, sizeof tail);
  return s;
}

/* The image data: each row prefixed by filter type 0 (None), deflated. */
static tpa_status deflate_rows(const char *path, uint32_t width, uint32_t height,
                               const uint8_t *rgb, uint8_t **out, uLongf *out_len) {
  const size_t stride = (size_t)width * 3, row = stride + 1;
  const size_t raw_len = row * (size_t)height; /* dims bounded: no overflow */
  uint8_t *raw = malloc(raw_len);
  if (!raw)
    return tpa__error(TPA_ERR_NO_MEMORY, "out of memory (PNG rows of %s)", path);
  for (size_t y = 0; y < height; y++) {
    raw[y * row] = 0;
    memcpy(raw + y * row + 1, rgb + y * stride, stride);
  }
  uLongf cap = compressBound((uLong)raw_len);
  uint8_t *z = malloc(cap);
  int zs = z ? compress2(z, &cap, raw, (uLong)raw_len, Z_BEST_COMPRESSION) : Z_MEM_ERROR;
  free(raw);
  if (zs != Z_OK || cap > UINT32_MAX) {
    free(z);
    return zs == Z_MEM_ERROR
               ? tpa__error(TPA_ERR_NO_MEMORY, "out of memory (PNG data of %s)", path)
               : tpa__error(TPA_ERR_INTERNAL, "file %s: zlib compress2 failed (%d)", path, zs);
  }
  *out = z;
  *out_len = cap;
  return TPA_OK;
}

tpa_status tpa__png_write_rgb(const char *path, uint32_t width, uint32_t height,
                              const uint8_t *rgb) {
  if (!path || !rgb)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "PNG writer: NULL %s", !path ? "path" : "pixels");
  if (width == 0 || height == 0 || width > TPA__PNG_MAX_DIM || height > TPA__PNG_MAX_DIM)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "file %s: PNG size %ux%u outside 1..%u", path,
                      width, height, TPA__PNG_MAX_DIM);
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  uint8_t ihdr[13];
  put_be32(ihdr, width);
  put_be32(ihdr + 4, height);
  ihdr[8] = 8;  /* bit depth */
  ihdr[9] = 2;  /* colour type: truecolour (RGB) */
  ihdr[10] = 0; /* compression: deflate */
  ihdr[11] = 0; /* filter method 0 */
  ihdr[12] = 0; /* no interlace */
  uint8_t *z = NULL;
  uLongf zlen = 0;
  tpa_status s = deflate_rows(path, width, height, rgb, &z, &zlen);
  if (s != TPA_OK)
    return s;
  tpa__atomic_file af;
  s = tpa__atomic_open(&af, path);
  if (s == TPA_OK)
    s = tpa__atomic_write(&af, signature, sizeof signature);
  if (s == TPA_OK)
    s = write_chunk(&af, "IHDR", ihdr, sizeof ihdr);
  if (s == TPA_OK)
    s = write_chunk(&af, "IDAT", z, (uint32_t)zlen);
  if (s == TPA_OK)
    s = write_chunk(&af, "IEND", NULL, 0);
  if (s == TPA_OK)
    s = tpa__atomic_commit(&af);
  tpa__atomic_abort(&af);
  free(z);
  return s;
}
