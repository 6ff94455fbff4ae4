/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa predict`: the logits of every example of a GLUE file or a table of
 * one's own (labels or not), as TSV or as JSON Lines with label names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char predict_help[] =
    "Usage: tpa predict --model DIR --data FILE [--task TASK] [OPTIONS]\n"
    "\n"
    "Run the model on every example of a file, labelled or not (GLUE's\n"
    "test.tsv too), and print one line per example in file order. --format\n"
    "tsv (default): the 0-based example index, then each logit (%.9g),\n"
    "separated by tabs. --format jsonl: one JSON object per example,\n"
    "  {\"index\": 0, \"label\": \"positive\", \"score\": 0.93, \"logits\": [...]}\n"
    "with the class name from the model's id2label and its softmax\n"
    "probability (regression: \"score\" is the predicted value, no label).\n"
    "\n"
    "Options:\n"
    "  --model DIR           Hugging Face checkpoint directory\n"
    "  --data FILE           the examples (.gz is decompressed)\n"
    "  --task TASK           a GLUE task file: cola sst2 mrpc stsb qqp mnli qnli\n"
    "                        rte wnli (case-insensitive; sst-2 and sts-b too)\n"
    "  --format tsv|jsonl    output format (tsv)\n"
    "  --data-format csv|tsv|jsonl  input format (default: from the file name)\n"
    "  --text-column C       text column, by header name or 1-based number\n"
    "                        (default: text, sentence1, question or sentence)\n"
    "  --text-pair-column C  second text (default: sentence2 with sentence1,\n"
    "                        sentence with question)\n"
    "  --max-seq-length N    truncation length, special tokens included (128,\n"
    "                        or max_position_embeddings if the model has fewer)\n"
    "  --batch-size N        examples per batch (32)\n"
    "  --threads N           compute threads (sets OMP_NUM_THREADS; default:\n"
    "                        the environment's, else every core)\n"
    "  --limit N             only the first N examples\n"
    "  -o, --out FILE        write to FILE (atomically) instead of stdout\n"
    "  -q, --quiet           nothing on stderr but errors (no progress, no\n"
    "                        library messages)\n"
    "  -h, --help            show this help\n";

/* One JSON Lines object per example: the class with the largest logit
 * (the first on ties), its softmax probability, and the logits. */
static void write_jsonl(FILE *fp, const tpa_model *model, const float *logits, size_t n,
                        int32_t width) {
  for (size_t i = 0; i < n; i++) {
    const float *row = logits + i * (size_t)width;
    fprintf(fp, "{\"index\": %zu, ", i);
    if (width == 1) {
      fprintf(fp, "\"score\": %.9g, ", (double)row[0]);
    } else {
      int32_t best = 0;
      for (int32_t k = 1; k < width; k++)
        if (row[k] > row[best])
          best = k;
      double sum = 0;
      for (int32_t k = 0; k < width; k++)
        sum += exp((double)row[k] - (double)row[best]);
      fputs("\"label\": ", fp);
      cli_json_string(fp, tpa_model_label_name(model, best));
      fprintf(fp, ", \"score\": %.9g, ", 1.0 / sum);
    }
    fputs("\"logits\": [", fp);
    for (int32_t k = 0; k < width; k++)
      fprintf(fp, k ? ", %.9g" : "%.9g", (double)row[k]);
    fputs("]}\n", fp);
  }
}

static void write_rows(FILE *fp, const float *logits, size_t n, int32_t width) {
  for (size_t i = 0; i < n; i++) {
    fprintf(fp, "%zu", i);
    for (int32_t k = 0; k < width; k++)
      fprintf(fp, "\t%.9g", (double)logits[i * (size_t)width + (size_t)k]);
    fputc('\n', fp);
  }
}

static int predict_run(int argc, char **argv) {
  cli_run_opts o;
  int rc = cli_parse_run(&cli_cmd_predict,
                         CLI_OPT_MODEL | CLI_OPT_TASK | CLI_OPT_DATA | CLI_OPT_MAX_SEQ |
                             CLI_OPT_BATCH | CLI_OPT_OUT | CLI_OPT_THREADS | CLI_OPT_QUIET |
                             CLI_OPT_LIMIT | CLI_OPT_TABLE | CLI_OPT_FORMAT_OUT,
                         argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return CLI_EXIT_OK;
  if (rc != CLI_PARSED)
    return rc;
  static const char *const formats[] = {"tsv", "jsonl", NULL};
  int jsonl = 0;
  if (o.table.out_format &&
      !cli_parse_choice("predict", "format", o.table.out_format, formats, &jsonl))
    return CLI_EXIT_USAGE;
  o.classes = CLI_CLASSES_NONE; /* prediction reads no labels */
  if (!cli_apply_threads(o.threads, cli_argv_full))
    return CLI_EXIT_FAILURE;

  /* Open the output first: an unwritable destination should fail before
   * minutes of compute, not after. */
  cli_output out;
  if (!cli_output_open(&out, o.out))
    return CLI_EXIT_FAILURE;
  tpa_model *model = NULL;
  tpa_dataset *ds = NULL;
  float *logits = NULL;
  int32_t width = 0;
  rc = CLI_EXIT_FAILURE;
  if (cli_load_model_and_data(&o, &model, &ds) && cli_predict_all(&o, model, ds, &logits, &width)) {
    if (jsonl)
      write_jsonl(out.fp, model, logits, tpa_dataset_size(ds), width);
    else
      write_rows(out.fp, logits, tpa_dataset_size(ds), width);
    if (cli_output_commit(&out))
      rc = CLI_EXIT_OK;
  }
  cli_output_abort(&out);
  free(logits);
  tpa_dataset_free(ds);
  tpa_model_free(model);
  return rc;
}

const cli_command cli_cmd_predict = {
    .name = "predict",
    .summary = "predict every example of a file: logits (TSV) or labels (JSON Lines)",
    .help = predict_help,
    .run = predict_run,
};
