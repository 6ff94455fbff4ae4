/* SPDX-License-Identifier: Apache-2.0 */
/* The importance picture: the SVG read element by element (one per line,
 * as the library writes them) and checked against the table it draws
 * (every cell, every printed score as "%.2f" of the normalised score, the
 * marks of unscored heads and of the plan's heads, block values, legend,
 * title); the PNG decoded here by hand from the PNG specification with
 * zlib (chunk layout, CRC-32 of every chunk, IHDR, inflated rows) and
 * checked where the picture's meaning fixes a pixel: the ramp's ends for
 * the most and least important heads, the hatching of unscored heads, the
 * red outline of removed ones, and glyph pixels where text belongs. The
 * PNG's cells are found at twice the SVG's coordinates, so the two files
 * are checked to show the same layout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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

static uint32_t pixel(const image *im, uint32_t x, uint32_t y) {
  ck_assert_uint_lt(x, im->width);
  ck_assert_uint_lt(y, im->height);
  const unsigned char *p = im->rgb + ((size_t)y * im->width + x) * 3;
  return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Pixels of colour @p rgb in [x0, x1) x [y0, y1). */
static int count_rgb(const image *im, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1,
                     uint32_t rgb) {
  int n = 0;
  for (uint32_t y = y0; y < y1; y++)
    for (uint32_t x = x0; x < x1; x++)
      n += pixel(im, x, y) == rgb;
  return n;
}

/* ------------------------------------------------------------ the SVG */

/* The element of @p line's attribute @p name as a number (NAN if absent). */
static double attr_num(const char *line, const char *name) {
  char key[64];
  snprintf(key, sizeof key, " %s=\"", name);
  const char *p = strstr(line, key);
  return p ? strtod(p + strlen(key), NULL) : NAN;
}

static bool has_class(const char *line, const char *cls) {
  char key[64];
  snprintf(key, sizeof key, "class=\"%s", cls);
  return strstr(line, key) != NULL;
}

/* The text content of a <text> line. */
static void text_of(const char *line, char *out, size_t cap) {
  const char *a = strchr(line, '>'), *b = strstr(line, "</text>");
  ck_assert_msg(a && b && b > a, "not a text element: %s", line);
  snprintf(out, cap, "%.*s", (int)(b - a - 1), a + 1);
}

typedef struct cell_box {
  int x, y, w, h;
} cell_box;

/* The SVG's lines, NUL-terminated in place; returns the count. */
static size_t split_lines(char *text, char ***lines) {
  size_t n = 0, cap = 0;
  *lines = NULL;
  for (char *p = text; *p;) {
    char *nl = strchr(p, '\n');
    if (n == cap) {
      cap = cap ? 2 * cap : 256;
      *lines = realloc(*lines, cap * sizeof **lines);
      ck_assert_ptr_nonnull(*lines);
    }
    (*lines)[n++] = p;
    if (!nl)
      break;
    *nl = '\0';
    p = nl + 1;
  }
  return n;
}

/* Check the SVG of @p imp drawn with @p plan and @p title_text against the
 * table; fill @p boxes (layers * heads) with each cell's rectangle. */
