/* SPDX-License-Identifier: Apache-2.0 */
#include "data/stats.h"

#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"

tpa_status tpa__confusion_init(tpa__confusion *c, int32_t k) {
  c->k = k;
  c->n = 0;
  c->gold = tpa__calloc((size_t)k * 3, sizeof *c->gold);
  if (!c->gold)
    return TPA__NO_MEMORY("metrics");
  c->pred = c->gold + k;
  c->hit = c->pred + k;
  return TPA_OK;
}

void tpa__confusion_free(tpa__confusion *c) {
  free(c->gold);
  c->gold = c->pred = c->hit = NULL;
}

double tpa__accuracy(const tpa__confusion *c) {
  uint64_t right = 0;
  for (int32_t i = 0; i < c->k; i++)
    right += c->hit[i];
  return c->n ? (double)right / (double)c->n : 0.0;
}

double tpa__f1(const tpa__confusion *c, int32_t positive) {
  /* 2 TP / (2 TP + FP + FN) = 2 TP / (gold + predicted). */
  uint64_t tp = c->hit[positive];
  double denom = (double)c->gold[positive] + (double)c->pred[positive];
  return denom > 0 ? 2.0 * (double)tp / denom : 0.0;
}

double tpa__macro_f1(const tpa__confusion *c) {
  double sum = 0;
  int32_t seen = 0;
  for (int32_t i = 0; i < c->k; i++) {
    if (c->gold[i] == 0 && c->pred[i] == 0)
      continue;
    sum += tpa__f1(c, i);
    seen++;
  }
  return seen ? sum / seen : 0.0;
}

double tpa__matthews(const tpa__confusion *c) {
  /* With t_k gold counts, p_k predicted counts, s = n and correct = trace:
   * MCC = (correct s - sum p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)).
   * Counts go to double first: their products overflow 64-bit integers
   * long before a double loses the needed precision. */
  double correct = 0, s = (double)c->n, pt = 0, pp = 0, tt = 0;
  for (int32_t i = 0; i < c->k; i++) {
    const double t = (double)c->gold[i], p = (double)c->pred[i];
    correct += (double)c->hit[i];
    pt += p * t;
    pp += p * p;
    tt += t * t;
  }
  double cov_pp = s * s - pp, cov_tt = s * s - tt;
  if (cov_pp <= 0 || cov_tt <= 0)
    return 0.0;
  double r = (correct * s - pt) / (sqrt(cov_pp) * sqrt(cov_tt));
  return r > 1 ? 1 : r < -1 ? -1 : r;
}

double tpa__pearson(const double *x, const double *y, size_t n) {
  if (n < 2)
    return 0.0;
  /* Two passes (means, then centred sums): one-pass formulas lose digits
   * when the values are large compared with their spread. */
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= (double)n;
  my /= (double)n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; i++) {
    double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx <= 0 || syy <= 0)
    return 0.0;
  double r = sxy / (sqrt(sxx) * sqrt(syy));
  return r > 1 ? 1 : r < -1 ? -1 : r;
}

typedef struct ranked {
  double v;
  size_t i;
} ranked;

static int by_value(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  if (a->v < b->v)
    return -1;
  if (a->v > b->v)
    return 1;
  /* Equal values: order by position so the sort is deterministic. */
  return a->i < b->i ? -1 : a->i > b->i;
}

tpa_status tpa__rank_average(double *x, size_t n) {
  ranked *r = tpa__malloc_array(n, sizeof *r);
  if (!r)
    return TPA__NO_MEMORY("ranks");
  for (size_t i = 0; i < n; i++)
    r[i] = (ranked){x[i], i};
  qsort(r, n, sizeof *r, by_value);
  for (size_t lo = 0; lo < n;) {
    size_t hi = lo + 1;
    while (hi < n && r[hi].v == r[lo].v)
      hi++;
    /* Positions lo..hi-1 (ranks lo+1..hi) share their mean rank. */
    double rank = 0.5 * (double)(lo + 1 + hi);
    for (size_t j = lo; j < hi; j++)
      x[r[j].i] = rank;
    lo = hi;
  }
  free(r);
  return TPA_OK;
}
