/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_metrics_compute: GLUE's metrics per task and its headline figure.
 * Every classification task reports accuracy; MRPC and QQP add F1 of class
 * 1, CoLA adds the Matthews correlation, STS-B reports Pearson and
 * Spearman. "main" is the figure GLUE's leaderboard ranks by: MCC for
 * CoLA, accuracy for SST-2/MNLI/QNLI/RTE/WNLI, the mean of F1 and accuracy
 * for MRPC and QQP, the mean of Pearson and Spearman for STS-B. A table
 * dataset (data/table.c) reports accuracy, macro-F1, MCC and, with two
 * classes, F1 of class 1, or Pearson and Spearman; its main is one metric. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "data/dataset.h"
#include "data/metrics.h"
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

static tpa_status classify(const tpa__metric_spec *spec, const float *logits, const float *labels,
                           size_t n, const char *fn, tpa_metrics *m, tpa_metrics_extra *x) {
  const int32_t k = spec->num_labels;
  const char *what = spec->task < TPA_TASK_COUNT ? tpa_task_name(spec->task) : "dataset";
  tpa__confusion c;
  tpa_status st = tpa__confusion_init(&c, k);
  if (st != TPA_OK)
    return st;
  for (size_t i = 0; i < n && st == TPA_OK; i++) {
    const float *row = logits + i * (size_t)k;
    for (int32_t j = 0; j < k && st == TPA_OK; j++)
      if (isnan(row[j]))
        st = tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: logit %d of example %zu is NaN", fn, (int)j,
                        i);
    float gold = labels[i];
    /* The range test also rejects NaN. */
    if (st == TPA_OK && (!(gold >= 0 && gold < (float)k) || gold != floorf(gold)))
      st = tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: label %g of example %zu is not a %s class id (0 to %d)", fn,
                      (double)gold, i, what, (int)k - 1);
    if (st == TPA_OK)
      tpa__confusion_add(&c, (int32_t)gold, argmax(row, k));
  }
  if (st == TPA_OK) {
    m->accuracy = tpa__accuracy(&c);
    m->main = m->accuracy;
    if (spec->present & TPA_METRIC_F1) {
      m->f1 = tpa__f1(&c, 1);
      m->main = 0.5 * (m->f1 + m->accuracy);
    }
    if (spec->present & TPA_METRIC_MATTHEWS) {
      m->matthews = tpa__matthews(&c);
      m->main = m->matthews;
    }
    if (spec->present & TPA_METRIC_MACRO_F1)
      x->macro_f1 = tpa__macro_f1(&c);
  }
  tpa__confusion_free(&c);
  return st;
}

static tpa_status regress(const float *pred, const float *gold, size_t n, const char *fn,
                          tpa_metrics *m) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(pred[i]) || !isfinite(gold[i]))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: example %zu has a non-finite %s (%g)", fn, i,
                        isfinite(pred[i]) ? "label" : "prediction",
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

TPA_API double tpa_metrics_value(const tpa_metrics *m, const tpa_metrics_extra *extra,
                                 uint32_t bit) {
  if (!m || !(m->present & bit) || m->size < sizeof(size_t))
    return NAN;
  switch (bit) {
  case TPA_METRIC_ACCURACY: return m->accuracy;
  case TPA_METRIC_F1: return m->f1;
  case TPA_METRIC_MATTHEWS: return m->matthews;
  case TPA_METRIC_PEARSON: return m->pearson;
  case TPA_METRIC_SPEARMAN: return m->spearman;
  case TPA_METRIC_MACRO_F1:
    return extra && extra->size >= TPA__PARAMS_END(tpa_metrics_extra, macro_f1) ? extra->macro_f1
                                                                                : NAN;
  default: return NAN;
  }
}

static const struct {
  const char *name;
  uint32_t bit;
} metric_names[] = {
    {"accuracy", TPA_METRIC_ACCURACY}, {"f1", TPA_METRIC_F1},
    {"macro_f1", TPA_METRIC_MACRO_F1}, {"matthews", TPA_METRIC_MATTHEWS},
    {"mcc", TPA_METRIC_MATTHEWS},      {"pearson", TPA_METRIC_PEARSON},
    {"spearman", TPA_METRIC_SPEARMAN},
};