static void check_svg(const char *path, const tpa_importance *imp, const tpa_prune_plan *plan,
                      const char *title, cell_box *boxes) {
  const int32_t L = tpa_importance_num_layers(imp), A = tpa_importance_num_heads(imp);
  size_t len;
  char *text = read_all(path, &len);
  ck_assert_uint_eq(strlen(text), len);
  ck_assert_int_eq(text[len - 1], '\n');
  char **lines;
  const size_t n = split_lines(text, &lines);
  ck_assert_str_eq(lines[0], "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
  ck_assert_ptr_nonnull(strstr(lines[1], "<svg xmlns=\"http://www.w3.org/2000/svg\""));
  ck_assert_str_eq(lines[n - 1], "</svg>");
  int cells = 0, scores = 0, marks = 0, blocks = 0, legend = 0, ticks = 0;
  bool titled = false, ramp = false;
  int *seen = calloc((size_t)(L * A), sizeof *seen);
  ck_assert_ptr_nonnull(seen);
  double top = 0;
  for (int32_t l = 0; l < L; l++)
    for (int32_t h = 0; h < A; h++)
      if (tpa_importance_has_head(imp, l, h))
        top = fmax(top, tpa_importance_normalized(imp, l, h));
  char want[128], got[256];
  for (size_t i = 2; i + 1 < n; i++) {
    const char *s = lines[i];
    const double dl = attr_num(s, "data-layer"), dh = attr_num(s, "data-head");
    const int l = isnan(dl) ? -1 : (int)dl, h = isnan(dh) ? -1 : (int)dh;
    if (strncmp(s, "<title>", 7) == 0) {
      snprintf(want, sizeof want, "<title>%s</title>", title);
      ck_assert_str_eq(s, want);
      titled = true;
    } else if (strncmp(s, "<rect", 5) == 0 && has_class(s, "cell")) {
      ck_assert(l >= 0 && l < L && h >= 0 && h < A);
      ck_assert_int_eq(seen[l * A + h]++, 0);
      cells++;
      ck_assert_int_eq(strstr(s, " absent") != NULL, !tpa_importance_has_head(imp, l, h));
      ck_assert_int_eq(strstr(s, " removed") != NULL, tpa_prune_plan_removes(plan, l, h));
      boxes[l * A + h] = (cell_box){(int)attr_num(s, "x"), (int)attr_num(s, "y"),
                                    (int)attr_num(s, "width"), (int)attr_num(s, "height")};
    } else if (strncmp(s, "<text", 5) == 0 && has_class(s, "score\"")) {
      ck_assert(tpa_importance_has_head(imp, l, h));
      text_of(s, got, sizeof got);
      snprintf(want, sizeof want, "%.2f", tpa_importance_normalized(imp, l, h));
      ck_assert_str_eq(got, want);
      scores++;
    } else if (strncmp(s, "<rect", 5) == 0 && has_class(s, "mark\"")) {
      ck_assert(tpa_prune_plan_removes(plan, l, h));
      ck_assert_ptr_nonnull(strstr(s, "stroke=\"#d62728\""));
      marks++;
    } else if (strncmp(s, "<text", 5) == 0 && has_class(s, "block\"")) {
      text_of(s, got, sizeof got);
      snprintf(want, sizeof want, "%.3g", tpa_importance_block(imp, l));
      ck_assert_str_eq(got, want);
      blocks++;
    } else if (strstr(s, "<linearGradient")) {
      ramp = strstr(s, "stop-color=\"#f7fbff\"") && strstr(s, "stop-color=\"#08306b\"");
    } else if (has_class(s, "legend\"")) {
      legend++;
    } else if (strncmp(s, "<text", 5) == 0 && has_class(s, "tick\"")) {
      text_of(s, got, sizeof got);
      snprintf(want, sizeof want, "%.2f", top * ticks / 2);
      ck_assert_str_eq(got, want); /* 0, half the largest score, the largest */
      ticks++;
    }
  }
  int scored = 0;
  for (int32_t l = 0; l < L; l++)
    for (int32_t h = 0; h < A; h++)
      scored += tpa_importance_has_head(imp, l, h);
  ck_assert_int_eq(cells, L * A);
  ck_assert_int_eq(scores, scored);
  ck_assert_int_eq(marks, tpa_prune_plan_num_pruned(plan));
  ck_assert_int_eq(blocks, L);
  ck_assert(titled);
  ck_assert_msg(ramp, "no colour ramp from #f7fbff to #08306b in the legend");
  ck_assert_int_eq(ticks, 3);
  /* The ramp, the hatched swatch if any head is unscored, the red one with a plan. */
  ck_assert_int_eq(legend, 1 + (scored < L * A) + (plan != NULL));
  /* The visible title line names the task and the sample size too. */
  snprintf(want, sizeof want, ">%s</text>", title);
  bool visible = false;
  for (size_t i = 0; i < n; i++)
    visible = visible || (has_class(lines[i], "title\"") && strstr(lines[i], want));
  ck_assert(visible);
  free(seen);
  free(lines);
  free(text);
}

START_TEST(svg_of_a_pruned_model) {
  /* PyTorch's table of the pruned tiny model (tests/fixtures/importance):
   * 3 layers of 6 heads, 7 of them already pruned. */
  char *src = fixture("importance/pruned_rte40.json");
  tpa_importance *imp = NULL;
  ck_assert_int_eq(tpa_importance_load(&imp, src), TPA_OK);
  free(src);
  tpa_prune_params pp;
  tpa_prune_params_init(&pp, sizeof pp);
  pp.num_heads = 3;
  tpa_prune_plan *plan = NULL;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &pp), TPA_OK);
  tpa_heatmap_params hp;
  tpa_heatmap_params_init(&hp, sizeof hp);
  hp.task = "rte & <dev>";
  hp.plan = plan;
  char *path = temp_path("a/b/imp.svg"); /* missing parents are created */
  ck_assert_msg(tpa_importance_write_svg(imp, path, &hp) == TPA_OK, "%s", tpa_last_error());
  cell_box boxes[18];
  check_svg(path, imp, plan, "Head importance: rte &amp; &lt;dev&gt;, 40 examples", boxes);
  /* Cells are laid out by layer down and head across, apart. */
  ck_assert_int_lt(boxes[0].x + boxes[0].w, boxes[1].x);
  ck_assert_int_lt(boxes[0].y + boxes[0].h, boxes[6].y);
  ck_assert_int_eq(boxes[7].x, boxes[1].x);
  /* Without a plan and a task: no marks, a title without a name. */
  ck_assert_int_eq(tpa_importance_write_svg(imp, path, NULL), TPA_OK);
  check_svg(path, imp, NULL, "Head importance, 40 examples", boxes);
  /* A name that is not UTF-8, with a control character, too long: '?'
   * for the bad bytes, "..." and the last 45 characters. */
  char name[80], want[160];
  snprintf(name, sizeof name, "\xff\t%s", "0123456789012345678901234567890123456789012345678x");
  hp.task = name;
  hp.plan = NULL;
  ck_assert_int_eq(tpa_importance_write_svg(imp, path, &hp), TPA_OK);
  snprintf(want, sizeof want, "Head importance: ...%s, 40 examples", name + strlen(name) - 45);
  check_svg(path, imp, NULL, want, boxes);
  snprintf(name, sizeof name, "\xff\tb\xc3\xbc"); /* short: every character kept */
  ck_assert_int_eq(tpa_importance_write_svg(imp, path, &hp), TPA_OK);
  check_svg(path, imp, NULL, "Head importance: ??b\xc3\xbc, 40 examples", boxes);
  ck_assert_int_eq(unlink(path), 0);
  for (int up = 0; up < 3; up++) { /* b, a, the temporary directory */
    *strrchr(path, '/') = '\0';
    ck_assert_int_eq(rmdir(path), 0);
  }
  free(path);
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
}
END_TEST

