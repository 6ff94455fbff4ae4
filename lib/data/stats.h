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

/* Per-class counts over n examples with k classes: gold[c] examples of
 * class c, pred[c] predicted as c, hit[c] of class c predicted as c. That
 * is all accuracy, F1 and the multi-class MCC need, in O(k) memory where a
 * confusion matrix would take O(k^2) (a dataset may have thousands of
 * classes). The three arrays are one allocation of 3k counts. */
typedef struct tpa__confusion {
  int32_t k;
  uint64_t n;
  uint64_t *gold, *pred, *hit;
} tpa__confusion;

/* Allocate zeroed counts for @p k classes; TPA_ERR_NO_MEMORY. */
tpa_status tpa__confusion_init(tpa__confusion *c, int32_t k);
/* Count one example. */
static inline void tpa__confusion_add(tpa__confusion *c, int32_t gold, int32_t pred) {
  c->gold[gold]++;
  c->pred[pred]++;
  c->hit[gold] += gold == pred;
  c->n++;
}
void tpa__confusion_free(tpa__confusion *c);

/* Share of correct predictions; 0 when n is 0. */
double tpa__accuracy(const tpa__confusion *c);

/* F1 of class @p positive: 2 TP / (2 TP + FP + FN), 0 when there is
 * neither a gold nor a predicted positive (scikit-learn's zero_division). */
double tpa__f1(const tpa__confusion *c, int32_t positive);

/* Unweighted mean of the F1 of every class that occurs among the gold or
 * the predicted labels (scikit-learn's f1_score(average="macro") with its
 * default labels); 0 when n is 0. */
double tpa__macro_f1(const tpa__confusion *c);

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
