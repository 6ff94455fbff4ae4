/* SPDX-License-Identifier: Apache-2.0 */
/* The canvas of canvas.h: SVG text streamed through the atomic writer, or
 * an RGB raster written as PNG. */
#include "io/canvas.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file.h"
#include "io/font.h"
#include "io/png.h"

/* Hatching: one line every HATCH units, one unit wide across. */
#define HATCH 4
/* SVG output is buffered in pieces this large (an element is far smaller). */
#define SVG_BUF 65536

struct tpa__canvas {
  bool svg;
  int32_t width, height, scale;
  tpa_status status; /* the first error */
  char *path;
  /* SVG */
  tpa__atomic_file af;
  char *buf;
  size_t len;
  int defs;                    /* ids handed out to patterns and gradients */
  uint32_t hatch_bg, hatch_fg; /* the colours of pattern "p<hatch_id>" */
  int hatch_id;                /* 0: none yet */
  /* raster */
  uint8_t *rgb;
  uint32_t pw, ph;
};

/* ------------------------------------------------------------------ SVG */

static void svg_flush(tpa__canvas *cv) {
  if (cv->status == TPA_OK && cv->len > 0)
    cv->status = tpa__atomic_write(&cv->af, cv->buf, cv->len);
  cv->len = 0;
}