/* A BERT-base-shaped table: 12 x 12 heads with scattered scores, head
 * (5, 7) scored 0, written as importance.json and loaded. */
static tpa_importance *bert_base_table(const char *path) {
  enum { L = 12, A = 12 };
  double raw[L][A];
  char *json = malloc(1 << 16);
  ck_assert_ptr_nonnull(json);
  size_t n = 0;
  for (int l = 0; l < L; l++)
    for (int h = 0; h < A; h++)
      raw[l][h] = (l == 5 && h == 7) ? 0 : ((l * A + h) * 37 % 101 + 1) / 1000.0;
  n += (size_t)snprintf(json + n, (1 << 16) - n,
                        "{\"layers\":12,\"heads\":12,\"examples\":2000,\"tokens\":51234");
  const char *keys[2] = {"raw", "normalized"};
  for (int k = 0; k < 2; k++) {
    n += (size_t)snprintf(json + n, (1 << 16) - n, ",\"%s\":[", keys[k]);
    for (int l = 0; l < L; l++) {
      double norm = 0;
      for (int h = 0; h < A; h++)
        norm += raw[l][h] * raw[l][h];
      norm = sqrt(norm) + 1e-20;
      for (int h = 0; h < A; h++)
        n += (size_t)snprintf(json + n, (1 << 16) - n, "%s%.17g",
                              h   ? ","
                              : l ? "],["
                                  : "[",
                              k == 0 ? raw[l][h] : raw[l][h] / norm);
    }
    n += (size_t)snprintf(json + n, (1 << 16) - n, "]]");
  }
  n += (size_t)snprintf(json + n, (1 << 16) - n, ",\"blocks\":[");
  for (int l = 0; l < L; l++) {
    double b = 0;
    for (int h = 0; h < A; h++)
      b += raw[l][h];
    n += (size_t)snprintf(json + n, (1 << 16) - n, "%s%.17g", l ? "," : "", b);
  }
  snprintf(json + n, (1 << 16) - n, "]}\n");
  write_text(path, json);
  free(json);
  tpa_importance *imp = NULL;
  ck_assert_msg(tpa_importance_load(&imp, path) == TPA_OK, "%s", tpa_last_error());
  return imp;
}

