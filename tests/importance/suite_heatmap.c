/* SPDX-License-Identifier: Apache-2.0 */
/* The heatmap PNG, decoded here by hand from the PNG specification with
 * zlib (chunk layout, CRC-32 of every chunk, IHDR, inflated rows) and
 * checked pixel by pixel where the picture's meaning fixes the colour:
 * the grid, the hatched grey of pruned heads, the darkest blue for the
 * most important head, and darker cells for higher scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util.h"

typedef struct image {
  uint32_t width, height;
  unsigned char *rgb; /* unfiltered, 3 bytes per pixel */
} image;

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static image decode(const char *path) {
  size_t len;
  unsigned char *png = (unsigned char *)read_all(path, &len);
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  ck_assert_uint_ge(len, 8);
  ck_assert_mem_eq(png, sig, 8);
  image im = {0};
  unsigned char *idat = NULL;
  size_t idat_len = 0, pos = 8;
  int chunks = 0;
  bool end = false;
  while (!end) {
    ck_assert_uint_ge(len - pos, 12);
    const uint32_t n = be32(png + pos);
    ck_assert_uint_ge(len - pos - 12, n);
    const unsigned char *type = png + pos + 4, *data = png + pos + 8;
    uLong crc = crc32(crc32(0L, Z_NULL, 0), type, 4 + n);
    ck_assert_uint_eq(crc, be32(data + n));
    if (chunks == 0) {
      ck_assert_mem_eq(type, "IHDR", 4);
      ck_assert_uint_eq(n, 13);
      im.width = be32(data);
      im.height = be32(data + 4);
      ck_assert_uint_eq(data[8], 8);  /* bit depth */
      ck_assert_uint_eq(data[9], 2);  /* RGB */
      ck_assert_uint_eq(data[10], 0); /* deflate */
      ck_assert_uint_eq(data[11], 0);
      ck_assert_uint_eq(data[12], 0); /* not interlaced */
    } else if (memcmp(type, "IDAT", 4) == 0) {
      idat = realloc(idat, idat_len + n + 1);
      ck_assert_ptr_nonnull(idat);
      memcpy(idat + idat_len, data, n);
      idat_len += n;
    } else {
      ck_assert_mem_eq(type, "IEND", 4);
      ck_assert_uint_eq(n, 0);
      end = true;
    }
    pos += 12 + n;
    chunks++;
  }
  ck_assert_uint_eq(pos, len); /* nothing after IEND */
  const size_t row = (size_t)im.width * 3 + 1;
  uLongf raw_len = (uLongf)(row * im.height);
  unsigned char *raw = malloc(raw_len + 1);
  ck_assert_ptr_nonnull(raw);
  uLongf got = raw_len + 1;
  ck_assert_int_eq(uncompress(raw, &got, idat, (uLong)idat_len), Z_OK);
  ck_assert_uint_eq(got, raw_len);
  im.rgb = malloc(raw_len);
  ck_assert_ptr_nonnull(im.rgb);
  for (uint32_t y = 0; y < im.height; y++) {
    ck_assert_uint_eq(raw[y * row], 0); /* filter None */
    memcpy(im.rgb + (size_t)y * im.width * 3, raw + y * row + 1, row - 1);
  }
  free(raw);
  free(idat);
  free(png);
  return im;
}

static const unsigned char *px(const image *im, uint32_t x, uint32_t y) {
  return im->rgb + ((size_t)y * im->width + x) * 3;
}

static void expect_rgb(const image *im, uint32_t x, uint32_t y, uint32_t rgb) {
  const unsigned char *p = px(im, x, y);
  const uint32_t got = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
  ck_assert_msg(got == rgb, "pixel (%u, %u) is #%06x, want #%06x", x, y, got, rgb);
}