static void svg_put(tpa__canvas *cv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void svg_put(tpa__canvas *cv, const char *fmt, ...) {
  for (int attempt = 0; attempt < 2 && cv->status == TPA_OK; attempt++) {
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(cv->buf + cv->len, SVG_BUF - cv->len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < SVG_BUF - cv->len) {
      cv->len += (size_t)n;
      return;
    }
    svg_flush(cv); /* then try once more in an empty buffer */
  }
  if (cv->status == TPA_OK)
    cv->status = tpa__error(TPA_ERR_INTERNAL, "file %s: SVG element too long", cv->path);
}

/* @p s as XML character data (also fit for a quoted attribute). */
static void svg_escaped(tpa__canvas *cv, const char *s) {
  for (; *s && cv->status == TPA_OK; s++) {
    if (cv->len + 8 > SVG_BUF)
      svg_flush(cv);
    const char *e = *s == '&'   ? "&amp;"
                    : *s == '<' ? "&lt;"
                    : *s == '>' ? "&gt;"
                    : *s == '"' ? "&quot;"
                                : NULL;
    if (e) {
      memcpy(cv->buf + cv->len, e, strlen(e));
      cv->len += strlen(e);
    } else {
      cv->buf[cv->len++] = *s;
    }
  }
}

/* " attrs", or "" without any. */
static const char *sp(const char *attrs) {
  return attrs ? " " : "";
}

static const char *attrs_or_empty(const char *attrs) {
  return attrs ? attrs : "";
}

/* ------------------------------------------------------------- raster */

/* Fill pixels [x0, x1) x [y0, y1), clipped to the image. */
static void fill_px(tpa__canvas *cv, int64_t x0, int64_t y0, int64_t x1, int64_t y1, uint32_t rgb) {
  x0 = x0 < 0 ? 0 : x0;
  y0 = y0 < 0 ? 0 : y0;
  x1 = x1 > cv->pw ? cv->pw : x1;
  y1 = y1 > cv->ph ? cv->ph : y1;
  const uint8_t c[3] = {(uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8), (uint8_t)rgb};
  for (int64_t y = y0; y < y1; y++)
    for (int64_t x = x0; x < x1; x++)
      memcpy(cv->rgb + ((size_t)y * cv->pw + (size_t)x) * 3, c, 3);
}

static void fill_units(tpa__canvas *cv, int32_t x, int32_t y, int32_t w, int32_t h, uint32_t rgb) {
  const int64_t s = cv->scale;
  fill_px(cv, x * s, y * s, ((int64_t)x + w) * s, ((int64_t)y + h) * s, rgb);
}

/* ------------------------------------------------------------- drawing */

void tpa__canvas_rect(tpa__canvas *cv, const char *attrs, int32_t x, int32_t y, int32_t w,
                      int32_t h, uint32_t rgb) {
  if (cv->status != TPA_OK || w <= 0 || h <= 0)
    return;
  if (cv->svg)
    svg_put(cv, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#%06x\"%s%s/>\n", x, y,
            w, h, rgb, sp(attrs), attrs_or_empty(attrs));
  else
    fill_units(cv, x, y, w, h, rgb);
}

void tpa__canvas_frame(tpa__canvas *cv, const char *attrs, int32_t x, int32_t y, int32_t w,
                       int32_t h, int32_t thick, uint32_t rgb) {
  if (cv->status != TPA_OK || w <= 0 || h <= 0 || thick <= 0)
    return;
  if (cv->svg) {
    /* A stroke straddles its path: inset by half the width to stay inside. */
    svg_put(cv,
            "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#%06x\" "
            "stroke-width=\"%d\"%s%s/>\n",
            x + thick / 2.0, y + thick / 2.0, (double)w - thick, (double)h - thick, rgb, thick,
            sp(attrs), attrs_or_empty(attrs));
    return;
  }
  fill_units(cv, x, y, w, thick, rgb);
  fill_units(cv, x, y + h - thick, w, thick, rgb);
  fill_units(cv, x, y, thick, h, rgb);
  fill_units(cv, x + w - thick, y, thick, h, rgb);
}

void tpa__canvas_hatch(tpa__canvas *cv, const char *attrs, int32_t x, int32_t y, int32_t w,
                       int32_t h, uint32_t bg, uint32_t line) {
  if (cv->status != TPA_OK || w <= 0 || h <= 0)
    return;
  if (cv->svg) {
    if (cv->hatch_id == 0 || cv->hatch_bg != bg || cv->hatch_fg != line) {
      cv->hatch_id = ++cv->defs;
      cv->hatch_bg = bg;
      cv->hatch_fg = line;
      /* Lines x + y = 4k, 1 unit wide across (1/sqrt 2 across the line),
       * on the same absolute grid as the raster's. */
      svg_put(cv,
              "<defs><pattern id=\"p%d\" width=\"%d\" height=\"%d\" "
              "patternUnits=\"userSpaceOnUse\"><rect width=\"%d\" height=\"%d\" "
              "fill=\"#%06x\"/><path d=\"M-1,1 L1,-1 M0,%d L%d,0 M%d,%d L%d,%d\" "
              "stroke=\"#%06x\" stroke-width=\"0.71\"/></pattern></defs>\n",
              cv->hatch_id, HATCH, HATCH, HATCH, HATCH, bg, HATCH, HATCH, HATCH - 1, HATCH + 1,
              HATCH + 1, HATCH - 1, line);
    }
    svg_put(cv, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"url(#p%d)\"%s%s/>\n", x,
            y, w, h, cv->hatch_id, sp(attrs), attrs_or_empty(attrs));
    return;
  }
  const int64_t s = cv->scale;
  fill_units(cv, x, y, w, h, bg);
  for (int64_t py = y * s; py < ((int64_t)y + h) * s && py < cv->ph; py++)
    for (int64_t px = x * s; px < ((int64_t)x + w) * s && px < cv->pw; px++)
      if ((px + py) % (HATCH * s) < s)
        fill_px(cv, px, py, px + 1, py + 1, line);
}

uint32_t tpa__rgb_ramp(const uint32_t *stops, int n, double t) {
  if (!(t > 0))
    t = 0;
  if (t > 1)
    t = 1;
  const double pos = t * (n - 1);
  int i = (int)pos;
  if (i >= n - 1)
    i = n - 2;
  const double f = pos - i;
  uint32_t out = 0;
  for (int shift = 16; shift >= 0; shift -= 8) {
    const double a = (stops[i] >> shift) & 0xff, b = (stops[i + 1] >> shift) & 0xff;
    out |= (uint32_t)lround(a + f * (b - a)) << shift;
  }
  return out;
}

void tpa__canvas_ramp(tpa__canvas *cv, const char *attrs, int32_t x, int32_t y, int32_t w,
                      int32_t h, const uint32_t *stops, int n) {
  if (cv->status != TPA_OK || w <= 0 || h <= 0 || n < 2)
    return;
  if (cv->svg) {
    const int id = ++cv->defs;
    svg_put(cv, "<defs><linearGradient id=\"p%d\">", id);
    for (int i = 0; i < n; i++)
      svg_put(cv, "<stop offset=\"%g\" stop-color=\"#%06x\"/>", (double)i / (n - 1), stops[i]);
    svg_put(cv, "</linearGradient></defs>\n");
    svg_put(cv, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"url(#p%d)\"%s%s/>\n", x,
            y, w, h, id, sp(attrs), attrs_or_empty(attrs));
    return;
  }
  const int64_t s = cv->scale, wpx = (int64_t)w * s;
  for (int64_t i = 0; i < wpx; i++)
    fill_px(cv, x * s + i, y * s, x * s + i + 1, ((int64_t)y + h) * s,
            tpa__rgb_ramp(stops, n, (i + 0.5) / (double)wpx));
}

static int32_t code_points(const char *s) {
  int32_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xc0) != 0x80; /* continuation bytes do not count */
  return n;
}

int32_t tpa__canvas_text_width(const char *utf8, bool large) {
  const int32_t n = code_points(utf8);
  if (n == 0)
    return 0;
  const int32_t w = n * TPA__FONT_ADVANCE - (TPA__FONT_ADVANCE - TPA__FONT_WIDTH);
  return large ? (3 * w + 1) / 2 : w;
}