START_TEST(png_of_bert_base) {
  char *json = temp_path("imp.json");
  tpa_importance *imp = bert_base_table(json);
  tpa_prune_plan *plan = NULL;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, NULL), TPA_OK); /* the paper's 44 */
  tpa_heatmap_params hp;
  tpa_heatmap_params_init(&hp, sizeof hp);
  hp.task = "sst2";
  hp.plan = plan;
  char svg[4200], png[4200];
  snprintf(svg, sizeof svg, "%s.svg", json);
  snprintf(png, sizeof png, "%s.png", json);
  ck_assert_int_eq(tpa_importance_write_svg(imp, svg, &hp), TPA_OK);
  ck_assert_int_eq(tpa_importance_write_png(imp, png, &hp), TPA_OK);
  cell_box box[144];
  check_svg(svg, imp, plan, "Head importance: sst2, 2000 examples", box);
  image im = decode(png);
  ck_assert_uint_ge(im.width, 480);
  /* The SVG's size at two pixels a unit. */
  size_t len;
  char *text = read_all(svg, &len);
  ck_assert_uint_eq(im.width, (uint32_t)attr_num(strstr(text, "<svg"), "width"));
  ck_assert_uint_eq(im.height, (uint32_t)attr_num(strstr(text, "<svg"), "height"));
  free(text);
  /* The most important head is the ramp's darkest blue, a head scored 0
   * its lightest: read 2 px inside the cell's corner, clear of the text. */
  double top = -1;
  int tl = 0, th = 0;
  for (int l = 0; l < 12; l++)
    for (int h = 0; h < 12; h++)
      if (tpa_importance_normalized(imp, l, h) > top) {
        top = tpa_importance_normalized(imp, l, h);
        tl = l;
        th = h;
      }
  ck_assert(!tpa_prune_plan_removes(plan, tl, th));
  const cell_box *b = &box[tl * 12 + th];
  ck_assert_uint_eq(pixel(&im, 2 * b->x + 2, 2 * b->y + 2), 0x08306b);
  /* Its score is printed in white: glyph pixels in the cell's middle. */
  ck_assert_int_gt(
      count_rgb(&im, 2 * b->x, 2 * b->y, 2 * (b->x + b->w), 2 * (b->y + b->h), 0xffffff), 40);
  b = &box[5 * 12 + 7];
  ck_assert(tpa_prune_plan_removes(plan, 5, 7));               /* the lowest score goes first */
  ck_assert_uint_eq(pixel(&im, 2 * b->x, 2 * b->y), 0xd62728); /* outline */
  ck_assert_uint_eq(pixel(&im, 2 * b->x + 3, 2 * b->y + 3), 0xd62728); /* 2 units wide */
  ck_assert_uint_eq(pixel(&im, 2 * b->x + 5, 2 * b->y + 5), 0xf7fbff); /* then score 0 */
  /* Dark text where the labels are: the title above the grid, the layer
   * numbers left of it. */
  const cell_box *first = &box[0];
  ck_assert_int_gt(count_rgb(&im, 0, 0, im.width, 2 * (uint32_t)first->y - 60, 0x1a1a1a), 500);
  ck_assert_int_gt(count_rgb(&im, 0, 2 * (uint32_t)first->y, 2 * (uint32_t)first->x,
                             2 * (uint32_t)(box[11 * 12].y + box[11 * 12].h), 0x1a1a1a),
                   12 * 10);
  free(im.rgb);
  /* tpa_importance_write_heatmap draws the same picture without a task
   * or plan as tpa_importance_write_png with defaults. */
  ck_assert_int_eq(tpa_importance_write_heatmap(imp, png), TPA_OK);
  char png2[4300];
  snprintf(png2, sizeof png2, "%s.2.png", json);
  ck_assert_int_eq(tpa_importance_write_png(imp, png2, NULL), TPA_OK);
  size_t l1, l2;
  char *a = read_all(png, &l1), *c = read_all(png2, &l2);
  ck_assert(l1 == l2 && memcmp(a, c, l1) == 0);
  free(a);
  free(c);
  unlink(svg);
  unlink(png);
  unlink(png2);
  remove_temp(json);
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
}
END_TEST

