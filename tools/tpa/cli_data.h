/* SPDX-License-Identifier: Apache-2.0 */
/* The data options of the `tpa` commands when no --task is given: the
 * user's own CSV, TSV and JSON Lines files (docs/cli.md, "Your own data").
 * Parsing of the shared options, loading a file with the right classes,
 * finding train and dev splits, and fitting the model's classifier to the
 * data's classes. Public API only. */
#ifndef TPA_CLI_DATA_H
#define TPA_CLI_DATA_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tpa/tpa.h"

/* getopt_long values of the data options (above every command's own). */
enum {
  CLI_DATA_FORMAT = 1024,
  CLI_DATA_DATA_FORMAT,
  CLI_DATA_TEXT,
  CLI_DATA_PAIR,
  CLI_DATA_LABEL,
  CLI_DATA_LABELS,
  CLI_DATA_REGRESSION,
  CLI_DATA_METRIC,
  CLI_DATA_TRAIN,
  CLI_DATA_DEV,
  CLI_DATA_DEV_SPLIT,
};

/* The column and label options every data command takes. --format is
 * the input format except in `tpa predict`, where it is the output's and
 * --data-format names the input's. */
/* clang-format off */
#define CLI_DATA_LONGOPTS                                                 \
  {"format", required_argument, NULL, CLI_DATA_FORMAT},                   \
  {"data-format", required_argument, NULL, CLI_DATA_DATA_FORMAT},         \
  {"text-column", required_argument, NULL, CLI_DATA_TEXT},                \
  {"text-pair-column", required_argument, NULL, CLI_DATA_PAIR},           \
  {"label-column", required_argument, NULL, CLI_DATA_LABEL},              \
  {"labels", required_argument, NULL, CLI_DATA_LABELS},                   \
  {"regression", no_argument, NULL, CLI_DATA_REGRESSION},                 \
  {"metric", required_argument, NULL, CLI_DATA_METRIC}
/* The split options of `tpa train` and `tpa run`. */
#define CLI_DATA_SPLIT_LONGOPTS                                           \
  {"train", required_argument, NULL, CLI_DATA_TRAIN},                     \
  {"dev", required_argument, NULL, CLI_DATA_DEV},                         \
  {"dev-split", required_argument, NULL, CLI_DATA_DEV_SPLIT}
/* clang-format on */

#define CLI_DATA_HELP                                                                              \
  "Your own data (without --task): CSV, TSV or JSON Lines, plain or .gz\n"                         \
  "  --format csv|tsv|jsonl   input format (default: from the file name)\n"                        \
  "  --text-column C       text column, by header name or 1-based number\n"                        \
  "                        (default: text, sentence1, question or sentence)\n"                     \
  "  --text-pair-column C  second text (default: sentence2 with sentence1,\n"                      \
  "                        sentence with question)\n"                                              \
  "  --label-column C      label column (label)\n"                                                 \
  "  --labels A,B,...      the classes in id order (default: the model's\n"                        \
  "                        id2label names, else the training labels sorted)\n"                     \
  "  --regression          labels are real numbers (one output, MSE loss)\n"                       \
  "  --metric NAME         accuracy, f1, macro_f1, matthews, pearson, spearman\n"

#define CLI_DATA_SPLIT_HELP                                                                        \
  "  --train FILE          the training file (instead of --data DIR)\n"                            \
  "  --dev FILE            the dev file\n"                                                         \
  "  --dev-split F         without a dev file, hold out a stratified share F of\n"                 \
  "                        the training file (0.1; 0 = no evaluation)\n"

typedef struct cli_data_opts {
  tpa_table_format format; /* --format / --data-format (AUTO) */
  const char *out_format;  /* predict: --format's text */
  const char *text, *pair, *label;
  const char *labels; /* --labels "A,B,C" */
  bool regression;
  uint32_t metric; /* --metric as a TPA_METRIC_* bit, 0 = default */
  const char *train, *dev;
  double dev_split; /* -1: not given */
  uint64_t seed;    /* of the dev split (--seed of train and run; 42) */
  bool table_opts;  /* some table option was given (refused with --task) */
} cli_data_opts;

void cli_data_init(cli_data_opts *d);

/* Record data option @p c (with argument @p arg) of command @p cmd.
 * Returns 1 when it was one (0 when not; -1 after a usage error). With
 * @p format_is_output (predict) --format is kept as out_format. */
int cli_data_option(const char *cmd, int c, const char *arg, bool format_is_output,
                    cli_data_opts *d);

/* After parsing: --task excludes the table options; usage error and false. */
bool cli_data_check(const char *cmd, const cli_data_opts *d, bool have_task);

/* How a file's classes are chosen. */
typedef enum cli_classes {
  CLI_CLASSES_TRAIN, /* --labels, else the model's real names, else the file's */
  CLI_CLASSES_MODEL, /* --labels, else the model's id2label */
  CLI_CLASSES_NONE,  /* labels are not read (prediction) */
} cli_classes;

/* Load @p path: a GLUE file when @p task is a task, else a table with the
 * options of @p d and classes as @p how says (@p like, when not NULL,
 * gives them instead: a dev set takes the training set's). Says on
 * stderr which columns it used unless @p quiet. Prints the error and
 * returns false on failure. */
bool cli_data_load(const cli_data_opts *d, tpa_task task, const char *path, const tpa_model *model,
                   cli_classes how, const tpa_dataset *like, size_t limit, bool quiet,
                   tpa_dataset **out);

/* The training and dev sets: with a task, DIR/train.tsv and DIR/dev.tsv
 * (dev_matched.tsv for MNLI; no dev file is allowed); without, --train
 * and --dev, or DIR's train.* and dev.* (or validation.*) of any table
 * format, or --data FILE as the training file. Without a dev file a
 * table's training set gives up a stratified share (--dev-split, 0.1):
 * *held_note then says so (a static string, else NULL). */
bool cli_data_splits(const cli_data_opts *d, tpa_task task, const char *data,
                     const tpa_model *model, size_t limit, bool quiet, tpa_dataset **train,
                     tpa_dataset **dev, const char **held_note);

/* The dev file of a GLUE task folder: dev.tsv, MNLI's dev_matched.tsv. */
const char *cli_glue_dev_name(tpa_task task);

/* Make @p *model fit the data's label space: reload it from @p dir with a
 * new, seeded classifier when the number of outputs differs (as HF's
 * ignore_mismatched_sizes), then name its classes after the data's.
 * Prints the problem and returns false on failure. */
bool cli_data_fit_model(tpa_model **model, const char *dir, const tpa_dataset *train, bool quiet);

/* The name of metric @p bit as --metric and the JSON reports spell it
 * ("macro_f1"); NULL for no single metric. */
const char *cli_metric_name(uint32_t bit);

/* Every metric present in @p m (macro-F1 from @p x) as "name": value in
 * @p obj, in one fixed order (non-finite values as null); tpa eval and
 * metrics.json share it. */
void cli_metrics_json(json_t *obj, const tpa_metrics *m, const tpa_metrics_extra *x);

/* Whether the model's id2label holds real names, not LABEL_<i>. */
bool cli_model_has_names(const tpa_model *model);

#endif