void tpa__canvas_text(tpa__canvas *cv, const char *attrs, int32_t x, int32_t baseline,
                      const char *utf8, tpa__align align, bool large, uint32_t rgb) {
  if (cv->status != TPA_OK || !utf8[0])
    return;
  if (cv->svg) {
    static const char *const anchor[] = {"start", "middle", "end"};
    svg_put(cv, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" fill=\"#%06x\"%s%s%s>", x, baseline,
            anchor[align], rgb, large ? " font-size=\"15\"" : "", sp(attrs), attrs_or_empty(attrs));
    svg_escaped(cv, utf8);
    svg_put(cv, "</text>\n");
    return;
  }
  /* Font pixels of g x g image pixels: the unit's size, 1.5 times when
   * large (rounded down, so the text never outgrows its layout). */
  const int64_t g = large ? (3 * cv->scale) / 2 : cv->scale;
  const int32_t n = code_points(utf8);
  const int64_t wpx = (n * TPA__FONT_ADVANCE - (TPA__FONT_ADVANCE - TPA__FONT_WIDTH)) * g;
  int64_t px = (int64_t)x * cv->scale;
  if (align == TPA__ALIGN_CENTER)
    px -= wpx / 2;
  else if (align == TPA__ALIGN_RIGHT)
    px -= wpx;
  const int64_t top = (int64_t)baseline * cv->scale - TPA__FONT_ASCENT * g;
  for (const unsigned char *s = (const unsigned char *)utf8; *s; s++) {
    if ((*s & 0xc0) == 0x80)
      continue;
    const uint8_t *rows = tpa__font_glyph(*s); /* '?' for a non-ASCII lead byte */
    for (int r = 0; r < TPA__FONT_HEIGHT; r++)
      for (int c = 0; c < TPA__FONT_WIDTH; c++)
        if (rows[r] >> (TPA__FONT_WIDTH - 1 - c) & 1)
          fill_px(cv, px + c * g, top + r * g, px + (c + 1) * g, top + (r + 1) * g, rgb);
    px += TPA__FONT_ADVANCE * g;
  }
}

/* --------------------------------------------------------- life cycle */

static tpa_status canvas_new(tpa__canvas **out, const char *path, int32_t width, int32_t height,
                             int32_t scale) {
  *out = NULL;
  if (width <= 0 || height <= 0 || scale < 1 || scale > 4 ||
      (int64_t)width * scale > TPA__PNG_MAX_DIM || (int64_t)height * scale > TPA__PNG_MAX_DIM)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "file %s: picture of %dx%d units at %d px each",
                      path, width, height, scale);
  tpa__canvas *cv = calloc(1, sizeof *cv);
  if (!cv || !(cv->path = tpa__strdup(path))) {
    free(cv);
    return tpa__error(TPA_ERR_NO_MEMORY, "out of memory (picture %s)", path);
  }
  cv->af.fd = -1;
  cv->width = width;
  cv->height = height;
  cv->scale = scale;
  *out = cv;
  return tpa__make_parent_dirs(path);
}

tpa_status tpa__canvas_svg(tpa__canvas **out, const char *path, int32_t width, int32_t height,
                           int32_t scale, const char *title) {
  tpa_status s = canvas_new(out, path, width, height, scale);
  tpa__canvas *cv = *out;
  if (s == TPA_OK) {
    cv->svg = true;
    cv->buf = malloc(SVG_BUF);
    s = cv->buf ? tpa__atomic_open(&cv->af, path)
                : tpa__error(TPA_ERR_NO_MEMORY, "out of memory (SVG of %s)", path);
  }
  if (s != TPA_OK) {
    tpa__canvas_free(cv);
    *out = NULL;
    return s;
  }
  svg_put(cv,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%lld\" height=\"%lld\" "
          "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" "
          "font-size=\"10\">\n",
          (long long)width * scale, (long long)height * scale, width, height);
  if (title) {
    svg_put(cv, "<title>");
    svg_escaped(cv, title);
    svg_put(cv, "</title>\n");
  }
  svg_put(cv, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height);
  return TPA_OK;
}

tpa_status tpa__canvas_png(tpa__canvas **out, const char *path, int32_t width, int32_t height,
                           int32_t scale) {
  tpa_status s = canvas_new(out, path, width, height, scale);
  tpa__canvas *cv = *out;
  if (s == TPA_OK) {
    cv->pw = (uint32_t)(width * scale);
    cv->ph = (uint32_t)(height * scale);
    cv->rgb = tpa__malloc_array((size_t)cv->pw * cv->ph, 3);
    if (!cv->rgb)
      s = tpa__error(TPA_ERR_NO_MEMORY, "out of memory (picture %ux%u for %s)", cv->pw, cv->ph,
                     path);
    else
      memset(cv->rgb, 0xff, (size_t)cv->pw * cv->ph * 3);
  }
  if (s != TPA_OK) {
    tpa__canvas_free(cv);
    *out = NULL;
  }
  return s;
}

tpa_status tpa__canvas_finish(tpa__canvas *cv) {
  if (cv->svg) {
    svg_put(cv, "</svg>\n");
    svg_flush(cv);
    if (cv->status == TPA_OK)
      cv->status = tpa__atomic_commit(&cv->af);
  } else if (cv->status == TPA_OK) {
    cv->status = tpa__png_write_rgb(cv->path, cv->pw, cv->ph, cv->rgb);
  }
  const tpa_status s = cv->status;
  tpa__canvas_free(cv);
  return s;
}

void tpa__canvas_free(tpa__canvas *cv) {
  if (!cv)
    return;
  if (cv->svg)
    tpa__atomic_abort(&cv->af);
  free(cv->buf);
  free(cv->rgb);
  free(cv->path);
  free(cv);
}
