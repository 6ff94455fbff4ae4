/* SPDX-License-Identifier: Apache-2.0 */
/* The statistics behind tpa_metrics_compute: confusion-matrix scores for
 * classification and correlations for regression. Conventions follow
 * scikit-learn and SciPy, except that an undefined correlation (a constant
 * input) is 0 rather than NaN, as scikit-learn already does for MCC. */
#ifndef TPA_DATA_STATS_H
#define TPA_DATA_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/common.h"

enum { TPA__MAX_CLASSES = 3 };

/* counts[gold][pred] over n examples with k classes. */
typedef struct tpa__confusion {
  int32_t k;
  uint64_t n;
  uint64_t counts[TPA__MAX_CLASSES][TPA__MAX_CLASSES];
} tpa__confusion;

/* Share of correct predictions; 0 when n is 0. */
double tpa__accuracy(const tpa__confusion *c);

/* F1 of class @p positive: 2 TP / (2 TP + FP + FN), 0 when there is
 * neither a gold nor a predicted positive (scikit-learn's zero_division). */
double tpa__f1(const tpa__confusion *c, int32_t positive);

/* Matthews correlation, multi-class form (Gorodkin's R_K, as
 * sklearn.metrics.matthews_corrcoef); 0 when a denominator factor is 0. */
double tpa__matthews(const tpa__confusion *c);

/* Pearson's r of @p n pairs, clipped to [-1, 1]; 0 when either input is
 * constant (or n < 2). */
double tpa__pearson(const double *x, const double *y, size_t n);

/* Replace each x[i] by its 1-based rank, ties sharing their average rank
 * (scipy.stats.rankdata's "average"). Allocates scratch; TPA_ERR_NO_MEMORY. */
tpa_status tpa__rank_average(double *x, size_t n);

#endif