START_TEST(png_of_a_pruned_model) {
  /* Computed here from the pruned tiny model: unscored heads are hatched
   * grey, in the same place as the SVG's cells. */
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_dataset *ds = load_data(TPA_TASK_RTE, "glue/RTE/dev.tsv", 8);
  tpa_importance *imp = NULL;
  ck_assert_msg(tpa_importance_compute(&imp, m, ds, NULL) == TPA_OK, "%s", tpa_last_error());
  char *path = temp_path("heatmap.png"), svg[4200];
  snprintf(svg, sizeof svg, "%s.svg", path);
  ck_assert_msg(tpa_importance_write_heatmap(imp, path) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(tpa_importance_write_svg(imp, svg, NULL), TPA_OK);
  cell_box box[18];
  check_svg(svg, imp, NULL, "Head importance, 8 examples", box);
  image im = decode(path);
  ck_assert_uint_ge(im.width, 480);
  ck_assert(!tpa_importance_has_head(imp, 0, 1));
  const cell_box *b = &box[1];
  int grey = 0, hatch = 0;
  for (uint32_t y = 2 * (uint32_t)b->y; y < 2 * (uint32_t)(b->y + b->h); y++)
    for (uint32_t x = 2 * (uint32_t)b->x; x < 2 * (uint32_t)(b->x + b->w); x++) {
      const uint32_t c = pixel(&im, x, y);
      ck_assert_msg(c == 0xd0d0d0 || c == 0x808080, "pixel (%u, %u) is #%06x", x, y, c);
      grey += c == 0xd0d0d0;
      hatch += c == 0x808080;
    }
  ck_assert_int_gt(hatch, grey / 8);
  ck_assert_int_gt(grey, hatch);
  free(im.rgb);
  unlink(svg);
  remove_temp(path);
  tpa_importance_free(imp);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

START_TEST(large_table) {
  /* 100 x 100 heads (no real model): small cells, no numbers, bounded. */
  char *path = temp_path("big.json");
  char *json = malloc(1 << 20);
  ck_assert_ptr_nonnull(json);
  size_t n = (size_t)snprintf(json, 1 << 20,
                              "{\"layers\":100,\"heads\":100,\"examples\":1,"
                              "\"tokens\":1");
  for (int k = 0; k < 2; k++) {
    n += (size_t)snprintf(json + n, (1 << 20) - n, ",\"%s\":[", k ? "normalized" : "raw");
    for (int l = 0; l < 100; l++)
      for (int h = 0; h < 100; h++)
        n += (size_t)snprintf(json + n, (1 << 20) - n, "%s0.1", h ? "," : l ? "],[" : "[");
    n += (size_t)snprintf(json + n, (1 << 20) - n, "]]");
  }
  n += (size_t)snprintf(json + n, (1 << 20) - n, ",\"blocks\":[");
  for (int l = 0; l < 100; l++)
    n += (size_t)snprintf(json + n, (1 << 20) - n, "%s10", l ? "," : "");
  snprintf(json + n, (1 << 20) - n, "]}");
  write_text(path, json);
  free(json);
  tpa_importance *imp = NULL;
  ck_assert_int_eq(tpa_importance_load(&imp, path), TPA_OK);
  char png[4200], svg[4200];
  snprintf(png, sizeof png, "%s.png", path);
  snprintf(svg, sizeof svg, "%s.svg", path);
  ck_assert_int_eq(tpa_importance_write_png(imp, png, NULL), TPA_OK);
  ck_assert_int_eq(tpa_importance_write_svg(imp, svg, NULL), TPA_OK);
  image im = decode(png);
  ck_assert_uint_le(im.width, 8192);
  ck_assert_uint_le(im.height, 8192);
  free(im.rgb);
  size_t len;
  char *text = read_all(svg, &len);
  ck_assert_ptr_null(strstr(text, "class=\"score\""));
  ck_assert_ptr_nonnull(strstr(text, "data-layer=\"99\" data-head=\"99\""));
  free(text);
  unlink(png);
  unlink(svg);
  remove_temp(path);
  tpa_importance_free(imp);
}
END_TEST

START_TEST(picture_errors) {
  tpa_importance *imp = NULL;
  char *path = fixture("importance/tiny_rte40.json");
  ck_assert_int_eq(tpa_importance_load(&imp, path), TPA_OK);
  free(path);
  ck_assert_int_eq(tpa_importance_write_heatmap(NULL, "/tmp/x.png"), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_write_heatmap(imp, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_write_heatmap(imp, "/dev/null/h.png"), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "/dev/null"));
  ck_assert_int_eq(tpa_importance_write_svg(NULL, "/tmp/x.svg", NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_write_svg(imp, NULL, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_write_svg(imp, "", NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_write_png(NULL, "/tmp/x.png", NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_write_png(imp, NULL, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_write_svg(imp, "/dev/null/h.svg", NULL), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "/dev/null"));
  ck_assert_int_eq(tpa_importance_write_png(imp, "/dev/null/h.png", NULL), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "/dev/null"));
  /* A params size below its first field, and a plan of another shape. */
  tpa_heatmap_params hp;
  tpa_heatmap_params_init(&hp, sizeof hp);
  hp.size = 1;
  ck_assert_int_eq(tpa_importance_write_svg(imp, "/tmp/x.svg", &hp), TPA_ERR_INVALID_ARGUMENT);
  char *other = fixture("importance/pruned_rte40.json");
  tpa_importance *imp2 = NULL;
  ck_assert_int_eq(tpa_importance_load(&imp2, other), TPA_OK);
  free(other);
  tpa_prune_plan *plan = NULL;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp2, NULL), TPA_OK);
  tpa_importance_free(imp2);
  tpa_heatmap_params_init(&hp, sizeof hp);
  hp.plan = plan;
  ck_assert_int_eq(tpa_importance_num_layers(imp), tpa_prune_plan_num_layers(plan));
  char *ok = temp_path("ok.svg");
  ck_assert_int_eq(tpa_importance_write_svg(imp, ok, &hp), TPA_OK); /* same layers: fine */
  remove_temp(ok);
  tpa_prune_plan_free(plan);
  /* A plan for fewer layers than the table is refused, naming both. */
  char *one = temp_path("one.json");
  write_text(one, "{\"layers\":1,\"heads\":2,\"examples\":1,\"tokens\":1,\"raw\":[[0.1,0.2]],"
                  "\"normalized\":[[0.4,0.9]],\"blocks\":[0.3]}");
  ck_assert_int_eq(tpa_importance_load(&imp2, one), TPA_OK);
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp2, NULL), TPA_OK);
  hp.plan = plan;
  ck_assert_int_eq(tpa_importance_write_png(imp, "/tmp/x.png", &hp), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "layers"));
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp2);
  remove_temp(one);
  tpa_importance_free(imp);
}
END_TEST

Suite *heatmap_suite(void) {
  Suite *s = suite_create("importance-heatmap");
  TCase *tc = tcase_create("SVG");
  tcase_add_test(tc, svg_of_a_pruned_model);
  suite_add_tcase(s, tc);
  tc = tcase_create("PNG");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, png_of_bert_base);
  tcase_add_test(tc, png_of_a_pruned_model);
  tcase_add_test(tc, large_table);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_test(tc, picture_errors);
  suite_add_tcase(s, tc);
  return s;
}
