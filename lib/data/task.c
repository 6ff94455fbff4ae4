/* SPDX-License-Identifier: Apache-2.0 */
/* The task table and the public task functions. */
#include "data/task.h"

#include <stddef.h>

#include "core/error.h"

#define CLASS_METRICS TPA_METRIC_ACCURACY

/* Indexed by tpa_task. Column numbers and label orders are docs/method.md's
 * table; min_cols is the highest column used plus one (MNLI: texts at 8
 * and 9 and the label after them, so at least 11). */
static const tpa__task_info tpa__tasks[TPA_TASK_COUNT] = {
    [TPA_TASK_COLA] = {"cola",
                       NULL,
                       2,
                       3,
                       TPA__COL_NONE,
                       1,
                       4,
                       false,
                       {"0", "1", NULL},
                       TPA_METRIC_ACCURACY | TPA_METRIC_MATTHEWS},
    [TPA_TASK_SST2] =
        {"sst2", "sst-2", 2, 0, TPA__COL_NONE, 1, 2, true, {"0", "1", NULL}, CLASS_METRICS},
    [TPA_TASK_MRPC] =
        {"mrpc", NULL, 2, 3, 4, 0, 5, true, {"0", "1", NULL}, TPA_METRIC_ACCURACY | TPA_METRIC_F1},
    [TPA_TASK_STSB] = {"stsb",
                       "sts-b",
                       1,
                       7,
                       8,
                       9,
                       10,
                       true,
                       {NULL, NULL, NULL},
                       TPA_METRIC_PEARSON | TPA_METRIC_SPEARMAN},
    [TPA_TASK_QQP] =
        {"qqp", NULL, 2, 3, 4, 5, 6, true, {"0", "1", NULL}, TPA_METRIC_ACCURACY | TPA_METRIC_F1},
    [TPA_TASK_MNLI] = {"mnli",
                       NULL,
                       3,
                       8,
                       9,
                       TPA__COL_LAST,
                       11,
                       true,
                       {"contradiction", "entailment", "neutral"},
                       CLASS_METRICS},
    [TPA_TASK_QNLI] =
        {"qnli", NULL, 2, 1, 2, 3, 4, true, {"entailment", "not_entailment", NULL}, CLASS_METRICS},
    [TPA_TASK_RTE] =
        {"rte", NULL, 2, 1, 2, 3, 4, true, {"entailment", "not_entailment", NULL}, CLASS_METRICS},
    [TPA_TASK_WNLI] = {"wnli", NULL, 2, 1, 2, 3, 4, true, {"0", "1", NULL}, CLASS_METRICS},
};

const tpa__task_info *tpa__task_info_get(tpa_task task) {
  /* Compare as unsigned so that a negative value cast to the enum fails too. */
  if ((unsigned)task >= TPA_TASK_COUNT)
    return NULL;
  return &tpa__tasks[task];
}

/* ASCII-only case folding: task names are ASCII, and the C library's
 * tolower() depends on the caller's locale. */
static int ascii_lower(int c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool name_equals(const char *input, const char *name) {
  if (!name)
    return false;
  for (; *input && *name; input++, name++)
    if (ascii_lower((unsigned char)*input) != *name)
      return false;
  return *input == '\0' && *name == '\0';
}

TPA_API tpa_status tpa_task_from_name(const char *name, tpa_task *task) {
  tpa__error_clear();
  if (!name || !task)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_task_from_name: NULL argument");
  for (int t = 0; t < TPA_TASK_COUNT; t++) {
    if (name_equals(name, tpa__tasks[t].name) || name_equals(name, tpa__tasks[t].alias)) {
      *task = (tpa_task)t;
      return TPA_OK;
    }
  }
  return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                    "unknown task \"%.64s\" (expected one of cola sst2 mrpc stsb qqp mnli "
                    "qnli rte wnli)",
                    name);
}

TPA_API const char *tpa_task_name(tpa_task task) {
  const tpa__task_info *info = tpa__task_info_get(task);
  return info ? info->name : NULL;
}

TPA_API int32_t tpa_task_num_labels(tpa_task task) {
  const tpa__task_info *info = tpa__task_info_get(task);
  return info ? info->num_labels : 0;
}

TPA_API bool tpa_task_is_pair(tpa_task task) {
  const tpa__task_info *info = tpa__task_info_get(task);
  return info && info->col_b != TPA__COL_NONE;
}

TPA_API const char *tpa_task_label_name(tpa_task task, int32_t id) {
  const tpa__task_info *info = tpa__task_info_get(task);
  if (!info || id < 0 || id >= 3)
    return NULL;
  return info->labels[id];
}
