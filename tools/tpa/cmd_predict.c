/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa predict`: the logits of every example of a GLUE file, as TSV. */
#include <stdlib.h>

#include "cli.h"

static const char predict_help[] =
    "Usage: tpa predict --model DIR --task TASK --data FILE [OPTIONS]\n"
    "\n"
    "Run the model on every example of a GLUE task file and print one line\n"
    "per example, in file order: the 0-based example index, then each logit\n"
    "(%.9g), separated by tabs. STS-B has one value per line, MNLI three,\n"
    "the other tasks two.\n"
    "\n"
    "Options:\n"
    "  --model DIR           Hugging Face checkpoint directory\n"
    "  --task TASK           cola sst2 mrpc stsb qqp mnli qnli rte wnli\n"
    "                        (case-insensitive; sst-2 and sts-b accepted)\n"
    "  --data FILE           the task's TSV file (.gz is decompressed)\n"
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
  int rc =
      cli_parse_run(&cli_cmd_predict,
                    CLI_OPT_MODEL | CLI_OPT_TASK | CLI_OPT_DATA | CLI_OPT_MAX_SEQ | CLI_OPT_BATCH |
                        CLI_OPT_OUT | CLI_OPT_THREADS | CLI_OPT_QUIET | CLI_OPT_LIMIT,
                    argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return CLI_EXIT_OK;
  if (rc != CLI_PARSED)
    return rc;
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
    .summary = "print the logits of every example of a GLUE file (TSV)",
    .help = predict_help,
    .run = predict_run,
};
