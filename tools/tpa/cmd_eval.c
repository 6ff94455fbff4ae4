/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa eval`: the task's GLUE metrics of a model on a labelled file, as
 * one JSON object. */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "cli.h"

static const char eval_help[] =
    "Usage: tpa eval --model DIR --task TASK --data FILE [OPTIONS]\n"
    "\n"
    "Run the model on every example of a labelled GLUE task file and print\n"
    "the task's metrics as one JSON object on stdout, e.g.\n"
    "  {\"task\": \"mrpc\", \"examples\": 408, \"accuracy\": 0.86, \"f1\": 0.9, \"main\": 0.88}\n"
    "Metrics: accuracy (all classification tasks), f1 (mrpc, qqp), matthews\n"
    "(cola), pearson and spearman (stsb); main is GLUE's headline figure.\n"
    "\n"
    "Options:\n"
    "  --model DIR           Hugging Face checkpoint directory\n"
    "  --task TASK           cola sst2 mrpc stsb qqp mnli qnli rte wnli\n"
    "                        (case-insensitive; sst-2 and sts-b accepted)\n"
    "  --data FILE           the task's labelled TSV file (.gz is decompressed)\n"
    "  --max-seq-length N    truncation length, special tokens included (128,\n"
    "                        or max_position_embeddings if the model has fewer)\n"
    "  --batch-size N        examples per batch (32)\n"
    "  --threads N           compute threads (sets OMP_NUM_THREADS)\n"
    "  --limit N             only the first N examples\n"
    "  -q, --quiet           nothing on stderr but errors (no progress, no\n"
    "                        library messages)\n"
    "  -h, --help            show this help\n";

/* JSON has no NaN (e.g. Matthews of a constant prediction): null then. */
static json_t *jreal(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

static int print_metrics(tpa_task task, const tpa_metrics *m) {
  static const struct {
    uint32_t bit;
    const char *name;
    size_t offset;
  } fields[] = {
      {TPA_METRIC_ACCURACY, "accuracy", offsetof(tpa_metrics, accuracy)},
      {TPA_METRIC_F1, "f1", offsetof(tpa_metrics, f1)},
      {TPA_METRIC_MATTHEWS, "matthews", offsetof(tpa_metrics, matthews)},
      {TPA_METRIC_PEARSON, "pearson", offsetof(tpa_metrics, pearson)},
      {TPA_METRIC_SPEARMAN, "spearman", offsetof(tpa_metrics, spearman)},
  };
  json_t *root = json_object();
  if (root == NULL)
    return cli_fail("out of memory (building the JSON report)");
  /* set_new steals the value even when it fails, so one flag suffices. */
  bool ok = json_object_set_new(root, "task", json_string(tpa_task_name(task))) == 0;
  ok &= json_object_set_new(root, "examples", json_integer((json_int_t)m->count)) == 0;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (!(m->present & fields[i].bit))
      continue;
    double v = *(const double *)((const char *)m + fields[i].offset);
    ok &= json_object_set_new(root, fields[i].name, jreal(v)) == 0;
  }
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
  tpa_status st = tpa_metrics_compute(o->task, logits, labels, n, &m);
  free(labels);
  if (st != TPA_OK)
    return cli_fail_lib(st);
  return print_metrics(o->task, &m);
}

static int eval_run(int argc, char **argv) {
  cli_run_opts o;
  int rc = cli_parse_run(&cli_cmd_eval,
                         CLI_OPT_MODEL | CLI_OPT_TASK | CLI_OPT_DATA | CLI_OPT_MAX_SEQ |
                             CLI_OPT_BATCH | CLI_OPT_THREADS | CLI_OPT_QUIET | CLI_OPT_LIMIT,
                         argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return CLI_EXIT_OK;
  if (rc != CLI_PARSED)
    return rc;
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
    .summary = "print the task's metrics of a model on a labelled GLUE file (JSON)",
    .help = eval_help,
    .run = eval_run,
};
