/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa quantize --model DIR --out DIR [--calibration FILE ...]`: write an
 * int8 copy of a model (docs/quantization.md): int8 block weights with
 * per-row scales, activation scales per row at run time or, with
 * calibration data, one per Linear measured on it. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char quantize_help[] =
    "Usage: tpa quantize --model DIR --out DIR [--calibration FILE [--task TASK]\n"
    "                    [--text-column C] [--text-pair-column C] [--limit N]\n"
    "                    [--max-seq-length N]]\n"
    "\n"
    "Write an int8 copy of a model (pruned and merged, or not): the weights of\n"
    "every block's query, key, value, attention output, intermediate and output\n"
    "dense, and the word embeddings, become symmetric int8 with one scale per\n"
    "output row (safetensors I8 beside F32 \"<name>_scale\" tensors, and a\n"
    "\"quantization_config\" in config.json). Those layers then run as int8\n"
    "matrix products; LayerNorm, softmax, GELU and the classification head stay\n"
    "f32. tpa predict, eval and info take the result as any model.\n"
    "\n"
    "Activations are quantized as they enter each layer, by default per token\n"
    "from its largest value. With --calibration the model is first run on\n"
    "those examples and each layer gets one fixed input scale (static\n"
    "quantization, stored as \"input_scale\" tensors).\n"
    "\n"
    "Options:\n"
    "  --model DIR           f32 Hugging Face checkpoint directory\n"
    "  --out DIR             output directory (written atomically, whole)\n"
    "  --calibration FILE    examples for static scales: a GLUE file with\n"
    "                        --task, or a CSV, TSV or JSON Lines table\n"
    "  --task TASK           the calibration file is GLUE's TASK\n"
    "  --text-column C       the table's text column (default: text, sentence1,\n"
    "                        question or sentence)\n"
    "  --text-pair-column C  its second text\n"
    "  --limit N             calibration examples used (256)\n"
    "  --max-seq-length N    truncation length of calibration examples (128,\n"
    "                        or max_position_embeddings if the model has fewer)\n"
    "  -q, --quiet           nothing on stderr but errors\n"
    "  -h, --help            show this help\n";

typedef struct quantize_opts {
  const char *model, *out, *calibration, *text, *pair;
  const char *task_name;
  long limit, max_seq;
  bool quiet;
} quantize_opts;

enum { OPT_MODEL = 256, OPT_OUT, OPT_CAL, OPT_TASK, OPT_TEXT, OPT_PAIR, OPT_LIMIT, OPT_MAX_SEQ };

static int parse(int argc, char **argv, quantize_opts *o) {
  static const struct option longopts[] = {
      {"model", required_argument, NULL, OPT_MODEL},
      {"out", required_argument, NULL, OPT_OUT},
      {"calibration", required_argument, NULL, OPT_CAL},
      {"task", required_argument, NULL, OPT_TASK},
      {"text-column", required_argument, NULL, OPT_TEXT},
      {"text-pair-column", required_argument, NULL, OPT_PAIR},
      {"limit", required_argument, NULL, OPT_LIMIT},
      {"max-seq-length", required_argument, NULL, OPT_MAX_SEQ},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c, rc = CLI_PARSED;
  optind = 1;
  while ((c = cli_next_option("quantize", quantize_help, argc, argv, ":hq", longopts, &rc))) {
    switch (c) {
    case OPT_MODEL: o->model = optarg; break;
    case OPT_OUT: o->out = optarg; break;
    case OPT_CAL: o->calibration = optarg; break;
    case OPT_TASK: o->task_name = optarg; break;
    case OPT_TEXT: o->text = optarg; break;
    case OPT_PAIR: o->pair = optarg; break;
    case OPT_LIMIT:
      if (!cli_parse_int("quantize", "limit", optarg, 1, 1L << 30, &o->limit))
        return CLI_EXIT_USAGE;
      break;
    case OPT_MAX_SEQ:
      if (!cli_parse_int("quantize", "max-seq-length", optarg, 3, 1 << 20, &o->max_seq))
        return CLI_EXIT_USAGE;
      break;
    case 'q': o->quiet = true; break;
    }
  }
  if (rc != CLI_PARSED)
    return rc;
  if (cli_missing("quantize", o->model, "--model DIR") ||
      cli_missing("quantize", o->out, "--out DIR"))
    return CLI_EXIT_USAGE;
  if (!o->calibration && (o->task_name || o->text || o->pair || o->limit || o->max_seq))
    return cli_usage("quantize", "--task, --text-column, --text-pair-column, --limit and "
                                 "--max-seq-length describe --calibration data; give it too");
  if (o->task_name && (o->text || o->pair))
    return cli_usage("quantize", "--task reads a GLUE file; the column options are for tables");
  return CLI_PARSED;
}

/* The calibration examples: a GLUE file of --task, or a table (labels,
 * if any, are not read). */
static tpa_status load_calibration(const quantize_opts *o, tpa_dataset **ds) {
  if (o->task_name) {
    tpa_task task;
    tpa_status st = tpa_task_from_name(o->task_name, &task);
    if (st != TPA_OK)
      return st;
    tpa_dataset_params dp;
    tpa_dataset_params_init(&dp, sizeof dp);
    dp.max_rows = (size_t)o->limit;
    return tpa_dataset_load(ds, task, o->calibration, &dp);
  }
  tpa_table_params tp;
  tpa_table_params_init(&tp, sizeof tp);
  tp.text_column = o->text;
  tp.text_pair_column = o->pair;
  tp.label_column = "";
  tp.max_rows = (size_t)o->limit;
  return tpa_dataset_load_table(ds, o->calibration, &tp);
}

static uint64_t file_bytes(const char *dir) {
  size_t n = strlen(dir) + sizeof "/model.safetensors";
  char *p = malloc(n);
  struct stat sb;
  uint64_t bytes = 0;
  if (p) {
    snprintf(p, n, "%s/model.safetensors", dir);
    if (stat(p, &sb) == 0)
      bytes = (uint64_t)sb.st_size;
  }
  free(p);
  return bytes;
}

static int quantize_run(int argc, char **argv) {
  quantize_opts o = {0};
  int rc = parse(argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  if (rc != CLI_PARSED)
    return rc;
  if (o.calibration && !o.limit)
    o.limit = 256;
  tpa_model *model = NULL;
  if (cli_model_load(&model, o.model, 0, o.quiet) != TPA_OK)
    return CLI_EXIT_FAILURE;
  tpa_dataset *cal = NULL;
  tpa_status st = o.calibration ? load_calibration(&o, &cal) : TPA_OK;
  tpa_quantize_params qp;
  tpa_quantize_params_init(&qp, sizeof qp);
  qp.mode = cal ? TPA_QUANT_STATIC : TPA_QUANT_DYNAMIC;
  qp.calibration = cal;
  qp.max_seq_length = (int32_t)o.max_seq;
  if (st == TPA_OK)
    st = tpa_model_quantize(model, &qp);
  if (st == TPA_OK)
    st = tpa_model_save(model, o.out);
  if (st != TPA_OK) {
    rc = cli_fail_lib(st);
  } else {
    rc = CLI_EXIT_OK;
    if (!o.quiet) {
      const uint64_t before = file_bytes(o.model), after = file_bytes(o.out);
      fprintf(stderr, "tpa: wrote %s: int8 weights, %s activation scales", o.out,
              cal ? "static" : "dynamic");
      if (cal)
        fprintf(stderr, " from %zu examples of %s", tpa_dataset_size(cal), o.calibration);
      if (before && after)
        fprintf(stderr, "; model.safetensors %.1f MB -> %.1f MB (%.2fx smaller)",
                (double)before / 1e6, (double)after / 1e6, (double)before / (double)after);
      fputc('\n', stderr);
    }
  }
  tpa_dataset_free(cal);
  tpa_model_free(model);
  return rc;
}

const cli_command cli_cmd_quantize = {
    .name = "quantize",
    .summary = "write an int8 copy of a model (smaller, faster inference)",
    .help = quantize_help,
    .run = quantize_run,
};
