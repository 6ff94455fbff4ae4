/* SPDX-License-Identifier: Apache-2.0 */
/* The importance heatmap (the paper's Figure 1): one square cell per head,
 * layer 0 at the top and ORIGINAL head 0 on the left, separated by a 1 px
 * grid. A cell's colour follows ColorBrewer's sequential "Blues" ramp (a
 * perceptually ordered white to dark blue) of the head's normalised score
 * divided by the table's largest normalised score, so the most important
 * head is the darkest and an unimportant one is near white. Heads without
 * a score (pruned) are grey with darker diagonal hatching. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file.h"
#include "io/png.h"
#include "stages/importance.h"

/* Cell side in pixels for small tables; larger tables get smaller cells so
 * the picture stays under about 4096 px a side. */
#define CELL_PX 24
#define MAX_SIDE 4096

static const uint8_t grid_rgb[3] = {0x52, 0x52, 0x52};
static const uint8_t pruned_rgb[3] = {0xd0, 0xd0, 0xd0};
static const uint8_t hatch_rgb[3] = {0x80, 0x80, 0x80};

/* ColorBrewer Blues, 9 classes, from lightest to darkest. */
static const uint8_t blues[9][3] = {
    {0xf7, 0xfb, 0xff}, {0xde, 0xeb, 0xf7}, {0xc6, 0xdb, 0xef},
    {0x9e, 0xca, 0xe1}, {0x6b, 0xae, 0xd6}, {0x42, 0x92, 0xc6},
    {0x21, 0x71, 0xb5}, {0x08, 0x51, 0x9c}, {0x08, 0x30, 0x6b},
};

/* Colour of @p t in [0, 1], linear between the ramp's stops. */
static void ramp(double t, uint8_t out[3]) {
  if (!(t > 0))
    t = 0;
  if (t > 1)
    t = 1;
  const double x = t * 8.0;
  int i = (int)x;
  if (i >= 8)
    i = 7;
  const double f = x - i;
  for (int c = 0; c < 3; c++)
    out[c] = (uint8_t)lround(blues[i][c] + f * (blues[i + 1][c] - blues[i][c]));
}

static void put(uint8_t *img, uint32_t width, uint32_t x, uint32_t y, const uint8_t rgb[3]) {
  memcpy(img + ((size_t)y * width + x) * 3, rgb, 3);
}

tpa_status tpa_importance_write_heatmap(const tpa_importance *imp, const char *png_path) {
  tpa__error_clear();
  if (!imp || !png_path || !png_path[0])
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_importance_write_heatmap: NULL %s",
                      !imp ? "table" : "path");
  const uint32_t rows = (uint32_t)imp->layers, cols = (uint32_t)imp->heads;
  const uint32_t most = rows > cols ? rows : cols;
  uint32_t cell = CELL_PX;
  if (most * (cell + 1) + 1 > MAX_SIDE)
    cell = MAX_SIDE / most > 2 ? MAX_SIDE / most - 1 : 1;
  const uint32_t width = cols * (cell + 1) + 1, height = rows * (cell + 1) + 1;
  uint8_t *img = tpa__malloc_array((size_t)width * height, 3);
  if (!img)
    return tpa__error(TPA_ERR_NO_MEMORY, "out of memory (heatmap %ux%u for %s)", width, height,
                      png_path);
  double top = 0;
  for (size_t i = 0; i < (size_t)rows * cols; i++)
    if (!isnan(imp->norm[i]) && imp->norm[i] > top)
      top = imp->norm[i];
  for (uint32_t y = 0; y < height; y++)
    for (uint32_t x = 0; x < width; x++)
      put(img, width, x, y, grid_rgb);
  for (uint32_t l = 0; l < rows; l++)
    for (uint32_t h = 0; h < cols; h++) {
      const double v = imp->norm[(size_t)l * cols + h];
      uint8_t rgb[3];
      if (!isnan(v))
        ramp(top > 0 ? v / top : 0, rgb);
      const uint32_t x0 = 1 + h * (cell + 1), y0 = 1 + l * (cell + 1);
      for (uint32_t dy = 0; dy < cell; dy++)
        for (uint32_t dx = 0; dx < cell; dx++) {
          /* Hatching: every 6th anti-diagonal of a pruned cell. */
          const uint8_t *c = !isnan(v) ? rgb : (dx + dy) % 6 == 0 ? hatch_rgb : pruned_rgb;
          put(img, width, x0 + dx, y0 + dy, c);
        }
    }
  tpa_status s = tpa__make_parent_dirs(png_path);
  if (s == TPA_OK)
    s = tpa__png_write_rgb(png_path, width, height, img);
  free(img);
  return s;
}
