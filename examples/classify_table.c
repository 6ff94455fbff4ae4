/* SPDX-License-Identifier: Apache-2.0 */
/* Your own data through libtpa's public API: label new text with a model.
 *
 *   cc classify_table.c $(pkg-config --cflags --libs libtpa) -o classify_table
 *   ./classify_table MODEL_DIR DATA.csv|.tsv|.jsonl [TEXT_COLUMN]
 *
 * Reads a table (labels or not; the text column by name or number, by
 * default text, sentence1, question or sentence), predicts every row and
 * prints the model's class name (config.json id2label) and probability.
 * When the file has a label column the dataset's metrics are printed too,
 * with the model's classes as the label set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <tpa/tpa.h>

static int fail(const char *what, tpa_status st) {
  fprintf(stderr, "%s: %s (%s)\n", what, tpa_last_error(), tpa_status_str(st));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s MODEL_DIR DATA.csv|.tsv|.jsonl [TEXT_COLUMN]\n", argv[0]);
    return 2;
  }
  tpa_model *model = NULL;
  tpa_status st = tpa_model_load(&model, argv[1], NULL);
  if (st != TPA_OK)
    return fail("load", st);
  tpa_model_config cfg = {.size = sizeof cfg};
  if ((st = tpa_model_get_config(model, &cfg)) != TPA_OK) {
    tpa_model_free(model);
    return fail("config", st);
  }
  const int32_t k = cfg.num_labels;

  /* The model's classes are the label set, so a labelled file is scored
   * against them (an unlabeled one simply has no labels). */
  const char **names = calloc((size_t)k, sizeof *names);
  for (int32_t i = 0; names && i < k; i++)
    names[i] = tpa_model_label_name(model, i);
  tpa_table_params tp;
  tpa_table_params_init(&tp, sizeof tp);
  tp.text_column = argc == 4 ? argv[3] : NULL;
  if (k == 1) {
    tp.regression = true;
  } else {
    tp.labels = names;
    tp.num_labels = k;
  }
  tpa_dataset *ds = NULL;
  st = names ? tpa_dataset_load_table(&ds, argv[2], &tp) : TPA_ERR_NO_MEMORY;
  free(names);
  if (st != TPA_OK) {
    tpa_model_free(model);
    return fail("data", st);
  }

  const size_t n = tpa_dataset_size(ds);
  float *logits = malloc(n * (size_t)k * sizeof *logits);
  float *labels = malloc(n * sizeof *labels);
  int rc = 1;
  if (!logits || !labels)
    goto out;
  if ((st = tpa_model_predict(model, ds, NULL, logits, n * (size_t)k)) != TPA_OK) {
    rc = fail("predict", st);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    const float *row = logits + i * (size_t)k;
    if (k == 1) {
      printf("%zu\t%.4f\t%s\n", i, row[0], tpa_dataset_text_a(ds, i));
      continue;
    }
    int32_t best = 0;
    for (int32_t j = 1; j < k; j++)
      if (row[j] > row[best])
        best = j;
    double sum = 0;
    for (int32_t j = 0; j < k; j++)
      sum += exp((double)row[j] - (double)row[best]);
    printf("%zu\t%s\t%.4f\t%s\n", i, tpa_model_label_name(model, best), 1.0 / sum,
           tpa_dataset_text_a(ds, i));
  }
  if (tpa_dataset_has_labels(ds)) {
    for (size_t i = 0; i < n; i++)
      labels[i] = tpa_dataset_label(ds, i);
    tpa_metrics m = {.size = sizeof m};
    tpa_metrics_extra x = {.size = sizeof x};
    if ((st = tpa_dataset_metrics(ds, logits, labels, n, &m, &x)) != TPA_OK) {
      rc = fail("metrics", st);
      goto out;
    }
    if (k == 1)
      printf("pearson %.4f spearman %.4f\n", m.pearson, m.spearman);
    else
      printf("accuracy %.4f macro-F1 %.4f matthews %.4f\n", m.accuracy, x.macro_f1, m.matthews);
  }
  rc = 0;
out:
  free(labels);
  free(logits);
  tpa_dataset_free(ds);
  tpa_model_free(model);
  return rc;
}
