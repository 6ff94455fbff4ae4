/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa eval`: the metrics of a model on a labelled file (a GLUE task's,
 * or a table's of one's own), as one JSON object. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "cli.h"

static const char eval_help[] =
    "Usage: tpa eval --model DIR --data FILE [--task TASK] [OPTIONS]\n"
    "\n"
    "Run the model on every example of a labelled file and print its metrics\n"
    "as one JSON object on stdout, e.g.\n"
    "  {\"task\": \"mrpc\", \"examples\": 408, \"accuracy\": 0.86, \"f1\": 0.9, \"main\": 0.88}\n"
    "GLUE tasks: accuracy (classification), f1 (mrpc, qqp), matthews (cola),\n"
    "pearson and spearman (stsb); main is GLUE's headline figure. Your own\n"
    "data: accuracy, macro_f1, matthews and, with two classes, f1 of class 1;\n"
    "pearson and spearman for regression; main is --metric's (accuracy, or\n"
    "pearson for regression). The labels are the model's classes (id2label)\n"
    "unless --labels names them.\n"
    "\n"
    "Options:\n"
    "  --model DIR           Hugging Face checkpoint directory\n"
    "  --data FILE           the labelled file (.gz is decompressed)\n"
    "  --task TASK           a GLUE task file: cola sst2 mrpc stsb qqp mnli qnli\n"
    "                        rte wnli (case-insensitive; sst-2 and sts-b too)\n"
    "  --max-seq-length N    truncation length, special tokens included (128,\n"
    "                        or max_position_embeddings if the model has fewer)\n"
    "  --batch-size N        examples per batch (32)\n"
    "  --threads N           compute threads (sets OMP_NUM_THREADS)\n"
    "  --limit N             only the first N examples\n"
    "  -q, --quiet           nothing on stderr but errors (no progress, no\n"
    "                        library messages)\n"
    "  -h, --help            show this help\n"
    "\n" CLI_DATA_HELP;

/* JSON has no NaN (e.g. Matthews of a constant prediction): null then. */
static json_t *jreal(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

static int print_metrics(const tpa_dataset *ds, uint32_t metric, const tpa_metrics *m,
                         const tpa_metrics_extra *x) {
  json_t *root = json_object();
  if (root == NULL)
    return cli_fail("out of memory (building the JSON report)");
  /* set_new steals the value even when it fails, so one flag suffices. */
  const char *task = tpa_task_name(tpa_dataset_task(ds));
  bool ok = json_object_set_new(root, "task", task ? json_string(task) : json_null()) == 0;
  ok &= json_object_set_new(root, "examples", json_integer((json_int_t)m->count)) == 0;
  if (!task || metric) {
    /* A table's main figure is one named metric: say which. */
    const uint32_t main = metric                            ? metric
                          : tpa_dataset_num_labels(ds) == 1 ? TPA_METRIC_PEARSON
                                                            : TPA_METRIC_ACCURACY;
    ok &= json_object_set_new(root, "metric", json_string(cli_metric_name(main))) == 0;
  }
  cli_metrics_json(root, m, x);
  ok &= json_object_set_new(root, "main", jreal(m->main)) == 0;
  char *text = ok ? json_dumps(root, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
  json_decref(root);
  if (text == NULL)
    return cli_fail("out of memory (building the JSON report)");
  puts(text);
  free(text);
  cli_output out = {.fp = stdout};
  return cli_output_commit(&out) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static int score(const cli_run_opts *o, const tpa_dataset *ds, const float *logits) {
  size_t n = tpa_dataset_size(ds);
  float *labels = malloc((n + 1) * sizeof *labels);
  if (labels == NULL)
    return cli_fail("out of memory (%zu labels)", n);
  for (size_t i = 0; i < n; i++) {
    labels[i] = tpa_dataset_label(ds, i);
    if (isnan(labels[i])) {
      free(labels);
      return cli_fail("%s: example %zu has no label (a test file?); eval needs labels", o->data, i);
    }
  }
  tpa_metrics m = {.size = sizeof m};
  tpa_metrics_extra x = {.size = sizeof x};
  tpa_status st = tpa_dataset_metrics(ds, logits, labels, n, &m, &x);
  free(labels);
  if (st != TPA_OK)
    return cli_fail_lib(st);
  const uint32_t metric = o->table.metric;
  if (metric) {
    if (!(m.present & metric))
      return cli_fail("--metric: not computed for this data");
    m.main = tpa_metrics_value(&m, &x, metric);
  }
  return print_metrics(ds, metric, &m, &x);
}

static int eval_run(int argc, char **argv) {
  cli_run_opts o;
  int rc =
      cli_parse_run(&cli_cmd_eval,
                    CLI_OPT_MODEL | CLI_OPT_TASK | CLI_OPT_DATA | CLI_OPT_MAX_SEQ | CLI_OPT_BATCH |
                        CLI_OPT_THREADS | CLI_OPT_QUIET | CLI_OPT_LIMIT | CLI_OPT_TABLE,
                    argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return CLI_EXIT_OK;
  if (rc != CLI_PARSED)
    return rc;
  o.classes = CLI_CLASSES_MODEL;
  if (!cli_apply_threads(o.threads, cli_argv_full))
    return CLI_EXIT_FAILURE;

  tpa_model *model = NULL;
  tpa_dataset *ds = NULL;
  float *logits = NULL;
  int32_t width = 0;
  rc = CLI_EXIT_FAILURE;
  if (cli_load_model_and_data(&o, &model, &ds) && cli_predict_all(&o, model, ds, &logits, &width))
    rc = score(&o, ds, logits);
  free(logits);
  tpa_dataset_free(ds);
  tpa_model_free(model);
  return rc;
}

const cli_command cli_cmd_eval = {
    .name = "eval",
    .summary = "print a model's metrics on a labelled file (JSON)",
    .help = eval_help,
    .run = eval_run,
};