TPA_API tpa_status tpa_metric_from_name(const char *name, uint32_t *bit) {
  tpa__error_clear();
  if (!name || !bit)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_metric_from_name: NULL argument");
  for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++)
    if (strcmp(name, metric_names[i].name) == 0) {
      *bit = metric_names[i].bit;
      return TPA_OK;
    }
  return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                    "unknown metric \"%.64s\" (expected accuracy, f1, macro_f1, matthews, "
                    "pearson or spearman)",
                    name);
}

tpa_status tpa__metrics_compute(const tpa__metric_spec *spec, const float *logits,
                                const float *labels, size_t n, uint32_t select, const char *fn,
                                tpa_metrics *out, tpa_metrics_extra *extra) {
  if (!logits || !labels)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: NULL logits or labels", fn);
  if (n == 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: no examples", fn);
  if (spec->num_labels < 1)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: no label space", fn);
  size_t values;
  if (!tpa__mul_size(n, (size_t)spec->num_labels, &values))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: n is too large", fn);
  if (select && !(spec->present & select))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: metric %s is not computed for this data", fn,
                      tpa__metric_name(select));

  tpa_metrics m;
  tpa_metrics_extra x;
  memset(&m, 0, sizeof m);
  memset(&x, 0, sizeof x);
  m.size = sizeof m;
  x.size = sizeof x;
  m.present = spec->present;
  m.count = n;
  tpa_status st = spec->num_labels == 1 ? regress(logits, labels, n, fn, &m)
                                        : classify(spec, logits, labels, n, fn, &m, &x);
  if (st != TPA_OK)
    return st;
  /* A table's main metric is one metric, not GLUE's composite. */
  const uint32_t main = select ? select : spec->main;
  if (main)
    m.main = tpa_metrics_value(&m, &x, main);
  tpa__result_write(out, &m, sizeof m);
  if (extra)
    tpa__result_write(extra, &x, sizeof x);
  return TPA_OK;
}

const char *tpa__metric_name(uint32_t bit) {
  for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++)
    if (metric_names[i].bit == bit)
      return metric_names[i].name;
  return "?";
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
  const tpa__metric_spec spec = {task, info->num_labels, info->metrics, 0};
  return tpa__metrics_compute(&spec, logits, labels, n, 0, "tpa_metrics_compute", out, NULL);
}

void tpa__dataset_metric_spec(const tpa_dataset *ds, tpa__metric_spec *spec) {
  const tpa__task_info *info = tpa__task_info_get(ds->task);
  if (info) {
    *spec = (tpa__metric_spec){ds->task, info->num_labels, info->metrics, 0};
    return;
  }
  spec->task = TPA_TASK_COUNT;
  spec->num_labels = ds->num_labels;
  if (ds->num_labels == 1) {
    spec->present = TPA_METRIC_PEARSON | TPA_METRIC_SPEARMAN;
    spec->main = TPA_METRIC_PEARSON;
  } else {
    spec->present = TPA_METRIC_ACCURACY | TPA_METRIC_MACRO_F1 | TPA_METRIC_MATTHEWS |
                    (ds->num_labels == 2 ? TPA_METRIC_F1 : 0);
    spec->main = TPA_METRIC_ACCURACY;
  }
}

TPA_API tpa_status tpa_dataset_metrics(const tpa_dataset *ds, const float *logits,
                                       const float *labels, size_t n, tpa_metrics *out,
                                       tpa_metrics_extra *extra) {
  tpa__error_clear();
  tpa_status st = tpa__result_check(out, "tpa_dataset_metrics: out");
  if (st == TPA_OK && extra)
    st = tpa__result_check(extra, "tpa_dataset_metrics: extra");
  if (st != TPA_OK)
    return st;
  if (!ds)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dataset_metrics: dataset is NULL");
  tpa__metric_spec spec;
  tpa__dataset_metric_spec(ds, &spec);
  return tpa__metrics_compute(&spec, logits, labels, n, 0, "tpa_dataset_metrics", out, extra);
}
