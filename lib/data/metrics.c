/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_metrics_compute: GLUE's metrics per task and its headline figure.
 * Every classification task reports accuracy; MRPC and QQP add F1 of class
 * 1, CoLA adds the Matthews correlation, STS-B reports Pearson and
 * Spearman. "main" is the figure GLUE's leaderboard ranks by: MCC for
 * CoLA, accuracy for SST-2/MNLI/QNLI/RTE/WNLI, the mean of F1 and accuracy
 * for MRPC and QQP, the mean of Pearson and Spearman for STS-B. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "data/stats.h"
#include "data/task.h"
#include "tpa/data.h"

/* Index of the largest of @p k logits, the first one on ties (as
 * numpy.argmax and torch.argmax). Logits must not be NaN. */
static int32_t argmax(const float *row, int32_t k) {
  int32_t best = 0;
  for (int32_t j = 1; j < k; j++)
    if (row[j] > row[best])
      best = j;
  return best;
}

static tpa_status classify(const tpa__task_info *info, const float *logits, const float *labels,
                           size_t n, tpa_metrics *m) {
  int32_t k = info->num_labels;
  tpa__confusion c = {.k = k, .n = n};
  for (size_t i = 0; i < n; i++) {
    const float *row = logits + i * (size_t)k;
    for (int32_t j = 0; j < k; j++)
      if (isnan(row[j]))
        return tpa__error(TPA_ERR_INVALID_ARGUMENT, "metrics: logit %d of example %zu is NaN",
                          (int)j, i);
    float gold = labels[i];
    /* The range test also rejects NaN. */
    if (!(gold >= 0 && gold < (float)k) || gold != floorf(gold))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "metrics: label %g of example %zu is not a %s class id (0 to %d)",
                        (double)gold, i, info->name, (int)k - 1);
    c.counts[(int32_t)gold][argmax(row, k)]++;
  }
  m->accuracy = tpa__accuracy(&c);
  m->main = m->accuracy;
  if (info->metrics & TPA_METRIC_F1) {
    m->f1 = tpa__f1(&c, 1);
    m->main = 0.5 * (m->f1 + m->accuracy);
  }
  if (info->metrics & TPA_METRIC_MATTHEWS) {
    m->matthews = tpa__matthews(&c);
    m->main = m->matthews;
  }
  return TPA_OK;
}

static tpa_status regress(const float *pred, const float *gold, size_t n, tpa_metrics *m) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(pred[i]) || !isfinite(gold[i]))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "metrics: example %zu has a non-finite %s (%g)",
                        i, isfinite(pred[i]) ? "label" : "prediction",
                        (double)(isfinite(pred[i]) ? gold[i] : pred[i]));
  /* One scratch block: the values in double, then ranked in place. */
  double *x = tpa__malloc_array(n, 2 * sizeof *x);
  if (!x)
    return TPA__NO_MEMORY("metrics");
  double *y = x + n;
  for (size_t i = 0; i < n; i++) {
    x[i] = pred[i];
    y[i] = gold[i];
  }
  m->pearson = tpa__pearson(x, y, n);
  tpa_status st = tpa__rank_average(x, n);
  if (st == TPA_OK)
    st = tpa__rank_average(y, n);
  if (st == TPA_OK) {
    m->spearman = tpa__pearson(x, y, n);
    m->main = 0.5 * (m->pearson + m->spearman);
  }
  free(x);
  return st;
}

TPA_API tpa_status tpa_metrics_compute(tpa_task task, const float *logits, const float *labels,
                                       size_t n, tpa_metrics *out) {
  tpa__error_clear();
  const tpa__task_info *info = tpa__task_info_get(task);
  tpa_status st = tpa__result_check(out, "tpa_metrics_compute: out");
  if (st != TPA_OK)
    return st;
  if (!info)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_metrics_compute: invalid task %d", (int)task);
  if (!logits || !labels)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_metrics_compute: NULL logits or labels");
  if (n == 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_metrics_compute: no examples");
  size_t values;
  if (!tpa__mul_size(n, (size_t)info->num_labels, &values))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_metrics_compute: n is too large");

  tpa_metrics m;
  memset(&m, 0, sizeof m);
  m.present = info->metrics;
  m.count = n;
  st = info->num_labels == 1 ? regress(logits, labels, n, &m)
                             : classify(info, logits, labels, n, &m);
  if (st != TPA_OK)
    return st;
  tpa__result_write(out, &m, sizeof m);
  return TPA_OK;
}
