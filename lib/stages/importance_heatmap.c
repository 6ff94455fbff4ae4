/* SPDX-License-Identifier: Apache-2.0 */
/* The importance picture (the paper's Figure 1 made readable): laid out
 * once here and drawn on a canvas (io/canvas.h) that writes SVG or PNG, so
 * the two files show the same thing.
 *
 * Layers are rows (layer 0 on top), ORIGINAL heads columns. A cell's
 * colour follows ColorBrewer's sequential "Blues" ramp (perceptually
 * ordered, white to dark blue) of the head's normalised score over the
 * table's largest, so the most important head is the darkest; the score
 * itself is printed in the cell. Heads without a score (pruned before
 * scoring) are grey with darker hatching; heads the caller's plan removes
 * keep their score and get a red outline. Beside the rows: the block
 * importance per layer as a bar with its value (its own scale: blocks
 * are sums of raw scores, not normalised ones), then for a table with
 * neuron scores the same for the feed-forward block. Below: the colour
 * legend and the marks' meaning. Every size is in canvas units; the PNG
 * has two pixels per unit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/params.h"
#include "io/canvas.h"
#include "stages/importance.h"
#include "text/utf8.h"
#include "tpa/prune.h"

/* ColorBrewer Blues, 9 classes, from lightest to darkest. */
static const uint32_t blues[9] = {0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
                                  0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
#define INK 0x1a1a1a     /* text */
#define NOTE 0x636363    /* secondary text */
#define ABSENT 0xd0d0d0  /* a head without a score ... */
#define HATCH 0x808080   /* ... and its hatching */
#define REMOVED 0xd62728 /* the outline of a head the plan removes */
#define BLOCK_BAR 0x969696
#define FFN_BAR 0x9e9ac8

#define MARGIN 10
#define BAR 72       /* the longest bar */
#define LINE 13      /* baseline to baseline of normal text */
#define TITLE_MAX 48 /* code points of the task name in the title */
#define MAX_PX 8192  /* largest side of the PNG at two pixels per unit */

/* What the picture shows, gathered once from the table and the options. */
typedef struct view {
  const tpa_importance *imp;
  const tpa_prune_plan *plan;
  double top;       /* largest normalised score (0 when none) */
  double block_top; /* largest block importance */
  double *ffn_sum;  /* [layers] sum of raw neuron scores, or NULL */
  double ffn_top;
  int32_t *ffn_kept; /* [layers] neurons the plan keeps, or NULL */
  int32_t absent, removed;
  char title[320], subtitle[160]; /* title: room for 48 four-byte code points */
} view;

/* Positions, in units. */
typedef struct layout {
  int32_t cw, ch, gap, px, py; /* cell size, gap, pitch across and down */
  bool numbers;                /* scores printed in the cells */
  int32_t row_every, col_every;
  int32_t gx, gy; /* the grid's top left */
  int32_t block_x, block_w, ffn_x, ffn_w, kept_x;
  int32_t legend_y, width, height;
} layout;

static const char *fmt_g(char *buf, size_t cap, double v) {
  snprintf(buf, cap, "%.3g", v);
  return buf;
}

static int32_t max32(int32_t a, int32_t b) {
  return a > b ? a : b;
}

/* The code point at task[*i] (advancing *i past it), '?' for a byte that
 * does not start valid UTF-8 and for what XML or a title cannot show. */
static uint32_t next_point(const char *task, size_t len, size_t *i) {
  uint32_t cp = '?';
  const size_t k = tpa__utf8_decode((const unsigned char *)task + *i, len - *i, &cp);
  *i += k ? k : 1;
  if (k == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xfffe || cp == 0xffff)
    cp = '?';
  return cp;
}

/* @p task as the title shows it: valid UTF-8, at most TITLE_MAX code
 * points; a longer name keeps "..." and its tail, which tells files apart
 * better than its head. @p out holds 4 * TITLE_MAX + 1 bytes. */
static void clean_name(const char *task, char *out) {
  const size_t len = strlen(task);
  size_t points = 0, n = 0;
  for (size_t i = 0; i < len; points++)
    next_point(task, len, &i);
  const size_t skip = points > TITLE_MAX ? points - (TITLE_MAX - 3) : 0;
  if (skip > 0) {
    memcpy(out, "...", 3);
    n = 3;
  }
  size_t p = 0;
  for (size_t i = 0; i < len; p++) {
    const uint32_t cp = next_point(task, len, &i);
    if (p >= skip)
      n += tpa__utf8_encode(cp, out + n);
  }
  out[n] = '\0';
}

static tpa_status view_init(view *v, const tpa_importance *imp, const tpa_heatmap_params *p) {
  *v = (view){.imp = imp, .plan = p->plan};
  const int32_t L = imp->layers, A = imp->heads;
  for (int32_t l = 0; l < L; l++) {
    v->block_top = fmax(v->block_top, imp->block[l]);
    for (int32_t h = 0; h < A; h++) {
      const double x = imp->norm[(size_t)l * A + h];
      if (isnan(x))
        v->absent++;
      else if (x > v->top)
        v->top = x;
      v->removed += tpa_prune_plan_removes(p->plan, l, h);
    }
  }
  if (imp->ffn_off) {
    v->ffn_sum = calloc((size_t)L, sizeof *v->ffn_sum);
    if (!v->ffn_sum)
      return TPA__NO_MEMORY("importance picture");
    for (int32_t l = 0; l < L; l++) {
      for (size_t j = imp->ffn_off[l]; j < imp->ffn_off[l + 1]; j++)
        v->ffn_sum[l] += imp->ffn_raw[j];
      v->ffn_top = fmax(v->ffn_top, v->ffn_sum[l]);
    }
    if (tpa_prune_plan_num_pruned_neurons(p->plan) > 0) {
      v->ffn_kept = calloc((size_t)L, sizeof *v->ffn_kept);
      if (!v->ffn_kept)
        return TPA__NO_MEMORY("importance picture");
      for (int32_t l = 0; l < L; l++) {
        const int32_t w = tpa_prune_plan_ffn_width(p->plan, l);
        for (int32_t j = 0; j < w; j++)
          v->ffn_kept[l] += !tpa_prune_plan_removes_neuron(p->plan, l, j);
      }
    }
  }
  char name[4 * TITLE_MAX + 1] = "";
  if (p->task && p->task[0])
    clean_name(p->task, name);
  snprintf(v->title, sizeof v->title, "Head importance%s%s, %llu examples", name[0] ? ": " : "",
           name, (unsigned long long)imp->examples);
  snprintf(v->subtitle, sizeof v->subtitle,
           "%llu tokens. Cell: normalised score (each layer's scores have L2 norm 1).",
           (unsigned long long)imp->tokens);
  return TPA_OK;
}

static void view_free(view *v) {
  free(v->ffn_sum);
  free(v->ffn_kept);
}

static const char *const block_head = "block importance";
static const char *const ffn_head = "FFN importance";
static const char *const kept_head = "neurons kept";
static const char *const legend_label = "colour: score / largest";

/* The widest value text of a bar column. */
static int32_t values_width(const double *v, int32_t n) {
  int32_t w = 0;
  char buf[32];
  for (int32_t i = 0; i < n; i++)
    w = max32(w, tpa__canvas_text_width(fmt_g(buf, sizeof buf, v[i]), false));
  return w;
}

static void layout_init(layout *lo, const view *v) {
  const tpa_importance *imp = v->imp;
  const int32_t L = imp->layers, A = imp->heads;
  *lo = (layout){.cw = 32, .ch = 17, .gap = 1, .numbers = true};
  if (A > 40 || L > 60) { /* no real model: small cells without numbers */
    const int32_t most = max32(L, A);
    lo->cw = lo->ch = max32(1, 16 < 2048 / most ? 16 : 2048 / most);
    lo->gap = lo->cw >= 4;
    lo->numbers = false;
  }
  lo->px = lo->cw + lo->gap;
  lo->py = lo->ch + lo->gap;
  char buf[32];
  snprintf(buf, sizeof buf, "%d", (int)(A - 1));
  lo->col_every = (tpa__canvas_text_width(buf, false) + 4 + lo->px - 1) / lo->px;
  lo->row_every = (10 + lo->py - 1) / lo->py;
  snprintf(buf, sizeof buf, "%d", (int)(L - 1));
  const int32_t labels =
      max32(tpa__canvas_text_width("layer", false), tpa__canvas_text_width(buf, false));
  lo->gx = MARGIN + labels + 5;
  lo->gy = MARGIN + 15 + LINE + 2 * LINE + 4; /* title, subtitle, "head", head numbers */
  const int32_t grid_w = A * lo->px - lo->gap, grid_h = L * lo->py - lo->gap;
  lo->block_x = lo->gx + grid_w + 12;
  lo->block_w =
      max32(tpa__canvas_text_width(block_head, false), BAR + 6 + values_width(imp->block, L));
  int32_t right = lo->block_x + lo->block_w;
  if (v->ffn_sum) {
    lo->ffn_x = right + 12;
    lo->ffn_w =
        max32(tpa__canvas_text_width(ffn_head, false), BAR + 6 + values_width(v->ffn_sum, L));
    right = lo->ffn_x + lo->ffn_w;
    if (v->ffn_kept) {
      lo->kept_x = right + 12;
      right = lo->kept_x + tpa__canvas_text_width(kept_head, false);
    }
  }
  lo->legend_y = lo->gy + grid_h + 12;
  /* The legend: the ramp line (label, ramp, tick values), one line per
   * mark shown, a note line per bar column. */
  const int32_t lines = 2 + (v->absent > 0) + (v->plan != NULL) + (v->ffn_sum != NULL);
  lo->height = lo->legend_y + 10 + lines * LINE + 2 + MARGIN;
  right = max32(right, MARGIN + tpa__canvas_text_width(v->title, true));
  right = max32(right, MARGIN + tpa__canvas_text_width(v->subtitle, false));
  right = max32(right, lo->gx + tpa__canvas_text_width(legend_label, false) + 6 + 120 + 14);
  right =
      max32(right, lo->gx + 18 + tpa__canvas_text_width("removed by the plan (9999 heads)", false));
  lo->width = right + MARGIN;
}

static uint32_t text_on(uint32_t fill) {
  const double lum =
      0.299 * (fill >> 16 & 0xff) + 0.587 * (fill >> 8 & 0xff) + 0.114 * (fill & 0xff);
  return lum < 150 ? 0xffffff : INK;
}

/* One bar column: the header, then per row a bar of v[l] / top and the value. */
static void bar_column(tpa__canvas *cv, const layout *lo, const char *cls, const char *head,
                       int32_t x, const double *v, double top, int32_t L, uint32_t colour) {
  char buf[32], attrs[96];
  tpa__canvas_text(cv, NULL, x, lo->gy - 4, head, TPA__ALIGN_LEFT, false, INK);
  for (int32_t l = 0; l < L; l++) {
    const int32_t y = lo->gy + l * lo->py;
    const int32_t len = top > 0 ? (int32_t)lround(BAR * v[l] / top) : 0;
    const int32_t inset = lo->ch >= 9 ? 3 : 0;
    snprintf(attrs, sizeof attrs, "class=\"%s-bar\" data-layer=\"%d\"", cls, (int)l);
    tpa__canvas_rect(cv, attrs, x, y + inset, len, lo->ch - 2 * inset, colour);
    if (lo->ch >= 9 && l % lo->row_every == 0) {
      snprintf(attrs, sizeof attrs, "class=\"%s\" data-layer=\"%d\"", cls, (int)l);
      tpa__canvas_text(cv, attrs, x + BAR + 6, y + (lo->ch + 7) / 2, fmt_g(buf, sizeof buf, v[l]),
                       TPA__ALIGN_LEFT, false, INK);
    }
  }
}

static void draw_grid(tpa__canvas *cv, const layout *lo, const view *v) {
  const tpa_importance *imp = v->imp;
  const int32_t L = imp->layers, A = imp->heads;
  char buf[32], attrs[128];
  const int32_t grid_w = A * lo->px - lo->gap;
  tpa__canvas_text(cv, NULL, lo->gx + grid_w / 2, lo->gy - 4 - LINE, "head", TPA__ALIGN_CENTER,
                   false, INK);
  tpa__canvas_text(cv, NULL, lo->gx - 5, lo->gy - 4, "layer", TPA__ALIGN_RIGHT, false, INK);
  for (int32_t h = 0; h < A; h += lo->col_every) {
    snprintf(buf, sizeof buf, "%d", (int)h);
    tpa__canvas_text(cv, NULL, lo->gx + h * lo->px + lo->cw / 2, lo->gy - 4, buf, TPA__ALIGN_CENTER,
                     false, INK);
  }
  for (int32_t l = 0; l < L; l++) {
    const int32_t y = lo->gy + l * lo->py, base = y + (lo->ch + 7) / 2;
    if (l % lo->row_every == 0) {
      snprintf(buf, sizeof buf, "%d", (int)l);
      tpa__canvas_text(cv, NULL, lo->gx - 5, base, buf, TPA__ALIGN_RIGHT, false, INK);
    }
    for (int32_t h = 0; h < A; h++) {
      const int32_t x = lo->gx + h * lo->px;
      const double s = imp->norm[(size_t)l * A + h];
      const bool removed = tpa_prune_plan_removes(v->plan, l, h);
      snprintf(attrs, sizeof attrs, "class=\"cell%s%s\" data-layer=\"%d\" data-head=\"%d\"",
               isnan(s) ? " absent" : "", removed ? " removed" : "", (int)l, (int)h);
      if (isnan(s)) {
        tpa__canvas_hatch(cv, attrs, x, y, lo->cw, lo->ch, ABSENT, HATCH);
      } else {
        const uint32_t fill = tpa__rgb_ramp(blues, 9, v->top > 0 ? s / v->top : 0);
        tpa__canvas_rect(cv, attrs, x, y, lo->cw, lo->ch, fill);
        if (lo->numbers) {
          snprintf(attrs, sizeof attrs, "class=\"score\" data-layer=\"%d\" data-head=\"%d\"",
                   (int)l, (int)h);
          snprintf(buf, sizeof buf, "%.2f", s);
          tpa__canvas_text(cv, attrs, x + lo->cw / 2, base, buf, TPA__ALIGN_CENTER, false,
                           text_on(fill));
        }
      }
      if (removed) {
        snprintf(attrs, sizeof attrs, "class=\"mark\" data-layer=\"%d\" data-head=\"%d\"", (int)l,
                 (int)h);
        tpa__canvas_frame(cv, attrs, x, y, lo->cw, lo->ch, lo->cw >= 8 ? 2 : 1, REMOVED);
      }
    }
  }
}

static void draw_legend(tpa__canvas *cv, const layout *lo, const view *v) {
  char buf[64];
  int32_t y = lo->legend_y;
  const int32_t x = lo->gx;
  tpa__canvas_text(cv, NULL, x, y + 8, legend_label, TPA__ALIGN_LEFT, false, INK);
  const int32_t rx = x + tpa__canvas_text_width(legend_label, false) + 6, rw = 120;
  tpa__canvas_ramp(cv, "class=\"legend\"", rx, y, rw, 9, blues, 9);
  for (int i = 0; i <= 2; i++) {
    const int32_t tx = rx + (rw - 1) * i / 2;
    tpa__canvas_rect(cv, NULL, tx, y + 9, 1, 3, INK);
    snprintf(buf, sizeof buf, "%.2f", v->top * i / 2);
    tpa__canvas_text(cv, "class=\"tick\"", tx, y + 9 + 12, buf,
                     i == 0   ? TPA__ALIGN_LEFT
                     : i == 1 ? TPA__ALIGN_CENTER
                              : TPA__ALIGN_RIGHT,
                     false, INK);
  }
  y += 10 + 2 * LINE;
  if (v->absent > 0) {
    tpa__canvas_hatch(cv, "class=\"legend\"", x, y - 8, 12, 9, ABSENT, HATCH);
    snprintf(buf, sizeof buf, "no score: pruned before (%d heads)", (int)v->absent);
    tpa__canvas_text(cv, NULL, x + 18, y, buf, TPA__ALIGN_LEFT, false, INK);
    y += LINE;
  }
  if (v->plan) {
    tpa__canvas_frame(cv, "class=\"legend\"", x, y - 8, 12, 9, 2, REMOVED);
    snprintf(buf, sizeof buf, "removed by the plan (%d heads)", (int)v->removed);
    tpa__canvas_text(cv, NULL, x + 18, y, buf, TPA__ALIGN_LEFT, false, INK);
    y += LINE;
  }
  tpa__canvas_text(cv, NULL, x, y, "Block importance: sum of the layer's raw head scores.",
                   TPA__ALIGN_LEFT, false, NOTE);
  if (v->ffn_sum)
    tpa__canvas_text(cv, NULL, x, y + LINE, "FFN importance: sum of the layer's raw neuron scores.",
                     TPA__ALIGN_LEFT, false, NOTE);
}

static void draw(tpa__canvas *cv, const layout *lo, const view *v) {
  const int32_t L = v->imp->layers;
  tpa__canvas_text(cv, "class=\"title\"", MARGIN, MARGIN + 11, v->title, TPA__ALIGN_LEFT, true,
                   INK);
  tpa__canvas_text(cv, NULL, MARGIN, MARGIN + 11 + LINE + 2, v->subtitle, TPA__ALIGN_LEFT, false,
                   NOTE);
  draw_grid(cv, lo, v);
  bar_column(cv, lo, "block", block_head, lo->block_x, v->imp->block, v->block_top, L, BLOCK_BAR);
  if (v->ffn_sum)
    bar_column(cv, lo, "ffn", ffn_head, lo->ffn_x, v->ffn_sum, v->ffn_top, L, FFN_BAR);
  if (v->ffn_kept) {
    char buf[48], attrs[64];
    tpa__canvas_text(cv, NULL, lo->kept_x, lo->gy - 4, kept_head, TPA__ALIGN_LEFT, false, INK);
    for (int32_t l = 0; l < L && lo->ch >= 9; l += lo->row_every) {
      snprintf(buf, sizeof buf, "%d of %d", (int)v->ffn_kept[l],
               (int)(v->imp->ffn_off[l + 1] - v->imp->ffn_off[l]));
      snprintf(attrs, sizeof attrs, "class=\"kept\" data-layer=\"%d\"", (int)l);
      tpa__canvas_text(cv, attrs, lo->kept_x, lo->gy + l * lo->py + (lo->ch + 7) / 2, buf,
                       TPA__ALIGN_LEFT, false, INK);
    }
  }
  draw_legend(cv, lo, v);
}

static const tpa_heatmap_params heatmap_defaults = {.size = sizeof(tpa_heatmap_params)};

void tpa_heatmap_params_init(tpa_heatmap_params *p, size_t size) {
  tpa__params_init(p, size, &heatmap_defaults, sizeof heatmap_defaults);
}

static tpa_status write_picture(const char *fn, const tpa_importance *imp, const char *path,
                                const tpa_heatmap_params *params, bool svg) {
  tpa__error_clear();
  if (!imp || !path || !path[0])
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: NULL %s", fn, !imp ? "table" : "path");
  tpa_heatmap_params p;
  tpa_status s = tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_heatmap_params, plan), params,
                                  &heatmap_defaults, fn, "tpa_heatmap_params");
  if (s != TPA_OK)
    return s;
  if (p.plan && tpa_prune_plan_num_layers(p.plan) != imp->layers)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: the plan has %d layers, the table %d", fn,
                      (int)tpa_prune_plan_num_layers(p.plan), (int)imp->layers);
  view v;
  layout lo;
  s = view_init(&v, imp, &p);
  if (s == TPA_OK) {
    layout_init(&lo, &v);
    /* Two pixels a unit, one when that would pass MAX_PX. */
    const int32_t scale = (int64_t)max32(lo.width, lo.height) * 2 <= MAX_PX ? 2 : 1;
    tpa__canvas *cv = NULL;
    s = svg ? tpa__canvas_svg(&cv, path, lo.width, lo.height, scale, v.title)
            : tpa__canvas_png(&cv, path, lo.width, lo.height, scale);
    if (s == TPA_OK) {
      draw(cv, &lo, &v);
      s = tpa__canvas_finish(cv);
    }
  }
  view_free(&v);
  return s;
}

tpa_status tpa_importance_write_svg(const tpa_importance *imp, const char *svg_path,
                                    const tpa_heatmap_params *params) {
  return write_picture("tpa_importance_write_svg", imp, svg_path, params, true);
}

tpa_status tpa_importance_write_png(const tpa_importance *imp, const char *png_path,
                                    const tpa_heatmap_params *params) {
  return write_picture("tpa_importance_write_png", imp, png_path, params, false);
}

tpa_status tpa_importance_write_heatmap(const tpa_importance *imp, const char *png_path) {
  return write_picture("tpa_importance_write_heatmap", imp, png_path, NULL, false);
}