START_TEST(pruned_model_heatmap) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_dataset *ds = load_data(TPA_TASK_RTE, "glue/RTE/dev.tsv", 8);
  tpa_importance *imp = NULL;
  ck_assert_msg(tpa_importance_compute(&imp, m, ds, NULL) == TPA_OK, "%s", tpa_last_error());
  char *path = temp_path("heatmap.png");
  ck_assert_msg(tpa_importance_write_heatmap(imp, path) == TPA_OK, "%s", tpa_last_error());
  image im = decode(path);
  /* 24 px cells and a 1 px grid: 6 heads across, 3 layers down. */
  ck_assert_uint_eq(im.width, 6 * 25 + 1);
  ck_assert_uint_eq(im.height, 3 * 25 + 1);
  expect_rgb(&im, 0, 0, 0x525252);
  expect_rgb(&im, 25, 40, 0x525252);
  expect_rgb(&im, im.width - 1, im.height - 1, 0x525252);
  /* Layer 0 head 1 is pruned: grey with a hatch line through its corner. */
  expect_rgb(&im, 26, 1, 0x808080);
  expect_rgb(&im, 27, 1, 0xd0d0d0);
  /* The most important head is the darkest blue; every scored cell is
   * blue-ish, and a higher normalised score never gives a lighter cell. */
  double top = -1;
  int32_t tl = 0, th = 0;
  for (int32_t l = 0; l < 3; l++)
    for (int32_t h = 0; h < 6; h++)
      if (tpa_importance_has_head(imp, l, h) && tpa_importance_normalized(imp, l, h) > top) {
        top = tpa_importance_normalized(imp, l, h);
        tl = l;
        th = h;
      }
  expect_rgb(&im, 1 + (uint32_t)th * 25 + 12, 1 + (uint32_t)tl * 25 + 12, 0x08306b);
  for (int32_t a = 0; a < 18; a++)
    for (int32_t b = 0; b < 18; b++) {
      const int32_t la = a / 6, ha = a % 6, lb = b / 6, hb = b % 6;
      if (!tpa_importance_has_head(imp, la, ha) || !tpa_importance_has_head(imp, lb, hb))
        continue;
      const unsigned char *pa = px(&im, 1 + (uint32_t)ha * 25 + 5, 1 + (uint32_t)la * 25 + 5);
      const unsigned char *pb = px(&im, 1 + (uint32_t)hb * 25 + 5, 1 + (uint32_t)lb * 25 + 5);
      ck_assert(pa[2] >= pa[0] && pa[2] >= pa[1]);
      if (tpa_importance_normalized(imp, la, ha) > tpa_importance_normalized(imp, lb, hb))
        ck_assert_msg(pa[0] + pa[1] + pa[2] <= pb[0] + pb[1] + pb[2], "%d.%d vs %d.%d", la, ha, lb,
                      hb);
    }
  /* A cell is uniform (no stray pixels). */
  for (uint32_t y = 0; y < 24; y++)
    for (uint32_t x = 0; x < 24; x++)
      ck_assert_mem_eq(px(&im, 1 + x, 1 + y), px(&im, 1, 1), 3);
  free(im.rgb);
  remove_temp(path);
  tpa_importance_free(imp);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

START_TEST(heatmap_errors) {
  tpa_importance *imp = NULL;
  char *path = fixture("importance/tiny_rte40.json");
  ck_assert_int_eq(tpa_importance_load(&imp, path), TPA_OK);
  free(path);
  ck_assert_int_eq(tpa_importance_write_heatmap(NULL, "/tmp/x.png"), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_write_heatmap(imp, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_write_heatmap(imp, "/dev/null/h.png"), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "/dev/null"));
  tpa_importance_free(imp);
}
END_TEST

Suite *heatmap_suite(void) {
  Suite *s = suite_create("importance-heatmap");
  TCase *tc = tcase_create("PNG of a pruned model's table");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, pruned_model_heatmap);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_test(tc, heatmap_errors);
  suite_add_tcase(s, tc);
  return s;
}
