/* SPDX-License-Identifier: Apache-2.0 */
/* Inference with libtpa through its public API only.
 *
 *   cc predict.c $(pkg-config --cflags --libs libtpa) -o predict
 *   ./predict MODEL_DIR TASK DATA.tsv
 *
 * Loads an HF checkpoint directory, reads a GLUE file, prints the logits of
 * the first examples and the task's metrics. */
#include <stdio.h>
#include <stdlib.h>

#include <tpa/tpa.h>

static int fail(const char *what, tpa_status st) {
  fprintf(stderr, "%s: %s (%s)\n", what, tpa_last_error(), tpa_status_str(st));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MODEL_DIR TASK DATA.tsv\n", argv[0]);
    return 2;
  }
  tpa_task task;
  tpa_status st = tpa_task_from_name(argv[2], &task);
  if (st != TPA_OK)
    return fail("task", st);

  tpa_model *model = NULL;
  st = tpa_model_load(&model, argv[1], NULL); /* NULL params: defaults */
  if (st != TPA_OK)
    return fail("load", st);

  tpa_dataset *ds = NULL;
  st = tpa_dataset_load(&ds, task, argv[3], NULL);
  if (st != TPA_OK) {
    tpa_model_free(model);
    return fail("data", st);
  }

  size_t n = tpa_dataset_size(ds);
  int32_t width = tpa_task_num_labels(task);
  float *logits = malloc(n * (size_t)width * sizeof *logits);
  float *labels = malloc(n * sizeof *labels);
  int rc = 1;
  if (!logits || !labels)
    goto out;

  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.batch_size = 16;
  st = tpa_model_predict(model, ds, &pp, logits, n * (size_t)width);
  if (st != TPA_OK) {
    rc = fail("predict", st);
    goto out;
  }
  for (size_t i = 0; i < n && i < 5; i++) {
    printf("%zu", i);
    for (int32_t j = 0; j < width; j++)
      printf("\t%.6f", logits[i * (size_t)width + (size_t)j]);
    printf("\t%s\n", tpa_dataset_text_a(ds, i));
  }
  for (size_t i = 0; i < n; i++)
    labels[i] = tpa_dataset_label(ds, i);
  tpa_metrics m = {.size = sizeof m};
  st = tpa_metrics_compute(task, logits, labels, n, &m);
  if (st != TPA_OK) {
    rc = fail("metrics", st);
    goto out;
  }
  printf("%s on %zu examples: main metric %.4f\n", tpa_task_name(task), n, m.main);
  rc = 0;
out:
  free(labels);
  free(logits);
  tpa_dataset_free(ds);
  tpa_model_free(model);
  return rc;
}
